/*
 * test-arena.c -- bump allocation: alignment, pieces that do not
 * overlap, large pieces mapped on their own, several threads allocating
 * from one arena at once, and a thread moving on to a new arena.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "unit.h"

#define THREADS		4
#define PER_THREAD	20000

struct job {
	struct arena	*a;
	int		 id;
	char		*p[PER_THREAD];
	size_t		 n[PER_THREAD];
};

/* Fills each piece with its thread's and piece's mark. */
static void *
fill(void *arg)
{
	struct job	*j = arg;
	size_t		 i;

	for (i = 0; i < PER_THREAD; i++) {
		j->n[i] = 1 + (i * 7919 + (size_t)j->id) % 300;
		j->p[i] = arena_alloc(j->a, j->n[i]);
		memset(j->p[i], (int)('a' + (i + (size_t)j->id) % 26), j->n[i]);
	}
	return NULL;
}

static void
test_basic(void)
{
	struct arena	*a;
	char		*p, *q, *big, *s;

	a = arena_create(0);
	ASSERT_EQ(arena_mapped(a), 0);
	p = arena_alloc(a, 1);
	q = arena_alloc(a, 0);
	ASSERT(((uintptr_t)p & 15) == 0);
	ASSERT(((uintptr_t)q & 15) == 0);
	ASSERT(q >= p + 16 || p >= q + 16);
	ASSERT_EQ(arena_mapped(a), ((size_t)32 << 20) + 16);
	/* Larger than a quarter block: a mapping of its own. */
	big = arena_alloc(a, (size_t)9 << 20);
	memset(big, 'x', (size_t)9 << 20);
	ASSERT_EQ(arena_mapped(a), ((size_t)32 << 20) + ((size_t)9 << 20) +
	    32);
	s = arena_strndup(a, "hello, world", 5);
	ASSERT_STR_EQ(s, "hello");
	s = arena_strndup(a, NULL, 0);
	ASSERT_STR_EQ(s, "");
	arena_free(a);
	arena_free(NULL);

	/* Block sizes round up to 2 MiB; a thread's next arena gets a
	 * block of its own. */
	a = arena_create(1);
	p = arena_alloc(a, (size_t)1 << 19);
	q = arena_alloc(a, (size_t)1 << 19);
	ASSERT_EQ(arena_mapped(a), ((size_t)2 << 20) + 16);
	ASSERT(q == p + ((size_t)1 << 19));
	arena_free(a);
	a = arena_create(1);
	p = arena_alloc(a, 16);
	ASSERT_EQ(arena_mapped(a), ((size_t)2 << 20) + 16);
	memset(p, 0, 16);
	arena_free(a);
}

/* arena_trim(a, p, n, keep), then where a's next piece of 16 lands. */
static char *
trim_next(struct arena *a, char *p, size_t n, size_t keep)
{
	arena_trim(a, p, n, keep);
	return arena_alloc(a, 16);
}

/* Only the thread's last piece shrinks, to a multiple of 16. */
static void
test_trim(void)
{
	struct arena	*a, *b;
	char		*p, *q, *r;

	a = arena_create(0);
	b = arena_create(0);
	p = arena_alloc(a, 100);
	q = trim_next(a, p, 100, 40);
	ASSERT(q == p + 48);
	/* Not the last piece: nothing given back. */
	r = trim_next(a, p, 48, 16);
	ASSERT(r == q + 16);
	/* To nothing: one 16-byte piece stays; to all of it: no change. */
	q = trim_next(a, r, 16, 0);
	ASSERT(q == r + 16);
	r = trim_next(a, q, 16, 16);
	ASSERT(r == q + 16);
	/* The thread's last piece is b's now: a's stays. */
	p = arena_alloc(b, 64);
	arena_trim(a, r, 16, 0);
	arena_trim(b, p, 64, 1);
	q = arena_alloc(b, 16);
	ASSERT(q == p + 16);
	q = arena_alloc(a, 16);
	ASSERT(q != r);
	/* A piece mapped on its own is left as it is. */
	p = arena_alloc(a, (size_t)9 << 20);
	arena_trim(a, p, (size_t)9 << 20, 16);
	memset(p, 'x', (size_t)9 << 20);
	arena_free(a);
	arena_free(b);
}

static void
test_threads(void)
{
	static struct job	jobs[THREADS];
	pthread_t		t[THREADS];
	size_t			i, k;
	int			j, bad = 0;

	jobs[0].a = arena_create((size_t)2 << 20);
	for (j = 0; j < THREADS; j++) {
		jobs[j].a = jobs[0].a;
		jobs[j].id = j;
		ASSERT_EQ(pthread_create(&t[j], NULL, fill, &jobs[j]), 0);
	}
	for (j = 0; j < THREADS; j++)
		pthread_join(t[j], NULL);
	/* No piece was overwritten by another. */
	for (j = 0; j < THREADS; j++) {
		for (i = 0; i < PER_THREAD; i++) {
			for (k = 0; k < jobs[j].n[i]; k++)
				if (jobs[j].p[i][k] !=
				    (char)('a' + (i + (size_t)j) % 26))
					bad++;
		}
	}
	ASSERT_EQ(bad, 0);
	ASSERT(arena_mapped(jobs[0].a) >= (size_t)THREADS * 2 << 20);
	arena_free(jobs[0].a);
}

int
main(void)
{
	test_basic();
	test_trim();
	test_threads();
	UNIT_DONE();
}
