/*
 * test-record-h2.c -- the recorder's HTTP/2 relay (record-h2.c) between
 * two libnghttp2 peers in memory: a client session and a server session
 * standing for the upstream, bytes pumped by hand.
 *
 * A stream with a request body, a response body and trailers crosses
 * whole ((:authority, :scheme) rewritten, fields as sent) and is handed
 * over once, before the client sees its end; a client's reset reaches
 * the upstream as CANCEL and is recorded with an error; an upstream
 * sending to a client that reads nothing is stopped by the window (the
 * relay holds at most about a stream window), and the rest comes once
 * the client reads; the upstream's loss fails the streams in flight.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "buf.h"
#include "http.h"
#include "record-h2.h"
#include "unit.h"
#include "xmalloc.h"

#define BIG	(2 * 1024 * 1024)

struct peer {
	nghttp2_session	*ng;
	int		 status;
	char		 path[64], authority[64], scheme[16], trailer[64];
	struct buf	 body;		/* DATA received */
	int		 ended;		/* END_STREAM received */
	uint32_t	 close_code;
	int		 nfields;	/* user-agent 1, upgrade 100 */
	int		 closed;
	/* Server: what it answers. */
	size_t		 res_len, res_off;
	int		 res_trailers;
	int		 early;		/* answers on the request's HEADERS */
	char		 rtrl[64];	/* the request trailer x-rt */
};

static int	cl_trailer;	/* the client ends its body with x-rt */

struct harness {
	struct peer		 cl, up;
	struct record_h2	*h;
	struct buf		 to_cl, to_up;
	int			 read_client;	/* feed the client its frames */
	int			 read_upstream;	/* and the upstream its own */
	/* What the txn callback saw. */
	int			 ntxn;
	int			 ended_at_txn;	/* the client had its end */
	char			 method[16], target[64], error[128];
	int			 status;
	size_t			 req_len, res_len, res_body_len;
	char			 trl[64];
};

static int
peer_header(nghttp2_session *ng, const nghttp2_frame *fr, const uint8_t *n,
    size_t nl, const uint8_t *v, size_t vl, uint8_t flags, void *arg)
{
	struct peer	*p = arg;

	(void)ng;
	(void)fr;
	(void)flags;
	if (nl == 7 && memcmp(n, ":status", 7) == 0)
		p->status = vl == 3 ? (v[0] - '0') * 100 + (v[1] - '0') * 10 +
		    (v[2] - '0') : -1;
	else if (nl == 5 && memcmp(n, ":path", 5) == 0)
		snprintf(p->path, sizeof p->path, "%.*s", (int)vl, v);
	else if (nl == 10 && memcmp(n, ":authority", 10) == 0)
		snprintf(p->authority, sizeof p->authority, "%.*s", (int)vl, v);
	else if (nl == 7 && memcmp(n, ":scheme", 7) == 0)
		snprintf(p->scheme, sizeof p->scheme, "%.*s", (int)vl, v);
	else if (nl == 10 && memcmp(n, "user-agent", 10) == 0)
		p->nfields++;
	else if (nl == 7 && memcmp(n, "upgrade", 7) == 0)
		p->nfields += 100;
	else if (nl == 11 && memcmp(n, "grpc-status", 11) == 0)
		snprintf(p->trailer, sizeof p->trailer, "%.*s", (int)vl, v);
	else if (nl == 4 && memcmp(n, "x-rt", 4) == 0)
		snprintf(p->rtrl, sizeof p->rtrl, "%.*s", (int)vl, v);
	return 0;
}

static int
peer_data(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *d,
    size_t n, void *arg)
{
	struct peer	*p = arg;

	(void)ng;
	(void)flags;
	(void)id;
	buf_append(&p->body, d, n);
	return 0;
}

static ssize_t
srv_read(nghttp2_session *ng, int32_t id, uint8_t *b, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	struct peer	*p = arg;
	nghttp2_nv	 nv = { (uint8_t *)"grpc-status", (uint8_t *)"7", 11, 1,
			    NGHTTP2_NV_FLAG_NONE };
	size_t		 n = p->res_len - p->res_off;

	(void)src;
	if (n > len)
		n = len;
	memset(b, 'r', n);
	p->res_off += n;
	if (p->res_off == p->res_len) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (p->res_trailers && nghttp2_submit_trailer(ng, id, &nv,
		    1) == 0)
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
	}
	return (ssize_t)n;
}

static int
peer_frame(nghttp2_session *ng, const nghttp2_frame *fr, void *arg)
{
	struct peer		*p = arg;
	nghttp2_nv		 nv = { (uint8_t *)":status", (uint8_t *)"200",
				    7, 3, NGHTTP2_NV_FLAG_NONE };
	nghttp2_data_provider	 prd = { .read_callback = srv_read };

	if (p->early && fr->hd.type == NGHTTP2_HEADERS &&
	    fr->headers.cat == NGHTTP2_HCAT_REQUEST)
		nghttp2_submit_response(ng, fr->hd.stream_id, &nv, 1, &prd);
	if (!(fr->hd.flags & NGHTTP2_FLAG_END_STREAM) || fr->hd.stream_id == 0)
		return 0;
	p->ended = 1;
	/* The server answers once the request is whole. */
	if (!nghttp2_session_check_server_session(ng) || p->early)
		return 0;
	nghttp2_submit_response(ng, fr->hd.stream_id, &nv, 1, &prd);
	return 0;
}

static int
peer_close(nghttp2_session *ng, int32_t id, uint32_t code, void *arg)
{
	struct peer	*p = arg;

	(void)ng;
	(void)id;
	p->closed = 1;
	p->close_code = code;
	return 0;
}

static void
peer_init(struct peer *p, int server)
{
	nghttp2_session_callbacks	*cb;

	memset(p, 0, sizeof *p);
	buf_init(&p->body);
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_header_callback(cb, peer_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb,
	    peer_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, peer_frame);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb,
	    peer_close);
	if (server)
		nghttp2_session_server_new(&p->ng, cb, p);
	else
		nghttp2_session_client_new(&p->ng, cb, p);
	nghttp2_session_callbacks_del(cb);
	nghttp2_submit_settings(p->ng, NGHTTP2_FLAG_NONE, NULL, 0);
}

static void
on_txn(void *arg, struct record_h2_txn *x)
{
	struct harness	*hs = arg;

	hs->ntxn++;
	hs->ended_at_txn = hs->cl.ended;
	snprintf(hs->method, sizeof hs->method, "%s", x->t.req.method);
	snprintf(hs->target, sizeof hs->target, "%s", x->t.req.target);
	snprintf(hs->error, sizeof hs->error, "%s", x->error != NULL ?
	    x->error : "");
	hs->status = x->t.has_res ? x->t.res.status : 0;
	hs->req_len = x->req_len;
	hs->res_len = x->res_len;
	hs->res_body_len = x->t.res.body_len;
	hs->trl[0] = '\0';
	if (x->t.res.ntrailers > 0)
		snprintf(hs->trl, sizeof hs->trl, "%s=%s",
		    x->t.res.trailers[0].name, x->t.res.trailers[0].value);
}

static void
harness_init(struct harness *hs, size_t max_body)
{
	struct record_h2_config	 cfg;
	char			*cause = NULL;

	memset(hs, 0, sizeof *hs);
	peer_init(&hs->cl, 0);
	peer_init(&hs->up, 1);
	buf_init(&hs->to_cl);
	buf_init(&hs->to_up);
	hs->read_client = hs->read_upstream = 1;
	memset(&cfg, 0, sizeof cfg);
	cfg.max_body = max_body;
	cfg.scheme = "https";
	cfg.authority = "up.example:8443";
	cfg.txn = on_txn;
	cfg.arg = hs;
	hs->h = record_h2_create(&cfg, &cause);
	ASSERT(hs->h != NULL);
}

static void
harness_free(struct harness *hs)
{
	record_h2_free(hs->h);
	nghttp2_session_del(hs->cl.ng);
	nghttp2_session_del(hs->up.ng);
	buf_free(&hs->cl.body);
	buf_free(&hs->up.body);
	buf_free(&hs->to_cl);
	buf_free(&hs->to_up);
}

/* Sends what ng has into the relay side; 1 if bytes moved. */
static int
feed(nghttp2_session *ng, struct record_h2 *h, int upstream)
{
	const uint8_t	*p;
	ssize_t		 n;
	int		 moved = 0;

	while ((n = nghttp2_session_mem_send(ng, &p)) > 0) {
		moved = 1;
		if (upstream)
			record_h2_upstream_in(h, (const char *)p, (size_t)n);
		else
			record_h2_client_in(h, (const char *)p, (size_t)n);
	}
	return moved;
}

/* Moves bytes every way until nothing moves. */
static void
pump(struct harness *hs)
{
	int	moved, i;

	for (i = 0; i < 10000; i++) {
		moved = feed(hs->cl.ng, hs->h, 0);
		moved |= feed(hs->up.ng, hs->h, 1);
		if (hs->to_up.len < 64 * 1024)
			(void)record_h2_upstream_out(hs->h, &hs->to_up,
			    64 * 1024);
		if (hs->read_upstream && hs->to_up.len > 0) {
			nghttp2_session_mem_recv(hs->up.ng,
			    (const uint8_t *)hs->to_up.data, hs->to_up.len);
			buf_reset(&hs->to_up);
			moved = 1;
		}
		if (hs->to_cl.len < 64 * 1024)
			(void)record_h2_client_out(hs->h, &hs->to_cl,
			    64 * 1024);
		if (hs->read_client && hs->to_cl.len > 0) {
			nghttp2_session_mem_recv(hs->cl.ng,
			    (const uint8_t *)hs->to_cl.data, hs->to_cl.len);
			buf_reset(&hs->to_cl);
			moved = 1;
		}
		if (!moved)
			return;
	}
}

static ssize_t
cl_body(nghttp2_session *ng, int32_t id, uint8_t *b, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	nghttp2_nv	 nv = { (uint8_t *)"x-rt", (uint8_t *)"v9", 4, 2,
			    NGHTTP2_NV_FLAG_NONE };
	size_t		*left = src->ptr, n = *left < len ? *left : len;

	(void)arg;
	memset(b, 'q', n);
	*left -= n;
	if (*left == 0) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (cl_trailer && nghttp2_submit_trailer(ng, id, &nv, 1) == 0)
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
	}
	return (ssize_t)n;
}

static int32_t
request(struct harness *hs, const char *path, size_t *body)
{
	nghttp2_nv		 nv[5] = {
	    { (uint8_t *)":method", (uint8_t *)"POST", 7, 4, 0 },
	    { (uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0 },
	    { (uint8_t *)":authority", (uint8_t *)"me", 10, 2, 0 },
	    { (uint8_t *)":path", (uint8_t *)path, 5, strlen(path), 0 },
	    { (uint8_t *)"te", (uint8_t *)"trailers", 2, 8, 0 },
	};
	nghttp2_data_provider	 prd = { .source.ptr = body,
				    .read_callback = cl_body };

	return nghttp2_submit_request(hs->cl.ng, NULL, nv, 5, &prd, NULL);
}

static void
test_stream(void)
{
	struct harness	hs;
	size_t		body = 100000;

	harness_init(&hs, 1000);
	hs.up.res_len = 300000;
	hs.up.res_trailers = 1;
	ASSERT_EQ(request(&hs, "/pkg.Svc/Get", &body), 1);
	pump(&hs);
	ASSERT_STR_EQ(hs.up.path, "/pkg.Svc/Get");
	ASSERT_STR_EQ(hs.up.authority, "up.example:8443");
	ASSERT_STR_EQ(hs.up.scheme, "https");
	ASSERT_EQ(hs.up.body.len, 100000);
	ASSERT_EQ(hs.cl.status, 200);
	ASSERT_EQ(hs.cl.body.len, 300000);
	ASSERT_STR_EQ(hs.cl.trailer, "7");
	ASSERT_EQ(hs.cl.ended, 1);
	ASSERT_EQ(hs.ntxn, 1);
	ASSERT_EQ(hs.ended_at_txn, 0);
	ASSERT_STR_EQ(hs.method, "POST");
	ASSERT_STR_EQ(hs.target, "/pkg.Svc/Get");
	ASSERT_STR_EQ(hs.error, "");
	ASSERT_EQ(hs.status, 200);
	ASSERT_EQ(hs.req_len, 100000);
	ASSERT_EQ(hs.res_len, 300000);
	ASSERT_EQ(hs.res_body_len, 1000);	/* max_body */
	ASSERT_STR_EQ(hs.trl, "grpc-status=7");
	ASSERT_EQ(record_h2_streams(hs.h), 0);
	harness_free(&hs);
}

/* An upstream that answers (and ends) before the request is whole: the
 * stream is recorded at the answer's end, and the rest of the request,
 * its trailers too, still goes upstream. */
static void
test_early_answer(void)
{
	struct harness	hs;
	size_t		body = 300000;

	harness_init(&hs, 1000);
	hs.up.early = 1;
	hs.up.res_len = 10;
	cl_trailer = 1;
	ASSERT_EQ(request(&hs, "/early", &body), 1);
	pump(&hs);
	cl_trailer = 0;
	ASSERT_EQ(hs.ntxn, 1);
	ASSERT_EQ(hs.status, 200);
	ASSERT_EQ(hs.cl.status, 200);
	ASSERT_EQ(hs.cl.body.len, 10);
	ASSERT_EQ(hs.up.body.len, 300000);
	ASSERT_STR_EQ(hs.up.rtrl, "v9");
	ASSERT_EQ(hs.up.ended, 1);
	ASSERT_EQ(record_h2_streams(hs.h), 0);
	harness_free(&hs);
}

/* An HTTP/1.1 upstream (cfg.h1): the stream as a chunked request with
 * its trailers; a chunked answer with trailers back as h2. */
static void
test_h1(void)
{
	static const char	 want[] = "POST /h1 HTTP/1.1\r\n"
				    "host: up.example:8443\r\n"
				    "te: trailers\r\nconnection: te\r\n"
				    "transfer-encoding: chunked\r\n\r\n"
				    "5\r\nqqqqq\r\n0\r\nx-rt: v9\r\n\r\n";
	static const char	 res[] = "HTTP/1.1 200 OK\r\n"
				    "Transfer-Encoding: chunked\r\n"
				    "Connection: keep-alive\r\nX-A: b\r\n\r\n"
				    "3\r\nabc\r\n0\r\nGrpc-Status: 7\r\n\r\n";
	struct record_h2_config	 cfg;
	struct harness		 hs;
	char			*cause = NULL;
	size_t			 body = 5;
	const uint8_t		*p;

	harness_init(&hs, 1000);
	record_h2_free(hs.h);
	memset(&cfg, 0, sizeof cfg);
	cfg.max_body = 1000;
	cfg.scheme = "http";
	cfg.authority = "up.example:8443";
	cfg.h1 = 1;
	cfg.txn = on_txn;
	cfg.arg = &hs;
	hs.h = record_h2_create(&cfg, &cause);
	ASSERT(hs.h != NULL && record_h2_is_h1(hs.h));
	/* The h2 peer standing for the upstream says nothing. */
	while (nghttp2_session_mem_send(hs.up.ng, &p) > 0)
		;
	hs.read_upstream = 0;
	cl_trailer = 1;
	ASSERT_EQ(request(&hs, "/h1", &body), 1);
	pump(&hs);
	cl_trailer = 0;
	ASSERT(record_h2_h1_waiting(hs.h) == 0);
	ASSERT_MEM_EQ(hs.to_up.data, hs.to_up.len, want);
	ASSERT_EQ(hs.ntxn, 0);
	/* The answer in two parts. */
	ASSERT_EQ(record_h2_upstream_in(hs.h, res, 40), 0);
	ASSERT_EQ(record_h2_upstream_in(hs.h, res + 40, sizeof res - 41), 0);
	pump(&hs);
	ASSERT_EQ(hs.ntxn, 1);
	ASSERT_STR_EQ(hs.error, "");
	ASSERT_EQ(hs.status, 200);
	ASSERT_STR_EQ(hs.trl, "grpc-status=7");
	ASSERT_EQ(hs.cl.status, 200);
	ASSERT_MEM_EQ(hs.cl.body.data, hs.cl.body.len, "abc");
	ASSERT_STR_EQ(hs.cl.trailer, "7");
	ASSERT_EQ(hs.cl.ended, 1);
	ASSERT_EQ(record_h2_h1_done(hs.h), 0);	/* kept alive */
	ASSERT_EQ(record_h2_streams(hs.h), 0);
	/* A second stream; the upstream closes before answering. */
	buf_reset(&hs.to_up);
	body = 0;
	ASSERT_EQ(request(&hs, "/h1b", &body), 3);
	pump(&hs);
	ASSERT(strncmp(hs.to_up.data, "POST /h1b HTTP/1.1\r\n", 20) == 0);
	record_h2_upstream_eof(hs.h);
	pump(&hs);
	ASSERT_EQ(hs.ntxn, 2);
	ASSERT_STR_EQ(hs.error, "the upstream closed the connection");
	ASSERT_EQ(record_h2_h1_done(hs.h), 1);
	ASSERT_EQ(hs.cl.close_code, NGHTTP2_INTERNAL_ERROR);
	harness_free(&hs);
}

static void
test_client_reset(void)
{
	struct harness	hs;
	size_t		body = BIG;
	int32_t		id;

	harness_init(&hs, 1 << 20);
	hs.up.res_len = 10;
	hs.read_upstream = 0;
	id = request(&hs, "/slow", &body);
	/* An upstream that reads nothing: the client is stopped by the
	 * windows, the relay holding at most one stream window and its
	 * output limit. */
	pump(&hs);
	ASSERT_EQ(hs.ntxn, 0);
	ASSERT_EQ(record_h2_streams(hs.h), 1);
	ASSERT(BIG - body <= 65535 + 256 * 1024 + 64 * 1024);
	hs.read_upstream = 1;
	nghttp2_submit_rst_stream(hs.cl.ng, NGHTTP2_FLAG_NONE, id,
	    NGHTTP2_CANCEL);
	pump(&hs);
	ASSERT_EQ(hs.ntxn, 1);
	ASSERT(strstr(hs.error, "the client reset the stream") != NULL);
	ASSERT_EQ(hs.status, 0);
	ASSERT_EQ(hs.up.closed, 1);
	ASSERT_EQ(hs.up.close_code, NGHTTP2_CANCEL);
	ASSERT_EQ(record_h2_streams(hs.h), 0);
	harness_free(&hs);
}

static void
test_window_bound(void)
{
	struct harness	hs;
	size_t		body = 0;

	harness_init(&hs, 1 << 20);
	hs.up.res_len = BIG;
	hs.read_client = 0;
	request(&hs, "/big", &body);
	/* The request goes (the client's frames are read), the answer is
	 * not taken by the client. */
	pump(&hs);
	ASSERT(hs.up.res_off < BIG);
	/* What the relay took beyond what the client's window allows is
	 * bounded by our window (256 KiB) and its output limit. */
	ASSERT(hs.up.res_off <= 65535 + 256 * 1024 + 64 * 1024);
	ASSERT_EQ(hs.ntxn, 0);
	hs.read_client = 1;
	pump(&hs);
	ASSERT_EQ(hs.cl.body.len, BIG);
	ASSERT_EQ(hs.ntxn, 1);
	ASSERT_EQ(hs.res_len, BIG);
	harness_free(&hs);
}

static void
test_upstream_lost(void)
{
	struct harness	hs;
	size_t		body = BIG;

	harness_init(&hs, 1 << 20);
	hs.read_upstream = 0;
	request(&hs, "/a", &body);
	pump(&hs);
	record_h2_lost(hs.h, 1, "the upstream closed the connection");
	ASSERT_EQ(hs.ntxn, 1);
	ASSERT_STR_EQ(hs.error, "the upstream closed the connection");
	ASSERT_EQ(record_h2_is_open(hs.h), 0);
	pump(&hs);	/* the client gets its GOAWAY */
	ASSERT_EQ(hs.cl.closed, 1);
	ASSERT_EQ(hs.ntxn, 1);
	harness_free(&hs);
}

/*
 * Upgrade: h2c: the HTTP/1.1 request is stream 1, its connection headers
 * left behind; nothing goes to the client before its preface.
 */
static void
test_upgrade(void)
{
	static const char	 req[] = "GET /up?x=1 HTTP/1.1\r\nHost: me:80\r\n"
				    "User-Agent: t\r\nConnection: Upgrade, "
				    "HTTP2-Settings\r\nUpgrade: h2c\r\n"
				    "HTTP2-Settings: AAMAAABk\r\n\r\n";
	struct harness		 hs;
	struct http_msg		 m;
	enum http_err		 err;
	size_t			 erroff;
	nghttp2_settings_entry	 iv = { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
				    100 };
	uint8_t			 set[16];
	ssize_t			 n;

	harness_init(&hs, 1 << 20);
	hs.up.res_len = 5;
	ASSERT(http_parse_request(req, sizeof req - 1, 8192, &m, &err,
	    &erroff) > 0);
	n = nghttp2_pack_settings_payload(set, sizeof set, &iv, 1);
	ASSERT_EQ(n, 6);
	ASSERT_EQ(record_h2_upgrade(hs.h, (const char *)set, (size_t)n, &m),
	    0);
	ASSERT_EQ(record_h2_client_out(hs.h, &hs.to_cl, 65536), 0);
	ASSERT_EQ(hs.to_cl.len, 0);
	ASSERT_EQ(nghttp2_session_upgrade2(hs.cl.ng, set, (size_t)n, 0,
	    NULL), 0);
	pump(&hs);
	ASSERT_STR_EQ(hs.up.path, "/up?x=1");
	ASSERT_STR_EQ(hs.up.authority, "up.example:8443");
	ASSERT_EQ(hs.up.nfields, 1);	/* user-agent, no upgrade */
	ASSERT_EQ(hs.cl.status, 200);
	ASSERT_EQ(hs.cl.body.len, 5);
	ASSERT_EQ(hs.ntxn, 1);
	ASSERT_STR_EQ(hs.method, "GET");
	ASSERT_STR_EQ(hs.target, "/up?x=1");
	ASSERT_STR_EQ(hs.error, "");
	harness_free(&hs);
}

static void
test_preface(void)
{
	ASSERT_EQ(record_h2_is_preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	    24), 1);
	ASSERT_EQ(record_h2_is_preface("PRI * HT", 8), 1);
	ASSERT_EQ(record_h2_is_preface("POST / HTTP/1.1\r\n", 17), 0);
	ASSERT_EQ(record_h2_is_preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nxx",
	    26), 1);
}

int
main(void)
{
	test_preface();
	test_stream();
	test_early_answer();
	test_h1();
	test_client_reset();
	test_window_bound();
	test_upstream_lost();
	test_upgrade();
	UNIT_DONE();
}
