/*
 * respond.c -- the responder: worker threads, connections, request framing
 * and the reply path.
 *
 * Each worker owns a loop, one SO_REUSEPORT listener per address and its
 * connections; the only shared state is the read-only match index (whose
 * per-signature cursors are atomic).  A connection reads into one buffer,
 * parses as many complete requests as it holds (pipelining), queues each
 * reply as iovecs that point at the index's pre-serialised bytes, and
 * flushes them with writev.  Chunked request bodies are decoded in place in
 * the input buffer.  Timeouts are checked by a sweep timer per worker, so
 * the request path never touches the timer heap.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "loop.h"
#include "match.h"
#include "respond.h"
#include "snap.h"
#include "sock.h"
#include "xmalloc.h"

/* glibc's sys/queue.h lacks the _SAFE iterator. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#define RESPOND_READ_CHUNK	(16 * 1024)
#define RESPOND_OUT_HIGH	(1024 * 1024)	/* stop reading above this */
#define RESPOND_SWEEP_NS	(100 * 1000000ull)
#define RESPOND_LINGER_NS	(1000 * 1000000ull)
#define RESPOND_DRAIN_NS	(5000 * 1000000ull)
#define RESPOND_MAX_IOV		64

struct worker;

struct out_item {
	const char	*p;
	size_t		 len;
	char		*owned;		/* freed once written, or NULL */
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct worker		*w;
	struct loop_io		 io;
	struct loop_defer	 reap;
	int			 fd;
	char			 peer[64];

	struct buf		 in;
	size_t			 in_off;	/* start of the current request */

	/* Chunked body of the current request, decoded in place. */
	int			 ck_active;
	struct http_chunked	 ck;
	size_t			 ck_end;	/* end of decoded bytes in in */
	int			 sent_continue;

	struct out_item		*out;
	size_t			 nout;
	size_t			 outcap;
	size_t			 out_first;	/* first unwritten item */
	size_t			 out_bytes;	/* bytes still queued */

	uint64_t		 deadline;	/* 0: none */
	int			 in_head;	/* a request has started */
	int			 closing;	/* close once output is flushed */
	int			 lingering;	/* write side shut, draining input */
	int			 dead;
};
TAILQ_HEAD(conn_list, conn);

struct listener {
	struct loop_io	 io;
	struct worker	*w;
};

struct worker {
	struct responder	*r;
	size_t			 id;
	pthread_t		 thread;
	struct loop		*loop;
	struct listener		*listeners;
	size_t			 nlisteners;
	struct conn_list	 conns;
	size_t			 nconns;
	struct loop_timer	 sweep;
	int			 draining;
	struct http_msg		 msg;		/* scratch for the parser */
	struct buf		 scratch;

	uint64_t		 n_requests;
	uint64_t		 n_matched;
	uint64_t		 n_closest;
	uint64_t		 n_missed;
	uint64_t		 n_bad;
};

struct responder {
	struct respond_config	 cfg;
	struct match_index	*index;
	struct worker		*workers;
	size_t			 nworkers;
	int			*ports;		/* per listen address */
};

static void	conn_read_cb(struct loop_io *, uint32_t);
static void	conn_process(struct conn *);
static void	conn_flush(struct conn *);

void
respond_config_init(struct respond_config *c)
{
	memset(c, 0, sizeof *c);
	c->unmatched = MATCH_UNMATCHED_404;
	c->max_head = HTTP_DEFAULT_MAX_HEAD;
	c->max_body = 8 * 1024 * 1024;
	c->header_timeout_ns = 10ull * 1000000000u;
	c->idle_timeout_ns = 60ull * 1000000000u;
}

void
respond_config_free(struct respond_config *c)
{
	size_t	i;

	free(c->snapshot);
	for (i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	free(c->listen);
	free(c->port_file);
	memset(c, 0, sizeof *c);
}

void
respond_config_add_listen(struct respond_config *c, const char *addr)
{
	c->listen = xreallocarray(c->listen, c->nlisten + 1,
	    sizeof *c->listen);
	c->listen[c->nlisten++] = xstrdup(addr);
}

/* --- connections ------------------------------------------------------ */

static void
conn_reap_cb(struct loop_defer *d)
{
	struct conn	*c = d->arg;
	size_t		 i;

	for (i = c->out_first; i < c->nout; i++)
		free(c->out[i].owned);
	free(c->out);
	buf_free(&c->in);
	free(c);
}

static void
conn_close(struct conn *c)
{
	struct worker	*w = c->w;

	if (c->dead)
		return;
	c->dead = 1;
	loop_io_del(w->loop, &c->io);
	close(c->fd);
	TAILQ_REMOVE(&w->conns, c, entry);
	w->nconns--;
	loop_defer(w->loop, &c->reap);
	if (w->draining && w->nconns == 0)
		loop_stop(w->loop);
}

/*
 * Closes after the queued output: shut the write side, then read and drop
 * what the peer still sends for a moment, so an error reply is not lost
 * to a reset caused by unread input.
 */
static void
conn_finish(struct conn *c)
{
	if (c->dead)
		return;
	if (c->in.len == c->in_off && !c->in_head) {
		conn_close(c);
		return;
	}
	shutdown(c->fd, SHUT_WR);
	c->lingering = 1;
	c->deadline = loop_now(c->w->loop) + RESPOND_LINGER_NS;
	if (loop_io_mod(c->w->loop, &c->io, EPOLLIN | EPOLLRDHUP) == -1)
		conn_close(c);
}

static void
conn_queue(struct conn *c, const char *p, size_t len, char *owned)
{
	if (len == 0) {
		free(owned);
		return;
	}
	if (c->nout == c->outcap) {
		c->outcap = c->outcap == 0 ? 8 : c->outcap * 2;
		c->out = xreallocarray(c->out, c->outcap, sizeof *c->out);
	}
	c->out[c->nout].p = p;
	c->out[c->nout].len = len;
	c->out[c->nout].owned = owned;
	c->nout++;
	c->out_bytes += len;
}

static void
conn_queue_buf(struct conn *c, struct buf *b)
{
	size_t	 len;
	char	*p;

	p = buf_detach(b, &len);
	conn_queue(c, p, len, p);
}

/* Answers a request that cannot be served and closes the connection. */
static void
conn_reject(struct conn *c, int status, const char *why, size_t off)
{
	struct buf	body, msg;

	c->w->n_bad++;
	log_info("%s: %d %s (byte %zu); closing", c->peer, status, why, off);
	buf_init(&body);
	buf_init(&msg);
	buf_printf(&body, "{\"error\":\"%s\",\"reason\":\"%s\",\"offset\":%zu}\n",
	    http_reason(status), why, off);
	http_write_simple(&msg, status, "application/json", body.data, body.len,
	    1);
	buf_free(&body);
	conn_queue_buf(c, &msg);
	c->closing = 1;
}

static int
respond_error_status(enum http_err err)
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

/* Queues the reply to one complete request. */
static void
conn_reply(struct conn *c, const struct http_msg *m, const char *body,
    size_t body_len)
{
	struct worker			*w = c->w;
	struct responder		*r = w->r;
	const struct match_entry	*e;
	struct match_req		 mr;
	uint64_t			 sig, occ;
	int				 head_only, keep;

	w->n_requests++;
	keep = m->keep_alive && !w->draining;
	head_only = span_eq_str(m->method, "HEAD");
	match_req_from_http(&mr, m, body, body_len);
	e = match_lookup(r->index, &mr, &sig, &occ);
	if (e != NULL)
		w->n_matched++;
	else if (r->cfg.unmatched == MATCH_UNMATCHED_CLOSEST &&
	    (e = match_closest(r->index, &mr)) != NULL)
		w->n_closest++;
	if (e != NULL) {
		conn_queue(c, e->head, e->head_len, NULL);
		if (keep)
			conn_queue(c, "\r\n", 2, NULL);
		else
			conn_queue(c, "Connection: close\r\n\r\n", 21, NULL);
		if (!head_only)
			conn_queue(c, e->body, e->body_len, NULL);
	} else {
		struct buf	 json, msg;

		w->n_missed++;
		buf_init(&json);
		buf_init(&msg);
		match_explain_miss(r->index, &mr, &json, 3);
		buf_append_byte(&json, '\n');
		http_write_simple(&msg, 404, "application/json",
		    head_only ? NULL : json.data, head_only ? 0 : json.len,
		    !keep);
		buf_free(&json);
		conn_queue_buf(c, &msg);
	}
	if (!keep)
		c->closing = 1;
}

/*
 * Feeds the raw bytes received since the last call to the chunked decoder.
 * Returns 1 when the body is complete (c->ck_end is its end, the next
 * request follows it), 0 when more is needed, -1 after rejecting.
 */
static int
conn_chunked(struct conn *c, size_t body_start, size_t raw_end)
{
	enum http_err	err = HTTP_E_NONE;
	size_t		len, erroff = 0;
	ssize_t		rest;

	if (!c->ck_active) {
		http_chunked_init(&c->ck);
		c->ck_active = 1;
		c->ck_end = body_start;
	}
	len = raw_end - c->ck_end;
	rest = http_chunked_decode(&c->ck, c->in.data + c->ck_end, &len, &err,
	    &erroff);
	if (rest == HTTP_ERROR) {
		conn_reject(c, 400, http_strerror(err), c->ck_end + erroff -
		    c->in_off);
		return -1;
	}
	/* The decoded bytes now sit at ck_end; drop the consumed raw ones. */
	if (rest == HTTP_PARTIAL) {
		c->ck_end += len;
		c->in.len = c->ck_end;
		if (c->ck_end - body_start > c->w->r->cfg.max_body) {
			conn_reject(c, 413, "chunked body too large", 0);
			return -1;
		}
		return 0;
	}
	c->ck_end += len;
	c->in.len = c->ck_end + (size_t)rest;
	if (c->ck_end - body_start > c->w->r->cfg.max_body) {
		conn_reject(c, 413, "chunked body too large", 0);
		return -1;
	}
	return 1;
}

static void
conn_process(struct conn *c)
{
	struct worker	*w = c->w;
	struct responder *r = w->r;
	struct http_msg	*m = &w->msg;
	enum http_err	 err;
	size_t		 erroff, avail, body_start, end;
	ssize_t		 n;
	int		 st;

	while (!c->closing && !c->dead && c->out_bytes < RESPOND_OUT_HIGH) {
		if (c->in_off > 0 && !c->ck_active) {
			buf_consume(&c->in, c->in_off);
			c->in_off = 0;
		}
		avail = c->in.len - c->in_off;
		if (avail == 0) {
			c->in_head = 0;
			break;
		}
		if (!c->in_head) {
			c->in_head = 1;
			c->deadline = loop_now(w->loop) +
			    r->cfg.header_timeout_ns;
		}
		err = HTTP_E_NONE;
		erroff = 0;
		n = http_parse_request(c->in.data + c->in_off,
		    c->ck_active ? c->ck_end - c->in_off : avail,
		    r->cfg.max_head, m, &err, &erroff);
		if (n == HTTP_PARTIAL)
			break;
		if (n == HTTP_ERROR) {
			conn_reject(c, respond_error_status(err),
			    http_strerror(err), erroff);
			break;
		}
		body_start = c->in_off + (size_t)n;
		switch (m->framing) {
		case HTTP_FRAME_LENGTH:
			if (m->content_length > r->cfg.max_body) {
				conn_reject(c, 413, "body too large", 0);
				return;
			}
			end = body_start + (size_t)m->content_length;
			if (c->in.len < end) {
				if (m->expect_continue && !c->sent_continue) {
					c->sent_continue = 1;
					conn_queue(c, "HTTP/1.1 100 Continue\r\n\r\n",
					    25, NULL);
				}
				/* The body is arriving: keep it moving. */
				c->deadline = loop_now(w->loop) +
				    r->cfg.header_timeout_ns;
				return;
			}
			break;
		case HTTP_FRAME_CHUNKED:
			if (m->expect_continue && !c->sent_continue) {
				c->sent_continue = 1;
				conn_queue(c, "HTTP/1.1 100 Continue\r\n\r\n", 25,
				    NULL);
			}
			st = conn_chunked(c, body_start, c->in.len);
			if (st == -1)
				return;
			if (st == 0) {
				c->deadline = loop_now(w->loop) +
				    r->cfg.header_timeout_ns;
				return;
			}
			end = c->ck_end;
			break;
		default:
			end = body_start;
			break;
		}
		conn_reply(c, m, c->in.data + body_start, end - body_start);
		c->in_off = end;
		c->ck_active = 0;
		c->sent_continue = 0;
		c->in_head = 0;
		c->deadline = loop_now(w->loop) + r->cfg.idle_timeout_ns;
	}
}

static void
conn_update_events(struct conn *c)
{
	uint32_t	ev = 0;

	if (c->dead)
		return;
	if (c->out_first < c->nout)
		ev |= EPOLLOUT;
	if (!c->closing && c->out_bytes < RESPOND_OUT_HIGH)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (loop_io_mod(c->w->loop, &c->io, ev) == -1)
		conn_close(c);
}

static void
conn_flush(struct conn *c)
{
	struct iovec	 iov[RESPOND_MAX_IOV];
	size_t		 i, n;
	ssize_t		 wr;

	while (c->out_first < c->nout) {
		for (n = 0, i = c->out_first; i < c->nout &&
		    n < RESPOND_MAX_IOV; i++, n++) {
			iov[n].iov_base = (void *)c->out[i].p;
			iov[n].iov_len = c->out[i].len;
		}
		wr = writev(c->fd, iov, (int)n);
		if (wr == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			log_debug("%s: write: %s", c->peer, strerror(errno));
			conn_close(c);
			return;
		}
		c->out_bytes -= (size_t)wr;
		while (wr > 0) {
			struct out_item *o = &c->out[c->out_first];

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
	if (c->out_first == c->nout) {
		c->out_first = c->nout = 0;
		if (c->closing) {
			conn_finish(c);
			return;
		}
	}
	conn_update_events(c);
}

static void
conn_read_cb(struct loop_io *io, uint32_t events)
{
	struct conn	*c = io->arg;
	ssize_t		 n;
	char		 sink[4096];

	if (c->dead)
		return;
	if (c->lingering) {
		n = read(c->fd, sink, sizeof sink);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			conn_close(c);
		return;
	}
	if (events & EPOLLOUT)
		conn_flush(c);
	if (c->dead)
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		if (c->closing || c->out_bytes >= RESPOND_OUT_HIGH) {
			conn_update_events(c);
			return;
		}
		buf_reserve(&c->in, RESPOND_READ_CHUNK);
		n = read(c->fd, c->in.data + c->in.len,
		    c->in.cap - c->in.len - 1);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			log_debug("%s: read: %s", c->peer, strerror(errno));
			conn_close(c);
			return;
		}
		if (n == 0) {
			/* Peer is done sending: answer what is complete. */
			conn_process(c);
			if (c->in_head && !c->closing)
				log_info("%s: closed mid-request", c->peer);
			c->closing = 1;
			c->in_head = 0;
			c->in_off = c->in.len;
			if (c->out_first == c->nout)
				conn_close(c);
			else
				conn_flush(c);
			return;
		}
		c->in.len += (size_t)n;
		c->in.data[c->in.len] = '\0';
		conn_process(c);
		conn_flush(c);
	}
}

static void
listener_cb(struct loop_io *io, uint32_t events)
{
	struct listener		*l = io->arg;
	struct worker		*w = l->w;
	struct sock_addr	 peer;
	struct conn		*c;
	int			 fd, one = 1;

	for (;;) {
		peer.len = sizeof peer.ss;
		fd = accept4(io->fd, (struct sockaddr *)&peer.ss, &peer.len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c = xcalloc(1, sizeof *c);
		c->w = w;
		c->fd = fd;
		sock_addr_str(&peer, c->peer, sizeof c->peer);
		buf_init(&c->in);
		loop_defer_init(&c->reap, conn_reap_cb, c);
		c->deadline = loop_now(w->loop) + w->r->cfg.header_timeout_ns;
		if (loop_io_add(w->loop, &c->io, fd, EPOLLIN | EPOLLRDHUP,
		    conn_read_cb, c) == -1) {
			log_warn("epoll_ctl: %s", strerror(errno));
			close(fd);
			free(c);
			continue;
		}
		TAILQ_INSERT_TAIL(&w->conns, c, entry);
		w->nconns++;
	}
}

/* Enforces the header, body, idle and linger deadlines. */
static void
worker_sweep_cb(struct loop_timer *t)
{
	struct worker	*w = t->arg;
	struct conn	*c, *next;
	uint64_t	 now = loop_now(w->loop);

	TAILQ_FOREACH_SAFE(c, &w->conns, entry, next) {
		if (c->deadline == 0 || now < c->deadline)
			continue;
		if (c->lingering || c->closing || !c->in_head) {
			conn_close(c);
			continue;
		}
		c->deadline = 0;
		conn_reject(c, 408, "request not complete in time",
		    c->in.len - c->in_off);
		conn_flush(c);
	}
	loop_timer_add(w->loop, t, RESPOND_SWEEP_NS);
}

static void
worker_drain_timeout_cb(struct loop_timer *t)
{
	struct worker	*w = t->arg;

	loop_stop(w->loop);
}

static void *
worker_main(void *arg)
{
	struct worker		*w = arg;
	struct conn		*c, *next;
	struct loop_timer	 drain;
	size_t			 i;

	loop_timer_add(w->loop, &w->sweep, RESPOND_SWEEP_NS);
	if (loop_run(w->loop) == -1)
		log_error("worker %zu: event loop failed", w->id);

	/* Drain: no new connections, idle ones closed, busy ones finish. */
	w->draining = 1;
	for (i = 0; i < w->nlisteners; i++) {
		loop_io_del(w->loop, &w->listeners[i].io);
		close(w->listeners[i].io.fd);
		w->listeners[i].io.fd = -1;
	}
	TAILQ_FOREACH_SAFE(c, &w->conns, entry, next) {
		if (!c->in_head && c->out_first == c->nout)
			conn_close(c);
		else
			c->closing = 1;
	}
	if (w->nconns > 0) {
		loop_timer_init(&drain, worker_drain_timeout_cb, w);
		loop_timer_add(w->loop, &drain, RESPOND_DRAIN_NS);
		loop_run(w->loop);
		loop_timer_del(w->loop, &drain);
	}
	TAILQ_FOREACH_SAFE(c, &w->conns, entry, next)
		conn_close(c);
	loop_timer_del(w->loop, &w->sweep);
	/* Run the reapers queued by the closes above. */
	loop_stop(w->loop);
	loop_run(w->loop);
	return NULL;
}

/* --- set-up ----------------------------------------------------------- */

static struct match_index *
respond_load(const char *path, char **cause)
{
	struct snap_reader	*sr;
	struct match_index	*idx;
	struct snap_txn		 t;
	char			*why;
	size_t			 skipped = 0;
	int			 rv;

	if ((sr = snap_reader_open(path, cause)) == NULL)
		return NULL;
	idx = match_index_create();
	while ((rv = snap_reader_next(sr, &t, cause)) == 1) {
		if (t.dir == SNAP_DIR_OUT) {
			why = NULL;
			if (match_index_add(idx, &t, &why) == -1) {
				log_warn("%s:%zu: skipped: %s", path, t.line,
				    why);
				free(why);
				skipped++;
			}
		}
		snap_txn_free(&t);
	}
	snap_reader_close(sr);
	if (rv == -1) {
		match_index_free(idx);
		return NULL;
	}
	match_index_finish(idx);
	if (skipped > 0)
		log_warn("%s: %zu transactions skipped", path, skipped);
	return idx;
}

static int
respond_write_port_file(const char *path, int port, char **cause)
{
	char	*tmp, line[16];
	int	 fd, len;

	tmp = xasprintf("%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	len = snprintf(line, sizeof line, "%d\n", port);
	if (fd == -1 || write(fd, line, (size_t)len) != len ||
	    close(fd) == -1 || rename(tmp, path) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		if (fd != -1)
			unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

struct responder *
respond_create(const struct respond_config *cfg, char **cause)
{
	struct responder	*r;
	struct sock_addr	 addr, bound;
	struct worker		*w;
	size_t			 i, j;
	long			 ncpu;
	char			 name[64];
	int			 fd;

	if (cfg->nlisten == 0) {
		*cause = xstrdup("no listen address");
		return NULL;
	}
	r = xcalloc(1, sizeof *r);
	r->cfg = *cfg;
	/* The copy owns nothing: duplicate the strings it points at. */
	r->cfg.snapshot = xstrdup(cfg->snapshot);
	r->cfg.port_file = cfg->port_file ? xstrdup(cfg->port_file) : NULL;
	r->cfg.listen = xcalloc(cfg->nlisten, sizeof *r->cfg.listen);
	for (i = 0; i < cfg->nlisten; i++)
		r->cfg.listen[i] = xstrdup(cfg->listen[i]);

	if ((r->index = respond_load(cfg->snapshot, cause)) == NULL)
		goto fail;

	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	r->nworkers = cfg->workers > 0 ? (size_t)cfg->workers :
	    (ncpu > 0 ? (size_t)ncpu : 1);
	r->workers = xcalloc(r->nworkers, sizeof *r->workers);
	r->ports = xcalloc(cfg->nlisten, sizeof *r->ports);
	for (i = 0; i < r->nworkers; i++) {
		w = &r->workers[i];
		w->r = r;
		w->id = i;
		TAILQ_INIT(&w->conns);
		buf_init(&w->scratch);
		loop_timer_init(&w->sweep, worker_sweep_cb, w);
		if ((w->loop = loop_create(cause)) == NULL)
			goto fail;
		w->listeners = xcalloc(cfg->nlisten, sizeof *w->listeners);
	}
	for (j = 0; j < cfg->nlisten; j++) {
		if (sock_parse_addr(cfg->listen[j], &addr, cause) == -1)
			goto fail;
		for (i = 0; i < r->nworkers; i++) {
			w = &r->workers[i];
			if ((fd = sock_listen(&addr, 1, cause)) == -1)
				goto fail;
			if (i == 0) {
				/* Port 0: the others bind the port it got. */
				if (sock_local_addr(fd, &bound) == -1) {
					*cause = xasprintf("getsockname: %s",
					    strerror(errno));
					close(fd);
					goto fail;
				}
				r->ports[j] = sock_addr_port(&bound);
				sock_addr_set_port(&addr, r->ports[j]);
				log_info("listening on %s",
				    sock_addr_str(&bound, name, sizeof name));
			}
			w->listeners[j].w = w;
			if (loop_io_add(w->loop, &w->listeners[j].io, fd,
			    EPOLLIN, listener_cb, &w->listeners[j]) == -1) {
				*cause = xasprintf("epoll_ctl: %s",
				    strerror(errno));
				close(fd);
				goto fail;
			}
			w->nlisteners++;
		}
	}
	if (cfg->port_file != NULL &&
	    respond_write_port_file(cfg->port_file, r->ports[0], cause) == -1)
		goto fail;
	return r;

fail:
	respond_free(r);
	return NULL;
}

int
respond_check(const struct respond_config *cfg, char **cause)
{
	struct match_index	*idx;
	struct sock_addr	 addr;
	size_t			 i;

	for (i = 0; i < cfg->nlisten; i++) {
		if (sock_parse_addr(cfg->listen[i], &addr, cause) == -1)
			return -1;
	}
	if ((idx = respond_load(cfg->snapshot, cause)) == NULL)
		return -1;
	log_info("%s: %zu recorded transactions to serve", cfg->snapshot,
	    match_index_count(idx));
	match_index_free(idx);
	return 0;
}

int
respond_port(const struct responder *r, size_t n)
{
	return n < r->cfg.nlisten ? r->ports[n] : -1;
}

size_t
respond_count(const struct responder *r)
{
	return match_index_count(r->index);
}

int
respond_run(struct responder *r)
{
	sigset_t	 set, old;
	size_t		 i, started = 0;
	uint64_t	 req = 0, hit = 0, closest = 0, miss = 0, bad = 0;
	int		 sig, error;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Workers inherit the mask: only this thread takes the signals. */
	pthread_sigmask(SIG_BLOCK, &set, &old);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < r->nworkers; i++) {
		error = pthread_create(&r->workers[i].thread, NULL, worker_main,
		    &r->workers[i]);
		if (error != 0) {
			log_error("pthread_create: %s", strerror(error));
			break;
		}
		started++;
	}
	if (started == r->nworkers) {
		log_info("serving %zu recorded transactions with %zu workers",
		    match_index_count(r->index), r->nworkers);
		for (;;) {
			if (sigwait(&set, &sig) != 0)
				continue;
			if (sig == SIGHUP) {
				log_info("SIGHUP: reload is not supported yet; "
				    "ignored");
				continue;
			}
			log_info("%s: draining", sig == SIGINT ? "SIGINT" :
			    "SIGTERM");
			break;
		}
	}
	for (i = 0; i < started; i++)
		loop_stop(r->workers[i].loop);
	for (i = 0; i < started; i++) {
		pthread_join(r->workers[i].thread, NULL);
		req += r->workers[i].n_requests;
		hit += r->workers[i].n_matched;
		closest += r->workers[i].n_closest;
		miss += r->workers[i].n_missed;
		bad += r->workers[i].n_bad;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	log_info("%llu requests: %llu matched, %llu closest, %llu unmatched, "
	    "%llu rejected", (unsigned long long)req, (unsigned long long)hit,
	    (unsigned long long)closest, (unsigned long long)miss,
	    (unsigned long long)bad);
	return started == r->nworkers ? 0 : -1;
}

void
respond_free(struct responder *r)
{
	struct worker	*w;
	size_t		 i, j;

	if (r == NULL)
		return;
	for (i = 0; r->workers != NULL && i < r->nworkers; i++) {
		w = &r->workers[i];
		for (j = 0; j < w->nlisteners; j++) {
			if (w->listeners[j].io.fd != -1) {
				if (w->loop != NULL)
					loop_io_del(w->loop,
					    &w->listeners[j].io);
				close(w->listeners[j].io.fd);
			}
		}
		free(w->listeners);
		buf_free(&w->scratch);
		loop_free(w->loop);
	}
	free(r->workers);
	free(r->ports);
	match_index_free(r->index);
	respond_config_free(&r->cfg);
	free(r);
}
