/*
 * gen-transform.c -- the transforms the generator applies (see
 * gen-transform.h): requests rebuilt per send with shifted timestamps,
 * re-signed JWTs, fresh ids and the live values of earlier answers, and
 * the per-session map those live values are kept in.
 *
 * Everything here works on the recorded transaction and on spans of the
 * live answer; the locator and the splicing of new values are
 * transform.c's, the shapes shape.c's, the signatures jwt.c's.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "gen-transform.h"
#include "hash.h"
#include "http.h"
#include "jwt.h"
#include "log.h"
#include "shape.h"
#include "snap.h"
#include "transform.h"
#include "xmalloc.h"

/* Values found at one location of one message, at most. */
#define GX_MAX_HITS	64

/* Integers read as epoch timestamps when shifting: 2001-09-09 .. 2100. */
#define GX_EPOCH_LO_US	(1000000000LL * 1000000)
#define GX_EPOCH_HI_US	(4102444800LL * 1000000)

/* One comparison exclusion list, shared by the transactions that the
 * same entries apply to (ents: value indexes, then nvalues + corr). */
struct gx_cmp {
	size_t			*ents;
	size_t			 nents;
	struct gen_transform_cmp cmp;
};

struct gen_transform {
	struct transforms	*t;
	unsigned char		*usable;	/* per value: resign can sign */
	unsigned char		*warned;	/* per value: a send failed */
	struct gx_cmp		**cmps;		/* each allocated alone: the
						   callers keep pointers */
	size_t			 ncmps;
};

struct gx_map_entry {
	char		*rec;		/* NULL: free slot */
	size_t		 reclen;
	char		*live;
	size_t		 livelen;
	uint64_t	 hash;
};

struct gen_transform_map {
	struct gx_map_entry	*v;
	size_t			 cap;	/* a power of two, or 0 */
	size_t			 n;
};

/* ---------------------------------------------------------------------- */
/* Recorded messages. */

const char *
gen_transform_origin_form(const char *target)
{
	const char	*p;

	if (target[0] == '/' || strstr(target, "://") == NULL)
		return target;
	p = strstr(target, "://") + 3;
	p = strchr(p, '/');
	return p != NULL ? p : "/";
}

void
gen_transform_msg(const struct snap_txn *t, int res, struct transform_msg *m,
    struct http_header **hdrs)
{
	const struct snap_header	*sh;
	const char			*target, *q;
	size_t				 n, i;

	memset(m, 0, sizeof *m);
	if (res) {
		sh = t->res.headers;
		n = t->res.nheaders;
		m->body = (struct span){ t->res.body, t->res.body_len };
	} else {
		sh = t->req.headers;
		n = t->req.nheaders;
		m->body = (struct span){ t->req.body, t->req.body_len };
		target = gen_transform_origin_form(t->req.target);
		if ((q = strchr(target, '?')) != NULL) {
			m->path = (struct span){ target, (size_t)(q - target) };
			m->query = span_from_str(q + 1);
		} else
			m->path = span_from_str(target);
	}
	*hdrs = xcalloc(n + 1, sizeof **hdrs);
	for (i = 0; i < n; i++) {
		(*hdrs)[i].name = span_from_str(sh[i].name);
		(*hdrs)[i].value = span_from_str(sh[i].value);
	}
	m->headers = *hdrs;
	m->nheaders = n;
}

/* The endpoint of t's request: method and path without the query. */
static void
gx_endpoint(const struct snap_txn *t, struct span *method, struct span *path)
{
	const char	*target = gen_transform_origin_form(t->req.target);

	*method = span_from_str(t->req.method);
	*path = (struct span){ target, strcspn(target, "?") };
}

/*
 * 1 for a recorded header the writer does not copy: Host (it sets it),
 * the framing headers and those of one hop only.
 */
static int
gx_is_hop_header(const char *name)
{
	static const char *const hop[] = { "Host", "Expect", "TE", "Trailer",
	    "Upgrade", "Proxy-Connection" };
	size_t	i;

	if (http_is_framing_header(span_from_str(name)))
		return 1;
	for (i = 0; i < sizeof hop / sizeof hop[0]; i++)
		if (strcasecmp(name, hop[i]) == 0)
			return 1;
	return 0;
}

static int
gx_has_body(const char *method, size_t body_len)
{
	return body_len > 0 || strcmp(method, "POST") == 0 ||
	    strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
}

/*
 * A part of the request: recorded, or when e is not NULL with e's edits
 * rendered into tmp.
 */
static struct span
gx_part(struct buf *tmp, const struct transform_edits *e,
    const struct transform_msg *m, enum transform_in in, size_t header,
    struct span recorded)
{
	if (e == NULL)
		return recorded;
	buf_reset(tmp);
	transform_edits_render(tmp, e, m, in, header);
	return (struct span){ tmp->data, tmp->len };
}

/*
 * Appends request r (see gen_transform_write_request), with e (when not
 * NULL) applied to each part of m, r's message.
 */
static void
gx_write(struct buf *b, const struct snap_req *r,
    const struct transform_msg *m, const struct transform_edits *e,
    const char *host, const char *prefix)
{
	const char	*target = gen_transform_origin_form(r->target);
	struct buf	 part;
	struct span	 v;
	size_t		 i;

	buf_init(&part);
	buf_append_str(&part, prefix);
	if (e == NULL)
		buf_append_str(&part, target);
	else {
		transform_edits_render(&part, e, m, TRANSFORM_IN_PATH, 0);
		if (strchr(target, '?') != NULL) {
			buf_append_byte(&part, '?');
			transform_edits_render(&part, e, m, TRANSFORM_IN_QUERY,
			    0);
		}
	}
	http_write_request_line(b, span_from_str(r->method),
	    (struct span){ part.data, part.len });
	http_write_header(b, SPAN_LIT("Host"), span_from_str(host));
	for (i = 0; i < r->nheaders; i++) {
		/* "TE: trailers" is what a gRPC server asks of its client
		 * (h2 carries it; over HTTP/1.1 it is harmless). */
		if (gx_is_hop_header(r->headers[i].name) &&
		    !(strcasecmp(r->headers[i].name, "TE") == 0 &&
		    strcasecmp(r->headers[i].value, "trailers") == 0))
			continue;
		v = gx_part(&part, e, m, TRANSFORM_IN_HEADER, i,
		    span_from_str(r->headers[i].value));
		http_write_header(b, span_from_str(r->headers[i].name), v);
	}
	v = gx_part(&part, e, m, TRANSFORM_IN_BODY, 0,
	    (struct span){ r->body, r->body_len });
	if (gx_has_body(r->method, v.len))
		buf_printf(b, "Content-Length: %zu\r\n", v.len);
	buf_append_str(b, "\r\n");
	if (v.len > 0)
		buf_append(b, v.p, v.len);
	buf_free(&part);
}

void
gen_transform_write_request(struct buf *b, const struct snap_req *r,
    const char *host, const char *prefix)
{
	gx_write(b, r, NULL, NULL, host, prefix);
}

/* ---------------------------------------------------------------------- */
/* Which entries apply where. */

/* A value entry the generator applies to requests. */
static int
gx_value_sends(const struct transform_value *v)
{
	if (v->dir != SNAP_DIR_IN || v->where.res)
		return 0;
	return v->action == TRANSFORM_SHIFT ||
	    v->action == TRANSFORM_RESIGN || v->action == TRANSFORM_FRESH;
}

/* A value of the answers that is not compared (dir in, a response
 * location, any). */
static int
gx_value_volatile(const struct transform_value *v)
{
	return v->dir == SNAP_DIR_IN && v->where.res &&
	    v->action == TRANSFORM_ANY;
}

/* "req.header Authorization of GET /admin/audit" */
static void
gx_describe(struct buf *b, const struct transform_value *v)
{
	transform_loc_format(b, &v->where);
	buf_printf(b, " of %s %s", v->method != NULL ? v->method : "*",
	    v->route != NULL ? v->route : "*");
}

static const char *
gx_file(const struct gen_transform *gx)
{
	return gx->t->path != NULL ? gx->t->path : "transforms";
}

/* An alg name a key can be checked against: the entry's informative
 * format when it names one ("HS256", "RS512", "EdDSA", ...). */
static int
gx_is_alg(const char *s)
{
	static const char *const algs[] = { "HS256", "HS384", "HS512",
	    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
	    "ES384", "ES512", "EdDSA" };
	size_t	i;

	if (s == NULL)
		return 0;
	for (i = 0; i < sizeof algs / sizeof algs[0]; i++)
		if (strcmp(s, algs[i]) == 0)
			return 1;
	return 0;
}

struct gen_transform *
gen_transform_create(struct transforms *t, struct buf *warnings)
{
	struct gen_transform		*gx;
	const struct transform_value	*v;
	struct buf			 where;
	size_t				 i;

	gx = xcalloc(1, sizeof *gx);
	gx->t = t;
	gx->usable = xcalloc(t->nvalues + 1, 1);
	gx->warned = xcalloc(t->nvalues + 1, 1);
	buf_init(&where);
	for (i = 0; i < t->nvalues; i++) {
		v = &t->values[i];
		if (!gx_value_sends(v) || v->action != TRANSFORM_RESIGN) {
			gx->usable[i] = 1;
			continue;
		}
		buf_reset(&where);
		gx_describe(&where, v);
		if (v->key == NULL) {
			buf_printf(warnings, "%s:%zu: the JWT at %s cannot be "
			    "re-signed: no key (add keys: with secret_file); "
			    "sent as recorded\n", gx_file(gx), v->line,
			    where.data);
		} else if (v->key->key == NULL) {
			buf_printf(warnings, "%s:%zu: the JWT at %s cannot be "
			    "re-signed: key %s is not loaded; sent as "
			    "recorded\n", gx_file(gx), v->line, where.data,
			    v->key->name != NULL ? v->key->name : "?");
		} else if (gx_is_alg(v->format) &&
		    !jwt_key_fits(v->key->key, v->format)) {
			buf_printf(warnings, "%s:%zu: the JWT at %s cannot be "
			    "re-signed: key %s does not fit %s; sent as "
			    "recorded\n", gx_file(gx), v->line, where.data,
			    v->key->name != NULL ? v->key->name : "?",
			    v->format);
		} else
			gx->usable[i] = 1;
	}
	buf_free(&where);
	return gx;
}

void
gen_transform_free(struct gen_transform *gx)
{
	size_t	i, j;

	if (gx == NULL)
		return;
	for (i = 0; i < gx->ncmps; i++) {
		free(gx->cmps[i]->ents);
		for (j = 0; j < gx->cmps[i]->cmp.npaths; j++)
			free(gx->cmps[i]->cmp.paths[j]);
		free(gx->cmps[i]->cmp.paths);
		for (j = 0; j < gx->cmps[i]->cmp.nheaders; j++)
			free(gx->cmps[i]->cmp.headers[j]);
		free(gx->cmps[i]->cmp.headers);
		for (j = 0; j < gx->cmps[i]->cmp.ngrpc; j++)
			free(gx->cmps[i]->cmp.grpc[j]);
		free(gx->cmps[i]->cmp.grpc);
		free(gx->cmps[i]);
	}
	free(gx->cmps);
	free(gx->usable);
	free(gx->warned);
	transforms_free(gx->t);
	free(gx);
}

const struct transforms *
gen_transform_set(const struct gen_transform *gx)
{
	return gx->t;
}

int
gen_transform_has_corrs(const struct gen_transform *gx)
{
	return gx->t->ncorrs > 0;
}

int
gen_transform_flags(const struct gen_transform *gx, const struct snap_txn *t)
{
	const struct transforms		*tf = gx->t;
	const struct transform_value	*v;
	const struct transform_corr	*c;
	const struct transform_use	*u;
	struct transform_msg		 m;
	struct transform_hit		 hit;
	struct http_header		*hdrs;
	struct span			 method, path;
	size_t				 i, j;
	int				 flags = 0;

	if (t->dir != SNAP_DIR_IN)
		return 0;
	gx_endpoint(t, &method, &path);
	gen_transform_msg(t, 0, &m, &hdrs);
	for (i = 0; i < tf->nvalues && !(flags & GEN_TRANSFORM_BUILD); i++) {
		v = &tf->values[i];
		if (gx_value_sends(v) && transform_endpoint_match(v->method,
		    v->route, method, path) &&
		    transform_locate(&v->where, &m, &hit, 1) > 0)
			flags |= GEN_TRANSFORM_BUILD;
	}
	for (i = 0; i < tf->nvalues && t->has_res; i++) {
		v = &tf->values[i];
		if (gx_value_volatile(v) && transform_endpoint_match(v->method,
		    v->route, method, path))
			flags |= GEN_TRANSFORM_CAPTURE;
	}
	for (i = 0; i < tf->ncorrs; i++) {
		c = &tf->corrs[i];
		if (t->has_res && c->from.res && transform_endpoint_match(
		    c->from_method, c->from_route, method, path))
			flags |= GEN_TRANSFORM_CAPTURE;
		for (j = 0; j < c->nto && !(flags & GEN_TRANSFORM_BUILD);
		    j++) {
			u = &c->to[j];
			if (!u->where.res && transform_endpoint_match(
			    u->method, u->route, method, path) &&
			    transform_locate(&u->where, &m, &hit, 1) > 0)
				flags |= GEN_TRANSFORM_BUILD;
		}
	}
	free(hdrs);
	return flags;
}

static void
gx_list_add(char ***list, size_t *n, const char *s)
{
	size_t	i;

	for (i = 0; i < *n; i++)
		if (strcmp((*list)[i], s) == 0)
			return;
	*list = xreallocarray(*list, *n + 1, sizeof **list);
	(*list)[(*n)++] = xstrdup(s);
}

static void
gx_cmp_add_loc(struct gen_transform_cmp *cmp, const struct transform_loc *l)
{
	switch (l->part) {
	case TRANSFORM_BODY:
		if (l->name != NULL && l->name[0] == '$')
			gx_list_add(&cmp->paths, &cmp->npaths, l->name);
		break;
	case TRANSFORM_HEADER:
		if (l->name != NULL)
			gx_list_add(&cmp->headers, &cmp->nheaders, l->name);
		break;
	case TRANSFORM_SETCOOKIE:
		gx_list_add(&cmp->headers, &cmp->nheaders, "Set-Cookie");
		break;
	case TRANSFORM_GRPC:
		if (l->name != NULL)
			gx_list_add(&cmp->grpc, &cmp->ngrpc, l->name);
		break;
	default:
		/* Cookies, queries, paths and forms are not compared. */
		break;
	}
}

const struct gen_transform_cmp *
gen_transform_cmp(struct gen_transform *gx, const struct snap_txn *t)
{
	const struct transforms		*tf = gx->t;
	const struct transform_value	*v;
	const struct transform_corr	*c;
	struct gx_cmp			*xc;
	struct span			 method, path;
	size_t				*ents, n = 0, i;

	gx_endpoint(t, &method, &path);
	ents = xcalloc(tf->nvalues + tf->ncorrs + 1, sizeof *ents);
	for (i = 0; i < tf->nvalues; i++) {
		v = &tf->values[i];
		if (gx_value_volatile(v) && transform_endpoint_match(
		    v->method, v->route, method, path))
			ents[n++] = i;
	}
	for (i = 0; i < tf->ncorrs; i++) {
		c = &tf->corrs[i];
		if (c->from.res && transform_endpoint_match(c->from_method,
		    c->from_route, method, path))
			ents[n++] = tf->nvalues + i;
	}
	if (n == 0) {
		free(ents);
		return NULL;
	}
	for (i = 0; i < gx->ncmps; i++) {
		xc = gx->cmps[i];
		if (xc->nents == n &&
		    memcmp(xc->ents, ents, n * sizeof *ents) == 0) {
			free(ents);
			goto found;
		}
	}
	gx->cmps = xreallocarray(gx->cmps, gx->ncmps + 1, sizeof *gx->cmps);
	xc = gx->cmps[gx->ncmps++] = xcalloc(1, sizeof *xc);
	xc->ents = ents;
	xc->nents = n;
	for (i = 0; i < n; i++) {
		if (ents[i] < tf->nvalues)
			gx_cmp_add_loc(&xc->cmp, &tf->values[ents[i]].where);
		else
			gx_cmp_add_loc(&xc->cmp,
			    &tf->corrs[ents[i] - tf->nvalues].from);
	}
found:
	if (xc->cmp.npaths == 0 && xc->cmp.nheaders == 0 &&
	    xc->cmp.ngrpc == 0)
		return NULL;
	return &xc->cmp;
}

/*
 * Appends body with the values at cmp's grpc paths replaced by a mark
 * and, with map, each string field the map knows by its live value.
 */
static void
gx_grpc_masked(struct buf *out, const struct gen_transform_cmp *cmp,
    const struct gen_transform_map *map, struct span body)
{
	struct transform_hit	 hits[GX_MAX_HITS];
	struct transform_edits	 e;
	struct transform_msg	 m;
	struct transform_loc	 loc;
	struct span		 v;
	const char		*live;
	size_t			 i, k, n, livelen;

	memset(&m, 0, sizeof m);
	m.body = body;
	memset(&loc, 0, sizeof loc);
	loc.res = 1;
	loc.part = TRANSFORM_GRPC;
	transform_edits_init(&e);
	for (i = 0; cmp != NULL && i < cmp->ngrpc; i++) {
		loc.name = cmp->grpc[i];
		n = transform_locate(&loc, &m, hits, GX_MAX_HITS);
		for (k = 0; k < n; k++)
			transform_edits_add(&e, &hits[k], "\x01", 1);
	}
	n = map != NULL && map->n > 0 ? transform_grpc_strings(body, hits,
	    GX_MAX_HITS) : 0;
	for (k = 0; k < n; k++) {
		v = transform_hit_raw(&m, &hits[k]);
		if (v.len > 0 && (live = gen_transform_map_get(map, v.p, v.len,
		    &livelen)) != NULL)
			transform_edits_add(&e, &hits[k], live, livelen);
	}
	transform_edits_render(out, &e, &m, TRANSFORM_IN_BODY, 0);
	transform_edits_free(&e);
}

int
gen_transform_grpc_same(const struct gen_transform_cmp *cmp,
    const struct gen_transform_map *map, struct span rec, struct span live)
{
	struct buf	a, b;
	int		same;

	if ((cmp == NULL || cmp->ngrpc == 0) && (map == NULL || map->n == 0))
		return 0;
	buf_init(&a);
	buf_init(&b);
	gx_grpc_masked(&a, cmp, map, rec);
	gx_grpc_masked(&b, cmp, NULL, live);
	same = a.len == b.len && (a.len == 0 || memcmp(a.data, b.data,
	    a.len) == 0);
	buf_free(&a);
	buf_free(&b);
	return same;
}

/* ---------------------------------------------------------------------- */
/* New values. */

/* Appends timestamp v[0..len) moved by shift_us in its own layout; 0
 * when v is not a timestamp (left as recorded). */
static int
gx_shift(struct buf *out, const char *v, size_t len, int64_t shift_us)
{
	struct shape_opts	o = { GX_EPOCH_LO_US, GX_EPOCH_HI_US };
	struct shape		sh;
	struct shape_time	tm;

	if (shape_classify(v, len, &o, &sh) == SHAPE_TIME)
		tm = sh.time;
	else if (shape_time_parse(v, len, &tm) == -1)
		return 0;
	shape_time_format(out, &tm, tm.us + shift_us);
	return 1;
}

/* A value of no known shape: the same length and character classes (hex
 * stays hex of the same case; else digits, lower and upper case letters
 * each stay what they were; other bytes are kept). */
static void
gx_fresh_like(struct buf *out, const char *v, size_t len, uint64_t *rng)
{
	static const char lower[] = "abcdefghijklmnopqrstuvwxyz";
	static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	static const char hexl[] = "0123456789abcdef";
	static const char hexu[] = "0123456789ABCDEF";
	size_t		i;
	int		hl = 1, hu = 1;
	unsigned char	ch;

	for (i = 0; i < len; i++) {
		ch = (unsigned char)v[i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			hl = 0;
		if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'F')))
			hu = 0;
	}
	for (i = 0; i < len; i++) {
		ch = (unsigned char)v[i];
		if (hl && len > 1)
			ch = (unsigned char)hexl[shape_rand(rng) % 16];
		else if (hu && len > 1)
			ch = (unsigned char)hexu[shape_rand(rng) % 16];
		else if (ch >= '0' && ch <= '9')
			ch = (unsigned char)('0' + shape_rand(rng) % 10);
		else if (ch >= 'a' && ch <= 'z')
			ch = (unsigned char)lower[shape_rand(rng) % 26];
		else if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)upper[shape_rand(rng) % 26];
		buf_append_byte(out, (char)ch);
	}
}

static int64_t
gx_round_s(int64_t us)
{
	if (us >= 0)
		return (us + 500000) / 1000000;
	return -((-us + 500000) / 1000000);
}

/* Appends the value entry i sends in place of v[0..len); 0 when it is
 * sent as recorded. */
static int
gx_value_new(struct gen_transform *gx, size_t i, const char *v, size_t len,
    const struct gen_transform_send *s, struct buf *out)
{
	const struct transform_value	*tv = &gx->t->values[i];
	struct shape_opts		 o = { GX_EPOCH_LO_US, GX_EPOCH_HI_US };
	struct shape			 sh;
	struct buf			 where;
	int64_t				 shift = s->rec_us >= 0 ?
					    s->now_us - s->rec_us : 0;
	char				*cause = NULL;

	switch (tv->action) {
	case TRANSFORM_SHIFT:
		return gx_shift(out, v, len, shift);
	case TRANSFORM_RESIGN:
		if (!gx->usable[i])
			return 0;	/* warned at start */
		if (jwt_resign(out, v, len, gx_round_s(shift), tv->claims,
		    tv->nclaims, tv->key->key, &cause) == 0)
			return 1;
		if (!gx->warned[i]) {
			gx->warned[i] = 1;
			buf_init(&where);
			gx_describe(&where, tv);
			log_warn("%s:%zu: the JWT at %s could not be re-signed: "
			    "%s; sent as recorded", gx_file(gx), tv->line,
			    where.data, cause);
			buf_free(&where);
		}
		free(cause);
		return 0;
	case TRANSFORM_FRESH:
		switch (shape_classify(v, len, &o, &sh)) {
		case SHAPE_JWT:
			return 0;	/* needs a key: resign's work */
		case SHAPE_NONE:
			if (len == 0)
				return 0;
			gx_fresh_like(out, v, len, s->rng);
			return 1;
		default:
			shape_fresh(out, &sh, v, len, s->now_us, s->rng);
			return 1;
		}
	default:
		return 0;
	}
}

size_t
gen_transform_request(struct gen_transform *gx, const struct snap_txn *t,
    const char *host, const char *prefix, const struct gen_transform_send *s,
    struct buf *out)
{
	const struct transforms		*tf = gx->t;
	const struct transform_value	*v;
	const struct transform_corr	*c;
	const struct transform_use	*u;
	struct transform_hit		 hits[GX_MAX_HITS];
	struct transform_msg		 m;
	struct transform_edits		 e;
	struct http_header		*hdrs;
	struct span			 method, path;
	struct buf			 val, nv;
	const char			*live;
	size_t				 i, j, k, n, livelen, nedits;

	gx_endpoint(t, &method, &path);
	gen_transform_msg(t, 0, &m, &hdrs);
	transform_edits_init(&e);
	buf_init(&val);
	buf_init(&nv);

	/* Correlations first: a queued edit wins over a later one at the
	 * same place. */
	for (i = 0; s->map != NULL && s->map->n > 0 && i < tf->ncorrs; i++) {
		c = &tf->corrs[i];
		for (j = 0; j < c->nto; j++) {
			u = &c->to[j];
			if (u->where.res || !transform_endpoint_match(
			    u->method, u->route, method, path))
				continue;
			n = transform_locate(&u->where, &m, hits, GX_MAX_HITS);
			for (k = 0; k < n; k++) {
				buf_reset(&val);
				transform_hit_value(&val, &m, &hits[k]);
				if (val.len == 0)
					continue;
				live = gen_transform_map_get(s->map, val.data,
				    val.len, &livelen);
				if (live == NULL || (livelen == val.len &&
				    memcmp(live, val.data, livelen) == 0))
					continue;
				transform_edits_add(&e, &hits[k], live,
				    livelen);
			}
		}
	}
	for (i = 0; i < tf->nvalues; i++) {
		v = &tf->values[i];
		if (!gx_value_sends(v) || !transform_endpoint_match(v->method,
		    v->route, method, path))
			continue;
		n = transform_locate(&v->where, &m, hits, GX_MAX_HITS);
		for (k = 0; k < n; k++) {
			buf_reset(&val);
			transform_hit_value(&val, &m, &hits[k]);
			buf_reset(&nv);
			if (gx_value_new(gx, i, val.data != NULL ? val.data :
			    "", val.len, s, &nv) == 1)
				transform_edits_add(&e, &hits[k],
				    nv.data != NULL ? nv.data : "", nv.len);
		}
	}
	nedits = e.n;
	if (nedits == 0)
		gen_transform_write_request(out, &t->req, host, prefix);
	else
		gx_write(out, &t->req, &m, &e, host, prefix);
	buf_free(&val);
	buf_free(&nv);
	transform_edits_free(&e);
	free(hdrs);
	return nedits;
}

/* Maps the values at loc in the recorded answer rm to those at loc in
 * the live one, pairwise; returns how many differed. */
static size_t
gx_capture_loc(const struct transform_loc *loc, const struct transform_msg *rm,
    const struct transform_msg *live, struct gen_transform_map *map)
{
	struct transform_hit	rh[GX_MAX_HITS], lh[GX_MAX_HITS];
	struct buf		rv, lv;
	size_t			k, nr, nl, mapped = 0;

	nr = transform_locate(loc, rm, rh, GX_MAX_HITS);
	nl = transform_locate(loc, live, lh, GX_MAX_HITS);
	buf_init(&rv);
	buf_init(&lv);
	for (k = 0; k < nr && k < nl; k++) {
		buf_reset(&rv);
		buf_reset(&lv);
		transform_hit_value(&rv, rm, &rh[k]);
		transform_hit_value(&lv, live, &lh[k]);
		if (rv.len == 0 || (rv.len == lv.len &&
		    memcmp(rv.data, lv.data, rv.len) == 0))
			continue;
		gen_transform_map_set(map, rv.data, rv.len,
		    lv.data != NULL ? lv.data : "", lv.len);
		mapped++;
	}
	buf_free(&rv);
	buf_free(&lv);
	return mapped;
}

size_t
gen_transform_capture(const struct gen_transform *gx, const struct snap_txn *t,
    const struct transform_msg *live, struct gen_transform_map *map)
{
	const struct transforms		*tf = gx->t;
	const struct transform_value	*v;
	const struct transform_corr	*c;
	struct transform_msg		 rm;
	struct http_header		*hdrs;
	struct span			 method, path;
	size_t				 i, mapped = 0;

	if (!t->has_res || map == NULL)
		return 0;
	gx_endpoint(t, &method, &path);
	gen_transform_msg(t, 1, &rm, &hdrs);
	for (i = 0; i < tf->ncorrs; i++) {
		c = &tf->corrs[i];
		if (c->from.res && transform_endpoint_match(c->from_method,
		    c->from_route, method, path))
			mapped += gx_capture_loc(&c->from, &rm, live, map);
	}
	/* The values not compared, too: a later answer that repeats one
	 * (a ledger entry id read back) compares through the map. */
	for (i = 0; i < tf->nvalues; i++) {
		v = &tf->values[i];
		if (gx_value_volatile(v) && transform_endpoint_match(v->method,
		    v->route, method, path))
			mapped += gx_capture_loc(&v->where, &rm, live, map);
	}
	free(hdrs);
	return mapped;
}

/* ---------------------------------------------------------------------- */
/* The map: open addressing, linear probing, FNV-1a (hash.h). */

struct gen_transform_map *
gen_transform_map_create(void)
{
	return xcalloc(1, sizeof(struct gen_transform_map));
}

void
gen_transform_map_free(struct gen_transform_map *map)
{
	size_t	i;

	if (map == NULL)
		return;
	for (i = 0; i < map->cap; i++) {
		free(map->v[i].rec);
		free(map->v[i].live);
	}
	free(map->v);
	free(map);
}

static struct gx_map_entry *
gx_map_slot(const struct gen_transform_map *map, const char *v, size_t len,
    uint64_t h)
{
	struct gx_map_entry	*e;
	size_t			 i;

	for (i = h & (map->cap - 1);; i = (i + 1) & (map->cap - 1)) {
		e = &map->v[i];
		if (e->rec == NULL || (e->hash == h && e->reclen == len &&
		    memcmp(e->rec, v, len) == 0))
			return e;
	}
}

const char *
gen_transform_map_get(const struct gen_transform_map *map, const char *v,
    size_t len, size_t *livelen)
{
	struct gx_map_entry	*e;

	if (map == NULL || map->n == 0)
		return NULL;
	e = gx_map_slot(map, v, len, hash_fnv1a(v, len));
	if (e->rec == NULL)
		return NULL;
	*livelen = e->livelen;
	return e->live;
}

void
gen_transform_map_set(struct gen_transform_map *map, const char *rec,
    size_t reclen, const char *live, size_t livelen)
{
	struct gx_map_entry	*e, *old;
	size_t			 oldcap, i;
	uint64_t		 h = hash_fnv1a(rec, reclen);

	if ((map->n + 1) * 2 > map->cap) {
		old = map->v;
		oldcap = map->cap;
		map->cap = oldcap == 0 ? 16 : oldcap * 2;
		map->v = xcalloc(map->cap, sizeof *map->v);
		for (i = 0; i < oldcap; i++) {
			if (old[i].rec == NULL)
				continue;
			e = gx_map_slot(map, old[i].rec, old[i].reclen,
			    old[i].hash);
			*e = old[i];
		}
		free(old);
	}
	e = gx_map_slot(map, rec, reclen, h);
	if (e->rec == NULL) {
		e->rec = xmalloc(reclen + 1);
		memcpy(e->rec, rec, reclen);
		e->rec[reclen] = '\0';
		e->reclen = reclen;
		e->hash = h;
		map->n++;
	} else
		free(e->live);
	e->live = xmalloc(livelen + 1);
	memcpy(e->live, live, livelen);
	e->live[livelen] = '\0';
	e->livelen = livelen;
}

size_t
gen_transform_map_count(const struct gen_transform_map *map)
{
	return map != NULL ? map->n : 0;
}
