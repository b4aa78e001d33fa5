/*
 * match-live.c -- replies made live: the responder's per-reply rewriting
 * of recorded responses (match.h, match_live_render()).
 *
 * match_live_create() runs once per recorded transaction, when the index
 * is built.  It finds, in the pre-serialised response, every value a
 * dir-out response transform of the transaction's endpoint names (shift,
 * resign, echo) and every place where the recorded response echoed the
 * recorded value of a key field (a header value or a JSON string equal
 * to it), and keeps them as locator hits into the entry's head and body,
 * which never move.  Rendering a reply then costs no search of the
 * response: each hit gets its new value (a timestamp moved with the
 * clock in its recorded layout, a JWT re-signed, the live request's
 * value) and the transform_edits machinery splices them in one pass.  A
 * value that cannot be rewritten (a token the key does not fit, a
 * request without the echoed value) keeps its recorded bytes.
 *
 * The plan is read-only once built; rendering uses only the caller's
 * buffers, so workers share it without locks.  Re-signed tokens are
 * cached per thread for the second they were made in (an RSA signature
 * costs about a millisecond; the token only changes when the shift does):
 * slots are keyed by the plan's uid, never reused, so a freed plan can
 * never serve a stale token.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "jwt.h"
#include "json.h"
#include "log.h"
#include "match.h"
#include "shape.h"
#include "snap.h"
#include "transform.h"
#include "xmalloc.h"

/* Hits per response location ($.items[*].created_at finds several). */
#define LIVE_HITS	64
/* JSON strings searched for key echoes: nesting and count bounds. */
#define LIVE_ECHO_MAX	256
/* Re-signed tokens remembered per thread (direct-mapped). */
#define LIVE_JWT_CACHE	64

struct live_edit {
	enum transform_action		 action;	/* SHIFT, RESIGN, ECHO,
							   KEY (echo) */
	struct transform_hit		 hit;		/* in the response */
	const struct transform_value	*v;		/* NULL for KEY */
	struct shape_time		 time;		/* SHIFT: recorded */
	size_t				 key;		/* KEY: into keys */
	size_t				 order;		/* plan order, for sorting */
};

struct live_key {
	const struct transform_loc	*where;		/* in the request */
	char				*val;		/* recorded */
	size_t				 len;
};

struct match_live {
	uint64_t		 uid;		/* never reused: cache key */
	size_t			 status_len;	/* status line, CRLF included */
	struct http_header	*headers;	/* spans into the entry's head */
	size_t			 nheaders;
	int			 keep_cl;	/* 304: the recorded length */
	int64_t			 start_us;	/* the clock's origin, -1: none */
	struct live_edit	*ev;
	size_t			 nev;
	struct live_key		*keys;
	size_t			 nkeys;
	int			 grpc;		/* a protobuf field edit: the
						   body is re-encoded */
};

static _Atomic uint64_t live_next_uid = 1;

struct live_jwt_slot {
	uint64_t	 uid;		/* the plan's, 0: empty */
	size_t		 edit;
	int64_t		 shift_s;
	char		*tok;
	size_t		 len;
};

static pthread_key_t	live_jwt_key;
static pthread_once_t	live_jwt_once = PTHREAD_ONCE_INIT;

static void
live_jwt_cache_free(void *p)
{
	struct live_jwt_slot	*c = p;
	size_t			 i;

	for (i = 0; i < LIVE_JWT_CACHE; i++)
		free(c[i].tok);
	free(c);
}

static void
live_jwt_init(void)
{
	if (pthread_key_create(&live_jwt_key, live_jwt_cache_free) != 0)
		fatalx("pthread_key_create failed");
}

/* This thread's slot for (plan, edit), created on first use. */
static struct live_jwt_slot *
live_jwt_slot(const struct match_live *L, size_t edit)
{
	struct live_jwt_slot	*c;

	pthread_once(&live_jwt_once, live_jwt_init);
	if ((c = pthread_getspecific(live_jwt_key)) == NULL) {
		c = xcalloc(LIVE_JWT_CACHE, sizeof *c);
		if (pthread_setspecific(live_jwt_key, c) != 0) {
			free(c);
			return NULL;
		}
	}
	return &c[(L->uid * 31 + edit) % LIVE_JWT_CACHE];
}

/*
 * Appends the token of edit i re-signed for shift_us: from this thread's
 * cache when it was made for the same second, else jwt_resign().  0, or
 * -1 when it cannot be re-signed.
 */
static int
live_resign(struct buf *out, const struct match_live *L, size_t i,
    struct span raw, int64_t shift_us)
{
	const struct live_edit	*ed = &L->ev[i];
	struct live_jwt_slot	*sl;
	int64_t			 shift_s = shift_us / 1000000;
	size_t			 at = out->len;
	char			*cause = NULL;

	sl = live_jwt_slot(L, i);
	if (sl != NULL && sl->uid == L->uid && sl->edit == i &&
	    sl->shift_s == shift_s) {
		buf_append(out, sl->tok, sl->len);
		return 0;
	}
	if (jwt_resign(out, raw.p, raw.len, shift_s, ed->v->claims,
	    ed->v->nclaims, ed->v->key->key, &cause) == -1) {
		free(cause);
		return -1;
	}
	if (sl != NULL) {
		free(sl->tok);
		sl->uid = L->uid;
		sl->edit = i;
		sl->shift_s = shift_s;
		sl->len = out->len - at;
		sl->tok = xmalloc(sl->len + 1);
		memcpy(sl->tok, out->data + at, sl->len);
		sl->tok[sl->len] = '\0';
	}
	return 0;
}

static void
live_add(struct match_live *L, const struct live_edit *ed)
{
	L->ev = xreallocarray(L->ev, L->nev + 1, sizeof *L->ev);
	L->ev[L->nev++] = *ed;
	if (TRANSFORM_ENC_IS_PB(ed->hit.enc))
		L->grpc = 1;
}

/*
 * Parses the entry's head back into header spans that point into it
 * (the parser reads a copy ending in the blank line; same offsets).
 * 0, or -1 if it does not parse (the reply is then never rewritten).
 */
static int
live_parse_head(struct match_live *L, const struct match_entry *e)
{
	struct http_msg	*m;
	struct buf	 b;
	enum http_err	 err;
	size_t		 erroff, i;
	const char	*crlf;
	int		 rv = -1;

	if ((crlf = memmem(e->head, e->head_len, "\r\n", 2)) == NULL)
		return -1;
	L->status_len = (size_t)(crlf + 2 - e->head);
	buf_init(&b);
	buf_append(&b, e->head, e->head_len);
	buf_append(&b, "\r\n", 2);
	m = xmalloc(sizeof *m);
	if (http_parse_response(b.data, b.len, b.len + 1, 0, m, &err,
	    &erroff) > 0) {
		L->nheaders = m->nheaders;
		L->headers = xcalloc(m->nheaders == 0 ? 1 : m->nheaders,
		    sizeof *L->headers);
		for (i = 0; i < m->nheaders; i++) {
			L->headers[i].name.p = e->head +
			    (m->headers[i].name.p - b.data);
			L->headers[i].name.len = m->headers[i].name.len;
			L->headers[i].value.p = e->head +
			    (m->headers[i].value.p - b.data);
			L->headers[i].value.len = m->headers[i].value.len;
		}
		L->keep_cl = m->status == 304;
		rv = 0;
	}
	free(m);
	buf_free(&b);
	return rv;
}

static void
live_msg(struct transform_msg *m, const struct match_live *L,
    const struct match_entry *e)
{
	memset(m, 0, sizeof *m);
	m->path = SPAN_LIT("");
	m->query = SPAN_LIT("");
	m->headers = L->headers;
	m->nheaders = L->nheaders;
	m->body = (struct span){ e->body != NULL ? e->body : "", e->body_len };
}

/* The response values of one dir-out transform, for this entry. */
static void
live_plan_value(struct match_live *L, const struct transform_value *v,
    const struct transform_msg *m)
{
	struct transform_hit	 hits[LIVE_HITS];
	struct live_edit	 ed;
	struct buf		 val;
	struct shape		 sh;
	size_t			 i, n;

	n = transform_locate(&v->where, m, hits, LIVE_HITS);
	buf_init(&val);
	for (i = 0; i < n; i++) {
		memset(&ed, 0, sizeof ed);
		ed.action = v->action;
		ed.hit = hits[i];
		ed.v = v;
		buf_reset(&val);
		transform_hit_value(&val, m, &hits[i]);
		switch (v->action) {
		case TRANSFORM_SHIFT:
			if (L->start_us < 0 || val.len == 0 ||
			    shape_time_parse(val.data, val.len,
			    &ed.time) == -1)
				continue;
			break;
		case TRANSFORM_RESIGN:
			if (v->key == NULL || v->key->key == NULL ||
			    shape_classify(val.data == NULL ? "" : val.data,
			    val.len, NULL, &sh) != SHAPE_JWT)
				continue;
			break;
		case TRANSFORM_ECHO:
			break;
		default:
			continue;
		}
		live_add(L, &ed);
	}
	buf_free(&val);
}

/*
 * Key echoes in a JSON body: every string value (member or element, at
 * any depth) equal to a recorded key value.  The walk is bounded by
 * JSON_MAX_DEPTH (the reader's) and LIVE_ECHO_MAX edits.
 */
static int
live_echo_json(struct match_live *L, struct json_parser *p, size_t key,
    const char *val, size_t len, struct buf *tmp)
{
	struct json_value	 k, v;
	struct live_edit	 ed;
	size_t			 off;
	int			 r;

	switch (json_peek(p)) {
	case JSON_OBJECT:
		if (json_object_enter(p) == -1)
			return -1;
		while ((r = json_object_next(p, &k)) == 1) {
			if (live_echo_json(L, p, key, val, len, tmp) == -1)
				return -1;
		}
		return r;
	case JSON_ARRAY:
		if (json_array_enter(p) == -1)
			return -1;
		while ((r = json_array_next(p)) == 1) {
			if (live_echo_json(L, p, key, val, len, tmp) == -1)
				return -1;
		}
		return r;
	case JSON_STRING:
		buf_reset(tmp);
		if (json_read_string(p, tmp, &off) == -1)
			return -1;
		if (tmp->len == len && (len == 0 ||
		    memcmp(tmp->data, val, len) == 0) &&
		    L->nev < LIVE_ECHO_MAX) {
			memset(&ed, 0, sizeof ed);
			ed.action = TRANSFORM_KEY;
			ed.key = key;
			ed.hit.in = TRANSFORM_IN_BODY;
			ed.hit.enc = TRANSFORM_ENC_JSON;
			ed.hit.off = off + 1;
			/* The raw string ends at the parser's offset. */
			ed.hit.len = p->off - off - 2;
			live_add(L, &ed);
		}
		return 0;
	default:
		return json_skip(p, &v);
	}
}

static void
live_plan_key(struct match_live *L, const struct match_entry *e, size_t key)
{
	const struct live_key	*k = &L->keys[key];
	struct json_parser	 p;
	struct live_edit	 ed;
	struct buf		 tmp;
	size_t			 i, n;

	for (i = 0; i < L->nheaders; i++) {
		if (http_is_framing_header(L->headers[i].name) ||
		    !span_eq(L->headers[i].value,
		    (struct span){ k->val, k->len }))
			continue;
		memset(&ed, 0, sizeof ed);
		ed.action = TRANSFORM_KEY;
		ed.key = key;
		ed.hit.in = TRANSFORM_IN_HEADER;
		ed.hit.header = i;
		ed.hit.off = 0;
		ed.hit.len = k->len;
		ed.hit.enc = TRANSFORM_ENC_RAW;
		live_add(L, &ed);
	}
	if (e->body_len == 0)
		return;
	for (i = 0; i < e->body_len; i++) {
		if (e->body[i] != ' ' && e->body[i] != '\t' &&
		    e->body[i] != '\r' && e->body[i] != '\n')
			break;
	}
	if (i == e->body_len || (e->body[i] != '{' && e->body[i] != '['))
		return;
	/* A body that is not valid JSON keeps the edits found so far. */
	n = L->nev;
	buf_init(&tmp);
	json_init(&p, e->body, e->body_len);
	if (live_echo_json(L, &p, key, k->val, k->len, &tmp) == -1)
		L->nev = n;
	buf_free(&tmp);
}

static int
live_edit_cmp_stable(const void *a, const void *b)
{
	const struct live_edit	*x = a, *y = b;

	if (x->hit.in != y->hit.in)
		return x->hit.in < y->hit.in ? -1 : 1;
	if (x->hit.in == TRANSFORM_IN_HEADER && x->hit.header != y->hit.header)
		return x->hit.header < y->hit.header ? -1 : 1;
	if (x->hit.off != y->hit.off)
		return x->hit.off < y->hit.off ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * Sorts the edits by part and offset, for one pass per part when
 * rendering, and drops any that overlaps an earlier one: a place named
 * twice is edited by the first in plan order (the file's order, then key
 * echoes).
 */
static void
live_sort(struct match_live *L)
{
	size_t	i, n = 0;

	/* Stable: ties keep plan order (file order, then key echoes). */
	for (i = 0; i < L->nev; i++)
		L->ev[i].order = i;
	/* ev is NULL without edits: qsort's argument must not be. */
	if (L->nev > 1)
		qsort(L->ev, L->nev, sizeof *L->ev, live_edit_cmp_stable);
	for (i = 0; i < L->nev; i++) {
		if (n > 0 && L->ev[n - 1].hit.in == L->ev[i].hit.in &&
		    (L->ev[i].hit.in != TRANSFORM_IN_HEADER ||
		    L->ev[n - 1].hit.header == L->ev[i].hit.header) &&
		    L->ev[i].hit.off < L->ev[n - 1].hit.off +
		    L->ev[n - 1].hit.len)
			continue;
		L->ev[n++] = L->ev[i];
	}
	L->nev = n;
}

struct match_live *
match_live_create(const struct transforms *tf, const struct snap_txn *t,
    const struct match_entry *e, const struct match_live_key *keys,
    size_t nkeys)
{
	struct match_live		*L;
	const struct transform_value	*v;
	struct transform_msg		 m;
	struct span			 method, path;
	size_t				 i;

	if (tf == NULL)
		return NULL;
	L = xcalloc(1, sizeof *L);
	L->uid = atomic_fetch_add_explicit(&live_next_uid, 1,
	    memory_order_relaxed);
	if (live_parse_head(L, e) == -1) {
		match_live_free(L);
		return NULL;
	}
	if (t->start_us >= 0)
		L->start_us = t->start_us;
	else
		L->start_us = tf->start_us > 0 ? tf->start_us : -1;
	live_msg(&m, L, e);

	method = span_from_str(t->req.method);
	path = span_from_str(e->path);
	for (i = 0; i < tf->nvalues; i++) {
		v = &tf->values[i];
		if (v->dir != SNAP_DIR_OUT || !v->where.res ||
		    (v->action != TRANSFORM_SHIFT &&
		    v->action != TRANSFORM_RESIGN &&
		    v->action != TRANSFORM_ECHO) ||
		    !transform_endpoint_match(v->method, v->route, method,
		    path))
			continue;
		live_plan_value(L, v, &m);
	}
	for (i = 0; i < nkeys; i++) {
		if (keys[i].len == 0)
			continue;
		L->keys = xreallocarray(L->keys, L->nkeys + 1,
		    sizeof *L->keys);
		L->keys[L->nkeys].where = keys[i].where;
		L->keys[L->nkeys].val = xmalloc(keys[i].len + 1);
		memcpy(L->keys[L->nkeys].val, keys[i].val, keys[i].len);
		L->keys[L->nkeys].val[keys[i].len] = '\0';
		L->keys[L->nkeys].len = keys[i].len;
		L->nkeys++;
		live_plan_key(L, e, L->nkeys - 1);
	}
	live_sort(L);
	if (L->nev == 0) {
		match_live_free(L);
		return NULL;
	}
	return L;
}

void
match_live_free(struct match_live *L)
{
	size_t	i;

	if (L == NULL)
		return;
	for (i = 0; i < L->nkeys; i++)
		free(L->keys[i].val);
	free(L->keys);
	free(L->ev);
	free(L->headers);
	free(L);
}

/* The live request's first value at loc into out; 0 if it has none. */
static int
live_req_value(const struct match_req *r, const struct transform_loc *loc,
    struct buf *out)
{
	struct transform_msg	m;
	struct transform_hit	hit;

	memset(&m, 0, sizeof m);
	m.path = r->path.p != NULL ? r->path : SPAN_LIT("");
	m.query = r->query.p != NULL ? r->query : SPAN_LIT("");
	m.headers = r->headers;
	m.nheaders = r->headers != NULL ? r->nheaders : 0;
	m.body = (struct span){ r->body != NULL ? r->body : "", r->body_len };
	if (transform_locate(loc, &m, &hit, 1) == 0)
		return 0;
	transform_hit_value(out, &m, &hit);
	return 1;
}

/* 1 if v can go between a JSON string's quotes as it is. */
static int
live_json_plain(const char *v, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f ||
		    v[i] == '"' || v[i] == '\\')
			return 0;
	}
	return 1;
}

/* Appends v encoded for the hit's place (transform_hit_encode(), without
 * its temporary buffer in the usual case of plain ASCII). */
static void
live_encode(struct buf *b, const struct transform_hit *h, const char *v,
    size_t len)
{
	if (h->enc == TRANSFORM_ENC_RAW || (h->enc == TRANSFORM_ENC_JSON &&
	    live_json_plain(v, len)))
		buf_append(b, v, len);
	else
		transform_hit_encode(b, h, v, len);
}

/* One rendered edit: the new bytes at enc[off..off+len), or none. */
struct live_out {
	size_t	 off;
	size_t	 len;
	int	 on;
};

/*
 * Appends part (in, header) of the recorded response with the rendered
 * edits spliced in; the plan's edits are sorted by part and offset and
 * do not overlap.
 */
static void
live_splice(struct buf *out, struct span raw, const struct match_live *L,
    const struct live_out *o, const struct buf *enc, enum transform_in in,
    size_t header)
{
	const struct live_edit	*ed;
	size_t			 i, pos = 0;

	for (i = 0; i < L->nev; i++) {
		ed = &L->ev[i];
		if (!o[i].on || ed->hit.in != in || (in == TRANSFORM_IN_HEADER &&
		    ed->hit.header != header))
			continue;
		buf_append(out, raw.p + pos, ed->hit.off - pos);
		buf_append(out, enc->data + o[i].off, o[i].len);
		pos = ed->hit.off + ed->hit.len;
	}
	buf_append(out, raw.p + pos, raw.len - pos);
}

/*
 * live_splice() of a gRPC body (res.grpc): the rendered values written
 * back as protobuf fields, the lengths around them recomputed
 * (transform_grpc_render()).
 */
static void
live_splice_grpc(struct buf *out, struct span raw, const struct match_live *L,
    const struct live_out *o, const struct buf *enc)
{
	struct transform_edit	*te = xcalloc(L->nev + 1, sizeof *te);
	size_t			 i, n = 0;

	for (i = 0; i < L->nev; i++) {
		if (!o[i].on || L->ev[i].hit.in != TRANSFORM_IN_BODY)
			continue;
		te[n].hit = L->ev[i].hit;
		te[n].val = enc->data + o[i].off;
		te[n].len = o[i].len;
		n++;
	}
	transform_grpc_render(out, raw, te, n);
	free(te);
}

#define LIVE_STACK	16

void
match_live_render(const struct match_entry *e, const struct match_req *r,
    int64_t now_us, struct buf *head, struct buf *body)
{
	const struct match_live	*L = e->live;
	const struct live_edit	*ed;
	const struct live_key	*k;
	struct transform_msg	 m;
	struct live_out		 stack[LIVE_STACK], *o;
	struct buf		 val, enc;
	struct span		 raw;
	int64_t			 shift_us;
	size_t			 i;

	live_msg(&m, L, e);
	shift_us = L->start_us >= 0 ? now_us - L->start_us : 0;
	o = L->nev <= LIVE_STACK ? stack : xcalloc(L->nev, sizeof *o);
	buf_init(&val);
	buf_init(&enc);
	buf_reserve(&enc, 256);
	for (i = 0; i < L->nev; i++) {
		ed = &L->ev[i];
		o[i].on = 0;
		buf_reset(&val);
		switch (ed->action) {
		case TRANSFORM_SHIFT:
			shape_time_format(&val, &ed->time,
			    ed->time.us + shift_us);
			break;
		case TRANSFORM_RESIGN:
			/* A token is base64url and dots: no decoding. */
			raw = transform_hit_raw(&m, &ed->hit);
			if (live_resign(&val, L, i, raw, shift_us) == -1)
				continue;
			break;
		case TRANSFORM_ECHO:
			if (!live_req_value(r, &ed->v->from, &val))
				continue;
			break;
		case TRANSFORM_KEY:
			k = &L->keys[ed->key];
			if (!live_req_value(r, k->where, &val) ||
			    (val.len == k->len &&
			    memcmp(val.data, k->val, k->len) == 0))
				continue;
			break;
		default:
			continue;
		}
		o[i].on = 1;
		o[i].off = enc.len;
		live_encode(&enc, &ed->hit, val.data != NULL ? val.data : "",
		    val.len);
		o[i].len = enc.len - o[i].off;
	}
	buf_free(&val);

	/* Room for the usual case, so the copies below never regrow. */
	buf_reserve(body, e->body_len + enc.len + 16);
	buf_reserve(head, e->head_len + enc.len + 16);
	if (L->grpc)
		live_splice_grpc(body, m.body, L, o, &enc);
	else
		live_splice(body, m.body, L, o, &enc, TRANSFORM_IN_BODY, 0);
	buf_append(head, e->head, L->status_len);
	for (i = 0; i < L->nheaders; i++) {
		buf_append_span(head, L->headers[i].name);
		buf_append(head, ": ", 2);
		if (!L->keep_cl && span_caseeq_str(L->headers[i].name,
		    "Content-Length"))
			buf_append_u64(head, body->len);
		else
			live_splice(head, L->headers[i].value, L, o, &enc,
			    TRANSFORM_IN_HEADER, i);
		buf_append(head, "\r\n", 2);
	}
	buf_free(&enc);
	if (o != stack)
		free(o);
}
