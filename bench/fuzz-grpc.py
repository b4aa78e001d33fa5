#!/usr/bin/python3
"""fuzz-grpc.py -- byte-mutation baselines for bench/fuzz-grpc.sh: the
messages of a gRPC corpus (decoy corpus's .http files; the body's
length prefixes stripped) mutated by zzuf (`zzuf -r 0.004`, the Debian
package) or by bench/fuzz-effect.py's radamsa-style mutator, and sent to
examples/buggy-grpc with grpcio as the raw bytes of one unary call each
(grpcio frames them: the baselines never break the gRPC framing, which
only helps them).  The corpus entries take turns.  Each planted bug is
known by its grpc-message; prints {"bug": requests to its first hit}
as JSON (absent: not hit).

usage: fuzz-grpc.py zzuf|radamsa PB_DIR CORPUS N SEED
"""
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
BUGS = {
    "negative-qty": "negative count",
    "no-customer": "has no attribute 'name'",
    "many-items": "list assignment index out of range",
    "bad-utf8-note": "cannot store note",
    "amount-2^63": "argument out of range",
}


def messages(corpus):
    out = []
    for name in sorted(os.listdir(corpus)):
        if not name.endswith(".http"):
            continue
        raw = open(os.path.join(corpus, name), "rb").read()
        body = raw[raw.index(b"\r\n\r\n") + 4:]
        out.append(body[5:5 + int.from_bytes(body[1:5], "big")])
    return out


def main(argv):
    mode, pb_dir, corpus, n, seed = argv[1], argv[2], argv[3], \
        int(argv[4]), int(argv[5])
    spec = importlib.util.spec_from_file_location(
        "fuzz_effect", os.path.join(HERE, "fuzz-effect.py"))
    fe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fe)
    msgs = messages(corpus)
    tmp = tempfile.mkdtemp()
    files = []
    for k, m in enumerate(msgs):
        files.append(os.path.join(tmp, "m%d" % k))
        open(files[-1], "wb").write(m)
    portfile = os.path.join(tmp, "port")
    srv = subprocess.Popen([sys.executable, os.path.join(
        TOP, "examples/buggy-grpc/server.py"), "--pb-dir", pb_dir,
        "--port-file", portfile], stderr=subprocess.DEVNULL)
    while not os.path.exists(portfile):
        time.sleep(0.05)
    ch = grpc.insecure_channel("127.0.0.1:" + open(portfile).read().strip())
    call = ch.unary_unary("/shop.Orders/Place")
    rng = random.Random(seed)
    first = {}
    try:
        for i in range(n):
            k = i % len(msgs)
            if mode == "zzuf":
                data = fe.zzuf(files[k], seed * 1000003 + i, 0.004)
            else:
                data = fe.radamsa(msgs[k], rng)
            try:
                call(data, timeout=5)
                continue
            except grpc.RpcError as e:
                details = e.details() or ""
            for bug, text in BUGS.items():
                if text in details and bug not in first:
                    first[bug] = i + 1
    finally:
        srv.terminate()
        srv.wait()
        for f in files:
            os.unlink(f)
        if os.path.exists(portfile):
            os.unlink(portfile)
        os.rmdir(tmp)
    print(json.dumps(first))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
