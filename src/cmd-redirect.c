/*
 * cmd-redirect.c -- `decoy redirect install|remove`: the iptables nat
 * rules that send outbound TCP to a transparent decoy (redirect.h).
 */
#include "config.h"

#include <linux/capability.h>

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "priv.h"
#include "redirect.h"
#include "xmalloc.h"

static int	cmd_redirect_exec(int, char **);

const struct cmd_entry cmd_redirect_entry = {
	.name = "redirect",
	.args = "install --ports P,... | --all [--exclude-ports P,...]\n"
	    "           [--exclude-cidr C,...] --to-port L [--uid U | --mark M]\n"
	    "           [--ipv6] [--prerouting] [--dry-run]\n"
	    "       decoy redirect remove [--ipv6] [--dry-run]",
	.summary = "install or remove the iptables rules of transparent mode",
	.help =
	    "  install: redirect this network namespace's outbound TCP (nat OUTPUT)\n"
	    "  to a transparent decoy on port L, through a chain of its own\n"
	    "  (DECOY_REDIRECT); idempotent.  remove: delete the jumps and chains,\n"
	    "  leaving the rest of the nat table as it was.\n"
	    "\n"
	    "  -p, --ports P,...         redirect these destination ports (80,443,\n"
	    "                            8000-8100)\n"
	    "  -a, --all                 redirect every port, but --exclude-ports\n"
	    "      --exclude-ports P,... with --all: leave these ports alone\n"
	    "      --exclude-cidr C,...  leave these destinations alone (10.0.0.0/8,\n"
	    "                            fd00::/8); loopback is always left alone\n"
	    "      --include-loopback    redirect loopback destinations too\n"
	    "  -t, --to-port L           the port decoy listens on (--transparent)\n"
	    "  -u, --uid U               never redirect the traffic of uid (or user) U:\n"
	    "                            the uid decoy runs as\n"
	    "  -m, --mark M              never redirect packets with mark M (default\n"
	    "                            0xdec0, what decoy record --transparent sets,\n"
	    "                            unless --uid is given)\n"
	    "  -6, --ipv6                ip6tables too (remove: done when present)\n"
	    "      --prerouting          also redirect TCP arriving in the namespace\n"
	    "                            (nat PREROUTING, chain DECOY_REDIRECT_IN)\n"
	    "  -n, --dry-run             print the commands instead of running them\n"
	    "      --json                print {\"action\",\"dry_run\",\"commands\"}\n"
	    "                            (each command an array of its words) on stdout\n"
	    "  -h, --help                this help\n"
	    "\n"
	    "  Needs CAP_NET_ADMIN (root) and the iptables binaries.\n",
	.exec = cmd_redirect_exec,
};

enum {
	OPT_EXCLUDE_PORTS = 256,
	OPT_EXCLUDE_CIDR,
	OPT_INCLUDE_LOOPBACK,
	OPT_PREROUTING,
	OPT_JSON,
};

static const struct option cmd_redirect_options[] = {
	{ "ports", required_argument, NULL, 'p' },
	{ "all", no_argument, NULL, 'a' },
	{ "exclude-ports", required_argument, NULL, OPT_EXCLUDE_PORTS },
	{ "exclude-cidr", required_argument, NULL, OPT_EXCLUDE_CIDR },
	{ "include-loopback", no_argument, NULL, OPT_INCLUDE_LOOPBACK },
	{ "to-port", required_argument, NULL, 't' },
	{ "uid", required_argument, NULL, 'u' },
	{ "mark", required_argument, NULL, 'm' },
	{ "ipv6", no_argument, NULL, '6' },
	{ "prerouting", no_argument, NULL, OPT_PREROUTING },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* A uid: a number, or a user name looked up in the passwd database. */
static int
cmd_redirect_uid(const char *s, long *uid)
{
	struct passwd	*pw;
	char		*end;
	long		 l;

	errno = 0;
	l = strtol(s, &end, 10);
	if (*s != '\0' && *end == '\0' && errno == 0 && l >= 0 &&
	    l <= 0x7fffffffL) {
		*uid = l;
		return 0;
	}
	if ((pw = getpwnam(s)) == NULL)
		return -1;
	*uid = (long)pw->pw_uid;
	return 0;
}

static int
cmd_redirect_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_redirect_entry;
	struct redirect_config	 cfg;
	struct buf		 cmds;
	const char		*verb;
	char			*cause = NULL, *end;
	unsigned long		 ul;
	long			 l;
	int			 ch, rv = EXIT_USAGE, install, to_port_set = 0;

	redirect_config_init(&cfg);
	buf_init(&cmds);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "p:at:u:m:6nh",
	    cmd_redirect_options, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (redirect_parse_ports(optarg, &cfg.ports,
			    &cfg.nports, &cause) == -1) {
				rv = cli_usage(e, "--ports: %s", cause);
				goto out;
			}
			break;
		case 'a':
			cfg.all = 1;
			break;
		case OPT_EXCLUDE_PORTS:
			if (redirect_parse_ports(optarg, &cfg.exclude_ports,
			    &cfg.nexclude_ports, &cause) == -1) {
				rv = cli_usage(e, "--exclude-ports: %s", cause);
				goto out;
			}
			break;
		case OPT_EXCLUDE_CIDR:
			if (redirect_parse_cidrs(optarg, &cfg.exclude_cidr,
			    &cfg.nexclude_cidr, &cause) == -1) {
				rv = cli_usage(e, "--exclude-cidr: %s", cause);
				goto out;
			}
			break;
		case OPT_INCLUDE_LOOPBACK:
			cfg.include_loopback = 1;
			break;
		case 't':
			errno = 0;
			l = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    l < 1 || l > 65535) {
				rv = cli_usage(e, "--to-port: expected 1..65535, "
				    "not \"%s\"", optarg);
				goto out;
			}
			cfg.to_port = (int)l;
			to_port_set = 1;
			break;
		case 'u':
			if (cmd_redirect_uid(optarg, &cfg.uid) == -1) {
				rv = cli_usage(e, "--uid: no such user \"%s\"",
				    optarg);
				goto out;
			}
			break;
		case 'm':
			errno = 0;
			ul = strtoul(optarg, &end, 0);
			if (*optarg == '\0' || *optarg == '-' || *end != '\0' ||
			    errno != 0 || ul == 0 || ul > 0xffffffffUL) {
				rv = cli_usage(e, "--mark: expected a non-zero "
				    "32-bit number (0xdec0), not \"%s\"", optarg);
				goto out;
			}
			cfg.mark = (unsigned int)ul;
			cfg.has_mark = 1;
			break;
		case '6':
			cfg.ipv6 = 1;
			break;
		case OPT_PREROUTING:
			cfg.prerouting = 1;
			break;
		case 'n':
			cfg.dry_run = 1;
			break;
		case OPT_JSON:
			cfg.commands = &cmds;
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
		rv = cli_usage(e, "expected install or remove");
		goto out;
	}
	verb = argv[optind];
	if (strcmp(verb, "install") == 0)
		install = 1;
	else if (strcmp(verb, "remove") == 0)
		install = 0;
	else {
		rv = cli_usage(e, "expected install or remove, not \"%s\"",
		    verb);
		goto out;
	}
	if (install) {
		if (!to_port_set) {
			rv = cli_usage(e, "install: --to-port L is required");
			goto out;
		}
		if (cfg.all == (cfg.nports > 0)) {
			rv = cli_usage(e, "install: expected --ports P,... or "
			    "--all");
			goto out;
		}
		if (!cfg.all && cfg.nexclude_ports > 0) {
			rv = cli_usage(e, "install: --exclude-ports goes with "
			    "--all");
			goto out;
		}
	}
	if (!cfg.dry_run && priv_require(PRIV_CAP(CAP_NET_ADMIN),
	    "decoy redirect (changing the nat table)", &cause) == -1) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	if ((install ? redirect_install(&cfg, &cause) :
	    redirect_remove(&cfg, &cause)) == -1) {
		rv = cli_error(e, EXIT_USAGE, "%s%s", cause, install ?
		    " (`decoy redirect remove` clears a partial install)" : "");
		goto out;
	}
	if (cfg.commands != NULL) {
		printf("{\"action\":\"%s\",\"dry_run\":%s,\"commands\":[%.*s]}\n",
		    install ? "install" : "remove", cfg.dry_run ? "true" :
		    "false", (int)cmds.len, cmds.data != NULL ? cmds.data : "");
		if (fflush(stdout) == EOF) {
			rv = cli_error(e, EXIT_USAGE, "writing output failed");
			goto out;
		}
	}
	rv = EXIT_OK;
out:
	buf_free(&cmds);
	free(cause);
	redirect_config_free(&cfg);
	return rv;
}
