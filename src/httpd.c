/*
 * httpd.c -- the HTTP/1.1 server side of the responder and the admin API
 * (moved from respond.c, whose connection code admin.c had copied).
 *
 * A connection reads into one buffer, parses as many complete requests as
 * it holds (pipelining), hands each to the role, and flushes the replies
 * the role queued as iovecs with one writev through its transport.
 * Chunked request bodies are decoded in place in the input buffer.  Each
 * connection has one deadline timer (header, body, idle or linger), armed
 * lazily: a deadline that moves later (as the idle one does with every
 * request) leaves the timer where it is, and when it fires early it is
 * re-armed, so the request path touches the timer heap only when a
 * deadline comes closer, and no pass of the loop walks every connection.
 * Connections are closed by marking them and freed at the end of the
 * loop's round.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "http.h"
#include "httpd.h"
#include "httpd-int.h"
#include "log.h"
#include "loop.h"
#include "sock.h"
#include "xmalloc.h"

/* glibc's sys/queue.h lacks the _SAFE iterator. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#define HTTPD_MAX_IOV		64
#define HTTPD_TIMER_SLACK_NS	(10 * 1000000ull)
#define HTTPD_TIMER_LAG_NS	(1000 * 1000000ull)
/* Out of descriptors (accept(2) EMFILE...), a listener is not watched for
 * this long. */
#define HTTPD_ACCEPT_PAUSE_NS	(100 * 1000000ull)


static void	hconn_process(struct hconn *);
static void	hconn_update_events(struct hconn *);
static void	hconn_io_cb(struct loop_io *, uint32_t);

/* --- connections ------------------------------------------------------ */

void
httpd_reap_cb(struct loop_defer *d)
{
	struct hconn	*c = d->arg;
	size_t		 i;

	if (c->h->role.freed != NULL)
		c->h->role.freed(c);
	if (c->strm != NULL) {
		httpd_h2_stream_free(c);
		return;
	}
	if (c->h2 != NULL)
		httpd_h2_free(c);
	for (i = c->out_first; i < c->nout; i++)
		free(c->out[i].owned);
	free(c->out);
	buf_free(&c->in);
	free(c);
}

void
hconn_close(struct hconn *c)
{
	struct httpd	*h = c->h;

	if (c->dead)
		return;
	if (c->strm != NULL) {
		httpd_h2_stream_close(c);
		return;
	}
	c->dead = 1;
	if (c->h2 != NULL)
		httpd_h2_close(c);
	loop_timer_del(h->loop, &c->dl_timer);
	STAT_ADD(h->st.open, -1);
	STAT_ADD(h->st.out_mem, -(c->out_bytes + c->outcap * sizeof *c->out));
	if (c->watched)
		loop_io_del(h->loop, &c->io);
	/* TLS: close_notify first, best effort, unless failed or reset. */
	if (c->reset)
		conn_abort(c->xc);
	else
		conn_close(c->xc);
	c->xc = NULL;
	TAILQ_REMOVE(&h->conns, c, entry);
	h->nconns--;
	loop_defer(h->loop, &c->reap);
	if (h->draining && h->nconns == 0)
		loop_stop(h->loop);
}

void
hconn_abort(struct hconn *c)
{
	c->reset = 1;
	hconn_close(c);
}

/* The loop's interest in c becomes ev (CONN_READ | CONN_WRITE). */
static int
hconn_watch(struct hconn *c, int ev)
{
	uint32_t	e = conn_epoll_events(ev);

	if (!c->watched) {
		c->io.events = e;	/* no descriptor (mem): for tests */
		return 0;
	}
	return loop_io_mod(c->h->loop, &c->io, e);
}

/*
 * Makes the deadline timer fire by c->deadline (rounded up to
 * HTTPD_TIMER_SLACK_NS, so deadlines that fall close together expire in
 * one pass of the loop; it may fire up to that much late): armed when it
 * is not, pulled in when the deadline came closer by more than the slack,
 * and pushed out when the deadline moved more than HTTPD_TIMER_LAG_NS
 * later (the first request of a connection turns the header deadline
 * into the idle one).  A deadline that moved only a little later (every
 * request on a keep-alive connection does) leaves the timer alone: it
 * fires early and is re-armed then, about once per HTTPD_TIMER_LAG_NS,
 * not once per request.
 */
void
httpd_arm(struct hconn *c)
{
	struct loop	*l = c->h->loop;
	uint64_t	 now, when;

	if (c->dead || c->deadline == 0)
		return;
	when = (c->deadline + HTTPD_TIMER_SLACK_NS - 1) /
	    HTTPD_TIMER_SLACK_NS * HTTPD_TIMER_SLACK_NS;
	/* Armed within the slack of it (loop_timer_add counts from a
	 * fresher clock, so a few µs past), or not too early: leave it. */
	if (loop_timer_is_pending(&c->dl_timer) &&
	    c->dl_timer.when <= when + HTTPD_TIMER_SLACK_NS &&
	    (when <= c->dl_timer.when ||
	    when - c->dl_timer.when < HTTPD_TIMER_LAG_NS))
		return;
	now = loop_now(l);
	loop_timer_add(l, &c->dl_timer, when > now ? when - now : 0);
}

void
hconn_set_deadline(struct hconn *c, uint64_t when_ns)
{
	c->deadline = when_ns;
	c->deadline_set = 1;
	if (when_ns == 0)
		loop_timer_del(c->h->loop, &c->dl_timer);
	else
		httpd_arm(c);
}

/*
 * Closes after the queued output: shut the write side, then read and drop
 * what the peer still sends for a moment, so an error reply is not lost
 * to a reset caused by unread input.
 */
static void
hconn_finish(struct hconn *c)
{
	if (c->dead || c->lingering)
		return;
	if (c->in.len == c->in_off && !c->in_head) {
		hconn_close(c);
		return;
	}
	(void)conn_shutdown(c->xc);
	c->lingering = 1;
	c->deadline = loop_now(c->h->loop) + c->h->cfg.linger_ns;
	httpd_arm(c);
	if (hconn_watch(c, CONN_READ) == -1)
		hconn_close(c);
}

void
hconn_queue(struct hconn *c, const char *p, size_t len, char *owned)
{
	if (len == 0) {
		free(owned);
		return;
	}
	if (c->nout == c->outcap) {
		size_t n = c->outcap == 0 ? 8 : c->outcap * 2;

		c->out = xreallocarray(c->out, n, sizeof *c->out);
		STAT_ADD(c->h->st.out_mem, (n - c->outcap) * sizeof *c->out);
		c->outcap = n;
	}
	c->out[c->nout].p = p;
	c->out[c->nout].len = len;
	c->out[c->nout].owned = owned;
	c->nout++;
	c->out_bytes += len;
	STAT_ADD(c->h->st.out_mem, len);
}

void
hconn_queue_buf(struct hconn *c, struct buf *b)
{
	size_t	 len;
	char	*p;

	p = buf_detach(b, &len);
	hconn_queue(c, p, len, p);
}

void
hconn_stream(struct hconn *c, const char *block, size_t blen,
    uint64_t total)
{
	c->stream = block;
	c->stream_blen = blen;
	c->stream_left = blen > 0 ? total : 0;
}

/*
 * 1 if the connection must not be read nor produce replies for now: it
 * holds out_high of unsent output, or the role is past its output budget
 * and this connection holds out_low or more (the connections that hold
 * the most wait until they drain; a client that reads its answers holds
 * next to nothing and is still served).
 */
static int
hconn_out_full(struct hconn *c)
{
	struct httpd	*h = c->h;

	if (c->out_bytes >= h->cfg.out_high)
		return 1;
	if (h->role.over_budget != NULL &&
	    c->out_bytes + c->outcap * sizeof *c->out >= h->cfg.out_low &&
	    h->role.over_budget(h->arg)) {
		if (!c->throttled) {
			c->throttled = 1;
			STAT_INC(h->st.throttled);
		}
		return 1;
	}
	c->throttled = 0;
	return 0;
}

/* Has the role answer a request that cannot be read; closes after. */
static void
hconn_reject(struct hconn *c, int status, const char *why, size_t off)
{
	c->h->role.reject(c, status, why, off);
	c->closing = 1;
}

int
httpd_error_status(enum http_err err)
{
	switch (err) {
	case HTTP_E_HEAD_TOO_LARGE:
		return 431;
	case HTTP_E_TE_UNSUPPORTED:
		return 501;
	default:
		return 400;
	}
}

void
hconn_hold(struct hconn *c, int pending)
{
	c->waiting = 1;
	c->pending = pending != 0;
}

void
hconn_release(struct hconn *c)
{
	c->waiting = 0;
	c->pending = 0;
	if (c->close_after) {
		c->closing = 1;
		c->close_after = 0;
	}
}

void
hconn_step(struct hconn *c)
{
	if (c->dead)
		return;
	if (c->strm != NULL) {
		httpd_h2_stream_flush(c);
		return;
	}
	if (!c->waiting)
		hconn_process(c);
	hconn_flush(c);
}

void
hconn_close_after(struct hconn *c)
{
	if (c->pending)
		c->close_after = 1;
	else
		c->closing = 1;
}

/* --- requests --------------------------------------------------------- */

/*
 * Feeds the raw bytes received since the last call to the chunked decoder.
 * Returns 1 when the body is complete (c->ck_end is its end, the next
 * request follows it), 0 when more is needed, -1 after rejecting.
 */
static int
hconn_chunked(struct hconn *c, size_t body_start, size_t raw_end)
{
	const struct httpd_config *cfg = &c->h->cfg;
	enum http_err	err = HTTP_E_NONE;
	size_t		len, erroff = 0;
	ssize_t		rest;
	const char	*big = cfg->too_large_chunked != NULL ?
			    cfg->too_large_chunked : "chunked body too large";

	if (!c->ck_active) {
		http_chunked_init(&c->ck);
		c->ck.max_body = cfg->max_body;
		c->ck_active = 1;
		c->ck_end = body_start;
	}
	len = raw_end - c->ck_end;
	rest = http_chunked_decode(&c->ck, c->in.data + c->ck_end, &len, &err,
	    &erroff);
	if (rest == HTTP_ERROR) {
		hconn_reject(c, err == HTTP_E_BODY_TOO_LARGE ? 413 : 400,
		    err == HTTP_E_BODY_TOO_LARGE && cfg->too_large_chunked !=
		    NULL ? big : http_strerror(err),
		    c->ck_end + erroff - c->in_off);
		return -1;
	}
	/* The decoded bytes now sit at ck_end; drop the consumed raw ones. */
	c->ck_end += len;
	c->in.len = c->ck_end + (rest == HTTP_PARTIAL ? 0 : (size_t)rest);
	if (c->ck_end - body_start > cfg->max_body) {
		hconn_reject(c, 413, big, 0);
		return -1;
	}
	return rest == HTTP_PARTIAL ? 0 : 1;
}

/*
 * The deadline of a request body that is arriving, `received` bytes of
 * it so far: body_timeout_ns after its head came, plus one second per
 * body_min_rate bytes received, so a large upload at a steady pace goes
 * through and a trickle does not.  body_timeout_ns 0: no limit for the
 * whole body, only header_timeout_ns between two reads.
 */
static uint64_t
hconn_body_deadline(struct hconn *c, uint64_t received)
{
	const struct httpd_config	*cfg = &c->h->cfg;
	uint64_t			 now = loop_now(c->h->loop);
	uint64_t			 rate = cfg->body_min_rate, extra = 0;

	if (c->body_ns == 0)
		c->body_ns = now;
	if (cfg->body_timeout_ns == 0)
		return now + cfg->header_timeout_ns;
	/* Past a year of allowance the answer no longer matters. */
	if (rate > 0 && received / rate < 365ull * 86400)
		extra = received / rate * 1000000000ull + (uint64_t)(
		    (double)(received % rate) / (double)rate * 1e9);
	else if (rate > 0)
		extra = 365ull * 86400 * 1000000000ull;
	return c->body_ns + cfg->body_timeout_ns + extra;
}

/* Sends "100 Continue" once per request, if the client asked. */
static void
hconn_continue(struct hconn *c, const struct http_msg *m)
{
	if (m->expect_continue && !c->sent_continue) {
		c->sent_continue = 1;
		hconn_queue(c, "HTTP/1.1 100 Continue\r\n\r\n", 25, NULL);
	}
}

/*
 * Where the current request's body ends in c->in, or 0 when it is not
 * all there yet (the body deadline is set) or was rejected (c->closing).
 */
static size_t
hconn_body_end(struct hconn *c, const struct http_msg *m, size_t body_start)
{
	const struct httpd_config *cfg = &c->h->cfg;
	size_t		end;
	int		st;

	switch (m->framing) {
	case HTTP_FRAME_LENGTH:
		if (m->content_length > cfg->max_body) {
			hconn_reject(c, 413, cfg->too_large != NULL ?
			    cfg->too_large : "body too large", 0);
			return 0;
		}
		end = body_start + (size_t)m->content_length;
		if (c->in.len < end) {
			hconn_continue(c, m);
			c->deadline = hconn_body_deadline(c,
			    c->in.len - body_start);
			return 0;
		}
		return end;
	case HTTP_FRAME_CHUNKED:
		hconn_continue(c, m);
		if ((st = hconn_chunked(c, body_start, c->in.len)) == -1)
			return 0;
		if (st == 0) {
			c->deadline = hconn_body_deadline(c,
			    c->ck_end - body_start);
			return 0;
		}
		return c->ck_end;
	default:
		return body_start;
	}
}

static void
hconn_process_requests(struct hconn *c)
{
	struct httpd	*h = c->h;
	struct http_msg	*m = &h->msg;
	enum http_err	 err;
	size_t		 erroff, avail, body_start, end;
	ssize_t		 n;

	while (!c->closing && !c->dead && !c->waiting && !hconn_out_full(c)) {
		if (c->in_off > 0 && !c->ck_active) {
			buf_consume(&c->in, c->in_off);
			c->in_off = 0;
		}
		avail = c->in.len - c->in_off;
		if (avail == 0) {
			c->in_head = 0;
			break;
		}
		if (h->cfg.h2 && !c->h1_seen && c->in_off == 0) {
			/* Prior knowledge: the preface opens the connection. */
			int pre = httpd_h2_sniff(c->in.data, avail);

			if (pre == -1)
				break;
			if (pre == 1) {
				if (httpd_h2_start(c) == 0)
					httpd_h2_recv(c);
				return;
			}
		}
		if (!c->in_head) {
			c->in_head = 1;
			c->deadline = loop_now(h->loop) +
			    h->cfg.header_timeout_ns;
		}
		err = HTTP_E_NONE;
		erroff = 0;
		n = http_parse_request(c->in.data + c->in_off,
		    c->ck_active ? c->ck_end - c->in_off : avail,
		    h->cfg.max_head, m, &err, &erroff);
		if (n == HTTP_PARTIAL)
			break;
		if (n == HTTP_ERROR) {
			hconn_reject(c, httpd_error_status(err),
			    http_strerror(err), erroff);
			break;
		}
		body_start = c->in_off + (size_t)n;
		if ((end = hconn_body_end(c, m, body_start)) == 0)
			return;
		if (h->cfg.h2 && !c->h1_seen && httpd_h2_is_upgrade(m)) {
			httpd_h2_upgrade(c, m, c->in.data + body_start,
			    end - body_start, end);
			return;
		}
		c->h1_seen = 1;
		c->deadline_set = 0;
		h->role.request(c, m, c->in.data + body_start,
		    end - body_start, loop_now(h->loop));
		if (c->dead)
			return;
		c->in_off = end;
		c->ck_active = 0;
		c->sent_continue = 0;
		c->in_head = 0;
		c->body_ns = 0;
		if (!c->deadline_set)
			c->deadline = loop_now(h->loop) +
			    h->cfg.idle_timeout_ns;
	}
}

/* Parses and answers the requests the input holds, as far as the
 * output allows; hconn_flush() knows not to call back into it. */
static void
hconn_process(struct hconn *c)
{
	c->processing = 1;
	if (c->h2 != NULL)
		httpd_h2_recv(c);
	else
		hconn_process_requests(c);
	c->processing = 0;
	/* The deadline the connection ends up with, armed once. */
	httpd_arm(c);
}

/* --- I/O -------------------------------------------------------------- */

/* 1 if TLS chose "h2" by ALPN. */
static int
hconn_alpn_h2(struct hconn *c)
{
	char	proto[16];

	return conn_is_tls(c->xc) && conn_tls_alpn(c->xc, proto,
	    sizeof proto) && strcmp(proto, "h2") == 0;
}

/*
 * Advances the TLS handshake; the loop calls it until it completes.  A
 * failed handshake costs only this connection.  Returns 1 when done, 0
 * when it waits for the peer, -1 when the connection was closed.
 */
static int
hconn_handshake(struct hconn *c)
{
	int	r;

	if ((r = conn_handshake(c->xc)) == 1)
		return 1;
	if (r == -1) {
		STAT_INC(c->h->st.tls_failed);
		log_info("%s%s: TLS handshake failed: %s",
		    c->h->cfg.log_prefix, c->peer, conn_error(c->xc));
		hconn_close(c);
		return -1;
	}
	if (hconn_watch(c, conn_events(c->xc, 0)) == -1) {
		hconn_close(c);
		return -1;
	}
	return 0;
}

static void
hconn_update_events(struct hconn *c)
{
	int	want = 0;

	if (c->dead || c->lingering)
		return;
	if (!conn_is_established(c->xc))
		return;		/* hconn_handshake() owns the interest */
	if (c->h2 != NULL) {
		int	h2w = httpd_h2_wants(c);

		if (h2w == 0 && c->out_first == c->nout) {
			hconn_close(c);		/* GOAWAY both ways */
			return;
		}
		if (c->out_first < c->nout || ((h2w & CONN_WRITE) &&
		    !hconn_out_full(c)))
			want |= CONN_WRITE;
		if ((h2w & CONN_READ) && !c->peer_eof && !hconn_out_full(c))
			want |= CONN_READ;
		if (hconn_watch(c, conn_events(c->xc, want)) == -1)
			hconn_close(c);
		return;
	}
	if (c->out_first < c->nout)
		want |= CONN_WRITE;
	if (!c->closing && !c->peer_eof && !hconn_out_full(c) &&
	    (!c->waiting || c->in.len - c->in_off < c->h->cfg.max_head))
		want |= CONN_READ;
	/* A TLS read may wait for the socket to be writable and a write
	 * for it to be readable. */
	if (hconn_watch(c, conn_events(c->xc, want)) == -1)
		hconn_close(c);
}

/* Writes queued items; 0, or -1 when the connection was closed. */
static int
hconn_write(struct hconn *c)
{
	struct iovec	 iov[HTTPD_MAX_IOV];
	size_t		 i, n, k;
	ssize_t		 wr;

	for (;;) {
		if (c->h2 != NULL)
			httpd_h2_pump(c);
		/* Oversize bodies: keep a few blocks queued. */
		while (c->stream_left > 0 && c->nout - c->out_first < 16) {
			k = c->stream_left < c->stream_blen ?
			    (size_t)c->stream_left : c->stream_blen;
			hconn_queue(c, c->stream, k, NULL);
			c->stream_left -= k;
		}
		if (c->out_first >= c->nout)
			return 0;
		for (n = 0, i = c->out_first; i < c->nout &&
		    n < HTTPD_MAX_IOV; i++, n++) {
			iov[n].iov_base = (void *)c->out[i].p;
			iov[n].iov_len = c->out[i].len;
		}
		if ((wr = conn_writev(c->xc, iov, (int)n)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			log_debug("%s%s: write: %s", c->h->cfg.log_prefix,
			    c->peer, conn_error(c->xc));
			hconn_close(c);
			return -1;
		}
		c->out_bytes -= (size_t)wr;
		STAT_ADD(c->h->st.out_mem, -wr);
		while (wr > 0) {
			struct httpd_out *o = &c->out[c->out_first];

			if ((size_t)wr >= o->len) {
				wr -= (ssize_t)o->len;
				free(o->owned);
				c->out_first++;
			} else {
				o->p += wr;
				o->len -= (size_t)wr;
				wr = 0;
			}
		}
	}
}

void
hconn_flush(struct hconn *c)
{
	struct httpd	*h = c->h;

	if (c->strm != NULL) {
		httpd_h2_stream_flush(c);
		return;
	}
again:
	if (c->dead || c->lingering || hconn_write(c) == -1)
		return;
	if (c->out_first == c->nout) {
		c->out_first = c->nout = 0;
		if (c->outcap > 64) {
			/* A backlog drained: give its bookkeeping back. */
			STAT_ADD(h->st.out_mem, -(c->outcap * sizeof *c->out));
			free(c->out);
			c->out = NULL;
			c->outcap = 0;
		}
		if (h->role.drained != NULL)
			h->role.drained(c);
		if (c->closing && !c->pending) {
			hconn_finish(c);
			return;
		}
		/* All sent: pipelined requests already read go on (no read
		 * event would come for them), unless we are being called
		 * from their processing. */
		if (!c->processing && !c->closing && !c->waiting &&
		    c->in.len > c->in_off && !hconn_out_full(c)) {
			hconn_process(c);
			if (c->dead)
				return;
			if (c->out_first < c->nout || c->stream_left > 0)
				goto again;
		}
	}
	hconn_update_events(c);
}

/* The peer is done sending: answer what is complete, then close. */
static void
hconn_eof(struct hconn *c)
{
	hconn_process(c);
	if (c->dead)
		return;
	if (c->h2 != NULL) {
		/* Open streams still get their replies. */
		c->peer_eof = 1;
		if (httpd_h2_nstreams(c) == 0)
			httpd_h2_drain(c);
		hconn_flush(c);
		return;
	}
	if (c->in_head && !c->closing && !c->waiting)
		log_info("%s%s: closed mid-request", c->h->cfg.log_prefix,
		    c->peer);
	c->peer_eof = 1;
	if (c->pending) {
		/* A reply is on its way: finish it first. */
		c->close_after = 1;
		hconn_update_events(c);
		return;
	}
	c->closing = 1;
	c->in_head = 0;
	c->ck_active = 0;
	c->in_off = c->in.len;
	if (c->out_first == c->nout && c->stream_left == 0)
		hconn_close(c);
	else
		hconn_flush(c);
}

/* Reads once; 1 if bytes came (and were processed), 0 if not now, -1
 * when the connection closed or the peer finished. */
static int
hconn_read(struct hconn *c)
{
	ssize_t	n;

	buf_reserve(&c->in, c->h->cfg.read_chunk);
	n = conn_read(c->xc, c->in.data + c->in.len,
	    c->in.cap - c->in.len - 1);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR) {
			if (conn_is_tls(c->xc))
				hconn_update_events(c);
			return 0;
		}
		log_debug("%s%s: read: %s", c->h->cfg.log_prefix, c->peer,
		    conn_error(c->xc));
		hconn_close(c);
		return -1;
	}
	if (n == 0) {
		hconn_eof(c);
		return -1;
	}
	c->in.len += (size_t)n;
	c->in.data[c->in.len] = '\0';
	hconn_process(c);
	hconn_flush(c);
	return 1;
}

/*
 * What the loop (or a test, for a connection without a descriptor)
 * reports: ready is CONN_READ | CONN_WRITE, hang-ups and errors counting
 * as CONN_READ; hup: the peer is gone both ways.
 */
static void
hconn_ready(struct hconn *c, int ready, int hup)
{
	if (c->dead)
		return;
	if (c->lingering) {
		ssize_t n = conn_discard(c->xc, 4096);

		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			hconn_close(c);
		return;
	}
	if (!conn_is_established(c->xc)) {
		if (hconn_handshake(c) != 1)
			return;
		if (c->h->cfg.h2 && hconn_alpn_h2(c) &&
		    httpd_h2_start(c) == -1)
			return;
		/* The request may follow the handshake at once. */
		ready |= CONN_READ;
		hconn_update_events(c);
	}
	/* A TLS read may wait for the socket to be writable and a write
	 * for it to be readable. */
	ready = conn_ready(c->xc, ready);
	for (;;) {
		if (ready & CONN_WRITE)
			hconn_flush(c);
		if (c->dead || c->lingering || !(ready & CONN_READ))
			return;
		if (c->closing || hconn_out_full(c)) {
			/* Not reading now; a hung-up peer is gone. */
			if (hup && !c->pending)
				hconn_close(c);
			else
				hconn_update_events(c);
			return;
		}
		if (hconn_read(c) != 1 || c->dead)
			return;
		/* Decrypted bytes TLS holds do not wake the loop. */
		if (conn_pending(c->xc) == 0)
			return;
		ready = CONN_READ;
	}
}

static void
hconn_io_cb(struct loop_io *io, uint32_t events)
{
	hconn_ready(io->arg, conn_epoll_ready(events),
	    (events & (EPOLLHUP | EPOLLERR)) != 0);
}

void
httpd_deadline_cb(struct loop_timer *t)
{
	struct hconn	*c = t->arg;
	struct httpd	*h = c->h;

	if (c->dead || c->deadline == 0)
		return;
	if (loop_now(h->loop) < c->deadline) {
		httpd_arm(c);
		return;
	}
	if (c->strm != NULL) {
		httpd_h2_stream_deadline(c);
		return;
	}
	if (c->h2 != NULL && httpd_h2_nstreams(c) > 0 && !c->lingering) {
		/* Streams in progress keep the connection. */
		c->deadline = loop_now(h->loop) + h->cfg.idle_timeout_ns;
		httpd_arm(c);
		return;
	}
	if (c->lingering || c->closing || !c->in_head) {
		hconn_close(c);
		return;
	}
	c->deadline = 0;
	if (c->body_ns != 0) {
		STAT_INC(h->st.body_timeouts);
		hconn_reject(c, 408, "request body not complete in time",
		    c->in.len - c->in_off);
	} else {
		STAT_INC(h->st.head_timeouts);
		hconn_reject(c, 408, "request not complete in time",
		    c->in.len - c->in_off);
	}
	hconn_flush(c);
}

/* --- accepting -------------------------------------------------------- */

/* Makes room by closing an idle connection, the oldest first. */
static int
httpd_evict_idle(struct httpd *h)
{
	struct hconn	*c;

	TAILQ_FOREACH(c, &h->conns, entry) {
		if (!c->in_head && !c->closing && !c->lingering &&
		    !c->waiting && c->out_first == c->nout &&
		    (c->h2 == NULL || httpd_h2_nstreams(c) == 0) &&
		    c->in.len == c->in_off) {
			hconn_close(c);
			return 0;
		}
	}
	return -1;
}

struct hconn *
httpd_adopt(struct httpd *h, struct conn *xc, const char *peer)
{
	struct hconn	*c;
	char		*cause = NULL;
	int		 fd = conn_fd(xc);

	if (h->cfg.tls != NULL &&
	    (xc = conn_tls_server(h->cfg.tls, xc, &cause)) == NULL) {
		log_warn("%s%s: TLS: cannot set up the connection",
		    h->cfg.log_prefix, peer);
		free(cause);
		return NULL;
	}
	if (h->cfg.max_conns > 0 && h->nconns >= h->cfg.max_conns &&
	    httpd_evict_idle(h) == -1) {
		log_warn("%s%s: too many connections; closing",
		    h->cfg.log_prefix, peer);
		conn_close(xc);
		return NULL;
	}
	c = xcalloc(1, sizeof *c);
	c->h = h;
	c->xc = xc;
	snprintf(c->peer, sizeof c->peer, "%s", peer);
	buf_init(&c->in);
	loop_defer_init(&c->reap, httpd_reap_cb, c);
	loop_timer_init(&c->dl_timer, httpd_deadline_cb, c);
	if (h->role.accepted != NULL && h->role.accepted(c) == -1) {
		conn_close(xc);
		buf_free(&c->in);
		free(c);
		return NULL;
	}
	c->io.events = EPOLLIN | EPOLLRDHUP;
	if (fd != -1) {
		if (loop_io_add(h->loop, &c->io, fd, EPOLLIN | EPOLLRDHUP,
		    hconn_io_cb, c) == -1) {
			log_warn("%sepoll_ctl: %s", h->cfg.log_prefix,
			    strerror(errno));
			if (h->role.freed != NULL)
				h->role.freed(c);
			conn_close(xc);
			buf_free(&c->in);
			free(c);
			return NULL;
		}
		c->watched = 1;
	}
	STAT_INC(h->st.connections);
	STAT_INC(h->st.open);
	c->deadline = loop_now(h->loop) + h->cfg.header_timeout_ns;
	TAILQ_INSERT_TAIL(&h->conns, c, entry);
	h->nconns++;
	httpd_arm(c);
	return c;
}

/*
 * accept(2) failed for want of descriptors (EMFILE, ENFILE) or memory, or
 * for a reason that may well repeat: the connection stays queued, and a
 * level-triggered listener would wake the loop at once, for ever.  So the
 * listener is not watched for HTTPD_ACCEPT_PAUSE_NS while the open
 * connections are served (new ones wait in the backlog); the role logs.
 */
static void
httpd_listener_pause(struct httpd_listener *l, int err)
{
	struct httpd	*h = l->h;

	STAT_INC(h->st.accept_errors);
	if (loop_io_mod(h->loop, &l->io, 0) == -1)
		log_warn("%sepoll_ctl: %s", h->cfg.log_prefix,
		    strerror(errno));
	loop_timer_add(h->loop, &l->pause, HTTPD_ACCEPT_PAUSE_NS);
	if (h->role.accept_failed != NULL)
		h->role.accept_failed(h, err, HTTPD_ACCEPT_PAUSE_NS);
}

static void
httpd_listener_resume_cb(struct loop_timer *t)
{
	struct httpd_listener	*l = t->arg;

	if (l->io.fd != -1 && loop_io_mod(l->h->loop, &l->io, EPOLLIN) == -1)
		log_warn("%sepoll_ctl: %s", l->h->cfg.log_prefix,
		    strerror(errno));
}

static void
httpd_listener_cb(struct loop_io *io, uint32_t events)
{
	struct httpd_listener	*l = io->arg;
	struct httpd		*h = l->h;
	struct sock_addr	 peer;
	char			 name[64];
	int			 fd, one = 1;

	(void)events;
	for (;;) {
		peer.len = sizeof peer.ss;
		fd = accept4(io->fd, (struct sockaddr *)&peer.ss, &peer.len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				httpd_listener_pause(l, errno);
			return;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		sock_addr_str(&peer, name, sizeof name);
		(void)httpd_adopt(h, conn_tcp_create(fd, CONN_F_SERVER), name);
	}
}

int
httpd_listen(struct httpd *h, int fd)
{
	struct httpd_listener	*l = xcalloc(1, sizeof *l);

	l->h = h;
	loop_timer_init(&l->pause, httpd_listener_resume_cb, l);
	if (loop_io_add(h->loop, &l->io, fd, EPOLLIN, httpd_listener_cb,
	    l) == -1) {
		log_warn("%sepoll_ctl: %s", h->cfg.log_prefix,
		    strerror(errno));
		free(l);
		return -1;
	}
	h->listeners = xreallocarray(h->listeners, h->nlisteners + 1,
	    sizeof *h->listeners);
	h->listeners[h->nlisteners++] = l;
	return 0;
}

void
httpd_unlisten(struct httpd *h)
{
	struct httpd_listener	*l;
	size_t			 i;

	for (i = 0; i < h->nlisteners; i++) {
		l = h->listeners[i];
		loop_timer_del(h->loop, &l->pause);
		if (l->io.fd == -1)
			continue;
		loop_io_del(h->loop, &l->io);
		close(l->io.fd);
		l->io.fd = -1;
	}
}

/* --- the server ------------------------------------------------------- */

struct httpd *
httpd_create(struct loop *loop, const struct httpd_config *cfg,
    const struct httpd_role *role, void *arg)
{
	struct httpd	*h = xcalloc(1, sizeof *h);

	h->loop = loop;
	h->cfg = *cfg;
	if (h->cfg.log_prefix == NULL)
		h->cfg.log_prefix = "";
	if (h->cfg.read_chunk == 0)
		h->cfg.read_chunk = 16 * 1024;
	h->role = *role;
	h->arg = arg;
	TAILQ_INIT(&h->conns);
	TAILQ_INIT(&h->h2_pool);
	return h;
}

size_t
httpd_drain(struct httpd *h)
{
	struct hconn	*c, *next;

	h->draining = 1;
	TAILQ_FOREACH_SAFE(c, &h->conns, entry, next) {
		/* A held (delayed or dripping) reply is in flight too. */
		if (c->h2 != NULL) {
			httpd_h2_drain(c);
			hconn_flush(c);
		} else if (!c->in_head && c->out_first == c->nout &&
		    !c->pending && c->stream_left == 0)
			hconn_close(c);
		else
			c->closing = 1;
	}
	return h->nconns;
}

void
httpd_free(struct httpd *h)
{
	struct hconn	*c, *next;
	size_t		 i;

	if (h == NULL)
		return;
	h->draining = 0;
	httpd_unlisten(h);
	TAILQ_FOREACH_SAFE(c, &h->conns, entry, next)
		hconn_close(c);
	/* Free the connections closed above. */
	loop_run_deferred(h->loop);
	httpd_h2_pool_free(h);
	for (i = 0; i < h->nlisteners; i++)
		free(h->listeners[i]);
	free(h->listeners);
	free(h);
}

void *
httpd_arg(const struct httpd *h)
{
	return h->arg;
}

void
httpd_stats(const struct httpd *h, struct httpd_stats *st)
{
	st->connections = STAT_GET(h->st.connections);
	st->open = STAT_GET(h->st.open);
	st->accept_errors = STAT_GET(h->st.accept_errors);
	st->head_timeouts = STAT_GET(h->st.head_timeouts);
	st->body_timeouts = STAT_GET(h->st.body_timeouts);
	st->tls_failed = STAT_GET(h->st.tls_failed);
	st->throttled = STAT_GET(h->st.throttled);
	st->out_mem = STAT_GET(h->st.out_mem);
}

uint64_t
httpd_out_mem(const struct httpd *h)
{
	return STAT_GET(h->st.out_mem);
}

struct hconn *
httpd_first(const struct httpd *h)
{
	return TAILQ_FIRST(&h->conns);
}

struct hconn *
hconn_next(const struct hconn *c)
{
	return TAILQ_NEXT(c, entry);
}

/* --- accessors -------------------------------------------------------- */

struct httpd *
hconn_httpd(const struct hconn *c)
{
	return c->h;
}

void *
hconn_data(const struct hconn *c)
{
	return c->data;
}

void
hconn_set_data(struct hconn *c, void *data)
{
	c->data = data;
}

const char *
hconn_peer(const struct hconn *c)
{
	return c->peer;
}

int
hconn_fd(const struct hconn *c)
{
	if (c->parent != NULL)
		c = c->parent;
	return c->xc != NULL ? conn_fd(c->xc) : -1;
}

int
hconn_is_dead(const struct hconn *c)
{
	return c->dead;
}

int
hconn_has_output(const struct hconn *c)
{
	return c->out_first < c->nout || c->stream_left > 0;
}

int
hconn_peer_eof(const struct hconn *c)
{
	return c->parent != NULL ? c->parent->peer_eof : c->peer_eof;
}

int
hconn_is_h2(const struct hconn *c)
{
	return c->strm != NULL || c->h2 != NULL;
}

void
hconn_h2_reset(struct hconn *c, uint32_t code)
{
	if (c->strm == NULL) {
		hconn_abort(c);
		return;
	}
	c->rst_code = code;
	c->rst_set = 1;
	hconn_abort(c);
}

void
hconn_io(struct hconn *c, int ready)
{
	hconn_ready(c, ready, 0);
}

int
hconn_events(const struct hconn *c)
{
	return conn_epoll_ready(c->io.events) & (CONN_READ | CONN_WRITE);
}
