/*
 * test-opt.c -- the declarative option tables (opt.h): every type, ranges,
 * aliases, unknown options, missing and unwanted values, repeats, "--"
 * and operands, the table checks and the help text.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"
#include "unit.h"
#include "xmalloc.h"

struct t_opts {
	int		 flag, off, verbose, mode, seen_rate, seen_name;
	char		*name, *path, *addr, *owned;
	char		**list, **hdrs;
	size_t		 nlist, nhdrs;
	unsigned	 workers;
	uint32_t	 mark;
	uint8_t		 small;
	size_t		 size;
	uint64_t	 dur, idle, seed;
	double		 rate;
	int64_t		 when;
	unsigned	 shard_i, shard_n;
};

static int
t_shard(void *base, void *field, const char *arg, char **cause)
{
	struct t_opts	*o = base;
	char		 slash;

	ASSERT(field == base);

	if (sscanf(arg, "%u/%u%c", &o->shard_i, &o->shard_n, &slash) != 2 ||
	    o->shard_i >= o->shard_n) {
		*cause = xasprintf("expected I/N, got \"%s\"", arg);
		return -1;
	}
	return 0;
}

static const struct opt_choice t_modes[] = {
	{ "exact", 1 }, { "json", 2 }, { "none", 3 }, { NULL, 0 },
};

static const struct opt t_table[] = {
	{ "flag", 'f', OPT_FLAG, NULL, "a flag", OPT_AT(struct t_opts, flag),
	  .aliases = "--old-flag" },
	{ "no-thing", 0, OPT_FLAG, NULL, "clears off",
	  OPT_AT(struct t_opts, off), .flags = OPT_NEGATE },
	{ "verbose", 'v', OPT_COUNT, NULL, "more",
	  OPT_AT(struct t_opts, verbose) },
	{ "name", 'n', OPT_STRING, "NAME", "a name",
	  OPT_AT(struct t_opts, name), OPT_SEEN(struct t_opts, seen_name),
	  .aliases = "-N --nom" },
	{ "path", 0, OPT_PATH, NULL, "a path", OPT_AT(struct t_opts, path) },
	{ "owned", 0, OPT_STRING, NULL, "a copy",
	  OPT_AT(struct t_opts, owned), .flags = OPT_COPY },
	{ "listen", 'l', OPT_ADDR, NULL, "an address",
	  OPT_AT(struct t_opts, addr) },
	{ "item", 'i', OPT_LIST, "X", "repeatable",
	  OPT_AT(struct t_opts, list), OPT_NUM(struct t_opts, nlist) },
	{ "headers", 0, OPT_LIST, "H,H", "comma list",
	  OPT_AT(struct t_opts, hdrs), OPT_NUM(struct t_opts, nhdrs),
	  .sep = ',' },
	{ "workers", 'w', OPT_INT, NULL, "1..64",
	  OPT_AT(struct t_opts, workers), .min = 1, .max = 64 },
	{ "mark", 0, OPT_INT, NULL, "a mark", OPT_AT(struct t_opts, mark) },
	{ "small", 0, OPT_INT, NULL, "a byte", OPT_AT(struct t_opts, small) },
	{ "max-body", 0, OPT_SIZE, NULL, "a size",
	  OPT_AT(struct t_opts, size), .min = 1, .max = 1048576 },
	{ "timeout", 0, OPT_DURATION, NULL, "a duration",
	  OPT_AT(struct t_opts, dur), .min = 1 },
	{ "idle", 0, OPT_DURATION, NULL, "0 allowed",
	  OPT_AT(struct t_opts, idle), .max = 3600000000000ULL },
	{ "seed", 's', OPT_SEED, NULL, "a seed", OPT_AT(struct t_opts, seed) },
	{ "rate", 'r', OPT_RATE, NULL, "a rate", OPT_AT(struct t_opts, rate),
	  OPT_SEEN(struct t_opts, seen_rate) },
	{ "body", 0, OPT_ENUM, "MODE", "an enum", OPT_AT(struct t_opts, mode),
	  .choices = t_modes },
	{ "now", 0, OPT_TIME, NULL, "a time", OPT_AT(struct t_opts, when) },
	{ "shard", 0, OPT_CALL, "I/N", "a callback\nsecond line",
	  .call = t_shard, .flags = OPT_ARG },
	{ "hidden", 0, OPT_FLAG, NULL, NULL, OPT_AT(struct t_opts, flag) },
	{ NULL, 0, OPT_END, NULL, NULL, .off = 0 },
};

static void
t_free(struct t_opts *o)
{
	free(o->owned);
	opt_list_free(o->list, o->nlist);
	opt_list_free(o->hdrs, o->nhdrs);
	memset(o, 0, sizeof *o);
}

/* Parses the words (NULL-terminated) after "cmd"; returns opt_parse's
 * value, the first operand's index in *ind and the cause in *cause. */
static int
t_parse(struct t_opts *o, int flags, int *ind, char **cause, ...)
{
	static char	*argv[64];
	static char	 words[64][128];
	va_list		 ap;
	const char	*w;
	int		 argc = 0;

	argv[argc++] = (char *)"cmd";
	va_start(ap, cause);
	while ((w = va_arg(ap, const char *)) != NULL) {
		snprintf(words[argc], sizeof words[argc], "%s", w);
		argv[argc] = words[argc];
		argc++;
	}
	va_end(ap);
	argv[argc] = NULL;
	*cause = NULL;
	return opt_parse(t_table, argc, argv, o, flags, ind, cause);
}

/* One option, expected to fail with a cause containing want. */
static void
t_fail(const char *want, ...)
{
	struct t_opts	 o;
	va_list		 ap;
	const char	*w[4] = { NULL, NULL, NULL, NULL };
	char		*cause;
	int		 ind, i;

	va_start(ap, want);
	for (i = 0; i < 3 && (w[i] = va_arg(ap, const char *)) != NULL; i++)
		;
	va_end(ap);
	memset(&o, 0, sizeof o);
	ASSERT_EQ(t_parse(&o, 0, &ind, &cause, w[0], w[1], w[2], NULL), -1);
	if (cause == NULL || strstr(cause, want) == NULL)
		UNIT_FAIL("%s %s: expected a cause with \"%s\", got \"%s\"",
		    w[0], w[1] ? w[1] : "", want, cause ? cause : "(null)");
	free(cause);
	t_free(&o);
}

static void
test_types(void)
{
	struct t_opts	 o;
	char		*cause;
	int		 ind;

	memset(&o, 0, sizeof o);
	o.off = 1;
	ASSERT_EQ(t_parse(&o, 0, &ind, &cause, "-f", "--no-thing", "-vv",
	    "--verbose", "--name", "x", "--path=/p", "--owned", "a",
	    "--owned", "b", "-l", "127.0.0.1:0", "-i", "one", "--item=two",
	    "--headers", "A,,B", "--headers", "C", "-w", "64",
	    "--mark", "0xdec0", "--small", "255", "--max-body", "16KiB",
	    "--timeout", "250ms", "-s", "18446744073709551615",
	    "-r", "200/s", "--body", "json", "--now", "2026-12-07T17:54:34Z",
	    "--shard", "2/3", NULL), 0);
	ASSERT(cause == NULL);
	ASSERT_EQ(o.flag, 1);
	ASSERT_EQ(o.off, 0);
	ASSERT_EQ(o.verbose, 3);
	ASSERT_STR_EQ(o.name, "x");
	ASSERT_EQ(o.seen_name, 1);
	ASSERT_STR_EQ(o.path, "/p");
	ASSERT_STR_EQ(o.owned, "b");
	ASSERT_STR_EQ(o.addr, "127.0.0.1:0");
	ASSERT_EQ(o.nlist, 2);
	ASSERT_STR_EQ(o.list[0], "one");
	ASSERT_STR_EQ(o.list[1], "two");
	ASSERT_EQ(o.nhdrs, 3);
	ASSERT_STR_EQ(o.hdrs[0], "A");
	ASSERT_STR_EQ(o.hdrs[1], "B");
	ASSERT_STR_EQ(o.hdrs[2], "C");
	ASSERT_EQ(o.workers, 64);
	ASSERT_EQ(o.mark, 0xdec0);
	ASSERT_EQ(o.small, 255);
	ASSERT_EQ(o.size, 16384);
	ASSERT_EQ(o.dur, 250000000);
	ASSERT(o.seed == UINT64_MAX);
	ASSERT(o.rate == 200.0);
	ASSERT_EQ(o.seen_rate, 1);
	ASSERT_EQ(o.mode, 2);
	ASSERT_EQ(o.when, 1796666074000000LL);
	ASSERT_EQ(o.shard_i, 2);
	ASSERT_EQ(o.shard_n, 3);
	t_free(&o);

	/* A rate without /s; IPv6 and :PORT addresses. */
	ASSERT_EQ(t_parse(&o, 0, &ind, &cause, "--rate", "0.5", "-l",
	    "[::1]:8080", NULL), 0);
	ASSERT(o.rate == 0.5);
	ASSERT_STR_EQ(o.addr, "[::1]:8080");
	ASSERT_EQ(o.seen_name, 0);
	ASSERT_EQ(t_parse(&o, 0, &ind, &cause, "-l", ":0", NULL), 0);
	ASSERT_STR_EQ(o.addr, ":0");
	/* A bare 0 is a zero duration; units otherwise. */
	o.idle = 5;
	ASSERT_EQ(t_parse(&o, 0, &ind, &cause, "--idle", "0", NULL), 0);
	ASSERT_EQ(o.idle, 0);
	ASSERT_EQ(t_parse(&o, 0, &ind, &cause, "--idle", "1h", NULL), 0);
	ASSERT(o.idle == 3600000000000ULL);
	t_free(&o);
}

static void
test_errors(void)
{
	/* Ranges, units, choices: each error names the long option. */
	t_fail("--workers: expected an integer from 1 to 64, got \"0\"",
	    "-w", "0", NULL);
	t_fail("--workers: expected an integer from 1 to 64, got \"65\"",
	    "--workers=65", NULL);
	t_fail("--workers: expected an integer", "-w", "-1", NULL);
	t_fail("--workers: expected an integer", "-w", "1x", NULL);
	t_fail("--workers: expected an integer", "-w", "", NULL);
	t_fail("--small: expected an integer from 0 to 255", "--small",
	    "256", NULL);
	t_fail("--max-body: expected a size like 4096, 16KiB or 8MiB "
	    "(from 1 to 1MiB), got \"2MiB\"", "--max-body", "2MiB", NULL);
	t_fail("--max-body: expected a size", "--max-body", "0", NULL);
	t_fail("--max-body: expected a size", "--max-body", "lots", NULL);
	t_fail("--timeout: expected a duration like 250ms or 10s (above 0), "
	    "got \"0s\"", "--timeout", "0s", NULL);
	t_fail("--timeout: expected a duration", "--timeout", "10", NULL);
	t_fail("--timeout: expected a duration like 250ms or 10s (above 0), "
	    "got \"0\"", "--timeout", "0", NULL);
	t_fail("--idle: expected a duration like 250ms or 10s (from 0 to "
	    "1h), got \"61m\"", "--idle", "61m", NULL);
	t_fail("--rate: expected a rate like 200/s, got \"x\"", "-r", "x",
	    NULL);
	t_fail("--rate: expected a rate", "-r", "0", NULL);
	t_fail("--rate: expected a rate", "-r", "5/m", NULL);
	t_fail("--seed: expected an unsigned integer, got \"-1\"", "-s", "-1",
	    NULL);
	t_fail("--body: expected exact, json or none, got \"xml\"", "--body",
	    "xml", NULL);
	t_fail("--now: expected a time such as", "--now", "yesterday", NULL);
	t_fail("--listen: expected HOST:PORT, [V6]:PORT or :PORT, got "
	    "\"8080\"", "-l", "8080", NULL);
	t_fail("--listen: expected", "-l", "host:99999", NULL);
	t_fail("--listen: expected", "-l", "[::1]8080", NULL);
	t_fail("--path: expected a file name", "--path", "", NULL);
	t_fail("--shard: expected I/N, got \"3/3\"", "--shard", "3/3", NULL);
	/* Unknown options, missing and unwanted values. */
	t_fail("unknown option \"--nope\"", "--nope", NULL);
	t_fail("ambiguous option \"--s\"", "--s", "1", NULL);
	t_fail("ambiguous option \"--no=1\"", "--no=1", NULL);
	t_fail("unknown option \"-x\"", "-x", NULL);
	t_fail("--name: missing value", "--name", NULL);
	t_fail("--name: missing value", "-n", NULL);
	t_fail("--name: missing value", "--nom", NULL);
	t_fail("--flag: takes no value", "--flag=1", NULL);
}

static void
test_aliases(void)
{
	struct t_opts	 o;
	char		*cause;
	int		 ind;

	memset(&o, 0, sizeof o);
	ASSERT_EQ(t_parse(&o, 0, &ind, &cause, "--old-flag", "-N", "a",
	    NULL), 0);
	ASSERT_EQ(o.flag, 1);
	ASSERT_STR_EQ(o.name, "a");
	ASSERT_EQ(t_parse(&o, 0, &ind, &cause, "--nom=b", NULL), 0);
	ASSERT_STR_EQ(o.name, "b");
	/* A unique prefix of a long name or alias, as getopt_long does. */
	ASSERT_EQ(t_parse(&o, 0, &ind, &cause, "--old", "--wor", "3", NULL),
	    0);
	ASSERT_EQ(o.workers, 3);
	t_free(&o);
}

static void
test_operands(void)
{
	struct t_opts	 o;
	char		*cause;
	int		 ind;

	/* Permuted: options after operands; "--" ends the options. */
	memset(&o, 0, sizeof o);
	ASSERT_EQ(t_parse(&o, 0, &ind, &cause, "a", "-f", "b", "--", "-v",
	    NULL), 0);
	ASSERT_EQ(o.flag, 1);
	ASSERT_EQ(o.verbose, 0);
	ASSERT_EQ(ind, 3);
	/* Repeats: the last value wins (a list appends). */
	ASSERT_EQ(t_parse(&o, 0, &ind, &cause, "-n", "1", "-n", "2", "-i",
	    "x", "-i", "y", NULL), 0);
	ASSERT_STR_EQ(o.name, "2");
	ASSERT_EQ(o.nlist, 2);
	ASSERT_EQ(ind, 9);
	t_free(&o);
	/* OPT_PARSE_STOP: the options end at the first operand. */
	ASSERT_EQ(t_parse(&o, OPT_PARSE_STOP, &ind, &cause, "-f", "op", "-v",
	    NULL), 0);
	ASSERT_EQ(o.flag, 1);
	ASSERT_EQ(o.verbose, 0);
	ASSERT_EQ(ind, 2);
	/* Help, anywhere. */
	ASSERT_EQ(t_parse(&o, 0, &ind, &cause, "-f", "--help", NULL), 1);
	ASSERT_EQ(t_parse(&o, 0, &ind, &cause, "x", "-h", NULL), 1);
	t_free(&o);
}

static void
test_check(void)
{
	struct t_opts	 o;
	char		*cause = NULL;
	const struct opt dup_name[] = {
		{ "a", 0, OPT_FLAG, NULL, NULL, OPT_AT(struct t_opts, flag) },
		{ "b", 0, OPT_FLAG, NULL, NULL, OPT_AT(struct t_opts, flag),
		  .aliases = "--a" },
		{ NULL, 0, OPT_END, NULL, NULL, .off = 0 },
	}, dup_letter[] = {
		{ "a", 'x', OPT_FLAG, NULL, NULL, OPT_AT(struct t_opts, flag) },
		{ "b", 0, OPT_FLAG, NULL, NULL, OPT_AT(struct t_opts, flag),
		  .aliases = "-x" },
		{ NULL, 0, OPT_END, NULL, NULL, .off = 0 },
	}, help_letter[] = {
		{ "a", 'h', OPT_FLAG, NULL, NULL, OPT_AT(struct t_opts, flag) },
		{ NULL, 0, OPT_END, NULL, NULL, .off = 0 },
	}, bad_size[] = {
		{ "a", 0, OPT_DURATION, NULL, NULL,
		  OPT_AT(struct t_opts, workers) },
		{ NULL, 0, OPT_END, NULL, NULL, .off = 0 },
	}, no_choices[] = {
		{ "a", 0, OPT_ENUM, NULL, NULL, OPT_AT(struct t_opts, mode) },
		{ NULL, 0, OPT_END, NULL, NULL, .off = 0 },
	}, bad_alias[] = {
		{ "a", 0, OPT_FLAG, NULL, NULL, OPT_AT(struct t_opts, flag),
		  .aliases = "-xy" },
		{ NULL, 0, OPT_END, NULL, NULL, .off = 0 },
	};

	(void)o;
	ASSERT_EQ(opt_table_check(t_table, &cause), 0);
	ASSERT_EQ(opt_table_check(dup_name, &cause), -1);
	ASSERT(cause != NULL && strstr(cause, "--a") != NULL);
	free(cause);
	ASSERT_EQ(opt_table_check(dup_letter, &cause), -1);
	free(cause);
	ASSERT_EQ(opt_table_check(help_letter, &cause), -1);
	free(cause);
	ASSERT_EQ(opt_table_check(bad_size, &cause), -1);
	free(cause);
	ASSERT_EQ(opt_table_check(no_choices, &cause), -1);
	free(cause);
	ASSERT_EQ(opt_table_check(bad_alias, &cause), -1);
	free(cause);
}

static void
test_help(void)
{
	char	*text = NULL;
	size_t	 len = 0;
	FILE	*f;

	if ((f = open_memstream(&text, &len)) == NULL)
		return;
	opt_help(t_table, f);
	ASSERT_EQ(opt_help_aliases(t_table, NULL, f), 3);
	ASSERT_EQ(opt_help_aliases(t_table, NULL, NULL), 3);
	ASSERT_EQ(opt_help_aliases(t_table, t_table, NULL), 0);
	fclose(f);
	ASSERT(strstr(text, "  -f, --flag                a flag\n") != NULL);
	ASSERT(strstr(text, "      --no-thing            clears off\n") !=
	    NULL);
	ASSERT(strstr(text, "  -n, --name NAME           a name\n") != NULL);
	ASSERT(strstr(text, "      --body MODE           an enum\n") != NULL);
	ASSERT(strstr(text, "      --timeout DUR         a duration\n") !=
	    NULL);
	ASSERT(strstr(text, "      --shard I/N           a callback\n"
	    "                            second line\n") != NULL);
	ASSERT(strstr(text, "hidden") == NULL);
	ASSERT(strstr(text, "  --old-flag                --flag\n") != NULL);
	ASSERT(strstr(text, "  -N                        --name\n") != NULL);
	free(text);
}

int
main(void)
{
	test_types();
	test_errors();
	test_aliases();
	test_operands();
	test_check();
	test_help();
	UNIT_DONE();
}
