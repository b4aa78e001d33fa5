#!/usr/bin/env bash
# grpc-respond.sh - unary gRPC calls per second: decoy respond answering a
# recorded call beside the grpcio server that answered it (`make bench`).
#
# The grpcio server (tests/integration/grpc-chaos.py, test.Chaos/Unary,
# Python, a thread pool) is recorded through decoy record once; then the
# server and `decoy respond --workers 1` on the recording are measured in
# turn, each pinned to SERVER_CPU, with h2load on LOAD_CPU sending the
# framed request (-d, content-type application/grpc, te: trailers; -t 1
# -c CONNS -m STREAMS, DURATION s), the order alternating each of RUNS
# rounds.  Each round prints the calls/s of both, the ratio
# decoy/grpcio, each server's CPU time per call (all its threads,
# /proc/PID/task/*/schedstat, over the calls h2load completed: the
# steadier number on a shared machine) and the load average when the
# round ended; the end, the medians.  Target: >= 5x.  Before measuring,
# h2load's answers are checked to be all 2xx from both.
#
# INSTR=1 counts decoy's instructions per call instead (callgrind, the
# marginal (Ir(N2) - Ir(N1)) / (N2 - N1) over two runs answering N1 and
# N2 calls, h2load -c 8 -m 10); the Python server is not run under
# callgrind (its interpreter would dominate for hours).
#
# Environment: DECOY (default ./decoy; a default -O2 build)  CONNS=8
#   STREAMS=16  DURATION=5  RUNS=3  SERVER_CPU=0  LOAD_CPU=1
#   DIR=$BENCH_DIR/grpc-respond  STRICT=0 (1: exit 3 when the target is
#   missed)  INSTR=0  N1=2000  N2=8000
#
# Measured 2026-12-08 (default -O2 build, CONNS=8 STREAMS=16 DURATION=4,
# a 2-core machine shared with other work, load average 7-8): runs of
# decoy/grpcio 13.7x, 9.7x, 12.5x, 11.0x (grpcio 4.6k-6.2k calls/s, decoy
# 55k-64k; median 11.0x); an earlier invocation gave 1.0x, 1.1x, 8.5x
# with decoy at 4.0k and 5.2k calls/s in its first two runs, not
# explained yet (not seen again); a later one at load average 2.4
# (DURATION=3): 27.2x, 28.9x, 28.5x (grpcio 5.1k-6.8k, decoy 144k-186k).
# decoy's rate follows the machine's load far more than grpcio's.
# Session 8, after the h2 glue's work (same settings, DURATION=5, load
# average 9.9-10.7): decoy/grpcio 4.9x, 6.7x, 5.1x (median 5.1x), server
# CPU per call decoy 4.44-4.89 us, grpcio 141-182 us; the build before,
# right after, at load 10.8-11.1: 3.3x, 3.1x, 3.7x, decoy 5.11-9.22 us
# per call.  With the chunked answer planned (load 8.0-8.7): 5.8x, 6.0x,
# 6.5x, decoy 3.94-4.56 us per call, grpcio 133-143 us (about 33x the
# CPU per call).  INSTR=1: 18311 instructions per call (24361 before; 19772
# before the recorded chunked answer was planned once: its decoding and
# trailer parsing per call were about 1460).
#
# Exit status: 0 ok; 1 a server failed; 2 a tool or binary is missing;
# 3 the target missed (STRICT=1 only).

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

CONNS=${CONNS:-8}
STREAMS=${STREAMS:-16}
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
DIR=${DIR:-$BENCH_DIR/grpc-respond}
STRICT=${STRICT:-0}
PY=/usr/bin/python3
PEER=$srcdir/tests/integration/grpc-chaos.py

bench_need h2load taskset
bench_find_decoy
"$PY" -c 'import grpc, google.protobuf' 2>/dev/null ||
  die "python3-grpcio and python3-protobuf are needed"
grep -q -- "-O0" "$(dirname "$DECOY")/config.log" 2>/dev/null &&
  log "$BENCH_NAME: this looks like an --enable-debug (-O0) build; measure a default one"
bench_lock
trap stop_all EXIT
rm -rf "$DIR"
mkdir -p "$DIR" || die "cannot create $DIR"

taskset -c "$SERVER_CPU" "$PY" "$PEER" server "$DIR/grpc.port" 2>"$DIR/grpc.log" &
GPID=$!
STARTED+=("$GPID")
wait_file "$DIR/grpc.port" "$GPID" || fail "the grpcio server did not start"
G=$(cat "$DIR/grpc.port")
"$DECOY" record --upstream "http://127.0.0.1:$G" --listen 127.0.0.1:0 \
  --port-file "$DIR/rec.port" -o "$DIR/rec.jsonl" 2>"$DIR/rec.log" &
RPID=$!
STARTED+=("$RPID")
wait_file "$DIR/rec.port" "$RPID" || fail "decoy record did not start"
timeout 30 "$PY" "$PEER" record "$(cat "$DIR/rec.port")" >/dev/null ||
  fail "recording the calls failed"
stop_pid "$RPID"
taskset -c "$SERVER_CPU" "$DECOY" respond "$DIR/rec.jsonl" --workers 1 \
  --listen 127.0.0.1:0 --port-file "$DIR/resp.port" 2>"$DIR/resp.log" &
DPID=$!
STARTED+=("$DPID")
wait_file "$DIR/resp.port" "$DPID" || fail "decoy respond did not start"
D=$(cat "$DIR/resp.port")
printf '\0\0\0\0\2\x08\x01' >"$DIR/req.bin"

if [[ ${INSTR:-0} = 1 ]]; then
  bench_need valgrind
  stop_pid "$DPID"
  N1=${N1:-2000} N2=${N2:-8000}
  instr_ir() {  # N -> Ir of a decoy run answering N calls
    local out=$DIR/cg-$1.out pid i
    rm -f "$DIR/cg.port"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$DECOY" respond \
      "$DIR/rec.jsonl" --workers 1 --listen 127.0.0.1:0 \
      --port-file "$DIR/cg.port" 2>"$DIR/cg-$1.log" &
    pid=$!
    STARTED+=("$pid")
    for ((i = 0; i < 600; i++)); do
      [[ -s $DIR/cg.port ]] && port_open "$(cat "$DIR/cg.port")" && break
      alive "$pid" || fail "decoy did not start under valgrind"
      sleep 0.1
    done
    h2load -t 1 -c 8 -m 10 -n "$1" -d "$DIR/req.bin" \
      -H 'content-type: application/grpc' -H 'te: trailers' \
      "http://127.0.0.1:$(cat "$DIR/cg.port")/test.Chaos/Unary" \
      >"$DIR/cg-h2load-$1" 2>&1
    grep -q "^requests: $1 total, $1 started, $1 done, $1 succeeded" \
      "$DIR/cg-h2load-$1" || fail "calls failed under valgrind"
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    awk '/^totals:/ { print $2 }' "$out"
  }
  a=$(instr_ir "$N1") b=$(instr_ir "$N2")
  printf '%s: decoy %d instructions per unary call (callgrind, marginal %d -> %d calls, h2load -c 8 -m 10)\n' \
    "$BENCH_NAME" $(((b - a) / (N2 - N1))) "$N1" "$N2"
  exit 0
fi

# calls PORT PID N|-D: "calls/s us-of-server-CPU-per-call" (h2load's
# "finished in" and "requests" lines); 2xx checked.
calls() {
  local out c0 c1
  c0=$(cpu_ns "$2")
  out=$(taskset -c "$LOAD_CPU" h2load -t 1 -c "$CONNS" -m "$STREAMS" "$3" \
    -d "$DIR/req.bin" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$1/test.Chaos/Unary" 2>&1)
  c1=$(cpu_ns "$2")
  echo "$out" >>"$DIR/h2load.log"
  grep -q 'status codes: [1-9][0-9]* 2xx, 0 3xx, 0 4xx, 0 5xx' <<<"$out" ||
    fail "port $1: not all 2xx (see $DIR/h2load.log)"
  awk -v cpu=$((c1 - c0)) '/^finished in/ { gsub(",", ""); rps = $4 }
    /^requests:/ { done = $8 }
    END { printf "%s %.2f\n", rps, (done > 0 ? cpu / done / 1000 : 0) }' <<<"$out"
}

calls "$G" "$GPID" -n2000 >/dev/null
calls "$D" "$DPID" -n2000 >/dev/null
RATIOS=()
GS=()
DS=()
GC=()
DC=()
for ((r = 1; r <= RUNS; r++)); do
  if ((r % 2)); then
    read -r g gc <<<"$(calls "$G" "$GPID" "-D$DURATION")"
    read -r d dc <<<"$(calls "$D" "$DPID" "-D$DURATION")"
  else
    read -r d dc <<<"$(calls "$D" "$DPID" "-D$DURATION")"
    read -r g gc <<<"$(calls "$G" "$GPID" "-D$DURATION")"
  fi
  ratio=$(awk -v a="$d" -v b="$g" 'BEGIN { printf "%.1f", a / b }')
  printf 'run %d: grpcio %.0f calls/s, decoy %.0f calls/s, decoy/grpcio %sx; CPU per call grpcio %s us, decoy %s us; load average %s\n' \
    "$r" "$g" "$d" "$ratio" "$gc" "$dc" "$(cut -d' ' -f1-3 /proc/loadavg)"
  GS+=("$g"); DS+=("$d"); RATIOS+=("$ratio"); GC+=("$gc"); DC+=("$dc")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
mr=$(median "${RATIOS[@]}")
printf 'median: grpcio %.0f calls/s, decoy %.0f calls/s, decoy/grpcio %sx (target >= 5x); CPU per call grpcio %s us, decoy %s us\n' \
  "$(median "${GS[@]}")" "$(median "${DS[@]}")" "$mr" "$(median "${GC[@]}")" \
  "$(median "${DC[@]}")"
if [[ $STRICT = 1 ]] && awk -v r="$mr" 'BEGIN { exit !(r < 5) }'; then
  exit 3
fi
exit 0
