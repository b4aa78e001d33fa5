/*
 * cmd-chaos.c -- `decoy chaos --nfqueue N --rules FILE`: packet-level
 * chaos for traffic decoy does not proxy (pktchaos.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "opt.h"
#include "pktchaos.h"
#include "units.h"
#include "xmalloc.h"

static int	cmd_chaos_exec(int, char **);

struct cmd_chaos_o {
	struct pktchaos_config	cfg;
	int			have_queue;
	int			log_level;
};

#define CMD_CHAOS_AT(m)	OPT_AT(struct cmd_chaos_o, cfg.m)

/* --port P: one more server port. */
static int
cmd_chaos_port(void *base, void *field, const char *arg, char **cause)
{
	struct pktchaos_config	*cfg = &((struct cmd_chaos_o *)base)->cfg;
	uint16_t		 port;

	if (cli_port_parse(arg, &port, cause) == -1)
		return -1;
	cfg->ports = xreallocarray(cfg->ports, cfg->nports + 1,
	    sizeof *cfg->ports);
	cfg->ports[cfg->nports++] = port;
	return 0;
}

static const struct opt cmd_chaos_opts[] = {
	{ "nfqueue", 'Q', OPT_INT, NULL,
	  "the queue number of the iptables rules\n"
	  "(-j NFQUEUE --queue-num N --queue-bypass);\n"
	  "queue both directions of the flows",
	  CMD_CHAOS_AT(queue), .max = 65535,
	  OPT_SEEN(struct cmd_chaos_o, have_queue) },
	{ "rules", 'r', OPT_LIST, "FILE",
	  "chaos rule file (decoy-rules(5)); repeatable.\n"
	  "Applied: latency, drop, connection: reset",
	  CMD_CHAOS_AT(rules), OPT_NUM(struct cmd_chaos_o, cfg.nrules) },
	{ "seed", 's', OPT_SEED, NULL,
	  "chaos seed (default: the rule file's, else 0)",
	  CMD_CHAOS_AT(seed), OPT_SEEN(struct cmd_chaos_o, cfg.has_seed) },
	{ "chaos-log", 0, OPT_PATH, NULL,
	  "append every injected fault to FILE",
	  CMD_CHAOS_AT(chaos_log), .flags = OPT_COPY },
	{ "port", 'P', OPT_CALL, "P",
	  "server port (repeatable; default: the SYN's\n"
	  "receiver is the server)",
	  .call = cmd_chaos_port, .flags = OPT_ARG },
	{ "dir", 0, OPT_ENUM, "in|out",
	  "the dir rules see (out)",
	  CMD_CHAOS_AT(dir), .choices = cli_dir_choices, .aliases = "-d" },
	{ "stats", 0, OPT_PATH, NULL,
	  "write the counters as JSON to FILE at exit",
	  CMD_CHAOS_AT(stats_path), .flags = OPT_COPY },
	CLI_OPTS_NFQUEUE(struct cmd_chaos_o, cfg.ready_path, cfg.idle_ns),
	CLI_OPTS_LOG(struct cmd_chaos_o),
	OPT_END_ROW,
};

const struct cmd_entry cmd_chaos_entry = {
	.name = "chaos",
	.args = "--nfqueue N --rules FILE... [--seed S] [--chaos-log F] "
	    "[--port P]...",
	.summary = "delay, drop and reset the packets of matching requests' "
	    "responses (NFQUEUE)",
	.opts = cmd_chaos_opts,
	.exec = cmd_chaos_exec,
};

static int
cmd_chaos_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_chaos_entry;
	struct cmd_chaos_o	 o = { .log_level = LOG_LEVEL_INFO };
	struct pktchaos_config	*cfg = &o.cfg;
	struct pktchaos		*pc;
	char			*cause = NULL;
	int			 ind, rv = EXIT_USAGE;

	pktchaos_config_init(cfg);
	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &rv) == -1)
		goto out;
	if (argc - ind != 0) {
		rv = cli_usage(e, "unexpected argument \"%s\"", argv[ind]);
		goto out;
	}
	if (!o.have_queue || cfg->nrules == 0) {
		rv = cli_usage(e, "--nfqueue N and --rules FILE are required");
		goto out;
	}
	cli_log_init(e, o.log_level);
	if ((pc = pktchaos_create(cfg, &cause)) == NULL) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	rv = pktchaos_run(pc) == 0 ? EXIT_OK : EXIT_FAILED;
	pktchaos_free(pc);
out:
	free(cause);
	pktchaos_config_free(cfg);
	return rv;
}
