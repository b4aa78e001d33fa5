/*
 * cmd-fuzz.c -- `decoy fuzz CORPUS --target URL ...`: a fuzz campaign
 * (fuzz.h) from the command line, and `decoy fuzz --replay DIR` to check
 * whether its findings still reproduce.
 *
 * Exit status: 0 no findings (replay: all fixed), 1 findings (replay: at
 * least one still fails), 2 usage or input error.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fuzz.h"
#include "log.h"
#include "opt.h"
#include "sut.h"
#include "units.h"
#include "xmalloc.h"

static int	cmd_fuzz_exec(int, char **);

struct cmd_fuzz_o {
	struct fuzz_config	cfg;
	const char		*replay;
	int			 json;
	int			 have_requests;
	int			 have_duration;
	int			 log_level;
};

#define CMD_FUZZ_AT(m)	OPT_AT(struct cmd_fuzz_o, cfg.m)

static const struct opt cmd_fuzz_opts[] = {
	{ "target", 't', OPT_STRING, "URL",
	  "the service: http[s]://HOST:PORT (port 0\n"
	  "with --service-cmd: decoy picks a free port)",
	  CMD_FUZZ_AT(target), .flags = OPT_COPY },
	CLI_OPTS_TLS_VERIFY(struct cmd_fuzz_o, cfg.ca_file, cfg.insecure),
	{ "requests", 0, OPT_INT, NULL,
	  "mutants to send (default 10000)",
	  CMD_FUZZ_AT(requests), .min = 1, .max = UINT64_MAX / 2,
	  OPT_SEEN(struct cmd_fuzz_o, have_requests), .aliases = "-n" },
	{ "duration", 'd', OPT_DURATION, "D",
	  "or for this long (30s, 5m); with both, the\n"
	  "first limit reached ends the sending\n"
	  "(confirming and minimising come on top)",
	  CMD_FUZZ_AT(duration_ns), .min = 1,
	  OPT_SEEN(struct cmd_fuzz_o, have_duration) },
	{ "http2", 0, OPT_FLAG, NULL,
	  "send mutants as h2 streams (https: ALPN h2;\n"
	  "http: prior knowledge); mutants h2 cannot\n"
	  "carry are skipped",
	  CMD_FUZZ_AT(http2) },
	{ "seed", 's', OPT_SEED, NULL,
	  "the mutation seed (default 1)",
	  CMD_FUZZ_AT(seed) },
	{ "findings", 0, OPT_PATH, "DIR",
	  "where findings go (default ./findings)",
	  CMD_FUZZ_AT(findings), .flags = OPT_COPY, .aliases = "-f" },
	{ "service-cmd", 0, OPT_STRING, "CMD",
	  "start the service with /bin/sh -c CMD (its\n"
	  "own process group; {port} is replaced by\n"
	  "the target's port), watch it for crashes\n"
	  "and sanitizer reports, restart it",
	  CMD_FUZZ_AT(service_cmd), .flags = OPT_COPY },
	{ "service-log", 0, OPT_PATH, NULL,
	  "its stdout and stderr (default\n"
	  "DIR/service.log)",
	  CMD_FUZZ_AT(service_log), .flags = OPT_COPY },
	{ "connections", 'c', OPT_INT, "C",
	  "connections in flight (default 8)",
	  CMD_FUZZ_AT(connections), .min = 1, .max = 1024 },
	{ "timeout", 0, OPT_DURATION, "D",
	  "per request; longer is a hang (default 2s)",
	  CMD_FUZZ_AT(timeout_ns), .min = 1 },
	{ "slow-floor", 0, OPT_DURATION, "D",
	  "a response-time outlier must also be slower\n"
	  "than this (default 250ms)",
	  CMD_FUZZ_AT(slow_floor_ns) },
	{ "max-attempts", 0, OPT_INT, NULL,
	  "minimisation sends per finding (default 300)",
	  CMD_FUZZ_AT(max_attempts), .max = 100000 },
	{ "mutate-auth", 0, OPT_FLAG, NULL,
	  "mutate Authorization, Cookie, API keys too",
	  CMD_FUZZ_AT(mutate_auth) },
	{ "strict-protocol", 0, OPT_FLAG, NULL,
	  "report correct answers to malformed requests\n"
	  "(501, 505, a close, an HTTP/0.9 reply) as\n"
	  "findings too (default: counted only)",
	  CMD_FUZZ_AT(strict_protocol) },
	{ "no-sweep", 0, OPT_FLAG, NULL,
	  "no first pass of one mutant per field and\n"
	  "class before the schedule by yield",
	  CMD_FUZZ_AT(no_sweep) },
	{ "replay", 0, OPT_PATH, "DIR",
	  "re-send DIR's findings (request.http) and\n"
	  "tell which still fail the same way",
	  OPT_AT(struct cmd_fuzz_o, replay) },
	{ "json", 0, OPT_FLAG, NULL,
	  "the summary as JSON on stdout",
	  OPT_AT(struct cmd_fuzz_o, json) },
	CLI_OPTS_LOG(struct cmd_fuzz_o),
	OPT_END_ROW,
};

const struct cmd_entry cmd_fuzz_entry = {
	.name = "fuzz",
	.args = "CORPUS --target URL [options]  |  --replay DIR --target URL",
	.summary = "send mutants of a corpus to a service; keep and minimise "
	    "what breaks it",
	.intro = "  CORPUS                    directory of .http requests (decoy corpus)\n",
	.opts = cmd_fuzz_opts,
	.exec = cmd_fuzz_exec,
};

static volatile int	cmd_fuzz_stop;

static void
cmd_fuzz_signal(int sig)
{
	(void)sig;
	cmd_fuzz_stop = 1;
}

static int
cmd_fuzz_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_fuzz_entry;
	struct cmd_fuzz_o	 o = { .log_level = LOG_LEVEL_INFO };
	struct fuzz_config	 cfg;
	struct fuzz_result	 res;
	struct sut_signals	 sigs;
	const char		*replay;
	char			*cause = NULL;
	int			 ind, json, rv;

	fuzz_config_init(&o.cfg);
	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &rv) == -1) {
		fuzz_config_free(&o.cfg);
		return rv;
	}
	cfg = o.cfg;	/* owned by cfg from here on */
	replay = o.replay;
	json = o.json;
	cli_log_init(e, o.log_level);
	if (cfg.target == NULL) {
		rv = cli_usage(e, "no target (--target http://HOST:PORT)");
		goto out;
	}
	if (replay != NULL) {
		if (argc - ind != 0) {
			rv = cli_usage(e, "--replay takes no corpus");
			goto out;
		}
	} else {
		if (argc - ind != 1) {
			rv = cli_usage(e, argc - ind == 0 ?
			    "no corpus directory given" :
			    "one corpus directory at a time");
			goto out;
		}
		cfg.corpus = xstrdup(argv[ind]);
		if (o.have_duration && !o.have_requests)
			cfg.requests = 0;
	}
	cfg.progress = isatty(STDERR_FILENO) && !json && replay == NULL;

	sut_catch_signals(cmd_fuzz_signal, &sigs);

	if (replay != NULL) {
		rv = fuzz_replay(&cfg, replay, stdout, json, &cause);
		if (rv == -1)
			rv = cli_error(e, EXIT_USAGE, "%s", cause);
		else
			rv = rv > 0 ? EXIT_FAILED : EXIT_OK;
	} else if (fuzz_run(&cfg, &res, &cmd_fuzz_stop, &cause) == -1) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		fuzz_result_free(&res);
	} else {
		fuzz_result_print(stdout, &cfg, &res, json);
		rv = res.nfindings > 0 ? EXIT_FAILED : EXIT_OK;
		fuzz_result_free(&res);
	}
	fflush(stdout);
	sut_restore_signals(&sigs);
out:
	free(cause);
	fuzz_config_free(&cfg);
	return rv;
}
