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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "report.h"
#include "scenario.h"
#include "xmalloc.h"

static int	cmd_report_exec(int, char **);

struct cmd_report_o {
	const char	*html, *junit, *out, *scen;
	int		 json;
};

#define CMD_REPORT_ASSERT						\
	{ "assert", 0, OPT_PATH, "SCENARIO", "evaluate SCENARIO's assert "	\
	  "section on the\nreport (replacing the assertions it holds)",	\
	  OPT_AT(struct cmd_report_o, scen) }

static const struct opt cmd_report_opts[] = {
	{ "html", 0, OPT_PATH, NULL, "write a self-contained HTML page",
	  OPT_AT(struct cmd_report_o, html) },
	{ "junit", 0, OPT_PATH, NULL, "write JUnit XML (one testcase per\n"
	  "assertion and endpoint)", OPT_AT(struct cmd_report_o, junit) },
	{ "json", 0, OPT_FLAG, NULL, "print the report as JSON instead of a "
	  "table", OPT_AT(struct cmd_report_o, json) },
	CMD_REPORT_ASSERT,
	OPT_END_ROW,
};

static const struct opt cmd_report_merge_opts[] = {
	{ "output", 'o', OPT_PATH, "OUT", "the merged report (- for stdout)",
	  OPT_AT(struct cmd_report_o, out) },
	CMD_REPORT_ASSERT,
	OPT_END_ROW,
};

const struct cmd_entry cmd_report_entry = {
	.name = "report",
	.args = "REPORT [--assert SCENARIO] [--html F] [--junit F] [--json]\n"
	    "       decoy report merge R1 R2... -o OUT [--assert SCENARIO]",
	.summary = "show, render or merge run reports",
	.intro =
	    "  REPORT                    report JSON file, - for stdin\n"
	    "  merge R1 R2... -o OUT     merge shard reports into OUT; with "
	    "--assert,\n"
	    "                            on the merged report\n",
	.opts = cmd_report_opts,
	.more_title = "merge",
	.more = cmd_report_merge_opts,
	.notes =
	    "Exit status 1 when the report failed: a failed assertion, or a\n"
	    "response that differed from the recording (unless the run was\n"
	    "told --allow-regressions).\n",
	.exec = cmd_report_exec,
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
	struct cmd_report_o	 o = { .html = NULL };
	int			 ind, json, merge = 0, rc;

	if (argc > 1 && strcmp(argv[1], "merge") == 0) {
		merge = 1;
		argc--;
		argv++;
	}
	if (cli_parse(e, merge ? cmd_report_merge_opts : NULL, argc, argv, &o,
	    0, &ind, &rc) == -1)
		return rc;
	html = o.html;
	junit = o.junit;
	out = o.out;
	scen = o.scen;
	json = o.json;
	if (merge) {
		if (out == NULL)
			return cli_usage(e, "merge needs -o OUT");
		if (argc - ind < 1)
			return cli_usage(e, "merge needs reports to merge");
		return cmd_report_merge(argc - ind, argv + ind, out, scen);
	}
	if (argc - ind != 1)
		return cli_usage(e, argc - ind == 0 ? "no report given" :
		    "one report at a time (merge them with `decoy report "
		    "merge`)");

	if ((r = report_read_json(argv[ind], &cause)) == NULL)
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
}
