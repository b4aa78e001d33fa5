/*
 * cmd-run.c -- `decoy run SCENARIO`: the command's options and help;
 * the scenario runner itself is run.h.
 *
 * Exit: 0 every assertion passed, 1 one failed, 2 bad input or a process
 * that could not start (the reason and the last lines of its output are
 * printed), 128+N when interrupted by signal N (reports still written).
 */
#include "config.h"

#include <stddef.h>

#include "cli.h"
#include "log.h"
#include "opt.h"
#include "run.h"

static int	cmd_run_exec(int, char **);

struct cmd_run_o {
	int	check;
	int	json;
	int	log_level;
};

static const struct opt cmd_run_opts[] = {
	{ "check", 'n', OPT_FLAG, NULL, "validate each scenario as the start "
	  "would,\nshort of starting anything: the file, its\nsnapshot "
	  "(parsed whole), rule and transforms\nfiles, listen address, url, "
	  "CA and report\npaths; exit 0 all valid, 2 not",
	  OPT_AT(struct cmd_run_o, check) },
	{ "json", 0, OPT_FLAG, NULL, "print the report (or, with --check, "
	  "the\nverdict) as JSON on stdout, one line per\nscenario",
	  OPT_AT(struct cmd_run_o, json) },
	CLI_OPTS_LOG(struct cmd_run_o),
	OPT_END_ROW,
};

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.args = "SCENARIO... [--check] [--json]",
	.summary = "run a scenario: responder, service, load, assertions, "
	    "reports",
	.opts = cmd_run_opts,
	.notes =
	    "Placeholders in service.url, service.command and service.env:\n"
	    "  {responder_port}          the port the responder bound (listen may\n"
	    "                            use port 0)\n"
	    "  {service_port}            a free port decoy picks when service.url\n"
	    "                            holds it\n"
	    "Several scenarios run (or are checked) one after the other.\n"
	    "Exit status: 0 all assertions passed, 1 one failed, 2 bad input or\n"
	    "a process that did not start (the worst over the files), 128+N\n"
	    "interrupted by signal N.\n",
	.exec = cmd_run_exec,
};

static int
cmd_run_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_run_entry;
	struct cmd_run_o	 o = { .log_level = LOG_LEVEL_INFO };
	int			 ind, rv = EXIT_OK;

	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &rv) == -1)
		return rv;
	cli_log_init(e, o.log_level);
	if (argc - ind < 1)
		return cli_usage(e, "expected a scenario file");
	return run_files(argv + ind, (size_t)(argc - ind), o.check, o.json);
}
