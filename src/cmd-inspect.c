/*
 * cmd-inspect.c -- `decoy inspect SNAP [--json]`: what talks to what in a
 * snapshot.
 *
 * For each direction (in: requests into the service; out: its calls to
 * dependencies) it counts transactions per host and per endpoint (method
 * and path without the query string, plus the host for out), with the
 * status mix and the recorded latency (timing.total_us) at p50 and p99 by
 * the nearest-rank method.  Tables are sorted by count, descending, then
 * by name.  The whole snapshot is read once; per-endpoint state is a hash
 * table, so large snapshots cost one pass and memory per distinct
 * endpoint plus eight bytes per recorded latency.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cli.h"
#include "log.h"
#include "opt.h"
#include "json.h"
#include "snap.h"
#include "xmalloc.h"

static int	cmd_inspect_exec(int, char **);

struct cmd_inspect_o {
	int	json;
	int	log_level;
};

static const struct opt cmd_inspect_opts[] = {
	{ "json", 0, OPT_FLAG, NULL, "one JSON document instead of tables",
	  OPT_AT(struct cmd_inspect_o, json) },
	CLI_OPTS_LOG(struct cmd_inspect_o),
	OPT_END_ROW,
};

const struct cmd_entry cmd_inspect_entry = {
	.name = "inspect",
	.args = "SNAP [--json]",
	.summary = "show hosts, endpoints, status mix and latency in a snapshot",
	.intro = "  SNAP                      snapshot file, - for stdin\n",
	.opts = cmd_inspect_opts,
	.exec = cmd_inspect_exec,
};


struct inspect_status {
	int	 status;	/* 0: no response recorded */
	size_t	 count;
};

struct inspect_item {
	char			*key;		/* method NUL host NUL path */
	size_t			 keylen;
	const char		*method;	/* point into key */
	const char		*host;
	const char		*path;
	size_t			 count;
	struct inspect_status	*status;
	size_t			 nstatus;
	int64_t			*lat;
	size_t			 nlat;
	size_t			 latcap;
};

/* Items in insertion order, found by key through an index hash. */
struct inspect_table {
	struct inspect_item	*items;
	size_t			 n;
	size_t			 cap;
	size_t			*slots;		/* item index + 1; 0 is empty */
	size_t			 nslots;
};

struct inspect_dir {
	size_t			count;
	struct inspect_table	hosts;
	struct inspect_table	endpoints;
};

static uint64_t
inspect_hash(const char *p, size_t len)
{
	uint64_t	h = 14695981039346656037ULL;
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void
inspect_table_grow(struct inspect_table *tb)
{
	size_t	i, j, nslots = tb->nslots == 0 ? 64 : tb->nslots * 2;

	free(tb->slots);
	tb->slots = xcalloc(nslots, sizeof *tb->slots);
	tb->nslots = nslots;
	for (i = 0; i < tb->n; i++) {
		j = inspect_hash(tb->items[i].key, tb->items[i].keylen) &
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
	j = inspect_hash(key, len) & (tb->nslots - 1);
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
		free(tb->items[i].status);
		free(tb->items[i].lat);
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
	const char	*p, *e;
	size_t		 i;

	if (t->req.host != NULL && *t->req.host != '\0')
		return span_from_str(t->req.host);
	for (i = 0; i < t->req.nheaders; i++) {
		if (strcasecmp(t->req.headers[i].name, "host") == 0 &&
		    *t->req.headers[i].value != '\0')
			return span_from_str(t->req.headers[i].value);
	}
	p = t->req.target;
	if (strncasecmp(p, "http://", 7) == 0 ||
	    strncasecmp(p, "https://", 8) == 0) {
		p = strstr(p, "//") + 2;
		e = p + strcspn(p, "/?#");
		if (e > p)
			return (struct span){ p, (size_t)(e - p) };
	}
	if (t->server != NULL && *t->server != '\0')
		return span_from_str(t->server);
	return SPAN_LIT("-");
}

/* The target's path: no scheme or authority, no query, no fragment. */
static struct span
inspect_path(const char *target)
{
	const char	*p = target;

	if (strncasecmp(p, "http://", 7) == 0 ||
	    strncasecmp(p, "https://", 8) == 0) {
		p = strstr(p, "//") + 2;
		p += strcspn(p, "/?#");
		if (*p != '/')
			return SPAN_LIT("/");
	}
	return (struct span){ p, strcspn(p, "?#") };
}

static void
inspect_add(struct inspect_dir *d, const struct snap_txn *t, struct buf *key)
{
	struct inspect_item	*it;
	struct span		 host, path;
	size_t			 i;
	int			 status = t->has_res ? t->res.status : 0;

	d->count++;
	host = inspect_host(t);
	path = inspect_path(t->req.target);

	buf_reset(key);
	buf_append_byte(key, '\0');
	buf_append_span(key, host);
	buf_append_byte(key, '\0');
	it = inspect_table_get(&d->hosts, key->data, key->len);
	it->count++;

	/* Endpoints of inbound traffic are the service's own: no host. */
	buf_reset(key);
	buf_append_str(key, t->req.method);
	buf_append_byte(key, '\0');
	if (t->dir == SNAP_DIR_OUT)
		buf_append_span(key, host);
	buf_append_byte(key, '\0');
	buf_append_span(key, path);
	it = inspect_table_get(&d->endpoints, key->data, key->len);
	it->count++;

	for (i = 0; i < it->nstatus; i++) {
		if (it->status[i].status == status)
			break;
	}
	if (i == it->nstatus) {
		it->status = xreallocarray(it->status, it->nstatus + 1,
		    sizeof *it->status);
		it->status[it->nstatus].status = status;
		it->status[it->nstatus++].count = 0;
	}
	it->status[i].count++;

	if (t->total_us >= 0) {
		if (it->nlat == it->latcap) {
			it->latcap = it->latcap == 0 ? 8 : it->latcap * 2;
			it->lat = xreallocarray(it->lat, it->latcap,
			    sizeof *it->lat);
		}
		it->lat[it->nlat++] = t->total_us;
	}
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

/* Sorts items, status lists and latencies (the hash index goes stale). */
static void
inspect_sort(struct inspect_table *tb)
{
	size_t	i;

	if (tb->n == 0)
		return;
	qsort(tb->items, tb->n, sizeof *tb->items, inspect_cmp_item);
	for (i = 0; i < tb->n; i++) {
		if (tb->items[i].nstatus > 0)
			qsort(tb->items[i].status, tb->items[i].nstatus,
			    sizeof *tb->items[i].status, inspect_cmp_status);
		if (tb->items[i].nlat > 0)
			qsort(tb->items[i].lat, tb->items[i].nlat,
			    sizeof *tb->items[i].lat, inspect_cmp_i64);
	}
}

/* --- human output --- */

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

static void
inspect_fmt_us(char *out, size_t len, const struct inspect_item *it,
    unsigned int pct)
{
	int64_t	us;

	if (it->nlat == 0) {
		snprintf(out, len, "-");
		return;
	}
	us = inspect_percentile(it->lat, it->nlat, pct);
	if (us < 1000)
		snprintf(out, len, "%lldus", (long long)us);
	else if (us < 1000000)
		snprintf(out, len, "%.1fms", (double)us / 1e3);
	else
		snprintf(out, len, "%.2fs", (double)us / 1e6);
}

static void
inspect_fmt_status(struct buf *b, const struct inspect_item *it)
{
	size_t	i;

	buf_reset(b);
	for (i = 0; i < it->nstatus; i++) {
		if (i > 0)
			buf_append_byte(b, ' ');
		if (it->status[i].status == 0)
			buf_printf(b, "none:%zu", it->status[i].count);
		else
			buf_printf(b, "%d:%zu", it->status[i].status,
			    it->status[i].count);
	}
}

static int
inspect_width(size_t w, const char *s)
{
	size_t	n = strlen(s);

	return (int)(n > w ? n : w);
}

static void
inspect_print_dir(const char *name, const struct inspect_dir *d, int out)
{
	const struct inspect_item	*it;
	struct buf			 c1, c2, st;
	char				 p50[32], p99[32];
	int				 wh = 4, wm = 6, wp = 4, ws = 6, wc = 5;
	size_t				 i;

	printf("%s: %zu transaction%s\n", name, d->count,
	    d->count == 1 ? "" : "s");
	if (d->count == 0)
		return;
	buf_init(&c1);
	buf_init(&c2);
	buf_init(&st);

	for (i = 0; i < d->hosts.n; i++)
		wh = inspect_width(wh, d->hosts.items[i].host);
	printf("  %-*s  %*s\n", wh, "HOST", wc, "COUNT");
	for (i = 0; i < d->hosts.n; i++) {
		it = &d->hosts.items[i];
		printf("  %-*s  %*zu\n", wh, inspect_clean(&c1, it->host), wc,
		    it->count);
	}

	wh = 4;
	for (i = 0; i < d->endpoints.n; i++) {
		it = &d->endpoints.items[i];
		wm = inspect_width(wm, it->method);
		wh = inspect_width(wh, it->host);
		wp = inspect_width(wp, it->path);
		inspect_fmt_status(&st, it);
		ws = inspect_width(ws, st.data);
	}
	printf("\n  %-*s  ", wm, "METHOD");
	if (out)
		printf("%-*s  ", wh, "HOST");
	printf("%-*s  %*s  %-*s  %8s  %8s\n", wp, "PATH", wc, "COUNT", ws,
	    "STATUS", "P50", "P99");
	for (i = 0; i < d->endpoints.n; i++) {
		it = &d->endpoints.items[i];
		printf("  %-*s  ", wm, inspect_clean(&c1, it->method));
		if (out)
			printf("%-*s  ", wh, inspect_clean(&c2, it->host));
		inspect_fmt_status(&st, it);
		inspect_fmt_us(p50, sizeof p50, it, 50);
		inspect_fmt_us(p99, sizeof p99, it, 99);
		printf("%-*s  %*zu  %-*s  %8s  %8s\n", wp,
		    inspect_clean(&c1, it->path), wc, it->count, ws, st.data,
		    p50, p99);
	}
	buf_free(&c1);
	buf_free(&c2);
	buf_free(&st);
}

/* --- JSON output --- */

static void
inspect_json_str(struct buf *b, const char *s)
{
	json_append_string(b, s, strlen(s));
}

static void
inspect_json_dir(struct buf *b, const struct inspect_dir *d, int out)
{
	const struct inspect_item	*it;
	size_t				 i, j;

	buf_printf(b, "{\"count\":%zu,\"hosts\":[", d->count);
	for (i = 0; i < d->hosts.n; i++) {
		it = &d->hosts.items[i];
		buf_append_str(b, i == 0 ? "{\"host\":" : ",{\"host\":");
		inspect_json_str(b, it->host);
		buf_printf(b, ",\"count\":%zu}", it->count);
	}
	buf_append_str(b, "],\"endpoints\":[");
	for (i = 0; i < d->endpoints.n; i++) {
		it = &d->endpoints.items[i];
		buf_append_str(b, i == 0 ? "{\"method\":" : ",{\"method\":");
		inspect_json_str(b, it->method);
		if (out) {
			buf_append_str(b, ",\"host\":");
			inspect_json_str(b, it->host);
		}
		buf_append_str(b, ",\"path\":");
		inspect_json_str(b, it->path);
		buf_printf(b, ",\"count\":%zu,\"status\":{", it->count);
		for (j = 0; j < it->nstatus; j++) {
			if (j > 0)
				buf_append_byte(b, ',');
			if (it->status[j].status == 0)
				buf_printf(b, "\"none\":%zu",
				    it->status[j].count);
			else
				buf_printf(b, "\"%d\":%zu", it->status[j].status,
				    it->status[j].count);
		}
		if (it->nlat == 0)
			buf_append_str(b, "},\"p50_us\":null,\"p99_us\":null}");
		else
			buf_printf(b, "},\"p50_us\":%lld,\"p99_us\":%lld}",
			    (long long)inspect_percentile(it->lat, it->nlat, 50),
			    (long long)inspect_percentile(it->lat, it->nlat, 99));
	}
	buf_append_str(b, "]}");
}

static int
cmd_inspect_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_inspect_entry;
	struct snap_reader	*r;
	struct snap_txn		 t;
	struct inspect_dir	 dirs[2];	/* by enum snap_dir */
	struct buf		 key, out;
	const char		*path;
	char			*cause = NULL;
	struct cmd_inspect_o	 o = { .log_level = LOG_LEVEL_INFO };
	int			 ind, json, rc;

	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &rc) == -1)
		return rc;
	cli_log_init(e, o.log_level);
	json = o.json;
	if (argc - ind != 1)
		return cli_usage(e, argc - ind == 0 ? "no snapshot given" :
		    "one snapshot at a time");
	path = argv[ind];

	if ((r = snap_reader_open(path, &cause)) == NULL) {
		rc = cli_error(e, EXIT_USAGE, "%s", cause);
		free(cause);
		return rc;
	}
	memset(dirs, 0, sizeof dirs);
	buf_init(&key);
	while ((rc = snap_reader_next(r, &t, &cause)) == 1) {
		inspect_add(&dirs[t.dir], &t, &key);
		snap_txn_free(&t);
	}
	snap_reader_close(r);
	buf_free(&key);
	if (rc == -1) {
		rc = cli_error(e, EXIT_USAGE, "%s", cause);
		free(cause);
		goto out;
	}

	inspect_sort(&dirs[SNAP_DIR_IN].hosts);
	inspect_sort(&dirs[SNAP_DIR_IN].endpoints);
	inspect_sort(&dirs[SNAP_DIR_OUT].hosts);
	inspect_sort(&dirs[SNAP_DIR_OUT].endpoints);
	if (json) {
		buf_init(&out);
		buf_append_str(&out, "{\"file\":");
		inspect_json_str(&out, path);
		buf_printf(&out, ",\"transactions\":%zu,\"directions\":{\"in\":",
		    dirs[SNAP_DIR_IN].count + dirs[SNAP_DIR_OUT].count);
		inspect_json_dir(&out, &dirs[SNAP_DIR_IN], 0);
		buf_append_str(&out, ",\"out\":");
		inspect_json_dir(&out, &dirs[SNAP_DIR_OUT], 1);
		buf_append_str(&out, "}}\n");
		fwrite(out.data, 1, out.len, stdout);
		buf_free(&out);
	} else {
		printf("%s: %zu transactions\n\n", path,
		    dirs[SNAP_DIR_IN].count + dirs[SNAP_DIR_OUT].count);
		inspect_print_dir("in", &dirs[SNAP_DIR_IN], 0);
		printf("\n");
		inspect_print_dir("out", &dirs[SNAP_DIR_OUT], 1);
	}
	rc = EXIT_OK;
	if (fflush(stdout) == EOF || ferror(stdout))
		rc = cli_error(e, EXIT_USAGE, "writing output failed");
out:
	inspect_table_free(&dirs[SNAP_DIR_IN].hosts);
	inspect_table_free(&dirs[SNAP_DIR_IN].endpoints);
	inspect_table_free(&dirs[SNAP_DIR_OUT].hosts);
	inspect_table_free(&dirs[SNAP_DIR_OUT].endpoints);
	return rc;
}
