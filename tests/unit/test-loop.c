/*
 * test-loop.c -- the event loop: timer order and precision, cancellation,
 * I/O readiness, deferred callbacks, and loop_stop from another thread.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "loop.h"
#include "unit.h"

static struct loop	*L;
static int		 fired[8];
static int		 nfired;
static uint64_t		 fired_at[8];

static void
timer_cb(struct loop_timer *t)
{
	int	id = (int)(intptr_t)t->arg;

	fired_at[nfired] = loop_clock_ns();
	fired[nfired++] = id;
	if (nfired == 4)
		loop_stop(L);
}

static void
test_timers(void)
{
	struct loop_timer	t[5];
	uint64_t		start, delays[5] = { 3, 1, 4, 2, 1 };
	int			i;
	char			*cause = NULL;

	L = loop_create(&cause);
	ASSERT(L != NULL);
	nfired = 0;
	start = loop_clock_ns();
	for (i = 0; i < 5; i++) {
		loop_timer_init(&t[i], timer_cb, (void *)(intptr_t)i);
		loop_timer_add(L, &t[i], delays[i] * 2000000);	/* 2 ms steps */
	}
	loop_timer_del(L, &t[4]);		/* cancelled: never fires */
	ASSERT(!loop_timer_is_pending(&t[4]));
	ASSERT(loop_timer_is_pending(&t[0]));
	ASSERT_EQ(loop_run(L), 0);
	ASSERT_EQ(nfired, 4);
	ASSERT_EQ(fired[0], 1);
	ASSERT_EQ(fired[1], 3);
	ASSERT_EQ(fired[2], 0);
	ASSERT_EQ(fired[3], 2);
	/* Never early; a generous bound on lateness (shared CI machines). */
	ASSERT(fired_at[0] - start >= 2000000);
	ASSERT(fired_at[3] - start >= 8000000);
	ASSERT(fired_at[3] - start < 1000000000);
	loop_free(L);
}

/*
 * Precision: the median lateness of 200 timers of 300 us must be well
 * under a millisecond (the loop waits with nanosecond timeouts).  The
 * bound is generous; bench numbers are printed for information.
 */
static uint64_t	lateness[200];
static int	nlate;
static uint64_t	armed_at;

static void
precise_cb(struct loop_timer *t)
{
	lateness[nlate++] = loop_clock_ns() - armed_at - 300000;
	if (nlate == 200) {
		loop_stop(L);
		return;
	}
	armed_at = loop_clock_ns();
	loop_timer_add(L, t, 300000);
	armed_at = loop_now(L);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_precision(void)
{
	struct loop_timer	t;
	char			*cause = NULL;

	L = loop_create(&cause);
	nlate = 0;
	loop_timer_init(&t, precise_cb, NULL);
	loop_timer_add(L, &t, 300000);
	armed_at = loop_now(L);
	loop_run(L);
	qsort(lateness, 200, sizeof lateness[0], cmp_u64);
	printf("timer lateness: median %llu us, p99 %llu us\n",
	    (unsigned long long)lateness[100] / 1000,
	    (unsigned long long)lateness[198] / 1000);
	ASSERT(lateness[100] < 500000);
	loop_free(L);
}

static int	io_seen;
static int	deferred_ran;

static void
defer_cb(struct loop_defer *d)
{
	deferred_ran = io_seen;		/* runs after the I/O callback */
	loop_stop(L);
}

static void
io_cb(struct loop_io *io, uint32_t events)
{
	char	c;

	ASSERT(events & EPOLLIN);
	ASSERT_EQ(read(io->fd, &c, 1), 1);
	ASSERT_EQ(c, 'x');
	io_seen = 1;
	loop_defer(L, io->arg);
	loop_defer(L, io->arg);		/* queued once */
}

static void
test_io_defer(void)
{
	struct loop_io		io;
	struct loop_defer	d;
	int			p[2];
	char			*cause = NULL;

	L = loop_create(&cause);
	ASSERT_EQ(pipe(p), 0);
	loop_defer_init(&d, defer_cb, NULL);
	ASSERT_EQ(loop_io_add(L, &io, p[0], EPOLLIN, io_cb, &d), 0);
	ASSERT_EQ(write(p[1], "x", 1), 1);
	loop_run(L);
	ASSERT_EQ(io_seen, 1);
	ASSERT_EQ(deferred_ran, 1);
	loop_io_del(L, &io);
	close(p[0]);
	close(p[1]);
	loop_free(L);
}

static void *
stopper(void *arg)
{
	usleep(20000);
	loop_stop(arg);
	return NULL;
}

static void
test_cross_thread_stop(void)
{
	pthread_t	th;
	char		*cause = NULL;

	L = loop_create(&cause);
	ASSERT_EQ(pthread_create(&th, NULL, stopper, L), 0);
	ASSERT_EQ(loop_run(L), 0);	/* returns: no timers, woken by stop */
	pthread_join(th, NULL);
	loop_free(L);
}

int
main(void)
{
	test_timers();
	test_precision();
	test_io_defer();
	test_cross_thread_stop();
	UNIT_DONE();
}
