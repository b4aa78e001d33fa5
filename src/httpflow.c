/*
 * httpflow.c -- HTTP/1.1 parsing and pairing over one TCP flow
 * (httpflow.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "httpflow.h"
#include "tcpflow.h"
#include "xmalloc.h"

#define HTTPFLOW_MAX_BODY	(64 * 1024 * 1024)

enum hf_state {
	HF_HEAD,
	HF_BODY_LEN,
	HF_BODY_CHUNKED,
	HF_BODY_EOF,
	HF_DEAD,
};

/*
 * The bytes of one direction still to parse: the caller's own when
 * nothing was left over from before (parsed where they are, only the
 * remainder copied into hf_dir.in), else hf_dir.in's.
 */
struct hf_in {
	const char	*p;
	size_t		 len;
};

static void
hf_in_skip(struct hf_in *in, size_t n)
{
	in->p += n;
	in->len -= n;
}

struct hf_dir {
	struct buf		 in;	/* bytes left over, not parsed yet */
	enum hf_state		 state;
	uint64_t		 need;
	struct http_chunked	 ch;
	struct buf		 body;
	struct buf		 trl;	/* chunked trailers (ch.trailers) */
	uint64_t		 first_ns;	/* first byte of this message */
	struct httpflow_txn	*cur;	/* C2S: the request being read */
};

struct httpflow {
	const struct httpflow_ops *ops;
	void			*arg;
	struct httpflow_stats	*stats;
	size_t			 max_head;
	size_t			 max_body;
	struct hf_dir		 d[2];
	struct httpflow_txn	*head, *tail;	/* complete requests, FIFO */
	int			 dead;
	int			 res_started;
};

struct httpflow *
httpflow_create(const struct httpflow_ops *ops, void *arg,
    struct httpflow_stats *stats, size_t max_head, size_t max_body)
{
	struct httpflow	*hf;

	hf = xcalloc(1, sizeof *hf);
	hf->ops = ops;
	hf->arg = arg;
	hf->stats = stats;
	hf->max_head = max_head != 0 ? max_head : HTTP_DEFAULT_MAX_HEAD;
	hf->max_body = max_body != 0 ? max_body : HTTPFLOW_MAX_BODY;
	buf_init(&hf->d[0].in);
	buf_init(&hf->d[1].in);
	buf_init(&hf->d[0].body);
	buf_init(&hf->d[1].body);
	buf_init(&hf->d[0].trl);
	buf_init(&hf->d[1].trl);
	return hf;
}

void
httpflow_txn_free(struct httpflow_txn *tx)
{
	if (tx == NULL)
		return;
	snap_txn_free(&tx->t);
	free(tx);
}

/*
 * Copies a parsed head into one allocation (struct snap_req's store):
 * the headers array, then the head's bytes as they came, where each
 * string's end is overwritten with a NUL (the byte after a method, a
 * target, a name or a value is a delimiter: ' ', ':', CR or the
 * whitespace trimmed from a value).  strs[0..nstr) point into head
 * (m's buffer) or are empty; they come back in out[0..nstr), an empty
 * one as "".  Returns the block.
 */
static char *
hf_store(const struct http_msg *m, const char *head, const struct span *strs,
    char **out, size_t nstr, struct snap_header **hp, size_t *np)
{
	struct snap_header	*h;
	size_t			 i, n = m->nheaders;
	char			*block, *copy;

	block = xmalloc(n * sizeof *h + m->head_len + 1);
	h = n > 0 ? (struct snap_header *)(void *)block : NULL;
	copy = block + n * sizeof *h;
	memcpy(copy, head, m->head_len);
	copy[m->head_len] = '\0';
	for (i = 0; i < nstr; i++) {
		if (strs[i].len == 0)
			out[i] = copy + m->head_len;
		else {
			out[i] = copy + (strs[i].p - head);
			out[i][strs[i].len] = '\0';
		}
	}
	for (i = 0; i < n; i++) {
		h[i].name = copy + (m->headers[i].name.p - head);
		h[i].name[m->headers[i].name.len] = '\0';
		h[i].value = copy + (m->headers[i].value.p - head);
		h[i].value[m->headers[i].value.len] = '\0';
	}
	*hp = h;
	*np = n;
	return block;
}

/* Hands the decoded body over: NUL-terminated, NULL when empty. */
static void
hf_take_body(struct hf_dir *d, char **body, size_t *len)
{
	if (d->body.len == 0) {
		*body = NULL;
		*len = 0;
		buf_reset(&d->body);
		return;
	}
	*body = buf_detach(&d->body, len);
}

static void
hf_done(struct httpflow *hf, struct httpflow_txn *tx)
{
	if (tx->gap)
		hf->stats->gap_txns++;
	else if (!tx->complete)
		hf->stats->unanswered++;
	if (hf->ops->done != NULL)
		hf->ops->done(hf, tx, hf->arg);
	else
		httpflow_txn_free(tx);
}

/* Ends every open transaction: the flow is over or desynchronised. */
static void
hf_flush(struct httpflow *hf, int gap)
{
	struct httpflow_txn	*tx;
	struct hf_dir		*rq = &hf->d[TCPFLOW_C2S];
	struct hf_dir		*rs = &hf->d[TCPFLOW_S2C];

	if (hf->head != NULL && hf->res_started) {
		/* What arrived of the response is kept. */
		tx = hf->head;
		if (tx->t.res.body == NULL)
			hf_take_body(rs, &tx->t.res.body, &tx->t.res.body_len);
	}
	while ((tx = hf->head) != NULL) {
		hf->head = tx->next;
		tx->next = NULL;
		tx->gap |= gap;
		hf_done(hf, tx);
	}
	hf->tail = NULL;
	hf->res_started = 0;
	if ((tx = rq->cur) != NULL) {
		/* A request whose body did not arrive whole. */
		rq->cur = NULL;
		hf_take_body(rq, &tx->t.req.body, &tx->t.req.body_len);
		tx->gap = 1;
		hf_done(hf, tx);
	}
	buf_reset(&rs->body);
	buf_reset(&rq->body);
}

static void
hf_die(struct httpflow *hf, int gap)
{
	hf_flush(hf, gap);
	hf->dead = 1;
	hf->d[0].state = hf->d[1].state = HF_DEAD;
	buf_free(&hf->d[0].in);
	buf_free(&hf->d[1].in);
	buf_free(&hf->d[0].body);
	buf_free(&hf->d[1].body);
	buf_free(&hf->d[0].trl);
	buf_free(&hf->d[1].trl);
}

static void
hf_parse_error(struct httpflow *hf)
{
	hf->stats->parse_errors++;
	hf_die(hf, 0);
}

static void
hf_request_done(struct httpflow *hf, uint64_t now)
{
	struct hf_dir		*d = &hf->d[TCPFLOW_C2S];
	struct httpflow_txn	*tx = d->cur;

	d->cur = NULL;
	hf_take_body(d, &tx->t.req.body, &tx->t.req.body_len);
	httpflow_trailers(&d->trl, &tx->t.req.trailers, &tx->t.req.ntrailers);
	if (hf->tail != NULL)
		hf->tail->next = tx;
	else
		hf->head = tx;
	hf->tail = tx;
	hf->stats->requests++;
	d->state = HF_HEAD;
	d->first_ns = now;	/* a pipelined request in the same bytes */
	if (hf->ops->request != NULL)
		hf->ops->request(hf, tx, hf->arg);
}

static void
hf_response_done(struct httpflow *hf, uint64_t now)
{
	struct hf_dir		*d = &hf->d[TCPFLOW_S2C];
	struct httpflow_txn	*tx = hf->head;

	hf->head = tx->next;
	if (hf->head == NULL)
		hf->tail = NULL;
	tx->next = NULL;
	hf_take_body(d, &tx->t.res.body, &tx->t.res.body_len);
	httpflow_trailers(&d->trl, &tx->t.res.trailers, &tx->t.res.ntrailers);
	tx->end_ns = now;
	tx->complete = 1;
	hf->res_started = 0;
	hf->stats->responses++;
	d->state = HF_HEAD;
	d->first_ns = now;
	hf_done(hf, tx);
}

/*
 * Reads a body from in into d->body; returns 1 when the message is
 * complete, 0 when more is needed, -1 on bad framing.
 */
static int
hf_body(struct httpflow *hf, struct hf_dir *d, struct hf_in *in)
{
	size_t		k, before, n;
	ssize_t		r;
	enum http_err	err;
	size_t		off;

	switch (d->state) {
	case HF_BODY_LEN:
		k = in->len < d->need ? in->len : (size_t)d->need;
		if (k == 0)
			return 0;
		buf_append(&d->body, in->p, k);
		hf_in_skip(in, k);
		d->need -= k;
		return d->need == 0;
	case HF_BODY_EOF:
		if (in->len == 0)
			return 0;
		buf_append(&d->body, in->p, in->len);
		hf_in_skip(in, in->len);
		return d->body.len > hf->max_body ? -1 : 0;
	case HF_BODY_CHUNKED:
		before = d->body.len;
		if ((n = in->len) == 0)
			return 0;
		buf_append(&d->body, in->p, n);
		hf_in_skip(in, n);
		r = http_chunked_decode(&d->ch, d->body.data + before, &n,
		    &err, &off);
		if (r == HTTP_ERROR)
			return -1;
		if (r == HTTP_PARTIAL) {
			d->body.len = before + n;
			return d->body.len > hf->max_body ? -1 : 0;
		}
		/*
		 * The bytes after the message are the input's last r: they
		 * go back to it.
		 */
		in->p -= r;
		in->len += (size_t)r;
		d->body.len = before + n;
		d->body.data[d->body.len] = '\0';
		return 1;
	default:
		return 0;
	}
}

void
httpflow_trailers(struct buf *raw, struct snap_header **h, size_t *n)
{
	struct http_header	f[HTTP_MAX_HEADERS];
	size_t			i, nf;

	*h = NULL;
	*n = 0;
	nf = http_trailer_fields(raw->data, raw->len, f, HTTP_MAX_HEADERS);
	if (nf > 0) {
		*h = xcalloc(nf, sizeof **h);
		for (i = 0; i < nf; i++) {
			(*h)[i].name = span_dup(f[i].name);
			(*h)[i].value = span_dup(f[i].value);
		}
		*n = nf;
	}
	buf_reset(raw);
}

static int
hf_start_body(struct httpflow *hf, struct hf_dir *d, const struct http_msg *m)
{
	switch (m->framing) {
	case HTTP_FRAME_NONE:
		return 1;
	case HTTP_FRAME_LENGTH:
		if (m->content_length > hf->max_body)
			return -1;
		d->need = m->content_length;
		d->state = HF_BODY_LEN;
		return d->need == 0;
	case HTTP_FRAME_CHUNKED:
		http_chunked_init(&d->ch);
		buf_reset(&d->trl);
		d->ch.trailers = &d->trl;
		d->state = HF_BODY_CHUNKED;
		return 0;
	case HTTP_FRAME_EOF:
		d->state = HF_BODY_EOF;
		return 0;
	}
	return -1;
}

/* What a head parser made of the input at a message boundary. */
enum hf_head {
	HF_HEAD_WAIT,	/* nothing more now: more bytes, or the flow died */
	HF_HEAD_AGAIN,	/* a head was skipped (interim response): go on */
	HF_HEAD_BODY,	/* a message head was taken: its body follows */
	HF_HEAD_LAST,	/* taken, and nothing HTTP follows (CONNECT, 101) */
};

/* Parses a request head at in into a new transaction (m its framing). */
static enum hf_head
hf_request_head(struct httpflow *hf, struct hf_dir *d, struct hf_in *in,
    struct http_msg *m)
{
	struct httpflow_txn	*tx;
	struct span		 strs[3];
	char			*out[3];
	enum http_err		 err;
	size_t			 off;
	ssize_t			 r;

	r = http_parse_request(in->p, in->len, hf->max_head, m, &err, &off);
	if (r == HTTP_PARTIAL)
		return HF_HEAD_WAIT;
	if (r == HTTP_ERROR) {
		hf_parse_error(hf);
		return HF_HEAD_WAIT;
	}
	tx = xcalloc(1, sizeof *tx);
	snap_txn_init(&tx->t);
	strs[0] = m->method;
	strs[1] = m->target;
	strs[2] = m->host;
	tx->t.req.store = hf_store(m, in->p, strs, out, 3,
	    &tx->t.req.headers, &tx->t.req.nheaders);
	tx->t.req.method = out[0];
	tx->t.req.target = out[1];
	if (m->host.len > 0)
		tx->t.req.host = out[2];
	tx->head_req = span_eq_str(m->method, "HEAD");
	tx->req_ns = d->first_ns;
	d->cur = tx;
	hf_in_skip(in, (size_t)r);
	/* A tunnel: what follows is not HTTP. */
	return span_caseeq_str(m->method, "CONNECT") ? HF_HEAD_LAST :
	    HF_HEAD_BODY;
}

/* Parses the head of the response to the oldest open request (m its
 * framing); interim responses are skipped. */
static enum hf_head
hf_response_head(struct httpflow *hf, struct hf_dir *d, struct hf_in *in,
    struct http_msg *m, uint64_t now)
{
	struct httpflow_txn	*tx;
	char			*out[1];
	enum http_err		 err;
	size_t			 off;
	ssize_t			 r;

	if ((tx = hf->head) == NULL) {
		/* A response before its request: the request was missed
		 * (joined mid-flow). */
		hf->stats->orphan_responses++;
		hf_die(hf, 1);
		return HF_HEAD_WAIT;
	}
	r = http_parse_response(in->p, in->len, hf->max_head, tx->head_req,
	    m, &err, &off);
	if (r == HTTP_PARTIAL) {
		if (!hf->res_started) {
			hf->res_started = 1;
			tx->res_ns = d->first_ns;
		}
		return HF_HEAD_WAIT;
	}
	if (r == HTTP_ERROR) {
		hf_parse_error(hf);
		return HF_HEAD_WAIT;
	}
	if (!hf->res_started)
		tx->res_ns = d->first_ns;
	hf->res_started = 1;
	if (m->status >= 100 && m->status < 200 && m->status != 101) {
		/* Interim: the real response follows. */
		hf_in_skip(in, (size_t)r);
		d->first_ns = now;
		return HF_HEAD_AGAIN;
	}
	tx->t.has_res = 1;
	tx->t.res.status = m->status;
	tx->t.res.store = hf_store(m, in->p, &m->reason, out, 1,
	    &tx->t.res.headers, &tx->t.res.nheaders);
	if (m->reason.len > 0)
		tx->t.res.reason = out[0];
	/* The spans point into the input: copied first. */
	hf_in_skip(in, (size_t)r);
	return m->status == 101 ? HF_HEAD_LAST : HF_HEAD_BODY;
}

/* Ends the message of direction dir: a request, or a response. */
static void
hf_message_done(struct httpflow *hf, int dir, uint64_t now)
{
	if (dir == TCPFLOW_C2S)
		hf_request_done(hf, now);
	else
		hf_response_done(hf, now);
}

/* Takes the messages of direction dir out of in: heads, then bodies. */
static void
hf_messages(struct httpflow *hf, int dir, uint64_t now, struct hf_in *in)
{
	struct hf_dir	*d = &hf->d[dir];
	struct http_msg	 m;
	enum hf_head	 h;
	int		 rc;

	while (!hf->dead) {
		if (d->state == HF_HEAD) {
			if (in->len == 0)
				return;
			h = dir == TCPFLOW_C2S ? hf_request_head(hf, d, in, &m) :
			    hf_response_head(hf, d, in, &m, now);
			if (h == HF_HEAD_WAIT)
				return;
			if (h == HF_HEAD_AGAIN)
				continue;
			if (h == HF_HEAD_LAST) {
				hf_message_done(hf, dir, now);
				hf_die(hf, 0);
				return;
			}
			rc = hf_start_body(hf, d, &m);
			if (rc == 0)
				continue;	/* the body may be here too */
		} else
			rc = hf_body(hf, d, in);
		if (rc == -1) {
			hf_parse_error(hf);
			return;
		}
		if (rc == 0)
			return;
		hf_message_done(hf, dir, now);
	}
}

void
httpflow_data(struct httpflow *hf, int dir, const unsigned char *p,
    size_t len, uint64_t now)
{
	struct hf_dir	*d = &hf->d[dir];
	struct hf_in	 in;
	size_t		 total;

	if (hf->dead || len == 0)
		return;
	if (d->state == HF_HEAD && d->in.len == 0)
		d->first_ns = now;
	if (d->in.len == 0) {
		in.p = (const char *)p;
		in.len = len;
	} else {
		buf_append(&d->in, p, len);
		in.p = d->in.data;
		in.len = d->in.len;
	}
	total = in.len;
	if (d->state == HF_HEAD && total > hf->max_head + hf->max_body) {
		hf_parse_error(hf);
		return;
	}
	hf_messages(hf, dir, now, &in);
	if (hf->dead)
		return;		/* the buffers are gone */
	/* Keep what is left for the next bytes. */
	if (d->in.len == 0) {
		if (in.len > 0)
			buf_append(&d->in, in.p, in.len);
	} else
		buf_consume(&d->in, total - in.len);
}

void
httpflow_gap(struct httpflow *hf, int dir)
{
	if (!hf->dead)
		hf_die(hf, 1);
}

void
httpflow_eof(struct httpflow *hf, int dir, uint64_t now)
{
	struct hf_dir	*d = &hf->d[dir];

	if (hf->dead || dir != TCPFLOW_S2C)
		return;
	if (d->state == HF_BODY_EOF && hf->head != NULL)
		hf_response_done(hf, now);
}

struct httpflow_txn *
httpflow_front(const struct httpflow *hf)
{
	return hf->head;
}

int
httpflow_is_dead(const struct httpflow *hf)
{
	return hf->dead;
}

int
httpflow_response_started(const struct httpflow *hf)
{
	return hf->res_started;
}

void
httpflow_free(struct httpflow *hf)
{
	if (hf == NULL)
		return;
	if (!hf->dead)
		hf_flush(hf, 0);
	buf_free(&hf->d[0].in);
	buf_free(&hf->d[1].in);
	buf_free(&hf->d[0].body);
	buf_free(&hf->d[1].body);
	buf_free(&hf->d[0].trl);
	buf_free(&hf->d[1].trl);
	free(hf);
}

/* The httpflow a role keeps first in a tcpflow's user state, or NULL. */
static struct httpflow *
httpflow_of(const struct tcpflow *f)
{
	return f->user == NULL ? NULL : *(struct httpflow **)f->user;
}

void
httpflow_tcp_data(struct tcpflow *f, int dir, const unsigned char *p,
    size_t len, uint64_t now_ns, void *arg)
{
	struct httpflow	*hf = httpflow_of(f);

	(void)arg;
	if (hf != NULL)
		httpflow_data(hf, dir, p, len, now_ns);
}

void
httpflow_tcp_gap(struct tcpflow *f, int dir, uint64_t nbytes, void *arg)
{
	struct httpflow	*hf = httpflow_of(f);

	(void)nbytes;
	(void)arg;
	if (hf != NULL)
		httpflow_gap(hf, dir);
}

void
httpflow_tcp_eof(struct tcpflow *f, int dir, uint64_t now_ns, void *arg)
{
	struct httpflow	*hf = httpflow_of(f);

	(void)arg;
	if (hf != NULL)
		httpflow_eof(hf, dir, now_ns);
}
