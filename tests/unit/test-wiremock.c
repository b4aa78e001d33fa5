/*
 * test-wiremock.c -- unit tests for the WireMock mapping import
 * (wiremock.c): an exact stub becomes a transaction only, with jsonBody
 * digits and base64 bodies kept exactly; pattern, header, query and JSON
 * body matchers become rules, which the rule loader accepts and which
 * match (rule_set_eval) the requests WireMock's matchers match and refuse
 * the others; WireMock's precedence (priority, newest first) and the
 * guard rule of an exact stub that outranks a catch-all; delays and
 * faults; notes for what cannot be expressed; errors at file:line:col,
 * and every truncation of a mapping refused cleanly.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "rule.h"
#include "snap.h"
#include "wiremock.h"
#include "xmalloc.h"
#include "unit.h"

/* Imports one file's text; returns 0 or -1 (cause freed). */
static int
import(const char *text, struct wiremock_out *out)
{
	struct wiremock	*w;
	char		*cause = NULL;
	int		 rc;

	w = wiremock_create(NULL);
	rc = wiremock_add(w, "m.json", text, strlen(text), &cause);
	free(cause);
	wiremock_finish(w, out);
	wiremock_free(w);
	return rc;
}

/* Loads out's rule file; fails the test if the loader refuses it. */
static struct rule_set *
load_rules(const struct wiremock_out *out)
{
	struct rule_set	*rs;
	char		*cause = NULL;

	rs = rule_set_parse("rules", out->rules, out->rules_len, &cause);
	if (rs == NULL) {
		UNIT_FAIL("rules refused: %s\n%s", cause, out->rules);
		free(cause);
	}
	return rs;
}

/* The name of the first rule that fires for the request, or "". */
static const char *
fires(const struct rule_set *rs, const char *method, const char *path,
    const char *query, const char *hname, const char *hvalue,
    const char *body)
{
	struct http_header	h;
	struct rule_hit		hits[RULE_MAX_HITS];
	struct rule_ctx		ctx;
	struct rule_req		rq;

	memset(&rq, 0, sizeof rq);
	memset(&ctx, 0, sizeof ctx);
	ctx.recorded_ns = -1;
	rq.dir = SNAP_DIR_OUT;
	rq.host = span_from_str("127.0.0.1");
	rq.method = span_from_str(method);
	rq.path = span_from_str(path);
	rq.query = span_from_str(query);
	if (hname != NULL) {
		h.name = span_from_str(hname);
		h.value = span_from_str(hvalue);
		rq.headers = &h;
		rq.nheaders = 1;
	}
	rq.body = body;
	rq.body_len = strlen(body);
	if (rs == NULL || rule_set_eval(rs, &rq, &ctx, hits,
	    RULE_MAX_HITS) == 0)
		return "";
	return rule_name(hits[0].rule);
}

static void
test_exact(void)
{
	struct wiremock_out	o;
	const struct snap_txn	*t;

	ASSERT_EQ(import("{\"id\":\"s1\",\"request\":{\"method\":\"GET\","
	    "\"url\":\"/a?x=1\"},\"response\":{\"status\":201,"
	    "\"statusMessage\":\"Made\",\"headers\":{\"Content-Type\":"
	    "\"application/json\",\"Set-Cookie\":[\"a=1\",\"b=2\"]},"
	    "\"jsonBody\":{\"n\":12345678901234567890123, \"f\" : 1.50,"
	    "\"s\":\"caf\\u00e9 \\\"q\\\"\",\"l\":[true,null,-0.5e-3]}}}",
	    &o), 0);
	ASSERT_EQ(o.mappings, 1);
	ASSERT_EQ(o.imported, 1);
	ASSERT_EQ(o.nnotes, 0);
	ASSERT_EQ(o.nrules, 0);
	ASSERT_EQ(o.ntxns, 1);
	t = &o.txns[0];
	ASSERT_STR_EQ(t->id, "s1");
	ASSERT_EQ(t->dir, SNAP_DIR_OUT);
	ASSERT_STR_EQ(t->req.method, "GET");
	ASSERT_STR_EQ(t->req.target, "/a?x=1");
	ASSERT_EQ(t->res.status, 201);
	ASSERT_STR_EQ(t->res.reason, "Made");
	ASSERT_EQ(t->res.nheaders, 3);
	ASSERT_STR_EQ(t->res.headers[1].name, "Set-Cookie");
	ASSERT_STR_EQ(t->res.headers[2].value, "b=2");
	/* Compact, digits as written, strings re-escaped as WireMock
	 * sends them. */
	ASSERT_MEM_EQ(t->res.body, t->res.body_len,
	    "{\"n\":12345678901234567890123,\"f\":1.50,"
	    "\"s\":\"caf\xc3\xa9 \\\"q\\\"\",\"l\":[true,null,-0.5e-3]}");
	wiremock_out_free(&o);

	/* base64Body, a POST with an exact body, the {"mappings"} form. */
	ASSERT_EQ(import("{\"mappings\":[{\"request\":{\"method\":\"POST\","
	    "\"url\":\"/b\",\"bodyPatterns\":[{\"equalTo\":\"k=v\"}]},"
	    "\"response\":{\"base64Body\":\"AP8BYQA=\"}},{\"request\":"
	    "{\"method\":\"PUT\",\"url\":\"/j\",\"bodyPatterns\":[{"
	    "\"equalToJson\":\"{ \\\"a\\\" : [1, 2] }\"}]}}],\"meta\":{}}",
	    &o), 0);
	ASSERT_EQ(o.mappings, 2);
	ASSERT_EQ(o.ntxns, 2);
	ASSERT_EQ(o.nrules, 0);
	ASSERT_STR_EQ(o.txns[1].req.target, "/b");
	ASSERT_MEM_EQ(o.txns[1].req.body, o.txns[1].req.body_len, "k=v");
	ASSERT_EQ(o.txns[1].res.status, 200);
	ASSERT_EQ(o.txns[1].res.body_len, 5);
	ASSERT(o.txns[1].res.body != NULL &&
	    memcmp(o.txns[1].res.body, "\0\xff\x01" "a\0", 5) == 0);
	ASSERT_MEM_EQ(o.txns[0].req.body, o.txns[0].req.body_len,
	    "{\"a\":[1,2]}");
	ASSERT_EQ(o.txns[0].req.nheaders, 1);
	wiremock_out_free(&o);
}

static void
test_patterns(void)
{
	struct wiremock_out	 o;
	struct rule_set		*rs;

	ASSERT_EQ(import("{\"mappings\":["
	    "{\"name\":\"user\",\"request\":{\"method\":\"GET\","
	    "\"urlPathPattern\":\"/users/[0-9]+\",\"headers\":{\"X-Key\":"
	    "{\"equalTo\":\"s3\",\"caseInsensitive\":true}}},\"response\":"
	    "{\"body\":\"u\"}},"
	    "{\"name\":\"search\",\"request\":{\"method\":\"GET\",\"urlPath\":"
	    "\"/search\",\"queryParameters\":{\"q\":{\"contains\":\"shoe\"},"
	    "\"lang\":{\"hasExactly\":[{\"equalTo\":\"en gb\"}]}}},"
	    "\"response\":{\"body\":\"s\"}},"
	    "{\"name\":\"order\",\"request\":{\"method\":\"POST\",\"url\":"
	    "\"/orders\",\"bodyPatterns\":[{\"equalToJson\":{\"a\":1}},"
	    "{\"contains\":\"\\\"a\\\"\"}]},\"response\":{\"body\":\"o\"}},"
	    "{\"name\":\"tmpl\",\"request\":{\"method\":\"ANY\","
	    "\"urlPathTemplate\":\"/t/{id}/x\"},\"response\":{\"body\":\"t\"}},"
	    "{\"name\":\"accept\",\"request\":{\"urlPattern\":\"/n/.*\","
	    "\"headers\":{\"Accept\":{\"matches\":\"text/.*\"}}},"
	    "\"response\":{\"body\":\"n\"}}]}", &o), 0);
	ASSERT_EQ(o.imported, 5);
	ASSERT_EQ(o.nnotes, 0);
	ASSERT_EQ(o.nrules, 5);
	/* None is one exact request (contains, two body patterns). */
	ASSERT_EQ(o.ntxns, 0);
	rs = load_rules(&o);
	/* Newest first at equal priority: rule 1 is the last mapping. */
	ASSERT_STR_EQ(fires(rs, "GET", "/users/42", "", "x-key", "S3", ""),
	    "wm-5-user");
	ASSERT_STR_EQ(fires(rs, "GET", "/users/42", "", "x-key", "s4", ""),
	    "");
	ASSERT_STR_EQ(fires(rs, "GET", "/users/4a", "", "X-Key", "s3", ""),
	    "");
	ASSERT_STR_EQ(fires(rs, "GET", "/search",
	    "q=red+shoes&lang=en%20gb", NULL, NULL, ""), "wm-4-search");
	ASSERT_STR_EQ(fires(rs, "GET", "/search",
	    "lang=en+gb&q=shoe&z=1", NULL, NULL, ""), "wm-4-search");
	ASSERT_STR_EQ(fires(rs, "GET", "/search", "q=hat&lang=en%20gb", NULL,
	    NULL, ""), "");
	ASSERT_STR_EQ(fires(rs, "GET", "/search", "q=shoe&lang=en", NULL,
	    NULL, ""), "");
	ASSERT_STR_EQ(fires(rs, "POST", "/orders", "", NULL, NULL,
	    " {\n \"a\" : 1 }\n"), "wm-3-order");
	ASSERT_STR_EQ(fires(rs, "POST", "/orders", "", NULL, NULL,
	    "{\"a\":2}"), "");
	ASSERT_STR_EQ(fires(rs, "POST", "/orders", "", NULL, NULL,
	    "{\"a\":1,\"b\":2}"), "");
	ASSERT_STR_EQ(fires(rs, "DELETE", "/t/9/x", "", NULL, NULL, ""),
	    "wm-2-tmpl");
	ASSERT_STR_EQ(fires(rs, "GET", "/t/9/8/x", "", NULL, NULL, ""), "");
	ASSERT_STR_EQ(fires(rs, "HEAD", "/n/a", "", "Accept", "text/html",
	    ""), "wm-1-accept");
	ASSERT_STR_EQ(fires(rs, "HEAD", "/n/a", "", "Accept", "image/png",
	    ""), "");
	rule_set_free(rs);
	wiremock_out_free(&o);
}

static void
test_precedence(void)
{
	struct wiremock_out	 o;
	struct rule_set		*rs;

	/* An exact stub outranked by nothing, one that outranks the
	 * catch-all (a guard rule), one the catch-all cannot match (no
	 * rule), and a duplicate request older than the first (dropped). */
	ASSERT_EQ(import("{\"mappings\":["
	    "{\"name\":\"old\",\"insertionIndex\":1,\"request\":{\"method\":"
	    "\"GET\",\"url\":\"/api/a\"},\"response\":{\"body\":\"old\"}},"
	    "{\"name\":\"new\",\"insertionIndex\":2,\"request\":{\"method\":"
	    "\"GET\",\"url\":\"/api/a\"},\"response\":{\"body\":\"new\"}},"
	    "{\"name\":\"other\",\"request\":{\"method\":\"GET\",\"url\":"
	    "\"/other\"},\"response\":{\"body\":\"x\"}},"
	    "{\"name\":\"all\",\"priority\":10,\"request\":{\"method\":\"GET\","
	    "\"urlPattern\":\"/api/.*\"},\"response\":{\"status\":418}}]}",
	    &o), 0);
	ASSERT_EQ(o.ntxns, 2);
	ASSERT_MEM_EQ(o.txns[0].res.body, o.txns[0].res.body_len, "new");
	ASSERT_STR_EQ(o.txns[1].req.target, "/other");
	ASSERT_EQ(o.nrules, 3);
	rs = load_rules(&o);
	ASSERT_STR_EQ(fires(rs, "GET", "/api/a", "", NULL, NULL, ""),
	    "wm-1-new");
	ASSERT_STR_EQ(fires(rs, "GET", "/api/b", "", NULL, NULL, ""),
	    "wm-4-all");
	ASSERT_STR_EQ(fires(rs, "GET", "/other", "", NULL, NULL, ""), "");
	ASSERT(strstr(o.rules, "name: wm-3-") == NULL);
	rule_set_free(rs);
	wiremock_out_free(&o);
}

static void
test_delays_faults(void)
{
	struct wiremock_out	 o;
	struct rule_set		*rs;

	ASSERT_EQ(import("{\"mappings\":["
	    "{\"name\":\"f\",\"request\":{\"method\":\"GET\",\"url\":\"/f\"},"
	    "\"response\":{\"fixedDelayMilliseconds\":250}},"
	    "{\"name\":\"u\",\"request\":{\"method\":\"GET\",\"url\":\"/u\"},"
	    "\"response\":{\"delayDistribution\":{\"type\":\"uniform\","
	    "\"lower\":10,\"upper\":20}}},"
	    "{\"name\":\"l\",\"request\":{\"method\":\"GET\",\"url\":\"/l\"},"
	    "\"response\":{\"fixedDelayMilliseconds\":5,\"delayDistribution\":"
	    "{\"type\":\"lognormal\",\"median\":100,\"sigma\":0.4,"
	    "\"maxValue\":900}}},"
	    "{\"name\":\"r\",\"request\":{\"method\":\"GET\",\"url\":\"/r\"},"
	    "\"response\":{\"fault\":\"CONNECTION_RESET_BY_PEER\"}},"
	    "{\"name\":\"e\",\"request\":{\"method\":\"GET\",\"url\":\"/e\"},"
	    "\"response\":{\"fault\":\"EMPTY_RESPONSE\"}},"
	    "{\"name\":\"c\",\"request\":{\"method\":\"GET\",\"url\":\"/c\"},"
	    "\"response\":{\"fault\":\"MALFORMED_RESPONSE_CHUNK\"}}]}", &o), 0);
	ASSERT_EQ(o.nnotes, 0);
	ASSERT_EQ(o.nrules, 7);
	ASSERT(strstr(o.rules, "latency: 250ms\n") != NULL);
	ASSERT(strstr(o.rules, "latency: {uniform: [10ms, 20ms]}\n") != NULL);
	ASSERT(strstr(o.rules, "latency: {lognormal: {mu: 4.60517019, "
	    "sigma: 0.4}, max: 900ms}\n") != NULL);
	ASSERT(strstr(o.rules, "-l-delay\n") != NULL);
	ASSERT(strstr(o.rules, "latency: 5ms\n") != NULL);
	ASSERT(strstr(o.rules, "connection: reset\n") != NULL);
	ASSERT(strstr(o.rules, "connection: close\n") != NULL);
	ASSERT(strstr(o.rules, "malform: bad_chunk\n") != NULL);
	rs = load_rules(&o);
	ASSERT_EQ(rs != NULL ? rule_set_count(rs) : 0, 7);
	rule_set_free(rs);
	wiremock_out_free(&o);
}

static void
test_notes(void)
{
	struct wiremock_out	o;

	ASSERT_EQ(import("{\"mappings\":["
	    "{\"id\":\"j1\",\"request\":{\"method\":\"POST\",\"url\":\"/j\","
	    "\"bodyPatterns\":[{\"matchesJsonPath\":\"$.a\"}]}},"
	    "{\"name\":\"sc\",\"scenarioName\":\"s\",\"request\":{\"url\":"
	    "\"/s\"}},"
	    "{\"request\":{\"url\":\"/c\",\"cookies\":{}}},"
	    "{\"request\":{\"url\":\"/t\"},\"response\":{\"transformers\":"
	    "[\"response-template\"]}},"
	    "{\"request\":{\"urlPattern\":\"/q\\\\?a=1\"}},"
	    "{\"request\":{\"urlPathPattern\":\"/p\\\\p{javaLowerCase}\"}},"
	    "{\"request\":{\"urlPath\":\"/b\"},\"response\":{\"base64Body\":"
	    "\"AP8=\"}},"
	    "{\"id\":\"w\",\"request\":{\"method\":\"GET\",\"url\":\"/w\"},"
	    "\"response\":{\"transformers\":[],\"chunkedDribbleDelay\":"
	    "{}},\"postServeActions\":[]}]}", &o), 0);
	ASSERT_EQ(o.mappings, 8);
	ASSERT_EQ(o.imported, 1);
	ASSERT_EQ(o.nnotes, 9);
	ASSERT_STR_EQ(o.notes[0].mapping, "j1");
	ASSERT_EQ(o.notes[0].skipped, 1);
	ASSERT(strstr(o.notes[0].what, "matchesJsonPath") != NULL);
	ASSERT_STR_EQ(o.notes[1].mapping, "sc");
	ASSERT(strstr(o.notes[2].what, "cookies") != NULL);
	ASSERT_STR_EQ(o.notes[2].mapping, "#3");
	ASSERT(strstr(o.notes[3].what, "transformers") != NULL);
	ASSERT(strstr(o.notes[4].what, "query") != NULL);
	ASSERT(strstr(o.notes[5].what, "PCRE2") != NULL);
	ASSERT(strstr(o.notes[6].what, "not UTF-8") != NULL);
	ASSERT_EQ(o.notes[7].skipped, 0);
	ASSERT(strstr(o.notes[7].what, "chunkedDribbleDelay") != NULL);
	ASSERT(strstr(o.notes[8].what, "postServeActions") != NULL);
	ASSERT_STR_EQ(o.notes[8].file, "m.json");
	ASSERT_EQ(o.ntxns, 1);
	wiremock_out_free(&o);
}

static void
test_errors(void)
{
	static const char	 good[] = "{\"request\":{\"method\":\"GET\","
	    "\"url\":\"/a\",\"headers\":{\"H\":{\"equalTo\":\"v\"}}},"
	    "\"response\":{\"status\":200,\"jsonBody\":{\"a\":[1,{\"b\":"
	    "\"\\u00e9\"}]},\"headers\":{\"X\":[\"1\",\"2\"]}}}";
	struct wiremock		*w;
	struct wiremock_out	 o;
	char			*cause = NULL, *copy;
	size_t			 i;

	w = wiremock_create(NULL);
	ASSERT_EQ(wiremock_add(w, "bad.json", "{\n  \"request\": {\"url\": "
	    "\"/x\",\n    \"method\": GET}\n}\n", 48, &cause), -1);
	ASSERT(cause != NULL && strncmp(cause, "bad.json:3:15: ", 15) == 0);
	free(cause);
	cause = NULL;
	ASSERT_EQ(wiremock_add(w, "t.json", "{\"response\":{\"status\":\"x\"}}",
	    27, &cause), -1);
	ASSERT(cause != NULL && strstr(cause, "t.json:1:23: ") == cause);
	free(cause);
	cause = NULL;
	/* Every truncation fails cleanly; the whole file imports. */
	for (i = 0; i < sizeof good - 1; i++) {
		copy = xmalloc(i + 1);
		memcpy(copy, good, i);
		copy[i] = '\0';
		if (wiremock_add(w, "cut.json", copy, i, &cause) != -1)
			UNIT_FAIL("truncation at %zu accepted", i);
		free(cause);
		cause = NULL;
		free(copy);
	}
	ASSERT_EQ(wiremock_add(w, "good.json", good, sizeof good - 1, &cause),
	    0);
	wiremock_finish(w, &o);
	/* A header matcher needs a rule; a rule holds one value per
	 * response header: skipped, and said so. */
	ASSERT_EQ(o.mappings, 1);
	ASSERT_EQ(o.imported, 0);
	ASSERT_EQ(o.nrules, 0);
	ASSERT_EQ(o.nnotes, 1);
	ASSERT_EQ(o.notes[0].skipped, 1);
	ASSERT(strstr(o.notes[0].what, "several values") != NULL);
	wiremock_out_free(&o);
	wiremock_free(w);
}

int
main(void)
{
	log_init("test-wiremock", LOG_LEVEL_ERROR);
	test_exact();
	test_patterns();
	test_precedence();
	test_delays_faults();
	test_notes();
	test_errors();
	UNIT_DONE();
}
