/*
 * fuzz.h -- the fuzz campaign of `decoy fuzz` (docs/design.md section 4):
 * mutants of a corpus (mutate.h) are sent to the service under test over
 * several keep-alive connections; failures are detected, confirmed,
 * minimised, de-duplicated and written as findings; `--replay` sends the
 * findings again.
 *
 * Failure kinds (fuzz_kind_name):
 *   5xx           a 5xx status
 *   reset         the connection was reset before a complete answer
 *   eof           the connection was closed before a complete answer
 *   timeout       no complete answer within the per-request timeout
 *   slow          a response-time outlier: more than 10x the running
 *                 median of its endpoint and more than a floor, after a
 *                 warm-up of 50 answers of that endpoint
 *   bad-response  an answer that is not valid HTTP/1.1
 *   crash         the service decoy started (--service-cmd) died (signal
 *                 or exit status), or printed a sanitizer report
 * A mutant whose framing the engine broke on purpose (Content-Length or
 * Transfer-Encoding lies) is sent alone on a fresh connection, which is
 * then half-closed: the server sees the end of the request.  For such a
 * mutant a reset or close without an answer is correct behaviour, not a
 * failure; a timeout (the server still waits after the client has gone)
 * is one.
 *
 * A finding's key is its endpoint (method and path template of the
 * corpus entry the mutant came from, numeric and UUID-like segments
 * collapsed), its kind, and its shape: the status and the signature of
 * the answer's body (fuzz_body_signature: the error message with numbers,
 * ids, paths and quoted values masked) for 5xx, the crash signature
 * (sanitizer error type and the first frame in the service's own code,
 * or the signal or exit status) for crash.  One key, one bug: three
 * different 500s on one endpoint are three findings, a thousand hits of
 * one are one.
 */
#ifndef DECOY_FUZZ_H
#define DECOY_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"

enum fuzz_kind {
	FUZZ_OK = 0,
	FUZZ_5XX,
	FUZZ_RESET,
	FUZZ_EOF,
	FUZZ_TIMEOUT,
	FUZZ_SLOW,
	FUZZ_BAD_RESPONSE,
	FUZZ_CRASH,
	FUZZ_CONNECT,		/* not a finding: the service is not there */
};

/*
 * Protocol noise (fuzz-noise.c): what the mutant broke when the service's
 * failure is a correct answer to it (RFC 9110/9112).  Such failures are
 * counted, not reported, unless fuzz_config.strict_protocol.
 */
enum fuzz_noise {
	FUZZ_NOISE_NONE = 0,	/* a finding */
	FUZZ_NOISE_LINE,	/* request line not HTTP (or HTTP/0.9) */
	FUZZ_NOISE_METHOD,	/* method broken or not the recorded one */
	FUZZ_NOISE_TARGET,	/* forbidden bytes in the target */
	FUZZ_NOISE_VERSION,	/* not HTTP/1.0 or HTTP/1.1 */
	FUZZ_NOISE_HEADERS,	/* malformed or over-long header section */
	FUZZ_NOISE_FRAMING,	/* Content-Length/Transfer-Encoding broken */
	FUZZ_NOISE_INCOMPLETE,	/* the server waits for the rest */
	FUZZ_NOISE_COUNT
};

struct fuzz_config {
	char		*corpus;	/* directory of .http files */
	char		*target;	/* http[s]://HOST:PORT */
	char		*ca_file;	/* https: verify with it (NULL: system) */
	int		 insecure;	/* https: no verification */
	uint64_t	 requests;	/* mutants to send (0: duration only) */
	uint64_t	 duration_ns;	/* 0: requests only */
	uint64_t	 seed;
	char		*findings;	/* output directory */
	char		*service_cmd;	/* NULL: the service runs elsewhere */
	char		*service_log;	/* its stderr; NULL: findings/service.log */
	char		*service_dir;	/* where it runs; NULL: here */
	char		**service_env;	/* "KEY=VALUE" added to its env */
	size_t		 nservice_env;
	unsigned	 connections;
	uint64_t	 timeout_ns;	/* per request */
	uint64_t	 slow_floor_ns;	/* outliers must be slower than this */
	unsigned	 max_attempts;	/* minimisation, per finding */
	uint64_t	 minimise_ns;	/* minimisation time, per finding */
	int		 mutate_auth;
	int		 strict_protocol;	/* protocol noise is a finding */
	int		 no_sweep;	/* no first pass (fuzz-sched.h) */
	int		 progress;	/* a progress line on stderr */
	int		 http2;		/* mutants as h2 streams (ALPN h2 on
					   https, prior knowledge on http) */
};

struct fuzz_finding {
	char		*dir;		/* "001-crash-post-cart-items" */
	enum fuzz_kind	 kind;
	char		*endpoint;	/* "POST /cart/items" */
	int		 status;	/* 5xx: the status; else 0 */
	char		*signature;	/* crash: the crash's; 5xx: the body's
					   (fuzz_body_signature); else NULL */
	char		*excerpt;	/* crash: sanitizer excerpt or NULL */
	char		*response;	/* 5xx, bad-response: the answer's
					   head and first bytes, or NULL */
	size_t		 response_len;
	int		 framing;	/* the mutant broke the framing */
	uint64_t	 mutant;	/* index of the first mutant */
	size_t		 parent;	/* corpus entry */
	unsigned	 op;		/* the operator it was made around
					   (mut_make's, applied first) */
	unsigned	 last_op;	/* the last operator stacked */
	int32_t		 field;		/* the JSON member op worked on
					   (mut_make's field), or -1 */
	unsigned	 nops;
	uint64_t	 elapsed_ns;	/* the first failure's duration */
	uint64_t	 found_ns;	/* campaign time when it was found */
	uint64_t	 sent_before;	/* requests sent by then */
	uint64_t	 hits;		/* failures with this key */
	size_t		 original_len;
	size_t		 minimised_len;
	unsigned	 attempts;	/* minimisation sends */
};

struct fuzz_result {
	struct fuzz_finding	*findings;
	size_t			 nfindings;
	uint64_t		 mutants;	/* mutants made (--requests) */
	uint64_t		 sent;		/* requests sent: mutants and
					   their re-sends after a death */
	uint64_t		 answered;	/* complete answers */
	uint64_t		 failures;	/* failed mutants (all kinds) */
	uint64_t		 crashes;	/* service deaths */
	uint64_t		 unconfirmed;	/* failures not reproduced */
	uint64_t		 noise;		/* failures that were correct
					   protocol handling (not findings) */
	uint64_t		 noise_by[FUZZ_NOISE_COUNT];
	uint64_t		 elapsed_ns;
	uint64_t		 h2_skipped;	/* --http2: mutants h2 cannot
					   carry (request line, framing) */
	uint64_t		 sweep;	/* mutants of the sweep */
};

/* Defaults: 8 connections, 2 s timeout, 10000 requests, seed 1, 250 ms
 * outlier floor, 300 attempts and 30 s of minimisation per finding,
 * findings in ./findings. */
void	fuzz_config_init(struct fuzz_config *);
void	fuzz_config_free(struct fuzz_config *);
void	fuzz_result_free(struct fuzz_result *);

/*
 * Runs a campaign; fills res (the caller frees it with fuzz_result_free).
 * Returns 0 when the campaign ran (findings or not), -1 with *cause for
 * bad input (corpus, target, findings directory) or when the service
 * cannot be started or reached.  Stops early, cleanly, when *stop
 * becomes non-zero.
 */
int	fuzz_run(const struct fuzz_config *, struct fuzz_result *res,
	    volatile int *stop, char **cause);

/* Prints the findings table (or, json, one JSON object) to fp. */
void	fuzz_result_print(FILE *fp, const struct fuzz_config *,
	    const struct fuzz_result *, int json);

/*
 * Re-sends request.http of every finding directory under dir (cfg->target,
 * cfg->service_cmd, cfg->timeout_ns apply) and prints one line per
 * finding to fp: whether it still fails the same way (finding.json's kind
 * and status or signature).  Returns the number still failing, or -1
 * with *cause (no findings, unreadable files, unreachable target).
 */
int	fuzz_replay(const struct fuzz_config *, const char *dir, FILE *fp,
	    int json, char **cause);

/*
 * Is a failure (kind, status) the correct answer to the raw request req,
 * whose corpus entry had the given method?  halfclosed: the client
 * half-closed after the request (a mutant whose framing the engine broke).
 * Returns what the mutant broke when the answer is one RFC 9110/9112
 * allow for it (fuzz-noise.c has the table), FUZZ_NOISE_NONE when the
 * failure is a finding.  Crashes and slow answers are always findings.
 */
enum fuzz_noise fuzz_noise_classify(const char *req, size_t len,
	    const char *method, size_t mlen, int halfclosed,
	    enum fuzz_kind kind, int status);
const char *fuzz_noise_name(enum fuzz_noise);

/* Pure helpers, exposed for the tests. */
const char *fuzz_kind_name(enum fuzz_kind);
/* FUZZ_OK if name is not a kind's name. */
enum fuzz_kind fuzz_kind_parse(const char *name);
/* "POST /items/:n" from a method and a path (query ignored): segments
 * that are all digits become ":n", UUID-like or long hex ones ":id". */
char	*fuzz_endpoint(const char *method, size_t mlen, const char *path,
	    size_t plen);
/*
 * The crash signature from what the service wrote to stderr (the new
 * bytes since the campaign last looked) and its wait(2) status (-1 if it
 * is still alive): "AddressSanitizer: stack-overflow in f" or
 * "runtime error: ... at file.c:12" or "signal SIGABRT" or "exit 3".
 * *excerpt (may be NULL) gets up to 2 KiB of the report, or NULL.
 * Returns NULL when there is neither a report nor a death.
 */
char	*fuzz_crash_signature(const char *err, size_t len, int wstatus,
	    char **excerpt);
/*
 * The signature of an error answer's body to the request req (may be
 * NULL): what stays the same from one occurrence of a bug to the next.  A JSON object becomes its members as
 * "key=value" (string values masked as below, numbers #, objects {},
 * arrays []); an HTML page its <title> or <h1>; a Python traceback the
 * exception's class and the innermost frame ("KeyError in create
 * (orders.py:42)"); other text its first line.  Masked: quoted values ('*'),
 * words with a digit (numbers, ids, hashes: #), hex words of 8 or more
 * (#), paths of two segments or more ("/" then a star).  At most 160 bytes, from the
 * first 2 KiB of the body; "" for an empty body.  Tokens that occur
 * whole in req (input the service echoed; of one or two bytes, only as a
 * JSON string or a form value) are masked too.  The caller frees it.
 */
char	*fuzz_body_signature(const char *body, size_t len, const char *req,
	    size_t rlen);
/*
 * Candidates for minimisation: writes into out the i-th smaller variant
 * of the raw request req (headers removed, header values, body, query and
 * path shortened; Content-Length kept equal to the body when it was).
 * Returns 1 when out holds a variant, 0 when there is no i-th variant.
 */
int	fuzz_shrink(const char *req, size_t len, size_t i, struct buf *out);

#endif
