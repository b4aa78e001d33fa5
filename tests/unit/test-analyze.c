/*
 * test-analyze.c -- decoy analyze's analysis: each detector path on
 * real-world shapes (and the near misses that must not be taken for ids
 * or dates), the actions by direction and side, echoes, key-field hints,
 * correlations within a session, JWT keys, the transforms file written
 * and read back, and a scaling check (no quadratic path).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyze.h"
#include "base64.h"
#include "buf.h"
#include "grpc.h"
#include "json.h"
#include "jwt.h"
#include "protobuf.h"
#include "snap.h"
#include "transform.h"
#include "unit.h"
#include "xmalloc.h"

/* 2026-12-07T18:10:44Z */
#define T0	INT64_C(1796667044000000)

struct tx {
	const char	*dir;		/* "in" or "out" */
	const char	*client;
	const char	*session;	/* tags.session, NULL for none */
	const char	*method;
	const char	*target;
	const char	*reqh[6];	/* "Name: value" */
	const char	*reqb;
	int		 status;
	const char	*resh[6];
	const char	*resb;
	int64_t		 start_us;
	const struct buf *reqbin;	/* a binary body (body_b64) */
	const struct buf *resbin;
};

static void
put_headers(struct buf *b, const char *const *h)
{
	const char	*colon;
	size_t		 i;

	buf_append_str(b, "\"headers\":[");
	for (i = 0; i < 6 && h[i] != NULL; i++) {
		colon = strstr(h[i], ": ");
		buf_append_str(b, i == 0 ? "[" : ",[");
		json_append_string(b, h[i], (size_t)(colon - h[i]));
		buf_append_byte(b, ',');
		json_append_string(b, colon + 2, strlen(colon + 2));
		buf_append_byte(b, ']');
	}
	buf_append_byte(b, ']');
}

/* ,"body":TEXT and/or ,"body_b64":BIN (each when not NULL). */
static void
put_body(struct buf *b, const char *text, const struct buf *bin)
{
	if (text != NULL) {
		buf_append_str(b, ",\"body\":");
		json_append_string(b, text, strlen(text));
	}
	if (bin != NULL) {
		buf_append_str(b, ",\"body_b64\":\"");
		base64_encode(b, bin->data, bin->len);
		buf_append_byte(b, '"');
	}
}

/* Encodes x as a snapshot line, decodes it and feeds it. */
static void
feed(struct analyze *a, const struct tx *x)
{
	struct snap_txn	 t;
	struct buf	 b;
	char		*cause = NULL;

	buf_init(&b);
	buf_printf(&b, "{\"v\":1,\"dir\":\"%s\",\"client\":\"%s\","
	    "\"req\":{\"method\":\"%s\",\"target\":", x->dir,
	    x->client != NULL ? x->client : "10.0.0.1:1000", x->method);
	json_append_string(&b, x->target, strlen(x->target));
	buf_append_byte(&b, ',');
	put_headers(&b, x->reqh);
	put_body(&b, x->reqb, x->reqbin);
	buf_printf(&b, "},\"res\":{\"status\":%d,", x->status ? x->status :
	    200);
	put_headers(&b, x->resh);
	put_body(&b, x->resb, x->resbin);
	buf_printf(&b, "},\"timing\":{\"start_us\":%" PRId64 ",\"ttfb_us\":"
	    "1000,\"total_us\":2000}", x->start_us ? x->start_us : T0);
	if (x->session != NULL)
		buf_printf(&b, ",\"tags\":{\"session\":\"%s\"}", x->session);
	buf_append_byte(&b, '}');
	if (snap_decode_line(b.data, b.len, &t, &cause) == -1) {
		UNIT_FAIL("test line does not decode: %s: %s", cause, b.data);
		free(cause);
		buf_free(&b);
		return;
	}
	analyze_add(a, &t);
	snap_txn_free(&t);
	buf_free(&b);
}

/* The value entry at dir/endpoint/where, or NULL. */
static const struct transform_value *
find(const struct transforms *t, const char *dir, const char *endpoint,
    const char *where)
{
	const struct transform_value	*v;
	struct buf			 b;
	size_t				 i;

	buf_init(&b);
	for (i = 0; i < t->nvalues; i++) {
		v = &t->values[i];
		buf_reset(&b);
		buf_printf(&b, "%s %s %s ", snap_dir_name(v->dir), v->method,
		    v->route);
		transform_loc_format(&b, &v->where);
		if (strcmp(b.data + strlen(b.data) - strlen(where),
		    where) == 0 && strncmp(b.data, dir, strlen(dir)) == 0 &&
		    strstr(b.data, endpoint) != NULL &&
		    b.data[strlen(dir)] == ' ' &&
		    strncmp(b.data + strlen(dir) + 1, endpoint,
		    strlen(endpoint)) == 0) {
			buf_free(&b);
			return v;
		}
	}
	buf_free(&b);
	return NULL;
}

static int
why_has(const struct transform_value *v, const char *s)
{
	return v != NULL && v->why != NULL && strstr(v->why, s) != NULL;
}

static struct analyze_config	 cfg0;

static struct transforms *
run(const struct tx *x, size_t n, const struct analyze_config *cfg)
{
	struct analyze		*a = analyze_create(cfg != NULL ? cfg : &cfg0);
	struct transforms	*t;
	size_t			 i;

	for (i = 0; i < n; i++)
		feed(a, &x[i]);
	t = analyze_finish(a);
	analyze_free(a);
	return t;
}

/* A base64url string of p (no padding). */
static void
b64url(struct buf *out, const char *p)
{
	struct buf	b;
	size_t		i;

	buf_init(&b);
	base64_encode(&b, p, strlen(p));
	for (i = 0; i < b.len; i++) {
		if (b.data[i] == '=')
			break;
		buf_append_byte(out, b.data[i] == '+' ? '-' :
		    b.data[i] == '/' ? '_' : b.data[i]);
	}
	buf_free(&b);
}

/* An HS256 token for sub, signed with secret when not NULL. */
static char *
make_jwt(const char *sub, int64_t iat, const char *secret)
{
	struct jwt_key	*k;
	struct buf	 b, out, payload;
	char		*cause = NULL, *tok;

	buf_init(&b);
	buf_init(&out);
	buf_init(&payload);
	b64url(&b, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
	buf_append_byte(&b, '.');
	buf_printf(&payload, "{\"sub\":\"%s\",\"iat\":%" PRId64 ",\"exp\":%"
	    PRId64 "}", sub, iat, iat + 900);
	b64url(&b, payload.data);
	buf_append_str(&b, ".c2lnbmF0dXJlLW5vdC1jaGVja2VkLWhlcmUtYXQtYWxs");
	if (secret == NULL) {
		buf_free(&payload);
		buf_free(&out);
		return buf_detach(&b, NULL);
	}
	k = jwt_key_hmac(secret, strlen(secret));
	if (jwt_resign(&out, b.data, b.len, 0, NULL, 0, k, &cause) == -1) {
		UNIT_FAIL("jwt_resign: %s", cause);
		free(cause);
	}
	jwt_key_free(k);
	tok = buf_detach(&out, NULL);
	buf_free(&b);
	buf_free(&payload);
	return tok;
}

static void
test_names(void)
{
	static const char *time_names[] = {
		"ts", "time", "timestamp", "date", "created_at", "updatedAt",
		"iat", "exp", "nbf", "expires", "requested_at", "X-Client-Time",
		"sentTs", "issue_date", "expires_at",
	};
	static const char *other[] = {
		"amount", "id", "account", "status", "at_risk", "attempts",
		"expires_in", "currency", "Authorization", "sku",
	};
	size_t	i;

	for (i = 0; i < sizeof time_names / sizeof time_names[0]; i++) {
		if (!analyze_name_is_time(time_names[i],
		    strlen(time_names[i])))
			UNIT_FAIL("%s: should look like a time", time_names[i]);
		unit_checks++;
	}
	for (i = 0; i < sizeof other / sizeof other[0]; i++) {
		if (analyze_name_is_time(other[i], strlen(other[i])))
			UNIT_FAIL("%s: should not look like a time", other[i]);
		unit_checks++;
	}
}

static void
test_session(void)
{
	struct snap_txn	 t;
	struct buf	 b;
	char		*cause = NULL;
	const char	*l1 = "{\"v\":1,\"dir\":\"in\",\"client\":\"1.2.3.4:5\","
	    "\"req\":{\"method\":\"GET\",\"target\":\"/\"},"
	    "\"tags\":{\"user\":\"x\",\"session\":\"u-17\"}}";
	const char	*l2 = "{\"v\":1,\"dir\":\"in\",\"client\":\"1.2.3.4:5\","
	    "\"req\":{\"method\":\"GET\",\"target\":\"/\"},"
	    "\"tags\":{\"session\":7}}";
	const char	*l3 = "{\"v\":1,\"dir\":\"in\","
	    "\"req\":{\"method\":\"GET\",\"target\":\"/\"}}";

	buf_init(&b);
	ASSERT_EQ(snap_decode_line(l1, strlen(l1), &t, &cause), 0);
	analyze_session(&b, &t);
	ASSERT_STR_EQ(b.data, "u-17");
	snap_txn_free(&t);
	/* Not a string: the client address, as the generator does. */
	buf_reset(&b);
	ASSERT_EQ(snap_decode_line(l2, strlen(l2), &t, &cause), 0);
	analyze_session(&b, &t);
	ASSERT_STR_EQ(b.data, "1.2.3.4:5");
	snap_txn_free(&t);
	buf_reset(&b);
	ASSERT_EQ(snap_decode_line(l3, strlen(l3), &t, &cause), 0);
	analyze_session(&b, &t);
	ASSERT_EQ(b.len, 0);
	snap_txn_free(&t);
	buf_free(&b);
}

/*
 * Inbound requests: a client clock header, a per-call request id, a
 * bearer JWT nobody issued in the recording, a constant API key and
 * tenant id, and near misses everywhere else.
 */
static void
test_inbound_requests(void)
{
	static const char *ids[] = {
		"3f2a9c4e-8b1d-4e6f-9a2b-7c1d0e5f6a7b",
		"9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e",
		"0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d",
		"c0ffee00-1234-4abc-8def-0123456789ab",
	};
	static const char *clocks[] = {
		"2026-12-07T18:10:44.101Z", "2026-12-07T18:10:45.202Z",
		"2026-12-07T18:10:46.303Z", "2026-12-07T18:10:47.404Z",
	};
	static const char *bodies[] = {
		"{\"version\":\"1.2.3\",\"sku\":\"sku-1001\",\"phone\":"
		    "\"+1-555-123-4567\",\"count\":1001,\"commit\":\"deadbee\","
		    "\"ts\":1796667044,\"amount\":1234567890,"
		    "\"items\":[{\"id\":\"01J9ZQ4Y8K3M5N7P9R1T3V5X7Z\"},"
		    "{\"id\":\"01J9ZQ4Y8K3M5N7P9R1T3V5X80\"}],"
		    "\"mixed\":[\"a\",1]}",
		"{\"version\":\"1.2.4\",\"sku\":\"sku-1002\",\"phone\":"
		    "\"+1-555-123-4568\",\"count\":1002,\"commit\":\"deadbef\","
		    "\"ts\":1796667045,\"amount\":1234567891,"
		    "\"items\":[{\"id\":\"01J9ZQ4Y8K3M5N7P9R1T3V5X81\"}],"
		    "\"mixed\":[\"b\",2]}",
		"{\"version\":\"v2.10.0-rc1\",\"sku\":\"AB-1234-XY\",\"phone\":"
		    "\"+1-555-123-4569\",\"count\":1003,\"commit\":\"c0ffee1\","
		    "\"ts\":1796667046,\"amount\":1234567892,"
		    "\"items\":[{\"id\":\"01J9ZQ4Y8K3M5N7P9R1T3V5X82\"}],"
		    "\"mixed\":[\"c\",3]}",
		"{\"version\":\"1.2.5\",\"sku\":\"sku-1004\",\"phone\":"
		    "\"+1-555-123-4570\",\"count\":1004,\"commit\":\"badcafe\","
		    "\"ts\":1796667047,\"amount\":1234567893,"
		    "\"items\":[{\"id\":\"01J9ZQ4Y8K3M5N7P9R1T3V5X83\"}],"
		    "\"mixed\":[\"d\",4]}",
	};
	struct tx			 x[4];
	struct transforms		*t;
	const struct transform_value	*v;
	struct buf			 h[4][4];
	char				*tok[4];
	size_t				 i, j;

	memset(x, 0, sizeof x);
	for (i = 0; i < 4; i++) {
		for (j = 0; j < 4; j++)
			buf_init(&h[i][j]);
		tok[i] = make_jwt(i % 2 ? "bob" : "alice",
		    1796667044 + (int64_t)i, NULL);
		buf_printf(&h[i][0], "X-Client-Time: %s", clocks[i]);
		buf_printf(&h[i][1], "X-Request-Id: %s", ids[i]);
		buf_printf(&h[i][2], "Authorization: Bearer %s", tok[i]);
		buf_printf(&h[i][3], "X-Api-Key: "
		    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c");
		x[i].dir = "in";
		x[i].client = i % 2 ? "10.0.0.1:1001" : "10.0.0.2:2002";
		x[i].method = "POST";
		x[i].target = i % 2 ? "/orders?tenant=7d9f0e1a-2b3c-4d5e-8f9a-"
		    "0b1c2d3e4f5a" : "/orders?tenant=7d9f0e1a-2b3c-4d5e-8f9a-"
		    "0b1c2d3e4f5a&page=2";
		x[i].reqh[0] = h[i][0].data;
		x[i].reqh[1] = h[i][1].data;
		x[i].reqh[2] = h[i][2].data;
		x[i].reqh[3] = h[i][3].data;
		x[i].reqh[4] = "Content-Type: application/json";
		x[i].reqb = bodies[i];
		x[i].resh[0] = "Content-Type: application/json";
		x[i].resb = "{\"ok\":true}";
		x[i].start_us = T0 + (int64_t)i * 1000000;
	}
	t = run(x, 4, NULL);

	v = find(t, "in", "POST /orders", "req.header X-Client-Time");
	ASSERT(v != NULL);
	if (v != NULL) {
		ASSERT_EQ(v->kind, SHAPE_TIME);
		ASSERT_EQ(v->action, TRANSFORM_SHIFT);
		ASSERT_STR_EQ(v->format, "rfc3339");
		ASSERT_EQ(v->seen, 4);
		ASSERT_STR_EQ(v->example, clocks[0]);
		ASSERT(why_has(v, "RFC 3339 timestamp in 4 of 4 requests, "
		    "0 repeats"));
	}
	v = find(t, "in", "POST /orders", "req.header X-Request-Id");
	ASSERT(v != NULL);
	if (v != NULL) {
		ASSERT_EQ(v->kind, SHAPE_UUID);
		ASSERT_EQ(v->action, TRANSFORM_FRESH);
		ASSERT_STR_EQ(v->format, "uuid-v4");
	}
	/* A token nobody issued in the recording: re-signed, but there is
	 * no key, and the entry says so. */
	v = find(t, "in", "POST /orders", "req.header Authorization");
	ASSERT(v != NULL);
	if (v != NULL) {
		ASSERT_EQ(v->kind, SHAPE_JWT);
		ASSERT_EQ(v->action, TRANSFORM_RESIGN);
		ASSERT(v->key == NULL);
		ASSERT_STR_EQ(v->format, "HS256");
		ASSERT(why_has(v, "cannot be re-signed until a key is given"));
		ASSERT(why_has(v, "date claims iat, exp"));
		/* the example shows alg and claims, never the signature */
		ASSERT(v->example != NULL && strstr(v->example,
		    "\"sub\":\"alice\"") != NULL);
		ASSERT(v->example != NULL && strstr(v->example,
		    "c2lnbmF0dXJl") == NULL);
	}
	/* The epoch member named ts is a time; amount (2009, far from the
	 * recording) is not. */
	v = find(t, "in", "POST /orders", "req.body $.ts");
	ASSERT(v != NULL && v->kind == SHAPE_TIME &&
	    v->action == TRANSFORM_SHIFT);
	ASSERT(v != NULL && strcmp(v->format, "epoch-s") == 0);
	ASSERT(find(t, "in", "POST /orders", "req.body $.amount") == NULL);
	/* Array elements of one shape: [*]. */
	v = find(t, "in", "POST /orders", "req.body $.items[*].id");
	ASSERT(v != NULL && v->kind == SHAPE_ULID &&
	    v->action == TRANSFORM_FRESH && v->seen == 5);
	/* Constant values are not volatile, near misses are not ids. */
	ASSERT(find(t, "in", "POST /orders", "req.header X-Api-Key") == NULL);
	ASSERT(find(t, "in", "POST /orders", "req.query tenant") == NULL);
	ASSERT(find(t, "in", "POST /orders", "req.query page") == NULL);
	ASSERT(find(t, "in", "POST /orders", "req.body $.version") == NULL);
	ASSERT(find(t, "in", "POST /orders", "req.body $.sku") == NULL);
	ASSERT(find(t, "in", "POST /orders", "req.body $.phone") == NULL);
	ASSERT(find(t, "in", "POST /orders", "req.body $.count") == NULL);
	ASSERT(find(t, "in", "POST /orders", "req.body $.commit") == NULL);
	ASSERT(find(t, "in", "POST /orders", "req.body $.mixed[0]") == NULL);
	ASSERT_EQ(t->nvalues, 5);
	ASSERT_EQ(t->ncorrs, 0);
	ASSERT_EQ(t->start_us, T0);
	ASSERT_EQ(t->end_us, T0 + 3000000 + 2000);
	transforms_free(t);
	for (i = 0; i < 4; i++) {
		free(tok[i]);
		for (j = 0; j < 4; j++)
			buf_free(&h[i][j]);
	}
}

/* An epoch integer with a name that says nothing counts only within the
 * recording window +- a day; a time-like name widens it to 2001-2100. */
static void
test_epoch_window(void)
{
	struct tx			 x[3];
	struct transforms		*t;
	const struct transform_value	*v;
	char				 body[3][128];
	size_t				 i;

	memset(x, 0, sizeof x);
	for (i = 0; i < 3; i++) {
		snprintf(body[i], sizeof body[i], "{\"when_ms\":%" PRId64
		    ",\"n\":%" PRId64 ",\"created\":%d,\"old\":%d}",
		    T0 / 1000 + 5000 * (int64_t)i, T0 / 1000 + 777 *
		    (int64_t)i, 1234567890 + (int)i, 1234567890 + (int)i);
		x[i].dir = "out";
		x[i].method = "POST";
		x[i].target = "/v2/events";
		x[i].reqh[0] = "Content-Type: application/json";
		x[i].reqb = body[i];
		x[i].resb = "{}";
		x[i].start_us = T0 + (int64_t)i * 1000000;
	}
	t = run(x, 3, NULL);
	v = find(t, "out", "POST /v2/events", "req.body $.n");
	ASSERT(v != NULL && v->kind == SHAPE_TIME &&
	    v->action == TRANSFORM_ANY);
	ASSERT(v != NULL && strcmp(v->format, "epoch-ms") == 0);
	ASSERT(why_has(v, "within the recording window"));
	v = find(t, "out", "POST /v2/events", "req.body $.created");
	ASSERT(v != NULL && v->kind == SHAPE_TIME);
	ASSERT(why_has(v, "named like a time"));
	ASSERT(find(t, "out", "POST /v2/events", "req.body $.old") == NULL);
	transforms_free(t);
}

/*
 * Outbound: a ledger that gets an idempotency key, a nonce and a client
 * timestamp, echoes the key and answers with a generated entry id and
 * dates; a token service whose answer is a JWT signed with a secret the
 * test gives with --key; a user service whose path id selects the
 * answer (a key-field hint, never "any").
 */
static void
test_outbound(void)
{
	static const char *keys[] = {
		"e2cc403f-6538-41c5-aa01-6f585f73fefb",
		"225832d7-e27b-455d-8dbb-bd386805142e",
		"fbfe0fcc-0b44-401d-a2fe-0c807089f30c",
	};
	static const char *nonces[] = {
		"6f1c3b0e9d2a4f5e8b7c6d5e4f3a2b1c",
		"0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b",
		"a1b2c3d4e5f60718293a4b5c6d7e8f90",
	};
	static const char *entries[] = {
		"01M98V6X5630368K0EKJ4NQ4D8", "01M98V6X6J10QJ4E7B51JQ1X55",
		"01M98V6X7V2RK7JAK1MX38EE7A",
	};
	static const char *users[] = { "u-1001", "u-1002", "u-1003" };
	struct tx			 x[9];
	struct transforms		*t;
	const struct transform_value	*v;
	struct analyze_key		 ak[2];
	struct analyze_config		 cfg;
	struct jwt_key			*good, *other;
	char				 reqb[3][256], resb[3][256];
	char				 tokb[3][512], ub[3][64], up[3][64];
	char				*tok[3];
	size_t				 i;

	memset(x, 0, sizeof x);
	for (i = 0; i < 3; i++) {
		snprintf(reqb[i], sizeof reqb[i], "{\"account\":\"acct-%zu\","
		    "\"idempotency_key\":\"%s\",\"nonce\":\"%s\","
		    "\"requested_at\":%" PRId64 "}", i, keys[i], nonces[i],
		    T0 / 1000 + 41 * (int64_t)i);
		snprintf(resb[i], sizeof resb[i], "{\"entry\":\"%s\","
		    "\"idempotency_key\":\"%s\",\"created_at\":"
		    "\"2026-12-07T18:10:4%zuZ\"}", entries[i], keys[i], i);
		x[i].dir = "out";
		x[i].method = "POST";
		x[i].target = "/ledger/entries";
		x[i].reqh[0] = "Content-Type: application/json";
		x[i].reqb = reqb[i];
		x[i].status = 201;
		x[i].resh[0] = "Content-Type: application/json";
		x[i].resb = resb[i];
		x[i].start_us = T0 + (int64_t)i * 100000;

		tok[i] = make_jwt(users[i], 1796667044 + (int64_t)i,
		    "s3cret-of-the-token-service");
		snprintf(tokb[i], sizeof tokb[i], "{\"access_token\":\"%s\","
		    "\"issued_at\":\"2026-12-07T18:10:4%zu.5Z\"}", tok[i], i);
		x[3 + i].dir = "out";
		x[3 + i].method = "POST";
		x[3 + i].target = "/oauth/token";
		x[3 + i].reqh[0] = "Content-Type: "
		    "application/x-www-form-urlencoded";
		x[3 + i].reqb = "grant_type=client_credentials&scope=read";
		x[3 + i].resh[0] = "Content-Type: application/json";
		x[3 + i].resb = tokb[i];
		x[3 + i].start_us = T0 + (int64_t)i * 100000 + 50000;

		snprintf(up[i], sizeof up[i], "/users/%s", users[i]);
		snprintf(ub[i], sizeof ub[i], "{\"id\":\"%s\"}", users[i]);
		x[6 + i].dir = "out";
		x[6 + i].method = "GET";
		x[6 + i].target = up[i];
		x[6 + i].resh[0] = "Content-Type: application/json";
		x[6 + i].resb = ub[i];
		x[6 + i].start_us = T0 + (int64_t)i * 100000 + 70000;
	}
	good = jwt_key_hmac("s3cret-of-the-token-service", 27);
	other = jwt_key_hmac("another secret", 14);
	memset(ak, 0, sizeof ak);
	ak[0].name = "wrong";
	ak[0].file = "wrong.secret";
	ak[0].key = other;
	ak[1].name = "tokens";
	ak[1].file = "tokens.secret";
	ak[1].key = good;
	memset(&cfg, 0, sizeof cfg);
	cfg.snapshot = "test.jsonl";
	cfg.keys = ak;
	cfg.nkeys = 2;
	t = run(x, 9, &cfg);

	v = find(t, "out", "POST /ledger/entries",
	    "req.body $.idempotency_key");
	ASSERT(v != NULL && v->kind == SHAPE_UUID &&
	    v->action == TRANSFORM_ANY);
	v = find(t, "out", "POST /ledger/entries", "req.body $.nonce");
	ASSERT(v != NULL && v->kind == SHAPE_HEX &&
	    v->action == TRANSFORM_ANY);
	/* an opaque token's example is cut short */
	ASSERT(v != NULL && v->example != NULL &&
	    strcmp(v->example, "6f1c3b0e9d2a...") == 0);
	v = find(t, "out", "POST /ledger/entries", "req.body $.requested_at");
	ASSERT(v != NULL && v->kind == SHAPE_TIME &&
	    v->action == TRANSFORM_ANY);
	v = find(t, "out", "POST /ledger/entries",
	    "res.body $.idempotency_key");
	ASSERT(v != NULL && v->action == TRANSFORM_ECHO);
	if (v != NULL && v->action == TRANSFORM_ECHO) {
		ASSERT_EQ(v->from.res, 0);
		ASSERT_EQ(v->from.part, TRANSFORM_BODY);
		ASSERT_STR_EQ(v->from.name, "$.idempotency_key");
	}
	v = find(t, "out", "POST /ledger/entries", "res.body $.entry");
	ASSERT(v != NULL && v->kind == SHAPE_ULID &&
	    v->action == TRANSFORM_KEEP);
	v = find(t, "out", "POST /ledger/entries", "res.body $.created_at");
	ASSERT(v != NULL && v->action == TRANSFORM_SHIFT);
	/* the account is echoed nowhere: no hint */
	ASSERT(find(t, "out", "POST /ledger/entries",
	    "req.body $.account") == NULL);

	/* The token: re-signed with the key that verified it. */
	v = find(t, "out", "POST /oauth/token", "res.body $.access_token");
	ASSERT(v != NULL && v->action == TRANSFORM_RESIGN);
	ASSERT(v != NULL && v->key != NULL &&
	    strcmp(v->key->name, "tokens") == 0);
	ASSERT(why_has(v, "re-signed with key tokens"));
	ASSERT_EQ(ak[1].used, 1);
	ASSERT_EQ(ak[0].used, 0);
	ASSERT_EQ(t->nkeys, 1);
	if (t->nkeys == 1) {
		ASSERT_STR_EQ(t->keys[0].secret_file, "tokens.secret");
		ASSERT(t->keys[0].key_file == NULL);
		ASSERT_STR_EQ(t->keys[0].alg, "HS256");
	}
	v = find(t, "out", "POST /oauth/token", "res.body $.issued_at");
	ASSERT(v != NULL && v->action == TRANSFORM_SHIFT);
	ASSERT(find(t, "out", "POST /oauth/token", "req.form scope") == NULL);

	/* A path id echoed in the answer selects it: kept, with a hint. */
	v = find(t, "out", "GET /users/{id}", "req.path 1");
	ASSERT(v != NULL && v->action == TRANSFORM_KEEP &&
	    v->kind == SHAPE_NONE);
	ASSERT(why_has(v, "set action: key"));
	ASSERT(why_has(v, "3 distinct values, echoed in 3 of 3 responses"));
	transforms_free(t);
	for (i = 0; i < 3; i++)
		free(tok[i]);
	jwt_key_free(good);
	jwt_key_free(other);
}

/* A UUID in an outbound path that the answer echoes is a resource id:
 * never "any", or one resource's request would get another's answer. */
static void
test_outbound_resource_id(void)
{
	static const char *ids[] = {
		"3f2a9c4e-8b1d-4e6f-9a2b-7c1d0e5f6a7b",
		"9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e",
	};
	struct tx			 x[2];
	struct transforms		*t;
	const struct transform_value	*v;
	char				 p[2][64], b[2][96];
	size_t				 i;

	memset(x, 0, sizeof x);
	for (i = 0; i < 2; i++) {
		snprintf(p[i], sizeof p[i], "/accounts/%s", ids[i]);
		snprintf(b[i], sizeof b[i], "{\"id\":\"%s\"}", ids[i]);
		x[i].dir = "out";
		x[i].method = "GET";
		x[i].target = p[i];
		x[i].resh[0] = "Content-Type: application/json";
		x[i].resb = b[i];
	}
	t = run(x, 2, NULL);
	v = find(t, "out", "GET /accounts/{uuid}", "req.path 1");
	ASSERT(v != NULL && v->kind == SHAPE_UUID &&
	    v->action == TRANSFORM_KEEP);
	ASSERT(why_has(v, "set action: key"));
	transforms_free(t);
}

/* Cookies, Set-Cookie, form fields and mixed arrays. */
static void
test_cookies_forms(void)
{
	static const char *sids[] = {
		"Zm9vYmFyYmF6cXV4UVdFUlRZMTIzNDU2Nzg5MA",
		"QmFyQmF6UXV4Rm9vMDk4NzY1NDMyMXF3ZXJ0eQ",
		"S2V5Ym9hcmRDYXQ3Nzc3N0xhenlEb2c4ODg4OA",
	};
	struct tx			 x[3];
	struct transforms		*t;
	const struct transform_value	*v;
	char				 ck[3][96], sc[3][128], form[3][96];
	size_t				 i;

	memset(x, 0, sizeof x);
	for (i = 0; i < 3; i++) {
		snprintf(ck[i], sizeof ck[i], "Cookie: theme=dark; sid=%s",
		    sids[i]);
		snprintf(sc[i], sizeof sc[i], "Set-Cookie: sid=%s; Path=/; "
		    "HttpOnly", sids[(i + 1) % 3]);
		snprintf(form[i], sizeof form[i], "user=alice&nonce=%s",
		    i == 0 ? "d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6" :
		    i == 1 ? "0f1e2d3c4b5a69788796a5b4c3d2e1f0" :
		    "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d");
		x[i].dir = "in";
		x[i].client = i == 0 ? "10.0.0.1:1" : i == 1 ? "10.0.0.2:2" :
		    "10.0.0.3:3";
		x[i].method = "POST";
		x[i].target = "/session/refresh";
		x[i].reqh[0] = ck[i];
		x[i].reqh[1] = "Content-Type: application/x-www-form-urlencoded";
		x[i].reqb = form[i];
		x[i].resh[0] = sc[i];
		x[i].resb = "";
	}
	t = run(x, 3, NULL);
	v = find(t, "in", "POST /session/refresh", "req.cookie sid");
	ASSERT(v != NULL && v->kind == SHAPE_B64 &&
	    v->action == TRANSFORM_FRESH);
	ASSERT(find(t, "in", "POST /session/refresh", "req.cookie theme") ==
	    NULL);
	v = find(t, "in", "POST /session/refresh", "res.set-cookie sid");
	ASSERT(v != NULL && v->kind == SHAPE_B64 &&
	    v->action == TRANSFORM_ANY);
	v = find(t, "in", "POST /session/refresh", "req.form nonce");
	ASSERT(v != NULL && v->kind == SHAPE_HEX &&
	    v->action == TRANSFORM_FRESH);
	ASSERT(find(t, "in", "POST /session/refresh", "req.form user") ==
	    NULL);
	transforms_free(t);
}

/*
 * Correlations: a login token and a server-issued order id carried by
 * later requests of the same session (tags.session); not across
 * sessions, not values the session sent first, not short values.
 */
static void
test_correlations(void)
{
	struct tx			 x[12];
	struct transforms		*t;
	const struct transform_value	*v;
	const struct transform_corr	*c;
	struct buf			 auth[2], res[2];
	char				*tok[2] = { NULL, NULL };
	char				 ob[2][96], op[2][64], gb[2][96];
	const char			*oid[2] = {
		"ord_7Hq2LmX9pK4wZ1", "ord_Bc8Nn3Rt6Yv0Qe",
	};
	size_t				 i, n = 0, k;

	memset(x, 0, sizeof x);
	for (i = 0; i < 2; i++) {
		buf_init(&auth[i]);
		buf_init(&res[i]);
		tok[i] = make_jwt(i == 0 ? "alice" : "bob",
		    1796667044 + (int64_t)i, NULL);
		buf_printf(&res[i], "{\"token\":\"%s\",\"user\":\"%s\"}",
		    tok[i], i == 0 ? "alice-smith" : "bob-jones");
		buf_printf(&auth[i], "Authorization: Bearer %s", tok[i]);
		snprintf(ob[i], sizeof ob[i], "{\"id\":\"%s\",\"status\":\"new\","
		    "\"qty\":2}", oid[i]);
		snprintf(op[i], sizeof op[i], "/orders/%s", oid[i]);
		snprintf(gb[i], sizeof gb[i], "{\"id\":\"%s\",\"status\":"
		    "\"new\"}", oid[i]);
	}
	for (i = 0; i < 2; i++) {
		/* login: the user name is sent first, the token is new */
		x[n].dir = "in";
		x[n].session = i == 0 ? "s-1" : "s-2";
		x[n].method = "POST";
		x[n].target = "/login";
		x[n].reqh[0] = "Content-Type: application/json";
		x[n].reqb = i == 0 ? "{\"user\":\"alice-smith\"}" :
		    "{\"user\":\"bob-jones\"}";
		x[n].resh[0] = "Content-Type: application/json";
		x[n++].resb = res[i].data;
		x[n].dir = "in";
		x[n].session = x[n - 1].session;
		x[n].method = "POST";
		x[n].target = "/orders";
		x[n].reqh[0] = auth[i].data;
		x[n].reqh[1] = "Content-Type: application/json";
		x[n].reqb = "{\"qty\":2,\"status\":\"new\"}";
		x[n].status = 201;
		x[n].resh[0] = "Content-Type: application/json";
		x[n++].resb = ob[i];
		x[n].dir = "in";
		x[n].session = x[n - 1].session;
		x[n].method = "GET";
		x[n].target = op[i];
		x[n].reqh[0] = auth[i].data;
		x[n].resh[0] = "Content-Type: application/json";
		x[n++].resb = gb[i];
		/* the session's own name, sent first: no correlation */
		x[n].dir = "in";
		x[n].session = x[n - 1].session;
		x[n].method = "GET";
		x[n].target = i == 0 ? "/users/alice-smith" :
		    "/users/bob-jones";
		x[n].reqh[0] = auth[i].data;
		x[n++].resb = "{}";
	}
	/* Another session asks for s-1's order: not a correlation. */
	x[n].dir = "in";
	x[n].session = "s-3";
	x[n].method = "GET";
	x[n].target = op[0];
	x[n++].resb = "{}";
	t = run(x, n, NULL);

	ASSERT_EQ(t->ncorrs, 2);
	for (i = 0; i < t->ncorrs; i++) {
		c = &t->corrs[i];
		if (strcmp(c->from_route, "/login") == 0) {
			ASSERT_STR_EQ(c->name, "token");
			ASSERT_EQ(c->kind, SHAPE_JWT);
			ASSERT_STR_EQ(c->from.name, "$.token");
			ASSERT_EQ(c->from.res, 1);
			/* POST /orders, GET /orders/{id}, and the two
			 * users' pages (no digit: two routes) */
			ASSERT_EQ(c->nto, 4);
			ASSERT_EQ(c->seen, 6);
			for (k = 0; k < c->nto; k++) {
				ASSERT_EQ(c->to[k].where.part,
				    TRANSFORM_HEADER);
				ASSERT_STR_EQ(c->to[k].where.name,
				    "Authorization");
			}
		} else {
			ASSERT_STR_EQ(c->from_method, "POST");
			ASSERT_STR_EQ(c->from_route, "/orders");
			ASSERT_STR_EQ(c->from.name, "$.id");
			ASSERT_STR_EQ(c->name, "id");
			ASSERT_EQ(c->nto, 1);
			ASSERT_EQ(c->seen, 2);
			if (c->nto == 1) {
				ASSERT_STR_EQ(c->to[0].method, "GET");
				ASSERT_STR_EQ(c->to[0].route, "/orders/{id}");
				ASSERT_EQ(c->to[0].where.part, TRANSFORM_PATH);
				ASSERT_EQ(c->to[0].where.seg, 1);
			}
		}
	}
	/* The carried token gets no re-sign entry of its own. */
	ASSERT(find(t, "in", "POST /orders", "req.header Authorization") ==
	    NULL);
	ASSERT(find(t, "in", "GET /orders/{id}",
	    "req.header Authorization") == NULL);
	/* The login answer's token is ignored when comparing answers. */
	v = find(t, "in", "POST /login", "res.body $.token");
	ASSERT(v != NULL && v->action == TRANSFORM_ANY);
	transforms_free(t);
	for (i = 0; i < 2; i++) {
		buf_free(&auth[i]);
		buf_free(&res[i]);
		free(tok[i]);
	}
}


/* --- gRPC messages --- */

/* Appends field num as a string, to a message being built. */
static void
pb_str(struct buf *m, uint32_t num, const char *s)
{
	pb_put_key(m, num, PB_LEN);
	pb_put_varint(m, strlen(s));
	buf_append_str(m, s);
}

/* Frames message m into body (replacing what it held). */
static void
grpc_frame(struct buf *body, const struct buf *m)
{
	buf_reset(body);
	grpc_put_msg(body, 0, m->data, m->len);
}

/* A gRPC call of x: dir, a POST of target, framed bodies. */
static void
grpc_tx(struct tx *x, const char *dir, const char *target,
    const struct buf *req, const struct buf *res)
{
	x->dir = dir;
	x->method = "POST";
	x->target = target;
	x->reqh[0] = "content-type: application/grpc";
	x->resh[0] = "content-type: application/grpc";
	x->reqbin = req;
	x->resbin = res;
}

/*
 * A request id (UUID) and an epoch-ms timestamp in a nested message of
 * outbound gRPC calls are matched as any; a server-issued id of an
 * inbound gRPC answer that the next call carries is a correlation
 * between res.grpc and req.grpc; a constant field is left alone.
 */
static void
test_grpc(void)
{
	static const char *ids[4] = {
		"3f2a8c1e-9b7d-4e2f-8a1c-5d6e7f809a1b",
		"0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9",
		"c0ffee00-1234-4abc-9def-0123456789ab",
		"7d4e1f2a-5b6c-4d7e-8f90-a1b2c3d4e5f6",
	};
	static const char *accts[2] = {
		"acct_7Hq2LmX9pK4wZ1", "acct_Bc8Nn3Rt6Yv0Qe",
	};
	struct tx			 x[8];
	struct buf			 req[8], res[8], m, sub;
	struct transforms		*t;
	const struct transform_value	*v;
	const struct transform_corr	*c;
	size_t				 i, n = 0;

	memset(x, 0, sizeof x);
	buf_init(&m);
	buf_init(&sub);
	for (i = 0; i < 8; i++) {
		buf_init(&req[i]);
		buf_init(&res[i]);
	}
	for (i = 0; i < 4; i++, n++) {
		buf_reset(&m);
		buf_reset(&sub);
		pb_str(&m, 1, ids[i]);
		pb_put_key(&sub, 1, PB_VARINT);
		pb_put_varint(&sub, (uint64_t)(T0 / 1000) + i * 1500);
		pb_put_key(&m, 2, PB_LEN);
		pb_put_varint(&m, sub.len);
		buf_append(&m, sub.data, sub.len);
		pb_str(&m, 3, "alice");
		grpc_frame(&req[n], &m);
		buf_reset(&m);
		pb_str(&m, 1, "hello alice");
		grpc_frame(&res[n], &m);
		grpc_tx(&x[n], "out", "/hello.v1.Greeter/SayHello", &req[n],
		    &res[n]);
		x[n].start_us = T0 + (int64_t)i * 1500000;
	}
	for (i = 0; i < 2; i++) {
		buf_reset(&m);
		pb_str(&m, 1, i == 0 ? "alice" : "bob");
		grpc_frame(&req[n], &m);
		buf_reset(&m);
		pb_str(&m, 1, accts[i]);
		grpc_frame(&res[n], &m);
		grpc_tx(&x[n], "in", "/bank.Ledger/Open", &req[n], &res[n]);
		x[n].session = i == 0 ? "s-1" : "s-2";
		n++;
		buf_reset(&m);
		pb_str(&m, 1, accts[i]);
		pb_str(&m, 3, "100");
		grpc_frame(&req[n], &m);
		buf_reset(&m);
		pb_str(&m, 1, "ok");
		grpc_frame(&res[n], &m);
		x[n] = x[n - 1];
		x[n].target = "/bank.Ledger/Post";
		x[n].reqbin = &req[n];
		x[n].resbin = &res[n];
		n++;
	}
	t = run(x, n, NULL);

	/* The method's path is its route (v1 is no resource id). */
	v = find(t, "out", "POST /hello.v1.Greeter/SayHello", "req.grpc 1");
	ASSERT(v != NULL && v->kind == SHAPE_UUID &&
	    v->action == TRANSFORM_ANY);
	v = find(t, "out", "POST /hello.v1.Greeter/SayHello",
	    "req.grpc 2.1");
	ASSERT(v != NULL && v->kind == SHAPE_TIME &&
	    v->action == TRANSFORM_ANY);
	ASSERT(find(t, "out", "POST /hello.v1.Greeter/SayHello",
	    "req.grpc 3") == NULL);
	ASSERT(find(t, "out", "POST /hello.v1.Greeter/SayHello",
	    "res.grpc 1") == NULL);
	ASSERT_EQ(t->ncorrs, 1);
	if (t->ncorrs == 1) {
		c = &t->corrs[0];
		ASSERT_STR_EQ(c->name, "field1");
		ASSERT_STR_EQ(c->from_route, "/bank.Ledger/Open");
		ASSERT_EQ(c->from.part, TRANSFORM_GRPC);
		ASSERT_EQ(c->from.res, 1);
		ASSERT_STR_EQ(c->from.name, "1");
		ASSERT_EQ(c->nto, 1);
		if (c->nto == 1) {
			ASSERT_STR_EQ(c->to[0].route, "/bank.Ledger/Post");
			ASSERT_EQ(c->to[0].where.part, TRANSFORM_GRPC);
			ASSERT_STR_EQ(c->to[0].where.name, "1");
		}
	}
	transforms_free(t);
	for (i = 0; i < 8; i++) {
		buf_free(&req[i]);
		buf_free(&res[i]);
	}
	buf_free(&m);
	buf_free(&sub);
}

/* The file written is the file read back. */
static void
test_roundtrip(void)
{
	struct tx		 x[2];
	struct transforms	*t, *u;
	struct buf		 b;
	char			 path[] = "/tmp/test-analyze.XXXXXX";
	char			*cause = NULL;
	int			 fd;

	memset(x, 0, sizeof x);
	x[0].dir = x[1].dir = "out";
	x[0].method = x[1].method = "POST";
	x[0].target = x[1].target = "/ledger";
	x[0].reqh[0] = x[1].reqh[0] = "Content-Type: application/json";
	x[0].reqb = "{\"key\":\"e2cc403f-6538-41c5-aa01-6f585f73fefb\","
	    "\"user\":\"u-1\"}";
	x[1].reqb = "{\"key\":\"225832d7-e27b-455d-8dbb-bd386805142e\","
	    "\"user\":\"u-2\"}";
	x[0].resb = "{\"key\":\"e2cc403f-6538-41c5-aa01-6f585f73fefb\","
	    "\"user\":\"u-1\"}";
	x[1].resb = "{\"key\":\"225832d7-e27b-455d-8dbb-bd386805142e\","
	    "\"user\":\"u-2\"}";
	x[0].resh[0] = x[1].resh[0] = "Date: Mon, 07 Dec 2026 18:10:44 GMT";
	t = run(x, 2, NULL);
	ASSERT(t->nvalues >= 3);
	buf_init(&b);
	transforms_write(&b, t);
	if ((fd = mkstemp(path)) == -1) {
		UNIT_FAIL("mkstemp");
		return;
	}
	ASSERT(write(fd, b.data, b.len) == (ssize_t)b.len);
	close(fd);
	u = transforms_load(path, 0, &cause);
	if (u == NULL)
		UNIT_FAIL("transforms_load: %s\n%s", cause, b.data);
	ASSERT(u != NULL);
	if (u != NULL) {
		ASSERT_EQ(u->nvalues, t->nvalues);
		ASSERT_EQ(u->ncorrs, t->ncorrs);
		transforms_free(u);
	}
	free(cause);
	unlink(path);
	buf_free(&b);
	transforms_free(t);
}

static void
test_explain(void)
{
	struct tx		 x[2];
	struct transforms	*t;
	struct buf		 b;

	memset(x, 0, sizeof x);
	x[0].dir = x[1].dir = "in";
	x[0].method = x[1].method = "GET";
	x[0].target = "/feed?since=2026-12-07T18:10:44Z";
	x[1].target = "/feed?since=2026-12-07T18:11:02Z";
	x[0].resb = x[1].resb = "{}";
	t = run(x, 2, NULL);
	buf_init(&b);
	analyze_explain(&b, t);
	ASSERT(b.data != NULL && strncmp(b.data, "KIND", 4) == 0);
	ASSERT(b.data != NULL && strstr(b.data, "timestamp  in   GET /feed  "
	    "req.query since  2      shift") != NULL);
	transforms_free(t);
	buf_reset(&b);
	t = transforms_create();
	analyze_explain(&b, t);
	ASSERT(b.data != NULL && strstr(b.data, "nothing volatile") != NULL);
	transforms_free(t);
	buf_free(&b);
}

/* --match-rate: two ledger calls that differ in a nonce and a time miss
 * when replayed live without the transforms and match with them; a call
 * without volatile values matches both ways. */
static void
test_rate(void)
{
	struct tx		 x[3];
	struct transforms	*t;
	struct analyze_rate	*r;
	struct buf		 b;
	struct snap_txn		 st;
	char			 body[2][160], *cause = NULL;
	uint64_t		 req, m0, m1;
	size_t			 i;
	int			 pass;
	struct buf		 line;

	memset(x, 0, sizeof x);
	for (i = 0; i < 2; i++) {
		snprintf(body[i], sizeof body[i], "{\"account\":\"a-1\","
		    "\"nonce\":\"%s\",\"requested_at\":\"2026-12-07T18:10:4%zuZ\"}",
		    i == 0 ? "6f1c3b0e9d2a4f5e8b7c6d5e4f3a2b1c" :
		    "0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b", i);
		x[i].dir = "out";
		x[i].method = "POST";
		x[i].target = "/v1/entries";
		x[i].reqh[0] = "Content-Type: application/json";
		x[i].reqb = body[i];
		x[i].status = 201;
		x[i].resb = "{\"ok\":true}";
	}
	x[2].dir = "out";
	x[2].method = "GET";
	x[2].target = "/v1/accounts/a-1";
	x[2].resb = "{\"balance\":1}";
	t = run(x, 3, NULL);
	r = analyze_rate_create(t, t->end_us + INT64_C(3600000000), 1);
	buf_init(&line);
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < 3; i++) {
			buf_reset(&line);
			buf_printf(&line, "{\"v\":1,\"dir\":\"out\",\"req\":"
			    "{\"method\":\"%s\",\"target\":\"%s\","
			    "\"headers\":[[\"Content-Type\",\"application/"
			    "json\"]]", x[i].method, x[i].target);
			if (x[i].reqb != NULL) {
				buf_append_str(&line, ",\"body\":");
				json_append_string(&line, x[i].reqb,
				    strlen(x[i].reqb));
			}
			buf_append_str(&line, "},\"res\":{\"status\":200,"
			    "\"body\":\"{}\"}}");
			if (snap_decode_line(line.data, line.len, &st,
			    &cause) == -1) {
				UNIT_FAIL("%s", cause);
				free(cause);
				continue;
			}
			if (pass == 0)
				analyze_rate_index(r, &st);
			else
				analyze_rate_check(r, &st);
			snap_txn_free(&st);
		}
	}
	analyze_rate_totals(r, &req, &m0, &m1);
	ASSERT_EQ(req, 3);
	ASSERT_EQ(m0, 2);
	ASSERT_EQ(m1, 0);
	buf_init(&b);
	analyze_rate_report(&b, r);
	ASSERT(b.data != NULL && strstr(b.data, "without: timestamp 2, "
	    "nonce 2 (fixed by any on req.body $.nonce, any on req.body "
	    "$.requested_at)") != NULL);
	ASSERT(b.data != NULL && strstr(b.data, "summary: 3 outbound "
	    "requests, 2 would miss without the transforms, 0 with them") !=
	    NULL);
	buf_free(&b);
	buf_free(&line);
	analyze_rate_free(r);
	transforms_free(t);
}

static double
cpu_seconds(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* n transactions, each with fresh ids, timestamps and a new session. */
static double
time_n(size_t n)
{
	struct analyze		*a = analyze_create(&cfg0);
	struct transforms	*t;
	struct tx		 x;
	char			 body[256], res[128], target[64];
	char			 sess[32];
	double			 t0 = cpu_seconds();
	uint64_t		 r = 88172645463325252ULL;
	size_t			 i;

	memset(&x, 0, sizeof x);
	x.dir = "in";
	x.method = "POST";
	x.reqh[0] = "Content-Type: application/json";
	x.resh[0] = "Content-Type: application/json";
	for (i = 0; i < n; i++) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		snprintf(sess, sizeof sess, "s-%zu", i / 4);
		snprintf(target, sizeof target, "/orders/o-%zu", i % 50);
		snprintf(body, sizeof body, "{\"nonce\":\"%016" PRIx64
		    "%016" PRIx64 "\",\"ts\":%" PRId64 "}", r, r * 31,
		    T0 / 1000000 + (int64_t)i);
		snprintf(res, sizeof res, "{\"id\":\"tr_%016" PRIx64 "\"}",
		    r * 7);
		x.session = sess;
		x.target = target;
		x.reqb = body;
		x.resb = res;
		x.start_us = T0 + (int64_t)i * 1000;
		feed(a, &x);
	}
	t = analyze_finish(a);
	analyze_free(a);
	transforms_free(t);
	return cpu_seconds() - t0;
}

/* Four times the transactions cost about four times the time (a
 * quadratic path would make it 16). */
static void
test_scaling(void)
{
	double	small, big;

	(void)time_n(2000);	/* warm up */
	small = time_n(20000);
	big = time_n(80000);
	if (big > small * 8)
		UNIT_FAIL("80k transactions took %.3f s, 20k %.3f s: "
		    "not linear", big, small);
	unit_checks++;
}

int
main(void)
{
	test_names();
	test_session();
	test_inbound_requests();
	test_epoch_window();
	test_outbound();
	test_outbound_resource_id();
	test_cookies_forms();
	test_correlations();
	test_grpc();
	test_roundtrip();
	test_explain();
	test_rate();
	test_scaling();
	UNIT_DONE();
}
