#!/usr/bin/python3
"""miss-timing.py -- times unmatched requests on one connection while
another keeps sending matched ones (t-respond-miss-index.sh).

Usage: miss-timing.py PORT MISSES HIT_PATH MISS_PATH...
Sends MISSES requests (cycling over the MISS_PATHs) one at a time on a
keep-alive connection and times each; a child process sends HIT_PATH on
its own connection the whole time.  Prints "misses=N avg_ms=A max_ms=M
hits_during=H bad=B" and the first 404 body; exit 0.
"""
import socket
import sys
import os
import time


def fetch(sock, rfile, path):
    sock.sendall(("GET %s HTTP/1.1\r\nHost: svc\r\n\r\n" % path).encode())
    status = rfile.readline()
    code = int(status.split()[1])
    length = 0
    while True:
        line = rfile.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return code, rfile.read(length)


def main():
    port = int(sys.argv[1])
    misses = int(sys.argv[2])
    hit = sys.argv[3]
    miss_paths = sys.argv[4:]
    # The matched traffic runs in a child process: a thread would share
    # the interpreter lock and add its switch interval to the timings.
    rd, wr = os.pipe()
    crd, cwr = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(wr)
        os.close(crd)
        hs = socket.create_connection(("127.0.0.1", port), 10)
        hf = hs.makefile("rb")
        ok = nok = 0
        os.set_blocking(rd, False)
        while True:
            code, _ = fetch(hs, hf, hit)
            if code == 200:
                ok += 1
            else:
                nok += 1
            if ok == 1 and nok == 0:
                os.write(cwr, b"r")
            try:
                if os.read(rd, 1) == b"":
                    break
            except BlockingIOError:
                pass
        os.write(cwr, ("%d %d\n" % (ok, nok)).encode())
        os._exit(0)
    os.close(rd)
    os.close(cwr)
    os.read(crd, 1)  # the hitter is running
    s = socket.create_connection(("127.0.0.1", port), 10)
    f = s.makefile("rb")
    times = []
    bad = 0
    first = None
    for i in range(misses):
        t0 = time.perf_counter()
        code, body = fetch(s, f, miss_paths[i % len(miss_paths)])
        times.append(time.perf_counter() - t0)
        if code != 404:
            bad += 1
        if first is None:
            first = body
    os.close(wr)
    out = b""
    while not out.endswith(b"\n"):
        chunk = os.read(crd, 64)
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    ok, nok = (int(x) for x in out.split())
    hits = [ok, nok]
    during = ok
    print("misses=%d avg_ms=%.3f max_ms=%.3f hits_during=%d hits_bad=%d "
          "bad=%d" % (len(times), 1000 * sum(times) / len(times),
                      1000 * max(times), during, hits[1], bad))
    print(first.decode(errors="replace"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
