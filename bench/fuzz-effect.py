#!/usr/bin/python3
"""fuzz-effect.py -- byte-mutation baselines for bench/fuzz-effect.sh.

Sends N byte-mutated requests of a corpus (.http files, round robin) to a
planted-bug service, one per connection, half-closed after the request
(as a `zzuf ... | nc` replay would), restarting the service when it
dies, and prints, per planted bug, the first request (1-based) and the
seconds it took to trigger it, as JSON.

Services (PROFILE):
  buggy     examples/buggy/buggy (C), ten planted bugs
  buggy-py  examples/buggy-py/buggy.py (Python's http.server and json),
            six planted bugs

Mutators:
  zzuf     `zzuf -r RATIO -s SEED cat FILE` (the Debian package), seed =
           request number
  radamsa  a radamsa-style mutator written here (radamsa is not a Debian
           package): 1-3 of bit flip, byte increment or decrement, random
           byte, delete / duplicate / repeat a run, insert an interesting
           number as text, swap or repeat a line

A planted bug is recognised by what the service does: a 500 naming its
exception (examples/buggy: in its JSON; buggy-py: a traceback's last
line), a death (and what it printed, or its signal), a hang on /upload
(no answer within 1 s), an answer of /search slower than 300 ms.

`table` prints the side-by-side table of one service and one seed from
the directory fuzz-effect.sh filled (zzuf.json, rad.json, and per decoy
LABEL a directory LABEL/ with decoy.json and f/*/finding.json), mapping
each decoy finding to its planted bug the same way.  `summary` prints,
over several such seed directories, the per-bug medians, the ratio of
decoy's median to the better baseline's, the per-seed ratios, campaign
times and bugs found.

usage: fuzz-effect.py MUTATOR PROFILE SERVICE CORPUS N SEED
       fuzz-effect.py table PROFILE DIR [LABEL...]
       fuzz-effect.py summary PROFILE DIR "SEED..." "LABEL..." N
"""
import glob
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
# examples/buggy-py: the exception a traceback ends with, per endpoint.
PY_EXC = {("POST", "KeyError"): "missing-field",
          ("POST", "TypeError"): "wrong-type",
          ("POST", "OverflowError"): "int32-overflow",
          ("POST", "IndexError"): "moderate-nesting",
          ("GET", "ValueError"): "bad-limit"}
PY_BUGS = ["missing-field", "wrong-type", "int32-overflow",
           "moderate-nesting", "negative-qty", "bad-limit"]
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
    def __init__(self, cmd, logpath):
        self.cmd, self.logpath, self.p = cmd, logpath, None
        self.log = open(logpath, "ab")
        self.off = 0

    def start(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.p = subprocess.Popen(self.cmd + ["--port", str(self.port)],
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
    """examples/buggy's planted bug behind one outcome, or None."""
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


def classify_py(raw, data, timeout, secs, rc, log):
    """examples/buggy-py's planted bug behind one outcome, or None."""
    if rc is not None:
        return "negative-qty" if rc == -signal.SIGABRT else None
    if not re.match(rb"HTTP/1\.[01] 500 ", data):
        return None
    body = data.split(b"\r\n\r\n", 1)[-1].strip().split(b"\n")[-1]
    method = raw.split(b" ", 1)[0].decode("latin-1")
    return PY_EXC.get((method, body.split(b":", 1)[0].decode("latin-1")))


def decoy_bug(profile, f):
    """The planted bug a decoy finding (finding.json) is, or "?"."""
    k, ep, sig = f["kind"], f["endpoint"], f.get("signature") or ""
    if profile == "buggy-py":
        if k == "crash" and sig == "signal SIGABRT":
            return "negative-qty"
        m = re.match(r"(\w+) in ", sig)
        if k == "5xx" and m:
            return PY_EXC.get((ep.split(" ")[0], m.group(1)), "?")
        return "?"
    if k == "5xx":
        for e, b in EXC.items():
            if "exception=" + e in sig:
                return b
    return {("crash", "POST /cart/items"): "negative-qty",
            ("timeout", "POST /upload"): "upload-hang",
            ("crash", "GET /search"): "long-header",
            ("slow", "GET /search"): "deep-pagination",
            ("crash", "POST /documents"): "deep-nesting"}.get((k, ep), "?")


def decoy_first(profile, d):
    """decoy's first hits per planted bug from DIR (decoy.json, f/): a
    dict bug -> {request, seconds}, the run's summary, extra findings."""
    run = json.load(open(os.path.join(d, "decoy.json")))
    decoy, extra = {}, []
    for fj in sorted(glob.glob(os.path.join(d, "f", "*", "finding.json"))):
        f = json.load(open(fj))
        b = decoy_bug(profile, f)
        if b in decoy or b == "?":
            extra.append(os.path.basename(os.path.dirname(fj)))
            continue
        decoy[b] = {"request": f["mutant"] + 1, "seconds": f["found_after_s"]}
    return decoy, run, extra


def cell(m, b):
    x = m.get(b)
    return "-" if x is None else "%d (%.1f s)" % (x["request"], x["seconds"])


def table(profile, d, labels=("decoy",)):
    """Prints decoy (one column per label: DIR/LABEL, or DIR itself for
    the single label "decoy" when DIR/decoy.json exists) vs the
    baselines, per planted bug, for one service and one seed."""
    bugs = PY_BUGS if profile == "buggy-py" else BUGS
    runs = []
    for lab in labels:
        sub = d if os.path.exists(os.path.join(d, "decoy.json")) else \
            os.path.join(d, lab)
        runs.append((lab,) + decoy_first(profile, sub))
    z = json.load(open(os.path.join(d, "zzuf.json")))
    r = json.load(open(os.path.join(d, "rad.json")))
    cols = [lab for lab, _, _, _ in runs] + ["zzuf", "radamsa-style"]
    print("%-18s" % "bug" + "".join(" %-20s" % c for c in cols))
    for b in bugs:
        print("%-18s" % b + "".join(" %-20s" % cell(m, b) for m in
              [x[1] for x in runs] + [z["first"], r["first"]]))
    n = len(bugs)
    print("%-18s" % "found" + "".join(
        " %-20s" % ("%d/%d in %.0f s" % (len(m), n, secs)) for m, secs in
        [(x[1], x[2]["elapsed_s"]) for x in runs] +
        [(z["first"], z["seconds"]), (r["first"], r["seconds"])]))
    for lab, decoy, run, extra in runs:
        print("%s: %d findings, %d protocol noise not reported, sweep %s%s"
              % (lab, len(run["findings"]), run.get("protocol_noise", 0),
                 run.get("sweep", "-"),
                 "; extra findings: " + ", ".join(extra) if extra else ""))
        for b in bugs:
            if b not in decoy or not (b in z["first"] or b in r["first"]):
                continue
            base = min(m[b]["request"] for m in (z["first"], r["first"])
                       if b in m)
            print("  %-18s %s/baseline requests: %.3f" % (
                b, lab, decoy[b]["request"] / base))


def median(xs, over):
    """The median of xs (the mean of the middle two for an even count),
    None when a value it takes is a miss (over)."""
    xs = sorted(xs)
    k = len(xs)
    mid = xs[k // 2:k // 2 + 1] if k % 2 else xs[k // 2 - 1:k // 2 + 1]
    return None if over in mid else sum(mid) / len(mid)


def summary(profile, d, seeds, labels, n):
    """Per bug, over the seeds: each tool's median requests to the first
    hit (a miss counts as above the budget n; a bug found on fewer than
    half the seeds is not found), the ratio of each decoy's median to the
    better baseline's and whether it is under a tenth; then the per-seed
    ratios, campaign times and bugs found."""
    bugs = PY_BUGS if profile == "buggy-py" else BUGS
    firsts = {}     # tool -> seed -> {bug: request}
    runs = {}       # label -> seed -> (found, elapsed)
    for sd in seeds:
        sdir = os.path.join(d, sd)
        for m, fn in (("zzuf", "zzuf.json"), ("radamsa-style", "rad.json")):
            x = json.load(open(os.path.join(sdir, fn)))
            firsts.setdefault(m, {})[sd] = {
                b: v["request"] for b, v in x["first"].items()}
        for lab in labels:
            dec, run, _ = decoy_first(profile, os.path.join(sdir, lab))
            firsts.setdefault(lab, {})[sd] = {
                b: v["request"] for b, v in dec.items()}
            runs.setdefault(lab, {})[sd] = (len(dec), run["elapsed_s"],
                                            run.get("sweep", 0))
    over = n + 1

    def med(tool, b):
        xs = [firsts[tool][sd].get(b, over) for sd in seeds]
        hits = sum(1 for x in xs if x != over)
        if hits * 2 < len(xs):
            return None
        return median(xs, over)

    tools = list(labels) + ["zzuf", "radamsa-style"]
    print("== %s: medians over seeds %s, %d requests (a miss counts as "
          "above %d; a bug found on fewer than half the seeds: -)"
          % (profile, " ".join(seeds), n, n))
    print("%-18s" % "bug" + "".join(" %-13s" % t for t in tools) +
          "".join(" %-22s" % ("%s/better" % lab) for lab in labels))
    for b in bugs:
        ms = {t: med(t, b) for t in tools}
        base = [ms[t] for t in ("zzuf", "radamsa-style") if ms[t]]
        row = "%-18s" % b + "".join(
            " %-13s" % ("-" if ms[t] is None else "%g" % ms[t])
            for t in tools)
        for lab in labels:
            if ms[lab] is None or not base:
                row += " %-22s" % "-"
            else:
                q = ms[lab] / min(base)
                row += " %-22s" % ("%.3f %s" % (q, "under 0.1" if q < 0.1
                                                 else "NOT under 0.1"))
        print(row)
    print("per seed, decoy / better baseline requests, where both found "
          "the bug (seeds %s):" % " ".join(seeds))
    for lab in labels:
        under = total = 0
        for b in bugs:
            qs = []
            for sd in seeds:
                bl = [firsts[t][sd][b] for t in ("zzuf", "radamsa-style")
                      if b in firsts[t][sd]]
                if not bl:
                    qs.append("  .  ")
                    continue
                if b not in firsts[lab][sd]:
                    qs.append(" miss")
                    total += 1
                    continue
                q = firsts[lab][sd][b] / min(bl)
                total += 1
                under += q < 0.1
                qs.append("%.3f" % q)
            if any(q.strip() != "." for q in qs):
                print("  %-10s %-18s %s" % (lab, b, "  ".join(qs)))
        print("  %-10s under a tenth in %d of %d (bug, seed) cases where "
              "a baseline found the bug" % (lab, under, total))
    for lab in labels:
        rs = runs[lab]
        print("%-10s bugs found per seed: %s (of %d); campaign s: %s; "
              "sweep: %s" % (lab, " ".join(str(rs[sd][0]) for sd in seeds),
                             len(bugs), " ".join("%.1f" % rs[sd][1]
                                                 for sd in seeds),
                             " ".join(str(rs[sd][2]) for sd in seeds)))


def main():
    if sys.argv[1] == "table":
        table(sys.argv[2], sys.argv[3], sys.argv[4:] or ("decoy",))
        return
    if sys.argv[1] == "summary":
        summary(sys.argv[2], sys.argv[3], sys.argv[4].split(),
                sys.argv[5].split(), int(sys.argv[6]))
        return
    mutator, profile, service, corpus, n, seed = sys.argv[1:7]
    n, seed = int(n), int(seed)
    cmd = ["/usr/bin/python3", service] if profile == "buggy-py" else \
        [service]
    judge = classify_py if profile == "buggy-py" else classify
    files = sorted(os.path.join(corpus, f) for f in os.listdir(corpus)
                   if f.endswith(".http"))
    blobs = [open(f, "rb").read() for f in files]
    rng = random.Random(seed)
    svc = Service(cmd, os.environ.get("SERVICE_LOG", "/dev/null"))
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
        bug = judge(raw, data, timeout, secs, rc, svc.new_log())
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
