/*
 * test-shape.c -- value shapes: classification (and near misses that must
 * stay SHAPE_NONE), timestamp parse/format round trips and shifts, fresh
 * values of the same format.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "shape.h"
#include "unit.h"

#define US	INT64_C(1000000)

/* 2001-01-01 .. 2100-01-01, the analyzer's wide window. */
static const struct shape_opts wide = {
	INT64_C(978307200) * US, INT64_C(4102444800) * US
};

static enum shape_kind
kind_of(const char *s, const struct shape_opts *o, struct shape *sh)
{
	return shape_classify(s, strlen(s), o, sh);
}

#define IS(s, k) do {							\
	struct shape sh_;						\
	enum shape_kind k_ = kind_of((s), &wide, &sh_);			\
	unit_checks++;							\
	if (k_ != (k) || sh_.kind != (k))				\
		UNIT_FAIL("\"%s\": expected %s, got %s", (s),		\
		    shape_kind_name(k), shape_kind_name(k_));		\
} while (0)

#define NONE(s)	IS((s), SHAPE_NONE)

static void
test_names(void)
{
	int	k;

	for (k = 0; k < SHAPE_NKINDS; k++)
		ASSERT_EQ(shape_kind_parse(shape_kind_name(k)), k);
	ASSERT_STR_EQ(shape_kind_name(SHAPE_TIME), "timestamp");
	ASSERT_STR_EQ(shape_kind_name(SHAPE_B64), "b64");
	ASSERT_EQ(shape_kind_parse("uuid"), SHAPE_UUID);
	ASSERT_EQ(shape_kind_parse("UUIDs"), SHAPE_NONE);
	ASSERT_EQ(shape_kind_parse(""), SHAPE_NONE);
	ASSERT_EQ(shape_kind_parse(NULL), SHAPE_NONE);
	ASSERT_STR_EQ(shape_time_fmt_name(SHAPE_T_RFC3339), "rfc3339");
	ASSERT_STR_EQ(shape_time_fmt_name(SHAPE_T_HTTPDATE), "http-date");
	ASSERT_STR_EQ(shape_time_fmt_name(SHAPE_T_EPOCH_S), "epoch-s");
	ASSERT_STR_EQ(shape_time_fmt_name(SHAPE_T_EPOCH_MS), "epoch-ms");
	ASSERT_STR_EQ(shape_time_fmt_name(SHAPE_T_EPOCH_US), "epoch-us");
}

static const char jwt_hs256[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmF"
    "tZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJ"
    "f36POk6yJV_adQssw5c";
/* {"alg":"none"}.{"sub":"u1","iat":1733580874}. */
static const char jwt_none[] =
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSIsImlhdCI6MTczMzU4MDg3NH0.";
/* nested values, escapes, surrogate pairs and UTF-8 in both parts */
static const char jwt_es256[] =
    "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIiwibmVzdGVkIjp7ImFsZyI6MX0sImFyciI6"
    "WzEsLTIuNWUzLHRydWUsZmFsc2UsbnVsbCwiXHUwMGU5XHVkODNkXHVkZTAwIl19.eyJ"
    "zdWIiOiJjYWbDqSIsIm4iOnsiYSI6W1tdLHt9XX19.AQEBAQEBAQEBAQEBAQEBAQEBAQ"
    "EBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ";

static void
test_jwt(void)
{
	IS(jwt_hs256, SHAPE_JWT);
	IS(jwt_none, SHAPE_JWT);
	IS(jwt_es256, SHAPE_JWT);
	/* header without "alg" */
	NONE("eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ1MSJ9.c2lnLWJ5dGVzLWhlcmU");
	/* "alg" not a string */
	NONE("eyJhbGciOjV9.eyJzdWIiOiJ1MSJ9.c2lnLWJ5dGVzLWhlcmU");
	/* payload an array */
	NONE("eyJhbGciOiJIUzI1NiJ9.WzEsMl0.c2lnLWJ5dGVzLWhlcmU");
	/* empty signature with HS256 */
	NONE("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.");
	/* trailing comma in the payload; garbage after the header */
	NONE("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSIsfQ.c2lnLWJ5dGVzLWhlcmU");
	NONE("eyJhbGciOiJIUzI1NiJ9IHg.eyJzdWIiOiJ1MSJ9.c2lnLWJ5dGVzLWhlcmU");
	/* invalid UTF-8, lone surrogate */
	NONE("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiL_In0.c2lnLWJ5dGVzLWhlcmU");
	NONE("eyJhbGciOiJIUzI1NiJ9.eyJhIjoiXHVkODAwIn0.c2lnLWJ5dGVzLWhlcmU");
	/* JWE (5 parts), a padded part, a stray character, two parts */
	NONE("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2ln.c2ln.c2ln");
	NONE("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9=.c2lnLWJ5dGVzLWhlcmU");
	NONE("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnL+J5dGVzLWhlcmU");
	NONE("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9");
	/* a part of impossible length (4n+1) */
	NONE("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9a.c2lnLWJ5dGVzLWhlcmU");
	/* "Bearer " in front is the caller's to strip */
	NONE("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSIsImlhdCI6MTczMzU4MDg3NH0.");
}

static void
test_time_classify(void)
{
	struct shape	sh;

	IS("2026-12-07T17:54:34Z", SHAPE_TIME);
	IS("2026-12-07t17:54:34z", SHAPE_TIME);
	IS("2026-12-07 17:54:34", SHAPE_TIME);
	IS("2026-12-07T17:54:34.123456789+02:00", SHAPE_TIME);
	IS("2026-12-07T17:54:34-0530", SHAPE_TIME);
	IS("2024-02-29T00:00:00Z", SHAPE_TIME);
	IS("Sun, 06 Nov 1994 08:49:37 GMT", SHAPE_TIME);

	ASSERT_EQ(kind_of("2026-12-07T17:54:34.120+02:00", NULL, &sh),
	    SHAPE_TIME);
	ASSERT_EQ(sh.time.fmt, SHAPE_T_RFC3339);
	ASSERT_EQ(sh.time.sep, 'T');
	ASSERT_EQ(sh.time.frac, 3);
	ASSERT_STR_EQ(sh.time.zone, "+02:00");
	ASSERT_EQ(sh.time.zone_min, 120);
	ASSERT_EQ(sh.time.us, INT64_C(1796666074) * US - 2 * 3600 * US +
	    120000);

	/* impossible fields */
	NONE("2026-13-07T17:54:34Z");
	NONE("2026-00-07T17:54:34Z");
	NONE("2026-02-30T00:00:00Z");
	NONE("2025-02-29T00:00:00Z");
	NONE("2026-12-00T00:00:00Z");
	NONE("2026-04-31T00:00:00Z");
	NONE("2026-12-07T25:00:00Z");
	NONE("2026-12-07T24:00:00Z");
	NONE("2026-12-07T17:60:00Z");
	NONE("2026-12-07T17:54:60Z");
	NONE("2026-12-07T17:54:34+24:00");
	NONE("2026-12-07T17:54:34+02:60");
	/* layouts that cannot be written back the same way */
	NONE("2026-12-07");
	NONE("2026-12-07T17:54Z");
	NONE("20261207T175434Z");
	NONE("2026-12-07T17:54:34,5Z");
	NONE("2026-12-07T17:54:34.Z");
	NONE("2026-12-07T17:54:34.1234567890Z");
	NONE("2026-12-07X17:54:34Z");
	NONE("2026-12-07T17:54:34 Z");
	NONE("2026-12-07T17:54:34+2:00");
	NONE("2026-12-07T17:54:34+02:0");
	NONE("2026-12-07T17:54:34Zulu");
	/* dates inside text */
	NONE("on 2026-12-07T17:54:34Z");
	NONE("2026-12-07T17:54:34Z, later");
	NONE("updated 2026-12-07");
	/* HTTP-dates: wrong weekday, zone, day, obsolete forms */
	NONE("Mon, 06 Nov 1994 08:49:37 GMT");
	NONE("Sun, 06 Nov 1994 08:49:37 UTC");
	NONE("Wed, 31 Nov 1994 08:49:37 GMT");
	NONE("Sun, 06 Nov 1994 24:49:37 GMT");
	NONE("Sunday, 06-Nov-94 08:49:37 GMT");
	NONE("Sun Nov  6 08:49:37 1994");
	NONE("Sun, 06 nov 1994 08:49:37 GMT");
}

static void
test_epoch(void)
{
	struct shape		sh;
	struct shape_opts	rec = {
		/* a recording on 2024-12-07 +- a day */
		INT64_C(1733500000) * US, INT64_C(1733700000) * US
	};

	IS("1733580874", SHAPE_TIME);
	ASSERT_EQ(kind_of("1733580874", &wide, &sh), SHAPE_TIME);
	ASSERT_EQ(sh.time.fmt, SHAPE_T_EPOCH_S);
	ASSERT_EQ(sh.time.us, INT64_C(1733580874) * US);
	ASSERT_EQ(kind_of("1733580874123", &wide, &sh), SHAPE_TIME);
	ASSERT_EQ(sh.time.fmt, SHAPE_T_EPOCH_MS);
	ASSERT_EQ(sh.time.us, INT64_C(1733580874123) * 1000);
	ASSERT_EQ(kind_of("1733580874123456", &wide, &sh), SHAPE_TIME);
	ASSERT_EQ(sh.time.fmt, SHAPE_T_EPOCH_US);
	ASSERT_EQ(sh.time.us, INT64_C(1733580874123456));
	ASSERT_EQ(kind_of("1733580874", &rec, &sh), SHAPE_TIME);
	/* outside the window */
	ASSERT_EQ(kind_of("1500000000", &rec, &sh), SHAPE_NONE);
	ASSERT_EQ(kind_of("1733580874000", &rec, &sh), SHAPE_TIME);
	ASSERT_EQ(kind_of("1833580874000", &rec, &sh), SHAPE_NONE);
	ASSERT_EQ(sh.time.us, 0);
	NONE("978307199");		/* 2000-12-31 */
	NONE("4102444801");		/* 2100-01-01 + 1 s */
	/* no window: integers are never times */
	ASSERT_EQ(kind_of("1733580874", NULL, &sh), SHAPE_NONE);
	ASSERT_EQ(kind_of("1733580874", &(struct shape_opts){ 0, 0 }, &sh),
	    SHAPE_NONE);
	/* digit counts that are no unit, leading zeros, signs, fractions */
	NONE("17335808741");
	NONE("17335808741234");
	NONE("0173358087");
	NONE("-1733580874");
	NONE("1733580874.5");
	NONE("1.733580874e9");
	/* plain counters, short numbers, a compact date */
	NONE("42");
	NONE("1001");
	NONE("7");
	NONE("1733");
	NONE("20261207");
	NONE("");
}

static void
test_ids(void)
{
	struct shape	sh;

	ASSERT_EQ(kind_of("f47ac10b-58cc-4372-a567-0e02b2c3d479", NULL, &sh),
	    SHAPE_UUID);
	ASSERT_EQ(sh.version, 4);
	ASSERT_EQ(sh.upper, 0);
	ASSERT_EQ(kind_of("F47AC10B-58CC-4372-A567-0E02B2C3D479", NULL, &sh),
	    SHAPE_UUID);
	ASSERT_EQ(sh.upper, 1);
	ASSERT_EQ(kind_of("6ba7b810-9dad-11d1-80b4-00c04fd430c8", NULL, &sh),
	    SHAPE_UUID);
	ASSERT_EQ(sh.version, 1);
	ASSERT_EQ(kind_of("0190163d-8694-739b-aea5-966c26f8ad91", NULL, &sh),
	    SHAPE_UUID);
	ASSERT_EQ(sh.version, 7);
	ASSERT_EQ(kind_of("886313e1-3b8a-5372-9b90-0c9aee199e5d", NULL, &sh),
	    SHAPE_UUID);
	ASSERT_EQ(sh.version, 5);
	NONE("F47AC10B-58cc-4372-a567-0e02b2c3d479");	/* mixed case */
	NONE("f47ac10b58cc-4372-a567-0e02b2c3d479-");
	NONE("f47ac10b-58cc-4372-a567-0e02b2c3d47g");
	NONE("f47ac10b-58cc-4372-a567-0e02b2c3d4790");
	NONE("{f47ac10b-58cc-4372-a567-0e02b2c3d479}");
	NONE("00000000-0000-0000-0000-000000000000");	/* nil */
	NONE("ffffffff-ffff-ffff-ffff-ffffffffffff");	/* max */

	ASSERT_EQ(kind_of("01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL, &sh),
	    SHAPE_ULID);
	ASSERT_EQ(sh.upper, 1);
	ASSERT_EQ(kind_of("01arz3ndektsv4rrffq69g5fav", NULL, &sh),
	    SHAPE_ULID);
	ASSERT_EQ(sh.upper, 0);
	NONE("81ARZ3NDEKTSV4RRFFQ69G5FAV");	/* time overflows 48 bits */
	NONE("01ARZ3NDEKTSV4RRFFQ69G5FAU");	/* U is not Crockford */
	NONE("01ARZ3NDEKTSV4RRFFQ69G5FAI");
	/* mixed case: not a ULID (opaque base64 by the letters it has) */
	ASSERT_EQ(kind_of("01ARZ3NDEKTSV4RRFFQ69g5FAV", NULL, &sh),
	    SHAPE_B64);
	NONE("01ARZ3NDEKTSV4RRFFQ69G5FA");	/* 25 */
	NONE("12345678901234567890123456");	/* a 26-digit number */

	ASSERT_EQ(kind_of("3d701d8b2f4c0e1a9b8c7d6e5f4a3b2c1d0e9f8a", NULL,
	    &sh), SHAPE_HEX);			/* a git SHA-1 */
	ASSERT_EQ(sh.upper, 0);
	ASSERT_EQ(kind_of("9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822C"
	    "D15D6C15B0F00A08", NULL, &sh), SHAPE_HEX);
	ASSERT_EQ(sh.upper, 1);
	IS("0123456789abcdef0123456789abcdef", SHAPE_HEX);
	NONE("0123456789abcdef0123456789abcde");	/* 31 */
	NONE("0123456789abcdef0123456789ABCDEF");	/* mixed case */
	NONE("01234567890123456789012345678901234");	/* no letter */
	NONE("deadbeef");
	NONE("3d701d8");
	NONE("d41d8cd98f00b204e9800998ecf8427e d41d8cd9");

	ASSERT_EQ(kind_of("ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7", NULL, &sh),
	    SHAPE_B64);
	ASSERT_EQ(sh.url, 0);
	ASSERT_EQ(sh.padded, 0);
	ASSERT_EQ(kind_of("yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f", NULL, &sh),
	    SHAPE_B64);
	ASSERT_EQ(sh.url, 1);
	ASSERT_EQ(kind_of("Hh8gISIjJCUmJygpKissLS4=", NULL, &sh), SHAPE_B64);
	ASSERT_EQ(sh.url, 0);
	ASSERT_EQ(sh.padded, 1);
	ASSERT_EQ(kind_of("q83vEjRWeJq8/mYtA+Lz0w==", NULL, &sh), SHAPE_B64);
	ASSERT_EQ(sh.url, 0);
	ASSERT_EQ(sh.padded, 1);
	IS("sk_live_4eC39HqLyjWDarjtT1zdp7dc", SHAPE_B64);
	NONE("q83vEjRWeJq8/mYtA-Lz0w==");	/* both alphabets */
	NONE("q83vEjRWeJq8/mYtA+Lz0w=");	/* padding and length disagree */
	NONE("q83vEjRWeJq8/mYtA+Lz0===");	/* three '=' */
	NONE("q83vEjRWeJq8/mY=tA+Lz0w=");	/* '=' inside */
	NONE("q83vEjRWeJq8mYtALz0wA");		/* 21 */
	NONE("q83vejrwejq8mytalz0wabcdef");	/* no upper case */
	NONE("Q83VEJRWEJQ8MYTALZ0WABCDEF");	/* no lower case */
	NONE("qcdvEjRWeJqxmYtALzowAbCdEf");	/* no digit */
	NONE("q83vEjRWeJq8mYtALz0wAbCdE");	/* 25 = 4n+1 */
	NONE("getUserAccountById2024Version");	/* camelCase words */
	NONE("AccountCreatedEventForCustomer2");
	NONE("The quick brown fox jumps over 2 lazy dogs");
}

static void
test_near_misses(void)
{
	/* version strings, SKUs, phone numbers, words, short hex */
	NONE("1.2.3");
	NONE("2.0");
	NONE("v2.10.0-rc1");
	NONE("10.0.19045.3693");
	NONE("sku-1001");
	NONE("AB-1234-XY");
	NONE("SKU-2024-000123-BLUE-XL");
	NONE("+1-555-123-4567");
	NONE("+15551234567");
	NONE("555-1234");
	NONE("(555) 123-4567");
	NONE("hello");
	NONE("Authorization");
	NONE("application/json");
	NONE("text/html;charset=UTF-8");
	NONE("Mozilla/5.0 (X11; Linux x86_64)");
	NONE("deadbeef");
	NONE("3d701d8");
	NONE("PAYMENT_METHOD_CARD_V2_EXTRA");
	NONE("order-status-updated-2024");
	NONE("/api/v1/orders/1001/items");
}

/* Parses s, formats the same instant: the same bytes. */
static void
round_trip(const char *s)
{
	struct shape_time	t;
	struct buf		b;

	buf_init(&b);
	unit_checks++;
	if (shape_time_parse(s, strlen(s), &t) == -1) {
		UNIT_FAIL("\"%s\" does not parse", s);
		return;
	}
	shape_time_format(&b, &t, t.us);
	ASSERT_MEM_EQ(b.data, b.len, s);
	buf_free(&b);
}

/* Parses s, formats the instant moved by d_us: expect. */
static void
shifted(const char *s, int64_t d_us, const char *expect)
{
	struct shape_time	t;
	struct buf		b;

	buf_init(&b);
	unit_checks++;
	if (shape_time_parse(s, strlen(s), &t) == -1) {
		UNIT_FAIL("\"%s\" does not parse", s);
		return;
	}
	shape_time_format(&b, &t, t.us + d_us);
	ASSERT_MEM_EQ(b.data, b.len, expect);
	buf_free(&b);
}

static void
test_time_format(void)
{
	static const char *const values[] = {
		"2026-12-07T17:54:34Z",
		"2026-12-07t17:54:34z",
		"2026-12-07 17:54:34",
		"2026-12-07T17:54:34",
		"2026-12-07T17:54:34.5Z",
		"2026-12-07T17:54:34.120Z",
		"2026-12-07T17:54:34.000Z",
		"2026-12-07T17:54:34.123456Z",
		"2026-12-07T17:54:34.1234567Z",
		"2026-12-07T17:54:34.12345678Z",
		"2026-12-07T17:54:34.123456789+02:00",
		"2026-12-07T17:54:34.000000001Z",
		"2026-12-07T17:54:34-0530",
		"2026-12-07T17:54:34+05",
		"2026-12-07T00:10:00+14:00",
		"2026-12-07T23:50:00-12:00",
		"2024-02-29T23:59:59.999-00:00",
		"1969-12-31T23:59:59.999999Z",
		"1970-01-01T00:00:00Z",
		"0001-01-01T00:00:00Z",
		"9999-12-31T23:59:59.999999999Z",
		"2024-12-07 10:11:12.345678",
		"Sun, 06 Nov 1994 08:49:37 GMT",
		"Mon, 07 Dec 2026 17:54:34 GMT",
		"Thu, 29 Feb 2024 00:00:00 GMT",
		"1733580874",
		"999999999",
		"1733580874123",
		"173358087412",
		"1733580874123456",
		"173358087412345",
	};
	struct shape_time	t;
	struct buf		b;
	size_t			i;

	for (i = 0; i < sizeof values / sizeof values[0]; i++)
		round_trip(values[i]);

	ASSERT_EQ(shape_time_parse("1970-01-01T00:00:00Z", 20, &t), 0);
	ASSERT_EQ(t.us, 0);
	ASSERT_EQ(shape_time_parse("2026-12-07T19:54:34+02:00", 25, &t), 0);
	ASSERT_EQ(t.us, INT64_C(1796666074) * US);
	ASSERT_EQ(shape_time_parse("2026-12-07T12:24:34-0530", 24, &t), 0);
	ASSERT_EQ(t.us, INT64_C(1796666074) * US);
	ASSERT_EQ(shape_time_parse("Sun, 06 Nov 1994 08:49:37 GMT", 29, &t),
	    0);
	ASSERT_EQ(t.fmt, SHAPE_T_HTTPDATE);
	ASSERT_EQ(t.us, INT64_C(784111777) * US);
	ASSERT_EQ(shape_time_parse("0001-01-01T00:00:00Z", 20, &t), 0);
	ASSERT_EQ(t.us, INT64_C(-62135596800) * US);
	ASSERT_EQ(shape_time_parse("2026-12-07T17:54:34.1234567Z", 28, &t),
	    0);
	ASSERT_EQ(t.frac, 7);
	ASSERT_EQ(t.frac_ns, 700);
	ASSERT_EQ(t.us % US, 123456);
	ASSERT_EQ(shape_time_parse("2026-12-07", 10, &t), -1);
	ASSERT_EQ(shape_time_parse("17335808741", 11, &t), -1);
	ASSERT_EQ(shape_time_parse("1.2.3", 5, &t), -1);

	/* +3600 s */
	shifted("2026-12-07T17:54:34Z", 3600 * US, "2026-12-07T18:54:34Z");
	shifted("2026-12-07 17:54:34", 3600 * US, "2026-12-07 18:54:34");
	shifted("2026-12-07t23:30:00.123456789+02:00", 3600 * US,
	    "2026-12-08t00:30:00.123456789+02:00");
	shifted("2026-12-31T23:59:59.5-0530", 3600 * US,
	    "2027-01-01T00:59:59.5-0530");
	shifted("2024-02-28T23:00:00.120z", 3600 * US,
	    "2024-02-29T00:00:00.120z");
	shifted("2026-12-07T17:54:12.123456789Z", 3600 * US,
	    "2026-12-07T18:54:12.123456789Z");
	shifted("Sun, 06 Nov 1994 23:49:37 GMT", 3600 * US,
	    "Mon, 07 Nov 1994 00:49:37 GMT");
	shifted("Sat, 31 Dec 2022 23:30:00 GMT", 3600 * US,
	    "Sun, 01 Jan 2023 00:30:00 GMT");
	shifted("1733580874", 3600 * US, "1733584474");
	shifted("1733580874123", 3600 * US, "1733584474123");
	shifted("1733580874123456", 3600 * US, "1733584474123456");
	shifted("999999999", 3600 * US, "1000003599");
	/* sub-second shifts: fewer digits truncate, extra digits stay */
	shifted("2026-12-07T17:54:12.123456789Z", 500000,
	    "2026-12-07T17:54:12.623456789Z");
	shifted("2026-12-07T17:54:12.5Z", 499999, "2026-12-07T17:54:12.9Z");
	shifted("2026-12-07T17:54:12Z", 999999, "2026-12-07T17:54:12Z");
	shifted("2026-12-07T17:54:12Z", -1, "2026-12-07T17:54:11Z");
	shifted("1970-01-01T00:00:00.25Z", -US, "1969-12-31T23:59:59.25Z");
	shifted("1733580874", 999999, "1733580874");

	/* an instant written in another offset: local time of that zone */
	ASSERT_EQ(shape_time_parse("2026-12-07T10:00:00+05:30", 25, &t), 0);
	buf_init(&b);
	shape_time_format(&b, &t, INT64_C(1796666074) * US);
	ASSERT_MEM_EQ(b.data, b.len, "2026-12-07T23:24:34+05:30");
	buf_free(&b);
}

/* The 48-bit ms time of a ULID. */
static int64_t
ulid_ms(const char *s)
{
	static const char	cf[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	int64_t			t = 0;
	const char		*p;
	int			i, c;

	for (i = 0; i < 10; i++) {
		c = s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i];
		p = strchr(cf, c);
		if (p == NULL)
			return -1;
		t = t << 5 | (p - cf);
	}
	return t;
}

static uint64_t
hex_u64(const char *s, size_t n)
{
	char	tmp[17];

	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return strtoull(tmp, NULL, 16);
}

/*
 * shape_fresh of s: the result classifies as the same kind with the same
 * details and length, differs from s and from a second call, and is the
 * same for the same seed.  The first result is left in out.
 */
static void
fresh_check(const char *s, int64_t now_us, struct shape *got,
    struct buf *out)
{
	struct shape	sh;
	struct buf	b2, b3;
	uint64_t	rng = 12345, rng2 = 12345;

	buf_init(&b2);
	buf_init(&b3);
	buf_reset(out);
	ASSERT(kind_of(s, &wide, &sh) != SHAPE_NONE);
	shape_fresh(out, &sh, s, strlen(s), now_us, &rng);
	shape_fresh(&b2, &sh, s, strlen(s), now_us, &rng);
	shape_fresh(&b3, &sh, s, strlen(s), now_us, &rng2);
	unit_checks++;
	if (shape_classify(out->data, out->len, &wide, got) != sh.kind)
		UNIT_FAIL("fresh \"%s\" of \"%s\" is %s", out->data, s,
		    shape_kind_name(got->kind));
	ASSERT_EQ(got->version, sh.version);
	ASSERT_EQ(got->upper, sh.upper);
	ASSERT_EQ(got->url, sh.url);
	ASSERT_EQ(got->padded, sh.padded);
	ASSERT_EQ(out->len, strlen(s));
	ASSERT(strcmp(out->data, s) != 0);
	ASSERT(strcmp(out->data, b2.data) != 0);
	ASSERT_STR_EQ(b3.data, out->data);
	buf_free(&b2);
	buf_free(&b3);
}

static void
test_fresh(void)
{
	const int64_t	now = INT64_C(1796666074123456);
	struct shape	sh, got;
	struct buf	b;
	uint64_t	rng, t;
	size_t		i;

	buf_init(&b);

	fresh_check("f47ac10b-58cc-4372-a567-0e02b2c3d479", now, &got, &b);
	ASSERT_EQ(b.data[14], '4');
	ASSERT(strchr("89ab", b.data[19]) != NULL);
	fresh_check("F47AC10B-58CC-4372-A567-0E02B2C3D479", now, &got, &b);
	ASSERT(strchr("89AB", b.data[19]) != NULL);

	fresh_check("0190163d-8694-739b-aea5-966c26f8ad91", now, &got, &b);
	ASSERT_EQ(b.data[14], '7');
	ASSERT_EQ(hex_u64(b.data, 8) << 16 | hex_u64(b.data + 9, 4),
	    now / 1000);

	fresh_check("6ba7b810-9dad-11d1-80b4-00c04fd430c8", now, &got, &b);
	ASSERT_EQ(b.data[14], '1');
	t = hex_u64(b.data + 15, 3) << 48 | hex_u64(b.data + 9, 4) << 32 |
	    hex_u64(b.data, 8);
	ASSERT_EQ((int64_t)((t - UINT64_C(0x01B21DD213814000)) / 10), now);
	ASSERT_MEM_EQ(b.data + 24, 12, "00c04fd430c8");
	ASSERT(strchr("89ab", b.data[19]) != NULL);

	/* v6: time high bits first */
	fresh_check("1ec9414c-232a-6b00-b3c8-9e6bdeced846", now, &got, &b);
	ASSERT_EQ(b.data[14], '6');
	t = hex_u64(b.data, 8) << 28 | hex_u64(b.data + 9, 4) << 12 |
	    hex_u64(b.data + 15, 3);
	ASSERT_EQ((int64_t)((t - UINT64_C(0x01B21DD213814000)) / 10), now);

	fresh_check("886313e1-3b8a-5372-9b90-0c9aee199e5d", now, &got, &b);
	ASSERT_EQ(b.data[14], '5');

	fresh_check("01ARZ3NDEKTSV4RRFFQ69G5FAV", now, &got, &b);
	ASSERT_EQ(ulid_ms(b.data), now / 1000);
	fresh_check("01arz3ndektsv4rrffq69g5fav", now, &got, &b);
	ASSERT_EQ(ulid_ms(b.data), now / 1000);

	fresh_check("3d701d8b2f4c0e1a9b8c7d6e5f4a3b2c1d0e9f8a", now, &got,
	    &b);
	fresh_check("9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15"
	    "B0F00A08", now, &got, &b);
	fresh_check("0123456789abcdef0123456789abcdef0", now, &got, &b);

	fresh_check("q83vEjRWeJq8/mYtA+Lz0w==", now, &got, &b);
	ASSERT(strpbrk(b.data, "+/") != NULL);
	ASSERT_EQ(b.data[22], '=');
	fresh_check("Hh8gISIjJCUmJygpKissLS4=", now, &got, &b);
	ASSERT(strpbrk(b.data, "+/-_") == NULL);
	fresh_check("yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f", now, &got, &b);
	ASSERT(strpbrk(b.data, "-_") != NULL);
	ASSERT(strpbrk(b.data, "+/") == NULL);
	fresh_check("ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7ZGVmZ2hpamtsbW5vcHFyc3R1"
	    "dnd4eXp7ZGVmZ2hpam", now, &got, &b);
	ASSERT(strpbrk(b.data, "+/-_=") == NULL);
	/* a last character of a 2-char group holds only 2 bits: canonical */
	fresh_check("ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7ZG", now, &got, &b);
	ASSERT(strchr("AQgw", b.data[b.len - 1]) != NULL);

	/* timestamps: now in the same layout */
	static const struct {
		const char	*in, *out;
	} times[] = {
		{ "2024-12-07T10:11:12.345Z", "2026-12-07T17:54:34.123Z" },
		{ "2024-12-07t10:11:12.123456789+02:00",
		  "2026-12-07t19:54:34.123456789+02:00" },
		{ "2024-12-07 10:11:12", "2026-12-07 17:54:34" },
		{ "Sat, 07 Dec 2024 10:11:12 GMT",
		  "Mon, 07 Dec 2026 17:54:34 GMT" },
		{ "1733580874", "1796666074" },
		{ "1733580874000", "1796666074123" },
		{ "1733580874000000", "1796666074123456" },
	};
	for (i = 0; i < sizeof times / sizeof times[0]; i++) {
		ASSERT_EQ(kind_of(times[i].in, &wide, &sh), SHAPE_TIME);
		buf_reset(&b);
		rng = 1;
		shape_fresh(&b, &sh, times[i].in, strlen(times[i].in), now,
		    &rng);
		ASSERT_MEM_EQ(b.data, b.len, times[i].out);
		ASSERT_EQ(kind_of(b.data, &wide, &got), SHAPE_TIME);
		ASSERT_EQ(got.time.fmt, sh.time.fmt);
	}

	/* a JWT cannot be made here: unchanged */
	ASSERT_EQ(kind_of(jwt_hs256, NULL, &sh), SHAPE_JWT);
	buf_reset(&b);
	rng = 1;
	shape_fresh(&b, &sh, jwt_hs256, strlen(jwt_hs256), now, &rng);
	ASSERT_MEM_EQ(b.data, b.len, jwt_hs256);

	/* appends, never overwrites */
	buf_reset(&b);
	buf_append_str(&b, "id=");
	ASSERT_EQ(kind_of("0123456789abcdef0123456789abcdef", NULL, &sh),
	    SHAPE_HEX);
	shape_fresh(&b, &sh, "0123456789abcdef0123456789abcdef", 32, now,
	    &rng);
	ASSERT_EQ(b.len, 35);
	ASSERT_MEM_EQ(b.data, 3, "id=");
	ASSERT_EQ(strlen(b.data), 35);

	buf_free(&b);
}

static void
test_rand(void)
{
	uint64_t	rng = 0, a, b;

	/* splitmix64's published first output for seed 0 */
	ASSERT(shape_rand(&rng) == UINT64_C(0xe220a8397b1dcdaf));
	ASSERT(shape_rand(&rng) == UINT64_C(0x6e789e6aa1b965f4));
	rng = 7;
	a = shape_rand(&rng);
	rng = 7;
	b = shape_rand(&rng);
	ASSERT(a == b);
	ASSERT(shape_rand(&rng) != a);
}

/* Every prefix of every sample, placed right before an unreadable page:
 * no read past the end (a crash here), and no prefix of a UUID or ULID,
 * or of a JWT cut before its signature, keeps the kind. */
static void
test_truncations(void)
{
	static const char *const samples[] = {
		jwt_hs256, jwt_none, jwt_es256,
		"2026-12-07T17:54:34.123456789+02:00",
		"Sun, 06 Nov 1994 08:49:37 GMT",
		"1733580874123456",
		"f47ac10b-58cc-4372-a567-0e02b2c3d479",
		"01ARZ3NDEKTSV4RRFFQ69G5FAV",
		"q83vEjRWeJq8/mYtA+Lz0w==",
		"3d701d8b2f4c0e1a9b8c7d6e5f4a3b2c1d0e9f8a",
	};
	long			 pg = sysconf(_SC_PAGESIZE);
	char			*map, *s;
	struct shape		 sh;
	struct shape_time	 t;
	size_t			 i, n, len;
	enum shape_kind		 full;
	int			 bad = 0;

	map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT(map != MAP_FAILED);
	if (map == MAP_FAILED)
		return;
	ASSERT_EQ(mprotect(map + pg, pg, PROT_NONE), 0);
	for (i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		len = strlen(samples[i]);
		s = map + pg - len;
		memcpy(s, samples[i], len);
		full = shape_classify(s, len, &wide, &sh);
		ASSERT(full != SHAPE_NONE);
		for (n = 0; n < len; n++) {
			s = map + pg - n;
			memcpy(s, samples[i], n);
			/* a JWT cut inside its signature still looks
			 * whole: only cuts before the last '.' count */
			if (shape_classify(s, n, &wide, &sh) == full &&
			    (full == SHAPE_UUID || full == SHAPE_ULID ||
			    (full == SHAPE_JWT &&
			    n <= (size_t)(strrchr(samples[i], '.') -
			    samples[i]))))
				bad++;
			(void)shape_time_parse(s, n, &t);
		}
	}
	ASSERT_EQ(bad, 0);
	munmap(map, 2 * pg);
}

int
main(void)
{
	test_names();
	test_jwt();
	test_time_classify();
	test_epoch();
	test_ids();
	test_near_misses();
	test_time_format();
	test_fresh();
	test_rand();
	test_truncations();
	UNIT_DONE();
}
