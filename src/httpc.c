/*
 * httpc.c -- the HTTP/1.1 client of httpc.h: response framing, targets,
 * non-blocking client connections over conn.h (TCP, then TLS for https),
 * and the blocking one-shot request of the commands.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpc.h"
#include "loop.h"
#include "xmalloc.h"

#define HTTPC_READ_CHUNK	(16 * 1024)
#define HTTPC_FETCH_TIMEOUT	(30ull * 1000000000u)
#define HTTPC_FETCH_MAX		(256u * 1024 * 1024)

/* --- framing ---------------------------------------------------------- */

void
httpc_resp_init(struct httpc_resp *r, int head_request, size_t max_head)
{
	memset(r, 0, sizeof *r);
	r->head_request = head_request;
	r->max_head = max_head;
	http_chunked_init(&r->ch);
}

static int
httpc_resp_fail(struct httpc_resp *r, enum httpc_err err)
{
	r->err = err;
	return -1;
}

/* The final head: 0 while partial, 1 once read, -1 on failure. */
static int
httpc_resp_head(struct httpc_resp *r, struct buf *in, int eof)
{
	struct http_msg	 m;
	size_t		 erroff;
	ssize_t		 n;

	for (;;) {
		n = http_parse_response(in->data, in->len, r->max_head,
		    r->head_request, &m, &r->http_err, &erroff);
		if (n == HTTP_PARTIAL) {
			if (!eof)
				return 0;
			return httpc_resp_fail(r, in->len == 0 ?
			    HTTPC_E_CLOSED : HTTPC_E_PROTOCOL);
		}
		if (n == HTTP_ERROR)
			return httpc_resp_fail(r, HTTPC_E_PROTOCOL);
		if (m.status < 200 && m.status != 101) {
			buf_consume(in, (size_t)n);	/* 100 Continue */
			continue;
		}
		r->head_done = 1;
		r->status = m.status;
		r->framing = m.framing;
		r->content_length = m.content_length;
		r->keep_alive = m.keep_alive;
		r->head_len = (size_t)n;
		r->body_end = (size_t)n;
		return 1;
	}
}

int
httpc_resp_read(struct httpc_resp *r, struct buf *in, int eof,
    struct span *body)
{
	size_t	 erroff, len;
	ssize_t	 n;
	int	 rv;

	if (!r->head_done && (rv = httpc_resp_head(r, in, eof)) != 1)
		return rv;
	switch (r->framing) {
	case HTTP_FRAME_NONE:
		if (in->len > r->head_len)
			r->keep_alive = 0;	/* stray bytes */
		r->body_end = r->head_len;
		break;
	case HTTP_FRAME_LENGTH:
		if (in->len - r->head_len < r->content_length)
			return eof ? httpc_resp_fail(r, HTTPC_E_CLOSED) : 0;
		if (in->len - r->head_len > r->content_length)
			r->keep_alive = 0;
		r->body_end = r->head_len + (size_t)r->content_length;
		break;
	case HTTP_FRAME_CHUNKED:
		len = in->len - r->body_end;
		n = http_chunked_decode(&r->ch, in->data + r->body_end, &len,
		    &r->http_err, &erroff);
		if (n == HTTP_ERROR)
			return httpc_resp_fail(r, HTTPC_E_PROTOCOL);
		r->body_end += len;
		if (n == HTTP_PARTIAL) {
			in->len = r->body_end;
			return eof ? httpc_resp_fail(r, HTTPC_E_CLOSED) : 0;
		}
		if (n > 0)
			r->keep_alive = 0;
		break;
	case HTTP_FRAME_EOF:
		if (!eof)
			return 0;
		r->keep_alive = 0;
		r->body_end = in->len;
		break;
	}
	*body = (struct span){ in->data + r->head_len,
	    r->body_end - r->head_len };
	return 1;
}

const char *
httpc_resp_strerror(const struct httpc_resp *r)
{
	switch (r->err) {
	case HTTPC_E_NONE:
		return "no error";
	case HTTPC_E_CLOSED:
		return "the connection closed before the response was "
		    "complete";
	case HTTPC_E_PROTOCOL:
		return r->http_err != HTTP_E_NONE ?
		    http_strerror(r->http_err) : "a truncated response head";
	}
	return "unknown error";
}

/* --- targets ---------------------------------------------------------- */

int
httpc_target_init(struct httpc_target *t, const struct url *u,
    const char *ca, int insecure, char **cause)
{
	return httpc_target_init_alpn(t, u, ca, insecure, NULL, cause);
}

int
httpc_target_init_alpn(struct httpc_target *t, const struct url *u,
    const char *ca, int insecure, const char *alpn, char **cause)
{
	struct conn_tls_config	 cfg;

	memset(t, 0, sizeof *t);
	if (sock_resolve_url(u, &t->addr, cause) == -1)
		return -1;
	t->host = span_dup(u->authority);
	t->insecure = insecure;
	if (u->tls) {
		memset(&cfg, 0, sizeof cfg);
		cfg.ca_file = ca;
		cfg.insecure = insecure;
		cfg.alpn = alpn;
		if ((t->tls = conn_tls_client_ctx(&cfg, cause)) == NULL) {
			httpc_target_free(t);
			return -1;
		}
		t->tls_name = url_host_dup(u);
	}
	return 0;
}

void
httpc_target_free(struct httpc_target *t)
{
	free(t->host);
	free(t->tls_name);
	conn_tls_ctx_free(t->tls);
	memset(t, 0, sizeof *t);
}

struct conn *
httpc_tcp_connect(const struct sock_addr *addr)
{
	int	fd, one = 1, saved;

	fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return NULL;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (const struct sockaddr *)&addr->ss, addr->len) == -1 &&
	    errno != EINPROGRESS) {
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	return conn_tcp_create(fd, CONN_F_CONNECTING);
}

/* --- connections ------------------------------------------------------ */

void
httpc_conn_init(struct httpc_conn *c, const struct httpc_target *t)
{
	memset(c, 0, sizeof *c);
	c->t = t;
	c->state = HTTPC_CLOSED;
	buf_init(&c->in);
	httpc_resp_init(&c->resp, 0, 0);
}

void
httpc_conn_free(struct httpc_conn *c)
{
	httpc_conn_close(c);
	buf_free(&c->in);
}

/* Notes why c failed: the transport's reason, else errno's. */
static void
httpc_conn_note(struct httpc_conn *c)
{
	int	saved = errno;

	if (c->conn != NULL && conn_error(c->conn)[0] != '\0')
		snprintf(c->err, sizeof c->err, "%s", conn_error(c->conn));
	else
		snprintf(c->err, sizeof c->err, "%s", strerror(saved));
	errno = saved;
}

int
httpc_conn_open(struct httpc_conn *c)
{
	httpc_conn_close(c);
	c->err[0] = '\0';
	if ((c->conn = httpc_tcp_connect(&c->t->addr)) == NULL) {
		httpc_conn_note(c);
		return -1;
	}
	c->state = HTTPC_CONNECTING;
	return 0;
}

void
httpc_conn_attach(struct httpc_conn *c, struct conn *conn)
{
	httpc_conn_close(c);
	c->err[0] = '\0';
	c->conn = conn;
	c->state = conn_is_established(conn) ? HTTPC_OPEN : HTTPC_HANDSHAKE;
}

void
httpc_conn_close(struct httpc_conn *c)
{
	conn_close(c->conn);
	c->conn = NULL;
	c->state = HTTPC_CLOSED;
	c->eof = 0;
	buf_reset(&c->in);
	httpc_resp_init(&c->resp, c->resp.head_request, c->resp.max_head);
}

int
httpc_conn_handshake(struct httpc_conn *c)
{
	char	*cause = NULL;
	int	 r;

	if (c->state == HTTPC_OPEN)
		return 1;
	if (c->state == HTTPC_CLOSED || c->conn == NULL) {
		errno = ENOTCONN;
		snprintf(c->err, sizeof c->err, "not connected");
		return -1;
	}
	if ((r = conn_handshake(c->conn)) != 1) {
		if (r == -1)
			httpc_conn_note(c);
		return r;
	}
	if (c->state == HTTPC_CONNECTING && c->t->tls != NULL) {
		c->state = HTTPC_HANDSHAKE;
		/* conn_tls_client owns the tcp conn now, on failure too. */
		c->conn = conn_tls_client(c->t->tls, c->conn, c->t->tls_name,
		    &cause);
		if (c->conn == NULL) {
			snprintf(c->err, sizeof c->err, "%s", cause);
			free(cause);
			errno = EIO;
			return -1;
		}
		return httpc_conn_handshake(c);
	}
	c->state = HTTPC_OPEN;
	return 1;
}

void
httpc_conn_send(struct httpc_conn *c, const char *req, size_t len, int head)
{
	c->req = req;
	c->req_len = len;
	c->woff = 0;
	c->eof = 0;
	buf_reset(&c->in);
	httpc_resp_init(&c->resp, head, c->resp.max_head);
}

int
httpc_conn_write(struct httpc_conn *c)
{
	ssize_t	n;

	if (c->state != HTTPC_OPEN)
		return 0;	/* written once open */
	while (c->woff < c->req_len) {
		n = conn_write(c->conn, c->req + c->woff, c->req_len - c->woff);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			httpc_conn_note(c);
			return -1;
		}
		c->woff += (size_t)n;
	}
	return 1;
}

int
httpc_conn_read(struct httpc_conn *c)
{
	ssize_t	n;
	int	got = 0;

	if (c->state != HTTPC_OPEN || c->eof)
		return 0;
	for (;;) {
		buf_reserve(&c->in, HTTPC_READ_CHUNK);
		n = conn_read(c->conn, c->in.data + c->in.len,
		    c->in.cap - c->in.len - 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			httpc_conn_note(c);
			return -1;
		}
		got = 1;
		if (n == 0) {
			c->eof = 1;
			break;
		}
		c->in.len += (size_t)n;
		c->in.data[c->in.len] = '\0';
		/* What is still in the socket wakes the poller again; what
		 * TLS already holds would not. */
		if (conn_pending(c->conn) == 0)
			break;
	}
	return got;
}

int
httpc_conn_response(struct httpc_conn *c, struct span *body)
{
	return httpc_resp_read(&c->resp, &c->in, c->eof, body);
}

int
httpc_conn_events(const struct httpc_conn *c)
{
	int	want = CONN_READ;

	if (c->conn == NULL)
		return 0;
	if (c->state != HTTPC_OPEN)
		return conn_events(c->conn, 0);
	if (c->woff < c->req_len)
		want |= CONN_WRITE;
	return conn_events(c->conn, want);
}

int
httpc_conn_ready(const struct httpc_conn *c, int events)
{
	if (c->conn == NULL)
		return 0;
	return conn_ready(c->conn, events);
}

int
httpc_conn_fd(const struct httpc_conn *c)
{
	return c->conn != NULL ? conn_fd(c->conn) : -1;
}

/* --- one-shot requests ------------------------------------------------ */

/* Waits until c can progress or the deadline passes: 0 or -1 (errno). */
static int
httpc_fetch_wait(const struct httpc_conn *c, uint64_t deadline)
{
	struct pollfd	pfd;
	uint64_t	now;
	int		ev, n;

	ev = httpc_conn_events(c);
	for (;;) {
		if ((now = loop_clock_ns()) >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = httpc_conn_fd(c);
		pfd.events = (short)(((ev & CONN_READ) ? POLLIN : 0) |
		    ((ev & CONN_WRITE) ? POLLOUT : 0));
		pfd.revents = 0;
		n = poll(&pfd, 1, (int)((deadline - now + 999999) / 1000000));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n > 0)
			return 0;
	}
}

int
httpc_conn_open_wait(struct httpc_conn *c, uint64_t deadline)
{
	int	r;

	if (httpc_conn_open(c) == -1)
		return -1;
	while ((r = httpc_conn_handshake(c)) == 0) {
		if (httpc_fetch_wait(c, deadline) == -1) {
			snprintf(c->err, sizeof c->err, "%s", errno ==
			    ETIMEDOUT ? "timed out" : strerror(errno));
			return -1;
		}
	}
	return r == 1 ? 0 : -1;
}

static void
httpc_fetch_build(const struct httpc_target *t,
    const struct httpc_request *req, struct buf *b)
{
	const char	*body = req->body;

	http_write_request_line(b, span_from_str(req->method),
	    span_from_str(req->target));
	http_write_header(b, SPAN_LIT("Host"), span_from_str(t->host));
	if (req->headers != NULL)
		buf_append_str(b, req->headers);
	if (body == NULL && strcmp(req->method, "POST") == 0)
		body = "";
	if (body != NULL)
		buf_printf(b, "Content-Length: %zu\r\n", req->body_len);
	http_write_header(b, SPAN_LIT("Connection"), SPAN_LIT("close"));
	buf_append(b, "\r\n", 2);
	if (body != NULL)
		buf_append(b, body, req->body_len);
}

/* Connects (TLS included): 0, or -1 with *cause. */
static int
httpc_fetch_connect(struct httpc_conn *c, struct httpc_reply *rp,
    uint64_t deadline, char **cause)
{
	if (httpc_conn_open_wait(c, deadline) == 0)
		return 0;
	if (c->state == HTTPC_HANDSHAKE) {
		rp->tls_verify_failed = !c->t->insecure &&
		    strncmp(c->err, "certificate verify failed", 25) == 0;
		*cause = xasprintf("%s: TLS handshake failed: %s", c->t->host,
		    c->err);
	} else
		*cause = xasprintf("cannot connect to %s: %s", c->t->host,
		    c->err);
	return -1;
}

/* Writes the request; a server that answers early (401, 413) and closes
 * is read all the same.  0, or -1 with *cause. */
static int
httpc_fetch_send(struct httpc_conn *c, uint64_t deadline, char **cause)
{
	int	r;

	while ((r = httpc_conn_write(c)) == 0)
		if (httpc_fetch_wait(c, deadline) == -1)
			break;
	if (r == 1 || (r == -1 && (errno == EPIPE || errno == ECONNRESET)))
		return 0;
	*cause = xasprintf("%s: %s", c->t->host, r == 0 ?
	    "timed out sending" : c->err);
	return -1;
}

/* Reads the reply into rp: 0, or -1 with *cause. */
static int
httpc_fetch_recv(struct httpc_conn *c, const struct httpc_request *req,
    struct httpc_reply *rp, uint64_t deadline, char **cause)
{
	size_t	max = req->max_reply > 0 ? req->max_reply : HTTPC_FETCH_MAX;
	int	r;

	for (;;) {
		if ((r = httpc_conn_response(c, &rp->body)) == 1)
			break;
		if (r == -1) {
			*cause = xasprintf("%s: bad reply: %s", c->t->host,
			    httpc_resp_strerror(&c->resp));
			return -1;
		}
		if (c->in.len > max) {
			*cause = xasprintf("%s: reply too large", c->t->host);
			return -1;
		}
		if ((r = httpc_conn_read(c)) == -1) {
			*cause = xasprintf("%s: %s", c->t->host, c->err);
			return -1;
		}
		if (r == 0 && httpc_fetch_wait(c, deadline) == -1) {
			*cause = xasprintf("%s: %s", c->t->host,
			    errno == ETIMEDOUT ? "no reply in time" :
			    strerror(errno));
			return -1;
		}
	}
	rp->status = c->resp.status;
	/* The reply's bytes move to rp->raw; body still points into them. */
	rp->raw = c->in;
	buf_init(&c->in);
	return 0;
}

int
httpc_fetch(const struct httpc_target *t, const struct httpc_request *req,
    struct httpc_reply *rp, char **cause)
{
	struct httpc_conn	 c;
	struct buf		 b;
	uint64_t		 deadline;
	int			 rv = -1;

	memset(rp, 0, sizeof *rp);
	buf_init(&rp->raw);
	deadline = loop_clock_ns() + (req->timeout_ns > 0 ? req->timeout_ns :
	    HTTPC_FETCH_TIMEOUT);
	buf_init(&b);
	httpc_fetch_build(t, req, &b);
	httpc_conn_init(&c, t);
	c.resp.max_head = req->max_head;
	if (httpc_fetch_connect(&c, rp, deadline, cause) == -1)
		goto out;
	httpc_conn_send(&c, b.data, b.len, strcmp(req->method, "HEAD") == 0);
	if (httpc_fetch_send(&c, deadline, cause) == -1 ||
	    httpc_fetch_recv(&c, req, rp, deadline, cause) == -1)
		goto out;
	rv = 0;
out:
	httpc_conn_free(&c);
	buf_free(&b);
	return rv;
}
