/*
 * test-hist.c -- the log-linear histogram: bucket layout, relative error
 * across 1 us .. 1 h, percentiles of known distributions, exact merging,
 * the coordinated-omission correction and the JSON round trip.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hist.h"
#include "unit.h"

/* A small deterministic generator (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static void
test_buckets(void)
{
	size_t		i;
	uint64_t	v;
	int		bad = 0;

	ASSERT_EQ(hist_bucket(0), 0);
	ASSERT_EQ(hist_bucket(127), 127);
	ASSERT_EQ(hist_bucket(128), 128);
	ASSERT_EQ(hist_bucket(129), 128);	/* width 2 from 128 */
	ASSERT_EQ(hist_bucket(130), 129);
	ASSERT_EQ(hist_bucket(255), 128 + 63);
	ASSERT_EQ(hist_bucket(256), 128 + 64);
	ASSERT_EQ(hist_bucket(HIST_MAX_US - 1), HIST_NBUCKETS - 1);
	ASSERT_EQ(hist_bucket(HIST_MAX_US), HIST_NBUCKETS - 1);
	ASSERT_EQ(hist_bucket(UINT64_MAX), HIST_NBUCKETS - 1);
	ASSERT_EQ(hist_bucket_low(128), 128);
	ASSERT_EQ(hist_bucket_high(128), 130);
	ASSERT_EQ(hist_bucket_high(HIST_NBUCKETS - 1), HIST_MAX_US);

	/* Buckets tile the range: each starts where the previous ended,
	 * and both ends map back to the bucket. */
	for (i = 0; i < HIST_NBUCKETS; i++) {
		if (i > 0 && hist_bucket_low(i) != hist_bucket_high(i - 1))
			bad++;
		if (hist_bucket(hist_bucket_low(i)) != i ||
		    hist_bucket(hist_bucket_high(i) - 1) != i)
			bad++;
		if (hist_bucket_high(i) <= hist_bucket_low(i))
			bad++;
	}
	ASSERT_EQ(bad, 0);
	/* Powers of two and their neighbours. */
	for (i = 1; i < 32; i++) {
		v = UINT64_C(1) << i;
		ASSERT(hist_bucket_low(hist_bucket(v)) == v);
		ASSERT(hist_bucket(v - 1) + 1 == hist_bucket(v));
	}
}

/* Records v alone and checks the percentile's relative error. */
static int
error_ok(uint64_t v)
{
	struct hist	h;
	uint64_t	lo, hi;
	size_t		i;
	double		mid;

	/* The midpoint of v's bucket, without the min/max clamp. */
	i = hist_bucket(v);
	lo = hist_bucket_low(i);
	hi = hist_bucket_high(i);
	mid = (double)(lo + (hi - lo) / 2);
	if (fabs(mid - (double)v) > 0.01 * (double)v)
		return 0;
	/* Two values in one bucket: p0 is min, p50 the midpoint (clamped). */
	hist_init(&h);
	hist_record(&h, v);
	hist_record(&h, v);
	if (hist_percentile(&h, 50) != v)
		return 0;
	return 1;
}

static void
test_error(void)
{
	static const uint64_t	edges[] = { 1, 2, 127, 128, 129, 130, 255,
	    256, 257, 1000, 1023, 1024, 1025, 999999, 1000000, 1000001,
	    3600000000ULL, HIST_MAX_US - 1 };
	uint64_t		v, hour = 3600000000ULL;
	size_t			i;
	int			bad = 0;

	for (i = 0; i < sizeof edges / sizeof edges[0]; i++)
		ASSERT(error_ok(edges[i]));
	for (i = 0; i < 200000; i++) {
		/* Log-uniform over 1 us .. 1 h. */
		v = (uint64_t)exp((double)(rng_next() % 1000000) / 1000000.0 *
		    log((double)hour));
		if (v < 1)
			v = 1;
		if (!error_ok(v))
			bad++;
	}
	ASSERT_EQ(bad, 0);
	for (v = 1; v < 100000; v++)
		if (!error_ok(v))
			bad++;
	ASSERT_EQ(bad, 0);
}

static int
near(uint64_t got, double want)
{
	return fabs((double)got - want) <= 0.01 * want;
}

static void
test_percentiles(void)
{
	struct hist	h;
	uint64_t	v;

	hist_init(&h);
	ASSERT_EQ(hist_percentile(&h, 50), 0);
	ASSERT(hist_mean(&h) == 0);

	/* Uniform 1..10000 ms, in us. */
	for (v = 1; v <= 10000; v++)
		hist_record(&h, v * 1000);
	ASSERT_EQ(h.total, 10000);
	ASSERT_EQ(h.min_us, 1000);
	ASSERT_EQ(h.max_us, 10000000);
	ASSERT(near(hist_percentile(&h, 50), 5000000));
	ASSERT(near(hist_percentile(&h, 90), 9000000));
	ASSERT(near(hist_percentile(&h, 99), 9900000));
	ASSERT(near(hist_percentile(&h, 99.9), 9990000));
	ASSERT_EQ(hist_percentile(&h, 0), 1000);
	ASSERT_EQ(hist_percentile(&h, 100), 10000000);
	ASSERT(fabs(hist_mean(&h) - 5000500.0) < 1e-6);

	/* 1000 values: 990 of 100 us, 9 of 5 ms, 1 of 2 s. */
	hist_init(&h);
	for (v = 0; v < 990; v++)
		hist_record(&h, 100);
	for (v = 0; v < 9; v++)
		hist_record(&h, 5000);
	hist_record(&h, 2000000);
	ASSERT_EQ(hist_percentile(&h, 50), 100);
	ASSERT_EQ(hist_percentile(&h, 99), 100);
	ASSERT(near(hist_percentile(&h, 99.5), 5000));
	ASSERT(near(hist_percentile(&h, 99.9), 5000));
	ASSERT_EQ(hist_percentile(&h, 99.99), 2000000);
	ASSERT_EQ(hist_percentile(&h, 100), 2000000);

	/* A value past the range: counted, reported as the max. */
	hist_init(&h);
	hist_record(&h, HIST_MAX_US + 5);
	ASSERT_EQ(h.overflow, 1);
	ASSERT_EQ(hist_percentile(&h, 50), HIST_MAX_US + 5);
}

static void
test_merge(void)
{
	static struct hist	a, b, all;
	uint64_t		v;
	size_t			i;
	int			p;

	hist_init(&a);
	hist_init(&b);
	hist_init(&all);
	for (i = 0; i < 100000; i++) {
		v = rng_next() % 5000000;
		hist_record(i % 3 == 0 ? &a : &b, v);
		hist_record(&all, v);
	}
	hist_merge(&a, &b);
	ASSERT(memcmp(a.counts, all.counts, sizeof a.counts) == 0);
	ASSERT_EQ(a.total, all.total);
	ASSERT_EQ(a.min_us, all.min_us);
	ASSERT_EQ(a.max_us, all.max_us);
	ASSERT_EQ(a.overflow, all.overflow);
	for (p = 0; p <= 1000; p++)
		if (hist_percentile(&a, p / 10.0) !=
		    hist_percentile(&all, p / 10.0))
			break;
	ASSERT_EQ(p, 1001);
	/* Merging an empty histogram changes nothing. */
	hist_init(&b);
	hist_merge(&a, &b);
	ASSERT_EQ(a.min_us, all.min_us);
	ASSERT_EQ(a.total, all.total);
}

static void
test_corrected(void)
{
	struct hist	h;

	/* 1 s answer at 100 ms intervals: 1000, 900, ..., 100. */
	hist_init(&h);
	hist_record_corrected(&h, 1000000, 100000);
	ASSERT_EQ(h.total, 10);
	ASSERT_EQ(h.min_us, 100000);
	ASSERT_EQ(h.max_us, 1000000);
	ASSERT(h.sum_us == 5500000.0);
	ASSERT_EQ(h.counts[hist_bucket(500000)], 1);
	/* Not late: nothing added. */
	hist_init(&h);
	hist_record_corrected(&h, 50000, 100000);
	hist_record_corrected(&h, 100000, 100000);
	ASSERT_EQ(h.total, 2);
	/* 250 ms at 100 ms: 250, 150 (50 is below the interval). */
	hist_init(&h);
	hist_record_corrected(&h, 250000, 100000);
	ASSERT_EQ(h.total, 2);
	ASSERT_EQ(h.min_us, 150000);
	/* No interval: as hist_record. */
	hist_init(&h);
	hist_record_corrected(&h, 250000, 0);
	ASSERT_EQ(h.total, 1);
}

static void
test_json(void)
{
	static struct hist	h, r;
	struct buf		b;
	char			*cause = NULL;
	size_t			i;
	static const char	*bad[] = {
		"",
		"[]",
		"{\"total\":1}",
		"{\"total\":2,\"buckets\":[[1,1]]}",
		"{\"total\":1,\"buckets\":[[99999,1]]}",
		"{\"total\":2,\"buckets\":[[5,1],[5,1]]}",
		"{\"total\":1,\"buckets\":[[5,-1]]}",
		"{\"total\":1,\"buckets\":[[5]]}",
		"{\"total\":1,\"buckets\":[[5,1]]} x",
		"{\"total\":1,\"sum_us\":\"x\",\"buckets\":[[5,1]]}",
	};

	buf_init(&b);
	hist_init(&h);
	hist_to_json(&h, &b);
	ASSERT_STR_EQ(b.data, "{\"total\":0,\"min_us\":0,\"max_us\":0,"
	    "\"sum_us\":0,\"overflow\":0,\"buckets\":[]}");
	ASSERT_EQ(hist_from_json(&r, b.data, b.len, &cause), 0);
	ASSERT(memcmp(&h, &r, sizeof h) == 0);

	for (i = 0; i < 5000; i++)
		hist_record(&h, rng_next() % 100000000);
	hist_record(&h, HIST_MAX_US * 3);
	h.sum_us += 0.1;	/* a fraction survives too */
	buf_reset(&b);
	hist_to_json(&h, &b);
	ASSERT(strstr(b.data, "\"overflow\":1") != NULL);
	ASSERT_EQ(hist_from_json(&r, b.data, b.len, &cause), 0);
	ASSERT(memcmp(&h, &r, sizeof h) == 0);
	ASSERT(r.sum_us == h.sum_us);

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		ASSERT_EQ(hist_from_json(&r, bad[i], strlen(bad[i]), &cause),
		    -1);
		ASSERT(cause != NULL && strncmp(cause, "histogram: ", 11) == 0);
		free(cause);
	}
	buf_free(&b);
}

int
main(void)
{
	test_buckets();
	test_error();
	test_percentiles();
	test_merge();
	test_corrected();
	test_json();
	UNIT_DONE();
}
