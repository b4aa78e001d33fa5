/*
 * decoyd.c -- the decoy daemon: the responder configured from a file.
 *
 *	decoyd [-c FILE] [-d] [-n] [-r RULES]... [-s SEED]
 *
 * -n checks the configuration (and loads the snapshot and the rules) and
 * exits; -d logs at debug level; -r adds a rule file after those of the
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
#include <getopt.h>
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
#include "respond-priv.h"
#include "respond.h"
#include "sock.h"

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

static void
decoyd_usage(FILE *f)
{
	fprintf(f, "usage: decoyd [-c FILE] [-d] [-n] [-r RULES]... [-s SEED] "
	    "[-h] [-V]\n"
	    "  -c, --config FILE  configuration (default "
	    DECOYD_DEFAULT_CONF ")\n"
	    "  -d, --debug        log at debug level\n"
	    "  -n, --check        check the configuration, the snapshot and "
	    "the rules, then exit\n"
	    "  -r, --rules FILE   a chaos rule file, after the configuration's;"
	    " repeatable\n"
	    "  -s, --seed N       the chaos seed (overrides the "
	    "configuration's)\n"
	    "  -V, --version      print the version\n");
}

int
main(int argc, char **argv)
{
	struct decoyd_conf	 conf;
	struct responder	*r;
	struct admin		*admin;
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "debug", no_argument, NULL, 'd' },
		{ "check", no_argument, NULL, 'n' },
		{ "rules", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char		*path = DECOYD_DEFAULT_CONF;
	const char		*seed = NULL;
	char			*cause = NULL, **rules = NULL;
	size_t			 nrules = 0, i;
	uint64_t		 seedv = 0;
	int			 ch, debug = 0, check = 0, rv;

	log_init("decoyd", LOG_LEVEL_INFO);
	while ((ch = getopt_long(argc, argv, "c:dnr:s:hV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'r':
			rules = reallocarray(rules, nrules + 1, sizeof *rules);
			if (rules == NULL)
				fatal("reallocarray");
			rules[nrules++] = optarg;
			break;
		case 's':
			if (units_parse_seed(optarg, &seedv) == -1) {
				fprintf(stderr, "decoyd: -s: expected an "
				    "unsigned integer, not \"%s\"\n", optarg);
				return 2;
			}
			seed = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'h':
			decoyd_usage(stdout);
			return 0;
		case 'V':
			printf("decoyd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			decoyd_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		decoyd_usage(stderr);
		return 2;
	}
	if (conf_load(path, &conf, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		conf_free(&conf);
		free(rules);
		return 2;
	}
	for (i = 0; i < nrules; i++)
		respond_config_add_rules(&conf.respond, rules[i]);
	free(rules);
	if (seed != NULL) {
		conf.respond.seed = seedv;
		conf.respond.has_seed = 1;
	}
	log_init("decoyd", debug ? LOG_LEVEL_DEBUG : conf.log_level);
	if (check) {
		if (respond_check(&conf.respond, &cause) == -1) {
			fprintf(stderr, "%s\n", cause);
			free(cause);
			conf_free(&conf);
			return 2;
		}
		printf("%s: configuration OK\n", path);
		conf_free(&conf);
		return 0;
	}
	if (priv_user_check(&conf.user, &cause) == -1) {
		fprintf(stderr, "decoyd: %s: user: %s\n", path, cause);
		free(cause);
		conf_free(&conf);
		return 2;
	}
	log_debug("open-file limit %llu", sock_raise_nofile());
	if ((r = respond_create(&conf.respond, &cause)) == NULL) {
		fprintf(stderr, "decoyd: %s\n", cause);
		free(cause);
		conf_free(&conf);
		return 2;
	}
	admin = NULL;
	if (conf.respond.admin != NULL && (admin = admin_create(r,
	    conf.respond.admin, conf.respond.admin_token,
	    conf.respond.admin_port_file, &cause)) == NULL) {
		fprintf(stderr, "decoyd: admin API: %s\n", cause);
		free(cause);
		respond_free(r);
		conf_free(&conf);
		return 2;
	}
	/* Everything is bound and loaded, and no thread runs yet. */
	if (respond_priv_drop(&conf.respond, &conf.user, &cause) == -1 ||
	    (admin != NULL && admin_serve(admin, &cause) == -1)) {
		fprintf(stderr, "decoyd: %s\n", cause);
		free(cause);
		admin_stop(admin);
		respond_free(r);
		conf_free(&conf);
		return 2;
	}
	/* Bound and serving from here on. */
	decoyd_notify("READY=1");
	rv = respond_run(r) == 0 ? 0 : 1;
	admin_stop(admin);
	respond_free(r);
	conf_free(&conf);
	return rv;
}
