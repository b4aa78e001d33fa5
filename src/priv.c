/*
 * priv.c -- capability checks and dropping, with the raw capget/capset
 * system calls (libcap is not a dependency for three calls), and the
 * switch to an unprivileged user.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

#include <linux/capability.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "priv.h"
#include "xmalloc.h"

static const struct {
	int		 cap;
	const char	*name;
} priv_names[] = {
	{ CAP_NET_ADMIN, "CAP_NET_ADMIN" },
	{ CAP_NET_RAW, "CAP_NET_RAW" },
	{ CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE" },
	{ CAP_SETUID, "CAP_SETUID" },
	{ CAP_SETGID, "CAP_SETGID" },
	{ CAP_SETPCAP, "CAP_SETPCAP" },
	{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN" },
};

const char *
priv_cap_name(int cap)
{
	static __thread char	other[16];
	size_t			i;

	for (i = 0; i < sizeof priv_names / sizeof priv_names[0]; i++)
		if (priv_names[i].cap == cap)
			return priv_names[i].name;
	snprintf(other, sizeof other, "CAP_%d", cap);
	return other;
}

static int
priv_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct	hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
	};

	memset(data, 0, 2 * sizeof data[0]);
	return (int)syscall(SYS_capget, &hdr, data);
}

int
priv_has(int cap)
{
	struct __user_cap_data_struct	data[2];

	if (cap < 0 || cap > 63 || priv_get(data) == -1)
		return 0;
	return (data[cap / 32].effective >> (cap % 32)) & 1;
}

int
priv_require(uint64_t need, const char *what, char **cause)
{
	int	cap;

	for (cap = 0; cap < 64; cap++) {
		if ((need & PRIV_CAP(cap)) == 0 || priv_has(cap))
			continue;
		*cause = xasprintf("%s is required for %s: run as root or "
		    "grant it (setcap %s+ep)", priv_cap_name(cap), what,
		    priv_cap_name(cap));
		return -1;
	}
	return 0;
}

int
priv_keep(uint64_t keep, char **cause)
{
	return priv_drop(NULL, keep, cause);
}

/* 1 when this process already is u (no switch to make). */
static int
priv_is_user(const struct priv_user *u)
{
	uid_t	ruid, euid, suid;
	gid_t	rgid, egid, sgid;

	return getresuid(&ruid, &euid, &suid) == 0 && getresgid(&rgid, &egid,
	    &sgid) == 0 && ruid == u->uid && euid == u->uid &&
	    suid == u->uid && rgid == u->gid && egid == u->gid &&
	    sgid == u->gid;
}

int
priv_user_check(const struct priv_user *u, char **cause)
{
	if (u->name == NULL || priv_is_user(u) ||
	    (priv_has(CAP_SETUID) && priv_has(CAP_SETGID)))
		return 0;
	*cause = xasprintf("switching to user %s needs root (or "
	    "CAP_SETUID and CAP_SETGID)", u->name);
	return -1;
}

int
priv_user_lookup(struct priv_user *u, const char *name, char **cause)
{
	struct passwd	*pw;
	unsigned long	 ul;
	char		*end;

	memset(u, 0, sizeof *u);
	errno = 0;
	pw = getpwnam(name);
	if (pw == NULL && name[0] >= '0' && name[0] <= '9') {
		errno = 0;
		ul = strtoul(name, &end, 10);
		if (*end == '\0' && errno == 0 && ul <= 0xfffffffeUL)
			pw = getpwuid((uid_t)ul);
	}
	if (pw == NULL) {
		if (errno != 0 && errno != ENOENT && errno != ESRCH)
			*cause = xasprintf("user \"%s\": %s", name,
			    strerror(errno));
		else
			*cause = xasprintf("no such user \"%s\"", name);
		return -1;
	}
	u->name = xstrdup(pw->pw_name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return 0;
}

void
priv_user_free(struct priv_user *u)
{
	free(u->name);
	u->name = NULL;
}

/* Becomes u: groups, then gid, then uid (the uid last: after it the
 * others can no longer be changed). */
static int
priv_switch(const struct priv_user *u, uint64_t keep, char **cause)
{
	if (priv_is_user(u))
		return 0;
	if (priv_user_check(u, cause) == -1)
		return -1;
	/* Without it the uid change empties the permitted set. */
	if (keep != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1) {
		*cause = xasprintf("PR_SET_KEEPCAPS: %s", strerror(errno));
		return -1;
	}
	if (setgroups(1, &u->gid) == -1) {
		*cause = xasprintf("user %s: setgroups: %s", u->name,
		    strerror(errno));
		return -1;
	}
	if (setresgid(u->gid, u->gid, u->gid) == -1) {
		*cause = xasprintf("user %s: setresgid(%lu): %s", u->name,
		    (unsigned long)u->gid, strerror(errno));
		return -1;
	}
	if (setresuid(u->uid, u->uid, u->uid) == -1) {
		*cause = xasprintf("user %s: setresuid(%lu): %s", u->name,
		    (unsigned long)u->uid, strerror(errno));
		return -1;
	}
	if (keep != 0)
		(void)prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	/* Belt and braces: root must be out of reach now. */
	if (u->uid != 0 && (keep & PRIV_CAP(CAP_SETUID)) == 0 &&
	    setuid(0) != -1) {
		*cause = xasprintf("user %s: root could be regained after "
		    "the switch", u->name);
		return -1;
	}
	return 0;
}

int
priv_drop(const struct priv_user *user, uint64_t keep, char **cause)
{
	struct __user_cap_header_struct	hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
	};
	struct __user_cap_data_struct	data[2];
	int				cap, i;

	/* The bounding set first: dropping from it needs CAP_SETPCAP,
	 * which the switch and the capset below remove. */
	for (cap = 0; cap <= CAP_LAST_CAP; cap++) {
		if (keep & PRIV_CAP(cap))
			continue;
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1 &&
		    errno != EPERM) {
			*cause = xasprintf("dropping %s from the bounding set: "
			    "%s", priv_cap_name(cap), strerror(errno));
			return -1;
		}
	}
	if (user != NULL && user->name != NULL &&
	    priv_switch(user, keep, cause) == -1)
		return -1;
	if (priv_get(data) == -1) {
		*cause = xasprintf("capget: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < 2; i++) {
		uint32_t	mask = (uint32_t)(keep >> (32 * i));

		data[i].permitted &= mask;
		/* After a switch the effective set is empty: raise again
		 * what was kept. */
		data[i].effective = data[i].permitted;
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data) == -1) {
		*cause = xasprintf("capset: %s", strerror(errno));
		return -1;
	}
	/* Emptied with the inheritable set anyway; EINVAL before 4.3. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL) {
		*cause = xasprintf("clearing ambient capabilities: %s",
		    strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		*cause = xasprintf("no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
priv_is_readable(const char *path)
{
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1)
		return 0;
	close(fd);
	return 1;
}
