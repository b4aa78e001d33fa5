/*
 * conn.h -- the transport layer: one connection object, several
 * transports behind one ops table (after Redis's ConnectionType and
 * HAProxy's xprt_ops).
 *
 * A role (responder, admin, recorder, generator, fuzzer, ctl, run) reads
 * and writes bytes through a struct conn and asks it which events to wait
 * for; it never learns whether TLS is underneath.  Transports:
 *
 *   tcp  a non-blocking socket (conn-tcp in conn.c), accepted or
 *        connecting (the handshake then waits for the connect);
 *   tls  OpenSSL over any other conn (conn-tls.c): over tcp the SSL
 *        reads the socket itself, over anything else through a BIO that
 *        calls the lower conn; server (certificate files or a
 *        per-connection selection hook) and client (SNI, verification,
 *        ALPN).  Every SSL_* call of the project's I/O lives there;
 *   mem  two connected in-memory endpoints for tests (conn.c), whose
 *        reads and writes can be made to "would block" on demand.
 *
 * Operations never block.  A read or write that cannot progress returns
 * -1 with errno EAGAIN; conn_events() then says what to poll for (a TLS
 * read may wait for the socket to become writable, a write for it to
 * become readable) and conn_ready() maps the events that came back to the
 * operations worth retrying.  Other failures return -1 with errno set
 * (EIO for TLS errors) and conn_error() says why, for the log.  Plain
 * tcp writes raise no SIGPIPE; OpenSSL's writes to a closed socket may:
 * processes that serve TLS ignore it (EPIPE follows).
 *
 * A conn owns its transport state and its descriptor: conn_close() closes
 * and frees everything (a role removes the fd from its event loop first).
 * A conn is used by one thread at a time; a conn_tls_ctx is shared.
 */
#ifndef DECOY_CONN_H
#define DECOY_CONN_H

#include <sys/epoll.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

/* Operations and events: what a role wants to do, what to poll for. */
#define CONN_READ	0x1
#define CONN_WRITE	0x2

/* conn->want: what the last operation that would block waits for. */
#define CONN_WANT_HS_READ	0x01	/* handshake: readable */
#define CONN_WANT_HS_WRITE	0x02	/* handshake: writable */
#define CONN_WANT_RD_OUT	0x04	/* read waits to be writable */
#define CONN_WANT_WR_IN		0x08	/* write waits to be readable */

/* conn->flags */
#define CONN_F_ESTABLISHED	0x01	/* handshake done */
#define CONN_F_FAILED		0x02	/* fatal error: no close_notify */
#define CONN_F_SHUT		0x04	/* our side shut (conn_shutdown) */
#define CONN_F_SERVER		0x08	/* accepted (TLS: server side) */
#define CONN_F_CONNECTING	0x10	/* tcp: connect(2) in progress */
#define CONN_F_RESET		0x20	/* conn_abort: close with a reset */

struct conn;

/* One transport.  Every member is set (conn.c provides defaults). */
struct conn_ops {
	const char	*name;		/* "tcp", "tls", "mem" */
	int		(*handshake)(struct conn *);
	ssize_t		(*read)(struct conn *, void *, size_t);
	ssize_t		(*writev)(struct conn *, const struct iovec *, int);
	int		(*shutdown)(struct conn *);
	int		(*events)(const struct conn *, int want);
	size_t		(*pending)(const struct conn *);
	void		(*close)(struct conn *);
};

/* Members are read by the inline helpers below and by transports; roles
 * use the functions. */
struct conn {
	const struct conn_ops	*ops;
	int			 fd;		/* -1: none (mem) */
	int			 flags;		/* CONN_F_* */
	int			 want;		/* CONN_WANT_* */
	struct conn		*lower;		/* tls: the transport below */
	char			 err[160];	/* last failure, for the log */
};

/*
 * Advances the handshake (TLS; a connecting tcp conn: the connect).
 * Returns 1 when established (at once for an accepted tcp or a mem conn),
 * 0 when it waits (conn_events says for what), -1 when it failed
 * (conn_error says why; the connection is only good for conn_close).
 */
static inline int
conn_handshake(struct conn *c)
{
	if (c->flags & CONN_F_ESTABLISHED)
		return 1;
	return c->ops->handshake(c);
}

/* read(2): bytes, 0 at the peer's end of stream (FIN, close_notify), or
 * -1 with errno: EAGAIN (would block), else a failure (conn_error). */
static inline ssize_t
conn_read(struct conn *c, void *p, size_t len)
{
	return c->ops->read(c, p, len);
}

/* writev(2): bytes taken (maybe fewer than offered: a TLS conn takes at
 * most one record, 16 KiB), or -1 with errno as conn_read.  After EAGAIN
 * the caller offers the same bytes again (more may follow them). */
static inline ssize_t
conn_writev(struct conn *c, const struct iovec *iov, int iovcnt)
{
	return c->ops->writev(c, iov, iovcnt);
}

static inline ssize_t
conn_write(struct conn *c, const void *p, size_t len)
{
	struct iovec	iov = { (void *)p, len };

	return c->ops->writev(c, &iov, 1);
}

/*
 * Ends our direction of the stream: TLS sends close_notify once (best
 * effort, not after a failure), then the lower transport shuts its write
 * side (shutdown(2) SHUT_WR).  Reading goes on (lingering close).
 * Returns 0, or -1 with errno.
 */
static inline int
conn_shutdown(struct conn *c)
{
	return c->ops->shutdown(c);
}

/*
 * What to poll for (CONN_READ | CONN_WRITE) when the role wants to do
 * `want` (CONN_READ | CONN_WRITE, possibly neither): during the handshake
 * what the handshake waits for; afterwards `want`, plus the event a
 * blocked TLS read or write waits for.
 */
static inline int
conn_events(const struct conn *c, int want)
{
	return c->ops->events(c, want);
}

/* The wanted events read from conn->want, as conn_events describes:
 * the events op of every transport so far. */
int		 conn_events_default(const struct conn *, int want);

/* Given the events the poller reported (CONN_READ | CONN_WRITE; count
 * hang-ups and errors as CONN_READ), the operations worth trying now. */
int		 conn_ready(const struct conn *, int events);

/* Bytes the transport holds already decrypted: they will not wake the
 * poller, so a role that stopped reading with these pending reads on. */
static inline size_t
conn_pending(const struct conn *c)
{
	return c->ops->pending(c);
}

/* Closes (TLS: close_notify first, best effort, unless failed) and frees
 * the conn, the layers below it and the descriptor.  NULL is fine. */
void		 conn_close(struct conn *);

/* Closes like conn_close, but abruptly: no close_notify, and a tcp
 * connection is reset (SO_LINGER 0: RST, not FIN); a mem peer reads
 * what was written, then fails with ECONNRESET.  NULL is fine. */
void		 conn_abort(struct conn *);

/*
 * Lingering close: reads and drops what arrives from the bottom
 * transport (under TLS the raw bytes, not decrypted).  Returns the bytes
 * dropped, 0 at the end of the stream, or -1 with errno (EAGAIN: nothing
 * now).
 */
ssize_t		 conn_discard(struct conn *, size_t max);

/* epoll(7) bits for CONN_READ / CONN_WRITE (read: EPOLLIN | EPOLLRDHUP),
 * and back (hang-ups and errors count as CONN_READ: the read says). */
static inline uint32_t
conn_epoll_events(int ev)
{
	return ((ev & CONN_READ) ? EPOLLIN | EPOLLRDHUP : 0) |
	    ((ev & CONN_WRITE) ? EPOLLOUT : 0);
}

static inline int
conn_epoll_ready(uint32_t events)
{
	return ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ?
	    CONN_READ : 0) | ((events & EPOLLOUT) ? CONN_WRITE : 0);
}

/* The descriptor to poll (-1 for mem). */
static inline int
conn_fd(const struct conn *c)
{
	return c->fd;
}

/* Why the last operation failed ("peer closed", an OpenSSL reason,
 * strerror...); "" when none did.  Owned by the conn. */
const char	*conn_error(const struct conn *);
/* "tcp", "tls" or "mem". */
const char	*conn_name(const struct conn *);
int		 conn_is_established(const struct conn *);

/* --- tcp ------------------------------------------------------------ */

/*
 * A conn over fd, a non-blocking socket it now owns (closed by
 * conn_close).  flags: 0 for an accepted or connected socket,
 * CONN_F_CONNECTING for a socket whose non-blocking connect(2) returned
 * EINPROGRESS (the handshake waits for writability and reports the
 * connect's error), CONN_F_SERVER to mark an accepted one.  Never fails.
 */
struct conn	*conn_tcp_create(int fd, int flags);
/* 1 if c is a tcp conn (over one, TLS lets OpenSSL read the socket). */
int		 conn_is_tcp(const struct conn *);

/* --- mem: an in-memory pair for tests -------------------------------- */

/*
 * Two connected endpoints: what one writes the other reads, in order.
 * A read of an empty inbox would block, or returns 0 once the peer shut
 * down or closed; a write to a closed peer fails with EPIPE.  Each side
 * is closed with conn_close; the shared state goes with the second.
 */
void		 conn_mem_pair(struct conn **a, struct conn **b);
/* Makes c's reads (CONN_READ) and/or writes (CONN_WRITE) return EAGAIN
 * until called again without them (0 unblocks both). */
void		 conn_mem_block(struct conn *, int ops);
/* At most max bytes wait in c's peer's inbox; writes beyond take what
 * fits, then would block (0: no bound, the default). */
void		 conn_mem_set_limit(struct conn *, size_t max);
/* Bytes waiting in c's inbox (written by the peer, not yet read). */
size_t		 conn_mem_inbox(const struct conn *);

/* --- tls ------------------------------------------------------------ */

struct conn_tls_ctx;
struct x509_st;			/* OpenSSL's X509 */
struct evp_pkey_st;		/* OpenSSL's EVP_PKEY */

/*
 * Server certificate selection, called during the handshake once the
 * ClientHello is parsed: sni is the name the client asked for (NULL if
 * none; then conn_fd(c) tells the local address).  The hook installs a
 * certificate with conn_tls_use_cert and returns 0, or returns -1 to fail
 * the handshake.
 */
typedef int (*conn_tls_cert_cb)(struct conn *c, const char *sni,
    void *arg);

struct conn_tls_config {
	/* Server: a PEM certificate (chain) and key file, or a hook. */
	const char		*cert_file;
	const char		*key_file;
	conn_tls_cert_cb	 cert_cb;
	void			*cert_arg;
	/* Client: peers verified against ca_file (a PEM file, or a
	 * directory of hashed certificates) or the system CAs (NULL), or
	 * not at all when insecure. */
	const char		*ca_file;
	int			 insecure;
	/* ALPN, comma-separated in order of preference ("h2,http/1.1"): a
	 * client offers it (NULL: no ALPN), a server picks its first
	 * protocol the client offers (NULL: "http/1.1"; no match: none). */
	const char		*alpn;
};

/* Contexts (TLS 1.2 at least; an unexpected EOF reads as an end of
 * stream).  NULL with *cause (a bad file, a bad ALPN list...). */
struct conn_tls_ctx *conn_tls_server_ctx(const struct conn_tls_config *,
		    char **cause);
struct conn_tls_ctx *conn_tls_client_ctx(const struct conn_tls_config *,
		    char **cause);
void		 conn_tls_ctx_free(struct conn_tls_ctx *);

/*
 * A TLS conn over lower (which it now owns, also on failure): server side
 * (accept state), or client side for host (a DNS name or an IP literal
 * without brackets or port; NULL: no SNI and no name check): SNI carries
 * a name, never an IP; unless the context is insecure the certificate
 * must match the name or the IP.  NULL with *cause.
 */
struct conn	*conn_tls_server(struct conn_tls_ctx *, struct conn *lower,
		    char **cause);
struct conn	*conn_tls_client(struct conn_tls_ctx *, struct conn *lower,
		    const char *host, char **cause);

/* From a cert hook: serve cert with key, plus chain (may be NULL) after
 * it.  The conn takes its own references.  0 or -1. */
int		 conn_tls_use_cert(struct conn *, struct x509_st *cert,
		    struct evp_pkey_st *key, struct x509_st *chain);
/* The protocol ALPN chose, into buf ("" if none); 1 if there is one. */
int		 conn_tls_alpn(const struct conn *, char *buf, size_t len);
/* The server name the client sent (server side), or NULL. */
const char	*conn_tls_sni(const struct conn *);
/* Why the peer's certificate failed verification, or NULL if it passed
 * (or was not checked). */
const char	*conn_tls_verify_error(const struct conn *);
/* The first queued OpenSSL error, as an allocated "what: reason" (the
 * queue is cleared): for the callers' set-up errors. */
char		*conn_tls_cause(const char *what);
/* 1 if c is a TLS conn. */
int		 conn_is_tls(const struct conn *);

#endif
