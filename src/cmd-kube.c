/*
 * cmd-kube.c -- `decoy kube inject|eject [FILE]`: decoy added to (or
 * removed from) the Kubernetes workloads of a YAML stream (kube.h), read
 * from FILE or stdin and written to stdout or -o FILE, for
 * `decoy kube inject -f app.yaml | kubectl apply -f -`.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "kube.h"
#include "xmalloc.h"
#include "yamldoc.h"

static int	cmd_kube_exec(int, char **);

const struct cmd_entry cmd_kube_entry = {
	.name = "kube",
	.args = "inject [--all] [--image IMAGE] [-o OUT] [FILE]\n"
	    "       decoy kube eject [-o OUT] [FILE]",
	.summary = "add decoy to Kubernetes workloads (or remove it)",
	.help =
	    "  inject: add to each workload of FILE (default: stdin; Deployment,\n"
	    "  StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod, also in a\n"
	    "  List) annotated decoy.dev/inject: \"true\" the redirect init container\n"
	    "  and decoy as a native sidecar (decoy(1), docs/kubernetes.md); other\n"
	    "  documents are copied as they are.  Injecting twice changes nothing.\n"
	    "  eject: remove exactly what inject adds.\n"
	    "\n"
	    "  -a, --all                 inject every workload not annotated\n"
	    "                            decoy.dev/inject: \"false\"\n"
	    "  -i, --image IMAGE         decoy's image (default decoy:" PACKAGE_VERSION
	    ";\n"
	    "                            the decoy.dev/image annotation wins)\n"
	    "  -o, --output FILE         write to FILE (default: stdout)\n"
	    "  -f, --filename FILE       read FILE (same as the argument; - for stdin)\n"
	    "  -h, --help                this help\n"
	    "\n"
	    "Exit status 2 on bad input, every problem as FILE:LINE:COL: message.\n",
	.exec = cmd_kube_exec,
};

static const struct option cmd_kube_options[] = {
	{ "all", no_argument, NULL, 'a' },
	{ "image", required_argument, NULL, 'i' },
	{ "output", required_argument, NULL, 'o' },
	{ "filename", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Reads path ("-": stdin) whole, up to one byte past yamldoc's bound (so
 * the loader reports the size); NULL with *cause. */
static char *
cmd_kube_read(const char *path, size_t *len, char **cause)
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
	while (b.len <= YAMLDOC_MAX_BYTES) {
		buf_reserve(&b, 64 * 1024);
		n = read(fd, b.data + b.len, b.cap - b.len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		b.len += (size_t)n;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (n == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		buf_free(&b);
		return NULL;
	}
	if (b.data == NULL)
		buf_reserve(&b, 1);
	return buf_detach(&b, len);
}

static int
cmd_kube_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_kube_entry;
	struct kube_opts	 opts;
	struct buf		 out;
	const char		*verb, *in = NULL, *output = NULL, *name;
	char			*text = NULL, *cause = NULL;
	size_t			 len, nchanged;
	int			 ch, rv = EXIT_USAGE;

	memset(&opts, 0, sizeof opts);
	buf_init(&out);
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		cli_help(e);
		return EXIT_OK;
	}
	if (argc < 2)
		return cli_usage(e, "expected inject or eject");
	verb = argv[1];
	if (strcmp(verb, "inject") == 0)
		opts.eject = 0;
	else if (strcmp(verb, "eject") == 0)
		opts.eject = 1;
	else
		return cli_usage(e, "unknown subcommand \"%s\"", verb);
	argc--;
	argv++;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "ai:o:f:h", cmd_kube_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			opts.all = 1;
			break;
		case 'i':
			if (*optarg == '\0' || strpbrk(optarg, " \t\r\n") != NULL)
				return cli_usage(e, "--image: expected an "
				    "image reference, not \"%s\"", optarg);
			opts.image = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'f':
			in = optarg;
			break;
		case 'h':
			cli_help(e);
			return EXIT_OK;
		default:
			return cli_usage(e, "unknown option");
		}
	}
	if (opts.eject && (opts.all || opts.image != NULL))
		return cli_usage(e, "eject takes no --all or --image");
	if (optind < argc) {
		if (in != NULL || optind + 1 < argc)
			return cli_usage(e, "expected one input file");
		in = argv[optind];
	}
	if (in == NULL)
		in = "-";
	name = strcmp(in, "-") == 0 ? "<stdin>" : in;
	if ((text = cmd_kube_read(in, &len, &cause)) == NULL) {
		rv = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	if (kube_rewrite(&opts, name, text, len, &out, &nchanged,
	    &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		rv = EXIT_USAGE;
		goto out;
	}
	if (output != NULL && strcmp(output, "-") != 0) {
		if (buf_write_file(output, out.data, out.len, 0644,
		    &cause) == -1) {
			rv = cli_error(e, EXIT_USAGE, "%s", cause);
			goto out;
		}
	} else if (out.len > 0 && (fwrite(out.data, 1, out.len, stdout) !=
	    out.len || fflush(stdout) != 0)) {
		rv = cli_error(e, EXIT_FAILED, "writing the output: %s",
		    strerror(errno));
		goto out;
	}
	rv = EXIT_OK;
out:
	free(text);
	free(cause);
	buf_free(&out);
	return rv;
}
