/*
 * json.h -- a small strict JSON reader (RFC 8259) and string writer.
 *
 * The reader is a cursor over one caller-owned buffer: the caller walks an
 * object or array member by member and decides, per value, whether to
 * decode it (strings, integers, booleans) or skip it and keep its raw text
 * (so members it does not understand can be written back verbatim).
 * Nothing is allocated except the bytes of a string the caller asks to
 * decode.  Every value read or skipped is validated: UTF-8 in strings,
 * escapes (\uXXXX with surrogate pairs; a lone surrogate is an error),
 * number syntax, literals, nesting (at most JSON_MAX_DEPTH levels, so
 * hostile input cannot exhaust the stack).  Numbers are kept as raw text
 * and converted to int64 exactly, only when asked.
 *
 * On error a function returns -1 and leaves a static or parser-owned
 * message in p->error and the 0-based byte offset of the offending byte in
 * p->error_off.  A parser that has failed stays failed.
 */
#ifndef DECOY_JSON_H
#define DECOY_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define JSON_MAX_DEPTH	64

enum json_type {
	JSON_INVALID = 0,	/* nothing, or a byte no value starts with */
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT
};

/* A value's raw text: for a string the quotes are included. */
struct json_value {
	enum json_type	 type;
	int		 escaped;	/* a string holding a backslash */
	const char	*p;
	size_t		 len;
	size_t		 off;	/* offset of p in the parsed buffer */
};

struct json_parser {
	const char	*buf;
	size_t		 len;
	size_t		 off;
	int		 depth;
	int		 first;		/* just after '{' or '[' */
	const char	*error;		/* NULL until something fails */
	size_t		 error_off;
	char		 errbuf[128];
};

/* Starts reading buf[0..len); the buffer stays the caller's. */
void	json_init(struct json_parser *, const char *buf, size_t len);

/*
 * Records an error at byte offset off (printf-style message) unless one is
 * already recorded, and returns -1, so semantic checks made by the caller
 * report like syntax errors.
 */
int	json_fail(struct json_parser *, size_t off, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Skips whitespace and returns the type of the value that starts there,
 * JSON_INVALID if no value can start there (the next read reports why).
 */
enum json_type json_peek(struct json_parser *);

/* Consumes '{' or '[' (after whitespace).  Returns 0 or -1. */
int	json_object_enter(struct json_parser *);
int	json_array_enter(struct json_parser *);

/*
 * Steps to the next member of the object entered last.  Returns 1 with
 * *key set to the raw member name (quotes included) and the cursor on the
 * member's value, which the caller must read or skip before the next
 * call; 0 when the closing '}' has been consumed; -1 on error.
 */
int	json_object_next(struct json_parser *, struct json_value *key);

/*
 * json_object_next() that checks the member name against name (nlen
 * bytes, no '"', '\\' or control character; NULL: none) first: 2 when the
 * member is named exactly that, unescaped, with the ':' right after it
 * (a writer's usual member, told without scanning the name), else as
 * json_object_next().
 */
int	json_object_next_as(struct json_parser *, struct json_value *key,
	    const char *name, size_t nlen);

/*
 * Steps to the next element of the array entered last: 1 with the cursor
 * on the element, 0 when ']' has been consumed, -1 on error.
 */
int	json_array_next(struct json_parser *);

/* Consumes and validates any value; *v (if not NULL) gets its raw text. */
int	json_skip(struct json_parser *, struct json_value *v);

/*
 * Consumes a string value and appends its decoded bytes (which may
 * include NUL) to out, validating and decoding in one pass.  *off, if not
 * NULL, gets the offset of the opening quote.  Returns 0, or -1 if the
 * value is not a valid string (out may then hold part of it).
 */
int	json_read_string(struct json_parser *, struct buf *out, size_t *off);

/*
 * json_read_string() without an allocation.  buf is either the buffer
 * the parser reads, given again because it must be writable: the
 * string's own bytes are overwritten with its decoded bytes and a NUL
 * (decoded text is never longer than its source; bytes after the cursor
 * are not touched); or a buffer of the parser's length +
 * JSON_APART_SLACK bytes that stands for it byte for byte (the parser's
 * buffer is then only read): the decoded bytes and the NUL go where the
 * string's bytes are in the parser's buffer, and up to JSON_APART_SLACK
 * bytes after them may be written (what follows is decoded later).  *s
 * and *len get them.  *off, if not NULL, gets the offset of the opening
 * quote.  Returns 0, or -1 (the string's bytes may then be partly
 * overwritten, so an error is reported by offset only).
 */
#define JSON_APART_SLACK	16
int	json_read_string_here(struct json_parser *, char *buf, char **s,
	    size_t *len, size_t *off);

/*
 * Two json_read_string_here() calls in an array of two, for the common
 * case only: at the cursor, ["A","B"] with nothing between the tokens
 * and neither string holding an escape, a control character or a byte
 * that is not ASCII.  Returns 1 with *a, *alen, *b, *blen (written to
 * buf as json_read_string_here() writes) and the cursor past the ']';
 * 0, nothing read or written, for anything else: the caller then reads
 * the value token by token (and reports what is wrong with it).
 */
int	json_read_pair_here(struct json_parser *, char *buf, char **a,
	    size_t *alen, char **b, size_t *blen);

/* Consumes an integer value exactly; fractions, exponents and values
 * outside int64_t are errors. */
int	json_read_int64(struct json_parser *, int64_t *);

/* Consumes true or false. */
int	json_read_bool(struct json_parser *, int *);

/*
 * Fails, naming the member ("\"NAME\" must be WHAT", e.g. "an object"),
 * unless the value at the cursor has type want; consumes nothing.
 */
int	json_expect(struct json_parser *, enum json_type want,
	    const char *name, const char *what);

/*
 * Consumes a string value that must become a C string: *out gets it
 * allocated (not freed first), "" when empty; a NUL in it, or a value of
 * another type, is an error naming the member.
 */
int	json_read_cstr(struct json_parser *, const char *name, char **out);

/* Succeeds if nothing but whitespace is left. */
int	json_finish(struct json_parser *);

/*
 * True if the string s (a key from json_object_next() or a value from
 * json_skip(), quotes included) decodes to exactly the C string name.
 * Does not allocate.
 */
int	json_string_eq(const struct json_value *s, const char *name);

/*
 * Converts number text (RFC 8259 syntax) to int64_t.  Returns 0, or -1 if
 * it is not an integer or does not fit.
 */
int	json_number_to_int64(const char *, size_t, int64_t *);

/*
 * The usual integer at the cursor in one step: 1 with *out set and the
 * cursor past it when it is 1 to 18 digits (no sign, no leading zero, no
 * fraction or exponent next), else 0 with nothing consumed (read it with
 * json_skip() and json_number_to_int64()).
 */
int	json_read_int_plain(struct json_parser *, int64_t *out);

/*
 * Length of the valid UTF-8 sequence at p (1..4), or 0 if the bytes at p
 * (avail of them) are not one: overlong forms, surrogates, values past
 * U+10FFFF and truncated sequences are rejected.
 */
size_t	json_utf8_seq(const unsigned char *p, size_t avail);

/*
 * Appends the raw text of a value already validated by the parser without
 * the whitespace outside its strings; everything else (numbers, strings,
 * escapes) is copied byte for byte.
 */
void	json_append_compact(struct buf *, const char *raw, size_t len);

/*
 * Appends s[0..len) as a JSON string, quotes included.  '"', '\\', and
 * control characters are escaped (\b \f \n \r \t by name, the rest and NUL
 * as \u00XX); valid UTF-8 passes through.  A byte that is not part of a
 * valid UTF-8 sequence is written as \u00XX (read as Latin-1), so the
 * output is always valid JSON.
 */
void	json_append_string(struct buf *, const char *s, size_t len);
/*
 * The same for text that must come back byte for byte: -1, with nothing
 * appended, when s holds a NUL or is not valid UTF-8 (utf8_is_valid()'s
 * rule); 0 otherwise.
 */
int	json_append_text(struct buf *, const char *s, size_t len);

#endif
