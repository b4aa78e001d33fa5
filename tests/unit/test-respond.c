/*
 * test-respond.c -- the responder's role over the in-memory transport:
 * connections are handed to the first worker (respond_adopt) as mem
 * pairs and driven with hconn_io, no worker thread and no socket I/O (the
 * listener the responder binds on 127.0.0.1:0 is never connected to).
 * A matched request answered byte for byte, a miss (404), a pipelined
 * pair answered in order, a chunked request body, a reject (400, counted),
 * and --tls: leaves minted by a CA for the SNI, the client verifying them
 * against ca.pem, with would-block forced at random on both ends of the
 * pair (want-read / want-write at every step of the handshake and data).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "ca.h"
#include "conn.h"
#include "httpd.h"
#include "respond.h"
#include "unit.h"
#include "mem.h"

static char	tmpdir[] = "/tmp/test-respond.XXXXXX";
static char	snap[256], cadir[256], capem[256];

static const char snapshot[] =
    "{\"v\":1,\"id\":\"t-1\",\"dir\":\"out\",\"req\":{\"method\":\"GET\","
    "\"target\":\"/v1/items/1\",\"host\":\"api.example\"},\"res\":{"
    "\"status\":200,\"reason\":\"OK\",\"headers\":[[\"X-Id\",\"1\"]],"
    "\"body\":\"one\"}}\n"
    "{\"v\":1,\"id\":\"t-2\",\"dir\":\"out\",\"req\":{\"method\":\"GET\","
    "\"target\":\"/v1/items/2\",\"host\":\"api.example\"},\"res\":{"
    "\"status\":200,\"reason\":\"OK\",\"body\":\"two\"}}\n"
    "{\"v\":1,\"id\":\"t-3\",\"dir\":\"out\",\"req\":{\"method\":\"POST\","
    "\"target\":\"/v1/charges\",\"host\":\"api.example\",\"body\":"
    "\"{\\\"amount\\\":1200}\"},\"res\":{\"status\":201,\"reason\":"
    "\"Created\",\"body\":\"ch_1\"}}\n";

static const char reply1[] =
    "HTTP/1.1 200 OK\r\nX-Id: 1\r\nContent-Length: 3\r\n\r\none";
static const char reply2[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo";

static void
send_req(struct conn *cl, struct hconn *c, const char *s)
{
	mem_put(cl, s);
	hconn_io(c, CONN_READ);
}

static struct responder *
responder(int tls)
{
	struct respond_config	 cfg;
	struct responder	*r;
	char			*cause = NULL;

	respond_config_init(&cfg);
	cfg.snapshot = snap;
	cfg.workers = 1;
	respond_config_add_listen(&cfg, "127.0.0.1:0");
	if (tls) {
		cfg.tls = 1;
		cfg.ca_dir = cadir;
	}
	if ((r = respond_create(&cfg, &cause)) == NULL)
		fprintf(stderr, "respond_create: %s\n", cause);
	ASSERT(r != NULL);
	cfg.snapshot = NULL;
	cfg.ca_dir = NULL;
	respond_config_free(&cfg);
	free(cause);
	return r;
}

static void
test_plain(void)
{
	struct responder	*r = responder(0);
	struct respond_stats	 st;
	struct conn		*cl, *sv;
	struct hconn		*c;
	struct buf		 b;

	buf_init(&b);
	conn_mem_pair(&cl, &sv);
	c = respond_adopt(r, sv, "mem");
	ASSERT(c != NULL);

	/* Matched: the recorded reply, byte for byte. */
	send_req(cl, c, "GET /v1/items/1 HTTP/1.1\r\nHost: api.example\r\n"
	    "\r\n");
	mem_drain(cl, &b);
	ASSERT_MEM_EQ(b.data, b.len, reply1);
	buf_reset(&b);

	/* A miss: 404. */
	send_req(cl, c, "GET /nowhere HTTP/1.1\r\nHost: api.example\r\n\r\n");
	mem_drain(cl, &b);
	ASSERT(b.len > 13 && memcmp(b.data, "HTTP/1.1 404 ", 13) == 0);
	buf_reset(&b);

	/* A pipelined pair, in order. */
	send_req(cl, c, "GET /v1/items/2 HTTP/1.1\r\nHost: api.example\r\n\r\n"
	    "GET /v1/items/1 HTTP/1.1\r\nHost: api.example\r\n\r\n");
	mem_drain(cl, &b);
	ASSERT(b.len == sizeof reply2 - 1 + sizeof reply1 - 1 &&
	    memcmp(b.data, reply2, sizeof reply2 - 1) == 0 &&
	    memcmp(b.data + sizeof reply2 - 1, reply1, sizeof reply1 - 1) == 0);
	buf_reset(&b);

	/* A chunked request body matches the recorded one. */
	send_req(cl, c, "POST /v1/charges HTTP/1.1\r\nHost: api.example\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n6\r\n{\"amou\r\n");
	send_req(cl, c, "9\r\nnt\":1200}\r\n0\r\n\r\n");
	mem_drain(cl, &b);
	ASSERT(b.len > 21 && memcmp(b.data, "HTTP/1.1 201 Created\r\n",
	    21) == 0);
	ASSERT(mem_has(&b, "\r\n\r\nch_1"));
	buf_reset(&b);

	/* A reject: 400 with the JSON reason, then the connection ends. */
	send_req(cl, c, "GET / HTTP/9.9\r\n\r\n");
	ASSERT_EQ(mem_drain(cl, &b), 0);
	ASSERT(b.len > 13 && memcmp(b.data, "HTTP/1.1 400 ", 13) == 0);
	ASSERT(mem_has(&b, "\"reason\":"));
	conn_close(cl);
	hconn_io(c, CONN_READ);
	ASSERT_EQ(hconn_is_dead(c), 1);

	respond_stats(r, &st);
	ASSERT_EQ(st.requests, 5);
	ASSERT_EQ(st.matched, 4);
	ASSERT_EQ(st.unmatched, 1);
	ASSERT_EQ(st.rejected, 1);
	ASSERT_EQ(st.connections, 1);
	ASSERT_EQ(st.open, 0);
	buf_free(&b);
	respond_free(r);
}

static unsigned
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)(*s >> 33);
}

/* One keep-alive TLS connection, two requests, would-block forced at
 * random; 1 if both replies came back whole. */
static int
tls_exchange(struct responder *r, struct conn_tls_ctx *cx, uint64_t seed,
    int *blocked)
{
	static const char	 req[] =
	    "GET /v1/items/1 HTTP/1.1\r\nHost: api.example\r\n\r\n"
	    "GET /v1/items/2 HTTP/1.1\r\nHost: api.example\r\n\r\n";
	struct conn		*mcl, *msv, *cl;
	struct hconn		*c;
	struct buf		 b;
	char			*cause = NULL, tmp[512];
	size_t			 sent = 0, want;
	ssize_t			 n;
	unsigned		 x;
	int			 i, ok;

	want = sizeof reply1 - 1 + sizeof reply2 - 1;
	buf_init(&b);
	conn_mem_pair(&mcl, &msv);
	conn_mem_set_limit(mcl, 16 + seed * 37 % 300);
	conn_mem_set_limit(msv, 16 + seed * 41 % 300);
	cl = conn_tls_client(cx, mcl, "api.example", &cause);
	c = respond_adopt(r, msv, "mem");
	for (i = 0; i < 40000 && b.len < want && c != NULL; i++) {
		x = rnd(&seed);
		conn_mem_block(mcl, (int)(x & 3));
		conn_mem_block(msv, (int)((x >> 2) & 3));
		if (x & 0x10) {
			hconn_io(c, CONN_READ | CONN_WRITE);
			*blocked |= hconn_events(c);
		}
		if (hconn_is_dead(c) || conn_handshake(cl) == -1)
			break;
		if (!conn_is_established(cl))
			continue;
		if (sent < sizeof req - 1 && (n = conn_write(cl, req + sent,
		    sizeof req - 1 - sent)) > 0)
			sent += (size_t)n;
		if ((n = conn_read(cl, tmp, sizeof tmp)) > 0)
			buf_append(&b, tmp, (size_t)n);
	}
	ok = b.len == want && memcmp(b.data, reply1, sizeof reply1 - 1) == 0 &&
	    memcmp(b.data + sizeof reply1 - 1, reply2, sizeof reply2 - 1) == 0;
	if (!ok)
		fprintf(stderr, "tls: %zu of %zu bytes back: %s\n", b.len, want,
		    conn_error(cl));
	conn_mem_block(mcl, 0);
	conn_mem_block(msv, 0);
	conn_close(cl);
	if (c != NULL)
		hconn_io(c, CONN_READ);
	free(cause);
	buf_free(&b);
	return ok;
}

static void
test_tls(void)
{
	struct responder	*r;
	struct conn_tls_config	 cc = { 0 };
	struct conn_tls_ctx	*cx;
	char			*cause = NULL;
	uint64_t		 seed;
	int			 failed = 0, blocked = 0;

	if (ca_init(cadir, 0, &cause) == -1) {
		fprintf(stderr, "ca_init: %s\n", cause);
		UNIT_FAIL("no CA");
		free(cause);
		return;
	}
	r = responder(1);
	cc.ca_file = capem;
	if ((cx = conn_tls_client_ctx(&cc, &cause)) == NULL)
		fprintf(stderr, "client ctx: %s\n", cause);
	ASSERT(r != NULL && cx != NULL);
	for (seed = 1; r != NULL && cx != NULL && seed <= 25; seed++)
		failed += !tls_exchange(r, cx, seed, &blocked);
	ASSERT_EQ(failed, 0);
	/* The server side waited both ways at some point. */
	ASSERT(blocked & CONN_WRITE);
	ASSERT(blocked & CONN_READ);
	conn_tls_ctx_free(cx);
	respond_free(r);
	free(cause);
}

int
main(void)
{
	FILE	*f;
	char	 p[512];

	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	snprintf(snap, sizeof snap, "%s/snap.jsonl", tmpdir);
	snprintf(cadir, sizeof cadir, "%s/ca", tmpdir);
	snprintf(capem, sizeof capem, "%s/ca/ca.pem", tmpdir);
	if ((f = fopen(snap, "w")) == NULL || fputs(snapshot, f) == EOF) {
		perror(snap);
		return 99;
	}
	fclose(f);
	test_plain();
	test_tls();
	unlink(snap);
	unlink(capem);
	snprintf(p, sizeof p, "%s/ca.key", cadir);
	unlink(p);
	rmdir(cadir);
	rmdir(tmpdir);
	UNIT_DONE();
}
