/*
 * loop.h -- an epoll event loop with precise timers and deferred work.
 *
 * One loop per thread; nothing here is shared between threads except
 * loop_stop(), which any thread (or a signal handler) may call.  Timers
 * live in a binary min-heap and the loop waits with epoll_pwait2(), so a
 * timer fires within tens of microseconds of its deadline rather than at
 * the next millisecond.  Deferred callbacks run after every I/O and timer
 * callback of the current round: a connection closed by its own callback
 * is freed there, so no later event of the round can touch freed memory.
 *
 * All structures are owned by the caller; the loop only links them.
 */
#ifndef DECOY_LOOP_H
#define DECOY_LOOP_H

#include <stddef.h>
#include <stdint.h>

struct loop;
struct loop_io;
struct loop_timer;
struct loop_defer;

typedef void (*loop_io_cb)(struct loop_io *, uint32_t events);
typedef void (*loop_timer_cb)(struct loop_timer *);
typedef void (*loop_defer_cb)(struct loop_defer *);

struct loop_io {
	int		 fd;
	uint32_t	 events;	/* EPOLLIN | EPOLLOUT ... */
	loop_io_cb	 cb;
	void		*arg;
};

struct loop_timer {
	uint64_t	 when;		/* monotonic deadline, ns */
	size_t		 slot;		/* heap index + 1; 0 = not pending */
	loop_timer_cb	 cb;
	void		*arg;
};

struct loop_defer {
	struct loop_defer *next;
	int		 queued;
	loop_defer_cb	 cb;
	void		*arg;
};

/* Returns NULL with *cause set if epoll or eventfd cannot be created. */
struct loop	*loop_create(char **cause);
void		 loop_free(struct loop *);

/* Registers fd for events; io must stay valid until loop_io_del(). */
int		 loop_io_add(struct loop *, struct loop_io *, int fd,
		    uint32_t events, loop_io_cb, void *arg);
int		 loop_io_mod(struct loop *, struct loop_io *, uint32_t events);
/* Unregisters (the fd is not closed). */
void		 loop_io_del(struct loop *, struct loop_io *);

void		 loop_timer_init(struct loop_timer *, loop_timer_cb, void *arg);
/* (Re)arms the timer delay_ns from the loop's current time. */
void		 loop_timer_add(struct loop *, struct loop_timer *,
		    uint64_t delay_ns);
void		 loop_timer_del(struct loop *, struct loop_timer *);
int		 loop_timer_is_pending(const struct loop_timer *);

void		 loop_defer_init(struct loop_defer *, loop_defer_cb, void *arg);
/* Queues d to run at the end of the current round (once, however often
 * it is queued before then). */
void		 loop_defer(struct loop *, struct loop_defer *);

/* Monotonic time in ns, read once per round (loop_now_update refreshes). */
uint64_t	 loop_now(const struct loop *);
uint64_t	 loop_now_update(struct loop *);
/* Reads CLOCK_MONOTONIC in ns. */
uint64_t	 loop_clock_ns(void);

/* Runs the deferred callbacks queued so far (for shutdown paths that
 * close connections outside loop_run()). */
void		 loop_run_deferred(struct loop *);
/* Runs until loop_stop(); returns 0, or -1 if epoll fails. */
int		 loop_run(struct loop *);
/* Asks the loop to return; safe from any thread or a signal handler. */
void		 loop_stop(struct loop *);
/*
 * For a process that runs one loop until it is interrupted: SIGINT and
 * SIGTERM stop l (loop_stop), SIGPIPE is ignored (a peer gone is an
 * EPIPE).  With l NULL the signals stop no loop any more (call it before
 * l is freed); their handler stays.
 */
void		 loop_stop_on_signals(struct loop *);

#endif
