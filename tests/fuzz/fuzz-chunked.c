/*
 * fuzz-chunked.c -- fuzz target for the chunked decoder,
 * http_chunked_decode(), on its own (fuzz-http-request reaches it only
 * behind a valid head).
 *
 * Input: byte 0 picks the piece size for the incremental run (1 + b % 13)
 * and the chunk sizes for the round trip; the rest is the body.
 *
 * Invariants: fed whole or in pieces the decoder gives the same body,
 * trailing bytes and error (fuzz_check_chunked); the decoded body is
 * shorter than the input; and the rest, encoded as chunks of sizes taken
 * from the input (with upper- or lower-case hex, leading zeros, chunk
 * extensions and a trailer field), decodes back to exactly those bytes
 * with nothing left over.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "fuzz-http-check.h"
#include "http.h"

static void
put_hex(struct buf *b, size_t v, int upper, int zeros)
{
	const char	*dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char		 tmp[32];
	size_t		 n = sizeof tmp;

	do {
		tmp[--n] = dig[v & 15];
		v >>= 4;
	} while (v > 0);
	while (zeros-- > 0)
		tmp[--n] = '0';
	buf_append(b, tmp + n, sizeof tmp - n);
}

/* Encodes p[0..len) with chunk sizes drawn from p itself; decodes it. */
static void
check_roundtrip(const uint8_t *p, size_t len, unsigned mode)
{
	struct http_chunked	 ch;
	struct buf		 enc;
	enum http_err		 err;
	size_t			 pos = 0, n, i = 0, dlen, erroff;
	ssize_t			 r;
	char			*copy;

	buf_init(&enc);
	while (pos < len) {
		n = 1 + p[i++ % len] % 64;
		if (n > len - pos)
			n = len - pos;
		put_hex(&enc, n, mode & 1, (mode >> 1) & 3);
		if (mode & 8)
			buf_append_str(&enc, ";ext=1;q=\"v\"");
		buf_append_str(&enc, "\r\n");
		buf_append(&enc, p + pos, n);
		buf_append_str(&enc, "\r\n");
		pos += n;
	}
	buf_append_str(&enc, "0\r\n");
	if (mode & 16)
		buf_append_str(&enc, "X-Trailer: yes\r\n");
	buf_append_str(&enc, "\r\n");

	copy = malloc(enc.len);
	if (copy == NULL)
		abort();
	memcpy(copy, enc.data, enc.len);
	dlen = enc.len;
	http_chunked_init(&ch);
	r = http_chunked_decode(&ch, copy, &dlen, &err, &erroff);
	CHECK(r == 0);
	CHECK(dlen == len);
	CHECK(len == 0 || memcmp(copy, p, len) == 0);
	free(copy);
	buf_free(&enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	fuzz_check_chunked(data + 1, size - 1, 1 + data[0] % 13);
	check_roundtrip(data + 1, size - 1, data[0]);
	return 0;
}
