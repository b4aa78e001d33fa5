/*
 * bench/flowparse.c -- the per-transaction cost of the passive-capture
 * parse path (decoy record --nfqueue, src/tap.c) on one core.
 *
 * Usage: bench/flowparse [-c CONNS] [-m PAIRS] [-r ROUNDS] [-p]
 *
 * Synthesises IPv4/TCP packets in memory (not timed): CONNS keep-alive
 * connections (default 64) from 10.0.x.y:ephemeral to 10.1.0.1:8080, each
 * with a handshake, PAIRS request/response pairs (default 1000) and a
 * FIN from both sides, interleaved round-robin across the connections.
 * Each request is a small GET with the six headers curl/wrk send, each
 * response a 200 with four headers and a 64-byte body; -p makes every
 * request a POST with a 1 KiB JSON body instead.  One packet per message.
 *
 * Then, ROUNDS times (default 5), feeds every packet through exactly what
 * the tap does: tcpflow_parse, tcpflow_input on a table with the tap's
 * callbacks (httpflow_tcp_*, and a done callback that calls the tap's own
 * tap_lines_encode), the lines appended to one buffer that is "written"
 * (here: hashed) every 64 KiB.  Prints transactions/s, ns per transaction
 * and an FNV-1a checksum of all the snapshot bytes, so two builds can be
 * compared for identical output.  Exit status 1 when fewer transactions
 * than expected came out.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "httpflow.h"
#include "snap.h"
#include "tap.h"
#include "tcpflow.h"
#include "xmalloc.h"

#define FP_SERVER_PORT	8080
#define FP_FLUSH	(64 * 1024)
#define FP_TICK_NS	12500ULL	/* between two packets */

/* What of struct tap the done callback uses. */
struct fp {
	struct buf		 out;
	struct httpflow_stats	 hst;
	struct tap_lines	 lines;
	uint64_t		 hash;
	uint64_t		 out_bytes;
};

struct fp_flow {
	struct httpflow	*hf;		/* first: httpflow_tcp_* */
	struct fp	*fp;
	struct tcpflow	*f;
	char		 client[64];	/* made once per flow, as the tap */
	char		 server[64];
};

static double
fp_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* FNV-1a over 64-bit words, the tail byte by byte. */
static void
fp_hash(struct fp *fp, const char *p, size_t len)
{
	uint64_t	h = fp->hash, w;
	size_t		i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, sizeof w);
		h = (h ^ w) * 1099511628211ULL;
	}
	for (; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	fp->hash = h;
	fp->out_bytes += len;
}

static void
fp_flush(struct fp *fp)
{
	fp_hash(fp, fp->out.data, fp->out.len);
	buf_reset(&fp->out);
}

/* The tap's done callback, but the lines are hashed, not written. */
static void
fp_txn_done(struct httpflow *hf, struct httpflow_txn *tx, void *arg)
{
	struct fp_flow	*tf = arg;
	struct fp	*fp = tf->fp;

	(void)hf;
	tap_lines_encode(&fp->lines, &fp->out, tx, tf->client, tf->server);
	if (fp->out.len >= FP_FLUSH)
		fp_flush(fp);
}

/* --- the tap's flow callbacks (tap_flow_open, tap_flow_close) --- */

static int
fp_is_server(uint16_t port, void *arg)
{
	(void)arg;
	return port == FP_SERVER_PORT;
}

static const struct httpflow_ops fp_http_ops = {
	.request = NULL,
	.done = fp_txn_done,
};

static void
fp_flow_open(struct tcpflow *f, void *arg)
{
	struct fp	*fp = arg;
	struct fp_flow	*tf;

	if (!fp_is_server(f->sport, fp)) {
		f->user = NULL;
		return;
	}
	tf = xcalloc(1, sizeof *tf);
	tf->fp = fp;
	tf->f = f;
	tcpflow_addr_str(f->af, f->caddr, f->cport, tf->client,
	    sizeof tf->client);
	tcpflow_addr_str(f->af, f->saddr, f->sport, tf->server,
	    sizeof tf->server);
	tf->hf = httpflow_create(&fp_http_ops, tf, &fp->hst, 0, 0);
	f->user = tf;
}

static void
fp_flow_close(struct tcpflow *f, enum tcpflow_end why, void *arg)
{
	struct fp_flow	*tf = f->user;

	(void)why;
	(void)arg;
	if (tf == NULL)
		return;
	httpflow_free(tf->hf);
	free(tf);
	f->user = NULL;
}

static const struct tcpflow_ops fp_flow_ops = {
	.open = fp_flow_open,
	.data = httpflow_tcp_data,
	.gap = httpflow_tcp_gap,
	.eof = httpflow_tcp_eof,
	.close = fp_flow_close,
};

/* --- packet synthesis --- */

struct fp_conn {
	uint8_t		caddr[4], saddr[4];
	uint16_t	cport, sport;
	uint32_t	cseq, sseq;	/* next sequence numbers */
};

static void
fp_put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void
fp_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/*
 * Appends one packet record (a uint32_t length, then the IPv4 packet) to
 * pk: from the client when c2s, with flags and payload.
 */
static void
fp_packet(struct buf *pk, struct fp_conn *c, int c2s, uint8_t flags,
    const char *data, size_t len)
{
	unsigned char	h[40];
	uint32_t	plen = (uint32_t)(40 + len);
	uint32_t	*seq = c2s ? &c->cseq : &c->sseq;
	uint32_t	 ack = c2s ? c->sseq : c->cseq;

	memset(h, 0, sizeof h);
	h[0] = 0x45;
	fp_put16(h + 2, plen);
	h[8] = 64;
	h[9] = 6;	/* TCP */
	memcpy(h + 12, c2s ? c->caddr : c->saddr, 4);
	memcpy(h + 16, c2s ? c->saddr : c->caddr, 4);
	fp_put16(h + 20, c2s ? c->cport : c->sport);
	fp_put16(h + 22, c2s ? c->sport : c->cport);
	fp_put32(h + 24, *seq);
	fp_put32(h + 28, (flags & 0x10) ? ack : 0);
	h[32] = 5 << 4;
	h[33] = flags;
	fp_put16(h + 34, 65535);
	buf_append(pk, &plen, sizeof plen);
	buf_append(pk, h, sizeof h);
	buf_append(pk, data, len);
	*seq += (uint32_t)len + ((flags & (TCPF_SYN | TCPF_FIN)) ? 1 : 0);
}

/* A POST body: a JSON order of about 1 KiB. */
static void
fp_json(struct buf *b)
{
	int	i;

	buf_append_str(b, "{\"order_id\":\"ord-2026-11-26-000042\","
	    "\"customer\":{\"id\":1729,\"name\":\"Ada Lovelace\","
	    "\"email\":\"ada@example.com\",\"vip\":true,"
	    "\"address\":{\"street\":\"12 Analytical Engine Way\","
	    "\"city\":\"London\",\"zip\":\"N1 9GU\",\"country\":\"GB\"}},"
	    "\"items\":[");
	for (i = 0; i < 6; i++)
		buf_printf(b, "%s{\"sku\":\"SKU-%04d\",\"quantity\":%d,"
		    "\"unit_price\":%d.%02d,\"currency\":\"EUR\","
		    "\"gift\":%s,\"note\":null}", i ? "," : "", 1000 + i,
		    i + 1, 10 + i * 3, i * 7 % 100, i % 2 ? "true" : "false");
	buf_append_str(b, "],\"coupon\":\"WELCOME10\","
	    "\"shipping\":{\"method\":\"express\",\"cost\":4.99},"
	    "\"comment\":\"Please leave the parcel with the neighbour if I am "
	    "not at home; the bell is broken.\",\"total\":123.45}");
}

static void
fp_build(struct buf *pk, int nconn, int npairs, int post)
{
	struct fp_conn	*cs;
	struct buf	 req, res, body;
	int		 i, j;

	buf_init(&req);
	buf_init(&res);
	buf_init(&body);
	if (post) {
		fp_json(&body);
		buf_printf(&req, "POST /api/v2/orders?source=web HTTP/1.1\r\n"
		    "Host: shop.example.com:8080\r\n"
		    "User-Agent: curl/7.88.1\r\n"
		    "Accept: application/json\r\n"
		    "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n"
		    "X-Request-Id: 5f0c6d1e-8a4b-4c55-9e43-0d1f2a3b4c5d\r\n"
		    "\r\n%s", body.len, body.data);
	} else
		buf_append_str(&req, "GET /small HTTP/1.1\r\n"
		    "Host: 10.1.0.1:8080\r\n"
		    "User-Agent: curl/7.88.1\r\n"
		    "Accept: */*\r\n"
		    "Accept-Encoding: gzip, deflate\r\n"
		    "Connection: keep-alive\r\n"
		    "X-Request-Id: 5f0c6d1e-8a4b-4c55-9e43-0d1f2a3b4c5d\r\n"
		    "\r\n");
	buf_append_str(&res, "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 64\r\n"
	    "Date: Thu, 26 Nov 2026 10:00:00 GMT\r\n"
	    "Server: decoy-bench/1\r\n"
	    "\r\n"
	    "{\"ok\":true,\"id\":42,\"name\":\"small\",\"pad\":\"abcdefghijklmnopqrst\"}\n");

	cs = xcalloc((size_t)nconn, sizeof *cs);
	for (i = 0; i < nconn; i++) {
		cs[i].caddr[0] = 10;
		cs[i].caddr[2] = (uint8_t)(i >> 8);
		cs[i].caddr[3] = (uint8_t)(i & 0xff);
		cs[i].saddr[0] = 10;
		cs[i].saddr[1] = 1;
		cs[i].saddr[3] = 1;
		cs[i].cport = (uint16_t)(40000 + i % 20000);
		cs[i].sport = FP_SERVER_PORT;
		cs[i].cseq = 1000000u * (uint32_t)(i + 1);
		cs[i].sseq = 3000000000u + 7u * (uint32_t)i;
	}
	for (i = 0; i < nconn; i++) {
		fp_packet(pk, &cs[i], 1, TCPF_SYN, NULL, 0);
		fp_packet(pk, &cs[i], 0, TCPF_SYN | TCPF_ACK, NULL, 0);
	}
	for (j = 0; j < npairs; j++) {
		for (i = 0; i < nconn; i++) {
			fp_packet(pk, &cs[i], 1, TCPF_PSH | TCPF_ACK,
			    req.data, req.len);
			fp_packet(pk, &cs[i], 0, TCPF_PSH | TCPF_ACK,
			    res.data, res.len);
		}
	}
	for (i = 0; i < nconn; i++) {
		fp_packet(pk, &cs[i], 1, TCPF_FIN | TCPF_ACK, NULL, 0);
		fp_packet(pk, &cs[i], 0, TCPF_FIN | TCPF_ACK, NULL, 0);
	}
	free(cs);
	buf_free(&req);
	buf_free(&res);
	buf_free(&body);
}

/* Feeds every packet record of pk through a fresh flow table. */
static void
fp_run(struct fp *fp, const struct buf *pk)
{
	struct tcpflow_table	*t;
	struct tcpflow_seg	 seg;
	uint32_t		 len;
	uint64_t		 now = fp->lines.mono0_ns;
	size_t			 off = 0;
	int			 dir, closed;

	t = tcpflow_table_create(&fp_flow_ops, fp, 0, fp_is_server);
	while (off + sizeof len <= pk->len) {
		memcpy(&len, pk->data + off, sizeof len);
		off += sizeof len;
		now += FP_TICK_NS;
		if (tcpflow_parse((const unsigned char *)pk->data + off, len,
		    &seg) == 0)
			(void)tcpflow_input(t, &seg, now, &dir, &closed);
		off += len;
	}
	tcpflow_table_free(t);
	fp_flush(fp);
}

int
main(int argc, char **argv)
{
	struct fp	 fp;
	struct buf	 pk;
	int		 ch, nconn = 64, npairs = 1000, rounds = 5, post = 0, r;
	double		 t0, el;
	uint64_t	 want;

	while ((ch = getopt(argc, argv, "c:m:r:p")) != -1) {
		switch (ch) {
		case 'c':
			nconn = (int)strtol(optarg, NULL, 10);
			break;
		case 'm':
			npairs = (int)strtol(optarg, NULL, 10);
			break;
		case 'r':
			rounds = (int)strtol(optarg, NULL, 10);
			break;
		case 'p':
			post = 1;
			break;
		default:
			fprintf(stderr, "usage: flowparse [-c CONNS] "
			    "[-m PAIRS] [-r ROUNDS] [-p]\n");
			return 2;
		}
	}
	if (nconn < 1 || nconn > 65536 || npairs < 1 || rounds < 1) {
		fprintf(stderr, "flowparse: -c must be 1..65536, -m and -r "
		    "positive\n");
		return 2;
	}
	buf_init(&pk);
	fp_build(&pk, nconn, npairs, post);

	memset(&fp, 0, sizeof fp);
	buf_init(&fp.out);
	fp.hash = 1469598103934665603ULL;
	fp.lines.dir = SNAP_DIR_OUT;
	/* 2026-11-26T10:00:00Z, so the output does not depend on the day. */
	fp.lines.rt0_ns = 1795687200ULL * 1000000000ULL;
	fp.lines.mono0_ns = 1000000000ULL;

	t0 = fp_now();
	for (r = 0; r < rounds; r++)
		fp_run(&fp, &pk);
	el = fp_now() - t0;

	want = (uint64_t)nconn * (uint64_t)npairs * (uint64_t)rounds;
	printf("flowparse: %s, %d conns x %d pairs x %d rounds: %llu txns "
	    "in %.3f s\n", post ? "POST 1 KiB JSON" : "GET /small",
	    nconn, npairs, rounds,
	    (unsigned long long)fp.lines.txns, el);
	printf("flowparse: %.0f txns/s, %.1f ns/txn, %llu snapshot bytes, "
	    "checksum %016llx\n", (double)fp.lines.txns / el,
	    el * 1e9 / (double)fp.lines.txns, (unsigned long long)fp.out_bytes,
	    (unsigned long long)fp.hash);
	buf_free(&fp.out);
	buf_free(&pk);
	if (fp.lines.txns != want || fp.hst.responses != want) {
		fprintf(stderr, "flowparse: %llu transactions, %llu responses, "
		    "expected %llu\n", (unsigned long long)fp.lines.txns,
		    (unsigned long long)fp.hst.responses,
		    (unsigned long long)want);
		return 1;
	}
	return 0;
}
