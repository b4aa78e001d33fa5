/*
 * cmd-fuzz.c -- `decoy fuzz CORPUS --target URL ...`: a fuzz campaign
 * (fuzz.h) from the command line, and `decoy fuzz --replay DIR` to check
 * whether its findings still reproduce.
 *
 * Exit status: 0 no findings (replay: all fixed), 1 findings (replay: at
 * least one still fails), 2 usage or input error.
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fuzz.h"
#include "log.h"
#include "units.h"
#include "xmalloc.h"

static int	cmd_fuzz_exec(int, char **);

const struct cmd_entry cmd_fuzz_entry = {
	.name = "fuzz",
	.args = "CORPUS --target URL [options]  |  --replay DIR --target URL",
	.summary = "send mutants of a corpus to a service; keep and minimise "
	    "what breaks it",
	.help =
	    "  CORPUS                    directory of .http requests (decoy corpus)\n"
	    "  -t, --target URL          the service: http[s]://HOST:PORT (port 0\n"
	    "                            with --service-cmd: decoy picks a free port)\n"
	    "      --ca FILE             https: verify the server with the CAs in FILE\n"
	    "                            (default: the system CAs)\n"
	    "      --insecure            https: do not verify the server's certificate\n"
	    "  -n, --requests N          mutants to send (default 10000)\n"
	    "  -d, --duration D          or for this long (30s, 5m); with both, the\n"
	    "                            first limit reached ends the sending\n"
	    "                            (confirming and minimising come on top)\n"
	    "  -s, --seed N              the mutation seed (default 1)\n"
	    "  -f, --findings DIR        where findings go (default ./findings)\n"
	    "      --service-cmd CMD     start the service with /bin/sh -c CMD (its\n"
	    "                            own process group; {port} is replaced by\n"
	    "                            the target's port), watch it for crashes\n"
	    "                            and sanitizer reports, restart it\n"
	    "      --service-log FILE    its stdout and stderr (default\n"
	    "                            DIR/service.log)\n"
	    "  -c, --connections C       connections in flight (default 8)\n"
	    "      --timeout D           per request; longer is a hang (default 2s)\n"
	    "      --slow-floor D        a response-time outlier must also be slower\n"
	    "                            than this (default 250ms)\n"
	    "      --max-attempts N      minimisation sends per finding (default 300)\n"
	    "      --mutate-auth         mutate Authorization, Cookie, API keys too\n"
	    "      --strict-protocol     report correct answers to malformed requests\n"
	    "                            (501, 505, a close, an HTTP/0.9 reply) as\n"
	    "                            findings too (default: counted only)\n"
	    "      --replay DIR          re-send DIR's findings (request.http) and\n"
	    "                            tell which still fail the same way\n"
	    "      --json                the summary as JSON on stdout\n"
	    "  -v, --verbose             debug logging\n"
	    "  -q, --quiet               warnings and errors only\n"
	    "  -h, --help                this help\n",
	.exec = cmd_fuzz_exec,
};

enum {
	OPT_SERVICE_CMD = 256,
	OPT_SERVICE_LOG,
	OPT_TIMEOUT,
	OPT_SLOW_FLOOR,
	OPT_MAX_ATTEMPTS,
	OPT_MUTATE_AUTH,
	OPT_STRICT_PROTOCOL,
	OPT_REPLAY,
	OPT_JSON,
	OPT_CA,
	OPT_INSECURE,
};

static const struct option cmd_fuzz_options[] = {
	{ "target", required_argument, NULL, 't' },
	{ "requests", required_argument, NULL, 'n' },
	{ "duration", required_argument, NULL, 'd' },
	{ "seed", required_argument, NULL, 's' },
	{ "findings", required_argument, NULL, 'f' },
	{ "service-cmd", required_argument, NULL, OPT_SERVICE_CMD },
	{ "service-log", required_argument, NULL, OPT_SERVICE_LOG },
	{ "connections", required_argument, NULL, 'c' },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "slow-floor", required_argument, NULL, OPT_SLOW_FLOOR },
	{ "max-attempts", required_argument, NULL, OPT_MAX_ATTEMPTS },
	{ "mutate-auth", no_argument, NULL, OPT_MUTATE_AUTH },
	{ "strict-protocol", no_argument, NULL, OPT_STRICT_PROTOCOL },
	{ "replay", required_argument, NULL, OPT_REPLAY },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static volatile int	cmd_fuzz_stop;

static void
cmd_fuzz_signal(int sig)
{
	(void)sig;
	cmd_fuzz_stop = 1;
}

/* A decimal count in [min, max]. */
static int
cmd_fuzz_count(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char			*end;
	unsigned long long	 v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
cmd_fuzz_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_fuzz_entry;
	struct fuzz_config	 cfg;
	struct fuzz_result	 res;
	struct sigaction	 sa, old_int, old_term, old_pipe;
	const char		*replay = NULL;
	char			*cause = NULL;
	uint64_t		 v;
	int			 ch, json = 0, rv, have_requests = 0;
	int			 have_duration = 0;
	enum log_level		 level = LOG_LEVEL_INFO;

	fuzz_config_init(&cfg);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "t:n:d:s:f:c:vqh",
	    cmd_fuzz_options, NULL)) != -1) {
		switch (ch) {
		case 't':
			free(cfg.target);
			cfg.target = xstrdup(optarg);
			break;
		case 'n':
			if (cmd_fuzz_count(optarg, 1, UINT64_MAX / 2,
			    &cfg.requests) == -1) {
				rv = cli_usage(e, "--requests: not a positive "
				    "count: %s", optarg);
				goto out;
			}
			have_requests = 1;
			break;
		case 'd':
			if (units_parse_duration(optarg, &cfg.duration_ns) ==
			    -1 || cfg.duration_ns == 0) {
				rv = cli_usage(e, "--duration: not a duration: "
				    "%s", optarg);
				goto out;
			}
			have_duration = 1;
			break;
		case 's':
			if (units_parse_seed(optarg, &cfg.seed) == -1) {
				rv = cli_usage(e, "--seed: not a seed: %s",
				    optarg);
				goto out;
			}
			break;
		case 'f':
			free(cfg.findings);
			cfg.findings = xstrdup(optarg);
			break;
		case OPT_SERVICE_CMD:
			free(cfg.service_cmd);
			cfg.service_cmd = xstrdup(optarg);
			break;
		case OPT_SERVICE_LOG:
			free(cfg.service_log);
			cfg.service_log = xstrdup(optarg);
			break;
		case 'c':
			if (cmd_fuzz_count(optarg, 1, 1024, &v) == -1) {
				rv = cli_usage(e, "--connections: 1..1024: %s",
				    optarg);
				goto out;
			}
			cfg.connections = (unsigned)v;
			break;
		case OPT_TIMEOUT:
			if (units_parse_duration(optarg, &cfg.timeout_ns) ==
			    -1 || cfg.timeout_ns == 0) {
				rv = cli_usage(e, "--timeout: not a duration: "
				    "%s", optarg);
				goto out;
			}
			break;
		case OPT_SLOW_FLOOR:
			if (units_parse_duration(optarg,
			    &cfg.slow_floor_ns) == -1) {
				rv = cli_usage(e, "--slow-floor: not a "
				    "duration: %s", optarg);
				goto out;
			}
			break;
		case OPT_MAX_ATTEMPTS:
			if (cmd_fuzz_count(optarg, 0, 100000, &v) == -1) {
				rv = cli_usage(e, "--max-attempts: 0..100000: "
				    "%s", optarg);
				goto out;
			}
			cfg.max_attempts = (unsigned)v;
			break;
		case OPT_MUTATE_AUTH:
			cfg.mutate_auth = 1;
			break;
		case OPT_STRICT_PROTOCOL:
			cfg.strict_protocol = 1;
			break;
		case OPT_REPLAY:
			replay = optarg;
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
		case 'v':
			level = LOG_LEVEL_DEBUG;
			break;
		case 'q':
			level = LOG_LEVEL_WARN;
			break;
		case 'h':
			cli_help(e);
			rv = EXIT_OK;
			goto out;
		default:
			rv = cli_usage(e, "unknown option or missing argument: "
			    "%s", argv[optind - 1]);
			goto out;
		}
	}
	log_init("decoy fuzz", level);
	if (cfg.target == NULL) {
		rv = cli_usage(e, "no target (--target http://HOST:PORT)");
		goto out;
	}
	if (replay != NULL) {
		if (argc - optind != 0) {
			rv = cli_usage(e, "--replay takes no corpus");
			goto out;
		}
	} else {
		if (argc - optind != 1) {
			rv = cli_usage(e, argc - optind == 0 ?
			    "no corpus directory given" :
			    "one corpus directory at a time");
			goto out;
		}
		cfg.corpus = xstrdup(argv[optind]);
		if (have_duration && !have_requests)
			cfg.requests = 0;
	}
	cfg.progress = isatty(STDERR_FILENO) && !json && replay == NULL;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = cmd_fuzz_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);

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
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
out:
	free(cause);
	fuzz_config_free(&cfg);
	return rv;
}
