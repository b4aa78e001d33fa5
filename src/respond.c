/*
 * respond.c -- the responder: worker threads, connections, request framing
 * and the reply path.
 *
 * Each worker owns a loop, one SO_REUSEPORT listener per address and its
 * connections; the only shared state is the read-only match index (whose
 * per-signature cursors are atomic).  A connection reads into one buffer,
 * parses as many complete requests as it holds (pipelining), queues each
 * reply as iovecs that point at the index's pre-serialised bytes, and
 * flushes them with writev.  Chunked request bodies are decoded in place in
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

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "ca.h"
#include "chaos.h"
#include "cpus.h"
#include "fault.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "match.h"
#include "plan.h"
#include "respond.h"
#include "rule.h"
#include "snap.h"
#include "sock.h"
#include "transform.h"
#include "xmalloc.h"

/* glibc's sys/queue.h lacks the _SAFE iterator. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#define RESPOND_READ_CHUNK	(16 * 1024)
#define RESPOND_OUT_HIGH	(1024 * 1024)	/* stop reading above this */
/* Past the output budget, connections holding at least this much unsent
 * output are not read and get no further reply until they drain. */
#define RESPOND_OUT_LOW		(16 * 1024)
#define RESPOND_BUDGET_DEFAULT	(256ull * 1024 * 1024)
#define RESPOND_LINGER_NS	(1000 * 1000000ull)
/* Connection deadlines: timers are rounded up to the slack, and moved
 * out only when the deadline went further than the lag (conn_arm). */
#define RESPOND_TIMER_SLACK_NS	(10 * 1000000ull)
#define RESPOND_TIMER_LAG_NS	(1000 * 1000000ull)
#define RESPOND_GEN_TICK_NS	(100 * 1000000ull)	/* idle workers follow reloads */
#define RESPOND_DRAIN_NS	(5000 * 1000000ull)
#define RESPOND_MAX_IOV		64
#define RESPOND_DRIP_NS		(10 * 1000000ull)	/* drip tick */
#define RESPOND_RULE_CACHE	1024
#define RESPOND_TLS_WRITE	(16 * 1024)	/* one full TLS record */
/* Out of descriptors (accept(2) EMFILE...), a listener is not watched for
 * this long; repeated conditions are logged once per interval. */
#define RESPOND_ACCEPT_PAUSE_NS	(100 * 1000000ull)
#define RESPOND_LOG_INTERVAL_NS	(5000 * 1000000ull)
/* Match rate per endpoint: each worker counts at most RESPOND_EP_MAX
 * distinct endpoints (in a table of RESPOND_EP_SLOTS, a power of two);
 * the rest, and routes longer than RESPOND_EP_LEN, go to one "other"
 * bucket, so hostile traffic cannot grow memory. */
#define RESPOND_EP_SLOTS	512
#define RESPOND_EP_MAX		256
#define RESPOND_EP_LEN		256

/* What the last SSL_read or SSL_write of a connection waits for. */
#define RESPOND_WANT_WR_IN	0x1	/* SSL_write wants to read */
#define RESPOND_WANT_RD_OUT	0x2	/* SSL_read wants to write */

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
	uint64_t	 filler;	/* oversize: filler bytes after the head */
	int		 close;		/* close after it (broken framing...) */
	uint64_t	 ready_ns;	/* when the request was complete */
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct worker		*w;
	struct loop_io		 io;
	struct loop_defer	 reap;
	int			 fd;
	char			 peer[64];
	char			 odst[64];	/* --transparent: original
						   destination, "" if none */

	/* TLS (--tls): NULL on plain connections, which never branch
	 * further than this test. */
	SSL			*ssl;
	int			 hs_done;	/* handshake complete */
	int			 ssl_want;	/* RESPOND_WANT_* */
	int			 ssl_dead;	/* no close_notify: error, reset */
	int			 ssl_shut;	/* close_notify sent */

	struct buf		 in;
	size_t			 in_off;	/* start of the current request */

	/* Chunked body of the current request, decoded in place. */
	int			 ck_active;
	struct http_chunked	 ck;
	size_t			 ck_end;	/* end of decoded bytes in in */
	int			 sent_continue;

	struct out_item		*out;
	size_t			 nout;
	size_t			 outcap;
	size_t			 out_first;	/* first unwritten item */
	size_t			 out_bytes;	/* bytes still queued */

	/* A reply held back by injected latency, or being dripped. */
	struct loop_timer	 timer;
	int			 waiting;	/* parse nothing until released */
	struct reply		*held;
	struct out_item		 drip[3];	/* what is left to drip */
	size_t			 ndrip;
	double			 drip_bps;
	double			 drip_credit;	/* bytes earned, not yet sent */
	uint64_t		 stream_left;	/* oversize filler to send */
	int			 close_after;	/* close once it is all sent */
	int			 peer_eof;	/* the peer sent FIN */

	uint64_t		 deadline;	/* 0: none */
	struct loop_timer	 dl_timer;	/* fires at or before it */
	uint64_t		 body_ns;	/* the head of the request whose
						   body is arriving came then;
						   0: none */
	int			 in_head;	/* a request has started */
	int			 closing;	/* close once output is flushed */
	int			 lingering;	/* write side shut, draining input */
	int			 throttled;	/* held back by the output budget */
	int			 processing;	/* in conn_process() */
	int			 dead;

	/* The generation queued replies point into (pinned in the
	 * worker's table), NULL: none yet. */
	struct respond_gen	*gen;
};
TAILQ_HEAD(conn_list, conn);

struct respond_gen;

/* A cached rule_set_static_mask() result, see respond_eval_rules(). */
struct rule_cache_slot {
	uint64_t			 gen;	/* serial, never reused */
	const struct match_entry	*entry;
	uint64_t			 host;
	uint64_t			 mask;
};

struct listener {
	struct loop_io		 io;
	struct worker		*w;
	struct loop_timer	 pause;		/* accept(2) failing: resume */
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
	struct listener		*listeners;
	size_t			 nlisteners;
	struct conn_list	 conns;
	size_t			 nconns;
	int			 draining;
	struct http_msg		 msg;		/* scratch for the parser */
	struct rule_cache_slot	*rule_cache;	/* RESPOND_RULE_CACHE slots */
	struct buf		 scratch;	/* the endpoint of a request */
	char			*tls_out;	/* RESPOND_TLS_WRITE bytes */
	struct ep_slot		*eps;		/* RESPOND_EP_SLOTS */
	size_t			 neps;
	struct ep_slot		 ep_other;

	uint64_t		 n_requests;
	uint64_t		 n_matched;
	uint64_t		 n_closest;
	uint64_t		 n_missed;
	uint64_t		 n_bad;
	uint64_t		 n_faulted;
	uint64_t		 n_conns;
	uint64_t		 n_open;
	uint64_t		 n_accept_errors;
	uint64_t		 out_mem;	/* unsent output held, bytes */
	uint64_t		 n_throttled;
	uint64_t		 n_head_timeouts;
	uint64_t		 n_body_timeouts;
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
	SSL_CTX			*ssl_ctx;	/* --tls: shared by the workers */
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

static void	conn_read_cb(struct loop_io *, uint32_t);
static void	reply_free(struct reply *);
static void	conn_process(struct conn *);
static void	conn_flush(struct conn *);
static void	conn_deadline_cb(struct loop_timer *);

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
}

void
respond_config_free(struct respond_config *c)
{
	size_t	i;

	free(c->snapshot);
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
conn_gen_busy(const struct conn *c)
{
	return c->out_first < c->nout || c->held != NULL || c->ndrip > 0;
}

/* Lets a connection with nothing queued go of a generation that is no
 * longer current. */
static void
conn_gen_idle(struct conn *c)
{
	if (c->gen != NULL && c->gen != c->w->gen && !conn_gen_busy(c)) {
		worker_unpin(c->w, c->gen);
		c->gen = NULL;
	}
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
	struct conn		*c;

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
	TAILQ_FOREACH(c, &w->conns, entry)
		conn_gen_idle(c);
}

/* The generation a request on c is served from: the current one, unless
 * replies from an older one are still queued ahead of it. */
static struct respond_gen *
conn_gen(struct conn *c)
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

static void
conn_reap_cb(struct loop_defer *d)
{
	struct conn	*c = d->arg;
	size_t		 i;

	for (i = c->out_first; i < c->nout; i++)
		free(c->out[i].owned);
	for (i = 0; i < c->ndrip; i++)
		free(c->drip[i].owned);
	if (c->held != NULL) {
		reply_free(c->held);
		free(c->held);
	}
	free(c->out);
	buf_free(&c->in);
	SSL_free(c->ssl);
	if (c->gen != NULL)
		worker_unpin(c->w, c->gen);
	free(c);
}

/* Sends close_notify once, best effort (the socket is non-blocking). */
static void
conn_tls_shutdown(struct conn *c)
{
	if (c->ssl == NULL || !c->hs_done || c->ssl_dead || c->ssl_shut)
		return;
	c->ssl_shut = 1;
	(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
}

static void
conn_close(struct conn *c)
{
	struct worker	*w = c->w;

	if (c->dead)
		return;
	c->dead = 1;
	loop_timer_del(w->loop, &c->timer);
	loop_timer_del(w->loop, &c->dl_timer);
	STAT_ADD(w->n_open, -1);
	STAT_ADD(w->out_mem, -(c->out_bytes + c->outcap * sizeof *c->out));
	loop_io_del(w->loop, &c->io);
	conn_tls_shutdown(c);
	close(c->fd);
	TAILQ_REMOVE(&w->conns, c, entry);
	w->nconns--;
	loop_defer(w->loop, &c->reap);
	if (w->draining && w->nconns == 0)
		loop_stop(w->loop);
}

/*
 * Makes the deadline timer fire by c->deadline (rounded up to
 * RESPOND_TIMER_SLACK_NS, so deadlines that fall close together expire
 * in one pass of the loop; it may fire up to that much late): armed when
 * it is not, pulled in when the deadline came closer by more than the
 * slack, and pushed out when the deadline moved more than
 * RESPOND_TIMER_LAG_NS later (the first request of a connection turns
 * the header deadline into the idle one).  A deadline that moved only a
 * little later (every request on a keep-alive connection does) leaves the
 * timer alone: it fires early and is re-armed then, about once per
 * RESPOND_TIMER_LAG_NS, not once per request.
 */
static void
conn_arm(struct conn *c)
{
	struct loop	*l = c->w->loop;
	uint64_t	 now, when;

	if (c->dead || c->deadline == 0)
		return;
	when = (c->deadline + RESPOND_TIMER_SLACK_NS - 1) /
	    RESPOND_TIMER_SLACK_NS * RESPOND_TIMER_SLACK_NS;
	/* Armed within the slack of it (loop_timer_add counts from a
	 * fresher clock, so a few µs past), or not too early: leave it. */
	if (loop_timer_is_pending(&c->dl_timer) &&
	    c->dl_timer.when <= when + RESPOND_TIMER_SLACK_NS &&
	    (when <= c->dl_timer.when ||
	    when - c->dl_timer.when < RESPOND_TIMER_LAG_NS))
		return;
	now = loop_now(l);
	loop_timer_add(l, &c->dl_timer, when > now ? when - now : 0);
}

/*
 * Closes after the queued output: shut the write side, then read and drop
 * what the peer still sends for a moment, so an error reply is not lost
 * to a reset caused by unread input.
 */
static void
conn_finish(struct conn *c)
{
	if (c->dead)
		return;
	if (c->in.len == c->in_off && !c->in_head) {
		conn_close(c);
		return;
	}
	conn_tls_shutdown(c);
	shutdown(c->fd, SHUT_WR);
	c->lingering = 1;
	c->deadline = loop_now(c->w->loop) + RESPOND_LINGER_NS;
	conn_arm(c);
	if (loop_io_mod(c->w->loop, &c->io, EPOLLIN | EPOLLRDHUP) == -1)
		conn_close(c);
}

static void
conn_queue(struct conn *c, const char *p, size_t len, char *owned)
{
	if (len == 0) {
		free(owned);
		return;
	}
	if (c->nout == c->outcap) {
		size_t n = c->outcap == 0 ? 8 : c->outcap * 2;

		c->out = xreallocarray(c->out, n, sizeof *c->out);
		STAT_ADD(c->w->out_mem, (n - c->outcap) * sizeof *c->out);
		c->outcap = n;
	}
	c->out[c->nout].p = p;
	c->out[c->nout].len = len;
	c->out[c->nout].owned = owned;
	c->nout++;
	c->out_bytes += len;
	STAT_ADD(c->w->out_mem, len);
}

/* Unsent output all workers hold, bytes (their counters summed). */
static uint64_t
respond_out_total(struct responder *r)
{
	uint64_t	t = 0;
	size_t		i;

	for (i = 0; i < r->nworkers; i++)
		t += STAT_GET(r->workers[i].out_mem);
	return t;
}

/*
 * 1 if the connection must not be read nor produce replies for now: it
 * holds RESPOND_OUT_HIGH of unsent output, or the responder is past its
 * output budget and this connection holds RESPOND_OUT_LOW or more (the
 * connections that hold the most wait until they drain; a client that
 * reads its answers holds next to nothing and is still served).
 */
static int
conn_out_full(struct conn *c)
{
	struct worker	*w = c->w;

	if (c->out_bytes >= RESPOND_OUT_HIGH)
		return 1;
	if (c->out_bytes + c->outcap * sizeof *c->out >= RESPOND_OUT_LOW &&
	    respond_out_total(w->r) > w->r->out_budget) {
		if (!c->throttled) {
			c->throttled = 1;
			STAT_INC(w->n_throttled);
		}
		return 1;
	}
	c->throttled = 0;
	return 0;
}

static void
conn_queue_buf(struct conn *c, struct buf *b)
{
	size_t	 len;
	char	*p;

	p = buf_detach(b, &len);
	conn_queue(c, p, len, p);
}

/* Answers a request that cannot be served and closes the connection. */
static void
conn_reject(struct conn *c, int status, const char *why, size_t off)
{
	struct buf	body, msg;

	c->w->n_bad++;
	log_info("%s: %d %s (byte %zu); closing", c->peer, status, why, off);
	buf_init(&body);
	buf_init(&msg);
	buf_printf(&body, "{\"error\":\"%s\",\"reason\":\"%s\",\"offset\":%zu}\n",
	    http_reason(status), why, off);
	http_write_simple(&msg, status, "application/json", body.data, body.len,
	    1);
	buf_free(&body);
	conn_queue_buf(c, &msg);
	c->closing = 1;
}

static int
respond_error_status(enum http_err err)
{
	switch (err) {
	case HTTP_E_HEAD_TOO_LARGE:
		return 431;
	case HTTP_E_TE_UNSUPPORTED:
		return 501;
	default:
		return 400;
	}
}

static void
reply_free(struct reply *rp)
{
	size_t	i;

	for (i = 0; i < 3; i++)
		free(rp->part[i].owned);
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
conn_drip_start(struct conn *c, struct reply *rp, int first)
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
	c->waiting = 1;
	loop_timer_add(c->w->loop, &c->timer, RESPOND_DRIP_NS);
}

/* Puts a reply on the wire (now: any latency has been served). */
static void
conn_emit(struct conn *c, struct reply *rp)
{
	struct linger	lg = { 1, 0 };
	int		i;

	conn_delay_histogram(c->w, loop_now(c->w->loop) - rp->ready_ns);
	c->waiting = 0;
	switch (rp->conn) {
	case FAULT_CONN_RESET:
		reply_free(rp);
		conn_flush(c);
		if (c->dead)
			return;
		/* Linger 0: close(2) sends RST (and no close_notify). */
		c->ssl_dead = 1;
		(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		conn_close(c);
		return;
	case FAULT_CONN_CLOSE:
		reply_free(rp);
		c->closing = 1;
		return;
	case FAULT_CONN_HANG:
		/* Never answer; closed after the idle timeout. */
		reply_free(rp);
		c->waiting = 1;
		c->deadline = loop_now(c->w->loop) +
		    c->w->r->cfg.idle_timeout_ns;
		conn_arm(c);
		return;
	case FAULT_CONN_CLOSE_AFTER_HEADERS:
		reply_set(rp, 2, NULL, 0, NULL);
		rp->close = 1;
		break;
	case FAULT_CONN_SLOW_HEADERS:
		c->close_after |= rp->close;
		conn_drip_start(c, rp, 0);
		return;
	case FAULT_CONN_DRIP:
		for (i = 0; i < 2; i++)
			conn_queue(c, rp->part[i].p, rp->part[i].len,
			    rp->part[i].owned);
		rp->part[0].owned = rp->part[1].owned = NULL;
		rp->part[0].len = rp->part[1].len = 0;
		c->close_after |= rp->close;
		conn_drip_start(c, rp, 2);
		return;
	default:
		break;
	}
	for (i = 0; i < 3; i++)
		conn_queue(c, rp->part[i].p, rp->part[i].len, rp->part[i].owned);
	memset(rp->part, 0, sizeof rp->part);
	c->stream_left = rp->filler;
	if (rp->close)
		c->closing = 1;
}

/* Latency served or drip tick. */
static void
conn_timer_cb(struct loop_timer *t)
{
	struct conn	*c = t->arg;
	struct reply	*rp;
	size_t		 n;

	if (c->dead)
		return;
	if (c->held != NULL) {
		rp = c->held;
		c->held = NULL;
		conn_emit(c, rp);
		free(rp);
		if (c->dead)
			return;
		if (c->close_after && !c->waiting) {
			c->closing = 1;
			c->close_after = 0;
		}
	} else if (c->ndrip > 0) {
		c->drip_credit += c->drip_bps * RESPOND_DRIP_NS / 1e9;
		while (c->drip_credit >= 1 && c->ndrip > 0) {
			struct out_item *o = &c->drip[0];

			n = (size_t)c->drip_credit;
			if (n >= o->len) {
				/* The last piece carries the ownership. */
				conn_queue(c, o->p, o->len, o->owned);
				c->drip_credit -= (double)o->len;
				memmove(c->drip, c->drip + 1,
				    --c->ndrip * sizeof *c->drip);
			} else {
				conn_queue(c, o->p, n, NULL);
				o->p += n;
				o->len -= n;
				c->drip_credit -= (double)n;
			}
		}
		/* Progress keeps a slow drip alive past the idle timeout. */
		c->deadline = loop_now(c->w->loop) +
		    c->w->r->cfg.idle_timeout_ns;
		conn_arm(c);
		if (c->ndrip > 0)
			loop_timer_add(c->w->loop, t, RESPOND_DRIP_NS);
		else {
			c->waiting = 0;
			if (c->close_after)
				c->closing = 1;
			c->close_after = 0;
		}
	}
	if (!c->waiting)
		conn_process(c);
	conn_flush(c);
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

/* Queues (or holds) the reply to one complete request. */
static void
conn_reply(struct conn *c, const struct http_msg *m, const char *body,
    size_t body_len, uint64_t ready_ns)
{
	struct worker			*w = c->w;
	struct responder		*r = w->r;
	struct respond_gen		*gen;
	const struct match_entry	*e;
	struct match_req		 mr;
	struct plan			 plan;
	struct ep_slot			*ep;
	struct reply			 rp, *held;
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

	if (nhits == 0 && e != NULL && e->live == NULL) {
		/* The fast path: the pre-serialised reply, one writev. */
		conn_queue(c, e->head, e->head_len, NULL);
		if (keep)
			conn_queue(c, "\r\n", 2, NULL);
		else
			conn_queue(c, "Connection: close\r\n\r\n", 21, NULL);
		if (!head_only)
			conn_queue(c, e->body, e->body_len, NULL);
		conn_delay_histogram(w, loop_now(w->loop) - ready_ns);
		if (!keep)
			c->closing = 1;
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
	if (nhits > 0) {
		STAT_INC(w->n_faulted);
		reply_render(&rp, &plan);
		plan_log(&plan, r->chaos, e != NULL ? e->id : "-",
		    PLAN_SCOPE_HTTP);
		latency = plan.latency_ns;
		if (plan.conn != FAULT_CONN_NONE) {
			rp.conn = plan.conn;
			rp.bps = plan.drip_bps;
		}
	}
	if (head_only) {
		reply_set(&rp, 2, NULL, 0, NULL);
		rp.filler = 0;
	}
	if (!keep || rp.close) {
		reply_set(&rp, 1, "Connection: close\r\n\r\n", 21, NULL);
		rp.close = 1;
	} else
		reply_set(&rp, 1, "\r\n", 2, NULL);

	if (latency == 0) {
		conn_emit(c, &rp);
		return;
	}
	held = xmalloc(sizeof *held);
	*held = rp;
	c->held = held;
	c->waiting = 1;
	loop_timer_add(w->loop, &c->timer, latency);
}

/*
 * Feeds the raw bytes received since the last call to the chunked decoder.
 * Returns 1 when the body is complete (c->ck_end is its end, the next
 * request follows it), 0 when more is needed, -1 after rejecting.
 */
static int
conn_chunked(struct conn *c, size_t body_start, size_t raw_end)
{
	enum http_err	err = HTTP_E_NONE;
	size_t		len, erroff = 0;
	ssize_t		rest;

	if (!c->ck_active) {
		http_chunked_init(&c->ck);
		c->ck.max_body = c->w->r->cfg.max_body;
		c->ck_active = 1;
		c->ck_end = body_start;
	}
	len = raw_end - c->ck_end;
	rest = http_chunked_decode(&c->ck, c->in.data + c->ck_end, &len, &err,
	    &erroff);
	if (rest == HTTP_ERROR) {
		conn_reject(c, err == HTTP_E_BODY_TOO_LARGE ? 413 : 400,
		    http_strerror(err), c->ck_end + erroff - c->in_off);
		return -1;
	}
	/* The decoded bytes now sit at ck_end; drop the consumed raw ones. */
	if (rest == HTTP_PARTIAL) {
		c->ck_end += len;
		c->in.len = c->ck_end;
		if (c->ck_end - body_start > c->w->r->cfg.max_body) {
			conn_reject(c, 413, "chunked body too large", 0);
			return -1;
		}
		return 0;
	}
	c->ck_end += len;
	c->in.len = c->ck_end + (size_t)rest;
	if (c->ck_end - body_start > c->w->r->cfg.max_body) {
		conn_reject(c, 413, "chunked body too large", 0);
		return -1;
	}
	return 1;
}

/*
 * The deadline of a request body that is arriving, `received` bytes of
 * it so far: --body-timeout after its head came, plus one second per
 * --body-min-rate bytes received, so a large upload at a steady pace goes
 * through and a trickle does not.  --body-timeout 0: no limit for the
 * whole body, only --header-timeout between two reads.
 */
static uint64_t
conn_body_deadline(struct conn *c, uint64_t received)
{
	const struct respond_config	*cfg = &c->w->r->cfg;
	uint64_t			 now = loop_now(c->w->loop);
	uint64_t			 rate = cfg->body_min_rate, extra = 0;

	if (c->body_ns == 0)
		c->body_ns = now;
	if (cfg->body_timeout_ns == 0)
		return now + cfg->header_timeout_ns;
	/* Past a year of allowance the answer no longer matters. */
	if (rate > 0 && received / rate < 365ull * 86400)
		extra = received / rate * 1000000000ull + (uint64_t)(
		    (double)(received % rate) / (double)rate * 1e9);
	else if (rate > 0)
		extra = 365ull * 86400 * 1000000000ull;
	return c->body_ns + cfg->body_timeout_ns + extra;
}

static void
conn_process_requests(struct conn *c)
{
	struct worker	*w = c->w;
	struct responder *r = w->r;
	struct http_msg	*m = &w->msg;
	enum http_err	 err;
	size_t		 erroff, avail, body_start, end;
	ssize_t		 n;
	int		 st;

	while (!c->closing && !c->dead && !c->waiting && !conn_out_full(c)) {
		if (c->in_off > 0 && !c->ck_active) {
			buf_consume(&c->in, c->in_off);
			c->in_off = 0;
		}
		avail = c->in.len - c->in_off;
		if (avail == 0) {
			c->in_head = 0;
			break;
		}
		if (!c->in_head) {
			c->in_head = 1;
			c->deadline = loop_now(w->loop) +
			    r->cfg.header_timeout_ns;
		}
		err = HTTP_E_NONE;
		erroff = 0;
		n = http_parse_request(c->in.data + c->in_off,
		    c->ck_active ? c->ck_end - c->in_off : avail,
		    r->cfg.max_head, m, &err, &erroff);
		if (n == HTTP_PARTIAL)
			break;
		if (n == HTTP_ERROR) {
			conn_reject(c, respond_error_status(err),
			    http_strerror(err), erroff);
			break;
		}
		body_start = c->in_off + (size_t)n;
		switch (m->framing) {
		case HTTP_FRAME_LENGTH:
			if (m->content_length > r->cfg.max_body) {
				conn_reject(c, 413, "body too large", 0);
				return;
			}
			end = body_start + (size_t)m->content_length;
			if (c->in.len < end) {
				if (m->expect_continue && !c->sent_continue) {
					c->sent_continue = 1;
					conn_queue(c, "HTTP/1.1 100 Continue\r\n\r\n",
					    25, NULL);
				}
				c->deadline = conn_body_deadline(c,
				    c->in.len - body_start);
				return;
			}
			break;
		case HTTP_FRAME_CHUNKED:
			if (m->expect_continue && !c->sent_continue) {
				c->sent_continue = 1;
				conn_queue(c, "HTTP/1.1 100 Continue\r\n\r\n", 25,
				    NULL);
			}
			st = conn_chunked(c, body_start, c->in.len);
			if (st == -1)
				return;
			if (st == 0) {
				c->deadline = conn_body_deadline(c,
				    c->ck_end - body_start);
				return;
			}
			end = c->ck_end;
			break;
		default:
			end = body_start;
			break;
		}
		conn_reply(c, m, c->in.data + body_start, end - body_start,
		    loop_now(w->loop));
		c->in_off = end;
		c->ck_active = 0;
		c->sent_continue = 0;
		c->in_head = 0;
		c->body_ns = 0;
		c->deadline = loop_now(w->loop) + r->cfg.idle_timeout_ns;
	}
}

/* Parses and answers the requests the input holds, as far as the
 * output allows; conn_flush() knows not to call back into it. */
static void
conn_process(struct conn *c)
{
	c->processing = 1;
	conn_process_requests(c);
	c->processing = 0;
	/* The deadline the connection ends up with, armed once. */
	conn_arm(c);
}

/* --- TLS ------------------------------------------------------------- */

/* Why a TLS operation failed, for the log. */
static const char *
conn_tls_reason(int sslerr, char *e, size_t len)
{
	unsigned long	code;

	if ((code = ERR_get_error()) != 0)
		ERR_error_string_n(code, e, len);
	else if (sslerr == SSL_ERROR_SYSCALL && errno != 0)
		snprintf(e, len, "%s", strerror(errno));
	else if (sslerr == SSL_ERROR_SYSCALL || sslerr == SSL_ERROR_ZERO_RETURN)
		snprintf(e, len, "peer closed");
	else
		snprintf(e, len, "TLS error %d", sslerr);
	ERR_clear_error();
	return e;
}

/*
 * Advances the handshake; the loop calls it until it completes.  A failed
 * handshake costs only this connection.  Returns 1 when done, 0 when it
 * waits for the peer, -1 when the connection was closed.
 */
static int
conn_handshake(struct conn *c)
{
	char		e[256];
	int		r, err;
	uint32_t	ev;

	ERR_clear_error();
	if ((r = SSL_do_handshake(c->ssl)) == 1) {
		c->hs_done = 1;
		return 1;
	}
	switch ((err = SSL_get_error(c->ssl, r))) {
	case SSL_ERROR_WANT_READ:
		ev = EPOLLIN | EPOLLRDHUP;
		break;
	case SSL_ERROR_WANT_WRITE:
		ev = EPOLLOUT;
		break;
	default:
		c->w->n_bad++;
		log_info("%s: TLS handshake failed: %s", c->peer,
		    conn_tls_reason(err, e, sizeof e));
		c->ssl_dead = 1;
		conn_close(c);
		return -1;
	}
	if (loop_io_mod(c->w->loop, &c->io, ev) == -1) {
		conn_close(c);
		return -1;
	}
	return 0;
}

/* read(2) over TLS: bytes, 0 at the peer's close, or -1 with errno
 * (EAGAIN when OpenSSL waits for the socket). */
static ssize_t
conn_tls_read(struct conn *c, void *p, size_t len)
{
	char	e[256];
	int	n, err;

	ERR_clear_error();
	c->ssl_want &= ~RESPOND_WANT_RD_OUT;
	if ((n = SSL_read(c->ssl, p, len > INT_MAX ? INT_MAX : (int)len)) > 0)
		return n;
	switch ((err = SSL_get_error(c->ssl, n))) {
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		c->ssl_want |= RESPOND_WANT_RD_OUT;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		log_debug("%s: TLS read: %s", c->peer,
		    conn_tls_reason(err, e, sizeof e));
		c->ssl_dead = 1;
		errno = EIO;
		return -1;
	}
}

/* writev(2) over TLS: the iovecs are gathered into one record-sized
 * buffer (a retry after WANT_WRITE gathers the same first bytes, which
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER allows). */
static ssize_t
conn_tls_writev(struct conn *c, const struct iovec *iov, size_t n)
{
	struct worker	*w = c->w;
	char		 e[256];
	size_t		 i, len = 0, k;
	int		 wr, err;

	if (w->tls_out == NULL)
		w->tls_out = xmalloc(RESPOND_TLS_WRITE);
	for (i = 0; i < n && len < RESPOND_TLS_WRITE; i++) {
		k = iov[i].iov_len;
		if (k > RESPOND_TLS_WRITE - len)
			k = RESPOND_TLS_WRITE - len;
		memcpy(w->tls_out + len, iov[i].iov_base, k);
		len += k;
	}
	ERR_clear_error();
	c->ssl_want &= ~RESPOND_WANT_WR_IN;
	if ((wr = SSL_write(c->ssl, w->tls_out, (int)len)) > 0)
		return wr;
	switch ((err = SSL_get_error(c->ssl, wr))) {
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_READ:
		c->ssl_want |= RESPOND_WANT_WR_IN;
		errno = EAGAIN;
		return -1;
	default:
		log_debug("%s: TLS write: %s", c->peer,
		    conn_tls_reason(err, e, sizeof e));
		c->ssl_dead = 1;
		errno = EIO;
		return -1;
	}
}

static void
conn_update_events(struct conn *c)
{
	uint32_t	ev = 0;

	if (c->dead)
		return;
	if (c->ssl != NULL && !c->hs_done)
		return;		/* conn_handshake() owns the interest */
	if (c->out_first < c->nout)
		ev |= EPOLLOUT;
	if (!c->closing && !c->peer_eof && !conn_out_full(c) &&
	    (!c->waiting || c->in.len - c->in_off < c->w->r->cfg.max_head))
		ev |= EPOLLIN | EPOLLRDHUP;
	if (c->ssl_want & RESPOND_WANT_WR_IN)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (c->ssl_want & RESPOND_WANT_RD_OUT)
		ev |= EPOLLOUT;
	if (loop_io_mod(c->w->loop, &c->io, ev) == -1)
		conn_close(c);
}

static void
conn_flush(struct conn *c)
{
	struct iovec	 iov[RESPOND_MAX_IOV];
	size_t		 i, n;
	ssize_t		 wr;

	if (c->dead)
		return;

again:
	for (;;) {
		/* Oversize bodies: keep a few filler blocks queued. */
		while (c->stream_left > 0 && c->nout - c->out_first < 16) {
			size_t k = c->stream_left < sizeof respond_filler ?
			    (size_t)c->stream_left : sizeof respond_filler;

			conn_queue(c, respond_filler, k, NULL);
			c->stream_left -= k;
		}
		if (c->out_first >= c->nout)
			break;
		for (n = 0, i = c->out_first; i < c->nout &&
		    n < RESPOND_MAX_IOV; i++, n++) {
			iov[n].iov_base = (void *)c->out[i].p;
			iov[n].iov_len = c->out[i].len;
		}
		if (c->ssl == NULL)
			wr = writev(c->fd, iov, (int)n);
		else
			wr = conn_tls_writev(c, iov, n);
		if (wr == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			log_debug("%s: write: %s", c->peer, strerror(errno));
			conn_close(c);
			return;
		}
		c->out_bytes -= (size_t)wr;
		STAT_ADD(c->w->out_mem, -wr);
		while (wr > 0) {
			struct out_item *o = &c->out[c->out_first];

			if ((size_t)wr >= o->len) {
				wr -= (ssize_t)o->len;
				free(o->owned);
				c->out_first++;
			} else {
				o->p += wr;
				o->len -= (size_t)wr;
				wr = 0;
			}
		}
	}
	if (c->out_first == c->nout) {
		c->out_first = c->nout = 0;
		if (c->outcap > 64) {
			/* A backlog drained: give its bookkeeping back. */
			STAT_ADD(c->w->out_mem, -(c->outcap * sizeof *c->out));
			free(c->out);
			c->out = NULL;
			c->outcap = 0;
		}
		conn_gen_idle(c);
		if (c->closing && c->held == NULL && c->ndrip == 0) {
			conn_finish(c);
			return;
		}
		/* All sent: pipelined requests already read go on (no read
		 * event would come for them), unless we are being called
		 * from their processing. */
		if (!c->processing && !c->closing && !c->waiting &&
		    !c->lingering && c->in.len > c->in_off &&
		    !conn_out_full(c)) {
			conn_process(c);
			if (c->dead)
				return;
			if (c->out_first < c->nout || c->stream_left > 0)
				goto again;
		}
	}
	conn_update_events(c);
}

static void
conn_read_cb(struct loop_io *io, uint32_t events)
{
	struct conn	*c = io->arg;
	ssize_t		 n;
	char		 sink[4096];

	if (c->dead)
		return;
	if (c->lingering) {
		n = read(c->fd, sink, sizeof sink);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			conn_close(c);
		return;
	}
	if (c->ssl != NULL) {
		if (!c->hs_done) {
			if (conn_handshake(c) != 1)
				return;
			/* The request may follow the handshake at once. */
			events |= EPOLLIN;
			conn_update_events(c);
		}
		/* A TLS read may wait for the socket to be writable and a
		 * write for it to be readable. */
		if ((c->ssl_want & RESPOND_WANT_WR_IN) &&
		    (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
			events |= EPOLLOUT;
		if ((c->ssl_want & RESPOND_WANT_RD_OUT) && (events & EPOLLOUT))
			events |= EPOLLIN;
	}
again:
	if (events & EPOLLOUT)
		conn_flush(c);
	if (c->dead)
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		if (c->closing || conn_out_full(c)) {
			conn_update_events(c);
			return;
		}
		buf_reserve(&c->in, RESPOND_READ_CHUNK);
		if (c->ssl == NULL)
			n = read(c->fd, c->in.data + c->in.len,
			    c->in.cap - c->in.len - 1);
		else
			n = conn_tls_read(c, c->in.data + c->in.len,
			    c->in.cap - c->in.len - 1);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR) {
				if (c->ssl != NULL)
					conn_update_events(c);
				return;
			}
			log_debug("%s: read: %s", c->peer, strerror(errno));
			conn_close(c);
			return;
		}
		if (n == 0) {
			/* Peer is done sending: answer what is complete. */
			conn_process(c);
			if (c->dead)
				return;
			if (c->in_head && !c->closing && !c->waiting)
				log_info("%s: closed mid-request", c->peer);
			c->peer_eof = 1;
			if (c->held != NULL || c->ndrip > 0) {
				/* A reply is on its way: finish it first. */
				c->close_after = 1;
				conn_update_events(c);
				return;
			}
			c->closing = 1;
			c->in_head = 0;
			c->in_off = c->in.len;
			if (c->out_first == c->nout)
				conn_close(c);
			else
				conn_flush(c);
			return;
		}
		c->in.len += (size_t)n;
		c->in.data[c->in.len] = '\0';
		conn_process(c);
		conn_flush(c);
		/* Decrypted bytes OpenSSL holds do not wake epoll. */
		if (c->ssl != NULL && !c->dead && SSL_pending(c->ssl) > 0) {
			events = EPOLLIN;
			goto again;
		}
	}
}

/*
 * --transparent: notes where a redirected connection was going.  A
 * connection that was not redirected (its original destination is the
 * local address) has none; it is served like any other.
 */
static void
respond_original_dst(struct conn *c)
{
	struct sock_addr	dst, local;

	c->odst[0] = '\0';
	if (sock_original_dst(c->fd, &dst) == -1 ||
	    (sock_local_addr(c->fd, &local) == 0 &&
	    sock_addr_equal(&dst, &local)))
		return;
	sock_addr_str(&dst, c->odst, sizeof c->odst);
}

/*
 * accept(2) failed for want of descriptors (EMFILE, ENFILE) or memory, or
 * for a reason that may well repeat: the connection stays queued, and a
 * level-triggered listener would wake the loop at once, for ever.  So the
 * listener is not watched for RESPOND_ACCEPT_PAUSE_NS while the open
 * connections are served (new ones wait in the backlog); one line per
 * interval for all workers, with a count.
 */
static void
listener_pause(struct listener *l, int err)
{
	struct worker	*w = l->w;
	struct responder *r = w->r;
	struct rlimit	 rl;
	uint64_t	 n, open = 0;
	size_t		 i;

	STAT_INC(w->n_accept_errors);
	if (loop_io_mod(w->loop, &l->io, 0) == -1)
		log_warn("epoll_ctl: %s", strerror(errno));
	loop_timer_add(w->loop, &l->pause, RESPOND_ACCEPT_PAUSE_NS);
	pthread_mutex_lock(&r->log_lock);
	n = log_every_count(&r->accept_log, 1, loop_now(w->loop),
	    RESPOND_LOG_INTERVAL_NS);
	pthread_mutex_unlock(&r->log_lock);
	if (n == 0)
		return;
	for (i = 0; i < r->nworkers; i++)
		open += STAT_GET(r->workers[i].n_open);
	if (sock_accept_is_exhausted(err) && getrlimit(RLIMIT_NOFILE,
	    &rl) == 0)
		log_warn("accept: %s (%llu connections open, open-file limit "
		    "%llu): new connections wait %llums at a time; %llu time%s "
		    "since the last report", strerror(err),
		    (unsigned long long)open, (unsigned long long)rl.rlim_cur,
		    (unsigned long long)(RESPOND_ACCEPT_PAUSE_NS / 1000000),
		    (unsigned long long)n, n == 1 ? "" : "s");
	else
		log_warn("accept: %s: new connections wait %llums at a time; "
		    "%llu time%s since the last report", strerror(err),
		    (unsigned long long)(RESPOND_ACCEPT_PAUSE_NS / 1000000),
		    (unsigned long long)n, n == 1 ? "" : "s");
}

static void
listener_resume_cb(struct loop_timer *t)
{
	struct listener	*l = t->arg;

	if (l->io.fd != -1 && loop_io_mod(l->w->loop, &l->io, EPOLLIN) == -1)
		log_warn("epoll_ctl: %s", strerror(errno));
}

static void
listener_cb(struct loop_io *io, uint32_t events)
{
	struct listener		*l = io->arg;
	struct worker		*w = l->w;
	struct sock_addr	 peer;
	struct conn		*c;
	int			 fd, one = 1;

	for (;;) {
		peer.len = sizeof peer.ss;
		fd = accept4(io->fd, (struct sockaddr *)&peer.ss, &peer.len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				listener_pause(l, errno);
			return;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c = xcalloc(1, sizeof *c);
		c->w = w;
		c->fd = fd;
		sock_addr_str(&peer, c->peer, sizeof c->peer);
		if (w->r->cfg.transparent)
			respond_original_dst(c);
		buf_init(&c->in);
		loop_defer_init(&c->reap, conn_reap_cb, c);
		loop_timer_init(&c->timer, conn_timer_cb, c);
		if (w->r->ssl_ctx != NULL) {
			if ((c->ssl = SSL_new(w->r->ssl_ctx)) == NULL ||
			    SSL_set_fd(c->ssl, fd) != 1) {
				log_warn("%s: TLS: cannot set up the "
				    "connection", c->peer);
				ERR_clear_error();
				SSL_free(c->ssl);
				buf_free(&c->in);
				close(fd);
				free(c);
				continue;
			}
			SSL_set_accept_state(c->ssl);
		}
		STAT_INC(w->n_conns);
		STAT_INC(w->n_open);
		c->deadline = loop_now(w->loop) + w->r->cfg.header_timeout_ns;
		loop_timer_init(&c->dl_timer, conn_deadline_cb, c);
		if (loop_io_add(w->loop, &c->io, fd, EPOLLIN | EPOLLRDHUP,
		    conn_read_cb, c) == -1) {
			log_warn("epoll_ctl: %s", strerror(errno));
			STAT_ADD(w->n_open, -1);
			SSL_free(c->ssl);
			buf_free(&c->in);
			close(fd);
			free(c);
			continue;
		}
		TAILQ_INSERT_TAIL(&w->conns, c, entry);
		w->nconns++;
		conn_arm(c);
	}
}

/* A connection's deadline timer: the header, body, idle or linger
 * deadline has passed (or moved on: then it waits for that). */
static void
conn_deadline_cb(struct loop_timer *t)
{
	struct conn	*c = t->arg;
	struct worker	*w = c->w;

	if (c->dead || c->deadline == 0)
		return;
	if (loop_now(w->loop) < c->deadline) {
		conn_arm(c);
		return;
	}
	if (c->lingering || c->closing || !c->in_head) {
		conn_close(c);
		return;
	}
	c->deadline = 0;
	if (c->body_ns != 0) {
		STAT_INC(w->n_body_timeouts);
		conn_reject(c, 408, "request body not complete in time",
		    c->in.len - c->in_off);
	} else {
		STAT_INC(w->n_head_timeouts);
		conn_reject(c, 408, "request not complete in time",
		    c->in.len - c->in_off);
	}
	conn_flush(c);
}

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
	struct conn		*c, *next;
	struct loop_timer	 drain, tick;
	size_t			 i;

	loop_timer_init(&tick, worker_gen_tick_cb, w);
	loop_timer_add(w->loop, &tick, RESPOND_GEN_TICK_NS);
	if (loop_run(w->loop) == -1)
		log_error("worker %zu: event loop failed", w->id);
	loop_timer_del(w->loop, &tick);

	/* Drain: no new connections, idle ones closed, busy ones finish. */
	w->draining = 1;
	for (i = 0; i < w->nlisteners; i++) {
		loop_timer_del(w->loop, &w->listeners[i].pause);
		loop_io_del(w->loop, &w->listeners[i].io);
		close(w->listeners[i].io.fd);
		w->listeners[i].io.fd = -1;
	}
	TAILQ_FOREACH_SAFE(c, &w->conns, entry, next) {
		/* A held (delayed or dripping) reply is in flight too. */
		if (!c->in_head && c->out_first == c->nout &&
		    c->held == NULL && c->ndrip == 0)
			conn_close(c);
		else
			c->closing = 1;
	}
	if (w->nconns > 0) {
		loop_timer_init(&drain, worker_drain_timeout_cb, w);
		loop_timer_add(w->loop, &drain, RESPOND_DRAIN_NS);
		loop_run(w->loop);
		loop_timer_del(w->loop, &drain);
	}
	TAILQ_FOREACH_SAFE(c, &w->conns, entry, next)
		conn_close(c);
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
	char			*cause;		/* rv -1: the chunk's error */
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
	int			 quit;
	const struct match_index *idx;
	const char		*path;
};

static struct match_prep *
load_job_prep(struct load_ctx *lc, struct load_job *job, size_t i)
{
	return (struct match_prep *)(void *)(job->preps + i * lc->psize);
}

static void
load_job_run(struct load_ctx *lc, struct load_job *job)
{
	struct snap_txn		 t;
	char			*why;
	int			 rv;

	while ((rv = snap_chunk_next(&job->chunk, &t, &job->cause)) == 1) {
		job->nread++;
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

static void *
load_thread(void *arg)
{
	struct load_ctx	*lc = arg;
	struct load_job	*job;

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
	free(job->cause);
	job->cause = NULL;
	job->rv = job->done = 0;
	job->chunk.len = job->chunk.off = 0;
}

static void
load_job_free(struct load_ctx *lc, struct load_job *job)
{
	load_job_reset(lc, job);
	free(job->preps);
	snap_chunk_free(&job->chunk);
	free(job);
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

static struct match_index *
respond_load(const char *path, const char *tf_path, int allow_empty,
    struct transforms **tf, char **cause)
{
	struct snap_reader	*sr;
	struct match_index	*idx;
	struct load_ctx		 lc;
	struct load_job		*job;
	pthread_t		 threads[RESPOND_LOAD_THREADS];
	size_t			 nthreads, started = 0, i;
	size_t			 skipped = 0, nread = 0, nin = 0;
	char			*rcause = NULL, *ccause = NULL;
	int			 eof = 0, rv;

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
	lc.cap = 2 * (started == 0 ? 1 : started) + 1;
	lc.ring = xcalloc(lc.cap, sizeof *lc.ring);
	/* Jobs and their buffers are reused: megabytes freed and
	 * allocated again every chunk fragment the heap the index grows
	 * in. */
	lc.pool = xcalloc(lc.cap + 1, sizeof *lc.pool);

	for (;;) {
		while (!eof && rcause == NULL && ccause == NULL &&
		    lc.tail - lc.head < lc.cap) {
			job = lc.npool > 0 ? lc.pool[--lc.npool] :
			    xcalloc(1, sizeof *job);
			rv = snap_reader_chunk(sr, RESPOND_LOAD_CHUNK,
			    &job->chunk, &rcause);
			if (rv != 1) {
				load_job_free(&lc, job);
				eof = 1;
				break;
			}
			if (started == 0) {
				load_job_run(&lc, job);
				job->done = 1;
			}
			pthread_mutex_lock(&lc.lock);
			lc.ring[lc.tail++ % lc.cap] = job;
			pthread_cond_signal(&lc.work);
			pthread_mutex_unlock(&lc.lock);
		}
		if (lc.head == lc.tail)
			break;
		job = lc.ring[lc.head % lc.cap];
		pthread_mutex_lock(&lc.lock);
		while (!job->done)
			pthread_cond_wait(&lc.done, &lc.lock);
		lc.head++;
		pthread_mutex_unlock(&lc.lock);
		if (ccause == NULL) {
			/* In recorded order: the index as a serial load. */
			for (i = 0; i < job->nprep; i++)
				match_index_commit(idx, load_job_prep(&lc, job,
				    i));
			job->nprep = 0;
			nread += job->nread;
			nin += job->nin;
			skipped += job->skipped;
			if (job->rv == -1) {
				ccause = job->cause;
				job->cause = NULL;
			}
		}
		if (lc.npool <= lc.cap) {
			load_job_reset(&lc, job);
			lc.pool[lc.npool++] = job;
		} else
			load_job_free(&lc, job);
	}
	pthread_mutex_lock(&lc.lock);
	lc.quit = 1;
	pthread_cond_broadcast(&lc.work);
	pthread_mutex_unlock(&lc.lock);
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(lc.ring);
	for (i = 0; i < lc.npool; i++)
		load_job_free(&lc, lc.pool[i]);
	free(lc.pool);
	pthread_cond_destroy(&lc.work);
	pthread_cond_destroy(&lc.done);
	pthread_mutex_destroy(&lc.lock);
	snap_reader_close(sr);

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
	match_index_finish(idx);
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
	d->transforms = respond_str_dup(s->transforms);
	d->port_file = respond_str_dup(s->port_file);
	d->listen = respond_strv_dup(s->listen, s->nlisten);
	d->rules = respond_strv_dup(s->rules, s->nrules);
	d->chaos_log = respond_str_dup(s->chaos_log);
	d->admin = respond_str_dup(s->admin);
	d->admin_token = respond_str_dup(s->admin_token);
	d->admin_port_file = respond_str_dup(s->admin_port_file);
	d->ca_dir = respond_str_dup(s->ca_dir);
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
	if ((gen->index = respond_load(r->cfg.snapshot, r->cfg.transforms,
	    r->cfg.allow_empty, &gen->transforms, cause)) == NULL) {
		rule_set_free(gen->rules);
		free(gen);
		return NULL;
	}
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
		st->rejected += STAT_GET(w->n_bad);
		st->faulted += STAT_GET(w->n_faulted);
		st->connections += STAT_GET(w->n_conns);
		st->open += STAT_GET(w->n_open);
		st->accept_errors += STAT_GET(w->n_accept_errors);
		st->output_queued += STAT_GET(w->out_mem);
		st->output_throttled += STAT_GET(w->n_throttled);
		st->head_timeouts += STAT_GET(w->n_head_timeouts);
		st->body_timeouts += STAT_GET(w->n_body_timeouts);
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
	size_t			 i, j;
	char			 name[64];
	int			 fd;

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
	if (cfg->tls) {
		/* One CA and one context, shared by the workers. */
		if ((r->ca = ca_load(cfg->ca_dir != NULL ? cfg->ca_dir :
		    ca_default_dir(), cause)) == NULL ||
		    (r->ssl_ctx = ca_server_ctx(r->ca, cause)) == NULL)
			goto fail;
	}

	r->out_budget = cfg->output_budget > 0 ? cfg->output_budget :
	    respond_default_budget();

	/* The CPUs this process may use, not the machine's (cpus.h). */
	r->nworkers = cfg->workers > 0 ? (size_t)cfg->workers :
	    (size_t)cpus_usable();
	r->workers = xcalloc(r->nworkers, sizeof *r->workers);
	r->ports = xcalloc(cfg->nlisten, sizeof *r->ports);
	for (i = 0; i < r->nworkers; i++) {
		w = &r->workers[i];
		w->r = r;
		w->id = i;
		TAILQ_INIT(&w->conns);
		buf_init(&w->scratch);
		if ((w->loop = loop_create(cause)) == NULL)
			goto fail;
		w->listeners = xcalloc(cfg->nlisten, sizeof *w->listeners);
		w->rule_cache = xcalloc(RESPOND_RULE_CACHE,
		    sizeof *w->rule_cache);
		w->eps = xcalloc(RESPOND_EP_SLOTS, sizeof *w->eps);
	}
	for (j = 0; j < cfg->nlisten; j++) {
		if (sock_parse_addr(cfg->listen[j], &addr, cause) == -1)
			goto fail;
		for (i = 0; i < r->nworkers; i++) {
			w = &r->workers[i];
			if ((fd = sock_listen(&addr, 1, cause)) == -1)
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
			w->listeners[j].w = w;
			loop_timer_init(&w->listeners[j].pause,
			    listener_resume_cb, &w->listeners[j]);
			if (loop_io_add(w->loop, &w->listeners[j].io, fd,
			    EPOLLIN, listener_cb, &w->listeners[j]) == -1) {
				*cause = xasprintf("epoll_ctl: %s",
				    strerror(errno));
				close(fd);
				goto fail;
			}
			w->nlisteners++;
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
	struct sock_addr	 addr;
	uint64_t		 seed;
	size_t			 i;
	int			 has_seed;

	for (i = 0; i < cfg->nlisten; i++) {
		if (sock_parse_addr(cfg->listen[i], &addr, cause) == -1)
			return -1;
	}
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
	if ((idx = respond_load(cfg->snapshot, cfg->transforms,
	    cfg->allow_empty, &tf, cause)) == NULL) {
		rule_set_free(rules);
		return -1;
	}
	log_info("%s: %zu recorded transactions to serve, %zu rules",
	    cfg->snapshot, match_index_count(idx), rule_set_count(rules));
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
	log_info("%llu requests: %llu matched, %llu closest, %llu unmatched, "
	    "%llu rejected, %llu faulted", (unsigned long long)st.requests,
	    (unsigned long long)st.matched, (unsigned long long)st.closest,
	    (unsigned long long)st.unmatched, (unsigned long long)st.rejected,
	    (unsigned long long)st.faulted);
	respond_log_endpoints(r);
	return started == r->nworkers ? 0 : -1;
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
		for (j = 0; j < w->nlisteners; j++) {
			if (w->listeners[j].io.fd != -1) {
				if (w->loop != NULL)
					loop_io_del(w->loop,
					    &w->listeners[j].io);
				close(w->listeners[j].io.fd);
			}
		}
		free(w->listeners);
		free(w->rule_cache);
		free(w->tls_out);
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
	SSL_CTX_free(r->ssl_ctx);
	ca_free(r->ca);
	pthread_mutex_destroy(&r->edit_lock);
	pthread_mutex_destroy(&r->gen_lock);
	pthread_mutex_destroy(&r->log_lock);
	respond_config_free(&r->cfg);
	free(r);
}
