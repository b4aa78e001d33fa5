/*
 * pktchaos.c -- packet-level chaos on an NFQUEUE (pktchaos.h).
 *
 * Packets are verdicted in arrival order: accepted at once unless their
 * flow has held packets (then they queue behind them) or a fault applies.
 * A flow's held packets live in a struct pc_hold with its own timer; it
 * outlives the flow when the flow ends while packets are still held.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/netfilter.h>

#include "buf.h"
#include "chaos.h"
#include "fault.h"
#include "httpflow.h"
#include "log.h"
#include "loop.h"
#include "match.h"
#include "nfqueue.h"
#include "pktchaos.h"
#include "plan.h"
#include "priv.h"
#include "rule.h"
#include "tcpflow.h"
#include "xmalloc.h"

#define PC_BATCH	64
#define PC_ROUNDS	16
#define PC_SWEEP_NS	(1000ULL * 1000 * 1000)

/* What applies to the response packets of one transaction (or flow). */
struct pc_fault {
	uint64_t		 latency_ns;
	double			 drop;
	int			 reset;
	struct fault_rng	 rng;		/* drop draws */
	int			 active;
};

struct pc_held {
	struct pc_held		*next;
	uint32_t		 id;
	uint64_t		 release_ns;
};

struct pc_hold {
	struct pktchaos		*pc;
	struct pc_held		*head, *tail;
	struct loop_timer	 timer;
	int			 orphan;	/* its flow has ended */
	struct pc_hold		*prev, *next;	/* every hold */
};

struct pc_flow {
	struct httpflow		*hf;		/* first: httpflow_tcp_* */
	struct pktchaos		*pc;
	struct tcpflow		*f;
	struct pc_fault		 conn;		/* connection rule faults */
	struct pc_hold		*hold;		/* server-to-client, or NULL */
	int			 reset;		/* a reset was injected */
};

struct pktchaos {
	struct pktchaos_config	 cfg;
	struct loop		*loop;
	struct nfqueue		*q;
	struct loop_io		 io;
	int			 io_added;
	struct loop_timer	 sweep;
	struct tcpflow_table	*flows;
	struct rule_set		*rules;
	uint64_t		 seed;
	uint64_t		 conn_mask;	/* connection rules */
	int			 use_mask;	/* at most 64 rules */
	struct chaos_log	*log;
	int			 raw;		/* IPv4 raw socket, -1 */
	int			 raw6;		/* IPv6 raw socket, -1 */
	uint64_t		 loaded_ns;
	struct plan_occ		 occ;
	struct httpflow_stats	 hst;
	struct pc_hold		*holds;
	uint64_t		 packets, delayed, dropped, resets, faulted;
	uint64_t		 conn_faulted, reset_failed;
	int			 failed;
};


void
pktchaos_config_init(struct pktchaos_config *c)
{
	memset(c, 0, sizeof *c);
	c->dir = SNAP_DIR_OUT;
	c->idle_ns = 60ULL * 1000 * 1000 * 1000;
}

void
pktchaos_config_free(struct pktchaos_config *c)
{
	size_t	i;

	for (i = 0; i < c->nrules; i++)
		free(c->rules[i]);
	free(c->rules);
	free(c->chaos_log);
	free(c->ports);
	free(c->ready_path);
	free(c->stats_path);
	memset(c, 0, sizeof *c);
}

static int
pc_is_server(uint16_t port, void *arg)
{
	struct pktchaos	*pc = arg;

	return tcpflow_port_in(port, pc->cfg.ports, pc->cfg.nports);
}

/* --- held verdicts ----------------------------------------------------- */

static void
pc_hold_release(struct pc_hold *h, uint64_t upto)
{
	struct pc_held	*x;

	while ((x = h->head) != NULL && x->release_ns <= upto) {
		h->head = x->next;
		nfqueue_verdict(h->pc->q, x->id, NF_ACCEPT);
		free(x);
	}
	if (h->head == NULL)
		h->tail = NULL;
}

static void
pc_hold_free(struct pc_hold *h)
{
	struct pktchaos	*pc = h->pc;

	pc_hold_release(h, UINT64_MAX);
	loop_timer_del(pc->loop, &h->timer);
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		pc->holds = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	free(h);
}

static void
pc_hold_arm(struct pc_hold *h)
{
	uint64_t	now = loop_now(h->pc->loop);

	if (h->head == NULL)
		return;
	loop_timer_add(h->pc->loop, &h->timer,
	    h->head->release_ns > now ? h->head->release_ns - now : 0);
}

static void
pc_hold_timer(struct loop_timer *t)
{
	struct pc_hold	*h = t->arg;
	struct pktchaos	*pc = h->pc;
	char		*cause = NULL;

	pc_hold_release(h, loop_now_update(pc->loop));
	if (nfqueue_flush(pc->q, &cause) == -1) {
		log_warn("%s", cause);
		free(cause);
	}
	if (h->head == NULL && h->orphan)
		pc_hold_free(h);
	else
		pc_hold_arm(h);
}

static struct pc_hold *
pc_hold_new(struct pktchaos *pc)
{
	struct pc_hold	*h;

	h = xcalloc(1, sizeof *h);
	h->pc = pc;
	loop_timer_init(&h->timer, pc_hold_timer, h);
	h->next = pc->holds;
	if (pc->holds != NULL)
		pc->holds->prev = h;
	pc->holds = h;
	return h;
}

/* Holds packet id until release_ns, behind what the flow holds already. */
static void
pc_hold_add(struct pc_hold *h, uint32_t id, uint64_t release_ns)
{
	struct pc_held	*x;
	int		 first = h->head == NULL;

	x = xmalloc(sizeof *x);
	x->next = NULL;
	x->id = id;
	if (h->tail != NULL && h->tail->release_ns > release_ns)
		release_ns = h->tail->release_ns;
	x->release_ns = release_ns;
	if (h->tail != NULL)
		h->tail->next = x;
	else
		h->head = x;
	h->tail = x;
	if (first)
		pc_hold_arm(h);
}

/* --- rules ------------------------------------------------------------- */

/* Connection rules: `match` names nothing but dir and host. */
static uint64_t
pc_conn_mask(const struct rule_set *rs)
{
	uint64_t	mask = 0;
	size_t		i, n = rule_set_count(rs);

	for (i = 0; i < n && i < 64; i++)
		if (rule_is_per_connection(rule_set_get(rs, i)))
			mask |= UINT64_C(1) << i;
	return mask;
}

/* Evaluates rules for one request (or one connection) into *out. */
static void
pc_decide(struct pktchaos *pc, const struct rule_req *rq, uint64_t sig,
    int conn, struct pc_fault *out)
{
	struct plan	plan;
	struct rule_ctx	ctx;
	uint64_t	occ, mask;

	memset(out, 0, sizeof *out);
	if (rule_set_count(pc->rules) == 0)
		return;
	occ = plan_occ_next(&pc->occ, sig);
	memset(&ctx, 0, sizeof ctx);
	ctx.seed = pc->seed;
	ctx.sig = sig;
	ctx.occurrence = occ;
	ctx.elapsed_ns = loop_now(pc->loop) - pc->loaded_ns;
	ctx.recorded_ns = -1;
	if (pc->use_mask) {
		mask = rule_set_static_mask(pc->rules, rq);
		mask &= conn ? pc->conn_mask : ~pc->conn_mask;
		plan_decide(&plan, pc->rules, rq, &ctx, &mask);
	} else if (conn)
		return;
	else
		plan_decide(&plan, pc->rules, rq, &ctx, NULL);
	if (plan.nhits == 0)
		return;
	out->active = 1;
	out->latency_ns = plan.latency_ns;
	out->drop = plan.drop;
	/* A connection fault ends the evaluation: it is the last hit's. */
	out->reset = plan.conn == FAULT_CONN_RESET;
	fault_rng_seed(&out->rng, plan.hits[0].rng_seed);
	plan_log(&plan, pc->log, "-", PLAN_SCOPE_PACKET);
	if (conn)
		pc->conn_faulted++;
	else
		pc->faulted++;
}

/* A request is complete: decide what happens to its response. */
static void
pc_request(struct httpflow *hf, struct httpflow_txn *tx, void *arg)
{
	struct pc_flow		*pf = arg;
	struct pktchaos		*pc = pf->pc;
	struct snap_req		*r = &tx->t.req;
	struct http_header	 hdrs[HTTP_MAX_HEADERS];
	struct rule_req		 rq;
	struct pc_fault		*fault;
	uint64_t		 sig;

	plan_req_from_snap(&rq, hdrs, HTTP_MAX_HEADERS, r, pc->cfg.dir);
	sig = plan_signature(rq.method, rq.path, rq.query, r->body,
	    r->body_len);
	fault = xmalloc(sizeof *fault);
	pc_decide(pc, &rq, sig, 0, fault);
	tx->user = fault;
}

static void
pc_done(struct httpflow *hf, struct httpflow_txn *tx, void *arg)
{
	free(tx->user);
	httpflow_txn_free(tx);
}

static const struct httpflow_ops pc_http_ops = {
	.request = pc_request,
	.done = pc_done,
};

/* --- flows ------------------------------------------------------------- */

static void
pc_flow_open(struct tcpflow *f, void *arg)
{
	struct pktchaos	*pc = arg;
	struct pc_flow	*pf;
	struct rule_req	 rq;
	char		 host[80];
	uint64_t	 sig;

	pf = xcalloc(1, sizeof *pf);
	pf->pc = pc;
	pf->f = f;
	pf->hf = httpflow_create(&pc_http_ops, pf, &pc->hst, 0, 0);
	f->user = pf;
	if (pc->conn_mask == 0)
		return;
	tcpflow_addr_str(f->af, f->saddr, f->sport, host, sizeof host);
	memset(&rq, 0, sizeof rq);
	rq.dir = pc->cfg.dir;
	rq.host = span_from_str(host);
	sig = match_hash(MATCH_HASH_INIT, "connection", 10);
	sig = match_hash(sig, host, strlen(host));
	pc_decide(pc, &rq, sig, 1, &pf->conn);
}

static void
pc_flow_close(struct tcpflow *f, enum tcpflow_end why, void *arg)
{
	struct pc_flow	*pf = f->user;

	httpflow_free(pf->hf);
	if (pf->hold != NULL) {
		if (pf->hold->head == NULL)
			pc_hold_free(pf->hold);
		else
			pf->hold->orphan = 1;
	}
	free(pf);
	f->user = NULL;
}

static const struct tcpflow_ops pc_flow_ops = {
	.open = pc_flow_open,
	.data = httpflow_tcp_data,
	.gap = httpflow_tcp_gap,
	.eof = httpflow_tcp_eof,
	.close = pc_flow_close,
};

/* --- resets ------------------------------------------------------------ */

static uint16_t
pc_csum(const unsigned char *p, size_t len, uint32_t sum)
{
	size_t	i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)((p[i] << 8) | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void
pc_put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void
pc_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/*
 * Sends a TCP RST|ACK from src:sport to dst:dport (af AF_INET or
 * AF_INET6), IP header included.
 */
static int
pc_send_rst(struct pktchaos *pc, int af, const uint8_t *src, uint16_t sport,
    const uint8_t *dst, uint16_t dport, uint32_t seq, uint32_t ack)
{
	unsigned char		 pkt[60], pseudo[40 + 20], *tcp;
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	size_t			 alen = af == AF_INET ? 4 : 16, iph, plen;
	socklen_t		 sslen;
	int			 fd = af == AF_INET ? pc->raw : pc->raw6;

	if (fd == -1)
		return -1;
	memset(pkt, 0, sizeof pkt);
	memset(&ss, 0, sizeof ss);
	if (af == AF_INET) {
		iph = 20;
		pkt[0] = 0x45;
		pc_put16(pkt + 2, 40);
		pkt[6] = 0x40;			/* don't fragment */
		pkt[8] = 64;
		pkt[9] = IPPROTO_TCP;
		memcpy(pkt + 12, src, 4);
		memcpy(pkt + 16, dst, 4);
		pc_put16(pkt + 10, pc_csum(pkt, 20, 0));
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, dst, 4);
		sslen = sizeof *sin;
	} else {
		iph = 40;
		pkt[0] = 0x60;
		pc_put16(pkt + 4, 20);
		pkt[6] = IPPROTO_TCP;
		pkt[7] = 64;
		memcpy(pkt + 8, src, 16);
		memcpy(pkt + 24, dst, 16);
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, dst, 16);
		sslen = sizeof *sin6;
	}
	tcp = pkt + iph;
	pc_put16(tcp, sport);
	pc_put16(tcp + 2, dport);
	pc_put32(tcp + 4, seq);
	pc_put32(tcp + 8, ack);
	tcp[12] = 5 << 4;
	tcp[13] = TCPF_RST | TCPF_ACK;
	/* Pseudo-header: addresses, protocol, TCP length. */
	memset(pseudo, 0, sizeof pseudo);
	memcpy(pseudo, src, alen);
	memcpy(pseudo + alen, dst, alen);
	if (af == AF_INET) {
		pseudo[9] = IPPROTO_TCP;
		pc_put16(pseudo + 10, 20);
		plen = 12;
	} else {
		pc_put32(pseudo + 32, 20);
		pseudo[39] = IPPROTO_TCP;
		plen = 40;
	}
	memcpy(pseudo + plen, tcp, 20);
	pc_put16(tcp + 16, pc_csum(pseudo, plen + 20, 0));
	if (sendto(fd, pkt, iph + 20, 0, (struct sockaddr *)&ss, sslen) ==
	    -1) {
		log_warn("injecting a reset: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Resets the flow both ways; seg is the response segment being dropped. */
static void
pc_reset(struct pktchaos *pc, struct pc_flow *pf,
    const struct tcpflow_seg *seg)
{
	struct tcpflow		*f = pf->f;
	struct tcpflow_half	*c2s = &f->half[TCPFLOW_C2S];

	pf->reset = 1;
	if (!c2s->have_seq) {
		pc->reset_failed++;
		return;
	}
	if (pc_send_rst(pc, f->af, f->saddr, f->sport, f->caddr, f->cport,
	    seg->seq, c2s->next) == 0 &&
	    pc_send_rst(pc, f->af, f->caddr, f->cport, f->saddr, f->sport,
	    c2s->next, seg->seq) == 0)
		pc->resets++;
	else
		pc->reset_failed++;
}

/* --- packets ----------------------------------------------------------- */

static void
pc_packet(struct pktchaos *pc, const struct nfqueue_pkt *pkt, uint64_t now)
{
	struct tcpflow_seg	 seg;
	struct tcpflow		*f;
	struct pc_flow		*pf;
	struct httpflow_txn	*tx;
	struct pc_fault		*fault = NULL;
	struct pc_hold		*hold;
	uint64_t		 latency = 0;
	int			 dir, closed, drop = 0, reset = 0;

	pc->packets++;
	if (pkt->data == NULL ||
	    tcpflow_parse(pkt->data, pkt->len, &seg) == -1 ||
	    (pc->cfg.nports > 0 && !pc_is_server(seg.sport, pc) &&
	    !pc_is_server(seg.dport, pc))) {
		nfqueue_verdict(pc->q, pkt->id, NF_ACCEPT);
		return;
	}
	seg.missing += pkt->orig_len - pkt->len;

	/* The response's fault is decided before its bytes are parsed. */
	if ((f = tcpflow_lookup(pc->flows, &seg, &dir)) != NULL &&
	    dir == TCPFLOW_S2C && (seg.flags & TCPF_RST) == 0) {
		pf = f->user;
		if (pf->reset && seg.len > 0)
			drop = 1;
		else if (pf->conn.active)
			fault = &pf->conn;
		else if (seg.len > 0 && !httpflow_is_dead(pf->hf) &&
		    (tx = httpflow_front(pf->hf)) != NULL &&
		    tx->user != NULL && ((struct pc_fault *)tx->user)->active)
			fault = tx->user;
		if (fault != NULL) {
			latency = fault->latency_ns;
			if (seg.len > 0 && fault->reset) {
				reset = 1;
				drop = 1;
			} else if (seg.len > 0 && fault->drop > 0 &&
			    fault_rng_double(&fault->rng) < fault->drop)
				drop = 1;
		}
		if (reset)
			pc_reset(pc, pf, &seg);
	}
	hold = f != NULL && dir == TCPFLOW_S2C ?
	    ((struct pc_flow *)f->user)->hold : NULL;
	if (drop) {
		pc->dropped++;
		nfqueue_verdict(pc->q, pkt->id, NF_DROP);
	} else if (latency > 0 || (hold != NULL && hold->head != NULL)) {
		pf = f->user;
		if (pf->hold == NULL)
			pf->hold = pc_hold_new(pc);
		pc->delayed++;
		pc_hold_add(pf->hold, pkt->id, now + latency);
	} else
		nfqueue_verdict(pc->q, pkt->id, NF_ACCEPT);
	if (drop && !reset)
		return;		/* the retransmission is parsed instead */
	(void)tcpflow_input(pc->flows, &seg, now, &dir, &closed);
}

static void
pc_readable(struct loop_io *io, uint32_t events)
{
	struct pktchaos			*pc = io->arg;
	const struct nfqueue_pkt	*pkts;
	ssize_t				 n, i;
	uint64_t			 now;
	char				*cause = NULL;
	int				 round;

	for (round = 0; round < PC_ROUNDS; round++) {
		if ((n = nfqueue_recv(pc->q, &pkts, &cause)) == -1)
			goto fail;
		if (n == 0)
			break;
		now = loop_now_update(pc->loop);
		for (i = 0; i < n; i++)
			pc_packet(pc, &pkts[i], now);
		if (nfqueue_flush(pc->q, &cause) == -1)
			goto fail;
	}
	return;
fail:
	log_error("%s", cause);
	free(cause);
	pc->failed = 1;
	loop_stop(pc->loop);
}

static void
pc_sweep(struct loop_timer *t)
{
	struct pktchaos	*pc = t->arg;

	tcpflow_expire(pc->flows, loop_now(pc->loop), pc->cfg.idle_ns);
	loop_timer_add(pc->loop, &pc->sweep, PC_SWEEP_NS);
}

/* Warns about faults a packet path cannot apply. */
static void
pc_check_rules(const struct rule_set *rs)
{
	const struct fault_spec	*f;
	size_t			 i;

	for (i = 0; i < rule_set_count(rs); i++) {
		f = rule_fault(rule_set_get(rs, i));
		if (f->status != 0 || f->nheaders > 0 || f->has_body ||
		    f->malform != FAULT_MALFORM_NONE ||
		    (f->connection != FAULT_CONN_NONE &&
		    f->connection != FAULT_CONN_RESET))
			log_warn("rule %s: only latency, drop and connection: "
			    "reset apply to packets; its other faults are "
			    "ignored", rule_name(rule_set_get(rs, i)));
	}
}

struct pktchaos *
pktchaos_create(const struct pktchaos_config *cfg, char **cause)
{
	struct pktchaos	*pc;
	uint64_t	 fseed = 0;
	int		 has_seed = 0;
	size_t		 i;

	if (priv_require(PRIV_CAP(CAP_NET_ADMIN) | PRIV_CAP(CAP_NET_RAW),
	    "decoy chaos", cause) == -1)
		return NULL;
	pc = xcalloc(1, sizeof *pc);
	pc->raw = pc->raw6 = -1;
	pc->cfg = *cfg;
	pc->cfg.rules = NULL;
	pc->cfg.nrules = 0;
	pc->cfg.chaos_log = NULL;
	pc->cfg.ports = cfg->nports > 0 ?
	    xreallocarray(NULL, cfg->nports, sizeof *cfg->ports) : NULL;
	for (i = 0; i < cfg->nports; i++)
		pc->cfg.ports[i] = cfg->ports[i];
	pc->cfg.ready_path = NULL;
	pc->cfg.stats_path = cfg->stats_path != NULL ?
	    xstrdup(cfg->stats_path) : NULL;
	if ((pc->rules = rule_set_load((const char *const *)cfg->rules,
	    cfg->nrules, &fseed, &has_seed, cause)) == NULL)
		goto fail;
	pc->seed = cfg->has_seed ? cfg->seed : has_seed ? fseed : 0;
	pc->use_mask = rule_set_count(pc->rules) <= 64;
	pc->conn_mask = pc->use_mask ? pc_conn_mask(pc->rules) : 0;
	pc_check_rules(pc->rules);
	if ((pc->log = chaos_log_open(cfg->chaos_log, 0, cause)) == NULL)
		goto fail;
	if ((pc->loop = loop_create(cause)) == NULL)
		goto fail;
	if ((pc->q = nfqueue_open(cfg->queue, 65535, PC_BATCH, 0, cause)) ==
	    NULL)
		goto fail;
	if ((pc->raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC,
	    IPPROTO_RAW)) == -1) {
		*cause = xasprintf("raw socket (for resets): %s",
		    strerror(errno));
		goto fail;
	}
	/* IPv6 may be disabled: resets of IPv6 flows then fail (counted). */
	pc->raw6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (priv_keep(PRIV_CAP(CAP_NET_ADMIN) | PRIV_CAP(CAP_NET_RAW),
	    cause) == -1)
		goto fail;
	pc->flows = tcpflow_table_create(&pc_flow_ops, pc, 0,
	    pc->cfg.nports > 0 ? pc_is_server : NULL);
	if (loop_io_add(pc->loop, &pc->io, nfqueue_fd(pc->q), EPOLLIN,
	    pc_readable, pc) == -1) {
		*cause = xasprintf("epoll: %s", strerror(errno));
		goto fail;
	}
	pc->io_added = 1;
	loop_timer_init(&pc->sweep, pc_sweep, pc);
	loop_timer_add(pc->loop, &pc->sweep, PC_SWEEP_NS);
	pc->loaded_ns = loop_now_update(pc->loop);
	if (cfg->ready_path != NULL &&
	    buf_write_file(cfg->ready_path, "bound\n", 6, 0644, cause) == -1)
		goto fail;
	return pc;
fail:
	pktchaos_free(pc);
	return NULL;
}

int
pktchaos_run(struct pktchaos *pc)
{
	struct buf		 b;
	struct pc_hold		*h;
	char			*cause = NULL;
	int			 rv;

	loop_stop_on_signals(pc->loop);
	log_info("packet chaos on NFQUEUE %u: %zu rules, seed %llu",
	    pc->cfg.queue, rule_set_count(pc->rules),
	    (unsigned long long)pc->seed);
	rv = loop_run(pc->loop);
	loop_stop_on_signals(NULL);
	/* Nothing stays held when we go. */
	for (h = pc->holds; h != NULL; h = h->next)
		pc_hold_release(h, UINT64_MAX);
	if (nfqueue_flush(pc->q, &cause) == -1) {
		log_warn("%s", cause);
		free(cause);
		cause = NULL;
	}
	buf_init(&b);
	buf_printf(&b, "{\"packets\":%llu,\"flows\":%llu,\"requests\":%llu,"
	    "\"faulted\":%llu,\"connections_faulted\":%llu,"
	    "\"delayed\":%llu,\"dropped\":%llu,\"resets\":%llu,"
	    "\"resets_failed\":%llu,\"enobufs\":%llu,\"faults_logged\":%llu,"
	    "\"faults\":",
	    (unsigned long long)pc->packets,
	    (unsigned long long)tcpflow_stats(pc->flows)->flows,
	    (unsigned long long)pc->hst.requests,
	    (unsigned long long)pc->faulted,
	    (unsigned long long)pc->conn_faulted,
	    (unsigned long long)pc->delayed, (unsigned long long)pc->dropped,
	    (unsigned long long)pc->resets,
	    (unsigned long long)pc->reset_failed,
	    (unsigned long long)nfqueue_enobufs(pc->q),
	    (unsigned long long)chaos_log_total(pc->log));
	chaos_log_counts_json(pc->log, &b);
	buf_append_str(&b, "}\n");
	fprintf(stderr, "decoy chaos: nfqueue %u: %s", pc->cfg.queue, b.data);
	if (pc->cfg.stats_path != NULL &&
	    buf_write_file(pc->cfg.stats_path, b.data, b.len, 0644,
	    &cause) == -1) {
		log_error("%s", cause);
		free(cause);
		rv = -1;
	}
	buf_free(&b);
	return rv == -1 || pc->failed ? -1 : 0;
}

void
pktchaos_free(struct pktchaos *pc)
{
	if (pc == NULL)
		return;
	tcpflow_table_free(pc->flows);
	while (pc->holds != NULL)
		pc_hold_free(pc->holds);
	if (pc->io_added)
		loop_io_del(pc->loop, &pc->io);
	if (pc->loop != NULL)
		loop_timer_del(pc->loop, &pc->sweep);
	nfqueue_close(pc->q);
	if (pc->raw != -1)
		close(pc->raw);
	if (pc->raw6 != -1)
		close(pc->raw6);
	if (pc->log != NULL)
		chaos_log_close(pc->log);
	if (pc->rules != NULL)
		rule_set_free(pc->rules);
	if (pc->loop != NULL)
		loop_free(pc->loop);
	pktchaos_config_free(&pc->cfg);
	free(pc);
}
