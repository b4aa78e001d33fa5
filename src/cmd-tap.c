/*
 * cmd-tap.c -- `decoy record --nfqueue N -o SNAP`: passive capture from an
 * NFQUEUE (tap.h).  cmd-record.c hands its arguments over when they name
 * --nfqueue; the options are this file's own.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli-funnel.h"
#include "log.h"
#include "opt.h"
#include "priv.h"
#include "tap.h"
#include "units.h"
#include "xmalloc.h"

struct cmd_tap_o {
	struct tap_config	cfg;
	struct priv_user	user;
	struct funnel_config	funnel;
	int			have_queue;
	int			log_level;
};

#define CMD_TAP_AT(m)	OPT_AT(struct cmd_tap_o, cfg.m)

/* "N" or "N:M" (N <= M, at most TAP_MAX_QUEUES) into the tap_config. */
static int
cmd_tap_queues(void *base, void *field, const char *s, char **cause)
{
	struct tap_config	*cfg = field;
	unsigned int		 first, last;
	char			 c;
	int			 n;

	n = sscanf(s, "%5u:%5u%c", &first, &last, &c);
	if (n == 1 && strspn(s, "0123456789") == strlen(s))
		last = first;
	else if (n != 2 || strspn(s, "0123456789:") != strlen(s))
		first = last = 65536;
	if (first > 65535 || last > 65535 || last < first ||
	    last - first >= TAP_MAX_QUEUES) {
		*cause = xasprintf("expected a queue number 0..65535 or a "
		    "range N:M of at most %d queues, got \"%s\"",
		    TAP_MAX_QUEUES, s);
		return -1;
	}
	cfg->queue = first;
	cfg->nqueues = last - first + 1;
	return 0;
}

/* --port P: one more server port. */
static int
cmd_tap_port(void *base, void *field, const char *arg, char **cause)
{
	uint16_t	port;

	if (cli_port_parse(arg, &port, cause) == -1)
		return -1;
	tap_config_add_port(&((struct cmd_tap_o *)base)->cfg, port);
	return 0;
}

static const struct opt cmd_tap_opts[] = {
	{ "nfqueue", 'Q', OPT_CALL, "N[:M]",
	  "the queue number of the iptables rules\n"
	  "(-j NFQUEUE --queue-num N --queue-bypass),\n"
	  "or the range N:M of --queue-balance N:M\n"
	  "(one capture thread per queue); queue both\n"
	  "directions of the flows",
	  OPT_AT(struct cmd_tap_o, cfg), .call = cmd_tap_queues,
	  .flags = OPT_ARG, OPT_SEEN(struct cmd_tap_o, have_queue) },
	{ "output", 'o', OPT_PATH, "SNAP",
	  "snapshot to write (- for stdout); truncated\n"
	  "unless --append",
	  CMD_TAP_AT(output), .flags = OPT_COPY },
	{ "append", 0, OPT_FLAG, NULL,
	  "append to SNAP instead of truncating it",
	  CMD_TAP_AT(append), .aliases = "-a" },
	{ "dir", 0, OPT_ENUM, "in|out",
	  "direction recorded (out)",
	  CMD_TAP_AT(dir), .choices = cli_dir_choices, .aliases = "-d" },
	{ "port", 'P', OPT_CALL, "P",
	  "server port to record (repeatable; default:\n"
	  "every TCP flow queued, the SYN's receiver is\n"
	  "the server)",
	  .call = cmd_tap_port, .flags = OPT_ARG },
	{ "stats", 0, OPT_PATH, NULL,
	  "write the counters as JSON to FILE at exit",
	  CMD_TAP_AT(stats_path), .flags = OPT_COPY },
	{ "metrics", 0, OPT_ADDR, NULL,
	  "serve Prometheus metrics at http://ADDR/metrics\n"
	  "(packets, flows, transactions, bytes, lost,\n"
	  "responses by status)",
	  CMD_TAP_AT(metrics) },
	{ "metrics-port-file", 0, OPT_PATH, NULL,
	  "write the metrics endpoint's bound port to FILE",
	  CMD_TAP_AT(metrics_port_file) },
	CLI_OPTS_NFQUEUE(struct cmd_tap_o, cfg.ready_path, cfg.idle_ns),
	{ "max-body", 0, OPT_SIZE, NULL,
	  "a larger body gives its flow up (64MiB)",
	  CMD_TAP_AT(max_body), .min = 1 },
	{ "count", 0, OPT_INT, NULL,
	  "stop after N transactions",
	  CMD_TAP_AT(max_txns), .min = 1 },
	{ "busy-poll", 0, OPT_DURATION, "D",
	  "after the queue empties, keep polling it\n"
	  "for D before sleeping (10us; 0 turns it\n"
	  "off): no wake-up per batch at high packet\n"
	  "rates, at most D of CPU per burst",
	  CMD_TAP_AT(busy_poll_ns), .max = 1000000000 },
	{ "user", 0, OPT_CALL, "NAME",
	  "once the queue is bound, become NAME (needs\n"
	  "root), keeping CAP_NET_ADMIN alone; the\n"
	  "ready and stats files are written as NAME",
	  OPT_AT(struct cmd_tap_o, user), .call = cli_opt_user,
	  .flags = OPT_ARG },
	CLI_OPTS_FUNNEL(struct cmd_tap_o, funnel),
	CLI_OPTS_LOG(struct cmd_tap_o),
	OPT_END_ROW,
};

static const struct cmd_entry cmd_tap_entry = {
	.name = "record",
	.args = "--nfqueue N[:M] -o SNAP [--dir in|out] [--port P]... "
	    "[options]",
	.summary = "record HTTP passively from the packets an iptables NFQUEUE "
	    "rule hands over",
	.opts = cmd_tap_opts,
	.exec = NULL,
};

int
cmd_record_nfqueue(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_tap_entry;
	struct cmd_tap_o	 o = { .user = { .name = NULL },
				     .log_level = LOG_LEVEL_INFO };
	struct tap_config	*cfg = &o.cfg;
	struct tap		*tap;
	struct funnel		*fn = NULL;
	char			*cause = NULL;
	int			 ind, rv = EXIT_USAGE;

	/* `decoy record --nfqueue --help` names no queue: help first. */
	for (ind = 1; ind < argc; ind++) {
		if (strcmp(argv[ind], "--help") == 0 ||
		    strcmp(argv[ind], "-h") == 0) {
			cli_help(e);
			return EXIT_OK;
		}
	}
	tap_config_init(cfg);
	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &rv) == -1)
		goto out;
	if (o.user.name != NULL)
		cfg->user = &o.user;
	if (argc - ind != 0) {
		rv = cli_usage(e, "unexpected argument \"%s\"", argv[ind]);
		goto out;
	}
	if (!o.have_queue || cfg->output == NULL) {
		rv = cli_usage(e, "--nfqueue N and -o SNAP are required");
		goto out;
	}
	if ((fn = funnel_create(&o.funnel, &cause)) == NULL) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	cfg->funnel = fn;
	cfg->funnel_set = funnel_config_is_set(&o.funnel);
	cli_log_init(e, o.log_level);
	if ((tap = tap_create(cfg, &cause)) == NULL) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	rv = tap_run(tap) == 0 ? EXIT_OK : EXIT_FAILED;
	tap_free(tap);
out:
	free(cause);
	tap_config_free(cfg);
	priv_user_free(&o.user);
	funnel_free(fn);
	funnel_config_free(&o.funnel);
	return rv;
}
