/*
 * test-report.c -- the run report: recording, comparisons, totals and
 * assertions; the JSON round trip; merging shard reports equals one report
 * over the same answers; JUnit and HTML renderings.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "chart.h"
#include "hist.h"
#include "report.h"
#include "scenario.h"
#include "unit.h"

static char tmpdir[] = "/tmp/test-report.XXXXXX";

static char *
tmp_path(const char *name)
{
	static char	path[256];

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	return path;
}

static char *
slurp(const char *path)
{
	FILE	*f;
	char	*s;
	long	 n;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = calloc(1, (size_t)n + 1);
	if (fread(s, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	fclose(f);
	return s;
}

/* The i-th of a fixed set of answers, recorded into r. */
static void
record_one(struct report *r, unsigned i)
{
	static const char	*paths[] = { "/orders", "/orders/1", "/stock" };
	struct report_endpoint	*ep;
	int			 status = 200, error = -1;

	ep = report_endpoint(r, i % 5 == 0 ? "POST" : "GET", paths[i % 3]);
	if (i % 17 == 0)
		status = 503;
	else if (i % 23 == 0)
		status = 404;
	if (i % 41 == 0)
		error = REPORT_ERR_RESET;
	report_record(r, ep, error >= 0 ? 0 : status, error,
	    1000 + (uint64_t)(i * 7919) % 200000, (uint64_t)i * 10000,
	    i % 2 ? 20000 : 0);
	if (i % 7 == 0)
		report_compare(ep, "t-1", i % 14 == 0 ? "status" : NULL,
		    "200", "503");
}

static void
test_record(void)
{
	struct report		*r;
	struct report_endpoint	*ep, tot;

	r = report_create("checkout", "http://127.0.0.1:8080");
	ep = report_endpoint(r, "GET", "/b");
	report_record(r, ep, 200, -1, 1000, 0, 0);
	report_record(r, ep, 503, -1, 3000, 500000, 0);
	report_record(r, ep, 200, -1, 2000, 1200000, 0);
	report_record(r, ep, 0, REPORT_ERR_TIMEOUT, 5000000, 6100000, 0);
	ep = report_endpoint(r, "GET", "/a");
	report_record(r, ep, 404, -1, 100, 100, 0);
	ep = report_endpoint(r, "GET", "/b");	/* found again */

	ASSERT_EQ(r->nendpoints, 2);
	ASSERT_STR_EQ(r->endpoints[0]->path, "/a");	/* sorted */
	ASSERT_EQ(ep->count, 4);
	ASSERT_EQ(ep->nstatus, 2);
	ASSERT_EQ(ep->status[0].status, 200);
	ASSERT_EQ(ep->status[0].count, 2);
	ASSERT_EQ(ep->status[1].status, 503);
	ASSERT_EQ(ep->errors[REPORT_ERR_TIMEOUT], 1);
	ASSERT_EQ(ep->hist.total, 3);		/* errors have no latency */
	ASSERT(fabs(report_error_rate(ep) - 0.5) < 1e-12);
	ASSERT_EQ(r->nticks, 7);
	ASSERT_EQ(r->ticks[0].count, 3);
	ASSERT_EQ(r->ticks[0].errors, 1);
	ASSERT_EQ(r->ticks[6].errors, 1);
	ASSERT_EQ(r->ticks[3].count, 0);
	ASSERT_EQ(r->ticks[6].max_us, 5000000);

	r->duration_us = 2000000;
	ASSERT(fabs(report_throughput(r, ep) - 1.5) < 1e-12);

	report_compare(ep, "t-1", NULL, NULL, NULL);
	report_compare(ep, "t-2", "status", "200", "503");
	ASSERT_EQ(ep->compared, 2);
	ASSERT_EQ(ep->regressions, 1);
	ASSERT_EQ(ep->ndiffs, 1);
	ASSERT_STR_EQ(ep->diffs[0].field, "status");

	report_add_fault(r, "flaky", "status", 3);
	report_add_fault(r, "slow", "latency", 1);
	report_add_fault(r, "flaky", "status", 2);
	ASSERT_EQ(r->nfaults, 2);
	ASSERT_EQ(r->faults[0].count, 5);

	/* A response that differed fails the report, unless tolerated. */
	ASSERT_EQ(report_regressions(r), 1);
	ASSERT_EQ(report_passed(r), 0);
	r->allow_regressions = 1;
	ASSERT_EQ(report_passed(r), 1);
	report_add_assertion(r, "latency.p95", "<= 250ms", "212ms", 1);
	ASSERT_EQ(report_passed(r), 1);
	report_add_assertion(r, "error_rate.max", "<= 1%", "40.00%", 0);
	ASSERT_EQ(report_passed(r), 0);

	report_totals(r, &tot);
	ASSERT_EQ(tot.count, 5);
	ASSERT_EQ(tot.hist.total, 4);
	ASSERT_EQ(tot.nstatus, 3);
	ASSERT(fabs(report_error_rate(&tot) - 0.4) < 1e-12);
	report_endpoint_clear(&tot);
	report_free(r);
}

static void
test_json(void)
{
	struct report	*r, *r2;
	struct buf	 a, b;
	char		*cause = NULL;
	unsigned	 i;
	FILE		*f;

	r = report_create("json \"quoted\"\n", "http://x/\xc3\xa9");
	for (i = 0; i < 500; i++)
		record_one(r, i);
	r->start_us = 1700000000123456LL;
	r->duration_us = 5000000;
	r->scheduled = 510;
	r->late = 3;
	r->dropped = 10;
	report_compare(r->endpoints[0], "t\x01", "$.a", "\"x\"", "<y&>");
	report_add_fault(r, "flaky", "reset", 4);
	report_add_assertion(r, "latency.p95", "<= 250ms", "212ms", 1);
	/* gRPC status mixes (one with no status) round-trip too. */
	report_record_grpc(r->endpoints[0], 0);
	report_record_grpc(r->endpoints[0], 14);
	report_record_grpc(r->endpoints[0], 14);
	report_record_grpc(r->endpoints[0], -1);
	r->h2_retried = 5;
	report_add_h2_error(r, "RST_STREAM REFUSED_STREAM", 2);

	buf_init(&a);
	buf_init(&b);
	report_to_json(r, &a);
	ASSERT(strstr(a.data, "\"grpc_status\":{\"OK\":1,\"UNAVAILABLE\":2,"
	    "\"none\":1}") != NULL);
	ASSERT_EQ(report_write_json(r, tmp_path("r.json"), &cause), 0);
	r2 = report_read_json(tmp_path("r.json"), &cause);
	ASSERT(r2 != NULL);
	if (r2 == NULL) {
		fprintf(stderr, "%s\n", cause);
		return;
	}
	report_to_json(r2, &b);
	ASSERT_STR_EQ(b.data, a.data);
	ASSERT(memcmp(&r->endpoints[1]->hist, &r2->endpoints[1]->hist,
	    sizeof r->endpoints[1]->hist) == 0);
	ASSERT_EQ(r2->start_us, 1700000000123456LL);
	ASSERT_STR_EQ(r2->name, "json \"quoted\"\n");
	ASSERT_EQ(r2->h2_retried, 5);
	report_merge(r2, r);
	ASSERT_EQ(r2->h2_retried, 10);
	report_free(r2);

	/* Bad files name themselves. */
	f = fopen(tmp_path("bad.json"), "w");
	fputs("{\"version\":1,\"name\":\"x\",\"endpoints\":[{\"method\":\"GET\","
	    "\"path\":\"/\",\"count\":1,\"hist\":{\"total\":2,\"buckets\":"
	    "[[1,1]]}}]}", f);
	fclose(f);
	ASSERT(report_read_json(tmp_path("bad.json"), &cause) == NULL);
	ASSERT(cause != NULL && strstr(cause, "bad.json") != NULL &&
	    strstr(cause, "GET /") != NULL);
	free(cause);
	f = fopen(tmp_path("bad2.json"), "w");
	fputs("{\"version\":1,", f);
	fclose(f);
	ASSERT(report_read_json(tmp_path("bad2.json"), &cause) == NULL);
	ASSERT(cause != NULL && strstr(cause, "not valid JSON") != NULL);
	free(cause);
	/* Named at line:col, not a byte offset. */
	f = fopen(tmp_path("bad3.json"), "w");
	fputs("{\"version\":1,\n \"name\": x}\n", f);
	fclose(f);
	ASSERT(report_read_json(tmp_path("bad3.json"), &cause) == NULL);
	ASSERT(cause != NULL && strstr(cause, "bad3.json:2:10: not valid JSON")
	    != NULL);
	free(cause);
	ASSERT(report_read_json(tmp_path("missing.json"), &cause) == NULL);
	free(cause);
	f = fopen(tmp_path("bad4.json"), "w");
	fputs("{\"version\":1,\"name\":\"x\",\"endpoints\":[{\"method\":\"GET\","
	    "\"path\":\"/\",\"count\":1,\"grpc_status\":{\"NOPE\":1}}]}", f);
	fclose(f);
	ASSERT(report_read_json(tmp_path("bad4.json"), &cause) == NULL);
	ASSERT(cause != NULL && strstr(cause, "grpc_status: \"NOPE\"") != NULL);
	free(cause);

	buf_free(&a);
	buf_free(&b);
	report_free(r);
}

static void
test_merge(void)
{
	struct report		*one, *s1, *s2;
	struct report_endpoint	 t1, t2;
	unsigned		 i;
	size_t			 k;
	int			 p, same = 1;

	one = report_create("run", "http://x");
	s1 = report_create("run", "http://x");
	s2 = report_create("run", "http://x");
	for (i = 0; i < 3000; i++) {
		record_one(one, i);
		record_one(i % 2 ? s1 : s2, i);
	}
	one->duration_us = s1->duration_us = s2->duration_us = 30000000;
	report_add_fault(s1, "flaky", "reset", 4);
	report_add_fault(s2, "flaky", "reset", 6);
	report_add_fault(s2, "slow", "latency", 1);
	report_merge(s1, s2);

	ASSERT_EQ(s1->shards, 2);
	ASSERT_EQ(s1->nendpoints, one->nendpoints);
	for (k = 0; k < one->nendpoints && k < s1->nendpoints; k++) {
		ASSERT_STR_EQ(s1->endpoints[k]->path, one->endpoints[k]->path);
		ASSERT_EQ(s1->endpoints[k]->count, one->endpoints[k]->count);
		ASSERT_EQ(s1->endpoints[k]->nstatus, one->endpoints[k]->nstatus);
		ASSERT_EQ(s1->endpoints[k]->regressions,
		    one->endpoints[k]->regressions);
		ASSERT(memcmp(s1->endpoints[k]->hist.counts,
		    one->endpoints[k]->hist.counts,
		    sizeof one->endpoints[k]->hist.counts) == 0);
	}
	report_totals(one, &t1);
	report_totals(s1, &t2);
	ASSERT_EQ(t2.count, t1.count);
	ASSERT_EQ(t2.compared, t1.compared);
	ASSERT(t2.nstatus == t1.nstatus && memcmp(t1.status, t2.status,
	    t1.nstatus * sizeof *t1.status) == 0);
	ASSERT(memcmp(t1.errors, t2.errors, sizeof t1.errors) == 0);
	for (p = 0; p <= 10000; p++)
		if (hist_percentile(&t1.hist, p / 100.0) !=
		    hist_percentile(&t2.hist, p / 100.0))
			same = 0;
	ASSERT(same);
	ASSERT(fabs(report_error_rate(&t1) - report_error_rate(&t2)) < 1e-12);
	ASSERT(fabs(report_throughput(one, &t1) -
	    report_throughput(s1, &t2)) < 1e-9);
	report_endpoint_clear(&t1);
	report_endpoint_clear(&t2);
	ASSERT_EQ(s1->nticks, one->nticks);
	for (k = 0; k < one->nticks && k < s1->nticks; k++) {
		ASSERT_EQ(s1->ticks[k].count, one->ticks[k].count);
		ASSERT_EQ(s1->ticks[k].errors, one->ticks[k].errors);
	}
	ASSERT_EQ(s1->nfaults, 2);
	ASSERT_EQ(s1->faults[0].count, 10);
	/* Diffs concatenate up to the cap. */
	ASSERT_EQ(s1->endpoints[0]->ndiffs, REPORT_MAX_DIFFS);
	report_free(one);
	report_free(s1);
	report_free(s2);
}

static void
test_render(void)
{
	struct report		*r;
	struct report_endpoint	*ep;
	char			*cause = NULL, *s;
	unsigned		 i;
	FILE			*f;

	r = report_create("chk <&>", "http://x");
	for (i = 0; i < 300; i++)
		record_one(r, i);
	r->duration_us = 3000000;
	report_add_assertion(r, "latency.p95", "<= 250ms", "212ms", 1);
	report_add_assertion(r, "error_rate.max", "<= 1%", "7.3%", 0);
	report_compare(r->endpoints[0], "t-9", "$.total", "12",
	    "<b>\"13\"</b>");

	ASSERT_EQ(report_write_junit(r, tmp_path("j.xml"), &cause), 0);
	s = slurp(tmp_path("j.xml"));
	ASSERT(s != NULL && strstr(s, "<testsuite name=\"chk &lt;&amp;&gt;\"")
	    != NULL);
	ASSERT(s != NULL && strstr(s, "<testcase classname=\"decoy.assertions"
	    "\" name=\"error_rate.max\">\n    <failure message=\""
	    "error_rate.max: expected &lt;= 1%, actual 7.3%\"") != NULL);
	ASSERT(s != NULL && strstr(s, "name=\"latency.p95\"/>") != NULL);
	ASSERT(s != NULL && strstr(s, "&lt;b&gt;&quot;13&quot;") != NULL);
	ASSERT(s != NULL && strstr(s, "<b>") == NULL);
	free(s);

	ASSERT_EQ(report_write_html(r, tmp_path("r.html"), &cause), 0);
	s = slurp(tmp_path("r.html"));
	ASSERT(s != NULL && strstr(s, "<svg") != NULL);
	ASSERT(s != NULL && strstr(s, "<script") == NULL);
	ASSERT(s != NULL && strstr(s, "http://x") != NULL);
	ASSERT(s != NULL && strstr(s, "src=") == NULL);
	ASSERT(s != NULL && strstr(s, "FAILED") != NULL);
	ASSERT(s != NULL && strstr(s, "nan") == NULL);
	ASSERT(s != NULL && strstr(s, "gRPC methods") == NULL);
	ASSERT(s != NULL && strstr(s, "<h2>HTTP/2</h2>") == NULL);
	free(s);

	/* gRPC methods with their status mix, HTTP/2 events. */
	ep = report_endpoint(r, "POST", "/pkg.Svc/Get");
	report_record(r, ep, 200, -1, 1000, 1000, 0);
	report_record(r, ep, 200, -1, 1000, 1000, 0);
	report_record_grpc(ep, 0);
	report_record_grpc(ep, 14);
	r->h2_retried = 3;
	report_add_h2_error(r, "GOAWAY <CALM>", 1);
	ASSERT_EQ(report_write_html(r, tmp_path("g.html"), &cause), 0);
	s = slurp(tmp_path("g.html"));
	ASSERT(s != NULL && strstr(s, "<h3>gRPC methods</h3>") != NULL);
	ASSERT(s != NULL && strstr(s, "<td>pkg.Svc</td><td>Get</td>"
	    "<td class=\"n\">2</td><td><svg") != NULL);
	ASSERT(s != NULL && strstr(s, "<title>OK: 1</title>") != NULL);
	ASSERT(s != NULL && strstr(s, "<td>OK:1 UNAVAILABLE:1</td>") != NULL);
	ASSERT(s != NULL && strstr(s, "<td>GOAWAY &lt;CALM&gt;</td>"
	    "<td class=\"n\">1</td>") != NULL);
	ASSERT(s != NULL && strstr(s, "<td>retried (not processed by the "
	    "server)</td><td class=\"n\">3</td>") != NULL);
	free(s);

	f = fopen(tmp_path("print.txt"), "w");
	report_print(r, f);
	fclose(f);
	s = slurp(tmp_path("print.txt"));
	ASSERT(s != NULL && strstr(s, "FAIL  error_rate.max") != NULL);
	ASSERT(s != NULL && strstr(s, "ENDPOINT") != NULL);
	free(s);

	ASSERT_EQ(report_write_html(r, "/nonexistent/dir/x.html", &cause), -1);
	ASSERT(cause != NULL && strstr(cause, "/nonexistent/dir") != NULL);
	free(cause);
	report_free(r);

	/* An empty report renders too. */
	r = report_create("empty", NULL);
	ASSERT_EQ(report_write_html(r, tmp_path("e.html"), &cause), 0);
	ASSERT_EQ(report_write_junit(r, tmp_path("e.xml"), &cause), 0);
	s = slurp(tmp_path("e.html"));
	ASSERT(s != NULL && strstr(s, "nan") == NULL && strstr(s, "inf") ==
	    NULL);
	free(s);
	report_free(r);
}

/* Regressions fail a report (its JSON, JUnit, table and exit) unless
 * allow_regressions; the flag survives the JSON round trip and a merge
 * tolerates only what every shard tolerated. */
static void
test_regressions(void)
{
	struct report		*r, *r2;
	struct report_endpoint	*ep;
	char			*cause = NULL, *s;
	struct buf		 b;
	FILE			*f;

	r = report_create("replay", "http://x");
	ep = report_endpoint(r, "GET", "/a");
	report_record(r, ep, 200, -1, 1000, 1000, 0);
	report_compare(ep, "t-1", "status", "200", "500");
	report_record(r, ep, 200, -1, 1000, 1000, 0);
	report_compare(ep, "t-2", NULL, NULL, NULL);
	ASSERT_EQ(report_passed(r), 0);

	buf_init(&b);
	report_to_json(r, &b);
	buf_append_byte(&b, '\0');
	ASSERT(strstr(b.data, "\"passed\":false") != NULL);
	ASSERT(strstr(b.data, "allow_regressions") == NULL);
	buf_free(&b);

	ASSERT_EQ(report_write_junit(r, tmp_path("reg.xml"), &cause), 0);
	s = slurp(tmp_path("reg.xml"));
	ASSERT(s != NULL && strstr(s, "failures=\"1\"") != NULL);
	ASSERT(s != NULL && strstr(s, "type=\"regression\"") != NULL);
	free(s);
	f = fopen(tmp_path("reg.txt"), "w");
	report_print(r, f);
	fclose(f);
	s = slurp(tmp_path("reg.txt"));
	ASSERT(s != NULL && strstr(s, "FAILED: 1 of 2 compared responses "
	    "differ from the recording") != NULL);
	free(s);

	r->allow_regressions = 1;
	ASSERT_EQ(report_passed(r), 1);
	ASSERT_EQ(report_write_json(r, tmp_path("reg.json"), &cause), 0);
	r2 = report_read_json(tmp_path("reg.json"), &cause);
	ASSERT(r2 != NULL);
	if (r2 != NULL) {
		ASSERT_EQ(r2->allow_regressions, 1);
		ASSERT_EQ(report_passed(r2), 1);
		/* A shard that did not tolerate them fails the merge. */
		r->allow_regressions = 0;
		report_merge(r2, r);
		ASSERT_EQ(r2->allow_regressions, 0);
		ASSERT_EQ(report_passed(r2), 0);
		report_free(r2);
	}
	r->allow_regressions = 1;
	ASSERT_EQ(report_write_junit(r, tmp_path("reg2.xml"), &cause), 0);
	s = slurp(tmp_path("reg2.xml"));
	ASSERT(s != NULL && strstr(s, "failures=\"0\"") != NULL);
	ASSERT(s != NULL && strstr(s, "<failure") == NULL);
	ASSERT(s != NULL && strstr(s, "tolerated") != NULL);
	free(s);
	f = fopen(tmp_path("reg2.txt"), "w");
	report_print(r, f);
	fclose(f);
	s = slurp(tmp_path("reg2.txt"));
	ASSERT(s != NULL && strstr(s, "PASSED: 1 of 2 compared responses "
	    "differ from the recording (tolerated") != NULL);
	free(s);

	/* Assertions: the verdict counts what passed. */
	report_add_assertion(r, "latency.p95", "<= 250ms", "1ms", 1);
	f = fopen(tmp_path("reg3.txt"), "w");
	report_print(r, f);
	fclose(f);
	s = slurp(tmp_path("reg3.txt"));
	ASSERT(s != NULL && strstr(s, "PASSED: 1 of 1 assertion passed")
	    != NULL);
	free(s);
	free(cause);
	report_free(r);
}

/* report_assert: the scenario's assertions on the totals of a merged
 * report, replacing those it held. */
static void
test_assert(void)
{
	static const char text[] =
	    "snapshot: s.jsonl\n"
	    "service: {url: 'http://127.0.0.1:8080'}\n"
	    "assert:\n"
	    "  latency: {p50: 20ms, p90: 50ms}\n"
	    "  error_rate: {max: 1%}\n"
	    "  throughput: {min: 150/s}\n"
	    "  regression: {status: exact}\n";
	struct scenario		*sc;
	struct report		*a, *b;
	struct report_endpoint	*ep;
	char			*cause = NULL;
	int			 i;

	sc = scenario_parse("t.yaml", text, sizeof text - 1, &cause);
	ASSERT(sc != NULL);
	if (sc == NULL) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return;
	}
	a = report_create("a", "http://x");
	b = report_create("b", "http://x");
	ep = report_endpoint(a, "GET", "/a");
	for (i = 0; i < 100; i++)
		report_record(a, ep, 200, -1, 10000, (uint64_t)i * 10000, 0);
	ep = report_endpoint(b, "GET", "/b");
	for (i = 0; i < 100; i++)
		report_record(b, ep, 200, -1, 100000, (uint64_t)i * 10000, 0);
	report_compare(ep, "t-1", "status", "200", "503");
	a->duration_us = b->duration_us = 1000000;
	report_add_assertion(a, "old", "", "", 0);

	/* One shard alone: p90 10 ms, 100/s. */
	report_assert(a, sc);
	ASSERT_EQ(a->nassertions, 5);
	ASSERT_STR_EQ(a->assertions[0].name, "latency.p50");
	ASSERT_EQ(a->assertions[0].passed, 1);
	ASSERT_STR_EQ(a->assertions[1].name, "latency.p90");
	ASSERT_EQ(a->assertions[1].passed, 1);
	ASSERT_STR_EQ(a->assertions[3].name, "throughput.min");
	ASSERT_EQ(a->assertions[3].passed, 0);
	ASSERT_STR_EQ(a->assertions[4].name, "regression");
	ASSERT_EQ(a->assertions[4].passed, 1);

	/* Merged: p50 still 10 ms, p90 100 ms, 200/s, one regression. */
	report_merge(a, b);
	report_assert(a, sc);
	ASSERT_EQ(a->nassertions, 5);
	ASSERT_EQ(a->assertions[0].passed, 1);
	ASSERT_EQ(a->assertions[1].passed, 0);
	ASSERT_STR_EQ(a->assertions[1].actual, "99.8ms");	/* a midpoint */
	ASSERT_STR_EQ(a->assertions[2].name, "error_rate.max");
	ASSERT_EQ(a->assertions[2].passed, 1);
	ASSERT_EQ(a->assertions[3].passed, 1);
	ASSERT_EQ(a->assertions[4].passed, 0);
	ASSERT_STR_EQ(a->assertions[4].actual, "1 of 1 responses differ");
	ASSERT_EQ(report_passed(a), 0);
	report_free(a);
	report_free(b);
	scenario_free(sc);
}

/* Text escaped for HTML and SVG: entities, control bytes, bad UTF-8. */
static void
test_xml_escape(void)
{
	struct buf	b;

	buf_init(&b);
	chart_xml_escape(&b, "a&<>\"'\t\n\r\x01\x1f\x7f|\xc3\xa9|\xff|"
	    "\xe2\x82|z");
	ASSERT_MEM_EQ(b.data, b.len, "a&amp;&lt;&gt;&quot;&#39;\t\n\r   |"
	    "\xc3\xa9|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|z");
	buf_reset(&b);
	chart_xml_escape(&b, "");
	ASSERT_EQ(b.len, 0);
	buf_free(&b);
}

int
main(void)
{
	char	cmd[300];

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	test_record();
	test_json();
	test_merge();
	test_assert();
	test_render();
	test_regressions();
	test_xml_escape();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	UNIT_DONE();
}
