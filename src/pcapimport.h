/*
 * pcapimport.h -- `decoy import pcap`: turns a packet capture (pcap.h)
 * into a snapshot with the passive tap's own pipeline: TCP reassembly per
 * flow (tcpflow.h: retransmissions trimmed, out-of-order segments waited
 * for, missing bytes reported as gaps), HTTP/1.1 paired first in, first
 * out (httpflow.h) and the tap's snapshot lines (tap_lines_encode): a
 * transaction with missing bytes carries "gap":true, one whose response
 * is not in the capture "error":"no response captured", exactly as
 * `decoy record --nfqueue` writes them.  Timing comes from the capture's
 * timestamps (start_us: the request's first packet; ttfb_us: the
 * response's first; total_us: its last).
 *
 * With a funnel (funnel.h), each transaction is offered to it before its
 * line is written; a dropped one is counted there, and its id is not
 * reused: the lines kept are byte for byte those an import without the
 * funnel writes.
 */
#ifndef DECOY_PCAPIMPORT_H
#define DECOY_PCAPIMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "funnel.h"
#include "httpflow.h"
#include "snap.h"
#include "tcpflow.h"

struct pcapimport_config {
	enum snap_dir	 dir;
	const uint16_t	*ports;		/* server ports imported; none: all */
	size_t		 nports;
	size_t		 max_body;	/* 0: 64 MiB */
	uint64_t	 idle_ns;	/* a flow idle this long (capture
					   time) is closed (0: 60 s) */
	struct funnel	*funnel;	/* NULL: every transaction kept */
};

struct pcapimport_stats {
	const char		*format;	/* "pcap" or "pcapng" */
	uint64_t		 packets;
	uint64_t		 not_ip;	/* link layer without IP, or an
						   unsupported link type */
	uint64_t		 not_tcp;
	uint64_t		 ignored;	/* not to or from a --port */
	uint64_t		 transactions;	/* lines written (kept) */
	uint64_t		 gap_txns;	/* of which "gap":true */
	uint64_t		 unanswered;	/* of which no response */
	struct tcpflow_stats	 tcp;
	struct httpflow_stats	 http;
};

/*
 * Reads the capture at path ("-": stdin) and appends one snapshot line
 * per HTTP transaction to out.  0, or -1 with *cause: a capture error
 * names the file and byte offset; a write error names the snapshot (what
 * was written before stays, whole lines only).
 */
int	pcapimport_run(const char *path, const struct pcapimport_config *,
	    struct snap_out *out, struct pcapimport_stats *, char **cause);

#endif
