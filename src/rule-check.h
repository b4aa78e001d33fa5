/*
 * rule-check.h -- which rules of a set can fire on the transactions of a
 * snapshot (issue 18 item 7): the responder warns at start-up, and in its
 * check modes, for each rule that matches none, and says "not checkable"
 * for one whose match only live requests can decide (headers, body).
 */
#ifndef DECOY_RULE_CHECK_H
#define DECOY_RULE_CHECK_H

#include <stddef.h>

#include "rule.h"
#include "snap.h"

/*
 * Raises reach[i] (room for rule_set_count(rs), RULE_REACH_NO to start)
 * to rule_reach() of rule i on t's request where that is higher.
 * Thread-safe for distinct reach arrays.
 */
void	rule_check_txn(const struct rule_set *rs, const struct snap_txn *t,
	    enum rule_reach *reach);

/* Raises each of reach[0..n) to from[i] where that is higher (the reach
 * over two sets of transactions). */
void	rule_check_merge(enum rule_reach *reach, const enum rule_reach *from,
	    size_t n);

/*
 * Reads the snapshot at path and fills reach[i] (room for
 * rule_set_count(rs)) with the best rule_reach() of rule i over its
 * transactions.  Returns 0, or -1 with *cause (the snapshot unreadable).
 */
int	rule_check_snapshot(const struct rule_set *rs, const char *path,
	    enum rule_reach *reach, char **cause);

/*
 * Logs, as rule_check_warn() does, a warning for each rule of rs whose
 * reach[i] over the snapshot at path is RULE_REACH_NO and a note for each
 * RULE_REACH_LIVE; nothing for "-" (rule_check_warn() cannot read it
 * again: the same warnings either way).  Returns the number of warnings.
 */
size_t	rule_check_report(const struct rule_set *rs, const char *path,
	    const enum rule_reach *reach);

/*
 * Checks rs against the snapshot at path and logs a warning for each rule
 * that matches no transaction, a note for each that is not checkable.
 * A snapshot it cannot read again ("-", a pipe) is not checked.  Returns
 * the number of rules warned about.
 */
size_t	rule_check_warn(const struct rule_set *rs, const char *path);

#endif
