/*
 * httpd-h2.c -- HTTP/2 for the HTTP server (module httpd): the glue
 * between libnghttp2, which does the framing, HPACK, flow control and the
 * protocol's state machines, and httpd's connections and roles.
 *
 * A connection that speaks HTTP/2 (prior knowledge, Upgrade: h2c, ALPN
 * "h2") keeps its hconn: the bytes it reads go to the session
 * (nghttp2_session_mem_recv) and the frames the session makes are copied
 * into its output queue (nghttp2_session_mem_send) and written as any
 * output is, up to the same output bound.  Each request stream becomes an
 * hconn of its own (strm set, parent the connection): the role is handed
 * its request as a struct http_msg (":method", ":path" as the target,
 * ":authority" as Host, the other headers as received) and queues an
 * HTTP/1.1-formatted reply on it.  The glue parses that reply's head
 * (http_parse_response), submits it as HEADERS without the hop-by-hop
 * headers, and hands the body to the session as DATA through a data
 * provider that reads the stream's queue (deferred while it is empty,
 * resumed when the role queues more: a drip).  A stream is one
 * transaction: holding it (latency) holds nothing else, closing it resets
 * it, and the connection lives on.
 *
 * nghttp2 must not be re-entered from its callbacks: while it runs
 * (in_cb), a stream that changes only notes it, and the connection's
 * output is pumped once the session returns.
 */
#include "config.h"

#include <sys/queue.h>

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <nghttp2/nghttp2.h>

#include "base64.h"
#include "buf.h"
#include "conn.h"
#include "http.h"
#include "httpd.h"
#include "httpd-int.h"
#include "log.h"
#include "loop.h"
#include "xmalloc.h"

#define H2_MAX_STREAMS		100	/* SETTINGS_MAX_CONCURRENT_STREAMS */
#define H2_POOL_MAX		1024	/* freed streams kept per httpd */
#define H2_WB_KEEP		(64 * 1024)	/* frame buffer kept */
#define H2_PREFACE		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN		24
/* Pseudo-headers and headers a request may carry beyond the parser's. */
#define H2_MAX_FIELDS		(HTTP_MAX_HEADERS + 5)

/* One request field, as offsets into the stream's hb. */
struct h2_field {
	size_t	no, nl, vo, vl;
};

struct httpd_h2 {
	nghttp2_session		*ng;
	struct hconn		*c;
	struct hconn_list	 streams;	/* open stream hconns */
	size_t			 nstreams;
	int			 in_cb;		/* nghttp2 is running */
	int			 failed;	/* fatal: close at once */
	int			 goaway;	/* GOAWAY submitted */
	int			 stalled;	/* receive window never reopened */
	int			 settings_sent;	/* our SETTINGS went out */
	int			 mute;		/* settings_timeout: nothing goes
						   out any more */
	int			 no_ack;	/* settings_timeout: no SETTINGS
						   ACK goes out */
	/* Frames made by the session: wb is reused once what was queued
	 * from it is written (wb_busy), else a fresh buffer is. */
	struct buf		 wb;
	int			 wb_busy;
	struct buf		*cur;		/* where frames go, in pump */
	struct buf		 nvb;		/* reply names, lowercased */
	struct http_header	 trl[HTTP_MAX_HEADERS];	/* msg's trailers */
	struct httpd_h2_mem		*mem;		/* its httpd's, or NULL */
	struct http_msg		 msg;		/* a request; a reply's head */
};

struct httpd_h2_strm {
	/* Kept (emptied) when the stream is pooled. */
	struct buf		 hb;		/* request field bytes */
	struct buf		 body;
	struct buf		 head;		/* the reply's HTTP/1.1 head */
	struct buf		 pre;		/* body bytes that came with it */
	struct buf		 tail;		/* chunked: its last raw bytes,
						 * where the trailers are */

	/* Cleared for each stream (from id on). */
	int32_t			 id;
	const nghttp2_nv	*tnv;		/* trailers after the body */
	size_t			 ntnv;
	size_t			 nf;
	int			 reject;	/* status to answer with, or 0 */
	const char		*why;
	int			 complete;	/* END_STREAM came */
	int			 answered;	/* handed to the role */
	int			 expect;	/* expect: 100-continue */
	int			 trailing;	/* trailers came: fields from
						   nhead on are theirs */
	size_t			 nhead;

	/* The reply. */
	size_t			 pre_off;
	int			 head_req;	/* HEAD: no body */
	int			 submitted;	/* HEADERS submitted */
	int			 deferred;	/* DATA waits for the role */
	enum http_framing	 framing;
	uint64_t		 left;		/* HTTP_FRAME_LENGTH: to send */
	struct http_chunked	 ck;
	int			 stall;		/* hconn_h2_stall */
	uint64_t		 stall_left;	/* bytes the window allowed */

	/* Not cleared: only the first nf are read. */
	struct h2_field		 f[H2_MAX_FIELDS];
};

static nghttp2_session_callbacks	*h2_callbacks;
static nghttp2_option			*h2_option;
static pthread_once_t			 h2_once = PTHREAD_ONCE_INIT;

static void	h2_kick(struct hconn *);
static void	h2_heads_free(struct httpd *);
static size_t	h2_trailer_fields(char *, char *, nghttp2_nv *);
static void	h2_mem_unref(struct httpd_h2_mem *);
static void	h2_deliver(struct hconn *);
static int	h2_is_hop_by_hop(struct span);

/* --- streams ---------------------------------------------------------- */

/* A new stream hconn for id, or NULL if the role refused it. */
static struct hconn *
h2_stream_new(struct httpd_h2 *sess, int32_t id)
{
	struct hconn	*c = sess->c, *s;
	struct httpd	*h = c->h;

	/* A pooled stream keeps its buffers and output array (empty). */
	if ((s = TAILQ_FIRST(&h->h2_pool)) != NULL) {
		TAILQ_REMOVE(&h->h2_pool, s, entry);
		h->h2_npool--;
	} else {
		s = xcalloc(1, sizeof *s);
		s->strm = xcalloc(1, sizeof *s->strm);
	}
	s->h = h;
	s->parent = c;
	s->strm->id = id;
	memcpy(s->peer, c->peer, sizeof s->peer);
	loop_defer_init(&s->reap, httpd_reap_cb, s);
	loop_timer_init(&s->dl_timer, httpd_deadline_cb, s);
	if (h->role.accepted != NULL && h->role.accepted(s) == -1) {
		s->dead = 1;
		httpd_h2_stream_free(s);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&sess->streams, s, entry);
	sess->nstreams++;
	/* The request must be complete in time, as on HTTP/1.1. */
	s->in_head = 1;
	s->deadline = loop_now(h->loop) + h->cfg.header_timeout_ns;
	httpd_arm(s);
	return s;
}

/* The stream is over (no frame is sent here): freed at the end of the
 * loop's round. */
static void
h2_stream_gone(struct hconn *s)
{
	struct hconn	*c = s->parent;
	struct httpd_h2	*sess = c->h2;

	if (s->dead)
		return;
	s->dead = 1;
	loop_timer_del(s->h->loop, &s->dl_timer);
	STAT_ADD(s->h->st.out_mem, -(s->out_bytes + s->outcap *
	    sizeof *s->out));
	TAILQ_REMOVE(&sess->streams, s, entry);
	sess->nstreams--;
	if (!c->dead)
		(void)nghttp2_session_set_stream_user_data(sess->ng,
		    s->strm->id, NULL);
	loop_defer(s->h->loop, &s->reap);
	if (!c->dead && sess->nstreams == 0) {
		if (c->peer_eof)
			httpd_h2_drain(c);
		c->deadline = loop_now(c->h->loop) + c->h->cfg.idle_timeout_ns;
		httpd_arm(c);
	}
}

/* Resets the stream with code (RST_STREAM) and forgets it. */
static void
h2_stream_reset(struct hconn *s, uint32_t code)
{
	struct hconn	*c = s->parent;
	int32_t		 id = s->strm->id;

	if (s->dead)
		return;
	h2_stream_gone(s);
	if (c->dead)
		return;
	(void)nghttp2_submit_rst_stream(c->h2->ng, NGHTTP2_FLAG_NONE, id,
	    code);
	h2_kick(c);
}

void
httpd_h2_stream_close(struct hconn *s)
{
	uint32_t	code = NGHTTP2_CANCEL;

	if (s->reset)
		code = s->rst_set ? s->rst_code : NGHTTP2_INTERNAL_ERROR;
	h2_stream_reset(s, code);
}

/* Empties b, freeing its storage when it grew past keep bytes. */
static void
h2_buf_trim(struct buf *b, size_t keep)
{
	if (b->cap > keep)
		buf_free(b);
	else
		buf_reset(b);
}

void
httpd_h2_stream_free(struct hconn *s)
{
	struct httpd		*h = s->h;
	struct httpd_h2_strm	*st = s->strm;
	struct httpd_out	*out = s->out;
	size_t			 i, outcap = s->outcap;

	for (i = s->out_first; i < s->nout; i++)
		free(s->out[i].owned);
	if (h->h2_npool >= H2_POOL_MAX || outcap > 16) {
		free(out);
		buf_free(&st->hb);
		buf_free(&st->body);
		buf_free(&st->head);
		buf_free(&st->pre);
		buf_free(&st->tail);
		free(st);
		buf_free(&s->in);
		free(s);
		return;
	}
	/* Into the pool: everything cleared but the buffers (emptied) and
	 * the output array. */
	h2_buf_trim(&st->hb, 4096);
	h2_buf_trim(&st->body, 4096);
	h2_buf_trim(&st->head, 4096);
	h2_buf_trim(&st->pre, 4096);
	h2_buf_trim(&st->tail, 4096);
	memset(&st->id, 0, offsetof(struct httpd_h2_strm, f) -
	    offsetof(struct httpd_h2_strm, id));
	memset(s, 0, sizeof *s);
	s->strm = st;
	s->out = out;
	s->outcap = outcap;
	/* Last in, first out: the next stream reuses the warmest. */
	TAILQ_INSERT_HEAD(&h->h2_pool, s, entry);
	h->h2_npool++;
}

void
httpd_h2_pool_free(struct httpd *h)
{
	struct hconn	*s;

	while ((s = TAILQ_FIRST(&h->h2_pool)) != NULL) {
		TAILQ_REMOVE(&h->h2_pool, s, entry);
		h->h2_npool--;
		free(s->out);
		buf_free(&s->strm->hb);
		buf_free(&s->strm->body);
		buf_free(&s->strm->head);
		buf_free(&s->strm->pre);
		buf_free(&s->strm->tail);
		free(s->strm);
		free(s);
	}
	h2_heads_free(h);
	h2_mem_unref(h->h2_mem);
	h->h2_mem = NULL;
}

void
httpd_h2_stream_deadline(struct hconn *s)
{
	struct httpd_h2_strm	*st = s->strm;

	if (st->answered) {
		hconn_close(s);
		return;
	}
	/* The request did not arrive in time: 408, as on HTTP/1.1. */
	STAT_INC(s->h->st.head_timeouts);
	st->reject = 408;
	st->why = "request not complete in time";
	h2_deliver(s);
}

/* --- reply heads seen before ------------------------------------------ */

/*
 * A role that answers from a recording queues the same head bytes, from
 * the same long-lived (not owned) storage, reply after reply.  The fields
 * made from such a head are kept, per httpd: the next head that is those
 * very bytes (compared: the address only picks the slot, storage can be
 * reused after a reload) goes out without being parsed, lowercased or
 * copied (its nv point into the entry, NGHTTP2_NV_FLAG_NO_COPY_*).
 * Entries live as long as the httpd, so a HEADERS frame waiting in a
 * session never outlives the bytes it points at; once H2_HEADS_MAX are
 * kept, no more are added.
 */
#define H2_HEADS_SLOTS		256
#define H2_HEADS_MAX		192
#define H2_HEADS_PROBE		4

struct h2_head {
	const char		*key;		/* the first item's address */
	size_t			 len0;		/* its bytes */
	size_t			 len;		/* the head's, blank line incl. */
	int			 head_req;
	char			*raw;		/* the head as queued, then a
						   copy with names lowercased,
						   then the status digits */
	nghttp2_nv		*nv;
	size_t			 nnv;
	enum http_framing	 framing;
	uint64_t		 content_length;

	/* Chunked: the body first queued after it (bkey, blen bytes), when
	 * it is one chunk of data (dlen bytes at doff) and trailers: sent
	 * as that data and those fields (NO_COPY into braw). */
	int			 bstate;	/* 0 not seen, 1 planned,
						   -1 not to be planned */
	const char		*bkey;
	size_t			 blen, doff, dlen;
	char			*braw;		/* the body, then a copy with
						   trailer names lowercased */
	nghttp2_nv		*tnv;
	size_t			 ntnv;
};

struct httpd_h2_heads {
	struct h2_head	*slot[H2_HEADS_SLOTS];
	size_t		 n;
};

static size_t
h2_heads_slot(const char *key, size_t len0, int head_req)
{
	uint64_t	k = (uint64_t)(uintptr_t)key + len0 * 2 +
			    (uint64_t)head_req;

	return (size_t)(k * 0x9e3779b97f4a7c15ull >> 56) % H2_HEADS_SLOTS;
}

/* The kept head that s's queue starts with (whole items), or NULL. */
static struct h2_head *
h2_heads_find(const struct httpd *h, const struct hconn *s, int head_req)
{
	const struct httpd_out	*o = &s->out[s->out_first];
	struct h2_head		*e;
	size_t			 n = s->nout - s->out_first, i, slot, rest;

	if (h->h2_heads == NULL || n == 0 || o[0].owned != NULL)
		return NULL;
	slot = h2_heads_slot(o[0].p, o[0].len, head_req);
	for (i = 0; i < H2_HEADS_PROBE; i++) {
		e = h->h2_heads->slot[(slot + i) % H2_HEADS_SLOTS];
		if (e == NULL)
			return NULL;
		if (e->key != o[0].p || e->len0 != o[0].len ||
		    e->head_req != head_req ||
		    memcmp(o[0].p, e->raw, e->len0) != 0)
			continue;
		rest = e->len - e->len0;
		if (rest == 0 || (n >= 2 && o[1].len == rest &&
		    memcmp(o[1].p, e->raw + e->len0, rest) == 0))
			return e;
	}
	return NULL;
}

/*
 * Keeps head (len bytes, the first len0 of them queued at key) with the
 * fields made from it: nv[1..nnv) point into head (values) and name
 * offsets noff[] into it, nv[0] is :status.
 */
static void
h2_heads_add(struct httpd *h, const char *key, size_t len0, int head_req,
    const char *head, size_t len, const nghttp2_nv *nv, const size_t *noff,
    size_t nnv, const struct http_msg *m)
{
	struct httpd_h2_heads	*hs;
	struct h2_head		*e;
	char			*low;
	size_t			 i, k, slot;

	if (h->h2_heads == NULL)
		h->h2_heads = xcalloc(1, sizeof *h->h2_heads);
	hs = h->h2_heads;
	if (hs->n >= H2_HEADS_MAX)
		return;
	slot = h2_heads_slot(key, len0, head_req);
	for (i = 0; i < H2_HEADS_PROBE; i++)
		if (hs->slot[(slot + i) % H2_HEADS_SLOTS] == NULL)
			break;
	if (i == H2_HEADS_PROBE)
		return;
	slot = (slot + i) % H2_HEADS_SLOTS;
	e = xcalloc(1, sizeof *e);
	e->key = key;
	e->len0 = len0;
	e->len = len;
	e->head_req = head_req;
	e->raw = xmalloc(2 * len + 4);
	memcpy(e->raw, head, len);
	memcpy(e->raw + len, head, len);
	low = e->raw + len;
	memcpy(e->raw + 2 * len, nv[0].value, 4);
	e->nv = xreallocarray(NULL, nnv, sizeof *e->nv);
	e->nnv = nnv;
	e->nv[0] = nv[0];
	e->nv[0].value = (uint8_t *)e->raw + 2 * len;
	for (i = 1; i < nnv; i++) {
		for (k = 0; k < nv[i].namelen; k++)
			low[noff[i] + k] = (char)tolower((unsigned char)
			    low[noff[i] + k]);
		e->nv[i] = nv[i];
		e->nv[i].name = (uint8_t *)low + noff[i];
		e->nv[i].value = (uint8_t *)low + ((const char *)nv[i].value -
		    head);
	}
	for (i = 0; i < nnv; i++)
		e->nv[i].flags = NGHTTP2_NV_FLAG_NO_COPY_NAME |
		    NGHTTP2_NV_FLAG_NO_COPY_VALUE;
	e->framing = m->framing;
	e->content_length = m->content_length;
	hs->slot[slot] = e;
	hs->n++;
}

static void
h2_heads_free(struct httpd *h)
{
	size_t	i;

	if (h->h2_heads == NULL)
		return;
	for (i = 0; i < H2_HEADS_SLOTS; i++) {
		if (h->h2_heads->slot[i] == NULL)
			continue;
		free(h->h2_heads->slot[i]->raw);
		free(h->h2_heads->slot[i]->nv);
		free(h->h2_heads->slot[i]->braw);
		free(h->h2_heads->slot[i]->tnv);
		free(h->h2_heads->slot[i]);
	}
	free(h->h2_heads);
	h->h2_heads = NULL;
}

#define H2_PLAN_MAX		(16 * 1024)	/* body bytes kept */

/*
 * Plans the chunked body b (n bytes, long-lived) first seen after the
 * kept head e: when it decodes as any reply's would (http_chunked_decode)
 * to one chunk of data and its trailer section, ending there, the
 * data's place and the trailer fields are kept with e.
 */
static void
h2_heads_plan(struct h2_head *e, const char *b, size_t n)
{
	nghttp2_nv		 nv[HTTP_MAX_HEADERS];
	struct http_chunked	 ck;
	enum http_err		 err;
	char			*dec;
	size_t			 len = n, erroff, i, size = 0, k, nnv;
	ssize_t			 rest;

	e->bstate = -1;
	if (n > H2_PLAN_MAX)
		return;
	dec = xmalloc(n);
	memcpy(dec, b, n);
	http_chunked_init(&ck);
	rest = http_chunked_decode(&ck, dec, &len, &err, &erroff);
	free(dec);
	/* One chunk: its size line is all hex digits, and says all. */
	for (i = 0; i < n && i < 16 && isxdigit((unsigned char)b[i]); i++)
		size = size * 16 + (size_t)(isdigit((unsigned char)b[i]) ?
		    b[i] - '0' : tolower((unsigned char)b[i]) - 'a' + 10);
	if (rest != 0 || len == 0 || size != len || i + 2 > n ||
	    b[i] != '\r' || b[i + 1] != '\n' || ck.trailer_len < 2)
		return;
	e->braw = xmalloc(2 * n);
	memcpy(e->braw, b, n);
	memcpy(e->braw + n, b, n);
	nnv = ck.trailer_len > 2 ? h2_trailer_fields(e->braw + 2 * n -
	    ck.trailer_len, e->braw + 2 * n - 2, nv) : 0;
	if (nnv > 0) {
		e->tnv = xreallocarray(NULL, nnv, sizeof *e->tnv);
		for (k = 0; k < nnv; k++) {
			e->tnv[k] = nv[k];
			e->tnv[k].flags = NGHTTP2_NV_FLAG_NO_COPY_NAME |
			    NGHTTP2_NV_FLAG_NO_COPY_VALUE;
		}
	}
	e->ntnv = nnv;
	e->bkey = b;
	e->blen = n;
	e->doff = i + 2;
	e->dlen = len;
	e->bstate = 1;
}

/* --- the reply -------------------------------------------------------- */


/* Takes the first queued item off s's output (its bytes were used). */
static void
h2_item_done(struct hconn *s)
{
	struct httpd_out	*o = &s->out[s->out_first];

	s->out_bytes -= o->len;
	STAT_ADD(s->h->st.out_mem, -o->len);
	free(o->owned);
	o->owned = NULL;
	if (++s->out_first == s->nout)
		s->out_first = s->nout = 0;
}

/* 1 once the role is done with the stream: closing, not held, all of its
 * output taken. */
static int
h2_finished(const struct hconn *s)
{
	return s->closing && !s->waiting && s->out_first == s->nout &&
	    s->stream_left == 0 && s->strm->pre_off == s->strm->pre.len;
}

/* Copies up to len body bytes of s's reply into p: what came with the
 * head, the queue, the oversize filler. */
static size_t
h2_take(struct hconn *s, uint8_t *p, size_t len)
{
	struct httpd_h2_strm	*st = s->strm;
	struct httpd_out	*o;
	size_t			 n = 0, k;

	while (n < len) {
		if (st->pre_off < st->pre.len) {
			k = st->pre.len - st->pre_off;
			k = k < len - n ? k : len - n;
			memcpy(p + n, st->pre.data + st->pre_off, k);
			st->pre_off += k;
		} else if (s->out_first < s->nout) {
			o = &s->out[s->out_first];
			k = o->len < len - n ? o->len : len - n;
			memcpy(p + n, o->p, k);
			if (k == o->len)
				h2_item_done(s);
			else {
				o->p += k;
				o->len -= k;
				s->out_bytes -= k;
				STAT_ADD(s->h->st.out_mem, -k);
			}
		} else if (s->stream_left > 0) {
			k = s->stream_left < s->stream_blen ?
			    (size_t)s->stream_left : s->stream_blen;
			k = k < len - n ? k : len - n;
			memcpy(p + n, s->stream, k);
			s->stream_left -= k;
		} else
			break;
		n += k;
	}
	return n;
}

/* Raw chunked bytes kept: the trailer section fits (http-parse.c's
 * bound) with its final CRLF. */
#define H2_TAIL_MAX		(16 * 1024 + 2)

/* Keeps the last H2_TAIL_MAX raw bytes of a chunked reply. */
static void
h2_tail_keep(struct buf *t, const uint8_t *p, size_t n)
{
	if (n >= H2_TAIL_MAX) {
		buf_reset(t);
		buf_append(t, p + n - H2_TAIL_MAX, H2_TAIL_MAX);
		return;
	}
	if (t->len + n > 2 * H2_TAIL_MAX) {
		memmove(t->data, t->data + t->len - H2_TAIL_MAX, H2_TAIL_MAX);
		t->len = H2_TAIL_MAX;
	}
	buf_append(t, p, n);
}

/*
 * The chunked reply ended with rest bytes past it: submits its trailer
 * section (if any, and not hop-by-hop) as a trailing HEADERS frame.  0
 * if submitted (the DATA must not end the stream), -1 if there is none.
 */
static int
h2_submit_trailers(nghttp2_session *ng, struct httpd_h2_strm *st,
    size_t rest)
{
	nghttp2_nv	 nv[HTTP_MAX_HEADERS];
	char		*end;
	size_t		 nnv;

	if (st->ck.trailer_len <= 2 || st->tail.len < rest + st->ck.trailer_len)
		return -1;
	end = st->tail.data + st->tail.len - rest - 2;
	nnv = h2_trailer_fields(end - (st->ck.trailer_len - 2), end, nv);
	if (nnv == 0 || nghttp2_submit_trailer(ng, st->id, nv, nnv) != 0)
		return -1;
	return 0;
}

/*
 * The fields of a decoded trailer section p..end (its lines, without the
 * blank one) into nv (HTTP_MAX_HEADERS at most), names lowercased in
 * place, hop-by-hop ones left out.  Returns how many.
 */
static size_t
h2_trailer_fields(char *p, char *end, nghttp2_nv *nv)
{
	char		*eol, *colon, *k;
	struct span	 n, v;
	size_t		 nnv = 0;

	for (; p < end && nnv < HTTP_MAX_HEADERS; p = eol + 2) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (eol == NULL)
			eol = end;
		if ((colon = memchr(p, ':', (size_t)(eol - p))) == NULL)
			continue;
		n = (struct span){ p, (size_t)(colon - p) };
		v = span_trim((struct span){ colon + 1,
		    (size_t)(eol - colon - 1) });
		if (h2_is_hop_by_hop(n))
			continue;
		for (k = p; k < colon; k++)
			*k = (char)tolower((unsigned char)*k);
		nv[nnv++] = (nghttp2_nv){ (uint8_t *)n.p, (uint8_t *)v.p,
		    n.len, v.len, NGHTTP2_NV_FLAG_NONE };
	}
	return nnv;
}

/* The body bytes s has ready for a DATA frame, up to len: what h2_take
 * would copy. */
static size_t
h2_ready(const struct hconn *s, size_t len)
{
	const struct httpd_h2_strm	*st = s->strm;
	uint64_t			 n;

	n = (st->pre.len - st->pre_off) + s->out_bytes + s->stream_left;
	return n < len ? (size_t)n : len;
}

/*
 * nghttp2 sends a DATA frame whose bytes h2_read_cb left queued on the
 * stream (NGHTTP2_DATA_FLAG_NO_COPY): its header and the bytes go
 * straight into the frames being gathered, one copy instead of two.
 * Past the output bound it pauses the session (the frame is out).
 */
static int
h2_send_data_cb(nghttp2_session *ng, nghttp2_frame *fr, const uint8_t *hd,
    size_t len, nghttp2_data_source *src, void *arg)
{
	struct httpd_h2	*sess = arg;
	struct buf	*wb = sess->cur;
	struct hconn	*s = nghttp2_session_get_stream_user_data(ng,
			    fr->hd.stream_id);

	(void)src;
	/* No padding is asked for; a frame we cannot make ends it all. */
	if (s == NULL || wb == NULL || fr->data.padlen > 0)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	buf_reserve(wb, 9 + len);
	memcpy(wb->data + wb->len, hd, 9);
	if (h2_take(s, (uint8_t *)wb->data + wb->len + 9, len) != len)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	if (!sess->mute)	/* settings_timeout: nothing goes out */
		wb->len += 9 + len;
	return sess->c->out_bytes + wb->len >= sess->c->h->cfg.out_high ?
	    NGHTTP2_ERR_PAUSE : 0;
}

/* nghttp2 asks for DATA of a reply. */
static ssize_t
h2_read_cb(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len,
    uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	struct hconn		*s = nghttp2_session_get_stream_user_data(ng,
				    id);
	struct httpd_h2_strm	*st;
	enum http_err		 err = HTTP_E_NONE;
	size_t			 n, erroff;
	ssize_t			 rest = 0;

	(void)src;
	(void)arg;
	if (s == NULL || s->dead)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	st = s->strm;
	if (st->framing == HTTP_FRAME_LENGTH && len > st->left)
		len = (size_t)st->left;
	if (st->stall) {
		if (len > st->stall_left)
			len = (size_t)st->stall_left;
		if (len == 0) {
			st->deferred = 1;	/* for good */
			return NGHTTP2_ERR_DEFERRED;
		}
	}
	if (st->framing != HTTP_FRAME_CHUNKED) {
		/* The bytes stay queued: h2_send_data_cb takes them. */
		if ((n = h2_ready(s, len)) > 0)
			*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
	} else if ((n = h2_take(s, buf, len)) > 0) {
		h2_tail_keep(&st->tail, buf, n);
		rest = http_chunked_decode(&st->ck, (char *)buf, &n, &err,
		    &erroff);
		if (rest == HTTP_ERROR)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		if (rest != HTTP_PARTIAL) {
			*flags |= NGHTTP2_DATA_FLAG_EOF;
			if (h2_submit_trailers(ng, st, (size_t)rest) == 0)
				*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
			return (ssize_t)n;
		}
	}
	if (st->stall)
		st->stall_left -= n;
	if (st->framing == HTTP_FRAME_LENGTH) {
		st->left -= n;
		if (st->left == 0) {
			*flags |= NGHTTP2_DATA_FLAG_EOF;
			if (st->ntnv > 0 && nghttp2_submit_trailer(ng, st->id,
			    st->tnv, st->ntnv) == 0)
				*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
			return (ssize_t)n;
		}
	}
	if (n > 0)
		return (ssize_t)n;
	if (h2_finished(s)) {
		/* Closed short of its length (a fault cut it): a reset,
		 * as a truncated HTTP/1.1 body ends with the connection. */
		if (st->framing == HTTP_FRAME_LENGTH ||
		    st->framing == HTTP_FRAME_CHUNKED)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		return 0;
	}
	st->deferred = 1;
	return NGHTTP2_ERR_DEFERRED;
}

/* 1 for the headers HTTP/2 forbids (RFC 9113 8.2.2); by length first:
 * every reply header goes through here. */
static int
h2_is_hop_by_hop(struct span n)
{
	switch (n.len) {
	case 2:
		return strncasecmp(n.p, "TE", 2) == 0;
	case 7:
		return strncasecmp(n.p, "Upgrade", 7) == 0;
	case 10:
		return strncasecmp(n.p, "Connection", 10) == 0 ||
		    strncasecmp(n.p, "Keep-Alive", 10) == 0;
	case 16:
		return strncasecmp(n.p, "Proxy-Connection", 16) == 0;
	case 17:
		return strncasecmp(n.p, "Transfer-Encoding", 17) == 0;
	default:
		return 0;
	}
}

/* The end of "\r\n\r\n" in p[0..len), or NULL. */
static const char *
h2_blank_line(const char *p, size_t len)
{
	const char	*e = p + len, *q = p;

	while (e - q >= 4 && (q = memchr(q, '\r', (size_t)(e - q - 3))) !=
	    NULL) {
		if (q[1] == '\n' && q[2] == '\r' && q[3] == '\n')
			return q + 4;
		q++;
	}
	return NULL;
}

/* Submits a reply's fields (and the body's data provider): 1, or -1 when
 * nghttp2 refused (the stream was reset). */
static int
h2_submit_fields(struct hconn *s, const nghttp2_nv *nv, size_t nnv,
    enum http_framing framing, uint64_t content_length)
{
	struct httpd_h2_strm	*st = s->strm;
	nghttp2_data_provider	 prd = { .read_callback = h2_read_cb };
	int			 body;

	st->framing = framing;
	st->left = content_length;
	if (st->framing == HTTP_FRAME_CHUNKED)
		http_chunked_init(&st->ck);
	body = !(st->framing == HTTP_FRAME_NONE ||
	    (st->framing == HTTP_FRAME_LENGTH && st->left == 0));
	if (nghttp2_submit_response(s->parent->h2->ng, st->id, nv, nnv,
	    body ? &prd : NULL) != 0) {
		h2_stream_reset(s, NGHTTP2_INTERNAL_ERROR);
		return -1;
	}
	st->submitted = 1;
	return 1;
}

/*
 * A kept chunked head was taken off s's queue: when the body queued next
 * is the one planned with it (the same bytes), it goes as its chunk's
 * data (the item trimmed to it) and the planned trailers; else as any
 * chunked body.  As h2_submit_fields.
 */
static int
h2_submit_planned(struct hconn *s, struct h2_head *e)
{
	struct httpd_out	*o = &s->out[s->out_first];
	size_t			 cut;

	if (e->bstate == 0 && o->owned == NULL)
		h2_heads_plan(e, o->p, o->len);
	if (e->bstate != 1 || o->p != e->bkey || o->len != e->blen ||
	    memcmp(o->p, e->braw, e->blen) != 0)
		return h2_submit_fields(s, e->nv, e->nnv, e->framing,
		    e->content_length);
	cut = e->blen - e->dlen;
	o->p += e->doff;
	o->len = e->dlen;
	s->out_bytes -= cut;
	STAT_ADD(s->h->st.out_mem, -cut);
	s->strm->tnv = e->tnv;
	s->strm->ntnv = e->ntnv;
	return h2_submit_fields(s, e->nv, e->nnv, HTTP_FRAME_LENGTH, e->dlen);
}

/*
 * Gathers the reply's head from s's queue; once the blank line is there,
 * submits it as HEADERS (and the body's data provider).  1 when
 * submitted, 0 when more is needed, -1 when the head is not HTTP (the
 * stream was reset).
 */
static int
h2_submit_head(struct hconn *s)
{
	struct httpd_h2_strm	*st = s->strm;
	struct httpd_h2		*sess = s->parent->h2;
	struct http_msg		*m = &sess->msg;
	struct h2_head		*e;
	nghttp2_nv		 nv[HTTP_MAX_HEADERS + 1];
	struct httpd_out	*o, first[2];
	const char		*end = NULL;
	char			 status[4];
	size_t			 from, i, nnv = 0, nitems = 0;
	size_t			 off[HTTP_MAX_HEADERS + 1];
	enum http_err		 err = HTTP_E_NONE;
	size_t			 erroff = 0;
	int			 fresh = st->head.len == 0;

	if (fresh && (e = h2_heads_find(s->h, s, st->head_req)) != NULL) {
		h2_item_done(s);
		if (e->len > e->len0)
			h2_item_done(s);
		if (e->framing == HTTP_FRAME_CHUNKED && !st->head_req &&
		    s->out_first < s->nout)
			return h2_submit_planned(s, e);
		return h2_submit_fields(s, e->nv, e->nnv, e->framing,
		    e->content_length);
	}
	while (end == NULL && s->out_first < s->nout) {
		o = &s->out[s->out_first];
		if (nitems < 2)
			first[nitems] = *o;
		nitems++;
		from = st->head.len >= 3 ? st->head.len - 3 : 0;
		buf_append(&st->head, o->p, o->len);
		h2_item_done(s);
		end = h2_blank_line(st->head.data + from, st->head.len - from);
	}
	if (end == NULL)
		return 0;
	from = (size_t)(end - st->head.data);
	buf_append(&st->pre, end, st->head.len - from);
	st->head.len = from;
	if (http_parse_response(st->head.data, st->head.len, st->head.len + 1,
	    st->head_req, m, &err, &erroff) < 0 || m->status < 200) {
		log_info("%s%s: stream %d: the reply is not HTTP (%s); "
		    "resetting it", s->h->cfg.log_prefix, s->peer, st->id,
		    m->status < 200 && err == HTTP_E_NONE ? "1xx status" :
		    http_strerror(err));
		h2_stream_reset(s, NGHTTP2_INTERNAL_ERROR);
		return -1;
	}
	status[0] = (char)('0' + m->status / 100 % 10);
	status[1] = (char)('0' + m->status / 10 % 10);
	status[2] = (char)('0' + m->status % 10);
	status[3] = '\0';
	nv[nnv++] = (nghttp2_nv){ (uint8_t *)":status", (uint8_t *)status, 7,
	    3, NGHTTP2_NV_FLAG_NONE };
	/* Names lowercased into nvb first (it may move), pointers after. */
	buf_reset(&sess->nvb);
	buf_reserve(&sess->nvb, st->head.len);
	for (i = 0; i < m->nheaders; i++) {
		struct span	n = m->headers[i].name, v = m->headers[i].value;
		size_t		k;

		if (h2_is_hop_by_hop(n) || (m->framing == HTTP_FRAME_CHUNKED &&
		    span_caseeq_str(n, "Content-Length")))
			continue;
		for (k = 0; k < n.len; k++)
			sess->nvb.data[sess->nvb.len + k] =
			    (char)tolower((unsigned char)n.p[k]);
		off[nnv] = (size_t)(n.p - st->head.data);
		nv[nnv++] = (nghttp2_nv){ (uint8_t *)sess->nvb.data +
		    sess->nvb.len, (uint8_t *)v.p, n.len, v.len,
		    NGHTTP2_NV_FLAG_NONE };
		sess->nvb.len += n.len;
	}
	/* Whole items that will be queued again from where they are: kept
	 * for the next time. */
	if (fresh && st->pre.len == 0 && nitems <= 2 &&
	    first[0].owned == NULL && (nitems == 1 || first[1].owned == NULL))
		h2_heads_add(s->h, first[0].p, first[0].len, st->head_req,
		    st->head.data, st->head.len, nv, off, nnv, m);
	return h2_submit_fields(s, nv, nnv, m->framing, m->content_length);
}

void
httpd_h2_stream_flush(struct hconn *s)
{
	struct httpd_h2_strm	*st = s->strm;
	struct hconn		*c = s->parent;

	if (s->dead || c->dead || !st->answered)
		return;
	if (!st->submitted) {
		if (h2_submit_head(s) == 0 && h2_finished(s)) {
			/* Closed without a (whole) reply: connection: close,
			 * a hang that timed out, a head cut short. */
			h2_stream_reset(s, st->head.len == 0 ?
			    NGHTTP2_CANCEL : NGHTTP2_INTERNAL_ERROR);
			return;
		}
	} else if (st->deferred && !st->stall) {
		st->deferred = 0;
		(void)nghttp2_session_resume_data(c->h2->ng, st->id);
	}
	if (!s->dead)
		h2_kick(c);
}

/* --- requests --------------------------------------------------------- */

static struct span
h2_field_name(const struct httpd_h2_strm *st, size_t i)
{
	return (struct span){ st->hb.data + st->f[i].no, st->f[i].nl };
}

static struct span
h2_field_value(const struct httpd_h2_strm *st, size_t i)
{
	return (struct span){ st->hb.data + st->f[i].vo, st->f[i].vl };
}

/* Fills m from the stream's fields (its trailers into trl): 0, or an
 * HTTP status to reject with. */
static int
h2_msg(struct httpd_h2_strm *st, struct http_msg *m, struct http_header *trl)
{
	struct span	n, v, authority = SPAN_NULL;
	const char	*q;
	size_t		i, nhead = st->trailing ? st->nhead : st->nf;

	memset(m, 0, offsetof(struct http_msg, headers));
	m->nheaders = 0;
	/* The trailers: the first HTTP_MAX_HEADERS, as fields (nghttp2 let
	 * no pseudo-header through). */
	m->ntrailers = 0;
	for (i = nhead; i < st->nf && m->ntrailers < HTTP_MAX_HEADERS; i++) {
		trl[m->ntrailers].name = h2_field_name(st, i);
		trl[m->ntrailers++].value = h2_field_value(st, i);
	}
	m->trailers = m->ntrailers > 0 ? trl : NULL;
	for (i = 0; i < nhead; i++) {
		n = h2_field_name(st, i);
		v = h2_field_value(st, i);
		if (n.len > 0 && n.p[0] == ':') {
			/* nghttp2 let only valid pseudo-headers through. */
			if (n.len == 7 && n.p[1] == 'm')
				m->method = v;
			else if (n.len == 5 && n.p[1] == 'p')
				m->target = v;
			else if (n.len == 10 && n.p[1] == 'a')
				authority = v;
			continue;	/* :scheme, :protocol */
		} else {
			if (m->nheaders == HTTP_MAX_HEADERS)
				return 431;
			if (n.len == 4 && memcmp(n.p, "host", 4) == 0)
				m->host = v;
			m->headers[m->nheaders].name = n;
			m->headers[m->nheaders++].value = v;
		}
	}
	if (m->method.len == 0 || m->target.len == 0)
		return 501;	/* CONNECT: no target to answer */
	if (m->host.len == 0 && authority.len > 0) {
		if (m->nheaders == HTTP_MAX_HEADERS)
			return 431;
		m->host = authority;
		m->headers[m->nheaders].name = SPAN_LIT("Host");
		m->headers[m->nheaders++].value = authority;
	}
	m->path = m->target;
	if ((q = memchr(m->target.p, '?', m->target.len)) != NULL) {
		m->path.len = (size_t)(q - m->target.p);
		m->query.p = q + 1;
		m->query.len = m->target.len - m->path.len - 1;
	}
	m->version = 11;
	m->keep_alive = 1;
	m->framing = st->body.len > 0 ? HTTP_FRAME_LENGTH : HTTP_FRAME_NONE;
	m->content_length = st->body.len;
	m->head_len = st->hb.len;
	return 0;
}

/* Hands the complete request (or its reject) to the role. */
static void
h2_deliver(struct hconn *s)
{
	struct httpd_h2_strm	*st = s->strm;
	struct httpd_h2		*sess = s->parent->h2;
	struct httpd		*h = s->h;
	int			 status;

	if (st->answered)
		return;
	st->answered = 1;
	s->in_head = 0;
	s->deadline = 0;
	loop_timer_del(h->loop, &s->dl_timer);
	status = st->reject != 0 ? st->reject : h2_msg(st, &sess->msg, sess->trl);
	if (status != 0) {
		h->role.reject(s, status, st->why != NULL ? st->why :
		    status == 431 ? "too many header fields" :
		    "CONNECT is not served", 0);
		s->closing = 1;
	} else {
		st->head_req = span_eq_str(sess->msg.method, "HEAD");
		h->role.request(s, &sess->msg, st->body.len > 0 ?
		    st->body.data : "", st->body.len, loop_now(h->loop));
	}
	if (!s->dead)
		httpd_h2_stream_flush(s);
}

static int
h2_begin_headers_cb(nghttp2_session *ng, const nghttp2_frame *fr, void *arg)
{
	struct httpd_h2	*sess = arg;
	struct hconn	*s;

	if (fr->hd.type != NGHTTP2_HEADERS ||
	    fr->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if ((s = h2_stream_new(sess, fr->hd.stream_id)) == NULL) {
		(void)nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE,
		    fr->hd.stream_id, NGHTTP2_REFUSED_STREAM);
		return 0;
	}
	(void)nghttp2_session_set_stream_user_data(ng, fr->hd.stream_id, s);
	return 0;
}

static int
h2_header_cb(nghttp2_session *ng, const nghttp2_frame *fr,
    const uint8_t *name, size_t nlen, const uint8_t *value, size_t vlen,
    uint8_t flags, void *arg)
{
	struct hconn		*s;
	struct httpd_h2_strm	*st;
	struct h2_field		*f;

	(void)flags;
	(void)arg;
	if (fr->hd.type != NGHTTP2_HEADERS ||
	    (fr->headers.cat != NGHTTP2_HCAT_REQUEST &&
	    fr->headers.cat != NGHTTP2_HCAT_HEADERS) ||
	    (s = nghttp2_session_get_stream_user_data(ng,
	    fr->hd.stream_id)) == NULL)
		return 0;
	st = s->strm;
	if (st->reject != 0)
		return 0;
	/* A HEADERS frame after the request's: its trailers (nghttp2 let
	 * only a last one, with END_STREAM, through). */
	if (fr->headers.cat == NGHTTP2_HCAT_HEADERS && !st->trailing) {
		st->trailing = 1;
		st->nhead = st->nf;
	}
	if (st->nf == H2_MAX_FIELDS ||
	    st->hb.len + nlen + vlen > s->h->cfg.max_head) {
		st->reject = 431;
		st->why = "request header fields too large";
		return 0;
	}
	if (!st->trailing && nlen == 6 && memcmp(name, "expect", 6) == 0 &&
	    vlen == 12 && strncasecmp((const char *)value, "100-continue",
	    12) == 0)
		st->expect = 1;
	f = &st->f[st->nf++];
	f->no = st->hb.len;
	f->nl = nlen;
	f->vo = f->no + nlen;
	f->vl = vlen;
	buf_reserve(&st->hb, nlen + vlen);
	memcpy(st->hb.data + f->no, name, nlen);
	memcpy(st->hb.data + f->vo, value, vlen);
	st->hb.len += nlen + vlen;
	return 0;
}

static int
h2_data_cb(nghttp2_session *ng, uint8_t flags, int32_t id,
    const uint8_t *data, size_t len, void *arg)
{
	struct httpd_h2		*sess = arg;
	struct hconn		*s;
	struct httpd_h2_strm	*st;

	(void)flags;
	/* The window reopens as bytes are taken, unless stalled. */
	if (!sess->stalled)
		(void)nghttp2_session_consume(ng, id, len);
	if ((s = nghttp2_session_get_stream_user_data(ng, id)) == NULL)
		return 0;
	st = s->strm;
	if (st->reject != 0)
		return 0;
	if (st->body.len + len > s->h->cfg.max_body) {
		st->reject = 413;
		st->why = s->h->cfg.too_large != NULL ? s->h->cfg.too_large :
		    "body too large";
		buf_free(&st->body);
		return 0;
	}
	buf_append(&st->body, data, len);
	/* A body arriving keeps its stream alive (the minimum rate is
	 * HTTP/1.1's; here each DATA frame moves the deadline). */
	s->deadline = loop_now(s->h->loop) + s->h->cfg.header_timeout_ns;
	httpd_arm(s);
	return 0;
}

static int
h2_frame_recv_cb(nghttp2_session *ng, const nghttp2_frame *fr, void *arg)
{
	static const nghttp2_nv	 cont[] = { { (uint8_t *)":status",
				    (uint8_t *)"100", 7, 3,
				    NGHTTP2_NV_FLAG_NO_COPY_NAME |
				    NGHTTP2_NV_FLAG_NO_COPY_VALUE } };
	struct hconn		*s;

	(void)arg;
	if ((fr->hd.type != NGHTTP2_HEADERS && fr->hd.type != NGHTTP2_DATA) ||
	    (s = nghttp2_session_get_stream_user_data(ng,
	    fr->hd.stream_id)) == NULL)
		return 0;
	if (!(fr->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
		/* The body is wanted: 100 as an informational HEADERS frame
		 * (RFC 9113 8.1), unless the stream is answered already. */
		if (fr->hd.type == NGHTTP2_HEADERS && s->strm->expect &&
		    s->strm->reject == 0) {
			s->strm->expect = 0;
			(void)nghttp2_submit_headers(ng, NGHTTP2_FLAG_NONE,
			    fr->hd.stream_id, NULL, cont, 1, NULL);
		}
		return 0;
	}
	s->strm->complete = 1;
	h2_deliver(s);
	return 0;
}

static int
h2_frame_send_cb(nghttp2_session *ng, const nghttp2_frame *fr, void *arg)
{
	struct httpd_h2	*sess = arg;
	struct hconn	*s;

	if (fr->hd.type == NGHTTP2_SETTINGS &&
	    !(fr->hd.flags & NGHTTP2_FLAG_ACK))
		sess->settings_sent = 1;
	/* Answered before the request was all sent (a reject): the rest
	 * of it is not needed (RFC 9113 8.1). */
	if ((fr->hd.type == NGHTTP2_HEADERS || fr->hd.type == NGHTTP2_DATA) &&
	    (fr->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
	    (s = nghttp2_session_get_stream_user_data(ng,
	    fr->hd.stream_id)) != NULL && !s->strm->complete)
		(void)nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE,
		    fr->hd.stream_id, NGHTTP2_NO_ERROR);
	return 0;
}

static int
h2_stream_close_cb(nghttp2_session *ng, int32_t id, uint32_t code,
    void *arg)
{
	struct hconn	*s = nghttp2_session_get_stream_user_data(ng, id);

	(void)code;
	(void)arg;
	if (s != NULL)
		h2_stream_gone(s);
	return 0;
}

/* --- nghttp2's memory ------------------------------------------------- */

/*
 * nghttp2 allocates a few small blocks per stream (the stream, its
 * frames, the fields it decodes) and frees them as the stream closes;
 * with many streams in flight glibc's per-thread cache overflows and
 * most frees take its slow path.  The sessions of an httpd (one loop
 * thread) keep the blocks they free, by power-of-two size class
 * (H2_MEM_KEEP of each at most), last in first out so that the next
 * allocation gets the warmest block, whichever session it is for.  The
 * cache goes when the httpd and the last of its sessions are gone.
 * Under AddressSanitizer the blocks go to malloc and free as they come,
 * so that a use after free is still caught.
 */
#if defined(__SANITIZE_ADDRESS__)
#define H2_MEM_POOL		0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define H2_MEM_POOL		0
#endif
#endif
#ifndef H2_MEM_POOL
#define H2_MEM_POOL		1
#endif
#define H2_MEM_MIN_SHIFT	6	/* 64 bytes, header included */
#define H2_MEM_CLASSES		7	/* up to 4 KiB */
#define H2_MEM_KEEP		512
#define H2_MEM_HDR		16	/* keeps malloc's alignment */
#define H2_MEM_BIG		H2_MEM_CLASSES

struct httpd_h2_mem {
	void	*free[H2_MEM_CLASSES];	/* blocks, linked by their first
					   word */
	size_t	 nfree[H2_MEM_CLASSES];
	size_t	 users;			/* sessions, and the httpd */
};

/* The class of a block of n usable bytes, or H2_MEM_BIG. */
static size_t
h2_mem_class(size_t n)
{
	size_t	shift;

	if (n > ((size_t)1 << (H2_MEM_MIN_SHIFT + H2_MEM_CLASSES - 1)) -
	    H2_MEM_HDR)
		return H2_MEM_BIG;
	n += H2_MEM_HDR - 1;
	shift = n < ((size_t)1 << H2_MEM_MIN_SHIFT) ? H2_MEM_MIN_SHIFT :
	    (size_t)(64 - __builtin_clzll((unsigned long long)n));
	return shift - H2_MEM_MIN_SHIFT;
}

static void *
h2_mem_malloc(size_t n, void *arg)
{
	struct httpd_h2_mem	*mem = arg;
	size_t		 cls = h2_mem_class(n);
	char		*p;

	if (cls != H2_MEM_BIG && (p = mem->free[cls]) != NULL) {
		mem->free[cls] = *(void **)p;
		mem->nfree[cls]--;
	} else if ((p = malloc(cls == H2_MEM_BIG ? n + H2_MEM_HDR :
	    (size_t)1 << (cls + H2_MEM_MIN_SHIFT))) == NULL)
		return NULL;
	*(size_t *)p = cls;
	return p + H2_MEM_HDR;
}

static void
h2_mem_free(void *ptr, void *arg)
{
	struct httpd_h2_mem	*mem = arg;
	char		*p;
	size_t		 cls;

	if (ptr == NULL)
		return;
	p = (char *)ptr - H2_MEM_HDR;
	cls = *(size_t *)p;
	if (cls == H2_MEM_BIG || mem->nfree[cls] >= H2_MEM_KEEP) {
		free(p);
		return;
	}
	*(void **)p = mem->free[cls];
	mem->free[cls] = p;
	mem->nfree[cls]++;
}

static void *
h2_mem_calloc(size_t nmemb, size_t size, void *arg)
{
	void	*p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		return NULL;
	if ((p = h2_mem_malloc(nmemb * size, arg)) != NULL)
		memset(p, 0, nmemb * size);
	return p;
}

static void *
h2_mem_realloc(void *ptr, size_t n, void *arg)
{
	size_t	 cls, cap;
	char	*p, *q;

	if (ptr == NULL)
		return h2_mem_malloc(n, arg);
	p = (char *)ptr - H2_MEM_HDR;
	cls = *(size_t *)p;
	if (cls == H2_MEM_BIG && h2_mem_class(n) == H2_MEM_BIG) {
		if ((q = realloc(p, n + H2_MEM_HDR)) == NULL)
			return NULL;
		return q + H2_MEM_HDR;
	}
	if (cls != H2_MEM_BIG) {
		cap = ((size_t)1 << (cls + H2_MEM_MIN_SHIFT)) - H2_MEM_HDR;
		if (n <= cap)
			return ptr;
	} else
		cap = n;	/* shrinking out of BIG: n bytes are there */
	if ((q = h2_mem_malloc(n, arg)) == NULL)
		return NULL;
	memcpy(q, ptr, n < cap ? n : cap);
	h2_mem_free(ptr, arg);
	return q;
}

/* A user of mem is gone (a session deleted, the httpd freed): the last
 * one gives the kept blocks back and frees mem. */
static void
h2_mem_unref(struct httpd_h2_mem *mem)
{
	size_t	 i;
	void	*p;

	if (mem == NULL || --mem->users > 0)
		return;
	for (i = 0; i < H2_MEM_CLASSES; i++)
		while ((p = mem->free[i]) != NULL) {
			mem->free[i] = *(void **)p;
			free(p);
		}
	free(mem);
}

/* --- the connection --------------------------------------------------- */

static void
h2_init_once(void)
{
	nghttp2_session_callbacks	*cb;

	if (nghttp2_session_callbacks_new(&cb) != 0 ||
	    nghttp2_option_new(&h2_option) != 0)
		abort();
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb,
	    h2_begin_headers_cb);
	nghttp2_session_callbacks_set_on_header_callback(cb, h2_header_cb);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb,
	    h2_data_cb);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb,
	    h2_frame_recv_cb);
	nghttp2_session_callbacks_set_on_frame_send_callback(cb,
	    h2_frame_send_cb);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb,
	    h2_stream_close_cb);
	nghttp2_session_callbacks_set_send_data_callback(cb,
	    h2_send_data_cb);
	/* Windows are reopened by hand: the stall fault withholds it. */
	nghttp2_option_set_no_auto_window_update(h2_option, 1);
	/* RFC 7540 priorities are off (our SETTINGS say so): closed
	 * streams need not be kept for the dependency tree. */
	nghttp2_option_set_no_closed_streams(h2_option, 1);
	h2_callbacks = cb;
}

int
httpd_h2_sniff(const char *p, size_t len)
{
	size_t	n = len < H2_PREFACE_LEN ? len : H2_PREFACE_LEN;

	if (memcmp(p, H2_PREFACE, n) != 0)
		return 0;
	return n == H2_PREFACE_LEN ? 1 : -1;
}

int
httpd_h2_start(struct hconn *c)
{
	struct httpd_h2		*sess;
	nghttp2_settings_entry	 iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS },
		/* RFC 9113 5.3.2: the RFC 7540 scheme is deprecated; without
		 * its dependency tree nghttp2 does less per stream. */
		{ NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1 },
	};
	nghttp2_mem		 ngmem = { NULL, h2_mem_malloc, h2_mem_free,
				    h2_mem_calloc, h2_mem_realloc };

	pthread_once(&h2_once, h2_init_once);
	sess = xcalloc(1, sizeof *sess);
	sess->c = c;
	TAILQ_INIT(&sess->streams);
	buf_init(&sess->wb);
	buf_init(&sess->nvb);
	if (H2_MEM_POOL && c->h->h2_mem == NULL) {
		c->h->h2_mem = xcalloc(1, sizeof *c->h->h2_mem);
		c->h->h2_mem->users = 1;	/* the httpd's */
	}
	if ((sess->mem = c->h->h2_mem) != NULL)
		sess->mem->users++;
	ngmem.mem_user_data = sess->mem;
	if (nghttp2_session_server_new3(&sess->ng, h2_callbacks, sess,
	    h2_option, H2_MEM_POOL ? &ngmem : NULL) != 0) {
		h2_mem_unref(sess->mem);
		free(sess);
		log_warn("%s%s: HTTP/2: cannot make a session",
		    c->h->cfg.log_prefix, c->peer);
		hconn_close(c);
		return -1;
	}
	c->h2 = sess;
	c->h1_seen = 1;
	(void)nghttp2_submit_settings(sess->ng, NGHTTP2_FLAG_NONE, iv,
	    sizeof iv / sizeof iv[0]);
	c->deadline = loop_now(c->h->loop) + c->h->cfg.idle_timeout_ns;
	httpd_arm(c);
	return 0;
}

/*
 * The decoded HTTP2-Settings header (base64url without padding) into
 * out: 0, or -1 when m has none, several, or one that does not decode to
 * whole settings.
 */
static int
h2_upgrade_settings(const struct http_msg *m, struct buf *out)
{
	const struct http_header	*hd = NULL;
	struct buf			 b64;
	size_t				 i;
	int				 rc;

	for (i = 0; i < m->nheaders; i++) {
		if (!span_caseeq_str(m->headers[i].name, "HTTP2-Settings"))
			continue;
		if (hd != NULL)
			return -1;
		hd = &m->headers[i];
	}
	if (hd == NULL)
		return -1;
	buf_init(&b64);
	for (i = 0; i < hd->value.len; i++) {
		char ch = hd->value.p[i];

		buf_append_byte(&b64, ch == '-' ? '+' : ch == '_' ? '/' : ch);
	}
	while (b64.len % 4 != 0)
		buf_append_byte(&b64, '=');
	rc = base64_decode(out, b64.data != NULL ? b64.data : "", b64.len,
	    NULL);
	buf_free(&b64);
	return rc == 0 && out->len % 6 == 0 ? 0 : -1;
}

int
httpd_h2_is_upgrade(const struct http_msg *m)
{
	const struct http_header	*up = http_find_header(m, "Upgrade");
	struct buf			 set;
	const char			*p, *e;
	int				 h2c = 0, rc;

	if (up == NULL)
		return 0;
	/* A comma-separated list of protocols: one of them h2c. */
	for (p = up->value.p, e = p + up->value.len; p < e && !h2c;) {
		const char *q = memchr(p, ',', (size_t)(e - p));
		struct span tok;

		tok.p = p;
		tok.len = (size_t)((q != NULL ? q : e) - p);
		h2c = span_caseeq_str(span_trim(tok), "h2c");
		p = q != NULL ? q + 1 : e;
	}
	if (!h2c)
		return 0;
	buf_init(&set);
	rc = h2_upgrade_settings(m, &set);
	buf_free(&set);
	return rc == 0;
}

int
httpd_h2_upgrade_settings(const struct http_msg *m, struct buf *settings)
{
	return httpd_h2_is_upgrade(m) ? h2_upgrade_settings(m, settings) : -1;
}

void
httpd_h2_upgrade(struct hconn *c, const struct http_msg *m,
    const char *body, size_t body_len, size_t end)
{
	static const char	 sw[] = "HTTP/1.1 101 Switching Protocols\r\n"
				    "Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
	struct httpd		*h = c->h;
	struct hconn		*s;
	struct buf		 set;
	int			 head;

	buf_init(&set);
	(void)h2_upgrade_settings(m, &set);
	hconn_queue(c, sw, sizeof sw - 1, NULL);
	if (httpd_h2_start(c) == -1) {
		buf_free(&set);
		return;
	}
	head = span_eq_str(m->method, "HEAD");
	if ((s = h2_stream_new(c->h2, 1)) == NULL ||
	    nghttp2_session_upgrade2(c->h2->ng, (uint8_t *)set.data, set.len,
	    head, s) != 0) {
		buf_free(&set);
		if (s != NULL)
			h2_stream_gone(s);
		log_info("%s%s: HTTP/2 upgrade failed; closing",
		    h->cfg.log_prefix, c->peer);
		c->h2->failed = 1;
		return;
	}
	buf_free(&set);
	/* A server session does not keep upgrade2's user data. */
	(void)nghttp2_session_set_stream_user_data(c->h2->ng, 1, s);
	/* The request was read as HTTP/1.1: it is stream 1's. */
	s->strm->complete = 1;
	s->strm->answered = 1;
	s->strm->head_req = head;
	s->in_head = 0;
	s->deadline = 0;
	loop_timer_del(h->loop, &s->dl_timer);
	c->in_off = end;
	c->in_head = 0;
	h->role.request(s, m, body, body_len, loop_now(h->loop));
	if (!s->dead)
		httpd_h2_stream_flush(s);
	if (!c->dead)
		httpd_h2_recv(c);
}

void
httpd_h2_recv(struct hconn *c)
{
	struct httpd_h2	*sess = c->h2;
	ssize_t		 n;

	if (sess->failed || c->in.len == c->in_off)
		return;
	sess->in_cb = 1;
	n = nghttp2_session_mem_recv(sess->ng,
	    (const uint8_t *)c->in.data + c->in_off, c->in.len - c->in_off);
	sess->in_cb = 0;
	if (n < 0) {
		/* Bad preface, flood, a callback's failure: the connection
		 * ends with GOAWAY (PROTOCOL_ERROR). */
		log_info("%s%s: HTTP/2: %s; closing", c->h->cfg.log_prefix,
		    c->peer, nghttp2_strerror((int)n));
		if (nghttp2_session_terminate_session(sess->ng,
		    NGHTTP2_PROTOCOL_ERROR) != 0)
			sess->failed = 1;
	}
	buf_consume(&c->in, c->in.len);
	c->in_off = 0;
	if (sess->nstreams == 0)
		c->deadline = loop_now(c->h->loop) + c->h->cfg.idle_timeout_ns;
}

void
httpd_h2_pump(struct hconn *c)
{
	struct httpd_h2	*sess = c->h2;
	const uint8_t	*p;
	ssize_t		 n;

	struct buf	 fresh, *wb = &sess->wb;

	if (sess->in_cb || sess->failed || c->dead)
		return;
	/* Everything queued was written: wb can take the next frames. */
	if (c->out_first == c->nout)
		sess->wb_busy = 0;
	if (sess->wb_busy) {
		buf_init(&fresh);
		wb = &fresh;
	} else
		h2_buf_trim(wb, H2_WB_KEEP);
	sess->in_cb = 1;
	sess->cur = wb;
	while (c->out_bytes + wb->len < c->h->cfg.out_high) {
		if ((n = nghttp2_session_mem_send(sess->ng, &p)) < 0) {
			log_info("%s%s: HTTP/2: %s; closing",
			    c->h->cfg.log_prefix, c->peer,
			    nghttp2_strerror((int)n));
			sess->failed = 1;
			break;
		}
		if (n == 0)
			break;
		/* settings_timeout: one frame per call, dropped here. */
		if (sess->mute || (sess->no_ack && n >= 9 &&
		    p[3] == NGHTTP2_SETTINGS && (p[4] & NGHTTP2_FLAG_ACK)))
			continue;
		buf_append(wb, p, (size_t)n);
	}
	sess->cur = NULL;
	sess->in_cb = 0;
	if (wb == &fresh)
		hconn_queue_buf(c, &fresh);	/* frees it when empty */
	else if (wb->len > 0) {
		hconn_queue(c, wb->data, wb->len, NULL);
		sess->wb_busy = 1;
	}
}

/* The connection's output may have grown: write it, unless nghttp2 is
 * running (its caller does once it returns). */
static void
h2_kick(struct hconn *c)
{
	if (!c->dead && !c->h2->in_cb)
		hconn_flush(c);
}

int
httpd_h2_wants(struct hconn *c)
{
	struct httpd_h2	*sess = c->h2;
	int		 w = 0;

	if (sess->failed)
		return 0;
	if (nghttp2_session_want_read(sess->ng))
		w |= CONN_READ;
	if (nghttp2_session_want_write(sess->ng))
		w |= CONN_WRITE;
	return w;
}

size_t
httpd_h2_nstreams(const struct hconn *c)
{
	return c->h2->nstreams;
}

void
httpd_h2_drain(struct hconn *c)
{
	struct httpd_h2	*sess = c->h2;

	if (sess->goaway || sess->failed)
		return;
	sess->goaway = 1;
	(void)nghttp2_submit_goaway(sess->ng, NGHTTP2_FLAG_NONE,
	    nghttp2_session_get_last_proc_stream_id(sess->ng),
	    NGHTTP2_NO_ERROR, NULL, 0);
}

void
httpd_h2_close(struct hconn *c)
{
	struct hconn	*s;

	/* c is dead already: no frame goes out for the streams. */
	while ((s = TAILQ_FIRST(&c->h2->streams)) != NULL)
		h2_stream_gone(s);
}

void
httpd_h2_free(struct hconn *c)
{
	struct httpd_h2	*sess = c->h2;

	nghttp2_session_del(sess->ng);
	h2_mem_unref(sess->mem);
	buf_free(&sess->wb);
	buf_free(&sess->nvb);
	free(sess);
	c->h2 = NULL;
}

/* --- h2 faults -------------------------------------------------------- */

void
hconn_h2_goaway(struct hconn *s, uint32_t code)
{
	struct hconn	*c = s->parent;

	if (s->strm == NULL) {
		hconn_abort(s);
		return;
	}
	if (s->dead || c->dead)
		return;
	/* The connection ends once GOAWAY is out: the requests in flight
	 * on it go unanswered, as the code says. */
	c->h2->goaway = 1;
	(void)nghttp2_session_terminate_session2(c->h2->ng,
	    nghttp2_session_get_last_proc_stream_id(c->h2->ng), code);
	h2_stream_gone(s);
	h2_kick(c);
}

void
hconn_h2_settings_timeout(struct hconn *s)
{
	struct httpd_h2	*sess;

	if (s->strm == NULL)
		return;
	sess = s->parent->h2;
	sess->no_ack = 1;
	if (!sess->settings_sent)
		sess->mute = 1;
}

int
hconn_h2_stall(struct hconn *s)
{
	struct httpd_h2	*sess;
	int32_t		 sw, cw;

	if (s->strm == NULL)
		return 0;
	sess = s->parent->h2;
	sess->stalled = 1;
	s->strm->stall = 1;
	sw = nghttp2_session_get_stream_remote_window_size(sess->ng,
	    s->strm->id);
	cw = nghttp2_session_get_remote_window_size(sess->ng);
	sw = sw < cw ? sw : cw;
	s->strm->stall_left = sw > 0 ? (uint64_t)sw : 0;
	return 1;
}
