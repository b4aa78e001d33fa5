/*
 * fuzz-h2-client.c -- fuzz target for the HTTP/2 client glue
 * (httpc-h2.h): its response handling, over the in-memory transport.
 *
 * A session is made and three requests are submitted (GET, a POST with a
 * body, HEAD), their frames written; then the input is what the server
 * sends back, fed in pieces (byte 0 picks the piece size, 1 + b % 61)
 * with I/O after each piece, and finally the server's end of the stream.
 * Byte 1's low bit cancels the second request before any answer.
 * The seeds (corpora/h2-client/) are the bytes nghttpd and h2o really
 * sent back to exactly these requests: the client's 168 bytes (preface,
 * SETTINGS, the three streams), written by the glue over the mem
 * transport, sent over loopback, the answer recorded until 0.5 s of
 * silence (2026-12-08), after two bytes as above:
 *   nghttpd           nghttpd --no-tls -d www (www/hello.txt: "hello h2")
 *   nghttpd-echo      ... --echo-upload
 *   nghttpd-trailer   ... --trailer "grpc-status: 0"
 *   nghttpd-m1        ... -m 1 (the other streams refused: RST_STREAM)
 *   nghttpd-padding   ... -b 20 (padded frames)
 *   nghttpd-nocl      ... --no-content-length
 *   h2o               h2o 2.2.5, file.dir www
 *   nghttpd-bytewise  nghttpd's answer fed one byte at a time
 *   nghttpd-trailer-cancel  with the second request cancelled
 *   nghttpd-cut       nghttpd's answer cut at 200 bytes (then the close)
 *
 * Invariants: each stream submitted (and not cancelled) is reported
 * exactly once, with its own arg; a complete response has a status in
 * 100..999 (a final one, 200 and up) and its body within max_body; an
 * error carries no claim of success; once the session is over nothing is
 * in flight and it asks for no events; everything is freed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "fuzz.h"
#include "http.h"
#include "httpc-h2.h"

#define NREQ		3
#define MAX_BODY	4096

static void
check(int cond)
{
	if (!cond)
		abort();
}

static const struct http_header	hdrs[] = {
	{ { "accept", 6 }, { "*/*", 3 } },
	{ { "content-type", 12 }, { "text/plain", 10 } },
};

/* The three requests, streams 1, 3 and 5 (the seeds answer these). */
static const struct httpc_h2_req reqs[NREQ] = {
	{ SPAN_LIT("GET"), SPAN_LIT("http"), SPAN_LIT("127.0.0.1"),
	  SPAN_LIT("/hello.txt"), hdrs, 1, SPAN_NULL },
	{ SPAN_LIT("POST"), SPAN_LIT("http"), SPAN_LIT("127.0.0.1"),
	  SPAN_LIT("/echo"), hdrs, 2, SPAN_LIT("0123456789") },
	{ SPAN_LIT("HEAD"), SPAN_LIT("http"), SPAN_LIT("127.0.0.1"),
	  SPAN_LIT("/hello.txt"), hdrs, 1, SPAN_NULL },
};

/* Takes the finished streams, checking each. */
static void
take(struct httpc_h2 *s, int *seen)
{
	struct httpc_h2_resp	r;
	intptr_t		i;

	while (httpc_h2_done(s, &r)) {
		i = (intptr_t)r.arg;
		check(i >= 0 && i < NREQ && seen[i] == 0);
		check(r.stream_id == 1 + 2 * (int32_t)i);
		seen[i] = 1;
		if (r.err == HTTPC_H2_E_NONE) {
			check(r.status >= 200 && r.status <= 999);
			check(r.body.len <= MAX_BODY);
			check(r.code == 0);
		} else
			check(httpc_h2_strerror(r.err) != NULL &&
			    httpc_h2_code_name(r.code) != NULL);
		check(r.nheaders == 0 || r.headers != NULL);
		check(r.ntrailers == 0 || r.trailers != NULL);
	}
}

/* Reads and drops what the client wrote. */
static void
drain(struct conn *b)
{
	char	buf[4096];

	while (conn_read(b, buf, sizeof buf) > 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct httpc_h2_config	 cfg = { .max_body = MAX_BODY };
	struct httpc_h2		*s;
	struct conn		*a, *b;
	int32_t			 ids[NREQ];
	int			 seen[NREQ] = { 0 }, over = 0, i;
	size_t			 off = 2, piece;
	char			*cause = NULL;

	if (len < 2)
		return 0;
	piece = 1 + data[0] % 61;
	conn_mem_pair(&a, &b);
	if ((s = httpc_h2_create(a, &cfg, &cause)) == NULL)
		abort();
	for (i = 0; i < NREQ; i++) {
		ids[i] = httpc_h2_submit(s, &reqs[i], (void *)(intptr_t)i);
		check(ids[i] == 1 + 2 * i);
	}
	if (data[1] & 1) {
		check(httpc_h2_cancel(s, ids[1]) == 0);
		seen[1] = 1;		/* never reported */
	}
	check(httpc_h2_io(s, CONN_WRITE) == 0);
	drain(b);
	while (off < len && !over) {
		size_t	n = len - off < piece ? len - off : piece;

		check(conn_write(b, data + off, n) == (ssize_t)n);
		off += n;
		over = httpc_h2_io(s, CONN_READ | CONN_WRITE) == -1;
		take(s, seen);
		drain(b);
	}
	/* The server's end of the stream. */
	conn_close(b);
	if (!over)
		check(httpc_h2_io(s, CONN_READ | CONN_WRITE) == -1);
	take(s, seen);
	check(httpc_h2_inflight(s) == 0);
	check(httpc_h2_events(s) == 0);
	check(!httpc_h2_is_open(s));
	for (i = 0; i < NREQ; i++)
		check(seen[i] == 1);
	httpc_h2_free(s);
	return 0;
}
