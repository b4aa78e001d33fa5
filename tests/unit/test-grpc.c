/*
 * test-grpc.c -- gRPC status codes and their HTTP mapping, message
 * framing, grpc-message encoding, grpc-timeout and :path (grpc.h).
 */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "grpc.h"
#include "unit.h"

static void
test_codes(void)
{
	int	c;

	ASSERT_STR_EQ(grpc_code_name(0), "OK");
	ASSERT_STR_EQ(grpc_code_name(14), "UNAVAILABLE");
	ASSERT_STR_EQ(grpc_code_name(16), "UNAUTHENTICATED");
	ASSERT(grpc_code_name(17) == NULL);
	ASSERT(grpc_code_name(-1) == NULL);
	for (c = 0; c <= GRPC_CODE_MAX; c++)
		ASSERT_EQ(grpc_code_parse(grpc_code_name(c),
		    strlen(grpc_code_name(c))), c);
	ASSERT_EQ(grpc_code_parse("unavailable", 11), GRPC_UNAVAILABLE);
	ASSERT_EQ(grpc_code_parse("deadline-exceeded", 17),
	    GRPC_DEADLINE_EXCEEDED);
	ASSERT_EQ(grpc_code_parse("Resource_Exhausted", 18),
	    GRPC_RESOURCE_EXHAUSTED);
	ASSERT_EQ(grpc_code_parse("14", 2), 14);
	ASSERT_EQ(grpc_code_parse("0", 1), 0);
	ASSERT_EQ(grpc_code_parse("17", 2), -1);
	ASSERT_EQ(grpc_code_parse("07", 2), -1);
	ASSERT_EQ(grpc_code_parse("1a", 2), -1);
	ASSERT_EQ(grpc_code_parse("UNAVAILABLEX", 12), -1);
	ASSERT_EQ(grpc_code_parse("", 0), -1);
	ASSERT_EQ(grpc_code_parse("OK", 1), -1);
}

static void
test_http_mapping(void)
{
	/* gRPC's http-grpc-status-mapping table */
	ASSERT_EQ(grpc_code_from_http(400), GRPC_INTERNAL);
	ASSERT_EQ(grpc_code_from_http(401), GRPC_UNAUTHENTICATED);
	ASSERT_EQ(grpc_code_from_http(403), GRPC_PERMISSION_DENIED);
	ASSERT_EQ(grpc_code_from_http(404), GRPC_UNIMPLEMENTED);
	ASSERT_EQ(grpc_code_from_http(429), GRPC_UNAVAILABLE);
	ASSERT_EQ(grpc_code_from_http(502), GRPC_UNAVAILABLE);
	ASSERT_EQ(grpc_code_from_http(503), GRPC_UNAVAILABLE);
	ASSERT_EQ(grpc_code_from_http(504), GRPC_UNAVAILABLE);
	ASSERT_EQ(grpc_code_from_http(100), GRPC_INTERNAL);
	ASSERT_EQ(grpc_code_from_http(500), GRPC_UNKNOWN);
	ASSERT_EQ(grpc_code_from_http(418), GRPC_UNKNOWN);
	ASSERT_EQ(grpc_code_from_http(200), GRPC_UNKNOWN);
}

static void
test_framing(void)
{
	struct buf		 b;
	struct grpc_msg		 m;
	const char		*why = NULL;
	size_t			 off = 0;

	buf_init(&b);
	grpc_put_msg(&b, 0, "\x08\x96\x01", 3);
	grpc_put_msg(&b, 1, "", 0);
	ASSERT_EQ(b.len, 13);
	ASSERT(memcmp(b.data, "\x00\x00\x00\x00\x03\x08\x96\x01\x01\x00\x00"
	    "\x00\x00", 13) == 0);
	ASSERT_EQ(grpc_next_msg((const uint8_t *)b.data, b.len, &off, &m,
	    &why), 1);
	ASSERT_EQ(m.compressed, 0);
	ASSERT_EQ(m.len, 3);
	ASSERT_EQ(m.off, 0);
	ASSERT(memcmp(m.p, "\x08\x96\x01", 3) == 0);
	ASSERT_EQ(grpc_next_msg((const uint8_t *)b.data, b.len, &off, &m,
	    &why), 1);
	ASSERT_EQ(m.compressed, 1);
	ASSERT_EQ(m.len, 0);
	ASSERT_EQ(m.off, 8);
	ASSERT_EQ(grpc_next_msg((const uint8_t *)b.data, b.len, &off, &m,
	    &why), 0);
	/* cut short: the prefix, then the message */
	off = 0;
	ASSERT_EQ(grpc_next_msg((const uint8_t *)b.data, 4, &off, &m, &why),
	    -1);
	ASSERT_STR_EQ(why, "message prefix cut short");
	ASSERT_EQ(grpc_next_msg((const uint8_t *)b.data, 7, &off, &m, &why),
	    -1);
	ASSERT_STR_EQ(why, "message cut short (its length runs past the "
	    "body)");
	ASSERT_EQ(off, 0);
	/* a flag that is neither 0 nor 1 */
	ASSERT_EQ(grpc_next_msg((const uint8_t *)"\x02\x00\x00\x00\x00", 5,
	    &off, &m, &why), -1);
	ASSERT_STR_EQ(why, "message flag is neither 0 nor 1");
	/* a length of 4 GiB - 1 in a short body */
	ASSERT_EQ(grpc_next_msg((const uint8_t *)"\x00\xff\xff\xff\xff", 5,
	    &off, &m, &why), -1);
	buf_free(&b);
}

static void
test_message(void)
{
	struct buf	b;

	buf_init(&b);
	grpc_message_encode(&b, "no such user: \xc3\xa9%", 17);
	ASSERT_MEM_EQ(b.data, b.len, "no such user: %C3%A9%25");
	buf_reset(&b);
	grpc_message_decode(&b, "no such user: %C3%A9%25", 23);
	ASSERT_MEM_EQ(b.data, b.len, "no such user: \xc3\xa9%");
	buf_reset(&b);
	/* a '%' without two hex digits is kept */
	grpc_message_decode(&b, "100% %zz %4", 11);
	ASSERT_MEM_EQ(b.data, b.len, "100% %zz %4");
	buf_reset(&b);
	grpc_message_encode(&b, "a\nb", 3);
	ASSERT_MEM_EQ(b.data, b.len, "a%0Ab");
	buf_free(&b);
}

static void
test_timeout(void)
{
	uint64_t	ns = 0;

	ASSERT_EQ(grpc_timeout_parse("100m", 4, &ns), 0);
	ASSERT(ns == 100000000ull);
	ASSERT_EQ(grpc_timeout_parse("5S", 2, &ns), 0);
	ASSERT(ns == 5000000000ull);
	ASSERT_EQ(grpc_timeout_parse("1H", 2, &ns), 0);
	ASSERT(ns == 3600000000000ull);
	ASSERT_EQ(grpc_timeout_parse("99999999H", 9, &ns), 0);
	ASSERT(ns == UINT64_MAX);	/* saturated */
	ASSERT_EQ(grpc_timeout_parse("7n", 2, &ns), 0);
	ASSERT(ns == 7);
	ASSERT_EQ(grpc_timeout_parse("123456789S", 10, &ns), -1);
	ASSERT_EQ(grpc_timeout_parse("S", 1, &ns), -1);
	ASSERT_EQ(grpc_timeout_parse("10s", 3, &ns), -1);
	ASSERT_EQ(grpc_timeout_parse("-1S", 3, &ns), -1);
}

static void
test_path(void)
{
	struct span	s, m;

	ASSERT_EQ(grpc_path_split(SPAN_LIT("/helloworld.Greeter/SayHello"),
	    &s, &m), 0);
	ASSERT_MEM_EQ(s.p, s.len, "helloworld.Greeter");
	ASSERT_MEM_EQ(m.p, m.len, "SayHello");
	ASSERT_EQ(grpc_path_split(SPAN_LIT("/a/b"), &s, &m), 0);
	ASSERT_EQ(grpc_path_split(SPAN_LIT("//b"), &s, &m), -1);
	ASSERT_EQ(grpc_path_split(SPAN_LIT("/a/"), &s, &m), -1);
	ASSERT_EQ(grpc_path_split(SPAN_LIT("/a/b/c"), &s, &m), -1);
	ASSERT_EQ(grpc_path_split(SPAN_LIT("/a/b?x=1"), &s, &m), -1);
	ASSERT_EQ(grpc_path_split(SPAN_LIT("a/b"), &s, &m), -1);
	ASSERT_EQ(grpc_is_content_type(SPAN_LIT("application/grpc")), 1);
	ASSERT_EQ(grpc_is_content_type(SPAN_LIT("application/grpc+proto")),
	    1);
	ASSERT_EQ(grpc_is_content_type(SPAN_LIT("Application/GRPC;x=1")), 1);
	ASSERT_EQ(grpc_is_content_type(SPAN_LIT("application/grpc-web")), 0);
	ASSERT_EQ(grpc_is_content_type(SPAN_LIT("application/json")), 0);
}

int
main(void)
{
	test_codes();
	test_http_mapping();
	test_framing();
	test_message();
	test_timeout();
	test_path();
	UNIT_DONE();
}
