#!/usr/bin/python3
"""funnel-gen.py -- inputs for t-funnel.sh: traffic made so that each
transaction's fate under a given set of funnel options is known by
construction.

  funnel-gen.py har OUT    writes OUT (a HAR 1.2 file)
  funnel-gen.py pcap OUT   writes OUT (a classic pcap, Ethernet, IPv4:
                           one TCP connection per exchange, server port
                           8080)

Beside OUT it writes OUT.opts (the funnel options, one argument a line)
and OUT.expect (one line per transaction, in input order: "kept" or the
reason the funnel drops it: host, method, path, status, duplicate,
capped).  Standard library only; deterministic."""

import base64
import json
import struct
import sys
import uuid

T0 = 1764133260  # 2025-11-26T05:01:00Z, on a minute


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(sub, exp):
    head = b64url(b'{"alg":"HS256","typ":"JWT"}')
    body = b64url(json.dumps({"sub": sub, "exp": exp},
                             separators=(",", ":")).encode())
    return head + "." + body + "." + b64url(bytes((exp + i) % 256
                                                  for i in range(32)))


def iso(sec):
    ms = int(round((sec - int(sec)) * 1000))
    return "%s.%03dZ" % (__import__("time").strftime(
        "%Y-%m-%dT%H:%M:%S", __import__("time").gmtime(int(sec))), ms)


def nonce(i):
    return str(uuid.UUID(int=(0x5eed << 96) + i * 7919, version=4))


def pay(account, i):
    return json.dumps({"account": account, "amount": 1200,
                       "at": iso(T0 + i), "nonce": nonce(i)},
                      separators=(",", ":"))


# (offset s, method, host, target, status, headers, body, expected)
HAR_OPTS = ["--exclude-host", r"^admin\.", "--include-path", "^/v1/",
            "--method", "GET,POST", "--status", "2xx,404", "--dedup", "1",
            "--cap", "3/1m"]


def har_specs():
    auth1 = [("Authorization", "Bearer " + jwt("acct-1", T0 + 3600))]
    auth2 = [("Authorization", "Bearer " + jwt("acct-1", T0 + 3900))]
    js = [("Content-Type", "application/json")]
    return [
        (0.0, "GET", "api.example", "/v1/orders/1", 200, [], "", "kept"),
        (0.5, "GET", "admin.example", "/v1/orders/1", 200, [], "", "host"),
        (1.0, "GET", "api.example", "/health", 200, [], "", "path"),
        (1.5, "DELETE", "api.example", "/v1/orders/1", 200, [], "",
         "method"),
        (2.0, "GET", "api.example", "/v1/orders/2", 500, [], "", "status"),
        (2.5, "GET", "api.example", "/v1/orders/3", 200, [], "",
         "duplicate"),
        (3.0, "GET", "api.example", "/v1/me", 200, auth1, "", "kept"),
        (3.5, "GET", "api.example", "/v1/me", 200, auth2, "", "duplicate"),
        (4.0, "POST", "api.example", "/v1/pay", 200, js, pay("acct-1", 4),
         "kept"),
        (4.5, "POST", "api.example", "/v1/pay", 200, js, pay("acct-1", 5),
         "duplicate"),
        (5.0, "POST", "api.example", "/v1/pay", 200, js, pay("acct-2", 6),
         "kept"),
        (5.5, "POST", "api.example", "/v1/pay", 404, js, pay("acct-3", 7),
         "kept"),
        (6.0, "POST", "api.example", "/v1/pay", 200, js, pay("acct-4", 8),
         "capped"),
        (61.0, "POST", "api.example", "/v1/pay", 200, js,
         pay("acct-4", 61), "kept"),
        (62.0, "GET", "api.example",
         "/v1/items?since=2025-11-26T05%3A00%3A00Z&page=1", 200, [], "",
         "kept"),
        (62.5, "GET", "api.example",
         "/v1/items?since=2025-11-26T05%3A02%3A00Z&page=1", 200, [], "",
         "duplicate"),
        (63.0, "GET", "api.example", "/v1/items?page=2", 200, [], "",
         "kept"),
    ]


def har(out):
    entries = []
    for off, method, host, target, status, hdrs, body, _ in har_specs():
        req = {"method": method, "url": "http://%s%s" % (host, target),
               "httpVersion": "HTTP/1.1",
               "headers": [{"name": "Host", "value": host}] +
               [{"name": n, "value": v} for n, v in hdrs],
               "queryString": [], "cookies": [], "headersSize": -1,
               "bodySize": len(body)}
        if body:
            req["postData"] = {"mimeType": "application/json", "text": body}
        text = json.dumps({"status": status, "n": len(entries)})
        entries.append({
            "startedDateTime": iso(T0 + off), "time": 3,
            "request": req,
            "response": {"status": status, "statusText": "",
                         "httpVersion": "HTTP/1.1",
                         "headers": [{"name": "Content-Type",
                                      "value": "application/json"}],
                         "cookies": [],
                         "content": {"size": len(text),
                                     "mimeType": "application/json",
                                     "text": text},
                         "redirectURL": "", "headersSize": -1,
                         "bodySize": len(text)},
            "cache": {}, "timings": {"send": 0, "wait": 2, "receive": 1}})
    doc = {"log": {"version": "1.2",
                   "creator": {"name": "funnel-gen", "version": "1"},
                   "entries": entries}}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
    return HAR_OPTS, [s[-1] for s in har_specs()]


PCAP_OPTS = ["--include-host", r"^shop\.", "--exclude-path", r"\.css$",
             "--status", "2xx", "--dedup", "1"]


def pcap_specs():
    tok1 = "Bearer " + jwt("u-7", T0 + 600)
    tok2 = "Bearer " + jwt("u-7", T0 + 660)
    return [
        ("GET", "shop.example", "/cart", [("Authorization", tok1)], "",
         200, "kept"),
        ("GET", "shop.example", "/cart", [("Authorization", tok2)], "",
         200, "duplicate"),
        ("GET", "ads.example", "/cart", [], "", 200, "host"),
        ("GET", "shop.example", "/site.css", [], "", 200, "path"),
        ("POST", "shop.example", "/cart/items",
         [("Content-Type", "application/json")],
         '{"sku":"A-1","qty":2,"at":"%s"}' % iso(T0 + 5), 201, "kept"),
        ("POST", "shop.example", "/cart/items",
         [("Content-Type", "application/json")],
         '{"sku":"A-1","qty":2,"at":"%s"}' % iso(T0 + 9), 201,
         "duplicate"),
        ("POST", "shop.example", "/cart/items",
         [("Content-Type", "application/json")],
         '{"sku":"B-2","qty":1,"at":"%s"}' % iso(T0 + 9), 201, "kept"),
        ("GET", "shop.example", "/missing", [], "", 404, "status"),
    ]


def frame(src, dst, sport, dport, seq, ack, flags, payload):
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags,
                      65535, 0, 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000,
                     64, 6, 0, bytes(src), bytes(dst)) + tcp
    return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip


def pcap(out):
    cli, srv = (10, 0, 0, 1), (10, 0, 0, 2)
    recs = []
    t = float(T0)
    for i, (method, host, path, hdrs, body, status, _) in \
            enumerate(pcap_specs()):
        port = 40000 + i
        req = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, path, host)
        req += "".join("%s: %s\r\n" % h for h in hdrs)
        req += "Content-Length: %d\r\n\r\n%s" % (len(body), body)
        text = '{"n":%d}' % i
        res = ("HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\n\r\n%s" % (status, len(text), text))
        req, res = req.encode(), res.encode()
        cs, ss = 1000, 5000
        pkts = [
            (cli, srv, port, 8080, cs, 0, 0x02, b""),
            (srv, cli, 8080, port, ss, cs + 1, 0x12, b""),
            (cli, srv, port, 8080, cs + 1, ss + 1, 0x10, b""),
            (cli, srv, port, 8080, cs + 1, ss + 1, 0x18, req),
            (srv, cli, 8080, port, ss + 1, cs + 1 + len(req), 0x18, res),
            (cli, srv, port, 8080, cs + 1 + len(req), ss + 1 + len(res),
             0x11, b""),
            (srv, cli, 8080, port, ss + 1 + len(res), cs + 2 + len(req),
             0x11, b""),
            (cli, srv, port, 8080, cs + 2 + len(req), ss + 2 + len(res),
             0x10, b""),
        ]
        for p in pkts:
            recs.append((t, frame(*p)))
            t += 0.001
        t += 0.5
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, fr in recs:
            f.write(struct.pack("<IIII", int(ts), int(round((ts % 1) * 1e6)),
                                len(fr), len(fr)) + fr)
    return PCAP_OPTS, [s[-1] for s in pcap_specs()]


def main():
    mode, out = sys.argv[1], sys.argv[2]
    opts, expect = {"har": har, "pcap": pcap}[mode](out)
    with open(out + ".opts", "w") as f:
        f.write("".join(o + "\n" for o in opts))
    with open(out + ".expect", "w") as f:
        f.write("".join(e + "\n" for e in expect))


if __name__ == "__main__":
    main()
