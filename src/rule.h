/*
 * rule.h -- chaos rules (decoy-rules(5), docs/design.md section 4): loading
 * rule files (YAML, or JSON, through libyaml), matching requests (pcre2,
 * JIT-compiled once at load), deciding which rules fire, and the
 * copy-on-write rule sets that the admin API edits live.
 *
 * A struct rule is immutable configuration plus its counters (atomics).
 * Rules are reference-counted and shared by the rule sets that contain
 * them, so enabling, adding or removing one rule publishes a new set whose
 * other rules keep their counters.  A rule set is immutable once built;
 * the responder swaps whole sets atomically.
 *
 * Firing.  Rules are evaluated in order.  A rule whose match fields all
 * match counts a match (its match number n, 1-based, from an atomic
 * counter); it fires when every `when` condition holds:
 *   between [a, b)  the time since the rules were loaded is in [a, b);
 *   after N         n > N;
 *   every N         (n - after) is a multiple of N;
 *   probability p   a draw from fault_rng seeded with fault_seed_mix(seed,
 *                   rule name, signature, occurrence) is below p: a pure
 *                   function of those four, never of timing or threads;
 *   burst B         once the rule fires, its next B matches fire too
 *                   (every and probability are not consulted for them);
 *   limit L         it has fired fewer than L times.
 * Counting conditions (after, every, burst, limit) are exact; they follow
 * the order in which matches arrive.  A firing rule with `stop: true` ends
 * the evaluation, and so does one with a connection fault.
 */
#ifndef DECOY_RULE_H
#define DECOY_RULE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "fault.h"
#include "http.h"
#include "snap.h"

struct rule;
struct rule_set;

/* What a rule sees of a request; spans into the caller's buffers. */
struct rule_req {
	enum snap_dir			 dir;
	struct span			 host;		/* may carry a port */
	struct span			 method;
	struct span			 path;
	struct span			 query;		/* raw, without '?' */
	const struct http_header	*headers;
	size_t				 nheaders;
	const char			*body;
	size_t				 body_len;
};

/* Inputs of one evaluation besides the request. */
struct rule_ctx {
	uint64_t	 seed;
	uint64_t	 sig;		/* match_lookup()'s signature */
	uint64_t	 occurrence;	/* ... and occurrence */
	uint64_t	 elapsed_ns;	/* since the rules were loaded */
	int64_t		 recorded_ns;	/* transaction's recorded latency, -1 */
	const int64_t	*samples;	/* endpoint's recorded latencies, ns */
	size_t		 nsamples;
};

/* One fired rule. */
struct rule_hit {
	const struct rule	*rule;
	const struct fault_spec	*fault;
	uint64_t		 latency_ns;	/* sampled from fault->latency */
	uint64_t		 match_no;	/* the rule's match number */
	uint64_t		 rng_seed;	/* seeds the malform's fault_rng */
};

#define RULE_MAX_HITS	16

/*
 * Loads and concatenates rule files, in order.  Every error of every file
 * is collected as "FILE:LINE:COL: message" (one per line of *cause) and
 * the load fails once.  Rule names must be unique across the files.  The
 * seed is the first file's `seed:`, if any (*has_seed says whether one
 * was given).  npaths may be 0: an empty set.
 */
struct rule_set	*rule_set_load(const char *const *paths, size_t npaths,
		    uint64_t *seed, int *has_seed, char **cause);
/*
 * Parses one rule file's text (YAML or JSON; a whole file with `rules:`,
 * or a single rule mapping, or a list of rules); name labels errors
 * ("admin:3:7: ...").  For the admin API.
 */
struct rule_set	*rule_set_parse(const char *name, const char *text,
		    size_t len, char **cause);
void		 rule_set_free(struct rule_set *);

size_t		 rule_set_count(const struct rule_set *);
const struct rule *rule_set_get(const struct rule_set *, size_t);
const struct rule *rule_set_find(const struct rule_set *, const char *name);

/* Copy-on-write edits: each returns a new set (or NULL with *cause when
 * a name clashes or is unknown); the old set is unchanged. */
struct rule_set	*rule_set_append(const struct rule_set *,
		    const struct rule_set *added, char **cause);
struct rule_set	*rule_set_remove(const struct rule_set *, const char *name,
		    char **cause);
struct rule_set	*rule_set_enable(const struct rule_set *, const char *name,
		    int enabled, char **cause);

const char	*rule_name(const struct rule *);
int		 rule_is_enabled(const struct rule *);
const struct fault_spec *rule_fault(const struct rule *);
/* 1 if the rule's match names nothing but dir and host (it can be
 * decided once per connection, as packet chaos does), else 0. */
int		 rule_is_per_connection(const struct rule *);
/* Matches so far and times fired so far. */
uint64_t	 rule_matched(const struct rule *);
uint64_t	 rule_fired(const struct rule *);

/*
 * Evaluates the set for one request; fills hits (at most max) with the
 * rules that fired, in order, and returns their number.  Thread-safe.
 */
size_t		 rule_set_eval(const struct rule_set *, const struct rule_req *,
		    const struct rule_ctx *, struct rule_hit *hits, size_t max);

/*
 * The same evaluation in two steps, for a caller that caches the first:
 * rule_set_static_mask() gives the set's first 64 rules (enabled ones)
 * whose dir, method, host, path and query match -- the fields a request
 * signature decides -- as bits; rule_set_eval_mask() checks headers and
 * body of those rules and decides which fire, exactly as rule_set_eval().
 * Only for sets of at most 64 rules.
 */
uint64_t	 rule_set_static_mask(const struct rule_set *,
		    const struct rule_req *);
size_t		 rule_set_eval_mask(const struct rule_set *,
		    const struct rule_req *, const struct rule_ctx *,
		    uint64_t mask, struct rule_hit *hits, size_t max);

/* Whether a rule can fire on a request, judged on a recorded one. */
enum rule_reach {
	RULE_REACH_NO = 0,	/* dir, method, host, path or query differ */
	RULE_REACH_LIVE,	/* those match; headers or body only a live
				   request can tell */
	RULE_REACH_YES		/* the whole match holds */
};

/*
 * Judges r's match (not its when conditions, not whether it is enabled)
 * against req, typically a recorded request (plan_req_from_snap): its
 * signature fields decide RULE_REACH_NO; headers and body, which live
 * requests may carry otherwise, only RULE_REACH_LIVE versus
 * RULE_REACH_YES.  Counts nothing; thread-safe.
 */
enum rule_reach	 rule_reach(const struct rule *r, const struct rule_req *req);

/* Appends a JSON object describing the rule: name, enabled, match, when,
 * fault, matched, fired. */
void		 rule_describe(const struct rule *, struct buf *);

#endif
