/*
 * httpc-h2.h -- the HTTP/2 client of the httpc module: many requests in
 * flight as streams of one connection, over the transport layer (conn.h).
 *
 * libnghttp2 does the framing, HPACK, stream states and flow control; this
 * is the glue: a client session over an established struct conn (tcp, TLS
 * that chose "h2" by ALPN, or the in-memory pair of tests), requests given
 * as pseudo-headers, headers and a body (or as the bytes of an HTTP/1.1
 * request, translated), and per stream the response: status, headers,
 * body, trailers, or the error that ended the stream (the peer's
 * RST_STREAM, a GOAWAY that refused it, the connection's end) with the h2
 * error code.
 *
 * The role owns the event loop, as with httpc_conn: it polls
 * httpc_h2_fd() for httpc_h2_events() and calls httpc_h2_io() with what
 * came; nothing here blocks.  Finished streams are not called back: after
 * httpc_h2_io() the role takes them with httpc_h2_done() (so it may submit
 * more streams, or close the session, with no libnghttp2 frame below it).
 *
 * Memory: the session owns its conn (httpc_h2_free closes it), copies
 * the request headers and body on submit, and owns each response until
 * the next httpc_h2_done() or httpc_h2_free().  One thread at a time.
 */
#ifndef DECOY_HTTPC_H2_H
#define DECOY_HTTPC_H2_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conn.h"
#include "http.h"

/* How a stream ended. */
enum httpc_h2_err {
	HTTPC_H2_E_NONE,	/* a complete response */
	HTTPC_H2_E_RESET,	/* the peer reset the stream (code) */
	HTTPC_H2_E_GOAWAY,	/* refused by the peer's GOAWAY (its code) */
	HTTPC_H2_E_CLOSED,	/* the connection ended first */
	HTTPC_H2_E_PROTOCOL,	/* a malformed answer, or a session error */
	HTTPC_H2_E_TOO_LARGE,	/* the body passed max_body (we reset it) */
	HTTPC_H2_E_NOT_SENT,	/* libnghttp2 could not send the request */
};

struct httpc_h2_config {
	size_t		 max_body;	/* per response; 0: 256 MiB */
	uint32_t	 window;	/* stream receive window; 0: 16 MiB */
};

/* A request.  Header names may be in any case (sent lower-cased); Host
 * and the hop-by-hop headers (Connection, Keep-Alive, Proxy-Connection,
 * Transfer-Encoding, Upgrade, TE but "trailers") are not sent. */
struct httpc_h2_req {
	struct span			 method;
	struct span			 scheme;	/* "http", "https" */
	struct span			 authority;
	struct span			 path;		/* origin-form */
	const struct http_header	*headers;
	size_t				 nheaders;
	struct span			 body;		/* may be empty */
};

/* A finished stream.  Spans point into the session's storage, valid
 * until the next httpc_h2_done() or httpc_h2_free(). */
struct httpc_h2_resp {
	void				*arg;		/* given on submit */
	int32_t				 stream_id;
	enum httpc_h2_err		 err;
	uint32_t			 code;		/* h2 error code */
	int				 status;	/* 0 if none came */
	const struct http_header	*headers;	/* no pseudo-headers */
	size_t				 nheaders;
	const struct http_header	*trailers;
	size_t				 ntrailers;
	struct span			 body;
};

struct httpc_h2;

/*
 * A client session over conn (established; the session owns it now, also
 * on failure): the connection preface and our SETTINGS are queued (sent
 * by httpc_h2_io).  NULL with *cause.
 */
struct httpc_h2	*httpc_h2_create(struct conn *conn,
		    const struct httpc_h2_config *cfg, char **cause);
/*
 * The Upgrade: h2c dance (RFC 7540 3.2; dropped by RFC 9113, still spoken
 * by h2o and curl), over a cleartext conn:
 * httpc_h2_upgrade_request() appends to out the HTTP/1.1 request
 * raw[0..len) (a complete head, then its body) with its Connection lines
 * replaced by "Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c" and
 * the HTTP2-Settings of cfg (base64url); 0, or -1 when raw has no
 * complete head.  The role writes it and reads the answer's head: a 101
 * goes on with httpc_h2_create_upgraded(), whose stream 1 is that
 * request (arg, head: a HEAD request) and rest[0..restlen) the bytes
 * after the 101 head; any other answer is HTTP/1.1's, the upgrade
 * declined.  NULL with *cause.
 */
int		 httpc_h2_upgrade_request(const struct httpc_h2_config *cfg,
		    const char *raw, size_t len, struct buf *out);
struct httpc_h2	*httpc_h2_create_upgraded(struct conn *conn,
		    const struct httpc_h2_config *cfg, int head, void *arg,
		    const char *rest, size_t restlen, char **cause);
/* Closes the conn (conn_close) and frees everything: streams still in
 * flight are dropped without a response.  NULL is fine. */
void		 httpc_h2_free(struct httpc_h2 *);

/*
 * Queues req as a new stream (headers and body copied) carrying arg back
 * in its response.  Returns the stream id (> 0), or -1 when the session
 * takes no new stream (ended, GOAWAY received, ids exhausted, a request
 * nghttp2 refuses) with httpc_h2_error() saying why.  The frames go out
 * on the next httpc_h2_io(); past the peer's SETTINGS_MAX_CONCURRENT_STREAMS
 * streams wait in libnghttp2 until a stream closes.
 */
int32_t		 httpc_h2_submit(struct httpc_h2 *, const struct httpc_h2_req *,
		    void *arg);
/* Resets a stream of ours (RST_STREAM CANCEL): it will not be reported
 * by httpc_h2_done().  0, or -1 if it is not in flight. */
int		 httpc_h2_cancel(struct httpc_h2 *, int32_t stream_id);

/*
 * Does the I/O that `ops` allows (CONN_READ | CONN_WRITE, from
 * httpc_h2_ready()): reads and processes what came, then writes what is
 * queued, until the transport would block.  Returns 0 while the session
 * goes on, -1 once it is over (the peer closed, a transport failure, a
 * connection error, or a GOAWAY with nothing left in flight): then every
 * stream not finished is finished with HTTPC_H2_E_CLOSED (or GOAWAY /
 * PROTOCOL), and httpc_h2_error() says why.  Either way, take the
 * finished streams with httpc_h2_done() next.
 */
int		 httpc_h2_io(struct httpc_h2 *, int ops);
/*
 * The next finished stream into *r (the previous one's storage is
 * freed): 1, or 0 when there is none left.
 */
int		 httpc_h2_done(struct httpc_h2 *, struct httpc_h2_resp *r);

/* What to poll for (CONN_READ | CONN_WRITE); 0 once the session is over. */
int		 httpc_h2_events(const struct httpc_h2 *);
/* The operations worth trying given the polled events (conn_ready). */
int		 httpc_h2_ready(const struct httpc_h2 *, int events);
int		 httpc_h2_fd(const struct httpc_h2 *);
/* 1 while the session takes new streams (not over, no GOAWAY). */
int		 httpc_h2_is_open(const struct httpc_h2 *);
/* Streams submitted and not yet finished. */
size_t		 httpc_h2_inflight(const struct httpc_h2 *);
/* Why the session ended or refused ("" if it did neither). */
const char	*httpc_h2_error(const struct httpc_h2 *);

/*
 * Translates the HTTP/1.1 request at raw[0..len) (a head and a
 * Content-Length body, as the generator and the fuzzer build them) into
 * *req, whose spans point into raw and m (the caller's storage); the
 * authority is the Host header's value, else `authority`.  0, or -1 with
 * *why (static text) when the bytes are not a request h2 can carry (not
 * parsed by http.h's strict parser, a chunked or short body, an absolute
 * or asterisk form target).
 */
int		 httpc_h2_req_from_http1(struct httpc_h2_req *req,
		    struct http_msg *m, const char *raw, size_t len,
		    const char *scheme, const char *authority,
		    const char **why);

/* 1 if name (any case) is a header h2 does not carry (Host, hop-by-hop). */
int		 httpc_h2_header_is_hop(struct span name);

/*
 * 1 if the stream ended with the server saying it did not process the
 * request (RFC 9113 8.7: RST_STREAM REFUSED_STREAM, or an id past a
 * GOAWAY's last stream id), so it may be sent again; else 0.
 */
int		 httpc_h2_resp_unprocessed(const struct httpc_h2_resp *);

/* "NO_ERROR", "PROTOCOL_ERROR", ... for an h2 error code. */
const char	*httpc_h2_code_name(uint32_t code);
/* "reset by the peer", "refused by GOAWAY", ... */
const char	*httpc_h2_strerror(enum httpc_h2_err);

#endif
