/*
 * pktchaos.h -- packet-level chaos for traffic decoy does not proxy
 * (`decoy chaos --nfqueue N --rules FILE`): the user's iptables rules
 * queue both directions of a service's flows; each flow is reassembled
 * (tcpflow.h) and its HTTP parsed (httpflow.h), and when a request
 * matches a chaos rule (rule.h, decided by plan.h as for the responder:
 * a pure function of seed, rule, request signature and occurrence), the
 * response packets of THAT transaction are
 *   delayed   by the rule's sampled latency: their verdicts are held and
 *             released in order within the flow by a timer;
 *   dropped   with the rule's `drop` probability, per packet (NF_DROP;
 *             TCP retransmits, and each retransmission draws again);
 *   reset     (`connection: reset`): the first response packet is dropped
 *             and a TCP RST with the tracked sequence numbers is sent to
 *             the client and to the server over a raw socket (IPv4 and
 *             IPv6).
 * Rules whose match names nothing but dir and host are connection rules:
 * evaluated once when a flow starts (host is the server's "IP:PORT"),
 * they apply to every server-to-client packet of the flow, HTTP or not.
 * Other faults (status, body, malform, other connection faults) need a
 * proxy and are ignored here (a warning at start-up).  Every injected
 * fault is a chaos log line in the responder's format (chaos.h).
 */
#ifndef DECOY_PKTCHAOS_H
#define DECOY_PKTCHAOS_H

#include <stddef.h>
#include <stdint.h>

#include "snap.h"

struct pktchaos_config {
	unsigned int	 queue;
	char		**rules;	/* rule files */
	size_t		 nrules;
	uint64_t	 seed;
	int		 has_seed;	/* --seed given */
	char		*chaos_log;	/* NULL: none */
	uint16_t	*ports;		/* server ports; none: SYN decides */
	size_t		 nports;
	enum snap_dir	 dir;		/* dir the rules see (out) */
	char		*ready_path;
	char		*stats_path;
	uint64_t	 idle_ns;
};

void	pktchaos_config_init(struct pktchaos_config *);
void	pktchaos_config_free(struct pktchaos_config *);

struct pktchaos;

/* Loads the rules, binds the queue, opens the raw socket, drops every
 * capability but CAP_NET_ADMIN and CAP_NET_RAW.  NULL with *cause. */
struct pktchaos	*pktchaos_create(const struct pktchaos_config *, char **cause);
/* Runs until SIGINT or SIGTERM (held packets are released then); prints
 * the counters.  0, or -1 on a queue failure. */
int		 pktchaos_run(struct pktchaos *);
void		 pktchaos_free(struct pktchaos *);

#endif
