/*
 * httpc.h -- the HTTP/1.1 client, on the transport layer (conn.h).
 *
 * Three levels, each usable alone:
 *
 *   framing      httpc_resp_*: reads one response out of a growing buffer
 *                (Content-Length, chunked decoded in place, close-delimited,
 *                no body for HEAD, 1xx, 204 and 304; interim 1xx heads
 *                skipped).  Pure: bytes in, verdict out, no sockets.
 *   connection   struct httpc_conn: one non-blocking client connection to
 *                an httpc_target (TCP connect, then TLS with SNI and
 *                verification for https), a request written from the
 *                caller's bytes and its response read with the framing
 *                above.  The role owns the event loop: it polls
 *                httpc_conn_fd() for httpc_conn_events() and calls the
 *                step functions; nothing here blocks.  The generator, the
 *                fuzzer and the recorder's upstream side use it.
 *   one-shot     httpc_fetch(): one blocking request with a deadline and
 *                Connection: close, for commands (`decoy ctl`, `decoy run`).
 *
 * A target (struct httpc_target) is where requests go: an address
 * resolved once, the Host value, and for https a TLS context shared by
 * every connection of the target (conn_tls_client_ctx: TLS 1.2+, verified
 * against a CA file or directory, the system CAs, or not at all).
 *
 * Processes that use this ignore SIGPIPE (a peer gone mid-write is an
 * EPIPE error, never a signal): writes go through writev(2) and TLS.
 */
#ifndef DECOY_HTTPC_H
#define DECOY_HTTPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conn.h"
#include "http.h"
#include "sock.h"
#include "url.h"

/* --- framing ---------------------------------------------------------- */

enum httpc_err {
	HTTPC_E_NONE,
	HTTPC_E_PROTOCOL,	/* not an HTTP response, or bad framing */
	HTTPC_E_CLOSED,		/* the peer closed before the end */
};

/* One response being read.  The members below "result" are valid once
 * head_done is set. */
struct httpc_resp {
	size_t			 max_head;	/* 0: HTTP_DEFAULT_MAX_HEAD */
	int			 head_request;	/* it answers a HEAD */
	struct http_chunked	 ch;
	/* result */
	int			 head_done;
	int			 status;
	enum http_framing	 framing;
	uint64_t		 content_length;
	int			 keep_alive;	/* 0 also if bytes follow it */
	size_t			 head_len;	/* the final head, at in[0] */
	size_t			 body_end;	/* decoded so far (chunked) */
	enum httpc_err		 err;
	enum http_err		 http_err;	/* with HTTPC_E_PROTOCOL */
};

/* Starts reading a response (to a HEAD request if head_request). */
void	httpc_resp_init(struct httpc_resp *, int head_request,
	    size_t max_head);

/*
 * Reads the response at the front of in, eof set once the peer closed.
 * Interim 1xx heads (not 101) are consumed from in; a chunked body is
 * decoded in place (in->len shrinks to its end).  Returns 1 when the
 * response is complete (*body spans its body inside in, after the final
 * head of r->head_len bytes), 0 when more bytes are needed, -1 with
 * r->err (HTTPC_E_CLOSED: closed before the end, or before any byte;
 * HTTPC_E_PROTOCOL: malformed, r->http_err says how).
 */
int	httpc_resp_read(struct httpc_resp *r, struct buf *in, int eof,
	    struct span *body);

/* A short English description of r's failure. */
const char *httpc_resp_strerror(const struct httpc_resp *r);

/* --- targets ---------------------------------------------------------- */

struct httpc_target {
	struct sock_addr	 addr;
	char			*host;		/* Host header: the authority */
	char			*tls_name;	/* SNI / checked name; NULL: http */
	struct conn_tls_ctx	*tls;		/* NULL: http */
	int			 insecure;
};

/*
 * Sets t from a parsed URL: resolves the host (blocking: start-up only),
 * takes the authority as written for Host, and for https makes the TLS
 * context, verifying against ca (a PEM file or a directory of hashed
 * certificates; NULL: the system CAs) unless insecure.  0, or -1 with
 * *cause (t is then empty).  httpc_target_free() frees it.
 */
int	httpc_target_init(struct httpc_target *t, const struct url *u,
	    const char *ca, int insecure, char **cause);
/* The same, an https target's connections offering ALPN alpn
 * ("h2,http/1.1"; NULL: none; conn_tls_alpn tells what the server chose). */
int	httpc_target_init_alpn(struct httpc_target *t, const struct url *u,
	    const char *ca, int insecure, const char *alpn, char **cause);
void	httpc_target_free(struct httpc_target *t);

/*
 * A non-blocking TCP connect to addr (TCP_NODELAY, close-on-exec): a tcp
 * conn whose handshake finishes the connect and reports its error.  NULL
 * with errno when the socket or the connect fails at once.
 */
struct conn *httpc_tcp_connect(const struct sock_addr *addr);

/* --- connections ------------------------------------------------------ */

enum httpc_state {
	HTTPC_CLOSED,
	HTTPC_CONNECTING,	/* TCP connect in progress */
	HTTPC_HANDSHAKE,	/* TLS handshake in progress */
	HTTPC_OPEN,
};

struct httpc_conn {
	const struct httpc_target *t;
	struct conn		*conn;		/* NULL while closed */
	enum httpc_state	 state;
	const char		*req;		/* being written (caller's) */
	size_t			 req_len;
	size_t			 woff;		/* bytes of req written */
	struct buf		 in;		/* response bytes */
	int			 eof;		/* the peer closed */
	struct httpc_resp	 resp;
	char			 err[160];	/* why the last step failed */
};

/* Storage of the caller's; nothing allocated until used. */
void	httpc_conn_init(struct httpc_conn *, const struct httpc_target *);
/* Closes the connection and frees the buffer. */
void	httpc_conn_free(struct httpc_conn *);

/* Starts connecting (HTTPC_CONNECTING).  0, or -1 with errno (c->err). */
int	httpc_conn_open(struct httpc_conn *c);
/*
 * Uses conn, made elsewhere (the in-memory pair of tests, TLS over it), as
 * c's connection: c owns it now.  An established conn is HTTPC_OPEN, any
 * other is HTTPC_HANDSHAKE (its own handshake finishes it).
 */
void	httpc_conn_attach(struct httpc_conn *c, struct conn *conn);
/* Closes the connection (close_notify first on TLS, unless it failed)
 * and forgets the input; the request stays as it is. */
void	httpc_conn_close(struct httpc_conn *c);

/*
 * Advances the connect, then the TLS handshake of an https target.
 * Returns 1 when open, 0 when waiting (poll for httpc_conn_events), -1
 * when it failed: c->state says what failed (HTTPC_CONNECTING: the TCP
 * connect, HTTPC_HANDSHAKE: TLS, c->err says why); the caller closes.
 */
int	httpc_conn_handshake(struct httpc_conn *c);

/*
 * Sets the request to write (req[0..len), the caller's storage, kept
 * until written whole) and starts reading its response afresh (head: it
 * is a HEAD request).  Input already read is dropped.
 */
void	httpc_conn_send(struct httpc_conn *c, const char *req, size_t len,
	    int head);
/* Writes what it can of the request: 1 when all of it is written, 0
 * when the transport would block, -1 on failure (errno, c->err). */
int	httpc_conn_write(struct httpc_conn *c);
/*
 * One read (more while TLS holds decrypted bytes): 1 when bytes or the
 * end of the stream came (c->eof), 0 when nothing did, -1 on failure
 * (errno, c->err).
 */
int	httpc_conn_read(struct httpc_conn *c);
/* httpc_resp_read() on what has been read: 1, 0 or -1 as it returns. */
int	httpc_conn_response(struct httpc_conn *c, struct span *body);

/*
 * What to poll for (CONN_READ | CONN_WRITE): the handshake's needs, then
 * readability always (an idle connection's close is news) and
 * writability while request bytes are left, plus what TLS waits for.
 */
int	httpc_conn_events(const struct httpc_conn *c);
/* Given the events polled (CONN_READ | CONN_WRITE; errors and hang-ups
 * as CONN_READ), the steps worth trying now. */
int	httpc_conn_ready(const struct httpc_conn *c, int events);
/* The descriptor to poll, -1 while closed. */
int	httpc_conn_fd(const struct httpc_conn *c);

/*
 * Opens c and finishes the connect and the TLS handshake, blocking (poll)
 * until deadline (loop_clock_ns() time).  0 when open, or -1: c->state
 * says what failed (HTTPC_CLOSED or HTTPC_CONNECTING: the TCP connect,
 * HTTPC_HANDSHAKE: TLS) and c->err why ("timed out" past the deadline).
 * For start-up probes and one-shot requests.
 */
int	httpc_conn_open_wait(struct httpc_conn *c, uint64_t deadline);

/* --- one-shot requests ------------------------------------------------ */

struct httpc_request {
	const char	*method;
	const char	*target;	/* origin-form */
	const char	*headers;	/* extra "Name: value\r\n" lines, or NULL */
	const char	*body;		/* NULL: none (POST: an empty one) */
	size_t		 body_len;
	uint64_t	 timeout_ns;	/* the whole exchange; 0: 30 s */
	size_t		 max_head;	/* 0: HTTP_DEFAULT_MAX_HEAD */
	size_t		 max_reply;	/* 0: 256 MiB */
};

struct httpc_reply {
	int		 status;
	struct buf	 raw;		/* the bytes received (head + body) */
	struct span	 body;		/* decoded, inside raw */
	int		 tls_verify_failed; /* waiting will not help */
};

/*
 * Sends one request to t (Host from t, Content-Length for a body,
 * Connection: close), blocking until the reply is complete or the
 * deadline passes.  Returns 0 whatever the status (rp filled; free
 * rp->raw with buf_free), or -1 with *cause, which names t's Host value,
 * if no reply could be had (rp->raw freed).
 */
int	httpc_fetch(const struct httpc_target *t,
	    const struct httpc_request *req, struct httpc_reply *rp,
	    char **cause);

#endif
