/*
 * scenario.c -- the scenario file loader (scenario.h, DESIGN.md section
 * 5).  The YAML is loaded as a libyaml document so that every node keeps
 * its line and column; the walker checks each section's keys, types and
 * values, collects every error as "FILE:LINE:COL: message" and the load
 * fails once, at the end, with all of them.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"
#include "scenario.h"
#include "units.h"
#include "xmalloc.h"

/* A scenario file larger than this is certainly a mistake. */
#define SCENARIO_MAX_FILE	(1024 * 1024)
/* Keys per mapping; duplicates are checked pairwise below this. */
#define SCENARIO_MAX_KEYS	256

static const char *const scenario_pct_names[SCENARIO_NPCT] = {
	"p50", "p90", "p95", "p99", "p999", "max"
};
static const double scenario_pct_values[SCENARIO_NPCT] = {
	50.0, 90.0, 95.0, 99.0, 99.9, 100.0
};

const char *
scenario_pct_name(enum scenario_pct p)
{
	return scenario_pct_names[p];
}

double
scenario_pct_value(enum scenario_pct p)
{
	return scenario_pct_values[p];
}

int
scenario_parse_rate(const char *s, double *per_s)
{
	char	*end;
	double	 v, div = 1.0;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(v) || v <= 0)
		return -1;
	if (strcmp(end, "/s") == 0 || *end == '\0')
		div = 1.0;
	else if (strcmp(end, "/m") == 0 || strcmp(end, "/min") == 0)
		div = 60.0;
	else if (strcmp(end, "/h") == 0)
		div = 3600.0;
	else
		return -1;
	*per_s = v / div;
	return 0;
}

int
scenario_parse_ratio(const char *s, double *r)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(v) || v < 0)
		return -1;
	if (strcmp(end, "%") == 0)
		v /= 100.0;
	else if (*end != '\0')
		return -1;
	if (v > 1.0)
		return -1;
	*r = v;
	return 0;
}

/* --- the YAML walker -------------------------------------------------- */

struct scenario_ctx {
	const char		*path;		/* labels errors */
	yaml_document_t		*doc;
	struct buf		 errors;
	int			 nerrors;
	struct scenario		*sc;
	int			 has_body;	/* body: was given */
	const yaml_node_t	*ignore_node;
};

static void scenario_err(struct scenario_ctx *, const yaml_node_t *,
    const char *, ...) __attribute__((format(printf, 3, 4)));

/*
 * Appends one error line.  Control characters quoted from the file become
 * '?' so that one error is always one line.
 */
static void
scenario_err(struct scenario_ctx *x, const yaml_node_t *n, const char *fmt,
    ...)
{
	va_list	ap;
	size_t	i, start;

	if (x->nerrors++ > 0)
		buf_append_byte(&x->errors, '\n');
	buf_printf(&x->errors, "%s:%zu:%zu: ", x->path,
	    n->start_mark.line + 1, n->start_mark.column + 1);
	start = x->errors.len;
	va_start(ap, fmt);
	buf_vprintf(&x->errors, fmt, ap);
	va_end(ap);
	for (i = start; i < x->errors.len; i++) {
		if ((unsigned char)x->errors.data[i] < 0x20 ||
		    x->errors.data[i] == 0x7f)
			x->errors.data[i] = '?';
	}
}

static yaml_node_t *
scenario_node(struct scenario_ctx *x, int id)
{
	return yaml_document_get_node(x->doc, id);
}

static const char *
scenario_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a value";
	}
}

static const char *
scenario_scalar(struct scenario_ctx *x, const yaml_node_t *n,
    const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		scenario_err(x, n, "%s: expected a single value, not %s", what,
		    scenario_kind(n));
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

/*
 * Checks that n is a mapping whose keys are distinct scalars.  Returns -1
 * (reported) when it is not a mapping at all; bad or repeated keys are
 * reported and the caller skips them (scenario_key returns NULL).
 */
static int
scenario_mapping(struct scenario_ctx *x, const yaml_node_t *n,
    const char *what)
{
	yaml_node_pair_t	*p, *q;
	yaml_node_t		*k, *k2;

	if (n->type != YAML_MAPPING_NODE) {
		scenario_err(x, n, "%s: expected a mapping, not %s", what,
		    scenario_kind(n));
		return -1;
	}
	if (n->data.mapping.pairs.top - n->data.mapping.pairs.start >
	    SCENARIO_MAX_KEYS) {
		scenario_err(x, n, "%s: more than %d keys", what,
		    SCENARIO_MAX_KEYS);
		return -1;
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = scenario_node(x, p->key);
		if (k->type != YAML_SCALAR_NODE)
			continue;
		for (q = n->data.mapping.pairs.start; q < p; q++) {
			k2 = scenario_node(x, q->key);
			if (k2->type == YAML_SCALAR_NODE &&
			    strcmp((char *)k->data.scalar.value,
			    (char *)k2->data.scalar.value) == 0) {
				scenario_err(x, k, "%s: duplicate key \"%s\"",
				    what, (char *)k->data.scalar.value);
				break;
			}
		}
	}
	return 0;
}

/* The key of a pair, NULL (reported) when it is not a scalar or repeats
 * an earlier one. */
static const char *
scenario_key(struct scenario_ctx *x, const yaml_node_t *map,
    const yaml_node_pair_t *p, const char *what)
{
	const yaml_node_pair_t	*q;
	yaml_node_t		*k, *k2;

	k = scenario_node(x, p->key);
	if (k->type != YAML_SCALAR_NODE) {
		scenario_err(x, k, "%s: a key must be a single value, not %s",
		    what, scenario_kind(k));
		return NULL;
	}
	for (q = map->data.mapping.pairs.start; q < p; q++) {
		k2 = scenario_node(x, q->key);
		if (k2->type == YAML_SCALAR_NODE &&
		    strcmp((char *)k->data.scalar.value,
		    (char *)k2->data.scalar.value) == 0)
			return NULL;	/* reported by scenario_mapping */
	}
	return (const char *)k->data.scalar.value;
}

static char *
scenario_path(struct scenario_ctx *x, const char *p)
{
	if (p[0] == '/' || strcmp(x->sc->dir, ".") == 0)
		return xstrdup(p);
	return xasprintf("%s/%s", x->sc->dir, p);
}

/* A non-empty string value into *out (replacing it); resolve: a path. */
static void
scenario_string(struct scenario_ctx *x, const yaml_node_t *v,
    const char *what, int resolve, char **out)
{
	const char	*s;

	if ((s = scenario_scalar(x, v, what)) == NULL)
		return;
	if (*s == '\0') {
		scenario_err(x, v, "%s: expected a value, not nothing", what);
		return;
	}
	free(*out);
	*out = resolve ? scenario_path(x, s) : xstrdup(s);
}

/* A list of non-empty strings (or a single one) appended to *v, *n. */
static void
scenario_strings(struct scenario_ctx *x, const yaml_node_t *v,
    const char *what, int resolve, char ***list, size_t *n)
{
	yaml_node_item_t	*item;
	yaml_node_t		*e;
	const char		*s;

	if (v->type == YAML_SCALAR_NODE) {
		if ((s = scenario_scalar(x, v, what)) == NULL)
			return;
		if (*s == '\0') {
			scenario_err(x, v, "%s: expected a value, not "
			    "nothing", what);
			return;
		}
		*list = xreallocarray(*list, *n + 1, sizeof **list);
		(*list)[(*n)++] = resolve ? scenario_path(x, s) : xstrdup(s);
		return;
	}
	if (v->type != YAML_SEQUENCE_NODE) {
		scenario_err(x, v, "%s: expected a list, not %s", what,
		    scenario_kind(v));
		return;
	}
	for (item = v->data.sequence.items.start;
	    item < v->data.sequence.items.top; item++) {
		e = scenario_node(x, *item);
		if ((s = scenario_scalar(x, e, what)) == NULL)
			continue;
		if (*s == '\0') {
			scenario_err(x, e, "%s: expected a value, not "
			    "nothing", what);
			continue;
		}
		*list = xreallocarray(*list, *n + 1, sizeof **list);
		(*list)[(*n)++] = resolve ? scenario_path(x, s) : xstrdup(s);
	}
}

static int
scenario_duration(struct scenario_ctx *x, const yaml_node_t *v,
    const char *what, int zero_ok, uint64_t *ns)
{
	const char	*s;
	uint64_t	 d;

	if ((s = scenario_scalar(x, v, what)) == NULL)
		return -1;
	if (units_parse_duration(s, &d) == -1 || (d == 0 && !zero_ok)) {
		scenario_err(x, v, "%s: expected a duration such as 250ms, "
		    "10s or 2m, not \"%s\"", what, s);
		return -1;
	}
	*ns = d;
	return 0;
}

static int
scenario_uint(struct scenario_ctx *x, const yaml_node_t *v, const char *what,
    unsigned long min, unsigned long max, unsigned *out)
{
	const char		*s;
	char			*end;
	unsigned long long	 l;

	if ((s = scenario_scalar(x, v, what)) == NULL)
		return -1;
	errno = 0;
	l = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || l < min ||
	    l > max) {
		scenario_err(x, v, "%s: expected a whole number from %lu to "
		    "%lu, not \"%s\"", what, min, max, s);
		return -1;
	}
	*out = (unsigned)l;
	return 0;
}

static int
scenario_positive(struct scenario_ctx *x, const yaml_node_t *v,
    const char *what, double max, double *out)
{
	const char	*s;
	char		*end;
	double		 d;

	if ((s = scenario_scalar(x, v, what)) == NULL)
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(d) ||
	    d <= 0 || d > max) {
		scenario_err(x, v, "%s: expected a number above 0 and at most "
		    "%g, not \"%s\"", what, max, s);
		return -1;
	}
	*out = d;
	return 0;
}

static int
scenario_rate(struct scenario_ctx *x, const yaml_node_t *v, const char *what,
    double *out)
{
	const char	*s;

	if ((s = scenario_scalar(x, v, what)) == NULL)
		return -1;
	if (scenario_parse_rate(s, out) == -1) {
		scenario_err(x, v, "%s: expected a rate such as 500/s, 30/m "
		    "or 3600/h, not \"%s\"", what, s);
		return -1;
	}
	return 0;
}

/* Iterates over the pairs of mapping m: k, v the nodes, key the name. */
#define SCENARIO_EACH(x, m, P, K, V, KEY, what)				\
	for ((P) = (m)->data.mapping.pairs.start;			\
	    (P) < (m)->data.mapping.pairs.top; (P)++)			\
		if (((K) = scenario_node((x), (P)->key)) == NULL ||	\
		    ((V) = scenario_node((x), (P)->value)) == NULL ||	\
		    ((KEY) = scenario_key((x), (m), (P), (what))) == NULL) \
			continue;					\
		else

static void
scenario_ready(struct scenario_ctx *x, const yaml_node_t *m)
{
	struct scenario		*sc = x->sc;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key, *s;

	if (scenario_mapping(x, m, "ready") == -1)
		return;
	SCENARIO_EACH(x, m, p, k, v, key, "ready") {
		if (strcmp(key, "path") == 0) {
			if ((s = scenario_scalar(x, v, "ready.path")) == NULL)
				continue;
			if (*s != '/')
				scenario_err(x, v, "ready.path: expected a "
				    "path starting with /, not \"%s\"", s);
			else {
				free(sc->ready_path);
				sc->ready_path = xstrdup(s);
			}
		} else if (strcmp(key, "timeout") == 0)
			scenario_duration(x, v, "ready.timeout", 0,
			    &sc->ready_timeout_ns);
		else
			scenario_err(x, k, "ready: unknown key \"%s\" (path, "
			    "timeout)", key);
	}
}

static int
scenario_env_name_is_valid(const char *s)
{
	size_t	i;

	if (*s == '\0' || (*s >= '0' && *s <= '9'))
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	}
	return 1;
}

static void
scenario_env(struct scenario_ctx *x, const yaml_node_t *m)
{
	struct scenario		*sc = x->sc;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key, *s;

	if (scenario_mapping(x, m, "env") == -1)
		return;
	SCENARIO_EACH(x, m, p, k, v, key, "env") {
		if (!scenario_env_name_is_valid(key)) {
			scenario_err(x, k, "env: \"%s\" is not a variable "
			    "name (letters, digits, _)", key);
			continue;
		}
		if ((s = scenario_scalar(x, v, key)) == NULL)
			continue;
		sc->env = xreallocarray(sc->env, sc->nenv + 1,
		    sizeof *sc->env);
		sc->env[sc->nenv++] = xasprintf("%s=%s", key, s);
	}
}

static void
scenario_service(struct scenario_ctx *x, const yaml_node_t *m)
{
	struct scenario		*sc = x->sc;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key, *s;
	int			 has_url = 0;

	if (scenario_mapping(x, m, "service") == -1)
		return;
	SCENARIO_EACH(x, m, p, k, v, key, "service") {
		if (strcmp(key, "url") == 0) {
			has_url = 1;
			if ((s = scenario_scalar(x, v, "service.url")) == NULL)
				continue;
			if (strncmp(s, "http://", 7) != 0 || s[7] == '\0' ||
			    s[7] == '/')
				scenario_err(x, v, "service.url: expected "
				    "http://HOST:PORT, not \"%s\"", s);
			else {
				free(sc->url);
				sc->url = xstrdup(s);
			}
		} else if (strcmp(key, "command") == 0)
			scenario_string(x, v, "service.command", 0,
			    &sc->command);
		else if (strcmp(key, "ready") == 0)
			scenario_ready(x, v);
		else if (strcmp(key, "env") == 0)
			scenario_env(x, v);
		else
			scenario_err(x, k, "service: unknown key \"%s\" (url, "
			    "command, ready, env)", key);
	}
	if (!has_url)
		scenario_err(x, m, "service: missing \"url\"");
}

static void
scenario_responder(struct scenario_ctx *x, const yaml_node_t *m)
{
	struct scenario		*sc = x->sc;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key, *s;

	if (scenario_mapping(x, m, "responder") == -1)
		return;
	sc->has_responder = 1;
	SCENARIO_EACH(x, m, p, k, v, key, "responder") {
		if (strcmp(key, "listen") == 0) {
			if ((s = scenario_scalar(x, v, "responder.listen")) ==
			    NULL)
				continue;
			if (strrchr(s, ':') == NULL)
				scenario_err(x, v, "responder.listen: "
				    "expected HOST:PORT, not \"%s\"", s);
			else {
				free(sc->listen);
				sc->listen = xstrdup(s);
			}
		} else if (strcmp(key, "rules") == 0)
			scenario_strings(x, v, "responder.rules", 1,
			    &sc->rules, &sc->nrules);
		else if (strcmp(key, "unmatched") == 0) {
			if ((s = scenario_scalar(x, v,
			    "responder.unmatched")) == NULL)
				continue;
			if (strcmp(s, "passthrough") == 0)
				scenario_err(x, v, "responder.unmatched: "
				    "passthrough is not implemented yet (use "
				    "404 or closest)");
			else if (strcmp(s, "404") != 0 &&
			    strcmp(s, "closest") != 0)
				scenario_err(x, v, "responder.unmatched: "
				    "expected 404 or closest, not \"%s\"", s);
			else {
				free(sc->unmatched);
				sc->unmatched = xstrdup(s);
			}
		} else if (strcmp(key, "seed") == 0) {
			if ((s = scenario_scalar(x, v, "responder.seed")) ==
			    NULL)
				continue;
			if (units_parse_seed(s, &sc->seed) == -1)
				scenario_err(x, v, "responder.seed: expected "
				    "an unsigned integer, not \"%s\"", s);
			else
				sc->has_seed = 1;
		} else
			scenario_err(x, k, "responder: unknown key \"%s\" "
			    "(listen, rules, unmatched, seed)", key);
	}
	if (sc->listen == NULL)
		sc->listen = xstrdup("127.0.0.1:0");
}

static void
scenario_load_section(struct scenario_ctx *x, const yaml_node_t *m)
{
	static const char *const patterns[] = {
		"replay", "constant", "ramp", "steps", "closed"
	};
	struct scenario		*sc = x->sc;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const yaml_node_t	*rate = NULL, *mult = NULL, *clones = NULL;
	const yaml_node_t	*from = NULL, *steps = NULL;
	const char		*key, *s;
	size_t			 i;
	int			 has_pattern = 0;

	if (scenario_mapping(x, m, "load") == -1)
		return;
	SCENARIO_EACH(x, m, p, k, v, key, "load") {
		if (strcmp(key, "pattern") == 0) {
			if ((s = scenario_scalar(x, v, "load.pattern")) ==
			    NULL)
				continue;
			for (i = 0; i < sizeof patterns / sizeof *patterns;
			    i++) {
				if (strcmp(s, patterns[i]) == 0)
					break;
			}
			if (i == sizeof patterns / sizeof *patterns)
				scenario_err(x, v, "load.pattern: expected "
				    "replay, constant, ramp, steps or closed, "
				    "not \"%s\"", s);
			else {
				sc->pattern = (enum scenario_pattern)i;
				has_pattern = 1;
			}
		} else if (strcmp(key, "multiplier") == 0) {
			if (scenario_positive(x, v, "load.multiplier", 1e6,
			    &sc->multiplier) == 0)
				mult = v;
		} else if (strcmp(key, "clones") == 0) {
			if (scenario_uint(x, v, "load.clones", 1, 100000,
			    &sc->clones) == 0)
				clones = v;
		} else if (strcmp(key, "rate") == 0) {
			if (scenario_rate(x, v, "load.rate", &sc->rate) == 0)
				rate = v;
		} else if (strcmp(key, "rate_from") == 0) {
			if (scenario_rate(x, v, "load.rate_from",
			    &sc->rate_from) == 0)
				from = v;
		} else if (strcmp(key, "steps") == 0) {
			if (scenario_uint(x, v, "load.steps", 1, 1000,
			    &sc->steps) == 0)
				steps = v;
		} else if (strcmp(key, "duration") == 0)
			scenario_duration(x, v, "load.duration", 1,
			    &sc->duration_ns);
		else if (strcmp(key, "connections") == 0)
			scenario_uint(x, v, "load.connections", 1, 65536,
			    &sc->connections);
		else if (strcmp(key, "timeout") == 0)
			scenario_duration(x, v, "load.timeout", 0,
			    &sc->timeout_ns);
		else
			scenario_err(x, k, "load: unknown key \"%s\" (pattern, "
			    "multiplier, clones, rate, rate_from, steps, "
			    "duration, connections, timeout)", key);
	}
	if (!has_pattern)
		return;		/* replay: nothing to check */
	switch (sc->pattern) {
	case SCENARIO_REPLAY:
		if (mult != NULL && clones != NULL && sc->multiplier != 1.0 &&
		    sc->clones > 1)
			scenario_err(x, clones, "load.clones: cannot be "
			    "combined with multiplier (pick one)");
		break;
	case SCENARIO_CONSTANT:
	case SCENARIO_RAMP:
	case SCENARIO_STEPS:
		if (rate == NULL)
			scenario_err(x, m, "load: pattern %s needs a rate",
			    patterns[sc->pattern]);
		if (sc->pattern != SCENARIO_CONSTANT && sc->duration_ns == 0)
			scenario_err(x, m, "load: pattern %s needs a "
			    "duration", patterns[sc->pattern]);
		/* FALLTHROUGH */
	case SCENARIO_CLOSED:
		if (mult != NULL)
			scenario_err(x, mult, "load.multiplier: only for "
			    "pattern replay");
		if (clones != NULL)
			scenario_err(x, clones, "load.clones: only for "
			    "pattern replay");
		break;
	}
	if (from != NULL && sc->pattern != SCENARIO_RAMP)
		scenario_err(x, from, "load.rate_from: only for pattern ramp");
	if (from != NULL && rate != NULL && sc->rate_from > sc->rate)
		scenario_err(x, from, "load.rate_from: above load.rate");
	if (steps != NULL && sc->pattern != SCENARIO_STEPS)
		scenario_err(x, steps, "load.steps: only for pattern steps");
	if (sc->pattern == SCENARIO_STEPS && steps == NULL)
		sc->steps = 5;
}

static void
scenario_latency(struct scenario_ctx *x, const yaml_node_t *m)
{
	struct scenario		*sc = x->sc;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key;
	char			*what;
	uint64_t		 ns;
	size_t			 i;

	if (scenario_mapping(x, m, "assert.latency") == -1)
		return;
	SCENARIO_EACH(x, m, p, k, v, key, "assert.latency") {
		for (i = 0; i < SCENARIO_NPCT; i++) {
			if (strcmp(key, scenario_pct_names[i]) == 0)
				break;
		}
		if (i == SCENARIO_NPCT) {
			scenario_err(x, k, "assert.latency: unknown key "
			    "\"%s\" (p50, p90, p95, p99, p999, max)", key);
			continue;
		}
		what = xasprintf("assert.latency.%s", key);
		if (scenario_duration(x, v, what, 0, &ns) == 0) {
			sc->has_latency[i] = 1;
			/* Round up: "1500ns" must not become a 1 us bound. */
			sc->latency_us[i] = ns / 1000 + (ns % 1000 != 0);
		}
		free(what);
	}
}

static void
scenario_regression(struct scenario_ctx *x, const yaml_node_t *m)
{
	struct scenario		*sc = x->sc;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key, *s;
	size_t			 i, before;

	if (scenario_mapping(x, m, "assert.regression") == -1)
		return;
	sc->has_regression = 1;
	SCENARIO_EACH(x, m, p, k, v, key, "assert.regression") {
		if (strcmp(key, "status") == 0) {
			if ((s = scenario_scalar(x, v,
			    "assert.regression.status")) == NULL)
				continue;
			if (strcmp(s, "exact") == 0)
				sc->cmp_status = 1;
			else if (strcmp(s, "ignore") == 0)
				sc->cmp_status = 0;
			else
				scenario_err(x, v, "assert.regression.status: "
				    "expected exact or ignore, not \"%s\"", s);
		} else if (strcmp(key, "body") == 0) {
			if ((s = scenario_scalar(x, v,
			    "assert.regression.body")) == NULL)
				continue;
			x->has_body = 1;
			if (strcmp(s, "exact") == 0)
				sc->cmp_body = SCENARIO_BODY_EXACT;
			else if (strcmp(s, "json") == 0)
				sc->cmp_body = SCENARIO_BODY_JSON;
			else if (strcmp(s, "ignore") == 0)
				sc->cmp_body = SCENARIO_BODY_IGNORE;
			else {
				x->has_body = 0;
				scenario_err(x, v, "assert.regression.body: "
				    "expected exact, json or ignore, not "
				    "\"%s\"", s);
			}
		} else if (strcmp(key, "headers") == 0)
			scenario_strings(x, v, "assert.regression.headers", 0,
			    &sc->cmp_headers, &sc->ncmp_headers);
		else if (strcmp(key, "ignore") == 0) {
			before = sc->nignore;
			scenario_strings(x, v, "assert.regression.ignore", 0,
			    &sc->ignore, &sc->nignore);
			for (i = before; i < sc->nignore; i++) {
				if (sc->ignore[i][0] != '$')
					scenario_err(x, v, "assert.regression."
					    "ignore: \"%s\" is not a JSON path "
					    "($.a.b, $.items[*].id)",
					    sc->ignore[i]);
			}
			x->ignore_node = v;
		} else
			scenario_err(x, k, "assert.regression: unknown key "
			    "\"%s\" (status, headers, body, ignore)", key);
	}
	/* Ignore paths only make sense for a JSON comparison. */
	if (x->ignore_node != NULL) {
		if (!x->has_body)
			sc->cmp_body = SCENARIO_BODY_JSON;
		else if (sc->cmp_body != SCENARIO_BODY_JSON)
			scenario_err(x, x->ignore_node, "assert.regression."
			    "ignore: needs body: json");
	}
}

static void
scenario_assert(struct scenario_ctx *x, const yaml_node_t *m)
{
	struct scenario		*sc = x->sc;
	yaml_node_pair_t	*p, *p2;
	yaml_node_t		*k, *v, *k2, *v2;
	const char		*key, *key2, *s;

	if (scenario_mapping(x, m, "assert") == -1)
		return;
	SCENARIO_EACH(x, m, p, k, v, key, "assert") {
		if (strcmp(key, "latency") == 0)
			scenario_latency(x, v);
		else if (strcmp(key, "regression") == 0)
			scenario_regression(x, v);
		else if (strcmp(key, "error_rate") == 0 ||
		    strcmp(key, "throughput") == 0) {
			int	 er = key[0] == 'e';
			char	*what = xasprintf("assert.%s", key);

			if (scenario_mapping(x, v, what) == -1) {
				free(what);
				continue;
			}
			SCENARIO_EACH(x, v, p2, k2, v2, key2, what) {
				if (strcmp(key2, er ? "max" : "min") != 0) {
					scenario_err(x, k2, "%s: unknown key "
					    "\"%s\" (%s)", what, key2,
					    er ? "max" : "min");
					continue;
				}
				if ((s = scenario_scalar(x, v2, what)) == NULL)
					continue;
				if (er) {
					if (scenario_parse_ratio(s,
					    &sc->error_rate_max) == -1)
						scenario_err(x, v2, "%s.max: "
						    "expected a percentage "
						    "such as 1%% or 0.5%%, not "
						    "\"%s\"", what, s);
					else
						sc->has_error_rate = 1;
				} else {
					if (scenario_parse_rate(s,
					    &sc->throughput_min) == -1)
						scenario_err(x, v2, "%s.min: "
						    "expected a rate such as "
						    "400/s, not \"%s\"", what,
						    s);
					else
						sc->has_throughput = 1;
				}
			}
			free(what);
		} else
			scenario_err(x, k, "assert: unknown key \"%s\" "
			    "(latency, error_rate, throughput, regression)",
			    key);
	}
}

static void
scenario_report(struct scenario_ctx *x, const yaml_node_t *m)
{
	struct scenario		*sc = x->sc;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key;

	if (scenario_mapping(x, m, "report") == -1)
		return;
	SCENARIO_EACH(x, m, p, k, v, key, "report") {
		if (strcmp(key, "json") == 0)
			scenario_string(x, v, "report.json", 1,
			    &sc->report_json);
		else if (strcmp(key, "junit") == 0)
			scenario_string(x, v, "report.junit", 1,
			    &sc->report_junit);
		else if (strcmp(key, "html") == 0)
			scenario_string(x, v, "report.html", 1,
			    &sc->report_html);
		else
			scenario_err(x, k, "report: unknown key \"%s\" (json, "
			    "junit, html)", key);
	}
}

static void
scenario_top(struct scenario_ctx *x, const yaml_node_t *root)
{
	struct scenario		*sc = x->sc;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key;
	int			 has_service = 0;

	if (root->type != YAML_MAPPING_NODE) {
		scenario_err(x, root, "expected a mapping (name, snapshot, "
		    "service, responder, load, assert, report), not %s",
		    scenario_kind(root));
		return;
	}
	if (scenario_mapping(x, root, "scenario") == -1)
		return;
	SCENARIO_EACH(x, root, p, k, v, key, "scenario") {
		if (strcmp(key, "name") == 0)
			scenario_string(x, v, "name", 0, &sc->name);
		else if (strcmp(key, "snapshot") == 0)
			scenario_string(x, v, "snapshot", 1, &sc->snapshot);
		else if (strcmp(key, "service") == 0) {
			has_service = 1;
			scenario_service(x, v);
		} else if (strcmp(key, "responder") == 0)
			scenario_responder(x, v);
		else if (strcmp(key, "load") == 0)
			scenario_load_section(x, v);
		else if (strcmp(key, "fuzz") == 0)
			scenario_err(x, k, "fuzz: not supported yet (drive "
			    "the service with load: instead)");
		else if (strcmp(key, "assert") == 0)
			scenario_assert(x, v);
		else if (strcmp(key, "report") == 0)
			scenario_report(x, v);
		else
			scenario_err(x, k, "unknown key \"%s\" (name, "
			    "snapshot, service, responder, load, assert, "
			    "report)", key);
	}
	if (sc->snapshot == NULL)
		scenario_err(x, root, "missing \"snapshot\"");
	if (!has_service)
		scenario_err(x, root, "missing \"service\"");
}

/* --- loading ---------------------------------------------------------- */

static struct scenario *
scenario_new(const char *name)
{
	struct scenario	*sc;
	const char	*slash, *base, *dot;

	sc = xcalloc(1, sizeof *sc);
	sc->path = xstrdup(name);
	if ((slash = strrchr(name, '/')) == NULL) {
		sc->dir = xstrdup(".");
		base = name;
	} else {
		sc->dir = slash == name ? xstrdup("/") :
		    xstrndup(name, (size_t)(slash - name));
		base = slash + 1;
	}
	if ((dot = strrchr(base, '.')) != NULL && dot != base)
		sc->name = xstrndup(base, (size_t)(dot - base));
	else
		sc->name = xstrdup(*base != '\0' ? base : "scenario");
	sc->ready_timeout_ns = UINT64_C(10000000000);
	sc->pattern = SCENARIO_REPLAY;
	sc->multiplier = 1.0;
	sc->clones = 1;
	sc->cmp_status = 1;
	sc->cmp_body = SCENARIO_BODY_EXACT;
	return sc;
}

struct scenario *
scenario_parse(const char *name, const char *text, size_t len, char **cause)
{
	struct scenario_ctx	 x;
	yaml_parser_t		 parser;
	yaml_document_t		 doc, extra;
	yaml_node_t		*root;
	struct scenario		*sc;

	memset(&x, 0, sizeof x);
	x.path = name;
	buf_init(&x.errors);
	sc = x.sc = scenario_new(name);

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
	    len);
	if (!yaml_parser_load(&parser, &doc))
		goto syntax;
	x.doc = &doc;
	if ((root = yaml_document_get_root_node(&doc)) == NULL) {
		buf_printf(&x.errors, "%s:1:1: empty scenario", name);
		x.nerrors++;
	} else {
		scenario_top(&x, root);
		/* A second document would be silently ignored. */
		if (!yaml_parser_load(&parser, &extra)) {
			yaml_document_delete(&doc);
			goto syntax;
		}
		if ((root = yaml_document_get_root_node(&extra)) != NULL)
			scenario_err(&x, root, "more than one YAML document");
		yaml_document_delete(&extra);
	}
	yaml_document_delete(&doc);
	goto done;

syntax:
	if (x.nerrors++ > 0)
		buf_append_byte(&x.errors, '\n');
	buf_printf(&x.errors, "%s:%zu:%zu: %s", name,
	    parser.problem_mark.line + 1, parser.problem_mark.column + 1,
	    parser.problem != NULL ? parser.problem : "YAML syntax error");
	if (parser.context != NULL)
		buf_printf(&x.errors, " %s", parser.context);
done:
	yaml_parser_delete(&parser);
	if (x.nerrors > 0) {
		size_t	i;

		/* libyaml's messages are ASCII; keep one error per line. */
		for (i = 0; i < x.errors.len; i++) {
			if ((unsigned char)x.errors.data[i] < 0x20 &&
			    x.errors.data[i] != '\n')
				x.errors.data[i] = '?';
		}
		*cause = buf_detach(&x.errors, NULL);
		scenario_free(sc);
		return NULL;
	}
	buf_free(&x.errors);
	return sc;
}

struct scenario *
scenario_load(const char *path, char **cause)
{
	struct scenario	*sc;
	struct buf	 b;
	FILE		*f;
	char		 chunk[8192];
	size_t		 n;

	if ((f = fopen(path, "r")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		buf_append(&b, chunk, n);
		if (b.len > SCENARIO_MAX_FILE)
			break;
	}
	if (ferror(f) || b.len > SCENARIO_MAX_FILE) {
		*cause = xasprintf("%s: %s", path, ferror(f) ?
		    strerror(errno) : "larger than 1 MiB");
		fclose(f);
		buf_free(&b);
		return NULL;
	}
	fclose(f);
	sc = scenario_parse(path, b.data == NULL ? "" : b.data, b.len, cause);
	buf_free(&b);
	return sc;
}

static void
scenario_free_list(char **list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

void
scenario_free(struct scenario *sc)
{
	if (sc == NULL)
		return;
	free(sc->path);
	free(sc->dir);
	free(sc->name);
	free(sc->snapshot);
	free(sc->url);
	free(sc->command);
	free(sc->ready_path);
	scenario_free_list(sc->env, sc->nenv);
	free(sc->listen);
	scenario_free_list(sc->rules, sc->nrules);
	free(sc->unmatched);
	scenario_free_list(sc->cmp_headers, sc->ncmp_headers);
	scenario_free_list(sc->ignore, sc->nignore);
	free(sc->report_json);
	free(sc->report_junit);
	free(sc->report_html);
	free(sc);
}
