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
#include <stddef.h>
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

/* Value nodes that keys are checked against once a section is read. */
enum scenario_node {
	SCENARIO_N_NONE,
	SCENARIO_N_SERVICE,
	SCENARIO_N_URL,
	SCENARIO_N_PATTERN,
	SCENARIO_N_MULT,
	SCENARIO_N_CLONES,
	SCENARIO_N_RATE,
	SCENARIO_N_FROM,
	SCENARIO_N_STEPS,
	SCENARIO_N_NOW,
	SCENARIO_N_NUMBERS,	/* numbers: numeric */
	SCENARIO_N_IGNORE,
	SCENARIO_N_LOAD,	/* the keys of these sections */
	SCENARIO_N_FUZZ,
	SCENARIO_N_FINDINGS,
	SCENARIO_N_COUNT
};

struct scenario_ctx {
	struct yamldoc		 d;
	struct scenario		*sc;
	int			 has_body;	/* body: was given */
	int			 url_tls;	/* service.url is https */
	const yaml_node_t	*node[SCENARIO_N_COUNT];
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

/* --- sections by table ------------------------------------------------ */

/* What a key's value is (struct scenario_key). */
enum scenario_type {
	SCENARIO_T_STRING,	/* char *: a non-empty string */
	SCENARIO_T_PATH,	/* char *: a path, resolved and remembered */
	SCENARIO_T_STRINGS,	/* char **, its size_t count at aux: one
				   string or a list */
	SCENARIO_T_PATHS,	/* the same, each a path */
	SCENARIO_T_UINT,	/* unsigned from min to max */
	SCENARIO_T_DURATION,	/* uint64_t ns; min 1: not 0 */
	SCENARIO_T_POSITIVE,	/* double above 0, at most max */
	SCENARIO_T_BOOL,	/* int: true or false */
	SCENARIO_T_RATE,	/* double per second: 500/s, 30/m, 3600/h */
	SCENARIO_T_RATIO,	/* double, a fraction: 1%, 0.5%, 0.01 */
	SCENARIO_T_SEED,	/* uint64_t: units_parse_seed */
	SCENARIO_T_CALL,	/* call(x, key, value) */
	SCENARIO_T_SECTION	/* a mapping of keys[0..nkeys); then, when
				   it is one, call(x, key, value) */
};

/*
 * One key of a section: its value is read into the field of struct
 * scenario at off.  aux is the size_t count of a list's strings; for the
 * other types, an int field set to 1 when the value is valid (0: none;
 * offset 0 holds the path, never a flag).  A valid value's node (a
 * section's key node, as soon as it is seen) is kept in x->node[node] for
 * the checks that follow.
 */
struct scenario_key {
	const char		*what;	/* "load.rate": key "rate" */
	enum scenario_type	 type;
	size_t			 off;
	size_t			 aux;
	unsigned long		 min, max;
	enum scenario_node	 node;
	const char		*expect;	/* rate, ratio, seed: what a
						   valid value looks like, if
						   not the usual example */
	void			(*call)(struct scenario_ctx *,
				    const yaml_node_t *, const yaml_node_t *);
	const struct scenario_key *keys;	/* a section's */
	size_t			 nkeys;
};

#define SCENARIO_NKEYS(t)	(sizeof (t) / sizeof (t)[0])
#define SCENARIO_SECTION(t)	.keys = (t), .nkeys = SCENARIO_NKEYS(t)

#define SCENARIO_OFF(f)		offsetof(struct scenario, f)

_Static_assert(offsetof(struct scenario, path) == 0,
    "aux 0 means no flag: offset 0 must not be an int flag");

/* The key of row r: its name after the section's. */
static const char *
scenario_key_name(const struct scenario_key *r)
{
	const char	*dot = strrchr(r->what, '.');

	return dot != NULL ? dot + 1 : r->what;
}

/* The keys of a section, comma-separated, for messages. */
static void
scenario_key_list(struct buf *b, const struct scenario_key *keys, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_append_str(b, ", ");
		buf_append_str(b, scenario_key_name(&keys[i]));
	}
	buf_append_byte(b, '\0');
}

/* A value parsed by units or scenario_parse_*: 0, or -1 (recorded). */
static int
scenario_parsed(struct scenario_ctx *x, const struct scenario_key *r,
    const yaml_node_t *v, void *field)
{
	static const char *const example[] = {
		[SCENARIO_T_RATE] = "a rate such as 500/s, 30/m or 3600/h",
		[SCENARIO_T_RATIO] = "a percentage such as 1% or 0.5%",
		[SCENARIO_T_SEED] = "an unsigned integer"
	};
	const char	*s;
	int		 rc;

	if ((s = yamldoc_scalar(&x->d, v, r->what)) == NULL)
		return -1;
	if (r->type == SCENARIO_T_RATE)
		rc = scenario_parse_rate(s, field);
	else if (r->type == SCENARIO_T_RATIO)
		rc = scenario_parse_ratio(s, field);
	else
		rc = units_parse_seed(s, field);
	if (rc == -1)
		yamldoc_err(&x->d, v, "%s: expected %s, not \"%s\"", r->what,
		    r->expect != NULL ? r->expect : example[r->type], s);
	return rc;
}

/* Reads v as row r says: 0, or -1 when it is not valid (recorded). */
static int
scenario_value(struct scenario_ctx *x, const struct scenario_key *r,
    const yaml_node_t *k, const yaml_node_t *v)
{
	void	*field = (char *)x->sc + r->off;

	switch (r->type) {
	case SCENARIO_T_STRING:
	case SCENARIO_T_PATH:
		scenario_string(x, v, r->what, r->type == SCENARIO_T_PATH,
		    field);
		return 0;
	case SCENARIO_T_STRINGS:
	case SCENARIO_T_PATHS:
		scenario_strings(x, v, r->what, r->type == SCENARIO_T_PATHS,
		    field, (void *)((char *)x->sc + r->aux));
		return 0;
	case SCENARIO_T_UINT:
		return scenario_uint(x, v, r->what, r->min, r->max, field);
	case SCENARIO_T_DURATION:
		return scenario_duration(x, v, r->what, r->min == 0, field);
	case SCENARIO_T_POSITIVE:
		return scenario_positive(x, v, r->what, (double)r->max, field);
	case SCENARIO_T_BOOL:
		return yamldoc_bool(&x->d, v, r->what, field);
	case SCENARIO_T_RATE:
	case SCENARIO_T_RATIO:
	case SCENARIO_T_SEED:
		return scenario_parsed(x, r, v, field);
	case SCENARIO_T_CALL:
		r->call(x, k, v);
		return 0;
	case SCENARIO_T_SECTION:
		break;
	}
	return -1;
}

/* Marks the value v of row r valid: its flag and its node. */
static void
scenario_valid(struct scenario_ctx *x, const struct scenario_key *r,
    const yaml_node_t *v)
{
	int	*flag;

	if (r->aux != 0 && r->type != SCENARIO_T_STRINGS &&
	    r->type != SCENARIO_T_PATHS) {
		flag = (void *)((char *)x->sc + r->aux);
		*flag = 1;
	}
	if (r->node != SCENARIO_N_NONE)
		x->node[r->node] = v;
}

/* "WHAT: unknown key \"KEY\" (the keys)", without "WHAT: " at the top. */
static void
scenario_unknown(struct scenario_ctx *x, const yaml_node_t *k,
    const char *what, const char *key, const struct scenario_key *keys,
    size_t n)
{
	struct buf	list;

	buf_init(&list);
	scenario_key_list(&list, keys, n);
	yamldoc_err(&x->d, k, "%s%sunknown key \"%s\" (%s)",
	    what != NULL ? what : "", what != NULL ? ": " : "", key, list.data);
	buf_free(&list);
}

static void	scenario_section(struct scenario_ctx *,
		    const struct scenario_key *, const yaml_node_t *,
		    const yaml_node_t *);

/*
 * Walks mapping m, section what (NULL: the top level, "scenario" in
 * yamldoc's messages and no prefix in the unknown-key one), reading each
 * key as its row of keys[0..n) says.  -1 when m is not a mapping
 * (recorded), else 0.
 */
static int
scenario_walk(struct scenario_ctx *x, const yaml_node_t *m, const char *what,
    const struct scenario_key *keys, size_t n)
{
	const char		*section = what != NULL ? what : "scenario";
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key;
	size_t			 i;

	if (yamldoc_mapping(&x->d, m, section) == -1)
		return -1;
	YAMLDOC_PAIRS(&x->d, m, p, k, v, key, section) {
		for (i = 0; i < n; i++) {
			if (strcmp(key, scenario_key_name(&keys[i])) == 0)
				break;
		}
		if (i == n)
			scenario_unknown(x, k, what, key, keys, n);
		else if (keys[i].type == SCENARIO_T_SECTION)
			scenario_section(x, &keys[i], k, v);
		else if (scenario_value(x, &keys[i], k, v) == 0)
			scenario_valid(x, &keys[i], v);
	}
	return 0;
}

/* Section row r: key k, mapping m. */
static void
scenario_section(struct scenario_ctx *x, const struct scenario_key *r,
    const yaml_node_t *k, const yaml_node_t *m)
{
	if (r->node != SCENARIO_N_NONE)
		x->node[r->node] = k;
	if (scenario_walk(x, m, r->what, r->keys, r->nkeys) == 0 &&
	    r->call != NULL)
		r->call(x, k, m);
}

/* --- service ---------------------------------------------------------- */

static void
scenario_ready_path(struct scenario_ctx *x, const yaml_node_t *k,
    const yaml_node_t *v)
{
	const char	*s;

	if ((s = yamldoc_scalar(&x->d, v, "ready.path")) == NULL)
		return;
	if (*s != '/')
		yamldoc_err(&x->d, v, "ready.path: expected a path starting "
		    "with /, not \"%s\"", s);
	else {
		free(x->sc->ready_path);
		x->sc->ready_path = xstrdup(s);
	}
}

static const struct scenario_key scenario_ready_keys[] = {
	{ "ready.path", SCENARIO_T_CALL, .call = scenario_ready_path },
	{ "ready.timeout", SCENARIO_T_DURATION,
	    .off = SCENARIO_OFF(ready_timeout_ns), .min = 1 }
};

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

/* env: any variable names, so no table. */
static void
scenario_env(struct scenario_ctx *x, const yaml_node_t *envk,
    const yaml_node_t *m)
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
scenario_service_url(struct scenario_ctx *x, const yaml_node_t *k,
    const yaml_node_t *v)
{
	const char	*s;

	x->node[SCENARIO_N_URL] = v;
	if ((s = yamldoc_scalar(&x->d, v, "service.url")) == NULL)
		return;
	if (!scenario_url_is_valid(s, &x->url_tls))
		yamldoc_err(&x->d, v, "service.url: expected http[s]://HOST:"
		    "PORT (PORT 1..65535 or {service_port}), not \"%s\"", s);
	else {
		free(x->sc->url);
		x->sc->url = xstrdup(s);
	}
}

static const struct scenario_key scenario_service_keys[] = {
	{ "service.url", SCENARIO_T_CALL, .call = scenario_service_url },
	{ "service.ca", SCENARIO_T_PATH, .off = SCENARIO_OFF(ca_file) },
	{ "service.insecure", SCENARIO_T_BOOL, .off = SCENARIO_OFF(insecure) },
	{ "service.command", SCENARIO_T_STRING, .off = SCENARIO_OFF(command) },
	{ "ready", SCENARIO_T_SECTION, SCENARIO_SECTION(scenario_ready_keys) },
	{ "env", SCENARIO_T_CALL, .call = scenario_env }
};

/* What the service section's keys get wrong together. */
static void
scenario_service_check(struct scenario_ctx *x, const yaml_node_t *k,
    const yaml_node_t *m)
{
	struct scenario	*sc = x->sc;

	if (x->node[SCENARIO_N_URL] == NULL)
		yamldoc_err(&x->d, m, "service: missing \"url\"");
	else if (sc->url != NULL && !x->url_tls && (sc->ca_file != NULL ||
	    sc->insecure))
		yamldoc_err(&x->d, m, "service: ca and insecure apply to an "
		    "https:// url");
	else if (sc->ca_file != NULL && sc->insecure)
		yamldoc_err(&x->d, m, "service: ca or insecure, not both");
}

/* --- responder -------------------------------------------------------- */

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
scenario_listen(struct scenario_ctx *x, const yaml_node_t *k,
    const yaml_node_t *v)
{
	const char	*s, *why;

	if ((s = yamldoc_scalar(&x->d, v, "responder.listen")) == NULL)
		return;
	/* The syntax here; the name is resolved by the checks (cmd-run.c),
	 * as at the start. */
	if ((why = scenario_listen_error(s)) != NULL)
		yamldoc_err(&x->d, v, "responder.listen: %s: \"%s\"", why, s);
	else {
		free(x->sc->listen);
		x->sc->listen = xstrdup(s);
		scenario_ref_add(x, "responder.listen", s, v);
	}
}

static void
scenario_unmatched(struct scenario_ctx *x, const yaml_node_t *k,
    const yaml_node_t *v)
{
	static const char *const names[] = { "404", "closest" };
	const char	*s;
	size_t		 i;

	if ((s = yamldoc_scalar(&x->d, v, "responder.unmatched")) == NULL)
		return;
	if (strcmp(s, "passthrough") == 0)
		yamldoc_err(&x->d, v, "responder.unmatched: passthrough is not "
		    "implemented yet (use 404 or closest)");
	else if (yamldoc_choice(&x->d, v, "responder.unmatched", names,
	    SCENARIO_NKEYS(names), &i) == 0) {
		free(x->sc->unmatched);
		x->sc->unmatched = xstrdup(names[i]);
	}
}

static const struct scenario_key scenario_responder_keys[] = {
	{ "responder.listen", SCENARIO_T_CALL, .call = scenario_listen },
	{ "responder.rules", SCENARIO_T_PATHS, .off = SCENARIO_OFF(rules),
	    .aux = SCENARIO_OFF(nrules) },
	{ "responder.unmatched", SCENARIO_T_CALL, .call = scenario_unmatched },
	{ "responder.seed", SCENARIO_T_SEED, .off = SCENARIO_OFF(seed),
	    .aux = SCENARIO_OFF(has_seed) },
	{ "responder.transforms", SCENARIO_T_PATH,
	    .off = SCENARIO_OFF(responder_transforms) },
	{ "responder.http2", SCENARIO_T_BOOL,
	    .off = SCENARIO_OFF(responder_http2) }
};

static void
scenario_responder_done(struct scenario_ctx *x, const yaml_node_t *k,
    const yaml_node_t *m)
{
	x->sc->has_responder = 1;
	if (x->sc->listen == NULL)
		x->sc->listen = xstrdup("127.0.0.1:0");
}

/* --- load ------------------------------------------------------------- */

static const char *const scenario_patterns[] = {
	"replay", "constant", "ramp", "steps", "closed"
};

static void
scenario_load_pattern(struct scenario_ctx *x, const yaml_node_t *k,
    const yaml_node_t *v)
{
	size_t	i;

	if (yamldoc_choice(&x->d, v, "load.pattern", scenario_patterns,
	    SCENARIO_NKEYS(scenario_patterns), &i) == -1)
		return;
	x->sc->pattern = (enum scenario_pattern)i;
	x->node[SCENARIO_N_PATTERN] = v;
}

static void
scenario_load_now(struct scenario_ctx *x, const yaml_node_t *k,
    const yaml_node_t *v)
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
		x->node[SCENARIO_N_NOW] = v;
	}
}

/* What the load section's keys get wrong together. */
static void
scenario_load_check(struct scenario_ctx *x, const yaml_node_t *k,
    const yaml_node_t *m)
{
	struct scenario		*sc = x->sc;
	const yaml_node_t	*mult = x->node[SCENARIO_N_MULT];
	const yaml_node_t	*clones = x->node[SCENARIO_N_CLONES];
	const yaml_node_t	*from = x->node[SCENARIO_N_FROM];
	const yaml_node_t	*steps = x->node[SCENARIO_N_STEPS];

	if (x->node[SCENARIO_N_NOW] != NULL && sc->transforms == NULL)
		yamldoc_err(&x->d, x->node[SCENARIO_N_NOW], "load.now: applies "
		    "with load.transforms");
	if (x->node[SCENARIO_N_PATTERN] == NULL)
		return;		/* replay: nothing to check */
	switch (sc->pattern) {
	case SCENARIO_REPLAY:
		if (mult != NULL && clones != NULL && sc->multiplier != 1.0 &&
		    sc->clones > 1)
			yamldoc_err(&x->d, clones, "load.clones: cannot be "
			    "combined with multiplier (pick one)");
		break;
	case SCENARIO_CONSTANT:
	case SCENARIO_RAMP:
	case SCENARIO_STEPS:
		if (x->node[SCENARIO_N_RATE] == NULL)
			yamldoc_err(&x->d, m, "load: pattern %s needs a rate",
			    scenario_patterns[sc->pattern]);
		if (sc->pattern != SCENARIO_CONSTANT && sc->duration_ns == 0)
			yamldoc_err(&x->d, m, "load: pattern %s needs a "
			    "duration", scenario_patterns[sc->pattern]);
		/* FALLTHROUGH */
	case SCENARIO_CLOSED:
		if (mult != NULL)
			yamldoc_err(&x->d, mult, "load.multiplier: only for "
			    "pattern replay");
		if (clones != NULL)
			yamldoc_err(&x->d, clones, "load.clones: only for "
			    "pattern replay");
		break;
	}
	if (from != NULL && sc->pattern != SCENARIO_RAMP)
		yamldoc_err(&x->d, from, "load.rate_from: only for pattern "
		    "ramp");
	if (from != NULL && x->node[SCENARIO_N_RATE] != NULL &&
	    sc->rate_from > sc->rate)
		yamldoc_err(&x->d, from, "load.rate_from: above load.rate");
	if (steps != NULL && sc->pattern != SCENARIO_STEPS)
		yamldoc_err(&x->d, steps, "load.steps: only for pattern steps");
	if (sc->pattern == SCENARIO_STEPS && steps == NULL)
		sc->steps = 5;
}

static const struct scenario_key scenario_load_keys[] = {
	{ "load.pattern", SCENARIO_T_CALL, .call = scenario_load_pattern },
	{ "load.multiplier", SCENARIO_T_POSITIVE,
	    .off = SCENARIO_OFF(multiplier),
	    .max = 1000000, .node = SCENARIO_N_MULT },
	{ "load.clones", SCENARIO_T_UINT, .off = SCENARIO_OFF(clones), .min = 1,
	    .max = 100000, .node = SCENARIO_N_CLONES },
	{ "load.rate", SCENARIO_T_RATE, .off = SCENARIO_OFF(rate),
	    .node = SCENARIO_N_RATE },
	{ "load.rate_from", SCENARIO_T_RATE, .off = SCENARIO_OFF(rate_from),
	    .node = SCENARIO_N_FROM },
	{ "load.steps", SCENARIO_T_UINT, .off = SCENARIO_OFF(steps), .min = 1,
	    .max = 1000, .node = SCENARIO_N_STEPS },
	{ "load.duration", SCENARIO_T_DURATION,
	    .off = SCENARIO_OFF(duration_ns) },
	{ "load.connections", SCENARIO_T_UINT, .off = SCENARIO_OFF(connections),
	    .min = 1, .max = 65536 },
	{ "load.http2", SCENARIO_T_BOOL, .off = SCENARIO_OFF(http2) },
	{ "load.streams", SCENARIO_T_UINT, .off = SCENARIO_OFF(streams),
	    .min = 1, .max = 65536 },
	{ "load.timeout", SCENARIO_T_DURATION, .off = SCENARIO_OFF(timeout_ns),
	    .min = 1 },
	{ "load.transforms", SCENARIO_T_PATH, .off = SCENARIO_OFF(transforms) },
	{ "load.now", SCENARIO_T_CALL, .call = scenario_load_now },
	{ "load.seed", SCENARIO_T_SEED, .off = SCENARIO_OFF(load_seed),
	    .aux = SCENARIO_OFF(load_has_seed) }
};

/* --- assert ----------------------------------------------------------- */

/* latency: one key per percentile (scenario_pct_names). */
static void
scenario_latency(struct scenario_ctx *x, const yaml_node_t *latk,
    const yaml_node_t *m)
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
scenario_cmp_status(struct scenario_ctx *x, const yaml_node_t *k,
    const yaml_node_t *v)
{
	static const char *const names[] = { "exact", "ignore" };
	size_t	i;

	if (yamldoc_choice(&x->d, v, "assert.regression.status", names,
	    SCENARIO_NKEYS(names), &i) == 0)
		x->sc->cmp_status = i == 0;
}

static void
scenario_cmp_body(struct scenario_ctx *x, const yaml_node_t *k,
    const yaml_node_t *v)
{
	/* In the order of enum scenario_body. */
	static const char *const names[] = { "exact", "json", "ignore" };
	size_t	i;

	if (yamldoc_choice(&x->d, v, "assert.regression.body", names,
	    SCENARIO_NKEYS(names), &i) == -1)
		return;
	x->sc->cmp_body = (enum scenario_body)i;
	x->has_body = 1;
}

static void
scenario_cmp_numbers(struct scenario_ctx *x, const yaml_node_t *k,
    const yaml_node_t *v)
{
	static const char *const names[] = { "exact", "numeric" };
	size_t	i;

	if (yamldoc_choice(&x->d, v, "assert.regression.numbers", names,
	    SCENARIO_NKEYS(names), &i) == -1)
		return;
	x->sc->cmp_numeric = i == 1;
	if (i == 1)
		x->node[SCENARIO_N_NUMBERS] = v;
}

static void
scenario_cmp_ignore(struct scenario_ctx *x, const yaml_node_t *k,
    const yaml_node_t *v)
{
	struct scenario	*sc = x->sc;
	size_t		 i, before = sc->nignore;

	scenario_strings(x, v, "assert.regression.ignore", 0, &sc->ignore,
	    &sc->nignore);
	for (i = before; i < sc->nignore; i++) {
		if (sc->ignore[i][0] != '$')
			yamldoc_err(&x->d, v, "assert.regression.ignore: "
			    "\"%s\" is not a JSON path ($.a.b, $.items[*].id)",
			    sc->ignore[i]);
	}
	x->node[SCENARIO_N_IGNORE] = v;
}

static const struct scenario_key scenario_regression_keys[] = {
	{ "assert.regression.status", SCENARIO_T_CALL,
	    .call = scenario_cmp_status },
	{ "assert.regression.headers", SCENARIO_T_STRINGS,
	    .off = SCENARIO_OFF(cmp_headers),
	    .aux = SCENARIO_OFF(ncmp_headers) },
	{ "assert.regression.body", SCENARIO_T_CALL,
	    .call = scenario_cmp_body },
	{ "assert.regression.ignore", SCENARIO_T_CALL,
	    .call = scenario_cmp_ignore },
	{ "assert.regression.numbers", SCENARIO_T_CALL,
	    .call = scenario_cmp_numbers }
};

/* numbers: numeric and ignore paths are JSON comparisons. */
static void
scenario_regression_check(struct scenario_ctx *x, const yaml_node_t *n,
    const char *what)
{
	if (n == NULL)
		return;
	if (!x->has_body)
		x->sc->cmp_body = SCENARIO_BODY_JSON;
	else if (x->sc->cmp_body != SCENARIO_BODY_JSON)
		yamldoc_err(&x->d, n, "%s", what);
}

static void
scenario_regression_done(struct scenario_ctx *x, const yaml_node_t *k,
    const yaml_node_t *m)
{
	x->sc->has_regression = 1;
	scenario_regression_check(x, x->node[SCENARIO_N_NUMBERS],
	    "assert.regression.numbers: numeric needs body: json");
	scenario_regression_check(x, x->node[SCENARIO_N_IGNORE],
	    "assert.regression.ignore: needs body: json");
}

static const struct scenario_key scenario_error_rate_keys[] = {
	{ "assert.error_rate.max", SCENARIO_T_RATIO,
	    .off = SCENARIO_OFF(error_rate_max),
	    .aux = SCENARIO_OFF(has_error_rate) }
};

static const struct scenario_key scenario_throughput_keys[] = {
	{ "assert.throughput.min", SCENARIO_T_RATE,
	    .off = SCENARIO_OFF(throughput_min),
	    .aux = SCENARIO_OFF(has_throughput),
	    .expect = "a rate such as 400/s" }
};

static const struct scenario_key scenario_findings_keys[] = {
	{ "assert.findings.max", SCENARIO_T_UINT,
	    .off = SCENARIO_OFF(findings_max),
	    .aux = SCENARIO_OFF(has_findings_max),
	    .min = 0, .max = 1000000 }
};

/* Findings kept for the top level's check (a mapping was given). */
static void
scenario_findings_done(struct scenario_ctx *x, const yaml_node_t *k,
    const yaml_node_t *m)
{
	x->node[SCENARIO_N_FINDINGS] = k;
}

static const struct scenario_key scenario_assert_keys[] = {
	{ "assert.latency", SCENARIO_T_CALL, .call = scenario_latency },
	{ "assert.error_rate", SCENARIO_T_SECTION,
	    SCENARIO_SECTION(scenario_error_rate_keys) },
	{ "assert.throughput", SCENARIO_T_SECTION,
	    SCENARIO_SECTION(scenario_throughput_keys) },
	{ "assert.regression", SCENARIO_T_SECTION,
	    SCENARIO_SECTION(scenario_regression_keys),
	    .call = scenario_regression_done },
	{ "assert.findings", SCENARIO_T_SECTION,
	    SCENARIO_SECTION(scenario_findings_keys),
	    .call = scenario_findings_done }
};

/* --- fuzz, report and the top level ----------------------------------- */

static const struct scenario_key scenario_fuzz_keys[] = {
	{ "fuzz.corpus", SCENARIO_T_PATH, .off = SCENARIO_OFF(fuzz_corpus) },
	{ "fuzz.requests", SCENARIO_T_UINT, .off = SCENARIO_OFF(fuzz_requests),
	    .min = 1, .max = 1000000000 },
	{ "fuzz.duration", SCENARIO_T_DURATION,
	    .off = SCENARIO_OFF(fuzz_duration_ns) },
	{ "fuzz.seed", SCENARIO_T_SEED, .off = SCENARIO_OFF(fuzz_seed),
	    .aux = SCENARIO_OFF(fuzz_has_seed) },
	{ "fuzz.findings", SCENARIO_T_PATH,
	    .off = SCENARIO_OFF(fuzz_findings) },
	{ "fuzz.connections", SCENARIO_T_UINT,
	    .off = SCENARIO_OFF(fuzz_connections), .min = 1, .max = 1024 },
	{ "fuzz.timeout", SCENARIO_T_DURATION,
	    .off = SCENARIO_OFF(fuzz_timeout_ns) },
	{ "fuzz.mutate_auth", SCENARIO_T_BOOL,
	    .off = SCENARIO_OFF(fuzz_mutate_auth) }
};

static void
scenario_fuzz_done(struct scenario_ctx *x, const yaml_node_t *k,
    const yaml_node_t *m)
{
	x->sc->has_fuzz = 1;
	if (x->sc->fuzz_corpus == NULL)
		yamldoc_err(&x->d, m, "fuzz: missing \"corpus\"");
}

static const struct scenario_key scenario_report_keys[] = {
	{ "report.json", SCENARIO_T_PATH, .off = SCENARIO_OFF(report_json) },
	{ "report.junit", SCENARIO_T_PATH, .off = SCENARIO_OFF(report_junit) },
	{ "report.html", SCENARIO_T_PATH, .off = SCENARIO_OFF(report_html) }
};

static const struct scenario_key scenario_top_keys[] = {
	{ "name", SCENARIO_T_STRING, .off = SCENARIO_OFF(name) },
	{ "snapshot", SCENARIO_T_PATH, .off = SCENARIO_OFF(snapshot) },
	{ "service", SCENARIO_T_SECTION,
	    SCENARIO_SECTION(scenario_service_keys),
	    .node = SCENARIO_N_SERVICE, .call = scenario_service_check },
	{ "responder", SCENARIO_T_SECTION,
	    SCENARIO_SECTION(scenario_responder_keys),
	    .call = scenario_responder_done },
	{ "load", SCENARIO_T_SECTION, SCENARIO_SECTION(scenario_load_keys),
	    .node = SCENARIO_N_LOAD, .call = scenario_load_check },
	{ "fuzz", SCENARIO_T_SECTION, SCENARIO_SECTION(scenario_fuzz_keys),
	    .node = SCENARIO_N_FUZZ, .call = scenario_fuzz_done },
	{ "assert", SCENARIO_T_SECTION,
	    SCENARIO_SECTION(scenario_assert_keys) },
	{ "report", SCENARIO_T_SECTION,
	    SCENARIO_SECTION(scenario_report_keys) }
};

static void
scenario_top(struct scenario_ctx *x, const yaml_node_t *root)
{
	struct scenario	*sc = x->sc;
	struct buf	 list;

	if (root->type != YAML_MAPPING_NODE) {
		buf_init(&list);
		scenario_key_list(&list, scenario_top_keys,
		    SCENARIO_NKEYS(scenario_top_keys));
		yamldoc_err(&x->d, root, "expected a mapping (%s), not %s",
		    list.data, yamldoc_kind(root));
		buf_free(&list);
		return;
	}
	if (scenario_walk(x, root, NULL, scenario_top_keys,
	    SCENARIO_NKEYS(scenario_top_keys)) == -1)
		return;
	if (sc->snapshot == NULL)
		yamldoc_err(&x->d, root, "missing \"snapshot\"");
	if (x->node[SCENARIO_N_SERVICE] == NULL)
		yamldoc_err(&x->d, root, "missing \"service\"");
	if (x->node[SCENARIO_N_FUZZ] != NULL &&
	    x->node[SCENARIO_N_LOAD] != NULL)
		yamldoc_err(&x->d, x->node[SCENARIO_N_FUZZ], "fuzz: a scenario "
		    "drives the service with load or with fuzz, not both");
	if (x->node[SCENARIO_N_FINDINGS] != NULL &&
	    x->node[SCENARIO_N_FUZZ] == NULL)
		yamldoc_err(&x->d, x->node[SCENARIO_N_FINDINGS],
		    "assert.findings: only with a fuzz section");
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
	sc->responder_http2 = 1;
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
	int		 rc;

	if ((f = fopen(path, "r")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b);
	rc = buf_read_stream(&b, f, SCENARIO_MAX_FILE);
	if (rc == -1 || b.len > SCENARIO_MAX_FILE) {
		*cause = xasprintf("%s: %s", path, rc == -1 ?
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
