/*
 * cmd-export.c -- `decoy export har SNAP -o FILE`: writes a snapshot as a
 * HAR 1.2 file that browser developer tools and HAR viewers open.
 *
 * The snapshot is streamed: each transaction becomes one HAR entry and the
 * output is written in 64 KiB pieces, so memory does not grow with the
 * snapshot.  On error a partly written FILE is removed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "har.h"
#include "json.h"
#include "log.h"
#include "opt.h"
#include "snap.h"
#include "xmalloc.h"

static int	cmd_export_exec(int, char **);

struct cmd_export_o {
	const char	*output;
	int		 json;
	int		 log_level;
	const char	*proto_set;
};

static const struct opt cmd_export_opts[] = {
	{ "output", 'o', OPT_PATH, NULL, "HAR file to write, - for stdout\n"
	  "(replaced if it exists)", OPT_AT(struct cmd_export_o, output) },
	CLI_OPT_JSON_SUMMARY(struct cmd_export_o),
	CLI_OPT_PROTO_SET(struct cmd_export_o, proto_set),
	CLI_OPTS_LOG(struct cmd_export_o),
	OPT_END_ROW,
};

const struct cmd_entry cmd_export_entry = {
	.name = "export",
	.args = "har SNAP -o FILE [--json]",
	.summary = "convert a snapshot into a HAR 1.2 file",
	.intro = "  har SNAP                  snapshot to read, - for stdin\n",
	.opts = cmd_export_opts,
	.exec = cmd_export_exec,
};

/* Writes and empties b.  Returns 0 or -1 + cause. */
static int
export_flush(int fd, const char *name, struct buf *b, char **cause)
{
	size_t	off = 0;
	ssize_t	n;

	while (off < b->len) {
		n = write(fd, b->data + off, b->len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*cause = xasprintf("%s: %s", name, strerror(errno));
			return -1;
		}
		off += (size_t)n;
	}
	buf_reset(b);
	return 0;
}


/* The summary as one JSON line on stdout: {"transactions":N,KEY:FILE}. */
static int
export_json(size_t n, const char *key, const char *file)
{
	struct buf	b;

	buf_init(&b);
	buf_printf(&b, "{\"transactions\":%zu,\"%s\":", n, key);
	json_append_string(&b, file, strlen(file));
	buf_append_str(&b, "}\n");
	return cli_put(&b);
}

static int
cmd_export_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_export_entry;
	struct snap_reader	*r = NULL;
	struct snap_txn		 t;
	struct buf		 out;
	struct protodesc	*pset = NULL;
	const char		*output = NULL, *format, *path, *name;
	char			*cause = NULL;
	size_t			 n = 0;
	struct cmd_export_o	 o = { .log_level = LOG_LEVEL_INFO };
	int			 ind, fd = -1, rc, status, json;

	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &status) == -1)
		return status;
	cli_log_init(e, o.log_level);
	output = o.output;
	json = o.json;
	if (argc - ind < 1)
		return cli_usage(e, "no format given (har)");
	format = argv[ind];
	if (strcmp(format, "har") != 0)
		return cli_usage(e, "unknown format \"%s\" (har)", format);
	if (argc - ind != 2)
		return cli_usage(e, argc - ind < 2 ? "no snapshot given" :
		    "one snapshot at a time");
	path = argv[ind + 1];
	if (output == NULL)
		return cli_usage(e, "no output given (-o FILE)");
	if (strcmp(output, "-") != 0 && strcmp(output, path) == 0)
		return cli_usage(e, "%s would overwrite the snapshot", output);
	if (json && strcmp(output, "-") == 0)
		return cli_usage(e, "--json prints on stdout: write the HAR "
		    "to a file");

	buf_init(&out);
	if (cli_proto_set(o.proto_set, &pset, &cause) == -1 ||
	    (r = snap_reader_open(path, &cause)) == NULL)
		goto fail;
	name = strcmp(output, "-") == 0 ? "<stdout>" : output;
	if (strcmp(output, "-") == 0)
		fd = STDOUT_FILENO;
	else if ((fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		cause = xasprintf("%s: %s", output, strerror(errno));
		goto fail;
	}
	har_export_begin(&out);
	while ((rc = snap_reader_next(r, &t, &cause)) == 1) {
		har_export_entry(&out, &t, n++);
		snap_txn_free(&t);
		if (out.len >= 65536 &&
		    export_flush(fd, name, &out, &cause) == -1)
			goto fail;
	}
	if (rc == -1)
		goto fail;
	har_export_end(&out);
	if (export_flush(fd, name, &out, &cause) == -1)
		goto fail;
	if (fd != STDOUT_FILENO && close(fd) == -1) {
		fd = -1;
		cause = xasprintf("%s: %s", output, strerror(errno));
		goto fail;
	}
	snap_reader_close(r);
	cli_proto_set_free(pset);
	buf_free(&out);
	if (json) {
		if (export_json(n, "har", output) == -1)
			return cli_error(e, EXIT_USAGE, "writing output "
			    "failed");
	} else
		fprintf(stderr, "%zu transactions exported to %s\n", n,
		    name);
	return EXIT_OK;

fail:
	status = cli_error(e, EXIT_USAGE, "%s", cause);
	free(cause);
	snap_reader_close(r);
	cli_proto_set_free(pset);
	buf_free(&out);
	if (fd != -1 && fd != STDOUT_FILENO)
		close(fd);
	if (strcmp(output, "-") != 0 && fd != -1)
		unlink(output);
	return status;
}
