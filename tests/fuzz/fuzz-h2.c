/*
 * fuzz-h2.c -- fuzz target for the HTTP server's HTTP/2 glue
 * (httpd-h2.c): the input is what a client sends on one connection, fed
 * to an httpd connection over the mem transport in pieces, with a role
 * whose replies take every path of the glue (a reply, a held one, an
 * abort, a reset with a code, a GOAWAY, a body cut short, a stall, a
 * SETTINGS timeout, an oversize filler).
 *
 * Input: byte 0 picks the piece size (1 + b % 64, or all at once when
 * b >= 192); the rest is the client's bytes (a preface and frames, or an
 * HTTP/1.1 request asking for Upgrade: h2c; the seeds are curl's and
 * nghttp's first bytes).
 *
 * Invariants: nothing crashes or leaks (ASan), the role's streams are all
 * freed with the connection, and a connection that opened with the
 * preface answers with a SETTINGS frame first.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conn.h"
#include "fuzz.h"
#include "httpd.h"
#include "log.h"
#include "loop.h"

static struct loop	*fz_loop;
static struct httpd	*fz_httpd;
static int		 fz_live;	/* streams and connections alive */
static struct hconn	*fz_held;

static void
fz_request(struct hconn *c, const struct http_msg *m, const char *body,
    size_t body_len, uint64_t ready_ns)
{
	struct buf	b;
	char		k = m->path.len > 1 ? m->path.p[1] : '-';

	(void)ready_ns;
	buf_init(&b);
	switch (k) {
	case 'a':
		hconn_abort(c);
		return;
	case 'r':
		hconn_h2_reset(c, (uint32_t)m->path.len);
		return;
	case 'g':
		hconn_h2_goaway(c, (uint32_t)body_len);
		return;
	case 'h':
		/* Held until the next request comes (or for good). */
		if (fz_held != NULL && !hconn_is_dead(fz_held)) {
			hconn_release(fz_held);
			hconn_queue(fz_held, "HTTP/1.1 204 No\r\n\r\n", 19,
			    NULL);
			hconn_step(fz_held);
		}
		hconn_hold(c, 1);
		fz_held = c;
		return;
	case 't':
		hconn_h2_settings_timeout(c);
		hconn_hold(c, 0);
		return;
	case 'c':
		buf_printf(&b, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nab");
		hconn_queue_buf(c, &b);
		hconn_close_after(c);
		return;
	case 's':
		(void)hconn_h2_stall(c);
		/* FALLTHROUGH */
	case 'o':
		buf_printf(&b, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n"
		    "\r\n");
		hconn_queue_buf(c, &b);
		hconn_stream(c, "0123456789", 10, 100000);
		return;
	case 'x':
		/* Not HTTP: the stream is reset. */
		hconn_queue(c, "garbage\r\n\r\n", 11, NULL);
		return;
	default:
		buf_printf(&b, "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
		    "Content-Length: %zu\r\n\r\n", body_len);
		buf_append(&b, body, body_len);
		hconn_queue_buf(c, &b);
		return;
	}
}

static void
fz_reject(struct hconn *c, int status, const char *why, size_t off)
{
	struct buf	b;

	(void)off;
	buf_init(&b);
	buf_printf(&b, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s", status, strlen(why), why);
	hconn_queue_buf(c, &b);
}

static int
fz_accepted(struct hconn *c)
{
	(void)c;
	fz_live++;
	return 0;
}

static void
fz_freed(struct hconn *c)
{
	if (c == fz_held)
		fz_held = NULL;
	fz_live--;
}

static const struct httpd_role fz_role = { fz_request, fz_reject,
	fz_accepted, fz_freed, NULL, NULL, NULL };

static void
fz_init(void)
{
	struct httpd_config	cfg;

	log_init("fuzz-h2", LOG_LEVEL_ERROR);
	memset(&cfg, 0, sizeof cfg);
	cfg.max_head = 4096;
	cfg.max_body = 4096;
	cfg.header_timeout_ns = 10ull * 1000000000u;
	cfg.idle_timeout_ns = 60ull * 1000000000u;
	cfg.linger_ns = 1000000000u;
	cfg.out_high = 256 * 1024;
	cfg.h2 = 1;
	if ((fz_loop = loop_create(NULL)) == NULL)
		abort();
	fz_httpd = httpd_create(fz_loop, &cfg, &fz_role, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	 pre[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct conn		*cl, *sv;
	struct hconn		*c;
	struct buf		 out;
	char			 tmp[16384];
	size_t			 piece, off = 1, n;
	ssize_t			 r;
	int			 i;

	if (fz_loop == NULL)
		fz_init();
	if (size < 1)
		return 0;
	piece = data[0] >= 192 ? size : 1 + (size_t)(data[0] % 64);
	conn_mem_pair(&cl, &sv);
	if ((c = httpd_adopt(fz_httpd, sv, "fuzz")) == NULL)
		abort();
	buf_init(&out);
	while (!hconn_is_dead(c)) {
		n = size - off < piece ? size - off : piece;
		if (n > 0 && conn_write(cl, data + off, n) != (ssize_t)n)
			break;
		off += n;
		/* The client reads everything, so output never blocks. */
		for (i = 0; i < 4 && !hconn_is_dead(c); i++) {
			hconn_io(c, CONN_READ | CONN_WRITE);
			while ((r = conn_read(cl, tmp, sizeof tmp)) > 0)
				buf_append(&out, tmp, (size_t)r);
		}
		if (off >= size)
			break;
	}
	if (size - 1 >= 24 && memcmp(data + 1, pre, 24) == 0 &&
	    out.len >= 9 && out.data[3] != 4)
		abort();	/* h2 opens with SETTINGS */
	if (!hconn_is_dead(c))
		hconn_close(c);
	loop_run_deferred(fz_loop);
	if (fz_live != 0)
		abort();	/* a stream outlived its connection */
	conn_close(cl);
	buf_free(&out);
	return 0;
}
