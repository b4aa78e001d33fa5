/*
 * bk.h -- code shared by the bank example's services (bank, tokens,
 * ledger): a clock that tests can move, the date layouts they speak
 * (RFC 3339, HTTP-date, epoch milliseconds), random ids (UUID v4, ULID,
 * hex nonces), secrets read from files and JWT HS256 signing and checking
 * with OpenSSL's HMAC.
 *
 * This is a test fixture for decoy and deliberately shares none of decoy's
 * own date, base64 or JWT code: the fixture must not agree with decoy by
 * construction.  It favours being obvious over being fast.
 */
#ifndef BK_H
#define BK_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "buf.h"
#include "shop.h"

/* Room for any date this file formats, with its NUL. */
#define BK_DATE_LEN	40
/* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" and its NUL. */
#define BK_UUID_LEN	37
/* 26 Crockford base32 characters and a NUL. */
#define BK_ULID_LEN	27

/*
 * The services' clock: real time plus an offset (--clock-offset SECONDS,
 * may be negative or have a fraction), so that a test can run a service
 * as if it were an hour later.
 */
int	 bk_parse_offset(const char *s, int64_t *out_us);
void	 bk_clock_set_offset(int64_t us);
int64_t	 bk_now_us(void);

/* Layouts of the RFC 3339 dates the services write. */
enum bk_rfc3339 {
	BK_RFC3339_SECONDS,	/* 2026-05-01T10:00:00Z */
	BK_RFC3339_MILLIS,	/* 2026-05-01T10:00:00.123Z */
	BK_RFC3339_OFFSET,	/* 2026-05-01T10:00:00+00:00 */
};

/* Formats us (microseconds since the epoch, UTC) into out. */
void	 bk_format_rfc3339(int64_t us, enum bk_rfc3339 layout, char *out,
	    size_t outlen);
/*
 * Parses an RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS", an optional
 * fraction of any length, then "Z" or "+HH:MM"/"-HH:MM" ('t' and 'z'
 * accepted as RFC 3339 allows).  Returns 0 with *out_us, or -1.
 */
int	 bk_parse_rfc3339(const char *s, int64_t *out_us);
/* "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 IMF-fixdate). */
void	 bk_format_http_date(int64_t us, char *out, size_t outlen);

/* Cryptographically random bytes; exits if OpenSSL cannot give them. */
void	 bk_random(void *p, size_t len);
/* A fresh UUID v4 in lower case. */
void	 bk_uuid4(char out[BK_UUID_LEN]);
/* 1 if s is a UUID v4 (any case), else 0. */
int	 bk_is_uuid4(const char *s);
/* n random bytes as 2n lower-case hex digits; out holds 2n + 1. */
void	 bk_hex_random(char *out, size_t n);
/* 1 if s is exactly len lower-case hex digits, else 0. */
int	 bk_is_hex(const char *s, size_t len);
/* A ULID: 48 bits of ms, 80 random bits, Crockford base32. */
void	 bk_ulid(int64_t ms, char out[BK_ULID_LEN]);

/*
 * Reads the secret in path: the file's bytes with one trailing newline
 * removed (the convention of decoy's jwt_key_load).  Returns 0 with the
 * secret in out, or -1 with *cause (never holding the secret).
 */
int	 bk_secret_load(const char *path, struct buf *out, char **cause);

/*
 * Signs payload (not freed) as a JWT: header {"alg":"HS256","typ":"JWT"},
 * HMAC-SHA256 with secret.  Returns the compact token (allocated).
 */
char	*bk_jwt_sign(const cJSON *payload, const struct buf *secret);

/*
 * Checks a compact token: three base64url parts, a header whose alg is
 * HS256, a signature made with secret, a JSON object payload.  Returns the
 * payload (the caller frees it) or NULL with *why set to a static reason.
 * Time claims are left to the caller.
 */
cJSON	*bk_jwt_verify(const char *token, const struct buf *secret,
	    const char **why);

/* A numeric member as seconds (an integer in [0, 1e12]), or -1. */
int64_t	 bk_json_seconds(const cJSON *obj, const char *name);

/* The value of the request's first header called name (allocated), or
 * NULL when there is none. */
char	*bk_header(const struct shop_req *, const char *name);
/* Adds "Date: <HTTP-date of the service's now>" to res, as servers do. */
void	 bk_res_date(struct shop_res *);
/* shop_serve_opts() with route, every answer given a Date (bk_res_date). */
int	 bk_serve(const struct shop_opts *, shop_handler_cb route);

/*
 * --clock-offset SECONDS, the option every bank service takes (short
 * letter 'c'), as a getopt_long row.  bk_option takes its value (a bad
 * one: "SVC: bad clock offset: X" and exit 2) and passes every other
 * letter to shop_option(); it returns what that returns, 1 for 'c'.
 */
#define BK_OPTION_CLOCK \
	{ "clock-offset", required_argument,	NULL, 'c' }
int	 bk_option(struct shop_opts *, int ch, const char *arg);

/*
 * bk_secret_load() for a service's option: a path that is NULL is
 * "SVC: OPTION FILE is required", a file that cannot be read "SVC:
 * CAUSE"; both exit 2.
 */
void	 bk_secret_option(const struct shop_opts *, const char *option,
	    const char *path, struct buf *out);

#endif
