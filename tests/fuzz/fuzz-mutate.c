/*
 * fuzz-mutate.c -- fuzz target for the mutation engine (mutate.h).
 *
 * Input: bytes 0-7 the seed (little-endian, zero-padded), byte 8 the
 * flags (b & 3: MUT_MUTATE_AUTH, MUT_NO_FRAMING), bytes 9-10 the cap for
 * mut_mutate_buf (little-endian); the rest is split at each "\n--\n" into
 * corpus entries (so one input can be a corpus of several requests, some
 * of which may not parse).
 *
 * Invariants: loading never fails on a parsed entry; eight mutants from
 * mut_next are the same for two engines with the same seed; each
 * describes itself sanely (parent and partner in the corpus, 1 to 8
 * operators, a known operator); a mutant that says its framing is intact
 * and parses as a request with a Content-Length carries exactly that many
 * body bytes; with MUT_NO_FRAMING only an entry that did not parse may
 * break the framing; mut_mutate_buf on each entry writes at most the cap,
 * and does so identically twice; nothing leaks (ASan).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "http.h"
#include "mutate.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static uint64_t
fnv64(const char *p, size_t n)
{
	uint64_t	h = 0xcbf29ce484222325ULL;
	size_t		i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void
check_mutant(const struct mut_corpus *c, const struct buf *out,
    const struct mut_info *info, unsigned flags, struct http_msg *m)
{
	enum http_err	err;
	size_t		erroff, len;
	ssize_t		r;
	const char	*raw;
	int		parsed;

	CHECK(info->parent < mut_corpus_count(c));
	CHECK(info->other < mut_corpus_count(c));
	CHECK(info->nops >= 1 && info->nops <= 8);
	CHECK(info->op < mut_op_count());
	CHECK(info->framing == 0 || info->framing == 1);
	if (flags & MUT_NO_FRAMING) {
		raw = mut_corpus_entry(c, info->parent, &len);
		parsed = http_parse_request(raw, len, len + 1, m, &err,
		    &erroff) > 0;
		CHECK(info->framing == 0 || !parsed);
	}
	if (info->framing)
		return;
	r = http_parse_request(out->data, out->len, out->len + 1, m, &err,
	    &erroff);
	if (r > 0 && m->framing == HTTP_FRAME_LENGTH)
		CHECK(m->content_length == out->len - (size_t)r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mut_corpus	*c;
	struct mut_engine	*e1, *e2;
	struct mut_info		 i1, i2;
	struct http_msg		*m;
	struct buf		 o1, o2;
	uint64_t		 seed = 0;
	unsigned		 flags = 0;
	size_t			 max = 0, i, n, start, len, l1, l2;
	const char		*body, *p, *raw;
	char			*cause;
	uint8_t			*b1, *b2;

	for (i = 0; i < 8 && i < size; i++)
		seed |= (uint64_t)data[i] << (8 * i);
	if (size > 8)
		flags = data[8] & 3;
	if (size > 10)
		max = (size_t)data[9] | (size_t)data[10] << 8;
	body = size > 11 ? (const char *)data + 11 : "";
	n = size > 11 ? size - 11 : 0;

	c = mut_corpus_create();
	for (start = 0; start <= n; start = (size_t)(p - body) + 4) {
		p = memmem(body + start, n - start, "\n--\n", 4);
		if (p == NULL)
			p = body + n;
		cause = NULL;
		if (mut_corpus_add(c, body + start, (size_t)(p - body) - start,
		    &cause) == -1)
			CHECK(cause != NULL);
		free(cause);
		if (p == body + n)
			break;
		if (mut_corpus_count(c) == 16)
			break;
	}

	if ((m = malloc(sizeof *m)) == NULL)
		abort();
	buf_init(&o1);
	buf_init(&o2);
	e1 = mut_engine_create(c, seed, flags);
	e2 = mut_engine_create(c, seed, flags);
	for (i = 0; i < 8; i++) {
		mut_next(e1, &o1, &i1);
		mut_next(e2, &o2, &i2);
		CHECK(o1.len == o2.len);
		CHECK(fnv64(o1.data, o1.len) == fnv64(o2.data, o2.len));
		CHECK(i1.parent == i2.parent && i1.op == i2.op &&
		    i1.nops == i2.nops && i1.framing == i2.framing);
		check_mutant(c, &o1, &i1, flags, m);
	}

	/* The custom-mutator path, on each entry, with the input's cap. */
	for (i = 0; i < mut_corpus_count(c); i++) {
		raw = mut_corpus_entry(c, i, &len);
		if (len > max)
			len = max;
		b1 = malloc(max + 1);
		b2 = malloc(max + 1);
		if (b1 == NULL || b2 == NULL)
			abort();
		if (len > 0) {
			memcpy(b1, raw, len);
			memcpy(b2, raw, len);
		}
		l1 = mut_mutate_buf(e1, b1, len, max, seed + i);
		l2 = mut_mutate_buf(e2, b2, len, max, seed + i);
		CHECK(l1 <= max && l1 == l2);
		CHECK(l1 == 0 || memcmp(b1, b2, l1) == 0);
		free(b1);
		free(b2);
	}

	mut_engine_free(e1);
	mut_engine_free(e2);
	mut_corpus_free(c);
	buf_free(&o1);
	buf_free(&o2);
	free(m);
	return 0;
}
