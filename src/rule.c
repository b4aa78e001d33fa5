/*
 * rule.c -- chaos rules: the loader (YAML, or JSON read as YAML flow,
 * through libyaml's document API so every node keeps its line and column),
 * request matching (pcre2, JIT-compiled once at load, matched through one
 * thread-local match data so the hot path neither locks nor allocates) and
 * the firing decision, whose counters are C11 atomics.
 *
 * A set holds struct rule pointers; a struct rule is a reference-counted
 * pair of the enabled flag and a pointer to the shared, also
 * reference-counted struct rule_body (name, match, when, fault, counters).
 * Enabling or disabling makes a new struct rule around the same body, so
 * every copy-on-write edit keeps the counters, and the old set still sees
 * its own flag.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"
#include "units.h"
#include "fault.h"
#include "json.h"
#include "log.h"
#include "rule.h"
#include "xmalloc.h"
#include "yamldoc.h"

/* Separates the malformer's stream from the firing draw's. */
#define RULE_MALFORM_SALT	0x6d616c666f726d21ULL
#define RULE_OVECTOR_PAIRS	64
#define RULE_NAME_MAX		128
#define RULE_MAX_KEYS		1024
/* ln(1e6): a mu given for ln(milliseconds) becomes one for ln(ns). */
#define RULE_LN_MS_TO_NS	13.815510557964274

struct rule_re {
	char		*src;		/* as written, for rule_describe */
	pcre2_code	*code;		/* NULL: not given */
	int		 jit;
};

struct rule_kv {
	char		*name;
	struct rule_re	 re;
};

struct rule_body {
	atomic_uint		 refs;
	char			*name;
	char			*origin;	/* "FILE:LINE:COL" */
	int			 stop;

	int			 has_dir;
	enum snap_dir		 dir;
	struct rule_re		 host;
	struct rule_re		 method;
	struct rule_re		 path;
	struct rule_re		 body;
	struct rule_kv		*query;
	size_t			 nquery;
	struct rule_kv		*headers;
	size_t			 nheaders;

	int			 has_probability;
	double			 probability;
	uint64_t		 after;
	uint64_t		 every;		/* 0: not given */
	int			 has_limit;
	uint64_t		 limit;
	uint64_t		 burst;
	int			 has_between;
	uint64_t		 between[2];	/* ns, [a, b) */

	struct fault_spec	 fault;

	atomic_uint_fast64_t	 matched;
	atomic_uint_fast64_t	 fired;
	atomic_uint_fast64_t	 burst_left;
};

struct rule {
	atomic_uint		 refs;
	int			 enabled;
	struct rule_body	*b;
};

struct rule_set {
	struct rule	**rules;
	size_t		  n;
};

/* --- reference counting ---------------------------------------------- */

static void
rule_re_free(struct rule_re *re)
{
	free(re->src);
	if (re->code != NULL)
		pcre2_code_free(re->code);
}

static void
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

static struct rule *
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

static void
rule_unref(struct rule *r)
{
	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	rule_body_free(r->b);
	free(r);
}

static struct rule_set *
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

/* --- the loader ------------------------------------------------------- */

struct rule_load {
	struct yamldoc	 d;		/* errors of all files */
	struct rule	**rules;	/* collected so far, all files */
	size_t		 nrules;
	size_t		 cap;
	uint64_t	 seed;
	int		 has_seed;
};

static int
rule_regex(struct yamldoc *x, const yaml_node_t *n, const char *what,
    uint32_t options, int exact, struct rule_re *re)
{
	PCRE2_UCHAR	 msg[256];
	PCRE2_SIZE	 erroff;
	const char	*s;
	char		*pat;
	size_t		 len, i;
	int		 errcode;

	if ((s = yamldoc_scalar(x, n, what)) == NULL)
		return -1;
	len = n->data.scalar.length;
	/* A plain word (a method name) matches exactly, not anywhere. */
	if (exact && len > 0) {
		for (i = 0; i < len; i++) {
			if (!((s[i] >= 'A' && s[i] <= 'Z') ||
			    (s[i] >= 'a' && s[i] <= 'z')))
				break;
		}
		exact = i == len;
	} else
		exact = 0;
	pat = exact ? xasprintf("^(?:%s)$", s) : NULL;
	re->code = pcre2_compile((PCRE2_SPTR)(exact ? pat : s),
	    exact ? strlen(pat) : len, options, &errcode, &erroff, NULL);
	free(pat);
	if (re->code == NULL) {
		if (pcre2_get_error_message(errcode, msg, sizeof msg) < 0)
			snprintf((char *)msg, sizeof msg, "unknown error");
		yamldoc_err(x, n, "%s: bad regex at offset %zu: %s", what,
		    (size_t)erroff, (char *)msg);
		return -1;
	}
	/* Without JIT (unsupported, out of memory) the interpreter runs. */
	re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
	re->src = xstrndup(s, len);
	return 0;
}

static void
rule_load_kvs(struct yamldoc *x, const yaml_node_t *map, const char *what,
    uint32_t options, struct rule_kv **out, size_t *nout)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key;
	struct rule_kv		*kv;
	char			*label;

	if (yamldoc_mapping(x, map, what) == -1)
		return;
	*out = xcalloc((size_t)(map->data.mapping.pairs.top -
	    map->data.mapping.pairs.start) + 1, sizeof **out);
	YAMLDOC_PAIRS(x, map, p, k, v, key, NULL) {
		if (*key == '\0') {
			yamldoc_err(x, k, "%s: empty name", what);
			continue;
		}
		label = xasprintf("%s: %s", what, key);
		kv = &(*out)[*nout];
		if (rule_regex(x, v, label, options, 0, &kv->re) == 0) {
			kv->name = xstrdup(key);
			(*nout)++;
		}
		free(label);
	}
}

static void
rule_load_match(struct yamldoc *x, const yaml_node_t *map, struct rule_body *b)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key, *s;

	if (yamldoc_mapping(x, map, "match") == -1)
		return;
	YAMLDOC_PAIRS(x, map, p, k, v, key, NULL) {
		if (strcmp(key, "dir") == 0) {
			if ((s = yamldoc_scalar(x, v, "dir")) == NULL)
				continue;
			b->has_dir = 1;
			if (strcmp(s, "in") == 0)
				b->dir = SNAP_DIR_IN;
			else if (strcmp(s, "out") == 0)
				b->dir = SNAP_DIR_OUT;
			else
				yamldoc_err(x, v, "dir: expected in or out, "
				    "not \"%s\"", s);
		} else if (strcmp(key, "host") == 0)
			rule_regex(x, v, "host", PCRE2_CASELESS, 0, &b->host);
		else if (strcmp(key, "method") == 0)
			rule_regex(x, v, "method", 0, 1, &b->method);
		else if (strcmp(key, "path") == 0)
			rule_regex(x, v, "path", 0, 0, &b->path);
		else if (strcmp(key, "body") == 0)
			rule_regex(x, v, "body", 0, 0, &b->body);
		else if (strcmp(key, "query") == 0)
			rule_load_kvs(x, v, "query", 0, &b->query, &b->nquery);
		else if (strcmp(key, "headers") == 0)
			rule_load_kvs(x, v, "headers", 0, &b->headers,
			    &b->nheaders);
		else
			yamldoc_err(x, k, "match: unknown key \"%s\" (dir, "
			    "host, method, path, query, headers, body)", key);
	}
}

static void
rule_load_when(struct yamldoc *x, const yaml_node_t *map, struct rule_body *b)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v, *a, *z;
	const char		*key;
	int64_t			 i;
	double			 d;
	uint64_t		 t[2];

	if (yamldoc_mapping(x, map, "when") == -1)
		return;
	YAMLDOC_PAIRS(x, map, p, k, v, key, NULL) {
		if (strcmp(key, "probability") == 0) {
			if (yamldoc_double(x, v, key, &d) == -1)
				continue;
			if (d < 0 || d > 1) {
				yamldoc_err(x, v, "probability: must be "
				    "between 0 and 1 (%g)", d);
				continue;
			}
			b->has_probability = 1;
			b->probability = d;
		} else if (strcmp(key, "after") == 0) {
			if (yamldoc_int(x, v, key, 0, INT64_MAX, &i) == 0)
				b->after = (uint64_t)i;
		} else if (strcmp(key, "every") == 0) {
			if (yamldoc_int(x, v, key, 1, INT64_MAX, &i) == 0)
				b->every = (uint64_t)i;
		} else if (strcmp(key, "limit") == 0) {
			if (yamldoc_int(x, v, key, 0, INT64_MAX, &i) == 0) {
				b->has_limit = 1;
				b->limit = (uint64_t)i;
			}
		} else if (strcmp(key, "burst") == 0) {
			if (yamldoc_int(x, v, key, 0, INT64_MAX, &i) == 0)
				b->burst = (uint64_t)i;
		} else if (strcmp(key, "between") == 0) {
			if (v->type != YAML_SEQUENCE_NODE ||
			    v->data.sequence.items.top -
			    v->data.sequence.items.start != 2) {
				yamldoc_err(x, v, "between: expected two "
				    "durations [from, to]");
				continue;
			}
			a = yamldoc_node(x, v->data.sequence.items.start[0]);
			z = yamldoc_node(x, v->data.sequence.items.start[1]);
			if (yamldoc_duration(x, a, "between", &t[0]) == -1 ||
			    yamldoc_duration(x, z, "between", &t[1]) == -1)
				continue;
			if (t[0] >= t[1]) {
				yamldoc_err(x, v, "between: the end must come "
				    "after the start");
				continue;
			}
			b->has_between = 1;
			b->between[0] = t[0];
			b->between[1] = t[1];
		} else
			yamldoc_err(x, k, "when: unknown key \"%s\" "
			    "(probability, after, every, limit, burst, "
			    "between)", key);
	}
}

/*
 * The keys of the distributions that take a mapping: parsed as a duration
 * or a number into slot (dur[] or num[] of rule_load_dist), each setting
 * bit 1 << slot of what was given.
 */
struct rule_dist_key {
	const char	*dist;
	const char	*key;
	int		 duration;	/* else a number */
	int		 slot;
};
static const struct rule_dist_key rule_dist_keys[] = {
	{ "normal", "mean", 1, 0 },
	{ "normal", "stddev", 1, 1 },
	{ "lognormal", "median", 1, 0 },
	{ "lognormal", "p99", 1, 1 },
	{ "lognormal", "mu", 0, 2 },
	{ "lognormal", "sigma", 0, 3 },
	{ "pareto", "scale", 1, 0 },
	{ "pareto", "shape", 0, 1 },
};
#define RULE_NDIST_KEYS	(sizeof rule_dist_keys / sizeof rule_dist_keys[0])

/* Fills in the parameters of one latency distribution. */
static void
rule_load_dist(struct yamldoc *x, const char *dist, const yaml_node_t *k,
    const yaml_node_t *v, struct fault_latency *l)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*pk, *pv, *a, *z;
	const struct rule_dist_key *dk;
	const char		*key;
	uint64_t		 t[2], dur[4] = { 0 }, median, p99, mean, sd;
	uint64_t		 scale;
	double			 d, num[4] = { 0 }, mu, sigma, shape;
	size_t			 i;
	int			 have = 0, bad = 0;

	if (strcmp(dist, "fixed") == 0) {
		if (yamldoc_duration(x, v, "latency: fixed", &t[0]) == 0) {
			l->kind = FAULT_LAT_FIXED;
			l->a = (double)t[0];
		}
	} else if (strcmp(dist, "uniform") == 0) {
		if (v->type != YAML_SEQUENCE_NODE ||
		    v->data.sequence.items.top -
		    v->data.sequence.items.start != 2) {
			yamldoc_err(x, v, "latency: uniform: expected two "
			    "durations [min, max]");
			return;
		}
		a = yamldoc_node(x, v->data.sequence.items.start[0]);
		z = yamldoc_node(x, v->data.sequence.items.start[1]);
		if (yamldoc_duration(x, a, "latency: uniform", &t[0]) == -1 ||
		    yamldoc_duration(x, z, "latency: uniform", &t[1]) == -1)
			return;
		if (t[0] > t[1]) {
			yamldoc_err(x, v, "latency: uniform: min is larger "
			    "than max");
			return;
		}
		l->kind = FAULT_LAT_UNIFORM;
		l->a = (double)t[0];
		l->b = (double)t[1];
	} else if (strcmp(dist, "recorded") == 0) {
		if (yamldoc_double(x, v, "latency: recorded", &d) == -1)
			return;
		if (d <= 0) {
			yamldoc_err(x, v, "latency: recorded: the scale must "
			    "be greater than 0 (%g)", d);
			return;
		}
		l->kind = FAULT_LAT_RECORDED;
		l->a = d;
	} else if (strcmp(dist, "empirical") == 0) {
		if (!yamldoc_is_null(v) && (v->type != YAML_MAPPING_NODE ||
		    v->data.mapping.pairs.top !=
		    v->data.mapping.pairs.start)) {
			yamldoc_err(x, v, "latency: empirical: takes no "
			    "parameters");
			return;
		}
		l->kind = FAULT_LAT_EMPIRICAL;
	} else if (strcmp(dist, "normal") == 0 ||
	    strcmp(dist, "lognormal") == 0 || strcmp(dist, "pareto") == 0) {
		if (yamldoc_mapping(x, v, dist) == -1)
			return;
		YAMLDOC_PAIRS(x, v, p, pk, pv, key, NULL) {
			for (i = 0; i < RULE_NDIST_KEYS; i++) {
				dk = &rule_dist_keys[i];
				if (strcmp(dist, dk->dist) == 0 &&
				    strcmp(key, dk->key) == 0)
					break;
			}
			if (i == RULE_NDIST_KEYS) {
				yamldoc_err(x, pk, "latency: %s: unknown key "
				    "\"%s\"", dist, key);
				bad = -1;
				continue;
			}
			if (dk->duration)
				bad |= yamldoc_duration(x, pv, key,
				    &dur[dk->slot]);
			else
				bad |= yamldoc_double(x, pv, key,
				    &num[dk->slot]);
			have |= 1 << dk->slot;
		}
		mean = median = scale = dur[0];
		sd = p99 = dur[1];
		shape = num[1];
		mu = num[2];
		sigma = num[3];
		if (bad)
			return;
		if (strcmp(dist, "normal") == 0) {
			if (have != 3) {
				yamldoc_err(x, v, "latency: normal: needs mean "
				    "and stddev");
				return;
			}
			l->kind = FAULT_LAT_NORMAL;
			l->a = (double)mean;
			l->b = (double)sd;
		} else if (strcmp(dist, "pareto") == 0) {
			if (have != 3) {
				yamldoc_err(x, v, "latency: pareto: needs "
				    "scale and shape");
				return;
			}
			if (scale == 0 || shape <= 0) {
				yamldoc_err(x, v, "latency: pareto: scale and "
				    "shape must be greater than 0");
				return;
			}
			l->kind = FAULT_LAT_PARETO;
			l->a = (double)scale;
			l->b = shape;
		} else if (have == 3) {
			if (median == 0 || p99 <= median) {
				yamldoc_err(x, v, "latency: lognormal: p99 "
				    "must be greater than median (and median "
				    "greater than 0)");
				return;
			}
			if (fault_lognormal_from_quantiles(l, (double)median,
			    (double)p99) == -1) {
				yamldoc_err(x, v, "latency: lognormal: bad "
				    "median and p99");
				return;
			}
			l->kind = FAULT_LAT_LOGNORMAL;
		} else if (have == 12) {
			if (sigma <= 0 || fabs(mu) > 100 || sigma > 100) {
				yamldoc_err(x, v, "latency: lognormal: sigma "
				    "must be in (0, 100] and mu in [-100, "
				    "100]");
				return;
			}
			l->kind = FAULT_LAT_LOGNORMAL;
			l->a = mu + RULE_LN_MS_TO_NS;
			l->b = sigma;
		} else
			yamldoc_err(x, v, "latency: lognormal: needs median "
			    "and p99, or mu and sigma");
	} else
		yamldoc_err(x, k, "latency: unknown distribution \"%s\" "
		    "(fixed, uniform, normal, lognormal, pareto, recorded, "
		    "empirical)", dist);
}

static void
rule_load_latency(struct yamldoc *x, const yaml_node_t *v,
    struct fault_latency *l)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *pv;
	const char		*key, *s, *dist = NULL;
	const yaml_node_t	*dk = NULL, *dv = NULL;
	uint64_t		 ns;

	if (v->type == YAML_SCALAR_NODE) {
		s = (const char *)v->data.scalar.value;
		if (strcmp(s, "empirical") == 0)
			l->kind = FAULT_LAT_EMPIRICAL;
		else if (strcmp(s, "recorded") == 0) {
			l->kind = FAULT_LAT_RECORDED;
			l->a = 1;
		} else if (units_parse_duration(s, &ns) == 0) {
			l->kind = FAULT_LAT_FIXED;
			l->a = (double)ns;
		} else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' &&
		    *s <= 'Z'))
			yamldoc_err(x, v, "latency: unknown distribution "
			    "\"%s\" (fixed, uniform, normal, lognormal, "
			    "pareto, recorded, empirical)", s);
		else
			yamldoc_err(x, v, "latency: bad duration \"%s\" (e.g. "
			    "250ms, 2s)", s);
		return;
	}
	if (yamldoc_mapping(x, v, "latency") == -1)
		return;
	YAMLDOC_PAIRS(x, v, p, k, pv, key, NULL) {
		if (strcmp(key, "max") == 0) {
			if (yamldoc_duration(x, pv, "latency: max", &ns) == 0) {
				if (ns == 0)
					yamldoc_err(x, pv, "latency: max must "
					    "be greater than 0");
				else
					l->max_ns = (double)ns;
			}
			continue;
		}
		if (dist != NULL) {
			yamldoc_err(x, k, "latency: more than one distribution "
			    "(\"%s\" and \"%s\")", dist, key);
			continue;
		}
		dist = key;
		dk = k;
		dv = pv;
	}
	if (dist == NULL) {
		yamldoc_err(x, v, "latency: no distribution (fixed, uniform, "
		    "normal, lognormal, pareto, recorded, empirical)");
		return;
	}
	rule_load_dist(x, dist, dk, dv, l);
}

/* The parameter mapping of a malform given as {kind: {...}}. */
static void
rule_load_malform_params(struct yamldoc *x, const yaml_node_t *v,
    struct fault_spec *f)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *pv;
	const char		*key, *s;
	const char		*name = fault_malform_name(f->malform);
	double			 d;
	int64_t			 i;
	size_t			 sz;

	if (yamldoc_is_null(v))
		return;
	if (yamldoc_mapping(x, v, name) == -1)
		return;
	YAMLDOC_PAIRS(x, v, p, k, pv, key, NULL) {
		if (strcmp(key, "at") == 0 &&
		    (f->malform == FAULT_MALFORM_TRUNCATE ||
		    f->malform == FAULT_MALFORM_LYING_LENGTH)) {
			if (yamldoc_double(x, pv, "malform: at", &d) == -1)
				continue;
			if (d <= 0 || (d > 1 && d != floor(d))) {
				yamldoc_err(x, pv, "malform: at: expected a "
				    "fraction in (0, 1) or a byte count, not "
				    "%g", d);
				continue;
			}
			f->truncate_at = d;
		} else if (strcmp(key, "bytes") == 0 &&
		    f->malform == FAULT_MALFORM_CORRUPT) {
			if (yamldoc_int(x, pv, "malform: bytes", 1, 1 << 20,
			    &i) == 0)
				f->corrupt_bytes = (size_t)i;
		} else if (strcmp(key, "content_type") == 0 &&
		    f->malform == FAULT_MALFORM_WRONG_CONTENT_TYPE) {
			if ((s = yamldoc_scalar(x, pv, "malform: content_type"))
			    == NULL)
				continue;
			if (strpbrk(s, "\r\n") != NULL || *s == '\0') {
				yamldoc_err(x, pv, "malform: content_type: "
				    "empty or holds a line break");
				continue;
			}
			free(f->content_type);
			f->content_type = xstrdup(s);
		} else if (strcmp(key, "size") == 0 &&
		    f->malform == FAULT_MALFORM_OVERSIZE) {
			if ((s = yamldoc_scalar(x, pv, "malform: size"))
			    == NULL)
				continue;
			if (units_parse_size(s, &sz) == -1 || sz == 0)
				yamldoc_err(x, pv, "malform: size: bad size "
				    "\"%s\" (e.g. 10MiB)", s);
			else
				f->oversize = sz;
		} else if (strcmp(key, "field") == 0 &&
		    (f->malform == FAULT_MALFORM_DROP_FIELD ||
		    f->malform == FAULT_MALFORM_SWAP_TYPES)) {
			if ((s = yamldoc_scalar(x, pv, "malform: field"))
			    == NULL)
				continue;
			free(f->field);
			f->field = xstrndup(s, pv->data.scalar.length);
		} else
			yamldoc_err(x, k, "malform: %s: unknown key \"%s\"",
			    name, key);
	}
}

static void
rule_load_malform(struct yamldoc *x, const yaml_node_t *v, struct fault_spec *f)
{
	yaml_node_t	*k, *pv;
	const char	*s;

	if (v->type == YAML_MAPPING_NODE) {
		if (yamldoc_mapping(x, v, "malform") == -1)
			return;
		if (v->data.mapping.pairs.top - v->data.mapping.pairs.start
		    != 1) {
			yamldoc_err(x, v, "malform: expected one kind, e.g. "
			    "{truncate: {at: 0.5}}");
			return;
		}
		k = yamldoc_node(x, v->data.mapping.pairs.start->key);
		pv = yamldoc_node(x, v->data.mapping.pairs.start->value);
		if (k->type != YAML_SCALAR_NODE)
			return;
	} else {
		k = (yaml_node_t *)v;
		pv = NULL;
	}
	if ((s = yamldoc_scalar(x, k, "malform")) == NULL)
		return;
	if (fault_malform_parse(s, &f->malform) == -1 ||
	    f->malform == FAULT_MALFORM_NONE) {
		f->malform = FAULT_MALFORM_NONE;
		yamldoc_err(x, k, "malform: unknown kind \"%s\" (truncate, "
		    "lying_length, corrupt, invalid_json, empty, "
		    "wrong_content_type, oversize, drop_field, swap_types, "
		    "bad_chunk)", s);
		return;
	}
	if (pv != NULL)
		rule_load_malform_params(x, pv, f);
}

/* "1KiB/s" -> bytes per second. */
static int
rule_rate(const char *s, double *bps)
{
	char	*num;
	size_t	 len = strlen(s), sz;
	int	 rv;

	if (len < 3 || strcmp(s + len - 2, "/s") != 0)
		return -1;
	num = xstrndup(s, len - 2);
	rv = units_parse_size(num, &sz);
	free(num);
	if (rv == -1 || sz == 0)
		return -1;
	*bps = (double)sz;
	return 0;
}

static int
rule_header_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (strchr("!#$%&'*+-.^_`|~", *s) == NULL &&
		    !(*s >= '0' && *s <= '9') && !(*s >= 'a' && *s <= 'z') &&
		    !(*s >= 'A' && *s <= 'Z'))
			return 0;
	}
	return 1;
}

static void
rule_load_headers(struct yamldoc *x, const yaml_node_t *map,
    struct fault_spec *f)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key, *s;
	size_t			 n;

	if (yamldoc_mapping(x, map, "headers") == -1)
		return;
	n = (size_t)(map->data.mapping.pairs.top -
	    map->data.mapping.pairs.start);
	f->headers = xcalloc(n + 1, sizeof *f->headers);
	YAMLDOC_PAIRS(x, map, p, k, v, key, NULL) {
		if (!rule_header_name_ok(key)) {
			yamldoc_err(x, k, "headers: bad header name \"%s\"",
			    key);
			continue;
		}
		if ((s = yamldoc_scalar(x, v, key)) == NULL)
			continue;
		if (strlen(s) != v->data.scalar.length ||
		    strpbrk(s, "\r\n") != NULL) {
			yamldoc_err(x, v, "headers: %s: the value holds a line "
			    "break or NUL", key);
			continue;
		}
		f->headers[f->nheaders].name = xstrdup(key);
		f->headers[f->nheaders].value = xstrdup(s);
		f->nheaders++;
	}
}

static void
rule_load_fault(struct yamldoc *x, const yaml_node_t *map, struct fault_spec *f)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v, *dripnode = NULL;
	const char		*key, *s;
	int64_t			 i;
	int			 has_drip = 0, has_conn = 0;
	double			 bps = 0;

	if (yamldoc_mapping(x, map, "fault") == -1)
		return;
	if (map->data.mapping.pairs.top == map->data.mapping.pairs.start) {
		yamldoc_err(x, map, "fault: empty (give latency, status, "
		    "headers, body, malform, connection, drip or drop)");
		return;
	}
	YAMLDOC_PAIRS(x, map, p, k, v, key, NULL) {
		if (strcmp(key, "latency") == 0)
			rule_load_latency(x, v, &f->latency);
		else if (strcmp(key, "status") == 0) {
			if (yamldoc_int(x, v, key, 100, 599, &i) == 0)
				f->status = (int)i;
		} else if (strcmp(key, "headers") == 0)
			rule_load_headers(x, v, f);
		else if (strcmp(key, "body") == 0) {
			if ((s = yamldoc_scalar(x, v, key)) == NULL)
				continue;
			free(f->body);
			f->body_len = v->data.scalar.length;
			f->body = xmalloc(f->body_len + 1);
			memcpy(f->body, s, f->body_len + 1);
			f->has_body = 1;
		} else if (strcmp(key, "malform") == 0)
			rule_load_malform(x, v, f);
		else if (strcmp(key, "connection") == 0) {
			if ((s = yamldoc_scalar(x, v, key)) == NULL)
				continue;
			if (fault_conn_parse(s, &f->connection) == -1) {
				f->connection = FAULT_CONN_NONE;
				yamldoc_err(x, v, "connection: unknown fault "
				    "\"%s\" (reset, close, close_after_headers, "
				    "hang, drip, slow_headers)", s);
				continue;
			}
			has_conn = 1;
		} else if (strcmp(key, "drip") == 0) {
			if ((s = yamldoc_scalar(x, v, key)) == NULL)
				continue;
			if (rule_rate(s, &bps) == -1) {
				yamldoc_err(x, v, "drip: bad rate \"%s\" (e.g. "
				    "1KiB/s)", s);
				continue;
			}
			has_drip = 1;
			dripnode = v;
		} else if (strcmp(key, "drop") == 0) {
			double	d;

			if (yamldoc_double(x, v, key, &d) == -1)
				continue;
			if (!(d > 0 && d <= 1)) {
				yamldoc_err(x, v, "drop: a probability in "
				    "(0, 1] is expected (%g)", d);
				continue;
			}
			f->drop = d;
		} else
			yamldoc_err(x, k, "fault: unknown key \"%s\" (latency, "
			    "status, headers, body, malform, connection, "
			    "drip, drop)", key);
	}
	if (has_drip) {
		if (!has_conn)
			f->connection = FAULT_CONN_DRIP;
		if (f->connection != FAULT_CONN_DRIP &&
		    f->connection != FAULT_CONN_SLOW_HEADERS)
			yamldoc_err(x, dripnode, "drip: only with connection: "
			    "drip or slow_headers, not %s",
			    fault_conn_name(f->connection));
		f->drip_bps = bps;
	} else if (f->connection == FAULT_CONN_DRIP ||
	    f->connection == FAULT_CONN_SLOW_HEADERS)
		f->drip_bps = 1024;
}

static int
rule_name_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > RULE_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_' || s[i] == '.'))
			return 0;
	}
	return 1;
}

static void
rule_add(struct rule_load *l, struct rule *r)
{
	if (l->nrules == l->cap) {
		l->cap = l->cap == 0 ? 8 : l->cap * 2;
		l->rules = xreallocarray(l->rules, l->cap, sizeof *l->rules);
	}
	l->rules[l->nrules++] = r;
}

/* One rule mapping; adds it unless it has an error. */
static void
rule_load_one(struct rule_load *l, const yaml_node_t *map)
{
	struct yamldoc		*x = &l->d;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v, *namenode = NULL;
	const char		*key, *s;
	struct rule_body	*b;
	int			 before = x->nerrors, enabled = 1;
	int			 has_fault = 0;
	size_t			 i;

	if (yamldoc_mapping(x, map, "rule") == -1)
		return;
	b = xcalloc(1, sizeof *b);
	atomic_init(&b->refs, 1);
	atomic_init(&b->matched, 0);
	atomic_init(&b->fired, 0);
	atomic_init(&b->burst_left, 0);
	fault_spec_init(&b->fault);
	YAMLDOC_PAIRS(x, map, p, k, v, key, NULL) {
		if (strcmp(key, "name") == 0) {
			if ((s = yamldoc_scalar(x, v, key)) == NULL)
				continue;
			if (!rule_name_ok(s, v->data.scalar.length)) {
				yamldoc_err(x, v, "name: \"%s\" must be 1 to "
				    "%d letters, digits, '-', '_' or '.'", s,
				    RULE_NAME_MAX);
				continue;
			}
			free(b->name);
			b->name = xstrdup(s);
			namenode = v;
		} else if (strcmp(key, "match") == 0)
			rule_load_match(x, v, b);
		else if (strcmp(key, "when") == 0)
			rule_load_when(x, v, b);
		else if (strcmp(key, "fault") == 0) {
			has_fault = 1;
			rule_load_fault(x, v, &b->fault);
		} else if (strcmp(key, "stop") == 0)
			yamldoc_bool(x, v, key, &b->stop);
		else if (strcmp(key, "enabled") == 0)
			yamldoc_bool(x, v, key, &enabled);
		else
			yamldoc_err(x, k, "rule: unknown key \"%s\" (name, "
			    "match, when, fault, stop, enabled)", key);
	}
	if (b->name == NULL && namenode == NULL &&
	    !yamldoc_has_key(x, map, "name"))
		yamldoc_err(x, map, "rule: missing \"name\"");
	if (!has_fault)
		yamldoc_err(x, map, "rule%s%s%s: missing \"fault\"",
		    b->name != NULL ? " \"" : "",
		    b->name != NULL ? b->name : "",
		    b->name != NULL ? "\"" : "");
	if (b->name != NULL) {
		b->origin = xasprintf("%s:%zu:%zu", x->path,
		    namenode->start_mark.line + 1,
		    namenode->start_mark.column + 1);
		for (i = 0; i < l->nrules; i++) {
			if (strcmp(l->rules[i]->b->name, b->name) == 0) {
				yamldoc_err(x, namenode, "duplicate rule name "
				    "\"%s\" (first defined at %s)", b->name,
				    l->rules[i]->b->origin);
				break;
			}
		}
	}
	if (x->nerrors != before) {
		rule_body_free(b);
		return;
	}
	rule_add(l, rule_new(b, enabled));
}

static void
rule_load_list(struct rule_load *l, const yaml_node_t *seq)
{
	struct yamldoc		*x = &l->d;
	yaml_node_item_t	*it;

	if (seq->type != YAML_SEQUENCE_NODE) {
		yamldoc_err(x, seq, "rules: expected a list, not %s",
		    yamldoc_kind(seq));
		return;
	}
	for (it = seq->data.sequence.items.start;
	    it < seq->data.sequence.items.top; it++)
		rule_load_one(l, yamldoc_node(x, *it));
}

static void
rule_load_file(struct rule_load *l, const yaml_node_t *root)
{
	struct yamldoc		*x = &l->d;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key, *s;
	char			*end;
	unsigned long long	 seed;
	int			 has_rules = 0;

	if (yamldoc_mapping(x, root, "rule file") == -1)
		return;
	YAMLDOC_PAIRS(x, root, p, k, v, key, NULL) {
		if (strcmp(key, "seed") == 0) {
			if ((s = yamldoc_scalar(x, v, key)) == NULL)
				continue;
			errno = 0;
			seed = strtoull(s, &end, 10);
			if (*s < '0' || *s > '9' || *end != '\0' ||
			    errno != 0) {
				yamldoc_err(x, v, "seed: expected a "
				    "non-negative integer, not \"%s\"", s);
				continue;
			}
			if (!l->has_seed) {
				l->seed = seed;
				l->has_seed = 1;
			}
		} else if (strcmp(key, "rules") == 0) {
			has_rules = 1;
			if (!yamldoc_is_null(v))
				rule_load_list(l, v);
		} else
			yamldoc_err(x, k, "unknown key \"%s\" (seed, rules)",
			    key);
	}
	if (!has_rules)
		yamldoc_err(x, root, "missing \"rules\"");
}

/* Records the syntax error yamldoc just met. */
static void
rule_syntax(struct yamldoc *x)
{
	const char	*problem;

	problem = x->problem != NULL ? x->problem : "YAML error";
	if (x->context != NULL)
		yamldoc_err_at(x, &x->mark, "%s %s", x->context, problem);
	else
		yamldoc_err_at(x, &x->mark, "%s", problem);
}

/*
 * Parses one text, labelled name, into l.  admin: a single rule mapping
 * or a list of rules is accepted as well as a whole file.
 */
static void
rule_load_text(struct rule_load *l, const char *name, const char *text,
    size_t len, int admin)
{
	struct yamldoc	*x = &l->d;
	yaml_node_t	*root;

	if (yamldoc_load_text(x, name, text, len) == -1)
		rule_syntax(x);
	else if ((root = x->root) != NULL) {
		if (admin && root->type == YAML_SEQUENCE_NODE)
			rule_load_list(l, root);
		else if (admin && root->type == YAML_MAPPING_NODE &&
		    !yamldoc_has_key(x, root, "rules") &&
		    !yamldoc_has_key(x, root, "seed"))
			rule_load_one(l, root);
		else
			rule_load_file(l, root);
		/* A second document would be silently ignored. */
		if (yamldoc_check_single(x) == -1)
			rule_syntax(x);
	}
	yamldoc_close(x);
}

static struct rule_set *
rule_load_finish(struct rule_load *l, char **cause)
{
	struct rule_set	*set = NULL;
	size_t		 i;

	if (yamldoc_finish(&l->d, cause) == -1) {
		for (i = 0; i < l->nrules; i++)
			rule_unref(l->rules[i]);
		free(l->rules);
	} else {
		set = rule_set_new(0);
		set->rules = l->rules;
		set->n = l->nrules;
	}
	yamldoc_free(&l->d);
	return set;
}

static char *
rule_read_file(const char *path, size_t *len, char **cause)
{
	FILE	*f;
	char	*data = NULL;
	size_t	 cap = 0, n;

	*len = 0;
	if ((f = fopen(path, "rb")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (*len == cap) {
			cap = cap == 0 ? 8192 : cap * 2;
			data = xrealloc(data, cap + 1);
		}
		n = fread(data + *len, 1, cap - *len, f);
		*len += n;
		if (n == 0)
			break;
		/* -r /dev/zero must not eat the memory. */
		if (*len > YAMLDOC_MAX_BYTES) {
			*cause = xasprintf("%s: larger than %d MiB", path,
			    YAMLDOC_MAX_MIB);
			fclose(f);
			free(data);
			return NULL;
		}
	}
	if (ferror(f)) {
		*cause = xasprintf("%s: read error", path);
		fclose(f);
		free(data);
		return NULL;
	}
	fclose(f);
	data[*len] = '\0';
	return data;
}

struct rule_set *
rule_set_load(const char *const *paths, size_t npaths, uint64_t *seed,
    int *has_seed, char **cause)
{
	struct rule_load	 l;
	struct rule_set		*set;
	char			*text, *why;
	size_t			 i, len;

	memset(&l, 0, sizeof l);
	yamldoc_init(&l.d);
	l.d.max_keys = RULE_MAX_KEYS;
	for (i = 0; i < npaths; i++) {
		why = NULL;
		if ((text = rule_read_file(paths[i], &len, &why)) == NULL) {
			yamldoc_err_at(&l.d, NULL, "%s", why);
			free(why);
			continue;
		}
		rule_load_text(&l, paths[i], text, len, 0);
		free(text);
	}
	set = rule_load_finish(&l, cause);
	if (set != NULL) {
		if (seed != NULL && l.has_seed)
			*seed = l.seed;
		if (has_seed != NULL)
			*has_seed = l.has_seed;
	}
	return set;
}

struct rule_set *
rule_set_parse(const char *name, const char *text, size_t len, char **cause)
{
	struct rule_load	 l;

	memset(&l, 0, sizeof l);
	yamldoc_init(&l.d);
	l.d.max_keys = RULE_MAX_KEYS;
	rule_load_text(&l, name, text, len, 1);
	return rule_load_finish(&l, cause);
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

struct rule_set *
rule_set_remove(const struct rule_set *set, const char *name, char **cause)
{
	struct rule_set	*new;
	ssize_t		 at;
	size_t		 i;

	if ((at = rule_set_index(set, name)) == -1) {
		*cause = xasprintf("no rule named \"%s\"", name);
		return NULL;
	}
	new = rule_set_new(set->n);
	for (i = 0; i < set->n; i++) {
		if (i != (size_t)at)
			new->rules[new->n++] = rule_ref(set->rules[i]);
	}
	return new;
}

struct rule_set *
rule_set_enable(const struct rule_set *set, const char *name, int enabled,
    char **cause)
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
		if (i == (size_t)at && r->enabled != !!enabled) {
			atomic_fetch_add(&r->b->refs, 1);
			new->rules[new->n++] = rule_new(r->b, !!enabled);
		} else
			new->rules[new->n++] = rule_ref(r);
	}
	return new;
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

static void
rule_describe_latency(const struct fault_latency *l, struct buf *out)
{
	int	first = 1;

	buf_append_byte(out, '{');
	rule_json_str(out, &first, "kind", fault_latency_name(l->kind),
	    strlen(fault_latency_name(l->kind)));
	switch (l->kind) {
	case FAULT_LAT_FIXED:
		rule_json_num(out, &first, "ns", l->a);
		break;
	case FAULT_LAT_UNIFORM:
		rule_json_num(out, &first, "min_ns", l->a);
		rule_json_num(out, &first, "max_ns", l->b);
		break;
	case FAULT_LAT_NORMAL:
		rule_json_num(out, &first, "mean_ns", l->a);
		rule_json_num(out, &first, "stddev_ns", l->b);
		break;
	case FAULT_LAT_LOGNORMAL:
		rule_json_num(out, &first, "mu_ln_ns", l->a);
		rule_json_num(out, &first, "sigma", l->b);
		break;
	case FAULT_LAT_PARETO:
		rule_json_num(out, &first, "scale_ns", l->a);
		rule_json_num(out, &first, "shape", l->b);
		break;
	case FAULT_LAT_RECORDED:
		rule_json_num(out, &first, "scale", l->a);
		break;
	default:
		break;
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
			rule_json_u64(out, &first, "bytes",
			    f->corrupt_bytes);
			break;
		case FAULT_MALFORM_WRONG_CONTENT_TYPE:
			s = f->content_type != NULL ? f->content_type :
			    "text/html";
			rule_json_str(out, &first, "content_type", s,
			    strlen(s));
			break;
		case FAULT_MALFORM_OVERSIZE:
			rule_json_u64(out, &first, "size",
			    f->oversize);
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
	if (f->connection != FAULT_CONN_NONE) {
		s = fault_conn_name(f->connection);
		rule_json_str(out, &first, "connection", s, strlen(s));
		if (f->connection == FAULT_CONN_DRIP ||
		    f->connection == FAULT_CONN_SLOW_HEADERS)
			rule_json_num(out, &first, "drip_bps", f->drip_bps);
	}
	if (f->drop > 0)
		rule_json_num(out, &first, "drop", f->drop);
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
