/*
 * test-pcap.c -- the capture file reader: classic pcap in both byte orders
 * and both time resolutions, pcapng with several sections and interfaces
 * (enhanced, simple and obsolete packet blocks, blocks skipped, if_tsresol
 * and if_tsoffset), the errors (each names the byte offset), and where the
 * IP packet starts for each link type.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "pcap.h"
#include "unit.h"

static int	big;	/* the byte order the w* helpers write */

static void
w16(struct buf *b, unsigned v)
{
	unsigned char	p[2];

	p[big ? 0 : 1] = (unsigned char)(v >> 8);
	p[big ? 1 : 0] = (unsigned char)v;
	buf_append(b, p, 2);
}

static void
w32(struct buf *b, uint32_t v)
{
	unsigned char	p[4];
	int		i;

	for (i = 0; i < 4; i++)
		p[big ? 3 - i : i] = (unsigned char)(v >> (8 * i));
	buf_append(b, p, 4);
}

static void
wpad(struct buf *b)
{
	while (b->len % 4 != 0)
		buf_append_byte(b, 0);
}

static char	path[64];

static void
write_file(const struct buf *b)
{
	FILE	*f = fopen(path, "wb");

	/* An empty buffer has no data pointer: write nothing. */
	if (f == NULL || (b->len > 0 && fwrite(b->data, 1, b->len, f) !=
	    b->len) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
classic_header(struct buf *b, uint32_t magic, uint32_t link)
{
	w32(b, magic);
	w16(b, 2);
	w16(b, 4);
	w32(b, 0);
	w32(b, 0);
	w32(b, 65535);
	w32(b, link);
}

static void
classic_record(struct buf *b, uint32_t sec, uint32_t frac, const char *data,
    uint32_t orig)
{
	w32(b, sec);
	w32(b, frac);
	w32(b, (uint32_t)strlen(data));
	w32(b, orig);
	buf_append_str(b, data);
}

static void
test_classic(void)
{
	struct pcap_reader	*r;
	struct pcap_pkt		 pkt;
	struct buf		 b;
	char			*cause = NULL;

	for (big = 0; big <= 1; big++) {
		buf_init(&b);
		classic_header(&b, 0xa1b2c3d4u, PCAP_LINK_ETHERNET);
		classic_record(&b, 1700000000, 123456, "hello", 60);
		classic_record(&b, 1700000001, 7, "abc", 3);
		write_file(&b);
		r = pcap_open(path, &cause);
		ASSERT(r != NULL);
		ASSERT_STR_EQ(pcap_format(r), "pcap");
		ASSERT_EQ(pcap_next(r, &pkt, &cause), 1);
		ASSERT_EQ(pkt.ns, 1700000000123456000ULL);
		ASSERT_EQ(pkt.linktype, PCAP_LINK_ETHERNET);
		ASSERT_MEM_EQ(pkt.data, pkt.len, "hello");
		ASSERT_EQ(pkt.orig_len, 60);
		ASSERT_EQ(pkt.offset, 24);
		ASSERT_EQ(pcap_next(r, &pkt, &cause), 1);
		ASSERT_EQ(pkt.ns, 1700000001000007000ULL);
		ASSERT_MEM_EQ(pkt.data, pkt.len, "abc");
		ASSERT_EQ(pkt.offset, 24 + 16 + 5);
		ASSERT_EQ(pcap_next(r, &pkt, &cause), 0);
		pcap_close(r);
		buf_free(&b);
	}

	/* Nanosecond magic, big-endian. */
	big = 1;
	buf_init(&b);
	classic_header(&b, 0xa1b23c4du, PCAP_LINK_RAW);
	classic_record(&b, 2, 999999999, "x", 1);
	write_file(&b);
	r = pcap_open(path, &cause);
	ASSERT(r != NULL);
	ASSERT_EQ(pcap_next(r, &pkt, &cause), 1);
	ASSERT_EQ(pkt.ns, 2999999999ULL);
	ASSERT_EQ(pkt.linktype, PCAP_LINK_RAW);
	pcap_close(r);
	buf_free(&b);
}

/* Appends a block: type, then body (its length padded), then the length. */
static void
ng_block(struct buf *b, uint32_t type, const struct buf *body)
{
	uint32_t	len = (uint32_t)(12 + ((body->len + 3) & ~(size_t)3));

	w32(b, type);
	w32(b, len);
	buf_append(b, body->data, body->len);
	wpad(b);
	w32(b, len);
}

static void
ng_shb(struct buf *b)
{
	struct buf	body;

	buf_init(&body);
	w32(&body, 0x1A2B3C4Du);
	w16(&body, 1);
	w16(&body, 0);
	w32(&body, 0xffffffffu);	/* section length: unknown */
	w32(&body, 0xffffffffu);
	ng_block(b, 0x0A0D0D0Au, &body);
	buf_free(&body);
}

/* An interface; tsresol < 0: none given (microseconds). */
static void
ng_idb(struct buf *b, unsigned link, int tsresol, int64_t tsoffset)
{
	struct buf	body;

	buf_init(&body);
	w16(&body, link);
	w16(&body, 0);
	w32(&body, 262144);
	if (tsresol >= 0) {
		w16(&body, 9);
		w16(&body, 1);
		buf_append_byte(&body, (char)tsresol);
		wpad(&body);
	}
	if (tsoffset != 0) {
		w16(&body, 14);
		w16(&body, 8);
		if (big) {
			w32(&body, (uint32_t)((uint64_t)tsoffset >> 32));
			w32(&body, (uint32_t)tsoffset);
		} else {
			w32(&body, (uint32_t)tsoffset);
			w32(&body, (uint32_t)((uint64_t)tsoffset >> 32));
		}
	}
	w16(&body, 0);		/* opt_endofopt */
	w16(&body, 0);
	ng_block(b, 1, &body);
	buf_free(&body);
}

static void
ng_epb(struct buf *b, uint32_t iface, uint64_t ts, const char *data,
    uint32_t orig)
{
	struct buf	body;

	buf_init(&body);
	w32(&body, iface);
	w32(&body, (uint32_t)(ts >> 32));
	w32(&body, (uint32_t)ts);
	w32(&body, (uint32_t)strlen(data));
	w32(&body, orig);
	buf_append_str(&body, data);
	ng_block(b, 6, &body);
	buf_free(&body);
}

static void
test_pcapng(void)
{
	struct pcap_reader	*r;
	struct pcap_pkt		 pkt;
	struct buf		 b, body;
	char			*cause = NULL;

	buf_init(&b);
	big = 1;			/* a big-endian section ... */
	ng_shb(&b);
	ng_idb(&b, PCAP_LINK_LINUX_SLL2, 9, 0);	/* nanoseconds */
	ng_epb(&b, 0, 1700000000123456789ULL, "first", 5);
	buf_init(&body);		/* a name resolution block: skipped */
	w32(&body, 0);
	ng_block(&b, 4, &body);
	buf_free(&body);
	big = 0;			/* ... then a little-endian one */
	ng_shb(&b);
	ng_idb(&b, PCAP_LINK_ETHERNET, -1, 0);	/* microseconds */
	ng_idb(&b, PCAP_LINK_RAW, 0x80 | 10, 100);	/* 2^-10 s, +100 s */
	ng_epb(&b, 1, 3 * 1024 + 512, "second", 64);
	ng_epb(&b, 0, 1700000000000001ULL, "third", 5);
	buf_init(&body);		/* a simple packet block (iface 0) */
	w32(&body, 4);
	buf_append_str(&body, "spb!");
	ng_block(&b, 3, &body);
	buf_free(&body);
	write_file(&b);

	r = pcap_open(path, &cause);
	ASSERT(r != NULL);
	if (r == NULL)
		return;
	ASSERT_STR_EQ(pcap_format(r), "pcapng");
	ASSERT_EQ(pcap_next(r, &pkt, &cause), 1);
	ASSERT_EQ(pkt.ns, 1700000000123456789ULL);
	ASSERT_EQ(pkt.linktype, PCAP_LINK_LINUX_SLL2);
	ASSERT_MEM_EQ(pkt.data, pkt.len, "first");
	ASSERT_EQ(pcap_next(r, &pkt, &cause), 1);
	ASSERT_EQ(pkt.linktype, PCAP_LINK_RAW);
	ASSERT_EQ(pkt.ns, 103500000000ULL);	/* 3.5 s + 100 s */
	ASSERT_MEM_EQ(pkt.data, pkt.len, "second");
	ASSERT_EQ(pkt.orig_len, 64);
	ASSERT_EQ(pcap_next(r, &pkt, &cause), 1);
	ASSERT_EQ(pkt.ns, 1700000000000001000ULL);
	ASSERT_EQ(pkt.linktype, PCAP_LINK_ETHERNET);
	ASSERT_MEM_EQ(pkt.data, pkt.len, "third");
	ASSERT_EQ(pcap_next(r, &pkt, &cause), 1);
	ASSERT_MEM_EQ(pkt.data, pkt.len, "spb!");
	ASSERT_EQ(pcap_next(r, &pkt, &cause), 0);
	pcap_close(r);
	buf_free(&b);
}

/* Opens b's bytes and reads to the end: the error, or NULL. */
static char *
read_error(const struct buf *b)
{
	struct pcap_reader	*r;
	struct pcap_pkt		 pkt;
	char			*cause = NULL;
	int			 rc;

	write_file(b);
	if ((r = pcap_open(path, &cause)) == NULL)
		return cause;
	while ((rc = pcap_next(r, &pkt, &cause)) == 1)
		;
	pcap_close(r);
	return rc == -1 ? cause : NULL;
}

static void
expect_error(const struct buf *b, const char *want)
{
	char	*cause = read_error(b);

	ASSERT(cause != NULL && strstr(cause, want) != NULL);
	if (cause == NULL || strstr(cause, want) == NULL)
		fprintf(stderr, "  want \"%s\", got \"%s\"\n", want,
		    cause ? cause : "(none)");
	free(cause);
}

static void
test_errors(void)
{
	struct buf	b, body;

	big = 0;
	buf_init(&b);
	expect_error(&b, "byte 0: empty file");
	buf_append_str(&b, "{\"id\":\"not a capture\"}\n");
	expect_error(&b, "byte 0: not a pcap or pcapng file");
	buf_reset(&b);

	classic_header(&b, 0xa1b2c3d4u, 1);
	classic_record(&b, 1, 1, "whole", 5);
	classic_record(&b, 2, 2, "cut short", 9);
	b.len -= 3;
	expect_error(&b, "byte 45: the file ends inside a packet record");
	b.len = 24 + 21 + 7;		/* a header cut */
	expect_error(&b, "byte 45: the file ends inside a record header");
	buf_reset(&b);
	classic_header(&b, 0xa1b2c3d4u, 1);
	w32(&b, 1);
	w32(&b, 1);
	w32(&b, 0x7fffffffu);		/* a garbage length */
	w32(&b, 5);
	expect_error(&b, "byte 24: record length too large");
	buf_reset(&b);

	ng_shb(&b);
	ng_epb(&b, 0, 1, "orphan", 6);	/* no interface described */
	expect_error(&b, "byte 28: packet of an interface that was not "
	    "described");
	buf_reset(&b);
	ng_shb(&b);
	ng_idb(&b, 1, -1, 0);
	buf_init(&body);
	buf_append_str(&body, "abcd");
	ng_block(&b, 6, &body);		/* too short for a packet block */
	buf_free(&body);
	expect_error(&b, "byte 52: packet block too short");
	buf_reset(&b);
	ng_shb(&b);
	w32(&b, 6);
	w32(&b, 13);			/* not a multiple of 4 */
	w32(&b, 0);
	expect_error(&b, "byte 32: bad block length");
	buf_reset(&b);
	ng_shb(&b);
	ng_idb(&b, 1, -1, 0);
	b.data[b.len - 1] ^= 0x10;	/* trailing length differs */
	expect_error(&b, "byte 28: block length and its trailing copy "
	    "differ");
	buf_free(&b);
}

static void
test_ip_offset(void)
{
	unsigned char	f[64];
	size_t		off = 99;

	memset(f, 0, sizeof f);
	f[12] = 0x08;			/* Ethernet, IPv4 */
	f[14] = 0x45;
	ASSERT_EQ(pcap_ip_offset(PCAP_LINK_ETHERNET, f, sizeof f, &off), 0);
	ASSERT_EQ(off, 14);
	f[12] = 0x81;			/* an 802.1Q tag, then IPv6 */
	f[13] = 0x00;
	f[16] = 0x86;
	f[17] = 0xdd;
	f[18] = 0x60;
	ASSERT_EQ(pcap_ip_offset(PCAP_LINK_ETHERNET, f, sizeof f, &off), 0);
	ASSERT_EQ(off, 18);
	f[16] = 0x08;			/* ARP */
	f[17] = 0x06;
	ASSERT_EQ(pcap_ip_offset(PCAP_LINK_ETHERNET, f, sizeof f, &off), -1);

	memset(f, 0, sizeof f);		/* Linux cooked v1 */
	f[14] = 0x08;
	f[16] = 0x45;
	ASSERT_EQ(pcap_ip_offset(PCAP_LINK_LINUX_SLL, f, sizeof f, &off), 0);
	ASSERT_EQ(off, 16);
	memset(f, 0, sizeof f);		/* Linux cooked v2 */
	f[0] = 0x86;
	f[1] = 0xdd;
	f[20] = 0x60;
	ASSERT_EQ(pcap_ip_offset(PCAP_LINK_LINUX_SLL2, f, sizeof f, &off), 0);
	ASSERT_EQ(off, 20);
	memset(f, 0, sizeof f);		/* BSD loopback, AF_INET */
	f[0] = 2;
	f[4] = 0x45;
	ASSERT_EQ(pcap_ip_offset(PCAP_LINK_NULL, f, sizeof f, &off), 0);
	ASSERT_EQ(off, 4);
	f[0] = 0x45;			/* raw IP */
	ASSERT_EQ(pcap_ip_offset(PCAP_LINK_RAW, f, sizeof f, &off), 0);
	ASSERT_EQ(off, 0);
	f[0] = 0x20;			/* not IP at all */
	ASSERT_EQ(pcap_ip_offset(PCAP_LINK_RAW, f, sizeof f, &off), -1);
	ASSERT_EQ(pcap_ip_offset(147, f, sizeof f, &off), -1);	/* USER0 */
	ASSERT_EQ(pcap_ip_offset(PCAP_LINK_ETHERNET, f, 10, &off), -1);
}

int
main(void)
{
	int	fd;

	snprintf(path, sizeof path, "/tmp/test-pcap.XXXXXX");
	if ((fd = mkstemp(path)) == -1) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	test_classic();
	test_pcapng();
	test_errors();
	test_ip_offset();
	unlink(path);
	UNIT_DONE();
}
