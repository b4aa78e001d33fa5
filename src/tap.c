/*
 * tap.c -- passive HTTP capture from one or more NFQUEUEs (tap.h).
 *
 * Every packet queued waits for our verdict, so the verdict is the only
 * thing on the traffic's path: one capture thread per queue receives a
 * batch, copies what parsing needs into the shared pending buffer and
 * accepts the whole batch with one verdict, without ever waiting for the
 * parser.  The main thread (the event loop) parses, in the order the
 * packets were copied, and writes the snapshot.
 *
 * Order across queues: a capture thread copies a batch under the lock
 * before it gives the verdict, so a packet that exists because of another
 * (a response to a request, an ACK) is always copied after it, whichever
 * queue each went through.
 *
 * Memory is bounded: when the parser is TAP_PENDING_MAX behind, capture
 * threads wait for it before their next verdict (the traffic slows down;
 * nothing is lost).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/netfilter.h>

#include "buf.h"
#include "funnel.h"
#include "httpflow.h"
#include "log.h"
#include "loop.h"
#include "nfqueue.h"
#include "priv.h"
#include "prom.h"
#include "snap-ids.h"
#include "sock.h"
#include "tap.h"
#include "tcpflow.h"
#include "xmalloc.h"

#define TAP_BATCH		64
#define TAP_ROUNDS		16	/* receives per wake-up */
#define TAP_STOP_ROUNDS		1024	/* receives of the last drain */
#define TAP_SWEEP_NS		(1000ULL * 1000 * 1000)
#define TAP_PENDING_MAX		(64 * 1024 * 1024)
#define TAP_WAKE_BYTES		(4 * 1024 * 1024)	/* wake a busy parser */
#define TAP_WRITE_BYTES		(1024 * 1024)	/* lines written at once */
#define TAP_PARSE_NS		(2ULL * 1000 * 1000)	/* parse interval */
#define TAP_SILENT_NS		(10ULL * 1000 * 1000 * 1000)

struct tap;

/* One queue and the thread that receives and accepts its packets. */
struct tap_cap {
	struct tap		*tap;
	struct nfqueue		*q;
	pthread_t		 thread;
	int			 started;
	struct buf		 stage;		/* a batch, before the lock */
	/* The thread's own counters, read after it is joined. */
	uint64_t		 packets, bytes, non_tcp, ignored;
};

struct tap {
	struct tap_config	 cfg;
	struct loop		*loop;
	struct tap_cap		*caps;
	size_t			 ncaps;
	struct loop_io		 io;		/* wake_fd */
	struct loop_timer	 sweep;
	struct loop_timer	 parse;		/* tap_drain while busy */
	struct tcpflow_table	*flows;
	struct snap_out		 so;		/* the snapshot */
	int			 wake_fd;	/* capture -> parser (eventfd) */
	int			 stop_fd;	/* parser -> capture (eventfd) */
	struct buf		 out;		/* whole lines not written yet */
	struct buf		 work;		/* packets being parsed (tap_rec) */
	struct httpflow_stats	 hst;
	struct tap_lines	 lines;
	uint64_t		 write_errors;
	uint64_t		 lost;		/* lines the file did not take */
	uint64_t		 funneled;	/* dropped by the funnel */
	int			 werrno;
	struct log_every	 wlog;
	int			 warned_silent;	/* TAP_SILENT_NS */
	int			 failed;
	int			 io_added;

	/* Shared with the capture threads, under mu. */
	pthread_mutex_t		 mu;
	pthread_cond_t		 room;		/* pending has room again */
	struct buf		 pending;	/* packets copied, not parsed */
	uint64_t		 received;	/* packets, all queues */
	int			 parser_idle;	/* wake it when pending grows */
	int			 stopping;	/* also read without mu */
	char			*cap_cause;	/* a capture thread failed */

	/* --metrics (the loop's thread only). */
	struct prom_server	*metrics;
	uint64_t		 body_bytes;
	uint64_t		 by_status[PROM_NSTATUS];	/* responses 100..599 */
};



void
tap_config_init(struct tap_config *c)
{
	memset(c, 0, sizeof *c);
	c->dir = SNAP_DIR_OUT;
	c->idle_ns = 60ULL * 1000 * 1000 * 1000;
	c->busy_poll_ns = TAP_BUSY_POLL_NS;
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

	return tcpflow_port_in(port, tap->cfg.ports, tap->cfg.nports);
}

/*
 * "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" of us (size >= 96); the part up to the
 * seconds is formatted once per second.
 */
static void
tap_iso(struct tap_lines *l, int64_t us, char *buf)
{
	time_t		sec = (time_t)(us / 1000000);
	struct tm	tm;
	char		*e;

	if (sec != l->iso_sec || l->iso_prefix[0] == '\0') {
		gmtime_r(&sec, &tm);
		snprintf(l->iso_prefix, sizeof l->iso_prefix,
		    "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
		l->iso_sec = sec;
	}
	e = stpcpy(buf, l->iso_prefix);
	e = buf_put_u64(e, (uint64_t)(us % 1000000), 6);
	e[0] = 'Z';
	e[1] = '\0';
}

/*
 * The strings the line needs (id, ts, proto, client, server, error) are
 * lent to the record for the encoding and taken back before it is freed:
 * no printf and no allocation per transaction.
 */
void
tap_lines_encode(struct tap_lines *l, struct buf *out,
    struct httpflow_txn *tx, char *client, char *server)
{
	struct snap_txn	*t = &tx->t;
	char		 id[48], ts[96], proto[] = "http/1.1";
	const char	*pfx = l->id_prefix[0] != '\0' ? l->id_prefix : "t-";
	size_t		 np = strlen(pfx);
	int64_t		 start;

	l->txns++;
	memcpy(id, pfx, np);
	*buf_put_u64(id + np, l->txns, 6) = '\0';
	start = (int64_t)((l->rt0_ns + (tx->req_ns - l->mono0_ns)) / 1000);
	tap_iso(l, start, ts);
	t->id = id;
	t->ts = ts;
	t->dir = l->dir;
	t->proto = proto;
	t->client = client;
	t->server = server;
	t->start_us = start;
	if (tx->res_ns != 0)
		t->ttfb_us = (int64_t)(tx->res_ns - tx->req_ns) / 1000;
	if (tx->complete)
		t->total_us = (int64_t)(tx->end_ns - tx->req_ns) / 1000;
	if (tx->gap)
		t->gap = 1;
	else if (!tx->complete)
		t->error = "no response captured";
	snap_encode(out, t);
	t->id = t->ts = t->proto = t->client = t->server = NULL;
	t->error = NULL;
	t->gap = 0;
	httpflow_txn_free(tx);
}

int
tap_lines_funnel(struct tap_lines *l, struct funnel *fn,
    struct httpflow_txn *tx, char *server)
{
	enum funnel_reason	r;

	if (fn == NULL)
		return 0;
	tx->t.start_us = (int64_t)((l->rt0_ns + (tx->req_ns - l->mono0_ns)) /
	    1000);
	tx->t.server = server;
	r = funnel_decide(fn, &tx->t);
	tx->t.server = NULL;
	if (r == FUNNEL_KEPT)
		return 0;
	l->txns++;
	httpflow_txn_free(tx);
	return 1;
}

/* A transaction is over: one snapshot line, unless the funnel drops it. */
static void
tap_txn_done(struct httpflow *hf, struct httpflow_txn *tx, void *arg)
{
	struct tap_flow	*tf = arg;
	struct tap	*tap = tf->owner;

	tap->body_bytes += tx->t.req.body_len + tx->t.res.body_len;
	if (tx->t.has_res && tx->t.res.status >= 100 &&
	    tx->t.res.status <= 599)
		tap->by_status[tx->t.res.status - 100]++;
	if (tap_lines_funnel(&tap->lines, tap->cfg.funnel, tx, tf->server))
		tap->funneled++;
	else
		tap_lines_encode(&tap->lines, &tap->out, tx, tf->client,
		    tf->server);
	if (tap->cfg.max_txns != 0 && tap->lines.txns >= tap->cfg.max_txns)
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
	const char	*p, *end, *nl;
	size_t		 kept, lost = 0;
	uint64_t	 n;
	int		 err;

	if (tap->out.len == 0 || tap->so.fd == -1)
		return;
	kept = snap_out_write(&tap->so, tap->out.data, tap->out.len, &err);
	if (err != 0) {
		/* The lines past what the file took are lost. */
		end = tap->out.data + tap->out.len;
		for (p = tap->out.data + kept; p < end &&
		    (nl = memchr(p, '\n', (size_t)(end - p))) != NULL;
		    p = nl + 1)
			lost++;
		tap->write_errors++;
		tap->lost += lost;
		tap->werrno = err;
		if ((n = log_every_count(&tap->wlog, lost, loop_clock_ns(),
		    5000000000ULL)) > 0)
			log_error("%s: %s: %llu transaction%s lost since the "
			    "last report (%llu in all)", tap->cfg.output,
			    strerror(err), (unsigned long long)n, n == 1 ? "" :
			    "s", (unsigned long long)tap->lost);
	}
	buf_reset(&tap->out);
}

static const struct httpflow_ops tap_http_ops = {
	.request = NULL,
	.done = tap_txn_done,
};

void
tap_flow_open(struct tcpflow *f, const struct httpflow_ops *ops, void *owner,
    struct httpflow_stats *st, size_t max_body)
{
	struct tap_flow	*tf;

	tf = xcalloc(1, sizeof *tf);
	tf->owner = owner;
	tcpflow_addr_str(f->af, f->caddr, f->cport, tf->client,
	    sizeof tf->client);
	tcpflow_addr_str(f->af, f->saddr, f->sport, tf->server,
	    sizeof tf->server);
	tf->hf = httpflow_create(ops, tf, st, 0, max_body);
	f->user = tf;
}

void
tap_flow_close(struct tcpflow *f, enum tcpflow_end why, void *arg)
{
	struct tap_flow	*tf = f->user;

	(void)why;
	(void)arg;
	if (tf == NULL)
		return;
	httpflow_free(tf->hf);
	free(tf);
	f->user = NULL;
}

/* A new flow: an HTTP one when its server port is one to record. */
static void
tap_flow_start(struct tcpflow *f, void *arg)
{
	struct tap	*tap = arg;

	if (tap->cfg.nports > 0 && !tap_is_server(f->sport, tap)) {
		f->user = NULL;
		return;
	}
	tap_flow_open(f, &tap_http_ops, tap, &tap->hst, tap->cfg.max_body);
}

static const struct tcpflow_ops tap_flow_ops = {
	.open = tap_flow_start,
	.data = httpflow_tcp_data,
	.gap = httpflow_tcp_gap,
	.eof = httpflow_tcp_eof,
	.close = tap_flow_close,
};

/* A packet kept for parsing after its verdict: its bytes follow, padded
 * to a multiple of 8. */
struct tap_rec {
	uint64_t	ns;		/* when it was received (monotonic) */
	uint32_t	len;		/* bytes kept */
	uint32_t	orig_len;	/* bytes the packet had */
};

#define TAP_PAD(n)	(((n) + 7) & ~(size_t)7)

/*
 * Stages what parsing needs of one batch (capture thread, no lock): the
 * packets of the flows recorded, minus bare ACKs (no payload, no SYN, FIN
 * or RST), which tell the reassembly nothing.
 */
static void
tap_keep(struct tap_cap *c, const struct nfqueue_pkt *pkts, size_t n,
    uint64_t now)
{
	static const unsigned char	 zero[8];
	struct tap			*tap = c->tap;
	struct tcpflow_seg		 seg;
	struct tap_rec			 rec;
	size_t				 i;

	for (i = 0; i < n; i++) {
		c->packets++;
		c->bytes += pkts[i].orig_len;
		if (pkts[i].data == NULL ||
		    tcpflow_parse(pkts[i].data, pkts[i].len, &seg) == -1) {
			c->non_tcp++;
			continue;
		}
		if (tap->cfg.nports > 0 && !tap_is_server(seg.sport, tap) &&
		    !tap_is_server(seg.dport, tap)) {
			c->ignored++;
			continue;
		}
		if (seg.len == 0 && seg.missing == 0 && pkts[i].orig_len ==
		    pkts[i].len && (seg.flags & (TCPF_SYN | TCPF_FIN |
		    TCPF_RST)) == 0)
			continue;
		rec.ns = now;
		rec.len = (uint32_t)pkts[i].len;
		rec.orig_len = (uint32_t)pkts[i].orig_len;
		buf_append(&c->stage, &rec, sizeof rec);
		buf_append(&c->stage, pkts[i].data, pkts[i].len);
		buf_append(&c->stage, zero, TAP_PAD(rec.len) - rec.len);
	}
}

/* Parses tap->work, packets in the order they were copied. */
static void
tap_parse_work(struct tap *tap)
{
	struct tcpflow_seg	 seg;
	struct tap_rec		 rec;
	size_t			 off = 0;
	const unsigned char	*p;
	int			 dir, closed;

	while (off + sizeof rec <= tap->work.len) {
		memcpy(&rec, tap->work.data + off, sizeof rec);
		p = (const unsigned char *)tap->work.data + off + sizeof rec;
		off += sizeof rec + TAP_PAD(rec.len);
		if (tcpflow_parse(p, rec.len, &seg) == -1)
			continue;
		seg.missing += rec.orig_len - rec.len;
		(void)tcpflow_input(tap->flows, &seg, rec.ns, &dir, &closed);
	}
	buf_reset(&tap->work);
}

/* Wakes a thread blocked on an eventfd. */
static void
tap_poke(int fd)
{
	uint64_t	one = 1;

	while (write(fd, &one, sizeof one) == -1 && errno == EINTR)
		;
}

/*
 * Receives one batch of c's queue, stages it, appends it to pending and
 * accepts it with one verdict.  Returns the packets received (0: none
 * queued), or -1 with *cause.
 */
static ssize_t
tap_cap_batch(struct tap_cap *c, char **cause)
{
	struct tap			*tap = c->tap;
	const struct nfqueue_pkt	*pkts;
	ssize_t				 n;
	uint32_t			 max;
	size_t				 i, len;
	int				 wake;

	if ((n = nfqueue_recv(c->q, &pkts, cause)) <= 0)
		return n;
	tap_keep(c, pkts, (size_t)n, loop_clock_ns());
	pthread_mutex_lock(&tap->mu);
	while (tap->pending.len >= TAP_PENDING_MAX && !tap->stopping)
		pthread_cond_wait(&tap->room, &tap->mu);
	/* Atomic too: --metrics reads it without the lock. */
	__atomic_fetch_add(&tap->received, (uint64_t)n, __ATOMIC_RELAXED);
	len = tap->pending.len;
	buf_append(&tap->pending, c->stage.data, c->stage.len);
	/* Idle parser: wake it.  Busy: it looks again soon, unless it falls
	 * this far behind. */
	wake = (tap->parser_idle && c->stage.len > 0) ||
	    (len < TAP_WAKE_BYTES && tap->pending.len >= TAP_WAKE_BYTES);
	if (wake)
		tap->parser_idle = 0;
	pthread_mutex_unlock(&tap->mu);
	buf_reset(&c->stage);
	max = pkts[0].id;
	for (i = 1; i < (size_t)n; i++)
		if ((int32_t)(pkts[i].id - max) > 0)
			max = pkts[i].id;
	nfqueue_verdict_upto(c->q, max, NF_ACCEPT);
	if (nfqueue_flush(c->q, cause) == -1)
		return -1;
	if (wake)
		tap_poke(tap->wake_fd);
	return n;
}

/*
 * A capture thread: receives up to TAP_ROUNDS batches per wake-up.  With
 * --busy-poll it then keeps polling the queue (yielding the CPU to any
 * other runnable thread between polls) until nothing has come for that
 * long, and only then sleeps: packets are taken without a wake-up, by a
 * thread already running, which is what costs most at high packet rates.
 * On stop it drains what is queued (accepting it) and returns.
 */
static void *
tap_cap_main(void *arg)
{
	struct tap_cap	*c = arg;
	struct tap	*tap = c->tap;
	struct pollfd	 pfd[2];
	ssize_t		 n;
	uint64_t	 t0, spin = tap->cfg.busy_poll_ns;
	char		*cause = NULL;
	int		 round, stop = 0;

	pfd[0].fd = nfqueue_fd(c->q);
	pfd[0].events = POLLIN;
	pfd[1].fd = tap->stop_fd;
	pfd[1].events = POLLIN;
	while (!stop) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			cause = xasprintf("poll: %s", strerror(errno));
			goto fail;
		}
		/* Stopping: one last drain of what is queued. */
		stop = (pfd[1].revents & POLLIN) != 0;
		for (round = 0; round < (stop ? TAP_STOP_ROUNDS : TAP_ROUNDS);
		    round++) {
			if ((n = tap_cap_batch(c, &cause)) == -1)
				goto fail;
			if (n == 0)
				break;
		}
		if (spin && !stop) {
			t0 = loop_clock_ns();
			while (loop_clock_ns() - t0 < spin &&
			    !__atomic_load_n(&tap->stopping, __ATOMIC_RELAXED)) {
				sched_yield();
				if ((n = tap_cap_batch(c, &cause)) == -1)
					goto fail;
				if (n > 0)
					t0 = loop_clock_ns();
			}
		}
	}
	return NULL;
fail:
	pthread_mutex_lock(&tap->mu);
	if (tap->cap_cause == NULL)
		tap->cap_cause = cause;
	else
		free(cause);
	tap->parser_idle = 0;
	pthread_mutex_unlock(&tap->mu);
	tap_poke(tap->wake_fd);
	return NULL;
}

/*
 * Parses what the capture threads have copied until pending is empty and
 * writes the lines in one go.  While packets keep coming the parser is
 * not woken for each batch: having parsed something, it looks again
 * TAP_PARSE_NS later (parser_idle stays 0 meanwhile, so capture threads
 * do not poke it), and only a pass that finds nothing marks it idle --
 * under the lock, so a capture thread that appends afterwards wakes it.
 * A recording reaches the file at most a few milliseconds late, and the
 * parser works in large batches with few wake-ups.
 */
static void
tap_drain(struct tap *tap)
{
	struct buf	 t;
	char		*cause;
	int		 parsed = 0;

	for (;;) {
		pthread_mutex_lock(&tap->mu);
		cause = tap->cap_cause;
		tap->cap_cause = NULL;
		if (tap->pending.len == 0) {
			if (!parsed)
				tap->parser_idle = 1;
			pthread_mutex_unlock(&tap->mu);
			break;
		}
		t = tap->pending;
		tap->pending = tap->work;
		tap->work = t;
		pthread_cond_broadcast(&tap->room);
		pthread_mutex_unlock(&tap->mu);
		tap_parse_work(tap);
		parsed = 1;
		if (tap->out.len >= TAP_WRITE_BYTES)
			tap_flush(tap);
		if (cause != NULL)
			break;
	}
	tap_flush(tap);
	if (parsed && !loop_timer_is_pending(&tap->parse))
		loop_timer_add(tap->loop, &tap->parse, TAP_PARSE_NS);
	if (cause != NULL) {
		log_error("%s", cause);
		free(cause);
		tap->failed = 1;
		loop_stop(tap->loop);
	}
}

static void
tap_wake(struct loop_io *io, uint32_t events)
{
	struct tap	*tap = io->arg;
	uint64_t	 v;

	(void)events;
	while (read(tap->wake_fd, &v, sizeof v) == -1 && errno == EINTR)
		;
	tap_drain(tap);
}

static void
tap_parse_timer(struct loop_timer *t)
{
	tap_drain(t->arg);
}

/* "N" or "N:M", the queues as iptables --queue-balance names them. */
static void
tap_queue_name(const struct tap_config *c, char *buf, size_t size)
{
	if (c->nqueues <= 1)
		snprintf(buf, size, "%u", c->queue);
	else
		snprintf(buf, size, "%u:%u", c->queue,
		    c->queue + c->nqueues - 1);
}

static void
tap_sweep(struct loop_timer *t)
{
	struct tap	*tap = t->arg;

	uint64_t	 received;
	char		 qname[32];

	tcpflow_expire(tap->flows, loop_now(tap->loop), tap->cfg.idle_ns);
	tap_flush(tap);
	/* Nothing queued for a while is most often a rule that is missing,
	 * names another queue, or lives in another network namespace. */
	if (!tap->warned_silent && loop_now(tap->loop) - tap->lines.mono0_ns >=
	    TAP_SILENT_NS) {
		pthread_mutex_lock(&tap->mu);
		received = tap->received;
		pthread_mutex_unlock(&tap->mu);
		if (received == 0) {
			tap_queue_name(&tap->cfg, qname, sizeof qname);
			log_warn("no packet queued to NFQUEUE %s in %llu s: "
			    "check that the iptables -j NFQUEUE rules name "
			    "this queue and are in this network namespace",
			    qname, (unsigned long long)(TAP_SILENT_NS /
			    1000000000ULL));
		}
		tap->warned_silent = 1;
	}
	loop_timer_add(tap->loop, &tap->sweep, TAP_SWEEP_NS);
}

/* --metrics: the loop's counters in Prometheus's text format (prom.h). */
static void
tap_metrics_fill(struct buf *b, void *arg)
{
	struct tap			*tap = arg;
	const struct tcpflow_stats	*fs = tcpflow_stats(tap->flows);
	const struct prom_row		 row[] = {
		{ "decoy_tap_packets_total", "Packets received from the "
		    "queues.", __atomic_load_n(&tap->received,
		    __ATOMIC_RELAXED) },
		{ "decoy_tap_flows_total", "TCP flows seen.", fs->flows },
		{ "decoy_tap_transactions_total", "Transactions written "
		    "(or lost).", tap->lines.txns },
		{ "decoy_tap_unanswered_total", "Requests recorded without "
		    "a response.", tap->hst.unanswered },
		{ "decoy_tap_parse_errors_total", "Flows given up for bytes "
		    "that are not HTTP/1.x.", tap->hst.parse_errors },
		{ "decoy_tap_gap_transactions_total", "Transactions with bytes "
		    "missing (reassembly gaps).", tap->hst.gap_txns },
		{ "decoy_tap_body_bytes_total", "Request and response body "
		    "bytes recorded.", tap->body_bytes },
		{ "decoy_tap_write_errors_total", "Failed writes to the "
		    "snapshot.", tap->write_errors },
		{ "decoy_tap_lost_total", "Transactions the snapshot could "
		    "not take.", tap->lost },
	};

	prom_rows(b, row, sizeof row / sizeof row[0]);
	prom_status_counts(b, "decoy_tap_responses_total", tap->by_status);
	prom_uptime(b, (double)(loop_clock_ns() - tap->lines.mono0_ns) / 1e9);
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
	tap->so.fd = tap->wake_fd = tap->stop_fd = -1;
	buf_init(&tap->out);
	buf_init(&tap->work);
	buf_init(&tap->pending);
	pthread_mutex_init(&tap->mu, NULL);
	pthread_cond_init(&tap->room, NULL);
	tap->parser_idle = 1;
	tap->cfg = *cfg;
	if (tap->cfg.nqueues == 0)
		tap->cfg.nqueues = 1;
	tap->cfg.output = xstrdup(cfg->output);
	tap->cfg.stats_path = cfg->stats_path != NULL ?
	    xstrdup(cfg->stats_path) : NULL;
	tap->cfg.ready_path = cfg->ready_path != NULL ?
	    xstrdup(cfg->ready_path) : NULL;
	tap->cfg.ports = NULL;
	tap->cfg.nports = 0;
	for (i = 0; i < cfg->nports; i++)
		tap_config_add_port(&tap->cfg, cfg->ports[i]);
	if (tap->cfg.queue + tap->cfg.nqueues - 1 > 65535) {
		*cause = xasprintf("queue %u: queue numbers are 0..65535",
		    tap->cfg.queue + tap->cfg.nqueues - 1);
		goto fail;
	}
	if ((tap->loop = loop_create(cause)) == NULL)
		goto fail;
	if ((tap->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (tap->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		*cause = xasprintf("eventfd: %s", strerror(errno));
		goto fail;
	}
	if (snap_out_open(&tap->so, cfg->output, cfg->append, cause) == -1)
		goto fail;
	if (cfg->metrics != NULL && ((tap->metrics = prom_server_create(
	    tap->loop, cfg->metrics, tap_metrics_fill, tap, cause)) == NULL ||
	    (cfg->metrics_port_file != NULL && sock_write_port_file(
	    cfg->metrics_port_file, prom_server_port(tap->metrics),
	    cause) == -1)))
		goto fail;
	tap->caps = xcalloc(tap->cfg.nqueues, sizeof *tap->caps);
	for (i = 0; i < tap->cfg.nqueues; i++) {
		tap->caps[i].tap = tap;
		buf_init(&tap->caps[i].stage);
		if ((tap->caps[i].q = nfqueue_open(tap->cfg.queue +
		    (unsigned int)i, 65535, TAP_BATCH, 0, cause)) == NULL)
			goto fail;
		tap->ncaps++;
	}
	if (priv_drop(tap->cfg.user, PRIV_CAP(CAP_NET_ADMIN), cause) == -1)
		goto fail;
	tap->flows = tcpflow_table_create(&tap_flow_ops, tap, 0,
	    tap->cfg.nports > 0 ? tap_is_server : NULL);
	if (loop_io_add(tap->loop, &tap->io, tap->wake_fd, EPOLLIN,
	    tap_wake, tap) == -1) {
		*cause = xasprintf("epoll: %s", strerror(errno));
		goto fail;
	}
	tap->io_added = 1;
	loop_timer_init(&tap->sweep, tap_sweep, tap);
	loop_timer_add(tap->loop, &tap->sweep, TAP_SWEEP_NS);
	loop_timer_init(&tap->parse, tap_parse_timer, tap);
	clock_gettime(CLOCK_REALTIME, &ts);
	tap->lines.dir = tap->cfg.dir;
	tap->lines.rt0_ns = (uint64_t)ts.tv_sec * 1000000000ULL +
	    (uint64_t)ts.tv_nsec;
	tap->lines.mono0_ns = loop_clock_ns();
	snap_ids_run_prefix(tap->lines.id_prefix, sizeof tap->lines.id_prefix,
	    cfg->append);
	return tap;
fail:
	tap_free(tap);
	return NULL;
}

static void
tap_stats_json(struct tap *tap, struct buf *b)
{
	const struct tcpflow_stats	*fs = tcpflow_stats(tap->flows);
	uint64_t			 kd = 0, kud = 0, d, ud, enobufs = 0;
	uint64_t			 packets = 0, bytes = 0, non_tcp = 0;
	uint64_t			 ignored = 0;
	size_t				 i;

	for (i = 0; i < tap->ncaps; i++) {
		packets += tap->caps[i].packets;
		bytes += tap->caps[i].bytes;
		non_tcp += tap->caps[i].non_tcp;
		ignored += tap->caps[i].ignored;
		enobufs += nfqueue_enobufs(tap->caps[i].q);
		if (nfqueue_kernel_drops(tap->cfg.queue + (unsigned int)i, &d,
		    &ud) == 0) {
			kd += d;
			kud += ud;
		}
	}
	buf_printf(b, "{\"packets\":%llu,\"bytes\":%llu,\"non_tcp\":%llu,"
	    "\"ignored\":%llu,\"flows\":%llu,\"transactions\":%llu,"
	    "\"requests\":%llu,\"responses\":%llu,\"unanswered\":%llu,"
	    "\"gap_transactions\":%llu,\"reassembly_gaps\":%llu,"
	    "\"gap_bytes\":%llu,\"retransmits\":%llu,\"out_of_order\":%llu,"
	    "\"parse_errors\":%llu,\"orphan_responses\":%llu,"
	    "\"enobufs\":%llu,\"kernel_dropped\":%llu,"
	    "\"kernel_user_dropped\":%llu,\"write_errors\":%llu,"
	    "\"lost\":%llu,"
	    "\"queues\":%zu,\"queue_packets\":[",
	    (unsigned long long)packets, (unsigned long long)bytes,
	    (unsigned long long)non_tcp, (unsigned long long)ignored,
	    (unsigned long long)fs->flows, (unsigned long long)tap->lines.txns,
	    (unsigned long long)tap->hst.requests,
	    (unsigned long long)tap->hst.responses,
	    (unsigned long long)tap->hst.unanswered,
	    (unsigned long long)tap->hst.gap_txns,
	    (unsigned long long)fs->gaps, (unsigned long long)fs->gap_bytes,
	    (unsigned long long)fs->retransmits,
	    (unsigned long long)fs->out_of_order,
	    (unsigned long long)tap->hst.parse_errors,
	    (unsigned long long)tap->hst.orphan_responses,
	    (unsigned long long)enobufs,
	    (unsigned long long)kd, (unsigned long long)kud,
	    (unsigned long long)tap->write_errors,
	    (unsigned long long)tap->lost, tap->ncaps);
	for (i = 0; i < tap->ncaps; i++)
		buf_printf(b, "%s%llu", i > 0 ? "," : "",
		    (unsigned long long)tap->caps[i].packets);
	buf_append_str(b, "]");
	if (tap->cfg.funnel != NULL) {
		buf_append_str(b, ",\"funnel\":");
		funnel_stats_json(b, funnel_stats(tap->cfg.funnel));
	}
	buf_append_str(b, "}\n");
}

/* Starts one capture thread per queue, with the signals left to the main
 * thread; 0, or -1 with *cause. */
static int
tap_start(struct tap *tap, char **cause)
{
	sigset_t	 all, old;
	size_t		 i;
	int		 error = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < tap->ncaps; i++) {
		if ((error = pthread_create(&tap->caps[i].thread, NULL,
		    tap_cap_main, &tap->caps[i])) != 0)
			break;
		tap->caps[i].started = 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		*cause = xasprintf("pthread_create: %s", strerror(error));
		return -1;
	}
	return 0;
}

/* Stops and joins the capture threads (each drains its queue first). */
static void
tap_stop(struct tap *tap)
{
	size_t	i;

	pthread_mutex_lock(&tap->mu);
	__atomic_store_n(&tap->stopping, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&tap->room);
	pthread_mutex_unlock(&tap->mu);
	tap_poke(tap->stop_fd);
	for (i = 0; i < tap->ncaps; i++) {
		if (tap->caps[i].started)
			pthread_join(tap->caps[i].thread, NULL);
		tap->caps[i].started = 0;
	}
}

int
tap_run(struct tap *tap)
{
	struct buf		 b, fb;
	char			*cause = NULL, qname[32];
	int			 rv;

	loop_stop_on_signals(tap->loop);
	tap_queue_name(&tap->cfg, qname, sizeof qname);
	log_info("capturing from NFQUEUE %s into %s", qname, tap->cfg.output);
	/* The queues are bound and their threads receive: ready. */
	if (tap_start(tap, &cause) == -1 || (tap->cfg.ready_path != NULL &&
	    buf_write_file(tap->cfg.ready_path, "bound\n", 6, 0644,
	    &cause) == -1)) {
		log_error("%s", cause);
		free(cause);
		cause = NULL;
		tap->failed = 1;
		rv = -1;
	} else
		rv = loop_run(tap->loop);
	loop_stop_on_signals(NULL);
	tap_stop(tap);
	tap_drain(tap);
	/* Flows still open end now: their transactions are written. */
	tcpflow_expire(tap->flows, UINT64_MAX, 0);
	tap_flush(tap);
	buf_init(&b);
	tap_stats_json(tap, &b);
	fprintf(stderr, "decoy record: nfqueue %s: %s", qname, b.data);
	if (tap->cfg.funnel != NULL && tap->cfg.funnel_set) {
		buf_init(&fb);
		funnel_stats_text(&fb, funnel_stats(tap->cfg.funnel));
		log_info("funnel: %.*s", (int)fb.len, fb.data);
		buf_free(&fb);
	}
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
	if (snap_out_close(&tap->so, &cause) == -1) {
		log_error("%s", cause);
		free(cause);
		cause = NULL;
		rv = -1;
	}
	if (tap->lost > 0) {
		log_error("%s: LOST %llu transactions (%s)", tap->cfg.output,
		    (unsigned long long)tap->lost, strerror(tap->werrno));
		rv = -1;
	}
	return rv == -1 || tap->failed ? -1 : 0;
}

void
tap_free(struct tap *tap)
{
	size_t	i;

	if (tap == NULL)
		return;
	tap_stop(tap);
	tcpflow_table_free(tap->flows);
	if (tap->loop != NULL) {
		prom_server_free(tap->metrics);
		loop_run_deferred(tap->loop);
	}
	if (tap->io_added)
		loop_io_del(tap->loop, &tap->io);
	if (tap->loop != NULL) {
		loop_timer_del(tap->loop, &tap->sweep);
		loop_timer_del(tap->loop, &tap->parse);
	}
	for (i = 0; i < tap->ncaps; i++) {
		nfqueue_close(tap->caps[i].q);
		buf_free(&tap->caps[i].stage);
	}
	free(tap->caps);
	if (tap->so.fd != -1)
		snap_out_close(&tap->so, NULL);
	if (tap->wake_fd != -1)
		close(tap->wake_fd);
	if (tap->stop_fd != -1)
		close(tap->stop_fd);
	buf_free(&tap->out);
	buf_free(&tap->work);
	buf_free(&tap->pending);
	free(tap->cap_cause);
	pthread_mutex_destroy(&tap->mu);
	pthread_cond_destroy(&tap->room);
	if (tap->loop != NULL)
		loop_free(tap->loop);
	tap_config_free(&tap->cfg);
	free(tap);
}
