/*
 * shape.c -- the shapes of volatile values (see shape.h): classification
 * of a value's bytes, exact timestamp parsing and re-formatting, fresh
 * values of the same format.
 *
 * Everything here is pure and allocation-free (output goes only into the
 * caller's buffer) because the responder calls it per request.  The
 * classifier looks at the length and the first bytes before it scans, so
 * an ordinary value (a word, a number, a sentence) is rejected in a few
 * comparisons.  A JWT's header and payload are base64url-decoded on the
 * fly into a small JSON validator, so a token of any size is checked
 * without a copy.
 *
 * Choices the header leaves open:
 *  - A bare date ("2026-12-07"), a time without seconds, the ISO 8601
 *    basic format ("20261207T175434Z"), a comma as the decimal sign and a
 *    leap second (":60") are not timestamps: none of them can be written
 *    back in the same layout by struct shape_time.  A zone may be "Z",
 *    "z", "+hh:mm", "+hhmm" or "+hh" ('-' likewise); it is written back
 *    as recorded, since shifting an instant does not change its zone.
 *  - Fraction digits beyond the 6th (nanoseconds) are kept in frac_ns and
 *    written back unchanged whatever the instant: "…:12.123456789Z"
 *    shifted by whole seconds (or microseconds) keeps "789".  Fewer than
 *    6 digits are written truncated (not rounded), so parse then format
 *    of the same instant gives the same bytes.
 *  - An epoch integer never has a leading zero or a sign.
 *  - The nil and max UUIDs (all 0, all f) are sentinels, not generated
 *    ids: SHAPE_NONE.  A ULID is single-case like a UUID (upper records
 *    which) and holds at least one digit and one letter.
 *  - A JWT must begin with "ey" (a header that starts with '{' and no
 *    blank, as every issuer writes it).
 *  - A base64 token that reads as camelCase words with a number (every
 *    capital followed by a small letter, a run of 4 or more small
 *    letters, all digits in one run: "getUserAccountById2024Version") is
 *    not opaque, nor is one whose letters are all hex letters (mixed-case
 *    hex: a UUID or digest in mixed case).  Measured on random 16-byte
 *    tokens (22 characters) these reject about 1 in 1000; the rule that
 *    a token hold a digit rejects 2.7% (0.07% at 32 bytes).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "shape.h"

#define US_PER_S	INT64_C(1000000)
#define S_PER_DAY	INT64_C(86400)
/* 100-ns intervals from 1582-10-15 (the UUID epoch) to 1970-01-01. */
#define UUID_EPOCH_100NS	UINT64_C(0x01B21DD213814000)

#define JSON_DEPTH_MAX	64

static const char shape_hex_lo[] = "0123456789abcdef";
static const char shape_hex_up[] = "0123456789ABCDEF";
static const char shape_crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
static const char shape_b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char shape_b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char *const shape_kind_names[SHAPE_NKINDS] = {
	[SHAPE_NONE] = "none",
	[SHAPE_JWT] = "jwt",
	[SHAPE_TIME] = "timestamp",
	[SHAPE_UUID] = "uuid",
	[SHAPE_ULID] = "ulid",
	[SHAPE_HEX] = "hex",
	[SHAPE_B64] = "b64",
};

static const char *const shape_wdays[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char *const shape_months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* ---- small helpers ---- */

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_upper(int c)
{
	return c >= 'A' && c <= 'Z';
}

static int
is_lower(int c)
{
	return c >= 'a' && c <= 'z';
}


/* The value of a base64url character, or -1. */
static int
b64url_val(int c)
{
	if (is_upper(c))
		return c - 'A';
	if (is_lower(c))
		return c - 'a' + 26;
	if (is_digit(c))
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* n decimal digits at s as an int, or -1 if one is not a digit. */
static int
dec_n(const char *s, int n)
{
	int	v = 0, i;

	for (i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t	q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int64_t
floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int m)
{
	static const int	dm[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

int64_t
shape_days_from_civil(int64_t y, int m, int d)
{
	int64_t	era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
shape_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t	era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Writes v in decimal (buf_put_u64, with a sign) at p; returns the end. */
static char *
put_int(char *p, int64_t v, size_t width)
{
	if (v < 0) {
		*p++ = '-';
		return buf_put_u64(p, (uint64_t)0 - (uint64_t)v, width);
	}
	return buf_put_u64(p, (uint64_t)v, width);
}

/* ---- names ---- */

const char *
shape_kind_name(enum shape_kind k)
{
	if ((int)k < 0 || k >= SHAPE_NKINDS)
		return "none";
	return shape_kind_names[k];
}

enum shape_kind
shape_kind_parse(const char *name)
{
	int	k;

	if (name == NULL)
		return SHAPE_NONE;
	for (k = 0; k < SHAPE_NKINDS; k++)
		if (strcmp(name, shape_kind_names[k]) == 0)
			return (enum shape_kind)k;
	return SHAPE_NONE;
}

const char *
shape_time_fmt_name(enum shape_time_fmt f)
{
	switch (f) {
	case SHAPE_T_RFC3339:
		return "rfc3339";
	case SHAPE_T_HTTPDATE:
		return "http-date";
	case SHAPE_T_EPOCH_S:
		return "epoch-s";
	case SHAPE_T_EPOCH_MS:
		return "epoch-ms";
	case SHAPE_T_EPOCH_US:
		return "epoch-us";
	}
	return "rfc3339";
}

/* ---- timestamps ---- */

/* 2026-12-07T17:54:34[.fraction][zone]; see the top of the file. */
static int
time_parse_rfc3339(const char *s, size_t len, struct shape_time *t)
{
	int64_t	y, days, frac_us = 0;
	int	mo, d, h, mi, se, zh, zm = 0, nd, frac_ns = 0, i;
	size_t	p, zlen;

	if (len < 19 || s[4] != '-' || s[7] != '-' || s[13] != ':' ||
	    s[16] != ':' || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		return -1;
	if ((y = dec_n(s, 4)) == -1 || (mo = dec_n(s + 5, 2)) == -1 ||
	    (d = dec_n(s + 8, 2)) == -1 || (h = dec_n(s + 11, 2)) == -1 ||
	    (mi = dec_n(s + 14, 2)) == -1 || (se = dec_n(s + 17, 2)) == -1)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || se > 59)
		return -1;
	p = 19;
	nd = 0;
	if (p < len && s[p] == '.') {
		p++;
		while (p < len && is_digit((unsigned char)s[p])) {
			if (nd == 9)
				return -1;
			if (nd < 6)
				frac_us = frac_us * 10 + (s[p] - '0');
			else
				frac_ns = frac_ns * 10 + (s[p] - '0');
			nd++;
			p++;
		}
		if (nd == 0)
			return -1;
		for (i = nd; i < 6; i++)
			frac_us *= 10;
		for (i = nd < 6 ? 6 : nd; i < 9; i++)
			frac_ns *= 10;
	}
	memset(t->zone, 0, sizeof t->zone);
	t->zone_min = 0;
	zlen = len - p;
	if (zlen == 1 && (s[p] == 'Z' || s[p] == 'z'))
		t->zone[0] = s[p];
	else if (zlen > 0 && (s[p] == '+' || s[p] == '-')) {
		if (zlen == 3)
			zh = dec_n(s + p + 1, 2);
		else if (zlen == 5) {
			zh = dec_n(s + p + 1, 2);
			zm = dec_n(s + p + 3, 2);
		} else if (zlen == 6 && s[p + 3] == ':') {
			zh = dec_n(s + p + 1, 2);
			zm = dec_n(s + p + 4, 2);
		} else
			return -1;
		if (zh < 0 || zh > 23 || zm < 0 || zm > 59)
			return -1;
		memcpy(t->zone, s + p, zlen);
		t->zone_min = (zh * 60 + zm) * (s[p] == '-' ? -1 : 1);
	} else if (zlen > 0)
		return -1;

	days = shape_days_from_civil(y, mo, d);
	t->fmt = SHAPE_T_RFC3339;
	t->sep = s[10];
	t->frac = nd;
	t->frac_ns = frac_ns;
	t->us = ((days * S_PER_DAY + h * 3600 + mi * 60 + se) -
	    (int64_t)t->zone_min * 60) * US_PER_S + frac_us;
	return 0;
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT", weekday checked. */
static int
time_parse_httpdate(const char *s, size_t len, struct shape_time *t)
{
	int64_t	y, days;
	int	wd, mo, d, h, mi, se;

	if (len != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
	    s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    memcmp(s + 25, " GMT", 4) != 0)
		return -1;
	for (wd = 0; wd < 7; wd++)
		if (memcmp(s, shape_wdays[wd], 3) == 0)
			break;
	for (mo = 0; mo < 12; mo++)
		if (memcmp(s + 8, shape_months[mo], 3) == 0)
			break;
	if (wd == 7 || mo == 12)
		return -1;
	mo++;
	if ((d = dec_n(s + 5, 2)) == -1 || (y = dec_n(s + 12, 4)) == -1 ||
	    (h = dec_n(s + 17, 2)) == -1 || (mi = dec_n(s + 20, 2)) == -1 ||
	    (se = dec_n(s + 23, 2)) == -1)
		return -1;
	if (d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59)
		return -1;
	days = shape_days_from_civil(y, mo, d);
	if (floor_mod(days + 4, 7) != wd)
		return -1;
	memset(t, 0, sizeof *t);
	t->fmt = SHAPE_T_HTTPDATE;
	t->us = (days * S_PER_DAY + h * 3600 + mi * 60 + se) * US_PER_S;
	return 0;
}

/* A plain integer: 9-10 digits seconds, 12-13 ms, 15-16 µs. */
static int
time_parse_epoch(const char *s, size_t len, struct shape_time *t)
{
	int64_t	v = 0;
	size_t	i;

	if (len < 9 || len > 16 || s[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		if (!is_digit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	memset(t, 0, sizeof *t);
	switch (len) {
	case 9:
	case 10:
		t->fmt = SHAPE_T_EPOCH_S;
		t->us = v * US_PER_S;
		break;
	case 12:
	case 13:
		t->fmt = SHAPE_T_EPOCH_MS;
		t->us = v * 1000;
		break;
	case 15:
	case 16:
		t->fmt = SHAPE_T_EPOCH_US;
		t->us = v;
		break;
	default:
		return -1;
	}
	return 0;
}

int
shape_time_parse(const char *s, size_t len, struct shape_time *t)
{
	struct shape_time	tmp;
	unsigned char		c;

	if (len < 9)
		return -1;
	if (t == NULL)
		t = &tmp;
	c = (unsigned char)s[0];
	if (is_digit(c)) {
		if (len >= 19 && s[4] == '-')
			return time_parse_rfc3339(s, len, t);
		return time_parse_epoch(s, len, t);
	}
	if (is_upper(c))
		return time_parse_httpdate(s, len, t);
	return -1;
}

void
shape_time_format(struct buf *b, const struct shape_time *t, int64_t us)
{
	char	 tmp[96], *p = tmp, digits[9];
	int64_t	 secs, days, rem, y;
	int	 m, d, frac, ns, i;
	size_t	 zl;

	switch (t->fmt) {
	case SHAPE_T_EPOCH_S:
		p = put_int(p, floor_div(us, US_PER_S), 1);
		break;
	case SHAPE_T_EPOCH_MS:
		p = put_int(p, floor_div(us, 1000), 1);
		break;
	case SHAPE_T_EPOCH_US:
		p = put_int(p, us, 1);
		break;
	case SHAPE_T_HTTPDATE:
		secs = floor_div(us, US_PER_S);
		days = floor_div(secs, S_PER_DAY);
		rem = secs - days * S_PER_DAY;
		shape_civil_from_days(days, &y, &m, &d);
		memcpy(p, shape_wdays[floor_mod(days + 4, 7)], 3);
		p += 3;
		*p++ = ',';
		*p++ = ' ';
		p = buf_put_u64(p, (uint64_t)d, 2);
		*p++ = ' ';
		memcpy(p, shape_months[m - 1], 3);
		p += 3;
		*p++ = ' ';
		p = put_int(p, y, 4);
		*p++ = ' ';
		p = buf_put_u64(p, (uint64_t)(rem / 3600), 2);
		*p++ = ':';
		p = buf_put_u64(p, (uint64_t)(rem / 60 % 60), 2);
		*p++ = ':';
		p = buf_put_u64(p, (uint64_t)(rem % 60), 2);
		memcpy(p, " GMT", 4);
		p += 4;
		break;
	case SHAPE_T_RFC3339:
	default:
		us += (int64_t)t->zone_min * 60 * US_PER_S;
		secs = floor_div(us, US_PER_S);
		days = floor_div(secs, S_PER_DAY);
		rem = secs - days * S_PER_DAY;
		shape_civil_from_days(days, &y, &m, &d);
		p = put_int(p, y, 4);
		*p++ = '-';
		p = buf_put_u64(p, (uint64_t)m, 2);
		*p++ = '-';
		p = buf_put_u64(p, (uint64_t)d, 2);
		*p++ = t->sep != '\0' ? t->sep : 'T';
		p = buf_put_u64(p, (uint64_t)(rem / 3600), 2);
		*p++ = ':';
		p = buf_put_u64(p, (uint64_t)(rem / 60 % 60), 2);
		*p++ = ':';
		p = buf_put_u64(p, (uint64_t)(rem % 60), 2);
		frac = t->frac < 0 ? 0 : t->frac > 9 ? 9 : t->frac;
		if (frac > 0) {
			ns = t->frac_ns < 0 ? 0 : t->frac_ns > 999 ? 999 :
			    t->frac_ns;
			buf_put_u64(digits, (uint64_t)floor_mod(us, US_PER_S), 6);
			buf_put_u64(digits + 6, (uint64_t)ns, 3);
			*p++ = '.';
			for (i = 0; i < frac; i++)
				*p++ = digits[i];
		}
		zl = strnlen(t->zone, sizeof t->zone);
		memcpy(p, t->zone, zl);
		p += zl;
		break;
	}
	buf_append(b, tmp, (size_t)(p - tmp));
}

/* ---- JWT: base64url decoded on the fly into a JSON validator ---- */

struct jwt_in {
	const char	*s;	/* base64url text, already checked */
	size_t		 len;
	size_t		 i;
	uint32_t	 acc;
	int		 bits;
	int		 c;	/* the current decoded byte, -1 at the end */
};

/* A decoded string kept when it is short and ASCII (a key, "alg"). */
struct jwt_cap {
	char	*p;
	size_t	 size;
	size_t	 n;
	int	 over;
};

static void
jin_next(struct jwt_in *in)
{
	while (in->bits < 8) {
		if (in->i == in->len) {
			in->c = -1;
			return;
		}
		in->acc = ((in->acc << 6) |
		    (uint32_t)b64url_val((unsigned char)in->s[in->i++])) &
		    0xffff;
		in->bits += 6;
	}
	in->bits -= 8;
	in->c = (int)((in->acc >> in->bits) & 0xff);
}

static void
jin_ws(struct jwt_in *in)
{
	while (in->c == ' ' || in->c == '\t' || in->c == '\n' ||
	    in->c == '\r')
		jin_next(in);
}

static void
jcap_put(struct jwt_cap *cap, uint32_t cp)
{
	if (cap == NULL)
		return;
	if (cp >= 0x80 || cap->n + 1 >= cap->size) {
		cap->over = 1;
		return;
	}
	cap->p[cap->n++] = (char)cp;
	cap->p[cap->n] = '\0';
}

/* Four hex digits after "\u"; -1 if one is not hex. */
static int32_t
jin_hex4(struct jwt_in *in)
{
	int32_t	v = 0;
	int	i, x;

	for (i = 0; i < 4; i++) {
		jin_next(in);
		if (in->c < 0 || (x = base16_value(in->c)) == -1)
			return -1;
		v = v << 4 | x;
	}
	return v;
}

/* A string starting at '"': escapes and UTF-8 checked. */
static int
jin_string(struct jwt_in *in, struct jwt_cap *cap)
{
	int32_t	cp, lo;
	int	c, need, min2, max2;

	jin_next(in);
	for (;;) {
		c = in->c;
		if (c < 0x20)		/* the end (-1) or a control byte */
			return -1;
		if (c == '"') {
			jin_next(in);
			return 0;
		}
		if (c == '\\') {
			jin_next(in);
			switch (in->c) {
			case '"': case '\\': case '/':
				cp = in->c;
				break;
			case 'b':
				cp = '\b';
				break;
			case 'f':
				cp = '\f';
				break;
			case 'n':
				cp = '\n';
				break;
			case 'r':
				cp = '\r';
				break;
			case 't':
				cp = '\t';
				break;
			case 'u':
				if ((cp = jin_hex4(in)) == -1)
					return -1;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return -1;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					jin_next(in);
					if (in->c != '\\')
						return -1;
					jin_next(in);
					if (in->c != 'u' ||
					    (lo = jin_hex4(in)) == -1 ||
					    lo < 0xdc00 || lo > 0xdfff)
						return -1;
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					    (lo - 0xdc00);
				}
				break;
			default:
				return -1;
			}
			jcap_put(cap, (uint32_t)cp);
			jin_next(in);
			continue;
		}
		if (c < 0x80) {
			jcap_put(cap, (uint32_t)c);
			jin_next(in);
			continue;
		}
		/* UTF-8: the lead byte fixes the length and the range of the
		 * second byte (no overlongs, no surrogates, <= U+10FFFF). */
		min2 = 0x80;
		max2 = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				min2 = 0xa0;
			else if (c == 0xed)
				max2 = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				min2 = 0x90;
			else if (c == 0xf4)
				max2 = 0x8f;
		} else
			return -1;
		jin_next(in);
		if (in->c < min2 || in->c > max2)
			return -1;
		while (--need > 0) {
			jin_next(in);
			if (in->c < 0x80 || in->c > 0xbf)
				return -1;
		}
		jcap_put(cap, 0x80);	/* not ASCII: marks the capture over */
		jin_next(in);
	}
}

static int
jin_digits(struct jwt_in *in)
{
	if (!is_digit(in->c))
		return -1;
	while (is_digit(in->c))
		jin_next(in);
	return 0;
}

static int
jin_number(struct jwt_in *in)
{
	if (in->c == '-')
		jin_next(in);
	if (in->c == '0')
		jin_next(in);
	else if (jin_digits(in) == -1)
		return -1;
	if (in->c == '.') {
		jin_next(in);
		if (jin_digits(in) == -1)
			return -1;
	}
	if (in->c == 'e' || in->c == 'E') {
		jin_next(in);
		if (in->c == '+' || in->c == '-')
			jin_next(in);
		if (jin_digits(in) == -1)
			return -1;
	}
	return 0;
}

static int
jin_literal(struct jwt_in *in, const char *lit)
{
	for (; *lit != '\0'; lit++) {
		if (in->c != (unsigned char)*lit)
			return -1;
		jin_next(in);
	}
	return 0;
}

static int	jin_value(struct jwt_in *, int depth);

/*
 * After a member or element of an object or array closed by close: 1 at
 * the close (consumed), 0 after a ',' (consumed, blanks skipped), -1 on
 * anything else.
 */
static int
jin_after_item(struct jwt_in *in, int close)
{
	jin_ws(in);
	if (in->c == close) {
		jin_next(in);
		return 1;
	}
	if (in->c != ',')
		return -1;
	jin_next(in);
	jin_ws(in);
	return 0;
}

/*
 * An object starting at '{'.  With alg not NULL (the header's top level),
 * the string value of member "alg" is kept there.
 */
static int
jin_object(struct jwt_in *in, int depth, struct jwt_cap *alg)
{
	char		kbuf[8];
	struct jwt_cap	key;
	int		rv;

	jin_next(in);
	jin_ws(in);
	if (in->c == '}') {
		jin_next(in);
		return 0;
	}
	for (;;) {
		if (in->c != '"')
			return -1;
		key.p = kbuf;
		key.size = sizeof kbuf;
		key.n = 0;
		key.over = 0;
		kbuf[0] = '\0';
		if (jin_string(in, alg != NULL ? &key : NULL) == -1)
			return -1;
		jin_ws(in);
		if (in->c != ':')
			return -1;
		jin_next(in);
		jin_ws(in);
		if (alg != NULL && !key.over && strcmp(kbuf, "alg") == 0 &&
		    in->c == '"') {
			alg->n = 0;
			alg->over = 0;
			alg->p[0] = '\0';
			if (jin_string(in, alg) == -1)
				return -1;
			if (alg->n == 0)
				alg->over = 1;	/* "" is no algorithm */
		} else if (jin_value(in, depth + 1) == -1)
			return -1;
		if ((rv = jin_after_item(in, '}')) != 0)
			return rv == 1 ? 0 : -1;
	}
}

static int
jin_array(struct jwt_in *in, int depth)
{
	int	rv;

	jin_next(in);
	jin_ws(in);
	if (in->c == ']') {
		jin_next(in);
		return 0;
	}
	for (;;) {
		if (jin_value(in, depth + 1) == -1)
			return -1;
		if ((rv = jin_after_item(in, ']')) != 0)
			return rv == 1 ? 0 : -1;
	}
}

static int
jin_value(struct jwt_in *in, int depth)
{
	if (depth > JSON_DEPTH_MAX)
		return -1;
	switch (in->c) {
	case '{':
		return jin_object(in, depth, NULL);
	case '[':
		return jin_array(in, depth);
	case '"':
		return jin_string(in, NULL);
	case 't':
		return jin_literal(in, "true");
	case 'f':
		return jin_literal(in, "false");
	case 'n':
		return jin_literal(in, "null");
	default:
		return jin_number(in);
	}
}

/* Is s[0..len) the base64url of one JSON object (alg: see jin_object)? */
static int
jwt_part_object(const char *s, size_t len, struct jwt_cap *alg)
{
	struct jwt_in	in;

	in.s = s;
	in.len = len;
	in.i = 0;
	in.acc = 0;
	in.bits = 0;
	jin_next(&in);
	jin_ws(&in);
	if (in.c != '{' || jin_object(&in, 1, alg) == -1)
		return 0;
	jin_ws(&in);
	return in.c == -1;
}

static int
classify_jwt(const char *s, size_t len)
{
	size_t		i, dot[2], nd = 0, hl, pl, sl;
	char		algbuf[16];
	struct jwt_cap	alg;

	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (nd == 2)
				return 0;
			dot[nd++] = i;
		} else if (b64url_val((unsigned char)s[i]) == -1)
			return 0;
	}
	if (nd != 2)
		return 0;
	hl = dot[0];
	pl = dot[1] - dot[0] - 1;
	sl = len - dot[1] - 1;
	if (pl == 0 || hl % 4 == 1 || pl % 4 == 1 || sl % 4 == 1)
		return 0;
	alg.p = algbuf;
	alg.size = sizeof algbuf;
	alg.n = 0;
	alg.over = 1;		/* until an "alg" string is seen */
	algbuf[0] = '\0';
	if (!jwt_part_object(s, hl, &alg) || alg.over)
		return 0;
	if (sl == 0 && strcmp(algbuf, "none") != 0)
		return 0;
	return jwt_part_object(s + dot[0] + 1, pl, NULL);
}

/* ---- ids and tokens ---- */

static int
classify_uuid(const char *s, struct shape *out)
{
	int	i, c, up = 0, lo = 0, zero = 1, ff = 1;

	if (s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			continue;
		c = (unsigned char)s[i];
		if (base16_value(c) == -1)
			return 0;
		if (is_upper(c))
			up = 1;
		else if (is_lower(c))
			lo = 1;
		if (c != '0')
			zero = 0;
		if (c != 'f' && c != 'F')
			ff = 0;
	}
	if ((up && lo) || zero || ff)
		return 0;
	out->version = base16_value((unsigned char)s[14]);
	out->upper = up;
	return 1;
}

static int
classify_ulid(const char *s, struct shape *out)
{
	int	i, c, up = 0, lo = 0, dig = 0;

	if (s[0] < '0' || s[0] > '7')
		return 0;
	for (i = 0; i < 26; i++) {
		c = (unsigned char)s[i];
		if (is_digit(c)) {
			dig = 1;
			continue;
		}
		if (is_upper(c))
			up = 1;
		else if (is_lower(c)) {
			lo = 1;
			c -= 'a' - 'A';
		} else
			return 0;
		if (c == 'I' || c == 'L' || c == 'O' || c == 'U')
			return 0;
	}
	if ((up && lo) || !dig || (!up && !lo))
		return 0;
	out->upper = up;
	return 1;
}

/*
 * Opaque hex or base64 tokens (len >= 22), in one pass that stops at the
 * first byte neither alphabet has.
 */
static enum shape_kind
classify_token(const char *s, size_t len, struct shape *out)
{
	size_t	n = len, i, lorun = 0, lomax = 0;
	int	dig = 0, up = 0, lo = 0, nonhex = 0, url = 0, std = 0;
	int	uphump = 0, pad = 0, gz = 0, digruns = 0, c, next;

	while (n > 0 && s[n - 1] == '=') {
		n--;
		pad++;
	}
	if (n < 22 || pad > 2)
		return SHAPE_NONE;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (is_digit(c)) {
			if (i == 0 || !is_digit((unsigned char)s[i - 1]))
				digruns++;
			dig = 1;
			lorun = 0;
			continue;
		}
		if (is_lower(c)) {
			lo = 1;
			if (c > 'f')
				nonhex = gz = 1;
			if (++lorun > lomax)
				lomax = lorun;
			continue;
		}
		lorun = 0;
		if (is_upper(c)) {
			up = 1;
			if (c > 'F')
				nonhex = gz = 1;
			/* a capital followed by anything but a small
			 * letter: not camelCase */
			next = i + 1 < n ? (unsigned char)s[i + 1] : 'a';
			if (!is_lower(next))
				uphump = 1;
			continue;
		}
		if (c == '-' || c == '_')
			url = 1;
		else if (c == '+' || c == '/')
			std = 1;
		else
			return SHAPE_NONE;
		nonhex = 1;
	}
	if (!nonhex && pad == 0 && n >= 32 && dig && (up != lo)) {
		out->kind = SHAPE_HEX;
		out->upper = up;
		return SHAPE_HEX;
	}
	if (!up || !lo || !dig || (url && std) || n % 4 == 1 ||
	    (pad > 0 && len % 4 != 0))
		return SHAPE_NONE;
	/* Only hex letters: mixed-case hex (a UUID, a digest), which
	 * random base64 of this length practically never is. */
	if (!gz)
		return SHAPE_NONE;
	if (!uphump && lomax >= 4 && digruns == 1)
		return SHAPE_NONE;
	out->kind = SHAPE_B64;
	out->url = url;
	out->padded = pad > 0;
	return SHAPE_B64;
}

enum shape_kind
shape_classify(const char *s, size_t len, const struct shape_opts *opts,
    struct shape *out)
{
	struct shape	tmp;
	unsigned char	c0;

	if (out == NULL)
		out = &tmp;
	memset(out, 0, sizeof *out);
	if (len < 9)
		return SHAPE_NONE;
	c0 = (unsigned char)s[0];
	if (is_digit(c0)) {
		if (len >= 19 && len <= 35 && s[4] == '-' &&
		    time_parse_rfc3339(s, len, &out->time) == 0)
			return out->kind = SHAPE_TIME;
		if (len <= 16 && opts != NULL &&
		    (opts->epoch_lo_us != 0 || opts->epoch_hi_us != 0) &&
		    time_parse_epoch(s, len, &out->time) == 0) {
			if (out->time.us >= opts->epoch_lo_us &&
			    out->time.us <= opts->epoch_hi_us)
				return out->kind = SHAPE_TIME;
			memset(&out->time, 0, sizeof out->time);
			return SHAPE_NONE;
		}
	} else if (c0 == 'e') {
		if (s[1] == 'y' && len >= 16 && classify_jwt(s, len))
			return out->kind = SHAPE_JWT;
	} else if (len == 29 && s[3] == ',') {
		if (time_parse_httpdate(s, len, &out->time) == 0)
			return out->kind = SHAPE_TIME;
		memset(&out->time, 0, sizeof out->time);
		return SHAPE_NONE;
	}
	if (len == 36 && s[8] == '-') {
		if (classify_uuid(s, out))
			return out->kind = SHAPE_UUID;
		out->version = out->upper = 0;
	}
	if (len == 26 && classify_ulid(s, out))
		return out->kind = SHAPE_ULID;
	memset(out, 0, sizeof *out);
	if (len >= 22)
		return classify_token(s, len, out);
	return SHAPE_NONE;
}

/* ---- fresh values ---- */

uint64_t
shape_rand(uint64_t *rng)
{
	uint64_t	z;

	z = (*rng += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void
fresh_uuid(struct buf *b, const struct shape *sh, const char *s, size_t len,
    int64_t now_us, uint64_t *rng)
{
	unsigned char	 u[16];
	const char	*digs = sh->upper ? shape_hex_up : shape_hex_lo;
	uint64_t	 r, t;
	int		 v = sh->version & 0xf, vn = 8, i, x, hi;
	char		 out[36], *p = out;

	r = shape_rand(rng);
	memcpy(u, &r, 8);
	r = shape_rand(rng);
	memcpy(u + 8, &r, 8);
	if (now_us < 0)
		now_us = 0;
	switch (v) {
	case 1:
	case 6:
		/* 100-ns ticks since 1582; the tick within the µs is random
		 * so that two ids of one µs differ.  The node (the last 6
		 * bytes) stays the recorded one: the same "host". */
		t = (uint64_t)now_us * 10 + UUID_EPOCH_100NS + r % 10;
		if (v == 1) {
			u[0] = (unsigned char)(t >> 24);
			u[1] = (unsigned char)(t >> 16);
			u[2] = (unsigned char)(t >> 8);
			u[3] = (unsigned char)t;
			u[4] = (unsigned char)(t >> 40);
			u[5] = (unsigned char)(t >> 32);
			u[6] = (unsigned char)(t >> 56);
			u[7] = (unsigned char)(t >> 48);
		} else {
			u[0] = (unsigned char)(t >> 52);
			u[1] = (unsigned char)(t >> 44);
			u[2] = (unsigned char)(t >> 36);
			u[3] = (unsigned char)(t >> 28);
			u[4] = (unsigned char)(t >> 20);
			u[5] = (unsigned char)(t >> 12);
			u[6] = (unsigned char)(t >> 8);
			u[7] = (unsigned char)t;
		}
		if (len == 36) {
			for (i = 0; i < 6; i++) {
				hi = base16_value((unsigned char)s[24 + 2 * i]);
				x = base16_value((unsigned char)s[25 + 2 * i]);
				if (hi >= 0 && x >= 0)
					u[10 + i] = (unsigned char)(hi << 4 | x);
			}
		}
		break;
	case 7:
		t = (uint64_t)now_us / 1000;
		u[0] = (unsigned char)(t >> 40);
		u[1] = (unsigned char)(t >> 32);
		u[2] = (unsigned char)(t >> 24);
		u[3] = (unsigned char)(t >> 16);
		u[4] = (unsigned char)(t >> 8);
		u[5] = (unsigned char)t;
		break;
	default:
		break;
	}
	u[6] = (unsigned char)((u[6] & 0x0f) | v << 4);
	/* The variant: the recorded one (RFC 4122 "10" almost always). */
	if (len == 36 && base16_value((unsigned char)s[19]) != -1)
		vn = base16_value((unsigned char)s[19]);
	if ((vn & 0x8) == 0)
		u[8] &= 0x7f;
	else if ((vn & 0xc) == 0x8)
		u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
	else
		u[8] = (unsigned char)((u[8] & 0x1f) | (vn & 0xe) << 4);
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = digs[u[i] >> 4];
		*p++ = digs[u[i] & 0xf];
	}
	buf_append(b, out, sizeof out);
}

static void
fresh_ulid(struct buf *b, const struct shape *sh, int64_t now_us,
    uint64_t *rng)
{
	char		out[26];
	uint64_t	t, r;
	int		i, tries, dig, let;

	t = now_us < 0 ? 0 : (uint64_t)now_us / 1000;
	t &= (UINT64_C(1) << 48) - 1;
	for (i = 0; i < 10; i++)
		out[i] = shape_crockford[(t >> (45 - 5 * i)) & 31];
	for (tries = 0; tries < 100; tries++) {
		r = 0;
		dig = let = 0;
		for (i = 10; i < 26; i++) {
			if (i == 10 || i == 22)
				r = shape_rand(rng);
			out[i] = shape_crockford[r & 31];
			r >>= 5;
		}
		for (i = 0; i < 26; i++) {
			if (is_digit((unsigned char)out[i]))
				dig = 1;
			else
				let = 1;
		}
		if (dig && let)
			break;
	}
	if (!sh->upper)
		for (i = 0; i < 26; i++)
			if (is_upper((unsigned char)out[i]))
				out[i] = (char)(out[i] + ('a' - 'A'));
	buf_append(b, out, sizeof out);
}

static void
fresh_hex(struct buf *b, const struct shape *sh, size_t len, uint64_t *rng)
{
	const char	*digs = sh->upper ? shape_hex_up : shape_hex_lo;
	char		*p;
	uint64_t	 r = 0;
	size_t		 i;
	int		 tries, dig, let, x;

	buf_reserve(b, len);
	p = b->data + b->len;
	for (tries = 0; tries < 100; tries++) {
		dig = let = 0;
		for (i = 0; i < len; i++) {
			if (i % 16 == 0)
				r = shape_rand(rng);
			x = (int)(r & 0xf);
			r >>= 4;
			p[i] = digs[x];
			if (x < 10)
				dig = 1;
			else
				let = 1;
		}
		if ((dig && let) || len < 2)
			break;
	}
	b->len += len;
	b->data[b->len] = '\0';
}

static void
fresh_b64(struct buf *b, const struct shape *sh, const char *s, size_t len,
    uint64_t *rng)
{
	const char	*abc = sh->url ? shape_b64_url : shape_b64_std;
	char		*p;
	size_t		 n = len, i;
	int		 pad = 0, special = sh->url, nabc, last, tries, c;
	struct shape	 chk;

	while (n > 0 && s[n - 1] == '=') {
		n--;
		pad++;
	}
	for (i = 0; !special && i < n; i++)
		if (s[i] == '+' || s[i] == '/')
			special = 1;
	/* Without '-' '_' '+' '/' in the recorded token its alphabet is
	 * unknown: write only letters and digits, which fit both. */
	nabc = special ? 64 : 62;
	/* The last character of a group of 2 or 3 carries 4 or 2 unused
	 * bits, zero in a canonical encoding. */
	last = n % 4 == 2 ? 16 : n % 4 == 3 ? 4 : 1;
	buf_reserve(b, len);
	p = b->data + b->len;
	for (tries = 0; tries < 100; tries++) {
		for (i = 0; i < n; i++) {
			c = (int)((shape_rand(rng) >> 32) % (uint64_t)nabc);
			if (i == n - 1)
				c -= c % last;
			p[i] = abc[c];
		}
		memset(p + n, '=', (size_t)pad);
		if (classify_token(p, len, &chk) == SHAPE_B64 &&
		    chk.url == sh->url && (!special ||
		    memchr(p, abc[62], n) != NULL ||
		    memchr(p, abc[63], n) != NULL))
			break;
	}
	b->len += len;
	b->data[b->len] = '\0';
}

void
shape_fresh(struct buf *b, const struct shape *sh, const char *s, size_t len,
    int64_t now_us, uint64_t *rng)
{
	switch (sh->kind) {
	case SHAPE_UUID:
		fresh_uuid(b, sh, s, len, now_us, rng);
		break;
	case SHAPE_ULID:
		fresh_ulid(b, sh, now_us, rng);
		break;
	case SHAPE_HEX:
		fresh_hex(b, sh, len, rng);
		break;
	case SHAPE_B64:
		fresh_b64(b, sh, s, len, rng);
		break;
	case SHAPE_TIME:
		shape_time_format(b, &sh->time, now_us);
		break;
	case SHAPE_JWT:
	case SHAPE_NONE:
	default:
		buf_append(b, s, len);
		break;
	}
}
