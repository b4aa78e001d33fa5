/*
 * test-httpd.c -- the HTTP server module over the in-memory transport (no
 * sockets): a small role answers each request with its path and body;
 * the tests write raw requests on the client end of a mem pair, let the
 * connection run (hconn_io) and read the raw replies: one request,
 * pipelined requests answered in order, a chunked body, 100-continue,
 * rejects (bad request line, body too large) with the lingering close,
 * Connection: close, a held reply with a request pipelined behind it,
 * the output bound (not reading while the client does not), a peer that
 * leaves mid-request, a head deadline (408, the loop run for a moment),
 * and TLS over the mem pair with would-block forced on both sides.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "conn.h"
#include "httpd.h"
#include "loop.h"
#include "unit.h"
#include "mem.h"

/* --- the role --------------------------------------------------------- */

static int		 n_requests, n_rejects, n_freed;
static struct hconn	*held;		/* a "/hold" request waits here */

static void
role_request(struct hconn *c, const struct http_msg *m, const char *body,
    size_t body_len, uint64_t ready_ns)
{
	struct buf	b;

	(void)ready_ns;
	n_requests++;
	buf_init(&b);
	buf_printf(&b, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%.*s",
	    m->path.len + body_len, (int)m->path.len, m->path.p);
	buf_append(&b, body, body_len);
	if (span_eq_str(m->path, "/hold")) {
		/* Answered later: the reply is kept until release. */
		hconn_hold(c, 1);
		held = c;
		hconn_set_data(c, buf_detach(&b, NULL));
		return;
	}
	hconn_queue_buf(c, &b);
	if (!m->keep_alive)
		hconn_close_after(c);
}

static void
role_reject(struct hconn *c, int status, const char *why, size_t off)
{
	struct buf	b;

	n_rejects++;
	buf_init(&b);
	buf_printf(&b, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s", status, strlen(why), why);
	(void)off;
	hconn_queue_buf(c, &b);
}

static void
role_freed(struct hconn *c)
{
	n_freed++;
	free(hconn_data(c));
}

static void
release_held(void)
{
	char	*reply = hconn_data(held);

	hconn_set_data(held, NULL);
	hconn_release(held);
	hconn_queue(held, reply, strlen(reply), reply);
	hconn_step(held);
	held = NULL;
}

static const struct httpd_role test_role = { role_request, role_reject,
	NULL, role_freed, NULL, NULL, NULL };

static struct httpd_config
test_config(void)
{
	struct httpd_config	cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.max_head = 1024;
	cfg.max_body = 4096;
	cfg.header_timeout_ns = 10ull * 1000000000u;
	cfg.idle_timeout_ns = 60ull * 1000000000u;
	cfg.linger_ns = 1000000000u;
	cfg.out_high = 1024 * 1024;
	return cfg;
}

/* --- helpers ---------------------------------------------------------- */

/* Sends s from the client and lets the server read it. */
static void
send_req(struct conn *cl, struct hconn *c, const char *s)
{
	mem_put(cl, s);
	hconn_io(c, CONN_READ);
}

/* --- tests ------------------------------------------------------------- */

static void
test_requests(struct loop *loop)
{
	struct httpd_config	 cfg = test_config();
	struct httpd		*h = httpd_create(loop, &cfg, &test_role, NULL);
	struct conn		*cl, *sv;
	struct hconn		*c;
	struct buf		 b;

	buf_init(&b);
	conn_mem_pair(&cl, &sv);
	c = httpd_adopt(h, sv, "mem");
	ASSERT(c != NULL);
	ASSERT_STR_EQ(hconn_peer(c), "mem");
	ASSERT_EQ(hconn_fd(c), -1);
	ASSERT_EQ(hconn_events(c), CONN_READ);

	send_req(cl, c, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n");
	mem_drain(cl, &b);
	ASSERT_MEM_EQ(b.data, b.len,
	    "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n/one");
	buf_reset(&b);

	/* Pipelined: two requests in one write, two replies in order;
	 * the second one split across writes. */
	send_req(cl, c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /b HTTP/1.1\r\nHo");
	send_req(cl, c, "st: x\r\n\r\n");
	mem_drain(cl, &b);
	ASSERT_MEM_EQ(b.data, b.len,
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n/a"
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n/b");
	buf_reset(&b);

	/* A chunked body, decoded. */
	send_req(cl, c, "POST /c HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
	ASSERT_EQ(mem_drain(cl, &b), -1);
	ASSERT_EQ(b.len, 0);
	send_req(cl, c, "6\r\n world\r\n0\r\n\r\n");
	mem_drain(cl, &b);
	ASSERT_MEM_EQ(b.data, b.len,
	    "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n/chello world");
	buf_reset(&b);

	/* 100-continue before the body, then the reply. */
	send_req(cl, c, "PUT /d HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
	    "Expect: 100-continue\r\n\r\n");
	mem_drain(cl, &b);
	ASSERT_MEM_EQ(b.data, b.len, "HTTP/1.1 100 Continue\r\n\r\n");
	buf_reset(&b);
	send_req(cl, c, "abc");
	mem_drain(cl, &b);
	ASSERT_MEM_EQ(b.data, b.len,
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n/dabc");
	buf_reset(&b);

	/* A held reply: the request behind it waits, order is kept. */
	send_req(cl, c, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
	ASSERT(held == c);
	ASSERT_EQ(mem_drain(cl, &b), -1);
	ASSERT_EQ(b.len, 0);
	release_held();
	mem_drain(cl, &b);
	ASSERT_MEM_EQ(b.data, b.len,
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n/hold"
	    "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n/after");
	buf_reset(&b);

	/* Connection: close: the reply, then the end of the stream. */
	send_req(cl, c, "GET /bye HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n");
	ASSERT_EQ(mem_drain(cl, &b), 0);
	ASSERT_MEM_EQ(b.data, b.len,
	    "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n/bye");
	ASSERT_EQ(hconn_is_dead(c), 1);
	ASSERT_EQ(n_requests, 8);
	conn_close(cl);
	loop_run_deferred(loop);
	ASSERT_EQ(n_freed, 1);
	buf_free(&b);
	httpd_free(h);
}

static void
test_rejects(struct loop *loop)
{
	struct httpd_config	 cfg = test_config();
	struct httpd		*h = httpd_create(loop, &cfg, &test_role, NULL);
	struct conn		*cl, *sv;
	struct hconn		*c;
	struct buf		 b;

	buf_init(&b);
	/* A bad request line: 400, then the write side is shut while the
	 * server still drains what the client sends (lingering). */
	conn_mem_pair(&cl, &sv);
	c = httpd_adopt(h, sv, "mem");
	send_req(cl, c, "GET / HTTP/9.9\r\n\r\nmore junk");
	ASSERT_EQ(mem_drain(cl, &b), 0);
	ASSERT(mem_has(&b, "HTTP/1.1 400 X"));
	ASSERT_EQ(hconn_is_dead(c), 0);		/* lingering */
	ASSERT_EQ(conn_write(cl, "late", 4), 4);
	hconn_io(c, CONN_READ);
	ASSERT_EQ(conn_mem_inbox(sv), 0);	/* dropped */
	conn_close(cl);
	hconn_io(c, CONN_READ);
	ASSERT_EQ(hconn_is_dead(c), 1);
	buf_reset(&b);

	/* A body over max_body: 413 before it is read. */
	conn_mem_pair(&cl, &sv);
	c = httpd_adopt(h, sv, "mem");
	send_req(cl, c, "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Content-Length: 5000\r\n\r\n");
	mem_drain(cl, &b);
	ASSERT(mem_has(&b, "HTTP/1.1 413 X"));
	ASSERT(mem_has(&b, "body too large"));
	conn_close(cl);
	hconn_io(c, CONN_READ);
	buf_reset(&b);

	/* A head over max_head: 431. */
	conn_mem_pair(&cl, &sv);
	c = httpd_adopt(h, sv, "mem");
	memset(b.data != NULL ? b.data : NULL, 0, 0);
	{
		char	big[2048];

		memset(big, 'a', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		memcpy(big, "GET /", 5);
		send_req(cl, c, big);
	}
	mem_drain(cl, &b);
	ASSERT(mem_has(&b, "HTTP/1.1 431 X"));
	conn_close(cl);
	hconn_io(c, CONN_READ);
	ASSERT_EQ(n_rejects, 3);
	buf_free(&b);
	httpd_free(h);
}

/* The client reads nothing: the server stops reading at out_high. */
static void
test_output_bound(struct loop *loop)
{
	struct httpd_config	 cfg = test_config();
	struct httpd		*h;
	struct conn		*cl, *sv;
	struct hconn		*c;
	struct httpd_stats	 st;
	struct buf		 b;
	int			 i;

	cfg.out_high = 200;
	h = httpd_create(loop, &cfg, &test_role, NULL);
	buf_init(&b);
	conn_mem_pair(&cl, &sv);
	conn_mem_block(sv, CONN_WRITE);	/* nothing reaches the client */
	c = httpd_adopt(h, sv, "mem");
	for (i = 0; i < 20; i++)
		buf_append_str(&b, "GET /xxxxxxxxxxxxxxxx HTTP/1.1\r\nHost: x\r\n"
		    "\r\n");
	ASSERT_EQ(conn_write(cl, b.data, b.len), (ssize_t)b.len);
	hconn_io(c, CONN_READ);
	ASSERT(n_requests < 28);		/* 8 before, some now */
	ASSERT(hconn_has_output(c));
	ASSERT_EQ(hconn_events(c) & CONN_READ, 0);
	ASSERT(hconn_events(c) & CONN_WRITE);
	httpd_stats(h, &st);
	ASSERT(st.out_mem > 0);
	/* The client reads, a little at a time: everything is answered,
	 * in order. */
	conn_mem_block(sv, 0);
	conn_mem_set_limit(sv, 64);
	buf_reset(&b);
	for (i = 0; i < 200 && b.len < 20 * 56; i++) {
		hconn_io(c, CONN_WRITE);
		mem_drain(cl, &b);
	}
	ASSERT_EQ(n_requests, 28);
	ASSERT_EQ(b.len, 20 * 56);
	ASSERT(mem_has(&b, "\r\n\r\n/xxxxxxxxxxxxxxxx"));
	ASSERT(hconn_events(c) & CONN_READ);

	/* A peer that leaves mid-request: closed, freed. */
	send_req(cl, c, "GET /half");
	ASSERT_EQ(hconn_is_dead(c), 0);
	conn_close(cl);
	hconn_io(c, CONN_READ);
	ASSERT_EQ(hconn_is_dead(c), 1);
	httpd_stats(h, &st);
	ASSERT_EQ(st.open, 0);
	ASSERT_EQ(st.connections, 1);
	buf_free(&b);
	httpd_free(h);
}

static void
stop_cb(struct loop_timer *t)
{
	loop_stop(t->arg);
}

/* A head that never completes: 408 when the loop runs past it. */
static void
test_deadline(struct loop *loop)
{
	struct httpd_config	 cfg = test_config();
	struct httpd		*h;
	struct conn		*cl, *sv;
	struct hconn		*c;
	struct loop_timer	 stop;
	struct httpd_stats	 st;
	struct buf		 b;

	cfg.header_timeout_ns = 20 * 1000000ull;
	h = httpd_create(loop, &cfg, &test_role, NULL);
	buf_init(&b);
	conn_mem_pair(&cl, &sv);
	c = httpd_adopt(h, sv, "mem");
	send_req(cl, c, "GET /slow HTTP/1.1\r\n");
	loop_timer_init(&stop, stop_cb, loop);
	loop_timer_add(loop, &stop, 150 * 1000000ull);
	loop_run(loop);
	mem_drain(cl, &b);
	ASSERT(mem_has(&b, "HTTP/1.1 408 X"));
	httpd_stats(h, &st);
	ASSERT_EQ(st.head_timeouts, 1);
	conn_close(cl);
	hconn_io(c, CONN_READ);
	buf_free(&b);
	httpd_free(h);
}

/* --- TLS ---------------------------------------------------------------- */

static EVP_PKEY	*tls_key;
static X509	*tls_cert;

static int
cert_hook(struct conn *c, const char *sni, void *arg)
{
	(void)sni;
	(void)arg;
	return conn_tls_use_cert(c, tls_cert, tls_key, NULL);
}

static void
tls_mint(void)
{
	X509_NAME	*n;

	tls_key = EVP_EC_gen("P-256");
	tls_cert = X509_new();
	X509_set_version(tls_cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(tls_cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(tls_cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(tls_cert), 86400);
	X509_set_pubkey(tls_cert, tls_key);
	n = X509_get_subject_name(tls_cert);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"test", -1, -1, 0);
	X509_set_issuer_name(tls_cert, n);
	X509_sign(tls_cert, tls_key, EVP_sha256());
}

static unsigned
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)(*s >> 33);
}

/* A request over TLS with would-block forced at random on both ends of
 * the mem pair, handshake included; 1 if the reply came whole. */
static int
tls_exchange(struct httpd *h, struct conn_tls_ctx *cx, uint64_t seed)
{
	static const char	 req[] = "GET /tls HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char	 want[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n/tls";
	struct conn		*mcl, *msv, *cl;
	struct hconn		*c;
	struct buf		 b;
	char			*cause = NULL, tmp[256];
	size_t			 sent = 0;
	ssize_t			 n;
	unsigned		 r;
	int			 i, ok;

	buf_init(&b);
	conn_mem_pair(&mcl, &msv);
	conn_mem_set_limit(mcl, 16 + seed * 29 % 200);
	conn_mem_set_limit(msv, 16 + seed * 31 % 200);
	cl = conn_tls_client(cx, mcl, NULL, &cause);
	c = httpd_adopt(h, msv, "mem");
	for (i = 0; i < 20000 && b.len < sizeof want - 1; i++) {
		r = rnd(&seed);
		conn_mem_block(mcl, (int)(r & 3));
		conn_mem_block(msv, (int)((r >> 2) & 3));
		if (r & 0x10)
			hconn_io(c, CONN_READ | CONN_WRITE);
		if (hconn_is_dead(c))
			break;
		if (conn_handshake(cl) != 1)
			continue;
		if (sent < sizeof req - 1 && (n = conn_write(cl, req + sent,
		    sizeof req - 1 - sent)) > 0)
			sent += (size_t)n;
		if ((n = conn_read(cl, tmp, sizeof tmp)) > 0)
			buf_append(&b, tmp, (size_t)n);
	}
	ok = b.len == sizeof want - 1 && memcmp(b.data, want, b.len) == 0;
	if (!ok)
		fprintf(stderr, "seed %llu: %zu bytes back, %s\n",
		    (unsigned long long)seed, b.len, conn_error(cl));
	conn_mem_block(mcl, 0);
	conn_mem_block(msv, 0);
	conn_close(cl);
	hconn_io(c, CONN_READ);
	free(cause);
	buf_free(&b);
	return ok;
}

static void
test_tls(struct loop *loop)
{
	struct httpd_config	 cfg = test_config();
	struct conn_tls_config	 tc = { 0 };
	struct conn_tls_config	 cc = { 0 };
	struct httpd		*h;
	struct httpd_stats	 st;
	struct conn		*mcl, *msv;
	struct hconn		*c;
	char			*cause = NULL;
	uint64_t		 seed;
	int			 failed = 0;

	tls_mint();
	tc.cert_cb = cert_hook;
	cfg.tls = conn_tls_server_ctx(&tc, &cause);
	cc.insecure = 1;
	struct conn_tls_ctx *cx = conn_tls_client_ctx(&cc, &cause);
	ASSERT(cfg.tls != NULL && cx != NULL);
	h = httpd_create(loop, &cfg, &test_role, NULL);
	for (seed = 1; seed <= 30; seed++)
		failed += !tls_exchange(h, cx, seed);
	ASSERT_EQ(failed, 0);

	/* Plain HTTP to the TLS server: the handshake fails, counted. */
	conn_mem_pair(&mcl, &msv);
	c = httpd_adopt(h, msv, "mem");
	ASSERT_EQ(conn_write(mcl, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	hconn_io(c, CONN_READ);
	ASSERT_EQ(hconn_is_dead(c), 1);
	httpd_stats(h, &st);
	ASSERT_EQ(st.tls_failed, 1);
	conn_close(mcl);
	httpd_free(h);
	conn_tls_ctx_free(cfg.tls);
	conn_tls_ctx_free(cx);
	X509_free(tls_cert);
	EVP_PKEY_free(tls_key);
	free(cause);
}

int
main(void)
{
	struct loop	*loop;
	char		*cause = NULL;

	signal(SIGPIPE, SIG_IGN);
	if ((loop = loop_create(&cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		return 99;
	}
	test_requests(loop);
	test_rejects(loop);
	test_output_bound(loop);
	test_deadline(loop);
	test_tls(loop);
	loop_free(loop);
	UNIT_DONE();
}
