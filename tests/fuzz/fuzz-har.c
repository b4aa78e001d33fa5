/*
 * fuzz-har.c -- fuzz target for har_import() and the HAR export.
 *
 * Invariants: a failed import leaves no transactions and a message
 * "fuzz.har:LINE:COL: ..." inside the input (or just past it): LINE at
 * most the input's lines, COL at least 1;
 * every imported transaction encodes to a snapshot line that decodes;
 * exporting the import and importing that again gives the same
 * transactions (the same snap_encode() bytes); nothing leaks.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "har.h"
#include "log.h"
#include "snap.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 init;
	struct snap_txn	*a, *b, t;
	struct buf	 har, ea, eb;
	char		*cause = NULL, *end;
	unsigned long	 line, col, lines;
	size_t		 na, nb, i;

	if (!init) {
		log_init("fuzz-har", LOG_LEVEL_ERROR);
		init = 1;
	}
	if (har_import("fuzz.har", (const char *)data, size, SNAP_DIR_OUT,
	    &a, &na, &cause) == -1) {
		CHECK(a == NULL && na == 0);
		CHECK(cause != NULL && strncmp(cause, "fuzz.har:", 9) == 0);
		line = strtoul(cause + 9, &end, 10);
		CHECK(*end == ':' && line >= 1);
		col = strtoul(end + 1, &end, 10);
		CHECK(*end == ':' && col >= 1 && col <= size + 1);
		for (i = 0, lines = 1; i < size; i++)
			if (data[i] == '\n')
				lines++;
		CHECK(line <= lines);
		free(cause);
		return 0;
	}

	buf_init(&har);
	buf_init(&ea);
	har_export_begin(&har);
	for (i = 0; i < na; i++) {
		size_t	start = ea.len;

		snap_encode(&ea, &a[i]);
		CHECK(snap_decode_line(ea.data + start, ea.len - start - 1, &t,
		    &cause) == 0);
		snap_txn_free(&t);
		har_export_entry(&har, &a[i], i);
	}
	har_export_end(&har);

	CHECK(har_import("export.har", har.data, har.len, SNAP_DIR_OUT, &b,
	    &nb, &cause) == 0);
	CHECK(nb == na);
	buf_init(&eb);
	for (i = 0; i < nb; i++)
		snap_encode(&eb, &b[i]);
	CHECK(ea.len == eb.len &&
	    (ea.len == 0 || memcmp(ea.data, eb.data, ea.len) == 0));

	buf_free(&har);
	buf_free(&ea);
	buf_free(&eb);
	har_txns_free(a, na);
	har_txns_free(b, nb);
	return 0;
}
