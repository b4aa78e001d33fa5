/*
 * admin.c -- the admin API: one thread, one loop, a few keep-alive
 * HTTP/1.1 connections answering JSON (decoyd(8) lists the endpoints).
 *
 * Connections, framing and deadlines are the responder's (httpd.h: the
 * strict parser, bodies by Content-Length or chunked and decoded in
 * place, header and idle deadlines, a lingering close after an error);
 * this file is the role: routes answered from freshly built buffers,
 * this is the control path, not the hot one.  Everything that touches the responder goes through the
 * thread-safe live-control calls of respond.h; listings and edits of the
 * rule set run inside respond_rules_edit(), under its lock.
 *
 * A reload reads files, which must not stall this loop (health probes
 * would time out behind a large snapshot), so it runs on a helper thread.
 * The connections that asked for it wait, and so do requests pipelined
 * behind them, to keep replies in order; an eventfd brings the result
 * back.  Reloads asked for while one runs share the next run, so every
 * caller sees the files as they were after its request.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "base64.h"
#include "buf.h"
#include "chaos.h"
#include "http.h"
#include "httpd.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "prom.h"
#include "respond.h"
#include "rule.h"
#include "sock.h"
#include "xmalloc.h"

#define ADMIN_MAX_HEAD		(16 * 1024)
#define ADMIN_MAX_BODY		(1024 * 1024)
#define ADMIN_READ_CHUNK	(16 * 1024)
#define ADMIN_OUT_HIGH		(4 * 1024 * 1024)	/* stop reading above */
#define ADMIN_MAX_CONNS		64
#define ADMIN_HEADER_NS		(10ull * 1000000000u)
#define ADMIN_IDLE_NS		(60ull * 1000000000u)
#define ADMIN_LINGER_NS		(1000 * 1000000ull)
/* accept(2) failing (EMFILE...): logged once per interval. */
#define ADMIN_LOG_INTERVAL_NS	(5000 * 1000000ull)
#define ADMIN_TAIL_DEFAULT	100
#define ADMIN_TAIL_MAX		10000

TAILQ_HEAD(admin_waits, admin_conn);

/* The admin side of a connection (httpd.h has the HTTP side). */
struct admin_conn {
	TAILQ_ENTRY(admin_conn)	 wait_entry;
	struct admin		*a;
	struct hconn		*h;
	struct admin_waits	*waiting;	/* the reload list it is on */
	int			 wait_keep;	/* keep-alive of the waiting request */
};

struct admin {
	struct responder	*r;
	struct loop		*loop;
	pthread_t		 thread;
	int			 started;
	int			 stopping;

	struct httpd		*httpd;		/* listener, connections */
	struct log_every	 accept_log;
	int			 lfd;
	int			 port;
	char			 name[64];	/* bound address, for logs */

	char			*token;		/* NULL: none required */
	size_t			 token_len;


	/* Reloads (loop thread only, except what the helper writes before
	 * it signals done_fd: reload_rv and reload_cause). */
	struct loop_io		 done_io;
	int			 done_fd;
	pthread_t		 reload_thread;
	int			 reloading;
	int			 reload_joinable;
	int			 reload_rv;
	char			*reload_cause;
	struct admin_waits	 running;
	struct admin_waits	 next;
};

/* One request as the handlers see it; spans into the connection. */
struct admin_req {
	struct span	 method;
	struct span	 path;
	struct span	 query;
	const char	*body;
	size_t		 body_len;
};

/* One reply being built. */
struct admin_reply {
	int		 status;
	const char	*content_type;
	const char	*allow;		/* Allow header of a 405 */
	int		 challenge;	/* WWW-Authenticate of a 401 */
	struct buf	 body;
};

/* What a respond_rules_edit() callback gets. */
struct admin_edit {
	const struct rule_set	*added;		/* POST /rules */
	const char		*name;		/* one rule's endpoints */
	int			 enabled;
	int			 status;	/* HTTP status of a refusal */
	struct buf		*out;
	struct buf		*out2;
};

enum {
	ADMIN_M_GET = 0x1,	/* and HEAD */
	ADMIN_M_POST = 0x2,
	ADMIN_M_DELETE = 0x4,
};

static void	admin_reload_start(struct admin *);

/* --- replies ---------------------------------------------------------- */

static void
admin_reply_init(struct admin_reply *rp)
{
	memset(rp, 0, sizeof *rp);
	rp->status = 200;
	rp->content_type = "application/json";
	buf_init(&rp->body);
}

static void
admin_error(struct admin_reply *rp, int status, const char *fmt, ...)
{
	va_list		ap;
	struct buf	msg;

	buf_init(&msg);
	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	rp->status = status;
	rp->content_type = "application/json";
	buf_reset(&rp->body);
	buf_append_str(&rp->body, "{\"error\":");
	json_append_string(&rp->body, msg.data != NULL ? msg.data : "",
	    msg.len);
	buf_append_str(&rp->body, "}\n");
	buf_free(&msg);
}

/* Appends the reply to the connection's output; HEAD gets no body. */
static void
admin_reply_queue(struct admin_conn *c, struct admin_reply *rp, int head_only,
    int keep)
{
	struct buf	 out, *b = &out;
	char		 num[32];
	int		 n;

	buf_init(b);
	http_write_status_line(b, rp->status, SPAN_NULL);
	if (rp->content_type != NULL)
		http_write_header(b, SPAN_LIT("Content-Type"),
		    span_from_str(rp->content_type));
	n = snprintf(num, sizeof num, "%zu", rp->body.len);
	http_write_header(b, SPAN_LIT("Content-Length"),
	    (struct span){ num, (size_t)n });
	http_write_header(b, SPAN_LIT("Cache-Control"), SPAN_LIT("no-store"));
	if (rp->allow != NULL)
		http_write_header(b, SPAN_LIT("Allow"),
		    span_from_str(rp->allow));
	if (rp->challenge)
		http_write_header(b, SPAN_LIT("WWW-Authenticate"),
		    SPAN_LIT("Bearer realm=\"decoy\""));
	if (!keep)
		http_write_header(b, SPAN_LIT("Connection"), SPAN_LIT("close"));
	buf_append(b, "\r\n", 2);
	if (!head_only && rp->body.len > 0)
		buf_append(b, rp->body.data, rp->body.len);
	hconn_queue_buf(c->h, b);
	if (!keep)
		hconn_close_after(c->h);
}

/* --- handlers --------------------------------------------------------- */

/* Accepts the method if it is in mask, else answers 405 and returns -1. */
static int
admin_method(const struct admin_req *rq, int mask, struct admin_reply *rp)
{
	static const char *const allow[] = {
		NULL, "GET, HEAD", "POST", "GET, HEAD, POST", "DELETE",
		"GET, HEAD, DELETE", "POST, DELETE", "GET, HEAD, POST, DELETE",
	};

	if ((mask & ADMIN_M_GET) && (span_eq_str(rq->method, "GET") ||
	    span_eq_str(rq->method, "HEAD")))
		return 0;
	if ((mask & ADMIN_M_POST) && span_eq_str(rq->method, "POST"))
		return 0;
	if ((mask & ADMIN_M_DELETE) && span_eq_str(rq->method, "DELETE"))
		return 0;
	admin_error(rp, 405, "method %.*s not allowed here",
	    (int)rq->method.len, rq->method.p);
	rp->allow = allow[mask & 7];
	return -1;
}

static double
admin_seconds(uint64_t ns)
{
	return (double)ns / 1e9;
}

static void
admin_h_health(struct admin *a, const struct admin_req *rq,
    struct admin_reply *rp)
{
	struct respond_stats	st;

	respond_stats(a->r, &st);
	buf_printf(&rp->body, "{\"status\":\"ok\",\"uptime_s\":%.3f,"
	    "\"workers\":%zu,\"transactions\":%zu}\n",
	    admin_seconds(st.uptime_ns), respond_workers(a->r),
	    respond_count(a->r));
}

/* Lists the rules as a JSON array into e->out; changes nothing. */
static struct rule_set *
admin_cb_list(const struct rule_set *set, void *arg, char **cause)
{
	struct admin_edit	*e = arg;
	size_t			 i, n = set != NULL ? rule_set_count(set) : 0;

	buf_append_byte(e->out, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_append_byte(e->out, ',');
		rule_describe(rule_set_get(set, i), e->out);
	}
	buf_append_byte(e->out, ']');
	*cause = NULL;
	return NULL;
}

static struct rule_set *
admin_cb_add(const struct rule_set *set, void *arg, char **cause)
{
	struct admin_edit	*e = arg;
	struct rule_set		*ns;
	const char		*name;
	size_t			 i;

	for (i = 0; i < rule_set_count(e->added); i++) {
		name = rule_name(rule_set_get(e->added, i));
		if (rule_set_find(set, name) != NULL) {
			e->status = 409;
			*cause = xasprintf("a rule named \"%s\" exists", name);
			return NULL;
		}
	}
	/* Only a clash inside the posted rules can fail now. */
	if ((ns = rule_set_append(set, e->added, cause)) == NULL)
		e->status = 409;
	return ns;
}

/* 1 (and a 404 with *cause) if the rule e names is not in set. */
static int
admin_rule_missing(const struct rule_set *set, struct admin_edit *e,
    char **cause)
{
	if (rule_set_find(set, e->name) != NULL)
		return 0;
	e->status = 404;
	*cause = xasprintf("no rule named \"%s\"", e->name);
	return 1;
}

static struct rule_set *
admin_cb_remove(const struct rule_set *set, void *arg, char **cause)
{
	struct admin_edit	*e = arg;
	struct rule_set		*ns;

	if (admin_rule_missing(set, e, cause))
		return NULL;
	if ((ns = rule_set_remove(set, e->name, cause)) == NULL)
		e->status = 404;
	return ns;
}

static struct rule_set *
admin_cb_enable(const struct rule_set *set, void *arg, char **cause)
{
	struct admin_edit	*e = arg;
	struct rule_set		*ns;
	const struct rule	*rule;

	if (admin_rule_missing(set, e, cause))
		return NULL;
	if ((ns = rule_set_enable(set, e->name, e->enabled, cause)) == NULL) {
		e->status = 404;
		return NULL;
	}
	/* Described before publishing: the new set is still only ours. */
	if ((rule = rule_set_find(ns, e->name)) != NULL)
		rule_describe(rule, e->out);
	return ns;
}

/* Runs an edit; on failure answers with the callback's status (500 if
 * it set none) and returns -1. */
static int
admin_edit(struct admin *a, respond_rules_cb cb, struct admin_edit *e,
    struct admin_reply *rp)
{
	char	*cause = NULL;

	if (respond_rules_edit(a->r, cb, e, &cause) == -1) {
		admin_error(rp, e->status != 0 ? e->status : 500, "%s",
		    cause != NULL ? cause : "rule edit failed");
		free(cause);
		return -1;
	}
	free(cause);
	return 0;
}

static void
admin_h_rules_list(struct admin *a, struct admin_reply *rp)
{
	struct admin_edit	e;
	struct buf		list;

	memset(&e, 0, sizeof e);
	buf_init(&list);
	e.out = &list;
	if (admin_edit(a, admin_cb_list, &e, rp) == 0) {
		buf_printf(&rp->body, "{\"seed\":%llu,\"rules\":",
		    (unsigned long long)respond_seed(a->r));
		buf_append(&rp->body, list.data, list.len);
		buf_append_str(&rp->body, "}\n");
	}
	buf_free(&list);
}

static void
admin_h_rules_add(struct admin *a, const struct admin_req *rq,
    struct admin_reply *rp)
{
	struct admin_edit	 e;
	struct rule_set		*added;
	char			*cause = NULL;
	size_t			 i;

	if (rq->body_len == 0) {
		admin_error(rp, 400, "empty body: expected a rule in YAML or "
		    "JSON");
		return;
	}
	if ((added = rule_set_parse("admin", rq->body, rq->body_len,
	    &cause)) == NULL) {
		admin_error(rp, 400, "%s", cause != NULL ? cause :
		    "bad rule");
		free(cause);
		return;
	}
	if (rule_set_count(added) == 0) {
		admin_error(rp, 400, "no rule in the body");
		rule_set_free(added);
		return;
	}
	memset(&e, 0, sizeof e);
	e.added = added;
	if (admin_edit(a, admin_cb_add, &e, rp) == 0) {
		/* The new set shares these rules: same counters. */
		rp->status = 201;
		buf_append_str(&rp->body, "{\"rules\":[");
		for (i = 0; i < rule_set_count(added); i++) {
			if (i > 0)
				buf_append_byte(&rp->body, ',');
			rule_describe(rule_set_get(added, i), &rp->body);
			log_info("admin: rule \"%s\" added",
			    rule_name(rule_set_get(added, i)));
		}
		buf_append_str(&rp->body, "]}\n");
	}
	rule_set_free(added);
}

static void
admin_h_rule_remove(struct admin *a, const char *name, struct admin_reply *rp)
{
	struct admin_edit	e;

	memset(&e, 0, sizeof e);
	e.name = name;
	if (admin_edit(a, admin_cb_remove, &e, rp) == 0) {
		buf_append_str(&rp->body, "{\"removed\":");
		json_append_string(&rp->body, name, strlen(name));
		buf_append_str(&rp->body, "}\n");
		log_info("admin: rule \"%s\" removed", name);
	}
}

static void
admin_h_rule_enable(struct admin *a, const char *name, int enabled,
    struct admin_reply *rp)
{
	struct admin_edit	e;
	struct buf		desc;

	memset(&e, 0, sizeof e);
	buf_init(&desc);
	e.name = name;
	e.enabled = enabled;
	e.out = &desc;
	if (admin_edit(a, admin_cb_enable, &e, rp) == 0) {
		buf_append_str(&rp->body, "{\"rule\":");
		if (desc.len > 0)
			buf_append(&rp->body, desc.data, desc.len);
		else
			buf_append_str(&rp->body, "null");
		buf_append_str(&rp->body, "}\n");
		log_info("admin: rule \"%s\" %s", name,
		    enabled ? "enabled" : "disabled");
	}
	buf_free(&desc);
}

/*
 * Finds parameter name in a raw query; returns 1 with its raw value in *v,
 * 0 if absent.
 */
static int
admin_query_param(struct span q, const char *name, struct span *v)
{
	const char	*p = q.p, *end = q.p + q.len, *amp, *eq;
	size_t		 nlen = strlen(name);

	while (p != NULL && p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		eq = memchr(p, '=', (size_t)(amp - p));
		if ((eq != NULL ? (size_t)(eq - p) : (size_t)(amp - p)) ==
		    nlen && memcmp(p, name, nlen) == 0) {
			if (eq == NULL)
				*v = (struct span){ amp, 0 };
			else
				*v = (struct span){ eq + 1,
				    (size_t)(amp - eq - 1) };
			return 1;
		}
		p = amp + 1;
	}
	return 0;
}

static void
admin_h_chaos(struct admin *a, const struct admin_req *rq,
    struct admin_reply *rp)
{
	struct chaos_log	*cl;
	struct span		 v;
	size_t			 i, n = ADMIN_TAIL_DEFAULT;

	if (admin_query_param(rq->query, "tail", &v)) {
		if (v.len == 0 || v.len > 9)
			goto bad;
		for (n = 0, i = 0; i < v.len; i++) {
			if (v.p[i] < '0' || v.p[i] > '9')
				goto bad;
			n = n * 10 + (size_t)(v.p[i] - '0');
		}
		if (n > ADMIN_TAIL_MAX)
			n = ADMIN_TAIL_MAX;
	}
	rp->content_type = "application/x-ndjson";
	if ((cl = respond_chaos(a->r)) != NULL && n > 0)
		chaos_log_tail(cl, n, &rp->body);
	return;
bad:
	admin_error(rp, 400, "tail: expected a number of lines (at most %d)",
	    ADMIN_TAIL_MAX);
}

/* The names of the rules that have not fired, as a JSON array. */
static struct rule_set *
admin_cb_never_fired(const struct rule_set *set, void *arg, char **cause)
{
	struct buf		*b = arg;
	const struct rule	*rule;
	size_t			 i, n = set != NULL ? rule_set_count(set) : 0;
	int			 first = 1;

	for (i = 0; i < n; i++) {
		rule = rule_set_get(set, i);
		if (rule_fired(rule) != 0)
			continue;
		if (!first)
			buf_append_byte(b, ',');
		first = 0;
		json_append_string(b, rule_name(rule), strlen(rule_name(rule)));
	}
	*cause = NULL;
	return NULL;
}

void
admin_stats_json(struct responder *r, struct buf *b)
{
	struct respond_stats	 st;
	struct respond_endpoint	*ep;
	struct chaos_log	*cl;
	char			*cause = NULL;
	size_t			 n, i;

	respond_stats(r, &st);
	buf_printf(b, "{\"requests\":%llu,\"matched\":%llu,"
	    "\"closest\":%llu,\"unmatched\":%llu,\"rejected\":%llu,"
	    "\"faulted\":%llu,\"connections\":%llu,\"open\":%llu,"
	    "\"accept_errors\":%llu,\"head_timeouts\":%llu,"
	    "\"body_timeouts\":%llu,\"output_queued\":%llu,"
	    "\"output_budget\":%llu,\"output_throttled\":%llu,"
	    "\"uptime_s\":%.3f,\"faults\":",
	    (unsigned long long)st.requests, (unsigned long long)st.matched,
	    (unsigned long long)st.closest, (unsigned long long)st.unmatched,
	    (unsigned long long)st.rejected, (unsigned long long)st.faulted,
	    (unsigned long long)st.connections, (unsigned long long)st.open,
	    (unsigned long long)st.accept_errors,
	    (unsigned long long)st.head_timeouts,
	    (unsigned long long)st.body_timeouts,
	    (unsigned long long)st.output_queued,
	    (unsigned long long)st.output_budget,
	    (unsigned long long)st.output_throttled,
	    admin_seconds(st.uptime_ns));
	if ((cl = respond_chaos(r)) != NULL)
		chaos_log_counts_json(cl, b);
	else
		buf_append_str(b,
		    "{\"total\":0,\"by_kind\":{},\"by_rule\":{}}");
	buf_append_str(b, ",\"never_fired\":[");
	if (respond_rules_edit(r, admin_cb_never_fired, b, &cause) == -1)
		free(cause);
	buf_append_str(b, "],\"endpoints\":[");
	n = respond_endpoints(r, &ep);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_append_byte(b, ',');
		buf_append_str(b, "{\"method\":");
		json_append_string(b, ep[i].method,
		    strlen(ep[i].method));
		buf_append_str(b, ",\"route\":");
		json_append_string(b, ep[i].route,
		    strlen(ep[i].route));
		buf_printf(b, ",\"matched\":%llu,\"closest\":%llu,"
		    "\"unmatched\":%llu}", (unsigned long long)ep[i].matched,
		    (unsigned long long)ep[i].closest,
		    (unsigned long long)ep[i].unmatched);
	}
	respond_endpoints_free(ep, n);
	buf_append_str(b, "]}\n");
}

static void
admin_h_stats(struct admin *a, struct admin_reply *rp)
{
	admin_stats_json(a->r, &rp->body);
}

/* The match rate per endpoint: three families, labels method and route. */
static void
admin_prom_endpoints(struct admin *a, struct buf *b)
{
	static const struct {
		const char	*name;
		const char	*help;
	} fam[3] = {
		{ "decoy_endpoint_matched_total", "Requests answered with their "
		    "recorded transaction, by endpoint (method, route)." },
		{ "decoy_endpoint_closest_total", "Requests answered with the "
		    "closest transaction, by endpoint." },
		{ "decoy_endpoint_unmatched_total", "Requests no recorded "
		    "transaction answered (404), by endpoint." },
	};
	struct respond_endpoint	*ep;
	size_t			 n, i, f;
	uint64_t		 v;

	n = respond_endpoints(a->r, &ep);
	for (f = 0; f < 3; f++) {
		prom_family(b, fam[f].name, "counter", fam[f].help);
		for (i = 0; i < n; i++) {
			v = f == 0 ? ep[i].matched : f == 1 ? ep[i].closest :
			    ep[i].unmatched;
			buf_printf(b, "%s{method=\"", fam[f].name);
			prom_label(b, ep[i].method);
			buf_append_str(b, "\",route=\"");
			prom_label(b, ep[i].route);
			buf_printf(b, "\"} %llu\n", (unsigned long long)v);
		}
	}
	respond_endpoints_free(ep, n);
}

/* Per-rule counter lines: matches into e->out, firings into e->out2. */
static struct rule_set *
admin_cb_metrics(const struct rule_set *set, void *arg, char **cause)
{
	struct admin_edit	*e = arg;
	const struct rule	*rule;
	size_t			 i, n = set != NULL ? rule_set_count(set) : 0;

	for (i = 0; i < n; i++) {
		rule = rule_set_get(set, i);
		buf_append_str(e->out, "decoy_rule_matches_total{rule=\"");
		prom_label(e->out, rule_name(rule));
		buf_printf(e->out, "\"} %llu\n",
		    (unsigned long long)rule_matched(rule));
		buf_append_str(e->out2, "decoy_rule_fired_total{rule=\"");
		prom_label(e->out2, rule_name(rule));
		buf_printf(e->out2, "\"} %llu\n",
		    (unsigned long long)rule_fired(rule));
	}
	*cause = NULL;
	return NULL;
}

static void
admin_h_metrics(struct admin *a, struct admin_reply *rp)
{
	struct respond_stats	 st;
	struct chaos_log	*cl;
	struct admin_edit	 e;
	struct buf		*b = &rp->body, matches, fired;
	uint64_t		 cum = 0;
	double			 le;
	size_t			 i;
	char			*cause = NULL;

	respond_stats(a->r, &st);
	rp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	prom_counter(b, "decoy_requests_total", "counter",
	    "Requests the responder received.", st.requests);
	prom_counter(b, "decoy_matched_total", "counter",
	    "Requests answered with their recorded transaction.", st.matched);
	prom_counter(b, "decoy_closest_total", "counter",
	    "Requests answered with the closest transaction on their route.",
	    st.closest);
	prom_counter(b, "decoy_unmatched_total", "counter",
	    "Requests no recorded transaction answered.", st.unmatched);
	prom_counter(b, "decoy_rejected_total", "counter",
	    "Malformed or refused requests.", st.rejected);
	prom_counter(b, "decoy_faulted_total", "counter",
	    "Transactions a chaos rule fired on.", st.faulted);
	prom_counter(b, "decoy_connections_total", "counter",
	    "Connections accepted.", st.connections);
	prom_counter(b, "decoy_open_connections", "gauge",
	    "Connections open now.", st.open);
	prom_counter(b, "decoy_accept_errors_total", "counter",
	    "accept(2) failures (out of descriptors...); each paused a "
	    "listener for 100 ms.", st.accept_errors);
	prom_counter(b, "decoy_output_queued_bytes", "gauge",
	    "Unsent output the connections hold (replies their clients have "
	    "not read).", st.output_queued);
	prom_counter(b, "decoy_output_budget_bytes", "gauge",
	    "The output budget.", st.output_budget);
	prom_counter(b, "decoy_output_throttled_total", "counter",
	    "Times a connection was not read for the output budget.",
	    st.output_throttled);
	prom_counter(b, "decoy_head_timeouts_total", "counter",
	    "Requests refused with 408: head not complete in time.",
	    st.head_timeouts);
	prom_counter(b, "decoy_body_timeouts_total", "counter",
	    "Requests refused with 408: body not complete in time.",
	    st.body_timeouts);
	prom_family(b, "decoy_uptime_seconds", "gauge",
	    "Seconds since the responder started.");
	buf_printf(b, "decoy_uptime_seconds %.3f\n",
	    admin_seconds(st.uptime_ns));
	prom_process(b, admin_seconds(st.uptime_ns));

	admin_prom_endpoints(a, b);

	prom_family(b, "decoy_faults_total", "counter",
	    "Faults injected, by rule and kind.");
	if ((cl = respond_chaos(a->r)) != NULL)
		chaos_log_counts_prometheus(cl, b);

	memset(&e, 0, sizeof e);
	buf_init(&matches);
	buf_init(&fired);
	e.out = &matches;
	e.out2 = &fired;
	if (respond_rules_edit(a->r, admin_cb_metrics, &e, &cause) == -1) {
		log_warn("admin: /metrics: %s", cause != NULL ? cause :
		    "rule listing failed");
		buf_reset(&matches);
		buf_reset(&fired);
	}
	free(cause);
	prom_family(b, "decoy_rule_matches_total", "counter",
	    "Requests each chaos rule matched.");
	buf_append(b, matches.data, matches.len);
	prom_family(b, "decoy_rule_fired_total", "counter",
	    "Times each chaos rule fired.");
	buf_append(b, fired.data, fired.len);
	buf_free(&matches);
	buf_free(&fired);

	prom_family(b, "decoy_response_delay_seconds", "histogram",
	    "Time from a complete request to the start of its response, "
	    "injected latency included.");
	for (i = 0; i < RESPOND_NBUCKETS; i++) {
		cum += st.buckets[i];
		le = respond_latency_bounds[i];
		/* The last bound is a sentinel (1e300): it is +Inf. */
		if (isinf(le) || le >= 1e300)
			break;
		buf_printf(b, "decoy_response_delay_seconds_bucket{le=\"%g\"} "
		    "%llu\n", le, (unsigned long long)cum);
	}
	/* The last bucket is +Inf whatever its bound says: it counts all. */
	for (i++; i < RESPOND_NBUCKETS; i++)
		cum += st.buckets[i];
	buf_printf(b, "decoy_response_delay_seconds_bucket{le=\"+Inf\"} %llu\n",
	    (unsigned long long)cum);
	buf_printf(b, "decoy_response_delay_seconds_sum %.9g\n",
	    st.latency_sum);
	buf_printf(b, "decoy_response_delay_seconds_count %llu\n",
	    (unsigned long long)cum);
}

/*
 * Percent-decodes one path segment into a new string; NULL if it is
 * empty, badly escaped or decodes to a NUL or a control character.
 */
static char *
admin_decode_name(const char *p, size_t len)
{
	char	*s, *q;
	size_t	 i;
	int	 hi, lo;

	if (len == 0)
		return NULL;
	q = s = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if (p[i] == '%') {
			if (i + 2 >= len)
				goto bad;
			if ((hi = base16_value((unsigned char)p[i + 1])) == -1 ||
			    (lo = base16_value((unsigned char)p[i + 2])) == -1)
				goto bad;
			*q = (char)(hi << 4 | lo);
			i += 2;
		} else
			*q = p[i];
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			goto bad;
		q++;
	}
	*q = '\0';
	return s;
bad:
	free(s);
	return NULL;
}

/*
 * Answers one request into rp.  Returns 1, with nothing answered, for a
 * well-formed POST /reload: the caller parks the connection until the
 * reload is done.
 */
static int
admin_route(struct admin *a, const struct admin_req *rq,
    struct admin_reply *rp)
{
	struct span	 p = rq->path, action;
	const char	*seg, *end, *slash;
	char		*name;
	int		 mask;

	if (span_eq_str(p, "/health")) {
		if (admin_method(rq, ADMIN_M_GET, rp) == 0)
			admin_h_health(a, rq, rp);
		return 0;
	}
	if (span_eq_str(p, "/rules")) {
		if (admin_method(rq, ADMIN_M_GET | ADMIN_M_POST, rp) == -1)
			return 0;
		if (span_eq_str(rq->method, "POST"))
			admin_h_rules_add(a, rq, rp);
		else
			admin_h_rules_list(a, rp);
		return 0;
	}
	if (span_eq_str(p, "/chaos")) {
		if (admin_method(rq, ADMIN_M_GET, rp) == 0)
			admin_h_chaos(a, rq, rp);
		return 0;
	}
	if (span_eq_str(p, "/stats")) {
		if (admin_method(rq, ADMIN_M_GET, rp) == 0)
			admin_h_stats(a, rp);
		return 0;
	}
	if (span_eq_str(p, "/metrics")) {
		if (admin_method(rq, ADMIN_M_GET, rp) == 0)
			admin_h_metrics(a, rp);
		return 0;
	}
	if (span_eq_str(p, "/reload"))
		return admin_method(rq, ADMIN_M_POST, rp) == 0 ? 1 : 0;

	if (p.len > 7 && memcmp(p.p, "/rules/", 7) == 0) {
		seg = p.p + 7;
		end = p.p + p.len;
		if ((slash = memchr(seg, '/', (size_t)(end - seg))) == NULL) {
			slash = end;
			action = SPAN_NULL;
			mask = ADMIN_M_DELETE;
		} else {
			action = (struct span){ slash + 1,
			    (size_t)(end - slash - 1) };
			if (!span_eq_str(action, "enable") &&
			    !span_eq_str(action, "disable"))
				goto unknown;
			mask = ADMIN_M_POST;
		}
		if (admin_method(rq, mask, rp) == -1)
			return 0;
		if ((name = admin_decode_name(seg,
		    (size_t)(slash - seg))) == NULL) {
			admin_error(rp, 400, "bad rule name in the path");
			return 0;
		}
		if (action.len == 0)
			admin_h_rule_remove(a, name, rp);
		else
			admin_h_rule_enable(a, name,
			    span_eq_str(action, "enable"), rp);
		free(name);
		return 0;
	}
unknown:
	admin_error(rp, 404, "no such endpoint: %.*s", (int)p.len, p.p);
	return 0;
}

/* --- authentication --------------------------------------------------- */

/* Compares in time that depends on the token's length only. */
static int
admin_token_eq(const char *token, size_t len, struct span got)
{
	volatile unsigned char	d;
	size_t			i;

	d = got.len != len;
	for (i = 0; i < len; i++)
		d |= (unsigned char)token[i] ^
		    (unsigned char)(i < got.len ? got.p[i] : 0);
	return d == 0;
}

static int
admin_is_authorized(const struct admin *a, const struct http_msg *m)
{
	const struct http_header	*h;
	struct span			 v;

	if (a->token == NULL)
		return 1;
	if ((h = http_find_header(m, "Authorization")) == NULL)
		return 0;
	v = h->value;
	if (v.len < 7 || strncasecmp(v.p, "Bearer ", 7) != 0)
		return 0;
	v.p += 7;
	v.len -= 7;
	return admin_token_eq(a->token, a->token_len, span_trim(v));
}

/* --- connections ------------------------------------------------------ */

static int
admin_conn_accepted(struct hconn *h)
{
	struct admin_conn	*c = xcalloc(1, sizeof *c);

	c->a = httpd_arg(hconn_httpd(h));
	c->h = h;
	hconn_set_data(h, c);
	return 0;
}

static void
admin_conn_freed(struct hconn *h)
{
	struct admin_conn	*c = hconn_data(h);

	if (c == NULL)
		return;
	if (c->waiting != NULL)
		TAILQ_REMOVE(c->waiting, c, wait_entry);
	free(c);
}

/* Answers a request that cannot be read (httpd closes after it). */
static void
admin_conn_reject(struct hconn *h, int status, const char *why,
    size_t off)
{
	struct admin_reply	rp;

	log_info("admin: %s: %d %s (byte %zu); closing", hconn_peer(h),
	    status, why, off);
	admin_reply_init(&rp);
	admin_error(&rp, status, "%s", why);
	admin_reply_queue(hconn_data(h), &rp, 0, 0);
	buf_free(&rp.body);
}

/* Answers one complete request (or parks the connection for a reload). */
static void
admin_conn_request(struct hconn *h, const struct http_msg *m,
    const char *body, size_t body_len, uint64_t ready_ns)
{
	struct admin_conn	*c = hconn_data(h);
	struct admin		*a = c->a;
	struct admin_req	 rq;
	struct admin_reply	 rp;
	int			 keep, head_only;

	(void)ready_ns;
	keep = m->keep_alive && !a->stopping;
	head_only = span_eq_str(m->method, "HEAD");
	rq.method = m->method;
	rq.path = m->path;
	rq.query = m->query;
	rq.body = body;
	rq.body_len = body_len;
	admin_reply_init(&rp);
	if (!admin_is_authorized(a, m)) {
		log_info("admin: %s: 401 %.*s %.*s", hconn_peer(h),
		    (int)m->method.len, m->method.p, (int)m->path.len,
		    m->path.p);
		admin_error(&rp, 401, "a bearer token is required "
		    "(Authorization: Bearer TOKEN)");
		rp.challenge = 1;
	} else if (admin_route(a, &rq, &rp) == 1) {
		c->wait_keep = keep;
		hconn_hold(h, 1);
		hconn_set_deadline(h, 0);
		c->waiting = a->reloading ? &a->next : &a->running;
		TAILQ_INSERT_TAIL(c->waiting, c, wait_entry);
		if (!a->reloading)
			admin_reload_start(a);
		buf_free(&rp.body);
		return;
	}
	admin_reply_queue(c, &rp, head_only, keep);
	buf_free(&rp.body);
}

static void
admin_accept_failed(struct httpd *h, int err, uint64_t pause_ns)
{
	struct admin	*a = httpd_arg(h);
	uint64_t	 n;

	if ((n = log_every_count(&a->accept_log, 1, loop_now(a->loop),
	    ADMIN_LOG_INTERVAL_NS)) > 0)
		log_warn("admin: accept: %s: new connections wait %llums at a "
		    "time; %llu time%s since the last report", strerror(err),
		    (unsigned long long)(pause_ns / 1000000),
		    (unsigned long long)n, n == 1 ? "" : "s");
}

/* In struct httpd_role order (httpd.h): no drained, no budget. */
static const struct httpd_role admin_role = { admin_conn_request,
	admin_conn_reject, admin_conn_accepted, admin_conn_freed, NULL, NULL,
	admin_accept_failed };

static const struct httpd_config admin_httpd_config = {
	.max_head = ADMIN_MAX_HEAD,
	.max_body = ADMIN_MAX_BODY,
	.header_timeout_ns = ADMIN_HEADER_NS,
	.idle_timeout_ns = ADMIN_IDLE_NS,
	.body_timeout_ns = 0,	/* the header deadline, from each read */
	.linger_ns = ADMIN_LINGER_NS,
	.read_chunk = ADMIN_READ_CHUNK,
	.out_high = ADMIN_OUT_HIGH,
	.max_conns = ADMIN_MAX_CONNS,
	.too_large = "body too large (1MiB at most)",
	.too_large_chunked = "body too large (1MiB at most)",
	.log_prefix = "admin: ",
};

/* --- reloads ---------------------------------------------------------- */

static void *
admin_reload_main(void *arg)
{
	struct admin	*a = arg;
	uint64_t	 one = 1;
	char		*cause = NULL;

	a->reload_rv = respond_reload(a->r, &cause);
	a->reload_cause = cause;
	/* Nothing to do if the counter is saturated: the loop wakes anyway. */
	if (write(a->done_fd, &one, sizeof one) == -1)
		log_warn("admin: eventfd write: %s", strerror(errno));
	return NULL;
}

static void
admin_reload_start(struct admin *a)
{
	sigset_t	set, old;
	int		error;

	a->reloading = 1;
	a->reload_cause = NULL;
	sigfillset(&set);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	error = pthread_create(&a->reload_thread, NULL, admin_reload_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	a->reload_joinable = error == 0;
	if (error != 0) {
		/* Better a stalled loop than a refused reload. */
		log_warn("admin: no thread for the reload (%s): reloading "
		    "in the loop", strerror(error));
		admin_reload_main(a);
	}
}

/*
 * A reload ended: the connections that were waiting for it are answered,
 * and those that asked while it ran get a run of their own, started
 * first so that a reload pipelined behind an answer joins it.
 */
static void
admin_reload_done_cb(struct loop_io *io, uint32_t events)
{
	struct admin		*a = io->arg;
	struct admin_conn	*c;
	struct admin_waits	 done;
	struct admin_reply	 rp;
	uint64_t		 n;
	char			*cause;
	int			 rv, keep;

	if (read(a->done_fd, &n, sizeof n) == -1 || !a->reloading)
		return;
	if (a->reload_joinable)
		pthread_join(a->reload_thread, NULL);
	a->reloading = 0;
	rv = a->reload_rv;
	cause = a->reload_cause;
	a->reload_cause = NULL;
	if (rv == 0)
		log_info("admin: reloaded");
	else
		log_warn("admin: reload failed: %s", cause);

	/* The lists are re-pointed so that a close unlinks correctly. */
	TAILQ_INIT(&done);
	while ((c = TAILQ_FIRST(&a->running)) != NULL) {
		TAILQ_REMOVE(&a->running, c, wait_entry);
		TAILQ_INSERT_TAIL(&done, c, wait_entry);
		c->waiting = &done;
	}
	while ((c = TAILQ_FIRST(&a->next)) != NULL) {
		TAILQ_REMOVE(&a->next, c, wait_entry);
		TAILQ_INSERT_TAIL(&a->running, c, wait_entry);
		c->waiting = &a->running;
	}
	if (!TAILQ_EMPTY(&a->running))
		admin_reload_start(a);

	while ((c = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, c, wait_entry);
		c->waiting = NULL;
		/* A peer that finished sending meanwhile gets a close. */
		keep = c->wait_keep && !hconn_peer_eof(c->h);
		hconn_release(c->h);
		admin_reply_init(&rp);
		if (rv == 0)
			buf_append_str(&rp.body, "{\"status\":\"reloaded\"}\n");
		else
			/* The files were refused, not the server broken: a
			 * 4xx with the reason (the running set is kept). */
			admin_error(&rp, 422, "%s", cause != NULL ? cause :
			    "reload failed");
		admin_reply_queue(c, &rp, 0, keep);
		buf_free(&rp.body);
		hconn_set_deadline(c->h, loop_now(a->loop) + ADMIN_IDLE_NS);
		hconn_step(c->h);
	}
	free(cause);
}

/* --- the thread, start and stop --------------------------------------- */

static void *
admin_main(void *arg)
{
	struct admin		*a = arg;

	if (loop_run(a->loop) == -1)
		log_error("admin: event loop failed");
	a->stopping = 1;
	if (a->reloading) {
		if (a->reload_joinable)
			pthread_join(a->reload_thread, NULL);
		a->reloading = 0;
		free(a->reload_cause);
		a->reload_cause = NULL;
	}
	/* Every connection closed and freed (off the reload lists). */
	httpd_free(a->httpd);
	a->httpd = NULL;
	return NULL;
}

static int
admin_is_loopback(const struct sock_addr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*b;

	if (sa->ss.ss_family == AF_INET) {
		sin = (const struct sockaddr_in *)&sa->ss;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->ss.ss_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)&sa->ss;
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return 1;
		b = sin6->sin6_addr.s6_addr;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && b[12] == 127;
	}
	return 0;
}

int
admin_check(const char *addr, const char *token, char **cause)
{
	struct sock_addr	sa;

	if (sock_parse_addr(addr, &sa, cause) == -1)
		return -1;
	if (token != NULL && token[0] == '\0') {
		*cause = xstrdup("the bearer token is empty");
		return -1;
	}
	if (token == NULL && !admin_is_loopback(&sa)) {
		*cause = xasprintf("%s is not a loopback address; "
		    "refusing to serve it without a bearer token", addr);
		return -1;
	}
	return 0;
}

/* Frees what admin_start set up; the thread is not running. */
static void
admin_free(struct admin *a)
{
	httpd_free(a->httpd);
	if (a->loop != NULL && a->done_fd != -1)
		loop_io_del(a->loop, &a->done_io);
	if (a->lfd != -1)
		close(a->lfd);
	if (a->done_fd != -1)
		close(a->done_fd);
	loop_free(a->loop);
	if (a->token != NULL) {
		explicit_bzero(a->token, a->token_len);
		free(a->token);
	}
	free(a);
}

struct admin *
admin_create(struct responder *r, const char *addr, const char *token,
    const char *port_file, char **cause)
{
	struct admin		*a;
	struct sock_addr	 sa, bound;

	if (admin_check(addr, token, cause) == -1 ||
	    sock_parse_addr(addr, &sa, cause) == -1)
		return NULL;
	a = xcalloc(1, sizeof *a);
	a->r = r;
	a->lfd = -1;
	a->done_fd = -1;
	TAILQ_INIT(&a->running);
	TAILQ_INIT(&a->next);
	if (token != NULL) {
		a->token = xstrdup(token);
		a->token_len = strlen(token);
	}
	if ((a->loop = loop_create(cause)) == NULL)
		goto fail;
	if ((a->lfd = sock_listen(&sa, SOCK_SHARE_NONE, cause)) == -1)
		goto fail;
	if (sock_local_addr(a->lfd, &bound) == -1) {
		*cause = xasprintf("getsockname: %s", strerror(errno));
		goto fail;
	}
	a->port = sock_addr_port(&bound);
	sock_addr_str(&bound, a->name, sizeof a->name);
	a->httpd = httpd_create(a->loop, &admin_httpd_config, &admin_role, a);
	if (httpd_listen(a->httpd, a->lfd) == -1) {
		*cause = xasprintf("epoll_ctl: %s", strerror(errno));
		goto fail;
	}
	a->lfd = -1;		/* the httpd's now */
	if ((a->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		*cause = xasprintf("eventfd: %s", strerror(errno));
		goto fail;
	}
	if (loop_io_add(a->loop, &a->done_io, a->done_fd, EPOLLIN,
	    admin_reload_done_cb, a) == -1) {
		*cause = xasprintf("epoll_ctl: %s", strerror(errno));
		close(a->done_fd);
		a->done_fd = -1;
		goto fail;
	}
	if (port_file != NULL &&
	    sock_write_port_file(port_file, a->port, cause) == -1)
		goto fail;
	return a;

fail:
	admin_free(a);
	return NULL;
}

int
admin_serve(struct admin *a, char **cause)
{
	sigset_t	set, old;
	int		error;

	/* A peer gone mid-write is an EPIPE, not a signal (respond_run
	 * says the same, later). */
	signal(SIGPIPE, SIG_IGN);
	/* Signals are the main thread's business (respond_run). */
	sigfillset(&set);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	error = pthread_create(&a->thread, NULL, admin_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		*cause = xasprintf("pthread_create: %s",
		    strerror(error));
		return -1;
	}
	a->started = 1;
	log_info("admin API on %s%s", a->name, a->token != NULL ?
	    " (bearer token required)" : "");
	return 0;
}

struct admin *
admin_start(struct responder *r, const char *addr, const char *token,
    const char *port_file, char **cause)
{
	struct admin	*a;

	if ((a = admin_create(r, addr, token, port_file, cause)) == NULL)
		return NULL;
	if (admin_serve(a, cause) == -1) {
		admin_free(a);
		return NULL;
	}
	return a;
}

struct hconn *
admin_adopt(struct admin *a, struct conn *xc, const char *peer)
{
	return httpd_adopt(a->httpd, xc, peer);
}

int
admin_port(const struct admin *a)
{
	return a->port;
}

void
admin_stop(struct admin *a)
{
	if (a == NULL)
		return;
	if (a->started) {
		loop_stop(a->loop);
		pthread_join(a->thread, NULL);
	}
	admin_free(a);
}

char *
admin_token_load(const char *path, char **cause)
{
	struct stat	 st;
	FILE		*f;
	char		 chunk[4096];
	struct buf	 b;
	size_t		 n, i;

	if ((f = fopen(path, "r")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0)
		log_warn("%s: the admin token file is readable by %s (chmod "
		    "600 it)", path, (st.st_mode & 07) != 0 ? "everyone" :
		    "its group");
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= 4096)
		buf_append(&b, chunk, n);
	fclose(f);
	if (b.len > 0 && b.data[b.len - 1] == '\n')
		b.len--;
	if (b.len > 0 && b.data[b.len - 1] == '\r')
		b.len--;
	if (b.len == 0 || b.len > 4096) {
		*cause = xasprintf("%s: %s", path, b.len == 0 ?
		    "the token file is empty" : "the token is longer than "
		    "4096 bytes");
		buf_free(&b);
		return NULL;
	}
	for (i = 0; i < b.len; i++)
		if ((unsigned char)b.data[i] < 0x21 || b.data[i] == 0x7f) {
			*cause = xasprintf("%s: the token holds a space or a "
			    "control character (byte %zu)", path, i);
			buf_free(&b);
			return NULL;
		}
	b.data[b.len] = '\0';
	return buf_detach(&b, NULL);
}
