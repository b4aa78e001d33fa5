/*
 * bench/funnel-decide.c -- what one funnel_decide() costs, per rule set,
 * on one core.
 *
 * Usage: bench/funnel-decide [-n DECISIONS] [-r ROUNDS]
 *
 * Builds 4096 transactions like an API's traffic (40 endpoints with
 * numeric ids, a JWT in Authorization whose exp changes, a JSON body of
 * about 200 bytes with a timestamp and a UUID nonce; one in four alike
 * but for those), then for each rule set makes a funnel and offers it
 * DECISIONS transactions (default 2,000,000, cycling, the n-th starting
 * n * 10 ms after the first), ROUNDS times (default 3), and prints the median ns per decision
 * and how many were kept.  The kept counts are the same every run: a
 * difference is a bug.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "funnel.h"
#include "snap.h"
#include "xmalloc.h"

#define NTX	4096

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Transaction i: its strings in one buffer each, never freed. */
static void
make_txn(struct snap_txn *t, int i, int64_t t0)
{
	struct snap_header	*h = xcalloc(3, sizeof *h);
	struct buf		 b, tok;
	int64_t			 s = t0 / 1000000 + i / 100;
	int			 ep = i % 40, acct = i % 4 ? i % 4 : i;

	snap_txn_init(t);
	buf_init(&b);
	buf_init(&tok);
	buf_append_str(&tok, "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.");
	buf_init(&b);
	buf_printf(&b, "{\"sub\":\"u-%d\",\"exp\":%lld}", i % 97,
	    (long long)s + 3600);
	base64_encode(&tok, b.data, b.len);
	buf_append_str(&tok, ".c2lnbmF0dXJlLW9mLXRoZS10b2tlbi0xMjM0NTY3OA");
	t->req.method = xstrdup(ep % 3 ? "POST" : "GET");
	t->req.target = xasprintf("/v1/r%d/%d/items?page=%d", ep, i % 1000,
	    i % 5);
	h[0].name = xstrdup("Host");
	h[0].value = xasprintf("api%d.example", ep % 3);
	h[1].name = xstrdup("Authorization");
	h[1].value = buf_detach(&tok, NULL);
	h[2].name = xstrdup("Content-Type");
	h[2].value = xstrdup("application/json");
	t->req.headers = h;
	t->req.nheaders = 3;
	buf_reset(&b);
	buf_printf(&b, "{\"account\":\"acct-%d\",\"qty\":%d,\"at\":"
	    "\"2025-11-26T05:%02d:%02d.%03dZ\",\"nonce\":\"%08x-1c9e-4f7a-"
	    "9c53-%012x\",\"note\":\"deliver to the back door, ring twice\","
	    "\"items\":[1,2,3]}", acct, ep, (i / 60) % 60, i % 60, i % 1000,
	    (unsigned)i * 2654435761u, (unsigned)i * 40503u);
	t->req.body_len = b.len;
	t->req.body = buf_detach(&b, NULL);
	t->has_res = 1;
	t->res.status = i % 11 ? 200 : 503;
	t->start_us = t0;
}

static const char *const sets[][16] = {
	{ "none", NULL },
	{ "filters", "exclude-host", "^api2", "include-path", "^/v1/",
	  "method", "GET,POST", "status", "2xx", NULL },
	{ "sample 0.5", "sample", "0.5", NULL },
	{ "cap 10/1m", "cap", "10/1m", NULL },
	{ "dedup 1", "dedup", "1", NULL },
	{ "all", "exclude-host", "^api2", "include-path", "^/v1/",
	  "status", "2xx", "sample", "0.5", "dedup", "1", "cap", "10/1m",
	  NULL },
};

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One round of a set: ns per decision; *kept the count kept. */
static double
round_of(const char *const *set, struct snap_txn *txs, unsigned long n,
    int64_t t_start, unsigned long long *kept)
{
	struct funnel_config	 cfg = { 0 };
	struct funnel		*f;
	char			*cause = NULL;
	unsigned long		 i;
	double			 t0, t1;
	int			 k, o;

	for (k = 1; set[k] != NULL; k += 2) {
		for (o = 0; o < FUNNEL_NOPTS; o++)
			if (strcmp(funnel_opt_name((enum funnel_opt)o),
			    set[k]) == 0)
				break;
		if (funnel_config_set(&cfg, (enum funnel_opt)o, set[k + 1],
		    &cause) == -1) {
			fprintf(stderr, "--%s %s: %s\n", set[k], set[k + 1],
			    cause);
			exit(2);
		}
	}
	if ((f = funnel_create(&cfg, &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		exit(2);
	}
	funnel_config_free(&cfg);
	t0 = now();
	for (i = 0; i < n; i++) {
		txs[i % NTX].start_us = t_start + (int64_t)i * 10000;
		(void)funnel_decide(f, &txs[i % NTX]);
	}
	t1 = now();
	*kept = funnel_stats(f)->n[FUNNEL_KEPT];
	funnel_free(f);
	return (t1 - t0) * 1e9 / (double)n;
}

int
main(int argc, char **argv)
{
	struct snap_txn		*txs;
	unsigned long		 n = 2000000, i;
	unsigned long long	 kept = 0, kept1 = 0;
	double			 ns[16];
	char			*end;
	int			 rounds = 3, ch, r;
	size_t			 s;
	int64_t			 t0 = 1764133260000000LL;

	while ((ch = getopt(argc, argv, "n:r:")) != -1) {
		switch (ch) {
		case 'n':
			n = strtoul(optarg, &end, 10);
			if (*end != '\0' || n == 0)
				return 2;
			break;
		case 'r':
			rounds = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || rounds < 1 || rounds > 16)
				return 2;
			break;
		default:
			fprintf(stderr, "usage: funnel-decide [-n N] "
			    "[-r ROUNDS]\n");
			return 2;
		}
	}
	txs = xcalloc(NTX, sizeof *txs);
	for (s = 0; s < sizeof sets / sizeof sets[0]; s++) {
		for (r = 0; r < rounds; r++) {
			for (i = 0; r == 0 && s == 0 && i < NTX; i++)
				make_txn(&txs[i], (int)i, t0);
			ns[r] = round_of(sets[s], txs, n, t0, &kept);
			if (r == 0)
				kept1 = kept;
			else if (kept != kept1) {
				fprintf(stderr, "%s: kept %llu then %llu\n",
				    sets[s][0], kept1, kept);
				return 1;
			}
		}
		qsort(ns, (size_t)rounds, sizeof ns[0], cmp_double);
		printf("%-12s %8.1f ns/decision (median of %d), kept %llu of "
		    "%lu\n", sets[s][0], ns[rounds / 2], rounds, kept, n);
	}
	for (i = 0; i < NTX; i++)
		snap_txn_free(&txs[i]);
	free(txs);
	return 0;
}
