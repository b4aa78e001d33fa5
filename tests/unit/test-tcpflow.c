/*
 * test-tcpflow.c -- TCP parsing and reassembly: order, retransmissions,
 * overlaps, the out-of-order limit (gaps), FIN and RST, IPv6, address
 * strings and the server-port lookup.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "tcpflow.h"
#include "unit.h"

static struct buf	got[2];
static int		ngaps, nopen, nclose, neof;
static enum tcpflow_end	last_end;

static void
t_open(struct tcpflow *f, void *arg)
{
	nopen++;
}

static void
t_data(struct tcpflow *f, int dir, const unsigned char *p, size_t len,
    uint64_t now, void *arg)
{
	buf_append(&got[dir], p, len);
}

static void
t_gap(struct tcpflow *f, int dir, uint64_t n, void *arg)
{
	ngaps++;
	buf_append_str(&got[dir], "<gap>");
}

static void
t_eof(struct tcpflow *f, int dir, uint64_t now, void *arg)
{
	neof++;
}

static void
t_close(struct tcpflow *f, enum tcpflow_end why, void *arg)
{
	nclose++;
	last_end = why;
}

static const struct tcpflow_ops ops = {
	t_open, t_data, t_gap, t_eof, t_close,
};

/* An IPv4 TCP packet into out (at least 40 + len bytes); its length. */
static size_t
pkt4(unsigned char *out, int c2s, uint32_t seq, uint8_t flags,
    const char *data)
{
	size_t	len = data != NULL ? strlen(data) : 0;
	uint8_t	a[4] = { 10, 0, 0, 1 }, b[4] = { 10, 0, 0, 2 };

	memset(out, 0, 40);
	out[0] = 0x45;
	out[2] = (unsigned char)((40 + len) >> 8);
	out[3] = (unsigned char)(40 + len);
	out[9] = IPPROTO_TCP;
	memcpy(out + 12, c2s ? a : b, 4);
	memcpy(out + 16, c2s ? b : a, 4);
	out[20] = c2s ? 0xc3 : 0x1f;	/* 50000 or 8080 */
	out[21] = c2s ? 0x50 : 0x90;
	out[22] = c2s ? 0x1f : 0xc3;
	out[23] = c2s ? 0x90 : 0x50;
	out[24] = (unsigned char)(seq >> 24);
	out[25] = (unsigned char)(seq >> 16);
	out[26] = (unsigned char)(seq >> 8);
	out[27] = (unsigned char)seq;
	out[32] = 5 << 4;
	out[33] = flags;
	if (len > 0)
		memcpy(out + 40, data, len);
	return 40 + len;
}

static struct tcpflow *
feed(struct tcpflow_table *t, int c2s, uint32_t seq, uint8_t flags,
    const char *data, int *dir, int *closed)
{
	unsigned char		p[2048];
	struct tcpflow_seg	s;
	size_t			n = pkt4(p, c2s, seq, flags, data);

	ASSERT_EQ(tcpflow_parse(p, n, &s), 0);
	return tcpflow_input(t, &s, 1, dir, closed);
}

static void
reset_got(void)
{
	buf_reset(&got[0]);
	buf_reset(&got[1]);
	ngaps = nopen = nclose = neof = 0;
}

static void
test_parse(void)
{
	unsigned char		p[128];
	struct tcpflow_seg	s;
	size_t			n;
	char			a[64];

	n = pkt4(p, 1, 1000, TCPF_ACK | TCPF_PSH, "abc");
	ASSERT_EQ(tcpflow_parse(p, n, &s), 0);
	ASSERT_EQ(s.af, AF_INET);
	ASSERT_EQ(s.sport, 50000);
	ASSERT_EQ(s.dport, 8080);
	ASSERT_EQ(s.seq, 1000);
	ASSERT_EQ(s.len, 3);
	ASSERT_MEM_EQ((const char *)s.data, s.len, "abc");
	tcpflow_addr_str(s.af, s.saddr, s.sport, a, sizeof a);
	ASSERT_STR_EQ(a, "10.0.0.1:50000");
	/* Cut by a copy range: the IP length says more. */
	ASSERT_EQ(tcpflow_parse(p, n - 2, &s), 0);
	ASSERT_EQ(s.len, 1);
	ASSERT_EQ(s.missing, 2);
	/* Too short, not TCP. */
	ASSERT_EQ(tcpflow_parse(p, 30, &s), -1);
	p[9] = IPPROTO_UDP;
	ASSERT_EQ(tcpflow_parse(p, n, &s), -1);

	/* IPv6. */
	memset(p, 0, sizeof p);
	p[0] = 0x60;
	p[5] = 22;
	p[6] = IPPROTO_TCP;
	p[23] = 1;
	p[39] = 2;
	p[40] = 0x1f;
	p[41] = 0x90;
	p[52] = 5 << 4;
	memcpy(p + 60, "hi", 2);
	ASSERT_EQ(tcpflow_parse(p, 62, &s), 0);
	ASSERT_EQ(s.af, AF_INET6);
	ASSERT_EQ(s.sport, 8080);
	ASSERT_EQ(s.len, 2);
	tcpflow_addr_str(s.af, s.saddr, s.sport, a, sizeof a);
	ASSERT_STR_EQ(a, "[::1]:8080");
}

static void
test_reassembly(void)
{
	struct tcpflow_table	*t;
	struct tcpflow		*f;
	int			 dir, closed;

	reset_got();
	t = tcpflow_table_create(&ops, NULL, 0, NULL);
	f = feed(t, 1, 99, TCPF_SYN, NULL, &dir, &closed);
	ASSERT(f != NULL);
	ASSERT_EQ(dir, TCPFLOW_C2S);
	ASSERT_EQ(f->cport, 50000);
	ASSERT_EQ(f->sport, 8080);
	f = feed(t, 0, 499, TCPF_SYN | TCPF_ACK, NULL, &dir, &closed);
	ASSERT_EQ(dir, TCPFLOW_S2C);
	ASSERT_EQ(nopen, 1);
	/* "hello world" as 3 segments: last, first, middle. */
	feed(t, 1, 105, TCPF_ACK, " world", &dir, &closed);
	ASSERT_EQ(got[0].len, 0);
	feed(t, 1, 100, TCPF_ACK, "hel", &dir, &closed);
	ASSERT_MEM_EQ(got[0].data, got[0].len, "hel");
	/* Overlapping the bytes seen and the ones waiting. */
	feed(t, 1, 101, TCPF_ACK, "ello w", &dir, &closed);
	ASSERT_MEM_EQ(got[0].data, got[0].len, "hello world");
	/* A retransmission changes nothing. */
	feed(t, 1, 100, TCPF_ACK, "hello", &dir, &closed);
	ASSERT_MEM_EQ(got[0].data, got[0].len, "hello world");
	ASSERT_EQ(tcpflow_stats(t)->retransmits, 1);
	ASSERT_EQ(tcpflow_stats(t)->out_of_order, 1);
	feed(t, 0, 500, TCPF_ACK, "ok", &dir, &closed);
	ASSERT_MEM_EQ(got[1].data, got[1].len, "ok");
	/* FIN both ways ends the flow. */
	feed(t, 1, 111, TCPF_ACK | TCPF_FIN, NULL, &dir, &closed);
	ASSERT_EQ(neof, 1);
	ASSERT_EQ(closed, 0);
	feed(t, 0, 502, TCPF_ACK | TCPF_FIN, NULL, &dir, &closed);
	ASSERT_EQ(closed, 1);
	ASSERT_EQ(nclose, 1);
	ASSERT_EQ(last_end, TCPFLOW_END_FIN);
	ASSERT_EQ(tcpflow_count(t), 0);
	ASSERT_EQ(ngaps, 0);
	tcpflow_table_free(t);
}

static void
test_gaps(void)
{
	struct tcpflow_table	*t;
	int			 dir, closed;

	reset_got();
	t = tcpflow_table_create(&ops, NULL, 8, NULL);
	feed(t, 1, 99, TCPF_SYN, NULL, &dir, &closed);
	feed(t, 1, 100, TCPF_ACK, "ab", &dir, &closed);
	/* 4 bytes missing, then more waiting than the limit allows. */
	feed(t, 1, 106, TCPF_ACK, "ghij", &dir, &closed);
	ASSERT_EQ(ngaps, 0);
	feed(t, 1, 110, TCPF_ACK, "klmnop", &dir, &closed);
	ASSERT_EQ(ngaps, 1);
	ASSERT_STR_EQ(got[0].data, "ab<gap>ghijklmnop");
	ASSERT_EQ(tcpflow_stats(t)->gap_bytes, 4);
	/* Waiting bytes at the end are delivered after a gap; RST ends. */
	feed(t, 1, 120, TCPF_ACK, "xy", &dir, &closed);
	ASSERT_EQ(ngaps, 1);
	feed(t, 0, 700, TCPF_RST, NULL, &dir, &closed);
	ASSERT_EQ(closed, 1);
	ASSERT_EQ(last_end, TCPFLOW_END_RST);
	ASSERT_EQ(ngaps, 2);
	ASSERT_STR_EQ(got[0].data, "ab<gap>ghijklmnop<gap>xy");
	tcpflow_table_free(t);

	/* Joined mid-stream; idle expiry; shutdown closes the rest. */
	reset_got();
	t = tcpflow_table_create(&ops, NULL, 0, NULL);
	feed(t, 0, 5000, TCPF_ACK, "late", &dir, &closed);
	ASSERT_EQ(dir, TCPFLOW_S2C);	/* the lower port serves */
	ASSERT_MEM_EQ(got[1].data, got[1].len, "late");
	ASSERT(feed(t, 1, 1, TCPF_RST, NULL, &dir, &closed) != NULL);
	ASSERT(feed(t, 1, 1, TCPF_ACK, NULL, &dir, &closed) == NULL);
	feed(t, 1, 7, TCPF_ACK, "x", &dir, &closed);
	tcpflow_expire(t, 10, 100);
	ASSERT_EQ(tcpflow_count(t), 1);
	tcpflow_expire(t, 1000, 100);
	ASSERT_EQ(tcpflow_count(t), 0);
	ASSERT_EQ(last_end, TCPFLOW_END_IDLE);
	feed(t, 1, 9, TCPF_ACK, "y", &dir, &closed);
	tcpflow_table_free(t);
	ASSERT_EQ(last_end, TCPFLOW_END_SHUTDOWN);
}

static void
test_many_flows(void)
{
	struct tcpflow_table	*t;
	unsigned char		 p[64];
	struct tcpflow_seg	 s;
	int			 dir, closed, i;
	size_t			 n;

	reset_got();
	t = tcpflow_table_create(&ops, NULL, 0, NULL);
	for (i = 0; i < 5000; i++) {
		n = pkt4(p, 1, 1, TCPF_SYN, NULL);
		p[20] = (unsigned char)(i >> 8 | 0x80);
		p[21] = (unsigned char)i;
		ASSERT_EQ(tcpflow_parse(p, n, &s), 0);
		(void)tcpflow_input(t, &s, 1, &dir, &closed);
	}
	ASSERT_EQ(tcpflow_count(t), 5000);
	ASSERT_EQ(nopen, 5000);
	n = pkt4(p, 0, 1, TCPF_ACK, "z");
	p[22] = (unsigned char)(77 >> 8 | 0x80);
	p[23] = 77;
	ASSERT_EQ(tcpflow_parse(p, n, &s), 0);
	ASSERT(tcpflow_lookup(t, &s, &dir) != NULL);
	ASSERT_EQ(dir, TCPFLOW_S2C);
	tcpflow_table_free(t);
	ASSERT_EQ(nclose, 5000);
}

/* The hand-written formatting writes what inet_ntop() + snprintf() did. */
static void
test_addr_str(void)
{
	static const uint8_t	 v6[][16] = {
		{ 0 },
		{ [15] = 1 },
		{ 0x20, 0x01, 0x0d, 0xb8, [15] = 0x42 },
		{ 0xfe, 0x80, [8] = 0x12, 0x34, 0, 0, 0, 0, 0xab, 0xcd },
		{ [10] = 0xff, 0xff, 192, 0, 2, 33 },
	};
	static const uint16_t	 ports[] = { 0, 1, 80, 8080, 65535 };
	uint8_t			 a4[4];
	char			 want[96], got_s[96], ip[INET6_ADDRSTRLEN];
	uint32_t		 x = 12345;
	size_t			 i, j, size;

	for (i = 0; i < 2000; i++) {
		x = x * 1103515245u + 12345u;
		if (i == 0)
			memset(a4, 0, sizeof a4);
		else if (i == 1)
			memset(a4, 255, sizeof a4);
		else
			memcpy(a4, &x, sizeof a4);
		for (j = 0; j < sizeof ports / sizeof ports[0]; j++) {
			inet_ntop(AF_INET, a4, ip, sizeof ip);
			snprintf(want, sizeof want, "%s:%u", ip,
			    (unsigned)ports[j]);
			tcpflow_addr_str(AF_INET, a4, ports[j], got_s,
			    sizeof got_s);
			ASSERT_STR_EQ(got_s, want);
		}
	}
	for (i = 0; i < sizeof v6 / sizeof v6[0]; i++) {
		inet_ntop(AF_INET6, v6[i], ip, sizeof ip);
		snprintf(want, sizeof want, "[%s]:%u", ip, 443u);
		tcpflow_addr_str(AF_INET6, v6[i], 443, got_s, sizeof got_s);
		ASSERT_STR_EQ(got_s, want);
	}
	/* Truncated as snprintf() truncates. */
	a4[0] = 192; a4[1] = 168; a4[2] = 100; a4[3] = 200;
	for (size = 1; size < 24; size++) {
		snprintf(want, size, "192.168.100.200:65535");
		memset(got_s, 'x', sizeof got_s);
		tcpflow_addr_str(AF_INET, a4, 65535, got_s, size);
		ASSERT_STR_EQ(got_s, want);
	}
}

/* A port among a role's server ports. */
static void
test_port_in(void)
{
	static const uint16_t	ports[] = { 80, 8080, 65535 };

	ASSERT_EQ(tcpflow_port_in(80, ports, 3), 1);
	ASSERT_EQ(tcpflow_port_in(65535, ports, 3), 1);
	ASSERT_EQ(tcpflow_port_in(8081, ports, 3), 0);
	ASSERT_EQ(tcpflow_port_in(65535, ports, 2), 0);
	ASSERT_EQ(tcpflow_port_in(80, NULL, 0), 0);
}

int
main(void)
{
	buf_init(&got[0]);
	buf_init(&got[1]);
	test_parse();
	test_addr_str();
	test_port_in();
	test_reassembly();
	test_gaps();
	test_many_flows();
	buf_free(&got[0]);
	buf_free(&got[1]);
	UNIT_DONE();
}
