/*
 * cmd-chaos.c -- `decoy chaos --nfqueue N --rules FILE`: packet-level
 * chaos for traffic decoy does not proxy (pktchaos.h).
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "pktchaos.h"
#include "units.h"
#include "xmalloc.h"

static int	cmd_chaos_exec(int, char **);

const struct cmd_entry cmd_chaos_entry = {
	.name = "chaos",
	.args = "--nfqueue N --rules FILE... [--seed S] [--chaos-log F] "
	    "[--port P]...",
	.summary = "delay, drop and reset the packets of matching requests' "
	    "responses (NFQUEUE)",
	.help =
	    "  -Q, --nfqueue N           the queue number of the iptables rules\n"
	    "                            (-j NFQUEUE --queue-num N --queue-bypass);\n"
	    "                            queue both directions of the flows\n"
	    "  -r, --rules FILE          chaos rule file (decoy-rules(5)); repeatable.\n"
	    "                            Applied: latency, drop, connection: reset\n"
	    "  -s, --seed N              chaos seed (default: the rule file's, else 0)\n"
	    "      --chaos-log FILE      append every injected fault to FILE\n"
	    "  -P, --port P              server port (repeatable; default: the SYN's\n"
	    "                            receiver is the server)\n"
	    "  -d, --dir in|out          the dir rules see (out)\n"
	    "      --stats FILE          write the counters as JSON to FILE at exit\n"
	    "      --ready-file FILE     write FILE once the queue is bound\n"
	    "      --idle D              a flow silent for D ends (60s)\n"
	    "  -v, --verbose             debug logging\n"
	    "  -q, --quiet               log warnings and errors only\n"
	    "  -h, --help                this help\n",
	.exec = cmd_chaos_exec,
};

enum {
	OPT_CHAOS_LOG = 256,
	OPT_STATS,
	OPT_READY,
	OPT_IDLE,
};

static const struct option cmd_chaos_options[] = {
	{ "nfqueue", required_argument, NULL, 'Q' },
	{ "rules", required_argument, NULL, 'r' },
	{ "seed", required_argument, NULL, 's' },
	{ "chaos-log", required_argument, NULL, OPT_CHAOS_LOG },
	{ "port", required_argument, NULL, 'P' },
	{ "dir", required_argument, NULL, 'd' },
	{ "stats", required_argument, NULL, OPT_STATS },
	{ "ready-file", required_argument, NULL, OPT_READY },
	{ "idle", required_argument, NULL, OPT_IDLE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
cmd_chaos_number(const char *s, unsigned long max, unsigned long *out)
{
	char		*end;
	unsigned long	 v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static void
cmd_chaos_set(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static int
cmd_chaos_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_chaos_entry;
	struct pktchaos_config	 cfg;
	struct pktchaos		*pc;
	enum log_level		 level = LOG_LEVEL_INFO;
	unsigned long		 v;
	char			*cause = NULL;
	int			 ch, rv = EXIT_USAGE, have_queue = 0;

	pktchaos_config_init(&cfg);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "Q:r:s:P:d:vqh",
	    cmd_chaos_options, NULL)) != -1) {
		switch (ch) {
		case 'Q':
			if (cmd_chaos_number(optarg, 65535, &v) == -1) {
				rv = cli_usage(e, "--nfqueue: expected a queue "
				    "number 0..65535, not \"%s\"", optarg);
				goto out;
			}
			cfg.queue = (unsigned int)v;
			have_queue = 1;
			break;
		case 'r':
			cfg.rules = xreallocarray(cfg.rules, cfg.nrules + 1,
			    sizeof *cfg.rules);
			cfg.rules[cfg.nrules++] = xstrdup(optarg);
			break;
		case 's':
			if (units_parse_seed(optarg, &cfg.seed) == -1) {
				rv = cli_usage(e, "--seed: bad seed \"%s\"",
				    optarg);
				goto out;
			}
			cfg.has_seed = 1;
			break;
		case OPT_CHAOS_LOG:
			cmd_chaos_set(&cfg.chaos_log, optarg);
			break;
		case 'P':
			if (cmd_chaos_number(optarg, 65535, &v) == -1 ||
			    v == 0) {
				rv = cli_usage(e, "--port: expected 1..65535, "
				    "not \"%s\"", optarg);
				goto out;
			}
			cfg.ports = xreallocarray(cfg.ports, cfg.nports + 1,
			    sizeof *cfg.ports);
			cfg.ports[cfg.nports++] = (uint16_t)v;
			break;
		case 'd':
			if (strcmp(optarg, "in") == 0)
				cfg.dir = SNAP_DIR_IN;
			else if (strcmp(optarg, "out") == 0)
				cfg.dir = SNAP_DIR_OUT;
			else {
				rv = cli_usage(e, "--dir: expected in or out");
				goto out;
			}
			break;
		case OPT_STATS:
			cmd_chaos_set(&cfg.stats_path, optarg);
			break;
		case OPT_READY:
			cmd_chaos_set(&cfg.ready_path, optarg);
			break;
		case OPT_IDLE:
			if (units_parse_duration(optarg, &cfg.idle_ns) == -1 ||
			    cfg.idle_ns == 0) {
				rv = cli_usage(e, "--idle: bad duration \"%s\"",
				    optarg);
				goto out;
			}
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
			rv = cli_usage(e, "unknown option");
			goto out;
		}
	}
	if (argc - optind != 0) {
		rv = cli_usage(e, "unexpected argument \"%s\"", argv[optind]);
		goto out;
	}
	if (!have_queue || cfg.nrules == 0) {
		rv = cli_usage(e, "--nfqueue N and --rules FILE are required");
		goto out;
	}
	log_init("decoy chaos", level);
	if ((pc = pktchaos_create(&cfg, &cause)) == NULL) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	rv = pktchaos_run(pc) == 0 ? EXIT_OK : EXIT_FAILED;
	pktchaos_free(pc);
out:
	free(cause);
	pktchaos_config_free(&cfg);
	return rv;
}
