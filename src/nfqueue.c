/*
 * nfqueue.c -- one NFQUEUE binding with batched receives and verdicts
 * (nfqueue.h).  The message layout follows libnetfilter_queue's
 * examples/nf-queue.c: nfq_nlmsg_put() builds the header, the nfq_nlmsg_*
 * helpers the attributes, mnl_cb_run() walks what the kernel sends.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "nfqueue.h"
#include "xmalloc.h"

#define NFQUEUE_MSG_EXTRA	1024		/* netlink + attribute headers */
#define NFQUEUE_SEND_SIZE	(64 * 1024)
#define NFQUEUE_RCVBUF		(64 * 1024 * 1024)
#define NFQUEUE_MAXLEN		65536

struct nfqueue {
	struct mnl_socket	*nl;
	unsigned int		 num;
	unsigned int		 portid;
	size_t			 batch;
	size_t			 msgsize;
	char			*rbuf;		/* batch * msgsize */
	struct mmsghdr		*msgs;
	struct iovec		*iov;
	struct nfqueue_pkt	*pkts;
	size_t			 npkts;
	char			*sbuf;		/* queued verdicts */
	size_t			 slen;
	uint64_t		 enobufs;
	uint32_t		 seq;
};

static struct nlmsghdr *
nfqueue_put(struct nfqueue *q, char *buf, int type, int flags)
{
	struct nlmsghdr	*nlh;

	nlh = nfq_nlmsg_put(buf, type, q->num);
	nlh->nlmsg_flags |= flags;
	nlh->nlmsg_seq = ++q->seq;
	return nlh;
}

/* Sends one configuration message with NLM_F_ACK and reads the ack. */
static int
nfqueue_config(struct nfqueue *q, struct nlmsghdr *nlh, const char *what,
    char **cause)
{
	char	buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t	n;
	int	rv;

	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) == -1) {
		*cause = xasprintf("queue %u: %s: %s", q->num, what,
		    strerror(errno));
		return -1;
	}
	for (;;) {
		n = mnl_socket_recvfrom(q->nl, buf, sizeof buf);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		rv = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, q->portid,
		    NULL, NULL);
		if (rv == -1)
			break;
		if (rv == MNL_CB_STOP)
			return 0;
	}
	if (errno == EPERM)
		*cause = xasprintf("queue %u: %s: permission denied (another "
		    "process has bound this queue number, or CAP_NET_ADMIN "
		    "is missing)", q->num, what);
	else
		*cause = xasprintf("queue %u: %s: %s", q->num, what,
		    strerror(errno));
	return -1;
}

struct nfqueue *
nfqueue_open(unsigned int num, size_t copy_range, size_t batch, int flags,
    char **cause)
{
	struct nfqueue	*q;
	struct nlmsghdr	*nlh;
	char		 buf[MNL_SOCKET_BUFFER_SIZE];
	size_t		 i;
	int		 fd, sz = NFQUEUE_RCVBUF, fl;
	uint32_t	 cfg = NFQA_CFG_F_FAIL_OPEN;

	if ((flags & NFQUEUE_F_NO_GSO) == 0)
		cfg |= NFQA_CFG_F_GSO;

	if (num > 65535) {
		*cause = xasprintf("queue %u: queue numbers are 0..65535", num);
		return NULL;
	}
	if (copy_range == 0 || copy_range > 65535)
		copy_range = 65535;
	if (batch == 0)
		batch = 64;
	q = xcalloc(1, sizeof *q);
	q->num = num;
	q->batch = batch;
	q->seq = (uint32_t)time(NULL);
	if ((q->nl = mnl_socket_open(NETLINK_NETFILTER)) == NULL) {
		*cause = xasprintf("queue %u: netlink socket: %s", num,
		    strerror(errno));
		free(q);
		return NULL;
	}
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) == -1) {
		*cause = xasprintf("queue %u: netlink bind: %s", num,
		    strerror(errno));
		goto fail;
	}
	q->portid = mnl_socket_get_portid(q->nl);
	fd = mnl_socket_get_fd(q->nl);
	/* SO_RCVBUFFORCE needs CAP_NET_ADMIN, which binding needs too. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);

	nlh = nfqueue_put(q, buf, NFQNL_MSG_CONFIG, NLM_F_ACK);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (nfqueue_config(q, nlh, "bind", cause) == -1)
		goto fail;

	nlh = nfqueue_put(q, buf, NFQNL_MSG_CONFIG, NLM_F_ACK);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)copy_range);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, NFQUEUE_MAXLEN);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(cfg));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK,
	    htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
	if (nfqueue_config(q, nlh, "configure", cause) == -1)
		goto fail;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		*cause = xasprintf("queue %u: fcntl: %s", num, strerror(errno));
		goto fail;
	}

	q->msgsize = copy_range + NFQUEUE_MSG_EXTRA;
	q->rbuf = xreallocarray(NULL, batch, q->msgsize);
	q->msgs = xcalloc(batch, sizeof *q->msgs);
	q->iov = xcalloc(batch, sizeof *q->iov);
	q->pkts = xcalloc(batch, sizeof *q->pkts);
	q->sbuf = xmalloc(NFQUEUE_SEND_SIZE);
	for (i = 0; i < batch; i++) {
		q->iov[i].iov_base = q->rbuf + i * q->msgsize;
		q->iov[i].iov_len = q->msgsize;
		q->msgs[i].msg_hdr.msg_iov = &q->iov[i];
		q->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return q;
fail:
	mnl_socket_close(q->nl);
	free(q);
	return NULL;
}

int
nfqueue_fd(const struct nfqueue *q)
{
	return mnl_socket_get_fd(q->nl);
}

unsigned int
nfqueue_num(const struct nfqueue *q)
{
	return q->num;
}

uint64_t
nfqueue_enobufs(const struct nfqueue *q)
{
	return q->enobufs;
}

static int
nfqueue_parse_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nfqueue			*q = arg;
	struct nlattr			*attr[NFQA_MAX + 1] = { NULL };
	struct nfqnl_msg_packet_hdr	*ph;
	struct nfqueue_pkt		*p;

	if (q->npkts == q->batch)
		return MNL_CB_OK;
	if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == NULL)
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	p = &q->pkts[q->npkts++];
	p->id = ntohl(ph->packet_id);
	p->hw_proto = ntohs(ph->hw_protocol);
	if (attr[NFQA_PAYLOAD] != NULL) {
		p->data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
		p->len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	} else {
		p->data = NULL;
		p->len = 0;
	}
	p->orig_len = attr[NFQA_CAP_LEN] != NULL ?
	    ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN])) : p->len;
	return MNL_CB_OK;
}

ssize_t
nfqueue_recv(struct nfqueue *q, const struct nfqueue_pkt **pkts, char **cause)
{
	int	n, i;

	q->npkts = 0;
	*pkts = q->pkts;
	for (i = 0; i < (int)q->batch; i++)
		q->msgs[i].msg_hdr.msg_flags = 0;
	n = recvmmsg(nfqueue_fd(q), q->msgs, (unsigned int)q->batch,
	    MSG_DONTWAIT, NULL);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		if (errno == ENOBUFS) {
			q->enobufs++;
			return 0;
		}
		*cause = xasprintf("queue %u: receive: %s", q->num,
		    strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		/* An error message (a late verdict for a packet gone, say)
		 * stops its own datagram only. */
		(void)mnl_cb_run(q->iov[i].iov_base, q->msgs[i].msg_len, 0,
		    q->portid, nfqueue_parse_cb, q);
	}
	return (ssize_t)q->npkts;
}

static char *
nfqueue_room(struct nfqueue *q)
{
	char	*cause = NULL;

	if (q->slen + MNL_ALIGN(256) > NFQUEUE_SEND_SIZE &&
	    nfqueue_flush(q, &cause) == -1)
		free(cause);	/* verdicts lost here fail open */
	return q->sbuf + q->slen;
}

/* Queues a verdict message of type (one packet, or a batch up to id). */
static void
nfqueue_verdict_msg(struct nfqueue *q, int type, uint32_t id, int verdict)
{
	struct nlmsghdr	*nlh;

	nlh = nfqueue_put(q, nfqueue_room(q), type, 0);
	nfq_nlmsg_verdict_put(nlh, (int)id, verdict);
	q->slen += MNL_ALIGN(nlh->nlmsg_len);
}

void
nfqueue_verdict(struct nfqueue *q, uint32_t id, int verdict)
{
	nfqueue_verdict_msg(q, NFQNL_MSG_VERDICT, id, verdict);
}

void
nfqueue_verdict_upto(struct nfqueue *q, uint32_t id, int verdict)
{
	nfqueue_verdict_msg(q, NFQNL_MSG_VERDICT_BATCH, id, verdict);
}

int
nfqueue_flush(struct nfqueue *q, char **cause)
{
	ssize_t	n;

	if (q->slen == 0)
		return 0;
	n = mnl_socket_sendto(q->nl, q->sbuf, q->slen);
	q->slen = 0;
	if (n == -1) {
		*cause = xasprintf("queue %u: verdict: %s", q->num,
		    strerror(errno));
		return -1;
	}
	return 0;
}

void
nfqueue_close(struct nfqueue *q)
{
	char		 buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr	*nlh;
	char		*cause = NULL;

	if (q == NULL)
		return;
	if (nfqueue_flush(q, &cause) == -1)
		free(cause);
	nlh = nfqueue_put(q, buf, NFQNL_MSG_CONFIG, 0);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_UNBIND);
	(void)mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len);
	mnl_socket_close(q->nl);
	free(q->rbuf);
	free(q->msgs);
	free(q->iov);
	free(q->pkts);
	free(q->sbuf);
	free(q);
}

int
nfqueue_kernel_drops(unsigned int num, uint64_t *dropped,
    uint64_t *user_dropped)
{
	FILE		*f;
	char		 line[256];
	unsigned int	 qn, portid, total, mode, range;
	unsigned long long d, ud;
	int		 rv = -1;

	if ((f = fopen("/proc/net/netfilter/nfnetlink_queue", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "%u %u %u %u %u %llu %llu", &qn, &portid,
		    &total, &mode, &range, &d, &ud) == 7 && qn == num) {
			*dropped = d;
			*user_dropped = ud;
			rv = 0;
			break;
		}
	}
	fclose(f);
	return rv;
}
