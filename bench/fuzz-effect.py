#!/usr/bin/python3
"""fuzz-effect.py -- byte-mutation baselines for bench/fuzz-effect.sh.

Sends N byte-mutated requests of a corpus (.http files, round robin) to
examples/buggy, one per connection, half-closed after the request (as a
`zzuf ... | nc` replay would), restarting the service when it dies, and
prints, per planted bug, the first request (1-based) and the seconds it
took to trigger it, as JSON.

Mutators:
  zzuf     `zzuf -r RATIO -s SEED cat FILE` (the Debian package), seed =
           request number
  radamsa  a radamsa-style mutator written here (radamsa is not a Debian
           package): 1-3 of bit flip, byte increment or decrement, random
           byte, delete / duplicate / repeat a run, insert an interesting
           number as text, swap or repeat a line

A planted bug is recognised by what the service does: a 500 naming its
exception, a death (and what it printed), a hang on /upload (no answer
within 1 s), an answer of /search slower than 300 ms.

usage: fuzz-effect.py MUTATOR BUGGY CORPUS N SEED
"""
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time

EXC = {"AttributeError": "missing-email", "TypeError": "string-amount",
       "KeyError": "missing-currency", "OverflowError": "amount-overflow",
       "IndexError": "moderate-nesting"}
BUGS = ["negative-qty", "missing-email", "string-amount", "missing-currency",
        "amount-overflow", "upload-hang", "long-header", "deep-nesting",
        "deep-pagination", "moderate-nesting"]
INTERESTING = [b"0", b"-1", b"-129", b"127", b"128", b"255", b"256",
               b"32767", b"65535", b"65536", b"2147483647", b"2147483648",
               b"4294967296", b"9223372036854775808", b"1e309", b"-0"]


def radamsa(data, rng):
    d = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        if not d:
            d = bytearray(b"\x00")
        i = rng.randrange(len(d))
        op = rng.randrange(9)
        if op == 0:
            d[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            d[i] = (d[i] + rng.choice((1, -1))) & 0xff
        elif op == 2:
            d[i] = rng.randrange(256)
        elif op == 3:
            del d[i:i + rng.randint(1, 16)]
        elif op == 4:
            run = d[i:i + rng.randint(1, 16)]
            d[i:i] = run
        elif op == 5:
            run = d[i:i + rng.randint(1, 4)]
            d[i:i] = run * rng.choice((2, 16, 256, 4096))
        elif op == 6:
            j = i
            while j < len(d) and 48 <= d[j] <= 57:
                j += 1
            d[i:j] = rng.choice(INTERESTING)
        else:
            lines = bytes(d).split(b"\n")
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            if op == 7:
                lines[a], lines[b] = lines[b], lines[a]
            else:
                lines.insert(a, lines[b])
            d = bytearray(b"\n".join(lines))
    return bytes(d)


def zzuf(path, seed, ratio):
    return subprocess.run(["zzuf", "-r", str(ratio), "-s", str(seed), "cat",
                           path], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL).stdout


class Service:
    def __init__(self, buggy, logpath):
        self.buggy, self.logpath, self.p = buggy, logpath, None
        self.log = open(logpath, "ab")
        self.off = 0

    def start(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.p = subprocess.Popen([self.buggy, "--port", str(self.port)],
                                  stdout=self.log, stderr=self.log)
        for _ in range(500):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.005)
        raise SystemExit("buggy does not start")

    def died(self, wait):
        deadline = time.time() + wait
        while True:
            rc = self.p.poll()
            if rc is not None:
                return rc
            if time.time() >= deadline:
                return None
            time.sleep(0.002)

    def new_log(self):
        with open(self.logpath, "rb") as f:
            f.seek(self.off)
            text = f.read()
        self.off += len(text)
        return text

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def send(port, raw):
    s = socket.create_connection(("127.0.0.1", port), 1)
    s.settimeout(1)
    t0 = time.time()
    data, timeout = b"", False
    try:
        s.sendall(raw)
        s.shutdown(socket.SHUT_WR)
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
    except socket.timeout:
        timeout = True
    except OSError:
        pass
    finally:
        s.close()
    return data, timeout, time.time() - t0


def classify(raw, data, timeout, secs, rc, log):
    first = raw.split(b"\r\n", 1)[0]
    if rc is not None:
        if b"negative quantity" in log:
            return "negative-qty"
        if b"stack smashing" in log or b"stack-buffer-overflow" in log:
            return "long-header"
        if rc == -signal.SIGSEGV or b"stack-overflow" in log:
            return "deep-nesting"
        return None
    if timeout and not data and b"/upload" in first:
        return "upload-hang"
    m = re.match(rb"HTTP/1\.[01] 500 .*?\"exception\":\"(\w+)\"", data, re.S)
    if m:
        return EXC.get(m.group(1).decode())
    if data.startswith(b"HTTP/1.1 200") and b"/search" in first and \
            secs > 0.3:
        return "deep-pagination"
    return None


def main():
    mutator, buggy, corpus, n, seed = sys.argv[1:6]
    n, seed = int(n), int(seed)
    files = sorted(os.path.join(corpus, f) for f in os.listdir(corpus)
                   if f.endswith(".http"))
    blobs = [open(f, "rb").read() for f in files]
    rng = random.Random(seed)
    svc = Service(buggy, os.environ.get("SERVICE_LOG", "/dev/null"))
    svc.start()
    first, t0 = {}, time.time()
    for i in range(n):
        k = i % len(files)
        if mutator == "zzuf":
            raw = zzuf(files[k], seed * 1000003 + i, 0.004)
        else:
            raw = radamsa(blobs[k], rng)
        try:
            data, timeout, secs = send(svc.port, raw)
        except OSError:
            data, timeout, secs = b"", False, 0
        rc = svc.died(0.03 if not data else 0)
        bug = classify(raw, data, timeout, secs, rc, svc.new_log())
        if bug and bug not in first:
            first[bug] = {"request": i + 1,
                          "seconds": round(time.time() - t0, 2)}
        if rc is not None or svc.p.poll() is not None:
            svc.stop()
            svc.start()
    svc.stop()
    print(json.dumps({"mutator": mutator, "requests": n,
                      "seconds": round(time.time() - t0, 1),
                      "first": first}))


main()
