/*
 * test-gen-transform.c -- the generator's transforms without sockets:
 * requests rebuilt with timestamps shifted exactly in their own layouts,
 * JWTs re-signed (checked with jwt_verify against the key), fresh values
 * that differ per send and keep their format, live values of earlier
 * answers carried into path segments, queries, "Bearer X" headers,
 * cookies, JSON bodies and gRPC messages (re-encoded), and nothing else,
 * the comparison exclusions, and the per-session map.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "gen-transform.h"
#include "grpc.h"
#include "http.h"
#include "jwt.h"
#include "protobuf.h"
#include "shape.h"
#include "snap.h"
#include "transform.h"
#include "unit.h"
#include "xmalloc.h"

/* 2026-12-07T10:00:00Z, the recorded start of every transaction here. */
#define REC_S	1796637600LL
#define REC_US	(REC_S * 1000000)

#define TOKEN \
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." \
	"eyJzdWIiOiJhbGljZSIsInJvbGUiOiJ1c2VyIiwiaWF0IjoxNzk2NjM3NjAwLCJleH" \
	"AiOjE3OTY2MzgyMDB9.Vsfa9FwB9Vi8fLeoDRhGkE5ucd8gPPXCxzUK-0XmrYw"

static char	 tmpdir[64];

/* Writes text to tmpdir/name; returns the path (allocated). */
static char *
put_file(const char *name, const char *text)
{
	char	*path = xasprintf("%s/%s", tmpdir, name);
	FILE	*f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	return path;
}

/* Loads a transforms file from text; warnings (if any) into *warn. */
static struct gen_transform *
load(const char *yaml, struct buf *warn)
{
	struct transforms	*t;
	struct buf		 ignored;
	char			*path, *cause = NULL;
	struct gen_transform	*gx;

	path = put_file("t.yaml", yaml);
	t = transforms_load(path, 1, &cause);
	free(path);
	if (t == NULL) {
		fprintf(stderr, "transforms_load: %s\n", cause);
		free(cause);
		exit(1);
	}
	buf_init(&ignored);
	gx = gen_transform_create(t, warn != NULL ? warn : &ignored);
	buf_free(&ignored);
	return gx;
}

/* A transaction from one snapshot line. */
static void
txn(struct snap_txn *t, const char *line)
{
	char	*cause = NULL;

	if (snap_decode_line(line, strlen(line), t, &cause) == -1) {
		fprintf(stderr, "snap_decode_line: %s\n%s\n", cause, line);
		free(cause);
		exit(1);
	}
}

/* Builds t's request for a send at now_us; NUL-terminated in *out. */
static size_t
build(struct gen_transform *gx, const struct snap_txn *t, int64_t now_us,
    uint64_t *rng, struct gen_transform_map *map, struct buf *out)
{
	struct gen_transform_send	s;
	size_t				n;

	s.now_us = now_us;
	s.rec_us = REC_US;
	s.rng = rng;
	s.map = map;
	buf_reset(out);
	n = gen_transform_request(gx, t, "svc:8080", "", &s, out);
	buf_append_byte(out, '\0');
	out->len--;
	return n;
}

/* The value of header name in request bytes req, into b. */
static int
req_header(const char *req, const char *name, struct buf *b)
{
	struct http_msg			 m;
	const struct http_header	*h;
	enum http_err			 err;
	size_t				 off;

	buf_reset(b);
	if (http_parse_request(req, strlen(req), 0, &m, &err, &off) <= 0)
		return -1;
	if ((h = http_find_header(&m, name)) == NULL)
		return -1;
	buf_append(b, h->value.p, h->value.len);
	buf_append_byte(b, '\0');
	b->len--;
	return 0;
}

static int
starts_with(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)) == 0)
		return 1;
	fprintf(stderr, "expected a start of \"%s\", got \"%.*s\"\n", prefix,
	    (int)strlen(prefix), s);
	return 0;
}

/* The body of request bytes req. */
static const char *
req_body(const char *req)
{
	const char	*p = strstr(req, "\r\n\r\n");

	return p != NULL ? p + 4 : "";
}

/* The Content-Length of req agrees with its body. */
static int
length_ok(const char *req)
{
	struct buf	b;
	int		ok;

	buf_init(&b);
	ok = req_header(req, "Content-Length", &b) == 0 &&
	    (size_t)strtoul(b.data, NULL, 10) == strlen(req_body(req));
	buf_free(&b);
	return ok;
}

static void
test_plain(void)
{
	struct gen_transform	*gx;
	struct snap_txn		 t;
	struct buf		 a, b;
	uint64_t		 rng = 1;

	gx = load("version: 1\n"
	    "values:\n"
	    "  - kind: timestamp\n"
	    "    dir: in\n"
	    "    endpoint: \"POST /events\"\n"
	    "    where: \"req.body $.ts\"\n"
	    "    action: shift\n", NULL);
	txn(&t, "{\"v\":1,\"dir\":\"in\",\"req\":{\"method\":\"GET\","
	    "\"target\":\"http://old:1/items?x=1\",\"headers\":[[\"Host\","
	    "\"old:1\"],[\"Accept\",\"*/*\"],[\"Connection\",\"close\"]]},"
	    "\"res\":{\"status\":200}}");
	ASSERT_EQ(gen_transform_flags(gx, &t), 0);
	ASSERT(gen_transform_cmp(gx, &t) == NULL);
	buf_init(&a);
	buf_init(&b);
	ASSERT_EQ(build(gx, &t, REC_US + 1000000, &rng, NULL, &a), 0);
	gen_transform_write_request(&b, &t.req, "svc:8080", "");
	ASSERT(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	ASSERT_STR_EQ(a.data, "GET /items?x=1 HTTP/1.1\r\nHost: svc:8080\r\n"
	    "Accept: */*\r\n\r\n");
	/* A prefix goes before the recorded path. */
	buf_reset(&b);
	gen_transform_write_request(&b, &t.req, "svc:8080", "/api");
	ASSERT(b.len > 0 && strncmp(b.data, "GET /api/items?x=1 ", 19) == 0);
	buf_free(&a);
	buf_free(&b);
	snap_txn_free(&t);
	gen_transform_free(gx);
}

static const char shift_yaml[] =
    "version: 1\n"
    "values:\n"
    "  - kind: timestamp\n"
    "    dir: in\n"
    "    endpoint: \"POST /events\"\n"
    "    where: \"req.header X-Client-Time\"\n"
    "    action: shift\n"
    "  - kind: timestamp\n"
    "    dir: in\n"
    "    endpoint: \"POST /events\"\n"
    "    where: \"req.header If-Modified-Since\"\n"
    "    action: shift\n"
    "  - kind: timestamp\n"
    "    dir: in\n"
    "    endpoint: \"POST /events\"\n"
    "    where: \"req.query since\"\n"
    "    action: shift\n"
    "  - kind: timestamp\n"
    "    dir: in\n"
    "    endpoint: \"POST /events\"\n"
    "    where: \"req.body $.at_ms\"\n"
    "    action: shift\n"
    "  - kind: timestamp\n"
    "    dir: in\n"
    "    endpoint: \"POST /events\"\n"
    "    where: \"req.body $.at\"\n"
    "    action: shift\n"
    "  - kind: timestamp\n"
    "    dir: in\n"
    "    endpoint: \"POST /events\"\n"
    "    where: \"req.body $.items[*].day\"\n"
    "    action: shift\n"
    "  - kind: timestamp\n"
    "    dir: in\n"
    "    endpoint: \"POST /events\"\n"
    "    where: \"req.body $.note\"\n"
    "    action: shift\n";

static const char shift_txn[] =
    "{\"v\":1,\"dir\":\"in\",\"ts\":\"2026-12-07T10:00:00Z\","
    "\"req\":{\"method\":\"POST\","
    "\"target\":\"/events?since=2026-12-07T10:00:05.123456Z&k=v\","
    "\"headers\":[[\"X-Client-Time\",\"2026-12-07T12:00:05.123+02:00\"],"
    "[\"If-Modified-Since\",\"Mon, 07 Dec 2026 10:00:00 GMT\"],"
    "[\"Content-Type\",\"application/json\"],[\"Content-Length\",\"999\"]],"
    "\"body\":\"{\\\"at_ms\\\":1796637605123,\\\"at\\\":1796637600,"
    "\\\"items\\\":[{\\\"day\\\":\\\"2026-12-07 10:00:00\\\"},"
    "{\\\"day\\\":\\\"2026-12-06T23:59:59.5Z\\\"}],"
    "\\\"note\\\":\\\"v1.2.3\\\"}\"},"
    "\"res\":{\"status\":201},\"timing\":{\"start_us\":1796637600000000}}";

static void
test_shift(void)
{
	struct gen_transform	*gx;
	struct snap_txn		 t;
	struct buf		 out, h;
	uint64_t		 rng = 1;

	gx = load(shift_yaml, NULL);
	txn(&t, shift_txn);
	ASSERT_EQ(gen_transform_flags(gx, &t), GEN_TRANSFORM_BUILD);
	buf_init(&out);
	buf_init(&h);

	/* Two hours and half a second later: the fraction moves too. */
	ASSERT_EQ(build(gx, &t, REC_US + 7200500000LL, &rng, NULL, &out), 7);
	ASSERT(starts_with(out.data, "POST /events?since=2026-12-07T12:00:05."
	    "623456Z&k=v HTTP/1.1\r\n"));
	ASSERT_EQ(req_header(out.data, "X-Client-Time", &h), 0);
	ASSERT_STR_EQ(h.data, "2026-12-07T14:00:05.623+02:00");
	ASSERT_EQ(req_header(out.data, "If-Modified-Since", &h), 0);
	ASSERT_STR_EQ(h.data, "Mon, 07 Dec 2026 12:00:00 GMT");
	/* Epoch ms stays a JSON number in ms; epoch s truncates to s. */
	ASSERT_STR_EQ(req_body(out.data), "{\"at_ms\":1796644805623,"
	    "\"at\":1796644800,\"items\":[{\"day\":\"2026-12-07 12:00:00\"},"
	    "{\"day\":\"2026-12-07T02:00:00.0Z\"}],\"note\":\"v1.2.3\"}");
	ASSERT(length_ok(out.data));
	/* The recorded Content-Length is not sent. */
	ASSERT(strstr(out.data, "999") == NULL);

	/* A clock behind the recording moves them back. */
	ASSERT_EQ(build(gx, &t, REC_US - 86400000000LL, &rng, NULL, &out), 7);
	ASSERT_EQ(req_header(out.data, "If-Modified-Since", &h), 0);
	ASSERT_STR_EQ(h.data, "Sun, 06 Dec 2026 10:00:00 GMT");
	ASSERT_EQ(req_header(out.data, "X-Client-Time", &h), 0);
	ASSERT_STR_EQ(h.data, "2026-12-06T12:00:05.123+02:00");

	buf_free(&out);
	buf_free(&h);
	snap_txn_free(&t);
	gen_transform_free(gx);
}

static void
test_resign(void)
{
	struct gen_transform	*gx;
	struct jwt_key		*key;
	struct snap_txn		 t;
	struct jwt		 j;
	struct buf		 out, h, warn;
	char			*secret, *cause = NULL;
	uint64_t		 rng = 1;

	secret = put_file("k.secret", "s3cret\n");
	buf_init(&warn);
	gx = load("version: 1\n"
	    "keys:\n"
	    "  - name: \"k\"\n"
	    "    alg: \"HS256\"\n"
	    "    secret_file: \"k.secret\"\n"
	    "values:\n"
	    "  - kind: jwt\n"
	    "    dir: in\n"
	    "    endpoint: \"GET /me\"\n"
	    "    where: \"req.header Authorization\"\n"
	    "    action: resign\n"
	    "    key: \"k\"\n"
	    "    format: \"HS256\"\n"
	    "    claims:\n"
	    "      role: admin\n"
	    "      n: 42\n"
	    "  - kind: jwt\n"
	    "    dir: in\n"
	    "    endpoint: \"GET /admin/audit\"\n"
	    "    where: \"req.header Authorization\"\n"
	    "    action: resign\n"
	    "    key: null\n", &warn);
	/* One warning, for the entry without a key, naming its line. */
	ASSERT(warn.len > 0);
	if (warn.len > 0) {
		ASSERT(strstr(warn.data, "t.yaml:17: the JWT at req.header "
		    "Authorization of GET /admin/audit cannot be re-signed: no "
		    "key (add keys: with secret_file); sent as recorded\n") !=
		    NULL);
		ASSERT(strchr(warn.data, '\n') == warn.data + warn.len - 1);
		ASSERT(strstr(warn.data, "s3cret") == NULL);
	}

	txn(&t, "{\"v\":1,\"dir\":\"in\",\"req\":{\"method\":\"GET\","
	    "\"target\":\"/me\",\"headers\":[[\"Authorization\","
	    "\"Bearer " TOKEN "\"]]},\"res\":{\"status\":200}}");
	ASSERT_EQ(gen_transform_flags(gx, &t), GEN_TRANSFORM_BUILD);
	buf_init(&out);
	buf_init(&h);
	ASSERT_EQ(build(gx, &t, REC_US + 3600000000LL, &rng, NULL, &out), 1);
	ASSERT_EQ(req_header(out.data, "Authorization", &h), 0);
	ASSERT(strncmp(h.data, "Bearer ey", 9) == 0);
	ASSERT(strcmp(h.data + 7, TOKEN) != 0);
	key = jwt_key_hmac("s3cret", 6);
	ASSERT_EQ(jwt_verify(h.data + 7, h.len - 7, key), 0);
	jwt_key_free(key);
	key = jwt_key_hmac("other", 5);
	ASSERT_EQ(jwt_verify(h.data + 7, h.len - 7, key), -1);
	jwt_key_free(key);
	ASSERT_EQ(jwt_parse(h.data + 7, h.len - 7, &j, &cause), 0);
	if (cause == NULL) {
		ASSERT_EQ(j.iat, REC_S + 3600);
		ASSERT_EQ(j.exp, REC_S + 600 + 3600);
		ASSERT(memmem(j.payload, j.payload_len, "\"role\":\"admin\"",
		    14) != NULL);
		ASSERT(memmem(j.payload, j.payload_len, "\"n\":42", 6) != NULL);
		ASSERT(memmem(j.payload, j.payload_len, "\"sub\":\"alice\"",
		    13) != NULL);
		jwt_free(&j);
	}
	free(cause);
	snap_txn_free(&t);

	/* No key: sent as recorded. */
	txn(&t, "{\"v\":1,\"dir\":\"in\",\"req\":{\"method\":\"GET\","
	    "\"target\":\"/admin/audit\",\"headers\":[[\"Authorization\","
	    "\"Bearer " TOKEN "\"]]},\"res\":{\"status\":200}}");
	ASSERT_EQ(build(gx, &t, REC_US + 3600000000LL, &rng, NULL, &out), 0);
	ASSERT_EQ(req_header(out.data, "Authorization", &h), 0);
	ASSERT_STR_EQ(h.data, "Bearer " TOKEN);

	buf_free(&warn);
	buf_free(&out);
	buf_free(&h);
	free(secret);
	snap_txn_free(&t);
	gen_transform_free(gx);
}

static const char fresh_yaml[] =
    "version: 1\n"
    "values:\n"
    "  - kind: uuid\n"
    "    dir: in\n"
    "    endpoint: \"POST /pay\"\n"
    "    where: \"req.header Idempotency-Key\"\n"
    "    action: fresh\n"
    "  - kind: hex\n"
    "    dir: in\n"
    "    endpoint: \"POST /pay\"\n"
    "    where: \"req.body $.nonce\"\n"
    "    action: fresh\n"
    "  - kind: ulid\n"
    "    dir: in\n"
    "    endpoint: \"POST /pay\"\n"
    "    where: \"req.query rid\"\n"
    "    action: fresh\n"
    "  - kind: hex\n"
    "    dir: in\n"
    "    endpoint: \"POST /pay\"\n"
    "    where: \"req.body $.ref\"\n"
    "    action: fresh\n";

static const char fresh_txn[] =
    "{\"v\":1,\"dir\":\"in\",\"req\":{\"method\":\"POST\","
    "\"target\":\"/pay?rid=01JEKQ3V7Z9XKM2N4P6R8T0VWY\","
    "\"headers\":[[\"Idempotency-Key\","
    "\"3f1c2a9e-7b4d-4e2a-9c1f-0a1b2c3d4e5f\"]],"
    "\"body\":\"{\\\"nonce\\\":\\\"9f86d081884c7d659a2feaa0c55ad015\\\","
    "\\\"ref\\\":\\\"n-20931\\\",\\\"amount\\\":5}\"},"
    "\"res\":{\"status\":200}}";

/* The fresh values of one send: key, nonce, rid, ref. */
struct fresh {
	char	*key, *nonce, *rid, *ref;
};

static char *
json_member(const char *body, const char *name)
{
	char		*pat = xasprintf("\"%s\":\"", name);
	const char	*p = strstr(body, pat), *q;
	char		*v = NULL;

	if (p != NULL) {
		p += strlen(pat);
		if ((q = strchr(p, '"')) != NULL)
			v = xstrndup(p, (size_t)(q - p));
	}
	free(pat);
	return v != NULL ? v : xstrdup("");
}

static void
fresh_send(struct gen_transform *gx, const struct snap_txn *t, uint64_t *rng,
    struct fresh *f)
{
	struct buf	 out, h;
	const char	*q, *e;

	buf_init(&out);
	buf_init(&h);
	ASSERT_EQ(build(gx, t, REC_US + 60000000, rng, NULL, &out), 4);
	ASSERT_EQ(req_header(out.data, "Idempotency-Key", &h), 0);
	f->key = xstrdup(h.data != NULL ? h.data : "");
	f->nonce = json_member(req_body(out.data), "nonce");
	f->ref = json_member(req_body(out.data), "ref");
	q = strstr(out.data, "rid=");
	e = q != NULL ? strchr(q, ' ') : NULL;
	f->rid = q != NULL && e != NULL ? xstrndup(q + 4,
	    (size_t)(e - q - 4)) : xstrdup("");
	ASSERT(strstr(req_body(out.data), "\"amount\":5}") != NULL);
	ASSERT(length_ok(out.data));
	buf_free(&out);
	buf_free(&h);
}

static void
fresh_free(struct fresh *f)
{
	free(f->key);
	free(f->nonce);
	free(f->rid);
	free(f->ref);
}

static void
test_fresh(void)
{
	struct gen_transform	*gx;
	struct snap_txn		 t;
	struct shape		 sh;
	struct fresh		 a, b, c;
	uint64_t		 rng = 7, rng2 = 7;
	size_t			 i;

	gx = load(fresh_yaml, NULL);
	txn(&t, fresh_txn);
	fresh_send(gx, &t, &rng, &a);
	fresh_send(gx, &t, &rng, &b);
	/* Per send: a retry gets its own values. */
	ASSERT(strcmp(a.key, b.key) != 0);
	ASSERT(strcmp(a.nonce, b.nonce) != 0);
	ASSERT(strcmp(a.rid, b.rid) != 0);
	ASSERT(strcmp(a.ref, b.ref) != 0);
	/* And none is the recorded one. */
	ASSERT(strcmp(a.key, "3f1c2a9e-7b4d-4e2a-9c1f-0a1b2c3d4e5f") != 0);
	ASSERT(strcmp(a.nonce, "9f86d081884c7d659a2feaa0c55ad015") != 0);
	/* Same format: UUID v4 lower case, 32 lower hex, a ULID, and a
	 * value of no known shape keeps its length and character classes. */
	ASSERT_EQ(shape_classify(a.key, strlen(a.key), NULL, &sh), SHAPE_UUID);
	ASSERT_EQ(sh.version, 4);
	ASSERT_EQ(sh.upper, 0);
	ASSERT_EQ(shape_classify(a.nonce, strlen(a.nonce), NULL, &sh),
	    SHAPE_HEX);
	ASSERT_EQ(strlen(a.nonce), 32);
	ASSERT_EQ(sh.upper, 0);
	ASSERT_EQ(shape_classify(a.rid, strlen(a.rid), NULL, &sh), SHAPE_ULID);
	ASSERT_EQ(strlen(a.ref), 7);
	ASSERT(a.ref[1] == '-');
	for (i = 2; i < strlen(a.ref); i++)
		ASSERT(a.ref[i] >= '0' && a.ref[i] <= '9');
	ASSERT(a.ref[0] >= 'a' && a.ref[0] <= 'z');
	/* A seed gives the same values again. */
	fresh_send(gx, &t, &rng2, &c);
	ASSERT_STR_EQ(c.key, a.key);
	ASSERT_STR_EQ(c.nonce, a.nonce);
	fresh_free(&a);
	fresh_free(&b);
	fresh_free(&c);
	snap_txn_free(&t);
	gen_transform_free(gx);
}

static const char corr_yaml[] =
    "version: 1\n"
    "values:\n"
    "  - kind: uuid\n"
    "    dir: in\n"
    "    endpoint: \"POST /orders/{id}/pay\"\n"
    "    where: \"req.path 1\"\n"
    "    action: fresh\n"
    "  - kind: timestamp\n"
    "    dir: in\n"
    "    endpoint: \"POST /orders\"\n"
    "    where: \"res.body $.created_at\"\n"
    "    action: any\n"
    "correlations:\n"
    "  - name: \"order id\"\n"
    "    kind: any\n"
    "    from:\n"
    "      endpoint: \"POST /orders\"\n"
    "      where: \"res.body $.id\"\n"
    "    to:\n"
    "      - endpoint: \"POST /orders/{id}/pay\"\n"
    "        where: \"req.path 1\"\n"
    "      - endpoint: \"POST /orders/{id}/pay\"\n"
    "        where: \"req.query ref\"\n"
    "      - endpoint: \"POST /orders/{id}/pay\"\n"
    "        where: \"req.body $.order\"\n"
    "  - name: \"token\"\n"
    "    kind: jwt\n"
    "    from:\n"
    "      endpoint: \"POST /login\"\n"
    "      where: \"res.body $.token\"\n"
    "    to:\n"
    "      - endpoint: \"*\"\n"
    "        where: \"req.header Authorization\"\n"
    "  - name: \"session\"\n"
    "    kind: any\n"
    "    from:\n"
    "      endpoint: \"POST /login\"\n"
    "      where: \"res.set-cookie sid\"\n"
    "    to:\n"
    "      - endpoint: \"*\"\n"
    "        where: \"req.cookie sid\"\n";

static const char login_txn[] =
    "{\"v\":1,\"dir\":\"in\",\"req\":{\"method\":\"POST\","
    "\"target\":\"/login\",\"headers\":[],\"body\":\"{}\"},"
    "\"res\":{\"status\":200,\"headers\":[[\"Set-Cookie\","
    "\"sid=S-REC-1; Path=/; HttpOnly\"],[\"Content-Type\","
    "\"application/json\"]],\"body\":\"{\\\"token\\\":\\\"tokREC\\\"}\"}}";

static const char create_txn[] =
    "{\"v\":1,\"dir\":\"in\",\"req\":{\"method\":\"POST\","
    "\"target\":\"/orders\",\"headers\":[[\"Authorization\","
    "\"Bearer tokREC\"]],\"body\":\"{\\\"sku\\\":\\\"a\\\"}\"},"
    "\"res\":{\"status\":201,\"body\":\"{\\\"id\\\":\\\"ord_rec1\\\","
    "\\\"created_at\\\":\\\"2026-12-07T10:00:00Z\\\"}\"}}";

static const char pay_txn[] =
    "{\"v\":1,\"dir\":\"in\",\"req\":{\"method\":\"POST\","
    "\"target\":\"/orders/ord_rec1/pay?ref=ord_rec1&x=1\","
    "\"headers\":[[\"Authorization\",\"Bearer tokREC\"],[\"Cookie\","
    "\"theme=dark; sid=S-REC-1\"]],"
    "\"body\":\"{\\\"order\\\":\\\"ord_rec1\\\",\\\"n\\\":1}\"},"
    "\"res\":{\"status\":200}}";

static const char other_txn[] =
    "{\"v\":1,\"dir\":\"in\",\"req\":{\"method\":\"POST\","
    "\"target\":\"/orders/ord_other/pay?ref=ord_other\","
    "\"headers\":[[\"Authorization\",\"Bearer tokOTHER\"]],"
    "\"body\":\"{\\\"order\\\":\\\"ord_other\\\",\\\"n\\\":2}\"},"
    "\"res\":{\"status\":200}}";

/* A live response as the generator sees it. */
static void
live_msg(struct transform_msg *m, struct http_header *h, size_t nh,
    const char *body)
{
	memset(m, 0, sizeof *m);
	m->headers = h;
	m->nheaders = nh;
	m->body = span_from_str(body);
}

static void
test_correlation(void)
{
	struct gen_transform		*gx;
	struct gen_transform_map	*map;
	const struct gen_transform_cmp	*cmp;
	struct snap_txn			 login, create, pay, other;
	const struct gen_transform_cmp	*first;
	struct transform_msg		 m;
	struct http_header		 h[2];
	struct buf			 out, v;
	const char			*live;
	size_t				 len;
	uint64_t			 rng = 3;

	gx = load(corr_yaml, NULL);
	ASSERT(gen_transform_has_corrs(gx));
	txn(&login, login_txn);
	txn(&create, create_txn);
	txn(&pay, pay_txn);
	txn(&other, other_txn);
	ASSERT_EQ(gen_transform_flags(gx, &login),
	    GEN_TRANSFORM_CAPTURE);
	ASSERT_EQ(gen_transform_flags(gx, &other), GEN_TRANSFORM_BUILD);
	ASSERT_EQ(gen_transform_flags(gx, &create),
	    GEN_TRANSFORM_BUILD | GEN_TRANSFORM_CAPTURE);
	ASSERT_EQ(gen_transform_flags(gx, &pay), GEN_TRANSFORM_BUILD);

	/* What the comparison leaves out: the answer's new id, its
	 * creation time, the login's token and cookie. */
	cmp = gen_transform_cmp(gx, &create);
	ASSERT(cmp != NULL);
	if (cmp != NULL) {
		ASSERT_EQ(cmp->npaths, 2);
		ASSERT_STR_EQ(cmp->paths[0], "$.created_at");
		ASSERT_STR_EQ(cmp->paths[1], "$.id");
		ASSERT_EQ(cmp->nheaders, 0);
	}
	ASSERT(gen_transform_cmp(gx, &create) == cmp);
	first = cmp;
	cmp = gen_transform_cmp(gx, &login);
	ASSERT(cmp != NULL);
	if (cmp != NULL) {
		ASSERT_EQ(cmp->npaths, 1);
		ASSERT_STR_EQ(cmp->paths[0], "$.token");
		ASSERT_EQ(cmp->nheaders, 1);
		ASSERT_STR_EQ(cmp->headers[0], "Set-Cookie");
	}
	ASSERT(gen_transform_cmp(gx, &pay) == NULL);
	/* The first list is still whole after another was made (each
	 * transaction of a run keeps its pointer; ASan or valgrind see a
	 * stale one). */
	ASSERT(first != NULL && first != cmp);
	if (first != NULL) {
		ASSERT_EQ(first->npaths, 2);
		ASSERT_STR_EQ(first->paths[1], "$.id");
	}

	map = gen_transform_map_create();
	/* The live login answer: a new token and a new session cookie. */
	h[0].name = SPAN_LIT("Set-Cookie");
	h[0].value = SPAN_LIT("sid=S-LIVE-77; Path=/");
	h[1].name = SPAN_LIT("Content-Type");
	h[1].value = SPAN_LIT("application/json");
	live_msg(&m, h, 2, "{\"token\":\"tokLIVE-longer\"}");
	ASSERT_EQ(gen_transform_capture(gx, &login, &m, map), 2);
	/* The live order id, and its creation time (an `any` value: kept
	 * for comparing later answers that repeat it). */
	live_msg(&m, NULL, 0, "{\"created_at\":\"2026-12-07T12:00:00Z\","
	    "\"id\":\"ord_LIVE_99\"}");
	ASSERT_EQ(gen_transform_capture(gx, &create, &m, map), 2);
	/* An answer that repeats the recorded value adds nothing; one
	 * without the value neither. */
	live_msg(&m, NULL, 0, "{\"id\":\"ord_rec1\"}");
	ASSERT_EQ(gen_transform_capture(gx, &create, &m, map), 0);
	live_msg(&m, NULL, 0, "{\"error\":\"busy\"}");
	ASSERT_EQ(gen_transform_capture(gx, &create, &m, map), 0);
	ASSERT_EQ(gen_transform_map_count(map), 4);
	live = gen_transform_map_get(map, "2026-12-07T10:00:00Z", 20, &len);
	ASSERT(live != NULL);
	if (live != NULL)
		ASSERT_MEM_EQ(live, len, "2026-12-07T12:00:00Z");
	live = gen_transform_map_get(map, "ord_rec1", 8, &len);
	ASSERT(live != NULL);
	if (live != NULL)
		ASSERT_MEM_EQ(live, len, "ord_LIVE_99");

	buf_init(&out);
	buf_init(&v);
	/* Path segment, query, "Bearer X", cookie and JSON body all get
	 * the live values; the correlated path segment wins over the fresh
	 * entry at the same place. */
	ASSERT_EQ(build(gx, &pay, REC_US, &rng, map, &out), 5);
	ASSERT(starts_with(out.data, "POST /orders/ord_LIVE_99/pay?"
	    "ref=ord_LIVE_99&x=1 HTTP/1.1\r\n"));
	ASSERT_EQ(req_header(out.data, "Authorization", &v), 0);
	ASSERT_STR_EQ(v.data, "Bearer tokLIVE-longer");
	ASSERT_EQ(req_header(out.data, "Cookie", &v), 0);
	ASSERT_STR_EQ(v.data, "theme=dark; sid=S-LIVE-77");
	ASSERT_STR_EQ(req_body(out.data),
	    "{\"order\":\"ord_LIVE_99\",\"n\":1}");
	ASSERT(length_ok(out.data));

	/* A request for a value the map does not hold is left alone but
	 * for its fresh path segment (ord_other is not a UUID: fresh keeps
	 * its character classes). */
	ASSERT_EQ(build(gx, &other, REC_US, &rng, map, &out), 1);
	ASSERT(strstr(out.data, "?ref=ord_other HTTP/1.1\r\n") != NULL);
	ASSERT_EQ(req_header(out.data, "Authorization", &v), 0);
	ASSERT_STR_EQ(v.data, "Bearer tokOTHER");
	ASSERT_STR_EQ(req_body(out.data),
	    "{\"order\":\"ord_other\",\"n\":2}");

	/* Without a map (another session, nothing seen yet): recorded. */
	ASSERT_EQ(build(gx, &create, REC_US, &rng, NULL, &out), 0);
	ASSERT_EQ(req_header(out.data, "Authorization", &v), 0);
	ASSERT_STR_EQ(v.data, "Bearer tokREC");

	buf_free(&out);
	buf_free(&v);
	gen_transform_map_free(map);
	snap_txn_free(&login);
	snap_txn_free(&create);
	snap_txn_free(&pay);
	snap_txn_free(&other);
	gen_transform_free(gx);
}

static void
test_map(void)
{
	struct gen_transform_map	*map = gen_transform_map_create();
	const char			*v;
	char				 k[32], l[32];
	size_t				 len, i;
	int				 ok = 1;

	ASSERT(gen_transform_map_get(map, "a", 1, &len) == NULL);
	for (i = 0; i < 5000; i++) {
		snprintf(k, sizeof k, "rec-%zu", i);
		snprintf(l, sizeof l, "live-%zu", i * 7);
		gen_transform_map_set(map, k, strlen(k), l, strlen(l));
	}
	ASSERT_EQ(gen_transform_map_count(map), 5000);
	for (i = 0; i < 5000; i++) {
		snprintf(k, sizeof k, "rec-%zu", i);
		snprintf(l, sizeof l, "live-%zu", i * 7);
		v = gen_transform_map_get(map, k, strlen(k), &len);
		if (v == NULL || len != strlen(l) || memcmp(v, l, len) != 0)
			ok = 0;
	}
	ASSERT(ok);
	/* Replacing keeps the count. */
	gen_transform_map_set(map, "rec-1", 5, "x", 1);
	ASSERT_EQ(gen_transform_map_count(map), 5000);
	v = gen_transform_map_get(map, "rec-1", 5, &len);
	ASSERT(v != NULL && len == 1 && v[0] == 'x');
	ASSERT(gen_transform_map_get(map, "rec-5000", 8, &len) == NULL);
	gen_transform_map_free(map);
}

/* The headers the request writer does not copy from the recording. */
static void
test_hop_headers(void)
{
	static const char *const skip[] = { "host", "Expect", "TE",
	    "Trailer", "upgrade", "Proxy-Connection", "Content-Length",
	    "transfer-encoding", "Connection", "Keep-Alive" };
	struct snap_header	 h[sizeof skip / sizeof skip[0] + 2];
	struct snap_req		 r;
	struct buf		 b;
	size_t			 i, n = 0;

	h[n].name = (char *)"Accept";
	h[n++].value = (char *)"*/*";
	for (i = 0; i < sizeof skip / sizeof skip[0]; i++) {
		h[n].name = (char *)skip[i];
		h[n++].value = (char *)"x";
	}
	h[n].name = (char *)"Hostname";
	h[n++].value = (char *)"y";
	memset(&r, 0, sizeof r);
	r.method = (char *)"GET";
	r.target = (char *)"/a";
	r.headers = h;
	r.nheaders = n;
	buf_init(&b);
	gen_transform_write_request(&b, &r, "h:1", "");
	buf_append_byte(&b, '\0');
	ASSERT_STR_EQ(b.data, "GET /a HTTP/1.1\r\nHost: h:1\r\n"
	    "Accept: */*\r\nHostname: y\r\n\r\n");
	/* But "TE: trailers", which a gRPC server requires, is kept. */
	h[3].value = (char *)"trailers";
	ASSERT_STR_EQ(skip[2], "TE");
	buf_reset(&b);
	gen_transform_write_request(&b, &r, "h:1", "");
	buf_append_byte(&b, '\0');
	ASSERT_STR_EQ(b.data, "GET /a HTTP/1.1\r\nHost: h:1\r\n"
	    "Accept: */*\r\nTE: trailers\r\nHostname: y\r\n\r\n");
	buf_free(&b);
}


/* --- gRPC messages (req.grpc, res.grpc) --- */

static const char grpc_yaml[] =
    "version: 1\n"
    "values:\n"
    "  - kind: timestamp\n"
    "    dir: in\n"
    "    endpoint: \"POST /bank.Ledger/Post\"\n"
    "    where: \"req.grpc 2.1\"\n"
    "    action: shift\n"
    "correlations:\n"
    "  - name: \"account\"\n"
    "    kind: any\n"
    "    from:\n"
    "      endpoint: \"POST /bank.Ledger/Open\"\n"
    "      where: \"res.grpc 1\"\n"
    "    to:\n"
    "      - endpoint: \"POST /bank.Ledger/Post\"\n"
    "        where: \"req.grpc 1\"\n";

static struct snap_header grpc_hdrs[] = {
	{ (char *)"content-type", (char *)"application/grpc" },
	{ (char *)"te", (char *)"trailers" },
};

/* A framed message: 1 s, then (ts != 0) 2 {1 ts}, then 3 "100". */
static void
grpc_body(struct buf *b, const char *s, uint64_t ts)
{
	struct buf	m, sub;

	buf_init(&m);
	buf_init(&sub);
	pb_put_key(&m, 1, PB_LEN);
	pb_put_varint(&m, strlen(s));
	buf_append_str(&m, s);
	if (ts != 0) {
		pb_put_key(&sub, 1, PB_VARINT);
		pb_put_varint(&sub, ts);
		pb_put_key(&m, 2, PB_LEN);
		pb_put_varint(&m, sub.len);
		buf_append(&m, sub.data, sub.len);
	}
	pb_put_key(&m, 3, PB_LEN);
	pb_put_varint(&m, 3);
	buf_append_str(&m, "100");
	buf_reset(b);
	grpc_put_msg(b, 0, m.data, m.len);
	buf_free(&m);
	buf_free(&sub);
}

static void
grpc_txn(struct snap_txn *t, const char *target, struct buf *req,
    struct buf *res)
{
	memset(t, 0, sizeof *t);
	t->v = 1;
	t->dir = SNAP_DIR_IN;
	t->req.method = (char *)"POST";
	t->req.target = (char *)target;
	t->req.headers = grpc_hdrs;
	t->req.nheaders = 2;
	t->req.body = req->data;
	t->req.body_len = req->len;
	t->has_res = 1;
	t->res.status = 200;
	t->res.headers = grpc_hdrs;
	t->res.nheaders = 1;
	t->res.body = res->data;
	t->res.body_len = res->len;
	t->start_us = REC_US;
	t->ttfb_us = t->total_us = -1;
}

/*
 * The account id a live Open answer issues reaches the next Post's
 * field 1 (longer: every length around it recomputed), the Post's
 * epoch timestamp is shifted, the rest is sent as recorded.
 */
static void
test_grpc(void)
{
	struct gen_transform		*gx;
	struct gen_transform_map	*map;
	const struct gen_transform_cmp	*cmp;
	struct snap_txn			 open, post;
	struct transform_msg		 m;
	struct buf			 oreq, ores, preq, pres, live, out, view;
	struct grpc_msg			 gm;
	const char			*why, *body;
	size_t				 off = 0, blen;
	uint64_t			 rng = 5;

	gx = load(grpc_yaml, NULL);
	buf_init(&oreq);
	buf_init(&ores);
	buf_init(&preq);
	buf_init(&pres);
	buf_init(&live);
	buf_init(&out);
	buf_init(&view);
	grpc_body(&oreq, "alice", 0);
	grpc_body(&ores, "acct-rec-1", 0);
	grpc_body(&preq, "acct-rec-1", (uint64_t)REC_S);
	grpc_body(&pres, "ok", 0);
	grpc_txn(&open, "/bank.Ledger/Open", &oreq, &ores);
	grpc_txn(&post, "/bank.Ledger/Post", &preq, &pres);
	ASSERT_EQ(gen_transform_flags(gx, &open), GEN_TRANSFORM_CAPTURE);
	ASSERT_EQ(gen_transform_flags(gx, &post), GEN_TRANSFORM_BUILD);

	map = gen_transform_map_create();
	grpc_body(&live, "acct-LIVE-000042", 0);
	memset(&m, 0, sizeof m);
	m.body = (struct span){ live.data, live.len };
	ASSERT_EQ(gen_transform_capture(gx, &open, &m, map), 1);

	/* Comparing the live answer: the issued id is left out, the rest
	 * still counts. */
	cmp = gen_transform_cmp(gx, &open);
	ASSERT(cmp != NULL && cmp->ngrpc == 1 && cmp->npaths == 0);
	if (cmp != NULL && cmp->ngrpc == 1)
		ASSERT_STR_EQ(cmp->grpc[0], "1");
	ASSERT(gen_transform_grpc_same(cmp, NULL, (struct span){ ores.data,
	    ores.len }, m.body));
	grpc_body(&view, "acct-LIVE-000042", 7);
	ASSERT(!gen_transform_grpc_same(cmp, NULL, (struct span){ ores.data,
	    ores.len }, (struct span){ view.data, view.len }));
	ASSERT(!gen_transform_grpc_same(NULL, NULL, m.body, m.body));
	ASSERT(gen_transform_cmp(gx, &post) == NULL);
	/* A later answer that repeats the issued id: its live value. */
	grpc_body(&view, "acct-rec-1", 0);
	ASSERT(gen_transform_grpc_same(NULL, map, (struct span){ view.data,
	    view.len }, m.body));
	ASSERT(!gen_transform_grpc_same(NULL, NULL, (struct span){
	    view.data, view.len }, m.body));
	ASSERT(!gen_transform_grpc_same(NULL, map, (struct span){ pres.data,
	    pres.len }, m.body));
	buf_reset(&view);

	ASSERT_EQ(build(gx, &post, REC_US + 3600 * 1000000LL, &rng, map,
	    &out), 2);
	body = strstr(out.data, "\r\n\r\n");
	ASSERT(body != NULL);
	if (body != NULL) {
		body += 4;
		blen = out.len - (size_t)(body - out.data);
		ASSERT_EQ(grpc_next_msg((const uint8_t *)body, blen, &off,
		    &gm, &why), 1);
		ASSERT_EQ(off, blen);
		ASSERT_EQ(pb_view(&view, gm.p, gm.len), 0);
		buf_append_byte(&view, '\0');
		ASSERT_STR_EQ(view.data, "[[1,\"acct-LIVE-000042\"],"
		    "[2,[[1,1796641200]]],[3,\"100\"]]");
		ASSERT(strstr(out.data, "Content-Length: 36\r\n") != NULL);
		ASSERT_EQ(blen, 36);
	}
	/* Without the map: only the shift. */
	ASSERT_EQ(build(gx, &post, REC_US, &rng, NULL, &out), 1);
	body = strstr(out.data, "\r\n\r\n");
	ASSERT(body != NULL && out.len - (size_t)(body + 4 - out.data) ==
	    preq.len && memcmp(body + 4, preq.data, preq.len) == 0);

	gen_transform_map_free(map);
	gen_transform_free(gx);
	buf_free(&oreq);
	buf_free(&ores);
	buf_free(&preq);
	buf_free(&pres);
	buf_free(&live);
	buf_free(&out);
	buf_free(&view);
}

int
main(void)
{
	char	*p;

	snprintf(tmpdir, sizeof tmpdir, "/tmp/test-gen-transform.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_plain();
	test_shift();
	test_resign();
	test_fresh();
	test_correlation();
	test_map();
	test_hop_headers();
	test_grpc();
	p = xasprintf("%s/t.yaml", tmpdir);
	unlink(p);
	free(p);
	p = xasprintf("%s/k.secret", tmpdir);
	unlink(p);
	free(p);
	rmdir(tmpdir);
	UNIT_DONE();
}
