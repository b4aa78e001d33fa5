/*
 * analyze.h -- `decoy analyze`: finds the volatile values of a recording
 * (JWTs, timestamps, generated ids, values that a later request carries
 * over from an earlier response, values a dependency echoes) and decides
 * what the generator and the responder should do with each, as a struct
 * transforms (transform.h) that the command writes beside the snapshot.
 *
 * The analysis streams: transactions are fed one at a time in recorded
 * order and none is kept.  What is kept is one aggregate per (direction,
 * endpoint, request or response, location) -- counts per shape, a bounded
 * set of 64-bit hashes of the values for distinctness, a few JWT samples,
 * echo candidates -- and, for correlations, a bounded table of (session,
 * value hash) pairs.  Memory is bounded by the number of distinct
 * locations (itself capped), not by the number of transactions.
 *
 * Also here: the offline match-rate prediction of `decoy analyze
 * --match-rate`, which builds the responder's index from the recording
 * and looks up, for every outbound request, the request a live run would
 * send (volatile values made fresh), without and with the transforms.
 */
#ifndef DECOY_ANALYZE_H
#define DECOY_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "jwt.h"
#include "snap.h"
#include "transform.h"

/* A signing key given with --key NAME=FILE. */
struct analyze_key {
	char			*name;
	char			*file;	/* as it is to be written in the
					   transforms file */
	int			 pem;	/* the file is a PEM key (key_file),
					   else an HMAC secret (secret_file) */
	const struct jwt_key	*key;	/* loaded; the caller's */
	int			 used;	/* set by analyze_finish(): it
					   verified the tokens of an entry */
};

struct analyze_config {
	const char		*snapshot;	/* informative, NULL allowed */
	struct analyze_key	*keys;		/* the caller's */
	size_t			 nkeys;
};

struct analyze;

/* A new analysis; cfg (and its keys) must outlive it. */
struct analyze	*analyze_create(const struct analyze_config *cfg);
void		 analyze_free(struct analyze *);

/*
 * Feeds one transaction, in recorded (file) order.  t stays the
 * caller's: nothing points into it afterwards.
 */
void	analyze_add(struct analyze *, const struct snap_txn *t);

/*
 * Decides, from everything fed so far, and returns the transforms (the
 * caller frees them with transforms_free): one value entry per volatile
 * location (and per key-field candidate), one correlation per response
 * location whose values later requests of the same session carry, the
 * keys that verified recorded tokens, and the recording window.  Call
 * once.
 */
struct transforms	*analyze_finish(struct analyze *);

/* Transactions fed, and locations dropped because a cap was reached. */
uint64_t	analyze_count(const struct analyze *);
uint64_t	analyze_dropped(const struct analyze *);

/*
 * Appends the --explain table: one row per value entry (kind, dir,
 * endpoint, location, count, action, why) and one per correlation use.
 */
void	analyze_explain(struct buf *, const struct transforms *);

/*
 * The session a transaction belongs to: tags.session when the snapshot
 * has one, else the client address (the connection), else "".  Appends
 * it to out.  The generator's rule (src/gen.c), shared.
 */
void	analyze_session(struct buf *out, const struct snap_txn *t);

/* 1 when a member, parameter or header name looks like it holds a time
 * ("ts", "time", "timestamp", "date", "*_at", "*At", "iat", "exp", ...). */
int	analyze_name_is_time(const char *name, size_t len);

/*
 * --match-rate.  Create with the transforms the analysis wrote (or
 * loaded) and the instant of the simulated live run; feed every
 * transaction twice: first rate_index (builds the responder's index
 * from the dir-out transactions), then rate_check (looks up, for each
 * dir-out transaction, the request a live run would send).  rate_report
 * appends the table.  The with-transforms half needs the responder's
 * typed matching (match_index_set_transforms).
 */
struct analyze_rate;

struct analyze_rate	*analyze_rate_create(const struct transforms *,
			    int64_t now_us, uint64_t seed);
void	analyze_rate_index(struct analyze_rate *, const struct snap_txn *t);
void	analyze_rate_check(struct analyze_rate *, const struct snap_txn *t);
void	analyze_rate_report(struct buf *, struct analyze_rate *);
/* Requests checked and misses without / with the transforms. */
void	analyze_rate_totals(const struct analyze_rate *, uint64_t *requests,
	    uint64_t *miss_without, uint64_t *miss_with);
void	analyze_rate_free(struct analyze_rate *);

#endif
