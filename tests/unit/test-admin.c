/*
 * test-admin.c -- the admin API's role over the in-memory transport: an
 * admin created on a responder (both bind 127.0.0.1:0, never connected
 * to; no thread runs) is handed mem connections (admin_adopt) driven with
 * hconn_io.  GET /stats after traffic on the responder (its counters in
 * the JSON), GET /health, HEAD, an unknown route (404), a method not
 * allowed (405 with Allow), a pipelined pair in order, a body over the
 * limit (413), and the bearer token (401 without, 200 with).
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "buf.h"
#include "conn.h"
#include "httpd.h"
#include "respond.h"
#include "unit.h"
#include "mem.h"

static char	tmpdir[] = "/tmp/test-admin.XXXXXX";
static char	snap[256];

static const char snapshot[] =
    "{\"v\":1,\"id\":\"t-1\",\"dir\":\"out\",\"req\":{\"method\":\"GET\","
    "\"target\":\"/v1/items/1\",\"host\":\"api.example\"},\"res\":{"
    "\"status\":200,\"reason\":\"OK\",\"body\":\"one\"}}\n";

/* Sends s on a fresh buffer and returns the raw reply in b. */
static void
ask(struct conn *cl, struct hconn *c, const char *s, struct buf *b)
{
	buf_reset(b);
	mem_put(cl, s);
	hconn_io(c, CONN_READ);
	mem_drain(cl, b);
	buf_append_byte(b, '\0');
}

static int
starts(const struct buf *b, const char *s)
{
	return b->len >= strlen(s) && memcmp(b->data, s, strlen(s)) == 0;
}

static struct responder *
responder(void)
{
	struct respond_config	 cfg;
	struct responder	*r;
	char			*cause = NULL;

	respond_config_init(&cfg);
	cfg.snapshot = snap;
	cfg.workers = 1;
	respond_config_add_listen(&cfg, "127.0.0.1:0");
	if ((r = respond_create(&cfg, &cause)) == NULL)
		fprintf(stderr, "respond_create: %s\n", cause);
	cfg.snapshot = NULL;
	respond_config_free(&cfg);
	free(cause);
	return r;
}

static void
test_routes(struct responder *r)
{
	struct admin	*a;
	struct conn	*cl, *sv, *rcl, *rsv;
	struct hconn	*c, *rc;
	struct buf	 b;
	char		*cause = NULL, big[256];

	buf_init(&b);
	/* Traffic on the responder first: one match, one miss. */
	conn_mem_pair(&rcl, &rsv);
	rc = respond_adopt(r, rsv, "mem");
	ask(rcl, rc, "GET /v1/items/1 HTTP/1.1\r\nHost: a\r\n\r\n"
	    "GET /x HTTP/1.1\r\nHost: a\r\n\r\n", &b);
	ASSERT(mem_has(&b, "one"));

	a = admin_create(r, "127.0.0.1:0", NULL, NULL, &cause);
	ASSERT(a != NULL);
	if (a == NULL) {
		fprintf(stderr, "admin_create: %s\n", cause);
		free(cause);
		return;
	}
	conn_mem_pair(&cl, &sv);
	c = admin_adopt(a, sv, "mem");
	ASSERT(c != NULL);

	ask(cl, c, "GET /stats HTTP/1.1\r\nHost: a\r\n\r\n", &b);
	ASSERT(starts(&b, "HTTP/1.1 200 "));
	ASSERT(mem_has(&b, "Content-Type: application/json"));
	ASSERT(mem_has(&b, "\"requests\":2,\"matched\":1,\"closest\":0,"
	    "\"unmatched\":1,"));
	ASSERT(mem_has(&b, "\"connections\":1,\"open\":1"));

	ask(cl, c, "GET /health HTTP/1.1\r\nHost: a\r\n\r\n", &b);
	ASSERT(starts(&b, "HTTP/1.1 200 "));
	ASSERT(mem_has(&b, "\"status\":\"ok\""));

	ask(cl, c, "HEAD /health HTTP/1.1\r\nHost: a\r\n\r\n", &b);
	ASSERT(starts(&b, "HTTP/1.1 200 "));
	ASSERT(!mem_has(&b, "\"status\""));

	ask(cl, c, "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n", &b);
	ASSERT(starts(&b, "HTTP/1.1 404 "));

	ask(cl, c, "DELETE /stats HTTP/1.1\r\nHost: a\r\n\r\n", &b);
	ASSERT(starts(&b, "HTTP/1.1 405 "));
	ASSERT(mem_has(&b, "Allow: GET, HEAD"));

	/* A pipelined pair, answered in order. */
	ask(cl, c, "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
	    "GET /health HTTP/1.1\r\nHost: a\r\n\r\n", &b);
	ASSERT(starts(&b, "HTTP/1.1 404 "));
	ASSERT(mem_has(&b, "\r\n\r\n{\"error\":") &&
	    mem_has(&b, "HTTP/1.1 200 ") &&
	    (char *)memmem(b.data, b.len, "HTTP/1.1 200 ", 13) >
	    (char *)memmem(b.data, b.len, "HTTP/1.1 404 ", 13));

	/* A body over 1 MiB: 413, then the connection closes. */
	snprintf(big, sizeof big, "POST /rules HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 2000000\r\n\r\n");
	ask(cl, c, big, &b);
	ASSERT(starts(&b, "HTTP/1.1 413 "));
	ASSERT(mem_has(&b, "body too large (1MiB at most)"));
	ASSERT(mem_has(&b, "Connection: close"));
	conn_close(cl);
	hconn_io(c, CONN_READ);
	ASSERT_EQ(hconn_is_dead(c), 1);

	conn_close(rcl);
	hconn_io(rc, CONN_READ);
	admin_stop(a);
	buf_free(&b);
}

static void
test_token(struct responder *r)
{
	struct admin	*a;
	struct conn	*cl, *sv;
	struct hconn	*c;
	struct buf	 b;
	char		*cause = NULL;

	buf_init(&b);
	a = admin_create(r, "127.0.0.1:0", "s3cret", NULL, &cause);
	ASSERT(a != NULL);
	if (a == NULL) {
		free(cause);
		return;
	}
	conn_mem_pair(&cl, &sv);
	c = admin_adopt(a, sv, "mem");
	ask(cl, c, "GET /health HTTP/1.1\r\nHost: a\r\n\r\n", &b);
	ASSERT(starts(&b, "HTTP/1.1 401 "));
	ASSERT(mem_has(&b, "WWW-Authenticate: Bearer"));
	ask(cl, c, "GET /health HTTP/1.1\r\nHost: a\r\n"
	    "Authorization: Bearer wrong\r\n\r\n", &b);
	ASSERT(starts(&b, "HTTP/1.1 401 "));
	ask(cl, c, "GET /health HTTP/1.1\r\nHost: a\r\n"
	    "Authorization: Bearer s3cret\r\n\r\n", &b);
	ASSERT(starts(&b, "HTTP/1.1 200 "));
	conn_close(cl);
	hconn_io(c, CONN_READ);
	admin_stop(a);
	buf_free(&b);
}

int
main(void)
{
	struct responder	*r;
	FILE			*f;

	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	snprintf(snap, sizeof snap, "%s/snap.jsonl", tmpdir);
	if ((f = fopen(snap, "w")) == NULL || fputs(snapshot, f) == EOF) {
		perror(snap);
		return 99;
	}
	fclose(f);
	if ((r = responder()) == NULL)
		UNIT_FAIL("no responder");
	else {
		test_routes(r);
		test_token(r);
		respond_free(r);
	}
	unlink(snap);
	rmdir(tmpdir);
	UNIT_DONE();
}
