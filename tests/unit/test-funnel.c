/*
 * test-funnel.c -- the capture funnel: option parsing and its errors,
 * each filter (host, method, path, status), sampling (reproducible,
 * per endpoint, whatever the interleaving), the cap per endpoint and
 * window, de-duplication with volatile values masked (a JWT's exp, a
 * timestamp, a UUID nonce are the same request; an account id is not),
 * rules combined, and the counters (every transaction kept or counted
 * under one reason).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "funnel.h"
#include "unit.h"

#define T0	1765130074000000LL	/* 2025-12-07T17:54:34Z */
#define MIN	60000000LL

/* Two JWTs alike but for the payload's exp (and the signature). */
#define JWT1	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhY2N0LTEwMD" \
		"EiLCJleHAiOjE3NjUxMzAwNzR9.AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYG" \
		"RobHB0eHyA"
#define JWT2	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhY2N0LTEwMD" \
		"EiLCJleHAiOjE3NjUxMzM2NzR9.AwQFBgcICQoLDA0ODxAREhMUFRYXGBkaG" \
		"xwdHh8gISI"

/* A transaction of static strings (never freed). */
struct ttx {
	struct snap_txn		t;
	struct snap_header	h[4];
};

static struct snap_txn *
tx(struct ttx *x, const char *method, const char *target, const char *host,
    int status, int64_t start_us, const char *body)
{
	memset(x, 0, sizeof *x);
	snap_txn_init(&x->t);
	x->t.req.method = (char *)method;
	x->t.req.target = (char *)target;
	x->t.req.headers = x->h;
	if (host != NULL) {
		x->h[0].name = (char *)"Host";
		x->h[0].value = (char *)host;
		x->t.req.nheaders = 1;
	}
	if (body != NULL) {
		x->t.req.body = (char *)body;
		x->t.req.body_len = strlen(body);
	}
	x->t.has_res = status != 0;
	x->t.res.status = status;
	x->t.start_us = start_us;
	return &x->t;
}

static void
hdr(struct ttx *x, const char *name, const char *value)
{
	x->h[x->t.req.nheaders].name = (char *)name;
	x->h[x->t.req.nheaders].value = (char *)value;
	x->t.req.nheaders++;
}

/* A funnel from options given as "name", "value", ..., NULL. */
static struct funnel *
mk(const char *first, ...)
{
	struct funnel_config	 cfg = { 0 };
	struct funnel		*f;
	const char		*name, *val;
	char			*cause = NULL;
	va_list			 ap;
	int			 i;

	va_start(ap, first);
	for (name = first; name != NULL; name = va_arg(ap, const char *)) {
		val = va_arg(ap, const char *);
		for (i = 0; i < FUNNEL_NOPTS; i++)
			if (strcmp(funnel_opt_name((enum funnel_opt)i),
			    name) == 0)
				break;
		if (funnel_config_set(&cfg, (enum funnel_opt)i, val,
		    &cause) == -1) {
			UNIT_FAIL("--%s %s: %s", name, val, cause);
			free(cause);
			cause = NULL;
		}
	}
	va_end(ap);
	f = funnel_create(&cfg, &cause);
	ASSERT(f != NULL);
	funnel_config_free(&cfg);
	return f;
}

/* The reason of one transaction. */
static enum funnel_reason
one(struct funnel *f, const char *method, const char *target,
    const char *host, int status)
{
	struct ttx	x;

	return funnel_decide(f, tx(&x, method, target, host, status, T0,
	    NULL));
}

/* Every transaction is kept or counted once. */
static void
check_sum(struct funnel *f)
{
	const struct funnel_stats	*st = funnel_stats(f);
	uint64_t			 sum = 0;
	int				 r;

	for (r = 0; r < FUNNEL_NREASONS; r++)
		sum += st->n[r];
	ASSERT_EQ(sum, st->seen);
}

/* Arguments each option refuses, and the start of the message. */
static const struct {
	enum funnel_opt	 which;
	const char	*arg;
	const char	*msg;
} bad[] = {
	{ FUNNEL_OPT_STATUS, "5xx,6xx", "expected statuses like 5xx, "
	  "200-299, 404 or none, got \"6xx\"" },
	{ FUNNEL_OPT_STATUS, "299-200", "expected statuses" },
	{ FUNNEL_OPT_STATUS, "20", "expected statuses" },
	{ FUNNEL_OPT_STATUS, "200,", "expected statuses" },
	{ FUNNEL_OPT_STATUS, "2xxx", "expected statuses" },
	{ FUNNEL_OPT_SAMPLE, "1.5", "expected a fraction like 0.1 or 10%, "
	  "got \"1.5\"" },
	{ FUNNEL_OPT_SAMPLE, "nan", "expected a fraction" },
	{ FUNNEL_OPT_SAMPLE, "-0.1", "expected a fraction" },
	{ FUNNEL_OPT_SAMPLE, "101%", "expected a fraction" },
	{ FUNNEL_OPT_SAMPLE, ".", "expected a fraction" },
	{ FUNNEL_OPT_CAP, "10", "expected N/WINDOW like 10/1m" },
	{ FUNNEL_OPT_CAP, "0/1m", "expected N/WINDOW" },
	{ FUNNEL_OPT_CAP, "10/1", "expected N/WINDOW" },
	{ FUNNEL_OPT_CAP, "10/1us", "expected N/WINDOW" },
	{ FUNNEL_OPT_CAP, "/1m", "expected N/WINDOW" },
	{ FUNNEL_OPT_DEDUP, "0", "expected a count of 1 or more, got \"0\"" },
	{ FUNNEL_OPT_DEDUP, "-1", "expected a count" },
	{ FUNNEL_OPT_METHOD, "GET,,PUT", "expected methods like GET,POST, "
	  "got \"\"" },
	{ FUNNEL_OPT_METHOD, "GE T", "expected methods" },
	{ FUNNEL_OPT_EXCLUDE_HOST, "(a", "bad regular expression \"(a\" at "
	  "offset 2: " },
	{ FUNNEL_OPT_INCLUDE_PATH, "[", "bad regular expression" },
	{ FUNNEL_OPT_SEED, "x", "expected an unsigned integer" },
};

static void
test_options(void)
{
	struct funnel_config	 cfg = { 0 }, before;
	char			*cause = NULL;
	size_t			 i;

	ASSERT_EQ(funnel_config_is_set(&cfg), 0);
	ASSERT_EQ(funnel_config_set(&cfg, FUNNEL_OPT_STATUS, "5xx,200-299",
	    &cause), 0);
	ASSERT_EQ(funnel_config_set(&cfg, FUNNEL_OPT_STATUS, "404", &cause),
	    0);
	ASSERT_EQ(funnel_config_set(&cfg, FUNNEL_OPT_STATUS, "none", &cause),
	    0);
	ASSERT_EQ(cfg.nstatus, 4);
	ASSERT_EQ(cfg.status[0].lo, 500);
	ASSERT_EQ(cfg.status[0].hi, 599);
	ASSERT_EQ(cfg.status[1].lo, 200);
	ASSERT_EQ(cfg.status[1].hi, 299);
	ASSERT_EQ(cfg.status[2].lo, 404);
	ASSERT_EQ(cfg.status[3].hi, 0);
	ASSERT_EQ(funnel_config_is_set(&cfg), 1);
	ASSERT_EQ(funnel_config_set(&cfg, FUNNEL_OPT_SAMPLE, "25%", &cause),
	    0);
	ASSERT(cfg.sampling && cfg.sample == 0.25);
	ASSERT_EQ(funnel_config_set(&cfg, FUNNEL_OPT_SAMPLE, "0.5", &cause),
	    0);
	ASSERT(cfg.sample == 0.5);
	ASSERT_EQ(funnel_config_set(&cfg, FUNNEL_OPT_CAP, "10/1m", &cause),
	    0);
	ASSERT_EQ(cfg.cap, 10);
	ASSERT_EQ(cfg.cap_window_us, MIN);
	ASSERT_EQ(funnel_config_set(&cfg, FUNNEL_OPT_CAP, "5/s", &cause), 0);
	ASSERT_EQ(cfg.cap, 5);
	ASSERT_EQ(cfg.cap_window_us, 1000000);
	ASSERT_EQ(funnel_config_set(&cfg, FUNNEL_OPT_DEDUP, "3", &cause), 0);
	ASSERT_EQ(cfg.dedup, 3);
	ASSERT_EQ(funnel_config_set(&cfg, FUNNEL_OPT_SEED, "42", &cause), 0);
	ASSERT_EQ(cfg.seed, 42);
	ASSERT_EQ(funnel_config_set(&cfg, FUNNEL_OPT_METHOD, "GET,post",
	    &cause), 0);
	ASSERT_EQ(cfg.nlist[FUNNEL_OPT_METHOD], 2);
	ASSERT_STR_EQ(cfg.list[FUNNEL_OPT_METHOD][1], "post");
	ASSERT_EQ(funnel_config_set(&cfg, FUNNEL_OPT_INCLUDE_PATH, "^/api/",
	    &cause), 0);
	ASSERT_EQ(cfg.nlist[FUNNEL_OPT_INCLUDE_PATH], 1);

	/* Errors say what was expected and leave cfg as it was. */
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memcpy(&before, &cfg, sizeof before);
		cause = NULL;
		ASSERT_EQ(funnel_config_set(&cfg, bad[i].which, bad[i].arg,
		    &cause), -1);
		ASSERT(cause != NULL);
		if (cause != NULL && strncmp(cause, bad[i].msg,
		    strlen(bad[i].msg)) != 0)
			UNIT_FAIL("--%s %s: expected \"%s...\", got \"%s\"",
			    funnel_opt_name(bad[i].which), bad[i].arg,
			    bad[i].msg, cause);
		ASSERT(memcmp(&before, &cfg, sizeof before) == 0);
		free(cause);
	}
	funnel_config_free(&cfg);
	ASSERT_EQ(funnel_config_is_set(&cfg), 0);
	ASSERT_STR_EQ(funnel_opt_name(FUNNEL_OPT_INCLUDE_HOST),
	    "include-host");
	ASSERT_STR_EQ(funnel_reason_name(FUNNEL_DUPLICATE), "duplicate");
}

static void
test_host(void)
{
	struct funnel	*f;
	struct ttx	 x;

	f = mk("include-host", "example\\.com$", "include-host", "^billing",
	    "exclude-host", "^admin\\.", NULL);
	ASSERT_EQ(one(f, "GET", "/a", "api.example.com", 200), FUNNEL_KEPT);
	ASSERT_EQ(one(f, "GET", "/a", "billing:8080", 200), FUNNEL_KEPT);
	ASSERT_EQ(one(f, "GET", "/a", "admin.example.com", 200), FUNNEL_HOST);
	ASSERT_EQ(one(f, "GET", "/a", "other.org", 200), FUNNEL_HOST);
	/* An absolute-form target's authority, without a Host header. */
	ASSERT_EQ(one(f, "GET", "http://api.example.com/a?x=1", NULL, 200),
	    FUNNEL_KEPT);
	ASSERT_EQ(one(f, "GET", "HTTPS://other.org/a", NULL, 200),
	    FUNNEL_HOST);
	/* The recorded host first, then the server address. */
	tx(&x, "GET", "/a", "other.org", 200, T0, NULL);
	x.t.req.host = (char *)"api.example.com";
	ASSERT_EQ(funnel_decide(f, &x.t), FUNNEL_KEPT);
	tx(&x, "GET", "/a", NULL, 200, T0, NULL);
	x.t.server = (char *)"billing:443";
	ASSERT_EQ(funnel_decide(f, &x.t), FUNNEL_KEPT);
	ASSERT_EQ(funnel_stats(f)->n[FUNNEL_HOST], 3);
	ASSERT_EQ(funnel_stats(f)->n[FUNNEL_KEPT], 5);
	check_sum(f);
	funnel_free(f);
}

static void
test_method_path_status(void)
{
	struct funnel	*f;

	f = mk("method", "GET", "method", "post", NULL);
	ASSERT_EQ(one(f, "GET", "/", "h", 200), FUNNEL_KEPT);
	ASSERT_EQ(one(f, "POST", "/", "h", 200), FUNNEL_KEPT);
	ASSERT_EQ(one(f, "DELETE", "/", "h", 200), FUNNEL_METHOD);
	funnel_free(f);

	/* The path alone: not the query, not the authority. */
	f = mk("include-path", "^/api/", "exclude-path", "/health$",
	    "exclude-path", "\\.css$", NULL);
	ASSERT_EQ(one(f, "GET", "/api/orders?x=/health", "h", 200),
	    FUNNEL_KEPT);
	ASSERT_EQ(one(f, "GET", "/api/health", "h", 200), FUNNEL_PATH);
	ASSERT_EQ(one(f, "GET", "/api/s.css?v=1", "h", 200), FUNNEL_PATH);
	ASSERT_EQ(one(f, "GET", "/static/x.js", "h", 200), FUNNEL_PATH);
	ASSERT_EQ(one(f, "GET", "http://h/api/x", NULL, 200), FUNNEL_KEPT);
	ASSERT_EQ(one(f, "GET", "http://h", NULL, 200), FUNNEL_PATH);
	ASSERT_EQ(one(f, "GET", "/?/api/", "h", 200), FUNNEL_PATH);
	funnel_free(f);

	f = mk("status", "5xx,404", "status", "none", NULL);
	ASSERT_EQ(one(f, "GET", "/", "h", 503), FUNNEL_KEPT);
	ASSERT_EQ(one(f, "GET", "/", "h", 500), FUNNEL_KEPT);
	ASSERT_EQ(one(f, "GET", "/", "h", 599), FUNNEL_KEPT);
	ASSERT_EQ(one(f, "GET", "/", "h", 404), FUNNEL_KEPT);
	ASSERT_EQ(one(f, "GET", "/", "h", 0), FUNNEL_KEPT);	/* no res */
	ASSERT_EQ(one(f, "GET", "/", "h", 200), FUNNEL_STATUS);
	ASSERT_EQ(one(f, "GET", "/", "h", 405), FUNNEL_STATUS);
	funnel_free(f);
	f = mk("status", "200-299", NULL);
	ASSERT_EQ(one(f, "GET", "/", "h", 200), FUNNEL_KEPT);
	ASSERT_EQ(one(f, "GET", "/", "h", 299), FUNNEL_KEPT);
	ASSERT_EQ(one(f, "GET", "/", "h", 300), FUNNEL_STATUS);
	ASSERT_EQ(one(f, "GET", "/", "h", 0), FUNNEL_STATUS);
	funnel_free(f);

	/* The first rule that drops names the reason. */
	f = mk("include-host", "^api$", "method", "GET", "include-path",
	    "^/v1/", "status", "2xx", NULL);
	ASSERT_EQ(one(f, "PUT", "/v2/", "web", 500), FUNNEL_HOST);
	ASSERT_EQ(one(f, "PUT", "/v2/", "api", 500), FUNNEL_METHOD);
	ASSERT_EQ(one(f, "GET", "/v2/", "api", 500), FUNNEL_PATH);
	ASSERT_EQ(one(f, "GET", "/v1/", "api", 500), FUNNEL_STATUS);
	ASSERT_EQ(one(f, "GET", "/v1/", "api", 201), FUNNEL_KEPT);
	check_sum(f);
	funnel_free(f);
}

/* Which of n transactions of "/e/<k>" an endpoint sampler keeps, as a
 * bit string; interleave adds another endpoint's between them. */
static void
sample_run(const char *seed, const char *frac, int interleave, char *bits,
    int n)
{
	struct funnel	*f;
	int		 i;

	f = mk("sample", frac, "seed", seed, NULL);
	for (i = 0; i < n; i++) {
		if (interleave && i % 3 == 0)
			(void)one(f, "GET", "/other", "h", 200);
		bits[i] = one(f, "GET", i % 2 ? "/e/1" : "/e/2", "h", 200) ==
		    FUNNEL_KEPT ? '1' : '0';
	}
	bits[n] = '\0';
	check_sum(f);
	funnel_free(f);
}

static void
test_sample(void)
{
	char	a[1001], b[1001], c[1001];
	int	i, kept = 0;

	sample_run("7", "0.3", 0, a, 1000);
	sample_run("7", "0.3", 1, b, 1000);
	sample_run("8", "0.3", 0, c, 1000);
	ASSERT_STR_EQ(a, b);		/* other endpoints change nothing */
	ASSERT(strcmp(a, c) != 0);	/* another seed, another sample */
	for (i = 0; i < 1000; i++)
		kept += a[i] == '1';
	ASSERT(kept > 240 && kept < 360);
	sample_run("7", "0", 0, a, 100);
	ASSERT(strchr(a, '1') == NULL);
	sample_run("7", "100%", 0, a, 100);
	ASSERT(strchr(a, '0') == NULL);
}

static void
test_cap(void)
{
	struct funnel	*f;
	struct ttx	 x;
	int		 i, kept = 0;

	f = mk("cap", "2/1m", NULL);
	/* One endpoint: /orders/{n}, whatever the id. */
	for (i = 0; i < 5; i++)
		kept += funnel_decide(f, tx(&x, "GET", i % 2 ? "/orders/17" :
		    "/orders/42", "h", 200, T0 + i, NULL)) == FUNNEL_KEPT;
	ASSERT_EQ(kept, 2);
	ASSERT_EQ(funnel_stats(f)->n[FUNNEL_CAPPED], 3);
	/* Another method or route is another endpoint. */
	ASSERT_EQ(funnel_decide(f, tx(&x, "POST", "/orders/1", "h", 200, T0,
	    NULL)), FUNNEL_KEPT);
	ASSERT_EQ(funnel_decide(f, tx(&x, "GET", "/items/1", "h", 200, T0,
	    NULL)), FUNNEL_KEPT);
	/* The next minute (T0 is 34 s into its minute) opens a window; a
	 * late transaction of the old one counts in the new. */
	ASSERT_EQ(funnel_decide(f, tx(&x, "GET", "/orders/9", "h", 200,
	    T0 + 26 * 1000000LL, NULL)), FUNNEL_KEPT);
	ASSERT_EQ(funnel_decide(f, tx(&x, "GET", "/orders/9", "h", 200,
	    T0 + 1, NULL)), FUNNEL_KEPT);
	ASSERT_EQ(funnel_decide(f, tx(&x, "GET", "/orders/9", "h", 200,
	    T0 + 30 * 1000000LL, NULL)), FUNNEL_CAPPED);
	ASSERT_EQ(funnel_decide(f, tx(&x, "GET", "/orders/9", "h", 200,
	    T0 + 2 * MIN, NULL)), FUNNEL_KEPT);
	/* Without timing: one window of their own. */
	ASSERT_EQ(funnel_decide(f, tx(&x, "GET", "/t", "h", 200, -1, NULL)),
	    FUNNEL_KEPT);
	ASSERT_EQ(funnel_decide(f, tx(&x, "GET", "/t", "h", 200, -1, NULL)),
	    FUNNEL_KEPT);
	ASSERT_EQ(funnel_decide(f, tx(&x, "GET", "/t", "h", 200, -1, NULL)),
	    FUNNEL_CAPPED);
	check_sum(f);
	funnel_free(f);
}

/* 1 when a and b (built by the callers) have the same signature. */
static int
same_sig(struct funnel *f, const struct snap_txn *a, const struct snap_txn *b)
{
	uint64_t	sa[2], sb[2], ea[2], eb[2];

	funnel_signature(f, a, sa, ea);
	funnel_signature(f, b, sb, eb);
	return sa[0] == sb[0] && sa[1] == sb[1];
}

static void
test_signature(void)
{
	struct funnel	*f = mk("dedup", "1", NULL);
	struct ttx	 a, b;

	/* A JWT whose exp differs, in Authorization. */
	tx(&a, "GET", "/accounts/7", "h", 200, T0, NULL);
	hdr(&a, "Authorization", "Bearer " JWT1);
	tx(&b, "GET", "/accounts/7", "h", 200, T0 + 5, NULL);
	hdr(&b, "authorization", "Bearer " JWT2);
	ASSERT(same_sig(f, &a.t, &b.t));
	/* ... in a JSON body; a timestamp and a UUID nonce too. */
	tx(&a, "POST", "/pay", "h", 200, T0, "{\"account\":\"acct-1001\","
	    "\"token\":\"" JWT1 "\",\"at\":\"2025-12-07T17:54:34.120Z\","
	    "\"nonce\":\"6f1c1c9e-2f7a-4c53-9a57-0b1d2c3e4f50\","
	    "\"ts\":1765130074}");
	tx(&b, "POST", "/pay", "h", 200, T0, "{\"account\":\"acct-1001\","
	    "\"token\":\"" JWT2 "\",\"at\":\"2025-12-07T17:55:01.004Z\","
	    "\"nonce\":\"0d4c6c3a-7b1e-4e2f-8a9b-5c6d7e8f9a0b\","
	    "\"ts\":1765130101}");
	ASSERT(same_sig(f, &a.t, &b.t));
	/* ... but not an account id. */
	tx(&b, "POST", "/pay", "h", 200, T0, "{\"account\":\"acct-1002\","
	    "\"token\":\"" JWT2 "\",\"at\":\"2025-12-07T17:55:01.004Z\","
	    "\"nonce\":\"0d4c6c3a-7b1e-4e2f-8a9b-5c6d7e8f9a0b\","
	    "\"ts\":1765130101}");
	ASSERT(!same_sig(f, &a.t, &b.t));
	/* A numeric account id is not a timestamp (not near the
	 * transaction's time), so it counts. */
	tx(&a, "POST", "/pay", "h", 200, T0, "{\"account\":1234567890}");
	tx(&b, "POST", "/pay", "h", 200, T0, "{\"account\":1234567891}");
	ASSERT(!same_sig(f, &a.t, &b.t));
	/* The query, percent-encoded timestamp and ULID; not a quantity. */
	tx(&a, "GET", "/q?since=2025-12-07T17%3A54%3A34Z&req="
	    "01JEH5Q3VZ8K2M4N6P7R9S0T1V&qty=2", "h", 200, T0, NULL);
	tx(&b, "GET", "/q?since=2025-12-07T18%3A00%3A00Z&req="
	    "01JEH5R0000000000000000000&qty=2", "h", 200, T0, NULL);
	ASSERT(same_sig(f, &a.t, &b.t));
	tx(&b, "GET", "/q?since=2025-12-07T18%3A00%3A00Z&req="
	    "01JEH5R0000000000000000000&qty=3", "h", 200, T0, NULL);
	ASSERT(!same_sig(f, &a.t, &b.t));
	/* Path ids go through the route template; other headers, the
	 * host and the response do not count; Content-Type does. */
	tx(&a, "GET", "/orders/17", "a", 200, T0, "x");
	hdr(&a, "User-Agent", "curl/8");
	tx(&b, "GET", "/orders/18", "b", 500, T0, "x");
	hdr(&b, "User-Agent", "curl/7");
	ASSERT(same_sig(f, &a.t, &b.t));
	hdr(&b, "Content-Type", "text/plain");
	ASSERT(!same_sig(f, &a.t, &b.t));
	/* The method does. */
	tx(&b, "PUT", "/orders/18", "b", 500, T0, "x");
	ASSERT(!same_sig(f, &a.t, &b.t));
	funnel_free(f);
}

static void
test_dedup(void)
{
	struct funnel	*f;
	struct ttx	 x;
	int		 i;

	f = mk("dedup", "2", NULL);
	for (i = 0; i < 4; i++) {
		tx(&x, "GET", "/me", "h", 200, T0 + i, NULL);
		hdr(&x, "Authorization", i % 2 ? "Bearer " JWT1 :
		    "Bearer " JWT2);
		ASSERT_EQ(funnel_decide(f, &x.t), i < 2 ? FUNNEL_KEPT :
		    FUNNEL_DUPLICATE);
	}
	tx(&x, "GET", "/me", "h", 200, T0, NULL);	/* no credentials */
	ASSERT_EQ(funnel_decide(f, &x.t), FUNNEL_KEPT);
	ASSERT_EQ(funnel_stats(f)->n[FUNNEL_DUPLICATE], 2);
	check_sum(f);
	funnel_free(f);

	/* A capped transaction does not use up its signature's quota. */
	f = mk("dedup", "1", "cap", "1/1m", NULL);
	ASSERT_EQ(funnel_decide(f, tx(&x, "GET", "/a/1", "h", 200, T0,
	    "one")), FUNNEL_KEPT);
	ASSERT_EQ(funnel_decide(f, tx(&x, "GET", "/a/2", "h", 200, T0,
	    "two")), FUNNEL_CAPPED);
	ASSERT_EQ(funnel_decide(f, tx(&x, "GET", "/a/3", "h", 200, T0,
	    "one")), FUNNEL_DUPLICATE);
	ASSERT_EQ(funnel_decide(f, tx(&x, "GET", "/a/2", "h", 200, T0 + MIN,
	    "two")), FUNNEL_KEPT);
	check_sum(f);
	funnel_free(f);
}

static void
test_combined(void)
{
	struct funnel	*f;
	struct ttx	 x;
	struct buf	 b;
	int		 i;

	f = mk("exclude-path", "^/health", "status", "2xx", "dedup", "1",
	    "cap", "2/1m", NULL);
	for (i = 0; i < 20; i++) {
		tx(&x, "GET", i % 5 == 0 ? "/health" : "/users/1", "h",
		    i % 7 == 0 ? 500 : 200, T0, NULL);
		if (i % 2)
			x.t.req.target = (char *)(i % 3 ? "/users/2?page=1" :
			    "/users/3?page=2");
		(void)funnel_decide(f, &x.t);
	}
	check_sum(f);
	/* 0 and 10 are /health (0 is also a 500), 7 and 14 are 500s;
	 * then three signatures of one endpoint: /users/1 (the other even
	 * ones), page=1 (1, 5, 11 ...) and page=2 (3, 9, 15).  1 and 2 are
	 * kept, 3, 9 and 15 capped (their quota unused), the rest
	 * duplicates. */
	buf_init(&b);
	funnel_stats_json(&b, funnel_stats(f));
	buf_append_byte(&b, '\0');
	ASSERT_STR_EQ(b.data, "{\"seen\":20,\"kept\":2,\"filtered\":{"
	    "\"host\":0,\"method\":0,\"path\":2,\"status\":2},\"sampled\":0,"
	    "\"duplicate\":11,\"capped\":3}");
	buf_reset(&b);
	funnel_stats_text(&b, funnel_stats(f));
	buf_append_byte(&b, '\0');
	ASSERT_STR_EQ(b.data, "20 seen, 2 kept, 18 dropped (2 path, "
	    "2 status, 11 duplicate, 3 capped)");
	buf_free(&b);
	funnel_free(f);

	/* No rules: everything kept, nothing to say. */
	f = mk(NULL);
	ASSERT_EQ(one(f, "GET", "/", "h", 200), FUNNEL_KEPT);
	buf_init(&b);
	funnel_stats_text(&b, funnel_stats(f));
	buf_append_byte(&b, '\0');
	ASSERT_STR_EQ(b.data, "1 seen, 1 kept, 0 dropped");
	buf_free(&b);
	funnel_free(f);
}

static const char *
masked(const char *s, int64_t around_us)
{
	static struct buf	b;
	struct shape_opts	o = { around_us - 86400000000LL,
				    around_us + 86400000000LL };

	buf_reset(&b);
	funnel_mask(&b, s, strlen(s), around_us != 0 ? &o : NULL);
	buf_append_byte(&b, '\0');
	return b.data;
}

static void
test_mask(void)
{
	ASSERT_STR_EQ(masked("Bearer " JWT1, 0), "Bearer {jwt}");
	ASSERT_STR_EQ(masked(JWT1, 0), "{jwt}");
	ASSERT_STR_EQ(masked("{\"at\":\"2025-12-07T17:54:34Z\",\"n\":42}", 0),
	    "{\"at\":\"{timestamp}\",\"n\":42}");
	ASSERT_STR_EQ(masked("{\"ts\":1765130074,\"id\":1234567890}", T0),
	    "{\"ts\":{timestamp},\"id\":1234567890}");
	ASSERT_STR_EQ(masked("{\"ts\":1765130074}", 0),
	    "{\"ts\":1765130074}");
	ASSERT_STR_EQ(masked("id=6f1c1c9e-2f7a-4c53-9a57-0b1d2c3e4f50&a=b", 0),
	    "id={uuid}&a=b");
	ASSERT_STR_EQ(masked("/files/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"
	    "2b0b822cd15d6c15b0f00a08/raw", 0), "/files/{hex}/raw");
	ASSERT_STR_EQ(masked("sid=dGhpcyBpcyBhIHNlY3JldCB0b2tlbg==; x=1", 0),
	    "sid={b64}==; x=1");
	ASSERT_STR_EQ(masked("Sun, 06 Nov 1994 08:49:37 GMT", 0),
	    "{timestamp}");
	/* Near misses stay. */
	ASSERT_STR_EQ(masked("v2.10.0-rc1 sku-1001 deadbeef acct-1001", T0),
	    "v2.10.0-rc1 sku-1001 deadbeef acct-1001");
	ASSERT_STR_EQ(masked("", 0), "");
}

int
main(void)
{
	test_options();
	test_host();
	test_method_path_status();
	test_sample();
	test_cap();
	test_signature();
	test_dedup();
	test_combined();
	test_mask();
	UNIT_DONE();
}
