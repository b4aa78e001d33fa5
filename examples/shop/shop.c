/*
 * shop.c -- the plumbing the demo services share.
 *
 * The server accepts on 127.0.0.1 and gives each connection a thread that
 * reads requests (Content-Length or chunked bodies, keep-alive, pipelining),
 * calls the service's handler and writes the answer.  A request that does
 * not parse gets a 400 and the connection is closed.  SIGTERM and SIGINT
 * are taken by the main thread through a signalfd; it closes the trace so
 * that no line is cut in half and exits.
 *
 * The client keeps one blocking connection per thread per upstream (a
 * pthread key holds it), with SO_RCVTIMEO/SO_SNDTIMEO as the timeout.  A
 * kept-alive connection that the peer has closed is noticed before the
 * request is sent (poll) and replaced; an idempotent request that gets no
 * byte back on a reused connection is sent once more on a fresh one.
 *
 * The trace turns both directions into snapshot lines: what the service
 * was asked and answered (dir "in") and what it asked its dependencies and
 * was told (dir "out"), headers in order, bodies as they travelled.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
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
#include "log.h"
#include "snap.h"
#include "sock.h"
#include "xmalloc.h"
#include "shop.h"

/* How long an idle inbound keep-alive connection is kept. */
#define SHOP_IDLE_SECONDS	60

#define SHOP_ADDR_LEN		64
#define SHOP_TS_LEN		64

struct shop_conn {
	int		 fd;
	const char	*svc;
	shop_handler_cb	 cb;
	char		 client[SHOP_ADDR_LEN];
	char		 server[SHOP_ADDR_LEN];
	struct buf	 in;
};

/* A thread's connection to one upstream. */
struct shop_cconn {
	int		 fd;
	char		 client[SHOP_ADDR_LEN];
	char		 server[SHOP_ADDR_LEN];
	struct buf	 in;
};

struct shop_resolve {
	char	*name;
	char	*addr;
};
static struct shop_resolve	*shop_resolves;
static size_t			 shop_nresolves;

static pthread_mutex_t		 shop_trace_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snap_writer	*shop_trace_writer;
static unsigned long		 shop_trace_next;

int
shop_parse_long(const char *s, long min, long max, long *out)
{
	char	*end;
	long	 v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int64_t
shop_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
shop_format_ts(int64_t us, char *out, size_t outlen)
{
	struct tm	tm;
	time_t		t;
	char		date[32];

	t = (time_t)(us / 1000000);
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outlen, "%s.%06dZ", date, (int)(us % 1000000));
}

static void
shop_sockaddr_str(const struct sockaddr *sa, char *out, size_t outlen)
{
	char	host[INET6_ADDRSTRLEN];
	int	port;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		port = ntohs(sin->sin_port);
		snprintf(out, outlen, "%s:%d", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		port = ntohs(sin6->sin6_port);
		snprintf(out, outlen, "[%s]:%d", host, port);
	} else
		snprintf(out, outlen, "unknown");
}

static void
shop_fd_names(int fd, char *local, char *peer)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen;

	sslen = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		snprintf(local, SHOP_ADDR_LEN, "unknown");
	else
		shop_sockaddr_str((struct sockaddr *)&ss, local, SHOP_ADDR_LEN);
	sslen = sizeof ss;
	if (getpeername(fd, (struct sockaddr *)&ss, &sslen) == -1)
		snprintf(peer, SHOP_ADDR_LEN, "unknown");
	else
		shop_sockaddr_str((struct sockaddr *)&ss, peer, SHOP_ADDR_LEN);
}

static void
shop_set_timeouts(int fd, int ms)
{
	struct timeval	tv;
	int		one = 1;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Writes everything; returns 0 or -1 with errno set. */
static int
shop_write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads what is there into b; returns bytes read, 0 at EOF, -1 on error. */
static ssize_t
shop_read_more(int fd, struct buf *b)
{
	ssize_t	n;

	buf_reserve(b, 16384);
	do
		n = read(fd, b->data + b->len, b->cap - b->len - 1);
	while (n == -1 && errno == EINTR);
	if (n > 0) {
		b->len += (size_t)n;
		b->data[b->len] = '\0';
	}
	return n;
}

static char *
shop_body_dup(const char *p, size_t len)
{
	return len == 0 ? NULL : xstrndup(p, len);
}

static void
shop_headers_add(struct snap_header **h, size_t *n, const char *name,
    size_t namelen, const char *value, size_t valuelen)
{
	*h = xreallocarray(*h, *n + 1, sizeof **h);
	(*h)[*n].name = xstrndup(name, namelen);
	(*h)[*n].value = xstrndup(value, valuelen);
	(*n)++;
}

static void
shop_headers_from_msg(const struct http_msg *m, struct snap_header **h,
    size_t *n)
{
	size_t	i;

	for (i = 0; i < m->nheaders; i++) {
		shop_headers_add(h, n, m->headers[i].name.p,
		    m->headers[i].name.len, m->headers[i].value.p,
		    m->headers[i].value.len);
	}
}

const char *
shop_header(const struct snap_header *h, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (strcasecmp(h[i].name, name) == 0)
			return h[i].value;
	}
	return NULL;
}

/* ---- trace ---- */

int
shop_trace_open(const char *path, char **cause)
{
	struct snap_writer	*w;

	if ((w = snap_writer_open(path, 0, cause)) == NULL)
		return -1;
	pthread_mutex_lock(&shop_trace_lock);
	shop_trace_writer = w;
	pthread_mutex_unlock(&shop_trace_lock);
	return 0;
}

void
shop_trace_write(struct snap_txn *t)
{
	char	*cause;

	pthread_mutex_lock(&shop_trace_lock);
	if (shop_trace_writer != NULL) {
		free(t->id);
		t->id = xasprintf("t-%06lu", ++shop_trace_next);
		if (snap_writer_write(shop_trace_writer, t, &cause) == -1) {
			log_warn("trace: %s", cause);
			free(cause);
		}
	}
	pthread_mutex_unlock(&shop_trace_lock);
}

static int
shop_trace_on(void)
{
	int	on;

	pthread_mutex_lock(&shop_trace_lock);
	on = shop_trace_writer != NULL;
	pthread_mutex_unlock(&shop_trace_lock);
	return on;
}

static void
shop_trace_close(void)
{
	char	*cause;

	pthread_mutex_lock(&shop_trace_lock);
	if (shop_trace_writer != NULL &&
	    snap_writer_close(shop_trace_writer, &cause) == -1) {
		log_warn("trace: %s", cause);
		free(cause);
	}
	shop_trace_writer = NULL;
	pthread_mutex_unlock(&shop_trace_lock);
}

/* ---- server ---- */

void
shop_res_json(struct shop_res *res, int status, cJSON *obj)
{
	char	*s;

	if ((s = cJSON_PrintUnformatted(obj)) == NULL)
		fatalx("cJSON_PrintUnformatted failed");
	cJSON_Delete(obj);
	shop_res_bytes(res, status, "application/json", s, strlen(s));
	cJSON_free(s);
}

void
shop_res_error(struct shop_res *res, int status, const char *error)
{
	cJSON	*obj;

	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "error", error);
	shop_res_json(res, status, obj);
}

void
shop_res_bytes(struct shop_res *res, int status, const char *content_type,
    const void *body, size_t len)
{
	res->status = status;
	res->content_type = content_type;
	buf_reset(&res->body);
	buf_append(&res->body, body, len);
}

void
shop_res_header(struct shop_res *res, const char *name, const char *value)
{
	shop_headers_add(&res->headers, &res->nheaders, name, strlen(name),
	    value, strlen(value));
}

/* Frees what a handler put into res. */
static void
shop_res_clear(struct shop_res *res)
{
	size_t	i;

	buf_free(&res->body);
	for (i = 0; i < res->nheaders; i++) {
		free(res->headers[i].name);
		free(res->headers[i].value);
	}
	free(res->headers);
	res->headers = NULL;
	res->nheaders = 0;
}

int
shop_path_prefix(struct span path, const char *prefix, struct span *rest)
{
	size_t	len = strlen(prefix);

	if (path.len < len || memcmp(path.p, prefix, len) != 0)
		return 0;
	rest->p = path.p + len;
	rest->len = path.len - len;
	return 1;
}

cJSON *
shop_json_parse(const char *body, size_t len)
{
	cJSON	*obj;

	if (len == 0)
		return NULL;
	if ((obj = cJSON_ParseWithLength(body, len)) == NULL)
		return NULL;
	if (!cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

const char *
shop_json_str(const cJSON *obj, const char *name)
{
	const cJSON	*v;

	v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!cJSON_IsString(v))
		return NULL;
	return v->valuestring;
}

int
shop_json_int(const cJSON *obj, const char *name, long min, long max,
    long *out)
{
	const cJSON	*v;
	double		 d;

	v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!cJSON_IsNumber(v))
		return -1;
	d = v->valuedouble;
	if (d != d || d < (double)min || d > (double)max || d != (double)(long)d)
		return -1;
	*out = (long)d;
	return 0;
}

/*
 * Writes the response and, when tracing, records the exchange.  Returns 0,
 * or -1 when the connection is gone.
 */
static int
shop_conn_respond(struct shop_conn *c, const struct http_msg *m,
    const char *body, size_t body_len, struct shop_res *res, int close_after,
    int64_t start_us)
{
	struct snap_txn	 t;
	struct buf	 out;
	struct snap_header *h = NULL;
	size_t		 nh = 0, i;
	char		 clen[32];
	const char	*reason;
	int64_t		 ttfb_us, end_us;
	int		 rv, head;

	reason = http_reason(res->status);
	if (res->content_type != NULL) {
		shop_headers_add(&h, &nh, "Content-Type", 12,
		    res->content_type, strlen(res->content_type));
	}
	for (i = 0; i < res->nheaders; i++) {
		shop_headers_add(&h, &nh, res->headers[i].name,
		    strlen(res->headers[i].name), res->headers[i].value,
		    strlen(res->headers[i].value));
	}
	snprintf(clen, sizeof clen, "%zu", res->body.len);
	shop_headers_add(&h, &nh, "Content-Length", 14, clen, strlen(clen));
	if (close_after)
		shop_headers_add(&h, &nh, "Connection", 10, "close", 5);
	else if (m != NULL && m->version == 10)
		shop_headers_add(&h, &nh, "Connection", 10, "keep-alive", 10);

	buf_init(&out);
	http_write_status_line(&out, res->status, span_from_str(reason));
	for (i = 0; i < nh; i++) {
		http_write_header(&out, span_from_str(h[i].name),
		    span_from_str(h[i].value));
	}
	buf_append(&out, "\r\n", 2);
	head = m != NULL && span_eq_str(m->method, "HEAD");
	if (!head)
		buf_append(&out, res->body.data, res->body.len);

	ttfb_us = shop_now_us();
	rv = shop_write_all(c->fd, out.data, out.len);
	end_us = shop_now_us();
	buf_free(&out);

	if (m == NULL || res->untraced || !shop_trace_on()) {
		for (i = 0; i < nh; i++) {
			free(h[i].name);
			free(h[i].value);
		}
		free(h);
		return rv;
	}

	snap_txn_init(&t);
	t.ts = xmalloc(SHOP_TS_LEN);
	shop_format_ts(start_us, t.ts, SHOP_TS_LEN);
	t.dir = SNAP_DIR_IN;
	t.svc = xstrdup(c->svc);
	t.proto = xstrdup("http/1.1");
	t.tls = 0;
	t.client = xstrdup(c->client);
	t.server = xstrdup(c->server);
	t.req.method = span_dup(m->method);
	t.req.target = span_dup(m->target);
	t.req.host = m->host.len > 0 ? span_dup(m->host) : NULL;
	shop_headers_from_msg(m, &t.req.headers, &t.req.nheaders);
	t.req.body = shop_body_dup(body, body_len);
	t.req.body_len = body_len;
	t.has_res = 1;
	t.res.status = res->status;
	t.res.reason = xstrdup(reason);
	t.res.headers = h;
	t.res.nheaders = nh;
	if (!head) {
		t.res.body = shop_body_dup(res->body.data, res->body.len);
		t.res.body_len = res->body.len;
	}
	t.start_us = start_us;
	t.ttfb_us = ttfb_us - start_us;
	t.total_us = end_us - start_us;
	shop_trace_write(&t);
	snap_txn_free(&t);
	return rv;
}

/* Answers a request that cannot be served and asks for a close. */
static void
shop_conn_fail(struct shop_conn *c, int status, const char *error)
{
	struct shop_res	res;

	buf_init(&res.body);
	res.untraced = 1;
	res.headers = NULL;
	res.nheaders = 0;
	shop_res_error(&res, status, error);
	shop_conn_respond(c, NULL, NULL, 0, &res, 1, shop_now_us());
	shop_res_clear(&res);
}

static int
shop_conn_continue(struct shop_conn *c, const struct http_msg *m,
    size_t have, uint64_t need, int *sent)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

	if (!m->expect_continue || *sent || have >= need)
		return 0;
	*sent = 1;
	return shop_write_all(c->fd, cont, sizeof cont - 1);
}

/*
 * Reads, serves and consumes one request.  Returns 0 to keep the
 * connection, -1 to close it.
 */
static int
shop_conn_one(struct shop_conn *c)
{
	struct http_msg		 m;
	struct http_chunked	 ch;
	struct shop_req		 req;
	struct shop_res		 res;
	enum http_err		 err;
	size_t			 erroff, head_len, body_len, decoded, region, l;
	ssize_t			 n;
	int64_t			 start_us = 0;
	int			 sent_continue = 0, close_after, rv;

	if (c->in.len > 0)
		start_us = shop_now_us();
	for (;;) {
		n = http_parse_request(c->in.data == NULL ? "" : c->in.data,
		    c->in.len, 0, &m, &err, &erroff);
		if (n > 0)
			break;
		if (n == HTTP_ERROR) {
			log_info("%s: bad request: %s at byte %zu", c->client,
			    http_strerror(err), erroff);
			shop_conn_fail(c, 400, "bad_request");
			return -1;
		}
		if (shop_read_more(c->fd, &c->in) <= 0)
			return -1;
		if (start_us == 0)
			start_us = shop_now_us();
	}
	head_len = (size_t)n;

	switch (m.framing) {
	case HTTP_FRAME_LENGTH:
		if (m.content_length > SHOP_MAX_BODY) {
			shop_conn_fail(c, 413, "body_too_large");
			return -1;
		}
		body_len = (size_t)m.content_length;
		if (shop_conn_continue(c, &m, c->in.len - head_len, body_len,
		    &sent_continue) == -1)
			return -1;
		while (c->in.len - head_len < body_len) {
			if (shop_read_more(c->fd, &c->in) <= 0)
				return -1;
		}
		break;
	case HTTP_FRAME_CHUNKED:
		if (shop_conn_continue(c, &m, c->in.len - head_len, 1,
		    &sent_continue) == -1)
			return -1;
		http_chunked_init(&ch);
		decoded = 0;
		for (;;) {
			region = head_len + decoded;
			if (c->in.len > region) {
				l = c->in.len - region;
				n = http_chunked_decode(&ch, c->in.data + region,
				    &l, &err, &erroff);
				if (n == HTTP_ERROR) {
					shop_conn_fail(c, 400, "bad_chunking");
					return -1;
				}
				decoded += l;
				if (n >= 0) {
					c->in.len = head_len + decoded +
					    (size_t)n;
					break;
				}
				c->in.len = head_len + decoded;
			}
			if (decoded > SHOP_MAX_BODY) {
				shop_conn_fail(c, 413, "body_too_large");
				return -1;
			}
			if (shop_read_more(c->fd, &c->in) <= 0)
				return -1;
		}
		body_len = decoded;
		break;
	default:
		body_len = 0;
		break;
	}

	/* Reading the body may have moved the buffer: parse the head again. */
	n = http_parse_request(c->in.data, head_len, 0, &m, &err, &erroff);
	if (n != (ssize_t)head_len)
		fatalx("request head changed under the parser");

	memset(&req, 0, sizeof req);
	req.msg = &m;
	req.method = m.method;
	req.target = m.target;
	req.path = m.path;
	req.query = m.query;
	req.body = c->in.data + head_len;
	req.body_len = body_len;

	buf_init(&res.body);
	res.status = 500;
	res.content_type = NULL;
	res.untraced = 0;
	res.headers = NULL;
	res.nheaders = 0;
	c->cb(&req, &res);

	close_after = !m.keep_alive;
	rv = shop_conn_respond(c, &m, req.body, body_len, &res, close_after,
	    start_us);
	shop_res_clear(&res);
	buf_consume(&c->in, head_len + body_len);
	if (rv == -1 || close_after)
		return -1;
	return 0;
}

static void *
shop_conn_main(void *arg)
{
	struct shop_conn	*c = arg;

	while (shop_conn_one(c) == 0)
		/* nothing */;
	close(c->fd);
	buf_free(&c->in);
	free(c);
	return NULL;
}

int
shop_serve(const char *svc, int port, const char *port_file,
    shop_handler_cb cb)
{
	struct sockaddr_in	 sin;
	struct signalfd_siginfo	 si;
	struct pollfd		 pfd[2];
	struct shop_conn	*c;
	pthread_attr_t		 attr;
	pthread_t		 tid;
	sigset_t		 set;
	socklen_t		 slen;
	char			*cause = NULL;
	int			 lfd, sfd, fd, one = 1, bound;

	/* Before any thread exists, so that every thread inherits it. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		fatalx("pthread_sigmask failed");
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	signal(SIGPIPE, SIG_IGN);

	if ((lfd = socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof sin) == -1)
		fatal("bind 127.0.0.1:%d", port);
	if (listen(lfd, 128) == -1)
		fatal("listen");
	slen = sizeof sin;
	if (getsockname(lfd, (struct sockaddr *)&sin, &slen) == -1)
		fatal("getsockname");
	bound = ntohs(sin.sin_port);
	if (port_file != NULL && sock_write_port_file(port_file, bound,
	    &cause) == -1)
		fatalx("%s", cause);
	log_info("%s listening on 127.0.0.1:%d", svc, bound);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);

	pfd[0].fd = lfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = sfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[1].revents & POLLIN) {
			if (read(sfd, &si, sizeof si) == -1)
				fatal("read signalfd");
			log_info("%s: signal %u, exiting", svc, si.ssi_signo);
			break;
		}
		if ((pfd[0].revents & POLLIN) == 0)
			continue;
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno != EINTR && errno != EAGAIN &&
			    errno != ECONNABORTED)
				log_warn("accept: %s", strerror(errno));
			continue;
		}
		shop_set_timeouts(fd, SHOP_IDLE_SECONDS * 1000);
		c = xcalloc(1, sizeof *c);
		c->fd = fd;
		c->svc = svc;
		c->cb = cb;
		buf_init(&c->in);
		shop_fd_names(fd, c->server, c->client);
		if (pthread_create(&tid, &attr, shop_conn_main, c) != 0) {
			log_warn("pthread_create failed");
			close(fd);
			free(c);
		}
	}
	close(lfd);
	shop_trace_close();
	return 0;
}

/* ---- client ---- */

static void
shop_cconn_free(void *arg)
{
	struct shop_cconn	*cc = arg;

	if (cc->fd != -1)
		close(cc->fd);
	buf_free(&cc->in);
	free(cc);
}

static void
shop_cconn_close(struct shop_cconn *cc)
{
	if (cc->fd != -1)
		close(cc->fd);
	cc->fd = -1;
	buf_reset(&cc->in);
}

int
shop_upstream_init(struct shop_upstream *u, const char *svc,
    const char *url, int timeout_ms, char **cause)
{
	const char	*p, *slash, *colon;
	size_t		 hostlen;
	long		 port;

	memset(u, 0, sizeof *u);
	if (strncmp(url, "http://", 7) != 0) {
		*cause = xasprintf("%s: not an http:// URL", url);
		return -1;
	}
	p = url + 7;
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	hostlen = (size_t)((colon != NULL ? colon : slash) - p);
	if (hostlen == 0) {
		*cause = xasprintf("%s: no host", url);
		return -1;
	}
	u->host = xstrndup(p, hostlen);
	if (colon != NULL) {
		u->port = xstrndup(colon + 1, (size_t)(slash - colon - 1));
		if (shop_parse_long(u->port, 1, 65535, &port) == -1) {
			*cause = xasprintf("%s: bad port", url);
			return -1;
		}
	} else
		u->port = xstrdup("80");
	u->authority = xasprintf("%s:%s", u->host, u->port);
	u->prefix = xstrdup(slash);
	if (*u->prefix != '\0' && u->prefix[strlen(u->prefix) - 1] == '/')
		u->prefix[strlen(u->prefix) - 1] = '\0';
	u->svc = xstrdup(svc);
	u->user_agent = "shop-orders/1.0";
	u->timeout_ms = timeout_ms;
	if (pthread_key_create(&u->key, shop_cconn_free) != 0)
		fatalx("pthread_key_create failed");
	return 0;
}

int
shop_resolve_add(const char *spec, char **cause)
{
	const char	*colon;

	colon = strchr(spec, ':');
	if (colon == NULL || colon == spec || colon[1] == '\0') {
		*cause = xasprintf("%s: not NAME:ADDR", spec);
		return -1;
	}
	shop_resolves = xreallocarray(shop_resolves, shop_nresolves + 1,
	    sizeof *shop_resolves);
	shop_resolves[shop_nresolves].name = xstrndup(spec,
	    (size_t)(colon - spec));
	shop_resolves[shop_nresolves].addr = xstrdup(colon + 1);
	shop_nresolves++;
	return 0;
}

/* Where to connect for a URL host: its --resolve address, or itself. */
static const char *
shop_resolve_host(const char *host)
{
	size_t	i;

	for (i = 0; i < shop_nresolves; i++) {
		if (strcasecmp(shop_resolves[i].name, host) == 0)
			return shop_resolves[i].addr;
	}
	return host;
}

static enum shop_call_err
shop_errno_kind(int e)
{
	if (e == EAGAIN || e == EWOULDBLOCK || e == EINPROGRESS ||
	    e == ETIMEDOUT)
		return SHOP_CALL_TIMEOUT;
	return SHOP_CALL_IO;
}

static enum shop_call_err
shop_cconn_connect(struct shop_upstream *u, struct shop_cconn *cc,
    char **cause)
{
	struct addrinfo	 hints, *res, *ai;
	int		 error, fd = -1, saved = 0;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((error = getaddrinfo(shop_resolve_host(u->host), u->port, &hints,
	    &res)) != 0) {
		*cause = xasprintf("%s: %s", u->host, gai_strerror(error));
		return SHOP_CALL_CONNECT;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype|SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		shop_set_timeouts(fd, u->timeout_ms);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		*cause = xasprintf("connect %s: %s", u->authority,
		    strerror(saved));
		if (shop_errno_kind(saved) == SHOP_CALL_TIMEOUT)
			return SHOP_CALL_TIMEOUT;
		return SHOP_CALL_CONNECT;
	}
	cc->fd = fd;
	buf_reset(&cc->in);
	shop_fd_names(fd, cc->client, cc->server);
	return SHOP_CALL_OK;
}

static enum shop_call_err
shop_read_error(struct shop_upstream *u, char **cause)
{
	if (shop_errno_kind(errno) == SHOP_CALL_TIMEOUT) {
		*cause = xasprintf("%s: no answer within %d ms", u->svc,
		    u->timeout_ms);
		return SHOP_CALL_TIMEOUT;
	}
	*cause = xasprintf("%s: read: %s", u->svc, strerror(errno));
	return SHOP_CALL_IO;
}

/* True if a kept-alive connection has been closed (or written to) by the
 * peer while idle: either way it cannot carry the next exchange. */
static int
shop_cconn_stale(struct shop_cconn *cc)
{
	struct pollfd	pfd;

	pfd.fd = cc->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) == -1)
		return 1;
	return pfd.revents != 0;
}

/*
 * Reads one response into t->res.  *got is set once a byte has arrived.
 * Returns SHOP_CALL_OK with *keep saying whether the connection may be
 * reused.
 */
static enum shop_call_err
shop_cconn_read(struct shop_upstream *u, struct shop_cconn *cc,
    int head_request, struct snap_txn *t, int *got, int *keep, char **cause)
{
	struct http_msg		 m;
	struct http_chunked	 ch;
	enum http_err		 err;
	size_t			 erroff, head_len, body_len, decoded, region, l;
	ssize_t			 n;

	for (;;) {
		n = http_parse_response(cc->in.data == NULL ? "" : cc->in.data,
		    cc->in.len, 0, head_request, &m, &err, &erroff);
		if (n > 0 && m.status >= 100 && m.status < 200 &&
		    m.status != 101) {
			buf_consume(&cc->in, (size_t)n);
			continue;
		}
		if (n > 0)
			break;
		if (n == HTTP_ERROR) {
			*cause = xasprintf("%s: bad response: %s at byte %zu",
			    u->svc, http_strerror(err), erroff);
			return SHOP_CALL_PROTO;
		}
		n = shop_read_more(cc->fd, &cc->in);
		if (n == -1)
			return shop_read_error(u, cause);
		if (n == 0) {
			*cause = xasprintf("%s: connection closed %s", u->svc,
			    *got ? "inside the response head" :
			    "before a response");
			return SHOP_CALL_IO;
		}
		if (!*got)
			t->ttfb_us = shop_now_us() - t->start_us;
		*got = 1;
	}
	head_len = (size_t)n;
	*keep = m.keep_alive;

	switch (m.framing) {
	case HTTP_FRAME_LENGTH:
		if (m.content_length > SHOP_MAX_BODY) {
			*cause = xasprintf("%s: body too large", u->svc);
			return SHOP_CALL_PROTO;
		}
		body_len = (size_t)m.content_length;
		while (cc->in.len - head_len < body_len) {
			n = shop_read_more(cc->fd, &cc->in);
			if (n <= 0)
				goto short_body;
		}
		break;
	case HTTP_FRAME_CHUNKED:
		http_chunked_init(&ch);
		decoded = 0;
		for (;;) {
			region = head_len + decoded;
			if (cc->in.len > region) {
				l = cc->in.len - region;
				n = http_chunked_decode(&ch,
				    cc->in.data + region, &l, &err, &erroff);
				if (n == HTTP_ERROR) {
					*cause = xasprintf("%s: bad chunked "
					    "body: %s", u->svc,
					    http_strerror(err));
					return SHOP_CALL_PROTO;
				}
				decoded += l;
				if (n >= 0) {
					cc->in.len = head_len + decoded +
					    (size_t)n;
					break;
				}
				cc->in.len = head_len + decoded;
			}
			if (decoded > SHOP_MAX_BODY) {
				*cause = xasprintf("%s: body too large",
				    u->svc);
				return SHOP_CALL_PROTO;
			}
			n = shop_read_more(cc->fd, &cc->in);
			if (n <= 0)
				goto short_body;
		}
		body_len = decoded;
		break;
	case HTTP_FRAME_EOF:
		*keep = 0;
		for (;;) {
			if (cc->in.len - head_len > SHOP_MAX_BODY) {
				*cause = xasprintf("%s: body too large",
				    u->svc);
				return SHOP_CALL_PROTO;
			}
			n = shop_read_more(cc->fd, &cc->in);
			if (n == 0)
				break;
			if (n == -1)
				goto short_body;
		}
		body_len = cc->in.len - head_len;
		break;
	default:
		body_len = 0;
		break;
	}

	n = http_parse_response(cc->in.data, head_len, 0, head_request, &m,
	    &err, &erroff);
	if (n != (ssize_t)head_len)
		fatalx("response head changed under the parser");
	t->has_res = 1;
	t->res.status = m.status;
	t->res.reason = span_dup(m.reason);
	shop_headers_from_msg(&m, &t->res.headers, &t->res.nheaders);
	t->res.body = shop_body_dup(cc->in.data + head_len, body_len);
	t->res.body_len = body_len;

	/* Bytes past the response are not ours to guess about. */
	if (cc->in.len != head_len + body_len)
		*keep = 0;
	buf_consume(&cc->in, head_len + body_len);
	return SHOP_CALL_OK;

short_body:
	if (n == -1)
		return shop_read_error(u, cause);
	*cause = xasprintf("%s: connection closed inside the body", u->svc);
	return SHOP_CALL_IO;
}

enum shop_call_err
shop_call(struct shop_upstream *u, const char *method, const char *target,
    const char *content_type, const void *body, size_t body_len,
    struct snap_txn *t, char **cause)
{
	return shop_call_headers(u, method, target, NULL, 0, content_type,
	    body, body_len, t, cause);
}

enum shop_call_err
shop_call_headers(struct shop_upstream *u, const char *method,
    const char *target, const struct snap_header *headers, size_t nheaders,
    const char *content_type, const void *body, size_t body_len,
    struct snap_txn *t, char **cause)
{
	struct shop_cconn	*cc;
	struct buf		 out;
	enum shop_call_err	 e = SHOP_CALL_IO;
	char			 clen[32];
	size_t			 i;
	int			 attempt, reused, got, keep, idempotent;
	int			 head_request;

	snap_txn_init(t);
	t->dir = SNAP_DIR_OUT;
	t->svc = xstrdup(u->svc);
	t->proto = xstrdup("http/1.1");
	t->req.method = xstrdup(method);
	t->req.target = xasprintf("%s%s", u->prefix, target);
	t->req.host = xstrdup(u->authority);
	shop_headers_add(&t->req.headers, &t->req.nheaders, "Host", 4,
	    u->authority, strlen(u->authority));
	shop_headers_add(&t->req.headers, &t->req.nheaders, "User-Agent", 10,
	    u->user_agent, strlen(u->user_agent));
	shop_headers_add(&t->req.headers, &t->req.nheaders, "Accept", 6,
	    "*/*", 3);
	for (i = 0; i < nheaders; i++) {
		shop_headers_add(&t->req.headers, &t->req.nheaders,
		    headers[i].name, strlen(headers[i].name),
		    headers[i].value, strlen(headers[i].value));
	}
	if (body != NULL) {
		if (content_type != NULL) {
			shop_headers_add(&t->req.headers, &t->req.nheaders,
			    "Content-Type", 12, content_type,
			    strlen(content_type));
		}
		snprintf(clen, sizeof clen, "%zu", body_len);
		shop_headers_add(&t->req.headers, &t->req.nheaders,
		    "Content-Length", 14, clen, strlen(clen));
		t->req.body = shop_body_dup(body, body_len);
		t->req.body_len = body_len;
	}

	buf_init(&out);
	buf_printf(&out, "%s %s HTTP/1.1\r\n", t->req.method, t->req.target);
	for (i = 0; i < t->req.nheaders; i++) {
		http_write_header(&out, span_from_str(t->req.headers[i].name),
		    span_from_str(t->req.headers[i].value));
	}
	buf_append(&out, "\r\n", 2);
	if (body_len > 0)
		buf_append(&out, body, body_len);

	if ((cc = pthread_getspecific(u->key)) == NULL) {
		cc = xcalloc(1, sizeof *cc);
		cc->fd = -1;
		buf_init(&cc->in);
		if (pthread_setspecific(u->key, cc) != 0)
			fatalx("pthread_setspecific failed");
	}
	idempotent = strcmp(method, "GET") == 0 ||
	    strcmp(method, "HEAD") == 0;
	head_request = strcmp(method, "HEAD") == 0;

	*cause = NULL;
	t->start_us = shop_now_us();
	for (attempt = 0; attempt < 2; attempt++) {
		free(*cause);
		*cause = NULL;
		if (cc->fd != -1 && shop_cconn_stale(cc))
			shop_cconn_close(cc);
		reused = cc->fd != -1;
		if (!reused)
			cc->client[0] = cc->server[0] = '\0';
		t->start_us = shop_now_us();
		t->ttfb_us = -1;
		if (!reused && (e = shop_cconn_connect(u, cc, cause)) != 0)
			break;
		got = keep = 0;
		if (shop_write_all(cc->fd, out.data, out.len) == -1) {
			e = shop_errno_kind(errno);
			*cause = xasprintf("%s: write: %s", u->svc,
			    strerror(errno));
		} else {
			e = shop_cconn_read(u, cc, head_request, t, &got,
			    &keep, cause);
		}
		if (e == SHOP_CALL_OK) {
			if (!keep)
				shop_cconn_close(cc);
			break;
		}
		shop_cconn_close(cc);
		if (!reused || got || !idempotent || e == SHOP_CALL_TIMEOUT)
			break;
		log_debug("%s: stale connection, retrying", u->svc);
	}
	buf_free(&out);
	t->total_us = shop_now_us() - t->start_us;
	/* The names outlive a closed connection; a failed connect has none. */
	if (cc->client[0] != '\0')
		t->client = xstrdup(cc->client);
	t->server = xstrdup(cc->server[0] != '\0' ? cc->server : u->authority);
	t->ts = xmalloc(SHOP_TS_LEN);
	shop_format_ts(t->start_us, t->ts, SHOP_TS_LEN);

	if (e != SHOP_CALL_OK) {
		t->has_res = 0;
		t->extra = xasprintf(",\"tags\":{\"error\":\"%s\"}",
		    e == SHOP_CALL_TIMEOUT ? "timeout" :
		    e == SHOP_CALL_CONNECT ? "connect" :
		    e == SHOP_CALL_PROTO ? "protocol" : "io");
	}
	shop_trace_write(t);
	return e;
}

/* ---- calls with JSON ---- */

void
shop_res_unavailable(struct shop_res *res, const struct shop_upstream *u,
    int status)
{
	char	*error;

	error = xasprintf("%s unavailable", u->svc);
	shop_res_error(res, status, error);
	free(error);
}

int
shop_call_json(struct shop_upstream *u, const char *method,
    const char *target, const struct snap_header *headers, size_t nheaders,
    cJSON *body, struct snap_txn *t, struct shop_res *res)
{
	enum shop_call_err	 e;
	char			*cause, *json = NULL;

	if (body != NULL) {
		if ((json = cJSON_PrintUnformatted(body)) == NULL)
			fatalx("cJSON_PrintUnformatted failed");
		cJSON_Delete(body);
	}
	e = shop_call_headers(u, method, target, headers, nheaders,
	    json == NULL ? NULL : "application/json", json,
	    json == NULL ? 0 : strlen(json), t, &cause);
	cJSON_free(json);
	if (e != SHOP_CALL_OK) {
		log_warn("%s %s: %s", method, target, cause);
		free(cause);
		snap_txn_free(t);
		shop_res_unavailable(res, u, e == SHOP_CALL_TIMEOUT ? 504 : 502);
		return -1;
	}
	if (t->res.status >= 500) {
		log_warn("%s %s: %s answered %d", method, target, u->svc,
		    t->res.status);
		snap_txn_free(t);
		shop_res_unavailable(res, u, 502);
		return -1;
	}
	return 0;
}

cJSON *
shop_answer_json(const struct snap_txn *t)
{
	cJSON	*obj;

	if ((obj = shop_json_parse(t->res.body, t->res.body_len)) == NULL) {
		log_warn("%s %s: %s answered %d without a JSON object",
		    t->req.method, t->req.target, t->svc, t->res.status);
	}
	return obj;
}

/* ---- routing ---- */

int
shop_healthz(const struct shop_req *req, struct shop_res *res)
{
	cJSON	*obj;

	if (!span_eq_str(req->path, "/healthz"))
		return 0;
	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "status", "ok");
	shop_res_json(res, 200, obj);
	return 1;
}

int
shop_method(const struct shop_req *req, struct shop_res *res,
    const char *method, const char *error)
{
	if (span_eq_str(req->method, method))
		return 1;
	shop_res_error(res, 405, error);
	return 0;
}

int
shop_path_id(struct span path, const char *prefix, struct span *id)
{
	return shop_path_prefix(path, prefix, id) && id->len > 0 &&
	    memchr(id->p, '/', id->len) == NULL;
}

/* ---- options ---- */

void
shop_usage(int status, const char *text)
{
	fputs(text, status == 0 ? stdout : stderr);
	exit(status);
}

void
shop_opts_init(struct shop_opts *o, const char *svc)
{
	memset(o, 0, sizeof *o);
	o->svc = svc;
	o->timeout = SHOP_TIMEOUT_MS;
	log_init(svc, LOG_LEVEL_INFO);
}

/* A number option in [min, max]; else "SVC: bad WHAT: ARG" and exit 2. */
static void
shop_option_long(const struct shop_opts *o, const char *what,
    const char *arg, long min, long max, long *out)
{
	if (shop_parse_long(arg, min, max, out) == -1) {
		fprintf(stderr, "%s: bad %s: %s\n", o->svc, what, arg);
		exit(2);
	}
}

int
shop_option(struct shop_opts *o, int ch, const char *arg)
{
	char	*cause;

	switch (ch) {
	case 'p':
		shop_option_long(o, "port", arg, 0, 65535, &o->port);
		return 1;
	case 'P':
		o->port_file = arg;
		return 1;
	case 'T':
		shop_option_long(o, "timeout", arg, 1, 3600000, &o->timeout);
		return 1;
	case 'r':
		if (shop_resolve_add(arg, &cause) == -1) {
			fprintf(stderr, "%s: --resolve %s\n", o->svc, cause);
			exit(2);
		}
		return 1;
	}
	return 0;
}

void
shop_upstream_init_opts(struct shop_upstream *u, const struct shop_opts *o,
    const char *name, const char *url)
{
	char	*cause;

	if (shop_upstream_init(u, name, url, (int)o->timeout, &cause) == -1) {
		fprintf(stderr, "%s: %s\n", o->svc, cause);
		exit(2);
	}
}

int
shop_serve_opts(const struct shop_opts *o, shop_handler_cb cb)
{
	return shop_serve(o->svc, (int)o->port, o->port_file, cb);
}

static __attribute__((noreturn)) void
shop_usage_simple(const char *svc, int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: %s [--port PORT] [--port-file FILE]\n", svc);
	exit(status);
}

int
shop_main_simple(const char *svc, int argc, char **argv,
    shop_handler_cb handler)
{
	static const struct option longopts[] = {
		SHOP_OPTIONS_SERVE,
		{ NULL,		0,			NULL, 0 }
	};
	struct shop_opts	 o;
	int			 ch;

	shop_opts_init(&o, svc);
	while ((ch = getopt_long(argc, argv, "p:P:h", longopts, NULL)) != -1) {
		if (shop_option(&o, ch, optarg))
			continue;
		shop_usage_simple(svc, ch == 'h' ? 0 : 2);
	}
	if (optind != argc)
		shop_usage_simple(svc, 2);
	return shop_serve_opts(&o, handler);
}
