/*
 * report.h -- the result of a run (docs/design.md section 5): totals and
 * per-endpoint throughput, latency histograms (hist.h, mergeable),
 * status mix, transport errors, regression differences, the faults the
 * responder injected, and assertion results.  One JSON document per run;
 * shard reports merge exactly (counts add, histograms add).  Rendered as
 * a terminal table, JUnit XML and a self-contained HTML page.
 */
#ifndef DECOY_REPORT_H
#define DECOY_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "grpc.h"
#include "hist.h"

#define REPORT_VERSION		1
#define REPORT_MAX_DIFFS	20	/* kept per endpoint */

enum report_error {
	REPORT_ERR_CONNECT = 0,	/* refused, unreachable */
	REPORT_ERR_RESET,	/* reset, or closed without a response */
	REPORT_ERR_TIMEOUT,
	REPORT_ERR_PROTOCOL,	/* an answer that is not HTTP */
	REPORT_NERRORS
};

struct report_status {
	int		status;
	uint64_t	count;
};

/* One regression difference: what the recording said and what came. */
struct report_diff {
	char	*txn;		/* recorded transaction id */
	char	*field;		/* "status", "header:Content-Type", "$.total" ... */
	char	*expected;
	char	*actual;
};

/* One second of the run. */
struct report_tick {
	uint64_t	count;
	uint64_t	errors;		/* transport errors and 5xx */
	double		sum_us;
	uint64_t	max_us;
};

struct report_endpoint {
	char			*method;
	char			*path;		/* without the query */
	uint64_t		 count;		/* responses and errors */
	uint64_t		 errors[REPORT_NERRORS];
	struct report_status	*status;	/* sorted by status */
	size_t			 nstatus;
	struct hist		 hist;		/* latency, us, CO-corrected */
	uint64_t		 compared;	/* responses checked */
	uint64_t		 regressions;	/* responses that differed */
	struct report_diff	*diffs;		/* the first REPORT_MAX_DIFFS */
	size_t			 ndiffs;
	/* gRPC calls by the answer's grpc-status; [GRPC_CODE_MAX + 1]: none
	 * or not a code.  All 0: no gRPC calls. */
	uint64_t		 grpc[GRPC_CODE_MAX + 2];
};

struct report_fault {
	char		*rule;
	char		*kind;
	uint64_t	 count;
};

/* A count of one kind of HTTP/2 stream error ("RST_STREAM INTERNAL_ERROR"). */
struct report_h2_error {
	char		*what;
	uint64_t	 count;
};

struct report_assertion {
	char	*name;		/* "latency.p95", "error_rate.max", ... */
	char	*expected;	/* "<= 250ms" */
	char	*actual;	/* "212.4ms" */
	int	 passed;
};

struct report {
	char			*name;		/* scenario name or "replay" */
	char			*target;	/* URL */
	char			*protocol;	/* "h2"; NULL: HTTP/1.1 */
	int64_t			 start_us;	/* unix time of the first send */
	uint64_t		 duration_us;	/* first send to last answer */
	uint64_t		 scheduled;	/* sends the load model planned */
	uint64_t		 late;		/* sent > 1 ms after their time */
	uint64_t		 dropped;	/* never sent (run ended) */
	unsigned		 shards;	/* reports merged into this one */
	int			 allow_regressions;	/* differences from the
						   recording do not fail
						   the run (--allow-regressions) */

	struct report_endpoint	**endpoints;	/* sorted by method, path */
	size_t			 nendpoints;
	size_t			 endpoints_cap;
	struct report_tick	*ticks;		/* one per second from start */
	size_t			 nticks;
	struct report_fault	*faults;
	size_t			 nfaults;
	struct report_assertion	*assertions;
	size_t			 nassertions;
	struct report_h2_error	*h2_errors;	/* in order of first seen */
	size_t			 nh2_errors;
	/* h2 requests sent again once: the server did not process them
	 * (REFUSED_STREAM, past a GOAWAY's last stream id). */
	uint64_t		 h2_retried;
};

struct report	*report_create(const char *name, const char *target);
void		 report_free(struct report *);

/* The endpoint for method and path (created on first use); the pointer
 * stays valid until report_free(). */
struct report_endpoint *report_endpoint(struct report *, const char *method,
		    const char *path);

/*
 * Records one answered request: status (0 when error >= 0), latency from
 * its intended send time in us, at_us = when it was answered, relative to
 * start; interval_us > 0 applies the coordinated-omission correction of
 * hist_record_corrected() (constant-rate load), 0 records as is.  error is
 * an enum report_error, or -1 for a response.
 */
void	report_record(struct report *, struct report_endpoint *, int status,
	    int error, uint64_t latency_us, uint64_t at_us,
	    uint64_t interval_us);
/* Counts a gRPC call's answer by its grpc-status code (-1: none). */
void	report_record_grpc(struct report_endpoint *, int code);
/* Counts one compared response; with field != NULL it differed, and the
 * difference is kept (copied). */
void	report_compare(struct report_endpoint *, const char *txn,
	    const char *field, const char *expected, const char *actual);
/* Keeps a further difference of a response already counted. */
void	report_diff(struct report_endpoint *, const char *txn,
	    const char *field, const char *expected, const char *actual);
void	report_add_fault(struct report *, const char *rule, const char *kind,
	    uint64_t count);
/* Sets the protocol the run spoke ("h2"; NULL: HTTP/1.1, not shown). */
void	report_set_protocol(struct report *, const char *protocol);
/* Counts `count` HTTP/2 stream errors of one kind (what: "RST_STREAM
 * INTERNAL_ERROR", "GOAWAY ENHANCE_YOUR_CALM", ...; copied). */
void	report_add_h2_error(struct report *, const char *what,
	    uint64_t count);
void	report_add_assertion(struct report *, const char *name,
	    const char *expected, const char *actual, int passed);

/* Totals over all endpoints (a temporary endpoint the caller frees with
 * report_endpoint_clear). */
void	report_totals(const struct report *, struct report_endpoint *out);
void	report_endpoint_clear(struct report_endpoint *);
/* Error rate: transport errors and 5xx over all answered requests. */
double	report_error_rate(const struct report_endpoint *);
/* Responses per second over the run. */
double	report_throughput(const struct report *,
	    const struct report_endpoint *);
struct scenario;
/*
 * Evaluates the assert section of sc on r's totals and puts the results in
 * r in place of the assertions it held: latency.pNN / latency.max (the
 * histogram's percentile, in us), error_rate.max, throughput.min and
 * regression (responses that differed from the recording).  A merged
 * report is asserted on exactly as one run over all its samples would be.
 * findings.max (fuzz) is not evaluated here.  Used by `decoy run` and
 * `decoy report [merge] --assert`.
 */
void	report_assert(struct report *r, const struct scenario *sc);
/* 1 when every assertion passed (or there are none) and no response
 * differed from the recording, unless allow_regressions. */
int	report_passed(const struct report *);
/* Responses that differed from the recording, over all endpoints. */
uint64_t report_regressions(const struct report *);

/* JSON (REPORT_VERSION); read back exactly. */
void		 report_to_json(const struct report *, struct buf *);
int		 report_write_json(const struct report *, const char *path,
		    char **cause);
struct report	*report_read_json(const char *path, char **cause);
/* Adds b into a: counts and histograms add, ticks align on seconds from
 * each report's own start, diffs and faults concatenate. */
void		 report_merge(struct report *a, const struct report *b);

/*
 * Checks, before a run, that path can be written when it ends: its
 * directory exists (with create, it is made, as mkdir -p; without, the
 * nearest existing ancestor must be a writable directory) and is
 * writable, and path is not a directory nor a read-only file.  "-"
 * (stdout) always passes.  0, or -1 with *cause ("PATH: why").
 */
int	report_check_output(const char *path, int create, char **cause);

/* Renderings. */
void	report_print(const struct report *, FILE *);
int	report_write_junit(const struct report *, const char *path,
	    char **cause);
int	report_write_html(const struct report *, const char *path,
	    char **cause);

#endif
