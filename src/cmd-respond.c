/*
 * cmd-respond.c -- `decoy respond SNAP --listen ADDR`: serve the outbound
 * half of a snapshot in the foreground (the same responder as decoyd).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "log.h"
#include "opt.h"
#include "respond-priv.h"
#include "respond.h"
#include "shape.h"
#include "sock.h"
#include "xmalloc.h"

static int	cmd_respond_exec(int, char **);

struct cmd_respond_o {
	struct respond_config	cfg;
	struct priv_user	user;
	int			log_level;
};

#define CMD_RESPOND_AT(m)	OPT_AT(struct cmd_respond_o, cfg.m)

/* --listen and --transparent: an address (checked, not resolved) added
 * to the listeners. */
static int
cmd_respond_listen(void *base, void *field, const char *arg, char **cause)
{
	struct cmd_respond_o	*o = base;

	if (!opt_is_addr(arg)) {
		*cause = xasprintf("expected HOST:PORT, [V6]:PORT or :PORT, "
		    "got \"%s\"", arg);
		return -1;
	}
	respond_config_add_listen(&o->cfg, arg);
	return 0;
}

static int
cmd_respond_transparent(void *base, void *field, const char *arg,
    char **cause)
{
	struct cmd_respond_o	*o = base;

	o->cfg.transparent = 1;
	return cmd_respond_listen(base, field, arg, cause);
}

static const struct opt cmd_respond_opts[] = {
	{ "listen", 'l', OPT_CALL, "ADDR", "address to serve on (HOST:PORT, "
	  "port 0 picks one);\nrepeatable", .call = cmd_respond_listen,
	  .flags = OPT_ARG },
	{ "transparent", 0, OPT_CALL, "ADDR", "serve on ADDR connections "
	  "redirected by iptables/\nnft REDIRECT (see decoy redirect): a "
	  "request that\nnames no recorded host (no Host header) is matched\n"
	  "against the dependency recorded with its original\ndestination as "
	  "\"server\"; repeatable, and\n--listen addresses become transparent "
	  "too", .call = cmd_respond_transparent, .flags = OPT_ARG,
	  .aliases = "-t" },
	{ "unmatched", 0, OPT_CALL, "POLICY", "404 (default: JSON naming the "
	  "nearest candidates)\nor closest (best transaction on the same "
	  "route)\nor passthrough (forwarded to the dependency)", CMD_RESPOND_AT(unmatched), .call = cli_opt_unmatched,
	  .flags = OPT_ARG, .aliases = "-u" },
	{ "passthrough-allow", 0, OPT_LIST, "HOSTS", "with --unmatched "
	  "passthrough: the hosts misses\nmay be forwarded to (HOST or "
	  "HOST:PORT, comma-\nseparated; repeatable; default: the recorded "
	  "hosts)", CMD_RESPOND_AT(pass_allow),
	  OPT_NUM(struct cmd_respond_o, cfg.npass_allow) },
	{ "record-misses", 0, OPT_PATH, NULL, "append each passed-through "
	  "exchange to FILE\n(a snapshot)", CMD_RESPOND_AT(record_misses),
	  .flags = OPT_COPY },
	{ "passthrough-ca", 0, OPT_PATH, "F", "verify https dependencies "
	  "against F (PEM file\nor hashed directory; default: the system "
	  "CAs)", CMD_RESPOND_AT(pass_ca), .flags = OPT_COPY },
	{ "workers", 'w', OPT_INT, NULL, "worker threads (default: one per "
	  "usable CPU)", CMD_RESPOND_AT(workers), .max = 256 },
	{ "allow-empty", 0, OPT_FLAG, NULL, "serve a snapshot with no dir "
	  "\"out\" transaction\nwith a response (else exit 2)",
	  CMD_RESPOND_AT(allow_empty) },
	{ "port-file", 0, OPT_PATH, NULL, "write the bound port of the first "
	  "address to FILE", CMD_RESPOND_AT(port_file), .flags = OPT_COPY },
	{ "max-head", 0, OPT_SIZE, NULL, "largest request head (default "
	  "16KiB)", CMD_RESPOND_AT(max_head), .min = 256 },
	{ "max-body", 0, OPT_SIZE, NULL, "largest request body (default "
	  "8MiB)", CMD_RESPOND_AT(max_body) },
	{ "header-timeout", 0, OPT_DURATION, NULL, "a request head must "
	  "complete within DUR (10s)", CMD_RESPOND_AT(header_timeout_ns),
	  .min = 1 },
	{ "body-timeout", 0, OPT_DURATION, NULL, "a request body must be "
	  "complete DUR after its\nhead (30s; 0s: only --header-timeout "
	  "between\nreads) ...", CMD_RESPOND_AT(body_timeout_ns) },
	{ "body-min-rate", 0, OPT_CALL, "SIZE", "... plus 1s per SIZE bytes "
	  "received (1KiB)", CMD_RESPOND_AT(body_min_rate),
	  .call = cli_opt_bps, .flags = OPT_ARG },
	{ "idle-timeout", 0, OPT_DURATION, NULL, "close keep-alive "
	  "connections idle for DUR (60s)", CMD_RESPOND_AT(idle_timeout_ns),
	  .min = 1 },
	{ "output-budget", 0, OPT_SIZE, NULL, "unsent output of all "
	  "connections (256MiB, or a\nquarter of the memory if less); past it "
	  "the\nconnections holding the most are not read",
	  CMD_RESPOND_AT(output_budget), .min = 1 },
	CLI_OPT_PROTO_SET(struct cmd_respond_o, cfg.proto_set),
	{ "transforms", 'T', OPT_PATH, NULL, "transforms file "
	  "(decoy-transforms(5), from decoy\nanalyze): typed and key matching "
	  "of volatile\nrequest values, replies with dates shifted,\nJWTs "
	  "re-signed and request values echoed", CMD_RESPOND_AT(transforms),
	  .flags = OPT_COPY },
	{ "now", 0, OPT_TIME, NULL, "with --transforms: the clock of replies "
	  "made\nlive starts at TIME (RFC 3339 or epoch seconds)\nand runs "
	  "from there", CMD_RESPOND_AT(now_us),
	  OPT_SEEN(struct cmd_respond_o, cfg.has_now) },
	{ "rules", 'r', OPT_LIST, "FILE", "chaos rule file (decoy-rules(5)); "
	  "repeatable", CMD_RESPOND_AT(rules),
	  OPT_NUM(struct cmd_respond_o, cfg.nrules) },
	{ "seed", 's', OPT_SEED, NULL, "chaos seed (default: the rule file's, "
	  "else 0)", CMD_RESPOND_AT(seed),
	  OPT_SEEN(struct cmd_respond_o, cfg.has_seed) },
	{ "chaos-log", 0, OPT_PATH, NULL, "append every injected fault to "
	  "FILE (JSON Lines)", CMD_RESPOND_AT(chaos_log), .flags = OPT_COPY },
	{ "admin", 0, OPT_ADDR, NULL, "serve the admin API on ADDR (e.g. "
	  "127.0.0.1:9901)", CMD_RESPOND_AT(admin), .flags = OPT_COPY },
	{ "admin-token", 0, OPT_STRING, "TOKEN", "bearer token the admin API "
	  "requires (needed off\nloopback; also from DECOY_TOKEN)",
	  CMD_RESPOND_AT(admin_token), .flags = OPT_COPY },
	{ "admin-token-file", 0, OPT_CALL, "F", "read that token from F (not "
	  "shown by ps)", CMD_RESPOND_AT(admin_token),
	  .call = cli_opt_token_file, .flags = OPT_ARG },
	{ "admin-port-file", 0, OPT_PATH, "F", "write the admin API's bound "
	  "port to F", CMD_RESPOND_AT(admin_port_file), .flags = OPT_COPY },
	{ "tls", 0, OPT_FLAG, NULL, "serve HTTPS: leaves minted per SNI by "
	  "decoy's CA\n(an IP SAN without SNI); see decoy ca init",
	  CMD_RESPOND_AT(tls) },
	{ "no-http2", 0, OPT_FLAG, NULL, "serve HTTP/1.1 only: no ALPN h2, no "
	  "prior\nknowledge, no Upgrade: h2c", CMD_RESPOND_AT(http2),
	  .flags = OPT_NEGATE },
	{ "ca", 0, OPT_PATH, "DIR", "the CA directory (default $DECOY_CA_DIR, "
	  "else\n~/.decoy/ca)", CMD_RESPOND_AT(ca_dir), .flags = OPT_COPY },
	{ "user", 0, OPT_CALL, "NAME", "once bound and loaded, become NAME "
	  "(needs\nroot); every capability is dropped either way",
	  OPT_AT(struct cmd_respond_o, user), .call = cli_opt_user,
	  .flags = OPT_ARG },
	{ "json", 0, OPT_FLAG, NULL, "at shutdown, print the counters (those "
	  "of the\nadmin API's /stats) as one JSON object on stdout\ninstead "
	  "of the summary lines", CMD_RESPOND_AT(summary_quiet) },
	CLI_OPTS_LOG(struct cmd_respond_o),
	OPT_END_ROW,
};

const struct cmd_entry cmd_respond_entry = {
	.name = "respond",
	.args = "SNAP --listen ADDR [options]\n"
	    "       decoy respond SNAP --transparent ADDR [options]",
	.summary = "serve the recorded responses of a snapshot's dependencies",
	.opts = cmd_respond_opts,
	.exec = cmd_respond_exec,
};

/* --json: the shutdown summary as one JSON object on stdout.  0 or -1. */
static int
cmd_respond_print_json(struct responder *r)
{
	struct buf	b;

	buf_init(&b);
	admin_stats_json(r, &b);
	return cli_put(&b);
}

static int
cmd_respond_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_respond_entry;
	struct cmd_respond_o	 o = { .user = { .name = NULL },
				     .log_level = LOG_LEVEL_INFO };
	struct respond_config	*cfg = &o.cfg;
	struct responder	*r;
	struct admin		*admin;
	struct protodesc	*pset = NULL;
	char			*cause = NULL;
	int			 ind, rv = EXIT_USAGE;

	respond_config_init(cfg);
	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &rv) == -1)
		goto out;
	if (argc - ind != 1) {
		rv = cli_usage(e, "expected one snapshot file");
		goto out;
	}
	if (cfg->nlisten == 0) {
		rv = cli_usage(e, "--listen or --transparent is required");
		goto out;
	}
	if (cfg->has_now && cfg->transforms == NULL) {
		rv = cli_usage(e, "--now applies with --transforms");
		goto out;
	}
	cfg->snapshot = xstrdup(argv[ind]);
	if (cfg->admin_token == NULL && getenv("DECOY_TOKEN") != NULL)
		cfg->admin_token = xstrdup(getenv("DECOY_TOKEN"));
	cli_log_init(e, o.log_level);
	log_debug("open-file limit %llu", sock_raise_nofile());
	if (cli_proto_set(cfg->proto_set, &pset, &cause) == -1 ||
	    (r = respond_create(cfg, &cause)) == NULL) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	admin = NULL;
	if (cfg->admin != NULL && (admin = admin_create(r, cfg->admin,
	    cfg->admin_token, cfg->admin_port_file, &cause)) == NULL) {
		rv = cli_error(e, EXIT_USAGE, "admin API: %s", cause);
		respond_free(r);
		goto out;
	}
	/* Everything is bound and loaded, and no thread runs yet. */
	if (respond_priv_drop(cfg, &o.user, &cause) == -1) {
		rv = cli_error(e, EXIT_USAGE, "dropping privileges: %s",
		    cause);
		admin_stop(admin);
		respond_free(r);
		goto out;
	}
	if (admin != NULL && admin_serve(admin, &cause) == -1) {
		rv = cli_error(e, EXIT_FAILED, "%s", cause);
		admin_stop(admin);
		respond_free(r);
		goto out;
	}
	rv = respond_run(r) == 0 ? EXIT_OK : EXIT_FAILED;
	admin_stop(admin);
	if (cfg->summary_quiet && cmd_respond_print_json(r) == -1 &&
	    rv == EXIT_OK)
		rv = cli_error(e, EXIT_FAILED, "writing output failed");
	respond_free(r);
out:
	free(cause);
	priv_user_free(&o.user);
	respond_config_free(cfg);
	cli_proto_set_free(pset);
	return rv;
}
