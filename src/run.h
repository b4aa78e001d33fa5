/*
 * run.h -- the scenario runner, the role behind `decoy run SCENARIO`
 * (man/decoy-run.1, scenario.h for the file): responder, service under
 * test, load or fuzz campaign, assertions and reports from one file.
 *
 * The runner prints its errors and the report itself (stderr and
 * stdout) and catches SIGINT and SIGTERM while a scenario runs: the
 * children are stopped and the reports written before it returns.
 */
#ifndef DECOY_RUN_H
#define DECOY_RUN_H

#include <stddef.h>

/* Exit statuses (a run cut short by signal N: 128 + N). */
enum run_exit {
	RUN_EXIT_OK = 0,	/* every assertion passed (or --check: valid) */
	RUN_EXIT_FAILED = 1,	/* an assertion failed */
	RUN_EXIT_USAGE = 2,	/* bad input, or a process did not start */
};

/*
 * Checks each of the n scenario files in paths and, unless check, runs
 * it, one after the other; json prints the report (or the verdict of
 * --check) as one JSON line per file on stdout.  Returns the worst exit
 * status over the files (2 over 1 over 0), or 128 + N at once when
 * signal N interrupted a run (its reports are still written).
 */
int	run_files(char *const *paths, size_t n, int check, int json);

#endif
