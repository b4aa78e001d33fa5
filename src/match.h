/*
 * match.h -- the responder's index of recorded transactions
 * (docs/design.md section 4, Responder; docs/responder.md).
 *
 * A request's signature is built from its method, host, path, normalised
 * query (parameters sorted, order of equal keys kept) and a digest of its
 * body (JSON bodies with insignificant whitespace removed).  Headers are not
 * part of it.  Several recorded transactions with one signature form a
 * group answered in recorded order, cycling; the cursor is atomic, so
 * worker threads can share one read-only index.
 *
 * Redacted bodies: a recorded request body holding `decoy record --redact`
 * placeholders ("REDACTED-" and 8 hex digits) also matches a request
 * whose body differs only where the placeholders are (a placeholder that
 * is a whole JSON string stands for any JSON scalar, one inside text for
 * any run of bytes), when no exact match exists.  Placeholders are all
 * alike (their digits do not count), so recorded requests that differ
 * only in redacted values form one group and cycle, like typed values.
 *
 * Transforms (match_index_set_transforms(), decoy-transforms(5)): a
 * value of the transforms file with dir out, a request location and the
 * action any (shift, fresh and resign count as any on this side) makes
 * matching typed at that location.  At a path segment, a query
 * parameter, a JSON body member or a form field, a value that
 * shape_classify() finds of the entry's kind (a kind "none" entry: any
 * value) is replaced by a token of that kind in the normalised request
 * the signature is computed from, at add time and at lookup time alike:
 * a recorded timestamp matches any timestamp, a UUID any UUID, a JWT any
 * well-formed JWT, and a value of another kind stays as it is, so it does
 * not match.  For the endpoints the transforms cover, the normalised
 * signature is THE signature: recorded requests that differ only in
 * their volatile values form one group, answered in recorded order and
 * cycling, and a live request equal to one of them byte for byte gets no
 * priority over the others.  Header and cookie locations are not part of
 * the signature, so typed entries there change nothing.
 *
 * The action key (generalisation) takes the location out of the
 * signature (any value, absent excepted).  The group is split by the
 * recorded values at the key locations: a live value equal to a recorded
 * one selects that value's transactions (cycling); any other value
 * selects one recorded value's transactions by a hash of the live value,
 * so the same value always gets the same answer.  The reply carries the
 * live value where the recorded reply echoed the recorded one (see
 * match_live_render()).
 *
 * Hosts: when the request's host (Host header or absolute-form authority,
 * lower-cased) is one the snapshot recorded, only that dependency's
 * transactions match.  When it is not (the usual case: the service calls
 * decoy at its own address), matching ignores the host.  A request host
 * that equals a recorded host up to the port counts as that host.
 *
 * Each entry holds its response pre-serialised: head = status line and the
 * recorded headers in recorded order, Content-Length set from the stored
 * body (kept in place when recorded, appended when not), Transfer-Encoding,
 * Connection and Keep-Alive dropped; it ends after the last header line,
 * before the blank line, so the responder sends one writev of
 * { head, "\r\n" or "Connection: close\r\n\r\n", body }.
 */
#ifndef DECOY_MATCH_H
#define DECOY_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"
#include "snap.h"
#include "transform.h"

struct match_live;

struct match_entry {
	char		*id;		/* transaction id, or "line N" */
	char		*method;
	char		*host;		/* lower-cased, "" if none recorded */
	char		*path;
	char		*query;		/* normalised, "" if none */
	uint64_t	 body_digest;	/* of the body as matched (typed
					   values replaced by their token) */
	size_t		 body_len_req;	/* recorded request body length */
	uint64_t	 sig;		/* signature with host */
	uint64_t	 sig_nohost;	/* signature without host */

	int		 status;
	char		*head;		/* pre-serialised, see above */
	size_t		 head_len;
	char		*body;		/* response body, NULL if empty */
	size_t		 body_len;

	int64_t		 total_us;	/* recorded latency, -1 if unknown */
	/* Recorded latencies (ns) of every transaction with the same
	 * method and path, for empirical latency; shared, may be empty. */
	const int64_t	*endpoint_ns;
	size_t		 endpoint_n;
	size_t		 line;		/* snapshot line */
	int64_t		 start_us;	/* recorded start, -1 if unknown */
	/* Response transforms (shift, resign, echo, key echo) to apply per
	 * reply with match_live_render(); NULL: send head and body as
	 * they are. */
	const struct match_live *live;
};

/* A request as matching sees it: spans into the caller's buffers. */
struct match_req {
	struct span	 method;
	struct span	 host;		/* as sent, any case, may carry a port */
	struct span	 path;
	struct span	 query;		/* raw, without '?' */
	struct span	 content_type;
	const char	*body;		/* decoded body (chunked removed) */
	size_t		 body_len;
	/* Headers, for key and echo locations in headers and cookies; may
	 * be NULL. */
	const struct http_header *headers;
	size_t		 nheaders;
};

enum match_unmatched {
	MATCH_UNMATCHED_404,
	MATCH_UNMATCHED_CLOSEST,
	MATCH_UNMATCHED_PASSTHROUGH,	/* forwarded (respond-pass.h) */
};

struct match_index;

struct match_index	*match_index_create(void);
/*
 * Makes the index apply the dir-out values of t (see above): typed and
 * key request locations when matching, shift, resign, echo and key echo
 * response locations per reply.  Call before the first match_index_add();
 * t stays the caller's and must outlive the index (its keys sign
 * replies).  A response JWT to re-sign without a key is reported once
 * (log_warn) and sent as recorded.
 */
void	match_index_set_transforms(struct match_index *,
	    const struct transforms *t);
/*
 * Adds one recorded transaction (dir out, with a response); copies what it
 * needs, so t may be freed afterwards.  Transactions without a response are
 * skipped (returns -1 with *cause).  Add in recorded order.
 */
int	match_index_add(struct match_index *, const struct snap_txn *t,
	    char **cause);
/*
 * match_index_add() in two steps, so that loaders can prepare on several
 * threads: match_index_prepare() does all the work into *p (caller
 * storage of match_prep_size() bytes, suitably aligned: an element of an
 * array of such blocks) and only reads the index (any number of threads
 * at once, none committing); it returns -1 with *cause where
 * match_index_add() does.  match_index_commit() appends the prepared
 * transaction (in recorded order, one thread) and takes over what *p
 * holds; match_prep_free() drops it instead.  *p's storage stays the
 * caller's.
 */
struct match_prep;
size_t	match_prep_size(void);
int	match_index_prepare(const struct match_index *,
	    const struct snap_txn *t, struct match_prep *p, char **cause);
void	match_index_commit(struct match_index *, struct match_prep *p);
void	match_prep_free(struct match_prep *p);
/* Builds the hash tables; call once after the last add, before lookups.
 * With threads > 1 a large index is built on two threads (the caller
 * knows the CPUs it may use: cpus.h, an io module). */
void	match_index_finish(struct match_index *, unsigned int threads);
size_t	match_index_count(const struct match_index *);
void	match_index_free(struct match_index *);

/* Fills r from a parsed request head and its decoded body. */
void	match_req_from_http(struct match_req *r, const struct http_msg *m,
	    const char *body, size_t body_len);

/*
 * Finds the group for r's signature and returns its next entry in recorded
 * order (cycling), or NULL.  *sig and *occurrence (0-based count of earlier
 * lookups of that signature) are set on a hit, for deterministic chaos.
 */
const struct match_entry *match_lookup(struct match_index *,
	    const struct match_req *r, uint64_t *sig, uint64_t *occurrence);

/*
 * The best-scoring entry with the same method and route (same number of
 * path segments, segments equal except identifier-like ones, i.e. those
 * that contain a digit), scored on equal path segments, query parameters,
 * body and host; NULL if no entry is on the same route.
 */
const struct match_entry *match_closest(const struct match_index *,
	    const struct match_req *r);

/*
 * Appends the JSON body of a 404 for an unmatched request: the request's
 * method, host, path and query, and up to n nearest recorded candidates,
 * each with its id, method, host, path, query, the list of fields that
 * differ ("method", "host", "path", "query", "body") and, in "fields",
 * where exactly, in the transforms file's location syntax: "path N" for
 * each differing segment (0-based), "query NAME" for each parameter
 * whose values differ, "body $.a.b" for each differing JSON member (at
 * most 8; "body" alone when a body is not JSON or too large to keep),
 * compared in the normalised form (a typed value of its kind agrees).
 */
void	match_explain_miss(const struct match_index *,
	    const struct match_req *r, struct buf *out, size_t n);

/*
 * Transparent mode: the host recorded with the transaction whose "server"
 * is server ("10.0.0.2:8080", compared without case), the first one in
 * recorded order; NULL if no transaction was recorded against it.  The
 * string belongs to the index.
 */
const char	*match_server_host(const struct match_index *,
		    const char *server);
/* 1 if host (as sent: any case, maybe a port) selects a recorded host,
 * else 0.  After match_index_finish(). */
int		 match_has_host(const struct match_index *, struct span host);

/*
 * The signature of a recorded request (method, path, normalised query,
 * body digest; with the host when with_host), computed exactly as
 * match_index_add() does, for tools that group requests the way the
 * responder would (`decoy corpus` de-duplicates with it).
 */
uint64_t	match_txn_signature(const struct snap_txn *t, int with_host);

/*
 * Replies made live (match-live.c).  Renders the reply of e, which has a
 * live plan (e->live != NULL), for the live request r at the wall-clock
 * time now_us: head as e->head (status line and headers, Content-Length
 * recomputed, no blank line) into head, the body into body.  Timestamps
 * (shift) move by now_us - e->start_us and keep their layout; JWTs
 * (resign) get their iat/nbf/exp moved as much and are re-signed with
 * the entry's key; echo locations take the live request's value at
 * `from` (kept as recorded when the request has none); key echoes put
 * the live key value where the recorded reply held the recorded one.  A
 * value that cannot be rewritten stays as recorded.  Thread-safe: the
 * plan is read-only.
 */
void	match_live_render(const struct match_entry *e,
	    const struct match_req *r, int64_t now_us, struct buf *head,
	    struct buf *body);

/*
 * For match.c: the plan of e's live reply (t is e's recorded
 * transaction; keys the recorded values at the key locations that
 * applied to its request), or NULL when no response transform applies
 * to e.
 */
struct match_live_key {
	const struct transform_loc	*where;	/* in the request */
	const char			*val;	/* recorded, decoded */
	size_t				 len;
};
struct match_live	*match_live_create(const struct transforms *tf,
			    const struct snap_txn *t, const struct match_entry *e,
			    const struct match_live_key *keys, size_t nkeys);
void			 match_live_free(struct match_live *);

/* 64-bit FNV-1a, exposed for tests and signatures. */
uint64_t	match_hash(uint64_t h, const void *p, size_t len);
#define MATCH_HASH_INIT	UINT64_C(0xcbf29ce484222325)

#endif
