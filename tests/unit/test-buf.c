/*
 * test-buf.c -- growable buffers, spans and the unit parsers of conf.c.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "units.h"
#include "unit.h"

static void
test_buf(void)
{
	struct buf	 b;
	char		*p;
	size_t		 len, i;

	buf_init(&b);
	ASSERT_EQ(b.len, 0);
	buf_append_str(&b, "hello");
	buf_append_byte(&b, ' ');
	buf_printf(&b, "%s %d", "world", 42);
	ASSERT_STR_EQ(b.data, "hello world 42");
	buf_consume(&b, 6);
	ASSERT_STR_EQ(b.data, "world 42");
	buf_consume(&b, 100);
	ASSERT_EQ(b.len, 0);
	ASSERT_STR_EQ(b.data, "");

	/* Growth keeps content and the terminating NUL. */
	for (i = 0; i < 10000; i++)
		buf_append(&b, "0123456789", 10);
	ASSERT_EQ(b.len, 100000);
	ASSERT_EQ(b.data[b.len], '\0');
	ASSERT(memcmp(b.data + 99990, "0123456789", 10) == 0);

	/* A long formatted string takes the second vsnprintf path. */
	buf_reset(&b);
	buf_printf(&b, "%0500d|", 7);
	ASSERT_EQ(b.len, 501);
	ASSERT_EQ(b.data[499], '7');

	/* Binary data with NULs. */
	buf_reset(&b);
	buf_append(&b, "a\0b", 3);
	ASSERT_EQ(b.len, 3);
	ASSERT_EQ(b.data[1], '\0');

	p = buf_detach(&b, &len);
	ASSERT_EQ(len, 3);
	ASSERT(b.data == NULL && b.len == 0);
	free(p);

	p = buf_detach(&b, &len);	/* empty buffer: still a string */
	ASSERT_EQ(len, 0);
	ASSERT_STR_EQ(p, "");
	free(p);
	buf_free(&b);
}

static void
test_span(void)
{
	struct span	s = SPAN_LIT("  Content-Length \t");

	ASSERT_SPAN_EQ(span_trim(s), "Content-Length");
	ASSERT(span_caseeq_str(span_trim(s), "content-length"));
	ASSERT(!span_eq_str(span_trim(s), "content-length"));
	ASSERT(span_eq_str(SPAN_NULL, ""));
	ASSERT(!span_caseeq_str(SPAN_LIT("abc"), "abcd"));
}

static void
test_units(void)
{
	uint64_t	ns;
	size_t		sz;

	ASSERT_EQ(units_parse_duration("250ms", &ns), 0);
	ASSERT_EQ(ns, 250000000);
	ASSERT_EQ(units_parse_duration("1.5s", &ns), 0);
	ASSERT_EQ(ns, 1500000000);
	ASSERT_EQ(units_parse_duration("2m", &ns), 0);
	ASSERT_EQ(ns, 120000000000ll);
	ASSERT_EQ(units_parse_duration("100us", &ns), 0);
	ASSERT_EQ(ns, 100000);
	ASSERT_EQ(units_parse_duration("10", &ns), -1);	/* unit required */
	ASSERT_EQ(units_parse_duration("-1s", &ns), -1);
	ASSERT_EQ(units_parse_duration("s", &ns), -1);
	ASSERT_EQ(units_parse_duration("1sec", &ns), -1);

	ASSERT_EQ(units_parse_size("16KiB", &sz), 0);
	ASSERT_EQ(sz, 16384);
	ASSERT_EQ(units_parse_size("8MiB", &sz), 0);
	ASSERT_EQ(sz, 8388608);
	ASSERT_EQ(units_parse_size("1KB", &sz), 0);
	ASSERT_EQ(sz, 1000);
	ASSERT_EQ(units_parse_size("4096", &sz), 0);
	ASSERT_EQ(sz, 4096);
	ASSERT_EQ(units_parse_size("12XB", &sz), -1);
	ASSERT_EQ(units_parse_size("", &sz), -1);
}

static void
test_write_file(void)
{
	char		 tmpl[] = "/tmp/test-buf.XXXXXX", path[64], got[16];
	char		*cause = NULL;
	struct stat	 st;
	FILE		*f;
	size_t		 n;

	if (mkdtemp(tmpl) == NULL) {
		UNIT_FAIL("mkdtemp");
		return;
	}
	snprintf(path, sizeof path, "%s/out", tmpl);
	ASSERT_EQ(buf_write_file(path, "hello\n", 6, 0640, &cause), 0);
	ASSERT_EQ(buf_write_file(path, "hi\n", 3, 0640, &cause), 0);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ(st.st_mode & 0777, 0640);
	ASSERT_EQ(st.st_size, 3);	/* truncated, not appended */
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(got, 1, sizeof got, f);
		fclose(f);
		ASSERT_EQ(n, 3);
		ASSERT(memcmp(got, "hi\n", 3) == 0);
	}
	unlink(path);
	snprintf(path, sizeof path, "%s/missing/out", tmpl);
	ASSERT_EQ(buf_write_file(path, "x", 1, 0644, &cause), -1);
	ASSERT(cause != NULL && strstr(cause, path) != NULL);
	free(cause);
	rmdir(tmpl);
}

static void
quote_brackets(struct buf *b, const char *s)
{
	buf_printf(b, "[%s]", s);
}

static void
test_field(void)
{
	struct buf	b;

	buf_init(&b);
	buf_append_field(&b, "a: ", "x", quote_brackets, "\n");
	buf_append_field(&b, "b: ", NULL, quote_brackets, "\n");
	buf_append_field(&b, ", ", "", quote_brackets, "");
	ASSERT_STR_EQ(b.data, "a: [x]\n, []");
	buf_free(&b);
}

/* Decimal digits by hand: padding, zero, the largest value. */
static void
test_u64(void)
{
	char		 d[32], *e;
	struct buf	 b;

	e = buf_put_u64(d, 0, 0);
	ASSERT_MEM_EQ(d, (size_t)(e - d), "0");
	e = buf_put_u64(d, 7, 3);
	ASSERT_MEM_EQ(d, (size_t)(e - d), "007");
	e = buf_put_u64(d, 123456, 2);
	ASSERT_MEM_EQ(d, (size_t)(e - d), "123456");
	e = buf_put_u64(d, UINT64_MAX, 22);
	ASSERT_MEM_EQ(d, (size_t)(e - d), "0018446744073709551615");
	buf_init(&b);
	buf_append_str(&b, "n=");
	buf_append_u64(&b, 1000000);
	buf_append_u64(&b, 0);
	ASSERT_STR_EQ(b.data, "n=10000000");
	buf_free(&b);
}

/* A stream read whole, and one past its bound. */
static void
test_read_stream(void)
{
	static char	 text[200000];
	struct buf	 b;
	FILE		*f;
	size_t		 i;

	for (i = 0; i < sizeof text; i++)
		text[i] = (char)('a' + i % 26);
	f = fmemopen(text, sizeof text, "r");
	ASSERT(f != NULL);
	buf_init(&b);
	buf_append_str(&b, "<");
	ASSERT_EQ(buf_read_stream(&b, f, sizeof text + 1), 0);
	ASSERT_EQ(b.len, sizeof text + 1);
	ASSERT(memcmp(b.data + 1, text, sizeof text) == 0);
	ASSERT_EQ(b.data[b.len], '\0');
	fclose(f);
	f = fmemopen(text, sizeof text, "r");
	buf_reset(&b);
	ASSERT_EQ(buf_read_stream(&b, f, 1000), 0);
	ASSERT(b.len > 1000 && b.len < sizeof text);
	fclose(f);
	f = fmemopen(text, 1, "r");
	buf_reset(&b);
	ASSERT_EQ(buf_read_stream(&b, f, 1000), 0);
	ASSERT_STR_EQ(b.data, "a");
	fclose(f);
	buf_free(&b);
}

int
main(void)
{
	test_buf();
	test_span();
	test_units();
	test_write_file();
	test_field();
	test_u64();
	test_read_stream();
	UNIT_DONE();
}
