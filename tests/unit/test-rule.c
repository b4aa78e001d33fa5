/*
 * test-rule.c -- unit tests for chaos rules (rule.c): loading files and
 * admin text, every kind of load error with its line and column, matching
 * on each request field, the exact firing semantics (after, every, limit,
 * burst, between, probability, stop, disabled rules, connection faults),
 * determinism under a seed, the limit under concurrency, copy-on-write
 * edits, rule_describe, and that every recipe in rules/ loads.
 */
#include "config.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fault.h"
#include "json.h"
#include "rule.h"
#include "xmalloc.h"

#include "unit.h"

#define NITEMS(a)	(sizeof (a) / sizeof (a)[0])

static struct http_header req_headers[] = {
	{ { "Content-Type", 12 }, { "application/json", 16 } },
	{ { "X-Tenant", 8 }, { "silver", 6 } },
	{ { "x-tenant", 8 }, { "gold", 4 } },
};

static struct rule_req
req_make(enum snap_dir dir, const char *method, const char *host,
    const char *path, const char *query, const char *body)
{
	struct rule_req	r;

	memset(&r, 0, sizeof r);
	r.dir = dir;
	r.method = span_from_str(method);
	r.host = span_from_str(host);
	r.path = span_from_str(path);
	r.query = query != NULL ? span_from_str(query) : SPAN_NULL;
	r.headers = req_headers;
	r.nheaders = NITEMS(req_headers);
	r.body = body;
	r.body_len = body != NULL ? strlen(body) : 0;
	return r;
}

static struct rule_req
req_charge(void)
{
	return req_make(SNAP_DIR_OUT, "POST", "payments.shop.internal:40003",
	    "/v1/charges", "currency=usd&expand", "{\"amount\":4800}");
}

static struct rule_set *
parse(const char *text)
{
	struct rule_set	*set;
	char		*cause = NULL;

	if ((set = rule_set_parse("t", text, strlen(text), &cause)) == NULL) {
		UNIT_FAIL("rule_set_parse: %s\n--- text:\n%s", cause, text);
		free(cause);
	}
	return set;
}

/* The text must fail to load with an error containing want. */
static void
expect_error_at(int line, const char *text, const char *want)
{
	struct rule_set	*set;
	char		*cause = NULL;

	unit_checks++;
	set = rule_set_parse("t", text, strlen(text), &cause);
	if (set != NULL) {
		fprintf(stderr, "%s:%d: ", __FILE__, line);
		UNIT_FAIL("loaded, expected \"%s\"\n--- text:\n%s", want, text);
		rule_set_free(set);
		return;
	}
	if (cause == NULL || strstr(cause, want) == NULL) {
		fprintf(stderr, "%s:%d: ", __FILE__, line);
		UNIT_FAIL("expected \"%s\", got \"%s\"", want,
		    cause != NULL ? cause : "(null)");
	}
	free(cause);
}
#define expect_error(t, w)	expect_error_at(__LINE__, (t), (w))

static char *
write_temp(const char *text)
{
	char	*path;
	int	 fd;
	size_t	 len = strlen(text);

	path = xstrdup("/tmp/test-rule.XXXXXX");
	if ((fd = mkstemp(path)) == -1 ||
	    write(fd, text, len) != (ssize_t)len) {
		UNIT_FAIL("cannot write a temporary file");
		exit(1);
	}
	close(fd);
	return path;
}

static void
test_load_good(void)
{
	static const char *text =
	    "# a comment\n"
	    "seed: 42\n"
	    "rules:\n"
	    "  - name: payments-slow\n"
	    "    match:\n"
	    "      dir: out\n"
	    "      host: payments\\.shop\\.internal\n"
	    "      method: POST\n"
	    "      path: '^/v1/charges'\n"
	    "      query: {currency: '^(usd|eur)$'}\n"
	    "      headers: {X-TENANT: '^gold$'}\n"
	    "      body: '\"amount\":\\s*\\d+'\n"
	    "    when:\n"
	    "      probability: 0.5\n"
	    "      after: 1\n"
	    "      every: 2\n"
	    "      limit: 50\n"
	    "      burst: 3\n"
	    "      between: [30s, 90s]\n"
	    "    fault:\n"
	    "      latency: {lognormal: {median: 120ms, p99: 2s}, max: 5s}\n"
	    "      status: 503\n"
	    "      headers: {Retry-After: '2'}\n"
	    "      body: '{\"error\":\"unavailable\"}'\n"
	    "      malform: {truncate: {at: 0.25}}\n"
	    "    stop: true\n"
	    "  - name: off\n"
	    "    enabled: false\n"
	    "    fault: {latency: 120ms, connection: drip}\n"
	    "  - name: mu\n"
	    "    fault:\n"
	    "      latency: {lognormal: {mu: 4.8, sigma: 0.5}}\n"
	    "      drip: 2KiB/s\n"
	    "  - name: lat-uniform\n"
	    "    fault: {latency: {uniform: [50ms, 200ms]}}\n"
	    "  - name: lat-normal\n"
	    "    fault: {latency: {normal: {mean: 100ms, stddev: 20ms}}}\n"
	    "  - name: lat-pareto\n"
	    "    fault: {latency: {pareto: {scale: 50ms, shape: 1.5}}}\n"
	    "  - name: lat-recorded\n"
	    "    fault: {latency: {recorded: 2}, malform: corrupt}\n"
	    "  - name: lat-empirical\n"
	    "    fault: {latency: empirical, malform: {oversize: "
	    "{size: 10MiB}}}\n"
	    "  - name: lat-empirical2\n"
	    "    fault: {latency: {empirical: {}, max: 1s}}\n"
	    "  - name: wct\n"
	    "    fault: {malform: {wrong_content_type: "
	    "{content_type: text/plain}}}\n"
	    "  - name: drop\n"
	    "    fault: {malform: {drop_field: {field: id}}, "
	    "connection: slow_headers}\n";
	const char		*paths[2];
	struct rule_set		*set;
	const struct rule	*r;
	const struct fault_spec	*f;
	uint64_t		 seed = 0;
	int			 has_seed = 0;
	char			*cause = NULL, *p1, *p2;

	p1 = write_temp(text);
	p2 = write_temp("rules:\n  - name: second\n    fault: {status: 500}\n"
	    "seed: 7\n");
	paths[0] = p1;
	paths[1] = p2;
	set = rule_set_load(paths, 2, &seed, &has_seed, &cause);
	if (set == NULL) {
		UNIT_FAIL("rule_set_load: %s", cause);
		free(cause);
		goto out;
	}
	ASSERT_EQ(has_seed, 1);
	ASSERT_EQ(seed, 42);
	ASSERT_EQ(rule_set_count(set), 12);
	ASSERT_STR_EQ(rule_name(rule_set_get(set, 11)), "second");
	ASSERT(rule_set_get(set, 12) == NULL);
	ASSERT(rule_set_find(set, "nope") == NULL);

	r = rule_set_find(set, "payments-slow");
	ASSERT(r != NULL && rule_is_enabled(r));
	f = rule_fault(r);
	ASSERT_EQ(f->latency.kind, FAULT_LAT_LOGNORMAL);
	ASSERT(fabs(f->latency.a - log(120e6)) < 1e-9);
	ASSERT(fabs(f->latency.b - (log(2e9) - log(120e6)) /
	    2.3263478740408408) < 1e-9);
	ASSERT_EQ(f->latency.max_ns, 5e9);
	ASSERT_EQ(f->status, 503);
	ASSERT_EQ(f->nheaders, 1);
	ASSERT_STR_EQ(f->headers[0].name, "Retry-After");
	ASSERT_STR_EQ(f->headers[0].value, "2");
	ASSERT(f->has_body);
	ASSERT_MEM_EQ(f->body, f->body_len, "{\"error\":\"unavailable\"}");
	ASSERT_EQ(f->malform, FAULT_MALFORM_TRUNCATE);
	ASSERT(f->truncate_at == 0.25);
	ASSERT_EQ(f->connection, FAULT_CONN_NONE);

	r = rule_set_find(set, "off");
	ASSERT(r != NULL && !rule_is_enabled(r));
	f = rule_fault(r);
	ASSERT_EQ(f->latency.kind, FAULT_LAT_FIXED);
	ASSERT_EQ(f->latency.a, 120e6);
	ASSERT_EQ(f->connection, FAULT_CONN_DRIP);
	ASSERT_EQ(f->drip_bps, 1024);

	f = rule_fault(rule_set_find(set, "mu"));
	ASSERT(fabs(f->latency.a - (4.8 + log(1e6))) < 1e-9);
	ASSERT_EQ(f->latency.b, 0.5);
	ASSERT_EQ(f->connection, FAULT_CONN_DRIP);
	ASSERT_EQ(f->drip_bps, 2048);

	f = rule_fault(rule_set_find(set, "lat-uniform"));
	ASSERT_EQ(f->latency.kind, FAULT_LAT_UNIFORM);
	ASSERT_EQ(f->latency.a, 50e6);
	ASSERT_EQ(f->latency.b, 200e6);
	f = rule_fault(rule_set_find(set, "lat-normal"));
	ASSERT_EQ(f->latency.kind, FAULT_LAT_NORMAL);
	ASSERT_EQ(f->latency.a, 100e6);
	ASSERT_EQ(f->latency.b, 20e6);
	f = rule_fault(rule_set_find(set, "lat-pareto"));
	ASSERT_EQ(f->latency.kind, FAULT_LAT_PARETO);
	ASSERT_EQ(f->latency.a, 50e6);
	ASSERT(f->latency.b == 1.5);
	f = rule_fault(rule_set_find(set, "lat-recorded"));
	ASSERT_EQ(f->latency.kind, FAULT_LAT_RECORDED);
	ASSERT_EQ(f->latency.a, 2);
	ASSERT_EQ(f->malform, FAULT_MALFORM_CORRUPT);
	f = rule_fault(rule_set_find(set, "lat-empirical"));
	ASSERT_EQ(f->latency.kind, FAULT_LAT_EMPIRICAL);
	ASSERT_EQ(f->malform, FAULT_MALFORM_OVERSIZE);
	ASSERT_EQ(f->oversize, 10 * 1024 * 1024);
	f = rule_fault(rule_set_find(set, "lat-empirical2"));
	ASSERT_EQ(f->latency.kind, FAULT_LAT_EMPIRICAL);
	ASSERT_EQ(f->latency.max_ns, 1e9);
	f = rule_fault(rule_set_find(set, "wct"));
	ASSERT_EQ(f->malform, FAULT_MALFORM_WRONG_CONTENT_TYPE);
	ASSERT_STR_EQ(f->content_type, "text/plain");
	f = rule_fault(rule_set_find(set, "drop"));
	ASSERT_EQ(f->malform, FAULT_MALFORM_DROP_FIELD);
	ASSERT_STR_EQ(f->field, "id");
	ASSERT_EQ(f->connection, FAULT_CONN_SLOW_HEADERS);
	ASSERT_EQ(f->drip_bps, 1024);
	rule_set_free(set);

	/* The seed is the first one given; none at all is reported. */
	paths[0] = p2;
	set = rule_set_load(paths, 1, &seed, &has_seed, &cause);
	ASSERT(set != NULL);
	ASSERT_EQ(has_seed, 1);
	ASSERT_EQ(seed, 7);
	rule_set_free(set);
	set = rule_set_load(NULL, 0, &seed, &has_seed, &cause);
	ASSERT(set != NULL);
	ASSERT_EQ(has_seed, 0);
	ASSERT_EQ(rule_set_count(set), 0);
	rule_set_free(set);

	/* Names are unique across files; both places are named. */
	paths[0] = p2;
	paths[1] = p2;
	cause = NULL;
	set = rule_set_load(paths, 2, NULL, NULL, &cause);
	ASSERT(set == NULL);
	if (cause != NULL) {
		ASSERT(strstr(cause, ":2:11: duplicate rule name \"second\" "
		    "(first defined at ") != NULL);
		ASSERT(strstr(cause, p2) == cause);
	}
	free(cause);

	/* A missing file is an error like any other, and the rest load. */
	paths[0] = "/nonexistent/rules.yaml";
	cause = NULL;
	set = rule_set_load(paths, 2, NULL, NULL, &cause);
	ASSERT(set == NULL);
	if (cause != NULL)
		ASSERT(strstr(cause, "/nonexistent/rules.yaml: No such file")
		    == cause);
	free(cause);
out:
	unlink(p1);
	unlink(p2);
	free(p1);
	free(p2);
}

static void
test_load_json_and_admin(void)
{
	struct rule_set	*set;

	/* JSON is YAML flow. */
	set = parse("{\"seed\": 3, \"rules\": [{\"name\": \"j\", \"match\": "
	    "{\"path\": \"^/x$\"}, \"fault\": {\"status\": 502, \"headers\": "
	    "{\"Retry-After\": \"1\"}}}]}");
	ASSERT_EQ(rule_set_count(set), 1);
	if (set != NULL)
		ASSERT_EQ(rule_fault(rule_set_get(set, 0))->status, 502);
	rule_set_free(set);

	/* The admin API: a single rule, or a list of rules. */
	set = parse("name: one\nfault: {status: 500}\n");
	ASSERT_EQ(rule_set_count(set), 1);
	rule_set_free(set);
	set = parse("- name: one\n  fault: {status: 500}\n"
	    "- name: two\n  fault: {status: 501}\n");
	ASSERT_EQ(rule_set_count(set), 2);
	rule_set_free(set);
	set = parse("[{name: a, fault: {connection: reset}}]");
	ASSERT_EQ(rule_set_count(set), 1);
	rule_set_free(set);
	/* Nothing at all is an empty set. */
	set = parse("# nothing\n");
	ASSERT(set != NULL);
	ASSERT_EQ(rule_set_count(set), 0);
	rule_set_free(set);
	set = parse("rules: []\n");
	ASSERT_EQ(rule_set_count(set), 0);
	rule_set_free(set);
}

#define R	"rules:\n  - name: a\n"
#define F	"    fault: {status: 503}\n"

/* fault: {drop: P}, the packet chaos field. */
static void
test_drop(void)
{
	struct rule_set		*set;
	const struct fault_spec	*f;
	struct buf		 b;

	set = parse("rules:\n  - name: d\n    fault: {drop: 0.05, "
	    "latency: 10ms}\n");
	if (set == NULL)
		return;
	f = rule_fault(rule_set_get(set, 0));
	ASSERT(f->drop == 0.05);
	ASSERT_EQ(f->latency.kind, FAULT_LAT_FIXED);
	buf_init(&b);
	rule_describe(rule_set_get(set, 0), &b);
	ASSERT(strstr(b.data, "\"drop\":0.05") != NULL);
	buf_free(&b);
	rule_set_free(set);
	expect_error("rules:\n  - name: d\n    fault: {drop: 1.5}\n",
	    "t:3:19: drop: a probability in (0, 1] is expected (1.5)");
	expect_error("rules:\n  - name: d\n    fault: {drop: 0}\n",
	    "t:3:19: drop: a probability in (0, 1] is expected (0)");
	expect_error("rules:\n  - name: d\n    fault: {drop: often}\n",
	    "t:3:19: drop: expected a number");
}

static void
test_errors(void)
{
	struct rule_set	*set;
	char		*cause = NULL, *p;
	const char	*text;
	int		 lines;

	/* YAML syntax, with libyaml's own position. */
	expect_error("rules:\n  - name: a\n   fault: x\n",
	    "t:3:4: while parsing a block collection did not find expected '-' "
	    "indicator");
	expect_error("rules: [\n", "t:2:1: while parsing a flow node did not "
	    "find expected node content");
	/* Unknown keys at every level. */
	expect_error("sed: 1\nrules: []\n", "t:1:1: unknown key \"sed\"");
	expect_error(R F "    colour: red\n",
	    "t:4:5: rule: unknown key \"colour\"");
	expect_error(R F "    match: {colour: red}\n",
	    "t:4:13: match: unknown key \"colour\"");
	expect_error(R F "    when: {often: 2}\n",
	    "t:4:12: when: unknown key \"often\"");
	expect_error(R "    fault: {status: 503, retry: 2}\n",
	    "t:3:26: fault: unknown key \"retry\"");
	expect_error(R "    fault: {latency: {gamma: 1}}\n",
	    "t:3:23: latency: unknown distribution \"gamma\"");
	expect_error(R "    fault: {latency: gamma}\n",
	    "t:3:22: latency: unknown distribution \"gamma\"");
	expect_error(R "    fault: {latency: {normal: {mean: 1s, sd: 1s}}}\n",
	    "t:3:42: latency: normal: unknown key \"sd\"");
	expect_error(R "    fault: {malform: {corrupt: {at: 3}}}\n",
	    "t:3:33: malform: corrupt: unknown key \"at\"");
	/* Wrong types. */
	expect_error(R F "    match: [a]\n",
	    "t:4:12: match: expected a mapping, not a list");
	expect_error(R F "    when: {after: soon}\n",
	    "t:4:19: after: expected an integer, not \"soon\"");
	expect_error(R F "    when: {after: [1]}\n",
	    "t:4:19: after: expected a single value, not a list");
	expect_error("rules: {a: 1}\n", "t:1:8: rules: expected a list, not a "
	    "mapping");
	expect_error(R F "    stop: maybe\n",
	    "t:4:11: stop: expected true or false, not \"maybe\"");
	expect_error(R F "    when: {probability: often}\n",
	    "t:4:25: probability: expected a number, not \"often\"");
	/* Bad regexes carry pcre2's message and offset. */
	expect_error(R F "    match: {path: '^/v1/(charges'}\n",
	    "t:4:19: path: bad regex at offset 13: missing closing "
	    "parenthesis");
	expect_error(R F "    match: {headers: {x-tenant: '[a'}}\n",
	    "t:4:33: headers: x-tenant: bad regex at offset 2: missing "
	    "terminating ] for character class");
	/* Values out of range. */
	expect_error(R F "    when: {probability: 1.5}\n",
	    "t:4:25: probability: must be between 0 and 1 (1.5)");
	expect_error(R F "    when: {probability: -0.1}\n",
	    "t:4:25: probability: must be between 0 and 1");
	expect_error(R F "    when: {every: 0}\n",
	    "t:4:19: every: must be at least 1 (0)");
	expect_error(R F "    when: {limit: -1}\n",
	    "t:4:19: limit: must not be negative (-1)");
	expect_error(R F "    when: {burst: -3}\n",
	    "t:4:19: burst: must not be negative (-3)");
	expect_error(R F "    when: {between: [30x, 90s]}\n",
	    "t:4:22: between: bad duration \"30x\"");
	expect_error(R F "    when: {between: [90s, 30s]}\n",
	    "t:4:21: between: the end must come after the start");
	expect_error(R F "    when: {between: [30s]}\n",
	    "t:4:21: between: expected two durations");
	expect_error(R "    fault: {latency: 12 parsecs}\n",
	    "t:3:22: latency: bad duration \"12 parsecs\"");
	expect_error(R "    fault: {malform: shred}\n",
	    "t:3:22: malform: unknown kind \"shred\"");
	expect_error(R "    fault: {malform: {shred: {}}}\n",
	    "t:3:23: malform: unknown kind \"shred\"");
	expect_error(R "    fault: {connection: explode}\n",
	    "t:3:25: connection: unknown fault \"explode\"");
	expect_error(R "    fault: {latency: {lognormal: {median: 2s, "
	    "p99: 1s}}}\n",
	    "t:3:34: latency: lognormal: p99 must be greater than median");
	expect_error(R "    fault: {latency: {lognormal: {median: 2s}}}\n",
	    "t:3:34: latency: lognormal: needs median and p99, or mu and "
	    "sigma");
	expect_error(R "    fault: {latency: {uniform: [2s, 1s]}}\n",
	    "t:3:32: latency: uniform: min is larger than max");
	expect_error(R "    fault: {latency: {recorded: 0}}\n",
	    "t:3:33: latency: recorded: the scale must be greater than 0");
	expect_error(R "    fault: {latency: {fixed: 1s, uniform: [1s, 2s]}}\n",
	    "t:3:34: latency: more than one distribution");
	expect_error(R "    fault: {status: 700}\n",
	    "t:3:21: status: must be at most 599 (700)");
	expect_error(R "    fault: {status: 99}\n",
	    "t:3:21: status: must be at least 100 (99)");
	expect_error(R "    fault: {drip: fast}\n",
	    "t:3:19: drip: bad rate \"fast\"");
	expect_error(R "    fault: {connection: reset, drip: 1KiB/s}\n",
	    "t:3:38: drip: only with connection: drip or slow_headers, not "
	    "reset");
	expect_error(R "    fault: {headers: {'Bad Name': x}}\n",
	    "t:3:23: headers: bad header name \"Bad Name\"");
	expect_error(R "    fault: {malform: {truncate: {at: -1}}}\n",
	    "t:3:38: malform: at: expected a fraction");
	expect_error(R "    fault: {malform: {oversize: {size: huge}}}\n",
	    "t:3:40: malform: size: bad size \"huge\"");
	/* Names. */
	expect_error(R F "  - name: a\n" F,
	    "t:4:11: duplicate rule name \"a\" (first defined at t:2:11)");
	expect_error("rules:\n  - fault: {status: 503}\n",
	    "t:2:5: rule: missing \"name\"");
	expect_error("rules:\n  - name: 'a b'\n" F,
	    "t:2:11: name: \"a b\" must be 1 to 128 letters");
	/* Faults. */
	expect_error(R "    fault: {}\n", "t:3:12: fault: empty");
	expect_error(R "    fault: {grpc: BOGUS}\n",
	    "t:3:19: grpc: unknown status code \"BOGUS\"");
	expect_error(R "    fault: {grpc: 17}\n",
	    "t:3:19: grpc: unknown status code \"17\"");
	expect_error(R "    fault: {grpc_message: hi}\n",
	    "t:3:12: grpc_message: only with grpc");
	expect_error(R "    fault: {per_message: true}\n",
	    "t:3:12: per_message: only with latency");
	expect_error(R, "t:2:5: rule \"a\": missing \"fault\"");
	expect_error(R "    fault: 503\n",
	    "t:3:12: fault: expected a mapping, not a value");
	/* The file itself. */
	expect_error("seed: abc\nrules: []\n",
	    "t:1:7: seed: expected a non-negative integer, not \"abc\"");
	expect_error("seed: 1\n", "t:1:1: missing \"rules\"");
	expect_error(R "    fault: {status: 503, status: 504}\n",
	    "t:3:26: fault: duplicate key \"status\"");
	expect_error(R F "    match: {dir: sideways}\n",
	    "t:4:18: dir: expected in or out, not \"sideways\"");
	expect_error("rules: []\n---\nrules: []\n",
	    "t:3:1: more than one YAML document");
	/* Quoted control characters cannot split an error line. */
	expect_error(R F "    \"x\\ny\": 1\n",
	    "t:4:5: rule: unknown key \"x?y\"");

	/* A mapping with too many keys is refused before they are compared. */
	{
		struct buf	big;
		int		i;

		buf_init(&big);
		buf_append_str(&big, "rules:\n  - name: a\n    fault: "
		    "{status: 503}\n    match: {headers: {");
		for (i = 0; i < 1025; i++)
			buf_printf(&big, "%sh%d: x", i > 0 ? ", " : "", i);
		buf_append_str(&big, "}}\n");
		expect_error(big.data, "t:4:22: headers: more than 1024 keys");
		buf_free(&big);
	}

	/* Every error is reported, one per line, and the load fails once. */
	text = "rules:\n"
	    "  - name: a\n"
	    "    when: {every: 0}\n"
	    "    fault: {status: 1000}\n"
	    "  - name: b\n"
	    "    match: {path: '('}\n"
	    "    fault: {malform: shred}\n";
	set = rule_set_parse("t", text, strlen(text), &cause);
	ASSERT(set == NULL);
	lines = 0;
	for (p = cause; p != NULL && *p != '\0'; p++)
		lines += *p == '\n';
	ASSERT_EQ(lines + 1, 4);
	if (cause != NULL) {
		ASSERT(strstr(cause, "t:3:19: every") != NULL);
		ASSERT(strstr(cause, "t:4:21: status") != NULL);
		ASSERT(strstr(cause, "t:6:19: path") != NULL);
		ASSERT(strstr(cause, "t:7:22: malform") != NULL);
	}
	free(cause);
}

#undef R
#undef F

/* 1 if a rule with this match mapping fires for req. */
static int
matches(const char *match, const struct rule_req *req)
{
	struct rule_set	*set;
	struct rule_ctx	 ctx;
	struct rule_hit	 hits[RULE_MAX_HITS];
	char		*text;
	size_t		 n;

	text = xasprintf("rules:\n  - name: m\n    match: %s\n"
	    "    fault: {status: 500}\n", match);
	set = parse(text);
	free(text);
	if (set == NULL)
		return -1;
	memset(&ctx, 0, sizeof ctx);
	ctx.recorded_ns = -1;
	n = rule_set_eval(set, req, &ctx, hits, RULE_MAX_HITS);
	rule_set_free(set);
	return (int)n;
}

static void
test_match(void)
{
	struct rule_req	r = req_charge(), r2;

	ASSERT_EQ(matches("{}", &r), 1);
	ASSERT_EQ(matches("{dir: out}", &r), 1);
	ASSERT_EQ(matches("{dir: in}", &r), 0);

	/* Host: case-insensitive, matched without its port, or with it. */
	ASSERT_EQ(matches("{host: '^payments\\.shop\\.internal$'}", &r), 1);
	ASSERT_EQ(matches("{host: '^PAYMENTS\\.Shop\\.internal$'}", &r), 1);
	ASSERT_EQ(matches("{host: ':40003$'}", &r), 1);
	ASSERT_EQ(matches("{host: '^inventory'}", &r), 0);
	r2 = req_make(SNAP_DIR_OUT, "GET", "[::1]:8080", "/", NULL, NULL);
	ASSERT_EQ(matches("{host: '^\\[::1\\]$'}", &r2), 1);
	r2 = req_make(SNAP_DIR_OUT, "GET", "fe80::1", "/", NULL, NULL);
	ASSERT_EQ(matches("{host: '^fe80::1$'}", &r2), 1);

	/* Method: a plain name matches exactly; otherwise a regex. */
	ASSERT_EQ(matches("{method: POST}", &r), 1);
	ASSERT_EQ(matches("{method: POS}", &r), 0);
	ASSERT_EQ(matches("{method: post}", &r), 0);
	ASSERT_EQ(matches("{method: '^(PUT|POST)$'}", &r), 1);
	ASSERT_EQ(matches("{method: 'OS'}", &r), 0);
	ASSERT_EQ(matches("{method: '.OS.'}", &r), 1);

	/* Path: anchors mean what they say. */
	ASSERT_EQ(matches("{path: '^/v1/charges$'}", &r), 1);
	ASSERT_EQ(matches("{path: '^/v1/charge$'}", &r), 0);
	ASSERT_EQ(matches("{path: 'charges'}", &r), 1);
	ASSERT_EQ(matches("{path: '^charges'}", &r), 0);

	/* Route: an endpoint template, one {...} per non-empty segment. */
	ASSERT_EQ(matches("{route: '/v1/charges'}", &r), 1);
	ASSERT_EQ(matches("{route: '/v1/{id}'}", &r), 1);
	ASSERT_EQ(matches("{route: '/{v}/{id}'}", &r), 1);
	ASSERT_EQ(matches("{route: '/v1'}", &r), 0);
	ASSERT_EQ(matches("{route: '/v1/{id}/refunds'}", &r), 0);
	r2 = req_make(SNAP_DIR_OUT, "GET", "h", "/orders/3f2c9a", NULL, NULL);
	ASSERT_EQ(matches("{route: '/orders/{id}'}", &r2), 1);
	r2 = req_make(SNAP_DIR_OUT, "GET", "h", "/orders/", NULL, NULL);
	ASSERT_EQ(matches("{route: '/orders/{id}'}", &r2), 0);

	/* Query: the parameter must be present and its raw value match. */
	ASSERT_EQ(matches("{query: {currency: '^usd$'}}", &r), 1);
	ASSERT_EQ(matches("{query: {currency: '^eur$'}}", &r), 0);
	ASSERT_EQ(matches("{query: {amount: ''}}", &r), 0);
	ASSERT_EQ(matches("{query: {expand: '^$'}}", &r), 1);
	ASSERT_EQ(matches("{query: {curr: ''}}", &r), 0);
	r2 = req_make(SNAP_DIR_OUT, "GET", "h", "/", "a=1&a=%41&b", NULL);
	ASSERT_EQ(matches("{query: {a: '^%41$'}}", &r2), 1);
	ASSERT_EQ(matches("{query: {a: '^A$'}}", &r2), 0);
	ASSERT_EQ(matches("{query: {a: '^1$', b: ''}}", &r2), 1);
	r2 = req_make(SNAP_DIR_OUT, "GET", "h", "/", NULL, NULL);
	ASSERT_EQ(matches("{query: {a: ''}}", &r2), 0);

	/* Headers: names case-insensitive, any header of that name. */
	ASSERT_EQ(matches("{headers: {X-TENANT: '^gold$'}}", &r), 1);
	ASSERT_EQ(matches("{headers: {x-tenant: '^silver$'}}", &r), 1);
	ASSERT_EQ(matches("{headers: {x-tenant: '^bronze$'}}", &r), 0);
	ASSERT_EQ(matches("{headers: {x-missing: ''}}", &r), 0);
	ASSERT_EQ(matches("{headers: {content-type: json, x-tenant: gold}}",
	    &r), 1);

	/* Body: bytes, not necessarily UTF-8; no body is an empty one. */
	ASSERT_EQ(matches("{body: '\"amount\":\\s*\\d{4}\\}'}", &r), 1);
	ASSERT_EQ(matches("{body: '\"amount\":\\s*\\d{5,}'}", &r), 0);
	r2 = req_make(SNAP_DIR_OUT, "GET", "h", "/", NULL, "\xff\xfe" "abc");
	ASSERT_EQ(matches("{body: 'abc$'}", &r2), 1);
	r2 = req_make(SNAP_DIR_OUT, "GET", "h", "/", NULL, NULL);
	ASSERT_EQ(matches("{body: '^$'}", &r2), 1);
	ASSERT_EQ(matches("{body: 'x'}", &r2), 0);

	/* All fields must match. */
	ASSERT_EQ(matches("{dir: out, method: POST, path: '^/v1/', host: "
	    "payments, query: {currency: usd}}", &r), 1);
	ASSERT_EQ(matches("{dir: out, method: GET, path: '^/v1/'}", &r), 0);
}

/*
 * Evaluates set n times with occurrence 0..n-1 at the given time and
 * writes '1' or '0' per evaluation for whether rule index `which` fired.
 */
static void
pattern(struct rule_set *set, size_t which, size_t n, uint64_t elapsed,
    char *out)
{
	struct rule_req		 r = req_charge();
	struct rule_ctx		 ctx;
	struct rule_hit		 hits[RULE_MAX_HITS];
	const struct rule	*want = rule_set_get(set, which);
	size_t			 i, j, nh;

	memset(&ctx, 0, sizeof ctx);
	ctx.recorded_ns = -1;
	ctx.elapsed_ns = elapsed;
	for (i = 0; i < n; i++) {
		ctx.occurrence = i;
		nh = rule_set_eval(set, &r, &ctx, hits, RULE_MAX_HITS);
		out[i] = '0';
		for (j = 0; j < nh; j++) {
			if (hits[j].rule == want)
				out[i] = '1';
		}
	}
	out[n] = '\0';
}

static void
check_pattern(int line, const char *when, const char *want)
{
	struct rule_set	*set;
	char		*text, got[128];

	text = xasprintf("rules:\n  - name: w\n    when: %s\n"
	    "    fault: {status: 503}\n", when);
	set = parse(text);
	free(text);
	if (set == NULL)
		return;
	pattern(set, 0, strlen(want), 0, got);
	unit_checks++;
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "%s:%d: ", __FILE__, line);
		UNIT_FAIL("when %s: expected %s, got %s", when, want, got);
	}
	rule_set_free(set);
}
#define CHECK_PATTERN(w, p)	check_pattern(__LINE__, (w), (p))

static void
test_firing(void)
{
	struct rule_set		*set;
	struct rule_req		 r = req_charge();
	struct rule_ctx		 ctx;
	struct rule_hit		 hits[RULE_MAX_HITS];
	const struct rule	*a, *b;
	char			 got[64];
	size_t			 n;

	CHECK_PATTERN("{}", "1111");
	CHECK_PATTERN("{after: 3}", "000111");
	CHECK_PATTERN("{every: 3}", "001001001");
	CHECK_PATTERN("{every: 1}", "1111");
	CHECK_PATTERN("{after: 2, every: 3}", "0000100100");
	CHECK_PATTERN("{limit: 2}", "110000");
	CHECK_PATTERN("{limit: 0}", "0000");
	CHECK_PATTERN("{every: 2, limit: 2}", "01010000");
	CHECK_PATTERN("{every: 4, burst: 2}", "000111011101");
	CHECK_PATTERN("{every: 4, burst: 2, limit: 4}", "000111010000");
	CHECK_PATTERN("{after: 1, limit: 3, burst: 5}", "01110000");
	CHECK_PATTERN("{probability: 0}", "00000000");
	CHECK_PATTERN("{probability: 1}", "11111111");
	/* A burst fires without consulting every or probability. */
	CHECK_PATTERN("{probability: 1, limit: 1, burst: 3}", "10000");
	CHECK_PATTERN("{every: 5, burst: 3, after: 0}", "0000111101111");

	/* between [a, b) is checked against elapsed_ns. */
	set = parse("rules:\n  - name: w\n    when: {between: [1s, 2s]}\n"
	    "    fault: {status: 503}\n");
	if (set != NULL) {
		pattern(set, 0, 2, 999999999ULL, got);
		ASSERT_STR_EQ(got, "00");
		pattern(set, 0, 2, 1000000000ULL, got);
		ASSERT_STR_EQ(got, "11");
		pattern(set, 0, 2, 1999999999ULL, got);
		ASSERT_STR_EQ(got, "11");
		pattern(set, 0, 2, 2000000000ULL, got);
		ASSERT_STR_EQ(got, "00");
		/* Matches outside the window still count. */
		ASSERT_EQ(rule_matched(rule_set_get(set, 0)), 8);
		ASSERT_EQ(rule_fired(rule_set_get(set, 0)), 4);
	}
	rule_set_free(set);

	/* A burst's matches outside the window use up its slots. */
	set = parse("rules:\n  - name: w\n    when: {between: [1s, 2s], "
	    "burst: 2, every: 10}\n    fault: {status: 503}\n");
	if (set != NULL) {
		pattern(set, 0, 10, 1000000000ULL, got);
		ASSERT_STR_EQ(got, "0000000001");
		pattern(set, 0, 3, 3000000000ULL, got);
		ASSERT_STR_EQ(got, "000");
		pattern(set, 0, 10, 1000000000ULL, got);
		ASSERT_STR_EQ(got, "0000001110");
	}
	rule_set_free(set);

	memset(&ctx, 0, sizeof ctx);
	ctx.recorded_ns = -1;

	/* stop: true ends the evaluation, but only once the rule fires. */
	set = parse("rules:\n"
	    "  - name: a\n    when: {after: 1}\n    stop: true\n"
	    "    fault: {status: 503, latency: 120ms}\n"
	    "  - name: b\n    fault: {status: 500}\n");
	if (set != NULL) {
		a = rule_set_get(set, 0);
		b = rule_set_get(set, 1);
		n = rule_set_eval(set, &r, &ctx, hits, RULE_MAX_HITS);
		ASSERT_EQ(n, 1);
		ASSERT(hits[0].rule == b);
		n = rule_set_eval(set, &r, &ctx, hits, RULE_MAX_HITS);
		ASSERT_EQ(n, 1);
		ASSERT(hits[0].rule == a);
		ASSERT(hits[0].fault == rule_fault(a));
		ASSERT_EQ(hits[0].match_no, 2);
		ASSERT_EQ(hits[0].latency_ns, 120000000);
		ASSERT_EQ(rule_matched(b), 1);
	}
	rule_set_free(set);

	/* Without stop every firing rule is a hit, in order; max bounds. */
	set = parse("rules:\n"
	    "  - name: a\n    fault: {status: 503}\n"
	    "  - name: b\n    fault: {status: 500}\n"
	    "  - name: c\n    fault: {status: 502}\n");
	if (set != NULL) {
		n = rule_set_eval(set, &r, &ctx, hits, RULE_MAX_HITS);
		ASSERT_EQ(n, 3);
		ASSERT(hits[0].rule == rule_set_get(set, 0));
		ASSERT(hits[2].rule == rule_set_get(set, 2));
		n = rule_set_eval(set, &r, &ctx, hits, 1);
		ASSERT_EQ(n, 1);
		ASSERT(hits[0].rule == rule_set_get(set, 0));
	}
	rule_set_free(set);

	/* A connection fault ends the evaluation. */
	set = parse("rules:\n"
	    "  - name: a\n    fault: {status: 503}\n"
	    "  - name: b\n    fault: {connection: reset}\n"
	    "  - name: c\n    fault: {status: 502}\n");
	if (set != NULL) {
		n = rule_set_eval(set, &r, &ctx, hits, RULE_MAX_HITS);
		ASSERT_EQ(n, 2);
		ASSERT(hits[1].rule == rule_set_get(set, 1));
		ASSERT_EQ(rule_matched(rule_set_get(set, 2)), 0);
	}
	rule_set_free(set);

	/* A disabled rule neither matches nor fires nor stops anything. */
	set = parse("rules:\n"
	    "  - name: a\n    enabled: false\n    stop: true\n"
	    "    fault: {connection: reset}\n"
	    "  - name: b\n    fault: {status: 500}\n");
	if (set != NULL) {
		n = rule_set_eval(set, &r, &ctx, hits, RULE_MAX_HITS);
		ASSERT_EQ(n, 1);
		ASSERT(hits[0].rule == rule_set_get(set, 1));
		ASSERT_EQ(rule_matched(rule_set_get(set, 0)), 0);
		ASSERT_EQ(rule_fired(rule_set_get(set, 0)), 0);
	}
	rule_set_free(set);

	/* A rule that does not match counts nothing. */
	set = parse("rules:\n  - name: a\n    match: {method: GET}\n"
	    "    fault: {status: 500}\n");
	if (set != NULL) {
		n = rule_set_eval(set, &r, &ctx, hits, RULE_MAX_HITS);
		ASSERT_EQ(n, 0);
		ASSERT_EQ(rule_matched(rule_set_get(set, 0)), 0);
	}
	rule_set_free(set);

	/* Recorded latency is scaled. */
	set = parse("rules:\n  - name: a\n    fault: {latency: {recorded: 2}}\n");
	if (set != NULL) {
		ctx.recorded_ns = 1500000;
		n = rule_set_eval(set, &r, &ctx, hits, RULE_MAX_HITS);
		ASSERT_EQ(n, 1);
		ASSERT_EQ(hits[0].latency_ns, 3000000);
		ctx.recorded_ns = -1;
	}
	rule_set_free(set);
}

/* Fires a probability rule over npairs (sig, occurrence) pairs. */
static size_t
fire_set(struct rule_set *set, uint64_t seed, size_t npairs, int reverse,
    char *bits, uint64_t *lat)
{
	struct rule_req	r = req_charge();
	struct rule_ctx	ctx;
	struct rule_hit	hits[RULE_MAX_HITS];
	size_t		i, k, fired = 0;

	memset(&ctx, 0, sizeof ctx);
	ctx.recorded_ns = -1;
	ctx.seed = seed;
	for (k = 0; k < npairs; k++) {
		i = reverse ? npairs - 1 - k : k;
		ctx.sig = 0x9e3779b97f4a7c15ULL * (i / 7 + 1);
		ctx.occurrence = i % 7;
		if (rule_set_eval(set, &r, &ctx, hits, RULE_MAX_HITS) == 1) {
			fired++;
			if (bits != NULL)
				bits[i] = 1;
			if (lat != NULL)
				lat[i] = hits[0].latency_ns;
		}
	}
	return fired;
}

static void
test_probability(void)
{
	struct rule_set	*set;
	size_t		 fired;

	set = parse("rules:\n  - name: p\n    when: {probability: 0.1}\n"
	    "    fault: {status: 503}\n");
	if (set == NULL)
		return;
	fired = fire_set(set, 1, 10000, 0, NULL, NULL);
	ASSERT(fired >= 901 && fired <= 1099);
	if (fired < 901 || fired > 1099)
		fprintf(stderr, "probability 0.1: fired %zu of 10000\n", fired);
	ASSERT_EQ(rule_matched(rule_set_get(set, 0)), 10000);
	ASSERT_EQ(rule_fired(rule_set_get(set, 0)), fired);
	rule_set_free(set);
}

static void
test_determinism(void)
{
	static const char *text = "rules:\n  - name: p\n"
	    "    when: {probability: 0.3}\n"
	    "    fault: {latency: {uniform: [1ms, 1s]}}\n";
	enum { N = 2000 };
	struct rule_set	*s1, *s2, *s3;
	char		*b1, *b2, *b3;
	uint64_t	*l1, *l2;

	b1 = xcalloc(N, 1);
	b2 = xcalloc(N, 1);
	b3 = xcalloc(N, 1);
	l1 = xcalloc(N, sizeof *l1);
	l2 = xcalloc(N, sizeof *l2);
	s1 = parse(text);
	s2 = parse(text);
	s3 = parse(text);
	if (s1 != NULL && s2 != NULL && s3 != NULL) {
		/* Same seed, any order, fresh counters: the same faults. */
		fire_set(s1, 42, N, 0, b1, l1);
		fire_set(s2, 42, N, 1, b2, l2);
		ASSERT(memcmp(b1, b2, N) == 0);
		ASSERT(memcmp(l1, l2, N * sizeof *l1) == 0);
		/* Another seed: another set. */
		fire_set(s3, 43, N, 0, b3, NULL);
		ASSERT(memcmp(b1, b3, N) != 0);
	}
	rule_set_free(s1);
	rule_set_free(s2);
	rule_set_free(s3);
	free(b1);
	free(b2);
	free(b3);
	free(l1);
	free(l2);
}

struct conc_arg {
	struct rule_set	*set;
	size_t		 n;
	size_t		 base;
	size_t		 fired;
};

static void *
conc_run(void *p)
{
	struct conc_arg	*a = p;
	struct rule_req	 r = req_charge();
	struct rule_ctx	 ctx;
	struct rule_hit	 hits[RULE_MAX_HITS];
	size_t		 i;

	memset(&ctx, 0, sizeof ctx);
	ctx.recorded_ns = -1;
	for (i = 0; i < a->n; i++) {
		ctx.sig = a->base + i;
		a->fired += rule_set_eval(a->set, &r, &ctx, hits,
		    RULE_MAX_HITS);
	}
	return NULL;
}

static void
test_concurrency(void)
{
	static const char *texts[] = {
	    "rules:\n  - name: l\n    when: {limit: 100}\n"
	    "    fault: {status: 503}\n",
	    "rules:\n  - name: l\n    when: {limit: 100, probability: 0.5, "
	    "burst: 3}\n    fault: {status: 503}\n",
	};
	struct conc_arg	 args[4];
	pthread_t	 th[4];
	struct rule_set	*set;
	size_t		 i, t, total;

	for (t = 0; t < NITEMS(texts); t++) {
		if ((set = parse(texts[t])) == NULL)
			continue;
		for (i = 0; i < 4; i++) {
			args[i].set = set;
			args[i].n = 2500;
			args[i].base = i * 2500;
			args[i].fired = 0;
			if (pthread_create(&th[i], NULL, conc_run,
			    &args[i]) != 0) {
				UNIT_FAIL("pthread_create");
				exit(1);
			}
		}
		total = 0;
		for (i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			total += args[i].fired;
		}
		ASSERT_EQ(total, 100);
		ASSERT_EQ(rule_fired(rule_set_get(set, 0)), 100);
		ASSERT_EQ(rule_matched(rule_set_get(set, 0)), 10000);
		rule_set_free(set);
	}
}

static void
test_cow(void)
{
	struct rule_set		*s1, *s2, *s3, *s4, *add, *bad;
	struct rule_req		 r = req_charge();
	struct rule_ctx		 ctx;
	struct rule_hit		 hits[RULE_MAX_HITS];
	char			*cause = NULL;

	memset(&ctx, 0, sizeof ctx);
	ctx.recorded_ns = -1;
	s1 = parse("rules:\n"
	    "  - name: a\n    fault: {status: 503}\n"
	    "  - name: b\n    fault: {status: 500}\n");
	add = parse("name: c\nfault: {status: 502}\n");
	if (s1 == NULL || add == NULL)
		return;
	rule_set_eval(s1, &r, &ctx, hits, RULE_MAX_HITS);
	rule_set_eval(s1, &r, &ctx, hits, RULE_MAX_HITS);

	/* Disabling a: a new set; the old one still has a enabled. */
	s2 = rule_set_enable(s1, "a", 0, &cause);
	ASSERT(s2 != NULL);
	if (s2 == NULL)
		return;
	ASSERT(rule_is_enabled(rule_set_find(s1, "a")));
	ASSERT(!rule_is_enabled(rule_set_find(s2, "a")));
	ASSERT_EQ(rule_matched(rule_set_find(s2, "a")), 2);
	ASSERT_EQ(rule_fired(rule_set_find(s2, "a")), 2);
	/* b is shared as is. */
	ASSERT(rule_set_find(s1, "b") == rule_set_find(s2, "b"));
	ASSERT_EQ(rule_set_eval(s2, &r, &ctx, hits, RULE_MAX_HITS), 1);
	ASSERT_EQ(rule_fired(rule_set_find(s1, "b")), 3);
	ASSERT_EQ(rule_matched(rule_set_find(s1, "a")), 2);

	/* Removing b and appending c keep a's counters. */
	s3 = rule_set_remove(s2, "b", &cause);
	ASSERT(s3 != NULL);
	ASSERT_EQ(rule_set_count(s3), 1);
	s4 = rule_set_append(s3, add, &cause);
	ASSERT(s4 != NULL);
	ASSERT_EQ(rule_set_count(s4), 2);
	ASSERT_STR_EQ(rule_name(rule_set_get(s4, 1)), "c");
	rule_set_free(s3);
	s3 = rule_set_enable(s4, "a", 1, &cause);
	ASSERT(s3 != NULL);
	ASSERT(rule_is_enabled(rule_set_find(s3, "a")));
	ASSERT_EQ(rule_matched(rule_set_find(s3, "a")), 2);
	ASSERT_EQ(rule_set_eval(s3, &r, &ctx, hits, RULE_MAX_HITS), 2);
	ASSERT_EQ(rule_fired(rule_set_find(s1, "a")), 3);

	/* Clashing and unknown names. */
	bad = rule_set_append(s4, add, &cause);
	ASSERT(bad == NULL);
	ASSERT_STR_EQ(cause, "rule \"c\" already exists");
	free(cause);
	cause = NULL;
	ASSERT(rule_set_remove(s4, "zz", &cause) == NULL);
	ASSERT_STR_EQ(cause, "no rule named \"zz\"");
	free(cause);
	cause = NULL;
	ASSERT(rule_set_enable(s4, "zz", 1, &cause) == NULL);
	ASSERT_STR_EQ(cause, "no rule named \"zz\"");
	free(cause);

	/* Freed in any order; ASan's leak check proves the refcounts. */
	rule_set_free(s1);
	rule_set_free(add);
	rule_set_free(s4);
	ASSERT_EQ(rule_matched(rule_set_find(s3, "c")), 1);
	rule_set_free(s2);
	rule_set_free(s3);
}

/*
 * The two-step evaluation the responder caches (static mask, then headers,
 * body and firing) decides exactly what rule_set_eval() decides: two
 * sets from one text (so separate counters) see the same requests.
 */
static void
test_mask_equivalence(void)
{
	const char *text =
	    "rules:\n"
	    "  - name: m\n"
	    "    match: {method: POST, path: '^/v1/charges$'}\n"
	    "    when: {every: 2}\n"
	    "    fault: {latency: 5ms}\n"
	    "  - name: h\n"
	    "    match: {host: '^payments\\.', headers: {x-tenant: '^gold$'}}\n"
	    "    fault: {status: 503}\n"
	    "  - name: b\n"
	    "    match: {body: '\"amount\":\\s*48'}\n"
	    "    when: {probability: 0.5}\n"
	    "    fault: {malform: truncate}\n"
	    "  - name: q\n"
	    "    match: {query: {currency: '^usd$'}}\n"
	    "    when: {limit: 3}\n"
	    "    fault: {status: 500}\n"
	    "    stop: true\n"
	    "  - name: never\n"
	    "    match: {path: '^/nothing$'}\n"
	    "    fault: {status: 500}\n";
	struct rule_set	*a = parse(text), *b = parse(text);
	struct rule_req	 reqs[3];
	struct rule_hit	 ha[RULE_MAX_HITS], hb[RULE_MAX_HITS];
	struct rule_ctx	 ctx;
	size_t		 i, k, na, nb;
	uint64_t	 mask;

	if (a == NULL || b == NULL)
		return;
	reqs[0] = req_charge();
	reqs[1] = req_make(SNAP_DIR_OUT, "GET", "inventory:1", "/v1/stock",
	    NULL, NULL);
	reqs[2] = req_make(SNAP_DIR_OUT, "POST", "payments.x", "/v1/charges",
	    "currency=eur", "{\"amount\": 48}");
	memset(&ctx, 0, sizeof ctx);
	ctx.seed = 3;
	ctx.recorded_ns = -1;
	for (i = 0; i < 60; i++) {
		ctx.sig = i % 3;
		ctx.occurrence = i / 3;
		na = rule_set_eval(a, &reqs[i % 3], &ctx, ha, RULE_MAX_HITS);
		mask = rule_set_static_mask(b, &reqs[i % 3]);
		nb = rule_set_eval_mask(b, &reqs[i % 3], &ctx, mask, hb,
		    RULE_MAX_HITS);
		ASSERT_EQ(nb, na);
		for (k = 0; k < na && k < nb; k++) {
			ASSERT_STR_EQ(rule_name(hb[k].rule),
			    rule_name(ha[k].rule));
			ASSERT_EQ(hb[k].latency_ns, ha[k].latency_ns);
			ASSERT_EQ(hb[k].match_no, ha[k].match_no);
		}
	}
	/* Only the body rule has no signature field to fail on. */
	ASSERT_EQ(rule_set_static_mask(b, &reqs[1]), 1 << 2);
	rule_set_free(a);
	rule_set_free(b);
}

/* The HTTP/2 faults: codes by name (any case) or number, described back
 * in the same shape, errors with file:line:col. */
static void
test_h2_faults(void)
{
	struct rule_set		*set;
	const struct fault_spec	*f;
	struct buf		 b;

	set = parse("rules:\n"
	    "  - name: a\n    fault: {rst_stream: refused_stream}\n"
	    "  - name: b\n    fault: {goaway: ENHANCE_YOUR_CALM}\n"
	    "  - name: c\n    fault: {rst_stream: 0x1f}\n"
	    "  - name: d\n    fault: {connection: stall}\n"
	    "  - name: e\n    fault: {connection: rst_stream}\n");
	ASSERT_EQ(rule_set_count(set), 5);
	if (set == NULL || rule_set_count(set) != 5)
		return;
	f = rule_fault(rule_set_get(set, 0));
	ASSERT_EQ(f->connection, FAULT_CONN_RST_STREAM);
	ASSERT_EQ(f->h2_code, 7);
	f = rule_fault(rule_set_get(set, 1));
	ASSERT_EQ(f->connection, FAULT_CONN_GOAWAY);
	ASSERT_EQ(f->h2_code, 11);
	ASSERT_EQ(rule_fault(rule_set_get(set, 2))->h2_code, 0x1f);
	ASSERT_EQ(rule_fault(rule_set_get(set, 3))->connection,
	    FAULT_CONN_STALL);
	/* connection: rst_stream without a code: INTERNAL_ERROR. */
	ASSERT_EQ(rule_fault(rule_set_get(set, 4))->h2_code, 2);
	buf_init(&b);
	rule_describe(rule_set_get(set, 1), &b);
	ASSERT(strstr(b.data, "\"goaway\":\"ENHANCE_YOUR_CALM\"") != NULL);
	buf_reset(&b);
	rule_describe(rule_set_get(set, 2), &b);
	ASSERT(strstr(b.data, "\"rst_stream\":\"0x1f\"") != NULL);
	buf_free(&b);
	rule_set_free(set);
	ASSERT(fault_conn_is_h2(FAULT_CONN_STALL));
	ASSERT(!fault_conn_is_h2(FAULT_CONN_RESET));

	expect_error("rules:\n  - name: a\n" "    fault: {rst_stream: NOPE}\n",
	    "t:3:25: rst_stream: unknown HTTP/2 error code \"NOPE\"");
	expect_error("rules:\n  - name: a\n" "    fault: {goaway: 99999999999}\n",
	    "t:3:21: goaway: unknown HTTP/2 error code");
	expect_error("rules:\n  - name: a\n"
	    "    fault: {connection: reset, goaway: CANCEL}\n",
	    "t:3:32: goaway: one connection fault per rule (reset given)");
}

static void
test_describe(void)
{
	struct rule_set		*set;
	struct json_parser	 p;
	struct buf		 b;
	size_t			 i;

	set = parse("rules:\n"
	    "  - name: d\n"
	    "    match: {dir: out, host: 'h\"x', method: POST, path: '^/p', "
	    "query: {q: '1'}, headers: {X-A: b}, body: \"\\x01\"}\n"
	    "    when: {probability: 0.25, after: 1, every: 2, limit: 3, "
	    "burst: 4, between: [1s, 2s]}\n"
	    "    fault: {latency: {pareto: {scale: 1ms, shape: 2}, max: 1s}, "
	    "status: 503, headers: {Retry-After: '2'}, body: \"\\0x\", "
	    "malform: {swap_types: {field: amount}}, connection: drip}\n"
	    "    stop: true\n"
	    "  - name: e\n    enabled: false\n    fault: {latency: 1s}\n");
	if (set == NULL)
		return;
	buf_init(&b);
	rule_describe(rule_set_get(set, 0), &b);
	ASSERT_STR_EQ(b.data, "{\"name\":\"d\",\"enabled\":true,\"match\":"
	    "{\"dir\":\"out\",\"host\":\"h\\\"x\",\"method\":\"POST\","
	    "\"path\":\"^/p\",\"query\":{\"q\":\"1\"},\"headers\":"
	    "{\"X-A\":\"b\"},\"body\":\"\\u0001\"},\"when\":"
	    "{\"probability\":0.25,\"after\":1,\"every\":2,\"limit\":3,"
	    "\"burst\":4,\"between_ns\":[1000000000,2000000000]},\"fault\":"
	    "{\"latency\":{\"kind\":\"pareto\",\"scale_ns\":1000000,"
	    "\"shape\":2,\"cap_ns\":1000000000},\"status\":503,\"headers\":"
	    "{\"Retry-After\":\"2\"},\"body\":\"\\u0000x\",\"malform\":"
	    "\"swap_types\",\"field\":\"amount\",\"connection\":\"drip\","
	    "\"drip_bps\":1024},\"stop\":true,\"matched\":0,\"fired\":0}");
	rule_set_free(set);

	/* Each latency distribution names its parameters. */
	set = parse("rules:\n"
	    "  - name: f\n    fault: {latency: 2ms}\n"
	    "  - name: u\n    fault: {latency: {uniform: [1ms, 3ms]}}\n"
	    "  - name: n\n    fault: {latency: {normal: {mean: 5ms, "
	    "stddev: 1ms}}}\n"
	    "  - name: l\n    fault: {latency: {lognormal: {mu: 0, "
	    "sigma: 0.5}}}\n"
	    "  - name: r\n    fault: {latency: {recorded: 2}}\n"
	    "  - name: e\n    fault: {latency: empirical}\n");
	if (set == NULL) {
		buf_free(&b);
		return;
	}
	{
		static const char *const want[] = {
		    "{\"kind\":\"fixed\",\"ns\":2000000}",
		    "{\"kind\":\"uniform\",\"min_ns\":1000000,"
		    "\"max_ns\":3000000}",
		    "{\"kind\":\"normal\",\"mean_ns\":5000000,"
		    "\"stddev_ns\":1000000}",
		    "{\"kind\":\"lognormal\",\"mu_ln_ns\":13.815510557964274,"
		    "\"sigma\":0.5}",
		    "{\"kind\":\"recorded\",\"scale\":2}",
		    "{\"kind\":\"empirical\"}",
		};

		for (i = 0; i < rule_set_count(set); i++) {
			buf_reset(&b);
			rule_describe(rule_set_get(set, i), &b);
			if (strstr(b.data, want[i]) == NULL)
				UNIT_FAIL("rule %zu: no %s in %s", i, want[i],
				    b.data);
			unit_checks++;
		}
	}
	for (i = 0; i < rule_set_count(set); i++) {
		buf_reset(&b);
		rule_describe(rule_set_get(set, i), &b);
		json_init(&p, b.data, b.len);
		ASSERT_EQ(json_skip(&p, NULL), 0);
		ASSERT_EQ(json_finish(&p), 0);
	}
	buf_free(&b);
	rule_set_free(set);
}

/* Every recipe shipped in rules/ loads. */
static void
test_recipes(void)
{
	struct rule_set	*set;
	struct dirent	*de;
	const char	*srcdir, *path;
	char		*dir, *cause, *full;
	size_t		 len, n = 0;
	DIR		*d;

	if ((srcdir = getenv("srcdir")) == NULL || *srcdir == '\0')
		srcdir = getenv("top_srcdir");
	if (srcdir == NULL || *srcdir == '\0')
		srcdir = ".";
	dir = xasprintf("%s/rules", srcdir);
	if ((d = opendir(dir)) == NULL) {
		UNIT_FAIL("%s: cannot open", dir);
		free(dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		full = xasprintf("%s/%s", dir, de->d_name);
		path = full;
		cause = NULL;
		set = rule_set_load(&path, 1, NULL, NULL, &cause);
		ASSERT(set != NULL);
		if (set == NULL)
			fprintf(stderr, "%s\n", cause);
		else
			ASSERT(rule_set_count(set) > 0);
		free(cause);
		rule_set_free(set);
		free(full);
		n++;
	}
	closedir(d);
	free(dir);
	ASSERT(n >= 6);
}

/* Rules packet chaos can decide once per connection: dir and host only. */
static void
test_per_connection(void)
{
	struct rule_set	*set;

	set = parse("rules:\n"
	    "  - name: none\n    fault: {connection: reset}\n"
	    "  - name: dir-host\n    match: {dir: out, host: '^db:'}\n"
	    "    fault: {drop: 0.5}\n"
	    "  - name: method\n    match: {host: x, method: GET}\n"
	    "    fault: {drop: 0.5}\n"
	    "  - name: path\n    match: {path: /}\n    fault: {drop: 0.5}\n"
	    "  - name: query\n    match: {query: {a: b}}\n"
	    "    fault: {drop: 0.5}\n"
	    "  - name: header\n    match: {headers: {A: b}}\n"
	    "    fault: {drop: 0.5}\n"
	    "  - name: body\n    match: {body: x}\n    fault: {drop: 0.5}\n");
	if (set == NULL)
		return;
	ASSERT_EQ(rule_is_per_connection(rule_set_find(set, "none")), 1);
	ASSERT_EQ(rule_is_per_connection(rule_set_find(set, "dir-host")), 1);
	ASSERT_EQ(rule_is_per_connection(rule_set_find(set, "method")), 0);
	ASSERT_EQ(rule_is_per_connection(rule_set_find(set, "path")), 0);
	ASSERT_EQ(rule_is_per_connection(rule_set_find(set, "query")), 0);
	ASSERT_EQ(rule_is_per_connection(rule_set_find(set, "header")), 0);
	ASSERT_EQ(rule_is_per_connection(rule_set_find(set, "body")), 0);
	rule_set_free(set);
}

int
main(void)
{
	test_load_good();
	test_per_connection();
	test_load_json_and_admin();
	test_errors();
	test_match();
	test_firing();
	test_probability();
	test_determinism();
	test_concurrency();
	test_cow();
	test_mask_equivalence();
	test_describe();
	test_h2_faults();
	test_recipes();
	test_drop();
	UNIT_DONE();
}
