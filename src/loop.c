/*
 * loop.c -- epoll event loop: I/O watchers, a min-heap of timers waited
 * for with epoll_pwait2() (nanosecond timeouts), deferred callbacks, and
 * an eventfd so other threads can stop the loop.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "xmalloc.h"

#define LOOP_MAX_EVENTS	256

struct loop {
	int			 epfd;
	int			 wakefd;
	struct loop_io		 wake;
	atomic_int		 stop;
	uint64_t		 now;

	struct loop_timer	**heap;
	size_t			 nheap;
	size_t			 heapcap;

	struct loop_defer	*deferred;
	struct loop_defer	**deferred_tail;
};

uint64_t
loop_clock_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
loop_wake_cb(struct loop_io *io, uint32_t events)
{
	uint64_t	v;

	/* Drain the counter; the stop flag says what to do. */
	if (read(io->fd, &v, sizeof v) == -1 && errno != EAGAIN)
		log_warn("eventfd read: %s", strerror(errno));
}

struct loop *
loop_create(char **cause)
{
	struct loop	*l;

	l = xcalloc(1, sizeof *l);
	l->deferred_tail = &l->deferred;
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		*cause = xasprintf("epoll_create1: %s", strerror(errno));
		free(l);
		return NULL;
	}
	if ((l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		*cause = xasprintf("eventfd: %s", strerror(errno));
		close(l->epfd);
		free(l);
		return NULL;
	}
	if (loop_io_add(l, &l->wake, l->wakefd, EPOLLIN, loop_wake_cb,
	    l) == -1) {
		*cause = xasprintf("epoll_ctl: %s", strerror(errno));
		close(l->wakefd);
		close(l->epfd);
		free(l);
		return NULL;
	}
	l->now = loop_clock_ns();
	return l;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	close(l->wakefd);
	close(l->epfd);
	free(l->heap);
	free(l);
}

int
loop_io_add(struct loop *l, struct loop_io *io, int fd, uint32_t events,
    loop_io_cb cb, void *arg)
{
	struct epoll_event	ev;

	io->fd = fd;
	io->events = events;
	io->cb = cb;
	io->arg = arg;
	memset(&ev, 0, sizeof ev);
	ev.events = events;
	ev.data.ptr = io;
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == -1 ? -1 : 0;
}

int
loop_io_mod(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct epoll_event	ev;

	if (io->events == events)
		return 0;
	io->events = events;
	memset(&ev, 0, sizeof ev);
	ev.events = events;
	ev.data.ptr = io;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) == -1 ? -1 : 0;
}

void
loop_io_del(struct loop *l, struct loop_io *io)
{
	if (io->fd != -1)
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

/* Heap helpers: slot is index + 1 so 0 can mean "not pending". */
static void
loop_heap_set(struct loop *l, size_t i, struct loop_timer *t)
{
	l->heap[i] = t;
	t->slot = i + 1;
}

static void
loop_heap_up(struct loop *l, size_t i)
{
	struct loop_timer	*t = l->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (l->heap[parent]->when <= t->when)
			break;
		loop_heap_set(l, i, l->heap[parent]);
		i = parent;
	}
	loop_heap_set(l, i, t);
}

static void
loop_heap_down(struct loop *l, size_t i)
{
	struct loop_timer	*t = l->heap[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= l->nheap)
			break;
		if (child + 1 < l->nheap &&
		    l->heap[child + 1]->when < l->heap[child]->when)
			child++;
		if (t->when <= l->heap[child]->when)
			break;
		loop_heap_set(l, i, l->heap[child]);
		i = child;
	}
	loop_heap_set(l, i, t);
}

void
loop_timer_init(struct loop_timer *t, loop_timer_cb cb, void *arg)
{
	memset(t, 0, sizeof *t);
	t->cb = cb;
	t->arg = arg;
}

int
loop_timer_is_pending(const struct loop_timer *t)
{
	return t->slot != 0;
}

void
loop_timer_del(struct loop *l, struct loop_timer *t)
{
	size_t	i;

	if (t->slot == 0)
		return;
	i = t->slot - 1;
	t->slot = 0;
	if (--l->nheap == i)
		return;
	loop_heap_set(l, i, l->heap[l->nheap]);
	loop_heap_down(l, i);
	loop_heap_up(l, l->heap[i]->slot - 1);
}

void
loop_timer_add(struct loop *l, struct loop_timer *t, uint64_t delay_ns)
{
	loop_timer_del(l, t);
	t->when = loop_now_update(l) + delay_ns;
	if (l->nheap == l->heapcap) {
		l->heapcap = l->heapcap == 0 ? 64 : l->heapcap * 2;
		l->heap = xreallocarray(l->heap, l->heapcap, sizeof *l->heap);
	}
	loop_heap_set(l, l->nheap, t);
	l->nheap++;
	loop_heap_up(l, l->nheap - 1);
}

void
loop_defer_init(struct loop_defer *d, loop_defer_cb cb, void *arg)
{
	memset(d, 0, sizeof *d);
	d->cb = cb;
	d->arg = arg;
}

void
loop_defer(struct loop *l, struct loop_defer *d)
{
	if (d->queued)
		return;
	d->queued = 1;
	d->next = NULL;
	*l->deferred_tail = d;
	l->deferred_tail = &d->next;
}

void
loop_run_deferred(struct loop *l)
{
	struct loop_defer	*d;

	/* Callbacks may queue more work; it runs in this pass too. */
	while ((d = l->deferred) != NULL) {
		l->deferred = d->next;
		if (l->deferred == NULL)
			l->deferred_tail = &l->deferred;
		d->queued = 0;
		d->cb(d);
	}
}

uint64_t
loop_now(const struct loop *l)
{
	return l->now;
}

uint64_t
loop_now_update(struct loop *l)
{
	l->now = loop_clock_ns();
	return l->now;
}

static void
loop_run_timers(struct loop *l)
{
	struct loop_timer	*t;

	loop_now_update(l);
	while (l->nheap > 0 && (t = l->heap[0])->when <= l->now) {
		loop_timer_del(l, t);
		t->cb(t);
	}
}

/*
 * epoll_pwait2(), or epoll_wait() with the timeout rounded up to the
 * millisecond where the kernel (before 5.11) or valgrind lacks it.
 */
static int
loop_wait(int epfd, struct epoll_event *ev, int max, struct timespec *ts)
{
	static int	no_pwait2;
	long long	ms;
	int		n;

	if (!no_pwait2) {
		n = epoll_pwait2(epfd, ev, max, ts, NULL);
		if (n != -1 || errno != ENOSYS)
			return n;
		no_pwait2 = 1;
	}
	if (ts == NULL)
		ms = -1;
	else {
		ms = (long long)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) /
		    1000000;
		if (ms > INT_MAX)
			ms = INT_MAX;
	}
	return epoll_wait(epfd, ev, max, (int)ms);
}

int
loop_run(struct loop *l)
{
	struct epoll_event	 events[LOOP_MAX_EVENTS];
	struct timespec		 ts, *tsp;
	int			 n, i;

	while (!atomic_load(&l->stop)) {
		tsp = NULL;
		if (l->nheap > 0) {
			uint64_t now = loop_now_update(l), when = l->heap[0]->when;
			uint64_t wait = when > now ? when - now : 0;

			ts.tv_sec = (time_t)(wait / 1000000000u);
			ts.tv_nsec = (long)(wait % 1000000000u);
			tsp = &ts;
		}
		n = loop_wait(l->epfd, events, LOOP_MAX_EVENTS, tsp);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_error("epoll_pwait2: %s", strerror(errno));
			return -1;
		}
		loop_now_update(l);
		for (i = 0; i < n; i++) {
			struct loop_io *io = events[i].data.ptr;

			io->cb(io, events[i].events);
		}
		loop_run_timers(l);
		loop_run_deferred(l);
	}
	atomic_store(&l->stop, 0);
	return 0;
}

void
loop_stop(struct loop *l)
{
	uint64_t	one = 1;

	atomic_store(&l->stop, 1);
	/* Nothing to do if the counter is saturated: the loop wakes anyway. */
	if (write(l->wakefd, &one, sizeof one) == -1)
		return;
}

/* The loop SIGINT and SIGTERM stop, or NULL. */
static struct loop *_Atomic	loop_signal_target;

static void
loop_signal(int sig)
{
	struct loop	*l = atomic_load(&loop_signal_target);

	(void)sig;
	if (l != NULL)
		loop_stop(l);
}

void
loop_stop_on_signals(struct loop *l)
{
	struct sigaction	sa;

	atomic_store(&loop_signal_target, l);
	if (l == NULL)
		return;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = loop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
