/*
 * url.c -- the one URL parser (url.h): scheme, userinfo, host (IPv6
 * literals in brackets), port, path and query of an absolute http(s) URL,
 * as spans into the caller's string; and the few allocating helpers the
 * clients need (the host for SNI, "HOST:PORT" for the resolver, the Host
 * header, the origin-form target).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "url.h"
#include "xmalloc.h"

static const struct {
	const char	*name;
	enum url_scheme	 scheme;
	int		 websocket;
} url_schemes[] = {
	{ "http", URL_HTTP, 0 },
	{ "https", URL_HTTPS, 0 },
	{ "ws", URL_WS, 1 },
	{ "wss", URL_WSS, 1 },
};

int
url_default_port(enum url_scheme scheme)
{
	return scheme == URL_HTTPS || scheme == URL_WSS ? 443 : 80;
}

/* A byte of a host name: RFC 3986 unreserved, '%' or a sub-delim. */
static int
url_is_host_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("-._~%!$&'()*+,;=", c) != NULL;
}

/* Refuses spaces, control bytes and DEL anywhere in s[0..len). */
static int
url_check_bytes(const char *s, size_t len, const char **why)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f) {
			*why = "a space or control character in the URL";
			return -1;
		}
	}
	return 0;
}

/* "[V6]" at a (a < end, *a == '['): sets u->host; *next after ']'. */
static int
url_ipv6(const char *a, const char *end, struct url *u, const char **next,
    const char **why)
{
	const char	*close;
	char		 tmp[INET6_ADDRSTRLEN + 1];
	unsigned char	 ip[sizeof(struct in6_addr)];
	size_t		 n;

	if ((close = memchr(a, ']', (size_t)(end - a))) == NULL) {
		*why = "bad IPv6 address (no closing ']')";
		return -1;
	}
	n = (size_t)(close - a - 1);
	if (n == 0 || n >= sizeof tmp) {
		*why = "bad IPv6 address";
		return -1;
	}
	memcpy(tmp, a + 1, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET6, tmp, ip) != 1) {
		*why = "bad IPv6 address";
		return -1;
	}
	u->ipv6 = 1;
	u->host = (struct span){ a + 1, n };
	*next = close + 1;
	return 0;
}

/* "HOST[:PORT]" in [a, end): host, port (kept if none), authority. */
static int
url_authority(const char *a, const char *end, struct url *u,
    const char **why)
{
	const char	*p, *colon;
	long		 port = 0;

	u->authority = (struct span){ a, (size_t)(end - a) };
	if (a == end) {
		*why = "no host";
		return -1;
	}
	if (*a == '[') {
		if (url_ipv6(a, end, u, &p, why) == -1)
			return -1;
		if (p < end && *p != ':') {
			*why = "expected ':PORT' after the IPv6 address";
			return -1;
		}
	} else {
		colon = memchr(a, ':', (size_t)(end - a));
		if (colon != NULL && memchr(colon + 1, ':',
		    (size_t)(end - colon - 1)) != NULL) {
			*why = "an IPv6 address needs brackets ([::1]:PORT)";
			return -1;
		}
		for (p = a; p < end && *p != ':'; p++) {
			if (!url_is_host_char((unsigned char)*p)) {
				*why = "bad character in the host";
				return -1;
			}
		}
		if (p == a) {
			*why = "no host";
			return -1;
		}
		u->host = (struct span){ a, (size_t)(p - a) };
	}
	if (p == end)
		return 0;
	if (++p == end) {
		*why = "bad port (empty)";
		return -1;
	}
	for (; p < end; p++) {
		if (*p < '0' || *p > '9' || port > 65535) {
			*why = "bad port (expected 1 to 65535)";
			return -1;
		}
		port = port * 10 + (*p - '0');
	}
	if (port < 1 || port > 65535) {
		*why = "bad port (expected 1 to 65535)";
		return -1;
	}
	u->port = (int)port;
	u->port_given = 1;
	return 0;
}

/* The end of the scheme at s (s itself when there is none). */
static const char *
url_scheme_end(const char *s, const char *end)
{
	const char	*p;

	for (p = s; p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' &&
	    *p <= 'Z') || (p > s && ((*p >= '0' && *p <= '9') || *p == '+' ||
	    *p == '-' || *p == '.'))); p++)
		;
	return p;
}

/* The index in url_schemes[] of s[0..n) (any case), or -1. */
static int
url_scheme_lookup(const char *s, size_t n, int flags)
{
	size_t	i;

	for (i = 0; i < sizeof url_schemes / sizeof url_schemes[0]; i++) {
		if (strlen(url_schemes[i].name) != n ||
		    strncasecmp(s, url_schemes[i].name, n) != 0)
			continue;
		if (url_schemes[i].websocket && !(flags & URL_WEBSOCKET))
			return -1;
		return (int)i;
	}
	return -1;
}

/* The scheme before "://" at s, or -1 with *why. */
static int
url_parse_scheme(const char *s, const char *end, int flags, struct url *u,
    const char **next, const char **why)
{
	const char	*p;
	int		 i;

	p = url_scheme_end(s, end);
	if (p == s || end - p < 3 || memcmp(p, "://", 3) != 0) {
		*why = "not an absolute URL (expected http://HOST[:PORT] or "
		    "https://HOST[:PORT])";
		return -1;
	}
	if ((i = url_scheme_lookup(s, (size_t)(p - s), flags)) == -1) {
		*why = "unsupported scheme (expected http:// or https://)";
		return -1;
	}
	u->scheme = url_schemes[i].scheme;
	u->tls = u->scheme == URL_HTTPS || u->scheme == URL_WSS;
	u->port = url_default_port(u->scheme);
	*next = p + 3;
	return 0;
}

int
url_is_http(const char *s, size_t len, int flags)
{
	const char	*p;

	p = url_scheme_end(s, s + len);
	return p > s && p < s + len && *p == ':' &&
	    url_scheme_lookup(s, (size_t)(p - s), flags) != -1;
}

int
url_parse(const char *s, size_t len, int flags, struct url *u,
    const char **why)
{
	const char	*end = s + len, *auth, *aend, *at = NULL, *p, *q;

	memset(u, 0, sizeof *u);
	if (url_check_bytes(s, len, why) == -1)
		return -1;
	if (url_parse_scheme(s, end, flags, u, &auth, why) == -1)
		return -1;
	for (aend = auth; aend < end && *aend != '/' && *aend != '?' &&
	    *aend != '#'; aend++)
		if (*aend == '@')
			at = aend;
	if (at != NULL) {
		if (!(flags & URL_USERINFO)) {
			*why = "userinfo (user:password@) is not supported";
			return -1;
		}
		u->userinfo = (struct span){ auth, (size_t)(at - auth) };
		auth = at + 1;
	}
	if (url_authority(auth, aend, u, why) == -1)
		return -1;
	for (p = aend; p < end && *p != '?' && *p != '#'; p++)
		;
	u->path = (struct span){ aend, (size_t)(p - aend) };
	if (p < end && *p == '?') {
		for (q = p + 1; q < end && *q != '#'; q++)
			;
		u->query = (struct span){ p + 1, (size_t)(q - p - 1) };
		p = q;
	}
	u->target = (struct span){ aend, (size_t)(p - aend) };
	return 0;
}

int
url_parse_authority(const char *s, size_t len, int tls, struct url *u,
    const char **why)
{
	memset(u, 0, sizeof *u);
	if (url_check_bytes(s, len, why) == -1)
		return -1;
	if (memchr(s, '@', len) != NULL) {
		*why = "userinfo (user:password@) is not supported";
		return -1;
	}
	u->scheme = tls ? URL_HTTPS : URL_HTTP;
	u->tls = tls != 0;
	u->port = url_default_port(u->scheme);
	if (url_authority(s, s + len, u, why) == -1)
		return -1;
	u->path = (struct span){ s + len, 0 };
	u->target = u->path;
	return 0;
}

int
url_has_path(const struct url *u)
{
	return u->path.len > 1 || u->query.p != NULL;
}

char *
url_host_dup(const struct url *u)
{
	return span_dup(u->host);
}

char *
url_addr_dup(const struct url *u)
{
	return xasprintf("%s%.*s%s:%d", u->ipv6 ? "[" : "", (int)u->host.len,
	    u->host.p, u->ipv6 ? "]" : "", u->port);
}

char *
url_host_header(const struct url *u)
{
	if (u->port == url_default_port(u->scheme))
		return xasprintf("%s%.*s%s", u->ipv6 ? "[" : "",
		    (int)u->host.len, u->host.p, u->ipv6 ? "]" : "");
	return url_addr_dup(u);
}

char *
url_request_target(const struct url *u)
{
	struct buf	b;
	char		*s;

	buf_init(&b);
	if (u->path.len > 0)
		buf_append_span(&b, u->path);
	else
		buf_append_byte(&b, '/');
	if (u->query.p != NULL) {
		buf_append_byte(&b, '?');
		buf_append_span(&b, u->query);
	}
	s = buf_detach(&b, NULL);
	return s;
}
