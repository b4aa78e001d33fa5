#!/usr/bin/env bash
#
# fuzz-grpc.sh -- how fast `decoy fuzz --http2` finds the five planted
# bugs of examples/buggy-grpc (a grpcio service) with its protobuf
# operators, against byte-mutation baselines on the same messages: zzuf
# and the radamsa-style mutator of bench/fuzz-effect.py, sending through
# grpcio (bench/fuzz-grpc.py: the gRPC framing is always right for them).
# The corpus is recorded here (client.py through `decoy record --dir
# in`, then `decoy corpus`).  Prints, per bug, the requests sent before
# its first hit (decoy: finding.json's "mutant", from 1); "-" when not
# hit within N.
#
# usage: bash bench/fuzz-grpc.sh [N [SEED...]]   (N = 3000, SEED = 1)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-3000}
shift $(($# < 1 ? $# : 1))
SEEDS=${*:-1}
DECOY=$top/decoy
PY=/usr/bin/python3
EX=$top/examples/buggy-grpc
[ -x "$DECOY" ] || { echo "build decoy first" >&2; exit 2; }
"$PY" -c 'import grpc' 2>/dev/null || { echo "no python3-grpcio" >&2; exit 2; }
command -v protoc >/dev/null || { echo "no protoc" >&2; exit 2; }
command -v zzuf >/dev/null || { echo "zzuf not installed" >&2; exit 2; }
T=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT

wait_file() {
	local i
	for i in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done
	echo "no $1" >&2
	exit 2
}

mkdir "$T/gen"
protoc --python_out="$T/gen" -I "$EX" "$EX/orders.proto" || exit 2
"$PY" "$EX/server.py" --pb-dir "$T/gen" --port-file "$T/svc.port" &
pids+=($!)
wait_file "$T/svc.port"
"$DECOY" record --dir in --upstream "http://127.0.0.1:$(cat "$T/svc.port")" \
    --listen 127.0.0.1:0 --port-file "$T/rec.port" -o "$T/rec.jsonl" \
    2>/dev/null &
rec=$!
wait_file "$T/rec.port"
"$PY" "$EX/client.py" --pb-dir "$T/gen" "$(cat "$T/rec.port")" >/dev/null ||
    exit 2
kill "$rec"
wait "$rec"
"$DECOY" corpus "$T/rec.jsonl" -o "$T/corpus" >/dev/null 2>&1 || exit 2

for seed in $SEEDS; do
	"$DECOY" fuzz "$T/corpus" --target http://127.0.0.1:0 --http2 \
	    --service-cmd "$PY $EX/server.py --pb-dir $T/gen --port {port}" \
	    --requests "$N" --seed "$seed" --timeout 5s --findings "$T/f$seed" \
	    --json -q >"$T/decoy$seed.json"
	for m in zzuf radamsa; do
		"$PY" "$top/bench/fuzz-grpc.py" "$m" "$T/gen" "$T/corpus" "$N" \
		    "$seed" >"$T/$m$seed.json"
	done
	"$PY" - "$T" "$seed" "$N" <<'PYEOF'
import glob, json, os, sys
d, seed, n = sys.argv[1], sys.argv[2], sys.argv[3]
bugs = {"negative-qty": "negative count",
        "no-customer": "object has no attribute",
        "many-items": "list assignment index out of range",
        "bad-utf8-note": "cannot store note",
        "amount-2^63": "argument out of range"}
dec = {}
for f in glob.glob(os.path.join(d, "f" + seed, "*", "finding.json")):
    j = json.load(open(f))
    for b, t in bugs.items():
        if j["kind"] == "grpc" and t in (j["signature"] or ""):
            dec[b] = (j["mutant"] + 1, j["op"])
z = json.load(open(os.path.join(d, "zzuf" + seed + ".json")))
r = json.load(open(os.path.join(d, "radamsa" + seed + ".json")))
print("seed %s, %s requests each" % (seed, n))
print("%-15s %-30s %-8s %-8s" % ("bug", "decoy fuzz (operator)", "zzuf",
                                 "radamsa-style"))
for b in bugs:
    c = "%d (%s)" % dec[b] if b in dec else "-"
    print("%-15s %-30s %-8s %-8s" % (b, c, z.get(b, "-"), r.get(b, "-")))
print("found: decoy %d/5, zzuf %d/5, radamsa-style %d/5" % (len(dec), len(z),
                                                          len(r)))
PYEOF
	echo
done
