/*
 * plan.h -- the chaos decision, once for every role that injects faults
 * (the responder, respond.c, and packet chaos, pktchaos.c): the request as
 * a rule sees it, its signature and occurrence, which rules fire, the
 * fault plan they add up to, its chaos log lines, and the reply a plan
 * makes of a recorded response.
 *
 * A plan is data: what the rules that fired ask for (latency, status,
 * headers, body, malform, connection fault, packet drop), each with the
 * rule that chose it.  Deciding is a pure function of the rule set, the
 * request, and the context (seed, signature, occurrence, time since the
 * rules were loaded); plan_render() is a pure function of a plan and a
 * recorded response.  Nothing here touches a socket or reads a clock, so
 * both are unit-tested directly (tests/unit/test-plan.c).
 *
 * A plan points into the rule set it was decided from (fault specs, rule
 * names, header names and values): the set must outlive the plan.
 */
#ifndef DECOY_PLAN_H
#define DECOY_PLAN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "chaos.h"
#include "fault.h"
#include "http.h"
#include "rule.h"
#include "snap.h"

#define PLAN_OCC_SLOTS		4096
#define PLAN_MAX_HEADERS	64

/*
 * Occurrences of requests that have no recorded signature, counted by
 * signature in a fixed table (slot = sig % PLAN_OCC_SLOTS), so the same
 * traffic gets the same occurrences and so the same decisions.  Zeroed
 * storage is an empty table.  Thread-safe.
 */
struct plan_occ {
	_Atomic uint64_t	 n[PLAN_OCC_SLOTS];
};

/* Which faults a role applies, and so logs. */
enum plan_scope {
	PLAN_SCOPE_HTTP,	/* the responder: all but drop */
	PLAN_SCOPE_PACKET,	/* packet chaos: latency, drop, reset */
};

/* The faults of one request, as decided. */
struct plan {
	uint64_t		 sig;
	uint64_t		 occurrence;
	size_t			 nhits;		/* rules that fired */

	uint64_t		 latency_ns;	/* every hit's sample, summed */
	const struct fault_spec	*status;	/* status given, or NULL */
	const char		*status_rule;
	const struct fault_spec	*body;		/* body given, or NULL */
	const char		*body_rule;
	const struct fault_spec	*malform;	/* malform given, or NULL */
	const char		*malform_rule;
	uint64_t		 malform_seed;	/* seeds its fault_rng */
	enum fault_conn		 conn;		/* connection fault, or NONE */
	double			 drip_bps;	/* its rate (drip, slow_headers) */
	uint32_t		 h2_code;	/* its code (rst_stream, goaway) */
	const char		*conn_rule;
	double			 drop;		/* the largest drop probability */
	const char		*drop_rule;
	int			 grpc_call;	/* the request's content-type is
						   application/grpc* */
	const struct fault_spec	*grpc;		/* grpc given, or NULL */
	const char		*grpc_rule;
	uint64_t		 msg_latency_ns;/* per_message samples, summed:
						   before each message of a
						   gRPC answer */
	size_t			 nheaders;	/* headers set, by name, later wins */

	/* Last: plan_decide() clears only what is above. */
	struct fault_header	 headers[PLAN_MAX_HEADERS];
	struct rule_hit		 hits[RULE_MAX_HITS];	/* in firing order */
};

/*
 * The request view of a recorded or captured request (packet chaos):
 * fills *rq with spans into r, headers into hdrs (at most nhdrs).
 */
void		plan_req_from_snap(struct rule_req *rq, struct http_header *hdrs,
		    size_t nhdrs, const struct snap_req *r, enum snap_dir dir);

/*
 * The signature a request without a recorded one gets: a hash of method,
 * path, query and body (match_hash).
 */
uint64_t	plan_signature(struct span method, struct span path,
		    struct span query, const char *body, size_t body_len);

/* The occurrence of sig (0 the first time), counting this one. */
uint64_t	plan_occ_next(struct plan_occ *, uint64_t sig);

/*
 * Decides the faults of one request: evaluates rs (rule_set_eval) for rq
 * under ctx, or, with mask non-NULL, only the rules of *mask
 * (rule_set_eval_mask: *mask is rule_set_static_mask()'s, maybe cached or
 * narrowed), and fills *plan.  Where several hits give the same fault the
 * last one wins, as they are applied in order; headers accumulate, a later
 * rule's replacing an earlier one's of the same name (at most
 * PLAN_MAX_HEADERS), latencies add up, the drop is the largest.
 * plan->nhits 0: nothing fires.  Thread-safe as rule_set_eval.
 */
void		plan_decide(struct plan *, const struct rule_set *rs,
		    const struct rule_req *rq, const struct rule_ctx *ctx,
		    const uint64_t *mask);

/*
 * One chaos log line per kind of fault each hit injects, in firing order
 * (chaos_log_fault); txn_id is the transaction answered or "-".  scope
 * says which kinds the caller applies.
 */
void		plan_log(const struct plan *, struct chaos_log *,
		    const char *txn_id, enum plan_scope scope);

/* The bytes of a reply a plan rewrote. */
struct plan_reply {
	struct buf	 head;		/* status line and headers, without
					   the blank line */
	struct buf	 body;
	uint64_t	 filler;	/* oversize: this many filler bytes
					   follow the head instead of body */
	int		 close;		/* framing broken on purpose: close
					   the connection after it */
	size_t		*split;		/* per-message latency: the body
					   goes out in nsplit pieces, each
					   ending at split[i] (the last at
					   body.len); NULL: at once */
	size_t		 nsplit;
};

/*
 * gRPC calls (plan->grpc_call): a grpc fault, or else a status fault
 * (its code by grpc_code_from_http), makes the reply trailers-only: a
 * 200 with content-type application/grpc, grpc-status, grpc-message (if
 * given, percent-encoded) and no body.  A malform damages the message
 * stream (the recorded body unchunked) and keeps the recorded trailers,
 * in the chunked form the h2 glue sends as a trailing HEADERS frame:
 * grpc_bad_length makes the first length prefix promise one byte more
 * than the body holds, grpc_truncate ends the body inside the last
 * message, grpc_bad_protobuf leaves the first message well-framed but
 * holding only its first field's tag (a truncated protobuf); the other
 * body kinds (truncate, corrupt...) apply to the message stream.  With
 * plan->msg_latency_ns each message is its own chunk and out->split
 * says where they end.
 *
 * Applies the plan's byte faults to a recorded response, head (status
 * line and headers without the blank line; unparseable: a 200) and body:
 * a status replaces the response; headers are set by name; a body
 * replaces the body; a malform damages it (seeded by the plan) and may
 * break the framing on purpose.  Framing headers are rewritten
 * (Content-Length, or Transfer-Encoding for bad_chunk).  Returns 0 when
 * the plan changes no bytes (*out untouched), else 1 with *out filled
 * (free it with plan_reply_free).  Latency and connection faults are the
 * caller's schedule (plan->latency_ns, plan->conn).
 */
int		plan_render(const struct plan *, const char *head,
		    size_t head_len, const char *body, size_t body_len,
		    struct plan_reply *out);
void		plan_reply_free(struct plan_reply *);

#endif
