/*
 * cmd-run.c -- `decoy run SCENARIO`: the command's options and help;
 * the scenario runner itself is run.h.
 *
 * Exit: 0 every assertion passed, 1 one failed, 2 bad input or a process
 * that could not start (the reason and the last lines of its output are
 * printed), 128+N when interrupted by signal N (reports still written).
 */
#include "config.h"

#include <getopt.h>
#include <stddef.h>

#include "cli.h"
#include "run.h"

static int	cmd_run_exec(int, char **);

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.args = "SCENARIO... [--check] [--json]",
	.summary = "run a scenario: responder, service, load, assertions, "
	    "reports",
	.help =
	    "  -n, --check               validate each scenario as the start would,\n"
	    "                            short of starting anything: the file, its\n"
	    "                            snapshot (parsed whole), rule and transforms\n"
	    "                            files, listen address, url, CA and report\n"
	    "                            paths; exit 0 all valid, 2 not\n"
	    "      --json                print the report (or, with --check, the\n"
	    "                            verdict) as JSON on stdout, one line per\n"
	    "                            scenario\n"
	    "  -h, --help                this help\n"
	    "\n"
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

static const struct option cmd_run_options[] = {
	{ "check", no_argument, NULL, 'n' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
cmd_run_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_run_entry;
	int			 ch, check = 0, json = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "nh", cmd_run_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'n':
			check = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			cli_help(e);
			return EXIT_OK;
		default:
			return cli_usage(e, "unknown option");
		}
	}
	if (argc - optind < 1)
		return cli_usage(e, "expected a scenario file");

	return run_files(argv + optind, (size_t)(argc - optind), check, json);
}
