/*
 * route.c -- endpoint templates (route.h).
 *
 * A route set is a tree per method: one node per path segment (after the
 * per-path template), children in a small open-addressing hash per node.
 * Learning runs when a template is asked for after new paths came: top
 * down, a node whose children are many and mostly rare gets one child
 * "{param}" into which all its children are merged (hits added, their
 * own children merged recursively), so deeper positions are judged over
 * every value above them ("/users/{param}/repos/{param}").
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "route.h"
#include "xmalloc.h"

#define ROUTE_MIN_DISTINCT	8
/* A position varies when its values are hit this many times or fewer on
 * average: ids and names are rare, endpoint names frequent. */
#define ROUTE_MAX_MEAN_HITS	5
#define ROUTE_PARAM		"{param}"

/* An API version segment: "v" and digits, maybe dotted ("v1", "v2.1"). */
static int
route_is_version(const char *s, size_t len)
{
	size_t	i;

	if (len < 2 || (s[0] != 'v' && s[0] != 'V') ||
	    !isdigit((unsigned char)s[1]))
		return 0;
	for (i = 1; i < len; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] == '.' &&
		    i + 1 < len && isdigit((unsigned char)s[i + 1])))
			return 0;
	return 1;
}

static int
route_is_uuid(const char *s, size_t len)
{
	size_t	i;

	if (len != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* A calendar date, maybe with a time: "2026-12-07", "2026-12-07T10:00Z". */
static int
route_is_date(const char *s, size_t len)
{
	static const char	shape[] = "dddd-dd-dd";
	size_t			i;

	if (len < 10)
		return 0;
	for (i = 0; i < 10; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) :
		    s[i] != '-')
			return 0;
	return len == 10 || s[10] == 'T' || s[10] == 't' || s[10] == '_';
}

/* The template of one segment: the segment itself or a parameter. */
static void
route_segment(struct buf *b, const char *s, size_t len)
{
	size_t	j;
	int	digit = 0, all = 1;

	for (j = 0; j < len; j++) {
		if (isdigit((unsigned char)s[j]))
			digit = 1;
		else
			all = 0;
	}
	if (route_is_version(s, len))
		digit = 0;	/* "v1", "v2.1": part of the route */
	if (!digit)
		buf_append(b, s, len);
	else if (all)
		buf_append_str(b, "{n}");
	else if (route_is_uuid(s, len))
		buf_append_str(b, "{uuid}");
	else if (route_is_date(s, len))
		buf_append_str(b, "{date}");
	else
		buf_append_str(b, "{id}");
}

void
route_split_target(const char *target, struct span *authority,
    struct span *path, struct span *query)
{
	const char	*p = target, *q;
	struct span	 auth = SPAN_NULL;

	if (strncasecmp(p, "http://", 7) == 0 ||
	    strncasecmp(p, "https://", 8) == 0) {
		auth.p = strstr(p, "//") + 2;
		auth.len = strcspn(auth.p, "/?#");
		p = auth.p + auth.len;
	}
	q = p + strcspn(p, "?#");
	*path = (struct span){ p, (size_t)(q - p) };
	*query = *q == '?' ? (struct span){ q + 1, strcspn(q + 1, "#") } :
	    SPAN_NULL;
	if (authority != NULL)
		*authority = auth;
}

void
route_template(struct buf *b, const char *path, size_t len)
{
	size_t	i = 0, start;

	if (len == 0) {
		buf_append_byte(b, '/');
		return;
	}
	while (i < len) {
		if (path[i] == '/') {
			buf_append_byte(b, '/');
			i++;
			continue;
		}
		start = i;
		while (i < len && path[i] != '/')
			i++;
		route_segment(b, path + start, i - start);
	}
}

int
route_is_param(const char *s, size_t len)
{
	return len >= 2 && s[0] == '{' && s[len - 1] == '}';
}

int
route_match(const char *route, struct span path)
{
	const char	*r = route, *rend, *p = path.p, *pend;
	size_t		 rl, pl;

	if (strcmp(route, "*") == 0)
		return 1;
	pend = path.p + path.len;
	for (;;) {
		/* Both at a '/' or at their ends. */
		if (*r == '\0' || p == pend)
			return *r == '\0' && p == pend;
		if (*r != *p || *r != '/')
			return 0;	/* only a '/' may come here */
		r++;
		p++;
		rend = strchr(r, '/');
		rl = rend != NULL ? (size_t)(rend - r) : strlen(r);
		for (pl = 0; p + pl < pend && p[pl] != '/'; pl++)
			;
		if (route_is_param(r, rl)) {
			if (pl == 0)
				return 0;
		} else if (rl != pl || memcmp(r, p, pl) != 0)
			return 0;
		r += rl;
		p += pl;
	}
}

/* The learning tree. */

struct route_node {
	char			 *seg;		/* the segment's template */
	size_t			  seglen;
	size_t			  hits;		/* paths through this node */
	int			  variable;	/* children merged into one */
	struct route_node	**slots;	/* children, open addressing */
	size_t			  nslots;	/* 0 or a power of two */
	size_t			  nchildren;
};

struct route_set {
	size_t			  min_distinct;
	int			  dirty;	/* added since the last learn */
	struct route_node	**roots;	/* one per method */
	char			**methods;
	size_t			  nroots;
};

static struct route_node *
route_node_new(const char *seg, size_t len)
{
	struct route_node	*n = xcalloc(1, sizeof *n);

	n->seg = xstrndup(seg, len);
	n->seglen = len;
	return n;
}

static void
route_node_free(struct route_node *n)
{
	size_t	i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nslots; i++)
		route_node_free(n->slots[i]);
	free(n->slots);
	free(n->seg);
	free(n);
}

/* The slot of seg in n (empty or holding it); n->nslots > 0. */
static struct route_node **
route_slot(struct route_node *n, const char *seg, size_t len)
{
	size_t	i = (size_t)hash_fnv1a(seg, len) & (n->nslots - 1);

	while (n->slots[i] != NULL && (n->slots[i]->seglen != len ||
	    memcmp(n->slots[i]->seg, seg, len) != 0))
		i = (i + 1) & (n->nslots - 1);
	return &n->slots[i];
}

static void
route_insert(struct route_node *n, struct route_node *c)
{
	struct route_node	**old = n->slots;
	size_t			  nold = n->nslots, i;

	if ((n->nchildren + 1) * 2 > n->nslots) {
		n->nslots = n->nslots == 0 ? 4 : n->nslots * 2;
		n->slots = xcalloc(n->nslots, sizeof *n->slots);
		for (i = 0; i < nold; i++)
			if (old[i] != NULL)
				*route_slot(n, old[i]->seg,
				    old[i]->seglen) = old[i];
		free(old);
	}
	*route_slot(n, c->seg, c->seglen) = c;
	n->nchildren++;
}

static struct route_node *
route_child(struct route_node *n, const char *seg, size_t len)
{
	struct route_node	**s;

	if (n->nslots == 0)
		return NULL;
	s = route_slot(n, seg, len);
	return *s;
}

/* The one child of a variable node. */
static struct route_node *
route_param_child(struct route_node *n)
{
	return route_child(n, ROUTE_PARAM, sizeof ROUTE_PARAM - 1);
}

/* Merges src (freed) into dst: hits add, children merge by segment. */
static void
route_merge(struct route_node *dst, struct route_node *src)
{
	struct route_node	*c, *d;
	size_t			 i;

	dst->hits += src->hits;
	for (i = 0; i < src->nslots; i++) {
		if ((c = src->slots[i]) == NULL)
			continue;
		if ((d = route_child(dst, c->seg, c->seglen)) != NULL)
			route_merge(d, c);
		else
			route_insert(dst, c);
	}
	free(src->slots);
	free(src->seg);
	free(src);
}

/* Decides, top down, which positions vary. */
static void
route_learn(struct route_node *n, size_t min_distinct)
{
	struct route_node	**old, *param;
	size_t			  nold, i;

	if (!n->variable && n->nchildren >= min_distinct &&
	    n->nchildren * ROUTE_MAX_MEAN_HITS >= n->hits) {
		old = n->slots;
		nold = n->nslots;
		n->slots = NULL;
		n->nslots = n->nchildren = 0;
		param = route_node_new(ROUTE_PARAM, sizeof ROUTE_PARAM - 1);
		for (i = 0; i < nold; i++)
			if (old[i] != NULL)
				route_merge(param, old[i]);
		free(old);
		route_insert(n, param);
		n->variable = 1;
	}
	for (i = 0; i < n->nslots; i++)
		if (n->slots[i] != NULL)
			route_learn(n->slots[i], min_distinct);
}

struct route_set *
route_set_create(size_t min_distinct)
{
	struct route_set	*rs = xcalloc(1, sizeof *rs);

	rs->min_distinct = min_distinct != 0 ? min_distinct :
	    ROUTE_MIN_DISTINCT;
	return rs;
}

void
route_set_free(struct route_set *rs)
{
	size_t	i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->nroots; i++) {
		route_node_free(rs->roots[i]);
		free(rs->methods[i]);
	}
	free(rs->roots);
	free(rs->methods);
	free(rs);
}

static struct route_node *
route_root(struct route_set *rs, const char *method, int create)
{
	size_t	i;

	if (method == NULL)
		method = "";
	for (i = 0; i < rs->nroots; i++)
		if (strcmp(rs->methods[i], method) == 0)
			return rs->roots[i];
	if (!create)
		return NULL;
	rs->roots = xreallocarray(rs->roots, rs->nroots + 1,
	    sizeof *rs->roots);
	rs->methods = xreallocarray(rs->methods, rs->nroots + 1,
	    sizeof *rs->methods);
	rs->roots[rs->nroots] = route_node_new("", 0);
	rs->methods[rs->nroots] = xstrdup(method);
	return rs->roots[rs->nroots++];
}

/* The next segment of t (a template, '/'-separated) at *pos, or 0. */
static int
route_next(const struct buf *t, size_t *pos, const char **seg, size_t *len)
{
	size_t	i = *pos;

	while (i < t->len && t->data[i] == '/')
		i++;
	if (i >= t->len)
		return 0;
	*seg = t->data + i;
	while (i < t->len && t->data[i] != '/')
		i++;
	*len = i - (size_t)(*seg - t->data);
	*pos = i;
	return 1;
}

void
route_set_add(struct route_set *rs, const char *method, const char *path,
    size_t len)
{
	struct route_node	*n, *c;
	struct buf		 t;
	const char		*seg;
	size_t			 pos = 0, sl;

	buf_init(&t);
	route_template(&t, path, len);
	n = route_root(rs, method, 1);
	n->hits++;
	while (route_next(&t, &pos, &seg, &sl)) {
		if (n->variable)
			c = route_param_child(n);
		else if ((c = route_child(n, seg, sl)) == NULL) {
			c = route_node_new(seg, sl);
			route_insert(n, c);
		}
		c->hits++;
		n = c;
	}
	buf_free(&t);
	rs->dirty = 1;
}

void
route_set_template(struct route_set *rs, const char *method, const char *path,
    size_t len, struct buf *b)
{
	struct route_node	*n;
	struct buf		 t;
	const char		*seg;
	size_t			 pos = 0, sl, i, last;

	if (rs->dirty) {
		for (i = 0; i < rs->nroots; i++)
			route_learn(rs->roots[i], rs->min_distinct);
		rs->dirty = 0;
	}
	buf_init(&t);
	route_template(&t, path, len);
	n = route_root(rs, method, 0);
	last = 0;
	while (n != NULL && route_next(&t, &pos, &seg, &sl)) {
		/* Copy the slashes before the segment as they are. */
		buf_append(b, t.data + last, (size_t)(seg - t.data) - last);
		if (n->variable) {
			buf_append_str(b, ROUTE_PARAM);
			n = route_param_child(n);
		} else {
			buf_append(b, seg, sl);
			n = route_child(n, seg, sl);
		}
		last = pos;
	}
	buf_append(b, t.data + last, t.len - last);
	buf_free(&t);
}
