/*
 * inspect.c -- what flows through a snapshot (inspect.h).
 *
 * One pass over the snapshot fills, per direction, a table of exact
 * endpoints (method, host for out, path) holding their samples, and a
 * route set learning the paths.  Then every exact endpoint is merged into
 * the row of its template, and each row's samples are sorted by start to
 * cut the time view: buckets of interval_us from the first transaction's
 * start.  Hash tables keep items in insertion order with an index of
 * slots, so a large snapshot costs one pass.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "chart.h"
#include "grpc.h"
#include "protobuf.h"
#include "protodesc.h"
#include "hash.h"
#include "inspect.h"
#include "json.h"
#include "route.h"
#include "snap.h"
#include "snap-ids.h"
#include "xmalloc.h"

/* Status classes of the time view: no response, 1xx ... 5xx. */
#define INSPECT_NCLASS	6
static const char *const inspect_class_names[INSPECT_NCLASS] = {
	"none", "1xx", "2xx", "3xx", "4xx", "5xx"
};

struct inspect_status {
	int	 status;	/* 0: no response recorded */
	size_t	 count;
};

struct inspect_sample {
	int64_t	start_us;	/* -1: not recorded */
	int64_t	total_us;	/* -1: not recorded */
	int	status;		/* 0: no response */
};

/* One interval of the time view. */
struct inspect_bucket {
	uint64_t	count;
	int64_t		p50_us, p99_us;		/* -1: no latency */
	uint64_t	cls[INSPECT_NCLASS];
};

struct inspect_item {
	char			*key;		/* method NUL host NUL path */
	size_t			 keylen;
	const char		*method;	/* point into key */
	const char		*host;
	const char		*path;
	size_t			 count;
	size_t			 npaths;	/* distinct paths merged */
	struct inspect_status	*status;
	size_t			 nstatus;
	struct inspect_sample	*s;
	size_t			 ns, scap;
	int64_t			*lat;		/* sorted latencies */
	size_t			 nlat;
	struct inspect_bucket	*tl;		/* nbuckets of the time view */
};

/* Items in insertion order, found by key through an index hash. */
struct inspect_table {
	struct inspect_item	*items;
	size_t			 n;
	size_t			 cap;
	size_t			*slots;		/* item index + 1; 0 is empty */
	size_t			 nslots;
};

/* One gRPC method: its calls by grpc-status (codes[GRPC_CODE_MAX + 1]:
 * none recorded, or not a code). */
struct inspect_grpc {
	char			*service;
	char			*method;
	size_t			 count;
	size_t			 codes[GRPC_CODE_MAX + 2];
	/* With a descriptor set that knows the method: its types
	 * ("shop.Get -> stream shop.User") and its first call's first
	 * messages (named or numeric views), else NULL. */
	char			*types;
	const struct protodesc_method *pm;
	char			*sample[2];	/* request, response */
};

struct inspect_dir {
	struct inspect_grpc	*grpc;		/* in order of first call */
	size_t			 ngrpc;
	size_t			 count;
	struct inspect_table	 hosts;
	struct inspect_table	 endpoints;
	struct inspect_item	 all;		/* every sample of the direction */
	struct route_set	*routes;
};

#define INSPECT_ID_EXAMPLES	5

struct inspect {
	char			*file;
	struct snap_ids		*ids;		/* with their first line */
	uint64_t		 repeated;	/* transactions whose id came
						   before */
	struct buf		 examples;	/* "id (lines A, B)", ... */
	size_t			 nexamples;
	struct inspect_dir	 dirs[2];	/* by enum snap_dir */
	int64_t			 t0_us, t1_us;	/* first and last start */
	int			 have_time;
	uint64_t		 interval_us;
	size_t			 nbuckets;
	struct inspect_opts	 opts;
};

static void
inspect_item_clear(struct inspect_item *it)
{
	free(it->status);
	free(it->s);
	free(it->lat);
	free(it->tl);
}

static void
inspect_table_grow(struct inspect_table *tb)
{
	size_t	i, j, nslots = tb->nslots == 0 ? 64 : tb->nslots * 2;

	free(tb->slots);
	tb->slots = xcalloc(nslots, sizeof *tb->slots);
	tb->nslots = nslots;
	for (i = 0; i < tb->n; i++) {
		j = hash_fnv1a(tb->items[i].key, tb->items[i].keylen) &
		    (nslots - 1);
		while (tb->slots[j] != 0)
			j = (j + 1) & (nslots - 1);
		tb->slots[j] = i + 1;
	}
}

/* Finds or adds the item for key[0..len) (three NUL-separated parts). */
static struct inspect_item *
inspect_table_get(struct inspect_table *tb, const char *key, size_t len)
{
	struct inspect_item	*it;
	size_t			 j;

	if ((tb->n + 1) * 2 > tb->nslots)
		inspect_table_grow(tb);
	j = hash_fnv1a(key, len) & (tb->nslots - 1);
	while (tb->slots[j] != 0) {
		it = &tb->items[tb->slots[j] - 1];
		if (it->keylen == len && memcmp(it->key, key, len) == 0)
			return it;
		j = (j + 1) & (tb->nslots - 1);
	}
	if (tb->n == tb->cap) {
		tb->cap = tb->cap == 0 ? 16 : tb->cap * 2;
		tb->items = xreallocarray(tb->items, tb->cap, sizeof *tb->items);
	}
	it = &tb->items[tb->n];
	memset(it, 0, sizeof *it);
	it->key = xmalloc(len + 1);
	memcpy(it->key, key, len);
	it->key[len] = '\0';
	it->keylen = len;
	it->method = it->key;
	it->host = it->method + strlen(it->method) + 1;
	it->path = it->host + strlen(it->host) + 1;
	tb->slots[j] = ++tb->n;
	return it;
}

static void
inspect_table_free(struct inspect_table *tb)
{
	size_t	i;

	for (i = 0; i < tb->n; i++) {
		free(tb->items[i].key);
		inspect_item_clear(&tb->items[i]);
	}
	free(tb->items);
	free(tb->slots);
}

/*
 * The host a request went to: the recorded host, else its Host header,
 * else the authority of an absolute-form target, else the server address.
 */
static struct span
inspect_host(const struct snap_txn *t)
{
	struct span	 auth, path, query;
	size_t		 i;

	if (t->req.host != NULL && *t->req.host != '\0')
		return span_from_str(t->req.host);
	for (i = 0; i < t->req.nheaders; i++) {
		if (strcasecmp(t->req.headers[i].name, "host") == 0 &&
		    *t->req.headers[i].value != '\0')
			return span_from_str(t->req.headers[i].value);
	}
	route_split_target(t->req.target, &auth, &path, &query);
	if (auth.len > 0)
		return auth;
	if (t->server != NULL && *t->server != '\0')
		return span_from_str(t->server);
	return SPAN_LIT("-");
}

/* The target's path: no scheme or authority, no query, no fragment. */
static struct span
inspect_path(const char *target)
{
	struct span	auth, path, query;

	route_split_target(target, &auth, &path, &query);
	/* An absolute-form target without a path asks for "/". */
	if (auth.p != NULL && path.len == 0)
		return SPAN_LIT("/");
	return path;
}

static int
inspect_cmp_item(const void *a, const void *b)
{
	const struct inspect_item	*x = a, *y = b;
	int				 c;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if ((c = strcmp(x->path, y->path)) != 0)
		return c;
	if ((c = strcmp(x->host, y->host)) != 0)
		return c;
	return strcmp(x->method, y->method);
}

static int
inspect_cmp_status(const void *a, const void *b)
{
	const struct inspect_status	*x = a, *y = b;

	return (x->status > y->status) - (x->status < y->status);
}

static int
inspect_cmp_i64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of the sorted v[0..n), n > 0. */
static int64_t
inspect_percentile(const int64_t *v, size_t n, unsigned int pct)
{
	size_t	rank = (n * pct + 99) / 100;

	return v[rank == 0 ? 0 : rank - 1];
}

/* Copies s with control characters replaced, so a recorded value cannot
 * drive the terminal. */
static const char *
inspect_clean(struct buf *b, const char *s)
{
	buf_reset(b);
	for (; *s != '\0'; s++)
		buf_append_byte(b, (unsigned char)*s < 0x20 || *s == 0x7f ?
		    '?' : *s);
	return b->data;
}

static int
inspect_width(size_t w, const char *s)
{
	size_t	n = strlen(s);

	return (int)(n > w ? n : w);
}

static void
inspect_add_status(struct inspect_item *it, int status, size_t n)
{
	size_t	i;

	for (i = 0; i < it->nstatus; i++)
		if (it->status[i].status == status)
			break;
	if (i == it->nstatus) {
		it->status = xreallocarray(it->status, it->nstatus + 1,
		    sizeof *it->status);
		it->status[it->nstatus].status = status;
		it->status[it->nstatus++].count = 0;
	}
	it->status[i].count += n;
}

static void
inspect_add_samples(struct inspect_item *it, const struct inspect_sample *s,
    size_t n)
{
	if (it->ns + n > it->scap) {
		it->scap = it->scap * 2 > it->ns + n ? it->scap * 2 :
		    it->ns + n + 8;
		it->s = xreallocarray(it->s, it->scap, sizeof *it->s);
	}
	memcpy(it->s + it->ns, s, n * sizeof *s);
	it->ns += n;
}

/* The endpoint key: method NUL host (out only) NUL path. */
static void
inspect_key(struct buf *key, const char *method, struct span host,
    int out, const char *path, size_t len)
{
	buf_reset(key);
	buf_append_str(key, method);
	buf_append_byte(key, '\0');
	if (out)
		buf_append_span(key, host);
	buf_append_byte(key, '\0');
	buf_append(key, path, len);
}

/* Counts t's id; a repeated one is counted and the first few kept as
 * examples with their lines. */
static void
inspect_add_id(struct inspect *in, const struct snap_txn *t)
{
	size_t	first;

	if (t->id == NULL || !snap_ids_seen(in->ids, t->id, t->line, &first))
		return;
	in->repeated++;
	if (in->nexamples < INSPECT_ID_EXAMPLES) {
		buf_printf(&in->examples, "%s%s (lines %zu and %zu)",
		    in->nexamples > 0 ? ", " : "", t->id, first, t->line);
		in->nexamples++;
	}
}

/* The grpc-status of a recorded answer: from its trailers, else its
 * headers (a trailers-only answer); -1 if none or not a code. */
static int
inspect_grpc_status(const struct snap_res *res)
{
	const struct snap_header	*h;
	size_t				 i, n = res->ntrailers + res->nheaders;

	for (i = 0; i < n; i++) {
		h = i < res->ntrailers ? &res->trailers[i] :
		    &res->headers[i - res->ntrailers];
		if (strcasecmp(h->name, "grpc-status") != 0)
			continue;
		if (h->value[0] < '0' || h->value[0] > '9' ||
		    strlen(h->value) > 2)
			return -1;
		return grpc_code_parse(h->value, strlen(h->value));
	}
	return -1;
}

/* The first message of a gRPC body as its view (named with type), or
 * NULL when it has none (no message, compressed, not protobuf). */
static char *
inspect_grpc_sample(const char *body, size_t len,
    const struct protodesc_msg *type)
{
	struct grpc_msg	 m;
	struct buf	 b;
	const char	*why;
	size_t		 off = 0;

	if (body == NULL || grpc_next_msg((const uint8_t *)body, len, &off,
	    &m, &why) != 1 || m.compressed)
		return NULL;
	buf_init(&b);
	if ((type != NULL && protodesc_view(type, &b, m.p, m.len) == 0) ||
	    pb_view(&b, m.p, m.len) == 0)
		return buf_detach(&b, NULL);
	buf_free(&b);
	return NULL;
}

/* A method's types and first messages, from the set (pd NULL: none). */
static void
inspect_grpc_types(struct inspect_grpc *g, const struct snap_txn *t,
    const struct protodesc *pd)
{
	g->pm = protodesc_method(pd, t->req.target, strlen(t->req.target));
	if (g->pm != NULL)
		g->types = xasprintf("%s%s -> %s%s",
		    g->pm->client_streaming ? "stream " : "",
		    g->pm->input->name, g->pm->server_streaming ?
		    "stream " : "", g->pm->output->name);
	if (pd == NULL)
		return;
	g->sample[0] = inspect_grpc_sample(t->req.body, t->req.body_len,
	    g->pm != NULL ? g->pm->input : NULL);
	if (t->has_res)
		g->sample[1] = inspect_grpc_sample(t->res.body,
		    t->res.body_len, g->pm != NULL ? g->pm->output : NULL);
}

/*
 * Counts a gRPC call (request content-type application/grpc*, :path
 * /service/method) by its grpc-status.
 */
static void
inspect_add_grpc(struct inspect_dir *d, const struct snap_txn *t,
    const struct protodesc *pd)
{
	struct inspect_grpc	*g;
	struct span		 svc, meth;
	int			 code, is = 0;
	size_t			 i;

	for (i = 0; i < t->req.nheaders && !is; i++)
		is = strcasecmp(t->req.headers[i].name, "content-type") == 0 &&
		    grpc_is_content_type(span_from_str(
		    t->req.headers[i].value));
	if (!is || grpc_path_split(inspect_path(t->req.target), &svc,
	    &meth) == -1)
		return;
	for (i = 0; i < d->ngrpc; i++) {
		g = &d->grpc[i];
		if (span_eq_str(svc, g->service) && span_eq_str(meth,
		    g->method))
			break;
	}
	if (i == d->ngrpc) {
		d->grpc = xreallocarray(d->grpc, d->ngrpc + 1,
		    sizeof *d->grpc);
		g = &d->grpc[d->ngrpc++];
		memset(g, 0, sizeof *g);
		g->service = xstrndup(svc.p, svc.len);
		g->method = xstrndup(meth.p, meth.len);
		inspect_grpc_types(g, t, pd);
	}
	g = &d->grpc[i];
	g->count++;
	code = t->has_res ? inspect_grpc_status(&t->res) : -1;
	g->codes[code >= 0 ? code : GRPC_CODE_MAX + 1]++;
}

static void
inspect_add(struct inspect *in, const struct snap_txn *t, struct buf *key)
{
	struct inspect_dir	*d = &in->dirs[t->dir];
	struct inspect_item	*it;
	struct inspect_sample	 s;
	struct span		 host, path;
	int			 out = t->dir == SNAP_DIR_OUT;

	d->count++;
	inspect_add_id(in, t);
	inspect_add_grpc(d, t, in->opts.protos);
	host = inspect_host(t);
	path = inspect_path(t->req.target);

	buf_reset(key);
	buf_append_byte(key, '\0');
	buf_append_span(key, host);
	buf_append_byte(key, '\0');
	it = inspect_table_get(&d->hosts, key->data, key->len);
	it->count++;

	/* Endpoints of inbound traffic are the service's own: no host.
	 * The route set learns per method (and host, for out). */
	inspect_key(key, t->req.method, host, out, path.p, path.len);
	it = inspect_table_get(&d->endpoints, key->data, key->len);
	if (it->count++ == 0) {
		it->npaths = 1;
		if (!in->opts.raw_paths)
			route_set_add(d->routes, it->key, path.p, path.len);
	} else if (!in->opts.raw_paths)
		route_set_add(d->routes, it->key, path.p, path.len);
	s.start_us = t->start_us;
	s.total_us = t->total_us;
	s.status = t->has_res ? t->res.status : 0;
	inspect_add_status(it, s.status, 1);
	inspect_add_samples(it, &s, 1);
	if (t->start_us >= 0) {
		if (!in->have_time || t->start_us < in->t0_us)
			in->t0_us = t->start_us;
		if (!in->have_time || t->start_us > in->t1_us)
			in->t1_us = t->start_us;
		in->have_time = 1;
	}
}

/* Merges the exact endpoints of d into rows of their templates. */
static void
inspect_templates(struct inspect_dir *d)
{
	struct inspect_table	 rows;
	struct inspect_item	*ex, *row;
	struct buf		 tmpl, key;
	size_t			 i, j;

	memset(&rows, 0, sizeof rows);
	buf_init(&tmpl);
	buf_init(&key);
	for (i = 0; i < d->endpoints.n; i++) {
		ex = &d->endpoints.items[i];
		buf_reset(&tmpl);
		/* The route set's "method" is the exact key's first two
		 * parts: method NUL host, as learned. */
		route_set_template(d->routes, ex->key, ex->path,
		    strlen(ex->path), &tmpl);
		inspect_key(&key, ex->method, span_from_str(ex->host), 1,
		    tmpl.data, tmpl.len);
		row = inspect_table_get(&rows, key.data, key.len);
		row->count += ex->count;
		row->npaths += ex->npaths;
		for (j = 0; j < ex->nstatus; j++)
			inspect_add_status(row, ex->status[j].status,
			    ex->status[j].count);
		inspect_add_samples(row, ex->s, ex->ns);
	}
	buf_free(&tmpl);
	buf_free(&key);
	inspect_table_free(&d->endpoints);
	d->endpoints = rows;
}

static int
inspect_cmp_sample(const void *a, const void *b)
{
	const struct inspect_sample	*x = a, *y = b;

	return (x->start_us > y->start_us) - (x->start_us < y->start_us);
}

static int
inspect_class(int status)
{
	return status >= 100 && status <= 599 ? status / 100 : 0;
}

/* Sorts an item's statuses and samples; its latencies and time view. */
static void
inspect_finish_item(struct inspect *in, struct inspect_item *it)
{
	int64_t		*lat;
	size_t		 i, j, b, nl;
	struct inspect_bucket *bk;

	if (it->nstatus > 0)
		qsort(it->status, it->nstatus, sizeof *it->status,
		    inspect_cmp_status);
	if (it->ns > 0)
		qsort(it->s, it->ns, sizeof *it->s, inspect_cmp_sample);
	it->lat = xcalloc(it->ns + 1, sizeof *it->lat);
	for (i = 0; i < it->ns; i++)
		if (it->s[i].total_us >= 0)
			it->lat[it->nlat++] = it->s[i].total_us;
	qsort(it->lat, it->nlat, sizeof *it->lat, inspect_cmp_i64);
	if (in->nbuckets == 0)
		return;
	it->tl = xcalloc(in->nbuckets, sizeof *it->tl);
	for (b = 0; b < in->nbuckets; b++)
		it->tl[b].p50_us = it->tl[b].p99_us = -1;
	lat = xcalloc(it->ns + 1, sizeof *lat);
	/* Samples without a start sorted first (-1): skipped. */
	for (i = 0; i < it->ns && it->s[i].start_us < 0; i++)
		;
	while (i < it->ns) {
		b = (size_t)((uint64_t)(it->s[i].start_us - in->t0_us) /
		    in->interval_us);
		if (b >= in->nbuckets)
			b = in->nbuckets - 1;
		bk = &it->tl[b];
		nl = 0;
		for (j = i; j < it->ns && (size_t)((uint64_t)(it->s[j].start_us -
		    in->t0_us) / in->interval_us) == b; j++) {
			bk->count++;
			bk->cls[inspect_class(it->s[j].status)]++;
			if (it->s[j].total_us >= 0)
				lat[nl++] = it->s[j].total_us;
		}
		qsort(lat, nl, sizeof *lat, inspect_cmp_i64);
		bk->p50_us = nl > 0 ? inspect_percentile(lat, nl, 50) : -1;
		bk->p99_us = nl > 0 ? inspect_percentile(lat, nl, 99) : -1;
		if (j == i)	/* the last bucket's overflow */
			j++;
		i = j;
	}
	free(lat);
}

/* A round interval giving at most 30 buckets over the span. */
static uint64_t
inspect_auto_interval(uint64_t span_us)
{
	static const uint64_t	steps_ms[] = { 100, 200, 500, 1000, 2000,
	    5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000, 900000,
	    1800000, 3600000, 7200000, 10800000, 21600000, 43200000,
	    86400000 };
	size_t			 i;

	for (i = 0; i < sizeof steps_ms / sizeof steps_ms[0]; i++)
		if (span_us / (steps_ms[i] * 1000) < 30)
			return steps_ms[i] * 1000;
	return (span_us / 30 / 86400000000ULL + 1) * 86400000000ULL;
}

static void
inspect_finish(struct inspect *in)
{
	struct inspect_dir	*d;
	uint64_t		 span;
	size_t			 i, k;

	if (in->have_time) {
		span = (uint64_t)(in->t1_us - in->t0_us);
		in->interval_us = in->opts.interval_us != 0 ?
		    in->opts.interval_us : inspect_auto_interval(span);
		in->nbuckets = (size_t)(span / in->interval_us) + 1;
		if (in->nbuckets > 100000) {	/* a tiny --interval */
			in->interval_us = span / 100000 + 1;
			in->nbuckets = (size_t)(span / in->interval_us) + 1;
		}
	}
	for (k = 0; k < 2; k++) {
		d = &in->dirs[k];
		if (!in->opts.raw_paths)
			inspect_templates(d);
		for (i = 0; i < d->endpoints.n; i++) {
			inspect_add_samples(&d->all, d->endpoints.items[i].s,
			    d->endpoints.items[i].ns);
			inspect_finish_item(in, &d->endpoints.items[i]);
		}
		d->all.count = d->count;
		inspect_finish_item(in, &d->all);
		if (d->endpoints.n > 0)
			qsort(d->endpoints.items, d->endpoints.n,
			    sizeof *d->endpoints.items, inspect_cmp_item);
		if (d->hosts.n > 0)
			qsort(d->hosts.items, d->hosts.n,
			    sizeof *d->hosts.items, inspect_cmp_item);
	}
}

struct inspect *
inspect_load(const char *path, const struct inspect_opts *opts, char **cause)
{
	struct inspect		*in;
	struct snap_reader	*r;
	struct snap_txn		 t;
	struct buf		 key;
	int			 rc;

	if ((r = snap_reader_open(path, cause)) == NULL)
		return NULL;
	in = xcalloc(1, sizeof *in);
	in->file = xstrdup(path);
	in->ids = snap_ids_create();
	in->opts = *opts;
	buf_init(&in->examples);
	in->dirs[0].routes = route_set_create(opts->min_distinct);
	in->dirs[1].routes = route_set_create(opts->min_distinct);
	buf_init(&key);
	while ((rc = snap_reader_next(r, &t, cause)) == 1) {
		inspect_add(in, &t, &key);
		snap_txn_free(&t);
	}
	snap_reader_close(r);
	buf_free(&key);
	if (rc == -1) {
		inspect_free(in);
		return NULL;
	}
	inspect_finish(in);
	return in;
}

void
inspect_free(struct inspect *in)
{
	size_t	i, k;

	if (in == NULL)
		return;
	for (k = 0; k < 2; k++) {
		inspect_table_free(&in->dirs[k].hosts);
		inspect_table_free(&in->dirs[k].endpoints);
		inspect_item_clear(&in->dirs[k].all);
		route_set_free(in->dirs[k].routes);
		for (i = 0; i < in->dirs[k].ngrpc; i++) {
			free(in->dirs[k].grpc[i].service);
			free(in->dirs[k].grpc[i].method);
			free(in->dirs[k].grpc[i].types);
			free(in->dirs[k].grpc[i].sample[0]);
			free(in->dirs[k].grpc[i].sample[1]);
		}
		free(in->dirs[k].grpc);
	}
	snap_ids_free(in->ids);
	buf_free(&in->examples);
	free(in->file);
	free(in);
}

/* --- shared formatting --- */

static const char *
inspect_fmt_lat(char *out, size_t len, int64_t us)
{
	if (us < 0)
		snprintf(out, len, "-");
	else
		chart_fmt_us(out, len, (double)us);
	return out;
}

/*
 * Appends the count of each status: "200:3 none:1" for the text,
 * "\"200\":3,\"none\":1" inside a JSON object.
 */
static void
inspect_status_counts(struct buf *b, const struct inspect_item *it, int json)
{
	const char	*q = json ? "\"" : "";
	size_t		 i;

	for (i = 0; i < it->nstatus; i++) {
		if (i > 0)
			buf_append_byte(b, json ? ',' : ' ');
		if (it->status[i].status == 0)
			buf_printf(b, "%snone%s:%zu", q, q,
			    it->status[i].count);
		else
			buf_printf(b, "%s%d%s:%zu", q, it->status[i].status, q,
			    it->status[i].count);
	}
}

/*
 * Appends a gRPC method's grpc-status counts: "OK:3 UNAVAILABLE:1" for
 * the text, "\"OK\":3,\"UNAVAILABLE\":1" inside a JSON object ("none":
 * no status recorded).
 */
static void
inspect_grpc_counts(struct buf *b, const struct inspect_grpc *g, int json)
{
	const char	*q = json ? "\"" : "", *name;
	size_t		 c;
	int		 first = 1;

	for (c = 0; c <= GRPC_CODE_MAX + 1; c++) {
		if (g->codes[c] == 0)
			continue;
		name = c <= GRPC_CODE_MAX ? grpc_code_name((int)c) : "none";
		buf_printf(b, "%s%s%s%s:%zu", first ? "" : json ? "," : " ", q,
		    name, q, g->codes[c]);
		first = 0;
	}
}

/* Under a method's row, with a descriptor set: its types and first
 * messages (a long one cut at 240 bytes). */
static void
inspect_print_grpc_types(FILE *f, const struct inspect_grpc *g)
{
	static const char *const what[2] = { "request ", "response" };
	struct buf	 c;
	const char	*s;
	int		 k;

	buf_init(&c);
	if (g->types != NULL)
		fprintf(f, "    types     %s\n", inspect_clean(&c, g->types));
	for (k = 0; k < 2; k++) {
		if ((s = g->sample[k]) == NULL)
			continue;
		fprintf(f, "    %s  %.240s%s\n", what[k], inspect_clean(&c, s),
		    strlen(s) > 240 ? "..." : "");
	}
	buf_free(&c);
}

/* The gRPC methods of a direction, if it has calls. */
static void
inspect_print_grpc(FILE *f, const struct inspect_dir *d)
{
	const struct inspect_grpc	*g;
	struct buf			 c1, c2, st;
	int				 wsv = 12, wm = 6;
	size_t				 i;

	if (d->ngrpc == 0)
		return;
	buf_init(&c1);
	buf_init(&c2);
	buf_init(&st);
	for (i = 0; i < d->ngrpc; i++) {
		wsv = inspect_width(wsv, d->grpc[i].service);
		wm = inspect_width(wm, d->grpc[i].method);
	}
	fprintf(f, "\n  %-*s  %-*s  %5s  %s\n", wsv, "GRPC SERVICE", wm,
	    "METHOD", "CALLS", "GRPC-STATUS");
	for (i = 0; i < d->ngrpc; i++) {
		g = &d->grpc[i];
		buf_reset(&st);
		inspect_grpc_counts(&st, g, 0);
		fprintf(f, "  %-*s  %-*s  %5zu  %s\n", wsv,
		    inspect_clean(&c1, g->service), wm,
		    inspect_clean(&c2, g->method), g->count, st.data);
		inspect_print_grpc_types(f, g);
	}
	buf_free(&c1);
	buf_free(&c2);
	buf_free(&st);
}

static void
inspect_fmt_status(struct buf *b, const struct inspect_item *it)
{
	buf_reset(b);
	inspect_status_counts(b, it, 0);
}

static void
inspect_fmt_classes(struct buf *b, const struct inspect_bucket *bk)
{
	size_t	c;

	buf_reset(b);
	for (c = 0; c < INSPECT_NCLASS; c++)
		if (bk->cls[c] > 0)
			buf_printf(b, "%s%s:%" PRIu64, b->len > 0 ? " " : "",
			    inspect_class_names[c], bk->cls[c]);
}

/* "+0s", "+1m30s", "+2h5m", "+0.5s". */
static const char *
inspect_fmt_offset(char *out, size_t len, uint64_t us)
{
	uint64_t	s = us / 1000000;

	if (us % 1000000 != 0 && s < 60)
		snprintf(out, len, "+%.1fs", (double)us / 1e6);
	else if (s < 60)
		snprintf(out, len, "+%" PRIu64 "s", s);
	else if (s < 3600 && s % 60 != 0)
		snprintf(out, len, "+%" PRIu64 "m%" PRIu64 "s", s / 60, s % 60);
	else if (s < 3600)
		snprintf(out, len, "+%" PRIu64 "m", s / 60);
	else
		snprintf(out, len, "+%" PRIu64 "h%" PRIu64 "m", s / 3600,
		    s / 60 % 60);
	return out;
}

static double
inspect_rate(const struct inspect *in, uint64_t count)
{
	return (double)count / ((double)in->interval_us / 1e6);
}

/* "2026-12-07T21:09:33Z" of the first start. */
static void
inspect_fmt_start(const struct inspect *in, char *out, size_t len)
{
	time_t		secs = (time_t)(in->t0_us / 1000000);
	struct tm	tm;

	if (!in->have_time || gmtime_r(&secs, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "-");
}

/* --- terminal --- */

static void
inspect_print_endpoints(FILE *f, const struct inspect_dir *d, int out)
{
	const struct inspect_item	*it;
	struct buf			 c1, c2, st;
	char				 p50[32], p99[32];
	int				 wh = 4, wm = 6, wp = 4, ws = 6, wc = 5;
	size_t				 i;

	buf_init(&c1);
	buf_init(&c2);
	buf_init(&st);
	for (i = 0; i < d->endpoints.n; i++) {
		it = &d->endpoints.items[i];
		wm = inspect_width(wm, it->method);
		wh = inspect_width(wh, it->host);
		wp = inspect_width(wp, it->path);
		inspect_fmt_status(&st, it);
		ws = inspect_width(ws, st.data);
	}
	fprintf(f, "\n  %-*s  ", wm, "METHOD");
	if (out)
		fprintf(f, "%-*s  ", wh, "HOST");
	fprintf(f, "%-*s  %*s  %-*s  %8s  %8s  %5s\n", wp, "PATH", wc,
	    "COUNT", ws, "STATUS", "P50", "P99", "PATHS");
	for (i = 0; i < d->endpoints.n; i++) {
		it = &d->endpoints.items[i];
		fprintf(f, "  %-*s  ", wm, inspect_clean(&c1, it->method));
		if (out)
			fprintf(f, "%-*s  ", wh, inspect_clean(&c2, it->host));
		inspect_fmt_status(&st, it);
		fprintf(f, "%-*s  %*zu  %-*s  %8s  %8s  %5zu\n", wp,
		    inspect_clean(&c1, it->path), wc, it->count, ws, st.data,
		    inspect_fmt_lat(p50, sizeof p50, it->nlat > 0 ?
		    inspect_percentile(it->lat, it->nlat, 50) : -1),
		    inspect_fmt_lat(p99, sizeof p99, it->nlat > 0 ?
		    inspect_percentile(it->lat, it->nlat, 99) : -1), it->npaths);
	}
	buf_free(&c1);
	buf_free(&c2);
	buf_free(&st);
}

static void
inspect_print_time(FILE *f, const struct inspect *in,
    const struct inspect_dir *d)
{
	const struct inspect_bucket	*bk;
	struct buf			 st;
	char				 off[32], p50[32], p99[32], when[32];
	size_t				 b;

	if (in->nbuckets == 0 || d->all.tl == NULL)
		return;
	buf_init(&st);
	inspect_fmt_start(in, when, sizeof when);
	fprintf(f, "\n  over time (%s intervals from %s):\n",
	    inspect_fmt_offset(off, sizeof off, in->interval_us) + 1, when);
	fprintf(f, "  %-8s  %6s  %8s  %8s  %8s  %s\n", "START", "COUNT",
	    "REQ/S", "P50", "P99", "STATUS");
	for (b = 0; b < in->nbuckets; b++) {
		bk = &d->all.tl[b];
		inspect_fmt_classes(&st, bk);
		fprintf(f, "  %-8s  %6" PRIu64 "  %8.1f  %8s  %8s  %s\n",
		    inspect_fmt_offset(off, sizeof off, b * in->interval_us),
		    bk->count, inspect_rate(in, bk->count),
		    inspect_fmt_lat(p50, sizeof p50, bk->p50_us),
		    inspect_fmt_lat(p99, sizeof p99, bk->p99_us),
		    st.len > 0 ? st.data : "-");
	}
	buf_free(&st);
}

void
inspect_write_text(const struct inspect *in, FILE *f)
{
	static const char *const	 names[2] = { "in", "out" };
	const struct inspect_dir	*d;
	const struct inspect_item	*it;
	struct buf			 c1;
	int				 wh, wc = 5;
	size_t				 i, k;

	buf_init(&c1);
	fprintf(f, "%s: %zu transactions\n", in->file,
	    in->dirs[0].count + in->dirs[1].count);
	if (in->repeated > 0)
		fprintf(f, "warning: %" PRIu64 " transaction%s an id "
		    "that came before: %s%s (`decoy split` renames them)\n",
		    in->repeated, in->repeated == 1 ? " repeats" : "s repeat",
		    in->examples.data, in->repeated > in->nexamples ?
		    ", ..." : "");
	for (k = 0; k < 2; k++) {
		d = &in->dirs[k == 0 ? SNAP_DIR_IN : SNAP_DIR_OUT];
		fprintf(f, "\n%s: %zu transaction%s\n", names[k], d->count,
		    d->count == 1 ? "" : "s");
		if (d->count == 0)
			continue;
		wh = 4;
		for (i = 0; i < d->hosts.n; i++)
			wh = inspect_width(wh, d->hosts.items[i].host);
		fprintf(f, "  %-*s  %*s\n", wh, "HOST", wc, "COUNT");
		for (i = 0; i < d->hosts.n; i++) {
			it = &d->hosts.items[i];
			fprintf(f, "  %-*s  %*zu\n", wh,
			    inspect_clean(&c1, it->host), wc, it->count);
		}
		inspect_print_endpoints(f, d, k == 1);
		inspect_print_grpc(f, d);
		inspect_print_time(f, in, d);
	}
	buf_free(&c1);
}

/* --- JSON --- */

static void
inspect_json_str(struct buf *b, const char *s)
{
	json_append_string(b, s, strlen(s));
}

/* A method's "input", "output", streaming flags and first messages
 * ("request", "response": their views, JSON as they are), when known. */
static void
inspect_json_grpc_types(struct buf *b, const struct inspect_grpc *g)
{
	static const char *const what[2] = { "request", "response" };
	int	k;

	if (g->pm != NULL) {
		buf_append_str(b, ",\"input\":");
		inspect_json_str(b, g->pm->input->name);
		buf_append_str(b, ",\"output\":");
		inspect_json_str(b, g->pm->output->name);
		buf_printf(b, ",\"client_streaming\":%s,"
		    "\"server_streaming\":%s", g->pm->client_streaming ?
		    "true" : "false", g->pm->server_streaming ? "true" :
		    "false");
	}
	for (k = 0; k < 2; k++)
		if (g->sample[k] != NULL)
			buf_printf(b, ",\"%s\":%s", what[k], g->sample[k]);
}

static void
inspect_json_lat(struct buf *b, const char *name, int64_t us)
{
	if (us < 0)
		buf_printf(b, ",\"%s\":null", name);
	else
		buf_printf(b, ",\"%s\":%lld", name, (long long)us);
}

static void
inspect_json_timeline(struct buf *b, const struct inspect *in,
    const struct inspect_item *it)
{
	const struct inspect_bucket	*bk;
	size_t				 i, c, n;

	buf_append_str(b, ",\"timeline\":[");
	for (i = 0; i < in->nbuckets && it->tl != NULL; i++) {
		bk = &it->tl[i];
		buf_printf(b, "%s{\"t_us\":%" PRIu64 ",\"count\":%" PRIu64
		    ",\"rate\":%.3f", i > 0 ? "," : "", i * in->interval_us,
		    bk->count, inspect_rate(in, bk->count));
		inspect_json_lat(b, "p50_us", bk->p50_us);
		inspect_json_lat(b, "p99_us", bk->p99_us);
		buf_append_str(b, ",\"status\":{");
		for (c = n = 0; c < INSPECT_NCLASS; c++)
			if (bk->cls[c] > 0)
				buf_printf(b, "%s\"%s\":%" PRIu64, n++ > 0 ?
				    "," : "", inspect_class_names[c],
				    bk->cls[c]);
		buf_append_str(b, "}}");
	}
	buf_append_byte(b, ']');
}

static void
inspect_json_endpoint(struct buf *b, const struct inspect *in,
    const struct inspect_item *it, int out)
{
	buf_append_str(b, "{\"method\":");
	inspect_json_str(b, it->method);
	if (out) {
		buf_append_str(b, ",\"host\":");
		inspect_json_str(b, it->host);
	}
	buf_append_str(b, ",\"path\":");
	inspect_json_str(b, it->path);
	buf_printf(b, ",\"paths\":%zu,\"count\":%zu,\"status\":{", it->npaths,
	    it->count);
	inspect_status_counts(b, it, 1);
	buf_append_byte(b, '}');
	inspect_json_lat(b, "p50_us", it->nlat > 0 ?
	    inspect_percentile(it->lat, it->nlat, 50) : -1);
	inspect_json_lat(b, "p99_us", it->nlat > 0 ?
	    inspect_percentile(it->lat, it->nlat, 99) : -1);
	inspect_json_timeline(b, in, it);
	buf_append_byte(b, '}');
}

static void
inspect_json_dir(struct buf *b, const struct inspect *in,
    const struct inspect_dir *d, int out)
{
	const struct inspect_item	*it;
	size_t				 i;

	buf_printf(b, "{\"count\":%zu,\"hosts\":[", d->count);
	for (i = 0; i < d->hosts.n; i++) {
		it = &d->hosts.items[i];
		buf_append_str(b, i == 0 ? "{\"host\":" : ",{\"host\":");
		inspect_json_str(b, it->host);
		buf_printf(b, ",\"count\":%zu}", it->count);
	}
	buf_append_str(b, "],\"endpoints\":[");
	for (i = 0; i < d->endpoints.n; i++) {
		if (i > 0)
			buf_append_byte(b, ',');
		inspect_json_endpoint(b, in, &d->endpoints.items[i], out);
	}
	buf_append_byte(b, ']');
	for (i = 0; i < d->ngrpc; i++) {
		if (i == 0)
			buf_append_str(b, ",\"grpc\":[");
		buf_append_str(b, i == 0 ? "{\"service\":" : ",{\"service\":");
		inspect_json_str(b, d->grpc[i].service);
		buf_append_str(b, ",\"method\":");
		inspect_json_str(b, d->grpc[i].method);
		buf_printf(b, ",\"count\":%zu,\"grpc_status\":{",
		    d->grpc[i].count);
		inspect_grpc_counts(b, &d->grpc[i], 1);
		buf_append_byte(b, '}');
		inspect_json_grpc_types(b, &d->grpc[i]);
		buf_append_str(b, i + 1 == d->ngrpc ? "}]" : "}");
	}
	inspect_json_timeline(b, in, &d->all);
	buf_append_byte(b, '}');
}

void
inspect_write_json(const struct inspect *in, struct buf *b)
{
	char	when[32];

	buf_append_str(b, "{\"file\":");
	inspect_json_str(b, in->file);
	buf_printf(b, ",\"transactions\":%zu,\"repeated_ids\":%" PRIu64,
	    in->dirs[SNAP_DIR_IN].count + in->dirs[SNAP_DIR_OUT].count,
	    in->repeated);
	if (in->have_time) {
		inspect_fmt_start(in, when, sizeof when);
		buf_printf(b, ",\"start\":\"%s\",\"start_us\":%lld,"
		    "\"duration_us\":%lld,\"interval_us\":%" PRIu64, when,
		    (long long)in->t0_us, (long long)(in->t1_us - in->t0_us),
		    in->interval_us);
	} else
		buf_append_str(b, ",\"start\":null,\"interval_us\":null");
	buf_append_str(b, ",\"directions\":{\"in\":");
	inspect_json_dir(b, in, &in->dirs[SNAP_DIR_IN], 0);
	buf_append_str(b, ",\"out\":");
	inspect_json_dir(b, in, &in->dirs[SNAP_DIR_OUT], 1);
	buf_append_str(b, "}}\n");
}

/* --- HTML --- */

/* A sparkline of an item's count per interval (red where more than 10%
 * of the interval's answers were 5xx). */
static void
inspect_html_spark(struct buf *b, const struct inspect *in,
    const struct inspect_item *it)
{
	const double	w = 160, h = 28;
	uint64_t	max = 1;
	size_t		i;
	double		x, y;

	buf_append_str(b, "<td>");
	if (it->tl == NULL || in->nbuckets == 0) {
		buf_append_str(b, "-</td>");
		return;
	}
	for (i = 0; i < in->nbuckets; i++)
		if (it->tl[i].count > max)
			max = it->tl[i].count;
	buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
	    "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\"><title>"
	    "count per interval, max %" PRIu64 "</title>", w, h, w, h, max);
	for (i = 0; i < in->nbuckets; i++) {
		if (it->tl[i].count == 0)
			continue;
		x = w * (double)i / (double)in->nbuckets;
		y = (h - 2) * (double)it->tl[i].count / (double)max;
		buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		    "height=\"%.1f\" fill=\"%s\"/>", x, h - y, w /
		    (double)in->nbuckets * 0.85 > 0.6 ? w / (double)in->nbuckets
		    * 0.85 : 0.6, y, it->tl[i].cls[5] * 10 > it->tl[i].count ? "#d62728" :
		    "#1f77b4");
	}
	buf_append_str(b, "</svg></td>");
}

static void
inspect_html_charts(struct buf *b, const struct inspect *in,
    const struct inspect_dir *d)
{
	static const char *const	 colors[INSPECT_NCLASS] = { "#7f7f7f",
	    "#9467bd", "#2ca02c", "#1f77b4", "#ff7f0e", "#d62728" };
	struct chart_series		 s[INSPECT_NCLASS];
	double				*x, *y[INSPECT_NCLASS];
	size_t				 i, c, ns = 0, n = in->nbuckets;

	if (n == 0 || d->all.tl == NULL)
		return;
	x = xcalloc(n, sizeof *x);
	for (c = 0; c < INSPECT_NCLASS; c++)
		y[c] = xcalloc(n, sizeof *y[c]);
	for (i = 0; i < n; i++)
		x[i] = (double)(i * in->interval_us) / 1e6;
	/* Throughput per status class, the classes that occur. */
	for (c = 0; c < INSPECT_NCLASS; c++) {
		uint64_t	tot = 0;

		for (i = 0; i < n; i++) {
			y[c][i] = inspect_rate(in, d->all.tl[i].cls[c]);
			tot += d->all.tl[i].cls[c];
		}
		if (tot > 0)
			s[ns++] = (struct chart_series){ inspect_class_names[c],
			    colors[c], y[c], 0 };
	}
	buf_append_str(b, "<div class=\"charts\">\n");
	chart_draw(b, "Throughput by status (per second)", CHART_SECONDS,
	    CHART_RATE, n, x, s, ns);
	for (i = 0; i < n; i++) {
		y[0][i] = d->all.tl[i].p50_us < 0 ? NAN :
		    (double)d->all.tl[i].p50_us;
		y[1][i] = d->all.tl[i].p99_us < 0 ? NAN :
		    (double)d->all.tl[i].p99_us;
	}
	s[0] = (struct chart_series){ "p99", "#d62728", y[1], 0 };
	s[1] = (struct chart_series){ "p50", "#1f77b4", y[0], 0 };
	chart_draw(b, "Recorded latency over time", CHART_SECONDS,
	    CHART_LATENCY, n, x, s, 2);
	buf_append_str(b, "</div>\n");
	free(x);
	for (c = 0; c < INSPECT_NCLASS; c++)
		free(y[c]);
}

static void
inspect_html_dir(struct buf *b, const struct inspect *in,
    const struct inspect_dir *d, const char *title, int out)
{
	const struct inspect_item	*it;
	struct buf			 st;
	char				 tmp[64];
	size_t				 i;

	buf_printf(b, "<h2>%s: %zu transaction%s</h2>\n", title, d->count,
	    d->count == 1 ? "" : "s");
	if (d->count == 0)
		return;
	inspect_html_charts(b, in, d);
	buf_init(&st);
	buf_append_str(b, "<h3>Endpoints</h3>\n<table><tr><th>method</th>");
	if (out)
		buf_append_str(b, "<th>host</th>");
	buf_append_str(b, "<th>endpoint</th><th>count</th><th>paths</th>"
	    "<th>p50</th><th>p99</th><th>status mix</th><th>over time</th>"
	    "</tr>\n");
	for (i = 0; i < d->endpoints.n; i++) {
		it = &d->endpoints.items[i];
		buf_append_str(b, "<tr>");
		chart_td(b, it->method, 0);
		if (out)
			chart_td(b, it->host, 0);
		chart_td(b, it->path, 0);
		snprintf(tmp, sizeof tmp, "%zu", it->count);
		chart_td(b, tmp, 1);
		snprintf(tmp, sizeof tmp, "%zu", it->npaths);
		chart_td(b, tmp, 1);
		chart_td(b, inspect_fmt_lat(tmp, sizeof tmp, it->nlat > 0 ?
		    inspect_percentile(it->lat, it->nlat, 50) : -1), 1);
		chart_td(b, inspect_fmt_lat(tmp, sizeof tmp, it->nlat > 0 ?
		    inspect_percentile(it->lat, it->nlat, 99) : -1), 1);
		inspect_fmt_status(&st, it);
		chart_td(b, st.data, 0);
		inspect_html_spark(b, in, it);
		buf_append_str(b, "</tr>\n");
	}
	buf_append_str(b, "</table>\n");
	buf_free(&st);
}

void
inspect_write_html(const struct inspect *in, struct buf *b)
{
	char	tmp[64], when[32];
	size_t	neps = in->dirs[0].endpoints.n + in->dirs[1].endpoints.n;

	chart_page_head(b, "inspect", in->file);
	inspect_fmt_start(in, when, sizeof when);
	if (in->have_time)
		buf_printf(b, "from %s &middot; %.1fs recorded &middot; "
		    "intervals of %s", when, (double)(in->t1_us - in->t0_us) /
		    1e6, inspect_fmt_offset(tmp, sizeof tmp,
		    in->interval_us) + 1);
	else
		buf_append_str(b, "no timing recorded");
	buf_append_str(b, "</p>\n<div class=\"cards\">");
	snprintf(tmp, sizeof tmp, "%zu", in->dirs[0].count +
	    in->dirs[1].count);
	chart_card(b, tmp, "transactions");
	snprintf(tmp, sizeof tmp, "%zu", in->dirs[SNAP_DIR_IN].count);
	chart_card(b, tmp, "in (to the service)");
	snprintf(tmp, sizeof tmp, "%zu", in->dirs[SNAP_DIR_OUT].count);
	chart_card(b, tmp, "out (to dependencies)");
	snprintf(tmp, sizeof tmp, "%zu", neps);
	chart_card(b, tmp, "endpoints");
	snprintf(tmp, sizeof tmp, "%zu", in->dirs[SNAP_DIR_OUT].hosts.n);
	chart_card(b, tmp, "dependency hosts");
	buf_append_str(b, "</div>\n");
	inspect_html_dir(b, in, &in->dirs[SNAP_DIR_IN], "In", 0);
	inspect_html_dir(b, in, &in->dirs[SNAP_DIR_OUT], "Out", 1);
	buf_append_str(b, "</body></html>\n");
}
