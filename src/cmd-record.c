/*
 * cmd-record.c -- `decoy record --upstream URL --listen ADDR -o SNAP`,
 * `decoy record --proxy ADDR -o SNAP` and `decoy record --transparent ADDR
 * -o SNAP`: record a service's traffic through a reverse, a forward or a
 * transparent proxy (record.h).
 */
#include "config.h"

#include <linux/capability.h>

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "priv.h"
#include "record.h"
#include "sock.h"
#include "units.h"
#include "xmalloc.h"

static int	cmd_record_exec(int, char **);

const struct cmd_entry cmd_record_entry = {
	.name = "record",
	.args = "--upstream URL --listen ADDR -o SNAP [options]\n"
	    "       decoy record --proxy ADDR -o SNAP [--ca DIR] [--no-intercept HOST]...\n"
	    "       decoy record --transparent ADDR -o SNAP [--mark N]\n"
	    "       decoy record --nfqueue N -o SNAP [--dir in|out] [--port P]... "
	    "(--nfqueue --help)",
	.summary = "record traffic through a reverse, forward or transparent proxy, or passively from an NFQUEUE",
	.help =
	    "  -u, --upstream URL        where requests go: http[s]://HOST[:PORT]\n"
	    "  -l, --listen ADDR         address to accept clients on (port 0 picks one)\n"
	    "  -p, --proxy ADDR          be a forward proxy on ADDR instead: absolute-form\n"
	    "                            http:// requests and CONNECT (intercepted with\n"
	    "                            decoy's CA, recorded in plaintext, tls true)\n"
	    "      --ca DIR              the CA for interception (default $DECOY_CA_DIR,\n"
	    "                            else ~/.decoy/ca; `decoy ca init` makes one)\n"
	    "      --no-intercept HOST   tunnel CONNECTs to HOST blindly; one opaque entry\n"
	    "                            (byte counts); repeatable\n"
	    "  -t, --transparent ADDR    be a transparent proxy on ADDR instead: accept\n"
	    "                            connections redirected by iptables/nft REDIRECT\n"
	    "                            (see decoy redirect) and relay each to its original\n"
	    "                            destination; TLS is tunnelled, not intercepted\n"
	    "      --mark N              SO_MARK of the upstream connections, so redirect\n"
	    "                            rules skip them (default 0xdec0 with --transparent;\n"
	    "                            0: none); needs CAP_NET_ADMIN\n"
	    "  -o, --output SNAP         snapshot to write (- for stdout); truncated\n"
	    "                            unless --append; created mode 0600\n"
	    "  -a, --append              append to SNAP instead of truncating it (a\n"
	    "                            torn last line is cut off first, and said)\n"
	    "  -d, --dir in|out          direction recorded: out (default: calls to a\n"
	    "                            dependency) or in (requests into the service)\n"
	    "      --port-file FILE      write the bound port to FILE\n"
	    "      --upstream-ca FILE    verify https upstreams against FILE\n"
	    "      --insecure            do not verify the upstream's certificate\n"
	    "      --upstream-timeout D  an exchange in which nothing moves for D (30s):\n"
	    "                            504 (or a cut response once it has started)\n"
	    "                            and an error entry\n"
	    "      --idle-timeout D      close a client connection idle for D between\n"
	    "                            exchanges (60s; 0s: never)\n"
	    "      --header-timeout D    a request head must be complete D after its\n"
	    "                            first byte (the accept, for the first): 408\n"
	    "                            (10s, as decoy respond)\n"
	    "      --body-timeout D      a request body must be complete D after its\n"
	    "                            head (30s; 0s: no limit) ...\n"
	    "      --body-min-rate SIZE  ... plus 1s per SIZE bytes received (1KiB):\n"
	    "                            408, the exchange is not recorded\n"
	    "      --fsync never|txn|1s  when the snapshot is flushed to disk (1s); every\n"
	    "                            line is written whole before the client gets\n"
	    "                            the last byte of its answer, so a crash loses\n"
	    "                            no answered exchange\n"
	    "      --on-write-error serve|fail\n"
	    "                            when a transaction cannot be stored (a full\n"
	    "                            disk): serve its client all the same (default)\n"
	    "                            or answer 503 (a cut connection if the answer\n"
	    "                            had started); either way it is counted lost\n"
	    "                            and the exit status is 1\n"
	    "      --stats FILE          write the counters as JSON to FILE at exit\n"
	    "                            (transactions, recorded, lost, write_error...)\n"
	    "      --max-body SIZE       bodies stored up to SIZE (64MiB); longer ones are\n"
	    "                            cut and flagged \"truncated\" with original sizes\n"
	    "      --max-head SIZE       largest message head (16KiB)\n"
	    "      --redact SPEC         replace values before they reach the disk, with\n"
	    "                            REDACTED-<hmac>; SPEC is header:NAME, json:PATH\n"
	    "                            ($.a.b, $..card, $.a[0], $.a[*]) or regex:PCRE2;\n"
	    "                            repeatable.  Nothing is redacted unless asked.\n"
	    "      --user NAME           once bound, with the snapshot open, become NAME\n"
	    "                            (needs root); every capability is dropped\n"
	    "                            either way (CAP_NET_ADMIN stays for --mark)\n"
	    "  -v, --verbose             debug logging\n"
	    "  -q, --quiet               log warnings and errors only\n"
	    "  -h, --help                this help\n",
	.exec = cmd_record_exec,
};

enum {
	OPT_PORT_FILE = 256,
	OPT_UPSTREAM_CA,
	OPT_INSECURE,
	OPT_UPSTREAM_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_FSYNC,
	OPT_MAX_BODY,
	OPT_MAX_HEAD,
	OPT_REDACT,
	OPT_CA,
	OPT_NO_INTERCEPT,
	OPT_MARK,
	OPT_ON_WRITE_ERROR,
	OPT_HEADER_TIMEOUT,
	OPT_BODY_TIMEOUT,
	OPT_BODY_MIN_RATE,
	OPT_STATS,
	OPT_USER,
};

static const struct option cmd_record_options[] = {
	{ "upstream", required_argument, NULL, 'u' },
	{ "listen", required_argument, NULL, 'l' },
	{ "output", required_argument, NULL, 'o' },
	{ "append", no_argument, NULL, 'a' },
	{ "dir", required_argument, NULL, 'd' },
	{ "port-file", required_argument, NULL, OPT_PORT_FILE },
	{ "upstream-ca", required_argument, NULL, OPT_UPSTREAM_CA },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "upstream-timeout", required_argument, NULL, OPT_UPSTREAM_TIMEOUT },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT },
	{ "body-timeout", required_argument, NULL, OPT_BODY_TIMEOUT },
	{ "body-min-rate", required_argument, NULL, OPT_BODY_MIN_RATE },
	{ "fsync", required_argument, NULL, OPT_FSYNC },
	{ "max-body", required_argument, NULL, OPT_MAX_BODY },
	{ "max-head", required_argument, NULL, OPT_MAX_HEAD },
	{ "redact", required_argument, NULL, OPT_REDACT },
	{ "proxy", required_argument, NULL, 'p' },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "no-intercept", required_argument, NULL, OPT_NO_INTERCEPT },
	{ "transparent", required_argument, NULL, 't' },
	{ "mark", required_argument, NULL, OPT_MARK },
	{ "on-write-error", required_argument, NULL, OPT_ON_WRITE_ERROR },
	{ "stats", required_argument, NULL, OPT_STATS },
	{ "user", required_argument, NULL, OPT_USER },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
cmd_record_set(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

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
	struct record_config	 cfg;
	struct recorder		*r;
	struct priv_user	 user = { .name = NULL };
	enum log_level		 level = LOG_LEVEL_INFO;
	char			*cause = NULL, *end, *rate = NULL;
	unsigned long		 ul;
	int			 ch, rv = EXIT_USAGE, has_mark = 0, nmodes;

	/* Passive capture has options of its own (cmd-tap.c). */
	for (ch = 1; ch < argc; ch++)
		if (strcmp(argv[ch], "--nfqueue") == 0 ||
		    strncmp(argv[ch], "--nfqueue=", 10) == 0)
			return cmd_record_nfqueue(argc, argv);
	record_config_init(&cfg);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "u:l:p:t:o:ad:vqh", cmd_record_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'u':
			cmd_record_set(&cfg.upstream, optarg);
			break;
		case 'l':
			cmd_record_set(&cfg.listen, optarg);
			break;
		case 'o':
			cmd_record_set(&cfg.output, optarg);
			break;
		case 'a':
			cfg.append = 1;
			break;
		case 'd':
			if (strcmp(optarg, "in") == 0)
				cfg.dir = SNAP_DIR_IN;
			else if (strcmp(optarg, "out") == 0)
				cfg.dir = SNAP_DIR_OUT;
			else {
				rv = cli_usage(e, "--dir: expected in or out");
				goto out;
			}
			break;
		case OPT_PORT_FILE:
			cmd_record_set(&cfg.port_file, optarg);
			break;
		case OPT_UPSTREAM_CA:
			cmd_record_set(&cfg.upstream_ca, optarg);
			break;
		case OPT_INSECURE:
			cfg.insecure = 1;
			break;
		case OPT_UPSTREAM_TIMEOUT:
			if (units_parse_duration(optarg,
			    &cfg.upstream_timeout_ns) == -1 ||
			    cfg.upstream_timeout_ns == 0) {
				rv = cli_usage(e, "--upstream-timeout: bad "
				    "duration \"%s\"", optarg);
				goto out;
			}
			break;
		case OPT_IDLE_TIMEOUT:
			if (units_parse_duration(optarg,
			    &cfg.idle_timeout_ns) == -1) {
				rv = cli_usage(e, "--idle-timeout: bad "
				    "duration \"%s\"", optarg);
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
		case OPT_BODY_MIN_RATE:
			/* "1KiB" or "1KiB/s". */
			free(rate);
			rate = xstrdup(optarg);
			if ((end = strstr(rate, "/s")) != NULL &&
			    end[2] == '\0')
				*end = '\0';
			if (units_parse_size(rate, &cfg.body_min_rate) == -1) {
				rv = cli_usage(e, "--body-min-rate: bad size "
				    "\"%s\"", optarg);
				goto out;
			}
			break;
		case OPT_FSYNC:
			if (record_parse_fsync(optarg, &cfg.fsync) == -1) {
				rv = cli_usage(e, "--fsync: expected never, "
				    "txn or 1s");
				goto out;
			}
			break;
		case OPT_ON_WRITE_ERROR:
			if (record_parse_on_write_error(optarg,
			    &cfg.on_write_error) == -1) {
				rv = cli_usage(e, "--on-write-error: expected "
				    "serve or fail");
				goto out;
			}
			break;
		case OPT_STATS:
			cmd_record_set(&cfg.stats_path, optarg);
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
		case OPT_MAX_BODY:
			if (units_parse_size(optarg, &cfg.max_body) == -1) {
				rv = cli_usage(e, "--max-body: bad size \"%s\"",
				    optarg);
				goto out;
			}
			break;
		case OPT_MAX_HEAD:
			if (units_parse_size(optarg, &cfg.max_head) == -1 ||
			    cfg.max_head < 256) {
				rv = cli_usage(e, "--max-head: bad size \"%s\"",
				    optarg);
				goto out;
			}
			break;
		case OPT_REDACT:
			record_config_add_redact(&cfg, optarg);
			break;
		case 'p':
			cmd_record_set(&cfg.proxy, optarg);
			break;
		case OPT_CA:
			cmd_record_set(&cfg.ca_dir, optarg);
			break;
		case OPT_NO_INTERCEPT:
			record_config_add_no_intercept(&cfg, optarg);
			break;
		case 't':
			cmd_record_set(&cfg.transparent, optarg);
			break;
		case OPT_MARK:
			errno = 0;
			ul = strtoul(optarg, &end, 0);
			if (*optarg == '\0' || *optarg == '-' || *end != '\0' ||
			    errno != 0 || ul > 0xffffffffUL) {
				rv = cli_usage(e, "--mark: expected a 32-bit "
				    "number (0xdec0, 57024), not \"%s\"", optarg);
				goto out;
			}
			cfg.mark = (unsigned int)ul;
			has_mark = 1;
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
	if (argc - optind != 0) {
		rv = cli_usage(e, "unexpected argument \"%s\"", argv[optind]);
		goto out;
	}
	if (cfg.output == NULL) {
		rv = cli_usage(e, "-o SNAP is required");
		goto out;
	}
	nmodes = (cfg.proxy != NULL) + (cfg.transparent != NULL) +
	    (cfg.upstream != NULL || cfg.listen != NULL);
	if (nmodes != 1 || (cfg.proxy == NULL && cfg.transparent == NULL &&
	    (cfg.upstream == NULL || cfg.listen == NULL))) {
		rv = cli_usage(e, "expected --upstream URL --listen ADDR, "
		    "--proxy ADDR or --transparent ADDR");
		goto out;
	}
	if (cfg.transparent != NULL && !has_mark)
		cfg.mark = RECORD_DEFAULT_MARK;
	if (cfg.mark != 0 && priv_require(PRIV_CAP(CAP_NET_ADMIN),
	    "--mark (SO_MARK on upstream connections; --mark 0 turns it off "
	    "when the redirect excludes decoy by uid)", &cause) == -1) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	log_init("decoy record", level);
	/* One descriptor per client and one per upstream connection. */
	log_debug("open-file limit %llu", sock_raise_nofile());
	if ((r = record_create(&cfg, &cause)) == NULL) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	/*
	 * The listener and the snapshot are open, the CA loaded, and no
	 * thread runs yet: keep only what SO_MARK needs (nothing without
	 * --mark).
	 */
	if (priv_drop(&user, cfg.mark != 0 ? PRIV_CAP(CAP_NET_ADMIN) : 0,
	    &cause) == -1) {
		record_free(r);
		rv = cli_error(e, EXIT_USAGE, "dropping privileges: %s",
		    cause);
		goto out;
	}
	if (user.name != NULL)
		log_info("privileges dropped: user %s (uid %lu, gid %lu), %s, "
		    "no_new_privs", user.name, (unsigned long)user.uid,
		    (unsigned long)user.gid, cfg.mark != 0 ?
		    "only CAP_NET_ADMIN (--mark)" : "no capabilities");
	else
		log_info("privileges dropped: %s, no_new_privs", cfg.mark != 0 ?
		    "only CAP_NET_ADMIN (--mark)" : "no capabilities");
	if (cfg.stats_path != NULL &&
	    cmd_record_stats_writable(cfg.stats_path, &cause) == -1) {
		record_free(r);
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	rv = record_run(r) == 0 ? EXIT_OK : EXIT_FAILED;
	record_free(r);
out:
	free(rate);
	free(cause);
	priv_user_free(&user);
	record_config_free(&cfg);
	return rv;
}
