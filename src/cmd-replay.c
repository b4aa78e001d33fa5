/*
 * cmd-replay.c -- `decoy replay SNAP --target URL`: play the inbound half
 * of a snapshot against the service under test (gen.h), compare its
 * answers with the recording and write the report (report.h).
 *
 * Exit status: 0 every compared response as recorded, 1 some differed
 * (a regression; --allow-regressions tolerates them and exits 0), 2 for
 * usage and input errors (a bad snapshot or transforms file, an
 * unreachable target, an https:// target that fails the TLS handshake,
 * an output file that cannot be written).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "gen.h"
#include "log.h"
#include "opt.h"
#include "report.h"
#include "shape.h"
#include "sut.h"
#include "units.h"
#include "xmalloc.h"

static int	cmd_replay_exec(int, char **);

struct cmd_replay_o {
	struct gen_config	 cfg;
	char			*report_file, *html, *junit;
	int64_t			 start_us;
	int			 json, closed, allow_regressions, has_start;
	int			 have_rate, have_ramp, have_steps, have_mult;
	int			 have_body;
	int			 log_level;
	char			*proto_set;
};

#define CMD_REPLAY_AT(m)	OPT_AT(struct cmd_replay_o, cfg.m)

static const struct opt_choice cmd_replay_bodies[] = {
	{ "exact", GEN_BODY_EXACT }, { "json", GEN_BODY_JSON },
	{ "none", GEN_BODY_NONE }, { NULL, 0 },
};

static const struct opt_choice cmd_replay_numbers[] = {
	{ "exact", 0 }, { "numeric", 1 }, { NULL, 0 },
};

/* A positive decimal number, optionally followed by suffix ("/s"). */
static int
cmd_replay_number(const char *s, const char *suffix, double *out)
{
	char	*end;
	double	 d;

	d = strtod(s, &end);
	if (end == s || !(d > 0) || d > 1e9)
		return -1;
	if (*end != '\0' && (suffix == NULL || strcmp(end, suffix) != 0))
		return -1;
	*out = d;
	return 0;
}

/* --multiplier N or Nx. */
static int
cmd_replay_multiplier(void *base, void *field, const char *arg,
    char **cause)
{
	if (cmd_replay_number(arg, "x", field) == -1) {
		*cause = xasprintf("expected a positive number, got \"%s\"",
		    arg);
		return -1;
	}
	return 0;
}

/* --ramp FROM:TO (req/s; FROM may be 0). */
static int
cmd_replay_ramp(void *base, void *field, const char *s, char **cause)
{
	struct gen_config	*cfg = &((struct cmd_replay_o *)base)->cfg;
	char			*copy = xstrdup(s), *colon;
	int			 rv = -1;

	if ((colon = strchr(copy, ':')) != NULL) {
		*colon++ = '\0';
		if ((strcmp(copy, "0") == 0 || strcmp(copy, "0/s") == 0 ||
		    cmd_replay_number(copy, "/s", &cfg->rate_from) == 0) &&
		    cmd_replay_number(colon, "/s", &cfg->rate) == 0) {
			if (strcmp(copy, "0") == 0 || strcmp(copy, "0/s") == 0)
				cfg->rate_from = 0;
			rv = 0;
		}
	}
	free(copy);
	if (rv == -1)
		*cause = xasprintf("expected FROM:TO (req/s), got \"%s\"", s);
	return rv;
}

/* --shard I/N with 0 <= I < N <= 1000000. */
static int
cmd_replay_shard(void *base, void *field, const char *s, char **cause)
{
	struct gen_config	*cfg = &((struct cmd_replay_o *)base)->cfg;
	char			*end;
	unsigned long		 a = 0, b = 0;

	if (*s >= '0' && *s <= '9') {
		a = strtoul(s, &end, 10);
		if (*end == '/' && end[1] >= '0' && end[1] <= '9') {
			b = strtoul(end + 1, &end, 10);
			if (*end != '\0' || b > 1000000 || a >= b)
				b = 0;
		}
	}
	if (b == 0) {
		*cause = xasprintf("expected I/N with 0 <= I < N, got \"%s\"",
		    s);
		return -1;
	}
	cfg->shard_i = (unsigned)a;
	cfg->shard_n = (unsigned)b;
	return 0;
}

/* --ignore PATH: a JSON path, added to the list. */
static int
cmd_replay_ignore(void *base, void *field, const char *arg, char **cause)
{
	struct gen_config	*cfg = &((struct cmd_replay_o *)base)->cfg;

	if (arg[0] != '$') {
		*cause = xasprintf("a JSON path starts with $, got \"%s\"",
		    arg);
		return -1;
	}
	cfg->ignore = xreallocarray(cfg->ignore, cfg->nignore + 1,
	    sizeof *cfg->ignore);
	cfg->ignore[cfg->nignore++] = xstrdup(arg);
	return 0;
}

static const struct opt cmd_replay_opts[] = {
	{ "target", 't', OPT_STRING, "URL",
	  "the service under test: http[s]://HOST:PORT[/PREFIX]",
	  CMD_REPLAY_AT(target), .flags = OPT_COPY },
	CLI_OPTS_TLS_VERIFY(struct cmd_replay_o, cfg.ca_file, cfg.insecure),
	{ "multiplier", 'm', OPT_CALL, "N",
	  "replay N times faster than recorded (default 1)",
	  CMD_REPLAY_AT(multiplier), .call = cmd_replay_multiplier,
	  .flags = OPT_ARG, OPT_SEEN(struct cmd_replay_o, have_mult) },
	{ "clones", 0, OPT_INT, NULL,
	  "run N copies of every recorded session, each on\n"
	  "its own connection (tags.session, else client)",
	  CMD_REPLAY_AT(clones), .min = 1, .max = 100000 },
	{ "rate", 0, OPT_RATE, NULL,
	  "constant rate instead of the recorded pacing",
	  CMD_REPLAY_AT(rate), OPT_SEEN(struct cmd_replay_o, have_rate),
	  .aliases = "-r" },
	{ "ramp", 0, OPT_CALL, "FROM:TO",
	  "rate rising linearly from FROM to TO req/s",
	  .call = cmd_replay_ramp, .flags = OPT_ARG,
	  OPT_SEEN(struct cmd_replay_o, have_ramp) },
	{ "steps", 0, OPT_INT, NULL,
	  "with --rate: N equal steps up to the rate",
	  CMD_REPLAY_AT(nsteps), .min = 1, .max = 10000,
	  OPT_SEEN(struct cmd_replay_o, have_steps) },
	{ "duration", 'd', OPT_DURATION, "D",
	  "run for D (cycling the requests); default one pass",
	  CMD_REPLAY_AT(duration_ns), .min = 1 },
	{ "connections", 'c', OPT_INT, "C",
	  "connection pool size / closed clients (64)",
	  CMD_REPLAY_AT(connections), .min = 1, .max = 100000 },
	{ "http2", 0, OPT_FLAG, NULL,
	  "speak HTTP/2: https offers ALPN h2,http/1.1 and\n"
	  "uses what the server picks; http: prior knowledge",
	  CMD_REPLAY_AT(http2) },
	{ "http2-upgrade", 0, OPT_FLAG, NULL,
	  "http: HTTP/2 by Upgrade: h2c on each connection\n"
	  "(https: as --http2)",
	  CMD_REPLAY_AT(http2_upgrade) },
	{ "streams", 0, OPT_INT, "N",
	  "--http2: requests in flight per connection (8);\n"
	  "C connections carry C x N (closed: C x N clients)",
	  CMD_REPLAY_AT(streams), .min = 1, .max = 10000 },
	{ "closed", 0, OPT_FLAG, NULL,
	  "closed model: C clients, each waits for its answer",
	  OPT_AT(struct cmd_replay_o, closed) },
	{ "loop", 0, OPT_FLAG, NULL,
	  "cycle the requests until stopped (or --duration)",
	  CMD_REPLAY_AT(loop) },
	{ "shard", 0, OPT_CALL, "I/N",
	  "send only requests whose index % N == I",
	  .call = cmd_replay_shard, .flags = OPT_ARG },
	{ "start-at", 0, OPT_TIME, NULL,
	  "wait until TIME (RFC 3339 or epoch seconds),\n"
	  "then start: shards started apart begin together",
	  OPT_AT(struct cmd_replay_o, start_us),
	  OPT_SEEN(struct cmd_replay_o, has_start) },
	{ "timeout", 0, OPT_DURATION, "D",
	  "per request (default 10s)",
	  CMD_REPLAY_AT(timeout_ns), .min = 1 },
	{ "compare-headers", 0, OPT_LIST, "H,H",
	  "compare these response headers too",
	  CMD_REPLAY_AT(cmp_headers),
	  OPT_NUM(struct cmd_replay_o, cfg.ncmp_headers), .sep = ',' },
	{ "body", 0, OPT_ENUM, "MODE",
	  "exact (default), json (ignore paths apply) or none",
	  CMD_REPLAY_AT(cmp_body), .choices = cmd_replay_bodies,
	  OPT_SEEN(struct cmd_replay_o, have_body) },
	{ "numbers", 0, OPT_ENUM, "MODE",
	  "JSON numbers: exact (default: by their text)\n"
	  "or numeric (1.0 = 1, 1e2 = 100; implies\n"
	  "--body json)",
	  CMD_REPLAY_AT(numeric), .choices = cmd_replay_numbers },
	{ "no-status", 0, OPT_FLAG, NULL,
	  "do not compare status codes",
	  CMD_REPLAY_AT(cmp_status), .flags = OPT_NEGATE },
	{ "allow-regressions", 0, OPT_FLAG, NULL,
	  "exit 0 even when responses differ from the\n"
	  "recording (they are still reported)",
	  OPT_AT(struct cmd_replay_o, allow_regressions) },
	{ "ignore", 'i', OPT_CALL, "PATH",
	  "JSON path left out of body comparison: $.a.b,\n"
	  "$.items[*].id, $..id; repeatable",
	  .call = cmd_replay_ignore, .flags = OPT_ARG },
	{ "report", 'o', OPT_PATH, NULL,
	  "write the JSON report to FILE (its directory\n"
	  "is made; every output path is checked\n"
	  "before the load)",
	  OPT_AT(struct cmd_replay_o, report_file), .flags = OPT_COPY },
	{ "html", 0, OPT_PATH, NULL,
	  "write the HTML report to FILE",
	  OPT_AT(struct cmd_replay_o, html), .flags = OPT_COPY },
	{ "junit", 0, OPT_PATH, NULL,
	  "write JUnit XML to FILE",
	  OPT_AT(struct cmd_replay_o, junit), .flags = OPT_COPY },
	{ "json", 0, OPT_FLAG, NULL,
	  "print the JSON report instead of the table",
	  OPT_AT(struct cmd_replay_o, json) },
	CLI_OPT_PROTO_SET(struct cmd_replay_o, proto_set),
	{ "transforms", 'T', OPT_PATH, NULL,
	  "apply a transforms file (decoy analyze): dates\n"
	  "shifted, JWTs re-signed, fresh ids, live values of\n"
	  "earlier answers carried forward",
	  CMD_REPLAY_AT(transforms), .flags = OPT_COPY },
	{ "now", 0, OPT_TIME, NULL,
	  "with --transforms: the clock of the first request\n"
	  "(RFC 3339 or epoch seconds), for reproducible output",
	  CMD_REPLAY_AT(now_us), OPT_SEEN(struct cmd_replay_o, cfg.has_now) },
	{ "seed", 's', OPT_SEED, NULL,
	  "seed of the fresh values (default: the time)",
	  CMD_REPLAY_AT(seed), OPT_SEEN(struct cmd_replay_o, cfg.has_seed) },
	CLI_OPTS_LOG(struct cmd_replay_o),
	OPT_END_ROW,
};

const struct cmd_entry cmd_replay_entry = {
	.name = "replay",
	.args = "SNAP --target URL [options]",
	.summary = "replay a snapshot's inbound requests against a service "
	    "and compare",
	.opts = cmd_replay_opts,
	.notes =
	    "Exit status: 0 every compared response as recorded, 1 some differed\n"
	    "(unless --allow-regressions), 2 usage or input error, an unreachable\n"
	    "target or a failed TLS handshake.\n",
	.exec = cmd_replay_exec,
};

static volatile int	cmd_replay_stop;

static void
cmd_replay_signal(int sig)
{
	cmd_replay_stop = 1;
}

/*
 * Sleeps until the wall-clock time us (microseconds since the epoch), or
 * until SIGINT/SIGTERM.  A time already past returns at once.  0, or -1
 * when stopped.
 */
static int
cmd_replay_wait(int64_t us)
{
	struct timespec	 ts;
	int		 rc;

	ts.tv_sec = (time_t)(us / 1000000);
	ts.tv_nsec = (long)(us % 1000000) * 1000;
	while ((rc = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts,
	    NULL)) == EINTR) {
		if (cmd_replay_stop)
			return -1;
	}
	return cmd_replay_stop ? -1 : 0;
}

/*
 * The checks across options, and the load model they choose: EXIT_OK, or
 * the usage error (printed).  nargs: the number of operands.
 */
static int
cmd_replay_check(const struct cmd_entry *e, struct cmd_replay_o *o,
    int nargs)
{
	struct gen_config	*cfg = &o->cfg;
	int			 rate_only;

	if (nargs != 1)
		return cli_usage(e, "expected one snapshot file");
	if (cfg->target == NULL)
		return cli_usage(e, "--target is required");
	if (cfg->numeric) {
		if (o->have_body && cfg->cmp_body != GEN_BODY_JSON)
			return cli_usage(e, "--numbers numeric compares JSON "
			    "bodies: it needs --body json");
		cfg->cmp_body = GEN_BODY_JSON;
	}
	if (cfg->has_now && cfg->transforms == NULL)
		return cli_usage(e, "--now applies with --transforms");
	rate_only = o->have_rate && !o->have_steps && !o->have_ramp;
	if (o->closed + o->have_ramp + rate_only > 1 || (o->have_steps &&
	    (!o->have_rate || o->have_ramp)))
		return cli_usage(e, "choose one load model: --closed, --rate R, "
		    "--rate R --steps N or --ramp FROM:TO");
	if (o->have_mult && (o->closed || o->have_rate || o->have_ramp))
		return cli_usage(e, "--multiplier applies to recorded pacing "
		    "only");
	if (o->closed)
		cfg->pattern = GEN_CLOSED;
	else if (o->have_ramp)
		cfg->pattern = GEN_RAMP;
	else if (o->have_steps)
		cfg->pattern = GEN_STEPS;
	else if (o->have_rate)
		cfg->pattern = GEN_CONSTANT;
	if ((o->have_ramp || o->have_steps) && cfg->duration_ns == 0)
		return cli_usage(e, "--%s needs --duration", o->have_ramp ?
		    "ramp" : "steps");
	return EXIT_OK;
}

static int
cmd_replay_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_replay_entry;
	struct cmd_replay_o	 o = { .log_level = LOG_LEVEL_INFO };
	struct gen_config	 cfg;
	struct report		*rep = NULL;
	struct sut_signals	 sigs;
	struct buf		 b;
	struct protodesc	*pset = NULL;
	char			*cause = NULL, *report_file, *html, *junit;
	int			 ind, rv = EXIT_USAGE, json;
	int			 has_start, allow_regressions;
	int64_t			 start_us;

	gen_config_init(&o.cfg);
	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &rv) == -1 ||
	    (rv = cmd_replay_check(e, &o, argc - ind)) != EXIT_OK) {
		gen_config_free(&o.cfg);
		free(o.report_file);
		free(o.html);
		free(o.junit);
		free(o.proto_set);
		return rv;
	}
	cli_log_init(e, o.log_level);
	cfg = o.cfg;	/* owned by cfg from here on, as are the files */
	report_file = o.report_file;
	html = o.html;
	junit = o.junit;
	json = o.json;
	allow_regressions = o.allow_regressions;
	has_start = o.has_start;
	start_us = o.start_us;
	cfg.snapshot = xstrdup(argv[ind]);
	cfg.progress = isatty(STDERR_FILENO);
	/* A run's results are never lost to an output path found bad at the
	 * end: directories are made and every path checked first. */
	if ((report_file != NULL &&
	    report_check_output(report_file, 1, &cause) == -1) ||
	    (html != NULL && report_check_output(html, 1, &cause) == -1) ||
	    (junit != NULL && report_check_output(junit, 1, &cause) == -1)) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}

	if (cli_proto_set(o.proto_set, &pset, &cause) == -1) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}

	/* SIGPIPE ignored: a peer gone mid-write is a transport error, not
	 * the end of us (writes go through writev(2) and TLS, which cannot
	 * pass MSG_NOSIGNAL). */
	sut_catch_signals(cmd_replay_signal, &sigs);
	if (has_start && cmd_replay_wait(start_us) == -1) {
		rv = cli_error(e, EXIT_FAILED, "stopped before --start-at");
		goto restore;
	}
	rep = report_create("replay", cfg.target);
	rep->allow_regressions = allow_regressions;
	if (gen_run(&cfg, rep, &cmd_replay_stop, &cause) == -1) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto restore;
	}
	rep->shards = 1;
	if (report_file != NULL &&
	    report_write_json(rep, report_file, &cause) == -1) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto restore;
	}
	if (html != NULL && report_write_html(rep, html, &cause) == -1) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto restore;
	}
	if (junit != NULL && report_write_junit(rep, junit, &cause) == -1) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto restore;
	}
	if (json) {
		buf_init(&b);
		report_to_json(rep, &b);
		if (b.len > 0)
			fwrite(b.data, 1, b.len, stdout);
		if (b.len == 0 || b.data[b.len - 1] != '\n')
			fputc('\n', stdout);
		buf_free(&b);
	} else
		report_print(rep, stdout);
	fflush(stdout);
	rv = report_passed(rep) ? EXIT_OK : EXIT_FAILED;
restore:
	sut_restore_signals(&sigs);
out:
	if (rep != NULL)
		report_free(rep);
	free(cause);
	free(report_file);
	free(html);
	free(junit);
	gen_config_free(&cfg);
	cli_proto_set_free(pset);
	free(o.proto_set);
	return rv;
}
