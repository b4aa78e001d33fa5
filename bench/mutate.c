/*
 * bench/mutate.c -- how many mutants per second the mutation engine makes
 * on one core.
 *
 * Usage: bench/mutate [-n MUTANTS] [-s SEED] [-f] [CORPUS_DIR]
 *
 * Without CORPUS_DIR the corpus is one POST with a 1 KiB JSON body (an
 * order: customer, address, a few line items) and a GET with a query,
 * built here.  It loads the corpus (timed), then calls mut_next() MUTANTS
 * times (default 2,000,000) into one reused buffer and prints mutants/s,
 * MB/s of mutant bytes and the mean mutant size; then the same for
 * mut_mutate_buf() on the first entry with a 64 KiB cap, as libFuzzer's
 * custom mutator calls it.  -f sets MUT_NO_FRAMING.  A checksum of all
 * mutants is printed so the work cannot be optimised away and two runs
 * can be compared for determinism.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "mutate.h"

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A POST with a JSON body of about 1 KiB. */
static void
make_post(struct buf *b)
{
	struct buf	body;
	int		i;

	buf_init(&body);
	buf_append_str(&body, "{\"order_id\":\"ord-2026-11-26-000042\","
	    "\"customer\":{\"id\":1729,\"name\":\"Ada Lovelace\","
	    "\"email\":\"ada@example.com\",\"vip\":true,"
	    "\"address\":{\"street\":\"12 Analytical Engine Way\","
	    "\"city\":\"London\",\"zip\":\"N1 9GU\",\"country\":\"GB\"}},"
	    "\"items\":[");
	for (i = 0; i < 6; i++)
		buf_printf(&body, "%s{\"sku\":\"SKU-%04d\",\"quantity\":%d,"
		    "\"unit_price\":%d.%02d,\"currency\":\"EUR\","
		    "\"gift\":%s,\"note\":null}", i ? "," : "", 1000 + i,
		    i + 1, 10 + i * 3, i * 7 % 100, i % 2 ? "true" : "false");
	buf_append_str(&body, "],\"coupon\":\"WELCOME10\","
	    "\"shipping\":{\"method\":\"express\",\"cost\":4.99},"
	    "\"comment\":\"Please leave the parcel with the neighbour if I am "
	    "not at home; the bell is broken.\",\"total\":123.45}");
	buf_printf(b, "POST /api/v2/orders?source=web&ab=7 HTTP/1.1\r\n"
	    "Host: shop.example\r\n"
	    "User-Agent: decoy-bench/1\r\n"
	    "Accept: application/json\r\n"
	    "Content-Type: application/json\r\n"
	    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig\r\n"
	    "X-Request-Id: 5f0c6a2e-8a1b-4a43-9f8e-0d9c1c3a7b11\r\n"
	    "Content-Length: %zu\r\n\r\n", body.len);
	buf_append(b, body.data, body.len);
	buf_free(&body);
}

int
main(int argc, char **argv)
{
	struct mut_corpus	*c;
	struct mut_engine	*e;
	struct buf		 out, req;
	struct mut_info		 info;
	char			*cause = NULL, *end;
	unsigned long long	 n = 2000000, i, bytes = 0;
	uint64_t		 seed = 1, sum = 0;
	unsigned		 flags = 0;
	double			 t0, t1, tload;
	const char		*raw;
	uint8_t			*data;
	size_t			 len, cap = 65536, k;
	int			 ch;

	while ((ch = getopt(argc, argv, "n:s:f")) != -1) {
		switch (ch) {
		case 'n':
			n = strtoull(optarg, &end, 10);
			if (*end != '\0' || n == 0) {
				fprintf(stderr, "bad -n %s\n", optarg);
				return 2;
			}
			break;
		case 's':
			seed = strtoull(optarg, &end, 10);
			if (*end != '\0') {
				fprintf(stderr, "bad -s %s\n", optarg);
				return 2;
			}
			break;
		case 'f':
			flags |= MUT_NO_FRAMING;
			break;
		default:
			fprintf(stderr, "usage: mutate [-n N] [-s SEED] [-f] "
			    "[CORPUS_DIR]\n");
			return 2;
		}
	}
	argc -= optind;
	argv += optind;

	buf_init(&out);
	buf_init(&req);
	c = mut_corpus_create();
	t0 = now();
	if (argc > 0) {
		if (mut_corpus_load_dir(c, argv[0], &cause) == -1) {
			fprintf(stderr, "%s\n", cause);
			free(cause);
			return 2;
		}
	} else {
		make_post(&req);
		if (mut_corpus_add(c, req.data, req.len, &cause) == -1) {
			fprintf(stderr, "built-in request: %s\n", cause);
			return 1;
		}
		raw = "GET /api/v2/orders/ord-2026-11-26-000042?expand=items&"
		    "fields=total,items HTTP/1.1\r\nHost: shop.example\r\n"
		    "Accept: application/json\r\nCookie: session=s3cr3t\r\n\r\n";
		if (mut_corpus_add(c, raw, strlen(raw), &cause) == -1) {
			fprintf(stderr, "built-in request: %s\n", cause);
			return 1;
		}
	}
	tload = now() - t0;
	mut_corpus_entry(c, 0, &len);
	printf("corpus: %zu entries (first %zu bytes), loaded in %.3f ms\n",
	    mut_corpus_count(c), len, tload * 1e3);

	e = mut_engine_create(c, seed, flags);
	t0 = now();
	for (i = 0; i < n; i++) {
		mut_next(e, &out, &info);
		bytes += out.len;
		sum = sum * 31 + out.len + (out.len > 0 ?
		    (unsigned char)out.data[out.len / 2] : 0);
	}
	t1 = now() - t0;
	printf("mut_next: %llu mutants in %.3f s: %.0f mutants/s, "
	    "%.1f MB/s, mean %.0f bytes (checksum %016llx)\n", n, t1,
	    (double)n / t1, (double)bytes / t1 / 1e6,
	    (double)bytes / (double)n, (unsigned long long)sum);

	/* The custom-mutator path: parse + mutate an arbitrary buffer. */
	raw = mut_corpus_entry(c, 0, &len);
	data = malloc(cap);
	if (data == NULL)
		return 1;
	bytes = 0;
	n = n / 10 > 0 ? n / 10 : 1;
	t0 = now();
	for (i = 0; i < n; i++) {
		k = len < cap ? len : cap;
		memcpy(data, raw, k);
		k = mut_mutate_buf(e, data, k, cap, i);
		bytes += k;
	}
	t1 = now() - t0;
	printf("mut_mutate_buf: %llu calls in %.3f s: %.0f calls/s, "
	    "%.1f MB/s\n", n, t1, (double)n / t1, (double)bytes / t1 / 1e6);

	free(data);
	mut_engine_free(e);
	mut_corpus_free(c);
	buf_free(&out);
	buf_free(&req);
	return 0;
}
