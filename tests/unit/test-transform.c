/*
 * test-transform.c -- the transforms file: locations, routes, the locator
 * and its edits, and the YAML reader and writer (round trip, errors with
 * file:line:col); gRPC field paths, their locator and the re-encoding
 * renderer (transform-grpc.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "grpc.h"
#include "protobuf.h"
#include "protodesc.h"
#include "transform.h"
#include "unit.h"
#include "xmalloc.h"

static void
test_loc(void)
{
	static const char *good[] = {
		"req.header Authorization", "req.cookie sid", "req.query ts",
		"req.path 0", "req.path 12", "req.body $.a.b",
		"req.body $.items[*].id", "req.body $.items[3]",
		"req.form nonce", "res.header Date", "res.body $.token",
		"res.set-cookie session", "res.form x",
	};
	static const char *bad[] = {
		"", "header X", "req.", "req.header", "req.header ",
		"req.headers X", "res.query ts", "res.path 1", "req.set-cookie a",
		"res.cookie a", "req.path x", "req.path -1", "req.body a.b",
		"req.body $.a[", "req.body $..a", "req.header a b",
		"req.body $.a[x]",
	};
	struct transform_loc	 l, l2;
	struct buf		 b;
	char			*cause;
	size_t			 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		cause = NULL;
		ASSERT_EQ(transform_loc_parse(good[i], &l, &cause), 0);
		if (cause != NULL) {
			fprintf(stderr, "%s: %s\n", good[i], cause);
			free(cause);
			continue;
		}
		buf_init(&b);
		transform_loc_format(&b, &l);
		ASSERT_STR_EQ(b.data, good[i]);
		ASSERT_EQ(transform_loc_parse(b.data, &l2, &cause), 0);
		ASSERT(transform_loc_eq(&l, &l2));
		transform_loc_free(&l2);
		buf_free(&b);
		transform_loc_free(&l);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cause = NULL;
		ASSERT_EQ(transform_loc_parse(bad[i], &l, &cause), -1);
		ASSERT(cause != NULL);
		free(cause);
	}
	/* Header names compare without case. */
	ASSERT_EQ(transform_loc_parse("req.header x-a", &l, &cause), 0);
	ASSERT_EQ(transform_loc_parse("req.header X-A", &l2, &cause), 0);
	ASSERT(transform_loc_eq(&l, &l2));
	transform_loc_free(&l);
	transform_loc_free(&l2);
}

static void
route_is(const char *path, const char *want)
{
	struct buf	b;

	buf_init(&b);
	transform_route(&b, path, strlen(path));
	ASSERT_STR_EQ(b.data, want);
	buf_free(&b);
}

static int
ep(const char *method, const char *route, const char *m, const char *p)
{
	return transform_endpoint_match(method, route, span_from_str(m),
	    span_from_str(p));
}

static void
test_route(void)
{
	route_is("/", "/");
	route_is("/transfers", "/transfers");
	route_is("/transfers/tr_3f2c9a", "/transfers/{id}");
	route_is("/items/42", "/items/{n}");
	route_is("/u/0b0f4c5e-6c2e-4d8e-9b7a-1c2d3e4f5a6b/x",
	    "/u/{uuid}/x");
	route_is("/v1/accounts/acct-alice", "/v1/accounts/acct-alice");
	route_is("/v2.1/entries/e1", "/v2.1/entries/{id}");
	route_is("/v1x/a", "/{id}/a");
	route_is("/v/2", "/v/{n}");
	route_is("/api/v3./x", "/api/{id}/x");
	route_is("/a//b/", "/a//b/");

	ASSERT(ep("GET", "/transfers/{id}", "GET", "/transfers/tr_1"));
	ASSERT(!ep("GET", "/transfers/{id}", "POST", "/transfers/tr_1"));
	ASSERT(!ep("GET", "/transfers/{id}", "GET", "/transfers"));
	ASSERT(!ep("GET", "/transfers/{id}", "GET", "/transfers/"));
	ASSERT(!ep("GET", "/transfers/{id}", "GET", "/transfers/a/b"));
	ASSERT(!ep("GET", "/transfers/{id}", "GET", "/transferz/a"));
	ASSERT(ep("GET", "/", "GET", "/"));
	ASSERT(!ep("GET", "/", "GET", "/a"));
	ASSERT(ep("*", "/a", "PUT", "/a"));
	ASSERT(ep("POST", "*", "POST", "/anything/at/all"));
	ASSERT(ep("*", "*", "X", "/"));
}

/* A message over fixed strings: headers "name: value" pairs. */
struct tmsg {
	struct http_header	 h[8];
	struct transform_msg	 m;
};

static void
tmsg_init(struct tmsg *t, const char *path, const char *query,
    const char *const *hdrs, const char *body)
{
	size_t	n = 0;

	memset(t, 0, sizeof(*t));
	for (; hdrs != NULL && hdrs[0] != NULL; hdrs += 2, n++) {
		t->h[n].name = span_from_str(hdrs[0]);
		t->h[n].value = span_from_str(hdrs[1]);
	}
	t->m.path = path != NULL ? span_from_str(path) : SPAN_NULL;
	t->m.query = query != NULL ? span_from_str(query) : SPAN_NULL;
	t->m.headers = t->h;
	t->m.nheaders = n;
	t->m.body = body != NULL ? span_from_str(body) : SPAN_NULL;
}

/* Locates loc in m, expects the decoded values want[0..nwant). */
static void
locate_is(const struct transform_msg *m, const char *loc,
    const char *const *want, size_t nwant)
{
	struct transform_loc	l;
	struct transform_hit	hits[8];
	struct buf		b;
	char			*cause = NULL;
	size_t			n, i;

	ASSERT_EQ(transform_loc_parse(loc, &l, &cause), 0);
	free(cause);
	n = transform_locate(&l, m, hits, 8);
	if (n != nwant)
		UNIT_FAIL("%s: %zu hits, expected %zu", loc, n, nwant);
	for (i = 0; i < n && i < nwant; i++) {
		buf_init(&b);
		transform_hit_value(&b, m, &hits[i]);
		buf_append_byte(&b, '\0');
		ASSERT_STR_EQ(b.data, want[i]);
		buf_free(&b);
	}
	transform_loc_free(&l);
}

#define LOCATE(m, loc, ...) do {					\
	static const char *const w_[] = { __VA_ARGS__ };		\
	locate_is((m), (loc), w_, sizeof(w_) / sizeof(w_[0]));		\
} while (0)
#define LOCATE_NONE(m, loc)	locate_is((m), (loc), NULL, 0)

static void
test_locate(void)
{
	static const char *const hdrs[] = {
		"Authorization", "Bearer eyJ.a.b",
		"X-Client-Time", "2026-12-07T10:00:00Z",
		"Cookie", "a=1; sid=abc123; b=2",
		"X-Two", "two words here",
		NULL,
	};
	static const char *const res_hdrs[] = {
		"Set-Cookie", "other=1; Path=/",
		"Set-Cookie", "session=deadbeef42; HttpOnly; Path=/",
		"Location", "/transfers/tr_9",
		NULL,
	};
	struct tmsg	t;

	tmsg_init(&t, "/transfers/tr_1/x%2Fy", "a=1&ts=2026-12-07T10%3A00%3A00%2B02%3A00&e=&b+c=d",
	    hdrs, "{\"id\":\"o-1\",\"n\":17,\"nested\":{\"ts\":\"2026\\/12\"},"
	    "\"items\":[{\"id\":\"a\"},{\"id\":\"b\"},{\"x\":1}],"
	    "\"odd.key\":true,\"arr\":[[1,2],[3]]}");
	LOCATE(&t.m, "req.path 0", "transfers");
	LOCATE(&t.m, "req.path 1", "tr_1");
	LOCATE(&t.m, "req.path 2", "x/y");
	LOCATE_NONE(&t.m, "req.path 3");
	LOCATE(&t.m, "req.query a", "1");
	LOCATE(&t.m, "req.query ts", "2026-12-07T10:00:00+02:00");
	LOCATE(&t.m, "req.query e", "");
	LOCATE(&t.m, "req.query b c", "d");
	LOCATE_NONE(&t.m, "req.query zz");
	LOCATE(&t.m, "req.header authorization", "eyJ.a.b");
	LOCATE(&t.m, "req.header X-Client-Time", "2026-12-07T10:00:00Z");
	LOCATE(&t.m, "req.header X-Two", "two words here");
	LOCATE(&t.m, "req.cookie sid", "abc123");
	LOCATE(&t.m, "req.cookie b", "2");
	LOCATE_NONE(&t.m, "req.cookie c");
	LOCATE(&t.m, "req.body $.id", "o-1");
	LOCATE(&t.m, "req.body $.n", "17");
	LOCATE(&t.m, "req.body $.nested.ts", "2026/12");
	LOCATE(&t.m, "req.body $.items[*].id", "a", "b");
	LOCATE(&t.m, "req.body $.items[1].id", "b");
	LOCATE(&t.m, "req.body $.arr[*][*]", "1", "2", "3");
	LOCATE_NONE(&t.m, "req.body $[\"odd.key\"]");	/* not a string */
	LOCATE_NONE(&t.m, "req.body $.missing");
	LOCATE_NONE(&t.m, "req.body $.id.deeper");

	tmsg_init(&t, NULL, NULL, res_hdrs, "not json");
	LOCATE(&t.m, "res.set-cookie session", "deadbeef42");
	LOCATE_NONE(&t.m, "res.set-cookie nope");
	LOCATE(&t.m, "res.header location", "/transfers/tr_9");
	LOCATE_NONE(&t.m, "res.body $.id");

	tmsg_init(&t, "/", NULL, NULL, "nonce=a%20b&x=1+2");
	LOCATE(&t.m, "req.form nonce", "a b");
	LOCATE(&t.m, "req.form x", "1 2");
}

/* Applies edits (loc, new value) to m and checks every part. */
static void
test_edits(void)
{
	static const char *const hdrs[] = {
		"Authorization", "Bearer old.token.x",
		"Cookie", "sid=abc; t=1",
		NULL,
	};
	struct tmsg		 t;
	struct transform_edits	 e;
	struct transform_loc	 l;
	struct transform_hit	 hits[4];
	struct buf		 b;
	char			*cause = NULL;
	size_t			 n;

	tmsg_init(&t, "/transfers/tr_1", "ts=2026-01-01T00%3A00%3A00Z&k=v",
	    hdrs, "{\"ts\":1733000000000,\"s\":\"a\\\"b\",\"items\":"
	    "[{\"id\":\"x\"},{\"id\":\"y\"}]}");
	transform_edits_init(&e);

#define EDIT(loc, val) do {						\
	ASSERT_EQ(transform_loc_parse((loc), &l, &cause), 0);		\
	n = transform_locate(&l, &t.m, hits, 4);			\
	for (size_t k_ = 0; k_ < n; k_++)				\
		transform_edits_add(&e, &hits[k_], (val), strlen(val));	\
	transform_loc_free(&l);						\
} while (0)

	EDIT("req.path 1", "tr_a/b");
	EDIT("req.query ts", "2026-01-01T00:00:00+01:00");
	EDIT("req.header Authorization", "new.token.y");
	EDIT("req.cookie sid", "zz");
	EDIT("req.body $.ts", "1733003600000");
	EDIT("req.body $.s", "q\"uote\n");
	EDIT("req.body $.items[*].id", "N");
	/* Overlapping the first: ignored. */
	EDIT("req.path 1", "again");

	buf_init(&b);
	ASSERT_EQ(transform_edits_render(&b, &e, &t.m, TRANSFORM_IN_PATH, 0),
	    1);
	ASSERT_STR_EQ(b.data, "/transfers/tr_a%2Fb");
	buf_reset(&b);
	transform_edits_render(&b, &e, &t.m, TRANSFORM_IN_QUERY, 0);
	ASSERT_STR_EQ(b.data, "ts=2026-01-01T00:00:00%2B01:00&k=v");
	buf_reset(&b);
	transform_edits_render(&b, &e, &t.m, TRANSFORM_IN_HEADER, 0);
	ASSERT_STR_EQ(b.data, "Bearer new.token.y");
	buf_reset(&b);
	transform_edits_render(&b, &e, &t.m, TRANSFORM_IN_HEADER, 1);
	ASSERT_STR_EQ(b.data, "sid=zz; t=1");
	buf_reset(&b);
	transform_edits_render(&b, &e, &t.m, TRANSFORM_IN_BODY, 0);
	ASSERT_STR_EQ(b.data, "{\"ts\":1733003600000,\"s\":\"q\\\"uote\\n\","
	    "\"items\":[{\"id\":\"N\"},{\"id\":\"N\"}]}");
	buf_reset(&b);

	/* A number replaced by text becomes a string. */
	transform_edits_reset(&e);
	EDIT("req.body $.ts", "soon");
	transform_edits_render(&b, &e, &t.m, TRANSFORM_IN_BODY, 0);
	ASSERT(strncmp(b.data, "{\"ts\":\"soon\",", 13) == 0);
	buf_reset(&b);
	ASSERT_EQ(transform_edits_render(&b, &e, &t.m, TRANSFORM_IN_PATH, 0),
	    0);
	ASSERT_STR_EQ(b.data, "/transfers/tr_1");
	buf_free(&b);
	transform_edits_free(&e);
#undef EDIT
}

static char tmpdir[64];

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

static const char good_yaml[] =
    "version: 1\n"
    "snapshot: bank.jsonl\n"
    "recording:\n"
    "  start: \"2026-12-07T10:00:00.000000Z\"\n"
    "  end: \"2026-12-07T10:05:00.500000Z\"\n"
    "keys:\n"
    "  - name: admin\n"
    "    alg: HS256\n"
    "    secret_file: admin.secret\n"
    "values:\n"
    "  - kind: jwt\n"
    "    dir: in\n"
    "    endpoint: GET /admin/audit\n"
    "    where: req.header Authorization\n"
    "    action: resign\n"
    "    key: admin\n"
    "    claims: {role: admin, level: 3, s: \"3\"}\n"
    "    format: HS256\n"
    "    seen: 1\n"
    "    why: \"a JWT\"\n"
    "  - kind: timestamp\n"
    "    dir: out\n"
    "    endpoint: \"POST /v1/entries\"\n"
    "    where: res.body $.created_at\n"
    "    action: shift\n"
    "    seen: 7\n"
    "  - kind: uuid\n"
    "    dir: out\n"
    "    endpoint: \"*\"\n"
    "    where: res.body $.idempotency_key\n"
    "    action: echo\n"
    "    from: req.body $.idempotency_key\n"
    "correlations:\n"
    "  - name: transfer-id\n"
    "    kind: any\n"
    "    from: {endpoint: POST /transfers, where: res.body $.id}\n"
    "    to:\n"
    "      - {endpoint: \"GET /transfers/{id}\", where: req.path 1}\n"
    "    seen: 5\n";

static void
test_yaml(void)
{
	struct transforms	*t, *t2;
	struct buf		 b, b2;
	char			*path, *path2, *sec, *cause = NULL;
	FILE			*f;

	sec = write_tmp("admin.secret", "s3cret-value\n");
	path = write_tmp("t.yaml", good_yaml);
	t = transforms_load(path, 1, &cause);
	if (t == NULL) {
		fprintf(stderr, "%s\n", cause);
		ASSERT(0);
		free(cause);
		free(path);
		free(sec);
		return;
	}
	ASSERT_EQ(t->nkeys, 1);
	ASSERT(t->keys[0].key != NULL);
	ASSERT_EQ(t->nvalues, 3);
	ASSERT_EQ(t->ncorrs, 1);
	ASSERT_EQ(t->start_us, 1796637600000000LL);
	ASSERT_EQ(t->end_us - t->start_us, 300500000LL);
	ASSERT_EQ(t->values[0].kind, SHAPE_JWT);
	ASSERT_EQ(t->values[0].action, TRANSFORM_RESIGN);
	ASSERT(t->values[0].key == &t->keys[0]);
	ASSERT_EQ(t->values[0].nclaims, 3);
	ASSERT_STR_EQ(t->values[0].claims[0].json, "\"admin\"");
	ASSERT_STR_EQ(t->values[0].claims[1].json, "3");
	ASSERT_STR_EQ(t->values[0].claims[2].json, "\"3\"");
	ASSERT_STR_EQ(t->values[1].method, "POST");
	ASSERT_STR_EQ(t->values[1].route, "/v1/entries");
	ASSERT_EQ(t->values[1].dir, SNAP_DIR_OUT);
	ASSERT_EQ(t->values[1].seen, 7);
	ASSERT_EQ(t->values[2].action, TRANSFORM_ECHO);
	ASSERT_EQ(t->values[2].from.part, TRANSFORM_BODY);
	ASSERT_STR_EQ(t->corrs[0].from_route, "/transfers");
	ASSERT_EQ(t->corrs[0].nto, 1);
	ASSERT_STR_EQ(t->corrs[0].to[0].route, "/transfers/{id}");
	ASSERT_EQ(t->corrs[0].to[0].where.seg, 1);

	/* Write, read back, write: the same text. */
	buf_init(&b);
	transforms_write(&b, t);
	path2 = write_tmp("t2.yaml", b.data);
	t2 = transforms_load(path2, 0, &cause);
	ASSERT(t2 != NULL);
	if (t2 != NULL) {
		buf_init(&b2);
		transforms_write(&b2, t2);
		ASSERT_STR_EQ(b2.data, b.data);
		buf_free(&b2);
		transforms_free(t2);
	} else {
		fprintf(stderr, "%s\n%s\n", cause, b.data);
		free(cause);
	}
	buf_free(&b);
	transforms_free(t);

	/* A key that cannot be read: the key's line, never the secret. */
	f = fopen(sec, "w");
	fclose(f);
	t = transforms_load(path, 1, &cause);
	ASSERT(t == NULL);
	if (cause != NULL) {
		ASSERT(strstr(cause, "t.yaml:7:5: key \"admin\"") != NULL);
		free(cause);
	}
	/* Without loading keys the file still loads. */
	t = transforms_load(path, 0, &cause);
	ASSERT(t != NULL);
	transforms_free(t);
	unlink(path2);
	unlink(sec);
	unlink(path);
	free(path);
	free(path2);
	free(sec);
}

/* A bad file: every error with its line and column. */
static void
bad_is(const char *text, const char *want)
{
	struct transforms	*t;
	char			*path, *cause = NULL;

	path = write_tmp("bad.yaml", text);
	t = transforms_load(path, 0, &cause);
	ASSERT(t == NULL);
	transforms_free(t);
	if (cause == NULL || strstr(cause, want) == NULL) {
		UNIT_FAIL("expected \"%s\" in \"%s\"", want,
		    cause != NULL ? cause : "(none)");
	}
	free(cause);
	unlink(path);
	free(path);
}

static void
test_yaml_errors(void)
{
	bad_is("", "bad.yaml:1:1: empty transforms file");
	bad_is("version: 2\n", "bad.yaml:1:10: version 2 is not known");
	bad_is("values: []\n", "bad.yaml:1:1: missing \"version: 1\"");
	bad_is("version: 1\nvalues: [\n", "bad.yaml:3:1:");
	bad_is("version: 1\nvalus: []\n",
	    "bad.yaml:2:1: unknown key \"valus\"");
	bad_is("version: 1\nvalues:\n  - kind: jwt\n    dir: in\n"
	    "    endpoint: x\n    where: req.header A\n    action: keep\n",
	    "bad.yaml:5:15: endpoint: expected \"METHOD /route\"");
	bad_is("version: 1\nvalues:\n  - kind: jwtt\n    dir: in\n"
	    "    endpoint: \"*\"\n    where: req.header A\n    action: keep\n",
	    "bad.yaml:3:11: kind: expected jwt");
	bad_is("version: 1\nvalues:\n  - kind: jwt\n    dir: in\n"
	    "    endpoint: \"*\"\n    where: req.headr A\n    action: keep\n",
	    "bad.yaml:6:12: where: unknown part \"headr\"");
	bad_is("version: 1\nvalues:\n  - kind: uuid\n    dir: in\n"
	    "    endpoint: \"*\"\n    where: req.header A\n    action: shift\n",
	    "bad.yaml:7:13: action shift: only for kind timestamp");
	bad_is("version: 1\nvalues:\n  - kind: uuid\n    dir: out\n"
	    "    endpoint: \"*\"\n    where: res.body $.a\n    action: echo\n",
	    "bad.yaml:7:13: action echo: missing \"from\"");
	bad_is("version: 1\nvalues:\n  - kind: jwt\n    dir: in\n"
	    "    endpoint: \"*\"\n    where: req.header A\n    action: resign\n"
	    "    key: nope\n", "bad.yaml:8:10: key: no key named \"nope\"");
	bad_is("version: 1\nvalues:\n  - dir: in\n",
	    "bad.yaml:3:5: values entry: missing \"kind\"");
	bad_is("version: 1\nkeys:\n  - name: k\n",
	    "bad.yaml:3:5: key \"k\": give exactly one of");
	bad_is("version: 1\ncorrelations:\n  - name: c\n    from: {endpoint: "
	    "GET /a, where: req.path 0}\n",
	    "bad.yaml:4:37: from: where must be a response (res.) location");
	bad_is("version: 1\nrecording: {start: yesterday}\n",
	    "bad.yaml:2:20: recording: start: expected an RFC 3339 time");
}

/* JSON path members as the analyzer writes them, read back. */
static void
test_jpath_member(void)
{
	struct transform_loc	 l;
	struct buf		 b;
	char			*cause = NULL;

	buf_init(&b);
	buf_append_str(&b, "res.body $");
	transform_jpath_member(&b, "a", 1);
	transform_jpath_member(&b, "odd key", 7);
	transform_jpath_member(&b, "1x", 2);
	transform_jpath_member(&b, "_b9", 3);
	transform_jpath_member(&b, "", 0);
	buf_append_byte(&b, '\0');
	ASSERT_STR_EQ(b.data, "res.body $.a[\"odd key\"][\"1x\"]._b9[\"\"]");
	ASSERT_EQ(transform_loc_parse(b.data, &l, &cause), 0);
	transform_loc_free(&l);
	buf_free(&b);
}


/* --- gRPC locations (transform-grpc.c) --- */

static void
test_grpc_path(void)
{
	static const char *good[][2] = {
		{ "1", "1" },
		{ "2.1", "2.1" },
		{ "[0].3[*].1", "[0].3[*].1" },
		{ "[*].4[1]", "4[1]" },
		{ "[2]1", "[2].1" },
		{ "536870911", "536870911" },
		{ "a.b_2[*]", "a.b_2[*]" },
	};
	static const char *bad[] = {
		"", "0", "1..2", "1.", "[x].1", "1[", "1[-1]", "a b",
		"536870912", "01", "[0]", "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17",
	};
	struct transform_grpc_path	 gp;
	struct transform_loc		 l, l2;
	struct buf			 b;
	char				*cause = NULL;
	size_t				 i;

	buf_init(&b);
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		ASSERT_EQ(transform_grpc_path_parse(good[i][0], &gp, &cause),
		    0);
		buf_reset(&b);
		transform_grpc_path_format(&b, &gp);
		ASSERT_STR_EQ(b.data, good[i][1]);
	}
	ASSERT_EQ(transform_grpc_path_parse("[1].3[*].2.5[4]", &gp, &cause), 0);
	ASSERT_EQ(gp.msg, 1);
	ASSERT_EQ(gp.nseg, 3);
	ASSERT_EQ(gp.seg[0].num, 3);
	ASSERT_EQ(gp.seg[0].index, TRANSFORM_GRPC_EVERY);
	ASSERT_EQ(gp.seg[1].index, TRANSFORM_GRPC_FIRST);
	ASSERT_EQ(gp.seg[2].num, 5);
	ASSERT_EQ(gp.seg[2].index, 4);
	ASSERT_EQ(transform_grpc_path_parse("user.id", &gp, &cause), 0);
	ASSERT_EQ(gp.seg[0].num, 0);
	ASSERT_EQ(gp.seg[0].name_len, 4);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		ASSERT_EQ(transform_grpc_path_parse(bad[i], &gp, &cause), -1);
		ASSERT(cause != NULL);
		free(cause);
	}

	/* As locations: numbers round-trip, names need a descriptor. */
	ASSERT_EQ(transform_loc_parse("req.grpc [0].2.1", &l, &cause), 0);
	ASSERT_EQ(l.part, TRANSFORM_GRPC);
	ASSERT_EQ(l.res, 0);
	buf_reset(&b);
	transform_loc_format(&b, &l);
	ASSERT_STR_EQ(b.data, "req.grpc [0].2.1");
	ASSERT_EQ(transform_loc_parse(b.data, &l2, &cause), 0);
	ASSERT(transform_loc_eq(&l, &l2));
	transform_loc_free(&l);
	transform_loc_free(&l2);
	ASSERT_EQ(transform_loc_parse("res.grpc 1", &l, &cause), 0);
	ASSERT_EQ(l.res, 1);
	transform_loc_free(&l);
	cause = NULL;
	/* Names parse; transform_loc_resolve() makes them numbers. */
	ASSERT_EQ(transform_loc_parse("req.grpc user.id", &l, &cause), 0);
	transform_loc_free(&l);
	ASSERT_EQ(transform_loc_parse("req.grpc", &l, &cause), -1);
	ASSERT(cause != NULL && strstr(cause, "field path") != NULL);
	free(cause);
	cause = NULL;
	ASSERT_EQ(transform_loc_parse("req.grpc 1.x-y", &l, &cause), -1);
	free(cause);
	buf_free(&b);
}

/*
 * One request message: 1 "req-000N", 2 {1 1700000000+N, 2 "abc"},
 * 3 {1 "x"}, 3 {1 "yy"}, 4 fixed64 5, 5 fixed32 7, 6 varint 150.
 */
static void
grpc_msg(struct buf *body, int n)
{
	struct buf	m, sub;
	char		id[16];

	buf_init(&m);
	buf_init(&sub);
	snprintf(id, sizeof id, "req-%04d", n);
	pb_put_key(&m, 1, PB_LEN);
	pb_put_varint(&m, strlen(id));
	buf_append_str(&m, id);
	pb_put_key(&sub, 1, PB_VARINT);
	pb_put_varint(&sub, 1700000000u + (unsigned)n);
	pb_put_key(&sub, 2, PB_LEN);
	pb_put_varint(&sub, 3);
	buf_append_str(&sub, "abc");
	pb_put_key(&m, 2, PB_LEN);
	pb_put_varint(&m, sub.len);
	buf_append(&m, sub.data, sub.len);
	buf_append(&m, "\x1a\x03\x0a\x01x", 5);
	buf_append(&m, "\x1a\x04\x0a\x02yy", 6);
	buf_append(&m, "\x21\x05\0\0\0\0\0\0\0", 9);
	buf_append(&m, "\x2d\x07\0\0\0", 5);
	buf_append(&m, "\x30\x96\x01", 3);
	grpc_put_msg(body, 0, m.data, m.len);
	buf_free(&m);
	buf_free(&sub);
}

/* The values at loc in body, joined with '|'. */
static void
grpc_values(struct buf *out, const char *path, struct span body)
{
	struct transform_grpc_path	gp;
	struct transform_hit		hits[16];
	struct transform_msg		m;
	char				*cause = NULL;
	size_t				i, n;

	buf_reset(out);
	memset(&m, 0, sizeof m);
	m.body = body;
	if (transform_grpc_path_parse(path, &gp, &cause) == -1) {
		free(cause);
		buf_append_str(out, "(bad path)");
		return;
	}
	n = transform_grpc_locate(&gp, body, hits, 16);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_append_byte(out, '|');
		transform_hit_value(out, &m, &hits[i]);
	}
	buf_append_byte(out, '\0');
	out->len--;
}

/* The view of message n of a gRPC body. */
static void
grpc_view(struct buf *out, struct span body, int n)
{
	struct grpc_msg	 m;
	const char	*why;
	size_t		 off = 0;
	int		 i = 0;

	buf_reset(out);
	while (grpc_next_msg((const uint8_t *)body.p, body.len, &off, &m,
	    &why) == 1)
		if (i++ == n) {
			if (pb_view(out, m.p, m.len) == -1)
				buf_append_str(out, "(not a message)");
			break;
		}
	buf_append_byte(out, '\0');
	out->len--;
}

static void
test_grpc_locate(void)
{
	static const char *cases[][2] = {
		{ "1", "req-0001|req-0002" },
		{ "[1].1", "req-0002" },
		{ "[*].1", "req-0001|req-0002" },
		{ "[0].2.1", "1700000001" },
		{ "2.2", "abc|abc" },
		{ "[0].3.1", "x" },
		{ "[0].3[1].1", "yy" },
		{ "[0].3[*].1", "x|yy" },
		{ "3[*].1", "x|yy|x|yy" },
		{ "[0].4", "5" },
		{ "[0].5", "7" },
		{ "[0].6", "150" },
		{ "[0].3[2].1", "" },
		{ "9", "" },
		{ "[5].1", "" },
		{ "1.1", "" },		/* text is not a message */
		{ "6.1", "" },		/* a varint has no fields */
	};
	struct buf	body, out;
	size_t		i;

	buf_init(&body);
	buf_init(&out);
	grpc_msg(&body, 1);
	grpc_msg(&body, 2);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		grpc_values(&out, cases[i][0], (struct span){ body.data,
		    body.len });
		ASSERT_STR_EQ(out.data, cases[i][1]);
	}
	/* Every truncation: the locator never reads past the body. */
	for (i = 0; i < body.len; i++) {
		char *cut = xmalloc(i + 1);

		memcpy(cut, body.data, i);
		grpc_values(&out, "3[*].1", (struct span){ cut, i });
		free(cut);
	}
	/* A compressed message is skipped. */
	body.data[0] = 1;
	grpc_values(&out, "1", (struct span){ body.data, body.len });
	ASSERT_STR_EQ(out.data, "req-0002");
	buf_free(&body);
	buf_free(&out);
}

static void
test_grpc_render(void)
{
	struct transform_grpc_path	 gp;
	struct transform_hit		 hits[8];
	struct transform_edits		 e;
	struct transform_msg		 m;
	struct buf			 body, out, view, one;
	char				*cause = NULL;
	size_t				 m0len;

	buf_init(&body);
	buf_init(&out);
	buf_init(&view);
	buf_init(&one);
	grpc_msg(&body, 1);
	m0len = body.len;
	grpc_msg(&body, 2);
	memset(&m, 0, sizeof m);
	m.body = (struct span){ body.data, body.len };
	transform_edits_init(&e);

	/* No edit: the body byte for byte. */
	ASSERT_EQ(transform_edits_render(&out, &e, &m, TRANSFORM_IN_BODY, 0),
	    0);
	ASSERT_EQ(out.len, body.len);
	ASSERT(memcmp(out.data, body.data, body.len) == 0);

	/* Longer string, bigger varint (nested), a repeated one, a
	 * fixed64: message 0 only. */
	ASSERT_EQ(transform_grpc_path_parse("[0].1", &gp, &cause), 0);
	ASSERT_EQ(transform_grpc_locate(&gp, m.body, hits, 8), 1);
	transform_edits_add(&e, &hits[0], "request-0000000001", 18);
	ASSERT_EQ(transform_grpc_path_parse("[0].2.1", &gp, &cause), 0);
	ASSERT_EQ(transform_grpc_locate(&gp, m.body, hits, 8), 1);
	ASSERT_EQ(hits[0].enc, TRANSFORM_ENC_PB_VARINT);
	transform_edits_add(&e, &hits[0], "1800000000000", 13);
	ASSERT_EQ(transform_grpc_path_parse("[0].3[1].1", &gp, &cause), 0);
	ASSERT_EQ(transform_grpc_locate(&gp, m.body, hits, 8), 1);
	transform_edits_add(&e, &hits[0], "", 0);
	ASSERT_EQ(transform_grpc_path_parse("[0].4", &gp, &cause), 0);
	ASSERT_EQ(transform_grpc_locate(&gp, m.body, hits, 8), 1);
	transform_edits_add(&e, &hits[0], "-2", 2);
	buf_reset(&out);
	ASSERT_EQ(transform_edits_render(&out, &e, &m, TRANSFORM_IN_BODY, 0),
	    1);
	grpc_view(&view, (struct span){ out.data, out.len }, 0);
	ASSERT_STR_EQ(view.data, "[[1,\"request-0000000001\"],"
	    "[2,[[1,1800000000000],[2,\"abc\"]]],[3,[[1,\"x\"]]],"
	    "[3,[[1,\"\"]]],[4,{\"i64\":18446744073709551614}],"
	    "[5,{\"i32\":7,\"float\":9.80908925e-45}],[6,150]]");
	/* Message 1 is copied as it was. */
	ASSERT(out.len > body.len);
	ASSERT(memcmp(out.data + out.len - (body.len - m0len),
	    body.data + m0len, body.len - m0len) == 0);
	/* Read back through the locator. */
	grpc_values(&one, "2.1", (struct span){ out.data, out.len });
	ASSERT_STR_EQ(one.data, "1800000000000|1700000002");
	grpc_values(&one, "[0].3[*].1", (struct span){ out.data, out.len });
	ASSERT_STR_EQ(one.data, "x|");

	/* A word where a number was: a length-delimited field; a
	 * shorter value shrinks the lengths. */
	transform_edits_reset(&e);
	ASSERT_EQ(transform_grpc_path_parse("2.1", &gp, &cause), 0);
	ASSERT_EQ(transform_grpc_locate(&gp, m.body, hits, 8), 2);
	transform_edits_add(&e, &hits[1], "\x01timestamp", 10);
	ASSERT_EQ(transform_grpc_path_parse("[1].1", &gp, &cause), 0);
	ASSERT_EQ(transform_grpc_locate(&gp, m.body, hits, 8), 1);
	transform_edits_add(&e, &hits[0], "r", 1);
	buf_reset(&out);
	ASSERT_EQ(transform_edits_render(&out, &e, &m, TRANSFORM_IN_BODY, 0),
	    1);
	ASSERT(memcmp(out.data, body.data, m0len) == 0);
	grpc_view(&view, (struct span){ out.data, out.len }, 1);
	ASSERT_STR_EQ(view.data, "[[1,\"r\"],[2,[[1,\"\\u0001timestamp\"],"
	    "[2,\"abc\"]]],[3,[[1,\"x\"]]],[3,[[1,\"yy\"]]],"
	    "[4,{\"i64\":5,\"double\":2.4703282292062327e-323}],"
	    "[5,{\"i32\":7,\"float\":9.80908925e-45}],[6,150]]");

	/* A body that stops framing keeps its tail. */
	transform_edits_reset(&e);
	ASSERT_EQ(transform_grpc_path_parse("[0].1", &gp, &cause), 0);
	ASSERT_EQ(transform_grpc_locate(&gp, m.body, hits, 8), 1);
	transform_edits_add(&e, &hits[0], "q", 1);
	m.body.len = body.len - 3;
	buf_reset(&out);
	ASSERT_EQ(transform_edits_render(&out, &e, &m, TRANSFORM_IN_BODY, 0),
	    1);
	ASSERT_EQ(out.len, body.len - 3 - 7);
	ASSERT(memcmp(out.data + out.len - (body.len - 3 - m0len),
	    body.data + m0len, body.len - 3 - m0len) == 0);

	transform_edits_free(&e);
	buf_free(&body);
	buf_free(&out);
	buf_free(&view);
	buf_free(&one);
}


/*
 * Every byte of a two-message body set to each of a few values: the
 * locator finds what it finds within the bytes, and an edit at each hit
 * renders a body that still frames when the mutated one did (ASan
 * watches the reads).
 */
static void
test_grpc_mutations(void)
{
	static const char	*paths[] = { "1", "2.1", "3[*].1", "[1].6" };
	static const uint8_t	 vals[] = { 0x00, 0x01, 0x02, 0x08, 0x0a,
				    0x7f, 0x80, 0xff };
	struct transform_grpc_path gp;
	struct transform_hit	 hits[16];
	struct transform_edits	 e;
	struct transform_msg	 m;
	struct grpc_msg		 gm;
	struct buf		 body, out;
	const char		*why;
	char			*cause = NULL, *cp;
	size_t			 i, v, p, k, n, off;
	int			 framed, bad = 0;

	buf_init(&body);
	buf_init(&out);
	grpc_msg(&body, 1);
	grpc_msg(&body, 2);
	cp = xmalloc(body.len);
	for (i = 0; i < body.len; i++)
		for (v = 0; v < sizeof vals; v++) {
			memcpy(cp, body.data, body.len);
			cp[i] = (char)vals[v];
			memset(&m, 0, sizeof m);
			m.body = (struct span){ cp, body.len };
			off = 0;
			while ((framed = grpc_next_msg((const uint8_t *)cp,
			    body.len, &off, &gm, &why)) == 1)
				;
			transform_edits_init(&e);
			for (p = 0; p < sizeof paths / sizeof paths[0]; p++) {
				if (transform_grpc_path_parse(paths[p], &gp,
				    &cause) == -1) {
					free(cause);
					continue;
				}
				n = transform_grpc_locate(&gp, m.body, hits, 16);
				for (k = 0; k < n; k++)
					transform_edits_add(&e, &hits[k],
					    "a-longer-value-1234567890", 25);
			}
			buf_reset(&out);
			transform_edits_render(&out, &e, &m, TRANSFORM_IN_BODY,
			    0);
			transform_edits_free(&e);
			if (framed != 0)
				continue;	/* the input did not frame */
			off = 0;
			while ((framed = grpc_next_msg((const uint8_t *)
			    out.data, out.len, &off, &gm, &why)) == 1)
				;
			if (framed != 0)
				bad++;
		}
	ASSERT_EQ(bad, 0);
	free(cp);
	buf_free(&body);
	buf_free(&out);
}


/* A location with field names, resolved with set against route. */
static void
resolve_is(const struct protodesc *set, const char *route, const char *loc,
    const char *want)
{
	struct transform_loc	 l;
	struct buf		 b;
	char			*cause = NULL;

	buf_init(&b);
	if (transform_loc_parse(loc, &l, &cause) == -1) {
		UNIT_FAIL("%s: %s", loc, cause);
		free(cause);
		return;
	}
	if (transform_loc_resolve(&l, set, route, &cause) == -1)
		buf_printf(&b, "error: %s", cause);
	else
		transform_loc_format(&b, &l);
	if (strstr(b.data, want) == NULL)
		UNIT_FAIL("%s: expected \"%s\" in \"%s\"", loc, want, b.data);
	unit_checks++;
	free(cause);
	transform_loc_free(&l);
	buf_free(&b);
}

/*
 * Field names with a descriptor set (tests/proto/set.pb, shop.proto):
 * resolved to numbers by the request or response type of the entry's
 * method, indexes kept; without the set, on a route that is no method,
 * or for a name the type lacks, an error at the entry's line.
 */
static void
test_grpc_names(void)
{
	static const char yaml[] =
	    "version: 1\n"
	    "values:\n"
	    "  - kind: hex\n"
	    "    dir: out\n"
	    "    endpoint: \"POST /shop.Users/Get\"\n"
	    "    where: \"req.grpc session.token\"\n"
	    "    action: any\n"
	    "correlations:\n"
	    "  - name: s\n"
	    "    kind: any\n"
	    "    from:\n"
	    "      endpoint: \"POST /shop.Users/Get\"\n"
	    "      where: \"res.grpc history[*].token\"\n"
	    "    to:\n"
	    "      - endpoint: \"POST /shop.Users/Watch\"\n"
	    "        where: \"req.grpc [0].session.token\"\n";
	struct protodesc	*set;
	struct transforms	*t;
	const char		*srcdir;
	char			*path, *cause = NULL;

	if ((srcdir = getenv("srcdir")) == NULL || *srcdir == '\0')
		srcdir = ".";
	path = xasprintf("%s/tests/proto/set.pb", srcdir);
	set = protodesc_load(path, &cause);
	free(path);
	if (set == NULL) {
		UNIT_FAIL("%s", cause);
		free(cause);
		return;
	}
	resolve_is(set, "/shop.Users/Get", "req.grpc session.token",
	    "req.grpc 2.1");
	resolve_is(set, "/shop.Users/Get", "res.grpc history[*].expires",
	    "res.grpc 18[*].2");
	resolve_is(set, "/shop.Users/Get", "req.grpc [0].session.2",
	    "req.grpc [0].2.2");
	resolve_is(set, "/shop.Users/Get", "res.grpc sessionId",
	    "res.grpc 19");
	resolve_is(set, "/shop.Users/Get", "req.grpc 2.1", "req.grpc 2.1");
	resolve_is(NULL, "/shop.Users/Get", "req.grpc 2.1", "req.grpc 2.1");
	resolve_is(NULL, "/shop.Users/Get", "req.grpc session.token",
	    "--proto-set");
	resolve_is(set, "*", "req.grpc session.token", "one method");
	resolve_is(set, "/shop.Users/Nope", "req.grpc session.token",
	    "error: ");
	resolve_is(set, "/shop.Users/Get", "req.grpc sesion.token",
	    "error: ");

	/* The loader resolves with the codec's set. */
	path = write_tmp("names.yaml", yaml);
	snap_set_protodesc(set);
	t = transforms_load(path, 0, &cause);
	ASSERT(t != NULL);
	if (t != NULL && t->nvalues == 1 && t->ncorrs == 1 &&
	    t->corrs[0].nto == 1) {
		ASSERT_STR_EQ(t->values[0].where.name, "2.1");
		ASSERT_STR_EQ(t->corrs[0].from.name, "18[*].1");
		ASSERT_STR_EQ(t->corrs[0].to[0].where.name, "[0].2.1");
	} else
		UNIT_FAIL("names.yaml: %s", cause != NULL ? cause : "shape");
	transforms_free(t);
	free(cause);
	cause = NULL;
	snap_set_protodesc(NULL);
	t = transforms_load(path, 0, &cause);
	ASSERT(t == NULL);
	ASSERT(cause != NULL && strstr(cause, "names.yaml:6:12: where: "
	    "gRPC field names") != NULL && strstr(cause, "names.yaml:13:") !=
	    NULL);
	free(cause);
	unlink(path);
	free(path);
	protodesc_free(set);
}

int
main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-transform.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	test_loc();
	test_route();
	test_locate();
	test_edits();
	test_yaml();
	test_yaml_errors();
	test_jpath_member();
	test_grpc_path();
	test_grpc_locate();
	test_grpc_render();
	test_grpc_mutations();
	test_grpc_names();
	rmdir(tmpdir);
	UNIT_DONE();
}
