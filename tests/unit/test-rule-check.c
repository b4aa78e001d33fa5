/*
 * test-rule-check.c -- unit tests for rule_reach() and the snapshot check
 * (rule-check.c): a rule whose signature fields match no transaction, one
 * that matches, one that only live requests can decide (body, headers),
 * the port in a recorded host, and an unreadable snapshot.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rule-check.h"
#include "rule.h"

#include "unit.h"

static const char snap_text[] =
    "{\"v\":1,\"id\":\"t-1\",\"dir\":\"out\",\"req\":{\"method\":\"POST\","
    "\"target\":\"/v1/charges?x=1\",\"host\":\"127.0.0.1:9001\","
    "\"headers\":[[\"Accept\",\"*/*\"]],\"body\":\"amount=5\"},"
    "\"res\":{\"status\":200}}\n"
    "{\"v\":1,\"id\":\"t-2\",\"dir\":\"out\",\"req\":{\"method\":\"GET\","
    "\"target\":\"/v1/items\",\"host\":\"127.0.0.1:9002\"},"
    "\"res\":{\"status\":200}}\n";

static const char rules_text[] =
    "rules:\n"
    "  - name: fires\n"
    "    match: {method: POST, path: '^/v1/charges$', query: {x: '1'},"
    " body: amount}\n"
    "    fault: {status: 503}\n"
    "  - name: wrong-host\n"
    "    match: {host: '^payments\\.'}\n"
    "    fault: {status: 502}\n"
    "  - name: port\n"
    "    match: {host: '^127\\.0\\.0\\.1:9002$'}\n"
    "    fault: {status: 502}\n"
    "  - name: body-live\n"
    "    match: {path: '^/v1/items$', body: 'x'}\n"
    "    fault: {status: 500}\n"
    "  - name: header-live\n"
    "    match: {headers: {x-combine: 'yes'}}\n"
    "    fault: {status: 500}\n"
    "  - name: inbound\n"
    "    match: {dir: in}\n"
    "    fault: {status: 500}\n";

int
main(void)
{
	char			 path[] = "/tmp/test-rule-check.XXXXXX";
	struct rule_set		*set;
	enum rule_reach		 reach[6];
	char			*cause = NULL;
	FILE			*f;
	int			 fd;

	if ((fd = mkstemp(path)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		perror("mkstemp");
		return 99;
	}
	fputs(snap_text, f);
	fclose(f);
	set = rule_set_parse("t", rules_text, strlen(rules_text), &cause);
	if (set == NULL) {
		UNIT_FAIL("rule_set_parse: %s", cause);
		return 1;
	}
	ASSERT_EQ(rule_set_count(set), 6);

	ASSERT_EQ(rule_check_snapshot(set, path, reach, &cause), 0);
	ASSERT_EQ(reach[0], RULE_REACH_YES);
	ASSERT_EQ(reach[1], RULE_REACH_NO);
	ASSERT_EQ(reach[2], RULE_REACH_YES);	/* a rule naming the port */
	ASSERT_EQ(reach[3], RULE_REACH_LIVE);
	ASSERT_EQ(reach[4], RULE_REACH_LIVE);
	ASSERT_EQ(reach[5], RULE_REACH_NO);
	/* Judging counts nothing. */
	ASSERT_EQ(rule_matched(rule_set_get(set, 0)), 0);

	/* Two rules warned about; "-" is not read again. */
	ASSERT_EQ(rule_check_warn(set, path), 2);
	ASSERT_EQ(rule_check_warn(set, "-"), 0);

	/* Judged one transaction at a time, as the responder's load does,
	 * in two halves merged: the same reach and the same warnings. */
	{
		struct snap_reader	*sr;
		struct snap_txn		 t;
		enum rule_reach		 half[2][6], all[6];
		size_t			 i, k = 0;

		memset(half, 0, sizeof half);
		memset(all, 0, sizeof all);
		ASSERT((sr = snap_reader_open(path, &cause)) != NULL);
		while (snap_reader_next(sr, &t, &cause) == 1) {
			rule_check_txn(set, &t, half[k++ % 2]);
			snap_txn_free(&t);
		}
		snap_reader_close(sr);
		ASSERT_EQ(k, 2);
		ASSERT_EQ(half[0][2], RULE_REACH_NO);	/* t-1: port 9001 */
		ASSERT_EQ(half[1][0], RULE_REACH_NO);	/* t-2: a GET */
		rule_check_merge(all, half[0], 6);
		rule_check_merge(all, half[1], 6);
		for (i = 0; i < 6; i++)
			ASSERT_EQ(all[i], reach[i]);
		ASSERT_EQ(rule_check_report(set, path, all), 2);
		ASSERT_EQ(rule_check_report(set, "-", all), 0);
		/* A rule already reached is not lowered. */
		rule_check_merge(all, half[0], 6);
		ASSERT_EQ(all[3], RULE_REACH_LIVE);
	}

	unlink(path);
	ASSERT_EQ(rule_check_snapshot(set, path, reach, &cause), -1);
	ASSERT(cause != NULL && strstr(cause, path) != NULL);
	free(cause);
	ASSERT_EQ(rule_check_warn(set, path), 0);
	rule_set_free(set);
	UNIT_DONE();
}
