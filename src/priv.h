/*
 * priv.h -- least privilege: after set-up (listeners bound, queues open,
 * the snapshot, CA and keys loaded, port files written) every role keeps
 * only the capabilities it still uses -- none for the responder and the
 * reverse and forward recorders, CAP_NET_ADMIN for NFQUEUE verdicts and
 * SO_MARK, CAP_NET_RAW for injected resets -- and drops every other one
 * from the effective, permitted, inheritable, ambient and bounding sets,
 * sets no_new_privs and, when asked (--user), becomes an unprivileged
 * user (supplementary groups, gid, uid, in that order).
 *
 * Capabilities belong to threads: the drop must run in the main thread
 * before any other thread starts, which the roles' start-up order
 * guarantees (threads inherit the set of the thread that creates them).
 */
#ifndef DECOY_PRIV_H
#define DECOY_PRIV_H

#include <sys/types.h>

#include <stdint.h>

/* The user --user names, looked up before any set-up. */
struct priv_user {
	char	*name;		/* NULL: stay the user we are */
	uid_t	 uid;
	gid_t	 gid;		/* the user's primary group */
};

/* The bit for capability cap (CAP_* from <linux/capability.h>). */
#define PRIV_CAP(cap)	(UINT64_C(1) << (cap))

/* 1 if cap is in the effective set of this thread, else 0. */
int	priv_has(int cap);

/*
 * Requires every capability in need (a PRIV_CAP mask) to be effective;
 * on failure *cause names the first missing one ("CAP_NET_ADMIN is
 * required for --nfqueue: run as root or grant it with setcap") using
 * what (the feature asking).  0 or -1.
 */
int	priv_require(uint64_t need, const char *what, char **cause);

/*
 * Drops every capability not in keep, from all sets and the bounding
 * set, and sets no_new_privs.  The uid is not changed.  0, or -1 with
 * *cause.  Idempotent; keeping a capability this process does not have
 * is not an error (it simply stays absent).  priv_drop(NULL, keep).
 */
int	priv_keep(uint64_t keep, char **cause);

/*
 * Looks up name (a user name, or a numeric uid in the password
 * database) into u (u->name allocated; priv_user_free frees it).  0, or
 * -1 with *cause ("no such user \"x\"").  Call it while parsing options,
 * so that a bad name fails before anything is bound.
 */
int	priv_user_lookup(struct priv_user *u, const char *name, char **cause);
void	priv_user_free(struct priv_user *u);
/*
 * 0 when this process can become u (it has CAP_SETUID and CAP_SETGID,
 * or already is u), else -1 with *cause ("switching to user nobody needs
 * root ...").  Call it before binding, so that the failure comes first.
 */
int	priv_user_check(const struct priv_user *u, char **cause);

/*
 * The drop, in the calling thread (call it before starting any other):
 * with user (and user->name set), switches to user->uid and user->gid
 * with no supplementary group but that gid -- which needs CAP_SETUID and
 * CAP_SETGID, an error otherwise -- keeping across the switch only the
 * capabilities in keep (PR_SET_KEEPCAPS); then keeps only keep in every
 * set, clears the ambient set and sets no_new_privs.  user NULL keeps the
 * uid.  0, or -1 with *cause (the process may then be half-dropped: exit).
 */
int	priv_drop(const struct priv_user *user, uint64_t keep, char **cause);

/*
 * 1 when path can be opened for reading with the current credentials
 * (after priv_drop, what a reload can read), else 0 with errno set.
 */
int	priv_is_readable(const char *path);

/* "CAP_NET_ADMIN" for CAP_NET_ADMIN, "CAP_<n>" for others. */
const char *priv_cap_name(int cap);

#endif
