/*
 * record-h2.c -- the recorder's HTTP/2 relay (see record-h2.h): a
 * libnghttp2 server session for the client, a client session for the
 * upstream, and per stream the two halves tied together.
 *
 * A client stream opens a struct rh2_strm; its HEADERS submit the
 * upstream request (same method, path, authority and fields; :scheme the
 * upstream's), whose DATA a data provider pulls from the stream's up
 * queue as the client's DATA fills it; the upstream's response HEADERS
 * submit the client's response, whose DATA is pulled from the down queue
 * the same way.  A provider finding its queue empty defers, and is
 * resumed when bytes (or the end) come.  What a provider takes is then
 * consumed on the session it came from (automatic WINDOW_UPDATE is off),
 * which reopens that peer's window: a slow reader slows its writer, and a
 * queue never holds more than the window we advertise.
 *
 * libnghttp2 is not re-entered: what the callbacks of one session do to
 * the same session (consuming discarded bytes) is noted and done after
 * it returns; what they do to the other session is done at once.

 * An HTTP/1.1 upstream (h1) replaces the client session by a translator:
 * the streams wait in order (h1_wait), one at a time is written as an
 * HTTP/1.1 request from its up queue (h1_cur), and its answer, parsed by
 * http.h, is submitted to the client like an h2 one (the down queue, the
 * same provider); the client session's windows bound it as before.
 */
#include "config.h"

#include <sys/queue.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "buf.h"
#include "http.h"
#include "httpc-h2.h"
#include "httpflow.h"
#include "log.h"
#include "loop.h"
#include "record-h2.h"
#include "snap.h"
#include "xmalloc.h"

#define RH2_WINDOW		(256u * 1024)
#define RH2_CONN_WINDOW		(1024 * 1024)
#define RH2_MAX_STREAMS		100
#define RH2_MAX_FIELDS		128
#define RH2_PREFACE		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

/* One direction of a stream: what came from one peer for the other. */
struct rh2_half {
	struct buf		 q;		/* not yet taken by the other */
	size_t			 off;		/* taken from q */
	int			 end;		/* END_STREAM came */
	int			 deferred;	/* the provider waits */
	struct snap_header	*trl;		/* trailers that came */
	size_t			 ntrl;
	struct buf		 rec;		/* recorded body */
	size_t			 len;		/* whole body size */
};

struct rh2_strm {
	TAILQ_ENTRY(rh2_strm)	 entry;
	struct record_h2	*h;
	int32_t			 cid;		/* client's stream */
	int32_t			 uid;		/* upstream's; 0: none yet */
	int			 cl_open, up_open;	/* sessions know it */
	int			 handed;	/* txn handed over */
	int			 submitted;	/* response to the client */
	int			 skip_block;	/* a 1xx HEADERS */
	int			 probe_wait;	/* its head waits for the probe */
	int			 h1_wait;	/* HTTP/1.1: waits for its turn */
	struct rh2_half		 req, res;
	char			*method, *path, *authority;
	struct snap_header	*hdr, *rhdr;	/* request's, response's */
	size_t			 nhdr, nrhdr;
	int			 status;
	uint64_t		 start_ns, ttfb_ns;
};

TAILQ_HEAD(rh2_list, rh2_strm);

struct record_h2 {
	struct record_h2_config	 cfg;
	nghttp2_session		*cl;		/* server session */
	nghttp2_session		*up;		/* client session */
	struct rh2_list		 strms;
	size_t			 nstrms;
	size_t			 cl_discard;	/* to consume on cl's connection */
	size_t			 up_discard;
	int			 cl_dead, up_dead;
	char			*scheme, *authority;
	int			 await_client;	/* h2c: nothing before its
						 * preface (curl takes little
						 * past the 101 in one read) */
	/* An upstream whose h2 is not known yet: requests wait for its
	 * first bytes (record_h2_is_probing). */
	int			 probing;
	/* HTTP/1.1 upstream (record_h2_upstream_h1): one exchange at a
	 * time on the connection, streams in order. */
	int			 h1;
	struct rh2_strm		*h1_cur;	/* its exchange in progress */
	int			 h1_sent;	/* h1_cur's request all out */
	int			 h1_chunked;	/* ... framed chunked */
	int			 h1_done;	/* the connection takes no more */
	int			 h1_close;	/* ... after this response */
	int			 h1_head;	/* the response's head came */
	enum http_framing	 h1_framing;
	uint64_t		 h1_left;	/* Content-Length bytes due */
	struct http_chunked	 h1_ck;
	struct buf		 h1_in;		/* response bytes not parsed */
	struct buf		 h1_trl;	/* its chunked trailers */
	uint64_t		 h1_trl_dropped;	/* request trailers that
						 * could not go */
};

static void	rh2_hand(struct rh2_strm *, const char *error);

/* --- helpers ------------------------------------------------------------ */

static void
rh2_field_add(struct snap_header **h, size_t *n, const uint8_t *name,
    size_t nlen, const uint8_t *value, size_t vlen)
{
	if (*n >= RH2_MAX_FIELDS)
		return;
	*h = xreallocarray(*h, *n + 1, sizeof **h);
	(*h)[*n].name = xstrndup((const char *)name, nlen);
	(*h)[*n].value = xstrndup((const char *)value, vlen);
	(*n)++;
}

static void
rh2_fields_free(struct snap_header *h, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

/* A copy of h[0..n) (NULL when n is 0). */
static struct snap_header *
rh2_fields_copy(const struct snap_header *h, size_t n)
{
	struct snap_header	*c;
	size_t			 i;

	if (n == 0)
		return NULL;
	c = xcalloc(n, sizeof *c);
	for (i = 0; i < n; i++) {
		c[i].name = xstrdup(h[i].name);
		c[i].value = xstrdup(h[i].value);
	}
	return c;
}

/* nv pointing at fields (valid while they are). */
static size_t
rh2_nv(nghttp2_nv *nv, size_t at, const struct snap_header *h, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++, at++)
		nv[at] = (nghttp2_nv){ (uint8_t *)h[i].name,
		    (uint8_t *)h[i].value, strlen(h[i].name),
		    strlen(h[i].value), NGHTTP2_NV_FLAG_NONE };
	return at;
}

static nghttp2_nv
rh2_nv1(const char *name, const char *value)
{
	return (nghttp2_nv){ (uint8_t *)name, (uint8_t *)value, strlen(name),
	    strlen(value), NGHTTP2_NV_FLAG_NONE };
}

static void
rh2_half_free(struct rh2_half *hf)
{
	buf_free(&hf->q);
	buf_free(&hf->rec);
	rh2_fields_free(hf->trl, hf->ntrl);
}

static void
rh2_strm_free(struct rh2_strm *st)
{
	TAILQ_REMOVE(&st->h->strms, st, entry);
	st->h->nstrms--;
	rh2_half_free(&st->req);
	rh2_half_free(&st->res);
	free(st->method);
	free(st->path);
	free(st->authority);
	rh2_fields_free(st->hdr, st->nhdr);
	rh2_fields_free(st->rhdr, st->nrhdr);
	free(st);
}

/* Frees st once neither session knows it any more. */
static void
rh2_strm_maybe_free(struct rh2_strm *st)
{
	if (!st->cl_open && !st->up_open)
		rh2_strm_free(st);
}

/* A body's bytes: queued for the other side, recorded up to max_body. */
static void
rh2_half_data(struct record_h2 *h, struct rh2_half *hf, const uint8_t *p,
    size_t n)
{
	size_t	keep = n;

	if (hf->off > 0 && hf->off == hf->q.len) {
		buf_reset(&hf->q);
		hf->off = 0;
	}
	buf_append(&hf->q, p, n);
	if (hf->rec.len < h->cfg.max_body) {
		if (keep > h->cfg.max_body - hf->rec.len)
			keep = h->cfg.max_body - hf->rec.len;
		buf_append(&hf->rec, p, keep);
	}
	hf->len += n;
}

/*
 * A data provider's read: takes up to len bytes of hf's queue for the
 * frame, consumes them on the session they came from (from, its stream
 * sid) so its peer may send more; at the end, EOF, with the trailers
 * submitted on ng (stream id) when there are some.
 */
static ssize_t
rh2_pull(nghttp2_session *ng, int32_t id, struct rh2_half *hf,
    nghttp2_session *from, int32_t sid, uint8_t *buf, size_t len,
    uint32_t *flags)
{
	nghttp2_nv	 nv[RH2_MAX_FIELDS];
	size_t		 n = hf->q.len - hf->off;

	if (n > len)
		n = len;
	if (n > 0) {
		memcpy(buf, hf->q.data + hf->off, n);
		hf->off += n;
		(void)nghttp2_session_consume_connection(from, n);
		if (sid > 0)
			(void)nghttp2_session_consume_stream(from, sid, n);
	}
	if (hf->off < hf->q.len)
		return (ssize_t)n;
	buf_reset(&hf->q);
	hf->off = 0;
	if (!hf->end) {
		if (n > 0)
			return (ssize_t)n;
		hf->deferred = 1;
		return NGHTTP2_ERR_DEFERRED;
	}
	*flags |= NGHTTP2_DATA_FLAG_EOF;
	if (hf->ntrl > 0 && nghttp2_submit_trailer(ng, id, nv,
	    rh2_nv(nv, 0, hf->trl, hf->ntrl)) == 0)
		*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
	return (ssize_t)n;
}

/* Bytes (or the end) came for hf: its provider on ng goes on. */
static void
rh2_wake(nghttp2_session *ng, int32_t id, struct rh2_half *hf)
{
	if (hf->deferred && id > 0) {
		hf->deferred = 0;
		(void)nghttp2_session_resume_data(ng, id);
	}
}

/*
 * st's stream closed on one session (upstream: the upstream's).  Not
 * handed over yet: a reset (or a refusal), passed on to the other side
 * and recorded.  What was queued for the closed side is dropped, its
 * bytes given back to the window of the side that sent them.
 */
static void
rh2_closed(struct record_h2 *h, struct rh2_strm *st, int upstream,
    uint32_t code)
{
	struct rh2_half	*dropped = upstream ? &st->req : &st->res;
	char		 why[96];

	if (!upstream && st->up_open && (h->h1 || h->probing)) {
		/* Not sent yet, or its HTTP/1.1 exchange cannot be cut
		 * short but with the connection. */
		if (st == h->h1_cur) {
			h->h1_cur = NULL;
			h->h1_head = 0;
			h->h1_done = 1;
		}
		st->h1_wait = st->probe_wait = 0;
		st->up_open = 0;
	}
	if (!st->handed) {
		if (upstream) {
			snprintf(why, sizeof why, "the upstream %s (%s)",
			    code == NGHTTP2_REFUSED_STREAM ? "refused the "
			    "stream" : "reset the stream",
			    nghttp2_http2_strerror(code));
			if (st->cl_open)
				nghttp2_submit_rst_stream(h->cl,
				    NGHTTP2_FLAG_NONE, st->cid,
				    code == NGHTTP2_NO_ERROR ?
				    NGHTTP2_INTERNAL_ERROR : code);
		} else {
			snprintf(why, sizeof why, "the client reset the "
			    "stream (%s)", nghttp2_http2_strerror(code));
			if (st->up_open)
				nghttp2_submit_rst_stream(h->up,
				    NGHTTP2_FLAG_NONE, st->uid,
				    NGHTTP2_CANCEL);
		}
		rh2_hand(st, why);
	}
	*(upstream ? &h->cl_discard : &h->up_discard) +=
	    dropped->q.len - dropped->off;
	buf_reset(&dropped->q);
	dropped->off = 0;
	rh2_strm_maybe_free(st);
}

/*
 * DATA for st from one side (upstream: the upstream's response): queued
 * for the other side, whose provider wakes; dropped (its window given
 * back) when the other side cannot take it.
 */
static void
rh2_data(struct record_h2 *h, struct rh2_strm *st, int upstream,
    const uint8_t *p, size_t n)
{
	/* The request goes on upstream after the answer was recorded (an
	 * early answer): the upstream may still read it. */
	if (st == NULL || (upstream ? !st->cl_open || !st->submitted :
	    !st->up_open)) {
		*(upstream ? &h->up_discard : &h->cl_discard) += n;
		return;
	}
	if (upstream && st->ttfb_ns == 0)
		st->ttfb_ns = loop_clock_ns();
	rh2_half_data(h, upstream ? &st->res : &st->req, p, n);
	if (upstream)
		rh2_wake(h->cl, st->cid, &st->res);
	else
		rh2_wake(h->up, st->uid, &st->req);
}

/* Both sessions' data providers, frames, DATA and stream closes: which
 * side from the session. */
static ssize_t
rh2_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	struct rh2_strm		*st = src->ptr;
	struct record_h2	*h = arg;

	if (ng == h->up)	/* a request body, from the client */
		return rh2_pull(ng, id, &st->req, h->cl, st->cl_open ?
		    st->cid : 0, buf, len, flags);
	return rh2_pull(ng, id, &st->res, h->up, st->up_open ? st->uid : 0,
	    buf, len, flags);
}

static int
rh2_on_data(nghttp2_session *ng, uint8_t flags, int32_t id,
    const uint8_t *p, size_t n, void *arg)
{
	struct record_h2	*h = arg;

	(void)flags;
	rh2_data(h, nghttp2_session_get_stream_user_data(ng, id), ng == h->up,
	    p, n);
	return 0;
}

static int
rh2_on_close(nghttp2_session *ng, int32_t id, uint32_t code, void *arg)
{
	struct record_h2	*h = arg;
	struct rh2_strm		*st = nghttp2_session_get_stream_user_data(ng,
				    id);

	if (st == NULL)
		return 0;
	if (ng == h->up)
		st->up_open = 0;
	else
		st->cl_open = 0;
	rh2_closed(h, st, ng == h->up, code);
	return 0;
}

/* --- the client side (server session) ---------------------------------- */

/* A client stream's state, known to the server session from now. */
static struct rh2_strm *
rh2_strm_new(struct record_h2 *h, int32_t cid)
{
	struct rh2_strm	*st;

	st = xcalloc(1, sizeof *st);
	st->h = h;
	st->cid = cid;
	st->cl_open = 1;
	st->start_ns = loop_clock_ns();
	buf_init(&st->req.q);
	buf_init(&st->req.rec);
	buf_init(&st->res.q);
	buf_init(&st->res.rec);
	TAILQ_INSERT_TAIL(&h->strms, st, entry);
	h->nstrms++;
	return st;
}

static int
rh2_cl_begin(nghttp2_session *ng, const nghttp2_frame *fr, void *arg)
{
	struct rh2_strm	*st;

	if (fr->hd.type != NGHTTP2_HEADERS ||
	    fr->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	st = rh2_strm_new(arg, fr->hd.stream_id);
	nghttp2_session_set_stream_user_data(ng, st->cid, st);
	return 0;
}

static int
rh2_cl_header(nghttp2_session *ng, const nghttp2_frame *fr,
    const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen,
    uint8_t flags, void *arg)
{
	struct rh2_strm	*st;
	char		**pp = NULL;

	(void)flags;
	(void)arg;
	if (fr->hd.type != NGHTTP2_HEADERS || (st =
	    nghttp2_session_get_stream_user_data(ng, fr->hd.stream_id)) ==
	    NULL)
		return 0;
	if (fr->headers.cat != NGHTTP2_HCAT_REQUEST) {
		rh2_field_add(&st->req.trl, &st->req.ntrl, name, nlen, value,
		    vlen);
		return 0;
	}
	if (nlen > 0 && name[0] == ':') {
		if (nlen == 7 && memcmp(name, ":method", 7) == 0)
			pp = &st->method;
		else if (nlen == 5 && memcmp(name, ":path", 5) == 0)
			pp = &st->path;
		else if (nlen == 10 && memcmp(name, ":authority", 10) == 0)
			pp = &st->authority;
		if (pp != NULL) {
			free(*pp);
			*pp = xstrndup((const char *)value, vlen);
		}
		return 0;
	}
	rh2_field_add(&st->hdr, &st->nhdr, name, nlen, value, vlen);
	return 0;
}

/*
 * A head crosses: the client's request goes upstream (request 1: the
 * same method, path and fields, our :scheme and :authority), or the
 * upstream's final response goes to the client; with st's data provider
 * unless end.
 */
static void
rh2_submit_head(struct record_h2 *h, struct rh2_strm *st, int request,
    int end)
{
	nghttp2_nv		 nv[RH2_MAX_FIELDS + 4];
	nghttp2_data_provider	 prd;
	const char		*auth;
	char			 status[8];
	size_t			 n = 0;
	int32_t			 id;

	prd.source.ptr = st;
	prd.read_callback = rh2_read;
	if (!request) {
		snprintf(status, sizeof status, "%03d", st->status);
		nv[n++] = rh2_nv1(":status", status);
		n = rh2_nv(nv, n, st->rhdr, st->nrhdr);
		st->submitted = 1;
		if (st->cl_open && nghttp2_submit_response(h->cl, st->cid, nv,
		    n, end ? NULL : &prd) != 0)
			nghttp2_submit_rst_stream(h->cl, NGHTTP2_FLAG_NONE,
			    st->cid, NGHTTP2_INTERNAL_ERROR);
		return;
	}
	if (st->method == NULL || st->path == NULL) {
		/* CONNECT and the like: not relayed. */
		nghttp2_submit_rst_stream(h->cl, NGHTTP2_FLAG_NONE, st->cid,
		    NGHTTP2_REFUSED_STREAM);
		rh2_hand(st, "not relayed: a request without :method or "
		    ":path");
		return;
	}
	/* Its DATA queues meanwhile (up_open: the upstream will take it). */
	st->up_open = 1;
	if (h->probing || h->h1) {
		*(h->probing ? &st->probe_wait : &st->h1_wait) = 1;
		return;
	}
	st->up_open = 0;
	nv[n++] = rh2_nv1(":method", st->method);
	nv[n++] = rh2_nv1(":scheme", h->scheme);
	if ((auth = h->authority != NULL ? h->authority : st->authority) !=
	    NULL)
		nv[n++] = rh2_nv1(":authority", auth);
	nv[n++] = rh2_nv1(":path", st->path);
	n = rh2_nv(nv, n, st->hdr, st->nhdr);
	id = nghttp2_submit_request(h->up, NULL, nv, n, end ? NULL : &prd, st);
	if (id < 0) {
		nghttp2_submit_rst_stream(h->cl, NGHTTP2_FLAG_NONE, st->cid,
		    NGHTTP2_REFUSED_STREAM);
		rh2_hand(st, "the upstream session takes no new stream");
		return;
	}
	st->uid = id;
	st->up_open = 1;
}

/* A client's HEADERS or DATA frame came whole for st. */
static void
rh2_cl_frame(struct record_h2 *h, struct rh2_strm *st,
    const nghttp2_frame *fr, int end)
{
	if (end)
		st->req.end = 1;
	if (fr->hd.type == NGHTTP2_HEADERS &&
	    fr->headers.cat == NGHTTP2_HCAT_REQUEST) {
		rh2_submit_head(h, st, 1, end);
		return;
	}
	if (end && st->up_open)
		rh2_wake(h->up, st->uid, &st->req);
}

/* --- the upstream side (client session) -------------------------------- */

static int
rh2_up_header(nghttp2_session *ng, const nghttp2_frame *fr,
    const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen,
    uint8_t flags, void *arg)
{
	struct rh2_strm	*st;
	int		 status;

	(void)flags;
	(void)arg;
	if (fr->hd.type != NGHTTP2_HEADERS || (st =
	    nghttp2_session_get_stream_user_data(ng, fr->hd.stream_id)) ==
	    NULL || st->handed)
		return 0;
	if (st->submitted) {		/* after the final head: trailers */
		if (nlen == 0 || name[0] != ':')
			rh2_field_add(&st->res.trl, &st->res.ntrl, name, nlen,
			    value, vlen);
		return 0;
	}
	if (nlen == 7 && memcmp(name, ":status", 7) == 0) {
		status = vlen == 3 ? (value[0] - '0') * 100 +
		    (value[1] - '0') * 10 + (value[2] - '0') : 0;
		st->skip_block = status < 200;
		if (!st->skip_block)
			st->status = status;
		return 0;
	}
	if (st->skip_block || (nlen > 0 && name[0] == ':'))
		return 0;
	rh2_field_add(&st->rhdr, &st->nrhdr, name, nlen, value, vlen);
	return 0;
}

/* An upstream's HEADERS or DATA frame came whole for st. */
static void
rh2_up_frame(struct record_h2 *h, struct rh2_strm *st,
    const nghttp2_frame *fr, int end)
{
	if (fr->hd.type == NGHTTP2_HEADERS && st->skip_block) {
		st->skip_block = 0;
		return;
	}
	if (st->ttfb_ns == 0)
		st->ttfb_ns = loop_clock_ns();
	if (fr->hd.type == NGHTTP2_HEADERS && !st->submitted &&
	    st->status != 0)
		rh2_submit_head(h, st, 0, end);
	if (end) {
		st->res.end = 1;
		/* Recorded before the client can see the stream end. */
		rh2_hand(st, NULL);
		if (st->cl_open)
			rh2_wake(h->cl, st->cid, &st->res);
	}
}

static int
rh2_on_frame(nghttp2_session *ng, const nghttp2_frame *fr, void *arg)
{
	struct record_h2	*h = arg;
	struct rh2_strm		*st;
	int			 end = (fr->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;

	if ((fr->hd.type != NGHTTP2_HEADERS && fr->hd.type != NGHTTP2_DATA) ||
	    (st = nghttp2_session_get_stream_user_data(ng,
	    fr->hd.stream_id)) == NULL || (st->handed && ng == h->up))
		return 0;
	if (ng == h->up)
		rh2_up_frame(h, st, fr, end);
	else
		rh2_cl_frame(h, st, fr, end);
	return 0;
}

/* --- transactions -------------------------------------------------------- */

static char *
rh2_take_body(struct buf *b, size_t *len)
{
	*len = b->len;
	if (b->len == 0)
		return NULL;
	return buf_detach(b, NULL);
}

/* 1 if the request's content-type is application/grpc[+...|;...]. */
static int
rh2_is_grpc(const struct snap_header *h, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(h[i].name, "content-type") == 0)
			return strncmp(h[i].value, "application/grpc", 16) == 0;
	return 0;
}

/* Hands st's transaction over, once; the strings move to it. */
static void
rh2_hand(struct rh2_strm *st, const char *error)
{
	struct record_h2_txn	 x;
	struct snap_txn		*t = &x.t;

	if (st->handed)
		return;
	st->handed = 1;
	if (st->h->h1 || st->h->probing) {
		/* Failed before or during its HTTP/1.1 exchange: it goes no
		 * further, and a connection it was on is done. */
		if (st == st->h->h1_cur) {
			st->h->h1_cur = NULL;
			st->h->h1_head = 0;
			st->h->h1_done = 1;
		}
		st->h1_wait = st->probe_wait = 0;
		st->up_open = 0;
	}
	memset(&x, 0, sizeof x);
	snap_txn_init(t);
	t->req.method = st->method != NULL ? st->method : xstrdup("-");
	t->req.target = st->path != NULL ? st->path : xstrdup("-");
	t->req.host = st->authority;
	st->method = st->path = st->authority = NULL;
	t->req.headers = st->hdr;
	t->req.nheaders = st->nhdr;
	st->hdr = NULL;
	st->nhdr = 0;
	/* Copies: trailers still to relay upstream need them. */
	t->req.trailers = rh2_fields_copy(st->req.trl, st->req.ntrl);
	t->req.ntrailers = st->req.ntrl;
	t->req.body = rh2_take_body(&st->req.rec, &t->req.body_len);
	if (st->status != 0) {
		t->has_res = 1;
		t->res.status = st->status;
		t->res.headers = st->rhdr;
		t->res.nheaders = st->nrhdr;
		t->res.body = rh2_take_body(&st->res.rec, &t->res.body_len);
		/* The client still gets them: copies. */
		t->res.trailers = rh2_fields_copy(st->res.trl, st->res.ntrl);
		t->res.ntrailers = st->res.ntrl;
		st->rhdr = NULL;
		st->nrhdr = 0;
	}
	/* gRPC bodies are written as their messages (snap.h "grpc"). */
	t->req.grpc = t->res.grpc = rh2_is_grpc(t->req.headers,
	    t->req.nheaders);
	x.req_len = st->req.len;
	x.res_len = st->res.len;
	x.start_ns = st->start_ns;
	x.ttfb_ns = st->ttfb_ns;
	x.error = error;
	if (st->h->cfg.txn != NULL)
		st->h->cfg.txn(st->h->cfg.arg, &x);
	snap_txn_free(t);
}

/* --- an HTTP/1.1 upstream ------------------------------------------------ */

/* Appends name as HTTP/1.1 spells it in a field line (as it came). */
static void
rh2_h1_field(struct buf *out, const char *name, const char *value)
{
	buf_append_str(out, name);
	buf_append_str(out, ": ");
	buf_append_str(out, value);
	buf_append_str(out, "\r\n");
}

/* st's request head as HTTP/1.1: the pseudo-headers as a request line
 * and Host; a body chunked unless a content-length came. */
static void
rh2_h1_head(struct record_h2 *h, struct rh2_strm *st, struct buf *out)
{
	const char	*auth = h->authority != NULL ? h->authority :
			    st->authority;
	size_t		 i;
	int		 cl = 0, te = 0;

	buf_printf(out, "%s %s HTTP/1.1\r\n", st->method, st->path);
	if (auth != NULL)
		rh2_h1_field(out, "host", auth);
	for (i = 0; i < st->nhdr; i++) {
		if (strcmp(st->hdr[i].name, "te") == 0) {
			te = strcmp(st->hdr[i].value, "trailers") == 0;
			continue;
		}
		if (httpc_h2_header_is_hop(span_from_str(st->hdr[i].name)))
			continue;
		cl |= strcmp(st->hdr[i].name, "content-length") == 0;
		rh2_h1_field(out, st->hdr[i].name, st->hdr[i].value);
	}
	if (te)
		buf_append_str(out, "te: trailers\r\nconnection: te\r\n");
	h->h1_chunked = !cl && !(st->req.end && st->req.q.len == st->req.off);
	if (h->h1_chunked)
		buf_append_str(out, "transfer-encoding: chunked\r\n");
	else if (!cl && (strcmp(st->method, "POST") == 0 ||
	    strcmp(st->method, "PUT") == 0 || strcmp(st->method, "PATCH") ==
	    0))
		buf_append_str(out, "content-length: 0\r\n");
	buf_append_str(out, "\r\n");
}

/* What of st's request body has come goes out (chunked or as is), its
 * bytes given back to the client's window; at its end, the trailers
 * (chunked only: a Content-Length body cannot carry them). */
static void
rh2_h1_body(struct record_h2 *h, struct rh2_strm *st, struct buf *out,
    size_t max)
{
	struct rh2_half	*hf = &st->req;
	size_t		 n = hf->q.len - hf->off, i;

	if (out->len < max && n > 0) {
		if (n > max - out->len)
			n = max - out->len;
		if (h->h1_chunked)
			buf_printf(out, "%zx\r\n", n);
		buf_append(out, hf->q.data + hf->off, n);
		if (h->h1_chunked)
			buf_append_str(out, "\r\n");
		hf->off += n;
		if (!h->cl_dead) {
			(void)nghttp2_session_consume_connection(h->cl, n);
			if (st->cl_open)
				(void)nghttp2_session_consume_stream(h->cl,
				    st->cid, n);
		}
	}
	if (hf->off < hf->q.len || !hf->end)
		return;
	if (h->h1_chunked) {
		buf_append_str(out, "0\r\n");
		for (i = 0; i < hf->ntrl; i++)
			rh2_h1_field(out, hf->trl[i].name, hf->trl[i].value);
		buf_append_str(out, "\r\n");
	} else if (hf->ntrl > 0) {
		h->h1_trl_dropped++;
		log_info("h2 %s %s: HTTP/1.1 upstream: the request's trailers "
		    "dropped (a Content-Length body; %llu so far)", st->method,
		    st->path, (unsigned long long)h->h1_trl_dropped);
	}
	h->h1_sent = 1;
}

/* The exchange on the connection ended (error: failed, NULL: whole);
 * an HTTP/1.1 connection whose exchange did not end cleanly is done. */
static void
rh2_h1_end(struct record_h2 *h, const char *error)
{
	struct rh2_strm	*st = h->h1_cur;

	h->h1_cur = NULL;
	h->h1_head = 0;
	st->up_open = 0;
	if (error != NULL || h->h1_close || !h->h1_sent)
		h->h1_done = 1;
	if (error != NULL) {
		if (!st->handed && st->cl_open && !h->cl_dead)
			(void)nghttp2_submit_rst_stream(h->cl,
			    NGHTTP2_FLAG_NONE, st->cid,
			    NGHTTP2_INTERNAL_ERROR);
		rh2_hand(st, error);
	} else {
		st->res.end = 1;
		rh2_hand(st, NULL);
		if (st->cl_open)
			rh2_wake(h->cl, st->cid, &st->res);
	}
	rh2_strm_maybe_free(st);
}

/* The response's head at h1_in: st's status and fields (h2's: lower
 * case, no connection fields), submitted to the client.  1: taken, 0:
 * more bytes needed, -1: not HTTP/1.1. */
static int
rh2_h1_res_head(struct record_h2 *h, struct rh2_strm *st)
{
	struct http_msg	 m;
	enum http_err	 err;
	size_t		 off, i, k;
	ssize_t		 r;
	char		*name;

	r = http_parse_response(h->h1_in.data, h->h1_in.len, 0,
	    strcmp(st->method, "HEAD") == 0, &m, &err, &off);
	if (r == HTTP_PARTIAL)
		return 0;
	if (r == HTTP_ERROR)
		return -1;
	if (st->ttfb_ns == 0)
		st->ttfb_ns = loop_clock_ns();
	if (m.status >= 200) {
		st->status = m.status;
		for (i = 0; i < m.nheaders; i++) {
			if (httpc_h2_header_is_hop(m.headers[i].name) ||
			    span_caseeq_str(m.headers[i].name, "Trailer"))
				continue;
			name = span_dup(m.headers[i].name);
			for (k = 0; name[k] != '\0'; k++)
				name[k] = (char)tolower((unsigned char)name[k]);
			rh2_field_add(&st->rhdr, &st->nrhdr,
			    (const uint8_t *)name, k,
			    (const uint8_t *)m.headers[i].value.p,
			    m.headers[i].value.len);
			free(name);
		}
		h->h1_head = 1;
		h->h1_close = !m.keep_alive;
		h->h1_framing = m.framing;
		h->h1_left = m.content_length;
		if (m.framing == HTTP_FRAME_CHUNKED) {
			http_chunked_init(&h->h1_ck);
			buf_reset(&h->h1_trl);
			h->h1_ck.trailers = &h->h1_trl;
		}
		rh2_submit_head(h, st, 0, m.framing == HTTP_FRAME_NONE ||
		    (m.framing == HTTP_FRAME_LENGTH && m.content_length == 0));
	}
	memmove(h->h1_in.data, h->h1_in.data + r, h->h1_in.len - (size_t)r);
	h->h1_in.len -= (size_t)r;
	return 1;
}

/* Response body bytes at h1_in for st.  1: the response is whole, 0:
 * more needed, -1: bad chunked framing. */
static int
rh2_h1_res_body(struct record_h2 *h, struct rh2_strm *st)
{
	struct snap_header	*trl;
	enum http_err		 err;
	size_t			 n = h->h1_in.len, off, i, k;
	ssize_t			 rest;

	switch (h->h1_framing) {
	case HTTP_FRAME_NONE:
		return 1;
	case HTTP_FRAME_LENGTH:
		if (n > h->h1_left)
			n = (size_t)h->h1_left;
		rh2_data(h, st, 1, (const uint8_t *)h->h1_in.data, n);
		buf_consume(&h->h1_in, n);
		h->h1_left -= n;
		return h->h1_left == 0;
	case HTTP_FRAME_CHUNKED:
		rest = http_chunked_decode(&h->h1_ck, h->h1_in.data, &n, &err,
		    &off);
		if (rest == HTTP_ERROR)
			return -1;
		rh2_data(h, st, 1, (const uint8_t *)h->h1_in.data, n);
		if (rest == HTTP_PARTIAL) {
			buf_reset(&h->h1_in);
			return 0;
		}
		memmove(h->h1_in.data, h->h1_in.data + n, (size_t)rest);
		h->h1_in.len = (size_t)rest;
		httpflow_trailers(&h->h1_trl, &trl, &k);
		for (i = 0; i < k; i++) {
			for (off = 0; trl[i].name[off] != '\0'; off++)
				trl[i].name[off] = (char)tolower(
				    (unsigned char)trl[i].name[off]);
			if (!httpc_h2_header_is_hop(span_from_str(
			    trl[i].name)))
				rh2_field_add(&st->res.trl, &st->res.ntrl,
				    (const uint8_t *)trl[i].name,
				    strlen(trl[i].name),
				    (const uint8_t *)trl[i].value,
				    strlen(trl[i].value));
		}
		rh2_fields_free(trl, k);
		return 1;
	default:	/* until the upstream closes */
		rh2_data(h, st, 1, (const uint8_t *)h->h1_in.data, n);
		buf_reset(&h->h1_in);
		return 0;
	}
}

/* The upstream's bytes, parsed as the answers to the exchanges. */
static void
rh2_h1_in(struct record_h2 *h, const char *p, size_t n)
{
	int	r;

	buf_append(&h->h1_in, p, n);
	while (h->h1_cur != NULL) {
		if (!h->h1_head) {
			if (h->h1_in.len == 0)
				return;
			if ((r = rh2_h1_res_head(h, h->h1_cur)) == 0)
				return;
			if (r == -1) {
				rh2_h1_end(h, "the upstream's HTTP/1.1 "
				    "response does not parse");
				break;
			}
			if (!h->h1_head)
				continue;	/* an interim 1xx */
		}
		if ((r = rh2_h1_res_body(h, h->h1_cur)) == 0)
			return;
		rh2_h1_end(h, r == -1 ? "the upstream's HTTP/1.1 response: "
		    "bad chunked framing" : NULL);
	}
	if (h->h1_in.len > 0) {
		/* Bytes no request asked for: the connection is unusable. */
		h->h1_done = 1;
		buf_reset(&h->h1_in);
	}
}

/* HTTP/1.1 output: the next waiting stream's request once the
 * connection is free, then its body as it comes. */
static void
rh2_h1_out(struct record_h2 *h, struct buf *out, size_t max)
{
	struct rh2_strm	*st;

	if (h->h1_done)
		return;
	if (h->h1_cur == NULL) {
		TAILQ_FOREACH(st, &h->strms, entry)
			if (st->h1_wait)
				break;
		if (st == NULL)
			return;
		st->h1_wait = 0;
		h->h1_cur = st;
		h->h1_sent = 0;
		h->h1_head = 0;
		buf_reset(&h->h1_in);
		rh2_h1_head(h, st, out);
	}
	if (!h->h1_sent)
		rh2_h1_body(h, h->h1_cur, out, max);
}

/* --- the session ---------------------------------------------------------- */

static nghttp2_session_callbacks *
rh2_callbacks(int server)
{
	nghttp2_session_callbacks	*cb;

	if (nghttp2_session_callbacks_new(&cb) != 0)
		return NULL;
	if (server) {
		nghttp2_session_callbacks_set_on_begin_headers_callback(cb,
		    rh2_cl_begin);
		nghttp2_session_callbacks_set_on_header_callback(cb,
		    rh2_cl_header);
	} else {
		nghttp2_session_callbacks_set_on_header_callback(cb,
		    rh2_up_header);
	}
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, rh2_on_frame);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb,
	    rh2_on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb,
	    rh2_on_close);
	return cb;
}

struct record_h2 *
record_h2_create(const struct record_h2_config *cfg, char **cause)
{
	struct record_h2		*h;
	nghttp2_session_callbacks	*cb_cl, *cb_up;
	nghttp2_option			*opt;
	nghttp2_settings_entry		 iv[2];
	int				 rv = -1;

	h = xcalloc(1, sizeof *h);
	h->cfg = *cfg;
	h->scheme = xstrdup(cfg->scheme);
	h->authority = cfg->authority != NULL ? xstrdup(cfg->authority) :
	    NULL;
	if (h->cfg.window == 0)
		h->cfg.window = RH2_WINDOW;
	h->probing = cfg->probe && !cfg->h1;
	h->h1 = cfg->h1;
	buf_init(&h->h1_in);
	buf_init(&h->h1_trl);
	TAILQ_INIT(&h->strms);
	cb_cl = rh2_callbacks(1);
	cb_up = rh2_callbacks(0);
	if (cb_cl == NULL || cb_up == NULL || nghttp2_option_new(&opt) != 0) {
		nghttp2_session_callbacks_del(cb_cl);
		nghttp2_session_callbacks_del(cb_up);
		free(h);
		*cause = xstrdup("nghttp2: out of memory");
		return NULL;
	}
	nghttp2_option_set_no_auto_window_update(opt, 1);
	if (nghttp2_session_server_new2(&h->cl, cb_cl, h, opt) == 0 &&
	    nghttp2_session_client_new2(&h->up, cb_up, h, opt) == 0)
		rv = 0;
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb_cl);
	nghttp2_session_callbacks_del(cb_up);
	if (rv == 0) {
		iv[0] = (nghttp2_settings_entry){
		    NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, RH2_MAX_STREAMS };
		iv[1] = (nghttp2_settings_entry){
		    NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, h->cfg.window };
		if (nghttp2_submit_settings(h->cl, NGHTTP2_FLAG_NONE, iv, 2) ||
		    nghttp2_submit_settings(h->up, NGHTTP2_FLAG_NONE, iv + 1,
		    1) ||
		    nghttp2_session_set_local_window_size(h->cl,
		    NGHTTP2_FLAG_NONE, 0, RH2_CONN_WINDOW) ||
		    nghttp2_session_set_local_window_size(h->up,
		    NGHTTP2_FLAG_NONE, 0, RH2_CONN_WINDOW))
			rv = -1;
	}
	if (rv == -1) {
		record_h2_free(h);
		*cause = xstrdup("nghttp2: cannot start the sessions");
		return NULL;
	}
	return h;
}

void
record_h2_free(struct record_h2 *h)
{
	struct rh2_strm	*st;

	if (h == NULL)
		return;
	while ((st = TAILQ_FIRST(&h->strms)) != NULL)
		rh2_strm_free(st);
	nghttp2_session_del(h->cl);
	nghttp2_session_del(h->up);
	buf_free(&h->h1_in);
	buf_free(&h->h1_trl);
	free(h->scheme);
	free(h->authority);
	free(h);
}

/* Hands over every stream in flight with error why; the sessions no
 * longer call back for them. */
static void
rh2_fail_all(struct record_h2 *h, const char *why)
{
	struct rh2_strm	*st;

	TAILQ_FOREACH(st, &h->strms, entry)
		rh2_hand(st, why);
}

/* Window given back for bytes no one will take. */
static void
rh2_discard(struct record_h2 *h)
{
	if (h->cl_discard > 0 && !h->cl_dead)
		(void)nghttp2_session_consume_connection(h->cl, h->cl_discard);
	if (h->up_discard > 0 && !h->up_dead)
		(void)nghttp2_session_consume_connection(h->up, h->up_discard);
	h->cl_discard = h->up_discard = 0;
}

int
record_h2_client_in(struct record_h2 *h, const char *p, size_t n)
{
	ssize_t	rv;

	if (h->cl_dead)
		return -1;
	h->await_client = 0;
	rv = nghttp2_session_mem_recv(h->cl, (const uint8_t *)p, n);
	rh2_discard(h);
	if (rv < 0) {
		h->cl_dead = 1;
		rh2_fail_all(h, "the client broke the HTTP/2 protocol");
		if (!h->up_dead)
			(void)nghttp2_session_terminate_session(h->up,
			    NGHTTP2_CANCEL);
		return -1;
	}
	return 0;
}

int
record_h2_upstream_in(struct record_h2 *h, const char *p, size_t n)
{
	struct rh2_strm	*st;
	ssize_t		 rv;

	if (h->up_dead)
		return -1;
	if (h->h1) {
		rh2_h1_in(h, p, n);
		rh2_discard(h);
		return 0;
	}
	if (h->probing) {
		/* It speaks h2: the requests that waited go. */
		h->probing = 0;
		TAILQ_FOREACH(st, &h->strms, entry)
			if (st->probe_wait && !st->handed) {
				st->probe_wait = 0;
				rh2_submit_head(h, st, 1, st->req.end &&
				    st->req.q.len == st->req.off);
			}
	}
	rv = nghttp2_session_mem_recv(h->up, (const uint8_t *)p, n);
	rh2_discard(h);
	if (rv < 0) {
		record_h2_lost(h, 1, "the upstream broke the HTTP/2 protocol");
		return -1;
	}
	return 0;
}

static int
rh2_out(nghttp2_session *ng, int dead, struct buf *out, size_t max)
{
	const uint8_t	*p;
	ssize_t		 n;

	if (dead)
		return -1;
	while (out->len < max) {
		if ((n = nghttp2_session_mem_send(ng, &p)) < 0)
			return -1;
		if (n == 0)
			break;
		buf_append(out, p, (size_t)n);
	}
	if (!nghttp2_session_want_read(ng) && !nghttp2_session_want_write(ng))
		return -1;
	return 0;
}

int
record_h2_client_out(struct record_h2 *h, struct buf *out, size_t max)
{
	int	rv;

	if (h->await_client && !h->cl_dead)
		return 0;
	rv = rh2_out(h->cl, h->cl_dead, out, max);
	rh2_discard(h);
	return rv;
}

int
record_h2_upstream_out(struct record_h2 *h, struct buf *out, size_t max)
{
	int	rv;

	if (h->h1) {
		if (h->up_dead)
			return -1;
		rh2_h1_out(h, out, max);
		rh2_discard(h);
		return 0;
	}
	rv = rh2_out(h->up, h->up_dead, out, max);

	rh2_discard(h);
	return rv;
}

/* 1 if st's response declared a Content-Length its body has reached. */
static int
rh2_res_whole(const struct rh2_strm *st)
{
	size_t		 i;
	uint64_t	 n = 0;
	const char	*p;

	if (st->status == 0 || !st->submitted)
		return 0;
	for (i = 0; i < st->nrhdr; i++) {
		if (strcmp(st->rhdr[i].name, "content-length") != 0)
			continue;
		for (p = st->rhdr[i].value; *p >= '0' && *p <= '9' &&
		    n < UINT64_MAX / 10 - 10; p++)
			n = n * 10 + (uint64_t)(*p - '0');
		return *p == '\0' && p != st->rhdr[i].value &&
		    st->res.len >= n;
	}
	return 0;
}

void
record_h2_lost(struct record_h2 *h, int upstream, const char *why)
{
	struct rh2_strm	*st;

	/* The client's streams in flight are reset, then it gets a GOAWAY
	 * (a stream the GOAWAY covers would wait for the close); answers
	 * already whole still go out, then the session ends. */
	if (upstream && !h->cl_dead)
		TAILQ_FOREACH(st, &h->strms, entry)
			if (!st->handed && st->cl_open)
				(void)nghttp2_submit_rst_stream(h->cl,
				    NGHTTP2_FLAG_NONE, st->cid,
				    NGHTTP2_INTERNAL_ERROR);
	/* A client gone once it had a whole Content-Length body (curl does
	 * not wait for END_STREAM): that answer was complete. */
	if (!upstream)
		TAILQ_FOREACH(st, &h->strms, entry)
			if (!st->handed && rh2_res_whole(st))
				rh2_hand(st, NULL);
	rh2_fail_all(h, why);
	if (upstream) {
		h->up_dead = 1;
		if (!h->cl_dead)
			(void)nghttp2_submit_goaway(h->cl, NGHTTP2_FLAG_NONE,
			    nghttp2_session_get_last_proc_stream_id(h->cl),
			    NGHTTP2_NO_ERROR, NULL, 0);
	} else
		h->cl_dead = 1;
}

/* The HTTP/1.1 headers that do not cross into h2 (httpc-h2's list:
 * Host, the hop-by-hop ones), and the upgrade's settings. */
static int
rh2_is_h1_only(struct span n)
{
	return httpc_h2_header_is_hop(n) ||
	    span_caseeq_str(n, "HTTP2-Settings");
}

int
record_h2_upgrade(struct record_h2 *h, const char *settings, size_t len,
    const struct http_msg *m)
{
	const struct http_header	*host = http_find_header(m, "Host");
	struct rh2_strm			*st;
	char				*name;
	size_t				 i, k;

	st = rh2_strm_new(h, 1);
	if (nghttp2_session_upgrade2(h->cl, (const uint8_t *)settings, len,
	    span_eq_str(m->method, "HEAD"), st) != 0) {
		st->cl_open = 0;
		rh2_strm_free(st);
		return -1;
	}
	/* A server session does not keep upgrade2's user data. */
	(void)nghttp2_session_set_stream_user_data(h->cl, 1, st);
	st->method = span_dup(m->method);
	st->path = span_dup(m->target);
	if (host != NULL)
		st->authority = span_dup(host->value);
	for (i = 0; i < m->nheaders; i++) {
		if (rh2_is_h1_only(m->headers[i].name))
			continue;
		name = span_dup(m->headers[i].name);
		for (k = 0; name[k] != '\0'; k++)
			name[k] = (char)tolower((unsigned char)name[k]);
		rh2_field_add(&st->hdr, &st->nhdr, (const uint8_t *)name,
		    k, (const uint8_t *)m->headers[i].value.p,
		    m->headers[i].value.len);
		free(name);
	}
	st->req.end = 1;
	rh2_submit_head(h, st, 1, 1);
	h->await_client = 1;
	return 0;
}

size_t
record_h2_streams(const struct record_h2 *h)
{
	const struct rh2_strm	*st;
	size_t			 n = 0;

	TAILQ_FOREACH(st, &h->strms, entry)
		if (!st->handed)
			n++;
	return n;
}

int
record_h2_is_open(const struct record_h2 *h)
{
	return !h->cl_dead && !h->up_dead &&
	    nghttp2_session_want_read(h->cl) != 0;
}

int
record_h2_is_preface(const char *p, size_t n)
{
	if (n > sizeof RH2_PREFACE - 1)
		n = sizeof RH2_PREFACE - 1;
	return memcmp(p, RH2_PREFACE, n) == 0;
}

int
record_h2_is_probing(const struct record_h2 *h)
{
	return h->probing;
}

void
record_h2_upstream_h1(struct record_h2 *h)
{
	struct rh2_strm	*st;

	h->probing = 0;
	h->h1 = 1;
	TAILQ_FOREACH(st, &h->strms, entry)
		if (st->probe_wait) {
			st->probe_wait = 0;
			st->h1_wait = 1;
		}
	record_h2_h1_conn(h);
}

int
record_h2_is_h1(const struct record_h2 *h)
{
	return h->h1;
}

void
record_h2_h1_conn(struct record_h2 *h)
{
	h->h1_done = h->h1_close = 0;
	buf_reset(&h->h1_in);
}

void
record_h2_upstream_eof(struct record_h2 *h)
{
	if (!h->h1)
		return;
	if (h->h1_cur != NULL)
		rh2_h1_end(h, h->h1_head && h->h1_framing == HTTP_FRAME_EOF ?
		    NULL : "the upstream closed the connection");
	h->h1_done = 1;
}

int
record_h2_h1_done(const struct record_h2 *h)
{
	return h->h1 && h->h1_done;
}

int
record_h2_h1_waiting(const struct record_h2 *h)
{
	const struct rh2_strm	*st;

	if (!h->h1 || h->up_dead)
		return 0;
	TAILQ_FOREACH(st, &h->strms, entry)
		if (st->h1_wait)
			return 1;
	return 0;
}

int
record_h2_upstream_full(const struct record_h2 *h)
{
	const struct rh2_strm	*st = h->h1_cur;

	return h->h1 && st != NULL && st->res.q.len - st->res.off >=
	    h->cfg.window;
}
