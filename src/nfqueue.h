/*
 * nfqueue.h -- one NFQUEUE binding (libmnl + libnetfilter_queue's nlmsg
 * helpers), batched both ways: recvmmsg(2) takes up to a batch of queued
 * packets per system call, and verdicts are collected in one buffer and
 * sent together, several netlink messages per sendmsg(2).
 *
 * The queue is configured with NFQA_CFG_F_GSO (a packet may be a 64 KiB
 * GSO super-packet whose checksum is not filled in: the payload is fine to
 * read) and NFQA_CFG_F_FAIL_OPEN (when the queue or the socket is full the
 * kernel lets packets through rather than dropping them), a queue length
 * of 64k packets and a large receive buffer.  When the socket overflows
 * anyway, the kernel reports ENOBUFS: each report is counted as lost
 * packets (at least one).
 *
 * The netlink queue belongs to the caller's network namespace; one
 * process per queue number.  Binding is acknowledged synchronously, so a
 * queue already bound by another process or a missing CAP_NET_ADMIN is an
 * error of nfqueue_open(), not of the first receive.
 */
#ifndef DECOY_NFQUEUE_H
#define DECOY_NFQUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One queued packet; data points into the queue's receive buffers and is
 * valid until the next nfqueue_recv(). */
struct nfqueue_pkt {
	uint32_t		 id;		/* packet id, for the verdict */
	uint16_t		 hw_proto;	/* ETH_P_IP or ETH_P_IPV6 */
	const unsigned char	*data;		/* the IP packet (maybe cut) */
	size_t			 len;		/* bytes at data */
	size_t			 orig_len;	/* length before the copy range */
};

struct nfqueue;

/*
 * Binds queue num in the current network namespace, copying up to
 * copy_range bytes of each packet (at most 65535), receiving up to batch
 * packets per nfqueue_recv(); flags: NFQUEUE_F_*.  NULL with *cause (naming the queue and
 * what to do) on failure.
 */
#define NFQUEUE_F_NO_GSO	0x1	/* let the kernel segment GSO packets */

struct nfqueue	*nfqueue_open(unsigned int num, size_t copy_range,
		    size_t batch, int flags, char **cause);
/* The netlink socket (non-blocking), for an event loop. */
int		 nfqueue_fd(const struct nfqueue *);
/*
 * Receives what is queued, up to one batch, without blocking.  *pkts
 * points to the queue's array of packets in arrival order.  Returns their
 * number (0: nothing queued), or -1 with *cause when the socket fails.
 * ENOBUFS is not a failure: it is counted (nfqueue_enobufs) and the call
 * returns what it has.
 */
ssize_t		 nfqueue_recv(struct nfqueue *, const struct nfqueue_pkt **pkts,
		    char **cause);
/* Queues a verdict (NF_ACCEPT, NF_DROP) for one packet. */
void		 nfqueue_verdict(struct nfqueue *, uint32_t id, int verdict);
/* Queues one batch verdict for every packet still queued with an id up
 * to id (NFQNL_MSG_VERDICT_BATCH). */
void		 nfqueue_verdict_upto(struct nfqueue *, uint32_t id,
		    int verdict);
/* Sends the queued verdicts; 0, or -1 with *cause. */
int		 nfqueue_flush(struct nfqueue *, char **cause);
/* ENOBUFS reports so far. */
uint64_t	 nfqueue_enobufs(const struct nfqueue *);
unsigned int	 nfqueue_num(const struct nfqueue *);
/* Unbinds and frees; takes NULL. */
void		 nfqueue_close(struct nfqueue *);

/*
 * The kernel's counters of queue num in this namespace, from
 * /proc/net/netfilter/nfnetlink_queue: packets dropped because the queue
 * was full, and because the socket was full.  0, or -1 if not listed.
 */
int		 nfqueue_kernel_drops(unsigned int num, uint64_t *dropped,
		    uint64_t *user_dropped);

#endif
