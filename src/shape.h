/*
 * shape.h -- the shapes of volatile values: what a string or a number
 * looks like when it is a JWT, a timestamp or a generated id, with exact
 * parsing and re-formatting of timestamps (same layout, same precision)
 * and fresh values of the same format.  Pure functions over bytes; used
 * by `decoy analyze` to find volatile values, by the generator to shift
 * and regenerate them, and by the responder to match them by type.
 *
 * Near misses are not taken for volatile values: version strings
 * ("1.2.3", "v2.10.0-rc1"), SKUs ("sku-1001", "AB-1234-XY"), phone
 * numbers ("+1-555-123-4567"), plain counters ("42", "1001"), words and
 * short hex (a 7-digit git abbreviation, "deadbeef") are SHAPE_NONE.  So
 * are layouts struct shape_time cannot write back (a bare date
 * "2026-12-07", a time without seconds, "20261207T175434Z", a leap
 * second), the nil and max UUIDs, mixed-case hex and camelCase words
 * with a number ("getUserById2024Version"); shape.c lists the details.
 */
#ifndef DECOY_SHAPE_H
#define DECOY_SHAPE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum shape_kind {
	SHAPE_NONE = 0,
	SHAPE_JWT,	/* JWS compact: b64url(header JSON with "alg").b64url(
			   payload JSON object).b64url(signature), the
			   signature part may be empty ("alg":"none") */
	SHAPE_TIME,	/* a timestamp, see struct shape_time */
	SHAPE_UUID,	/* 8-4-4-4-12 hex digits (either case, not mixed);
			   version = the version nibble (1, 4, 7, ...) */
	SHAPE_ULID,	/* 26 Crockford base32 characters, first 0-7 */
	SHAPE_HEX,	/* opaque token: 32 or more hex digits (16+ bytes),
			   one case, holding both digits and letters */
	SHAPE_B64,	/* opaque token: base64url or base64, 22 or more
			   characters of payload (16+ bytes), holding upper
			   case, lower case and digits */
	SHAPE_NKINDS
};

enum shape_time_fmt {
	SHAPE_T_RFC3339,	/* 2026-12-07T17:54:34Z, see struct shape_time */
	SHAPE_T_HTTPDATE,	/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
	SHAPE_T_EPOCH_S,	/* integer seconds since the Unix epoch */
	SHAPE_T_EPOCH_MS,	/* milliseconds */
	SHAPE_T_EPOCH_US,	/* microseconds */
};

/*
 * A timestamp and its layout, enough to write another instant back in
 * exactly the same form.
 */
struct shape_time {
	enum shape_time_fmt	 fmt;
	int64_t			 us;	/* the instant, µs since the epoch, UTC */
	/* RFC 3339 / ISO 8601 layout (SHAPE_T_RFC3339 only): */
	char			 sep;	/* 'T', 't' or ' ' between date and time */
	int			 frac;	/* fraction digits, 0-9 (beyond 6
					   digits, the extra digits are
					   written back as recorded) */
	int			 frac_ns;	/* those extra digits (7th to
					   9th) as nanoseconds, 0-999 */
	char			 zone[8];/* "Z", "z", "+02:00", "-0530", or ""
					   (no zone: read and written as UTC) */
	int			 zone_min;	/* the zone's offset in minutes */
	/* Epoch layouts: the unit comes from the number of digits (see
	 * struct shape_opts); written back as a plain decimal integer. */
};

/* What a value is, with the details its kind has. */
struct shape {
	enum shape_kind		 kind;
	int			 version;	/* SHAPE_UUID */
	int			 upper;		/* SHAPE_UUID, SHAPE_ULID,
						   SHAPE_HEX: upper case */
	int			 url;		/* SHAPE_B64: '-' '_' alphabet */
	int			 padded;	/* SHAPE_B64: '=' padding */
	struct shape_time	 time;		/* SHAPE_TIME */
};

/*
 * When a bare integer counts as an epoch timestamp: its value read as
 * seconds, milliseconds or microseconds (decided by its number of digits:
 * 9-10 seconds, 12-13 ms, 15-16 µs) must fall within [lo_us, hi_us].
 * lo_us = hi_us = 0: integers are never timestamps.  The analyzer passes
 * a wide window (2001-2100) for members named like times ("ts", "time",
 * "*_at", "iat", "exp", "date", ...) and the recording window +- a day
 * otherwise.
 */
struct shape_opts {
	int64_t		 epoch_lo_us;
	int64_t		 epoch_hi_us;
};

/*
 * Classifies s[0..len) (a header value, a path segment, a JSON string's
 * decoded bytes or a JSON number's text).  Returns the kind, also stored
 * in *out with its details.  opts may be NULL (integers never times).
 */
enum shape_kind	shape_classify(const char *s, size_t len,
		    const struct shape_opts *opts, struct shape *out);

/* "jwt", "timestamp", "uuid", "ulid", "hex", "b64", "none". */
const char	*shape_kind_name(enum shape_kind);
/* The inverse, for the transforms file; SHAPE_NONE for an unknown name. */
enum shape_kind	 shape_kind_parse(const char *);
/* "rfc3339", "http-date", "epoch-s", "epoch-ms", "epoch-us". */
const char	*shape_time_fmt_name(enum shape_time_fmt);

/*
 * Parses a timestamp in any of the formats above (integers by digit count,
 * without a window).  0 with *t filled, or -1.
 */
int	shape_time_parse(const char *s, size_t len, struct shape_time *t);

/*
 * Appends the instant us written in t's layout (format, separator,
 * fraction digits, zone: an offset zone writes the local time of that
 * offset).  Parse then format of the same instant gives the same bytes.
 */
void	shape_time_format(struct buf *, const struct shape_time *t, int64_t us);

/*
 * Appends a fresh value of the same format as the value sh was read from
 * (s[0..len)): a UUID of the same version and case (v1 and v7 carry the
 * time now_us; v4 random), a ULID with the time now_us, hex and base64
 * of the same length, case and alphabet (padding kept), a timestamp of
 * now_us in the same layout, a JWT unchanged (it cannot be made without
 * a key: see jwt.h).  *rng is a 64-bit generator state that the caller
 * seeds (reproducible runs) and this function advances.
 */
void	shape_fresh(struct buf *, const struct shape *sh, const char *s,
	    size_t len, int64_t now_us, uint64_t *rng);

/*
 * Days from 1970-01-01 to year y, month m (1-12), day d (proleptic
 * Gregorian, any year), and back.
 */
int64_t	shape_days_from_civil(int64_t y, int m, int d);
void	shape_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

/* The 64-bit generator shape_fresh uses (splitmix64), for callers. */
uint64_t	shape_rand(uint64_t *rng);

#endif
