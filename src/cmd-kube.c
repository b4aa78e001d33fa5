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
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "cli.h"
#include "kube.h"
#include "opt.h"
#include "scenario.h"
#include "shape.h"
#include "xmalloc.h"
#include "yamldoc.h"

static int	cmd_kube_exec(int, char **);
static int	cmd_kube_job_render(struct kube_job *, time_t, const char *);

/* The options of inject and eject, and of job. */
struct cmd_kube_o {
	struct kube_opts	 opts;
	struct kube_job		 j;
	const char		*output, *in;
	int64_t			 start_us;
	int			 named, snapped, has_start;
};

/* --image: an image reference, no spaces. */
static int
cmd_kube_image(void *base, void *field, const char *arg, char **cause)
{
	if (*arg == '\0' || strpbrk(arg, " \t\r\n") != NULL) {
		*cause = xasprintf("expected an image reference, got \"%s\"",
		    arg);
		return -1;
	}
	memcpy(field, &arg, sizeof arg);
	return 0;
}

/* --snapshot: a file name relative to the snapshot volume. */
static int
cmd_kube_snapshot(void *base, void *field, const char *arg, char **cause)
{
	if (*arg == '\0' || *arg == '/' || strstr(arg, "..") != NULL) {
		*cause = xasprintf("expected a file name relative to the "
		    "snapshot volume, got \"%s\"", arg);
		return -1;
	}
	memcpy(field, &arg, sizeof arg);
	return 0;
}

static const struct opt cmd_kube_opts[] = {
	{ "all", 'a', OPT_FLAG, NULL,
	  "inject every workload not annotated\n"
	  "decoy.dev/inject: \"false\"",
	  OPT_AT(struct cmd_kube_o, opts.all) },
	{ "image", 0, OPT_CALL, "IMAGE",
	  "decoy's image (default decoy:" PACKAGE_VERSION ";\n"
	  "the decoy.dev/image annotation wins)",
	  OPT_AT(struct cmd_kube_o, opts.image), .call = cmd_kube_image,
	  .flags = OPT_ARG, .aliases = "-i" },
	{ "output", 'o', OPT_PATH, NULL,
	  "write to FILE (default: stdout)",
	  OPT_AT(struct cmd_kube_o, output) },
	{ "filename", 'f', OPT_PATH, NULL,
	  "read FILE (same as the argument; - for stdin)",
	  OPT_AT(struct cmd_kube_o, in) },
	OPT_END_ROW,
};

static const struct opt cmd_kube_job_opts[] = {
	{ "parallelism", 0, OPT_INT, NULL,
	  "shards (1..1000)",
	  OPT_AT(struct cmd_kube_o, j.parallelism), .min = 1,
	  .max = KUBE_MAX_SHARDS, .aliases = "-p" },
	{ "target", 't', OPT_STRING, "URL",
	  "the service, as the pods reach it (default:\n"
	  "the scenario's url, unless it has {...})",
	  OPT_AT(struct cmd_kube_o, j.target) },
	{ "snapshot", 0, OPT_CALL, "FILE",
	  "the snapshot in its volume (default: the\n"
	  "scenario's snapshot's file name, deps.jsonl;\n"
	  "its transforms file is beside it)",
	  OPT_AT(struct cmd_kube_o, j.snapshot), .call = cmd_kube_snapshot,
	  .flags = OPT_ARG, OPT_SEEN(struct cmd_kube_o, snapped) },
	{ "snapshot-claim", 0, OPT_STRING, "C",
	  "the snapshot's PersistentVolumeClaim, or",
	  OPT_AT(struct cmd_kube_o, j.snapshot_claim) },
	{ "snapshot-image", 0, OPT_STRING, "REF",
	  "an image holding it (an image volume)",
	  OPT_AT(struct cmd_kube_o, j.snapshot_image) },
	{ "reports-claim", 0, OPT_STRING, "C",
	  "the claim the reports are written to\n"
	  "(ReadWriteMany when pods land on many nodes)",
	  OPT_AT(struct cmd_kube_o, j.reports_claim) },
	{ "name", 0, OPT_STRING, "NAME",
	  "the Job and its reports' prefix (default:\n"
	  "the scenario's name if a DNS label, decoy-load)",
	  OPT_AT(struct cmd_kube_o, j.name),
	  OPT_SEEN(struct cmd_kube_o, named) },
	{ "start-at", 0, OPT_TIME, NULL,
	  "when the shards start (RFC 3339 or epoch\n"
	  "seconds; default two minutes from now)",
	  OPT_AT(struct cmd_kube_o, start_us),
	  OPT_SEEN(struct cmd_kube_o, has_start) },
	{ "merge", 0, OPT_FLAG, NULL,
	  "the merge Pod instead of the Job",
	  OPT_AT(struct cmd_kube_o, j.merge) },
	{ "image", 0, OPT_CALL, "IMAGE",
	  "decoy's image (as for inject)",
	  OPT_AT(struct cmd_kube_o, j.image), .call = cmd_kube_image,
	  .flags = OPT_ARG, .aliases = "-i" },
	{ "output", 'o', OPT_PATH, NULL,
	  "write to FILE (default: stdout)",
	  OPT_AT(struct cmd_kube_o, output) },
	OPT_END_ROW,
};

const struct cmd_entry cmd_kube_entry = {
	.name = "kube",
	.args = "inject [--all] [--image IMAGE] [-o OUT] [FILE]\n"
	    "       decoy kube eject [-o OUT] [FILE]\n"
	    "       decoy kube job [SCENARIO] --parallelism N [--target URL]\n"
	    "           (--snapshot-claim C | --snapshot-image REF) --reports-claim C\n"
	    "           [--name NAME] [--snapshot FILE] [--start-at TIME] [--merge]\n"
	    "           [-- REPLAY-OPTIONS...]",
	.summary = "add decoy to Kubernetes workloads (or remove it)",
	.intro =
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
	    "  assertions on the merged report.\n",
	.opts = cmd_kube_opts,
	.more_title = "job",
	.more = cmd_kube_job_opts,
	.notes =
	    "After -- come options for decoy replay (job).\n"
	    "Exit status 2 on bad input, every problem as FILE:LINE:COL: message.\n",
	.exec = cmd_kube_exec,
};

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
	struct cmd_kube_o	 o = { .j = { .name = "decoy-load",
				     .snapshot = "deps.jsonl" } };
	struct kube_job		*jp = &o.j;
	struct scenario		*sc = NULL;
	time_t			 when;
	const char		*output, *scen = NULL;
	char			**args = NULL, *snap = NULL, *cause = NULL;
	int			 ind, dash, rv;

	/* Options for decoy replay come after "--". */
	for (dash = 1; dash < argc && strcmp(argv[dash], "--") != 0; dash++)
		;
	if (cli_parse(e, cmd_kube_job_opts, dash, argv, &o, 0, &ind,
	    &rv) == -1)
		return rv;
	if (dash - ind > 1)
		return cli_usage(e, "job: replay options go after --");
	if (ind < dash)
		scen = argv[ind];
	output = o.output;
	when = o.has_start ? (time_t)(o.start_us / 1000000) : time(NULL) + 120;
	jp->replay_args = argv + (dash < argc ? dash + 1 : argc);
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
		if (jp->target == NULL && strchr(sc->url, '{') != NULL) {
			scenario_free(sc);
			return cli_usage(e, "%s: its url holds a placeholder; "
			    "give --target, the service as the pods reach it",
			    scen);
		}
		if (jp->target == NULL)
			jp->target = sc->url;
		if (!o.snapped)
			jp->snapshot = snap = cmd_kube_base(sc->snapshot);
		if (!o.named && cmd_kube_is_name(sc->name))
			jp->name = sc->name;
		jp->scenario = scen;
		args = cmd_kube_load_args(sc, jp->parallelism == 0 ? 1 :
		    jp->parallelism, argv + (dash < argc ? dash + 1 : argc));
		jp->replay_args = args;
	}
	rv = cmd_kube_job_render(jp, when, output);
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
	struct cmd_kube_o	 o = { .output = NULL };
	const char		*verb, *in, *output, *name;
	char			*text = NULL, *cause = NULL;
	size_t			 len, nchanged;
	int			 ind, rv = EXIT_USAGE;

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
	o.opts.eject = opts.eject;
	if (cli_parse(e, NULL, argc - 1, argv + 1, &o, 0, &ind, &rv) == -1)
		return rv;
	argc--;
	argv++;
	opts = o.opts;
	output = o.output;
	in = o.in;
	if (opts.eject && (opts.all || opts.image != NULL))
		return cli_usage(e, "eject takes no --all or --image");
	if (ind < argc) {
		if (in != NULL || ind + 1 < argc)
			return cli_usage(e, "expected one input file");
		in = argv[ind];
	}
	if (in == NULL)
		in = "-";
	name = strcmp(in, "-") == 0 ? "<stdin>" : in;
	/* Up to one byte past yamldoc's bound: the loader reports the
	 * size. */
	if ((text = cli_read_file(in, YAMLDOC_MAX_BYTES, &len,
	    &cause)) == NULL) {
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
