/*
 * cmd-respond.c -- `decoy respond SNAP --listen ADDR`: serve the outbound
 * half of a snapshot in the foreground (the same responder as decoyd).
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "cli.h"
#include "conf.h"
#include "log.h"
#include "respond-priv.h"
#include "respond.h"
#include "shape.h"
#include "sock.h"
#include "xmalloc.h"

static int	cmd_respond_exec(int, char **);

const struct cmd_entry cmd_respond_entry = {
	.name = "respond",
	.args = "SNAP --listen ADDR [options]\n"
	    "       decoy respond SNAP --transparent ADDR [options]",
	.summary = "serve the recorded responses of a snapshot's dependencies",
	.help =
	    "  -l, --listen ADDR         address to serve on (HOST:PORT, port 0 picks one);\n"
	    "                            repeatable\n"
	    "  -t, --transparent ADDR    serve on ADDR connections redirected by iptables/\n"
	    "                            nft REDIRECT (see decoy redirect): a request that\n"
	    "                            names no recorded host (no Host header) is matched\n"
	    "                            against the dependency recorded with its original\n"
	    "                            destination as \"server\"; repeatable, and\n"
	    "                            --listen addresses become transparent too\n"
	    "  -u, --unmatched POLICY    404 (default: JSON naming the nearest candidates)\n"
	    "                            or closest (best transaction on the same route)\n"
	    "  -w, --workers N           worker threads (default: one per usable CPU)\n"
	    "      --allow-empty         serve a snapshot with no dir \"out\" transaction\n"
	    "                            with a response (else exit 2)\n"
	    "      --port-file FILE      write the bound port of the first address to FILE\n"
	    "      --max-head SIZE       largest request head (default 16KiB)\n"
	    "      --max-body SIZE       largest request body (default 8MiB)\n"
	    "      --header-timeout DUR  a request head must complete within DUR (10s)\n"
	    "      --body-timeout DUR    a request body must be complete DUR after its\n"
	    "                            head (30s; 0s: only --header-timeout between\n"
	    "                            reads) ...\n"
	    "      --body-min-rate SIZE  ... plus 1s per SIZE bytes received (1KiB)\n"
	    "      --idle-timeout DUR    close keep-alive connections idle for DUR (60s)\n"
	    "      --output-budget SIZE  unsent output of all connections (256MiB, or a\n"
	    "                            quarter of the memory if less); past it the\n"
	    "                            connections holding the most are not read\n"
	    "  -T, --transforms FILE     transforms file (decoy-transforms(5), from decoy\n"
	    "                            analyze): typed and key matching of volatile\n"
	    "                            request values, replies with dates shifted,\n"
	    "                            JWTs re-signed and request values echoed\n"
	    "      --now TIME            with --transforms: the clock of replies made\n"
	    "                            live starts at TIME (RFC 3339 or epoch seconds)\n"
	    "                            and runs from there\n"
	    "  -r, --rules FILE          chaos rule file (decoy-rules(5)); repeatable\n"
	    "  -s, --seed N              chaos seed (default: the rule file's, else 0)\n"
	    "      --chaos-log FILE      append every injected fault to FILE (JSON Lines)\n"
	    "      --admin ADDR          serve the admin API on ADDR (e.g. 127.0.0.1:9901)\n"
	    "      --admin-token TOKEN   bearer token the admin API requires (needed off\n"
	    "                            loopback; also from DECOY_TOKEN)\n"
	    "      --admin-token-file F  read that token from F (not shown by ps)\n"
	    "      --admin-port-file F   write the admin API's bound port to F\n"
	    "      --tls                 serve HTTPS: leaves minted per SNI by decoy's CA\n"
	    "                            (an IP SAN without SNI); see decoy ca init\n"
	    "      --ca DIR              the CA directory (default $DECOY_CA_DIR, else\n"
	    "                            ~/.decoy/ca)\n"
	    "      --user NAME           once bound and loaded, become NAME (needs\n"
	    "                            root); every capability is dropped either way\n"
	    "  -v, --verbose             log every rejected peer and more (debug)\n"
	    "  -q, --quiet               log warnings and errors only\n"
	    "  -h, --help                this help\n",
	.exec = cmd_respond_exec,
};

enum {
	OPT_PORT_FILE = 256,
	OPT_MAX_HEAD,
	OPT_MAX_BODY,
	OPT_HEADER_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_BODY_TIMEOUT,
	OPT_OUTPUT_BUDGET,
	OPT_BODY_MIN_RATE,
	OPT_CHAOS_LOG,
	OPT_ADMIN,
	OPT_ADMIN_TOKEN,
	OPT_ADMIN_TOKEN_FILE,
	OPT_NOW,
	OPT_ADMIN_PORT_FILE,
	OPT_TLS,
	OPT_CA,
	OPT_USER,
	OPT_ALLOW_EMPTY,
};

static const struct option cmd_respond_options[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "transparent", required_argument, NULL, 't' },
	{ "unmatched", required_argument, NULL, 'u' },
	{ "workers", required_argument, NULL, 'w' },
	{ "allow-empty", no_argument, NULL, OPT_ALLOW_EMPTY },
	{ "port-file", required_argument, NULL, OPT_PORT_FILE },
	{ "max-head", required_argument, NULL, OPT_MAX_HEAD },
	{ "max-body", required_argument, NULL, OPT_MAX_BODY },
	{ "header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "body-timeout", required_argument, NULL, OPT_BODY_TIMEOUT },
	{ "output-budget", required_argument, NULL, OPT_OUTPUT_BUDGET },
	{ "body-min-rate", required_argument, NULL, OPT_BODY_MIN_RATE },
	{ "rules", required_argument, NULL, 'r' },
	{ "transforms", required_argument, NULL, 'T' },
	{ "now", required_argument, NULL, OPT_NOW },
	{ "seed", required_argument, NULL, 's' },
	{ "chaos-log", required_argument, NULL, OPT_CHAOS_LOG },
	{ "admin", required_argument, NULL, OPT_ADMIN },
	{ "admin-token", required_argument, NULL, OPT_ADMIN_TOKEN },
	{ "admin-token-file", required_argument, NULL, OPT_ADMIN_TOKEN_FILE },
	{ "admin-port-file", required_argument, NULL, OPT_ADMIN_PORT_FILE },
	{ "tls", no_argument, NULL, OPT_TLS },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "user", required_argument, NULL, OPT_USER },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
cmd_respond_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_respond_entry;
	struct respond_config	 cfg;
	struct responder	*r;
	struct admin		*admin;
	struct priv_user	 user = { .name = NULL };
	enum log_level		 level = LOG_LEVEL_INFO;
	char			*cause = NULL, *end;
	long			 l;
	int			 ch, rv = EXIT_USAGE;

	respond_config_init(&cfg);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "l:t:u:w:r:s:T:vqh", cmd_respond_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'l':
			respond_config_add_listen(&cfg, optarg);
			break;
		case 't':
			respond_config_add_listen(&cfg, optarg);
			cfg.transparent = 1;
			break;
		case 'u':
			if (conf_parse_unmatched(optarg, &cfg.unmatched,
			    &cause) == -1) {
				rv = cli_usage(e, "%s", cause);
				goto out;
			}
			break;
		case 'w':
			l = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || l < 0 ||
			    l > 256) {
				rv = cli_usage(e, "--workers: expected 0..256");
				goto out;
			}
			cfg.workers = (int)l;
			break;
		case OPT_ALLOW_EMPTY:
			cfg.allow_empty = 1;
			break;
		case OPT_PORT_FILE:
			free(cfg.port_file);
			cfg.port_file = xstrdup(optarg);
			break;
		case OPT_MAX_HEAD:
			if (units_parse_size(optarg, &cfg.max_head) == -1 ||
			    cfg.max_head < 256) {
				rv = cli_usage(e, "--max-head: bad size \"%s\"",
				    optarg);
				goto out;
			}
			break;
		case OPT_MAX_BODY:
			if (units_parse_size(optarg, &cfg.max_body) == -1) {
				rv = cli_usage(e, "--max-body: bad size \"%s\"",
				    optarg);
				goto out;
			}
			break;
		case OPT_HEADER_TIMEOUT:
			if (units_parse_duration(optarg,
			    &cfg.header_timeout_ns) == -1 ||
			    cfg.header_timeout_ns == 0) {
				rv = cli_usage(e, "--header-timeout: bad "
				    "duration \"%s\"", optarg);
				goto out;
			}
			break;
		case OPT_BODY_TIMEOUT:
			if (units_parse_duration(optarg,
			    &cfg.body_timeout_ns) == -1) {
				rv = cli_usage(e, "--body-timeout: bad "
				    "duration \"%s\"", optarg);
				goto out;
			}
			break;
		case OPT_OUTPUT_BUDGET:
			if (units_parse_size(optarg, &cfg.output_budget) ==
			    -1 || cfg.output_budget == 0) {
				rv = cli_usage(e, "--output-budget: bad size "
				    "\"%s\"", optarg);
				goto out;
			}
			break;
		case OPT_BODY_MIN_RATE:
			if (conf_parse_rate(optarg, &cfg.body_min_rate) == -1) {
				rv = cli_usage(e, "--body-min-rate: bad size "
				    "\"%s\"", optarg);
				goto out;
			}
			break;
		case OPT_IDLE_TIMEOUT:
			if (units_parse_duration(optarg,
			    &cfg.idle_timeout_ns) == -1 ||
			    cfg.idle_timeout_ns == 0) {
				rv = cli_usage(e, "--idle-timeout: bad "
				    "duration \"%s\"", optarg);
				goto out;
			}
			break;
		case 'r':
			respond_config_add_rules(&cfg, optarg);
			break;
		case 'T':
			free(cfg.transforms);
			cfg.transforms = xstrdup(optarg);
			break;
		case OPT_NOW: {
			struct shape_time	t;

			if (shape_time_parse(optarg, strlen(optarg), &t) ==
			    -1) {
				rv = cli_usage(e, "--now: expected a time such "
				    "as 2026-12-07T17:54:34Z or epoch seconds, "
				    "not \"%s\"", optarg);
				goto out;
			}
			cfg.has_now = 1;
			cfg.now_us = t.us;
			break;
		}
		case 's':
			if (units_parse_seed(optarg, &cfg.seed) == -1) {
				rv = cli_usage(e, "--seed: expected an unsigned "
				    "integer, not \"%s\"", optarg);
				goto out;
			}
			cfg.has_seed = 1;
			break;
		case OPT_CHAOS_LOG:
			free(cfg.chaos_log);
			cfg.chaos_log = xstrdup(optarg);
			break;
		case OPT_ADMIN:
			free(cfg.admin);
			cfg.admin = xstrdup(optarg);
			break;
		case OPT_ADMIN_TOKEN:
			free(cfg.admin_token);
			cfg.admin_token = xstrdup(optarg);
			break;
		case OPT_ADMIN_TOKEN_FILE:
			free(cfg.admin_token);
			if ((cfg.admin_token = admin_token_load(optarg,
			    &cause)) == NULL) {
				rv = cli_error(e, EXIT_USAGE, "%s", cause);
				goto out;
			}
			break;
		case OPT_ADMIN_PORT_FILE:
			free(cfg.admin_port_file);
			cfg.admin_port_file = xstrdup(optarg);
			break;
		case OPT_TLS:
			cfg.tls = 1;
			break;
		case OPT_CA:
			free(cfg.ca_dir);
			cfg.ca_dir = xstrdup(optarg);
			break;
		case OPT_USER:
			priv_user_free(&user);
			if (priv_user_lookup(&user, optarg, &cause) == -1 ||
			    priv_user_check(&user, &cause) == -1) {
				rv = cli_error(e, EXIT_USAGE, "--user: %s",
				    cause);
				goto out;
			}
			break;
		case 'v':
			level = LOG_LEVEL_DEBUG;
			break;
		case 'q':
			level = LOG_LEVEL_WARN;
			break;
		case 'h':
			cli_help(e);
			rv = EXIT_OK;
			goto out;
		default:
			rv = cli_usage(e, "unknown option");
			goto out;
		}
	}
	if (argc - optind != 1) {
		rv = cli_usage(e, "expected one snapshot file");
		goto out;
	}
	if (cfg.nlisten == 0) {
		rv = cli_usage(e, "--listen or --transparent is required");
		goto out;
	}
	if (cfg.has_now && cfg.transforms == NULL) {
		rv = cli_usage(e, "--now applies with --transforms");
		goto out;
	}
	cfg.snapshot = xstrdup(argv[optind]);
	if (cfg.admin_token == NULL && getenv("DECOY_TOKEN") != NULL)
		cfg.admin_token = xstrdup(getenv("DECOY_TOKEN"));
	log_init("decoy respond", level);
	log_debug("open-file limit %llu", sock_raise_nofile());
	if ((r = respond_create(&cfg, &cause)) == NULL) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	admin = NULL;
	if (cfg.admin != NULL && (admin = admin_create(r, cfg.admin,
	    cfg.admin_token, cfg.admin_port_file, &cause)) == NULL) {
		rv = cli_error(e, EXIT_USAGE, "admin API: %s", cause);
		respond_free(r);
		goto out;
	}
	/* Everything is bound and loaded, and no thread runs yet. */
	if (respond_priv_drop(&cfg, &user, &cause) == -1) {
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
	respond_free(r);
out:
	free(cause);
	priv_user_free(&user);
	respond_config_free(&cfg);
	return rv;
}
