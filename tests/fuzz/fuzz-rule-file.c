/*
 * fuzz-rule-file.c -- fuzz target for the rule loader (rule_set_parse).
 *
 * Invariants: the loader either returns a set and no cause, or NULL and a
 * cause whose every line is "fuzz:LINE:COL: message"; every rule of a set
 * has a name found again by rule_set_find, a fault that is not empty, and
 * describes itself as valid JSON; a set evaluates a request without
 * crashing; copy-on-write edits and frees leave nothing behind.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fault.h"
#include "fuzz.h"
#include "json.h"
#include "rule.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static void
check_cause(const char *cause)
{
	const char	*line = cause, *nl;

	CHECK(cause != NULL && *cause != '\0');
	for (;;) {
		CHECK(strncmp(line, "fuzz:", 5) == 0);
		nl = strchr(line, '\n');
		if (nl == NULL)
			break;
		line = nl + 1;
	}
}

static int
fault_is_empty(const struct fault_spec *f)
{
	return f->latency.kind == FAULT_LAT_NONE && f->status == 0 &&
	    f->nheaders == 0 && !f->has_body &&
	    f->malform == FAULT_MALFORM_NONE &&
	    f->connection == FAULT_CONN_NONE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct http_header	 hdr[] = {
		{ { "X-Tenant", 8 }, { "gold", 4 } },
	};
	struct rule_set			*set, *set2;
	const struct rule		*r;
	struct rule_req			 req;
	struct rule_ctx			 ctx;
	struct rule_hit			 hits[RULE_MAX_HITS];
	struct json_parser		 p;
	struct buf			 b;
	char				*cause = NULL;
	size_t				 i, n;

	set = rule_set_parse("fuzz", (const char *)data, size, &cause);
	if (set == NULL) {
		check_cause(cause);
		free(cause);
		return 0;
	}
	CHECK(cause == NULL);

	buf_init(&b);
	for (i = 0; i < rule_set_count(set); i++) {
		r = rule_set_get(set, i);
		CHECK(rule_set_find(set, rule_name(r)) == r);
		CHECK(!fault_is_empty(rule_fault(r)));
		buf_reset(&b);
		rule_describe(r, &b);
		json_init(&p, b.data, b.len);
		CHECK(json_skip(&p, NULL) == 0 && json_finish(&p) == 0);
	}
	buf_free(&b);

	memset(&req, 0, sizeof req);
	req.dir = SNAP_DIR_OUT;
	req.method = SPAN_LIT("POST");
	req.host = SPAN_LIT("payments.shop.internal:40003");
	req.path = SPAN_LIT("/v1/charges");
	req.query = SPAN_LIT("currency=usd&x");
	req.headers = hdr;
	req.nheaders = 1;
	req.body = "{\"amount\":4800}";
	req.body_len = strlen(req.body);
	memset(&ctx, 0, sizeof ctx);
	ctx.recorded_ns = 1000000;
	for (i = 0; i < 3; i++) {
		ctx.occurrence = i;
		ctx.elapsed_ns = i * 1000000000ULL;
		n = rule_set_eval(set, &req, &ctx, hits, RULE_MAX_HITS);
		CHECK(n <= RULE_MAX_HITS);
	}

	if (rule_set_count(set) > 0) {
		r = rule_set_get(set, 0);
		set2 = rule_set_enable(set, rule_name(r), 0, &cause);
		CHECK(set2 != NULL);
		CHECK(rule_matched(rule_set_get(set2, 0)) == rule_matched(r));
		rule_set_free(set2);
		set2 = rule_set_append(set, set, &cause);
		CHECK(set2 == NULL && cause != NULL);
		free(cause);
	}
	rule_set_free(set);
	return 0;
}
