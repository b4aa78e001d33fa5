/*
 * funnel.h -- the capture funnel: for each recorded or imported
 * transaction, whether it is kept, and a count of every drop by reason.
 * Nothing is dropped silently: a transaction is either kept or counted
 * under exactly one reason.
 *
 * The rules run in this order, and the first that drops a transaction
 * names the reason:
 *   host    --include-host RE / --exclude-host RE (pcre2, searched
 *           unanchored in the host: the recorded host, else the Host
 *           header, else an absolute-form target's authority, else the
 *           server address); with includes, one must match; no exclude
 *           may match
 *   method  --method M[,M] (case-insensitive)
 *   path    --include-path RE / --exclude-path RE, on the target's path
 *           (no scheme, authority or query)
 *   status  --status LIST: "5xx", "200-299", "404", "none" (a
 *           transaction without a response), comma-separated
 *   sampled --sample F: keeps a fraction F of each endpoint's
 *           transactions; the n-th transaction of an endpoint is kept
 *           when a hash of (seed, endpoint, n) falls below F, so the same
 *           traffic and seed keep the same transactions, whatever the
 *           interleaving of endpoints
 *   duplicate --dedup N: keeps the first N transactions of each request
 *           signature (below)
 *   capped  --cap N/WINDOW: keeps at most N transactions per endpoint per
 *           window of the transactions' timing.start_us (windows aligned
 *           on multiples of WINDOW since the epoch; a transaction older
 *           than its endpoint's current window counts in that window;
 *           without timing, all fall in one window)
 * A transaction dropped by --cap does not use up its signature's --dedup
 * quota: the quota counts kept transactions.
 *
 * An endpoint is the method and the route template of the path
 * (route.h: "GET /orders/{id}").  A request signature is the endpoint,
 * the query, the selected headers (Content-Type, Accept, Authorization)
 * and the body, each with its volatile values masked (funnel_mask): two
 * requests that differ only in a timestamp, a JWT, a UUID, a ULID or a
 * long hex or base64 token have the same signature; requests that differ
 * in anything else (an account id, a quantity) do not.  Signatures are
 * kept as 128-bit hashes: the memory of --dedup and --sample grows by
 * about 40 bytes per distinct signature and endpoint.
 *
 * Not thread-safe: one funnel is used by one thread at a time (the
 * recorder's writer, an import loop).
 */
#ifndef DECOY_FUNNEL_H
#define DECOY_FUNNEL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "shape.h"
#include "snap.h"

/* What happened to a transaction: kept, or the reason it was dropped. */
enum funnel_reason {
	FUNNEL_KEPT = 0,
	FUNNEL_HOST,
	FUNNEL_METHOD,
	FUNNEL_PATH,
	FUNNEL_STATUS,
	FUNNEL_SAMPLED,
	FUNNEL_DUPLICATE,
	FUNNEL_CAPPED,
	FUNNEL_NREASONS
};

/* The options, one per command-line option of the same name. */
enum funnel_opt {
	FUNNEL_OPT_INCLUDE_HOST,	/* --include-host RE */
	FUNNEL_OPT_EXCLUDE_HOST,	/* --exclude-host RE */
	FUNNEL_OPT_INCLUDE_PATH,	/* --include-path RE */
	FUNNEL_OPT_EXCLUDE_PATH,	/* --exclude-path RE */
	FUNNEL_OPT_METHOD,		/* --method M[,M] */
	FUNNEL_OPT_STATUS,		/* --status LIST */
	FUNNEL_OPT_SAMPLE,		/* --sample F (0.25 or 25%) */
	FUNNEL_OPT_CAP,			/* --cap N/WINDOW (10/1m, 5/s) */
	FUNNEL_OPT_DEDUP,		/* --dedup N */
	FUNNEL_OPT_SEED,		/* --seed S */
	FUNNEL_NOPTS
};

/* A status range; lo = hi = 0 is "none" (no response). */
struct funnel_status {
	int	lo, hi;
};

/*
 * The funnel's settings as the options gave them.  Zero it (memset or
 * = { 0 }) before the first funnel_config_set(); it owns every string
 * and array in it (funnel_config_free).  funnel_create() compiles the
 * regular expressions.
 */
struct funnel_config {
	char			**list[5];	/* FUNNEL_OPT_INCLUDE_HOST ..
						   FUNNEL_OPT_METHOD: the
						   regular expressions (as
						   text, checked when set)
						   and the methods */
	size_t			  nlist[5];
	struct funnel_status	 *status;
	size_t			  nstatus;
	int			  sampling;	/* --sample given */
	double			  sample;	/* fraction kept, [0, 1] */
	uint64_t		  cap;		/* 0: no cap */
	uint64_t		  cap_window_us;
	uint64_t		  dedup;	/* 0: no de-duplication */
	uint64_t		  seed;
};

/* Counters: seen = kept + every drop; n[FUNNEL_KEPT] is kept. */
struct funnel_stats {
	uint64_t	seen;
	uint64_t	n[FUNNEL_NREASONS];
};

/*
 * Parses the argument of option which (as the user wrote it) into cfg:
 * the list options (RE, methods, status) append, the others replace.
 * 0, or -1 with *cause (without the option's name: the caller puts
 * "--include-host: " before it), cfg unchanged.
 */
int	funnel_config_set(struct funnel_config *, enum funnel_opt which,
	    const char *arg, char **cause);
/* 1 when any option is set (a funnel that may drop), else 0. */
int	funnel_config_is_set(const struct funnel_config *);
/* Frees what cfg holds and zeroes it. */
void	funnel_config_free(struct funnel_config *);
/* "include-host", ...: the option's long name, without "--". */
const char *funnel_opt_name(enum funnel_opt);

struct funnel;

/*
 * A funnel with cfg's rules (cfg is copied: it may be freed after).
 * NULL with *cause if a regular expression does not compile (only
 * possible for a cfg not filled by funnel_config_set).
 */
struct funnel	*funnel_create(const struct funnel_config *, char **cause);
void		 funnel_free(struct funnel *);

/*
 * Decides for one transaction: FUNNEL_KEPT, or why it is dropped; counts
 * it either way.  t is only read.
 */
enum funnel_reason funnel_decide(struct funnel *, const struct snap_txn *t);

/* The counters so far. */
const struct funnel_stats *funnel_stats(const struct funnel *);

/* "kept", "host", "method", "path", "status", "sampled", "duplicate",
 * "capped". */
const char	*funnel_reason_name(enum funnel_reason);

/*
 * Appends the counters as one JSON object:
 * {"seen":N,"kept":N,"filtered":{"host":N,"method":N,"path":N,
 * "status":N},"sampled":N,"duplicate":N,"capped":N}
 */
void	funnel_stats_json(struct buf *, const struct funnel_stats *);
/*
 * Appends them for a summary line: "10 seen, 4 kept, 6 dropped (2 host,
 * 1 path, 3 duplicate)"; reasons that dropped nothing are left out.
 */
void	funnel_stats_text(struct buf *, const struct funnel_stats *);

/*
 * Appends s[0..len) with each volatile value (shape.h: a JWT, a
 * timestamp, a UUID, a ULID, a long hex or base64 token) replaced by
 * "{kind}" ("{jwt}", "{timestamp}", ...).  The whole of s is classified
 * first; else each run between separators (white space, quotes, commas,
 * brackets, '&', ';' ...), and each part of a run between '/', ':' and
 * '='.  opts decides which integers are epoch timestamps (NULL: none).
 * The signature of a request uses it on the query (percent-decoded),
 * the selected headers and the body.
 */
void	funnel_mask(struct buf *, const char *s, size_t len,
	    const struct shape_opts *opts);

/*
 * The request signature of t (see above) as a 128-bit hash, and its
 * endpoint's.  For tests and callers that group by signature.
 */
void	funnel_signature(struct funnel *, const struct snap_txn *t,
	    uint64_t sig[2], uint64_t endpoint[2]);

#endif
