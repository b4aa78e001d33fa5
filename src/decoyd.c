/*
 * decoyd.c -- the decoy daemon: the responder configured from a file.
 *
 *	decoyd [-c FILE] [-n] [-r RULES]... [-s SEED] [-v | -q]
 *
 * -n checks the configuration (and loads the snapshot and the rules) and
 * exits; -v logs at debug level (-d, --debug: the old spellings), -q
 * warnings and errors only; -r adds a rule file after those of the
 * configuration; -s sets the chaos seed.  SIGTERM and SIGINT drain and
 * exit, SIGHUP reloads.  Once bound and loaded it keeps no capability
 * and becomes the configuration's user, if any (respond-priv.h).  Under
 * systemd (Type=notify) it says READY=1 once its listeners and admin API
 * are bound.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "conf.h"
#include "decoy-paths.h"
#include "log.h"
#include "opt.h"
#include "protodesc.h"
#include "respond-priv.h"
#include "respond.h"
#include "snap.h"
#include "sock.h"
#include "xmalloc.h"

#define DECOYD_DEFAULT_CONF	DECOY_SYSCONFDIR "/decoy/decoyd.yaml"

/*
 * Tells systemd (Type=notify) that decoyd is ready: state ("READY=1") as
 * one datagram to $NOTIFY_SOCKET, a path or, with a leading '@', an
 * abstract name -- the sd_notify(3) protocol, spoken here so that decoy
 * needs no libsystemd.  Nothing happens outside systemd.
 */
static void
decoyd_notify(const char *state)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	socklen_t		 len;
	size_t			 plen;
	int			 fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (plen = strlen(path)) >= sizeof sun.sun_path)
		return;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1)
		log_warn("sd_notify %s: %s", path, strerror(errno));
	close(fd);
}

struct decoyd_o {
	const char	*path;
	char		**rules;
	size_t		 nrules;
	uint64_t	 seed;
	int		 has_seed;
	int		 check;
	int		 level;		/* -1: the configuration's */
	int		 version;
};

static const struct opt decoyd_opts[] = {
	{ "config", 'c', OPT_PATH, NULL,
	  "configuration (default " DECOYD_DEFAULT_CONF ")",
	  OPT_AT(struct decoyd_o, path) },
	{ "check", 'n', OPT_FLAG, NULL,
	  "check the configuration, the snapshot and the\n"
	  "rules, then exit", OPT_AT(struct decoyd_o, check) },
	{ "rules", 'r', OPT_LIST, "FILE",
	  "a chaos rule file, after the configuration's;\nrepeatable",
	  OPT_AT(struct decoyd_o, rules), OPT_NUM(struct decoyd_o, nrules) },
	{ "seed", 's', OPT_SEED, NULL,
	  "the chaos seed (overrides the configuration's)",
	  OPT_AT(struct decoyd_o, seed), OPT_SEEN(struct decoyd_o, has_seed) },
	{ "verbose", 'v', OPT_FLAG, NULL, "log at debug level",
	  OPT_AT(struct decoyd_o, level), .value = LOG_LEVEL_DEBUG,
	  .aliases = "-d --debug" },
	{ "quiet", 'q', OPT_FLAG, NULL, "log warnings and errors only",
	  OPT_AT(struct decoyd_o, level), .value = LOG_LEVEL_WARN },
	{ "version", 'V', OPT_FLAG, NULL, "print the version",
	  OPT_AT(struct decoyd_o, version) },
	OPT_END_ROW,
};

/* The usage line, and with full the options and their old spellings. */
static void
decoyd_usage(FILE *f, int full)
{
	fprintf(f, "usage: decoyd [-c FILE] [-n] [-r RULES]... [-s SEED] "
	    "[-v | -q] [-h] [-V]\n");
	if (!full)
		return;
	fprintf(f, "\noptions:\n");
	opt_help(decoyd_opts, f);
	fprintf(f, "  -h, --help                this help\n");
	if (opt_help_aliases(decoyd_opts, NULL, NULL) > 0) {
		fprintf(f, "\nold spellings, still accepted:\n");
		opt_help_aliases(decoyd_opts, NULL, f);
	}
}

/* The configuration and the descriptor set (which the snapshot codec
 * stops using) freed. */
static void
decoyd_free(struct decoyd_conf *conf, struct protodesc *pset)
{
	conf_free(conf);
	snap_set_protodesc(NULL);
	protodesc_free(pset);
}

int
main(int argc, char **argv)
{
	struct decoyd_conf	 conf;
	struct responder	*r;
	struct admin		*admin;
	struct protodesc	*pset = NULL;
	struct decoyd_o		 o = { .path = DECOYD_DEFAULT_CONF,
				     .level = -1 };
	const char		*path;
	char			*cause = NULL;
	size_t			 i;
	int			 ind, rv;

	log_init("decoyd", LOG_LEVEL_INFO);
	rv = opt_parse(decoyd_opts, argc, argv, &o, 0, &ind, &cause);
	if (rv == 0 && ind != argc) {
		cause = xasprintf("unexpected argument \"%s\"", argv[ind]);
		rv = -1;
	}
	if (rv != 0 || o.version) {
		if (rv == -1)
			fprintf(stderr, "decoyd: %s\n", cause);
		if (rv == 0)
			printf("decoyd %s\n", PACKAGE_VERSION);
		else
			decoyd_usage(rv == 1 ? stdout : stderr, rv == 1);
		free(cause);
		opt_list_free(o.rules, o.nrules);
		return rv == -1 ? 2 : 0;
	}
	path = o.path;
	if (conf_load(path, &conf, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		conf_free(&conf);
		opt_list_free(o.rules, o.nrules);
		return 2;
	}
	for (i = 0; i < o.nrules; i++)
		respond_config_add_rules(&conf.respond, o.rules[i]);
	opt_list_free(o.rules, o.nrules);
	if (o.has_seed) {
		conf.respond.seed = o.seed;
		conf.respond.has_seed = 1;
	}
	log_init("decoyd", o.level != -1 ? (enum log_level)o.level :
	    conf.log_level);
	if (conf.respond.proto_set != NULL &&
	    (pset = protodesc_load(conf.respond.proto_set, &cause)) == NULL) {
		fprintf(stderr, "decoyd: %s: proto_set: %s\n", path, cause);
		free(cause);
		conf_free(&conf);
		return 2;
	}
	snap_set_protodesc(pset);
	if (o.check) {
		if (respond_check(&conf.respond, &cause) == -1) {
			fprintf(stderr, "%s\n", cause);
			free(cause);
			decoyd_free(&conf, pset);
			return 2;
		}
		printf("%s: configuration OK\n", path);
		decoyd_free(&conf, pset);
		return 0;
	}
	if (priv_user_check(&conf.user, &cause) == -1) {
		fprintf(stderr, "decoyd: %s: user: %s\n", path, cause);
		free(cause);
		decoyd_free(&conf, pset);
		return 2;
	}
	log_debug("open-file limit %llu", sock_raise_nofile());
	if ((r = respond_create(&conf.respond, &cause)) == NULL) {
		fprintf(stderr, "decoyd: %s\n", cause);
		free(cause);
		decoyd_free(&conf, pset);
		return 2;
	}
	admin = NULL;
	if (conf.respond.admin != NULL && (admin = admin_create(r,
	    conf.respond.admin, conf.respond.admin_token,
	    conf.respond.admin_port_file, &cause)) == NULL) {
		fprintf(stderr, "decoyd: admin API: %s\n", cause);
		free(cause);
		respond_free(r);
		decoyd_free(&conf, pset);
		return 2;
	}
	/* Everything is bound and loaded, and no thread runs yet. */
	if (respond_priv_drop(&conf.respond, &conf.user, &cause) == -1 ||
	    (admin != NULL && admin_serve(admin, &cause) == -1)) {
		fprintf(stderr, "decoyd: %s\n", cause);
		free(cause);
		admin_stop(admin);
		respond_free(r);
		decoyd_free(&conf, pset);
		return 2;
	}
	/* Bound and serving from here on. */
	decoyd_notify("READY=1");
	rv = respond_run(r) == 0 ? 0 : 1;
	admin_stop(admin);
	respond_free(r);
	decoyd_free(&conf, pset);
	return rv;
}
