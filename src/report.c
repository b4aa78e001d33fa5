/*
 * report.c -- the run report of report.h: recording, totals, JSON
 * (written by hand, read back with cJSON: a report holds no recorded
 * bodies, only our own small documents), exact merging of shard reports,
 * and the renderings (terminal table, JUnit XML, one self-contained HTML
 * page whose charts are inline SVG drawn here; no JavaScript at all).
 *
 * Endpoints are allocated one by one and kept sorted by method and path
 * in an array of pointers: a pointer from report_endpoint() stays valid
 * until report_free(), and creating one moves pointers, not endpoints
 * (each holds a histogram of about 14 KB, and a replay of many distinct
 * paths creates thousands).
 */
#include "config.h"

#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "grpc.h"
#include "hist.h"
#include "json.h"
#include "chart.h"
#include "report.h"
#include "scenario.h"
#include "xmalloc.h"

static const char *report_error_names[REPORT_NERRORS] = {
	"connect", "reset", "timeout", "protocol"
};

struct report *
report_create(const char *name, const char *target)
{
	struct report	*r;

	r = xcalloc(1, sizeof *r);
	r->name = xstrdup(name != NULL ? name : "replay");
	r->target = xstrdup(target != NULL ? target : "");
	r->shards = 1;
	return r;
}

void
report_endpoint_clear(struct report_endpoint *ep)
{
	size_t	i;

	free(ep->method);
	free(ep->path);
	free(ep->status);
	for (i = 0; i < ep->ndiffs; i++) {
		free(ep->diffs[i].txn);
		free(ep->diffs[i].field);
		free(ep->diffs[i].expected);
		free(ep->diffs[i].actual);
	}
	free(ep->diffs);
	memset(ep, 0, sizeof *ep);
	hist_init(&ep->hist);
}

void
report_free(struct report *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nendpoints; i++) {
		report_endpoint_clear(r->endpoints[i]);
		free(r->endpoints[i]);
	}
	free(r->endpoints);
	free(r->ticks);
	for (i = 0; i < r->nfaults; i++) {
		free(r->faults[i].rule);
		free(r->faults[i].kind);
	}
	free(r->faults);
	for (i = 0; i < r->nassertions; i++) {
		free(r->assertions[i].name);
		free(r->assertions[i].expected);
		free(r->assertions[i].actual);
	}
	free(r->assertions);
	for (i = 0; i < r->nh2_errors; i++)
		free(r->h2_errors[i].what);
	free(r->h2_errors);
	free(r->name);
	free(r->target);
	free(r->protocol);
	free(r);
}

static int
report_endpoint_cmp(const char *m1, const char *p1, const char *m2,
    const char *p2)
{
	int	c;

	if ((c = strcmp(m1, m2)) != 0)
		return c;
	return strcmp(p1, p2);
}

struct report_endpoint *
report_endpoint(struct report *r, const char *method, const char *path)
{
	struct report_endpoint	*ep;
	size_t			 lo = 0, hi = r->nendpoints, mid;
	int			 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		ep = r->endpoints[mid];
		c = report_endpoint_cmp(method, path, ep->method, ep->path);
		if (c == 0)
			return ep;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (r->nendpoints == r->endpoints_cap) {
		r->endpoints_cap = r->endpoints_cap == 0 ? 16 :
		    r->endpoints_cap * 2;
		r->endpoints = xreallocarray(r->endpoints, r->endpoints_cap,
		    sizeof *r->endpoints);
	}
	memmove(&r->endpoints[lo + 1], &r->endpoints[lo],
	    (r->nendpoints - lo) * sizeof *r->endpoints);
	r->nendpoints++;
	ep = r->endpoints[lo] = xcalloc(1, sizeof *ep);
	ep->method = xstrdup(method);
	ep->path = xstrdup(path);
	hist_init(&ep->hist);
	return ep;
}

/* Adds count to status in the endpoint's sorted status mix. */
static void
report_status_add(struct report_endpoint *ep, int status, uint64_t count)
{
	size_t	i;

	for (i = 0; i < ep->nstatus && ep->status[i].status < status; i++)
		;
	if (i < ep->nstatus && ep->status[i].status == status) {
		ep->status[i].count += count;
		return;
	}
	ep->status = xreallocarray(ep->status, ep->nstatus + 1,
	    sizeof *ep->status);
	memmove(&ep->status[i + 1], &ep->status[i],
	    (ep->nstatus - i) * sizeof *ep->status);
	ep->status[i].status = status;
	ep->status[i].count = count;
	ep->nstatus++;
}

/* The tick for second sec, zero-filling the seconds up to it. */
static struct report_tick *
report_tick(struct report *r, size_t sec)
{
	if (sec >= r->nticks) {
		r->ticks = xreallocarray(r->ticks, sec + 1, sizeof *r->ticks);
		memset(&r->ticks[r->nticks], 0,
		    (sec + 1 - r->nticks) * sizeof *r->ticks);
		r->nticks = sec + 1;
	}
	return &r->ticks[sec];
}

void
report_record(struct report *r, struct report_endpoint *ep, int status,
    int error, uint64_t latency_us, uint64_t at_us, uint64_t interval_us)
{
	struct report_tick	*t;
	int			 failed;

	ep->count++;
	if (error >= 0 && error < REPORT_NERRORS) {
		ep->errors[error]++;
		failed = 1;
	} else {
		report_status_add(ep, status, 1);
		if (interval_us > 0)
			hist_record_corrected(&ep->hist, latency_us,
			    interval_us);
		else
			hist_record(&ep->hist, latency_us);
		failed = status >= 500;
	}
	t = report_tick(r, (size_t)(at_us / 1000000));
	t->count++;
	if (failed)
		t->errors++;
	t->sum_us += (double)latency_us;
	if (latency_us > t->max_us)
		t->max_us = latency_us;
}

void
report_record_grpc(struct report_endpoint *ep, int code)
{
	ep->grpc[code >= 0 && code <= GRPC_CODE_MAX ? code :
	    GRPC_CODE_MAX + 1]++;
}

/* The name of a slot of report_endpoint.grpc. */
static const char *
report_grpc_name(size_t c)
{
	return c <= GRPC_CODE_MAX ? grpc_code_name((int)c) : "none";
}

static void
report_diff_add(struct report_endpoint *ep, const char *txn,
    const char *field, const char *expected, const char *actual)
{
	struct report_diff	*d;

	if (ep->ndiffs >= REPORT_MAX_DIFFS)
		return;
	ep->diffs = xreallocarray(ep->diffs, ep->ndiffs + 1,
	    sizeof *ep->diffs);
	d = &ep->diffs[ep->ndiffs++];
	d->txn = xstrdup(txn != NULL ? txn : "");
	d->field = xstrdup(field);
	d->expected = xstrdup(expected != NULL ? expected : "");
	d->actual = xstrdup(actual != NULL ? actual : "");
}

void
report_compare(struct report_endpoint *ep, const char *txn,
    const char *field, const char *expected, const char *actual)
{
	ep->compared++;
	if (field == NULL)
		return;
	ep->regressions++;
	report_diff_add(ep, txn, field, expected, actual);
}

void
report_diff(struct report_endpoint *ep, const char *txn, const char *field,
    const char *expected, const char *actual)
{
	report_diff_add(ep, txn, field, expected, actual);
}

void
report_add_fault(struct report *r, const char *rule, const char *kind,
    uint64_t count)
{
	struct report_fault	*f;
	size_t			 i;

	for (i = 0; i < r->nfaults; i++) {
		f = &r->faults[i];
		if (strcmp(f->rule, rule) == 0 && strcmp(f->kind, kind) == 0) {
			f->count += count;
			return;
		}
	}
	r->faults = xreallocarray(r->faults, r->nfaults + 1,
	    sizeof *r->faults);
	f = &r->faults[r->nfaults++];
	f->rule = xstrdup(rule);
	f->kind = xstrdup(kind);
	f->count = count;
}

void
report_add_assertion(struct report *r, const char *name,
    const char *expected, const char *actual, int passed)
{
	struct report_assertion	*a;

	r->assertions = xreallocarray(r->assertions, r->nassertions + 1,
	    sizeof *r->assertions);
	a = &r->assertions[r->nassertions++];
	a->name = xstrdup(name);
	a->expected = xstrdup(expected != NULL ? expected : "");
	a->actual = xstrdup(actual != NULL ? actual : "");
	a->passed = passed != 0;
}

/* An assertion's latency: "850us", "12.3ms", "1.25s". */
static void
report_assert_us(char *s, size_t len, double us)
{
	if (us < 1000)
		snprintf(s, len, "%.0fus", us);
	else if (us < 1000000)
		snprintf(s, len, "%.1fms", us / 1000);
	else
		snprintf(s, len, "%.2fs", us / 1000000);
}

void
report_assert(struct report *r, const struct scenario *sc)
{
	struct report_endpoint	 tot;
	char			 name[64], want[64], got[64];
	uint64_t		 v, regressions = 0, compared = 0;
	double			 d;
	size_t			 i;

	for (i = 0; i < r->nassertions; i++) {
		free(r->assertions[i].name);
		free(r->assertions[i].expected);
		free(r->assertions[i].actual);
	}
	r->nassertions = 0;
	memset(&tot, 0, sizeof tot);
	report_totals(r, &tot);
	for (i = 0; i < SCENARIO_NPCT; i++) {
		if (!sc->has_latency[i])
			continue;
		v = hist_percentile(&tot.hist, scenario_pct_value(i));
		snprintf(name, sizeof name, "latency.%s",
		    scenario_pct_name(i));
		report_assert_us(got, sizeof got, (double)v);
		report_assert_us(want + 3, sizeof want - 3,
		    (double)sc->latency_us[i]);
		memcpy(want, "<= ", 3);
		report_add_assertion(r, name, want, tot.count == 0 ?
		    "no responses" : got, tot.count > 0 &&
		    v <= sc->latency_us[i]);
	}
	if (sc->has_error_rate) {
		d = report_error_rate(&tot);
		snprintf(want, sizeof want, "<= %g%%",
		    sc->error_rate_max * 100);
		snprintf(got, sizeof got, "%.2f%%", d * 100);
		report_add_assertion(r, "error_rate.max", want, got,
		    tot.count > 0 && d <= sc->error_rate_max + 1e-12);
	}
	if (sc->has_throughput) {
		d = report_throughput(r, &tot);
		snprintf(want, sizeof want, ">= %g/s", sc->throughput_min);
		snprintf(got, sizeof got, "%.1f/s", d);
		report_add_assertion(r, "throughput.min", want, got,
		    d >= sc->throughput_min);
	}
	if (sc->has_regression) {
		for (i = 0; i < r->nendpoints; i++) {
			regressions += r->endpoints[i]->regressions;
			compared += r->endpoints[i]->compared;
		}
		snprintf(got, sizeof got, "%llu of %llu responses differ",
		    (unsigned long long)regressions,
		    (unsigned long long)compared);
		report_add_assertion(r, "regression", "no response differs "
		    "from the recording", got, regressions == 0);
	}
	report_endpoint_clear(&tot);
}

/* Adds the counts of src into dst (diffs up to REPORT_MAX_DIFFS). */
static void
report_endpoint_add(struct report_endpoint *dst,
    const struct report_endpoint *src, int diffs)
{
	size_t	i;

	dst->count += src->count;
	for (i = 0; i < REPORT_NERRORS; i++)
		dst->errors[i] += src->errors[i];
	for (i = 0; i < src->nstatus; i++)
		report_status_add(dst, src->status[i].status,
		    src->status[i].count);
	for (i = 0; i <= GRPC_CODE_MAX + 1; i++)
		dst->grpc[i] += src->grpc[i];
	hist_merge(&dst->hist, &src->hist);
	dst->compared += src->compared;
	dst->regressions += src->regressions;
	if (!diffs)
		return;
	for (i = 0; i < src->ndiffs; i++)
		report_diff_add(dst, src->diffs[i].txn, src->diffs[i].field,
		    src->diffs[i].expected, src->diffs[i].actual);
}

void
report_totals(const struct report *r, struct report_endpoint *out)
{
	size_t	i;

	memset(out, 0, sizeof *out);
	hist_init(&out->hist);
	out->method = xstrdup("*");
	out->path = xstrdup("total");
	for (i = 0; i < r->nendpoints; i++)
		report_endpoint_add(out, r->endpoints[i], 0);
}

/* Transport errors of an endpoint. */
static uint64_t
report_transport_errors(const struct report_endpoint *ep)
{
	uint64_t	n = 0;
	size_t		i;

	for (i = 0; i < REPORT_NERRORS; i++)
		n += ep->errors[i];
	return n;
}

/* 5xx responses of an endpoint. */
static uint64_t
report_5xx(const struct report_endpoint *ep)
{
	uint64_t	n = 0;
	size_t		i;

	for (i = 0; i < ep->nstatus; i++)
		if (ep->status[i].status >= 500)
			n += ep->status[i].count;
	return n;
}

double
report_error_rate(const struct report_endpoint *ep)
{
	if (ep->count == 0)
		return 0;
	return (double)(report_transport_errors(ep) + report_5xx(ep)) /
	    (double)ep->count;
}

double
report_throughput(const struct report *r, const struct report_endpoint *ep)
{
	if (r->duration_us == 0)
		return 0;
	return (double)(ep->count - report_transport_errors(ep)) /
	    ((double)r->duration_us / 1e6);
}

uint64_t
report_regressions(const struct report *r)
{
	uint64_t	n = 0;
	size_t		i;

	for (i = 0; i < r->nendpoints; i++)
		n += r->endpoints[i]->regressions;
	return n;
}

int
report_passed(const struct report *r)
{
	size_t	i;

	for (i = 0; i < r->nassertions; i++)
		if (!r->assertions[i].passed)
			return 0;
	return r->allow_regressions || report_regressions(r) == 0;
}

void
report_set_protocol(struct report *r, const char *protocol)
{
	free(r->protocol);
	r->protocol = protocol != NULL ? xstrdup(protocol) : NULL;
}

void
report_add_h2_error(struct report *r, const char *what, uint64_t count)
{
	size_t	i;

	for (i = 0; i < r->nh2_errors; i++) {
		if (strcmp(r->h2_errors[i].what, what) == 0) {
			r->h2_errors[i].count += count;
			return;
		}
	}
	r->h2_errors = xreallocarray(r->h2_errors, r->nh2_errors + 1,
	    sizeof *r->h2_errors);
	r->h2_errors[r->nh2_errors].what = xstrdup(what);
	r->h2_errors[r->nh2_errors++].count = count;
}

void
report_merge(struct report *a, const struct report *b)
{
	const struct report_endpoint	*src;
	struct report_endpoint		*dst;
	struct report_tick		*t;
	size_t				 i;

	if (b->start_us != 0 && (a->start_us == 0 || b->start_us < a->start_us))
		a->start_us = b->start_us;
	/* Shards run side by side: the run lasts as long as the longest. */
	if (b->duration_us > a->duration_us)
		a->duration_us = b->duration_us;
	a->scheduled += b->scheduled;
	a->late += b->late;
	a->dropped += b->dropped;
	a->h2_retried += b->h2_retried;
	a->shards += b->shards;
	if (a->protocol == NULL && b->protocol != NULL)
		report_set_protocol(a, b->protocol);
	for (i = 0; i < b->nh2_errors; i++)
		report_add_h2_error(a, b->h2_errors[i].what,
		    b->h2_errors[i].count);
	/* Tolerated only if every shard tolerated them. */
	a->allow_regressions = a->allow_regressions && b->allow_regressions;
	for (i = 0; i < b->nendpoints; i++) {
		src = b->endpoints[i];
		dst = report_endpoint(a, src->method, src->path);
		report_endpoint_add(dst, src, 1);
	}
	for (i = 0; i < b->nticks; i++) {
		t = report_tick(a, i);
		t->count += b->ticks[i].count;
		t->errors += b->ticks[i].errors;
		t->sum_us += b->ticks[i].sum_us;
		if (b->ticks[i].max_us > t->max_us)
			t->max_us = b->ticks[i].max_us;
	}
	for (i = 0; i < b->nfaults; i++)
		report_add_fault(a, b->faults[i].rule, b->faults[i].kind,
		    b->faults[i].count);
}

/* JSON writing. */

static void
report_json_str(struct buf *b, const char *s)
{
	json_append_string(b, s, strlen(s));
}

static void
report_json_summary(const struct report *r, const struct report_endpoint *ep,
    struct buf *b)
{
	buf_printf(b, "{\"throughput\":%.17g,\"error_rate\":%.17g,"
	    "\"mean_us\":%.17g,\"p50_us\":%" PRIu64 ",\"p90_us\":%" PRIu64
	    ",\"p95_us\":%" PRIu64 ",\"p99_us\":%" PRIu64 ",\"p999_us\":%"
	    PRIu64 ",\"max_us\":%" PRIu64 "}", report_throughput(r, ep),
	    report_error_rate(ep), hist_mean(&ep->hist),
	    hist_percentile(&ep->hist, 50), hist_percentile(&ep->hist, 90),
	    hist_percentile(&ep->hist, 95), hist_percentile(&ep->hist, 99),
	    hist_percentile(&ep->hist, 99.9), ep->hist.max_us);
}

static void
report_json_endpoint(const struct report *r, const struct report_endpoint *ep,
    struct buf *b, int total)
{
	const struct report_diff	*d;
	size_t				 i, n;

	buf_append_str(b, "{\"method\":");
	report_json_str(b, ep->method);
	buf_append_str(b, ",\"path\":");
	report_json_str(b, ep->path);
	buf_printf(b, ",\"count\":%" PRIu64 ",\"errors\":{", ep->count);
	for (i = 0; i < REPORT_NERRORS; i++)
		buf_printf(b, "%s\"%s\":%" PRIu64, i == 0 ? "" : ",",
		    report_error_names[i], ep->errors[i]);
	buf_append_str(b, "},\"status\":[");
	for (i = 0; i < ep->nstatus; i++)
		buf_printf(b, "%s[%d,%" PRIu64 "]", i == 0 ? "" : ",",
		    ep->status[i].status, ep->status[i].count);
	buf_append_byte(b, ']');
	for (i = 0, n = 0; i <= GRPC_CODE_MAX + 1; i++) {
		if (ep->grpc[i] == 0)
			continue;
		buf_printf(b, "%s\"%s\":%" PRIu64, n++ == 0 ?
		    ",\"grpc_status\":{" : ",", report_grpc_name(i),
		    ep->grpc[i]);
	}
	if (n > 0)
		buf_append_byte(b, '}');
	buf_printf(b, ",\"compared\":%" PRIu64 ",\"regressions\":%" PRIu64,
	    ep->compared, ep->regressions);
	if (!total) {
		buf_append_str(b, ",\"diffs\":[");
		for (i = 0; i < ep->ndiffs; i++) {
			d = &ep->diffs[i];
			buf_append_str(b, i == 0 ? "{\"txn\":" : ",{\"txn\":");
			report_json_str(b, d->txn);
			buf_append_str(b, ",\"field\":");
			report_json_str(b, d->field);
			buf_append_str(b, ",\"expected\":");
			report_json_str(b, d->expected);
			buf_append_str(b, ",\"actual\":");
			report_json_str(b, d->actual);
			buf_append_byte(b, '}');
		}
		buf_append_byte(b, ']');
	}
	buf_append_str(b, ",\"summary\":");
	report_json_summary(r, ep, b);
	if (!total) {
		buf_append_str(b, ",\"hist\":");
		hist_to_json(&ep->hist, b);
	}
	buf_append_byte(b, '}');
}

/*
 * Writes the report as one JSON document and a newline.  "summary" and
 * "totals" are derived (for jq and dashboards) and ignored when read.
 */
void
report_to_json(const struct report *r, struct buf *b)
{
	struct report_endpoint	 tot;
	const struct report_tick *t;
	size_t			 i;

	buf_printf(b, "{\"version\":%d,\"name\":", REPORT_VERSION);
	report_json_str(b, r->name);
	buf_append_str(b, ",\"target\":");
	report_json_str(b, r->target);
	if (r->protocol != NULL) {
		buf_append_str(b, ",\"protocol\":");
		report_json_str(b, r->protocol);
	}
	buf_printf(b, ",\"start_us\":%" PRId64 ",\"duration_us\":%" PRIu64
	    ",\"scheduled\":%" PRIu64 ",\"late\":%" PRIu64 ",\"dropped\":%"
	    PRIu64 ",\"shards\":%u,\"passed\":%s", r->start_us,
	    r->duration_us, r->scheduled, r->late, r->dropped, r->shards,
	    report_passed(r) ? "true" : "false");
	if (r->allow_regressions)
		buf_append_str(b, ",\"allow_regressions\":true");
	if (r->h2_retried > 0)
		buf_printf(b, ",\"h2_retried\":%" PRIu64, r->h2_retried);
	report_totals(r, &tot);
	buf_append_str(b, ",\n\"totals\":");
	report_json_endpoint(r, &tot, b, 1);
	report_endpoint_clear(&tot);
	buf_append_str(b, ",\n\"endpoints\":[");
	for (i = 0; i < r->nendpoints; i++) {
		buf_append_str(b, i == 0 ? "\n" : ",\n");
		report_json_endpoint(r, r->endpoints[i], b, 0);
	}
	buf_append_str(b, "],\n\"ticks\":[");
	for (i = 0; i < r->nticks; i++) {
		t = &r->ticks[i];
		buf_printf(b, "%s[%" PRIu64 ",%" PRIu64 ",%.17g,%" PRIu64 "]",
		    i == 0 ? "" : ",", t->count, t->errors, t->sum_us,
		    t->max_us);
	}
	buf_append_str(b, "],\n\"faults\":[");
	for (i = 0; i < r->nfaults; i++) {
		buf_append_str(b, i == 0 ? "{\"rule\":" : ",{\"rule\":");
		report_json_str(b, r->faults[i].rule);
		buf_append_str(b, ",\"kind\":");
		report_json_str(b, r->faults[i].kind);
		buf_printf(b, ",\"count\":%" PRIu64 "}", r->faults[i].count);
	}
	if (r->nh2_errors > 0) {
		buf_append_str(b, "],\n\"h2_errors\":[");
		for (i = 0; i < r->nh2_errors; i++) {
			buf_append_str(b, i == 0 ? "{\"what\":" :
			    ",{\"what\":");
			report_json_str(b, r->h2_errors[i].what);
			buf_printf(b, ",\"count\":%" PRIu64 "}",
			    r->h2_errors[i].count);
		}
	}
	buf_append_str(b, "],\n\"assertions\":[");
	for (i = 0; i < r->nassertions; i++) {
		buf_append_str(b, i == 0 ? "{\"name\":" : ",{\"name\":");
		report_json_str(b, r->assertions[i].name);
		buf_append_str(b, ",\"expected\":");
		report_json_str(b, r->assertions[i].expected);
		buf_append_str(b, ",\"actual\":");
		report_json_str(b, r->assertions[i].actual);
		buf_printf(b, ",\"passed\":%s}",
		    r->assertions[i].passed ? "true" : "false");
	}
	buf_append_str(b, "]}\n");
}

/* Writes data[0..len) to path ("-" is stdout), whole or not at all. */
static int
report_write_file(const char *path, const char *data, size_t len,
    char **cause)
{
	FILE	*f;
	int	 failed;

	if (strcmp(path, "-") == 0)
		f = stdout;
	else if ((f = fopen(path, "w")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	failed = fwrite(data, 1, len, f) != len;
	if (fflush(f) == EOF || ferror(f))
		failed = 1;
	if (f != stdout && fclose(f) == EOF)
		failed = 1;
	if (failed) {
		*cause = xasprintf("%s: write failed: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* The directory part of path ("." when none, "/" for "/x"). */
static char *
report_dirname(const char *path)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int
report_check_output(const char *path, int create, char **cause)
{
	struct stat	 st;
	char		*dir, *d, *s;
	int		 rv = -1, end;

	if (strcmp(path, "-") == 0)
		return 0;
	if (*path == '\0') {
		*cause = xstrdup("an empty output path");
		return -1;
	}
	dir = report_dirname(path);
	if (create) {
		/* mkdir -p, each component checked. */
		d = xstrdup(dir);
		for (s = d + 1;; s++) {
			if (*s != '/' && *s != '\0')
				continue;
			end = *s == '\0';
			*s = '\0';
			if (mkdir(d, 0777) == -1 && errno != EEXIST) {
				*cause = xasprintf("%s: cannot create the "
				    "directory %s: %s", path, d,
				    strerror(errno));
				free(d);
				goto out;
			}
			if (end)
				break;
			*s = '/';
		}
		free(d);
	} else {
		/* The nearest existing ancestor decides. */
		d = xstrdup(dir);
		while (stat(d, &st) == -1 && errno == ENOENT &&
		    strcmp(d, ".") != 0 && strcmp(d, "/") != 0) {
			s = report_dirname(d);
			free(d);
			d = s;
		}
		free(dir);
		dir = d;
	}
	if (stat(dir, &st) == -1) {
		*cause = xasprintf("%s: %s: %s", path, dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		*cause = xasprintf("%s: %s is not a directory", path, dir);
		goto out;
	}
	if (access(dir, W_OK | X_OK) == -1) {
		*cause = xasprintf("%s: cannot write in %s: %s", path, dir,
		    strerror(errno));
		goto out;
	}
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			*cause = xasprintf("%s: is a directory", path);
			goto out;
		}
		if (access(path, W_OK) == -1) {
			*cause = xasprintf("%s: %s", path, strerror(errno));
			goto out;
		}
	}
	rv = 0;
out:
	free(dir);
	return rv;
}

int
report_write_json(const struct report *r, const char *path, char **cause)
{
	struct buf	b;
	int		rc;

	buf_init(&b);
	report_to_json(r, &b);
	rc = report_write_file(path, b.data, b.len, cause);
	buf_free(&b);
	return rc;
}

/* JSON reading (cJSON). */

struct report_reader {
	const char	*path;
	char		*cause;
};

static int
report_rfail(struct report_reader *rd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
report_rfail(struct report_reader *rd, const char *fmt, ...)
{
	va_list	ap;
	char	*msg;

	if (rd->cause != NULL)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	rd->cause = xasprintf("%s: %s", rd->path,
	    msg != NULL ? msg : "bad report");
	free(msg);
	return -1;
}

/* An unsigned integer member; absent leaves *out alone unless required. */
static int
report_get_u64(struct report_reader *rd, const cJSON *o, const char *name,
    uint64_t *out, int required)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);
	double		 d;

	if (v == NULL) {
		if (required)
			return report_rfail(rd, "missing \"%s\"", name);
		return 0;
	}
	if (!cJSON_IsNumber(v))
		return report_rfail(rd, "\"%s\" is not a number", name);
	d = v->valuedouble;
	if (!(d >= 0 && d < 18446744073709551616.0) || d != floor(d))
		return report_rfail(rd, "\"%s\" is not a count", name);
	*out = (uint64_t)d;
	return 0;
}

static int
report_get_str(struct report_reader *rd, const cJSON *o, const char *name,
    char **out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsString(v))
		return report_rfail(rd, "\"%s\" must be a string", name);
	*out = xstrdup(v->valuestring);
	return 0;
}

static const cJSON *
report_get_array(struct report_reader *rd, const cJSON *o, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (v == NULL)
		return NULL;
	if (!cJSON_IsArray(v)) {
		report_rfail(rd, "\"%s\" must be an array", name);
		return NULL;
	}
	return v;
}

static int
report_read_hist(struct report_reader *rd, const cJSON *o, struct hist *h,
    const char *where)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, "hist");
	char		*text, *cause = NULL;
	int		 rc;

	if (!cJSON_IsObject(v))
		return report_rfail(rd, "%s: \"hist\" must be an object",
		    where);
	if ((text = cJSON_PrintUnformatted(v)) == NULL)
		return report_rfail(rd, "%s: out of memory", where);
	rc = hist_from_json(h, text, strlen(text), &cause);
	free(text);
	if (rc == -1) {
		report_rfail(rd, "%s: %s", where, cause);
		free(cause);
	}
	return rc;
}

/* An endpoint's "grpc_status" object, if any, into ep->grpc: 0, or -1
 * (said through rd). */
static int
report_read_grpc(struct report_reader *rd, const cJSON *o,
    struct report_endpoint *ep, const char *where)
{
	const cJSON	*v, *e;
	size_t		 c;

	if ((v = cJSON_GetObjectItemCaseSensitive(o, "grpc_status")) == NULL)
		return 0;
	if (!cJSON_IsObject(v))
		return report_rfail(rd, "%s: \"grpc_status\" must be an "
		    "object", where);
	cJSON_ArrayForEach(e, v) {
		for (c = 0; c <= GRPC_CODE_MAX + 1; c++)
			if (strcmp(e->string, report_grpc_name(c)) == 0)
				break;
		if (c > GRPC_CODE_MAX + 1 || !cJSON_IsNumber(e) ||
		    e->valuedouble < 0 ||
		    e->valuedouble != floor(e->valuedouble))
			return report_rfail(rd, "%s: grpc_status: \"%s\" is "
			    "not a gRPC status with a count", where,
			    e->string);
		ep->grpc[c] = (uint64_t)e->valuedouble;
	}
	return 0;
}

static int
report_read_endpoint(struct report_reader *rd, struct report *r,
    const cJSON *o)
{
	struct report_endpoint	*ep;
	const cJSON		*v, *e, *s, *c;
	char			*method = NULL, *path = NULL, *where;
	char			*diff[4];
	static const char	*diffkeys[4] = { "txn", "field", "expected",
	    "actual" };
	size_t			 i;
	int			 rc = -1;

	if (!cJSON_IsObject(o))
		return report_rfail(rd, "an endpoint must be an object");
	if (report_get_str(rd, o, "method", &method) == -1 ||
	    report_get_str(rd, o, "path", &path) == -1)
		goto out;
	where = xasprintf("endpoint %s %s", method, path);
	ep = report_endpoint(r, method, path);
	if (ep->count != 0 || ep->nstatus != 0) {
		report_rfail(rd, "%s: listed twice", where);
		goto out_where;
	}
	if (report_get_u64(rd, o, "count", &ep->count, 1) == -1 ||
	    report_get_u64(rd, o, "compared", &ep->compared, 0) == -1 ||
	    report_get_u64(rd, o, "regressions", &ep->regressions, 0) == -1)
		goto out_where;
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "errors")) != NULL) {
		if (!cJSON_IsObject(v)) {
			report_rfail(rd, "%s: \"errors\" must be an object",
			    where);
			goto out_where;
		}
		for (i = 0; i < REPORT_NERRORS; i++)
			if (report_get_u64(rd, v, report_error_names[i],
			    &ep->errors[i], 0) == -1)
				goto out_where;
	}
	if (report_read_grpc(rd, o, ep, where) == -1)
		goto out_where;
	if ((v = report_get_array(rd, o, "status")) != NULL) {
		cJSON_ArrayForEach(e, v) {
			s = cJSON_GetArrayItem(e, 0);
			c = cJSON_GetArrayItem(e, 1);
			if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2 ||
			    !cJSON_IsNumber(s) || !cJSON_IsNumber(c) ||
			    s->valuedouble < 0 || s->valuedouble > 999 ||
			    c->valuedouble < 0 ||
			    c->valuedouble != floor(c->valuedouble)) {
				report_rfail(rd, "%s: a status is "
				    "[status,count]", where);
				goto out_where;
			}
			report_status_add(ep, s->valueint,
			    (uint64_t)c->valuedouble);
		}
	}
	if ((v = report_get_array(rd, o, "diffs")) != NULL) {
		cJSON_ArrayForEach(e, v) {
			for (i = 0; i < 4; i++) {
				c = cJSON_GetObjectItemCaseSensitive(e,
				    diffkeys[i]);
				if (!cJSON_IsString(c)) {
					report_rfail(rd, "%s: a diff needs "
					    "string \"%s\"", where,
					    diffkeys[i]);
					goto out_where;
				}
				diff[i] = c->valuestring;
			}
			report_diff_add(ep, diff[0], diff[1], diff[2],
			    diff[3]);
		}
	}
	if (rd->cause != NULL ||
	    report_read_hist(rd, o, &ep->hist, where) == -1)
		goto out_where;
	rc = 0;
out_where:
	free(where);
out:
	free(method);
	free(path);
	return rc;
}

/* The lists of a report document: ticks, faults, the protocol and its
 * h2 errors, assertions. */
static int
report_read_lists(struct report_reader *rd, struct report *r,
    const cJSON *o)
{
	const cJSON		*v, *e, *n;
	struct report_tick	*t;
	uint64_t		 count;
	char			*s1 = NULL, *s2 = NULL, *s3 = NULL;
	size_t			 i;
	int			 ok;

	if ((v = report_get_array(rd, o, "ticks")) != NULL) {
		i = 0;
		cJSON_ArrayForEach(e, v) {
			ok = cJSON_IsArray(e) && cJSON_GetArraySize(e) == 4;
			for (n = ok ? e->child : NULL; n != NULL; n = n->next)
				if (!cJSON_IsNumber(n) || n->valuedouble < 0)
					ok = 0;
			if (!ok)
				return report_rfail(rd, "tick %zu is not "
				    "[count,errors,sum_us,max_us]", i);
			t = report_tick(r, i++);
			n = e->child;
			t->count = (uint64_t)n->valuedouble;
			t->errors = (uint64_t)n->next->valuedouble;
			t->sum_us = n->next->next->valuedouble;
			t->max_us = (uint64_t)n->next->next->next->valuedouble;
		}
	}
	if ((v = report_get_array(rd, o, "faults")) != NULL) {
		cJSON_ArrayForEach(e, v) {
			count = 0;
			if (report_get_str(rd, e, "rule", &s1) == -1 ||
			    report_get_str(rd, e, "kind", &s2) == -1 ||
			    report_get_u64(rd, e, "count", &count, 1) == -1) {
				free(s1);
				free(s2);
				return -1;
			}
			report_add_fault(r, s1, s2, count);
			free(s1);
			free(s2);
			s1 = s2 = NULL;
		}
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(o, "protocol")) != NULL) {
		if (report_get_str(rd, o, "protocol", &s1) == -1)
			return -1;
		report_set_protocol(r, s1);
		free(s1);
		s1 = NULL;
	}
	if ((v = report_get_array(rd, o, "h2_errors")) != NULL) {
		cJSON_ArrayForEach(e, v) {
			count = 0;
			if (report_get_str(rd, e, "what", &s1) == -1 ||
			    report_get_u64(rd, e, "count", &count, 1) == -1) {
				free(s1);
				return -1;
			}
			report_add_h2_error(r, s1, count);
			free(s1);
			s1 = NULL;
		}
	}
	if ((v = report_get_array(rd, o, "assertions")) != NULL) {
		cJSON_ArrayForEach(e, v) {
			n = cJSON_GetObjectItemCaseSensitive(e, "passed");
			if (report_get_str(rd, e, "name", &s1) == -1 ||
			    report_get_str(rd, e, "expected", &s2) == -1 ||
			    report_get_str(rd, e, "actual", &s3) == -1 ||
			    !cJSON_IsBool(n)) {
				free(s1);
				free(s2);
				free(s3);
				return report_rfail(rd, "an assertion needs "
				    "name, expected, actual and passed");
			}
			report_add_assertion(r, s1, s2, s3, cJSON_IsTrue(n));
			free(s1);
			free(s2);
			free(s3);
			s1 = s2 = s3 = NULL;
		}
	}
	return rd->cause != NULL ? -1 : 0;
}

static int
report_read_doc(struct report_reader *rd, struct report *r, const cJSON *o)
{
	const cJSON		*v, *e;
	uint64_t		 u;

	if (!cJSON_IsObject(o))
		return report_rfail(rd, "not a JSON object");
	if (report_get_u64(rd, o, "version", &u, 1) == -1)
		return -1;
	if (u != REPORT_VERSION)
		return report_rfail(rd, "report version %" PRIu64
		    " (this decoy reads %d)", u, REPORT_VERSION);
	free(r->name);
	free(r->target);
	r->name = r->target = NULL;
	if (report_get_str(rd, o, "name", &r->name) == -1)
		return -1;
	if (cJSON_GetObjectItemCaseSensitive(o, "target") == NULL)
		r->target = xstrdup("");
	else if (report_get_str(rd, o, "target", &r->target) == -1)
		return -1;
	v = cJSON_GetObjectItemCaseSensitive(o, "start_us");
	if (v != NULL) {
		if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
			return report_rfail(rd, "\"start_us\" is not an "
			    "integer");
		r->start_us = (int64_t)v->valuedouble;
	}
	u = 1;
	if (report_get_u64(rd, o, "duration_us", &r->duration_us, 0) == -1 ||
	    report_get_u64(rd, o, "scheduled", &r->scheduled, 0) == -1 ||
	    report_get_u64(rd, o, "late", &r->late, 0) == -1 ||
	    report_get_u64(rd, o, "dropped", &r->dropped, 0) == -1 ||
	    report_get_u64(rd, o, "h2_retried", &r->h2_retried, 0) == -1 ||
	    report_get_u64(rd, o, "shards", &u, 0) == -1)
		return -1;
	if (u < 1 || u > UINT32_MAX)
		return report_rfail(rd, "bad \"shards\"");
	r->shards = (unsigned)u;
	if ((v = cJSON_GetObjectItemCaseSensitive(o,
	    "allow_regressions")) != NULL) {
		if (!cJSON_IsBool(v))
			return report_rfail(rd, "\"allow_regressions\" is not "
			    "a boolean");
		r->allow_regressions = cJSON_IsTrue(v);
	}

	if (cJSON_GetObjectItemCaseSensitive(o, "endpoints") == NULL)
		return report_rfail(rd, "missing \"endpoints\"");
	if ((v = report_get_array(rd, o, "endpoints")) == NULL)
		return -1;
	cJSON_ArrayForEach(e, v)
		if (report_read_endpoint(rd, r, e) == -1)
			return -1;

	return report_read_lists(rd, r, o);
}

struct report *
report_read_json(const char *path, char **cause)
{
	struct report_reader	 rd = { path, NULL };
	struct report		*r;
	struct buf		 b;
	cJSON			*doc;
	FILE			*f;
	int			 failed;

	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "r")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b);
	failed = buf_read_stream(&b, f, SIZE_MAX) == -1;
	if (f != stdin)
		fclose(f);
	if (failed) {
		*cause = xasprintf("%s: read failed", path);
		buf_free(&b);
		return NULL;
	}
	doc = cJSON_ParseWithLength(b.data != NULL ? b.data : "", b.len);
	if (doc == NULL) {
		const char	*at = cJSON_GetErrorPtr();

		const char	*nl, *ls;
		size_t		 line = 1;

		if (at != NULL && b.data != NULL && at >= b.data &&
		    at <= b.data + b.len) {
			/* FILE:LINE:COL, the column in bytes. */
			for (ls = b.data; (nl = memchr(ls, '\n',
			    (size_t)(at - ls))) != NULL; ls = nl + 1)
				line++;
			*cause = xasprintf("%s:%zu:%zu: not valid JSON", path,
			    line, (size_t)(at - ls) + 1);
		} else
			*cause = xasprintf("%s: not valid JSON", path);
		buf_free(&b);
		return NULL;
	}
	buf_free(&b);
	r = report_create(NULL, NULL);
	if (report_read_doc(&rd, r, doc) == -1) {
		cJSON_Delete(doc);
		report_free(r);
		*cause = rd.cause;
		return NULL;
	}
	cJSON_Delete(doc);
	return r;
}

/* Renderings. */

/* "200:95 503:3 reset:2" */
static void
report_fmt_mix(struct buf *b, const struct report_endpoint *ep)
{
	size_t	i;

	for (i = 0; i < ep->nstatus; i++)
		buf_printf(b, "%s%d:%" PRIu64, b->len == 0 ? "" : " ",
		    ep->status[i].status, ep->status[i].count);
	for (i = 0; i < REPORT_NERRORS; i++)
		if (ep->errors[i] != 0)
			buf_printf(b, "%s%s:%" PRIu64, b->len == 0 ? "" : " ",
			    report_error_names[i], ep->errors[i]);
	for (i = 0; i <= GRPC_CODE_MAX + 1; i++)
		if (ep->grpc[i] != 0)
			buf_printf(b, "%sgrpc:%s:%" PRIu64, b->len == 0 ? "" :
			    " ", report_grpc_name(i), ep->grpc[i]);
	if (b->len == 0)
		buf_append_str(b, "-");
}

/*
 * The run's verdict in one line ("PASSED: 3 of 3 assertions passed",
 * "FAILED: 1 of 3 assertions failed; 61 of 210 responses differ from the
 * recording") into b; 0 when there is nothing to judge (no assertion, no
 * response compared).
 */
static int
report_verdict(const struct report *r, struct buf *b)
{
	struct report_endpoint	tot;
	size_t			i, failed = 0;
	int			passed = report_passed(r);

	report_totals(r, &tot);
	for (i = 0; i < r->nassertions; i++)
		if (!r->assertions[i].passed)
			failed++;
	if (r->nassertions == 0 && tot.compared == 0) {
		report_endpoint_clear(&tot);
		return 0;
	}
	buf_append_str(b, passed ? "PASSED: " : "FAILED: ");
	if (r->nassertions > 0) {
		if (failed == 0)
			buf_printf(b, "%zu of %zu assertion%s passed",
			    r->nassertions, r->nassertions,
			    r->nassertions == 1 ? "" : "s");
		else
			buf_printf(b, "%zu of %zu assertion%s failed", failed,
			    r->nassertions, r->nassertions == 1 ? "" : "s");
	}
	if (tot.compared > 0) {
		buf_append_str(b, r->nassertions > 0 ? "; " : "");
		if (tot.regressions == 0)
			buf_printf(b, "all %" PRIu64 " compared response%s as "
			    "recorded", tot.compared, tot.compared == 1 ? "" :
			    "s");
		else
			buf_printf(b, "%" PRIu64 " of %" PRIu64 " compared "
			    "responses differ from the recording%s",
			    tot.regressions, tot.compared,
			    r->allow_regressions ? " (tolerated: "
			    "--allow-regressions)" : "");
	}
	report_endpoint_clear(&tot);
	return 1;
}

static void
report_print_row(const struct report *r, const struct report_endpoint *ep,
    int w, FILE *f)
{
	static const double	 ps[] = { 50, 90, 95, 99, 99.9 };
	struct buf		 name, mix;
	char			 tmp[32];
	size_t			 i;

	buf_init(&name);
	buf_init(&mix);
	buf_printf(&name, "%s %s", ep->method, ep->path);
	report_fmt_mix(&mix, ep);
	fprintf(f, "  %-*s %8" PRIu64 " %8.1f", w, name.data, ep->count,
	    report_throughput(r, ep));
	for (i = 0; i < sizeof ps / sizeof ps[0]; i++)
		fprintf(f, " %8s", ep->hist.total == 0 ? "-" : chart_fmt_us(
		    tmp, sizeof tmp, (double)hist_percentile(&ep->hist, ps[i])));
	fprintf(f, " %8s", ep->hist.total == 0 ? "-" :
	    chart_fmt_us(tmp, sizeof tmp, (double)ep->hist.max_us));
	fprintf(f, " %6.2f%%", 100 * report_error_rate(ep));
	if (ep->compared > 0)
		fprintf(f, " %6" PRIu64 "/%-6" PRIu64, ep->regressions,
		    ep->compared);
	else
		fprintf(f, " %13s", "-");
	fprintf(f, "  %s\n", mix.data);
	buf_free(&name);
	buf_free(&mix);
}

void
report_print(const struct report *r, FILE *f)
{
	struct report_endpoint		 tot;
	const struct report_endpoint	*ep;
	const struct report_diff	*d;
	const struct report_assertion	*a;
	struct buf			 verdict;
	size_t				 i, j;
	int				 w = 14, n;

	fprintf(f, "%s: %s, %.1fs", r->name, *r->target != '\0' ?
	    r->target : "-", (double)r->duration_us / 1e6);
	if (r->protocol != NULL)
		fprintf(f, ", %s", r->protocol);
	if (r->shards > 1)
		fprintf(f, ", %u shards", r->shards);
	fprintf(f, "; scheduled %" PRIu64 ", late %" PRIu64 ", dropped %"
	    PRIu64 "\n\n", r->scheduled, r->late, r->dropped);

	for (i = 0; i < r->nendpoints; i++) {
		ep = r->endpoints[i];
		n = (int)(strlen(ep->method) + 1 + strlen(ep->path));
		if (n > w)
			w = n;
	}
	if (w > 60)
		w = 60;
	fprintf(f, "  %-*s %8s %8s %8s %8s %8s %8s %8s %8s %7s %13s  %s\n",
	    w, "ENDPOINT", "COUNT", "REQ/S", "P50", "P90", "P95", "P99",
	    "P99.9", "MAX", "ERRORS", "REGRESSIONS", "STATUS");
	for (i = 0; i < r->nendpoints; i++)
		report_print_row(r, r->endpoints[i], w, f);
	report_totals(r, &tot);
	free(tot.method);
	free(tot.path);
	tot.method = xstrdup("all");
	tot.path = xstrdup("(total)");
	report_print_row(r, &tot, w, f);
	report_endpoint_clear(&tot);

	if (r->nassertions > 0) {
		fprintf(f, "\nassertions:\n");
		for (i = 0; i < r->nassertions; i++) {
			a = &r->assertions[i];
			fprintf(f, "  %s  %-24s expected %s, actual %s\n",
			    a->passed ? "PASS" : "FAIL", a->name,
			    a->expected, a->actual);
		}
	}
	buf_init(&verdict);
	if (report_verdict(r, &verdict))
		fprintf(f, "%s%s\n", r->nassertions > 0 ? "  " : "\n",
		    verdict.data);
	buf_free(&verdict);
	if (r->nfaults > 0) {
		fprintf(f, "\nfaults injected:\n");
		for (i = 0; i < r->nfaults; i++)
			fprintf(f, "  %-24s %-16s %" PRIu64 "\n",
			    r->faults[i].rule, r->faults[i].kind,
			    r->faults[i].count);
	}
	if (r->nh2_errors > 0) {
		fprintf(f, "\nh2 stream errors:\n");
		for (i = 0; i < r->nh2_errors; i++)
			fprintf(f, "  %-41s %" PRIu64 "\n",
			    r->h2_errors[i].what, r->h2_errors[i].count);
	}
	if (r->h2_retried > 0)
		fprintf(f, "\nh2 requests retried (not processed by the "
		    "server): %" PRIu64 "\n", r->h2_retried);
	n = 0;
	for (i = 0; i < r->nendpoints; i++) {
		ep = r->endpoints[i];
		for (j = 0; j < ep->ndiffs && j < 5; j++) {
			d = &ep->diffs[j];
			if (n++ == 0)
				fprintf(f, "\nfirst differences:\n");
			fprintf(f, "  %s %s [%s] %s:\n    expected: %s\n"
			    "    actual:   %s\n", ep->method, ep->path, d->txn,
			    d->field, d->expected, d->actual);
		}
	}
}


static void
report_junit_case(struct buf *b, const char *classname, const char *name)
{
	buf_append_str(b, "  <testcase classname=\"");
	chart_xml_escape(b, classname);
	buf_append_str(b, "\" name=\"");
	chart_xml_escape(b, name);
	buf_append_str(b, "\"");
}

int
report_write_junit(const struct report *r, const char *path, char **cause)
{
	const struct report_endpoint	*ep;
	const struct report_assertion	*a;
	const struct report_diff	*d;
	struct buf			 b, tmp;
	size_t				 i, j, tests = 0, failures = 0;
	int				 rc;

	for (i = 0; i < r->nassertions; i++) {
		tests++;
		if (!r->assertions[i].passed)
			failures++;
	}
	for (i = 0; i < r->nendpoints; i++) {
		tests++;
		if (r->endpoints[i]->regressions > 0 && !r->allow_regressions)
			failures++;
	}
	buf_init(&b);
	buf_init(&tmp);
	buf_append_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<testsuite name=\"");
	chart_xml_escape(&b, r->name);
	buf_printf(&b, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
	    "time=\"%.3f\">\n", tests, failures,
	    (double)r->duration_us / 1e6);
	for (i = 0; i < r->nassertions; i++) {
		a = &r->assertions[i];
		report_junit_case(&b, "decoy.assertions", a->name);
		if (a->passed) {
			buf_append_str(&b, "/>\n");
			continue;
		}
		buf_reset(&tmp);
		buf_printf(&tmp, "%s: expected %s, actual %s", a->name,
		    a->expected, a->actual);
		buf_append_str(&b, ">\n    <failure message=\"");
		chart_xml_escape(&b, tmp.data);
		buf_append_str(&b, "\" type=\"assertion\">");
		chart_xml_escape(&b, tmp.data);
		buf_append_str(&b, "</failure>\n  </testcase>\n");
	}
	for (i = 0; i < r->nendpoints; i++) {
		ep = r->endpoints[i];
		buf_reset(&tmp);
		buf_printf(&tmp, "%s %s", ep->method, ep->path);
		report_junit_case(&b, "decoy.regression", tmp.data);
		if (ep->compared == 0) {
			buf_append_str(&b, ">\n    <skipped message=\"no "
			    "responses compared\"/>\n  </testcase>\n");
			continue;
		}
		if (ep->regressions == 0) {
			buf_append_str(&b, "/>\n");
			continue;
		}
		buf_reset(&tmp);
		buf_printf(&tmp, "%" PRIu64 " of %" PRIu64 " responses "
		    "differed from the recording", ep->regressions,
		    ep->compared);
		/* Tolerated differences are listed, not failed: the JUnit
		 * file agrees with the exit status. */
		if (r->allow_regressions) {
			buf_append_str(&b, ">\n    <system-out>");
			buf_append_str(&tmp, " (tolerated: "
			    "--allow-regressions)\n");
			chart_xml_escape(&b, tmp.data);
		} else {
			buf_append_str(&b, ">\n    <failure message=\"");
			chart_xml_escape(&b, tmp.data);
			buf_append_str(&b, "\" type=\"regression\">");
		}
		for (j = 0; j < ep->ndiffs; j++) {
			d = &ep->diffs[j];
			buf_reset(&tmp);
			buf_printf(&tmp, "%s %s:\n  expected: %s\n  actual:   "
			    "%s\n", d->txn, d->field, d->expected, d->actual);
			chart_xml_escape(&b, tmp.data);
		}
		buf_append_str(&b, r->allow_regressions ? "</system-out>\n  "
		    "</testcase>\n" : "</failure>\n  </testcase>\n");
	}
	buf_append_str(&b, "</testsuite>\n");
	rc = report_write_file(path, b.data, b.len, cause);
	buf_free(&tmp);
	buf_free(&b);
	return rc;
}



/* Horizontal bars: one per status and per transport error kind. */
static void
chart_status(struct buf *b, const struct report_endpoint *tot)
{
	uint64_t	max = 1;
	size_t		i, n = tot->nstatus, row = 0;
	double		w, y;
	int		h;
	char		label[32];

	for (i = 0; i < REPORT_NERRORS; i++)
		if (tot->errors[i] > 0)
			n++;
	for (i = 0; i < tot->nstatus; i++)
		if (tot->status[i].count > max)
			max = tot->status[i].count;
	for (i = 0; i < REPORT_NERRORS; i++)
		if (tot->errors[i] > max)
			max = tot->errors[i];
	h = CHART_T + 10 + (int)(n == 0 ? 1 : n) * 26;
	if (h < CHART_H)
		h = CHART_H;
	buf_printf(b, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">"
	    "<title>Status mix</title><rect x=\"0\" y=\"0\" width=\"%d\" "
	    "height=\"%d\" fill=\"#fff\"/><text x=\"%d\" y=\"18\" "
	    "class=\"t\">Status mix</text>", CHART_W, h, CHART_W, h, CHART_W,
	    h, CHART_L);
	if (n == 0)
		buf_printf(b, "<text x=\"%d\" y=\"%d\" class=\"lg\">no "
		    "responses</text>", CHART_L, CHART_T + 24);
	for (i = 0; i < tot->nstatus + REPORT_NERRORS; i++) {
		uint64_t	 c;
		const char	*color;

		if (i < tot->nstatus) {
			c = tot->status[i].count;
			snprintf(label, sizeof label, "%d",
			    tot->status[i].status);
			color = chart_status_color(tot->status[i].status);
		} else {
			c = tot->errors[i - tot->nstatus];
			if (c == 0)
				continue;
			snprintf(label, sizeof label, "%s",
			    report_error_names[i - tot->nstatus]);
			color = "#444";
		}
		y = CHART_T + 10 + (double)row++ * 26;
		w = (double)c / (double)max * (CHART_W - CHART_L - 140);
		buf_printf(b, "<text x=\"%d\" y=\"%.1f\" class=\"yl\">%s</text>"
		    "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"18\" "
		    "fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" class=\"lg\">%"
		    PRIu64 " (%.1f%%)</text>", CHART_L - 6, y + 13, label,
		    CHART_L, y, w < 1 ? 1 : w, color, CHART_L + w + 6, y + 13,
		    c, 100.0 * (double)c / (double)(tot->count ? tot->count : 1));
	}
	buf_append_str(b, "</svg></figure>\n");
}


static void
html_row(struct buf *b, const struct report *r,
    const struct report_endpoint *ep, int total)
{
	static const double	 ps[] = { 50, 90, 95, 99, 99.9 };
	struct buf		 t;
	char			 tmp[64];
	size_t			 i;

	buf_init(&t);
	buf_append_str(b, total ? "<tr class=\"tot\">" : "<tr>");
	buf_printf(&t, "%s %s", ep->method, ep->path);
	chart_td(b, total ? "total" : t.data, 0);
	snprintf(tmp, sizeof tmp, "%" PRIu64, ep->count);
	chart_td(b, tmp, 1);
	snprintf(tmp, sizeof tmp, "%.1f", report_throughput(r, ep));
	chart_td(b, tmp, 1);
	for (i = 0; i < sizeof ps / sizeof ps[0]; i++)
		chart_td(b, ep->hist.total == 0 ? "-" : chart_fmt_us(tmp,
		    sizeof tmp, (double)hist_percentile(&ep->hist, ps[i])), 1);
	chart_td(b, ep->hist.total == 0 ? "-" : chart_fmt_us(tmp, sizeof tmp,
	    (double)ep->hist.max_us), 1);
	snprintf(tmp, sizeof tmp, "%.2f%%", 100 * report_error_rate(ep));
	chart_td(b, tmp, 1);
	buf_reset(&t);
	report_fmt_mix(&t, ep);
	chart_td(b, t.data, 0);
	if (ep->compared == 0)
		snprintf(tmp, sizeof tmp, "-");
	else
		snprintf(tmp, sizeof tmp, "%" PRIu64 " / %" PRIu64,
		    ep->regressions, ep->compared);
	buf_append_str(b, ep->regressions > 0 ? "<td class=\"n bad\">" :
	    "<td class=\"n\">");
	chart_xml_escape(b, tmp);
	buf_append_str(b, "</td></tr>\n");
	buf_free(&t);
}



static void
html_charts(struct buf *b, const struct report *r,
    const struct report_endpoint *tot)
{
	struct chart_series	 s[2];
	double			*x, *y1, *y2;
	size_t			 i, n = r->nticks, np = 201;
	const struct report_tick *t;

	buf_append_str(b, "<div class=\"charts\">\n");
	x = xcalloc(n > np ? n : np, sizeof *x);
	y1 = xcalloc(n > np ? n : np, sizeof *y1);
	y2 = xcalloc(n > np ? n : np, sizeof *y2);

	for (i = 0; i < n; i++) {
		t = &r->ticks[i];
		x[i] = (double)i;
		y1[i] = t->count ? t->sum_us / (double)t->count : NAN;
		y2[i] = t->count ? (double)t->max_us : NAN;
	}
	s[0] = (struct chart_series){ "max", "#d62728", y2, 0 };
	s[1] = (struct chart_series){ "mean", "#1f77b4", y1, 0 };
	chart_draw(b, "Latency over time", CHART_SECONDS, CHART_LATENCY, n,
	    x, s, 2);

	for (i = 0; i < np; i++) {
		x[i] = 4.0 * (double)i / (double)(np - 1);
		y1[i] = tot->hist.total == 0 ? NAN : (double)hist_percentile(
		    &tot->hist, 100.0 * (1 - pow(10, -x[i])));
	}
	s[0] = (struct chart_series){ "latency", "#9467bd", y1, 0 };
	chart_draw(b, "Latency by percentile", CHART_PERCENTILE,
	    CHART_LATENCY, np, x, s, 1);

	for (i = 0; i < n; i++) {
		x[i] = (double)i;
		y1[i] = (double)r->ticks[i].count;
		y2[i] = (double)r->ticks[i].errors;
	}
	s[0] = (struct chart_series){ "requests", "#1f77b4", y1, 1 };
	s[1] = (struct chart_series){ "errors", "#d62728", y2, 1 };
	chart_draw(b, "Throughput (per second)", CHART_SECONDS, CHART_RATE, n,
	    x, s, 2);

	chart_status(b, tot);
	buf_append_str(b, "</div>\n");
	free(x);
	free(y1);
	free(y2);
}

/* The page head, the title line and the verdict. */
static void
html_head(struct buf *b, const struct report *r)
{
	struct buf	 verdict;
	char		 when[64];
	struct tm	 tm;
	time_t		 secs;

	chart_page_head(b, "report", r->name);
	chart_xml_escape(b, *r->target != '\0' ? r->target : "-");
	if (r->protocol != NULL) {
		buf_append_str(b, " &middot; ");
		chart_xml_escape(b, r->protocol);
	}
	secs = (time_t)(r->start_us / 1000000);
	if (r->start_us > 0 && gmtime_r(&secs, &tm) != NULL &&
	    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm) > 0)
		buf_printf(b, " &middot; started %s", when);
	buf_printf(b, " &middot; %.1fs &middot; scheduled %" PRIu64
	    ", late %" PRIu64 ", dropped %" PRIu64, (double)r->duration_us /
	    1e6, r->scheduled, r->late, r->dropped);
	if (r->shards > 1)
		buf_printf(b, " &middot; %u shards", r->shards);
	buf_append_str(b, "</p>\n");
	buf_init(&verdict);
	if (report_verdict(r, &verdict)) {
		buf_printf(b, "<div class=\"verdict %s\">",
		    report_passed(r) ? "pass" : "fail");
		chart_xml_escape(b, verdict.data);
		buf_append_str(b, "</div>\n");
	}
	buf_free(&verdict);
}

/* The summary cards of the totals tot. */
static void
html_cards(struct buf *b, const struct report *r,
    const struct report_endpoint *tot)
{
	char	tmp[64];

	buf_append_str(b, "<div class=\"cards\">");
	snprintf(tmp, sizeof tmp, "%" PRIu64, tot->count);
	chart_card(b, tmp, "requests");
	snprintf(tmp, sizeof tmp, "%.1f", report_throughput(r, tot));
	chart_card(b, tmp, "requests/s");
	chart_card(b, chart_fmt_us(tmp, sizeof tmp,
	    (double)hist_percentile(&tot->hist, 50)), "p50");
	chart_card(b, chart_fmt_us(tmp, sizeof tmp,
	    (double)hist_percentile(&tot->hist, 99)), "p99");
	chart_card(b, chart_fmt_us(tmp, sizeof tmp,
	    (double)tot->hist.max_us), "max");
	snprintf(tmp, sizeof tmp, "%.2f%%", 100 * report_error_rate(tot));
	chart_card(b, tmp, "error rate");
	snprintf(tmp, sizeof tmp, "%" PRIu64 " / %" PRIu64, tot->regressions,
	    tot->compared);
	chart_card(b, tmp, "regressions / compared");
	buf_append_str(b, "</div>\n");
}

/* The assertions table, when there are assertions. */
static void
html_assertions(struct buf *b, const struct report *r)
{
	const struct report_assertion	*a;
	size_t				 i;

	if (r->nassertions > 0) {
		buf_append_str(b, "<h2>Assertions</h2>\n<table><tr><th>"
		    "result</th><th>assertion</th><th>expected</th><th>actual"
		    "</th></tr>\n");
		for (i = 0; i < r->nassertions; i++) {
			a = &r->assertions[i];
			buf_printf(b, "<tr><td class=\"%s\">%s</td>",
			    a->passed ? "ok" : "bad", a->passed ? "PASS" :
			    "FAIL");
			chart_td(b, a->name, 0);
			chart_td(b, a->expected, 0);
			chart_td(b, a->actual, 0);
			buf_append_str(b, "</tr>\n");
		}
		buf_append_str(b, "</table>\n");
	}
}

/* The faults table, when faults were injected. */
static void
html_faults(struct buf *b, const struct report *r)
{
	char	tmp[64];
	size_t	i;

	if (r->nfaults > 0) {
		buf_append_str(b, "<h2>Faults injected</h2>\n<table><tr><th>"
		    "rule</th><th>kind</th><th>count</th></tr>\n");
		for (i = 0; i < r->nfaults; i++) {
			buf_append_str(b, "<tr>");
			chart_td(b, r->faults[i].rule, 0);
			chart_td(b, r->faults[i].kind, 0);
			snprintf(tmp, sizeof tmp, "%" PRIu64,
			    r->faults[i].count);
			chart_td(b, tmp, 1);
			buf_append_str(b, "</tr>\n");
		}
		buf_append_str(b, "</table>\n");
	}
}

/* A table cell of preformatted text s. */
static void
html_td_pre(struct buf *b, const char *s)
{
	buf_append_str(b, "<td><pre>");
	chart_xml_escape(b, s);
	buf_append_str(b, "</pre></td>");
}

/* The first differences of each endpoint, when there are regressions. */
static void
html_diffs(struct buf *b, const struct report *r, uint64_t regressions)
{
	const struct report_endpoint	*ep;
	const struct report_diff	*d;
	size_t				 i, j;

	if (regressions > 0) {
		buf_append_str(b, "<h2>First differences</h2>\n<table><tr>"
		    "<th>endpoint</th><th>transaction</th><th>field</th>"
		    "<th>expected</th><th>actual</th></tr>\n");
		for (i = 0; i < r->nendpoints; i++) {
			ep = r->endpoints[i];
			for (j = 0; j < ep->ndiffs; j++) {
				d = &ep->diffs[j];
				buf_append_str(b, "<tr><td>");
				chart_xml_escape(b, ep->method);
				buf_append_byte(b, ' ');
				chart_xml_escape(b, ep->path);
				buf_append_str(b, "</td>");
				chart_td(b, d->txn, 0);
				chart_td(b, d->field, 0);
				html_td_pre(b, d->expected);
				html_td_pre(b, d->actual);
				buf_append_str(b, "</tr>\n");
			}
		}
		buf_append_str(b, "</table>\n");
	}
}

/* The gRPC methods (endpoints with gRPC answers) and their grpc-status
 * mix, and the run's HTTP/2 stream errors and retries, when there are. */
static void
html_grpc_h2(struct buf *b, const struct report *r)
{
	const struct report_endpoint	*ep;
	struct span			 svc, meth;
	char				*s, *m, tmp[64];
	size_t				 i, c, n = 0;

	for (i = 0; i < r->nendpoints; i++) {
		ep = r->endpoints[i];
		for (c = 0; c <= GRPC_CODE_MAX + 1 && ep->grpc[c] == 0; c++)
			;
		if (c > GRPC_CODE_MAX + 1 || grpc_path_split(
		    span_from_str(ep->path), &svc, &meth) == -1)
			continue;
		if (n++ == 0)
			chart_grpc_head(b);
		s = xstrndup(svc.p, svc.len);
		m = xstrndup(meth.p, meth.len);
		chart_grpc_row(b, s, m, ep->count, ep->grpc);
		free(s);
		free(m);
	}
	if (n > 0)
		buf_append_str(b, "</table>\n");
	if (r->nh2_errors == 0 && r->h2_retried == 0)
		return;
	buf_append_str(b, "<h2>HTTP/2</h2>\n<table><tr><th>stream event</th>"
	    "<th>count</th></tr>\n");
	for (i = 0; i < r->nh2_errors; i++) {
		buf_append_str(b, "<tr>");
		chart_td(b, r->h2_errors[i].what, 0);
		snprintf(tmp, sizeof tmp, "%" PRIu64, r->h2_errors[i].count);
		chart_td(b, tmp, 1);
		buf_append_str(b, "</tr>\n");
	}
	if (r->h2_retried > 0) {
		buf_append_str(b, "<tr>");
		chart_td(b, "retried (not processed by the server)", 0);
		snprintf(tmp, sizeof tmp, "%" PRIu64, r->h2_retried);
		chart_td(b, tmp, 1);
		buf_append_str(b, "</tr>\n");
	}
	buf_append_str(b, "</table>\n");
}

int
report_write_html(const struct report *r, const char *path, char **cause)
{
	struct report_endpoint		 tot;
	struct buf			 b;
	size_t				 i;
	int				 rc;

	report_totals(r, &tot);
	buf_init(&b);
	html_head(&b, r);
	html_cards(&b, r, &tot);
	html_charts(&b, r, &tot);

	buf_append_str(&b, "<h2>Endpoints</h2>\n<table><tr><th>endpoint</th>"
	    "<th>count</th><th>req/s</th><th>p50</th><th>p90</th><th>p95</th>"
	    "<th>p99</th><th>p99.9</th><th>max</th><th>errors</th>"
	    "<th>status mix</th><th>regressions</th></tr>\n");
	for (i = 0; i < r->nendpoints; i++)
		html_row(&b, r, r->endpoints[i], 0);
	html_row(&b, r, &tot, 1);
	buf_append_str(&b, "</table>\n");
	html_grpc_h2(&b, r);

	html_assertions(&b, r);
	html_faults(&b, r);
	html_diffs(&b, r, tot.regressions);
	buf_append_str(&b, "</body></html>\n");
	report_endpoint_clear(&tot);
	rc = report_write_file(path, b.data, b.len, cause);
	buf_free(&b);
	return rc;
}
