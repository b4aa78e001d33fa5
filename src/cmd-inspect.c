/*
 * cmd-inspect.c -- `decoy inspect SNAP [--json | --html FILE]
 * [--interval D] [--raw-paths]`: what flows through a snapshot
 * (inspect.h): hosts, endpoint templates and the time view, per
 * direction.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "inspect.h"
#include "log.h"
#include "opt.h"
#include "xmalloc.h"

static int	cmd_inspect_exec(int, char **);

struct cmd_inspect_o {
	int		 json;
	const char	*html;
	uint64_t	 interval_ns;
	int		 raw_paths;
	int		 log_level;
	char		*proto_set;
};

static const struct opt cmd_inspect_opts[] = {
	{ "json", 0, OPT_FLAG, NULL, "one JSON document instead of tables",
	  OPT_AT(struct cmd_inspect_o, json) },
	{ "html", 0, OPT_PATH, "FILE", "also write a self-contained HTML page\n"
	  "with charts (- for stdout)", OPT_AT(struct cmd_inspect_o, html) },
	{ "interval", 0, OPT_DURATION, "D", "length of the time view's "
	  "intervals\n(500ms, 10s, 5m; default: at most 30\nintervals over "
	  "the recording)", OPT_AT(struct cmd_inspect_o, interval_ns),
	  .min = 1000000 },
	{ "raw-paths", 0, OPT_FLAG, NULL, "one row per path, no endpoint "
	  "templates", OPT_AT(struct cmd_inspect_o, raw_paths) },
	CLI_OPT_PROTO_SET(struct cmd_inspect_o, proto_set),
	CLI_OPTS_LOG(struct cmd_inspect_o),
	OPT_END_ROW,
};

const struct cmd_entry cmd_inspect_entry = {
	.name = "inspect",
	.args = "SNAP [--json | --html FILE] [--interval D] [--raw-paths]\n"
	    "       [--proto-set FILE]",
	.summary = "show hosts, endpoints, status mix and latency in a "
	    "snapshot, over time",
	.intro = "  SNAP                      snapshot file, - for stdin\n",
	.opts = cmd_inspect_opts,
	.exec = cmd_inspect_exec,
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
	struct cmd_inspect_o	 o = { .log_level = LOG_LEVEL_INFO };
	struct inspect_opts	 opts;
	struct inspect		*in;
	struct protodesc	*pset = NULL;
	struct buf		 out;
	char			*cause = NULL;
	int			 ind, rc = EXIT_OK;

	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &rc) == -1)
		return rc;
	cli_log_init(e, o.log_level);
	if (argc - ind != 1 || (o.json && o.html != NULL &&
	    strcmp(o.html, "-") == 0)) {
		free(o.proto_set);
		return cli_usage(e, argc - ind == 0 ? "no snapshot given" :
		    argc - ind > 1 ? "one snapshot at a time" :
		    "--json and --html - both write on stdout");
	}

	memset(&opts, 0, sizeof opts);
	opts.interval_us = o.interval_ns / 1000;
	opts.raw_paths = o.raw_paths;
	in = NULL;
	if (cli_proto_set(o.proto_set, &pset, &cause) == 0) {
		opts.protos = pset;
		in = inspect_load(argv[ind], &opts, &cause);
	}
	if (in == NULL) {
		rc = cli_error(e, EXIT_USAGE, "%s", cause);
		free(cause);
		cli_proto_set_free(pset);
		free(o.proto_set);
		return rc;
	}
	buf_init(&out);
	if (o.html != NULL) {
		inspect_write_html(in, &out);
		if (inspect_output(o.html, &out, &cause) == -1) {
			rc = cli_error(e, EXIT_USAGE, "%s", cause);
			free(cause);
		}
		buf_reset(&out);
	}
	if (rc == EXIT_OK && o.json) {
		inspect_write_json(in, &out);
		(void)fwrite(out.data, 1, out.len, stdout);
	} else if (rc == EXIT_OK && (o.html == NULL ||
	    strcmp(o.html, "-") != 0))
		inspect_write_text(in, stdout);
	buf_free(&out);
	inspect_free(in);
	cli_proto_set_free(pset);
	free(o.proto_set);
	if (rc == EXIT_OK && (fflush(stdout) == EOF || ferror(stdout)))
		rc = cli_error(e, EXIT_USAGE, "writing output failed");
	return rc;
}
