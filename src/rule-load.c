/*
 * rule-load.c -- the chaos rule loader (rule.h: rule_set_load,
 * rule_set_parse): YAML, or JSON read as YAML flow, through libyaml's
 * document API so every node keeps its line and column; every error of
 * every file is collected as "FILE:LINE:COL: message" and the load fails
 * once.  Regexes are compiled (and JIT-compiled) here, once.
 */
#include "config.h"

#include "rule-int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"
#include "fault.h"
#include "grpc.h"
#include "route.h"
#include "rule.h"
#include "units.h"
#include "xmalloc.h"
#include "yamldoc.h"

#define RULE_NAME_MAX		128
#define RULE_MAX_KEYS		1024
/* ln(1e6): a mu given for ln(milliseconds) becomes one for ln(ns). */
#define RULE_LN_MS_TO_NS	13.815510557964274

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

/*
 * match.route: an endpoint template ("/orders/{id}", as `decoy inspect`
 * and the report show them, route.h): each {...} segment stands for one
 * non-empty path segment, the others must be equal.
 */
static void
rule_load_route(struct yamldoc *x, const yaml_node_t *v, struct rule_body *b)
{
	const char	*s;

	if ((s = yamldoc_scalar(x, v, "route")) == NULL)
		return;
	if (*s != '/' && strcmp(s, "*") != 0) {
		yamldoc_err(x, v, "route: expected a path template such as "
		    "\"/orders/{id}\", not \"%s\"", s);
		return;
	}
	free(b->route);
	b->route = xstrdup(s);
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
		else if (strcmp(key, "route") == 0)
			rule_load_route(x, v, b);
		else if (strcmp(key, "body") == 0)
			rule_regex(x, v, "body", 0, 0, &b->body);
		else if (strcmp(key, "query") == 0)
			rule_load_kvs(x, v, "query", 0, &b->query, &b->nquery);
		else if (strcmp(key, "headers") == 0)
			rule_load_kvs(x, v, "headers", 0, &b->headers,
			    &b->nheaders);
		else
			yamldoc_err(x, k, "match: unknown key \"%s\" (dir, "
			    "host, method, path, route, query, headers, body)",
			    key);
	}
}

/*
 * A sequence of two durations [a, b] into t; what and form label the
 * error ("between", "[from, to]").  0, or -1 after an error.
 */
static int
rule_load_durations(struct yamldoc *x, const yaml_node_t *v,
    const char *what, const char *form, uint64_t t[2])
{
	yaml_node_t	*a, *z;

	if (v->type != YAML_SEQUENCE_NODE ||
	    v->data.sequence.items.top - v->data.sequence.items.start != 2) {
		yamldoc_err(x, v, "%s: expected two durations %s", what, form);
		return -1;
	}
	a = yamldoc_node(x, v->data.sequence.items.start[0]);
	z = yamldoc_node(x, v->data.sequence.items.start[1]);
	if (yamldoc_duration(x, a, what, &t[0]) == -1 ||
	    yamldoc_duration(x, z, what, &t[1]) == -1)
		return -1;
	return 0;
}

static void
rule_load_when(struct yamldoc *x, const yaml_node_t *map, struct rule_body *b)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
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
			if (rule_load_durations(x, v, "between", "[from, to]",
			    t) == -1)
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

/*
 * The keys of a distribution given as a mapping (rule_dist_keys): each
 * duration into dur[slot] or number into num[slot], *have the bits of
 * the slots given.  0, or -1 after an error.
 */
static int
rule_load_dist_keys(struct yamldoc *x, const char *dist, const yaml_node_t *v,
    uint64_t dur[4], double num[4], int *have)
{
	yaml_node_pair_t		*p;
	yaml_node_t			*pk, *pv;
	const struct rule_dist_key	*dk;
	const char			*key;
	size_t				 i;
	int				 bad = 0;

	if (yamldoc_mapping(x, v, dist) == -1)
		return -1;
	YAMLDOC_PAIRS(x, v, p, pk, pv, key, NULL) {
		for (i = 0; i < RULE_NDIST_KEYS; i++) {
			dk = &rule_dist_keys[i];
			if (strcmp(dist, dk->dist) == 0 &&
			    strcmp(key, dk->key) == 0)
				break;
		}
		if (i == RULE_NDIST_KEYS) {
			yamldoc_err(x, pk, "latency: %s: unknown key \"%s\"",
			    dist, key);
			bad = -1;
			continue;
		}
		if (dk->duration)
			bad |= yamldoc_duration(x, pv, key, &dur[dk->slot]);
		else
			bad |= yamldoc_double(x, pv, key, &num[dk->slot]);
		*have |= 1 << dk->slot;
	}
	return bad ? -1 : 0;
}

/* lognormal: median and p99 (have 3), or mu and sigma (have 12). */
static void
rule_load_lognormal(struct yamldoc *x, const yaml_node_t *v, int have,
    const uint64_t dur[4], const double num[4], struct fault_latency *l)
{
	uint64_t	median = dur[0], p99 = dur[1];
	double		mu = num[2], sigma = num[3];

	if (have == 3) {
		if (median == 0 || p99 <= median) {
			yamldoc_err(x, v, "latency: lognormal: p99 must be "
			    "greater than median (and median greater than 0)");
			return;
		}
		if (fault_lognormal_from_quantiles(l, (double)median,
		    (double)p99) == -1) {
			yamldoc_err(x, v, "latency: lognormal: bad median and "
			    "p99");
			return;
		}
		l->kind = FAULT_LAT_LOGNORMAL;
	} else if (have == 12) {
		if (sigma <= 0 || fabs(mu) > 100 || sigma > 100) {
			yamldoc_err(x, v, "latency: lognormal: sigma must be "
			    "in (0, 100] and mu in [-100, 100]");
			return;
		}
		l->kind = FAULT_LAT_LOGNORMAL;
		l->a = mu + RULE_LN_MS_TO_NS;
		l->b = sigma;
	} else
		yamldoc_err(x, v, "latency: lognormal: needs median and p99, "
		    "or mu and sigma");
}

/* normal, lognormal or pareto, given as a mapping of their keys. */
static void
rule_load_dist_map(struct yamldoc *x, const char *dist, const yaml_node_t *v,
    struct fault_latency *l)
{
	uint64_t	dur[4] = { 0 };
	double		num[4] = { 0 };
	int		have = 0;

	if (rule_load_dist_keys(x, dist, v, dur, num, &have) == -1)
		return;
	if (strcmp(dist, "lognormal") == 0) {
		rule_load_lognormal(x, v, have, dur, num, l);
		return;
	}
	if (have != 3) {
		yamldoc_err(x, v, "latency: %s: needs %s", dist,
		    strcmp(dist, "normal") == 0 ? "mean and stddev" :
		    "scale and shape");
		return;
	}
	if (strcmp(dist, "normal") == 0) {
		l->kind = FAULT_LAT_NORMAL;
		l->a = (double)dur[0];
		l->b = (double)dur[1];
		return;
	}
	if (dur[0] == 0 || num[1] <= 0) {
		yamldoc_err(x, v, "latency: pareto: scale and shape must be "
		    "greater than 0");
		return;
	}
	l->kind = FAULT_LAT_PARETO;
	l->a = (double)dur[0];
	l->b = num[1];
}

/* Fills in the parameters of one latency distribution. */
static void
rule_load_dist(struct yamldoc *x, const char *dist, const yaml_node_t *k,
    const yaml_node_t *v, struct fault_latency *l)
{
	uint64_t	t[2];
	double		d;

	if (strcmp(dist, "fixed") == 0) {
		if (yamldoc_duration(x, v, "latency: fixed", &t[0]) == 0) {
			l->kind = FAULT_LAT_FIXED;
			l->a = (double)t[0];
		}
	} else if (strcmp(dist, "uniform") == 0) {
		if (rule_load_durations(x, v, "latency: uniform", "[min, max]",
		    t) == -1)
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
	    strcmp(dist, "lognormal") == 0 || strcmp(dist, "pareto") == 0)
		rule_load_dist_map(x, dist, v, l);
	else
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
		    "bad_chunk, grpc_bad_length, grpc_truncate, "
		    "grpc_bad_protobuf)", s);
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

/* The gRPC keys of a fault: grpc (a code by name or number),
 * grpc_message, per_message. */
static void
rule_load_grpc(struct yamldoc *x, const yaml_node_t *v,
    const char *key, struct fault_spec *f)
{
	const char	*s;
	int		 code, b;

	if (strcmp(key, "per_message") == 0) {
		if (yamldoc_bool(x, v, key, &b) == 0)
			f->per_message = b;
		return;
	}
	if ((s = yamldoc_scalar(x, v, key)) == NULL)
		return;
	if (strcmp(key, "grpc_message") == 0) {
		free(f->grpc_message);
		f->grpc_message = xstrndup(s, v->data.scalar.length);
		return;
	}
	if ((code = grpc_code_parse(s, strlen(s))) == -1) {
		yamldoc_err(x, v, "grpc: unknown status code \"%s\" (OK, "
		    "CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, "
		    "... UNAUTHENTICATED, or 0 to 16)", s);
		return;
	}
	f->has_grpc = 1;
	f->grpc_code = code;
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
		    "headers, body, malform, connection, drip, drop or "
		    "grpc)");
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
				    "hang, drip, slow_headers, stall, "
				    "settings_timeout)", s);
				continue;
			}
			if (f->connection == FAULT_CONN_RST_STREAM)
				f->h2_code = 2;		/* INTERNAL_ERROR */
			has_conn = 1;
		} else if (strcmp(key, "rst_stream") == 0 ||
		    strcmp(key, "goaway") == 0) {
			if ((s = yamldoc_scalar(x, v, key)) == NULL)
				continue;
			if (fault_h2_code_parse(s, &f->h2_code) == -1) {
				yamldoc_err(x, v, "%s: unknown HTTP/2 error code "
				    "\"%s\" (NO_ERROR, PROTOCOL_ERROR, "
				    "INTERNAL_ERROR, REFUSED_STREAM, CANCEL, "
				    "ENHANCE_YOUR_CALM... or a number)", key, s);
				continue;
			}
			if (has_conn)
				yamldoc_err(x, k, "%s: one connection fault per "
				    "rule (%s given)", key,
				    fault_conn_name(f->connection));
			f->connection = key[0] == 'r' ? FAULT_CONN_RST_STREAM :
			    FAULT_CONN_GOAWAY;
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
		} else if (strcmp(key, "grpc") == 0 ||
		    strcmp(key, "grpc_message") == 0 ||
		    strcmp(key, "per_message") == 0)
			rule_load_grpc(x, v, key, f);
		else if (strcmp(key, "drop") == 0) {
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
			    "rst_stream, goaway, drip, drop, grpc, "
			    "grpc_message, per_message)", key);
	}
	if (f->grpc_message != NULL && !f->has_grpc)
		yamldoc_err(x, map, "grpc_message: only with grpc");
	if (f->per_message && f->latency.kind == FAULT_LAT_NONE)
		yamldoc_err(x, map, "per_message: only with latency");
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
