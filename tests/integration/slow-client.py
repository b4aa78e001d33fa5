# slow-client.py PORT SPEC... -- clients that trickle, for t-record-slow.sh.
#
# Each SPEC is KIND:COUNT; KIND is head (a request head, one byte per
# 0.2 s), body (a whole head, then a 1000-byte body one byte per 0.2 s),
# silent (connects, sends nothing) or slowok (a 4 KiB body in 512-byte
# pieces 0.2 s apart: slower than a 1 s --body-timeout, faster than 1
# KiB/s).  All run at once; each prints "KIND STATUS SECONDS" when the
# server answers or closes (STATUS "eof" for a close without an answer,
# "timeout" past 30 s), SECONDS counted from its connect.
import socket, sys, threading, time

port = int(sys.argv[1])
out, lock = [], threading.Lock()

def answer(s, t0):
    s.settimeout(30 - (time.monotonic() - t0))
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except OSError:
        pass
    if data.startswith(b"HTTP/1.1 "):
        return data[9:12].decode()
    return "eof" if time.monotonic() - t0 < 30 else "timeout"

def closed(s):
    """True once the server has sent something or closed."""
    s.setblocking(False)
    try:
        b = s.recv(1, socket.MSG_PEEK)
        return True if b == b"" or b else False
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.setblocking(True)

def trickle(s, t0, data, piece, gap):
    for i in range(0, len(data), piece):
        if closed(s) or time.monotonic() - t0 > 30:
            return
        try:
            s.sendall(data[i:i + piece])
        except OSError:
            return
        time.sleep(gap)

def client(kind):
    s = socket.create_connection(("127.0.0.1", port))
    t0 = time.monotonic()
    if kind == "head":
        trickle(s, t0, b"GET /v1/stock/sku-1001 HTTP/1.1\r\nHost: x\r\n"
                b"X-Pad: " + b"a" * 400 + b"\r\n\r\n", 1, 0.2)
    elif kind == "body":
        s.sendall(b"POST /v1/reservations HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 1000\r\n\r\n")
        trickle(s, t0, b"x" * 1000, 1, 0.2)
    elif kind == "slowok":
        s.sendall(b"POST /v1/reservations HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 4096\r\nConnection: close\r\n\r\n")
        trickle(s, t0, b"y" * 4096, 512, 0.2)
    status = answer(s, t0)
    with lock:
        out.append("%s %s %.2f" % (kind, status, time.monotonic() - t0))
    s.close()

threads = []
for spec in sys.argv[2:]:
    kind, n = spec.split(":")
    for _ in range(int(n)):
        threads.append(threading.Thread(target=client, args=(kind,)))
for t in threads:
    t.start()
for t in threads:
    t.join()
print("\n".join(out))
