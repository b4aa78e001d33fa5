/*
 * cmd-ca.c -- `decoy ca init|show [--ca DIR]`: make decoy's certificate
 * authority, or print its certificate for clients to trust.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ca.h"
#include "cli.h"
#include "json.h"
#include "xmalloc.h"

static int	cmd_ca_exec(int, char **);

struct cmd_ca_o {
	const char	*dir;
	int		 force;
	int		 json;
};

static const struct opt cmd_ca_opts[] = {
	{ "ca", 0, OPT_PATH, "DIR", "the CA directory (default $DECOY_CA_DIR, "
	  "else\n~/.decoy/ca)", OPT_AT(struct cmd_ca_o, dir) },
	{ "force", 0, OPT_FLAG, NULL, "init: replace an existing CA",
	  OPT_AT(struct cmd_ca_o, force), .aliases = "-f" },
	{ "json", 0, OPT_FLAG, NULL, "print {\"dir\",\"cert\",\"key\"} (init) or\n"
	  "{\"dir\",\"cert\",\"pem\"} (show) on stdout",
	  OPT_AT(struct cmd_ca_o, json) },
	OPT_END_ROW,
};

const struct cmd_entry cmd_ca_entry = {
	.name = "ca",
	.args = "init|show [--ca DIR] [--force] [--json]",
	.summary = "make decoy's certificate authority or show its certificate",
	.intro =
	    "  init                      make a CA (EC P-256, 10 years): DIR/ca.pem and\n"
	    "                            DIR/ca.key (mode 0600)\n"
	    "  show                      print the CA certificate (PEM) on stdout and how\n"
	    "                            to install it on stderr\n",
	.opts = cmd_ca_opts,
	.exec = cmd_ca_exec,
};

/* {"dir":D,"cert":D/ca.pem,KEY:VALUE} on stdout. */
static int
cmd_ca_json(const char *dir, const char *key, const char *value)
{
	struct buf	 b;
	char		*p;

	buf_init(&b);
	buf_append_str(&b, "{\"dir\":");
	json_append_string(&b, dir, strlen(dir));
	p = xasprintf("%s/ca.pem", dir);
	buf_append_str(&b, ",\"cert\":");
	json_append_string(&b, p, strlen(p));
	free(p);
	buf_printf(&b, ",\"%s\":", key);
	json_append_string(&b, value, strlen(value));
	buf_append_str(&b, "}\n");
	return cli_put(&b);
}

static int
cmd_ca_show(const struct cmd_entry *e, const char *dir, int json)
{
	struct ca	*ca;
	char		*cause = NULL;
	int		 rv;

	if ((ca = ca_load(dir, &cause)) == NULL) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		free(cause);
		return rv;
	}
	if (json) {
		rv = cmd_ca_json(dir, "pem", ca_cert_pem(ca)) == -1 ?
		    EXIT_FAILED : EXIT_OK;
		ca_free(ca);
		return rv;
	}
	fputs(ca_cert_pem(ca), stdout);
	fprintf(stderr,
	    "To trust this CA system-wide (Debian, Ubuntu):\n"
	    "  decoy ca show --ca %s > decoy.crt\n"
	    "  sudo cp decoy.crt /usr/local/share/ca-certificates/decoy.crt\n"
	    "  sudo update-ca-certificates\n"
	    "or per client: curl --cacert %s/ca.pem https://...\n",
	    dir, dir);
	ca_free(ca);
	return fflush(stdout) == EOF ? EXIT_FAILED : EXIT_OK;
}

static int
cmd_ca_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_ca_entry;
	const char		*dir = NULL, *verb = NULL;
	char			*cause = NULL;
	struct cmd_ca_o		 o = { .dir = NULL };
	int			 ind, force, rv, json;
	char			*key;

	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &rv) == -1)
		return rv;
	dir = o.dir;
	force = o.force;
	json = o.json;
	if (argc - ind != 1)
		return cli_usage(e, "expected init or show");
	verb = argv[ind];
	if (dir == NULL)
		dir = ca_default_dir();
	if (strcmp(verb, "show") == 0) {
		if (force)
			return cli_usage(e, "--force is for init");
		return cmd_ca_show(e, dir, json);
	}
	if (strcmp(verb, "init") != 0)
		return cli_usage(e, "unknown subcommand \"%s\"", verb);
	if (ca_init(dir, force, &cause) == -1) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		free(cause);
		return rv;
	}
	if (json) {
		key = xasprintf("%s/ca.key", dir);
		rv = cmd_ca_json(dir, "key", key) == -1 ? EXIT_FAILED :
		    EXIT_OK;
		free(key);
		return rv;
	}
	fprintf(stderr, "decoy ca: wrote %s/ca.pem and %s/ca.key; "
	    "`decoy ca show --ca %s` tells how to install it\n", dir, dir, dir);
	return EXIT_OK;
}
