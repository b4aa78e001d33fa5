/*
 * conf.c -- decoyd's YAML configuration and unit parsers.  The YAML is
 * loaded as a libyaml document so every node carries its line and column
 * for error messages.
 */
#include "admin.h"
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "conf.h"
#include "sock.h"
#include "xmalloc.h"
#include "yamldoc.h"

void
conf_init(struct decoyd_conf *c)
{
	respond_config_init(&c->respond);
	c->log_level = LOG_LEVEL_INFO;
	memset(&c->user, 0, sizeof c->user);
}

void
conf_free(struct decoyd_conf *c)
{
	respond_config_free(&c->respond);
	priv_user_free(&c->user);
}

int
conf_parse_unmatched(const char *s, enum match_unmatched *u, char **cause)
{
	if (strcmp(s, "404") == 0)
		*u = MATCH_UNMATCHED_404;
	else if (strcmp(s, "closest") == 0)
		*u = MATCH_UNMATCHED_CLOSEST;
	else if (strcmp(s, "passthrough") == 0)
		*u = MATCH_UNMATCHED_PASSTHROUGH;
	else {
		*cause = xasprintf("unmatched: expected 404, closest or "
		    "passthrough, "
		    "not \"%s\"", s);
		return -1;
	}
	return 0;
}

int
conf_parse_rate(const char *s, size_t *bps)
{
	char	*v, *end;
	int	 rv;

	v = xstrdup(s);
	if ((end = strstr(v, "/s")) != NULL && end[2] == '\0')
		*end = '\0';
	rv = units_parse_size(v, bps);
	free(v);
	return rv;
}

/* --- the YAML walker -------------------------------------------------- */

static const char *
conf_scalar(struct yamldoc *x, const yaml_node_t *n, const char *key)
{
	if (n->type != YAML_SCALAR_NODE) {
		yamldoc_err(x, n, "%s: expected a single value", key);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

static char *
conf_path(struct yamldoc *x, const char *p)
{
	if (strcmp(p, "-") == 0)
		return xstrdup(p);
	return yamldoc_path(x, p);
}

/* Calls fn for each pair of mapping map (checked by the caller) whose key
 * is a scalar; a key that is not is an error ("WHAT: expected a single
 * value"). */
typedef void (*conf_pair_cb)(struct yamldoc *, const yaml_node_t *k,
    yaml_node_t *v, const char *key, void *arg);

static void
conf_pairs(struct yamldoc *x, const yaml_node_t *map, const char *what,
    conf_pair_cb fn, void *arg)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*key;

	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		k = yamldoc_node(x, pair->key);
		v = yamldoc_node(x, pair->value);
		if ((key = conf_scalar(x, k, what)) != NULL)
			fn(x, k, v, key, arg);
	}
}

/* The keys of limits: what each holds, where it goes, its least value. */
enum conf_limit_type { CONF_SIZE, CONF_DURATION, CONF_RATE };

static const struct conf_limit {
	const char		*key;
	enum conf_limit_type	 type;
	size_t			 off;	/* in struct respond_config */
	uint64_t		 min;
	const char		*hint;	/* after the error message */
} conf_limits_keys[] = {
	{ "max_head", CONF_SIZE, offsetof(struct respond_config, max_head),
	  256, " (at least 256 bytes)" },
	{ "max_body", CONF_SIZE, offsetof(struct respond_config, max_body),
	  0, "" },
	{ "header_timeout", CONF_DURATION,
	  offsetof(struct respond_config, header_timeout_ns), 1, "" },
	{ "output_budget", CONF_SIZE,
	  offsetof(struct respond_config, output_budget), 1, "" },
	{ "body_timeout", CONF_DURATION,
	  offsetof(struct respond_config, body_timeout_ns), 0, "" },
	{ "body_min_rate", CONF_RATE,
	  offsetof(struct respond_config, body_min_rate), 0,
	  " (bytes per second: 1KiB, 1KiB/s)" },
	{ "idle_timeout", CONF_DURATION,
	  offsetof(struct respond_config, idle_timeout_ns), 1, "" },
};

static void
conf_limit(struct yamldoc *x, const yaml_node_t *k, yaml_node_t *v,
    const char *key, void *arg)
{
	static const char *const	 what[] = { "size", "duration",
					     "rate" };
	const struct conf_limit		*l;
	char				*field;
	const char			*val;
	uint64_t			 ns = 0;
	size_t				 n = 0, i;
	int				 rc;

	if ((val = conf_scalar(x, v, key)) == NULL)
		return;
	for (i = 0; i < sizeof conf_limits_keys / sizeof conf_limits_keys[0];
	    i++)
		if (strcmp(key, conf_limits_keys[i].key) == 0)
			break;
	if (i == sizeof conf_limits_keys / sizeof conf_limits_keys[0]) {
		yamldoc_err(x, k, "limits: unknown key \"%s\"", key);
		return;
	}
	l = &conf_limits_keys[i];
	field = (char *)arg + l->off;
	if (l->type == CONF_DURATION) {
		rc = units_parse_duration(val, &ns);
		if (rc == 0 && ns >= l->min)
			memcpy(field, &ns, sizeof ns);
	} else {
		rc = l->type == CONF_SIZE ? units_parse_size(val, &n) :
		    conf_parse_rate(val, &n);
		ns = n;
		if (rc == 0 && n >= l->min)
			memcpy(field, &n, sizeof n);
	}
	if (rc == -1 || ns < l->min)
		yamldoc_err(x, v, "%s: bad %s \"%s\"%s", key, what[l->type],
		    val, l->hint);
}

static void
conf_limits(struct yamldoc *x, const yaml_node_t *map,
    struct respond_config *r)
{
	if (map->type != YAML_MAPPING_NODE) {
		yamldoc_err(x, map, "limits: expected a mapping");
		return;
	}
	conf_pairs(x, map, "limits", conf_limit, r);
}

/* A listen address as the start takes it: HOST:PORT, port 0..65535, a
 * host that resolves; an error at the node otherwise. */
static void
conf_listen(struct yamldoc *x, const yaml_node_t *n, const char *key,
    const char *val, struct respond_config *r)
{
	struct sock_addr	 sa;
	char			*cause = NULL;

	if (sock_parse_addr(val, &sa, &cause) == -1) {
		yamldoc_err(x, n, "%s: %s", key, cause);
		free(cause);
		return;
	}
	if (r != NULL)
		respond_config_add_listen(r, val);
}

/* The admin mapping being read, and its listen node. */
struct conf_admin_walk {
	struct respond_config	*r;
	const yaml_node_t	*listen;
};

static void
conf_admin_key(struct yamldoc *x, const yaml_node_t *k, yaml_node_t *v,
    const char *key, void *arg)
{
	struct conf_admin_walk	*w = arg;
	struct respond_config	*r = w->r;
	const char		*val;
	char			*cause = NULL, *path;

	if ((val = conf_scalar(x, v, key)) == NULL)
		return;
	if (strcmp(key, "listen") == 0) {
		free(r->admin);
		r->admin = xstrdup(val);
		w->listen = v;
	} else if (strcmp(key, "token") == 0) {
		free(r->admin_token);
		r->admin_token = xstrdup(val);
	} else if (strcmp(key, "token_file") == 0) {
		path = conf_path(x, val);
		free(r->admin_token);
		if ((r->admin_token = admin_token_load(path, &cause)) ==
		    NULL) {
			yamldoc_err(x, v, "admin: token_file: %s", cause);
			free(cause);
		}
		free(path);
	} else if (strcmp(key, "port_file") == 0) {
		free(r->admin_port_file);
		r->admin_port_file = conf_path(x, val);
	} else
		yamldoc_err(x, k, "admin: unknown key \"%s\"", key);
}

static void
conf_admin(struct yamldoc *x, const yaml_node_t *map,
    struct respond_config *r)
{
	struct conf_admin_walk	 w = { r, NULL };
	char			*cause = NULL;

	if (map->type != YAML_MAPPING_NODE) {
		yamldoc_err(x, map, "admin: expected a mapping (listen, token, "
		    "token_file, port_file)");
		return;
	}
	conf_pairs(x, map, "admin", conf_admin_key, &w);
	if (r->admin == NULL)
		yamldoc_err(x, map, "admin: missing required key \"listen\"");
	/* What the start refuses (an address beyond loopback without a
	 * token) is refused here, so decoyd -n agrees with it. */
	else if (w.listen != NULL &&
	    admin_check(r->admin, r->admin_token, &cause) == -1) {
		yamldoc_err(x, w.listen, "admin.listen: %s", cause);
		free(cause);
	}
}

/* The top-level keys that name a file: a path relative to the file. */
static const struct {
	const char	*key;
	size_t		 off;	/* of the char * in struct respond_config */
} conf_path_keys[] = {
	{ "snapshot", offsetof(struct respond_config, snapshot) },
	{ "transforms", offsetof(struct respond_config, transforms) },
	{ "proto_set", offsetof(struct respond_config, proto_set) },
	{ "port_file", offsetof(struct respond_config, port_file) },
	{ "ca", offsetof(struct respond_config, ca_dir) },
	{ "chaos_log", offsetof(struct respond_config, chaos_log) },
	{ "passthrough_ca", offsetof(struct respond_config, pass_ca) },
	{ "record_misses", offsetof(struct respond_config, record_misses) },
};

/* The top-level keys that are booleans (true/yes, false/no). */
static const struct {
	const char	*key;
	size_t		 off;	/* of the int in struct respond_config */
} conf_bool_keys[] = {
	{ "tls", offsetof(struct respond_config, tls) },
	{ "allow_empty", offsetof(struct respond_config, allow_empty) },
	{ "transparent", offsetof(struct respond_config, transparent) },
	{ "http2", offsetof(struct respond_config, http2) },
};

static const char *const conf_log_levels[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

/* Sets a path or boolean key of r from val; 0 when key is neither. */
static int
conf_table_key(struct yamldoc *x, const yaml_node_t *v, const char *key,
    const char *val, struct respond_config *r)
{
	char	**sp;
	int	 *ip;
	size_t	  i;

	for (i = 0; i < sizeof conf_path_keys / sizeof conf_path_keys[0];
	    i++) {
		if (strcmp(key, conf_path_keys[i].key) != 0)
			continue;
		sp = (char **)(void *)((char *)r + conf_path_keys[i].off);
		free(*sp);
		*sp = conf_path(x, val);
		return 1;
	}
	for (i = 0; i < sizeof conf_bool_keys / sizeof conf_bool_keys[0];
	    i++) {
		if (strcmp(key, conf_bool_keys[i].key) != 0)
			continue;
		ip = (int *)(void *)((char *)r + conf_bool_keys[i].off);
		if (strcmp(val, "true") == 0 || strcmp(val, "yes") == 0)
			*ip = 1;
		else if (strcmp(val, "false") == 0 || strcmp(val, "no") == 0)
			*ip = 0;
		else
			yamldoc_err(x, v, "%s: expected true or false, not "
			    "\"%s\"", key, val);
		return 1;
	}
	return 0;
}

/* Sets the scalar top-level key key of c from val (node v). */
static void
conf_scalar_key(struct yamldoc *x, const yaml_node_t *k,
    const yaml_node_t *v, const char *key, const char *val,
    struct decoyd_conf *c)
{
	struct respond_config	*r = &c->respond;
	char			*cause = NULL, *end;
	long			 l;
	size_t			 i;

	if (conf_table_key(x, v, key, val, r))
		return;
	if (strcmp(key, "listen") == 0)
		conf_listen(x, v, key, val, r);
	else if (strcmp(key, "unmatched") == 0) {
		if (conf_parse_unmatched(val, &r->unmatched, &cause) == -1) {
			yamldoc_err(x, v, "%s", cause);
			free(cause);
		}
	} else if (strcmp(key, "workers") == 0) {
		errno = 0;
		l = strtol(val, &end, 10);
		if (*val == '\0' || *end != '\0' || errno != 0 ||
		    l < 0 || l > 256)
			yamldoc_err(x, v, "workers: expected 0..256, "
			    "not \"%s\"", val);
		else
			r->workers = (int)l;
	} else if (strcmp(key, "seed") == 0) {
		if (units_parse_seed(val, &r->seed) == -1)
			yamldoc_err(x, v, "seed: expected an unsigned "
			    "integer, not \"%s\"", val);
		else
			r->has_seed = 1;
	} else if (strcmp(key, "user") == 0) {
		priv_user_free(&c->user);
		if (priv_user_lookup(&c->user, val, &cause) == -1) {
			yamldoc_err(x, v, "user: %s", cause);
			free(cause);
		}
	} else if (strcmp(key, "passthrough_allow") == 0) {
		r->pass_allow = xreallocarray(r->pass_allow,
		    r->npass_allow + 1, sizeof *r->pass_allow);
		r->pass_allow[r->npass_allow++] = xstrdup(val);
	} else if (strcmp(key, "log_level") == 0) {
		for (i = 0; i < sizeof conf_log_levels /
		    sizeof conf_log_levels[0]; i++) {
			if (conf_log_levels[i] != NULL &&
			    strcmp(val, conf_log_levels[i]) == 0)
				break;
		}
		if (i < sizeof conf_log_levels / sizeof conf_log_levels[0])
			c->log_level = (enum log_level)i;
		else
			yamldoc_err(x, v, "log_level: expected error, "
			    "warn, info or debug, not \"%s\"", val);
	} else
		yamldoc_err(x, k, "unknown key \"%s\"", key);
}

/* Adds the rule file(s) of the rules key: one scalar or a sequence. */
static void
conf_rules(struct yamldoc *x, yaml_node_t *v, const char *key,
    struct respond_config *r)
{
	yaml_node_item_t	*item;
	yaml_node_t		*n;
	const char		*val;
	char			*path;

	if (v->type != YAML_SEQUENCE_NODE) {
		if ((val = conf_scalar(x, v, key)) != NULL) {
			path = conf_path(x, val);
			respond_config_add_rules(r, path);
			free(path);
		}
		return;
	}
	for (item = v->data.sequence.items.start;
	    item < v->data.sequence.items.top; item++) {
		n = yamldoc_node(x, *item);
		if ((val = conf_scalar(x, n, key)) != NULL) {
			path = conf_path(x, val);
			respond_config_add_rules(r, path);
			free(path);
		}
	}
}

/* The top level being read: the configuration, and whether it has a
 * listen key. */
struct conf_top_walk {
	struct decoyd_conf	*c;
	int			 has_listen;
};

static void
conf_top_key(struct yamldoc *x, const yaml_node_t *k, yaml_node_t *v,
    const char *key, void *arg)
{
	struct conf_top_walk	*w = arg;
	struct respond_config	*r = &w->c->respond;
	yaml_node_item_t	*item;
	yaml_node_t		*n;
	const char		*val;

	if (strcmp(key, "limits") == 0) {
		conf_limits(x, v, r);
		return;
	}
	if (strcmp(key, "admin") == 0) {
		conf_admin(x, v, r);
		return;
	}
	if (strcmp(key, "rules") == 0) {
		conf_rules(x, v, key, r);
		return;
	}
	if (strcmp(key, "listen") == 0)
		w->has_listen = 1;
	if (strcmp(key, "listen") == 0 && v->type == YAML_SEQUENCE_NODE) {
		for (item = v->data.sequence.items.start;
		    item < v->data.sequence.items.top; item++) {
			n = yamldoc_node(x, *item);
			if ((val = conf_scalar(x, n, key)) != NULL)
				conf_listen(x, n, key, val, r);
		}
		return;
	}
	if ((val = conf_scalar(x, v, key)) != NULL)
		conf_scalar_key(x, k, v, key, val, w->c);
}

static void
conf_top(struct yamldoc *x, const yaml_node_t *root, struct decoyd_conf *c)
{
	struct conf_top_walk	w = { c, 0 };

	if (root->type != YAML_MAPPING_NODE) {
		yamldoc_err(x, root, "expected a mapping of settings");
		return;
	}
	conf_pairs(x, root, "key", conf_top_key, &w);
	if (c->respond.snapshot == NULL)
		yamldoc_err(x, root, "missing required key \"snapshot\"");
	if (c->respond.nlisten == 0 && !w.has_listen)
		yamldoc_err(x, root, "missing required key \"listen\"");
}

int
conf_load(const char *path, struct decoyd_conf *c, char **cause)
{
	struct yamldoc	 x;
	FILE		*f;
	int		 rv = -1;

	conf_init(c);
	if ((f = fopen(path, "r")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	yamldoc_init(&x);
	x.verbatim = 1;
	if (yamldoc_load_file(&x, path, f) == -1)
		*cause = xasprintf("%s:%zu:%zu: %s", path, x.mark.line + 1,
		    x.mark.column + 1, x.problem != NULL ? x.problem :
		    "YAML error");
	else if (x.root == NULL)
		*cause = xasprintf("%s:1:1: empty configuration", path);
	else {
		conf_top(&x, x.root, c);
		rv = yamldoc_finish(&x, cause);
	}
	yamldoc_free(&x);
	fclose(f);
	return rv;
}
