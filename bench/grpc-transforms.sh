#!/usr/bin/env bash
# grpc-transforms.sh - the cost of typed matching on gRPC request fields
# (`make bench`): unary calls/s of decoy respond answering a call whose
# request id and send time (req.grpc 1.1, 1.2) differ from the recording,
# with the transforms `decoy analyze` wrote, beside the same responder
# without them answering the recorded bytes exactly.
#
# tests/integration/grpc-ledger.py (messages from protoc-generated code)
# is recorded through decoy record (two Hello calls, each with its own
# UUID and epoch-ms), decoy analyze writes the transforms; then
# `decoy respond --workers 1` on SERVER_CPU is measured with h2load on
# LOAD_CPU (-t 1 -c CONNS -m STREAMS, DURATION s) in turn: "exact" (no
# transforms, the recorded request) and "typed" (--transforms, a request
# with another id and time: each lookup re-encodes the message with the
# two fields as tokens), the order alternating each of RUNS rounds.  Each
# round prints both rates and typed/exact; the end, the medians.  Target:
# >= 0.8x.  h2load's answers are checked to be all 2xx (a miss is a 404).
#
# Environment: DECOY (default ./decoy; a default -O2 build)  CONNS=8
#   STREAMS=16  DURATION=4  RUNS=3  SERVER_CPU=0  LOAD_CPU=1
#   DIR=$BENCH_DIR/grpc-transforms  STRICT=0 (1: exit 3 when the target
#   is missed)
#
# Measured 2026-12-08 (default -O2 build, RUNS=5, load average 6-9 on the
# 2-core machine shared with other work): medians typed/exact 0.84x and
# 0.88x in two invocations (rounds from 0.71x to 1.11x; exact 26k-65k
# calls/s); an earlier ad-hoc run of the same (load 12-14) 0.85x-0.91x;
# the typed requests without the transforms all missed (404).  In
# process, one match_lookup() of this call costs about 0.3 us exact and
# 2.0 us typed (two fields located, classified, the message re-encoded
# with tokens, hashed).
#
# Exit status: 0 ok; 1 a server failed; 2 a tool or binary is missing;
# 3 the target missed (STRICT=1 only).

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

CONNS=${CONNS:-8}
STREAMS=${STREAMS:-16}
DURATION=${DURATION:-4}
RUNS=${RUNS:-3}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
DIR=${DIR:-$BENCH_DIR/grpc-transforms}
STRICT=${STRICT:-0}
PY=/usr/bin/python3
PEER=$srcdir/tests/integration/grpc-ledger.py

bench_need h2load taskset protoc
bench_find_decoy
"$PY" -c 'import grpc, google.protobuf' 2>/dev/null ||
  die "python3-grpcio and python3-protobuf are needed"
bench_lock
trap stop_all EXIT
rm -rf "$DIR"
mkdir -p "$DIR/pb" || die "cannot create $DIR"

cp "$srcdir/tests/integration/ledger.proto" "$DIR/pb/" || die "no ledger.proto"
protoc --proto_path="$DIR/pb" --python_out="$DIR/pb" "$DIR/pb/ledger.proto" ||
  die "protoc failed"
export LEDGER_PB=$DIR/pb

"$PY" "$PEER" server "$DIR/srv.port" 2>"$DIR/srv.log" &
SPID=$!
STARTED+=("$SPID")
wait_file "$DIR/srv.port" "$SPID" || fail "the grpcio server did not start"
"$DECOY" record --upstream "http://127.0.0.1:$(cat "$DIR/srv.port")" \
  --listen 127.0.0.1:0 --port-file "$DIR/rec.port" -o "$DIR/rec.jsonl" \
  2>"$DIR/rec.log" &
RPID=$!
STARTED+=("$RPID")
wait_file "$DIR/rec.port" "$RPID" || fail "decoy record did not start"
# Two recorded calls (their ids and times differ: the analyzer's
# evidence); rec.bin is the first one's request, new.bin another id and
# time for the same name.
"$PY" - "$(cat "$DIR/rec.port")" "$DIR" <<'EOF' || fail "recording the calls failed"
import os, struct, sys, time, uuid, grpc
sys.path.insert(0, os.environ['LEDGER_PB'])
import ledger_pb2 as pb
port, d = sys.argv[1:]
frame = lambda b: b'\0' + struct.pack('>I', len(b)) + b
now = int(time.time() * 1000)
def req(name, dt):
    return pb.HelloReq(meta=pb.Meta(request_id=str(uuid.uuid4()),
                       sent_ms=now + dt), name=name).SerializeToString()
ch = grpc.insecure_channel('127.0.0.1:' + port)
grpc.channel_ready_future(ch).result(timeout=10)
first = req('alice', 0)
for r in (first, req('bob', 1)):
    ch.unary_unary('/bank.Ledger/Hello')(r, timeout=10)
open(d + '/rec.bin', 'wb').write(frame(first))
open(d + '/new.bin', 'wb').write(frame(req('alice', 60000)))
EOF
stop_pid "$RPID"
stop_pid "$SPID"
"$DECOY" analyze "$DIR/rec.jsonl" -o "$DIR/tf.yaml" >"$DIR/analyze.log" 2>&1 ||
  fail "decoy analyze failed"
grep -q 'req.grpc 1.1' "$DIR/tf.yaml" && grep -q 'req.grpc 1.2' "$DIR/tf.yaml" ||
  fail "the transforms lack req.grpc 1.1 / 1.2 (see $DIR/tf.yaml)"

# rate NAME BODY [respond args]: h2load's calls/s against a fresh
# responder; 2xx checked.
rate() {
  local name=$1 body=$2 pid out
  shift 2
  rm -f "$DIR/$name.port"
  taskset -c "$SERVER_CPU" "$DECOY" respond "$DIR/rec.jsonl" --workers 1 \
    --listen 127.0.0.1:0 --port-file "$DIR/$name.port" "$@" \
    2>"$DIR/$name.log" &
  pid=$!
  STARTED+=("$pid")
  wait_file "$DIR/$name.port" "$pid" ||
    { stop_pid "$pid"; fail "decoy respond ($name) did not start"; }
  out=$(taskset -c "$LOAD_CPU" h2load -t 1 -c "$CONNS" -m "$STREAMS" \
    "-D$DURATION" -d "$DIR/$body" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$(cat "$DIR/$name.port")/bank.Ledger/Hello" 2>&1)
  echo "$out" >>"$DIR/h2load.log"
  stop_pid "$pid"
  grep -q 'status codes: [1-9][0-9]* 2xx, 0 3xx, 0 4xx, 0 5xx' <<<"$out" ||
    fail "$name: not all 2xx (see $DIR/h2load.log)"
  awk '/^finished in/ { gsub(",", ""); print $4 }' <<<"$out"
}

RATIOS=()
ES=()
TS=()
for ((r = 1; r <= RUNS; r++)); do
  if ((r % 2)); then
    e=$(rate exact rec.bin) || exit 1
    t=$(rate typed new.bin --transforms "$DIR/tf.yaml") || exit 1
  else
    t=$(rate typed new.bin --transforms "$DIR/tf.yaml") || exit 1
    e=$(rate exact rec.bin) || exit 1
  fi
  ratio=$(awk -v a="$t" -v b="$e" 'BEGIN { printf "%.2f", a / b }')
  printf 'run %d: exact %.0f calls/s, typed %.0f calls/s, typed/exact %sx\n' \
    "$r" "$e" "$t" "$ratio"
  ES+=("$e"); TS+=("$t"); RATIOS+=("$ratio")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mr=$(median "${RATIOS[@]}")
printf 'median: exact %.0f calls/s, typed %.0f calls/s, typed/exact %sx (target >= 0.8x)\n' \
  "$(median "${ES[@]}")" "$(median "${TS[@]}")" "$mr"
if [[ $STRICT = 1 ]] && awk -v r="$mr" 'BEGIN { exit !(r < 0.8) }'; then
  exit 3
fi
exit 0
