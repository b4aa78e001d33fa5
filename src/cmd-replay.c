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
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "gen.h"
#include "report.h"
#include "shape.h"
#include "units.h"
#include "xmalloc.h"

static int	cmd_replay_exec(int, char **);

const struct cmd_entry cmd_replay_entry = {
	.name = "replay",
	.args = "SNAP --target URL [options]",
	.summary = "replay a snapshot's inbound requests against a service "
	    "and compare",
	.help =
	    "  -t, --target URL          the service under test: http[s]://HOST:PORT[/PREFIX]\n"
	    "      --ca FILE             https: verify the server with the CAs in FILE\n"
	    "                            (default: the system CAs)\n"
	    "      --insecure            https: do not verify the server's certificate\n"
	    "  -m, --multiplier N        replay N times faster than recorded (default 1)\n"
	    "      --clones N            run N copies of every recorded session, each on\n"
	    "                            its own connection (tags.session, else client)\n"
	    "  -r, --rate R[/s]          constant rate instead of the recorded pacing\n"
	    "      --ramp FROM:TO        rate rising linearly from FROM to TO req/s\n"
	    "      --steps N             with --rate: N equal steps up to the rate\n"
	    "  -d, --duration D          run for D (cycling the requests); default one pass\n"
	    "  -c, --connections C       connection pool size / closed clients (64)\n"
	    "      --closed              closed model: C clients, each waits for its answer\n"
	    "      --loop                cycle the requests until stopped (or --duration)\n"
	    "      --shard I/N           send only requests whose index % N == I\n"
	    "      --start-at TIME       wait until TIME (RFC 3339 or epoch seconds),\n"
	    "                            then start: shards started apart begin together\n"
	    "      --timeout D           per request (default 10s)\n"
	    "      --compare-headers H,H compare these response headers too\n"
	    "      --body MODE           exact (default), json (ignore paths apply) or none\n"
	    "      --numbers MODE        JSON numbers: exact (default: by their text)\n"
	    "                            or numeric (1.0 = 1, 1e2 = 100; implies\n"
	    "                            --body json)\n"
	    "      --no-status           do not compare status codes\n"
	    "      --allow-regressions   exit 0 even when responses differ from the\n"
	    "                            recording (they are still reported)\n"
	    "  -i, --ignore PATH         JSON path left out of body comparison: $.a.b,\n"
	    "                            $.items[*].id, $..id; repeatable\n"
	    "  -o, --report FILE         write the JSON report to FILE (its directory\n"
	    "                            is made; every output path is checked\n"
	    "                            before the load)\n"
	    "      --html FILE           write the HTML report to FILE\n"
	    "      --junit FILE          write JUnit XML to FILE\n"
	    "      --json                print the JSON report instead of the table\n"
	    "      --transforms FILE     apply a transforms file (decoy analyze): dates\n"
	    "                            shifted, JWTs re-signed, fresh ids, live values of\n"
	    "                            earlier answers carried forward\n"
	    "      --now TIME            with --transforms: the clock of the first request\n"
	    "                            (RFC 3339 or epoch seconds), for reproducible output\n"
	    "      --seed N              seed of the fresh values (default: the time)\n"
	    "  -h, --help                this help\n"
	    "Exit status: 0 every compared response as recorded, 1 some differed\n"
	    "(unless --allow-regressions), 2 usage or input error, an unreachable\n"
	    "target or a failed TLS handshake.\n",
	.exec = cmd_replay_exec,
};

enum {
	OPT_CLONES = 256,
	OPT_RAMP,
	OPT_STEPS,
	OPT_CLOSED,
	OPT_LOOP,
	OPT_SHARD,
	OPT_TIMEOUT,
	OPT_COMPARE_HEADERS,
	OPT_BODY,
	OPT_NO_STATUS,
	OPT_HTML,
	OPT_JUNIT,
	OPT_JSON,
	OPT_CA,
	OPT_INSECURE,
	OPT_TRANSFORMS,
	OPT_NOW,
	OPT_SEED,
	OPT_START_AT,
	OPT_ALLOW_REGRESSIONS,
	OPT_NUMBERS,
};

static const struct option cmd_replay_options[] = {
	{ "target", required_argument, NULL, 't' },
	{ "multiplier", required_argument, NULL, 'm' },
	{ "clones", required_argument, NULL, OPT_CLONES },
	{ "rate", required_argument, NULL, 'r' },
	{ "ramp", required_argument, NULL, OPT_RAMP },
	{ "steps", required_argument, NULL, OPT_STEPS },
	{ "duration", required_argument, NULL, 'd' },
	{ "connections", required_argument, NULL, 'c' },
	{ "closed", no_argument, NULL, OPT_CLOSED },
	{ "loop", no_argument, NULL, OPT_LOOP },
	{ "shard", required_argument, NULL, OPT_SHARD },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "compare-headers", required_argument, NULL, OPT_COMPARE_HEADERS },
	{ "body", required_argument, NULL, OPT_BODY },
	{ "no-status", no_argument, NULL, OPT_NO_STATUS },
	{ "allow-regressions", no_argument, NULL, OPT_ALLOW_REGRESSIONS },
	{ "numbers", required_argument, NULL, OPT_NUMBERS },
	{ "ignore", required_argument, NULL, 'i' },
	{ "report", required_argument, NULL, 'o' },
	{ "html", required_argument, NULL, OPT_HTML },
	{ "junit", required_argument, NULL, OPT_JUNIT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "transforms", required_argument, NULL, OPT_TRANSFORMS },
	{ "now", required_argument, NULL, OPT_NOW },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "start-at", required_argument, NULL, OPT_START_AT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static volatile int	cmd_replay_stop;

static void
cmd_replay_signal(int sig)
{
	cmd_replay_stop = 1;
}

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

static int
cmd_replay_unsigned(const char *s, unsigned max, unsigned *out)
{
	char		*end;
	unsigned long	 l;

	if (*s < '0' || *s > '9')
		return -1;
	l = strtoul(s, &end, 10);
	if (*end != '\0' || l == 0 || l > max)
		return -1;
	*out = (unsigned)l;
	return 0;
}

static int
cmd_replay_ramp(const char *s, double *from, double *to)
{
	char	*copy = xstrdup(s), *colon;
	int	 rv = -1;

	if ((colon = strchr(copy, ':')) != NULL) {
		*colon++ = '\0';
		/* FROM may be 0. */
		if ((strcmp(copy, "0") == 0 || strcmp(copy, "0/s") == 0 ||
		    cmd_replay_number(copy, "/s", from) == 0) &&
		    cmd_replay_number(colon, "/s", to) == 0) {
			if (strcmp(copy, "0") == 0 || strcmp(copy, "0/s") == 0)
				*from = 0;
			rv = 0;
		}
	}
	free(copy);
	return rv;
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

static int
cmd_replay_shard(const char *s, unsigned *i, unsigned *n)
{
	char		*end;
	unsigned long	 a, b;

	if (*s < '0' || *s > '9')
		return -1;
	a = strtoul(s, &end, 10);
	if (*end != '/' || end[1] < '0' || end[1] > '9')
		return -1;
	b = strtoul(end + 1, &end, 10);
	if (*end != '\0' || b == 0 || b > 1000000 || a >= b)
		return -1;
	*i = (unsigned)a;
	*n = (unsigned)b;
	return 0;
}

static void
cmd_replay_add(char ***list, size_t *n, const char *s)
{
	*list = xreallocarray(*list, *n + 1, sizeof **list);
	(*list)[(*n)++] = xstrdup(s);
}

static int
cmd_replay_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_replay_entry;
	struct gen_config	 cfg;
	struct report		*rep = NULL;
	struct sigaction	 sa, old_int, old_term, old_pipe;
	struct buf		 b;
	struct shape_time	 now;
	char			*cause = NULL, *report_file = NULL;
	char			*html = NULL, *junit = NULL, *copy, *tok, *save;
	int			 ch, rv = EXIT_USAGE, json = 0, closed = 0;
	int			 have_rate = 0, have_ramp = 0, have_steps = 0;
	int			 have_mult = 0, has_start = 0, allow_regressions = 0;
	int			 have_body = 0;
	int64_t			 start_us = 0;

	gen_config_init(&cfg);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "t:m:r:d:c:i:o:h",
	    cmd_replay_options, NULL)) != -1) {
		switch (ch) {
		case 't':
			free(cfg.target);
			cfg.target = xstrdup(optarg);
			break;
		case 'm':
			if (cmd_replay_number(optarg, "x", &cfg.multiplier) ==
			    -1) {
				rv = cli_usage(e, "--multiplier: expected a "
				    "positive number, not \"%s\"", optarg);
				goto out;
			}
			have_mult = 1;
			break;
		case OPT_CLONES:
			if (cmd_replay_unsigned(optarg, 100000,
			    &cfg.clones) == -1) {
				rv = cli_usage(e, "--clones: expected "
				    "1..100000");
				goto out;
			}
			break;
		case 'r':
			if (cmd_replay_number(optarg, "/s", &cfg.rate) == -1) {
				rv = cli_usage(e, "--rate: expected R or R/s, "
				    "not \"%s\"", optarg);
				goto out;
			}
			have_rate = 1;
			break;
		case OPT_RAMP:
			if (cmd_replay_ramp(optarg, &cfg.rate_from,
			    &cfg.rate) == -1) {
				rv = cli_usage(e, "--ramp: expected FROM:TO "
				    "(req/s), not \"%s\"", optarg);
				goto out;
			}
			have_ramp = 1;
			break;
		case OPT_STEPS:
			if (cmd_replay_unsigned(optarg, 10000,
			    &cfg.nsteps) == -1) {
				rv = cli_usage(e, "--steps: expected 1..10000");
				goto out;
			}
			have_steps = 1;
			break;
		case 'd':
			if (units_parse_duration(optarg,
			    &cfg.duration_ns) == -1 || cfg.duration_ns == 0) {
				rv = cli_usage(e, "--duration: bad duration "
				    "\"%s\"", optarg);
				goto out;
			}
			break;
		case 'c':
			if (cmd_replay_unsigned(optarg, 100000,
			    &cfg.connections) == -1) {
				rv = cli_usage(e, "--connections: expected "
				    "1..100000");
				goto out;
			}
			break;
		case OPT_CLOSED:
			closed = 1;
			break;
		case OPT_LOOP:
			cfg.loop = 1;
			break;
		case OPT_SHARD:
			if (cmd_replay_shard(optarg, &cfg.shard_i,
			    &cfg.shard_n) == -1) {
				rv = cli_usage(e, "--shard: expected I/N with "
				    "0 <= I < N, not \"%s\"", optarg);
				goto out;
			}
			break;
		case OPT_TIMEOUT:
			if (units_parse_duration(optarg,
			    &cfg.timeout_ns) == -1 || cfg.timeout_ns == 0) {
				rv = cli_usage(e, "--timeout: bad duration "
				    "\"%s\"", optarg);
				goto out;
			}
			break;
		case OPT_COMPARE_HEADERS:
			copy = xstrdup(optarg);
			for (tok = strtok_r(copy, ",", &save); tok != NULL;
			    tok = strtok_r(NULL, ",", &save))
				cmd_replay_add(&cfg.cmp_headers,
				    &cfg.ncmp_headers, tok);
			free(copy);
			break;
		case OPT_BODY:
			have_body = 1;
			if (strcmp(optarg, "exact") == 0)
				cfg.cmp_body = GEN_BODY_EXACT;
			else if (strcmp(optarg, "json") == 0)
				cfg.cmp_body = GEN_BODY_JSON;
			else if (strcmp(optarg, "none") == 0)
				cfg.cmp_body = GEN_BODY_NONE;
			else {
				rv = cli_usage(e, "--body: expected exact, json "
				    "or none");
				goto out;
			}
			break;
		case OPT_NO_STATUS:
			cfg.cmp_status = 0;
			break;
		case OPT_ALLOW_REGRESSIONS:
			allow_regressions = 1;
			break;
		case OPT_NUMBERS:
			if (strcmp(optarg, "exact") == 0)
				cfg.numeric = 0;
			else if (strcmp(optarg, "numeric") == 0)
				cfg.numeric = 1;
			else {
				rv = cli_usage(e, "--numbers: expected exact or "
				    "numeric");
				goto out;
			}
			break;
		case 'i':
			if (optarg[0] != '$') {
				rv = cli_usage(e, "--ignore: a JSON path starts "
				    "with $ (\"%s\")", optarg);
				goto out;
			}
			cmd_replay_add(&cfg.ignore, &cfg.nignore, optarg);
			break;
		case 'o':
			free(report_file);
			report_file = xstrdup(optarg);
			break;
		case OPT_HTML:
			free(html);
			html = xstrdup(optarg);
			break;
		case OPT_JUNIT:
			free(junit);
			junit = xstrdup(optarg);
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_CA:
			free(cfg.ca_file);
			cfg.ca_file = xstrdup(optarg);
			break;
		case OPT_INSECURE:
			cfg.insecure = 1;
			break;
		case OPT_TRANSFORMS:
			free(cfg.transforms);
			cfg.transforms = xstrdup(optarg);
			break;
		case OPT_NOW:
			if (shape_time_parse(optarg, strlen(optarg),
			    &now) == -1) {
				rv = cli_usage(e, "--now: expected a time such "
				    "as 2026-12-07T17:54:34Z or epoch seconds, "
				    "not \"%s\"", optarg);
				goto out;
			}
			cfg.has_now = 1;
			cfg.now_us = now.us;
			break;
		case OPT_START_AT:
			if (shape_time_parse(optarg, strlen(optarg),
			    &now) == -1) {
				rv = cli_usage(e, "--start-at: expected a time "
				    "such as 2026-12-07T17:54:34Z or epoch "
				    "seconds, not \"%s\"", optarg);
				goto out;
			}
			has_start = 1;
			start_us = now.us;
			break;
		case OPT_SEED:
			if (units_parse_seed(optarg, &cfg.seed) == -1) {
				rv = cli_usage(e, "--seed: expected an unsigned "
				    "integer, not \"%s\"", optarg);
				goto out;
			}
			cfg.has_seed = 1;
			break;
		case 'h':
			cli_help(e);
			rv = EXIT_OK;
			goto out;
		default:
			rv = cli_usage(e, "unknown option");
			goto out;
		}
	}
	if (argc - optind != 1) {
		rv = cli_usage(e, "expected one snapshot file");
		goto out;
	}
	if (cfg.target == NULL) {
		rv = cli_usage(e, "--target is required");
		goto out;
	}
	if (cfg.numeric) {
		if (have_body && cfg.cmp_body != GEN_BODY_JSON) {
			rv = cli_usage(e, "--numbers numeric compares JSON "
			    "bodies: it needs --body json");
			goto out;
		}
		cfg.cmp_body = GEN_BODY_JSON;
	}
	if (cfg.has_now && cfg.transforms == NULL) {
		rv = cli_usage(e, "--now applies with --transforms");
		goto out;
	}
	if (closed + have_ramp + (have_rate && !have_steps && !have_ramp) >
	    1 || (have_steps && (!have_rate || have_ramp))) {
		rv = cli_usage(e, "choose one load model: --closed, --rate R, "
		    "--rate R --steps N or --ramp FROM:TO");
		goto out;
	}
	if (have_mult && (closed || have_rate || have_ramp)) {
		rv = cli_usage(e, "--multiplier applies to recorded pacing "
		    "only");
		goto out;
	}
	if (closed)
		cfg.pattern = GEN_CLOSED;
	else if (have_ramp) {
		cfg.pattern = GEN_RAMP;
		if (cfg.duration_ns == 0) {
			rv = cli_usage(e, "--ramp needs --duration");
			goto out;
		}
	} else if (have_steps) {
		cfg.pattern = GEN_STEPS;
		if (cfg.duration_ns == 0) {
			rv = cli_usage(e, "--steps needs --duration");
			goto out;
		}
	} else if (have_rate)
		cfg.pattern = GEN_CONSTANT;
	cfg.snapshot = xstrdup(argv[optind]);
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

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = cmd_replay_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	/* A peer gone mid-write is a transport error, not the end of us
	 * (writes go through writev(2) and TLS, which cannot pass
	 * MSG_NOSIGNAL). */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);
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
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
out:
	if (rep != NULL)
		report_free(rep);
	free(cause);
	free(report_file);
	free(html);
	free(junit);
	gen_config_free(&cfg);
	return rv;
}
