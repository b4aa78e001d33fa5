/*
 * test-plan.c -- unit tests for the chaos decision (plan.c): the request
 * view of a captured request, signatures and occurrences, what a set of
 * firing rules adds up to (last wins, headers accumulate, latencies add,
 * the largest drop, masks), the chaos log lines of each scope, and
 * plan_render() on recorded responses: status, headers, body, every
 * framing-changing malform, and a plan that changes no bytes; gRPC
 * calls: trailers-only answers (grpc, and a status as its gRPC code),
 * the gRPC malforms of the message stream, per-message pieces.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "chaos.h"
#include "fault.h"
#include "grpc.h"
#include "match.h"
#include "plan.h"
#include "rule.h"
#include "xmalloc.h"

#include "unit.h"

#define HEAD	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" \
		"Content-Length: 16\r\nX-Trace: abc\r\n"
#define BODY	"{\"id\":7,\"ok\":1}\n"

static struct rule_set *
parse(const char *text)
{
	struct rule_set	*set;
	char		*cause = NULL;

	if ((set = rule_set_parse("t", text, strlen(text), &cause)) == NULL) {
		UNIT_FAIL("rule_set_parse: %s\n--- text:\n%s", cause, text);
		free(cause);
		exit(1);
	}
	return set;
}

static struct rule_req
req_get(const char *path)
{
	struct rule_req	rq;

	memset(&rq, 0, sizeof rq);
	rq.dir = SNAP_DIR_OUT;
	rq.method = SPAN_LIT("GET");
	rq.host = SPAN_LIT("api:80");
	rq.path = span_from_str(path);
	return rq;
}

/* Decides for rq under seed 1, signature 42, occurrence 0. */
static void
decide_req(struct plan *plan, const struct rule_set *set,
    const struct rule_req *rq, const uint64_t *mask)
{
	struct rule_ctx	ctx;

	memset(&ctx, 0, sizeof ctx);
	ctx.seed = 1;
	ctx.sig = 42;
	ctx.recorded_ns = -1;
	plan_decide(plan, set, rq, &ctx, mask);
}

/* decide_req() for a GET of path. */
static void
decide(struct plan *plan, const struct rule_set *set, const char *path,
    const uint64_t *mask)
{
	struct rule_req	rq = req_get(path);

	decide_req(plan, set, &rq, mask);
}

static void
test_req_from_snap(void)
{
	struct snap_req		r;
	struct snap_header	h[2] = { { "Accept", "*/*" }, { "X-A", "1" } };
	struct http_header	hdrs[1];
	struct rule_req		rq;
	char			target[] = "/v1/items?page=2&q=x";

	memset(&r, 0, sizeof r);
	r.method = "POST";
	r.target = target;
	r.host = "shop:8080";
	r.headers = h;
	r.nheaders = 2;
	r.body = "{}";
	r.body_len = 2;
	plan_req_from_snap(&rq, hdrs, 1, &r, SNAP_DIR_IN);
	ASSERT_EQ(rq.dir, SNAP_DIR_IN);
	ASSERT_MEM_EQ(rq.method.p, rq.method.len, "POST");
	ASSERT_MEM_EQ(rq.host.p, rq.host.len, "shop:8080");
	ASSERT_MEM_EQ(rq.path.p, rq.path.len, "/v1/items");
	ASSERT_MEM_EQ(rq.query.p, rq.query.len, "page=2&q=x");
	ASSERT_EQ(rq.nheaders, 1);	/* capped at nhdrs */
	ASSERT_MEM_EQ(rq.headers[0].name.p, rq.headers[0].name.len, "Accept");
	ASSERT_MEM_EQ(rq.body, rq.body_len, "{}");

	/* No query, no host. */
	r.target = "/";
	r.host = NULL;
	plan_req_from_snap(&rq, hdrs, 1, &r, SNAP_DIR_OUT);
	ASSERT_MEM_EQ(rq.path.p, rq.path.len, "/");
	ASSERT(rq.query.p == NULL);
	ASSERT(rq.host.p == NULL);
}

static void
test_signature_and_occ(void)
{
	struct plan_occ	*occ;
	uint64_t	 sig, want;

	sig = plan_signature(SPAN_LIT("GET"), SPAN_LIT("/a"), SPAN_NULL,
	    NULL, 0);
	want = match_hash(MATCH_HASH_INIT, "GET", 3);
	want = match_hash(want, "/a", 2);
	want = match_hash(want, NULL, 0);
	want = match_hash(want, NULL, 0);
	ASSERT(sig == want);
	/* Each field counts: method, path, query, body. */
	ASSERT(sig != plan_signature(SPAN_LIT("PUT"), SPAN_LIT("/a"),
	    SPAN_NULL, NULL, 0));
	ASSERT(sig != plan_signature(SPAN_LIT("GET"), SPAN_LIT("/a"),
	    SPAN_LIT("x=1"), NULL, 0));
	ASSERT(sig != plan_signature(SPAN_LIT("GET"), SPAN_LIT("/a"),
	    SPAN_NULL, "b", 1));

	occ = xcalloc(1, sizeof *occ);
	ASSERT_EQ(plan_occ_next(occ, 7), 0);
	ASSERT_EQ(plan_occ_next(occ, 7), 1);
	ASSERT_EQ(plan_occ_next(occ, 8), 0);
	ASSERT_EQ(plan_occ_next(occ, 7 + PLAN_OCC_SLOTS), 2);	/* a slot */
	free(occ);
}

static void
test_decide(void)
{
	struct rule_set	*set;
	struct plan	 plan;
	uint64_t	 mask;

	set = parse("rules:\n"
	    "  - name: slow\n"
	    "    match: {path: '^/a'}\n"
	    "    fault: {latency: 100ms, headers: {X-One: '1'}, drop: 0.2}\n"
	    "  - name: err\n"
	    "    match: {path: '^/a'}\n"
	    "    fault: {status: 503, headers: {X-Two: '2'}, latency: 20ms,"
	    " drop: 0.5}\n"
	    "  - name: err2\n"
	    "    match: {path: '^/a$'}\n"
	    "    fault: {status: 502, body: 'gone', malform: truncate}\n"
	    "  - name: cut\n"
	    "    match: {path: '^/a'}\n"
	    "    fault: {connection: drip, drip: 200/s}\n"
	    "  - name: after-cut\n"
	    "    fault: {status: 500}\n");
	decide(&plan, set, "/a", NULL);
	ASSERT_EQ(plan.nhits, 4);	/* a connection fault ends it */
	ASSERT_EQ(plan.sig, 42);
	ASSERT_EQ(plan.occurrence, 0);
	ASSERT_EQ(plan.latency_ns, 120000000);
	ASSERT_EQ(plan.status->status, 502);	/* the last one wins */
	ASSERT_STR_EQ(plan.status_rule, "err2");
	ASSERT_STR_EQ(plan.body_rule, "err2");
	ASSERT_MEM_EQ(plan.body->body, plan.body->body_len, "gone");
	ASSERT_EQ(plan.malform->malform, FAULT_MALFORM_TRUNCATE);
	ASSERT(plan.malform_seed == plan.hits[2].rng_seed);
	ASSERT_EQ(plan.nheaders, 2);
	ASSERT_STR_EQ(plan.headers[0].name, "X-One");
	ASSERT_STR_EQ(plan.headers[1].name, "X-Two");
	ASSERT_EQ(plan.conn, FAULT_CONN_DRIP);
	ASSERT_EQ(plan.drip_bps, 200);
	ASSERT_STR_EQ(plan.conn_rule, "cut");
	ASSERT(plan.drop == 0.5);
	ASSERT_STR_EQ(plan.drop_rule, "err");

	/* A mask narrows the rules evaluated; an empty one decides none. */
	mask = UINT64_C(1) << 1;
	decide(&plan, set, "/a", &mask);
	ASSERT_EQ(plan.nhits, 1);
	ASSERT_STR_EQ(plan.status_rule, "err");
	ASSERT(plan.malform == NULL);
	ASSERT_EQ(plan.conn, FAULT_CONN_NONE);
	mask = 0;
	decide(&plan, set, "/a", &mask);
	ASSERT_EQ(plan.nhits, 0);
	ASSERT(plan.status == NULL);
	ASSERT_EQ(plan.nheaders, 0);

	/* Nothing matches: an empty plan, but for the last rule. */
	decide(&plan, set, "/b", NULL);
	ASSERT_EQ(plan.nhits, 1);
	ASSERT_STR_EQ(plan.status_rule, "after-cut");
	ASSERT_EQ(plan.latency_ns, 0);
	rule_set_free(set);

	/* Two rules set one header: the later one's replaces it. */
	set = parse("rules:\n"
	    "  - {name: first, fault: {headers: {X-From: first, X-A: a}}}\n"
	    "  - {name: second, fault: {headers: {x-from: second}}}\n");
	decide(&plan, set, "/a", NULL);
	ASSERT_EQ(plan.nhits, 2);
	ASSERT_EQ(plan.nheaders, 2);
	ASSERT_STR_EQ(plan.headers[0].name, "x-from");
	ASSERT_STR_EQ(plan.headers[0].value, "second");
	ASSERT_STR_EQ(plan.headers[1].name, "X-A");
	rule_set_free(set);

	/* The same inputs, the same latency (a sampled distribution). */
	set = parse("rules:\n  - name: u\n"
	    "    fault: {latency: {uniform: [1ms, 900ms]}}\n");
	{
		uint64_t	first;

		decide(&plan, set, "/x", NULL);
		first = plan.latency_ns;
		ASSERT(first >= 1000000 && first <= 900000000);
		decide(&plan, set, "/x", NULL);
		ASSERT_EQ(plan.latency_ns, first);
	}
	rule_set_free(set);
}

/* The chaos log's lines without their time stamp. */
static void
log_lines(struct chaos_log *cl, struct buf *out)
{
	struct buf	all;
	char		*p, *q;

	buf_init(&all);
	chaos_log_tail(cl, 100, &all);
	buf_reset(out);
	for (p = all.data; p != NULL && *p != '\0'; p = q + 1) {
		q = strchr(p, '\n');
		/* {"ts":"2026-12-07T21:00:00.000000Z", is 36 bytes. */
		buf_append(out, p + 36, (size_t)(q - p - 36) + 1);
	}
	buf_free(&all);
}

static void
test_log(void)
{
	struct rule_set		*set;
	struct chaos_log	*cl;
	struct plan		 plan;
	struct buf		 got;
	char			*cause = NULL;

	set = parse("rules:\n"
	    "  - name: a\n"
	    "    fault: {latency: 5ms, status: 503, headers: {X: '1'},"
	    " drop: 0.25}\n"
	    "  - name: b\n"
	    "    fault: {headers: {Y: '2'}, body: 'x', malform: empty}\n"
	    "  - name: c\n"
	    "    fault: {connection: slow_headers, drip: 100/s}\n");
	decide(&plan, set, "/", NULL);
	ASSERT_EQ(plan.nhits, 3);
	buf_init(&got);

	cl = chaos_log_open(NULL, 0, &cause);
	plan_log(&plan, cl, "t-000001", PLAN_SCOPE_HTTP);
	log_lines(cl, &got);
	ASSERT_STR_EQ(got.data,
	    "\"txn\":\"t-000001\",\"sig\":\"000000000000002a\","
	    "\"occurrence\":0,\"rule\":\"a\",\"fault\":\"latency\","
	    "\"params\":{\"distribution\":\"fixed\",\"ms\":5.000}}\n"
	    "\"txn\":\"t-000001\",\"sig\":\"000000000000002a\","
	    "\"occurrence\":0,\"rule\":\"a\",\"fault\":\"status\","
	    "\"params\":{\"status\":503}}\n"
	    "\"txn\":\"t-000001\",\"sig\":\"000000000000002a\","
	    "\"occurrence\":0,\"rule\":\"b\",\"fault\":\"headers\"}\n"
	    "\"txn\":\"t-000001\",\"sig\":\"000000000000002a\","
	    "\"occurrence\":0,\"rule\":\"b\",\"fault\":\"body\"}\n"
	    "\"txn\":\"t-000001\",\"sig\":\"000000000000002a\","
	    "\"occurrence\":0,\"rule\":\"b\",\"fault\":\"empty\"}\n"
	    "\"txn\":\"t-000001\",\"sig\":\"000000000000002a\","
	    "\"occurrence\":0,\"rule\":\"c\",\"fault\":\"slow_headers\","
	    "\"params\":{\"bytes_per_s\":100}}\n");
	/* The counters by kind (summed over rules) and by rule. */
	plan_log(&plan, cl, "t-000002", PLAN_SCOPE_HTTP);
	buf_reset(&got);
	chaos_log_counts_json(cl, &got);
	ASSERT_STR_EQ(got.data, "{\"total\":12,\"by_kind\":{\"latency\":2,"
	    "\"status\":2,\"headers\":2,\"body\":2,\"empty\":2,"
	    "\"slow_headers\":2},\"by_rule\":{\"a\":{\"latency\":2,"
	    "\"status\":2},\"b\":{\"headers\":2,\"body\":2,\"empty\":2},"
	    "\"c\":{\"slow_headers\":2}}}");
	buf_reset(&got);
	chaos_log_counts_prometheus(cl, &got);
	ASSERT(strstr(got.data, "decoy_faults_total{rule=\"b\",kind=\"body\"} "
	    "2\n") != NULL);
	chaos_log_close(cl);

	/* Packets: latency and drop; a slow_headers is not theirs. */
	cl = chaos_log_open(NULL, 0, &cause);
	plan_log(&plan, cl, "-", PLAN_SCOPE_PACKET);
	log_lines(cl, &got);
	ASSERT_STR_EQ(got.data,
	    "\"txn\":\"-\",\"sig\":\"000000000000002a\","
	    "\"occurrence\":0,\"rule\":\"a\",\"fault\":\"latency\","
	    "\"params\":{\"distribution\":\"fixed\",\"ms\":5.000}}\n"
	    "\"txn\":\"-\",\"sig\":\"000000000000002a\","
	    "\"occurrence\":0,\"rule\":\"a\",\"fault\":\"drop\","
	    "\"params\":{\"probability\":0.25}}\n");
	chaos_log_close(cl);
	rule_set_free(set);

	set = parse("rules:\n  - name: r\n    fault: {connection: reset}\n");
	decide(&plan, set, "/", NULL);
	cl = chaos_log_open(NULL, 0, &cause);
	plan_log(&plan, cl, "-", PLAN_SCOPE_PACKET);
	log_lines(cl, &got);
	ASSERT_STR_EQ(got.data,
	    "\"txn\":\"-\",\"sig\":\"000000000000002a\","
	    "\"occurrence\":0,\"rule\":\"r\",\"fault\":\"reset\"}\n");
	chaos_log_close(cl);
	rule_set_free(set);
	buf_free(&got);
}

/* Renders BODY under HEAD with the rules' plan; 0: nothing changed. */
static int
render(const char *rules, const char *head, const char *body,
    struct plan_reply *out)
{
	struct rule_set	*set = parse(rules);
	struct plan	 plan;
	int		 rv;

	decide(&plan, set, "/", NULL);
	rv = plan_render(&plan, head, strlen(head), body,
	    body != NULL ? strlen(body) : 0, out);
	rule_set_free(set);
	return rv;
}

static void
test_render(void)
{
	struct plan_reply	out;

	/* Latency and connection faults change no bytes. */
	ASSERT_EQ(render("rules:\n  - name: a\n    fault: {latency: 1ms, "
	    "connection: close}\n", HEAD, BODY, &out), 0);

	/* A status replaces the response; headers come with it. */
	ASSERT_EQ(render("rules:\n  - name: a\n    fault: {status: 503, "
	    "headers: {Retry-After: '2'}, body: '{\"e\":1}'}\n", HEAD, BODY,
	    &out), 1);
	ASSERT_MEM_EQ(out.head.data, out.head.len,
	    "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json\r\nRetry-After: 2\r\n"
	    "Content-Length: 7\r\n");
	ASSERT_MEM_EQ(out.body.data, out.body.len, "{\"e\":1}");
	ASSERT_EQ(out.close, 0);
	ASSERT_EQ(out.filler, 0);
	plan_reply_free(&out);

	/* Headers set by name over the recorded ones, body kept. */
	ASSERT_EQ(render("rules:\n  - name: a\n    fault: {headers: "
	    "{x-trace: zzz}}\n", HEAD, BODY, &out), 1);
	ASSERT_MEM_EQ(out.head.data, out.head.len,
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "x-trace: zzz\r\nContent-Length: 16\r\n");
	ASSERT_MEM_EQ(out.body.data, out.body.len, BODY);
	plan_reply_free(&out);

	/* truncate: half the body, an honest length. */
	ASSERT_EQ(render("rules:\n  - name: a\n    fault: {malform: "
	    "truncate}\n", HEAD, BODY, &out), 1);
	ASSERT_MEM_EQ(out.body.data, out.body.len, "{\"id\":7,");
	ASSERT(strstr(out.head.data, "Content-Length: 8\r\n") != NULL);
	ASSERT_EQ(out.close, 0);
	plan_reply_free(&out);

	/* lying_length: the recorded length promised, less sent, close. */
	ASSERT_EQ(render("rules:\n  - name: a\n    fault: {malform: "
	    "lying_length}\n", HEAD, BODY, &out), 1);
	ASSERT_EQ(out.body.len, 8);
	ASSERT(strstr(out.head.data, "Content-Length: 16\r\n") != NULL);
	ASSERT_EQ(out.close, 1);
	plan_reply_free(&out);

	/* bad_chunk: chunked framing with an invalid size, close. */
	ASSERT_EQ(render("rules:\n  - name: a\n    fault: {malform: "
	    "bad_chunk}\n", HEAD, "ab", &out), 1);
	ASSERT_MEM_EQ(out.body.data, out.body.len, "1g\r\nab\r\n0\r\n\r\n");
	ASSERT(strstr(out.head.data, "Transfer-Encoding: chunked\r\n") !=
	    NULL);
	ASSERT(strstr(out.head.data, "Content-Length") == NULL);
	ASSERT_EQ(out.close, 1);
	plan_reply_free(&out);

	/* oversize: filler instead of the body, its length announced. */
	ASSERT_EQ(render("rules:\n  - name: a\n    fault: {malform: "
	    "{oversize: {size: 4096}}}\n", HEAD, BODY, &out), 1);
	ASSERT_EQ(out.filler, 4096);
	ASSERT_EQ(out.body.len, 0);
	ASSERT(strstr(out.head.data, "Content-Length: 4096\r\n") != NULL);
	plan_reply_free(&out);

	/* wrong_content_type: the recorded one goes, the given one comes. */
	ASSERT_EQ(render("rules:\n  - name: a\n    fault: {malform: "
	    "{wrong_content_type: {content_type: text/xml}}}\n", HEAD, BODY,
	    &out), 1);
	ASSERT_MEM_EQ(out.head.data, out.head.len,
	    "HTTP/1.1 200 OK\r\nX-Trace: abc\r\nContent-Type: text/xml\r\n"
	    "Content-Length: 16\r\n");
	ASSERT_MEM_EQ(out.body.data, out.body.len, BODY);
	plan_reply_free(&out);

	/* An unparseable head: a 200 with a guessed Content-Type. */
	ASSERT_EQ(render("rules:\n  - name: a\n    fault: {malform: "
	    "empty}\n", "garbage", BODY, &out), 1);
	ASSERT_MEM_EQ(out.head.data, out.head.len,
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
	ASSERT_EQ(out.body.len, 0);
	plan_reply_free(&out);
	ASSERT_EQ(render("rules:\n  - name: a\n    fault: {headers: "
	    "{A: b}}\n", "garbage", "[1]", &out), 1);
	ASSERT_MEM_EQ(out.head.data, out.head.len,
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nA: b\r\n"
	    "Content-Length: 3\r\n");
	plan_reply_free(&out);

	/* No recorded body at all. */
	ASSERT_EQ(render("rules:\n  - name: a\n    fault: {malform: "
	    "corrupt}\n", HEAD, NULL, &out), 1);
	ASSERT_EQ(out.body.len, 0);
	plan_reply_free(&out);
}

/* A recorded gRPC answer: two messages (field 1 = 7; field 1 = "hi"),
 * chunked, with its trailers. */
#define GHEAD	"HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\n" \
		"Transfer-Encoding: chunked\r\n"
#define GMSG1	"\0\0\0\0\2\x08\x07"
#define GMSG2	"\0\0\0\0\4\x0a\x02hi"
#define GTRAIL	"0\r\ngrpc-status: 0\r\n\r\n"
#define GBODY	"10\r\n" GMSG1 GMSG2 "\r\n" GTRAIL

/* decide() for a gRPC call (content-type application/grpc+proto). */
static void
decide_grpc(struct plan *plan, const struct rule_set *set)
{
	struct rule_req		rq = req_get("/pkg.Svc/Get");
	struct http_header	h = { SPAN_LIT("content-type"),
				    SPAN_LIT("application/grpc+proto") };

	rq.method = SPAN_LIT("POST");
	rq.headers = &h;
	rq.nheaders = 1;
	decide_req(plan, set, &rq, NULL);
}

/* render() of GBODY under GHEAD for a gRPC call. */
static int
render_grpc(const char *rules, struct plan *plan, struct plan_reply *out)
{
	struct rule_set	*set = parse(rules);
	int		 rv;

	decide_grpc(plan, set);
	rv = plan_render(plan, GHEAD, strlen(GHEAD), GBODY,
	    sizeof GBODY - 1, out);
	rule_set_free(set);
	return rv;
}

static void
test_grpc_status(void)
{
	struct plan_reply	out;
	struct plan		plan;
	static const struct {
		const char	*rule;
		const char	*head;
	} c[] = {
		{ "{grpc: unavailable, grpc_message: 'no way 100%'}",
		  "grpc-status: 14\r\ngrpc-message: no way 100%25\r\n" },
		{ "{grpc: 4}", "grpc-status: 4\r\n" },
		{ "{grpc: RESOURCE_EXHAUSTED, headers: {X-A: b}}",
		  "X-A: b\r\ngrpc-status: 8\r\n" },
		/* An HTTP status: the code a client makes of it. */
		{ "{status: 503}", "grpc-status: 14\r\n" },
		{ "{status: 403}", "grpc-status: 7\r\n" },
		/* grpc wins over status. */
		{ "{status: 503, grpc: NOT_FOUND}", "grpc-status: 5\r\n" },
	};
	struct buf		rules, want;
	size_t			i;

	buf_init(&rules);
	buf_init(&want);
	for (i = 0; i < sizeof c / sizeof c[0]; i++) {
		buf_reset(&rules);
		buf_printf(&rules, "rules:\n  - name: a\n    fault: %s\n",
		    c[i].rule);
		buf_reset(&want);
		buf_printf(&want, "HTTP/1.1 200 OK\r\n"
		    "Content-Type: application/grpc\r\n%sContent-Length: 0\r\n",
		    c[i].head);
		ASSERT_EQ(render_grpc(rules.data, &plan, &out), 1);
		ASSERT_MEM_EQ(out.head.data, out.head.len, want.data);
		ASSERT_EQ(out.body.len, 0);
		ASSERT(out.split == NULL);
		plan_reply_free(&out);
	}
	buf_free(&rules);
	buf_free(&want);

	/* Not a gRPC call: a grpc fault changes nothing, a status is an
	 * HTTP status. */
	ASSERT_EQ(render("rules:\n  - name: a\n    fault: {grpc: "
	    "UNAVAILABLE}\n", HEAD, BODY, &out), 0);
	ASSERT_EQ(render("rules:\n  - name: a\n    fault: {status: 503}\n",
	    HEAD, BODY, &out), 1);
	ASSERT(strncmp(out.head.data, "HTTP/1.1 503 ", 13) == 0);
	ASSERT(strstr(out.head.data, "grpc-status") == NULL);
	plan_reply_free(&out);
}

/* Renders the malform kind k and checks the chunked data and trailers. */
static void
check_grpc_malform(const char *k, const char *data, size_t len)
{
	struct plan_reply	out;
	struct plan		plan;
	struct buf		rules, want;

	buf_init(&rules);
	buf_init(&want);
	buf_printf(&rules, "rules:\n  - name: a\n    fault: {malform: %s}\n",
	    k);
	if (len > 0) {
		buf_printf(&want, "%zx\r\n", len);
		buf_append(&want, data, len);
		buf_append_str(&want, "\r\n");
	}
	buf_append_str(&want, GTRAIL);
	ASSERT_EQ(render_grpc(rules.data, &plan, &out), 1);
	ASSERT_MEM_EQ(out.head.data, out.head.len, GHEAD);
	/* The bytes hold NULs: compared by length. */
	ASSERT_EQ(out.body.len, want.len);
	ASSERT(memcmp(out.body.data, want.data, want.len) == 0);
	plan_reply_free(&out);
	buf_free(&rules);
	buf_free(&want);
}

static void
test_grpc_malform(void)
{
	struct grpc_msg	 m;
	const char	*why;
	size_t		 off = 0;

	/* The first prefix promises the whole rest and one byte more. */
	check_grpc_malform("grpc_bad_length",
	    "\0\0\0\0\x0c\x08\x07" GMSG2, 16);
	ASSERT_EQ(grpc_next_msg((const uint8_t *)"\0\0\0\0\x0c\x08\x07"
	    GMSG2, 16, &off, &m, &why), -1);
	/* The body ends inside the last message. */
	check_grpc_malform("grpc_truncate", GMSG1 "\0\0\0\0\4\x0a\x02", 14);
	/* Well framed, but the first message is a lone tag. */
	check_grpc_malform("grpc_bad_protobuf", "\0\0\0\0\1\x08" GMSG2, 15);
	/* Other body kinds work on the message stream. */
	check_grpc_malform("empty", "", 0);
	check_grpc_malform("truncate", GMSG1 "\0", 8);
}

static void
test_grpc_per_message(void)
{
	struct plan_reply	out;
	struct plan		plan;
	static const char	first[] = "7\r\n" GMSG1 "\r\n";
	static const char	rest[] = "9\r\n" GMSG2 "\r\n" GTRAIL;
	struct rule_set		*set;

	ASSERT_EQ(render_grpc("rules:\n  - name: a\n    fault: {latency: "
	    "100ms, per_message: true}\n", &plan, &out), 1);
	ASSERT(plan.msg_latency_ns == 100000000);
	ASSERT(plan.latency_ns == 0);
	ASSERT_MEM_EQ(out.head.data, out.head.len, GHEAD);
	ASSERT_EQ(out.nsplit, 2);
	ASSERT_EQ(out.split[0], sizeof first - 1);
	ASSERT_EQ(out.split[1], out.body.len);
	ASSERT(memcmp(out.body.data, first, sizeof first - 1) == 0);
	ASSERT_EQ(out.body.len - out.split[0], sizeof rest - 1);
	ASSERT(memcmp(out.body.data + out.split[0], rest,
	    sizeof rest - 1) == 0);
	plan_reply_free(&out);

	/* Not a gRPC call: the latency once, no bytes changed. */
	set = parse("rules:\n  - name: a\n    fault: {latency: 100ms, "
	    "per_message: true}\n");
	decide(&plan, set, "/", NULL);
	ASSERT(plan.latency_ns == 100000000);
	ASSERT(plan.msg_latency_ns == 0);
	ASSERT_EQ(plan_render(&plan, HEAD, strlen(HEAD), BODY, strlen(BODY),
	    &out), 0);
	rule_set_free(set);
}

/* The HTTP-scope chaos log lines of a gRPC call under rules. */
static void
grpc_log_lines(const char *rules, struct buf *got)
{
	struct rule_set		*set = parse(rules);
	struct chaos_log	*cl;
	struct plan		 plan;
	char			*cause = NULL;

	decide_grpc(&plan, set);
	cl = chaos_log_open(NULL, 0, &cause);
	plan_log(&plan, cl, "-", PLAN_SCOPE_HTTP);
	log_lines(cl, got);
	chaos_log_close(cl);
	rule_set_free(set);
}

static void
test_grpc_log(void)
{
	struct buf	got;

	buf_init(&got);
	grpc_log_lines("rules:\n"
	    "  - name: a\n"
	    "    fault: {latency: 5ms, per_message: true, status: 503}\n"
	    "  - name: b\n"
	    "    fault: {grpc: deadline-exceeded}\n", &got);
	ASSERT_STR_EQ(got.data,
	    "\"txn\":\"-\",\"sig\":\"000000000000002a\","
	    "\"occurrence\":0,\"rule\":\"a\",\"fault\":\"latency\","
	    "\"params\":{\"distribution\":\"fixed\",\"ms\":5.000,"
	    "\"per_message\":true}}\n"
	    "\"txn\":\"-\",\"sig\":\"000000000000002a\","
	    "\"occurrence\":0,\"rule\":\"a\",\"fault\":\"status\","
	    "\"params\":{\"status\":503,\"grpc\":\"UNAVAILABLE\"}}\n"
	    "\"txn\":\"-\",\"sig\":\"000000000000002a\","
	    "\"occurrence\":0,\"rule\":\"b\",\"fault\":\"grpc\","
	    "\"params\":{\"code\":\"DEADLINE_EXCEEDED\"}}\n");
	buf_free(&got);
}

int
main(void)
{
	test_req_from_snap();
	test_signature_and_occ();
	test_decide();
	test_log();
	test_render();
	test_grpc_status();
	test_grpc_malform();
	test_grpc_per_message();
	test_grpc_log();
	UNIT_DONE();
}
