/*
 * scenario.h -- scenario files for `decoy run` (scenarios/README.md): the
 * snapshot, the service to start or reach, the responder and its chaos
 * rules, the load, the assertions and the reports of one test run.
 *
 *	name: checkout-under-chaos
 *	snapshot: ../examples/snapshots/shop.jsonl
 *	service:
 *	  url: http://127.0.0.1:{service_port}
 *	  command: ../examples/shop/orders --port {service_port} ...
 *	  ready: {path: /healthz, timeout: 10s}
 *	  env: {LOG_LEVEL: debug}
 *	responder:
 *	  listen: 127.0.0.1:0
 *	  rules: [../rules/payments-flaky.yaml]
 *	  unmatched: closest
 *	  seed: 7
 *	  transforms: ../examples/snapshots/shop.transforms.yaml
 *	  http2: false               # default true (--no-http2)
 *	load:
 *	  pattern: replay            # replay|constant|ramp|steps|closed
 *	  multiplier: 10             # or clones: 10
 *	  rate: 500/s                # open models; ramp also rate_from
 *	  steps: 5                   # steps: how many
 *	  duration: 60s
 *	  connections: 32
 *	  http2: true                # h2 streams (--http2), streams: 8 each
 *	  timeout: 10s               # per request
 *	  transforms: ../examples/snapshots/shop.transforms.yaml
 *	  now: 2026-12-07T18:00:00Z  # with transforms: a frozen clock
 *	  seed: 7                    # fresh values
 *	assert:
 *	  latency: {p95: 250ms, p99: 800ms}    # p50 p90 p95 p99 p999 max
 *	  error_rate: {max: 1%}
 *	  throughput: {min: 400/s}
 *	  regression: {status: exact, headers: [Content-Type],
 *	               body: json, ignore: ['$.id'], numbers: numeric}
 *	report: {json: out/report.json, junit: out/junit.xml,
 *	         html: out/report.html}
 *
 * or, instead of load, a fuzz campaign (fuzz.h) over a corpus of
 * `decoy corpus`, started with the service's command so that crashes are
 * seen and the service restarted:
 *
 *	fuzz:
 *	  corpus: ../corpora/buggy   # a directory of .http requests
 *	  requests: 20000            # and/or duration: 60s
 *	  seed: 7
 *	  findings: ../out/findings  # default: findings beside the file
 *	  connections: 8
 *	  timeout: 1s                # per request: longer is a hang
 *	  mutate_auth: false
 *	assert:
 *	  findings: {max: 0}         # the default with fuzz: any fails
 *
 * Without assert.regression nothing is compared with the recording.
 * Relative paths (snapshot, rules, reports) resolve against the scenario
 * file's directory; the command runs there.  fuzz and load exclude each
 * other.  Unknown keys, wrong types and bad values
 * are errors; the loader collects all of them, each as
 * "FILE:LINE:COL: message", and fails once.
 *
 * This is a data module: it knows nothing of the generator or the
 * responder; cmd-run.c maps a scenario onto them.
 */
#ifndef DECOY_SCENARIO_H
#define DECOY_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

enum scenario_pattern {
	SCENARIO_REPLAY,
	SCENARIO_CONSTANT,
	SCENARIO_RAMP,
	SCENARIO_STEPS,
	SCENARIO_CLOSED,
};

enum scenario_body {
	SCENARIO_BODY_EXACT,
	SCENARIO_BODY_JSON,
	SCENARIO_BODY_IGNORE,
};

/* Latency percentiles an assertion can bound, in this order. */
enum scenario_pct {
	SCENARIO_P50,
	SCENARIO_P90,
	SCENARIO_P95,
	SCENARIO_P99,
	SCENARIO_P999,
	SCENARIO_MAX,
	SCENARIO_NPCT
};

/* "p50" ... "max", and the percentile (100 for max). */
const char	*scenario_pct_name(enum scenario_pct);
double		 scenario_pct_value(enum scenario_pct);

/* A file the scenario names and where: the checks (--check and the
 * start) prefix a problem with that file's FILE:LINE:COL. */
struct scenario_ref {
	const char		*what;		/* the key: "snapshot", ... */
	char			*path;		/* resolved */
	unsigned long		 line;		/* 1-based, in the scenario */
	unsigned long		 col;
};

struct scenario {
	char			*path;		/* the file, as given */
	char			*dir;		/* its directory ("." if none) */
	char			*name;		/* default: the file's base name */
	char			*snapshot;	/* resolved */

	/* service */
	char			*url;		/* http:// or https://; may hold
						   {service_port} */
	char			*ca_file;	/* https: verify with it (resolved;
						   NULL: the system CAs) */
	int			 insecure;	/* https: no verification */
	char			*command;	/* NULL: reach, do not start */
	char			*ready_path;	/* NULL: any answer to GET / */
	uint64_t		 ready_timeout_ns;	/* default 10 s */
	char			**env;		/* "KEY=VALUE" */
	size_t			 nenv;

	/* responder (has_responder 0: none is started) */
	int			 has_responder;
	char			*listen;	/* default 127.0.0.1:0 */
	char			**rules;	/* resolved paths */
	size_t			 nrules;
	char			*unmatched;	/* "404", "closest" or NULL */
	int			 has_seed;
	uint64_t		 seed;
	char			*responder_transforms;	/* resolved; NULL: none */
	int			 responder_http2;	/* default 1; 0: --no-http2 */

	/* load */
	enum scenario_pattern	 pattern;
	double			 multiplier;	/* default 1 */
	unsigned		 clones;	/* default 1 */
	double			 rate;		/* req/s; 0: not given */
	double			 rate_from;	/* ramp start */
	unsigned		 steps;		/* 0: not given */
	uint64_t		 duration_ns;	/* 0: one pass */
	unsigned		 connections;	/* 0: the generator's default */
	int			 http2;		/* the replay over h2 (--http2) */
	unsigned		 streams;	/* h2 per connection; 0: default */
	uint64_t		 timeout_ns;	/* 0: the generator's default */
	char			*transforms;	/* resolved; NULL: none */
	int			 has_now;	/* now: given */
	int64_t			 now_us;
	int			 load_has_seed;
	uint64_t		 load_seed;

	/* fuzz (has_fuzz 0: none; with it, no load) */
	int			 has_fuzz;
	char			*fuzz_corpus;	/* resolved */
	unsigned		 fuzz_requests;	/* 0: not given */
	uint64_t		 fuzz_duration_ns;	/* 0: not given */
	int			 fuzz_has_seed;
	uint64_t		 fuzz_seed;
	char			*fuzz_findings;	/* resolved */
	unsigned		 fuzz_connections;	/* 0: the default */
	uint64_t		 fuzz_timeout_ns;	/* 0: the default */
	int			 fuzz_mutate_auth;

	/* assert */
	int			 has_findings_max;
	unsigned		 findings_max;
	int			 has_latency[SCENARIO_NPCT];
	uint64_t		 latency_us[SCENARIO_NPCT];
	int			 has_error_rate;
	double			 error_rate_max;	/* a fraction, 0..1 */
	int			 has_throughput;
	double			 throughput_min;	/* responses/s */
	int			 has_regression;
	int			 cmp_status;	/* default 1 (exact) */
	char			**cmp_headers;
	size_t			 ncmp_headers;
	enum scenario_body	 cmp_body;	/* default exact */
	int			 cmp_numeric;	/* numbers: numeric (1.0 = 1) */
	char			**ignore;	/* JSON paths */
	size_t			 nignore;

	/* reports, resolved; NULL: not written */
	char			*report_json;
	char			*report_junit;
	char			*report_html;

	/* every path the file names (and responder.listen), in file order */
	struct scenario_ref	*refs;
	size_t			 nrefs;
};

/*
 * Loads a scenario file.  Returns the scenario (the caller frees it with
 * scenario_free), or NULL with *cause holding every error, one
 * "FILE:LINE:COL: message" per line (a file that cannot be read gives
 * "FILE: reason").
 */
struct scenario	*scenario_load(const char *path, char **cause);
/*
 * Parses a scenario from text[0..len); name labels errors and, through its
 * directory part, anchors relative paths.  Same results as scenario_load.
 */
struct scenario	*scenario_parse(const char *name, const char *text,
		    size_t len, char **cause);
void		 scenario_free(struct scenario *);
/*
 * "FILE:LINE:COL" of the value that named path under key what (path NULL:
 * the first such key), or of the file's start when none did; the caller
 * frees it.
 */
char		*scenario_where(const struct scenario *, const char *what,
		    const char *path);

/* Parses "500/s", "30/m", "3600/h" or a plain number (per second) into
 * requests per second (> 0).  0 or -1. */
int		 scenario_parse_rate(const char *, double *per_s);
/* Parses "1%", "0.5%" or a fraction "0.01" into a fraction in [0, 1].
 * 0 or -1. */
int		 scenario_parse_ratio(const char *, double *);

#endif
