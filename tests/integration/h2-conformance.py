# h2-conformance.py PORT [TLSPORT] -- RFC 9113 cases against decoy's
# responder over raw sockets (stdlib only): each case opens a connection,
# sends the preface, an empty SETTINGS and its frames, reads until the
# peer ends it or 3 s pass, and compares the first GOAWAY / RST_STREAM
# (code) it got with what the RFC asks.  Prints one line per case:
# "PASS|FAIL <case> | got ... want ...".  Ends with a normal request, to
# show the daemon serves on.
import socket
import ssl
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
CODES = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
         "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR",
         "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR",
         "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"]


def code(n):
    return CODES[n] if n < len(CODES) else hex(n)


def frame(t, flags, sid, payload):
    return (struct.pack(">I", len(payload))[1:] + bytes([t, flags]) +
            struct.pack(">I", sid) + payload)


def hdrs(path=b"/ok", extra=b""):
    # HPACK without Huffman: :method GET, :scheme http (static), :path
    # and :authority as literals with an indexed name.
    return (b"\x82\x86\x04" + bytes([len(path)]) + path + b"\x01\x01h" +
            extra)


def connect(port, tls):
    s = socket.create_connection(("127.0.0.1", port))
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        s = ctx.wrap_socket(s, server_hostname="h2.example")
        if s.selected_alpn_protocol() != "h2":
            raise SystemExit("ALPN did not pick h2")
    return s


def run(port, data, tls=False, wait=3.0):
    """The frames the peer answers with, summarised, until EOF or wait."""
    s = connect(port, tls)
    s.settimeout(wait)
    s.sendall(data)
    buf, out, end = b"", [], time.time() + wait
    try:
        while time.time() < end:
            d = s.recv(65536)
            if not d:
                out.append("EOF")
                break
            buf += d
            while len(buf) >= 9:
                ln = int.from_bytes(buf[:3], "big")
                t, sid = buf[3], int.from_bytes(buf[5:9], "big") & 0x7fffffff
                if len(buf) < 9 + ln:
                    break
                p, buf = buf[9:9 + ln], buf[9 + ln:]
                if t == 7:
                    out.append("GOAWAY " + code(int.from_bytes(p[4:8], "big")))
                elif t == 3:
                    out.append("RST_STREAM %d %s" %
                               (sid, code(int.from_bytes(p[:4], "big"))))
                elif t == 1:
                    out.append("HEADERS %d" % sid)
    except (socket.timeout, ssl.SSLError, ConnectionError):
        out.append("TIMEOUT")
    s.close()
    return out


def first_error(out):
    for o in out:
        if o.startswith("GOAWAY") or o.startswith("RST_STREAM"):
            return o
    return "none"


def opening(frames):
    return PREFACE + frame(4, 0, 0, b"") + b"".join(frames)


# (case, frames, answers the RFC allows: the first error frame seen)
CASES = [
    ("5.1.1 HEADERS on an even stream id", [frame(1, 5, 2, hdrs())],
     ["GOAWAY PROTOCOL_ERROR"]),
    ("5.1 DATA on an idle stream", [frame(0, 1, 5, b"x")],
     ["GOAWAY PROTOCOL_ERROR"]),
    ("6.1 DATA on a closed stream",
     [frame(1, 5, 1, hdrs()), frame(0, 1, 1, b"x")],
     ["GOAWAY STREAM_CLOSED", "RST_STREAM 1 STREAM_CLOSED"]),
    ("6.1 DATA on stream 0", [frame(0, 1, 0, b"x")],
     ["GOAWAY PROTOCOL_ERROR"]),
    ("4.2 frame over SETTINGS_MAX_FRAME_SIZE",
     [frame(1, 4, 1, hdrs()), frame(0, 1, 1, b"x" * 16385)],
     ["GOAWAY FRAME_SIZE_ERROR"]),
    ("6.5 SETTINGS length not a multiple of 6",
     [frame(4, 0, 0, b"\x00\x03\x00\x00\x00")], ["GOAWAY FRAME_SIZE_ERROR"]),
    ("6.7 PING of 7 bytes", [frame(6, 0, 0, b"1234567")],
     ["GOAWAY FRAME_SIZE_ERROR"]),
    ("4.3 HPACK: index 0", [frame(1, 5, 1, b"\x80")],
     ["GOAWAY COMPRESSION_ERROR"]),
    ("4.3 HPACK: index past both tables", [frame(1, 5, 1, b"\xff\x7f")],
     ["GOAWAY COMPRESSION_ERROR"]),
    ("6.10 CONTINUATION without HEADERS", [frame(9, 4, 1, b"\x82")],
     ["GOAWAY PROTOCOL_ERROR"]),
    ("8.2.1 uppercase field name",
     [frame(1, 5, 1, hdrs(extra=b"\x00\x03Bad\x01x"))],
     ["RST_STREAM 1 PROTOCOL_ERROR"]),
    ("8.3.1 request without :path", [frame(1, 5, 1, b"\x82\x86\x01\x01h")],
     ["RST_STREAM 1 PROTOCOL_ERROR"]),
    ("8.2.2 connection-specific field",
     [frame(1, 5, 1, hdrs(extra=b"\x00\x0aconnection\x05close"))],
     ["RST_STREAM 1 PROTOCOL_ERROR"]),
    # A stream error the RFC lets an endpoint treat as a connection one.
    ("6.9 WINDOW_UPDATE of 0 on a stream",
     [frame(1, 4, 1, hdrs()), frame(8, 0, 1, b"\x00\x00\x00\x00")],
     ["RST_STREAM 1 PROTOCOL_ERROR", "GOAWAY PROTOCOL_ERROR"]),
    ("6.5.2 SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1",
     [frame(4, 0, 0, b"\x00\x04\x80\x00\x00\x00")],
     ["GOAWAY FLOW_CONTROL_ERROR"]),
]


def main():
    port = int(sys.argv[1])
    tls_port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    for name, frames, want in CASES:
        got = first_error(run(port, opening(frames)))
        print("%s %s | got %s, want %s" % ("PASS" if got in want else "FAIL",
              name, got, " or ".join(want)))
    if tls_port:
        got = first_error(run(tls_port, b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" +
                              b"\x00" * 40, tls=True))
        print("%s 3.4 invalid preface (TLS, ALPN h2) | got %s, want %s" %
              ("PASS" if got == "GOAWAY PROTOCOL_ERROR" else "FAIL", got,
               "GOAWAY PROTOCOL_ERROR"))
    out = run(port, opening([frame(1, 5, 1, hdrs())]), wait=1.0)
    print("%s served on after every case | got %s" %
          ("PASS" if "HEADERS 1" in out and first_error(out) == "none"
           else "FAIL", out))


main()
