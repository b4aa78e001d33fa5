/*
 * test-httpc.c -- unit tests for the HTTP client (httpc.h).
 *
 * Framing: every response is fed whole, byte by byte and cut at every
 * point (Content-Length, chunked, close-delimited, HEAD, 1xx, 204, 304,
 * stray bytes), and the failures (closed early, malformed) are checked.
 * Connections: a request and its response over the in-memory transport,
 * plain and TLS, with would-block forced at random on both ends at every
 * step (no sockets).  One-shot requests: httpc_fetch against a loopback
 * server thread (an answer, a refused connect, a silent server past the
 * deadline, a reply cut short).
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca.h"
#include "conn.h"
#include "httpc.h"
#include "unit.h"
#include "xmalloc.h"

/* --- framing ------------------------------------------------------------- */

struct frame_case {
	const char	*raw;
	int		 head;		/* answers a HEAD */
	int		 status;
	const char	*body;
	int		 keep_alive;
	int		 needs_eof;	/* complete only at the end of stream */
};

static const struct frame_case frame_cases[] = {
	{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 0, 200,
	    "hello", 1, 0 },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\nT: 1\r\n\r\n", 0, 200, "hello",
	    1, 0 },
	{ "HTTP/1.1 200 OK\r\n\r\nuntil the end", 0, 200, "until the end",
	    0, 1 },
	{ "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", 0, 200, "hi",
	    0, 0 },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", 1, 200, "", 1, 0 },
	{ "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
	    "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", 0, 201,
	    "ok", 1, 0 },
	{ "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", 0, 204, "",
	    1, 0 },
	{ "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", 0, 304, "", 1,
	    0 },
	{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n"
	    "Connection: upgrade\r\n\r\n", 0, 101, "", 1, 0 },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 200, "", 1, 0 },
};

/* Feeds raw in pieces of step bytes (0: whole); checks the verdict. */
static void
frame_feed(const struct frame_case *fc, size_t step)
{
	struct httpc_resp	 r;
	struct buf		 in;
	struct span		 body = SPAN_NULL;
	size_t			 len = strlen(fc->raw), off = 0, n;
	int			 rv = 0;

	buf_init(&in);
	httpc_resp_init(&r, fc->head, 0);
	while (off < len) {
		n = step == 0 || step > len - off ? len - off : step;
		buf_append(&in, fc->raw + off, n);
		off += n;
		rv = httpc_resp_read(&r, &in, 0, &body);
		if (rv != 0)
			break;
	}
	if (rv == 0 && fc->needs_eof)
		rv = httpc_resp_read(&r, &in, 1, &body);
	ASSERT_EQ(rv, 1);
	ASSERT_EQ(off, len);
	if (rv == 1) {
		ASSERT_EQ(r.status, fc->status);
		ASSERT_MEM_EQ(body.p, body.len, fc->body);
		ASSERT_EQ(r.keep_alive, fc->keep_alive);
	}
	buf_free(&in);
}

static void
test_framing(void)
{
	size_t	i, step;

	for (i = 0; i < sizeof frame_cases / sizeof frame_cases[0]; i++)
		for (step = 0; step <= strlen(frame_cases[i].raw); step++)
			frame_feed(&frame_cases[i], step);
}

/* raw read at the end of stream: the verdict and the error. */
static int
frame_eof(const char *raw, int head, enum httpc_err *err)
{
	struct httpc_resp	 r;
	struct buf		 in;
	struct span		 body;
	int			 rv;

	buf_init(&in);
	buf_append_str(&in, raw);
	httpc_resp_init(&r, head, 0);
	rv = httpc_resp_read(&r, &in, 1, &body);
	*err = r.err;
	ASSERT(rv != -1 || strlen(httpc_resp_strerror(&r)) > 0);
	buf_free(&in);
	return rv;
}

static void
test_framing_errors(void)
{
	struct httpc_resp	 r;
	struct buf		 in;
	struct span		 body;
	enum httpc_err		 err;

	ASSERT_EQ(frame_eof("", 0, &err), -1);
	ASSERT_EQ(err, HTTPC_E_CLOSED);
	ASSERT_EQ(frame_eof("HTTP/1.1 200 OK\r\nContent-Le", 0, &err), -1);
	ASSERT_EQ(err, HTTPC_E_PROTOCOL);
	ASSERT_EQ(frame_eof("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhe",
	    0, &err), -1);
	ASSERT_EQ(err, HTTPC_E_CLOSED);
	ASSERT_EQ(frame_eof("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n5\r\nhel", 0, &err), -1);
	ASSERT_EQ(err, HTTPC_E_CLOSED);
	ASSERT_EQ(frame_eof("SSH-2.0-OpenSSH\r\n\r\n", 0, &err), -1);
	ASSERT_EQ(err, HTTPC_E_PROTOCOL);
	ASSERT_EQ(frame_eof("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
	    "Content-Length: 2\r\n\r\nab", 0, &err), -1);
	ASSERT_EQ(err, HTTPC_E_PROTOCOL);
	ASSERT_EQ(frame_eof("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "\r\nzz\r\n", 0, &err), -1);
	ASSERT_EQ(err, HTTPC_E_PROTOCOL);
	/* HEAD: the announced length is not waited for. */
	ASSERT_EQ(frame_eof("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 1,
	    &err), 1);

	/* Bytes after a complete response: it is done, not reusable. */
	buf_init(&in);
	buf_append_str(&in, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naXYZ");
	httpc_resp_init(&r, 0, 0);
	ASSERT_EQ(httpc_resp_read(&r, &in, 0, &body), 1);
	ASSERT_MEM_EQ(body.p, body.len, "a");
	ASSERT_EQ(r.keep_alive, 0);
	ASSERT_EQ(r.head_len, 38);
	buf_free(&in);

	/* A head over the limit. */
	buf_init(&in);
	buf_append_str(&in, "HTTP/1.1 200 OK\r\nX: ");
	while (in.len < 300)
		buf_append_byte(&in, 'x');
	httpc_resp_init(&r, 0, 256);
	ASSERT_EQ(httpc_resp_read(&r, &in, 0, &body), -1);
	ASSERT_EQ(r.err, HTTPC_E_PROTOCOL);
	ASSERT_EQ(r.http_err, HTTP_E_HEAD_TOO_LARGE);
	buf_free(&in);
}

/* --- connections over the in-memory transport ---------------------------- */

static unsigned
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)(*s >> 33);
}

static int		drive_seen;	/* CONN_WANT_* met by clients */
static const char	conn_req[] = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";

/*
 * Runs one exchange: c (attached to the client end) sends conn_req, the
 * server end sv reads it and answers resp; would-block is forced at
 * random on the mem ends mc and ms.  Returns 1 when the client read the
 * whole response with body want, else 0.
 */
static int
drive_exchange(struct httpc_conn *c, struct conn *sv, struct conn *mc,
    struct conn *ms, const char *resp, const char *want, uint64_t seed)
{
	struct span	 body;
	struct buf	 got;
	char		 tmp[512];
	size_t		 roff = 0, rlen = strlen(resp), pend = 0;
	ssize_t		 n;
	unsigned	 x;
	int		 i, hs = 0, sent = 0, rv = 0;

	buf_init(&got);
	httpc_conn_send(c, conn_req, sizeof conn_req - 1, 0);
	for (i = 0; i < 100000 && rv == 0; i++) {
		x = rnd(&seed);
		conn_mem_block(mc, (int)(x & 3));
		conn_mem_block(ms, (int)((x >> 2) & 3));
		if (x & 0x10) {
			if ((hs = httpc_conn_handshake(c)) == -1)
				break;
			if (hs == 1 && httpc_conn_write(c) == -1)
				break;
			if (hs == 1 && httpc_conn_read(c) == -1)
				break;
			if (hs == 1)
				rv = httpc_conn_response(c, &body);
			if (c->conn != NULL)
				drive_seen |= c->conn->want;
		}
		if ((x & 0x20) && conn_handshake(sv) == 1) {
			n = conn_read(sv, tmp, 1 + rnd(&seed) % sizeof tmp);
			if (n > 0)
				buf_append(&got, tmp, (size_t)n);
			if (got.len >= sizeof conn_req - 1)
				sent = 1;
			/* After EAGAIN the same bytes are offered again
			 * (TLS wants it so). */
			if (sent && roff < rlen) {
				if (pend == 0)
					pend = 1 + rnd(&seed) % (rlen - roff);
				n = conn_write(sv, resp + roff, pend);
				if (n > 0) {
					roff += (size_t)n;
					pend = 0;
				}
			}
		}
	}
	conn_mem_block(mc, 0);
	conn_mem_block(ms, 0);
	if (rv != 1)
		fprintf(stderr, "seed %llu: rv %d state %d err \"%s\" hs %d "
		    "woff %zu in %zu roff %zu/%zu\n", (unsigned long long)seed,
		    rv, c->state, c->err, hs, c->woff, c->in.len, roff, rlen);
	ASSERT_MEM_EQ(got.data, got.len, conn_req);
	buf_free(&got);
	if (rv != 1)
		return 0;
	return body.len == strlen(want) && memcmp(body.p, want, body.len) == 0;
}

static const char conn_resp[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
    "chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";

static void
test_conn_mem(void)
{
	struct httpc_target	 t;
	struct httpc_conn	 c;
	struct conn		*a, *b;
	uint64_t		 seed;
	int			 ok = 0;

	memset(&t, 0, sizeof t);
	httpc_conn_init(&c, &t);
	for (seed = 1; seed <= 30; seed++) {
		conn_mem_pair(&a, &b);
		conn_mem_set_limit(a, 1 + seed % 7);
		conn_mem_set_limit(b, 1 + seed % 5);
		httpc_conn_attach(&c, a);
		ASSERT_EQ(c.state, HTTPC_OPEN);
		ok += drive_exchange(&c, b, a, b, conn_resp, "hello, world",
		    seed);
		ASSERT_EQ(httpc_conn_events(&c), CONN_READ);
		conn_close(b);
	}
	ASSERT_EQ(ok, 30);

	/* The server goes away: the idle client reads the end. */
	conn_mem_pair(&a, &b);
	httpc_conn_attach(&c, a);
	conn_close(b);
	ASSERT_EQ(httpc_conn_read(&c), 1);
	ASSERT_EQ(c.eof, 1);
	httpc_conn_free(&c);
	ASSERT_EQ(httpc_conn_fd(&c), -1);
}

struct tls_srv {
	int			 fd;		/* listening */
	int			 port;
	struct conn_tls_ctx	*sx;
	int			 handshake;	/* 1 done, -1 failed */
};

/* Waits (100 ms at most) for what c waits for. */
static void
tls_srv_wait(struct conn *c, int want)
{
	struct pollfd	pfd;
	int		ev = conn_events(c, want);

	pfd.fd = conn_fd(c);
	pfd.events = (short)(((ev & CONN_READ) ? POLLIN : 0) |
	    ((ev & CONN_WRITE) ? POLLOUT : 0));
	(void)poll(&pfd, 1, 100);
}

/* One TLS connection: handshake, read a request head, answer, close. */
static void *
tls_srv_main(void *arg)
{
	struct tls_srv	*s = arg;
	struct conn	*c;
	char		 req[2048], *cause = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, r, i;
	static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: "
	    "6\r\n\r\nsecret";

	if ((fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK)) == -1)
		return NULL;
	if ((c = conn_tls_server(s->sx, conn_tcp_create(fd, CONN_F_SERVER),
	    &cause)) == NULL) {
		free(cause);
		return NULL;
	}
	for (i = 0; i < 100 && (r = conn_handshake(c)) == 0; i++)
		tls_srv_wait(c, 0);
	s->handshake = r == 1 ? 1 : -1;
	for (i = 0; r == 1 && i < 100 && len < sizeof req - 1; i++) {
		n = conn_read(c, req + len, sizeof req - 1 - len);
		if (n > 0) {
			len += (size_t)n;
			req[len] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL) {
				(void)conn_write(c, answer, sizeof answer - 1);
				break;
			}
		} else if (n == 0 || errno != EAGAIN)
			break;
		else
			tls_srv_wait(c, CONN_READ);
	}
	conn_close(c);
	return NULL;
}

/* httpc_fetch over TLS: insecure, then a verification that fails. */
static void
test_fetch_tls(struct conn_tls_ctx *sx, const char *ca)
{
	struct httpc_request	 req;
	struct httpc_reply	 rp;
	struct httpc_target	 t;
	struct tls_srv		 s;
	struct sockaddr_in	 sin;
	socklen_t		 slen = sizeof sin;
	struct url		 u;
	pthread_t		 th;
	const char		*why;
	char			*url, *cause = NULL;
	int			 insecure;

	memset(&req, 0, sizeof req);
	req.method = "GET";
	req.target = "/";
	req.timeout_ns = 5000 * 1000000ull;
	for (insecure = 1; insecure >= 0; insecure--) {
		memset(&s, 0, sizeof s);
		s.sx = sx;
		s.fd = socket(AF_INET, SOCK_STREAM, 0);
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (s.fd == -1 || bind(s.fd, (struct sockaddr *)&sin,
		    sizeof sin) == -1 || listen(s.fd, 4) == -1 ||
		    getsockname(s.fd, (struct sockaddr *)&sin, &slen) == -1) {
			UNIT_FAIL("listen: %s", strerror(errno));
			return;
		}
		pthread_create(&th, NULL, tls_srv_main, &s);
		url = xasprintf("https://127.0.0.1:%d", ntohs(sin.sin_port));
		ASSERT_EQ(url_parse(url, strlen(url), 0, &u, &why), 0);
		ASSERT_EQ(httpc_target_init(&t, &u, ca, insecure, &cause), 0);
		if (insecure) {
			ASSERT_EQ(httpc_fetch(&t, &req, &rp, &cause), 0);
			ASSERT_EQ(rp.status, 200);
			ASSERT_MEM_EQ(rp.body.p, rp.body.len, "secret");
			buf_free(&rp.raw);
		} else {
			/* The CA's own certificate names no IP address. */
			ASSERT_EQ(httpc_fetch(&t, &req, &rp, &cause), -1);
			ASSERT_EQ(rp.tls_verify_failed, 1);
			ASSERT(cause != NULL && strstr(cause, "TLS handshake "
			    "failed: certificate verify failed") != NULL);
		}
		free(cause);
		cause = NULL;
		pthread_join(th, NULL);
		ASSERT_EQ(s.handshake, insecure ? 1 : -1);
		httpc_target_free(&t);
		free(url);
		close(s.fd);
	}
}

static char	tls_dir[] = "/tmp/test-httpc.XXXXXX";

static void
test_conn_tls_mem(void)
{
	struct conn_tls_config	 scfg, ccfg;
	struct conn_tls_ctx	*sx, *cx;
	struct httpc_target	 t;
	struct httpc_conn	 c;
	struct conn		*a, *b, *cl, *sv;
	char			*cause = NULL, *cert, *key;
	uint64_t		 seed;
	int			 ok = 0;

	if (mkdtemp(tls_dir) == NULL || ca_init(tls_dir, 0, &cause) == -1) {
		UNIT_FAIL("CA: %s", cause != NULL ? cause : strerror(errno));
		free(cause);
		return;
	}
	cert = xasprintf("%s/ca.pem", tls_dir);
	key = xasprintf("%s/ca.key", tls_dir);
	memset(&scfg, 0, sizeof scfg);
	scfg.cert_file = cert;
	scfg.key_file = key;
	memset(&ccfg, 0, sizeof ccfg);
	ccfg.insecure = 1;
	sx = conn_tls_server_ctx(&scfg, &cause);
	cx = conn_tls_client_ctx(&ccfg, &cause);
	ASSERT(sx != NULL && cx != NULL);
	if (sx == NULL || cx == NULL) {
		UNIT_FAIL("TLS contexts: %s", cause);
		free(cause);
		return;
	}
	memset(&t, 0, sizeof t);
	httpc_conn_init(&c, &t);
	drive_seen = 0;
	for (seed = 1; seed <= 30; seed++) {
		conn_mem_pair(&a, &b);
		conn_mem_set_limit(a, seed == 1 ? 0 : 20 + seed * 37 % 300);
		conn_mem_set_limit(b, seed == 1 ? 0 : 20 + seed * 53 % 300);
		cl = conn_tls_client(cx, a, "test.example", &cause);
		sv = conn_tls_server(sx, b, &cause);
		ASSERT(cl != NULL && sv != NULL);
		httpc_conn_attach(&c, cl);
		ASSERT_EQ(c.state, HTTPC_HANDSHAKE);
		ok += drive_exchange(&c, sv, a, b, conn_resp, "hello, world",
		    seed);
		httpc_conn_close(&c);
		conn_close(sv);
	}
	ASSERT_EQ(ok, 30);
	ASSERT(drive_seen & CONN_WANT_HS_READ);
	ASSERT(drive_seen & CONN_WANT_HS_WRITE);
	httpc_conn_free(&c);
	test_fetch_tls(sx, cert);
	conn_tls_ctx_free(sx);
	conn_tls_ctx_free(cx);
	unlink(cert);
	unlink(key);
	rmdir(tls_dir);
	free(cert);
	free(key);
}

/* --- one-shot requests against a loopback server -------------------------- */

struct srv {
	int		 fd;		/* listening */
	int		 port;
	const char	*answer;	/* NULL: say nothing, wait for close */
	char		 req[2048];
	size_t		 req_len;
};

static void *
srv_main(void *arg)
{
	struct srv	*s = arg;
	char		 tmp[64];
	ssize_t		 n;
	int		 fd;

	if ((fd = accept(s->fd, NULL, NULL)) == -1)
		return NULL;
	while (s->req_len < sizeof s->req - 1 && strstr(s->req,
	    "\r\n\r\n") == NULL) {
		n = read(fd, s->req + s->req_len, sizeof s->req - 1 -
		    s->req_len);
		if (n <= 0)
			break;
		s->req_len += (size_t)n;
		s->req[s->req_len] = '\0';
	}
	if (s->answer != NULL)
		(void)write(fd, s->answer, strlen(s->answer));
	else
		while (read(fd, tmp, sizeof tmp) > 0)
			;
	close(fd);
	return NULL;
}

static void
srv_start(struct srv *s, pthread_t *th, const char *answer)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;

	memset(s, 0, sizeof *s);
	s->answer = answer;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s->fd == -1 || bind(s->fd, (struct sockaddr *)&sin,
	    sizeof sin) == -1 || listen(s->fd, 4) == -1 ||
	    getsockname(s->fd, (struct sockaddr *)&sin, &len) == -1) {
		perror("listen");
		exit(1);
	}
	s->port = ntohs(sin.sin_port);
	pthread_create(th, NULL, srv_main, s);
}

static void
target_for(struct httpc_target *t, int port)
{
	struct url	 u;
	const char	*why;
	char		*s, *cause = NULL;

	s = xasprintf("http://127.0.0.1:%d", port);
	ASSERT_EQ(url_parse(s, strlen(s), 0, &u, &why), 0);
	ASSERT_EQ(httpc_target_init(t, &u, NULL, 0, &cause), 0);
	free(cause);
	free(s);
}

static void
test_fetch(void)
{
	struct httpc_request	 req;
	struct httpc_reply	 rp;
	struct httpc_target	 t;
	struct srv		 s;
	pthread_t		 th;
	char			*cause = NULL, *want;
	int			 port;

	memset(&req, 0, sizeof req);
	req.method = "POST";
	req.target = "/rules";
	req.headers = "Authorization: Bearer x\r\n";
	req.body = "{}";
	req.body_len = 2;

	srv_start(&s, &th, "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n"
	    "\r\ndone");
	target_for(&t, s.port);
	ASSERT_EQ(httpc_fetch(&t, &req, &rp, &cause), 0);
	pthread_join(th, NULL);
	ASSERT_EQ(rp.status, 201);
	ASSERT_MEM_EQ(rp.body.p, rp.body.len, "done");
	want = xasprintf("POST /rules HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	    "Authorization: Bearer x\r\nContent-Length: 2\r\n"
	    "Connection: close\r\n\r\n{}", s.port);
	ASSERT_STR_EQ(s.req, want);
	free(want);
	buf_free(&rp.raw);
	close(s.fd);
	httpc_target_free(&t);

	/* Closed before the end of the body. */
	req.method = "GET";
	req.body = NULL;
	srv_start(&s, &th, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab");
	target_for(&t, s.port);
	ASSERT_EQ(httpc_fetch(&t, &req, &rp, &cause), -1);
	pthread_join(th, NULL);
	ASSERT(cause != NULL && strstr(cause, "closed before") != NULL);
	free(cause);
	cause = NULL;
	ASSERT(rp.raw.data == NULL);
	close(s.fd);
	httpc_target_free(&t);

	/* A server that says nothing: the deadline. */
	srv_start(&s, &th, NULL);
	target_for(&t, s.port);
	req.timeout_ns = 200 * 1000000ull;
	ASSERT_EQ(httpc_fetch(&t, &req, &rp, &cause), -1);
	ASSERT(cause != NULL && strstr(cause, "no reply in time") != NULL);
	free(cause);
	cause = NULL;
	pthread_join(th, NULL);
	port = s.port;
	close(s.fd);
	httpc_target_free(&t);

	/* Nobody listens any more: refused, the message names the host. */
	target_for(&t, port);
	ASSERT_EQ(httpc_fetch(&t, &req, &rp, &cause), -1);
	ASSERT(cause != NULL && strstr(cause, "cannot connect to 127.0.0.1:")
	    != NULL);
	free(cause);
	httpc_target_free(&t);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_framing();
	test_framing_errors();
	test_conn_mem();
	test_conn_tls_mem();
	test_fetch();
	UNIT_DONE();
}
