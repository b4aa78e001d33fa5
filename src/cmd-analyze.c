/*
 * cmd-analyze.c -- `decoy analyze SNAP [-o TRANSFORMS] [--explain]
 * [--match-rate] [--key NAME=FILE]...`: finds the volatile values of a
 * recording (analyze.c) and writes the transforms file beside it, never
 * touching the snapshot.  --explain prints what was found as a table,
 * --match-rate predicts which outbound requests a live run would miss in
 * the responder, without and with the transforms.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "buf.h"
#include "cli.h"
#include "jwt.h"
#include "log.h"
#include "opt.h"
#include "snap.h"
#include "transform.h"
#include "xmalloc.h"

static int	cmd_analyze_exec(int, char **);

struct cmd_analyze_o {
	char		*outpath;
	char		**keyargs;	/* NAME=FILE, in argv */
	size_t		 nkeys;
	int		 explain;
	int		 match_rate;
	int		 log_level;
	const char	*proto_set;
};

/* --key NAME=FILE: kept (in argv) for after the parse. */
static int
cmd_analyze_key_arg(void *base, void *field, const char *arg, char **cause)
{
	struct cmd_analyze_o	*o = base;
	const char		*eq;

	if ((eq = strchr(arg, '=')) == NULL || eq == arg || eq[1] == '\0') {
		*cause = xasprintf("expected NAME=FILE, got \"%s\"", arg);
		return -1;
	}
	o->keyargs = xreallocarray(o->keyargs, o->nkeys + 1,
	    sizeof *o->keyargs);
	o->keyargs[o->nkeys++] = (char *)arg;
	return 0;
}

static const struct opt cmd_analyze_opts[] = {
	{ "output", 'o', OPT_PATH, NULL, "the transforms file (default: SNAP\n"
	  "with .jsonl replaced by .transforms.yaml)",
	  OPT_AT(struct cmd_analyze_o, outpath), .flags = OPT_COPY },
	{ "explain", 0, OPT_FLAG, NULL, "print what was found, one row per "
	  "entry", OPT_AT(struct cmd_analyze_o, explain) },
	{ "match-rate", 0, OPT_FLAG, NULL, "predict which outbound requests a "
	  "live run\nmisses, without and with the transforms",
	  OPT_AT(struct cmd_analyze_o, match_rate) },
	{ "key", 0, OPT_CALL, "NAME=FILE", "a JWT signing key (HMAC secret "
	  "file or PEM\nprivate key), used where it verifies the\nrecorded "
	  "tokens; repeatable", .call = cmd_analyze_key_arg,
	  .flags = OPT_ARG },
	CLI_OPT_PROTO_SET(struct cmd_analyze_o, proto_set),
	CLI_OPTS_LOG(struct cmd_analyze_o),
	OPT_END_ROW,
};

const struct cmd_entry cmd_analyze_entry = {
	.name = "analyze",
	.args = "SNAP [-o TRANSFORMS] [--explain] [--match-rate] "
	    "[--key NAME=FILE]...",
	.summary = "find volatile values (JWTs, dates, ids, correlations) "
	    "and write a transforms file",
	.intro = "  SNAP                      snapshot file, - for stdin (then -o)\n",
	.opts = cmd_analyze_opts,
	.exec = cmd_analyze_exec,
};

/* SNAP with .jsonl replaced by .transforms.yaml (appended otherwise). */
static char *
cmd_analyze_default_out(const char *snap)
{
	size_t	n = strlen(snap);

	if (n > 6 && strcmp(snap + n - 6, ".jsonl") == 0)
		return xasprintf("%.*s.transforms.yaml", (int)(n - 6), snap);
	return xasprintf("%s.transforms.yaml", snap);
}

/* The directory part of path, absolute ("." resolved). */
static char *
cmd_analyze_absdir(const char *path)
{
	const char	*slash = strrchr(path, '/');
	char		*dir, *abs;

	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == path)
		dir = xstrdup("/");
	else
		dir = xstrndup(path, (size_t)(slash - path));
	abs = realpath(dir, NULL);
	free(dir);
	return abs;
}

/*
 * How the transforms file names a key file: relative to the transforms
 * file's directory ("../bank/admin.secret"), so that the two can move
 * together (a checkout elsewhere), else absolute when it cannot be
 * resolved.
 */
static char *
cmd_analyze_key_path(const char *file, const char *out)
{
	char		*abs, *dir;
	struct buf	 b;
	size_t		 common = 0, i;

	if ((abs = realpath(file, NULL)) == NULL)
		return xstrdup(file);
	if ((dir = cmd_analyze_absdir(out)) == NULL)
		return abs;
	/* The longest common prefix that ends at a component boundary. */
	for (i = 0; abs[i] != '\0' && abs[i] == dir[i]; i++)
		if (abs[i] == '/')
			common = i;
	if (dir[i] == '\0' && abs[i] == '/')
		common = i;
	buf_init(&b);
	/* One "../" per component of dir past the common prefix. */
	for (i = common; dir[i] != '\0'; i++)
		if (dir[i] == '/' && dir[i + 1] != '\0')
			buf_append_str(&b, "../");
	buf_append_str(&b, abs + common + 1);
	free(abs);
	free(dir);
	return buf_detach(&b, NULL);
}

static int
cmd_analyze_is_pem(const char *file)
{
	FILE	*f;
	char	 head[64];
	size_t	 n;

	if ((f = fopen(file, "r")) == NULL)
		return 0;
	n = fread(head, 1, sizeof head - 1, f);
	fclose(f);
	head[n] = '\0';
	return strstr(head, "-----BEGIN") != NULL;
}

/* The same file by inode (the snapshot must never be overwritten). */
static int
cmd_analyze_same_file(const char *a, const char *b)
{
	char	*ra, *rb;
	int	 same;

	if (strcmp(a, b) == 0)
		return 1;
	ra = realpath(a, NULL);
	rb = realpath(b, NULL);
	same = ra != NULL && rb != NULL && strcmp(ra, rb) == 0;
	free(ra);
	free(rb);
	return same;
}

/*
 * One pass over the snapshot: fn(arg, txn) per transaction, in order.
 * Reading and decoding (about half the work) run in a thread of their
 * own, handing batches of decoded transactions through a small ring, so
 * a second CPU shortens the pass; memory stays bounded by the ring.
 */
#define PASS_BATCH	256
#define PASS_SLOTS	4

struct pass_batch {
	struct snap_txn	 t[PASS_BATCH];
	size_t		 n;
};

struct pass {
	struct snap_reader	*r;
	struct pass_batch	*slot;		/* PASS_SLOTS of them */
	size_t			 head, tail, count;
	int			 done;
	int			 rc;		/* the reader's last result */
	char			*cause;
	pthread_mutex_t		 mu;
	pthread_cond_t		 data, space;
};

static void *
cmd_analyze_reader(void *arg)
{
	struct pass		*p = arg;
	struct pass_batch	*b;
	int			 rc = 1;

	while (rc == 1) {
		pthread_mutex_lock(&p->mu);
		while (p->count == PASS_SLOTS)
			pthread_cond_wait(&p->space, &p->mu);
		b = &p->slot[p->tail];
		pthread_mutex_unlock(&p->mu);
		/* slot[tail] is the reader's until it is counted; it frees
		 * what the slot held (malloc and free stay in one thread:
		 * glibc's arenas contend otherwise). */
		while (b->n > 0)
			snap_txn_free(&b->t[--b->n]);
		for (b->n = 0; b->n < PASS_BATCH; b->n++) {
			if ((rc = snap_reader_next(p->r, &b->t[b->n],
			    &p->cause)) != 1)
				break;
		}
		pthread_mutex_lock(&p->mu);
		if (b->n > 0) {
			p->tail = (p->tail + 1) % PASS_SLOTS;
			p->count++;
		}
		if (rc != 1) {
			p->rc = rc;
			p->done = 1;
		}
		pthread_cond_signal(&p->data);
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

static int
cmd_analyze_pass(const char *path, void (*fn)(void *, const struct snap_txn *),
    void *arg, char **cause)
{
	struct pass		 p;
	struct pass_batch	*b;
	pthread_t		 th;
	size_t			 i;
	int			 error;

	memset(&p, 0, sizeof p);
	if ((p.r = snap_reader_open(path, cause)) == NULL)
		return -1;
	p.slot = xcalloc(PASS_SLOTS, sizeof *p.slot);
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.data, NULL);
	pthread_cond_init(&p.space, NULL);
	if ((error = pthread_create(&th, NULL, cmd_analyze_reader, &p)) != 0) {
		*cause = xasprintf("pthread_create: %s", strerror(error));
		p.rc = -1;
		goto out;
	}
	for (;;) {
		pthread_mutex_lock(&p.mu);
		while (p.count == 0 && !p.done)
			pthread_cond_wait(&p.data, &p.mu);
		if (p.count == 0) {
			pthread_mutex_unlock(&p.mu);
			break;
		}
		b = &p.slot[p.head];
		pthread_mutex_unlock(&p.mu);
		for (i = 0; i < b->n; i++)
			fn(arg, &b->t[i]);
		pthread_mutex_lock(&p.mu);
		p.head = (p.head + 1) % PASS_SLOTS;
		p.count--;
		pthread_cond_signal(&p.space);
		pthread_mutex_unlock(&p.mu);
	}
	pthread_join(th, NULL);
	for (i = 0; i < PASS_SLOTS; i++) {
		while (p.slot[i].n > 0)
			snap_txn_free(&p.slot[i].t[--p.slot[i].n]);
	}
	if (p.rc == -1)
		*cause = p.cause;
	else
		free(p.cause);
out:
	snap_reader_close(p.r);
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.data);
	pthread_cond_destroy(&p.space);
	free(p.slot);
	return p.rc == -1 ? -1 : 0;
}

static void
cmd_analyze_feed(void *arg, const struct snap_txn *t)
{
	analyze_add(arg, t);
}

static void
cmd_analyze_rate_index(void *arg, const struct snap_txn *t)
{
	analyze_rate_index(arg, t);
}

static void
cmd_analyze_rate_check(void *arg, const struct snap_txn *t)
{
	analyze_rate_check(arg, t);
}

/* The operand and the paths; EXIT_OK with *snap, else the usage error,
 * printed. */
static int
cmd_analyze_args(const struct cmd_entry *e, struct cmd_analyze_o *o,
    int argc, char **argv, int ind, const char **snap)
{
	if (argc - ind != 1)
		return cli_usage(e, argc - ind == 0 ? "no snapshot given" :
		    "one snapshot at a time");
	*snap = argv[ind];
	if (o->outpath == NULL) {
		if (strcmp(*snap, "-") == 0)
			return cli_usage(e, "reading stdin: say where the "
			    "transforms go with -o");
		o->outpath = cmd_analyze_default_out(*snap);
	}
	if (strcmp(*snap, "-") != 0 && cmd_analyze_same_file(*snap,
	    o->outpath))
		return cli_usage(e, "%s is the snapshot: the transforms go to "
		    "another file", o->outpath);
	if (o->match_rate && strcmp(*snap, "-") == 0)
		return cli_usage(e, "--match-rate reads the snapshot again: "
		    "give a file, not stdin");
	return EXIT_OK;
}

/*
 * --match-rate: the transforms file as written, read back with its keys
 * (what the responder would be given), predicts the live match rate of
 * snap.  EXIT_OK, or EXIT_USAGE with the error printed.
 */
static int
cmd_analyze_match_rate(const struct cmd_entry *e, const char *snap,
    const char *outpath, const struct transforms *t)
{
	struct transforms	*loaded_t;
	struct analyze_rate	*rate;
	struct buf		 out;
	char			*cause = NULL;
	int			 rc = EXIT_OK;

	if ((loaded_t = transforms_load(outpath, 1, &cause)) == NULL) {
		rc = cli_error(e, EXIT_USAGE, "%s", cause);
		free(cause);
		return rc;
	}
	rate = analyze_rate_create(loaded_t, t->end_us + INT64_C(3600000000),
	    UINT64_C(0x5eed));
	if (cmd_analyze_pass(snap, cmd_analyze_rate_index, rate,
	    &cause) == -1 || cmd_analyze_pass(snap, cmd_analyze_rate_check,
	    rate, &cause) == -1)
		rc = cli_error(e, EXIT_USAGE, "%s", cause);
	else {
		buf_init(&out);
		analyze_rate_report(&out, rate);
		fwrite(out.data, 1, out.len, stdout);
		buf_free(&out);
	}
	analyze_rate_free(rate);
	transforms_free(loaded_t);
	free(cause);
	return rc;
}

static int
cmd_analyze_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_analyze_entry;
	struct cmd_analyze_o	 o = { .log_level = LOG_LEVEL_INFO };
	struct analyze_config	 cfg;
	struct analyze_key	*keys = NULL;
	struct jwt_key		**loaded = NULL;
	struct analyze		*az = NULL;
	struct transforms	*t = NULL;
	struct protodesc	*pset = NULL;
	struct buf		 out;
	const char		*snap = NULL, *eq;
	char			*cause = NULL, *name;
	size_t			 i;
	int			 ind, rc;

	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &rc) == -1 ||
	    (rc = cmd_analyze_args(e, &o, argc, argv, ind, &snap)) !=
	    EXIT_OK)
		goto out;
	cli_log_init(e, o.log_level);
	rc = EXIT_USAGE;
	keys = xcalloc(o.nkeys + 1, sizeof *keys);
	loaded = xcalloc(o.nkeys + 1, sizeof *loaded);
	for (i = 0; i < o.nkeys; i++) {
		eq = strchr(o.keyargs[i], '=');
		name = xstrndup(o.keyargs[i], (size_t)(eq - o.keyargs[i]));
		if ((loaded[i] = jwt_key_load(eq + 1, NULL, &cause)) == NULL) {
			rc = cli_error(e, EXIT_USAGE, "key %s: %s", name,
			    cause);
			free(name);
			goto out;
		}
		keys[i].name = name;
		keys[i].file = cmd_analyze_key_path(eq + 1, o.outpath);
		keys[i].pem = cmd_analyze_is_pem(eq + 1);
		keys[i].key = loaded[i];
	}

	memset(&cfg, 0, sizeof cfg);
	cfg.snapshot = snap;
	cfg.keys = keys;
	cfg.nkeys = o.nkeys;
	az = analyze_create(&cfg);
	if (cli_proto_set(o.proto_set, &pset, &cause) == -1 ||
	    cmd_analyze_pass(snap, cmd_analyze_feed, az, &cause) == -1) {
		rc = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	t = analyze_finish(az);

	buf_init(&out);
	transforms_write(&out, t);
	if (buf_write_file(o.outpath, out.data, out.len, 0644, &cause) ==
	    -1) {
		buf_free(&out);
		rc = cli_error(e, EXIT_USAGE, "%s", cause);
		goto out;
	}
	buf_free(&out);
	fprintf(stderr, "decoy analyze: %" PRIu64 " transactions: %zu "
	    "value%s, %zu correlation%s -> %s\n", analyze_count(az),
	    t->nvalues, t->nvalues == 1 ? "" : "s", t->ncorrs,
	    t->ncorrs == 1 ? "" : "s", o.outpath);
	if (analyze_dropped(az) > 0)
		fprintf(stderr, "decoy analyze: %" PRIu64 " values not "
		    "analysed: too many distinct endpoints or locations\n",
		    analyze_dropped(az));
	for (i = 0; i < o.nkeys; i++) {
		if (!keys[i].used)
			fprintf(stderr, "decoy analyze: key %s verified no "
			    "recorded token\n", keys[i].name);
	}

	if (o.explain) {
		buf_init(&out);
		analyze_explain(&out, t);
		fwrite(out.data, 1, out.len, stdout);
		buf_free(&out);
	}
	if (o.match_rate) {
		if (o.explain)
			fputc('\n', stdout);
		if ((rc = cmd_analyze_match_rate(e, snap, o.outpath, t)) !=
		    EXIT_OK)
			goto out;
	}
	rc = EXIT_OK;
	if (fflush(stdout) == EOF || ferror(stdout))
		rc = cli_error(e, EXIT_USAGE, "writing output failed");
out:
	if (t != NULL)
		transforms_free(t);
	analyze_free(az);
	for (i = 0; keys != NULL && i < o.nkeys; i++) {
		free(keys[i].name);
		free(keys[i].file);
		jwt_key_free(loaded[i]);
	}
	free(keys);
	free(loaded);
	free(o.keyargs);
	free(o.outpath);
	free(cause);
	cli_proto_set_free(pset);
	return rc;
}
