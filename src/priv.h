/*
 * priv.h -- capabilities: after set-up (queues bound, sockets open), the
 * kernel-path roles keep only the capabilities they still need
 * (CAP_NET_ADMIN for verdicts and SO_MARK, CAP_NET_RAW for injected
 * resets) and drop every other one, from the effective, permitted,
 * inheritable and bounding sets.
 */
#ifndef DECOY_PRIV_H
#define DECOY_PRIV_H

#include <stdint.h>

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
 * is not an error (it simply stays absent).
 */
int	priv_keep(uint64_t keep, char **cause);

/* "CAP_NET_ADMIN" for CAP_NET_ADMIN, "CAP_<n>" for others. */
const char *priv_cap_name(int cap);

#endif
