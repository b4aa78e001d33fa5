/*
 * yamldoc.h -- the libyaml plumbing shared by the config, rule and
 * scenario loaders.  A document is loaded whole through libyaml's document
 * API so every node keeps its line and column; a loader walks it and
 * records each problem with yamldoc_err as "FILE:LINE:COL: message", then
 * fails once, at the end, with all of them (yamldoc_finish).
 *
 * Usage: yamldoc_init; set the policy fields; for each text
 * yamldoc_load_text or yamldoc_load_file, walk d->root,
 * yamldoc_check_single if a trailing document is an error,
 * yamldoc_close; then yamldoc_finish and yamldoc_free.  The errors buffer
 * and count survive yamldoc_close, so one struct yamldoc collects the
 * errors of several files.
 *
 * Wording is the loader's: only the messages documented below come from
 * here, each prefixed with the caller's "what".
 */
#ifndef DECOY_YAMLDOC_H
#define DECOY_YAMLDOC_H

#include <stdint.h>
#include <stdio.h>
#include <yaml.h>

#include "buf.h"

/*
 * Bounds checked before libyaml sees a text (its loader is quadratic in
 * the nesting depth): size, the column where a line's content starts
 * (block nesting), open flow brackets; NUL bytes are refused.  A text
 * past a bound fails to load like a syntax error, at the offending line
 * and column, with the problem "larger than 4 MiB", "nested too deeply
 * (...)" or "NUL byte in the text".
 */
#define YAMLDOC_MAX_MIB		4
#define YAMLDOC_MAX_BYTES	(YAMLDOC_MAX_MIB * 1024 * 1024)
#define YAMLDOC_MAX_INDENT	512
#define YAMLDOC_MAX_FLOW	64
#define YAMLDOC_STR(x)		YAMLDOC_STR_(x)
#define YAMLDOC_STR_(x)		#x

struct yamldoc {
	const char	*path;		/* the current text; labels errors */
	char		*dir;		/* path's directory, NULL without '/' */
	yaml_parser_t	 parser;
	yaml_document_t	 doc;
	yaml_node_t	*root;		/* NULL: no document, or empty */
	int		 has_parser;
	int		 has_doc;
	struct buf	 text;		/* a file's text, read whole */
	struct buf	 errors;	/* one error per line */
	int		 nerrors;

	/* Policy, set by the loader after yamldoc_init. */
	long		 max_keys;	/* per mapping; 0: no bound */
	int		 late_keys;	/* non-scalar keys reported by the walk */
	int		 verbatim;	/* keep control characters in messages */

	/* The last syntax error, for the loader to word (see _load_text). */
	yaml_mark_t	 mark;
	const char	*problem;	/* libyaml's, never NULL after -1 */
	const char	*context;	/* libyaml's, may be NULL */
};

/* Empty errors, no document, no policy. */
void		 yamldoc_init(struct yamldoc *);
/* Closes any document and frees the errors and dir. */
void		 yamldoc_free(struct yamldoc *);

/*
 * Loads the first document of text (len bytes, not copied: it must
 * outlive the document) or of stream f, labelled name (not copied), into
 * d->root (NULL when the text holds no document).  Returns 0, or -1 on a
 * syntax error, which is not recorded: d->mark, d->problem (NULL from
 * libyaml becomes NULL here too; the loader picks its fallback) and
 * d->context describe it.  Any previous document is closed first.
 */
int		 yamldoc_load_text(struct yamldoc *, const char *name,
		     const char *text, size_t len);
int		 yamldoc_load_file(struct yamldoc *, const char *name, FILE *);
/*
 * Reads on after d->root: records "more than one YAML document" at a
 * second document's root and returns 0, or returns -1 on a syntax error
 * as yamldoc_load_text does.
 */
int		 yamldoc_check_single(struct yamldoc *);
/* Frees the document and parser; errors are kept. */
void		 yamldoc_close(struct yamldoc *);
/*
 * 0 when no error was recorded; otherwise moves the errors, one per line,
 * into *cause (the caller frees it) and returns -1.
 */
int		 yamldoc_finish(struct yamldoc *, char **cause);

/*
 * Records one error at node n, or at mark m: "PATH:LINE:COL: message".
 * Control characters in the message become '?' (unless d->verbatim) so
 * that one error is one line.  A NULL mark records the message as the
 * whole line, unprefixed and verbatim.
 */
void		 yamldoc_err(struct yamldoc *, const yaml_node_t *n,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void		 yamldoc_err_at(struct yamldoc *, const yaml_mark_t *m,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Node id of the current document. */
yaml_node_t	*yamldoc_node(struct yamldoc *, int id);
/* "a mapping", "a list" or "a value", for "expected X, not %s". */
const char	*yamldoc_kind(const yaml_node_t *);
/* 1 for a plain ~, null or empty scalar, else 0. */
int		 yamldoc_is_null(const yaml_node_t *);
/* 1 when mapping map has the scalar key name, else 0. */
int		 yamldoc_has_key(struct yamldoc *, const yaml_node_t *map,
		     const char *name);
/* Number of pairs of a mapping or items of a list. */
size_t		 yamldoc_size(const yaml_node_t *);

/*
 * Checks that n is a mapping of at most d->max_keys keys ("WHAT: expected
 * a mapping, not KIND", "WHAT: more than N keys": returns -1).  Otherwise
 * returns 0 after recording every repeated key ("WHAT: duplicate key
 * \"K\"") and, unless d->late_keys, every non-scalar key ("WHAT: a key
 * must be a single value, not KIND").
 */
int		 yamldoc_mapping(struct yamldoc *, const yaml_node_t *n,
		     const char *what);
/*
 * The key of pair p of a mapping checked by yamldoc_mapping, or NULL when
 * it is not a scalar (recorded now if d->late_keys) or repeats an earlier
 * key (recorded there), so a walker sees each key once.
 */
const char	*yamldoc_pair_key(struct yamldoc *, const yaml_node_t *map,
		     const yaml_node_pair_t *p, const char *what);
/* Walks the keys of mapping map: pair P, key node K, value V, name KEY. */
#define YAMLDOC_PAIRS(d, map, P, K, V, KEY, what)			\
	for ((P) = (map)->data.mapping.pairs.start;			\
	    (P) < (map)->data.mapping.pairs.top; (P)++)			\
		if (((KEY) = yamldoc_pair_key((d), (map), (P),		\
		    (what))) == NULL ||					\
		    ((K) = yamldoc_node((d), (P)->key)) == NULL ||	\
		    ((V) = yamldoc_node((d), (P)->value)) == NULL) {	\
		} else

/*
 * Scalar getters: 0, or -1 with the error recorded at n.  Their messages:
 *   _scalar    "WHAT: expected a single value, not KIND"
 *   _choice    "WHAT: expected A, B or C, not \"S\"" (names in order)
 *   _int       "WHAT: expected an integer, not \"S\"", "WHAT: must not be
 *              negative (N)" (min 0), "WHAT: must be at least MIN (N)",
 *              "WHAT: must be at most MAX (N)"
 *   _double    "WHAT: expected a number, not \"S\"" (finite)
 *   _bool      "WHAT: expected true or false, not \"S\""
 *   _duration  "WHAT: bad duration \"S\" (e.g. 250ms, 2s)" (units.h)
 * yamldoc_scalar returns the value (owned by the document) or NULL.
 */
const char	*yamldoc_scalar(struct yamldoc *, const yaml_node_t *n,
		     const char *what);
int		 yamldoc_int(struct yamldoc *, const yaml_node_t *n,
		     const char *what, int64_t min, int64_t max, int64_t *);
int		 yamldoc_double(struct yamldoc *, const yaml_node_t *n,
		     const char *what, double *);
int		 yamldoc_bool(struct yamldoc *, const yaml_node_t *n,
		     const char *what, int *);
/* One of names[0..count): *index is its place. */
int		 yamldoc_choice(struct yamldoc *, const yaml_node_t *n,
		     const char *what, const char *const *names, size_t count,
		     size_t *index);
int		 yamldoc_duration(struct yamldoc *, const yaml_node_t *n,
		     const char *what, uint64_t *ns);

/*
 * rel resolved against the directory of d->path: unchanged when absolute
 * or when the path has no directory.  The caller frees the result.
 */
char		*yamldoc_path(struct yamldoc *, const char *rel);

#endif
