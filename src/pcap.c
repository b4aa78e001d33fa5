/*
 * pcap.c -- reads classic pcap and pcapng capture files (pcap.h).
 *
 * The file is read through one buffer: a record or block is made whole in
 * it (reading more as needed) and handed out; the buffer is compacted
 * when most of it has been consumed.  Every length read from the file is
 * checked against what the format allows before it is used.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcap.h"
#include "xmalloc.h"

/* No record or block is larger than this (a garbage length is an error,
 * not an allocation). */
#define PCAP_MAX_BLOCK		(256u << 20)
#define PCAP_MAX_IFACES		4096

#define PCAPNG_SHB		0x0A0D0D0Au
#define PCAPNG_IDB		0x00000001u
#define PCAPNG_PB		0x00000002u	/* obsolete packet block */
#define PCAPNG_SPB		0x00000003u
#define PCAPNG_EPB		0x00000006u
#define PCAPNG_BOM		0x1A2B3C4Du

struct pcap_iface {
	int		linktype;
	uint32_t	snaplen;
	uint64_t	units;		/* timestamp units per second */
	int64_t		offset_s;	/* if_tsoffset */
};

struct pcap_reader {
	char			*path;
	int			 fd;
	int			 ng;		/* pcapng */
	int			 swap;		/* file byte order != ours */
	unsigned char		*buf;
	size_t			 cap, pos, len;	/* bytes buf[pos..len) unread */
	uint64_t		 base;		/* file offset of buf[0] */
	int			 eof;

	/* classic pcap */
	int			 linktype;
	int			 nsec;
	uint32_t		 snaplen;

	/* pcapng: the interfaces of the current section */
	struct pcap_iface	*ifaces;
	size_t			 nifaces;
};

static uint16_t
pcap_u16(const struct pcap_reader *r, const unsigned char *p)
{
	return r->swap ? (uint16_t)(p[0] << 8 | p[1]) :
	    (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t
pcap_u32(const struct pcap_reader *r, const unsigned char *p)
{
	if (r->swap)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[1] << 8 | p[0];
}

/* The byte order of the file was decided by a magic number read as
 * little-endian; "swap" means the file is big-endian. */
static uint32_t
pcap_le32(const unsigned char *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[1] << 8 | p[0];
}

static int
pcap_fail(struct pcap_reader *r, uint64_t off, char **cause, const char *msg)
{
	*cause = xasprintf("%s: byte %llu: %s", r->path,
	    (unsigned long long)off, msg);
	return -1;
}

/*
 * Makes n bytes from the read position available in r->buf.  1 when they
 * are, 0 at a clean end of file (no byte at all), -1 with *cause on a read
 * error or a file that ends inside them (what names the thing cut).
 */
static int
pcap_need(struct pcap_reader *r, size_t n, const char *what, char **cause)
{
	ssize_t	got;
	char	msg[128];

	while (r->len - r->pos < n) {
		if (r->eof) {
			if (r->len == r->pos)
				return 0;
			snprintf(msg, sizeof msg, "the file ends inside %s "
			    "(%zu of %zu bytes present)", what, r->len - r->pos,
			    n);
			return pcap_fail(r, r->base + r->pos, cause, msg);
		}
		if (r->pos > 0 && r->pos >= r->len / 2) {
			memmove(r->buf, r->buf + r->pos, r->len - r->pos);
			r->base += r->pos;
			r->len -= r->pos;
			r->pos = 0;
		}
		if (r->cap - r->len < 65536 || r->cap < n) {
			r->cap = (r->cap < n ? n : r->cap) + 65536;
			r->buf = xrealloc(r->buf, r->cap);
		}
		got = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			*cause = xasprintf("%s: %s", r->path, strerror(errno));
			return -1;
		}
		if (got == 0)
			r->eof = 1;
		r->len += (size_t)got;
	}
	return 1;
}

/* Reads the classic file header (magic known): 0 or -1 + *cause. */
static int
pcap_classic_header(struct pcap_reader *r, uint32_t magic, char **cause)
{
	const unsigned char	*h = r->buf + r->pos;

	r->nsec = magic == 0xa1b23c4du || magic == 0x4d3cb2a1u;
	r->swap = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
	if (pcap_u16(r, h + 4) != 2)
		return pcap_fail(r, 4, cause, "unsupported pcap version");
	r->snaplen = pcap_u32(r, h + 16);
	/* The upper bits of the link type field carry FCS information. */
	r->linktype = (int)(pcap_u32(r, h + 20) & 0x0fffffff);
	r->pos += 24;
	return 0;
}

struct pcap_reader *
pcap_open(const char *path, char **cause)
{
	struct pcap_reader	*r;
	uint32_t		 magic;
	int			 rc;

	r = xcalloc(1, sizeof *r);
	r->path = xstrdup(path);
	if (strcmp(path, "-") == 0)
		r->fd = STDIN_FILENO;
	else if ((r->fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		r->fd = -1;
		pcap_close(r);
		return NULL;
	}
	rc = pcap_need(r, 4, "the magic number", cause);
	if (rc != 1) {
		if (rc == 0)
			(void)pcap_fail(r, 0, cause, "empty file: not a pcap "
			    "or pcapng file");
		else if (r->eof) {	/* shorter than any magic number */
			free(*cause);
			(void)pcap_fail(r, 0, cause, "not a pcap or pcapng "
			    "file");
		}
		pcap_close(r);
		return NULL;
	}
	magic = pcap_le32(r->buf);
	switch (magic) {
	case 0xa1b2c3d4u: case 0xd4c3b2a1u:
	case 0xa1b23c4du: case 0x4d3cb2a1u:
		if (pcap_need(r, 24, "the file header", cause) == 1 &&
		    pcap_classic_header(r, magic, cause) == 0)
			return r;
		break;
	case PCAPNG_SHB:
		r->ng = 1;	/* the section header is read as a block */
		return r;
	default:
		(void)pcap_fail(r, 0, cause, "not a pcap or pcapng file "
		    "(unknown magic number)");
		break;
	}
	pcap_close(r);
	return NULL;
}

void
pcap_close(struct pcap_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd != -1 && r->fd != STDIN_FILENO)
		close(r->fd);
	free(r->ifaces);
	free(r->buf);
	free(r->path);
	free(r);
}

const char *
pcap_format(const struct pcap_reader *r)
{
	return r->ng ? "pcapng" : "pcap";
}

static int
pcap_next_classic(struct pcap_reader *r, struct pcap_pkt *pkt, char **cause)
{
	const unsigned char	*h;
	uint32_t		 sec, frac, incl, orig;
	uint64_t		 off = r->base + r->pos;
	int			 rc;

	if ((rc = pcap_need(r, 16, "a record header", cause)) != 1)
		return rc;
	h = r->buf + r->pos;
	sec = pcap_u32(r, h);
	frac = pcap_u32(r, h + 4);
	incl = pcap_u32(r, h + 8);
	orig = pcap_u32(r, h + 12);
	if (incl > PCAP_MAX_BLOCK)
		return pcap_fail(r, off, cause, "record length too large "
		    "(a damaged file?)");
	if (frac >= (r->nsec ? 1000000000u : 1000000u))
		return pcap_fail(r, off, cause, "record timestamp fraction "
		    "out of range (a damaged file?)");
	if ((rc = pcap_need(r, 16 + (size_t)incl, "a packet record",
	    cause)) != 1)
		return rc == 0 ? pcap_fail(r, off, cause, "truncated record") :
		    -1;
	pkt->ns = (uint64_t)sec * 1000000000u + (r->nsec ? frac :
	    (uint64_t)frac * 1000u);
	pkt->linktype = r->linktype;
	pkt->data = r->buf + r->pos + 16;
	pkt->len = incl;
	pkt->orig_len = orig < incl ? incl : orig;
	pkt->offset = off;
	r->pos += 16 + (size_t)incl;
	return 1;
}

/* A section header block (body b of blen bytes): byte order, and the
 * section's interfaces start anew. */
static int
pcap_ng_section(struct pcap_reader *r, const unsigned char *b, size_t blen,
    uint64_t off, char **cause)
{
	if (blen < 16)
		return pcap_fail(r, off, cause, "section header block too "
		    "short");
	if (pcap_u16(r, b + 4) != 1)
		return pcap_fail(r, off + 12, cause, "unsupported pcapng "
		    "major version");
	r->nifaces = 0;
	return 0;
}

/* The if_tsresol and if_tsoffset options of an interface block. */
static int
pcap_ng_iface_options(struct pcap_reader *r, struct pcap_iface *ifc,
    const unsigned char *p, size_t n, uint64_t off, char **cause)
{
	uint16_t	code, olen;
	unsigned	v, i;
	int64_t		s;

	while (n >= 4) {
		code = pcap_u16(r, p);
		olen = pcap_u16(r, p + 2);
		if (code == 0)
			break;
		if ((size_t)4 + olen > n)
			return pcap_fail(r, off, cause, "interface option "
			    "runs past its block");
		if (code == 9 && olen >= 1) {
			v = p[4];
			if ((v & 0x80) ? (v & 0x7f) > 63 : v > 19)
				return pcap_fail(r, off, cause, "unsupported "
				    "if_tsresol");
			ifc->units = 1;
			for (i = 0; i < (v & 0x7f); i++)
				ifc->units *= (v & 0x80) ? 2 : 10;
		} else if (code == 14 && olen >= 8) {
			s = (int64_t)((uint64_t)pcap_u32(r, p + (r->swap ?
			    4 : 8)) << 32 | pcap_u32(r, p + (r->swap ? 8 :
			    4)));
			ifc->offset_s = s;
		}
		olen = (uint16_t)((olen + 3u) & ~3u);
		p += 4 + (size_t)olen;
		n -= (size_t)4 + olen < n ? (size_t)4 + olen : n;
	}
	return 0;
}

static int
pcap_ng_iface(struct pcap_reader *r, const unsigned char *b, size_t blen,
    uint64_t off, char **cause)
{
	struct pcap_iface	*ifc;

	if (blen < 8)
		return pcap_fail(r, off, cause, "interface description "
		    "block too short");
	if (r->nifaces >= PCAP_MAX_IFACES)
		return pcap_fail(r, off, cause, "too many interfaces");
	r->ifaces = xreallocarray(r->ifaces, r->nifaces + 1,
	    sizeof *r->ifaces);
	ifc = &r->ifaces[r->nifaces++];
	ifc->linktype = pcap_u16(r, b);
	ifc->snaplen = pcap_u32(r, b + 4);
	ifc->units = 1000000;
	ifc->offset_s = 0;
	return pcap_ng_iface_options(r, ifc, b + 8, blen - 8, off, cause);
}

/* Fills pkt from a packet of interface id whose 64-bit timestamp is ts. */
static int
pcap_ng_packet(struct pcap_reader *r, struct pcap_pkt *pkt, uint32_t id,
    uint64_t ts, const unsigned char *data, size_t cap, size_t orig,
    uint64_t off, char **cause)
{
	const struct pcap_iface	*ifc;

	if (id >= r->nifaces)
		return pcap_fail(r, off, cause, "packet of an interface "
		    "that was not described");
	ifc = &r->ifaces[id];
	pkt->ns = (uint64_t)((int64_t)(ts / ifc->units) + ifc->offset_s) *
	    1000000000u + (uint64_t)((unsigned __int128)(ts % ifc->units) *
	    1000000000u / ifc->units);
	pkt->linktype = ifc->linktype;
	pkt->data = data;
	pkt->len = cap;
	pkt->orig_len = orig < cap ? cap : orig;
	pkt->offset = off;
	return 1;
}

/*
 * One pcapng block of type t, body b of blen bytes: 1 with a packet, 0
 * for a block that carries none, -1 + *cause.
 */
static int
pcap_ng_block(struct pcap_reader *r, struct pcap_pkt *pkt, uint32_t t,
    const unsigned char *b, size_t blen, uint64_t off, char **cause)
{
	uint32_t	cap, orig, id;
	uint64_t	ts;

	switch (t) {
	case PCAPNG_SHB:
		return pcap_ng_section(r, b, blen, off, cause);
	case PCAPNG_IDB:
		return pcap_ng_iface(r, b, blen, off, cause);
	case PCAPNG_EPB:
	case PCAPNG_PB:
		if (blen < 20)
			return pcap_fail(r, off, cause, "packet block too "
			    "short");
		id = t == PCAPNG_EPB ? pcap_u32(r, b) : pcap_u16(r, b);
		ts = (uint64_t)pcap_u32(r, b + 4) << 32 | pcap_u32(r, b + 8);
		cap = pcap_u32(r, b + 12);
		orig = pcap_u32(r, b + 16);
		if (cap > blen - 20)
			return pcap_fail(r, off, cause, "captured length "
			    "runs past its block");
		return pcap_ng_packet(r, pkt, id, ts, b + 20, cap, orig, off,
		    cause);
	case PCAPNG_SPB:
		if (blen < 4)
			return pcap_fail(r, off, cause, "simple packet block "
			    "too short");
		if (r->nifaces == 0)
			return pcap_fail(r, off, cause, "packet of an "
			    "interface that was not described");
		orig = pcap_u32(r, b);
		cap = orig;
		if (r->ifaces[0].snaplen != 0 && cap > r->ifaces[0].snaplen)
			cap = r->ifaces[0].snaplen;
		if (cap > blen - 4)
			cap = (uint32_t)(blen - 4);
		/* No timestamp: it takes 0 and the reader's clock decides
		 * nothing from it. */
		return pcap_ng_packet(r, pkt, 0, 0, b + 4, cap, orig, off,
		    cause);
	default:
		return 0;
	}
}

static int
pcap_next_ng(struct pcap_reader *r, struct pcap_pkt *pkt, char **cause)
{
	const unsigned char	*h;
	uint32_t		 t, total;
	uint64_t		 off;
	int			 rc;

	for (;;) {
		off = r->base + r->pos;
		if ((rc = pcap_need(r, 12, "a block header", cause)) != 1)
			return rc;
		h = r->buf + r->pos;
		t = pcap_le32(h);
		if (t == PCAPNG_SHB) {
			/* Each section says its own byte order. */
			if (pcap_le32(h + 8) == PCAPNG_BOM)
				r->swap = 0;
			else if (pcap_le32(h + 8) == 0x4D3C2B1Au)
				r->swap = 1;
			else
				return pcap_fail(r, off + 8, cause, "section "
				    "header with an unknown byte-order magic");
		}
		t = pcap_u32(r, h);
		total = pcap_u32(r, h + 4);
		if (total < 12 || total % 4 != 0 || total > PCAP_MAX_BLOCK)
			return pcap_fail(r, off + 4, cause, "bad block length "
			    "(a damaged file?)");
		if ((rc = pcap_need(r, total, "a block", cause)) != 1)
			return rc == 0 ? pcap_fail(r, off, cause, "truncated "
			    "block") : -1;
		h = r->buf + r->pos;
		if (pcap_u32(r, h + total - 4) != total)
			return pcap_fail(r, off, cause, "block length and its "
			    "trailing copy differ (a damaged file?)");
		r->pos += total;
		rc = pcap_ng_block(r, pkt, t, h + 8, total - 12, off, cause);
		if (rc != 0)
			return rc;
	}
}

int
pcap_next(struct pcap_reader *r, struct pcap_pkt *pkt, char **cause)
{
	return r->ng ? pcap_next_ng(r, pkt, cause) :
	    pcap_next_classic(r, pkt, cause);
}

/* The IP version a protocol number (ethertype) or first nibble names:
 * 0 when it is neither IPv4 nor IPv6. */
static int
pcap_ethertype_ip(unsigned type)
{
	return type == 0x0800 || type == 0x86dd;
}

int
pcap_ip_offset(int linktype, const unsigned char *p, size_t len, size_t *off)
{
	unsigned	type, af;
	size_t		o, at;

	switch (linktype) {
	case PCAP_LINK_ETHERNET:
		o = 12;
		for (;;) {
			if (len < o + 2)
				return -1;
			type = (unsigned)p[o] << 8 | p[o + 1];
			if (type != 0x8100 && type != 0x88a8 &&
			    type != 0x9100)
				break;
			o += 4;		/* a VLAN tag */
		}
		if (!pcap_ethertype_ip(type))
			return -1;
		o += 2;
		break;
	case PCAP_LINK_LINUX_SLL:
	case PCAP_LINK_LINUX_SLL2:
		/* Linux cooked headers: 16 bytes, the protocol at 14; v2:
		 * 20 bytes, the protocol first. */
		o = linktype == PCAP_LINK_LINUX_SLL ? 16 : 20;
		at = linktype == PCAP_LINK_LINUX_SLL ? 14 : 0;
		if (len < o || !pcap_ethertype_ip((unsigned)p[at] << 8 |
		    p[at + 1]))
			return -1;
		break;
	case PCAP_LINK_NULL:
	case PCAP_LINK_LOOP:
		if (len < 4)
			return -1;
		/* An address family of the capturing host (NULL: its own
		 * byte order; LOOP: network order): 2 is AF_INET, 10, 24,
		 * 28 and 30 are AF_INET6 on Linux and the BSDs. */
		af = p[0] | p[1] | p[2] | p[3];
		if (af != 2 && af != 10 && af != 24 && af != 28 && af != 30)
			return -1;
		o = 4;
		break;
	case PCAP_LINK_RAW:
	case PCAP_LINK_IPV4:
	case PCAP_LINK_IPV6:
	case 12:	/* LINKTYPE_RAW as some systems number it */
	case 14:
		o = 0;
		break;
	default:
		return -1;
	}
	if (len <= o || ((p[o] >> 4) != 4 && (p[o] >> 4) != 6))
		return -1;
	*off = o;
	return 0;
}
