/*
 * test-record.c -- the recorder's role over the in-memory transport: a
 * reverse-proxy recorder (record_create on 127.0.0.1:0, never connected
 * to) relays client connections handed to it as mem pairs
 * (record_test_adopt) to upstream connections that are mem pairs too
 * (record_test_upstream), one loop round at a time (record_test_pump), no
 * thread and no socket I/O.  A request proxied and recorded byte for
 * byte, a pipelined pair, a chunked response, an upstream reset (502 and
 * an error entry), and the capture funnel dropping an exchange that is
 * relayed all the same, and an https upstream with would-block forced at
 * random on both ends of its mem pair (want-read/want-write at every step
 * of the handshake and the data).
 */
#include "config.h"

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
#include "funnel.h"
#include "record.h"
#include "unit.h"
#include "mem.h"

static char	tmpdir[] = "/tmp/test-record.XXXXXX";
static char	snap[256];

/* The upstream ends the recorder connects to, in order; up_peer[i] is the
 * test's end of the i-th. */
static struct conn	*up_peer[8], *up_mine[8];
static size_t		 nup;
/* --tls: the test's ends are TLS servers over the mem ends. */
static struct conn_tls_ctx *up_srv_ctx;
static char		 cadir[256];

static struct conn *
upstream(void *arg)
{
	struct conn	*a, *b;

	(void)arg;
	if (nup == sizeof up_peer / sizeof up_peer[0])
		return NULL;
	conn_mem_pair(&a, &b);
	up_mine[nup] = a;
	up_peer[nup++] = b;
	return a;
}

static struct recorder *
recorder_up(struct funnel *fn, const char *up)
{
	struct record_config	 cfg;
	struct recorder		*r;
	char			*cause = NULL;

	record_config_init(&cfg);
	cfg.upstream = (char *)up;
	cfg.insecure = 1;
	cfg.listen = (char *)"127.0.0.1:0";
	cfg.output = snap;
	cfg.fsync = RECORD_FSYNC_NEVER;
	cfg.funnel = fn;
	cfg.funnel_set = fn != NULL;
	if ((r = record_create(&cfg, &cause)) == NULL)
		fprintf(stderr, "record_create: %s\n", cause);
	ASSERT(r != NULL);
	free(cause);
	nup = 0;
	record_test_upstream(r, upstream, NULL);
	return r;
}

static struct recorder *
recorder(struct funnel *fn)
{
	return recorder_up(fn, "http://192.0.2.1:8080");
}

/* The snapshot written so far, after record_free. */
static char *
snapshot(size_t *len)
{
	FILE	*f = fopen(snap, "r");
	struct buf b;
	char	 tmp[4096];
	size_t	 n;

	buf_init(&b);
	ASSERT(f != NULL);
	while (f != NULL && (n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_append(&b, tmp, n);
	if (f != NULL)
		fclose(f);
	*len = b.len;
	buf_append_byte(&b, '\0');
	return buf_detach(&b, NULL);
}

static size_t
lines(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static const char res1[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
    "Content-Length: 5\r\n\r\nhello";

/* One exchange relayed byte for byte, then a pipelined pair. */
static void
test_proxy(void)
{
	struct recorder	*r = recorder(NULL);
	struct conn	*cl, *sv;
	struct buf	 b;
	char		*s;
	size_t		 len;

	buf_init(&b);
	conn_mem_pair(&cl, &sv);
	ASSERT_EQ(record_test_adopt(r, sv, "10.0.0.1:4000"), 0);
	mem_put(cl, "GET /v1/items/1?x=2 HTTP/1.1\r\nHost: svc\r\n"
	    "Accept: text/plain\r\n\r\n");
	record_test_pump(r);
	ASSERT_EQ(nup, 1);
	mem_drain(up_peer[0], &b);
	/* Host rewritten to the upstream's; the rest as sent. */
	ASSERT(mem_has(&b, "GET /v1/items/1?x=2 HTTP/1.1\r\n"));
	ASSERT(mem_has(&b, "Host: 192.0.2.1:8080\r\n"));
	ASSERT(mem_has(&b, "Accept: text/plain\r\n"));
	buf_reset(&b);
	mem_put(up_peer[0], res1);
	record_test_pump(r);
	record_test_pump(r);
	mem_drain(cl, &b);
	ASSERT_MEM_EQ(b.data, b.len, res1);
	buf_reset(&b);

	/* Pipelined: the second waits for the first's answer. */
	mem_put(cl, "GET /a HTTP/1.1\r\nHost: svc\r\n\r\n"
	    "GET /b HTTP/1.1\r\nHost: svc\r\n\r\n");
	record_test_pump(r);
	mem_drain(up_peer[0], &b);
	ASSERT(mem_has(&b, "GET /a HTTP/1.1\r\n"));
	buf_reset(&b);
	mem_put(up_peer[0], "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA");
	record_test_pump(r);
	record_test_pump(r);
	mem_drain(up_peer[0], &b);
	ASSERT(mem_has(&b, "GET /b HTTP/1.1\r\n"));
	buf_reset(&b);
	mem_put(up_peer[0], "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB");
	record_test_pump(r);
	record_test_pump(r);
	mem_drain(cl, &b);
	ASSERT_MEM_EQ(b.data, b.len,
	    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
	    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB");
	ASSERT_EQ(nup, 1);	/* one keep-alive upstream connection */
	buf_free(&b);
	conn_close(cl);
	ASSERT_EQ(record_test_pump(r), 0);
	record_free(r);
	conn_close(up_peer[0]);

	s = snapshot(&len);
	ASSERT_EQ(lines(s), 3);
	ASSERT(strstr(s, "\"id\":\"t-000001\"") != NULL);
	ASSERT(strstr(s, "\"client\":\"10.0.0.1:4000\"") != NULL);
	ASSERT(strstr(s, "\"target\":\"/v1/items/1?x=2\"") != NULL);
	ASSERT(strstr(s, "\"body\":\"hello\"") != NULL);
	ASSERT(strstr(s, "\"target\":\"/a\"") < strstr(s, "\"target\":\"/b\""));
	free(s);
}

/* A chunked response reaches the client as sent, recorded decoded. */
static void
test_chunked(void)
{
	static const char res[] = "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n";
	struct recorder	*r = recorder(NULL);
	struct conn	*cl, *sv;
	struct buf	 b;
	char		*s;
	size_t		 len, i;

	buf_init(&b);
	conn_mem_pair(&cl, &sv);
	ASSERT_EQ(record_test_adopt(r, sv, "10.0.0.2:4000"), 0);
	mem_put(cl, "GET /w HTTP/1.1\r\nHost: svc\r\n\r\n");
	record_test_pump(r);
	mem_drain(up_peer[0], &b);
	buf_reset(&b);
	/* A byte at a time: every framing state crossed. */
	for (i = 0; i < sizeof res - 1; i++) {
		ASSERT_EQ(conn_write(up_peer[0], res + i, 1), 1);
		record_test_pump(r);
	}
	record_test_pump(r);
	mem_drain(cl, &b);
	ASSERT_MEM_EQ(b.data, b.len, res);
	buf_free(&b);
	conn_close(cl);
	record_test_pump(r);
	record_free(r);
	conn_close(up_peer[0]);
	s = snapshot(&len);
	ASSERT_EQ(lines(s), 1);
	ASSERT(strstr(s, "\"body\":\"wikipedia\"") != NULL);
	free(s);
}

/* The upstream resets the connection before answering: 502 to the
 * client, an error entry in the snapshot. */
static void
test_reset(void)
{
	struct recorder	*r = recorder(NULL);
	struct conn	*cl, *sv;
	struct buf	 b;
	char		*s;
	size_t		 len;

	buf_init(&b);
	conn_mem_pair(&cl, &sv);
	ASSERT_EQ(record_test_adopt(r, sv, "10.0.0.3:4000"), 0);
	mem_put(cl, "GET /r HTTP/1.1\r\nHost: svc\r\n\r\n");
	record_test_pump(r);
	mem_drain(up_peer[0], &b);
	ASSERT(mem_has(&b, "GET /r HTTP/1.1\r\n"));
	buf_reset(&b);
	conn_abort(up_peer[0]);
	record_test_pump(r);
	record_test_pump(r);
	mem_drain(cl, &b);
	ASSERT(b.len > 13 && memcmp(b.data, "HTTP/1.1 502 ", 13) == 0);
	buf_free(&b);
	conn_close(cl);
	record_test_pump(r);
	record_free(r);
	s = snapshot(&len);
	ASSERT_EQ(lines(s), 1);
	ASSERT(strstr(s, "\"error\":") != NULL);
	ASSERT(strstr(s, "\"target\":\"/r\"") != NULL);
	free(s);
}

/* req from cl, through the first upstream connection, answered res1;
 * what cl got back into b. */
static void
roundtrip(struct recorder *r, struct conn *cl, const char *req,
    struct buf *b)
{
	struct buf	up;

	buf_init(&up);
	mem_put(cl, req);
	record_test_pump(r);
	mem_drain(up_peer[0], &up);
	ASSERT(up.len > 0);
	buf_free(&up);
	mem_put(up_peer[0], res1);
	record_test_pump(r);
	record_test_pump(r);
	mem_drain(cl, b);
}

/* The funnel drops /health: relayed all the same, not recorded, its id
 * left unused. */
static void
test_funnel(void)
{
	struct funnel_config	 fc;
	struct funnel		*fn;
	struct recorder		*r;
	struct conn		*cl, *sv;
	struct buf		 b;
	char			*s, *cause = NULL;
	size_t			 len;

	memset(&fc, 0, sizeof fc);
	ASSERT_EQ(funnel_config_set(&fc, FUNNEL_OPT_EXCLUDE_PATH, "^/health$",
	    &cause), 0);
	fn = funnel_create(&fc, &cause);
	ASSERT(fn != NULL);
	r = recorder(fn);
	buf_init(&b);
	conn_mem_pair(&cl, &sv);
	ASSERT_EQ(record_test_adopt(r, sv, "10.0.0.4:4000"), 0);
	roundtrip(r, cl, "GET /health HTTP/1.1\r\nHost: svc\r\n\r\n", &b);
	ASSERT_MEM_EQ(b.data, b.len, res1);
	buf_reset(&b);
	roundtrip(r, cl, "GET /data HTTP/1.1\r\nHost: svc\r\n\r\n", &b);
	ASSERT_MEM_EQ(b.data, b.len, res1);
	buf_free(&b);
	conn_close(cl);
	record_test_pump(r);
	record_free(r);
	conn_close(up_peer[0]);
	ASSERT_EQ(funnel_stats(fn)->seen, 2);
	ASSERT_EQ(funnel_stats(fn)->n[FUNNEL_PATH], 1);
	s = snapshot(&len);
	ASSERT_EQ(lines(s), 1);
	ASSERT(strstr(s, "\"id\":\"t-000002\"") != NULL);
	ASSERT(strstr(s, "\"target\":\"/data\"") != NULL);
	free(s);
	funnel_free(fn);
	funnel_config_free(&fc);
}

/* The upstream's certificate: the recorder sends no SNI to an IP, and a
 * mem conn has no local address: a leaf for a name. */
static int
up_cert(struct conn *c, const char *sni, void *arg)
{
	return ca_conn_cert(c, sni != NULL ? sni : "upstream.test", arg);
}

static unsigned
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)(*s >> 33);
}

/*
 * One exchange to an https upstream, would-block forced at random on both
 * ends of the upstream mem pair (and their inboxes bounded) at every step
 * of the handshake and the data; the test's end is a TLS server.  1 when
 * the client got the answer whole; *blocked collects what waited.
 */
static int
tls_exchange(uint64_t seed, int *blocked)
{
	struct recorder	*r = recorder_up(NULL, "https://192.0.2.1:8443");
	uint64_t	 seed0 = seed;
	struct conn	*cl, *sv, *ts = NULL;
	struct buf	 req, b;
	char		 tmp[512], *cause = NULL;
	size_t		 sent = 0;
	ssize_t		 n = 0;
	unsigned	 x;
	int		 i, ok;

	buf_init(&req);
	buf_init(&b);
	conn_mem_pair(&cl, &sv);
	(void)record_test_adopt(r, sv, "10.0.0.5:4000");
	mem_put(cl, "GET /secure HTTP/1.1\r\nHost: svc\r\n\r\n");
	for (i = 0; i < 20000 && b.len < sizeof res1 - 1; i++) {
		if (nup > 0 && ts == NULL) {
			conn_mem_set_limit(up_mine[0], 16 + seed * 37 % 300);
			conn_mem_set_limit(up_peer[0], 16 + seed * 41 % 300);
			ts = conn_tls_server(up_srv_ctx, up_peer[0], &cause);
			ASSERT(ts != NULL);
		}
		x = rnd(&seed);
		if (ts != NULL) {
			conn_mem_block(up_mine[0], (int)(x & 3));
			conn_mem_block(up_peer[0], (int)((x >> 2) & 3));
		}
		if (x & 0x10)
			record_test_pump(r);
		if (ts == NULL || conn_handshake(ts) != 1) {
			if (ts != NULL && conn_is_established(ts) == 0 &&
			    errno == EAGAIN)
				*blocked |= conn_events(ts, 0);
			continue;
		}
		if (!mem_has(&req, "\r\n\r\n")) {
			if ((n = conn_read(ts, tmp, sizeof tmp)) > 0)
				buf_append(&req, tmp, (size_t)n);
			continue;
		}
		if (sent < sizeof res1 - 1 && (n = conn_write(ts, res1 + sent,
		    sizeof res1 - 1 - sent)) > 0)
			sent += (size_t)n;
		else if (n == -1 && errno == EAGAIN)
			*blocked |= conn_events(ts, CONN_WRITE);
		mem_drain(cl, &b);
	}
	if (ts != NULL) {
		conn_mem_block(up_mine[0], 0);
		conn_mem_block(up_peer[0], 0);
	}
	record_test_pump(r);
	mem_drain(cl, &b);
	ok = b.len == sizeof res1 - 1 && memcmp(b.data, res1, b.len) == 0 &&
	    mem_has(&req, "GET /secure HTTP/1.1\r\n");
	if (!ok)
		fprintf(stderr, "tls seed %llu: %zu bytes back\n",
		    (unsigned long long)seed0, b.len);
	conn_close(cl);
	record_test_pump(r);
	record_free(r);
	if (ts != NULL)
		conn_close(ts);
	else if (nup > 0)
		conn_close(up_peer[0]);
	buf_free(&req);
	buf_free(&b);
	free(cause);
	return ok;
}

/* An https upstream over mem pairs, with want-read/want-write
 * interleavings; the exchange is recorded with tls true. */
static void
test_tls(void)
{
	struct conn_tls_config	 sc = { 0 };
	struct ca		*ca;
	char			*cause = NULL, *s;
	size_t			 len;
	uint64_t		 seed;
	int			 failed = 0, blocked = 0;

	snprintf(cadir, sizeof cadir, "%s/ca", tmpdir);
	if (ca_init(cadir, 0, &cause) == -1 ||
	    (ca = ca_load(cadir, &cause)) == NULL) {
		UNIT_FAIL("ca: %s", cause);
		free(cause);
		return;
	}
	sc.cert_cb = up_cert;
	sc.cert_arg = ca;
	up_srv_ctx = conn_tls_server_ctx(&sc, &cause);
	ASSERT(up_srv_ctx != NULL);
	for (seed = 1; up_srv_ctx != NULL && seed <= 20; seed++)
		failed += !tls_exchange(seed, &blocked);
	ASSERT_EQ(failed, 0);
	ASSERT(blocked & CONN_READ);
	ASSERT(blocked & CONN_WRITE);
	s = snapshot(&len);
	ASSERT(strstr(s, "\"tls\":true") != NULL);
	ASSERT(strstr(s, "\"target\":\"/secure\"") != NULL);
	free(s);
	conn_tls_ctx_free(up_srv_ctx);
	ca_free(ca);
	free(cause);
}

int
main(void)
{
	char	p[512];

	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpdir) == NULL)
		return 99;
	snprintf(snap, sizeof snap, "%s/snap.jsonl", tmpdir);
	test_proxy();
	test_chunked();
	test_reset();
	test_funnel();
	test_tls();
	unlink(snap);
	snprintf(p, sizeof p, "%s/ca.pem", cadir);
	unlink(p);
	snprintf(p, sizeof p, "%s/ca.key", cadir);
	unlink(p);
	rmdir(cadir);
	rmdir(tmpdir);
	UNIT_DONE();
}
