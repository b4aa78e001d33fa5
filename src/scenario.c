/*
 * scenario.c -- the scenario file loader (scenario.h, scenarios/README.md).
 * The YAML is loaded as a libyaml document so that every node keeps
 * its line and column; the walker checks each section's keys, types and
 * values, collects every error as "FILE:LINE:COL: message" and the load
 * fails once, at the end, with all of them.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"
#include "scenario.h"
#include "shape.h"
#include "units.h"
#include "url.h"
#include "xmalloc.h"
#include "yamldoc.h"

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
	struct yamldoc		 d;
	struct scenario		*sc;
	int			 has_body;	/* body: was given */
	const yaml_node_t	*ignore_node;
	const yaml_node_t	*fuzz_node;	/* the fuzz key */
	const yaml_node_t	*load_node;	/* the load key */
	const yaml_node_t	*findings_node;	/* assert.findings */
};

/* Remembers where the value v names path (what: a static string). */
static void
scenario_ref_add(struct scenario_ctx *x, const char *what, const char *path,
    const yaml_node_t *v)
{
	struct scenario		*sc = x->sc;
	struct scenario_ref	*ref;

	sc->refs = xreallocarray(sc->refs, sc->nrefs + 1, sizeof *sc->refs);
	ref = &sc->refs[sc->nrefs++];
	ref->what = what;
	ref->path = xstrdup(path);
	ref->line = (unsigned long)v->start_mark.line + 1;
	ref->col = (unsigned long)v->start_mark.column + 1;
}

/* A non-empty string value into *out (replacing it); resolve: a path. */
static void
scenario_string(struct scenario_ctx *x, const yaml_node_t *v,
    const char *what, int resolve, char **out)
{
	const char	*s;

	if ((s = yamldoc_scalar(&x->d, v, what)) == NULL)
		return;
	if (*s == '\0') {
		yamldoc_err(&x->d, v, "%s: expected a value, not nothing",
		    what);
		return;
	}
	free(*out);
	*out = resolve ? yamldoc_path(&x->d, s) : xstrdup(s);
	if (resolve)
		scenario_ref_add(x, what, *out, v);
}

/* One string value (as scenario_string) appended to *list, *n. */
static void
scenario_push(struct scenario_ctx *x, const yaml_node_t *e, const char *what,
    int resolve, char ***list, size_t *n)
{
	char	*s = NULL;

	scenario_string(x, e, what, resolve, &s);
	if (s == NULL)
		return;
	*list = xreallocarray(*list, *n + 1, sizeof **list);
	(*list)[(*n)++] = s;
}

/* A list of non-empty strings (or a single one) appended to *list, *n. */
static void
scenario_strings(struct scenario_ctx *x, const yaml_node_t *v,
    const char *what, int resolve, char ***list, size_t *n)
{
	yaml_node_item_t	*item;

	if (v->type == YAML_SCALAR_NODE) {
		scenario_push(x, v, what, resolve, list, n);
		return;
	}
	if (v->type != YAML_SEQUENCE_NODE) {
		yamldoc_err(&x->d, v, "%s: expected a list, not %s", what,
		    yamldoc_kind(v));
		return;
	}
	for (item = v->data.sequence.items.start;
	    item < v->data.sequence.items.top; item++)
		scenario_push(x, yamldoc_node(&x->d, *item), what, resolve,
		    list, n);
}

static int
scenario_duration(struct scenario_ctx *x, const yaml_node_t *v,
    const char *what, int zero_ok, uint64_t *ns)
{
	const char	*s;
	uint64_t	 d;

	if ((s = yamldoc_scalar(&x->d, v, what)) == NULL)
		return -1;
	if (units_parse_duration(s, &d) == -1 || (d == 0 && !zero_ok)) {
		yamldoc_err(&x->d, v, "%s: expected a duration such as 250ms, "
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

	if ((s = yamldoc_scalar(&x->d, v, what)) == NULL)
		return -1;
	errno = 0;
	l = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || l < min ||
	    l > max) {
		yamldoc_err(&x->d, v, "%s: expected a whole number from %lu to "
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

	if ((s = yamldoc_scalar(&x->d, v, what)) == NULL)
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(d) ||
	    d <= 0 || d > max) {
		yamldoc_err(&x->d, v, "%s: expected a number above 0 and at "
		    "most %g, not \"%s\"", what, max, s);
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

	if ((s = yamldoc_scalar(&x->d, v, what)) == NULL)
		return -1;
	if (scenario_parse_rate(s, out) == -1) {
		yamldoc_err(&x->d, v, "%s: expected a rate such as 500/s, 30/m "
		    "or 3600/h, not \"%s\"", what, s);
		return -1;
	}
	return 0;
}

static void
scenario_ready(struct scenario_ctx *x, const yaml_node_t *m)
{
	struct scenario		*sc = x->sc;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key, *s;

	if (yamldoc_mapping(&x->d, m, "ready") == -1)
		return;
	YAMLDOC_PAIRS(&x->d, m, p, k, v, key, "ready") {
		if (strcmp(key, "path") == 0) {
			if ((s = yamldoc_scalar(&x->d, v, "ready.path"))
			    == NULL)
				continue;
			if (*s != '/')
				yamldoc_err(&x->d, v, "ready.path: expected a "
				    "path starting with /, not \"%s\"", s);
			else {
				free(sc->ready_path);
				sc->ready_path = xstrdup(s);
			}
		} else if (strcmp(key, "timeout") == 0)
			scenario_duration(x, v, "ready.timeout", 0,
			    &sc->ready_timeout_ns);
		else
			yamldoc_err(&x->d, k, "ready: unknown key \"%s\" "
			    "(path, timeout)", key);
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

	if (yamldoc_mapping(&x->d, m, "env") == -1)
		return;
	YAMLDOC_PAIRS(&x->d, m, p, k, v, key, "env") {
		if (!scenario_env_name_is_valid(key)) {
			yamldoc_err(&x->d, k, "env: \"%s\" is not a variable "
			    "name (letters, digits, _)", key);
			continue;
		}
		if ((s = yamldoc_scalar(&x->d, v, key)) == NULL)
			continue;
		sc->env = xreallocarray(sc->env, sc->nenv + 1,
		    sizeof *sc->env);
		sc->env[sc->nenv++] = xasprintf("%s=%s", key, s);
	}
}

/*
 * service.url: an http:// or https:// URL (url.h) whose port may be
 * {service_port} or {responder_port} (placeholders are taken as a port
 * for the check); *tls set for https.  1 valid, 0 not.
 */
static int
scenario_url_is_valid(const char *s, int *tls)
{
	struct url	 u;
	const char	*why;
	char		*a, *b;
	int		 ok;

	a = buf_subst_int(s, "service_port", 1);
	b = buf_subst_int(a, "responder_port", 1);
	ok = url_parse(b, strlen(b), 0, &u, &why) == 0;
	*tls = ok && u.tls;
	free(a);
	free(b);
	return ok;
}

static void
scenario_service(struct scenario_ctx *x, const yaml_node_t *m)
{
	struct scenario		*sc = x->sc;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key, *s;
	int			 has_url = 0, tls = 0;

	if (yamldoc_mapping(&x->d, m, "service") == -1)
		return;
	YAMLDOC_PAIRS(&x->d, m, p, k, v, key, "service") {
		if (strcmp(key, "url") == 0) {
			has_url = 1;
			if ((s = yamldoc_scalar(&x->d, v, "service.url"))
			    == NULL)
				continue;
			if (!scenario_url_is_valid(s, &tls))
				yamldoc_err(&x->d, v, "service.url: expected "
				    "http[s]://HOST:PORT (PORT 1..65535 or "
				    "{service_port}), not \"%s\"", s);
			else {
				free(sc->url);
				sc->url = xstrdup(s);
			}
		} else if (strcmp(key, "command") == 0)
			scenario_string(x, v, "service.command", 0,
			    &sc->command);
		else if (strcmp(key, "ca") == 0)
			scenario_string(x, v, "service.ca", 1, &sc->ca_file);
		else if (strcmp(key, "insecure") == 0) {
			if ((s = yamldoc_scalar(&x->d, v, "service.insecure"))
			    == NULL)
				continue;
			if (strcmp(s, "true") == 0)
				sc->insecure = 1;
			else if (strcmp(s, "false") == 0)
				sc->insecure = 0;
			else
				yamldoc_err(&x->d, v, "service.insecure: "
				    "expected true or false, not \"%s\"", s);
		} else if (strcmp(key, "ready") == 0)
			scenario_ready(x, v);
		else if (strcmp(key, "env") == 0)
			scenario_env(x, v);
		else
			yamldoc_err(&x->d, k, "service: unknown key \"%s\" "
			    "(url, ca, insecure, command, ready, env)", key);
	}
	if (!has_url)
		yamldoc_err(&x->d, m, "service: missing \"url\"");
	else if (sc->url != NULL && !tls && (sc->ca_file != NULL ||
	    sc->insecure))
		yamldoc_err(&x->d, m, "service: ca and insecure apply to an "
		    "https:// url");
	else if (sc->ca_file != NULL && sc->insecure)
		yamldoc_err(&x->d, m, "service: ca or insecure, not both");
}

/*
 * HOST:PORT or [IPV6]:PORT with PORT 0..65535; a host of digits and dots
 * must be an IPv4 address.  NULL when valid, else why not.
 */
static const char *
scenario_listen_error(const char *s)
{
	const char	*colon, *h;
	char		 host[INET6_ADDRSTRLEN + 1], *end;
	unsigned char	 a[16];
	size_t		 hlen;
	long		 port;

	if (*s == '[') {
		if ((colon = strchr(s, ']')) == NULL || colon[1] != ':')
			return "expected [IPV6]:PORT";
		h = s + 1;
		hlen = (size_t)(colon - h);
		colon++;
		if (hlen == 0 || hlen >= sizeof host)
			return "not an IPv6 address";
		memcpy(host, h, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, a) != 1)
			return "not an IPv6 address";
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return "expected HOST:PORT";
		hlen = (size_t)(colon - s);
		if (hlen > 0 && strspn(s, "0123456789.") == hlen) {
			if (hlen >= sizeof host)
				return "not an IPv4 address";
			memcpy(host, s, hlen);
			host[hlen] = '\0';
			if (inet_pton(AF_INET, host, a) != 1)
				return "not an IPv4 address";
		}
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
	    port < 0 || port > 65535)
		return "the port must be 0..65535";
	return NULL;
}

static void
scenario_responder(struct scenario_ctx *x, const yaml_node_t *m)
{
	struct scenario		*sc = x->sc;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key, *s;
	const char		*why;

	if (yamldoc_mapping(&x->d, m, "responder") == -1)
		return;
	sc->has_responder = 1;
	YAMLDOC_PAIRS(&x->d, m, p, k, v, key, "responder") {
		if (strcmp(key, "listen") == 0) {
			if ((s = yamldoc_scalar(&x->d, v, "responder.listen"))
			    == NULL)
				continue;
			/* The syntax here; the name is resolved by the
			 * checks (cmd-run.c), as at the start. */
			if ((why = scenario_listen_error(s)) != NULL)
				yamldoc_err(&x->d, v, "responder.listen: %s: "
				    "\"%s\"", why, s);
			else {
				free(sc->listen);
				sc->listen = xstrdup(s);
				scenario_ref_add(x, "responder.listen", s, v);
			}
		} else if (strcmp(key, "rules") == 0)
			scenario_strings(x, v, "responder.rules", 1,
			    &sc->rules, &sc->nrules);
		else if (strcmp(key, "unmatched") == 0) {
			if ((s = yamldoc_scalar(&x->d, v,
			    "responder.unmatched")) == NULL)
				continue;
			if (strcmp(s, "passthrough") == 0)
				yamldoc_err(&x->d, v, "responder.unmatched: "
				    "passthrough is not implemented yet (use "
				    "404 or closest)");
			else if (strcmp(s, "404") != 0 &&
			    strcmp(s, "closest") != 0)
				yamldoc_err(&x->d, v, "responder.unmatched: "
				    "expected 404 or closest, not \"%s\"", s);
			else {
				free(sc->unmatched);
				sc->unmatched = xstrdup(s);
			}
		} else if (strcmp(key, "seed") == 0) {
			if ((s = yamldoc_scalar(&x->d, v, "responder.seed")) ==
			    NULL)
				continue;
			if (units_parse_seed(s, &sc->seed) == -1)
				yamldoc_err(&x->d, v, "responder.seed: "
				    "expected an unsigned integer, not \"%s\"",
				    s);
			else
				sc->has_seed = 1;
		} else if (strcmp(key, "transforms") == 0)
			scenario_string(x, v, "responder.transforms", 1,
			    &sc->responder_transforms);
		else
			yamldoc_err(&x->d, k, "responder: unknown key \"%s\" "
			    "(listen, rules, unmatched, seed, transforms)", key);
	}
	if (sc->listen == NULL)
		sc->listen = xstrdup("127.0.0.1:0");
}

static const char *const scenario_patterns[] = {
	"replay", "constant", "ramp", "steps", "closed"
};

/* The keys of the load section that other keys are checked against. */
struct scenario_load_keys {
	const yaml_node_t	*rate, *mult, *clones, *from, *steps, *now;
	int			 has_pattern;
};

static void
scenario_load_pattern(struct scenario_ctx *x, const yaml_node_t *v,
    struct scenario_load_keys *lk)
{
	const char	*s;
	size_t		 i, n = sizeof scenario_patterns /
			    sizeof *scenario_patterns;

	if ((s = yamldoc_scalar(&x->d, v, "load.pattern")) == NULL)
		return;
	for (i = 0; i < n; i++) {
		if (strcmp(s, scenario_patterns[i]) == 0)
			break;
	}
	if (i == n)
		yamldoc_err(&x->d, v, "load.pattern: expected replay, "
		    "constant, ramp, steps or closed, not \"%s\"", s);
	else {
		x->sc->pattern = (enum scenario_pattern)i;
		lk->has_pattern = 1;
	}
}

static void
scenario_load_now(struct scenario_ctx *x, const yaml_node_t *v,
    struct scenario_load_keys *lk)
{
	struct shape_time	 now;
	const char		*s;

	if ((s = yamldoc_scalar(&x->d, v, "load.now")) == NULL)
		return;
	if (shape_time_parse(s, strlen(s), &now) == -1)
		yamldoc_err(&x->d, v, "load.now: expected a time such as "
		    "2026-12-07T17:54:34Z or epoch seconds, not \"%s\"", s);
	else {
		x->sc->has_now = 1;
		x->sc->now_us = now.us;
		lk->now = v;
	}
}

static void
scenario_load_seed(struct scenario_ctx *x, const yaml_node_t *v)
{
	const char	*s;

	if ((s = yamldoc_scalar(&x->d, v, "load.seed")) == NULL)
		return;
	if (units_parse_seed(s, &x->sc->load_seed) == -1)
		yamldoc_err(&x->d, v, "load.seed: expected an unsigned "
		    "integer, not \"%s\"", s);
	else
		x->sc->load_has_seed = 1;
}

/* What the load section's keys get wrong together. */
static void
scenario_load_check(struct scenario_ctx *x, const yaml_node_t *m,
    const struct scenario_load_keys *lk)
{
	struct scenario	*sc = x->sc;

	if (lk->now != NULL && sc->transforms == NULL)
		yamldoc_err(&x->d, lk->now, "load.now: applies with "
		    "load.transforms");
	if (!lk->has_pattern)
		return;		/* replay: nothing to check */
	switch (sc->pattern) {
	case SCENARIO_REPLAY:
		if (lk->mult != NULL && lk->clones != NULL &&
		    sc->multiplier != 1.0 && sc->clones > 1)
			yamldoc_err(&x->d, lk->clones, "load.clones: cannot "
			    "be combined with multiplier (pick one)");
		break;
	case SCENARIO_CONSTANT:
	case SCENARIO_RAMP:
	case SCENARIO_STEPS:
		if (lk->rate == NULL)
			yamldoc_err(&x->d, m, "load: pattern %s needs a rate",
			    scenario_patterns[sc->pattern]);
		if (sc->pattern != SCENARIO_CONSTANT && sc->duration_ns == 0)
			yamldoc_err(&x->d, m, "load: pattern %s needs a "
			    "duration", scenario_patterns[sc->pattern]);
		/* FALLTHROUGH */
	case SCENARIO_CLOSED:
		if (lk->mult != NULL)
			yamldoc_err(&x->d, lk->mult, "load.multiplier: only "
			    "for pattern replay");
		if (lk->clones != NULL)
			yamldoc_err(&x->d, lk->clones, "load.clones: only for "
			    "pattern replay");
		break;
	}
	if (lk->from != NULL && sc->pattern != SCENARIO_RAMP)
		yamldoc_err(&x->d, lk->from, "load.rate_from: only for "
		    "pattern ramp");
	if (lk->from != NULL && lk->rate != NULL && sc->rate_from > sc->rate)
		yamldoc_err(&x->d, lk->from, "load.rate_from: above "
		    "load.rate");
	if (lk->steps != NULL && sc->pattern != SCENARIO_STEPS)
		yamldoc_err(&x->d, lk->steps, "load.steps: only for pattern "
		    "steps");
	if (sc->pattern == SCENARIO_STEPS && lk->steps == NULL)
		sc->steps = 5;
}

static void
scenario_load_section(struct scenario_ctx *x, const yaml_node_t *m)
{
	struct scenario			*sc = x->sc;
	struct scenario_load_keys	 lk;
	yaml_node_pair_t		*p;
	yaml_node_t			*k, *v;
	const char			*key;

	memset(&lk, 0, sizeof lk);
	if (yamldoc_mapping(&x->d, m, "load") == -1)
		return;
	YAMLDOC_PAIRS(&x->d, m, p, k, v, key, "load") {
		if (strcmp(key, "pattern") == 0)
			scenario_load_pattern(x, v, &lk);
		else if (strcmp(key, "multiplier") == 0) {
			if (scenario_positive(x, v, "load.multiplier", 1e6,
			    &sc->multiplier) == 0)
				lk.mult = v;
		} else if (strcmp(key, "clones") == 0) {
			if (scenario_uint(x, v, "load.clones", 1, 100000,
			    &sc->clones) == 0)
				lk.clones = v;
		} else if (strcmp(key, "rate") == 0) {
			if (scenario_rate(x, v, "load.rate", &sc->rate) == 0)
				lk.rate = v;
		} else if (strcmp(key, "rate_from") == 0) {
			if (scenario_rate(x, v, "load.rate_from",
			    &sc->rate_from) == 0)
				lk.from = v;
		} else if (strcmp(key, "steps") == 0) {
			if (scenario_uint(x, v, "load.steps", 1, 1000,
			    &sc->steps) == 0)
				lk.steps = v;
		} else if (strcmp(key, "duration") == 0)
			scenario_duration(x, v, "load.duration", 1,
			    &sc->duration_ns);
		else if (strcmp(key, "connections") == 0)
			scenario_uint(x, v, "load.connections", 1, 65536,
			    &sc->connections);
		else if (strcmp(key, "timeout") == 0)
			scenario_duration(x, v, "load.timeout", 0,
			    &sc->timeout_ns);
		else if (strcmp(key, "transforms") == 0)
			scenario_string(x, v, "load.transforms", 1,
			    &sc->transforms);
		else if (strcmp(key, "now") == 0)
			scenario_load_now(x, v, &lk);
		else if (strcmp(key, "seed") == 0)
			scenario_load_seed(x, v);
		else
			yamldoc_err(&x->d, k, "load: unknown key \"%s\" "
			    "(pattern, multiplier, clones, rate, rate_from, "
			    "steps, duration, connections, timeout, "
			    "transforms, now, seed)", key);
	}
	scenario_load_check(x, m, &lk);
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

	if (yamldoc_mapping(&x->d, m, "assert.latency") == -1)
		return;
	YAMLDOC_PAIRS(&x->d, m, p, k, v, key, "assert.latency") {
		for (i = 0; i < SCENARIO_NPCT; i++) {
			if (strcmp(key, scenario_pct_names[i]) == 0)
				break;
		}
		if (i == SCENARIO_NPCT) {
			yamldoc_err(&x->d, k, "assert.latency: unknown key "
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
	const yaml_node_t	*numbers = NULL;
	size_t			 i, before;

	if (yamldoc_mapping(&x->d, m, "assert.regression") == -1)
		return;
	sc->has_regression = 1;
	YAMLDOC_PAIRS(&x->d, m, p, k, v, key, "assert.regression") {
		if (strcmp(key, "status") == 0) {
			if ((s = yamldoc_scalar(&x->d, v,
			    "assert.regression.status")) == NULL)
				continue;
			if (strcmp(s, "exact") == 0)
				sc->cmp_status = 1;
			else if (strcmp(s, "ignore") == 0)
				sc->cmp_status = 0;
			else
				yamldoc_err(&x->d, v,
				    "assert.regression.status: expected exact "
				    "or ignore, not \"%s\"", s);
		} else if (strcmp(key, "body") == 0) {
			if ((s = yamldoc_scalar(&x->d, v,
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
				yamldoc_err(&x->d, v, "assert.regression.body: "
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
					yamldoc_err(&x->d, v,
					    "assert.regression.ignore: \"%s\" "
					    "is not a JSON path ($.a.b, "
					    "$.items[*].id)", sc->ignore[i]);
			}
			x->ignore_node = v;
		} else if (strcmp(key, "numbers") == 0) {
			if ((s = yamldoc_scalar(&x->d, v,
			    "assert.regression.numbers")) == NULL)
				continue;
			if (strcmp(s, "exact") == 0)
				sc->cmp_numeric = 0;
			else if (strcmp(s, "numeric") == 0) {
				sc->cmp_numeric = 1;
				numbers = v;
			} else
				yamldoc_err(&x->d, v,
				    "assert.regression.numbers: expected exact "
				    "or numeric, not \"%s\"", s);
		} else
			yamldoc_err(&x->d, k, "assert.regression: unknown key "
			    "\"%s\" (status, headers, body, ignore, numbers)",
			    key);
	}
	/* Numeric equality is a JSON comparison too. */
	if (numbers != NULL) {
		if (!x->has_body)
			sc->cmp_body = SCENARIO_BODY_JSON;
		else if (sc->cmp_body != SCENARIO_BODY_JSON)
			yamldoc_err(&x->d, numbers, "assert.regression."
			    "numbers: numeric needs body: json");
	}
	/* Ignore paths only make sense for a JSON comparison. */
	if (x->ignore_node != NULL) {
		if (!x->has_body)
			sc->cmp_body = SCENARIO_BODY_JSON;
		else if (sc->cmp_body != SCENARIO_BODY_JSON)
			yamldoc_err(&x->d, x->ignore_node, "assert.regression."
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

	if (yamldoc_mapping(&x->d, m, "assert") == -1)
		return;
	YAMLDOC_PAIRS(&x->d, m, p, k, v, key, "assert") {
		if (strcmp(key, "latency") == 0)
			scenario_latency(x, v);
		else if (strcmp(key, "regression") == 0)
			scenario_regression(x, v);
		else if (strcmp(key, "error_rate") == 0 ||
		    strcmp(key, "throughput") == 0) {
			int	 er = key[0] == 'e';
			char	*what = xasprintf("assert.%s", key);

			if (yamldoc_mapping(&x->d, v, what) == -1) {
				free(what);
				continue;
			}
			YAMLDOC_PAIRS(&x->d, v, p2, k2, v2, key2, what) {
				if (strcmp(key2, er ? "max" : "min") != 0) {
					yamldoc_err(&x->d, k2, "%s: unknown "
					    "key \"%s\" (%s)", what, key2,
					    er ? "max" : "min");
					continue;
				}
				if ((s = yamldoc_scalar(&x->d, v2, what))
				    == NULL)
					continue;
				if (er) {
					if (scenario_parse_ratio(s,
					    &sc->error_rate_max) == -1)
						yamldoc_err(&x->d, v2,
						    "%s.max: expected a "
						    "percentage such as 1%% or "
						    "0.5%%, not \"%s\"", what, s);
					else
						sc->has_error_rate = 1;
				} else {
					if (scenario_parse_rate(s,
					    &sc->throughput_min) == -1)
						yamldoc_err(&x->d, v2,
						    "%s.min: expected a rate "
						    "such as 400/s, not \"%s\"",
						    what, s);
					else
						sc->has_throughput = 1;
				}
			}
			free(what);
		} else if (strcmp(key, "findings") == 0) {
			if (yamldoc_mapping(&x->d, v, "assert.findings") == -1)
				continue;
			YAMLDOC_PAIRS(&x->d, v, p2, k2, v2, key2,
			    "assert.findings") {
				if (strcmp(key2, "max") != 0) {
					yamldoc_err(&x->d, k2, "assert.findings: "
					    "unknown key \"%s\" (max)", key2);
					continue;
				}
				if (scenario_uint(x, v2, "assert.findings.max",
				    0, 1000000, &sc->findings_max) == 0)
					sc->has_findings_max = 1;
			}
			x->findings_node = k;
		} else
			yamldoc_err(&x->d, k, "assert: unknown key \"%s\" "
			    "(latency, error_rate, throughput, regression, "
			    "findings)", key);
	}
}

static void
scenario_fuzz(struct scenario_ctx *x, const yaml_node_t *m)
{
	struct scenario		*sc = x->sc;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key, *s;

	if (yamldoc_mapping(&x->d, m, "fuzz") == -1)
		return;
	sc->has_fuzz = 1;
	YAMLDOC_PAIRS(&x->d, m, p, k, v, key, "fuzz") {
		if (strcmp(key, "corpus") == 0)
			scenario_string(x, v, "fuzz.corpus", 1,
			    &sc->fuzz_corpus);
		else if (strcmp(key, "findings") == 0)
			scenario_string(x, v, "fuzz.findings", 1,
			    &sc->fuzz_findings);
		else if (strcmp(key, "requests") == 0)
			scenario_uint(x, v, "fuzz.requests", 1, 1000000000,
			    &sc->fuzz_requests);
		else if (strcmp(key, "duration") == 0)
			scenario_duration(x, v, "fuzz.duration", 1,
			    &sc->fuzz_duration_ns);
		else if (strcmp(key, "connections") == 0)
			scenario_uint(x, v, "fuzz.connections", 1, 1024,
			    &sc->fuzz_connections);
		else if (strcmp(key, "timeout") == 0)
			scenario_duration(x, v, "fuzz.timeout", 1,
			    &sc->fuzz_timeout_ns);
		else if (strcmp(key, "seed") == 0) {
			if ((s = yamldoc_scalar(&x->d, v, "fuzz.seed")) == NULL)
				continue;
			if (units_parse_seed(s, &sc->fuzz_seed) == -1)
				yamldoc_err(&x->d, v, "fuzz.seed: expected an "
				    "unsigned integer, not \"%s\"", s);
			else
				sc->fuzz_has_seed = 1;
		} else if (strcmp(key, "mutate_auth") == 0) {
			if ((s = yamldoc_scalar(&x->d, v, "fuzz.mutate_auth")) ==
			    NULL)
				continue;
			if (strcmp(s, "true") == 0)
				sc->fuzz_mutate_auth = 1;
			else if (strcmp(s, "false") == 0)
				sc->fuzz_mutate_auth = 0;
			else
				yamldoc_err(&x->d, v, "fuzz.mutate_auth: "
				    "expected true or false, not \"%s\"", s);
		} else
			yamldoc_err(&x->d, k, "fuzz: unknown key \"%s\" "
			    "(corpus, requests, duration, seed, findings, "
			    "connections, timeout, mutate_auth)", key);
	}
	if (sc->fuzz_corpus == NULL)
		yamldoc_err(&x->d, m, "fuzz: missing \"corpus\"");
}

static void
scenario_report(struct scenario_ctx *x, const yaml_node_t *m)
{
	struct scenario		*sc = x->sc;
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key;

	if (yamldoc_mapping(&x->d, m, "report") == -1)
		return;
	YAMLDOC_PAIRS(&x->d, m, p, k, v, key, "report") {
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
			yamldoc_err(&x->d, k, "report: unknown key \"%s\" "
			    "(json, junit, html)", key);
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
		yamldoc_err(&x->d, root, "expected a mapping (name, snapshot, "
		    "service, responder, load, fuzz, assert, report), not %s",
		    yamldoc_kind(root));
		return;
	}
	if (yamldoc_mapping(&x->d, root, "scenario") == -1)
		return;
	YAMLDOC_PAIRS(&x->d, root, p, k, v, key, "scenario") {
		if (strcmp(key, "name") == 0)
			scenario_string(x, v, "name", 0, &sc->name);
		else if (strcmp(key, "snapshot") == 0)
			scenario_string(x, v, "snapshot", 1, &sc->snapshot);
		else if (strcmp(key, "service") == 0) {
			has_service = 1;
			scenario_service(x, v);
		} else if (strcmp(key, "responder") == 0)
			scenario_responder(x, v);
		else if (strcmp(key, "load") == 0) {
			x->load_node = k;
			scenario_load_section(x, v);
		}
		else if (strcmp(key, "fuzz") == 0) {
			x->fuzz_node = k;
			scenario_fuzz(x, v);
		}
		else if (strcmp(key, "assert") == 0)
			scenario_assert(x, v);
		else if (strcmp(key, "report") == 0)
			scenario_report(x, v);
		else
			yamldoc_err(&x->d, k, "unknown key \"%s\" (name, "
			    "snapshot, service, responder, load, fuzz, assert, "
			    "report)", key);
	}
	if (sc->snapshot == NULL)
		yamldoc_err(&x->d, root, "missing \"snapshot\"");
	if (!has_service)
		yamldoc_err(&x->d, root, "missing \"service\"");
	if (x->fuzz_node != NULL && x->load_node != NULL)
		yamldoc_err(&x->d, x->fuzz_node, "fuzz: a scenario drives the "
		    "service with load or with fuzz, not both");
	if (x->findings_node != NULL && x->fuzz_node == NULL)
		yamldoc_err(&x->d, x->findings_node, "assert.findings: only "
		    "with a fuzz section");
	if (sc->has_fuzz && sc->fuzz_findings == NULL)
		sc->fuzz_findings = yamldoc_path(&x->d, "findings");
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

/* Records the syntax error yamldoc just met. */
static void
scenario_syntax(struct yamldoc *d)
{
	yamldoc_err_at(d, &d->mark, "%s%s%s", d->problem != NULL ?
	    d->problem : "YAML syntax error", d->context != NULL ? " " : "",
	    d->context != NULL ? d->context : "");
}

struct scenario *
scenario_parse(const char *name, const char *text, size_t len, char **cause)
{
	struct scenario_ctx	 x;
	struct scenario		*sc;
	size_t			 i;

	memset(&x, 0, sizeof x);
	yamldoc_init(&x.d);
	x.d.max_keys = SCENARIO_MAX_KEYS;
	x.d.late_keys = 1;
	sc = x.sc = scenario_new(name);
	if (yamldoc_load_text(&x.d, name, text, len) == -1)
		scenario_syntax(&x.d);
	else if (x.d.root == NULL)
		yamldoc_err_at(&x.d, NULL, "%s:1:1: empty scenario", name);
	else {
		scenario_top(&x, x.d.root);
		/* A second document would be silently ignored. */
		if (yamldoc_check_single(&x.d) == -1)
			scenario_syntax(&x.d);
	}
	yamldoc_close(&x.d);
	/* libyaml's messages are ASCII; keep one error per line. */
	for (i = 0; i < x.d.errors.len; i++) {
		if ((unsigned char)x.d.errors.data[i] < 0x20 &&
		    x.d.errors.data[i] != '\n')
			x.d.errors.data[i] = '?';
	}
	if (yamldoc_finish(&x.d, cause) == -1) {
		scenario_free(sc);
		sc = NULL;
	}
	yamldoc_free(&x.d);
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
	size_t	i;

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
	free(sc->fuzz_corpus);
	free(sc->fuzz_findings);
	free(sc->transforms);
	free(sc->responder_transforms);
	free(sc->ca_file);
	for (i = 0; i < sc->nrefs; i++)
		free(sc->refs[i].path);
	free(sc->refs);
	free(sc);
}

char *
scenario_where(const struct scenario *sc, const char *what, const char *path)
{
	const struct scenario_ref	*ref;
	size_t				 i;

	for (i = 0; i < sc->nrefs; i++) {
		ref = &sc->refs[i];
		if (strcmp(ref->what, what) != 0 ||
		    (path != NULL && strcmp(ref->path, path) != 0))
			continue;
		return xasprintf("%s:%lu:%lu", sc->path, ref->line, ref->col);
	}
	return xasprintf("%s:1:1", sc->path);
}
