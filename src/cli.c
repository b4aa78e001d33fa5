/*
 * cli.c -- the decoy command table: dispatch, `decoy --help`, per-command
 * help and the usage/error helpers every command uses.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "log.h"
#include "opt.h"
#include "priv.h"
#include "protodesc.h"
#include "snap.h"
#include "xmalloc.h"

static const struct cmd_entry *const cli_commands[] = {
	&cmd_import_entry,
	&cmd_export_entry,
	&cmd_record_entry,
	&cmd_redirect_entry,
	&cmd_kube_entry,
	&cmd_inspect_entry,
	&cmd_analyze_entry,
	&cmd_split_entry,
	&cmd_respond_entry,
	&cmd_chaos_entry,
	&cmd_replay_entry,
	&cmd_corpus_entry,
	&cmd_fuzz_entry,
	&cmd_run_entry,
	&cmd_report_entry,
	&cmd_ca_entry,
	&cmd_ctl_entry,
};
const struct opt_choice cli_dir_choices[] = {
	{ "in", SNAP_DIR_IN }, { "out", SNAP_DIR_OUT }, { NULL, 0 },
};

#define CLI_NCOMMANDS	(sizeof cli_commands / sizeof cli_commands[0])

static void
cli_usage_all(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: decoy COMMAND [ARGS...]\n\ncommands:\n");
	for (i = 0; i < CLI_NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", cli_commands[i]->name,
		    cli_commands[i]->summary);
	fprintf(f, "\n`decoy COMMAND --help` describes a command; "
	    "decoy(1) has the details.\n");
}

void
cli_help(const struct cmd_entry *e)
{
	printf("usage: decoy %s %s\n\n%s\n", e->name, e->args, e->summary);
	if (e->intro != NULL)
		printf("\n%s", e->intro);
	printf("\noptions:\n");
	opt_help(e->opts, stdout);
	printf("  -h, --help                this help\n");
	if (e->more != NULL) {
		printf("\n%s options:\n", e->more_title);
		opt_help(e->more, stdout);
	}
	if (e->notes != NULL)
		printf("\n%s", e->notes);
	if (opt_help_aliases(e->opts, NULL, NULL) + (e->more != NULL ?
	    opt_help_aliases(e->more, e->opts, NULL) : 0) == 0)
		return;
	/* Completion (completions/decoy) stops reading at this heading. */
	printf("\nold spellings, still accepted:\n");
	opt_help_aliases(e->opts, NULL, stdout);
	if (e->more != NULL)
		opt_help_aliases(e->more, e->opts, stdout);
}

int
cli_parse(const struct cmd_entry *e, const struct opt *t, int argc,
    char **argv, void *base, int flags, int *ind, int *status)
{
	char	*cause = NULL;
	int	 rv;

	rv = opt_parse(t != NULL ? t : e->opts, argc, argv, base, flags, ind,
	    &cause);
	if (rv == 0)
		return 0;
	if (rv == 1) {
		cli_help(e);
		*status = EXIT_OK;
	} else {
		*status = cli_usage(e, "%s", cause);
		free(cause);
	}
	return -1;
}

int
cli_usage(const struct cmd_entry *e, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "decoy %s: ", e->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: decoy %s %s\n", e->name, e->args);
	return EXIT_USAGE;
}

int
cli_error(const struct cmd_entry *e, int status, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "decoy %s: ", e->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

int
cli_opt_user(void *base, void *field, const char *arg, char **cause)
{
	struct priv_user	*u = field;

	priv_user_free(u);
	if (priv_user_lookup(u, arg, cause) == -1 ||
	    priv_user_check(u, cause) == -1)
		return -1;
	return 0;
}

int
cli_opt_token_file(void *base, void *field, const char *arg, char **cause)
{
	char	**token = field;

	free(*token);
	return (*token = admin_token_load(arg, cause)) == NULL ? -1 : 0;
}

int
cli_opt_bps(void *base, void *field, const char *arg, char **cause)
{
	if (conf_parse_rate(arg, field) == -1) {
		*cause = xasprintf("expected a size per second like 1KiB or "
		    "1KiB/s, got \"%s\"", arg);
		return -1;
	}
	return 0;
}

int
cli_opt_unmatched(void *base, void *field, const char *arg, char **cause)
{
	return conf_parse_unmatched(arg, field, cause);
}

int
cli_port_parse(const char *s, uint16_t *port, char **cause)
{
	const char	*p;
	long		 v = 0;

	for (p = s; *p >= '0' && *p <= '9' && v <= 65535; p++)
		v = v * 10 + (*p - '0');
	if (p == s || *p != '\0' || v < 1 || v > 65535) {
		*cause = xasprintf("expected a port 1..65535, got \"%s\"", s);
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

int
cli_proto_set(const char *path, struct protodesc **set, char **cause)
{
	*set = NULL;
	if (path == NULL)
		return 0;
	if ((*set = protodesc_load(path, cause)) == NULL)
		return -1;
	snap_set_protodesc(*set);
	return 0;
}

void
cli_proto_set_free(struct protodesc *set)
{
	if (set == NULL)
		return;
	snap_set_protodesc(NULL);
	protodesc_free(set);
}

char *
cli_read_file(const char *path, size_t max, size_t *len, char **cause)
{
	struct buf	b;
	ssize_t		n = 0;
	int		fd;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b);
	while (b.len <= max) {
		buf_reserve(&b, 64 * 1024);
		n = read(fd, b.data + b.len, b.cap - b.len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		b.len += (size_t)n;
	}
	if (n == -1)
		*cause = xasprintf("%s: %s", path, strerror(errno));
	if (fd != STDIN_FILENO)
		close(fd);
	if (n == -1) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b, len);
}

int
cli_put(struct buf *b)
{
	int	rc = 0;

	if (fwrite(b->data, 1, b->len, stdout) != b->len ||
	    fflush(stdout) == EOF)
		rc = -1;
	buf_free(b);
	return rc;
}

void
cli_log_init(const struct cmd_entry *e, int level)
{
	static char	name[64];	/* log_init keeps the pointer */

	snprintf(name, sizeof name, "decoy %s", e->name);
	log_init(name, (enum log_level)level);
}

int
cli_main(int argc, char **argv)
{
	size_t	i;

	if (argc < 2) {
		cli_usage_all(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		if (argc > 2) {
			for (i = 0; i < CLI_NCOMMANDS; i++) {
				if (strcmp(argv[2], cli_commands[i]->name) == 0) {
					cli_help(cli_commands[i]);
					return EXIT_OK;
				}
			}
		}
		cli_usage_all(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("decoy %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	for (i = 0; i < CLI_NCOMMANDS; i++) {
		if (strcmp(argv[1], cli_commands[i]->name) == 0)
			return cli_commands[i]->exec(argc - 1, argv + 1);
	}
	fprintf(stderr, "decoy: unknown command \"%s\"\n", argv[1]);
	cli_usage_all(stderr);
	return EXIT_USAGE;
}
