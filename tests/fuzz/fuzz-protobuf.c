/*
 * fuzz-protobuf.c -- fuzz target for the protobuf wire reader and view
 * (protobuf.h) and gRPC's message framing and grpc-message encoding
 * (grpc.h).
 *
 * Input: byte 0 picks the mode, the rest is the data (copied to its own
 * allocation so the sanitizer sees any over-read).
 *   even: the data is a protobuf message.  The reader walks it to the end
 *         or an error (which has a message and an offset inside the data,
 *         and repeats); when pb_view() gives a view, encoding the view
 *         gives back exactly the data.  The data is also framed as gRPC
 *         messages (each in bounds, in order), and grpc-message encoding
 *         then decoding gives it back.
 *   odd:  the data is a view.  Encoding either fails with an offset inside
 *         the text, or succeeds, and the view of the bytes it gave (when
 *         there is one) encodes to the same bytes again.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "grpc.h"
#include "json.h"
#include "protobuf.h"
#include "xmalloc.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static void
check_reader(const uint8_t *p, size_t len)
{
	struct pb_reader	r;
	struct pb_field		f;
	size_t			last = 0;
	int			rc;

	pb_reader_init(&r, p, len);
	while ((rc = pb_read_field(&r, &f)) == 1) {
		CHECK(f.off >= last && f.off < len);
		CHECK(f.num >= 1 && f.num <= PB_MAX_FIELD);
		if (f.wire == PB_LEN || f.wire == PB_SGROUP)
			CHECK(f.p >= p && f.p + f.len <= p + len);
		last = f.off + 1;
	}
	if (rc == -1) {
		CHECK(r.error != NULL && r.error_off < len);
		CHECK(pb_read_field(&r, &f) == -1);
	}
}

static void
check_grpc(const uint8_t *p, size_t len)
{
	struct grpc_msg	 m;
	struct buf	 enc, dec;
	const char	*why = NULL;
	size_t		 off = 0, prev = 0;
	int		 rc;

	while ((rc = grpc_next_msg(p, len, &off, &m, &why)) == 1) {
		CHECK(m.off == prev && m.p + m.len <= p + len);
		CHECK(off == m.off + GRPC_PREFIX_LEN + m.len);
		prev = off;
	}
	CHECK(rc == 0 ? off == len : why != NULL && off == prev);
	buf_init(&enc);
	buf_init(&dec);
	grpc_message_encode(&enc, (const char *)p, len);
	grpc_message_decode(&dec, enc.data != NULL ? enc.data : "", enc.len);
	CHECK(dec.len == len && (len == 0 || memcmp(dec.data, p, len) == 0));
	buf_free(&enc);
	buf_free(&dec);
}

static void
check_view_of(const uint8_t *p, size_t len)
{
	struct buf	 v, back;
	char		*cause = NULL;

	buf_init(&v);
	buf_init(&back);
	if (pb_view(&v, p, len) == 0) {
		CHECK(pb_encode_view_text(v.data, v.len, &back, &cause) == 0);
		CHECK(back.len == len &&
		    (len == 0 || memcmp(back.data, p, len) == 0));
	}
	free(cause);
	buf_free(&v);
	buf_free(&back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf	 out;
	uint8_t		*buf;
	char		*cause = NULL;
	size_t		 len;

	if (size == 0)
		return 0;
	len = size - 1;
	buf = xmalloc(len > 0 ? len : 1);
	memcpy(buf, data + 1, len);
	if ((data[0] & 1) == 0) {
		check_reader(buf, len);
		check_view_of(buf, len);
		check_grpc(buf, len);
	} else {
		buf_init(&out);
		if (pb_encode_view_text((const char *)buf, len, &out,
		    &cause) == 0)
			check_view_of((const uint8_t *)out.data, out.len);
		else
			CHECK(cause != NULL);
		free(cause);
		buf_free(&out);
	}
	free(buf);
	return 0;
}
