/*
 * hist.c -- the log-linear latency histogram of hist.h.
 *
 * Values below HIST_LINEAR have a bucket each; from 2^7 on, every octave
 * [2^k, 2^(k+1)) has 64 buckets of width 2^(k-6), so a bucket's width is
 * at most 1/64 of its lower bound and its midpoint is within 1/128 of any
 * value in it.  The layout is fixed, so merging is adding counts.  Values
 * at or above HIST_MAX_US cannot be placed and are counted in the last
 * bucket and in `overflow`; min, max and sum keep the true values.
 *
 * JSON keeps only the non-empty buckets; the reader checks that indexes
 * are in range and increasing and that the counts add up to the total.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hist.h"
#include "json.h"
#include "xmalloc.h"

void
hist_init(struct hist *h)
{
	memset(h, 0, sizeof *h);
	h->min_us = UINT64_MAX;
}

/* The index of the highest set bit of v (v > 0). */
static unsigned
hist_log2(uint64_t v)
{
	return 63 - (unsigned)__builtin_clzll(v);
}

/*
 * The bucket of us: exact below HIST_LINEAR, else octave k's sub-bucket.
 * Values that do not fit go to the last bucket.
 */
size_t
hist_bucket(uint64_t us)
{
	unsigned	k;

	if (us < HIST_LINEAR)
		return (size_t)us;
	if (us >= HIST_MAX_US)
		return HIST_NBUCKETS - 1;
	k = hist_log2(us);
	return HIST_LINEAR + (size_t)(k - 7) * (1 << HIST_SUB_BITS) +
	    (size_t)((us - (UINT64_C(1) << k)) >> (k - HIST_SUB_BITS));
}

/* The lowest value of bucket i (i < HIST_NBUCKETS). */
uint64_t
hist_bucket_low(size_t i)
{
	size_t		j;
	unsigned	k;

	if (i < HIST_LINEAR)
		return i;
	j = i - HIST_LINEAR;
	k = 7 + (unsigned)(j >> HIST_SUB_BITS);
	return (UINT64_C(1) << k) +
	    ((uint64_t)(j & ((1 << HIST_SUB_BITS) - 1)) << (k - HIST_SUB_BITS));
}

/* One past the highest value of bucket i. */
uint64_t
hist_bucket_high(size_t i)
{
	unsigned	k;

	if (i < HIST_LINEAR)
		return i + 1;
	k = 7 + (unsigned)((i - HIST_LINEAR) >> HIST_SUB_BITS);
	return hist_bucket_low(i) + (UINT64_C(1) << (k - HIST_SUB_BITS));
}

void
hist_record(struct hist *h, uint64_t us)
{
	h->counts[hist_bucket(us)]++;
	h->total++;
	if (us >= HIST_MAX_US)
		h->overflow++;
	if (us < h->min_us)
		h->min_us = us;
	if (us > h->max_us)
		h->max_us = us;
	h->sum_us += (double)us;
}

/*
 * A request sent late because earlier ones stalled the connection would
 * have seen the stall too had it been sent on time: wrk2 back-fills one
 * sample per interval the answer took beyond its schedule.
 */
void
hist_record_corrected(struct hist *h, uint64_t us, uint64_t interval_us)
{
	uint64_t	missing;

	hist_record(h, us);
	if (interval_us == 0 || us <= interval_us)
		return;
	for (missing = us - interval_us; missing >= interval_us;
	    missing -= interval_us)
		hist_record(h, missing);
}

void
hist_merge(struct hist *a, const struct hist *b)
{
	size_t	i;

	for (i = 0; i < HIST_NBUCKETS; i++)
		a->counts[i] += b->counts[i];
	a->total += b->total;
	a->overflow += b->overflow;
	a->sum_us += b->sum_us;
	if (b->min_us < a->min_us)
		a->min_us = b->min_us;
	if (b->max_us > a->max_us)
		a->max_us = b->max_us;
}

uint64_t
hist_percentile(const struct hist *h, double p)
{
	uint64_t	rank, seen = 0, v, lo, hi;
	double		r;
	size_t		i;

	if (h->total == 0)
		return 0;
	if (p <= 0)
		return h->min_us;
	if (p >= 100)
		return h->max_us;
	/* Nearest rank; the slack keeps 99.9% of 1000 at rank 999. */
	r = p / 100.0 * (double)h->total;
	r = ceil(r - r * 1e-12);
	rank = r < 1 ? 1 : (uint64_t)r;
	if (rank > h->total)
		rank = h->total;
	for (i = 0; i < HIST_NBUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank)
			break;
	}
	if (i == HIST_NBUCKETS)
		return h->max_us;
	lo = hist_bucket_low(i);
	hi = hist_bucket_high(i);
	v = lo + (hi - lo) / 2;
	if (i == HIST_NBUCKETS - 1 && h->overflow > 0)
		v = h->max_us;
	if (v < h->min_us)
		v = h->min_us;
	if (v > h->max_us)
		v = h->max_us;
	return v;
}

double
hist_mean(const struct hist *h)
{
	if (h->total == 0)
		return 0;
	return h->sum_us / (double)h->total;
}

void
hist_to_json(const struct hist *h, struct buf *b)
{
	size_t	i;
	int	first = 1;

	buf_printf(b, "{\"total\":%" PRIu64 ",\"min_us\":%" PRIu64
	    ",\"max_us\":%" PRIu64 ",\"sum_us\":%.17g,\"overflow\":%" PRIu64
	    ",\"buckets\":[", h->total, h->total == 0 ? 0 : h->min_us,
	    h->max_us, h->sum_us, h->overflow);
	for (i = 0; i < HIST_NBUCKETS; i++) {
		if (h->counts[i] == 0)
			continue;
		buf_printf(b, "%s[%zu,%" PRIu64 "]", first ? "" : ",", i,
		    h->counts[i]);
		first = 0;
	}
	buf_append_str(b, "]}");
}

/* Reads a non-negative integer member value. */
static int
hist_json_u64(struct json_parser *p, uint64_t *out)
{
	int64_t	v;
	size_t	off = p->off;

	if (json_read_int64(p, &v) == -1)
		return -1;
	if (v < 0)
		return json_fail(p, off, "negative number");
	*out = (uint64_t)v;
	return 0;
}

/* Reads a finite non-negative number (sum_us may have a fraction). */
static int
hist_json_double(struct json_parser *p, double *out)
{
	struct json_value	 v;
	char			 tmp[64], *end;
	double			 d;

	if (json_peek(p) != JSON_NUMBER)
		return json_fail(p, p->off, "expected a number");
	if (json_skip(p, &v) == -1)
		return -1;
	if (v.len >= sizeof tmp)
		return json_fail(p, v.off, "number too long");
	memcpy(tmp, v.p, v.len);
	tmp[v.len] = '\0';
	errno = 0;
	d = strtod(tmp, &end);
	if (*end != '\0' || errno != 0 || !isfinite(d) || d < 0)
		return json_fail(p, v.off, "bad number");
	*out = d;
	return 0;
}

static int
hist_json_buckets(struct json_parser *p, struct hist *h, uint64_t *sum)
{
	uint64_t	idx = 0, count = 0;
	size_t		off, last = 0;
	int		rc, first = 1;

	if (json_array_enter(p) == -1)
		return -1;
	while ((rc = json_array_next(p)) == 1) {
		off = p->off;
		if (json_array_enter(p) == -1 ||
		    json_array_next(p) != 1 || hist_json_u64(p, &idx) == -1 ||
		    json_array_next(p) != 1 || hist_json_u64(p, &count) == -1)
			return json_fail(p, off, "a bucket is [index,count]");
		if (json_array_next(p) != 0)
			return json_fail(p, off, "a bucket is [index,count]");
		if (idx >= HIST_NBUCKETS)
			return json_fail(p, off, "bucket index out of range");
		if (!first && idx <= last)
			return json_fail(p, off, "bucket indexes not increasing");
		if (count == 0 || *sum + count < *sum)
			return json_fail(p, off, "bad bucket count");
		h->counts[idx] = count;
		*sum += count;
		last = (size_t)idx;
		first = 0;
	}
	return rc;
}

int
hist_from_json(struct hist *h, const char *text, size_t len, char **cause)
{
	struct json_parser	 p;
	struct json_value	 key;
	uint64_t		 sum = 0, min = 0;
	int			 rc, seen = 0;

	hist_init(h);
	json_init(&p, text, len);
	if (json_object_enter(&p) == -1)
		goto fail;
	while ((rc = json_object_next(&p, &key)) == 1) {
		if (json_string_eq(&key, "total")) {
			rc = hist_json_u64(&p, &h->total);
			seen |= 1;
		} else if (json_string_eq(&key, "min_us"))
			rc = hist_json_u64(&p, &min);
		else if (json_string_eq(&key, "max_us"))
			rc = hist_json_u64(&p, &h->max_us);
		else if (json_string_eq(&key, "sum_us"))
			rc = hist_json_double(&p, &h->sum_us);
		else if (json_string_eq(&key, "overflow"))
			rc = hist_json_u64(&p, &h->overflow);
		else if (json_string_eq(&key, "buckets")) {
			rc = hist_json_buckets(&p, h, &sum);
			seen |= 2;
		} else
			rc = json_skip(&p, NULL);
		if (rc == -1)
			goto fail;
	}
	if (rc == -1 || json_finish(&p) == -1)
		goto fail;
	if (seen != 3) {
		*cause = xstrdup("histogram: total and buckets are required");
		return -1;
	}
	if (sum != h->total) {
		*cause = xasprintf("histogram: buckets hold %" PRIu64
		    " values, total says %" PRIu64, sum, h->total);
		return -1;
	}
	if (h->total > 0 && (min > h->max_us || h->overflow > h->total)) {
		*cause = xstrdup("histogram: inconsistent min, max or overflow");
		return -1;
	}
	h->min_us = h->total == 0 ? UINT64_MAX : min;
	return 0;

fail:
	*cause = xasprintf("histogram: %s at offset %zu", p.error,
	    p.error_off);
	return -1;
}
