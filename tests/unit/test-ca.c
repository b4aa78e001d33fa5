/*
 * test-ca.c -- the CA: init (modes, refusal to overwrite), load, and real
 * TLS handshakes between a server context whose leaves it mints and a
 * client context that trusts only ca.pem: with SNI over a socketpair,
 * without SNI over a loopback TCP pair (IP SAN 127.0.0.1), clients from
 * ca_client_ssl (SNI and expected name from one host, or an IP; insecure),
 * and the cost of minting 200 names.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "unit.h"

struct server_arg {
	SSL_CTX	*ctx;
	int	 fd;
	int	 ok;
};

static void *
server_main(void *arg)
{
	struct server_arg	*sa = arg;
	SSL			*ssl;
	char			 b[8];

	ssl = SSL_new(sa->ctx);
	SSL_set_fd(ssl, sa->fd);
	sa->ok = SSL_accept(ssl) == 1;
	if (sa->ok) {
		/* Wait for the client's byte: the handshake is done both
		 * ways before either side closes. */
		sa->ok = SSL_read(ssl, b, 1) == 1;
		SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	ERR_clear_error();
	return NULL;
}

/*
 * Handshakes over fds; the client sends sni (NULL: none) and verifies
 * host (a name or an IP).  Returns the SAN of the peer's leaf ("DNS:x" or
 * "IP:x") in san, or "" if the handshake failed.
 */
static int
handshake(SSL_CTX *sctx, SSL_CTX *cctx, int sfd, int cfd, const char *sni,
    const char *host, char *san, size_t sanlen)
{
	struct server_arg	 sa = { sctx, sfd, 0 };
	pthread_t		 th;
	SSL			*ssl;
	X509			*peer;
	GENERAL_NAMES		*gens;
	const GENERAL_NAME	*g;
	unsigned char		 a[16];
	int			 ok;

	san[0] = '\0';
	pthread_create(&th, NULL, server_main, &sa);
	ssl = SSL_new(cctx);
	SSL_set_fd(ssl, cfd);
	if (sni != NULL)
		SSL_set_tlsext_host_name(ssl, sni);
	if (inet_pton(AF_INET, host, a) == 1)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	else
		SSL_set1_host(ssl, host);
	ok = SSL_connect(ssl) == 1 && SSL_get_verify_result(ssl) == X509_V_OK;
	if (ok)
		ok = SSL_write(ssl, "x", 1) == 1;
	if (ok && (peer = SSL_get1_peer_certificate(ssl)) != NULL) {
		gens = X509_get_ext_d2i(peer, NID_subject_alt_name, NULL, NULL);
		if (gens != NULL && sk_GENERAL_NAME_num(gens) == 1) {
			g = sk_GENERAL_NAME_value(gens, 0);
			if (g->type == GEN_DNS)
				snprintf(san, sanlen, "DNS:%s", (const char *)
				    ASN1_STRING_get0_data(g->d.dNSName));
			else if (g->type == GEN_IPADD &&
			    ASN1_STRING_length(g->d.iPAddress) == 4) {
				char ip[INET_ADDRSTRLEN];

				inet_ntop(AF_INET,
				    ASN1_STRING_get0_data(g->d.iPAddress), ip,
				    sizeof ip);
				snprintf(san, sanlen, "IP:%s", ip);
			}
		}
		GENERAL_NAMES_free(gens);
		X509_free(peer);
	}
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(cfd);
	pthread_join(th, NULL);
	close(sfd);
	ERR_clear_error();
	return ok && sa.ok;
}

/* Handshakes over fds with a client from ca_client_ssl(cctx, cfd, host,
 * insecure); 1 if both ends succeeded (verification included). */
static int
handshake_host(SSL_CTX *sctx, SSL_CTX *cctx, int sfd, int cfd,
    const char *host, int insecure)
{
	struct server_arg	 sa = { sctx, sfd, 0 };
	pthread_t		 th;
	SSL			*ssl;
	int			 ok;

	pthread_create(&th, NULL, server_main, &sa);
	ssl = ca_client_ssl(cctx, cfd, host, insecure);
	ok = ssl != NULL && SSL_connect(ssl) == 1 &&
	    SSL_write(ssl, "x", 1) == 1;
	if (ssl != NULL) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	close(cfd);
	pthread_join(th, NULL);
	close(sfd);
	ERR_clear_error();
	return ok && sa.ok;
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
	char		 tmpl[] = "/tmp/test-ca.XXXXXX", dir[64], path[96];
	char		 san[300], name[64], *cause = NULL;
	struct stat	 st;
	struct ca	*ca;
	SSL_CTX		*sctx, *cctx, *bad;
	int		 fds[2], i, ok;
	double		 t0, t_new, t_cached;

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

	sctx = ca_server_ctx(ca, &cause);
	snprintf(path, sizeof path, "%s/ca.pem", dir);
	cctx = ca_client_ctx(path, 0, &cause);
	ASSERT(sctx != NULL && cctx != NULL);
	if (sctx == NULL || cctx == NULL)
		UNIT_DONE();

	/* SNI over a socketpair. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	ok = handshake(sctx, cctx, fds[0], fds[1], "api.payments.example",
	    "api.payments.example", san, sizeof san);
	ASSERT(ok);
	ASSERT_STR_EQ(san, "DNS:api.payments.example");

	/* The wrong expected name fails verification. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	ok = handshake(sctx, cctx, fds[0], fds[1], "api.payments.example",
	    "other.example", san, sizeof san);
	ASSERT(!ok);

	/* No SNI over loopback TCP: the leaf names 127.0.0.1. */
	tcp_pair(fds);
	ok = handshake(sctx, cctx, fds[0], fds[1], NULL, "127.0.0.1", san,
	    sizeof san);
	ASSERT(ok);
	ASSERT_STR_EQ(san, "IP:127.0.0.1");

	/* An SNI that is not a host name is refused, the context lives. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	ok = handshake(sctx, cctx, fds[0], fds[1], "a,IP:1.2.3.4", "a", san,
	    sizeof san);
	ASSERT(!ok);

	/* A client trusting only the system CAs refuses decoy's leaves. */
	bad = ca_client_ctx(NULL, 0, &cause);
	ASSERT(bad != NULL);
	socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	ok = handshake(sctx, bad, fds[0], fds[1], "api.payments.example",
	    "api.payments.example", san, sizeof san);
	ASSERT(!ok);

	/* ca_client_ssl: a name is sent as SNI and verified; an IP is
	 * verified as an IP (no SNI: the leaf has an IP SAN); insecure
	 * accepts what the system CAs refuse. */
	socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	ASSERT(handshake_host(sctx, cctx, fds[0], fds[1],
	    "api.payments.example", 0));
	tcp_pair(fds);
	ASSERT(handshake_host(sctx, cctx, fds[0], fds[1], "127.0.0.1", 0));
	tcp_pair(fds);
	ASSERT(!handshake_host(sctx, cctx, fds[0], fds[1], "127.0.0.2", 0));
	socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	ASSERT(!handshake_host(sctx, bad, fds[0], fds[1],
	    "api.payments.example", 0));
	SSL_CTX_free(bad);
	bad = ca_client_ctx(NULL, 1, &cause);
	ASSERT(bad != NULL);
	socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
	ASSERT(handshake_host(sctx, bad, fds[0], fds[1],
	    "api.payments.example", 1));
	SSL_CTX_free(bad);

	/* 200 new names against 200 handshakes for a cached one. */
	t0 = now_ms();
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof name, "svc%d.mint.example", i);
		socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
		ok = handshake(sctx, cctx, fds[0], fds[1], name, name, san,
		    sizeof san);
		if (!ok)
			break;
	}
	ASSERT_EQ(i, 200);
	t_new = now_ms() - t0;
	t0 = now_ms();
	for (i = 0; i < 200; i++) {
		socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
		ok = handshake(sctx, cctx, fds[0], fds[1], "svc7.mint.example",
		    "svc7.mint.example", san, sizeof san);
		if (!ok)
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
		ok = handshake(sctx, cctx, fds[0], fds[1], name, name, san,
		    sizeof san);
		if (!ok)
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
	    "svc1.mint.example", san, sizeof san));
	ASSERT_STR_EQ(san, "DNS:svc1.mint.example");
	/* The difference is the minting, within the noise of 200 thread
	 * starts and handshakes. */
	printf("200 handshakes: %.1f ms with 200 new names (minted), "
	    "%.1f ms with one cached name\n", t_new, t_cached);
	/* Generous: sanitizers and slow machines.  A per-leaf RSA key
	 * would cost ~150 ms each, 30 s in all. */
	ASSERT(t_new < 10000);

	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	ca_free(ca);
	snprintf(path, sizeof path, "rm -rf '%s'", tmpl);
	if (system(path) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpl);
	UNIT_DONE();
}
