/*
 * decoyd.c -- the decoy daemon: the responder configured from a file.
 *
 *	decoyd [-c FILE] [-d] [-n]
 *
 * -n checks the configuration (and loads the snapshot) and exits; -d logs
 * at debug level.  SIGTERM and SIGINT drain and exit.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "conf.h"
#include "log.h"
#include "respond.h"

#define DECOYD_DEFAULT_CONF	SYSCONFDIR "/decoy/decoyd.yaml"

static void
decoyd_usage(FILE *f)
{
	fprintf(f, "usage: decoyd [-c FILE] [-d] [-n] [-h] [-V]\n"
	    "  -c FILE  configuration (default " DECOYD_DEFAULT_CONF ")\n"
	    "  -d       log at debug level\n"
	    "  -n       check the configuration and the snapshot, then exit\n"
	    "  -V       print the version\n");
}

int
main(int argc, char **argv)
{
	struct decoyd_conf	 conf;
	struct responder	*r;
	struct admin		*admin;
	const char		*path = DECOYD_DEFAULT_CONF;
	char			*cause = NULL;
	int			 ch, debug = 0, check = 0, rv;

	log_init("decoyd", LOG_LEVEL_INFO);
	while ((ch = getopt(argc, argv, "c:dnhV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
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
		return 2;
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
	if ((r = respond_create(&conf.respond, &cause)) == NULL) {
		fprintf(stderr, "decoyd: %s\n", cause);
		free(cause);
		conf_free(&conf);
		return 2;
	}
	admin = NULL;
	if (conf.respond.admin != NULL && (admin = admin_start(r,
	    conf.respond.admin, conf.respond.admin_token,
	    conf.respond.admin_port_file, &cause)) == NULL) {
		fprintf(stderr, "decoyd: admin API: %s\n", cause);
		free(cause);
		respond_free(r);
		conf_free(&conf);
		return 2;
	}
	rv = respond_run(r) == 0 ? 0 : 1;
	admin_stop(admin);
	respond_free(r);
	conf_free(&conf);
	return rv;
}
