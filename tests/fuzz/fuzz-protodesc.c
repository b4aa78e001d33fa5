/*
 * fuzz-protodesc.c -- fuzz target for the descriptor set reader and the
 * named view (protodesc.h).
 *
 * Input: byte 0 picks the mode, bytes 1-2 (big-endian) are the length L
 * of a descriptor set that follows, the rest is the payload; each part
 * is copied to its own allocation so the sanitizer sees any over-read.
 *   The set is read: it fails with a message naming the input ("fuzz:
 *   ..."; a byte offset inside the set), or every method, message type
 *   and field it holds is found again by the lookups.  Then, when it
 *   loaded:
 *   even: the payload is a message: for each message type of the set (at
 *         most 16), a named view, when there is one, encodes back to
 *         exactly the payload.
 *   odd:  the payload is a named view: encoding fails with an offset
 *         inside the text, or succeeds, and the named view of the bytes
 *         (with the type "@type" named), when there is one, encodes to
 *         the same bytes again.
 *   A field path made of the payload's first bytes resolves or fails with
 *   a message.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "json.h"
#include "protodesc.h"
#include "xmalloc.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static void
check_index(const struct protodesc *set)
{
	const struct protodesc_msg	*m;
	const struct protodesc_field	*fd;
	size_t				 i, j;

	for (i = 0; i < set->nmethods; i++)
		CHECK(protodesc_method(set, set->methods[i].path,
		    strlen(set->methods[i].path)) == &set->methods[i] &&
		    set->methods[i].input != NULL &&
		    set->methods[i].output != NULL);
	for (i = 0; i < set->nmsgs; i++) {
		m = &set->msgs[i];
		CHECK(protodesc_message(set, m->name, strlen(m->name)) == m);
		for (j = 0; j < m->nfields; j++) {
			fd = &m->fields[j];
			CHECK(protodesc_field_by_number(m, fd->num) == fd);
			CHECK(protodesc_field_by_name(m, fd->name,
			    strlen(fd->name)) != NULL);
			CHECK((fd->type == PROTODESC_MESSAGE ||
			    fd->type == PROTODESC_GROUP) == (fd->msg != NULL));
			CHECK((fd->type == PROTODESC_ENUM) == (fd->en != NULL));
		}
	}
}

/* The named view of p as m, when there is one, encodes back to p. */
static void
check_view(const struct protodesc *set, const struct protodesc_msg *m,
    const uint8_t *p, size_t len)
{
	struct buf	 v, back;
	char		*cause = NULL;

	buf_init(&v);
	buf_init(&back);
	if (protodesc_view(m, &v, p, len) == 0) {
		CHECK(protodesc_encode_view_text(set, v.data, v.len, &back,
		    &cause) == 0);
		CHECK(back.len == len &&
		    (len == 0 || memcmp(back.data, p, len) == 0));
	} else
		CHECK(v.len == 0);
	free(cause);
	buf_free(&v);
	buf_free(&back);
}

static void
check_encode(const struct protodesc *set, const char *text, size_t len)
{
	const struct protodesc_msg	*m = NULL;
	struct json_parser		 jp;
	struct json_value		 k, v;
	struct buf			 out;
	char				*cause = NULL;

	buf_init(&out);
	if (protodesc_encode_view_text(set, text, len, &out, &cause) == -1) {
		CHECK(cause != NULL);
		free(cause);
		buf_free(&out);
		return;
	}
	json_init(&jp, text, len);
	if (json_object_enter(&jp) == 0 && json_object_next(&jp, &k) == 1 &&
	    json_skip(&jp, &v) == 0 && v.type == JSON_STRING && !v.escaped)
		m = protodesc_message(set, v.p + 1, v.len - 2);
	CHECK(m != NULL);
	check_view(set, m, (const uint8_t *)out.data, out.len);
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct protodesc	*set;
	uint8_t			*sb, *pb;
	uint32_t		 nums[8];
	size_t			 slen, plen, i, n;
	char			*cause = NULL;

	if (size < 3)
		return 0;
	slen = (size_t)data[1] << 8 | data[2];
	if (slen > size - 3)
		slen = size - 3;
	plen = size - 3 - slen;
	sb = xmalloc(slen > 0 ? slen : 1);
	pb = xmalloc(plen > 0 ? plen : 1);
	memcpy(sb, data + 3, slen);
	memcpy(pb, data + 3 + slen, plen);
	set = protodesc_parse(sb, slen, "fuzz", &cause);
	if (set == NULL) {
		CHECK(cause != NULL && strncmp(cause, "fuzz: ", 6) == 0);
		free(cause);
	} else {
		check_index(set);
		if ((data[0] & 1) == 0)
			for (i = 0; i < set->nmsgs && i < 16; i++)
				check_view(set, &set->msgs[i], pb, plen);
		else
			check_encode(set, (const char *)pb, plen);
		for (i = 0; i < set->nmethods && i < 4; i++) {
			if (protodesc_resolve_call_path(set,
			    set->methods[i].path, strlen(set->methods[i].path),
			    (int)(i & 1), (const char *)pb, plen < 24 ? plen : 24,
			    nums, 8, &n, &cause) == -1) {
				CHECK(cause != NULL);
				free(cause);
				cause = NULL;
			} else
				CHECK(n >= 1 && n <= 8);
		}
		protodesc_free(set);
	}
	free(sb);
	free(pb);
	return 0;
}
