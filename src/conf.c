/*
 * conf.c -- decoyd's YAML configuration and unit parsers.  The YAML is
 * loaded as a libyaml document so every node carries its line and column
 * for error messages.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "buf.h"
#include "conf.h"
#include "xmalloc.h"

void
conf_init(struct decoyd_conf *c)
{
	respond_config_init(&c->respond);
	c->log_level = LOG_LEVEL_INFO;
}

void
conf_free(struct decoyd_conf *c)
{
	respond_config_free(&c->respond);
}

int
conf_parse_unmatched(const char *s, enum match_unmatched *u, char **cause)
{
	if (strcmp(s, "404") == 0)
		*u = MATCH_UNMATCHED_404;
	else if (strcmp(s, "closest") == 0)
		*u = MATCH_UNMATCHED_CLOSEST;
	else if (strcmp(s, "passthrough") == 0) {
		*cause = xstrdup("unmatched: passthrough is not implemented "
		    "yet (use 404 or closest)");
		return -1;
	} else {
		*cause = xasprintf("unmatched: expected 404 or closest, "
		    "not \"%s\"", s);
		return -1;
	}
	return 0;
}

/* --- the YAML walker -------------------------------------------------- */

struct conf_ctx {
	const char	*path;
	char		*dir;		/* for relative paths */
	yaml_document_t	*doc;
	struct buf	 errors;
	int		 nerrors;
};

static void conf_err(struct conf_ctx *, const yaml_node_t *, const char *,
    ...) __attribute__((format(printf, 3, 4)));

static void
conf_err(struct conf_ctx *x, const yaml_node_t *n, const char *fmt, ...)
{
	va_list	ap;

	if (x->nerrors++ > 0)
		buf_append_byte(&x->errors, '\n');
	buf_printf(&x->errors, "%s:%zu:%zu: ", x->path,
	    n->start_mark.line + 1, n->start_mark.column + 1);
	va_start(ap, fmt);
	buf_vprintf(&x->errors, fmt, ap);
	va_end(ap);
}

static const char *
conf_scalar(struct conf_ctx *x, const yaml_node_t *n, const char *key)
{
	if (n->type != YAML_SCALAR_NODE) {
		conf_err(x, n, "%s: expected a single value", key);
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

static char *
conf_path(struct conf_ctx *x, const char *p)
{
	if (p[0] == '/' || strcmp(p, "-") == 0 || x->dir == NULL)
		return xstrdup(p);
	return xasprintf("%s/%s", x->dir, p);
}

static void
conf_limits(struct conf_ctx *x, const yaml_node_t *map,
    struct respond_config *r)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*key, *val;

	if (map->type != YAML_MAPPING_NODE) {
		conf_err(x, map, "limits: expected a mapping");
		return;
	}
	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(x->doc, pair->key);
		v = yaml_document_get_node(x->doc, pair->value);
		if ((key = conf_scalar(x, k, "limits")) == NULL)
			continue;
		if ((val = conf_scalar(x, v, key)) == NULL)
			continue;
		if (strcmp(key, "max_head") == 0) {
			if (units_parse_size(val, &r->max_head) == -1 ||
			    r->max_head < 256)
				conf_err(x, v, "max_head: bad size \"%s\" "
				    "(at least 256 bytes)", val);
		} else if (strcmp(key, "max_body") == 0) {
			if (units_parse_size(val, &r->max_body) == -1)
				conf_err(x, v, "max_body: bad size \"%s\"",
				    val);
		} else if (strcmp(key, "header_timeout") == 0) {
			if (units_parse_duration(val,
			    &r->header_timeout_ns) == -1 ||
			    r->header_timeout_ns == 0)
				conf_err(x, v, "header_timeout: bad duration "
				    "\"%s\"", val);
		} else if (strcmp(key, "idle_timeout") == 0) {
			if (units_parse_duration(val,
			    &r->idle_timeout_ns) == -1 ||
			    r->idle_timeout_ns == 0)
				conf_err(x, v, "idle_timeout: bad duration "
				    "\"%s\"", val);
		} else
			conf_err(x, k, "limits: unknown key \"%s\"", key);
	}
}

static void
conf_admin(struct conf_ctx *x, const yaml_node_t *map,
    struct respond_config *r)
{
	yaml_node_pair_t	*pair;
	yaml_node_t		*k, *v;
	const char		*key, *val;

	if (map->type != YAML_MAPPING_NODE) {
		conf_err(x, map, "admin: expected a mapping (listen, token, "
		    "port_file)");
		return;
	}
	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(x->doc, pair->key);
		v = yaml_document_get_node(x->doc, pair->value);
		if ((key = conf_scalar(x, k, "admin")) == NULL)
			continue;
		if ((val = conf_scalar(x, v, key)) == NULL)
			continue;
		if (strcmp(key, "listen") == 0) {
			free(r->admin);
			r->admin = xstrdup(val);
		} else if (strcmp(key, "token") == 0) {
			free(r->admin_token);
			r->admin_token = xstrdup(val);
		} else if (strcmp(key, "port_file") == 0) {
			free(r->admin_port_file);
			r->admin_port_file = conf_path(x, val);
		} else
			conf_err(x, k, "admin: unknown key \"%s\"", key);
	}
	if (r->admin == NULL)
		conf_err(x, map, "admin: missing required key \"listen\"");
}

static void
conf_top(struct conf_ctx *x, const yaml_node_t *root, struct decoyd_conf *c)
{
	struct respond_config	*r = &c->respond;
	yaml_node_pair_t	*pair;
	yaml_node_item_t	*item;
	yaml_node_t		*k, *v, *n;
	const char		*key, *val;
	char			*cause, *end;
	long			 l;

	if (root->type != YAML_MAPPING_NODE) {
		conf_err(x, root, "expected a mapping of settings");
		return;
	}
	for (pair = root->data.mapping.pairs.start;
	    pair < root->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(x->doc, pair->key);
		v = yaml_document_get_node(x->doc, pair->value);
		if ((key = conf_scalar(x, k, "key")) == NULL)
			continue;
		if (strcmp(key, "limits") == 0) {
			conf_limits(x, v, r);
			continue;
		}
		if (strcmp(key, "admin") == 0) {
			conf_admin(x, v, r);
			continue;
		}
		if (strcmp(key, "rules") == 0) {
			if (v->type == YAML_SEQUENCE_NODE) {
				for (item = v->data.sequence.items.start;
				    item < v->data.sequence.items.top; item++) {
					n = yaml_document_get_node(x->doc, *item);
					if ((val = conf_scalar(x, n, key)) != NULL) {
						char *path = conf_path(x, val);

						respond_config_add_rules(r, path);
						free(path);
					}
				}
			} else if ((val = conf_scalar(x, v, key)) != NULL) {
				char *path = conf_path(x, val);

				respond_config_add_rules(r, path);
				free(path);
			}
			continue;
		}
		if (strcmp(key, "listen") == 0 && v->type ==
		    YAML_SEQUENCE_NODE) {
			for (item = v->data.sequence.items.start;
			    item < v->data.sequence.items.top; item++) {
				n = yaml_document_get_node(x->doc, *item);
				if ((val = conf_scalar(x, n, key)) != NULL)
					respond_config_add_listen(r, val);
			}
			continue;
		}
		if ((val = conf_scalar(x, v, key)) == NULL)
			continue;
		if (strcmp(key, "snapshot") == 0) {
			free(r->snapshot);
			r->snapshot = conf_path(x, val);
		} else if (strcmp(key, "listen") == 0)
			respond_config_add_listen(r, val);
		else if (strcmp(key, "unmatched") == 0) {
			cause = NULL;
			if (conf_parse_unmatched(val, &r->unmatched,
			    &cause) == -1) {
				conf_err(x, v, "%s", cause);
				free(cause);
			}
		} else if (strcmp(key, "workers") == 0) {
			errno = 0;
			l = strtol(val, &end, 10);
			if (*val == '\0' || *end != '\0' || errno != 0 ||
			    l < 0 || l > 256)
				conf_err(x, v, "workers: expected 0..256, "
				    "not \"%s\"", val);
			else
				r->workers = (int)l;
		} else if (strcmp(key, "port_file") == 0) {
			free(r->port_file);
			r->port_file = conf_path(x, val);
		} else if (strcmp(key, "seed") == 0) {
			if (units_parse_seed(val, &r->seed) == -1)
				conf_err(x, v, "seed: expected an unsigned "
				    "integer, not \"%s\"", val);
			else
				r->has_seed = 1;
		} else if (strcmp(key, "chaos_log") == 0) {
			free(r->chaos_log);
			r->chaos_log = conf_path(x, val);
		} else if (strcmp(key, "log_level") == 0) {
			if (strcmp(val, "error") == 0)
				c->log_level = LOG_LEVEL_ERROR;
			else if (strcmp(val, "warn") == 0)
				c->log_level = LOG_LEVEL_WARN;
			else if (strcmp(val, "info") == 0)
				c->log_level = LOG_LEVEL_INFO;
			else if (strcmp(val, "debug") == 0)
				c->log_level = LOG_LEVEL_DEBUG;
			else
				conf_err(x, v, "log_level: expected error, "
				    "warn, info or debug, not \"%s\"", val);
		} else
			conf_err(x, k, "unknown key \"%s\"", key);
	}
	if (r->snapshot == NULL)
		conf_err(x, root, "missing required key \"snapshot\"");
	if (r->nlisten == 0)
		conf_err(x, root, "missing required key \"listen\"");
}

int
conf_load(const char *path, struct decoyd_conf *c, char **cause)
{
	struct conf_ctx	 x;
	yaml_parser_t	 parser;
	yaml_document_t	 doc;
	yaml_node_t	*root;
	const char	*slash;
	FILE		*f;
	int		 rv = -1;

	conf_init(c);
	if ((f = fopen(path, "r")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	memset(&x, 0, sizeof x);
	x.path = path;
	x.doc = &doc;
	buf_init(&x.errors);
	if ((slash = strrchr(path, '/')) != NULL)
		x.dir = xstrndup(path, (size_t)(slash - path));
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		*cause = xasprintf("%s:%zu:%zu: %s", path,
		    parser.problem_mark.line + 1,
		    parser.problem_mark.column + 1,
		    parser.problem != NULL ? parser.problem : "YAML error");
		goto out_parser;
	}
	if ((root = yaml_document_get_root_node(&doc)) == NULL)
		*cause = xasprintf("%s:1:1: empty configuration", path);
	else {
		conf_top(&x, root, c);
		if (x.nerrors == 0)
			rv = 0;
		else
			*cause = buf_detach(&x.errors, NULL);
	}
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	fclose(f);
	buf_free(&x.errors);
	free(x.dir);
	return rv;
}
