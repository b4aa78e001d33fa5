/*
 * redirect.h -- `decoy redirect install|remove`: the iptables (and
 * ip6tables) nat rules that send a network namespace's outbound TCP to a
 * transparent decoy (`decoy record --transparent`, `decoy respond
 * --transparent`).
 *
 * Everything lives in decoy's own chains of the nat table: DECOY_REDIRECT,
 * jumped to from OUTPUT (locally generated traffic), and with --prerouting
 * DECOY_REDIRECT_IN, jumped to from PREROUTING (traffic entering the
 * namespace, e.g. a pod's inbound calls).  Install flushes and refills the
 * chains and adds each jump only when `iptables -C` says it is missing, so
 * running it twice leaves one set of rules; remove deletes the jumps and
 * the chains and leaves nothing else behind.  The rules, in order:
 *
 *	-m mark --mark M -j RETURN          decoy's own upstream connections
 *	-m owner --uid-owner U -j RETURN    (or by uid, --uid; OUTPUT only)
 *	-d 127.0.0.0/8 -j RETURN            loopback (::1/128), unless
 *	                                    --include-loopback
 *	-d CIDR -j RETURN                   each --exclude-cidr of the family
 *	-p tcp --dport P -j RETURN          each --exclude-ports port (--all)
 *	-p tcp --dport P -j REDIRECT --to-ports L     each --ports port
 *	-p tcp -j REDIRECT --to-ports L               or, with --all, the rest
 *
 * The binaries are run with fork/execvp (no shell), with -w so a busy
 * xtables lock waits instead of failing.
 */
#ifndef DECOY_REDIRECT_H
#define DECOY_REDIRECT_H

#include <stddef.h>

#include "buf.h"

#define REDIRECT_CHAIN		"DECOY_REDIRECT"
#define REDIRECT_CHAIN_IN	"DECOY_REDIRECT_IN"

struct redirect_config {
	int		 all;		/* --all: every port but the excluded */
	char		**ports;	/* "80" or "8000:8100" */
	size_t		 nports;
	char		**exclude_ports;
	size_t		 nexclude_ports;
	char		**exclude_cidr;	/* "10.0.0.0/8", "fd00::/8" */
	size_t		 nexclude_cidr;
	int		 to_port;	/* where decoy listens */
	long		 uid;		/* exclude this uid, -1: none */
	unsigned int	 mark;		/* exclude this mark... */
	int		 has_mark;	/* ...when set (else the default, unless
					   a uid is given) */
	int		 ipv6;		/* ip6tables too */
	int		 prerouting;	/* PREROUTING too */
	int		 include_loopback;
	int		 dry_run;	/* print the commands, run nothing */
	struct buf	*commands;	/* not NULL: each command run (or, dry,
					   that would run) appended as a JSON
					   array of its words, comma-separated,
					   and none printed */
};

struct buf;

void	redirect_config_init(struct redirect_config *);
void	redirect_config_free(struct redirect_config *);
/*
 * Parses a comma-separated list of ports or ranges ("80,443,8000-8100";
 * "a:b" also accepted) and appends them, normalised ("8000:8100"), to
 * (*v, *n).  0, or -1 with *cause naming the bad item (and nothing
 * appended).
 */
int	redirect_parse_ports(const char *list, char ***v, size_t *n,
	    char **cause);
/* Parses a comma-separated list of CIDRs (IPv4 or IPv6; a bare address is
 * a /32 or /128) and appends them.  0, or -1 with *cause (nothing
 * appended). */
int	redirect_parse_cidrs(const char *list, char ***v, size_t *n,
	    char **cause);

/*
 * Appends to out, one per line, the rule specifications (what follows
 * "-A CHAIN") of chain for one family (v6: 0 or 1), as install adds them.
 * in: the PREROUTING chain (no owner match there).
 */
void	redirect_rules_text(const struct redirect_config *, int v6, int in,
	    struct buf *out);

/*
 * Installs (or refreshes) the rules; with dry_run prints the commands to
 * stdout instead, as they run in a namespace without decoy's chains.  0,
 * or -1 with *cause (a command that could not run or failed).
 */
int	redirect_install(const struct redirect_config *, char **cause);
/*
 * Removes decoy's jumps and chains from the nat table of iptables, and of
 * ip6tables when it has them; nothing installed is not an error.  With
 * dry_run prints what a removal of installed rules runs.  0, or -1 with
 * *cause.
 */
int	redirect_remove(const struct redirect_config *, char **cause);

#endif
