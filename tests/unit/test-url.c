/*
 * test-url.c -- unit tests for the URL parser (url.h): schemes in any
 * case, userinfo refused or skipped, IPv6 literals, default and bad
 * ports, missing paths, queries and fragments, percent-encoding kept, and
 * the allocating helpers.
 *
 * Every URL is parsed with its last byte right before a PROT_NONE page,
 * and every truncation of every URL is parsed too, so a parser that reads
 * one byte too far crashes instead of passing by luck.
 */
#include "config.h"

#include <sys/mman.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sock.h"
#include "url.h"
#include "unit.h"

static char	*guard;		/* two pages, the second unreadable */
static size_t	 pagesz;

static void
guard_init(void)
{
	long	ps;

	ps = sysconf(_SC_PAGESIZE);
	pagesz = ps > 0 ? (size_t)ps : 4096;
	guard = mmap(NULL, pagesz * 2, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard == MAP_FAILED || mprotect(guard + pagesz, pagesz,
	    PROT_NONE) == -1) {
		perror("mmap");
		exit(1);
	}
}

/* Copies s so that it ends right at the unreadable page. */
static const char *
guard_place(const char *s, size_t n)
{
	char	*p = guard + pagesz - n;

	memcpy(p, s, n);
	return p;
}

/* Parses s (guarded); 0 or -1, *why set on -1. */
static int
parse(const char *s, int flags, struct url *u, const char **why)
{
	size_t		 n = strlen(s);
	const char	*p = guard_place(s, n);

	*why = NULL;
	return url_parse(p, n, flags, u, why);
}

/* Parses s and checks the failure message contains want. */
#define ASSERT_REFUSED(s, flags, want) do {				\
	struct url	 u_;						\
	const char	*why_;						\
									\
	ASSERT_EQ(parse((s), (flags), &u_, &why_), -1);			\
	ASSERT(why_ != NULL && strstr(why_, (want)) != NULL);		\
	if (why_ != NULL && strstr(why_, (want)) == NULL)		\
		fprintf(stderr, "  %s: got \"%s\"\n", (s), why_);	\
} while (0)

static void
test_basic(void)
{
	struct url	 u;
	const char	*why;

	ASSERT_EQ(parse("http://example.com:8080/api/v1?x=1&y=2#frag", 0,
	    &u, &why), 0);
	ASSERT_EQ(u.scheme, URL_HTTP);
	ASSERT_EQ(u.tls, 0);
	ASSERT_EQ(u.port, 8080);
	ASSERT_EQ(u.port_given, 1);
	ASSERT_EQ(u.ipv6, 0);
	ASSERT(u.userinfo.p == NULL);
	ASSERT_SPAN_EQ(u.host, "example.com");
	ASSERT_SPAN_EQ(u.authority, "example.com:8080");
	ASSERT_SPAN_EQ(u.path, "/api/v1");
	ASSERT_SPAN_EQ(u.query, "x=1&y=2");
	ASSERT_SPAN_EQ(u.target, "/api/v1?x=1&y=2");
	ASSERT_EQ(url_has_path(&u), 1);

	ASSERT_EQ(parse("https://example.com", 0, &u, &why), 0);
	ASSERT_EQ(u.scheme, URL_HTTPS);
	ASSERT_EQ(u.tls, 1);
	ASSERT_EQ(u.port, 443);
	ASSERT_EQ(u.port_given, 0);
	ASSERT_SPAN_EQ(u.host, "example.com");
	ASSERT_SPAN_EQ(u.path, "");
	ASSERT(u.path.p != NULL);
	ASSERT(u.query.p == NULL);
	ASSERT_SPAN_EQ(u.target, "");
	ASSERT_EQ(url_has_path(&u), 0);

	ASSERT_EQ(parse("http://h/", 0, &u, &why), 0);
	ASSERT_EQ(u.port, 80);
	ASSERT_SPAN_EQ(u.path, "/");
	ASSERT_EQ(url_has_path(&u), 0);

	/* A query without a path. */
	ASSERT_EQ(parse("http://h?q", 0, &u, &why), 0);
	ASSERT_SPAN_EQ(u.path, "");
	ASSERT_SPAN_EQ(u.query, "q");
	ASSERT_SPAN_EQ(u.target, "?q");
	ASSERT_EQ(url_has_path(&u), 1);

	/* An empty query is still a query. */
	ASSERT_EQ(parse("http://h/p?", 0, &u, &why), 0);
	ASSERT(u.query.p != NULL);
	ASSERT_EQ(u.query.len, 0);
	ASSERT_SPAN_EQ(u.target, "/p?");

	/* A fragment alone is dropped. */
	ASSERT_EQ(parse("http://h#top", 0, &u, &why), 0);
	ASSERT_SPAN_EQ(u.host, "h");
	ASSERT_SPAN_EQ(u.target, "");
	ASSERT_EQ(url_has_path(&u), 0);
}

static void
test_scheme_case(void)
{
	struct url	 u;
	const char	*why;

	ASSERT_EQ(parse("HTTP://Example.COM/A", 0, &u, &why), 0);
	ASSERT_EQ(u.scheme, URL_HTTP);
	ASSERT_SPAN_EQ(u.host, "Example.COM");
	ASSERT_SPAN_EQ(u.path, "/A");
	ASSERT_EQ(parse("hTTpS://h", 0, &u, &why), 0);
	ASSERT_EQ(u.scheme, URL_HTTPS);
	ASSERT_EQ(u.port, 443);

	ASSERT_REFUSED("ftp://h/", 0, "unsupported scheme");
	ASSERT_REFUSED("httpx://h/", 0, "unsupported scheme");
	ASSERT_REFUSED("ws://h/", 0, "unsupported scheme");
	ASSERT_REFUSED("h:80", 0, "not an absolute URL");
	ASSERT_REFUSED("http:/h", 0, "not an absolute URL");
	ASSERT_REFUSED("http:h", 0, "not an absolute URL");
	ASSERT_REFUSED("://h", 0, "not an absolute URL");
	ASSERT_REFUSED("", 0, "not an absolute URL");
	ASSERT_REFUSED("/path", 0, "not an absolute URL");

	ASSERT_EQ(parse("WSS://h/chat", URL_WEBSOCKET, &u, &why), 0);
	ASSERT_EQ(u.scheme, URL_WSS);
	ASSERT_EQ(u.tls, 1);
	ASSERT_EQ(u.port, 443);
	ASSERT_EQ(parse("ws://h", URL_WEBSOCKET, &u, &why), 0);
	ASSERT_EQ(u.scheme, URL_WS);
	ASSERT_EQ(u.port, 80);
}

static void
test_userinfo(void)
{
	struct url	 u;
	const char	*why;

	/* The bug of old: the userinfo was taken for the host. */
	ASSERT_REFUSED("http://user:pw@host/", 0, "userinfo");
	ASSERT_REFUSED("http://user@host", 0, "userinfo");
	ASSERT_REFUSED("http://@host", 0, "userinfo");

	ASSERT_EQ(parse("http://user:p@ss@host:81/x", URL_USERINFO, &u,
	    &why), 0);
	ASSERT_SPAN_EQ(u.userinfo, "user:p@ss");
	ASSERT_SPAN_EQ(u.host, "host");
	ASSERT_SPAN_EQ(u.authority, "host:81");
	ASSERT_EQ(u.port, 81);
	ASSERT_SPAN_EQ(u.path, "/x");

	/* '@' in the path is not userinfo. */
	ASSERT_EQ(parse("http://host/a@b", 0, &u, &why), 0);
	ASSERT_SPAN_EQ(u.host, "host");
	ASSERT_SPAN_EQ(u.path, "/a@b");
	ASSERT_EQ(parse("http://host?a@b", 0, &u, &why), 0);
	ASSERT_SPAN_EQ(u.query, "a@b");
}

static void
test_ipv6(void)
{
	struct url	 u;
	const char	*why;
	char		*s;

	ASSERT_EQ(parse("http://[::1]:8080/p", 0, &u, &why), 0);
	ASSERT_EQ(u.ipv6, 1);
	ASSERT_SPAN_EQ(u.host, "::1");
	ASSERT_SPAN_EQ(u.authority, "[::1]:8080");
	ASSERT_EQ(u.port, 8080);
	ASSERT_SPAN_EQ(u.path, "/p");
	s = url_addr_dup(&u);
	ASSERT_STR_EQ(s, "[::1]:8080");
	free(s);
	s = url_host_dup(&u);
	ASSERT_STR_EQ(s, "::1");
	free(s);

	ASSERT_EQ(parse("https://[::1]", 0, &u, &why), 0);
	ASSERT_EQ(u.port, 443);
	ASSERT_EQ(u.port_given, 0);
	ASSERT_SPAN_EQ(u.host, "::1");
	s = url_host_header(&u);
	ASSERT_STR_EQ(s, "[::1]");
	free(s);
	s = url_addr_dup(&u);
	ASSERT_STR_EQ(s, "[::1]:443");
	free(s);

	ASSERT_EQ(parse("http://[2001:db8::a:b]/", 0, &u, &why), 0);
	ASSERT_SPAN_EQ(u.host, "2001:db8::a:b");
	ASSERT_EQ(parse("http://[::ffff:127.0.0.1]:9", 0, &u, &why), 0);
	ASSERT_SPAN_EQ(u.host, "::ffff:127.0.0.1");
	ASSERT_EQ(u.port, 9);

	/* The bug of old: split at the first colon. */
	ASSERT_REFUSED("http://::1:8080/", 0, "needs brackets");
	ASSERT_REFUSED("http://2001:db8::1/", 0, "needs brackets");
	ASSERT_REFUSED("http://[::1/", 0, "no closing");
	ASSERT_REFUSED("http://[]/", 0, "bad IPv6");
	ASSERT_REFUSED("http://[zz::1]/", 0, "bad IPv6");
	ASSERT_REFUSED("http://[127.0.0.1]/", 0, "bad IPv6");
	ASSERT_REFUSED("http://[::1]x/", 0, "expected ':PORT'");
	ASSERT_REFUSED("http://[::1]:/", 0, "bad port");
	ASSERT_REFUSED("http://[::1]:0/", 0, "bad port");
}

static void
test_ports(void)
{
	struct url	 u;
	const char	*why;

	ASSERT_EQ(parse("http://h:1", 0, &u, &why), 0);
	ASSERT_EQ(u.port, 1);
	ASSERT_EQ(parse("http://h:65535/", 0, &u, &why), 0);
	ASSERT_EQ(u.port, 65535);
	ASSERT_EQ(parse("http://h:0080", 0, &u, &why), 0);
	ASSERT_EQ(u.port, 80);
	ASSERT_EQ(u.port_given, 1);

	ASSERT_REFUSED("http://h:0/", 0, "bad port");
	ASSERT_REFUSED("http://h:65536/", 0, "bad port");
	ASSERT_REFUSED("http://h:99999999999999999999/", 0, "bad port");
	ASSERT_REFUSED("http://h:80x/", 0, "bad port");
	ASSERT_REFUSED("http://h:-1/", 0, "bad port");
	ASSERT_REFUSED("http://h:+80/", 0, "bad port");
	ASSERT_REFUSED("http://h:/", 0, "bad port");
	ASSERT_REFUSED("http://h:", 0, "bad port");
	ASSERT_REFUSED("http://:80/", 0, "no host");
	ASSERT_REFUSED("http:///p", 0, "no host");
	ASSERT_REFUSED("http://", 0, "no host");
	ASSERT_REFUSED("http://?q", 0, "no host");
}

static void
test_bytes(void)
{
	struct url	 u;
	const char	*why;

	/* Percent-encoding is left as is, in the host too. */
	ASSERT_EQ(parse("http://h/a%20b/%2F?q=%41%zz", 0, &u, &why), 0);
	ASSERT_SPAN_EQ(u.path, "/a%20b/%2F");
	ASSERT_SPAN_EQ(u.query, "q=%41%zz");
	ASSERT_EQ(parse("http://my%2Dhost/", 0, &u, &why), 0);
	ASSERT_SPAN_EQ(u.host, "my%2Dhost");
	/* Bytes past ASCII are kept in the path (a HAR may hold them). */
	ASSERT_EQ(parse("http://h/caf\xc3\xa9", 0, &u, &why), 0);
	ASSERT_SPAN_EQ(u.path, "/caf\xc3\xa9");

	ASSERT_REFUSED("http://h/a b", 0, "space or control");
	ASSERT_REFUSED("http://h/a\r\nX: y", 0, "space or control");
	ASSERT_REFUSED("http://h\t/", 0, "space or control");
	ASSERT_REFUSED("http://h/\x7f", 0, "space or control");
	ASSERT_REFUSED("http://h\"x/", 0, "bad character in the host");
	ASSERT_REFUSED("http://h\xc3\xa9/", 0, "bad character in the host");
	ASSERT_REFUSED("http://a[b]/", 0, "bad character in the host");

	/* A NUL inside the given length is refused, not a terminator. */
	ASSERT_EQ(url_parse("http://h/\0x", 11, 0, &u, &why), -1);
	ASSERT(strstr(why, "control") != NULL);
}

static void
test_authority(void)
{
	struct url	 u;
	const char	*why;
	char		*s;

	ASSERT_EQ(url_parse_authority("example.com:8443", 16, 1, &u, &why),
	    0);
	ASSERT_EQ(u.tls, 1);
	ASSERT_EQ(u.port, 8443);
	ASSERT_SPAN_EQ(u.host, "example.com");
	ASSERT_SPAN_EQ(u.path, "");
	ASSERT_EQ(url_has_path(&u), 0);
	ASSERT_EQ(url_parse_authority("example.com", 11, 1, &u, &why), 0);
	ASSERT_EQ(u.port, 443);
	ASSERT_EQ(u.port_given, 0);
	ASSERT_EQ(url_parse_authority("example.com", 11, 0, &u, &why), 0);
	ASSERT_EQ(u.port, 80);
	ASSERT_EQ(url_parse_authority("[::1]:81", 8, 0, &u, &why), 0);
	ASSERT_SPAN_EQ(u.host, "::1");
	ASSERT_EQ(u.port, 81);
	s = url_host_header(&u);
	ASSERT_STR_EQ(s, "[::1]:81");
	free(s);

	ASSERT_EQ(url_parse_authority("u@h:80", 6, 0, &u, &why), -1);
	ASSERT(strstr(why, "userinfo") != NULL);
	ASSERT_EQ(url_parse_authority("h/x", 3, 0, &u, &why), -1);
	ASSERT(strstr(why, "bad character") != NULL);
	ASSERT_EQ(url_parse_authority("", 0, 0, &u, &why), -1);
	ASSERT(strstr(why, "no host") != NULL);
	ASSERT_EQ(url_parse_authority("h:0", 3, 0, &u, &why), -1);
	ASSERT(strstr(why, "bad port") != NULL);
}

static void
test_helpers(void)
{
	struct url		 u;
	struct sock_addr	 sa;
	const char		*why;
	char			*s, *cause = NULL;

	ASSERT_EQ(parse("http://Host:80/p", 0, &u, &why), 0);
	s = url_host_header(&u);
	ASSERT_STR_EQ(s, "Host");		/* the default port left out */
	free(s);
	s = url_addr_dup(&u);
	ASSERT_STR_EQ(s, "Host:80");
	free(s);
	s = url_request_target(&u);
	ASSERT_STR_EQ(s, "/p");
	free(s);

	ASSERT_EQ(parse("https://h:80", 0, &u, &why), 0);
	s = url_host_header(&u);
	ASSERT_STR_EQ(s, "h:80");
	free(s);
	s = url_request_target(&u);
	ASSERT_STR_EQ(s, "/");
	free(s);

	ASSERT_EQ(parse("http://h?a=1#f", 0, &u, &why), 0);
	s = url_request_target(&u);
	ASSERT_STR_EQ(s, "/?a=1");
	free(s);

	ASSERT_EQ(url_is_http("HTTP://h/", 9, 0), 1);
	ASSERT_EQ(url_is_http("https:", 6, 0), 1);
	ASSERT_EQ(url_is_http("http:foo", 8, 0), 1);
	ASSERT_EQ(url_is_http("wss://h", 7, 0), 0);
	ASSERT_EQ(url_is_http("wss://h", 7, URL_WEBSOCKET), 1);
	ASSERT_EQ(url_is_http("data:text/plain,x", 17, 0), 0);
	ASSERT_EQ(url_is_http("chrome-extension://x", 20, 0), 0);
	ASSERT_EQ(url_is_http("http", 4, 0), 0);
	ASSERT_EQ(url_is_http("/http:", 6, 0), 0);
	ASSERT_EQ(url_is_http("", 0, 0), 0);

	ASSERT_EQ(url_default_port(URL_HTTP), 80);
	ASSERT_EQ(url_default_port(URL_HTTPS), 443);
	ASSERT_EQ(url_default_port(URL_WS), 80);
	ASSERT_EQ(url_default_port(URL_WSS), 443);

	/* Literal addresses resolve without a resolver. */
	ASSERT_EQ(parse("http://127.0.0.1:8080/", 0, &u, &why), 0);
	ASSERT_EQ(sock_resolve_url(&u, &sa, &cause), 0);
	ASSERT_EQ(sock_addr_port(&sa), 8080);
	ASSERT_EQ(sa.ss.ss_family, AF_INET);
	ASSERT_EQ(parse("https://[::1]", 0, &u, &why), 0);
	ASSERT_EQ(sock_resolve_url(&u, &sa, &cause), 0);
	ASSERT_EQ(sock_addr_port(&sa), 443);
	ASSERT_EQ(sa.ss.ss_family, AF_INET6);
	free(cause);
}

/* Every prefix of every URL parses or fails cleanly (no over-read). */
static void
test_truncations(void)
{
	static const char	*urls[] = {
		"http://example.com:8080/api/v1?x=1#frag",
		"HTTPS://user:pw@[2001:db8::1]:443/a%20b?q#f",
		"ws://h:1/", "http://[::1]", "http://h:65535",
	};
	struct url		 u;
	const char		*why, *p;
	size_t			 i, n, len;
	int			 rv;

	for (i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		len = strlen(urls[i]);
		for (n = 0; n <= len; n++) {
			p = guard_place(urls[i], n);
			why = NULL;
			rv = url_parse(p, n, URL_WEBSOCKET | URL_USERINFO, &u,
			    &why);
			ASSERT(rv == 0 || (rv == -1 && why != NULL));
			if (rv == 0) {
				ASSERT(u.host.len > 0);
				ASSERT(u.port >= 1 && u.port <= 65535);
				ASSERT(u.target.p + u.target.len <= p + n);
			}
		}
	}
}

int
main(void)
{
	guard_init();
	test_basic();
	test_scheme_case();
	test_userinfo();
	test_ipv6();
	test_ports();
	test_bytes();
	test_authority();
	test_helpers();
	test_truncations();
	UNIT_DONE();
}
