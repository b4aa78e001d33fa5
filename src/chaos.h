/*
 * chaos.h -- the chaos log and fault counters.
 *
 * Every injected fault is one JSON line: time, transaction id (the
 * recorded transaction answered, or "-"), signature (16 hex digits) and
 * occurrence, rule, fault kind and its parameters.  Lines go to a file
 * (optional) and to an in-memory ring that the admin API tails.  Counters
 * by rule and kind feed /stats and /metrics.  Thread-safe.
 */
#ifndef DECOY_CHAOS_H
#define DECOY_CHAOS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct chaos_log;

/* path NULL: no file.  ring: how many recent lines to keep (0: 1000). */
struct chaos_log	*chaos_log_open(const char *path, size_t ring,
			    char **cause);
void	chaos_log_close(struct chaos_log *);

/*
 * Records one injected fault: kind is "latency", "status", "body",
 * "headers", a malform name or a connection fault name; params is a JSON
 * object's text ("{\"ms\":120.5}") or NULL.
 */
void	chaos_log_fault(struct chaos_log *, const char *txn_id, uint64_t sig,
	    uint64_t occurrence, const char *rule, const char *kind,
	    const char *params);

/* Appends the last n lines (oldest first), each ending in '\n'. */
void	chaos_log_tail(struct chaos_log *, size_t n, struct buf *out);
/* Appends {"total":N,"by_kind":{...},"by_rule":{"r":{"kind":N}}}. */
void	chaos_log_counts_json(struct chaos_log *, struct buf *out);
/* Appends Prometheus lines decoy_faults_total{rule="r",kind="k"} N. */
void	chaos_log_counts_prometheus(struct chaos_log *, struct buf *out);
uint64_t chaos_log_total(struct chaos_log *);

#endif
