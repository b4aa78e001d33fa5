/*
 * arena.c -- bump allocation in mmap'd blocks, freed all at once (see
 * arena.h).
 *
 * Each thread keeps the block it bumps in, keyed by the arena's uid
 * (never reused), so a thread that moves on to a new arena (a reload)
 * never bumps in a block of a freed one.  Blocks are listed in the arena
 * under its lock, which is taken only to map a block.
 */
#include "config.h"

#include <sys/mman.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "log.h"
#include "xmalloc.h"

#define ARENA_HUGE	((size_t)2 << 20)
#define ARENA_DEFAULT	((size_t)32 << 20)
#define ARENA_ALIGN	((size_t)16)
/* Pages are populated this much at a time, ahead of the bump pointer. */
#define ARENA_POPULATE	((size_t)1 << 20)

/* The head of every mapping: the arena lists them through it. */
struct arena_map {
	struct arena_map	*next;
	size_t			 len;
};
#define ARENA_HEAD	((sizeof (struct arena_map) + ARENA_ALIGN - 1) & \
			    ~(ARENA_ALIGN - 1))

struct arena {
	uint64_t		 uid;
	size_t			 block;
	pthread_mutex_t		 lock;
	struct arena_map	*maps;
	size_t			 mapped;
};

/* The block this thread bumps in; [p, ready) is populated. */
struct arena_cursor {
	uint64_t	 uid;
	char		*p;
	size_t		 left;
	char		*ready;
};
static _Thread_local struct arena_cursor arena_cursor;
static _Atomic uint64_t arena_next_uid = 1;

struct arena *
arena_create(size_t block)
{
	struct arena	*a;

	a = xcalloc(1, sizeof *a);
	a->uid = atomic_fetch_add_explicit(&arena_next_uid, 1,
	    memory_order_relaxed);
	if (block == 0)
		block = ARENA_DEFAULT;
	a->block = (block + ARENA_HUGE - 1) & ~(ARENA_HUGE - 1);
	pthread_mutex_init(&a->lock, NULL);
	return a;
}

/* Maps len bytes after a head that lists them; returns what follows
 * the head. */
static char *
arena_map(struct arena *a, size_t len)
{
	struct arena_map	*m;

	len += ARENA_HEAD;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fatal("%s: mmap %zu bytes", __func__, len);
	m->len = len;
	pthread_mutex_lock(&a->lock);
	m->next = a->maps;
	a->maps = m;
	a->mapped += len;
	pthread_mutex_unlock(&a->lock);
	return (char *)m + ARENA_HEAD;
}

/*
 * Populates the next megabyte(s) of c's block up to the bump pointer in
 * one call: the pages would be written at once anyway, and one
 * madvise(MADV_POPULATE_WRITE) costs far less than a page fault per 4
 * KiB.  At most a megabyte stays populated but unused.  Without it
 * (older kernels) the pages fault in one by one.
 */
static void
arena_populate(struct arena_cursor *c)
{
	size_t	len;

	len = ((size_t)(c->p - c->ready) + ARENA_POPULATE - 1) &
	    ~(ARENA_POPULATE - 1);
	if (len > (size_t)(c->p - c->ready) + c->left)
		len = (size_t)(c->p - c->ready) + c->left;
#ifdef MADV_POPULATE_WRITE
	(void)madvise(c->ready, len, MADV_POPULATE_WRITE);
#endif
	c->ready += len;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_cursor	*c = &arena_cursor;
	void			*p;

	n = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (n == 0)
		n = ARENA_ALIGN;
	if (n > a->block / 4)
		return arena_map(a, n);
	if (c->uid != a->uid || c->left < n) {
		c->p = arena_map(a, a->block);
		c->ready = c->p - ARENA_HEAD;	/* page-aligned */
		c->left = a->block;
		c->uid = a->uid;
	}
	p = c->p;
	c->p += n;
	c->left -= n;
	if (c->p > c->ready)
		arena_populate(c);
	return p;
}

void
arena_trim(struct arena *a, void *p, size_t n, size_t keep)
{
	struct arena_cursor	*c = &arena_cursor;
	size_t			 give;

	n = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	keep = (keep + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (n == 0)
		n = ARENA_ALIGN;
	if (keep == 0)
		keep = ARENA_ALIGN;
	if (keep >= n || n > a->block / 4 || c->uid != a->uid ||
	    (char *)p + n != c->p)
		return;
	give = n - keep;
	c->p -= give;
	c->left += give;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char	*d = arena_alloc(a, n + 1);

	d[n] = '\0';
	return n == 0 ? d : memcpy(d, s, n);
}

size_t
arena_mapped(const struct arena *a)
{
	return a->mapped;
}

void
arena_free(struct arena *a)
{
	struct arena_map	*m;

	if (a == NULL)
		return;
	while ((m = a->maps) != NULL) {
		a->maps = m->next;
		munmap(m, m->len);
	}
	pthread_mutex_destroy(&a->lock);
	free(a);
}
