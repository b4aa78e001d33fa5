/*
 * cmd-kube.c -- `decoy kube inject|eject [FILE]`: decoy added to (or
 * removed from) the Kubernetes workloads of a YAML stream (kube.h), read
 * from FILE or stdin and written to stdout or -o FILE, for
 * `decoy kube inject -f app.yaml | kubectl apply -f -`; `decoy kube job`:
 * the Indexed Job that spreads `decoy replay` over N pods, and the Pod
 * that merges their reports.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "kube.h"
#include "shape.h"
#include "xmalloc.h"
#include "yamldoc.h"

static int	cmd_kube_exec(int, char **);

const struct cmd_entry cmd_kube_entry = {
	.name = "kube",
	.args = "inject [--all] [--image IMAGE] [-o OUT] [FILE]\n"
	    "       decoy kube eject [-o OUT] [FILE]\n"
	    "       decoy kube job --parallelism N --target URL\n"
	    "           (--snapshot-claim C | --snapshot-image REF) --reports-claim C\n"
	    "           [--name NAME] [--snapshot FILE] [--start-at TIME] [--merge]\n"
	    "           [-- REPLAY-OPTIONS...]",
	.summary = "add decoy to Kubernetes workloads (or remove it)",
	.help =
	    "  inject: add to each workload of FILE (default: stdin; Deployment,\n"
	    "  StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod, also in a\n"
	    "  List) annotated decoy.dev/inject: \"true\" the redirect init container\n"
	    "  and decoy as a native sidecar (decoy(1), docs/kubernetes.md); other\n"
	    "  documents are copied as they are.  Injecting twice changes nothing.\n"
	    "  eject: remove exactly what inject adds.\n"
	    "  job: an Indexed Job of N pods, pod i running decoy replay --shard i/N,\n"
	    "  all starting at --start-at, each writing its report to a claim;\n"
	    "  --merge: the Pod that merges the N reports (decoy report merge).\n"
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
	    "job:\n"
	    "  -p, --parallelism N       shards (1..1000)\n"
	    "  -t, --target URL          the service, as the pods reach it\n"
	    "      --snapshot FILE       the snapshot in its volume (deps.jsonl)\n"
	    "      --snapshot-claim C    the snapshot's PersistentVolumeClaim, or\n"
	    "      --snapshot-image REF  an image holding it (an image volume)\n"
	    "      --reports-claim C     the claim the reports are written to\n"
	    "                            (ReadWriteMany when pods land on many nodes)\n"
	    "      --name NAME           the Job and its reports' prefix (decoy-load)\n"
	    "      --start-at TIME       when the shards start (RFC 3339 or epoch\n"
	    "                            seconds; default two minutes from now)\n"
	    "      --merge               the merge Pod instead of the Job\n"
	    "  -i, --image, -o, --output as above; after --, options for decoy replay\n"
	    "\n"
	    "Exit status 2 on bad input, every problem as FILE:LINE:COL: message.\n",
	.exec = cmd_kube_exec,
};

enum {
	OPT_SNAPSHOT = 256,
	OPT_SNAPSHOT_CLAIM,
	OPT_SNAPSHOT_IMAGE,
	OPT_REPORTS_CLAIM,
	OPT_NAME,
	OPT_START_AT,
	OPT_MERGE,
};

static const struct option cmd_kube_job_options[] = {
	{ "parallelism", required_argument, NULL, 'p' },
	{ "target", required_argument, NULL, 't' },
	{ "snapshot", required_argument, NULL, OPT_SNAPSHOT },
	{ "snapshot-claim", required_argument, NULL, OPT_SNAPSHOT_CLAIM },
	{ "snapshot-image", required_argument, NULL, OPT_SNAPSHOT_IMAGE },
	{ "reports-claim", required_argument, NULL, OPT_REPORTS_CLAIM },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "start-at", required_argument, NULL, OPT_START_AT },
	{ "merge", no_argument, NULL, OPT_MERGE },
	{ "image", required_argument, NULL, 'i' },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
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

/* Writes out to path, or stdout for NULL or "-"; the exit status. */
static int
cmd_kube_write(const char *path, const struct buf *out)
{
	char	*cause = NULL;
	int	 rv;

	if (path != NULL && strcmp(path, "-") != 0) {
		if (buf_write_file(path, out->data, out->len, 0644,
		    &cause) == -1) {
			rv = cli_error(&cmd_kube_entry, EXIT_USAGE, "%s", cause);
			free(cause);
			return rv;
		}
	} else if (out->len > 0 && (fwrite(out->data, 1, out->len, stdout) !=
	    out->len || fflush(stdout) != 0))
		return cli_error(&cmd_kube_entry, EXIT_FAILED,
		    "writing the output: %s", strerror(errno));
	return EXIT_OK;
}

/* `decoy kube job ...`; argv[0] is "job". */
static int
cmd_kube_job(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_kube_entry;
	struct kube_job		 j;
	struct shape_time	 t;
	struct buf		 out;
	struct tm		 tm;
	time_t			 when;
	const char		*output = NULL, *p;
	char			 start[64], *cause = NULL, *end;
	unsigned long		 n;
	int			 ch, rv;

	memset(&j, 0, sizeof j);
	j.name = "decoy-load";
	j.snapshot = "deps.jsonl";
	when = time(NULL) + 120;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "+p:t:i:o:h", cmd_kube_job_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'p':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end != '\0' ||
			    errno != 0 || n < 1 || n > KUBE_MAX_SHARDS)
				return cli_usage(e, "--parallelism: expected "
				    "1..%d, not \"%s\"", KUBE_MAX_SHARDS, optarg);
			j.parallelism = (unsigned)n;
			break;
		case 't':
			j.target = optarg;
			break;
		case OPT_SNAPSHOT:
			if (*optarg == '\0' || *optarg == '/' ||
			    strstr(optarg, "..") != NULL)
				return cli_usage(e, "--snapshot: expected a "
				    "file name relative to the snapshot volume");
			j.snapshot = optarg;
			break;
		case OPT_SNAPSHOT_CLAIM:
			j.snapshot_claim = optarg;
			break;
		case OPT_SNAPSHOT_IMAGE:
			j.snapshot_image = optarg;
			break;
		case OPT_REPORTS_CLAIM:
			j.reports_claim = optarg;
			break;
		case OPT_NAME:
			j.name = optarg;
			break;
		case OPT_START_AT:
			if (shape_time_parse(optarg, strlen(optarg), &t) == -1)
				return cli_usage(e, "--start-at: expected a time "
				    "such as 2026-12-07T17:54:34Z or epoch "
				    "seconds, not \"%s\"", optarg);
			when = (time_t)(t.us / 1000000);
			break;
		case OPT_MERGE:
			j.merge = 1;
			break;
		case 'i':
			if (*optarg == '\0' || strpbrk(optarg, " \t\r\n") != NULL)
				return cli_usage(e, "--image: expected an "
				    "image reference, not \"%s\"", optarg);
			j.image = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			cli_help(e);
			return EXIT_OK;
		default:
			return cli_usage(e, "unknown option");
		}
	}
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0)
		return cli_usage(e, "job: replay options go after --");
	j.replay_args = argv + optind;
	if (j.parallelism == 0 || j.reports_claim == NULL ||
	    (!j.merge && j.target == NULL))
		return cli_usage(e, "job needs --parallelism, --target and "
		    "--reports-claim");
	if (!j.merge && (j.snapshot_claim == NULL) ==
	    (j.snapshot_image == NULL))
		return cli_usage(e, "job needs one of --snapshot-claim and "
		    "--snapshot-image");
	for (p = j.target; p != NULL && *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ')
			return cli_usage(e, "--target: no spaces or control "
			    "characters");
	}
	if (gmtime_r(&when, &tm) == NULL ||
	    strftime(start, sizeof start, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return cli_usage(e, "--start-at: out of range");
	j.start_at = start;
	buf_init(&out);
	if (kube_job_render(&j, &out, &cause) == -1) {
		rv = cli_usage(e, "%s", cause);
		free(cause);
	} else
		rv = cmd_kube_write(output, &out);
	buf_free(&out);
	return rv;
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
	if (strcmp(verb, "job") == 0)
		return cmd_kube_job(argc - 1, argv + 1);
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
	rv = cmd_kube_write(output, &out);
out:
	free(text);
	free(cause);
	buf_free(&out);
	return rv;
}
