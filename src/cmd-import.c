/*
 * cmd-import.c -- `decoy import har FILE -o SNAP [--dir in|out]` turns a
 * HAR 1.2 file (browser developer tools, proxies) into a snapshot;
 * `decoy import pcap FILE -o SNAP [--port N]...` a packet capture
 * (pcapimport.h); `decoy import wiremock DIR -o SNAP [--rules FILE]`
 * WireMock's stub mappings (wiremock.h).  har and pcap pass each
 * transaction through the capture funnel (funnel.h: --include-host ...
 * --dedup) and count what it dropped in their summary.
 *
 * The whole HAR file is read into memory and decoded by har.c before the
 * snapshot is written, so a broken HAR leaves no half-written snapshot.
 * A capture is streamed; if it turns out broken part-way, the snapshot
 * begun is removed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "cli-funnel.h"
#include "har.h"
#include "json.h"
#include "log.h"
#include "opt.h"
#include "pcapimport.h"
#include "rule.h"
#include "snap.h"
#include "wiremock.h"
#include "xmalloc.h"

static int	cmd_import_exec(int, char **);

struct cmd_import_o {
	const char	*output;
	int		 dir;
	int		 json;
	int		 log_level;
	uint16_t	 ports[64];	/* pcap --port */
	size_t		 nports;
	const char	*rules;		/* wiremock --rules */
	struct funnel_config funnel;	/* har, pcap */
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
	{ "rules", 0, OPT_PATH, "FILE", "wiremock: the rule file for what "
	  "the\nsnapshot cannot say (patterns, header\nand body matchers, "
	  "delays, faults)", OPT_AT(struct cmd_import_o, rules) },
	CLI_OPT_JSON_SUMMARY(struct cmd_import_o),
	CLI_OPTS_FUNNEL(struct cmd_import_o, funnel),
	CLI_OPTS_LOG(struct cmd_import_o),
	OPT_END_ROW,
};

const struct cmd_entry cmd_import_entry = {
	.name = "import",
	.args = "har|pcap|wiremock FILE -o SNAP [--dir in|out] [--port N]... "
	    "[--rules FILE] [--json]\n"
	    "       [funnel options]",
	.summary = "convert a HAR 1.2 file, a packet capture or WireMock "
	    "mappings into a snapshot",
	.intro = "  har FILE                  HAR file to read, - for stdin\n"
	    "  pcap FILE                 pcap or pcapng capture to read (tcpdump,\n"
	    "                            tshark), - for stdin\n"
	    "  wiremock DIR              WireMock root: DIR/mappings/*.json and\n"
	    "                            DIR/__files (exit 1 if a mapping or a\n"
	    "                            part of one could not be imported)\n",
	.opts = cmd_import_opts,
	.exec = cmd_import_exec,
};

/* Gives an output up: closes w if it is open (its error is moot) and
 * removes output, unless it is stdout. */
static void
import_discard(struct snap_writer *w, const char *output)
{
	char	*cause = NULL;

	if (w != NULL && snap_writer_close(w, &cause) == -1)
		free(cause);
	if (strcmp(output, "-") != 0)
		unlink(output);
}

/*
 * The summary as one JSON line on stdout: import_json_begin() starts it
 * in b, {"transactions":N,"snapshot":FILE; the caller may add members;
 * import_json_end() adds "funnel":{...}, writes the line and frees b
 * (0, or -1 when stdout fails).
 */
static void
import_json_begin(struct buf *b, uint64_t n, const char *output)
{
	buf_init(b);
	buf_printf(b, "{\"transactions\":%llu,\"snapshot\":",
	    (unsigned long long)n);
	json_append_string(b, output, strlen(output));
}

static int
import_json_end(struct buf *b, const struct funnel *fn)
{
	buf_append_str(b, ",\"funnel\":");
	funnel_stats_json(b, funnel_stats(fn));
	buf_append_str(b, "}\n");
	return cli_put(b);
}

/* Ends a summary line on stderr: what the funnel dropped, if it is set. */
static void
import_funnel_note(const struct funnel *fn, int set)
{
	struct buf	b;

	if (set) {
		buf_init(&b);
		funnel_stats_text(&b, funnel_stats(fn));
		fprintf(stderr, "; funnel: %.*s", (int)b.len, b.data);
		buf_free(&b);
	}
	fputc('\n', stderr);
}

/* The summary of a capture import, on stderr or as JSON on stdout. */
static int
import_pcap_summary(const struct pcapimport_stats *st, const char *label,
    const char *output, int json, const struct funnel *fn, int funnel_set)
{
	struct buf	b;

	if (!json) {
		fprintf(stderr, "%llu transactions imported from %s (%s: %llu "
		    "packets, %llu TCP flows, %llu retransmitted and %llu "
		    "out-of-order segments, %llu with a gap, %llu unanswered)",
		    (unsigned long long)st->transactions, label, st->format,
		    (unsigned long long)st->packets,
		    (unsigned long long)st->tcp.flows,
		    (unsigned long long)st->tcp.retransmits,
		    (unsigned long long)st->tcp.out_of_order,
		    (unsigned long long)st->gap_txns,
		    (unsigned long long)st->unanswered);
		import_funnel_note(fn, funnel_set);
		return 0;
	}
	import_json_begin(&b, st->transactions, output);
	buf_printf(&b, ",\"format\":\"%s\",\"packets\":%llu,"
	    "\"not_ip\":%llu,\"not_tcp\":%llu,\"ignored\":%llu,"
	    "\"flows\":%llu,\"segments\":%llu,\"retransmits\":%llu,"
	    "\"out_of_order\":%llu,\"gaps\":%llu,\"gap_bytes\":%llu,"
	    "\"gap_transactions\":%llu,\"unanswered\":%llu,"
	    "\"parse_errors\":%llu,\"orphan_responses\":%llu",
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
	return import_json_end(&b, fn);
}

/* `decoy import pcap PATH`: streams the capture into output. */
static int
import_pcap(const struct cmd_entry *e, const char *path, const char *output,
    const struct pcapimport_config *cfg, int json, int funnel_set)
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
		import_discard(NULL, output);
		status = cli_error(e, EXIT_USAGE, "%s", cause);
		free(cause);
		return status;
	}
	if (import_pcap_summary(&st, label, output, json, cfg->funnel,
	    funnel_set) == -1)
		return cli_error(e, EXIT_USAGE, "writing output failed");
	return EXIT_OK;
}

/* The wiremock summary and notes: stderr, or one JSON line on stdout. */
static int
import_wiremock_summary(const struct wiremock_out *o, const char *dir,
    const char *output, const char *rules, int json)
{
	struct buf	b;
	size_t		i, skipped = o->mappings - o->imported;

	if (!json) {
		for (i = 0; i < o->nnotes; i++)
			fprintf(stderr, "%s: mapping %s: %s: %s\n",
			    o->notes[i].file, o->notes[i].mapping,
			    o->notes[i].skipped ? "skipped" : "not imported",
			    o->notes[i].what);
		fprintf(stderr, "%zu of %zu mappings imported from %s (%zu "
		    "transactions, %zu rules), %zu skipped\n", o->imported,
		    o->mappings, dir, o->ntxns, o->nrules, skipped);
		if (o->ntxns == 0)
			fprintf(stderr, "the snapshot holds no transaction: "
			    "serve it with decoy respond --allow-empty\n");
		return 0;
	}
	buf_init(&b);
	buf_printf(&b, "{\"mappings\":%zu,\"imported\":%zu,\"skipped\":%zu,"
	    "\"transactions\":%zu,\"rules\":%zu,\"snapshot\":", o->mappings,
	    o->imported, skipped, o->ntxns, o->nrules);
	json_append_string(&b, output, strlen(output));
	buf_append_str(&b, ",\"rules_file\":");
	if (rules != NULL)
		json_append_string(&b, rules, strlen(rules));
	else
		buf_append_str(&b, "null");
	buf_append_str(&b, ",\"notes\":[");
	for (i = 0; i < o->nnotes; i++) {
		buf_append_str(&b, i > 0 ? ",{\"file\":" : "{\"file\":");
		json_append_string(&b, o->notes[i].file,
		    strlen(o->notes[i].file));
		buf_append_str(&b, ",\"mapping\":");
		json_append_string(&b, o->notes[i].mapping,
		    strlen(o->notes[i].mapping));
		buf_printf(&b, ",\"skipped\":%s,\"what\":",
		    o->notes[i].skipped ? "true" : "false");
		json_append_string(&b, o->notes[i].what,
		    strlen(o->notes[i].what));
		buf_append_byte(&b, '}');
	}
	buf_append_str(&b, "]}\n");
	return cli_put(&b);
}

/*
 * `decoy import wiremock DIR`: the rule file is checked by the rule
 * loader before anything is written; exit 1 when a note was made.
 */
static int
import_wiremock(const struct cmd_entry *e, const char *dir,
    const char *output, const char *rules, int json)
{
	struct wiremock		*w;
	struct wiremock_out	 o;
	struct rule_set		*rs;
	struct snap_writer	*sw = NULL;
	char			*cause = NULL;
	size_t			 i;
	int			 status;

	w = wiremock_create(dir);
	if (wiremock_add_dir(w, &cause) == -1) {
		wiremock_free(w);
		status = cli_error(e, EXIT_USAGE, "%s", cause);
		free(cause);
		return status;
	}
	wiremock_finish(w, &o);
	wiremock_free(w);
	if (o.nrules > 0 && rules == NULL) {
		status = cli_usage(e, "%zu stubs need rules (patterns, header "
		    "or body matchers, delays, faults): give --rules FILE",
		    o.nrules);
		wiremock_out_free(&o);
		return status;
	}
	if ((rs = rule_set_parse("generated rules", o.rules, o.rules_len,
	    &cause)) == NULL)
		goto fail;
	rule_set_free(rs);
	if ((sw = snap_writer_open(output, 0, &cause)) == NULL)
		goto fail;
	for (i = 0; i < o.ntxns; i++)
		if (snap_writer_write(sw, &o.txns[i], &cause) == -1)
			goto fail;
	status = snap_writer_close(sw, &cause);
	sw = NULL;
	if (status == -1 || (rules != NULL && buf_write_file(rules, o.rules,
	    o.rules_len, 0600, &cause) == -1)) {
		/* Not one file without the other. */
		import_discard(NULL, output);
		goto fail;
	}
	status = o.nnotes > 0 ? EXIT_FAILED : EXIT_OK;
	if (import_wiremock_summary(&o, dir, output, rules, json) == -1)
		status = cli_error(e, EXIT_USAGE, "writing output failed");
	wiremock_out_free(&o);
	return status;

fail:
	status = cli_error(e, EXIT_USAGE, "%s", cause);
	free(cause);
	if (sw != NULL)
		import_discard(sw, output);
	wiremock_out_free(&o);
	return status;
}

/* `decoy import har PATH`: the transactions the funnel keeps. */
static int
import_har(const struct cmd_entry *e, const char *path, const char *output,
    enum snap_dir dir, int json, struct funnel *fn, int funnel_set)
{
	struct snap_writer	*w = NULL;
	struct snap_txn		*txns = NULL;
	struct buf		 js;
	const char		*label;
	char			*cause = NULL, *text;
	size_t			 n = 0, i, kept = 0, len;
	int			 status;

	label = strcmp(path, "-") == 0 ? "<stdin>" : path;
	if ((text = cli_read_file(path, SIZE_MAX, &len, &cause)) == NULL ||
	    har_import(label, text, len, dir, &txns, &n, &cause) == -1) {
		free(text);
		status = cli_error(e, EXIT_USAGE, "%s", cause);
		free(cause);
		return status;
	}
	free(text);

	if ((w = snap_writer_open(output, 0, &cause)) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		if (funnel_decide(fn, &txns[i]) != FUNNEL_KEPT)
			continue;
		kept++;
		if (snap_writer_write(w, &txns[i], &cause) == -1)
			goto fail;
	}
	status = snap_writer_close(w, &cause);
	w = NULL;
	if (status == -1)
		goto fail;
	har_txns_free(txns, n);
	if (json) {
		import_json_begin(&js, kept, output);
		if (import_json_end(&js, fn) == -1)
			return cli_error(e, EXIT_USAGE, "writing output "
			    "failed");
	} else {
		fprintf(stderr, "%zu transactions imported from %s", kept,
		    label);
		import_funnel_note(fn, funnel_set);
	}
	return EXIT_OK;

fail:
	status = cli_error(e, EXIT_USAGE, "%s", cause);
	free(cause);
	import_discard(w, output);
	har_txns_free(txns, n);
	return status;
}

/* After the options: the operands checked, then the import. */
static int
import_main(const struct cmd_entry *e, const struct cmd_import_o *o,
    struct funnel *fn, int argc, char **argv)
{
	struct pcapimport_config pcfg;
	const char		*format, *path, *output = o->output;
	const char		*rules = o->rules;
	int			 set = funnel_config_is_set(&o->funnel);

	if (argc < 1)
		return cli_usage(e, "no format given (har, pcap or wiremock)");
	format = argv[0];
	if (strcmp(format, "har") != 0 && strcmp(format, "pcap") != 0 &&
	    strcmp(format, "wiremock") != 0)
		return cli_usage(e, "unknown format \"%s\" (har, pcap or "
		    "wiremock)", format);
	if (argc != 2)
		return cli_usage(e, argc < 2 ? "no %s file given" :
		    "one %s file at a time", format);
	path = argv[1];
	if (output == NULL)
		return cli_usage(e, "no output given (-o SNAP)");
	if (strcmp(output, "-") != 0 && strcmp(output, path) == 0)
		return cli_usage(e, "%s would overwrite the %s file", output,
		    format);
	if (o->json && strcmp(output, "-") == 0)
		return cli_usage(e, "--json prints on stdout: write the "
		    "snapshot to a file");
	if (rules != NULL && (strcmp(format, "wiremock") != 0 ||
	    strcmp(rules, output) == 0))
		return cli_usage(e, strcmp(format, "wiremock") != 0 ?
		    "--rules goes with wiremock" : "--rules and -o name the "
		    "same file");
	if (strcmp(format, "pcap") == 0) {
		memset(&pcfg, 0, sizeof pcfg);
		pcfg.ports = o->ports;
		pcfg.nports = o->nports;
		pcfg.dir = (enum snap_dir)o->dir;
		pcfg.funnel = fn;
		return import_pcap(e, path, output, &pcfg, o->json, set);
	}
	if (o->nports > 0)
		return cli_usage(e, "--port goes with pcap");
	if (strcmp(format, "wiremock") == 0 && set)
		return cli_usage(e, "the funnel options go with har and pcap");
	if (strcmp(format, "wiremock") == 0 && o->dir == SNAP_DIR_IN)
		return cli_usage(e, "--dir in: WireMock stubs are dir out");
	if (strcmp(format, "wiremock") == 0)
		return import_wiremock(e, path, output, rules, o->json);
	return import_har(e, path, output, (enum snap_dir)o->dir, o->json,
	    fn, set);
}

static int
cmd_import_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_import_entry;
	struct cmd_import_o	 o = { .dir = SNAP_DIR_OUT,
				     .log_level = LOG_LEVEL_INFO };
	struct funnel		*fn;
	char			*cause = NULL;
	int			 ind, status;

	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &status) == -1) {
		funnel_config_free(&o.funnel);
		return status;
	}
	cli_log_init(e, o.log_level);
	if ((fn = funnel_create(&o.funnel, &cause)) == NULL) {
		status = cli_usage(e, "%s", cause);
		free(cause);
	} else
		status = import_main(e, &o, fn, argc - ind, argv + ind);
	funnel_free(fn);
	funnel_config_free(&o.funnel);
	return status;
}
