/*
 * test-protobuf.c -- the protobuf wire reader, the JSON view of a message
 * and its encoder (protobuf.h).  The messages are the encodings of the
 * protobuf documentation's examples and of messages protoc-generated code
 * writes (negative int32, packed repeated, nested, fixed and float
 * fields, groups), written out as bytes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "protobuf.h"
#include "unit.h"

/* The view of msg, or "(none)" when pb_view refuses; a static buffer. */
static const char *
view(const void *msg, size_t len)
{
	static struct buf	out;

	buf_reset(&out);
	if (pb_view(&out, msg, len) == -1)
		return "(none)";
	buf_append(&out, "", 0);
	return out.data != NULL ? out.data : "";
}

/* 1 if the view of msg encodes back to msg exactly. */
static int
roundtrip(const void *msg, size_t len)
{
	struct buf	v, back;
	char		*cause = NULL;
	int		ok;

	buf_init(&v);
	buf_init(&back);
	if (pb_view(&v, msg, len) == -1) {
		buf_free(&v);
		return 0;
	}
	ok = pb_encode_view_text(v.data, v.len, &back, &cause) == 0 &&
	    back.len == len && (len == 0 || memcmp(back.data, msg, len) == 0);
	if (cause != NULL)
		fprintf(stderr, "roundtrip: %s\n", cause);
	free(cause);
	buf_free(&v);
	buf_free(&back);
	return ok;
}

/* Encodes a view: the bytes as a hex string, or "error: ..." */
static const char *
encode(const char *json)
{
	static char	 text[512];
	struct buf	 out;
	char		*cause = NULL;
	size_t		 i, n = 0;

	buf_init(&out);
	if (pb_encode_view_text(json, strlen(json), &out, &cause) == -1) {
		snprintf(text, sizeof text, "error: %s", cause);
		free(cause);
		buf_free(&out);
		return text;
	}
	for (i = 0; i < out.len && n + 3 < sizeof text; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "%02x",
		    (unsigned char)out.data[i]);
	text[n] = '\0';
	buf_free(&out);
	return text;
}

static void
test_varint(void)
{
	uint64_t	v = 0;
	int		shortest = 1;

	ASSERT_EQ(pb_varint((const uint8_t *)"\x96\x01", 2, &v, &shortest),
	    2);
	ASSERT_EQ(v, 150);
	ASSERT_EQ(shortest, 1);
	/* 0 with a redundant byte: read, but not shortest */
	ASSERT_EQ(pb_varint((const uint8_t *)"\x80\x00", 2, &v, &shortest),
	    2);
	ASSERT_EQ(v, 0);
	ASSERT_EQ(shortest, 0);
	/* cut short */
	ASSERT_EQ(pb_varint((const uint8_t *)"\x80\x80", 2, &v, NULL), 0);
	/* UINT64_MAX: ten bytes, the last 0x01 */
	ASSERT_EQ(pb_varint((const uint8_t *)
	    "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10, &v, NULL), 10);
	ASSERT(v == UINT64_MAX);
	/* past 64 bits */
	ASSERT_EQ(pb_varint((const uint8_t *)
	    "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10, &v, NULL), 0);
	ASSERT_EQ(pb_varint((const uint8_t *)
	    "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x81\x00", 11, &v, NULL), 0);
}

static void
test_reader(void)
{
	/* field 1 varint 150, field 2 "testing", field 3 fixed32,
	 * field 4 fixed64, a group 5 holding field 1 = 1 */
	static const uint8_t	msg[] = "\x08\x96\x01\x12\x07testing"
	    "\x1d\x01\x00\x00\x00\x21\x02\x00\x00\x00\x00\x00\x00\x00"
	    "\x2b\x08\x01\x2c";
	struct pb_reader	r;
	struct pb_field		f;

	pb_reader_init(&r, msg, sizeof msg - 1);
	ASSERT_EQ(pb_read_field(&r, &f), 1);
	ASSERT_EQ(f.num, 1);
	ASSERT_EQ(f.wire, PB_VARINT);
	ASSERT_EQ(f.u, 150);
	ASSERT_EQ(pb_read_field(&r, &f), 1);
	ASSERT_EQ(f.wire, PB_LEN);
	ASSERT_MEM_EQ(f.p, f.len, "testing");
	ASSERT_EQ(f.off, 3);
	ASSERT_EQ(pb_read_field(&r, &f), 1);
	ASSERT_EQ(f.wire, PB_I32);
	ASSERT_EQ(f.u, 1);
	ASSERT_EQ(pb_read_field(&r, &f), 1);
	ASSERT_EQ(f.wire, PB_I64);
	ASSERT_EQ(f.u, 2);
	ASSERT_EQ(pb_read_field(&r, &f), 1);
	ASSERT_EQ(f.wire, PB_SGROUP);
	ASSERT_EQ(f.num, 5);
	ASSERT_MEM_EQ(f.p, f.len, "\x08\x01");
	ASSERT_EQ(pb_read_field(&r, &f), 0);
	ASSERT_EQ(r.canonical, 1);
}

static void
test_reader_errors(void)
{
	static const struct {
		const char	*msg;
		size_t		 len;
		const char	*error;
		size_t		 off;
	} bad[] = {
		{ "\x08", 1, "varint cut short or over 64 bits", 0 },
		{ "\x08\x01\x12\x05" "ab", 5, "length past the end of the message",
		  2 },
		{ "\x00\x01", 2, "field number out of range (1 to 536870911)",
		  0 },
		{ "\x0e", 1, "wire type 6 or 7 (not protobuf)", 0 },
		{ "\x0f", 1, "wire type 6 or 7 (not protobuf)", 0 },
		{ "\x0c", 1, "end-group without its start", 0 },
		{ "\x0b\x08\x01", 3, "group not closed", 0 },
		{ "\x0b\x14", 2, "end-group does not match its start", 1 },
		{ "\x1d\x01\x02", 3, "fixed-size value cut short", 0 },
		{ "\x12", 1, "length cut short", 0 },
		{ "\xf8\xff\xff\xff\x10\x00", 6,
		  "field number out of range (1 to 536870911)", 0 },
	};
	struct pb_reader	r;
	struct pb_field		f;
	size_t			i;
	int			rc;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pb_reader_init(&r, bad[i].msg, bad[i].len);
		while ((rc = pb_read_field(&r, &f)) == 1)
			;
		ASSERT_EQ(rc, -1);
		ASSERT_STR_EQ(r.error, bad[i].error);
		ASSERT_EQ(r.error_off, bad[i].off);
		/* stays failed */
		ASSERT_EQ(pb_read_field(&r, &f), -1);
	}
}

static void
test_view(void)
{
	/* the documentation's Test1 { int32 a = 1; } with a = 150 */
	ASSERT_STR_EQ(view("\x08\x96\x01", 3), "[[1,150]]");
	/* Test2 { string b = 2; } */
	ASSERT_STR_EQ(view("\x12\x07testing", 9), "[[2,\"testing\"]]");
	/* Test3 { Test1 c = 3; } */
	ASSERT_STR_EQ(view("\x1a\x03\x08\x96\x01", 5), "[[3,[[1,150]]]]");
	/* int32 -2: ten bytes, shown as the unsigned 64-bit value */
	ASSERT_STR_EQ(view("\x08\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01",
	    11), "[[1,18446744073709551614]]");
	/* packed repeated int32 [3, 270, 86942] is bytes that do not parse
	 * as a message: shown as bytes */
	ASSERT_STR_EQ(view("\x22\x06\x03\x8e\x02\x9e\xa7\x05", 8),
	    "[[4,{\"bytes\":\"A44CnqcF\"}]]");
	/* float 1.0 and double 0.5 */
	ASSERT_STR_EQ(view("\x0d\x00\x00\x80\x3f", 5),
	    "[[1,{\"i32\":1065353216,\"float\":1}]]");
	ASSERT_STR_EQ(view("\x11\x00\x00\x00\x00\x00\x00\xe0\x3f", 9),
	    "[[2,{\"i64\":4602678819172646912,\"double\":0.5}]]");
	/* a NaN float: no "float" member */
	ASSERT_STR_EQ(view("\x0d\x00\x00\xc0\x7f", 5),
	    "[[1,{\"i32\":2143289344}]]");
	/* repeated fields in wire order, and an empty string */
	ASSERT_STR_EQ(view("\x08\x01\x12\x00\x08\x02", 6),
	    "[[1,1],[2,\"\"],[1,2]]");
	/* a group */
	ASSERT_STR_EQ(view("\x0b\x10\x07\x0c", 4),
	    "[[1,{\"group\":[[2,7]]}]]");
	/* text with a newline that is no message stays text */
	ASSERT_STR_EQ(view("\x0a\x03" "a\nb", 5), "[[1,\"a\\nb\"]]");
	/* the empty message */
	ASSERT_STR_EQ(view("", 0), "[]");
	/* not a message at all, or not canonical: no view */
	ASSERT_STR_EQ(view("\x08", 1), "(none)");
	ASSERT_STR_EQ(view("\x08\x80\x00", 3), "(none)");
	ASSERT_STR_EQ(view("{\"a\":1}", 7), "(none)");
	/* a nested message with a non-canonical varint is bytes, so the
	 * outer message still has an exact view */
	ASSERT_STR_EQ(view("\x0a\x03\x08\x80\x00", 5),
	    "[[1,{\"bytes\":\"CIAA\"}]]");
}

static void
test_roundtrip(void)
{
	static const struct {
		const char	*msg;
		size_t		 len;
	} msgs[] = {
		{ "\x08\x96\x01", 3 },
		{ "\x1a\x03\x08\x96\x01", 5 },
		{ "\x08\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11 },
		{ "\x22\x06\x03\x8e\x02\x9e\xa7\x05", 8 },
		{ "\x0d\x00\x00\x80\x3f\x11\x9a\x99\x99\x99\x99\x99\xb9\x3f", 14 },
		{ "\x0d\x00\x00\xc0\x7f", 5 },
		{ "\x0b\x10\x07\x13\x18\x01\x14\x0c", 8 },
		{ "\x0a\x05\xe2\x82\xac\x00\x01", 7 },	/* UTF-8 with NUL */
		{ "\x0a\x02\xff\xfe", 4 },
		{ "\xf8\xff\xff\xff\x0f\x01", 6 },	/* field 2^29-1 */
		{ "\x0a\x0a\x0a\x08\x0a\x06\x0a\x04\x0a\x02\x08\x01", 12 },
	};
	size_t	i;

	for (i = 0; i < sizeof msgs / sizeof msgs[0]; i++)
		ASSERT(roundtrip(msgs[i].msg, msgs[i].len));
}

static void
test_encode(void)
{
	ASSERT_STR_EQ(encode("[[1,150]]"), "089601");
	ASSERT_STR_EQ(encode(" [ [ 2 , \"testing\" ] ] "),
	    "120774657374696e67");
	ASSERT_STR_EQ(encode("[[3,[[1,150]]]]"), "1a03089601");
	/* an edited value: negative numbers as int32/int64 do */
	ASSERT_STR_EQ(encode("[[1,-2]]"), "08feffffffffffffffff01");
	ASSERT_STR_EQ(encode("[[1,{\"float\":1}]]"), "0d0000803f");
	ASSERT_STR_EQ(encode("[[1,{\"i32\":-1}]]"), "0dffffffff");
	ASSERT_STR_EQ(encode("[[2,{\"double\":0.5}]]"),
	    "11000000000000e03f");
	ASSERT_STR_EQ(encode("[[2,{\"i64\":4602678819172646912,"
	    "\"double\":0.5}]]"), "11000000000000e03f");
	ASSERT_STR_EQ(encode("[[4,{\"bytes\":\"A44CnqcF\"}]]"),
	    "2206038e029ea705");
	ASSERT_STR_EQ(encode("[[1,{\"group\":[[2,7]]}]]"), "0b10070c");
	ASSERT_STR_EQ(encode("[]"), "");

	ASSERT_STR_EQ(encode("[[1,{\"i32\":1,\"float\":1}]]"),
	    "error: byte 4: \"i32\" and \"float\" disagree: edit one, "
	    "drop the other");
	ASSERT_STR_EQ(encode("[[0,1]]"),
	    "error: byte 1: field number out of range (1 to 536870911)");
	ASSERT_STR_EQ(encode("[[536870912,1]]"),
	    "error: byte 1: field number out of range (1 to 536870911)");
	ASSERT_STR_EQ(encode("[[1,1.5]]"),
	    "error: byte 4: a varint must be an integer");
	ASSERT_STR_EQ(encode("[[1,18446744073709551616]]"),
	    "error: byte 4: a varint out of range");
	ASSERT_STR_EQ(encode("[[1,-9223372036854775809]]"),
	    "error: byte 4: a varint out of range");
	ASSERT_STR_EQ(encode("[[1]]"),
	    "error: byte 1: a field must be [number, value]");
	ASSERT_STR_EQ(encode("[[1,2,3]]"),
	    "error: byte 1: a field has two members: [number, value]");
	ASSERT_STR_EQ(encode("[[1,{\"bytes\":\"A=\"}]]"),
	    "error: byte 16: bad base64");
	ASSERT_STR_EQ(encode("[[1,{\"nope\":1}]]"),
	    "error: byte 5: unknown member: a value's object holds bytes, "
	    "group, i64/double or i32/float");
	ASSERT_STR_EQ(encode("[[1,{\"bytes\":\"\",\"i32\":1}]]"),
	    "error: byte 16: a value's object holds one of bytes, group, "
	    "i64/double or i32/float");
	ASSERT_STR_EQ(encode("[[1,{}]]"),
	    "error: byte 4: an empty object is no value");
	ASSERT_STR_EQ(encode("[[1,{\"float\":1e39}]]"),
	    "error: byte 4: out of range for a float");
	ASSERT_STR_EQ(encode("[[1,{\"i32\":4294967296}]]"),
	    "error: byte 5: \"i32\" out of range");
	ASSERT_STR_EQ(encode("[[1,null]]"),
	    "error: byte 4: a field's value must be a number, a string, an "
	    "array or an object");
	ASSERT_STR_EQ(encode("{}"),
	    "error: byte 0: a message must be an array of [number, value] "
	    "fields");
	ASSERT(strncmp(encode("[[1,1]] x"), "error: byte 8:", 14) == 0);
}

int
main(void)
{
	test_varint();
	test_reader();
	test_reader_errors();
	test_view();
	test_roundtrip();
	test_encode();
	UNIT_DONE();
}
