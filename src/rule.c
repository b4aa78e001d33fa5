/*
 * rule.c -- chaos rules: request matching (pcre2, JIT-compiled once at
 * load by rule-load.c, matched through one thread-local match data so the
 * hot path neither locks nor allocates), the firing decision, whose
 * counters are C11 atomics, the copy-on-write edits of rule sets and their
 * description.
 *
 * Enabling or disabling makes a new struct rule around the same body
 * (rule-int.h), so every copy-on-write edit keeps the counters, and the
 * old set still sees its own flag.
 */
#include "config.h"

#include "rule-int.h"

#include <sys/types.h>

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fault.h"
#include "grpc.h"
#include "json.h"
#include "log.h"
#include "route.h"
#include "rule.h"
#include "xmalloc.h"

/* Separates the malformer's stream from the firing draw's. */
#define RULE_MALFORM_SALT	0x6d616c666f726d21ULL
#define RULE_OVECTOR_PAIRS	64

/* --- reference counting ---------------------------------------------- */

void
rule_re_free(struct rule_re *re)
{
	free(re->src);
	if (re->code != NULL)
		pcre2_code_free(re->code);
}

void
rule_body_free(struct rule_body *b)
{
	size_t	i;

	if (b == NULL || atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	free(b->name);
	free(b->origin);
	rule_re_free(&b->host);
	rule_re_free(&b->method);
	rule_re_free(&b->path);
	free(b->route);
	rule_re_free(&b->body);
	for (i = 0; i < b->nquery; i++) {
		free(b->query[i].name);
		rule_re_free(&b->query[i].re);
	}
	free(b->query);
	for (i = 0; i < b->nheaders; i++) {
		free(b->headers[i].name);
		rule_re_free(&b->headers[i].re);
	}
	free(b->headers);
	fault_spec_free(&b->fault);
	free(b);
}

struct rule *
rule_new(struct rule_body *b, int enabled)
{
	struct rule	*r;

	r = xcalloc(1, sizeof *r);
	atomic_init(&r->refs, 1);
	r->enabled = enabled;
	r->b = b;
	return r;
}

static struct rule *
rule_ref(struct rule *r)
{
	atomic_fetch_add(&r->refs, 1);
	return r;
}

void
rule_unref(struct rule *r)
{
	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	rule_body_free(r->b);
	free(r);
}

struct rule_set *
rule_set_new(size_t cap)
{
	struct rule_set	*set;

	set = xcalloc(1, sizeof *set);
	if (cap > 0)
		set->rules = xcalloc(cap, sizeof *set->rules);
	return set;
}

void
rule_set_free(struct rule_set *set)
{
	size_t	i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		rule_unref(set->rules[i]);
	free(set->rules);
	free(set);
}

/* --- accessors and copy-on-write edits -------------------------------- */

size_t
rule_set_count(const struct rule_set *set)
{
	return set == NULL ? 0 : set->n;
}

const struct rule *
rule_set_get(const struct rule_set *set, size_t i)
{
	if (set == NULL || i >= set->n)
		return NULL;
	return set->rules[i];
}

static ssize_t
rule_set_index(const struct rule_set *set, const char *name)
{
	size_t	i;

	for (i = 0; i < rule_set_count(set); i++) {
		if (strcmp(set->rules[i]->b->name, name) == 0)
			return (ssize_t)i;
	}
	return -1;
}

const struct rule *
rule_set_find(const struct rule_set *set, const char *name)
{
	ssize_t	i;

	if ((i = rule_set_index(set, name)) == -1)
		return NULL;
	return set->rules[i];
}

struct rule_set *
rule_set_append(const struct rule_set *set, const struct rule_set *added,
    char **cause)
{
	struct rule_set	*new;
	size_t		 i, n = rule_set_count(set), m = rule_set_count(added);

	for (i = 0; i < m; i++) {
		if (rule_set_index(set, added->rules[i]->b->name) != -1) {
			*cause = xasprintf("rule \"%s\" already exists",
			    added->rules[i]->b->name);
			return NULL;
		}
	}
	new = rule_set_new(n + m);
	for (i = 0; i < n; i++)
		new->rules[new->n++] = rule_ref(set->rules[i]);
	for (i = 0; i < m; i++)
		new->rules[new->n++] = rule_ref(added->rules[i]);
	return new;
}

/*
 * A copy of set in which the rule called name is left out (drop) or has
 * its enabled flag set to enabled; NULL with *cause when no rule has
 * that name.
 */
static struct rule_set *
rule_set_edit(const struct rule_set *set, const char *name, int drop,
    int enabled, char **cause)
{
	struct rule_set	*new;
	struct rule	*r;
	ssize_t		 at;
	size_t		 i;

	if ((at = rule_set_index(set, name)) == -1) {
		*cause = xasprintf("no rule named \"%s\"", name);
		return NULL;
	}
	new = rule_set_new(set->n);
	for (i = 0; i < set->n; i++) {
		r = set->rules[i];
		if (i == (size_t)at && drop)
			continue;
		if (i == (size_t)at && r->enabled != !!enabled) {
			atomic_fetch_add(&r->b->refs, 1);
			new->rules[new->n++] = rule_new(r->b, !!enabled);
		} else
			new->rules[new->n++] = rule_ref(r);
	}
	return new;
}

struct rule_set *
rule_set_remove(const struct rule_set *set, const char *name, char **cause)
{
	return rule_set_edit(set, name, 1, 0, cause);
}

struct rule_set *
rule_set_enable(const struct rule_set *set, const char *name, int enabled,
    char **cause)
{
	return rule_set_edit(set, name, 0, enabled, cause);
}

const char *
rule_name(const struct rule *r)
{
	return r->b->name;
}

int
rule_is_enabled(const struct rule *r)
{
	return r->enabled;
}

const struct fault_spec *
rule_fault(const struct rule *r)
{
	return &r->b->fault;
}

int
rule_is_per_connection(const struct rule *r)
{
	const struct rule_body	*b = r->b;

	return b->method.code == NULL && b->path.code == NULL &&
	    b->route == NULL && b->body.code == NULL && b->nquery == 0 && b->nheaders == 0;
}

uint64_t
rule_matched(const struct rule *r)
{
	return atomic_load(&r->b->matched);
}

uint64_t
rule_fired(const struct rule *r)
{
	return atomic_load(&r->b->fired);
}

/* --- matching --------------------------------------------------------- */

static pthread_key_t		 rule_md_key;
static pthread_once_t		 rule_md_once = PTHREAD_ONCE_INIT;
static int			 rule_md_key_ok;
static __thread pcre2_match_data *rule_md;

static void
rule_md_destroy(void *md)
{
	pcre2_match_data_free(md);
}

static void
rule_md_key_init(void)
{
	rule_md_key_ok = pthread_key_create(&rule_md_key,
	    rule_md_destroy) == 0;
}

/*
 * The calling thread's match data, made on its first match and freed when
 * the thread exits.  Ovector pairs beyond what it holds are not needed: a
 * match with too small an ovector still returns 0, a success.
 */
static pcre2_match_data *
rule_match_data(void)
{
	if (rule_md == NULL) {
		pthread_once(&rule_md_once, rule_md_key_init);
		rule_md = pcre2_match_data_create(RULE_OVECTOR_PAIRS, NULL);
		if (rule_md == NULL)
			fatalx("pcre2_match_data_create failed");
		if (rule_md_key_ok)
			pthread_setspecific(rule_md_key, rule_md);
	}
	return rule_md;
}

static int
rule_re_match(const struct rule_re *re, const char *s, size_t len)
{
	pcre2_match_data	*md = rule_match_data();
	int			 rc;

	if (s == NULL)
		s = "";
	if (re->jit)
		rc = pcre2_jit_match(re->code, (PCRE2_SPTR)s, len, 0, 0, md,
		    NULL);
	else
		rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
	return rc >= 0;
}

/* The host without its ":port" (brackets of an IPv6 literal kept). */
static size_t
rule_host_len(const char *h, size_t len)
{
	size_t	i = len;

	while (i > 0 && h[i - 1] >= '0' && h[i - 1] <= '9')
		i--;
	if (i == 0 || i == len || h[i - 1] != ':')
		return len;
	i--;
	if (i > 0 && h[i - 1] == ']')
		return i;
	if (memchr(h, ':', i) != NULL)		/* bare IPv6 */
		return len;
	return i;
}

static int
rule_match_query(const struct rule_kv *kv, struct span q)
{
	const char	*p = q.p, *end, *amp, *eq;
	size_t		 nlen = strlen(kv->name);

	if (p == NULL)
		return 0;
	end = p + q.len;
	while (p <= end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		if ((size_t)(eq - p) == nlen && memcmp(p, kv->name, nlen) == 0) {
			if (eq == amp) {
				if (rule_re_match(&kv->re, "", 0))
					return 1;
			} else if (rule_re_match(&kv->re, eq + 1,
			    (size_t)(amp - eq - 1)))
				return 1;
		}
		p = amp + 1;
	}
	return 0;
}

static int
rule_match_header(const struct rule_kv *kv, const struct rule_req *req)
{
	size_t	i;

	for (i = 0; i < req->nheaders; i++) {
		if (span_caseeq_str(req->headers[i].name, kv->name) &&
		    rule_re_match(&kv->re, req->headers[i].value.p,
		    req->headers[i].value.len))
			return 1;
	}
	return 0;
}

/*
 * The fields a request's signature decides: dir, method, host, path and
 * query.  The responder caches this part per matched transaction.
 */
static int
rule_body_matches_static(const struct rule_body *b, const struct rule_req *req)
{
	size_t	i, hl;

	if (b->has_dir && req->dir != b->dir)
		return 0;
	if (b->method.code != NULL &&
	    !rule_re_match(&b->method, req->method.p, req->method.len))
		return 0;
	if (b->host.code != NULL) {
		/* Without the port first; with it, for a rule that names it. */
		hl = rule_host_len(req->host.p, req->host.len);
		if (!rule_re_match(&b->host, req->host.p, hl) &&
		    (hl == req->host.len ||
		    !rule_re_match(&b->host, req->host.p, req->host.len)))
			return 0;
	}
	if (b->path.code != NULL &&
	    !rule_re_match(&b->path, req->path.p, req->path.len))
		return 0;
	if (b->route != NULL && !route_match(b->route, req->path))
		return 0;
	for (i = 0; i < b->nquery; i++) {
		if (!rule_match_query(&b->query[i], req->query))
			return 0;
	}
	return 1;
}

/* The fields that vary within one signature: headers and the raw body. */
static int
rule_body_matches_live(const struct rule_body *b, const struct rule_req *req)
{
	size_t	i;

	for (i = 0; i < b->nheaders; i++) {
		if (!rule_match_header(&b->headers[i], req))
			return 0;
	}
	if (b->body.code != NULL &&
	    !rule_re_match(&b->body, req->body, req->body_len))
		return 0;
	return 1;
}

/* --- firing ----------------------------------------------------------- */

/* Takes one slot of a running burst, if any is left. */
static int
rule_take_burst(struct rule_body *b)
{
	uint_fast64_t	left;

	left = atomic_load(&b->burst_left);
	while (left > 0) {
		if (atomic_compare_exchange_weak(&b->burst_left, &left,
		    left - 1))
			return 1;
	}
	return 0;
}

/* Counts one firing unless the limit has been reached. */
static int
rule_take_fire(struct rule_body *b)
{
	uint_fast64_t	fired;

	if (!b->has_limit) {
		atomic_fetch_add(&b->fired, 1);
		return 1;
	}
	fired = atomic_load(&b->fired);
	do {
		if (fired >= b->limit)
			return 0;
	} while (!atomic_compare_exchange_weak(&b->fired, &fired, fired + 1));
	return 1;
}

/*
 * Decides whether match number n fires.  A match during a burst takes a
 * burst slot whether or not between, after and limit then let it fire.
 */
static int
rule_fires(struct rule_body *b, const struct rule_ctx *ctx, uint64_t n,
    double draw)
{
	int	ok, burst = 0;

	ok = n > b->after;
	if (b->has_between && (ctx->elapsed_ns < b->between[0] ||
	    ctx->elapsed_ns >= b->between[1]))
		ok = 0;
	if (b->burst > 0 && rule_take_burst(b))
		burst = 1;
	else {
		if (b->every > 0 && ok && (n - b->after) % b->every != 0)
			ok = 0;
		if (b->has_probability && !(draw < b->probability))
			ok = 0;
	}
	if (!ok || !rule_take_fire(b))
		return 0;
	if (!burst && b->burst > 0)
		atomic_store(&b->burst_left, b->burst);
	return 1;
}

/*
 * Counts a match of rule i and decides whether it fires; fills *h when it
 * does.  Returns 1 if it fired, and sets *end when evaluation must stop.
 */
static int
rule_set_eval_one(const struct rule_set *set, size_t i,
    const struct rule_ctx *ctx, struct rule_hit *h, int *end)
{
	struct rule_body	*b = set->rules[i]->b;
	struct fault_rng	 rng;
	uint64_t		 n, mix;
	double			 draw;

	n = atomic_fetch_add(&b->matched, 1) + 1;
	/*
	 * The draw is made whether or not the rule has a probability, so
	 * the latency that follows on the same stream does not depend on it.
	 */
	mix = fault_seed_mix(ctx->seed, b->name, ctx->sig, ctx->occurrence);
	fault_rng_seed(&rng, mix);
	draw = fault_rng_double(&rng);
	if (!rule_fires(b, ctx, n, draw))
		return 0;
	h->rule = set->rules[i];
	h->fault = &b->fault;
	h->match_no = n;
	h->rng_seed = mix ^ RULE_MALFORM_SALT;
	h->latency_ns = 0;
	if (b->fault.latency.kind != FAULT_LAT_NONE)
		h->latency_ns = fault_latency_sample(&b->fault.latency, &rng,
		    ctx->recorded_ns, ctx->samples, ctx->nsamples);
	*end = b->stop || b->fault.connection != FAULT_CONN_NONE;
	return 1;
}

size_t
rule_set_eval(const struct rule_set *set, const struct rule_req *req,
    const struct rule_ctx *ctx, struct rule_hit *hits, size_t max)
{
	struct rule_body	*b;
	size_t			 i, nhits = 0;
	int			 end = 0;

	for (i = 0; i < rule_set_count(set) && nhits < max && !end; i++) {
		if (!set->rules[i]->enabled)
			continue;
		b = set->rules[i]->b;
		if (!rule_body_matches_static(b, req) ||
		    !rule_body_matches_live(b, req))
			continue;
		nhits += rule_set_eval_one(set, i, ctx, &hits[nhits], &end);
	}
	return nhits;
}

uint64_t
rule_set_static_mask(const struct rule_set *set, const struct rule_req *req)
{
	uint64_t	mask = 0;
	size_t		i;

	for (i = 0; i < rule_set_count(set) && i < 64; i++) {
		if (set->rules[i]->enabled &&
		    rule_body_matches_static(set->rules[i]->b, req))
			mask |= UINT64_C(1) << i;
	}
	return mask;
}

enum rule_reach
rule_reach(const struct rule *r, const struct rule_req *req)
{
	if (!rule_body_matches_static(r->b, req))
		return RULE_REACH_NO;
	if (!rule_body_matches_live(r->b, req))
		return RULE_REACH_LIVE;
	return RULE_REACH_YES;
}

size_t
rule_set_eval_mask(const struct rule_set *set, const struct rule_req *req,
    const struct rule_ctx *ctx, uint64_t mask, struct rule_hit *hits,
    size_t max)
{
	size_t	i, nhits = 0;
	int	end = 0;

	while (mask != 0 && nhits < max && !end) {
		i = (size_t)__builtin_ctzll(mask);
		mask &= mask - 1;
		if (!rule_body_matches_live(set->rules[i]->b, req))
			continue;
		nhits += rule_set_eval_one(set, i, ctx, &hits[nhits], &end);
	}
	return nhits;
}

/* --- description ------------------------------------------------------ */

static void
rule_json_key(struct buf *out, int *first, const char *key)
{
	if (!*first)
		buf_append_byte(out, ',');
	*first = 0;
	json_append_string(out, key, strlen(key));
	buf_append_byte(out, ':');
}

static void
rule_json_str(struct buf *out, int *first, const char *key, const char *s,
    size_t len)
{
	rule_json_key(out, first, key);
	json_append_string(out, s, len);
}

static void
rule_json_num(struct buf *out, int *first, const char *key, double d)
{
	rule_json_key(out, first, key);
	if (!isfinite(d))
		d = 0;
	if (d == floor(d) && fabs(d) < 9e15)
		buf_printf(out, "%.0f", d);
	else
		buf_printf(out, "%.17g", d);
}

static void
rule_json_u64(struct buf *out, int *first, const char *key, uint64_t u)
{
	rule_json_key(out, first, key);
	buf_printf(out, "%" PRIu64, u);
}

/* The names rule_describe gives a latency's parameters a and b. */
static const struct {
	enum fault_latency_kind	 kind;
	const char		*a;
	const char		*b;	/* NULL: b is not a parameter */
} rule_latency_keys[] = {
	{ FAULT_LAT_FIXED, "ns", NULL },
	{ FAULT_LAT_UNIFORM, "min_ns", "max_ns" },
	{ FAULT_LAT_NORMAL, "mean_ns", "stddev_ns" },
	{ FAULT_LAT_LOGNORMAL, "mu_ln_ns", "sigma" },
	{ FAULT_LAT_PARETO, "scale_ns", "shape" },
	{ FAULT_LAT_RECORDED, "scale", NULL },
};

static void
rule_describe_latency(const struct fault_latency *l, struct buf *out)
{
	size_t	i;
	int	first = 1;

	buf_append_byte(out, '{');
	rule_json_str(out, &first, "kind", fault_latency_name(l->kind),
	    strlen(fault_latency_name(l->kind)));
	for (i = 0; i < sizeof rule_latency_keys /
	    sizeof rule_latency_keys[0]; i++) {
		if (rule_latency_keys[i].kind != l->kind)
			continue;
		rule_json_num(out, &first, rule_latency_keys[i].a, l->a);
		if (rule_latency_keys[i].b != NULL)
			rule_json_num(out, &first, rule_latency_keys[i].b, l->b);
	}
	if (l->max_ns > 0)
		rule_json_num(out, &first, "cap_ns", l->max_ns);
	buf_append_byte(out, '}');
}

static void
rule_describe_fault(const struct fault_spec *f, struct buf *out)
{
	const char	*s;
	size_t		 i;
	int		 first = 1, hfirst = 1;

	buf_append_byte(out, '{');
	if (f->latency.kind != FAULT_LAT_NONE) {
		rule_json_key(out, &first, "latency");
		rule_describe_latency(&f->latency, out);
	}
	if (f->status != 0)
		rule_json_num(out, &first, "status", f->status);
	if (f->nheaders > 0) {
		rule_json_key(out, &first, "headers");
		buf_append_byte(out, '{');
		for (i = 0; i < f->nheaders; i++)
			rule_json_str(out, &hfirst, f->headers[i].name,
			    f->headers[i].value, strlen(f->headers[i].value));
		buf_append_byte(out, '}');
	}
	if (f->has_body)
		rule_json_str(out, &first, "body", f->body, f->body_len);
	if (f->malform != FAULT_MALFORM_NONE) {
		s = fault_malform_name(f->malform);
		rule_json_str(out, &first, "malform", s, strlen(s));
		switch (f->malform) {
		case FAULT_MALFORM_TRUNCATE:
		case FAULT_MALFORM_LYING_LENGTH:
			rule_json_num(out, &first, "at", f->truncate_at);
			break;
		case FAULT_MALFORM_CORRUPT:
			rule_json_u64(out, &first, "bytes", f->corrupt_bytes);
			break;
		case FAULT_MALFORM_WRONG_CONTENT_TYPE:
			s = f->content_type != NULL ? f->content_type :
			    "text/html";
			rule_json_str(out, &first, "content_type", s,
			    strlen(s));
			break;
		case FAULT_MALFORM_OVERSIZE:
			rule_json_u64(out, &first, "size", f->oversize);
			break;
		case FAULT_MALFORM_DROP_FIELD:
		case FAULT_MALFORM_SWAP_TYPES:
			if (f->field != NULL)
				rule_json_str(out, &first, "field", f->field,
				    strlen(f->field));
			break;
		default:
			break;
		}
	}
	if (f->connection == FAULT_CONN_RST_STREAM ||
	    f->connection == FAULT_CONN_GOAWAY) {
		char	hex[16];

		s = fault_h2_code_name(f->h2_code, hex, sizeof hex);
		rule_json_str(out, &first, fault_conn_name(f->connection), s,
		    strlen(s));
	} else if (f->connection != FAULT_CONN_NONE) {
		s = fault_conn_name(f->connection);
		rule_json_str(out, &first, "connection", s, strlen(s));
		if (f->connection == FAULT_CONN_DRIP ||
		    f->connection == FAULT_CONN_SLOW_HEADERS)
			rule_json_num(out, &first, "drip_bps", f->drip_bps);
	}
	if (f->drop > 0)
		rule_json_num(out, &first, "drop", f->drop);
	if (f->has_grpc) {
		s = grpc_code_name(f->grpc_code);
		rule_json_str(out, &first, "grpc", s, strlen(s));
		if (f->grpc_message != NULL)
			rule_json_str(out, &first, "grpc_message",
			    f->grpc_message, strlen(f->grpc_message));
	}
	if (f->per_message) {
		rule_json_key(out, &first, "per_message");
		buf_append_str(out, "true");
	}
	buf_append_byte(out, '}');
}

static void
rule_describe_re(struct buf *out, int *first, const char *key,
    const struct rule_re *re)
{
	if (re->code != NULL)
		rule_json_str(out, first, key, re->src, strlen(re->src));
}

static void
rule_describe_kvs(struct buf *out, int *first, const char *key,
    const struct rule_kv *kv, size_t n)
{
	size_t	i;
	int	kfirst = 1;

	if (n == 0)
		return;
	rule_json_key(out, first, key);
	buf_append_byte(out, '{');
	for (i = 0; i < n; i++)
		rule_describe_re(out, &kfirst, kv[i].name, &kv[i].re);
	buf_append_byte(out, '}');
}

void
rule_describe(const struct rule *r, struct buf *out)
{
	const struct rule_body	*b = r->b;
	const char		*s;
	int			 first = 1, mfirst = 1, wfirst = 1;

	buf_append_byte(out, '{');
	rule_json_str(out, &first, "name", b->name, strlen(b->name));
	rule_json_key(out, &first, "enabled");
	buf_append_str(out, r->enabled ? "true" : "false");

	rule_json_key(out, &first, "match");
	buf_append_byte(out, '{');
	if (b->has_dir) {
		s = b->dir == SNAP_DIR_IN ? "in" : "out";
		rule_json_str(out, &mfirst, "dir", s, strlen(s));
	}
	rule_describe_re(out, &mfirst, "host", &b->host);
	rule_describe_re(out, &mfirst, "method", &b->method);
	rule_describe_re(out, &mfirst, "path", &b->path);
	if (b->route != NULL)
		rule_json_str(out, &mfirst, "route", b->route,
		    strlen(b->route));
	rule_describe_kvs(out, &mfirst, "query", b->query, b->nquery);
	rule_describe_kvs(out, &mfirst, "headers", b->headers, b->nheaders);
	rule_describe_re(out, &mfirst, "body", &b->body);
	buf_append_byte(out, '}');

	rule_json_key(out, &first, "when");
	buf_append_byte(out, '{');
	if (b->has_probability)
		rule_json_num(out, &wfirst, "probability", b->probability);
	if (b->after > 0)
		rule_json_u64(out, &wfirst, "after", b->after);
	if (b->every > 0)
		rule_json_u64(out, &wfirst, "every", b->every);
	if (b->has_limit)
		rule_json_u64(out, &wfirst, "limit", b->limit);
	if (b->burst > 0)
		rule_json_u64(out, &wfirst, "burst", b->burst);
	if (b->has_between) {
		rule_json_key(out, &wfirst, "between_ns");
		buf_printf(out, "[%" PRIu64 ",%" PRIu64 "]", b->between[0],
		    b->between[1]);
	}
	buf_append_byte(out, '}');

	rule_json_key(out, &first, "fault");
	rule_describe_fault(&b->fault, out);
	rule_json_key(out, &first, "stop");
	buf_append_str(out, b->stop ? "true" : "false");
	rule_json_u64(out, &first, "matched", rule_matched(r));
	rule_json_u64(out, &first, "fired", rule_fired(r));
	buf_append_byte(out, '}');
}
