/*
 * cmd-split.c -- `decoy split SNAP --in FILE --out FILE`: cut a snapshot
 * into its inbound half (for the generator) and its outbound half (for
 * the responder).
 *
 * Every transaction is re-encoded through snap_encode(), so the outputs
 * are canonical and members this version does not know survive.  Output
 * files are replaced, not appended to; if the snapshot turns out to be
 * broken half way, the outputs written so far are removed so that a
 * failed split never leaves a plausible-looking half file behind.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "json.h"
#include "log.h"
#include "opt.h"
#include "snap.h"
#include "snap-ids.h"
#include "xmalloc.h"

static int	cmd_split_exec(int, char **);

struct cmd_split_o {
	const char	*files[2];	/* by enum snap_dir */
	int		 json;
	int		 log_level;
	const char	*proto_set;
};

static const struct opt cmd_split_opts[] = {
	{ "in", 0, OPT_PATH, NULL, "write the dir:in transactions to FILE",
	  OPT_AT(struct cmd_split_o, files[SNAP_DIR_IN]), .aliases = "-i" },
	{ "out", 'o', OPT_PATH, NULL, "write the dir:out transactions to "
	  "FILE\n(at least one of --in and --out; - is stdout;\nFILE is "
	  "replaced)", OPT_AT(struct cmd_split_o, files[SNAP_DIR_OUT]) },
	CLI_OPT_JSON_SUMMARY(struct cmd_split_o),
	CLI_OPT_PROTO_SET(struct cmd_split_o, proto_set),
	CLI_OPTS_LOG(struct cmd_split_o),
	OPT_END_ROW,
};

const struct cmd_entry cmd_split_entry = {
	.name = "split",
	.args = "SNAP [--in FILE] [--out FILE] [--json]",
	.summary = "split a snapshot into its inbound and outbound halves",
	.intro = "  SNAP                      snapshot file, - for stdin\n",
	.opts = cmd_split_opts,
	.exec = cmd_split_exec,
};

/* True if both name the same existing file. */
static int
split_same_file(const char *a, const char *b)
{
	struct stat	sa, sb;

	if (strcmp(a, "-") == 0 || strcmp(b, "-") == 0)
		return 0;
	if (stat(a, &sa) == -1 || stat(b, &sb) == -1)
		return 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Gives t an id no earlier transaction of the output has (t->id may be
 * NULL: a transaction without an id keeps none). */
static int
split_unique_id(struct snap_ids *ids, struct snap_txn *t)
{
	const char	*id;
	char		*fresh;

	if (t->id == NULL)
		return 0;
	id = snap_ids_unique(ids, t->id, &fresh);
	if (fresh != NULL) {
		free(t->id);
		t->id = fresh;
	}
	(void)id;
	return 0;
}

static int
cmd_split_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_split_entry;
	struct snap_reader	*r = NULL;
	struct snap_writer	*w[2] = { NULL, NULL };	/* by enum snap_dir */
	const char		*path, *files[2] = { NULL, NULL };
	struct snap_txn		 t;
	char			*cause = NULL;
	size_t			 counts[2] = { 0, 0 };
	int			 opened[2] = { 0, 0 };
	struct cmd_split_o	 o = { .log_level = LOG_LEVEL_INFO };
	int			 ind, i, rc, status, json;
	struct buf		 b;
	struct snap_ids		*ids = NULL;
	struct protodesc	*pset = NULL;
	size_t			 renamed = 0;

	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &status) == -1)
		return status;
	cli_log_init(e, o.log_level);
	files[SNAP_DIR_IN] = o.files[SNAP_DIR_IN];
	files[SNAP_DIR_OUT] = o.files[SNAP_DIR_OUT];
	json = o.json;
	if (argc - ind != 1)
		return cli_usage(e, argc - ind == 0 ? "no snapshot given" :
		    "one snapshot at a time");
	path = argv[ind];
	if (files[SNAP_DIR_IN] == NULL && files[SNAP_DIR_OUT] == NULL)
		return cli_usage(e, "give --in FILE, --out FILE or both");
	if (json && ((files[0] != NULL && strcmp(files[0], "-") == 0) ||
	    (files[1] != NULL && strcmp(files[1], "-") == 0)))
		return cli_usage(e, "--json prints on stdout: write the halves "
		    "to files");
	if (files[SNAP_DIR_IN] != NULL && files[SNAP_DIR_OUT] != NULL &&
	    strcmp(files[SNAP_DIR_IN], files[SNAP_DIR_OUT]) == 0)
		return cli_usage(e, "--in and --out name the same file");
	for (i = 0; i < 2; i++) {
		if (files[i] != NULL && strcmp(files[i], "-") != 0 &&
		    (strcmp(files[i], path) == 0 ||
		    split_same_file(files[i], path)))
			return cli_usage(e, "%s would overwrite the snapshot",
			    files[i]);
	}

	if (cli_proto_set(o.proto_set, &pset, &cause) == -1 ||
	    (r = snap_reader_open(path, &cause)) == NULL)
		goto fail;
	for (i = 0; i < 2; i++) {
		if (files[i] == NULL)
			continue;
		if ((w[i] = snap_writer_open(files[i], 0, &cause)) == NULL)
			goto fail;
		opened[i] = strcmp(files[i], "-") != 0;
	}
	ids = snap_ids_create();
	while ((rc = snap_reader_next(r, &t, &cause)) == 1) {
		counts[t.dir]++;
		if (split_unique_id(ids, &t) == -1 || (w[t.dir] != NULL &&
		    snap_writer_write(w[t.dir], &t, &cause) == -1)) {
			snap_txn_free(&t);
			goto fail;
		}
		snap_txn_free(&t);
	}
	renamed = snap_ids_renamed(ids);
	snap_ids_free(ids);
	ids = NULL;
	if (rc == -1)
		goto fail;
	for (i = 0; i < 2; i++) {
		rc = snap_writer_close(w[i], &cause);
		w[i] = NULL;
		if (rc == -1)
			goto fail;
	}
	snap_reader_close(r);
	cli_proto_set_free(pset);
	if (json) {
		buf_init(&b);
		buf_printf(&b, "{\"in\":%zu,\"out\":%zu,\"renamed_ids\":%zu,"
		    "\"in_file\":", counts[SNAP_DIR_IN], counts[SNAP_DIR_OUT],
		    renamed);
		for (i = SNAP_DIR_IN; i >= SNAP_DIR_OUT; i--) {
			if (i == SNAP_DIR_OUT)
				buf_append_str(&b, ",\"out_file\":");
			if (files[i] != NULL)
				json_append_string(&b, files[i],
				    strlen(files[i]));
			else
				buf_append_str(&b, "null");
		}
		buf_append_str(&b, "}\n");
		if (cli_put(&b) == -1)
			return cli_error(e, EXIT_USAGE, "writing output "
			    "failed");
	} else if (renamed > 0)
		fprintf(stderr, "%zu in, %zu out (%zu repeated id%s renamed "
		    "ID~N)\n", counts[SNAP_DIR_IN], counts[SNAP_DIR_OUT], renamed,
		    renamed == 1 ? "" : "s");
	else
		fprintf(stderr, "%zu in, %zu out\n", counts[SNAP_DIR_IN],
		    counts[SNAP_DIR_OUT]);
	return EXIT_OK;

fail:
	status = cli_error(e, EXIT_USAGE, "%s", cause);
	free(cause);
	snap_ids_free(ids);
	snap_reader_close(r);
	cli_proto_set_free(pset);
	for (i = 0; i < 2; i++) {
		cause = NULL;
		if (snap_writer_close(w[i], &cause) == -1)
			free(cause);
		/* Only files this run has replaced. */
		if (opened[i])
			unlink(files[i]);
	}
	return status;
}
