/*
 * test-priv.c -- priv.c: looking users up, and (as root, in forked
 * children) what priv_drop leaves: the uid, the groups, the kept
 * capability and no other, the bounding set, no_new_privs, and that root
 * cannot be had back.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <linux/capability.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "priv.h"
#include "unit.h"

/* In a child: counts what fails, and says which. */
static int	child_fails;

#define CHILD_CHECK(cond) do {						\
	if (!(cond)) {							\
		child_fails++;						\
		fprintf(stderr, "%s:%d: in the child: %s\n", __FILE__,	\
		    __LINE__, #cond);					\
	}								\
} while (0)

/* Runs fn in a child; its exit status is the number of failures. */
static int
in_child(void (*fn)(void))
{
	pid_t	pid;
	int	st;

	fflush(stderr);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		fn();
		_exit(child_fails > 100 ? 100 : child_fails);
	}
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* 1 if binding 127.0.0.1:port works. */
static int
can_bind(int port)
{
	struct sockaddr_in	sin;
	int			fd, rv;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rv = bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
	close(fd);
	return rv;
}

/* net.ipv4.ip_unprivileged_port_start, 1024 if unknown. */
static long
unprivileged_port_start(void)
{
	FILE	*f;
	long	 v = 1024;

	if ((f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start",
	    "r")) != NULL) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 1024;
		fclose(f);
	}
	return v;
}

static void
drop_keep_nothing(void)
{
	char	*cause = NULL;

	if (priv_drop(NULL, 0, &cause) == -1) {
		fprintf(stderr, "priv_drop: %s\n", cause);
		child_fails++;
		return;
	}
	CHILD_CHECK(getuid() == 0 && geteuid() == 0);
	CHILD_CHECK(!priv_has(CAP_NET_BIND_SERVICE));
	CHILD_CHECK(!priv_has(CAP_DAC_OVERRIDE));
	CHILD_CHECK(!priv_has(CAP_SETUID));
	CHILD_CHECK(prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 0);
	CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
	/* Port 1: privileged (unless the sysctl says otherwise), and
	 * nobody listens there. */
	if (unprivileged_port_start() > 1)
		CHILD_CHECK(!can_bind(1) && errno == EACCES);
}

static struct priv_user	nobody;

static void
drop_to_nobody_keep_net_admin(void)
{
	gid_t	groups[8];
	char	*cause = NULL;
	int	n;

	if (priv_drop(&nobody, PRIV_CAP(CAP_NET_ADMIN), &cause) == -1) {
		fprintf(stderr, "priv_drop: %s\n", cause);
		child_fails++;
		return;
	}
	CHILD_CHECK(getuid() == nobody.uid && geteuid() == nobody.uid);
	CHILD_CHECK(getgid() == nobody.gid && getegid() == nobody.gid);
	n = getgroups(8, groups);
	CHILD_CHECK(n == 1 && groups[0] == nobody.gid);
	CHILD_CHECK(priv_has(CAP_NET_ADMIN));
	CHILD_CHECK(!priv_has(CAP_SETUID) && !priv_has(CAP_NET_RAW));
	CHILD_CHECK(prctl(PR_CAPBSET_READ, CAP_NET_ADMIN, 0, 0, 0) == 1);
	CHILD_CHECK(prctl(PR_CAPBSET_READ, CAP_SETUID, 0, 0, 0) == 0);
	CHILD_CHECK(prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 0);
	CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
	CHILD_CHECK(setuid(0) == -1);
	CHILD_CHECK(setgid(0) == -1);
}

int
main(void)
{
	struct priv_user	 u;
	char			*cause = NULL;

	/* Lookups. */
	ASSERT_EQ(priv_user_lookup(&u, "root", &cause), 0);
	ASSERT_STR_EQ(u.name, "root");
	ASSERT_EQ(u.uid, 0);
	ASSERT_EQ(u.gid, 0);
	priv_user_free(&u);
	ASSERT(u.name == NULL);
	ASSERT_EQ(priv_user_lookup(&u, "0", &cause), 0);
	ASSERT_STR_EQ(u.name, "root");
	priv_user_free(&u);
	ASSERT_EQ(priv_user_lookup(&u, "no-such-user-here", &cause), -1);
	ASSERT_STR_EQ(cause, "no such user \"no-such-user-here\"");
	ASSERT(u.name == NULL);
	free(cause);
	cause = NULL;
	ASSERT_EQ(priv_user_lookup(&u, "4294967290", &cause), -1);
	free(cause);
	cause = NULL;
	/* No user: nothing to check. */
	memset(&u, 0, sizeof u);
	ASSERT_EQ(priv_user_check(&u, &cause), 0);

	if (geteuid() != 0 || !priv_has(CAP_SETUID) ||
	    priv_user_lookup(&nobody, "nobody", &cause) == -1) {
		free(cause);
		fprintf(stderr, "# not root (or no user nobody): the drop "
		    "itself is not checked\n");
		UNIT_DONE();
	}
	ASSERT_EQ(priv_user_check(&nobody, &cause), 0);
	ASSERT_EQ(in_child(drop_keep_nothing), 0);
	ASSERT_EQ(in_child(drop_to_nobody_keep_net_admin), 0);
	/* The parent kept everything: the children dropped their own. */
	ASSERT(priv_has(CAP_SETUID));
	priv_user_free(&nobody);
	UNIT_DONE();
}
