/*
 * record-resolve.c -- name resolution off the event loop
 * (record-resolve.h).  A lookup's thread writes the lookup's pointer into
 * the pipe; the loop reads pointers back, calls back (unless cancelled)
 * and frees them.  A pointer is smaller than PIPE_BUF: the write is
 * atomic.
 */
#include "config.h"

#include <sys/epoll.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "record-resolve.h"
#include "sock.h"
#include "xmalloc.h"

struct record_resolver {
	struct loop		*loop;
	int			 pipe[2];
	struct loop_io		 io;
	size_t			 pending;
};

/* A name being resolved (getaddrinfo in a thread). */
struct record_lookup {
	struct record_resolver	*rs;
	record_resolve_cb	 cb;		/* NULL once cancelled */
	void			*arg;
	char			*name;
	int			 port;
	int			 err;		/* EAI_* or 0 */
	struct sock_addr	 addr;
};

static void *
record_resolve_main(void *arg)
{
	struct record_lookup	*l = arg;
	struct addrinfo		 hints, *res, *ai, *pick;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((l->err = getaddrinfo(l->name, NULL, &hints, &res)) == 0) {
		/* IPv4 first, as sock_parse_addr does. */
		pick = res;
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			if (ai->ai_family == AF_INET) {
				pick = ai;
				break;
			}
		}
		memcpy(&l->addr.ss, pick->ai_addr, pick->ai_addrlen);
		l->addr.len = pick->ai_addrlen;
		sock_addr_set_port(&l->addr, l->port);
		freeaddrinfo(res);
	}
	if (write(l->rs->pipe[1], &l, sizeof l) != sizeof l)
		log_warn("resolver: cannot hand back %s", l->name);
	return NULL;
}

static void
record_resolve_done(struct loop_io *io, uint32_t events)
{
	struct record_resolver	*rs = io->arg;
	struct record_lookup	*l;

	while (read(rs->pipe[0], &l, sizeof l) == sizeof l) {
		rs->pending--;
		if (l->cb != NULL)
			l->cb(l->arg, l->name, l->err, l->err == 0 ?
			    &l->addr : NULL);
		free(l->name);
		free(l);
	}
}

struct record_resolver *
record_resolver_create(struct loop *loop, char **cause)
{
	struct record_resolver	*rs;

	rs = xcalloc(1, sizeof *rs);
	rs->loop = loop;
	if (pipe2(rs->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		*cause = xasprintf("pipe: %s", strerror(errno));
		free(rs);
		return NULL;
	}
	if (loop_io_add(loop, &rs->io, rs->pipe[0], EPOLLIN,
	    record_resolve_done, rs) == -1) {
		*cause = xasprintf("epoll: %s", strerror(errno));
		close(rs->pipe[0]);
		close(rs->pipe[1]);
		free(rs);
		return NULL;
	}
	return rs;
}

void
record_resolver_free(struct record_resolver *rs)
{
	if (rs == NULL)
		return;
	loop_io_del(rs->loop, &rs->io);
	close(rs->pipe[0]);
	close(rs->pipe[1]);
	free(rs);
}

size_t
record_resolver_pending(const struct record_resolver *rs)
{
	return rs->pending;
}

struct record_lookup *
record_resolve(struct record_resolver *rs, const char *name, int port,
    record_resolve_cb cb, void *arg)
{
	struct record_lookup	*l;
	pthread_t		 th;
	pthread_attr_t		 attr;
	int			 rv;

	l = xcalloc(1, sizeof *l);
	l->rs = rs;
	l->cb = cb;
	l->arg = arg;
	l->name = xstrdup(name);
	l->port = port;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rv = pthread_create(&th, &attr, record_resolve_main, l);
	pthread_attr_destroy(&attr);
	if (rv != 0) {
		free(l->name);
		free(l);
		return NULL;
	}
	rs->pending++;
	return l;
}

void
record_resolve_cancel(struct record_lookup *l)
{
	if (l != NULL)
		l->cb = NULL;
}
