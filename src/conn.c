/*
 * conn.c -- the transport layer's common part, the tcp transport (a
 * non-blocking socket) and the mem transport (an in-memory pair for
 * tests).  TLS is in conn-tls.c.
 *
 * Wanted events are decided here once for every transport: a conn
 * records in conn->want what its last blocked operation waits for, and
 * conn_events / conn_ready translate between a role's intent and the
 * poller's events.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "xmalloc.h"

/* --- common --------------------------------------------------------- */

int
conn_ready(const struct conn *c, int events)
{
	int	ops = events & (CONN_READ | CONN_WRITE);

	if (!(c->flags & CONN_F_ESTABLISHED))
		return ops;
	if ((c->want & CONN_WANT_WR_IN) && (events & CONN_READ))
		ops |= CONN_WRITE;
	if ((c->want & CONN_WANT_RD_OUT) && (events & CONN_WRITE))
		ops |= CONN_READ;
	return ops;
}

int
conn_events_default(const struct conn *c, int want)
{
	int	ev = 0;

	if (!(c->flags & CONN_F_ESTABLISHED)) {
		if (c->want & CONN_WANT_HS_READ)
			ev |= CONN_READ;
		if (c->want & CONN_WANT_HS_WRITE)
			ev |= CONN_WRITE;
		return ev;
	}
	ev = want & (CONN_READ | CONN_WRITE);
	if ((want & CONN_READ) && (c->want & CONN_WANT_RD_OUT))
		ev |= CONN_WRITE;
	if ((want & CONN_WRITE) && (c->want & CONN_WANT_WR_IN))
		ev |= CONN_READ;
	return ev;
}

static int
conn_no_handshake(struct conn *c)
{
	(void)c;
	return 1;
}

static size_t
conn_no_pending(const struct conn *c)
{
	(void)c;
	return 0;
}

void
conn_close(struct conn *c)
{
	if (c != NULL)
		c->ops->close(c);
}

void
conn_abort(struct conn *c)
{
	struct conn	*l;

	if (c == NULL)
		return;
	for (l = c; l != NULL; l = l->lower)
		l->flags |= CONN_F_FAILED | CONN_F_RESET;
	c->ops->close(c);
}

ssize_t
conn_discard(struct conn *c, size_t max)
{
	char	sink[4096];

	while (c->lower != NULL)
		c = c->lower;
	return conn_read(c, sink, max < sizeof sink ? max : sizeof sink);
}

const char *
conn_error(const struct conn *c)
{
	return c->err;
}

const char *
conn_name(const struct conn *c)
{
	return c->ops->name;
}

int
conn_is_established(const struct conn *c)
{
	return (c->flags & CONN_F_ESTABLISHED) != 0;
}

/* Notes a failure's reason (errno's text; the role's log line says
 * what failed) and leaves errno as it was. */
static void
conn_set_errno(struct conn *c)
{
	int	saved = errno;

	snprintf(c->err, sizeof c->err, "%s", strerror(saved));
	errno = saved;
}

/* --- tcp ------------------------------------------------------------ */

/* Waits for a non-blocking connect(2) to finish and reports its error. */
static int
conn_tcp_handshake(struct conn *c)
{
	struct pollfd	pfd = { .fd = c->fd, .events = POLLOUT };
	int		err = 0;
	socklen_t	len = sizeof err;

	if (c->flags & CONN_F_FAILED)
		return -1;
	if (poll(&pfd, 1, 0) == -1) {
		if (errno == EINTR) {
			c->want = CONN_WANT_HS_WRITE;
			return 0;
		}
		conn_set_errno(c);
		c->flags |= CONN_F_FAILED;
		return -1;
	}
	if (pfd.revents == 0) {
		c->want = CONN_WANT_HS_WRITE;
		return 0;
	}
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		errno = err;
		conn_set_errno(c);
		c->flags |= CONN_F_FAILED;
		return -1;
	}
	c->want = 0;
	c->flags = (c->flags & ~CONN_F_CONNECTING) | CONN_F_ESTABLISHED;
	return 1;
}

static ssize_t
conn_tcp_read(struct conn *c, void *p, size_t len)
{
	ssize_t	n;

	if ((n = read(c->fd, p, len)) == -1 && errno != EAGAIN &&
	    errno != EINTR)
		conn_set_errno(c);
	return n;
}

static ssize_t
conn_tcp_writev(struct conn *c, const struct iovec *iov, int iovcnt)
{
	struct msghdr	msg;
	ssize_t		n;

	/* writev(2) that raises no SIGPIPE. */
	memset(&msg, 0, sizeof msg);
	msg.msg_iov = (struct iovec *)iov;
	msg.msg_iovlen = (size_t)iovcnt;
	if ((n = sendmsg(c->fd, &msg, MSG_NOSIGNAL)) == -1 &&
	    errno != EAGAIN && errno != EINTR)
		conn_set_errno(c);
	return n;
}

static int
conn_tcp_shutdown(struct conn *c)
{
	c->flags |= CONN_F_SHUT;
	if (shutdown(c->fd, SHUT_WR) == -1) {
		conn_set_errno(c);
		return -1;
	}
	return 0;
}

static void
conn_tcp_close(struct conn *c)
{
	struct linger	lg = { 1, 0 };

	/* Linger 0: close(2) sends RST. */
	if (c->flags & CONN_F_RESET)
		(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(c->fd);
	free(c);
}

/* In struct conn_ops order: name, handshake, read, writev, shutdown,
 * events, pending, close. */
static const struct conn_ops conn_tcp_ops = { "tcp", conn_tcp_handshake,
	conn_tcp_read, conn_tcp_writev, conn_tcp_shutdown, conn_events_default,
	conn_no_pending, conn_tcp_close };

struct conn *
conn_tcp_create(int fd, int flags)
{
	struct conn	*c;

	c = xcalloc(1, sizeof *c);
	c->ops = &conn_tcp_ops;
	c->fd = fd;
	c->flags = flags & (CONN_F_SERVER | CONN_F_CONNECTING);
	if (c->flags & CONN_F_CONNECTING)
		c->want = CONN_WANT_HS_WRITE;
	else
		c->flags |= CONN_F_ESTABLISHED;
	return c;
}

int
conn_is_tcp(const struct conn *c)
{
	return c->ops == &conn_tcp_ops;
}

/* --- mem ------------------------------------------------------------ */

/* The state two mem endpoints share: box[i] is side i's inbox. */
struct conn_mem_pipe {
	struct buf	 box[2];
	size_t		 limit[2];	/* bound of box[i], 0: none */
	int		 shut[2];	/* side i will write no more */
	int		 closed[2];
	int		 reset[2];	/* side i closed with conn_abort */
};

struct conn_mem {
	struct conn		 c;	/* first: a conn_mem is a conn */
	struct conn_mem_pipe	*pipe;
	int			 side;
	int			 block;	/* CONN_READ | CONN_WRITE */
};

static ssize_t
conn_mem_read(struct conn *c, void *p, size_t len)
{
	struct conn_mem		*m = (struct conn_mem *)c;
	struct conn_mem_pipe	*pp = m->pipe;
	struct buf		*in = &pp->box[m->side];

	if (m->block & CONN_READ) {
		errno = EAGAIN;
		return -1;
	}
	if (in->len == 0) {
		if (pp->reset[!m->side]) {
			errno = ECONNRESET;
			conn_set_errno(c);
			return -1;
		}
		if (pp->shut[!m->side] || pp->closed[!m->side])
			return 0;
		errno = EAGAIN;
		return -1;
	}
	if (len > in->len)
		len = in->len;
	memcpy(p, in->data, len);
	buf_consume(in, len);
	return (ssize_t)len;
}

static ssize_t
conn_mem_writev(struct conn *c, const struct iovec *iov, int iovcnt)
{
	struct conn_mem		*m = (struct conn_mem *)c;
	struct conn_mem_pipe	*pp = m->pipe;
	struct buf		*out = &pp->box[!m->side];
	size_t			 room = (size_t)-1, n = 0, k;
	int			 i;

	if (m->block & CONN_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	if (pp->closed[!m->side] || pp->shut[m->side]) {
		errno = EPIPE;
		conn_set_errno(c);
		return -1;
	}
	if (pp->limit[!m->side] != 0)
		room = pp->limit[!m->side] > out->len ?
		    pp->limit[!m->side] - out->len : 0;
	for (i = 0; i < iovcnt && room > 0; i++) {
		k = iov[i].iov_len < room ? iov[i].iov_len : room;
		buf_append(out, iov[i].iov_base, k);
		n += k;
		room -= k;
	}
	if (n == 0 && room == 0) {
		errno = EAGAIN;
		return -1;
	}
	return (ssize_t)n;
}

static int
conn_mem_shutdown(struct conn *c)
{
	struct conn_mem	*m = (struct conn_mem *)c;

	c->flags |= CONN_F_SHUT;
	m->pipe->shut[m->side] = 1;
	return 0;
}

static void
conn_mem_close(struct conn *c)
{
	struct conn_mem		*m = (struct conn_mem *)c;
	struct conn_mem_pipe	*pp = m->pipe;

	pp->closed[m->side] = 1;
	pp->reset[m->side] = (c->flags & CONN_F_RESET) != 0;
	if (pp->closed[!m->side]) {
		buf_free(&pp->box[0]);
		buf_free(&pp->box[1]);
		free(pp);
	}
	free(m);
}

/* Established from the start: no handshake. */
static const struct conn_ops conn_mem_ops = { "mem", conn_no_handshake,
	conn_mem_read, conn_mem_writev, conn_mem_shutdown, conn_events_default,
	conn_no_pending, conn_mem_close };

void
conn_mem_pair(struct conn **a, struct conn **b)
{
	struct conn_mem_pipe	*pp = xcalloc(1, sizeof *pp);
	struct conn_mem		*m[2];
	int			 i;

	buf_init(&pp->box[0]);
	buf_init(&pp->box[1]);
	for (i = 0; i < 2; i++) {
		m[i] = xcalloc(1, sizeof *m[i]);
		m[i]->c.ops = &conn_mem_ops;
		m[i]->c.fd = -1;
		m[i]->c.flags = CONN_F_ESTABLISHED | (i == 1 ? CONN_F_SERVER :
		    0);
		m[i]->pipe = pp;
		m[i]->side = i;
	}
	*a = &m[0]->c;
	*b = &m[1]->c;
}

void
conn_mem_block(struct conn *c, int ops)
{
	if (c->ops == &conn_mem_ops)
		((struct conn_mem *)c)->block = ops & (CONN_READ | CONN_WRITE);
}

void
conn_mem_set_limit(struct conn *c, size_t max)
{
	struct conn_mem	*m = (struct conn_mem *)c;

	if (c->ops == &conn_mem_ops)
		m->pipe->limit[!m->side] = max;
}

size_t
conn_mem_inbox(const struct conn *c)
{
	const struct conn_mem	*m = (const struct conn_mem *)c;

	if (c->ops != &conn_mem_ops)
		return 0;
	return m->pipe->box[m->side].len;
}
