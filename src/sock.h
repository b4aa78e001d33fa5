/*
 * sock.h -- socket helpers: address parsing, non-blocking listeners with
 * SO_REUSEPORT, address formatting, and the netfilter bits of transparent
 * mode (the original destination of a redirected connection, SO_MARK).
 */
#ifndef DECOY_SOCK_H
#define DECOY_SOCK_H

#include <sys/socket.h>

#include <stddef.h>

struct sock_addr {
	struct sockaddr_storage	ss;
	socklen_t		len;
};

/*
 * Parses "HOST:PORT", "[V6]:PORT" or ":PORT" (all IPv4 addresses).  HOST
 * may be a name; it is resolved once here (start-up only: this blocks).
 * Returns 0, or -1 with *cause.
 */
int	sock_parse_addr(const char *, struct sock_addr *, char **cause);
/* The host of "host", "host:port", "[v6]" or "[v6]:port" (allocated),
 * for SNI and the certificate check. */
char	*sock_host_name(const char *hostport);
/* Sets the port of an IPv4 or IPv6 address. */
void	sock_addr_set_port(struct sock_addr *, int port);
int	sock_addr_port(const struct sock_addr *);
/* Formats "1.2.3.4:80" or "[::1]:80" into buf. */
const char *sock_addr_str(const struct sock_addr *, char *buf, size_t len);

/* How sock_listen shares its port (SO_REUSEPORT) with other sockets. */
enum sock_share {
	SOCK_SHARE_NONE,	/* an exclusive listener */
	SOCK_SHARE_FIRST,	/* the first of a process's workers: bound
				   exclusively (so a port another process
				   holds is refused), then SO_REUSEPORT set
				   before listen so the others can join */
	SOCK_SHARE_JOIN		/* another worker: joins a FIRST socket */
};

/* A non-blocking, close-on-exec listening socket, sharing its port as
 * share says.  A port in use fails with "bind ADDR: address in use".
 * -1 + *cause. */
int	sock_listen(const struct sock_addr *, enum sock_share share,
	    char **cause);
/* The address a socket is bound to. */
int	sock_local_addr(int fd, struct sock_addr *);
int	sock_set_nonblock(int fd);
/* 1 if a and b are the same address and port (IPv4, IPv6), else 0. */
int	sock_addr_equal(const struct sock_addr *a, const struct sock_addr *b);

/*
 * The original destination of an accepted connection that an iptables or
 * nft REDIRECT (or DNAT) sent here: getsockopt SO_ORIGINAL_DST (IPv4) or
 * IP6T_SO_ORIGINAL_DST (IPv6), from the connection tracking entry.  For a
 * connection that was not redirected this is the socket's own local
 * address.  0, or -1 with errno (ENOENT: no conntrack entry).
 */
int	sock_original_dst(int fd, struct sock_addr *);

/*
 * Sets SO_MARK on a socket (before connect) so the packets it sends carry
 * mark and the redirect rules can skip them.  Needs CAP_NET_ADMIN.  0, or
 * -1 with errno.
 */
int	sock_set_mark(int fd, unsigned int mark);

/*
 * Raises the soft RLIMIT_NOFILE to the hard limit, for a server that
 * holds a descriptor per connection (start-up; every thread shares it).
 * Returns the soft limit now in effect (unchanged if raising failed), or
 * 0 if it cannot be read.
 */
unsigned long long sock_raise_nofile(void);

/* Errors of accept(2) that mean "out of descriptors or memory": the
 * connection stays queued, so accepting again at once fails again. */
int	sock_accept_is_exhausted(int err);

/*
 * Resolves a URL's host (blocking: start-up only) and sets *addr to it
 * with the URL's effective port.  0, or -1 with *cause (allocated).
 */
struct url;
int	sock_resolve_url(const struct url *, struct sock_addr *addr,
	    char **cause);

/*
 * Writes "PORT\n" to path atomically (a temporary file, then rename), so
 * a script polling for the file never reads half of it.  0, or -1 with
 * *cause.
 */
int	sock_write_port_file(const char *path, int port, char **cause);

#endif
