/*
 * opt.h -- declarative command-line options.  A command describes each of
 * its options once, as a row of a table: long name, short letter, type,
 * range, help line, old spellings (aliases) and where the value goes (an
 * offset into the command's options struct, or a callback).  From the
 * table come the getopt_long tables, the uniform error messages
 * ("--rate: expected a rate like 200/s, got \"x\"") and the help text,
 * so an option is spelled in one place only.
 *
 * Values are stored as they are parsed; a repeated option overwrites the
 * previous value (a list appends).  Strings point into argv (argv outlives
 * the parse) unless the row says OPT_COPY, in which case the struct owns a
 * copy and a repeat frees the previous one.  Lists are always copies: an
 * xreallocarray'd array of xstrdup'd strings the caller frees.
 */
#ifndef DECOY_OPT_H
#define DECOY_OPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum opt_type {
	OPT_END = 0,	/* ends a table */
	OPT_FLAG,	/* int: .value when given (0: 1; OPT_NEGATE: 0) */
	OPT_COUNT,	/* int: +1 each time given (-v -v) */
	OPT_STRING,	/* char *: any argument */
	OPT_PATH,	/* char *: a non-empty file or directory name */
	OPT_ADDR,	/* char *: HOST:PORT, [V6]:PORT or :PORT (not resolved) */
	OPT_LIST,	/* char ** + size_t at .count: appends; split at .sep */
	OPT_INT,	/* an unsigned integer field of any width, in [min, max];
			 * decimal, or hexadecimal with 0x */
	OPT_SIZE,	/* size_t bytes: 1024, 16KiB, 8MiB (units.h), [min, max] */
	OPT_DURATION,	/* uint64_t ns: 250ms, 10s, 2m (units.h) or 0,
			 * [min, max] */
	OPT_RATE,	/* double per second: 200 or 200/s, above 0 */
	OPT_SEED,	/* uint64_t: a decimal unsigned 64-bit integer */
	OPT_ENUM,	/* int: the value of one of .choices */
	OPT_TIME,	/* int64_t microseconds since the epoch: RFC 3339 or
			 * epoch seconds (shape_time_parse) */
	OPT_CALL,	/* .call(base, arg, cause) does the parsing */
};

/* Row flags. */
#define OPT_COPY	0x1	/* STRING/PATH/ADDR: store an xstrdup'd copy */
#define OPT_NEGATE	0x2	/* FLAG: store 0 instead of 1 */
#define OPT_ARG		0x4	/* CALL: takes an argument */

struct opt_choice {
	const char	*name;
	int		 value;
};

/*
 * Parses arg (NULL for a row without OPT_ARG) for an OPT_CALL row: base is
 * the options struct, field base + the row's offset (OPT_AT, else base).
 * 0, or -1 with *cause (opt_parse puts the option's name before it).
 */
typedef int (*opt_cb)(void *base, void *field, const char *arg,
    char **cause);

struct opt {
	const char		*name;		/* long name, without -- */
	int			 letter;	/* short letter, or 0 */
	enum opt_type		 type;
	const char		*metavar;	/* NULL: the type's (FILE, N, ...) */
	const char		*help;		/* lines separated by \n */
	size_t			 off;		/* OPT_AT: where the value goes */
	size_t			 size;		/* OPT_AT: sizeof the field */
	size_t			 seen;		/* OPT_SEEN, or 0 */
	size_t			 count;		/* OPT_LIST: offset of the size_t */
	unsigned long long	 min, max;	/* INT, SIZE, DURATION; max 0: none */
	const struct opt_choice	*choices;	/* OPT_ENUM, ends with a NULL name */
	const char		*aliases;	/* old spellings: "-t --upstream-ca" */
	opt_cb			 call;		/* OPT_CALL */
	int			 flags;		/* OPT_COPY ... */
	int			 value;		/* OPT_FLAG: the value stored */
	char			 sep;		/* OPT_LIST: split each argument */
};

/* Where the value of a row goes: a member of the options struct. */
#define OPT_AT(st, m)	.off = offsetof(st, m), .size = sizeof(((st *)0)->m)
/* An int member set to 1 when the option is given. */
#define OPT_SEEN(st, m)	.seen = offsetof(st, m) + 1
/* The size_t count of an OPT_LIST. */
#define OPT_NUM(st, m)	.count = offsetof(st, m) + 1

/* The row that ends a table. */
#define OPT_END_ROW	{ .name = NULL, .type = OPT_END }

/* opt_parse flags. */
#define OPT_PARSE_STOP	0x1	/* stop at the first operand (no permutation) */

/*
 * Checks a table: unique names, letters and aliases, a size that fits
 * each type, ranges and choices present where needed.  0, or -1 with
 * *cause.  opt_parse calls it; a bad table is a broken invariant there.
 */
int	opt_table_check(const struct opt *, char **cause);

/*
 * Parses argv[1..argc-1] (argv[0] is the command's name) with the table
 * into base.  -h and --help are understood by every table.  Returns 0
 * with *ind the index of the first operand (operands are moved after the
 * options unless OPT_PARSE_STOP; "--" ends the options), 1 when help was
 * asked for, or -1 with *cause: an unknown option, a missing or unwanted
 * argument, or a value of the wrong type or out of range, each named by
 * the option's long name.
 */
int	opt_parse(const struct opt *, int argc, char **argv, void *base,
	    int flags, int *ind, char **cause);

/*
 * Writes the help of the table: one row per option,
 * "  -t, --target URL          help", continuation lines aligned, rows
 * with no help left out (-h, --help is the caller's to write).
 */
void	opt_help(const struct opt *, FILE *);
/*
 * Writes "  OLD  --NEW" for every alias of the table to f (nothing with
 * f NULL), but those skip (may be NULL) has too; returns their number.
 */
size_t	opt_help_aliases(const struct opt *, const struct opt *skip,
	    FILE *);

/* 1 if s is HOST:PORT, [V6]:PORT or :PORT (port 0..65535), as OPT_ADDR
 * takes it and sock_parse_addr reads it; else 0.  Nothing is resolved. */
int	opt_is_addr(const char *s);

/* Frees the array and strings of an OPT_LIST. */
void	opt_list_free(char **, size_t);

#endif
