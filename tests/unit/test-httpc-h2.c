/*
 * test-httpc-h2.c -- unit tests for the HTTP/2 client glue (httpc-h2.h).
 *
 * The peer is a server built here from libnghttp2's own server API over
 * the in-memory transport (no sockets): it answers by path (a body, the
 * request echoed, trailers, an interim 103, a large body, RST_STREAM,
 * GOAWAY, a close).  Checked: many streams in flight on one connection
 * with the answers matched to their requests, flow control with a small
 * client window and a bounded transport (would-block on both ends),
 * per-stream errors with their h2 codes, the connection's end finishing
 * every stream, garbage from the peer, cancel, the HTTP/1.1 translation,
 * the Upgrade: h2c request and the session after a 101 (the server side
 * upgraded with the same HTTP2-Settings).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "base64.h"
#include "conn.h"
#include "http.h"
#include "httpc-h2.h"
#include "unit.h"
#include "xmalloc.h"

/* --- the test server --------------------------------------------------- */

struct srv_stream {
	int32_t		 id;
	char		 path[64];
	char		 method[16];
	size_t		 got;		/* request body bytes */
	char		*body;		/* response body */
	size_t		 len, off;
};

struct srv {
	nghttp2_session		*ng;
	struct conn		*c;
	struct srv_stream	 st[256];
	size_t			 nst;
	int			 closed;
	size_t			 big;
	struct buf		 out;		/* bytes of /big */
};

static struct srv_stream *
srv_stream(struct srv *sv, int32_t id)
{
	size_t	i;

	for (i = 0; i < sv->nst; i++)
		if (sv->st[i].id == id)
			return &sv->st[i];
	return NULL;
}

static int
srv_on_begin(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	struct srv		*sv = arg;
	struct srv_stream	*st;

	(void)ng;
	if (f->hd.type != NGHTTP2_HEADERS ||
	    f->headers.cat != NGHTTP2_HCAT_REQUEST || sv->nst == 256)
		return 0;
	st = &sv->st[sv->nst++];
	memset(st, 0, sizeof *st);
	st->id = f->hd.stream_id;
	return 0;
}

static int
srv_on_header(nghttp2_session *ng, const nghttp2_frame *f,
    const uint8_t *n, size_t nl, const uint8_t *v, size_t vl, uint8_t fl,
    void *arg)
{
	struct srv_stream	*st = srv_stream(arg, f->hd.stream_id);

	(void)ng;
	(void)fl;
	if (st == NULL)
		return 0;
	if (nl == 5 && memcmp(n, ":path", 5) == 0 && vl < sizeof st->path)
		memcpy(st->path, v, vl);
	if (nl == 7 && memcmp(n, ":method", 7) == 0 && vl < sizeof st->method)
		memcpy(st->method, v, vl);
	return 0;
}

static int
srv_on_data(nghttp2_session *ng, uint8_t fl, int32_t id, const uint8_t *d,
    size_t len, void *arg)
{
	struct srv_stream	*st = srv_stream(arg, id);

	(void)ng;
	(void)fl;
	(void)d;
	if (st != NULL)
		st->got += len;
	return 0;
}

static ssize_t
srv_read(nghttp2_session *ng, int32_t id, uint8_t *p, size_t len,
    uint32_t *dflags, nghttp2_data_source *src, void *arg)
{
	struct srv_stream	*st = src->ptr;
	size_t			 n = st->len - st->off;

	(void)ng;
	(void)id;
	(void)arg;
	if (n > len)
		n = len;
	memcpy(p, st->body + st->off, n);
	st->off += n;
	if (st->off == st->len) {
		*dflags |= NGHTTP2_DATA_FLAG_EOF;
		if (strcmp(st->path, "/trailers") == 0)
			*dflags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
	}
	return (ssize_t)n;
}

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1,	\
	strlen(v), NGHTTP2_NV_FLAG_NONE }

static void
srv_answer(struct srv *sv, struct srv_stream *st)
{
	nghttp2_data_provider	dp = { .source.ptr = st,
				    .read_callback = srv_read };
	char			len[32], got[32];
	nghttp2_nv		info[] = { NV(":status", "103"),
				    NV("link", "</a>; rel=preload") };
	nghttp2_nv		trl[] = { NV("grpc-status", "0") };

	snprintf(got, sizeof got, "%zu", st->got);
	if (strcmp(st->path, "/rst") == 0) {
		nghttp2_submit_rst_stream(sv->ng, 0, st->id,
		    NGHTTP2_INTERNAL_ERROR);
		return;
	}
	if (strcmp(st->path, "/goaway") == 0) {
		nghttp2_submit_goaway(sv->ng, 0, st->id - 2,
		    NGHTTP2_ENHANCE_YOUR_CALM, NULL, 0);
		return;
	}
	if (strcmp(st->path, "/big") == 0) {
		st->len = sv->big;
		st->body = xmalloc(st->len);
		for (size_t i = 0; i < st->len; i++)
			st->body[i] = (char)('a' + i % 26);
	} else
		st->body = xasprintf("%s %s %s", st->method, st->path, got);
	if (strcmp(st->path, "/big") != 0)
		st->len = strlen(st->body);
	snprintf(len, sizeof len, "%zu", st->len);
	{
		nghttp2_nv	hd[] = { NV(":status", "200"),
				    NV("content-length", len),
				    NV("x-got", got) };

		if (strcmp(st->path, "/103") == 0)
			nghttp2_submit_headers(sv->ng, 0, st->id, NULL, info,
			    2, NULL);
		nghttp2_submit_response(sv->ng, st->id, hd, 3, &dp);
	}
	if (strcmp(st->path, "/trailers") == 0)
		nghttp2_submit_trailer(sv->ng, st->id, trl, 1);
}

static int
srv_on_frame(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	struct srv		*sv = arg;
	struct srv_stream	*st;

	(void)ng;
	if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
	    (f->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
	    (st = srv_stream(sv, f->hd.stream_id)) != NULL) {
		if (strcmp(st->path, "/close") == 0)
			sv->closed = 1;
		else
			srv_answer(sv, st);
	}
	return 0;
}

static void
srv_init(struct srv *sv, struct conn *c)
{
	nghttp2_session_callbacks	*cb;
	nghttp2_settings_entry		 iv = {
		NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100 };

	memset(sv, 0, sizeof *sv);
	sv->c = c;
	sv->big = 1024 * 1024;
	buf_init(&sv->out);
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb,
	    srv_on_begin);
	nghttp2_session_callbacks_set_on_header_callback(cb, srv_on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb,
	    srv_on_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, srv_on_frame);
	nghttp2_session_server_new(&sv->ng, cb, sv);
	nghttp2_session_callbacks_del(cb);
	nghttp2_submit_settings(sv->ng, 0, &iv, 1);
}

static void
srv_free(struct srv *sv)
{
	size_t	i;

	for (i = 0; i < sv->nst; i++)
		free(sv->st[i].body);
	nghttp2_session_del(sv->ng);
	conn_close(sv->c);
	buf_free(&sv->out);
}

/* One round of the server: read what came, write what it can. */
static void
srv_pump(struct srv *sv)
{
	uint8_t		 buf[4096];
	const uint8_t	*d;
	ssize_t		 n, w;

	if (sv->c == NULL)
		return;
	while ((n = conn_read(sv->c, buf, sizeof buf)) > 0)
		nghttp2_session_mem_recv(sv->ng, buf, (size_t)n);
	if (sv->closed) {
		/* Nothing answered goes out. */
		conn_close(sv->c);
		sv->c = NULL;
		return;
	}
	/* What the bounded transport does not take waits for next time. */
	for (;;) {
		if (sv->out.len == 0) {
			if ((n = nghttp2_session_mem_send(sv->ng, &d)) <= 0)
				return;
			buf_append(&sv->out, d, (size_t)n);
		}
		if ((w = conn_write(sv->c, sv->out.data, sv->out.len)) == -1)
			return;
		buf_consume(&sv->out, (size_t)w);
	}
}

/* --- the client side ---------------------------------------------------- */

struct got {
	int		 n;
	int		 status[256];
	int		 err[256];
	uint32_t	 code[256];
	char		*body[256];
	size_t		 blen[256];
	int		 ntrailers[256];
};

static void
got_free(struct got *g)
{
	for (int i = 0; i < 256; i++)
		free(g->body[i]);
}

static void
take(struct httpc_h2 *s, struct got *g)
{
	struct httpc_h2_resp	r;
	intptr_t		i;

	while (httpc_h2_done(s, &r)) {
		i = (intptr_t)r.arg;
		g->n++;
		g->status[i] = r.status;
		g->err[i] = r.err;
		g->code[i] = r.code;
		free(g->body[i]);
		g->body[i] = xstrndup(r.body.p, r.body.len);
		g->blen[i] = r.body.len;
		g->ntrailers[i] = (int)r.ntrailers;
		if (r.ntrailers == 1)
			ASSERT(span_eq_str(r.trailers[0].name, "grpc-status"));
	}
}

static struct httpc_h2_req
req_of(const char *method, const char *path, const char *body)
{
	static const struct http_header	h[] = {
		{ { "X-Upper", 7 }, { "v", 1 } },
		{ { "Connection", 10 }, { "keep-alive", 10 } },
		{ { "Host", 4 }, { "wrong", 5 } },
	};
	struct httpc_h2_req		r;

	memset(&r, 0, sizeof r);
	r.method = span_from_str(method);
	r.scheme = SPAN_LIT("http");
	r.authority = SPAN_LIT("example.test");
	r.path = span_from_str(path);
	r.headers = h;
	r.nheaders = 3;
	r.body = span_from_str(body != NULL ? body : "");
	return r;
}

/* A client session over a mem pair whose other end serves sv. */
static struct httpc_h2 *
session(struct srv *sv, struct got *g, const struct httpc_h2_config *cfg)
{
	struct conn	*a, *b;
	char		*cause = NULL;
	struct httpc_h2	*s;

	memset(g, 0, sizeof *g);
	conn_mem_pair(&a, &b);
	srv_init(sv, b);
	s = httpc_h2_create(a, cfg, &cause);
	ASSERT(s != NULL);
	return s;
}

/* Runs client and server until `want` responses came or rounds ran out. */
static int
pump(struct httpc_h2 *s, struct srv *sv, struct got *g, int want)
{
	int	rounds, over = 0;

	for (rounds = 0; rounds < 20000 && g->n < want; rounds++) {
		if (httpc_h2_io(s, CONN_READ | CONN_WRITE) == -1)
			over = 1;
		take(s, g);
		if (over)
			break;
		srv_pump(sv);
	}
	return over;
}

static void
test_streams(void)
{
	struct conn		*a, *b;
	struct httpc_h2		*s;
	struct srv		 sv;
	struct got		 g;
	struct httpc_h2_req	 r;
	struct httpc_h2_config	 cfg = { .window = 65535 };
	char			*cause = NULL, path[32], want[64];
	intptr_t		 i;

	memset(&g, 0, sizeof g);
	conn_mem_pair(&a, &b);
	/* Small windows and a bounded transport: flow control must move. */
	conn_mem_set_limit(a, 3000);
	conn_mem_set_limit(b, 3000);
	srv_init(&sv, b);
	s = httpc_h2_create(a, &cfg, &cause);
	ASSERT(s != NULL);
	for (i = 0; i < 50; i++) {
		snprintf(path, sizeof path, "/p%d", (int)i);
		r = req_of(i % 2 ? "POST" : "GET", path, i % 2 ? "0123456789" :
		    NULL);
		ASSERT(httpc_h2_submit(s, &r, (void *)i) > 0);
	}
	r = req_of("GET", "/trailers", NULL);
	ASSERT(httpc_h2_submit(s, &r, (void *)50) > 0);
	r = req_of("GET", "/103", NULL);
	ASSERT(httpc_h2_submit(s, &r, (void *)51) > 0);
	r = req_of("GET", "/big", NULL);
	ASSERT(httpc_h2_submit(s, &r, (void *)52) > 0);
	r = req_of("GET", "/rst", NULL);
	ASSERT(httpc_h2_submit(s, &r, (void *)53) > 0);
	ASSERT_EQ(httpc_h2_inflight(s), 54);
	ASSERT_EQ(pump(s, &sv, &g, 54), 0);
	ASSERT_EQ(g.n, 54);
	for (i = 0; i < 50; i++) {
		snprintf(want, sizeof want, "%s /p%d %s", i % 2 ? "POST" : "GET",
		    (int)i, i % 2 ? "10" : "0");
		ASSERT_EQ(g.status[i], 200);
		ASSERT_EQ(g.err[i], HTTPC_H2_E_NONE);
		ASSERT_STR_EQ(g.body[i], want);
	}
	ASSERT_EQ(g.ntrailers[50], 1);
	ASSERT_EQ(g.ntrailers[0], 0);
	ASSERT_EQ(g.status[51], 200);
	ASSERT_STR_EQ(g.body[51], "GET /103 0");
	ASSERT_EQ(g.blen[52], 1024 * 1024);
	ASSERT(g.body[52] != NULL && g.body[52][1000] == 'a' + 1000 % 26);
	ASSERT_EQ(g.err[53], HTTPC_H2_E_RESET);
	ASSERT_EQ(g.code[53], NGHTTP2_INTERNAL_ERROR);
	ASSERT_STR_EQ(httpc_h2_code_name(g.code[53]), "INTERNAL_ERROR");
	ASSERT_EQ(httpc_h2_inflight(s), 0);
	ASSERT(httpc_h2_is_open(s));
	httpc_h2_free(s);
	srv_free(&sv);
	got_free(&g);
}

static void
test_too_large_and_cancel(void)
{
	struct httpc_h2		*s;
	struct srv		 sv;
	struct got		 g;
	struct httpc_h2_req	 r;
	struct httpc_h2_config	 cfg = { .max_body = 1000 };
	int32_t			 id;

	s = session(&sv, &g, &cfg);
	r = req_of("GET", "/big", NULL);
	ASSERT(httpc_h2_submit(s, &r, (void *)0) > 0);
	r = req_of("GET", "/cancelled", NULL);
	ASSERT((id = httpc_h2_submit(s, &r, (void *)1)) > 0);
	ASSERT_EQ(httpc_h2_cancel(s, id), 0);
	ASSERT_EQ(httpc_h2_cancel(s, id), -1);
	r = req_of("GET", "/after", NULL);
	ASSERT(httpc_h2_submit(s, &r, (void *)2) > 0);
	ASSERT_EQ(pump(s, &sv, &g, 2), 0);
	ASSERT_EQ(g.n, 2);
	ASSERT_EQ(g.err[0], HTTPC_H2_E_TOO_LARGE);
	ASSERT(g.body[1] == NULL);		/* never reported */
	ASSERT_STR_EQ(g.body[2], "GET /after 0");
	httpc_h2_free(s);
	srv_free(&sv);
	got_free(&g);
}

/* httpc_h2_resp_unprocessed on a response that ended with err, code. */
static int
unprocessed(enum httpc_h2_err err, uint32_t code)
{
	struct httpc_h2_resp	r;

	memset(&r, 0, sizeof r);
	r.err = err;
	r.code = code;
	return httpc_h2_resp_unprocessed(&r);
}

/* RFC 9113 8.7: what may be sent again. */
static void
test_unprocessed(void)
{
	ASSERT(unprocessed(HTTPC_H2_E_RESET, NGHTTP2_REFUSED_STREAM));
	ASSERT(!unprocessed(HTTPC_H2_E_RESET, NGHTTP2_INTERNAL_ERROR));
	ASSERT(!unprocessed(HTTPC_H2_E_RESET, NGHTTP2_CANCEL));
	ASSERT(unprocessed(HTTPC_H2_E_GOAWAY, NGHTTP2_NO_ERROR));
	ASSERT(!unprocessed(HTTPC_H2_E_CLOSED, NGHTTP2_NO_ERROR));
	ASSERT(!unprocessed(HTTPC_H2_E_PROTOCOL, NGHTTP2_REFUSED_STREAM));
	ASSERT(!unprocessed(HTTPC_H2_E_NONE, 0));
}

static void
test_goaway(void)
{
	struct httpc_h2		*s;
	struct srv		 sv;
	struct got		 g;
	struct httpc_h2_req	 r;

	s = session(&sv, &g, NULL);
	/* Streams 1 and 3, then /goaway (5) says the last is 3. */
	r = req_of("GET", "/one", NULL);
	ASSERT_EQ(httpc_h2_submit(s, &r, (void *)0), 1);
	r = req_of("GET", "/two", NULL);
	ASSERT_EQ(httpc_h2_submit(s, &r, (void *)1), 3);
	r = req_of("GET", "/goaway", NULL);
	ASSERT_EQ(httpc_h2_submit(s, &r, (void *)2), 5);
	ASSERT_EQ(pump(s, &sv, &g, 3), 1);
	ASSERT_EQ(g.n, 3);
	ASSERT_EQ(g.err[0], HTTPC_H2_E_NONE);
	ASSERT_EQ(g.err[1], HTTPC_H2_E_NONE);
	ASSERT_EQ(g.err[2], HTTPC_H2_E_GOAWAY);
	ASSERT_EQ(g.code[2], NGHTTP2_ENHANCE_YOUR_CALM);
	ASSERT(!httpc_h2_is_open(s));
	ASSERT(unprocessed(HTTPC_H2_E_GOAWAY, NGHTTP2_ENHANCE_YOUR_CALM));
	ASSERT_EQ(httpc_h2_submit(s, &r, (void *)3), -1);
	ASSERT(strstr(httpc_h2_error(s), "GOAWAY") != NULL);
	httpc_h2_free(s);
	srv_free(&sv);
	got_free(&g);
}

static void
test_close_and_garbage(void)
{
	struct conn		*a, *b;
	struct httpc_h2		*s;
	struct srv		 sv;
	struct got		 g;
	struct httpc_h2_req	 r;
	char			*cause = NULL;

	/* The peer closes with streams in flight: each one ends. */
	s = session(&sv, &g, NULL);
	r = req_of("GET", "/close", NULL);
	ASSERT(httpc_h2_submit(s, &r, (void *)0) > 0);
	r = req_of("GET", "/pending", NULL);
	ASSERT(httpc_h2_submit(s, &r, (void *)1) > 0);
	ASSERT_EQ(pump(s, &sv, &g, 2), 1);
	ASSERT_EQ(g.n, 2);
	ASSERT_EQ(g.err[0], HTTPC_H2_E_CLOSED);
	ASSERT_EQ(g.err[1], HTTPC_H2_E_CLOSED);
	ASSERT_EQ(httpc_h2_events(s), 0);
	httpc_h2_free(s);
	srv_free(&sv);
	got_free(&g);

	/* An HTTP/1.1 answer to the preface: a connection error. */
	memset(&g, 0, sizeof g);
	conn_mem_pair(&a, &b);
	s = httpc_h2_create(a, NULL, &cause);
	r = req_of("GET", "/", NULL);
	ASSERT(httpc_h2_submit(s, &r, (void *)0) > 0);
	ASSERT_EQ(httpc_h2_io(s, CONN_WRITE), 0);
	ASSERT(conn_write(b, "HTTP/1.1 400 Bad Request\r\n\r\n", 28) == 28);
	ASSERT_EQ(httpc_h2_io(s, CONN_READ), -1);
	take(s, &g);
	ASSERT_EQ(g.n, 1);
	ASSERT_EQ(g.err[0], HTTPC_H2_E_PROTOCOL);
	ASSERT(httpc_h2_error(s)[0] != '\0');
	httpc_h2_free(s);
	conn_close(b);
	got_free(&g);
}

static void
test_from_http1(void)
{
	static const char	 ok[] = "POST /a?b=1 HTTP/1.1\r\nHost: h:1\r\n"
	    "Connection: keep-alive\r\nTE: trailers\r\nContent-Length: 3\r\n"
	    "\r\nabc";
	struct httpc_h2_req	 r;
	struct http_msg		 m;
	const char		*why = NULL;
	static const char *const bad[] = {
		"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
		    "\r\n0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab",
		"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\n\r\nextra",
	};
	size_t			 i;

	ASSERT_EQ(httpc_h2_req_from_http1(&r, &m, ok, sizeof ok - 1, "https",
	    "dflt", &why), 0);
	ASSERT_MEM_EQ(r.method.p, r.method.len, "POST");
	ASSERT_MEM_EQ(r.path.p, r.path.len, "/a?b=1");
	ASSERT_MEM_EQ(r.authority.p, r.authority.len, "h:1");
	ASSERT_MEM_EQ(r.scheme.p, r.scheme.len, "https");
	ASSERT_MEM_EQ(r.body.p, r.body.len, "abc");
	ASSERT(httpc_h2_header_is_hop(SPAN_LIT("Connection")));
	ASSERT(httpc_h2_header_is_hop(SPAN_LIT("host")));
	ASSERT(!httpc_h2_header_is_hop(SPAN_LIT("content-type")));
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		ASSERT_EQ(httpc_h2_req_from_http1(&r, &m, bad[i],
		    strlen(bad[i]), "http", "d", &why), -1);
		ASSERT(why != NULL);
	}
}

/* Upgrade: h2c: the asking request, then the session that follows a
 * 101 with that request as stream 1, answered by a server that took the
 * same HTTP2-Settings (nghttp2_session_upgrade2). */
static void
test_upgrade(void)
{
	static const char	 raw[] = "POST /up HTTP/1.1\r\nHost: h\r\n"
	    "Connection: keep-alive\r\nContent-Length: 3\r\n\r\nabc";
	struct conn		*a, *b;
	struct httpc_h2		*s;
	struct srv		 sv;
	struct srv_stream	*st;
	struct got		 g;
	struct buf		 out, payload;
	char			*p, *e, *cause = NULL;
	size_t			 i;

	buf_init(&out);
	ASSERT_EQ(httpc_h2_upgrade_request(NULL, raw, sizeof raw - 1, &out), 0);
	buf_append_byte(&out, '\0');
	ASSERT(strstr(out.data, "POST /up HTTP/1.1\r\nHost: h\r\n") ==
	    out.data);
	ASSERT(strstr(out.data, "keep-alive") == NULL);
	ASSERT(strstr(out.data, "\r\nConnection: Upgrade, HTTP2-Settings\r\n"
	    "Upgrade: h2c\r\nHTTP2-Settings: ") != NULL);
	ASSERT(strstr(out.data, "\r\n\r\nabc") != NULL);
	ASSERT_EQ(httpc_h2_upgrade_request(NULL, "GET / HTTP/1.1\r\n", 16,
	    &out), -1);
	/* The settings, base64url without padding, as a server reads them. */
	p = strstr(out.data, "HTTP2-Settings: ") + 16;
	e = strstr(p, "\r\n");
	for (i = 0; p + i < e; i++) {
		ASSERT(p[i] != '=' && p[i] != '+' && p[i] != '/');
		p[i] = p[i] == '-' ? '+' : p[i] == '_' ? '/' : p[i];
	}
	buf_init(&payload);
	buf_append(&payload, p, (size_t)(e - p));
	while (payload.len % 4 != 0)
		buf_append_byte(&payload, '=');
	p = xstrndup(payload.data, payload.len);
	buf_reset(&payload);
	ASSERT_EQ(base64_decode(&payload, p, strlen(p), NULL), 0);
	free(p);

	memset(&g, 0, sizeof g);
	conn_mem_pair(&a, &b);
	srv_init(&sv, b);
	ASSERT_EQ(nghttp2_session_upgrade2(sv.ng, (uint8_t *)payload.data,
	    payload.len, 0, NULL), 0);
	st = &sv.st[sv.nst++];
	memset(st, 0, sizeof *st);
	st->id = 1;
	snprintf(st->path, sizeof st->path, "/up");
	snprintf(st->method, sizeof st->method, "POST");
	st->got = 3;
	srv_answer(&sv, st);
	s = httpc_h2_create_upgraded(a, NULL, 0, (void *)7, NULL, 0, &cause);
	ASSERT(s != NULL);
	ASSERT_EQ(httpc_h2_inflight(s), 1);
	ASSERT_EQ(pump(s, &sv, &g, 1), 0);
	ASSERT_EQ(g.n, 1);
	ASSERT_EQ(g.status[7], 200);
	ASSERT_STR_EQ(g.body[7], "POST /up 3");
	httpc_h2_free(s);
	srv_free(&sv);
	got_free(&g);
	buf_free(&payload);
	buf_free(&out);
}

int
main(void)
{
	test_streams();
	test_too_large_and_cancel();
	test_goaway();
	test_unprocessed();
	test_close_and_garbage();
	test_from_http1();
	test_upgrade();
	UNIT_DONE();
}
