/*
 * test-httpd-h2.c -- the HTTP/2 glue of the HTTP server (httpd-h2.c) over
 * the in-memory transport: an nghttp2 client session on one end of a mem
 * pair, an httpd connection on the other, a small role answering with
 * HTTP/1.1-formatted replies.  Covers the preface sniffing, a request per
 * stream with its pseudo-headers mapped (method, target, path, query,
 * Host), a request body, the reply's headers lowercased without the
 * hop-by-hop ones, a held stream that does not hold its sibling, aborts
 * and resets with a code (RST_STREAM), a body closed short of its length,
 * a body over max_body (413 on the stream), GOAWAY from a stream, the
 * flow-control stall, the SETTINGS timeout, the Upgrade: h2c dance, and
 * a reply head kept (made into fields once) and changed in place,
 * expect: 100-continue (a 100 HEADERS frame) and request trailers.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "buf.h"
#include "conn.h"
#include "httpd.h"
#include "httpd-int.h"
#include "loop.h"
#include "unit.h"

/* The httpd configuration the h2 tests share: small limits, h2 on, an
 * output bound of out_high bytes. */
static struct httpd_config
h2_config(uint64_t out_high)
{
	struct httpd_config	cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.max_head = 1024;
	cfg.max_body = 64;
	cfg.header_timeout_ns = 10ull * 1000000000u;
	cfg.idle_timeout_ns = 60ull * 1000000000u;
	cfg.linger_ns = 1000000000u;
	cfg.out_high = out_high;
	cfg.h2 = 1;
	return cfg;
}

/* --- the role --------------------------------------------------------- */

static struct hconn	*held;
static int		 n_requests;
static char		 last_host[64], last_query[64], last_method[16];
static char		 last_trailers[64];	/* "name=value;" each */
static size_t		 big_len;	/* "/big" body bytes */
/* "/kept": a head queued from storage the role keeps (not owned), as a
 * recording's is; the glue keeps the fields it made from it. */
static char		 kept_head[] = "HTTP/1.1 200 OK\r\nX-Test: A\r\n"
			    "Content-Length: 4";
/* "/kept-ck": a kept chunked head and body: one chunk and trailers
 * (planned once), or two chunks ("/kept-ck2", never planned). */
static const char	 kept_ck_head[] = "HTTP/1.1 200 OK\r\n"
			    "Transfer-Encoding: chunked";
static char		 kept_ck_body[] = "5\r\nhello\r\n0\r\nX-Sum: abc\r\n"
			    "Connection: x\r\n\r\n";
static const char	 kept_ck2_body[] = "2\r\nhe\r\n3\r\nllo\r\n0\r\n"
			    "X-Sum: two\r\n\r\n";

static void
role_request(struct hconn *c, const struct http_msg *m, const char *body,
    size_t body_len, uint64_t ready_ns)
{
	struct buf	b;

	(void)ready_ns;
	n_requests++;
	snprintf(last_host, sizeof last_host, "%.*s", (int)m->host.len,
	    m->host.p);
	snprintf(last_query, sizeof last_query, "%.*s", (int)m->query.len,
	    m->query.p);
	snprintf(last_method, sizeof last_method, "%.*s", (int)m->method.len,
	    m->method.p);
	last_trailers[0] = '\0';
	for (size_t i = 0; i < m->ntrailers; i++)
		snprintf(last_trailers + strlen(last_trailers),
		    sizeof last_trailers - strlen(last_trailers), "%.*s=%.*s;",
		    (int)m->trailers[i].name.len, m->trailers[i].name.p,
		    (int)m->trailers[i].value.len, m->trailers[i].value.p);
	if (span_eq_str(m->path, "/abort")) {
		hconn_abort(c);
		return;
	}
	if (span_eq_str(m->path, "/refuse")) {
		hconn_h2_reset(c, NGHTTP2_REFUSED_STREAM);
		return;
	}
	if (span_eq_str(m->path, "/st")) {
		hconn_h2_settings_timeout(c);
		hconn_hold(c, 0);
		return;
	}
	if (span_eq_str(m->path, "/goaway")) {
		hconn_h2_goaway(c, NGHTTP2_ENHANCE_YOUR_CALM);
		return;
	}
	if (span_eq_str(m->path, "/kept-ck") ||
	    span_eq_str(m->path, "/kept-ck2")) {
		hconn_queue(c, kept_ck_head, sizeof kept_ck_head - 1, NULL);
		hconn_queue(c, "\r\n\r\n", 4, NULL);
		if (m->path.len == 8)
			hconn_queue(c, kept_ck_body, sizeof kept_ck_body - 1,
			    NULL);
		else
			hconn_queue(c, kept_ck2_body, sizeof kept_ck2_body - 1,
			    NULL);
		return;
	}
	if (span_eq_str(m->path, "/kept")) {
		hconn_queue(c, kept_head, sizeof kept_head - 1, NULL);
		hconn_queue(c, "\r\n\r\n", 4, NULL);
		hconn_queue(c, "kept", 4, NULL);
		return;
	}
	buf_init(&b);
	if (span_eq_str(m->path, "/cut")) {
		buf_printf(&b, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
		hconn_queue_buf(c, &b);
		hconn_close_after(c);
		return;
	}
	if (span_eq_str(m->path, "/filler")) {
		buf_printf(&b, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
		    big_len);
		hconn_queue_buf(c, &b);
		hconn_stream(c, "0123456789abcdef", 16, big_len);
		return;
	}
	if (span_eq_str(m->path, "/big")) {
		ASSERT_EQ(hconn_h2_stall(c), 1);
		buf_printf(&b, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
		    big_len);
		hconn_queue_buf(c, &b);
		hconn_stream(c, "0123456789abcdef", 16, big_len);
		return;
	}
	buf_printf(&b, "HTTP/1.1 201 Made\r\nConnection: keep-alive\r\n"
	    "Keep-Alive: timeout=5\r\nX-Test: Yes\r\nContent-Length: %zu\r\n"
	    "\r\n%.*s", m->path.len + body_len, (int)m->path.len, m->path.p);
	buf_append(&b, body, body_len);
	if (span_eq_str(m->path, "/hold")) {
		hconn_hold(c, 1);
		held = c;
		hconn_set_data(c, buf_detach(&b, NULL));
		return;
	}
	hconn_queue_buf(c, &b);
}

static void
role_reject(struct hconn *c, int status, const char *why, size_t off)
{
	struct buf	b;

	(void)off;
	buf_init(&b);
	buf_printf(&b, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s", status, strlen(why), why);
	hconn_queue_buf(c, &b);
}

static void
role_freed(struct hconn *c)
{
	free(hconn_data(c));
}

static const struct httpd_role test_role = { role_request, role_reject,
	NULL, role_freed, NULL, NULL, NULL };

/* --- the client ------------------------------------------------------- */

#define NSTREAMS	32

struct cstream {
	int		status;
	int		got_100;	/* an informational 100 came */
	struct buf	body;
	int		closed;
	uint32_t	code;		/* RST_STREAM or closing code */
	int		order;		/* 1 + its rank among closed streams */
	char		x_test[16];
	char		x_sum[16];	/* a trailer */
	int		hop_by_hop;	/* a forbidden header came */
};

struct client {
	nghttp2_session	*ng;
	struct conn	*cl;
	struct cstream	 st[NSTREAMS];
	int		 nclosed;
	uint32_t	 goaway;	/* code + 1, 0: none */
	int		 nframes;	/* received */
	int32_t		 goaway_last;
};

static struct cstream *
cstream(struct client *k, int32_t id)
{
	return id > 0 && id < NSTREAMS * 2 ? &k->st[id / 2] : NULL;
}

static int
c_header_cb(nghttp2_session *ng, const nghttp2_frame *fr, const uint8_t *n,
    size_t nl, const uint8_t *v, size_t vl, uint8_t flags, void *arg)
{
	struct cstream	*s = cstream(arg, fr->hd.stream_id);

	(void)ng;
	(void)flags;
	if (s == NULL)
		return 0;
	if (nl == 7 && memcmp(n, ":status", 7) == 0) {
		s->status = (int)strtol((const char *)v, NULL, 10);
		if (s->status == 100)
			s->got_100 = 1;
	}
	else if (nl == 6 && memcmp(n, "x-test", 6) == 0)
		snprintf(s->x_test, sizeof s->x_test, "%.*s", (int)vl, v);
	else if (nl == 5 && memcmp(n, "x-sum", 5) == 0)
		snprintf(s->x_sum, sizeof s->x_sum, "%.*s", (int)vl, v);
	else if ((nl == 10 && memcmp(n, "connection", 10) == 0) ||
	    (nl == 10 && memcmp(n, "keep-alive", 10) == 0))
		s->hop_by_hop = 1;
	return 0;
}

static int
c_data_cb(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *d,
    size_t len, void *arg)
{
	struct cstream	*s = cstream(arg, id);

	(void)ng;
	(void)flags;
	if (s != NULL)
		buf_append(&s->body, d, len);
	return 0;
}

static int
c_close_cb(nghttp2_session *ng, int32_t id, uint32_t code, void *arg)
{
	struct client	*k = arg;
	struct cstream	*s = cstream(k, id);

	(void)ng;
	if (s != NULL) {
		s->closed = 1;
		s->code = code;
		s->order = ++k->nclosed;
	}
	return 0;
}

static int
c_frame_cb(nghttp2_session *ng, const nghttp2_frame *fr, void *arg)
{
	struct client	*k = arg;

	(void)ng;
	k->nframes++;
	if (fr->hd.type == NGHTTP2_GOAWAY) {
		k->goaway = fr->goaway.error_code + 1;
		k->goaway_last = fr->goaway.last_stream_id;
	}
	return 0;
}

static void
client_init(struct client *k, struct conn *cl)
{
	nghttp2_session_callbacks	*cb;

	memset(k, 0, sizeof *k);
	k->cl = cl;
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_header_callback(cb, c_header_cb);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb,
	    c_data_cb);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb,
	    c_close_cb);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, c_frame_cb);
	nghttp2_session_client_new(&k->ng, cb, k);
	nghttp2_session_callbacks_del(cb);
}

static void
client_free(struct client *k)
{
	size_t	i;

	nghttp2_session_del(k->ng);
	for (i = 0; i < NSTREAMS; i++)
		buf_free(&k->st[i].body);
}

#define NV(n, v)	{ (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, \
			  strlen(v), NGHTTP2_NV_FLAG_NONE }

static ssize_t
c_body_cb(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	const char	*p = src->ptr;
	size_t		 n = strlen(p);

	(void)ng;
	(void)id;
	(void)arg;
	n = n < len ? n : len;
	memcpy(buf, p, n);
	*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* A body followed by trailers. */
static ssize_t
c_trailer_body_cb(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	nghttp2_nv	trl[] = { NV("x-sum", "abc"), NV("x-more", "1") };
	ssize_t		n = c_body_cb(ng, id, buf, len, flags, src, arg);

	*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
	ASSERT_EQ(nghttp2_submit_trailer(ng, id, trl, 2), 0);
	return n;
}

/* Submits a request with one more header (name: value) and a body; its
 * trailers too if trailers.  Returns its stream id. */
static int32_t
client_req_more(struct client *k, const char *name, const char *value,
    const char *body, int trailers)
{
	nghttp2_nv		nv[] = { NV(":method", "POST"),
				    NV(":scheme", "http"), NV(":path", "/echo"),
				    NV(":authority", "api.example:8080"),
				    { (uint8_t *)name, (uint8_t *)value,
				      strlen(name), strlen(value),
				      NGHTTP2_NV_FLAG_NONE } };
	nghttp2_data_provider	prd;

	prd.source.ptr = (void *)body;
	prd.read_callback = trailers ? c_trailer_body_cb : c_body_cb;
	return nghttp2_submit_request(k->ng, NULL, nv, 5, &prd, NULL);
}

/* A large request body, sent as the window allows. */
static size_t	 big_body_left;

static ssize_t
c_big_body_cb(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	(void)ng;
	(void)id;
	(void)src;
	(void)arg;
	len = len < big_body_left ? len : big_body_left;
	memset(buf, 'b', len);
	big_body_left -= len;
	if (big_body_left == 0)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)len;
}

/* Submits a request; returns its stream id. */
static int32_t
client_req(struct client *k, const char *method, const char *path,
    const char *body)
{
	nghttp2_nv		nv[] = { NV(":method", method),
				    NV(":scheme", "http"), NV(":path", path),
				    NV(":authority", "api.example:8080"),
				    NV("accept", "*/*") };
	nghttp2_data_provider	prd;

	prd.source.ptr = (void *)body;
	prd.read_callback = c_body_cb;
	return nghttp2_submit_request(k->ng, NULL, nv, 5, body != NULL ? &prd :
	    NULL, NULL);
}

/* Runs both ends until neither moves: the client's frames to the server,
 * the server's answers back. */
static void
pump(struct client *k, struct hconn *c)
{
	const uint8_t	*p;
	char		 tmp[16384];
	ssize_t		 n;
	int		 round, moved;

	for (round = 0; round < 1000; round++) {
		moved = 0;
		while ((n = nghttp2_session_mem_send(k->ng, &p)) > 0) {
			ASSERT_EQ(conn_write(k->cl, p, (size_t)n), n);
			moved = 1;
		}
		if (!hconn_is_dead(c))
			hconn_io(c, CONN_READ | CONN_WRITE);
		while ((n = conn_read(k->cl, tmp, sizeof tmp)) > 0) {
			ASSERT_EQ(nghttp2_session_mem_recv(k->ng,
			    (uint8_t *)tmp, (size_t)n), n);
			moved = 1;
		}
		if (!moved)
			return;
	}
	UNIT_FAIL("pump: no end");
}

/* A server connection over a mem pair and a client speaking h2 to it
 * (prior knowledge). */
static struct hconn *
start(struct httpd *h, struct client *k)
{
	struct conn	*cl, *sv;
	struct hconn	*c;

	conn_mem_pair(&cl, &sv);
	c = httpd_adopt(h, sv, "mem");
	ASSERT(c != NULL);
	client_init(k, cl);
	nghttp2_submit_settings(k->ng, NGHTTP2_FLAG_NONE, NULL, 0);
	return c;
}

static void
finish(struct loop *loop, struct client *k, struct hconn *c)
{
	if (!hconn_is_dead(c))
		hconn_close(c);
	loop_run_deferred(loop);
	conn_close(k->cl);
	client_free(k);
}

/* --- tests ------------------------------------------------------------ */

static void
test_sniff(void)
{
	const char	*pre = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

	ASSERT_EQ(httpd_h2_sniff(pre, 24), 1);
	ASSERT_EQ(httpd_h2_sniff(pre, 30), 1);
	ASSERT_EQ(httpd_h2_sniff(pre, 3), -1);
	ASSERT_EQ(httpd_h2_sniff(pre, 23), -1);
	ASSERT_EQ(httpd_h2_sniff("PRI * HTTP/1.1", 14), 0);
	ASSERT_EQ(httpd_h2_sniff("GET / HTTP/1.1\r\n", 16), 0);
}

static void
test_streams(struct loop *loop, struct httpd *h)
{
	struct client	 k;
	struct hconn	*c = start(h, &k);
	int32_t		 a, b, d;
	char		*reply;
	int		 i;

	/* One request: pseudo-headers mapped, the reply's head converted. */
	a = client_req(&k, "POST", "/echo?x=1", "hello");
	pump(&k, c);
	ASSERT_EQ(k.st[a / 2].status, 201);
	ASSERT_MEM_EQ(k.st[a / 2].body.data, k.st[a / 2].body.len,
	    "/echohello");
	ASSERT_STR_EQ(k.st[a / 2].x_test, "Yes");
	ASSERT_EQ(k.st[a / 2].hop_by_hop, 0);
	ASSERT_EQ(k.st[a / 2].code, NGHTTP2_NO_ERROR);
	ASSERT_STR_EQ(last_host, "api.example:8080");
	ASSERT_STR_EQ(last_query, "x=1");
	ASSERT_STR_EQ(last_method, "POST");

	/* A held stream does not hold its sibling. */
	a = client_req(&k, "GET", "/hold", NULL);
	b = client_req(&k, "GET", "/next", NULL);
	pump(&k, c);
	ASSERT(held != NULL);
	ASSERT_EQ(k.st[b / 2].status, 201);
	ASSERT_EQ(k.st[b / 2].closed, 1);
	ASSERT_EQ(k.st[a / 2].closed, 0);
	reply = hconn_data(held);
	hconn_set_data(held, NULL);
	hconn_release(held);
	hconn_queue(held, reply, strlen(reply), reply);
	hconn_step(held);
	held = NULL;
	pump(&k, c);
	ASSERT_EQ(k.st[a / 2].status, 201);
	ASSERT_MEM_EQ(k.st[a / 2].body.data, k.st[a / 2].body.len, "/hold");
	ASSERT(k.st[a / 2].order > k.st[b / 2].order);

	/* Aborts and resets cost their stream only. */
	a = client_req(&k, "GET", "/abort", NULL);
	b = client_req(&k, "GET", "/refuse", NULL);
	d = client_req(&k, "GET", "/cut", NULL);
	pump(&k, c);
	ASSERT_EQ(k.st[a / 2].code, NGHTTP2_INTERNAL_ERROR);
	ASSERT_EQ(k.st[b / 2].code, NGHTTP2_REFUSED_STREAM);
	/* The head went out, the body was cut: a reset, not an end. */
	ASSERT_EQ(k.st[d / 2].status, 200);
	ASSERT_EQ(k.st[d / 2].code, NGHTTP2_INTERNAL_ERROR);
	ASSERT_EQ(hconn_is_dead(c), 0);

	/* A body over max_body: 413 on the stream. */
	a = client_req(&k, "POST", "/echo", "0123456789012345678901234567890"
	    "1234567890123456789012345678901234567890123456789");
	pump(&k, c);
	ASSERT_EQ(k.st[a / 2].status, 413);
	ASSERT_EQ(hconn_is_dead(c), 0);

	/* A kept head: the same bytes give the same fields; other bytes at
	 * the same address give theirs. */
	a = client_req(&k, "GET", "/kept", NULL);
	b = client_req(&k, "GET", "/kept", NULL);
	pump(&k, c);
	ASSERT_STR_EQ(k.st[a / 2].x_test, "A");
	ASSERT_STR_EQ(k.st[b / 2].x_test, "A");
	ASSERT_MEM_EQ(k.st[b / 2].body.data, k.st[b / 2].body.len, "kept");
	kept_head[sizeof "HTTP/1.1 200 OK\r\nX-Test: " - 1] = 'B';
	a = client_req(&k, "GET", "/kept", NULL);
	b = client_req(&k, "HEAD", "/kept", NULL);
	pump(&k, c);
	ASSERT_STR_EQ(k.st[a / 2].x_test, "B");
	ASSERT_MEM_EQ(k.st[a / 2].body.data, k.st[a / 2].body.len, "kept");
	ASSERT_EQ(k.st[b / 2].status, 200);
	ASSERT_EQ(k.st[b / 2].body.len, 0);
	ASSERT_EQ(k.st[b / 2].code, NGHTTP2_NO_ERROR);

	/* A kept chunked reply: its one chunk and trailers, the first time
	 * (planned) and the next (as planned); changed in place, as it now
	 * is; two chunks, never planned. */
	a = client_req(&k, "GET", "/kept-ck", NULL);
	b = client_req(&k, "GET", "/kept-ck", NULL);
	pump(&k, c);
	for (i = 0; i < 2; i++) {
		struct cstream *cs = &k.st[(i == 0 ? a : b) / 2];

		ASSERT_EQ(cs->status, 200);
		ASSERT_MEM_EQ(cs->body.data, cs->body.len, "hello");
		ASSERT_STR_EQ(cs->x_sum, "abc");
		ASSERT_EQ(cs->hop_by_hop, 0);
		ASSERT_EQ(cs->code, NGHTTP2_NO_ERROR);
	}
	kept_ck_body[3] = 'j';
	kept_ck_body[sizeof "5\r\nhello\r\n0\r\nX-Sum: " - 1] = 'x';
	a = client_req(&k, "GET", "/kept-ck", NULL);
	b = client_req(&k, "GET", "/kept-ck2", NULL);
	pump(&k, c);
	ASSERT_MEM_EQ(k.st[a / 2].body.data, k.st[a / 2].body.len, "jello");
	ASSERT_STR_EQ(k.st[a / 2].x_sum, "xbc");
	ASSERT_MEM_EQ(k.st[b / 2].body.data, k.st[b / 2].body.len, "hello");
	ASSERT_STR_EQ(k.st[b / 2].x_sum, "two");
	ASSERT_EQ(k.st[b / 2].code, NGHTTP2_NO_ERROR);

	/* expect: 100-continue: a 100 first, then the answer; none without
	 * it. */
	a = client_req_more(&k, "expect", "100-continue", "abc", 0);
	b = client_req_more(&k, "x-other", "1", "abc", 0);
	pump(&k, c);
	ASSERT_EQ(k.st[a / 2].got_100, 1);
	ASSERT_EQ(k.st[a / 2].status, 201);
	ASSERT_MEM_EQ(k.st[a / 2].body.data, k.st[a / 2].body.len,
	    "/echoabc");
	ASSERT_EQ(k.st[b / 2].got_100, 0);
	ASSERT_EQ(k.st[b / 2].status, 201);

	/* Request trailers reach the role with the request; none without. */
	a = client_req_more(&k, "x-other", "1", "abc", 1);
	pump(&k, c);
	ASSERT_EQ(k.st[a / 2].status, 201);
	ASSERT_STR_EQ(last_trailers, "x-sum=abc;x-more=1;");
	a = client_req_more(&k, "x-other", "1", "abc", 0);
	pump(&k, c);
	ASSERT_STR_EQ(last_trailers, "");

	/* GOAWAY from a stream ends the connection with its code. */
	a = client_req(&k, "GET", "/goaway", NULL);
	pump(&k, c);
	ASSERT_EQ(k.goaway, NGHTTP2_ENHANCE_YOUR_CALM + 1);
	ASSERT_EQ(k.goaway_last, a);
	ASSERT_EQ(hconn_is_dead(c), 1);
	finish(loop, &k, c);
}

static void
test_stall(struct loop *loop, struct httpd *h)
{
	struct client	 k;
	struct hconn	*c = start(h, &k);
	int32_t		 a;

	/* The body stops at the client's window and stays there. */
	big_len = 200000;
	a = client_req(&k, "GET", "/big", NULL);
	pump(&k, c);
	ASSERT_EQ(k.st[a / 2].status, 200);
	ASSERT_EQ(k.st[a / 2].body.len, 65535);
	nghttp2_session_consume(k.ng, a, 65535);
	pump(&k, c);
	ASSERT_EQ(k.st[a / 2].body.len, 65535);
	ASSERT_EQ(k.st[a / 2].closed, 0);

	/* Nor is the connection's receive window reopened: a request body
	 * past it never completes. */
	{
		nghttp2_nv		nv[] = { NV(":method", "POST"),
					    NV(":scheme", "http"),
					    NV(":path", "/upload"),
					    NV(":authority", "api.example") };
		nghttp2_data_provider	prd = { .read_callback =
					    c_big_body_cb };
		int			before = n_requests;

		big_body_left = 100000;
		a = nghttp2_submit_request(k.ng, NULL, nv, 4, &prd, NULL);
		pump(&k, c);
		ASSERT_EQ(n_requests, before);
		ASSERT_EQ(big_body_left, 100000 - 65535);
		ASSERT_EQ(nghttp2_session_get_remote_window_size(k.ng), 0);
	}
	finish(loop, &k, c);
}

static void
test_settings_timeout(struct loop *loop, struct httpd *h)
{
	struct client	 k;
	struct hconn	*c = start(h, &k);

	/* The first request came with the preface: nothing goes out, not
	 * even the server's SETTINGS. */
	(void)client_req(&k, "GET", "/st", NULL);
	pump(&k, c);
	ASSERT_EQ(k.nframes, 0);
	ASSERT_EQ(hconn_is_dead(c), 0);
	(void)client_req(&k, "GET", "/after", NULL);
	pump(&k, c);
	ASSERT_EQ(k.nframes, 0);
	finish(loop, &k, c);

	/* Later on a connection: only the SETTINGS ACK is withheld. */
	c = start(h, &k);
	(void)client_req(&k, "GET", "/first", NULL);
	pump(&k, c);
	ASSERT(k.nframes >= 3);		/* SETTINGS, ACK, HEADERS... */
	(void)client_req(&k, "GET", "/st", NULL);
	pump(&k, c);
	k.nframes = 0;
	nghttp2_submit_settings(k.ng, NGHTTP2_FLAG_NONE, NULL, 0);
	(void)client_req(&k, "GET", "/third", NULL);
	pump(&k, c);
	/* HEADERS and DATA of /third, no SETTINGS ACK. */
	ASSERT_EQ(k.nframes, 2);
	finish(loop, &k, c);
}

/* The output bound: a client that does not read holds at most about
 * out_high of frames in the server, however much its windows allow. */
static void
test_output_bound(struct loop *loop)
{
	struct httpd_config	 cfg;
	struct httpd		*h;
	struct client		 k;
	struct hconn		*c;
	struct conn		*cl, *sv;
	struct httpd_stats	 st;
	nghttp2_settings_entry	 iv[] = {
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 30 } };
	const uint8_t		*p;
	ssize_t			 n;
	int32_t			 a[4];
	int			 i;

	cfg = h2_config(64 * 1024);
	h = httpd_create(loop, &cfg, &test_role, NULL);
	conn_mem_pair(&cl, &sv);
	conn_mem_set_limit(sv, 16 * 1024);
	c = httpd_adopt(h, sv, "mem");
	client_init(&k, cl);
	nghttp2_submit_settings(k.ng, NGHTTP2_FLAG_NONE, iv, 1);
	nghttp2_session_set_local_window_size(k.ng, NGHTTP2_FLAG_NONE, 0,
	    1 << 30);
	big_len = 1000000;
	for (i = 0; i < 4; i++)
		a[i] = client_req(&k, "GET", "/filler", NULL);
	/* The client sends, then reads nothing for a while. */
	while ((n = nghttp2_session_mem_send(k.ng, &p)) > 0)
		ASSERT_EQ(conn_write(cl, p, (size_t)n), n);
	for (i = 0; i < 20; i++)
		hconn_io(c, CONN_READ | CONN_WRITE);
	httpd_stats(h, &st);
	ASSERT(st.out_mem < cfg.out_high + 32 * 1024);
	ASSERT(st.out_mem > 0);
	/* Then it reads: every body arrives whole. */
	pump(&k, c);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(k.st[a[i] / 2].status, 200);
		ASSERT_EQ(k.st[a[i] / 2].body.len, 1000000);
	}
	finish(loop, &k, c);
	httpd_free(h);
}

static void
stop_cb(struct loop_timer *t)
{
	loop_stop(t->arg);
}

/* A request whose END_STREAM never comes: 408 on its stream once the
 * header deadline passes, the connection and a sibling unharmed. */
static void
test_stream_deadline(struct loop *loop)
{
	struct httpd_config	 cfg;
	struct httpd		*h;
	struct client		 k;
	struct hconn		*c;
	struct loop_timer	 stop;
	struct httpd_stats	 st;
	nghttp2_nv		 nv[] = { NV(":method", "POST"),
				    NV(":scheme", "http"), NV(":path", "/slow"),
				    NV(":authority", "api.example") };
	int32_t			 a, b;

	cfg = h2_config(1024 * 1024);
	cfg.header_timeout_ns = 20 * 1000000ull;
	h = httpd_create(loop, &cfg, &test_role, NULL);
	c = start(h, &k);
	/* HEADERS without END_STREAM: the body never follows. */
	a = nghttp2_submit_headers(k.ng, NGHTTP2_FLAG_NONE, -1, NULL, nv, 4,
	    NULL);
	b = client_req(&k, "GET", "/quick", NULL);
	pump(&k, c);
	ASSERT_EQ(k.st[b / 2].status, 201);
	ASSERT_EQ(k.st[a / 2].status, 0);
	loop_timer_init(&stop, stop_cb, loop);
	loop_timer_add(loop, &stop, 150 * 1000000ull);
	loop_run(loop);
	pump(&k, c);
	ASSERT_EQ(k.st[a / 2].status, 408);
	httpd_stats(h, &st);
	ASSERT_EQ(st.head_timeouts, 1);
	ASSERT_EQ(hconn_is_dead(c), 0);
	finish(loop, &k, c);
	httpd_free(h);
}

static void
test_upgrade(struct loop *loop, struct httpd *h)
{
	const char	*req = "GET /up HTTP/1.1\r\nHost: api.example\r\n"
			    "Connection: Upgrade, HTTP2-Settings\r\n"
			    "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"
			    "\r\n";
	struct client	 k;
	struct conn	*cl, *sv;
	struct hconn	*c;
	char		 tmp[4096];
	ssize_t		 n;
	const char	*e;
	uint8_t		 set[12];
	ssize_t		 setlen;
	nghttp2_settings_entry iv[] = { { 3, 100 }, { 4, 65535 } };

	conn_mem_pair(&cl, &sv);
	c = httpd_adopt(h, sv, "mem");
	ASSERT(c != NULL);
	client_init(&k, cl);
	ASSERT_EQ(conn_write(cl, req, strlen(req)), (ssize_t)strlen(req));
	hconn_io(c, CONN_READ | CONN_WRITE);
	n = conn_read(cl, tmp, sizeof tmp);
	ASSERT(n > 0);
	if (n <= 0)
		return;
	ASSERT(memcmp(tmp, "HTTP/1.1 101 Switching Protocols\r\n", 34) == 0);
	e = memmem(tmp, (size_t)n, "\r\n\r\n", 4);
	ASSERT(e != NULL);
	if (e == NULL)
		return;
	setlen = nghttp2_pack_settings_payload(set, sizeof set, iv, 2);
	ASSERT_EQ(nghttp2_session_upgrade2(k.ng, set, (size_t)setlen, 0, NULL),
	    0);
	e += 4;
	ASSERT_EQ(nghttp2_session_mem_recv(k.ng, (const uint8_t *)e,
	    (size_t)(tmp + n - e)), tmp + n - e);
	pump(&k, c);
	/* Stream 1 is the upgraded request's. */
	ASSERT_EQ(k.st[0].status, 201);
	ASSERT_MEM_EQ(k.st[0].body.data, k.st[0].body.len, "/up");
	ASSERT_STR_EQ(last_host, "api.example");
	/* And the connection speaks h2 from there. */
	ASSERT_EQ(client_req(&k, "GET", "/after", NULL), 3);
	pump(&k, c);
	ASSERT_EQ(k.st[1].status, 201);
	finish(loop, &k, c);
}

int
main(void)
{
	struct httpd_config	cfg;
	struct loop		*loop;
	struct httpd		*h;

	cfg = h2_config(1024 * 1024);
	loop = loop_create(NULL);
	h = httpd_create(loop, &cfg, &test_role, NULL);
	test_sniff();
	test_streams(loop, h);
	test_stall(loop, h);
	test_settings_timeout(loop, h);
	test_upgrade(loop, h);
	httpd_free(h);
	test_stream_deadline(loop);
	test_output_bound(loop);
	loop_free(loop);
	UNIT_DONE();
}
