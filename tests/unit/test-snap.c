/*
 * test-snap.c -- the snapshot codec: canonical round trips, bodies (text,
 * binary, NUL), unknown members kept verbatim, every decode error with its
 * column, the streaming reader and the appending writer, and the output
 * every writer shares: mode 0600, a torn tail mended on append, a write
 * that fails part-way cut back to its last whole line.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "snap.h"
#include "snap-ids.h"
#include "unit.h"
#include "xmalloc.h"

static const char canonical[] =
    "{\"v\":1,\"id\":\"t-000042\",\"ts\":\"2026-11-26T05:01:02.123456Z\","
    "\"dir\":\"out\",\"svc\":\"payments\",\"proto\":\"http/1.1\",\"tls\":true,"
    "\"client\":\"10.1.2.3:41234\",\"server\":\"api.payments.example:443\","
    "\"req\":{\"method\":\"POST\",\"target\":\"/v1/charges?expand=customer\","
    "\"host\":\"api.payments.example\",\"headers\":[[\"Content-Type\","
    "\"application/json\"],[\"Authorization\",\"Bearer eyJ...\"]],"
    "\"body\":\"{\\\"amount\\\":1200}\"},"
    "\"res\":{\"status\":201,\"reason\":\"Created\",\"headers\":"
    "[[\"Content-Type\",\"application/json\"]],\"body_b64\":\"AAEC/w==\"},"
    "\"timing\":{\"start_us\":1764133262123456,\"ttfb_us\":8123,"
    "\"total_us\":9140},"
    "\"tags\":{\"session\":\"u-17\",\"n\":9007199254740993,\"f\":1.5e300},"
    "\"zz\":[null,true,\"\\ud83d\\ude00\"]}\n";

static int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
mem_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static int
headers_eq(const struct snap_header *a, size_t na,
    const struct snap_header *b, size_t nb)
{
	size_t	i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++) {
		if (!str_eq(a[i].name, b[i].name) ||
		    !str_eq(a[i].value, b[i].value))
			return 0;
	}
	return 1;
}

static int
txn_eq(const struct snap_txn *a, const struct snap_txn *b)
{
	return a->v == b->v && str_eq(a->id, b->id) && str_eq(a->ts, b->ts) &&
	    a->dir == b->dir && str_eq(a->svc, b->svc) &&
	    str_eq(a->proto, b->proto) && a->tls == b->tls &&
	    str_eq(a->client, b->client) && str_eq(a->server, b->server) &&
	    str_eq(a->req.method, b->req.method) &&
	    str_eq(a->req.target, b->req.target) &&
	    str_eq(a->req.host, b->req.host) &&
	    headers_eq(a->req.headers, a->req.nheaders, b->req.headers,
	    b->req.nheaders) &&
	    mem_eq(a->req.body, a->req.body_len, b->req.body,
	    b->req.body_len) &&
	    headers_eq(a->req.trailers, a->req.ntrailers, b->req.trailers,
	    b->req.ntrailers) &&
	    a->has_res == b->has_res &&
	    (!a->has_res || (a->res.status == b->res.status &&
	    str_eq(a->res.reason, b->res.reason) &&
	    headers_eq(a->res.headers, a->res.nheaders, b->res.headers,
	    b->res.nheaders) &&
	    mem_eq(a->res.body, a->res.body_len, b->res.body,
	    b->res.body_len) &&
	    headers_eq(a->res.trailers, a->res.ntrailers, b->res.trailers,
	    b->res.ntrailers))) &&
	    a->start_us == b->start_us && a->ttfb_us == b->ttfb_us &&
	    a->total_us == b->total_us && str_eq(a->extra, b->extra);
}

/* Decodes s (one line, newline excluded) and expects success. */
static int
decode(const char *s, struct snap_txn *t)
{
	char	*cause = NULL;
	size_t	 len = strlen(s);

	if (len > 0 && s[len - 1] == '\n')
		len--;
	if (snap_decode_line(s, len, t, &cause) == -1) {
		fprintf(stderr, "unexpected error: %s\n", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* Expects s to fail with exactly the message want. */
#define DECODE_ERR(s, want) do {					\
	struct snap_txn t_;						\
	char *c_ = NULL;						\
	ASSERT_EQ(snap_decode_line((s), strlen(s), &t_, &c_), -1);	\
	ASSERT_STR_EQ(c_, (want));					\
	free(c_);							\
} while (0)

static void
test_canonical(void)
{
	struct snap_txn	t, t2;
	struct buf	b;

	buf_init(&b);
	ASSERT_EQ(decode(canonical, &t), 0);
	ASSERT_STR_EQ(t.id, "t-000042");
	ASSERT_EQ(t.dir, SNAP_DIR_OUT);
	ASSERT_EQ(t.tls, 1);
	ASSERT_STR_EQ(t.req.method, "POST");
	ASSERT_STR_EQ(t.req.host, "api.payments.example");
	ASSERT_EQ(t.req.nheaders, 2);
	ASSERT_STR_EQ(t.req.headers[1].name, "Authorization");
	ASSERT_MEM_EQ(t.req.body, t.req.body_len, "{\"amount\":1200}");
	ASSERT_EQ(t.has_res, 1);
	ASSERT_EQ(t.res.status, 201);
	ASSERT_EQ(t.res.body_len, 4);
	ASSERT(memcmp(t.res.body, "\x00\x01\x02\xff", 4) == 0);
	ASSERT(t.start_us == 1764133262123456LL);
	ASSERT_EQ(t.ttfb_us, 8123);
	ASSERT_EQ(t.total_us, 9140);
	ASSERT_STR_EQ(t.extra, ",\"tags\":{\"session\":\"u-17\","
	    "\"n\":9007199254740993,\"f\":1.5e300},"
	    "\"zz\":[null,true,\"\\ud83d\\ude00\"]");
	ASSERT_EQ(t.line, 0);

	/* encode(decode(line)) == line, big integers and all. */
	snap_encode(&b, &t);
	ASSERT_STR_EQ(b.data, canonical);

	/* decode(encode(t)) == t */
	ASSERT_EQ(decode(b.data, &t2), 0);
	ASSERT(txn_eq(&t, &t2));
	snap_txn_free(&t2);
	snap_txn_free(&t);
	/* Freeing twice is harmless: free leaves an initialised txn. */
	snap_txn_free(&t);
	buf_free(&b);
}

static void
test_minimal(void)
{
	struct snap_txn	t;
	struct buf	b;
	const char	*line = "{\"v\":1,\"dir\":\"in\",\"req\":{\"method\":"
			    "\"GET\",\"target\":\"/\"}}\n";

	buf_init(&b);
	ASSERT_EQ(decode(line, &t), 0);
	ASSERT_EQ(t.dir, SNAP_DIR_IN);
	ASSERT(t.id == NULL && t.proto == NULL && t.req.host == NULL);
	ASSERT(t.req.body == NULL && t.req.body_len == 0);
	ASSERT_EQ(t.has_res, 0);
	ASSERT_EQ(t.start_us, -1);
	ASSERT_EQ(t.total_us, -1);
	ASSERT(t.extra == NULL);
	snap_encode(&b, &t);
	ASSERT_STR_EQ(b.data, line);
	snap_txn_free(&t);

	/* Whitespace, any member order, tls false, empty body: accepted and
	 * rewritten canonically. */
	ASSERT_EQ(decode(" { \"req\" : { \"target\":\"/x\", \"body\":\"\", "
	    "\"method\":\"GET\", \"headers\":[] } , \"tls\":false, "
	    "\"timing\":{\"total_us\":0}, \"dir\":\"out\", \"v\":1 }\r", &t), 0);
	buf_reset(&b);
	snap_encode(&b, &t);
	ASSERT_STR_EQ(b.data, "{\"v\":1,\"dir\":\"out\",\"req\":{\"method\":"
	    "\"GET\",\"target\":\"/x\"},\"timing\":{\"total_us\":0}}\n");
	snap_txn_free(&t);

	ASSERT_STR_EQ(snap_dir_name(SNAP_DIR_IN), "in");
	ASSERT_STR_EQ(snap_dir_name(SNAP_DIR_OUT), "out");
	buf_free(&b);
}

static void
test_bodies(void)
{
	struct snap_txn	t, t2;
	struct buf	b;
	char		bin[256];
	size_t		i;

	buf_init(&b);
	for (i = 0; i < sizeof bin; i++)
		bin[i] = (char)i;

	/* Built, not read: every body shape goes out and comes back. */
	snap_txn_init(&t);
	t.dir = SNAP_DIR_IN;
	t.req.method = xstrdup("PUT");
	t.req.target = xstrdup("/b");
	t.req.body = xmalloc(sizeof bin + 1);
	memcpy(t.req.body, bin, sizeof bin);
	t.req.body[sizeof bin] = '\0';
	t.req.body_len = sizeof bin;
	t.has_res = 1;
	t.res.status = 200;
	t.res.body = xmalloc(4);
	memcpy(t.res.body, "a\0b", 4);
	t.res.body_len = 3;
	snap_encode(&b, &t);
	ASSERT(strstr(b.data, "\"req\":{\"method\":\"PUT\",\"target\":\"/b\","
	    "\"body_b64\":\"AAECAwQF") != NULL);
	ASSERT(strstr(b.data, "\"res\":{\"status\":200,\"body_b64\":\"YQBi\"}")
	    != NULL);
	ASSERT_EQ(decode(b.data, &t2), 0);
	ASSERT(txn_eq(&t, &t2));
	ASSERT_EQ(t2.req.body[t2.req.body_len], '\0');
	snap_txn_free(&t2);

	/* Invalid UTF-8 (an overlong) goes to base64 too. */
	free(t.res.body);
	t.res.body = xstrdup("\xc0\xaf");
	t.res.body_len = 2;
	buf_reset(&b);
	snap_encode(&b, &t);
	ASSERT(strstr(b.data, "\"body_b64\":\"wK8=\"") != NULL);

	/* Text with control characters and non-ASCII stays "body". */
	free(t.res.body);
	t.res.body = xstrdup("line\n\ttab \"q\" \\ \xc3\xa9 \x01");
	t.res.body_len = strlen(t.res.body);
	buf_reset(&b);
	snap_encode(&b, &t);
	ASSERT(strstr(b.data, "\"body\":\"line\\n\\ttab \\\"q\\\" \\\\ "
	    "\xc3\xa9 \\u0001\"") != NULL);
	ASSERT_EQ(decode(b.data, &t2), 0);
	ASSERT(txn_eq(&t, &t2));
	snap_txn_free(&t2);
	snap_txn_free(&t);

	/* A "body" may hold NUL and escapes; re-encoded as base64. */
	ASSERT_EQ(decode("{\"v\":1,\"dir\":\"out\",\"req\":{\"method\":\"GET\","
	    "\"target\":\"/\",\"body\":\"a\\u0000\\ud83d\\ude00\\/\"}}", &t), 0);
	ASSERT_EQ(t.req.body_len, 7);
	ASSERT(memcmp(t.req.body, "a\0\xf0\x9f\x98\x80/", 7) == 0);
	buf_reset(&b);
	snap_encode(&b, &t);
	ASSERT(strstr(b.data, "\"body_b64\":\"YQDwn5iALw==\"") != NULL);
	snap_txn_free(&t);

	/* Empty base64 body is an absent body. */
	ASSERT_EQ(decode("{\"v\":1,\"dir\":\"out\",\"req\":{\"method\":\"GET\","
	    "\"target\":\"/\",\"body_b64\":\"\"}}", &t), 0);
	ASSERT(t.req.body == NULL && t.req.body_len == 0);
	snap_txn_free(&t);
	buf_free(&b);
}

static void
test_utf8(void)
{
	ASSERT(utf8_is_valid("", 0));
	ASSERT(utf8_is_valid("plain ascii text, long enough", 29));
	ASSERT(utf8_is_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
	ASSERT(utf8_is_valid("\xef\xbf\xbf\xf4\x8f\xbf\xbf", 7));
	ASSERT(!utf8_is_valid("\xc0\x80", 2));		/* overlong NUL */
	ASSERT(!utf8_is_valid("\xe0\x80\xaf", 3));	/* overlong */
	ASSERT(!utf8_is_valid("\xf0\x80\x80\xaf", 4));	/* overlong */
	ASSERT(!utf8_is_valid("\xed\xa0\x80", 3));	/* U+D800 */
	ASSERT(!utf8_is_valid("\xed\xbf\xbf", 3));	/* U+DFFF */
	ASSERT(!utf8_is_valid("\xf4\x90\x80\x80", 4));	/* U+110000 */
	ASSERT(!utf8_is_valid("\xf5\x80\x80\x80", 4));
	ASSERT(!utf8_is_valid("abcdefgh\x80", 9));
	ASSERT(!utf8_is_valid("\xe2\x82", 2));		/* truncated */
	ASSERT(!utf8_is_valid("\xff", 1));
}

static void
test_errors(void)
{
#define PFX "{\"v\":1,\"dir\":\"out\","
#define REQ "\"req\":{\"method\":\"GET\",\"target\":\"/\"}"
	DECODE_ERR("", "column 1: a transaction must be a JSON object");
	DECODE_ERR("[1]", "column 1: a transaction must be a JSON object");
	DECODE_ERR("{\"v\":1", "column 7: unexpected end of line, expected "
	    "',' or '}'");
	DECODE_ERR(PFX REQ "} x", "column 57: unexpected 'x', expected the "
	    "end of the line");
	DECODE_ERR("{\"dir\":\"out\"," REQ "}",
	    "column 1: no \"v\" (format version)");
	DECODE_ERR("{\"v\":1," REQ "}", "column 1: no \"dir\"");
	DECODE_ERR("{\"v\":1,\"dir\":\"out\"}", "column 1: no \"req\"");
	DECODE_ERR("{\"v\":2,\"dir\":\"sideways\"}", "column 6: snapshot "
	    "format version 2 is newer than this decoy reads (1)");
	DECODE_ERR("{\"v\":0}", "column 6: \"v\" must be 1");
	DECODE_ERR("{\"v\":\"1\"}", "column 6: \"v\" must be an integer");
	DECODE_ERR("{\"v\":1.0}", "column 6: \"v\" must be an integer");
	DECODE_ERR("{\"v\":99999999999999999999}",
	    "column 6: \"v\" is out of range");
	DECODE_ERR("{\"v\":1,\"v\":1}", "column 8: duplicate member \"v\"");
	DECODE_ERR("{\"v\":1,\"dir\":\"up\"}",
	    "column 14: \"dir\" must be \"in\" or \"out\"");
	DECODE_ERR("{\"v\":1,\"id\":7}", "column 13: \"id\" must be a string");
	DECODE_ERR("{\"v\":1,\"id\":\"a\\u0000b\"}",
	    "column 13: \"id\" contains a NUL character");
	DECODE_ERR("{\"v\":1,\"tls\":1}",
	    "column 14: \"tls\" must be true or false");
	DECODE_ERR(PFX "\"req\":[]}", "column 26: \"req\" must be an object");
	DECODE_ERR(PFX "\"req\":{\"target\":\"/\"}}",
	    "column 26: \"req\" has no \"method\"");
	DECODE_ERR(PFX "\"req\":{\"method\":\"GET\"}}",
	    "column 26: \"req\" has no \"target\"");
	DECODE_ERR(PFX "\"req\":{\"method\":\"\",\"target\":\"/\"}}",
	    "column 36: \"method\" must not be empty");
	DECODE_ERR(PFX "\"req\":{\"method\":\"GET\",\"target\":\"/\","
	    "\"headers\":{}}}", "column 65: \"headers\" must be an array of "
	    "[name, value] pairs");
	DECODE_ERR(PFX "\"req\":{\"method\":\"GET\",\"target\":\"/\","
	    "\"headers\":[[\"a\"]]}}",
	    "column 66: a header must be a [name, value] pair");
	DECODE_ERR(PFX "\"req\":{\"method\":\"GET\",\"target\":\"/\","
	    "\"headers\":[[\"a\",\"b\",\"c\"]]}}",
	    "column 66: a header must be a [name, value] pair");
	DECODE_ERR(PFX "\"req\":{\"method\":\"GET\",\"target\":\"/\","
	    "\"headers\":[\"a\"]}}",
	    "column 66: a header must be a [name, value] pair");
	DECODE_ERR(PFX "\"req\":{\"method\":\"GET\",\"target\":\"/\","
	    "\"headers\":[[\"a\",1]]}}",
	    "column 71: \"header value\" must be a string");
	DECODE_ERR(PFX "\"req\":{\"method\":\"GET\",\"target\":\"/\","
	    "\"headers\":[[\"a\",\"\\u0000\"]]}}",
	    "column 71: \"header value\" contains a NUL character");
	DECODE_ERR(PFX "\"req\":{\"method\":\"GET\",\"target\":\"/\","
	    "\"body\":\"x\",\"body_b64\":\"eA==\"}}",
	    "column 66: both \"body\" and \"body_b64\" in \"req\"");
	DECODE_ERR(PFX "\"req\":{\"method\":\"GET\",\"target\":\"/\","
	    "\"body\":1}}", "column 62: \"body\" must be a string");
	DECODE_ERR(PFX "\"req\":{\"method\":\"GET\",\"target\":\"/\","
	    "\"body_b64\":\"eA=!\"}}", "column 69: bad base64 in \"body_b64\"");
	DECODE_ERR(PFX "\"req\":{\"method\":\"GET\",\"target\":\"/\","
	    "\"body_b64\":\"e\\u0041=!\"}}",
	    "column 66: bad base64 in \"body_b64\"");
	DECODE_ERR(PFX "\"req\":{\"method\":\"GET\",\"target\":\"/\","
	    "\"body\":\"\\ud800\"}}", "column 63: lone high surrogate in "
	    "string");
	DECODE_ERR(PFX REQ ",\"res\":{}}", "column 62: \"res\" has no \"status\"");
	DECODE_ERR(PFX REQ ",\"res\":\"ok\"}",
	    "column 62: \"res\" must be an object");
	DECODE_ERR(PFX REQ ",\"res\":{\"status\":99}}",
	    "column 72: \"status\" must be from 100 to 999");
	DECODE_ERR(PFX REQ ",\"res\":{\"status\":1000}}",
	    "column 72: \"status\" must be from 100 to 999");
	DECODE_ERR(PFX REQ ",\"res\":{\"status\":2e2}}",
	    "column 72: \"status\" must be an integer");
	DECODE_ERR(PFX REQ ",\"res\":{\"status\":200,\"status\":201}}",
	    "column 76: duplicate member \"status\"");
	DECODE_ERR(PFX REQ ",\"timing\":[]}",
	    "column 65: \"timing\" must be an object");
	DECODE_ERR(PFX REQ ",\"timing\":{\"total_us\":-1}}",
	    "column 77: \"total_us\" must not be negative");
	DECODE_ERR(PFX REQ ",\"timing\":{\"ttfb_us\":0.5}}",
	    "column 76: \"ttfb_us\" must be an integer");
	DECODE_ERR(PFX REQ ",\"x\":[1,}",
	    "column 63: unexpected '}', expected a value");
	DECODE_ERR(PFX REQ ",\"x\":\"\xff\"}",
	    "column 61: invalid UTF-8 in string");
	DECODE_ERR("{\"v\":1,\"dir\":\"out\",\"req\":{\"method\":\"GET\","
	    "\"target\":\"/\",\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
	    "[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
	    "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}",
	    "column 121: nested deeper than 64 levels");
#undef PFX
#undef REQ
}

static void
test_unknown(void)
{
	struct snap_txn	t;
	struct buf	b;

	buf_init(&b);
	/* Unknown members inside req, res and timing are dropped; top-level
	 * ones are kept in order, verbatim. */
	ASSERT_EQ(decode("{\"big\":-123456789012345678901234567890,\"v\":1,"
	    "\"dir\":\"in\",\"req\":{\"method\":\"GET\",\"target\":\"/\","
	    "\"later\":{\"a\":[1]}},\"res\":{\"status\":204,\"x\":1},"
	    "\"timing\":{\"total_us\":5,\"cpu_us\":3},\"tags\":{ \"a\" : 1 }}",
	    &t), 0);
	snap_encode(&b, &t);
	ASSERT_STR_EQ(b.data, "{\"v\":1,\"dir\":\"in\",\"req\":{\"method\":"
	    "\"GET\",\"target\":\"/\"},\"res\":{\"status\":204},\"timing\":"
	    "{\"total_us\":5},\"big\":-123456789012345678901234567890,"
	    "\"tags\":{\"a\":1}}\n");
	snap_txn_free(&t);

	/* Whitespace in unknown members' values (newlines too) goes;
	 * strings inside them stay byte for byte. */
	ASSERT_EQ(decode("{\"v\":1,\"dir\":\"in\",\"req\":{\"method\":\"GET\","
	    "\"target\":\"/\"},\"x\":\n[ 1 ,\r\n\t{ \"k \\\" \" : \" a  b \" } ]\n}",
	    &t), 0);
	ASSERT_STR_EQ(t.extra, ",\"x\":[1,{\"k \\\" \":\" a  b \"}]");
	buf_reset(&b);
	snap_encode(&b, &t);
	ASSERT(strchr(b.data, '\n') == b.data + b.len - 1);
	snap_txn_free(&t);

	/* An escaped known name is the known member. */
	ASSERT_EQ(decode("{\"\\u0076\":1,\"dir\":\"in\",\"req\":{\"method\":"
	    "\"GET\",\"target\":\"/\"}}", &t), 0);
	ASSERT(t.extra == NULL);
	snap_txn_free(&t);
	buf_free(&b);
}

/* The recorders' members: written after the timing, before extra; read
 * back, they are kept in extra as written. */
static void
test_status_members(void)
{
	struct snap_txn	t;
	struct buf	b;
	const char	*want = "{\"v\":1,\"dir\":\"out\",\"req\":{\"method\":"
			    "\"CONNECT\",\"target\":\"db:5432\"},\"timing\":"
			    "{\"total_us\":7},\"error\":\"tls: \\\"x\\\"\","
			    "\"truncated\":{\"req\":10,\"res\":20},\"gap\":true,"
			    "\"opaque\":{\"bytes_up\":18446744073709551615,"
			    "\"bytes_down\":0},\"tags\":1}\n";

	buf_init(&b);
	snap_txn_init(&t);
	t.req.method = xstrdup("CONNECT");
	t.req.target = xstrdup("db:5432");
	t.total_us = 7;
	t.error = "tls: \"x\"";
	t.truncated = 1;
	t.truncated_req = 10;
	t.truncated_res = 20;
	t.gap = 1;
	t.opaque = 1;
	t.opaque_up = UINT64_MAX;
	t.opaque_down = 0;
	t.extra = xstrdup(",\"tags\":1");
	snap_encode(&b, &t);
	ASSERT_STR_EQ(b.data, want);
	snap_txn_free(&t);

	/* None set: none written. */
	snap_txn_init(&t);
	t.req.method = xstrdup("GET");
	t.truncated_req = 10;
	t.opaque_up = 3;
	buf_reset(&b);
	snap_encode(&b, &t);
	ASSERT_STR_EQ(b.data, "{\"v\":1,\"dir\":\"out\",\"req\":{\"method\":"
	    "\"GET\",\"target\":\"\"}}\n");
	snap_txn_free(&t);

	/* Decoded, they stay in extra, byte for byte. */
	ASSERT_EQ(decode(want, &t), 0);
	ASSERT(t.error == NULL && !t.truncated && !t.gap && !t.opaque);
	buf_reset(&b);
	snap_encode(&b, &t);
	ASSERT_STR_EQ(b.data, want);
	snap_txn_free(&t);
	buf_free(&b);
}

static char *
write_temp(const char *content)
{
	char	*path = xstrdup("/tmp/test-snap.XXXXXX");
	int	 fd;

	if ((fd = mkstemp(path)) == -1) {
		free(path);
		return NULL;
	}
	if (write(fd, content, strlen(content)) != (ssize_t)strlen(content)) {
		close(fd);
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

static void
test_reader(void)
{
	struct snap_reader	*r;
	struct snap_txn		 t;
	char			*path, *cause = NULL, *want;
	const char		*good = "{\"v\":1,\"dir\":\"out\",\"req\":"
				    "{\"method\":\"GET\",\"target\":\"/a\"}}";

	/* Blank lines (also CR and spaces) are skipped; CRLF works; the last
	 * line needs no newline. */
	{
		struct buf	c;

		buf_init(&c);
		buf_printf(&c, "\n%s\n  \t\n\r\n%s\r\n\n%s", good, good, good);
		path = write_temp(c.data);
		buf_free(&c);
	}
	ASSERT(path != NULL);
	if (path == NULL)
		return;
	r = snap_reader_open(path, &cause);
	ASSERT(r != NULL);
	ASSERT_EQ(snap_reader_next(r, &t, &cause), 1);
	ASSERT_EQ(t.line, 2);
	ASSERT_STR_EQ(t.req.target, "/a");
	snap_txn_free(&t);
	ASSERT_EQ(snap_reader_next(r, &t, &cause), 1);
	ASSERT_EQ(t.line, 5);
	snap_txn_free(&t);
	ASSERT_EQ(snap_reader_next(r, &t, &cause), 1);
	ASSERT_EQ(t.line, 7);
	snap_txn_free(&t);
	ASSERT_EQ(snap_reader_next(r, &t, &cause), 0);
	ASSERT_EQ(snap_reader_next(r, &t, &cause), 0);
	snap_reader_close(r);
	unlink(path);
	free(path);

	/* A broken third line names file:line:column. */
	{
		struct buf	c;

		buf_init(&c);
		buf_printf(&c, "%s\n\n{\"v\":1,\"dir\":\"out\",\"req\":7}\n%s\n",
		    good, good);
		path = write_temp(c.data);
		buf_free(&c);
	}
	r = snap_reader_open(path, &cause);
	ASSERT(r != NULL);
	ASSERT_EQ(snap_reader_next(r, &t, &cause), 1);
	snap_txn_free(&t);
	ASSERT_EQ(snap_reader_next(r, &t, &cause), -1);
	want = xasprintf("%s:3:26: \"req\" must be an object", path);
	ASSERT_STR_EQ(cause, want);
	free(want);
	free(cause);
	snap_reader_close(r);
	unlink(path);
	free(path);

	/* A truncated final line (no newline: a write torn by a crash) is
	 * skipped with a warning and reads as end of file. */
	{
		struct buf	c;

		buf_init(&c);
		buf_printf(&c, "%s\n{\"v\":1,\"dir\":\"out\",\"req\":"
		    "{\"method\":\"GET\"", good);
		path = write_temp(c.data);
		buf_free(&c);
	}
	r = snap_reader_open(path, &cause);
	ASSERT_EQ(snap_reader_next(r, &t, &cause), 1);
	snap_txn_free(&t);
	ASSERT_EQ(snap_reader_next(r, &t, &cause), 0);
	ASSERT_EQ(snap_reader_next(r, &t, &cause), 0);
	snap_reader_close(r);
	unlink(path);
	free(path);

	/* The same line with its newline is corruption, not a torn write:
	 * an error. */
	path = write_temp("{\"v\":1,\"dir\":\"out\",\"req\":{\"method\":\"GET\"\n");
	r = snap_reader_open(path, &cause);
	ASSERT_EQ(snap_reader_next(r, &t, &cause), -1);
	want = xasprintf("%s:1:41: unexpected end of line, expected ',' or "
	    "'}'", path);
	ASSERT_STR_EQ(cause, want);
	free(want);
	free(cause);
	snap_reader_close(r);
	unlink(path);
	free(path);

	/* A broken line that is not the last stays an error even when the
	 * last line lacks its newline. */
	{
		struct buf	c;

		buf_init(&c);
		buf_printf(&c, "{\"v\":1}\n%s", good);
		path = write_temp(c.data);
		buf_free(&c);
	}
	r = snap_reader_open(path, &cause);
	ASSERT_EQ(snap_reader_next(r, &t, &cause), -1);
	want = xasprintf("%s:1:1: no \"dir\"", path);
	ASSERT_STR_EQ(cause, want);
	free(want);
	free(cause);
	snap_reader_close(r);
	unlink(path);
	free(path);

	/* A missing file is named. */
	cause = NULL;
	ASSERT(snap_reader_open("/nonexistent/x.jsonl", &cause) == NULL);
	ASSERT_STR_EQ(cause, "/nonexistent/x.jsonl: No such file or directory");
	free(cause);
}

/* Every line of path read by chunks of about want bytes: the line numbers
 * of the transactions into lines[] (at most max), then the result of the
 * last call (0 or -1, with *cause). */
static int
read_chunks(const char *path, size_t want, size_t *lines, size_t max,
    size_t *n, char **cause)
{
	struct snap_reader	*r;
	struct snap_chunk	 c;
	struct snap_txn		 t;
	size_t			 first = 0;
	int			 rv, crv = 0;

	*n = 0;
	if ((r = snap_reader_open(path, cause)) == NULL)
		return -1;
	memset(&c, 0, sizeof c);
	while (crv == 0 && (rv = snap_reader_chunk(r, want, &c, cause)) == 1) {
		c.first = first;
		first += snap_chunk_count(&c);
		while ((crv = snap_chunk_next(&c, &t, cause)) == 1) {
			if (*n < max)
				lines[(*n)++] = t.line;
			snap_txn_free(&t);
		}
	}
	if (crv == -1)
		rv = -1;
	snap_chunk_free(&c);
	snap_reader_close(r);
	return rv;
}

/*
 * A chunk decodes in place and lends the transaction out: every line
 * below (escapes, base64, NUL, headers in both messages, unknown
 * members, members in any order) encodes to what snap_decode_line()'s
 * own copy encodes to, and the lent transaction's bytes stay valid
 * until the next line.
 */
/*
 * Trailers: [name, value] pairs after the body, in req and res, read back
 * as written; an empty array is left out; a bad one is an error that
 * names "trailers".
 */
static void
test_trailers(void)
{
	static const char line[] =
	    "{\"v\":1,\"dir\":\"out\",\"proto\":\"h2\",\"req\":{\"method\":"
	    "\"POST\",\"target\":\"/pkg.Svc/Get\",\"headers\":[[\"te\","
	    "\"trailers\"]],\"body_b64\":\"AAAAAAIIAQ==\",\"trailers\":[[\"x-t\","
	    "\"1\"]]},\"res\":{\"status\":200,\"headers\":[[\"content-type\","
	    "\"application/grpc\"]],\"trailers\":[[\"grpc-status\",\"5\"],"
	    "[\"grpc-message\",\"not found\"]]}}";
	struct snap_txn	 t, u;
	struct buf	 b;

	buf_init(&b);
	ASSERT_EQ(decode(line, &t), 0);
	ASSERT_EQ(t.req.ntrailers, 1);
	ASSERT_STR_EQ(t.req.trailers[0].name, "x-t");
	ASSERT_EQ(t.res.ntrailers, 2);
	ASSERT_STR_EQ(t.res.trailers[0].name, "grpc-status");
	ASSERT_STR_EQ(t.res.trailers[0].value, "5");
	ASSERT_STR_EQ(t.res.trailers[1].value, "not found");
	ASSERT_EQ(t.res.body_len, 0);
	snap_encode(&b, &t);
	ASSERT_EQ(b.len, sizeof line);
	ASSERT(memcmp(b.data, line, sizeof line - 1) == 0);
	ASSERT_EQ(decode(b.data, &u), 0);
	ASSERT(txn_eq(&t, &u));
	snap_txn_free(&t);
	snap_txn_free(&u);

	ASSERT_EQ(decode("{\"v\":1,\"dir\":\"out\",\"req\":{\"method\":"
	    "\"GET\",\"target\":\"/\"},\"res\":{\"status\":200,"
	    "\"trailers\":[]}}", &t), 0);
	ASSERT_EQ(t.res.ntrailers, 0);
	buf_reset(&b);
	snap_encode(&b, &t);
	ASSERT(strstr(b.data, "trailers") == NULL);
	snap_txn_free(&t);
	DECODE_ERR("{\"v\":1,\"dir\":\"out\",\"req\":{\"method\":\"GET\","
	    "\"target\":\"/\"},\"res\":{\"status\":200,\"trailers\":{}}}",
	    "column 87: \"trailers\" must be an array of [name, value] pairs");
	DECODE_ERR("{\"v\":1,\"dir\":\"out\",\"req\":{\"method\":\"GET\","
	    "\"target\":\"/\",\"trailers\":[[\"a\"]]}}",
	    "column 67: a header must be a [name, value] pair");
	buf_free(&b);
}

/*
 * "grpc": a body of gRPC messages written as one protobuf view per
 * message (raw bytes and compressed ones as b64), read back to the same
 * bytes, in place too; an edited view changes the message; "grpc" and
 * a body together is an error; a body that does not frame stays a body.
 */
static void
test_grpc(void)
{
	static const char body[] = "\0\0\0\0\3\x08\x96\x01"
	    "\0\0\0\0\3one" "\1\0\0\0\2zz" "\0\0\0\0\0";
	static const char want[] = ",\"grpc\":[[[1,150]],{\"b64\":\"b25l\"},"
	    "{\"b64\":\"eno=\",\"compressed\":true},[]]";
	struct snap_txn	 t, u;
	struct buf	 b, line;
	char		*cause = NULL;

	buf_init(&b);
	buf_init(&line);
	snap_txn_init(&t);
	t.req.method = xstrdup("POST");
	t.req.target = xstrdup("/pkg.S/M");
	t.req.body = xmalloc(sizeof body);
	memcpy(t.req.body, body, sizeof body);
	t.req.body_len = sizeof body - 1;
	t.req.grpc = 1;
	snap_encode(&b, &t);
	ASSERT(strstr(b.data, want) != NULL);
	ASSERT(strstr(b.data, "body") == NULL);
	ASSERT_EQ(decode(b.data, &u), 0);
	ASSERT_EQ(u.req.grpc, 1);
	ASSERT_EQ(u.req.body_len, sizeof body - 1);
	ASSERT(u.req.body != NULL &&
	    memcmp(u.req.body, body, sizeof body - 1) == 0);
	snap_txn_free(&u);

	/* Edited: field 1 set to 1. */
	buf_append_str(&line, "{\"v\":1,\"dir\":\"out\",\"req\":{\"method\":"
	    "\"POST\",\"target\":\"/\",\"grpc\":[[[1,1]]]}}");
	ASSERT_EQ(decode(line.data, &u), 0);
	ASSERT_EQ(u.req.body_len, 7);
	ASSERT(u.req.body != NULL && memcmp(u.req.body,
	    "\0\0\0\0\2\x08\x01", 7) == 0);
	snap_txn_free(&u);
	DECODE_ERR("{\"v\":1,\"dir\":\"out\",\"req\":{\"method\":\"POST\","
	    "\"target\":\"/\",\"body\":\"x\",\"grpc\":[]}}",
	    "column 67: both \"grpc\" and a body in \"req\"");
	ASSERT_EQ(snap_decode_line("{\"v\":1,\"dir\":\"out\",\"req\":{"
	    "\"method\":\"P\",\"target\":\"/\",\"grpc\":[{\"b64\":\"!\"}]}}",
	    70, &u, &cause), -1);
	ASSERT(cause != NULL && strstr(cause, "bad \"b64\"") != NULL);
	free(cause);

	/* Not gRPC framing: a body as ever. */
	free(t.req.body);
	t.req.body = xstrdup("plain");
	t.req.body_len = 5;
	buf_reset(&b);
	snap_encode(&b, &t);
	ASSERT(strstr(b.data, ",\"body\":\"plain\"") != NULL);
	snap_txn_free(&t);
	buf_free(&b);
	buf_free(&line);
}

static void
test_chunk_borrowed(void)
{
	static const char *const lines[] = {
	    canonical,
	    "{\"v\":1,\"dir\":\"out\",\"req\":{\"method\":\"GET\","
	    "\"target\":\"/a\\u0041b\"}}\n",
	    "{\"dir\":\"in\",\"v\":1,\"x\":{ \"a\" : [1, 2] },\"res\":"
	    "{\"headers\":[[\"A\",\"\\\"q\\\"\"],[\"B\",\"\"]],\"status\":"
	    "200,\"body\":\"a\\u0000\\n\\\"\\ud83d\\ude00\"},\"req\":"
	    "{\"headers\":[],\"target\":\"/\",\"method\":\"P\\u004fST\","
	    "\"body_b64\":\"\"}}\n",
	    "{\"v\":1,\"dir\":\"out\",\"req\":{\"method\":\"GET\","
	    "\"target\":\"/\",\"headers\":[[\"H\",\"v\"]],\"body_b64\":"
	    "\"AAEC\\/w==\"},\"res\":{\"status\":204,\"headers\":[[\"X\","
	    "\"1\"],[\"Y\",\"2\"],[\"Z\",\"3\"]]}}\n",
	    "{\"v\":1,\"dir\":\"out\",\"proto\":\"h2\",\"req\":{\"method\":"
	    "\"POST\",\"trailers\":[[\"t\",\"1\"]],\"target\":\"/s/M\","
	    "\"headers\":[[\"te\",\"trailers\"]]},\"res\":{\"trailers\":"
	    "[[\"grpc-status\",\"5\"],[\"grpc-message\",\"no\"]],"
	    "\"status\":200,\"headers\":[[\"content-type\","
	    "\"application/grpc\"]],\"body_b64\":\"AAAAAAA=\"}}\n",
	    "{\"v\":1,\"dir\":\"out\",\"req\":{\"method\":\"POST\",\"target\":"
	    "\"/\",\"grpc\":[[[1,150]],{\"b64\":\"b25l\"}]},\"res\":{\"status\":"
	    "200,\"grpc\":[{\"compressed\":true,\"b64\":\"eno=\"}]}}\n",
	};
	struct snap_reader	*r;
	struct snap_chunk	 c;
	struct snap_txn		 t, u;
	struct buf		 all, a, b;
	size_t			 i, n = sizeof lines / sizeof lines[0];
	char			*path, *cause = NULL;

	buf_init(&all);
	for (i = 0; i < n; i++)
		buf_append_str(&all, lines[i]);
	path = write_temp(all.data);
	ASSERT(path != NULL);
	if (path == NULL)
		return;
	r = snap_reader_open(path, &cause);
	memset(&c, 0, sizeof c);
	ASSERT_EQ(snap_reader_chunk(r, 1 << 20, &c, &cause), 1);
	buf_init(&a);
	buf_init(&b);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(snap_chunk_next(&c, &t, &cause), 1);
		ASSERT_EQ(t.borrowed, 1);
		ASSERT_EQ(t.line, i + 1);
		ASSERT_EQ(snap_decode_line(lines[i], strlen(lines[i]) - 1, &u,
		    &cause), 0);
		ASSERT_EQ(u.borrowed, 0);
		buf_reset(&a);
		buf_reset(&b);
		snap_encode(&a, &t);
		snap_encode(&b, &u);
		ASSERT_STR_EQ(a.data, b.data);
		ASSERT_EQ(t.req.nheaders, u.req.nheaders);
		ASSERT_EQ(t.res.nheaders, u.res.nheaders);
		ASSERT(txn_eq(&t, &u));
		snap_txn_free(&t);
		ASSERT(t.id == NULL && t.req.headers == NULL);
		snap_txn_free(&u);
	}
	ASSERT_EQ(snap_chunk_next(&c, &t, &cause), 0);
	snap_chunk_free(&c);
	snap_reader_close(r);
	buf_free(&a);
	buf_free(&b);
	buf_free(&all);
	unlink(path);
	free(path);
}

/*
 * path's content through a pipe (read(2), never mapped): the same lines
 * as read_chunks() over the file itself.
 */
static int
read_chunks_piped(const char *path, size_t want, size_t *lines, size_t max,
    size_t *n, char **cause)
{
	char	 buf[65536], *name;
	int	 pfd[2], fd, rv;
	ssize_t	 got;
	pid_t	 pid;

	if (pipe(pfd) == -1)
		return -2;
	if ((pid = fork()) == -1)
		return -2;
	if (pid == 0) {
		close(pfd[0]);
		signal(SIGPIPE, SIG_DFL);
		if ((fd = open(path, O_RDONLY)) == -1)
			_exit(1);
		while ((got = read(fd, buf, sizeof buf)) > 0) {
			if (write(pfd[1], buf, (size_t)got) != got)
				_exit(1);
		}
		_exit(0);
	}
	close(pfd[1]);
	name = xasprintf("/dev/fd/%d", pfd[0]);
	rv = read_chunks(name, want, lines, max, n, cause);
	free(name);
	close(pfd[0]);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return rv;
}

/* read_chunks() of path fails with want after nlines lines, for every
 * chunk size in wants; want, path and the file go. */
static void
expect_chunk_error(char *path, const size_t *wants, size_t nwants,
    size_t nlines, char *want)
{
	size_t	lines[16], n, i;
	char	*cause = NULL;

	for (i = 0; i < nwants; i++) {
		ASSERT_EQ(read_chunks(path, wants[i], lines, 16, &n, &cause),
		    -1);
		ASSERT_EQ(n, nlines);
		ASSERT_STR_EQ(cause, want);
		free(cause);
		cause = NULL;
	}
	free(want);
	unlink(path);
	free(path);
}

/*
 * The chunk reader gives the lines and messages snap_reader_next() gives,
 * whatever the chunk size (here down to one byte: every chunk one line);
 * a line longer than 64 MiB is an error at its line, column 64 MiB + 1.
 */
static void
test_chunks(void)
{
	const char	*good = "{\"v\":1,\"dir\":\"out\",\"req\":"
			    "{\"method\":\"GET\",\"target\":\"/a\"}}";
	size_t		 lines[16], lines2[16], n, n2, i;
	size_t		 wants[] = { 1, 7, 100, 1 << 20 };
	char		*path, *cause = NULL, *want;
	struct buf	 c;

	buf_init(&c);
	buf_printf(&c, "\n%s\n  \t\n\r\n%s\r\n\n%s\n%s\n{\"v\":1,\"dir\":\"out\","
	    "\"req\":{\"method\":\"GET\"", good, good, good, good);
	path = write_temp(c.data);
	buf_free(&c);
	ASSERT(path != NULL);
	if (path == NULL)
		return;
	for (i = 0; i < sizeof wants / sizeof wants[0]; i++) {
		ASSERT_EQ(read_chunks(path, wants[i], lines, 16, &n, &cause),
		    0);
		/* A pipe is read, the file mapped: the same lines. */
		ASSERT_EQ(read_chunks_piped(path, wants[i], lines2, 16, &n2,
		    &cause), 0);
		ASSERT_EQ(n2, n);
		ASSERT(memcmp(lines, lines2, n * sizeof *lines) == 0);
		ASSERT_EQ(n, 4);
		ASSERT_EQ(lines[0], 2);
		ASSERT_EQ(lines[1], 5);
		ASSERT_EQ(lines[2], 7);
		ASSERT_EQ(lines[3], 8);
	}
	unlink(path);
	free(path);

	buf_init(&c);
	buf_printf(&c, "%s\n\n{\"v\":1,\"dir\":\"out\",\"req\":7}\n%s\n", good,
	    good);
	path = write_temp(c.data);
	buf_free(&c);
	want = xasprintf("%s:3:26: \"req\" must be an object", path);
	expect_chunk_error(path, wants, sizeof wants / sizeof wants[0], 1,
	    want);

	/* Two good lines, then 64 MiB + 1 bytes without a newline. */
	{
		size_t	 big = ((size_t)64 << 20) + 1;
		char	*p;
		int	 fd;

		buf_init(&c);
		buf_printf(&c, "%s\n%s\n", good, good);
		path = write_temp(c.data);
		buf_free(&c);
		p = xmalloc(big);
		memset(p, 'x', big);
		fd = open(path, O_WRONLY | O_APPEND);
		ASSERT(fd != -1 && write(fd, p, big) == (ssize_t)big);
		close(fd);
		free(p);
		want = xasprintf("%s:3:67108865: line longer than 64 MiB "
		    "(not a snapshot?)", path);
		ASSERT_EQ(read_chunks(path, 1 << 20, lines, 16, &n, &cause),
		    -1);
		ASSERT_STR_EQ(cause, want);
		free(cause);
		cause = NULL;
		/* And the line reader says the same. */
		{
			struct snap_reader	*r = snap_reader_open(path,
			    &cause);
			struct snap_txn		 t;

			ASSERT_EQ(snap_reader_next(r, &t, &cause), 1);
			snap_txn_free(&t);
			ASSERT_EQ(snap_reader_next(r, &t, &cause), 1);
			snap_txn_free(&t);
			ASSERT_EQ(snap_reader_next(r, &t, &cause), -1);
			ASSERT_STR_EQ(cause, want);
			free(cause);
			snap_reader_close(r);
		}
		free(want);
		unlink(path);
		free(path);
	}
}

/*
 * A regular file is read from a read-only mapping (a write into a chunk
 * would fault): the lines and errors of the read path, a line longer
 * than 64 MiB inside the mapped part an error at its line after the
 * lines before it, a NUL decoded into a header value refused.
 */
static void
test_chunks_mapped(void)
{
	const char	*good = "{\"v\":1,\"dir\":\"out\",\"req\":"
			    "{\"method\":\"GET\",\"target\":\"/a\\\"b\"}}";
	const char	*nul = "{\"v\":1,\"dir\":\"out\",\"req\":"
			    "{\"method\":\"GET\",\"target\":\"/\",\"headers\":"
			    "[[\"A\",\"x\\u0000\"]]}}";
	size_t		 wants[] = { 1, 7, 1 << 20 };
	size_t		 big = ((size_t)64 << 20) + 1;
	char		*path, *want, *p;
	struct buf	 c;
	int		 fd;

	/* A NUL decoded into a header value. */
	buf_init(&c);
	buf_printf(&c, "%s\n%s\n", good, nul);
	path = write_temp(c.data);
	buf_free(&c);
	want = xasprintf("%s:2:%zu: \"header value\" contains a NUL "
	    "character", path, (size_t)(strstr(nul, "\"x\\") - nul) + 1);
	expect_chunk_error(path, wants, sizeof wants / sizeof wants[0], 1,
	    want);

	/* Two good lines, 64 MiB + 1 bytes and a newline, a good line. */
	buf_init(&c);
	buf_printf(&c, "%s\n%s\n", good, good);
	path = write_temp(c.data);
	buf_free(&c);
	p = xmalloc(big + 1);
	memset(p, 'x', big);
	p[big] = '\n';
	fd = open(path, O_WRONLY | O_APPEND);
	ASSERT(fd != -1 && write(fd, p, big + 1) == (ssize_t)big + 1);
	ASSERT(write(fd, good, strlen(good)) == (ssize_t)strlen(good));
	ASSERT(write(fd, "\n", 1) == 1);
	close(fd);
	free(p);
	want = xasprintf("%s:3:67108865: line longer than 64 MiB "
	    "(not a snapshot?)", path);
	expect_chunk_error(path, wants, sizeof wants / sizeof wants[0], 2,
	    want);
}

static void
test_writer(void)
{
	struct snap_writer	*w;
	struct snap_reader	*r;
	struct snap_txn		 t, t2;
	char			*path, *cause = NULL;
	int			 i;

	path = write_temp("");
	ASSERT(path != NULL);
	if (path == NULL)
		return;
	ASSERT_EQ(decode(canonical, &t), 0);
	for (i = 0; i < 2; i++) {
		/* The second open appends. */
		w = snap_writer_open(path, 1, &cause);
		ASSERT(w != NULL);
		ASSERT_EQ(snap_writer_write(w, &t, &cause), 0);
		ASSERT_EQ(snap_writer_close(w, &cause), 0);
	}
	r = snap_reader_open(path, &cause);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(snap_reader_next(r, &t2, &cause), 1);
		ASSERT_EQ(t2.line, (size_t)i + 1);
		t2.line = 0;
		ASSERT(txn_eq(&t, &t2));
		snap_txn_free(&t2);
	}
	ASSERT_EQ(snap_reader_next(r, &t2, &cause), 0);
	snap_reader_close(r);

	/* Not appending truncates. */
	w = snap_writer_open(path, 0, &cause);
	ASSERT_EQ(snap_writer_write(w, &t, &cause), 0);
	ASSERT_EQ(snap_writer_close(w, &cause), 0);
	r = snap_reader_open(path, &cause);
	ASSERT_EQ(snap_reader_next(r, &t2, &cause), 1);
	snap_txn_free(&t2);
	ASSERT_EQ(snap_reader_next(r, &t2, &cause), 0);
	snap_reader_close(r);

	ASSERT(snap_writer_open("/nonexistent/out.jsonl", 1, &cause) == NULL);
	ASSERT_STR_EQ(cause,
	    "/nonexistent/out.jsonl: No such file or directory");
	free(cause);
	snap_txn_free(&t);
	unlink(path);
	free(path);
}

/* The whole content of path (allocated), or NULL. */
static char *
slurp(const char *path)
{
	struct buf	 b;
	char		 chunk[4096];
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return NULL;
	buf_init(&b);
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		buf_append(&b, chunk, (size_t)n);
	close(fd);
	buf_append(&b, "", 0);
	return buf_detach(&b, NULL);
}

/* Opens path for appending with the log going to logpath; returns what
 * the file holds afterwards. */
static char *
out_append(const char *path, const char *logpath, int *rv)
{
	struct snap_out	 o;
	char		*cause = NULL;
	int		 lfd;

	lfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	log_set_fd(lfd);
	*rv = snap_out_open(&o, path, 1, &cause);
	log_set_fd(STDERR_FILENO);
	close(lfd);
	if (*rv == 0)
		snap_out_close(&o, NULL);
	free(cause);
	return slurp(path);
}

static void
test_out(void)
{
	const char	*line = "{\"v\":1,\"dir\":\"out\",\"req\":{\"method\":"
			    "\"GET\",\"target\":\"/a\"}}\n";
	struct snap_out	 o;
	struct stat	 st;
	struct rlimit	 rl, small;
	char		*path, *logpath, *got, *cause = NULL, *want, *three;
	size_t		 len = strlen(line), n;
	int		 rv, err, fd;

	path = write_temp("");
	logpath = write_temp("");
	ASSERT(path != NULL && logpath != NULL);
	if (path == NULL || logpath == NULL)
		return;

	/* Created 0600, whatever the umask allows. */
	unlink(path);
	umask(022);
	ASSERT_EQ(snap_out_open(&o, path, 0, &cause), 0);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 0600);
	ASSERT_EQ(snap_out_close(&o, &cause), 0);

	/* An existing wider file keeps its mode, with a warning. */
	chmod(path, 0644);
	got = out_append(path, logpath, &rv);
	free(got);
	ASSERT_EQ(rv, 0);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 0644);
	got = slurp(logpath);
	ASSERT(got != NULL && strstr(got, "mode 0644 lets every user read") !=
	    NULL && strstr(got, "chmod 600") != NULL);
	free(got);
	chmod(path, 0600);

	/* --append onto a torn tail: cut back to the last newline. */
	fd = open(path, O_WRONLY | O_TRUNC);
	ASSERT(write(fd, line, len) == (ssize_t)len);
	ASSERT(write(fd, "{\"v\":1,\"di", 10) == 10);
	close(fd);
	got = out_append(path, logpath, &rv);
	ASSERT_EQ(rv, 0);
	ASSERT_STR_EQ(got, line);
	free(got);
	got = slurp(logpath);
	want = xasprintf("dropped 10 bytes of a torn last line (bytes %zu-%zu",
	    len, len + 9);
	ASSERT(got != NULL && strstr(got, want) != NULL);
	free(want);
	free(got);

	/* A torn tail with no newline before it: the file empties. */
	fd = open(path, O_WRONLY | O_TRUNC);
	ASSERT(write(fd, "{\"v", 3) == 3);
	close(fd);
	got = out_append(path, logpath, &rv);
	ASSERT_EQ(rv, 0);
	ASSERT_STR_EQ(got, "");
	free(got);

	/* A last line that parses but lacks its newline gets one. */
	fd = open(path, O_WRONLY | O_TRUNC);
	ASSERT(write(fd, line, len) == (ssize_t)len);
	ASSERT(write(fd, line, len - 1) == (ssize_t)len - 1);
	close(fd);
	got = out_append(path, logpath, &rv);
	ASSERT_EQ(rv, 0);
	want = xasprintf("%s%s", line, line);
	ASSERT_STR_EQ(got, want);
	free(want);
	free(got);
	got = slurp(logpath);
	ASSERT(got != NULL && strstr(got, "added one") != NULL);
	free(got);

	/*
	 * A write the file takes only part of (RLIMIT_FSIZE stands for a
	 * full disk: a short write, then EFBIG): the file keeps the whole
	 * lines, never the torn one, and takes the next write whole.
	 */
	ASSERT_EQ(snap_out_open(&o, path, 0, &cause), 0);
	three = xasprintf("%s%s%s", line, line, line);
	signal(SIGXFSZ, SIG_IGN);
	ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &rl), 0);
	small = rl;
	small.rlim_cur = (rlim_t)(len + len / 2);
	ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
	n = snap_out_write(&o, three, 3 * len, &err);
	ASSERT_EQ(n, len);
	ASSERT_EQ(err, EFBIG);
	ASSERT_EQ(fstat(o.fd, &st), 0);
	ASSERT_EQ(st.st_size, (off_t)len);
	/* Nothing fits at all. */
	small.rlim_cur = (rlim_t)len;
	ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
	n = snap_out_write(&o, line, len, &err);
	ASSERT_EQ(n, 0);
	ASSERT_EQ(err, EFBIG);
	ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &rl), 0);
	n = snap_out_write(&o, line, len, &err);
	ASSERT_EQ(n, len);
	ASSERT_EQ(err, 0);
	ASSERT_EQ(snap_out_close(&o, &cause), 0);
	got = slurp(path);
	want = xasprintf("%s%s", line, line);
	ASSERT_STR_EQ(got, want);
	free(want);
	free(got);
	free(three);

	unlink(path);
	unlink(logpath);
	free(path);
	free(logpath);
}

/* Integers as printf's %lld writes them; a head kept in one store. */
static void
test_numbers_and_store(void)
{
	static const int64_t	 vals[] = {
		0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 12345, 99999,
		100000, 1764133262123456LL, 9007199254740993LL,
		INT64_MAX - 1, INT64_MAX
	};
	static const int	 statuses[] = { 100, 101, 200, 204, 999 };
	struct snap_txn		 t;
	struct buf		 b;
	char			 want[256], *p;
	size_t			 i;

	buf_init(&b);
	for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		snap_txn_init(&t);
		t.start_us = vals[i];
		t.ttfb_us = vals[i] / 7;
		t.total_us = vals[sizeof vals / sizeof vals[0] - 1 - i];
		t.has_res = 1;
		t.res.status = statuses[i % 5];
		buf_reset(&b);
		snap_encode(&b, &t);
		snprintf(want, sizeof want, "{\"v\":1,\"dir\":\"out\",\"req\":"
		    "{\"method\":\"\",\"target\":\"\"},\"res\":{\"status\":%d},"
		    "\"timing\":{\"start_us\":%lld,\"ttfb_us\":%lld,"
		    "\"total_us\":%lld}}\n", statuses[i % 5],
		    (long long)vals[i], (long long)(vals[i] / 7),
		    (long long)vals[sizeof vals / sizeof vals[0] - 1 - i]);
		ASSERT_STR_EQ(b.data, want);
	}

	/* Strings and headers in one store: freed with it alone. */
	snap_txn_init(&t);
	t.req.store = xmalloc(2 * sizeof *t.req.headers + 64);
	t.req.headers = (struct snap_header *)(void *)t.req.store;
	t.req.nheaders = 1;
	p = t.req.store + 2 * sizeof *t.req.headers;
	memcpy(p, "GET\0/x\0Host\0a\0", 15);
	t.req.method = p;
	t.req.target = p + 4;
	t.req.headers[0].name = p + 7;
	t.req.headers[0].value = p + 12;
	t.req.body = xstrdup("hi");
	t.req.body_len = 2;
	buf_reset(&b);
	snap_encode(&b, &t);
	ASSERT_STR_EQ(b.data, "{\"v\":1,\"dir\":\"out\",\"req\":{\"method\":"
	    "\"GET\",\"target\":\"/x\",\"headers\":[[\"Host\",\"a\"]],"
	    "\"body\":\"hi\"}}\n");
	snap_txn_free(&t);
	ASSERT(t.req.store == NULL && t.req.method == NULL);
	buf_free(&b);
}

/* The id prefix of a recorder's run: plain, or tagged when appending. */
static void
test_run_prefix(void)
{
	char	a[16], b[16];
	size_t	i;
	int	differ = 0, k;

	snap_ids_run_prefix(a, sizeof a, 0);
	ASSERT_STR_EQ(a, "t-");
	/* Two runs share a tag with odds 1 in 36^6: retry a few times. */
	for (k = 0; k < 4 && !differ; k++) {
		snap_ids_run_prefix(a, sizeof a, 1);
		snap_ids_run_prefix(b, sizeof b, 1);
		differ = strcmp(a, b) != 0;
	}
	ASSERT(differ);
	ASSERT_EQ(strlen(a), 9);
	ASSERT(strncmp(a, "t-", 2) == 0 && a[8] == '-');
	for (i = 2; i < 8; i++)
		ASSERT((a[i] >= '0' && a[i] <= '9') ||
		    (a[i] >= 'a' && a[i] <= 'z'));
}

/* The id set: first lines kept across growth, renames beside them. */
static void
test_ids_seen(void)
{
	struct snap_ids	*ids = snap_ids_create();
	char		 id[32], *fresh;
	const char	*u;
	size_t		 first, i;

	for (i = 0; i < 1000; i++) {
		snprintf(id, sizeof id, "t-%06zu", i);
		ASSERT_EQ(snap_ids_seen(ids, id, i + 1, &first), 0);
	}
	first = 0;
	ASSERT_EQ(snap_ids_seen(ids, "t-000007", 2000, &first), 1);
	ASSERT_EQ(first, 8);
	ASSERT_EQ(snap_ids_seen(ids, "t-000999", 2001, NULL), 1);
	ASSERT_EQ(snap_ids_seen(ids, "t-000999", 2002, &first), 1);
	ASSERT_EQ(first, 1000);
	u = snap_ids_unique(ids, "t-000003", &fresh);
	ASSERT_STR_EQ(u, "t-000003~2");
	ASSERT_EQ(snap_ids_seen(ids, "t-000003~2", 3000, &first), 1);
	ASSERT_EQ(first, 0);
	free(fresh);
	ASSERT(snap_ids_unique(ids, "new", &fresh) != NULL && fresh == NULL);
	ASSERT_EQ(snap_ids_renamed(ids), 1);
	snap_ids_free(ids);
}

int
main(void)
{
	test_canonical();
	test_numbers_and_store();
	test_minimal();
	test_bodies();
	test_utf8();
	test_errors();
	test_unknown();
	test_status_members();
	test_reader();
	test_chunks();
	test_chunk_borrowed();
	test_chunks_mapped();
	test_trailers();
	test_grpc();
	test_writer();
	test_out();
	test_run_prefix();
	test_ids_seen();
	UNIT_DONE();
}
