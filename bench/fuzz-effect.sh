#!/usr/bin/env bash
#
# fuzz-effect.sh -- how fast `decoy fuzz` finds the planted bugs of
# examples/buggy against byte-mutation baselines on the same corpus
# (corpora/buggy): zzuf (the Debian package) and a radamsa-style mutator
# (bench/fuzz-effect.py; radamsa is not packaged).  Prints, per bug, the
# requests sent before its first hit and the seconds, side by side; "-"
# for a bug not found within N requests.
#
# decoy's numbers come from finding.json: "mutant" (the index of the
# mutant that first showed the bug, counted from 1 here) and
# "found_after_s" (campaign time, which includes confirming and
# minimising the findings before it).  The baselines send one request per
# connection, half-closed after it, and restart the service when it dies.
#
# usage: make examples/buggy/buggy && bash bench/fuzz-effect.sh [N [SEED]]
#        (N = 20000 requests each, SEED = 7)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-20000}
SEED=${2:-7}
BUGGY=$top/examples/buggy/buggy
DECOY=$top/decoy
CORPUS=$top/corpora/buggy
[ -x "$BUGGY" ] && [ -x "$DECOY" ] || { echo "build decoy and examples/buggy/buggy first" >&2; exit 2; }
command -v zzuf >/dev/null || { echo "zzuf not installed (apt-get install zzuf)" >&2; exit 2; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$DECOY" fuzz "$CORPUS" --target http://127.0.0.1:0 --service-cmd "$BUGGY --port {port}" \
    --requests "$N" --seed "$SEED" --timeout 1s --findings "$T/f" --json -q >"$T/decoy.json"
SERVICE_LOG=$T/zzuf.log /usr/bin/python3 "$top/bench/fuzz-effect.py" zzuf "$BUGGY" "$CORPUS" "$N" "$SEED" >"$T/zzuf.json"
SERVICE_LOG=$T/rad.log /usr/bin/python3 "$top/bench/fuzz-effect.py" radamsa "$BUGGY" "$CORPUS" "$N" "$SEED" >"$T/rad.json"

/usr/bin/python3 - "$T" <<'PY'
import glob, json, os, sys
T = sys.argv[1]
EXC = {"AttributeError": "missing-email", "TypeError": "string-amount",
       "KeyError": "missing-currency", "OverflowError": "amount-overflow",
       "IndexError": "moderate-nesting"}
BUGS = ["negative-qty", "missing-email", "string-amount", "missing-currency",
        "amount-overflow", "upload-hang", "long-header", "deep-nesting",
        "deep-pagination", "moderate-nesting"]
def bug_of(f):
    k, ep, sig = f["kind"], f["endpoint"], f.get("signature") or ""
    if k == "5xx":
        for e, b in EXC.items():
            if "exception=" + e in sig:
                return b
    return {("crash", "POST /cart/items"): "negative-qty",
            ("timeout", "POST /upload"): "upload-hang",
            ("crash", "GET /search"): "long-header",
            ("slow", "GET /search"): "deep-pagination",
            ("crash", "POST /documents"): "deep-nesting"}.get((k, ep), "?")
d = json.load(open(os.path.join(T, "decoy.json")))
decoy, extra = {}, []
for fj in sorted(glob.glob(os.path.join(T, "f", "*", "finding.json"))):
    f = json.load(open(fj))
    b = bug_of(f)
    if b in decoy or b == "?":
        extra.append(os.path.basename(os.path.dirname(fj)))
        continue
    decoy[b] = {"request": f["mutant"] + 1, "seconds": f["found_after_s"]}
z = json.load(open(os.path.join(T, "zzuf.json")))
r = json.load(open(os.path.join(T, "rad.json")))
def cell(m, b):
    x = m.get(b)
    return "-" if x is None else "%d (%.1f s)" % (x["request"], x["seconds"])
print("%-18s %-20s %-20s %-20s" % ("bug", "decoy fuzz", "zzuf", "radamsa-style"))
for b in BUGS:
    print("%-18s %-20s %-20s %-20s" % (b, cell(decoy, b), cell(z["first"], b),
                                       cell(r["first"], b)))
print("%-18s %-20s %-20s %-20s" % ("found", "%d/10 in %.0f s" % (len(decoy), d["elapsed_s"]),
      "%d/10 in %.0f s" % (len(z["first"]), z["seconds"]),
      "%d/10 in %.0f s" % (len(r["first"]), r["seconds"])))
print("decoy: %d findings, %d protocol noise not reported%s" % (
    len(d["findings"]), d.get("protocol_noise", 0),
    "; extra findings: " + ", ".join(extra) if extra else ""))
both = [b for b in BUGS if b in decoy and (b in z["first"] or b in r["first"])]
for b in both:
    base = min(m[b]["request"] for m in (z["first"], r["first"]) if b in m)
    print("  %-18s decoy/baseline requests: %.3f" % (b, decoy[b]["request"] / base))
PY
