/*
 * fuzz-snap-line.c -- fuzz target for snap_decode_line() and
 * snap_encode().
 *
 * Invariants: a line that decodes encodes to a line that decodes again,
 * and the two encodings are byte for byte the same (the encoder's output
 * is a fixed point); a failed decode leaves an error message with a column
 * inside the line (or just past it); nothing leaks.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "snap.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_txn	 t, t2;
	struct buf	 a, b;
	char		*cause = NULL, *end;
	unsigned long	 col;

	if (snap_decode_line((const char *)data, size, &t, &cause) == -1) {
		CHECK(cause != NULL && strncmp(cause, "column ", 7) == 0);
		col = strtoul(cause + 7, &end, 10);
		CHECK(*end == ':' && col >= 1 && col <= size + 1);
		free(cause);
		return 0;
	}
	buf_init(&a);
	buf_init(&b);
	snap_encode(&a, &t);
	CHECK(a.len > 0 && a.data[a.len - 1] == '\n');
	CHECK(memchr(a.data, '\n', a.len) == a.data + a.len - 1);
	if (snap_decode_line(a.data, a.len - 1, &t2, &cause) == -1)
		abort();
	snap_encode(&b, &t2);
	CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	snap_txn_free(&t);
	snap_txn_free(&t2);
	buf_free(&a);
	buf_free(&b);
	return 0;
}
