/*
 * respond.c -- the responder: worker threads, connections, request framing
 * and the reply path.
 *
 * Each worker owns a loop, one SO_REUSEPORT listener per address and its
 * connections; the only shared state is the read-only match index (whose
 * per-signature cursors are atomic).  A connection reads into one buffer,
 * parses as many complete requests as it holds (pipelining), queues each
 * reply as iovecs that point at the index's pre-serialised bytes, and
 * flushes them with writev through its transport (conn.h: tcp, or tls
 * with --tls, whose leaves the CA mints per name).  Chunked request bodies are decoded in place in
 * the input buffer.  Each connection has one deadline timer (header,
 * body, idle or linger), armed lazily: a deadline that moves later (as
 * the idle one does with every request) leaves the timer where it is, and
 * when it fires early it is re-armed, so the request path touches the
 * timer heap only when a deadline comes closer, and no pass of the loop
 * walks every connection.
 *
 * Chaos.  After matching, the current rule set (rule.h) decides which
 * rules fire for the transaction.  Their faults are combined into one
 * reply: latencies add, a status replaces the response, later headers,
 * bodies and malforms win, and a connection fault ends the transaction.
 * A delayed reply is held with a per-connection timer, and the
 * connection parses no further request until it is sent, so pipelined
 * replies keep their order.  Every fault is written to the chaos log.
 *
 * Transforms (match.h): an entry whose response has shift, resign, echo
 * or key-echo places is rendered per reply (match_live_render) into
 * buffers the reply owns; every other entry keeps the pre-serialised
 * writev.  Each worker counts requests per endpoint (method and inferred
 * route) in its own bounded table, read and summed by the admin thread.
 *
 * The snapshot index and the rule set form a generation, published with
 * one atomic pointer; edits (admin API) and reloads (SIGHUP) publish a
 * new generation.  Generations are reference-counted: the publication
 * holds one reference, each worker one per generation it still uses, and
 * the worker counts locally which of its connections have output queued
 * from which generation (queued replies point into the index).  A
 * connection picks up the current generation when it has nothing queued;
 * the last reference frees the generation, its rule set and, once no
 * generation shares them, its index and transforms.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca.h"
#include "chaos.h"
#include "conn.h"
#include "cpus.h"
#include "fault.h"
#include "http.h"
#include "httpd.h"
#include "log.h"
#include "loop.h"
#include "match.h"
#include "plan.h"
#include "respond.h"
#include "respond-pass.h"
#include "rule-check.h"
#include "rule.h"
#include "snap.h"
#include "sock.h"
#include "transform.h"
#include "xmalloc.h"

#define RESPOND_READ_CHUNK	(16 * 1024)
#define RESPOND_OUT_HIGH	(1024 * 1024)	/* stop reading above this */
/* Past the output budget, connections holding at least this much unsent
 * output are not read and get no further reply until they drain. */
#define RESPOND_OUT_LOW		(16 * 1024)
#define RESPOND_BUDGET_DEFAULT	(256ull * 1024 * 1024)
#define RESPOND_LINGER_NS	(1000 * 1000000ull)
#define RESPOND_GEN_TICK_NS	(100 * 1000000ull)	/* idle workers follow reloads */
#define RESPOND_DRAIN_NS	(5000 * 1000000ull)
#define RESPOND_DRIP_NS		(10 * 1000000ull)	/* drip tick */
#define RESPOND_RULE_CACHE	1024
/* accept(2) failures (EMFILE...) are logged once per interval. */
#define RESPOND_LOG_INTERVAL_NS	(5000 * 1000000ull)
/* Match rate per endpoint: each worker counts at most RESPOND_EP_MAX
 * distinct endpoints (in a table of RESPOND_EP_SLOTS, a power of two);
 * the rest, and routes longer than RESPOND_EP_LEN, go to one "other"
 * bucket, so hostile traffic cannot grow memory. */
#define RESPOND_EP_SLOTS	512
#define RESPOND_EP_MAX		256
#define RESPOND_EP_LEN		256

/* Counters have one writer (their worker) and are read by the admin
 * thread: relaxed atomic loads and stores, plain adds. */
#define STAT_ADD(x, n)	__atomic_store_n(&(x), __atomic_load_n(&(x), \
			    __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)
#define STAT_INC(x)	STAT_ADD(x, 1)
#define STAT_GET(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)

const double respond_latency_bounds[RESPOND_NBUCKETS] = {
	0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
	0.5, 1, 2.5, 5, 10, 1e300,
};

/* Oversize bodies are streamed from this, by reference. */
static char	respond_filler[64 * 1024];
static pthread_once_t respond_filler_once = PTHREAD_ONCE_INIT;

struct worker;

struct out_item {
	const char	*p;
	size_t		 len;
	char		*owned;		/* freed once written, or NULL */
};

/* One reply: head (status line and headers, no blank line), separator
 * and body, plus what the connection does with it. */
struct reply {
	struct out_item	 part[3];
	enum fault_conn	 conn;
	double		 bps;
	uint32_t	 h2_code;	/* rst_stream, goaway */
	uint64_t	 filler;	/* oversize: filler bytes after the head */
	int		 close;		/* close after it (broken framing...) */
	uint64_t	 ready_ns;	/* when the request was complete */
	size_t		*split;		/* gRPC per-message latency: the body
					   in pieces (plan_reply) */
	size_t		 nsplit;
	uint64_t	 msg_ns;	/* before each piece */
};

/* The responder's side of a connection (httpd.h has the HTTP side). */
struct rconn {
	struct hconn		*h;
	struct worker		*w;
	char			 odst[64];	/* --transparent: original
						   destination, "" if none */

	/* A reply held back by injected latency, or being dripped. */
	struct loop_timer	 timer;
	struct reply		*held;
	/* --unmatched passthrough: the exchange in flight, and how its
	 * reply is to be framed. */
	struct respond_pass_x	*pass;
	struct plan		*pass_plan;	/* chaos for its reply, or NULL */
	int			 pass_starting, pass_keep, pass_head;
	uint64_t		 pass_ready_ns;
	struct out_item		 drip[3];	/* what is left to drip */
	size_t			 ndrip;
	double			 drip_bps;
	double			 drip_credit;	/* bytes earned, not yet sent */
	/* A gRPC answer going out message by message: the body, where its
	 * pieces end, the next one, the delay before each. */
	struct out_item		 msgs;
	size_t			*msg_split;
	size_t			 msg_n, msg_i;
	uint64_t		 msg_ns;

	/* The generation queued replies point into (pinned in the
	 * worker's table), NULL: none yet. */
	struct respond_gen	*gen;
};

struct respond_gen;

/* A cached rule_set_static_mask() result, see respond_eval_rules(). */
struct rule_cache_slot {
	uint64_t			 gen;	/* serial, never reused */
	const struct match_entry	*entry;
	uint64_t			 host;
	uint64_t			 mask;
};

/*
 * One endpoint's counters in one worker.  Only the worker writes; the
 * admin thread reads name (published with a release store after key and
 * len are written) and the counters (relaxed).
 */
struct ep_slot {
	char		*name;		/* "METHOD\0ROUTE", NULL: empty */
	size_t		 len;
	uint64_t	 hash;
	uint64_t	 matched;
	uint64_t	 closest;
	uint64_t	 unmatched;
};

/* A generation a worker holds one reference to, and how many users it
 * has in this worker: the worker itself while it is current, plus each
 * connection pinned to it. */
struct worker_pin {
	struct respond_gen	*gen;
	size_t			 users;
};

struct worker {
	struct responder	*r;
	size_t			 id;
	struct respond_gen	*gen;		/* current as last seen */
	struct worker_pin	*pins;
	size_t			 npins;
	pthread_t		 thread;
	struct loop		*loop;
	struct httpd		*httpd;		/* listeners, connections */
	int			 draining;
	struct rule_cache_slot	*rule_cache;	/* RESPOND_RULE_CACHE slots */
	struct buf		 scratch;	/* the endpoint of a request */
	struct ep_slot		*eps;		/* RESPOND_EP_SLOTS */
	size_t			 neps;
	struct ep_slot		 ep_other;

	uint64_t		 n_requests;
	uint64_t		 n_matched;
	uint64_t		 n_closest;
	uint64_t		 n_missed;
	uint64_t		 n_bad;
	uint64_t		 n_faulted;
	uint64_t		 buckets[RESPOND_NBUCKETS];
	uint64_t		 delay_sum_ns;
};

/* A loaded snapshot and its transforms, shared by the generations that
 * rule edits make from one reload. */
struct respond_data {
	_Atomic size_t		 refs;
	struct match_index	*index;
	struct transforms	*transforms;	/* the index's, NULL: none */
};

/* What requests are served from: published as one pointer. */
struct respond_gen {
	_Atomic size_t		 refs;
	uint64_t		 serial;
	struct respond_data	*data;
	struct match_index	*index;		/* data's */
	struct transforms	*transforms;	/* data's */
	struct rule_set		*rules;		/* owned */
	uint64_t		 loaded_ns;	/* for `between` windows */
};

struct responder {
	struct respond_config	 cfg;
	_Atomic(struct respond_gen *) gen;
	struct worker		*workers;
	size_t			 nworkers;
	uint64_t		 out_budget;	/* bytes, all workers */
	int			*ports;		/* per listen address */
	uint64_t		 seed;
	uint64_t		 start_ns;
	int64_t			 clock_offset_us;	/* --now - wall at start */
	struct chaos_log	*chaos;
	struct ca		*ca;		/* --tls: mints the leaves */
	struct conn_tls_ctx	*tls_ctx;	/* --tls: shared by the workers */
	struct respond_pass	*pass;		/* --unmatched passthrough */
	/* Occurrence counters of requests with no recorded signature. */
	struct plan_occ		 miss_occ;

	/* accept(2) failures, logged once per interval for all workers. */
	pthread_mutex_t		 log_lock;
	struct log_every	 accept_log;

	/* Edits and reloads serialise on edit_lock; gen_lock only covers
	 * swapping r->gen and taking a reference to it, so a worker never
	 * waits for a reload to read its files. */
	pthread_mutex_t		 edit_lock;
	pthread_mutex_t		 gen_lock;
	uint64_t		 gen_serial;	/* under edit_lock */
	_Atomic size_t		 count;		/* transactions served now */
};

static void	reply_free(struct reply *);

void
respond_config_init(struct respond_config *c)
{
	memset(c, 0, sizeof *c);
	c->unmatched = MATCH_UNMATCHED_404;
	c->max_head = HTTP_DEFAULT_MAX_HEAD;
	c->max_body = 8 * 1024 * 1024;
	c->header_timeout_ns = 10ull * 1000000000u;
	c->body_timeout_ns = 30ull * 1000000000u;
	c->body_min_rate = 1024;
	c->idle_timeout_ns = 60ull * 1000000000u;
	c->http2 = 1;
}

void
respond_config_free(struct respond_config *c)
{
	size_t	i;

	free(c->snapshot);
	free(c->proto_set);
	free(c->transforms);
	for (i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	free(c->listen);
	free(c->port_file);
	for (i = 0; i < c->nrules; i++)
		free(c->rules[i]);
	free(c->rules);
	free(c->chaos_log);
	free(c->admin);
	free(c->admin_token);
	free(c->admin_port_file);
	free(c->ca_dir);
	for (i = 0; i < c->npass_allow; i++)
		free(c->pass_allow[i]);
	free(c->pass_allow);
	free(c->record_misses);
	free(c->pass_ca);
	memset(c, 0, sizeof *c);
}

void
respond_config_add_listen(struct respond_config *c, const char *addr)
{
	c->listen = xreallocarray(c->listen, c->nlisten + 1,
	    sizeof *c->listen);
	c->listen[c->nlisten++] = xstrdup(addr);
}

void
respond_config_add_rules(struct respond_config *c, const char *path)
{
	c->rules = xreallocarray(c->rules, c->nrules + 1, sizeof *c->rules);
	c->rules[c->nrules++] = xstrdup(path);
}

/* --- generations ------------------------------------------------------ */

static void
respond_data_unref(struct respond_data *d)
{
	if (d == NULL || atomic_fetch_sub_explicit(&d->refs, 1,
	    memory_order_acq_rel) != 1)
		return;
	match_index_free(d->index);
	transforms_free(d->transforms);
	free(d);
	/* A snapshot is many small blocks: give their pages back. */
	malloc_trim(0);
}

/* Drops a reference; the last frees the generation. */
static void
respond_gen_unref(struct respond_gen *gen)
{
	if (gen == NULL || atomic_fetch_sub_explicit(&gen->refs, 1,
	    memory_order_acq_rel) != 1)
		return;
	rule_set_free(gen->rules);
	respond_data_unref(gen->data);
	free(gen);
}

/* The published generation, with a reference for the caller. */
static struct respond_gen *
respond_gen_acquire(struct responder *r)
{
	struct respond_gen	*gen;

	pthread_mutex_lock(&r->gen_lock);
	gen = atomic_load_explicit(&r->gen, memory_order_relaxed);
	if (gen != NULL)
		atomic_fetch_add_explicit(&gen->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&r->gen_lock);
	return gen;
}

static struct worker_pin *
worker_pin_find(struct worker *w, const struct respond_gen *gen)
{
	size_t	i;

	for (i = 0; i < w->npins; i++)
		if (w->pins[i].gen == gen)
			return &w->pins[i];
	fatalx("worker %zu: generation not pinned", w->id);
}

/* Drops one user of gen in this worker; the last one drops the worker's
 * reference. */
static void
worker_unpin(struct worker *w, struct respond_gen *gen)
{
	struct worker_pin	*p = worker_pin_find(w, gen);

	if (--p->users > 0)
		return;
	*p = w->pins[--w->npins];
	respond_gen_unref(gen);
}

/* Whether replies that may point into c's generation are still queued. */
static int
conn_gen_busy(const struct rconn *c)
{
	/* A passthrough's plan points into the generation's rules. */
	return hconn_has_output(c->h) || c->held != NULL || c->ndrip > 0 ||
	    c->pass != NULL;
}

/* Lets a connection with nothing queued go of a generation that is no
 * longer current. */
static void
conn_gen_idle(struct rconn *c)
{
	if (c->gen != NULL && c->gen != c->w->gen && !conn_gen_busy(c)) {
		worker_unpin(c->w, c->gen);
		c->gen = NULL;
	}
}

static void
conn_drained(struct hconn *h)
{
	conn_gen_idle(hconn_data(h));
}

/*
 * Follows the published generation: one pointer comparison while it is
 * unchanged; after a reload or an edit, takes a reference to the new one
 * and releases the old one from the idle connections.
 */
static void
worker_gen_refresh(struct worker *w)
{
	struct respond_gen	*gen, *old = w->gen;
	struct hconn		*h;

	if (atomic_load_explicit(&w->r->gen, memory_order_acquire) == old)
		return;
	gen = respond_gen_acquire(w->r);
	if (gen == old) {
		respond_gen_unref(gen);
		return;
	}
	w->pins = xreallocarray(w->pins, w->npins + 1, sizeof *w->pins);
	w->pins[w->npins].gen = gen;
	w->pins[w->npins].users = 1;
	w->npins++;
	w->gen = gen;
	if (old != NULL)
		worker_unpin(w, old);
	for (h = httpd_first(w->httpd); h != NULL; h = hconn_next(h))
		conn_gen_idle(hconn_data(h));
}

/* The generation a request on c is served from: the current one, unless
 * replies from an older one are still queued ahead of it. */
static struct respond_gen *
conn_gen(struct rconn *c)
{
	struct worker	*w = c->w;

	worker_gen_refresh(w);
	if (c->gen == w->gen)
		return c->gen;
	if (c->gen != NULL) {
		if (conn_gen_busy(c))
			return c->gen;
		worker_unpin(w, c->gen);
	}
	c->gen = w->gen;
	worker_pin_find(w, w->gen)->users++;
	return c->gen;
}

/* --- connections ------------------------------------------------------ */

/* httpd frees a connection: the reply state goes with it. */
static void
conn_freed(struct hconn *h)
{
	struct rconn	*c = hconn_data(h);
	size_t		 i;

	if (c == NULL)
		return;
	loop_timer_del(c->w->loop, &c->timer);
	respond_pass_cancel(c->pass);
	c->pass = NULL;
	free(c->pass_plan);
	c->pass_plan = NULL;
	for (i = 0; i < c->ndrip; i++)
		free(c->drip[i].owned);
	free(c->msgs.owned);
	free(c->msg_split);
	if (c->held != NULL) {
		reply_free(c->held);
		free(c->held);
	}
	if (c->gen != NULL)
		worker_unpin(c->w, c->gen);
	free(c);
}

/* Unsent output all workers hold, bytes (their counters summed). */
static uint64_t
respond_out_total(struct responder *r)
{
	uint64_t	t = 0;
	size_t		i;

	for (i = 0; i < r->nworkers; i++)
		t += httpd_out_mem(r->workers[i].httpd);
	return t;
}

/* 1 when the responder holds more unsent output than its budget. */
static int
conn_over_budget(void *arg)
{
	struct worker	*w = arg;

	return respond_out_total(w->r) > w->r->out_budget;
}

/* Answers a request that cannot be served (httpd closes after it). */
static void
conn_reject(struct hconn *h, int status, const char *why, size_t off)
{
	struct rconn	*c = hconn_data(h);
	struct buf	 body, msg;

	c->w->n_bad++;
	log_info("%s: %d %s (byte %zu); closing", hconn_peer(h), status, why,
	    off);
	buf_init(&body);
	buf_init(&msg);
	buf_printf(&body, "{\"error\":\"%s\",\"reason\":\"%s\",\"offset\":%zu}\n",
	    http_reason(status), why, off);
	http_write_simple(&msg, status, "application/json", body.data, body.len,
	    1);
	buf_free(&body);
	hconn_queue_buf(h, &msg);
}

static void
reply_free(struct reply *rp)
{
	size_t	i;

	for (i = 0; i < 3; i++)
		free(rp->part[i].owned);
	free(rp->split);
	memset(rp, 0, sizeof *rp);
}

static void
reply_set(struct reply *rp, int i, const char *p, size_t len, char *owned)
{
	free(rp->part[i].owned);
	rp->part[i].p = p;
	rp->part[i].len = len;
	rp->part[i].owned = owned;
}

static void
reply_set_buf(struct reply *rp, int i, struct buf *b)
{
	size_t	 len;
	char	*p;

	p = buf_detach(b, &len);
	reply_set(rp, i, p, len, p);
}

/* The 404 for an unmatched request, as a head and a body. */
static void
reply_miss(struct reply *rp, const struct match_index *idx,
    const struct match_req *mr)
{
	struct buf	json, head;

	buf_init(&json);
	buf_init(&head);
	match_explain_miss(idx, mr, &json, 3);
	buf_append_byte(&json, '\n');
	http_write_status_line(&head, 404, SPAN_NULL);
	http_write_header(&head, SPAN_LIT("Content-Type"),
	    SPAN_LIT("application/json"));
	buf_printf(&head, "Content-Length: %zu\r\n", json.len);
	reply_set_buf(rp, 0, &head);
	reply_set_buf(rp, 2, &json);
}

/*
 * Rebuilds the reply from the plan's faults that change bytes
 * (plan_render): the recorded head and body go in, the new ones replace
 * them.
 */
static void
reply_render(struct reply *rp, const struct plan *plan)
{
	struct plan_reply	out;

	if (plan_render(plan, rp->part[0].p, rp->part[0].len, rp->part[2].p,
	    rp->part[2].len, &out) == 0)
		return;
	rp->filler = out.filler;
	rp->close |= out.close;
	free(rp->split);
	rp->split = out.split;
	rp->nsplit = out.nsplit;
	reply_set_buf(rp, 0, &out.head);
	if (out.body.len > 0)
		reply_set_buf(rp, 2, &out.body);
	else {
		buf_free(&out.body);
		reply_set(rp, 2, NULL, 0, NULL);
	}
}

static void
conn_delay_histogram(struct worker *w, uint64_t ns)
{
	double	s = (double)ns / 1e9;
	size_t	i;

	for (i = 0; i < RESPOND_NBUCKETS - 1; i++)
		if (s <= respond_latency_bounds[i])
			break;
	STAT_INC(w->buckets[i]);
	STAT_ADD(w->delay_sum_ns, ns);
}

static void	conn_timer_cb(struct loop_timer *);

/* Starts dripping the parts from `first` on at the reply's rate. */
static void
conn_drip_start(struct rconn *c, struct reply *rp, int first)
{
	int	i;

	c->ndrip = 0;
	for (i = first; i < 3; i++) {
		if (rp->part[i].len == 0) {
			free(rp->part[i].owned);
			continue;
		}
		c->drip[c->ndrip++] = rp->part[i];
	}
	memset(rp->part, 0, sizeof rp->part);
	c->drip_bps = rp->bps > 0 ? rp->bps : 1024;
	c->drip_credit = 0;
	hconn_hold(c->h, 1);
	loop_timer_add(c->w->loop, &c->timer, RESPOND_DRIP_NS);
}

/*
 * Sends the head of a gRPC answer whose messages go out one at a time
 * (per_message latency) and starts the timer that queues them.
 */
static void
conn_msgs_start(struct rconn *c, struct reply *rp)
{
	int	i;

	for (i = 0; i < 2; i++)
		hconn_queue(c->h, rp->part[i].p, rp->part[i].len,
		    rp->part[i].owned);
	c->msgs = rp->part[2];
	c->msg_split = rp->split;
	c->msg_n = rp->nsplit;
	c->msg_i = 0;
	c->msg_ns = rp->msg_ns;
	memset(rp->part, 0, sizeof rp->part);
	rp->split = NULL;
	if (rp->close)
		hconn_close_after(c->h);
	hconn_hold(c->h, 1);
	loop_timer_add(c->w->loop, &c->timer, c->msg_ns);
}

/* The timer of conn_msgs_start: the next message, the last one with the
 * trailers and the body's ownership. */
static void
conn_msgs_next(struct rconn *c)
{
	size_t	from = c->msg_i > 0 ? c->msg_split[c->msg_i - 1] : 0;

	if (++c->msg_i < c->msg_n) {
		hconn_queue(c->h, c->msgs.p + from,
		    c->msg_split[c->msg_i - 1] - from, NULL);
		hconn_set_deadline(c->h, loop_now(c->w->loop) +
		    c->w->r->cfg.idle_timeout_ns);
		loop_timer_add(c->w->loop, &c->timer, c->msg_ns);
		return;
	}
	hconn_queue(c->h, c->msgs.p + from, c->msgs.len - from,
	    c->msgs.owned);
	memset(&c->msgs, 0, sizeof c->msgs);
	free(c->msg_split);
	c->msg_split = NULL;
	c->msg_n = 0;
	hconn_release(c->h);
}

/* Puts a reply on the wire (now: any latency has been served). */
static void
conn_emit(struct rconn *c, struct reply *rp)
{
	uint32_t	code;
	int		i;

	conn_delay_histogram(c->w, loop_now(c->w->loop) - rp->ready_ns);
	hconn_release(c->h);
	if (rp->conn != FAULT_CONN_NONE || rp->part[2].len == 0) {
		/* Messages one at a time only for a whole answer. */
		free(rp->split);
		rp->split = NULL;
		rp->nsplit = 0;
	}
	switch (rp->conn) {
	case FAULT_CONN_RESET:
		reply_free(rp);
		hconn_flush(c->h);
		if (hconn_is_dead(c->h))
			return;
		/* An RST (and no close_notify). */
		hconn_abort(c->h);
		return;
	case FAULT_CONN_RST_STREAM:
	case FAULT_CONN_GOAWAY:
		/* HTTP/1.1 got reset or close instead (conn_apply_plan). */
		code = rp->h2_code;
		i = rp->conn == FAULT_CONN_GOAWAY;
		reply_free(rp);
		if (i)
			hconn_h2_goaway(c->h, code);
		else
			hconn_h2_reset(c->h, code);
		return;
	case FAULT_CONN_CLOSE:
		reply_free(rp);
		hconn_close_after(c->h);
		return;
	case FAULT_CONN_STALL:
		/* The reply goes out as far as the peer's window lets it;
		 * the stream ends after the idle timeout, as a hang. */
		hconn_set_deadline(c->h, loop_now(c->w->loop) +
		    c->w->r->cfg.idle_timeout_ns);
		hconn_h2_stall(c->h);
		break;
	case FAULT_CONN_SETTINGS_TIMEOUT:
		/* The connection's SETTINGS (or their ACK) never go out; the
		 * stream hangs. */
		hconn_h2_settings_timeout(c->h);
		/* FALLTHROUGH */
	case FAULT_CONN_HANG:
		/* Never answer; closed after the idle timeout. */
		reply_free(rp);
		hconn_hold(c->h, 0);
		hconn_set_deadline(c->h, loop_now(c->w->loop) +
		    c->w->r->cfg.idle_timeout_ns);
		return;
	case FAULT_CONN_CLOSE_AFTER_HEADERS:
		reply_set(rp, 2, NULL, 0, NULL);
		rp->close = 1;
		break;
	case FAULT_CONN_SLOW_HEADERS:
		conn_drip_start(c, rp, 0);
		if (rp->close)
			hconn_close_after(c->h);
		return;
	case FAULT_CONN_DRIP:
		for (i = 0; i < 2; i++)
			hconn_queue(c->h, rp->part[i].p, rp->part[i].len,
			    rp->part[i].owned);
		rp->part[0].owned = rp->part[1].owned = NULL;
		rp->part[0].len = rp->part[1].len = 0;
		conn_drip_start(c, rp, 2);
		if (rp->close)
			hconn_close_after(c->h);
		return;
	default:
		if (rp->nsplit > 0 && rp->part[2].len > 0) {
			conn_msgs_start(c, rp);
			return;
		}
		break;
	}
	for (i = 0; i < 3; i++)
		hconn_queue(c->h, rp->part[i].p, rp->part[i].len,
		    rp->part[i].owned);
	memset(rp->part, 0, sizeof rp->part);
	hconn_stream(c->h, respond_filler, sizeof respond_filler, rp->filler);
	if (rp->close)
		hconn_close_after(c->h);
}

/* Latency served or drip tick. */
static void
conn_timer_cb(struct loop_timer *t)
{
	struct rconn	*c = t->arg;
	struct reply	*rp;
	size_t		 n;

	if (hconn_is_dead(c->h))
		return;
	if (c->held != NULL) {
		rp = c->held;
		c->held = NULL;
		conn_emit(c, rp);
		free(rp);
		if (hconn_is_dead(c->h))
			return;
	} else if (c->msg_n > 0) {
		conn_msgs_next(c);
	} else if (c->ndrip > 0) {
		c->drip_credit += c->drip_bps * RESPOND_DRIP_NS / 1e9;
		while (c->drip_credit >= 1 && c->ndrip > 0) {
			struct out_item *o = &c->drip[0];

			n = (size_t)c->drip_credit;
			if (n >= o->len) {
				/* The last piece carries the ownership. */
				hconn_queue(c->h, o->p, o->len, o->owned);
				c->drip_credit -= (double)o->len;
				memmove(c->drip, c->drip + 1,
				    --c->ndrip * sizeof *c->drip);
			} else {
				hconn_queue(c->h, o->p, n, NULL);
				o->p += n;
				o->len -= n;
				c->drip_credit -= (double)n;
			}
		}
		/* Progress keeps a slow drip alive past the idle timeout. */
		hconn_set_deadline(c->h, loop_now(c->w->loop) +
		    c->w->r->cfg.idle_timeout_ns);
		if (c->ndrip > 0)
			loop_timer_add(c->w->loop, t, RESPOND_DRIP_NS);
		else
			hconn_release(c->h);
	}
	hconn_step(c->h);
}

/*
 * Decides the chaos of one request into *plan (plan_decide).  sig and occ
 * are match_lookup()'s, 0 when nothing matched exactly.  For a request
 * that matched a recorded transaction exactly, the rules whose signature
 * fields (dir, method, host, path, query) match depend only on that
 * transaction and the host, so the worker caches them per (generation,
 * transaction, host): twenty rules that never match cost one lookup, not
 * twenty regexes.
 */
static void
respond_eval_rules(struct worker *w, const struct respond_gen *gen,
    const struct match_entry *e, int exact, const struct http_msg *m,
    const struct match_req *mr, const char *body, size_t body_len,
    uint64_t sig, uint64_t occ, struct plan *plan)
{
	struct responder	*r = w->r;
	struct rule_cache_slot	*slot;
	uint64_t		 host, h;
	/*
	 * A rule's host names the dependency: the recorded host of the
	 * transaction matched (the service calls decoy at decoy's own
	 * address), else what the request says.
	 */
	struct rule_req		 rq = {
		.dir = SNAP_DIR_OUT,
		.host = e != NULL && e->host[0] != '\0' ?
		    span_from_str(e->host) : mr->host,
		.method = m->method, .path = mr->path,
		.query = mr->query, .headers = m->headers,
		.nheaders = m->nheaders, .body = body,
		.body_len = body_len,
	};
	struct rule_ctx		 ctx = {
		.seed = r->seed, .recorded_ns = -1,
		.elapsed_ns = loop_now(w->loop) - gen->loaded_ns,
	};

	if (sig == 0) {
		/*
		 * No recorded signature (unmatched, or answered by the
		 * closest transaction): the request's own fields stand in,
		 * and occurrences are counted in a fixed table, so the same
		 * traffic still gets the same decisions.
		 */
		sig = plan_signature(mr->method, mr->path, mr->query, body,
		    body_len);
		occ = plan_occ_next(&r->miss_occ, sig);
	}
	ctx.sig = sig;
	ctx.occurrence = occ;
	if (e != NULL) {
		ctx.recorded_ns = e->total_us < 0 ? -1 : e->total_us * 1000;
		ctx.samples = e->endpoint_ns;
		ctx.nsamples = e->endpoint_n;
	}
	if (!exact || rule_set_count(gen->rules) > 64) {
		plan_decide(plan, gen->rules, &rq, &ctx, NULL);
		return;
	}
	host = match_hash(MATCH_HASH_INIT, rq.host.p, rq.host.len);
	h = ((uintptr_t)e >> 4) ^ host;
	slot = &w->rule_cache[(h ^ (h >> 17)) % RESPOND_RULE_CACHE];
	if (slot->gen != gen->serial || slot->entry != e ||
	    slot->host != host) {
		slot->gen = gen->serial;
		slot->entry = e;
		slot->host = host;
		slot->mask = rule_set_static_mask(gen->rules, &rq);
	}
	plan_decide(plan, gen->rules, &rq, &ctx, &slot->mask);
}

/*
 * The counters of the request's endpoint (method and the route
 * transform_route() infers from the path) in this worker: found in an
 * open-addressing table, added on first sight while there is room, else
 * the "other" bucket.  No lock: the worker is the only writer.
 */
static struct ep_slot *
respond_endpoint(struct worker *w, struct span method, struct span path)
{
	struct buf	*b = &w->scratch;
	struct ep_slot	*sl;
	uint64_t	 h;
	size_t		 i;
	char		*name;

	buf_reset(b);
	buf_append_span(b, method);
	buf_append_byte(b, '\0');
	transform_route(b, path.p != NULL ? path.p : "", path.len);
	if (b->len > RESPOND_EP_LEN)
		return &w->ep_other;
	h = match_hash(MATCH_HASH_INIT, b->data, b->len);
	for (i = h & (RESPOND_EP_SLOTS - 1);; i = (i + 1) &
	    (RESPOND_EP_SLOTS - 1)) {
		sl = &w->eps[i];
		if (sl->name == NULL)
			break;
		if (sl->hash == h && sl->len == b->len &&
		    memcmp(sl->name, b->data, b->len) == 0)
			return sl;
	}
	if (w->neps >= RESPOND_EP_MAX)
		return &w->ep_other;
	name = xmalloc(b->len + 1);
	memcpy(name, b->data, b->len + 1);
	sl->len = b->len;
	sl->hash = h;
	__atomic_store_n(&sl->name, name, __ATOMIC_RELEASE);
	w->neps++;
	return sl;
}

/* The wall clock in µs. */
static int64_t
respond_wall_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The responder's clock, for replies made live: the wall clock, or one
 * that started at --now and runs from there. */
static int64_t
respond_now_us(const struct responder *r)
{
	return respond_wall_us() + r->clock_offset_us;
}

/* The passthrough options need the passthrough: 0, or -1 with *cause. */
static int
respond_pass_check(const struct respond_config *cfg, char **cause)
{
	if (cfg->unmatched != MATCH_UNMATCHED_PASSTHROUGH &&
	    (cfg->record_misses != NULL || cfg->npass_allow > 0 ||
	    cfg->pass_ca != NULL)) {
		*cause = xstrdup("--record-misses, --passthrough-allow and "
		    "--passthrough-ca need --unmatched passthrough");
		return -1;
	}
	return 0;
}

/*
 * Applies a plan's faults to a reply (plan_render through reply_render),
 * logs them, and returns the latency to serve first.
 */
static uint64_t
conn_apply_plan(struct rconn *c, struct reply *rp, const struct plan *plan,
    const char *txn_id)
{
	struct worker	*w = c->w;

	STAT_INC(w->n_faulted);
	reply_render(rp, plan);
	plan_log(plan, w->r->chaos, txn_id, PLAN_SCOPE_HTTP);
	rp->msg_ns = plan->msg_latency_ns;
	if (plan->conn != FAULT_CONN_NONE) {
		rp->conn = plan->conn;
		rp->bps = plan->drip_bps;
		rp->h2_code = plan->h2_code;
	}
	if (fault_conn_is_h2(plan->conn) && !hconn_is_h2(c->h)) {
		/* HTTP/1.1 has no streams: the closest fault, logged. */
		static const enum fault_conn	near[] = { FAULT_CONN_RESET,
						    FAULT_CONN_CLOSE,
						    FAULT_CONN_HANG,
						    FAULT_CONN_HANG };
		char				params[64];

		rp->conn = near[plan->conn - FAULT_CONN_RST_STREAM];
		snprintf(params, sizeof params, "{\"instead_of\":\"%s\"}",
		    fault_conn_name(plan->conn));
		chaos_log_fault(w->r->chaos, txn_id, plan->sig,
		    plan->occurrence, plan->conn_rule,
		    fault_conn_name(rp->conn), params);
	}
	return plan->latency_ns;
}

/*
 * Ends a reply: no body for HEAD, the connection header, then out now or
 * held for latency (conn_timer_cb emits it).
 */
static void
conn_reply_finish(struct rconn *c, struct reply *rp, uint64_t latency,
    int head_only, int keep)
{
	struct reply	*held;

	if (head_only) {
		reply_set(rp, 2, NULL, 0, NULL);
		rp->filler = 0;
	}
	if (!keep || rp->close) {
		reply_set(rp, 1, "Connection: close\r\n\r\n", 21, NULL);
		rp->close = 1;
	} else
		reply_set(rp, 1, "\r\n", 2, NULL);
	if (latency == 0) {
		conn_emit(c, rp);
		return;
	}
	held = xmalloc(sizeof *held);
	*held = *rp;
	c->held = held;
	hconn_hold(c->h, 1);
	loop_timer_add(c->w->loop, &c->timer, latency);
}

/*
 * The passthrough's answer (or its 502): the reply, with the chaos the
 * rules decided for the request applied to it as to a recorded reply,
 * once the hold ends.
 */
static void
conn_pass_done(void *arg, struct buf *head, struct buf *body)
{
	struct rconn	*c = arg;
	struct reply	 rp;
	uint64_t	 latency = 0;

	c->pass = NULL;
	memset(&rp, 0, sizeof rp);
	rp.ready_ns = c->pass_ready_ns;
	reply_set_buf(&rp, 0, head);
	reply_set_buf(&rp, 2, body);
	if (c->pass_plan != NULL) {
		latency = conn_apply_plan(c, &rp, c->pass_plan, "-");
		free(c->pass_plan);
		c->pass_plan = NULL;
	}
	conn_reply_finish(c, &rp, latency, c->pass_head, c->pass_keep);
	if (!c->pass_starting && !hconn_is_dead(c->h) && c->held == NULL)
		hconn_step(c->h);
}

/*
 * --unmatched passthrough: forwards a miss to its dependency when the
 * host is allowed, holding the connection until the answer.  0 when the
 * reply is taken care of, -1 when the host is not allowed (the miss is
 * answered as usual).
 */
static int
conn_pass(struct rconn *c, const struct respond_gen *gen,
    const struct http_msg *m, const struct match_req *mr, const char *body,
    size_t body_len, uint64_t ready_ns, int keep, const struct plan *plan)
{
	struct responder	*r = c->w->r;

	if (!respond_pass_allowed(r->pass, mr->host,
	    match_has_host(gen->index, mr->host))) {
		log_debug("passthrough: %.*s not allowed", (int)mr->host.len,
		    mr->host.p);
		return -1;
	}
	c->pass_keep = keep;
	c->pass_head = span_eq_str(m->method, "HEAD");
	if (plan != NULL && plan->nhits > 0) {
		c->pass_plan = xmalloc(sizeof *c->pass_plan);
		*c->pass_plan = *plan;
	}
	c->pass_ready_ns = ready_ns;
	c->pass_starting = 1;
	hconn_hold(c->h, 1);
	c->pass = respond_pass_start(r->pass, c->w->loop, m, body, body_len,
	    c->odst[0] != '\0' ? c->odst : NULL,
	    r->cfg.tls || span_caseeq_str(m->scheme, "https"), conn_pass_done,
	    c);
	c->pass_starting = 0;
	return 0;
}

/* Queues (or holds) the reply to one complete request. */
static void
conn_reply(struct hconn *hc, const struct http_msg *m, const char *body,
    size_t body_len, uint64_t ready_ns)
{
	struct rconn			*c = hconn_data(hc);
	struct worker			*w = c->w;
	struct responder		*r = w->r;
	struct respond_gen		*gen;
	const struct match_entry	*e;
	struct match_req		 mr;
	struct plan			 plan;
	struct ep_slot			*ep;
	struct reply			 rp;
	uint64_t			 sig = 0, occ = 0, latency = 0;
	size_t				 nhits = 0;
	int				 head_only, keep, exact;

	gen = conn_gen(c);
	STAT_INC(w->n_requests);
	keep = m->keep_alive && !w->draining;
	head_only = span_eq_str(m->method, "HEAD");
	match_req_from_http(&mr, m, body, body_len);
	if (c->odst[0] != '\0' && !match_has_host(gen->index, mr.host)) {
		/* The request does not name a recorded dependency: where
		 * it was going does. */
		const char *h = match_server_host(gen->index, c->odst);

		if (h != NULL)
			mr.host = span_from_str(h);
	}
	e = match_lookup(gen->index, &mr, &sig, &occ);
	exact = e != NULL;
	ep = respond_endpoint(w, m->method, mr.path);
	if (e != NULL) {
		STAT_INC(w->n_matched);
		STAT_INC(ep->matched);
	} else if (r->cfg.unmatched == MATCH_UNMATCHED_CLOSEST &&
	    (e = match_closest(gen->index, &mr)) != NULL) {
		STAT_INC(w->n_closest);
		STAT_INC(ep->closest);
	} else
		STAT_INC(ep->unmatched);
	if (rule_set_count(gen->rules) > 0) {
		respond_eval_rules(w, gen, e, exact, m, &mr, body, body_len,
		    sig, occ, &plan);
		nhits = plan.nhits;
	}
	if (e == NULL && r->pass != NULL && conn_pass(c, gen, m, &mr, body,
	    body_len, ready_ns, keep, nhits > 0 ? &plan : NULL) == 0)
		return;

	if (nhits == 0 && e != NULL && e->live == NULL) {
		/* The fast path: the pre-serialised reply, one writev. */
		hconn_queue(hc, e->head, e->head_len, NULL);
		if (keep)
			hconn_queue(hc, "\r\n", 2, NULL);
		else
			hconn_queue(hc, "Connection: close\r\n\r\n", 21, NULL);
		if (!head_only)
			hconn_queue(hc, e->body, e->body_len, NULL);
		conn_delay_histogram(w, loop_now(w->loop) - ready_ns);
		if (!keep)
			hconn_close_after(hc);
		return;
	}

	memset(&rp, 0, sizeof rp);
	rp.ready_ns = ready_ns;
	if (e != NULL && e->live != NULL) {
		/* Replies made live: rendered for this request and now. */
		struct buf	lh, lb;

		buf_init(&lh);
		buf_init(&lb);
		match_live_render(e, &mr, respond_now_us(r), &lh, &lb);
		reply_set_buf(&rp, 0, &lh);
		reply_set_buf(&rp, 2, &lb);
	} else if (e != NULL) {
		reply_set(&rp, 0, e->head, e->head_len, NULL);
		reply_set(&rp, 2, e->body, e->body_len, NULL);
	} else {
		STAT_INC(w->n_missed);
		reply_miss(&rp, gen->index, &mr);
	}
	if (nhits > 0)
		latency = conn_apply_plan(c, &rp, &plan, e != NULL ? e->id :
		    "-");
	conn_reply_finish(c, &rp, latency, head_only, keep);
}

/*
 * --transparent: notes where a redirected connection was going.  A
 * connection that was not redirected (its original destination is the
 * local address) has none; it is served like any other.
 */
static void
respond_original_dst(struct rconn *c, int fd)
{
	struct sock_addr	dst, local;

	c->odst[0] = '\0';
	if (fd == -1 || sock_original_dst(fd, &dst) == -1 ||
	    (sock_local_addr(fd, &local) == 0 &&
	    sock_addr_equal(&dst, &local)))
		return;
	sock_addr_str(&dst, c->odst, sizeof c->odst);
}

/* httpd accepted a connection: its reply state. */
static int
conn_accepted(struct hconn *h)
{
	struct worker	*w = httpd_arg(hconn_httpd(h));
	struct rconn	*c = xcalloc(1, sizeof *c);

	c->h = h;
	c->w = w;
	if (w->r->cfg.transparent)
		respond_original_dst(c, hconn_fd(h));
	loop_timer_init(&c->timer, conn_timer_cb, c);
	hconn_set_data(h, c);
	return 0;
}

/*
 * accept(2) failed for want of descriptors (EMFILE, ENFILE) or memory, or
 * for a reason that may well repeat: httpd pauses the listener while the
 * open connections are served (new ones wait in the backlog); one line
 * per interval for all workers, with a count.
 */
static void
conn_accept_failed(struct httpd *hd, int err, uint64_t pause_ns)
{
	struct worker		*w = httpd_arg(hd);
	struct responder	*r = w->r;
	struct httpd_stats	 st;
	struct rlimit		 rl;
	uint64_t		 n, open = 0;
	size_t			 i;

	pthread_mutex_lock(&r->log_lock);
	n = log_every_count(&r->accept_log, 1, loop_now(w->loop),
	    RESPOND_LOG_INTERVAL_NS);
	pthread_mutex_unlock(&r->log_lock);
	if (n == 0)
		return;
	for (i = 0; i < r->nworkers; i++) {
		httpd_stats(r->workers[i].httpd, &st);
		open += st.open;
	}
	if (sock_accept_is_exhausted(err) && getrlimit(RLIMIT_NOFILE,
	    &rl) == 0)
		log_warn("accept: %s (%llu connections open, open-file limit "
		    "%llu): new connections wait %llums at a time; %llu time%s "
		    "since the last report", strerror(err),
		    (unsigned long long)open, (unsigned long long)rl.rlim_cur,
		    (unsigned long long)(pause_ns / 1000000),
		    (unsigned long long)n, n == 1 ? "" : "s");
	else
		log_warn("accept: %s: new connections wait %llums at a time; "
		    "%llu time%s since the last report", strerror(err),
		    (unsigned long long)(pause_ns / 1000000),
		    (unsigned long long)n, n == 1 ? "" : "s");
}

/* In struct httpd_role order (httpd.h). */
static const struct httpd_role respond_role = { conn_reply, conn_reject,
	conn_accepted, conn_freed, conn_drained, conn_over_budget,
	conn_accept_failed };

static void
worker_drain_timeout_cb(struct loop_timer *t)
{
	struct worker	*w = t->arg;

	loop_stop(w->loop);
}

/*
 * A worker that serves no request still follows reloads, so that the
 * generations it holds are released: one pointer comparison per tick
 * while nothing changes.
 */
static void
worker_gen_tick_cb(struct loop_timer *t)
{
	struct worker	*w = t->arg;

	worker_gen_refresh(w);
	loop_timer_add(w->loop, t, RESPOND_GEN_TICK_NS);
}

static void *
worker_main(void *arg)
{
	struct worker		*w = arg;
	struct hconn		*h, *next;
	struct loop_timer	 drain, tick;

	loop_timer_init(&tick, worker_gen_tick_cb, w);
	loop_timer_add(w->loop, &tick, RESPOND_GEN_TICK_NS);
	if (loop_run(w->loop) == -1)
		log_error("worker %zu: event loop failed", w->id);
	loop_timer_del(w->loop, &tick);

	/* Drain: no new connections, idle ones closed, busy ones finish. */
	w->draining = 1;
	httpd_unlisten(w->httpd);
	if (httpd_drain(w->httpd) > 0) {
		loop_timer_init(&drain, worker_drain_timeout_cb, w);
		loop_timer_add(w->loop, &drain, RESPOND_DRAIN_NS);
		loop_run(w->loop);
		loop_timer_del(w->loop, &drain);
	}
	for (h = httpd_first(w->httpd); h != NULL; h = next) {
		next = hconn_next(h);
		hconn_close(h);
	}
	/* Free the connections closed above. */
	loop_run_deferred(w->loop);
	return NULL;
}

/* --- set-up ----------------------------------------------------------- */

/*
 * Loads the transforms file (tf_path NULL: none) into *tf and the
 * snapshot into a new index that applies them.  The index uses *tf:
 * free them together.
 */
/*
 * Loading.  The snapshot is read a few MiB of whole lines at a time; the
 * chunks are decoded and made ready for the index (match_index_prepare)
 * by one thread per usable CPU while the next ones are read, and
 * committed in recorded order by the loading thread, so the index and
 * every message are what a sequential load gives.
 */
#define RESPOND_LOAD_CHUNK	((size_t)4 << 20)
/* The last chunks are cut smaller, down to this, so the threads finish
 * together: each is a quarter of what is left per thread. */
#define RESPOND_LOAD_CHUNK_MIN	((size_t)256 << 10)
#ifndef RESPOND_LOAD_THREADS
#define RESPOND_LOAD_THREADS	8
#endif

struct load_job {
	struct snap_chunk	 chunk;
	char			*preps;		/* match_prep_size() each */
	size_t			 nprep;
	size_t			 capprep;
	size_t			 nread;
	size_t			 nin;
	size_t			 skipped;
	enum rule_reach		*reach;		/* the rules over the chunk */
	char			*cause;		/* rv -1: the chunk's error */
	int			 counted;	/* chunk.nlines is known */
	int			 based;		/* chunk.first is known */
	int			 rv;
	int			 done;
};

struct load_ctx {
	pthread_mutex_t		 lock;
	pthread_cond_t		 work;		/* a job queued, or quit */
	pthread_cond_t		 done;		/* a job finished */
	struct load_job		**ring;
	struct load_job		**pool;		/* jobs to reuse */
	size_t			 npool;
	size_t			 psize;		/* match_prep_size() */
	size_t			 cap;
	size_t			 head;		/* oldest not committed */
	size_t			 next;		/* next to decode */
	size_t			 tail;		/* next free */
	/* Line numbers: the jobs before job bseq are counted, and hold
	 * blines lines. */
	size_t			 bseq;
	size_t			 blines;
	int			 threaded;
	int			 quit;
	/* The loading threads' time, summed when they end (-v): running,
	 * runnable but waiting for a CPU, and in all. */
	uint64_t		 run_ns;
	uint64_t		 queue_ns;
	uint64_t		 wall_ns;
	/* The loading thread's (-v): when it started, cut the first chunk
	 * and found the end; its time waiting for a chunk, its CPU seconds
	 * cutting and committing. */
	uint64_t		 t0;
	uint64_t		 tfirst;
	uint64_t		 tlast;
	uint64_t		 wait_ns;
	double			 cut_s;
	double			 commit_s;
	const struct match_index *idx;
	const char		*path;
	const struct rule_set	*rules;		/* judged as lines are read */
	size_t			 nrules;
	enum rule_reach		*reach;		/* over the committed jobs */
	/* What the committed jobs read, and the first chunk's error. */
	size_t			 nread;
	size_t			 nin;
	size_t			 skipped;
	char			*ccause;
};

static struct match_prep *
load_job_prep(struct load_ctx *lc, struct load_job *job, size_t i)
{
	return (struct match_prep *)(void *)(job->preps + i * lc->psize);
}

/*
 * Counts job's lines and waits for its first line number: the sum of the
 * counts of the chunks before it, which the threads that took them (in
 * order, each counting first) publish as they come.  The count is the
 * chunk's first pass over its bytes: this thread takes its page faults.
 */
static void
load_job_base(struct load_ctx *lc, struct load_job *job)
{
	struct load_job	*j;
	size_t		 n = snap_chunk_count(&job->chunk);

	if (!lc->threaded) {
		job->chunk.first = lc->blines;
		lc->blines += n;
		return;
	}
	pthread_mutex_lock(&lc->lock);
	job->counted = 1;
	while (lc->bseq < lc->tail &&
	    (j = lc->ring[lc->bseq % lc->cap])->counted) {
		j->chunk.first = lc->blines;
		j->based = 1;
		lc->blines += j->chunk.nlines;
		lc->bseq++;
		pthread_cond_broadcast(&lc->done);
	}
	while (!job->based)
		pthread_cond_wait(&lc->done, &lc->lock);
	pthread_mutex_unlock(&lc->lock);
}

static void
load_job_run(struct load_ctx *lc, struct load_job *job)
{
	struct snap_txn		 t;
	char			*why;
	int			 rv;

	load_job_base(lc, job);
	if (lc->nrules > 0 && job->reach == NULL)
		job->reach = xcalloc(lc->nrules, sizeof *job->reach);
	while ((rv = snap_chunk_next(&job->chunk, &t, &job->cause)) == 1) {
		job->nread++;
		if (lc->nrules > 0)
			rule_check_txn(lc->rules, &t, job->reach);
		if (t.dir != SNAP_DIR_OUT)
			job->nin++;
		else {
			if (job->nprep == job->capprep) {
				job->capprep = job->capprep == 0 ? 1024 :
				    job->capprep * 2;
				job->preps = xreallocarray(job->preps,
				    job->capprep, lc->psize);
			}
			if (match_index_prepare(lc->idx, &t, load_job_prep(lc,
			    job, job->nprep), &why) == -1) {
				log_warn("%s:%zu: skipped: %s", lc->path,
				    t.line, why);
				free(why);
				job->skipped++;
			} else
				job->nprep++;
		}
		snap_txn_free(&t);
	}
	job->rv = rv;
}

/* The calling thread's time on a CPU and waiting for one, in ns, from
 * /proc/thread-self/schedstat (0 where it cannot be read). */
static void
load_schedstat(uint64_t *run, uint64_t *queue)
{
	char			 b[128];
	unsigned long long	 r = 0, q = 0;
	FILE			*f;

	if ((f = fopen("/proc/thread-self/schedstat", "r")) != NULL) {
		if (fgets(b, sizeof b, f) == NULL ||
		    sscanf(b, "%llu %llu", &r, &q) != 2)
			r = q = 0;
		fclose(f);
	}
	*run = r;
	*queue = q;
}

static void *
load_thread(void *arg)
{
	struct load_ctx	*lc = arg;
	struct load_job	*job;
	uint64_t	 t0 = loop_clock_ns(), r0, q0, r1, q1;

	load_schedstat(&r0, &q0);
	pthread_mutex_lock(&lc->lock);
	for (;;) {
		while (!lc->quit && lc->next == lc->tail)
			pthread_cond_wait(&lc->work, &lc->lock);
		if (lc->next == lc->tail)
			break;
		job = lc->ring[lc->next++ % lc->cap];
		pthread_mutex_unlock(&lc->lock);
		load_job_run(lc, job);
		pthread_mutex_lock(&lc->lock);
		job->done = 1;
		pthread_cond_broadcast(&lc->done);
	}
	load_schedstat(&r1, &q1);
	lc->run_ns += r1 - r0;
	lc->queue_ns += q1 - q0;
	lc->wall_ns += loop_clock_ns() - t0;
	pthread_mutex_unlock(&lc->lock);
	return NULL;
}

/* Empties a job for reuse: its chunk and prep buffers stay. */
static void
load_job_reset(struct load_ctx *lc, struct load_job *job)
{
	size_t	i;

	for (i = 0; i < job->nprep; i++)
		match_prep_free(load_job_prep(lc, job, i));
	job->nprep = job->nread = job->nin = job->skipped = 0;
	if (job->reach != NULL)
		memset(job->reach, 0, lc->nrules * sizeof *job->reach);
	free(job->cause);
	job->cause = NULL;
	job->rv = job->done = job->counted = job->based = 0;
	job->chunk.len = job->chunk.off = 0;
}

static void
load_job_free(struct load_ctx *lc, struct load_job *job)
{
	load_job_reset(lc, job);
	free(job->reach);
	free(job->preps);
	snap_chunk_free(&job->chunk);
	free(job);
}

/*
 * Appends a finished job's entries to idx in recorded order (the index
 * as a serial load gives it), unless an earlier chunk failed, and keeps
 * the job for reuse.
 */
static void
load_job_commit(struct load_ctx *lc, struct match_index *idx,
    struct load_job *job)
{
	size_t	i;

	if (lc->ccause == NULL) {
		for (i = 0; i < job->nprep; i++)
			match_index_commit(idx, load_job_prep(lc, job, i));
		job->nprep = 0;
		lc->nread += job->nread;
		lc->nin += job->nin;
		lc->skipped += job->skipped;
		if (job->reach != NULL)
			rule_check_merge(lc->reach, job->reach, lc->nrules);
		if (job->rv == -1) {
			lc->ccause = job->cause;
			job->cause = NULL;
		}
	}
	if (lc->npool <= lc->cap) {
		load_job_reset(lc, job);
		lc->pool[lc->npool++] = job;
	} else
		load_job_free(lc, job);
}

/* Stops the load threads and frees the jobs and the context's locks. */
static void
load_stop(struct load_ctx *lc, pthread_t *threads, size_t started)
{
	size_t	i;

	pthread_mutex_lock(&lc->lock);
	lc->quit = 1;
	pthread_cond_broadcast(&lc->work);
	pthread_mutex_unlock(&lc->lock);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(lc->ring);
	for (i = 0; i < lc->npool; i++)
		load_job_free(lc, lc->pool[i]);
	free(lc->pool);
	pthread_cond_destroy(&lc->work);
	pthread_cond_destroy(&lc->done);
	pthread_mutex_destroy(&lc->lock);
}

/* How much of the snapshot to cut next: RESPOND_LOAD_CHUNK until the
 * mapped rest is short, then less, so the last chunks end together. */
static size_t
respond_load_want(struct snap_reader *sr, size_t threads)
{
	size_t	left = snap_reader_left(sr), want;

	if (left == 0)		/* not mapped: read as it comes */
		return RESPOND_LOAD_CHUNK;
	want = left / (4 * (threads == 0 ? 1 : threads));
	if (want > RESPOND_LOAD_CHUNK)
		want = RESPOND_LOAD_CHUNK;
	if (want < RESPOND_LOAD_CHUNK_MIN)
		want = RESPOND_LOAD_CHUNK_MIN;
	return want;
}

/* The CPU time used, in seconds: by the process (threads included) with
 * CLOCK_PROCESS_CPUTIME_ID, by the calling thread with
 * CLOCK_THREAD_CPUTIME_ID. */
static double
respond_cpu_clock_s(clockid_t clock)
{
	struct timespec	ts;

	if (clock_gettime(clock, &ts) == -1)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
respond_cpu_s(void)
{
	return respond_cpu_clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static double
respond_thread_cpu_s(void)
{
	return respond_cpu_clock_s(CLOCK_THREAD_CPUTIME_ID);
}

/*
 * Cuts chunks of sr for the loading threads (or decodes them here when
 * none started) and commits them to idx in order, until the end, a read
 * error (*rcause) or a chunk's error (lc->ccause).
 */
static void
load_run(struct load_ctx *lc, struct match_index *idx,
    struct snap_reader *sr, size_t started, char **rcause)
{
	struct load_job	*job;
	uint64_t	 tw;
	double		 tc;
	int		 eof = 0, rv;

	for (;;) {
		while (!eof && *rcause == NULL && lc->ccause == NULL &&
		    lc->tail - lc->head < lc->cap) {
			job = lc->npool > 0 ? lc->pool[--lc->npool] :
			    xcalloc(1, sizeof *job);
			tc = respond_thread_cpu_s();
			rv = snap_reader_chunk(sr, respond_load_want(sr,
			    started), &job->chunk, rcause);
			lc->cut_s += respond_thread_cpu_s() - tc;
			if (lc->tfirst == 0)
				lc->tfirst = loop_clock_ns();
			if (rv != 1) {
				load_job_free(lc, job);
				eof = 1;
				lc->tlast = loop_clock_ns();
				break;
			}
			if (started == 0) {
				load_job_run(lc, job);
				job->done = 1;
			}
			pthread_mutex_lock(&lc->lock);
			lc->ring[lc->tail++ % lc->cap] = job;
			pthread_cond_signal(&lc->work);
			pthread_mutex_unlock(&lc->lock);
		}
		if (lc->head == lc->tail)
			break;
		job = lc->ring[lc->head % lc->cap];
		tw = loop_clock_ns();
		pthread_mutex_lock(&lc->lock);
		while (!job->done)
			pthread_cond_wait(&lc->done, &lc->lock);
		lc->head++;
		pthread_mutex_unlock(&lc->lock);
		lc->wait_ns += loop_clock_ns() - tw;
		tc = respond_thread_cpu_s();
		load_job_commit(lc, idx, job);
		lc->commit_s += respond_thread_cpu_s() - tc;
	}
}

/* respond -v: where the reading and preparing went, up to t1. */
static void
load_log(const struct load_ctx *lc, size_t started, uint64_t t1)
{
	if (started > 0)
		log_debug("%s: decoding threads: %.2f s running, %.2f s "
		    "waiting for a CPU, %.2f s blocked (summed over %zu)",
		    lc->path, (double)lc->run_ns / 1e9,
		    (double)lc->queue_ns / 1e9, (double)(lc->wall_ns -
		    lc->run_ns - lc->queue_ns) / 1e9, started);
	log_debug("%s: loading thread: first chunk cut after %.3f s, %.2f "
	    "CPU s cutting, %.2f CPU s committing, %.2f s waiting for a "
	    "chunk; after the last chunk was cut, %.3f s to the last commit",
	    lc->path, (double)(lc->tfirst - lc->t0) / 1e9, lc->cut_s,
	    lc->commit_s, (double)lc->wait_ns / 1e9,
	    (double)(t1 - lc->tlast) / 1e9);
}

/* "FILE: no dir "out" transaction with a response (what it holds)". */
static char *
respond_empty_cause(const char *path, size_t nread, size_t nin,
    size_t skipped)
{
	const char	*name = strcmp(path, "-") == 0 ? "<stdin>" : path;

	if (nread == 0)
		return xasprintf("%s: no dir \"out\" transaction with a "
		    "response (0 transactions read)", name);
	if (nin == nread)
		return xasprintf("%s: no dir \"out\" transaction with a "
		    "response (%zu transaction%s read, all dir \"in\")", name,
		    nread, nread == 1 ? "" : "s");
	return xasprintf("%s: no dir \"out\" transaction with a response "
	    "(%zu transaction%s read: %zu dir \"in\", %zu dir \"out\" "
	    "skipped)", name, nread, nread == 1 ? "" : "s", nin, skipped);
}

/*
 * Loads the snapshot at path into a new index.  Each rule of rules is
 * judged against the transactions as they are decoded: reach (room for
 * rule_set_count(rules)) gets each one's rule_reach() over them all, for
 * rule_check_report(), without a second read.
 */
static struct match_index *
respond_load(const char *path, const char *tf_path, int allow_empty,
    const struct rule_set *rules, enum rule_reach *reach,
    struct transforms **tf, char **cause)
{
	struct snap_reader	*sr;
	struct match_index	*idx;
	struct load_ctx		 lc;
	pthread_t		 threads[RESPOND_LOAD_THREADS];
	size_t			 nthreads, started = 0, i;
	size_t			 skipped = 0, nread = 0, nin = 0;
	char			*rcause = NULL, *ccause = NULL;
	uint64_t		 t0 = loop_clock_ns(), t1, tw;
	double			 c0 = respond_cpu_s(), c1, tc;

	*tf = NULL;
	if (tf_path != NULL &&
	    (*tf = transforms_load(tf_path, 1, cause)) == NULL)
		return NULL;
	if ((sr = snap_reader_open(path, cause)) == NULL) {
		transforms_free(*tf);
		*tf = NULL;
		return NULL;
	}
	idx = match_index_create();
	match_index_set_transforms(idx, *tf);

	memset(&lc, 0, sizeof lc);
	pthread_mutex_init(&lc.lock, NULL);
	pthread_cond_init(&lc.work, NULL);
	pthread_cond_init(&lc.done, NULL);
	lc.idx = idx;
	lc.path = path;
	lc.rules = rules;
	lc.nrules = rule_set_count(rules);
	lc.reach = reach;
	memset(reach, 0, lc.nrules * sizeof *reach);
	lc.psize = match_prep_size();
	nthreads = (size_t)cpus_usable();
	if (nthreads > RESPOND_LOAD_THREADS)
		nthreads = RESPOND_LOAD_THREADS;
	/* One CPU: decode on this thread, between reads. */
	if (nthreads < 2)
		nthreads = 0;
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&threads[i], NULL, load_thread, &lc) != 0)
			break;
		started++;
	}
	lc.threaded = started > 0;
	lc.cap = 2 * (started == 0 ? 1 : started) + 1;
	lc.ring = xcalloc(lc.cap, sizeof *lc.ring);
	/* Jobs and their buffers are reused: megabytes freed and
	 * allocated again every chunk fragment the heap the index grows
	 * in. */
	lc.pool = xcalloc(lc.cap + 1, sizeof *lc.pool);

	lc.t0 = t0;
	load_run(&lc, idx, sr, started, &rcause);
	load_stop(&lc, threads, started);
	snap_reader_close(sr);
	ccause = lc.ccause;
	nread = lc.nread;
	nin = lc.nin;
	skipped = lc.skipped;

	/* The earliest error: a chunk's comes before a later read's. */
	if (ccause != NULL || rcause != NULL) {
		*cause = ccause != NULL ? ccause : rcause;
		free(ccause != NULL ? rcause : NULL);
		match_index_free(idx);
		transforms_free(*tf);
		*tf = NULL;
		return NULL;
	}
	if (match_index_count(idx) == 0 && !allow_empty) {
		*cause = respond_empty_cause(path, nread, nin, skipped);
		match_index_free(idx);
		transforms_free(*tf);
		*tf = NULL;
		return NULL;
	}
	t1 = loop_clock_ns();
	c1 = respond_cpu_s();
	load_log(&lc, started, t1);
	match_index_finish(idx, cpus_usable());
	tw = loop_clock_ns();
	tc = respond_cpu_s();
	/* What loading and finishing freed (scratch arrays, the loading
	 * threads' heaps): its pages back. */
	malloc_trim(0);
	log_debug("%s: %zu transactions read and prepared in %.2f s (%.2f CPU "
	    "s) on %zu threads, index built in %.2f s (%.2f CPU s), "
	    "malloc_trim %.3f s (%.3f CPU s)", path,
	    nread, (double)(t1 - t0) / 1e9, c1 - c0, started,
	    (double)(tw - t1) / 1e9, tc - c1,
	    (double)(loop_clock_ns() - tw) / 1e9, respond_cpu_s() - tc);
	if (skipped > 0)
		log_warn("%s: %zu transactions skipped", path, skipped);
	return idx;
}

static void
respond_filler_init(void)
{
	memset(respond_filler, 'x', sizeof respond_filler);
}

static char **
respond_strv_dup(char *const *v, size_t n)
{
	char	**d;
	size_t	  i;

	d = xcalloc(n == 0 ? 1 : n, sizeof *d);
	for (i = 0; i < n; i++)
		d[i] = xstrdup(v[i]);
	return d;
}

static char *
respond_str_dup(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

/* A deep copy: the responder owns its configuration. */
static void
respond_config_copy(struct respond_config *d, const struct respond_config *s)
{
	*d = *s;
	d->snapshot = respond_str_dup(s->snapshot);
	d->proto_set = respond_str_dup(s->proto_set);
	d->transforms = respond_str_dup(s->transforms);
	d->port_file = respond_str_dup(s->port_file);
	d->listen = respond_strv_dup(s->listen, s->nlisten);
	d->rules = respond_strv_dup(s->rules, s->nrules);
	d->chaos_log = respond_str_dup(s->chaos_log);
	d->admin = respond_str_dup(s->admin);
	d->admin_token = respond_str_dup(s->admin_token);
	d->admin_port_file = respond_str_dup(s->admin_port_file);
	d->ca_dir = respond_str_dup(s->ca_dir);
	d->pass_allow = respond_strv_dup(s->pass_allow, s->npass_allow);
	d->record_misses = respond_str_dup(s->record_misses);
	d->pass_ca = respond_str_dup(s->pass_ca);
}

/*
 * Loads the snapshot and the rule files of the configuration into a new
 * generation; the seed is --seed, else the first rule file's, else 0
 * (kept from the first load: a reload does not change it).
 */
static struct respond_gen *
respond_gen_load(struct responder *r, char **cause)
{
	struct respond_gen	*gen;
	enum rule_reach		*reach;
	uint64_t		 seed = 0;
	int			 has_seed = 0;

	gen = xcalloc(1, sizeof *gen);
	gen->loaded_ns = loop_clock_ns();
	gen->rules = rule_set_load((const char *const *)r->cfg.rules,
	    r->cfg.nrules, &seed, &has_seed, cause);
	if (gen->rules == NULL) {
		free(gen);
		return NULL;
	}
	reach = xcalloc(rule_set_count(gen->rules) + 1, sizeof *reach);
	if ((gen->index = respond_load(r->cfg.snapshot, r->cfg.transforms,
	    r->cfg.allow_empty, gen->rules, reach, &gen->transforms,
	    cause)) == NULL) {
		free(reach);
		rule_set_free(gen->rules);
		free(gen);
		return NULL;
	}
	rule_check_report(gen->rules, r->cfg.snapshot, reach);
	free(reach);
	gen->data = xcalloc(1, sizeof *gen->data);
	atomic_init(&gen->data->refs, 1);
	gen->data->index = gen->index;
	gen->data->transforms = gen->transforms;
	atomic_init(&gen->refs, 1);
	gen->serial = ++r->gen_serial;
	if (atomic_load(&r->gen) == NULL)
		r->seed = r->cfg.has_seed ? r->cfg.seed : (has_seed ? seed : 0);
	return gen;
}

/* Publishes gen (taking over the caller's reference) and drops the
 * publication's reference to the one it replaces, which is freed once no
 * worker uses it.  Called with edit_lock held. */
static void
respond_publish(struct responder *r, struct respond_gen *gen)
{
	struct respond_gen	*old;

	pthread_mutex_lock(&r->gen_lock);
	old = atomic_load_explicit(&r->gen, memory_order_relaxed);
	atomic_store_explicit(&r->gen, gen, memory_order_release);
	pthread_mutex_unlock(&r->gen_lock);
	atomic_store(&r->count, match_index_count(gen->index));
	respond_gen_unref(old);
}

int
respond_rules_edit(struct responder *r, respond_rules_cb fn, void *arg,
    char **cause)
{
	struct respond_gen	*cur, *gen;
	struct rule_set		*rules;

	*cause = NULL;
	pthread_mutex_lock(&r->edit_lock);
	cur = atomic_load(&r->gen);
	if ((rules = fn(cur->rules, arg, cause)) == NULL) {
		pthread_mutex_unlock(&r->edit_lock);
		return *cause != NULL ? -1 : 0;
	}
	gen = xcalloc(1, sizeof *gen);
	atomic_init(&gen->refs, 1);
	gen->serial = ++r->gen_serial;
	gen->data = cur->data;
	atomic_fetch_add(&gen->data->refs, 1);
	gen->index = cur->index;
	gen->transforms = cur->transforms;
	gen->rules = rules;
	gen->loaded_ns = cur->loaded_ns;
	respond_publish(r, gen);
	pthread_mutex_unlock(&r->edit_lock);
	return 0;
}

int
respond_reload(struct responder *r, char **cause)
{
	struct respond_gen	*gen;
	size_t			 n, nrules;

	pthread_mutex_lock(&r->edit_lock);
	if ((gen = respond_gen_load(r, cause)) == NULL) {
		pthread_mutex_unlock(&r->edit_lock);
		return -1;
	}
	n = match_index_count(gen->index);
	nrules = rule_set_count(gen->rules);
	respond_publish(r, gen);
	pthread_mutex_unlock(&r->edit_lock);
	log_info("reloaded: %zu recorded transactions, %zu rules", n, nrules);
	return 0;
}

void
respond_stats(struct responder *r, struct respond_stats *st)
{
	struct httpd_stats hs;
	struct worker	*w;
	uint64_t	 sum_ns = 0;
	size_t		 i, j;

	memset(st, 0, sizeof *st);
	for (i = 0; i < r->nworkers; i++) {
		w = &r->workers[i];
		st->requests += STAT_GET(w->n_requests);
		st->matched += STAT_GET(w->n_matched);
		st->closest += STAT_GET(w->n_closest);
		st->unmatched += STAT_GET(w->n_missed);
		httpd_stats(w->httpd, &hs);
		st->rejected += STAT_GET(w->n_bad) + hs.tls_failed;
		st->faulted += STAT_GET(w->n_faulted);
		st->connections += hs.connections;
		st->open += hs.open;
		st->accept_errors += hs.accept_errors;
		st->output_queued += hs.out_mem;
		st->output_throttled += hs.throttled;
		st->head_timeouts += hs.head_timeouts;
		st->body_timeouts += hs.body_timeouts;
		for (j = 0; j < RESPOND_NBUCKETS; j++)
			st->buckets[j] += STAT_GET(w->buckets[j]);
		sum_ns += STAT_GET(w->delay_sum_ns);
	}
	st->output_budget = r->out_budget;
	st->latency_sum = (double)sum_ns / 1e9;
	st->uptime_ns = loop_clock_ns() - r->start_ns;
}

static int
respond_endpoint_cmp(const void *a, const void *b)
{
	const struct respond_endpoint	*x = a, *y = b;
	int				 c;

	if ((c = strcmp(x->method, y->method)) != 0)
		return c;
	return strcmp(x->route, y->route);
}

size_t
respond_endpoints(struct responder *r, struct respond_endpoint **out)
{
	struct respond_endpoint	*v = NULL, *d;
	struct ep_slot		*sl;
	struct worker		*w;
	size_t			 n = 0, cap = 0, i, j, k;
	uint64_t		 other[3] = { 0, 0, 0 };
	const char		*name;

	for (i = 0; i < r->nworkers; i++) {
		w = &r->workers[i];
		if (w->eps == NULL)
			continue;
		for (j = 0; j < RESPOND_EP_SLOTS; j++) {
			sl = &w->eps[j];
			if ((name = __atomic_load_n(&sl->name,
			    __ATOMIC_ACQUIRE)) == NULL)
				continue;
			if (n == cap) {
				cap = cap == 0 ? 16 : cap * 2;
				v = xreallocarray(v, cap, sizeof *v);
			}
			d = &v[n++];
			d->method = xstrdup(name);
			d->route = xstrdup(name + strlen(name) + 1);
			d->matched = STAT_GET(sl->matched);
			d->closest = STAT_GET(sl->closest);
			d->unmatched = STAT_GET(sl->unmatched);
		}
		other[0] += STAT_GET(w->ep_other.matched);
		other[1] += STAT_GET(w->ep_other.closest);
		other[2] += STAT_GET(w->ep_other.unmatched);
	}
	if (n > 0)
		qsort(v, n, sizeof *v, respond_endpoint_cmp);
	/* One row per endpoint: the workers' counters summed. */
	for (i = 0, k = 0; i < n; i++) {
		if (k > 0 && respond_endpoint_cmp(&v[k - 1], &v[i]) == 0) {
			v[k - 1].matched += v[i].matched;
			v[k - 1].closest += v[i].closest;
			v[k - 1].unmatched += v[i].unmatched;
			free(v[i].method);
			free(v[i].route);
		} else
			v[k++] = v[i];
	}
	n = k;
	if (other[0] + other[1] + other[2] > 0) {
		v = xreallocarray(v, n + 1, sizeof *v);
		d = &v[n++];
		d->method = xstrdup("*");
		d->route = xstrdup("*");
		d->matched = other[0];
		d->closest = other[1];
		d->unmatched = other[2];
	}
	*out = v;
	return n;
}

void
respond_endpoints_free(struct respond_endpoint *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].method);
		free(v[i].route);
	}
	free(v);
}

struct chaos_log *
respond_chaos(struct responder *r)
{
	return r->chaos;
}

uint64_t
respond_seed(const struct responder *r)
{
	return r->seed;
}

size_t
respond_workers(const struct responder *r)
{
	return r->nworkers;
}

/* 256 MiB, or a quarter of the memory when that is less. */
static uint64_t
respond_default_budget(void)
{
	long		pages = sysconf(_SC_PHYS_PAGES);
	long		psize = sysconf(_SC_PAGESIZE);
	uint64_t	q;

	if (pages <= 0 || psize <= 0)
		return RESPOND_BUDGET_DEFAULT;
	q = (uint64_t)pages * (uint64_t)psize / 4;
	return q < RESPOND_BUDGET_DEFAULT ? q : RESPOND_BUDGET_DEFAULT;
}

struct responder *
respond_create(const struct respond_config *cfg, char **cause)
{
	struct responder	*r;
	struct respond_gen	*gen;
	struct sock_addr	 addr, bound;
	struct worker		*w;
	struct httpd_config	 hcfg;
	size_t			 i, j;
	char			 name[64];
	int			 fd;

	memset(&hcfg, 0, sizeof hcfg);
	if (cfg->nlisten == 0) {
		*cause = xstrdup("no listen address");
		return NULL;
	}
	pthread_once(&respond_filler_once, respond_filler_init);
	r = xcalloc(1, sizeof *r);
	pthread_mutex_init(&r->edit_lock, NULL);
	pthread_mutex_init(&r->gen_lock, NULL);
	pthread_mutex_init(&r->log_lock, NULL);
	respond_config_copy(&r->cfg, cfg);
	if (cfg->has_now)
		r->clock_offset_us = cfg->now_us - respond_wall_us();
	r->start_ns = loop_clock_ns();
	if ((gen = respond_gen_load(r, cause)) == NULL)
		goto fail;
	atomic_store(&r->gen, gen);
	atomic_store(&r->count, match_index_count(gen->index));
	if ((r->chaos = chaos_log_open(cfg->chaos_log, 0, cause)) == NULL)
		goto fail;
	if (respond_pass_check(cfg, cause) == -1)
		goto fail;
	if (cfg->unmatched == MATCH_UNMATCHED_PASSTHROUGH &&
	    (r->pass = respond_pass_create(cfg->pass_allow, cfg->npass_allow,
	    cfg->record_misses, cfg->pass_ca, 0, cause)) == NULL)
		goto fail;
	if (cfg->tls) {
		/* One CA and one context, shared by the workers. */
		if ((r->ca = ca_load(cfg->ca_dir != NULL ? cfg->ca_dir :
		    ca_default_dir(), cause)) == NULL ||
		    (r->tls_ctx = conn_tls_server_ctx(&(struct conn_tls_config){
		    .cert_cb = ca_conn_cert, .cert_arg = r->ca,
		    .alpn = cfg->http2 ? "h2,http/1.1" : NULL }, cause)) == NULL)
			goto fail;
	}

	r->out_budget = cfg->output_budget > 0 ? cfg->output_budget :
	    respond_default_budget();
	hcfg.max_head = cfg->max_head;
	hcfg.max_body = cfg->max_body;
	hcfg.header_timeout_ns = cfg->header_timeout_ns;
	hcfg.idle_timeout_ns = cfg->idle_timeout_ns;
	hcfg.body_timeout_ns = cfg->body_timeout_ns;
	hcfg.body_min_rate = cfg->body_min_rate;
	hcfg.linger_ns = RESPOND_LINGER_NS;
	hcfg.read_chunk = RESPOND_READ_CHUNK;
	hcfg.out_high = RESPOND_OUT_HIGH;
	hcfg.out_low = RESPOND_OUT_LOW;
	hcfg.tls = r->tls_ctx;
	hcfg.h2 = cfg->http2;

	/* The CPUs this process may use, not the machine's (cpus.h). */
	r->nworkers = cfg->workers > 0 ? (size_t)cfg->workers :
	    (size_t)cpus_usable();
	r->workers = xcalloc(r->nworkers, sizeof *r->workers);
	r->ports = xcalloc(cfg->nlisten, sizeof *r->ports);
	for (i = 0; i < r->nworkers; i++) {
		w = &r->workers[i];
		w->r = r;
		w->id = i;
		buf_init(&w->scratch);
		if ((w->loop = loop_create(cause)) == NULL)
			goto fail;
		w->httpd = httpd_create(w->loop, &hcfg, &respond_role, w);
		w->rule_cache = xcalloc(RESPOND_RULE_CACHE,
		    sizeof *w->rule_cache);
		w->eps = xcalloc(RESPOND_EP_SLOTS, sizeof *w->eps);
	}
	for (j = 0; j < cfg->nlisten; j++) {
		if (sock_parse_addr(cfg->listen[j], &addr, cause) == -1)
			goto fail;
		for (i = 0; i < r->nworkers; i++) {
			w = &r->workers[i];
			if ((fd = sock_listen(&addr, i == 0 ?
			    SOCK_SHARE_FIRST : SOCK_SHARE_JOIN, cause)) == -1)
				goto fail;
			if (i == 0) {
				/* Port 0: the others bind the port it got. */
				if (sock_local_addr(fd, &bound) == -1) {
					*cause = xasprintf("getsockname: %s",
					    strerror(errno));
					close(fd);
					goto fail;
				}
				r->ports[j] = sock_addr_port(&bound);
				sock_addr_set_port(&addr, r->ports[j]);
				log_info("listening on %s",
				    sock_addr_str(&bound, name, sizeof name));
			}
			if (httpd_listen(w->httpd, fd) == -1) {
				*cause = xasprintf("epoll_ctl: %s",
				    strerror(errno));
				close(fd);
				goto fail;
			}
		}
	}
	if (cfg->port_file != NULL &&
	    sock_write_port_file(cfg->port_file, r->ports[0], cause) == -1)
		goto fail;
	return r;

fail:
	respond_free(r);
	return NULL;
}

int
respond_check(const struct respond_config *cfg, char **cause)
{
	struct match_index	*idx;
	struct transforms	*tf;
	struct rule_set		*rules;
	enum rule_reach		*reach;
	struct sock_addr	 addr;
	uint64_t		 seed;
	size_t			 i;
	int			 has_seed;

	for (i = 0; i < cfg->nlisten; i++) {
		if (sock_parse_addr(cfg->listen[i], &addr, cause) == -1)
			return -1;
	}
	if (respond_pass_check(cfg, cause) == -1)
		return -1;
	if (cfg->tls) {
		struct ca *ca;

		if ((ca = ca_load(cfg->ca_dir != NULL ? cfg->ca_dir :
		    ca_default_dir(), cause)) == NULL)
			return -1;
		ca_free(ca);
	}
	if ((rules = rule_set_load((const char *const *)cfg->rules,
	    cfg->nrules, &seed, &has_seed, cause)) == NULL)
		return -1;
	reach = xcalloc(rule_set_count(rules) + 1, sizeof *reach);
	if ((idx = respond_load(cfg->snapshot, cfg->transforms,
	    cfg->allow_empty, rules, reach, &tf, cause)) == NULL) {
		free(reach);
		rule_set_free(rules);
		return -1;
	}
	log_info("%s: %zu recorded transactions to serve, %zu rules",
	    cfg->snapshot, match_index_count(idx), rule_set_count(rules));
	rule_check_report(rules, cfg->snapshot, reach);
	free(reach);
	match_index_free(idx);
	transforms_free(tf);
	rule_set_free(rules);
	return 0;
}

int
respond_port(const struct responder *r, size_t n)
{
	return n < r->cfg.nlisten ? r->ports[n] : -1;
}

size_t
respond_count(const struct responder *r)
{
	return atomic_load(&r->count);
}

/* The shutdown summary's list of the rules that never fired. */
static void
respond_log_never_fired(struct responder *r)
{
	const struct rule_set	*rules = atomic_load(&r->gen)->rules;
	const struct rule	*rule;
	struct buf		 b;
	size_t			 i;

	buf_init(&b);
	for (i = 0; i < rule_set_count(rules); i++) {
		rule = rule_set_get(rules, i);
		if (rule_fired(rule) == 0)
			buf_printf(&b, "%s%s", b.len > 0 ? ", " : "",
			    rule_name(rule));
	}
	if (b.len > 0)
		log_info("rules that never fired: %.*s", (int)b.len, b.data);
	buf_free(&b);
}

/* The shutdown summary's match rate, one line per endpoint. */
static void
respond_log_endpoints(struct responder *r)
{
	struct respond_endpoint	*v;
	size_t			 n, i;
	uint64_t		 all;

	n = respond_endpoints(r, &v);
	for (i = 0; i < n; i++) {
		all = v[i].matched + v[i].closest + v[i].unmatched;
		log_info("  %s %s: %llu matched, %llu closest, %llu unmatched "
		    "(%.1f%% matched)", v[i].method, v[i].route,
		    (unsigned long long)v[i].matched,
		    (unsigned long long)v[i].closest,
		    (unsigned long long)v[i].unmatched,
		    all == 0 ? 0.0 : 100.0 * (double)v[i].matched /
		    (double)all);
	}
	respond_endpoints_free(v, n);
}

int
respond_run(struct responder *r)
{
	sigset_t	 set, old;
	size_t		 i, started = 0;
	struct respond_stats st;
	int		 sig, error;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Workers inherit the mask: only this thread takes the signals. */
	pthread_sigmask(SIG_BLOCK, &set, &old);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < r->nworkers; i++) {
		error = pthread_create(&r->workers[i].thread, NULL, worker_main,
		    &r->workers[i]);
		if (error != 0) {
			log_error("pthread_create: %s", strerror(error));
			break;
		}
		started++;
	}
	if (started == r->nworkers) {
		struct respond_gen *gen = respond_gen_acquire(r);

		log_info("serving %zu recorded transactions with %zu workers"
		    ", %zu rules, seed %llu", match_index_count(gen->index),
		    r->nworkers, rule_set_count(gen->rules),
		    (unsigned long long)r->seed);
		respond_gen_unref(gen);
		for (;;) {
			if (sigwait(&set, &sig) != 0)
				continue;
			if (sig == SIGHUP) {
				char *cause = NULL;

				log_info("SIGHUP: reloading");
				if (respond_reload(r, &cause) == -1) {
					log_error("reload failed, the running "
					    "configuration stays: %s", cause);
					free(cause);
				}
				continue;
			}
			log_info("%s: draining", sig == SIGINT ? "SIGINT" :
			    "SIGTERM");
			break;
		}
	}
	for (i = 0; i < started; i++)
		loop_stop(r->workers[i].loop);
	for (i = 0; i < started; i++)
		pthread_join(r->workers[i].thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	respond_stats(r, &st);
	if (r->cfg.summary_quiet)
		return started == r->nworkers ? 0 : -1;
	log_info("%llu requests: %llu matched, %llu closest, %llu unmatched, "
	    "%llu rejected, %llu faulted", (unsigned long long)st.requests,
	    (unsigned long long)st.matched, (unsigned long long)st.closest,
	    (unsigned long long)st.unmatched, (unsigned long long)st.rejected,
	    (unsigned long long)st.faulted);
	respond_log_endpoints(r);
	respond_log_never_fired(r);
	return started == r->nworkers ? 0 : -1;
}

struct hconn *
respond_adopt(struct responder *r, struct conn *xc, const char *peer)
{
	return httpd_adopt(r->workers[0].httpd, xc, peer);
}

void
respond_free(struct responder *r)
{
	struct worker	*w;
	size_t		 i, j;

	if (r == NULL)
		return;
	for (i = 0; r->workers != NULL && i < r->nworkers; i++) {
		w = &r->workers[i];
		httpd_free(w->httpd);
		free(w->rule_cache);
		for (j = 0; w->eps != NULL && j < RESPOND_EP_SLOTS; j++)
			free(w->eps[j].name);
		free(w->eps);
		buf_free(&w->scratch);
		loop_free(w->loop);
		/* The worker's references, whatever still used them. */
		for (j = 0; j < w->npins; j++)
			respond_gen_unref(w->pins[j].gen);
		free(w->pins);
	}
	free(r->workers);
	free(r->ports);
	respond_gen_unref(atomic_load(&r->gen));
	chaos_log_close(r->chaos);
	respond_pass_free(r->pass);
	conn_tls_ctx_free(r->tls_ctx);
	ca_free(r->ca);
	pthread_mutex_destroy(&r->edit_lock);
	pthread_mutex_destroy(&r->gen_lock);
	pthread_mutex_destroy(&r->log_lock);
	respond_config_free(&r->cfg);
	free(r);
}
