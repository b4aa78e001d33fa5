/*
 * fuzz-record-h2.c -- fuzz target for the recorder's HTTP/2 relay
 * (record-h2.c): both peers are the input.  Bytes go to the client side
 * or to the upstream side in pieces, and after each piece the frames due
 * to each side are taken (and dropped), as the recorder's loop does.
 *
 * Input: a sequence of records [tag, len, len bytes]: tag bit 0 picks
 * the side (0 client, 1 upstream), bit 1 a loss of that side after the
 * piece, bit 2 an h2c upgrade of a fixed GET before the first piece; the
 * client's bytes should start with the preface (the seeds do: nghttp's
 * and grpcio's first bytes, a server's SETTINGS and HEADERS).  Bit 3 of
 * the first tag makes the upstream an HTTP/1.1 one (cfg.h1): its bytes
 * are HTTP/1.1 answers, and its loss is an EOF (the connection made
 * again, as record.c does); bit 4 makes it one to probe (cfg.probe): an
 * upstream piece starting "HTTP/" while probing turns it HTTP/1.1, as
 * record.c does, and the piece is dropped with the connection.
 *
 * Invariants: nothing crashes or leaks (ASan); every stream handed over
 * is handed once, with a method and a target; the output bound holds.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "http.h"
#include "record-h2.h"

static size_t	fz_handed;

static void
fz_txn(void *arg, struct record_h2_txn *x)
{
	(void)arg;
	if (x->t.req.method == NULL || x->t.req.target == NULL)
		abort();
	fz_handed++;
}

static void
fz_out(struct record_h2 *h, struct buf *b)
{
	buf_reset(b);
	(void)record_h2_client_out(h, b, 16384);
	if (b->len > 16384 + 65536)
		abort();
	buf_reset(b);
	(void)record_h2_upstream_out(h, b, 16384);
	if (b->len > 16384 + 65536)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	 up[] = "GET /u HTTP/1.1\r\nHost: h\r\n"
				    "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\n"
				    "\r\n";
	struct record_h2_config	 cfg;
	struct record_h2	*h;
	struct http_msg		 m;
	enum http_err		 err;
	struct buf		 b;
	size_t			 off = 0, n, erroff;
	char			*cause = NULL;
	uint8_t			 tag;

	memset(&cfg, 0, sizeof cfg);
	cfg.max_body = 4096;
	cfg.scheme = "http";
	cfg.txn = fz_txn;
	cfg.h1 = size > 0 && (data[0] & 8);
	cfg.probe = size > 0 && (data[0] & 16);
	if ((h = record_h2_create(&cfg, &cause)) == NULL) {
		free(cause);
		return 0;
	}
	buf_init(&b);
	fz_handed = 0;
	if (size > 0 && (data[0] & 4) && http_parse_request(up, sizeof up - 1,
	    8192, &m, &err, &erroff) > 0)
		(void)record_h2_upgrade(h, "\0\3\0\0\0\x64", 6, &m);
	while (off + 2 <= size) {
		tag = data[off];
		n = data[off + 1];
		off += 2;
		if (n > size - off)
			n = size - off;
		if ((tag & 1) && record_h2_is_probing(h) && n >= 5 &&
		    memcmp(data + off, "HTTP/", 5) == 0) {
			record_h2_upstream_h1(h);
			cfg.h1 = 1;
		} else if (tag & 1)
			(void)record_h2_upstream_in(h, (const char *)data + off,
			    n);
		else
			(void)record_h2_client_in(h, (const char *)data + off, n);
		off += n;
		fz_out(h, &b);
		if ((tag & 3) == 3 && cfg.h1) {
			record_h2_upstream_eof(h);
			if (record_h2_h1_done(h))
				record_h2_h1_conn(h);
		} else if (tag & 2)
			record_h2_lost(h, tag & 1, "lost");
		fz_out(h, &b);
	}
	record_h2_lost(h, 0, "end");
	if (record_h2_streams(h) != 0)
		abort();
	record_h2_free(h);
	buf_free(&b);
	return 0;
}
