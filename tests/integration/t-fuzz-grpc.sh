#!/bin/bash
# t-fuzz-grpc.sh -- decoy fuzz --http2 against a gRPC service with planted
# bugs (examples/buggy-grpc: grpcio, its protobuf code generated here by
# protoc).  Its normal traffic (client.py, three orders) is recorded
# through `decoy record --dir in` and made a corpus by `decoy corpus`;
# then a campaign of 3,000 mutants.  Checked: each of the five planted
# bugs (UNKNOWN for a negative quantity, a missing customer message,
# more than 16 items and an amount of 2^63 or more; INTERNAL for a note
# that is not UTF-8) is found exactly once, as a "grpc" finding whose
# status is the gRPC code, all five by the sweep (its protobuf items
# come first: finding.json's op is "sweep", its mutant within the
# sweep); again with --no-sweep, most made around a protobuf operator
# (the operator is in finding.json; byte operators may get there
# first); nothing else is reported (the service's INVALID_ARGUMENT to broken messages is
# counted, grpcio's own refusals of a broken call -- no te: trailers, a
# method other than POST, a broken length prefix -- are noise); each
# repro.sh gives the same grpc-status and grpc-message with curl over h2;
# --replay finds them all still failing, and none against --fixed.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
EX=$top_srcdir/examples/buggy-grpc
[ -x "$PY" ] && "$PY" -c 'import grpc, google.protobuf' 2>/dev/null ||
    skip "python3-grpcio or python3-protobuf is not installed"
command -v protoc >/dev/null || skip "protoc (protobuf-compiler) is not installed"
command -v curl >/dev/null || skip "curl is not installed"
curl --version | grep -qi 'HTTP2' || skip "curl has no HTTP/2"

mkdir "$T/gen"
protoc --python_out="$T/gen" -I "$EX" "$EX/orders.proto" ||
    fatal "protoc failed"

# --- the corpus: recorded normal traffic ------------------------------------
start_bg svc "$T/svc.port" "$PY" "$EX/server.py" --pb-dir "$T/gen" \
    --port-file "$T/svc.port"
start_bg rec "$T/rec.port" "$DECOY" record --dir in \
    --upstream "http://127.0.0.1:$PORT_svc" --listen 127.0.0.1:0 \
    --port-file "$T/rec.port" -o "$T/rec.jsonl"
timeout 60 "$PY" "$EX/client.py" --pb-dir "$T/gen" "$PORT_rec" \
    >"$T/client.out" 2>&1
check "client.py through the recorder: three orders placed" \
    [ "$(grep -c '^OK ' "$T/client.out")" -eq 3 ]
stop "$PID_rec"
stop "$PID_svc"
"$DECOY" corpus "$T/rec.jsonl" -o "$T/corpus" >/dev/null 2>"$T/corpus.log"
check "decoy corpus: three gRPC calls" \
    [ "$(ls "$T"/corpus/*-post-shop-orders-place.http | wc -l)" -eq 3 ]

# --- the campaign ------------------------------------------------------------
SVC="$PY $EX/server.py --pb-dir $T/gen --port {port}"
"$DECOY" fuzz "$T/corpus" --target http://127.0.0.1:0 --http2 \
    --service-cmd "$SVC" --requests 3000 --seed 7 --timeout 5s \
    --findings "$T/f" --json >"$T/fuzz.out" 2>"$T/fuzz.log"
rc=$?
check "campaign: exit 1 (findings), got $rc" [ "$rc" -eq 1 ]

: >"$T/found.txt"
for j in "$T"/f/[0-9][0-9][0-9]-*/finding.json; do
	[ -f "$j" ] || continue
	"$PY" - "$j" >>"$T/found.txt" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(d['kind'], d['status'], d['op'], d['mutant'], '|', d['signature'])
EOF
done
sed 's/^/# /' "$T/found.txt"

# Each planted bug once in found file $1, nothing else.
found_once() {
	local bug n
	for bug in "grpc 2 .* negative count" \
	    "grpc 2 .* '\*' object has no attribute '\*'" \
	    "grpc 2 .* list assignment index out of range" \
	    "grpc 2 .* argument out of range" \
	    "grpc 13 .* ledger: cannot store note"; do
		n=$(sed 's/ [0-9]* | / /' "$1" | grep -c "^$bug" || true)
		check "$2found once: $bug ($n)" [ "$n" -eq 1 ]
	done
	check "$2nothing else reported ($(wc -l <"$1") findings)" \
	    [ "$(wc -l <"$1")" -eq 5 ]
}
found_once "$T/found.txt" ""
sw=$(grep -o '"sweep":[0-9]*' "$T/fuzz.out" | cut -d: -f2)
swn=$(awk -v n="${sw:-0}" '$3 == "sweep" && $4 <= n' "$T/found.txt" | wc -l)
check "all five found by the sweep, within its ${sw:-0} mutants ($swn)" \
    [ "$swn" -eq 5 ]
check "no finding for INVALID_ARGUMENT" \
    bash -c '! grep -q "^grpc 3 " "$1"' _ "$T/found.txt"
inv=$(grep -o '"grpc_invalid_argument":[0-9]*' "$T/fuzz.out" | cut -d: -f2)
check "INVALID_ARGUMENT answers counted, not reported (${inv:-0})" \
    [ "${inv:-0}" -gt 100 ]
check "grpcio's refusals of broken calls counted as noise" \
    grep -Eq '"noise_by":\{.*"method":[1-9].*"grpc-framing":[0-9]' \
    "$T/fuzz.out"

# --- without the sweep: the protobuf operators alone -----------------------
"$DECOY" fuzz "$T/corpus" --target http://127.0.0.1:0 --http2 \
    --service-cmd "$SVC" --requests 3000 --seed 7 --timeout 5s --no-sweep \
    --findings "$T/f0" --json >"$T/fuzz0.out" 2>"$T/fuzz0.log"
rc=$?
check "--no-sweep campaign: exit 1 (findings), got $rc" [ "$rc" -eq 1 ]
: >"$T/found0.txt"
for j in "$T"/f0/[0-9][0-9][0-9]-*/finding.json; do
	[ -f "$j" ] || continue
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(d["kind"], d["status"], d["op"], d["mutant"], "|", d["signature"])' \
	    "$j" >>"$T/found0.txt"
done
sed 's/^/# --no-sweep: /' "$T/found0.txt"
found_once "$T/found0.txt" "--no-sweep: "
pbn=$(grep -Ec '^grpc [0-9]+ (pb|grpc)\.' "$T/found0.txt")
check "--no-sweep: most made around a protobuf operator ($pbn of 5)" \
    [ "$pbn" -ge 3 ]

# --- repro.sh and --replay ---------------------------------------------------
start_bg svc2 "$T/svc2.port" "$PY" "$EX/server.py" --pb-dir "$T/gen" \
    --port-file "$T/svc2.port"
ok=0
n=0
for d in "$T"/f/[0-9][0-9][0-9]-*/; do
	[ -d "$d" ] || continue
	n=$((n + 1))
	bash "$d/repro.sh" 127.0.0.1 "$PORT_svc2" >"$T/repro.out" 2>&1
	# The same code, and a message of the finding's signature ('*' and
	# '#' stand for masked words).
	if "$PY" - "$d/finding.json" "$T/repro.out" <<'EOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
out = open(sys.argv[2], 'rb').read().decode('latin-1').replace('\r', '')
code = re.findall(r'^grpc-status: (\d+)$', out, re.M)
msg = re.findall(r'^grpc-message: (.*)$', out, re.M)
pat = re.escape(d['signature']).replace(r'\*', '.*').replace(r'\#', '.*')
sys.exit(0 if code == [str(d['status'])] and len(msg) == 1 and
         re.fullmatch(pat, msg[0]) else 1)
EOF
	then
		ok=$((ok + 1))
	else
		echo "# $d: $(head -c 600 "$T/repro.out")"
	fi
done
check "repro.sh: each finding's grpc-status and message with curl ($ok of $n)" \
    [ "$ok" -eq "$n" ] && [ "$n" -eq 5 ]
stop "$PID_svc2"

"$DECOY" fuzz --replay "$T/f" --http2 --target http://127.0.0.1:0 \
    --service-cmd "$SVC" >"$T/replay.out" 2>"$T/replay.log"
rc=$?
check "--replay: all five still fail (exit $rc)" \
    eval "[ $rc -eq 1 ] && grep -q '^5 of 5 findings still fail' '$T/replay.out'"
"$DECOY" fuzz --replay "$T/f" --http2 --target http://127.0.0.1:0 \
    --service-cmd "$SVC --fixed" >"$T/replay-fixed.out" \
    2>"$T/replay-fixed.log"
rc=$?
check "--replay against --fixed: all fixed (exit $rc)" [ "$rc" -eq 0 ]

done_testing
