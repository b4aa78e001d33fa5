/*
 * tcpflow.h -- TCP stream reassembly for the packet paths (tap, packet
 * chaos): IPv4/IPv6 + TCP header parsing, a flow table keyed by the
 * connection's addresses and ports, and per-direction reassembly.
 *
 * Each flow has a client side (the sender of the SYN; without a SYN, the
 * side whose port is not a server port, else the higher port) and two
 * directions: TCPFLOW_C2S and TCPFLOW_S2C.  Bytes are delivered in
 * sequence order exactly once: retransmissions and overlaps are trimmed,
 * segments ahead of the next expected byte wait in a sorted list up to a
 * per-direction limit.  When the limit is exceeded, or the flow ends
 * (RST, idle timeout, FIN with bytes missing before it), the missing
 * range is reported as a gap and delivery resumes after it.
 *
 * The table owns its flows; a flow is freed right after its close
 * callback.  Not thread-safe: one table per event loop.
 */
#ifndef DECOY_TCPFLOW_H
#define DECOY_TCPFLOW_H

#include <stddef.h>
#include <stdint.h>

#define TCPFLOW_C2S	0
#define TCPFLOW_S2C	1

#define TCPF_FIN	0x01
#define TCPF_SYN	0x02
#define TCPF_RST	0x04
#define TCPF_PSH	0x08
#define TCPF_ACK	0x10

/* A parsed TCP segment; data points into the packet. */
struct tcpflow_seg {
	int			 af;		/* AF_INET or AF_INET6 */
	uint8_t			 saddr[16];	/* IPv4: first 4 bytes */
	uint8_t			 daddr[16];
	uint16_t		 sport, dport;	/* host order */
	uint32_t		 seq, ack;
	uint8_t			 flags;		/* TCPF_* */
	const unsigned char	*data;
	size_t			 len;		/* payload bytes present */
	size_t			 missing;	/* payload cut by the copy range */
};

/*
 * Parses an IP packet (IPv4 or IPv6 without extension headers) carrying
 * TCP.  The payload length comes from the IP header (a GSO super-packet's
 * total length of 0 means "the whole packet").  0, or -1 when the packet
 * is not TCP or is malformed.
 */
int	tcpflow_parse(const unsigned char *pkt, size_t len,
	    struct tcpflow_seg *seg);

enum tcpflow_end {
	TCPFLOW_END_FIN,	/* both directions finished */
	TCPFLOW_END_RST,
	TCPFLOW_END_IDLE,
	TCPFLOW_END_SHUTDOWN,	/* tcpflow_table_free() */
};

struct tcpflow_half {
	int		 have_seq;
	uint32_t	 next;		/* next byte expected */
	int		 fin;		/* a FIN was seen at fin_seq */
	uint32_t	 fin_seq;
	int		 eof;		/* every byte up to the FIN delivered */
	struct tcpflow_ooo *ooo;	/* sorted by seq */
	size_t		 ooo_bytes;
	uint64_t	 bytes;		/* delivered */
	uint32_t	 last_ack;	/* the ack field of its last segment */
	int		 have_ack;
};

struct tcpflow {
	int		 af;
	uint8_t		 caddr[16], saddr[16];	/* client, server */
	uint16_t	 cport, sport;
	struct tcpflow_half half[2];
	uint64_t	 first_ns, last_ns;
	uint64_t	 id;		/* 1, 2, ... in order of creation */
	void		*user;		/* the caller's per-flow state */

	struct tcpflow	*hnext;		/* hash chain */
	struct tcpflow	*lprev, *lnext;	/* least recently used first */
};

struct tcpflow_ops {
	/* A flow was created (before its first segment is delivered). */
	void	(*open)(struct tcpflow *, void *arg);
	/* In-order bytes of one direction. */
	void	(*data)(struct tcpflow *, int dir, const unsigned char *p,
		    size_t len, uint64_t now_ns, void *arg);
	/* nbytes bytes of one direction will never be delivered. */
	void	(*gap)(struct tcpflow *, int dir, uint64_t nbytes, void *arg);
	/* One direction delivered everything up to its FIN. */
	void	(*eof)(struct tcpflow *, int dir, uint64_t now_ns, void *arg);
	/* The flow ends; it is freed when this returns. */
	void	(*close)(struct tcpflow *, enum tcpflow_end, void *arg);
};

struct tcpflow_stats {
	uint64_t	flows;
	uint64_t	segments;
	uint64_t	retransmits;	/* segments with nothing new */
	uint64_t	out_of_order;	/* segments that had to wait */
	uint64_t	gaps;		/* gap reports */
	uint64_t	gap_bytes;
};

struct tcpflow_table;

/*
 * ooo_limit bounds the bytes waiting out of order per direction (0: 4
 * MiB).  is_server(port, arg) tells a server port when no SYN decides
 * (NULL: the lower port is the server's).
 */
struct tcpflow_table *tcpflow_table_create(const struct tcpflow_ops *,
		    void *arg, size_t ooo_limit,
		    int (*is_server)(uint16_t port, void *arg));
/* Closes every flow (TCPFLOW_END_SHUTDOWN) and frees the table. */
void		 tcpflow_table_free(struct tcpflow_table *);

/*
 * Feeds one segment; returns its flow and sets *dir, or NULL when the
 * segment starts nothing (a stray RST or ACK-only segment of an unknown
 * flow).  The flow pointer is valid until the next call into the table
 * (a RST or the final FIN frees it on return: *closed is then 1).
 */
struct tcpflow	*tcpflow_input(struct tcpflow_table *,
		    const struct tcpflow_seg *, uint64_t now_ns, int *dir,
		    int *closed);
/* Looks a flow up without feeding it; NULL if unknown. */
struct tcpflow	*tcpflow_lookup(struct tcpflow_table *,
		    const struct tcpflow_seg *, int *dir);
/* Closes flows idle for idle_ns or more (TCPFLOW_END_IDLE). */
void		 tcpflow_expire(struct tcpflow_table *, uint64_t now_ns,
		    uint64_t idle_ns);
/* Closes one flow now (reason RST), e.g. after injecting a reset. */
void		 tcpflow_close(struct tcpflow_table *, struct tcpflow *,
		    enum tcpflow_end);
size_t		 tcpflow_count(const struct tcpflow_table *);
const struct tcpflow_stats *tcpflow_stats(const struct tcpflow_table *);

/* 1 if port is one of ports[0..n-1] (a role's server ports, for its
 * is_server callback), else 0. */
int		 tcpflow_port_in(uint16_t port, const uint16_t *ports, size_t n);
/* "10.0.0.1:8080" or "[::1]:8080" into buf (at least 64 bytes). */
void		 tcpflow_addr_str(int af, const uint8_t *addr, uint16_t port,
		    char *buf, size_t size);

#endif
