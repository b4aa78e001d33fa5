/*
 * test-ca.c -- the CA: init (modes, refusal to overwrite), load, and real
 * TLS handshakes through the transport layer (conn.h) between a server
 * context whose leaves the CA mints (ca_conn_cert as the certificate
 * hook, as the responder and the recorder use it) and a client context
 * that trusts only ca.pem: with SNI over a socketpair, without SNI over a
 * loopback TCP pair (IP SAN 127.0.0.1), names the CA refuses, clients
 * that trust only the system CAs or nothing (insecure), the leaf cache
 * and its bound, and the cost of minting 200 names.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca.h"
#include "conn.h"
#include "unit.h"

/* Polls c's descriptor for what c waits for (want: after the
 * handshake). */
static void
add_pollfd(struct pollfd *pfd, struct conn *c, int want)
{
	int	ev = conn_events(c, want);

	pfd->fd = conn_fd(c);
	pfd->events = (short)(((ev & CONN_READ) ? POLLIN : 0) |
	    ((ev & CONN_WRITE) ? POLLOUT : 0));
	pfd->revents = 0;
}

/*
 * Handshakes over the socket pair sfd / cfd (both taken and closed): a
 * server conn of sctx and a client conn of cctx for host (a name: sent
 * as SNI and verified; an IP: verified, no SNI), both driven in this
 * thread, then one byte from the client to the server.  Returns 1 if
 * both ends succeeded (verification included); *sni gets the name the
 * server saw ("-" for none).
 */
static int
handshake(struct conn_tls_ctx *sctx, struct conn_tls_ctx *cctx, int sfd,
    int cfd, const char *host, char *sni, size_t snilen)
{
	struct conn	*sv, *cl;
	struct pollfd	 pfd[2];
	char		*cause = NULL, b;
	int		 rs = 0, rc = 0, i, ok = 0;

	snprintf(sni, snilen, "-");
	fcntl(sfd, F_SETFL, fcntl(sfd, F_GETFL) | O_NONBLOCK);
	fcntl(cfd, F_SETFL, fcntl(cfd, F_GETFL) | O_NONBLOCK);
	sv = conn_tls_server(sctx, conn_tcp_create(sfd, CONN_F_SERVER),
	    &cause);
	free(cause);
	cause = NULL;
	cl = conn_tls_client(cctx, conn_tcp_create(cfd, 0), host, &cause);
	free(cause);
	if (sv == NULL || cl == NULL)
		goto out;
	for (i = 0; i < 1000 && (rs != 1 || rc != 1); i++) {
		if (rc != 1 && (rc = conn_handshake(cl)) == -1)
			break;
		if (rs != 1 && (rs = conn_handshake(sv)) == -1)
			break;
		if (rs == 1 && rc == 1)
			break;
		add_pollfd(&pfd[0], cl, 0);
		add_pollfd(&pfd[1], sv, 0);
		if (poll(pfd, 2, 2000) < 1)
			break;
	}
	if (rs != 1 || rc != 1)
		goto out;
	if (conn_tls_sni(sv) != NULL)
		snprintf(sni, snilen, "%s", conn_tls_sni(sv));
	if (conn_write(cl, "x", 1) != 1)
		goto out;
	add_pollfd(&pfd[0], sv, CONN_READ);
	while (!ok && poll(pfd, 1, 2000) == 1) {
		if (conn_read(sv, &b, 1) == 1)
			ok = b == 'x';
		else if (errno != EAGAIN)
			break;
		add_pollfd(&pfd[0], sv, CONN_READ);
	}
out:
	/* The conns own the descriptors, also when they failed. */
	conn_close(cl);
	conn_close(sv);
	return ok;
}

/* A client context trusting ca_file (NULL: the system CAs), or nothing
 * when insecure. */
static struct conn_tls_ctx *
client_ctx(const char *ca_file, int insecure)
{
	struct conn_tls_config	 cfg = { .ca_file = ca_file,
				     .insecure = insecure };
	struct conn_tls_ctx	*x;
	char			*cause = NULL;

	x = conn_tls_client_ctx(&cfg, &cause);
	if (x == NULL)
		fprintf(stderr, "client ctx: %s\n", cause);
	free(cause);
	return x;
}

/* A connected loopback TCP pair. */
static void
tcp_pair(int fds[2])
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			l;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	bind(l, (struct sockaddr *)&sin, sizeof sin);
	listen(l, 1);
	getsockname(l, (struct sockaddr *)&sin, &len);
	fds[1] = socket(AF_INET, SOCK_STREAM, 0);
	connect(fds[1], (struct sockaddr *)&sin, sizeof sin);
	fds[0] = accept(l, NULL, NULL);
	close(l);
}

static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int
main(void)
{
	char			 tmpl[] = "/tmp/test-ca.XXXXXX", dir[64];
	char			 path[96], sni[300], name[64], *cause = NULL;
	struct stat		 st;
	struct ca		*ca;
	struct conn_tls_config	 scfg = { .cert_cb = ca_conn_cert };
	struct conn_tls_ctx	*sctx, *cctx, *sys, *any;
	int			 fds[2], i, ok;
	double			 t0, t_new, t_cached;

	/* A refused handshake closes one end while the other writes. */
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpl) == NULL)
		return 1;
	snprintf(dir, sizeof dir, "%s/ca", tmpl);

	/* init: dir 0700, key 0600, refuse to overwrite unless forced. */
	ASSERT_EQ(ca_init(dir, 0, &cause), 0);
	ASSERT_EQ(stat(dir, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0700);
	snprintf(path, sizeof path, "%s/ca.key", dir);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT_EQ(ca_init(dir, 0, &cause), -1);
	ASSERT(cause != NULL && strstr(cause, "exists") != NULL);
	free(cause);
	cause = NULL;
	ASSERT_EQ(ca_init(dir, 1, &cause), 0);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);

	ASSERT(ca_load("/nonexistent/decoy-ca", &cause) == NULL);
	ASSERT(cause != NULL);
	free(cause);
	cause = NULL;
	ca = ca_load(dir, &cause);
	ASSERT(ca != NULL);
	if (ca == NULL)
		UNIT_DONE();
	ASSERT(strncmp(ca_cert_pem(ca), "-----BEGIN CERTIFICATE-----", 27)
	    == 0);

	/* Leaves minted per SNI (or local address), as the responder and
	 * the recorder set it up. */
	scfg.cert_arg = ca;
	sctx = conn_tls_server_ctx(&scfg, &cause);
	snprintf(path, sizeof path, "%s/ca.pem", dir);
	cctx = client_ctx(path, 0);
	ASSERT(sctx != NULL && cctx != NULL);
	if (sctx == NULL || cctx == NULL)
		UNIT_DONE();

	/* SNI over a socketpair: the leaf names it. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	ok = handshake(sctx, cctx, fds[0], fds[1], "api.payments.example",
	    sni, sizeof sni);
	ASSERT(ok);
	ASSERT_STR_EQ(sni, "api.payments.example");

	/* No SNI over loopback TCP: the leaf names 127.0.0.1, and only
	 * that address. */
	tcp_pair(fds);
	ok = handshake(sctx, cctx, fds[0], fds[1], "127.0.0.1", sni,
	    sizeof sni);
	ASSERT(ok);
	ASSERT_STR_EQ(sni, "-");
	tcp_pair(fds);
	ASSERT(!handshake(sctx, cctx, fds[0], fds[1], "127.0.0.2", sni,
	    sizeof sni));

	/* An SNI that is not a host name is refused, the context lives. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	ok = handshake(sctx, cctx, fds[0], fds[1], "a,IP:1.2.3.4", sni,
	    sizeof sni);
	ASSERT(!ok);
	socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	ASSERT(handshake(sctx, cctx, fds[0], fds[1], "a.example", sni,
	    sizeof sni));

	/* A client trusting only the system CAs refuses decoy's leaves;
	 * an insecure one takes them. */
	sys = client_ctx(NULL, 0);
	any = client_ctx(NULL, 1);
	ASSERT(sys != NULL && any != NULL);
	socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	ASSERT(!handshake(sctx, sys, fds[0], fds[1], "api.payments.example",
	    sni, sizeof sni));
	socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	ASSERT(handshake(sctx, any, fds[0], fds[1], "api.payments.example",
	    sni, sizeof sni));
	conn_tls_ctx_free(sys);
	conn_tls_ctx_free(any);

	/* 200 new names against 200 handshakes for a cached one. */
	t0 = now_ms();
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof name, "svc%d.mint.example", i);
		socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
		if (!handshake(sctx, cctx, fds[0], fds[1], name, sni,
		    sizeof sni))
			break;
	}
	ASSERT_EQ(i, 200);
	t_new = now_ms() - t0;
	t0 = now_ms();
	for (i = 0; i < 200; i++) {
		socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
		if (!handshake(sctx, cctx, fds[0], fds[1], "svc7.mint.example",
		    sni, sizeof sni))
			break;
	}
	ASSERT_EQ(i, 200);
	t_cached = now_ms() - t0;
	ASSERT(ca_cache_count(ca) >= 200);

	/* The cache is bounded: 300 more names with a bound of 64. */
	ca_set_cache_max(ca, 64);
	ASSERT(ca_cache_count(ca) <= 64);
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof name, "svc%d.evict.example", i);
		socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
		if (!handshake(sctx, cctx, fds[0], fds[1], name, sni,
		    sizeof sni))
			break;
		/* a chain that shares the new name's bucket may stay */
		if (ca_cache_count(ca) > 64 + 4)
			break;
	}
	ASSERT_EQ(i, 300);
	ASSERT(ca_cache_count(ca) <= 64 + 4);
	/* An evicted name is minted again and still verifies. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	ASSERT(handshake(sctx, cctx, fds[0], fds[1], "svc1.mint.example",
	    sni, sizeof sni));
	ASSERT_STR_EQ(sni, "svc1.mint.example");
	/* The difference is the minting, within the noise of 200
	 * handshakes. */
	printf("200 handshakes: %.1f ms with 200 new names (minted), "
	    "%.1f ms with one cached name\n", t_new, t_cached);
	/* Generous: sanitizers and slow machines.  A per-leaf RSA key
	 * would cost ~150 ms each, 30 s in all. */
	ASSERT(t_new < 10000);

	conn_tls_ctx_free(sctx);
	conn_tls_ctx_free(cctx);
	ca_free(ca);
	snprintf(path, sizeof path, "rm -rf '%s'", tmpl);
	if (system(path) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpl);
	UNIT_DONE();
}
