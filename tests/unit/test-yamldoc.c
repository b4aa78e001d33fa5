/*
 * test-yamldoc.c -- the loaders' shared YAML plumbing: positions, the
 * mapping checks under both key policies, the scalar getters, syntax
 * errors, trailing documents, errors across texts and path resolution.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "yamldoc.h"

static int
load(struct yamldoc *d, const char *name, const char *text)
{
	return yamldoc_load_text(d, name, text, strlen(text));
}

/* Finishes d and checks its errors (NULL: none). */
static void
expect(struct yamldoc *d, const char *want)
{
	char	*cause = NULL;
	int	 rv;

	rv = yamldoc_finish(d, &cause);
	if (want == NULL) {
		ASSERT_EQ(rv, 0);
		ASSERT(cause == NULL);
	} else {
		ASSERT_EQ(rv, -1);
		if (cause != NULL)
			ASSERT_STR_EQ(cause, want);
	}
	free(cause);
	yamldoc_free(d);
}

/* Walks every pair of the root mapping, reading nothing. */
static void
walk(struct yamldoc *d)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k, *v;
	const char		*key;

	if (yamldoc_mapping(d, d->root, "top") == -1)
		return;
	YAMLDOC_PAIRS(d, d->root, p, k, v, key, "top")
		yamldoc_err(d, v, "saw %s", key);
}

static void
test_mapping(void)
{
	static const char text[] = "a: 1\n[x]: 2\na: 3\nb: 4\n";
	struct yamldoc	d;

	/* Keys reported by the mapping check, before the walk. */
	yamldoc_init(&d);
	ASSERT_EQ(load(&d, "m", text), 0);
	walk(&d);
	yamldoc_close(&d);
	expect(&d, "m:2:1: top: a key must be a single value, not a list\n"
	    "m:3:1: top: duplicate key \"a\"\n"
	    "m:1:4: saw a\n"
	    "m:4:4: saw b");

	/* late_keys: a non-scalar key is reported where the walk meets it. */
	yamldoc_init(&d);
	d.late_keys = 1;
	ASSERT_EQ(load(&d, "m", text), 0);
	walk(&d);
	yamldoc_close(&d);
	expect(&d, "m:3:1: top: duplicate key \"a\"\n"
	    "m:1:4: saw a\n"
	    "m:2:1: top: a key must be a single value, not a list\n"
	    "m:4:4: saw b");

	yamldoc_init(&d);
	d.max_keys = 3;
	ASSERT_EQ(load(&d, "m", text), 0);
	walk(&d);
	yamldoc_close(&d);
	expect(&d, "m:1:1: top: more than 3 keys");

	yamldoc_init(&d);
	ASSERT_EQ(load(&d, "m", "- 1\n"), 0);
	walk(&d);
	ASSERT_STR_EQ(yamldoc_kind(d.root), "a list");
	yamldoc_close(&d);
	expect(&d, "m:1:1: top: expected a mapping, not a list");
}

static void
test_scalars(void)
{
	struct yamldoc	 d;
	yaml_node_pair_t	*p;
	yaml_node_t	*k, *v;
	const char	*key;
	static const char *const modes[] = { "fast", "safe", "off" };
	int64_t		 i = 0;
	double		 f = 0;
	uint64_t	 ns = 0;
	size_t		 c = 9;
	int		 b = -1, no = -1;

	yamldoc_init(&d);
	ASSERT_EQ(load(&d, "s", "i: 7\nneg: -1\nbig: 9\nf: 0.5\n"
	    "t: true\nd: 2s\nbad: 2\nmap: {}\nq: \"a\\tb\"\n"
	    "m: safe\nm2: slow\nm3: [a]\nno: false\nyes: yes\n"), 0);
	ASSERT_EQ(yamldoc_mapping(&d, d.root, "s"), 0);
	YAMLDOC_PAIRS(&d, d.root, p, k, v, key, "s") {
		if (strcmp(key, "i") == 0)
			ASSERT_EQ(yamldoc_int(&d, v, key, 0, 8, &i), 0);
		else if (strcmp(key, "neg") == 0 || strcmp(key, "big") == 0)
			ASSERT_EQ(yamldoc_int(&d, v, key, 0, 8, &i), -1);
		else if (strcmp(key, "f") == 0)
			ASSERT_EQ(yamldoc_double(&d, v, key, &f), 0);
		else if (strcmp(key, "t") == 0)
			ASSERT_EQ(yamldoc_bool(&d, v, key, &b), 0);
		else if (strcmp(key, "no") == 0)
			ASSERT_EQ(yamldoc_bool(&d, v, key, &no), 0);
		else if (strcmp(key, "yes") == 0)
			ASSERT_EQ(yamldoc_bool(&d, v, key, &no), -1);
		else if (strcmp(key, "m") == 0)
			ASSERT_EQ(yamldoc_choice(&d, v, key, modes, 3, &c), 0);
		else if (key[0] == 'm' && key[1] != 'a')
			ASSERT_EQ(yamldoc_choice(&d, v, key, modes, 3, &c),
			    -1);
		else if (strcmp(key, "d") == 0)
			ASSERT_EQ(yamldoc_duration(&d, v, key, &ns), 0);
		else if (strcmp(key, "bad") == 0)
			ASSERT_EQ(yamldoc_duration(&d, v, key, &ns), -1);
		else if (strcmp(key, "map") == 0)
			ASSERT(yamldoc_scalar(&d, v, key) == NULL);
		else
			yamldoc_err(&d, v, "%s: \"%s\"", key,
			    yamldoc_scalar(&d, v, key));
	}
	ASSERT_EQ(i, 7);
	ASSERT(f == 0.5);
	ASSERT_EQ(b, 1);
	ASSERT_EQ(no, 0);
	ASSERT_EQ(c, 1);
	ASSERT_EQ(ns, UINT64_C(2000000000));
	ASSERT(yamldoc_has_key(&d, d.root, "map"));
	ASSERT(!yamldoc_has_key(&d, d.root, "nope"));
	yamldoc_close(&d);
	expect(&d, "s:2:6: neg: must not be negative (-1)\n"
	    "s:3:6: big: must be at most 8 (9)\n"
	    "s:7:6: bad: bad duration \"2\" (e.g. 250ms, 2s)\n"
	    "s:8:6: map: expected a single value, not a mapping\n"
	    "s:9:4: q: \"a?b\"\n"
	    "s:11:5: m2: expected fast, safe or off, not \"slow\"\n"
	    "s:12:5: m3: expected a single value, not a list\n"
	    "s:14:6: yes: expected true or false, not \"yes\"");

	/* verbatim keeps the tab. */
	yamldoc_init(&d);
	d.verbatim = 1;
	ASSERT_EQ(load(&d, "v", "\"a\\tb\"\n"), 0);
	yamldoc_err(&d, d.root, "%s", yamldoc_scalar(&d, d.root, "v"));
	yamldoc_close(&d);
	expect(&d, "v:1:1: a\tb");
}

static void
test_documents(void)
{
	struct yamldoc	d;

	/* A syntax error is left for the loader to word. */
	yamldoc_init(&d);
	ASSERT_EQ(load(&d, "y", "a: [1\n"), -1);
	ASSERT(d.problem != NULL);
	ASSERT_EQ(d.mark.line, 1);
	yamldoc_close(&d);
	expect(&d, NULL);

	/* Errors collect across texts; a NULL mark is a whole line. */
	yamldoc_init(&d);
	ASSERT_EQ(load(&d, "one", ""), 0);
	ASSERT(d.root == NULL);
	ASSERT_EQ(yamldoc_check_single(&d), 0);
	yamldoc_err_at(&d, NULL, "one: \tno such file");
	ASSERT_EQ(load(&d, "two", "a: 1\n---\nb: 2\n"), 0);
	ASSERT(d.root != NULL);
	ASSERT_EQ(yamldoc_check_single(&d), 0);
	ASSERT_EQ(load(&d, "three", "a: 1\n--- [\n"), 0);
	ASSERT_EQ(yamldoc_check_single(&d), -1);
	yamldoc_close(&d);
	expect(&d, "one: \tno such file\n"
	    "two:3:1: more than one YAML document");
}

static void
test_path(void)
{
	struct yamldoc	 d;
	char		*s;

	yamldoc_init(&d);
	ASSERT_EQ(load(&d, "dir/sub/f.yaml", "x\n"), 0);
	s = yamldoc_path(&d, "snap.jsonl");
	ASSERT_STR_EQ(s, "dir/sub/snap.jsonl");
	free(s);
	s = yamldoc_path(&d, "/abs");
	ASSERT_STR_EQ(s, "/abs");
	free(s);
	ASSERT_EQ(load(&d, "f.yaml", "x\n"), 0);
	s = yamldoc_path(&d, "snap.jsonl");
	ASSERT_STR_EQ(s, "snap.jsonl");
	free(s);
	yamldoc_close(&d);
	expect(&d, NULL);
}

/* Loads text (len bytes) and expects a refusal at line:col (1-based)
 * whose problem starts with want, or success when want is NULL. */
static void
bound_is(const char *text, size_t len, const char *want, size_t line,
    size_t col)
{
	struct yamldoc	d;
	int		rv;

	yamldoc_init(&d);
	rv = yamldoc_load_text(&d, "b.yaml", text, len);
	if (want == NULL)
		ASSERT_EQ(rv, 0);
	else {
		if (rv != -1)
			fprintf(stderr, "not refused: %s\n", want);
		ASSERT_EQ(rv, -1);
		ASSERT(d.problem != NULL && strncmp(d.problem, want,
		    strlen(want)) == 0);
		ASSERT_EQ(d.mark.line + 1, line);
		ASSERT_EQ(d.mark.column + 1, col);
	}
	yamldoc_free(&d);
}

static void
test_bounds(void)
{
	static const char ok[] = "a:\n  - b: [1, {c: [2]}]\n"
	    "    d: \"[[[[\" # [[[[\n  - 'it''s [' \n";
	struct buf	b;
	size_t		i;

	/* Ordinary nesting, comments and quotes with brackets pass. */
	bound_is(ok, strlen(ok), NULL, 0, 0);
	buf_init(&b);
	/* Flow nesting: 65 open brackets are refused where the 65th is. */
	buf_append_str(&b, "x: ");
	for (i = 0; i < 65; i++)
		buf_append_byte(&b, '[');
	bound_is(b.data, b.len, "nested too deeply (more than 64", 1, 68);
	/* 64 are fine (and then a plain syntax error, not ours). */
	buf_reset(&b);
	for (i = 0; i < 64; i++)
		buf_append_byte(&b, '[');
	for (i = 0; i < 64; i++)
		buf_append_byte(&b, ']');
	bound_is(b.data, b.len, NULL, 0, 0);
	/* Brackets inside quoted scalars do not count. */
	buf_reset(&b);
	buf_append_str(&b, "x: \"");
	for (i = 0; i < 1000; i++)
		buf_append_byte(&b, '[');
	buf_append_str(&b, "\"\n");
	bound_is(b.data, b.len, NULL, 0, 0);
	/* Block nesting by indentation, and by compact "- " items. */
	buf_reset(&b);
	buf_append_str(&b, "a:\n");
	for (i = 0; i < 513; i++)
		buf_append_byte(&b, ' ');
	buf_append_str(&b, "b: 1\n");
	bound_is(b.data, b.len, "nested too deeply (content starts", 2, 514);
	buf_reset(&b);
	for (i = 0; i < 300; i++)
		buf_append_str(&b, "- ");
	buf_append_str(&b, "x\n");
	bound_is(b.data, b.len, "nested too deeply (content starts", 1, 601);
	/* NUL, and size. */
	bound_is("a: 1\nb: \0\n", 10, "NUL byte", 2, 4);
	buf_reset(&b);
	for (i = 0; i <= YAMLDOC_MAX_BYTES / 8; i++)
		buf_append_str(&b, "a: 12  \n");
	bound_is(b.data, b.len, "larger than 4 MiB", 1, 1);
	buf_free(&b);
}

int
main(void)
{
	test_mapping();
	test_scalars();
	test_documents();
	test_path();
	test_bounds();
	UNIT_DONE();
}
