/*
 * gen.c -- the generator of gen.h: one thread, one event loop.
 *
 * The inbound transactions of the snapshot (those of this shard) are read
 * once; each becomes a pre-serialised request (request line, the recorded
 * headers but the hop-by-hop and framing ones and Host, a Host for the
 * target, Content-Length from the recorded body, keep-alive), so a send
 * is one write.  With a transforms file (gen-transform.h), the requests
 * a transform touches are built again for each send instead (clock,
 * fresh values, the live values the session's map holds) into the
 * connection's own buffer; the live answers to correlated endpoints fill
 * that map.  Responses are read with the strict parser of http.h
 * (Content-Length, chunked, EOF framing, HEAD) and compared with the
 * recorded ones.
 *
 * Two ways to use connections:
 *   - the pool, for the open models (constant, ramp, steps) and replay
 *     with one clone: a scheduler timer emits each send at its intended
 *     time; a send that finds no free connection (and none can be opened:
 *     at most `connections`) waits in a FIFO and is counted late when it
 *     leaves it more than 1 ms after its time.  Latency is measured from
 *     the intended time: that is the coordinated-omission correction, so
 *     the report is told interval 0.
 *   - streams, each with its own connection: the closed model (each
 *     client sends its next request when the previous answer came) and
 *     replay clones (each copy of a recorded session sends its requests
 *     in recorded order, none before its recorded time nor before the
 *     previous answer), also with one clone when the transforms have
 *     correlations (a request waits for the answer it takes a value
 *     from); each replay stream has its own map of live values.
 * A connection that fails (refused, reset, closed early, timed out,
 * garbage) costs the request in flight one transport error, is closed,
 * and is connected again when next needed.
 *
 * Connections are httpc.h's: a non-blocking TCP connect, then for
 * https:// targets a TLS handshake (one client context per run, SNI and
 * verification per connection) driven by the loop; the loop polls for
 * what the connection says it waits for (a TLS write may wait for
 * readability, a read for writability).  A failed handshake or
 * verification is a connect error; its reason is logged once per run.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "gen.h"
#include "gen-transform.h"
#include "grpc.h"
#include "http.h"
#include "httpc.h"
#include "httpc-h2.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "report.h"
#include "route.h"
#include "snap.h"
#include "sock.h"
#include "transform.h"
#include "url.h"
#include "xmalloc.h"

#define GEN_MAX_HEAD		(64 * 1024)
#define GEN_LATE_NS		(1000 * 1000ull)
#define GEN_CHECK_NS		(50 * 1000000ull)
#define GEN_RETRY_NS		(10 * 1000000ull)
#define GEN_SHOW_MAX		200	/* bytes of a value shown in a diff */
#define GEN_DIFFS_PER_RESPONSE	8

struct gen;
struct gen_stream;

struct gen_txn {
	struct snap_txn		 t;
	char			*method;
	char			*path;		/* endpoint: no query */
	struct report_endpoint	*ep;
	struct buf		 req;		/* pre-serialised request (not
						   with GEN_TRANSFORM_BUILD) */
	int			 head;		/* a HEAD request */
	uint64_t		 offset_ns;	/* recorded offset from the first */
	int64_t			 rec_us;	/* recorded start, -1 unknown */
	char			*session;
	size_t			 sidx;		/* session index (maps) */
	int			 xflags;	/* GEN_TRANSFORM_* */
	const struct gen_transform_cmp *xcmp;	/* left out of comparison */
	int			 grpc;		/* a gRPC call */
};

/* 1 if a request is a gRPC call (content-type application/grpc*). */
static int
gen_req_is_grpc(const struct snap_req *r)
{
	size_t	i;

	for (i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, "content-type") == 0)
			return grpc_is_content_type(span_from_str(
			    r->headers[i].value));
	return 0;
}

struct gen_send {
	size_t		txn;
	uint64_t	intended;	/* monotonic ns */
};

struct gen_h2conn;

struct gen_conn {
	TAILQ_ENTRY(gen_conn)	 entry;		/* idle list */
	TAILQ_ENTRY(gen_conn)	 wentry;	/* h2: waiting for the conn */
	struct gen_h2conn	*h2;		/* h2: the connection */
	int32_t			 sid;		/* h2: its stream, 0: none */
	int			 waiting;	/* h2: on h2->waiting */
	struct gen		*g;
	struct gen_stream	*stream;	/* NULL: a pool connection */
	struct loop_io		 io;
	struct loop_timer	 timer;		/* request timeout */
	struct httpc_conn	 hc;		/* connection, response */
	int			 idle;
	int			 busy;
	int			 fresh;		/* connected for this request */
	int			 h2_retried;	/* h2: sent again once */
	struct gen_send		 cur;
	struct buf		*wreq;		/* the request being written */
	struct buf		 req;		/* built for this send */
};
TAILQ_HEAD(gen_conns, gen_conn);

/* An h2 connection: the sends of several gen_conns go out as its
 * streams.  hc makes the connection (TCP, TLS with ALPN), then hands it
 * to the session s. */
struct gen_h2conn {
	struct gen		*g;
	struct httpc_conn	 hc;
	struct httpc_h2		*s;		/* once open */
	struct loop_io		 io;
	int			 polled;	/* io is in the loop */
	int			 events;	/* CONN_* polled for */
	struct loop_defer	 flush;		/* writes the round's streams */
	struct gen_conns	 waiting;	/* sends before it opened */
	struct gen_conn		*upc;		/* Upgrade: h2c: its request */
	struct buf		 upreq;		/* that request, asking */
};

struct gen_stream {
	struct gen		*g;
	struct gen_conn		 conn;
	struct loop_timer	 timer;
	size_t			*txns;		/* NULL: the closed model */
	size_t			 n;
	size_t			 pos;
	uint64_t		 base;		/* pass offset, ns */
	int			 done;
	struct gen_transform_map *map;		/* replay streams: its own */
};

struct gen {
	const struct gen_config	*cfg;
	struct report		*rep;
	volatile int		*stop;
	struct loop		*loop;

	struct httpc_target	 target;	/* address, Host, TLS */
	char			*prefix;	/* path prefix, "" if none */
	int			 tls_warned;

	int			 h2;		/* this run speaks h2 */
	int			 h2_upgrade;	/* by Upgrade: h2c */
	int			 h2_declined;	/* the server did not upgrade */
	const char		*scheme;	/* "http", "https" */
	struct gen_h2conn	*h2conns;	/* cfg->connections of them */
	size_t			 nslots;	/* gen_conns made, round-robin */
	int			 h2_warned;	/* a request h2 cannot carry */
	int			 freeing;

	struct gen_transform	*gx;		/* NULL: no transforms */
	uint64_t		 rng;		/* fresh values */
	struct gen_transform_map **smaps;	/* per session, for sends
						   outside replay streams */
	size_t			 nsmaps;
	uint64_t		 xbuilt;	/* requests built per send */
	uint64_t		 xedits;	/* values replaced */
	uint64_t		 xcaptured;	/* live values mapped */

	struct gen_txn		*txns;
	size_t			 ntxns;
	size_t			*order;		/* by recorded offset */
	uint64_t		 pass_ns;	/* replay: one pass */

	struct gen_conn		**pool;
	size_t			 npool;
	size_t			 pool_max;	/* connections (x streams) */
	struct gen_conns	 idle;

	struct gen_send		*queue;		/* ring of waiting sends */
	size_t			 qhead;
	size_t			 qlen;
	size_t			 qcap;

	struct gen_stream	*streams;
	size_t			 nstreams;
	size_t			 cursor;	/* closed model: next txn */

	struct loop_timer	 sched;
	uint64_t		 t0;
	uint64_t		 next_ns;	/* open models: next intended */
	double			 next_f;	/* same, as a double (ramps) */
	uint64_t		 k;		/* sends scheduled so far */
	int			 sched_done;
	int			 ending;	/* duration over or stopped */

	struct loop_timer	 endt;
	struct loop_timer	 check;
	uint64_t		 last_progress;

	uint64_t		 inflight;
	uint64_t		 sent;
	uint64_t		 answered;
	uint64_t		 errors;
	uint64_t		 last_answer;
	int			 started;
	int			 any_connected;
	uint64_t		 connect_errors;
};

static void	gen_conn_io(struct loop_io *, uint32_t);
static void	gen_conn_timeout(struct loop_timer *);
static void	gen_conn_finish(struct gen_conn *);
static void	gen_stream_next(struct gen_stream *);
static void	gen_maybe_done(struct gen *);
static void	gen_h2_detach(struct gen_conn *);
static void	gen_h2_send(struct gen_conn *);
static void	gen_h2_io(struct loop_io *, uint32_t);
static void	gen_h2_step(struct gen_h2conn *, int);
static void	gen_h2_start(struct gen_h2conn *, struct httpc_h2 *, char *);
static void	gen_h2_upgrade_start(struct gen_h2conn *);
static void	gen_h2_upgrade_io(struct gen_h2conn *, int);
static int	gen_h2_connect(struct gen_h2conn *);
static void	gen_h2_fail_waiting(struct gen_h2conn *, int);
static void	gen_conn_answer(struct gen_conn *, int, const struct http_msg *,
		    const char *, size_t);
static void	gen_end(struct gen *);

/* ---------------------------------------------------------------------- */
/* JSON-aware comparison. */

/*
 * A path is kept as a list of segments while walking; it is rendered as
 * "$.a.b[2].c" only for output.  Patterns: "$" then ".name", ".*",
 * "[N]", "[*]", ".." (any number of segments, as in "$..id") and
 * ["name"] (a member name holding dots or brackets, without escapes: the
 * transforms file's JSON paths).
 */
enum gen_seg_kind { GEN_SEG_KEY, GEN_SEG_INDEX, GEN_SEG_ANYKEY,
    GEN_SEG_ANYINDEX, GEN_SEG_DEEP };

struct gen_seg {
	enum gen_seg_kind	 kind;
	const char		*key;
	size_t			 keylen;
	size_t			 index;
};

struct gen_path {
	struct gen_seg	 seg[JSON_MAX_DEPTH + 2];
	size_t		 n;
};

struct gen_diffctx {
	const struct gen_transform_map *map;	/* recorded -> live values */
	char *const	*ignore;
	size_t		 nignore;
	struct buf	*out;
	size_t		 max;
	size_t		 kept;
	int		 found;
	int		 numeric;	/* numbers equal by value */
};

/* Parses a pattern into segments; -1 if it is not one we understand. */
static int
gen_pattern_parse(const char *s, struct gen_path *p)
{
	const char	*q;

	p->n = 0;
	if (*s++ != '$')
		return -1;
	while (*s != '\0') {
		if (p->n >= sizeof p->seg / sizeof p->seg[0])
			return -1;
		if (s[0] == '.' && s[1] == '.') {
			p->seg[p->n++].kind = GEN_SEG_DEEP;
			s++;	/* the next '.' or '[' starts a segment */
			if (*s == '.' && s[1] == '[')
				s++;
			continue;
		}
		if (*s == '.') {
			s++;
			q = s;
			while (*q != '\0' && *q != '.' && *q != '[')
				q++;
			if (q == s)
				return -1;
			if (q - s == 1 && *s == '*')
				p->seg[p->n].kind = GEN_SEG_ANYKEY;
			else {
				p->seg[p->n].kind = GEN_SEG_KEY;
				p->seg[p->n].key = s;
				p->seg[p->n].keylen = (size_t)(q - s);
			}
			p->n++;
			s = q;
			continue;
		}
		if (*s == '[') {
			s++;
			if (*s == '"') {
				q = ++s;
				while (*q != '\0' && *q != '"' && *q != '\\')
					q++;
				if (*q != '"' || q[1] != ']')
					return -1;
				p->seg[p->n].kind = GEN_SEG_KEY;
				p->seg[p->n].key = s;
				p->seg[p->n].keylen = (size_t)(q - s);
				p->n++;
				s = q + 2;
				continue;
			}
			if (s[0] == '*' && s[1] == ']') {
				p->seg[p->n++].kind = GEN_SEG_ANYINDEX;
				s += 2;
				continue;
			}
			if (*s < '0' || *s > '9')
				return -1;
			p->seg[p->n].kind = GEN_SEG_INDEX;
			p->seg[p->n].index = 0;
			while (*s >= '0' && *s <= '9') {
				p->seg[p->n].index = p->seg[p->n].index * 10 +
				    (size_t)(*s - '0');
				s++;
			}
			if (*s++ != ']')
				return -1;
			p->n++;
			continue;
		}
		return -1;
	}
	return 0;
}

static int
gen_seg_match(const struct gen_seg *pat, const struct gen_seg *seg)
{
	switch (pat->kind) {
	case GEN_SEG_KEY:
		return seg->kind == GEN_SEG_KEY &&
		    seg->keylen == pat->keylen &&
		    memcmp(seg->key, pat->key, pat->keylen) == 0;
	case GEN_SEG_INDEX:
		return seg->kind == GEN_SEG_INDEX && seg->index == pat->index;
	case GEN_SEG_ANYKEY:
		return seg->kind == GEN_SEG_KEY;
	case GEN_SEG_ANYINDEX:
		return seg->kind == GEN_SEG_INDEX;
	case GEN_SEG_DEEP:
		break;
	}
	return 0;
}

static int
gen_path_match(const struct gen_seg *pat, size_t np, const struct gen_seg *seg,
    size_t ns)
{
	size_t	i;

	if (np == 0)
		return ns == 0;
	if (pat[0].kind == GEN_SEG_DEEP) {
		for (i = 0; i <= ns; i++)
			if (gen_path_match(pat + 1, np - 1, seg + i, ns - i))
				return 1;
		return 0;
	}
	if (ns == 0 || !gen_seg_match(&pat[0], &seg[0]))
		return 0;
	return gen_path_match(pat + 1, np - 1, seg + 1, ns - 1);
}

static int
gen_path_ignored(const struct gen_diffctx *dc, const struct gen_path *path)
{
	struct gen_path	pat;
	size_t		i;

	for (i = 0; i < dc->nignore; i++) {
		if (gen_pattern_parse(dc->ignore[i], &pat) == -1)
			continue;
		if (gen_path_match(pat.seg, pat.n, path->seg, path->n))
			return 1;
	}
	return 0;
}

static void
gen_path_render(struct buf *b, const struct gen_path *path)
{
	size_t	i;

	buf_append_byte(b, '$');
	for (i = 0; i < path->n; i++) {
		if (path->seg[i].kind == GEN_SEG_INDEX)
			buf_printf(b, "[%zu]", path->seg[i].index);
		else {
			buf_append_byte(b, '.');
			buf_append(b, path->seg[i].key, path->seg[i].keylen);
		}
	}
}

/* Appends a value for a diff line: compact, tabs and newlines escaped by
 * the JSON text itself, cut at GEN_SHOW_MAX bytes. */
static void
gen_show(struct buf *b, const char *raw, size_t len)
{
	struct buf	tmp;

	if (raw == NULL) {
		buf_append_str(b, "(absent)");
		return;
	}
	buf_init(&tmp);
	json_append_compact(&tmp, raw, len);
	if (tmp.len > GEN_SHOW_MAX) {
		buf_append(b, tmp.data, GEN_SHOW_MAX);
		buf_append_str(b, "...");
	} else if (tmp.len > 0)
		buf_append(b, tmp.data, tmp.len);
	buf_free(&tmp);
}

static void
gen_diff_add(struct gen_diffctx *dc, const struct gen_path *path,
    const char *a, size_t alen, const char *b, size_t blen)
{
	if (gen_path_ignored(dc, path))
		return;
	dc->found++;
	if (dc->kept >= dc->max || dc->out == NULL)
		return;
	dc->kept++;
	gen_path_render(dc->out, path);
	buf_append_byte(dc->out, '\t');
	gen_show(dc->out, a, alen);
	buf_append_byte(dc->out, '\t');
	gen_show(dc->out, b, blen);
	buf_append_byte(dc->out, '\n');
}

/* One member or element: its decoded key (members) and raw value. */
struct gen_item {
	char		*key;
	size_t		 keylen;
	struct json_value v;
};

/* Reads the members (object) or elements (array) of the value at p. */
static int
gen_items(const char *raw, size_t len, int object, struct gen_item **items,
    size_t *n)
{
	struct json_parser	p;
	struct json_value	key, kv;
	struct buf		kb;
	size_t			cap = 0;
	int			r;

	*items = NULL;
	*n = 0;
	json_init(&p, raw, len);
	if ((object ? json_object_enter(&p) : json_array_enter(&p)) == -1)
		return -1;
	for (;;) {
		r = object ? json_object_next(&p, &key) : json_array_next(&p);
		if (r == 0)
			return 0;
		if (r == -1)
			return -1;
		if (*n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			*items = xreallocarray(*items, cap, sizeof **items);
		}
		(*items)[*n].key = NULL;
		(*items)[*n].keylen = 0;
		if (object) {
			struct json_parser kp;

			buf_init(&kb);
			json_init(&kp, key.p, key.len);
			if (json_read_string(&kp, &kb, NULL) == -1) {
				buf_free(&kb);
				return -1;
			}
			if (kb.data == NULL)
				buf_reserve(&kb, 1);
			(*items)[*n].key = buf_detach(&kb, &(*items)[*n].keylen);
		}
		if (json_skip(&p, &kv) == -1) {
			free((*items)[*n].key);
			return -1;
		}
		(*items)[*n].v = kv;
		(*n)++;
	}
}

static void
gen_items_free(struct gen_item *items, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(items[i].key);
	free(items);
}

/* a and b are the same string, or b is the live value the session's
 * map holds for the recorded a (an id the service issued anew). */
static int
gen_string_same(const struct json_value *a, const struct json_value *b,
    const struct gen_transform_map *map)
{
	struct json_parser	pa, pb;
	struct buf		da, db;
	const char		*live;
	size_t			 livelen;
	int			 same;

	if (a->len == b->len && memcmp(a->p, b->p, a->len) == 0)
		return 1;
	if (!a->escaped && !b->escaped && gen_transform_map_count(map) == 0)
		return 0;
	buf_init(&da);
	buf_init(&db);
	json_init(&pa, a->p, a->len);
	json_init(&pb, b->p, b->len);
	same = json_read_string(&pa, &da, NULL) == 0 &&
	    json_read_string(&pb, &db, NULL) == 0 && ((da.len == db.len &&
	    (da.len == 0 || memcmp(da.data, db.data, da.len) == 0)) ||
	    (da.len > 0 && (live = gen_transform_map_get(map, da.data, da.len,
	    &livelen)) != NULL && livelen == db.len &&
	    memcmp(live, db.data != NULL ? db.data : "", livelen) == 0));
	buf_free(&da);
	buf_free(&db);
	return same;
}

static void	gen_diff_value(struct gen_diffctx *, struct gen_path *,
		    const struct json_value *, const struct json_value *);

static void
gen_diff_object(struct gen_diffctx *dc, struct gen_path *path,
    const struct json_value *a, const struct json_value *b)
{
	struct gen_item	*ia, *ib;
	size_t		 na, nb, i, j;
	struct gen_seg	*seg = &path->seg[path->n];

	if (gen_items(a->p, a->len, 1, &ia, &na) == -1 ||
	    gen_items(b->p, b->len, 1, &ib, &nb) == -1)
		return;		/* validated before: cannot happen */
	path->n++;
	seg->kind = GEN_SEG_KEY;
	for (i = 0; i < na; i++) {
		seg->key = ia[i].key;
		seg->keylen = ia[i].keylen;
		for (j = 0; j < nb; j++)
			if (ib[j].keylen == ia[i].keylen &&
			    memcmp(ib[j].key, ia[i].key, ia[i].keylen) == 0)
				break;
		if (j == nb)
			gen_diff_add(dc, path, ia[i].v.p, ia[i].v.len, NULL, 0);
		else
			gen_diff_value(dc, path, &ia[i].v, &ib[j].v);
	}
	for (j = 0; j < nb; j++) {
		for (i = 0; i < na; i++)
			if (ib[j].keylen == ia[i].keylen &&
			    memcmp(ib[j].key, ia[i].key, ia[i].keylen) == 0)
				break;
		if (i < na)
			continue;
		seg->key = ib[j].key;
		seg->keylen = ib[j].keylen;
		gen_diff_add(dc, path, NULL, 0, ib[j].v.p, ib[j].v.len);
	}
	path->n--;
	gen_items_free(ia, na);
	gen_items_free(ib, nb);
}

static void
gen_diff_array(struct gen_diffctx *dc, struct gen_path *path,
    const struct json_value *a, const struct json_value *b)
{
	struct gen_item	*ia, *ib;
	size_t		 na, nb, i;
	struct gen_seg	*seg = &path->seg[path->n];

	if (gen_items(a->p, a->len, 0, &ia, &na) == -1 ||
	    gen_items(b->p, b->len, 0, &ib, &nb) == -1)
		return;
	path->n++;
	seg->kind = GEN_SEG_INDEX;
	for (i = 0; i < na || i < nb; i++) {
		seg->index = i;
		if (i >= nb)
			gen_diff_add(dc, path, ia[i].v.p, ia[i].v.len, NULL, 0);
		else if (i >= na)
			gen_diff_add(dc, path, NULL, 0, ib[i].v.p, ib[i].v.len);
		else
			gen_diff_value(dc, path, &ia[i].v, &ib[i].v);
	}
	path->n--;
	gen_items_free(ia, na);
	gen_items_free(ib, nb);
}

/*
 * A JSON number's decimal value, exactly: sign, significant digits (no
 * leading or trailing zeros) and the exponent of the last one.  0 or -1
 * (not a number, or an exponent beyond +-10^15).
 */
struct gen_number {
	int		 neg;
	char		 digits[64];	/* a prefix when longer; see len */
	size_t		 len;
	uint64_t	 hash;		/* of all the digits, when longer */
	int64_t		 exp;
};

static int
gen_number_parse(const char *s, size_t n, struct gen_number *v)
{
	const char	*p = s, *end = s + n, *fstart = NULL;
	int64_t		 e = 0, frac = 0;
	int		 eneg = 0, started = 0;
	size_t		 zeros = 0;	/* trailing zeros held back */

	memset(v, 0, sizeof *v);
	v->hash = 1469598103934665603ull;
	if (p < end && *p == '-') {
		v->neg = 1;
		p++;
	}
	if (p == end || *p < '0' || *p > '9')
		return -1;
	for (; p < end && ((*p >= '0' && *p <= '9') || *p == '.'); p++) {
		if (*p == '.') {
			if (fstart != NULL)
				return -1;
			fstart = p + 1;
			continue;
		}
		if (fstart != NULL)
			frac++;
		if (*p == '0' && !started)
			continue;
		started = 1;
		if (*p == '0') {
			zeros++;
			continue;
		}
		/* A non-zero digit: the zeros held back were inside. */
		for (; zeros > 0; zeros--) {
			if (v->len < sizeof v->digits)
				v->digits[v->len] = '0';
			v->len++;
			v->hash = (v->hash ^ '0') * 1099511628211ull;
		}
		if (v->len < sizeof v->digits)
			v->digits[v->len] = *p;
		v->len++;
		v->hash = (v->hash ^ (unsigned char)*p) * 1099511628211ull;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (p == end)
			return -1;
		for (; p < end; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			if (e > 1000000000000000ll)
				return -1;
			e = e * 10 + (*p - '0');
		}
	}
	if (p != end)
		return -1;
	if (v->len == 0) {
		/* Zero, whatever its sign or exponent. */
		v->neg = 0;
		return 0;
	}
	/* The last significant digit's exponent: the trailing zeros it
	 * held back raise it, the fraction digits lower it. */
	v->exp = (eneg ? -e : e) + (int64_t)zeros - frac;
	return 0;
}

/* 1 when the JSON numbers a and b have the same value (1.0 = 1 = 1e0,
 * 1e2 = 100, -0 = 0), compared on their decimal digits. */
int
gen_number_same(const char *a, size_t alen, const char *b, size_t blen)
{
	struct gen_number	x, y;

	if (gen_number_parse(a, alen, &x) == -1 ||
	    gen_number_parse(b, blen, &y) == -1)
		return alen == blen && memcmp(a, b, alen) == 0;
	return x.neg == y.neg && x.len == y.len && x.exp == y.exp &&
	    x.hash == y.hash && memcmp(x.digits, y.digits, x.len <
	    sizeof x.digits ? x.len : sizeof x.digits) == 0;
}

static void
gen_diff_value(struct gen_diffctx *dc, struct gen_path *path,
    const struct json_value *a, const struct json_value *b)
{
	if (gen_path_ignored(dc, path))
		return;
	if (a->type != b->type) {
		gen_diff_add(dc, path, a->p, a->len, b->p, b->len);
		return;
	}
	switch (a->type) {
	case JSON_OBJECT:
		if (path->n < JSON_MAX_DEPTH)
			gen_diff_object(dc, path, a, b);
		return;
	case JSON_ARRAY:
		if (path->n < JSON_MAX_DEPTH)
			gen_diff_array(dc, path, a, b);
		return;
	case JSON_STRING:
		if (!gen_string_same(a, b, dc->map))
			gen_diff_add(dc, path, a->p, a->len, b->p, b->len);
		return;
	default:
		/* Numbers compare by their exact text: 1.0 and 1 differ,
		 * and so do 2^53+1 and 2^53 (a double would merge them).
		 * Numerically, 1.0 = 1 and 1e2 = 100, still never through a
		 * double: the decimal digits and exponent are compared. */
		if (a->len == b->len && memcmp(a->p, b->p, a->len) == 0)
			return;
		if (dc->numeric && a->type == JSON_NUMBER &&
		    gen_number_same(a->p, a->len, b->p, b->len))
			return;
		gen_diff_add(dc, path, a->p, a->len, b->p, b->len);
		return;
	}
}

/* Validates a whole document; fills v with its raw top-level value. */
static int
gen_json_doc(const char *s, size_t len, struct json_value *v)
{
	struct json_parser	p;

	if (s == NULL || len == 0)
		return -1;
	json_init(&p, s, len);
	if (json_skip(&p, v) == -1 || json_finish(&p) == -1)
		return -1;
	return 0;
}

/* gen_json_diff, where a recorded string whose live value the session's
 * map holds is the same as that live value. */
static int
gen_json_diff_map(const char *a, size_t alen, const char *b, size_t blen,
    char *const *ignore, size_t nignore, const struct gen_transform_map *map,
    int numeric, struct buf *diffs, size_t max)
{
	struct json_value	va, vb;
	struct gen_diffctx	dc;
	struct gen_path		path;

	if (gen_json_doc(a, alen, &va) == -1 ||
	    gen_json_doc(b, blen, &vb) == -1)
		return -1;
	memset(&dc, 0, sizeof dc);
	dc.map = map;
	dc.numeric = numeric;
	dc.ignore = ignore;
	dc.nignore = nignore;
	dc.out = diffs;
	dc.max = max;
	path.n = 0;
	gen_diff_value(&dc, &path, &va, &vb);
	return dc.found;
}

int
gen_json_diff(const char *a, size_t alen, const char *b, size_t blen,
    char *const *ignore, size_t nignore, struct buf *diffs, size_t max)
{
	return gen_json_diff_map(a, alen, b, blen, ignore, nignore, NULL, 0,
	    diffs, max);
}

int
gen_json_diff_numeric(const char *a, size_t alen, const char *b, size_t blen,
    char *const *ignore, size_t nignore, struct buf *diffs, size_t max)
{
	return gen_json_diff_map(a, alen, b, blen, ignore, nignore, NULL, 1,
	    diffs, max);
}

/* ---------------------------------------------------------------------- */
/* Configuration and input. */

void
gen_config_init(struct gen_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->pattern = GEN_REPLAY;
	cfg->multiplier = 1;
	cfg->clones = 1;
	cfg->connections = 64;
	cfg->streams = 8;
	cfg->shard_n = 1;
	cfg->timeout_ns = 10 * 1000000000ull;
	cfg->cmp_status = 1;
	cfg->cmp_body = GEN_BODY_EXACT;
}

void
gen_config_free(struct gen_config *cfg)
{
	size_t	i;

	free(cfg->snapshot);
	free(cfg->target);
	for (i = 0; i < cfg->ncmp_headers; i++)
		free(cfg->cmp_headers[i]);
	free(cfg->cmp_headers);
	for (i = 0; i < cfg->nignore; i++)
		free(cfg->ignore[i]);
	free(cfg->ignore);
	free(cfg->ca_file);
	free(cfg->transforms);
	memset(cfg, 0, sizeof *cfg);
}

/*
 * "http[s]://host[:port][/prefix]" (url.h); the host is resolved here
 * (start-up) and an https:// target gets its TLS context: TLS 1.2 at
 * least, the server verified against cfg->ca_file or the system CAs
 * unless cfg->insecure.  The Host header is the authority as written.
 */
static int
gen_parse_target(struct gen *g, const char *target, char **cause)
{
	struct url	 u;
	const char	*why;
	size_t		 n;

	if (url_parse(target, strlen(target), 0, &u, &why) == -1) {
		*cause = xasprintf("target %s: %s", target, why);
		return -1;
	}
	if (u.query.p != NULL) {
		*cause = xasprintf("target %s: a query is not supported (the "
		    "snapshot holds the queries)", target);
		return -1;
	}
	if (httpc_target_init_alpn(&g->target, &u, g->cfg->ca_file,
	    g->cfg->insecure, g->cfg->http2 ? "h2,http/1.1" : NULL,
	    cause) == -1)
		return -1;
	g->scheme = u.tls ? "https" : "http";
	g->prefix = span_dup(u.path);
	n = u.path.len;
	if (n > 0 && g->prefix[n - 1] == '/')
		g->prefix[n - 1] = '\0';
	return 0;
}

static void
gen_build_request(struct gen *g, struct gen_txn *gt)
{
	gen_transform_write_request(&gt->req, &gt->t.req, g->target.host,
	    g->prefix);
}

/* "2026-11-26T06:16:11.347365Z" -> unix us; -1 if it is not one. */
static int64_t
gen_parse_ts(const char *s)
{
	struct tm	tm;
	const char	*p;
	int64_t		us = 0, scale = 100000;
	time_t		t;

	if (s == NULL)
		return -1;
	memset(&tm, 0, sizeof tm);
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			us += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	return (int64_t)t * 1000000 + us;
}

/* The session of t (snap_txn_session()), allocated. */
static char *
gen_session_of(const struct snap_txn *t)
{
	struct buf	out, scratch;
	char		*s;

	buf_init(&out);
	buf_init(&scratch);
	snap_txn_session(&out, t, &scratch);
	buf_free(&scratch);
	if ((s = buf_detach(&out, NULL)) == NULL)
		s = xstrdup("");
	return s;
}

static int
gen_cmp_offset(const void *a, const void *b, void *arg)
{
	const struct gen_txn	*txns = arg;
	size_t			 ia = *(const size_t *)a, ib = *(const size_t *)b;

	if (txns[ia].offset_ns != txns[ib].offset_ns)
		return txns[ia].offset_ns < txns[ib].offset_ns ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

static int
gen_cmp_session(const void *a, const void *b, void *arg)
{
	const struct gen_txn	*txns = arg;
	size_t			 ia = *(const size_t *)a, ib = *(const size_t *)b;

	return strcmp(txns[ia].session, txns[ib].session);
}

/* Numbers the sessions (gen_txn.sidx) and gives each a map: the sends
 * made outside replay streams (open and closed models, and replay without
 * correlations) carry live values per session through them. */
static void
gen_sessions_index(struct gen *g)
{
	size_t	*by, i, n = 0;

	by = xcalloc(g->ntxns, sizeof *by);
	for (i = 0; i < g->ntxns; i++)
		by[i] = i;
	qsort_r(by, g->ntxns, sizeof *by, gen_cmp_session, g->txns);
	for (i = 0; i < g->ntxns; i++) {
		if (i > 0 && strcmp(g->txns[by[i]].session,
		    g->txns[by[i - 1]].session) != 0)
			n++;
		g->txns[by[i]].sidx = n;
	}
	free(by);
	g->nsmaps = n + 1;
	g->smaps = xcalloc(g->nsmaps, sizeof *g->smaps);
	for (i = 0; i < g->nsmaps; i++)
		g->smaps[i] = gen_transform_map_create();
}

/*
 * The report rows of the transactions: endpoint templates (route.h)
 * learned from every path of the recording, so 120 requests to 40 ids
 * are one row "/orders/{id}".
 */
static void
gen_endpoints(struct gen *g)
{
	struct route_set	*rs = route_set_create(0);
	struct buf		 t;
	size_t			 i;

	for (i = 0; i < g->ntxns; i++)
		route_set_add(rs, g->txns[i].method, g->txns[i].path,
		    strlen(g->txns[i].path));
	buf_init(&t);
	for (i = 0; i < g->ntxns; i++) {
		buf_reset(&t);
		route_set_template(rs, g->txns[i].method, g->txns[i].path,
		    strlen(g->txns[i].path), &t);
		buf_append_byte(&t, '\0');
		g->txns[i].ep = report_endpoint(g->rep, g->txns[i].method,
		    t.data);
	}
	buf_free(&t);
	route_set_free(rs);
}


static int
gen_load(struct gen *g, char **cause)
{
	const struct gen_config	*cfg = g->cfg;
	struct snap_reader	*sr;
	struct gen_txn		*gt;
	struct snap_txn		 t;
	size_t			 cap = 0, index = 0, i;
	int64_t			 first = -1, at;
	const char		*q;
	int			 r;

	if ((sr = snap_reader_open(cfg->snapshot, cause)) == NULL)
		return -1;
	while ((r = snap_reader_next(sr, &t, cause)) == 1) {
		if (t.dir != SNAP_DIR_IN ||
		    index++ % cfg->shard_n != cfg->shard_i) {
			snap_txn_free(&t);
			continue;
		}
		if (g->ntxns == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			g->txns = xreallocarray(g->txns, cap, sizeof *g->txns);
		}
		gt = &g->txns[g->ntxns++];
		memset(gt, 0, sizeof *gt);
		gt->t = t;
		gt->method = xstrdup(t.req.method);
		q = gen_transform_origin_form(t.req.target);
		gt->path = xstrndup(q, strcspn(q, "?"));
		gt->head = strcmp(t.req.method, "HEAD") == 0;
		gt->grpc = gen_req_is_grpc(&t.req);
		buf_init(&gt->req);
		if (g->gx != NULL) {
			gt->xflags = gen_transform_flags(g->gx, &gt->t);
			gt->xcmp = gen_transform_cmp(g->gx, &gt->t);
		}
		/* Built per send when a transform touches it. */
		if (!(gt->xflags & GEN_TRANSFORM_BUILD))
			gen_build_request(g, gt);
		gt->session = gen_session_of(&gt->t);
	}
	snap_reader_close(sr);
	if (r == -1)
		return -1;
	if (g->ntxns == 0) {
		*cause = xasprintf("%s: no inbound (dir \"in\") transactions%s",
		    cfg->snapshot, cfg->shard_n > 1 ? " in this shard" : "");
		return -1;
	}

	/* Recorded offsets: timing.start_us, else ts, else back to back. */
	for (i = 0; i < g->ntxns; i++) {
		at = g->txns[i].t.start_us;
		if (at < 0)
			at = gen_parse_ts(g->txns[i].t.ts);
		g->txns[i].offset_ns = (uint64_t)(at < 0 ? -1 : at);
		g->txns[i].rec_us = at < 0 ? -1 : at;
		if (at >= 0 && (first == -1 || at < first))
			first = at;
	}
	for (i = 0; i < g->ntxns; i++) {
		if (g->txns[i].offset_ns == UINT64_MAX || first < 0)
			g->txns[i].offset_ns = 0;
		else
			g->txns[i].offset_ns = (g->txns[i].offset_ns -
			    (uint64_t)first) * 1000;
	}
	g->order = xcalloc(g->ntxns, sizeof *g->order);
	for (i = 0; i < g->ntxns; i++)
		g->order[i] = i;
	qsort_r(g->order, g->ntxns, sizeof *g->order, gen_cmp_offset,
	    g->txns);

	gen_endpoints(g);
	if (g->gx != NULL)
		gen_sessions_index(g);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Comparison with the recording. */

static const char *
gen_snap_header(const struct snap_res *res, const char *name)
{
	size_t	i;

	for (i = 0; i < res->nheaders; i++)
		if (strcasecmp(res->headers[i].name, name) == 0)
			return res->headers[i].value;
	return NULL;
}

/*
 * A gRPC call's recorded grpc-status (its trailers, else the headers of
 * a trailers-only answer), or NULL: not a gRPC call (request
 * content-type application/grpc*), or none recorded.
 */
static const char *
gen_snap_grpc_status(const struct snap_txn *t)
{
	size_t	i;

	if (!gen_req_is_grpc(&t->req))
		return NULL;
	for (i = 0; i < t->res.ntrailers; i++)
		if (strcasecmp(t->res.trailers[i].name, "grpc-status") == 0)
			return t->res.trailers[i].value;
	return gen_snap_header(&t->res, "grpc-status");
}

static char *
gen_show_bytes(const char *p, size_t len)
{
	struct buf	b;
	size_t		n = len > GEN_SHOW_MAX ? GEN_SHOW_MAX : len;

	buf_init(&b);
	buf_append(&b, p != NULL ? p : "", n);
	if (n < len)
		buf_printf(&b, "... (%zu bytes)", len);
	if (b.data == NULL)
		buf_reserve(&b, 1);
	return buf_detach(&b, NULL);
}

/*
 * Records one difference; a response counts once (report_compare) however
 * many of its fields differ, the others are kept as further differences.
 */
static void
gen_report_diff(struct report_endpoint *ep, const char *txn,
    const char *field, const char *expected, const char *actual, int *differ)
{
	if ((*differ)++ == 0)
		report_compare(ep, txn, field, expected, actual);
	else
		report_diff(ep, txn, field, expected, actual);
}

/*
 * Over h2, the headers HTTP/1.1 needs and h2 does not carry are no
 * difference from an HTTP/1.1 recording: pseudo-headers, the hop-by-hop
 * ones, and a Content-Length the h2 answer left out (DATA frames frame
 * the body).
 */
static int
gen_h2_uncompared(const char *name, int present)
{
	return name[0] == ':' || strcasecmp(name, "te") == 0 ||
	    httpc_h2_header_is_hop(span_from_str(name)) ||
	    (!present && strcasecmp(name, "content-length") == 0);
}

/*
 * The headers the run compares (--compare-headers): those the transforms
 * make volatile, and over h2 the ones h2 leaves out, are not compared; a
 * recorded value whose live counterpart the session's map holds equals it.
 */
static void
gen_compare_headers(struct gen *g, struct gen_txn *gt,
    const struct http_msg *m, const struct gen_transform_map *map,
    int *differ)
{
	const struct gen_config		*cfg = g->cfg;
	const struct snap_res		*res = &gt->t.res;
	const struct gen_transform_cmp	*xc = gt->xcmp;
	const char			*txn = gt->t.id != NULL ? gt->t.id : "";
	const struct http_header	*h;
	const char			*ev, *live;
	char				*b;
	struct buf			 name;
	size_t				 i, j, livelen;

	for (i = 0; i < cfg->ncmp_headers; i++) {
		/* Volatile by the transforms: not compared. */
		for (j = 0; xc != NULL && j < xc->nheaders; j++)
			if (strcasecmp(xc->headers[j], cfg->cmp_headers[i]) == 0)
				break;
		if (xc != NULL && j < xc->nheaders)
			continue;
		ev = gen_snap_header(res, cfg->cmp_headers[i]);
		h = http_find_header(m, cfg->cmp_headers[i]);
		if (g->h2 && gen_h2_uncompared(cfg->cmp_headers[i], h != NULL))
			continue;
		if (ev == NULL && h == NULL)
			continue;
		if (ev != NULL && h != NULL && span_eq_str(h->value, ev))
			continue;
		if (ev != NULL && h != NULL && *ev != '\0' &&
		    (live = gen_transform_map_get(map, ev, strlen(ev),
		    &livelen)) != NULL && h->value.len == livelen &&
		    memcmp(h->value.p, live, livelen) == 0)
			continue;	/* the live value of a recorded one */
		buf_init(&name);
		buf_printf(&name, "header:%s", cfg->cmp_headers[i]);
		b = h != NULL ? span_dup(h->value) : xstrdup("(absent)");
		gen_report_diff(gt->ep, txn, name.data,
		    ev != NULL ? ev : "(absent)", b, differ);
		free(b);
		buf_free(&name);
	}
}

static void
gen_compare(struct gen *g, struct gen_txn *gt, const struct http_msg *m,
    const char *body, size_t body_len, const struct gen_transform_map *map)
{
	const struct gen_config		*cfg = g->cfg;
	const struct snap_res		*res = &gt->t.res;
	const struct http_header	*h;
	const char			*txn = gt->t.id != NULL ? gt->t.id : "";
	const struct gen_transform_cmp	*xc = gt->xcmp;
	const char			*ev;
	char				 sa[16], sb[16], *a, *b, *line, *t1, *t2;
	char				**ignore = cfg->ignore;
	struct buf			 diffs;
	size_t				 i, nignore = cfg->nignore;
	int				 n, differ = 0;
	enum gen_body_cmp		 mode = cfg->cmp_body;

	if (!gt->t.has_res)
		return;
	if (cfg->cmp_status && m->status != res->status) {
		snprintf(sa, sizeof sa, "%d", res->status);
		snprintf(sb, sizeof sb, "%d", m->status);
		gen_report_diff(gt->ep, txn, "status", sa, sb, &differ);
	}
	/* A gRPC call's status is its grpc-status (the answer's trailers,
	 * given with its headers over h2). */
	if (cfg->cmp_status && (ev = gen_snap_grpc_status(&gt->t)) != NULL &&
	    ((h = http_find_header(m, "grpc-status")) == NULL ||
	    !span_eq_str(h->value, ev))) {
		b = h != NULL ? span_dup(h->value) : xstrdup("(absent)");
		gen_report_diff(gt->ep, txn, "grpc-status", ev, b, &differ);
		free(b);
	}
	gen_compare_headers(g, gt, m, map, &differ);
	/* With transforms, bodies compare JSON-aware (exact ones that are
	 * not JSON still compare exactly): the volatile members are left
	 * out, the live values of recorded ones are the same. */
	if (g->gx != NULL && mode == GEN_BODY_EXACT)
		mode = GEN_BODY_JSON;
	if (xc != NULL && xc->npaths > 0 && mode != GEN_BODY_NONE) {
		nignore = cfg->nignore + xc->npaths;
		ignore = xcalloc(nignore, sizeof *ignore);
		for (i = 0; i < cfg->nignore; i++)
			ignore[i] = cfg->ignore[i];
		for (i = 0; i < xc->npaths; i++)
			ignore[cfg->nignore + i] = xc->paths[i];
	}
	switch (mode) {
	case GEN_BODY_NONE:
		break;
	case GEN_BODY_JSON:
		buf_init(&diffs);
		n = gen_json_diff_map(res->body, res->body_len, body,
		    body_len, ignore, nignore, map, cfg->numeric, &diffs,
		    GEN_DIFFS_PER_RESPONSE);
		if (n > 0 && diffs.data != NULL) {
			for (line = diffs.data; *line != '\0'; line = t2 + 1) {
				t1 = strchr(line, '\t');
				t2 = t1 != NULL ? strchr(t1 + 1, '\n') : NULL;
				if (t1 == NULL || t2 == NULL)
					break;
				*t1 = '\0';
				*t2 = '\0';
				a = t1 + 1;
				b = strchr(a, '\t');
				if (b == NULL)
					break;
				*b++ = '\0';
				gen_report_diff(gt->ep, txn, line, a, b,
				    &differ);
			}
		}
		buf_free(&diffs);
		if (n != -1)
			break;
		/* Not JSON on one side: compare the bytes. */
		/* FALLTHROUGH */
	case GEN_BODY_EXACT:
		/* gRPC: the volatile fields left out (gen-transform.h). */
		if ((body_len != res->body_len || (body_len > 0 &&
		    memcmp(body, res->body, body_len) != 0)) &&
		    !(gt->grpc && gen_transform_grpc_same(xc, map,
		    (struct span){ res->body, res->body_len },
		    (struct span){ body, body_len }))) {
			a = gen_show_bytes(res->body, res->body_len);
			b = gen_show_bytes(body, body_len);
			gen_report_diff(gt->ep, txn, "body", a, b, &differ);
			free(a);
			free(b);
		}
		break;
	}
	if (ignore != cfg->ignore)
		free(ignore);
	if (differ == 0)
		report_compare(gt->ep, txn, NULL, NULL, NULL);
}

/* ---------------------------------------------------------------------- */
/* Connections (httpc.h: TCP, then TLS for https://). */

static uint64_t
gen_at_us(struct gen *g, uint64_t now)
{
	return now > g->t0 ? (now - g->t0) / 1000 : 0;
}

static void
gen_conn_init(struct gen *g, struct gen_conn *c, struct gen_stream *s)
{
	memset(c, 0, sizeof *c);
	c->g = g;
	c->stream = s;
	if (g->h2)
		c->h2 = &g->h2conns[g->nslots % g->cfg->connections];
	g->nslots++;
	httpc_conn_init(&c->hc, &g->target);
	c->hc.resp.max_head = GEN_MAX_HEAD;
	buf_init(&c->req);
	loop_timer_init(&c->timer, gen_conn_timeout, c);
}

static void
gen_conn_close(struct gen_conn *c)
{
	if (c->h2 != NULL) {
		gen_h2_detach(c);
		return;
	}
	if (c->hc.conn != NULL)
		loop_io_del(c->g->loop, &c->io);
	/* TLS: one non-blocking close_notify, no wait (conn_close). */
	httpc_conn_close(&c->hc);
}

/* Polls for what the connection waits for. */
static void
gen_conn_events(struct gen_conn *c)
{
	loop_io_mod(c->g->loop, &c->io,
	    conn_epoll_events(httpc_conn_events(&c->hc)));
}

/* Ends the request in flight with a transport error, closes the
 * connection and lets its owner go on. */
static void
gen_conn_fail(struct gen_conn *c, int error)
{
	struct gen	*g = c->g;
	struct gen_txn	*gt;
	uint64_t	 now = loop_now_update(g->loop);

	gen_conn_close(c);
	if (!c->busy)
		return;
	loop_timer_del(g->loop, &c->timer);
	gt = &g->txns[c->cur.txn];
	report_record(g->rep, gt->ep, 0, error,
	    now > c->cur.intended ? (now - c->cur.intended) / 1000 : 0,
	    gen_at_us(g, now), 0);
	g->errors++;
	if (error == REPORT_ERR_CONNECT)
		g->connect_errors++;
	g->last_answer = now;
	gen_conn_finish(c);
}

static void
gen_conn_timeout(struct loop_timer *t)
{
	gen_conn_fail(t->arg, REPORT_ERR_TIMEOUT);
}

static void
gen_conn_write(struct gen_conn *c)
{
	if (httpc_conn_write(&c->hc) == -1) {
		gen_conn_fail(c, c->fresh ? REPORT_ERR_CONNECT :
		    REPORT_ERR_RESET);
		return;
	}
	gen_conn_events(c);
}

static int
gen_conn_connect(struct gen_conn *c)
{
	struct gen	*g = c->g;

	if (httpc_conn_open(&c->hc) == -1)
		return -1;
	if (loop_io_add(g->loop, &c->io, httpc_conn_fd(&c->hc),
	    conn_epoll_events(CONN_READ | CONN_WRITE), gen_conn_io, c) == -1) {
		httpc_conn_close(&c->hc);
		return -1;
	}
	return 0;
}

/* The map of the session a send on c belongs to: a replay stream's
 * own, else its session's; NULL without correlations. */
static struct gen_transform_map *
gen_conn_map(struct gen_conn *c)
{
	struct gen	*g = c->g;

	if (c->stream != NULL && c->stream->map != NULL)
		return c->stream->map;
	if (g->smaps != NULL)
		return g->smaps[g->txns[c->cur.txn].sidx];
	return NULL;
}

/* Builds the request of c's send with the transforms applied, at send
 * time: the clock is read now (or frozen by --now), fresh values are
 * fresh per send, live values are those the session has seen so far. */
static void
gen_conn_build(struct gen_conn *c)
{
	struct gen			*g = c->g;
	struct gen_txn			*gt = &g->txns[c->cur.txn];
	struct gen_transform_send	 s;
	struct timespec			 ts;

	if (g->cfg->has_now)
		s.now_us = g->cfg->now_us + (int64_t)(gt->offset_ns / 1000);
	else {
		clock_gettime(CLOCK_REALTIME, &ts);
		s.now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	}
	s.rec_us = gt->rec_us;
	s.rng = &g->rng;
	s.map = gen_conn_map(c);
	buf_reset(&c->req);
	g->xedits += gen_transform_request(g->gx, &gt->t, g->target.host,
	    g->prefix,
	    &s, &c->req);
	g->xbuilt++;
	c->wreq = &c->req;
}

/* The live answer to a transaction of a correlation's `from` endpoint:
 * its values go into the session's map before the next request of the
 * session is built. */
static void
gen_conn_capture(struct gen_conn *c, const struct http_msg *m,
    const char *body, size_t body_len)
{
	struct gen		*g = c->g;
	struct gen_txn		*gt = &g->txns[c->cur.txn];
	struct gen_transform_map *map = gen_conn_map(c);
	struct transform_msg	 live;

	if (map == NULL)
		return;
	memset(&live, 0, sizeof live);
	live.headers = m->headers;
	live.nheaders = m->nheaders;
	live.body = (struct span){ body, body_len };
	g->xcaptured += gen_transform_capture(g->gx, &gt->t, &live, map);
}

/* Starts send s on connection c (connecting first if needed). */
static void
gen_conn_send(struct gen_conn *c, const struct gen_send *s)
{
	struct gen	*g = c->g;
	uint64_t	 now = loop_now(g->loop);

	if (!g->started) {
		struct timespec	ts;

		g->started = 1;
		clock_gettime(CLOCK_REALTIME, &ts);
		g->rep->start_us = (int64_t)ts.tv_sec * 1000000 +
		    ts.tv_nsec / 1000 - (int64_t)gen_at_us(g, now);
	}
	if (now > s->intended + GEN_LATE_NS)
		g->rep->late++;
	c->cur = *s;
	c->busy = 1;
	c->wreq = &g->txns[s->txn].req;
	if (g->txns[s->txn].xflags & GEN_TRANSFORM_BUILD)
		gen_conn_build(c);
	c->fresh = 0;
	c->h2_retried = 0;
	g->inflight++;
	g->sent++;
	loop_timer_add(g->loop, &c->timer, g->cfg->timeout_ns);
	if (c->h2 != NULL) {
		gen_h2_send(c);
		return;
	}
	httpc_conn_send(&c->hc, c->wreq->data, c->wreq->len,
	    g->txns[s->txn].head);
	if (c->hc.state == HTTPC_CLOSED) {
		c->fresh = 1;
		if (gen_conn_connect(c) == -1) {
			gen_conn_fail(c, REPORT_ERR_CONNECT);
			return;
		}
		return;		/* written once connected */
	}
	gen_conn_write(c);
}

/* 1 when the answer to c's request is looked at (captured, compared). */
static int
gen_conn_looks(const struct gen_conn *c)
{
	const struct gen	*g = c->g;

	return (g->txns[c->cur.txn].xflags & GEN_TRANSFORM_CAPTURE) ||
	    g->cfg->cmp_status || g->cfg->ncmp_headers > 0 ||
	    g->cfg->cmp_body != GEN_BODY_NONE;
}

/* An answer to c's request (m: its head, NULL if it could not be
 * parsed): recorded, its live values captured, compared. */
/* Counts a gRPC call's answer by its grpc-status (trailers, given with
 * the headers over h2; -1 when none came). */
static void
gen_record_grpc(struct report_endpoint *ep, const struct http_msg *m)
{
	const struct http_header	*h;
	int				 code = -1;

	h = http_find_header(m, "grpc-status");
	if (h != NULL && h->value.len > 0 && h->value.len <= 2 &&
	    h->value.p[0] >= '0' && h->value.p[0] <= '9')
		code = grpc_code_parse(h->value.p, h->value.len);
	report_record_grpc(ep, code);
}

static void
gen_conn_answer(struct gen_conn *c, int status, const struct http_msg *m,
    const char *body, size_t body_len)
{
	struct gen	*g = c->g;
	struct gen_txn	*gt = &g->txns[c->cur.txn];
	uint64_t	 now = loop_now_update(g->loop);

	loop_timer_del(g->loop, &c->timer);
	report_record(g->rep, gt->ep, status, -1,
	    now > c->cur.intended ? (now - c->cur.intended) / 1000 : 0,
	    gen_at_us(g, now), 0);
	g->answered++;
	g->last_answer = now;
	if (m == NULL)
		return;
	if (gt->grpc)
		gen_record_grpc(gt->ep, m);
	if (gt->xflags & GEN_TRANSFORM_CAPTURE)
		gen_conn_capture(c, m, body, body_len);
	if (g->cfg->cmp_status || g->cfg->ncmp_headers > 0 ||
	    g->cfg->cmp_body != GEN_BODY_NONE)
		gen_compare(g, gt, m, body, body_len, gen_conn_map(c));
}

/* A complete HTTP/1.1 response: record, compare, and reuse or close. */
static void
gen_conn_done(struct gen_conn *c, const char *body, size_t body_len)
{
	struct gen_txn	*gt = &c->g->txns[c->cur.txn];
	struct http_msg	 m;
	enum http_err	 err;
	size_t		 erroff;
	int		 keep = c->hc.resp.keep_alive, parsed = 0;

	if (gen_conn_looks(c))
		parsed = http_parse_response(c->hc.in.data,
		    c->hc.resp.head_len, GEN_MAX_HEAD, gt->head, &m, &err,
		    &erroff) > 0;
	gen_conn_answer(c, c->hc.resp.status, parsed ? &m : NULL, body,
	    body_len);
	if (!keep)
		gen_conn_close(c);
	else
		gen_conn_events(c);
	gen_conn_finish(c);
}

/* Reads the response from what has come; returns 1 when it completed or
 * the connection failed (the caller stops looking at c). */
static int
gen_conn_parse(struct gen_conn *c)
{
	struct span	body;
	int		r;

	if (!c->busy) {
		/* Bytes or a close on an idle connection: drop it. */
		gen_conn_close(c);
		return 1;
	}
	if ((r = httpc_conn_response(&c->hc, &body)) == 0)
		return 0;
	if (r == -1)
		gen_conn_fail(c, c->hc.resp.err == HTTPC_E_CLOSED ?
		    REPORT_ERR_RESET : REPORT_ERR_PROTOCOL);
	else
		gen_conn_done(c, body.p, body.len);
	return 1;
}

/* Logs why a handshake failed, once per run (every connection of a run
 * fails the same way, usually). */
static void
gen_tls_warn(struct gen *g, const char *why)
{
	if (g->tls_warned)
		return;
	g->tls_warned = 1;
	log_warn("%s: TLS handshake failed: %s", g->cfg->target, why);
}

/* One step of hc's connect and TLS handshake (httpc_conn_handshake's
 * result), noting that the target answered and why TLS failed. */
static int
gen_handshake_step(struct gen *g, struct httpc_conn *hc)
{
	int	r;

	r = httpc_conn_handshake(hc);
	if (hc->state != HTTPC_CONNECTING)
		g->any_connected = 1;
	if (r == -1 && hc->state == HTTPC_HANDSHAKE)
		gen_tls_warn(g, hc->err);
	return r;
}

/* Advances the connect, then the TLS handshake; the request goes out
 * once the connection is open. */
static void
gen_conn_handshake(struct gen_conn *c)
{
	int	r;

	r = gen_handshake_step(c->g, &c->hc);
	if (r == -1) {
		gen_conn_fail(c, REPORT_ERR_CONNECT);
	} else if (r == 1 && c->busy)
		gen_conn_write(c);
	else
		gen_conn_events(c);
}

/* I/O: the write first (over TLS it may wait for readability), then the
 * read (it may wait for writability). */
static void
gen_conn_io(struct loop_io *io, uint32_t events)
{
	struct gen_conn	*c = io->arg;
	int		 ops, r;

	if (c->hc.state != HTTPC_OPEN) {
		gen_conn_handshake(c);
		return;
	}
	ops = httpc_conn_ready(&c->hc, conn_epoll_ready(events));
	if ((ops & CONN_WRITE) && c->busy && c->hc.woff < c->hc.req_len) {
		if (httpc_conn_write(&c->hc) == -1) {
			gen_conn_fail(c, c->fresh ? REPORT_ERR_CONNECT :
			    REPORT_ERR_RESET);
			return;
		}
	}
	if (ops & CONN_READ) {
		if ((r = httpc_conn_read(&c->hc)) == -1) {
			if (!c->busy) {
				gen_conn_close(c);
				return;
			}
			gen_conn_fail(c, c->fresh && c->hc.in.len == 0 ?
			    REPORT_ERR_CONNECT : REPORT_ERR_RESET);
			return;
		}
		if (r == 1 && gen_conn_parse(c))
			return;
	}
	gen_conn_events(c);
}

/* ---------------------------------------------------------------------- */
/* HTTP/2: the sends of several gen_conns as streams of one connection. */

static void
gen_h2_poll(struct gen_h2conn *h)
{
	int	ev;

	/* A flush to come this round polls after its write. */
	if (!h->polled || (h->s != NULL && h->flush.queued))
		return;
	ev = h->s != NULL ? httpc_h2_events(h->s) : httpc_conn_events(&h->hc);
	if (ev != h->events) {
		loop_io_mod(h->g->loop, &h->io, conn_epoll_events(ev));
		h->events = ev;
	}
}

static void
gen_h2_close(struct gen_h2conn *h)
{
	if (h->polled)
		loop_io_del(h->g->loop, &h->io);
	h->polled = 0;
	httpc_h2_free(h->s);
	h->s = NULL;
	httpc_conn_close(&h->hc);
	h->hc.req = NULL;
	h->hc.req_len = h->hc.woff = 0;
}

/* c's send leaves the connection: off the waiting list, or its stream
 * reset (a timeout; the run's end). */
static void
gen_h2_detach(struct gen_conn *c)
{
	struct gen_h2conn	*h = c->h2;

	if (c->waiting) {
		TAILQ_REMOVE(&h->waiting, c, wentry);
		c->waiting = 0;
	}
	if (h->upc == c) {
		/* Its HTTP/1.1 exchange cannot be left half way. */
		h->upc = NULL;
		gen_h2_close(h);
		if (!TAILQ_EMPTY(&h->waiting) && !c->g->freeing &&
		    gen_h2_connect(h) == -1)
			gen_h2_fail_waiting(h, REPORT_ERR_CONNECT);
	}
	if (c->sid > 0 && h->s != NULL && !c->g->freeing) {
		(void)httpc_h2_cancel(h->s, c->sid);
		gen_h2_poll(h);
	}
	c->sid = 0;
}

/* Every send waiting for h fails with error (taken off first: failing
 * one may start the next send, which waits for a new connection). */
static void
gen_h2_fail_waiting(struct gen_h2conn *h, int error)
{
	struct gen_conns	 list;
	struct gen_conn		*c;

	TAILQ_INIT(&list);
	TAILQ_CONCAT(&list, &h->waiting, wentry);
	while ((c = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, c, wentry);
		c->waiting = 0;
		gen_conn_fail(c, error);
	}
}

/* Submits c's request as a stream of h's session (open). */
static void
gen_h2_submit(struct gen_conn *c)
{
	struct gen		*g = c->g;
	struct gen_h2conn	*h = c->h2;
	struct httpc_h2_req	 req;
	struct http_msg		 m;
	const char		*why;

	if (httpc_h2_req_from_http1(&req, &m, c->wreq->data, c->wreq->len,
	    g->scheme, g->target.host, &why) == -1) {
		if (!g->h2_warned++)
			log_warn("%s: a request h2 cannot carry: %s",
			    g->txns[c->cur.txn].t.id != NULL ?
			    g->txns[c->cur.txn].t.id : "?", why);
		gen_conn_fail(c, REPORT_ERR_PROTOCOL);
		return;
	}
	if ((c->sid = httpc_h2_submit(h->s, &req, c)) == -1) {
		c->sid = 0;
		gen_conn_fail(c, REPORT_ERR_RESET);
	}
}

static int
gen_h2_connect(struct gen_h2conn *h)
{
	if (httpc_conn_open(&h->hc) == -1)
		return -1;
	if (loop_io_add(h->g->loop, &h->io, httpc_conn_fd(&h->hc),
	    conn_epoll_events(CONN_READ | CONN_WRITE), gen_h2_io, h) == -1) {
		httpc_conn_close(&h->hc);
		return -1;
	}
	h->polled = 1;
	h->events = CONN_READ | CONN_WRITE;
	return 0;
}

/* Starts c's send: a stream now if the session is open, else once the
 * connection is made (connecting it if nothing is under way). */
static void
gen_h2_send(struct gen_conn *c)
{
	struct gen_h2conn	*h = c->h2;

	if (h->s != NULL && httpc_h2_is_open(h->s)) {
		gen_h2_submit(c);
		/* The streams of this round go out in one write at its end,
		 * with no change of what is polled for. */
		loop_defer(c->g->loop, &h->flush);
		return;
	}
	TAILQ_INSERT_TAIL(&h->waiting, c, wentry);
	c->waiting = 1;
	c->fresh = 1;
	if (h->s == NULL && h->hc.state == HTTPC_CLOSED &&
	    gen_h2_connect(h) == -1)
		gen_h2_fail_waiting(h, REPORT_ERR_CONNECT);
}

/* The connection is made: the session starts over it, with the sends
 * that waited. */
static void
gen_h2_open(struct gen_h2conn *h)
{
	struct gen		*g = h->g;
	struct conn		*conn = h->hc.conn;
	struct httpc_h2_config	 cfg;
	char			 alpn[32], *cause = NULL;

	if (conn_is_tls(conn) && (!conn_tls_alpn(conn, alpn, sizeof alpn) ||
	    strcmp(alpn, "h2") != 0)) {
		gen_tls_warn(g, "the server did not choose h2 by ALPN");
		gen_h2_close(h);
		gen_h2_fail_waiting(h, REPORT_ERR_PROTOCOL);
		return;
	}
	memset(&cfg, 0, sizeof cfg);
	h->hc.conn = NULL;		/* the session's now */
	h->hc.state = HTTPC_CLOSED;
	gen_h2_start(h, httpc_h2_create(conn, &cfg, &cause), cause);
}

/* The session s (NULL: it could not be made, cause says why) starts with
 * the sends that waited. */
static void
gen_h2_start(struct gen_h2conn *h, struct httpc_h2 *s, char *cause)
{
	struct gen_conns	 list;
	struct gen_conn		*c;

	if ((h->s = s) == NULL) {
		log_warn("%s: %s", h->g->cfg->target, cause);
		free(cause);
		gen_h2_close(h);
		gen_h2_fail_waiting(h, REPORT_ERR_CONNECT);
		return;
	}
	TAILQ_INIT(&list);
	TAILQ_CONCAT(&list, &h->waiting, wentry);
	while ((c = TAILQ_FIRST(&list)) != NULL) {
		TAILQ_REMOVE(&list, c, wentry);
		c->waiting = 0;
		gen_h2_submit(c);
	}
	/* The preface and the waiting requests go out now, in one write,
	 * before the server's SETTINGS are read (as browsers do). */
	gen_h2_step(h, CONN_WRITE);
}

/* Upgrade: h2c: the first waiting send goes out as the HTTP/1.1 request
 * that asks for h2; the others wait for the answer. */
static void
gen_h2_upgrade_start(struct gen_h2conn *h)
{
	struct gen_conn	*c;

	if ((c = TAILQ_FIRST(&h->waiting)) == NULL) {
		gen_h2_close(h);
		return;
	}
	TAILQ_REMOVE(&h->waiting, c, wentry);
	c->waiting = 0;
	buf_reset(&h->upreq);
	if (httpc_h2_upgrade_request(NULL, c->wreq->data, c->wreq->len,
	    &h->upreq) == -1) {
		gen_conn_fail(c, REPORT_ERR_PROTOCOL);
		gen_h2_close(h);
		gen_h2_fail_waiting(h, REPORT_ERR_PROTOCOL);
		return;
	}
	h->upc = c;
	httpc_conn_send(&h->hc, h->upreq.data, h->upreq.len,
	    h->g->txns[c->cur.txn].head);
	gen_h2_upgrade_io(h, CONN_WRITE);
}

/* The answer to the upgrade request came: a 101 starts the session with
 * that request as stream 1, anything else declined (the run ends: its
 * requests cannot go as asked). */
static void
gen_h2_upgraded(struct gen_h2conn *h, struct span body)
{
	struct gen		*g = h->g;
	struct gen_conn		*c = h->upc;
	struct conn		*conn = h->hc.conn;
	struct httpc_h2		*s;
	struct http_msg		 m;
	enum http_err		 err;
	size_t			 erroff, hl = h->hc.resp.head_len;
	char			*cause = NULL;

	h->upc = NULL;
	if (h->hc.resp.status != 101) {
		g->h2_declined = 1;
		gen_conn_answer(c, h->hc.resp.status, http_parse_response(
		    h->hc.in.data, hl, GEN_MAX_HEAD, g->txns[c->cur.txn].head,
		    &m, &err, &erroff) > 0 ? &m : NULL, body.p, body.len);
		gen_conn_finish(c);
		gen_h2_close(h);
		gen_h2_fail_waiting(h, REPORT_ERR_PROTOCOL);
		gen_end(g);
		return;
	}
	h->hc.conn = NULL;		/* the session's now */
	h->hc.state = HTTPC_CLOSED;
	s = httpc_h2_create_upgraded(conn, NULL, g->txns[c->cur.txn].head, c,
	    h->hc.in.data + hl, h->hc.in.len - hl, &cause);
	buf_reset(&h->hc.in);
	if (s == NULL) {
		gen_conn_fail(c, REPORT_ERR_CONNECT);
		conn_close(conn);
	} else
		c->sid = 1;
	gen_h2_start(h, s, cause);
}

/* The upgrade request's HTTP/1.1 exchange (ops: what the poll allows). */
static void
gen_h2_upgrade_io(struct gen_h2conn *h, int ops)
{
	struct gen_conn	*c = h->upc;
	struct span	 body;
	int		 r = 0;

	if ((ops & CONN_WRITE) && httpc_conn_write(&h->hc) == -1)
		r = -1;
	if (r == 0 && (ops & CONN_READ) && httpc_conn_read(&h->hc) == -1)
		r = -1;
	if (r == 0 && (ops & CONN_READ) &&
	    (r = httpc_conn_response(&h->hc, &body)) == 1) {
		gen_h2_upgraded(h, body);
		return;
	}
	if (r == 0) {
		gen_h2_poll(h);
		return;
	}
	h->upc = NULL;
	gen_h2_close(h);
	gen_conn_fail(c, REPORT_ERR_RESET);
	gen_h2_fail_waiting(h, REPORT_ERR_RESET);
}

/* A finished stream: an answer, or a per-request error carrying the h2
 * code (counted in the report). */
static void
gen_h2_done(struct gen_conn *c, const struct httpc_h2_resp *r)
{
	struct http_msg	 m;
	char		 what[64];
	size_t		 i, j;

	c->sid = 0;
	c->fresh = 0;
	/* Not processed (RFC 9113 8.7): sent again once, on a new stream
	 * (of a new connection after a GOAWAY), not an error. */
	if (httpc_h2_resp_unprocessed(r) && !c->h2_retried &&
	    !c->g->freeing) {
		c->h2_retried = 1;
		c->g->rep->h2_retried++;
		gen_h2_send(c);
		return;
	}
	if (r->err != HTTPC_H2_E_NONE) {
		const char *kind = r->err == HTTPC_H2_E_RESET ? "RST_STREAM" :
		    r->err == HTTPC_H2_E_GOAWAY ? "GOAWAY" :
		    r->err == HTTPC_H2_E_TOO_LARGE ? "too large" :
		    r->err == HTTPC_H2_E_NOT_SENT ? "not sent" :
		    r->err == HTTPC_H2_E_PROTOCOL ? "malformed" : NULL;

		if (kind != NULL) {
			snprintf(what, sizeof what, "%s %s", kind,
			    httpc_h2_code_name(r->code));
			report_add_h2_error(c->g->rep, what, 1);
		}
		gen_conn_fail(c, r->err == HTTPC_H2_E_PROTOCOL ||
		    r->err == HTTPC_H2_E_TOO_LARGE ||
		    r->err == HTTPC_H2_E_NOT_SENT ? REPORT_ERR_PROTOCOL :
		    REPORT_ERR_RESET);
		return;
	}
	memset(&m, 0, sizeof m);
	m.status = r->status;
	m.version = 20;
	for (i = 0; i < r->nheaders && i < HTTP_MAX_HEADERS; i++)
		m.headers[i] = r->headers[i];
	/* The trailers after them (gRPC's grpc-status is there). */
	for (j = 0; j < r->ntrailers && i < HTTP_MAX_HEADERS; j++)
		m.headers[i++] = r->trailers[j];
	m.nheaders = i;
	gen_conn_answer(c, r->status, &m, r->body.p, r->body.len);
	gen_conn_finish(c);
}

static void
gen_h2_handshake(struct gen_h2conn *h)
{
	int	r;

	r = gen_handshake_step(h->g, &h->hc);
	if (r == -1) {
		gen_h2_close(h);
		gen_h2_fail_waiting(h, REPORT_ERR_CONNECT);
	} else if (r == 1 && h->g->h2_upgrade)
		gen_h2_upgrade_start(h);
	else if (r == 1)
		gen_h2_open(h);
	else
		gen_h2_poll(h);
}

/* I/O on h's session (ops: CONN_READ | CONN_WRITE), then the streams
 * it finished; a session that ended is closed, and made again if sends
 * wait for it. */
static void
gen_h2_step(struct gen_h2conn *h, int ops)
{
	struct httpc_h2_resp	 r;
	int			 over;

	over = httpc_h2_io(h->s, ops) == -1;
	while (h->s != NULL && httpc_h2_done(h->s, &r))
		gen_h2_done(r.arg, &r);
	if (!over) {
		gen_h2_poll(h);
		return;
	}
	if (h->s != NULL)
		log_debug("%s: h2 connection ended: %s", h->g->cfg->target,
		    httpc_h2_error(h->s));
	gen_h2_close(h);
	/* Sends made while it ended wait for a new one. */
	if (!TAILQ_EMPTY(&h->waiting) && gen_h2_connect(h) == -1)
		gen_h2_fail_waiting(h, REPORT_ERR_CONNECT);
}

static void
gen_h2_flush(struct loop_defer *d)
{
	struct gen_h2conn	*h = d->arg;

	if (h->s != NULL)
		gen_h2_step(h, CONN_WRITE);
}

static void
gen_h2_io(struct loop_io *io, uint32_t events)
{
	struct gen_h2conn	*h = io->arg;

	if (h->s == NULL && h->upc != NULL)
		gen_h2_upgrade_io(h, httpc_conn_ready(&h->hc,
		    conn_epoll_ready(events)));
	else if (h->s == NULL)
		gen_h2_handshake(h);
	else
		gen_h2_step(h, httpc_h2_ready(h->s, conn_epoll_ready(events)));
}

/* ---------------------------------------------------------------------- */
/* The pool and the scheduler of the open models. */

static void
gen_pool_send(struct gen *g, const struct gen_send *s)
{
	struct gen_conn	*c;

	if ((c = TAILQ_FIRST(&g->idle)) != NULL) {
		TAILQ_REMOVE(&g->idle, c, entry);
		c->idle = 0;
		gen_conn_send(c, s);
		return;
	}
	if (g->npool < g->pool_max) {
		c = xmalloc(sizeof *c);
		gen_conn_init(g, c, NULL);
		g->pool[g->npool++] = c;
		gen_conn_send(c, s);
		return;
	}
	if (g->qlen == g->qcap) {
		size_t		 ncap = g->qcap == 0 ? 1024 : g->qcap * 2, i;
		struct gen_send	*nq = xcalloc(ncap, sizeof *nq);

		for (i = 0; i < g->qlen; i++)
			nq[i] = g->queue[(g->qhead + i) % g->qcap];
		free(g->queue);
		g->queue = nq;
		g->qcap = ncap;
		g->qhead = 0;
	}
	g->queue[(g->qhead + g->qlen) % g->qcap] = *s;
	g->qlen++;
}

/* Called when a connection has no request in flight any more. */
static void
gen_conn_finish(struct gen_conn *c)
{
	struct gen	*g = c->g;
	struct gen_send	 s;

	c->busy = 0;
	g->inflight--;
	if (c->stream != NULL) {
		gen_stream_next(c->stream);
	} else if (g->qlen > 0 && !g->ending) {
		s = g->queue[g->qhead];
		g->qhead = (g->qhead + 1) % g->qcap;
		g->qlen--;
		gen_conn_send(c, &s);
	} else {
		c->idle = 1;
		TAILQ_INSERT_TAIL(&g->idle, c, entry);
	}
	gen_maybe_done(g);
}

/* The next intended send of an open model or a replay with one clone;
 * 0 when there is none. */
static int
gen_sched_next(struct gen *g, struct gen_send *s)
{
	const struct gen_config	*cfg = g->cfg;
	uint64_t		 pass, i;
	double			 t, d, r, step;

	if (cfg->duration_ns == 0 && !cfg->loop && g->k >= g->ntxns)
		return 0;
	switch (cfg->pattern) {
	case GEN_REPLAY:
		pass = g->k / g->ntxns;
		i = g->k % g->ntxns;
		s->txn = g->order[i];
		s->intended = g->t0 + pass * g->pass_ns +
		    (uint64_t)((double)g->txns[s->txn].offset_ns /
		    cfg->multiplier);
		break;
	case GEN_CONSTANT:
		s->txn = g->k % g->ntxns;
		s->intended = g->t0 + (uint64_t)((double)g->k * 1e9 /
		    cfg->rate);
		break;
	default:
		/* Ramps and steps: the next send one period of the rate in
		 * force after the previous one. */
		s->txn = g->k % g->ntxns;
		t = g->next_f;
		d = cfg->duration_ns > 0 ? (double)cfg->duration_ns : 1e9;
		if (cfg->pattern == GEN_RAMP)
			r = cfg->rate_from + (cfg->rate - cfg->rate_from) *
			    (t < d ? t / d : 1);
		else {
			step = floor(t / (d / cfg->nsteps));
			if (step > cfg->nsteps - 1)
				step = cfg->nsteps - 1;
			r = cfg->rate * (step + 1) / cfg->nsteps;
		}
		if (r < 0.001)
			r = 0.001;
		s->intended = g->t0 + (uint64_t)t;
		g->next_f = t + 1e9 / r;
		break;
	}
	if (cfg->duration_ns > 0 && s->intended >= g->t0 + cfg->duration_ns)
		return 0;
	return 1;
}

static void
gen_sched_fire(struct loop_timer *t)
{
	struct gen	*g = t->arg;
	struct gen_send	 s;
	uint64_t	 now = loop_now_update(g->loop);
	int		 have;

	if (g->ending)
		return;
	while ((have = gen_sched_next(g, &s)) == 1) {
		if (s.intended > now) {
			loop_timer_add(g->loop, &g->sched, s.intended - now);
			/* Not taken: computed again when the timer fires. */
			if (g->cfg->pattern != GEN_CONSTANT &&
			    g->cfg->pattern != GEN_REPLAY)
				g->next_f = (double)(s.intended - g->t0);
			return;
		}
		g->k++;
		g->rep->scheduled++;
		gen_pool_send(g, &s);
	}
	g->sched_done = 1;
	gen_maybe_done(g);
}

/* ---------------------------------------------------------------------- */
/* Streams: closed-model clients and replay clones. */

static void
gen_stream_fire(struct loop_timer *t)
{
	struct gen_stream	*st = t->arg;
	struct gen		*g = st->g;
	struct gen_send		 s;

	if (g->ending) {
		st->done = 1;
		gen_maybe_done(g);
		return;
	}
	if (st->txns == NULL) {
		s.txn = g->cursor++ % g->ntxns;
		s.intended = loop_now_update(g->loop);
	} else {
		s.txn = st->txns[st->pos++];
		s.intended = g->t0 + st->base +
		    (uint64_t)((double)g->txns[s.txn].offset_ns /
		    g->cfg->multiplier);
		if (s.intended < loop_now(g->loop))
			s.intended = loop_now(g->loop);
	}
	g->rep->scheduled++;
	gen_conn_send(&st->conn, &s);
}

static void
gen_stream_next(struct gen_stream *st)
{
	struct gen		*g = st->g;
	const struct gen_config	*cfg = g->cfg;
	uint64_t		 now = loop_now_update(g->loop), when;

	if (g->ending) {
		st->done = 1;
		return;
	}
	if (st->txns == NULL) {
		if (cfg->duration_ns == 0 && !cfg->loop &&
		    g->cursor >= g->ntxns) {
			st->done = 1;
			return;
		}
		/* After a connect failure, do not spin. */
		if (st->conn.hc.state == HTTPC_CLOSED && g->connect_errors > 0 &&
		    !g->any_connected)
			loop_timer_add(g->loop, &st->timer, GEN_RETRY_NS);
		else
			gen_stream_fire(&st->timer);
		return;
	}
	if (st->pos >= st->n) {
		if (cfg->duration_ns == 0 && !cfg->loop) {
			st->done = 1;
			return;
		}
		st->pos = 0;
		st->base += g->pass_ns;
	}
	when = g->t0 + st->base + (uint64_t)((double)
	    g->txns[st->txns[st->pos]].offset_ns / cfg->multiplier);
	if (cfg->duration_ns > 0 && when >= g->t0 + cfg->duration_ns) {
		st->done = 1;
		return;
	}
	if (when > now)
		loop_timer_add(g->loop, &st->timer, when - now);
	else
		gen_stream_fire(&st->timer);
}

static void
gen_streams_create(struct gen *g)
{
	const struct gen_config	*cfg = g->cfg;
	struct gen_stream	*st;
	char			**names = NULL;
	size_t			 nnames = 0, i, j, o, c;

	if (cfg->pattern == GEN_CLOSED) {
		g->nstreams = g->pool_max;
		g->streams = xcalloc(g->nstreams, sizeof *g->streams);
		for (i = 0; i < g->nstreams; i++) {
			st = &g->streams[i];
			st->g = g;
			gen_conn_init(g, &st->conn, st);
			loop_timer_init(&st->timer, gen_stream_fire, st);
		}
		return;
	}

	/* Replay clones: the sessions in order of their first request. */
	for (o = 0; o < g->ntxns; o++) {
		i = g->order[o];
		for (j = 0; j < nnames; j++)
			if (strcmp(names[j], g->txns[i].session) == 0)
				break;
		if (j == nnames) {
			names = xreallocarray(names, nnames + 1,
			    sizeof *names);
			names[nnames++] = g->txns[i].session;
		}
	}
	g->nstreams = nnames * cfg->clones;
	g->streams = xcalloc(g->nstreams, sizeof *g->streams);
	for (j = 0; j < nnames; j++) {
		for (c = 0; c < cfg->clones; c++) {
			st = &g->streams[j * cfg->clones + c];
			st->g = g;
			gen_conn_init(g, &st->conn, st);
			loop_timer_init(&st->timer, gen_stream_fire, st);
			st->txns = xcalloc(g->ntxns, sizeof *st->txns);
			/* Each clone carries its own live values. */
			if (g->gx != NULL)
				st->map = gen_transform_map_create();
			for (o = 0; o < g->ntxns; o++) {
				i = g->order[o];
				if (strcmp(names[j], g->txns[i].session) == 0)
					st->txns[st->n++] = i;
			}
		}
	}
	free(names);
}

/* ---------------------------------------------------------------------- */
/* The run. */

static void
gen_maybe_done(struct gen *g)
{
	size_t	i;

	if (g->inflight > 0)
		return;
	if (g->nstreams > 0) {
		for (i = 0; i < g->nstreams; i++)
			if (!g->streams[i].done)
				return;
	} else if (!g->sched_done || (g->qlen > 0 && !g->ending))
		return;
	loop_stop(g->loop);
}

static void
gen_end(struct gen *g)
{
	size_t	i;

	if (g->ending)
		return;
	g->ending = 1;
	g->sched_done = 1;
	loop_timer_del(g->loop, &g->sched);
	g->rep->dropped += g->qlen;
	g->qlen = 0;
	for (i = 0; i < g->nstreams; i++) {
		if (!g->streams[i].conn.busy) {
			loop_timer_del(g->loop, &g->streams[i].timer);
			g->streams[i].done = 1;
		}
	}
	gen_maybe_done(g);
}

static void
gen_end_fire(struct loop_timer *t)
{
	gen_end(t->arg);
}

/*
 * The fraction of the run done, 0..1, or -1 when its length is not known
 * (--loop without --duration): by time with a duration, else by requests
 * finished over those one pass sends (every clone's copy).
 */
double
gen_progress_fraction(uint64_t elapsed_ns, uint64_t duration_ns, int loop,
    uint64_t done, uint64_t planned)
{
	double	f;

	if (duration_ns > 0)
		f = (double)elapsed_ns / (double)duration_ns;
	else if (loop || planned == 0)
		return -1;
	else
		f = (double)done / (double)planned;
	return f > 1 ? 1 : f;
}

static void
gen_progress(struct gen *g, uint64_t now)
{
	const struct gen_config	*cfg = g->cfg;
	double			 secs = (double)(now - g->t0) / 1e9, f, eta;
	uint64_t		 planned;
	char			 done[64];

	planned = (uint64_t)g->ntxns * (cfg->pattern == GEN_REPLAY ?
	    cfg->clones : 1);
	f = gen_progress_fraction(now - g->t0, cfg->duration_ns, cfg->loop,
	    g->answered + g->errors, planned);
	done[0] = '\0';
	if (f >= 0) {
		eta = f > 0 ? secs * (1 - f) / f : -1;
		if (eta >= 0)
			snprintf(done, sizeof done, "%3.0f%%  eta %.0fs  ",
			    f * 100, eta);
		else
			snprintf(done, sizeof done, "%3.0f%%  ", f * 100);
	}
	log_status("[%5.1fs] %ssent %" PRIu64 "  answered %" PRIu64
	    "  errors %" PRIu64 "  in flight %" PRIu64 "  late %" PRIu64
	    "  %.0f/s", secs, done, g->sent, g->answered, g->errors,
	    g->inflight, g->rep->late,
	    secs > 0 ? (double)g->answered / secs : 0.0);
}

static void
gen_check_fire(struct loop_timer *t)
{
	struct gen	*g = t->arg;
	uint64_t	 now = loop_now_update(g->loop);

	if (g->stop != NULL && *g->stop) {
		gen_end(g);
		loop_stop(g->loop);
		return;
	}
	if (g->cfg->progress && now - g->last_progress >= 1000000000ull) {
		g->last_progress = now;
		gen_progress(g, now);
	}
	loop_timer_add(g->loop, &g->check, GEN_CHECK_NS);
}

/* --http2: prior knowledge over http://; over https:// what the server
 * chose by ALPN on the probe decides for the run. */
static void
gen_probe_protocol(struct gen *g, const struct conn *conn)
{
	char	alpn[32];

	if (!g->cfg->http2 && !g->cfg->http2_upgrade)
		return;
	g->h2 = 1;
	g->h2_upgrade = g->cfg->http2_upgrade && !conn_is_tls(conn);
	if (conn_is_tls(conn) && (!conn_tls_alpn(conn, alpn, sizeof alpn) ||
	    strcmp(alpn, "h2") != 0)) {
		log_warn("%s: the server chose %s, not h2: replaying over "
		    "HTTP/1.1", g->cfg->target, alpn[0] != '\0' ? alpn :
		    "no protocol by ALPN");
		g->h2 = 0;
	}
	report_set_protocol(g->rep, g->h2 ? "h2" : "http/1.1");
}

/* A blocking probe at start-up: is anything listening at all, and (for
 * https://) does it pass the TLS handshake?  Bounded by the request
 * timeout; a server that cannot be verified (or speaks no TLS) fails the
 * run before any request, with the reason. */
static int
gen_probe(struct gen *g, char **cause)
{
	struct httpc_conn	 c;
	char			 a[128];
	int			 rv = 0;

	httpc_conn_init(&c, &g->target);
	if (httpc_conn_open_wait(&c, loop_clock_ns() +
	    g->cfg->timeout_ns) == 0)
		gen_probe_protocol(g, c.conn);
	else {
		rv = -1;
		if (c.state != HTTPC_HANDSHAKE)
			*cause = xasprintf("cannot connect to %s (%s): %s",
			    g->cfg->target, sock_addr_str(&g->target.addr, a,
			    sizeof a), c.err);
		else if (!g->cfg->insecure && strncmp(c.err, "certificate "
		    "verify failed", 25) == 0)
			*cause = xasprintf("%s: TLS handshake failed: %s (--ca "
			    "FILE names the CA, --insecure skips the check)",
			    g->cfg->target, c.err);
		else
			*cause = xasprintf("%s: TLS handshake failed: %s",
			    g->cfg->target, c.err);
	}
	httpc_conn_free(&c);
	return rv;
}

static void
gen_free(struct gen *g)
{
	size_t	i;

	/* A run that failed half-way leaves no status line to collide. */
	if (g->cfg != NULL && g->cfg->progress)
		log_status_end(0);
	g->freeing = 1;
	for (i = 0; i < g->npool; i++) {
		gen_conn_close(g->pool[i]);
		httpc_conn_free(&g->pool[i]->hc);
		buf_free(&g->pool[i]->req);
		free(g->pool[i]);
	}
	free(g->pool);
	for (i = 0; i < g->nstreams; i++) {
		gen_conn_close(&g->streams[i].conn);
		httpc_conn_free(&g->streams[i].conn.hc);
		buf_free(&g->streams[i].conn.req);
		free(g->streams[i].txns);
		gen_transform_map_free(g->streams[i].map);
	}
	free(g->streams);
	for (i = 0; g->h2conns != NULL && i < g->cfg->connections; i++) {
		gen_h2_close(&g->h2conns[i]);
		httpc_conn_free(&g->h2conns[i].hc);
		buf_free(&g->h2conns[i].upreq);
	}
	free(g->h2conns);
	for (i = 0; i < g->nsmaps; i++)
		gen_transform_map_free(g->smaps[i]);
	free(g->smaps);
	gen_transform_free(g->gx);
	for (i = 0; i < g->ntxns; i++) {
		snap_txn_free(&g->txns[i].t);
		free(g->txns[i].method);
		free(g->txns[i].path);
		free(g->txns[i].session);
		buf_free(&g->txns[i].req);
	}
	free(g->txns);
	free(g->order);
	free(g->queue);
	free(g->prefix);
	httpc_target_free(&g->target);
	if (g->loop != NULL)
		loop_free(g->loop);
}

/* Loads the transforms file (keys included) and says, once, what cannot
 * be done with it. */
static int
gen_transforms_init(struct gen *g, char **cause)
{
	const struct gen_config	*cfg = g->cfg;
	struct transforms	*t;
	struct timespec		 ts;
	struct buf		 warn;
	char			*line, *nl;

	if (cfg->has_seed)
		g->rng = cfg->seed;
	else {
		clock_gettime(CLOCK_REALTIME, &ts);
		g->rng = ((uint64_t)ts.tv_sec * 1000000000ull +
		    (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 32);
	}
	if (cfg->transforms == NULL)
		return 0;
	if ((t = transforms_load(cfg->transforms, 1, cause)) == NULL)
		return -1;
	buf_init(&warn);
	g->gx = gen_transform_create(t, &warn);
	for (line = warn.data; line != NULL && *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			break;
		*nl = '\0';
		log_warn("%s", line);
	}
	buf_free(&warn);
	return 0;
}

static int
gen_check_config(const struct gen_config *cfg, char **cause)
{
	if (cfg->snapshot == NULL || cfg->target == NULL) {
		*cause = xstrdup("a snapshot and a target are needed");
		return -1;
	}
	if (cfg->shard_n == 0 || cfg->shard_i >= cfg->shard_n) {
		*cause = xasprintf("bad shard %u/%u", cfg->shard_i,
		    cfg->shard_n);
		return -1;
	}
	if (cfg->connections == 0 || cfg->clones == 0 || cfg->streams == 0 ||
	    !(cfg->multiplier > 0) || cfg->timeout_ns == 0) {
		*cause = xstrdup("connections, streams, clones, multiplier and "
		    "timeout must be positive");
		return -1;
	}
	switch (cfg->pattern) {
	case GEN_CONSTANT:
	case GEN_STEPS:
	case GEN_RAMP:
		if (!(cfg->rate > 0) || (cfg->pattern == GEN_RAMP &&
		    cfg->rate_from < 0) || (cfg->pattern == GEN_STEPS &&
		    cfg->nsteps == 0)) {
			*cause = xstrdup("a positive rate is needed");
			return -1;
		}
		break;
	default:
		break;
	}
	return 0;
}

int
gen_run(const struct gen_config *cfg, struct report *rep,
    volatile int *stop, char **cause)
{
	struct gen	 g;
	uint64_t	 now, span;
	size_t		 i;
	int		 rv = -1;

	memset(&g, 0, sizeof g);
	g.cfg = cfg;
	g.rep = rep;
	g.stop = stop;
	TAILQ_INIT(&g.idle);
	if (gen_check_config(cfg, cause) == -1)
		return -1;
	if (gen_parse_target(&g, cfg->target, cause) == -1)
		goto out;
	if (gen_transforms_init(&g, cause) == -1)
		goto out;
	if (gen_load(&g, cause) == -1)
		goto out;
	if (gen_probe(&g, cause) == -1)
		goto out;
	if ((g.loop = loop_create(cause)) == NULL)
		goto out;

	/* One replay pass: the recorded span, plus one mean gap so passes
	 * do not overlap. */
	span = g.txns[g.order[g.ntxns - 1]].offset_ns;
	g.pass_ns = (uint64_t)((double)(span + (g.ntxns > 1 ?
	    span / (g.ntxns - 1) : 0)) / cfg->multiplier);
	if (g.pass_ns < 1000000)
		g.pass_ns = 1000000;

	g.pool_max = cfg->connections;
	if (g.h2) {
		g.pool_max = (size_t)cfg->connections * cfg->streams;
		g.h2conns = xcalloc(cfg->connections, sizeof *g.h2conns);
		for (i = 0; i < cfg->connections; i++) {
			g.h2conns[i].g = &g;
			loop_defer_init(&g.h2conns[i].flush, gen_h2_flush,
			    &g.h2conns[i]);
			httpc_conn_init(&g.h2conns[i].hc, &g.target);
			g.h2conns[i].hc.resp.max_head = GEN_MAX_HEAD;
			buf_init(&g.h2conns[i].upreq);
			TAILQ_INIT(&g.h2conns[i].waiting);
		}
	}
	g.pool = xcalloc(g.pool_max, sizeof *g.pool);
	loop_timer_init(&g.sched, gen_sched_fire, &g);
	loop_timer_init(&g.endt, gen_end_fire, &g);
	loop_timer_init(&g.check, gen_check_fire, &g);
	/* Correlated requests wait for the answers they depend on: each
	 * recorded session runs as its own stream, even with one clone. */
	if (cfg->pattern == GEN_CLOSED || (cfg->pattern == GEN_REPLAY &&
	    (cfg->clones > 1 || (g.gx != NULL &&
	    gen_transform_has_corrs(g.gx)))))
		gen_streams_create(&g);

	now = loop_now_update(g.loop);
	g.t0 = now;
	g.last_progress = now;
	g.last_answer = now;
	if (cfg->duration_ns > 0)
		loop_timer_add(g.loop, &g.endt, cfg->duration_ns);
	loop_timer_add(g.loop, &g.check, GEN_CHECK_NS);
	if (g.nstreams > 0) {
		for (i = 0; i < g.nstreams; i++) {
			g.streams[i].pos = 0;
			gen_stream_next(&g.streams[i]);
		}
		gen_maybe_done(&g);
	} else
		loop_timer_add(g.loop, &g.sched, 0);
	if (loop_run(g.loop) == -1) {
		*cause = xstrdup("event loop failed");
		goto out;
	}
	rep->dropped += g.qlen;
	/* The status line goes at the end: the summary says it all. */
	if (cfg->progress)
		log_status_end(0);
	rep->duration_us = g.last_answer > g.t0 ?
	    (g.last_answer - g.t0) / 1000 : 0;
	if (g.gx != NULL)
		log_info("transforms: %" PRIu64 " requests built at send time, "
		    "%" PRIu64 " values replaced, %" PRIu64 " live values "
		    "captured", g.xbuilt, g.xedits, g.xcaptured);
	if (!g.started) {
		struct timespec	ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		rep->start_us = (int64_t)ts.tv_sec * 1000000 +
		    ts.tv_nsec / 1000;
	}
	if (g.h2_declined) {
		*cause = xasprintf("%s: the server declined the Upgrade: h2c "
		    "(it answered over HTTP/1.1): replay without "
		    "--http2-upgrade, or with --http2 (prior knowledge)",
		    cfg->target);
		goto out;
	}
	if (g.answered == 0 && g.connect_errors > 0 && !g.any_connected) {
		*cause = xasprintf("cannot connect to %s", cfg->target);
		goto out;
	}
	rv = 0;
out:
	gen_free(&g);
	return rv;
}
