/*
 * tap.c -- passive HTTP capture from an NFQUEUE (tap.h): the queue is
 * read in batches, each batch is accepted with one verdict before it is
 * parsed, so capture never holds traffic longer than one receive.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/netfilter.h>

#include "buf.h"
#include "httpflow.h"
#include "log.h"
#include "loop.h"
#include "nfqueue.h"
#include "priv.h"
#include "tap.h"
#include "tcpflow.h"
#include "xmalloc.h"

#define TAP_BATCH		64
#define TAP_ROUNDS		16	/* receives per wake-up */
#define TAP_SWEEP_NS		(1000ULL * 1000 * 1000)

struct tap {
	struct tap_config	 cfg;
	struct loop		*loop;
	struct nfqueue		*q;
	struct loop_io		 io;
	struct loop_timer	 sweep;
	struct tcpflow_table	*flows;
	int			 fd;		/* the snapshot, O_APPEND */
	int			 own_fd;	/* not stdout */
	struct buf		 out;		/* whole lines not written yet */
	struct buf		 kept;		/* packets to parse (tap_rec) */
	struct httpflow_stats	 hst;
	uint64_t		 rt0_ns, mono0_ns;
	uint64_t		 packets, bytes, non_tcp, ignored;
	uint64_t		 txns, write_errors;
	int			 failed;
	int			 io_added;
};

struct tap_flow {
	struct httpflow	*hf;		/* first: httpflow_tcp_* */
	struct tap	*tap;
	struct tcpflow	*f;
};

static struct tap	*tap_signal_target;

void
tap_config_init(struct tap_config *c)
{
	memset(c, 0, sizeof *c);
	c->dir = SNAP_DIR_OUT;
	c->idle_ns = 60ULL * 1000 * 1000 * 1000;
}

void
tap_config_free(struct tap_config *c)
{
	free(c->output);
	free(c->ports);
	free(c->stats_path);
	free(c->ready_path);
	memset(c, 0, sizeof *c);
}

void
tap_config_add_port(struct tap_config *c, uint16_t port)
{
	c->ports = xreallocarray(c->ports, c->nports + 1, sizeof *c->ports);
	c->ports[c->nports++] = port;
}

static int
tap_is_server(uint16_t port, void *arg)
{
	struct tap	*tap = arg;
	size_t		 i;

	for (i = 0; i < tap->cfg.nports; i++)
		if (tap->cfg.ports[i] == port)
			return 1;
	return 0;
}

static int64_t
tap_wall_us(const struct tap *tap, uint64_t mono_ns)
{
	return (int64_t)((tap->rt0_ns + (mono_ns - tap->mono0_ns)) / 1000);
}

static void
tap_iso(int64_t us, char *buf, size_t size)
{
	time_t		sec = (time_t)(us / 1000000);
	struct tm	tm;

	gmtime_r(&sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(us % 1000000));
}

/* A transaction is over: one snapshot line. */
static void
tap_txn_done(struct httpflow *hf, struct httpflow_txn *tx, void *arg)
{
	struct tap_flow	*tf = arg;
	struct tap	*tap = tf->tap;
	struct tcpflow	*f = tf->f;
	struct snap_txn	*t = &tx->t;
	char		 a[80], ts[96];
	int64_t		 start;

	tap->txns++;
	t->id = xasprintf("t-%06llu", (unsigned long long)tap->txns);
	start = tap_wall_us(tap, tx->req_ns);
	tap_iso(start, ts, sizeof ts);
	t->ts = xstrdup(ts);
	t->dir = tap->cfg.dir;
	t->proto = xstrdup("http/1.1");
	tcpflow_addr_str(f->af, f->caddr, f->cport, a, sizeof a);
	t->client = xstrdup(a);
	tcpflow_addr_str(f->af, f->saddr, f->sport, a, sizeof a);
	t->server = xstrdup(a);
	t->start_us = start;
	if (tx->res_ns != 0)
		t->ttfb_us = (int64_t)(tx->res_ns - tx->req_ns) / 1000;
	if (tx->complete)
		t->total_us = (int64_t)(tx->end_ns - tx->req_ns) / 1000;
	if (tx->gap)
		t->extra = xstrdup(",\"gap\":true");
	else if (!tx->complete)
		t->extra = xstrdup(",\"error\":\"no response captured\"");
	snap_encode(&tap->out, t);
	httpflow_txn_free(tx);
	if (tap->cfg.max_txns != 0 && tap->txns >= tap->cfg.max_txns)
		loop_stop(tap->loop);
}

/*
 * Writes the lines the last batch of packets completed: whole lines, in
 * one write(2) when the kernel takes them, so a reader never sees half a
 * transaction unless the process dies inside write(2).
 */
static void
tap_flush(struct tap *tap)
{
	const char	*p = tap->out.data;
	size_t		 left = tap->out.len;
	ssize_t		 n;

	while (left > 0) {
		if ((n = write(tap->fd, p, left)) == -1) {
			if (errno == EINTR)
				continue;
			if (tap->write_errors++ == 0)
				log_error("%s: %s", tap->cfg.output,
				    strerror(errno));
			break;
		}
		p += n;
		left -= (size_t)n;
	}
	buf_reset(&tap->out);
}

static const struct httpflow_ops tap_http_ops = {
	.request = NULL,
	.done = tap_txn_done,
};

static void
tap_flow_open(struct tcpflow *f, void *arg)
{
	struct tap	*tap = arg;
	struct tap_flow	*tf;

	if (tap->cfg.nports > 0 && !tap_is_server(f->sport, tap)) {
		f->user = NULL;
		return;
	}
	tf = xcalloc(1, sizeof *tf);
	tf->tap = tap;
	tf->f = f;
	tf->hf = httpflow_create(&tap_http_ops, tf, &tap->hst, 0,
	    tap->cfg.max_body);
	f->user = tf;
}

static void
tap_flow_close(struct tcpflow *f, enum tcpflow_end why, void *arg)
{
	struct tap_flow	*tf = f->user;

	if (tf == NULL)
		return;
	httpflow_free(tf->hf);
	free(tf);
	f->user = NULL;
}

static const struct tcpflow_ops tap_flow_ops = {
	.open = tap_flow_open,
	.data = httpflow_tcp_data,
	.gap = httpflow_tcp_gap,
	.eof = httpflow_tcp_eof,
	.close = tap_flow_close,
};

/* A packet kept for parsing after its verdict: its bytes follow. */
struct tap_rec {
	uint32_t	len;		/* bytes kept */
	uint32_t	orig_len;	/* bytes the packet had */
};

/*
 * Keeps what parsing needs of one batch: the packets of the flows
 * recorded, minus bare ACKs (no payload, no SYN, FIN or RST), which tell
 * the reassembly nothing.
 */
static void
tap_keep(struct tap *tap, const struct nfqueue_pkt *pkts, size_t n)
{
	struct tcpflow_seg	seg;
	struct tap_rec		rec;
	size_t			i;

	for (i = 0; i < n; i++) {
		tap->packets++;
		tap->bytes += pkts[i].orig_len;
		if (pkts[i].data == NULL ||
		    tcpflow_parse(pkts[i].data, pkts[i].len, &seg) == -1) {
			tap->non_tcp++;
			continue;
		}
		if (tap->cfg.nports > 0 && !tap_is_server(seg.sport, tap) &&
		    !tap_is_server(seg.dport, tap)) {
			tap->ignored++;
			continue;
		}
		if (seg.len == 0 && seg.missing == 0 && pkts[i].orig_len ==
		    pkts[i].len && (seg.flags & (TCPF_SYN | TCPF_FIN |
		    TCPF_RST)) == 0)
			continue;
		rec.len = (uint32_t)pkts[i].len;
		rec.orig_len = (uint32_t)pkts[i].orig_len;
		buf_append(&tap->kept, &rec, sizeof rec);
		buf_append(&tap->kept, pkts[i].data, pkts[i].len);
		/* Keep the next record aligned. */
		while (tap->kept.len % sizeof rec != 0)
			buf_append_byte(&tap->kept, 0);
	}
}

/* Parses the kept packets in arrival order. */
static void
tap_parse_kept(struct tap *tap)
{
	struct tcpflow_seg	 seg;
	struct tap_rec		 rec;
	uint64_t		 now = loop_now_update(tap->loop);
	size_t			 off = 0;
	const unsigned char	*p;
	int			 dir, closed;

	while (off + sizeof rec <= tap->kept.len) {
		memcpy(&rec, tap->kept.data + off, sizeof rec);
		p = (const unsigned char *)tap->kept.data + off + sizeof rec;
		off += sizeof rec + rec.len;
		off += (sizeof rec - off % sizeof rec) % sizeof rec;
		if (tcpflow_parse(p, rec.len, &seg) == -1)
			continue;
		seg.missing += rec.orig_len - rec.len;
		(void)tcpflow_input(tap->flows, &seg, now, &dir, &closed);
	}
	buf_reset(&tap->kept);
}

/*
 * Drains the queue first -- each batch accepted with one verdict as soon
 * as it is copied -- and parses afterwards, so packets that arrive while
 * we receive are not kept waiting behind the parsing.
 */
static void
tap_readable(struct loop_io *io, uint32_t events)
{
	struct tap			*tap = io->arg;
	const struct nfqueue_pkt	*pkts;
	ssize_t				 n;
	uint32_t			 max;
	char				*cause = NULL;
	int				 round;
	size_t				 i;

	for (round = 0; round < TAP_ROUNDS; round++) {
		if ((n = nfqueue_recv(tap->q, &pkts, &cause)) == -1)
			goto fail;
		if (n == 0)
			break;
		tap_keep(tap, pkts, (size_t)n);
		max = pkts[0].id;
		for (i = 1; i < (size_t)n; i++)
			if ((int32_t)(pkts[i].id - max) > 0)
				max = pkts[i].id;
		nfqueue_verdict_upto(tap->q, max, NF_ACCEPT);
		if (nfqueue_flush(tap->q, &cause) == -1)
			goto fail;
	}
	tap_parse_kept(tap);
	tap_flush(tap);
	return;
fail:
	tap_parse_kept(tap);
	tap_flush(tap);
	log_error("%s", cause);
	free(cause);
	tap->failed = 1;
	loop_stop(tap->loop);
}

static void
tap_sweep(struct loop_timer *t)
{
	struct tap	*tap = t->arg;

	tcpflow_expire(tap->flows, loop_now(tap->loop), tap->cfg.idle_ns);
	tap_flush(tap);
	loop_timer_add(tap->loop, &tap->sweep, TAP_SWEEP_NS);
}

static void
tap_signal(int sig)
{
	if (tap_signal_target != NULL)
		loop_stop(tap_signal_target->loop);
}

struct tap *
tap_create(const struct tap_config *cfg, char **cause)
{
	struct tap	*tap;
	struct timespec	 ts;
	size_t		 i;

	if (priv_require(PRIV_CAP(CAP_NET_ADMIN), "--nfqueue", cause) == -1)
		return NULL;
	tap = xcalloc(1, sizeof *tap);
	tap->fd = -1;
	buf_init(&tap->out);
	buf_init(&tap->kept);
	tap->cfg = *cfg;
	tap->cfg.output = xstrdup(cfg->output);
	tap->cfg.stats_path = cfg->stats_path != NULL ?
	    xstrdup(cfg->stats_path) : NULL;
	tap->cfg.ready_path = NULL;
	tap->cfg.ports = NULL;
	tap->cfg.nports = 0;
	for (i = 0; i < cfg->nports; i++)
		tap_config_add_port(&tap->cfg, cfg->ports[i]);
	if ((tap->loop = loop_create(cause)) == NULL)
		goto fail;
	if (strcmp(cfg->output, "-") == 0)
		tap->fd = STDOUT_FILENO;
	else if ((tap->fd = open(cfg->output, O_WRONLY | O_CREAT | O_APPEND |
	    O_CLOEXEC | (cfg->append ? 0 : O_TRUNC), 0644)) == -1) {
		*cause = xasprintf("%s: %s", cfg->output, strerror(errno));
		goto fail;
	} else
		tap->own_fd = 1;
	if ((tap->q = nfqueue_open(cfg->queue, 65535, TAP_BATCH, 0, cause)) ==
	    NULL)
		goto fail;
	if (priv_keep(PRIV_CAP(CAP_NET_ADMIN), cause) == -1)
		goto fail;
	tap->flows = tcpflow_table_create(&tap_flow_ops, tap, 0,
	    tap->cfg.nports > 0 ? tap_is_server : NULL);
	if (loop_io_add(tap->loop, &tap->io, nfqueue_fd(tap->q), EPOLLIN,
	    tap_readable, tap) == -1) {
		*cause = xasprintf("epoll: %s", strerror(errno));
		goto fail;
	}
	tap->io_added = 1;
	loop_timer_init(&tap->sweep, tap_sweep, tap);
	loop_timer_add(tap->loop, &tap->sweep, TAP_SWEEP_NS);
	clock_gettime(CLOCK_REALTIME, &ts);
	tap->rt0_ns = (uint64_t)ts.tv_sec * 1000000000ULL +
	    (uint64_t)ts.tv_nsec;
	tap->mono0_ns = loop_clock_ns();
	if (cfg->ready_path != NULL && buf_write_file(cfg->ready_path,
	    "bound\n", 6, 0644, cause) == -1)
		goto fail;
	return tap;
fail:
	tap_free(tap);
	return NULL;
}

static void
tap_stats_json(struct tap *tap, struct buf *b)
{
	const struct tcpflow_stats	*fs = tcpflow_stats(tap->flows);
	uint64_t			 kd = 0, kud = 0;

	(void)nfqueue_kernel_drops(tap->cfg.queue, &kd, &kud);
	buf_printf(b, "{\"packets\":%llu,\"bytes\":%llu,\"non_tcp\":%llu,"
	    "\"ignored\":%llu,\"flows\":%llu,\"transactions\":%llu,"
	    "\"requests\":%llu,\"responses\":%llu,\"unanswered\":%llu,"
	    "\"gap_transactions\":%llu,\"reassembly_gaps\":%llu,"
	    "\"gap_bytes\":%llu,\"retransmits\":%llu,\"out_of_order\":%llu,"
	    "\"parse_errors\":%llu,\"orphan_responses\":%llu,"
	    "\"enobufs\":%llu,\"kernel_dropped\":%llu,"
	    "\"kernel_user_dropped\":%llu,\"write_errors\":%llu}\n",
	    (unsigned long long)tap->packets, (unsigned long long)tap->bytes,
	    (unsigned long long)tap->non_tcp, (unsigned long long)tap->ignored,
	    (unsigned long long)fs->flows, (unsigned long long)tap->txns,
	    (unsigned long long)tap->hst.requests,
	    (unsigned long long)tap->hst.responses,
	    (unsigned long long)tap->hst.unanswered,
	    (unsigned long long)tap->hst.gap_txns,
	    (unsigned long long)fs->gaps, (unsigned long long)fs->gap_bytes,
	    (unsigned long long)fs->retransmits,
	    (unsigned long long)fs->out_of_order,
	    (unsigned long long)tap->hst.parse_errors,
	    (unsigned long long)tap->hst.orphan_responses,
	    (unsigned long long)nfqueue_enobufs(tap->q),
	    (unsigned long long)kd, (unsigned long long)kud,
	    (unsigned long long)tap->write_errors);
}

int
tap_run(struct tap *tap)
{
	struct sigaction	 sa;
	struct buf		 b;
	char			*cause = NULL;
	int			 rv;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = tap_signal;
	sigemptyset(&sa.sa_mask);
	tap_signal_target = tap;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_info("capturing from NFQUEUE %u into %s", tap->cfg.queue,
	    tap->cfg.output);
	rv = loop_run(tap->loop);
	tap_signal_target = NULL;
	/* Flows still open end now: their transactions are written. */
	tcpflow_expire(tap->flows, UINT64_MAX, 0);
	tap_flush(tap);
	buf_init(&b);
	tap_stats_json(tap, &b);
	fprintf(stderr, "decoy record: nfqueue %u: %s", tap->cfg.queue,
	    b.data);
	if (tap->cfg.stats_path != NULL &&
	    buf_write_file(tap->cfg.stats_path, b.data, b.len, 0644,
	    &cause) == -1) {
		log_error("%s", cause);
		free(cause);
		cause = NULL;
		rv = -1;
	}
	buf_free(&b);
	tap_flush(tap);
	if (tap->own_fd && close(tap->fd) == -1) {
		log_error("%s: %s", tap->cfg.output, strerror(errno));
		rv = -1;
	}
	tap->fd = -1;
	tap->own_fd = 0;
	return rv == -1 || tap->failed ? -1 : 0;
}

void
tap_free(struct tap *tap)
{
	if (tap == NULL)
		return;
	tcpflow_table_free(tap->flows);
	if (tap->io_added)
		loop_io_del(tap->loop, &tap->io);
	if (tap->loop != NULL)
		loop_timer_del(tap->loop, &tap->sweep);
	nfqueue_close(tap->q);
	if (tap->own_fd)
		close(tap->fd);
	buf_free(&tap->out);
	buf_free(&tap->kept);
	if (tap->loop != NULL)
		loop_free(tap->loop);
	tap_config_free(&tap->cfg);
	free(tap);
}
