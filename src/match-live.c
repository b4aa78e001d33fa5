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
 * buffers, so workers share it without locks.
 */
#include "config.h"

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

struct live_edit {
	enum transform_action		 action;	/* SHIFT, RESIGN, ECHO,
							   KEY (echo) */
	struct transform_hit		 hit;		/* in the response */
	const struct transform_value	*v;		/* NULL for KEY */
	struct shape_time		 time;		/* SHIFT: recorded */
	size_t				 key;		/* KEY: into keys */
};

struct live_key {
	const struct transform_loc	*where;		/* in the request */
	char				*val;		/* recorded */
	size_t				 len;
};

struct match_live {
	size_t			 status_len;	/* status line, CRLF included */
	struct http_header	*headers;	/* spans into the entry's head */
	size_t			 nheaders;
	int			 keep_cl;	/* 304: the recorded length */
	int64_t			 start_us;	/* the clock's origin, -1: none */
	struct live_edit	*ev;
	size_t			 nev;
	struct live_key		*keys;
	size_t			 nkeys;
};

static void
live_add(struct match_live *L, const struct live_edit *ed)
{
	L->ev = xreallocarray(L->ev, L->nev + 1, sizeof *L->ev);
	L->ev[L->nev++] = *ed;
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
		if (tmp->len == len && memcmp(tmp->data, val, len) == 0 &&
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

void
match_live_render(const struct match_entry *e, const struct match_req *r,
    int64_t now_us, struct buf *head, struct buf *body)
{
	const struct match_live	*L = e->live;
	const struct live_edit	*ed;
	const struct live_key	*k;
	struct transform_edits	 edits;
	struct transform_msg	 m;
	struct buf		 val, raw;
	int64_t			 shift_us;
	size_t			 i;
	char			*cause;

	live_msg(&m, L, e);
	shift_us = L->start_us >= 0 ? now_us - L->start_us : 0;
	transform_edits_init(&edits);
	buf_init(&val);
	buf_init(&raw);
	for (i = 0; i < L->nev; i++) {
		ed = &L->ev[i];
		buf_reset(&val);
		switch (ed->action) {
		case TRANSFORM_SHIFT:
			shape_time_format(&val, &ed->time,
			    ed->time.us + shift_us);
			break;
		case TRANSFORM_RESIGN:
			buf_reset(&raw);
			transform_hit_value(&raw, &m, &ed->hit);
			cause = NULL;
			if (jwt_resign(&val, raw.data, raw.len,
			    shift_us / 1000000, ed->v->claims,
			    ed->v->nclaims, ed->v->key->key, &cause) == -1) {
				free(cause);
				continue;
			}
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
		transform_edits_add(&edits, &ed->hit,
		    val.data != NULL ? val.data : "", val.len);
	}
	buf_free(&val);
	buf_free(&raw);

	transform_edits_render(body, &edits, &m, TRANSFORM_IN_BODY, 0);
	buf_append(head, e->head, L->status_len);
	for (i = 0; i < L->nheaders; i++) {
		buf_append_span(head, L->headers[i].name);
		buf_append(head, ": ", 2);
		if (!L->keep_cl && span_caseeq_str(L->headers[i].name,
		    "Content-Length"))
			buf_printf(head, "%zu", body->len);
		else
			transform_edits_render(head, &edits, &m,
			    TRANSFORM_IN_HEADER, i);
		buf_append(head, "\r\n", 2);
	}
	transform_edits_free(&edits);
}
