/*
 * pcapimport.c -- a packet capture into a snapshot (pcapimport.h).
 *
 * Packets are fed in file order to one flow table; the lines the flows
 * complete collect in a buffer that is written whole lines at a time.
 * Flows idle for idle_ns of capture time are closed as the capture
 * advances, so memory follows the flows open at once, not the file.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "pcap.h"
#include "pcapimport.h"
#include "tap.h"
#include "xmalloc.h"

#define PCAPIMPORT_FLUSH	(1u << 20)	/* write when this much waits */

struct pcapimport {
	const struct pcapimport_config	*cfg;
	struct pcapimport_stats		*st;
	struct tap_lines		 lines;
	struct buf			 out;
};

static int
pcapimport_is_server(uint16_t port, void *arg)
{
	const struct pcapimport	*pi = arg;

	return tcpflow_port_in(port, pi->cfg->ports, pi->cfg->nports);
}

static void
pcapimport_done(struct httpflow *hf, struct httpflow_txn *tx, void *arg)
{
	struct tap_flow		*pf = arg;
	struct pcapimport	*pi = pf->owner;

	(void)hf;
	if (tap_lines_funnel(&pi->lines, pi->cfg->funnel, tx, pf->server))
		return;
	pi->st->transactions++;
	if (tx->gap)
		pi->st->gap_txns++;
	else if (!tx->complete)
		pi->st->unanswered++;
	tap_lines_encode(&pi->lines, &pi->out, tx, pf->client, pf->server);
}

static const struct httpflow_ops pcapimport_http_ops = {
	.request = NULL,
	.done = pcapimport_done,
};

/* A new flow: an HTTP one when its server port is one to import. */
static void
pcapimport_open(struct tcpflow *f, void *arg)
{
	struct pcapimport	*pi = arg;

	if (pi->cfg->nports > 0 && !pcapimport_is_server(f->sport, pi)) {
		f->user = NULL;
		return;
	}
	tap_flow_open(f, &pcapimport_http_ops, pi, &pi->st->http,
	    pi->cfg->max_body);
}

static const struct tcpflow_ops pcapimport_flow_ops = {
	.open = pcapimport_open,
	.data = httpflow_tcp_data,
	.gap = httpflow_tcp_gap,
	.eof = httpflow_tcp_eof,
	.close = tap_flow_close,
};

/* Writes the lines collected so far: 0, or -1 + *cause. */
static int
pcapimport_flush(struct pcapimport *pi, struct snap_out *out, char **cause)
{
	int	err = 0;

	if (pi->out.len == 0)
		return 0;
	(void)snap_out_write(out, pi->out.data, pi->out.len, &err);
	buf_reset(&pi->out);
	if (err != 0) {
		*cause = xasprintf("%s: %s", out->name, strerror(err));
		return -1;
	}
	return 0;
}

/* One packet into the flow table (or a counter). */
static void
pcapimport_packet(struct pcapimport *pi, struct tcpflow_table *t,
    const struct pcap_pkt *pkt)
{
	struct tcpflow_seg	seg;
	size_t			off;
	int			dir, closed;

	pi->st->packets++;
	if (pcap_ip_offset(pkt->linktype, pkt->data, pkt->len, &off) == -1) {
		pi->st->not_ip++;
		return;
	}
	if (tcpflow_parse(pkt->data + off, pkt->len - off, &seg) == -1) {
		pi->st->not_tcp++;
		return;
	}
	if (pi->cfg->nports > 0 && !pcapimport_is_server(seg.sport, pi) &&
	    !pcapimport_is_server(seg.dport, pi)) {
		pi->st->ignored++;
		return;
	}
	(void)tcpflow_input(t, &seg, pkt->ns, &dir, &closed);
}

int
pcapimport_run(const char *path, const struct pcapimport_config *cfg,
    struct snap_out *out, struct pcapimport_stats *st, char **cause)
{
	struct pcapimport	 pi;
	struct pcap_reader	*r;
	struct tcpflow_table	*t;
	struct pcap_pkt		 pkt;
	uint64_t		 idle, last_sweep = 0;
	int			 rc;

	memset(st, 0, sizeof *st);
	if ((r = pcap_open(path, cause)) == NULL)
		return -1;
	st->format = pcap_format(r);
	memset(&pi, 0, sizeof pi);
	pi.cfg = cfg;
	pi.st = st;
	pi.lines.dir = cfg->dir;	/* capture times are wall-clock ns */
	buf_init(&pi.out);
	idle = cfg->idle_ns != 0 ? cfg->idle_ns : 60000000000ULL;
	t = tcpflow_table_create(&pcapimport_flow_ops, &pi, 0,
	    cfg->nports > 0 ? pcapimport_is_server : NULL);

	while ((rc = pcap_next(r, &pkt, cause)) == 1) {
		pcapimport_packet(&pi, t, &pkt);
		if (pkt.ns > last_sweep + idle / 4) {
			tcpflow_expire(t, pkt.ns, idle);
			last_sweep = pkt.ns;
		}
		if (pi.out.len >= PCAPIMPORT_FLUSH &&
		    pcapimport_flush(&pi, out, cause) == -1) {
			rc = -1;
			break;
		}
	}
	/* The flows the capture left open end here (a gap where bytes
	 * are missing), before the counters are read. */
	tcpflow_expire(t, UINT64_MAX, 0);
	st->tcp = *tcpflow_stats(t);
	tcpflow_table_free(t);
	if (rc == 0 && pcapimport_flush(&pi, out, cause) == -1)
		rc = -1;
	buf_free(&pi.out);
	pcap_close(r);
	return rc == 0 ? 0 : -1;
}
