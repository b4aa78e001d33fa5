/*
 * yamldoc.c -- the libyaml plumbing shared by the config, rule and
 * scenario loaders (yamldoc.h): loading a document, recording errors at a
 * node's line and column, checking node types and a mapping's keys, and
 * reading scalars.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"
#include "xmalloc.h"
#include "yamldoc.h"

void
yamldoc_init(struct yamldoc *d)
{
	memset(d, 0, sizeof *d);
	buf_init(&d->errors);
	buf_init(&d->text);
}

void
yamldoc_free(struct yamldoc *d)
{
	yamldoc_close(d);
	buf_free(&d->errors);
	buf_free(&d->text);
}

void
yamldoc_close(struct yamldoc *d)
{
	if (d->has_doc)
		yaml_document_delete(&d->doc);
	if (d->has_parser)
		yaml_parser_delete(&d->parser);
	d->has_doc = d->has_parser = 0;
	d->root = NULL;
	free(d->dir);
	d->dir = NULL;
}

/* Keeps libyaml's description of a syntax error for the loader. */
static int
yamldoc_syntax(struct yamldoc *d)
{
	d->mark = d->parser.problem_mark;
	d->problem = d->parser.problem;
	d->context = d->parser.context;
	return -1;
}

static int
yamldoc_load(struct yamldoc *d)
{
	if (!yaml_parser_load(&d->parser, &d->doc))
		return yamldoc_syntax(d);
	d->has_doc = 1;
	d->root = yaml_document_get_root_node(&d->doc);
	return 0;
}

static void
yamldoc_open(struct yamldoc *d, const char *name)
{
	const char	*slash;

	yamldoc_close(d);
	d->path = name;
	if ((slash = strrchr(name, '/')) != NULL)
		d->dir = xstrndup(name, (size_t)(slash - name));
	yaml_parser_initialize(&d->parser);
	d->has_parser = 1;
}

/* Fails the load at line/column (0-based) with a static problem. */
static int
yamldoc_refuse(struct yamldoc *d, size_t line, size_t col, const char *problem)
{
	memset(&d->mark, 0, sizeof(d->mark));
	d->mark.line = line;
	d->mark.column = col;
	d->problem = problem;
	d->context = NULL;
	return -1;
}

/*
 * libyaml's loader takes time quadratic in the nesting depth (100k levels:
 * half a minute), so a text is checked before it reaches libyaml: block
 * nesting shows as the column where a line's content starts (after its
 * indentation and any "- " of compact sequences), flow nesting as the
 * count of open brackets outside quoted scalars and comments.  NUL bytes
 * are refused too (libyaml would stop at one).  Cheap, one pass, and
 * conservative: legitimate files are nowhere near the bounds.
 */
static int
yamldoc_prescan(struct yamldoc *d, const char *t, size_t len)
{
	size_t	i = 0, line = 0, lstart = 0, col, flow = 0;
	char	quote = 0;
	int	tokstart;

	while (i < len) {
		/* Start of a line: indentation and compact "- " items. */
		lstart = i;
		if (!quote) {
			while (i < len && (t[i] == ' ' || (t[i] == '-' &&
			    i + 1 < len && (t[i + 1] == ' ' ||
			    t[i + 1] == '\n'))))
				i++;
			col = i - lstart;
			if (col > YAMLDOC_MAX_INDENT)
				return yamldoc_refuse(d, line, col,
				    "nested too deeply (content starts past "
				    "column " YAMLDOC_STR(YAMLDOC_MAX_INDENT)
				    ")");
		}
		tokstart = 1;
		for (; i < len && t[i] != '\n'; i++) {
			char c = t[i];

			if (c == '\0')
				return yamldoc_refuse(d, line, i - lstart,
				    "NUL byte in the text");
			if (quote) {
				if (c == quote) {
					if (quote == '\'' && i + 1 < len &&
					    t[i + 1] == '\'')
						i++;
					else
						quote = 0;
				} else if (c == '\\' && quote == '"' &&
				    i + 1 < len && t[i + 1] != '\n')
					i++;
				tokstart = 0;
				continue;
			}
			if (c == '#' && tokstart) {
				while (i < len && t[i] != '\n')
					i++;
				break;
			}
			if ((c == '"' || c == '\'') && tokstart)
				quote = c;
			else if (c == '[' || c == '{') {
				if (++flow > YAMLDOC_MAX_FLOW)
					return yamldoc_refuse(d, line,
					    i - lstart, "nested too deeply "
					    "(more than "
					    YAMLDOC_STR(YAMLDOC_MAX_FLOW)
					    " open brackets)");
			} else if ((c == ']' || c == '}') && flow > 0)
				flow--;
			tokstart = c == ' ' || c == '\t' || c == '[' ||
			    c == '{' || c == ',' || c == ':';
		}
		if (i < len) {
			i++;
			line++;
		}
	}
	return 0;
}

int
yamldoc_load_text(struct yamldoc *d, const char *name, const char *text,
    size_t len)
{
	yamldoc_open(d, name);
	if (len > YAMLDOC_MAX_BYTES)
		return yamldoc_refuse(d, 0, 0, "larger than "
		    YAMLDOC_STR(YAMLDOC_MAX_MIB) " MiB");
	if (yamldoc_prescan(d, text, len) == -1)
		return -1;
	yaml_parser_set_input_string(&d->parser, (const unsigned char *)text,
	    len);
	return yamldoc_load(d);
}

int
yamldoc_load_file(struct yamldoc *d, const char *name, FILE *f)
{
	int	rc;

	yamldoc_open(d, name);
	buf_reset(&d->text);
	rc = buf_read_stream(&d->text, f, YAMLDOC_MAX_BYTES);
	if (d->text.len > YAMLDOC_MAX_BYTES)
		return yamldoc_refuse(d, 0, 0, "larger than "
		    YAMLDOC_STR(YAMLDOC_MAX_MIB) " MiB");
	if (rc == -1)
		return yamldoc_refuse(d, 0, 0, "read error");
	if (yamldoc_prescan(d, d->text.data, d->text.len) == -1)
		return -1;
	yaml_parser_set_input_string(&d->parser,
	    (const unsigned char *)d->text.data, d->text.len);
	return yamldoc_load(d);
}

int
yamldoc_check_single(struct yamldoc *d)
{
	yaml_document_t	 extra;
	yaml_node_t	*root;

	if (!yaml_parser_load(&d->parser, &extra))
		return yamldoc_syntax(d);
	if ((root = yaml_document_get_root_node(&extra)) != NULL)
		yamldoc_err(d, root, "more than one YAML document");
	yaml_document_delete(&extra);
	return 0;
}

int
yamldoc_finish(struct yamldoc *d, char **cause)
{
	if (d->nerrors == 0)
		return 0;
	*cause = buf_detach(&d->errors, NULL);
	return -1;
}

static void
yamldoc_verr(struct yamldoc *d, const yaml_mark_t *m, const char *fmt,
    va_list ap)
{
	size_t	i, start;

	if (d->nerrors++ > 0)
		buf_append_byte(&d->errors, '\n');
	if (m != NULL)
		buf_printf(&d->errors, "%s:%zu:%zu: ", d->path, m->line + 1,
		    m->column + 1);
	start = d->errors.len;
	buf_vprintf(&d->errors, fmt, ap);
	if (m == NULL || d->verbatim)
		return;
	for (i = start; i < d->errors.len; i++) {
		if ((unsigned char)d->errors.data[i] < 0x20 ||
		    d->errors.data[i] == 0x7f)
			d->errors.data[i] = '?';
	}
}

void
yamldoc_err(struct yamldoc *d, const yaml_node_t *n, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	yamldoc_verr(d, &n->start_mark, fmt, ap);
	va_end(ap);
}

void
yamldoc_err_at(struct yamldoc *d, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	yamldoc_verr(d, m, fmt, ap);
	va_end(ap);
}

yaml_node_t *
yamldoc_node(struct yamldoc *d, int id)
{
	return yaml_document_get_node(&d->doc, id);
}

const char *
yamldoc_kind(const yaml_node_t *n)
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

int
yamldoc_is_null(const yaml_node_t *n)
{
	const char	*s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	s = (const char *)n->data.scalar.value;
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0;
}

size_t
yamldoc_size(const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return (size_t)(n->data.mapping.pairs.top -
		    n->data.mapping.pairs.start);
	if (n->type == YAML_SEQUENCE_NODE)
		return (size_t)(n->data.sequence.items.top -
		    n->data.sequence.items.start);
	return 0;
}

/* The scalar key of pair p, NULL when the key is not a scalar. */
static const char *
yamldoc_key(struct yamldoc *d, const yaml_node_pair_t *p)
{
	yaml_node_t	*k = yamldoc_node(d, p->key);

	if (k->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)k->data.scalar.value;
}

int
yamldoc_has_key(struct yamldoc *d, const yaml_node_t *map, const char *name)
{
	yaml_node_pair_t	*p;
	const char		*key;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	    p++) {
		if ((key = yamldoc_key(d, p)) != NULL && strcmp(key, name) == 0)
			return 1;
	}
	return 0;
}

/* 1 when the scalar key of p repeats one of an earlier pair of map. */
static int
yamldoc_is_repeat(struct yamldoc *d, const yaml_node_t *map,
    const yaml_node_pair_t *p, const char *key)
{
	const yaml_node_pair_t	*q;
	const char		*key2;

	for (q = map->data.mapping.pairs.start; q < p; q++) {
		if ((key2 = yamldoc_key(d, q)) != NULL &&
		    strcmp(key, key2) == 0)
			return 1;
	}
	return 0;
}

int
yamldoc_mapping(struct yamldoc *d, const yaml_node_t *n, const char *what)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;
	const char		*key;

	if (n->type != YAML_MAPPING_NODE) {
		yamldoc_err(d, n, "%s: expected a mapping, not %s", what,
		    yamldoc_kind(n));
		return -1;
	}
	/* Keys are checked pairwise: bound the work a hostile text costs. */
	if (d->max_keys > 0 && yamldoc_size(n) > (size_t)d->max_keys) {
		yamldoc_err(d, n, "%s: more than %ld keys", what, d->max_keys);
		return -1;
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = yamldoc_node(d, p->key);
		if ((key = yamldoc_key(d, p)) == NULL) {
			if (!d->late_keys)
				yamldoc_err(d, k, "%s: a key must be a single "
				    "value, not %s", what, yamldoc_kind(k));
			continue;
		}
		if (yamldoc_is_repeat(d, n, p, key))
			yamldoc_err(d, k, "%s: duplicate key \"%s\"", what,
			    key);
	}
	return 0;
}

const char *
yamldoc_pair_key(struct yamldoc *d, const yaml_node_t *map,
    const yaml_node_pair_t *p, const char *what)
{
	yaml_node_t	*k;
	const char	*key;

	if ((key = yamldoc_key(d, p)) == NULL) {
		if (d->late_keys) {
			k = yamldoc_node(d, p->key);
			yamldoc_err(d, k, "%s: a key must be a single value, "
			    "not %s", what, yamldoc_kind(k));
		}
		return NULL;
	}
	return yamldoc_is_repeat(d, map, p, key) ? NULL : key;
}

const char *
yamldoc_scalar(struct yamldoc *d, const yaml_node_t *n, const char *what)
{
	if (n->type != YAML_SCALAR_NODE) {
		yamldoc_err(d, n, "%s: expected a single value, not %s", what,
		    yamldoc_kind(n));
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

int
yamldoc_int(struct yamldoc *d, const yaml_node_t *n, const char *what,
    int64_t min, int64_t max, int64_t *out)
{
	const char	*s;
	char		*end;
	long long	 l;

	if ((s = yamldoc_scalar(d, n, what)) == NULL)
		return -1;
	errno = 0;
	l = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0) {
		yamldoc_err(d, n, "%s: expected an integer, not \"%s\"", what,
		    s);
		return -1;
	}
	if (l < min) {
		if (min == 0)
			yamldoc_err(d, n, "%s: must not be negative (%lld)",
			    what, l);
		else
			yamldoc_err(d, n, "%s: must be at least %" PRId64
			    " (%lld)", what, min, l);
		return -1;
	}
	if (l > max) {
		yamldoc_err(d, n, "%s: must be at most %" PRId64 " (%lld)",
		    what, max, l);
		return -1;
	}
	*out = l;
	return 0;
}

int
yamldoc_double(struct yamldoc *d, const yaml_node_t *n, const char *what,
    double *out)
{
	const char	*s;
	char		*end;
	double		 v;

	if ((s = yamldoc_scalar(d, n, what)) == NULL)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(v)) {
		yamldoc_err(d, n, "%s: expected a number, not \"%s\"", what, s);
		return -1;
	}
	*out = v;
	return 0;
}

int
yamldoc_choice(struct yamldoc *d, const yaml_node_t *n, const char *what,
    const char *const *names, size_t count, size_t *index)
{
	const char	*s;
	struct buf	 list;
	size_t		 i;

	if ((s = yamldoc_scalar(d, n, what)) == NULL)
		return -1;
	for (i = 0; i < count; i++) {
		if (strcmp(s, names[i]) == 0) {
			*index = i;
			return 0;
		}
	}
	buf_init(&list);
	for (i = 0; i < count; i++) {
		if (i > 0)
			buf_append_str(&list, i + 1 == count ? " or " : ", ");
		buf_append_str(&list, names[i]);
	}
	buf_append_byte(&list, '\0');
	yamldoc_err(d, n, "%s: expected %s, not \"%s\"", what, list.data, s);
	buf_free(&list);
	return -1;
}

int
yamldoc_bool(struct yamldoc *d, const yaml_node_t *n, const char *what,
    int *out)
{
	static const char *const names[] = { "true", "false" };
	size_t	i;

	if (yamldoc_choice(d, n, what, names, 2, &i) == -1)
		return -1;
	*out = i == 0;
	return 0;
}

int
yamldoc_duration(struct yamldoc *d, const yaml_node_t *n, const char *what,
    uint64_t *ns)
{
	const char	*s;

	if ((s = yamldoc_scalar(d, n, what)) == NULL)
		return -1;
	if (units_parse_duration(s, ns) == -1) {
		yamldoc_err(d, n, "%s: bad duration \"%s\" (e.g. 250ms, 2s)",
		    what, s);
		return -1;
	}
	return 0;
}

char *
yamldoc_path(struct yamldoc *d, const char *rel)
{
	if (rel[0] == '/' || d->dir == NULL)
		return xstrdup(rel);
	return xasprintf("%s/%s", d->dir, rel);
}
