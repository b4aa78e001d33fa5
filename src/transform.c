/*
 * transform.c -- the transforms file of transform.h: its model, its YAML
 * reader and writer, locations, routes, and the locator that finds a
 * value in a message and splices a new one in its place.
 *
 * The reader collects every problem as "FILE:LINE:COL: message" through
 * yamldoc and fails once.  The writer quotes every string as a YAML
 * double-quoted scalar (JSON string syntax, which YAML reads the same),
 * so hand edits and values with odd bytes survive a round trip.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base64.h"
#include "json.h"
#include "log.h"
#include "protodesc.h"
#include "route.h"
#include "transform.h"
#include "xmalloc.h"
#include "yamldoc.h"

#define TRANSFORM_MAX_PATH	32	/* segments of a JSON path */

/* Model. */

struct transforms *
transforms_create(void)
{
	return xcalloc(1, sizeof(struct transforms));
}

void
transform_loc_free(struct transform_loc *l)
{
	free(l->name);
	l->name = NULL;
	free(l->grpc);
	l->grpc = NULL;
}

static void
transform_value_free(struct transform_value *v)
{
	size_t	i;

	free(v->method);
	free(v->route);
	transform_loc_free(&v->where);
	transform_loc_free(&v->from);
	for (i = 0; i < v->nclaims; i++) {
		free((char *)v->claims[i].name);
		free((char *)v->claims[i].json);
	}
	free(v->claims);
	free(v->format);
	free(v->example);
	free(v->why);
}

static void
transform_corr_free(struct transform_corr *c)
{
	size_t	i;

	free(c->name);
	free(c->from_method);
	free(c->from_route);
	transform_loc_free(&c->from);
	for (i = 0; i < c->nto; i++) {
		free(c->to[i].method);
		free(c->to[i].route);
		transform_loc_free(&c->to[i].where);
	}
	free(c->to);
	free(c->why);
}

void
transforms_free(struct transforms *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nkeys; i++) {
		free(t->keys[i].name);
		free(t->keys[i].alg);
		free(t->keys[i].secret_file);
		free(t->keys[i].key_file);
		free(t->keys[i].secret_env);
		jwt_key_free(t->keys[i].key);
	}
	free(t->keys);
	for (i = 0; i < t->nvalues; i++)
		transform_value_free(&t->values[i]);
	free(t->values);
	for (i = 0; i < t->ncorrs; i++)
		transform_corr_free(&t->corrs[i]);
	free(t->corrs);
	free(t->path);
	free(t->snapshot);
	free(t);
}

/* arr (n elements of size bytes) with a zeroed element n after them. */
static void *
transform_grow(void *arr, size_t n, size_t size)
{
	arr = xreallocarray(arr, n + 1, size);
	memset((char *)arr + n * size, 0, size);
	return arr;
}

/*
 * Values point at keys, so the keys array never moves once values refer
 * to it: keys are added while loading, before any value.
 */
static struct transform_key *
transforms_add_key(struct transforms *t)
{
	t->keys = transform_grow(t->keys, t->nkeys, sizeof *t->keys);
	return &t->keys[t->nkeys++];
}

struct transform_value *
transforms_add_value(struct transforms *t)
{
	t->values = transform_grow(t->values, t->nvalues, sizeof *t->values);
	return &t->values[t->nvalues++];
}

struct transform_corr *
transforms_add_corr(struct transforms *t)
{
	t->corrs = transform_grow(t->corrs, t->ncorrs, sizeof *t->corrs);
	return &t->corrs[t->ncorrs++];
}

struct transform_use *
transform_corr_add_use(struct transform_corr *c)
{
	c->to = transform_grow(c->to, c->nto, sizeof *c->to);
	return &c->to[c->nto++];
}

/* Locations. */

static const struct {
	const char		*name;
	enum transform_part	 part;
	int			 req;	/* allowed in a request */
	int			 res;	/* allowed in a response */
} transform_parts[] = {
	{ "header",	TRANSFORM_HEADER,	1, 1 },
	{ "cookie",	TRANSFORM_COOKIE,	1, 0 },
	{ "set-cookie",	TRANSFORM_SETCOOKIE,	0, 1 },
	{ "query",	TRANSFORM_QUERY,	1, 0 },
	{ "path",	TRANSFORM_PATH,		1, 0 },
	{ "body",	TRANSFORM_BODY,		1, 1 },
	{ "form",	TRANSFORM_FORM,		1, 1 },
	{ "grpc",	TRANSFORM_GRPC,		1, 1 },
};
#define TRANSFORM_NPARTS (sizeof(transform_parts) / sizeof(transform_parts[0]))

/* One parsed JSON path segment: a member name, an index or [*]. */
struct transform_jseg {
	const char	*name;		/* NULL: an index */
	size_t		 name_len;
	char		*owned;		/* a quoted name, decoded */
	long		 index;		/* -1: [*] */
};

static void
transform_jpath_free(struct transform_jseg *segs, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(segs[i].owned);
}

/*
 * Parses "$.a.b[0][*][\"odd key\"]" into at most max segments.  Returns
 * the number of segments, or -1 with *cause.  Names point into s unless
 * quoted (then owned).
 */
static int
transform_jpath_parse(const char *s, struct transform_jseg *segs, size_t max,
    char **cause)
{
	const char	*p = s, *start;
	size_t		 n = 0;
	char		*end;
	struct buf	 name;

	if (*p != '$') {
		*cause = xasprintf("a JSON path starts with $, not \"%s\"", s);
		return -1;
	}
	p++;
	while (*p != '\0') {
		if (n == max) {
			*cause = xasprintf("JSON path \"%s\": more than %zu "
			    "levels", s, max);
			goto fail;
		}
		memset(&segs[n], 0, sizeof(segs[n]));
		if (*p == '.') {
			start = ++p;
			while (*p != '\0' && *p != '.' && *p != '[')
				p++;
			if (p == start) {
				*cause = xasprintf("JSON path \"%s\": empty "
				    "member name at byte %zu", s,
				    (size_t)(start - s));
				goto fail;
			}
			segs[n].name = start;
			segs[n].name_len = (size_t)(p - start);
			n++;
			continue;
		}
		if (*p != '[') {
			*cause = xasprintf("JSON path \"%s\": expected . or [ "
			    "at byte %zu", s, (size_t)(p - s));
			goto fail;
		}
		p++;
		if (*p == '*' && p[1] == ']') {
			segs[n++].index = -1;
			p += 2;
			continue;
		}
		if (*p == '"') {
			buf_init(&name);
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				buf_append_byte(&name, *p);
			}
			if (p[0] != '"' || p[1] != ']') {
				buf_free(&name);
				*cause = xasprintf("JSON path \"%s\": "
				    "unterminated [\"name\"]", s);
				goto fail;
			}
			p += 2;
			segs[n].owned = buf_detach(&name, &segs[n].name_len);
			segs[n].name = segs[n].owned;
			n++;
			continue;
		}
		if (!isdigit((unsigned char)*p)) {
			*cause = xasprintf("JSON path \"%s\": expected an "
			    "index, * or a quoted name at byte %zu", s,
			    (size_t)(p - s));
			goto fail;
		}
		errno = 0;
		segs[n].index = strtol(p, &end, 10);
		if (errno != 0 || *end != ']' || segs[n].index > 1000000) {
			*cause = xasprintf("JSON path \"%s\": bad index at "
			    "byte %zu", s, (size_t)(p - s));
			goto fail;
		}
		p = end + 1;
		n++;
	}
	return (int)n;
fail:
	transform_jpath_free(segs, n);
	return -1;
}

void
transform_jpath_member(struct buf *b, const char *name, size_t len)
{
	size_t	i;
	int	plain = len > 0 && !(name[0] >= '0' && name[0] <= '9');

	for (i = 0; i < len && plain; i++)
		plain = (name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '_';
	if (plain) {
		buf_append_byte(b, '.');
		buf_append(b, name, len);
	} else {
		buf_append_byte(b, '[');
		json_append_string(b, name, len);
		buf_append_byte(b, ']');
	}
}

/* A gRPC field path of location s (names are resolved by the loader,
 * transform_loc_resolve()). */
static int
transform_loc_grpc_check(const char *arg, char **cause)
{
	struct transform_grpc_path	gp;

	return transform_grpc_path_parse(arg, &gp, cause);
}

int
transform_loc_resolve(struct transform_loc *l, const struct protodesc *set,
    const char *route, char **cause)
{
	struct transform_grpc_path	 gp;
	uint32_t			 nums[TRANSFORM_GRPC_DEPTH];
	struct buf			 names;
	size_t				 i, n, named = 0;
	char				*why = NULL;

	if (l->part != TRANSFORM_GRPC || l->name == NULL)
		return 0;
	if (transform_grpc_path_parse(l->name, &gp, cause) == -1)
		return -1;
	for (i = 0; i < gp.nseg; i++)
		named += gp.seg[i].name != NULL;
	if (named == 0)
		return 0;
	if (set == NULL) {
		*cause = xasprintf("gRPC field names (\"%s\") need the "
		    "descriptor set: pass --proto-set FILE (decoyd: "
		    "proto_set), or use field numbers", l->name);
		return -1;
	}
	if (route == NULL || route[0] != '/' || strchr(route, '{') != NULL) {
		*cause = xasprintf("gRPC field names (\"%s\") need an "
		    "endpoint naming one method (POST /pkg.Service/Method)",
		    l->name);
		return -1;
	}
	buf_init(&names);
	for (i = 0; i < gp.nseg; i++) {
		if (i > 0)
			buf_append_byte(&names, '.');
		if (gp.seg[i].name != NULL)
			buf_append(&names, gp.seg[i].name, gp.seg[i].name_len);
		else
			buf_printf(&names, "%" PRIu32, gp.seg[i].num);
	}
	if (protodesc_resolve_call_path(set, route, strlen(route), l->res,
	    names.data, names.len, nums, TRANSFORM_GRPC_DEPTH, &n,
	    &why) == -1 || n != gp.nseg) {
		*cause = xasprintf("\"%s\" of %s: %s", l->name, route,
		    why != NULL ? why : "does not resolve");
		free(why);
		buf_free(&names);
		return -1;
	}
	buf_free(&names);
	for (i = 0; i < gp.nseg; i++) {
		gp.seg[i].num = nums[i];
		gp.seg[i].name = NULL;
	}
	transform_grpc_path_format(&names, &gp);
	free(l->name);
	l->name = buf_detach(&names, NULL);
	if (l->grpc != NULL)
		*l->grpc = gp;	/* numbers only: nothing points at names */
	return 0;
}

int
transform_loc_parse(const char *s, struct transform_loc *l, char **cause)
{
	const char		*dot, *sp, *arg;
	struct transform_jseg	 segs[TRANSFORM_MAX_PATH];
	size_t			 i, plen;
	char			*end;
	long			 seg;
	int			 n;

	memset(l, 0, sizeof(*l));
	if (strncmp(s, "req.", 4) == 0)
		l->res = 0;
	else if (strncmp(s, "res.", 4) == 0)
		l->res = 1;
	else {
		*cause = xasprintf("a location starts with req. or res., not "
		    "\"%s\"", s);
		return -1;
	}
	dot = s + 4;
	sp = strchr(dot, ' ');
	plen = sp != NULL ? (size_t)(sp - dot) : strlen(dot);
	for (i = 0; i < TRANSFORM_NPARTS; i++)
		if (strlen(transform_parts[i].name) == plen &&
		    strncmp(transform_parts[i].name, dot, plen) == 0)
			break;
	if (i == TRANSFORM_NPARTS) {
		*cause = xasprintf("unknown part \"%.*s\" in \"%s\" (header, "
		    "cookie, set-cookie, query, path, body, form or grpc)",
		    (int)plen, dot, s);
		return -1;
	}
	if (l->res ? !transform_parts[i].res : !transform_parts[i].req) {
		*cause = xasprintf("\"%s\": a %s has no %s", s,
		    l->res ? "response" : "request", transform_parts[i].name);
		return -1;
	}
	l->part = transform_parts[i].part;
	if (sp == NULL || sp[1] == '\0') {
		*cause = xasprintf("\"%s\": missing the %s after %s", s,
		    l->part == TRANSFORM_PATH ? "segment number" :
		    l->part == TRANSFORM_BODY ? "JSON path" :
		    l->part == TRANSFORM_GRPC ? "field path" : "name",
		    transform_parts[i].name);
		return -1;
	}
	arg = sp + 1;
	switch (l->part) {
	case TRANSFORM_PATH:
		errno = 0;
		seg = strtol(arg, &end, 10);
		if (!isdigit((unsigned char)*arg) || *end != '\0' ||
		    errno != 0 || seg > 1000) {
			*cause = xasprintf("\"%s\": expected a path segment "
			    "number (0 is the first)", s);
			return -1;
		}
		l->seg = (unsigned)seg;
		return 0;
	case TRANSFORM_BODY:
		if ((n = transform_jpath_parse(arg, segs, TRANSFORM_MAX_PATH,
		    cause)) == -1)
			return -1;
		transform_jpath_free(segs, (size_t)n);
		break;
	case TRANSFORM_GRPC:
		if (transform_loc_grpc_check(arg, cause) == -1)
			return -1;
		break;
	default:
		for (end = (char *)arg; *end != '\0'; end++)
			if ((unsigned char)*end < ' ' || *end == 0x7f ||
			    (*end == ' ' && l->part != TRANSFORM_QUERY &&
			    l->part != TRANSFORM_FORM)) {
				*cause = xasprintf("\"%s\": a name holds no "
				    "control character (nor a space, but in a "
				    "query or form name)", s);
				return -1;
			}
		break;
	}
	l->name = xstrdup(arg);
	if (l->part == TRANSFORM_GRPC) {
		/* Parsed once here, not per lookup; names point into
		 * l->name. */
		l->grpc = xmalloc(sizeof *l->grpc);
		if (transform_grpc_path_parse(l->name, l->grpc, cause) ==
		    -1) {
			transform_loc_free(l);
			return -1;
		}
	}
	return 0;
}

void
transform_loc_format(struct buf *b, const struct transform_loc *l)
{
	size_t	i;

	buf_append_str(b, l->res ? "res." : "req.");
	for (i = 0; i < TRANSFORM_NPARTS; i++)
		if (transform_parts[i].part == l->part)
			buf_append_str(b, transform_parts[i].name);
	if (l->part == TRANSFORM_PATH)
		buf_printf(b, " %u", l->seg);
	else
		buf_printf(b, " %s", l->name != NULL ? l->name : "");
}

int
transform_loc_eq(const struct transform_loc *a, const struct transform_loc *b)
{
	if (a->res != b->res || a->part != b->part)
		return 0;
	if (a->part == TRANSFORM_PATH)
		return a->seg == b->seg;
	if (a->name == NULL || b->name == NULL)
		return a->name == b->name;
	if (a->part == TRANSFORM_HEADER)
		return strcasecmp(a->name, b->name) == 0;
	return strcmp(a->name, b->name) == 0;
}

static const char *transform_action_names[] = {
	[TRANSFORM_KEEP] = "keep",
	[TRANSFORM_SHIFT] = "shift",
	[TRANSFORM_RESIGN] = "resign",
	[TRANSFORM_FRESH] = "fresh",
	[TRANSFORM_ANY] = "any",
	[TRANSFORM_KEY] = "key",
	[TRANSFORM_ECHO] = "echo",
};
#define TRANSFORM_NACTIONS \
	(sizeof(transform_action_names) / sizeof(transform_action_names[0]))

const char *
transform_action_name(enum transform_action a)
{
	if ((size_t)a < TRANSFORM_NACTIONS)
		return transform_action_names[a];
	return "?";
}

int
transform_action_parse(const char *s, enum transform_action *a)
{
	size_t	i;

	for (i = 0; i < TRANSFORM_NACTIONS; i++)
		if (strcmp(s, transform_action_names[i]) == 0) {
			*a = (enum transform_action)i;
			return 0;
		}
	return -1;
}

/* Routes (route.h). */

void
transform_route(struct buf *b, const char *path, size_t len)
{
	route_template(b, path, len);
}

int
transform_endpoint_match(const char *method, const char *route,
    struct span req_method, struct span req_path)
{
	if (strcmp(method, "*") != 0 && !span_eq_str(req_method, method))
		return 0;
	return route_match(route, req_path);
}

/* The locator. */

static struct span
transform_part_span(const struct transform_msg *m, enum transform_in in,
    size_t header)
{
	switch (in) {
	case TRANSFORM_IN_PATH:
		return m->path;
	case TRANSFORM_IN_QUERY:
		return m->query;
	case TRANSFORM_IN_HEADER:
		if (header < m->nheaders)
			return m->headers[header].value;
		return SPAN_NULL;
	case TRANSFORM_IN_BODY:
		return m->body;
	}
	return SPAN_NULL;
}

struct span
transform_hit_raw(const struct transform_msg *m, const struct transform_hit *h)
{
	struct span	s = transform_part_span(m, h->in, h->header);

	if (h->off + h->len > s.len)
		return SPAN_NULL;
	return (struct span){ s.p + h->off, h->len };
}


void
transform_pct_decode(struct buf *b, const char *p, size_t len, int plus)
{
	struct span	s = { p, len };
	size_t	i;
	int	hi, lo;

	for (i = 0; i < s.len; i++) {
		if (s.p[i] == '%' && i + 2 < s.len &&
		    (hi = base16_value((unsigned char)s.p[i + 1])) >= 0 &&
		    (lo = base16_value((unsigned char)s.p[i + 2])) >= 0) {
			buf_append_byte(b, (char)(hi << 4 | lo));
			i += 2;
		} else if (plus && s.p[i] == '+')
			buf_append_byte(b, ' ');
		else
			buf_append_byte(b, s.p[i]);
	}
}

static int
transform_span_has(struct span s, char c)
{
	return s.len > 0 && memchr(s.p, c, s.len) != NULL;
}

/* Pushes a hit if there is room; returns the new count. */
static size_t
transform_push(struct transform_hit *hits, size_t n, size_t max,
    enum transform_in in, size_t header, size_t off, size_t len,
    enum transform_enc enc)
{
	if (n < max) {
		hits[n].in = in;
		hits[n].header = header;
		hits[n].off = off;
		hits[n].len = len;
		hits[n].enc = enc;
	}
	return n + 1;
}

/*
 * Finds NAME=VALUE in s split at sep (after optional spaces): '&' for a
 * query or a form (names percent-decoded), ';' for a Cookie header.
 */
static size_t
transform_locate_pairs(struct span s, int sep, const char *name,
    enum transform_in in, size_t header, int pct, struct transform_hit *hits,
    size_t n, size_t max)
{
	size_t		 i = 0, start, eq, nlen = strlen(name);
	struct buf	 key;
	int		 found;

	while (i <= s.len) {
		while (sep == ';' && i < s.len && s.p[i] == ' ')
			i++;
		start = i;
		while (i < s.len && s.p[i] != sep)
			i++;
		for (eq = start; eq < i && s.p[eq] != '='; eq++)
			;
		if (pct && (transform_span_has((struct span){ s.p + start,
		    eq - start }, '%') || transform_span_has((struct span){
		    s.p + start, eq - start }, '+'))) {
			buf_init(&key);
			transform_pct_decode(&key, s.p + start, eq - start, 1);
			found = key.len == nlen && memcmp(key.data, name,
			    nlen) == 0;
			buf_free(&key);
		} else
			found = eq - start == nlen &&
			    memcmp(s.p + start, name, nlen) == 0;
		if (found && eq < i) {
			struct span v = { s.p + eq + 1, i - eq - 1 };

			return transform_push(hits, n, max, in, header,
			    eq + 1, v.len, pct ? TRANSFORM_ENC_PCT :
			    TRANSFORM_ENC_RAW);
		}
		i++;
	}
	return n;
}

/* Walks a JSON value along segs, pushing a hit for each string or number
 * reached.  Returns -1 when the body is not JSON. */
static int
transform_json_walk(struct json_parser *p, const struct transform_jseg *segs,
    size_t nseg, struct transform_hit *hits, size_t *n, size_t max)
{
	struct json_value	 key, v;
	enum json_type		 t;
	long			 idx;
	int			 r;

	t = json_peek(p);
	if (nseg == 0) {
		if (json_skip(p, &v) == -1)
			return -1;
		if (v.type == JSON_STRING)
			*n = transform_push(hits, *n, max, TRANSFORM_IN_BODY,
			    0, v.off + 1, v.len - 2, TRANSFORM_ENC_JSON);
		else if (v.type == JSON_NUMBER)
			*n = transform_push(hits, *n, max, TRANSFORM_IN_BODY,
			    0, v.off, v.len, TRANSFORM_ENC_JSONNUM);
		return 0;
	}
	if (segs->name != NULL && t == JSON_OBJECT) {
		if (json_object_enter(p) == -1)
			return -1;
		while ((r = json_object_next(p, &key)) == 1) {
			if (key.len - 2 == segs->name_len && !key.escaped &&
			    memcmp(key.p + 1, segs->name, segs->name_len) == 0) {
				if (transform_json_walk(p, segs + 1, nseg - 1,
				    hits, n, max) == -1)
					return -1;
			} else if (key.escaped) {
				char *nm = xstrndup(segs->name, segs->name_len);
				int eq = json_string_eq(&key, nm);

				free(nm);
				if (eq ? transform_json_walk(p, segs + 1,
				    nseg - 1, hits, n, max) == -1 :
				    json_skip(p, NULL) == -1)
					return -1;
			} else if (json_skip(p, NULL) == -1)
				return -1;
		}
		return r;
	}
	if (segs->name == NULL && t == JSON_ARRAY) {
		if (json_array_enter(p) == -1)
			return -1;
		idx = 0;
		while ((r = json_array_next(p)) == 1) {
			if (segs->index == -1 || segs->index == idx) {
				if (transform_json_walk(p, segs + 1, nseg - 1,
				    hits, n, max) == -1)
					return -1;
			} else if (json_skip(p, NULL) == -1)
				return -1;
			idx++;
		}
		return r;
	}
	return json_skip(p, NULL);
}

size_t
transform_locate(const struct transform_loc *loc,
    const struct transform_msg *m, struct transform_hit *hits, size_t max)
{
	struct transform_jseg	 segs[TRANSFORM_MAX_PATH];
	struct transform_grpc_path gp;
	struct json_parser	 p;
	struct span		 v;
	size_t			 n = 0, i, j, seg, start;
	char			*cause = NULL;
	int			 nseg;

	if (loc->part != TRANSFORM_PATH && loc->name == NULL)
		return 0;
	switch (loc->part) {
	case TRANSFORM_PATH:
		/* Segment k starts after the k+1-th '/'. */
		seg = 0;
		for (i = 0; i < m->path.len; i++) {
			if (m->path.p[i] != '/')
				continue;
			start = i + 1;
			for (j = start; j < m->path.len && m->path.p[j] != '/';
			    j++)
				;
			if (seg++ == loc->seg) {
				if (j == start)
					return 0;
				/* Percent-coded both ways: a new value
				 * must not add a '/' or a '?'. */
				return transform_push(hits, 0, max,
				    TRANSFORM_IN_PATH, 0, start, j - start,
				    TRANSFORM_ENC_PCT);
			}
		}
		return 0;
	case TRANSFORM_QUERY:
		if (m->query.len == 0)
			return 0;
		return transform_locate_pairs(m->query, '&', loc->name,
		    TRANSFORM_IN_QUERY, 0, 1, hits, 0, max);
	case TRANSFORM_FORM:
		if (m->body.len == 0)
			return 0;
		return transform_locate_pairs(m->body, '&', loc->name,
		    TRANSFORM_IN_BODY, 0, 1, hits, 0, max);
	case TRANSFORM_HEADER:
		for (i = 0; i < m->nheaders; i++) {
			if (!span_caseeq_str(m->headers[i].name, loc->name))
				continue;
			v = m->headers[i].value;
			/* "SCHEME TOKEN": the token. */
			for (j = 0; j < v.len && isalpha((unsigned char)v.p[j]);
			    j++)
				;
			if (j > 0 && j + 1 < v.len && v.p[j] == ' ' &&
			    memchr(v.p + j + 1, ' ', v.len - j - 1) == NULL)
				return transform_push(hits, 0, max,
				    TRANSFORM_IN_HEADER, i, j + 1,
				    v.len - j - 1, TRANSFORM_ENC_RAW);
			return transform_push(hits, 0, max,
			    TRANSFORM_IN_HEADER, i, 0, v.len,
			    TRANSFORM_ENC_RAW);
		}
		return 0;
	case TRANSFORM_COOKIE:
		for (i = 0; i < m->nheaders && n == 0; i++)
			if (span_caseeq_str(m->headers[i].name, "cookie"))
				n = transform_locate_pairs(m->headers[i].value,
				    ';', loc->name, TRANSFORM_IN_HEADER, i, 0,
				    hits, 0, max);
		return n;
	case TRANSFORM_SETCOOKIE:
		for (i = 0; i < m->nheaders; i++) {
			if (!span_caseeq_str(m->headers[i].name, "set-cookie"))
				continue;
			v = m->headers[i].value;
			for (j = 0; j < v.len && v.p[j] != ';'; j++)
				;
			v.len = j;
			if ((n = transform_locate_pairs(v, '\0', loc->name,
			    TRANSFORM_IN_HEADER, i, 0, hits, 0, max)) > 0)
				return n;
		}
		return 0;
	case TRANSFORM_BODY:
		if (m->body.len == 0 || loc->name == NULL)
			return 0;
		if ((nseg = transform_jpath_parse(loc->name, segs,
		    TRANSFORM_MAX_PATH, &cause)) == -1) {
			free(cause);
			return 0;
		}
		json_init(&p, m->body.p, m->body.len);
		if (transform_json_walk(&p, segs, (size_t)nseg, hits, &n,
		    max) == -1)
			n = 0;
		transform_jpath_free(segs, (size_t)nseg);
		return n;
	case TRANSFORM_GRPC:
		if (m->body.len == 0)
			return 0;
		if (loc->grpc != NULL)
			return transform_grpc_locate(loc->grpc, m->body, hits,
			    max);
		if (transform_grpc_path_parse(loc->name, &gp, &cause) == -1) {
			free(cause);
			return 0;
		}
		return transform_grpc_locate(&gp, m->body, hits, max);
	}
	return 0;
}

void
transform_hit_value(struct buf *b, const struct transform_msg *m,
    const struct transform_hit *h)
{
	struct span		raw = transform_hit_raw(m, h);
	struct json_parser	p;
	struct buf		q;

	switch (h->enc) {
	case TRANSFORM_ENC_RAW:
	case TRANSFORM_ENC_JSONNUM:
	case TRANSFORM_ENC_PB_BYTES:
		buf_append_span(b, raw);
		break;
	case TRANSFORM_ENC_PB_VARINT:
	case TRANSFORM_ENC_PB_I64:
	case TRANSFORM_ENC_PB_I32:
		transform_grpc_number(b, h->enc, raw);
		break;
	case TRANSFORM_ENC_PCT:
		transform_pct_decode(b, raw.p, raw.len, h->in != TRANSFORM_IN_PATH);
		break;
	case TRANSFORM_ENC_JSON:
		if (memchr(raw.p, '\\', raw.len) == NULL) {
			buf_append_span(b, raw);
			break;
		}
		/* Decode through the reader: it needs the quotes. */
		buf_init(&q);
		buf_append_byte(&q, '"');
		buf_append_span(&q, raw);
		buf_append_byte(&q, '"');
		json_init(&p, q.data, q.len);
		if (json_read_string(&p, b, NULL) == -1)
			buf_append_span(b, raw);
		buf_free(&q);
		break;
	}
}

/* Characters kept as they are in a percent-encoded value. */
static int
transform_pct_plain(unsigned char c, int path)
{
	if (isalnum(c))
		return 1;
	switch (c) {
	case '-': case '.': case '_': case '~': case ':': case '@':
	case '!': case '$': case '\'': case '(': case ')': case '*':
	case ',': case ';':
		return 1;
	case '/': case '?':
		return !path;
	default:
		return 0;
	}
}

/* 1 when s is JSON number text. */
static int
transform_is_number(const char *s, size_t len)
{
	struct json_parser	p;
	struct json_value	v;

	if (len == 0)
		return 0;
	json_init(&p, s, len);
	return json_skip(&p, &v) == 0 && v.type == JSON_NUMBER &&
	    json_finish(&p) == 0;
}

void
transform_hit_encode(struct buf *b, const struct transform_hit *h,
    const char *v, size_t len)
{
	static const char	 hex[] = "0123456789ABCDEF";
	struct buf		 q;
	size_t			 i;

	switch (h->enc) {
	case TRANSFORM_ENC_RAW:
	case TRANSFORM_ENC_PB_BYTES:
	case TRANSFORM_ENC_PB_VARINT:
	case TRANSFORM_ENC_PB_I64:
	case TRANSFORM_ENC_PB_I32:
		/* A protobuf field is encoded when it is rendered. */
		buf_append(b, v, len);
		break;
	case TRANSFORM_ENC_JSONNUM:
		if (transform_is_number(v, len))
			buf_append(b, v, len);
		else
			json_append_string(b, v, len);
		break;
	case TRANSFORM_ENC_JSON:
		buf_init(&q);
		json_append_string(&q, v, len);
		buf_append(b, q.data + 1, q.len - 2);
		buf_free(&q);
		break;
	case TRANSFORM_ENC_PCT:
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)v[i];

			if (transform_pct_plain(c, h->in == TRANSFORM_IN_PATH))
				buf_append_byte(b, (char)c);
			else {
				buf_append_byte(b, '%');
				buf_append_byte(b, hex[c >> 4]);
				buf_append_byte(b, hex[c & 15]);
			}
		}
		break;
	}
}

/* Edits. */

void
transform_edits_init(struct transform_edits *e)
{
	memset(e, 0, sizeof(*e));
}

void
transform_edits_reset(struct transform_edits *e)
{
	size_t	i;

	for (i = 0; i < e->n; i++)
		free(e->v[i].val);
	e->n = 0;
}

void
transform_edits_free(struct transform_edits *e)
{
	transform_edits_reset(e);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

void
transform_edits_add(struct transform_edits *e, const struct transform_hit *h,
    const char *v, size_t len)
{
	struct transform_edit	*x;
	struct buf		 enc;
	size_t			 i;

	for (i = 0; i < e->n; i++) {
		x = &e->v[i];
		if (x->hit.in != h->in || (h->in == TRANSFORM_IN_HEADER &&
		    x->hit.header != h->header))
			continue;
		if (h->off < x->hit.off + x->hit.len &&
		    x->hit.off < h->off + h->len)
			return;
		if (h->len == 0 && x->hit.len == 0 && h->off == x->hit.off)
			return;
	}
	if (e->n == e->cap) {
		e->cap = e->cap == 0 ? 8 : e->cap * 2;
		e->v = xreallocarray(e->v, e->cap, sizeof(*e->v));
	}
	buf_init(&enc);
	transform_hit_encode(&enc, h, v, len);
	x = &e->v[e->n++];
	x->hit = *h;
	x->len = enc.len;
	x->val = buf_detach(&enc, NULL);
	if (x->val == NULL)
		x->val = xstrdup("");
}

int
transform_edits_render(struct buf *b, const struct transform_edits *e,
    const struct transform_msg *m, enum transform_in in, size_t header)
{
	struct span			 s = transform_part_span(m, in, header);
	const struct transform_edit	*next;
	size_t				 pos = 0, i;
	int				 any = 0;

	for (i = 0; in == TRANSFORM_IN_BODY && i < e->n; i++)
		if (e->v[i].hit.in == TRANSFORM_IN_BODY &&
		    TRANSFORM_ENC_IS_PB(e->v[i].hit.enc))
			return transform_grpc_render(b, s, e->v, e->n);
	for (;;) {
		/* The queued edit of this part with the lowest offset >= pos. */
		next = NULL;
		for (i = 0; i < e->n; i++) {
			const struct transform_edit *x = &e->v[i];

			if (x->hit.in != in || (in == TRANSFORM_IN_HEADER &&
			    x->hit.header != header) || x->hit.off < pos ||
			    x->hit.off + x->hit.len > s.len)
				continue;
			if (next == NULL || x->hit.off < next->hit.off)
				next = x;
		}
		if (next == NULL)
			break;
		buf_append(b, s.p + pos, next->hit.off - pos);
		buf_append(b, next->val, next->len);
		pos = next->hit.off + next->hit.len;
		any = 1;
		if (next->hit.len == 0)
			pos++;	/* never loop on an empty hit */
		if (pos > s.len)
			return any;
	}
	if (pos < s.len)
		buf_append(b, s.p + pos, s.len - pos);
	return any;
}

/* Times in the file: RFC 3339 UTC with microseconds. */

static void
transform_time_format(struct buf *b, int64_t us)
{
	time_t		sec = (time_t)(us >= 0 ? us / 1000000 :
			    (us - 999999) / 1000000);
	struct tm	tm;

	gmtime_r(&sec, &tm);
	buf_printf(b, "%04d-%02d-%02dT%02d:%02d:%02d.%06" PRId64 "Z",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, us - (int64_t)sec * 1000000);
}

static int
transform_time_parse(const char *s, int64_t *us)
{
	struct shape_time	t;

	if (shape_time_parse(s, strlen(s), &t) == -1)
		return -1;
	*us = t.us;
	return 0;
}

/* The writer. */

static void
transform_yq(struct buf *b, const char *s)
{
	json_append_string(b, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

static void
transform_write_loc(struct buf *b, const struct transform_loc *l)
{
	struct buf	t;

	buf_init(&t);
	transform_loc_format(&t, l);
	transform_yq(b, t.data);
	buf_free(&t);
}

static void
transform_write_endpoint(struct buf *b, const char *method, const char *route)
{
	struct buf	t;

	buf_init(&t);
	if (strcmp(method, "*") == 0 && strcmp(route, "*") == 0)
		buf_append_str(&t, "*");
	else
		buf_printf(&t, "%s %s", method, route);
	transform_yq(b, t.data);
	buf_free(&t);
}

static void
transform_write_why(struct buf *b, const char *indent, uint64_t seen,
    const char *why)
{
	buf_printf(b, "%sseen: %" PRIu64 "\n", indent, seen);
	if (why != NULL) {
		buf_printf(b, "%swhy: ", indent);
		transform_yq(b, why);
		buf_append_byte(b, '\n');
	}
}

/* Appends value entry v as an item of values:. */
static void
transform_write_value(struct buf *b, const struct transform_value *v)
{
	size_t	j;

	buf_printf(b, "  - kind: %s\n", shape_kind_name(v->kind));
	buf_printf(b, "    dir: %s\n", snap_dir_name(v->dir));
	buf_append_str(b, "    endpoint: ");
	transform_write_endpoint(b, v->method != NULL ? v->method :
	    "*", v->route != NULL ? v->route : "*");
	buf_append_str(b, "\n    where: ");
	transform_write_loc(b, &v->where);
	buf_printf(b, "\n    action: %s\n",
	    transform_action_name(v->action));
	if (v->action == TRANSFORM_ECHO) {
		buf_append_str(b, "    from: ");
		transform_write_loc(b, &v->from);
		buf_append_byte(b, '\n');
	}
	if (v->action == TRANSFORM_RESIGN) {
		buf_append_str(b, "    key: ");
		if (v->key != NULL)
			transform_yq(b, v->key->name);
		else
			buf_append_str(b, "null    # no key: the "
			    "token cannot be re-signed");
		buf_append_byte(b, '\n');
	}
	if (v->nclaims > 0) {
		buf_append_str(b, "    claims:\n");
		for (j = 0; j < v->nclaims; j++) {
			buf_append_str(b, "      ");
			transform_yq(b, v->claims[j].name);
			/* JSON scalars read back as themselves. */
			buf_printf(b, ": %s", v->claims[j].json);
			buf_append_byte(b, '\n');
		}
	}
	buf_append_field(b, "    format: ", v->format, transform_yq,
	    "\n");
	buf_append_field(b, "    example: ", v->example, transform_yq,
	    "\n");
	transform_write_why(b, "    ", v->seen, v->why);
}

/* Appends correlation c as an item of correlations:. */
static void
transform_write_corr(struct buf *b, const struct transform_corr *c)
{
	size_t	j;

	buf_append_str(b, "  - name: ");
	transform_yq(b, c->name != NULL ? c->name : "");
	buf_printf(b, "\n    kind: %s\n", c->kind == SHAPE_NONE ?
	    "any" : shape_kind_name(c->kind));
	buf_append_str(b, "    from:\n      endpoint: ");
	transform_write_endpoint(b, c->from_method != NULL ?
	    c->from_method : "*", c->from_route != NULL ?
	    c->from_route : "*");
	buf_append_str(b, "\n      where: ");
	transform_write_loc(b, &c->from);
	buf_append_str(b, "\n    to:\n");
	for (j = 0; j < c->nto; j++) {
		buf_append_str(b, "      - endpoint: ");
		transform_write_endpoint(b, c->to[j].method != NULL ?
		    c->to[j].method : "*", c->to[j].route != NULL ?
		    c->to[j].route : "*");
		buf_append_str(b, "\n        where: ");
		transform_write_loc(b, &c->to[j].where);
		buf_append_byte(b, '\n');
	}
	transform_write_why(b, "    ", c->seen, c->why);
}

void
transforms_write(struct buf *b, const struct transforms *t)
{
	const struct transform_key	*k;
	size_t				 i;

	buf_append_str(b, "# decoy transforms: volatile values of a recording "
	    "and what replay does with them\n");
	if (t->snapshot != NULL)
		buf_printf(b, "# found by decoy analyze in %s\n", t->snapshot);
	buf_append_str(b, "# Edit freely; see decoy-transforms(5).  `decoy "
	    "replay --transforms` applies the\n# dir: in entries, `decoy "
	    "respond --transforms` (and decoyd) the dir: out ones.\n");
	buf_printf(b, "version: %d\n", TRANSFORM_VERSION);
	buf_append_field(b, "snapshot: ", t->snapshot, transform_yq,
	    "\n");
	if (t->start_us != 0 || t->end_us != 0) {
		buf_append_str(b, "recording:\n  start: \"");
		transform_time_format(b, t->start_us);
		buf_append_str(b, "\"\n  end: \"");
		transform_time_format(b, t->end_us);
		buf_append_str(b, "\"\n");
	}
	buf_append_str(b, "# Keys that re-sign JWTs: secret_file (HMAC), "
	    "key_file (PEM private key)\n# or secret_env (HMAC secret in "
	    "an environment variable).\n");
	if (t->nkeys == 0)
		buf_append_str(b, "keys: []\n");
	else
		buf_append_str(b, "keys:\n");
	for (i = 0; i < t->nkeys; i++) {
		k = &t->keys[i];
		buf_append_str(b, "  - name: ");
		transform_yq(b, k->name);
		buf_append_byte(b, '\n');
		buf_append_field(b, "    alg: ", k->alg, transform_yq,
	    "\n");
		buf_append_field(b, "    secret_file: ", k->secret_file, transform_yq,
	    "\n");
		buf_append_field(b, "    key_file: ", k->key_file, transform_yq,
	    "\n");
		buf_append_field(b, "    secret_env: ", k->secret_env, transform_yq,
	    "\n");
	}
	buf_append_str(b, t->nvalues == 0 ? "values: []\n" : "values:\n");
	for (i = 0; i < t->nvalues; i++)
		transform_write_value(b, &t->values[i]);
	buf_append_str(b, t->ncorrs == 0 ? "correlations: []\n" :
	    "correlations:\n");
	for (i = 0; i < t->ncorrs; i++)
		transform_write_corr(b, &t->corrs[i]);
}

/* The reader. */

struct transform_load {
	struct yamldoc		*x;
	struct transforms	*t;
};

/* "METHOD ROUTE" or "*". */
static int
transform_endpoint_parse(struct yamldoc *x, const yaml_node_t *n,
    const char *what, char **method, char **route)
{
	const char	*s, *sp;

	if ((s = yamldoc_scalar(x, n, what)) == NULL)
		return -1;
	if (strcmp(s, "*") == 0) {
		*method = xstrdup("*");
		*route = xstrdup("*");
		return 0;
	}
	sp = strchr(s, ' ');
	if (sp == NULL || sp == s || (sp[1] != '/' && strcmp(sp + 1,
	    "*") != 0) || strchr(sp + 1, ' ') != NULL) {
		yamldoc_err(x, n, "%s: expected \"METHOD /route\" or \"*\", "
		    "not \"%s\"", what, s);
		return -1;
	}
	*method = xstrndup(s, (size_t)(sp - s));
	*route = xstrdup(sp + 1);
	return 0;
}

static int
transform_loc_node(struct yamldoc *x, const yaml_node_t *n, const char *what,
    struct transform_loc *l)
{
	const char	*s;
	char		*cause = NULL;

	if ((s = yamldoc_scalar(x, n, what)) == NULL)
		return -1;
	if (transform_loc_parse(s, l, &cause) == -1) {
		yamldoc_err(x, n, "%s: %s", what, cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* transform_loc_resolve() with the codec's descriptor set; an error
 * names node n. */
static void
transform_loc_names(struct yamldoc *x, const yaml_node_t *n, const char *what,
    struct transform_loc *l, const char *route)
{
	char	*cause = NULL;

	if (transform_loc_resolve(l, snap_protodesc(), route, &cause) == -1) {
		yamldoc_err(x, n, "%s: %s", what, cause);
		free(cause);
	}
}

static int
transform_u64(struct yamldoc *x, const yaml_node_t *n, const char *what,
    uint64_t *out)
{
	int64_t	v;

	if (yamldoc_int(x, n, what, 0, INT64_MAX, &v) == -1)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static char *
transform_str(struct yamldoc *x, const yaml_node_t *n, const char *what)
{
	const char	*s;

	if (yamldoc_is_null(n))
		return NULL;
	if ((s = yamldoc_scalar(x, n, what)) == NULL)
		return NULL;
	return xstrdup(s);
}

/* A claim's YAML scalar as JSON text: numbers, true/false/null as they
 * are (plain scalars only), anything else a JSON string. */
static char *
transform_claim_json(const yaml_node_t *n, const char *s)
{
	struct buf	b;

	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (transform_is_number(s, strlen(s)) || strcmp(s, "true") == 0 ||
	    strcmp(s, "false") == 0 || strcmp(s, "null") == 0))
		return xstrdup(s);
	buf_init(&b);
	json_append_string(&b, s, strlen(s));
	return buf_detach(&b, NULL);
}

static void
transform_read_key(struct transform_load *L, const yaml_node_t *map)
{
	struct yamldoc		*x = L->x;
	struct transform_key	*k;
	yaml_node_pair_t	*p;
	yaml_node_t		*kn, *vn;
	const char		*key, *s;
	int			 nsrc = 0;

	if (yamldoc_mapping(x, map, "keys entry") == -1)
		return;
	k = transforms_add_key(L->t);
	k->line = map->start_mark.line + 1;
	k->col = map->start_mark.column + 1;
	YAMLDOC_PAIRS(x, map, p, kn, vn, key, "keys entry") {
		if (strcmp(key, "name") == 0)
			k->name = transform_str(x, vn, "name");
		else if (strcmp(key, "alg") == 0)
			k->alg = transform_str(x, vn, "alg");
		else if (strcmp(key, "secret_file") == 0 ||
		    strcmp(key, "key_file") == 0) {
			if ((s = yamldoc_scalar(x, vn, key)) == NULL)
				continue;
			if (key[0] == 's')
				k->secret_file = yamldoc_path(x, s);
			else
				k->key_file = yamldoc_path(x, s);
			nsrc++;
		} else if (strcmp(key, "secret_env") == 0) {
			k->secret_env = transform_str(x, vn, key);
			nsrc++;
		} else
			yamldoc_err(x, kn, "keys entry: unknown key \"%s\" "
			    "(name, alg, secret_file, key_file, secret_env)",
			    key);
	}
	if (k->name == NULL)
		yamldoc_err(x, map, "keys entry: missing \"name\"");
	if (nsrc != 1)
		yamldoc_err(x, map, "key \"%s\": give exactly one of "
		    "secret_file, key_file and secret_env",
		    k->name != NULL ? k->name : "?");
}

static struct transform_key *
transform_find_key(struct transforms *t, const char *name)
{
	size_t	i;

	for (i = 0; i < t->nkeys; i++)
		if (t->keys[i].name != NULL && strcmp(t->keys[i].name,
		    name) == 0)
			return &t->keys[i];
	return NULL;
}

/* Checks what value v's action can do, and where; where, action and from
 * are their nodes, for errors (from NULL when absent). */
static void
transform_value_check(struct yamldoc *x, const struct transform_value *v,
    const yaml_node_t *where, const yaml_node_t *action,
    const yaml_node_t *from)
{
	enum shape_kind	 want;
	enum snap_dir	 dir;

	/* What each action can do, and where. */
	switch (v->action) {
	case TRANSFORM_SHIFT:
	case TRANSFORM_RESIGN:
		want = v->action == TRANSFORM_SHIFT ? SHAPE_TIME : SHAPE_JWT;
		if (v->kind != want)
			yamldoc_err(x, action, "action %s: only for kind %s, "
			    "not %s", transform_action_name(v->action),
			    shape_kind_name(want), shape_kind_name(v->kind));
		break;
	case TRANSFORM_FRESH:
	case TRANSFORM_KEY:
		/* fresh: the generator sends it; key: the responder
		 * matches it. */
		dir = v->action == TRANSFORM_FRESH ? SNAP_DIR_IN : SNAP_DIR_OUT;
		if (v->where.res || v->dir != dir)
			yamldoc_err(x, action, "action %s: only for a request "
			    "value of dir %s (the %s it)",
			    transform_action_name(v->action),
			    dir == SNAP_DIR_IN ? "in" : "out",
			    dir == SNAP_DIR_IN ? "generator sends" :
			    "responder matches");
		break;
	case TRANSFORM_ECHO:
		if (from == NULL)
			yamldoc_err(x, action, "action echo: missing \"from\" "
			    "(the request location echoed)");
		else if (from != NULL && v->from.res)
			yamldoc_err(x, from, "from: must be a request "
			    "location (req.)");
		if (!v->where.res)
			yamldoc_err(x, where, "action echo: where must be a "
			    "response location (res.)");
		break;
	case TRANSFORM_KEEP:
	case TRANSFORM_ANY:
		break;
	}
	if (from != NULL && v->action != TRANSFORM_ECHO)
		yamldoc_err(x, from, "from: only with action echo");
}


static void
transform_read_value(struct transform_load *L, const yaml_node_t *map)
{
	static const char *const dirs[] = { "in", "out" };
	struct yamldoc		*x = L->x;
	struct transform_value	*v;
	yaml_node_pair_t	*p, *cp;
	yaml_node_t		*kn, *vn, *ck, *cv, *where = NULL, *from = NULL;
	yaml_node_t		*action = NULL;
	const char		*key, *s, *cname;
	int			 have_kind = 0, have_dir = 0, have_ep = 0;
	int			 have_action = 0, errs = x->nerrors;
	size_t			 i;

	if (yamldoc_mapping(x, map, "values entry") == -1)
		return;
	v = transforms_add_value(L->t);
	v->line = map->start_mark.line + 1;
	v->col = map->start_mark.column + 1;
	YAMLDOC_PAIRS(x, map, p, kn, vn, key, "values entry") {
		if (strcmp(key, "kind") == 0) {
			if ((s = yamldoc_scalar(x, vn, key)) == NULL)
				continue;
			/* none: a value of no particular shape (a key
			 * field candidate that decoy analyze reports). */
			if ((v->kind = shape_kind_parse(s)) == SHAPE_NONE &&
			    strcmp(s, "none") != 0)
				yamldoc_err(x, vn, "kind: expected jwt, "
				    "timestamp, uuid, ulid, hex, b64 or "
				    "none, not \"%s\"", s);
			have_kind = 1;
		} else if (strcmp(key, "dir") == 0) {
			/* A value that is not one is no dir at all. */
			if (yamldoc_scalar(x, vn, key) == NULL)
				continue;
			if (yamldoc_choice(x, vn, key, dirs, 2, &i) == 0)
				v->dir = i == 0 ? SNAP_DIR_IN : SNAP_DIR_OUT;
			have_dir = 1;
		} else if (strcmp(key, "endpoint") == 0) {
			if (transform_endpoint_parse(x, vn, key, &v->method,
			    &v->route) == 0)
				have_ep = 1;
		} else if (strcmp(key, "where") == 0) {
			where = vn;
			transform_loc_node(x, vn, key, &v->where);
		} else if (strcmp(key, "action") == 0) {
			action = vn;
			if ((s = yamldoc_scalar(x, vn, key)) == NULL)
				continue;
			if (transform_action_parse(s, &v->action) == -1)
				yamldoc_err(x, vn, "action: expected keep, "
				    "shift, resign, fresh, any, key or echo, "
				    "not \"%s\"", s);
			have_action = 1;
		} else if (strcmp(key, "from") == 0) {
			from = vn;
			transform_loc_node(x, vn, key, &v->from);
		} else if (strcmp(key, "key") == 0) {
			if (yamldoc_is_null(vn))
				continue;
			if ((s = yamldoc_scalar(x, vn, key)) == NULL)
				continue;
			if ((v->key = transform_find_key(L->t, s)) == NULL)
				yamldoc_err(x, vn, "key: no key named \"%s\" "
				    "in keys", s);
		} else if (strcmp(key, "claims") == 0) {
			if (yamldoc_mapping(x, vn, "claims") == -1)
				continue;
			YAMLDOC_PAIRS(x, vn, cp, ck, cv, cname, "claims") {
				if ((s = yamldoc_scalar(x, cv, cname)) == NULL)
					continue;
				v->claims = xreallocarray(v->claims,
				    v->nclaims + 1, sizeof(*v->claims));
				v->claims[v->nclaims].name = xstrdup(cname);
				v->claims[v->nclaims].json =
				    transform_claim_json(cv, s);
				v->nclaims++;
			}
		} else if (strcmp(key, "format") == 0)
			v->format = transform_str(x, vn, key);
		else if (strcmp(key, "example") == 0)
			v->example = transform_str(x, vn, key);
		else if (strcmp(key, "why") == 0)
			v->why = transform_str(x, vn, key);
		else if (strcmp(key, "seen") == 0)
			transform_u64(x, vn, key, &v->seen);
		else
			yamldoc_err(x, kn, "values entry: unknown key \"%s\"",
			    key);
	}
	if (!have_kind)
		yamldoc_err(x, map, "values entry: missing \"kind\"");
	if (!have_dir)
		yamldoc_err(x, map, "values entry: missing \"dir\"");
	if (!have_ep)
		yamldoc_err(x, map, "values entry: missing \"endpoint\"");
	if (where == NULL)
		yamldoc_err(x, map, "values entry: missing \"where\"");
	if (!have_action)
		yamldoc_err(x, map, "values entry: missing \"action\"");
	if (x->nerrors != errs)
		return;
	transform_loc_names(x, where, "where", &v->where, v->route);
	if (from != NULL)
		transform_loc_names(x, from, "from", &v->from, v->route);
	if (x->nerrors != errs)
		return;
	transform_value_check(x, v, where, action, from);
}

static void
transform_read_use(struct yamldoc *x, const yaml_node_t *map,
    const char *what, char **method, char **route, struct transform_loc *l,
    int res)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*kn, *vn, *where = NULL;
	const char		*key;
	int			 have_ep = 0;

	if (yamldoc_mapping(x, map, what) == -1)
		return;
	YAMLDOC_PAIRS(x, map, p, kn, vn, key, what) {
		if (strcmp(key, "endpoint") == 0) {
			if (transform_endpoint_parse(x, vn, key, method,
			    route) == 0)
				have_ep = 1;
		} else if (strcmp(key, "where") == 0) {
			if (transform_loc_node(x, vn, key, l) == 0)
				where = vn;
		} else
			yamldoc_err(x, kn, "%s: unknown key \"%s\" (endpoint, "
			    "where)", what, key);
	}
	if (!have_ep)
		yamldoc_err(x, map, "%s: missing \"endpoint\"", what);
	if (where == NULL)
		yamldoc_err(x, map, "%s: missing \"where\"", what);
	else if (l->res != res)
		yamldoc_err(x, where, "%s: where must be a %s location", what,
		    res ? "response (res.)" : "request (req.)");
	else if (have_ep)
		transform_loc_names(x, where, "where", l, *route);
}

static void
transform_read_corr(struct transform_load *L, const yaml_node_t *map)
{
	struct yamldoc		*x = L->x;
	struct transform_corr	*c;
	struct transform_use	*u;
	yaml_node_pair_t	*p;
	yaml_node_item_t	*it;
	yaml_node_t		*kn, *vn, *n;
	const char		*key, *s;
	int			 have_from = 0;

	if (yamldoc_mapping(x, map, "correlations entry") == -1)
		return;
	c = transforms_add_corr(L->t);
	c->line = map->start_mark.line + 1;
	c->col = map->start_mark.column + 1;
	YAMLDOC_PAIRS(x, map, p, kn, vn, key, "correlations entry") {
		if (strcmp(key, "name") == 0)
			c->name = transform_str(x, vn, key);
		else if (strcmp(key, "kind") == 0) {
			if ((s = yamldoc_scalar(x, vn, key)) == NULL)
				continue;
			if (strcmp(s, "any") == 0)
				c->kind = SHAPE_NONE;
			else if ((c->kind = shape_kind_parse(s)) == SHAPE_NONE)
				yamldoc_err(x, vn, "kind: expected any, jwt, "
				    "timestamp, uuid, ulid, hex or b64, not "
				    "\"%s\"", s);
		} else if (strcmp(key, "from") == 0) {
			transform_read_use(x, vn, "from", &c->from_method,
			    &c->from_route, &c->from, 1);
			have_from = 1;
		} else if (strcmp(key, "to") == 0) {
			if (vn->type != YAML_SEQUENCE_NODE) {
				yamldoc_err(x, vn, "to: expected a list, not "
				    "%s", yamldoc_kind(vn));
				continue;
			}
			for (it = vn->data.sequence.items.start;
			    it < vn->data.sequence.items.top; it++) {
				if ((n = yamldoc_node(x, *it)) == NULL)
					continue;
				u = transform_corr_add_use(c);
				transform_read_use(x, n, "to entry",
				    &u->method, &u->route, &u->where, 0);
			}
		} else if (strcmp(key, "why") == 0)
			c->why = transform_str(x, vn, key);
		else if (strcmp(key, "seen") == 0)
			transform_u64(x, vn, key, &c->seen);
		else
			yamldoc_err(x, kn, "correlations entry: unknown key "
			    "\"%s\"", key);
	}
	if (!have_from)
		yamldoc_err(x, map, "correlations entry: missing \"from\"");
	if (c->nto == 0)
		yamldoc_err(x, map, "correlations entry: missing \"to\" "
		    "(a list of endpoint + where)");
}

/* Walks list node n calling fn on each item. */
static void
transform_read_list(struct transform_load *L, const yaml_node_t *n,
    const char *what, void (*fn)(struct transform_load *, const yaml_node_t *))
{
	yaml_node_item_t	*it;
	yaml_node_t		*item;

	if (yamldoc_is_null(n))
		return;
	if (n->type != YAML_SEQUENCE_NODE) {
		yamldoc_err(L->x, n, "%s: expected a list, not %s", what,
		    yamldoc_kind(n));
		return;
	}
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++)
		if ((item = yamldoc_node(L->x, *it)) != NULL)
			fn(L, item);
}

static void
transform_read_top(struct transform_load *L, const yaml_node_t *root)
{
	struct yamldoc		*x = L->x;
	yaml_node_pair_t	*p, *rp;
	yaml_node_t		*kn, *vn, *rk, *rv;
	yaml_node_t		*keys = NULL, *values = NULL, *corrs = NULL;
	const char		*key, *rkey, *s;
	int64_t			 ver;
	int			 have_version = 0;

	if (yamldoc_mapping(x, root, "transforms") == -1)
		return;
	YAMLDOC_PAIRS(x, root, p, kn, vn, key, "transforms") {
		if (strcmp(key, "version") == 0) {
			if (yamldoc_int(x, vn, key, 1, INT32_MAX, &ver) == 0 &&
			    ver != TRANSFORM_VERSION)
				yamldoc_err(x, vn, "version %" PRId64 " is not "
				    "known to this decoy (it reads version %d)",
				    ver, TRANSFORM_VERSION);
			have_version = 1;
		} else if (strcmp(key, "snapshot") == 0)
			L->t->snapshot = transform_str(x, vn, key);
		else if (strcmp(key, "recording") == 0) {
			if (yamldoc_mapping(x, vn, key) == -1)
				continue;
			YAMLDOC_PAIRS(x, vn, rp, rk, rv, rkey, "recording") {
				int64_t *dst;

				if (strcmp(rkey, "start") == 0)
					dst = &L->t->start_us;
				else if (strcmp(rkey, "end") == 0)
					dst = &L->t->end_us;
				else {
					yamldoc_err(x, rk, "recording: unknown "
					    "key \"%s\" (start, end)", rkey);
					continue;
				}
				if ((s = yamldoc_scalar(x, rv, rkey)) != NULL &&
				    transform_time_parse(s, dst) == -1)
					yamldoc_err(x, rv, "recording: %s: "
					    "expected an RFC 3339 time, not "
					    "\"%s\"", rkey, s);
			}
		} else if (strcmp(key, "keys") == 0)
			keys = vn;
		else if (strcmp(key, "values") == 0)
			values = vn;
		else if (strcmp(key, "correlations") == 0)
			corrs = vn;
		else
			yamldoc_err(x, kn, "unknown key \"%s\" (version, "
			    "snapshot, recording, keys, values, "
			    "correlations)", key);
	}
	if (!have_version)
		yamldoc_err(x, root, "missing \"version: %d\"",
		    TRANSFORM_VERSION);
	/* Keys first: values refer to them by name. */
	if (keys != NULL)
		transform_read_list(L, keys, "keys", transform_read_key);
	if (values != NULL)
		transform_read_list(L, values, "values", transform_read_value);
	if (corrs != NULL)
		transform_read_list(L, corrs, "correlations",
		    transform_read_corr);
}

static void
transform_load_keys(struct yamldoc *x, struct transforms *t)
{
	struct transform_key	*k;
	yaml_mark_t		 m;
	const char		*env;
	char			*cause;
	size_t			 i;

	for (i = 0; i < t->nkeys; i++) {
		k = &t->keys[i];
		memset(&m, 0, sizeof(m));
		m.line = k->line - 1;
		m.column = k->col - 1;
		cause = NULL;
		if (k->secret_env != NULL) {
			if ((env = getenv(k->secret_env)) == NULL ||
			    *env == '\0') {
				yamldoc_err_at(x, &m, "key \"%s\": the "
				    "environment variable %s is not set or "
				    "empty", k->name, k->secret_env);
				continue;
			}
			k->key = jwt_key_hmac(env, strlen(env));
			continue;
		}
		k->key = jwt_key_load(k->secret_file != NULL ?
		    k->secret_file : k->key_file, k->alg, &cause);
		if (k->key == NULL) {
			yamldoc_err_at(x, &m, "key \"%s\": %s", k->name,
			    cause != NULL ? cause : "cannot be loaded");
			free(cause);
		}
	}
	/* A resign entry's key must fit the tokens' alg where it says. */
	for (i = 0; i < t->nvalues; i++) {
		struct transform_value	*v = &t->values[i];

		if (v->key == NULL || v->key->key == NULL ||
		    v->format == NULL || strncmp(v->format, "none", 4) == 0)
			continue;
		if (strlen(v->format) <= 6 && !jwt_key_fits(v->key->key,
		    v->format)) {
			memset(&m, 0, sizeof(m));
			m.line = v->line - 1;
			m.column = v->col - 1;
			yamldoc_err_at(x, &m, "key \"%s\" cannot sign %s "
			    "tokens", v->key->name, v->format);
		}
	}
}

struct transforms *
transforms_load(const char *path, int load_keys, char **cause)
{
	struct transform_load	 L;
	struct transforms	*t;
	struct yamldoc		 x;
	FILE			*f;

	if ((f = fopen(path, "r")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	t = transforms_create();
	t->path = xstrdup(path);
	yamldoc_init(&x);
	x.max_keys = 64;
	L.x = &x;
	L.t = t;
	if (yamldoc_load_file(&x, path, f) == -1)
		yamldoc_err_at(&x, &x.mark, "%s", x.problem != NULL ?
		    x.problem : "YAML error");
	else if (x.root == NULL)
		yamldoc_err_at(&x, &x.mark, "empty transforms file");
	else {
		transform_read_top(&L, x.root);
		if (yamldoc_check_single(&x) == -1)
			yamldoc_err_at(&x, &x.mark, "%s", x.problem != NULL ?
			    x.problem : "YAML error");
		if (x.nerrors == 0 && load_keys)
			transform_load_keys(&x, t);
	}
	yamldoc_close(&x);
	fclose(f);
	if (yamldoc_finish(&x, cause) == -1) {
		yamldoc_free(&x);
		transforms_free(t);
		return NULL;
	}
	yamldoc_free(&x);
	return t;
}
