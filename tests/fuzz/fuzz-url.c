/*
 * fuzz-url.c -- fuzz target for the URL parser (url.h).
 *
 * Input: byte 0 picks the flags (b & 3: URL_WEBSOCKET, URL_USERINFO) and
 * whether the rest is parsed as a URL or as an authority alone (b & 4,
 * then TLS by b & 8); the rest is the text (copied to its own allocation so
 * the sanitizer sees any over-read).
 *
 * Invariants: a failure gives a message; a success gives spans inside the
 * input, in order (userinfo, host, path, query), a non-empty host, a port
 * in 1..65535 (the scheme's default unless one was given), a target that
 * is exactly path plus "?query"; the URL rebuilt from its parts
 * (scheme://Host-header-value + origin-form target) parses again to the
 * same host, port and target; the "HOST:PORT" of url_addr_dup() parses as
 * an authority to the same host and port; url_is_http() says yes to
 * every URL url_parse() takes (same flags).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "url.h"
#include "xmalloc.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static void
check_span(struct span s, const char *buf, size_t len)
{
	if (s.p == NULL) {
		CHECK(s.len == 0);
		return;
	}
	CHECK(s.p >= buf && s.p + s.len <= buf + len);
}

static void
check_parts(const struct url *u, const char *buf, size_t len)
{
	check_span(u->userinfo, buf, len);
	check_span(u->host, buf, len);
	check_span(u->authority, buf, len);
	check_span(u->path, buf, len);
	check_span(u->query, buf, len);
	check_span(u->target, buf, len);
	CHECK(u->host.len > 0);
	CHECK(u->port >= 1 && u->port <= 65535);
	CHECK(u->port_given || u->port == url_default_port(u->scheme));
	CHECK(u->tls == (u->scheme == URL_HTTPS || u->scheme == URL_WSS));
	CHECK(u->path.len == 0 || u->path.p[0] == '/');
	CHECK(u->target.p == u->path.p);
	CHECK(u->target.len == u->path.len + (u->query.p != NULL ?
	    1 + u->query.len : 0));
	CHECK(u->host.p >= u->authority.p && u->host.p + u->host.len <=
	    u->authority.p + u->authority.len);
	CHECK(memchr(u->host.p, ':', u->host.len) == NULL || u->ipv6);
}

/* The URL rebuilt from its parts parses to the same parts. */
static void
check_rebuild(const struct url *u)
{
	static const char *const schemes[] = { "http", "https", "ws", "wss" };
	struct url	 v;
	const char	*why;
	char		*hh, *target, *s, *addr;

	hh = url_host_header(u);
	target = url_request_target(u);
	s = xasprintf("%s://%s%s", schemes[u->scheme], hh, target);
	CHECK(url_parse(s, strlen(s), URL_WEBSOCKET, &v, &why) == 0);
	CHECK(v.scheme == u->scheme && v.port == u->port);
	CHECK(v.ipv6 == u->ipv6);
	CHECK(span_eq(v.host, u->host));
	CHECK(v.query.p != NULL || u->query.p == NULL);
	CHECK(v.path.len == (u->path.len > 0 ? u->path.len : 1));
	free(s);
	free(target);
	free(hh);

	addr = url_addr_dup(u);
	CHECK(url_parse_authority(addr, strlen(addr), u->tls, &v, &why) == 0);
	CHECK(v.port == u->port && v.port_given);
	CHECK(span_eq(v.host, u->host));
	free(addr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct url	 u;
	const char	*why = NULL;
	char		*buf;
	size_t		 len;
	int		 rv;

	if (size == 0)
		return 0;
	len = size - 1;
	buf = xmalloc(len > 0 ? len : 1);
	memcpy(buf, data + 1, len);
	if (data[0] & 4)
		rv = url_parse_authority(buf, len, (data[0] & 8) != 0, &u,
		    &why);
	else
		rv = url_parse(buf, len, data[0] & 3, &u, &why);
	if (rv == -1)
		CHECK(why != NULL && why[0] != '\0');
	else {
		CHECK(rv == 0);
		check_parts(&u, buf, len);
		check_rebuild(&u);
		if (!(data[0] & 4))
			CHECK(url_is_http(buf, len, data[0] & URL_WEBSOCKET));
	}
	free(buf);
	return 0;
}
