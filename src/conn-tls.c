/*
 * conn-tls.c -- the tls transport: OpenSSL over another conn.  Every
 * SSL_* call of the project's I/O lives in this file: context set-up for
 * servers (certificate files, or a per-connection selection hook that the
 * CA's minting plugs into) and clients (verification, SNI, ALPN), the
 * non-blocking handshake, reads, writes and close_notify.
 *
 * Over a tcp conn the SSL reads and writes the socket itself (the fastest
 * path, and SSL_get_fd keeps working); over anything else (the mem pair
 * of the tests) a BIO calls the lower conn, so the same code runs with no
 * socket and tests can make any step would-block.
 */
#include "config.h"

#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "conn.h"
#include "xmalloc.h"

/* One TLS record: the most a write takes, and the gather buffer. */
#define CONN_TLS_RECORD	(16 * 1024)
#define CONN_TLS_ALPN_MAX 512

struct conn_tls_ctx {
	SSL_CTX			*ctx;
	int			 server;
	int			 insecure;
	conn_tls_cert_cb	 cert_cb;
	void			*cert_arg;
	unsigned char		 alpn[CONN_TLS_ALPN_MAX];	/* wire format */
	unsigned int		 alpn_len;
};

struct conn_tls {
	struct conn	 c;		/* first: a conn_tls is a conn */
	SSL		*ssl;
	int		 insecure;
	int		 bio_eof;	/* the lower conn reached its end */
};

/* Writes gather their iovecs here: one record, per thread. */
static __thread char	 conn_tls_gather[CONN_TLS_RECORD];

static BIO_METHOD	*conn_tls_bio_method;
static pthread_once_t	 conn_tls_bio_once = PTHREAD_ONCE_INIT;

/* --- the BIO over a lower conn ---------------------------------------- */

static int
conn_tls_bio_write(BIO *b, const char *p, int len)
{
	struct conn_tls	*t = BIO_get_data(b);
	ssize_t		 n;

	BIO_clear_retry_flags(b);
	if ((n = conn_write(t->c.lower, p, (size_t)len)) > 0)
		return (int)n;
	if (n == 0 || errno == EAGAIN || errno == EINTR) {
		BIO_set_retry_write(b);
		return -1;
	}
	return -1;
}

static int
conn_tls_bio_read(BIO *b, char *p, int len)
{
	struct conn_tls	*t = BIO_get_data(b);
	ssize_t		 n;

	BIO_clear_retry_flags(b);
	if ((n = conn_read(t->c.lower, p, (size_t)len)) > 0)
		return (int)n;
	if (n == 0) {
		t->bio_eof = 1;
		return 0;
	}
	if (errno == EAGAIN || errno == EINTR)
		BIO_set_retry_read(b);
	return -1;
}

static long
conn_tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct conn_tls	*t = BIO_get_data(b);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_EOF:
		return t != NULL && t->bio_eof;
	default:
		return 0;
	}
}

static void
conn_tls_bio_init(void)
{
	BIO_METHOD	*m;

	m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	    "decoy conn");
	if (m == NULL)
		return;
	BIO_meth_set_write(m, conn_tls_bio_write);
	BIO_meth_set_read(m, conn_tls_bio_read);
	BIO_meth_set_ctrl(m, conn_tls_bio_ctrl);
	conn_tls_bio_method = m;
}

/* --- failures ----------------------------------------------------------- */

char *
conn_tls_cause(const char *what)
{
	unsigned long	code = ERR_get_error();
	char		e[256];

	ERR_error_string_n(code, e, sizeof e);
	ERR_clear_error();
	return code == 0 ? xasprintf("%s: failed", what) :
	    xasprintf("%s: %s", what, e);
}

/* Marks t failed (no close_notify will follow) and notes why. */
static void
conn_tls_fail(struct conn_tls *t, int sslerr)
{
	struct conn	*c = &t->c;
	unsigned long	 code;
	long		 vr;
	int		 saved = errno;

	c->flags |= CONN_F_FAILED;
	if (!(c->flags & CONN_F_SERVER) && !t->insecure &&
	    (vr = SSL_get_verify_result(t->ssl)) != X509_V_OK)
		snprintf(c->err, sizeof c->err,
		    "certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
	else if ((code = ERR_get_error()) != 0)
		ERR_error_string_n(code, c->err, sizeof c->err);
	else if (sslerr == SSL_ERROR_SYSCALL && saved != 0)
		snprintf(c->err, sizeof c->err, "%s", strerror(saved));
	else if (sslerr == SSL_ERROR_SYSCALL ||
	    sslerr == SSL_ERROR_ZERO_RETURN)
		snprintf(c->err, sizeof c->err, "peer closed");
	else
		snprintf(c->err, sizeof c->err, "TLS error %d", sslerr);
	ERR_clear_error();
	errno = EIO;
}

/* --- the transport ------------------------------------------------------ */

static int
conn_tls_handshake(struct conn *c)
{
	struct conn_tls	*t = (struct conn_tls *)c;
	int		 r, err;

	if (c->flags & CONN_F_FAILED)
		return -1;
	if ((r = conn_handshake(c->lower)) != 1) {
		if (r == 0) {
			c->want = c->lower->want &
			    (CONN_WANT_HS_READ | CONN_WANT_HS_WRITE);
			return 0;
		}
		snprintf(c->err, sizeof c->err, "%s", conn_error(c->lower));
		c->flags |= CONN_F_FAILED;
		return -1;
	}
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_do_handshake(t->ssl)) == 1) {
		c->want = 0;
		c->flags |= CONN_F_ESTABLISHED;
		return 1;
	}
	switch ((err = SSL_get_error(t->ssl, r))) {
	case SSL_ERROR_WANT_READ:
		c->want = CONN_WANT_HS_READ;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		c->want = CONN_WANT_HS_WRITE;
		return 0;
	default:
		conn_tls_fail(t, err);
		return -1;
	}
}

/* Reads and writes before the handshake finish it first: -1 with EAGAIN
 * while it waits, EIO if it failed, 0 once established. */
static int
conn_tls_ensure(struct conn *c)
{
	if (c->flags & CONN_F_FAILED) {
		errno = EIO;
		return -1;
	}
	if (c->flags & CONN_F_ESTABLISHED)
		return 0;
	switch (conn_tls_handshake(c)) {
	case 1:
		return 0;
	case 0:
		errno = EAGAIN;
		return -1;
	default:
		errno = EIO;
		return -1;
	}
}

/*
 * SSL_read (reading) or SSL_write returned r <= 0: -1 with EAGAIN when it
 * waits (noting when a read waits for writability or a write for
 * readability), 0 at the peer's close_notify (or EOF) on a read, else -1
 * with EIO and the reason noted.
 */
static ssize_t
conn_tls_blocked(struct conn_tls *t, int r, int reading)
{
	int	err = SSL_get_error(t->ssl, r);

	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		if (reading && err == SSL_ERROR_WANT_WRITE)
			t->c.want |= CONN_WANT_RD_OUT;
		else if (!reading && err == SSL_ERROR_WANT_READ)
			t->c.want |= CONN_WANT_WR_IN;
		errno = EAGAIN;
		return -1;
	}
	if (reading && err == SSL_ERROR_ZERO_RETURN)
		return 0;
	conn_tls_fail(t, err);
	return -1;
}

static ssize_t
conn_tls_read(struct conn *c, void *p, size_t len)
{
	struct conn_tls	*t = (struct conn_tls *)c;
	int		 n;

	if (conn_tls_ensure(c) == -1)
		return -1;
	ERR_clear_error();
	errno = 0;
	c->want &= ~CONN_WANT_RD_OUT;
	if ((n = SSL_read(t->ssl, p, len > INT_MAX ? INT_MAX : (int)len)) > 0)
		return n;
	return conn_tls_blocked(t, n, 1);
}

/*
 * At most one record per call.  Several iovecs are gathered into one
 * record-sized buffer; a retry after WANT_WRITE gathers the same first
 * bytes (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER allows a new address, and
 * the length never shrinks since the caller offers the same bytes).
 */
static ssize_t
conn_tls_writev(struct conn *c, const struct iovec *iov, int iovcnt)
{
	struct conn_tls	*t = (struct conn_tls *)c;
	const void	*p;
	size_t		 len = 0, k;
	int		 i, wr;

	if (conn_tls_ensure(c) == -1)
		return -1;
	if (iovcnt == 0)
		return 0;
	if (iovcnt == 1 || iov[0].iov_len >= CONN_TLS_RECORD) {
		p = iov[0].iov_base;
		len = iov[0].iov_len < CONN_TLS_RECORD ? iov[0].iov_len :
		    CONN_TLS_RECORD;
	} else {
		for (i = 0; i < iovcnt && len < CONN_TLS_RECORD; i++) {
			k = iov[i].iov_len;
			if (k > CONN_TLS_RECORD - len)
				k = CONN_TLS_RECORD - len;
			memcpy(conn_tls_gather + len, iov[i].iov_base, k);
			len += k;
		}
		p = conn_tls_gather;
	}
	if (len == 0)
		return 0;
	ERR_clear_error();
	errno = 0;
	c->want &= ~CONN_WANT_WR_IN;
	if ((wr = SSL_write(t->ssl, p, (int)len)) > 0)
		return wr;
	return conn_tls_blocked(t, wr, 0);
}

/* Sends close_notify once, best effort (the transport is non-blocking). */
static void
conn_tls_notify(struct conn_tls *t)
{
	if ((t->c.flags & (CONN_F_ESTABLISHED | CONN_F_FAILED |
	    CONN_F_SHUT)) != CONN_F_ESTABLISHED)
		return;
	t->c.flags |= CONN_F_SHUT;
	(void)SSL_shutdown(t->ssl);
	ERR_clear_error();
}

static int
conn_tls_shutdown(struct conn *c)
{
	conn_tls_notify((struct conn_tls *)c);
	return conn_shutdown(c->lower);
}

static size_t
conn_tls_pending(const struct conn *c)
{
	const struct conn_tls	*t = (const struct conn_tls *)c;
	int			 n = SSL_pending(t->ssl);

	return n > 0 ? (size_t)n : 0;
}

static void
conn_tls_close(struct conn *c)
{
	struct conn_tls	*t = (struct conn_tls *)c;

	conn_tls_notify(t);
	SSL_free(t->ssl);
	conn_close(c->lower);
	free(t);
}

/* In struct conn_ops order (conn.h). */
static const struct conn_ops conn_tls_ops = { "tls", conn_tls_handshake,
	conn_tls_read, conn_tls_writev, conn_tls_shutdown, conn_events_default,
	conn_tls_pending, conn_tls_close };

int
conn_is_tls(const struct conn *c)
{
	return c->ops == &conn_tls_ops;
}

/* --- connections ------------------------------------------------------- */

static struct conn_tls *
conn_tls_new(struct conn_tls_ctx *x, struct conn *lower, char **cause)
{
	struct conn_tls	*t;
	BIO		*bio;

	t = xcalloc(1, sizeof *t);
	t->c.ops = &conn_tls_ops;
	t->c.fd = lower->fd;
	t->c.lower = lower;
	t->c.flags = x->server ? CONN_F_SERVER : 0;
	t->c.want = CONN_WANT_HS_READ | CONN_WANT_HS_WRITE;
	t->insecure = x->insecure;
	ERR_clear_error();
	if ((t->ssl = SSL_new(x->ctx)) == NULL)
		goto fail;
	if (conn_is_tcp(lower)) {
		if (SSL_set_fd(t->ssl, lower->fd) != 1)
			goto fail;
	} else {
		pthread_once(&conn_tls_bio_once, conn_tls_bio_init);
		if (conn_tls_bio_method == NULL ||
		    (bio = BIO_new(conn_tls_bio_method)) == NULL)
			goto fail;
		BIO_set_data(bio, t);
		BIO_set_init(bio, 1);
		SSL_set_bio(t->ssl, bio, bio);
	}
	SSL_set_app_data(t->ssl, &t->c);
	if (x->server)
		SSL_set_accept_state(t->ssl);
	else
		SSL_set_connect_state(t->ssl);
	return t;

fail:
	*cause = conn_tls_cause("TLS connection set-up");
	SSL_free(t->ssl);
	conn_close(lower);
	free(t);
	return NULL;
}

struct conn *
conn_tls_server(struct conn_tls_ctx *x, struct conn *lower, char **cause)
{
	struct conn_tls	*t;

	if (!x->server) {
		*cause = xstrdup("TLS: a client context used for a server");
		conn_close(lower);
		return NULL;
	}
	if ((t = conn_tls_new(x, lower, cause)) == NULL)
		return NULL;
	return &t->c;
}

struct conn *
conn_tls_client(struct conn_tls_ctx *x, struct conn *lower,
    const char *host, char **cause)
{
	unsigned char	 ip[sizeof(struct in6_addr)];
	struct conn_tls	*t;
	int		 is_ip;

	if (x->server) {
		*cause = xstrdup("TLS: a server context used for a client");
		conn_close(lower);
		return NULL;
	}
	if ((t = conn_tls_new(x, lower, cause)) == NULL)
		return NULL;
	if (host == NULL)
		return &t->c;
	is_ip = inet_pton(AF_INET, host, ip) == 1 ||
	    inet_pton(AF_INET6, host, ip) == 1;
	if (!x->insecure) {
		if (is_ip) {
			if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(
			    t->ssl), host) != 1)
				goto fail;
		} else if (SSL_set1_host(t->ssl, host) != 1)
			goto fail;
	}
	if (!is_ip && SSL_set_tlsext_host_name(t->ssl, host) != 1)
		goto fail;
	return &t->c;

fail:
	*cause = conn_tls_cause("TLS: bad host name");
	conn_close(&t->c);
	return NULL;
}

int
conn_tls_use_cert(struct conn *c, struct x509_st *cert,
    struct evp_pkey_st *key, struct x509_st *chain)
{
	struct conn_tls	*t = (struct conn_tls *)c;

	if (!conn_is_tls(c))
		return -1;
	if (SSL_use_certificate(t->ssl, cert) != 1 ||
	    SSL_use_PrivateKey(t->ssl, key) != 1 ||
	    (chain != NULL && SSL_add1_chain_cert(t->ssl, chain) != 1)) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

int
conn_tls_alpn(const struct conn *c, char *buf, size_t len)
{
	const unsigned char	*p = NULL;
	unsigned int		 n = 0;

	if (len > 0)
		*buf = '\0';
	if (!conn_is_tls(c))
		return 0;
	SSL_get0_alpn_selected(((const struct conn_tls *)c)->ssl, &p, &n);
	if (n == 0 || len == 0)
		return 0;
	snprintf(buf, len, "%.*s", (int)n, (const char *)p);
	return 1;
}

const char *
conn_tls_sni(const struct conn *c)
{
	if (!conn_is_tls(c))
		return NULL;
	return SSL_get_servername(((const struct conn_tls *)c)->ssl,
	    TLSEXT_NAMETYPE_host_name);
}

const char *
conn_tls_verify_error(const struct conn *c)
{
	const struct conn_tls	*t = (const struct conn_tls *)c;
	long			 vr;

	if (!conn_is_tls(c) || t->insecure || (c->flags & CONN_F_SERVER))
		return NULL;
	if ((vr = SSL_get_verify_result(t->ssl)) == X509_V_OK)
		return NULL;
	return X509_verify_cert_error_string(vr);
}

/* --- contexts ----------------------------------------------------------- */

/* "h2,http/1.1" into ALPN's wire format; -1 with *cause. */
static int
conn_tls_alpn_parse(struct conn_tls_ctx *x, const char *list, char **cause)
{
	const char	*p = list, *e;
	size_t		 n;

	x->alpn_len = 0;
	for (;;) {
		e = strchr(p, ',');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 0 || n > 255 ||
		    x->alpn_len + 1 + n > sizeof x->alpn) {
			*cause = xasprintf("bad ALPN list \"%s\"", list);
			return -1;
		}
		x->alpn[x->alpn_len++] = (unsigned char)n;
		memcpy(x->alpn + x->alpn_len, p, n);
		x->alpn_len += (unsigned int)n;
		if (e == NULL)
			return 0;
		p = e + 1;
	}
}

static int
conn_tls_alpn_select(SSL *ssl, const unsigned char **out,
    unsigned char *outlen, const unsigned char *in, unsigned int inlen,
    void *arg)
{
	struct conn_tls_ctx	*x = arg;
	unsigned char		*sel;

	(void)ssl;
	if (SSL_select_next_proto(&sel, outlen, x->alpn, x->alpn_len, in,
	    inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* Hands certificate selection to the config's hook; 1 ok, 0 fails the
 * handshake. */
static int
conn_tls_cert_select(SSL *ssl, void *arg)
{
	struct conn_tls_ctx	*x = arg;
	struct conn		*c = SSL_get_app_data(ssl);
	const char		*sni;

	if (c == NULL)
		return 0;
	sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (sni != NULL && *sni == '\0')
		sni = NULL;
	return x->cert_cb(c, sni, x->cert_arg) == 0 ? 1 : 0;
}

/* A context of method with what servers and clients share. */
static struct conn_tls_ctx *
conn_tls_ctx_new(const SSL_METHOD *method, const char *alpn, char **cause)
{
	struct conn_tls_ctx	*x = xcalloc(1, sizeof *x);

	if (alpn != NULL && conn_tls_alpn_parse(x, alpn, cause) == -1) {
		free(x);
		return NULL;
	}
	ERR_clear_error();
	if ((x->ctx = SSL_CTX_new(method)) == NULL ||
	    SSL_CTX_set_min_proto_version(x->ctx, TLS1_2_VERSION) != 1) {
		*cause = conn_tls_cause("TLS set-up");
		conn_tls_ctx_free(x);
		return NULL;
	}
	SSL_CTX_set_mode(x->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* A close without close_notify is an EOF: HTTP framing says
	 * whether a message is whole. */
	SSL_CTX_set_options(x->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	return x;
}

struct conn_tls_ctx *
conn_tls_server_ctx(const struct conn_tls_config *cfg, char **cause)
{
	struct conn_tls_ctx	*x;
	const char		*key;

	if (cfg->cert_file == NULL && cfg->cert_cb == NULL) {
		*cause = xstrdup("TLS server: no certificate");
		return NULL;
	}
	if ((x = conn_tls_ctx_new(TLS_server_method(),
	    cfg->alpn != NULL ? cfg->alpn : "http/1.1", cause)) == NULL)
		return NULL;
	x->server = 1;
	SSL_CTX_set_options(x->ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_alpn_select_cb(x->ctx, conn_tls_alpn_select, x);
	if (cfg->cert_cb != NULL) {
		x->cert_cb = cfg->cert_cb;
		x->cert_arg = cfg->cert_arg;
		SSL_CTX_set_cert_cb(x->ctx, conn_tls_cert_select, x);
	}
	if (cfg->cert_file != NULL) {
		key = cfg->key_file != NULL ? cfg->key_file : cfg->cert_file;
		if (SSL_CTX_use_certificate_chain_file(x->ctx,
		    cfg->cert_file) != 1) {
			char *what = xasprintf("certificate %s",
			    cfg->cert_file);

			*cause = conn_tls_cause(what);
			free(what);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(x->ctx, key,
		    SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(x->ctx) != 1) {
			char *what = xasprintf("key %s", key);

			*cause = conn_tls_cause(what);
			free(what);
			goto fail;
		}
	}
	return x;

fail:
	conn_tls_ctx_free(x);
	return NULL;
}

struct conn_tls_ctx *
conn_tls_client_ctx(const struct conn_tls_config *cfg, char **cause)
{
	struct conn_tls_ctx	*x;
	struct stat		 st;
	int			 dir, ok;

	if ((x = conn_tls_ctx_new(TLS_client_method(), cfg->alpn,
	    cause)) == NULL)
		return NULL;
	if (x->alpn_len > 0 &&
	    SSL_CTX_set_alpn_protos(x->ctx, x->alpn, x->alpn_len) != 0) {
		*cause = conn_tls_cause("TLS client ALPN");
		goto fail;
	}
	if (cfg->insecure) {
		x->insecure = 1;
		SSL_CTX_set_verify(x->ctx, SSL_VERIFY_NONE, NULL);
		return x;
	}
	SSL_CTX_set_verify(x->ctx, SSL_VERIFY_PEER, NULL);
	if (cfg->ca_file != NULL) {
		dir = stat(cfg->ca_file, &st) == 0 && S_ISDIR(st.st_mode);
		ok = SSL_CTX_load_verify_locations(x->ctx, dir ? NULL :
		    cfg->ca_file, dir ? cfg->ca_file : NULL) == 1;
		if (!ok) {
			char *what = xasprintf("CA %s %s",
			    dir ? "directory" : "file", cfg->ca_file);

			*cause = conn_tls_cause(what);
			free(what);
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(x->ctx) != 1) {
		*cause = conn_tls_cause("TLS client set-up");
		goto fail;
	}
	return x;

fail:
	conn_tls_ctx_free(x);
	return NULL;
}

void
conn_tls_ctx_free(struct conn_tls_ctx *x)
{
	if (x == NULL)
		return;
	SSL_CTX_free(x->ctx);
	free(x);
}
