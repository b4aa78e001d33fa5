/*
 * test-scenario.c -- the scenario loader: a complete file and its
 * defaults, relative paths, and every kind of error with its exact
 * FILE:LINE:COL, all collected in one cause.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario.h"
#include "unit.h"

static struct scenario *
parse(const char *name, const char *text, char **cause)
{
	*cause = NULL;
	return scenario_parse(name, text, strlen(text), cause);
}

/* Expects text to fail with exactly the error lines want. */
static void
expect_error(const char *text, const char *want, int line)
{
	struct scenario	*sc;
	char		*cause = NULL;

	sc = parse("s.yaml", text, &cause);
	if (sc != NULL) {
		UNIT_FAIL("line %d: loaded, expected \"%s\"", line, want);
		scenario_free(sc);
		unit_checks++;
		return;
	}
	unit_checks++;
	if (cause == NULL || strcmp(cause, want) != 0)
		UNIT_FAIL("line %d: expected\n  \"%s\"\ngot\n  \"%s\"", line,
		    want, cause == NULL ? "(null)" : cause);
	free(cause);
}
#define EXPECT_ERROR(text, want)	expect_error((text), (want), __LINE__)

static void
test_full(void)
{
	static const char text[] =
	    "name: checkout\n"
	    "snapshot: ../snaps/shop.jsonl\n"
	    "service:\n"
	    "  url: http://127.0.0.1:{service_port}\n"
	    "  command: ./orders --port {service_port}\n"
	    "  ready: {path: /healthz, timeout: 5s}\n"
	    "  env: {LOG: debug, A_1: '2'}\n"
	    "responder:\n"
	    "  listen: 127.0.0.1:0\n"
	    "  rules: [../rules/a.yaml, /abs/b.yaml]\n"
	    "  unmatched: closest\n"
	    "  seed: 7\n"
	    "  http2: false\n"
	    "load:\n"
	    "  pattern: replay\n"
	    "  multiplier: 10\n"
	    "  duration: 60s\n"
	    "  connections: 32\n"
	    "  http2: true\n"
	    "  streams: 4\n"
	    "  timeout: 2s\n"
	    "assert:\n"
	    "  latency: {p50: 10ms, p99: 800ms, max: 1500ns}\n"
	    "  error_rate: {max: 2.5%}\n"
	    "  throughput: {min: 400/s}\n"
	    "  regression:\n"
	    "    status: exact\n"
	    "    headers: [Content-Type]\n"
	    "    ignore: ['$.id', '$.items[*].ts']\n"
	    "report: {json: out/r.json, junit: out/j.xml, html: /tmp/r.html}\n";
	struct scenario	*sc;
	char		*cause;

	sc = parse("dir/sub/x.yaml", text, &cause);
	ASSERT(sc != NULL);
	if (sc == NULL) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return;
	}
	ASSERT(cause == NULL);
	ASSERT_STR_EQ(sc->name, "checkout");
	ASSERT_STR_EQ(sc->dir, "dir/sub");
	ASSERT_STR_EQ(sc->snapshot, "dir/sub/../snaps/shop.jsonl");
	ASSERT_STR_EQ(sc->url, "http://127.0.0.1:{service_port}");
	ASSERT_STR_EQ(sc->command, "./orders --port {service_port}");
	ASSERT_STR_EQ(sc->ready_path, "/healthz");
	ASSERT_EQ(sc->ready_timeout_ns, 5000000000ULL);
	ASSERT_EQ(sc->nenv, 2);
	ASSERT_STR_EQ(sc->env[0], "LOG=debug");
	ASSERT_STR_EQ(sc->env[1], "A_1=2");
	ASSERT_EQ(sc->has_responder, 1);
	ASSERT_STR_EQ(sc->listen, "127.0.0.1:0");
	ASSERT_EQ(sc->nrules, 2);
	ASSERT_STR_EQ(sc->rules[0], "dir/sub/../rules/a.yaml");
	ASSERT_STR_EQ(sc->rules[1], "/abs/b.yaml");
	ASSERT_STR_EQ(sc->unmatched, "closest");
	ASSERT_EQ(sc->has_seed, 1);
	ASSERT_EQ(sc->seed, 7);
	ASSERT_EQ(sc->pattern, SCENARIO_REPLAY);
	ASSERT(sc->multiplier == 10.0);
	ASSERT_EQ(sc->clones, 1);
	ASSERT_EQ(sc->duration_ns, 60000000000ULL);
	ASSERT_EQ(sc->connections, 32);
	ASSERT_EQ(sc->http2, 1);
	ASSERT_EQ(sc->streams, 4);
	ASSERT_EQ(sc->responder_http2, 0);
	ASSERT_EQ(sc->timeout_ns, 2000000000ULL);
	ASSERT_EQ(sc->has_latency[SCENARIO_P50], 1);
	ASSERT_EQ(sc->latency_us[SCENARIO_P50], 10000);
	ASSERT_EQ(sc->has_latency[SCENARIO_P90], 0);
	ASSERT_EQ(sc->latency_us[SCENARIO_P99], 800000);
	ASSERT_EQ(sc->latency_us[SCENARIO_MAX], 2);	/* rounded up */
	ASSERT_EQ(sc->has_error_rate, 1);
	ASSERT(sc->error_rate_max > 0.0249 && sc->error_rate_max < 0.0251);
	ASSERT_EQ(sc->has_throughput, 1);
	ASSERT(sc->throughput_min == 400.0);
	ASSERT_EQ(sc->has_regression, 1);
	ASSERT_EQ(sc->cmp_status, 1);
	ASSERT_EQ(sc->ncmp_headers, 1);
	ASSERT_STR_EQ(sc->cmp_headers[0], "Content-Type");
	/* ignore paths without body: imply a JSON comparison */
	ASSERT_EQ(sc->cmp_body, SCENARIO_BODY_JSON);
	ASSERT_EQ(sc->nignore, 2);
	ASSERT_STR_EQ(sc->ignore[1], "$.items[*].ts");
	ASSERT_STR_EQ(sc->report_json, "dir/sub/out/r.json");
	ASSERT_STR_EQ(sc->report_junit, "dir/sub/out/j.xml");
	ASSERT_STR_EQ(sc->report_html, "/tmp/r.html");
	scenario_free(sc);
}

static void
test_defaults(void)
{
	struct scenario	*sc;
	char		*cause, *s;
	size_t		 i;

	sc = parse("smoke.yaml",
	    "snapshot: s.jsonl\n"
	    "service: {url: 'http://localhost:8080'}\n", &cause);
	ASSERT(sc != NULL);
	if (sc == NULL) {
		free(cause);
		return;
	}
	ASSERT_STR_EQ(sc->name, "smoke");		/* the base name */
	ASSERT_STR_EQ(sc->dir, ".");
	ASSERT_STR_EQ(sc->snapshot, "s.jsonl");
	ASSERT(sc->command == NULL);
	ASSERT(sc->ready_path == NULL);
	ASSERT_EQ(sc->ready_timeout_ns, 10000000000ULL);
	ASSERT_EQ(sc->has_responder, 0);
	ASSERT_EQ(sc->pattern, SCENARIO_REPLAY);
	ASSERT(sc->multiplier == 1.0);
	ASSERT_EQ(sc->clones, 1);
	ASSERT_EQ(sc->duration_ns, 0);
	for (i = 0; i < SCENARIO_NPCT; i++)
		ASSERT_EQ(sc->has_latency[i], 0);
	ASSERT_EQ(sc->has_error_rate, 0);
	ASSERT_EQ(sc->has_regression, 0);
	ASSERT_EQ(sc->cmp_status, 1);
	ASSERT_EQ(sc->cmp_body, SCENARIO_BODY_EXACT);
	ASSERT(sc->report_json == NULL);
	scenario_free(sc);

	/* a responder section with nothing but rules listens on port 0 */
	sc = parse("/abs/d.yml",
	    "snapshot: s.jsonl\n"
	    "service: {url: 'http://h:1'}\n"
	    "responder: {rules: r.yaml}\n"
	    "load: {pattern: steps, rate: 10/m, duration: 1m}\n", &cause);
	ASSERT(sc != NULL);
	if (sc == NULL) {
		free(cause);
		return;
	}
	ASSERT_STR_EQ(sc->listen, "127.0.0.1:0");
	ASSERT_STR_EQ(sc->rules[0], "/abs/r.yaml");
	ASSERT_EQ(sc->pattern, SCENARIO_STEPS);
	ASSERT_EQ(sc->steps, 5);
	ASSERT(sc->rate > 0.1666 && sc->rate < 0.1667);
	scenario_free(sc);

	/* https with a CA; every path remembers where it was named */
	sc = parse("/abs/d.yml",
	    "snapshot: s.jsonl\n"
	    "service:\n"
	    "  url: 'https://[::1]:{service_port}/api'\n"
	    "  ca: ca.pem\n"
	    "responder: {rules: [a.yaml, b.yaml], listen: '[::1]:0'}\n",
	    &cause);
	ASSERT(sc != NULL);
	if (sc == NULL) {
		free(cause);
		return;
	}
	ASSERT_STR_EQ(sc->ca_file, "/abs/ca.pem");
	ASSERT_EQ(sc->insecure, 0);
	s = scenario_where(sc, "responder.rules", "/abs/b.yaml");
	ASSERT_STR_EQ(s, "/abs/d.yml:5:29");
	free(s);
	s = scenario_where(sc, "snapshot", NULL);
	ASSERT_STR_EQ(s, "/abs/d.yml:1:11");
	free(s);
	s = scenario_where(sc, "service.ca", NULL);
	ASSERT_STR_EQ(s, "/abs/d.yml:4:7");
	free(s);
	s = scenario_where(sc, "responder.listen", NULL);
	ASSERT_STR_EQ(s, "/abs/d.yml:5:46");
	free(s);
	scenario_free(sc);
}

static void
test_units(void)
{
	double	d;

	ASSERT_EQ(scenario_parse_rate("500/s", &d), 0);
	ASSERT(d == 500.0);
	ASSERT_EQ(scenario_parse_rate("3600/h", &d), 0);
	ASSERT(d == 1.0);
	ASSERT_EQ(scenario_parse_rate("2.5", &d), 0);
	ASSERT(d == 2.5);
	ASSERT_EQ(scenario_parse_rate("0/s", &d), -1);
	ASSERT_EQ(scenario_parse_rate("5/d", &d), -1);
	ASSERT_EQ(scenario_parse_rate("", &d), -1);
	ASSERT_EQ(scenario_parse_ratio("1%", &d), 0);
	ASSERT(d == 0.01);
	ASSERT_EQ(scenario_parse_ratio("0.25", &d), 0);
	ASSERT(d == 0.25);
	ASSERT_EQ(scenario_parse_ratio("101%", &d), -1);
	ASSERT_EQ(scenario_parse_ratio("2", &d), -1);
	ASSERT_EQ(scenario_parse_ratio("-1%", &d), -1);
	ASSERT_EQ(scenario_parse_ratio("1 %", &d), -1);
	ASSERT_STR_EQ(scenario_pct_name(SCENARIO_P999), "p999");
	ASSERT(scenario_pct_value(SCENARIO_P999) == 99.9);
}

#define HEAD	"snapshot: s.jsonl\nservice: {url: 'http://h:1'}\n"

static void
test_errors(void)
{
	/* 1. unknown top-level key, at the key */
	EXPECT_ERROR(HEAD "colour: blue\n",
	    "s.yaml:3:1: unknown key \"colour\" (name, snapshot, service, "
	    "responder, load, fuzz, assert, report)");
	/* 2. unknown nested key */
	EXPECT_ERROR(HEAD "load:\n  pattern: replay\n  speed: 3\n",
	    "s.yaml:5:3: load: unknown key \"speed\" (pattern, multiplier, "
	    "clones, rate, rate_from, steps, duration, connections, http2, "
	    "streams, timeout, transforms, now, seed)");
	/* 3. wrong type: a list where a mapping belongs */
	EXPECT_ERROR(HEAD "assert: [1, 2]\n",
	    "s.yaml:3:9: assert: expected a mapping, not a list");
	/* 4. wrong type: a mapping where a value belongs */
	EXPECT_ERROR(HEAD "name: {a: b}\n",
	    "s.yaml:3:7: name: expected a single value, not a mapping");
	/* 5. bad enumeration */
	EXPECT_ERROR(HEAD "load: {pattern: burst}\n",
	    "s.yaml:3:17: load.pattern: expected replay, constant, ramp, "
	    "steps or closed, not \"burst\"");
	/* 6. bad duration */
	EXPECT_ERROR(HEAD "assert:\n  latency:\n    p99: fast\n",
	    "s.yaml:5:10: assert.latency.p99: expected a duration such as "
	    "250ms, 10s or 2m, not \"fast\"");
	/* 7. bad percentage and bad rate */
	EXPECT_ERROR(HEAD "assert:\n  error_rate: {max: 150%}\n"
	    "  throughput: {min: lots}\n",
	    "s.yaml:4:21: assert.error_rate.max: expected a percentage such "
	    "as 1% or 0.5%, not \"150%\"\n"
	    "s.yaml:5:21: assert.throughput.min: expected a rate such as "
	    "400/s, not \"lots\"");
	/* 8. fuzz: with load, unknown keys, no corpus; findings without it */
	EXPECT_ERROR(HEAD "load: {pattern: replay}\nfuzz:\n  corpus: c\n",
	    "s.yaml:4:1: fuzz: a scenario drives the service with load or "
	    "with fuzz, not both");
	EXPECT_ERROR(HEAD "fuzz:\n  corpus: c\n  speed: 3\n"
	    "  requests: none\n",
	    "s.yaml:5:3: fuzz: unknown key \"speed\" (corpus, requests, "
	    "duration, seed, findings, connections, timeout, mutate_auth)\n"
	    "s.yaml:6:13: fuzz.requests: expected a whole number from 1 to "
	    "1000000000, not \"none\"");
	EXPECT_ERROR(HEAD "fuzz: {requests: 5}\n",
	    "s.yaml:3:7: fuzz: missing \"corpus\"");
	EXPECT_ERROR(HEAD "assert: {findings: {max: 1}}\n",
	    "s.yaml:3:10: assert.findings: only with a fuzz section");
	/* 9. missing required keys, at the root */
	EXPECT_ERROR("name: x\n",
	    "s.yaml:1:1: missing \"snapshot\"\n"
	    "s.yaml:1:1: missing \"service\"");
	EXPECT_ERROR("snapshot: s\nservice:\n  command: x\n",
	    "s.yaml:3:3: service: missing \"url\"");
	/* 10. duplicate key */
	EXPECT_ERROR(HEAD "name: a\nname: b\n",
	    "s.yaml:4:1: scenario: duplicate key \"name\"");
	/* 11. YAML syntax error */
	EXPECT_ERROR("snapshot: [a\n",
	    "s.yaml:2:1: did not find expected ',' or ']' while parsing a "
	    "flow sequence");
	/* 12. cross-field checks */
	EXPECT_ERROR(HEAD "load: {pattern: constant, clones: 2}\n",
	    "s.yaml:3:7: load: pattern constant needs a rate\n"
	    "s.yaml:3:35: load.clones: only for pattern replay");
	EXPECT_ERROR(HEAD "load: {multiplier: 2, clones: 3, pattern: replay}\n",
	    "s.yaml:3:31: load.clones: cannot be combined with multiplier "
	    "(pick one)");
	EXPECT_ERROR(HEAD "assert:\n  regression: {body: exact, "
	    "ignore: ['$.id']}\n",
	    "s.yaml:4:37: assert.regression.ignore: needs body: json");
	/* 13. bad values of several kinds, all collected */
	EXPECT_ERROR(
	    "snapshot: ''\n"
	    "service:\n"
	    "  url: ftp://x\n"
	    "  ready: {path: healthz, timeout: 0s}\n"
	    "  env: {'1BAD': x}\n"
	    "responder:\n"
	    "  listen: nowhere\n"
	    "  unmatched: passthrough\n"
	    "  seed: -1\n"
	    "load: {connections: 0, multiplier: -2}\n"
	    "assert: {regression: {ignore: [id]}}\n"
	    "report: {pdf: x}\n",
	    "s.yaml:1:11: snapshot: expected a value, not nothing\n"
	    "s.yaml:3:8: service.url: expected http[s]://HOST:PORT (PORT "
	    "1..65535 or {service_port}), not \"ftp://x\"\n"
	    "s.yaml:4:17: ready.path: expected a path starting with /, not "
	    "\"healthz\"\n"
	    "s.yaml:4:35: ready.timeout: expected a duration such as 250ms, "
	    "10s or 2m, not \"0s\"\n"
	    "s.yaml:5:9: env: \"1BAD\" is not a variable name (letters, "
	    "digits, _)\n"
	    "s.yaml:7:11: responder.listen: expected HOST:PORT: "
	    "\"nowhere\"\n"
	    "s.yaml:8:14: responder.unmatched: passthrough is not "
	    "implemented yet (use 404 or closest)\n"
	    "s.yaml:9:9: responder.seed: expected an unsigned integer, not "
	    "\"-1\"\n"
	    "s.yaml:10:21: load.connections: expected a whole number from 1 "
	    "to 65536, not \"0\"\n"
	    "s.yaml:10:36: load.multiplier: expected a number above 0 and "
	    "at most 1e+06, not \"-2\"\n"
	    "s.yaml:11:31: assert.regression.ignore: \"id\" is not a JSON "
	    "path ($.a.b, $.items[*].id)\n"
	    "s.yaml:12:10: report: unknown key \"pdf\" (json, junit, html)\n"
	    "s.yaml:1:1: missing \"snapshot\"");
	/* 13b. listen and url ranges, https options */
	EXPECT_ERROR("snapshot: s.jsonl\n"
	    "service: {url: 'http://h:99999'}\n"
	    "responder: {listen: '999.1.1.1:99999'}\n",
	    "s.yaml:2:16: service.url: expected http[s]://HOST:PORT (PORT "
	    "1..65535 or {service_port}), not \"http://h:99999\"\n"
	    "s.yaml:3:21: responder.listen: not an IPv4 address: "
	    "\"999.1.1.1:99999\"");
	EXPECT_ERROR("snapshot: s.jsonl\n"
	    "service: {url: 'http://h:1'}\n"
	    "responder: {listen: '127.0.0.1:65536'}\n",
	    "s.yaml:3:21: responder.listen: the port must be 0..65535: "
	    "\"127.0.0.1:65536\"");
	EXPECT_ERROR("snapshot: s.jsonl\n"
	    "service: {url: 'http://h:1', insecure: true}\n",
	    "s.yaml:2:10: service: ca and insecure apply to an https:// url");
	EXPECT_ERROR("snapshot: s.jsonl\n"
	    "service: {url: 'https://h:1', insecure: maybe}\n",
	    "s.yaml:2:41: service.insecure: expected true or false, not "
	    "\"maybe\"");
	/* 14. not a mapping at all; two documents; empty */
	EXPECT_ERROR("- a\n- b\n",
	    "s.yaml:1:1: expected a mapping (name, snapshot, service, "
	    "responder, load, fuzz, assert, report), not a list");
	EXPECT_ERROR(HEAD "---\nname: again\n",
	    "s.yaml:4:1: more than one YAML document");
	EXPECT_ERROR("", "s.yaml:1:1: empty scenario");
	/* 15. control characters never split an error line */
	EXPECT_ERROR(HEAD "\"a\\nb\": 1\n",
	    "s.yaml:3:1: unknown key \"a?b\" (name, snapshot, service, "
	    "responder, load, fuzz, assert, report)");
}

static void
test_load_file(void)
{
	struct scenario	*sc;
	char		*cause = NULL;
	char		 path[] = "/tmp/test-scenario.XXXXXX";
	FILE		*f;
	int		 fd;

	sc = scenario_load("/nonexistent/x.yaml", &cause);
	ASSERT(sc == NULL);
	ASSERT_STR_EQ(cause, "/nonexistent/x.yaml: No such file or directory");
	free(cause);

	if ((fd = mkstemp(path)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		UNIT_FAIL("mkstemp");
		return;
	}
	fputs(HEAD "load: {pattern: closed, connections: 4}\n", f);
	fclose(f);
	cause = NULL;
	sc = scenario_load(path, &cause);
	ASSERT(sc != NULL);
	if (sc != NULL) {
		ASSERT_STR_EQ(sc->dir, "/tmp");
		ASSERT_STR_EQ(sc->snapshot, "/tmp/s.jsonl");
		ASSERT_EQ(sc->pattern, SCENARIO_CLOSED);
		ASSERT_EQ(sc->connections, 4);
		ASSERT_EQ(sc->http2, 0);	/* the defaults */
		ASSERT_EQ(sc->streams, 0);
		ASSERT_EQ(sc->responder_http2, 1);
	}
	scenario_free(sc);
	free(cause);
	unlink(path);
}

/* The fuzz section: values, resolved paths, defaults. */
static void
test_fuzz(void)
{
	struct scenario	*sc;
	char		*cause;

	sc = parse("dir/s.yaml", HEAD "fuzz:\n  corpus: ../corpora/x\n"
	    "  requests: 500\n  duration: 2s\n  seed: 9\n"
	    "  connections: 3\n  timeout: 750ms\n  mutate_auth: true\n"
	    "assert:\n  findings: {max: 2}\n", &cause);
	ASSERT(sc != NULL);
	if (sc == NULL) {
		printf("# %s\n", cause);
		free(cause);
		return;
	}
	ASSERT_EQ(sc->has_fuzz, 1);
	ASSERT_STR_EQ(sc->fuzz_corpus, "dir/../corpora/x");
	ASSERT_STR_EQ(sc->fuzz_findings, "dir/findings");
	ASSERT_EQ(sc->fuzz_requests, 500);
	ASSERT_EQ(sc->fuzz_duration_ns, 2000000000ull);
	ASSERT_EQ(sc->fuzz_has_seed, 1);
	ASSERT_EQ(sc->fuzz_seed, 9);
	ASSERT_EQ(sc->fuzz_connections, 3);
	ASSERT_EQ(sc->fuzz_timeout_ns, 750000000ull);
	ASSERT_EQ(sc->fuzz_mutate_auth, 1);
	ASSERT_EQ(sc->has_findings_max, 1);
	ASSERT_EQ(sc->findings_max, 2);
	scenario_free(sc);

	sc = parse("s.yaml", HEAD "fuzz: {corpus: c, findings: out/f}\n",
	    &cause);
	ASSERT(sc != NULL);
	if (sc != NULL) {
		ASSERT_STR_EQ(sc->fuzz_findings, "out/f");
		ASSERT_EQ(sc->fuzz_requests, 0);
		ASSERT_EQ(sc->has_findings_max, 0);
	}
	scenario_free(sc);
	free(cause);
}

/* load.transforms (resolved), now (a time, only with transforms), seed. */
static void
test_transforms(void)
{
	struct scenario	*sc;
	char		*cause;

	sc = parse("dir/s.yaml", HEAD "load:\n  transforms: t.yaml\n"
	    "  now: 2026-12-07T18:00:00Z\n  seed: 7\n", &cause);
	ASSERT(sc != NULL);
	if (sc != NULL) {
		ASSERT_STR_EQ(sc->transforms, "dir/t.yaml");
		ASSERT_EQ(sc->has_now, 1);
		ASSERT_EQ(sc->now_us, 1796666400LL * 1000000);
		ASSERT_EQ(sc->load_has_seed, 1);
		ASSERT_EQ(sc->load_seed, 7);
		scenario_free(sc);
	}
	free(cause);
	sc = parse("s.yaml", HEAD "load: {transforms: t.yaml, now: 1796666400}\n",
	    &cause);
	ASSERT(sc != NULL && sc->now_us == 1796666400LL * 1000000);
	scenario_free(sc);
	free(cause);
	sc = parse("s.yaml", HEAD "load: {pattern: replay}\n", &cause);
	ASSERT(sc != NULL && sc->transforms == NULL && !sc->has_now &&
	    !sc->load_has_seed);
	scenario_free(sc);
	free(cause);
	EXPECT_ERROR(HEAD "load:\n  now: 2026-12-07T18:00:00Z\n",
	    "s.yaml:4:8: load.now: applies with load.transforms");
	EXPECT_ERROR(HEAD "load:\n  transforms: t.yaml\n  now: soon\n"
	    "  seed: -1\n",
	    "s.yaml:5:8: load.now: expected a time such as "
	    "2026-12-07T17:54:34Z or epoch seconds, not \"soon\"\n"
	    "s.yaml:6:9: load.seed: expected an unsigned integer, not \"-1\"");
	EXPECT_ERROR(HEAD "load:\n  transforms: \"\"\n",
	    "s.yaml:4:15: load.transforms: expected a value, not nothing");
}

int
main(void)
{
	test_full();
	test_fuzz();
	test_defaults();
	test_units();
	test_errors();
	test_load_file();
	test_transforms();
	UNIT_DONE();
}
