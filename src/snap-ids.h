/*
 * snap-ids.h -- transaction ids made unique: a set of the ids a writer
 * has seen, and a fresh id ("t-000003~2") for one that came before, so a
 * snapshot rewritten by decoy never repeats an id even when its input did
 * (snapshots concatenated with cat, recorders appending to one file);
 * `decoy inspect` counts the repeated ones with the same set.
 */
#ifndef DECOY_SNAP_IDS_H
#define DECOY_SNAP_IDS_H

#include <stddef.h>

struct snap_ids;

struct snap_ids	*snap_ids_create(void);
void		 snap_ids_free(struct snap_ids *);

/*
 * Records id.  Returns id when it was not seen before; else sets *fresh
 * to a new id "ID~N" (N = 2, 3 ... the first not seen either), records
 * it, and returns it (the caller frees *fresh).  *fresh is NULL when id
 * is returned.
 */
const char	*snap_ids_unique(struct snap_ids *, const char *id,
		    char **fresh);
/*
 * Records id, first seen on line (any number the caller counts by; 0 if
 * none), and returns 0; or, when id was recorded before, returns 1 and
 * sets *first (when not NULL) to the line it was recorded with.
 */
int		 snap_ids_seen(struct snap_ids *, const char *id, size_t line,
		    size_t *first);
/* How many ids were renamed so far. */
size_t		 snap_ids_renamed(const struct snap_ids *);

/*
 * The prefix of the ids a recorder gives its transactions (the prefix and
 * six or more digits: "t-000001"), into buf (16 bytes are enough): "t-"
 * for a snapshot of its own; with append, "t-" and a tag of 6 random
 * characters from [0-9a-z] and '-' ("t-k3x9pa-"), so recorders that
 * append to one snapshot, one after another or at once, give distinct
 * ids.
 */
void		 snap_ids_run_prefix(char *buf, size_t size, int append);

#endif
