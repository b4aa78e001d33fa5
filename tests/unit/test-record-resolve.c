/*
 * test-record-resolve.c -- unit tests for the recorder's resolver
 * (record-resolve.c): an answer comes back on the loop's thread with the
 * port set and IPv4 preferred, a name that cannot resolve comes back as
 * an EAI_* error, and a cancelled lookup calls nothing back but is still
 * drained.  Only names that need no network: "localhost", a numeric
 * address, and the empty name.
 */
#include "config.h"

#include <sys/socket.h>

#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "record-resolve.h"
#include "sock.h"

#include "unit.h"

struct answer {
	int		 called;
	int		 err;
	int		 port;
	int		 family;
	char		 name[64];
	pthread_t	 thread;
};

static struct record_resolver	*rs;
static struct loop		*loop;

static void
answer_cb(void *arg, const char *name, int err, const struct sock_addr *addr)
{
	struct answer	*a = arg;

	a->called++;
	a->err = err;
	a->thread = pthread_self();
	snprintf(a->name, sizeof a->name, "%s", name);
	if (addr != NULL) {
		a->port = sock_addr_port(addr);
		a->family = addr->ss.ss_family;
	}
}

/* Polls until every lookup is answered (a generous 30 s bound). */
static void
drain_cb(struct loop_timer *t)
{
	if (record_resolver_pending(rs) == 0 ||
	    loop_now_update(loop) > *(uint64_t *)t->arg)
		loop_stop(loop);
	else
		loop_timer_add(loop, t, 1000000);
}

static void
drain(void)
{
	struct loop_timer	t;
	uint64_t		until;

	until = loop_now_update(loop) + 30ULL * 1000000000ULL;
	loop_timer_init(&t, drain_cb, &until);
	loop_timer_add(loop, &t, 0);
	loop_run(loop);
	loop_timer_del(loop, &t);
}

int
main(void)
{
	struct answer	a, b, c, d;
	char		*cause = NULL;

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	memset(&c, 0, sizeof c);
	memset(&d, 0, sizeof d);
	if ((loop = loop_create(&cause)) == NULL ||
	    (rs = record_resolver_create(loop, &cause)) == NULL) {
		UNIT_FAIL("setup: %s", cause);
		return 1;
	}
	ASSERT(record_resolve(rs, "localhost", 8080, answer_cb, &a) != NULL);
	ASSERT(record_resolve(rs, "127.0.0.1", 9, answer_cb, &b) != NULL);
	ASSERT(record_resolve(rs, "", 80, answer_cb, &c) != NULL);
	record_resolve_cancel(record_resolve(rs, "localhost", 1, answer_cb,
	    &d));
	record_resolve_cancel(NULL);
	ASSERT_EQ(record_resolver_pending(rs), 4);
	drain();
	ASSERT_EQ(record_resolver_pending(rs), 0);

	ASSERT_EQ(a.called, 1);
	ASSERT_EQ(a.err, 0);
	ASSERT_EQ(a.port, 8080);
	ASSERT_EQ(a.family, AF_INET);		/* IPv4 first */
	ASSERT_STR_EQ(a.name, "localhost");
	ASSERT(pthread_equal(a.thread, pthread_self()));

	ASSERT_EQ(b.called, 1);
	ASSERT_EQ(b.err, 0);
	ASSERT_EQ(b.port, 9);

	ASSERT_EQ(c.called, 1);
	ASSERT(c.err != 0);
	ASSERT(gai_strerror(c.err) != NULL);

	ASSERT_EQ(d.called, 0);			/* cancelled */

	record_resolver_free(rs);
	loop_free(loop);
	UNIT_DONE();
}
