/*
 * httpd.h -- the HTTP/1.1 server side shared by the responder and the
 * admin API: accepting (with a pause when accept(2) runs out of
 * descriptors), reading through a transport (conn.h: tcp, tls or, in
 * tests, mem), framing requests with the strict parser (bodies by
 * Content-Length or chunked, decoded in place; 100-continue; head, body,
 * idle and linger deadlines with a minimum body rate), rejects, pipelined
 * requests answered in order, an output queue of iovecs flushed with one
 * writev, an output bound per connection and an optional budget for all
 * of them, and the lingering close after an error.
 *
 * A role (the responder, the admin API) gives callbacks: it is handed
 * each complete request and queues its reply (httpd_queue*), or holds the
 * connection (nothing more is parsed, so replies stay in order) and
 * releases it when the reply is ready.  One struct httpd per event loop
 * (a responder worker, the admin thread); nothing is shared between
 * threads except the counters, which httpd_stats reads with relaxed
 * atomic loads.
 *
 * HTTP/2 (cfg.h2, httpd-h2.c over libnghttp2): a connection that opens
 * with the preface, asks for "Upgrade: h2c" or chose "h2" by ALPN speaks
 * HTTP/2, and each of its streams is handed to the role as an hconn of
 * its own carrying one request (pseudo-headers mapped: :method, :path as
 * the target, :authority as Host; trailers in m->trailers; "expect:
 * 100-continue" answered with a 100 HEADERS frame).  The role queues an HTTP/1.1-formatted
 * reply on it as on any connection; the glue sends it as HEADERS and DATA
 * (hop-by-hop headers dropped).  On a stream, holding delays only that
 * stream, hconn_close_after ends the stream, hconn_abort resets it
 * (RST_STREAM INTERNAL_ERROR; hconn_close: CANCEL), and a reply closed
 * before its Content-Length is complete is a reset.
 */
#ifndef DECOY_HTTPD_H
#define DECOY_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct buf;
struct conn;
struct conn_tls_ctx;
struct hconn;
struct httpd;
struct loop;

struct httpd_config {
	size_t		 max_head;	/* request head, bytes */
	uint64_t	 max_body;	/* request body, bytes */
	uint64_t	 header_timeout_ns;
	uint64_t	 idle_timeout_ns;
	/* A body must arrive within body_timeout_ns of its head plus one
	 * second per body_min_rate bytes (0: no rate); body_timeout_ns 0:
	 * no bound for the whole body, header_timeout_ns between reads. */
	uint64_t	 body_timeout_ns;
	uint64_t	 body_min_rate;
	uint64_t	 linger_ns;	/* lingering close */
	size_t		 read_chunk;	/* bytes read at a time */
	/* Unsent output bytes above which a connection is neither read
	 * nor parsed; with a budget, out_low is what a connection may hold
	 * while all of them are over it. */
	uint64_t	 out_high;
	uint64_t	 out_low;
	/* At most max_conns connections (0: no bound): beyond, the oldest
	 * idle one is closed, else the new one is refused. */
	size_t		 max_conns;
	/* Reject texts for bodies over max_body: by Content-Length and
	 * chunked (NULL: "body too large", "chunked body too large"). */
	const char	*too_large;
	const char	*too_large_chunked;
	/* Prefix of the log lines ("admin: "), NULL: none. */
	const char	*log_prefix;
	struct conn_tls_ctx *tls;	/* NULL: plain HTTP */
	/* 1: HTTP/2 by prior knowledge, Upgrade: h2c, and ALPN "h2" when
	 * the TLS context offers it. */
	int		 h2;
};

/* The role.  request and reject are required, the rest optional. */
struct httpd_role {
	/*
	 * A complete request (body decoded, body_len bytes, in the
	 * connection's input until the next request is parsed), complete
	 * at ready_ns (loop time).  The role queues the reply, or holds
	 * the connection and queues it later.
	 */
	void	(*request)(struct hconn *, const struct http_msg *,
		    const char *body, size_t body_len, uint64_t ready_ns);
	/* A request that cannot be read (status 400, 408, 413, 431, 501):
	 * the role logs and queues the error reply; the connection closes
	 * once it is written.  off: the byte where the problem was. */
	void	(*reject)(struct hconn *, int status, const char *why,
		    size_t off);
	/* A connection was accepted (its peer and transport are set):
	 * 0, or -1 to close it at once. */
	int	(*accepted)(struct hconn *);
	/* The connection is being freed: the role drops its data. */
	void	(*freed)(struct hconn *);
	/* Everything queued was written. */
	void	(*drained)(struct hconn *);
	/* 1 when the output of all connections (of every httpd the role
	 * runs) is over its budget. */
	int	(*over_budget)(void *arg);
	/* accept(2) failed with err; the listener pauses for a while.  The
	 * role logs (rate-limited: it may run several httpds). */
	void	(*accept_failed)(struct httpd *, int err, uint64_t pause_ns);
};

/* Counters (relaxed atomics: any thread may read them). */
struct httpd_stats {
	uint64_t	 connections, open;	/* accepted, open now */
	uint64_t	 accept_errors;
	uint64_t	 head_timeouts, body_timeouts;
	uint64_t	 tls_failed;	/* failed handshakes */
	uint64_t	 throttled;	/* connections held by the budget */
	uint64_t	 out_mem;	/* unsent output held, bytes */
};

/* A server on loop; cfg and role are copied, arg is the role's. */
struct httpd	*httpd_create(struct loop *, const struct httpd_config *,
		    const struct httpd_role *, void *arg);
/* Closes every connection and listener and frees h (run the loop's
 * deferred work first if it still runs: loop_run_deferred). */
void		 httpd_free(struct httpd *);
void		*httpd_arg(const struct httpd *);
/* Accepts on fd (a non-blocking listening socket, which h now owns). */
int		 httpd_listen(struct httpd *, int fd);
/* Stops accepting: the listeners are closed. */
void		 httpd_unlisten(struct httpd *);
/*
 * Draining: idle connections are closed, busy ones close after their
 * reply; returns how many are left.  When the last one closes, the loop
 * is stopped (loop_stop).
 */
size_t		 httpd_drain(struct httpd *);
void		 httpd_stats(const struct httpd *, struct httpd_stats *);
uint64_t	 httpd_out_mem(const struct httpd *);
/* The connections, oldest first: httpd_first, then hconn_next until
 * NULL (closing one while walking is fine once its next is read). */
struct hconn	*httpd_first(const struct httpd *);
struct hconn	*hconn_next(const struct hconn *);
/* Serves xc (which h now owns; with cfg.tls, wrapped in TLS here) as an
 * accepted connection from peer (a name for the log).  NULL if refused
 * (max_conns, the role, TLS set-up). */
struct hconn	*httpd_adopt(struct httpd *, struct conn *xc,
		    const char *peer);

/* --- one connection ------------------------------------------------- */

struct httpd	*hconn_httpd(const struct hconn *);
void		*hconn_data(const struct hconn *);
void		 hconn_set_data(struct hconn *, void *);
const char	*hconn_peer(const struct hconn *);
/* The descriptor of the transport (-1 over mem). */
int		 hconn_fd(const struct hconn *);
/* 1 once the connection is closed (the role's pointers stay valid until
 * the end of the loop's round). */
int		 hconn_is_dead(const struct hconn *);
/* 1 if output is queued and not yet written. */
int		 hconn_has_output(const struct hconn *);
/* 1 if the peer has finished sending (FIN or close_notify). */
int		 hconn_peer_eof(const struct hconn *);
/* 1 if c is an HTTP/2 stream (or connection). */
int		 hconn_is_h2(const struct hconn *);
/* An HTTP/2 stream: resets it with RST_STREAM code (RFC 9113 7); an
 * HTTP/1.1 connection: hconn_abort. */
void		 hconn_h2_reset(struct hconn *, uint32_t code);
/* An HTTP/2 stream: GOAWAY with code for its connection (last stream:
 * this one), which closes once the frame is out; this stream is reset
 * with the same code.  HTTP/1.1: hconn_abort. */
void		 hconn_h2_goaway(struct hconn *, uint32_t code);
/* An HTTP/2 stream: its reply's DATA stops once the peer's window is
 * used up, and the connection's receive window is never reopened (no
 * WINDOW_UPDATE is sent).  HTTP/1.1: nothing (0 returned), else 1. */
int		 hconn_h2_stall(struct hconn *);
/* A request asking for "Upgrade: h2c" with one HTTP2-Settings header:
 * its decoded SETTINGS payload appended to settings, 0; else -1.  (For
 * the recorder, which relays h2c upgrades on its own.) */
int		 httpd_h2_upgrade_settings(const struct http_msg *,
		    struct buf *settings);
/* An HTTP/2 stream: its connection's SETTINGS frame is withheld if it was
 * not sent yet (and then every frame: the peer waits for the server's
 * preface), else the ACK of the peer's next SETTINGS is.  HTTP/1.1:
 * nothing. */
void		 hconn_h2_settings_timeout(struct hconn *);

/* Queues len bytes at p (which must stay valid until written), freeing
 * owned (may be NULL) once they are; zero bytes just free owned. */
void		 hconn_queue(struct hconn *, const char *p, size_t len,
		    char *owned);
/* Queues b's bytes, taking its storage (b is left empty). */
void		 hconn_queue_buf(struct hconn *, struct buf *b);
/* Queues total bytes of block (blen bytes, static) repeated, a few
 * blocks at a time as the output drains (oversize bodies). */
void		 hconn_stream(struct hconn *, const char *block, size_t blen,
		    uint64_t total);
/* Writes what can be written now (and, once all is written, answers
 * the pipelined requests already read). */
void		 hconn_flush(struct hconn *);

/*
 * Holds the connection: no further request is parsed until
 * hconn_release.  pending says a reply is on its way (a peer that
 * finishes sending meanwhile still gets it, then the connection
 * closes); without, the hold is a hang: the peer leaving closes it.
 */
void		 hconn_hold(struct hconn *, int pending);
/* Ends the hold (a close asked for meanwhile now applies); the caller
 * queues the reply, then calls hconn_step. */
void		 hconn_release(struct hconn *);
/* Goes on after a hold or a timer: parses the requests that wait (unless
 * held) and writes what can be written. */
void		 hconn_step(struct hconn *);
/* Closes once the queued output is written (and no reply is pending). */
void		 hconn_close_after(struct hconn *);
/* Closes now, with a reset (no close_notify, RST). */
void		 hconn_abort(struct hconn *);
/* Closes now. */
void		 hconn_close(struct hconn *);
/* Sets the connection's deadline (loop time, ns; 0: none), after which
 * it is closed.  From the request callback it replaces the idle
 * deadline the request would get. */
void		 hconn_set_deadline(struct hconn *, uint64_t when_ns);

/*
 * For connections without a descriptor (tests over the mem transport):
 * hconn_io reports what is ready (CONN_READ | CONN_WRITE) as the loop
 * would, hconn_events tells what the connection waits for.
 */
void		 hconn_io(struct hconn *, int ready);
int		 hconn_events(const struct hconn *);

/* The status a parse error answers with: 431, 501 or 400. */
int		 httpd_error_status(enum http_err);

#endif
