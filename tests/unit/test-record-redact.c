/*
 * test-record-redact.c -- the recorder's redaction: JSON paths edited in
 * the raw bytes, header names, PCRE2 patterns, stable placeholders.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "record.h"
#include "snap.h"
#include "xmalloc.h"
#include "unit.h"

static const unsigned char key[32] = "0123456789abcdef0123456789abcde";

static struct record_redact *
mk(const char *a, const char *b)
{
	char			*specs[2];
	char			*cause = NULL;
	struct record_redact	*rr;
	size_t			 n = 0;

	if (a != NULL)
		specs[n++] = (char *)a;
	if (b != NULL)
		specs[n++] = (char *)b;
	rr = record_redact_create_key(specs, n, key, sizeof key, &cause);
	if (rr == NULL) {
		UNIT_FAIL("create: %s", cause);
		free(cause);
	}
	return rr;
}

/* Redacts in and returns the result (allocated). */
static char *
body(struct record_redact *rr, const char *in, size_t *count)
{
	char	*b = xstrdup(in);
	size_t	 len = strlen(in);

	*count = record_redact_body(rr, &b, &len);
	ASSERT_EQ(strlen(b), len);
	return b;
}

static char *
ph(struct record_redact *rr, const char *v)
{
	struct buf	b;

	buf_init(&b);
	record_redact_placeholder(rr, &b, v, strlen(v));
	return buf_detach(&b, NULL);
}

static void
test_json(void)
{
	struct record_redact	*rr = mk("json:$..card", "json:$.a.n");
	char			*out, *p1, *p2, *want;
	size_t			 n;

	p1 = ph(rr, "4242");
	p2 = ph(rr, "12.5e3");
	ASSERT_EQ(strlen(p1), 17);
	ASSERT(strncmp(p1, "REDACTED-", 9) == 0);
	out = body(rr, "{\"card\":\"4242\", \"x\":[{\"card\":\"42\\u0034\\u0032\"}],"
	    "\"a\":{\"n\":12.5e3,\"m\":1},\"n\":7}", &n);
	want = xasprintf("{\"card\":\"%s\", \"x\":[{\"card\":\"%s\"}],"
	    "\"a\":{\"n\":\"%s\",\"m\":1},\"n\":7}", p1, p1, p2);
	ASSERT_STR_EQ(out, want);
	ASSERT_EQ(n, 3);
	free(out);
	free(want);
	/* A container at the path: everything inside it. */
	out = body(rr, "{\"card\":{\"no\":\"4242\",\"cvc\":123,\"ok\":true}}", &n);
	ASSERT_EQ(n, 2);
	ASSERT(strstr(out, "4242") == NULL && strstr(out, "123") == NULL);
	ASSERT(strstr(out, "\"ok\":true") != NULL);
	free(out);
	/* Not JSON: untouched. */
	out = body(rr, "card=4242", &n);
	ASSERT_STR_EQ(out, "card=4242");
	ASSERT_EQ(n, 0);
	free(out);
	free(p1);
	free(p2);
	record_redact_free(rr);
}

static void
test_paths(void)
{
	struct record_redact	*rr = mk("json:$.items[1].sku", "json:$.t[*]");
	char			*out;
	size_t			 n;

	out = body(rr, "{\"items\":[{\"sku\":\"a\"},{\"sku\":\"b\"}],"
	    "\"t\":[1,\"x\"]}", &n);
	ASSERT_EQ(n, 3);
	ASSERT(strstr(out, "{\"sku\":\"a\"}") != NULL);
	ASSERT(strstr(out, "\"b\"") == NULL);
	free(out);
	record_redact_free(rr);
}

static void
test_headers_regex(void)
{
	struct record_redact	*rr = mk("header:authorization",
				    "regex:[0-9]{16}");
	struct snap_header	 h[2];
	char			*out, *p;
	size_t			 n;

	h[0].name = xstrdup("Authorization");
	h[0].value = xstrdup("Bearer xyz");
	h[1].name = xstrdup("X-Card");
	h[1].value = xstrdup("card 4242424242424242 ok");
	record_redact_headers(rr, h, 2);
	p = ph(rr, "Bearer xyz");
	ASSERT_STR_EQ(h[0].value, p);
	free(p);
	p = ph(rr, "4242424242424242");
	out = xasprintf("card %s ok", p);
	ASSERT_STR_EQ(h[1].value, out);
	free(out);
	out = body(rr, "a 4242424242424242 b 4242424242424242", &n);
	ASSERT_EQ(n, 2);
	ASSERT(strstr(out, "4242") == NULL);
	free(out);
	free(p);
	free(h[0].name);
	free(h[0].value);
	free(h[1].name);
	free(h[1].value);
	record_redact_free(rr);
}

static void
test_bad_specs(void)
{
	char	*cause = NULL;
	char	*s1[] = { "json:a.b" }, *s2[] = { "regex:(" },
		*s3[] = { "cookie:x" }, *s4[] = { "json:$.a[" };

	ASSERT(record_redact_create(s1, 1, &cause) == NULL);
	free(cause);
	cause = NULL;
	ASSERT(record_redact_create(s2, 1, &cause) == NULL);
	free(cause);
	cause = NULL;
	ASSERT(record_redact_create(s3, 1, &cause) == NULL);
	free(cause);
	cause = NULL;
	ASSERT(record_redact_create(s4, 1, &cause) == NULL);
	free(cause);
}

int
main(void)
{
	log_init("test-record-redact", LOG_LEVEL_WARN);
	test_json();
	test_paths();
	test_headers_regex();
	test_bad_specs();
	UNIT_DONE();
}
