/*
 * fuzz-flow.c -- fuzz target for TCP reassembly (tcpflow) and HTTP over
 * the reassembled streams (httpflow), as the tap and packet chaos run
 * them on whatever a network hands over.
 *
 * The input is a list of segments of one connection, each
 *   byte 0     bit 0: direction (server to client), bit 1: SYN, bit 2:
 *              FIN, bit 3: RST, bit 4: cut the payload (copy range)
 *   bytes 1-2  sequence offset from the direction's start (big endian)
 *   byte 3     payload length L
 *   L bytes    payload
 * Invariants: every transaction handed to done has a method and a target;
 * a complete one has a response; each direction's delivered bytes never
 * exceed what was sent beyond its start; when the table is freed every
 * transaction has been handed over; nothing leaks.
 */
#include "config.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "httpflow.h"
#include "tcpflow.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static struct httpflow_stats	stats;
static uint64_t			ndone, delivered[2];

static void
f_done(struct httpflow *hf, struct httpflow_txn *tx, void *arg)
{
	CHECK(tx->t.req.method != NULL && tx->t.req.target != NULL);
	CHECK(!tx->complete || tx->t.has_res);
	ndone++;
	httpflow_txn_free(tx);
}

static const struct httpflow_ops hops = { NULL, f_done };

static void
f_open(struct tcpflow *f, void *arg)
{
	f->user = httpflow_create(&hops, NULL, &stats, 0, 1 << 20);
}

static void
f_data(struct tcpflow *f, int dir, const unsigned char *p, size_t len,
    uint64_t now, void *arg)
{
	delivered[dir] += len;
	httpflow_data(f->user, dir, p, len, now);
}

static void
f_gap(struct tcpflow *f, int dir, uint64_t n, void *arg)
{
	httpflow_gap(f->user, dir);
}

static void
f_eof(struct tcpflow *f, int dir, uint64_t now, void *arg)
{
	httpflow_eof(f->user, dir, now);
}

static void
f_close(struct tcpflow *f, enum tcpflow_end why, void *arg)
{
	httpflow_free(f->user);
}

static const struct tcpflow_ops tops = { f_open, f_data, f_gap, f_eof,
	f_close };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tcpflow_table	*t;
	struct tcpflow_seg	 s;
	unsigned char		 pkt[40 + 255];
	size_t			 i = 0, len, n;
	uint32_t		 base[2] = { 1000, 50000 };
	uint64_t		 sent[2] = { 0, 0 };
	int			 dir, closed, c2s;

	memset(&stats, 0, sizeof stats);
	ndone = delivered[0] = delivered[1] = 0;
	t = tcpflow_table_create(&tops, NULL, 4096, NULL);
	while (i + 4 <= size) {
		uint8_t		b = data[i];
		uint32_t	off = ((uint32_t)data[i + 1] << 8) | data[i + 2];

		len = data[i + 3];
		if (i + 4 + len > size)
			len = size - i - 4;
		c2s = (b & 1) == 0;
		memset(pkt, 0, 40);
		pkt[0] = 0x45;
		pkt[2] = (unsigned char)((40 + len) >> 8);
		pkt[3] = (unsigned char)(40 + len);
		pkt[9] = IPPROTO_TCP;
		pkt[12] = pkt[16] = 10;
		pkt[15] = c2s ? 1 : 2;
		pkt[19] = c2s ? 2 : 1;
		pkt[20] = c2s ? 0xc3 : 0x1f;
		pkt[21] = c2s ? 0x50 : 0x90;
		pkt[22] = c2s ? 0x1f : 0xc3;
		pkt[23] = c2s ? 0x90 : 0x50;
		off += base[c2s ? 0 : 1];
		pkt[24] = (unsigned char)(off >> 24);
		pkt[25] = (unsigned char)(off >> 16);
		pkt[26] = (unsigned char)(off >> 8);
		pkt[27] = (unsigned char)off;
		pkt[32] = 5 << 4;
		pkt[33] = TCPF_ACK | ((b & 2) ? TCPF_SYN : 0) |
		    ((b & 4) ? TCPF_FIN : 0) | ((b & 8) ? TCPF_RST : 0);
		memcpy(pkt + 40, data + i + 4, len);
		n = 40 + len;
		if ((b & 16) && len > 0)
			n--;
		if (tcpflow_parse(pkt, n, &s) == 0) {
			sent[c2s ? 0 : 1] += s.len + s.missing;
			(void)tcpflow_input(t, &s, i, &dir, &closed);
		}
		i += 4 + len;
	}
	tcpflow_table_free(t);
	/* Bytes delivered once each: never more than 64 KiB past a start
	 * per segment sent, and every request reached done. */
	CHECK(delivered[0] <= sent[0] + 65536 * (size / 4 + 1));
	CHECK(ndone >= stats.requests);
	return 0;
}
