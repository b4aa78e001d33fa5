/*
 * record-h2.h -- HTTP/2 for the recorder: one client connection that
 * spoke h2 relayed stream by stream to one upstream h2 connection, each
 * stream recorded as one transaction.
 *
 * Two libnghttp2 sessions in memory mode, a server session facing the
 * client and a client session facing the upstream; this module moves
 * bytes, never touches a socket: the recorder (record.c) hands it what
 * each side sent (record_h2_client_in / record_h2_upstream_in) and takes
 * what each side must get (record_h2_client_out / record_h2_upstream_out),
 * so the recorder's I/O, TLS, timers and backpressure stay its own.
 *
 * A stream's request goes upstream as soon as its HEADERS came, and DATA
 * moves as it arrives, both ways at once (a bidirectional gRPC call
 * works: the server's first message may come before the client's last).
 * Flow control ties the two sides: the windows are not reopened on
 * receipt but when the bytes have been handed to the other session
 * (nghttp2_session_consume), so what a stream buffers is bounded by the
 * window we advertise.  Trailers cross both ways.
 *
 * When the upstream's response ended (or a side reset the stream, or a
 * connection was lost) the stream's transaction is handed to the txn
 * callback once, before the frame that ends the stream for the client is
 * produced: the recorder writes it and holds the client's output until the
 * snapshot has it.
 *
 * Memory: bounded per stream by the receive windows (record_h2_config);
 * the session owns everything it holds; one thread.
 */
#ifndef DECOY_RECORD_H2_H
#define DECOY_RECORD_H2_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"
#include "snap.h"

/* What a finished stream hands over.  t holds req.method (":method"),
 * req.target (":path"), req.host (":authority"), the headers (lowercase,
 * no pseudo-headers), trailers, bodies up to max_body, res.status (0 and
 * has_res 0 when no response came); all allocated, owned by the session:
 * the callback may replace pointers in t (redaction) as long as t stays
 * freeable by snap_txn_free. */
struct record_h2_txn {
	struct snap_txn	 t;
	size_t		 req_len, res_len;	/* whole body sizes */
	uint64_t	 start_ns, ttfb_ns;	/* loop_clock_ns(); ttfb 0 */
	const char	*error;			/* NULL: complete */
};

typedef void	(*record_h2_txn_cb)(void *arg, struct record_h2_txn *);

struct record_h2_config {
	size_t		 max_body;	/* recorded per body; more is counted */
	const char	*scheme;	/* upstream ":scheme": "http", "https" */
	const char	*authority;	/* upstream ":authority"; NULL: the
					 * client's (both copied) */
	uint32_t	 window;	/* per stream, each way; 0: 256 KiB */
	int		 probe;		/* the upstream may not speak h2:
					 * requests wait for its first
					 * bytes (record_h2_is_probing) */
	int		 h1;		/* it speaks HTTP/1.1 only (as
					 * record_h2_upstream_h1) */
	record_h2_txn_cb txn;
	void		*arg;
};

struct record_h2;

/* A relay whose client side has sent nothing yet (the preface comes
 * with record_h2_client_in); our SETTINGS are queued both ways.  NULL
 * with *cause if libnghttp2 fails. */
struct record_h2	*record_h2_create(const struct record_h2_config *,
			    char **cause);
/* Frees everything; streams not handed over yet are dropped unrecorded
 * (record_h2_lost first to record them).  NULL is fine. */
void		 record_h2_free(struct record_h2 *);

/*
 * Hands the session bytes a side sent.  0, or -1 once that side broke
 * the protocol (a GOAWAY for it is queued; every stream in flight has
 * been handed over as failed) or the session has ended.
 */
int		 record_h2_client_in(struct record_h2 *, const char *, size_t);
int		 record_h2_upstream_in(struct record_h2 *, const char *,
		    size_t);
/* Appends frames due to a side to out while out->len < max.  0, or -1
 * when the session has nothing more for that side, ever. */
int		 record_h2_client_out(struct record_h2 *, struct buf *out,
		    size_t max);
int		 record_h2_upstream_out(struct record_h2 *, struct buf *out,
		    size_t max);
/*
 * A side is gone (upstream = 1: the upstream connection failed or closed;
 * 0: the client's).  Every stream in flight is handed over with error
 * why; the client is told with a GOAWAY when it is the upstream that
 * went.
 */
void		 record_h2_lost(struct record_h2 *, int upstream,
		    const char *why);
/*
 * Upgrade: h2c: m (a request without a body, read as HTTP/1.1; the
 * caller has queued the 101) becomes the client's stream 1, settings the
 * decoded HTTP2-Settings; its fields go upstream as for any stream but
 * the HTTP/1.1 connection headers (Host becomes :authority).  0, or -1
 * when libnghttp2 refuses the upgrade.
 */
int		 record_h2_upgrade(struct record_h2 *, const char *settings,
		    size_t len, const struct http_msg *m);
/* Streams in flight (opened, not handed over). */
size_t		 record_h2_streams(const struct record_h2 *);
/* 1 while the client session may still go on (not ended, no GOAWAY
 * either way). */
int		 record_h2_is_open(const struct record_h2 *);

/*
 * An upstream that may speak only HTTP/1.1 (cfg.probe): while
 * record_h2_is_probing, our preface and SETTINGS go to it but no request;
 * its first bytes decide: h2 (record_h2_upstream_in: the requests go), or
 * an HTTP/1.1 answer, which the caller sees and then calls
 * record_h2_upstream_h1 (the connection is dropped and a new one made:
 * nothing was processed).
 *
 * Then (or with cfg.h1) each stream is one HTTP/1.1 exchange, in the
 * order the streams came, one at a time on the upstream connection
 * (keep-alive): the pseudo-headers become the request line and Host, the
 * body goes as is with a content-length the client gave, else chunked
 * (the request's trailers in its trailer section; dropped, logged and
 * counted, with a content-length), TE: trailers passed on; the answer
 * (its head, body and chunked trailers) goes to the client as h2.  The
 * caller reconnects when record_h2_h1_done (the upstream closes after an
 * answer, or an exchange failed) and streams wait
 * (record_h2_h1_waiting), telling record_h2_h1_conn; the upstream's EOF
 * is record_h2_upstream_eof (ending a response read until the close).
 */
int		 record_h2_is_probing(const struct record_h2 *);
void		 record_h2_upstream_h1(struct record_h2 *);
int		 record_h2_is_h1(const struct record_h2 *);
void		 record_h2_h1_conn(struct record_h2 *);
void		 record_h2_upstream_eof(struct record_h2 *);
int		 record_h2_h1_done(const struct record_h2 *);
int		 record_h2_h1_waiting(const struct record_h2 *);
/* 1 while the answer in progress holds a stream window the client has
 * not taken: the caller leaves the upstream's bytes unread meanwhile
 * (an HTTP/1.1 upstream has no window of its own). */
int		 record_h2_upstream_full(const struct record_h2 *);

/* 1 if p[0..n) is the start of the client connection preface (all of it
 * once n >= 24). */
int		 record_h2_is_preface(const char *p, size_t n);

#endif
