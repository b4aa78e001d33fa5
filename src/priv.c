/*
 * priv.c -- capability checks and dropping, with the raw capget/capset
 * system calls (libcap is not a dependency for three calls).
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

#include <linux/capability.h>

#include <errno.h>
#include <stdio.h>
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
	struct __user_cap_header_struct	hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
	};
	struct __user_cap_data_struct	data[2];
	int				cap, i;

	if (priv_get(data) == -1) {
		*cause = xasprintf("capget: %s", strerror(errno));
		return -1;
	}
	/* The bounding set first: dropping from it needs CAP_SETPCAP,
	 * which the capset below removes. */
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
	for (i = 0; i < 2; i++) {
		uint32_t	mask = (uint32_t)(keep >> (32 * i));

		data[i].effective &= mask;
		data[i].permitted &= mask;
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data) == -1) {
		*cause = xasprintf("capset: %s", strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		*cause = xasprintf("no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}
