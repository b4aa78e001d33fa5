/*
 * test-match.c -- unit tests for the responder's index (match.c).
 *
 * Transactions are built by hand (no snapshot decoding) and requests are
 * given as struct match_req spans, or as a hand-filled struct http_msg, so
 * the tests depend on nothing but match.c and the utilities.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "grpc.h"
#include "http.h"
#include "jwt.h"
#include "match.h"
#include "protobuf.h"
#include "snap.h"
#include "transform.h"
#include "xmalloc.h"

#include "unit.h"

#define NITEMS(a)	(sizeof (a) / sizeof (a)[0])

static struct snap_header json_ct[] = {
	{ (char *)"Content-Type", (char *)"application/json" },
};

static void
txn(struct snap_txn *t, size_t line, const char *id, const char *method,
    const char *target, const char *host, const char *body, int status)
{
	memset(t, 0, sizeof *t);
	t->v = 1;
	t->line = line;
	t->id = (char *)id;
	t->dir = SNAP_DIR_OUT;
	t->req.method = (char *)method;
	t->req.target = (char *)target;
	t->req.host = (char *)host;
	if (body != NULL) {
		t->req.body = (char *)body;
		t->req.body_len = strlen(body);
		t->req.headers = json_ct;
		t->req.nheaders = 1;
	}
	t->has_res = 1;
	t->res.status = status;
	t->res.body = (char *)"ok";
	t->res.body_len = 2;
	t->start_us = t->ttfb_us = t->total_us = -1;
}

static void
add(struct match_index *mi, const struct snap_txn *t)
{
	char	*cause = NULL;

	if (match_index_add(mi, t, &cause) == -1) {
		UNIT_FAIL("match_index_add: %s", cause);
		free(cause);
	}
}

static void
add_simple(struct match_index *mi, size_t line, const char *id,
    const char *method, const char *target, const char *host,
    const char *body)
{
	struct snap_txn	t;

	txn(&t, line, id, method, target, host, body, 200);
	add(mi, &t);
}

static struct match_req
req(const char *method, const char *host, const char *path,
    const char *query, const char *body)
{
	struct match_req	r;

	memset(&r, 0, sizeof r);
	r.method = span_from_str(method);
	r.host = span_from_str(host);
	r.path = span_from_str(path);
	r.query = span_from_str(query);
	if (body != NULL) {
		r.content_type = SPAN_LIT("application/json; charset=utf-8");
		r.body = body;
		r.body_len = strlen(body);
	}
	return r;
}

static const char *
lookup_id(struct match_index *mi, struct match_req r)
{
	const struct match_entry	*e;
	uint64_t			 sig, occ;

	e = match_lookup(mi, &r, &sig, &occ);
	return e == NULL ? "(none)" : e->id;
}

static void
test_hash(void)
{
	ASSERT(match_hash(MATCH_HASH_INIT, "", 0) == MATCH_HASH_INIT);
	ASSERT(match_hash(MATCH_HASH_INIT, "a", 1) ==
	    UINT64_C(0xaf63dc4c8601ec8c));
	ASSERT(match_hash(MATCH_HASH_INIT, "foobar", 6) ==
	    UINT64_C(0x85944171f73967e8));
}

static void
test_signature(void)
{
	struct match_index		*mi = match_index_create();
	const struct match_entry	*e;
	struct match_req		 r;
	uint64_t			 sig, occ;

	add_simple(mi, 1, "q", "GET", "/search?b=2&a=1&a=0", "svc", NULL);
	add_simple(mi, 2, "j", "POST", "/charges",  "svc",
	    "{\"amount\":1200,\"note\":\"a b\",\"tags\":[1,2]}");
	add_simple(mi, 3, "big", "GET", "/big?"
	    "z=1&y=1&x=1&w=1&v=1&u=1&t=1&s=1&r=1&q=1&p=1&o=1&n=1&m=1&l=1&"
	    "k=1&j=1&i=1&h=1&g=1&f=1&e=1&d=1&c=1&b=1&a=1&"
	    "z9=1&y9=1&x9=1&w9=1&v9=1&u9=1&t9=1&s9=1&r9=1&q9=1&p9=1&o9=1&"
	    "n9=1&m9=1&l9=1&k9=1&j9=1&i9=1&h9=1&g9=1&f9=1&e9=1&d9=1&c9=1&"
	    "b9=1&a9=1&z8=1&y8=1&x8=1&w8=1&v8=1&u8=1&t8=1&s8=1&r8=1&q8=1&"
	    "p8=1&o8=1&n8=1&m8=1", NULL, NULL);
	match_index_finish(mi, 1);
	ASSERT_EQ(match_index_count(mi), 3);

	/* Reordered parameters, empty pieces; equal keys keep their order. */
	r = req("GET", "", "/search", "a=1&a=0&&b=2&", NULL);
	e = match_lookup(mi, &r, &sig, &occ);
	ASSERT(e != NULL);
	if (e != NULL) {
		ASSERT_STR_EQ(e->id, "q");
		ASSERT_STR_EQ(e->query, "a=1&a=0&b=2");
		ASSERT(sig == e->sig_nohost);
		ASSERT_EQ(occ, 0);
	}
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "", "/search", "b=2&a=1&a=0",
	    NULL)), "q");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "", "/search", "a=0&a=1&b=2",
	    NULL)), "(none)");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "", "/search", "a=1&a=0",
	    NULL)), "(none)");

	/* More parameters than fit on the stack: the merge sort path. */
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "", "/big",
	    "a=1&b=1&c=1&d=1&e=1&f=1&g=1&h=1&i=1&j=1&k=1&l=1&m=1&n=1&o=1&"
	    "p=1&q=1&r=1&s=1&t=1&u=1&v=1&w=1&x=1&y=1&z=1&"
	    "a9=1&b9=1&c9=1&d9=1&e9=1&f9=1&g9=1&h9=1&i9=1&j9=1&k9=1&l9=1&"
	    "m9=1&n9=1&o9=1&p9=1&q9=1&r9=1&s9=1&t9=1&u9=1&v9=1&w9=1&x9=1&"
	    "y9=1&z9=1&m8=1&n8=1&o8=1&p8=1&q8=1&r8=1&s8=1&t8=1&u8=1&v8=1&"
	    "w8=1&x8=1&y8=1&z8=1", NULL)), "big");

	/* Pretty-printed and compact JSON agree; strings are kept as is. */
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/charges", "",
	    "{\n  \"amount\": 1200,\n  \"note\": \"a b\",\n"
	    "  \"tags\": [ 1, 2 ]\n}\n")), "j");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/charges", "",
	    "{\"amount\":1200,\"note\":\"ab\",\"tags\":[1,2]}")), "(none)");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/charges", "",
	    "{\"amount\":1201,\"note\":\"a b\",\"tags\":[1,2]}")), "(none)");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/charges", "", NULL)),
	    "(none)");
	/* Different path, method. */
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/charges/", "",
	    "{\"amount\":1200,\"note\":\"a b\",\"tags\":[1,2]}")), "(none)");
	ASSERT_STR_EQ(lookup_id(mi, req("PUT", "", "/charges", "",
	    "{\"amount\":1200,\"note\":\"a b\",\"tags\":[1,2]}")), "(none)");
	ASSERT_STR_EQ(lookup_id(mi, req("get", "", "/search", "a=1&a=0&b=2",
	    NULL)), "(none)");

	match_index_free(mi);
}

static void
test_add_errors(void)
{
	struct match_index	*mi = match_index_create();
	struct snap_txn		 t;
	char			*cause = NULL;

	txn(&t, 7, "x", "GET", "/", NULL, NULL, 200);
	t.has_res = 0;
	ASSERT_EQ(match_index_add(mi, &t, &cause), -1);
	ASSERT_STR_EQ(cause, "line 7: no response recorded");
	free(cause);
	cause = NULL;

	txn(&t, 8, "x", "GET", "/", NULL, NULL, 200);
	t.dir = SNAP_DIR_IN;
	ASSERT_EQ(match_index_add(mi, &t, &cause), -1);
	ASSERT(cause != NULL && strstr(cause, "line 8:") == cause);
	free(cause);

	ASSERT_EQ(match_index_count(mi), 0);
	match_index_finish(mi, 1);
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "", "/", "", NULL)), "(none)");
	match_index_free(mi);
}

static void
test_cycling(void)
{
	struct match_index		*mi = match_index_create();
	const struct match_entry	*e;
	struct match_req		 r;
	uint64_t			 sig, occ, first = 0;
	const char			*want[] = { "c0", "c1", "c2", "c0" };
	size_t				 i;

	add_simple(mi, 1, "c0", "GET", "/n", NULL, NULL);
	add_simple(mi, 2, "other", "GET", "/m", NULL, NULL);
	add_simple(mi, 3, "c1", "GET", "/n", NULL, NULL);
	add_simple(mi, 4, "c2", "GET", "/n", NULL, NULL);
	match_index_finish(mi, 1);

	r = req("GET", "localhost:18080", "/n", "", NULL);
	for (i = 0; i < NITEMS(want); i++) {
		e = match_lookup(mi, &r, &sig, &occ);
		ASSERT(e != NULL);
		if (e == NULL)
			continue;
		ASSERT_STR_EQ(e->id, want[i]);
		ASSERT_EQ(occ, i);
		if (i == 0)
			first = sig;
		ASSERT(sig == first);
	}
	/* Another signature has its own cursor. */
	e = match_lookup(mi, &(struct match_req){ .method = SPAN_LIT("GET"),
	    .path = SPAN_LIT("/m") }, &sig, &occ);
	ASSERT(e != NULL && strcmp(e->id, "other") == 0 && occ == 0);
	match_index_free(mi);
}

/*
 * An index large enough to be finished on two threads (50,000 entries
 * or more, with two threads allowed): groups cycle in recorded order
 * with and without host, the endpoint latencies are the endpoint's, and
 * a miss finds its near candidates.
 */
static void
test_large_finish(void)
{
	struct match_index		*mi = match_index_create();
	const struct match_entry	*e;
	struct snap_txn			 t;
	struct match_req		 r;
	struct buf			 out;
	char				 target[32], id[32], *ids;
	size_t				 i, n = 60000, routes = 600;
	uint64_t			 sig, occ;

	ids = xcalloc(n, 32);
	for (i = 0; i < n; i++) {
		snprintf(target, sizeof target, "/p/%zu", i % routes);
		snprintf(ids + i * 32, 32, "t%zu", i);
		txn(&t, i + 1, ids + i * 32, "GET", target,
		    i % routes % 2 == 0 ? "a.example" : "b.example", NULL, 200);
		t.total_us = (int64_t)i;
		add(mi, &t);
	}
	match_index_finish(mi, 2);
	ASSERT_EQ(match_index_count(mi), n);
	r = req("GET", "a.example", "/p/42", "", NULL);
	for (i = 0; i < 3; i++) {
		e = match_lookup(mi, &r, &sig, &occ);
		ASSERT(e != NULL);
		if (e == NULL)
			break;
		snprintf(id, sizeof id, "t%zu", 42 + i * routes);
		ASSERT_STR_EQ(e->id, id);
		ASSERT_EQ(occ, i);
		ASSERT_EQ(e->endpoint_n, n / routes);
		ASSERT(e->endpoint_ns != NULL && e->endpoint_ns[1] ==
		    (int64_t)(42 + routes) * 1000);
	}
	/* Another recorded host is another dependency; no host: any. */
	r = req("GET", "b.example", "/p/42", "", NULL);
	ASSERT(match_lookup(mi, &r, &sig, &occ) == NULL);
	r = req("GET", "elsewhere:1", "/p/43", "", NULL);
	ASSERT_STR_EQ(lookup_id(mi, r), "t43");
	/* A miss on a known route: the near buckets name candidates. */
	r = req("GET", "a.example", "/p/9999", "", NULL);
	ASSERT(match_lookup(mi, &r, &sig, &occ) == NULL);
	ASSERT(match_closest(mi, &r) != NULL);
	buf_init(&out);
	match_explain_miss(mi, &r, &out, 3);
	ASSERT(out.data != NULL && strstr(out.data, "\"/p/") != NULL);
	buf_free(&out);
	match_index_free(mi);
	free(ids);
}

static void
test_hosts(void)
{
	struct match_index		*mi = match_index_create();
	const struct match_entry	*e;
	struct snap_txn			 t;
	struct snap_header		 h[] = {
		{ (char *)"Accept", (char *)"*/*" },
		{ (char *)"Host", (char *)"Api.Example:443" },
	};

	add_simple(mi, 1, "pay", "GET", "/status", "payments.internal", NULL);
	add_simple(mi, 2, "inv", "GET", "/status", "inventory.internal:8080",
	    NULL);
	add_simple(mi, 3, "pay-only", "GET", "/charges", "Payments.Internal",
	    NULL);
	txn(&t, 4, "hdr", "GET", "/h", NULL, NULL, 200);
	t.req.headers = h;
	t.req.nheaders = NITEMS(h);
	add(mi, &t);
	add_simple(mi, 5, "abs", "GET", "http://user@Abs.Example/x?b=1&a=2",
	    NULL, NULL);
	add_simple(mi, 6, "abs-root", "GET", "https://root.example?q=1", NULL,
	    NULL);
	add_simple(mi, 7, "v6", "GET", "/v6", "[::1]:9000", NULL);
	match_index_finish(mi, 1);

	/* A recorded host: only its transactions. */
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "payments.internal", "/status",
	    "", NULL)), "pay");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "payments.internal", "/status",
	    "", NULL)), "pay");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "inventory.internal:8080",
	    "/status", "", NULL)), "inv");
	/* Up to the port, either side, any case. */
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "PAYMENTS.internal:8080",
	    "/status", "", NULL)), "pay");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "inventory.internal",
	    "/status", "", NULL)), "inv");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "[::1]", "/v6", "", NULL)),
	    "v6");
	/* A known host does not get another host's transactions. */
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "inventory.internal",
	    "/charges", "", NULL)), "(none)");
	/* An unknown host: host-agnostic, recorded order across hosts. */
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "127.0.0.1:18080", "/status",
	    "", NULL)), "pay");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "127.0.0.1:18080", "/status",
	    "", NULL)), "inv");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "", "/status", "", NULL)),
	    "pay");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "decoy", "/charges", "",
	    NULL)), "pay-only");

	/* Recorded host from the Host header and from absolute-form. */
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "api.example", "/h", "",
	    NULL)), "hdr");
	e = match_lookup(mi, &(struct match_req){ .method = SPAN_LIT("GET"),
	    .host = SPAN_LIT("abs.example"), .path = SPAN_LIT("/x"),
	    .query = SPAN_LIT("a=2&b=1") }, NULL, NULL);
	ASSERT(e != NULL);
	if (e != NULL) {
		ASSERT_STR_EQ(e->id, "abs");
		ASSERT_STR_EQ(e->host, "abs.example");
		ASSERT_STR_EQ(e->path, "/x");
		ASSERT_STR_EQ(e->query, "a=2&b=1");
	}
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "root.example", "/", "q=1",
	    NULL)), "abs-root");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "x", "/h", "", NULL)), "hdr");
	match_index_free(mi);
}

static void
test_hosts_port_preference(void)
{
	struct match_index	*mi = match_index_create();

	add_simple(mi, 1, "p443", "GET", "/a", "svc:443", NULL);
	add_simple(mi, 2, "plain", "GET", "/a", "svc", NULL);
	add_simple(mi, 3, "p8443", "GET", "/a", "svc:8443", NULL);
	match_index_finish(mi, 1);
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "svc:443", "/a", "", NULL)),
	    "p443");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "svc:8443", "/a", "", NULL)),
	    "p8443");
	/* Not recorded with this port: the host recorded without one. */
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "svc:9", "/a", "", NULL)),
	    "plain");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "SVC", "/a", "", NULL)),
	    "plain");
	match_index_free(mi);

	/*
	 * One name recorded with several ports and never without (two
	 * services on 127.0.0.1): a request for decoy's own port names
	 * neither, so matching ignores the host.
	 */
	mi = match_index_create();
	add_simple(mi, 1, "pay", "POST", "/v1/charges", "127.0.0.1:9001", NULL);
	add_simple(mi, 2, "inv", "GET", "/v1/stock", "127.0.0.1:9002", NULL);
	match_index_finish(mi, 1);
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "127.0.0.1:18080",
	    "/v1/charges", "", NULL)), "pay");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "127.0.0.1:18080",
	    "/v1/stock", "", NULL)), "inv");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "127.0.0.1:9001",
	    "/v1/stock", "", NULL)), "(none)");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "127.0.0.1:9002",
	    "/v1/stock", "", NULL)), "inv");
	match_index_free(mi);
}

/* The per-thread host cache never answers for another index. */
static void
test_host_cache(void)
{
	struct match_index	*mi;
	int			 i;

	for (i = 0; i < 3; i++) {
		mi = match_index_create();
		add_simple(mi, 1, i % 2 ? "odd" : "even", "GET", "/c",
		    i % 2 ? "b.example" : "a.example", NULL);
		add_simple(mi, 2, "b-only", "GET", "/b", "b.example", NULL);
		match_index_finish(mi, 1);
		ASSERT_STR_EQ(lookup_id(mi, req("GET", "a.example", "/c", "",
		    NULL)), i % 2 ? "odd" : "even");
		ASSERT_STR_EQ(lookup_id(mi, req("GET", "a.example", "/b", "",
		    NULL)), i % 2 ? "b-only" : "(none)");
		match_index_free(mi);
	}
}

static const struct match_entry *
one_entry(struct match_index *mi, struct snap_txn *t)
{
	struct match_req	r;

	add(mi, t);
	match_index_finish(mi, 1);
	r = req("GET", "", "/", "", NULL);
	return match_lookup(mi, &r, NULL, NULL);
}

static void
test_head(void)
{
	struct match_index		*mi;
	const struct match_entry	*e;
	struct snap_txn			 t;
	struct snap_header		 h1[] = {
		{ (char *)"Content-Type", (char *)"application/json" },
		{ (char *)"content-length", (char *)"999" },
		{ (char *)"X-A", (char *)"1" },
		{ (char *)"Content-Length", (char *)"999" },
		{ (char *)"Set-Cookie", (char *)"a=1" },
		{ (char *)"Set-Cookie", (char *)"b=2" },
	};
	struct snap_header		 h2[] = {
		{ (char *)"Transfer-Encoding", (char *)"chunked" },
		{ (char *)"X-B", (char *)"2" },
		{ (char *)"Connection", (char *)"keep-alive" },
		{ (char *)"keep-alive", (char *)"timeout=5" },
		{ (char *)"Bad Name", (char *)"x" },
		{ (char *)"X-Bad", (char *)"a\r\nInjected: 1" },
		{ (char *)"X-Bad2", (char *)"0123\001456789abcdefghij" },
		{ (char *)"X-Bad4", (char *)"01234567\17789abcdefgh" },
		{ (char *)"X-Bad3", (char *)"0123456789abcdefghij\177" },
		{ (char *)"X-Long", (char *)"0123456789abcdef\tghij\303\251klmn" },
		{ (char *)"Date", (char *)"Thu, 26 Nov 2026 05:01:02 GMT" },
	};
	struct snap_header		 h3[] = {
		{ (char *)"Content-Length", (char *)"0" },
		{ (char *)"X-C", (char *)"3" },
	};

	/* Order kept, duplicates kept, Content-Length replaced in place. */
	mi = match_index_create();
	txn(&t, 1, "a", "GET", "/", NULL, NULL, 201);
	t.res.reason = (char *)"Created";
	t.res.headers = h1;
	t.res.nheaders = NITEMS(h1);
	t.res.body = (char *)"hello";
	t.res.body_len = 5;
	t.total_us = 9140;
	e = one_entry(mi, &t);
	ASSERT(e != NULL);
	if (e != NULL) {
		ASSERT_MEM_EQ(e->head, e->head_len, "HTTP/1.1 201 Created\r\n"
		    "Content-Type: application/json\r\n"
		    "content-length: 5\r\n"
		    "X-A: 1\r\n"
		    "Set-Cookie: a=1\r\n"
		    "Set-Cookie: b=2\r\n");
		ASSERT_MEM_EQ(e->body, e->body_len, "hello");
		ASSERT_EQ(e->status, 201);
		ASSERT_EQ(e->total_us, 9140);
		ASSERT_EQ(e->line, 1);
	}
	match_index_free(mi);

	/* Framing headers dropped, Content-Length appended, reason filled. */
	mi = match_index_create();
	txn(&t, 2, NULL, "GET", "/", NULL, NULL, 200);
	t.res.headers = h2;
	t.res.nheaders = NITEMS(h2);
	t.res.body = (char *)"abc";
	t.res.body_len = 3;
	e = one_entry(mi, &t);
	ASSERT(e != NULL);
	if (e != NULL) {
		ASSERT_MEM_EQ(e->head, e->head_len, "HTTP/1.1 200 OK\r\n"
		    "X-B: 2\r\n"
		    "X-Long: 0123456789abcdef\tghij\303\251klmn\r\n"
		    "Date: Thu, 26 Nov 2026 05:01:02 GMT\r\n"
		    "Content-Length: 3\r\n");
		ASSERT_MEM_EQ(e->body, e->body_len, "abc");
		ASSERT_STR_EQ(e->id, "line 2");
		ASSERT_EQ(e->total_us, -1);
	}
	match_index_free(mi);

	/* Empty body: Content-Length 0, body NULL; empty reason filled. */
	mi = match_index_create();
	txn(&t, 3, "c", "GET", "/", NULL, NULL, 404);
	t.res.reason = (char *)"";
	t.res.body = NULL;
	t.res.body_len = 0;
	e = one_entry(mi, &t);
	ASSERT(e != NULL);
	if (e != NULL) {
		ASSERT_MEM_EQ(e->head, e->head_len, "HTTP/1.1 404 Not Found\r\n"
		    "Content-Length: 0\r\n");
		ASSERT(e->body == NULL && e->body_len == 0);
	}
	match_index_free(mi);

	/* 204: no Content-Length at all, no body. */
	mi = match_index_create();
	txn(&t, 4, "d", "GET", "/", NULL, NULL, 204);
	t.res.headers = h3;
	t.res.nheaders = NITEMS(h3);
	e = one_entry(mi, &t);
	ASSERT(e != NULL);
	if (e != NULL) {
		ASSERT_MEM_EQ(e->head, e->head_len,
		    "HTTP/1.1 204 No Content\r\nX-C: 3\r\n");
		ASSERT(e->body == NULL && e->body_len == 0);
	}
	match_index_free(mi);

	/* An unknown status without a reason keeps the space. */
	mi = match_index_create();
	txn(&t, 5, "e", "GET", "/", NULL, NULL, 299);
	e = one_entry(mi, &t);
	ASSERT(e != NULL);
	if (e != NULL)
		ASSERT_MEM_EQ(e->head, e->head_len, "HTTP/1.1 299 \r\n"
		    "Content-Length: 2\r\n");
	match_index_free(mi);
}

static void
test_from_http(void)
{
	struct http_msg		 m;
	struct match_req	 r;

	memset(&m, 0, sizeof m);
	m.method = SPAN_LIT("POST");
	m.target = SPAN_LIT("/v1/charges?b=1");
	m.path = SPAN_LIT("/v1/charges");
	m.query = SPAN_LIT("b=1");
	m.host = SPAN_LIT("Payments:8080");
	m.headers[0].name = SPAN_LIT("Accept");
	m.headers[0].value = SPAN_LIT("*/*");
	m.headers[1].name = SPAN_LIT("content-type");
	m.headers[1].value = SPAN_LIT("application/json");
	m.nheaders = 2;
	match_req_from_http(&r, &m, "{}", 2);
	ASSERT_SPAN_EQ(r.method, "POST");
	ASSERT_SPAN_EQ(r.host, "Payments:8080");
	ASSERT_SPAN_EQ(r.path, "/v1/charges");
	ASSERT_SPAN_EQ(r.query, "b=1");
	ASSERT_SPAN_EQ(r.content_type, "application/json");
	ASSERT_MEM_EQ(r.body, r.body_len, "{}");

	/* Absolute-form: the authority wins over Host. */
	m.target = SPAN_LIT("http://u@Abs.Example:80/x?y");
	m.scheme = SPAN_LIT("http");
	m.authority = SPAN_LIT("u@Abs.Example:80");
	m.path = SPAN_LIT("/x");
	m.query = SPAN_LIT("y");
	match_req_from_http(&r, &m, NULL, 0);
	ASSERT_SPAN_EQ(r.host, "Abs.Example:80");
	ASSERT_SPAN_EQ(r.path, "/x");
	/* Even when the parser left scheme and authority in path. */
	m.path = SPAN_LIT("http://u@Abs.Example:80/x");
	match_req_from_http(&r, &m, NULL, 0);
	ASSERT_SPAN_EQ(r.path, "/x");
	m.path = SPAN_LIT("http://u@Abs.Example:80");
	match_req_from_http(&r, &m, NULL, 0);
	ASSERT_SPAN_EQ(r.path, "/");
}

static void
test_closest(void)
{
	struct match_index		*mi = match_index_create();
	const struct match_entry	*e;
	struct match_req		 r;

	add_simple(mi, 1, "orders", "GET", "/v1/users/u123/orders", NULL,
	    NULL);
	add_simple(mi, 2, "orders-page", "GET",
	    "/v1/users/u123/orders?page=2", NULL, NULL);
	add_simple(mi, 3, "user", "GET", "/v1/users/u123", NULL, NULL);
	add_simple(mi, 4, "post", "POST", "/v1/users/u123/orders", NULL, NULL);
	match_index_finish(mi, 1);

	r = req("GET", "", "/v1/users/u456/orders", "", NULL);
	ASSERT(match_lookup(mi, &r, NULL, NULL) == NULL);
	e = match_closest(mi, &r);
	ASSERT(e != NULL && strcmp(e->id, "orders") == 0);
	r = req("GET", "", "/v1/users/u456/orders", "page=2", NULL);
	e = match_closest(mi, &r);
	ASSERT(e != NULL && strcmp(e->id, "orders-page") == 0);
	r = req("POST", "", "/v1/users/9/orders", "", NULL);
	e = match_closest(mi, &r);
	ASSERT(e != NULL && strcmp(e->id, "post") == 0);

	/* Another segment count, a differing word segment, another method. */
	r = req("GET", "", "/v1/users/u456/orders/7", "", NULL);
	ASSERT(match_closest(mi, &r) == NULL);
	r = req("GET", "", "/v1/accounts/u456/orders", "", NULL);
	ASSERT(match_closest(mi, &r) == NULL);
	r = req("GET", "", "/v1/users/me/orders", "", NULL);
	ASSERT(match_closest(mi, &r) == NULL);
	r = req("DELETE", "", "/v1/users/u456", "", NULL);
	ASSERT(match_closest(mi, &r) == NULL);
	match_index_free(mi);
}

static void
test_explain(void)
{
	struct match_index	*mi = match_index_create();
	struct match_req	 r;
	struct buf		 b;

	add_simple(mi, 1, "customers", "GET", "/v1/customers", "pay", NULL);
	add_simple(mi, 2, "create", "POST", "/v1/charges", "pay", "{}");
	add_simple(mi, 3, "list", "GET", "/v1/charges?limit=10", "pay",
	    NULL);
	add_simple(mi, 4, "other", "GET", "/v1/charges", "inv", NULL);
	match_index_finish(mi, 1);

	buf_init(&b);
	r = req("GET", "pay", "/v1/charges", "limit=5", NULL);
	match_explain_miss(mi, &r, &b, 2);
	ASSERT_STR_EQ(b.data, "{\"error\":\"no recorded transaction matches "
	    "this request\",\"request\":{\"method\":\"GET\",\"host\":\"pay\","
	    "\"path\":\"/v1/charges\",\"query\":\"limit=5\"},\"candidates\":["
	    "{\"id\":\"list\",\"line\":3,\"method\":\"GET\",\"host\":\"pay\","
	    "\"path\":\"/v1/charges\",\"query\":\"limit=10\","
	    "\"differs\":[\"query\"],\"fields\":[\"query limit\"]},"
	    "{\"id\":\"other\",\"line\":4,\"method\":\"GET\",\"host\":\"inv\","
	    "\"path\":\"/v1/charges\",\"query\":\"\","
	    "\"differs\":[\"host\",\"query\"],"
	    "\"fields\":[\"host\",\"query limit\"]}]}");

	/*
	 * Unknown host: the host never differs; equal scores keep recorded
	 * order; strings are escaped.
	 */
	buf_reset(&b);
	r = req("GET", "x\"y", "/v1/cust\"omers", "", NULL);
	match_explain_miss(mi, &r, &b, 1);
	ASSERT_STR_EQ(b.data, "{\"error\":\"no recorded transaction matches "
	    "this request\",\"request\":{\"method\":\"GET\",\"host\":\"x\\\"y\","
	    "\"path\":\"/v1/cust\\\"omers\",\"query\":\"\"},\"candidates\":["
	    "{\"id\":\"customers\",\"line\":1,\"method\":\"GET\","
	    "\"host\":\"pay\",\"path\":\"/v1/customers\",\"query\":\"\","
	    "\"differs\":[\"path\"],\"fields\":[\"path 1\"]}]}");

	buf_reset(&b);
	match_explain_miss(mi, &r, &b, 0);
	ASSERT(strstr(b.data, "\"candidates\":[]}") != NULL);
	buf_free(&b);
	match_index_free(mi);

	/* An empty index. */
	mi = match_index_create();
	match_index_finish(mi, 1);
	buf_init(&b);
	match_explain_miss(mi, &r, &b, 3);
	ASSERT(strstr(b.data, "\"candidates\":[]}") != NULL);
	ASSERT(match_closest(mi, &r) == NULL);
	buf_free(&b);
	match_index_free(mi);
}

#define THREADS		4
#define PER_THREAD	10000

struct worker {
	struct match_index	*mi;
	size_t			 counts[3];
	unsigned char		*seen;
	int			 bad;
};

static void *
worker_main(void *arg)
{
	struct worker			*w = arg;
	const struct match_entry	*e;
	struct match_req		 r;
	uint64_t			 sig, occ;
	size_t				 i;

	r = req("GET", "127.0.0.1", "/t", "", NULL);
	for (i = 0; i < PER_THREAD; i++) {
		e = match_lookup(w->mi, &r, &sig, &occ);
		if (e == NULL || e->id[0] != 't' || occ >= THREADS * PER_THREAD ||
		    (size_t)(e->id[1] - '0') != occ % 3) {
			w->bad++;
			continue;
		}
		w->counts[e->id[1] - '0']++;
		w->seen[occ]++;	/* each occurrence is fetched once */
	}
	return NULL;
}

static void
test_threads(void)
{
	struct match_index	*mi = match_index_create();
	struct worker		 w[THREADS];
	pthread_t		 tid[THREADS];
	unsigned char		*seen;
	size_t			 i, j, total[3] = { 0, 0, 0 }, dup = 0;
	const size_t		 n = THREADS * PER_THREAD;
	int			 bad = 0;

	add_simple(mi, 1, "t0", "GET", "/t", "svc", NULL);
	add_simple(mi, 2, "t1", "GET", "/t", "svc2", NULL);
	add_simple(mi, 3, "t2", "GET", "/t", NULL, NULL);
	match_index_finish(mi, 1);

	seen = xcalloc(n, 1);
	for (i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].mi = mi;
		w[i].seen = seen;
		if (pthread_create(&tid[i], NULL, worker_main, &w[i]) != 0)
			UNIT_FAIL("pthread_create");
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(tid[i], NULL);
		bad += w[i].bad;
		for (j = 0; j < 3; j++)
			total[j] += w[i].counts[j];
	}
	for (i = 0; i < n; i++) {
		if (seen[i] != 1)
			dup++;
	}
	ASSERT_EQ(bad, 0);
	ASSERT_EQ(dup, 0);
	for (j = 0; j < 3; j++)
		ASSERT_EQ(total[j], n / 3 + (j < n % 3));
	free(seen);
	match_index_free(mi);
}

/*
 * Request bodies recorded with `--redact`: a placeholder that is a whole
 * JSON string stands for any one JSON scalar, one inside text for any
 * run of bytes; everything else must be equal, and exact matches win.
 */
static void
test_redacted(void)
{
	struct match_index		*mi = match_index_create();
	const struct match_entry	*e;
	struct match_req		 r;
	uint64_t			 sig, occ, sig2, occ2;

	add_simple(mi, 1, "card", "POST", "/v1/charges", "",
	    "{\"amount\":1200, \"card\":\"REDACTED-0a1b2c3d\"}");
	add_simple(mi, 2, "card2", "POST", "/v1/charges", "",
	    "{\"amount\":1200, \"card\":\"REDACTED-0a1b2c3d\"}");
	add_simple(mi, 3, "big", "POST", "/v1/charges", "",
	    "{\"amount\":9900,\"card\":\"REDACTED-0a1b2c3d\"}");
	add_simple(mi, 4, "text", "POST", "/v1/notes", "",
	    "{\"note\":\"card REDACTED-ffff0000 ends\"}");
	add_simple(mi, 5, "literal", "POST", "/v1/charges", "",
	    "{\"amount\":1,\"card\":\"REDACTED-0a1b2c3d\"}");
	add_simple(mi, 6, "plain", "POST", "/v1/refunds", "",
	    "{\"amount\":1}");
	match_index_finish(mi, 1);

	/* A string or a number where the placeholder was; whitespace. */
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/charges", "",
	    "{\"amount\":1200,\"card\":\"4111 1111 1111 1111\"}")), "card");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/charges", "",
	    "{ \"amount\": 1200, \"card\": 4111111111111111 }")), "card2");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/charges", "",
	    "{\"amount\":9900,\"card\":\"5500\\\"0000\"}")), "big");
	/* Other fields still count. */
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/charges", "",
	    "{\"amount\":1300,\"card\":\"4111\"}")), "(none)");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/charges", "",
	    "{\"amount\":1200,\"card\":\"4111\",\"x\":1}")), "(none)");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/charges", "",
	    "{\"amount\":1200,\"card\":{\"n\":1}}")), "(none)");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/charges", "",
	    "{\"amount\":1200}")), "(none)");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/charges", "a=1",
	    "{\"amount\":1200,\"card\":\"4111\"}")), "(none)");
	ASSERT_STR_EQ(lookup_id(mi, req("PUT", "", "/v1/charges", "",
	    "{\"amount\":1200,\"card\":\"4111\"}")), "(none)");
	/* Inside text: any run of bytes. */
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/notes", "",
	    "{\"note\":\"card 4111-1111 ends\"}")), "text");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/notes", "",
	    "{\"note\":\"card  ends\"}")), "(none)");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/notes", "",
	    "{\"note\":\"card 1 ends!\"}")), "(none)");
	/* The placeholder sent as is matches exactly. */
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/charges", "",
	    "{\"amount\":1,\"card\":\"REDACTED-0a1b2c3d\"}")), "literal");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/refunds", "",
	    "{\"amount\":1}")), "plain");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/refunds", "",
	    "{\"amount\":2}")), "(none)");

	/* One group: recorded order, cycling, a stable signature. */
	r = req("POST", "", "/v1/charges", "",
	    "{\"amount\":1200,\"card\":\"1\"}");
	e = match_lookup(mi, &r, &sig, &occ);
	ASSERT(e != NULL);
	r = req("POST", "", "/v1/charges", "",
	    "{\"amount\":1200,\"card\":\"2\"}");
	e = match_lookup(mi, &r, &sig2, &occ2);
	ASSERT(e != NULL);
	ASSERT(sig == sig2);
	ASSERT_EQ(occ2, occ + 1);
	match_index_free(mi);
}

/* Transparent mode: the recorded "server" names the dependency. */
static void
test_servers(void)
{
	struct match_index	*mi = match_index_create();
	struct snap_txn		 t;

	txn(&t, 1, "pay", "GET", "/status", "Payments.Internal", NULL, 200);
	t.server = (char *)"10.0.0.2:8080";
	add(mi, &t);
	txn(&t, 2, "inv", "GET", "/status", "10.0.0.2:8081", NULL, 200);
	t.server = (char *)"10.0.0.2:8081";
	add(mi, &t);
	/* A second host on one server: the first recorded one stands. */
	txn(&t, 3, "pay2", "GET", "/other", "other.internal", NULL, 200);
	t.server = (char *)"10.0.0.2:8080";
	add(mi, &t);
	add_simple(mi, 4, "noserver", "GET", "/x", "x.internal", NULL);
	match_index_finish(mi, 1);

	ASSERT_STR_EQ(match_server_host(mi, "10.0.0.2:8080"),
	    "payments.internal");
	ASSERT_STR_EQ(match_server_host(mi, "10.0.0.2:8081"),
	    "10.0.0.2:8081");
	ASSERT(match_server_host(mi, "10.0.0.2:9999") == NULL);
	ASSERT(match_server_host(mi, "") == NULL);
	ASSERT_EQ(match_has_host(mi, SPAN_LIT("payments.internal")), 1);
	ASSERT_EQ(match_has_host(mi, SPAN_LIT("PAYMENTS.internal:8080")), 1);
	ASSERT_EQ(match_has_host(mi, SPAN_LIT("127.0.0.1:15001")), 0);
	ASSERT_EQ(match_has_host(mi, SPAN_NULL), 0);
	/* The server's host selects its transactions. */
	ASSERT_STR_EQ(lookup_id(mi, req("GET", match_server_host(mi,
	    "10.0.0.2:8081"), "/status", "", NULL)), "inv");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", match_server_host(mi,
	    "10.0.0.2:8081"), "/status", "", NULL)), "inv");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", match_server_host(mi,
	    "10.0.0.2:8080"), "/status", "", NULL)), "pay");
	match_index_free(mi);
}

/* --- transforms ------------------------------------------------------ */

static char tmpdir[64];

/* Writes text to a file of tmpdir; the path is the caller's. */
static char *
write_tmp(const char *name, const char *text)
{
	char	*path = xasprintf("%s/%s", tmpdir, name);
	FILE	*f = fopen(path, "w");

	ASSERT(f != NULL);
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
	return path;
}

static struct transforms *
load_tf(const char *name, const char *text)
{
	struct transforms	*tf;
	char			*path = write_tmp(name, text), *cause = NULL;

	tf = transforms_load(path, 1, &cause);
	if (tf == NULL) {
		UNIT_FAIL("transforms_load: %s", cause);
		free(cause);
	}
	unlink(path);
	free(path);
	return tf;
}

/* base64url without padding. */
static void
b64url(struct buf *out, const char *s)
{
	struct buf	b;
	size_t		i;

	buf_init(&b);
	base64_encode(&b, s, strlen(s));
	for (i = 0; i < b.len; i++) {
		if (b.data[i] == '=')
			break;
		buf_append_byte(out, b.data[i] == '+' ? '-' :
		    b.data[i] == '/' ? '_' : b.data[i]);
	}
	buf_free(&b);
}

/* An unsigned-looking JWT with that payload (the signature is junk). */
static char *
make_jwt(const char *payload)
{
	struct buf	b;

	buf_init(&b);
	b64url(&b, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
	buf_append_byte(&b, '.');
	b64url(&b, payload);
	buf_append_str(&b, ".c2lnbmF0dXJlLW9mLXRoZS10b2tlbg");
	return buf_detach(&b, NULL);
}

static const char typed_yaml[] =
    "version: 1\n"
    "values:\n"
    "  - kind: timestamp\n"
    "    dir: out\n"
    "    endpoint: \"POST /v1/entries\"\n"
    "    where: \"req.body $.ts\"\n"
    "    action: any\n"
    "  - kind: uuid\n"
    "    dir: out\n"
    "    endpoint: \"POST /v1/entries\"\n"
    "    where: \"req.body $.request_id\"\n"
    "    action: any\n"
    "  - kind: jwt\n"
    "    dir: out\n"
    "    endpoint: \"POST /v1/entries\"\n"
    "    where: \"req.body $.grant\"\n"
    "    action: any\n"
    "  - kind: timestamp\n"
    "    dir: out\n"
    "    endpoint: \"POST /v1/epochs\"\n"
    "    where: \"req.body $.at\"\n"
    "    action: any\n"
    "  - kind: uuid\n"
    "    dir: out\n"
    "    endpoint: \"GET /v1/items/{id}\"\n"
    "    where: \"req.path 2\"\n"
    "    action: any\n"
    "  - kind: hex\n"
    "    dir: out\n"
    "    endpoint: \"GET /v1/search\"\n"
    "    where: \"req.query nonce\"\n"
    "    action: any\n"
    "  - kind: hex\n"
    "    dir: out\n"
    "    endpoint: \"POST /v1/form\"\n"
    "    where: \"req.form nonce\"\n"
    "    action: any\n"
    "  - kind: hex\n"
    "    dir: in\n"
    "    endpoint: \"GET /v1/inbound\"\n"
    "    where: \"req.query nonce\"\n"
    "    action: any\n";

#define UUID_A	"3f2a8c1e-9b7d-4e2f-8a1c-5d6e7f809a1b"
#define UUID_B	"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
#define UUID_C	"c0ffee00-1234-4abc-9def-0123456789ab"
#define HEX_A	"9f86d081884c7d659a2feaa0c55ad015"
#define HEX_B	"a3f1c2b4d5e6f708192a3b4c5d6e7f80"

static void
add_form(struct match_index *mi, size_t line, const char *id,
    const char *target, const char *body)
{
	static struct snap_header form_ct[] = {
		{ (char *)"Content-Type",
		    (char *)"application/x-www-form-urlencoded" },
	};
	struct snap_txn	t;

	txn(&t, line, id, "POST", target, "", NULL, 200);
	t.req.body = (char *)body;
	t.req.body_len = strlen(body);
	t.req.headers = form_ct;
	t.req.nheaders = 1;
	add(mi, &t);
}


/* --- transforms on gRPC messages (req.grpc) --- */

static const char grpc_yaml[] =
    "version: 1\n"
    "values:\n"
    "  - kind: uuid\n"
    "    dir: out\n"
    "    endpoint: \"POST /hello.Greeter/SayHello\"\n"
    "    where: \"req.grpc 1\"\n"
    "    action: any\n"
    "  - kind: timestamp\n"
    "    dir: out\n"
    "    endpoint: \"POST /hello.Greeter/SayHello\"\n"
    "    where: \"req.grpc 2.1\"\n"
    "    action: any\n";

/* A SayHello request: 1 id, 2 {1 ts}, 3 name, framed. */
static void
grpc_hello(struct buf *body, const char *id, uint64_t ts, const char *name)
{
	struct buf	m, sub;

	buf_init(&m);
	buf_init(&sub);
	pb_put_key(&m, 1, PB_LEN);
	pb_put_varint(&m, strlen(id));
	buf_append_str(&m, id);
	pb_put_key(&sub, 1, PB_VARINT);
	pb_put_varint(&sub, ts);
	pb_put_key(&m, 2, PB_LEN);
	pb_put_varint(&m, sub.len);
	buf_append(&m, sub.data, sub.len);
	buf_free(&sub);
	pb_put_key(&m, 3, PB_LEN);
	pb_put_varint(&m, strlen(name));
	buf_append_str(&m, name);
	buf_reset(body);
	grpc_put_msg(body, 0, m.data, m.len);
	buf_free(&m);
}

static struct snap_header grpc_ct[] = {
	{ (char *)"content-type", (char *)"application/grpc" },
};

static void
add_grpc(struct match_index *mi, size_t line, const char *id,
    const struct buf *body)
{
	struct snap_txn	t;

	txn(&t, line, id, "POST", "/hello.Greeter/SayHello", "greeter", NULL,
	    200);
	t.req.body = body->data;
	t.req.body_len = body->len;
	t.req.headers = grpc_ct;
	t.req.nheaders = 1;
	add(mi, &t);
}

static const char *
lookup_grpc(struct match_index *mi, const struct buf *body)
{
	struct match_req	r = req("POST", "", "/hello.Greeter/SayHello",
				    "", NULL);

	r.content_type = SPAN_LIT("application/grpc");
	r.body = body->data;
	r.body_len = body->len;
	return lookup_id(mi, r);
}

/*
 * A request id and a timestamp in protobuf fields match any value of
 * their kind (of any length: the lengths around them differ); the name
 * still selects; a value of another kind does not match.
 */
static void
test_grpc_typed(void)
{
	struct transforms	*tf = load_tf("grpc.yaml", grpc_yaml);
	struct match_index	*mi = match_index_create();
	struct buf		 b;

	match_index_set_transforms(mi, tf);
	buf_init(&b);
	grpc_hello(&b, UUID_A, 1765101600, "alice");
	add_grpc(mi, 1, "g1", &b);
	grpc_hello(&b, UUID_B, 1765101600123ull, "bob");
	add_grpc(mi, 2, "g2", &b);
	match_index_finish(mi, 1);

	grpc_hello(&b, UUID_C, 1765199999123ull, "alice");
	ASSERT_STR_EQ(lookup_grpc(mi, &b), "g1");
	grpc_hello(&b, UUID_C, 1765199999, "bob");
	ASSERT_STR_EQ(lookup_grpc(mi, &b), "g2");
	grpc_hello(&b, UUID_A, 1765101600, "alice");
	ASSERT_STR_EQ(lookup_grpc(mi, &b), "g1");
	/* Another name; an id that is no UUID; a number too small to be
	 * a timestamp. */
	grpc_hello(&b, UUID_C, 1765199999, "carol");
	ASSERT_STR_EQ(lookup_grpc(mi, &b), "(none)");
	grpc_hello(&b, "req-1", 1765199999, "alice");
	ASSERT_STR_EQ(lookup_grpc(mi, &b), "(none)");
	grpc_hello(&b, UUID_C, 17, "alice");
	ASSERT_STR_EQ(lookup_grpc(mi, &b), "(none)");
	buf_free(&b);
	match_index_free(mi);
	transforms_free(tf);
}

/*
 * Typed matching: a timestamp, UUID, JWT or hex nonce matches any value
 * of its kind at its place, in any layout of that kind; a value of
 * another kind, and any other field that differs, does not match.
 */
static void
test_typed(void)
{
	struct transforms	*tf = load_tf("typed.yaml", typed_yaml);
	struct match_index	*mi = match_index_create();
	struct match_req	 r;
	struct buf		 body;
	char			*jwt1, *jwt2, *notjwt;

	jwt1 = make_jwt("{\"sub\":\"svc\",\"iat\":1765101600,"
	    "\"exp\":1765102200}");
	jwt2 = make_jwt("{\"sub\":\"svc\",\"iat\":1765199999,"
	    "\"exp\":1765200599}");
	notjwt = xstrdup("eyJub3QiOiJhIGp3dCJ9");
	match_index_set_transforms(mi, tf);

	buf_init(&body);
	buf_printf(&body, "{\"account\":\"A-1\",\"amount\":100,"
	    "\"ts\":\"2026-12-07T10:00:00Z\",\"request_id\":\"" UUID_A "\","
	    "\"grant\":\"%s\"}", jwt1);
	add_simple(mi, 1, "a1", "POST", "/v1/entries", "ledger", body.data);
	buf_reset(&body);
	buf_printf(&body, "{\"account\":\"A-2\",\"amount\":100,"
	    "\"ts\":\"2026-12-07T10:00:01Z\",\"request_id\":\"" UUID_B "\","
	    "\"grant\":\"%s\"}", jwt1);
	add_simple(mi, 2, "a2", "POST", "/v1/entries", "ledger", body.data);
	add_simple(mi, 3, "e1", "POST", "/v1/epochs", "ledger",
	    "{\"at\":1765101600123,\"n\":1}");
	add_simple(mi, 4, "i1", "GET", "/v1/items/" UUID_A, "ledger", NULL);
	add_simple(mi, 5, "i2", "GET", "/v1/items/" UUID_B, "ledger", NULL);
	add_simple(mi, 6, "s1", "GET", "/v1/search?q=shoes&nonce=" HEX_A,
	    "ledger", NULL);
	add_form(mi, 7, "f1", "/v1/form", "amount=5&nonce=" HEX_A);
	add_simple(mi, 8, "in1", "GET", "/v1/inbound?nonce=" HEX_A, "ledger",
	    NULL);
	match_index_finish(mi, 1);

	/* Fresh values of each kind, a timestamp in another layout. */
	buf_reset(&body);
	buf_printf(&body, "{ \"account\": \"A-1\", \"amount\": 100, "
	    "\"ts\": \"2026-12-08T11:23:45.123456+01:00\", \"request_id\": "
	    "\"" UUID_C "\", \"grant\": \"%s\" }", jwt2);
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/entries", "",
	    body.data)), "a1");
	buf_reset(&body);
	buf_printf(&body, "{\"account\":\"A-2\",\"amount\":100,"
	    "\"ts\":\"Mon, 07 Dec 2026 18:00:00 GMT\",\"request_id\":\""
	    UUID_A "\",\"grant\":\"%s\"}", jwt2);
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/entries", "",
	    body.data)), "a2");

	/* Zero false matches: another account, amount, a value of another
	 * kind, a missing or extra member. */
	buf_reset(&body);
	buf_printf(&body, "{\"account\":\"A-3\",\"amount\":100,"
	    "\"ts\":\"2026-12-08T11:00:00Z\",\"request_id\":\"" UUID_C "\","
	    "\"grant\":\"%s\"}", jwt2);
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/entries", "",
	    body.data)), "(none)");
	buf_reset(&body);
	buf_printf(&body, "{\"account\":\"A-1\",\"amount\":101,"
	    "\"ts\":\"2026-12-08T11:00:00Z\",\"request_id\":\"" UUID_C "\","
	    "\"grant\":\"%s\"}", jwt2);
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/entries", "",
	    body.data)), "(none)");
	buf_reset(&body);
	buf_printf(&body, "{\"account\":\"A-1\",\"amount\":100,"
	    "\"ts\":\"soon\",\"request_id\":\"" UUID_C "\","
	    "\"grant\":\"%s\"}", jwt2);
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/entries", "",
	    body.data)), "(none)");
	buf_reset(&body);
	buf_printf(&body, "{\"account\":\"A-1\",\"amount\":100,"
	    "\"ts\":\"2026-12-08T11:00:00Z\",\"request_id\":\"" HEX_A "\","
	    "\"grant\":\"%s\"}", jwt2);
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/entries", "",
	    body.data)), "(none)");
	buf_reset(&body);
	buf_printf(&body, "{\"account\":\"A-1\",\"amount\":100,"
	    "\"ts\":\"2026-12-08T11:00:00Z\",\"request_id\":\"" UUID_C "\","
	    "\"grant\":\"%s\"}", notjwt);
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/entries", "",
	    body.data)), "(none)");
	buf_reset(&body);
	buf_printf(&body, "{\"account\":\"A-1\",\"amount\":100,"
	    "\"ts\":\"2026-12-08T11:00:00Z\",\"grant\":\"%s\"}", jwt2);
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/entries", "",
	    body.data)), "(none)");
	/* The recorded timestamp as a number is a number of another kind
	 * only when it is not an epoch. */
	buf_reset(&body);
	buf_printf(&body, "{\"account\":\"A-1\",\"amount\":100,"
	    "\"ts\":1765199999,\"request_id\":\"" UUID_C "\","
	    "\"grant\":\"%s\"}", jwt2);
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/entries", "",
	    body.data)), "a1");

	/* Epoch milliseconds: any epoch; a counter is not one. */
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/epochs", "",
	    "{\"at\":1765199999999,\"n\":1}")), "e1");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/epochs", "",
	    "{\"at\":\"2026-12-08T11:00:00Z\",\"n\":1}")), "e1");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/epochs", "",
	    "{\"at\":42,\"n\":1}")), "(none)");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/epochs", "",
	    "{\"at\":1765199999999,\"n\":2}")), "(none)");

	/* A path segment: both recorded items form one group. */
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "", "/v1/items/" UUID_C, "",
	    NULL)), "i1");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "", "/v1/items/" UUID_A, "",
	    NULL)), "i2");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "", "/v1/items/12345", "",
	    NULL)), "(none)");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "", "/v1/things/" UUID_A, "",
	    NULL)), "(none)");

	/* A query parameter, in any order; other parameters count. */
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "", "/v1/search",
	    "nonce=" HEX_B "&q=shoes", NULL)), "s1");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "", "/v1/search",
	    "q=boots&nonce=" HEX_B, NULL)), "(none)");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "", "/v1/search",
	    "q=shoes&nonce=1234", NULL)), "(none)");

	/* A form field. */
	r = req("POST", "", "/v1/form", "", NULL);
	r.content_type = SPAN_LIT("application/x-www-form-urlencoded");
	r.body = "amount=5&nonce=" HEX_B;
	r.body_len = strlen(r.body);
	ASSERT_STR_EQ(lookup_id(mi, r), "f1");
	r.body = "amount=6&nonce=" HEX_B;
	ASSERT_STR_EQ(lookup_id(mi, r), "(none)");

	/* Values of dir in are the generator's: exact matching. */
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "", "/v1/inbound",
	    "nonce=" HEX_B, NULL)), "(none)");
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "", "/v1/inbound",
	    "nonce=" HEX_A, NULL)), "in1");

	buf_free(&body);
	free(jwt1);
	free(jwt2);
	free(notjwt);
	match_index_free(mi);
	transforms_free(tf);
}

/* The first candidate's "fields" of the 404 for r. */
static char *
miss_fields(struct match_index *mi, struct match_req r)
{
	struct buf	 b;
	const char	*p, *q;
	char		*s;

	buf_init(&b);
	match_explain_miss(mi, &r, &b, 1);
	if ((p = strstr(b.data, "\"fields\":[")) == NULL ||
	    (q = strstr(p, "]}")) == NULL) {
		buf_free(&b);
		return xstrdup("(none)");
	}
	p += 10;
	s = xstrndup(p, (size_t)(q - p));
	buf_free(&b);
	return s;
}

#define ASSERT_FIELDS(mi, r, want) do {					\
	char *f_ = miss_fields((mi), (r));				\
	ASSERT_STR_EQ(f_, (want));					\
	free(f_);							\
} while (0)

/*
 * The 404 names where the nearest candidate differs: each JSON member
 * (nested, in arrays, on one side only, odd names), each query
 * parameter, each path segment; typed values of their kind agree.
 */
static void
test_explain_fields(void)
{
	struct transforms	*tf = load_tf("fields.yaml", typed_yaml);
	struct match_index	*mi = match_index_create();
	struct match_req	 r;

	match_index_set_transforms(mi, tf);
	add_simple(mi, 1, "e", "POST", "/v1/entries", "",
	    "{\"account\":\"A-1\",\"amount\":100,"
	    "\"ts\":\"2026-12-07T10:00:00Z\",\"request_id\":\"" UUID_A "\","
	    "\"meta\":{\"tags\":[\"a\",\"b\"],\"odd key\":1,\"deep\":{\"x\":1}}}");
	add_simple(mi, 2, "q", "GET", "/v1/search?q=shoes&page=1&tag=a&tag=b",
	    "", NULL);
	add_simple(mi, 3, "p", "GET", "/v1/users/u-1/orders", "", NULL);
	add_simple(mi, 4, "t", "POST", "/v1/notes", "", "plain text");
	match_index_finish(mi, 1);

	ASSERT_FIELDS(mi, req("POST", "", "/v1/entries", "",
	    "{\"account\":\"A-2\",\"amount\":100,"
	    "\"ts\":\"2026-12-08T11:00:00Z\",\"request_id\":\"" UUID_C "\","
	    "\"meta\":{\"tags\":[\"a\",\"b\"],\"odd key\":1,\"deep\":{\"x\":1}}}"),
	    "\"body $.account\"");
	ASSERT_FIELDS(mi, req("POST", "", "/v1/entries", "",
	    "{\"account\":\"A-1\",\"amount\":100,"
	    "\"ts\":\"later\",\"request_id\":\"" UUID_C "\","
	    "\"meta\":{\"tags\":[\"a\",\"c\",\"d\"],\"odd key\":2,"
	    "\"deep\":{\"x\":1,\"y\":2}},\"extra\":true}"),
	    "\"body $.ts\",\"body $.meta.tags[1]\",\"body $.meta.tags[2]\","
	    "\"body $.meta[\\\"odd key\\\"]\",\"body $.meta.deep.y\","
	    "\"body $.extra\"");
	ASSERT_FIELDS(mi, req("POST", "", "/v1/entries", "",
	    "{\"amount\":100,\"ts\":\"2026-12-07T10:00:00Z\","
	    "\"request_id\":\"" UUID_A "\",\"meta\":5}"),
	    "\"body $.account\",\"body $.meta\"");
	/* Not JSON on one side: the body as a whole. */
	ASSERT_FIELDS(mi, req("POST", "", "/v1/entries", "", "{nope"),
	    "\"body\"");
	r = req("POST", "", "/v1/notes", "", NULL);
	r.body = "other text";
	r.body_len = strlen(r.body);
	ASSERT_FIELDS(mi, r, "\"body\"");
	/* Query parameters: a value, a missing one, a repeated one. */
	ASSERT_FIELDS(mi, req("GET", "", "/v1/search",
	    "tag=a&q=boots&tag=b&page=1", NULL), "\"query q\"");
	ASSERT_FIELDS(mi, req("GET", "", "/v1/search",
	    "q=shoes&tag=a&sort=new", NULL),
	    "\"query page\",\"query sort\",\"query tag\"");
	/* Path segments, an extra one too. */
	ASSERT_FIELDS(mi, req("GET", "", "/v1/users/u-2/orders", "", NULL),
	    "\"path 2\"");
	ASSERT_FIELDS(mi, req("GET", "", "/v1/users/u-1/orders/7", "", NULL),
	    "\"path 4\"");
	match_index_free(mi);
	transforms_free(tf);
}

/*
 * Repeats of one normalised signature form one group answered in
 * recorded order, cycling; a live request equal to the second recorded
 * one byte for byte gets no priority.
 */
static void
test_typed_cycle(void)
{
	struct transforms		*tf = load_tf("cycle.yaml", typed_yaml);
	struct match_index		*mi = match_index_create();
	const struct match_entry	*e;
	struct match_req		 r;
	uint64_t			 sig, occ, sig0 = 0;
	static const char *const	 ids[] = { "c1", "c2", "c3", "c1",
	    "c2" };
	size_t				 i;

	match_index_set_transforms(mi, tf);
	add_simple(mi, 1, "c1", "POST", "/v1/epochs", "",
	    "{\"at\":1765101600000,\"n\":7}");
	add_simple(mi, 2, "c2", "POST", "/v1/epochs", "",
	    "{\"at\":1765101601000,\"n\":7}");
	add_simple(mi, 3, "other", "POST", "/v1/epochs", "",
	    "{\"at\":1765101602000,\"n\":8}");
	add_simple(mi, 4, "c3", "POST", "/v1/epochs", "",
	    "{\"at\":1765101603000,\"n\":7}");
	match_index_finish(mi, 1);

	for (i = 0; i < NITEMS(ids); i++) {
		r = req("POST", "", "/v1/epochs", "", i == 0 ?
		    "{\"at\":1765101601000,\"n\":7}" :
		    "{\"at\":1765300000000,\"n\":7}");
		e = match_lookup(mi, &r, &sig, &occ);
		ASSERT(e != NULL);
		if (e == NULL)
			continue;
		ASSERT_STR_EQ(e->id, ids[i]);
		ASSERT_EQ(occ, i);
		if (i == 0)
			sig0 = sig;
		ASSERT(sig == sig0);
	}
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/epochs", "",
	    "{\"at\":1765300000000,\"n\":8}")), "other");
	match_index_free(mi);
	transforms_free(tf);
}

/*
 * `decoy record --redact`: calls that differ only in a redacted nonce
 * were recorded with different placeholders; they form one group and
 * cycle instead of all getting the first recorded answer.
 */
static void
test_redacted_cycle(void)
{
	struct match_index	*mi = match_index_create();
	static const char *const ids[] = { "n1", "n2", "n3", "n1" };
	size_t			 i;

	add_simple(mi, 1, "n1", "POST", "/v1/pay", "",
	    "{\"amount\":5,\"nonce\":\"REDACTED-11111111\"}");
	add_simple(mi, 2, "n2", "POST", "/v1/pay", "",
	    "{\"amount\":5,\"nonce\":\"REDACTED-2222aaaa\"}");
	add_simple(mi, 3, "n3", "POST", "/v1/pay", "",
	    "{\"amount\":5,\"nonce\":\"REDACTED-3333bbbb\"}");
	add_simple(mi, 4, "x", "POST", "/v1/pay", "",
	    "{\"amount\":6,\"nonce\":\"REDACTED-4444cccc\"}");
	match_index_finish(mi, 1);
	for (i = 0; i < NITEMS(ids); i++) {
		char	*b = xasprintf("{\"amount\":5,\"nonce\":\"n-%zu\"}", i);

		ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/pay", "", b)),
		    ids[i]);
		free(b);
	}
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/pay", "",
	    "{\"amount\":6,\"nonce\":\"z\"}")), "x");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/pay", "",
	    "{\"amount\":7,\"nonce\":\"z\"}")), "(none)");
	match_index_free(mi);
}

static const char key_yaml[] =
    "version: 1\n"
    "values:\n"
    "  - kind: b64\n"
    "    dir: out\n"
    "    endpoint: \"POST /v1/mailbox\"\n"
    "    where: \"req.body $.email\"\n"
    "    action: key\n"
    "  - kind: b64\n"
    "    dir: out\n"
    "    endpoint: \"GET /v1/users/{id}\"\n"
    "    where: \"req.path 2\"\n"
    "    action: key\n";

/* One recorded transaction with a JSON response body and a header. */
static void
add_reply(struct match_index *mi, size_t line, const char *id,
    const char *method, const char *target, const char *body,
    const char *res_body, struct snap_header *rh, size_t nrh)
{
	struct snap_txn	t;

	txn(&t, line, id, method, target, "", body, 200);
	t.res.body = (char *)res_body;
	t.res.body_len = strlen(res_body);
	t.res.headers = rh;
	t.res.nheaders = nrh;
	t.start_us = INT64_C(1796637600000000);
	add(mi, &t);
}

/* Renders e's reply for r (the live plan, else the recorded one). */
static void
render(const struct match_entry *e, const struct match_req *r,
    int64_t now_us, struct buf *head, struct buf *body)
{
	buf_reset(head);
	buf_reset(body);
	if (e->live == NULL) {
		buf_append(head, e->head, e->head_len);
		buf_append(body, e->body != NULL ? e->body : "", e->body_len);
		return;
	}
	match_live_render(e, r, now_us, head, body);
}

/*
 * Generalisation: a key field accepts any value; a recorded value gets
 * its own transactions (cycling), any other one recorded value's,
 * picked from a hash of the live value (the same value, the same
 * answer), with the live value echoed where the reply echoed the
 * recorded one.
 */
static void
test_key(void)
{
	struct transforms		*tf = load_tf("key.yaml", key_yaml);
	struct match_index		*mi = match_index_create();
	const struct match_entry	*e;
	struct match_req		 r;
	struct buf			 head, body;
	static struct snap_header	 rh[] = {
		{ (char *)"Content-Type", (char *)"application/json" },
		{ (char *)"X-Mailbox", (char *)"a@example.com" },
		{ (char *)"X-Other", (char *)"a@example.com.au" },
	};
	char				 first[16], *b;
	int				 groups[3] = { 0, 0, 0 };
	size_t				 i;

	match_index_set_transforms(mi, tf);
	add_reply(mi, 1, "a1", "POST", "/v1/mailbox",
	    "{\"email\":\"a@example.com\",\"folder\":\"inbox\"}",
	    "{\"owner\":\"a@example.com\",\"n\":1,\"cc\":[\"a@example.com\","
	    "\"x@example.com\"],\"note\":\"a@example.com!\"}", rh, 3);
	add_reply(mi, 2, "b1", "POST", "/v1/mailbox",
	    "{\"email\":\"b@example.com\",\"folder\":\"inbox\"}",
	    "{\"owner\":\"b@example.com\",\"n\":2}", rh, 1);
	add_reply(mi, 3, "a2", "POST", "/v1/mailbox",
	    "{\"email\":\"a@example.com\",\"folder\":\"inbox\"}",
	    "{\"owner\":\"a@example.com\",\"n\":3}", rh, 1);
	add_reply(mi, 4, "c1", "POST", "/v1/mailbox",
	    "{\"email\":\"c@example.com\",\"folder\":\"inbox\"}",
	    "{\"owner\":\"c@example.com\",\"n\":4}", rh, 1);
	add_reply(mi, 5, "s1", "POST", "/v1/mailbox",
	    "{\"email\":\"a@example.com\",\"folder\":\"sent\"}",
	    "{\"owner\":\"a@example.com\",\"n\":5}", rh, 1);
	add_reply(mi, 6, "u1", "GET", "/v1/users/u-100", NULL,
	    "{\"id\":\"u-100\"}", rh, 1);
	add_reply(mi, 7, "u2", "GET", "/v1/users/u-200", NULL,
	    "{\"id\":\"u-200\"}", rh, 1);
	match_index_finish(mi, 1);

	/* Recorded values select their own transactions, cycling. */
	r = req("POST", "", "/v1/mailbox", "",
	    "{\"email\":\"a@example.com\",\"folder\":\"inbox\"}");
	ASSERT_STR_EQ(lookup_id(mi, r), "a1");
	ASSERT_STR_EQ(lookup_id(mi, r), "a2");
	ASSERT_STR_EQ(lookup_id(mi, r), "a1");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/mailbox", "",
	    "{\"email\":\"b@example.com\",\"folder\":\"inbox\"}")), "b1");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/mailbox", "",
	    "{\"email\":\"c@example.com\",\"folder\":\"inbox\"}")), "c1");
	/* Other fields still count. */
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/mailbox", "",
	    "{\"email\":\"b@example.com\",\"folder\":\"sent\"}")), "s1");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/mailbox", "",
	    "{\"email\":\"b@example.com\",\"folder\":\"spam\"}")), "(none)");
	ASSERT_STR_EQ(lookup_id(mi, req("POST", "", "/v1/mailbox", "",
	    "{\"folder\":\"inbox\"}")), "(none)");

	/* Any other value: the same one always gets the same recorded
	 * value's transactions, and values spread over all three. */
	for (i = 0; i < 60; i++) {
		b = xasprintf("{\"email\":\"user%zu@test.example\","
		    "\"folder\":\"inbox\"}", i);
		r = req("POST", "", "/v1/mailbox", "", b);
		e = match_lookup(mi, &r, NULL, NULL);
		ASSERT(e != NULL);
		if (e != NULL) {
			snprintf(first, sizeof first, "%s", e->id);
			e = match_lookup(mi, &r, NULL, NULL);
			ASSERT(e != NULL && e->id[0] == first[0]);
			groups[first[0] == 'a' ? 0 : first[0] == 'b' ? 1 : 2]++;
		}
		free(b);
	}
	ASSERT(groups[0] > 0 && groups[1] > 0 && groups[2] > 0);

	/* The same answer in another index built from the same recording
	 * (another run): the pick depends on the value alone. */
	{
		struct match_index	*mi2 = match_index_create();
		const struct match_entry *e2;

		match_index_set_transforms(mi2, tf);
		add_reply(mi2, 1, "a1", "POST", "/v1/mailbox",
		    "{\"email\":\"a@example.com\",\"folder\":\"inbox\"}",
		    "{}", rh, 1);
		add_reply(mi2, 2, "b1", "POST", "/v1/mailbox",
		    "{\"email\":\"b@example.com\",\"folder\":\"inbox\"}",
		    "{}", rh, 1);
		add_reply(mi2, 3, "a2", "POST", "/v1/mailbox",
		    "{\"email\":\"a@example.com\",\"folder\":\"inbox\"}",
		    "{}", rh, 1);
		add_reply(mi2, 4, "c1", "POST", "/v1/mailbox",
		    "{\"email\":\"c@example.com\",\"folder\":\"inbox\"}",
		    "{}", rh, 1);
		match_index_finish(mi2, 1);
		for (i = 0; i < 20; i++) {
			b = xasprintf("{\"email\":\"user%zu@test.example\","
			    "\"folder\":\"inbox\"}", i);
			r = req("POST", "", "/v1/mailbox", "", b);
			e = match_lookup(mi, &r, NULL, NULL);
			e2 = match_lookup(mi2, &r, NULL, NULL);
			ASSERT(e != NULL && e2 != NULL &&
			    e->id[0] == e2->id[0]);
			free(b);
		}
		match_index_free(mi2);
	}

	/* A path segment key. */
	ASSERT_STR_EQ(lookup_id(mi, req("GET", "", "/v1/users/u-200", "",
	    NULL)), "u2");
	ASSERT(strcmp(lookup_id(mi, req("GET", "", "/v1/users/u-999", "",
	    NULL)), "(none)") != 0);

	/* The echo: JSON strings and headers equal to the recorded value
	 * carry the live one; text that only contains it does not. */
	buf_init(&head);
	buf_init(&body);
	r = req("POST", "", "/v1/mailbox", "",
	    "{\"email\":\"a@example.com\",\"folder\":\"inbox\"}");
	e = match_lookup(mi, &r, NULL, NULL);
	ASSERT(e != NULL && e->live != NULL);
	if (e != NULL && strcmp(e->id, "a2") == 0)
		e = match_lookup(mi, &r, NULL, NULL);
	ASSERT(e != NULL && strcmp(e->id, "a1") == 0);
	if (e != NULL && e->live != NULL) {
		/* The recorded value itself: the recorded reply. */
		render(e, &r, 0, &head, &body);
		ASSERT_STR_EQ(body.data, "{\"owner\":\"a@example.com\",\"n\":1,"
		    "\"cc\":[\"a@example.com\",\"x@example.com\"],"
		    "\"note\":\"a@example.com!\"}");
		r = req("POST", "", "/v1/mailbox", "",
		    "{\"email\":\"new\\\"one@test.example\","
		    "\"folder\":\"inbox\"}");
		render(e, &r, 0, &head, &body);
		ASSERT_STR_EQ(body.data, "{\"owner\":\"new\\\"one@test.example\","
		    "\"n\":1,\"cc\":[\"new\\\"one@test.example\","
		    "\"x@example.com\"],\"note\":\"a@example.com!\"}");
		ASSERT(strstr(head.data, "\r\nX-Mailbox: new\"one@test.example"
		    "\r\n") != NULL);
		ASSERT(strstr(head.data, "\r\nX-Other: a@example.com.au\r\n") !=
		    NULL);
		b = xasprintf("\r\nContent-Length: %zu\r\n", body.len);
		ASSERT(strstr(head.data, b) != NULL);
		free(b);
		ASSERT(strncmp(head.data, "HTTP/1.1 200 OK\r\n", 17) == 0);
	}
	buf_free(&head);
	buf_free(&body);
	match_index_free(mi);
	transforms_free(tf);
}

/* Recorded 2026-12-07T10:00:00Z; the replies are rendered an hour and a
 * half later. */
#define LIVE_START	INT64_C(1796637600000000)
#define LIVE_NOW	(LIVE_START + INT64_C(5400000000))

static const char live_yaml[] =
    "version: 1\n"
    "keys:\n"
    "  - name: tok\n"
    "    alg: HS256\n"
    "    secret_file: live.secret\n"
    "values:\n"
    "  - kind: timestamp\n"
    "    dir: out\n"
    "    endpoint: \"POST /v1/entries\"\n"
    "    where: \"res.body $.created_at\"\n"
    "    action: shift\n"
    "  - kind: timestamp\n"
    "    dir: out\n"
    "    endpoint: \"POST /v1/entries\"\n"
    "    where: \"res.body $.items[*].at\"\n"
    "    action: shift\n"
    "  - kind: timestamp\n"
    "    dir: out\n"
    "    endpoint: \"POST /v1/entries\"\n"
    "    where: \"res.header Date\"\n"
    "    action: shift\n"
    "  - kind: uuid\n"
    "    dir: out\n"
    "    endpoint: \"POST /v1/entries\"\n"
    "    where: \"res.body $.idempotency_key\"\n"
    "    action: echo\n"
    "    from: \"req.header Idempotency-Key\"\n"
    "  - kind: jwt\n"
    "    dir: out\n"
    "    endpoint: \"POST /oauth/token\"\n"
    "    where: \"res.body $.access_token\"\n"
    "    action: resign\n"
    "    key: tok\n"
    "    claims:\n"
    "      scope: \"ledger:write\"\n"
    "  - kind: jwt\n"
    "    dir: out\n"
    "    endpoint: \"POST /oauth/token\"\n"
    "    where: \"res.header X-Token\"\n"
    "    action: resign\n"
    "    key: null\n";

struct live_thread {
	const struct match_entry	*e;
	const struct match_req		*r;
	const char			*want;
	int				 bad;
};

static void *
live_thread_main(void *arg)
{
	struct live_thread	*lt = arg;
	struct buf		 head, body;
	int			 i;

	buf_init(&head);
	buf_init(&body);
	for (i = 0; i < 2000; i++) {
		render(lt->e, lt->r, LIVE_NOW, &head, &body);
		if (strcmp(body.data, lt->want) != 0)
			lt->bad++;
	}
	buf_free(&head);
	buf_free(&body);
	return NULL;
}

/*
 * Replies made live: timestamps shifted in their layout, a JWT re-signed
 * with its times moved (verified with the key), a request value echoed,
 * Content-Length recomputed; entries without response transforms keep
 * the pre-serialised reply.
 */
static void
test_live(void)
{
	struct transforms		*tf;
	struct match_index		*mi = match_index_create();
	const struct match_entry	*e;
	struct match_req		 r;
	struct http_header		 h[2];
	struct buf			 head, body, want;
	struct jwt			 j;
	struct jwt_key			*key;
	static struct snap_header	 rh[] = {
		{ (char *)"Content-Type", (char *)"application/json" },
		{ (char *)"Date", (char *)"Mon, 07 Dec 2026 10:00:00 GMT" },
		{ (char *)"X-Token", NULL },
	};
	char				*secret, *tok, *rb, *cause = NULL;
	const char			*p, *q;
	struct live_thread		 lt[4];
	pthread_t			 tid[4];
	size_t				 i;

	secret = write_tmp("live.secret", "live-secret\n");
	tf = load_tf("live.yaml", live_yaml);
	match_index_set_transforms(mi, tf);
	add_reply(mi, 1, "e1", "POST", "/v1/entries", "{\"n\":1}",
	    "{\"id\":\"e-1\",\"created_at\":\"2026-12-07T10:00:00.250+01:00\","
	    "\"items\":[{\"at\":1796637600123},{\"at\":1796637601}],"
	    "\"idempotency_key\":\"" UUID_A "\",\"note\":\"same\"}", rh, 2);
	tok = make_jwt("{\"sub\":\"orders\",\"iat\":1796637600,"
	    "\"exp\":1796638200,\"scope\":\"read\"}");
	rb = xasprintf("{\"access_token\":\"%s\",\"expires_in\":600}", tok);
	rh[2].value = tok;
	add_reply(mi, 2, "t1", "POST", "/oauth/token", "{}", rb, rh, 3);
	free(rb);
	add_reply(mi, 3, "plain", "GET", "/v1/plain", NULL, "{\"x\":1}", rh,
	    1);
	match_index_finish(mi, 1);

	buf_init(&head);
	buf_init(&body);
	buf_init(&want);

	r = req("GET", "", "/v1/plain", "", NULL);
	e = match_lookup(mi, &r, NULL, NULL);
	ASSERT(e != NULL && e->live == NULL);

	r = req("POST", "", "/v1/entries", "", "{\"n\":1}");
	h[0].name = SPAN_LIT("Idempotency-Key");
	h[0].value = SPAN_LIT(UUID_C);
	r.headers = h;
	r.nheaders = 1;
	e = match_lookup(mi, &r, NULL, NULL);
	ASSERT(e != NULL && e->live != NULL);
	if (e != NULL && e->live != NULL) {
		render(e, &r, LIVE_NOW, &head, &body);
		buf_append_str(&want, "{\"id\":\"e-1\",\"created_at\":"
		    "\"2026-12-07T11:30:00.250+01:00\",\"items\":["
		    "{\"at\":1796643000123},{\"at\":1796643001}],"
		    "\"idempotency_key\":\"" UUID_C "\",\"note\":\"same\"}");
		ASSERT_STR_EQ(body.data, want.data);
		ASSERT(strstr(head.data, "\r\nDate: Mon, 07 Dec 2026 11:30:00 "
		    "GMT\r\n") != NULL);
		rb = xasprintf("\r\nContent-Length: %zu\r\n", body.len);
		ASSERT(strstr(head.data, rb) != NULL);
		free(rb);
		ASSERT(head.len >= 2 && memcmp(head.data + head.len - 2,
		    "\r\n", 2) == 0);
		/* No echo in the request: the recorded value stays. */
		r.headers = NULL;
		r.nheaders = 0;
		render(e, &r, LIVE_NOW, &head, &body);
		ASSERT(strstr(body.data, UUID_A) != NULL);
		/* The same reply from four threads at once. */
		r.headers = h;
		r.nheaders = 1;
		for (i = 0; i < 4; i++) {
			lt[i].e = e;
			lt[i].r = &r;
			lt[i].want = want.data;
			lt[i].bad = 0;
			if (pthread_create(&tid[i], NULL, live_thread_main,
			    &lt[i]) != 0)
				UNIT_FAIL("pthread_create");
		}
		for (i = 0; i < 4; i++) {
			pthread_join(tid[i], NULL);
			ASSERT_EQ(lt[i].bad, 0);
		}
	}

	r = req("POST", "", "/oauth/token", "", "{}");
	e = match_lookup(mi, &r, NULL, NULL);
	ASSERT(e != NULL && e->live != NULL);
	key = jwt_key_load(secret, "HS256", &cause);
	ASSERT(key != NULL);
	if (e != NULL && e->live != NULL && key != NULL) {
		render(e, &r, LIVE_NOW, &head, &body);
		p = strstr(body.data, "\"access_token\":\"");
		ASSERT(p != NULL);
		if (p != NULL) {
			p += 16;
			q = strchr(p, '"');
			ASSERT(q != NULL && jwt_verify(p, (size_t)(q - p),
			    key) == 0);
			ASSERT(q != NULL && jwt_parse(p, (size_t)(q - p), &j,
			    &cause) == 0);
			if (q != NULL && cause == NULL) {
				ASSERT_EQ(j.iat, 1796637600 + 5400);
				ASSERT_EQ(j.exp, 1796638200 + 5400);
				ASSERT(strstr(j.payload,
				    "\"scope\":\"ledger:write\"") != NULL);
				jwt_free(&j);
			}
		}
		/* Within the same second the token is the cached one; two
		 * seconds later it is made again with the new times. */
		{
			struct buf	b1, b2;

			buf_init(&b1);
			buf_init(&b2);
			render(e, &r, LIVE_NOW + 400000, &head, &b1);
			ASSERT_STR_EQ(b1.data, body.data);
			render(e, &r, LIVE_NOW + 2000000, &head, &b2);
			p = strstr(b2.data, "\"access_token\":\"");
			ASSERT(p != NULL);
			if (p != NULL) {
				p += 16;
				q = strchr(p, '"');
				ASSERT(q != NULL && jwt_parse(p, (size_t)(q - p),
				    &j, &cause) == 0);
				if (q != NULL && cause == NULL) {
					ASSERT_EQ(j.iat, 1796637600 + 5402);
					jwt_free(&j);
				}
			}
			buf_free(&b1);
			buf_free(&b2);
			render(e, &r, LIVE_NOW, &head, &body);
		}
		/* Without a key: as recorded. */
		rb = xasprintf("\r\nX-Token: %s\r\n", tok);
		ASSERT(strstr(head.data, rb) != NULL);
		free(rb);
	}
	free(cause);
	jwt_key_free(key);
	buf_free(&head);
	buf_free(&body);
	buf_free(&want);
	free(tok);
	unlink(secret);
	free(secret);
	match_index_free(mi);
	transforms_free(tf);
}

/*
 * A miss on a large index is explained from the near candidates (issue 17
 * item 2): the right one is named even when it was recorded last, behind
 * tens of thousands of entries on other routes, and equal scores still
 * keep recorded order.
 */
static void
test_explain_large(void)
{
	struct match_index		*mi = match_index_create();
	const struct match_entry	*e;
	struct match_req		 r;
	struct buf			 b;
	char				 id[32], target[64], body[32];
	size_t				 i, line = 1;

	for (i = 0; i < 20000; i++) {
		snprintf(id, sizeof id, "item-%zu", i);
		snprintf(target, sizeof target, "/v1/items/%zu", i);
		add_simple(mi, line++, id, "GET", target, "inv", NULL);
	}
	for (i = 0; i < 20000; i++) {
		snprintf(id, sizeof id, "search-%zu", i);
		snprintf(target, sizeof target, "/v1/search?q=%zu", i);
		add_simple(mi, line++, id, "GET", target, "inv", NULL);
	}
	for (i = 0; i < 10000; i++) {
		snprintf(id, sizeof id, "order-%zu", i);
		snprintf(body, sizeof body, "{\"n\":%zu}", i);
		add_simple(mi, line++, id, "POST", "/v1/orders", "ord", body);
	}
	add_simple(mi, line++, "profile", "GET", "/v1/users/u-1/profile?lang=en",
	    "usr", NULL);
	match_index_finish(mi, 1);

	/* Recorded last, found by method and path. */
	ASSERT_FIELDS(mi, req("GET", "usr", "/v1/users/u-1/profile", "lang=de",
	    NULL), "\"query lang\"");
	buf_init(&b);
	r = req("GET", "usr", "/v1/users/u-1/profile", "lang=de", NULL);
	match_explain_miss(mi, &r, &b, 3);
	ASSERT(strstr(b.data, "\"candidates\":[{\"id\":\"profile\",\"line\":"
	    "50001,") != NULL);
	/* By path, any method. */
	ASSERT_FIELDS(mi, req("DELETE", "usr", "/v1/users/u-1/profile",
	    "lang=en", NULL), "\"method\"");
	/* By route template: another user. */
	ASSERT_FIELDS(mi, req("GET", "usr", "/v1/users/u-2/profile", "lang=en",
	    NULL), "\"path 2\"");
	/* A body differs: the first recorded order of that endpoint. */
	buf_reset(&b);
	r = req("POST", "ord", "/v1/orders", "", "{\"n\":-1}");
	match_explain_miss(mi, &r, &b, 1);
	ASSERT(strstr(b.data, "{\"id\":\"order-0\",") != NULL);
	ASSERT(strstr(b.data, "\"fields\":[\"body $.n\"]") != NULL);
	/* A query value: ties keep recorded order. */
	buf_reset(&b);
	r = req("GET", "inv", "/v1/search", "page=2&q=x", NULL);
	match_explain_miss(mi, &r, &b, 2);
	ASSERT(strstr(b.data, "\"candidates\":[{\"id\":\"search-0\",") != NULL);
	ASSERT(strstr(b.data, "},{\"id\":\"search-1\",") != NULL);
	ASSERT(strstr(b.data, "\"fields\":[\"query page\",\"query q\"]") !=
	    NULL);
	/* Nothing shares method, path or route: still a candidate. */
	buf_reset(&b);
	r = req("PATCH", "", "/nowhere/at/all/x", "", NULL);
	match_explain_miss(mi, &r, &b, 1);
	ASSERT(strstr(b.data, "\"candidates\":[{\"id\":") != NULL);
	buf_free(&b);

	/* Closest: an unknown id on a route of 20,000 entries. */
	r = req("GET", "inv", "/v1/items/99999999", "", NULL);
	e = match_closest(mi, &r);
	ASSERT(e != NULL);
	ASSERT_STR_EQ(e->id, "item-0");
	r = req("GET", "usr", "/v1/users/u-7/profile", "lang=en", NULL);
	e = match_closest(mi, &r);
	ASSERT(e != NULL);
	ASSERT_STR_EQ(e->id, "profile");
	/* A segment without a digit differs: nothing is close. */
	r = req("GET", "inv", "/v1/things/1", "", NULL);
	ASSERT(match_closest(mi, &r) == NULL);
	match_index_free(mi);
}


static const char grpc_live_yaml[] =
    "version: 1\n"
    "values:\n"
    "  - kind: uuid\n"
    "    dir: out\n"
    "    endpoint: \"POST /hello.Greeter/SayHello\"\n"
    "    where: \"req.grpc 1\"\n"
    "    action: any\n"
    "  - kind: timestamp\n"
    "    dir: out\n"
    "    endpoint: \"POST /hello.Greeter/SayHello\"\n"
    "    where: \"res.grpc 2\"\n"
    "    action: shift\n"
    "  - kind: uuid\n"
    "    dir: out\n"
    "    endpoint: \"POST /hello.Greeter/SayHello\"\n"
    "    where: \"res.grpc 1\"\n"
    "    action: echo\n"
    "    from: \"req.grpc 1\"\n";

/*
 * A gRPC reply made live: a timestamp field shifted, the request id
 * echoed from the live request's field, the message still framed.
 */
static void
test_grpc_live(void)
{
	struct transforms		*tf = load_tf("grpc-live.yaml",
					    grpc_live_yaml);
	struct match_index		*mi = match_index_create();
	const struct match_entry	*e;
	struct match_req		 r;
	struct snap_txn			 t;
	struct buf			 rq, rs, m, head, body, view;
	struct grpc_msg			 gm;
	const char			*why;
	size_t				 off = 0;

	match_index_set_transforms(mi, tf);
	buf_init(&rq);
	buf_init(&rs);
	buf_init(&m);
	buf_init(&head);
	buf_init(&body);
	buf_init(&view);
	grpc_hello(&rq, UUID_A, 1796637600, "alice");
	pb_put_key(&m, 1, PB_LEN);
	pb_put_varint(&m, strlen(UUID_A));
	buf_append_str(&m, UUID_A);
	pb_put_key(&m, 2, PB_VARINT);
	pb_put_varint(&m, 1796637600);
	pb_put_key(&m, 3, PB_LEN);
	pb_put_varint(&m, 2);
	buf_append_str(&m, "hi");
	grpc_put_msg(&rs, 0, m.data, m.len);
	txn(&t, 1, "g1", "POST", "/hello.Greeter/SayHello", "", NULL, 200);
	t.req.body = rq.data;
	t.req.body_len = rq.len;
	t.req.headers = grpc_ct;
	t.req.nheaders = 1;
	t.res.body = rs.data;
	t.res.body_len = rs.len;
	t.res.headers = grpc_ct;
	t.res.nheaders = 1;
	t.start_us = LIVE_START;
	add(mi, &t);
	match_index_finish(mi, 1);

	grpc_hello(&rq, UUID_C, 1796637600, "alice");
	r = req("POST", "", "/hello.Greeter/SayHello", "", NULL);
	r.content_type = SPAN_LIT("application/grpc");
	r.body = rq.data;
	r.body_len = rq.len;
	e = match_lookup(mi, &r, NULL, NULL);
	ASSERT(e != NULL && e->live != NULL);
	if (e != NULL && e->live != NULL) {
		render(e, &r, LIVE_NOW, &head, &body);
		ASSERT_EQ(grpc_next_msg((const uint8_t *)body.data, body.len,
		    &off, &gm, &why), 1);
		ASSERT_EQ(off, body.len);
		ASSERT_EQ(pb_view(&view, gm.p, gm.len), 0);
		buf_append_byte(&view, '\0');
		ASSERT_STR_EQ(view.data, "[[1,\"" UUID_C "\"],[2,1796643000],"
		    "[3,\"hi\"]]");
	}
	buf_free(&rq);
	buf_free(&rs);
	buf_free(&m);
	buf_free(&head);
	buf_free(&body);
	buf_free(&view);
	match_index_free(mi);
	transforms_free(tf);
}

int
main(void)
{
	test_hash();
	test_signature();
	test_add_errors();
	test_cycling();
	test_hosts();
	test_hosts_port_preference();
	test_host_cache();
	test_head();
	test_from_http();
	test_closest();
	test_explain();
	test_threads();
	test_redacted();
	test_servers();
	test_large_finish();

	snprintf(tmpdir, sizeof tmpdir, "/tmp/test-match.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	test_typed();
	test_grpc_typed();
	test_grpc_live();
	test_explain_fields();
	test_explain_large();
	test_typed_cycle();
	test_redacted_cycle();
	test_key();
	test_live();
	rmdir(tmpdir);
	UNIT_DONE();
}
