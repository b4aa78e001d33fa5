/*
 * sut.h -- the service under test: a process decoy starts, watches and
 * stops (`decoy fuzz --service-cmd`, the service and the responder of
 * `decoy run`).
 *
 * A child runs `/bin/sh -c COMMAND` (or execv of a program) in its own
 * process group, with stdin from /dev/null and stdout and stderr going
 * to a log file, optionally in another directory and with variables
 * added to its environment.  The caller waits for it to be ready with
 * sut_wait() and a readiness probe of its own (a port that accepts, a
 * port file, an HTTP answer), sees its death with sut_gone(), reads what
 * it printed with sut_log_new() (sanitizer reports: sut_log_has_report())
 * or prints the last lines with sut_print_tail(), and ends it and what
 * is left of its group with sut_stop().
 *
 * Ports: sut_free_port() picks a free port on 127.0.0.1 (bound to port
 * 0, then released) and buf_subst_int() (buf.h) puts it in a command line in place
 * of a "{NAME}" placeholder.
 *
 * Blocking calls (waits and sleeps): start-up, triage and shutdown only,
 * never inside an event loop callback.
 */
#ifndef DECOY_SUT_H
#define DECOY_SUT_H

#include <sys/types.h>

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "sock.h"

/* One process decoy started.  sut_init() before use; the caller owns
 * log (a path it allocates) and frees it. */
struct sut {
	const char	*what;		/* "service", "responder": messages */
	char		*log;		/* its stdout and stderr */
	pid_t		 pid;		/* -1: none; leads its process group */
	int		 status;	/* wait(2) status, once reaped */
	int		 reaped;
	int		 kill_group;	/* SUT_KILL_GROUP was given */
	off_t		 log_off;	/* sut_log_new() has read up to here */
};

#define SUT_LOG_APPEND	0x1	/* append to the log (else truncate it) */
#define SUT_PDEATHSIG	0x2	/* SIGTERM to the child when decoy dies */
#define SUT_ASAN_QUICK	0x4	/* ASAN_OPTIONS=symbolize=0 unless set */
#define SUT_KILL_GROUP	0x8	/* the leader's exit (sut_gone) ends the
				   rest of the group at once */

/* How to start a child: command (through /bin/sh -c), or exe with argv. */
struct sut_spec {
	const char	*command;
	const char	*exe;
	char *const	*argv;
	const char	*dir;		/* chdir there first; NULL: here */
	char *const	*env;		/* "KEY=VALUE", added (not copied) */
	size_t		 nenv;
	const char	*unset;		/* a variable taken out, or NULL */
	const char	*prog;		/* "decoy run": the child's own errors */
	mode_t		 log_mode;	/* when the log is created */
	int		 flags;		/* SUT_* */
};

/* What sut_wait() saw. */
enum sut_wait {
	SUT_READY = 0,
	SUT_GONE,		/* the child exited (sut.status) */
	SUT_TIMEOUT,
	SUT_FAILED,		/* the probe gave up */
	SUT_STOPPED,		/* *stop became non-zero */
};

/* A readiness probe: 1 ready, 0 not yet, -1 never (give up). */
typedef int (*sut_ready_cb)(void *arg);

/* No child yet (pid -1, no log); what is kept (not copied). */
void	sut_init(struct sut *, const char *what);

/*
 * Forks the child of spec in its own process group, its stdout and
 * stderr to s->log (which must be set), and records its pid.  0, or -1
 * with *cause (the log cannot be opened, fork fails); a failed exec or
 * chdir in the child is an exit status 127 with the reason in the log.
 */
int	sut_start(struct sut *, const struct sut_spec *, char **cause);

/*
 * Reaps the child if it has exited (s->status, s->reaped; with
 * SUT_KILL_GROUP what is left of its group is killed).  1 when it is
 * gone (or there is none), 0 while it runs.  s->pid stays set.
 */
int	sut_gone(struct sut *);

/* SIGTERM to the child's group, SIGKILL after wait_ms, and SIGKILL to
 * whatever is left of the group; reaps it; s->pid becomes -1. */
void	sut_stop(struct sut *, unsigned wait_ms);

/*
 * Calls ready(arg) every poll_ms until it returns 1 (SUT_READY) or -1
 * (SUT_FAILED), the child exits (SUT_GONE; s may be NULL or have no
 * child: a service decoy did not start), timeout_ms pass (SUT_TIMEOUT),
 * or stop (may be NULL) becomes non-zero (SUT_STOPPED).
 */
enum sut_wait sut_wait(struct sut *, sut_ready_cb ready, void *arg,
	    uint64_t timeout_ms, unsigned poll_ms, volatile int *stop);

/* Appends "exited with status 3", "was killed by signal 9", "is still
 * running" or "stopped" to b. */
void	sut_describe_exit(const struct sut *, struct buf *b);

/* Prints the last lines (at most nlines) of the child's log to fp,
 * "  | "-prefixed under a heading naming s->what. */
void	sut_print_tail(const struct sut *, FILE *fp, size_t nlines);

/* What the child wrote to its log since the last call (NUL-terminated,
 * may be ""; the caller frees it); *len (may be NULL) its length. */
char	*sut_log_new(struct sut *, size_t *len);

/* Marks the log read up to its current end. */
void	sut_log_skip(struct sut *);

/* 1 if the log grew with a sanitizer report since the last
 * sut_log_new() (nothing is consumed), 0 if not. */
int	sut_log_has_report(const struct sut *);

/* A free TCP port on 127.0.0.1, or -1 with *cause. */
int	sut_free_port(char **cause);


/* One connect attempt to addr, waiting at most timeout_ms: 1 it
 * accepts, 0 not. */
int	sut_port_open(const struct sock_addr *addr, int timeout_ms);

/* The dispositions sut_catch_signals() replaced. */
struct sut_signals {
	struct sigaction	 old_int, old_term, old_pipe;
};

/*
 * While decoy runs children it must stop cleanly: SIGINT and SIGTERM call
 * handler (which sets a stop flag), SIGPIPE is ignored (a peer gone is
 * an EPIPE).  The old dispositions go to saved, for
 * sut_restore_signals().
 */
void	sut_catch_signals(void (*handler)(int), struct sut_signals *saved);
void	sut_restore_signals(const struct sut_signals *saved);

/* Sleeps ms milliseconds (signals do not cut it short). */
void	sut_sleep_ms(unsigned ms);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t sut_now_ms(void);

#endif
