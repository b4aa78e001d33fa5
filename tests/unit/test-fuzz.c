/*
 * test-fuzz.c -- the pure parts of the fuzz campaign (fuzz.h): kind
 * names, endpoint templates, crash signatures from sanitizer reports and
 * wait statuses, minimisation variants (fuzz_shrink), and the
 * protocol-noise classifier (fuzz_noise_classify) on the answers real
 * servers give to malformed requests (bench/noise-peers.sh): a table
 * transcribed here, and the raw answers themselves as recorded in
 * tests/noise-peers/answers.txt (bench/noise-peers.sh --record re-records
 * them), which also feed the signature normaliser.
 */
#include "config.h"

#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "fuzz.h"
#include "fuzz-sched.h"
#include "grpc.h"
#include "mutate.h"
#include "unit.h"
#include "xmalloc.h"

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
	expect_endpoint("GET", "/items/42", "GET /items/{n}");
	expect_endpoint("GET", "/items/42?x=1", "GET /items/{n}");
	expect_endpoint("DELETE",
	    "/u/6f1c2a9e-5b1d-4c3e-9a7f-2d8e4b6c1a30/cart",
	    "DELETE /u/{uuid}/cart");
	expect_endpoint("POST", "/cart/items", "POST /cart/items");
	expect_endpoint("GET", "/v2/sku-1001", "GET /v2/{id}");
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
	/* examples/buggy skips an empty line before the request line. */
	{ "buggy", "\r\nAcceGET /items/0 HTTP/1.1\r\nHost: h\r\n\r\n",
	    "GET", 0, FUZZ_5XX, 501, FUZZ_NOISE_METHOD },
	/* http.server closes at an empty line before the request line. */
	{ "python", "\r\n\r\nAcceGET /o HTTP/1.1\r\nHost: h\r\n\r\n",
	    "GET", 0, FUZZ_EOF, 0, FUZZ_NOISE_LINE },
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
	/* Echoed raw bytes the service re-encoded in part: the run of
	 * data glued to them by brackets is data too (the name
	 * "bo|dz{<0x11><0xfa>3&<0xaf>8(b" came back as below and used to
	 * leave a "b" in the signature: a second finding of one bug). */
	expect_same_sig("{\"exception\":\"AttributeError\",\"message\":"
	    "\"'NoneType' object has no attribute 'lower' (user "
	    "bo|dz{\\u0011\u00fa3&\u00af8(b)\",\"trace_id\":\"171560755bd1e990\"}",
	    "POST /users HTTP/1.1\r\n\r\n{\"name\":\"bo|dz{\x11\xfa" "3&\xaf" "8(b\"}",
	    "{\"exception\":\"AttributeError\",\"message\":\"'NoneType' object "
	    "has no attribute 'lower' (user ann)\",\"trace_id\":"
	    "\"08d12dfd5bd1e998\"}", "POST /users HTTP/1.1\r\n\r\n"
	    "{\"name\":\"ann\"}", 1);
	/* A name with a bracket in it, echoed whole: "b{b". */
	expect_same_sig("{\"message\":\"no attribute (user b{b)\"}",
	    "POST /users HTTP/1.1\r\n\r\n{\"name\":\"b{b\"}",
	    "{\"message\":\"no attribute (user ann)\"}",
	    "POST /users HTTP/1.1\r\n\r\n{\"name\":\"ann\"}", 1);
	/* A quoted value is '*', raw bytes in it or not. */
	expect_same_sig("{\"message\":\"for *: 'str' (amount '\u00f8\x88')\"}",
	    "POST /p HTTP/1.1\r\n\r\n{\"amount\":\"\xf8\x88\"}",
	    "{\"message\":\"for *: 'str' (amount 'ann@example.com')\"}",
	    "POST /p HTTP/1.1\r\n\r\n{\"amount\":\"ann@example.com\"}", 1);
	/* Digits sent as a string are echoed data like any name. */
	expect_same_sig("{\"message\":\"no attribute (user 001)\"}",
	    "POST /users HTTP/1.1\r\n\r\n{\"name\":\"001\"}",
	    "{\"message\":\"no attribute (user ann)\"}",
	    "POST /users HTTP/1.1\r\n\r\n{\"name\":\"ann\"}", 1);
	/* Quotes in it: not a run of quoted values. */
	expect_same_sig("{\"message\":\"no attribute (user '''''ann)\"}",
	    "POST /users HTTP/1.1\r\n\r\n{\"name\":\"'''''ann\"}",
	    "{\"message\":\"no attribute (user ann)\"}",
	    "POST /users HTTP/1.1\r\n\r\n{\"name\":\"ann\"}", 1);
	/* A short name cut at a raw NUL: "an<NUL>" echoed as "an". */
	{
		static const char req[] = "POST /users HTTP/1.1\r\n\r\n"
		    "{\"name\":\"an\0\"}";
		char *x = fuzz_body_signature("{\"message\":\"no attribute "
		    "(user an)\"}", 33, req, sizeof req - 1);

		ASSERT_STR_EQ(x, "message=no attribute user *");
		free(x);
	}
	expect_same_sig("{\"exception\":\"AttributeError\",\"message\":"
	    "\"'NoneType' object has no attribute 'lower' (user "
	    "an;6\\u001fB\u00f4<\u00b3" "9Sn)\",\"trace_id\":\"daa66d135bd1e996\"}",
	    "POST /users HTTP/1.1\r\n\r\n{\"name\":\"an;6\x1f" "B\xf4<\xb3" "9Sn\"}",
	    "{\"exception\":\"AttributeError\",\"message\":\"'NoneType' object "
	    "has no attribute 'lower' (user ann)\",\"trace_id\":"
	    "\"08d12dfd5bd1e998\"}", "POST /users HTTP/1.1\r\n\r\n"
	    "{\"name\":\"ann\"}", 1);

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
	/* A C service cuts a decoded string at \u0000 and echoes its
	 * head: still the request's value (examples/buggy, seed 3). */
	expect_same_sig("{\"message\":\"'NoneType' object has no attribute "
	    "'lower' (user bob)\",\"trace_id\":\"3c6ef3625bd1e997\"}",
	    "{\"name\":\"bob\"}",
	    "{\"message\":\"'NoneType' object has no attribute 'lower' (user "
	    "bo)\",\"trace_id\":\"538453d75bd1e992\"}",
	    "{\"name\":\"bo\\u0000b\"}", 1);
	expect_same_sig("{\"message\":\"no email (user bob)\"}",
	    "{\"name\":\"bob\"}", "{\"message\":\"no email (user alic)\"}",
	    "{\"name\":\"alic\\u0000e\"}", 1);
	/* Words the developer wrote are not the head of a request string
	 * unless an escape follows them there. */
	expect_body_sig("{\"message\":\"no email for user\"}",
	    "{\"name\":\"username\"}", "message=no email for user");
	/* A deep recursion's traceback: the exception is on the last line,
	 * far beyond the first 2 KiB. */
	{
		struct buf	tb;
		char		*got;
		int		i;

		buf_init(&tb);
		buf_append_str(&tb, "Traceback (most recent call last):\n");
		for (i = 0; i < 200; i++)
			buf_append_str(&tb, "  File \"/srv/buggy.py\", line 39, "
			    "in depth\n    return 1 + max([depth(x) for x in "
			    "v.values()] or [0])\n");
		buf_append_str(&tb, "  [Previous line repeated 996 more "
		    "times]\nRecursionError: maximum recursion depth "
		    "exceeded\n");
		got = fuzz_body_signature(tb.data, tb.len, "{}", 2);
		ASSERT_STR_EQ(got, "RecursionError in depth (buggy.py:39)");
		free(got);
		buf_free(&tb);
	}
	/* Different bugs on one endpoint: different signatures. */
	expect_same_sig("{\"exception\":\"KeyError\",\"message\":\"'x'\"}",
	    "{}", "{\"exception\":\"TypeError\",\"message\":\"'x'\"}", "{}",
	    0);
	expect_same_sig("KeyError: 'email'\n", "{}",
	    "TypeError: unsupported operand type(s) for *: 'str' and 'int'\n",
	    "{}", 0);
}

/* The three digits of a status code, or 0. */
static int
peer_status(const char *p)
{
	if (p[0] < '1' || p[0] > '5' || p[1] < '0' || p[1] > '9' ||
	    p[2] < '0' || p[2] > '9')
		return 0;
	return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}

/* Is name one of the comma-separated classes? */
static int
peer_class_in(const char *name, const char *classes)
{
	size_t	n = strlen(name);
	const char *p = classes;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == classes || p[-1] == ',') && (p[n] == ',' ||
		    p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/* Undoes bench/noise-peers.sh's escaping in place; the new length. */
static size_t
peer_unescape(char *s)
{
	char	*w = s, *r = s;
	int	 x;

	while (*r != '\0') {
		if (*r != '\\' || r[1] == '\0') {
			*w++ = *r++;
			continue;
		}
		r++;
		switch (*r) {
		case 'r': *w++ = '\r'; r++; break;
		case 'n': *w++ = '\n'; r++; break;
		case 't': *w++ = '\t'; r++; break;
		case 'x':
			ASSERT(sscanf(r + 1, "%2x", &x) == 1);
			*w++ = (char)x;
			r += 3;
			break;
		default: *w++ = *r++; break;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* A 5xx signature per (server, status) seen so far. */
struct peer_sig {
	char	server[64];
	int	status;
	char	*sig;
};

/*
 * The answers nginx, Python's http.server, Node and Go gave to malformed
 * requests (tests/noise-peers/answers.txt): every one that is a failure
 * (a 5xx, a close, an answer that is not HTTP/1.x, a timeout) is protocol
 * noise of a class the request's breakage allows; a server's 5xx pages
 * with one status have one signature (the request's values masked).
 */
static void
test_noise_recorded(void)
{
	const char	*dir = getenv("srcdir");
	char		*path, *line = NULL, *f[6], *p;
	size_t		 cap = 0, nfail = 0, nok = 0, nsig = 0, i, rlen, alen;
	struct peer_sig	 sigs[64];
	FILE		*fp;

	path = xasprintf("%s/tests/noise-peers/answers.txt",
	    dir != NULL && *dir != '\0' ? dir : ".");
	fp = fopen(path, "r");
	if (fp == NULL)
		fprintf(stderr, "%s: cannot open\n", path);
	ASSERT(fp != NULL);
	while (getline(&line, &cap, fp) != -1) {
		enum fuzz_kind	kind;
		enum fuzz_noise	got;
		int		status = 0;

		if (line[0] == '#')
			continue;
		line[strcspn(line, "\n")] = '\0';
		for (i = 0, p = line; i < 6; i++) {
			f[i] = p;
			p = strchr(p, '\t');
			ASSERT(i == 5 || p != NULL);
			if (p != NULL)
				*p++ = '\0';
		}
		rlen = peer_unescape(f[4]);
		if (strcmp(f[5], "timeout") == 0) {
			kind = FUZZ_TIMEOUT;
			alen = 0;
		} else if (strcmp(f[5], "-") == 0) {
			kind = FUZZ_EOF;
			alen = 0;
		} else {
			alen = peer_unescape(f[5]);
			if (alen > 12 && memcmp(f[5], "HTTP/1.", 7) == 0)
				status = peer_status(f[5] + 9);
			kind = status == 0 ? FUZZ_BAD_RESPONSE : status >= 500 ?
			    FUZZ_5XX : FUZZ_OK;
		}
		if (kind == FUZZ_OK) {
			nok++;
			continue;
		}
		nfail++;
		got = fuzz_noise_classify(f[4], rlen, f[2], strlen(f[2]), 0,
		    kind, status);
		if (got == FUZZ_NOISE_NONE ||
		    !peer_class_in(fuzz_noise_name(got), f[3]))
			fprintf(stderr, "%s, %s (%s %d): classes %s, got %s\n",
			    f[0], f[1], fuzz_kind_name(kind), status, f[3],
			    fuzz_noise_name(got));
		ASSERT(got != FUZZ_NOISE_NONE);
		ASSERT(peer_class_in(fuzz_noise_name(got), f[3]));
		if (kind == FUZZ_5XX) {
			const char	*body = memmem(f[5], alen, "\r\n\r\n", 4);
			char		*sig;

			ASSERT(body != NULL);
			body += 4;
			sig = fuzz_body_signature(body, alen - (size_t)(body -
			    f[5]), f[4], rlen);
			ASSERT(sig[0] != '\0');
			for (i = 0; i < nsig; i++)
				if (strcmp(sigs[i].server, f[0]) == 0 &&
				    sigs[i].status == status)
					break;
			if (i < nsig) {
				ASSERT_STR_EQ(sig, sigs[i].sig);
				free(sig);
			} else {
				ASSERT(nsig < sizeof sigs / sizeof sigs[0]);
				snprintf(sigs[nsig].server, sizeof sigs[nsig].server,
				    "%s", f[0]);
				sigs[nsig].status = status;
				sigs[nsig++].sig = sig;
				fprintf(stderr, "# %s %d: %s\n", f[0], status, sig);
			}
		}
	}
	fclose(fp);
	free(line);
	free(path);
	/* The recording covers four servers' failures and non-failures. */
	ASSERT(nfail >= 15);
	ASSERT(nok >= 20);
	ASSERT(nsig >= 4);
	for (i = 0; i < nsig; i++)
		free(sigs[i].sig);
}

/*
 * The scheduler (fuzz-sched.h).  A model service: mutants of entry 1
 * made with operator 2 on field 1 get a 400 of a new shape each time
 * and, every 64 mutant numbers, an answer of a new class (a new error);
 * everything else gets the one known answer of its entry.
 */
static void
sched_model(uint64_t i, size_t e, unsigned op, int32_t field,
    struct fuzz_sched_outcome *o)
{
	o->cls = e * 100 + 200;
	o->shape = 1;
	if (e == 1 && op == 2 && field == 1) {
		o->cls = i % 4 == 0 ? 1000 + i / 64 : 400;
		o->shape = i;
	}
}

/* Runs n picks with up to `inflight` outcomes outstanding, fed in an
 * order that depends on shuffle (0: in order); the picks into out. */
static void
sched_run(uint64_t seed, unsigned lag, size_t n, unsigned inflight,
    uint64_t shuffle, uint64_t *out, struct fuzz_sched **keep)
{
	static const uint32_t	prior[3 * 4] = { 1, 1, 1, 1,  1, 2, 3, 1,
				    4, 0, 0, 1 };
	static const size_t	nfields[3] = { 0, 3, 0 };
	struct fuzz_sched	*s;
	struct fuzz_sched_outcome o;
	uint64_t		 pend[64], x = shuffle;
	size_t			 npend = 0, i, k, e;
	unsigned		 op;
	int32_t			 field;

	s = fuzz_sched_create(3, 4, prior, nfields, 1u << 2, seed, lag);
	for (i = 0; i < n; i++) {
		/* Feed outcomes (some, in a scrambled order) until the next
		 * choice may be made. */
		while (npend >= inflight || !fuzz_sched_ready(s, i)) {
			ASSERT(npend > 0);
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			k = shuffle != 0 ? (size_t)(x >> 33) % npend : 0;
			sched_model(pend[k] >> 16, (size_t)(pend[k] >> 8 & 0xff),
			    (unsigned)(pend[k] >> 4 & 0xf),
			    (int32_t)(pend[k] & 0xf) - 1, &o);
			ASSERT_EQ(fuzz_sched_feed(s, pend[k] >> 16, &o), 0);
			pend[k] = pend[--npend];
		}
		fuzz_sched_pick(s, i, &e, &op, &field);
		ASSERT(e < 3);
		ASSERT(prior[e * 4 + op] > 0);
		ASSERT(field == -1 || (op == 2 && field >= 0 &&
		    (size_t)field < nfields[e]));
		if (op != 2 || nfields[e] == 0)
			ASSERT_EQ(field, -1);
		out[i] = (uint64_t)i << 16 | e << 8 | op << 4 |
		    (uint64_t)(field + 1);
		pend[npend++] = out[i];
	}
	if (keep != NULL)
		*keep = s;
	else
		fuzz_sched_free(s);
}

static void
test_sched(void)
{
	enum { N = 6000 };
	static uint64_t		 a[N], b[N], c[N];
	struct fuzz_sched	*s;
	struct fuzz_sched_outcome o = { 7, 1 };
	size_t			 i, hot = 0, cold = 0, first = 0, last = 0;
	size_t			 ent2 = 0;

	/* Deterministic given the same outcomes, whatever order they
	 * arrive in within the lag; another seed chooses otherwise. */
	sched_run(1, 16, N, 8, 0, a, NULL);
	sched_run(1, 16, N, 8, 99, b, NULL);
	sched_run(2, 16, N, 8, 0, c, NULL);
	ASSERT(memcmp(a, b, sizeof a) == 0);
	ASSERT(memcmp(a, c, sizeof a) != 0);

	/* Yield: the arm (1, op 2, field 1) answers with new shapes and
	 * gets more of the mutants as the campaign goes on; the entries
	 * that answer the same thing every time decay but keep a floor. */
	sched_run(1, 16, N, 8, 0, a, &s);
	for (i = 0; i < N; i++) {
		int arm = (a[i] >> 8 & 0xff) == 1 && (a[i] >> 4 & 0xf) == 2 &&
		    (a[i] & 0xf) == 2;

		if (i < 1000)
			first += arm;
		else if (i >= N - 1000)
			last += arm;
		ent2 += i >= N - 1000 && (a[i] >> 8 & 0xff) == 2;
	}
	/* By the priors alone the arm gets 1/3 * 3/7 * 1/3 = 4.8 %. */
	ASSERT(first > 48);
	ASSERT(last > first);
	ASSERT(last > 200);
	/* Floors: entry 2 (a known answer every time) still gets its
	 * explore share and more: 1/16 * 1/3 of 1000 is 21. */
	ASSERT(ent2 >= 15);
	ASSERT(fuzz_sched_entry_energy(s, 2) >= FUZZ_SCHED_FLOOR);
	ASSERT(fuzz_sched_entry_energy(s, 2) < FUZZ_SCHED_ONE);
	ASSERT(fuzz_sched_entry_energy(s, 1) > FUZZ_SCHED_ONE);
	ASSERT(fuzz_sched_arm_energy(s, 0, 0) >= FUZZ_SCHED_FLOOR);
	ASSERT(fuzz_sched_arm_energy(s, 1, 2) >
	    fuzz_sched_arm_energy(s, 1, 0));
	ASSERT(fuzz_sched_field_energy(s, 1, 1) >
	    fuzz_sched_field_energy(s, 1, 0));
	ASSERT(fuzz_sched_field_energy(s, 1, 0) >= FUZZ_SCHED_FLOOR);
	/* Shapes: at most FUZZ_SCHED_SHAPES of the 400's are kept. */
	ASSERT(fuzz_sched_behaviours(s) <= 2 * (3 + 1 + N / 64) +
	    FUZZ_SCHED_SHAPES + N / 64 * FUZZ_SCHED_SHAPES);
	fuzz_sched_free(s);

	/* Decay: one arm fed the same answer again and again falls to
	 * the floor and stays there; a new class raises it at once. */
	{
		static const uint32_t pr[1] = { 1 };
		size_t	e;
		unsigned op;
		int32_t	field;

		s = fuzz_sched_create(1, 1, pr, NULL, 0, 3, 0);
		for (i = 0; i < 400; i++) {
			fuzz_sched_pick(s, i, &e, &op, &field);
			ASSERT_EQ(fuzz_sched_feed(s, i, &o), 0);
			if (i == 1)
				hot = fuzz_sched_arm_energy(s, 0, 0);
		}
		fuzz_sched_pick(s, i, &e, &op, &field);
		cold = fuzz_sched_arm_energy(s, 0, 0);
		ASSERT(hot > FUZZ_SCHED_ONE);	/* the first was new */
		ASSERT_EQ(cold, FUZZ_SCHED_FLOOR);
		ASSERT_EQ(fuzz_sched_entry_energy(s, 0), FUZZ_SCHED_FLOOR);
		o.cls = 8;
		ASSERT_EQ(fuzz_sched_feed(s, i, &o), 0);
		/* A second outcome for one number is ignored; a number out
		 * of the window is refused. */
		o.cls = 9;
		ASSERT_EQ(fuzz_sched_feed(s, i, &o), 0);
		ASSERT_EQ(fuzz_sched_feed(s, i + 5, &o), -1);
		fuzz_sched_pick(s, i + 1, &e, &op, &field);
		ASSERT(fuzz_sched_arm_energy(s, 0, 0) > 4 * FUZZ_SCHED_FLOOR);
		ASSERT_EQ(fuzz_sched_behaviours(s), 4);
		fuzz_sched_free(s);
	}

	/* Untried arms first: every operator the entry can take is picked
	 * within the first picks (one in 16 draws by the priors), the
	 * highest prior first; one it cannot take never is. */
	{
		static const uint32_t pr[5] = { 3, 1, 0, 4, 2 };
		size_t	e, seen = 0, k;
		unsigned op, op0 = 99;
		int32_t	field;

		s = fuzz_sched_create(1, 5, pr, NULL, 0, 5, 100);
		for (k = 0; k < 8; k++) {
			fuzz_sched_pick(s, k, &e, &op, &field);
			ASSERT(op != 2);
			if (op0 == 99)
				op0 = op;
			seen |= (size_t)1 << op;
		}
		ASSERT_EQ(seen, 0x1b);
		ASSERT_EQ(op0, 3);
		fuzz_sched_free(s);
	}

	/* The lag: with lag 4 mutant 10 waits for mutants 0-5; settling
	 * gives up on them. */
	{
		static const uint32_t pr[2] = { 1, 1 };
		size_t	e;
		unsigned op;
		int32_t	field;

		s = fuzz_sched_create(1, 2, pr, NULL, 0, 3, 4);
		for (i = 0; i < 10; i++) {
			ASSERT(fuzz_sched_ready(s, i) == (i <= 4));
			if (!fuzz_sched_ready(s, i)) {
				ASSERT_EQ(fuzz_sched_feed(s, i - 5, &o), 0);
				ASSERT(fuzz_sched_ready(s, i));
			}
			fuzz_sched_pick(s, i, &e, &op, &field);
		}
		ASSERT(!fuzz_sched_ready(s, 10));
		fuzz_sched_settle(s, 10);
		ASSERT(fuzz_sched_ready(s, 10));
		fuzz_sched_pick(s, 10, &e, &op, &field);
		ASSERT_EQ(fuzz_sched_feed(s, 0, &o), -1);	/* applied */
		fuzz_sched_free(s);
	}
}

/* A gRPC call with body b[0..n) (method, te and content-type given). */
static char *
grpc_req(const char *method, const char *te, const char *ct,
    const char *b, size_t n, size_t *len)
{
	struct buf	r;

	buf_init(&r);
	buf_printf(&r, "%s /shop.Orders/Place HTTP/1.1\r\nHost: x\r\n",
	    method);
	if (ct != NULL)
		buf_printf(&r, "content-type: %s\r\n", ct);
	if (te != NULL)
		buf_printf(&r, "te: %s\r\n", te);
	buf_printf(&r, "Content-Length: %zu\r\n\r\n", n);
	buf_append(&r, b, n);
	return buf_detach(&r, len);
}

/*
 * The gRPC classifier: an INTERNAL or UNKNOWN answer, a reset or a close
 * is grpcio's (or any server's) correct refusal of a call without te:
 * trailers, with another content-type or method, or with broken
 * length-prefixed framing (a compressed flag, a flag of 2, a length
 * that lies, another number of messages than the entry's); to a well
 * framed call it is a finding, and so is any answer to a call that is
 * not gRPC's.  INTERNAL/UNKNOWN are failures, other codes are not.
 */
static void
test_noise_grpc(void)
{
	static const char	one[] = "\0\0\0\0\2\x08\x03";
	static const char	two[] = "\0\0\0\0\2\x08\x03\0\0\0\0\2\x08\x03";
	static const struct {
		const char	*method, *te, *ct, *b;
		size_t		 n;
		enum fuzz_kind	 kind;
		enum fuzz_noise	 want;
	} cases[] = {
		{ "POST", "trailers", "application/grpc", one, 7, FUZZ_GRPC,
		  FUZZ_NOISE_NONE },
		{ "POST", "trailers", "application/grpc+proto", "\0\0\0\0\2"
		  "\x08\xff", 7, FUZZ_GRPC, FUZZ_NOISE_NONE },
		{ "POST", "trailers", "application/grpc", one, 7, FUZZ_RESET,
		  FUZZ_NOISE_NONE },
		{ "POST", "trailers", "application/grpc", one, 7, FUZZ_5XX,
		  FUZZ_NOISE_NONE },
		{ "POST", NULL, "application/grpc", one, 7, FUZZ_GRPC,
		  FUZZ_NOISE_HEADERS },
		{ "POST", "gzip", "application/grpc", one, 7, FUZZ_GRPC,
		  FUZZ_NOISE_HEADERS },
		{ "POST", "trailers", "text/plain", one, 7, FUZZ_EOF,
		  FUZZ_NOISE_HEADERS },
		{ "GET", "trailers", "application/grpc", one, 7, FUZZ_GRPC,
		  FUZZ_NOISE_METHOD },
		{ "POST", "trailers", "application/grpc", "\1\0\0\0\2\x08\x03",
		  7, FUZZ_RESET, FUZZ_NOISE_GRPC_FRAMING },
		{ "POST", "trailers", "application/grpc", "\2\0\0\0\2\x08\x03",
		  7, FUZZ_GRPC, FUZZ_NOISE_GRPC_FRAMING },
		{ "POST", "trailers", "application/grpc", "\0\0\0\0\3\x08\x03",
		  7, FUZZ_GRPC, FUZZ_NOISE_GRPC_FRAMING },
		{ "POST", "trailers", "application/grpc", "\0\0\0\0\1\x08\x03",
		  7, FUZZ_GRPC, FUZZ_NOISE_GRPC_FRAMING },
		{ "POST", "trailers", "application/grpc", two, 14, FUZZ_GRPC,
		  FUZZ_NOISE_GRPC_FRAMING },
		{ "POST", "trailers", "application/grpc", "", 0, FUZZ_EOF,
		  FUZZ_NOISE_GRPC_FRAMING },
	};
	char	*entry, *req, *json;
	size_t	 elen, rlen, jlen, i;

	entry = grpc_req("POST", "trailers", "application/grpc", one, 7,
	    &elen);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		req = grpc_req(cases[i].method, cases[i].te, cases[i].ct,
		    cases[i].b, cases[i].n, &rlen);
		ASSERT_EQ(fuzz_noise_grpc(req, rlen, entry, elen,
		    cases[i].kind), cases[i].want);
		free(req);
	}
	/* A corpus entry that is not a gRPC call: the HTTP classifier's. */
	json = grpc_req("POST", NULL, "application/json", "{}", 2, &jlen);
	req = grpc_req("POST", NULL, "application/grpc", "\2", 1, &rlen);
	ASSERT_EQ(fuzz_noise_grpc(req, rlen, json, jlen, FUZZ_RESET),
	    FUZZ_NOISE_NONE);
	free(req);
	free(json);
	free(entry);
	ASSERT_EQ(fuzz_grpc_kind(13), FUZZ_GRPC);
	ASSERT_EQ(fuzz_grpc_kind(2), FUZZ_GRPC);
	ASSERT_EQ(fuzz_grpc_kind(3), FUZZ_OK);
	ASSERT_EQ(fuzz_grpc_kind(0), FUZZ_OK);
	ASSERT_EQ(fuzz_grpc_kind(14), FUZZ_OK);
	ASSERT_STR_EQ(fuzz_kind_name(FUZZ_GRPC), "grpc");
	ASSERT_STR_EQ(fuzz_noise_name(FUZZ_NOISE_GRPC_FRAMING),
	    "grpc-framing");
}

/* Minimising a gRPC call: its message's fields are removed in runs and
 * one by one, the length prefix and Content-Length rewritten. */
static void
test_shrink_grpc(void)
{
	static const char	want[] = "\0\0\0\0\4\x08\x03\x18\x07";
	struct buf		out;
	char			*req;
	const char		*body;
	size_t			rlen, i, framed = 0, found = 0;

	/* Fields 1: 3, 2: "ab", 3: 7; without field 2, want. */
	req = grpc_req("POST", "trailers", "application/grpc", "\0\0\0\0\x08"
	    "\x08\x03\x12\x02" "ab" "\x18\x07", 13, &rlen);
	buf_init(&out);
	for (i = 0; fuzz_shrink(req, rlen, i, &out); i++) {
		body = strstr(out.data, "\r\n\r\n");
		if (body == NULL || out.len - (size_t)(body + 4 - out.data) == 0)
			continue;
		body += 4;
		if (strstr(out.data, "Content-Length: 9\r\n") != NULL &&
		    out.len - (size_t)(body - out.data) == 9 &&
		    memcmp(body, want, 9) == 0)
			found++;
		if ((unsigned char)body[4] == out.len - (size_t)(body -
		    out.data) - 5)
			framed++;
	}
	ASSERT_EQ(found, 1);
	ASSERT(framed >= 5);	/* two runs, three fields */
	buf_free(&out);
	free(req);
}

/*
 * The sweep's order (fuzz_sweep_order) and the scheduler with a sweep:
 * one entry stands for each endpoint (the one with the most items),
 * every one of its items comes once, in its order, the endpoints take
 * turns (each endpoint's first item among the first picks), the order
 * is a function of the seed; the scheduler hands the items out first,
 * credits their arms, then schedules as without a sweep (which a sweep
 * of none leaves exactly as it was).
 */
static void
test_sweep(void)
{
	static const size_t	 ep[6] = { 0, 0, 1, 2, 2, 3 };
	static const size_t	 ni[6] = { 3, 5, 2, 0, 4, 1 };
	static const size_t	 rep[4] = { 1, 2, 4, 5 };
	struct fuzz_sweep_item	*v, *w;
	size_t			 n, m, i, k, next[6] = { 0 }, firsts = 0;
	size_t			 e, e2;
	unsigned		 op, op2;
	int32_t			 fl, fl2;
	uint64_t		 seed;
	int			 differ = 0;
	static const uint32_t	 pr[2 * 3] = { 1, 2, 0, 3, 1, 1 };
	static const size_t	 nf[2] = { 2, 0 };
	struct fuzz_sched	*s, *t;
	struct fuzz_sched_outcome o = { 1, 0 };

	v = fuzz_sweep_order(6, ep, ni, 1, &n);
	ASSERT_EQ(n, 5 + 2 + 4 + 1);
	for (i = 0; i < n; i++) {
		ASSERT(v[i].entry == 1 || v[i].entry == 2 || v[i].entry == 4 ||
		    v[i].entry == 5);
		/* Each entry's items in order, each once. */
		ASSERT_EQ((size_t)v[i].field, next[v[i].entry]);
		next[v[i].entry]++;
		firsts += i < 4 && v[i].field == 0;
	}
	for (k = 0; k < 4; k++)
		ASSERT_EQ(next[rep[k]], ni[rep[k]]);
	ASSERT_EQ(firsts, 4);		/* round-robin */
	/* The same seed, the same order; the endpoints' order follows
	 * the seed. */
	for (seed = 2; seed < 20; seed++) {
		w = fuzz_sweep_order(6, ep, ni, seed, &m);
		ASSERT_EQ(m, n);
		differ += memcmp(v, w, n * sizeof *v) != 0;
		free(w);
	}
	ASSERT(differ > 0);
	w = fuzz_sweep_order(6, ep, ni, 1, &m);
	ASSERT(m == n && memcmp(v, w, n * sizeof *v) == 0);
	free(w);
	free(v);

	/* The scheduler hands the sweep out first, then its own picks;
	 * the sweep's outcomes credit their arms (entry 0, op 1, field 1:
	 * a new class each time). */
	s = fuzz_sched_create(2, 3, pr, nf, 1u << 1, 9, 0);
	t = fuzz_sched_create(2, 3, pr, nf, 1u << 1, 9, 0);
	{
		struct fuzz_sweep_item sw[3] = {
			{ 0, 0x100, 0, 1, 1 }, { 1, 0x100, 0, 0, -1 },
			{ 0, 0x100, 1, 1, 1 },
		};

		fuzz_sched_set_sweep(s, sw, 3);
		fuzz_sched_set_sweep(t, NULL, 0);
		ASSERT_EQ(fuzz_sched_sweep_size(s), 3);
		ASSERT_EQ(fuzz_sched_sweep_size(t), 0);
		for (i = 0; i < 3; i++) {
			fuzz_sched_pick(s, i, &e, &op, &fl);
			ASSERT_EQ(e, sw[i].entry);
			ASSERT_EQ(op, 0x100);
			ASSERT_EQ(fl, sw[i].field);
			o.cls = 10 + i;
			ASSERT_EQ(fuzz_sched_feed(s, i, &o), 0);
		}
	}
	fuzz_sched_pick(s, 3, &e, &op, &fl);
	ASSERT(op < 3);
	ASSERT(fuzz_sched_arm_energy(s, 0, 1) > 4 * FUZZ_SCHED_ONE);
	ASSERT(fuzz_sched_field_energy(s, 0, 1) > FUZZ_SCHED_ONE);
	ASSERT(fuzz_sched_arm_energy(s, 0, 0) == FUZZ_SCHED_ONE);
	fuzz_sched_free(s);
	/* An empty sweep: the schedule of a scheduler without one. */
	s = fuzz_sched_create(2, 3, pr, nf, 1u << 1, 9, 0);
	for (i = 0; i < 500; i++) {
		fuzz_sched_pick(s, i, &e, &op, &fl);
		fuzz_sched_pick(t, i, &e2, &op2, &fl2);
		ASSERT(e == e2 && op == op2 && fl == fl2);
		o.cls = i % 7;
		(void)fuzz_sched_feed(s, i, &o);
		(void)fuzz_sched_feed(t, i, &o);
	}
	fuzz_sched_free(s);
	fuzz_sched_free(t);
}

/*
 * The sweep of a gRPC call credits the pb arms: each of its protobuf
 * items (mutate.h's MUT_SW_PB) goes to a pb.* operator on its own field,
 * as fuzz.c sets the sweep up; a new answer to every removal raises
 * pb.drop_field and each removed field, and no other arm.
 */
static void
test_sweep_grpc(void)
{
	static const char	 msg[] = "\x08\x03"
	    "\x12\x0f" "\x0a\x03" "Ann" "\x12\x08" "ann@x.io"
	    "\x1a\x03\x01\x02\x03" "\x22\x05" "hello" "\x28\xe8\x07";
	struct mut_corpus	*c = mut_corpus_create();
	struct mut_engine	*m;
	struct mut_sweep_item	 it;
	struct fuzz_sweep_item	*v;
	struct fuzz_sched	*s;
	struct fuzz_sched_outcome o = { 1, 0 };
	struct buf		 b;
	uint32_t		 prior[MUT_OP_COUNT];
	uint64_t		 field_ops = 0;
	size_t			 ni, ep = 0, nf, n, i, e, drops = 0, pbs = 0;
	unsigned		 op;
	int32_t			 fl;
	char			*cause = NULL;

	buf_init(&b);
	buf_printf(&b, "POST /shop.Orders/Place HTTP/1.1\r\nHost: x\r\n"
	    "content-type: application/grpc\r\nte: trailers\r\n"
	    "Content-Length: %zu\r\n\r\n", sizeof msg - 1 + 5);
	grpc_put_msg(&b, 0, msg, sizeof msg - 1);
	ASSERT_EQ(mut_corpus_add(c, b.data, b.len, &cause), 0);
	m = mut_engine_create(c, 1, 0);
	for (op = 0; op < MUT_OP_COUNT; op++) {
		prior[op] = mut_op_weight_of(m, 0, op);
		if (mut_op_takes_field(op))
			field_ops |= (uint64_t)1 << op;
	}
	ni = mut_sweep_count(m, 0);
	nf = mut_entry_fields(m, 0);
	ASSERT_EQ(nf, 7);
	v = fuzz_sweep_order(1, &ep, &ni, 1, &n);
	ASSERT_EQ(n, ni);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(mut_sweep_item(m, 0, (size_t)v[i].field, &it), 0);
		v[i].op = MUT_SWEEP;
		v[i].arm_op = it.arm_op;
		v[i].arm_field = it.arm_field;
		if (it.kind == MUT_SW_PB) {
			pbs++;
			ASSERT(it.arm_op >= MUT_OP_PB_VARINT &&
			    it.arm_op <= MUT_OP_PB_UTF8);
			ASSERT_EQ(it.arm_field, (int32_t)it.target);
		}
	}
	ASSERT(pbs > 30);
	s = fuzz_sched_create(1, MUT_OP_COUNT, prior, &nf, field_ops, 3, 0);
	fuzz_sched_set_sweep(s, v, n);
	for (i = 0; i < n; i++) {
		fuzz_sched_pick(s, i, &e, &op, &fl);
		ASSERT(e == 0 && op == MUT_SWEEP && fl == v[i].field);
		/* A new answer to each removal, the same to the rest. */
		ASSERT_EQ(mut_sweep_item(m, 0, (size_t)fl, &it), 0);
		o.cls = it.arm_op == MUT_OP_PB_DROP &&
		    strcmp(mut_sweep_class_name(it.cls), "removed") == 0 ?
		    100 + it.target : 1;
		drops += o.cls != 1;
		ASSERT_EQ(fuzz_sched_feed(s, i, &o), 0);
	}
	fuzz_sched_pick(s, n, &e, &op, &fl);
	ASSERT_EQ(drops, 7);
	ASSERT(fuzz_sched_arm_energy(s, 0, MUT_OP_PB_DROP) >
	    4 * FUZZ_SCHED_ONE);
	for (i = 0; i < nf; i++)
		ASSERT(fuzz_sched_field_energy(s, 0, i) > FUZZ_SCHED_ONE);
	ASSERT(fuzz_sched_arm_energy(s, 0, MUT_OP_PB_VARINT) <=
	    FUZZ_SCHED_ONE);
	ASSERT(fuzz_sched_arm_energy(s, 0, MUT_OP_PB_UTF8) <= FUZZ_SCHED_ONE);
	fuzz_sched_free(s);
	free(v);
	mut_engine_free(m);
	mut_corpus_free(c);
	buf_free(&b);
	free(cause);
}

int
main(void)
{
	test_kinds();
	test_endpoints();
	test_signatures();
	test_shrink();
	test_noise();
	test_noise_recorded();
	test_noise_grpc();
	test_shrink_grpc();
	test_body_signatures();
	test_sched();
	test_sweep();
	test_sweep_grpc();
	UNIT_DONE();
}
