/*
 * cmd-report.c -- `decoy report REPORT [--html F] [--junit F] [--json]`
 * shows a run report (report.h) as a table, or re-emits it as JSON, and
 * writes its HTML and JUnit renderings; `decoy report merge R1 R2... -o
 * OUT` merges shard reports into one (counts and histograms add exactly;
 * the assertions of the first report are kept, to be re-evaluated by the
 * caller).  With --assert SCENARIO, either evaluates the scenario's assert
 * section on the (merged) report instead (report_assert: what `decoy run`
 * asserts), so a load spread over shards is judged on all its samples.
 * Exit 0, 1 when the report failed -- a failed assertion, or a response
 * that differed from the recording in a run that did not tolerate it
 * (report_passed) -- so CI can gate on `decoy report`, 2 on a usage or
 * input error.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "report.h"
#include "scenario.h"
#include "xmalloc.h"

static int	cmd_report_exec(int, char **);

const struct cmd_entry cmd_report_entry = {
	.name = "report",
	.args = "REPORT [--assert SCENARIO] [--html F] [--junit F] [--json]\n"
	    "       decoy report merge R1 R2... -o OUT [--assert SCENARIO]",
	.summary = "show, render or merge run reports",
	.help =
	    "  REPORT                    report JSON file, - for stdin\n"
	    "      --html FILE           write a self-contained HTML page\n"
	    "      --junit FILE          write JUnit XML (one testcase per "
	    "assertion and endpoint)\n"
	    "      --json                print the report as JSON instead of "
	    "a table\n"
	    "      --assert SCENARIO     evaluate SCENARIO's assert section on the\n"
	    "                            report (replacing the assertions it holds)\n"
	    "  merge R1 R2... -o OUT     merge shard reports into OUT (- for "
	    "stdout);\n"
	    "                            with --assert, on the merged report\n"
	    "  -h, --help                this help\n"
	    "Exit status 1 when the report failed: a failed assertion, or a\n"
	    "response that differed from the recording (unless the run was\n"
	    "told --allow-regressions).\n",
	.exec = cmd_report_exec,
};

static const struct option cmd_report_options[] = {
	{ "html", required_argument, NULL, 'H' },
	{ "junit", required_argument, NULL, 'J' },
	{ "json", no_argument, NULL, 'j' },
	{ "output", required_argument, NULL, 'o' },
	{ "assert", required_argument, NULL, 'A' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
cmd_report_fail(char *cause)
{
	int	rc;

	rc = cli_error(&cmd_report_entry, EXIT_USAGE, "%s", cause);
	free(cause);
	return rc;
}

/* Loads the scenario of --assert (NULL: none) and evaluates it on r.
 * 0, or -1 with *cause. */
static int
cmd_report_assert(struct report *r, const char *path, char **cause)
{
	struct scenario	*sc;

	if (path == NULL)
		return 0;
	if ((sc = scenario_load(path, cause)) == NULL)
		return -1;
	if (sc->has_fuzz) {
		*cause = xasprintf("%s: a fuzz scenario asserts findings, not "
		    "a load report", path);
		scenario_free(sc);
		return -1;
	}
	report_assert(r, sc);
	scenario_free(sc);
	return 0;
}

static int
cmd_report_merge(int argc, char **argv, const char *out, const char *scen)
{
	struct report	*r = NULL, *s;
	char		*cause = NULL;
	int		 i, rc;

	for (i = 0; i < argc; i++) {
		if ((s = report_read_json(argv[i], &cause)) == NULL) {
			report_free(r);
			return cmd_report_fail(cause);
		}
		if (r == NULL)
			r = s;
		else {
			report_merge(r, s);
			report_free(s);
		}
	}
	if (cmd_report_assert(r, scen, &cause) == -1 ||
	    report_write_json(r, out, &cause) == -1) {
		report_free(r);
		return cmd_report_fail(cause);
	}
	/* Without --assert the kept assertions are the first shard's, not
	 * the merge's: they do not decide. */
	rc = scen == NULL || report_passed(r) ? EXIT_OK : EXIT_FAILED;
	report_free(r);
	return rc;
}

static int
cmd_report_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_report_entry;
	const char		*html = NULL, *junit = NULL, *out = NULL;
	const char		*scen = NULL;
	struct report		*r;
	struct buf		 b;
	char			*cause = NULL;
	int			 ch, json = 0, merge = 0, rc;

	if (argc > 1 && strcmp(argv[1], "merge") == 0) {
		merge = 1;
		argc--;
		argv++;
	}
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, merge ? "ho:" : "h",
	    cmd_report_options, NULL)) != -1) {
		switch (ch) {
		case 'H':
			if (merge)
				goto bad;
			html = optarg;
			break;
		case 'J':
			if (merge)
				goto bad;
			junit = optarg;
			break;
		case 'j':
			if (merge)
				goto bad;
			json = 1;
			break;
		case 'o':
			if (!merge)
				goto bad;
			out = optarg;
			break;
		case 'A':
			scen = optarg;
			break;
		case 'h':
			cli_help(e);
			return EXIT_OK;
		default:
			goto bad;
		}
	}
	if (merge) {
		if (out == NULL)
			return cli_usage(e, "merge needs -o OUT");
		if (argc - optind < 1)
			return cli_usage(e, "merge needs reports to merge");
		return cmd_report_merge(argc - optind, argv + optind, out,
		    scen);
	}
	if (argc - optind != 1)
		return cli_usage(e, argc - optind == 0 ? "no report given" :
		    "one report at a time (merge them with `decoy report "
		    "merge`)");

	if ((r = report_read_json(argv[optind], &cause)) == NULL)
		return cmd_report_fail(cause);
	if (cmd_report_assert(r, scen, &cause) == -1 ||
	    (html != NULL && report_write_html(r, html, &cause) == -1) ||
	    (junit != NULL && report_write_junit(r, junit, &cause) == -1)) {
		report_free(r);
		return cmd_report_fail(cause);
	}
	if (json) {
		buf_init(&b);
		report_to_json(r, &b);
		fwrite(b.data, 1, b.len, stdout);
		buf_free(&b);
	} else
		report_print(r, stdout);
	rc = report_passed(r) ? EXIT_OK : EXIT_FAILED;
	report_free(r);
	if (fflush(stdout) == EOF || ferror(stdout))
		rc = cli_error(e, EXIT_USAGE, "writing output failed");
	return rc;

bad:
	return cli_usage(e, "unknown option or missing argument: %s",
	    argv[optind - 1]);
}
