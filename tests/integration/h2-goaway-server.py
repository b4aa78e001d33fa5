# h2-goaway-server.py PORTFILE: a cleartext HTTP/2 server (prior
# knowledge) that, on every connection, answers stream 1 (200, "one")
# and then sends GOAWAY with last stream id 1: the connection's other
# streams were not processed (RFC 9113 8.7).  Frames are written by hand
# (HPACK: the static table's :status 200 only); the client's frames are
# read and skipped.  Serves until killed.
import socket
import struct
import sys
import threading

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


def read_exact(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b


def serve(c):
    try:
        read_exact(c, len(PREFACE))
        c.sendall(frame(4, 0, 0))                   # SETTINGS
        answered = False
        while True:
            hd = read_exact(c, 9)
            n = int.from_bytes(hd[:3], "big")
            ftype, flags = hd[3], hd[4]
            sid = int.from_bytes(hd[5:9], "big") & 0x7fffffff
            read_exact(c, n)
            if ftype == 4 and not flags & 1:
                c.sendall(frame(4, 1, 0))           # SETTINGS ACK
            if ftype == 1 and sid == 1 and not answered:
                answered = True
                c.sendall(frame(1, 4, 1, b"\x88") +        # :status 200
                          frame(0, 1, 1, b"one") +          # END_STREAM
                          frame(7, 0, 0, struct.pack(">II", 1, 0)))
    except (EOFError, OSError):
        pass
    finally:
        c.close()


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    conn, _ = s.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
