/*
 * fuzz-malform.c -- fuzz target for fault_malform_body().
 *
 * Input: byte 0 picks the malform kind (b % 11), the target member name
 * ((b / 11) % 4: none, "a", "id", "absent") and the size parameters
 * ((b / 44) % 4: truncate_at and corrupt_bytes); the next 8 bytes are the
 * seed (little-endian, zero-padded); the rest is the body.
 *
 * Invariants: the same seed gives the same bytes; TRUNCATE and
 * LYING_LENGTH give a strict prefix of a non-empty body (nothing for an
 * empty one); CORRUPT keeps the length and changes exactly
 * min(corrupt_bytes, len) bytes; INVALID_JSON output is never valid JSON;
 * EMPTY is empty; DROP_FIELD and SWAP_TYPES on a valid JSON object (as
 * json.h reads it) give a valid object with one member fewer (drop) or as
 * many (swap) -- and if cJSON also accepts the body as an object it
 * accepts the output -- while on anything else they give exactly
 * INVALID_JSON's bytes; the other kinds copy the body; nothing leaks.
 *
 * cJSON is only a second opinion: it accepts bodies json.h rejects
 * (invalid UTF-8, raw control bytes, leading zeros, deeper nesting), and
 * fault.c treats those as "not a JSON object", so its verdict only counts
 * for bodies both readers accept.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "fault.h"
#include "fuzz.h"
#include "json.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static const char *const fuzz_fields[] = { NULL, "a", "id", "absent" };
static const double fuzz_truncate[] = { 0.5, 0.1, 3, 1e12 };
static const size_t fuzz_corrupt[] = { 1, 2, 7, 1000 };

/* Members of a strictly valid top-level object, or -1. */
static long
fuzz_members(const char *s, size_t len)
{
	struct json_parser	p;
	struct json_value	key;
	long			n = 0;
	int			r;

	json_init(&p, s, len);
	if (json_peek(&p) != JSON_OBJECT || json_object_enter(&p) == -1)
		return -1;
	while ((r = json_object_next(&p, &key)) == 1) {
		if (json_skip(&p, NULL) == -1)
			return -1;
		n++;
	}
	if (r == -1 || json_finish(&p) == -1)
		return -1;
	return n;
}

static int
fuzz_strict_valid(const char *s, size_t len)
{
	struct json_parser	p;

	json_init(&p, s, len);
	return json_skip(&p, NULL) == 0 && json_finish(&p) == 0;
}

/* 1 if cJSON parses s[0..len) whole as an object. */
static int
fuzz_cjson_object(const char *s, size_t len)
{
	char	*copy;
	cJSON	*j;
	int	 ok;

	copy = malloc(len + 1);
	CHECK(copy != NULL);
	if (len > 0)
		memcpy(copy, s, len);
	copy[len] = '\0';
	/* len + 1: with the NUL, cJSON checks nothing follows the value. */
	j = cJSON_ParseWithLengthOpts(copy, len + 1, NULL, 1);
	ok = j != NULL && cJSON_IsObject(j);
	cJSON_Delete(j);
	free(copy);
	return ok;
}

static void
fuzz_run(const struct fault_spec *fs, uint64_t seed, const char *body,
    size_t len, struct buf *out)
{
	struct fault_rng	rng;

	fault_rng_seed(&rng, seed);
	fault_malform_body(fs, &rng, body, len, out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fault_spec	 fs;
	struct buf		 out, again;
	const char		*body;
	uint64_t		 seed = 0;
	size_t			 len, i, diff, k;
	long			 before, after;
	unsigned int		 b;

	if (size == 0)
		return 0;
	b = data[0];
	for (i = 0; i < 8 && 1 + i < size; i++)
		seed |= (uint64_t)data[1 + i] << (8 * i);
	body = size > 9 ? (const char *)data + 9 : "";
	len = size > 9 ? size - 9 : 0;

	fault_spec_init(&fs);
	fs.malform = (enum fault_malform)(b % 11);
	if (fuzz_fields[(b / 11) % 4] != NULL)
		fs.field = strdup(fuzz_fields[(b / 11) % 4]);
	fs.truncate_at = fuzz_truncate[(b / 44) % 4];
	fs.corrupt_bytes = fuzz_corrupt[(b / 44) % 4];

	buf_init(&out);
	buf_init(&again);
	fuzz_run(&fs, seed, body, len, &out);
	fuzz_run(&fs, seed, body, len, &again);
	CHECK(out.len == again.len &&
	    (out.len == 0 || memcmp(out.data, again.data, out.len) == 0));

	switch (fs.malform) {
	case FAULT_MALFORM_TRUNCATE:
	case FAULT_MALFORM_LYING_LENGTH:
		if (len == 0)
			CHECK(out.len == 0);
		else
			CHECK(out.len < len &&
			    memcmp(out.data, body, out.len) == 0);
		break;
	case FAULT_MALFORM_CORRUPT:
		CHECK(out.len == len);
		for (i = diff = 0; i < len; i++)
			diff += out.data[i] != body[i];
		k = fs.corrupt_bytes < len ? fs.corrupt_bytes : len;
		CHECK(diff == k);
		break;
	case FAULT_MALFORM_INVALID_JSON:
		CHECK(!fuzz_strict_valid(out.data, out.len));
		if (fuzz_strict_valid(body, len))
			CHECK(!fuzz_cjson_object(out.data, out.len));
		break;
	case FAULT_MALFORM_EMPTY:
		CHECK(out.len == 0);
		break;
	case FAULT_MALFORM_DROP_FIELD:
	case FAULT_MALFORM_SWAP_TYPES:
		before = fuzz_members(body, len);
		if (before == -1) {
			fs.malform = FAULT_MALFORM_INVALID_JSON;
			buf_reset(&again);
			fuzz_run(&fs, seed, body, len, &again);
			CHECK(out.len == again.len && (out.len == 0 ||
			    memcmp(out.data, again.data, out.len) == 0));
			break;
		}
		after = fuzz_members(out.data, out.len);
		if (before == 0)
			CHECK(out.len == len &&
			    memcmp(out.data, body, len) == 0);
		else if (fs.malform == FAULT_MALFORM_DROP_FIELD)
			CHECK(after == before - 1);
		else
			CHECK(after == before);
		if (fuzz_cjson_object(body, len))
			CHECK(fuzz_cjson_object(out.data, out.len));
		break;
	default:
		CHECK(out.len == len &&
		    (len == 0 || memcmp(out.data, body, len) == 0));
		break;
	}

	fault_spec_free(&fs);
	buf_free(&out);
	buf_free(&again);
	return 0;
}
