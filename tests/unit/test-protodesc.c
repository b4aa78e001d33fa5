/*
 * test-protodesc.c -- the descriptor set reader, its lookups and field
 * paths, and the named view (protodesc.h).  The set is
 * tests/proto/set.pb, made by protoc from shop.proto (proto3) and
 * legacy.proto (proto2) beside it; the messages are what
 * `protoc --encode` writes for the text given beside each, as hex.
 * Malformed sets are built here with protobuf.h's writer.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "json.h"
#include "protobuf.h"
#include "protodesc.h"
#include "unit.h"
#include "xmalloc.h"

static struct protodesc	*set;

static struct protodesc *
load_fixture(void)
{
	const char		*srcdir;
	char			*path, *cause = NULL;
	struct protodesc	*s;

	if ((srcdir = getenv("srcdir")) == NULL || *srcdir == '\0')
		srcdir = getenv("top_srcdir");
	if (srcdir == NULL || *srcdir == '\0')
		srcdir = ".";
	path = xasprintf("%s/tests/proto/set.pb", srcdir);
	s = protodesc_load(path, &cause);
	if (s == NULL)
		UNIT_FAIL("%s", cause);
	free(cause);
	free(path);
	return s;
}

static void
hex(struct buf *b, const char *h)
{
	uint8_t	c;

	for (; h[0] != '\0' && h[1] != '\0'; h += 2) {
		c = (uint8_t)(base16_value(h[0]) << 4 | base16_value(h[1]));
		buf_append(b, &c, 1);
	}
}

/* The named view of the message hex h of type type, or "(none)"; a
 * static buffer.  Every view given is also checked to encode back. */
static const char *
view(const char *type, const char *h)
{
	static struct buf		 out;
	struct buf			 msg, back;
	const struct protodesc_msg	*m;
	char				*cause = NULL;

	m = protodesc_message(set, type, strlen(type));
	if (m == NULL)
		return "(no type)";
	buf_init(&msg);
	buf_init(&back);
	hex(&msg, h);
	buf_reset(&out);
	if (protodesc_view(m, &out, msg.data, msg.len) == -1) {
		buf_free(&msg);
		return "(none)";
	}
	buf_append(&out, "", 0);
	if (protodesc_encode_view_text(set, out.data, out.len, &back,
	    &cause) == -1)
		UNIT_FAIL("%s: %s", out.data, cause);
	else if (back.len != msg.len || memcmp(back.data, msg.data,
	    msg.len) != 0)
		UNIT_FAIL("%s: encodes back to other bytes", out.data);
	free(cause);
	buf_free(&msg);
	buf_free(&back);
	return out.data;
}

/* Encodes a named view: hex, or "error: ...". */
static const char *
encode(const struct protodesc *s, const char *json)
{
	static char	 text[512];
	struct buf	 out;
	char		*cause = NULL;
	size_t		 i;

	buf_init(&out);
	if (protodesc_encode_view_text(s, json, strlen(json), &out,
	    &cause) == -1)
		snprintf(text, sizeof text, "error: %s", cause);
	else
		for (i = 0; i < out.len && i < 250; i++)
			snprintf(text + 2 * i, 3, "%02x",
			    (unsigned char)out.data[i]);
	if (out.len == 0 && cause == NULL)
		text[0] = '\0';
	free(cause);
	buf_free(&out);
	return text;
}

static void
test_index(void)
{
	const struct protodesc_method	*mt;
	const struct protodesc_msg	*m;
	const struct protodesc_field	*fd;

	ASSERT_EQ(set->nmethods, 3);
	mt = protodesc_method(set, "/shop.Users/Get", 15);
	ASSERT(mt != NULL);
	if (mt != NULL) {
		ASSERT_STR_EQ(mt->input->name, "shop.GetUser");
		ASSERT_STR_EQ(mt->output->name, "shop.User");
		ASSERT_STR_EQ(mt->service, "shop.Users");
		ASSERT_EQ(mt->client_streaming, 0);
		ASSERT_EQ(mt->server_streaming, 0);
	}
	mt = protodesc_method(set, "/shop.Users/Watch", 17);
	ASSERT(mt != NULL && mt->server_streaming && !mt->client_streaming);
	mt = protodesc_method(set, "/shop.Users/Upload", 18);
	ASSERT(mt != NULL && mt->client_streaming && !mt->server_streaming);
	ASSERT(protodesc_method(set, "/shop.Users/Gone", 16) == NULL);
	ASSERT(protodesc_method(set, "/shop.Users/Ge", 14) == NULL);
	ASSERT(protodesc_call_type(set, "/shop.Users/Watch", 17, 1) ==
	    protodesc_message(set, "shop.Session", 12));

	ASSERT(protodesc_message(set, ".shop.User", 10) != NULL);
	m = protodesc_message(set, "shop.User.ScoresEntry", 21);
	ASSERT(m != NULL && m->map_entry);
	m = protodesc_message(set, "shop.User", 9);
	if (m == NULL)
		return;
	fd = protodesc_field_by_name(m, "sessionId", 9);
	ASSERT(fd != NULL && fd->num == 19);
	ASSERT(protodesc_field_by_name(m, "session_id", 10) == fd);
	ASSERT_STR_EQ(fd->json_name, "sessionId");
	fd = protodesc_field_by_number(m, 5);
	ASSERT(fd != NULL && fd->packed && fd->label == PROTODESC_REPEATED);
	fd = protodesc_field_by_number(m, 21);
	ASSERT(fd != NULL && !fd->packed);
	fd = protodesc_field_by_number(m, 3);
	ASSERT(fd != NULL && fd->type == PROTODESC_ENUM && fd->en != NULL &&
	    strcmp(fd->type_name, "shop.Kind") == 0);
	if (fd != NULL && fd->en != NULL)
		ASSERT_EQ(fd->en->values[3].num, -3);
	fd = protodesc_field_by_number(m, 8);
	ASSERT(fd != NULL && fd->oneof == 0);
	ASSERT(protodesc_field_by_number(m, 23) == NULL);
	m = protodesc_message(set, "legacy.Old", 10);
	ASSERT(m != NULL);
	if (m == NULL)
		return;
	ASSERT(!protodesc_field_by_number(m, 2)->packed);
	ASSERT(protodesc_field_by_number(m, 3)->packed);
	fd = protodesc_field_by_number(m, 4);
	ASSERT(fd->type == PROTODESC_GROUP && fd->msg != NULL &&
	    strcmp(fd->msg->name, "legacy.Old.Grp") == 0);
	ASSERT_EQ(protodesc_field_by_number(m, 6)->label, PROTODESC_REQUIRED);
}

static const char *
path(const char *call, int res, const char *p)
{
	static char	 text[256];
	uint32_t	 nums[4];
	size_t		 n, i, o = 0;
	char		*cause = NULL;

	if (protodesc_resolve_call_path(set, call, strlen(call), res, p,
	    strlen(p), nums, 4, &n, &cause) == -1) {
		snprintf(text, sizeof text, "error: %s", cause);
		free(cause);
		return text;
	}
	text[0] = '\0';
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(text + o, sizeof text - o, "%s%u",
		    i > 0 ? "." : "", (unsigned)nums[i]);
	return text;
}

static void
test_paths(void)
{
	static const struct {
		const char	*call;
		int		 res;
		const char	*path, *want;
	} cases[] = {
		{ "/shop.Users/Get", 0, "session.token", "2.1" },
		{ "/shop.Users/Get", 0, "2.expires", "2.2" },
		{ "/shop.Users/Get", 0, "session.7.1", "2.7.1" },
		{ "/shop.Users/Get", 1, "session_id", "19" },
		{ "/shop.Users/Get", 1, "old.grp.s", "22.4.5" },
		{ "/shop.Users/Get", 1, "history.token", "18.1" },
		{ "/shop.Users/Get", 0, "nope",
		  "error: field \"nope\" not in shop.GetUser" },
		{ "/shop.Users/Get", 0, "id.x",
		  "error: field \"id\" of shop.GetUser is not a message: "
		  "\"id.x\" goes past it" },
		{ "/shop.Users/Get", 0, "session..token",
		  "error: empty segment in field path \"session..token\"" },
		{ "/shop.Users/Get", 0, "7.token",
		  "error: \"token\" in \"7.token\": past a field the set does "
		  "not declare, a path goes on by numbers" },
		{ "/shop.Users/Get", 0, "1.1.1.1.1",
		  "error: field \"1\" of shop.GetUser is not a message: "
		  "\"1.1.1.1.1\" goes past it" },
		{ "/shop.Users/Get", 0, "9.1.1.1.1",
		  "error: field path \"9.1.1.1.1\" deeper than 4" },
		{ "/shop.Users/Nope", 0, "id",
		  "error: method /shop.Users/Nope is not in the descriptor set" },
	};
	size_t	i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ASSERT_STR_EQ(path(cases[i].call, cases[i].res, cases[i].path),
		    cases[i].want);
}

static void
test_view(void)
{
	static const struct {
		const char	*type, *hex, *want;
	} cases[] = {
		/* id: 5 session { token: "abc" expires: 7 } */
		{ "shop.GetUser", "080512070a036162631007",
		  "{\"@type\":\"shop.GetUser\",\"id\":5,\"session\":"
		  "{\"token\":\"abc\",\"expires\":\"7\"}}" },
		/* Every proto3 kind of field at once (shop.proto's User). */
		{ "shop.User", "08ffffffffffffffffff0112045a6fc3ab"
		  "18012a040102ac0232050a0161100132050a016210023a0378407948035009"
		  "59000000000000e03f650000c03f6a030001ff70017d070000008101f7ffff"
		  "ffffffffff8a010274318a010274329201030a0168980113a20107080a1203"
		  "0a0173a901000000000000f03fa9010000000000000440",
		  "{\"@type\":\"shop.User\",\"id\":-1,\"name\":\"Zoë\","
		  "\"kind\":\"ADMIN\",\"ids\":[1,2,300],\"scores\":{\"a\":1,"
		  "\"b\":2},\"email\":\"x@y\",\"delta\":-2,\"bigDelta\":\"-5\","
		  "\"ratio\":0.5,\"weight\":1.5,\"blob\":\"AAH/\",\"ok\":true,"
		  "\"fx\":7,\"sfx\":\"-9\",\"tags\":[\"t1\",\"t2\"],"
		  "\"history\":[{\"token\":\"h\"}],\"sessionId\":19,"
		  "\"byId\":{\"10\":{\"token\":\"s\"}},\"points\":[1,2.5]}" },
		/* kind: BANNED (-3: ten bytes); an undeclared enum number */
		{ "shop.User", "18fdffffffffffffffff01",
		  "{\"@type\":\"shop.User\",\"kind\":\"BANNED\"}" },
		{ "shop.User", "1807", "{\"@type\":\"shop.User\",\"kind\":7}" },
		/* proto2: unpacked repeated, packed, a group; in proto3 */
		{ "legacy.Old", "0801100110021a020304232a01782432016d",
		  "{\"@type\":\"legacy.Old\",\"a\":1,\"r\":[1,2],\"p\":[3,4],"
		  "\"grp\":{\"s\":\"x\"},\"must\":\"m\"}" },
		{ "shop.User", "40ffffffffffffffffff01b201023200",
		  "{\"@type\":\"shop.User\",\"phone\":\"18446744073709551615\","
		  "\"old\":{\"must\":\"\"}}" },
		/* Unknown fields, and known ones the type cannot show */
		{ "shop.GetUser", "0805b80696011a0161",
		  "{\"@type\":\"shop.GetUser\",\"id\":5,\"#103\":150,"
		  "\"#3\":\"a\"}" },
		{ "shop.GetUser", "0a03616263",
		  "{\"@type\":\"shop.GetUser\",\"#1\":\"abc\"}" },
		{ "shop.User", "7002",				/* bool 2 */
		  "{\"@type\":\"shop.User\",\"#14\":2}" },
		{ "shop.User", "12020080",			/* not UTF-8 */
		  "{\"@type\":\"shop.User\",\"#2\":{\"bytes\":\"AIA=\"}}" },
		{ "shop.User", "0880808080f0ffffffff01",	/* not int32 */
		  "{\"@type\":\"shop.User\",\"#1\":18446744069414584320}" },
		/* session not a Session (token twice, as varints) */
		{ "shop.GetUser", "120408080808",
		  "{\"@type\":\"shop.GetUser\",\"#2\":[[1,8],[1,8]]}" },
		/* session cut short: its bytes, as text */
		{ "shop.GetUser", "1203080808",
		  "{\"@type\":\"shop.GetUser\",\"#2\":\"\\b\\b\\b\"}" },
		/* A map entry without its value: entries as messages */
		{ "shop.User", "32030a0161",
		  "{\"@type\":\"shop.User\",\"scores\":[{\"key\":\"a\"}]}" },
		/* float specials; a NaN the encoder would not give back */
		{ "shop.User", "59000000000000f87f650000807f",
		  "{\"@type\":\"shop.User\",\"ratio\":\"NaN\","
		  "\"weight\":\"Infinity\"}" },
		{ "shop.User", "59010000000000f87f",
		  "{\"@type\":\"shop.User\","
		  "\"#11\":{\"i64\":9221120237041090561}}" },
		{ "shop.GetUser", "", "{\"@type\":\"shop.GetUser\"}" },
		/* Not exact: the caller keeps the numeric view */
		{ "shop.GetUser", "088500", "(none)" },		/* overlong */
		{ "shop.User", "2a010110012a0102", "(none)" },	/* ids apart */
		{ "shop.User", "aa011000000000000000f03f0000000000000040",
		  "(none)" },		/* points packed, declared unpacked */
		{ "shop.GetUser", "0805b806010805", "(none)" },	/* id twice */
		{ "shop.GetUser", "08", "(none)" },		/* cut short */
	};
	size_t	i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ASSERT_STR_EQ(view(cases[i].type, cases[i].hex),
		    cases[i].want);
}

static void
test_encode(void)
{
	static const struct {
		const char	*json, *want;
	} cases[] = {
		{ "{\"@type\":\"shop.GetUser\",\"id\":\"6\",\"session\":"
		  "{\"token\":\"t\",\"expires\":-1}}",
		  "0806120e0a017410ffffffffffffffffff01" },
		{ "{\"@type\":\"shop.User\",\"session_id\":1,\"kind\":\"BANNED\","
		  "\"kind\":2,\"ids\":[],\"#9\":[[1,1]]}",
		  "980101" "18fdffffffffffffffff01" "1802" "4a020801" },
		{ "{\"@type\":\"shop.User\",\"delta\":-2147483648,"
		  "\"bigDelta\":\"-9223372036854775808\"}",
		  "48ffffffff0f50ffffffffffffffffff01" },
		{ "{\"@type\":\"shop.User\",\"scores\":{\"a\\\"\":1},"
		  "\"byId\":{\"-1\":{}}}",
		  "32060a0261221001a2010d08ffffffffffffffffff011200" },
		{ "{\"@type\":\"shop.User\",\"nope\":1}",
		  "error: byte 21: no field \"nope\" in shop.User" },
		{ "{\"@type\":\"shop.User\",\"kind\":\"X\"}",
		  "error: byte 28: \"kind\": \"X\" is not a value of shop.Kind" },
		{ "{\"@type\":\"shop.User\",\"id\":2147483648}",
		  "error: byte 26: \"id\": out of range" },
		{ "{\"@type\":\"shop.User\",\"id\":1.5}",
		  "error: byte 26: \"id\": not an integer" },
		{ "{\"@type\":\"shop.User\",\"fx\":-1}",
		  "error: byte 26: \"fx\": out of range" },
		{ "{\"@type\":\"shop.User\",\"ids\":1}",
		  "error: byte 27: \"ids\" is repeated: an array" },
		{ "{\"@type\":\"shop.User\",\"blob\":\"A\"}",
		  "error: byte 30: \"blob\": bad base64" },
		{ "{\"id\":1}",
		  "error: byte 0: a named view starts with \"@type\"" },
		{ "{\"@type\":\"shop.User\",\"session\":{\"@type\":\"x\"}}",
		  "error: byte 32: \"@type\" comes once, first, in the "
		  "outermost message" },
		{ "{\"@type\":\"shop.User\",\"weight\":1e39}",
		  "error: byte 30: \"weight\": out of range" },
	};
	const char	*why;
	size_t		 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ASSERT_STR_EQ(encode(set, cases[i].json), cases[i].want);
	ASSERT_STR_EQ(encode(NULL, "{\"@type\":\"shop.User\"}"),
	    "error: byte 0: a named view (\"@type\") needs the descriptor set: "
	    "pass --proto-set FILE (decoyd: proto_set)");
	why = "error: byte 9: message type \"shop.Nope\" is not in ";
	ASSERT(strncmp(encode(set, "{\"@type\":\"shop.Nope\"}"), why,
	    strlen(why)) == 0);
}

/* A set holding one file: package p, its message bytes m. */
static struct protodesc *
mkset(const struct buf *file, char **cause)
{
	struct buf		 s;
	struct protodesc	*d;

	buf_init(&s);
	pb_put_key(&s, 1, PB_LEN);
	pb_put_varint(&s, file->len);
	buf_append(&s, file->data, file->len);
	d = protodesc_parse(s.data, s.len, "t.pb", cause);
	buf_free(&s);
	return d;
}

static void
put_str(struct buf *b, uint32_t num, const char *s)
{
	pb_put_key(b, num, PB_LEN);
	pb_put_varint(b, strlen(s));
	buf_append_str(b, s);
}

static void
put_sub(struct buf *b, uint32_t num, const struct buf *sub)
{
	pb_put_key(b, num, PB_LEN);
	pb_put_varint(b, sub->len);
	buf_append(b, sub->data, sub->len);
}

static const char *
bad(const char *h)
{
	static char		 text[256];
	struct buf		 b;
	struct protodesc	*d;
	char			*cause = NULL;

	buf_init(&b);
	hex(&b, h);
	d = protodesc_parse(b.data, b.len, "t.pb", &cause);
	buf_free(&b);
	if (d != NULL) {
		protodesc_free(d);
		return "(parsed)";
	}
	snprintf(text, sizeof text, "%s", cause);
	free(cause);
	return text;
}

static void
test_malformed(void)
{
	struct buf		 file, msg, field;
	struct protodesc	*d;
	char			*cause = NULL;

	ASSERT_STR_EQ(bad("0f"),
	    "t.pb: byte 0: wire type 6 or 7 (not protobuf)");
	ASSERT_STR_EQ(bad(""), "t.pb: no file in the descriptor set (make it "
	    "with protoc --include_imports --descriptor_set_out=FILE)");
	ASSERT_STR_EQ(bad("0805"),
	    "t.pb: byte 0: FileDescriptorSet.file must be length-delimited");
	ASSERT_STR_EQ(bad("0a05120361"),
	    "t.pb: byte 0: length past the end of the message");
	/* file { message_type { name: "M" field { name: "f" number: 0 } } } */
	ASSERT_STR_EQ(bad("0a0d220b0a014d12060a016618001a00"),
	    "t.pb: byte 12: field number 0 out of range (1 to 536870911)");
	ASSERT_STR_EQ(bad("0a0b22090a014d12040a016618"),
	    "t.pb: byte 12: varint cut short or over 64 bits");
	ASSERT_STR_EQ(bad("0a08220612040a01661801"),
	    "t.pb: byte 4: a message type without its name");
	ASSERT_STR_EQ(bad("0a0c220a0a014d12050a01662813"),
	    "t.pb: byte 12: field type 19 unknown");

	/* A field's type that no file declares */
	buf_init(&file);
	buf_init(&msg);
	buf_init(&field);
	put_str(&file, 2, "p");
	put_str(&msg, 1, "M");
	put_str(&field, 1, "f");
	pb_put_key(&field, 3, PB_VARINT);
	pb_put_varint(&field, 1);
	pb_put_key(&field, 5, PB_VARINT);
	pb_put_varint(&field, PROTODESC_MESSAGE);
	put_str(&field, 6, ".q.Gone");
	put_sub(&msg, 2, &field);
	put_sub(&file, 4, &msg);
	d = mkset(&file, &cause);
	ASSERT(d == NULL);
	ASSERT_STR_EQ(cause, "t.pb: p.M.f: type .q.Gone is not in the set "
	    "(protoc --include_imports)");
	free(cause);
	cause = NULL;
	/* ... and the same field number twice */
	buf_reset(&msg);
	buf_reset(&field);
	put_str(&msg, 1, "M");
	put_str(&field, 1, "f");
	pb_put_key(&field, 3, PB_VARINT);
	pb_put_varint(&field, 1);
	pb_put_key(&field, 5, PB_VARINT);
	pb_put_varint(&field, PROTODESC_INT32);
	put_sub(&msg, 2, &field);
	put_sub(&msg, 2, &field);
	buf_reset(&file);
	put_sub(&file, 4, &msg);
	d = mkset(&file, &cause);
	ASSERT(d == NULL);
	ASSERT_STR_EQ(cause, "t.pb: M: field number 1 declared twice");
	free(cause);
	cause = NULL;
	/* A method whose input type is not in the set */
	buf_reset(&msg);
	buf_reset(&field);
	put_str(&msg, 1, "S");
	put_str(&field, 1, "Get");
	put_str(&field, 2, ".In");
	put_str(&field, 3, ".In");
	put_sub(&msg, 2, &field);
	buf_reset(&file);
	put_sub(&file, 6, &msg);
	d = mkset(&file, &cause);
	ASSERT(d == NULL);
	ASSERT_STR_EQ(cause, "t.pb: /S/Get: type In is not in the set "
	    "(protoc --include_imports)");
	free(cause);
	buf_free(&file);
	buf_free(&msg);
	buf_free(&field);
}

/* Every truncation of the fixture fails with a message or parses; none
 * crashes or leaks (ASan). */
static void
test_truncations(void)
{
	const char		*srcdir;
	char			*path, *cause, *data;
	size_t			 len, i, failed = 0;
	struct protodesc	*d;
	FILE			*f;
	struct buf		 b;

	if ((srcdir = getenv("srcdir")) == NULL || *srcdir == '\0')
		srcdir = ".";
	path = xasprintf("%s/tests/proto/set.pb", srcdir);
	buf_init(&b);
	if ((f = fopen(path, "rb")) != NULL) {
		buf_read_stream(&b, f, 1 << 20);
		fclose(f);
	}
	free(path);
	ASSERT(b.len > 1000);
	len = b.len;
	for (i = 0; i < len; i++) {
		data = xmalloc(i + 1);
		memcpy(data, b.data, i);
		cause = NULL;
		d = protodesc_parse(data, i, "cut", &cause);
		if (d == NULL) {
			failed++;
			ASSERT(cause != NULL && strncmp(cause, "cut: ", 5) == 0);
		}
		protodesc_free(d);
		free(cause);
		free(data);
	}
	ASSERT(failed > len / 2);
	buf_free(&b);
}

int
main(void)
{
	if ((set = load_fixture()) == NULL)
		UNIT_DONE();
	test_index();
	test_paths();
	test_view();
	test_encode();
	test_malformed();
	test_truncations();
	protodesc_free(set);
	UNIT_DONE();
}
