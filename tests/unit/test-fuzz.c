/*
 * test-fuzz.c -- the pure parts of the fuzz campaign (fuzz.h): kind
 * names, endpoint templates, crash signatures from sanitizer reports and
 * wait statuses, minimisation variants (fuzz_shrink), and the
 * protocol-noise classifier (fuzz_noise_classify) on the answers real
 * servers give to malformed requests (bench/noise-peers.sh).
 */
#include "config.h"

#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "unit.h"

static void
test_kinds(void)
{
	enum fuzz_kind	k;

	for (k = FUZZ_5XX; k <= FUZZ_CONNECT; k++)
		ASSERT_EQ(fuzz_kind_parse(fuzz_kind_name(k)), k);
	ASSERT_STR_EQ(fuzz_kind_name(FUZZ_BAD_RESPONSE), "bad-response");
	ASSERT_EQ(fuzz_kind_parse("nonsense"), FUZZ_OK);
}

static void
expect_endpoint(const char *method, const char *path, const char *want)
{
	char	*got = fuzz_endpoint(method, strlen(method), path,
		    strlen(path));

	ASSERT_STR_EQ(got, want);
	free(got);
}

static void
test_endpoints(void)
{
	expect_endpoint("GET", "/items/42", "GET /items/:n");
	expect_endpoint("GET", "/items/42?x=1", "GET /items/:n");
	expect_endpoint("DELETE",
	    "/u/6f1c2a9e-5b1d-4c3e-9a7f-2d8e4b6c1a30/cart",
	    "DELETE /u/:id/cart");
	expect_endpoint("POST", "/cart/items", "POST /cart/items");
	expect_endpoint("GET", "/v2/sku-1001", "GET /v2/sku-1001");
	expect_endpoint("GET", "", "GET /");
	expect_endpoint("GET", "/", "GET /");
}

static void
expect_sig(const char *err, int wstatus, const char *want, int excerpt)
{
	char	*ex = NULL, *sig;

	sig = fuzz_crash_signature(err, strlen(err), wstatus, &ex);
	if (want == NULL)
		ASSERT(sig == NULL);
	else
		ASSERT_STR_EQ(sig, want);
	ASSERT_EQ(ex != NULL, excerpt);
	free(sig);
	free(ex);
}

static void
test_signatures(void)
{
	static const char asan[] =
	    "buggy info: listening\n"
	    "=================================================================\n"
	    "==1==ERROR: AddressSanitizer: stack-buffer-overflow on address "
	    "0x7f at pc 0x7f bp 0x7f sp 0x7f\n"
	    "WRITE of size 4096 at 0x7f thread T1\n"
	    "    #0 0x7f in __interceptor_memcpy ../../../../src/libsanitizer/"
	    "sanitizer_common/sanitizer_common_interceptors.inc:827\n"
	    "    #1 0x55 in buggy_search_key examples/buggy/buggy.c:219\n"
	    "    #2 0x55 in buggy_search examples/buggy/buggy.c:234\n";
	static const char raw[] =
	    "==2==ERROR: AddressSanitizer: stack-overflow on address 0x7f\n"
	    "    #0 0x7f  (/lib/x86_64-linux-gnu/libasan.so.8+0x48060)\n"
	    "    #1 0x55  (/build/examples/buggy/buggy+0x4d6fa)\n";
	static const char ubsan[] =
	    "src/x.c:12:5: runtime error: signed integer overflow: 1 + 2\n";

	expect_sig(asan, -1, "AddressSanitizer: stack-buffer-overflow in "
	    "buggy_search_key", 1);
	expect_sig(raw, 256, "AddressSanitizer: stack-overflow in buggy", 1);
	expect_sig(ubsan, -1, "runtime error: signed integer overflow at "
	    "src/x.c:12:5", 1);
	/* No report: the death. */
	expect_sig("*** stack smashing detected ***: terminated\n",
	    SIGABRT, "signal SIGABRT", 0);
	expect_sig("", SIGSEGV, "signal SIGSEGV", 0);
	expect_sig("", 3 << 8, "exit 3", 0);
	expect_sig("", (128 + SIGSEGV) << 8, "signal SIGSEGV", 0);
	/* Alive, no report: nothing. */
	expect_sig("just a log line\n", -1, NULL, 0);
}

/* Every variant of req, in order, into a NUL-separated list. */
static size_t
variants(const char *req, struct buf *all)
{
	struct buf	out;
	size_t		i;

	buf_init(&out);
	buf_reset(all);
	for (i = 0; fuzz_shrink(req, strlen(req), i, &out); i++) {
		buf_append(all, out.data, out.len);
		buf_append_byte(all, '\0');
	}
	buf_free(&out);
	return i;
}

/* True if one of the variants in all is exactly want. */
static int
has_variant(const struct buf *all, const char *want)
{
	size_t	off = 0, n;

	while (off < all->len) {
		n = strlen(all->data + off);
		if (strcmp(all->data + off, want) == 0)
			return 1;
		off += n + 1;
	}
	return 0;
}

static void
test_shrink(void)
{
	struct buf	all;
	size_t		n, off;
	const char	*req =
	    "POST /cart/items?a=1&b=2 HTTP/1.1\r\n"
	    "Host: h\r\n"
	    "User-Agent: curl\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 26\r\n"
	    "\r\n"
	    "{\"sku\":\"sku-1001\",\"qty\":2}";
	const char	*lie =
	    "POST /upload HTTP/1.1\r\n"
	    "Host: h\r\n"
	    "X-A: 1\r\n"
	    "Content-Length: 2147483648\r\n"
	    "\r\n"
	    "hello";

	buf_init(&all);
	n = variants(req, &all);
	ASSERT_EQ(n, 9);
	/* Every variant is smaller, and Content-Length follows the body. */
	for (off = 0; off < all.len; off += strlen(all.data + off) + 1)
		ASSERT(strlen(all.data + off) < strlen(req));
	ASSERT(has_variant(&all,
	    "POST /cart/items?a=1&b=2 HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 26\r\n\r\n{\"sku\":\"sku-1001\",\"qty\":2}"));
	ASSERT(has_variant(&all,
	    "POST /cart/items?a=1&b=2 HTTP/1.1\r\nHost: h\r\n"
	    "Content-Type: application/json\r\nContent-Length: 26\r\n\r\n"
	    "{\"sku\":\"sku-1001\",\"qty\":2}"));
	/* A JSON member goes with its comma. */
	ASSERT(has_variant(&all,
	    "POST /cart/items?a=1&b=2 HTTP/1.1\r\nHost: h\r\n"
	    "User-Agent: curl\r\nContent-Type: application/json\r\n"
	    "Content-Length: 9\r\n\r\n{\"qty\":2}"));
	ASSERT(has_variant(&all,
	    "POST /cart/items?a=1&b=2 HTTP/1.1\r\nHost: h\r\n"
	    "User-Agent: curl\r\nContent-Type: application/json\r\n"
	    "Content-Length: 18\r\n\r\n{\"sku\":\"sku-1001\"}"));
	/* The query, then one parameter. */
	ASSERT(has_variant(&all,
	    "POST /cart/items HTTP/1.1\r\nHost: h\r\n"
	    "User-Agent: curl\r\nContent-Type: application/json\r\n"
	    "Content-Length: 26\r\n\r\n{\"sku\":\"sku-1001\",\"qty\":2}"));
	ASSERT(has_variant(&all,
	    "POST /cart/items?b=2 HTTP/1.1\r\nHost: h\r\n"
	    "User-Agent: curl\r\nContent-Type: application/json\r\n"
	    "Content-Length: 26\r\n\r\n{\"sku\":\"sku-1001\",\"qty\":2}"));
	ASSERT(has_variant(&all,
	    "POST /cart/items?a=1 HTTP/1.1\r\nHost: h\r\n"
	    "User-Agent: curl\r\nContent-Type: application/json\r\n"
	    "Content-Length: 26\r\n\r\n{\"sku\":\"sku-1001\",\"qty\":2}"));
	/* A long path segment is halved, the others and the query kept;
	 * three query parameters: each goes alone, with one '&'. */
	ASSERT_EQ(variants(
	    "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/b?x=1&y=2&z=3 "
	    "HTTP/1.1\r\nHost: h\r\n\r\n", &all), 5);
	ASSERT(has_variant(&all, "GET /aaaaaaaaaaaaaaaaaaaa/b?x=1&y=2&z=3 "
	    "HTTP/1.1\r\nHost: h\r\n\r\n"));
	ASSERT(has_variant(&all,
	    "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/b "
	    "HTTP/1.1\r\nHost: h\r\n\r\n"));
	ASSERT(has_variant(&all,
	    "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/b?x=1&z=3 "
	    "HTTP/1.1\r\nHost: h\r\n\r\n"));
	ASSERT(has_variant(&all,
	    "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/b?x=1&y=2 "
	    "HTTP/1.1\r\nHost: h\r\n\r\n"));
	ASSERT(has_variant(&all,
	    "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/b?y=2&z=3 "
	    "HTTP/1.1\r\nHost: h\r\n\r\n"));
	variants(req, &all);
	/* Host and a matching Content-Length are never removed. */
	ASSERT(!has_variant(&all,
	    "POST /cart/items?a=1&b=2 HTTP/1.1\r\nUser-Agent: curl\r\n"
	    "Content-Type: application/json\r\nContent-Length: 26\r\n\r\n"
	    "{\"sku\":\"sku-1001\",\"qty\":2}"));

	/* A lying Content-Length is left as it is, and may go. */
	variants(lie, &all);
	ASSERT(has_variant(&all, "POST /upload HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 2147483648\r\n\r\nhello"));
	ASSERT(has_variant(&all, "POST /upload HTTP/1.1\r\nHost: h\r\n"
	    "X-A: 1\r\nContent-Length: 2147483648\r\n\r\n"));
	ASSERT(has_variant(&all, "POST /upload HTTP/1.1\r\nHost: h\r\n"
	    "X-A: 1\r\n\r\nhello"));

	/* Deep nesting: half the levels go, opening and closing. */
	variants("POST /d HTTP/1.1\r\nHost: h\r\nContent-Length: 47\r\n\r\n"
	    "{\"t\":\"x\",\"m\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}", &all);
	ASSERT(has_variant(&all, "POST /d HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 31\r\n\r\n"
	    "{\"t\":\"x\",\"m\":[[[[[[[[1]]]]]]]]}"));
	variants("POST /d HTTP/1.1\r\nHost: h\r\nContent-Length: 51\r\n\r\n"
	    "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":1",
	    &all);
	ASSERT(has_variant(&all, "POST /d HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 26\r\n\r\n{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":1"));

	/* Garbage: no variant is bigger, none crashes. */
	n = variants("\x01\x02 \r\n\r\r\n\n{[[[\"", &all);
	for (off = 0; off < all.len; off += strlen(all.data + off) + 1)
		ASSERT(strlen(all.data + off) <= 13);
	(void)n;
	buf_free(&all);
}

/*
 * One answer: the request (with the method of the corpus entry it came
 * from), how decoy's client saw the answer, and the verdict.
 */
struct noise_case {
	const char	*server;
	const char	*req;
	const char	*method;	/* the corpus entry's */
	int		 halfclosed;
	enum fuzz_kind	 kind;
	int		 status;
	enum fuzz_noise	 want;
};

#define HPAD "X-P: " \
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static void
test_noise(void)
{
	/*
	 * What nginx 1.22.1, Python 3.11.2 http.server, Node v20.20.2 and
	 * Go 1.19.8 net/http answered (bench/noise-peers.sh, 2026-12-07);
	 * 4xx and 2xx answers are not failures and are left out.
	 */
	static const struct noise_case cases[] = {
	{ "python", "PROPFIND /x HTTP/1.1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_5XX, 501, FUZZ_NOISE_METHOD },
	{ "python", "CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_5XX, 501, FUZZ_NOISE_METHOD },
	{ "python", "G(T /x HTTP/1.1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_5XX, 501, FUZZ_NOISE_METHOD },
	{ "python", "GET /x HTTP/2.0\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_BAD_RESPONSE, 0, FUZZ_NOISE_VERSION },
	{ "python", "GET /x HTTP/1&1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_BAD_RESPONSE, 0, FUZZ_NOISE_VERSION },
	{ "python", "GET /x\r\n\r\n", "GET", 0,
	    FUZZ_BAD_RESPONSE, 0, FUZZ_NOISE_LINE },
	{ "python", "\x16\x03\x01\x02\x00\x01\r\n\r\n", "GET", 0,
	    FUZZ_BAD_RESPONSE, 0, FUZZ_NOISE_METHOD },
	{ "python", "\r\n\r\n\r\n", "GET", 0,
	    FUZZ_EOF, 0, FUZZ_NOISE_INCOMPLETE },
	{ "python", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n"
	    "\r\n1", "GET", 1, FUZZ_5XX, 501, FUZZ_NOISE_METHOD },
	{ "python", "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip"
	    "\r\n\r\nab", "POST", 1, FUZZ_5XX, 501, FUZZ_NOISE_FRAMING },
	{ "nginx", "GET /x HTTP/2.0\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_5XX, 505, FUZZ_NOISE_VERSION },
	{ "nginx", "GET /x\r\n\r\n", "GET", 0,
	    FUZZ_BAD_RESPONSE, 0, FUZZ_NOISE_LINE },
	{ "nginx", "\r\n\r\n\r\n", "GET", 0,
	    FUZZ_TIMEOUT, 0, FUZZ_NOISE_INCOMPLETE },
	{ "nginx", "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip"
	    "\r\n\r\nab", "POST", 1, FUZZ_5XX, 501, FUZZ_NOISE_FRAMING },
	{ "node", "CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_EOF, 0, FUZZ_NOISE_TARGET },
	{ "node", "\r\n\r\n\r\n", "GET", 0,
	    FUZZ_TIMEOUT, 0, FUZZ_NOISE_INCOMPLETE },
	{ "go", "GET /x HTTP/2.0\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_5XX, 505, FUZZ_NOISE_VERSION },
	{ "go", "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip"
	    "\r\n\r\nab", "POST", 1, FUZZ_5XX, 501, FUZZ_NOISE_FRAMING },
	/* Closes after garbage (buggy, many servers). */
	{ "close", "G(T /x HTTP/1.1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_EOF, 0, FUZZ_NOISE_METHOD },
	{ "close", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_RESET, 0, FUZZ_NOISE_VERSION },
	{ "close", "GET /\xff HTTP/1.1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_EOF, 0, FUZZ_NOISE_TARGET },
	{ "close", "GET /x HTTP/1.1\r\nHost: h\r\nX-A 1\r\n\r\n", "GET",
	    0, FUZZ_EOF, 0, FUZZ_NOISE_HEADERS },
	{ "close", "GET /x HTTP/1.1\r\nHost: h\r\n" HPAD HPAD HPAD HPAD HPAD
	    HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD
	    HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD
	    HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD
	    HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD
	    HPAD HPAD HPAD HPAD HPAD HPAD HPAD HPAD "\r\n\r\n", "GET", 0,
	    FUZZ_EOF, 0, FUZZ_NOISE_HEADERS },
	{ "close", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n"
	    "\r\nab", "POST", 1, FUZZ_EOF, 0, FUZZ_NOISE_FRAMING },
	/* Findings: whatever the server, these are bugs. */
	{ "bug", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n"
	    "\r\n{}", "POST", 0, FUZZ_5XX, 500, FUZZ_NOISE_NONE },
	{ "bug", "G(T /x HTTP/1.1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_5XX, 500, FUZZ_NOISE_NONE },
	{ "bug", "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_5XX, 501, FUZZ_NOISE_NONE },
	{ "bug", "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_5XX, 505, FUZZ_NOISE_NONE },
	{ "bug", "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_5XX, 503, FUZZ_NOISE_NONE },
	{ "bug", "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_EOF, 0, FUZZ_NOISE_NONE },
	{ "bug", "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_RESET, 0, FUZZ_NOISE_NONE },
	{ "bug", "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_BAD_RESPONSE, 0, FUZZ_NOISE_NONE },
	{ "bug", "GET /x HTTP/1.1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_TIMEOUT, 0, FUZZ_NOISE_NONE },
	{ "bug", "PROPFIND /x HTTP/1.1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_EOF, 0, FUZZ_NOISE_NONE },
	{ "bug", "GET /x HTTP/2.0\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_5XX, 501, FUZZ_NOISE_NONE },
	{ "bug", "G(T /x HTTP/1.1\r\nHost: h\r\n\r\n", "GET", 0,
	    FUZZ_CRASH, 0, FUZZ_NOISE_NONE },
	{ "bug", "GET /x\r\n\r\n", "GET", 0,
	    FUZZ_SLOW, 0, FUZZ_NOISE_NONE },
	/* The upload hang: the client half-closed, the server waits on. */
	{ "bug", "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: "
	    "70000\r\n\r\nab", "POST", 1, FUZZ_TIMEOUT, 0,
	    FUZZ_NOISE_NONE },
	/* Not half-closed: waiting for the rest is right. */
	{ "wait", "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: "
	    "70000\r\n\r\nab", "POST", 0, FUZZ_TIMEOUT, 0,
	    FUZZ_NOISE_INCOMPLETE },
	{ "wait", "GET /x HTTP/1.1\r\nHost: h\r\n", "GET", 0,
	    FUZZ_TIMEOUT, 0, FUZZ_NOISE_INCOMPLETE },
	};
	size_t	i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct noise_case *c = &cases[i];
		enum fuzz_noise got;

		got = fuzz_noise_classify(c->req, strlen(c->req), c->method,
		    strlen(c->method), c->halfclosed, c->kind, c->status);
		if (got != c->want)
			fprintf(stderr, "noise case %zu (%s, %.30s...): want "
			    "%s, got %s\n", i, c->server, c->req,
			    fuzz_noise_name(c->want), fuzz_noise_name(got));
		ASSERT_EQ(got, c->want);
	}
	ASSERT_STR_EQ(fuzz_noise_name(FUZZ_NOISE_INCOMPLETE), "incomplete");
	ASSERT_STR_EQ(fuzz_noise_name(FUZZ_NOISE_LINE), "request-line");
	ASSERT_STR_EQ(fuzz_noise_name(FUZZ_NOISE_COUNT), "?");
	for (i = FUZZ_NOISE_NONE; i < FUZZ_NOISE_COUNT; i++)
		ASSERT(strcmp(fuzz_noise_name((enum fuzz_noise)i), "?") != 0);
}

static void
expect_body_sig(const char *body, const char *req, const char *want)
{
	char	*got = fuzz_body_signature(body, strlen(body), req,
		    req != NULL ? strlen(req) : 0);

	ASSERT_STR_EQ(got, want);
	free(got);
}

/* Two answers that must have one signature (one bug), or two. */
static void
expect_same_sig(const char *a, const char *ra, const char *b,
    const char *rb, int same)
{
	char	*x = fuzz_body_signature(a, strlen(a), ra, strlen(ra));
	char	*y = fuzz_body_signature(b, strlen(b), rb, strlen(rb));

	if ((strcmp(x, y) == 0) != same)
		fprintf(stderr, "signatures \"%s\" and \"%s\": want %s\n",
		    x, y, same ? "equal" : "different");
	ASSERT_EQ(strcmp(x, y) == 0, same);
	free(x);
	free(y);
}

static void
test_body_signatures(void)
{
	/* JSON: members, numbers and ids masked, quoted values '*'. */
	expect_body_sig("{\"error\":\"internal_error\",\"exception\":"
	    "\"KeyError\",\"message\":\"'currency'\",\"trace_id\":"
	    "\"9e3779b15bd1e994\",\"n\":17,\"x\":{\"a\":[1]}}", NULL,
	    "error=internal_error exception=KeyError message='*' trace_id=# "
	    "n=# x={}");
	/* Python traceback: the exception's class, where it was raised. */
	expect_body_sig("Traceback (most recent call last):\n  File "
	    "\"/srv/app/orders.py\", line 42, in create\n    qty = "
	    "body['qty']\nKeyError: 'qty'\n", NULL,
	    "KeyError in create (orders.py:42)");
	expect_same_sig("Traceback (most recent call last):\n  File \"/a/"
	    "b.py\", line 9, in run\n    fn()\n  File \"/a/b.py\", line 93, "
	    "in create\n    t = q * p + 0\nTypeError: can only concatenate "
	    "str (not \"int\") to str\n", "{}",
	    "Traceback (most recent call last):\n  File \"/a/b.py\", line 9, "
	    "in run\n    fn()\n  File \"/a/b.py\", line 93, in create\n    "
	    "t = q * p + 0\nTypeError: can't multiply sequence by non-int of "
	    "type 'str'\n", "{}", 1);
	expect_same_sig("Traceback (most recent call last):\n  File \"/a/"
	    "b.py\", line 93, in create\nOverflowError: x\n", "{}",
	    "Traceback (most recent call last):\n  File \"/a/b.py\", line 97, "
	    "in create\nOverflowError: x\n", "{}", 0);
	/* HTML: the title. */
	expect_body_sig("<html><head><title>500 Internal Server Error</title>"
	    "</head><body>at 0x7f3a</body></html>", NULL,
	    "# Internal Server Error");
	/* Java, Go: the first line, numbers and paths masked. */
	expect_body_sig("java.lang.ArithmeticException: integer overflow\n"
	    "\tat com.example.Orders.total(Orders.java:88)\n", NULL,
	    "java.lang.ArithmeticException: integer overflow");
	expect_body_sig("panic: runtime error: index out of range [5] with "
	    "length 3 in /go/src/app/main.go\n", NULL,
	    "panic: runtime error: index out of range # with length # in /*");
	expect_body_sig("", NULL, "");
	/* Echoed input: masked whole; non-ASCII and long tokens are data. */
	expect_body_sig("{\"message\":\"no email for user annabel\"}",
	    "POST /users HTTP/1.1\r\n\r\n{\"name\":\"annabel\"}",
	    "message=no email for user *");
	expect_body_sig("{\"message\":\"bad name \\u0012\u00e9x\"}", NULL,
	    "message=bad name *");

	/* Repeats of one bug: one signature. */
	expect_same_sig(
	    "{\"exception\":\"OverflowError\",\"message\":\"amount 2147483648"
	    " does not fit (max 2147483647)\",\"trace_id\":\"3c6ef3625bd1e997\"}",
	    "{\"amount\":2147483648}",
	    "{\"exception\":\"OverflowError\",\"message\":\"amount 4e9 does "
	    "not fit (max 2147483647)\",\"trace_id\":\"aa01bb02cc03dd04\"}",
	    "{\"amount\":4e9}", 1);
	expect_same_sig("{\"message\":\"amount 2147483648 does not fit\"}",
	    "{\"amount\":2147483648}",
	    "{\"message\":\"amount 2500000000 does not fit\"}",
	    "{\"amount\":2.5e9}", 1);
	expect_same_sig(
	    "{\"message\":\"'NoneType' has no 'lower' (user ann)\"}",
	    "{\"name\":\"ann\"}",
	    "{\"message\":\"'NoneType' has no 'lower' (user AAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
	    "{\"name\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAA\"}", 1);
	expect_same_sig("Traceback (most recent call last):\n  File \"/a/"
	    "b.py\", line 9, in f\nKeyError: 'email'\n", "{}",
	    "Traceback (most recent call last):\n  File \"/a/b.py\", line 9, "
	    "in f\nKeyError: 'name'\n", "{}", 1);
	expect_same_sig("{\"message\":\"no email (user ann, bob cat)\"}",
	    "{\"name\":\"ann, bob cat\"}", "{\"message\":\"no email (user ann)\"}",
	    "{\"name\":\"ann\"}", 1);
	expect_same_sig("{\"message\":\"no email (user aGVsbG8=)\"}",
	    "{\"name\":\"aGVsbG8=\"}", "{\"message\":\"no email (user ann)\"}",
	    "{\"name\":\"ann\"}", 1);
	expect_same_sig("{\"message\":\"no email (user a)\"}",
	    "{\"name\":\"a\"}", "{\"message\":\"no email (user ann)\"}",
	    "{\"name\":\"ann\"}", 1);
	expect_same_sig("{\"message\":\"no email (user bob)\"}",
	    "{\"name\":\"bob\"}",
	    "{\"message\":\"no email (user \\\"\\\"\\\"\\\"\\\")\"}",
	    "{\"name\":\"\\\"\\\"\\\"\\\"\\\"\"}", 1);
	/* Different bugs on one endpoint: different signatures. */
	expect_same_sig("{\"exception\":\"KeyError\",\"message\":\"'x'\"}",
	    "{}", "{\"exception\":\"TypeError\",\"message\":\"'x'\"}", "{}",
	    0);
	expect_same_sig("KeyError: 'email'\n", "{}",
	    "TypeError: unsupported operand type(s) for *: 'str' and 'int'\n",
	    "{}", 0);
}

int
main(void)
{
	test_kinds();
	test_endpoints();
	test_signatures();
	test_shrink();
	test_noise();
	test_body_signatures();
	UNIT_DONE();
}
