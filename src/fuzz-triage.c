/*
 * fuzz-triage.c -- triage in the fuzz campaign (fuzz-int.h): plain
 * sequential code between two loop_run() calls of fuzz.c, one request at
 * a time.
 *
 * After a death, the service is restarted (its port polled) and the
 * mutants that were in flight (and those that failed just before) are
 * re-sent one at a time, alone, until one kills it again (twice, for a
 * new finding); unless the death's signature is that of a known crash
 * on one of the suspects' endpoints: then it is a hit, and the suspects
 * on other endpoints or that had waited unusually long are sent again
 * later (once; cut short twice, alone), so a mutant that shared its
 * moment with a known crash is still tried, and hangs and outliers are
 * found while crashes keep killing the service.  A non-crash failure is
 * re-sent alone once.  What reproduces becomes a finding
 * (fuzz-findings.c), minimised here: fuzz_shrink() variants, kept while
 * the request still fails the same way, within max_attempts sends and
 * minimise_ns.  One request at a time is sent by fuzz_send_one(), which
 * runs the loop until it is answered.
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz-int.h"
#include "log.h"
#include "loop.h"
#include "sut.h"
#include "xmalloc.h"
#include "xmalloc.h"

void
fuzz_outcome_free(struct fuzz_outcome *o)
{
	free(o->signature);
	free(o->excerpt);
	buf_free(&o->resp);
	memset(o, 0, sizeof *o);
}

/* After a death: the signature from the log, a restart. */
static int
fuzz_after_death(struct fuzz *f, int status, struct fuzz_outcome *o,
    char **cause)
{
	char	*log;
	size_t	 len;

	log = sut_log_new(&f->svc, &len);
	o->kind = FUZZ_CRASH;
	free(o->signature);
	free(o->excerpt);
	o->signature = fuzz_crash_signature(log, len, status, &o->excerpt);
	if (o->signature == NULL)
		o->signature = xstrdup("died");
	free(log);
	f->report_at = 0;
	if (f->svc.pid != -1) {
		/* Alive after a sanitizer report (recover mode): leave it
		 * running. */
		return 0;
	}
	return fuzz_service_start(f, cause);
}

/*
 * Sends raw alone on a fresh connection (half-closed after when
 * framing) and classifies the outcome, a death of the service included
 * (then restarted).  -1 with *cause only when the service cannot be
 * restarted.
 */
int
fuzz_send_one(struct fuzz *f, const char *raw, size_t len, int framing,
    size_t ep, struct fuzz_outcome *o, char **cause)
{
	struct fuzz_conn	*c = &f->conns[0];
	struct fuzz_job		*j = fuzz_job_new();
	uint64_t		 deadline;
	int			 status, reported = 0, extended = 0;

	memset(o, 0, sizeof *o);
	buf_append(&j->req, raw, len);
	j->ep = ep;
	j->head = len >= 5 && memcmp(raw, "HEAD ", 5) == 0;
	f->send_one_active = 1;
	fuzz_conn_send(c, j, 1, framing);
	if (!j->done)
		loop_run(f->loop);
	f->send_one_active = 0;
	fuzz_conn_close(c);
	o->kind = j->kind;
	o->status = j->status;
	o->elapsed = j->elapsed;
	o->shape = j->shape;
	if (j->kind == FUZZ_5XX) {
		o->signature = j->sig;
		j->sig = NULL;
	}
	o->resp = j->resp;
	buf_init(&j->resp);
	fuzz_job_free(j);
	if (f->tls_fatal != NULL) {
		*cause = xstrdup(f->tls_fatal);
		return -1;
	}

	if (f->svc_cmd == NULL)
		return 0;
	/* A failure may be the service dying, and a sanitizer report is
	 * followed by its death: wait a little for it. */
	deadline = loop_clock_ns() + FUZZ_DEATH_NS;
	if (o->kind == FUZZ_OK || o->kind == FUZZ_5XX)
		deadline = loop_clock_ns();
	for (;;) {
		if (fuzz_service_reap(f, &status))
			return fuzz_after_death(f, status, o, cause);
		if (!reported && !extended && loop_clock_ns() >= deadline &&
		    (o->kind == FUZZ_EOF || o->kind == FUZZ_RESET) &&
		    !fuzz_port_open(f)) {
			/* It no longer accepts: dying, slowly (a loaded
			 * machine); wait for it a little longer. */
			extended = 1;
			deadline = loop_clock_ns() + FUZZ_GRACE_NS;
		}
		if (sut_log_has_report(&f->svc)) {
			if (!reported) {
				reported = 1;
				deadline = loop_clock_ns() + FUZZ_REPORT_NS;
			}
		}
		if (loop_clock_ns() >= deadline)
			break;
		sut_sleep_ms(5);
	}
	if (reported)
		return fuzz_after_death(f, -1, o, cause);
	return 0;
}

/* Does o fail the same way as want? */
int
fuzz_same(const struct fuzz_outcome *o, enum fuzz_kind kind, int status,
    const char *signature, int framing)
{
	if (kind == FUZZ_CRASH)
		return o->kind == FUZZ_CRASH && (signature == NULL ||
		    (o->signature != NULL && strcmp(o->signature,
		    signature) == 0));
	if (o->kind != kind) {
		/* Without a service of ours a crash shows as a reset or a
		 * close; either is the same failure. */
		if ((kind == FUZZ_RESET || kind == FUZZ_EOF) && !framing &&
		    (o->kind == FUZZ_RESET || o->kind == FUZZ_EOF))
			return 1;
		return 0;
	}
	if (kind == FUZZ_5XX)
		return o->status == status && (signature == NULL ||
		    strcmp(o->signature != NULL ? o->signature : "",
		    signature) == 0);
	return 1;
}

/* A slow answer is confirmed when it is again slower than the floor and
 * than 10x the median. */
static int
fuzz_confirm_slow(struct fuzz *f, const struct fuzz_outcome *o, size_t ep)
{
	struct fuzz_endpoint	*e = &f->eps[ep];
	uint64_t		 tmp[FUZZ_WINDOW];
	size_t			 n = e->nlat < FUZZ_WINDOW ? e->nlat :
				    FUZZ_WINDOW;

	if (o->kind != FUZZ_OK || n == 0)
		return 0;
	memcpy(tmp, e->lat, n * sizeof tmp[0]);
	qsort(tmp, n, sizeof tmp[0], fuzz_cmp_u64);
	return o->elapsed > f->cfg->slow_floor_ns &&
	    o->elapsed > tmp[n / 2] * FUZZ_SLOW_FACTOR;
}

/* Minimises raw (which failed as want) into out. */
int
fuzz_minimise(struct fuzz *f, const char *raw, size_t len, int framing,
    size_t ep, const struct fuzz_outcome *want, struct buf *out,
    unsigned *attempts, char **cause)
{
	struct fuzz_outcome	 o;
	struct buf		 cand;
	uint64_t		 deadline = loop_clock_ns() + f->cfg->minimise_ns;
	size_t			 i = 0;
	int			 progress = 0, same;

	buf_reset(out);
	buf_append(out, raw, len);
	buf_init(&cand);
	*attempts = 0;
	while (*attempts < f->cfg->max_attempts &&
	    loop_clock_ns() < deadline && !*f->stop) {
		if (!fuzz_shrink(out->data, out->len, i, &cand)) {
			if (!progress)
				break;
			progress = 0;
			i = 0;
			continue;
		}
		if (cand.len >= out->len) {
			i++;
			continue;
		}
		(*attempts)++;
		if (fuzz_send_one(f, cand.data, cand.len, framing, ep, &o,
		    cause) == -1) {
			buf_free(&cand);
			return -1;
		}
		if (o.kind == FUZZ_CONNECT && f->svc_cmd == NULL) {
			/* The service is gone (and not ours to restart):
			 * nothing more can be learnt. */
			fuzz_outcome_free(&o);
			break;
		}
		if (want->kind == FUZZ_SLOW)
			same = fuzz_confirm_slow(f, &o, ep);
		else
			same = fuzz_same(&o, want->kind, want->status,
			    want->signature, framing);
		fuzz_outcome_free(&o);
		if (same) {
			buf_reset(out);
			buf_append(out, cand.data, cand.len);
			progress = 1;
		} else
			i++;
	}
	buf_free(&cand);
	return 0;
}

/* Re-sends j alone once more: 1 if it kills the service again with the
 * same signature, 0 if not, -1 with *cause. */
static int
fuzz_crash_again(struct fuzz *f, const struct fuzz_job *j,
    const struct fuzz_outcome *o, char **cause)
{
	struct fuzz_outcome	o2;
	int			same;

	if (fuzz_send_one(f, j->req.data, j->req.len, j->info.framing, j->ep,
	    &o2, cause) == -1)
		return -1;
	same = fuzz_same(&o2, FUZZ_CRASH, 0, o->signature, 0);
	fuzz_outcome_free(&o2);
	return same;
}

/* Re-sends a failed job alone; a finding if it fails the same way. */
int
fuzz_triage_one(struct fuzz *f, struct fuzz_job *j, char **cause)
{
	struct fuzz_outcome	o;
	ssize_t			k;
	int			same = 0;

	if ((k = fuzz_key_find(f, j->ep, j->kind, j->status, j->sig)) != -1) {
		f->res->findings[k].hits++;
		return 0;
	}
	if (fuzz_send_one(f, j->req.data, j->req.len, j->info.framing, j->ep,
	    &o, cause) == -1)
		return -1;
	if (o.kind == FUZZ_CRASH) {
		/* Alone, it kills the service: a crash finding, once a
		 * second death confirms it (the first may have been a
		 * report that was still being written). */
		if ((k = fuzz_key_find(f, j->ep, FUZZ_CRASH, 0,
		    o.signature)) != -1)
			f->res->findings[k].hits++;
		else {
			if ((same = fuzz_crash_again(f, j, &o, cause)) == -1) {
				fuzz_outcome_free(&o);
				return -1;
			}
			if (same && fuzz_new_finding(f, j, &o, cause) == -1) {
				fuzz_outcome_free(&o);
				return -1;
			}
		}
		fuzz_outcome_free(&o);
		if (k != -1 || same || j->kind == FUZZ_CRASH)
			return 0;
		/* Not its death (another mutant's, in flight before the
		 * pause): what it does alone on the restarted service. */
		if (fuzz_send_one(f, j->req.data, j->req.len,
		    j->info.framing, j->ep, &o, cause) == -1)
			return -1;
	}
	if (j->kind == FUZZ_SLOW) {
		/* Twice: a loaded machine stalls a request now and then. */
		same = fuzz_confirm_slow(f, &o, j->ep);
		if (same) {
			fuzz_outcome_free(&o);
			if (fuzz_send_one(f, j->req.data, j->req.len,
			    j->info.framing, j->ep, &o, cause) == -1)
				return -1;
			same = fuzz_confirm_slow(f, &o, j->ep);
		}
	} else
		same = fuzz_same(&o, j->kind, j->status, j->sig,
		    j->info.framing);
	if (!same && f->svc_cmd == NULL && o.kind == FUZZ_CONNECT &&
	    !f->gone_warned) {
		/* Probably killed by one of the mutants that failed just
		 * before; which one cannot be told without restarting it. */
		f->gone_warned = 1;
		log_warn("the service stopped accepting connections after "
		    "mutant %" PRIu64 " (%s on %s); the failures in flight are "
		    "unconfirmed: give --service-cmd to have decoy restart it "
		    "and find the culprit", j->index, fuzz_kind_name(j->kind),
		    f->eps[j->ep].name);
	}
	if (!same) {
		f->res->unconfirmed++;
		fuzz_reject_slot(f, j->ep, j->kind, j->status)->count++;
		log_debug("mutant %" PRIu64 ": %s not reproduced alone (%s)",
		    j->index, fuzz_kind_name(j->kind), fuzz_kind_name(o.kind));
		fuzz_outcome_free(&o);
		return 0;
	}
	o.kind = j->kind;
	if (fuzz_new_finding(f, j, &o, cause) == -1) {
		fuzz_outcome_free(&o);
		return -1;
	}
	fuzz_outcome_free(&o);
	return 0;
}

/* How long a job cut short by a death must have waited for its answer
 * to be sent again: FUZZ_RETRY_NS or 10x its endpoint's median. */
static uint64_t
fuzz_retry_after(struct fuzz *f, size_t ep)
{
	struct fuzz_endpoint	*e = &f->eps[ep];
	uint64_t		 tmp[FUZZ_WINDOW];
	size_t			 n = e->nlat < FUZZ_WINDOW ? e->nlat :
				    FUZZ_WINDOW;

	if (n < FUZZ_WARMUP / 5)
		return f->cfg->timeout_ns / 2;
	memcpy(tmp, e->lat, n * sizeof tmp[0]);
	qsort(tmp, n, sizeof tmp[0], fuzz_cmp_u64);
	if (tmp[n / 2] * FUZZ_SLOW_FACTOR > FUZZ_RETRY_NS)
		return tmp[n / 2] * FUZZ_SLOW_FACTOR;
	return FUZZ_RETRY_NS;
}

/* Well-framed suspects first (a framing-broken one alone ends with a
 * close, after which the death must be waited for), then those that
 * were in flight for the shortest time (a crash kills at once, a hang
 * re-sent alone costs a whole timeout). */
static int
fuzz_cmp_suspect(const void *a, const void *b)
{
	const struct fuzz_job	*x = *(struct fuzz_job *const *)a;
	const struct fuzz_job	*y = *(struct fuzz_job *const *)b;

	if (x->info.framing != y->info.framing)
		return x->info.framing - y->info.framing;
	if (x->elapsed != y->elapsed)
		return x->elapsed < y->elapsed ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void
fuzz_suspects_order(struct fuzz *f)
{
	if (f->nsuspects > 1)
		qsort(f->suspects, f->nsuspects, sizeof *f->suspects,
		    fuzz_cmp_suspect);
}

/* A suspect that, alone, failed some other way: that failure counts
 * (sent alone, it is confirmed). */
static int
fuzz_suspect_failure(struct fuzz *f, struct fuzz_job *j,
    struct fuzz_outcome *o, char **cause)
{
	ssize_t	k;

	j->shape = o->shape;
	fuzz_feed(f, j, o->kind, o->status, o->signature);
	if (o->kind == FUZZ_OK && fuzz_confirm_slow(f, o, j->ep))
		o->kind = FUZZ_SLOW;	/* answered, but an outlier */
	if (o->kind == FUZZ_OK || o->kind == FUZZ_CONNECT)
		return 0;
	if (fuzz_noise(f, j, o->kind, o->status, (o->kind == FUZZ_RESET ||
	    o->kind == FUZZ_EOF) && j->info.framing))
		return 0;
	if ((k = fuzz_key_find(f, j->ep, o->kind, o->status,
	    o->signature)) != -1) {
		f->res->findings[k].hits++;
		return 0;
	}
	j->kind = o->kind;
	j->status = o->status;
	return fuzz_new_finding(f, j, o, cause);
}

/*
 * A death with the signature of a known crash (finding k) on one of the
 * suspects' endpoints (culprit_ep): the suspects on other endpoints, and
 * the slow ones, were cut short by the death, probably innocent: each
 * goes back into the campaign, once (a hang would never be seen while
 * crashes keep killing it, and a mutant that shared its moment with a
 * known crash must still be tried).  0 or -1 with *cause.
 */
static int
fuzz_known_death(struct fuzz *f, ssize_t k, size_t culprit_ep, char **cause)
{
	struct fuzz_outcome	 o;
	size_t			 i;
	int			 rv, other;
	char			*csig = f->keys[k].signature != NULL ?
				    xstrdup(f->keys[k].signature) : NULL;

	f->res->findings[k].hits++;
	for (i = 0; i < f->nsuspects; i++) {
		struct fuzz_job *j = f->suspects[i];

		other = j->ep != culprit_ep;
		if (!other && j->elapsed < fuzz_retry_after(f, j->ep)) {
			/* The culprit, as far as anyone will know. */
			fuzz_feed(f, j, FUZZ_CRASH, 0, csig);
			continue;
		}
		if (!j->retried) {
			j->retried = 1;
			fuzz_push(&f->retry, &f->nretry,
			    FUZZ_MAX_CANDIDATES, j);
			f->suspects[i] = NULL;
			continue;
		}
		/* Cut short twice: alone, it shows what it does,
		 * unless it was slow on an endpoint known to hang. */
		if (j->elapsed >= fuzz_retry_after(f, j->ep) &&
		    (k = fuzz_key_find(f, j->ep, FUZZ_TIMEOUT, 0,
		    NULL)) != -1) {
			f->res->findings[k].hits++;
			fuzz_feed(f, j, FUZZ_TIMEOUT, 0, NULL);
			continue;
		}
		if (fuzz_send_one(f, j->req.data, j->req.len,
		    j->info.framing, j->ep, &o, cause) == -1) {
			free(csig);
			return -1;
		}
		if (o.kind == FUZZ_CRASH) {
			/* Not the hang it looked like: counted as a
			 * death of its own only if new. */
			fuzz_feed(f, j, FUZZ_CRASH, 0, o.signature);
			fuzz_outcome_free(&o);
			continue;
		}
		rv = fuzz_suspect_failure(f, j, &o, cause);
		fuzz_outcome_free(&o);
		if (rv == -1) {
			free(csig);
			return -1;
		}
	}
	free(csig);
	return 0;
}

/* A suspect that kills the service alone: 1 (a hit, or a new finding
 * once a second death confirms it), 0 if it does not, -1 with *cause.
 * o is its outcome (a crash). */
static int
fuzz_suspect_crash(struct fuzz *f, struct fuzz_job *j,
    const struct fuzz_outcome *o, char **cause)
{
	ssize_t	k;
	int	rv;

	fuzz_feed(f, j, FUZZ_CRASH, 0, o->signature);
	if ((k = fuzz_key_find(f, j->ep, FUZZ_CRASH, 0,
	    o->signature)) != -1) {
		f->res->findings[k].hits++;
		return 1;
	}
	/* A new finding is confirmed by a second death: a crash that comes
	 * late (after the answer) would otherwise be blamed on the next
	 * suspect. */
	if ((rv = fuzz_crash_again(f, j, o, cause)) != 1)
		return rv;
	if (fuzz_new_finding(f, j, o, cause) == -1)
		return -1;
	return 1;
}

/* The suspects, sent alone one by one until one kills the service.
 * 0 or -1 with *cause. */
static int
fuzz_find_culprit(struct fuzz *f, char **cause)
{
	struct fuzz_outcome	 o;
	size_t			 i;
	int			 found = 0, rv;

	fuzz_suspects_order(f);
	for (i = 0; i < f->nsuspects && !found && !*f->stop; i++) {
		struct fuzz_job *j = f->suspects[i];

		if (fuzz_send_one(f, j->req.data, j->req.len, j->info.framing,
		    j->ep, &o, cause) == -1)
			return -1;
		log_debug("suspect %zu/%zu: mutant %" PRIu64 " (%s): %s%s%s",
		    i + 1, f->nsuspects, j->index, f->eps[j->ep].name,
		    fuzz_kind_name(o.kind), o.signature != NULL ? " " : "",
		    o.signature != NULL ? o.signature : "");
		if (o.kind != FUZZ_CRASH)
			rv = fuzz_suspect_failure(f, j, &o, cause);
		else if ((rv = fuzz_suspect_crash(f, j, &o, cause)) == 1)
			found = 1;
		fuzz_outcome_free(&o);
		if (rv == -1)
			return -1;
	}
	if (!found) {
		f->res->unconfirmed++;
		log_info("the service died but none of the %zu mutants in "
		    "flight kills it alone", f->nsuspects);
	}
	/* The suspects after the culprit were cut short by its death:
	 * each goes back into the campaign, once (which mutants a death
	 * cuts short is timing; their own answers are what counts). */
	for (; i < f->nsuspects; i++) {
		if (f->suspects[i]->retried)
			continue;
		f->suspects[i]->retried = 1;
		fuzz_push(&f->retry, &f->nretry, FUZZ_MAX_CANDIDATES,
		    f->suspects[i]);
		f->suspects[i] = NULL;
	}
	return 0;
}

int
fuzz_triage_death(struct fuzz *f, char **cause)
{
	char	*log, *signature;
	size_t	 len, i, culprit_ep = SIZE_MAX;
	ssize_t	 k = -1;

	log = sut_log_new(&f->svc, &len);
	signature = fuzz_crash_signature(log, len, f->died_status, NULL);
	free(log);
	f->report_at = 0;
	if (f->svc.pid == -1 && fuzz_service_start(f, cause) == -1) {
		free(signature);
		return -1;
	}
	/*
	 * A suspect on the endpoint of a known crash with this signature:
	 * one more hit of it, nothing re-sent (deaths are frequent once a
	 * crash is known).  Two bugs on one endpoint that die the same way
	 * (SIGABRT without a sanitizer) are one finding.
	 */
	for (i = 0; i < f->nsuspects && signature != NULL; i++) {
		if ((k = fuzz_key_find(f, f->suspects[i]->ep, FUZZ_CRASH, 0,
		    signature)) != -1) {
			culprit_ep = f->suspects[i]->ep;
			break;
		}
	}
	free(signature);
	if (k != -1)
		return fuzz_known_death(f, k, culprit_ep, cause);
	return fuzz_find_culprit(f, cause);
}
