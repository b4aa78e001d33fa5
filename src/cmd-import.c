/*
 * cmd-import.c -- `decoy import har FILE -o SNAP [--dir in|out]` turns a
 * HAR 1.2 file (browser developer tools, proxies) into a snapshot;
 * `decoy import pcap FILE -o SNAP [--port N]...` a packet capture
 * (pcapimport.h).
 *
 * The whole HAR file is read into memory and decoded by har.c before the
 * snapshot is written, so a broken HAR leaves no half-written snapshot.
 * A capture is streamed; if it turns out broken part-way, the snapshot
 * begun is removed.
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
#include "pcapimport.h"
#include "snap.h"
#include "xmalloc.h"

static int	cmd_import_exec(int, char **);

struct cmd_import_o {
	const char	*output;
	int		 dir;
	int		 json;
	int		 log_level;
	uint16_t	 ports[64];	/* pcap --port */
	size_t		 nports;
};

/* --port N (repeated): the server ports of a capture. */
static int
import_opt_port(void *base, void *field, const char *arg, char **cause)
{
	struct cmd_import_o	*o = base;

	(void)field;
	if (o->nports == sizeof o->ports / sizeof o->ports[0]) {
		*cause = xasprintf("at most %zu ports",
		    sizeof o->ports / sizeof o->ports[0]);
		return -1;
	}
	return cli_port_parse(arg, &o->ports[o->nports++], cause);
}

static const struct opt cmd_import_opts[] = {
	{ "output", 'o', OPT_PATH, "SNAP", "snapshot to write, - for stdout\n"
	  "(replaced if it exists)", OPT_AT(struct cmd_import_o, output) },
	{ "dir", 0, OPT_ENUM, "in|out", "direction of the transactions\n"
	  "(default out: calls to dependencies;\nan entry decoy exported "
	  "keeps its own)", OPT_AT(struct cmd_import_o, dir),
	  .choices = cli_dir_choices },
	{ "port", 0, OPT_CALL, "N", "pcap: the server port of the service\n"
	  "(repeat for several; default: every TCP\nflow, the SYN's receiver "
	  "as server)", .call = import_opt_port, .flags = OPT_ARG },
	{ "json", 0, OPT_FLAG, NULL, "print the summary as one JSON object "
	  "on\nstdout (not with an output on stdout)",
	  OPT_AT(struct cmd_import_o, json) },
	CLI_OPTS_LOG(struct cmd_import_o),
	OPT_END_ROW,
};

const struct cmd_entry cmd_import_entry = {
	.name = "import",
	.args = "har|pcap FILE -o SNAP [--dir in|out] [--port N]... [--json]",
	.summary = "convert a HAR 1.2 file or a packet capture into a snapshot",
	.intro = "  har FILE                  HAR file to read, - for stdin\n"
	    "  pcap FILE                 pcap or pcapng capture to read (tcpdump,\n"
	    "                            tshark), - for stdin\n",
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

/* The summary of a capture import, on stderr or as JSON on stdout. */
static int
import_pcap_summary(const struct pcapimport_stats *st, const char *label,
    const char *output, int json)
{
	struct buf	b;
	int		rc = 0;

	if (!json) {
		fprintf(stderr, "%llu transactions imported from %s (%s: %llu "
		    "packets, %llu TCP flows, %llu retransmitted and %llu "
		    "out-of-order segments, %llu with a gap, %llu unanswered)\n",
		    (unsigned long long)st->transactions, label, st->format,
		    (unsigned long long)st->packets,
		    (unsigned long long)st->tcp.flows,
		    (unsigned long long)st->tcp.retransmits,
		    (unsigned long long)st->tcp.out_of_order,
		    (unsigned long long)st->gap_txns,
		    (unsigned long long)st->unanswered);
		return 0;
	}
	buf_init(&b);
	buf_printf(&b, "{\"transactions\":%llu,\"snapshot\":",
	    (unsigned long long)st->transactions);
	json_append_string(&b, output, strlen(output));
	buf_printf(&b, ",\"format\":\"%s\",\"packets\":%llu,"
	    "\"not_ip\":%llu,\"not_tcp\":%llu,\"ignored\":%llu,"
	    "\"flows\":%llu,\"segments\":%llu,\"retransmits\":%llu,"
	    "\"out_of_order\":%llu,\"gaps\":%llu,\"gap_bytes\":%llu,"
	    "\"gap_transactions\":%llu,\"unanswered\":%llu,"
	    "\"parse_errors\":%llu,\"orphan_responses\":%llu}\n",
	    st->format, (unsigned long long)st->packets,
	    (unsigned long long)st->not_ip, (unsigned long long)st->not_tcp,
	    (unsigned long long)st->ignored, (unsigned long long)st->tcp.flows,
	    (unsigned long long)st->tcp.segments,
	    (unsigned long long)st->tcp.retransmits,
	    (unsigned long long)st->tcp.out_of_order,
	    (unsigned long long)st->tcp.gaps,
	    (unsigned long long)st->tcp.gap_bytes,
	    (unsigned long long)st->gap_txns,
	    (unsigned long long)st->unanswered,
	    (unsigned long long)st->http.parse_errors,
	    (unsigned long long)st->http.orphan_responses);
	if (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout) == EOF)
		rc = -1;
	buf_free(&b);
	return rc;
}

/* `decoy import pcap PATH`: streams the capture into output. */
static int
import_pcap(const struct cmd_entry *e, const char *path, const char *output,
    const struct pcapimport_config *cfg, int json)
{
	struct pcapimport_stats	 st;
	struct snap_out		 out;
	const char		*label;
	char			*cause = NULL, *cause2 = NULL;
	int			 rc, status;

	label = strcmp(path, "-") == 0 ? "<stdin>" : path;
	if (snap_out_open(&out, output, 0, &cause) == -1) {
		status = cli_error(e, EXIT_USAGE, "%s", cause);
		free(cause);
		return status;
	}
	rc = pcapimport_run(path, cfg, &out, &st, &cause);
	if (snap_out_close(&out, rc == 0 ? &cause : &cause2) == -1)
		rc = -1;
	free(cause2);
	if (rc == -1) {
		/* Never leave a snapshot of part of a broken capture. */
		if (strcmp(output, "-") != 0)
			unlink(output);
		status = cli_error(e, EXIT_USAGE, "%s", cause);
		free(cause);
		return status;
	}
	if (import_pcap_summary(&st, label, output, json) == -1)
		return cli_error(e, EXIT_USAGE, "writing output failed");
	return EXIT_OK;
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
	struct pcapimport_config pcfg;
	size_t			 n = 0, i;
	int			 ind, status, json;

	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &status) == -1)
		return status;
	cli_log_init(e, o.log_level);
	output = o.output;
	dir = (enum snap_dir)o.dir;
	json = o.json;
	memset(&pcfg, 0, sizeof pcfg);
	pcfg.ports = o.ports;
	pcfg.nports = o.nports;
	if (argc - ind < 1)
		return cli_usage(e, "no format given (har or pcap)");
	format = argv[ind];
	if (strcmp(format, "har") != 0 && strcmp(format, "pcap") != 0)
		return cli_usage(e, "unknown format \"%s\" (har or pcap)",
		    format);
	if (argc - ind != 2)
		return cli_usage(e, argc - ind < 2 ? "no %s file given" :
		    "one %s file at a time", format);
	path = argv[ind + 1];
	if (output == NULL)
		return cli_usage(e, "no output given (-o SNAP)");
	if (strcmp(output, "-") != 0 && strcmp(output, path) == 0)
		return cli_usage(e, "%s would overwrite the %s file", output,
		    format);
	if (json && strcmp(output, "-") == 0)
		return cli_usage(e, "--json prints on stdout: write the "
		    "snapshot to a file");
	if (strcmp(format, "pcap") == 0) {
		pcfg.dir = dir;
		return import_pcap(e, path, output, &pcfg, json);
	}
	if (pcfg.nports > 0)
		return cli_usage(e, "--port goes with pcap");

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
