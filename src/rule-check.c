/*
 * rule-check.c -- judges each rule of a set against a snapshot's recorded
 * requests (rule_reach) so rules that can never fire are reported at
 * start-up instead of silently injecting nothing.  The responder judges
 * each transaction as its load decodes it (rule_check_txn), so the
 * snapshot is not read a second time; the check modes of other commands
 * read it here (rule_check_warn).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "plan.h"
#include "rule-check.h"
#include "rule.h"
#include "snap.h"
#include "xmalloc.h"

void
rule_check_txn(const struct rule_set *rs, const struct snap_txn *t,
    enum rule_reach *reach)
{
	struct http_header	 hdrs[HTTP_MAX_HEADERS];
	struct rule_req		 rq;
	enum rule_reach		 v;
	size_t			 i, n = rule_set_count(rs);
	int			 built = 0;

	for (i = 0; i < n; i++) {
		if (reach[i] == RULE_REACH_YES)
			continue;
		if (!built) {
			plan_req_from_snap(&rq, hdrs, HTTP_MAX_HEADERS,
			    &t->req, t->dir);
			built = 1;
		}
		v = rule_reach(rule_set_get(rs, i), &rq);
		if (v > reach[i])
			reach[i] = v;
	}
}

void
rule_check_merge(enum rule_reach *reach, const enum rule_reach *from,
    size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (from[i] > reach[i])
			reach[i] = from[i];
	}
}

int
rule_check_snapshot(const struct rule_set *rs, const char *path,
    enum rule_reach *reach, char **cause)
{
	struct snap_reader	*sr;
	struct snap_txn		 t;
	size_t			 i, n = rule_set_count(rs);
	int			 rc;

	for (i = 0; i < n; i++)
		reach[i] = RULE_REACH_NO;
	if ((sr = snap_reader_open(path, cause)) == NULL)
		return -1;
	while ((rc = snap_reader_next(sr, &t, cause)) == 1) {
		rule_check_txn(rs, &t, reach);
		snap_txn_free(&t);
	}
	snap_reader_close(sr);
	return rc == -1 ? -1 : 0;
}

size_t
rule_check_report(const struct rule_set *rs, const char *path,
    const enum rule_reach *reach)
{
	const char	*name;
	size_t		 i, n = rule_set_count(rs), nwarn = 0;

	if (n == 0 || path == NULL || strcmp(path, "-") == 0)
		return 0;
	for (i = 0; i < n; i++) {
		name = rule_name(rule_set_get(rs, i));
		if (reach[i] == RULE_REACH_NO) {
			log_warn("rule \"%s\" matches no transaction of %s: it "
			    "can fire only on requests the snapshot lacks",
			    name, path);
			nwarn++;
		} else if (reach[i] == RULE_REACH_LIVE)
			log_info("rule \"%s\": not checkable against %s (its "
			    "headers or body match depends on live requests)",
			    name, path);
	}
	return nwarn;
}

size_t
rule_check_warn(const struct rule_set *rs, const char *path)
{
	enum rule_reach	*reach;
	char		*cause = NULL;
	size_t		 n = rule_set_count(rs), nwarn;

	if (n == 0 || path == NULL || strcmp(path, "-") == 0)
		return 0;
	reach = xcalloc(n, sizeof *reach);
	if (rule_check_snapshot(rs, path, reach, &cause) == -1) {
		log_warn("rules not checked against %s: %s", path, cause);
		free(cause);
		free(reach);
		return 0;
	}
	nwarn = rule_check_report(rs, path, reach);
	free(reach);
	return nwarn;
}
