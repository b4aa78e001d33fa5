/*
 * bk.c -- clock, dates, random ids, secrets and JWT HS256 for the bank
 * example (see bk.h).  Written for this fixture alone: dates are formatted
 * with gmtime_r and parsed by hand, base64url is coded here, HMAC-SHA256
 * comes from OpenSSL.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "http.h"
#include "log.h"
#include "xmalloc.h"
#include "bk.h"

/* Largest secret file read. */
#define BK_SECRET_MAX	4096

static int64_t	bk_offset_us;

int
bk_parse_offset(const char *s, int64_t *out_us)
{
	char	*end;
	double	 d;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	d = strtod(s, &end);
	/* Ten years either way is plenty and keeps the arithmetic exact. */
	if (errno != 0 || *end != '\0' || d != d || d < -315360000.0 ||
	    d > 315360000.0)
		return -1;
	*out_us = (int64_t)(d * 1e6);
	return 0;
}

void
bk_clock_set_offset(int64_t us)
{
	bk_offset_us = us;
}

int64_t
bk_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 +
	    bk_offset_us;
}

/* Floor division, so that dates before 1970 would still come out right. */
static int64_t
bk_floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

void
bk_format_rfc3339(int64_t us, enum bk_rfc3339 layout, char *out,
    size_t outlen)
{
	struct tm	tm;
	time_t		t;
	int64_t		secs;
	char		date[32];

	secs = bk_floor_div(us, 1000000);
	t = (time_t)secs;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
	switch (layout) {
	case BK_RFC3339_MILLIS:
		snprintf(out, outlen, "%s.%03dZ", date,
		    (int)((us - secs * 1000000) / 1000));
		break;
	case BK_RFC3339_OFFSET:
		snprintf(out, outlen, "%s+00:00", date);
		break;
	default:
		snprintf(out, outlen, "%sZ", date);
		break;
	}
}

/* Reads n digits at *p into *out and moves *p past them; 0 or -1. */
static int
bk_digits(const char **p, int n, int *out)
{
	int	v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int
bk_parse_rfc3339(const char *s, int64_t *out_us)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	struct tm	 tm;
	const char	*p = s;
	int		 y, mo, d, h, mi, sec, oh, om, sign;
	int64_t		 frac = 0, scale = 100000, t;

	if (bk_digits(&p, 4, &y) == -1 || *p++ != '-' ||
	    bk_digits(&p, 2, &mo) == -1 || *p++ != '-' ||
	    bk_digits(&p, 2, &d) == -1 || (*p != 'T' && *p != 't') ||
	    (p++, bk_digits(&p, 2, &h)) == -1 || *p++ != ':' ||
	    bk_digits(&p, 2, &mi) == -1 || *p++ != ':' ||
	    bk_digits(&p, 2, &sec) == -1)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
		oh = om = 0;
		sign = 1;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (bk_digits(&p, 2, &oh) == -1 || *p++ != ':' ||
		    bk_digits(&p, 2, &om) == -1 || oh > 23 || om > 59)
			return -1;
	} else
		return -1;
	if (*p != '\0')
		return -1;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	t -= sign * (oh * 3600 + om * 60);
	*out_us = t * 1000000 + frac;
	return 0;
}

void
bk_format_http_date(int64_t us, char *out, size_t outlen)
{
	static const char *days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm	tm;
	time_t		t;

	t = (time_t)bk_floor_div(us, 1000000);
	gmtime_r(&t, &tm);
	snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void
bk_random(void *p, size_t len)
{
	if (RAND_bytes(p, (int)len) != 1)
		fatalx("RAND_bytes failed");
}

static const char bk_hexdigits[] = "0123456789abcdef";

static void
bk_hex(const unsigned char *p, size_t n, char *out)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		out[2 * i] = bk_hexdigits[p[i] >> 4];
		out[2 * i + 1] = bk_hexdigits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

void
bk_uuid4(char out[BK_UUID_LEN])
{
	unsigned char	b[16];
	char		h[33];

	bk_random(b, sizeof b);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);	/* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	bk_hex(b, sizeof b, h);
	snprintf(out, BK_UUID_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8,
	    h + 12, h + 16, h + 20);
}

static int
bk_is_hexdigit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

int
bk_is_uuid4(const char *s)
{
	size_t	i;
	char	v;

	if (s == NULL || strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!bk_is_hexdigit(s[i]))
			return 0;
	}
	v = s[19];
	return s[14] == '4' && (v == '8' || v == '9' || v == 'a' ||
	    v == 'b' || v == 'A' || v == 'B');
}

void
bk_hex_random(char *out, size_t n)
{
	unsigned char	*b;

	b = xmalloc(n == 0 ? 1 : n);
	bk_random(b, n);
	bk_hex(b, n, out);
	free(b);
}

int
bk_is_hex(const char *s, size_t len)
{
	size_t	i;

	if (s == NULL || strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

void
bk_ulid(int64_t ms, char out[BK_ULID_LEN])
{
	static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	unsigned char	 r[10];
	uint64_t	 t = (uint64_t)ms & 0xffffffffffffULL, hi, lo;
	int		 i;

	/* 10 characters of time, 50 bits of which the top 2 are zero. */
	for (i = 9; i >= 0; i--) {
		out[i] = crockford[t & 31];
		t >>= 5;
	}
	/* 16 characters of randomness: 80 bits as 40 + 40. */
	bk_random(r, sizeof r);
	hi = lo = 0;
	for (i = 0; i < 5; i++) {
		hi = hi << 8 | r[i];
		lo = lo << 8 | r[i + 5];
	}
	for (i = 7; i >= 0; i--) {
		out[10 + i] = crockford[hi & 31];
		out[18 + i] = crockford[lo & 31];
		hi >>= 5;
		lo >>= 5;
	}
	out[26] = '\0';
}

int
bk_secret_load(const char *path, struct buf *out, char **cause)
{
	FILE	*f;
	char	 data[BK_SECRET_MAX + 1];
	size_t	 n;

	if ((f = fopen(path, "rb")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(data, 1, sizeof data, f);
	if (ferror(f)) {
		*cause = xasprintf("%s: read error", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	if (n > BK_SECRET_MAX) {
		*cause = xasprintf("%s: longer than %d bytes", path,
		    BK_SECRET_MAX);
		return -1;
	}
	if (n > 0 && data[n - 1] == '\n')
		n--;
	if (n == 0) {
		*cause = xasprintf("%s: empty secret", path);
		return -1;
	}
	buf_reset(out);
	buf_append(out, data, n);
	OPENSSL_cleanse(data, sizeof data);
	return 0;
}

/* ---- base64url without padding (RFC 7515 section 2) ---- */

static const char bk_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
bk_b64url_encode(struct buf *out, const unsigned char *p, size_t len)
{
	uint32_t	v;
	size_t		i;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		buf_append_byte(out, bk_b64url[v >> 18 & 63]);
		buf_append_byte(out, bk_b64url[v >> 12 & 63]);
		buf_append_byte(out, bk_b64url[v >> 6 & 63]);
		buf_append_byte(out, bk_b64url[v & 63]);
	}
	if (len - i == 1) {
		v = (uint32_t)p[i] << 16;
		buf_append_byte(out, bk_b64url[v >> 18 & 63]);
		buf_append_byte(out, bk_b64url[v >> 12 & 63]);
	} else if (len - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		buf_append_byte(out, bk_b64url[v >> 18 & 63]);
		buf_append_byte(out, bk_b64url[v >> 12 & 63]);
		buf_append_byte(out, bk_b64url[v >> 6 & 63]);
	}
}

/* Decodes s[0..len) into out; -1 on a character outside the alphabet,
 * padding, a length of 1 mod 4 or stray bits in the last character. */
static int
bk_b64url_decode(struct buf *out, const char *s, size_t len)
{
	uint32_t	 v = 0;
	size_t		 i, nbits = 0;
	const char	*c;

	if (len % 4 == 1)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] == '\0' || (c = strchr(bk_b64url, s[i])) == NULL)
			return -1;
		v = v << 6 | (uint32_t)(c - bk_b64url);
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			buf_append_byte(out, (char)(v >> nbits & 0xff));
		}
	}
	if (nbits > 0 && (v & ((1u << nbits) - 1)) != 0)
		return -1;
	return 0;
}

/* HMAC-SHA256 of p[0..len) with secret, base64url, appended to out. */
static void
bk_hs256(struct buf *out, const char *p, size_t len, const struct buf *secret)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;

	if (HMAC(EVP_sha256(), secret->data, (int)secret->len,
	    (const unsigned char *)p, len, md, &mdlen) == NULL)
		fatalx("HMAC-SHA256 failed");
	bk_b64url_encode(out, md, mdlen);
}

char *
bk_jwt_sign(const cJSON *payload, const struct buf *secret)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	struct buf	 b;
	char		*json;
	size_t		 signed_len;

	if ((json = cJSON_PrintUnformatted(payload)) == NULL)
		fatalx("cJSON_PrintUnformatted failed");
	buf_init(&b);
	bk_b64url_encode(&b, (const unsigned char *)header,
	    sizeof header - 1);
	buf_append_byte(&b, '.');
	bk_b64url_encode(&b, (const unsigned char *)json, strlen(json));
	cJSON_free(json);
	signed_len = b.len;
	buf_append_byte(&b, '.');
	bk_hs256(&b, b.data, signed_len, secret);
	return buf_detach(&b, NULL);
}

cJSON *
bk_jwt_verify(const char *token, const struct buf *secret, const char **why)
{
	const char	*dot1, *dot2, *sig, *alg;
	struct buf	 want, dec;
	cJSON		*header = NULL, *payload = NULL;
	size_t		 siglen;

	*why = "not a JWT";
	if (token == NULL || (dot1 = strchr(token, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL ||
	    strchr(dot2 + 1, '.') != NULL)
		return NULL;
	sig = dot2 + 1;
	siglen = strlen(sig);

	buf_init(&dec);
	if (bk_b64url_decode(&dec, token, (size_t)(dot1 - token)) == -1 ||
	    (header = cJSON_ParseWithLength(dec.data == NULL ? "" : dec.data,
	    dec.len)) == NULL || !cJSON_IsObject(header))
		goto out;
	alg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(header,
	    "alg"));
	if (alg == NULL || strcmp(alg, "HS256") != 0) {
		*why = "alg is not HS256";
		goto out;
	}

	buf_init(&want);
	bk_hs256(&want, token, (size_t)(dot2 - token), secret);
	if (want.len != siglen ||
	    CRYPTO_memcmp(want.data, sig, siglen) != 0) {
		buf_free(&want);
		*why = "bad signature";
		goto out;
	}
	buf_free(&want);

	buf_reset(&dec);
	if (bk_b64url_decode(&dec, dot1 + 1, (size_t)(dot2 - dot1 - 1)) ==
	    -1 || (payload = cJSON_ParseWithLength(dec.data == NULL ? "" :
	    dec.data, dec.len)) == NULL || !cJSON_IsObject(payload)) {
		cJSON_Delete(payload);
		payload = NULL;
		*why = "payload is not a JSON object";
		goto out;
	}
	*why = NULL;
out:
	cJSON_Delete(header);
	buf_free(&dec);
	return payload;
}

int64_t
bk_json_seconds(const cJSON *obj, const char *name)
{
	long	v;

	/* Up to 1e12 s (year 33658): callers multiply by 1e6 safely. */
	if (shop_json_int(obj, name, 0, 1000000000000L, &v) == -1)
		return -1;
	return (int64_t)v;
}

char *
bk_header(const struct shop_req *req, const char *name)
{
	const struct http_header	*h;

	if ((h = http_find_header(req->msg, name)) == NULL)
		return NULL;
	return span_dup(h->value);
}

void
bk_res_date(struct shop_res *res)
{
	char	date[BK_DATE_LEN];

	bk_format_http_date(bk_now_us(), date, sizeof date);
	shop_res_header(res, "Date", date);
}

/* The route of bk_serve: one per process. */
static shop_handler_cb	bk_route;

static void
bk_handle(const struct shop_req *req, struct shop_res *res)
{
	bk_route(req, res);
	bk_res_date(res);
}

int
bk_serve(const struct shop_opts *o, shop_handler_cb route)
{
	bk_route = route;
	return shop_serve_opts(o, bk_handle);
}

int
bk_option(struct shop_opts *o, int ch, const char *arg)
{
	int64_t	offset;

	if (ch != 'c')
		return shop_option(o, ch, arg);
	if (bk_parse_offset(arg, &offset) == -1) {
		fprintf(stderr, "%s: bad clock offset: %s\n", o->svc, arg);
		exit(2);
	}
	bk_clock_set_offset(offset);
	return 1;
}

void
bk_secret_option(const struct shop_opts *o, const char *option,
    const char *path, struct buf *out)
{
	char	*cause;

	if (path == NULL) {
		fprintf(stderr, "%s: %s FILE is required\n", o->svc, option);
		exit(2);
	}
	buf_init(out);
	if (bk_secret_load(path, out, &cause) == -1) {
		fprintf(stderr, "%s: %s\n", o->svc, cause);
		exit(2);
	}
}
