/*
 * cmd-kube.c -- `decoy kube inject|eject [FILE]`: decoy added to (or
 * removed from) the Kubernetes workloads of a YAML stream (kube.h), read
 * from FILE or stdin and written to stdout or -o FILE, for
 * `decoy kube inject -f app.yaml | kubectl apply -f -`; `decoy kube job
 * [SCENARIO]`: the Indexed Job that spreads a scenario's load (or `decoy
 * replay` with the options given) over N pods, and the Pod that merges
 * their reports; the scenario's assertions are then evaluated on the
 * merged report by `decoy report --assert SCENARIO`.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "kube.h"
#include "scenario.h"
#include "shape.h"
#include "xmalloc.h"
#include "yamldoc.h"

static int	cmd_kube_exec(int, char **);
static int	cmd_kube_job_render(struct kube_job *, time_t, const char *);

const struct cmd_entry cmd_kube_entry = {
	.name = "kube",
	.args = "inject [--all] [--image IMAGE] [-o OUT] [FILE]\n"
	    "       decoy kube eject [-o OUT] [FILE]\n"
	    "       decoy kube job [SCENARIO] --parallelism N [--target URL]\n"
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
	    "  job: an Indexed Job of N pods, pod i running SCENARIO's load (decoy\n"
	    "  replay with the options of its load section) with --shard i/N, all\n"
	    "  starting at --start-at, each writing its report to a claim;\n"
	    "  --merge: the Pod that merges the N reports (decoy report merge);\n"
	    "  decoy report MERGED --assert SCENARIO checks the scenario's\n"
	    "  assertions on the merged report.\n"
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
	    "  -t, --target URL          the service, as the pods reach it (default:\n"
	    "                            the scenario's url, unless it has {...})\n"
	    "      --snapshot FILE       the snapshot in its volume (default: the\n"
	    "                            scenario's snapshot's file name, deps.jsonl;\n"
	    "                            its transforms file is beside it)\n"
	    "      --snapshot-claim C    the snapshot's PersistentVolumeClaim, or\n"
	    "      --snapshot-image REF  an image holding it (an image volume)\n"
	    "      --reports-claim C     the claim the reports are written to\n"
	    "                            (ReadWriteMany when pods land on many nodes)\n"
	    "      --name NAME           the Job and its reports' prefix (default:\n"
	    "                            the scenario's name if a DNS label, decoy-load)\n"
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

/* A DNS label Kubernetes takes as a Job name: [a-z0-9-], at most 52. */
static int
cmd_kube_is_name(const char *s)
{
	size_t	i, len = strlen(s);

	if (len == 0 || len > 52 || s[0] == '-' || s[len - 1] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	}
	return 1;
}

/* The file name of path (allocated). */
static char *
cmd_kube_base(const char *path)
{
	char	*copy, *base;

	copy = xstrdup(path);
	base = xstrdup(basename(copy));
	free(copy);
	return base;
}

static void
cmd_kube_arg(char ***v, size_t *n, char *arg)
{
	*v = xreallocarray(*v, *n + 2, sizeof **v);
	(*v)[(*n)++] = arg;
	(*v)[*n] = NULL;
}

/* "1500000000ns": a duration decoy replay reads back exactly. */
static char *
cmd_kube_ns(uint64_t ns)
{
	return xasprintf("%lluns", (unsigned long long)ns);
}

/*
 * The decoy replay options of one of n shards of sc's load section, as
 * run_config maps them for decoy run, then extra (the options after --):
 * an allocated, NULL-ended vector of allocated strings.  --shard divides
 * the recorded requests; a rate (and a closed model's clients) each shard
 * runs itself, so they are divided by n here: together the shards make
 * the scenario's load.  The transforms file is read beside the snapshot,
 * in KUBE_DATA_DIR.
 */
static char **
cmd_kube_load_args(const struct scenario *sc, unsigned n_shards,
    char *const *extra)
{
	char	**v = NULL, *base;
	size_t	  n = 0, i;

	v = xcalloc(1, sizeof *v);
	if (sc->multiplier != 1) {
		cmd_kube_arg(&v, &n, xstrdup("--multiplier"));
		cmd_kube_arg(&v, &n, xasprintf("%.17g", sc->multiplier));
	}
	if (sc->clones > 1) {
		cmd_kube_arg(&v, &n, xstrdup("--clones"));
		cmd_kube_arg(&v, &n, xasprintf("%u", sc->clones));
	}
	switch (sc->pattern) {
	case SCENARIO_REPLAY:
		break;
	case SCENARIO_CONSTANT:
	case SCENARIO_STEPS:
		cmd_kube_arg(&v, &n, xstrdup("--rate"));
		cmd_kube_arg(&v, &n, xasprintf("%.17g", sc->rate / n_shards));
		if (sc->pattern == SCENARIO_STEPS && sc->steps > 0) {
			cmd_kube_arg(&v, &n, xstrdup("--steps"));
			cmd_kube_arg(&v, &n, xasprintf("%u", sc->steps));
		}
		break;
	case SCENARIO_RAMP:
		cmd_kube_arg(&v, &n, xstrdup("--ramp"));
		cmd_kube_arg(&v, &n, xasprintf("%.17g:%.17g",
		    sc->rate_from / n_shards, sc->rate / n_shards));
		break;
	case SCENARIO_CLOSED:
		cmd_kube_arg(&v, &n, xstrdup("--closed"));
		break;
	}
	if (sc->duration_ns > 0) {
		/* A duration means "keep going that long", as in decoy run. */
		cmd_kube_arg(&v, &n, xstrdup("--duration"));
		cmd_kube_arg(&v, &n, cmd_kube_ns(sc->duration_ns));
		cmd_kube_arg(&v, &n, xstrdup("--loop"));
	}
	if (sc->connections > 0) {
		cmd_kube_arg(&v, &n, xstrdup("--connections"));
		cmd_kube_arg(&v, &n, xasprintf("%u",
		    sc->pattern != SCENARIO_CLOSED ? sc->connections :
		    (sc->connections + n_shards - 1) / n_shards));
	}
	if (sc->timeout_ns > 0) {
		cmd_kube_arg(&v, &n, xstrdup("--timeout"));
		cmd_kube_arg(&v, &n, cmd_kube_ns(sc->timeout_ns));
	}
	if (sc->transforms != NULL) {
		base = cmd_kube_base(sc->transforms);
		cmd_kube_arg(&v, &n, xstrdup("--transforms"));
		cmd_kube_arg(&v, &n, xasprintf(KUBE_DATA_DIR "/%s", base));
		free(base);
	}
	if (sc->has_now) {
		cmd_kube_arg(&v, &n, xstrdup("--now"));
		cmd_kube_arg(&v, &n, xasprintf("%lld.%06lld",
		    (long long)(sc->now_us / 1000000),
		    (long long)(sc->now_us % 1000000)));
	}
	if (sc->load_has_seed) {
		cmd_kube_arg(&v, &n, xstrdup("--seed"));
		cmd_kube_arg(&v, &n, xasprintf("%llu",
		    (unsigned long long)sc->load_seed));
	}
	if (!sc->has_regression) {
		cmd_kube_arg(&v, &n, xstrdup("--no-status"));
		cmd_kube_arg(&v, &n, xstrdup("--body"));
		cmd_kube_arg(&v, &n, xstrdup("none"));
	} else {
		if (!sc->cmp_status)
			cmd_kube_arg(&v, &n, xstrdup("--no-status"));
		cmd_kube_arg(&v, &n, xstrdup("--body"));
		cmd_kube_arg(&v, &n, xstrdup(sc->cmp_body ==
		    SCENARIO_BODY_EXACT ? "exact" : sc->cmp_body ==
		    SCENARIO_BODY_JSON ? "json" : "none"));
		for (i = 0; i < sc->ncmp_headers; i++) {
			cmd_kube_arg(&v, &n, xstrdup("--compare-headers"));
			cmd_kube_arg(&v, &n, xstrdup(sc->cmp_headers[i]));
		}
		for (i = 0; i < sc->nignore; i++) {
			cmd_kube_arg(&v, &n, xstrdup("--ignore"));
			cmd_kube_arg(&v, &n, xstrdup(sc->ignore[i]));
		}
	}
	for (; extra != NULL && *extra != NULL; extra++)
		cmd_kube_arg(&v, &n, xstrdup(*extra));
	return v;
}

static void
cmd_kube_free_args(char **v)
{
	char	**a;

	for (a = v; a != NULL && *a != NULL; a++)
		free(*a);
	free(v);
}

/* `decoy kube job ...`; argv[0] is "job". */
static int
cmd_kube_job(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_kube_entry;
	struct kube_job		 j;
	struct shape_time	 t;
	struct scenario		*sc = NULL;
	time_t			 when;
	const char		*output = NULL, *scen = NULL;
	char			*cause = NULL, *end;
	char			**args = NULL, *snap = NULL;
	unsigned long		 n;
	int			 ch, rv, named = 0, snapped = 0;

	memset(&j, 0, sizeof j);
	j.name = "decoy-load";
	j.snapshot = "deps.jsonl";
	when = time(NULL) + 120;
	optind = 1;
	for (;;) {
		ch = getopt_long(argc, argv, "+p:t:i:o:h", cmd_kube_job_options,
		    NULL);
		if (ch == -1) {
			/* The scenario, among the options. */
			if (optind >= argc || scen != NULL ||
			    strcmp(argv[optind - 1], "--") == 0)
				break;
			scen = argv[optind++];
			continue;
		}
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
			snapped = 1;
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
			named = 1;
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
	if (scen != NULL) {
		if ((sc = scenario_load(scen, &cause)) == NULL) {
			fprintf(stderr, "%s\n", cause);
			free(cause);
			return EXIT_USAGE;
		}
		if (sc->has_fuzz) {
			scenario_free(sc);
			return cli_usage(e, "%s: a fuzz scenario; kube job "
			    "spreads a load section", scen);
		}
		if (j.target == NULL && strchr(sc->url, '{') != NULL) {
			scenario_free(sc);
			return cli_usage(e, "%s: its url holds a placeholder; "
			    "give --target, the service as the pods reach it",
			    scen);
		}
		if (j.target == NULL)
			j.target = sc->url;
		if (!snapped)
			j.snapshot = snap = cmd_kube_base(sc->snapshot);
		if (!named && cmd_kube_is_name(sc->name))
			j.name = sc->name;
		j.scenario = scen;
		args = cmd_kube_load_args(sc, j.parallelism == 0 ? 1 :
		    j.parallelism, argv + optind);
		j.replay_args = args;
	}
	rv = cmd_kube_job_render(&j, when, output);
	cmd_kube_free_args(args);
	free(snap);
	scenario_free(sc);
	return rv;
}

/* Checks and renders j, starting at when, to output. */
static int
cmd_kube_job_render(struct kube_job *j, time_t when, const char *output)
{
	const struct cmd_entry	*e = &cmd_kube_entry;
	struct buf		 out;
	struct tm		 tm;
	const char		*p;
	char			 start[64], *cause = NULL;
	int			 rv;

	if (j->parallelism == 0 || j->reports_claim == NULL ||
	    (!j->merge && j->target == NULL))
		return cli_usage(e, "job needs --parallelism, --target and "
		    "--reports-claim");
	if (!j->merge && (j->snapshot_claim == NULL) ==
	    (j->snapshot_image == NULL))
		return cli_usage(e, "job needs one of --snapshot-claim and "
		    "--snapshot-image");
	for (p = j->target; p != NULL && *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ')
			return cli_usage(e, "--target: no spaces or control "
			    "characters");
	}
	if (gmtime_r(&when, &tm) == NULL ||
	    strftime(start, sizeof start, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return cli_usage(e, "--start-at: out of range");
	j->start_at = start;
	buf_init(&out);
	if (kube_job_render(j, &out, &cause) == -1) {
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
