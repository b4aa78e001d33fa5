/*
 * analyze-rate.c -- `decoy analyze --match-rate`: predicts offline which
 * outbound requests a live run would miss in the responder, without and
 * with the transforms (analyze.h).
 *
 * Two responder indexes are built from the recording's dir-out
 * transactions, one plain and one with the transforms (typed matching of
 * the volatile request locations, match_index_set_transforms).  Then, for
 * every dir-out transaction in recorded order, the request a live run
 * would send is made: each value at a location the transforms call
 * volatile in outbound requests (action any) replaced by a fresh value of
 * the same format, as of the simulated instant (a JWT gets a new
 * signature: a live token differs from the recorded one).  It is looked
 * up in both indexes; a miss is put down to the kinds of the values that
 * changed (timestamp, id, nonce, jwt), or "unknown" when none did (the
 * recorded request itself cannot be matched).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyze.h"
#include "buf.h"
#include "http.h"
#include "match.h"
#include "route.h"
#include "shape.h"
#include "snap.h"
#include "transform.h"
#include "xmalloc.h"

#define RATE_HITS	16	/* values located per location */
#define RATE_FIXES	8	/* fixing transforms named per endpoint */

enum rate_class {
	RATE_TIMESTAMP,
	RATE_ID,
	RATE_NONCE,
	RATE_JWT,
	RATE_UNKNOWN,
	RATE_NCLASSES
};

static const char *const rate_class_names[RATE_NCLASSES] = {
	"timestamp", "id", "nonce", "jwt", "unknown",
};

struct rate_ep {
	char		*method;
	char		*route;
	uint64_t	 requests;
	uint64_t	 miss[2];		/* without, with */
	uint64_t	 cls[2][RATE_NCLASSES];
	size_t		 fixes[RATE_FIXES];	/* value indexes */
	size_t		 nfixes;
};

struct analyze_rate {
	const struct transforms	*t;
	struct match_index	*idx[2];	/* without, with */
	int			 finished;
	int64_t			 now_us;
	uint64_t		 rng;
	struct shape_opts	 wide;

	struct rate_ep		*eps;
	size_t			 neps;
	size_t			 epcap;

	struct http_header	*hdrs;
	size_t			 hdrcap;
	struct transform_edits	 edits;
	struct buf		 route, val, fresh, path, query, body;
	size_t			 changed[64];	/* values changed, this txn */
	size_t			 nchanged;
	uint64_t		 skipped;	/* without a response */
};

struct analyze_rate *
analyze_rate_create(const struct transforms *t, int64_t now_us, uint64_t seed)
{
	struct analyze_rate	*r = xcalloc(1, sizeof *r);

	r->t = t;
	r->now_us = now_us;
	r->rng = seed;
	r->wide.epoch_lo_us = INT64_C(978307200) * 1000000;
	r->wide.epoch_hi_us = INT64_C(4102444800) * 1000000;
	r->idx[0] = match_index_create();
	r->idx[1] = match_index_create();
	match_index_set_transforms(r->idx[1], t);
	transform_edits_init(&r->edits);
	buf_init(&r->route);
	buf_init(&r->val);
	buf_init(&r->fresh);
	buf_init(&r->path);
	buf_init(&r->query);
	buf_init(&r->body);
	return r;
}

void
analyze_rate_index(struct analyze_rate *r, const struct snap_txn *t)
{
	char	*cause = NULL;
	int	 i;

	if (t->dir != SNAP_DIR_OUT || !t->has_res)
		return;
	for (i = 0; i < 2; i++) {
		if (match_index_add(r->idx[i], t, &cause) == -1) {
			free(cause);
			cause = NULL;
		}
	}
}

static struct rate_ep *
rate_ep_get(struct analyze_rate *r, const char *method, const char *route)
{
	struct rate_ep	*e;
	size_t		 i;

	for (i = 0; i < r->neps; i++) {
		if (strcmp(r->eps[i].method, method) == 0 &&
		    strcmp(r->eps[i].route, route) == 0)
			return &r->eps[i];
	}
	if (r->neps == r->epcap) {
		r->epcap = r->epcap == 0 ? 16 : r->epcap * 2;
		r->eps = xreallocarray(r->eps, r->epcap, sizeof *r->eps);
	}
	e = &r->eps[r->neps++];
	memset(e, 0, sizeof *e);
	e->method = xstrdup(method);
	e->route = xstrdup(route);
	return e;
}

static int
rate_name_is_nonce(const char *s)
{
	static const char *const words[] = {
		"nonce", "idempot", "request-id", "request_id", "requestid",
		"signature", "jti",
	};
	size_t	i;

	for (i = 0; s != NULL && i < sizeof words / sizeof words[0]; i++) {
		if (strcasestr(s, words[i]) != NULL)
			return 1;
	}
	return 0;
}

static enum rate_class
rate_class_of(const struct transform_value *v)
{
	switch (v->kind) {
	case SHAPE_TIME:
		return RATE_TIMESTAMP;
	case SHAPE_JWT:
		return RATE_JWT;
	case SHAPE_UUID:
	case SHAPE_ULID:
		return rate_name_is_nonce(v->where.name) ? RATE_NONCE : RATE_ID;
	case SHAPE_HEX:
	case SHAPE_B64:
		return RATE_NONCE;
	default:
		return RATE_UNKNOWN;
	}
}

/*
 * A value a live run would send instead of v[0..len): fresh, same
 * format; a JWT keeps its header and claims and gets a new signature.
 * 0 when there is nothing to replace.
 */
static int
rate_fresh(struct analyze_rate *r, const char *v, size_t len)
{
	struct shape	 sh, b64;
	const char	*dot;

	buf_reset(&r->fresh);
	if (shape_classify(v, len, &r->wide, &sh) == SHAPE_NONE)
		return 0;
	if (sh.kind == SHAPE_JWT) {
		dot = memrchr(v, '.', len);
		if (dot == NULL)
			return 0;
		buf_append(&r->fresh, v, (size_t)(dot - v) + 1);
		memset(&b64, 0, sizeof b64);
		b64.kind = SHAPE_B64;
		b64.url = 1;
		if (dot + 1 < v + len)
			shape_fresh(&r->fresh, &b64, dot + 1,
			    (size_t)(v + len - dot - 1), r->now_us, &r->rng);
		else
			buf_append_str(&r->fresh, "live");
		return 1;
	}
	shape_fresh(&r->fresh, &sh, v, len, r->now_us, &r->rng);
	return r->fresh.len != len || memcmp(r->fresh.data, v, len) != 0;
}

static void
rate_count(struct rate_ep *e, int with, const struct analyze_rate *r)
{
	const struct transform_value	*v;
	uint8_t				 seen[RATE_NCLASSES] = { 0 };
	size_t				 i, j;

	e->miss[with]++;
	if (r->nchanged == 0) {
		e->cls[with][RATE_UNKNOWN]++;
		return;
	}
	for (i = 0; i < r->nchanged; i++) {
		v = &r->t->values[r->changed[i]];
		seen[rate_class_of(v)] = 1;
		if (with)
			continue;
		for (j = 0; j < e->nfixes; j++) {
			if (e->fixes[j] == r->changed[i])
				break;
		}
		if (j == e->nfixes && e->nfixes < RATE_FIXES)
			e->fixes[e->nfixes++] = r->changed[i];
	}
	for (i = 0; i < RATE_NCLASSES; i++)
		e->cls[with][i] += seen[i];
}

void
analyze_rate_check(struct analyze_rate *r, const struct snap_txn *t)
{
	const struct transform_value	*v;
	struct transform_hit		 hits[RATE_HITS];
	struct transform_msg		 m;
	struct match_req		 q;
	struct rate_ep			*e;
	struct span			 path, query;
	const char			*host = NULL, *ct = NULL;
	size_t				 i, j, n;
	int				 with;

	if (t->dir != SNAP_DIR_OUT)
		return;
	if (!t->has_res) {
		r->skipped++;
		return;
	}
	if (!r->finished) {
		match_index_finish(r->idx[0], 1);
		match_index_finish(r->idx[1], 1);
		r->finished = 1;
	}
	route_split_target(t->req.target, NULL, &path, &query);
	buf_reset(&r->route);
	transform_route(&r->route, path.p, path.len);
	e = rate_ep_get(r, t->req.method, r->route.data);
	e->requests++;

	if (r->hdrcap < t->req.nheaders) {
		r->hdrcap = t->req.nheaders;
		r->hdrs = xreallocarray(r->hdrs, r->hdrcap, sizeof *r->hdrs);
	}
	for (i = 0; i < t->req.nheaders; i++) {
		r->hdrs[i].name = span_from_str(t->req.headers[i].name);
		r->hdrs[i].value = span_from_str(t->req.headers[i].value);
		if (strcasecmp(t->req.headers[i].name, "host") == 0 &&
		    host == NULL)
			host = t->req.headers[i].value;
		if (strcasecmp(t->req.headers[i].name, "content-type") == 0 &&
		    ct == NULL)
			ct = t->req.headers[i].value;
	}
	memset(&m, 0, sizeof m);
	m.path = path;
	m.query = query;
	m.headers = r->hdrs;
	m.nheaders = t->req.nheaders;
	m.body = (struct span){ t->req.body == NULL ? "" : t->req.body,
	    t->req.body_len };

	/* The live request: every outbound volatile value made fresh. */
	transform_edits_reset(&r->edits);
	r->nchanged = 0;
	for (i = 0; i < r->t->nvalues; i++) {
		v = &r->t->values[i];
		/* Headers are not part of a request's signature
		 * (match.h): a new value there cannot make it miss. */
		if (v->dir != SNAP_DIR_OUT || v->where.res ||
		    v->action != TRANSFORM_ANY ||
		    v->where.part == TRANSFORM_HEADER ||
		    !transform_endpoint_match(v->method, v->route,
		    span_from_str(t->req.method), path))
			continue;
		n = transform_locate(&v->where, &m, hits, RATE_HITS);
		for (j = 0; j < n; j++) {
			buf_reset(&r->val);
			transform_hit_value(&r->val, &m, &hits[j]);
			if (!rate_fresh(r, r->val.data == NULL ? "" :
			    r->val.data, r->val.len))
				continue;
			transform_edits_add(&r->edits, &hits[j],
			    r->fresh.data, r->fresh.len);
			if (r->nchanged < sizeof r->changed /
			    sizeof r->changed[0] && (r->nchanged == 0 ||
			    r->changed[r->nchanged - 1] != i))
				r->changed[r->nchanged++] = i;
		}
	}
	buf_reset(&r->path);
	buf_reset(&r->query);
	buf_reset(&r->body);
	transform_edits_render(&r->path, &r->edits, &m, TRANSFORM_IN_PATH, 0);
	transform_edits_render(&r->query, &r->edits, &m, TRANSFORM_IN_QUERY,
	    0);
	transform_edits_render(&r->body, &r->edits, &m, TRANSFORM_IN_BODY, 0);

	memset(&q, 0, sizeof q);
	q.method = span_from_str(t->req.method);
	if (t->req.host != NULL)
		q.host = span_from_str(t->req.host);
	else if (host != NULL)
		q.host = span_from_str(host);
	q.path = (struct span){ r->path.data == NULL ? "" : r->path.data,
	    r->path.len };
	q.query = (struct span){ r->query.data == NULL ? "" : r->query.data,
	    r->query.len };
	if (ct != NULL)
		q.content_type = span_from_str(ct);
	q.body = r->body.data;
	q.body_len = r->body.len;
	for (with = 0; with < 2; with++) {
		if (match_lookup(r->idx[with], &q, NULL, NULL) == NULL)
			rate_count(e, with, r);
	}
}

static int
rate_cmp_ep(const void *x, const void *y)
{
	const struct rate_ep	*a = x, *b = y;
	int			 c;

	if ((c = strcmp(a->route, b->route)) != 0)
		return c;
	return strcmp(a->method, b->method);
}

static void
rate_classes(struct buf *b, const uint64_t *cls)
{
	const char	*sep = "";
	size_t		 i;

	for (i = 0; i < RATE_NCLASSES; i++) {
		if (cls[i] == 0)
			continue;
		buf_printf(b, "%s%s %" PRIu64, sep, rate_class_names[i],
		    cls[i]);
		sep = ", ";
	}
}

void
analyze_rate_report(struct buf *out, struct analyze_rate *r)
{
	const struct transform_value	*v;
	struct rate_ep			*e;
	struct buf			 cause;
	uint64_t			 req, m0, m1;
	size_t				 i, j;
	int				 w = 8;

	if (r->neps > 1)
		qsort(r->eps, r->neps, sizeof *r->eps, rate_cmp_ep);
	for (i = 0; i < r->neps; i++) {
		e = &r->eps[i];
		j = strlen(e->method) + 1 + strlen(e->route);
		if ((int)j > w)
			w = (int)j;
	}
	buf_printf(out, "%-*s  %8s  %12s  %9s  %s\n", w, "ENDPOINT",
	    "REQUESTS", "MISS-WITHOUT", "MISS-WITH", "MISSES");
	buf_init(&cause);
	for (i = 0; i < r->neps; i++) {
		e = &r->eps[i];
		buf_reset(&cause);
		buf_printf(&cause, "%s %s", e->method, e->route);
		buf_printf(out, "%-*s  %8" PRIu64 "  %12" PRIu64 "  %9" PRIu64
		    "  ", w, cause.data, e->requests, e->miss[0], e->miss[1]);
		buf_reset(&cause);
		if (e->miss[0] > 0) {
			buf_append_str(&cause, "without: ");
			rate_classes(&cause, e->cls[0]);
			if (e->nfixes > 0)
				buf_append_str(&cause, " (fixed by");
			for (j = 0; j < e->nfixes; j++) {
				v = &r->t->values[e->fixes[j]];
				buf_printf(&cause, "%s %s on ", j == 0 ? "" :
				    ",", transform_action_name(v->action));
				transform_loc_format(&cause, &v->where);
			}
			if (e->nfixes > 0)
				buf_append_byte(&cause, ')');
		}
		if (e->miss[1] > 0) {
			buf_append_str(&cause, cause.len > 0 ? "; with: " :
			    "with: ");
			rate_classes(&cause, e->cls[1]);
		}
		if (cause.len == 0)
			buf_append_str(&cause, "-");
		buf_append_span(out, (struct span){ cause.data, cause.len });
		buf_append_byte(out, '\n');
	}
	buf_free(&cause);
	analyze_rate_totals(r, &req, &m0, &m1);
	buf_printf(out, "summary: %" PRIu64 " outbound request%s, %" PRIu64
	    " would miss without the transforms, %" PRIu64 " with them",
	    req, req == 1 ? "" : "s", m0, m1);
	if (r->skipped > 0)
		buf_printf(out, " (%" PRIu64 " without a recorded response "
		    "not counted)", r->skipped);
	buf_append_byte(out, '\n');
}

void
analyze_rate_totals(const struct analyze_rate *r, uint64_t *requests,
    uint64_t *miss_without, uint64_t *miss_with)
{
	size_t	i;

	*requests = *miss_without = *miss_with = 0;
	for (i = 0; i < r->neps; i++) {
		*requests += r->eps[i].requests;
		*miss_without += r->eps[i].miss[0];
		*miss_with += r->eps[i].miss[1];
	}
}

void
analyze_rate_free(struct analyze_rate *r)
{
	size_t	i;

	if (r == NULL)
		return;
	match_index_free(r->idx[0]);
	match_index_free(r->idx[1]);
	for (i = 0; i < r->neps; i++) {
		free(r->eps[i].method);
		free(r->eps[i].route);
	}
	free(r->eps);
	free(r->hdrs);
	transform_edits_free(&r->edits);
	buf_free(&r->route);
	buf_free(&r->val);
	buf_free(&r->fresh);
	buf_free(&r->path);
	buf_free(&r->query);
	buf_free(&r->body);
	free(r);
}
