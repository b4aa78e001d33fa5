/*
 * test-prom.c -- the Prometheus text writer (label escaping, families,
 * counters, build info and start time) and the /metrics server over the
 * mem transport (prom_server_adopt, driven with hconn_io): GET and HEAD
 * /metrics with the fill callback's text, 404 elsewhere, 405 for other
 * methods, 400 for a malformed request.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conn.h"
#include "httpd.h"
#include "loop.h"
#include "prom.h"
#include "unit.h"

static int
contains(const struct buf *b, const char *s)
{
	return b->data != NULL && strstr(b->data, s) != NULL;
}

static int
starts(const struct buf *b, const char *s)
{
	return b->len >= strlen(s) && memcmp(b->data, s, strlen(s)) == 0;
}

static void
test_writer(void)
{
	struct buf	b;

	buf_init(&b);
	prom_label(&b, "a\"b\\c\nd");
	buf_append_byte(&b, '\0');
	ASSERT_STR_EQ(b.data, "a\\\"b\\\\c\\nd");

	buf_reset(&b);
	prom_counter(&b, "x_total", "counter", "Things.", 42);
	buf_append_byte(&b, '\0');
	ASSERT_STR_EQ(b.data, "# HELP x_total Things.\n# TYPE x_total counter\n"
	    "x_total 42\n");

	buf_reset(&b);
	prom_rows(&b, (const struct prom_row[]){ { "a_total", "A.", 1 },
	    { "open_now", "B.", 2 }, { "_total", "C.", 3 } }, 3);
	buf_append_byte(&b, '\0');
	ASSERT_STR_EQ(b.data, "# HELP a_total A.\n# TYPE a_total counter\n"
	    "a_total 1\n# HELP open_now B.\n# TYPE open_now gauge\n"
	    "open_now 2\n# HELP _total C.\n# TYPE _total gauge\n_total 3\n");

	{
		uint64_t	counts[PROM_NSTATUS] = { 0 };

		counts[0] = 1;
		counts[200 - 100] = 5;
		counts[599 - 100] = 2;
		buf_reset(&b);
		prom_status_counts(&b, "r_total", counts);
		buf_append_byte(&b, '\0');
		ASSERT_STR_EQ(b.data, "# HELP r_total Recorded responses, by "
		    "status.\n# TYPE r_total counter\nr_total{status=\"100\"} "
		    "1\nr_total{status=\"200\"} 5\nr_total{status=\"599\"} 2\n");
	}

	buf_reset(&b);
	prom_uptime(&b, 1.5);
	buf_append_byte(&b, '\0');
	ASSERT(contains(&b, "# TYPE decoy_uptime_seconds gauge\n"
	    "decoy_uptime_seconds 1.500\n"));
	ASSERT(contains(&b, "\ndecoy_build_info{version="));

	buf_reset(&b);
	prom_process(&b, 10.0);
	buf_append_byte(&b, '\0');
	ASSERT(contains(&b, "# TYPE decoy_build_info gauge\n"
	    "decoy_build_info{version=\"" PACKAGE_VERSION "\"} 1\n"));
	ASSERT(contains(&b, "# TYPE process_start_time_seconds gauge\n"
	    "process_start_time_seconds "));
	buf_free(&b);
}

static int	fills;

static void
fill(struct buf *b, void *arg)
{
	fills++;
	prom_counter(b, "t_total", "counter", "Test.", *(uint64_t *)arg);
}

static void
ask(struct conn *cl, struct hconn *c, const char *s, struct buf *b)
{
	char	tmp[4096];
	ssize_t	n;

	buf_reset(b);
	ASSERT_EQ(conn_write(cl, s, strlen(s)), (ssize_t)strlen(s));
	hconn_io(c, CONN_READ);
	while ((n = conn_read(cl, tmp, sizeof tmp)) > 0)
		buf_append(b, tmp, (size_t)n);
	buf_append_byte(b, '\0');
}

static void
test_server(void)
{
	struct loop		*loop;
	struct prom_server	*s;
	struct conn		*cl, *sv;
	struct hconn		*c;
	struct buf		 b;
	uint64_t		 v = 7;
	char			*cause = NULL;

	if ((loop = loop_create(&cause)) == NULL) {
		UNIT_FAIL("loop_create: %s", cause);
		free(cause);
		return;
	}
	s = prom_server_create(loop, "127.0.0.1:0", fill, &v, &cause);
	ASSERT(s != NULL);
	if (s == NULL) {
		UNIT_FAIL("prom_server_create: %s", cause);
		free(cause);
		loop_free(loop);
		return;
	}
	ASSERT(prom_server_port(s) > 0);
	buf_init(&b);
	conn_mem_pair(&cl, &sv);
	c = prom_server_adopt(s, sv, "mem");
	ASSERT(c != NULL);

	ask(cl, c, "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", &b);
	ASSERT(starts(&b, "HTTP/1.1 200 "));
	ASSERT(contains(&b, "Content-Type: text/plain; version=0.0.4; "
	    "charset=utf-8\r\n"));
	ASSERT(contains(&b, "Content-Length: 54\r\n"));
	ASSERT(contains(&b, "\r\n\r\n# HELP t_total Test.\n"));
	ASSERT(contains(&b, "\nt_total 7\n"));
	ASSERT_EQ(fills, 1);

	v = 8;
	ask(cl, c, "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", &b);
	ASSERT(contains(&b, "\nt_total 8\n"));

	ask(cl, c, "HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\n", &b);
	ASSERT(starts(&b, "HTTP/1.1 200 "));
	ASSERT(!contains(&b, "t_total"));

	ask(cl, c, "GET /other HTTP/1.1\r\nHost: a\r\n\r\n", &b);
	ASSERT(starts(&b, "HTTP/1.1 404 "));
	ask(cl, c, "POST /metrics HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 0\r\n\r\n", &b);
	ASSERT(starts(&b, "HTTP/1.1 405 "));
	ASSERT(contains(&b, "Allow: GET, HEAD\r\n"));

	ask(cl, c, "GET /metrics HTTP/9.9 junk\r\n\r\n", &b);
	ASSERT(starts(&b, "HTTP/1.1 4"));
	ASSERT(contains(&b, "Connection: close\r\n"));

	conn_close(cl);
	loop_run_deferred(loop);
	prom_server_free(s);
	loop_run_deferred(loop);
	loop_free(loop);
	buf_free(&b);
}

int
main(void)
{
	test_writer();
	test_server();
	UNIT_DONE();
}
