/*
 * fuzz-int.h -- the fuzz campaign's insides, shared by the files of the
 * fuzz family and by no one else (fuzz.h is the interface):
 *   fuzz.c           the campaign: configuration, the service (sut.h),
 *                    the client connections, sending mutants, the loop
 *   fuzz-triage.c    triage, one request at a time: re-sending alone,
 *                    confirming, deaths and their suspects, minimising
 *   fuzz-findings.c  findings: the record, its files (finding.json,
 *                    request.http, original.http, repro.sh), the
 *                    result table, --replay
 *   fuzz-shrink.c, fuzz-noise.c   the pure helpers of fuzz.h
 * Ownership: a struct fuzz lives for one fuzz_run() or fuzz_replay()
 * (fuzz_setup() to fuzz_teardown()); jobs are owned by the list or the
 * connection that holds them.
 */
#ifndef DECOY_FUZZ_INT_H
#define DECOY_FUZZ_INT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "fuzz.h"
#include "httpc.h"
#include "httpc-h2.h"
#include "loop.h"
#include "mutate.h"
#include "sock.h"
#include "sut.h"

#define FUZZ_MAX_HEAD		(64 * 1024)
#define FUZZ_MAX_BODY		(16 * 1024 * 1024)
#define FUZZ_TICK_NS		(10 * 1000000ull)
#define FUZZ_GRACE_NS		(300 * 1000000ull)
#define FUZZ_RETRY_NS		(5 * 1000000ull)	/* cut-short jobs */
#define FUZZ_DEATH_NS		(30 * 1000000ull)	/* close to zombie */
#define FUZZ_RECENT_NS		(3 * FUZZ_TICK_NS)	/* suspects */
#define FUZZ_REPORT_NS		(10000 * 1000000ull)	/* report to death */
#define FUZZ_REJECTS		3	/* unconfirmed, then ignored */
#define FUZZ_START_NS		(10 * 1000000000ull)
#define FUZZ_STOP_MS		1000	/* SIGTERM to SIGKILL */
#define FUZZ_WARMUP		50	/* answers before outliers count */
#define FUZZ_WINDOW		101	/* latencies kept per endpoint */
#define FUZZ_SLOW_FACTOR	10
#define FUZZ_MAX_SUSPECTS	64
#define FUZZ_MAX_CANDIDATES	256
#define FUZZ_CONNECT_FAILS	200	/* in a row: the target is gone */
#define FUZZ_RESP_KEEP		1024	/* answer bytes kept after the head */
#define FUZZ_SCHED_LAG_PER_CONN	8	/* outcomes a choice may not wait
					   for, per connection */

/* One request to send and, once done, its outcome. */
struct fuzz_job {
	struct buf	 req;
	uint64_t	 index;		/* mutant number; UINT64_MAX: triage */
	struct mut_info	 info;
	size_t		 ep;		/* endpoint (of the corpus entry) */
	int		 head;		/* a HEAD request */

	enum fuzz_kind	 kind;
	int		 status;
	char		*sig;		/* 5xx: fuzz_body_signature() */
	struct buf	 resp;		/* 5xx, bad-response: the head and
					   the first bytes of the answer */
	uint64_t	 shape;		/* other answers: body shape (hash) */
	int		 fed;		/* the scheduler has the outcome */
	uint64_t	 start;
	uint64_t	 elapsed;
	uint64_t	 done_at;
	int		 done;
	int		 retried;	/* re-sent after a death */
};

struct fuzz;
struct fuzz_sched;

struct fuzz_conn {
	struct fuzz		*f;
	struct loop_io		 io;
	struct loop_timer	 timer;
	struct httpc_conn	 hc;		/* the connection, the answer */
	struct httpc_h2		*h2;		/* --http2: the session, once
						   hc connected (one stream at
						   a time) */
	int			 registered;	/* io is in the loop */
	int			 reused;	/* answered a request before */
	int			 oneshot;	/* close after this job */
	int			 halfclose;	/* shutdown(SHUT_WR) after it */
	struct fuzz_job		*job;		/* NULL: idle */
};

struct fuzz_endpoint {
	char		*name;		/* "POST /cart/items" */
	uint64_t	 lat[FUZZ_WINDOW];
	size_t		 nlat;		/* answers seen */
};

struct fuzz_key {
	size_t		 ep;
	enum fuzz_kind	 kind;
	int		 status;
	char		*signature;
};

struct fuzz_reject {
	size_t		 ep;
	enum fuzz_kind	 kind;
	int		 status;
	unsigned	 count;
};

struct fuzz {
	const struct fuzz_config *cfg;
	struct fuzz_result	*res;
	volatile int		*stop;
	struct loop		*loop;
	struct httpc_target	 target;	/* address, TLS context */
	int			 port;
	int			 tls_up;	/* a handshake succeeded */
	int			 tls_warned;
	char			*tls_fatal;	/* stops the campaign */
	int			 h2_warned;	/* a request h2 cannot carry */

	struct mut_corpus	*corpus;
	struct mut_engine	*engine;
	struct fuzz_sched	*sched;		/* entry and operator of each
						   mutant (fuzz-sched.h) */
	size_t			*entry_ep;	/* corpus entry -> endpoint */
	struct fuzz_endpoint	*eps;
	size_t			 neps;

	struct fuzz_conn	*conns;
	size_t			 nconns;
	struct loop_timer	 tick;
	struct loop_defer	 dispatch;

	/* Sending. */
	uint64_t		 next_index;
	uint64_t		 t0;
	uint64_t		 t0_clock;	/* loop_clock_ns() at start */
	int			 pausing;	/* no new mutants */
	int			 ended;		/* budget spent */
	uint64_t		 inflight;
	uint64_t		 connect_fails;	/* in a row */
	uint64_t		 last_progress;

	/* Failures waiting for triage. */
	struct fuzz_job		**cands;
	size_t			 ncands;
	/* Resets and closes waiting FUZZ_GRACE_NS for a death. */
	struct fuzz_job		**recent;
	size_t			 nrecent;
	/* Jobs cut short by a death, to send again. */
	struct fuzz_job		**retry;
	size_t			 nretry;
	/* Jobs in flight or just failed when the service died. */
	struct fuzz_job		**suspects;
	size_t			 nsuspects;
	int			 died;
	int			 died_status;

	/* The service. */
	struct sut		 svc;		/* pid -1: not ours, or dead */
	char			*svc_cmd;	/* {port} substituted */
	uint64_t		 report_at;	/* a sanitizer report seen */
	int			 connect_failed;
	int			 gone_warned;

	/* Findings. */
	struct fuzz_key		*keys;		/* parallel to res->findings */
	struct fuzz_reject	*rejects;
	size_t			 nrejects;
	int			 send_one_active;
};

/* What one request sent alone (fuzz_send_one) did. */
struct fuzz_outcome {
	enum fuzz_kind	 kind;
	int		 status;
	uint64_t	 elapsed;
	char		*signature;	/* crash; 5xx: the body's */
	char		*excerpt;
	struct buf	 resp;		/* 5xx, bad-response: head, first bytes */
	uint64_t	 shape;		/* other answers: the body's shape */
};

/* --- fuzz.c ----------------------------------------------------------- */

/* Sets up a campaign in f (f->cfg, f->res, f->stop set; the service's
 * log in logdir unless cfg->service_log): the target, the loop, the
 * connections, the service started (or a first connection to the
 * target).  0 or -1 with *cause; fuzz_teardown() in both cases. */
int	fuzz_setup(struct fuzz *f, const char *logdir, char **cause);
/* Stops the service and frees everything f holds (not f itself). */
void	fuzz_teardown(struct fuzz *f);

/* One blocking connect attempt to the target: 1 it accepts, 0 not. */
int	fuzz_port_open(struct fuzz *f);
/* Reaps the service if it died; 1 (with *status) when it did. */
int	fuzz_service_reap(struct fuzz *f, int *status);
/* Starts the service and waits until its port accepts; 0 or -1 with
 * *cause. */
int	fuzz_service_start(struct fuzz *f, char **cause);
/* Before a request sent on its own: the service decoy runs is alive and
 * accepting, restarted if not (nothing to do for a service not ours).
 * 0 or -1 with *cause. */
int	fuzz_service_ensure(struct fuzz *f, char **cause);

/* Closes c (a TLS connection without close_notify: nothing is sent). */
void	fuzz_conn_close(struct fuzz_conn *c);
/* Starts job j on c (connecting if c is closed); oneshot: on a fresh
 * connection, closed after; halfclose: shutdown(SHUT_WR) after the
 * request. */
void	fuzz_conn_send(struct fuzz_conn *c, struct fuzz_job *j, int oneshot,
	    int halfclose);

/* A new job (index UINT64_MAX: triage); fuzz_job_free() frees it (NULL
 * is fine). */
struct fuzz_job *fuzz_job_new(void);
void	fuzz_job_free(struct fuzz_job *j);
/* Appends j to the list *v of *n jobs, or frees it when max are there. */
void	fuzz_push(struct fuzz_job ***v, size_t *n, size_t max,
	    struct fuzz_job *j);
/* qsort(3) comparison of uint64_t. */
int	fuzz_cmp_u64(const void *a, const void *b);
/* The finding with this key (fuzz.h), or -1. */
ssize_t	fuzz_key_find(struct fuzz *f, size_t ep, enum fuzz_kind kind,
	    int status, const char *signature);
/* The rejected key of (ep, kind, status): its slot, created if new. */
struct fuzz_reject *fuzz_reject_slot(struct fuzz *f, size_t ep,
	    enum fuzz_kind kind, int status);
/* Is the failure (kind, status) of j protocol noise?  Counted when it
 * is; 1 if so and not reported (always 1 when force). */
int	fuzz_noise(struct fuzz *f, const struct fuzz_job *j,
	    enum fuzz_kind kind, int status, int force);

/* Tells the scheduler what mutant j did (kind, status and the answer's
 * or the crash's signature, or NULL), once; FUZZ_CONNECT: nothing to
 * tell, it will never be known.  Triage jobs are not mutants: ignored. */
void	fuzz_feed(struct fuzz *f, struct fuzz_job *j, enum fuzz_kind kind,
	    int status, const char *sig);

/* --- fuzz-triage.c ---------------------------------------------------- */

/* Frees what o holds and zeroes it. */
void	fuzz_outcome_free(struct fuzz_outcome *o);
/* Sends raw alone on a fresh connection (half-closed after when
 * framing) and classifies the outcome into *o, a death of the service
 * included (then restarted).  -1 with *cause only when the service
 * cannot be restarted or TLS is broken for good. */
int	fuzz_send_one(struct fuzz *f, const char *raw, size_t len,
	    int framing, size_t ep, struct fuzz_outcome *o, char **cause);
/* Does o fail the same way as (kind, status, signature)?  1 or 0. */
int	fuzz_same(const struct fuzz_outcome *o, enum fuzz_kind kind,
	    int status, const char *signature, int framing);
/* Minimises raw (which failed as want) into out, within the campaign's
 * attempts and time; *attempts gets the sends.  0 or -1 with *cause. */
int	fuzz_minimise(struct fuzz *f, const char *raw, size_t len,
	    int framing, size_t ep, const struct fuzz_outcome *want,
	    struct buf *out, unsigned *attempts, char **cause);
/* Re-sends a failed job alone; a finding if it fails the same way.  0 or
 * -1 with *cause. */
int	fuzz_triage_one(struct fuzz *f, struct fuzz_job *j, char **cause);
/* After a death: restarts the service, then finds the suspect that
 * kills it alone.  0 or -1 with *cause. */
int	fuzz_triage_death(struct fuzz *f, char **cause);

/* --- fuzz-findings.c -------------------------------------------------- */

/* A confirmed failure (job j, outcome o) becomes finding number
 * res->nfindings + 1: recorded, minimised and written.  0 or -1 with
 * *cause. */
int	fuzz_new_finding(struct fuzz *f, const struct fuzz_job *j,
	    const struct fuzz_outcome *o, char **cause);
/* Writes the finding's finding.json (again: hit counts change).  0 or
 * -1 with *cause. */
int	fuzz_write_json(const struct fuzz_config *cfg,
	    const struct fuzz_finding *fd, char **cause);

#endif
