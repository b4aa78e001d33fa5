/*
 * httpd-int.h -- the layouts httpd.c and its HTTP/2 glue (httpd-h2.c)
 * share, and the calls between them.  Not for roles: they use httpd.h.
 *
 * An HTTP/2 connection is an hconn whose h2 member holds the nghttp2
 * session; each of its streams is an hconn of its own (strm set, parent
 * the connection) that the role sees as a connection carrying one
 * request: it queues an HTTP/1.1-formatted reply there as it would on any
 * connection, and the glue turns that into HEADERS and DATA frames on the
 * stream.
 */
#ifndef DECOY_HTTPD_INT_H
#define DECOY_HTTPD_INT_H

#include <sys/queue.h>

#include <stdint.h>

#include "buf.h"
#include "http.h"
#include "httpd.h"
#include "loop.h"

/* Counters have one writer (the loop's thread) and are read by others:
 * relaxed atomic loads and stores, plain adds. */
#define STAT_ADD(x, n)	__atomic_store_n(&(x), __atomic_load_n(&(x), \
			    __ATOMIC_RELAXED) + (n), __ATOMIC_RELAXED)
#define STAT_INC(x)	STAT_ADD(x, 1)
#define STAT_GET(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)

struct httpd_h2;
struct httpd_h2_heads;
struct httpd_h2_mem;
struct httpd_h2_strm;

struct httpd_out {
	const char	*p;
	size_t		 len;
	char		*owned;		/* freed once written, or NULL */
};

struct hconn {
	TAILQ_ENTRY(hconn)	 entry;
	struct httpd		*h;
	struct loop_io		 io;
	int			 watched;	/* io is in the loop */
	struct loop_defer	 reap;
	struct conn		*xc;		/* the transport */
	char			 peer[64];
	void			*data;		/* the role's */

	struct buf		 in;
	size_t			 in_off;	/* start of the current request */

	/* Chunked body of the current request, decoded in place. */
	int			 ck_active;
	struct http_chunked	 ck;
	size_t			 ck_end;	/* end of decoded bytes in in */
	int			 sent_continue;

	struct httpd_out	*out;
	size_t			 nout;
	size_t			 outcap;
	size_t			 out_first;	/* first unwritten item */
	size_t			 out_bytes;	/* bytes still queued */
	const char		*stream;	/* hconn_stream's block */
	size_t			 stream_blen;
	uint64_t		 stream_left;	/* bytes of it to send */

	int			 waiting;	/* held: parse nothing */
	int			 pending;	/* held with a reply coming */
	int			 close_after;	/* close once it is all sent */
	int			 peer_eof;	/* the peer sent FIN */

	uint64_t		 deadline;	/* 0: none */
	int			 deadline_set;	/* by the role, in request */
	struct loop_timer	 dl_timer;	/* fires at or before it */
	uint64_t		 body_ns;	/* the head of the request whose
						   body is arriving came then;
						   0: none */
	int			 in_head;	/* a request has started */
	int			 closing;	/* close once output is flushed */
	int			 lingering;	/* write side shut, draining input */
	int			 throttled;	/* held back by the output budget */
	int			 processing;	/* in hconn_process() */
	int			 reset;		/* close with a reset */
	int			 dead;

	/* HTTP/2: the session of a connection that speaks it, or the
	 * stream state of a stream (then parent is its connection). */
	int			 h1_seen;	/* an HTTP/1.1 request came */
	struct httpd_h2		*h2;
	struct httpd_h2_strm	*strm;
	struct hconn		*parent;
	uint32_t		 rst_code;	/* hconn_h2_reset's code */
	int			 rst_set;
};
TAILQ_HEAD(hconn_list, hconn);

struct httpd_listener {
	struct httpd		*h;
	struct loop_io		 io;
	struct loop_timer	 pause;		/* accept(2) failing: resume */
};

struct httpd {
	struct loop		*loop;
	struct httpd_config	 cfg;
	struct httpd_role	 role;
	void			*arg;
	struct httpd_listener	**listeners;
	size_t			 nlisteners;
	struct hconn_list	 conns;
	size_t			 nconns;
	int			 draining;
	struct http_msg		 msg;		/* scratch for the parser */
	struct httpd_stats	 st;
	/* Freed HTTP/2 streams kept for the next ones (httpd-h2.c). */
	struct hconn_list	 h2_pool;
	size_t			 h2_npool;
	/* Reply heads already turned into HTTP/2 fields, and the blocks
	 * nghttp2 freed, kept for the next ones (httpd-h2.c). */
	struct httpd_h2_heads	*h2_heads;
	struct httpd_h2_mem		*h2_mem;
};


/* --- httpd.c, for the glue --------------------------------------------- */

/* Arms the deadline timer (see httpd.c). */
void	httpd_arm(struct hconn *);
void	httpd_reap_cb(struct loop_defer *);
void	httpd_deadline_cb(struct loop_timer *);

/* --- httpd-h2.c ------------------------------------------------------- */

/*
 * What the first bytes of a cleartext connection are: 1 the HTTP/2
 * connection preface, 0 something else (HTTP/1.1), -1 a prefix of the
 * preface (wait for more).
 */
int	httpd_h2_sniff(const char *p, size_t len);
/* Starts HTTP/2 on c (prior knowledge, or ALPN "h2"): the session, our
 * SETTINGS.  0, or -1 (c is closed). */
int	httpd_h2_start(struct hconn *c);
/* 1 if m asks for an upgrade to h2c (RFC 7540 3.2) that can be honoured
 * (one HTTP2-Settings that decodes). */
int	httpd_h2_is_upgrade(const struct http_msg *m);
/* Honours the upgrade: 101, the session, m answered on stream 1; the
 * bytes after end in c->in are the client's preface and frames. */
void	httpd_h2_upgrade(struct hconn *c, const struct http_msg *m,
	    const char *body, size_t body_len, size_t end);
/* Feeds c's input to the session (consumes it all). */
void	httpd_h2_recv(struct hconn *c);
/* Moves the frames the session has to send into c's output, up to the
 * output bound. */
void	httpd_h2_pump(struct hconn *c);
/* What the session waits for (CONN_READ | CONN_WRITE); 0 when it is over
 * (GOAWAY both ways, or a fatal error) and c may close. */
int	httpd_h2_wants(struct hconn *c);
/* Open streams. */
size_t	httpd_h2_nstreams(const struct hconn *c);
/* Graceful end: GOAWAY, the open streams finish. */
void	httpd_h2_drain(struct hconn *c);
/* The connection closes: its streams are closed (no frames). */
void	httpd_h2_close(struct hconn *c);
/* The connection is freed: the session goes. */
void	httpd_h2_free(struct hconn *c);

/* A stream: the role queued output (or asked to close): frames. */
void	httpd_h2_stream_flush(struct hconn *s);
/* A stream closes now, with RST_STREAM code (reset), or CANCEL. */
void	httpd_h2_stream_close(struct hconn *s);
/* A stream's deadline passed. */
void	httpd_h2_stream_deadline(struct hconn *s);
/* A stream is freed (after the role's freed callback): s goes back to
 * the pool, or is freed with all it holds. */
void	httpd_h2_stream_free(struct hconn *s);
/* Frees the pool of h and its cache of reply heads. */
void	httpd_h2_pool_free(struct httpd *h);

#endif
