/*
 * test-fault.c -- the seeded random stream, the latency samplers (their
 * statistics over fixed seeds are acceptance criteria), the body
 * malformers, names and fault_spec ownership.
 *
 * JSON validity is judged twice: by json.h's strict reader and by cJSON
 * (used only to validate, never to rewrite a body), with the end of input
 * required, so trailing bytes count as an error for both.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "fault.h"
#include "json.h"
#include "unit.h"

#define NSAMPLES	20000
#define MS		1000000.0

/* --- helpers ---------------------------------------------------------- */

/* 1 if cJSON parses s[0..len) whole (nothing after the value); *obj, if
 * not NULL, gets the tree, else it is freed. */
static int
cjson_accepts(const char *s, size_t len, cJSON **obj)
{
	char	*copy;
	cJSON	*j;

	copy = malloc(len + 1);
	if (copy == NULL)
		abort();
	if (len > 0)
		memcpy(copy, s, len);
	copy[len] = '\0';
	/* len + 1: with the NUL, cJSON checks nothing follows the value. */
	j = cJSON_ParseWithLengthOpts(copy, len + 1, NULL, 1);
	free(copy);
	if (j == NULL)
		return 0;
	if (obj != NULL)
		*obj = j;
	else
		cJSON_Delete(j);
	return 1;
}

static int
strict_accepts(const char *s, size_t len)
{
	struct json_parser	p;

	json_init(&p, s, len);
	return json_skip(&p, NULL) == 0 && json_finish(&p) == 0;
}

/* Runs one malform on a C string body with a fresh stream from seed. */
static void
malform(const struct fault_spec *fs, uint64_t seed, const char *body,
    struct buf *out)
{
	struct fault_rng	rng;

	buf_reset(out);
	fault_rng_seed(&rng, seed);
	fault_malform_body(fs, &rng, body, strlen(body), out);
}

static void
spec_kind(struct fault_spec *fs, enum fault_malform kind, const char *field)
{
	fault_spec_init(fs);
	fs->malform = kind;
	if (field != NULL)
		fs->field = strdup(field);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t	samples[NSAMPLES];

/* Fills samples[] from lat with a fixed seed and sorts them. */
static void
draw(const struct fault_latency *lat, uint64_t seed)
{
	struct fault_rng	rng;
	size_t			i;

	fault_rng_seed(&rng, seed);
	for (i = 0; i < NSAMPLES; i++)
		samples[i] = fault_latency_sample(lat, &rng, -1, NULL, 0);
	qsort(samples, NSAMPLES, sizeof samples[0], cmp_u64);
}

static double
mean_of(void)
{
	double	sum = 0;
	size_t	i;

	for (i = 0; i < NSAMPLES; i++)
		sum += (double)samples[i];
	return sum / NSAMPLES;
}

static double
stddev_of(double mean)
{
	double	sum = 0, d;
	size_t	i;

	for (i = 0; i < NSAMPLES; i++) {
		d = (double)samples[i] - mean;
		sum += d * d;
	}
	return sqrt(sum / (NSAMPLES - 1));
}

#define ASSERT_NEAR(got, want, rel) do {				\
	double g_ = (got), w_ = (want);					\
	unit_checks++;							\
	if (!(fabs(g_ - w_) <= (rel) * fabs(w_)))			\
		UNIT_FAIL("%s: expected %g within %g%%, got %g",	\
		    #got, w_, (rel) * 100, g_);				\
} while (0)

/* --- randomness ------------------------------------------------------- */

static void
test_rng(void)
{
	struct fault_rng	a, b;
	uint64_t		x, base;
	double			d, sum = 0, sq = 0;
	size_t			i, same;

	/* xoshiro256** reference outputs for the state {1, 2, 3, 4}. */
	a.s[0] = 1, a.s[1] = 2, a.s[2] = 3, a.s[3] = 4;
	ASSERT_EQ(fault_rng_next(&a), 11520);
	ASSERT_EQ(fault_rng_next(&a), 0);
	ASSERT_EQ(fault_rng_next(&a), 1509978240);
	/* splitmix64's first output for seed 0. */
	fault_rng_seed(&a, 0);
	ASSERT(a.s[0] == 0xe220a8397b1dcdafULL);

	fault_rng_seed(&a, 42);
	fault_rng_seed(&b, 42);
	same = 0;
	for (i = 0; i < 1000; i++)
		same += fault_rng_next(&a) == fault_rng_next(&b);
	ASSERT_EQ(same, 1000);
	fault_rng_seed(&a, 42);
	fault_rng_seed(&b, 43);
	same = 0;
	for (i = 0; i < 1000; i++)
		same += fault_rng_next(&a) == fault_rng_next(&b);
	ASSERT_EQ(same, 0);

	fault_rng_seed(&a, 7);
	for (i = 0; i < 100000; i++) {
		d = fault_rng_double(&a);
		if (d < 0 || d >= 1) {
			UNIT_FAIL("fault_rng_double out of [0, 1): %g", d);
			break;
		}
	}
	unit_checks++;

	/* The standard normal: mean 0, variance 1. */
	fault_rng_seed(&a, 8);
	for (i = 0; i < NSAMPLES; i++) {
		d = fault_rng_normal(&a);
		sum += d;
		sq += d * d;
	}
	ASSERT(fabs(sum / NSAMPLES) < 0.03);
	ASSERT(fabs(sq / NSAMPLES - 1) < 0.03);
	/* No cached second value: the same seed, the same first draw. */
	fault_rng_seed(&a, 9);
	fault_rng_seed(&b, 9);
	ASSERT(fault_rng_normal(&a) == fault_rng_normal(&b));

	/* fault_seed_mix changes with each input. */
	base = fault_seed_mix(42, "rule", 1000, 3);
	ASSERT(base == fault_seed_mix(42, "rule", 1000, 3));
	ASSERT(base != fault_seed_mix(43, "rule", 1000, 3));
	ASSERT(base != fault_seed_mix(42, "rulf", 1000, 3));
	ASSERT(base != fault_seed_mix(42, "rule2", 1000, 3));
	ASSERT(base != fault_seed_mix(42, "rul", 1000, 3));
	ASSERT(base != fault_seed_mix(42, "rule", 1001, 3));
	ASSERT(base != fault_seed_mix(42, "rule", 1000, 4));
	ASSERT(base != fault_seed_mix(42, "rule", 3, 1000));
	ASSERT(fault_seed_mix(42, NULL, 1, 1) == fault_seed_mix(42, "", 1, 1));
	ASSERT(fault_seed_mix(0, "", 0, 0) != 0);
	/* Nearby inputs: about half the bits differ. */
	x = fault_seed_mix(42, "rule", 1, 0) ^ fault_seed_mix(42, "rule", 2, 0);
	ASSERT(__builtin_popcountll(x) > 16 && __builtin_popcountll(x) < 48);
	x = fault_seed_mix(42, "rule", 0, 0) ^ fault_seed_mix(42, "rule", 0, 1);
	ASSERT(__builtin_popcountll(x) > 16 && __builtin_popcountll(x) < 48);
	/* Long names: the bytes past the first word count too. */
	ASSERT(fault_seed_mix(1, "payments-slow-1", 0, 0) !=
	    fault_seed_mix(1, "payments-slow-2", 0, 0));
}

/* A probability draw of 0.1 over 10,000 signatures lands in the 99.9%
 * binomial interval. */
static void
test_probability(void)
{
	struct fault_rng	rng;
	uint64_t		i;
	unsigned int		hits = 0;

	for (i = 0; i < 10000; i++) {
		fault_rng_seed(&rng, fault_seed_mix(42, "rule", i, 0));
		hits += fault_rng_double(&rng) < 0.1;
	}
	printf("probability 0.1 over 10000 signatures: %u hits\n", hits);
	ASSERT(hits >= 901 && hits <= 1099);
}

/* --- latency ---------------------------------------------------------- */

static void
test_latency(void)
{
	struct fault_latency	lat;
	struct fault_rng	rng;
	double			mean, sd, median, p99;
	int64_t			emp[] = { 5, 17, 1000000, 42 };
	int64_t			neg[] = { -5 };
	size_t			counts[4], i, j, other;
	uint64_t		v;

	/* lognormal from quantiles: median 120 ms, p99 2 s. */
	memset(&lat, 0, sizeof lat);
	ASSERT_EQ(fault_lognormal_from_quantiles(&lat, 120 * MS, 2000 * MS),
	    0);
	ASSERT_EQ(lat.kind, FAULT_LAT_LOGNORMAL);
	ASSERT_NEAR(lat.a, log(120 * MS), 1e-12);
	ASSERT_NEAR(lat.b, (log(2000 * MS) - log(120 * MS)) /
	    2.3263478740408408, 1e-12);
	draw(&lat, 1);
	median = (double)samples[NSAMPLES / 2];
	p99 = (double)samples[NSAMPLES * 99 / 100];
	printf("lognormal(median 120ms, p99 2s): median %.2f ms, "
	    "p99 %.1f ms\n", median / MS, p99 / MS);
	ASSERT_NEAR(median, 120 * MS, 0.05);
	ASSERT_NEAR(p99, 2000 * MS, 0.05);

	ASSERT_EQ(fault_lognormal_from_quantiles(&lat, 0, 10), -1);
	ASSERT_EQ(fault_lognormal_from_quantiles(&lat, 10, 10), -1);
	ASSERT_EQ(fault_lognormal_from_quantiles(&lat, 20, 10), -1);
	ASSERT_EQ(fault_lognormal_from_quantiles(&lat, -1, 10), -1);
	ASSERT_EQ(fault_lognormal_from_quantiles(&lat, NAN, 10), -1);
	ASSERT_EQ(fault_lognormal_from_quantiles(&lat, 1, INFINITY), -1);

	/* Cap: every sample at most max_ns, and the tail hits it. */
	lat.max_ns = 500 * MS;
	draw(&lat, 2);
	ASSERT(samples[NSAMPLES - 1] == (uint64_t)(500 * MS));
	ASSERT(samples[NSAMPLES / 2] < (uint64_t)(500 * MS));

	/* uniform [10 ms, 30 ms]: mean 20 ms. */
	memset(&lat, 0, sizeof lat);
	lat.kind = FAULT_LAT_UNIFORM;
	lat.a = 10 * MS;
	lat.b = 30 * MS;
	draw(&lat, 3);
	mean = mean_of();
	printf("uniform[10ms, 30ms]: mean %.3f ms, min %.3f, max %.3f\n",
	    mean / MS, samples[0] / MS, samples[NSAMPLES - 1] / MS);
	ASSERT_NEAR(mean, 20 * MS, 0.02);
	ASSERT(samples[0] >= 10 * MS && samples[NSAMPLES - 1] <= 30 * MS);
	/* b < a draws from [b, a]. */
	lat.a = 30 * MS;
	lat.b = 10 * MS;
	draw(&lat, 3);
	ASSERT(samples[0] >= 10 * MS && samples[NSAMPLES - 1] <= 30 * MS);

	/* normal(100 ms, 20 ms). */
	lat.kind = FAULT_LAT_NORMAL;
	lat.a = 100 * MS;
	lat.b = 20 * MS;
	draw(&lat, 4);
	mean = mean_of();
	sd = stddev_of(mean);
	printf("normal(100ms, 20ms): mean %.3f ms, stddev %.3f ms\n",
	    mean / MS, sd / MS);
	ASSERT_NEAR(mean, 100 * MS, 0.03);
	ASSERT_NEAR(sd, 20 * MS, 0.03);
	/* Clamped at 0: mean 0 gives about half zeros, nothing negative
	 * (a uint64_t wrap would show as huge values). */
	lat.a = 0;
	draw(&lat, 5);
	ASSERT(samples[NSAMPLES / 4] == 0);
	ASSERT(samples[NSAMPLES - 1] < 200 * MS);

	/* pareto(xm 10 ms, alpha 2): median xm * 2^(1/alpha). */
	lat.kind = FAULT_LAT_PARETO;
	lat.a = 10 * MS;
	lat.b = 2;
	draw(&lat, 6);
	median = (double)samples[NSAMPLES / 2];
	printf("pareto(10ms, 2): median %.3f ms (expected %.3f), "
	    "min %.3f ms\n", median / MS, 10 * sqrt(2), samples[0] / MS);
	ASSERT_NEAR(median, 10 * MS * sqrt(2), 0.05);
	ASSERT(samples[0] >= 10 * MS);
	lat.max_ns = 50 * MS;
	draw(&lat, 6);
	ASSERT(samples[NSAMPLES - 1] == 50 * MS);
	lat.max_ns = 0;
	lat.b = 0;		/* no usable shape: xm */
	draw(&lat, 6);
	ASSERT(samples[0] == 10 * MS && samples[NSAMPLES - 1] == 10 * MS);

	/* fixed: exact. */
	lat.kind = FAULT_LAT_FIXED;
	lat.a = 1500000;
	draw(&lat, 7);
	ASSERT(samples[0] == 1500000 && samples[NSAMPLES - 1] == 1500000);
	lat.max_ns = 1000;
	draw(&lat, 7);
	ASSERT(samples[0] == 1000 && samples[NSAMPLES - 1] == 1000);
	lat.max_ns = 0;
	lat.a = -5;
	draw(&lat, 7);
	ASSERT(samples[NSAMPLES - 1] == 0);

	/* recorded x a: exact. */
	fault_rng_seed(&rng, 8);
	lat.kind = FAULT_LAT_RECORDED;
	lat.a = 2;
	ASSERT_EQ(fault_latency_sample(&lat, &rng, 123456789, NULL, 0),
	    246913578);
	lat.a = 0.5;
	ASSERT_EQ(fault_latency_sample(&lat, &rng, 123456788, NULL, 0),
	    61728394);
	lat.a = 1;
	ASSERT_EQ(fault_latency_sample(&lat, &rng, 4503599627370497LL, NULL,
	    0), 4503599627370497LL);
	ASSERT_EQ(fault_latency_sample(&lat, &rng, 0, NULL, 0), 0);
	ASSERT_EQ(fault_latency_sample(&lat, &rng, -1, NULL, 0), 0);
	lat.a = 3;
	lat.max_ns = 1000;
	ASSERT_EQ(fault_latency_sample(&lat, &rng, 500, NULL, 0), 1000);
	lat.max_ns = 0;

	/* empirical: only given samples, each about a quarter of the time. */
	lat.kind = FAULT_LAT_EMPIRICAL;
	memset(counts, 0, sizeof counts);
	other = 0;
	fault_rng_seed(&rng, 9);
	for (i = 0; i < NSAMPLES; i++) {
		v = fault_latency_sample(&lat, &rng, 77, emp, 4);
		for (j = 0; j < 4; j++) {
			if (v == (uint64_t)emp[j]) {
				counts[j]++;
				break;
			}
		}
		other += j == 4;
	}
	printf("empirical over 4 samples: %zu %zu %zu %zu\n", counts[0],
	    counts[1], counts[2], counts[3]);
	ASSERT_EQ(other, 0);
	for (j = 0; j < 4; j++)
		ASSERT_NEAR((double)counts[j], NSAMPLES / 4.0, 0.05);
	ASSERT_EQ(fault_latency_sample(&lat, &rng, 77, NULL, 0), 0);
	ASSERT_EQ(fault_latency_sample(&lat, &rng, 77, emp, 0), 0);
	ASSERT_EQ(fault_latency_sample(&lat, &rng, 77, neg, 1), 0);
	lat.max_ns = 100;
	for (i = 0; i < 100; i++) {
		v = fault_latency_sample(&lat, &rng, 77, emp, 4);
		if (v > 100)
			break;
	}
	ASSERT_EQ(i, 100);

	/* none: 0. */
	lat.kind = FAULT_LAT_NONE;
	ASSERT_EQ(fault_latency_sample(&lat, &rng, 77, emp, 4), 0);

	/* The same seed, the same samples. */
	lat.kind = FAULT_LAT_LOGNORMAL;
	lat.a = log(120 * MS);
	lat.b = 1;
	lat.max_ns = 0;
	{
		struct fault_rng	r1, r2;

		fault_rng_seed(&r1, 10);
		fault_rng_seed(&r2, 10);
		for (i = 0; i < 100; i++) {
			if (fault_latency_sample(&lat, &r1, -1, NULL, 0) !=
			    fault_latency_sample(&lat, &r2, -1, NULL, 0))
				break;
		}
		ASSERT_EQ(i, 100);
	}
}

/* --- names and specs --------------------------------------------------- */

static void
test_names(void)
{
	static const char *const malforms[] = { "none", "truncate",
	    "lying_length", "corrupt", "invalid_json", "empty",
	    "wrong_content_type", "oversize", "drop_field", "swap_types",
	    "bad_chunk" };
	static const char *const conns[] = { "none", "reset", "close",
	    "close_after_headers", "hang", "drip", "slow_headers" };
	static const char *const lats[] = { "none", "fixed", "uniform",
	    "normal", "lognormal", "pareto", "recorded", "empirical" };
	enum fault_malform	m;
	enum fault_conn		c;
	size_t			i;

	for (i = 0; i < sizeof malforms / sizeof malforms[0]; i++) {
		ASSERT_STR_EQ(fault_malform_name((enum fault_malform)i),
		    malforms[i]);
		ASSERT_EQ(fault_malform_parse(malforms[i], &m), 0);
		ASSERT_EQ(m, i);
	}
	ASSERT_EQ(fault_malform_parse(malforms[9], &m), 0);
	ASSERT_EQ(m, FAULT_MALFORM_SWAP_TYPES);
	ASSERT_STR_EQ(fault_malform_name(FAULT_MALFORM_BAD_CHUNK),
	    "bad_chunk");
	ASSERT_STR_EQ(fault_malform_name((enum fault_malform)99), "unknown");
	ASSERT_EQ(fault_malform_parse("Truncate", &m), -1);
	ASSERT_EQ(fault_malform_parse("", &m), -1);
	ASSERT_EQ(fault_malform_parse(NULL, &m), -1);

	for (i = 0; i < sizeof conns / sizeof conns[0]; i++) {
		ASSERT_STR_EQ(fault_conn_name((enum fault_conn)i), conns[i]);
		ASSERT_EQ(fault_conn_parse(conns[i], &c), 0);
		ASSERT_EQ(c, i);
	}
	ASSERT_EQ(fault_conn_parse("rst", &c), -1);
	ASSERT_STR_EQ(fault_conn_name((enum fault_conn)-1), "unknown");

	for (i = 0; i < sizeof lats / sizeof lats[0]; i++)
		ASSERT_STR_EQ(fault_latency_name((enum fault_latency_kind)i),
		    lats[i]);
	ASSERT_STR_EQ(fault_latency_name(FAULT_LAT_EMPIRICAL), "empirical");
	ASSERT_STR_EQ(fault_latency_name((enum fault_latency_kind)8),
	    "unknown");
}

static void
test_spec(void)
{
	struct fault_spec	a, b;

	fault_spec_init(&a);
	ASSERT_EQ(a.latency.kind, FAULT_LAT_NONE);
	ASSERT_EQ(a.status, 0);
	ASSERT(a.headers == NULL && a.nheaders == 0);
	ASSERT(a.body == NULL && !a.has_body);
	ASSERT_EQ(a.malform, FAULT_MALFORM_NONE);
	ASSERT(a.truncate_at == 0.5);
	ASSERT_EQ(a.corrupt_bytes, 1);
	ASSERT_STR_EQ(a.content_type, "text/html");
	ASSERT_EQ(a.oversize, 1024 * 1024);
	ASSERT(a.field == NULL);
	ASSERT_EQ(a.connection, FAULT_CONN_NONE);
	ASSERT(a.drip_bps == 1024);

	/* Copy an empty spec, free both. */
	fault_spec_copy(&b, &a);
	ASSERT_STR_EQ(b.content_type, "text/html");
	ASSERT(b.content_type != a.content_type);
	fault_spec_free(&b);

	a.status = 503;
	a.nheaders = 2;
	a.headers = calloc(2, sizeof *a.headers);
	a.headers[0].name = strdup("Retry-After");
	a.headers[0].value = strdup("2");
	a.headers[1].name = strdup("X-Chaos");
	a.headers[1].value = strdup("yes");
	a.body = malloc(5);
	memcpy(a.body, "a\0b}", 5);
	a.body_len = 4;
	a.has_body = 1;
	a.field = strdup("amount");
	free(a.content_type);
	a.content_type = strdup("text/plain");
	a.latency.kind = FAULT_LAT_FIXED;
	a.latency.a = 7;
	a.malform = FAULT_MALFORM_DROP_FIELD;
	a.connection = FAULT_CONN_DRIP;
	a.drip_bps = 10;

	fault_spec_copy(&b, &a);
	fault_spec_free(&a);		/* the copy shares nothing */
	ASSERT_EQ(a.nheaders, 0);
	ASSERT(a.body == NULL && a.headers == NULL);
	fault_spec_free(&a);		/* harmless twice */
	ASSERT_EQ(b.status, 503);
	ASSERT_EQ(b.nheaders, 2);
	ASSERT_STR_EQ(b.headers[0].name, "Retry-After");
	ASSERT_STR_EQ(b.headers[0].value, "2");
	ASSERT_STR_EQ(b.headers[1].name, "X-Chaos");
	ASSERT_STR_EQ(b.headers[1].value, "yes");
	ASSERT_EQ(b.body_len, 4);
	ASSERT(memcmp(b.body, "a\0b}", 5) == 0);
	ASSERT(b.has_body);
	ASSERT_STR_EQ(b.field, "amount");
	ASSERT_STR_EQ(b.content_type, "text/plain");
	ASSERT_EQ(b.latency.kind, FAULT_LAT_FIXED);
	ASSERT(b.latency.a == 7);
	ASSERT_EQ(b.malform, FAULT_MALFORM_DROP_FIELD);
	ASSERT_EQ(b.connection, FAULT_CONN_DRIP);
	ASSERT(b.drip_bps == 10);

	/* A copy of a copy, then everything freed (ASan checks leaks). */
	fault_spec_copy(&a, &b);
	ASSERT_STR_EQ(a.headers[1].value, "yes");
	fault_spec_free(&b);
	fault_spec_free(&a);

	/* A header with a NULL value is copied as NULL. */
	fault_spec_init(&a);
	a.nheaders = 1;
	a.headers = calloc(1, sizeof *a.headers);
	a.headers[0].name = strdup("X");
	fault_spec_copy(&b, &a);
	ASSERT(b.headers[0].value == NULL);
	fault_spec_free(&a);
	fault_spec_free(&b);
}

/* --- malformers -------------------------------------------------------- */

static void
test_truncate(void)
{
	struct fault_spec	fs;
	struct buf		out;
	const char		*body = "{\"a\":1,\"b\":\"xyz\"}";
	size_t			len = strlen(body);
	int			k;

	buf_init(&out);
	for (k = 0; k < 2; k++) {
		spec_kind(&fs, k == 0 ? FAULT_MALFORM_TRUNCATE :
		    FAULT_MALFORM_LYING_LENGTH, NULL);
		malform(&fs, 1, body, &out);		/* default 0.5 */
		ASSERT_MEM_EQ(out.data, out.len, "{\"a\":1,\"");
		fs.truncate_at = 0.25;
		malform(&fs, 1, body, &out);
		ASSERT_MEM_EQ(out.data, out.len, "{\"a\"");
		fs.truncate_at = 7;
		malform(&fs, 1, body, &out);
		ASSERT_MEM_EQ(out.data, out.len, "{\"a\":1,");
		fs.truncate_at = 1;
		malform(&fs, 1, body, &out);
		ASSERT_MEM_EQ(out.data, out.len, "{");
		fs.truncate_at = (double)len;
		malform(&fs, 1, body, &out);
		ASSERT_EQ(out.len, len - 1);
		ASSERT(memcmp(out.data, body, len - 1) == 0);
		fs.truncate_at = 1e12;
		malform(&fs, 1, body, &out);
		ASSERT_EQ(out.len, len - 1);
		fs.truncate_at = 0.99999;
		malform(&fs, 1, body, &out);
		ASSERT_EQ(out.len, len - 1);
		fs.truncate_at = 0;
		malform(&fs, 1, body, &out);
		ASSERT_EQ(out.len, 0);
		fs.truncate_at = -3;
		malform(&fs, 1, body, &out);
		ASSERT_EQ(out.len, 0);
		fs.truncate_at = NAN;
		malform(&fs, 1, body, &out);
		ASSERT_EQ(out.len, 0);
		fs.truncate_at = 0.5;
		malform(&fs, 1, "x", &out);
		ASSERT_EQ(out.len, 0);
		malform(&fs, 1, "", &out);
		ASSERT_EQ(out.len, 0);
		fault_spec_free(&fs);
	}

	/* The output is appended to what out holds. */
	spec_kind(&fs, FAULT_MALFORM_TRUNCATE, NULL);
	buf_reset(&out);
	buf_append_str(&out, "HEAD");
	{
		struct fault_rng	rng;

		fault_rng_seed(&rng, 1);
		fault_malform_body(&fs, &rng, "abcd", 4, &out);
	}
	ASSERT_MEM_EQ(out.data, out.len, "HEADab");
	fault_spec_free(&fs);
	buf_free(&out);
}

static size_t
count_diff(const char *a, const char *b, size_t len)
{
	size_t	i, n = 0;

	for (i = 0; i < len; i++)
		n += a[i] != b[i];
	return n;
}

static void
test_corrupt(void)
{
	struct fault_spec	fs;
	struct buf		out, again;
	const char		*body =
				    "{\"amount\":1200,\"currency\":\"usd\"}";
	size_t			len = strlen(body), hits[10];
	uint64_t		seed;
	size_t			i, bad;

	buf_init(&out);
	buf_init(&again);
	spec_kind(&fs, FAULT_MALFORM_CORRUPT, NULL);

	malform(&fs, 5, body, &out);			/* default 1 byte */
	ASSERT_EQ(out.len, len);
	ASSERT_EQ(count_diff(out.data, body, len), 1);

	fs.corrupt_bytes = 3;
	malform(&fs, 5, body, &out);
	malform(&fs, 5, body, &again);
	ASSERT_EQ(out.len, len);
	ASSERT_EQ(count_diff(out.data, body, len), 3);
	ASSERT(out.len == again.len &&
	    memcmp(out.data, again.data, out.len) == 0);
	malform(&fs, 6, body, &again);
	ASSERT(memcmp(out.data, again.data, out.len) != 0);

	/* Distinct positions: k of 10 bytes always changes exactly k, and
	 * every position gets chosen. */
	memset(hits, 0, sizeof hits);
	bad = 0;
	for (fs.corrupt_bytes = 1; fs.corrupt_bytes <= 10;
	    fs.corrupt_bytes++) {
		for (seed = 0; seed < 300; seed++) {
			malform(&fs, seed, "0123456789", &out);
			if (out.len != 10 || count_diff(out.data, "0123456789",
			    10) != fs.corrupt_bytes)
				bad++;
			for (i = 0; i < 10; i++)
				hits[i] += out.data[i] != "0123456789"[i];
		}
	}
	ASSERT_EQ(bad, 0);
	for (i = 0; i < 10; i++)
		ASSERT_NEAR((double)hits[i], 300 * 55 / 10.0, 0.1);

	/* More than the body: every byte changes. */
	fs.corrupt_bytes = 100;
	malform(&fs, 7, body, &out);
	ASSERT_EQ(count_diff(out.data, body, len), len);
	fs.corrupt_bytes = 0;
	malform(&fs, 7, body, &out);
	ASSERT_MEM_EQ(out.data, out.len, body);
	fs.corrupt_bytes = 1;
	malform(&fs, 7, "", &out);
	ASSERT_EQ(out.len, 0);

	fault_spec_free(&fs);
	buf_free(&out);
	buf_free(&again);
}

static void
test_invalid_json(void)
{
	static const char *const valid[] = {
		"{}", "[]", "{\"a\":1}", "[1,2,{\"b\":[]}]",
		" { \"a\" : [1] } \n",
		"{\"n\":9007199254740993}", "42", "\"str\"", "true", "null",
		"-1.5e3", " 7 ",
	};
	static const char *const invalid[] = {
		"", "   ", "{\"a\":1", "{\"a\":", "[1,", "{}}", "not json",
		"{\"a\":01}", "{\"a\":1,}", "\"open",
	};
	struct fault_spec	fs;
	struct buf		out;
	size_t			i;

	buf_init(&out);
	spec_kind(&fs, FAULT_MALFORM_INVALID_JSON, NULL);
	for (i = 0; i < sizeof valid / sizeof valid[0]; i++) {
		ASSERT(strict_accepts(valid[i], strlen(valid[i])));
		ASSERT(cjson_accepts(valid[i], strlen(valid[i]), NULL));
		malform(&fs, 1, valid[i], &out);
		if (strict_accepts(out.data, out.len) ||
		    cjson_accepts(out.data, out.len, NULL))
			UNIT_FAIL("invalid_json of %s still parses: %.*s",
			    valid[i], (int)out.len, out.data);
		unit_checks++;
	}
	for (i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		malform(&fs, 1, invalid[i], &out);
		if (strict_accepts(out.data, out.len))
			UNIT_FAIL("invalid_json of %s parses: %.*s",
			    invalid[i], (int)out.len, out.data);
		unit_checks++;
	}
	/* The exact bytes. */
	malform(&fs, 1, "{\"a\":[1]}", &out);
	ASSERT_MEM_EQ(out.data, out.len, "{\"a\":[1]");
	malform(&fs, 1, "[1] \r\n", &out);
	ASSERT_MEM_EQ(out.data, out.len, "[1 \r\n");
	malform(&fs, 1, "42", &out);
	ASSERT_MEM_EQ(out.data, out.len, "42}");
	malform(&fs, 1, "", &out);
	ASSERT_MEM_EQ(out.data, out.len, "}");
	malform(&fs, 1, "{\"a\":1", &out);		/* } would mend it */
	ASSERT_MEM_EQ(out.data, out.len, "{\"a\":1}}");
	malform(&fs, 1, "{\"a\":", &out);
	ASSERT_MEM_EQ(out.data, out.len, "{\"a\":}");
	fault_spec_free(&fs);
	buf_free(&out);
}

/* Drops field from body and expects want, valid for both parsers and
 * without the member. */
static void
check_drop(const char *body, const char *field, const char *want, int line)
{
	struct fault_spec	 fs;
	struct buf		 out;
	cJSON			*j = NULL;

	buf_init(&out);
	spec_kind(&fs, FAULT_MALFORM_DROP_FIELD, field);
	malform(&fs, 1, body, &out);
	unit_checks++;
	if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
		UNIT_FAIL("line %d: drop %s from %s: expected %s, got %.*s",
		    line, field, body, want, (int)out.len, out.data);
	unit_checks++;
	if (!strict_accepts(out.data, out.len) ||
	    !cjson_accepts(out.data, out.len, &j))
		UNIT_FAIL("line %d: drop %s from %s: invalid JSON %.*s", line,
		    field, body, (int)out.len, out.data);
	else {
		if (cJSON_GetObjectItemCaseSensitive(j, field) != NULL &&
		    strstr(body, "\"dup\"") == NULL)
			UNIT_FAIL("line %d: %s still present", line, field);
		cJSON_Delete(j);
	}
	fault_spec_free(&fs);
	buf_free(&out);
}

#define CHECK_DROP(b, f, w)	check_drop((b), (f), (w), __LINE__)

static void
test_drop_field(void)
{
	struct fault_spec	 fs;
	struct buf		 out, again;
	const char		*three =
				    "{\"a\":1,\"b\":[2,{\"x\":3}],\"c\":\"3\"}";
	size_t			 counts[3], i, bad;
	uint64_t		 seed;
	cJSON			*j;

	CHECK_DROP(three, "a", "{\"b\":[2,{\"x\":3}],\"c\":\"3\"}");
	CHECK_DROP(three, "b", "{\"a\":1,\"c\":\"3\"}");
	CHECK_DROP(three, "c", "{\"a\":1,\"b\":[2,{\"x\":3}]}");
	CHECK_DROP("{\"only\":{\"deep\":[1]}}", "only", "{}");
	CHECK_DROP(" { \"only\" : 1 } ", "only", " {  } ");
	CHECK_DROP("{ \"a\" : 1 ,\n  \"b\" : 2 ,\n  \"c\" : 3 }\n", "a",
	    "{ \"b\" : 2 ,\n  \"c\" : 3 }\n");
	CHECK_DROP("{ \"a\" : 1 ,\n  \"b\" : 2 ,\n  \"c\" : 3 }\n", "b",
	    "{ \"a\" : 1 ,\n  \"c\" : 3 }\n");
	CHECK_DROP("{ \"a\" : 1 ,\n  \"b\" : 2 ,\n  \"c\" : 3 }\n", "c",
	    "{ \"a\" : 1 ,\n  \"b\" : 2 }\n");
	/* Big numbers elsewhere keep their digits. */
	CHECK_DROP("{\"id\":9007199254740993,\"x\":1.10,\"drop\":true}",
	    "drop", "{\"id\":9007199254740993,\"x\":1.10}");
	CHECK_DROP("{\"drop\":null,\"id\":9007199254740993}", "drop",
	    "{\"id\":9007199254740993}");
	/* A key written with escapes still matches its decoded name. */
	CHECK_DROP("{\"\\u0061\":1,\"b\":2}", "a", "{\"b\":2}");
	/* Only the first of duplicate names goes. */
	CHECK_DROP("{\"dup\":1,\"dup\":2}", "dup", "{\"dup\":2}");
	/* A member of a nested object is not a top-level member: with the
	 * name absent, one is drawn instead (checked below). */

	buf_init(&out);
	buf_init(&again);

	/* No field: drawn uniformly among the members. */
	spec_kind(&fs, FAULT_MALFORM_DROP_FIELD, NULL);
	memset(counts, 0, sizeof counts);
	bad = 0;
	for (seed = 0; seed < 3000; seed++) {
		malform(&fs, seed, "{\"a\":1,\"b\":2,\"c\":3}", &out);
		if (strcmp(out.data, "{\"b\":2,\"c\":3}") == 0)
			counts[0]++;
		else if (strcmp(out.data, "{\"a\":1,\"c\":3}") == 0)
			counts[1]++;
		else if (strcmp(out.data, "{\"a\":1,\"b\":2}") == 0)
			counts[2]++;
		else
			bad++;
	}
	printf("drop_field without a name over 3000 seeds: %zu %zu %zu\n",
	    counts[0], counts[1], counts[2]);
	ASSERT_EQ(bad, 0);
	for (i = 0; i < 3; i++)
		ASSERT_NEAR((double)counts[i], 1000, 0.1);

	/* Determinism. */
	malform(&fs, 77, three, &out);
	malform(&fs, 77, three, &again);
	ASSERT(out.len == again.len &&
	    memcmp(out.data, again.data, out.len) == 0);
	fault_spec_free(&fs);

	/* An absent name draws as if none was given. */
	spec_kind(&fs, FAULT_MALFORM_DROP_FIELD, "x");
	malform(&fs, 77, three, &again);
	ASSERT(out.len == again.len &&
	    memcmp(out.data, again.data, out.len) == 0);
	ASSERT(cjson_accepts(again.data, again.len, &j));
	ASSERT_EQ(cJSON_GetArraySize(j), 2);
	cJSON_Delete(j);

	/* An empty object stays as it is. */
	malform(&fs, 1, " {} ", &out);
	ASSERT_MEM_EQ(out.data, out.len, " {} ");

	/* Not an object: INVALID_JSON's bytes. */
	malform(&fs, 1, "[1,2]", &out);
	ASSERT_MEM_EQ(out.data, out.len, "[1,2");
	malform(&fs, 1, "42", &out);
	ASSERT_MEM_EQ(out.data, out.len, "42}");
	malform(&fs, 1, "\"x\"", &out);
	ASSERT_MEM_EQ(out.data, out.len, "\"x\"}");
	malform(&fs, 1, "", &out);
	ASSERT_MEM_EQ(out.data, out.len, "}");
	malform(&fs, 1, "{\"a\":1", &out);
	ASSERT_MEM_EQ(out.data, out.len, "{\"a\":1}}");
	malform(&fs, 1, "{\"a\":1} x", &out);
	ASSERT_MEM_EQ(out.data, out.len, "{\"a\":1} x}");
	malform(&fs, 1, "{\"a\":\"\xff\"}", &out);	/* bad UTF-8 */
	ASSERT_MEM_EQ(out.data, out.len, "{\"a\":\"\xff\"}}");
	fault_spec_free(&fs);

	buf_free(&out);
	buf_free(&again);
}

static void
check_swap(const char *body, const char *field, const char *want, int line)
{
	struct fault_spec	fs;
	struct buf		out;

	buf_init(&out);
	spec_kind(&fs, FAULT_MALFORM_SWAP_TYPES, field);
	malform(&fs, 1, body, &out);
	unit_checks++;
	if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
		UNIT_FAIL("line %d: swap %s in %s: expected %s, got %.*s",
		    line, field, body, want, (int)out.len, out.data);
	unit_checks++;
	if (!strict_accepts(out.data, out.len) ||
	    !cjson_accepts(out.data, out.len, NULL))
		UNIT_FAIL("line %d: swap %s: invalid JSON %.*s", line, field,
		    (int)out.len, out.data);
	fault_spec_free(&fs);
	buf_free(&out);
}

#define CHECK_SWAP(b, f, w)	check_swap((b), (f), (w), __LINE__)

static void
test_swap_types(void)
{
	struct fault_spec	 fs;
	struct buf		 out, again;
	size_t			 bad;
	uint64_t		 seed;
	cJSON			*j;
	const char		*all = "{\"n\":1200,\"s\":\"x\",\"t\":true,"
				    "\"f\":false,\"z\":null,\"o\":{\"k\":1},"
				    "\"r\":[1,2],\"big\":9007199254740993}";

	CHECK_SWAP(all, "n", "{\"n\":\"1200\",\"s\":\"x\",\"t\":true,"
	    "\"f\":false,\"z\":null,\"o\":{\"k\":1},\"r\":[1,2],"
	    "\"big\":9007199254740993}");
	CHECK_SWAP(all, "s", "{\"n\":1200,\"s\":0,\"t\":true,"
	    "\"f\":false,\"z\":null,\"o\":{\"k\":1},\"r\":[1,2],"
	    "\"big\":9007199254740993}");
	CHECK_SWAP(all, "t", "{\"n\":1200,\"s\":\"x\",\"t\":\"true\","
	    "\"f\":false,\"z\":null,\"o\":{\"k\":1},\"r\":[1,2],"
	    "\"big\":9007199254740993}");
	CHECK_SWAP(all, "f", "{\"n\":1200,\"s\":\"x\",\"t\":true,"
	    "\"f\":\"false\",\"z\":null,\"o\":{\"k\":1},\"r\":[1,2],"
	    "\"big\":9007199254740993}");
	CHECK_SWAP(all, "z", "{\"n\":1200,\"s\":\"x\",\"t\":true,"
	    "\"f\":false,\"z\":0,\"o\":{\"k\":1},\"r\":[1,2],"
	    "\"big\":9007199254740993}");
	CHECK_SWAP(all, "o", "{\"n\":1200,\"s\":\"x\",\"t\":true,"
	    "\"f\":false,\"z\":null,\"o\":null,\"r\":[1,2],"
	    "\"big\":9007199254740993}");
	CHECK_SWAP(all, "r", "{\"n\":1200,\"s\":\"x\",\"t\":true,"
	    "\"f\":false,\"z\":null,\"o\":{\"k\":1},\"r\":null,"
	    "\"big\":9007199254740993}");
	CHECK_SWAP(all, "big", "{\"n\":1200,\"s\":\"x\",\"t\":true,"
	    "\"f\":false,\"z\":null,\"o\":{\"k\":1},\"r\":[1,2],"
	    "\"big\":\"9007199254740993\"}");
	CHECK_SWAP("{\"x\":-1.5e-7}", "x", "{\"x\":\"-1.5e-7\"}");
	CHECK_SWAP("{\"x\":\"esc\\\"aped\\u00e9\"}", "x", "{\"x\":0}");
	CHECK_SWAP(" { \"a\" : [ ] , \"b\" : 1 } ", "a",
	    " { \"a\" : null , \"b\" : 1 } ");

	buf_init(&out);
	buf_init(&again);

	/* No field: some member changes, the result is valid, determinism. */
	spec_kind(&fs, FAULT_MALFORM_SWAP_TYPES, NULL);
	bad = 0;
	for (seed = 0; seed < 500; seed++) {
		malform(&fs, seed, all, &out);
		malform(&fs, seed, all, &again);
		if (strcmp(out.data, all) == 0 ||
		    !strict_accepts(out.data, out.len) ||
		    !cjson_accepts(out.data, out.len, &j))
			bad++;
		else {
			bad += cJSON_GetArraySize(j) != 8;
			cJSON_Delete(j);
		}
		bad += out.len != again.len ||
		    memcmp(out.data, again.data, out.len) != 0;
		/* The big number is never rounded. */
		bad += strstr(out.data, "9007199254740993") == NULL;
	}
	ASSERT_EQ(bad, 0);
	fault_spec_free(&fs);

	spec_kind(&fs, FAULT_MALFORM_SWAP_TYPES, "nope");
	malform(&fs, 3, "{\"a\":1}", &out);
	ASSERT_MEM_EQ(out.data, out.len, "{\"a\":\"1\"}");
	malform(&fs, 3, "{}", &out);
	ASSERT_MEM_EQ(out.data, out.len, "{}");
	malform(&fs, 3, "[{\"a\":1}]", &out);
	ASSERT_MEM_EQ(out.data, out.len, "[{\"a\":1}");
	malform(&fs, 3, "null", &out);
	ASSERT_MEM_EQ(out.data, out.len, "null}");
	malform(&fs, 3, "", &out);
	ASSERT_MEM_EQ(out.data, out.len, "}");
	fault_spec_free(&fs);

	buf_free(&out);
	buf_free(&again);
}

static void
test_other_kinds(void)
{
	static const enum fault_malform kinds[] = { FAULT_MALFORM_NONE,
	    FAULT_MALFORM_WRONG_CONTENT_TYPE, FAULT_MALFORM_OVERSIZE,
	    FAULT_MALFORM_BAD_CHUNK };
	struct fault_spec	fs;
	struct buf		out;
	size_t			i;

	buf_init(&out);
	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		spec_kind(&fs, kinds[i], NULL);
		malform(&fs, 1, "{\"a\":9007199254740993}", &out);
		ASSERT_MEM_EQ(out.data, out.len, "{\"a\":9007199254740993}");
		fault_spec_free(&fs);
	}
	spec_kind(&fs, FAULT_MALFORM_EMPTY, NULL);
	malform(&fs, 1, "{\"a\":1}", &out);
	ASSERT_EQ(out.len, 0);
	fault_spec_free(&fs);
	buf_free(&out);
}

int
main(void)
{
	test_rng();
	test_probability();
	test_latency();
	test_names();
	test_spec();
	test_truncate();
	test_corrupt();
	test_invalid_json();
	test_drop_field();
	test_swap_types();
	test_other_kinds();
	UNIT_DONE();
}
