/*
 * cmd-record.c -- `decoy record --upstream URL --listen ADDR -o SNAP`,
 * `decoy record --proxy ADDR -o SNAP` and `decoy record --transparent ADDR
 * -o SNAP`: record a service's traffic through a reverse, a forward or a
 * transparent proxy (record.h).
 */
#include "config.h"

#include <linux/capability.h>

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli-funnel.h"
#include "log.h"
#include "opt.h"
#include "priv.h"
#include "record.h"
#include "sock.h"
#include "units.h"
#include "xmalloc.h"

static int	cmd_record_exec(int, char **);

struct cmd_record_o {
	struct record_config	cfg;
	struct priv_user	user;
	struct funnel_config	funnel;
	int			has_mark;
	int			log_level;
	char			*proto_set;
};

#define CMD_RECORD_AT(m)	OPT_AT(struct cmd_record_o, cfg.m)

static int
cmd_record_fsync(void *base, void *field, const char *arg, char **cause)
{
	if (record_parse_fsync(arg, field) == -1) {
		*cause = xasprintf("expected never, txn or 1s, got \"%s\"",
		    arg);
		return -1;
	}
	return 0;
}

static int
cmd_record_on_write_error(void *base, void *field, const char *arg,
    char **cause)
{
	if (record_parse_on_write_error(arg, field) == -1) {
		*cause = xasprintf("expected serve or fail, got \"%s\"", arg);
		return -1;
	}
	return 0;
}

static const struct opt cmd_record_opts[] = {
	{ "upstream", 'u', OPT_STRING, "URL",
	  "where requests go: http[s]://HOST[:PORT]",
	  CMD_RECORD_AT(upstream), .flags = OPT_COPY },
	{ "listen", 'l', OPT_ADDR, NULL,
	  "address to accept clients on (port 0 picks one)",
	  CMD_RECORD_AT(listen), .flags = OPT_COPY },
	{ "proxy", 'p', OPT_ADDR, NULL,
	  "be a forward proxy on ADDR instead: absolute-form\n"
	  "http:// requests and CONNECT (intercepted with\n"
	  "decoy's CA, recorded in plaintext, tls true)",
	  CMD_RECORD_AT(proxy), .flags = OPT_COPY },
	{ "ca", 0, OPT_PATH, "DIR",
	  "the CA for interception (default $DECOY_CA_DIR,\n"
	  "else ~/.decoy/ca; `decoy ca init` makes one)",
	  CMD_RECORD_AT(ca_dir), .flags = OPT_COPY },
	{ "no-intercept", 0, OPT_LIST, "HOST",
	  "tunnel CONNECTs to HOST blindly; one opaque entry\n"
	  "(byte counts); repeatable",
	  CMD_RECORD_AT(no_intercept),
	  OPT_NUM(struct cmd_record_o, cfg.nno_intercept) },
	{ "transparent", 0, OPT_ADDR, NULL,
	  "be a transparent proxy on ADDR instead: accept\n"
	  "connections redirected by iptables/nft REDIRECT\n"
	  "(see decoy redirect) and relay each to its original\n"
	  "destination; TLS is tunnelled, not intercepted",
	  CMD_RECORD_AT(transparent), .flags = OPT_COPY, .aliases = "-t" },
	{ "mark", 0, OPT_INT, NULL,
	  "SO_MARK of the upstream connections, so redirect\n"
	  "rules skip them (default 0xdec0 with --transparent;\n"
	  "0: none); needs CAP_NET_ADMIN",
	  CMD_RECORD_AT(mark), OPT_SEEN(struct cmd_record_o, has_mark) },
	CLI_OPT_PROTO_SET(struct cmd_record_o, proto_set),
	{ "output", 'o', OPT_PATH, "SNAP",
	  "snapshot to write (- for stdout); truncated\n"
	  "unless --append; created mode 0600",
	  CMD_RECORD_AT(output), .flags = OPT_COPY },
	{ "svc", 0, OPT_STRING, "NAME",
	  "the dependency's name, stored as \"svc\" in every\n"
	  "transaction (default: the upstream's host)",
	  CMD_RECORD_AT(svc), .flags = OPT_COPY },
	{ "append", 0, OPT_FLAG, NULL,
	  "append to SNAP instead of truncating it (a\n"
	  "torn last line is cut off first, and said)",
	  CMD_RECORD_AT(append), .aliases = "-a" },
	{ "dir", 0, OPT_ENUM, "in|out",
	  "direction recorded: out (default: calls to a\n"
	  "dependency) or in (requests into the service)",
	  CMD_RECORD_AT(dir), .choices = cli_dir_choices, .aliases = "-d" },
	{ "port-file", 0, OPT_PATH, NULL,
	  "write the bound port to FILE",
	  CMD_RECORD_AT(port_file), .flags = OPT_COPY },
	{ "ca-file", 0, OPT_PATH, NULL,
	  "verify https upstreams against the CAs in FILE",
	  CMD_RECORD_AT(upstream_ca), .flags = OPT_COPY,
	  .aliases = "--upstream-ca" },
	{ "insecure", 0, OPT_FLAG, NULL,
	  "do not verify the upstream's certificate",
	  CMD_RECORD_AT(insecure) },
	{ "no-http2", 0, OPT_FLAG, NULL,
	  "HTTP/1.1 only: neither the h2 preface nor\n"
	  "Upgrade: h2c is taken (by default an h2\n"
	  "client is relayed over h2 to the upstream)",
	  CMD_RECORD_AT(no_http2) },
	{ "upstream-timeout", 0, OPT_DURATION, NULL,
	  "an exchange in which nothing moves for D (30s):\n"
	  "504 (or a cut response once it has started)\n"
	  "and an error entry",
	  CMD_RECORD_AT(upstream_timeout_ns), .min = 1 },
	{ "idle-timeout", 0, OPT_DURATION, NULL,
	  "close a client connection idle for D between\n"
	  "exchanges (60s; 0s: never)",
	  CMD_RECORD_AT(idle_timeout_ns) },
	{ "header-timeout", 0, OPT_DURATION, NULL,
	  "a request head must be complete D after its\n"
	  "first byte (the accept, for the first): 408\n"
	  "(10s, as decoy respond)",
	  CMD_RECORD_AT(header_timeout_ns), .min = 1 },
	{ "body-timeout", 0, OPT_DURATION, NULL,
	  "a request body must be complete D after its\n"
	  "head (30s; 0s: no limit) ...",
	  CMD_RECORD_AT(body_timeout_ns) },
	{ "body-min-rate", 0, OPT_CALL, "SIZE",
	  "... plus 1s per SIZE bytes received (1KiB):\n"
	  "408, the exchange is not recorded",
	  CMD_RECORD_AT(body_min_rate), .call = cli_opt_bps,
	  .flags = OPT_ARG },
	{ "fsync", 0, OPT_CALL, "never|txn|1s",
	  "when the snapshot is flushed to disk (1s); every\n"
	  "line is written whole before the client gets\n"
	  "the last byte of its answer, so a crash loses\n"
	  "no answered exchange",
	  CMD_RECORD_AT(fsync), .call = cmd_record_fsync, .flags = OPT_ARG },
	{ "on-write-error", 0, OPT_CALL, "serve|fail",
	  "when a transaction cannot be stored (a full\n"
	  "disk): serve its client all the same (default)\n"
	  "or answer 503 (a cut connection if the answer\n"
	  "had started); either way it is counted lost\n"
	  "and the exit status is 1",
	  CMD_RECORD_AT(on_write_error), .call = cmd_record_on_write_error,
	  .flags = OPT_ARG },
	{ "stats", 0, OPT_PATH, NULL,
	  "write the counters as JSON to FILE at exit\n"
	  "(transactions, recorded, lost, write_error...)",
	  CMD_RECORD_AT(stats_path), .flags = OPT_COPY },
	{ "metrics", 0, OPT_ADDR, NULL,
	  "serve Prometheus metrics at http://ADDR/metrics\n"
	  "(transactions, bytes, upstream errors, lost,\n"
	  "open connections, responses by status)",
	  CMD_RECORD_AT(metrics), .flags = OPT_COPY },
	{ "metrics-port-file", 0, OPT_PATH, NULL,
	  "write the metrics endpoint's bound port to FILE",
	  CMD_RECORD_AT(metrics_port_file), .flags = OPT_COPY },
	{ "json", 0, OPT_FLAG, NULL,
	  "print those counters as one JSON object on stdout\n"
	  "at exit, instead of the summary line",
	  CMD_RECORD_AT(json) },
	{ "max-body", 0, OPT_SIZE, NULL,
	  "bodies stored up to SIZE (64MiB); longer ones are\n"
	  "cut and flagged \"truncated\" with original sizes",
	  CMD_RECORD_AT(max_body) },
	{ "max-head", 0, OPT_SIZE, NULL,
	  "largest message head (16KiB)",
	  CMD_RECORD_AT(max_head), .min = 256 },
	{ "redact", 0, OPT_LIST, "SPEC",
	  "replace values before they reach the disk, with\n"
	  "REDACTED-<hmac>; SPEC is header:NAME, json:PATH\n"
	  "($.a.b, $..card, $.a[0], $.a[*]) or regex:PCRE2;\n"
	  "repeatable.  Nothing is redacted unless asked.",
	  CMD_RECORD_AT(redact), OPT_NUM(struct cmd_record_o, cfg.nredact) },
	{ "user", 0, OPT_CALL, "NAME",
	  "once bound, with the snapshot open, become NAME\n"
	  "(needs root); every capability is dropped\n"
	  "either way (CAP_NET_ADMIN stays for --mark)",
	  OPT_AT(struct cmd_record_o, user), .call = cli_opt_user,
	  .flags = OPT_ARG },
	CLI_OPTS_FUNNEL(struct cmd_record_o, funnel),
	CLI_OPTS_LOG(struct cmd_record_o),
	OPT_END_ROW,
};

const struct cmd_entry cmd_record_entry = {
	.name = "record",
	.args = "--upstream URL --listen ADDR -o SNAP [options]\n"
	    "       decoy record --proxy ADDR -o SNAP [--ca DIR] [--no-intercept HOST]...\n"
	    "       decoy record --transparent ADDR -o SNAP [--mark N]\n"
	    "       decoy record --nfqueue N -o SNAP [--dir in|out] [--port P]... "
	    "(--nfqueue --help)",
	.summary = "record traffic through a reverse, forward or transparent proxy, or passively from an NFQUEUE",
	.opts = cmd_record_opts,
	.exec = cmd_record_exec,
};

/*
 * The --stats file is written at exit, with the dropped credentials: it
 * must be writable by then (an existing file, or its directory).
 */
static int
cmd_record_stats_writable(const char *path, char **cause)
{
	char	*copy, *dir;
	int	 ok, error = 0;

	if (access(path, F_OK) == 0) {
		if (!(ok = access(path, W_OK) == 0))
			error = errno;
	} else {
		copy = xstrdup(path);
		dir = dirname(copy);
		if (!(ok = access(dir, W_OK | X_OK) == 0))
			error = errno;
		free(copy);
	}
	if (ok)
		return 0;
	*cause = xasprintf("--stats %s: not writable by uid %lu without "
	    "capabilities (%s); it is written at exit", path,
	    (unsigned long)geteuid(), strerror(error));
	return -1;
}

static int
cmd_record_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_record_entry;
	struct cmd_record_o	 o = { .user = { .name = NULL },
				     .log_level = LOG_LEVEL_INFO };
	struct record_config	*cfg = &o.cfg;
	struct recorder		*r;
	struct funnel		*fn = NULL;
	struct protodesc	*pset = NULL;
	char			*cause = NULL;
	int			 ind, rv = EXIT_USAGE, nmodes;

	/* Passive capture has options of its own (cmd-tap.c). */
	for (ind = 1; ind < argc; ind++)
		if (strcmp(argv[ind], "--nfqueue") == 0 ||
		    strncmp(argv[ind], "--nfqueue=", 10) == 0)
			return cmd_record_nfqueue(argc, argv);
	record_config_init(cfg);
	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &rv) == -1)
		goto out;
	if (argc - ind != 0) {
		rv = cli_usage(e, "unexpected argument \"%s\"", argv[ind]);
		goto out;
	}
	if (cfg->output == NULL) {
		rv = cli_usage(e, "-o SNAP is required");
		goto out;
	}
	if (cfg->json && strcmp(cfg->output, "-") == 0) {
		rv = cli_usage(e, "--json prints on stdout: write the snapshot "
		    "to a file");
		goto out;
	}
	nmodes = (cfg->proxy != NULL) + (cfg->transparent != NULL) +
	    (cfg->upstream != NULL || cfg->listen != NULL);
	if (nmodes != 1 || (cfg->proxy == NULL && cfg->transparent == NULL &&
	    (cfg->upstream == NULL || cfg->listen == NULL))) {
		rv = cli_usage(e, "expected --upstream URL --listen ADDR, "
		    "--proxy ADDR or --transparent ADDR");
		goto out;
	}
	if (cfg->transparent != NULL && !o.has_mark)
		cfg->mark = RECORD_DEFAULT_MARK;
	if (cfg->mark != 0 && priv_require(PRIV_CAP(CAP_NET_ADMIN),
	    "--mark (SO_MARK on upstream connections; --mark 0 turns it off "
	    "when the redirect excludes decoy by uid)", &cause) == -1) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	if (cli_proto_set(o.proto_set, &pset, &cause) == -1) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	if ((fn = funnel_create(&o.funnel, &cause)) == NULL) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	cfg->funnel = fn;
	cfg->funnel_set = funnel_config_is_set(&o.funnel);
	cli_log_init(e, o.log_level);
	/* One descriptor per client and one per upstream connection. */
	log_debug("open-file limit %llu", sock_raise_nofile());
	if ((r = record_create(cfg, &cause)) == NULL) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	/*
	 * The listener and the snapshot are open, the CA loaded, and no
	 * thread runs yet: keep only what SO_MARK needs (nothing without
	 * --mark).
	 */
	if (priv_drop(&o.user, cfg->mark != 0 ? PRIV_CAP(CAP_NET_ADMIN) : 0,
	    &cause) == -1) {
		record_free(r);
		rv = cli_error(e, EXIT_USAGE, "dropping privileges: %s",
		    cause);
		goto out;
	}
	if (o.user.name != NULL)
		log_info("privileges dropped: user %s (uid %lu, gid %lu), %s, "
		    "no_new_privs", o.user.name, (unsigned long)o.user.uid,
		    (unsigned long)o.user.gid, cfg->mark != 0 ?
		    "only CAP_NET_ADMIN (--mark)" : "no capabilities");
	else
		log_info("privileges dropped: %s, no_new_privs", cfg->mark != 0 ?
		    "only CAP_NET_ADMIN (--mark)" : "no capabilities");
	if (cfg->stats_path != NULL &&
	    cmd_record_stats_writable(cfg->stats_path, &cause) == -1) {
		record_free(r);
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	rv = record_run(r) == 0 ? EXIT_OK : EXIT_FAILED;
	record_free(r);
out:
	free(cause);
	priv_user_free(&o.user);
	record_config_free(cfg);
	funnel_free(fn);
	funnel_config_free(&o.funnel);
	cli_proto_set_free(pset);
	free(o.proto_set);
	return rv;
}
