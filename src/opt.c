/*
 * opt.c -- declarative command-line options (opt.h): a table of rows
 * becomes getopt_long's short and long tables, each argument is parsed by
 * its row's type (sizes, durations through units.c, times through
 * shape.c) into the command's options struct, and the help text and the
 * list of old spellings are written from the same rows.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "opt.h"
#include "shape.h"
#include "units.h"
#include "xmalloc.h"

#define OPT_HELP_COLUMN	28
#define OPT_VAL_BASE	256	/* getopt_long val of row i: OPT_VAL_BASE + i */

static int
opt_takes_arg(const struct opt *o)
{
	if (o->type == OPT_FLAG || o->type == OPT_COUNT)
		return 0;
	if (o->type == OPT_CALL)
		return (o->flags & OPT_ARG) != 0;
	return 1;
}

/* The size a row's field must have; 0: any (INT, CALL). */
static size_t
opt_type_size(enum opt_type t)
{
	switch (t) {
	case OPT_FLAG:
	case OPT_COUNT:
	case OPT_ENUM:
		return sizeof(int);
	case OPT_STRING:
	case OPT_PATH:
	case OPT_ADDR:
		return sizeof(char *);
	case OPT_LIST:
		return sizeof(char **);
	case OPT_SIZE:
		return sizeof(size_t);
	case OPT_DURATION:
	case OPT_SEED:
		return sizeof(uint64_t);
	case OPT_RATE:
		return sizeof(double);
	case OPT_TIME:
		return sizeof(int64_t);
	default:
		return 0;
	}
}

static const char *
opt_metavar(const struct opt *o, char *mv, size_t size)
{
	const struct opt_choice	*c;
	size_t			 n = 0;

	if (o->metavar != NULL)
		return o->metavar;
	switch (o->type) {
	case OPT_PATH:
		return "FILE";
	case OPT_ADDR:
		return "ADDR";
	case OPT_INT:
	case OPT_SEED:
		return "N";
	case OPT_SIZE:
		return "SIZE";
	case OPT_DURATION:
		return "DUR";
	case OPT_RATE:
		return "R[/s]";
	case OPT_TIME:
		return "TIME";
	case OPT_ENUM:
		mv[0] = '\0';
		for (c = o->choices; c != NULL && c->name != NULL &&
		    n < size; c++)
			n += (size_t)snprintf(mv + n, size - n, "%s%s",
			    c == o->choices ? "" : "|", c->name);
		return mv;
	default:
		return "VALUE";
	}
}

/* Calls fn for each space-separated word of a row's aliases. */
static int
opt_alias_next(const char **p, char *word, size_t size)
{
	const char	*s = *p, *e;
	size_t		 n;

	while (*s == ' ')
		s++;
	if (*s == '\0')
		return 0;
	for (e = s; *e != '\0' && *e != ' '; e++)
		;
	n = (size_t)(e - s);
	if (n >= size)
		n = size - 1;
	memcpy(word, s, n);
	word[n] = '\0';
	*p = e;
	return 1;
}

/* Adds name to the names seen so far; -1 if it is already there. */
static int
opt_check_name(char ***names, size_t *n, const char *name, char **cause)
{
	size_t	i;

	for (i = 0; i < *n; i++) {
		if (strcmp((*names)[i], name) == 0) {
			*cause = xasprintf("option table: \"%s\" twice", name);
			return -1;
		}
	}
	*names = xreallocarray(*names, *n + 1, sizeof **names);
	(*names)[(*n)++] = xstrdup(name);
	return 0;
}

/* The checks of one row that do not depend on the others. */
static int
opt_check_row(const struct opt *o, char **cause)
{
	size_t	want = opt_type_size(o->type);

	if (o->name == NULL || o->name[0] == '\0' || o->name[0] == '-') {
		*cause = xstrdup("option table: a row without a long name");
		return -1;
	}
	if (o->type == OPT_CALL ? o->call == NULL :
	    (want != 0 && o->size != want) || o->size == 0) {
		*cause = xasprintf("option table: --%s: no place or a place "
		    "of the wrong size", o->name);
		return -1;
	}
	if (o->type == OPT_INT && o->size != 1 && o->size != 2 &&
	    o->size != 4 && o->size != 8) {
		*cause = xasprintf("option table: --%s: an integer of %zu "
		    "bytes", o->name, o->size);
		return -1;
	}
	if ((o->type == OPT_ENUM && (o->choices == NULL ||
	    o->choices[0].name == NULL)) || (o->type == OPT_LIST &&
	    o->count == 0) || (o->max != 0 && o->min > o->max)) {
		*cause = xasprintf("option table: --%s: no choices, count or "
		    "an empty range", o->name);
		return -1;
	}
	return 0;
}

int
opt_table_check(const struct opt *t, char **cause)
{
	const struct opt	*o;
	const char		*p;
	char			**names = NULL, word[64];
	size_t			 n = 0, i;
	int			 rv = -1;

	if (opt_check_name(&names, &n, "--help", cause) == -1 ||
	    opt_check_name(&names, &n, "-h", cause) == -1)
		goto out;
	for (o = t; o->type != OPT_END; o++) {
		if (opt_check_row(o, cause) == -1)
			goto out;
		snprintf(word, sizeof word, "--%s", o->name);
		if (opt_check_name(&names, &n, word, cause) == -1)
			goto out;
		snprintf(word, sizeof word, "-%c", o->letter);
		if (o->letter != 0 && opt_check_name(&names, &n, word,
		    cause) == -1)
			goto out;
		for (p = o->aliases; p != NULL &&
		    opt_alias_next(&p, word, sizeof word);) {
			if (word[0] != '-' || (word[1] != '-' &&
			    word[2] != '\0') || word[1] == '\0') {
				*cause = xasprintf("option table: --%s: bad "
				    "alias \"%s\"", o->name, word);
				goto out;
			}
			if (opt_check_name(&names, &n, word, cause) == -1)
				goto out;
		}
	}
	rv = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rv;
}

static void *
opt_field(const struct opt *o, void *base)
{
	return (char *)base + o->off;
}

static int
opt_set_int(const struct opt *o, void *base, const char *arg, char **cause)
{
	unsigned long long	 v, max = o->max;
	const char		*digits = arg;
	char			*end;
	int			 hex;
	uint32_t		 v32;
	uint16_t		 v16;
	uint8_t			 v8;

	if (max == 0)
		max = o->size >= 8 ? ULLONG_MAX : (1ULL << (o->size * 8)) - 1;
	hex = arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X');
	if (hex)
		digits += 2;
	errno = 0;
	v = strtoull(digits, &end, hex ? 16 : 10);
	if (!(hex ? isxdigit((unsigned char)*digits) :
	    isdigit((unsigned char)*digits)) || *end != '\0' || errno != 0 ||
	    v < o->min || v > max) {
		*cause = xasprintf("expected an integer from %llu to %llu, "
		    "got \"%s\"", o->min, max, arg);
		return -1;
	}
	v32 = (uint32_t)v;
	v16 = (uint16_t)v;
	v8 = (uint8_t)v;
	memcpy(opt_field(o, base), o->size == 8 ? (void *)&v :
	    o->size == 4 ? (void *)&v32 : o->size == 2 ? (void *)&v16 :
	    (void *)&v8, o->size);
	return 0;
}

/* Writes ns as the largest unit that divides it: 1h, 250ms, 5ns. */
static void
opt_fmt_duration(struct buf *b, unsigned long long ns)
{
	static const struct {
		const char		*unit;
		unsigned long long	 scale;
	} u[] = {
		{ "h", 3600000000000ULL }, { "m", 60000000000ULL },
		{ "s", 1000000000ULL }, { "ms", 1000000ULL },
		{ "us", 1000ULL }, { "ns", 1 },
	};
	size_t	i;

	for (i = 0; ns != 0 && i < sizeof u / sizeof u[0]; i++) {
		if (ns % u[i].scale == 0 || u[i].scale == 1) {
			buf_printf(b, "%llu%s", ns / u[i].scale, u[i].unit);
			return;
		}
	}
	buf_printf(b, "0");
}

/* Writes bytes as the largest binary unit that divides it: 16KiB. */
static void
opt_fmt_size(struct buf *b, unsigned long long n)
{
	if (n != 0 && n % 1073741824ULL == 0)
		buf_printf(b, "%lluGiB", n / 1073741824ULL);
	else if (n != 0 && n % 1048576ULL == 0)
		buf_printf(b, "%lluMiB", n / 1048576ULL);
	else if (n != 0 && n % 1024ULL == 0)
		buf_printf(b, "%lluKiB", n / 1024ULL);
	else
		buf_printf(b, "%llu", n);
}

/* "expected a duration like 250ms or 10s (from 1ns to 1h), got "x"". */
static char *
opt_unit_error(const struct opt *o, const char *arg)
{
	struct buf	b;
	void		(*fmt)(struct buf *, unsigned long long);

	buf_init(&b);
	if (o->type == OPT_DURATION) {
		buf_printf(&b, "expected a duration like 250ms or 10s");
		fmt = opt_fmt_duration;
	} else {
		buf_printf(&b, "expected a size like 4096, 16KiB or 8MiB");
		fmt = opt_fmt_size;
	}
	if (o->max != 0) {
		buf_printf(&b, " (from ");
		fmt(&b, o->min);
		buf_printf(&b, " to ");
		fmt(&b, o->max);
		buf_printf(&b, ")");
	} else if (o->min == 1)
		buf_printf(&b, " (above 0)");
	else if (o->min > 1) {
		buf_printf(&b, " (at least ");
		fmt(&b, o->min);
		buf_printf(&b, ")");
	}
	buf_printf(&b, ", got \"%s\"", arg);
	return buf_detach(&b, NULL);
}

static int
opt_in_range(const struct opt *o, unsigned long long v)
{
	return v >= o->min && (o->max == 0 || v <= o->max);
}

static int
opt_set_enum(const struct opt *o, void *base, const char *arg, char **cause)
{
	const struct opt_choice	*c;
	struct buf		 b;

	for (c = o->choices; c->name != NULL; c++) {
		if (strcmp(c->name, arg) == 0) {
			memcpy(opt_field(o, base), &c->value, sizeof(int));
			return 0;
		}
	}
	buf_init(&b);
	buf_printf(&b, "expected ");
	for (c = o->choices; c->name != NULL; c++)
		buf_printf(&b, "%s%s", c == o->choices ? "" :
		    c[1].name == NULL ? " or " : ", ", c->name);
	buf_printf(&b, ", got \"%s\"", arg);
	*cause = buf_detach(&b, NULL);
	return -1;
}

/* A rate: a number above 0 (at most 1e9), optionally followed by "/s". */
static int
opt_set_rate(const struct opt *o, void *base, const char *arg, char **cause)
{
	char	*end;
	double	 d;

	errno = 0;
	d = strtod(arg, &end);
	if (end == arg || errno != 0 || !(d > 0) || d > 1e9 ||
	    (*end != '\0' && strcmp(end, "/s") != 0)) {
		*cause = xasprintf("expected a rate like 200/s, got \"%s\"",
		    arg);
		return -1;
	}
	memcpy(opt_field(o, base), &d, sizeof d);
	return 0;
}

static void
opt_set_string(const struct opt *o, void *base, const char *arg)
{
	char	*s;

	if (o->flags & OPT_COPY) {
		memcpy(&s, opt_field(o, base), sizeof s);
		free(s);
		s = xstrdup(arg);
	} else
		s = (char *)arg;
	memcpy(opt_field(o, base), &s, sizeof s);
}

int
opt_is_addr(const char *s)
{
	const char	*colon, *p;

	if (s[0] == '[') {
		if ((p = strchr(s, ']')) == NULL || p == s + 1 || p[1] != ':')
			return 0;
		colon = p + 1;
	} else if ((colon = strrchr(s, ':')) == NULL)
		return 0;
	if (colon[1] == '\0' || strlen(colon + 1) > 5)
		return 0;
	for (p = colon + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return 0;
	}
	return strtol(colon + 1, NULL, 10) <= 65535;
}

static void
opt_list_add(const struct opt *o, void *base, const char *s, size_t len)
{
	char	**list;
	size_t	 n;

	memcpy(&list, opt_field(o, base), sizeof list);
	memcpy(&n, (char *)base + o->count - 1, sizeof n);
	list = xreallocarray(list, n + 1, sizeof *list);
	list[n++] = xstrndup(s, len);
	memcpy(opt_field(o, base), &list, sizeof list);
	memcpy((char *)base + o->count - 1, &n, sizeof n);
}

static void
opt_set_list(const struct opt *o, void *base, const char *arg)
{
	const char	*s = arg, *e;

	if (o->sep == '\0') {
		opt_list_add(o, base, arg, strlen(arg));
		return;
	}
	while (*s != '\0') {
		if ((e = strchr(s, o->sep)) == NULL)
			e = s + strlen(s);
		if (e > s)
			opt_list_add(o, base, s, (size_t)(e - s));
		s = *e == '\0' ? e : e + 1;
	}
}

/* Parses arg by the row's type into base; 0, or -1 with *cause. */
static int
opt_set(const struct opt *o, void *base, const char *arg, char **cause)
{
	struct shape_time	t;
	uint64_t		u;
	size_t			sz;
	int			i;

	switch (o->type) {
	case OPT_FLAG:
		i = (o->flags & OPT_NEGATE) ? 0 : o->value != 0 ? o->value : 1;
		memcpy(opt_field(o, base), &i, sizeof i);
		return 0;
	case OPT_COUNT:
		memcpy(&i, opt_field(o, base), sizeof i);
		i++;
		memcpy(opt_field(o, base), &i, sizeof i);
		return 0;
	case OPT_PATH:
		if (arg[0] == '\0') {
			*cause = xstrdup("expected a file name, got \"\"");
			return -1;
		}
		opt_set_string(o, base, arg);
		return 0;
	case OPT_ADDR:
		if (!opt_is_addr(arg)) {
			*cause = xasprintf("expected HOST:PORT, [V6]:PORT or "
			    ":PORT, got \"%s\"", arg);
			return -1;
		}
		/* FALLTHROUGH */
	case OPT_STRING:
		opt_set_string(o, base, arg);
		return 0;
	case OPT_LIST:
		opt_set_list(o, base, arg);
		return 0;
	case OPT_INT:
		return opt_set_int(o, base, arg, cause);
	case OPT_SIZE:
		if (units_parse_size(arg, &sz) == -1 || !opt_in_range(o, sz)) {
			*cause = opt_unit_error(o, arg);
			return -1;
		}
		memcpy(opt_field(o, base), &sz, sizeof sz);
		return 0;
	case OPT_DURATION:
		if (strcmp(arg, "0") == 0)
			u = 0;
		else if (units_parse_duration(arg, &u) == -1)
			u = UINT64_MAX;
		if (u == UINT64_MAX || !opt_in_range(o, u)) {
			*cause = opt_unit_error(o, arg);
			return -1;
		}
		memcpy(opt_field(o, base), &u, sizeof u);
		return 0;
	case OPT_RATE:
		return opt_set_rate(o, base, arg, cause);
	case OPT_SEED:
		if (units_parse_seed(arg, &u) == -1) {
			*cause = xasprintf("expected an unsigned integer, got "
			    "\"%s\"", arg);
			return -1;
		}
		memcpy(opt_field(o, base), &u, sizeof u);
		return 0;
	case OPT_ENUM:
		return opt_set_enum(o, base, arg, cause);
	case OPT_TIME:
		if (shape_time_parse(arg, strlen(arg), &t) == -1) {
			*cause = xasprintf("expected a time such as "
			    "2026-12-07T17:54:34Z or epoch seconds, got "
			    "\"%s\"", arg);
			return -1;
		}
		memcpy(opt_field(o, base), &t.us, sizeof t.us);
		return 0;
	case OPT_CALL:
		return o->call(base, opt_field(o, base), arg, cause);
	default:
		*cause = xstrdup("option table: a row of no type");
		return -1;
	}
}

/* The row of a getopt_long result (a row's val or a short letter). */
static const struct opt *
opt_find(const struct opt *t, int ch)
{
	const struct opt	*o;
	const char		*p;
	char			 word[64];

	if (ch >= OPT_VAL_BASE)
		return &t[ch - OPT_VAL_BASE];
	for (o = t; o->type != OPT_END; o++) {
		if (o->letter == ch)
			return o;
		for (p = o->aliases; p != NULL &&
		    opt_alias_next(&p, word, sizeof word);) {
			if (word[1] == ch && word[2] == '\0')
				return o;
		}
	}
	return NULL;
}

/* Appends the short letter c (with ':' if it takes an argument). */
static void
opt_short_add(struct buf *b, int c, int arg)
{
	buf_printf(b, "%c%s", c, arg ? ":" : "");
}

static struct option *
opt_long_add(struct option *lo, size_t *n, const char *name, int arg,
    int val)
{
	lo = xreallocarray(lo, *n + 1, sizeof *lo);
	lo[*n].name = name;
	lo[*n].has_arg = arg ? required_argument : no_argument;
	lo[*n].flag = NULL;
	lo[*n].val = val;
	(*n)++;
	return lo;
}

/*
 * Builds getopt_long's tables: *shortopts (allocated) and the long table
 * (ends with a zero row; the names of aliases are allocated, see
 * opt_tables_free).
 */
static struct option *
opt_tables(const struct opt *t, int flags, char **shortopts)
{
	const struct opt	*o;
	struct option		*lo = NULL;
	struct buf		 b;
	const char		*p;
	char			 word[64];
	size_t			 n = 0;
	int			 val;

	buf_init(&b);
	buf_printf(&b, "%s:h", (flags & OPT_PARSE_STOP) ? "+" : "");
	for (o = t; o->type != OPT_END; o++) {
		val = OPT_VAL_BASE + (int)(o - t);
		if (o->letter != 0)
			opt_short_add(&b, o->letter, opt_takes_arg(o));
		lo = opt_long_add(lo, &n, o->name, opt_takes_arg(o), val);
		for (p = o->aliases; p != NULL &&
		    opt_alias_next(&p, word, sizeof word);) {
			if (word[1] != '-')
				opt_short_add(&b, word[1], opt_takes_arg(o));
			else
				lo = opt_long_add(lo, &n, xstrdup(word + 2),
				    opt_takes_arg(o), val);
		}
	}
	lo = opt_long_add(lo, &n, "help", 0, 'h');
	lo = opt_long_add(lo, &n, NULL, 0, 0);
	*shortopts = buf_detach(&b, NULL);
	return lo;
}

static void
opt_tables_free(const struct opt *t, struct option *lo)
{
	struct option	*l;

	for (l = lo; l->name != NULL; l++) {
		if (l->val >= OPT_VAL_BASE &&
		    l->name != t[l->val - OPT_VAL_BASE].name)
			free((char *)l->name);
	}
	free(lo);
}

/* How many rows have a long name or alias that starts with arg's name
 * ("--se" of "--se=1"). */
static size_t
opt_prefix_rows(const struct opt *t, const char *arg)
{
	const struct opt	*o;
	const char		*p;
	char			 word[64];
	size_t			 len = strcspn(arg + 2, "="), n = 0;
	int			 hit;

	for (o = t; o->type != OPT_END; o++) {
		hit = strncmp(o->name, arg + 2, len) == 0;
		for (p = o->aliases; !hit && p != NULL &&
		    opt_alias_next(&p, word, sizeof word);)
			hit = word[1] == '-' && strncmp(word + 2, arg + 2,
			    len) == 0;
		n += hit;
	}
	return n;
}

/* The message of a getopt_long error ('?' or ':'). */
static char *
opt_getopt_error(const struct opt *t, int ch, char **argv)
{
	const struct opt	*o = optopt != 0 ? opt_find(t, optopt) : NULL;
	const char		*arg = argv[optind - 1];

	if (ch == ':' && o != NULL)
		return xasprintf("--%s: missing value", o->name);
	if (o != NULL && optopt >= OPT_VAL_BASE)
		return xasprintf("--%s: takes no value", o->name);
	if (optopt != 0 && optopt < OPT_VAL_BASE)
		return xasprintf("unknown option \"-%c\"", optopt);
	if (strncmp(arg, "--", 2) == 0 && opt_prefix_rows(t, arg) > 1)
		return xasprintf("ambiguous option \"%s\"", arg);
	return xasprintf("unknown option \"%s\"", arg);
}

int
opt_parse(const struct opt *t, int argc, char **argv, void *base, int flags,
    int *ind, char **cause)
{
	const struct opt	*o;
	struct option		*lo;
	char			*shortopts, *why = NULL;
	int			 ch, rv = 0, one = 1;

	if (opt_table_check(t, &why) == -1)
		fatalx("%s: %s", argv[0], why);
	lo = opt_tables(t, flags, &shortopts);
	optind = 0;	/* glibc: start afresh (a previous parse, permutation) */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
		if (ch == 'h') {
			rv = 1;
			break;
		}
		if (ch == '?' || ch == ':') {
			*cause = opt_getopt_error(t, ch, argv);
			rv = -1;
			break;
		}
		if ((o = opt_find(t, ch)) == NULL)
			fatalx("%s: getopt_long returned %d", argv[0], ch);
		if (opt_set(o, base, opt_takes_arg(o) ? optarg : NULL,
		    &why) == -1) {
			*cause = xasprintf("--%s: %s", o->name, why);
			free(why);
			rv = -1;
			break;
		}
		if (o->seen != 0)
			memcpy((char *)base + o->seen - 1, &one, sizeof one);
	}
	*ind = optind;
	opt_tables_free(t, lo);
	free(shortopts);
	return rv;
}

static void
opt_help_row(const struct opt *o, FILE *f)
{
	const char	*h = o->help, *nl;
	char		 left[160], mv[128];
	int		 first = 1, n;

	n = snprintf(left, sizeof left, "  %c%c%s--%s%s%s",
	    o->letter != 0 ? '-' : ' ', o->letter != 0 ? o->letter : ' ',
	    o->letter != 0 ? ", " : "  ", o->name,
	    opt_takes_arg(o) ? " " : "",
	    opt_takes_arg(o) ? opt_metavar(o, mv, sizeof mv) : "");
	if (n + 1 >= OPT_HELP_COLUMN) {
		fprintf(f, "%s\n", left);
		first = 0;
	} else
		fprintf(f, "%-*s", OPT_HELP_COLUMN, left);
	while (*h != '\0') {
		if ((nl = strchr(h, '\n')) == NULL)
			nl = h + strlen(h);
		fprintf(f, "%*s%.*s\n", first ? 0 : OPT_HELP_COLUMN, "",
		    (int)(nl - h), h);
		first = 0;
		h = *nl == '\0' ? nl : nl + 1;
	}
}

void
opt_help(const struct opt *t, FILE *f)
{
	const struct opt	*o;

	for (o = t; o->type != OPT_END; o++) {
		if (o->help != NULL)
			opt_help_row(o, f);
	}
}

/* 1 if table t (may be NULL) has alias word for an option named name. */
static int
opt_has_alias(const struct opt *t, const char *word, const char *name)
{
	const struct opt	*o;
	const char		*p;
	char			 w[64];

	for (o = t; o != NULL && o->type != OPT_END; o++) {
		for (p = o->aliases; p != NULL &&
		    opt_alias_next(&p, w, sizeof w);) {
			if (strcmp(w, word) == 0 && strcmp(o->name, name) == 0)
				return 1;
		}
	}
	return 0;
}

size_t
opt_help_aliases(const struct opt *t, const struct opt *skip, FILE *f)
{
	const struct opt	*o;
	const char		*p;
	char			 word[64];
	size_t			 n = 0;

	for (o = t; o->type != OPT_END; o++) {
		for (p = o->aliases; p != NULL &&
		    opt_alias_next(&p, word, sizeof word);) {
			if (opt_has_alias(skip, word, o->name))
				continue;
			if (f != NULL)
				fprintf(f, "  %-24s  --%s\n", word, o->name);
			n++;
		}
	}
	return n;
}

void
opt_list_free(char **list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}
