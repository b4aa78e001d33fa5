/*
 * cmd-redirect.c -- `decoy redirect install|remove`: the iptables nat
 * rules that send outbound TCP to a transparent decoy (redirect.h).
 */
#include "config.h"

#include <linux/capability.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "opt.h"
#include "priv.h"
#include "redirect.h"
#include "xmalloc.h"

static int	cmd_redirect_exec(int, char **);

struct cmd_redirect_o {
	struct redirect_config	cfg;
	int			to_port_set;
	int			json;
};

#define CMD_REDIRECT_AT(m)	OPT_AT(struct cmd_redirect_o, cfg.m)

static int
cmd_redirect_ports(void *base, void *field, const char *arg, char **cause)
{
	struct redirect_config	*cfg = &((struct cmd_redirect_o *)base)->cfg;

	return redirect_parse_ports(arg, &cfg->ports, &cfg->nports, cause);
}

static int
cmd_redirect_exclude_ports(void *base, void *field, const char *arg,
    char **cause)
{
	struct redirect_config	*cfg = &((struct cmd_redirect_o *)base)->cfg;

	return redirect_parse_ports(arg, &cfg->exclude_ports,
	    &cfg->nexclude_ports, cause);
}

static int
cmd_redirect_exclude_cidr(void *base, void *field, const char *arg,
    char **cause)
{
	struct redirect_config	*cfg = &((struct cmd_redirect_o *)base)->cfg;

	return redirect_parse_cidrs(arg, &cfg->exclude_cidr,
	    &cfg->nexclude_cidr, cause);
}

/* A uid: a number, or a user name looked up in the passwd database. */
static int
cmd_redirect_uid(void *base, void *field, const char *s, char **cause)
{
	struct passwd	*pw;
	char		*end;
	long		 l, *uid = field;

	errno = 0;
	l = strtol(s, &end, 10);
	if (*s != '\0' && *end == '\0' && errno == 0 && l >= 0 &&
	    l <= 0x7fffffffL) {
		*uid = l;
		return 0;
	}
	if ((pw = getpwnam(s)) == NULL) {
		*cause = xasprintf("no such user \"%s\"", s);
		return -1;
	}
	*uid = (long)pw->pw_uid;
	return 0;
}

static const struct opt cmd_redirect_opts[] = {
	{ "ports", 0, OPT_CALL, "P,...",
	  "redirect these destination ports (80,443,\n"
	  "8000-8100)",
	  .call = cmd_redirect_ports, .flags = OPT_ARG, .aliases = "-p" },
	{ "all", 'a', OPT_FLAG, NULL,
	  "redirect every port, but --exclude-ports",
	  CMD_REDIRECT_AT(all) },
	{ "exclude-ports", 0, OPT_CALL, "P,...",
	  "with --all: leave these ports alone",
	  .call = cmd_redirect_exclude_ports, .flags = OPT_ARG },
	{ "exclude-cidr", 0, OPT_CALL, "C,...",
	  "leave these destinations alone (10.0.0.0/8,\n"
	  "fd00::/8); loopback is always left alone",
	  .call = cmd_redirect_exclude_cidr, .flags = OPT_ARG },
	{ "include-loopback", 0, OPT_FLAG, NULL,
	  "redirect loopback destinations too",
	  CMD_REDIRECT_AT(include_loopback) },
	{ "to-port", 0, OPT_INT, "L",
	  "the port decoy listens on (--transparent)",
	  CMD_REDIRECT_AT(to_port), .min = 1, .max = 65535,
	  OPT_SEEN(struct cmd_redirect_o, to_port_set), .aliases = "-t" },
	{ "uid", 0, OPT_CALL, "U",
	  "never redirect the traffic of uid (or user) U:\n"
	  "the uid decoy runs as",
	  CMD_REDIRECT_AT(uid), .call = cmd_redirect_uid, .flags = OPT_ARG,
	  .aliases = "-u" },
	{ "mark", 0, OPT_INT, "M",
	  "never redirect packets with mark M (default\n"
	  "0xdec0, what decoy record --transparent sets,\n"
	  "unless --uid is given)",
	  CMD_REDIRECT_AT(mark), .min = 1, .max = 0xffffffff,
	  OPT_SEEN(struct cmd_redirect_o, cfg.has_mark), .aliases = "-m" },
	{ "ipv6", '6', OPT_FLAG, NULL,
	  "ip6tables too (remove: done when present)",
	  CMD_REDIRECT_AT(ipv6) },
	{ "prerouting", 0, OPT_FLAG, NULL,
	  "also redirect TCP arriving in the namespace\n"
	  "(nat PREROUTING, chain DECOY_REDIRECT_IN)",
	  CMD_REDIRECT_AT(prerouting) },
	{ "dry-run", 'n', OPT_FLAG, NULL,
	  "print the commands instead of running them",
	  CMD_REDIRECT_AT(dry_run) },
	{ "json", 0, OPT_FLAG, NULL,
	  "print {\"action\",\"dry_run\",\"commands\"}\n"
	  "(each command an array of its words) on stdout",
	  OPT_AT(struct cmd_redirect_o, json) },
	OPT_END_ROW,
};

const struct cmd_entry cmd_redirect_entry = {
	.name = "redirect",
	.args = "install --ports P,... | --all [--exclude-ports P,...]\n"
	    "           [--exclude-cidr C,...] --to-port L [--uid U | --mark M]\n"
	    "           [--ipv6] [--prerouting] [--dry-run]\n"
	    "       decoy redirect remove [--ipv6] [--dry-run]",
	.summary = "install or remove the iptables rules of transparent mode",
	.intro =
	    "  install: redirect this network namespace's outbound TCP (nat OUTPUT)\n"
	    "  to a transparent decoy on port L, through a chain of its own\n"
	    "  (DECOY_REDIRECT); idempotent.  remove: delete the jumps and chains,\n"
	    "  leaving the rest of the nat table as it was.\n",
	.opts = cmd_redirect_opts,
	.notes = "  Needs CAP_NET_ADMIN (root) and the iptables binaries.\n",
	.exec = cmd_redirect_exec,
};

static int
cmd_redirect_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_redirect_entry;
	struct cmd_redirect_o	 o = { .to_port_set = 0 };
	struct redirect_config	*cfg = &o.cfg;
	struct buf		 cmds;
	const char		*verb;
	char			*cause = NULL;
	int			 ind, rv = EXIT_USAGE, install;

	redirect_config_init(cfg);
	buf_init(&cmds);
	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &rv) == -1)
		goto out;
	if (o.json)
		cfg->commands = &cmds;
	if (argc - ind != 1) {
		rv = cli_usage(e, "expected install or remove");
		goto out;
	}
	verb = argv[ind];
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
		if (!o.to_port_set) {
			rv = cli_usage(e, "install: --to-port L is required");
			goto out;
		}
		if (cfg->all == (cfg->nports > 0)) {
			rv = cli_usage(e, "install: expected --ports P,... or "
			    "--all");
			goto out;
		}
		if (!cfg->all && cfg->nexclude_ports > 0) {
			rv = cli_usage(e, "install: --exclude-ports goes with "
			    "--all");
			goto out;
		}
	}
	if (!cfg->dry_run && priv_require(PRIV_CAP(CAP_NET_ADMIN),
	    "decoy redirect (changing the nat table)", &cause) == -1) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	if ((install ? redirect_install(cfg, &cause) :
	    redirect_remove(cfg, &cause)) == -1) {
		rv = cli_error(e, EXIT_USAGE, "%s%s", cause, install ?
		    " (`decoy redirect remove` clears a partial install)" : "");
		goto out;
	}
	if (cfg->commands != NULL) {
		printf("{\"action\":\"%s\",\"dry_run\":%s,\"commands\":[%.*s]}\n",
		    install ? "install" : "remove", cfg->dry_run ? "true" :
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
	redirect_config_free(cfg);
	return rv;
}
