/*
 * arena.h -- bump allocation for data freed all at once (the responder's
 * index: a million entries' heads and bodies live and die together).
 *
 * Memory comes in blocks mapped with mmap(2) and handed out in 16-byte
 * aligned pieces; arena_free() unmaps them all, so the memory goes back
 * to the system at once (a reload's old generation leaves no heap behind)
 * and a piece costs neither a malloc header nor a free.  (Blocks are not
 * advised MADV_HUGEPAGE: measured on a 1M-transaction load, the kernel's
 * compaction cost more system time than the page faults it saved.)
 * Several threads may allocate from one arena at
 * once: each thread bumps in a block of its own and takes the lock only
 * for a new block, so the tail of a thread's last block is left unused
 * (address space only: pages never touched are never resident).
 */
#ifndef DECOY_ARENA_H
#define DECOY_ARENA_H

#include <stddef.h>

struct arena;

/*
 * A new arena whose blocks are block bytes (rounded up to 2 MiB; 0: 32
 * MiB) plus a 16-byte head.  A piece larger than a quarter of that gets a
 * mapping of its own.
 */
struct arena	*arena_create(size_t block);
/*
 * n bytes (n may be 0), 16-byte aligned, not zeroed, valid until
 * arena_free().  Thread-safe.  Never NULL: no memory is fatal().
 */
void		*arena_alloc(struct arena *, size_t n);
/*
 * Shrinks p, n bytes from arena_alloc(), to its first keep bytes (keep <=
 * n) when it is the last piece this thread took from a: the rest is
 * handed out next (and pages never reached are never touched).
 * Otherwise nothing changes.
 */
void		 arena_trim(struct arena *, void *p, size_t n, size_t keep);
/* Copies s[0..n) into the arena and NUL-terminates it. */
char		*arena_strndup(struct arena *, const char *s, size_t n);
/* Bytes mapped so far (blocks and large pieces, with a 16-byte head
 * each). */
size_t		 arena_mapped(const struct arena *);
/* Unmaps every block; no thread may still allocate from it.  NULL: no-op. */
void		 arena_free(struct arena *);

#endif
