/*
 * mem.h -- helpers for unit tests that drive a role over the in-memory
 * transport (conn_mem_pair): the client end's reads, writes and checks on
 * what arrived.  Include after unit.h, conn.h and buf.h.
 */
#ifndef DECOY_TEST_MEM_H
#define DECOY_TEST_MEM_H

#include <string.h>
#include <sys/types.h>

/* Appends to b everything the peer has sent to c so far; returns the last
 * conn_read() result (0 at end of stream, -1 with EAGAIN when drained). */
static inline ssize_t
mem_drain(struct conn *c, struct buf *b)
{
	char	tmp[4096];
	ssize_t	n;

	while ((n = conn_read(c, tmp, sizeof tmp)) > 0)
		buf_append(b, tmp, (size_t)n);
	return n;
}

/* Writes s on c whole (the in-memory transport takes any amount). */
static inline void
mem_put(struct conn *c, const char *s)
{
	ASSERT_EQ(conn_write(c, s, strlen(s)), (ssize_t)strlen(s));
}

/* Nonzero when b holds s anywhere. */
static inline int
mem_has(const struct buf *b, const char *s)
{
	return b->len > 0 && memmem(b->data, b->len, s, strlen(s)) != NULL;
}

#endif
