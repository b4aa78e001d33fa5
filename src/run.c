/*
 * run.c -- the scenario runner of run.h, `decoy run`'s role: the whole
 * loop from one file.  It starts the responder (decoy itself, `decoy
 * respond`, as a child) with the scenario's rules, starts the service
 * under test (sut.h: `sh -c COMMAND` in the scenario's directory, in its
 * own process group) and waits until it answers its ready path, drives
 * the load with the generator (or a fuzz campaign, fuzz.h), fetches the
 * faults the responder injected from its admin API, checks the
 * assertions, writes the reports and stops everything it started --
 * also on SIGINT and SIGTERM.
 *
 * Ports.  `{responder_port}` in the service's command, URL and env values
 * becomes the responder's bound port (so the responder may listen on port
 * 0); `{service_port}` in the URL makes decoy pick a free port first (bind
 * port 0, close) and substitute it in the URL, the command and the env.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>


#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "conn.h"
#include "fuzz.h"
#include "gen.h"
#include "httpc.h"
#include "json.h"
#include "log.h"
#include "report.h"
#include "run.h"
#include "rule-check.h"
#include "rule.h"
#include "scenario.h"
#include "snap.h"
#include "sock.h"
#include "sut.h"
#include "transform.h"
#include "url.h"
#include "xmalloc.h"

#define RUN_PORT_WAIT_MS	10000
#define RUN_STOP_WAIT_MS	5000
#define RUN_LOG_TAIL		20

static volatile int	run_stop;
static volatile int	run_signal;

struct run {
	struct scenario		*sc;
	char			*tmp;		/* mkdtemp */
	int			 tty;
	struct sut	 responder;
	struct sut	 service;
	int			 responder_port;
	int			 admin_port;
	int			 service_port;
	char			*url;		/* placeholders substituted */
	char			*command;
	char			**env;
};

/* An error or a warning, as the command prints them. */
static void
run_error(const char *fmt, ...)
{
	va_list	ap;

	fputs("decoy run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
run_on_signal(int sig)
{
	run_stop = 1;
	run_signal = sig;
}

/* A phase on the single progress line (terminal only). */
static void
run_progress(struct run *r, const char *msg)
{
	if (!r->tty)
		return;
	/* log.h's status line: a log line never lands in the middle. */
	if (msg == NULL)
		log_status_end(0);
	else
		log_status("decoy run: %s", msg);
}

static void
run_subst_all(struct run *r, const char *name, int value)
{
	char	*s;
	size_t	 i;

	s = buf_subst_int(r->url, name, value);
	free(r->url);
	r->url = s;
	s = buf_subst_int(r->command, name, value);
	free(r->command);
	r->command = s;
	for (i = 0; i < r->sc->nenv; i++) {
		s = buf_subst_int(r->env[i], name, value);
		free(r->env[i]);
		r->env[i] = s;
	}
}

/*
 * A target for run_http_get() from url (an http:// or https:// URL; ca and
 * insecure for https).  0, or -1 reported as what (the scenario's key).
 */
static int
run_target(struct httpc_target *t, const char *url, const char *ca,
    int insecure, const char *what)
{
	struct url	 u;
	const char	*why;
	char		*cause = NULL;

	if (url_parse(url, strlen(url), 0, &u, &why) == -1) {
		run_error("%s: cannot use \"%s\": %s", what, url, why);
		return -1;
	}
	if (httpc_target_init(t, &u, ca, insecure, &cause) == -1) {
		run_error("%s: %s", u.tls ? "service.ca" : what, cause);
		free(cause);
		return -1;
	}
	return 0;
}

/*
 * One blocking GET of path on t with Connection: close, within
 * timeout_ms.  Returns the status (body, if not NULL, gets the body), or
 * -1 with *cause (*fatal, if not NULL, set to 1 when the server's
 * certificate failed verification: waiting will not help).
 */
static int
run_http_get(const struct httpc_target *t, const char *path,
    unsigned timeout_ms, int *fatal, struct buf *body, char **cause)
{
	struct httpc_request	req;
	struct httpc_reply	rp;

	memset(&req, 0, sizeof req);
	req.method = "GET";
	req.target = path;
	req.headers = "User-Agent: decoy-run\r\n";
	req.timeout_ns = (uint64_t)timeout_ms * 1000000;
	req.max_reply = 16 * 1024 * 1024;
	if (httpc_fetch(t, &req, &rp, cause) == -1) {
		if (fatal != NULL && rp.tls_verify_failed)
			*fatal = 1;
		return -1;
	}
	if (body != NULL)
		buf_append(body, rp.body.p, rp.body.len);
	buf_free(&rp.raw);
	return rp.status;
}

/* Prints why c failed and its output; returns RUN_EXIT_USAGE. */
static int
run_child_failed(struct run *r, struct sut *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
run_child_failed(struct run *r, struct sut *c, const char *fmt, ...)
{
	struct buf	b;
	va_list		ap;

	run_progress(r, NULL);
	buf_init(&b);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (c->pid != -1 && sut_gone(c)) {
		buf_append_str(&b, " (it ");
		sut_describe_exit(c, &b);
		buf_append_str(&b, ")");
	}
	run_error("%s", b.data);
	buf_free(&b);
	sut_print_tail(c, stderr, RUN_LOG_TAIL);
	return RUN_EXIT_USAGE;
}

/*
 * Starts c with stdout and stderr going to c->log: decoy itself with
 * argv, or, with argv NULL, `sh -c command` in dir with env added.  0 or
 * -1 with *cause.
 */
static int
run_child_start(struct sut *c, char *const *argv, const char *command,
    const char *dir, char *const *env, size_t nenv, char **cause)
{
	struct sut_spec	spec;

	memset(&spec, 0, sizeof spec);
	if (argv != NULL) {
		spec.exe = "/proc/self/exe";
		spec.argv = argv;
		/* The admin API stays on loopback: no token. */
		spec.unset = "DECOY_TOKEN";
	} else {
		spec.command = command;
		spec.dir = dir;
	}
	spec.env = env;
	spec.nenv = nenv;
	spec.prog = "decoy run";
	spec.log_mode = 0600;
	/* Stop with decoy even if it is killed outright. */
	spec.flags = SUT_PDEATHSIG;
	return sut_start(c, &spec, cause);
}

struct run_port_file {
	const char	*path;
	int		 port;
};

/* A readiness probe: has the port file a port? */
static int
run_port_file_ready(void *arg)
{
	struct run_port_file	*pf = arg;
	char			 line[32], *end;
	long			 l;
	FILE			*f;
	int			 ready = 0;

	if ((f = fopen(pf->path, "r")) == NULL)
		return 0;
	if (fgets(line, sizeof line, f) != NULL) {
		l = strtol(line, &end, 10);
		if (end != line && l > 0 && l < 65536 &&
		    (*end == '\n' || *end == '\0')) {
			pf->port = (int)l;
			ready = 1;
		}
	}
	fclose(f);
	return ready;
}

/* Waits for a port file written by c; the port, or -1. */
static int
run_wait_port(struct sut *c, const char *path)
{
	struct run_port_file	pf = { path, -1 };

	if (sut_wait(c, run_port_file_ready, &pf, RUN_PORT_WAIT_MS, 20,
	    &run_stop) != SUT_READY)
		return -1;
	return pf.port;
}

static int
run_start_responder(struct run *r)
{
	struct scenario	*sc = r->sc;
	char		**argv, *port_file, *admin_file, *chaos, seed[32];
	char		 now[64];
	char		*cause = NULL;
	size_t		 n = 0, i;
	int		 rv;

	port_file = xasprintf("%s/responder.port", r->tmp);
	admin_file = xasprintf("%s/admin.port", r->tmp);
	chaos = xasprintf("%s/chaos.jsonl", r->tmp);
	argv = xcalloc(32 + 2 * sc->nrules, sizeof *argv);
	argv[n++] = (char *)"decoy";
	argv[n++] = (char *)"respond";
	argv[n++] = sc->snapshot;
	argv[n++] = (char *)"--listen";
	argv[n++] = sc->listen;
	argv[n++] = (char *)"--port-file";
	argv[n++] = port_file;
	/* The scenario's snapshot also feeds the load: a service without
	 * dependencies records no dir "out" transaction. */
	argv[n++] = (char *)"--allow-empty";
	for (i = 0; i < sc->nrules; i++) {
		argv[n++] = (char *)"--rules";
		argv[n++] = sc->rules[i];
	}
	if (sc->has_seed) {
		snprintf(seed, sizeof seed, "%llu",
		    (unsigned long long)sc->seed);
		argv[n++] = (char *)"--seed";
		argv[n++] = seed;
	}
	if (sc->unmatched != NULL) {
		argv[n++] = (char *)"--unmatched";
		argv[n++] = sc->unmatched;
	}
	if (sc->responder_transforms != NULL) {
		argv[n++] = (char *)"--transforms";
		argv[n++] = sc->responder_transforms;
		if (sc->has_now) {
			/* The responder's clock starts where the load's does. */
			time_t		sec = (time_t)(sc->now_us / 1000000);
			struct tm	tm;

			gmtime_r(&sec, &tm);
			snprintf(now, sizeof now, "%04d-%02d-%02dT%02d:%02d:"
			    "%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
			    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			    (int)(sc->now_us % 1000000));
			argv[n++] = (char *)"--now";
			argv[n++] = now;
		}
	}
	if (!sc->responder_http2)
		argv[n++] = (char *)"--no-http2";
	argv[n++] = (char *)"--chaos-log";
	argv[n++] = chaos;
	argv[n++] = (char *)"--admin";
	argv[n++] = (char *)"127.0.0.1:0";
	argv[n++] = (char *)"--admin-port-file";
	argv[n++] = admin_file;
	argv[n] = NULL;

	r->responder.log = xasprintf("%s/responder.log", r->tmp);
	rv = -1;
	if (run_child_start(&r->responder, argv, NULL, NULL, NULL, 0,
	    &cause) == -1) {
		run_error("responder: %s", cause);
		goto out;
	}
	if ((r->responder_port = run_wait_port(&r->responder,
	    port_file)) == -1 || (r->admin_port = run_wait_port(&r->responder,
	    admin_file)) == -1) {
		if (!run_stop)
			run_child_failed(r, &r->responder, "the responder did "
			    "not start on %s within %d s", sc->listen,
			    RUN_PORT_WAIT_MS / 1000);
		goto out;
	}
	rv = 0;
out:
	free(cause);
	free(argv);
	free(port_file);
	free(admin_file);
	free(chaos);
	return rv;
}

/* The readiness probe of the service: its ready path over HTTP. */
struct run_probe {
	struct httpc_target	 t;
	const char	*path;
	int		 any;		/* any answer will do (no ready path) */
	int		 fatal;		/* the certificate failed verification */
	char		*cause;		/* the last failure */
	char		*last;		/* the last failure, for the message */
};

/* A sut_ready_cb: 1 ready, 0 not yet, -1 never (a bad certificate). */
static int
run_probe_ready(void *arg)
{
	struct run_probe	*pr = arg;
	int			 status;

	free(pr->cause);
	pr->cause = NULL;
	status = run_http_get(&pr->t, pr->path, 1000, &pr->fatal, NULL,
	    &pr->cause);
	if ((status >= 200 && status < 300) || (status != -1 && pr->any))
		return 1;
	if (pr->fatal)
		return -1;
	free(pr->last);
	pr->last = status == -1 ? xstrdup(pr->cause) :
	    xasprintf("GET %s answered %d", pr->path, status);
	return 0;
}

/* Tells why the service was not ready. */
static void
run_not_ready(struct run *r, enum sut_wait w, const struct run_probe *pr)
{
	unsigned long long	ms = r->sc->ready_timeout_ns / 1000000;

	if (w == SUT_FAILED)
		/* Every connection would fail the same way. */
		run_error("service: %s (service.ca names the CA, "
		    "service.insecure: true skips the check)", pr->cause);
	else if (w == SUT_GONE)
		run_child_failed(r, &r->service, "the service exited before "
		    "it was ready (%s)", pr->last);
	else if (w == SUT_TIMEOUT && r->service.pid != -1)
		run_child_failed(r, &r->service, "the service was not ready "
		    "within %llu ms at %s%s (%s)", ms, pr->t.host, pr->path,
		    pr->last);
	else if (w == SUT_TIMEOUT)
		run_error("the service at %s%s was not ready within %llu ms "
		    "(%s)", pr->t.host, pr->path, ms, pr->last);
}

/* Polls the service's ready path until 2xx (any answer without a ready
 * path) or the timeout.  0 or -1 (reported). */
static int
run_wait_ready(struct run *r)
{
	struct scenario		*sc = r->sc;
	struct run_probe	 pr;
	enum sut_wait		 w;

	memset(&pr, 0, sizeof pr);
	if (run_target(&pr.t, r->url, sc->ca_file, sc->insecure,
	    "service.url") == -1)
		return -1;
	pr.path = sc->ready_path != NULL ? sc->ready_path : "/";
	pr.any = sc->ready_path == NULL;
	w = sut_wait(&r->service, run_probe_ready, &pr,
	    sc->ready_timeout_ns / 1000000, 50, &run_stop);
	run_not_ready(r, w, &pr);
	httpc_target_free(&pr.t);
	free(pr.cause);
	free(pr.last);
	return w == SUT_READY ? 0 : -1;
}

/* --- faults and assertions -------------------------------------------- */

/*
 * Reads the responder's /stats answer (the admin API: cJSON, the
 * project's rule for the documents decoy writes itself),
 * {"faults":{"by_rule":{RULE:{KIND:N,...},...},...},...}, into the
 * report.  0 or -1 (not the JSON expected).
 */
static int
run_read_faults(struct report *rep, const char *text, size_t len)
{
	cJSON	*root, *by_rule, *rule, *kind;
	double	 n;
	int	 rv = 0;

	root = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return -1;
	}
	by_rule = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(root, "faults"), "by_rule");
	if (!cJSON_IsObject(by_rule))
		by_rule = NULL;
	cJSON_ArrayForEach(rule, by_rule) {
		if (!cJSON_IsObject(rule)) {
			rv = -1;
			break;
		}
		cJSON_ArrayForEach(kind, rule) {
			n = cJSON_IsNumber(kind) ? kind->valuedouble : 0.5;
			if (n != (double)(int64_t)n) {
				rv = -1;
				break;
			}
			if (n > 0)
				report_add_fault(rep, rule->string,
				    kind->string, (uint64_t)n);
		}
	}
	cJSON_Delete(root);
	return rv;
}

/* Asks the responder's admin API what it injected. */
static void
run_fetch_faults(struct run *r, struct report *rep)
{
	struct httpc_target	 t;
	struct buf		 body;
	char			*cause = NULL, *url;
	int			 status, rv;

	url = xasprintf("http://127.0.0.1:%d", r->admin_port);
	rv = run_target(&t, url, NULL, 0, "responder stats");
	free(url);
	if (rv == -1)
		return;
	buf_init(&body);
	status = run_http_get(&t, "/stats", 5000, NULL, &body, &cause);
	if (status == -1)
		run_error("warning: responder stats: %s", cause);
	else if (status != 200)
		run_error("warning: responder stats: GET /stats "
		    "answered %d", status);
	else if (run_read_faults(rep, body.data == NULL ? "" : body.data,
	    body.len) == -1)
		run_error("warning: responder stats: not the JSON "
		    "expected");
	free(cause);
	buf_free(&body);
	httpc_target_free(&t);
}

/* The scenario's assertions on the report (report_assert), and a run
 * cut short fails. */
static void
run_assert(struct run *r, struct report *rep)
{
	report_assert(rep, r->sc);
	if (run_stop)
		report_add_assertion(rep, "run.completed", "the whole load",
		    "interrupted", 0);
}

/* Appends "WHERE: WHAT: cause" (each line of a multi-line cause gets
 * its own prefix) as a new line of errors; frees *cause (NULL after).
 * Returns -1. */
static int
run_ref_error(const struct scenario *sc, struct buf *errors, const char *what,
    const char *path, char **cause)
{
	char		*where = scenario_where(sc, what, path);
	const char	*line, *nl;

	for (line = *cause; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		buf_printf(errors, "%s%s: %s: %.*s", errors->len > 0 ? "\n" :
		    "", where, what, nl != NULL ? (int)(nl - line) :
		    (int)strlen(line), line);
		if (nl == NULL)
			break;
	}
	free(where);
	free(*cause);
	*cause = NULL;
	return -1;
}

/*
 * Makes the reports' directories and checks every report path before
 * anything starts (create), or only checks them (--check): a run's
 * results are never lost to a bad path found at the end.  0, or -1 with
 * the problems in errors.
 */
static int
run_check_outputs(const struct scenario *sc, int create, struct buf *errors)
{
	static const char *const whats[3] = { "report.json",
			    "report.junit", "report.html" };
	const char	*paths[3] = { sc->report_json, sc->report_junit,
			    sc->report_html };
	char		*cause = NULL;
	size_t		 i;
	int		 rv = 0;

	for (i = 0; i < 3; i++) {
		if (paths[i] == NULL ||
		    report_check_output(paths[i], create, &cause) == 0)
			continue;
		rv = run_ref_error(sc, errors, whats[i], NULL, &cause);
	}
	return rv;
}

/* Writes the reports the scenario names; 0, or -1 when one could not be
 * written (reported). */
static int
run_write_reports(struct run *r, struct report *rep)
{
	struct scenario	*sc = r->sc;
	const char	*paths[3] = { sc->report_json, sc->report_junit,
			    sc->report_html };
	int		(*writers[3])(const struct report *, const char *,
			    char **) = { report_write_json, report_write_junit,
			    report_write_html };
	char		*cause = NULL;
	size_t		 i;
	int		 rv = 0;

	for (i = 0; i < 3; i++) {
		if (paths[i] == NULL || writers[i](rep, paths[i], &cause) == 0)
			continue;
		run_error("%s", cause);
		free(cause);
		cause = NULL;
		rv = -1;
	}
	return rv;
}

/* --- the command ------------------------------------------------------ */

/*
 * Reads the snapshot whole, as the responder and the generator will: a
 * line that does not parse is an error at its FILE:LINE:COL; the load
 * needs inbound transactions.  0 or -1 with *cause.
 */
static int
run_check_snapshot(const struct scenario *sc, char **cause)
{
	struct snap_reader	*sr;
	struct snap_txn		 t;
	struct stat		 st;
	size_t			 nin = 0, n = 0;
	int			 r;

	if (stat(sc->snapshot, &st) == -1) {
		*cause = xasprintf("%s: %s", sc->snapshot, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*cause = xasprintf("%s: not a regular file", sc->snapshot);
		return -1;
	}
	if ((sr = snap_reader_open(sc->snapshot, cause)) == NULL)
		return -1;
	while ((r = snap_reader_next(sr, &t, cause)) == 1) {
		n++;
		if (t.dir == SNAP_DIR_IN)
			nin++;
		snap_txn_free(&t);
	}
	snap_reader_close(sr);
	if (r == -1)
		return -1;
	if (n == 0) {
		*cause = xasprintf("%s: no transactions", sc->snapshot);
		return -1;
	}
	if (!sc->has_fuzz && nin == 0) {
		*cause = xasprintf("%s: no inbound (dir \"in\") transactions "
		    "to replay", sc->snapshot);
		return -1;
	}
	return 0;
}

/* Each rule file, then all of them together.  0 or -1 (in errors). */
static int
run_check_rules(const struct scenario *sc, struct buf *errors)
{
	struct rule_set	*set;
	char		*cause = NULL;
	size_t		 i;
	int		 rv = 0;

	for (i = 0; i < sc->nrules; i++) {
		set = rule_set_load((const char *const *)&sc->rules[i], 1,
		    NULL, NULL, &cause);
		if (set == NULL)
			rv = run_ref_error(sc, errors, "responder.rules",
			    sc->rules[i], &cause);
		rule_set_free(set);
	}
	/* What only the files together can get wrong (a name twice), and
	 * rules that match no transaction (a warning). */
	if (rv == 0 && sc->nrules > 0) {
		set = rule_set_load((const char *const *)sc->rules, sc->nrules,
		    NULL, NULL, &cause);
		if (set == NULL)
			rv = run_ref_error(sc, errors, "responder.rules", NULL,
			    &cause);
		else
			rule_check_warn(set, sc->snapshot);
		rule_set_free(set);
	}
	return rv;
}

/* A transforms file (keys included) named by what.  0 or -1. */
static int
run_check_transforms(const struct scenario *sc, struct buf *errors,
    const char *what, const char *path)
{
	struct transforms	*tf;
	char			*cause = NULL;

	if ((tf = transforms_load(path, 1, &cause)) == NULL)
		return run_ref_error(sc, errors, what, NULL, &cause);
	transforms_free(tf);
	return 0;
}

/*
 * Checks what the start would find wrong beyond the file itself, each
 * problem prefixed by where the scenario names the file: the snapshot
 * (parsed whole), each rule file, the transforms files (keys included),
 * the fuzz corpus and the https CA.  --check and the start both run it.
 * 0, or -1 with every problem in errors.
 */
static int
run_check_refs(const struct scenario *sc, struct buf *errors)
{
	struct stat		 st;
	struct sock_addr	 sa;
	struct conn_tls_config	 tc;
	struct conn_tls_ctx	*ctx;
	char			*cause = NULL;
	int			 rv;

	rv = run_check_rules(sc, errors);
	if (sc->has_fuzz && stat(sc->fuzz_corpus, &st) == -1)
		cause = xasprintf("%s: %s", sc->fuzz_corpus, strerror(errno));
	else if (sc->has_fuzz && !S_ISDIR(st.st_mode))
		cause = xasprintf("%s: not a directory", sc->fuzz_corpus);
	if (cause != NULL)
		rv = run_ref_error(sc, errors, "fuzz.corpus", NULL, &cause);
	if (sc->transforms != NULL && run_check_transforms(sc, errors,
	    "load.transforms", sc->transforms) == -1)
		rv = -1;
	if (sc->responder_transforms != NULL && (sc->transforms == NULL ||
	    strcmp(sc->transforms, sc->responder_transforms) != 0) &&
	    run_check_transforms(sc, errors, "responder.transforms",
	    sc->responder_transforms) == -1)
		rv = -1;
	/* The listen address as the responder will take it (names
	 * resolved). */
	if (sc->has_responder && sock_parse_addr(sc->listen, &sa,
	    &cause) == -1)
		rv = run_ref_error(sc, errors, "responder.listen", NULL,
		    &cause);
	if (sc->ca_file != NULL) {
		memset(&tc, 0, sizeof tc);
		tc.ca_file = sc->ca_file;
		if ((ctx = conn_tls_client_ctx(&tc, &cause)) == NULL)
			rv = run_ref_error(sc, errors, "service.ca", NULL,
			    &cause);
		conn_tls_ctx_free(ctx);
	}
	if (run_check_snapshot(sc, &cause) == -1)
		rv = run_ref_error(sc, errors, "snapshot", NULL, &cause);
	return rv;
}

static void
run_print_check_json(const char *path, const char *errors)
{
	struct buf	 b;
	const char	*line, *nl;
	int		 first = 1;

	buf_init(&b);
	buf_append_str(&b, "{\"scenario\":");
	json_append_string(&b, path, strlen(path));
	buf_printf(&b, ",\"valid\":%s,\"errors\":[", errors == NULL ?
	    "true" : "false");
	for (line = errors; line != NULL && *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!first)
			buf_append_byte(&b, ',');
		first = 0;
		json_append_string(&b, line, nl != NULL ?
		    (size_t)(nl - line) : strlen(line));
		if (nl == NULL)
			break;
	}
	buf_append_str(&b, "]}\n");
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

/* The service's URL (placeholders substituted), CA and insecure flag
 * as the generator and the fuzzer take them. */
static void
run_config_target(struct run *r, char **target, char **ca_file,
    int *insecure)
{
	free(*target);
	*target = xstrdup(r->url);
	free(*ca_file);
	*ca_file = r->sc->ca_file != NULL ? xstrdup(r->sc->ca_file) : NULL;
	*insecure = r->sc->insecure;
}

static void
run_config(struct run *r, struct gen_config *cfg)
{
	static const enum gen_pattern patterns[] = {
		[SCENARIO_REPLAY] = GEN_REPLAY,
		[SCENARIO_CONSTANT] = GEN_CONSTANT,
		[SCENARIO_RAMP] = GEN_RAMP,
		[SCENARIO_STEPS] = GEN_STEPS,
		[SCENARIO_CLOSED] = GEN_CLOSED,
	};
	static const enum gen_body_cmp bodies[] = {
		[SCENARIO_BODY_EXACT] = GEN_BODY_EXACT,
		[SCENARIO_BODY_JSON] = GEN_BODY_JSON,
		[SCENARIO_BODY_IGNORE] = GEN_BODY_NONE,
	};
	struct scenario	*sc = r->sc;
	size_t		 i;

	gen_config_init(cfg);
	cfg->snapshot = xstrdup(sc->snapshot);
	run_config_target(r, &cfg->target, &cfg->ca_file, &cfg->insecure);
	cfg->pattern = patterns[sc->pattern];
	cfg->multiplier = sc->multiplier;
	cfg->clones = sc->clones;
	if (sc->rate > 0)
		cfg->rate = sc->rate;
	cfg->rate_from = sc->rate_from;
	if (sc->steps > 0)
		cfg->nsteps = sc->steps;
	if (sc->connections > 0)
		cfg->connections = sc->connections;
	cfg->http2 = sc->http2;
	if (sc->streams > 0)
		cfg->streams = sc->streams;
	cfg->duration_ns = sc->duration_ns;
	/* A duration means "keep going that long": cycle the traffic. */
	cfg->loop = sc->duration_ns > 0;
	if (sc->timeout_ns > 0)
		cfg->timeout_ns = sc->timeout_ns;
	if (sc->transforms != NULL)
		cfg->transforms = xstrdup(sc->transforms);
	cfg->has_now = sc->has_now;
	cfg->now_us = sc->now_us;
	cfg->has_seed = sc->load_has_seed;
	cfg->seed = sc->load_seed;
	if (!sc->has_regression) {
		/* No regression assertion, no comparison: the JUnit file
		 * must not fail what the exit status passes. */
		cfg->cmp_status = 0;
		cfg->cmp_body = GEN_BODY_NONE;
	} else {
		cfg->cmp_status = sc->cmp_status;
		cfg->cmp_body = bodies[sc->cmp_body];
		cfg->numeric = sc->cmp_numeric;
		cfg->cmp_headers = xcalloc(sc->ncmp_headers + 1,
		    sizeof *cfg->cmp_headers);
		for (i = 0; i < sc->ncmp_headers; i++)
			cfg->cmp_headers[i] = xstrdup(sc->cmp_headers[i]);
		cfg->ncmp_headers = sc->ncmp_headers;
		cfg->ignore = xcalloc(sc->nignore + 1, sizeof *cfg->ignore);
		for (i = 0; i < sc->nignore; i++)
			cfg->ignore[i] = xstrdup(sc->ignore[i]);
		cfg->nignore = sc->nignore;
	}
	cfg->progress = r->tty;
}

/* Removes the temporary directory and what decoy put in it. */
static void
run_cleanup_tmp(struct run *r)
{
	static const char *const files[] = {
		"responder.port", "admin.port", "chaos.jsonl",
		"responder.log", "service.log",
	};
	char	*p;
	size_t	 i;

	if (r->tmp == NULL)
		return;
	for (i = 0; i < sizeof files / sizeof *files; i++) {
		p = xasprintf("%s/%s", r->tmp, files[i]);
		unlink(p);
		free(p);
	}
	if (rmdir(r->tmp) == -1)
		run_error("warning: %s: %s (left behind)", r->tmp,
		    strerror(errno));
}

/*
 * The exit status of a finished run (1 when an assertion failed, 2 when
 * a report could not be written); writes the reports and prints the
 * report (JSON with json; the fuzz campaign's table first when fcfg is
 * not NULL).
 */
static int
run_output(struct run *r, struct report *rep, int json,
    const struct fuzz_config *fcfg, const struct fuzz_result *fres)
{
	struct buf	out;
	int		rv;

	rv = report_passed(rep) ? RUN_EXIT_OK : RUN_EXIT_FAILED;
	if (run_write_reports(r, rep) == -1)
		rv = RUN_EXIT_USAGE;
	if (json) {
		buf_init(&out);
		report_to_json(rep, &out);
		fwrite(out.data, 1, out.len, stdout);
		if (out.len == 0 || out.data[out.len - 1] != '\n')
			fputc('\n', stdout);
		buf_free(&out);
	} else {
		if (fcfg != NULL)
			fuzz_result_print(stdout, fcfg, fres, 0);
		report_print(rep, stdout);
	}
	fflush(stdout);
	return rv;
}

/* The campaign's configuration from the fuzz section (and the service
 * decoy starts, if the scenario has a command). */
static void
run_fuzz_config(struct run *r, struct fuzz_config *cfg, int json)
{
	struct scenario	*sc = r->sc;
	size_t		 i;

	fuzz_config_init(cfg);
	cfg->corpus = xstrdup(sc->fuzz_corpus);
	run_config_target(r, &cfg->target, &cfg->ca_file, &cfg->insecure);
	free(cfg->findings);
	cfg->findings = xstrdup(sc->fuzz_findings);
	if (sc->fuzz_requests > 0 || sc->fuzz_duration_ns > 0)
		cfg->requests = sc->fuzz_requests;
	cfg->duration_ns = sc->fuzz_duration_ns;
	if (sc->fuzz_has_seed)
		cfg->seed = sc->fuzz_seed;
	if (sc->fuzz_connections > 0)
		cfg->connections = sc->fuzz_connections;
	if (sc->fuzz_timeout_ns > 0)
		cfg->timeout_ns = sc->fuzz_timeout_ns;
	cfg->mutate_auth = sc->fuzz_mutate_auth;
	cfg->progress = isatty(STDERR_FILENO) && !json;
	if (r->command != NULL) {
		cfg->service_cmd = xstrdup(r->command);
		cfg->service_dir = xstrdup(sc->dir);
		cfg->service_env = xcalloc(sc->nenv + 1,
		    sizeof *cfg->service_env);
		for (i = 0; i < sc->nenv; i++)
			cfg->service_env[i] = xstrdup(r->env[i]);
		cfg->nservice_env = sc->nenv;
	}
}

/*
 * The fuzz section: the campaign starts the service itself (so it sees
 * crashes and restarts it), or reaches a running one; the findings are
 * asserted (at most assert.findings.max, default 0).
 */
static int
run_fuzz(struct run *r, int json)
{
	struct scenario		*sc = r->sc;
	struct fuzz_config	 cfg;
	struct fuzz_result	 res;
	struct report		*rep;
	char			*cause = NULL, want[64], got[64];
	unsigned		 max;
	int			 rv;

	run_fuzz_config(r, &cfg, json);
	if (r->command == NULL) {
		run_progress(r, "waiting for the service to be ready");
		if (run_wait_ready(r) == -1) {
			fuzz_config_free(&cfg);
			return RUN_EXIT_USAGE;
		}
	}
	run_progress(r, "fuzzing");
	if (fuzz_run(&cfg, &res, &run_stop, &cause) == -1) {
		run_progress(r, NULL);
		run_error("fuzz: %s", cause);
		free(cause);
		fuzz_result_free(&res);
		fuzz_config_free(&cfg);
		return RUN_EXIT_USAGE;
	}
	run_progress(r, NULL);
	rep = report_create(sc->name, r->url);
	max = sc->has_findings_max ? sc->findings_max : 0;
	snprintf(want, sizeof want, "<= %u", max);
	snprintf(got, sizeof got, "%zu (%llu mutants, %llu service deaths)",
	    res.nfindings, (unsigned long long)res.sent,
	    (unsigned long long)res.crashes);
	report_add_assertion(rep, "findings.max", want, got,
	    res.nfindings <= max);
	if (run_stop)
		report_add_assertion(rep, "run.completed", "the whole campaign",
		    "interrupted", 0);
	rv = run_output(r, rep, json, &cfg, &res);
	report_free(rep);
	fuzz_result_free(&res);
	fuzz_config_free(&cfg);
	return rv;
}

/* The load: the service (if decoy starts it), its readiness, the
 * generator, the faults, the assertions.  The exit status. */
static int
run_load(struct run *r, int json)
{
	struct scenario		*sc = r->sc;
	struct gen_config	 cfg;
	struct report		*rep;
	char			*cause = NULL;
	int			 rv, gen_rv;

	if (r->command != NULL) {
		run_progress(r, "starting the service");
		r->service.log = xasprintf("%s/service.log", r->tmp);
		if (run_child_start(&r->service, NULL, r->command, sc->dir,
		    r->env, sc->nenv, &cause) == -1) {
			run_error("service: %s", cause);
			free(cause);
			return RUN_EXIT_USAGE;
		}
	}
	run_progress(r, "waiting for the service to be ready");
	if (run_wait_ready(r) == -1)
		return RUN_EXIT_USAGE;

	run_progress(r, "running the load");
	run_config(r, &cfg);
	rep = report_create(sc->name, r->url);
	gen_rv = gen_run(&cfg, rep, &run_stop, &cause);
	gen_config_free(&cfg);
	run_progress(r, NULL);
	if (gen_rv == -1) {
		run_error("%s", cause);
		free(cause);
		if (r->service.pid != -1 && sut_gone(&r->service))
			run_child_failed(r, &r->service, "the service is gone");
		report_free(rep);
		return RUN_EXIT_USAGE;
	}
	if (sc->has_responder)
		run_fetch_faults(r, rep);
	run_assert(r, rep);
	rv = run_output(r, rep, json, NULL, NULL);
	report_free(rep);
	return rv;
}

/*
 * The temporary directory, the scenario's url, command and env with
 * their placeholders substituted ({service_port}, then, once it runs,
 * the responder's {responder_port}).  0 or -1 (reported).
 */
static int
run_prepare(struct run *r)
{
	struct scenario	*sc = r->sc;
	char		*cause = NULL, tmpl[PATH_MAX];
	const char	*tmpdir;
	size_t		 i;

	if ((tmpdir = getenv("TMPDIR")) == NULL || *tmpdir == '\0')
		tmpdir = "/tmp";
	snprintf(tmpl, sizeof tmpl, "%s/decoy-run.XXXXXX", tmpdir);
	if (mkdtemp(tmpl) == NULL) {
		run_error("%s: %s", tmpl, strerror(errno));
		return -1;
	}
	r->tmp = xstrdup(tmpl);
	r->url = xstrdup(sc->url);
	r->command = sc->command != NULL ? xstrdup(sc->command) : NULL;
	r->env = xcalloc(sc->nenv + 1, sizeof *r->env);
	for (i = 0; i < sc->nenv; i++)
		r->env[i] = xstrdup(sc->env[i]);

	if (strstr(sc->url, "{service_port}") != NULL) {
		if ((r->service_port = sut_free_port(&cause)) == -1) {
			run_error("%s", cause);
			free(cause);
			return -1;
		}
		run_subst_all(r, "service_port", r->service_port);
	}
	if (sc->has_responder) {
		run_progress(r, "starting the responder");
		if (run_start_responder(r) == -1)
			return -1;
		run_subst_all(r, "responder_port", r->responder_port);
	}
	if (strchr(r->url, '{') != NULL) {
		run_error("service.url: a placeholder is left in \"%s\" "
		    "({responder_port} needs a responder section)", r->url);
		return -1;
	}
	return 0;
}

/* Stops what run_prepare() and the run started and frees what they
 * made. */
static void
run_release(struct run *r)
{
	size_t	i;

	run_progress(r, NULL);
	sut_stop(&r->service, RUN_STOP_WAIT_MS);
	sut_stop(&r->responder, RUN_STOP_WAIT_MS);
	run_cleanup_tmp(r);
	free(r->tmp);
	free(r->url);
	free(r->command);
	for (i = 0; r->env != NULL && i < r->sc->nenv; i++)
		free(r->env[i]);
	free(r->env);
	free(r->responder.log);
	free(r->service.log);
}

static int
run_scenario(struct run *r, int json)
{
	struct sut_signals	 sigs;
	struct buf		 out;
	int			 rv = RUN_EXIT_USAGE;

	buf_init(&out);
	if (run_check_outputs(r->sc, 1, &out) == -1) {
		buf_append_byte(&out, '\0');
		run_error("%s", out.data);
		buf_free(&out);
		return RUN_EXIT_USAGE;
	}
	buf_free(&out);
	sut_catch_signals(run_on_signal, &sigs);
	if (run_prepare(r) == 0)
		rv = r->sc->has_fuzz ? run_fuzz(r, json) : run_load(r, json);
	run_release(r);
	sut_restore_signals(&sigs);
	if (run_stop && run_signal != 0)
		return 128 + run_signal;
	return rv;
}

/* Checks one scenario file and, unless check, runs it.  The exit status
 * of that file. */
static int
run_one(const char *path, int check, int json)
{
	struct run		 r;
	struct buf		 errors;
	char			*cause = NULL;
	int			 rv;

	memset(&r, 0, sizeof r);
	sut_init(&r.responder, "responder");
	sut_init(&r.service, "service");
	r.tty = isatty(STDERR_FILENO);

	buf_init(&errors);
	if ((r.sc = scenario_load(path, &cause)) == NULL) {
		buf_append_str(&errors, cause);
		free(cause);
	} else {
		run_check_refs(r.sc, &errors);
		run_check_outputs(r.sc, 0, &errors);
	}
	if (errors.len > 0) {
		buf_append_byte(&errors, '\0');
		if (check && json)
			run_print_check_json(path, errors.data);
		else
			fprintf(stderr, "%s\n", errors.data);
		buf_free(&errors);
		scenario_free(r.sc);
		return RUN_EXIT_USAGE;
	}
	buf_free(&errors);
	if (check) {
		if (json)
			run_print_check_json(path, NULL);
		else
			printf("%s: scenario OK\n", path);
		scenario_free(r.sc);
		return RUN_EXIT_OK;
	}
	rv = run_scenario(&r, json);
	scenario_free(r.sc);
	return rv;
}

/* Checks one scenario file and, unless check, runs it; the worst exit
 * status over the files, a signal ending the series. */
int
run_files(char *const *paths, size_t n, int check, int json)
{
	size_t	i;
	int	rv = RUN_EXIT_OK, one;

	run_stop = 0;
	run_signal = 0;
	for (i = 0; i < n; i++) {
		one = run_one(paths[i], check, json);
		if (one > rv)
			rv = one;
		if (run_stop)
			break;
	}
	return rv;
}
