/*
 * chaos.c -- the chaos log: one JSON line per injected fault, to a file
 * and to a ring the admin API tails, and counters by rule and kind.  A
 * mutex serialises writers: faults are rare next to requests, and one
 * write(2) per line keeps the file readable after a crash.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chaos.h"
#include "json.h"
#include "log.h"
#include "xmalloc.h"

struct chaos_count {
	char		*rule;
	char		*kind;
	uint64_t	 n;
};

struct chaos_log {
	pthread_mutex_t		 lock;
	int			 fd;		/* -1: no file */
	char			*path;

	char			**ring;
	size_t			 ringcap;
	size_t			 next;		/* slot of the next line */
	size_t			 nlines;	/* lines in the ring */

	struct chaos_count	*counts;
	size_t			 ncounts;
	uint64_t		 total;
	int			 write_failed;
};

struct chaos_log *
chaos_log_open(const char *path, size_t ring, char **cause)
{
	struct chaos_log	*cl;

	cl = xcalloc(1, sizeof *cl);
	pthread_mutex_init(&cl->lock, NULL);
	cl->fd = -1;
	if (path != NULL) {
		cl->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0644);
		if (cl->fd == -1) {
			*cause = xasprintf("chaos log %s: %s", path,
			    strerror(errno));
			pthread_mutex_destroy(&cl->lock);
			free(cl);
			return NULL;
		}
		cl->path = xstrdup(path);
	}
	cl->ringcap = ring == 0 ? 1000 : ring;
	cl->ring = xcalloc(cl->ringcap, sizeof *cl->ring);
	return cl;
}

void
chaos_log_close(struct chaos_log *cl)
{
	size_t	i;

	if (cl == NULL)
		return;
	if (cl->fd != -1)
		close(cl->fd);
	for (i = 0; i < cl->ringcap; i++)
		free(cl->ring[i]);
	for (i = 0; i < cl->ncounts; i++) {
		free(cl->counts[i].rule);
		free(cl->counts[i].kind);
	}
	free(cl->counts);
	free(cl->ring);
	free(cl->path);
	pthread_mutex_destroy(&cl->lock);
	free(cl);
}

static void
chaos_log_count(struct chaos_log *cl, const char *rule, const char *kind)
{
	size_t	i;

	cl->total++;
	for (i = 0; i < cl->ncounts; i++) {
		if (strcmp(cl->counts[i].rule, rule) == 0 &&
		    strcmp(cl->counts[i].kind, kind) == 0) {
			cl->counts[i].n++;
			return;
		}
	}
	cl->counts = xreallocarray(cl->counts, cl->ncounts + 1,
	    sizeof *cl->counts);
	cl->counts[cl->ncounts].rule = xstrdup(rule);
	cl->counts[cl->ncounts].kind = xstrdup(kind);
	cl->counts[cl->ncounts].n = 1;
	cl->ncounts++;
}

void
chaos_log_fault(struct chaos_log *cl, const char *txn_id, uint64_t sig,
    uint64_t occurrence, const char *rule, const char *kind,
    const char *params)
{
	struct buf	 line;
	struct timespec	 ts;
	struct tm	 tm;
	char		 when[32];
	size_t		 len;
	char		*p;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	buf_init(&line);
	buf_printf(&line, "{\"ts\":\"%s.%06ldZ\",\"txn\":", when,
	    ts.tv_nsec / 1000);
	json_append_string(&line, txn_id, strlen(txn_id));
	buf_printf(&line, ",\"sig\":\"%016" PRIx64 "\",\"occurrence\":%"
	    PRIu64 ",\"rule\":", sig, occurrence);
	json_append_string(&line, rule, strlen(rule));
	buf_append_str(&line, ",\"fault\":");
	json_append_string(&line, kind, strlen(kind));
	if (params != NULL) {
		buf_append_str(&line, ",\"params\":");
		buf_append_str(&line, params);
	}
	buf_append_str(&line, "}\n");
	p = buf_detach(&line, &len);

	pthread_mutex_lock(&cl->lock);
	chaos_log_count(cl, rule, kind);
	if (cl->fd != -1 && write(cl->fd, p, len) != (ssize_t)len &&
	    !cl->write_failed) {
		/* Logged once: the counters and the ring still work. */
		cl->write_failed = 1;
		log_error("chaos log %s: %s", cl->path, strerror(errno));
	}
	free(cl->ring[cl->next]);
	cl->ring[cl->next] = p;
	cl->next = (cl->next + 1) % cl->ringcap;
	if (cl->nlines < cl->ringcap)
		cl->nlines++;
	pthread_mutex_unlock(&cl->lock);
}

void
chaos_log_tail(struct chaos_log *cl, size_t n, struct buf *out)
{
	size_t	i, start;

	pthread_mutex_lock(&cl->lock);
	if (n > cl->nlines)
		n = cl->nlines;
	start = (cl->next + cl->ringcap - n) % cl->ringcap;
	for (i = 0; i < n; i++)
		buf_append_str(out, cl->ring[(start + i) % cl->ringcap]);
	pthread_mutex_unlock(&cl->lock);
}

/* 1 if counts[i] is the first of its rule (by_rule) or kind, else 0. */
static int
chaos_count_is_first(const struct chaos_log *cl, size_t i, int by_rule)
{
	const struct chaos_count	*c = cl->counts;
	size_t				 j;

	for (j = 0; j < i; j++)
		if (strcmp(by_rule ? c[j].rule : c[j].kind,
		    by_rule ? c[i].rule : c[i].kind) == 0)
			return 0;
	return 1;
}

void
chaos_log_counts_json(struct chaos_log *cl, struct buf *out)
{
	size_t	i, j;
	int	first;

	pthread_mutex_lock(&cl->lock);
	buf_printf(out, "{\"total\":%" PRIu64 ",\"by_kind\":{", cl->total);
	/* Kinds summed over rules: a quadratic walk over a short list. */
	first = 1;
	for (i = 0; i < cl->ncounts; i++) {
		uint64_t sum = 0;

		if (!chaos_count_is_first(cl, i, 0))
			continue;
		for (j = i; j < cl->ncounts; j++)
			if (strcmp(cl->counts[j].kind, cl->counts[i].kind) == 0)
				sum += cl->counts[j].n;
		buf_append_str(out, first ? "" : ",");
		json_append_string(out, cl->counts[i].kind,
		    strlen(cl->counts[i].kind));
		buf_printf(out, ":%" PRIu64, sum);
		first = 0;
	}
	buf_append_str(out, "},\"by_rule\":{");
	first = 1;
	for (i = 0; i < cl->ncounts; i++) {
		int inner = 1;

		if (!chaos_count_is_first(cl, i, 1))
			continue;
		buf_append_str(out, first ? "" : ",");
		json_append_string(out, cl->counts[i].rule,
		    strlen(cl->counts[i].rule));
		buf_append_str(out, ":{");
		for (j = i; j < cl->ncounts; j++) {
			if (strcmp(cl->counts[j].rule, cl->counts[i].rule) != 0)
				continue;
			buf_append_str(out, inner ? "" : ",");
			json_append_string(out, cl->counts[j].kind,
			    strlen(cl->counts[j].kind));
			buf_printf(out, ":%" PRIu64, cl->counts[j].n);
			inner = 0;
		}
		buf_append_byte(out, '}');
		first = 0;
	}
	buf_append_str(out, "}}");
	pthread_mutex_unlock(&cl->lock);
}

/* Prometheus label values escape backslash, quote and newline. */
static void
chaos_append_label(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			buf_append_byte(out, '\\');
		if (*s == '\n') {
			buf_append_str(out, "\\n");
			continue;
		}
		buf_append_byte(out, *s);
	}
}

void
chaos_log_counts_prometheus(struct chaos_log *cl, struct buf *out)
{
	size_t	i;

	pthread_mutex_lock(&cl->lock);
	for (i = 0; i < cl->ncounts; i++) {
		buf_append_str(out, "decoy_faults_total{rule=\"");
		chaos_append_label(out, cl->counts[i].rule);
		buf_append_str(out, "\",kind=\"");
		chaos_append_label(out, cl->counts[i].kind);
		buf_printf(out, "\"} %" PRIu64 "\n", cl->counts[i].n);
	}
	pthread_mutex_unlock(&cl->lock);
}

uint64_t
chaos_log_total(struct chaos_log *cl)
{
	uint64_t	n;

	pthread_mutex_lock(&cl->lock);
	n = cl->total;
	pthread_mutex_unlock(&cl->lock);
	return n;
}
