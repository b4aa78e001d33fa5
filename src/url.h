/*
 * url.h -- the one parser of the absolute http(s) URLs users give decoy
 * (replay and fuzz targets, the recorder's upstream, the admin address of
 * `decoy ctl`, a scenario's service URL) and of the URLs a HAR holds.
 *
 *	http[s]://HOST[:PORT][/PATH][?QUERY][#FRAGMENT]
 *
 * The scheme is case-insensitive (HTTP://, Https://); ws:// and wss://
 * only with URL_WEBSOCKET; any other scheme is refused.  HOST is a name,
 * an IPv4 address or an IPv6 literal in brackets ([::1]); PORT is 1 to
 * 65535 (the scheme's default, 80 or 443, when left out).  Userinfo
 * ("user:pw@") is refused with a clear error unless URL_USERINFO is given,
 * which skips it (it is never sent anywhere).  PATH and QUERY are kept
 * exactly as written, percent-encoding included; a fragment is dropped.
 * Spaces and control bytes are refused anywhere (they would break a
 * request line or a Host header).
 *
 * The parser is pure: it allocates nothing and fills spans that point into
 * the caller's string, which must outlive the struct url.  The *_dup
 * helpers below allocate (xmalloc: they never fail); sock_resolve_url() (sock.h) calls
 * the resolver and so blocks (start-up only).
 *
 * Typical use (a target on the command line):
 *
 *	struct url	 u;
 *	const char	*why;
 *
 *	if (url_parse(s, strlen(s), 0, &u, &why) == -1) {
 *		*cause = xasprintf("target %s: %s", s, why);
 *		return -1;
 *	}
 *	if (sock_resolve_url(&u, &addr, cause) == -1)
 *		return -1;
 *	sni = u.tls ? url_host_dup(&u) : NULL;
 */
#ifndef DECOY_URL_H
#define DECOY_URL_H

#include <stddef.h>

#include "buf.h"

enum url_scheme {
	URL_HTTP,
	URL_HTTPS,
	URL_WS,			/* only with URL_WEBSOCKET */
	URL_WSS
};

/* Flags of url_parse(). */
#define URL_WEBSOCKET	0x1	/* accept ws:// and wss:// too */
#define URL_USERINFO	0x2	/* skip "user[:pw]@" instead of refusing it */

struct url {
	enum url_scheme	 scheme;
	int		 tls;		/* https or wss */
	int		 port;		/* as given, else the scheme's default */
	int		 port_given;	/* 1: the URL names a port */
	int		 ipv6;		/* host was a bracketed literal */
	struct span	 userinfo;	/* without '@'; p NULL when none */
	struct span	 host;		/* without brackets, case as written */
	struct span	 authority;	/* host[:port] as written, no userinfo */
	struct span	 path;		/* "" or starting with '/' */
	struct span	 query;		/* without '?'; p NULL when none */
	struct span	 target;	/* path?query as written ("" if none) */
};

/*
 * Parses s[0..len) (no NUL needed; a NUL inside is refused) into *u.
 * flags: URL_WEBSOCKET, URL_USERINFO or 0.  Returns 0, or -1 with *why
 * set to a static message without the URL in it ("bad port (expected 1 to
 * 65535)"), for the caller to prefix with what the URL was for.
 */
int	url_parse(const char *s, size_t len, int flags, struct url *u,
	    const char **why);

/*
 * Parses an authority alone, "HOST[:PORT]" or "[V6][:PORT]" (a CONNECT
 * target, the authority of an absolute-form request, `decoy ctl -a`),
 * as if it followed "https://" (tls 1) or "http://" (tls 0): the port
 * defaults to 443 or 80, path, query and target are empty.  Userinfo is
 * refused.  0, or -1 with *why as for url_parse().
 */
int	url_parse_authority(const char *s, size_t len, int tls, struct url *u,
	    const char **why);

/*
 * 1 if s[0..len) begins with a scheme url_parse() takes with flags,
 * followed by ':' ("HTTP:", "wss:" with URL_WEBSOCKET), else 0: for a
 * reader that skips other URLs (data:, blob:, chrome-extension:) rather
 * than refusing them.
 */
int	url_is_http(const char *s, size_t len, int flags);

/*
 * The scheme's default port: 443 for https and wss, else 80.
 */
int	url_default_port(enum url_scheme);

/*
 * 1 if the URL has more than a host: a path other than "" or "/", or a
 * query (callers that take no path prefix refuse those), else 0.
 */
int	url_has_path(const struct url *);

/* The host without brackets (SNI, the certificate check), allocated. */
char	*url_host_dup(const struct url *);

/*
 * "HOST:PORT" or "[V6]:PORT" with the effective port (for
 * sock_parse_addr()), allocated.
 */
char	*url_addr_dup(const struct url *);

/*
 * The Host header value: the host (bracketed if IPv6) with ":PORT" unless
 * the port is the scheme's default, allocated.
 */
char	*url_host_header(const struct url *);

/*
 * The request target in origin-form: the path ("/" when empty) followed by
 * "?QUERY" when there is one, allocated.
 */
char	*url_request_target(const struct url *);

#endif
