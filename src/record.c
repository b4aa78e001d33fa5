/*
 * record.c -- the recorder: a single-threaded epoll reverse proxy that
 * relays HTTP/1.1 exchanges to one upstream and appends each one to a
 * snapshot (see record.h for the contract).
 *
 * A connection pairs a client side and an upstream side; each side is a
 * socket (plain or TLS) with an input and an output buffer, pumped on every
 * event: write what is pending, then read what is there.  TLS wants are
 * handled by simply retrying both directions on every event, with EPOLLOUT
 * asked for while output is pending or the TLS engine wants to write.
 * Messages are buffered whole (the body of a request is read before it is
 * forwarded, the body of a response before it is relayed).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/epoll.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "record.h"
#include "snap.h"
#include "sock.h"
#include "xmalloc.h"

#define REC_READ_CHUNK		(64 * 1024)
/* Messages are buffered whole; past this a peer is refused. */
#define REC_MAX_MESSAGE		((size_t)1 << 30)

/* The snapshot writer: whole lines with write(2), fsync off the loop. */
struct rec_writer {
	int			 fd;
	enum record_fsync	 policy;
	pthread_t		 thread;
	int			 started;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	int			 dirty;
	int			 stop;
};

struct rec_conn;

struct rec_side {
	struct rec_conn	*c;
	int		 fd;
	SSL		*ssl;
	struct loop_io	 io;
	int		 handshaking;
	int		 connecting;
	int		 eof;
	int		 ssl_want_out;
	struct buf	 in;
	struct buf	 out;
};

enum rec_state {
	REC_S_REQ_HEAD,		/* reading a request head */
	REC_S_REQ_BODY,		/* reading its body */
	REC_S_UPSTREAM,		/* forwarded; reading the response */
	REC_S_CLOSING,		/* flushing the last answer, then closing */
};

struct rec_conn {
	struct recorder		*r;
	struct rec_conn		*next, *prev;
	struct rec_side		 cl;
	struct rec_side		 up;
	int			 up_open;	/* up.fd is a live connection */
	int			 up_reused;	/* it carried a request before */
	int			 retried;
	enum rec_state		 state;
	char			 client[64];
	struct loop_timer	 timer;
	struct loop_defer	 reap;
	int			 dead;

	/* The exchange in flight. */
	struct snap_txn		 t;
	enum http_framing	 req_framing;
	uint64_t		 req_cl;
	int			 req_keep_alive;
	int			 req_head;	/* HEAD: response has no body */
	struct http_chunked	 ck;
	struct buf		 body;		/* decoded body so far */
	struct buf		 fwd;		/* the request as forwarded */
	size_t			 req_len;	/* its body's size */
	int			 res_head_done;
	enum http_framing	 res_framing;
	uint64_t		 res_cl;
	int			 res_keep_alive;
	uint64_t		 start_mono, ttfb_mono;
	int64_t			 start_us;
};

struct recorder {
	struct record_config	 cfg;
	struct loop		*loop;
	int			 lfd;
	struct loop_io		 lio;
	struct sock_addr	 up_addr;
	char			*up_hostport;	/* Host header value */
	char			*up_name;	/* host alone (SNI, svc) */
	int			 up_tls;
	int			 up_ip;
	SSL_CTX			*up_ctx;
	struct record_redact	*redact;
	struct rec_writer	 w;
	struct loop_timer	 sync_timer;
	struct rec_conn		*conns;
	uint64_t		 seq;
	uint64_t		 ntxn, nerr;
};

static struct recorder	*rec_signal_target;

static void	rec_side_io(struct loop_io *, uint32_t);
static void	rec_conn_progress(struct rec_conn *);
static void	rec_conn_close(struct rec_conn *);

void
record_config_init(struct record_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->dir = SNAP_DIR_OUT;
	cfg->fsync = RECORD_FSYNC_1S;
	cfg->max_body = (size_t)64 << 20;
	cfg->max_head = HTTP_DEFAULT_MAX_HEAD;
	cfg->upstream_timeout_ns = 30ULL * 1000000000ULL;
}

void
record_config_free(struct record_config *cfg)
{
	size_t	i;

	free(cfg->upstream);
	free(cfg->listen);
	free(cfg->output);
	free(cfg->port_file);
	free(cfg->upstream_ca);
	for (i = 0; i < cfg->nredact; i++)
		free(cfg->redact[i]);
	free(cfg->redact);
	memset(cfg, 0, sizeof *cfg);
}

void
record_config_add_redact(struct record_config *cfg, const char *spec)
{
	cfg->redact = xreallocarray(cfg->redact, cfg->nredact + 1,
	    sizeof *cfg->redact);
	cfg->redact[cfg->nredact++] = xstrdup(spec);
}

int
record_parse_fsync(const char *s, enum record_fsync *f)
{
	if (strcmp(s, "never") == 0)
		*f = RECORD_FSYNC_NEVER;
	else if (strcmp(s, "txn") == 0)
		*f = RECORD_FSYNC_TXN;
	else if (strcmp(s, "1s") == 0)
		*f = RECORD_FSYNC_1S;
	else
		return -1;
	return 0;
}

/* ---- the snapshot writer ------------------------------------------- */

static void *
rec_writer_main(void *arg)
{
	struct rec_writer	*w = arg;

	pthread_mutex_lock(&w->mtx);
	for (;;) {
		while (!w->dirty && !w->stop)
			pthread_cond_wait(&w->cond, &w->mtx);
		if (!w->dirty && w->stop)
			break;
		w->dirty = 0;
		pthread_mutex_unlock(&w->mtx);
		if (fdatasync(w->fd) == -1 && errno != EINVAL)
			log_warn("snapshot: fdatasync: %s", strerror(errno));
		pthread_mutex_lock(&w->mtx);
	}
	pthread_mutex_unlock(&w->mtx);
	return NULL;
}

static int
rec_writer_open(struct rec_writer *w, const char *path, int append,
    enum record_fsync policy, char **cause)
{
	int	flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC;

	memset(w, 0, sizeof *w);
	w->policy = policy;
	if (strcmp(path, "-") == 0)
		w->fd = STDOUT_FILENO;
	else if ((w->fd = open(path, flags | (append ? 0 : O_TRUNC),
	    0644)) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	pthread_mutex_init(&w->mtx, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (policy != RECORD_FSYNC_NEVER) {
		if (pthread_create(&w->thread, NULL, rec_writer_main, w) != 0)
			fatalx("cannot start the snapshot sync thread");
		w->started = 1;
	}
	return 0;
}

static void
rec_writer_sync(struct rec_writer *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->mtx);
	w->dirty = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mtx);
}

/*
 * Writes one whole line.  A regular file takes it in one write(2); should
 * the write come back short (a full disk, a signal), the rest is finished
 * here before anything else is written, so lines never interleave.
 */
static int
rec_writer_line(struct rec_writer *w, const char *line, size_t len)
{
	ssize_t	n;
	size_t	off = 0;
	int	tries = 0;

	while (off < len) {
		n = write(w->fd, line + off, len - off);
		if (n == -1) {
			if ((errno == EINTR || errno == EAGAIN) &&
			    ++tries < 1000)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	if (w->policy == RECORD_FSYNC_TXN)
		rec_writer_sync(w);
	return 0;
}

static void
rec_writer_close(struct rec_writer *w)
{
	if (w->started) {
		pthread_mutex_lock(&w->mtx);
		w->dirty = 1;
		w->stop = 1;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->mtx);
		pthread_join(w->thread, NULL);
	}
	if (w->fd != -1 && w->fd != STDOUT_FILENO)
		close(w->fd);
	w->fd = -1;
	pthread_mutex_destroy(&w->mtx);
	pthread_cond_destroy(&w->cond);
}

static void
rec_sync_fire(struct loop_timer *t)
{
	struct recorder	*r = t->arg;

	rec_writer_sync(&r->w);
	loop_timer_add(r->loop, &r->sync_timer, 1000000000ULL);
}

/* ---- set-up ---------------------------------------------------------- */

static int
rec_parse_upstream(struct recorder *r, const char *url, char **cause)
{
	const char	*s, *slash, *end;
	char		*addr;
	size_t		 n;
	int		 port;
	unsigned char	 ip[sizeof(struct in6_addr)];

	if (strncmp(url, "http://", 7) == 0) {
		s = url + 7;
		port = 80;
	} else if (strncmp(url, "https://", 8) == 0) {
		r->up_tls = 1;
		s = url + 8;
		port = 443;
	} else {
		*cause = xasprintf("upstream %s: expected http://HOST[:PORT] "
		    "or https://HOST[:PORT]", url);
		return -1;
	}
	slash = strchr(s, '/');
	n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (n == 0) {
		*cause = xasprintf("upstream %s: no host", url);
		return -1;
	}
	if (slash != NULL && slash[1] != '\0') {
		*cause = xasprintf("upstream %s: a path prefix is not "
		    "supported", url);
		return -1;
	}
	r->up_hostport = xstrndup(s, n);
	if (r->up_hostport[0] == '[') {
		end = strchr(r->up_hostport, ']');
		r->up_name = end != NULL ? xstrndup(r->up_hostport + 1,
		    (size_t)(end - r->up_hostport - 1)) :
		    xstrdup(r->up_hostport + 1);
	} else if ((end = strrchr(r->up_hostport, ':')) != NULL)
		r->up_name = xstrndup(r->up_hostport,
		    (size_t)(end - r->up_hostport));
	else
		r->up_name = xstrdup(r->up_hostport);
	if (strrchr(r->up_hostport, ':') == NULL ||
	    (r->up_hostport[0] == '[' && r->up_hostport[n - 1] == ']'))
		addr = xasprintf("%s:%d", r->up_hostport, port);
	else
		addr = xstrdup(r->up_hostport);
	if (sock_parse_addr(addr, &r->up_addr, cause) == -1) {
		free(addr);
		return -1;
	}
	free(addr);
	r->up_ip = inet_pton(AF_INET, r->up_name, ip) == 1 ||
	    inet_pton(AF_INET6, r->up_name, ip) == 1;
	return 0;
}

/* The client context for https upstreams: TLS 1.2+, verified against
 * --upstream-ca or the system CAs unless --insecure. */
static int
rec_tls_init(struct recorder *r, char **cause)
{
	char	e[256];

	ERR_clear_error();
	if ((r->up_ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(r->up_ctx, TLS1_2_VERSION) != 1)
		goto fail;
	SSL_CTX_set_mode(r->up_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(r->up_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (r->cfg.insecure) {
		SSL_CTX_set_verify(r->up_ctx, SSL_VERIFY_NONE, NULL);
		return 0;
	}
	SSL_CTX_set_verify(r->up_ctx, SSL_VERIFY_PEER, NULL);
	if (r->cfg.upstream_ca != NULL) {
		if (SSL_CTX_load_verify_locations(r->up_ctx,
		    r->cfg.upstream_ca, NULL) != 1) {
			ERR_error_string_n(ERR_get_error(), e, sizeof e);
			*cause = xasprintf("CA file %s: %s",
			    r->cfg.upstream_ca, e);
			ERR_clear_error();
			return -1;
		}
	} else if (SSL_CTX_set_default_verify_paths(r->up_ctx) != 1)
		goto fail;
	return 0;

fail:
	ERR_error_string_n(ERR_get_error(), e, sizeof e);
	*cause = xasprintf("TLS set-up: %s", e);
	ERR_clear_error();
	return -1;
}

static void	rec_accept(struct loop_io *, uint32_t);

struct recorder *
record_create(const struct record_config *cfg, char **cause)
{
	struct recorder		*r;
	struct sock_addr	 la;
	size_t			 i;

	r = xcalloc(1, sizeof *r);
	r->cfg = *cfg;
	r->cfg.upstream = xstrdup(cfg->upstream);
	r->cfg.listen = xstrdup(cfg->listen);
	r->cfg.output = xstrdup(cfg->output);
	r->cfg.port_file = cfg->port_file ? xstrdup(cfg->port_file) : NULL;
	r->cfg.upstream_ca = cfg->upstream_ca ? xstrdup(cfg->upstream_ca) :
	    NULL;
	r->cfg.redact = xcalloc(cfg->nredact + 1, sizeof *r->cfg.redact);
	for (i = 0; i < cfg->nredact; i++)
		r->cfg.redact[i] = xstrdup(cfg->redact[i]);
	r->lfd = -1;
	r->w.fd = -1;
	if (rec_parse_upstream(r, cfg->upstream, cause) == -1)
		goto fail;
	if (r->up_tls && rec_tls_init(r, cause) == -1)
		goto fail;
	if (cfg->nredact > 0 && (r->redact = record_redact_create(cfg->redact,
	    cfg->nredact, cause)) == NULL)
		goto fail;
	if ((r->loop = loop_create(cause)) == NULL)
		goto fail;
	if (sock_parse_addr(cfg->listen, &la, cause) == -1)
		goto fail;
	if ((r->lfd = sock_listen(&la, 0, cause)) == -1)
		goto fail;
	if (rec_writer_open(&r->w, cfg->output, cfg->append, cfg->fsync,
	    cause) == -1)
		goto fail;
	if (loop_io_add(r->loop, &r->lio, r->lfd, EPOLLIN, rec_accept,
	    r) == -1) {
		*cause = xasprintf("epoll: %s", strerror(errno));
		goto fail;
	}
	loop_timer_init(&r->sync_timer, rec_sync_fire, r);
	if (cfg->fsync == RECORD_FSYNC_1S)
		loop_timer_add(r->loop, &r->sync_timer, 1000000000ULL);
	if (cfg->port_file != NULL) {
		sock_local_addr(r->lfd, &la);
		if (sock_write_port_file(cfg->port_file, sock_addr_port(&la),
		    cause) == -1)
			goto fail;
	}
	return r;

fail:
	record_free(r);
	return NULL;
}

/* ---- sides ----------------------------------------------------------- */

static void
rec_side_init(struct rec_conn *c, struct rec_side *s)
{
	memset(s, 0, sizeof *s);
	s->c = c;
	s->fd = -1;
	buf_init(&s->in);
	buf_init(&s->out);
}

static void
rec_side_close(struct recorder *r, struct rec_side *s)
{
	if (s->fd == -1)
		return;
	loop_io_del(r->loop, &s->io);
	if (s->ssl != NULL) {
		if (!s->handshaking && !s->eof)
			SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	close(s->fd);
	s->fd = -1;
	s->handshaking = s->connecting = s->eof = s->ssl_want_out = 0;
	buf_reset(&s->in);
	buf_reset(&s->out);
}

static void
rec_side_events(struct recorder *r, struct rec_side *s)
{
	uint32_t	ev = EPOLLIN;

	if (s->fd == -1)
		return;
	if (s->connecting || s->out.len > 0 || s->ssl_want_out)
		ev |= EPOLLOUT;
	if (ev != s->io.events)
		loop_io_mod(r->loop, &s->io, ev);
}

/* Writes pending output: 0, or -1 with errno (or EPROTO for TLS). */
static int
rec_side_flush(struct rec_side *s)
{
	ssize_t	n;
	int	m, len;

	while (s->out.len > 0) {
		if (s->ssl != NULL) {
			len = s->out.len > INT_MAX ? INT_MAX : (int)s->out.len;
			ERR_clear_error();
			m = SSL_write(s->ssl, s->out.data, len);
			if (m > 0) {
				buf_consume(&s->out, (size_t)m);
				continue;
			}
			switch (SSL_get_error(s->ssl, m)) {
			case SSL_ERROR_WANT_WRITE:
				s->ssl_want_out = 1;
				return 0;
			case SSL_ERROR_WANT_READ:
				return 0;
			default:
				errno = EPROTO;
				return -1;
			}
		}
		n = write(s->fd, s->out.data, s->out.len);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return 0;
			return -1;
		}
		buf_consume(&s->out, (size_t)n);
	}
	return 0;
}

/* Reads what there is: 0 (s->eof set at the end), or -1 with errno. */
static int
rec_side_read(struct rec_side *s)
{
	ssize_t	n;
	size_t	space;
	int	m;

	for (;;) {
		if (s->in.len > REC_MAX_MESSAGE) {
			errno = EMSGSIZE;
			return -1;
		}
		buf_reserve(&s->in, REC_READ_CHUNK);
		space = s->in.cap - s->in.len - 1;
		if (s->ssl != NULL) {
			ERR_clear_error();
			m = SSL_read(s->ssl, s->in.data + s->in.len,
			    space > INT_MAX ? INT_MAX : (int)space);
			if (m > 0) {
				s->in.len += (size_t)m;
				continue;
			}
			switch (SSL_get_error(s->ssl, m)) {
			case SSL_ERROR_WANT_READ:
				return 0;
			case SSL_ERROR_WANT_WRITE:
				s->ssl_want_out = 1;
				return 0;
			case SSL_ERROR_ZERO_RETURN:
				s->eof = 1;
				return 0;
			default:
				errno = errno != 0 ? errno : EPROTO;
				return -1;
			}
		}
		n = read(s->fd, s->in.data + s->in.len, space);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			s->eof = 1;
			return 0;
		}
		s->in.len += (size_t)n;
	}
}

/* ---- the exchange ---------------------------------------------------- */

static int64_t
rec_wall_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static char *
rec_iso8601(int64_t us)
{
	struct tm	tm;
	time_t		sec = (time_t)(us / 1000000);
	char		b[64];

	gmtime_r(&sec, &tm);
	strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
	return xasprintf("%s.%06dZ", b, (int)(us % 1000000));
}

static void
rec_headers_copy(const struct http_msg *m, struct snap_header **h,
    size_t *n)
{
	size_t	i;

	*h = xcalloc(m->nheaders + 1, sizeof **h);
	for (i = 0; i < m->nheaders; i++) {
		(*h)[i].name = span_dup(m->headers[i].name);
		(*h)[i].value = span_dup(m->headers[i].value);
	}
	*n = m->nheaders;
}

static int
rec_is_hop(const char *name)
{
	static const char *const hop[] = { "Connection", "Keep-Alive",
	    "Proxy-Connection", "Transfer-Encoding", "Content-Length", "TE",
	    "Trailer", "Upgrade", "Expect", "Proxy-Authorization" };
	size_t	i;

	for (i = 0; i < sizeof hop / sizeof hop[0]; i++) {
		if (strcasecmp(name, hop[i]) == 0)
			return 1;
	}
	return 0;
}

/* Stores a copy of body[0..len) in *dst, at most max bytes of it. */
static void
rec_body_store(char **dst, size_t *dlen, const char *body, size_t len,
    size_t max)
{
	if (len > max)
		len = max;
	*dst = len > 0 ? xstrndup(body, len) : NULL;
	*dlen = len;
}

static void
rec_txn_reset(struct rec_conn *c)
{
	snap_txn_free(&c->t);
	snap_txn_init(&c->t);
	buf_reset(&c->body);
	buf_reset(&c->fwd);
	c->res_head_done = 0;
	c->retried = 0;
}

/* Redacts and appends c->t; the caller has filled it in. */
static void
rec_txn_write(struct rec_conn *c, size_t req_len, size_t res_len,
    const char *error)
{
	struct recorder	*r = c->r;
	struct snap_txn	*t = &c->t;
	struct buf	 line, extra;
	uint64_t	 now = loop_now_update(r->loop);

	t->id = xasprintf("t-%06llu", (unsigned long long)++r->seq);
	t->ts = rec_iso8601(c->start_us);
	t->dir = r->cfg.dir;
	t->svc = xstrdup(r->up_name);
	t->proto = xstrdup("http/1.1");
	t->tls = r->up_tls;
	t->client = xstrdup(c->client);
	t->server = xasprintf("%s", r->up_hostport);
	t->req.host = xstrdup(r->up_hostport);
	t->start_us = c->start_us;
	t->ttfb_us = c->ttfb_mono ? (int64_t)(c->ttfb_mono - c->start_mono) /
	    1000 : -1;
	t->total_us = (int64_t)(now - c->start_mono) / 1000;
	buf_init(&extra);
	if (error != NULL) {
		buf_append_str(&extra, ",\"error\":");
		json_append_string(&extra, error, strlen(error));
	}
	if (req_len > r->cfg.max_body || res_len > r->cfg.max_body)
		buf_printf(&extra, ",\"truncated\":{\"req\":%zu,\"res\":%zu}",
		    req_len, res_len);
	if (extra.len > 0)
		t->extra = buf_detach(&extra, NULL);
	buf_free(&extra);
	if (r->redact != NULL) {
		record_redact_headers(r->redact, t->req.headers,
		    t->req.nheaders);
		record_redact_body(r->redact, &t->req.body, &t->req.body_len);
		if (t->has_res) {
			record_redact_headers(r->redact, t->res.headers,
			    t->res.nheaders);
			record_redact_body(r->redact, &t->res.body,
			    &t->res.body_len);
		}
	}
	buf_init(&line);
	snap_encode(&line, t);
	if (rec_writer_line(&r->w, line.data, line.len) == -1)
		log_error("snapshot %s: write: %s (transaction %s lost)",
		    r->cfg.output, strerror(errno), t->id);
	buf_free(&line);
	r->ntxn++;
	if (error != NULL)
		r->nerr++;
}

/* Answers the client with status and a JSON error body, records the
 * failure, and drops the upstream connection. */
static void
rec_upstream_fail(struct rec_conn *c, int status, const char *what)
{
	struct recorder	*r = c->r;
	struct buf	 body;

	loop_timer_del(r->loop, &c->timer);
	log_warn("%s %s: upstream %s: %s", c->t.req.method, c->t.req.target,
	    r->up_hostport, what);
	rec_txn_write(c, c->req_len, 0, what);
	rec_side_close(r, &c->up);
	c->up_open = 0;
	buf_init(&body);
	buf_append_str(&body, "{\"error\":");
	json_append_string(&body, what, strlen(what));
	buf_append_str(&body, ",\"upstream\":");
	json_append_string(&body, r->up_hostport, strlen(r->up_hostport));
	buf_append_str(&body, ",\"by\":\"decoy record\"}\n");
	http_write_simple(&c->cl.out, status, "application/json", body.data,
	    body.len, !c->req_keep_alive);
	buf_free(&body);
	rec_txn_reset(c);
	c->state = c->req_keep_alive ? REC_S_REQ_HEAD : REC_S_CLOSING;
}

static void
rec_timeout(struct loop_timer *t)
{
	struct rec_conn	*c = t->arg;
	char		 what[96];

	if (c->state != REC_S_UPSTREAM)
		return;
	snprintf(what, sizeof what, "timeout: no complete response within "
	    "%llums", (unsigned long long)(c->r->cfg.upstream_timeout_ns /
	    1000000));
	rec_upstream_fail(c, 504, what);
	rec_conn_progress(c);
}

static void
rec_upstream_connect(struct rec_conn *c)
{
	struct recorder	*r = c->r;
	char		 what[160];
	int		 fd, one = 1;

	fd = socket(r->up_addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(what, sizeof what, "socket: %s", strerror(errno));
		rec_upstream_fail(c, 502, what);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&r->up_addr.ss, r->up_addr.len) ==
	    -1 && errno != EINPROGRESS) {
		snprintf(what, sizeof what, "connect: %s", strerror(errno));
		close(fd);
		rec_upstream_fail(c, 502, what);
		return;
	}
	c->up.fd = fd;
	c->up.connecting = 1;
	c->up_open = 1;
	c->up_reused = 0;
	loop_io_add(r->loop, &c->up.io, fd, EPOLLIN | EPOLLOUT, rec_side_io,
	    &c->up);
}

/* The upstream TCP connection is up: TLS, if wanted. */
static int
rec_upstream_tls_start(struct rec_conn *c)
{
	struct recorder	*r = c->r;
	struct rec_side	*s = &c->up;

	ERR_clear_error();
	if ((s->ssl = SSL_new(r->up_ctx)) == NULL ||
	    SSL_set_fd(s->ssl, s->fd) != 1)
		return -1;
	SSL_set_connect_state(s->ssl);
	if (!r->cfg.insecure) {
		if (r->up_ip) {
			if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(
			    s->ssl), r->up_name) != 1)
				return -1;
		} else if (SSL_set1_host(s->ssl, r->up_name) != 1)
			return -1;
	}
	if (!r->up_ip && SSL_set_tlsext_host_name(s->ssl, r->up_name) != 1)
		return -1;
	s->handshaking = 1;
	return 0;
}

static void
rec_tls_reason(struct rec_side *s, char *what, size_t len)
{
	long		vr;
	unsigned long	e;
	char		eb[200];

	vr = s->ssl != NULL ? SSL_get_verify_result(s->ssl) : X509_V_OK;
	if (vr != X509_V_OK)
		snprintf(what, len, "tls: certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
	else if ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, eb, sizeof eb);
		snprintf(what, len, "tls: %s", eb);
	} else
		snprintf(what, len, "tls: handshake failed");
	ERR_clear_error();
}

/* Builds the forwarded request from c->t.req and the decoded body. */
static void
rec_forward(struct rec_conn *c)
{
	struct recorder	*r = c->r;
	struct snap_req	*q = &c->t.req;
	size_t		 i;

	buf_reset(&c->fwd);
	http_write_request_line(&c->fwd, span_from_str(q->method),
	    span_from_str(q->target));
	http_write_header(&c->fwd, SPAN_LIT("Host"),
	    span_from_str(r->up_hostport));
	for (i = 0; i < q->nheaders; i++) {
		if (strcasecmp(q->headers[i].name, "Host") == 0 ||
		    rec_is_hop(q->headers[i].name))
			continue;
		http_write_header(&c->fwd, span_from_str(q->headers[i].name),
		    span_from_str(q->headers[i].value));
	}
	if (c->body.len > 0 || c->req_framing != HTTP_FRAME_NONE)
		buf_printf(&c->fwd, "Content-Length: %zu\r\n", c->body.len);
	buf_append_str(&c->fwd, "\r\n");
	buf_append(&c->fwd, c->body.data, c->body.len);
	/* c->body now collects the response. */
	rec_body_store(&q->body, &q->body_len, c->body.data, c->body.len,
	    r->cfg.max_body);
	c->req_len = c->body.len;
	buf_reset(&c->body);

	c->start_mono = loop_now_update(r->loop);
	c->start_us = rec_wall_us();
	c->ttfb_mono = 0;
	c->state = REC_S_UPSTREAM;
	c->res_head_done = 0;
	loop_timer_add(r->loop, &c->timer, r->cfg.upstream_timeout_ns);
	buf_reset(&c->up.in);
	buf_append(&c->up.out, c->fwd.data, c->fwd.len);
	if (!c->up_open)
		rec_upstream_connect(c);
	else
		c->up_reused = 1;
}

/* Parses the client's next request.  1: forwarded (or answered), 0: need
 * more bytes, -1: the connection is done. */
static int
rec_read_request(struct rec_conn *c)
{
	struct recorder	*r = c->r;
	struct rec_side	*s = &c->cl;
	struct http_msg	 m;
	enum http_err	 err;
	size_t		 erroff, len;
	ssize_t		 n, rest;
	char		 msg[128];

	if (c->state == REC_S_REQ_HEAD) {
		if (s->in.len == 0)
			return s->eof ? -1 : 0;
		n = http_parse_request(s->in.data, s->in.len, r->cfg.max_head,
		    &m, &err, &erroff);
		if (n == HTTP_PARTIAL)
			return s->eof ? -1 : 0;
		if (n == HTTP_ERROR) {
			snprintf(msg, sizeof msg, "bad request: %s\n",
			    http_strerror(err));
			http_write_simple(&s->out, 400, "text/plain", msg,
			    strlen(msg), 1);
			c->state = REC_S_CLOSING;
			return -1;
		}
		rec_txn_reset(c);
		c->t.req.method = span_dup(m.method);
		c->t.req.target = span_dup(m.target);
		rec_headers_copy(&m, &c->t.req.headers, &c->t.req.nheaders);
		c->req_framing = m.framing;
		c->req_cl = m.content_length;
		c->req_keep_alive = m.keep_alive;
		c->req_head = span_eq_str(m.method, "HEAD");
		if (m.framing == HTTP_FRAME_CHUNKED)
			http_chunked_init(&c->ck);
		if (m.expect_continue)
			buf_append_str(&s->out, "HTTP/1.1 100 Continue\r\n\r\n");
		buf_consume(&s->in, (size_t)n);
		c->state = REC_S_REQ_BODY;
	}
	switch (c->req_framing) {
	case HTTP_FRAME_LENGTH:
		if (c->req_cl > REC_MAX_MESSAGE)
			goto toolarge;
		if (s->in.len < c->req_cl)
			return s->eof ? -1 : 0;
		buf_append(&c->body, s->in.data, (size_t)c->req_cl);
		buf_consume(&s->in, (size_t)c->req_cl);
		break;
	case HTTP_FRAME_CHUNKED:
		if (s->in.len == 0)
			return s->eof ? -1 : 0;
		len = s->in.len;
		rest = http_chunked_decode(&c->ck, s->in.data, &len, &err,
		    &erroff);
		if (rest == HTTP_ERROR) {
			snprintf(msg, sizeof msg, "bad chunked body: %s\n",
			    http_strerror(err));
			http_write_simple(&s->out, 400, "text/plain", msg,
			    strlen(msg), 1);
			c->state = REC_S_CLOSING;
			return -1;
		}
		buf_append(&c->body, s->in.data, len);
		if (rest == HTTP_PARTIAL) {
			s->in.len = 0;
			if (c->body.len > REC_MAX_MESSAGE)
				goto toolarge;
			return s->eof ? -1 : 0;
		}
		memmove(s->in.data, s->in.data + len, (size_t)rest);
		s->in.len = (size_t)rest;
		break;
	default:
		break;
	}
	rec_forward(c);
	return 1;

toolarge:
	http_write_simple(&s->out, 413, "text/plain", "request too large\n",
	    18, 1);
	c->state = REC_S_CLOSING;
	return -1;
}

/* A response is complete in c->body (decoded): record it, relay it. */
static void
rec_response_done(struct rec_conn *c)
{
	struct recorder	*r = c->r;
	struct snap_res	*res = &c->t.res;
	struct rec_side	*o = &c->cl;
	size_t		 i, res_len;
	int		 nobody;
	char		*body;
	size_t		 body_len;

	loop_timer_del(r->loop, &c->timer);
	/* The relay, built before redaction touches the recorded copy. */
	http_write_status_line(&o->out, res->status, res->reason != NULL ?
	    span_from_str(res->reason) : SPAN_NULL);
	nobody = c->req_head || res->status == 204 || res->status == 304;
	for (i = 0; i < res->nheaders; i++) {
		if (rec_is_hop(res->headers[i].name) &&
		    !(nobody && strcasecmp(res->headers[i].name,
		    "Content-Length") == 0))
			continue;
		http_write_header(&o->out, span_from_str(res->headers[i].name),
		    span_from_str(res->headers[i].value));
	}
	if (!nobody)
		buf_printf(&o->out, "Content-Length: %zu\r\n", c->body.len);
	if (!c->req_keep_alive)
		buf_append_str(&o->out, "Connection: close\r\n");
	buf_append_str(&o->out, "\r\n");
	if (!nobody)
		buf_append(&o->out, c->body.data, c->body.len);

	/* The snapshot line goes out before the client sees the answer. */
	res_len = c->body.len;
	rec_body_store(&body, &body_len, c->body.data, c->body.len,
	    r->cfg.max_body);
	res->body = body;
	res->body_len = body_len;
	c->t.has_res = 1;
	rec_txn_write(c, c->req_len, res_len, NULL);
	if (!c->res_keep_alive || c->res_framing == HTTP_FRAME_EOF) {
		rec_side_close(r, &c->up);
		c->up_open = 0;
	}
	rec_txn_reset(c);
	c->state = c->req_keep_alive ? REC_S_REQ_HEAD : REC_S_CLOSING;
}

/* Parses the upstream's response.  1: complete, 0: need more,
 * -1: failed (answered). */
static int
rec_read_response(struct rec_conn *c)
{
	struct rec_side	*s = &c->up;
	struct http_msg	 m;
	enum http_err	 err;
	size_t		 erroff, len;
	ssize_t		 n, rest;
	char		 what[160];

	while (!c->res_head_done) {
		if (s->in.len == 0)
			return 0;
		n = http_parse_response(s->in.data, s->in.len,
		    c->r->cfg.max_head, c->req_head, &m, &err, &erroff);
		if (n == HTTP_PARTIAL)
			return 0;
		if (n == HTTP_ERROR) {
			snprintf(what, sizeof what, "bad response: %s",
			    http_strerror(err));
			rec_upstream_fail(c, 502, what);
			return -1;
		}
		if (m.status < 200) {	/* 1xx: not relayed */
			buf_consume(&s->in, (size_t)n);
			continue;
		}
		c->t.res.status = m.status;
		c->t.res.reason = span_dup(m.reason);
		rec_headers_copy(&m, &c->t.res.headers, &c->t.res.nheaders);
		c->res_framing = m.framing;
		c->res_cl = m.content_length;
		c->res_keep_alive = m.keep_alive;
		buf_consume(&s->in, (size_t)n);
		c->res_head_done = 1;
		if (m.framing == HTTP_FRAME_CHUNKED)
			http_chunked_init(&c->ck);
	}
	switch (c->res_framing) {
	case HTTP_FRAME_NONE:
		return 1;
	case HTTP_FRAME_LENGTH:
		if (c->res_cl > REC_MAX_MESSAGE) {
			rec_upstream_fail(c, 502, "response too large");
			return -1;
		}
		if (s->in.len < c->res_cl)
			return 0;
		buf_append(&c->body, s->in.data, (size_t)c->res_cl);
		buf_consume(&s->in, (size_t)c->res_cl);
		return 1;
	case HTTP_FRAME_CHUNKED:
		if (s->in.len == 0)
			return 0;
		len = s->in.len;
		rest = http_chunked_decode(&c->ck, s->in.data, &len, &err,
		    &erroff);
		if (rest == HTTP_ERROR) {
			snprintf(what, sizeof what, "bad chunked response: %s",
			    http_strerror(err));
			rec_upstream_fail(c, 502, what);
			return -1;
		}
		buf_append(&c->body, s->in.data, len);
		if (rest == HTTP_PARTIAL) {
			s->in.len = 0;
			return 0;
		}
		s->in.len = 0;	/* bytes past the response are not ours */
		return 1;
	case HTTP_FRAME_EOF:
		buf_append(&c->body, s->in.data, s->in.len);
		buf_reset(&s->in);
		return s->eof ? 1 : 0;
	}
	return 0;
}

/* Drives the exchange after I/O on either side. */
static void
rec_conn_progress(struct rec_conn *c)
{
	struct recorder	*r = c->r;
	int		 rv;
	char		 what[160];

	for (;;) {
		switch (c->state) {
		case REC_S_REQ_HEAD:
		case REC_S_REQ_BODY:
			rv = rec_read_request(c);
			if (rv == -1) {
				if (c->state != REC_S_CLOSING)
					c->state = REC_S_CLOSING;
				continue;
			}
			if (rv == 0)
				goto out;
			continue;
		case REC_S_UPSTREAM:
			if (c->up.fd == -1)
				goto out;
			if (c->up.in.len > 0 && c->ttfb_mono == 0)
				c->ttfb_mono = loop_now_update(r->loop);
			rv = rec_read_response(c);
			if (rv == 1) {
				rec_response_done(c);
				continue;
			}
			if (rv == -1)
				continue;
			if (c->up.eof) {
				if (c->up_reused && !c->retried &&
				    !c->res_head_done &&
				    c->up.in.len == 0) {
					/* A keep-alive connection the
					 * upstream closed while idle: once
					 * more on a fresh one. */
					rec_side_close(r, &c->up);
					c->up_open = 0;
					c->retried = 1;
					buf_append(&c->up.out, c->fwd.data,
					    c->fwd.len);
					rec_upstream_connect(c);
					continue;
				}
				snprintf(what, sizeof what, "%s",
				    c->res_head_done ? "closed before the "
				    "response was complete" : "closed without "
				    "a response");
				rec_upstream_fail(c, 502, what);
				continue;
			}
			goto out;
		case REC_S_CLOSING:
			goto out;
		}
	}
out:
	if (rec_side_flush(&c->cl) == -1) {
		rec_conn_close(c);
		return;
	}
	if (c->state == REC_S_CLOSING && c->cl.out.len == 0) {
		rec_conn_close(c);
		return;
	}
	if (c->cl.eof && c->state == REC_S_REQ_HEAD && c->cl.in.len == 0) {
		if (c->cl.out.len == 0) {
			rec_conn_close(c);
			return;
		}
		c->state = REC_S_CLOSING;
	}
	rec_side_events(r, &c->cl);
	rec_side_events(r, &c->up);
}

static void
rec_side_io(struct loop_io *io, uint32_t events)
{
	struct rec_side	*s = io->arg;
	struct rec_conn	*c = s->c;
	struct recorder	*r = c->r;
	char		 what[256];
	int		 soerr = 0, rv, e;
	socklen_t	 slen = sizeof soerr;

	if (c->dead)
		return;
	if (s == &c->up) {
		if (s->connecting) {
			if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
				return;
			if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr,
			    &slen) == -1)
				soerr = errno;
			if (soerr != 0) {
				snprintf(what, sizeof what, "connect: %s",
				    strerror(soerr));
				rec_upstream_fail(c, 502, what);
				rec_conn_progress(c);
				return;
			}
			s->connecting = 0;
			if (r->up_ctx != NULL &&
			    rec_upstream_tls_start(c) == -1) {
				rec_tls_reason(s, what, sizeof what);
				rec_upstream_fail(c, 502, what);
				rec_conn_progress(c);
				return;
			}
		}
		if (s->handshaking) {
			ERR_clear_error();
			rv = SSL_do_handshake(s->ssl);
			if (rv != 1) {
				e = SSL_get_error(s->ssl, rv);
				if (e == SSL_ERROR_WANT_READ ||
				    e == SSL_ERROR_WANT_WRITE) {
					s->ssl_want_out =
					    e == SSL_ERROR_WANT_WRITE;
					rec_side_events(r, s);
					return;
				}
				rec_tls_reason(s, what, sizeof what);
				rec_upstream_fail(c, 502, what);
				rec_conn_progress(c);
				return;
			}
			s->handshaking = 0;
		}
		s->ssl_want_out = 0;
		if (rec_side_flush(s) == -1 || rec_side_read(s) == -1) {
			if (c->state == REC_S_UPSTREAM) {
				snprintf(what, sizeof what, "%s: %s",
				    c->ttfb_mono || s->in.len ? "read" :
				    "send", strerror(errno));
				rec_upstream_fail(c, 502, what);
			} else {
				rec_side_close(r, s);
				c->up_open = 0;
			}
			rec_conn_progress(c);
			return;
		}
		if (s->eof && c->state != REC_S_UPSTREAM) {
			rec_side_close(r, s);	/* idle close */
			c->up_open = 0;
		}
		rec_conn_progress(c);
		return;
	}
	s->ssl_want_out = 0;
	if (rec_side_flush(s) == -1 || rec_side_read(s) == -1) {
		rec_conn_close(c);
		return;
	}
	rec_conn_progress(c);
}

/* ---- connections ------------------------------------------------------ */

static void
rec_conn_reap(struct loop_defer *d)
{
	struct rec_conn	*c = d->arg;

	snap_txn_free(&c->t);
	buf_free(&c->cl.in);
	buf_free(&c->cl.out);
	buf_free(&c->up.in);
	buf_free(&c->up.out);
	buf_free(&c->body);
	buf_free(&c->fwd);
	free(c);
}

static void
rec_conn_close(struct rec_conn *c)
{
	struct recorder	*r = c->r;

	if (c->dead)
		return;
	c->dead = 1;
	loop_timer_del(r->loop, &c->timer);
	rec_side_close(r, &c->cl);
	rec_side_close(r, &c->up);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		r->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	loop_defer(r->loop, &c->reap);
}

static void
rec_accept(struct loop_io *io, uint32_t events)
{
	struct recorder		*r = io->arg;
	struct rec_conn		*c;
	struct sock_addr	 peer;
	int			 fd, one = 1, i;

	for (i = 0; i < 64; i++) {
		peer.len = sizeof peer.ss;
		fd = accept4(r->lfd, (struct sockaddr *)&peer.ss, &peer.len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c = xcalloc(1, sizeof *c);
		c->r = r;
		rec_side_init(c, &c->cl);
		rec_side_init(c, &c->up);
		buf_init(&c->body);
		buf_init(&c->fwd);
		snap_txn_init(&c->t);
		sock_addr_str(&peer, c->client, sizeof c->client);
		loop_timer_init(&c->timer, rec_timeout, c);
		loop_defer_init(&c->reap, rec_conn_reap, c);
		c->cl.fd = fd;
		c->state = REC_S_REQ_HEAD;
		if (loop_io_add(r->loop, &c->cl.io, fd, EPOLLIN, rec_side_io,
		    &c->cl) == -1) {
			close(fd);
			free(c);
			continue;
		}
		c->next = r->conns;
		if (r->conns != NULL)
			r->conns->prev = c;
		r->conns = c;
	}
}

static void
rec_signal(int sig)
{
	if (rec_signal_target != NULL)
		loop_stop(rec_signal_target->loop);
}

int
record_run(struct recorder *r)
{
	struct sigaction	sa;
	int			rv;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = rec_signal;
	sigemptyset(&sa.sa_mask);
	rec_signal_target = r;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_info("recording %s -> %s into %s", r->cfg.listen,
	    r->cfg.upstream, r->cfg.output);
	rv = loop_run(r->loop);
	log_info("recorded %llu transactions (%llu upstream failures)",
	    (unsigned long long)r->ntxn, (unsigned long long)r->nerr);
	return rv;
}

void
record_free(struct recorder *r)
{
	if (r == NULL)
		return;
	while (r->conns != NULL)
		rec_conn_close(r->conns);
	if (r->loop != NULL) {
		loop_run_deferred(r->loop);
		loop_timer_del(r->loop, &r->sync_timer);
		if (r->lfd != -1)
			loop_io_del(r->loop, &r->lio);
	}
	if (r->lfd != -1)
		close(r->lfd);
	if (r->w.fd != -1)
		rec_writer_close(&r->w);
	if (r->loop != NULL)
		loop_free(r->loop);
	if (r->up_ctx != NULL)
		SSL_CTX_free(r->up_ctx);
	record_redact_free(r->redact);
	rec_signal_target = NULL;
	free(r->up_hostport);
	free(r->up_name);
	record_config_free(&r->cfg);
	free(r);
}
