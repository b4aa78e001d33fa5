/*
 * fault.c -- the seeded machinery behind chaos rules (see fault.h): a
 * xoshiro256** stream seeded through splitmix64, latency samplers and
 * body malformers.
 *
 * Everything here is a pure function of its arguments and the random
 * stream handed in, so a transaction faulted under one seed is faulted the
 * same way on every run and on every platform (the name bytes are mixed in
 * a fixed byte order, draws never depend on timing or threads).
 *
 * The JSON malformers (drop_field, swap_types) work on the raw bytes: the
 * top-level object is walked with the strict reader of json.h, which hands
 * back each member's key and value as spans of the body, and the output is
 * the body with one span cut out or replaced.  Nothing is re-serialised,
 * so every number outside the touched member keeps its exact digits.  "A
 * JSON object" therefore means what json.h accepts: RFC 8259, valid UTF-8,
 * at most JSON_MAX_DEPTH levels, nothing but whitespace after it.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "fault.h"
#include "json.h"
#include "xmalloc.h"

/* The 99th percentile of the standard normal distribution. */
#define FAULT_Z99	2.3263478740408408

#define FAULT_TWO_PI	6.283185307179586476925

static const char *const fault_malform_names[] = {
	[FAULT_MALFORM_NONE] = "none",
	[FAULT_MALFORM_TRUNCATE] = "truncate",
	[FAULT_MALFORM_LYING_LENGTH] = "lying_length",
	[FAULT_MALFORM_CORRUPT] = "corrupt",
	[FAULT_MALFORM_INVALID_JSON] = "invalid_json",
	[FAULT_MALFORM_EMPTY] = "empty",
	[FAULT_MALFORM_WRONG_CONTENT_TYPE] = "wrong_content_type",
	[FAULT_MALFORM_OVERSIZE] = "oversize",
	[FAULT_MALFORM_DROP_FIELD] = "drop_field",
	[FAULT_MALFORM_SWAP_TYPES] = "swap_types",
	[FAULT_MALFORM_BAD_CHUNK] = "bad_chunk",
	[FAULT_MALFORM_GRPC_BAD_LENGTH] = "grpc_bad_length",
	[FAULT_MALFORM_GRPC_TRUNCATE] = "grpc_truncate",
	[FAULT_MALFORM_GRPC_BAD_PROTOBUF] = "grpc_bad_protobuf",
};

static const char *const fault_conn_names[] = {
	[FAULT_CONN_NONE] = "none",
	[FAULT_CONN_RESET] = "reset",
	[FAULT_CONN_CLOSE] = "close",
	[FAULT_CONN_CLOSE_AFTER_HEADERS] = "close_after_headers",
	[FAULT_CONN_HANG] = "hang",
	[FAULT_CONN_DRIP] = "drip",
	[FAULT_CONN_SLOW_HEADERS] = "slow_headers",
	[FAULT_CONN_RST_STREAM] = "rst_stream",
	[FAULT_CONN_GOAWAY] = "goaway",
	[FAULT_CONN_STALL] = "stall",
	[FAULT_CONN_SETTINGS_TIMEOUT] = "settings_timeout",
};

static const char *const fault_h2_codes[] = {
	"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
	"SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR",
	"REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR",
	"ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
};

static const char *const fault_latency_names[] = {
	[FAULT_LAT_NONE] = "none",
	[FAULT_LAT_FIXED] = "fixed",
	[FAULT_LAT_UNIFORM] = "uniform",
	[FAULT_LAT_NORMAL] = "normal",
	[FAULT_LAT_LOGNORMAL] = "lognormal",
	[FAULT_LAT_PARETO] = "pareto",
	[FAULT_LAT_RECORDED] = "recorded",
	[FAULT_LAT_EMPIRICAL] = "empirical",
};

#define FAULT_NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* One member of the top-level object, as offsets into the body. */
struct fault_member {
	struct json_value	key;	/* raw name, quotes included */
	size_t			val_off;
	size_t			val_end;
	enum json_type		type;
};

/* --- deterministic randomness ---------------------------------------- */

/*
 * A bijective 64-bit mixer (Evensen's moremur on x + gamma): every input
 * bit flips each output bit with probability close to 1/2, so inputs that
 * differ in one bit give unrelated outputs, and 0 is not a fixed point.
 */
static uint64_t
fault_mix(uint64_t x)
{
	x += FAULT_GAMMA;
	x ^= x >> 27;
	x *= 0x3c79ac492ba7b653ULL;
	x ^= x >> 33;
	x *= 0x1c69b3f74ac4ae35ULL;
	x ^= x >> 27;
	return x;
}

double
fault_rng_double(struct fault_rng *rng)
{
	return (double)(fault_rng_next(rng) >> 11) * 0x1.0p-53;
}

double
fault_rng_normal(struct fault_rng *rng)
{
	double	u1, u2;

	/* u1 in (0, 1] keeps log() finite. */
	u1 = 1.0 - fault_rng_double(rng);
	u2 = fault_rng_double(rng);
	return sqrt(-2.0 * log(u1)) * cos(FAULT_TWO_PI * u2);
}

/* Uniform in [0, n), n > 0, without modulo bias. */
static uint64_t
fault_rng_below(struct fault_rng *rng, uint64_t n)
{
	uint64_t	x, threshold;

	threshold = -n % n;	/* 2^64 mod n: the biased low values */
	do
		x = fault_rng_next(rng);
	while (x < threshold);
	return x % n;
}

/*
 * The name is consumed eight bytes at a time, little-endian whatever the
 * host, with its length mixed in after it, so "ab" and "ab\0..." style
 * collisions cannot happen and the result is the same on every platform.
 * A NULL name is the empty name.
 */
uint64_t
fault_seed_mix(uint64_t seed, const char *name, uint64_t sig,
    uint64_t occurrence)
{
	const unsigned char	*s = (const unsigned char *)name;
	uint64_t		 h, w;
	size_t			 len, i, j;

	len = name != NULL ? strlen(name) : 0;
	h = fault_mix(seed ^ 0x6465636f79736565ULL);	/* "decoysee" */
	for (i = 0; i < len; i += 8) {
		w = 0;
		for (j = 0; j < 8 && i + j < len; j++)
			w |= (uint64_t)s[i + j] << (8 * j);
		h = fault_mix(h ^ w);
	}
	h = fault_mix(h ^ (uint64_t)len);
	h = fault_mix(h ^ sig);
	h = fault_mix(h ^ fault_rotl(occurrence, 32));
	return h;
}

/* --- latency ---------------------------------------------------------- */

/* Sets kind, a and b; max_ns and, on failure, everything are left as
 * they were.  An infinite p99 is refused like a bad order. */
int
fault_lognormal_from_quantiles(struct fault_latency *lat, double median_ns,
    double p99_ns)
{
	double	mu;

	if (!(median_ns > 0) || !(median_ns < p99_ns) || !isfinite(p99_ns))
		return -1;
	mu = log(median_ns);
	lat->kind = FAULT_LAT_LOGNORMAL;
	lat->a = mu;
	lat->b = (log(p99_ns) - mu) / FAULT_Z99;
	return 0;
}

/* Rounds a sample to whole ns: NaN and negatives are 0, huge values
 * saturate. */
static uint64_t
fault_ns(double x)
{
	if (!(x > 0))
		return 0;
	if (x >= 18446744073709551616.0)
		return UINT64_MAX;
	return (uint64_t)round(x);
}

/*
 * Parameters a sampler cannot use give the nearest sensible value rather
 * than an error: uniform with b < a draws from [b, a], pareto with a
 * non-positive shape gives xm, negative results are 0.  max_ns caps every
 * kind.  Draws: fixed, recorded and none take none; uniform, pareto and
 * empirical one (empirical more only on a rejected biased draw); normal
 * and lognormal two.
 */
uint64_t
fault_latency_sample(const struct fault_latency *lat, struct fault_rng *rng,
    int64_t recorded_ns, const int64_t *samples, size_t nsamples)
{
	double		x, lo, hi;
	int64_t		s;
	uint64_t	v;

	switch (lat->kind) {
	case FAULT_LAT_FIXED:
		x = lat->a;
		break;
	case FAULT_LAT_UNIFORM:
		lo = lat->a < lat->b ? lat->a : lat->b;
		hi = lat->a < lat->b ? lat->b : lat->a;
		x = lo + (hi - lo) * fault_rng_double(rng);
		break;
	case FAULT_LAT_NORMAL:
		x = lat->a + lat->b * fault_rng_normal(rng);
		break;
	case FAULT_LAT_LOGNORMAL:
		x = exp(lat->a + lat->b * fault_rng_normal(rng));
		break;
	case FAULT_LAT_PARETO:
		if (!(lat->b > 0)) {
			x = lat->a;
			break;
		}
		x = lat->a * pow(1.0 - fault_rng_double(rng), -1.0 / lat->b);
		break;
	case FAULT_LAT_RECORDED:
		x = recorded_ns < 0 ? 0 : (double)recorded_ns * lat->a;
		break;
	case FAULT_LAT_EMPIRICAL:
		if (samples == NULL || nsamples == 0)
			return 0;
		/* Kept integral so a sample comes back exactly. */
		s = samples[fault_rng_below(rng, nsamples)];
		v = s < 0 ? 0 : (uint64_t)s;
		if (lat->max_ns > 0 && (double)v > lat->max_ns)
			return fault_ns(lat->max_ns);
		return v;
	default:
		return 0;
	}
	if (lat->max_ns > 0 && x > lat->max_ns)
		x = lat->max_ns;
	return fault_ns(x);
}

/* --- the fault of one rule -------------------------------------------- */

/* Defaults as fault.h gives them; content_type is allocated ("text/html")
 * so the spec always owns what it points to. */
void
fault_spec_init(struct fault_spec *fs)
{
	memset(fs, 0, sizeof *fs);
	fs->latency.kind = FAULT_LAT_NONE;
	fs->malform = FAULT_MALFORM_NONE;
	fs->truncate_at = 0.5;
	fs->corrupt_bytes = 1;
	fs->content_type = xstrdup("text/html");
	fs->oversize = 1024 * 1024;
	fs->connection = FAULT_CONN_NONE;
	fs->drip_bps = 1024;
}

/* Frees what the spec owns and zeroes it (freeing it again is harmless;
 * fault_spec_init() makes it usable again). */
void
fault_spec_free(struct fault_spec *fs)
{
	size_t	i;

	for (i = 0; i < fs->nheaders; i++) {
		free(fs->headers[i].name);
		free(fs->headers[i].value);
	}
	free(fs->headers);
	free(fs->body);
	free(fs->content_type);
	free(fs->field);
	free(fs->grpc_message);
	memset(fs, 0, sizeof *fs);
}

static char *
fault_strdup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/*
 * dst is overwritten without being freed first: pass fresh storage or one
 * already given to fault_spec_free().  The body is copied as body_len
 * bytes (it may hold NUL) and stays NUL-terminated.
 */
void
fault_spec_copy(struct fault_spec *dst, const struct fault_spec *src)
{
	size_t	i;

	*dst = *src;
	dst->headers = NULL;
	if (src->nheaders > 0) {
		dst->headers = xreallocarray(NULL, src->nheaders,
		    sizeof *dst->headers);
		for (i = 0; i < src->nheaders; i++) {
			dst->headers[i].name =
			    fault_strdup(src->headers[i].name);
			dst->headers[i].value =
			    fault_strdup(src->headers[i].value);
		}
	}
	dst->body = NULL;
	if (src->body != NULL)
		dst->body = xstrndup(src->body, src->body_len);
	dst->content_type = fault_strdup(src->content_type);
	dst->field = fault_strdup(src->field);
	dst->grpc_message = fault_strdup(src->grpc_message);
}

static const char *
fault_name(const char *const *names, size_t n, unsigned int v)
{
	if (v >= n || names[v] == NULL)
		return "unknown";
	return names[v];
}

static int
fault_parse(const char *const *names, size_t n, const char *s,
    unsigned int *v)
{
	unsigned int	i;

	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (names[i] != NULL && strcmp(names[i], s) == 0) {
			*v = i;
			return 0;
		}
	}
	return -1;
}

/* "none" for NONE, "unknown" for a value outside the enum. */
const char *
fault_malform_name(enum fault_malform m)
{
	return fault_name(fault_malform_names,
	    FAULT_NITEMS(fault_malform_names), (unsigned int)m);
}

/* Accepts every name fault_malform_name() gives, "none" included. */
int
fault_malform_parse(const char *s, enum fault_malform *m)
{
	unsigned int	v;

	if (fault_parse(fault_malform_names,
	    FAULT_NITEMS(fault_malform_names), s, &v) == -1)
		return -1;
	*m = (enum fault_malform)v;
	return 0;
}

const char *
fault_conn_name(enum fault_conn c)
{
	return fault_name(fault_conn_names, FAULT_NITEMS(fault_conn_names),
	    (unsigned int)c);
}

int
fault_conn_parse(const char *s, enum fault_conn *c)
{
	unsigned int	v;

	if (fault_parse(fault_conn_names, FAULT_NITEMS(fault_conn_names), s,
	    &v) == -1)
		return -1;
	*c = (enum fault_conn)v;
	return 0;
}

const char *
fault_h2_code_name(uint32_t code, char *buf, size_t len)
{
	if (code < FAULT_NITEMS(fault_h2_codes))
		return fault_h2_codes[code];
	snprintf(buf, len, "0x%x", (unsigned int)code);
	return buf;
}

int
fault_h2_code_parse(const char *s, uint32_t *code)
{
	unsigned long long	v;
	char			*end;
	size_t			 i;

	for (i = 0; i < FAULT_NITEMS(fault_h2_codes); i++) {
		if (strcasecmp(s, fault_h2_codes[i]) == 0) {
			*code = (uint32_t)i;
			return 0;
		}
	}
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		return -1;
	*code = (uint32_t)v;
	return 0;
}

int
fault_conn_is_h2(enum fault_conn c)
{
	return c == FAULT_CONN_RST_STREAM || c == FAULT_CONN_GOAWAY ||
	    c == FAULT_CONN_STALL || c == FAULT_CONN_SETTINGS_TIMEOUT;
}

const char *
fault_latency_name(enum fault_latency_kind k)
{
	return fault_name(fault_latency_names,
	    FAULT_NITEMS(fault_latency_names), (unsigned int)k);
}

/* --- body malformers --------------------------------------------------- */

/*
 * Where TRUNCATE and LYING_LENGTH cut: truncate_at < 1 is a fraction of
 * len (rounded down), otherwise a byte count; NaN and values <= 0 cut
 * everything; the result is always below len when len > 0.
 */
static size_t
fault_truncate_len(double at, size_t len)
{
	size_t	n;

	if (len == 0 || !(at > 0))
		return 0;
	if (at < 1)
		n = (size_t)(at * (double)len);
	else if (at >= (double)len)
		n = len;
	else
		n = (size_t)at;
	return n >= len ? len - 1 : n;
}

/*
 * Flips min(k, len) bytes at distinct offsets, chosen with Floyd's
 * sampling (exactly k draws for the offsets, a bitmap of len bits to
 * remember them), each XORed with a non-zero value so it changes.
 */
static void
fault_corrupt(struct fault_rng *rng, size_t k, const char *body, size_t len,
    struct buf *out)
{
	unsigned char	*seen, *p;
	size_t		 base, j, t;

	base = out->len;
	buf_append(out, body, len);
	if (k > len)
		k = len;
	if (k == 0)
		return;
	p = (unsigned char *)out->data + base;
	if (k == len) {
		for (j = 0; j < len; j++)
			p[j] ^= (unsigned char)(1 + fault_rng_below(rng, 255));
		return;
	}
	seen = xcalloc((len + 7) / 8, 1);
	for (j = len - k; j < len; j++) {
		t = (size_t)fault_rng_below(rng, (uint64_t)j + 1);
		if (seen[t / 8] & (1U << (t % 8)))
			t = j;
		seen[t / 8] |= 1U << (t % 8);
		p[t] ^= (unsigned char)(1 + fault_rng_below(rng, 255));
	}
	free(seen);
}

/* True if buf[0..len) is exactly one JSON value (json.h's reading);
 * *type gets its type. */
static int
fault_json_is_valid(const char *s, size_t len, enum json_type *type)
{
	struct json_parser	p;
	struct json_value	v;

	json_init(&p, s, len);
	if (json_skip(&p, &v) == -1 || json_finish(&p) == -1)
		return 0;
	if (type != NULL)
		*type = v.type;
	return 1;
}

/*
 * A valid object or array loses its final '}' or ']' (the last byte that
 * is not whitespace); anything else gets a '}' appended, and a second one
 * when the first would complete it (a body like {"a":1 that only lacked
 * its brace), so the output is never valid JSON.
 */
static void
fault_invalid_json(const char *body, size_t len, struct buf *out)
{
	enum json_type	type = JSON_INVALID;
	size_t		base, end;
	int		valid;

	valid = fault_json_is_valid(body, len, &type);
	if (valid && (type == JSON_OBJECT || type == JSON_ARRAY)) {
		end = len;
		while (end > 0 && (body[end - 1] == ' ' ||
		    body[end - 1] == '\t' || body[end - 1] == '\n' ||
		    body[end - 1] == '\r'))
			end--;
		/* end - 1 is the closing byte: json_finish() saw only
		 * whitespace after it. */
		buf_append(out, body, end - 1);
		buf_append(out, body + end, len - end);
		return;
	}
	base = out->len;
	buf_append(out, body, len);
	buf_append_byte(out, '}');
	if (!valid && fault_json_is_valid(out->data + base, out->len - base,
	    NULL))
		buf_append_byte(out, '}');
}

/*
 * Lists the members of the top-level object body[0..len).  Returns 0 with
 * *members (allocated, NULL when there are none) and *n, or -1 if the
 * body is not one valid JSON object.
 */
static int
fault_members(const char *body, size_t len, struct fault_member **members,
    size_t *n)
{
	struct json_parser	 p;
	struct json_value	 key, v;
	struct fault_member	*m = NULL;
	size_t			 nm = 0, cap = 0;
	int			 r;

	json_init(&p, body, len);
	if (json_peek(&p) != JSON_OBJECT || json_object_enter(&p) == -1)
		return -1;
	while ((r = json_object_next(&p, &key)) == 1) {
		if (json_skip(&p, &v) == -1)
			break;
		if (nm == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			m = xreallocarray(m, cap, sizeof *m);
		}
		m[nm].key = key;
		m[nm].val_off = v.off;
		m[nm].val_end = v.off + v.len;
		m[nm].type = v.type;
		nm++;
	}
	if (r != 0 || json_finish(&p) == -1) {
		free(m);
		return -1;
	}
	*members = m;
	*n = nm;
	return 0;
}

/*
 * The member to damage: the first whose name decodes to field, or, with
 * no field or none of that name, one drawn uniformly with rng.  n > 0.
 */
static size_t
fault_pick(const char *field, struct fault_rng *rng,
    const struct fault_member *m, size_t n)
{
	size_t	i;

	if (field != NULL) {
		for (i = 0; i < n; i++) {
			if (json_string_eq(&m[i].key, field))
				return i;
		}
	}
	return (size_t)fault_rng_below(rng, n);
}

/*
 * Cuts member i out with the comma that separates it from a neighbour:
 * the one after it (from its key to the next key) unless it is the last,
 * then the one before it (from the previous value's end to its value's
 * end).  An only member goes alone; the braces and outer whitespace stay.
 */
static void
fault_drop(const char *body, size_t len, const struct fault_member *m,
    size_t n, size_t i, struct buf *out)
{
	size_t	from, to;

	if (n == 1) {
		from = m[i].key.off;
		to = m[i].val_end;
	} else if (i + 1 < n) {
		from = m[i].key.off;
		to = m[i + 1].key.off;
	} else {
		from = m[i - 1].val_end;
		to = m[i].val_end;
	}
	buf_append(out, body, from);
	buf_append(out, body + to, len - to);
}

/*
 * Replaces member i's value: a number or true/false by its text quoted
 * ("1200", "true"), a string or null by 0, an object or array by null.
 */
static void
fault_swap(const char *body, size_t len, const struct fault_member *mi,
    struct buf *out)
{
	buf_append(out, body, mi->val_off);
	switch (mi->type) {
	case JSON_NUMBER:
	case JSON_BOOL:
		buf_append_byte(out, '"');
		buf_append(out, body + mi->val_off, mi->val_end - mi->val_off);
		buf_append_byte(out, '"');
		break;
	case JSON_STRING:
	case JSON_NULL:
		buf_append_byte(out, '0');
		break;
	default:
		buf_append_str(out, "null");
		break;
	}
	buf_append(out, body + mi->val_end, len - mi->val_end);
}

/*
 * As fault.h says, with these choices: a TRUNCATE cut is
 * fault_truncate_len()'s; CORRUPT flips every byte when corrupt_bytes >=
 * len; DROP_FIELD and SWAP_TYPES damage the first member named
 * spec->field, or one drawn with rng when field is NULL or names no
 * member, copy an empty object ({}) unchanged, and fall back to
 * INVALID_JSON on anything that is not exactly one valid JSON object
 * (json.h's reading).  Only CORRUPT, and DROP_FIELD and SWAP_TYPES when
 * they draw a member, consume rng.
 */
void
fault_malform_body(const struct fault_spec *fs, struct fault_rng *rng,
    const char *body, size_t len, struct buf *out)
{
	struct fault_member	*m;
	size_t			 n, i;

	switch (fs->malform) {
	case FAULT_MALFORM_TRUNCATE:
	case FAULT_MALFORM_LYING_LENGTH:
		buf_append(out, body, fault_truncate_len(fs->truncate_at, len));
		break;
	case FAULT_MALFORM_CORRUPT:
		fault_corrupt(rng, fs->corrupt_bytes, body, len, out);
		break;
	case FAULT_MALFORM_INVALID_JSON:
		fault_invalid_json(body, len, out);
		break;
	case FAULT_MALFORM_EMPTY:
		break;
	case FAULT_MALFORM_DROP_FIELD:
	case FAULT_MALFORM_SWAP_TYPES:
		if (fault_members(body, len, &m, &n) == -1) {
			fault_invalid_json(body, len, out);
			break;
		}
		if (n == 0) {
			buf_append(out, body, len);
			break;
		}
		i = fault_pick(fs->field, rng, m, n);
		if (fs->malform == FAULT_MALFORM_DROP_FIELD)
			fault_drop(body, len, m, n, i, out);
		else
			fault_swap(body, len, &m[i], out);
		free(m);
		break;
	default:
		buf_append(out, body, len);
		break;
	}
}
