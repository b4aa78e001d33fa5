/*
 * prom.c -- Prometheus text exposition and a /metrics endpoint on an event
 * loop, shared by the admin API (which writes /metrics itself, with these
 * helpers), the recorder and the tap (which serve it with prom_server).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "http.h"
#include "httpd.h"
#include "log.h"
#include "loop.h"
#include "prom.h"
#include "sock.h"
#include "xmalloc.h"

#define PROM_MAX_HEAD		(8 * 1024)
#define PROM_READ_CHUNK		(8 * 1024)
#define PROM_OUT_HIGH		(1024 * 1024)
#define PROM_MAX_CONNS		16
#define PROM_TIMEOUT_NS		(10ull * 1000000000u)
#define PROM_LINGER_NS		(1000 * 1000000ull)

struct prom_server {
	struct httpd	*httpd;
	prom_fill_cb	 fill;
	void		*arg;
	int		 port;
};

void
prom_label(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			buf_append(b, "\\\\", 2);
		else if (*s == '"')
			buf_append(b, "\\\"", 2);
		else if (*s == '\n')
			buf_append(b, "\\n", 2);
		else
			buf_append_byte(b, *s);
	}
}

void
prom_family(struct buf *b, const char *name, const char *type,
    const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
prom_counter(struct buf *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	prom_family(b, name, type, help);
	buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

void
prom_process(struct buf *b, double uptime_s)
{
	struct timespec	now;

	prom_family(b, "decoy_build_info", "gauge",
	    "Always 1; the labels say which decoy this is.");
	buf_append_str(b, "decoy_build_info{version=\"");
	prom_label(b, PACKAGE_VERSION);
	buf_append_str(b, "\"} 1\n");
	clock_gettime(CLOCK_REALTIME, &now);
	prom_family(b, "process_start_time_seconds", "gauge",
	    "Start time of the process since the Unix epoch, in seconds.");
	buf_printf(b, "process_start_time_seconds %.3f\n",
	    (double)now.tv_sec + (double)now.tv_nsec / 1e9 - uptime_s);
}

void
prom_rows(struct buf *b, const struct prom_row *row, size_t n)
{
	size_t	i, len;

	for (i = 0; i < n; i++) {
		len = strlen(row[i].name);
		prom_counter(b, row[i].name, len > 6 &&
		    strcmp(row[i].name + len - 6, "_total") == 0 ? "counter" :
		    "gauge", row[i].help, row[i].v);
	}
}

void
prom_status_counts(struct buf *b, const char *name, const uint64_t *counts)
{
	size_t	i;

	prom_family(b, name, "counter", "Recorded responses, by status.");
	for (i = 0; i < PROM_NSTATUS; i++) {
		if (counts[i] > 0)
			buf_printf(b, "%s{status=\"%zu\"} %llu\n", name, i + 100,
			    (unsigned long long)counts[i]);
	}
}

void
prom_uptime(struct buf *b, double uptime_s)
{
	prom_family(b, "decoy_uptime_seconds", "gauge",
	    "Seconds since the process started serving.");
	buf_printf(b, "decoy_uptime_seconds %.3f\n", uptime_s);
	prom_process(b, uptime_s);
}

/* Queues a reply: status, its content type and body (HEAD: none). */
static void
prom_reply(struct hconn *h, int status, const char *type, struct buf *body,
    int head_only, int keep)
{
	struct buf	out;
	char		num[32];
	int		n;

	buf_init(&out);
	http_write_status_line(&out, status, SPAN_NULL);
	http_write_header(&out, SPAN_LIT("Content-Type"),
	    span_from_str(type));
	n = snprintf(num, sizeof num, "%zu", body->len);
	http_write_header(&out, SPAN_LIT("Content-Length"),
	    (struct span){ num, (size_t)n });
	http_write_header(&out, SPAN_LIT("Cache-Control"), SPAN_LIT("no-store"));
	if (status == 405)
		http_write_header(&out, SPAN_LIT("Allow"),
		    SPAN_LIT("GET, HEAD"));
	if (!keep)
		http_write_header(&out, SPAN_LIT("Connection"),
		    SPAN_LIT("close"));
	buf_append(&out, "\r\n", 2);
	if (!head_only && body->len > 0)
		buf_append(&out, body->data, body->len);
	hconn_queue_buf(h, &out);
	if (!keep)
		hconn_close_after(h);
}

static void
prom_request(struct hconn *h, const struct http_msg *m, const char *body,
    size_t body_len, uint64_t ready_ns)
{
	struct prom_server	*s = httpd_arg(hconn_httpd(h));
	struct buf		 b;
	int			 head = span_eq_str(m->method, "HEAD");

	(void)body;
	(void)body_len;
	(void)ready_ns;
	buf_init(&b);
	if (!head && !span_eq_str(m->method, "GET")) {
		buf_append_str(&b, "method not allowed\n");
		prom_reply(h, 405, "text/plain", &b, 0, m->keep_alive);
	} else if (!span_eq_str(m->path, "/metrics")) {
		buf_append_str(&b, "not found: the metrics are at /metrics\n");
		prom_reply(h, 404, "text/plain", &b, head, m->keep_alive);
	} else {
		s->fill(&b, s->arg);
		prom_reply(h, 200, "text/plain; version=0.0.4; charset=utf-8",
		    &b, head, m->keep_alive);
	}
	buf_free(&b);
}

static void
prom_reject(struct hconn *h, int status, const char *why, size_t off)
{
	struct buf	b;

	log_info("metrics: %s: %d %s (byte %zu); closing", hconn_peer(h),
	    status, why, off);
	buf_init(&b);
	buf_printf(&b, "%s\n", why);
	prom_reply(h, status, "text/plain", &b, 0, 0);
	buf_free(&b);
}

/* In struct httpd_role order (httpd.h): request and reject only. */
static const struct httpd_role prom_role = { prom_request, prom_reject,
	NULL, NULL, NULL, NULL, NULL };

static const struct httpd_config prom_httpd_config = {
	.max_head = PROM_MAX_HEAD,
	.max_body = 0,
	.header_timeout_ns = PROM_TIMEOUT_NS,
	.idle_timeout_ns = PROM_TIMEOUT_NS,
	.linger_ns = PROM_LINGER_NS,
	.read_chunk = PROM_READ_CHUNK,
	.out_high = PROM_OUT_HIGH,
	.max_conns = PROM_MAX_CONNS,
	.log_prefix = "metrics: ",
};

struct prom_server *
prom_server_create(struct loop *loop, const char *addr, prom_fill_cb fill,
    void *arg, char **cause)
{
	struct prom_server	*s;
	struct sock_addr	 sa, bound;
	char			 name[64];
	int			 fd;

	if (sock_parse_addr(addr, &sa, cause) == -1)
		return NULL;
	if ((fd = sock_listen(&sa, SOCK_SHARE_NONE, cause)) == -1)
		return NULL;
	if (sock_local_addr(fd, &bound) == -1) {
		*cause = xasprintf("getsockname: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	s = xcalloc(1, sizeof *s);
	s->fill = fill;
	s->arg = arg;
	s->port = sock_addr_port(&bound);
	s->httpd = httpd_create(loop, &prom_httpd_config, &prom_role, s);
	if (httpd_listen(s->httpd, fd) == -1) {
		*cause = xasprintf("epoll_ctl: %s", strerror(errno));
		close(fd);
		prom_server_free(s);
		return NULL;
	}
	log_info("metrics on http://%s/metrics",
	    sock_addr_str(&bound, name, sizeof name));
	return s;
}

int
prom_server_port(const struct prom_server *s)
{
	return s->port;
}

struct hconn *
prom_server_adopt(struct prom_server *s, struct conn *xc, const char *peer)
{
	return httpd_adopt(s->httpd, xc, peer);
}

void
prom_server_free(struct prom_server *s)
{
	if (s != NULL)
		httpd_free(s->httpd);
	free(s);
}
