/*
 * test-gen.c -- unit tests for the generator's pure part: the JSON-aware
 * body comparison gen_json_diff() (member order, exact number text,
 * ignore paths, non-JSON input).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gen.h"
#include "unit.h"

/* Runs gen_json_diff on two C strings; diffs (NUL-terminated) in *out. */
static int
diff(const char *a, const char *b, char *const *ignore, size_t nignore,
    struct buf *out)
{
	buf_reset(out);
	buf_reserve(out, 1);
	out->data[0] = '\0';
	return gen_json_diff(a, strlen(a), b, strlen(b), ignore, nignore, out,
	    20);
}

static void
test_equal(void)
{
	struct buf	out;

	buf_init(&out);
	ASSERT_EQ(diff("{\"a\":1,\"b\":[1,2,{\"c\":\"x\"}],\"d\":null}",
	    " { \"d\" : null, \"b\" : [ 1 , 2 , { \"c\" : \"x\" } ], "
	    "\"a\" : 1 } ", NULL, 0, &out), 0);
	ASSERT_EQ(out.len, 0);
	/* Escapes that decode to the same string are the same string. */
	ASSERT_EQ(diff("{\"k\":\"A\\u0042\"}", "{\"k\":\"AB\"}", NULL, 0,
	    &out), 0);
	ASSERT_EQ(diff("[]", "[]", NULL, 0, &out), 0);
	ASSERT_EQ(diff("\"s\"", "\"s\"", NULL, 0, &out), 0);
	buf_free(&out);
}

static void
test_changed(void)
{
	struct buf	out;

	buf_init(&out);
	ASSERT_EQ(diff("{\"id\":7,\"items\":[{\"sku\":\"a\",\"n\":1}]}",
	    "{\"items\":[{\"n\":2,\"sku\":\"a\"}],\"id\":7}", NULL, 0, &out), 1);
	ASSERT_STR_EQ(out.data, "$.items[0].n\t1\t2\n");

	/* Missing and extra members, a longer array, a type change. */
	ASSERT_EQ(diff("{\"a\":1,\"b\":[1]}", "{\"b\":[1,2],\"c\":true}",
	    NULL, 0, &out), 3);
	ASSERT_STR_EQ(out.data, "$.a\t1\t(absent)\n$.b[1]\t(absent)\t2\n"
	    "$.c\t(absent)\ttrue\n");
	ASSERT_EQ(diff("{\"a\":\"1\"}", "{\"a\":1}", NULL, 0, &out), 1);
	ASSERT_STR_EQ(out.data, "$.a\t\"1\"\t1\n");

	/* Numbers compare by their exact text: a double cannot tell 2^53+1
	 * from 2^53, which is why recorded bodies never go through cJSON. */
	ASSERT_EQ(diff("{\"n\":9007199254740993}",
	    "{\"n\":9007199254740992}", NULL, 0, &out), 1);
	ASSERT_STR_EQ(out.data, "$.n\t9007199254740993\t9007199254740992\n");
	/* ... and 1.0 and 1 differ too (by default: no numeric
	 * normalisation). */
	ASSERT_EQ(diff("[1.0]", "[1]", NULL, 0, &out), 1);

	/* Numerically (--numbers numeric), equal values are equal, still
	 * without a double. */
	ASSERT_EQ(gen_number_same("1.0", 3, "1", 1), 1);
	ASSERT_EQ(gen_number_same("1e2", 3, "100", 3), 1);
	ASSERT_EQ(gen_number_same("100", 3, "1E+2", 4), 1);
	ASSERT_EQ(gen_number_same("0.1e1", 5, "1", 1), 1);
	ASSERT_EQ(gen_number_same("10.050", 6, "1005e-2", 7), 1);
	ASSERT_EQ(gen_number_same("-0", 2, "0.000", 5), 1);
	ASSERT_EQ(gen_number_same("0e5", 3, "0", 1), 1);
	ASSERT_EQ(gen_number_same("-1", 2, "1", 1), 0);
	ASSERT_EQ(gen_number_same("1.01", 4, "1.1", 3), 0);
	ASSERT_EQ(gen_number_same("100", 3, "1e3", 3), 0);
	ASSERT_EQ(gen_number_same("9007199254740993", 16,
	    "9007199254740992", 16), 0);
	ASSERT_EQ(gen_number_same("123456789012345678901234567890123456789"
	    "01234567890123456789012345678901", 71,
	    "123456789012345678901234567890123456789"
	    "01234567890123456789012345678902", 71), 0);
	ASSERT_EQ(gen_number_same("1e999999999999999999", 20, "1", 1), 0);
	buf_reset(&out);
	ASSERT_EQ(gen_json_diff_numeric("{\"a\":[1.0,1e2,3],\"b\":true}",
	    strlen("{\"a\":[1.0,1e2,3],\"b\":true}"),
	    "{\"a\":[1,100,3.5],\"b\":true}",
	    strlen("{\"a\":[1,100,3.5],\"b\":true}"), NULL, 0, &out, 8), 1);
	ASSERT_MEM_EQ(out.data, out.len, "$.a[2]\t3\t3.5\n");
	/* A number and a string stay different. */
	buf_reset(&out);
	ASSERT_EQ(gen_json_diff_numeric("[1]", 3, "[\"1\"]", 5, NULL, 0,
	    &out, 8), 1);

	/* max bounds the lines kept, not the count. */
	buf_reset(&out);
	ASSERT_EQ(gen_json_diff("[1,2,3]", 7, "[4,5,6]", 7, NULL, 0, &out, 1),
	    3);
	ASSERT_MEM_EQ(out.data, out.len, "$[0]\t1\t4\n");
	buf_free(&out);
}

static void
test_ignore(void)
{
	char		*exact[] = { "$.created_at" };
	char		*star[] = { "$.items[*].id" };
	char		*deep[] = { "$..id" };
	char		*index[] = { "$.items[1]" };
	const char	*a = "{\"created_at\":\"2026-01-01\",\"total\":3,"
			    "\"items\":[{\"id\":1,\"n\":1},{\"id\":2,\"n\":2}],"
			    "\"id\":\"o-1\"}";
	const char	*b = "{\"created_at\":\"2026-11-26\",\"total\":3,"
			    "\"items\":[{\"id\":8,\"n\":1},{\"id\":9,\"n\":3}],"
			    "\"id\":\"o-1\"}";
	struct buf	 out;

	buf_init(&out);
	ASSERT_EQ(diff(a, b, NULL, 0, &out), 4);
	ASSERT_EQ(diff(a, b, exact, 1, &out), 3);
	ASSERT_EQ(diff(a, b, star, 1, &out), 2);
	ASSERT_STR_EQ(out.data, "$.created_at\t\"2026-01-01\"\t\"2026-11-26\"\n"
	    "$.items[1].n\t2\t3\n");
	ASSERT_EQ(diff(a, b, deep, 1, &out), 2);
	ASSERT_EQ(diff(a, b, index, 1, &out), 2);
	{
		char *both[] = { "$.created_at", "$.items[*].id" };

		ASSERT_EQ(diff(a, b, both, 2, &out), 1);
		ASSERT_STR_EQ(out.data, "$.items[1].n\t2\t3\n");
	}
	/* An ignored member may be missing on one side. */
	ASSERT_EQ(diff("{\"created_at\":1,\"x\":1}", "{\"x\":1}", exact, 1,
	    &out), 0);
	/* A quoted member name (the transforms file's paths): dots are part
	 * of the name. */
	{
		char *quoted[] = { "$[\"a.b\"].id" };
		char *bad[] = { "$[\"a.b].id", "$[\"a\\\"b\"]" };

		ASSERT_EQ(diff("{\"a.b\":{\"id\":1,\"n\":1},\"a\":{\"b\":1}}",
		    "{\"a.b\":{\"id\":2,\"n\":1},\"a\":{\"b\":2}}", quoted, 1,
		    &out), 1);
		ASSERT_STR_EQ(out.data, "$.a.b\t1\t2\n");
		/* Not understood: ignores nothing. */
		ASSERT_EQ(diff("{\"a.b\":{\"id\":1}}", "{\"a.b\":{\"id\":2}}",
		    bad, 2, &out), 1);
	}
	buf_free(&out);
}

static void
test_not_json(void)
{
	struct buf	out;

	buf_init(&out);
	ASSERT_EQ(diff("not json", "{}", NULL, 0, &out), -1);
	ASSERT_EQ(diff("{}", "<html>", NULL, 0, &out), -1);
	ASSERT_EQ(diff("{\"a\":1", "{\"a\":1}", NULL, 0, &out), -1);
	ASSERT_EQ(diff("{} {}", "{}", NULL, 0, &out), -1);
	ASSERT_EQ(diff("", "", NULL, 0, &out), -1);
	ASSERT_EQ(out.len, 0);
	buf_free(&out);
}

/* The progress line's fraction: by time with a duration, else by the
 * requests of one pass; unknown for an endless loop. */
static void
test_progress(void)
{
	ASSERT(gen_progress_fraction(5000000000ull, 10000000000ull, 0, 0, 0)
	    == 0.5);
	ASSERT(gen_progress_fraction(20000000000ull, 10000000000ull, 1, 0, 0)
	    == 1.0);
	ASSERT(gen_progress_fraction(1, 0, 0, 21, 84) == 0.25);
	ASSERT(gen_progress_fraction(1, 0, 0, 90, 84) == 1.0);
	ASSERT(gen_progress_fraction(1, 0, 1, 21, 84) < 0);
	ASSERT(gen_progress_fraction(1, 0, 0, 0, 0) < 0);
}

int
main(void)
{
	test_equal();
	test_changed();
	test_ignore();
	test_progress();
	test_not_json();
	UNIT_DONE();
}
