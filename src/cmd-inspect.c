/*
 * cmd-inspect.c -- `decoy inspect SNAP [--json | --html FILE]
 * [--interval D] [--raw-paths]`: what flows through a snapshot
 * (inspect.h): hosts, endpoint templates and the time view, per
 * direction.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "inspect.h"
#include "units.h"
#include "xmalloc.h"

static int	cmd_inspect_exec(int, char **);

const struct cmd_entry cmd_inspect_entry = {
	.name = "inspect",
	.args = "SNAP [--json | --html FILE] [--interval D] [--raw-paths]",
	.summary = "show hosts, endpoints, status mix and latency in a "
	    "snapshot, over time",
	.help =
	    "  SNAP                      snapshot file, - for stdin\n"
	    "      --json                one JSON document instead of tables\n"
	    "      --html FILE           also write a self-contained HTML page\n"
	    "                            with charts (- for stdout)\n"
	    "      --interval D          length of the time view's intervals\n"
	    "                            (500ms, 10s, 5m; default: at most 30\n"
	    "                            intervals over the recording)\n"
	    "      --raw-paths           one row per path, no endpoint templates\n"
	    "  -h, --help                this help\n",
	.exec = cmd_inspect_exec,
};

enum {
	OPT_HTML = 256,
	OPT_INTERVAL,
	OPT_RAW,
};

static const struct option cmd_inspect_options[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "html", required_argument, NULL, OPT_HTML },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "raw-paths", no_argument, NULL, OPT_RAW },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Writes b to path ("-": stdout); 0 or -1 + *cause. */
static int
inspect_output(const char *path, const struct buf *b, char **cause)
{
	if (strcmp(path, "-") != 0)
		return buf_write_file(path, b->data, b->len, 0644, cause);
	if (fwrite(b->data, 1, b->len, stdout) != b->len) {
		*cause = xstrdup("writing output failed");
		return -1;
	}
	return 0;
}

static int
cmd_inspect_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_inspect_entry;
	struct inspect_opts	 opts;
	struct inspect		*in;
	struct buf		 out;
	const char		*html = NULL;
	char			*cause = NULL;
	uint64_t		 ns;
	int			 ch, json = 0, rc = EXIT_OK;

	memset(&opts, 0, sizeof opts);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", cmd_inspect_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case OPT_HTML:
			html = optarg;
			break;
		case OPT_INTERVAL:
			if (units_parse_duration(optarg, &ns) == -1 ||
			    ns < 1000)
				return cli_usage(e, "--interval: expected a "
				    "duration of 1ms or more (500ms, 10s, 5m), "
				    "not \"%s\"", optarg);
			opts.interval_us = ns / 1000;
			break;
		case OPT_RAW:
			opts.raw_paths = 1;
			break;
		case 'h':
			cli_help(e);
			return EXIT_OK;
		default:
			return cli_usage(e, "unknown option or missing "
			    "argument: %s", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return cli_usage(e, argc - optind == 0 ? "no snapshot given" :
		    "one snapshot at a time");
	if (json && html != NULL && strcmp(html, "-") == 0)
		return cli_usage(e, "--json and --html - both write on stdout");

	if ((in = inspect_load(argv[optind], &opts, &cause)) == NULL) {
		rc = cli_error(e, EXIT_USAGE, "%s", cause);
		free(cause);
		return rc;
	}
	buf_init(&out);
	if (html != NULL) {
		inspect_write_html(in, &out);
		if (inspect_output(html, &out, &cause) == -1) {
			rc = cli_error(e, EXIT_USAGE, "%s", cause);
			free(cause);
		}
		buf_reset(&out);
	}
	if (rc == EXIT_OK && json) {
		inspect_write_json(in, &out);
		(void)fwrite(out.data, 1, out.len, stdout);
	} else if (rc == EXIT_OK && (html == NULL || strcmp(html, "-") != 0))
		inspect_write_text(in, stdout);
	buf_free(&out);
	inspect_free(in);
	if (rc == EXIT_OK && (fflush(stdout) == EOF || ferror(stdout)))
		rc = cli_error(e, EXIT_USAGE, "writing output failed");
	return rc;
}
