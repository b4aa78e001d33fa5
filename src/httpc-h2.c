/*
 * httpc-h2.c -- the HTTP/2 client session of httpc-h2.h: libnghttp2 in
 * memory mode (nghttp2_session_mem_recv / _mem_send) over a struct conn.
 *
 * Output: frames libnghttp2 serialises are appended to one buffer and
 * written from it until the transport would block (a TLS conn takes one
 * record at a time); no more is pulled while it holds HTTPC_H2_OUT_MAX.
 * Input: each read is handed to libnghttp2 whole; its callbacks fill the
 * stream the frame belongs to (headers as offsets into one buffer per
 * stream, the body, trailers once a final status came) and move closed
 * streams to the done list.  Flow control is libnghttp2's: the data
 * callback consumes what it is given, so WINDOW_UPDATEs go out as bytes
 * are read; our receive windows are large (config) so a fast server is
 * not throttled by them.  A stream's end is classified from what was seen:
 * the peer's RST_STREAM (its code), a GOAWAY whose last stream id is below
 * ours (REFUSED_STREAM from libnghttp2, the GOAWAY's code reported), our
 * own reset of a malformed answer (libnghttp2's checks of the response:
 * PROTOCOL_ERROR) or of a body past max_body.
 */
#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <nghttp2/nghttp2.h>

#include "base64.h"
#include "buf.h"
#include "conn.h"
#include "http.h"
#include "httpc-h2.h"
#include "log.h"
#include "xmalloc.h"

#define HTTPC_H2_OUT_MAX	(64 * 1024)
#define HTTPC_H2_READ		(16 * 1024)
#define HTTPC_H2_MAX_BODY	(256u * 1024 * 1024)
#define HTTPC_H2_WINDOW		(16u * 1024 * 1024)
#define HTTPC_H2_CONN_WINDOW	(64 * 1024 * 1024)
/* Header blocks we may send (CONTINUATION frames past the frame size):
 * libnghttp2's 64 KiB default would refuse the fuzzer's oversize
 * headers, whose point is to see what the server does with them. */
#define HTTPC_H2_MAX_SEND_HEADERS	(1024 * 1024)

/* One header as offsets into the stream's hdr buffer. */
struct httpc_h2_hv {
	size_t	no, nl, vo, vl;
};

struct httpc_h2_stream {
	TAILQ_ENTRY(httpc_h2_stream) entry;	/* active or done list */
	struct httpc_h2		*s;
	void			*arg;
	int32_t			 id;
	int			 cancelled;
	int			 peer_rst;
	int			 too_large;
	int			 not_sent;
	enum httpc_h2_err	 err;
	uint32_t		 code;
	int			 status;
	struct buf		 hdr;		/* names and values */
	struct httpc_h2_hv	*hv;
	size_t			 nhv, chv;
	size_t			 trail_at;	/* first trailer; SIZE_MAX: none */
	struct buf		 body;
	struct http_header	*view;		/* built when taken */
	char			*req_body;	/* our copy, being sent */
	size_t			 req_len, req_off;
};
TAILQ_HEAD(httpc_h2_streams, httpc_h2_stream);

struct httpc_h2 {
	nghttp2_session		*ng;
	struct conn		*conn;
	struct httpc_h2_config	 cfg;
	struct httpc_h2_streams	 active;
	struct httpc_h2_streams	 done;
	struct httpc_h2_stream	*taken;		/* the last httpc_h2_done */
	size_t			 inflight;
	struct buf		 out;		/* serialised, not yet written */
	struct buf		 scratch;	/* lower-cased names on submit */
	int			 over;
	int			 session_error;
	int			 goaway;
	int32_t			 goaway_last;
	uint32_t		 goaway_code;
	char			 err[160];
};

static void	httpc_h2_over(struct httpc_h2 *, const char *);

/* --- streams ---------------------------------------------------------- */

static void
httpc_h2_stream_free(struct httpc_h2_stream *st)
{
	if (st == NULL)
		return;
	buf_free(&st->hdr);
	buf_free(&st->body);
	free(st->hv);
	free(st->view);
	free(st->req_body);
	free(st);
}

/* Moves an active stream to the done list (a cancelled one is freed). */
static void
httpc_h2_stream_finish(struct httpc_h2_stream *st, enum httpc_h2_err err,
    uint32_t code)
{
	struct httpc_h2	*s = st->s;

	TAILQ_REMOVE(&s->active, st, entry);
	s->inflight--;
	if (st->cancelled) {
		httpc_h2_stream_free(st);
		return;
	}
	st->err = err;
	st->code = code;
	TAILQ_INSERT_TAIL(&s->done, st, entry);
}

static void
httpc_h2_hv_add(struct httpc_h2_stream *st, const uint8_t *name,
    size_t nl, const uint8_t *value, size_t vl)
{
	struct httpc_h2_hv	*hv;

	if (st->nhv == st->chv) {
		st->chv = st->chv == 0 ? 16 : st->chv * 2;
		st->hv = xreallocarray(st->hv, st->chv, sizeof *st->hv);
	}
	hv = &st->hv[st->nhv++];
	hv->no = st->hdr.len;
	hv->nl = nl;
	buf_append(&st->hdr, name, nl);
	hv->vo = st->hdr.len;
	hv->vl = vl;
	buf_append(&st->hdr, value, vl);
}

/* --- libnghttp2 callbacks --------------------------------------------- */

static struct httpc_h2_stream *
httpc_h2_stream_of(nghttp2_session *ng, int32_t id)
{
	return nghttp2_session_get_stream_user_data(ng, id);
}

static int
httpc_h2_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f,
    void *arg)
{
	struct httpc_h2_stream	*st;

	(void)arg;
	if (f->hd.type != NGHTTP2_HEADERS ||
	    (st = httpc_h2_stream_of(ng, f->hd.stream_id)) == NULL)
		return 0;
	if (st->status >= 200)
		st->trail_at = st->nhv;		/* trailers */
	else {
		/* The first head, or the final one after an interim 1xx. */
		st->nhv = 0;
		buf_reset(&st->hdr);
		st->status = 0;
	}
	return 0;
}

static int
httpc_h2_on_header(nghttp2_session *ng, const nghttp2_frame *f,
    const uint8_t *name, size_t nl, const uint8_t *value, size_t vl,
    uint8_t flags, void *arg)
{
	struct httpc_h2_stream	*st;
	size_t			 i;

	(void)flags;
	(void)arg;
	if (f->hd.type != NGHTTP2_HEADERS ||
	    (st = httpc_h2_stream_of(ng, f->hd.stream_id)) == NULL)
		return 0;
	if (nl == 7 && memcmp(name, ":status", 7) == 0) {
		/* libnghttp2 checked it: three digits. */
		st->status = 0;
		for (i = 0; i < vl && i < 3; i++)
			st->status = st->status * 10 + (value[i] - '0');
		return 0;
	}
	if (nl > 0 && name[0] == ':')
		return 0;
	httpc_h2_hv_add(st, name, nl, value, vl);
	return 0;
}

static int
httpc_h2_on_data(nghttp2_session *ng, uint8_t flags, int32_t id,
    const uint8_t *data, size_t len, void *arg)
{
	struct httpc_h2		*s = arg;
	struct httpc_h2_stream	*st;

	(void)flags;
	if ((st = httpc_h2_stream_of(ng, id)) == NULL || st->too_large)
		return 0;
	if (st->body.len + len > s->cfg.max_body) {
		st->too_large = 1;
		(void)nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, id,
		    NGHTTP2_CANCEL);
		return 0;
	}
	buf_append(&st->body, data, len);
	return 0;
}

static int
httpc_h2_on_frame(nghttp2_session *ng, const nghttp2_frame *f, void *arg)
{
	struct httpc_h2		*s = arg;
	struct httpc_h2_stream	*st;

	switch (f->hd.type) {
	case NGHTTP2_RST_STREAM:
		if ((st = httpc_h2_stream_of(ng, f->hd.stream_id)) != NULL) {
			st->peer_rst = 1;
			st->code = f->rst_stream.error_code;
		}
		break;
	case NGHTTP2_GOAWAY:
		s->goaway = 1;
		s->goaway_last = f->goaway.last_stream_id;
		s->goaway_code = f->goaway.error_code;
		if (s->err[0] == '\0')
			snprintf(s->err, sizeof s->err, "GOAWAY (%s) received",
			    httpc_h2_code_name(s->goaway_code));
		break;
	}
	return 0;
}

static int
httpc_h2_on_close(nghttp2_session *ng, int32_t id, uint32_t code, void *arg)
{
	struct httpc_h2		*s = arg;
	struct httpc_h2_stream	*st;

	if ((st = httpc_h2_stream_of(ng, id)) == NULL)
		return 0;
	nghttp2_session_set_stream_user_data(ng, id, NULL);
	if (st->too_large)
		httpc_h2_stream_finish(st, HTTPC_H2_E_TOO_LARGE, code);
	else if (st->not_sent)
		httpc_h2_stream_finish(st, HTTPC_H2_E_NOT_SENT, code);
	else if (st->peer_rst)
		httpc_h2_stream_finish(st, HTTPC_H2_E_RESET, st->code);
	else if (s->goaway && id > s->goaway_last)
		httpc_h2_stream_finish(st, HTTPC_H2_E_GOAWAY, s->goaway_code);
	else if (code != NGHTTP2_NO_ERROR || st->status < 200)
		httpc_h2_stream_finish(st, HTTPC_H2_E_PROTOCOL,
		    code != NGHTTP2_NO_ERROR ? code : NGHTTP2_PROTOCOL_ERROR);
	else
		httpc_h2_stream_finish(st, HTTPC_H2_E_NONE, 0);
	return 0;
}

static int
httpc_h2_on_not_sent(nghttp2_session *ng, const nghttp2_frame *f, int err,
    void *arg)
{
	struct httpc_h2		*s = arg;
	struct httpc_h2_stream	*st;

	if (f->hd.type == NGHTTP2_HEADERS &&
	    (st = httpc_h2_stream_of(ng, f->hd.stream_id)) != NULL) {
		st->not_sent = 1;
		snprintf(s->err, sizeof s->err, "h2 request not sent: %s",
		    nghttp2_strerror(err));
	}
	return 0;
}

static ssize_t
httpc_h2_read_body(nghttp2_session *ng, int32_t id, uint8_t *p, size_t len,
    uint32_t *dflags, nghttp2_data_source *src, void *arg)
{
	struct httpc_h2_stream	*st = src->ptr;
	size_t			 n = st->req_len - st->req_off;

	(void)ng;
	(void)id;
	(void)arg;
	if (n > len)
		n = len;
	memcpy(p, st->req_body + st->req_off, n);
	st->req_off += n;
	if (st->req_off == st->req_len)
		*dflags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* --- the session ------------------------------------------------------ */

/* Our SETTINGS (push off, the stream window) into iv[2]; the window
 * clamped in cfg. */
static void
httpc_h2_settings(struct httpc_h2_config *cfg, nghttp2_settings_entry *iv)
{
	if (cfg->max_body == 0)
		cfg->max_body = HTTPC_H2_MAX_BODY;
	if (cfg->window == 0)
		cfg->window = HTTPC_H2_WINDOW;
	if (cfg->window > NGHTTP2_MAX_WINDOW_SIZE)
		cfg->window = NGHTTP2_MAX_WINDOW_SIZE;
	iv[0].settings_id = NGHTTP2_SETTINGS_ENABLE_PUSH;
	iv[0].value = 0;
	iv[1].settings_id = NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE;
	iv[1].value = cfg->window;
}

/* A client session over conn, its SETTINGS not yet submitted. */
static struct httpc_h2 *
httpc_h2_new(struct conn *conn, const struct httpc_h2_config *cfg,
    nghttp2_settings_entry *iv, char **cause)
{
	struct httpc_h2			*s;
	nghttp2_session_callbacks	*cb;
	nghttp2_option			*opt;
	int				 rv;

	s = xcalloc(1, sizeof *s);
	s->conn = conn;
	if (cfg != NULL)
		s->cfg = *cfg;
	httpc_h2_settings(&s->cfg, iv);
	TAILQ_INIT(&s->active);
	TAILQ_INIT(&s->done);
	buf_init(&s->out);
	buf_init(&s->scratch);
	if (nghttp2_session_callbacks_new(&cb) != 0)
		fatal("nghttp2_session_callbacks_new");
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb,
	    httpc_h2_on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb,
	    httpc_h2_on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb,
	    httpc_h2_on_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb,
	    httpc_h2_on_frame);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb,
	    httpc_h2_on_close);
	nghttp2_session_callbacks_set_on_frame_not_send_callback(cb,
	    httpc_h2_on_not_sent);
	if (nghttp2_option_new(&opt) != 0)
		fatal("nghttp2_option_new");
	nghttp2_option_set_max_send_header_block_length(opt,
	    HTTPC_H2_MAX_SEND_HEADERS);
	rv = nghttp2_session_client_new2(&s->ng, cb, s, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	if (rv == 0)
		rv = nghttp2_session_set_local_window_size(s->ng,
		    NGHTTP2_FLAG_NONE, 0, HTTPC_H2_CONN_WINDOW);
	if (rv != 0) {
		*cause = xasprintf("h2 session: %s", nghttp2_strerror(rv));
		httpc_h2_free(s);
		return NULL;
	}
	return s;
}

struct httpc_h2 *
httpc_h2_create(struct conn *conn, const struct httpc_h2_config *cfg,
    char **cause)
{
	struct httpc_h2		*s;
	nghttp2_settings_entry	 iv[2];
	int			 rv;

	if ((s = httpc_h2_new(conn, cfg, iv, cause)) == NULL)
		return NULL;
	if ((rv = nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, iv,
	    2)) != 0) {
		*cause = xasprintf("h2 settings: %s", nghttp2_strerror(rv));
		httpc_h2_free(s);
		return NULL;
	}
	return s;
}

int
httpc_h2_upgrade_request(const struct httpc_h2_config *cfg, const char *raw,
    size_t len, struct buf *out)
{
	struct httpc_h2_config	 c;
	nghttp2_settings_entry	 iv[2];
	uint8_t			 payload[32];
	const char		*end, *line, *eol;
	ssize_t			 n;
	size_t			 i;

	if ((end = memmem(raw, len, "\r\n\r\n", 4)) == NULL)
		return -1;
	memset(&c, 0, sizeof c);
	if (cfg != NULL)
		c = *cfg;
	httpc_h2_settings(&c, iv);
	if ((n = nghttp2_pack_settings_payload(payload, sizeof payload, iv,
	    2)) < 0)
		return -1;
	/* The head without its Connection lines, then ours. */
	for (line = raw; line < end + 2; line = eol + 2) {
		eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		if (line != raw && (size_t)(eol - line) >= 11 &&
		    strncasecmp(line, "connection:", 11) == 0)
			continue;
		buf_append(out, line, (size_t)(eol + 2 - line));
	}
	buf_append_str(out, "Connection: Upgrade, HTTP2-Settings\r\n"
	    "Upgrade: h2c\r\nHTTP2-Settings: ");
	/* base64url, no padding (RFC 7540 3.2.1). */
	i = out->len;
	base64_encode(out, payload, (size_t)n);
	for (; i < out->len; i++) {
		if (out->data[i] == '+')
			out->data[i] = '-';
		else if (out->data[i] == '/')
			out->data[i] = '_';
	}
	while (out->len > 0 && out->data[out->len - 1] == '=')
		out->len--;
	buf_append_str(out, "\r\n\r\n");
	buf_append(out, end + 4, len - (size_t)(end + 4 - raw));
	return 0;
}

struct httpc_h2 *
httpc_h2_create_upgraded(struct conn *conn, const struct httpc_h2_config *cfg,
    int head, void *arg, const char *rest, size_t restlen, char **cause)
{
	struct httpc_h2		*s;
	struct httpc_h2_stream	*st;
	nghttp2_settings_entry	 iv[2];
	uint8_t			 payload[32];
	ssize_t			 n;
	int			 rv;

	if ((s = httpc_h2_new(conn, cfg, iv, cause)) == NULL)
		return NULL;
	st = xcalloc(1, sizeof *st);
	st->s = s;
	st->arg = arg;
	st->id = 1;
	st->trail_at = SIZE_MAX;
	buf_init(&st->hdr);
	buf_init(&st->body);
	/* Its SETTINGS go out as those the HTTP2-Settings header sent. */
	if ((n = nghttp2_pack_settings_payload(payload, sizeof payload, iv,
	    2)) < 0 || (rv = nghttp2_session_upgrade2(s->ng, payload,
	    (size_t)n, head, st)) != 0) {
		*cause = xasprintf("h2 upgrade: %s", nghttp2_strerror(n < 0 ?
		    (int)n : rv));
		httpc_h2_stream_free(st);
		httpc_h2_free(s);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&s->active, st, entry);
	s->inflight++;
	/* What followed the 101 is h2 already. */
	if (restlen > 0 && (n = nghttp2_session_mem_recv(s->ng,
	    (const uint8_t *)rest, restlen)) < 0) {
		s->session_error = 1;
		snprintf(s->err, sizeof s->err, "h2: %s",
		    nghttp2_strerror((int)n));
		httpc_h2_over(s, NULL);
	}
	return s;
}

void
httpc_h2_free(struct httpc_h2 *s)
{
	struct httpc_h2_stream	*st;

	if (s == NULL)
		return;
	/* Before the streams: libnghttp2 holds pointers to them. */
	if (s->ng != NULL)
		nghttp2_session_del(s->ng);
	while ((st = TAILQ_FIRST(&s->active)) != NULL) {
		TAILQ_REMOVE(&s->active, st, entry);
		httpc_h2_stream_free(st);
	}
	while ((st = TAILQ_FIRST(&s->done)) != NULL) {
		TAILQ_REMOVE(&s->done, st, entry);
		httpc_h2_stream_free(st);
	}
	httpc_h2_stream_free(s->taken);
	conn_close(s->conn);
	buf_free(&s->out);
	buf_free(&s->scratch);
	free(s);
}

/* 1 for the headers h2 does not carry (RFC 9113 8.2.2), and Host. */
int
httpc_h2_header_is_hop(struct span name)
{
	static const char *const hop[] = {
		"host", "connection", "keep-alive", "proxy-connection",
		"transfer-encoding", "upgrade", "http2-settings",
	};
	size_t	i;

	for (i = 0; i < sizeof hop / sizeof hop[0]; i++)
		if (span_caseeq_str(name, hop[i]))
			return 1;
	return 0;
}

static int
httpc_h2_keep_header(const struct http_header *h)
{
	if (httpc_h2_header_is_hop(h->name))
		return 0;
	/* TE: only "trailers" may cross (RFC 9113 8.2.2). */
	if (span_caseeq_str(h->name, "te"))
		return span_caseeq_str(h->value, "trailers");
	return 1;
}

static nghttp2_nv
httpc_h2_nv(const char *n, size_t nl, const char *v, size_t vl)
{
	nghttp2_nv	nv;

	nv.name = (uint8_t *)(uintptr_t)n;
	nv.namelen = nl;
	nv.value = (uint8_t *)(uintptr_t)v;
	nv.valuelen = vl;
	nv.flags = NGHTTP2_NV_FLAG_NONE;
	return nv;
}

/* The header list of req, names lower-cased into s->scratch. */
static nghttp2_nv *
httpc_h2_nva(struct httpc_h2 *s, const struct httpc_h2_req *req,
    size_t *n)
{
	nghttp2_nv	*nva;
	size_t		 i, j, total = 0;
	char		*p;

	nva = xcalloc(req->nheaders + 4, sizeof *nva);
	nva[0] = httpc_h2_nv(":method", 7, req->method.p, req->method.len);
	nva[1] = httpc_h2_nv(":scheme", 7, req->scheme.p, req->scheme.len);
	nva[2] = httpc_h2_nv(":authority", 10, req->authority.p,
	    req->authority.len);
	nva[3] = httpc_h2_nv(":path", 5, req->path.p, req->path.len);
	*n = 4;
	for (i = 0; i < req->nheaders; i++)
		total += req->headers[i].name.len;
	buf_reset(&s->scratch);
	buf_reserve(&s->scratch, total + 1);
	p = s->scratch.data;
	for (i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];

		if (!httpc_h2_keep_header(h))
			continue;
		for (j = 0; j < h->name.len; j++)
			p[j] = (char)((h->name.p[j] >= 'A' &&
			    h->name.p[j] <= 'Z') ? h->name.p[j] + 32 :
			    h->name.p[j]);
		nva[(*n)++] = httpc_h2_nv(p, h->name.len, h->value.p,
		    h->value.len);
		p += h->name.len;
	}
	return nva;
}

int32_t
httpc_h2_submit(struct httpc_h2 *s, const struct httpc_h2_req *req,
    void *arg)
{
	struct httpc_h2_stream	*st;
	nghttp2_data_provider	 dp;
	nghttp2_nv		*nva;
	size_t			 nnv;
	int32_t			 id;

	if (!httpc_h2_is_open(s)) {
		if (s->err[0] == '\0')
			snprintf(s->err, sizeof s->err, "session closed");
		return -1;
	}
	st = xcalloc(1, sizeof *st);
	st->s = s;
	st->arg = arg;
	st->trail_at = SIZE_MAX;
	buf_init(&st->hdr);
	buf_init(&st->body);
	if (req->body.len > 0) {
		st->req_body = xmalloc(req->body.len);
		memcpy(st->req_body, req->body.p, req->body.len);
		st->req_len = req->body.len;
	}
	memset(&dp, 0, sizeof dp);
	dp.source.ptr = st;
	dp.read_callback = httpc_h2_read_body;
	nva = httpc_h2_nva(s, req, &nnv);
	id = nghttp2_submit_request(s->ng, NULL, nva, nnv,
	    st->req_len > 0 ? &dp : NULL, st);
	free(nva);
	if (id < 0) {
		snprintf(s->err, sizeof s->err, "h2 request: %s",
		    nghttp2_strerror(id));
		httpc_h2_stream_free(st);
		return -1;
	}
	st->id = id;
	TAILQ_INSERT_TAIL(&s->active, st, entry);
	s->inflight++;
	return id;
}

int
httpc_h2_cancel(struct httpc_h2 *s, int32_t id)
{
	struct httpc_h2_stream	*st;

	TAILQ_FOREACH(st, &s->active, entry)
		if (st->id == id && !st->cancelled)
			break;
	if (st == NULL)
		return -1;
	st->cancelled = 1;
	if (s->over)
		return 0;
	(void)nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, id,
	    NGHTTP2_CANCEL);
	return 0;
}

/* The session is over: every stream still active ends, as what ended
 * the session says. */
static void
httpc_h2_over(struct httpc_h2 *s, const char *why)
{
	struct httpc_h2_stream	*st;
	enum httpc_h2_err	 err;
	uint32_t		 code;

	if (s->over)
		return;
	s->over = 1;
	if (why != NULL && (s->err[0] == '\0' || s->session_error))
		snprintf(s->err, sizeof s->err, "%s", why);
	while ((st = TAILQ_FIRST(&s->active)) != NULL) {
		code = NGHTTP2_NO_ERROR;
		if (s->goaway && st->id > s->goaway_last) {
			err = HTTPC_H2_E_GOAWAY;
			code = s->goaway_code;
		} else if (s->session_error) {
			err = HTTPC_H2_E_PROTOCOL;
			code = NGHTTP2_PROTOCOL_ERROR;
		} else
			err = HTTPC_H2_E_CLOSED;
		httpc_h2_stream_finish(st, err, code);
	}
}

/* After a transport operation failed: 1 to retry it (EINTR), 0 when it
 * would block, -1 for a failure (noted in s->err). */
static int
httpc_h2_io_errno(struct httpc_h2 *s)
{
	if (errno == EINTR)
		return 1;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	snprintf(s->err, sizeof s->err, "%s", conn_error(s->conn)[0] != '\0' ?
	    conn_error(s->conn) : strerror(errno));
	return -1;
}

/* Writes the buffered frames, pulling more from libnghttp2 as they go.
 * 0 (done or would block), -1 when the transport failed. */
static int
httpc_h2_flush(struct httpc_h2 *s)
{
	const uint8_t	*data;
	ssize_t		 n;
	int		 r;

	for (;;) {
		while (s->out.len < HTTPC_H2_OUT_MAX &&
		    (n = nghttp2_session_mem_send(s->ng, &data)) != 0) {
			if (n < 0) {
				s->session_error = 1;
				snprintf(s->err, sizeof s->err, "h2: %s",
				    nghttp2_strerror((int)n));
				return -1;
			}
			buf_append(&s->out, data, (size_t)n);
		}
		if (s->out.len == 0)
			return 0;
		n = conn_write(s->conn, s->out.data, s->out.len);
		if (n == -1) {
			if ((r = httpc_h2_io_errno(s)) == 1)
				continue;
			return r;
		}
		buf_consume(&s->out, (size_t)n);
	}
}

/* Reads and processes until the transport would block.  0, or -1 when
 * the session is over (s->err says why; EOF: "closed by the peer"). */
static int
httpc_h2_recv(struct httpc_h2 *s)
{
	uint8_t	buf[HTTPC_H2_READ];
	ssize_t	n, rv;
	int	r;

	for (;;) {
		n = conn_read(s->conn, buf, sizeof buf);
		if (n == -1) {
			if ((r = httpc_h2_io_errno(s)) == 1)
				continue;
			return r;
		}
		if (n == 0) {
			if (s->err[0] == '\0')
				snprintf(s->err, sizeof s->err,
				    "closed by the peer");
			return -1;
		}
		rv = nghttp2_session_mem_recv(s->ng, buf, (size_t)n);
		if (rv < 0) {
			s->session_error = 1;
			snprintf(s->err, sizeof s->err, "h2: %s",
			    nghttp2_strerror((int)rv));
			/* Its GOAWAY, if it queued one, best effort. */
			(void)httpc_h2_flush(s);
			return -1;
		}
		if ((size_t)n < sizeof buf && conn_pending(s->conn) == 0)
			return 0;
	}
}

int
httpc_h2_io(struct httpc_h2 *s, int ops)
{
	if (s->over)
		return -1;
	if ((ops & CONN_READ) && httpc_h2_recv(s) == -1) {
		httpc_h2_over(s, NULL);
		return -1;
	}
	if (httpc_h2_flush(s) == -1) {
		httpc_h2_over(s, NULL);
		return -1;
	}
	if (!nghttp2_session_want_read(s->ng) &&
	    !nghttp2_session_want_write(s->ng) && s->out.len == 0) {
		/* A connection error libnghttp2 answered with GOAWAY, or
		 * the end after a GOAWAY: nothing more will come. */
		if (!s->goaway)
			s->session_error = 1;
		httpc_h2_over(s, s->goaway ? NULL : "h2: session terminated");
		return -1;
	}
	if (s->goaway && s->inflight == 0) {
		httpc_h2_over(s, NULL);
		return -1;
	}
	return 0;
}

int
httpc_h2_done(struct httpc_h2 *s, struct httpc_h2_resp *r)
{
	struct httpc_h2_stream	*st;
	size_t			 i, n;

	httpc_h2_stream_free(s->taken);
	s->taken = NULL;
	memset(r, 0, sizeof *r);
	if ((st = TAILQ_FIRST(&s->done)) == NULL)
		return 0;
	TAILQ_REMOVE(&s->done, st, entry);
	s->taken = st;
	st->view = xcalloc(st->nhv + 1, sizeof *st->view);
	for (i = 0; i < st->nhv; i++) {
		st->view[i].name = (struct span){ st->hdr.data + st->hv[i].no,
		    st->hv[i].nl };
		st->view[i].value = (struct span){ st->hdr.data +
		    st->hv[i].vo, st->hv[i].vl };
	}
	n = st->trail_at < st->nhv ? st->trail_at : st->nhv;
	r->arg = st->arg;
	r->stream_id = st->id;
	r->err = st->err;
	r->code = st->code;
	r->status = st->status;
	r->headers = st->view;
	r->nheaders = n;
	r->trailers = st->view + n;
	r->ntrailers = st->nhv - n;
	r->body = (struct span){ st->body.data != NULL ? st->body.data : "",
	    st->body.len };
	return 1;
}

int
httpc_h2_events(const struct httpc_h2 *s)
{
	int	want = CONN_READ;

	if (s->over)
		return 0;
	if (s->out.len > 0 || nghttp2_session_want_write(s->ng))
		want |= CONN_WRITE;
	return conn_events(s->conn, want);
}

int
httpc_h2_ready(const struct httpc_h2 *s, int events)
{
	return conn_ready(s->conn, events);
}

int
httpc_h2_fd(const struct httpc_h2 *s)
{
	return conn_fd(s->conn);
}

int
httpc_h2_is_open(const struct httpc_h2 *s)
{
	return !s->over && !s->goaway;
}

size_t
httpc_h2_inflight(const struct httpc_h2 *s)
{
	return s->inflight;
}

const char *
httpc_h2_error(const struct httpc_h2 *s)
{
	return s->err;
}

/* --- HTTP/1.1 requests as h2 ----------------------------------------- */

int
httpc_h2_req_from_http1(struct httpc_h2_req *req, struct http_msg *m,
    const char *raw, size_t len, const char *scheme, const char *authority,
    const char **why)
{
	enum http_err	err;
	size_t		erroff;
	ssize_t		hl;

	memset(req, 0, sizeof *req);
	hl = http_parse_request(raw, len, len, m, &err, &erroff);
	if (hl == HTTP_ERROR) {
		*why = http_strerror(err);
		return -1;
	}
	if (hl == HTTP_PARTIAL) {
		*why = "incomplete request head";
		return -1;
	}
	if (m->framing == HTTP_FRAME_CHUNKED) {
		*why = "chunked request body";
		return -1;
	}
	if (m->framing == HTTP_FRAME_LENGTH &&
	    m->content_length != len - (size_t)hl) {
		*why = "body length differs from Content-Length";
		return -1;
	}
	if (m->framing == HTTP_FRAME_NONE && (size_t)hl != len) {
		*why = "bytes after the request";
		return -1;
	}
	if (m->scheme.len > 0 || m->target.len == 0 || m->target.p[0] != '/') {
		*why = "not an origin-form target";
		return -1;
	}
	req->method = m->method;
	req->scheme = span_from_str(scheme);
	req->authority = m->host.len > 0 ? m->host :
	    span_from_str(authority != NULL ? authority : "");
	req->path = m->target;
	req->headers = m->headers;
	req->nheaders = m->nheaders;
	req->body = (struct span){ raw + hl, len - (size_t)hl };
	return 0;
}

const char *
httpc_h2_code_name(uint32_t code)
{
	/* Unknown codes: nghttp2 says "unknown". */
	return nghttp2_http2_strerror(code);
}

const char *
httpc_h2_strerror(enum httpc_h2_err err)
{
	switch (err) {
	case HTTPC_H2_E_NONE:
		return "no error";
	case HTTPC_H2_E_RESET:
		return "stream reset by the peer";
	case HTTPC_H2_E_GOAWAY:
		return "stream refused by GOAWAY";
	case HTTPC_H2_E_CLOSED:
		return "connection closed before the response";
	case HTTPC_H2_E_PROTOCOL:
		return "malformed response";
	case HTTPC_H2_E_TOO_LARGE:
		return "response body too large";
	case HTTPC_H2_E_NOT_SENT:
		return "request not sent";
	}
	return "unknown error";
}

int
httpc_h2_resp_unprocessed(const struct httpc_h2_resp *r)
{
	return r->err == HTTPC_H2_E_GOAWAY || (r->err == HTTPC_H2_E_RESET &&
	    r->code == NGHTTP2_REFUSED_STREAM);
}
