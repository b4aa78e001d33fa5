/*
 * test-conn.c -- the transport layer: tcp over a socketpair and a
 * loopback connect (refused, then accepted), the mem pair (blocking,
 * bounded inboxes, shutdown, close), TLS over the mem pair with
 * would-block forced at random on both sides at every step (handshake
 * and data, with one-record and gathered writes), TLS over a socketpair
 * driven by poll() and conn_events, certificate selection through the
 * hook (SNI seen), ALPN, failed verification (unknown CA, wrong name),
 * insecure clients, close_notify, and peers that close mid-handshake.
 * Certificates are minted here (an EC CA and leaves), in a temp dir.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "conn.h"
#include "unit.h"

static char	 tmpdir[] = "/tmp/test-conn.XXXXXX";
static char	 ca_pem[256], ca2_pem[256], leaf_pem[256], leaf_key[256];

static EVP_PKEY	*ca_key, *leaf_pkey;
static X509	*ca_cert, *leaf_cert;

/* --- certificates -------------------------------------------------------- */

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*e;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ASSERT(e != NULL);
	if (e != NULL) {
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
}

/* A certificate for key: a CA (issuer NULL, self-signed) or a leaf for
 * the DNS name san signed by issuer/ikey. */
static X509 *
mint(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey,
    const char *san)
{
	static long	 serial = 1;
	X509		*x = X509_new();
	X509_NAME	*n;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : n);
	if (issuer == NULL) {
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
		add_ext(x, x, NID_subject_key_identifier, "hash");
	} else {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, issuer, NID_ext_key_usage, "serverAuth");
		add_ext(x, issuer, NID_subject_alt_name, san);
	}
	X509_sign(x, ikey != NULL ? ikey : key, EVP_sha256());
	return x;
}

static void
write_pem(const char *path, X509 *x, EVP_PKEY *key)
{
	FILE	*f = fopen(path, "w");

	ASSERT(f != NULL);
	if (f == NULL)
		return;
	if (x != NULL)
		PEM_write_X509(f, x);
	if (key != NULL)
		PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	fclose(f);
}

static void
certs_make(void)
{
	EVP_PKEY	*k2;
	X509		*c2;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
	snprintf(ca_pem, sizeof ca_pem, "%s/ca.pem", tmpdir);
	snprintf(ca2_pem, sizeof ca2_pem, "%s/ca2.pem", tmpdir);
	snprintf(leaf_pem, sizeof leaf_pem, "%s/leaf.pem", tmpdir);
	snprintf(leaf_key, sizeof leaf_key, "%s/leaf.key", tmpdir);
	ca_key = EVP_EC_gen("P-256");
	leaf_pkey = EVP_EC_gen("P-256");
	k2 = EVP_EC_gen("P-256");
	ca_cert = mint(ca_key, "test CA", NULL, NULL, NULL);
	leaf_cert = mint(leaf_pkey, "test.example", ca_cert, ca_key,
	    "DNS:test.example,IP:127.0.0.1");
	c2 = mint(k2, "other CA", NULL, NULL, NULL);
	write_pem(ca_pem, ca_cert, NULL);
	write_pem(ca2_pem, c2, NULL);
	write_pem(leaf_pem, leaf_cert, NULL);
	write_pem(leaf_key, NULL, leaf_pkey);
	X509_free(c2);
	EVP_PKEY_free(k2);
}

static void
certs_free(void)
{
	unlink(ca_pem);
	unlink(ca2_pem);
	unlink(leaf_pem);
	unlink(leaf_key);
	rmdir(tmpdir);
	X509_free(ca_cert);
	X509_free(leaf_cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_pkey);
}

/* The selection hook: serves the leaf and its CA, notes the SNI. */
static char	hook_sni[64];
static int	hook_calls;

static int
cert_hook(struct conn *c, const char *sni, void *arg)
{
	(void)arg;
	hook_calls++;
	snprintf(hook_sni, sizeof hook_sni, "%s", sni != NULL ? sni : "-");
	return conn_tls_use_cert(c, leaf_cert, leaf_pkey, ca_cert);
}

/* --- helpers ------------------------------------------------------------- */

static unsigned
rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)(*s >> 33);
}

/* Handshakes cl and sv (over the mem ends mcl and msv), each step with
 * would-block forced at random on either side's reads and writes.
 * Returns 1 when both are established, -1 when one failed (*who: 'c' or
 * 's'), 0 if it never finished; *seen collects the wants met. */
static int
drive_handshake(struct conn *cl, struct conn *sv, struct conn *mcl,
    struct conn *msv, uint64_t seed, int *seen, char *who)
{
	int	rc = 0, rs = 0, i;
	unsigned r;
	char	scratch[64];

	for (i = 0; i < 20000 && (rc != 1 || rs != 1); i++) {
		r = rnd(&seed);
		conn_mem_block(mcl, (int)(r & 3));
		conn_mem_block(msv, (int)((r >> 2) & 3));
		if (rc != 1 && (r & 0x10)) {
			if ((rc = conn_handshake(cl)) == -1) {
				*who = 'c';
				break;
			}
			if (rc == 0)
				*seen |= cl->want;
		} else if (rc == 1 && (r & 0x10)) {
			/* Done, the client reads as a role would: the
			 * server's session tickets may fill the pipe. */
			if (conn_read(cl, scratch, sizeof scratch) != -1 ||
			    errno != EAGAIN) {
				*who = 'c';
				rc = -1;
				break;
			}
		}
		if (rs != 1 && (r & 0x20)) {
			if ((rs = conn_handshake(sv)) == -1) {
				*who = 's';
				break;
			}
			if (rs == 0)
				*seen |= sv->want;
		}
	}
	conn_mem_block(mcl, 0);
	conn_mem_block(msv, 0);
	if (rc == -1 || rs == -1)
		return -1;
	return rc == 1 && rs == 1;
}

/*
 * Sends len bytes of data from w to r (mem ends mw, mr), forcing
 * would-block at random; writes are gathered from up to three iovecs
 * and a retry after EAGAIN offers the same bytes.  Returns the bytes
 * received into out (len if all went through).
 */
static size_t
drive_data(struct conn *w, struct conn *r, struct conn *mw, struct conn *mr,
    const char *data, size_t len, char *out, uint64_t seed, int *eagain)
{
	size_t		off = 0, got = 0, pend = 0, a, b;
	struct iovec	iov[3];
	ssize_t		n;
	unsigned	x;
	int		i;

	for (i = 0; i < 200000 && got < len; i++) {
		x = rnd(&seed);
		conn_mem_block(mw, (int)(x & 3));
		conn_mem_block(mr, (int)((x >> 2) & 3));
		if (off < len && (x & 0x10)) {
			if (pend == 0)
				pend = 1 + rnd(&seed) % 40000;
			if (pend > len - off)
				pend = len - off;
			a = rnd(&seed) % (pend + 1);
			b = rnd(&seed) % (pend - a + 1);
			iov[0].iov_base = (void *)(data + off);
			iov[0].iov_len = a;
			iov[1].iov_base = (void *)(data + off + a);
			iov[1].iov_len = b;
			iov[2].iov_base = (void *)(data + off + a + b);
			iov[2].iov_len = pend - a - b;
			n = conn_writev(w, iov, 3);
			if (n > 0) {
				off += (size_t)n;
				pend = 0;
			} else if (n == -1 && errno == EAGAIN)
				(*eagain)++;
			else
				break;
		}
		if (x & 0x20) {
			n = conn_read(r, out + got, 1 + rnd(&seed) % 5000);
			if (n > 0)
				got += (size_t)n;
			else if (n == -1 && errno == EAGAIN)
				(*eagain)++;
			else
				break;
		}
	}
	conn_mem_block(mw, 0);
	conn_mem_block(mr, 0);
	return got;
}

/* A TLS client and server over a fresh mem pair. */
static void
tls_mem_pair(struct conn_tls_ctx *cx, struct conn_tls_ctx *sx,
    const char *host, struct conn **cl, struct conn **sv, struct conn **mcl,
    struct conn **msv)
{
	char	*cause = NULL;

	conn_mem_pair(mcl, msv);
	*cl = conn_tls_client(cx, *mcl, host, &cause);
	ASSERT(*cl != NULL);
	free(cause);
	cause = NULL;
	*sv = conn_tls_server(sx, *msv, &cause);
	ASSERT(*sv != NULL);
	free(cause);
}

/* --- tcp ----------------------------------------------------------------- */

static void
test_tcp(void)
{
	struct conn	*a, *b;
	struct iovec	 iov[2] = { { "hel", 3 }, { "lo", 2 } };
	char		 buf[16];
	int		 sv[2];

	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	a = conn_tcp_create(sv[0], 0);
	b = conn_tcp_create(sv[1], CONN_F_SERVER);
	ASSERT_STR_EQ(conn_name(a), "tcp");
	ASSERT_EQ(conn_handshake(a), 1);
	ASSERT_EQ(conn_fd(a), sv[0]);
	ASSERT_EQ(conn_is_tls(a), 0);
	ASSERT_EQ(conn_read(b, buf, sizeof buf), -1);
	ASSERT_EQ(errno, EAGAIN);
	ASSERT_EQ(conn_writev(a, iov, 2), 5);
	ASSERT_EQ(conn_read(b, buf, sizeof buf), 5);
	ASSERT_MEM_EQ(buf, 5, "hello");
	ASSERT_EQ(conn_events(a, CONN_READ), CONN_READ);
	ASSERT_EQ(conn_events(a, CONN_READ | CONN_WRITE),
	    CONN_READ | CONN_WRITE);
	ASSERT_EQ(conn_events(a, 0), 0);
	ASSERT_EQ(conn_pending(a), 0);
	ASSERT_EQ(conn_shutdown(a), 0);
	ASSERT_EQ(conn_read(b, buf, sizeof buf), 0);
	ASSERT_EQ(conn_write(b, "x", 1), 1);	/* half-closed: b writes on */
	ASSERT_EQ(conn_read(a, buf, sizeof buf), 1);
	conn_close(a);
	ASSERT_EQ(conn_write(b, "y", 1), -1);
	ASSERT_EQ(errno, EPIPE);
	ASSERT(conn_error(b)[0] != '\0');
	conn_close(b);
	conn_close(NULL);
}

/* A listening loopback socket; its address in sin. */
static int
listener(struct sockaddr_in *sin)
{
	socklen_t	len = sizeof *sin;
	int		l;

	memset(sin, 0, sizeof *sin);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT(bind(l, (struct sockaddr *)sin, sizeof *sin) == 0);
	ASSERT(listen(l, 4) == 0);
	getsockname(l, (struct sockaddr *)sin, &len);
	return l;
}

/* Connects non-blocking; the conn's handshake reports the outcome. */
static struct conn *
connecting(const struct sockaddr_in *sin)
{
	int	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int	r;

	r = connect(fd, (const struct sockaddr *)sin, sizeof *sin);
	ASSERT(r == 0 || errno == EINPROGRESS);
	return conn_tcp_create(fd, r == 0 ? 0 : CONN_F_CONNECTING);
}

/* Waits (poll, 2 s at most) for what c's handshake waits for and
 * advances it. */
static int
handshake_poll(struct conn *c)
{
	struct pollfd	pfd;
	int		r, i, ev;

	for (i = 0; i < 100; i++) {
		if ((r = conn_handshake(c)) != 0)
			return r;
		ev = conn_events(c, 0);
		pfd.fd = conn_fd(c);
		pfd.events = (short)(((ev & CONN_READ) ? POLLIN : 0) |
		    ((ev & CONN_WRITE) ? POLLOUT : 0));
		if (pfd.events == 0 || poll(&pfd, 1, 2000) != 1)
			return 0;
	}
	return 0;
}

static void
test_tcp_connect(void)
{
	struct sockaddr_in	 sin;
	struct conn		*c, *s;
	struct pollfd		 pfd;
	char			 buf[8];
	int			 l, fd;

	/* A port nobody listens on any more: refused. */
	l = listener(&sin);
	close(l);
	c = connecting(&sin);
	ASSERT_EQ(handshake_poll(c), -1);
	ASSERT(strstr(conn_error(c), "refused") != NULL);
	conn_close(c);

	l = listener(&sin);
	c = connecting(&sin);
	ASSERT_EQ(handshake_poll(c), 1);
	ASSERT_EQ(conn_is_established(c), 1);
	fd = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	s = conn_tcp_create(fd, CONN_F_SERVER);
	ASSERT_EQ(conn_write(c, "ping", 4), 4);
	pfd.fd = fd;
	pfd.events = POLLIN;
	ASSERT_EQ(poll(&pfd, 1, 2000), 1);
	ASSERT_EQ(conn_discard(s, 100), 4);
	/* An abort resets the connection: the peer sees ECONNRESET. */
	conn_abort(s);
	pfd.fd = conn_fd(c);
	ASSERT_EQ(poll(&pfd, 1, 2000), 1);
	ASSERT_EQ(conn_read(c, buf, sizeof buf), -1);
	ASSERT_EQ(errno, ECONNRESET);
	ASSERT_STR_EQ(conn_error(c), strerror(ECONNRESET));
	conn_close(c);
	close(l);
}

/* --- mem ----------------------------------------------------------------- */

static void
test_mem(void)
{
	struct conn	*a, *b;
	char		 buf[16];
	struct iovec	 iov[2] = { { "abc", 3 }, { "defgh", 5 } };

	conn_mem_pair(&a, &b);
	ASSERT_STR_EQ(conn_name(a), "mem");
	ASSERT_EQ(conn_fd(a), -1);
	ASSERT_EQ(conn_handshake(b), 1);
	ASSERT_EQ(conn_read(b, buf, sizeof buf), -1);
	ASSERT_EQ(errno, EAGAIN);
	ASSERT_EQ(conn_write(a, "hi", 2), 2);
	ASSERT_EQ(conn_mem_inbox(b), 2);
	conn_mem_block(b, CONN_READ);
	ASSERT_EQ(conn_read(b, buf, sizeof buf), -1);
	ASSERT_EQ(errno, EAGAIN);
	conn_mem_block(b, 0);
	ASSERT_EQ(conn_read(b, buf, 1), 1);
	ASSERT_EQ(conn_read(b, buf + 1, sizeof buf), 1);
	ASSERT_MEM_EQ(buf, 2, "hi");

	/* A bounded inbox: writes take what fits, then would block. */
	conn_mem_set_limit(a, 5);
	ASSERT_EQ(conn_writev(a, iov, 2), 5);
	ASSERT_EQ(conn_write(a, "x", 1), -1);
	ASSERT_EQ(errno, EAGAIN);
	conn_mem_block(a, CONN_WRITE);
	ASSERT_EQ(conn_read(b, buf, 3), 3);
	ASSERT_EQ(conn_write(a, "x", 1), -1);	/* blocked by hand */
	ASSERT_EQ(errno, EAGAIN);
	conn_mem_block(a, 0);
	ASSERT_EQ(conn_write(a, "xyzw", 4), 3);
	ASSERT_EQ(conn_read(b, buf, sizeof buf), 5);
	ASSERT_MEM_EQ(buf, 5, "dexyz");

	ASSERT_EQ(conn_shutdown(a), 0);
	ASSERT_EQ(conn_read(b, buf, sizeof buf), 0);
	ASSERT_EQ(conn_write(a, "x", 1), -1);
	ASSERT_EQ(errno, EPIPE);
	ASSERT_EQ(conn_write(b, "back", 4), 4);	/* half-closed */
	ASSERT_EQ(conn_read(a, buf, sizeof buf), 4);
	conn_close(a);
	ASSERT_EQ(conn_write(b, "x", 1), -1);
	ASSERT_EQ(errno, EPIPE);
	conn_close(b);

	/* An abort: what was written is read, then a reset. */
	conn_mem_pair(&a, &b);
	ASSERT_EQ(conn_write(a, "last", 4), 4);
	ASSERT_EQ(conn_write(b, "unread", 6), 6);
	ASSERT_EQ(conn_discard(a, 3), 3);	/* lingering: dropped */
	ASSERT_EQ(conn_discard(a, 100), 3);
	ASSERT_EQ(conn_discard(a, 100), -1);
	ASSERT_EQ(errno, EAGAIN);
	conn_abort(a);
	ASSERT_EQ(conn_read(b, buf, sizeof buf), 4);
	ASSERT_EQ(conn_read(b, buf, sizeof buf), -1);
	ASSERT_EQ(errno, ECONNRESET);
	conn_close(b);
	conn_abort(NULL);
}

/* conn_events / conn_ready from the wants a blocked op leaves. */
static void
test_events(void)
{
	struct conn	*a, *b;

	conn_mem_pair(&a, &b);
	a->want = CONN_WANT_RD_OUT;
	ASSERT_EQ(conn_events(a, CONN_READ), CONN_READ | CONN_WRITE);
	ASSERT_EQ(conn_events(a, 0), 0);
	ASSERT_EQ(conn_ready(a, CONN_WRITE), CONN_WRITE | CONN_READ);
	ASSERT_EQ(conn_ready(a, CONN_READ), CONN_READ);
	a->want = CONN_WANT_WR_IN;
	ASSERT_EQ(conn_events(a, CONN_WRITE), CONN_READ | CONN_WRITE);
	ASSERT_EQ(conn_events(a, CONN_READ), CONN_READ);
	ASSERT_EQ(conn_ready(a, CONN_READ), CONN_READ | CONN_WRITE);
	ASSERT_EQ(conn_ready(a, CONN_WRITE), CONN_WRITE);
	/* During a handshake only the handshake's wants count. */
	a->flags &= ~CONN_F_ESTABLISHED;
	a->want = CONN_WANT_HS_WRITE;
	ASSERT_EQ(conn_events(a, CONN_READ), CONN_WRITE);
	a->want = CONN_WANT_HS_READ;
	ASSERT_EQ(conn_events(a, CONN_WRITE), CONN_READ);
	ASSERT_EQ(conn_ready(a, CONN_READ), CONN_READ);
	conn_close(a);
	conn_close(b);

	ASSERT_EQ(conn_epoll_events(CONN_READ), EPOLLIN | EPOLLRDHUP);
	ASSERT_EQ(conn_epoll_events(CONN_WRITE), EPOLLOUT);
	ASSERT_EQ(conn_epoll_events(0), 0);
	ASSERT_EQ(conn_epoll_ready(EPOLLHUP), CONN_READ);
	ASSERT_EQ(conn_epoll_ready(EPOLLERR | EPOLLOUT),
	    CONN_READ | CONN_WRITE);
	ASSERT_EQ(conn_epoll_ready(EPOLLOUT), CONN_WRITE);
}

/* --- tls ----------------------------------------------------------------- */

static struct conn_tls_ctx *
server_ctx(const char *alpn, int files)
{
	struct conn_tls_config	 cfg = { 0 };
	struct conn_tls_ctx	*x;
	char			*cause = NULL;

	if (files) {
		cfg.cert_file = leaf_pem;
		cfg.key_file = leaf_key;
	} else
		cfg.cert_cb = cert_hook;
	cfg.alpn = alpn;
	x = conn_tls_server_ctx(&cfg, &cause);
	if (x == NULL)
		fprintf(stderr, "server ctx: %s\n", cause);
	ASSERT(x != NULL);
	free(cause);
	return x;
}

static struct conn_tls_ctx *
client_ctx(const char *ca, int insecure, const char *alpn)
{
	struct conn_tls_config	 cfg = { 0 };
	struct conn_tls_ctx	*x;
	char			*cause = NULL;

	cfg.ca_file = ca;
	cfg.insecure = insecure;
	cfg.alpn = alpn;
	x = conn_tls_client_ctx(&cfg, &cause);
	if (x == NULL)
		fprintf(stderr, "client ctx: %s\n", cause);
	ASSERT(x != NULL);
	free(cause);
	return x;
}

/* Handshake and data both ways over the mem pair, many interleavings. */
static void
test_tls_mem(void)
{
	struct conn_tls_ctx	*sx = server_ctx(NULL, 0);
	struct conn_tls_ctx	*cx = client_ctx(ca_pem, 0, NULL);
	struct conn		*cl, *sv, *mcl, *msv;
	size_t			 len = 200000, i;
	char			*data = malloc(len), *out = malloc(len);
	char			 who = 0;
	int			 seen = 0, eagain = 0, ok = 1, failed = 0;
	uint64_t		 seed;

	for (i = 0; i < len; i++)
		data[i] = (char)('a' + i * 7 % 26);
	for (seed = 1; seed <= 40; seed++) {
		tls_mem_pair(cx, sx, "test.example", &cl, &sv, &mcl, &msv);
		/* Small inboxes split records: reads meet half records and
		 * writes fill the pipe. */
		conn_mem_set_limit(mcl, seed == 1 ? 0 : 16 + seed * 37 % 300);
		conn_mem_set_limit(msv, seed == 1 ? 0 : 16 + seed * 53 % 300);
		hook_calls = 0;
		if (drive_handshake(cl, sv, mcl, msv, seed, &seen, &who) != 1) {
			failed++;
			fprintf(stderr, "seed %" PRIu64 ": handshake: %s\n",
			    seed, conn_error(who == 's' ? sv : cl));
		} else {
			ok &= hook_calls == 1;
			ok &= strcmp(hook_sni, "test.example") == 0;
			ok &= conn_tls_verify_error(cl) == NULL;
			memset(out, 0, len);
			if (drive_data(cl, sv, mcl, msv, data, len, out,
			    seed * 11, &eagain) != len ||
			    memcmp(out, data, len) != 0) {
				failed++;
				fprintf(stderr, "seed %" PRIu64 ": data c->s:"
				    " %s / %s\n", seed, conn_error(cl),
				    conn_error(sv));
			}
			memset(out, 0, len);
			if (drive_data(sv, cl, msv, mcl, data, len / 3, out,
			    seed * 13, &eagain) != len / 3 ||
			    memcmp(out, data, len / 3) != 0) {
				failed++;
				fprintf(stderr, "seed %" PRIu64 ": data s->c:"
				    " %s / %s\n", seed, conn_error(sv),
				    conn_error(cl));
			}
		}
		conn_close(cl);
		conn_close(sv);
	}
	ASSERT_EQ(failed, 0);
	ASSERT(ok);
	ASSERT(seen & CONN_WANT_HS_READ);
	ASSERT(seen & CONN_WANT_HS_WRITE);
	ASSERT(eagain > 100);
	free(data);
	free(out);
	conn_tls_ctx_free(sx);
	conn_tls_ctx_free(cx);
}

/* ALPN, SNI, pending bytes, close_notify, certificate files. */
static void
test_tls_features(void)
{
	struct conn_tls_ctx	*sx = server_ctx("h2,http/1.1", 1);
	struct conn_tls_ctx	*cx = client_ctx(ca_pem, 0, "http/1.1,h2");
	struct conn_tls_ctx	*cx1 = client_ctx(ca_pem, 0, "http/1.1");
	struct conn		*cl, *sv, *mcl, *msv;
	char			 p[32], buf[64], who;
	int			 seen = 0;

	tls_mem_pair(cx, sx, "test.example", &cl, &sv, &mcl, &msv);
	ASSERT_STR_EQ(conn_name(cl), "tls");
	ASSERT_EQ(conn_is_tls(sv), 1);
	ASSERT_EQ(conn_read(sv, buf, sizeof buf), -1);	/* shakes hands */
	ASSERT_EQ(errno, EAGAIN);
	ASSERT_EQ(drive_handshake(cl, sv, mcl, msv, 7, &seen, &who), 1);
	ASSERT_EQ(conn_tls_alpn(cl, p, sizeof p), 1);
	ASSERT_STR_EQ(p, "h2");		/* the server's preference */
	ASSERT_EQ(conn_tls_alpn(sv, p, sizeof p), 1);
	ASSERT_STR_EQ(p, "h2");
	ASSERT_STR_EQ(conn_tls_sni(sv), "test.example");

	/* One record, read a byte at a time: the rest is pending. */
	ASSERT_EQ(conn_write(cl, "0123456789", 10), 10);
	ASSERT_EQ(conn_read(sv, buf, 1), 1);
	ASSERT_EQ(conn_pending(sv), 9);
	ASSERT_EQ(conn_read(sv, buf + 1, sizeof buf), 9);
	ASSERT_MEM_EQ(buf, 10, "0123456789");
	ASSERT_EQ(conn_pending(sv), 0);

	/* close_notify: an end of stream for the peer, which writes on. */
	ASSERT_EQ(conn_shutdown(cl), 0);
	ASSERT_EQ(conn_read(sv, buf, sizeof buf), 0);
	ASSERT_EQ(conn_write(sv, "bye", 3), 3);
	ASSERT_EQ(conn_read(cl, buf, sizeof buf), 3);
	conn_close(cl);
	conn_close(sv);

	/* No common protocol: no ALPN, the handshake goes on. */
	tls_mem_pair(cx1, sx, "test.example", &cl, &sv, &mcl, &msv);
	ASSERT_EQ(drive_handshake(cl, sv, mcl, msv, 9, &seen, &who), 1);
	ASSERT_EQ(conn_tls_alpn(cl, p, sizeof p), 1);
	ASSERT_STR_EQ(p, "http/1.1");
	conn_close(cl);
	conn_close(sv);
	conn_tls_ctx_free(cx1);
	cx1 = client_ctx(ca_pem, 0, NULL);
	tls_mem_pair(cx1, sx, "test.example", &cl, &sv, &mcl, &msv);
	ASSERT_EQ(drive_handshake(cl, sv, mcl, msv, 9, &seen, &who), 1);
	ASSERT_EQ(conn_tls_alpn(cl, p, sizeof p), 0);
	ASSERT_STR_EQ(p, "");
	conn_close(cl);
	conn_close(sv);

	conn_tls_ctx_free(sx);
	conn_tls_ctx_free(cx);
	conn_tls_ctx_free(cx1);
}

/* Verification failures, an insecure client, bad configurations. */
static void
test_tls_verify(void)
{
	struct conn_tls_ctx	*sx = server_ctx(NULL, 0);
	struct conn_tls_ctx	*cx2 = client_ctx(ca2_pem, 0, NULL);
	struct conn_tls_ctx	*cx = client_ctx(ca_pem, 0, NULL);
	struct conn_tls_ctx	*ci = client_ctx(ca2_pem, 1, NULL);
	struct conn_tls_ctx	*cd = client_ctx(tmpdir, 0, NULL);
	struct conn_tls_config	 cfg = { 0 };
	struct conn		*cl, *sv, *mcl, *msv;
	char			*cause = NULL, who = 0;
	int			 seen = 0;

	/* Signed by a CA the client does not trust. */
	tls_mem_pair(cx2, sx, "test.example", &cl, &sv, &mcl, &msv);
	ASSERT_EQ(drive_handshake(cl, sv, mcl, msv, 3, &seen, &who), -1);
	ASSERT_EQ(who, 'c');
	ASSERT(strstr(conn_error(cl), "certificate verify failed") != NULL);
	ASSERT(conn_tls_verify_error(cl) != NULL);
	ASSERT_EQ(conn_handshake(cl), -1);	/* stays failed */
	ASSERT_EQ(conn_write(cl, "x", 1), -1);
	ASSERT_EQ(errno, EIO);
	conn_close(cl);
	conn_close(sv);

	/* A trusted certificate for another name; then an IP in its SAN. */
	tls_mem_pair(cx, sx, "wrong.example", &cl, &sv, &mcl, &msv);
	ASSERT_EQ(drive_handshake(cl, sv, mcl, msv, 4, &seen, &who), -1);
	ASSERT(strstr(conn_error(cl), "hostname mismatch") != NULL);
	conn_close(cl);
	conn_close(sv);
	tls_mem_pair(cx, sx, "127.0.0.1", &cl, &sv, &mcl, &msv);
	ASSERT_EQ(drive_handshake(cl, sv, mcl, msv, 4, &seen, &who), 1);
	ASSERT_STR_EQ(hook_sni, "-");	/* no SNI for an IP */
	conn_close(cl);
	conn_close(sv);

	/* Insecure: anything goes. */
	tls_mem_pair(ci, sx, "wrong.example", &cl, &sv, &mcl, &msv);
	ASSERT_EQ(drive_handshake(cl, sv, mcl, msv, 5, &seen, &who), 1);
	ASSERT(conn_tls_verify_error(cl) == NULL);
	conn_close(cl);
	conn_close(sv);

	/* A CA directory without hashed links trusts nothing. */
	tls_mem_pair(cd, sx, "test.example", &cl, &sv, &mcl, &msv);
	ASSERT_EQ(drive_handshake(cl, sv, mcl, msv, 6, &seen, &who), -1);
	ASSERT(conn_tls_verify_error(cl) != NULL);
	conn_close(cl);
	conn_close(sv);

	cfg.ca_file = "/nonexistent/ca.pem";
	ASSERT(conn_tls_client_ctx(&cfg, &cause) == NULL);
	ASSERT(cause != NULL && strstr(cause, "/nonexistent/ca.pem") != NULL);
	free(cause);
	cause = NULL;
	cfg.ca_file = NULL;
	cfg.alpn = "h2,,http/1.1";
	ASSERT(conn_tls_client_ctx(&cfg, &cause) == NULL);
	ASSERT(cause != NULL && strstr(cause, "ALPN") != NULL);
	free(cause);
	cause = NULL;
	cfg.alpn = NULL;
	ASSERT(conn_tls_server_ctx(&cfg, &cause) == NULL);	/* no cert */
	free(cause);
	cause = NULL;
	cfg.cert_file = ca2_pem;	/* a certificate without its key */
	ASSERT(conn_tls_server_ctx(&cfg, &cause) == NULL);
	ASSERT(cause != NULL && strstr(cause, "key") != NULL);
	free(cause);
	cause = NULL;
	conn_mem_pair(&mcl, &msv);
	ASSERT(conn_tls_server(cx, mcl, &cause) == NULL);
	free(cause);
	conn_close(msv);

	conn_tls_ctx_free(sx);
	conn_tls_ctx_free(cx);
	conn_tls_ctx_free(cx2);
	conn_tls_ctx_free(ci);
	conn_tls_ctx_free(cd);
}

/* A peer that closes mid-handshake costs only its connection. */
static void
test_tls_close_mid_handshake(void)
{
	struct conn_tls_ctx	*sx = server_ctx(NULL, 0);
	struct conn_tls_ctx	*cx = client_ctx(ca_pem, 0, NULL);
	struct conn		*cl, *sv, *mcl, *msv;
	char			 buf[8];

	/* The client sends its hello and goes away. */
	tls_mem_pair(cx, sx, "test.example", &cl, &sv, &mcl, &msv);
	ASSERT_EQ(conn_handshake(cl), 0);
	ASSERT(cl->want & CONN_WANT_HS_READ);
	conn_close(cl);
	ASSERT_EQ(conn_handshake(sv), -1);
	ASSERT(conn_error(sv)[0] != '\0');
	ASSERT_EQ(conn_read(sv, buf, sizeof buf), -1);
	ASSERT_EQ(errno, EIO);
	conn_close(sv);

	/* The server reads the hello, answers and goes away. */
	tls_mem_pair(cx, sx, "test.example", &cl, &sv, &mcl, &msv);
	ASSERT_EQ(conn_handshake(cl), 0);
	ASSERT_EQ(conn_handshake(sv), 0);
	conn_close(sv);
	ASSERT_EQ(conn_handshake(cl), -1);
	conn_close(cl);

	/* The server goes away before answering: the client sees it. */
	tls_mem_pair(cx, sx, "test.example", &cl, &sv, &mcl, &msv);
	ASSERT_EQ(conn_handshake(cl), 0);
	conn_close(sv);
	ASSERT_EQ(conn_handshake(cl), -1);
	ASSERT_STR_EQ(conn_error(cl), "peer closed");
	conn_close(cl);

	conn_tls_ctx_free(sx);
	conn_tls_ctx_free(cx);
}

/* TLS over a real socketpair (the SSL reads the fd), driven by poll()
 * with the events conn_events asks for. */
static void
test_tls_socket(void)
{
	struct conn_tls_ctx	*sx = server_ctx(NULL, 1);
	struct conn_tls_ctx	*cx = client_ctx(ca_pem, 0, NULL);
	struct conn		*c[2];
	struct pollfd		 pfd[2];
	char			*cause = NULL, buf[4096];
	int			 sv[2], r[2] = { 0, 0 }, i, k, ev;
	size_t			 got = 0;
	ssize_t			 n;

	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	c[0] = conn_tls_client(cx, conn_tcp_create(sv[0], 0), "test.example",
	    &cause);
	c[1] = conn_tls_server(sx, conn_tcp_create(sv[1], CONN_F_SERVER),
	    &cause);
	ASSERT(c[0] != NULL && c[1] != NULL);
	ASSERT_EQ(conn_fd(c[0]), sv[0]);
	for (k = 0; k < 100 && (r[0] != 1 || r[1] != 1); k++) {
		for (i = 0; i < 2; i++) {
			if (r[i] != 1)
				r[i] = conn_handshake(c[i]);
			ev = r[i] == 1 ? 0 : conn_events(c[i], 0);
			pfd[i].fd = conn_fd(c[i]);
			pfd[i].events = (short)(((ev & CONN_READ) ? POLLIN :
			    0) | ((ev & CONN_WRITE) ? POLLOUT : 0));
		}
		if (r[0] == -1 || r[1] == -1)
			break;
		if (r[0] != 1 || r[1] != 1)
			(void)poll(pfd, 2, 2000);
	}
	ASSERT_EQ(r[0], 1);
	ASSERT_EQ(r[1], 1);
	ASSERT_EQ(conn_write(c[0], "GET / HTTP/1.1\r\n\r\n", 18), 18);
	for (k = 0; k < 100 && got < 18; k++) {
		pfd[0].fd = conn_fd(c[1]);
		pfd[0].events = POLLIN;
		(void)poll(pfd, 1, 2000);
		if ((n = conn_read(c[1], buf + got, sizeof buf - got)) > 0)
			got += (size_t)n;
		else if (n == 0 || errno != EAGAIN)
			break;
	}
	ASSERT_MEM_EQ(buf, got, "GET / HTTP/1.1\r\n\r\n");
	conn_close(c[0]);
	/* close_notify then FIN: an end of stream. */
	for (k = 0; k < 100; k++) {
		(void)poll(pfd, 1, 2000);
		if ((n = conn_read(c[1], buf, sizeof buf)) != -1 ||
		    errno != EAGAIN)
			break;
	}
	ASSERT_EQ(n, 0);
	conn_close(c[1]);
	free(cause);
	conn_tls_ctx_free(sx);
	conn_tls_ctx_free(cx);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);	/* as every decoy process does */
	certs_make();
	test_tcp();
	test_tcp_connect();
	test_mem();
	test_events();
	test_tls_mem();
	test_tls_features();
	test_tls_verify();
	test_tls_close_mid_handshake();
	test_tls_socket();
	certs_free();
	UNIT_DONE();
}
