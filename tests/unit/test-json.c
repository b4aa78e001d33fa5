/*
 * test-json.c -- the strict JSON reader and string writer, and base64.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "json.h"
#include "unit.h"
#include "xmalloc.h"

/* Parses s as one value (skipping it) and expects success or the error
 * offset err_off (-1 for success). */
static int
skip_one(const char *s, size_t len, size_t *err_off)
{
	struct json_parser	p;

	json_init(&p, s, len);
	if (json_skip(&p, NULL) == -1 || json_finish(&p) == -1) {
		*err_off = p.error_off;
		return -1;
	}
	return 0;
}

#define ACCEPT(s) do {							\
	size_t e_ = 0;							\
	ASSERT_EQ(skip_one((s), sizeof(s) - 1, &e_), 0);		\
} while (0)

#define REJECT(s, off) do {						\
	size_t e_ = 0;							\
	ASSERT_EQ(skip_one((s), sizeof(s) - 1, &e_), -1);		\
	ASSERT_EQ(e_, (off));						\
} while (0)

static void
test_skip(void)
{
	ACCEPT("{}");
	ACCEPT(" [ ] ");
	ACCEPT("{\"a\":[1,-2.5e+3,0,true,false,null,\"x\"],\"b\":{}}");
	ACCEPT("9007199254740993");
	ACCEPT("-0.0E-0");
	ACCEPT("\"\\ud83d\\ude00 \\u00e9 \xc3\xa9 \xf0\x9f\x98\x80\"");
	ACCEPT("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"");

	REJECT("", 0);
	REJECT("{", 1);
	REJECT("{\"a\"}", 4);
	REJECT("{\"a\":1,}", 7);
	REJECT("{,}", 1);
	REJECT("[1,]", 3);
	REJECT("[1 2]", 3);
	REJECT("{\"a\":1 \"b\":2}", 7);
	REJECT("01", 0);
	REJECT("-012", 1);
	REJECT("1.", 0);
	REJECT("-", 0);
	REJECT("1e", 0);
	REJECT("+1", 0);
	REJECT("tru", 0);
	REJECT("nul", 0);
	REJECT("[truex]", 5);
	REJECT("\"abc", 0);
	REJECT("\"a\tb\"", 2);
	REJECT("\"\\x\"", 1);
	REJECT("\"\\u12G4\"", 1);
	REJECT("\"\\ud800\"", 1);
	REJECT("\"\\ud800\\u0041\"", 1);
	REJECT("\"\\udc00\"", 1);
	REJECT("\"ab\\ud83d\"", 3);
	REJECT("\"\xc0\xaf\"", 1);		/* overlong '/' */
	REJECT("\"\xed\xa0\x80\"", 1);		/* encoded surrogate */
	REJECT("\"\xf4\x90\x80\x80\"", 1);	/* past U+10FFFF */
	REJECT("\"\xe2\x82\"", 1);		/* truncated */
	REJECT("\"\x80\"", 1);
	REJECT("{} x", 3);
	REJECT("{'a':1}", 1);
}

static void
test_depth(void)
{
	char	deep[JSON_MAX_DEPTH + 2], ok[2 * JSON_MAX_DEPTH];
	size_t	i, e = 0;

	for (i = 0; i < JSON_MAX_DEPTH; i++) {
		ok[i] = '[';
		ok[2 * JSON_MAX_DEPTH - 1 - i] = ']';
	}
	ASSERT_EQ(skip_one(ok, sizeof ok, &e), 0);
	memset(deep, '[', sizeof deep);
	ASSERT_EQ(skip_one(deep, sizeof deep, &e), -1);
	ASSERT_EQ(e, JSON_MAX_DEPTH);
}

static void
test_read(void)
{
	struct json_parser	p;
	struct json_value	key, v;
	struct buf		b;
	int64_t			n;
	int			bl, r;
	size_t			off;
	const char		*s;

	s = "{\"s\":\"a\\u0000b\\n\\ud83d\\ude00\",\"n\":-9223372036854775808,"
	    "\"t\":true,\"x\":{\"y\":[1,2]},\"\\u006e\":1}";
	json_init(&p, s, strlen(s));
	buf_init(&b);
	ASSERT_EQ(json_object_enter(&p), 0);
	ASSERT_EQ(json_object_next(&p, &key), 1);
	ASSERT(json_string_eq(&key, "s"));
	ASSERT_EQ(json_peek(&p), JSON_STRING);
	ASSERT_EQ(json_read_string(&p, &b, &off), 0);
	ASSERT_EQ(off, 5);
	ASSERT_EQ(b.len, 8);
	ASSERT(memcmp(b.data, "a\0b\n\xf0\x9f\x98\x80", 8) == 0);
	ASSERT_EQ(json_object_next(&p, &key), 1);
	ASSERT(json_string_eq(&key, "n"));
	ASSERT_EQ(json_read_int64(&p, &n), 0);
	ASSERT(n == INT64_MIN);
	ASSERT_EQ(json_object_next(&p, &key), 1);
	ASSERT_EQ(json_read_bool(&p, &bl), 0);
	ASSERT_EQ(bl, 1);
	ASSERT_EQ(json_object_next(&p, &key), 1);
	ASSERT(json_string_eq(&key, "x"));
	ASSERT(!json_string_eq(&key, "xy"));
	ASSERT_EQ(json_skip(&p, &v), 0);
	ASSERT_EQ(v.type, JSON_OBJECT);
	ASSERT_MEM_EQ(v.p, v.len, "{\"y\":[1,2]}");
	ASSERT_EQ(json_object_next(&p, &key), 1);
	ASSERT(json_string_eq(&key, "n"));	/* escaped key */
	ASSERT_SPAN_EQ(((struct span){ key.p, key.len }), "\"\\u006e\"");
	ASSERT_EQ(json_skip(&p, NULL), 0);
	ASSERT_EQ(json_object_next(&p, &key), 0);
	ASSERT_EQ(json_finish(&p), 0);
	ASSERT_EQ(p.depth, 0);

	/* Arrays. */
	s = "[ 1 , 2 ]";
	json_init(&p, s, strlen(s));
	ASSERT_EQ(json_array_enter(&p), 0);
	ASSERT_EQ(json_array_next(&p), 1);
	ASSERT_EQ(json_read_int64(&p, &n), 0);
	ASSERT_EQ(n, 1);
	ASSERT_EQ(json_array_next(&p), 1);
	ASSERT_EQ(json_read_int64(&p, &n), 0);
	ASSERT_EQ(n, 2);
	ASSERT_EQ(json_array_next(&p), 0);
	ASSERT_EQ(json_finish(&p), 0);

	/* Integers: exact, bounded, no fractions. */
	s = "9223372036854775807";
	json_init(&p, s, strlen(s));
	ASSERT_EQ(json_read_int64(&p, &n), 0);
	ASSERT(n == INT64_MAX);
	s = "9223372036854775808";
	json_init(&p, s, strlen(s));
	ASSERT_EQ(json_read_int64(&p, &n), -1);
	ASSERT_STR_EQ(p.error, "integer out of range");
	s = "-9223372036854775809";
	json_init(&p, s, strlen(s));
	ASSERT_EQ(json_read_int64(&p, &n), -1);
	s = "1.0";
	json_init(&p, s, strlen(s));
	ASSERT_EQ(json_read_int64(&p, &n), -1);
	ASSERT_STR_EQ(p.error, "expected an integer");
	s = "1e3";
	json_init(&p, s, strlen(s));
	ASSERT_EQ(json_read_int64(&p, &n), -1);
	s = "\"1\"";
	json_init(&p, s, strlen(s));
	ASSERT_EQ(json_read_int64(&p, &n), -1);
	ASSERT_EQ(p.error_off, 0);
	ASSERT_EQ(json_number_to_int64("9007199254740993", 16, &n), 0);
	ASSERT(n == 9007199254740993LL);
	ASSERT_EQ(json_number_to_int64("", 0, &n), -1);
	ASSERT_EQ(json_number_to_int64("-", 1, &n), -1);
	/* Eighteen digits untested for overflow, more tested per digit. */
	ASSERT_EQ(json_number_to_int64("999999999999999999", 18, &n), 0);
	ASSERT(n == 999999999999999999LL);
	ASSERT_EQ(json_number_to_int64("-999999999999999999", 19, &n), 0);
	ASSERT(n == -999999999999999999LL);
	ASSERT_EQ(json_number_to_int64("9223372036854775807", 19, &n), 0);
	ASSERT(n == INT64_MAX);
	ASSERT_EQ(json_number_to_int64("9223372036854775808", 19, &n), -1);
	ASSERT_EQ(json_number_to_int64("-9223372036854775808", 20, &n), 0);
	ASSERT(n == INT64_MIN);
	ASSERT_EQ(json_number_to_int64("-9223372036854775809", 20, &n), -1);
	ASSERT_EQ(json_number_to_int64("99999999999999999999", 20, &n), -1);
	ASSERT_EQ(json_number_to_int64("00000000000000000000012", 23, &n), 0);
	ASSERT(n == 12);
	ASSERT_EQ(json_number_to_int64("1234567890123456x", 17, &n), -1);
	ASSERT_EQ(json_number_to_int64("12345678901234567890x", 21, &n), -1);

	/* Wrong types. */
	s = "1";
	json_init(&p, s, strlen(s));
	ASSERT_EQ(json_read_string(&p, &b, NULL), -1);
	ASSERT_STR_EQ(p.error, "unexpected '1', expected a string");
	s = "nul";
	json_init(&p, s, strlen(s));
	ASSERT_EQ(json_read_bool(&p, &bl), -1);
	s = "fals";
	json_init(&p, s, strlen(s));
	ASSERT_EQ(json_read_bool(&p, &bl), -1);
	ASSERT_STR_EQ(p.error, "bad literal, expected false");

	/* json_fail keeps the first error. */
	json_init(&p, "x", 1);
	ASSERT_EQ(json_fail(&p, 3, "first %d", 1), -1);
	ASSERT_EQ(json_fail(&p, 5, "second"), -1);
	ASSERT_STR_EQ(p.error, "first 1");
	ASSERT_EQ(p.error_off, 3);
	ASSERT_EQ(json_object_next(&p, &key), -1);
	r = json_peek(&p);
	ASSERT_EQ(r, JSON_INVALID);
	buf_free(&b);
}

/*
 * json_read_string_here() into a buffer apart from the parser's
 * (src[0..m) holds one string): the result and error json_read_string()
 * gives, the decoded bytes where the string is in src, src not written,
 * nothing written before the string's place or JSON_APART_SLACK bytes
 * past the end.
 */
static void
check_apart(const char *src, size_t m)
{
	struct json_parser	p, q;
	struct buf		b;
	char			*copy, *dst, *s;
	size_t			len, i;
	int			r1, r2;

	copy = xmalloc(m);
	memcpy(copy, src, m);
	dst = xmalloc(m + JSON_APART_SLACK + 16);
	memset(dst, '#', m + JSON_APART_SLACK + 16);
	buf_init(&b);
	json_init(&q, src, m);
	r1 = json_read_string(&q, &b, NULL);
	json_init(&p, copy, m);
	r2 = json_read_string_here(&p, dst, &s, &len, NULL);
	ASSERT_EQ(r1, r2);
	ASSERT(memcmp(copy, src, m) == 0);
	ASSERT_EQ(dst[0], '#');
	for (i = m + JSON_APART_SLACK; i < m + JSON_APART_SLACK + 16; i++)
		ASSERT_EQ(dst[i], '#');
	if (r1 == 0) {
		ASSERT(s == dst + 1);
		ASSERT_EQ(len, b.len);
		ASSERT(len == 0 || memcmp(s, b.data, len) == 0);
		ASSERT_EQ(s[len], '\0');
		ASSERT_EQ(p.off, q.off);
	} else {
		ASSERT_EQ(p.error_off, q.error_off);
		ASSERT_STR_EQ(p.error, q.error);
	}
	buf_free(&b);
	free(dst);
	free(copy);
}

/* json_read_string_here(): the same bytes as json_read_string(), written
 * over the string itself; what follows the string is left alone.  The
 * same decoded into a buffer apart (check_apart()). */
static void
test_read_here(void)
{
	const char	*cases[] = {
		"\"plain text, no escape at all\"",
		"\"a\\u0000b\\n\\ud83d\\ude00 \\\"q\\\" \\\\ \\/\"",
		"\"\\\"{\\\"k\\\":\\\"v\\\"}\\\"\"",
		"\"\xc3\xa9t\xc3\xa9 \\t\"",
		"\"\"",
	};
	struct json_parser	p, q;
	struct buf		b;
	char			line[128], *s;
	size_t			i, n, len, off;

	buf_init(&b);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		n = strlen(cases[i]);
		memcpy(line, cases[i], n);
		memcpy(line + n, ",\"next\"", 7);
		buf_reset(&b);
		json_init(&q, cases[i], n);
		ASSERT_EQ(json_read_string(&q, &b, NULL), 0);
		json_init(&p, line, n + 7);
		ASSERT_EQ(json_read_string_here(&p, line, &s, &len, &off), 0);
		ASSERT_EQ(off, 0);
		ASSERT_EQ(p.off, n);
		ASSERT(s == line + 1);
		ASSERT_EQ(len, b.len);
		ASSERT(len == 0 || memcmp(s, b.data, len) == 0);
		ASSERT_EQ(s[len], '\0');
		ASSERT_MEM_EQ(line + n, 7, ",\"next\"");
		check_apart(cases[i], n);
	}
	/* Every position of a special byte in and around the 16- and
	 * 8-byte blocks the scan tests at once: the same bytes or the same
	 * error at the same offset, in place or copied. */
	{
		static const char *const specials[] = {
			"\\\"", "\\n", "\x01", "\xc3\xa9", "\x7f", "\\u00e9",
			"\xff",
		};
		/* What each decodes to; NULL: an error. */
		static const char *const decoded[] = {
			"\"", "\n", NULL, "\xc3\xa9", "\x7f", "\xc3\xa9", NULL,
		};
		char	want[128];
		size_t	pos, sp, slen, m;
		int	r1, r2;

		for (sp = 0; sp < sizeof specials / sizeof specials[0]; sp++) {
			slen = strlen(specials[sp]);
			for (pos = 0; pos < 40; pos++) {
				line[0] = '"';
				memset(line + 1, 'x', pos);
				memcpy(line + 1 + pos, specials[sp], slen);
				memset(line + 1 + pos + slen, 'y', 20);
				m = 1 + pos + slen + 20;
				line[m++] = '"';
				buf_reset(&b);
				json_init(&q, line, m);
				r1 = json_read_string(&q, &b, NULL);
				check_apart(line, m);
				json_init(&p, line, m);
				r2 = json_read_string_here(&p, line, &s, &len,
				    NULL);
				ASSERT_EQ(r1, r2);
				ASSERT_EQ(r1, decoded[sp] == NULL ? -1 : 0);
				if (r1 == 0) {
					memset(want, 'x', pos);
					memcpy(want + pos, decoded[sp],
					    strlen(decoded[sp]));
					memset(want + pos + strlen(decoded[sp]),
					    'y', 20);
					ASSERT_EQ(len, pos + strlen(decoded[sp]) +
					    20);
					ASSERT(memcmp(s, want, len) == 0);
					ASSERT_EQ(len, b.len);
					ASSERT(memcmp(s, b.data, len) == 0);
					ASSERT_EQ(p.off, m);
				} else {
					ASSERT_EQ(p.error_off, q.error_off);
					ASSERT_STR_EQ(p.error, q.error);
				}
			}
		}
	}

	/* Two special bytes at every pair of places around the blocks,
	 * decoded apart (a block stored whole, escapes decoded in it, a
	 * character of several bytes pending before the next block). */
	{
		static const char *const two[] = {
			"\\\"", "\\n", "\x01", "\xc3\xa9", "\\u00e9", "\xff",
			"\\\\",
		};
		char	buf[128];
		size_t	a, z, pa, gap, m;

		for (a = 0; a < sizeof two / sizeof two[0]; a++)
		for (z = 0; z < sizeof two / sizeof two[0]; z++)
		for (pa = 0; pa < 20; pa++)
		for (gap = 0; gap < 19; gap++) {
			m = 0;
			buf[m++] = '"';
			memset(buf + m, 'x', pa);
			m += pa;
			memcpy(buf + m, two[a], strlen(two[a]));
			m += strlen(two[a]);
			memset(buf + m, 'y', gap);
			m += gap;
			memcpy(buf + m, two[z], strlen(two[z]));
			m += strlen(two[z]);
			memset(buf + m, 'z', 17);
			m += 17;
			buf[m++] = '"';
			check_apart(buf, m);
		}
	}

	/* Runs of every length from 0 to 19 between escapes, the gap
	 * between the decoded and the read bytes growing by one per
	 * escape: each run moved down whole, nothing clobbered. */
	{
		char	big[1024], want[1024];
		size_t	m = 0, w = 0, r, k;

		big[m++] = '"';
		for (r = 0; r < 40; r++) {
			for (k = 0; k < r % 20; k++) {
				big[m++] = (char)('a' + (r + k) % 26);
				want[w++] = (char)('a' + (r + k) % 26);
			}
			memcpy(big + m, r % 3 == 0 ? "\\n" : "\\\"", 2);
			m += 2;
			want[w++] = r % 3 == 0 ? '\n' : '"';
		}
		big[m++] = '"';
		check_apart(big, m);
		json_init(&p, big, m);
		ASSERT_EQ(json_read_string_here(&p, big, &s, &len, NULL), 0);
		ASSERT_EQ(len, w);
		ASSERT(memcmp(s, want, w) == 0);
		ASSERT_EQ(s[len], '\0');
		ASSERT_EQ(p.off, m);
	}

	/* Errors as json_read_string() reports them. */
	memcpy(line, "\"ab\\x\"", 7);
	check_apart(line, 7);
	json_init(&p, line, 7);
	ASSERT_EQ(json_read_string_here(&p, line, &s, &len, NULL), -1);
	ASSERT_STR_EQ(p.error, "bad escape in string");
	ASSERT_EQ(p.error_off, 3);
	memcpy(line, "12", 2);
	json_init(&p, line, 2);
	ASSERT_EQ(json_read_string_here(&p, line, &s, &len, NULL), -1);
	ASSERT_STR_EQ(p.error, "unexpected '1', expected a string");
	buf_free(&b);
}

/* json_read_pair_here(): the compact pair of plain strings in one step,
 * in place and apart; anything else left alone for the token reader. */
static void
test_read_pair(void)
{
	static const char *const no[] = {
		"[ \"a\",\"b\"]", "[\"a\", \"b\"]", "[\"a\",\"b\" ]",
		"[\"a\\\"b\",\"c\"]", "[\"a\",\"\xc3\xa9\"]", "[\"a\"]",
		"[\"a\",\"b\",\"c\"]", "{\"a\":\"b\"}", "[\"a\x01\",\"b\"]",
		"[\"a\",7]",
	};
	const char		*ok = "[\"Host\",\"api.example:443\"],[";
	struct json_parser	 p;
	char			 line[64], copy[64], out[64 + JSON_APART_SLACK];
	char			*a, *b;
	size_t			 alen, blen, i, n;

	/* In place, then apart. */
	n = strlen(ok);
	memcpy(line, ok, n);
	json_init(&p, line, n);
	ASSERT_EQ(json_read_pair_here(&p, line, &a, &alen, &b, &blen), 1);
	ASSERT_STR_EQ(a, "Host");
	ASSERT_EQ(alen, 4);
	ASSERT_STR_EQ(b, "api.example:443");
	ASSERT_EQ(blen, 15);
	ASSERT_EQ(p.off, n - 2);
	ASSERT_EQ(p.first, 0);
	json_init(&p, ok, n);
	memset(out, '#', sizeof out);
	ASSERT_EQ(json_read_pair_here(&p, out, &a, &alen, &b, &blen), 1);
	ASSERT(a == out + 2 && b == out + 9);
	ASSERT_STR_EQ(a, "Host");
	ASSERT_STR_EQ(b, "api.example:443");
	ASSERT_EQ(p.off, n - 2);
	ASSERT_EQ(out[0], '#');
	/* Every cut short, and every other shape: nothing read or written. */
	for (i = 0; i < n - 2; i++) {
		memcpy(line, ok, i);
		memcpy(copy, line, i);
		json_init(&p, line, i);
		ASSERT_EQ(json_read_pair_here(&p, line, &a, &alen, &b, &blen),
		    0);
		ASSERT_EQ(p.off, 0);
		ASSERT(memcmp(line, copy, i) == 0);
	}
	for (i = 0; i < sizeof no / sizeof no[0]; i++) {
		n = strlen(no[i]);
		memcpy(line, no[i], n);
		json_init(&p, line, n);
		ASSERT_EQ(json_read_pair_here(&p, line, &a, &alen, &b, &blen),
		    0);
		ASSERT_EQ(p.off, 0);
		ASSERT(memcmp(line, no[i], n) == 0);
	}
	/* At the depth limit the token reader says why. */
	json_init(&p, ok, strlen(ok));
	p.depth = JSON_MAX_DEPTH;
	ASSERT_EQ(json_read_pair_here(&p, out, &a, &alen, &b, &blen), 0);
}

/* The writer's-order member and the plain integer: each fast path
 * agrees with the general reader or leaves the input to it. */
static void
test_fast_paths(void)
{
	static const char *const ints[] = {
		"0", "7", "200", "123456789012345678", "1234567890123456789",
		"-1", "01", "1.5", "1e3", "2E1", "12x",
	};
	static const int plain[] = { 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1 };
	struct json_parser	 p;
	struct json_value	 key;
	const char		*obj = "{\"status\":200,\"stat\":1,\"st\\u0061tus\""
				    ":2, \"status\" :3,\"x\":4}";
	int64_t			 n, m;
	size_t			 i, len, n2, slen;
	char			 line[96], out[96 + JSON_APART_SLACK], *str;

	json_init(&p, obj, strlen(obj));
	ASSERT_EQ(json_object_enter(&p), 0);
	ASSERT_EQ(json_object_next_as(&p, &key, "status", 6), 2);
	ASSERT_EQ(key.len, 8);
	ASSERT_EQ(key.off, 1);
	ASSERT_EQ(key.escaped, 0);
	ASSERT_EQ(json_read_int_plain(&p, &n), 1);
	ASSERT_EQ(n, 200);
	/* A prefix, an escaped spelling, a space: the general reader. */
	ASSERT_EQ(json_object_next_as(&p, &key, "status", 6), 1);
	ASSERT(json_string_eq(&key, "stat"));
	ASSERT_EQ(json_skip(&p, NULL), 0);
	ASSERT_EQ(json_object_next_as(&p, &key, "status", 6), 1);
	ASSERT(json_string_eq(&key, "status"));
	ASSERT_EQ(key.escaped, 1);
	ASSERT_EQ(json_skip(&p, NULL), 0);
	ASSERT_EQ(json_object_next_as(&p, &key, "status", 6), 1);
	ASSERT(json_string_eq(&key, "status"));
	ASSERT_EQ(json_skip(&p, NULL), 0);
	ASSERT_EQ(json_object_next_as(&p, &key, NULL, 0), 1);
	ASSERT(json_string_eq(&key, "x"));
	ASSERT_EQ(json_skip(&p, NULL), 0);
	ASSERT_EQ(json_object_next_as(&p, &key, "status", 6), 0);
	ASSERT_EQ(json_finish(&p), 0);

	/* Strings of one to five blocks, plain and with an escape last,
	 * apart and in place. */
	for (len = 1; len <= 80; len++) {
		for (i = len < 2 ? 2 : 0; i < 4; i += len < 2 ? 2 : 1) {
			memset(line, 'a', sizeof line);
			line[0] = '"';
			if (i & 1)
				memcpy(line + len - 1, "\\n", 2);
			memcpy(line + len + (i & 1), "\"]", 2);
			n2 = len + (i & 1) + 2;
			json_init(&p, line, n2);
			ASSERT_EQ(json_read_string_here(&p, i & 2 ? line : out,
			    &str, &slen, NULL), 0);
			ASSERT_EQ(slen, len - 1);
			ASSERT_EQ(p.off, n2 - 1);
			ASSERT_EQ(str[slen], '\0');
			if (i & 1)
				ASSERT_EQ(str[slen - 1], '\n');
			ASSERT(strspn(str, "a") == slen - (i & 1));
		}
	}

	for (i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		len = strlen(ints[i]);
		json_init(&p, ints[i], len);
		ASSERT_EQ(json_read_int_plain(&p, &n), plain[i]);
		if (!plain[i]) {
			ASSERT_EQ(p.off, 0);
			continue;
		}
		ASSERT_EQ(json_number_to_int64(ints[i], p.off, &m), 0);
		ASSERT_EQ(n, m);
		ASSERT_EQ(p.off, len - (ints[i][len - 1] == 'x'));
	}
}

static void
test_write(void)
{
	struct json_parser	p;
	struct buf		b, d;
	const char		all[] = "a\"b\\c\x01\x1f\n\r\t\b\f\x7f/\0z";

	buf_init(&b);
	buf_init(&d);
	json_append_string(&b, all, sizeof all - 1);
	ASSERT_STR_EQ(b.data, "\"a\\\"b\\\\c\\u0001\\u001f\\n\\r\\t\\b\\f\x7f/"
	    "\\u0000z\"");
	/* And it reads back to the same bytes. */
	json_init(&p, b.data, b.len);
	ASSERT_EQ(json_read_string(&p, &d, NULL), 0);
	ASSERT_EQ(d.len, sizeof all - 1);
	ASSERT(memcmp(d.data, all, d.len) == 0);

	/* UTF-8 passes through; stray bytes become \u00XX. */
	buf_reset(&b);
	json_append_string(&b, "\xc3\xa9\xf0\x9f\x98\x80", 6);
	ASSERT_STR_EQ(b.data, "\"\xc3\xa9\xf0\x9f\x98\x80\"");
	buf_reset(&b);
	json_append_string(&b, "a\xff\xc3", 3);
	ASSERT_STR_EQ(b.data, "\"a\\u00ff\\u00c3\"");
	json_init(&p, b.data, b.len);
	ASSERT_EQ(json_skip(&p, NULL), 0);
	buf_reset(&b);
	json_append_string(&b, "", 0);
	ASSERT_STR_EQ(b.data, "\"\"");

	/* Text that must survive as it is: no NUL, valid UTF-8. */
	buf_reset(&b);
	buf_append_str(&b, "x");
	ASSERT_EQ(json_append_text(&b, "{\"caf\xc3\xa9\":\"a\\b\"}\n", 16), 0);
	ASSERT_STR_EQ(b.data, "x\"{\\\"caf\xc3\xa9\\\":\\\"a\\\\b\\\"}\\n\"");
	buf_reset(&b);
	buf_append_str(&b, "x");
	ASSERT_EQ(json_append_text(&b, "0123456789abcdef\0z", 18), -1);
	ASSERT_EQ(b.len, 1);
	ASSERT_STR_EQ(b.data, "x");
	ASSERT_EQ(json_append_text(&b, "0123456789abcdef\xc3(", 18), -1);
	ASSERT_STR_EQ(b.data, "x");
	ASSERT_EQ(json_append_text(&b, "\xed\xa0\x80", 3), -1);	/* surrogate */
	ASSERT_STR_EQ(b.data, "x");
	buf_free(&b);
	buf_free(&d);
}

/* Every truncation of a valid document, each placed right before an
 * unreadable page, must fail cleanly without reading past its end. */
static void
test_truncations(void)
{
	const char	 doc[] = "{\"a\":[1,-2.5e3,true,null,\"\\ud83d\\ude00\xc3\xa9\"],"
			    "\"b\":{\"c\":false}}";
	long		 pg = sysconf(_SC_PAGESIZE);
	char		*map, *s;
	size_t		 n, e;
	int		 bad = 0;

	map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT(map != MAP_FAILED);
	if (map == MAP_FAILED)
		return;
	ASSERT_EQ(mprotect(map + pg, pg, PROT_NONE), 0);
	for (n = 0; n < sizeof doc - 1; n++) {
		s = map + pg - n;
		memcpy(s, doc, n);
		if (skip_one(s, n, &e) != -1 || e > n)
			bad++;
	}
	s = map + pg - (sizeof doc - 1);
	memcpy(s, doc, sizeof doc - 1);
	ASSERT_EQ(skip_one(s, sizeof doc - 1, &e), 0);
	ASSERT_EQ(bad, 0);
	munmap(map, 2 * pg);
}

static void
test_base64(void)
{
	static const struct {
		const char	*plain;
		const char	*enc;
	} v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	struct buf	b;
	size_t		i, e;
	unsigned char	all[256];

	buf_init(&b);
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		buf_reset(&b);
		base64_encode(&b, v[i].plain, strlen(v[i].plain));
		ASSERT_MEM_EQ(b.data, b.len, v[i].enc);
		ASSERT_EQ(base64_encoded_len(strlen(v[i].plain)), b.len);
		buf_reset(&b);
		ASSERT_EQ(base64_decode(&b, v[i].enc, strlen(v[i].enc), &e), 0);
		ASSERT_MEM_EQ(b.data, b.len, v[i].plain);
	}
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	buf_reset(&b);
	base64_encode(&b, all, sizeof all);
	{
		struct buf	d;

		buf_init(&d);
		ASSERT_EQ(base64_decode(&d, b.data, b.len, &e), 0);
		ASSERT_EQ(d.len, 256);
		ASSERT(memcmp(d.data, all, 256) == 0);
		buf_free(&d);
	}

#define B64_BAD(s, off) do {						\
	buf_reset(&b);							\
	e = 999;							\
	ASSERT_EQ(base64_decode(&b, (s), strlen(s), &e), -1);		\
	ASSERT_EQ(e, (off));						\
} while (0)
	B64_BAD("Zg=", 3);		/* length */
	B64_BAD("Z!==", 1);		/* bad character */
	B64_BAD("Zm 9v", 2);		/* whitespace */
	B64_BAD("Zg==Zm9v", 2);	/* padding inside */
	B64_BAD("Z===", 1);
	B64_BAD("====", 0);
	B64_BAD("Zh==", 1);		/* non-zero unused bits */
	B64_BAD("Zm9=", 2);
	B64_BAD("Zm=v", 2);
	buf_free(&b);
}

int
main(void)
{
	test_skip();
	test_depth();
	test_read();
	test_read_here();
	test_read_pair();
	test_fast_paths();
	test_write();
	test_truncations();
	test_base64();
	UNIT_DONE();
}
