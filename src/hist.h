/*
 * hist.h -- a log-linear latency histogram (HdrHistogram-like): values in
 * microseconds from 1 us to about 1 hour with at most 1% relative error,
 * fixed layout so histograms from different runs, shards or threads merge
 * exactly by adding counts.  Recording is O(1) and allocation-free.
 *
 * Layout: values below 128 us each have their own bucket; above, every
 * power of two [2^k, 2^(k+1)) is split into 64 equal sub-buckets (relative
 * width <= 1/64 < 1.6%; reporting a bucket's midpoint keeps the error
 * under 0.8%).  Values above HIST_MAX_US land in the last bucket and are
 * counted in `overflow`.
 */
#ifndef DECOY_HIST_H
#define DECOY_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define HIST_SUB_BITS	6				/* 64 sub-buckets */
#define HIST_LINEAR	128				/* exact below this */
#define HIST_MAX_US	(UINT64_C(1) << 32)		/* ~71 minutes */
#define HIST_NBUCKETS	(HIST_LINEAR + (32 - 7) * (1 << HIST_SUB_BITS))

struct hist {
	uint64_t	counts[HIST_NBUCKETS];
	uint64_t	total;
	uint64_t	min_us;		/* UINT64_MAX while empty */
	uint64_t	max_us;
	double		sum_us;
	uint64_t	overflow;	/* values above HIST_MAX_US */
};

void		hist_init(struct hist *);
void		hist_record(struct hist *, uint64_t us);
/* Records us, and, as wrk2 does for coordinated omission, the values
 * us - interval, us - 2*interval, ... down to interval (interval > 0). */
void		hist_record_corrected(struct hist *, uint64_t us,
		    uint64_t interval_us);
/* Adds b's counts to a (exact). */
void		hist_merge(struct hist *a, const struct hist *b);
/* The value at percentile p (0..100): the midpoint of the bucket holding
 * the p-th percentile sample (nearest rank), clamped to [min, max]; 0 if
 * empty. */
uint64_t	hist_percentile(const struct hist *, double p);
double		hist_mean(const struct hist *);

/* Bucket index of a value and the value range of a bucket. */
size_t		hist_bucket(uint64_t us);
uint64_t	hist_bucket_low(size_t);
uint64_t	hist_bucket_high(size_t);	/* exclusive */

/*
 * JSON: {"total":N,"min_us":..,"max_us":..,"sum_us":..,"overflow":N,
 * "buckets":[[index,count],...]} with only non-empty buckets, so files stay
 * small; hist_from_json reads it back exactly.  p50..max are not stored:
 * they are derived.
 */
void		hist_to_json(const struct hist *, struct buf *);
/* Parses the object at text[0..len); -1 with *cause on bad input. */
int		hist_from_json(struct hist *, const char *text, size_t len,
		    char **cause);

#endif
