/*
 * cmd-import.c -- `decoy import har FILE -o SNAP [--dir in|out]`: turns a
 * HAR 1.2 file (browser developer tools, proxies) into a snapshot.
 *
 * The whole HAR file is read into memory and decoded by har.c before the
 * snapshot is written, so a broken HAR leaves no half-written snapshot.
 * `decoy import pcap` is reserved (DESIGN.md section 7) and refuses.
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

static int	cmd_import_exec(int, char **);

struct cmd_import_o {
	const char	*output;
	int		 dir;
	int		 json;
	int		 log_level;
};

static const struct opt cmd_import_opts[] = {
	{ "output", 'o', OPT_PATH, "SNAP", "snapshot to write, - for stdout\n"
	  "(replaced if it exists)", OPT_AT(struct cmd_import_o, output) },
	{ "dir", 0, OPT_ENUM, "in|out", "direction of the transactions\n"
	  "(default out: calls to dependencies;\nan entry decoy exported "
	  "keeps its own)", OPT_AT(struct cmd_import_o, dir),
	  .choices = cli_dir_choices },
	{ "json", 0, OPT_FLAG, NULL, "print the summary as one JSON object "
	  "on\nstdout (not with an output on stdout)",
	  OPT_AT(struct cmd_import_o, json) },
	CLI_OPTS_LOG(struct cmd_import_o),
	OPT_END_ROW,
};

const struct cmd_entry cmd_import_entry = {
	.name = "import",
	.args = "har FILE -o SNAP [--dir in|out] [--json]",
	.summary = "convert a HAR 1.2 file into a snapshot",
	.intro = "  har FILE                  HAR file to read, - for stdin\n",
	.opts = cmd_import_opts,
	.exec = cmd_import_exec,
};

/* Reads all of path ("-" is stdin) into out.  Returns 0 or -1 + cause. */
static int
import_read_file(const char *path, struct buf *out, char **cause)
{
	ssize_t	n;
	int	fd;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		buf_reserve(out, 65536);
		n = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*cause = xasprintf("%s: %s", path, strerror(errno));
			if (fd != STDIN_FILENO)
				close(fd);
			return -1;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
	}
	if (fd != STDIN_FILENO)
		close(fd);
	return 0;
}


/* The summary as one JSON line on stdout: {"transactions":N,KEY:FILE}. */
static int
import_json(size_t n, const char *key, const char *file)
{
	struct buf	b;
	int		rc = 0;

	buf_init(&b);
	buf_printf(&b, "{\"transactions\":%zu,\"%s\":", n, key);
	json_append_string(&b, file, strlen(file));
	buf_append_str(&b, "}\n");
	if (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) == EOF)
		rc = -1;
	buf_free(&b);
	return rc;
}

static int
cmd_import_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_import_entry;
	struct snap_writer	*w = NULL;
	struct snap_txn		*txns = NULL;
	struct buf		 in;
	struct cmd_import_o	 o = { .dir = SNAP_DIR_OUT,
				     .log_level = LOG_LEVEL_INFO };
	enum snap_dir		 dir;
	const char		*output = NULL, *format, *path, *label;
	char			*cause = NULL;
	size_t			 n = 0, i;
	int			 ind, status, json;

	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &status) == -1)
		return status;
	cli_log_init(e, o.log_level);
	output = o.output;
	dir = (enum snap_dir)o.dir;
	json = o.json;
	if (argc - ind < 1)
		return cli_usage(e, "no format given (har)");
	format = argv[ind];
	if (strcmp(format, "pcap") == 0)
		return cli_error(e, EXIT_USAGE, "pcap: not implemented yet");
	if (strcmp(format, "har") != 0)
		return cli_usage(e, "unknown format \"%s\" (har)", format);
	if (argc - ind != 2)
		return cli_usage(e, argc - ind < 2 ? "no HAR file given" :
		    "one HAR file at a time");
	path = argv[ind + 1];
	if (output == NULL)
		return cli_usage(e, "no output given (-o SNAP)");
	if (strcmp(output, "-") != 0 && strcmp(output, path) == 0)
		return cli_usage(e, "%s would overwrite the HAR file", output);
	if (json && strcmp(output, "-") == 0)
		return cli_usage(e, "--json prints on stdout: write the "
		    "snapshot to a file");

	buf_init(&in);
	label = strcmp(path, "-") == 0 ? "<stdin>" : path;
	if (import_read_file(path, &in, &cause) == -1 ||
	    har_import(label, in.data == NULL ? "" : in.data, in.len, dir,
	    &txns, &n, &cause) == -1) {
		buf_free(&in);
		status = cli_error(e, EXIT_USAGE, "%s", cause);
		free(cause);
		return status;
	}
	buf_free(&in);

	if ((w = snap_writer_open(output, 0, &cause)) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		if (snap_writer_write(w, &txns[i], &cause) == -1)
			goto fail;
	}
	status = snap_writer_close(w, &cause);
	w = NULL;
	if (status == -1)
		goto fail;
	har_txns_free(txns, n);
	if (json) {
		if (import_json(n, "snapshot", output) == -1)
			return cli_error(e, EXIT_USAGE, "writing output "
			    "failed");
	} else
		fprintf(stderr, "%zu transactions imported from %s\n", n,
		    label);
	return EXIT_OK;

fail:
	status = cli_error(e, EXIT_USAGE, "%s", cause);
	free(cause);
	cause = NULL;
	if (w != NULL && snap_writer_close(w, &cause) == -1)
		free(cause);
	if (strcmp(output, "-") != 0)
		unlink(output);
	har_txns_free(txns, n);
	return status;
}
