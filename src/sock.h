/*
 * sock.h -- socket helpers: address parsing, non-blocking listeners with
 * SO_REUSEPORT, address formatting.
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
/* Sets the port of an IPv4 or IPv6 address. */
void	sock_addr_set_port(struct sock_addr *, int port);
int	sock_addr_port(const struct sock_addr *);
/* Formats "1.2.3.4:80" or "[::1]:80" into buf. */
const char *sock_addr_str(const struct sock_addr *, char *buf, size_t len);

/* A non-blocking, close-on-exec listening socket; reuseport sets
 * SO_REUSEPORT so several workers can bind one address.  -1 + *cause. */
int	sock_listen(const struct sock_addr *, int reuseport, char **cause);
/* The address a socket is bound to. */
int	sock_local_addr(int fd, struct sock_addr *);
int	sock_set_nonblock(int fd);
/*
 * Writes "PORT\n" to path atomically (a temporary file, then rename), so
 * a script polling for the file never reads half of it.  0, or -1 with
 * *cause.
 */
int	sock_write_port_file(const char *path, int port, char **cause);

#endif
