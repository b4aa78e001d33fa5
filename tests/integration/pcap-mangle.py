#!/usr/bin/python3
"""pcap-mangle.py -- rewrites a classic pcap (Ethernet or Linux cooked)
the way a lossy network would have delivered it, for t-import-pcap:

  pcap-mangle.py reorder IN OUT PORT  swap every pair of consecutive TCP
                                      data segments that the server (PORT)
                                      sent on one flow (out of order)
  pcap-mangle.py dup IN OUT PORT      send every data segment twice
                                      (retransmissions)
  pcap-mangle.py drop IN OUT PORT     drop the second data segment of the
                                      server's largest flow (a gap)

Prints how many segments it moved, copied or dropped.  Standard library
only; the packets themselves are copied unchanged."""

import struct
import sys


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        sys.exit("pcap-mangle: %s: not a little-endian classic pcap" % path)
    link = struct.unpack("<I", data[20:24])[0]
    recs, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        recs.append([sec, frac, orig, data[off + 16:off + 16 + incl]])
        off += 16 + incl
    return data[:24], link, recs


def tcp_of(link, frame):
    """(flow key, server sent it, payload length) of a TCP packet, or None."""
    off = {1: 14, 113: 16, 276: 20}.get(link)
    if off is None:
        sys.exit("pcap-mangle: link type %d not handled" % link)
    ip = frame[off:]
    if not ip:
        return None
    if ip[0] >> 4 == 4 and ip[9] == 6:
        ihl = (ip[0] & 15) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        addrs = ip[12:20]
    elif ip[0] >> 4 == 6 and ip[6] == 6:
        ihl = 40
        total = 40 + struct.unpack(">H", ip[4:6])[0]
        addrs = ip[8:40]
    else:
        return None
    tcp = ip[ihl:]
    sport, dport = struct.unpack(">HH", tcp[:4])
    thl = (tcp[12] >> 4) * 4
    return (addrs, sport, dport), sport, total - ihl - thl


def main():
    mode, src, dst, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    head, link, recs = read_pcap(src)
    out, n = [], 0
    data = []                       # indexes of the server's data segments
    for i, r in enumerate(recs):
        t = tcp_of(link, r[3])
        if t and t[1] == port and t[2] > 0:
            data.append((i, t[0]))
    if mode == "reorder":
        order = list(range(len(recs)))
        j = 0
        while j + 1 < len(data):
            (a, ka), (b, kb) = data[j], data[j + 1]
            if ka == kb:
                order[a], order[b] = order[b], order[a]
                n += 2
                j += 2
            else:
                j += 1
        out = [recs[k] for k in order]
    elif mode == "dup":
        idx = set(i for i, _ in data)
        for i, r in enumerate(recs):
            out.append(r)
            if i in idx:
                out.append(r)
                n += 1
    elif mode == "drop":
        per = {}
        for i, k in data:
            per.setdefault(k, []).append(i)
        flow = max(per.values(), key=len)
        if len(flow) < 3:
            sys.exit("pcap-mangle: no flow with 3 data segments to drop from")
        out = [r for i, r in enumerate(recs) if i != flow[1]]
        n = 1
    else:
        sys.exit("pcap-mangle: unknown mode " + mode)
    with open(dst, "wb") as f:
        f.write(head)
        for sec, frac, orig, frame in out:
            f.write(struct.pack("<IIII", sec, frac, len(frame), orig))
            f.write(frame)
    print(n)


main()
