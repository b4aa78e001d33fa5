/*
 * sock.c -- socket helpers: addresses, listeners, port files, and the
 * netfilter socket options of transparent mode.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sock.h"
#include "url.h"
#include "xmalloc.h"

unsigned long long
sock_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1 &&
		    getrlimit(RLIMIT_NOFILE, &rl) == -1)
			return 0;
	}
	return (unsigned long long)rl.rlim_cur;
}

int
sock_accept_is_exhausted(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM;
}

int
sock_parse_addr(const char *s, struct sock_addr *a, char **cause)
{
	struct addrinfo	 hints, *res;
	const char	*colon, *host_start, *host_end;
	char		*host, *end;
	long		 port;
	int		 error;

	memset(a, 0, sizeof *a);
	if (s[0] == '[') {
		host_start = s + 1;
		if ((host_end = strchr(s, ']')) == NULL || host_end[1] != ':') {
			*cause = xasprintf("bad address \"%s\": expected "
			    "[IPV6]:PORT", s);
			return -1;
		}
		colon = host_end + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			*cause = xasprintf("bad address \"%s\": expected "
			    "HOST:PORT", s);
			return -1;
		}
		host_start = s;
		host_end = colon;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 0 ||
	    port > 65535) {
		*cause = xasprintf("bad port in address \"%s\"", s);
		return -1;
	}
	host = xstrndup(host_start, (size_t)(host_end - host_start));
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	error = getaddrinfo(host[0] == '\0' ? NULL : host, "0", &hints, &res);
	if (error != 0) {
		*cause = xasprintf("cannot resolve \"%s\": %s", host,
		    gai_strerror(error));
		free(host);
		return -1;
	}
	free(host);
	memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	freeaddrinfo(res);
	sock_addr_set_port(a, (int)port);
	return 0;
}

void
sock_addr_set_port(struct sock_addr *a, int port)
{
	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_port = htons((uint16_t)port);
	else if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->ss)->sin6_port =
		    htons((uint16_t)port);
}

int
sock_addr_port(const struct sock_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return -1;
}

const char *
sock_addr_str(const struct sock_addr *a, char *buf, size_t len)
{
	char	host[INET6_ADDRSTRLEN];

	if (a->ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->ss)->sin_addr,
		    host, sizeof host);
		snprintf(buf, len, "%s:%d", host, sock_addr_port(a));
	} else if (a->ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, host,
		    sizeof host);
		snprintf(buf, len, "[%s]:%d", host, sock_addr_port(a));
	} else
		snprintf(buf, len, "?");
	return buf;
}

int
sock_listen(const struct sock_addr *a, enum sock_share share, char **cause)
{
	char	name[64];
	int	fd, one = 1;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		*cause = xasprintf("socket: %s", strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
	    (share == SOCK_SHARE_JOIN && setsockopt(fd, SOL_SOCKET,
	    SO_REUSEPORT, &one, sizeof one) == -1)) {
		*cause = xasprintf("setsockopt: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1) {
		if (errno == EADDRINUSE)
			*cause = xasprintf("bind %s: address in use",
			    sock_addr_str(a, name, sizeof name));
		else
			*cause = xasprintf("bind %s: %s",
			    sock_addr_str(a, name, sizeof name),
			    strerror(errno));
		close(fd);
		return -1;
	}
	/*
	 * Bound without SO_REUSEPORT, so an unrelated listener on the port
	 * (even one with SO_REUSEPORT, even another decoy) made bind fail;
	 * set now, before listen, it lets this process's workers join.
	 */
	if (share == SOCK_SHARE_FIRST && setsockopt(fd, SOL_SOCKET,
	    SO_REUSEPORT, &one, sizeof one) == -1) {
		*cause = xasprintf("setsockopt: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (listen(fd, 4096) == -1) {
		*cause = xasprintf("listen %s: %s",
		    sock_addr_str(a, name, sizeof name), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
sock_local_addr(int fd, struct sock_addr *a)
{
	memset(a, 0, sizeof *a);
	a->len = sizeof a->ss;
	return getsockname(fd, (struct sockaddr *)&a->ss, &a->len) == -1 ?
	    -1 : 0;
}

int
sock_set_nonblock(int fd)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ? -1 : 0;
}

int
sock_write_port_file(const char *path, int port, char **cause)
{
	char	*tmp, line[16];
	int	 fd, len;

	tmp = xasprintf("%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	len = snprintf(line, sizeof line, "%d\n", port);
	if (fd == -1 || write(fd, line, (size_t)len) != len ||
	    close(fd) == -1 || rename(tmp, path) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		if (fd != -1)
			unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

int
sock_addr_equal(const struct sock_addr *a, const struct sock_addr *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->ss.ss_family != b->ss.ss_family)
		return 0;
	if (a->ss.ss_family == AF_INET) {
		a4 = (const struct sockaddr_in *)&a->ss;
		b4 = (const struct sockaddr_in *)&b->ss;
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	}
	if (a->ss.ss_family == AF_INET6) {
		a6 = (const struct sockaddr_in6 *)&a->ss;
		b6 = (const struct sockaddr_in6 *)&b->ss;
		return a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof a6->sin6_addr) == 0;
	}
	return 0;
}

int
sock_original_dst(int fd, struct sock_addr *a)
{
	struct sock_addr	local;

	if (sock_local_addr(fd, &local) == -1)
		return -1;
	memset(a, 0, sizeof *a);
	if (local.ss.ss_family == AF_INET6) {
		a->len = sizeof(struct sockaddr_in6);
		if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &a->ss,
		    &a->len) == 0)
			return 0;
		/* An IPv4 client on a dual-stack listener. */
		if (!IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)
		    &local.ss)->sin6_addr))
			return -1;
	}
	a->len = sizeof(struct sockaddr_in);
	if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &a->ss, &a->len) == -1)
		return -1;
	return 0;
}

int
sock_set_mark(int fd, unsigned int mark)
{
	return setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) == -1 ?
	    -1 : 0;
}

char *
sock_host_name(const char *hostport)
{
	const char	*end;

	if (hostport[0] == '[') {
		if ((end = strchr(hostport, ']')) == NULL)
			return xstrdup(hostport + 1);
		return xstrndup(hostport + 1, (size_t)(end - hostport - 1));
	}
	if ((end = strrchr(hostport, ':')) == NULL)
		return xstrdup(hostport);
	return xstrndup(hostport, (size_t)(end - hostport));
}

int
sock_resolve_url(const struct url *u, struct sock_addr *addr, char **cause)
{
	char	*s;
	int	 rv;

	s = url_addr_dup(u);
	rv = sock_parse_addr(s, addr, cause);
	free(s);
	return rv;
}
