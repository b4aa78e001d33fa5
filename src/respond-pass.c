/*
 * respond-pass.c -- the responder's passthrough: unmatched requests
 * forwarded to the allowed dependency with a non-blocking httpc exchange
 * on the worker's loop, and the exchanges appended to --record-misses.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "conn.h"
#include "http.h"
#include "httpc.h"
#include "log.h"
#include "loop.h"
#include "respond-pass.h"
#include "snap.h"
#include "url.h"
#include "xmalloc.h"

#define PASS_TIMEOUT_NS		(30ull * 1000000000u)
#define PASS_MAX_REPLY		(256u * 1024 * 1024)

/* A resolved upstream, kept for the life of the passthrough. */
struct pass_target {
	char			*auth;		/* "host:port" as asked */
	int			 tls;
	int			 ok;
	char			*err;		/* when not ok */
	struct httpc_target	 t;
};

struct respond_pass {
	char			**allow;
	size_t			 nallow;
	uint64_t		 timeout_ns;
	char			*ca;		/* https: NULL: system CAs */
	pthread_mutex_t		 lock;		/* targets */
	struct pass_target	**targets;
	size_t			 ntargets;
	pthread_mutex_t		 out_lock;	/* misses, all workers */
	struct snap_out		 out;
	int			 has_out;
};

struct respond_pass_x {
	struct respond_pass	*p;
	struct loop		*loop;
	struct httpc_conn	 hc;
	struct loop_io		 io;
	int			 io_added;
	struct loop_timer	 timer;
	struct buf		 req;		/* the request sent */
	size_t			 req_head;	/* its head's length */
	int			 head_request;
	int			 tls;
	char			*dest;
	respond_pass_cb		 done;
	void			*arg;
	/* The request's trailers (HTTP/2), for --record-misses only: the
	 * dependency is sent the request without them. */
	struct snap_header	*trl;
	size_t			 ntrl;
};

/* Adds the comma-separated hosts of list to the allow list. */
static void
pass_allow_add(struct respond_pass *p, const char *list)
{
	const char	*s = list, *e;

	for (;; s = e + 1) {
		if ((e = strchr(s, ',')) == NULL)
			e = s + strlen(s);
		if (e > s) {
			p->allow = xreallocarray(p->allow, p->nallow + 1,
			    sizeof *p->allow);
			p->allow[p->nallow++] = xstrndup(s, (size_t)(e - s));
		}
		if (*e == '\0')
			break;
	}
}

struct respond_pass *
respond_pass_create(char *const *allow, size_t nallow, const char *misses,
    const char *ca, uint64_t timeout_ns, char **cause)
{
	struct respond_pass	*p = xcalloc(1, sizeof *p);
	size_t			 i;

	if (misses != NULL) {
		if (snap_out_open(&p->out, misses, 1, cause) == -1) {
			free(p);
			return NULL;
		}
		p->has_out = 1;
	}
	for (i = 0; i < nallow; i++)
		pass_allow_add(p, allow[i]);
	p->timeout_ns = timeout_ns != 0 ? timeout_ns : PASS_TIMEOUT_NS;
	p->ca = ca != NULL ? xstrdup(ca) : NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->out_lock, NULL);
	return p;
}

void
respond_pass_free(struct respond_pass *p)
{
	char	*cause = NULL;
	size_t	 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nallow; i++)
		free(p->allow[i]);
	free(p->allow);
	for (i = 0; i < p->ntargets; i++) {
		if (p->targets[i]->ok)
			httpc_target_free(&p->targets[i]->t);
		free(p->targets[i]->auth);
		free(p->targets[i]->err);
		free(p->targets[i]);
	}
	free(p->targets);
	free(p->ca);
	if (p->has_out && snap_out_close(&p->out, &cause) == -1) {
		log_warn("%s", cause);
		free(cause);
	}
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->out_lock);
	free(p);
}

/* host without its ":port" (an IPv6 literal keeps its brackets). */
static struct span
pass_host_name(struct span host)
{
	size_t	i;

	for (i = host.len; i > 0; i--) {
		if (host.p[i - 1] == ']')
			break;
		if (host.p[i - 1] == ':') {
			host.len = i - 1;
			break;
		}
	}
	return host;
}

int
respond_pass_allowed(const struct respond_pass *p, struct span host,
    int recorded)
{
	struct span	a;
	size_t		i;

	if (host.len == 0)
		return 0;
	if (p->nallow == 0)
		return recorded;
	for (i = 0; i < p->nallow; i++) {
		a = span_from_str(p->allow[i]);
		if (span_caseeq(a, host))
			return 1;
		if (span_eq(pass_host_name(a), a) &&
		    span_caseeq(a, pass_host_name(host)))
			return 1;
	}
	return 0;
}

/* The target for auth, resolved on first use (blocking, once). */
static struct pass_target *
pass_target(struct respond_pass *p, const char *auth, int tls)
{
	struct pass_target	*pt;
	struct url		 u;
	const char		*why;
	size_t			 i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->ntargets; i++) {
		if (strcasecmp(p->targets[i]->auth, auth) == 0 &&
		    p->targets[i]->tls == tls) {
			pt = p->targets[i];
			pthread_mutex_unlock(&p->lock);
			return pt;
		}
	}
	pt = xcalloc(1, sizeof *pt);
	pt->auth = xstrdup(auth);
	pt->tls = tls;
	if (url_parse_authority(auth, strlen(auth), tls, &u, &why) == -1)
		pt->err = xasprintf("bad authority: %s", why);
	else if (httpc_target_init(&pt->t, &u, p->ca, 0, &pt->err) == 0)
		pt->ok = 1;
	p->targets = xreallocarray(p->targets, p->ntargets + 1,
	    sizeof *p->targets);
	p->targets[p->ntargets++] = pt;
	pthread_mutex_unlock(&p->lock);
	return pt;
}

void
respond_pass_error(struct buf *head, struct buf *body, const char *cause)
{
	buf_reset(body);
	buf_printf(body, "decoy: passthrough failed: %s\n", cause);
	buf_reset(head);
	buf_printf(head, "HTTP/1.1 502 Bad Gateway\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n", body->len);
}

/* The request as forwarded: its line and headers less the framing ones,
 * Content-Length for a body, Connection: close. */
static void
pass_build_request(struct respond_pass_x *x, const struct http_msg *m,
    const char *body, size_t body_len)
{
	struct buf	*b = &x->req;
	size_t		 i;

	buf_append_span(b, m->method);
	buf_append_byte(b, ' ');
	if (m->authority.len > 0) {
		/* Absolute-form: origin-form to the dependency. */
		buf_append_str(b, "/");
		if (m->path.len > 0 && m->path.p[0] == '/')
			b->len--;
		buf_append_span(b, m->path);
		if (m->query.len > 0) {
			buf_append_byte(b, '?');
			buf_append_span(b, m->query);
		}
	} else
		buf_append_span(b, m->target);
	buf_append_str(b, " HTTP/1.1\r\n");
	if (m->host.len == 0 && m->authority.len > 0) {
		buf_append_str(b, "Host: ");
		buf_append_span(b, m->authority);
		buf_append_str(b, "\r\n");
	}
	for (i = 0; i < m->nheaders; i++) {
		if (http_is_framing_header(m->headers[i].name) ||
		    span_caseeq_str(m->headers[i].name, "Expect"))
			continue;
		http_write_header(b, m->headers[i].name, m->headers[i].value);
	}
	if (body_len > 0 || span_eq_str(m->method, "POST") ||
	    span_eq_str(m->method, "PUT") || span_eq_str(m->method, "PATCH"))
		buf_printf(b, "Content-Length: %zu\r\n", body_len);
	buf_append_str(b, "Connection: close\r\n\r\n");
	x->req_head = b->len;
	buf_append(b, body, body_len);
}

/* The response's head for the client: framing headers replaced. */
static int
pass_reply_head(struct respond_pass_x *x, const struct http_msg *r,
    size_t body_len, struct buf *head)
{
	const char	*in = x->hc.in.data;
	const char	*eol = memchr(in, '\n', x->hc.resp.head_len);
	const struct http_header *cl;
	size_t		 i;

	if (eol == NULL)
		return -1;
	buf_append(head, in, (size_t)(eol - in) + 1);
	for (i = 0; i < r->nheaders; i++) {
		if (http_is_framing_header(r->headers[i].name))
			continue;
		http_write_header(head, r->headers[i].name,
		    r->headers[i].value);
	}
	if (x->head_request || r->status == 304) {
		if ((cl = http_find_header(r, "Content-Length")) != NULL)
			http_write_header(head, cl->name, cl->value);
	} else if (r->status != 204 && r->status >= 200)
		buf_printf(head, "Content-Length: %zu\r\n", body_len);
	return 0;
}

/* Copies fields (a parsed head's headers, trailers) into snapshot
 * headers. */
static struct snap_header *
pass_snap_headers(const struct http_header *h, size_t nh, size_t *n)
{
	struct snap_header	*v = xcalloc(nh + 1, sizeof *v);
	size_t			 i, k = 0;

	for (i = 0; i < nh; i++) {
		if (http_is_framing_header(h[i].name))
			continue;
		v[k].name = span_dup(h[i].name);
		v[k].value = span_dup(h[i].value);
		k++;
	}
	*n = k;
	return v;
}

/* Appends the exchange to --record-misses: one whole line, one lock. */
static void
pass_record(struct respond_pass_x *x, const struct http_msg *res,
    struct span body)
{
	struct respond_pass	*p = x->p;
	struct http_msg		 req;
	struct snap_txn		 t;
	struct buf		 line;
	enum http_err		 err;
	size_t			 off;
	int			 e;

	if (!p->has_out || http_parse_request(x->req.data, x->req_head, 0,
	    &req, &err, &off) <= 0)
		return;
	snap_txn_init(&t);
	t.dir = SNAP_DIR_OUT;
	t.has_res = 1;
	t.server = xstrdup(x->dest);
	t.tls = x->tls;
	t.req.method = span_dup(req.method);
	t.req.target = span_dup(req.target);
	t.req.host = span_dup(req.host);
	t.req.headers = pass_snap_headers(req.headers, req.nheaders,
	    &t.req.nheaders);
	t.req.trailers = x->trl;
	t.req.ntrailers = x->ntrl;
	x->trl = NULL;
	x->ntrl = 0;
	if (x->req.len > x->req_head) {
		t.req.body_len = x->req.len - x->req_head;
		t.req.body = xstrndup(x->req.data + x->req_head,
		    t.req.body_len);
	}
	t.res.status = res->status;
	t.res.reason = span_dup(res->reason);
	t.res.headers = pass_snap_headers(res->headers, res->nheaders,
	    &t.res.nheaders);
	if (body.len > 0) {
		t.res.body = xstrndup(body.p, body.len);
		t.res.body_len = body.len;
	}
	buf_init(&line);
	snap_encode(&line, &t);
	pthread_mutex_lock(&p->out_lock);
	if (snap_out_write(&p->out, line.data, line.len, &e) != line.len)
		log_warn("%s: %s", p->out.name, strerror(e));
	pthread_mutex_unlock(&p->out_lock);
	buf_free(&line);
	snap_txn_free(&t);
}

/* Ends the exchange: its callback, then it is freed. */
static void
pass_finish(struct respond_pass_x *x, struct buf *head, struct buf *body)
{
	respond_pass_cb	 done = x->done;
	void		*arg = x->arg;

	respond_pass_cancel(x);
	done(arg, head, body);
}

static void
pass_fail(struct respond_pass_x *x, const char *why)
{
	struct buf	head, body;
	char		*cause;

	cause = xasprintf("%s: %s", x->dest, why);
	buf_init(&head);
	buf_init(&body);
	respond_pass_error(&head, &body, cause);
	log_warn("passthrough: %s", cause);
	free(cause);
	pass_finish(x, &head, &body);
}

static void
pass_timeout(struct loop_timer *t)
{
	pass_fail(t->arg, "timed out");
}

/* A complete response: its reply, its record. */
static void
pass_answered(struct respond_pass_x *x, struct span body)
{
	struct http_msg	 r;
	struct buf	 head, b;
	enum http_err	 err;
	size_t		 off;

	if (http_parse_response(x->hc.in.data, x->hc.resp.head_len, 0,
	    x->head_request, &r, &err, &off) <= 0) {
		pass_fail(x, "a response head that does not parse");
		return;
	}
	buf_init(&head);
	buf_init(&b);
	if (pass_reply_head(x, &r, body.len, &head) == -1) {
		buf_free(&head);
		pass_fail(x, "a response head that does not parse");
		return;
	}
	buf_append(&b, body.p, body.len);
	pass_record(x, &r, body);
	pass_finish(x, &head, &b);
}

static void
pass_io(struct loop_io *io, uint32_t events)
{
	struct respond_pass_x	*x = io->arg;
	struct span		 body;
	int			 ops, rv;

	if (x->hc.state != HTTPC_OPEN) {
		if ((rv = httpc_conn_handshake(&x->hc)) == -1) {
			pass_fail(x, x->hc.err);
			return;
		}
		if (rv == 0)
			goto poll;
	}
	ops = httpc_conn_ready(&x->hc, conn_epoll_ready(events));
	if (x->hc.woff < x->hc.req_len && httpc_conn_write(&x->hc) == -1) {
		pass_fail(x, x->hc.err);
		return;
	}
	if (ops & CONN_READ) {
		if (httpc_conn_read(&x->hc) == -1) {
			pass_fail(x, x->hc.err);
			return;
		}
		if (x->hc.in.len > PASS_MAX_REPLY) {
			pass_fail(x, "a response over 256 MiB");
			return;
		}
		rv = httpc_conn_response(&x->hc, &body);
		if (rv == -1) {
			pass_fail(x, httpc_resp_strerror(&x->hc.resp));
			return;
		}
		if (rv == 1) {
			pass_answered(x, body);
			return;
		}
	}
poll:
	loop_io_mod(x->loop, &x->io,
	    conn_epoll_events(httpc_conn_events(&x->hc)));
}

struct respond_pass_x *
respond_pass_start(struct respond_pass *p, struct loop *loop,
    const struct http_msg *m, const char *body, size_t body_len,
    const char *dest, int tls, respond_pass_cb done, void *arg)
{
	struct respond_pass_x	*x = xcalloc(1, sizeof *x);
	struct pass_target	*pt;
	struct span		 auth;

	x->p = p;
	x->loop = loop;
	x->done = done;
	x->arg = arg;
	buf_init(&x->req);
	loop_timer_init(&x->timer, pass_timeout, x);
	auth = m->authority.len > 0 ? m->authority : m->host;
	x->dest = dest != NULL ? xstrdup(dest) : span_dup(auth);
	x->head_request = span_eq_str(m->method, "HEAD");
	x->tls = tls;
	if (m->ntrailers > 0)
		x->trl = pass_snap_headers(m->trailers, m->ntrailers,
		    &x->ntrl);
	pt = pass_target(p, x->dest, tls);
	httpc_conn_init(&x->hc, pt->ok ? &pt->t : NULL);
	if (!pt->ok) {
		pass_fail(x, pt->err);
		return NULL;
	}
	pass_build_request(x, m, body, body_len);
	httpc_conn_send(&x->hc, x->req.data, x->req.len, x->head_request);
	if (httpc_conn_open(&x->hc) == -1) {
		pass_fail(x, x->hc.err[0] != '\0' ? x->hc.err :
		    strerror(errno));
		return NULL;
	}
	if (loop_io_add(loop, &x->io, httpc_conn_fd(&x->hc),
	    conn_epoll_events(CONN_READ | CONN_WRITE), pass_io, x) == -1) {
		pass_fail(x, strerror(errno));
		return NULL;
	}
	x->io_added = 1;
	loop_timer_add(loop, &x->timer, p->timeout_ns);
	return x;
}

void
respond_pass_cancel(struct respond_pass_x *x)
{
	if (x == NULL)
		return;
	if (x->io_added)
		loop_io_del(x->loop, &x->io);
	loop_timer_del(x->loop, &x->timer);
	httpc_conn_free(&x->hc);
	buf_free(&x->req);
	free(x->dest);
	if (x->trl != NULL) {
		struct snap_txn	t;

		snap_txn_init(&t);
		t.req.trailers = x->trl;
		t.req.ntrailers = x->ntrl;
		snap_txn_free(&t);
	}
	free(x);
}
