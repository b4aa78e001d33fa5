/*
 * har.h -- HAR 1.2 (HTTP Archive) import into snapshot transactions and
 * export of snapshot transactions as HAR.
 *
 * Import walks the document with our own JSON reader (json.h), never
 * cJSON, so bodies keep every byte (NUL included) and digits inside text
 * bodies are never turned into doubles.  Export writes every string with
 * json_append_string(); bodies that are not UTF-8 text (or hold NUL) are
 * written as base64 with "encoding": "base64".
 */
#ifndef DECOY_HAR_H
#define DECOY_HAR_H

#include <stddef.h>

#include "buf.h"
#include "snap.h"

/*
 * Decodes the HAR document buf[0..len) into *txns (an allocated array of
 * *n transactions, each with direction dir; free with har_txns_free()).
 * name only labels messages.  Entries whose URL is not http(s) or ws(s)
 * (data:, blob:, extension URLs) are skipped with a warning.  An entry
 * with a "_decoy" member (our export) is that transaction exactly: every
 * snapshot member from "_decoy", the bodies from postData and content.
 * Returns 0, or -1 with *cause = "NAME:LINE:COL: message" (allocated; the
 * 1-based line and byte column of the offending byte) and nothing to
 * free.
 */
int	har_import(const char *name, const char *buf, size_t len,
	    enum snap_dir dir, struct snap_txn **txns, size_t *n,
	    char **cause);

/* Frees n transactions and the array. */
void	har_txns_free(struct snap_txn *txns, size_t n);

/*
 * Export, one entry at a time so a large snapshot is never held whole:
 * har_export_begin(), then har_export_entry() for each transaction with
 * index 0, 1, ..., then har_export_end().  Everything is appended to out.
 * Each entry carries "_decoy", the transaction's snapshot line without
 * its bodies (a HAR 1.2 custom field), so that import restores it byte
 * for byte.
 */
void	har_export_begin(struct buf *out);
void	har_export_entry(struct buf *out, const struct snap_txn *t,
	    size_t index);
void	har_export_end(struct buf *out);

#endif
