/*
 * test-har.c -- unit tests for the HAR 1.2 import and export (har.c):
 * a browser-like HAR with binary, text, empty and posted bodies, repeated
 * headers, HTTP/2 pseudo-headers and time zones; import -> export ->
 * import round trips; digits in bodies kept exactly; errors with the file
 * name, line and column; every truncation of a HAR is rejected cleanly.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "har.h"
#include "log.h"
#include "snap.h"
#include "xmalloc.h"
#include "unit.h"

static const char browser_har[] =
    "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"WebInspector\","
    "\"version\":\"537.36\"},\"pages\":[{\"id\":\"page_1\",\"title\":\"x\"}],"
    "\"entries\":[\n"
    /* 0: binary body in base64, HTTP/2, pseudo-headers, a time zone. */
    "{\"startedDateTime\":\"2026-11-26T06:01:02.123+01:00\",\"time\":12.5,"
    "\"request\":{\"method\":\"GET\",\"url\":"
    "\"https://api.example.com/img?size=2&fmt=raw#top\","
    "\"httpVersion\":\"http/2.0\",\"headers\":[{\"name\":\":authority\","
    "\"value\":\"api.example.com\"},{\"name\":\"accept\",\"value\":\"*/*\"}],"
    "\"queryString\":[{\"name\":\"size\",\"value\":\"2\"}],\"cookies\":[],"
    "\"headersSize\":-1,\"bodySize\":0},"
    "\"response\":{\"status\":200,\"statusText\":\"OK\",\"httpVersion\":"
    "\"http/2.0\",\"headers\":[{\"name\":\"content-type\",\"value\":"
    "\"application/octet-stream\"},{\"name\":\"set-cookie\",\"value\":"
    "\"a=1; Path=/\"},{\"name\":\"set-cookie\",\"value\":\"b=2\"}],"
    "\"cookies\":[],\"content\":{\"size\":5,\"mimeType\":"
    "\"application/octet-stream\",\"text\":\"AP8BYQA=\",\"encoding\":"
    "\"base64\"},\"redirectURL\":\"\",\"headersSize\":-1,\"bodySize\":5,"
    "\"_transferSize\":300},\"cache\":{},\"timings\":{\"blocked\":1.25,"
    "\"dns\":-1,\"ssl\":-1,\"connect\":-1,\"send\":0.125,\"wait\":8.0005,"
    "\"receive\":3.12},\"serverIPAddress\":\"10.0.0.1\","
    "\"_priority\":\"High\"},\n"
    /* 1: JSON posted, big number in the response text, Host header. */
    "{\"startedDateTime\":\"2026-11-26T05:01:03Z\",\"time\":3,"
    "\"request\":{\"method\":\"POST\",\"url\":"
    "\"http://localhost:8080/v1/charges?expand=customer\","
    "\"httpVersion\":\"HTTP/1.1\",\"headers\":[{\"name\":\"Host\","
    "\"value\":\"payments.local\"},{\"name\":\"Content-Type\",\"value\":"
    "\"application/json\"}],\"postData\":{\"mimeType\":"
    "\"application/json\",\"text\":\"{\\\"amount\\\":1200,"
    "\\\"ref\\\":9007199254740993}\"}},"
    "\"response\":{\"status\":201,\"statusText\":\"Created\",\"headers\":"
    "[{\"name\":\"Content-Type\",\"value\":\"application/json\"}],"
    "\"content\":{\"size\":26,\"mimeType\":\"application/json\","
    "\"text\":\"{\\\"id\\\":9007199254740993}\"}},"
    "\"timings\":{\"send\":0,\"wait\":2,\"receive\":1}},\n"
    /* 2: empty body, no statusText. */
    "{\"startedDateTime\":\"2026-11-26T05:01:04.5Z\",\"time\":1,"
    "\"request\":{\"method\":\"DELETE\",\"url\":\"http://[::1]:9000\","
    "\"headers\":[]},\"response\":{\"status\":204,\"headers\":[],"
    "\"content\":{\"size\":0,\"mimeType\":\"x-unknown\",\"text\":\"\"}},"
    "\"timings\":{\"send\":0,\"wait\":1,\"receive\":0}},\n"
    /* 3: not HTTP: skipped. */
    "{\"startedDateTime\":\"2026-11-26T05:01:04Z\",\"time\":0,"
    "\"request\":{\"method\":\"GET\",\"url\":\"data:text/plain,hi\","
    "\"headers\":[]},\"response\":{\"status\":200,\"headers\":[],"
    "\"content\":{}},\"timings\":{}}\n"
    "]}}\n";

static int
import(const char *har, struct snap_txn **txns, size_t *n, char **cause)
{
	return har_import("t.har", har, strlen(har), SNAP_DIR_OUT, txns, n,
	    cause);
}

static void
encode_all(struct buf *b, const struct snap_txn *txns, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		snap_encode(b, &txns[i]);
}

static void
test_browser(void)
{
	struct snap_txn		*txns, *t;
	char			*cause = NULL;
	size_t			 n;
	static const char	 bin[] = { 0x00, (char)0xff, 0x01, 'a', 0x00 };

	ASSERT_EQ(import(browser_har, &txns, &n, &cause), 0);
	if (cause != NULL) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return;
	}
	ASSERT_EQ(n, 3);

	t = &txns[0];
	ASSERT_EQ(t->dir, SNAP_DIR_OUT);
	ASSERT_STR_EQ(t->ts, "2026-11-26T05:01:02.123000Z");
	ASSERT_EQ(t->start_us, 1795669262123000LL);
	ASSERT_EQ(t->total_us, 12500);
	/* blocked + send + wait, to the microsecond (8.0005 rounds up). */
	ASSERT_EQ(t->ttfb_us, 1250 + 125 + 8001);
	ASSERT_STR_EQ(t->proto, "h2");
	ASSERT_EQ(t->tls, 1);
	ASSERT_STR_EQ(t->server, "api.example.com:443");
	ASSERT_STR_EQ(t->req.method, "GET");
	ASSERT_STR_EQ(t->req.target, "/img?size=2&fmt=raw");
	ASSERT_STR_EQ(t->req.host, "api.example.com");
	ASSERT_EQ(t->req.nheaders, 1);
	ASSERT_STR_EQ(t->req.headers[0].name, "accept");
	ASSERT_EQ(t->req.body_len, 0);
	ASSERT(t->req.body == NULL);
	ASSERT_EQ(t->has_res, 1);
	ASSERT_EQ(t->res.status, 200);
	ASSERT_STR_EQ(t->res.reason, "OK");
	ASSERT_EQ(t->res.nheaders, 3);
	ASSERT_STR_EQ(t->res.headers[1].name, "set-cookie");
	ASSERT_STR_EQ(t->res.headers[1].value, "a=1; Path=/");
	ASSERT_STR_EQ(t->res.headers[2].name, "set-cookie");
	ASSERT_STR_EQ(t->res.headers[2].value, "b=2");
	ASSERT_EQ(t->res.body_len, sizeof bin);
	ASSERT(t->res.body != NULL &&
	    memcmp(t->res.body, bin, sizeof bin) == 0);

	t = &txns[1];
	ASSERT_EQ(t->tls, 0);
	ASSERT(t->proto == NULL);
	ASSERT_STR_EQ(t->server, "localhost:8080");
	ASSERT_STR_EQ(t->req.host, "payments.local");
	ASSERT_STR_EQ(t->req.target, "/v1/charges?expand=customer");
	ASSERT_MEM_EQ(t->req.body, t->req.body_len,
	    "{\"amount\":1200,\"ref\":9007199254740993}");
	ASSERT_MEM_EQ(t->res.body, t->res.body_len,
	    "{\"id\":9007199254740993}");
	ASSERT_EQ(t->ttfb_us, 2000);
	ASSERT_EQ(t->total_us, 3000);

	t = &txns[2];
	ASSERT_STR_EQ(t->server, "[::1]:9000");
	ASSERT_STR_EQ(t->req.host, "[::1]:9000");
	ASSERT_STR_EQ(t->req.target, "/");
	ASSERT_EQ(t->res.status, 204);
	ASSERT(t->res.reason == NULL);
	ASSERT(t->res.body == NULL);
	ASSERT_EQ(t->res.body_len, 0);
	ASSERT_STR_EQ(t->ts, "2026-11-26T05:01:04.500000Z");

	har_txns_free(txns, n);

	/* --dir in. */
	ASSERT_EQ(har_import("t.har", browser_har, strlen(browser_har),
	    SNAP_DIR_IN, &txns, &n, &cause), 0);
	ASSERT_EQ(n, 3);
	ASSERT_EQ(txns[2].dir, SNAP_DIR_IN);
	har_txns_free(txns, n);
}

static void
test_roundtrip(void)
{
	struct snap_txn	*a, *b;
	struct buf	 har, ea, eb;
	char		*cause = NULL;
	size_t		 na, nb, i;

	ASSERT_EQ(import(browser_har, &a, &na, &cause), 0);
	buf_init(&har);
	har_export_begin(&har);
	for (i = 0; i < na; i++)
		har_export_entry(&har, &a[i], i);
	har_export_end(&har);
	/* Bodies are never numbers to a HAR reader either. */
	ASSERT(strstr(har.data, "9007199254740993") != NULL);
	ASSERT(strstr(har.data, "\"encoding\":\"base64\"") != NULL);
	ASSERT(strstr(har.data, "\"creator\":{\"name\":\"decoy\"") != NULL);

	ASSERT_EQ(har_import("x.har", har.data, har.len, SNAP_DIR_OUT, &b, &nb,
	    &cause), 0);
	if (cause != NULL) {
		fprintf(stderr, "%s\n%s\n", cause, har.data);
		free(cause);
	}
	ASSERT_EQ(nb, na);
	buf_init(&ea);
	buf_init(&eb);
	encode_all(&ea, a, na);
	encode_all(&eb, b, nb);
	ASSERT_EQ(ea.len, eb.len);
	ASSERT(ea.len == eb.len && memcmp(ea.data, eb.data, ea.len) == 0);
	if (ea.len != eb.len || memcmp(ea.data, eb.data, ea.len) != 0)
		fprintf(stderr, "first:\n%s\nsecond:\n%s\n", ea.data,
		    eb.data);
	buf_free(&ea);
	buf_free(&eb);
	buf_free(&har);
	har_txns_free(a, na);
	har_txns_free(b, nb);
}

/* A snapshot with a gzip body keeps its Content-Encoding through HAR. */
static void
test_raw_encoding(void)
{
	struct snap_txn	 t, *b;
	struct buf	 har, ea, eb;
	char		*cause = NULL;
	size_t		 nb;
	const char	*line = "{\"v\":1,\"ts\":\"2026-11-26T05:01:02.000001Z\","
	    "\"dir\":\"out\",\"server\":\"a.example:80\",\"req\":{\"method\":"
	    "\"GET\",\"target\":\"/g\",\"host\":\"a.example\"},\"res\":"
	    "{\"status\":200,\"reason\":\"OK\",\"headers\":[[\"Content-Encoding\","
	    "\"gzip\"]],\"body_b64\":\"H4sIAAAAAAAAAwMAAAAAAAAAAAA=\"},"
	    "\"timing\":{\"start_us\":1795669262000001,\"total_us\":7}}";

	ASSERT_EQ(snap_decode_line(line, strlen(line), &t, &cause), 0);
	buf_init(&har);
	har_export_begin(&har);
	har_export_entry(&har, &t, 0);
	har_export_end(&har);
	ASSERT(strstr(har.data, "\"_decoy_raw\":true") != NULL);
	ASSERT_EQ(har_import("x.har", har.data, har.len, SNAP_DIR_OUT, &b, &nb,
	    &cause), 0);
	ASSERT_EQ(nb, 1);
	buf_init(&ea);
	buf_init(&eb);
	snap_encode(&ea, &t);
	if (nb == 1)
		snap_encode(&eb, &b[0]);
	ASSERT_STR_EQ(eb.data, ea.data);
	buf_free(&ea);
	buf_free(&eb);
	buf_free(&har);
	snap_txn_free(&t);
	har_txns_free(b, nb);

	/* A browser's Content-Encoding goes: its text is decoded. */
	ASSERT_EQ(import("{\"log\":{\"entries\":[{\"request\":{\"method\":"
	    "\"GET\",\"url\":\"http://h/\"},\"response\":{\"status\":200,"
	    "\"headers\":[{\"name\":\"Content-Encoding\",\"value\":\"br\"},"
	    "{\"name\":\"X\",\"value\":\"1\"}],\"content\":{\"text\":\"hi\"}}}]}}",
	    &b, &nb, &cause), 0);
	ASSERT_EQ(nb, 1);
	ASSERT_EQ(b[0].res.nheaders, 1);
	ASSERT_STR_EQ(b[0].res.headers[0].name, "X");
	ASSERT(b[0].ts == NULL);
	ASSERT_EQ(b[0].start_us, -1);
	ASSERT_EQ(b[0].ttfb_us, -1);
	har_txns_free(b, nb);
}

static void
expect_error(const char *har, const char *want)
{
	struct snap_txn	*txns;
	char		*cause = NULL;
	size_t		 n;

	ASSERT_EQ(import(har, &txns, &n, &cause), -1);
	ASSERT(txns == NULL && n == 0);
	ASSERT_STR_EQ(cause, want);
	free(cause);
}

static void
test_errors(void)
{
	struct snap_txn	*txns;
	char		*cause;
	size_t		 n, len, cut;

	expect_error("", "t.har:1:1: a HAR file is a JSON object");
	expect_error("[]", "t.har:1:1: a HAR file is a JSON object");
	expect_error("{}", "t.har:1:1: no \"log\" member (not a HAR file?)");
	expect_error("{\"log\":{}}", "t.har:1:8: \"log\" has no \"entries\"");
	expect_error("{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\","
	    "\"url\":\"/rel\"}}]}}",
	    "t.har:1:53: \"url\" is not an absolute URL");
	expect_error("{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\","
	    "\"url\":\"http://h:99999/\"}}]}}",
	    "t.har:1:53: \"url\": bad port (expected 1 to 65535)");
	expect_error("{\"log\":{\"entries\":[{\"request\":{\"url\":\"http://h/\"}}]}}",
	    "t.har:1:31: \"request\" has no \"method\"");
	expect_error("{\"log\":{\"entries\":[{\"startedDateTime\":\"yesterday\","
	    "\"request\":{\"method\":\"GET\",\"url\":\"http://h/\"}}]}}",
	    "t.har:1:39: \"startedDateTime\" is not an ISO 8601 date-time");
	expect_error("{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\","
	    "\"url\":\"http://h/\"},\"response\":{\"status\":42}}]}}",
	    "t.har:1:87: \"status\" must be 0 or from 100 to 999");
	expect_error("{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\","
	    "\"url\":\"http://h/\"},\"response\":{\"status\":200,\"content\":"
	    "{\"text\":\"!!\",\"encoding\":\"base64\"}}}]}}",
	    "t.har:1:109: bad base64 in \"text\"");
	expect_error("{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\","
	    "\"url\":\"http://h/\",\"headers\":[{\"name\":\"a\\u0000b\","
	    "\"value\":\"\"}]}}]}}",
	    "t.har:1:84: \"name\" contains a NUL character");
	expect_error("{\"log\":{\"entries\":[]}} x",
	    "t.har:1:24: unexpected 'x', expected the end of the line");

	/* Every truncation of a good HAR fails cleanly (or, cut inside the
	 * trailing whitespace, succeeds). */
	len = strlen(browser_har);
	for (cut = 0; cut < len; cut++) {
		cause = NULL;
		if (har_import("t.har", browser_har, cut, SNAP_DIR_OUT, &txns,
		    &n, &cause) == 0) {
			ASSERT(cut >= len - 1);
			har_txns_free(txns, n);
		} else {
			ASSERT(cause != NULL &&
			    strncmp(cause, "t.har:", 6) == 0 &&
			    cause[6] >= '1' && cause[6] <= '9');
			free(cause);
		}
	}
}

int
main(void)
{
	log_init("test-har", LOG_LEVEL_ERROR);
	test_browser();
	test_roundtrip();
	test_raw_encoding();
	test_errors();
	UNIT_DONE();
}
