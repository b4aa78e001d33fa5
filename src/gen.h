/*
 * gen.h -- the generator: replays the inbound half of a snapshot against
 * the service under test and measures it (docs/design.md section 4).
 *
 * Load models:
 *   GEN_REPLAY    recorded pacing: each transaction is sent at its recorded
 *                 offset from the first, divided by `multiplier` when
 *                 `clones` is 1; `clones` N runs N copies of every recorded
 *                 session (tags.session, else the client address), each on
 *                 its own connection, in recorded order within a session.
 *   GEN_CONSTANT  open model: `rate` requests per second, cycling through
 *                 the transactions; latency is measured from the intended
 *                 send time (coordinated omission corrected as wrk2 does).
 *   GEN_RAMP      open model, rate from `rate_from` to `rate` linearly over
 *                 the duration.
 *   GEN_STEPS     open model, rate in `nsteps` equal steps up to `rate`.
 *   GEN_CLOSED    closed model: `connections` clients, each sending its next
 *                 request when the previous answer arrived.
 * The run ends after `duration_ns` (0: one pass over the transactions,
 * unless `loop`).  A keep-alive connection pool of at most `connections`
 * connections serves the open models; sends that find no free connection
 * wait, and are counted late; at the end, sends never made are dropped.
 *
 * Every response is compared with the recorded one (status exactly;
 * `headers` by name; body exactly, JSON-aware with ignore paths, or not at
 * all) and the first differences are kept in the report.
 *
 * With `transforms`, the requests that a transform touches are built at
 * send time (gen-transform.h): timestamps shifted to the send-time clock
 * (`now_us` + the recorded offset when has_now), JWTs re-signed, fresh
 * values, and the live values of earlier answers of the same session in
 * place of the recorded ones.  Bodies then compare JSON-aware (also in
 * exact mode, when both are JSON): the response locations the transforms
 * declare volatile are left out, and a recorded string whose live value
 * the session has seen equals that live value (headers too).
 */
#ifndef DECOY_GEN_H
#define DECOY_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

enum gen_pattern {
	GEN_REPLAY,
	GEN_CONSTANT,
	GEN_RAMP,
	GEN_STEPS,
	GEN_CLOSED,
};

enum gen_body_cmp {
	GEN_BODY_EXACT,
	GEN_BODY_JSON,		/* JSON-aware, ignore paths apply */
	GEN_BODY_NONE,
};

struct gen_config {
	char			*snapshot;	/* its dir:in transactions */
	char			*target;	/* http[s]://host:port[/prefix] */
	enum gen_pattern	 pattern;
	double			 multiplier;	/* replay: time compression */
	unsigned		 clones;	/* replay: copies of sessions */
	double			 rate;		/* req/s, open models */
	double			 rate_from;	/* ramp start */
	unsigned		 nsteps;	/* steps */
	unsigned		 connections;	/* pool size / closed clients */
	uint64_t		 duration_ns;	/* 0: one pass */
	int			 loop;		/* cycle the transactions */
	unsigned		 shard_i;	/* --shard i/n: 0-based i */
	unsigned		 shard_n;	/* 1: no sharding */
	uint64_t		 timeout_ns;	/* per request */

	int			 cmp_status;	/* compare the status */
	char			**cmp_headers;	/* header names to compare */
	size_t			 ncmp_headers;
	enum gen_body_cmp	 cmp_body;
	char			**ignore;	/* JSON paths: $.a.b, $.items[*].id */
	size_t			 nignore;
	int			 numeric;	/* JSON numbers equal by value
						   (1.0 = 1); default: by text */

	int			 progress;	/* a progress line on stderr */

	/* HTTP/2: https:// targets offer ALPN "h2,http/1.1" and speak
	 * what the server picks (the probe decides for the run); http://
	 * targets speak h2 with prior knowledge.  Requests are streams:
	 * `connections` connections carry at most `streams` requests in
	 * flight each (the pool holds connections x streams; the closed
	 * model runs connections x streams clients; replay streams are
	 * spread over the connections, round-robin). */
	int			 http2;
	int			 http2_upgrade;	/* http://: Upgrade: h2c on each
						   connection, its first request
						   carrying it */
	unsigned		 streams;	/* per connection, h2 */

	/* https:// targets: the server is verified against ca_file (NULL:
	 * the system CAs) and the target's host, unless insecure. */
	char			*ca_file;
	int			 insecure;

	/* A transforms file (transform.h, gen-transform.h): requests
	 * rebuilt per send; NULL: none.  With correlations, replay runs
	 * every recorded session as its own stream (as clones do). */
	char			*transforms;
	int			 has_now;	/* the clock frozen: */
	int64_t			 now_us;	/* wall clock of the first send */
	int			 has_seed;	/* fresh values from seed, */
	uint64_t		 seed;		/* else from the time */
};

/* Defaults: replay x1, 1 clone, 64 connections (h2: 8 streams each), 10 s
 * timeout, status and exact body compared, shard 0/1, TLS verified
 * against the system CAs, HTTP/1.1. */
void	gen_config_init(struct gen_config *);
void	gen_config_free(struct gen_config *);

/*
 * Runs the load described by cfg and records into rep (created by the
 * caller).  Returns 0 when the run completed (whatever the service
 * answered), -1 with *cause for bad input (snapshot, target URL, CA
 * file), when the target cannot be reached at all, or when an https://
 * target fails the TLS handshake of the probe made before the load
 * (verification, or no TLS); a handshake that fails later is a connect
 * error of its request, its reason logged once.  Stops early, cleanly, when
 * *stop becomes non-zero (a signal handler sets it).
 */
int	gen_run(const struct gen_config *, struct report *rep,
	    volatile int *stop, char **cause);

/*
 * The progress line's fraction done, 0..1 (-1: unknown, --loop without a
 * duration): elapsed over duration when there is one, else done requests
 * over the planned ones.
 */
double	gen_progress_fraction(uint64_t elapsed_ns, uint64_t duration_ns,
	    int loop, uint64_t done, uint64_t planned);

/*
 * JSON-aware comparison of two bodies (raw bytes, never through cJSON:
 * numbers compare by value of their exact decimal text): appends to diffs
 * one "path\texpected\tactual\n" line per difference, up to max, skipping
 * paths that match an ignore pattern.  Returns the number of differences
 * found (all, not only those kept), or -1 if either body is not JSON.
 */
int	gen_json_diff(const char *a, size_t alen, const char *b, size_t blen,
	    char *const *ignore, size_t nignore, struct buf *diffs,
	    size_t max);
/* The same with numbers equal by value (gen_number_same). */
int	gen_json_diff_numeric(const char *a, size_t alen, const char *b,
	    size_t blen, char *const *ignore, size_t nignore,
	    struct buf *diffs, size_t max);
/*
 * 1 when two JSON number texts have the same decimal value (1.0 = 1 =
 * 1e0 = 0.1e1, 1e2 = 100, -0 = 0), compared on their digits and exponent,
 * never through a double (2^53+1 and 2^53 differ); texts that are not
 * numbers are the same only when equal byte for byte.
 */
int	gen_number_same(const char *a, size_t alen, const char *b,
	    size_t blen);

#endif
