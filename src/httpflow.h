/*
 * httpflow.h -- HTTP/1.1 over the reassembled byte streams of one TCP flow
 * (tcpflow.h): both directions parsed incrementally with decoy's own
 * parser (http.h; chunked bodies decoded), requests paired with responses
 * first in, first out (pipelining included).
 *
 * The caller feeds each direction's in-order bytes with their arrival
 * time and reports gaps and ends of stream; the flow calls back when a
 * request is complete (request) and when a transaction is over (done):
 * answered, or ended without an answer (the flow closed, a gap).  A gap
 * desynchronises HTTP on the flow: every transaction still open is handed
 * to done with gap set and the rest of the flow is not parsed (counted,
 * never silently lost).  A flow whose first bytes do not parse as HTTP is
 * not HTTP: it is ignored from then on (httpflow_is_dead).
 */
#ifndef DECOY_HTTPFLOW_H
#define DECOY_HTTPFLOW_H

#include <stddef.h>
#include <stdint.h>

#include "snap.h"

struct httpflow_txn {
	struct snap_txn		 t;	/* req filled at request(), res and
					   timing at done() */
	uint64_t		 req_ns;	/* first byte of the request */
	uint64_t		 res_ns;	/* first byte of the response, 0 */
	uint64_t		 end_ns;	/* last byte of the response, 0 */
	int			 complete;	/* the response is complete */
	int			 gap;		/* bytes are missing */
	int			 head_req;	/* a HEAD request */
	void			*user;		/* the caller's */
	struct httpflow_txn	*next;
};

struct httpflow_stats {
	uint64_t	requests;	/* complete requests */
	uint64_t	responses;	/* complete responses */
	uint64_t	unanswered;	/* requests that got no response */
	uint64_t	gap_txns;	/* transactions ended by a gap */
	uint64_t	parse_errors;	/* flows given up on a parse error */
	uint64_t	orphan_responses;	/* response bytes, no request */
};

struct httpflow;

struct httpflow_ops {
	/* A request is complete (head and body); it is the newest txn. */
	void	(*request)(struct httpflow *, struct httpflow_txn *, void *);
	/* A transaction is over; the callee owns tx (httpflow_txn_free). */
	void	(*done)(struct httpflow *, struct httpflow_txn *, void *);
};

/* max_head: largest head (0: 16 KiB); max_body: largest body kept (0: 64
 * MiB); a larger message gives the flow up (counted as a parse error). */
struct httpflow	*httpflow_create(const struct httpflow_ops *, void *arg,
		    struct httpflow_stats *stats, size_t max_head,
		    size_t max_body);
/* Ends every open transaction (done, without a response) and frees. */
void		 httpflow_free(struct httpflow *);
/* In-order bytes of direction dir (TCPFLOW_C2S or TCPFLOW_S2C). */
void		 httpflow_data(struct httpflow *, int dir, const unsigned char *,
		    size_t, uint64_t now_ns);
void		 httpflow_gap(struct httpflow *, int dir);
void		 httpflow_eof(struct httpflow *, int dir, uint64_t now_ns);
/* The oldest transaction whose response is not complete, or NULL. */
/*
 * tcpflow callbacks (struct tcpflow_ops data, gap and eof) that feed a
 * flow's in-order bytes, gaps and ends to its httpflow, for roles whose
 * per-flow state (the tcpflow's user pointer) starts with its struct
 * httpflow *; a NULL user pointer is a flow the role ignores.
 */
struct tcpflow;
void		 httpflow_tcp_data(struct tcpflow *, int dir,
		    const unsigned char *, size_t, uint64_t now_ns, void *arg);
void		 httpflow_tcp_gap(struct tcpflow *, int dir, uint64_t nbytes,
		    void *arg);
void		 httpflow_tcp_eof(struct tcpflow *, int dir, uint64_t now_ns,
		    void *arg);

struct httpflow_txn *httpflow_front(const struct httpflow *);
int		 httpflow_is_dead(const struct httpflow *);
/* 1 while a response head is being or has been parsed for the front
 * transaction (the response has started). */
int		 httpflow_response_started(const struct httpflow *);
void		 httpflow_txn_free(struct httpflow_txn *);
/*
 * The trailer lines a chunked decoder kept (http_chunked.trailers, raw
 * emptied) as fields: *h allocated (names as sent, values trimmed; at
 * most HTTP_MAX_HEADERS), or NULL and *n 0 when there were none.
 */
struct buf;
void		 httpflow_trailers(struct buf *raw, struct snap_header **h,
		    size_t *n);

#endif
