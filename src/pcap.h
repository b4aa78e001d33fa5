/*
 * pcap.h -- a reader for packet capture files: classic pcap (microsecond
 * and nanosecond variants, either byte order) and pcapng (sections of
 * either byte order, several interfaces with their own link types and
 * timestamp resolutions; enhanced, simple and obsolete packet blocks), as
 * tcpdump, tshark and Wireshark write them, and the link layers that carry
 * IP on Linux captures: Ethernet (with VLAN tags), Linux cooked v1 and v2,
 * raw IP, BSD loopback.
 *
 * The file is read as a stream (a capture may be larger than memory); one
 * packet at a time is kept.  Every error names the file and the byte
 * offset of the record or block at fault.  Written from the format
 * descriptions (pcap: the tcpdump.org file format page; pcapng: the IETF
 * draft draft-ietf-opsawg-pcapng): no libpcap dependency, as decoy needs
 * only to read files, never to capture from them.
 */
#ifndef DECOY_PCAP_H
#define DECOY_PCAP_H

#include <stddef.h>
#include <stdint.h>

/* Link types (the LINKTYPE_* numbers of tcpdump.org). */
#define PCAP_LINK_NULL		0
#define PCAP_LINK_ETHERNET	1
#define PCAP_LINK_RAW		101
#define PCAP_LINK_LOOP		108
#define PCAP_LINK_LINUX_SLL	113
#define PCAP_LINK_IPV4		228
#define PCAP_LINK_IPV6		229
#define PCAP_LINK_LINUX_SLL2	276

struct pcap_pkt {
	uint64_t		 ns;		/* capture time, ns since the
						   epoch (UTC) */
	int			 linktype;
	const unsigned char	*data;		/* valid until the next call */
	size_t			 len;		/* bytes captured */
	size_t			 orig_len;	/* bytes the packet had */
	uint64_t		 offset;	/* of its record in the file */
};

struct pcap_reader;

/*
 * Opens path ("-" is stdin) and reads its file header: NULL with *cause
 * ("FILE: byte 0: not a pcap or pcapng file") if it is neither format.
 */
struct pcap_reader *pcap_open(const char *path, char **cause);
void		 pcap_close(struct pcap_reader *);
/* "pcap" or "pcapng". */
const char	*pcap_format(const struct pcap_reader *);

/*
 * The next packet: 1 with *pkt filled, 0 at the end of the file, -1 with
 * *cause naming the file and byte offset (a truncated record, a block
 * length that does not add up, an unknown interface, a read error).
 * Blocks that carry no packet (statistics, name resolution, custom) are
 * skipped.
 */
int		 pcap_next(struct pcap_reader *, struct pcap_pkt *,
		    char **cause);

/*
 * Where the IP packet of a frame of link type linktype starts: 0 with *off
 * set, or -1 when the frame carries no IPv4/IPv6 packet or the link type
 * is not one of the PCAP_LINK_* above.
 */
int		 pcap_ip_offset(int linktype, const unsigned char *frame,
		    size_t len, size_t *off);

#endif
