/*
 * rule-check.c -- judges each rule of a set against a snapshot's recorded
 * requests (rule_reach) so rules that can never fire are reported at
 * start-up instead of silently injecting nothing.
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

int
rule_check_snapshot(const struct rule_set *rs, const char *path,
    enum rule_reach *reach, char **cause)
{
	struct snap_reader	*sr;
	struct snap_txn		 t;
	struct http_header	 hdrs[HTTP_MAX_HEADERS];
	struct rule_req		 rq;
	enum rule_reach		 v;
	size_t			 i, n = rule_set_count(rs);
	int			 rc;

	for (i = 0; i < n; i++)
		reach[i] = RULE_REACH_NO;
	if ((sr = snap_reader_open(path, cause)) == NULL)
		return -1;
	while ((rc = snap_reader_next(sr, &t, cause)) == 1) {
		plan_req_from_snap(&rq, hdrs, HTTP_MAX_HEADERS, &t.req,
		    t.dir);
		for (i = 0; i < n; i++) {
			if (reach[i] == RULE_REACH_YES)
				continue;
			v = rule_reach(rule_set_get(rs, i), &rq);
			if (v > reach[i])
				reach[i] = v;
		}
		snap_txn_free(&t);
	}
	snap_reader_close(sr);
	return rc == -1 ? -1 : 0;
}

size_t
rule_check_warn(const struct rule_set *rs, const char *path)
{
	enum rule_reach	*reach;
	const char	*name;
	char		*cause = NULL;
	size_t		 i, n = rule_set_count(rs), nwarn = 0;

	if (n == 0 || path == NULL || strcmp(path, "-") == 0)
		return 0;
	reach = xcalloc(n, sizeof *reach);
	if (rule_check_snapshot(rs, path, reach, &cause) == -1) {
		log_warn("rules not checked against %s: %s", path, cause);
		free(cause);
		free(reach);
		return 0;
	}
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
	free(reach);
	return nwarn;
}
