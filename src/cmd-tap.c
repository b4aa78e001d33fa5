/*
 * cmd-tap.c -- `decoy record --nfqueue N -o SNAP`: passive capture from an
 * NFQUEUE (tap.h).  cmd-record.c hands its arguments over when they name
 * --nfqueue; the options are this file's own.
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "priv.h"
#include "tap.h"
#include "units.h"
#include "xmalloc.h"

static const struct cmd_entry cmd_tap_entry = {
	.name = "record",
	.args = "--nfqueue N[:M] -o SNAP [--dir in|out] [--port P]... "
	    "[options]",
	.summary = "record HTTP passively from the packets an iptables NFQUEUE "
	    "rule hands over",
	.help =
	    "  -Q, --nfqueue N[:M]       the queue number of the iptables rules\n"
	    "                            (-j NFQUEUE --queue-num N --queue-bypass),\n"
	    "                            or the range N:M of --queue-balance N:M\n"
	    "                            (one capture thread per queue); queue both\n"
	    "                            directions of the flows\n"
	    "  -o, --output SNAP         snapshot to write (- for stdout); truncated\n"
	    "                            unless --append\n"
	    "  -a, --append              append to SNAP instead of truncating it\n"
	    "  -d, --dir in|out          direction recorded (out)\n"
	    "  -P, --port P              server port to record (repeatable; default:\n"
	    "                            every TCP flow queued, the SYN's receiver is\n"
	    "                            the server)\n"
	    "      --stats FILE          write the counters as JSON to FILE at exit\n"
	    "      --ready-file FILE     write FILE once the queue is bound\n"
	    "      --idle D              a flow silent for D ends (60s)\n"
	    "      --max-body SIZE       a larger body gives its flow up (64MiB)\n"
	    "      --count N             stop after N transactions\n"
	    "      --busy-poll D         after the queue empties, keep polling it\n"
	    "                            for D before sleeping (10us; 0 turns it\n"
	    "                            off): no wake-up per batch at high packet\n"
	    "                            rates, at most D of CPU per burst\n"
	    "      --user NAME           once the queue is bound, become NAME (needs\n"
	    "                            root), keeping CAP_NET_ADMIN alone; the\n"
	    "                            ready and stats files are written as NAME\n"
	    "  -v, --verbose             debug logging\n"
	    "  -q, --quiet               log warnings and errors only\n"
	    "  -h, --help                this help\n",
	.exec = NULL,
};

enum {
	OPT_STATS = 256,
	OPT_IDLE,
	OPT_MAX_BODY,
	OPT_COUNT_,
	OPT_READY,
	OPT_BUSY_POLL,
	OPT_USER,
};

static const struct option cmd_tap_options[] = {
	{ "nfqueue", required_argument, NULL, 'Q' },
	{ "output", required_argument, NULL, 'o' },
	{ "append", no_argument, NULL, 'a' },
	{ "dir", required_argument, NULL, 'd' },
	{ "port", required_argument, NULL, 'P' },
	{ "stats", required_argument, NULL, OPT_STATS },
	{ "idle", required_argument, NULL, OPT_IDLE },
	{ "max-body", required_argument, NULL, OPT_MAX_BODY },
	{ "count", required_argument, NULL, OPT_COUNT_ },
	{ "ready-file", required_argument, NULL, OPT_READY },
	{ "busy-poll", required_argument, NULL, OPT_BUSY_POLL },
	{ "user", required_argument, NULL, OPT_USER },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Parses a decimal number in [min, max]; 0 or -1. */
static int
cmd_tap_number(const char *s, unsigned long long max, unsigned long long *out)
{
	char			*end;
	unsigned long long	 v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "N" or "N:M" (N <= M, at most TAP_MAX_QUEUES); 0 or -1. */
static int
cmd_tap_queues(const char *s, struct tap_config *cfg)
{
	unsigned long long	 first, last;
	const char		*colon = strchr(s, ':');
	char			*a;
	int			 rv;

	if (colon == NULL) {
		if (cmd_tap_number(s, 65535, &first) == -1)
			return -1;
		cfg->queue = (unsigned int)first;
		cfg->nqueues = 1;
		return 0;
	}
	a = xstrndup(s, (size_t)(colon - s));
	rv = cmd_tap_number(a, 65535, &first);
	free(a);
	if (rv == -1 || cmd_tap_number(colon + 1, 65535, &last) == -1 ||
	    last < first || last - first >= TAP_MAX_QUEUES)
		return -1;
	cfg->queue = (unsigned int)first;
	cfg->nqueues = (unsigned int)(last - first + 1);
	return 0;
}

int
cmd_record_nfqueue(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_tap_entry;
	struct tap_config	 cfg;
	struct tap		*tap;
	struct priv_user	 user = { .name = NULL };
	enum log_level		 level = LOG_LEVEL_INFO;
	unsigned long long	 v;
	size_t			 sz;
	char			*cause = NULL;
	int			 ch, rv = EXIT_USAGE, have_queue = 0;

	/* `decoy record --nfqueue --help` names no queue: help first. */
	for (ch = 1; ch < argc; ch++) {
		if (strcmp(argv[ch], "--help") == 0 ||
		    strcmp(argv[ch], "-h") == 0) {
			cli_help(e);
			return EXIT_OK;
		}
	}
	tap_config_init(&cfg);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "Q:o:ad:P:vqh", cmd_tap_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'Q':
			if (cmd_tap_queues(optarg, &cfg) == -1) {
				rv = cli_usage(e, "--nfqueue: expected a queue "
				    "number 0..65535 or a range N:M of at most "
				    "%d queues, not \"%s\"", TAP_MAX_QUEUES,
				    optarg);
				goto out;
			}
			have_queue = 1;
			break;
		case 'o':
			free(cfg.output);
			cfg.output = xstrdup(optarg);
			break;
		case 'a':
			cfg.append = 1;
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
		case 'P':
			if (cmd_tap_number(optarg, 65535, &v) == -1 || v == 0) {
				rv = cli_usage(e, "--port: expected 1..65535, "
				    "not \"%s\"", optarg);
				goto out;
			}
			tap_config_add_port(&cfg, (uint16_t)v);
			break;
		case OPT_STATS:
			free(cfg.stats_path);
			cfg.stats_path = xstrdup(optarg);
			break;
		case OPT_READY:
			free(cfg.ready_path);
			cfg.ready_path = xstrdup(optarg);
			break;
		case OPT_USER:
			priv_user_free(&user);
			if (priv_user_lookup(&user, optarg, &cause) == -1 ||
			    priv_user_check(&user, &cause) == -1) {
				rv = cli_error(e, EXIT_USAGE, "--user: %s",
				    cause);
				goto out;
			}
			cfg.user = &user;
			break;
		case OPT_IDLE:
			if (units_parse_duration(optarg, &cfg.idle_ns) == -1 ||
			    cfg.idle_ns == 0) {
				rv = cli_usage(e, "--idle: bad duration \"%s\"",
				    optarg);
				goto out;
			}
			break;
		case OPT_BUSY_POLL:
			if (strcmp(optarg, "0") == 0)
				cfg.busy_poll_ns = 0;
			else if (units_parse_duration(optarg,
			    &cfg.busy_poll_ns) == -1 ||
			    cfg.busy_poll_ns > 1000ULL * 1000 * 1000) {
				rv = cli_usage(e, "--busy-poll: expected a "
				    "duration up to 1s (e.g. 50us), not \"%s\"",
				    optarg);
				goto out;
			}
			break;
		case OPT_MAX_BODY:
			if (units_parse_size(optarg, &sz) == -1 || sz == 0) {
				rv = cli_usage(e, "--max-body: bad size \"%s\"",
				    optarg);
				goto out;
			}
			cfg.max_body = sz;
			break;
		case OPT_COUNT_:
			if (cmd_tap_number(optarg, UINT64_MAX, &v) == -1 ||
			    v == 0) {
				rv = cli_usage(e, "--count: bad number \"%s\"",
				    optarg);
				goto out;
			}
			cfg.max_txns = v;
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
	if (!have_queue || cfg.output == NULL) {
		rv = cli_usage(e, "--nfqueue N and -o SNAP are required");
		goto out;
	}
	log_init("decoy record", level);
	if ((tap = tap_create(&cfg, &cause)) == NULL) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	rv = tap_run(tap) == 0 ? EXIT_OK : EXIT_FAILED;
	tap_free(tap);
out:
	free(cause);
	tap_config_free(&cfg);
	priv_user_free(&user);
	return rv;
}
