#!/usr/bin/env bash
# respond-transforms.sh - what a transforms file costs the responder.
#
# 1000 recorded dependency calls GET /api/items/{0..999}?nonce=HEX&ts=TIME
# (a 32-hex-digit nonce and an RFC 3339 timestamp per call, X-Request-Id a
# UUID), each answered with its own 1 KiB JSON body that holds an
# "updated_at" timestamp and the "request_id", served side by side by two
# responders started from the same snapshot:
#   plain       decoy respond SNAP --listen 127.0.0.1:$PORT_A --workers 1
#   transforms  the same plus --transforms TF: nonce and ts matched by kind
#               (every request is normalised before its signature), and
#               updated_at shifted to now and request_id echoed from
#               X-Request-Id (every reply rendered per request instead of
#               the pre-serialised writev).
# wrk sends exactly the recorded requests (its own Lua script, $DIR/tf.lua,
# cycling through the 1000 in order, pre-formatted in init()), so both
# answer every request 200: the same workload, and the difference is what
# the transforms cost.  Both run pinned to SERVER_CPU (the idle one costs
# nothing), wrk -t1 -c$CONNS pinned to WRK_CPU.  After a WARMUP s warm-up
# of each, the REPEATS runs of DURATION s alternate between the two (A B,
# B A, ...) so drift on the machine hits both alike.  Per configuration it
# prints the median req/s (and every run's), p50/p99 (median over runs),
# server CPU % and wrk CPU % (100 = one core), and the server CPU time per
# request in microseconds (all the responder's threads, from
# /proc/PID/task/*/schedstat, over the requests wrk completed).  Then the
# ratios transforms/plain for req/s and CPU per request, against the
# target: req/s with transforms >= 0.9x without.  When wrk% is near 100 and
# srv% well below, wrk set the pace and the CPU-per-request ratio is the
# one that tells the cost.
#
# Before measuring, both responders are checked: every one of the 1000
# requests answers 200, without transforms with the recorded body byte for
# byte, with them with updated_at shifted to this hour and request_id the
# live header's; with the transforms a fresh nonce and timestamp still
# match, and an item that was not recorded does not.
#
# Environment (all optional): DECOY (default ./decoy, else <repo>/decoy)
#   BENCH_DIR=/tmp/bench  DIR=$BENCH_DIR/respond-transforms  DURATION=10
#   REPEATS=3  WARMUP=5  CONNS=64  SERVER_CPU=0  WRK_CPU=1  PORT_A=18089
#   PORT_B=18090  WRK_TIMEOUT=5s  LOCK_WAIT=1800
#   STRICT=0 (1: exit 3 when the target is missed)
# It takes the lock respond-vs-peers.sh takes ($BENCH_DIR/.respond-vs-peers
# .lock), so two benchmarks never share the cores.  A run with the defaults
# takes about 75 s.
#
# bench/respond-transforms.sh --summary [DIR]  prints the numbers of an
# earlier run again (from DIR/runs.tsv).
#
# Exit status: 0 ok; 1 a responder did not start, verify or measure; 2 a
# tool or binary is missing; 3 the target was missed (STRICT=1 only).

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"
ab_defaults
DIR=${DIR:-$BENCH_DIR/respond-transforms}
: "${PORT_A:=18089}" "${PORT_B:=18090}"
N_ITEMS=1000 BODY_BYTES=1024 PREFIX=/api/items/
AB_SNAP=$DIR/items.jsonl AB_LUA=$DIR/tf.lua AB_A=plain AB_B=transforms
AB_B_OPTS=(--transforms "$DIR/tf.yaml") AB_TARGET=0.90
AB_TITLE="transforms overhead: 1000 recorded calls, decoy respond --workers 1; typed nonce and ts, a shifted date and an echoed id on every call, vs none"

bench_need wrk curl taskset awk flock
bench_find_decoy

# ---------------------------------------------------------------- data

# The values of item K, computed the same way by awk, the Lua script and
# url(): nonce "deadbeef" %08x(K) "cafe0123" %08x(K*7919), ts
# 2026-01-01T00:MM:SS.mmmZ, request id 0b1c2d3e-4f50-4617-8293-%012x(K).
gen_data() {
  ab_items '
    BEGIN {
      for (i = 0; i < n; i++) {
        nonce = sprintf("deadbeef%08xcafe0123%08x", i, i * 7919)
        ts = sprintf("2026-01-01T00:%02d:%02d.%03dZ", int(i / 60) % 60, i % 60, i % 1000)
        rid = sprintf("0b1c2d3e-4f50-4617-8293-%012x", i)
        item(i, prefix i "?nonce=" nonce "&ts=" ts, ",[\"X-Request-Id\",\"" rid "\"]",
          "{\"id\":" i ",\"sku\":\"SKU-" sprintf("%05d", i) "\",\"updated_at\":\"" ts "\",\"request_id\":\"" rid "\",\"stock\":" (i * 13 % 97) ",\"pad\":\"")
      }
    }'

  cat >"$DIR/tf.yaml" <<'TF'
# respond-transforms.sh: a typed nonce and timestamp, a shifted date and
# an echoed request id on every call
version: 1
values:
  - kind: hex
    dir: out
    endpoint: "GET /api/items/{id}"
    where: "req.query nonce"
    action: any
  - kind: timestamp
    dir: out
    endpoint: "GET /api/items/{id}"
    where: "req.query ts"
    action: any
  - kind: timestamp
    dir: out
    endpoint: "GET /api/items/{id}"
    where: "res.body $.updated_at"
    action: shift
  - kind: uuid
    dir: out
    endpoint: "GET /api/items/{id}"
    where: "res.body $.request_id"
    action: echo
    from: "req.header X-Request-Id"
TF

  cat >"$DIR/tf.lua" <<'LUA'
-- respond-transforms.sh: the recorded requests, pre-formatted, in order.
local n = tonumber(os.getenv("BENCH_ITEMS") or "1000")
local prefix = os.getenv("BENCH_PREFIX") or "/api/items/"
local reqs, i = {}, 0
init = function(args)
  for k = 0, n - 1 do
    local nonce = string.format("deadbeef%08xcafe0123%08x", k, k * 7919)
    local ts = string.format("2026-01-01T00:%02d:%02d.%03dZ",
      math.floor(k / 60) % 60, k % 60, k % 1000)
    local rid = string.format("0b1c2d3e-4f50-4617-8293-%012x", k)
    reqs[k] = wrk.format("GET", prefix .. k .. "?nonce=" .. nonce .. "&ts=" .. ts,
      { ["X-Request-Id"] = rid })
  end
end
request = function()
  local r = reqs[i]
  i = (i + 1) % n
  return r
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d p50_us=%d p90_us=%d p99_us=%d " ..
    "max_us=%d mean_us=%.0f non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean,
    e.status, e.connect, e.read, e.write, e.timeout))
end
LUA
}

trap 'stop_all' EXIT
trap 'stop_all; exit 130' INT TERM

# ---------------------------------------------------------------- verify

# url K -> the recorded target of item K
url() {
  printf '%s%d?nonce=deadbeef%08xcafe0123%08x&ts=2026-01-01T00:%02d:%02d.%03dZ' \
    "$PREFIX" "$1" "$1" $(($1 * 7919)) $(($1 / 60 % 60)) $(($1 % 60)) $(($1 % 1000))
}

verify() {  # both responders: every request 200, the bodies expected
  local v=$DIR/verify k bad=0 code rid hour
  for ((k = 0; k < N_ITEMS; k++)); do
    # One group per request ("next"): headers would add up otherwise.
    printf 'url = "http://127.0.0.1:%d%s"\noutput = "%s/plain-%d.json"\nheader = "X-Request-Id: 0b1c2d3e-4f50-4617-8293-%012x"\nsilent\nshow-error\nmax-time = 10\nwrite-out = "%%{http_code}\\n"\nnext\n' \
      "$PORT_A" "$(url "$k")" "$v" "$k" "$k"
  done | sed '$d' >"$v/plain.curl"
  sed -e "s/:$PORT_A/:$PORT_B/" -e 's/plain-/tf-/' -e 's/4617-8293-/4617-9999-/' \
    "$v/plain.curl" >"$v/tf.curl"
  curl -K "$v/plain.curl" >"$v/plain.codes" || fail "verify: curl failed"
  curl -K "$v/tf.curl" >"$v/tf.codes" || fail "verify: curl failed"
  code=$(grep -vc '^200$' "$v/plain.codes")
  ((code == 0)) || fail "verify: plain: $code of $N_ITEMS requests not 200"
  code=$(grep -vc '^200$' "$v/tf.codes")
  ((code == 0)) || fail "verify: transforms: $code of $N_ITEMS requests not 200"
  for ((k = 0; k < N_ITEMS; k++)); do
    cmp -s "$v/plain-$k.json" "$DIR/items/$k.json" || bad=$((bad + 1))
  done
  ((bad == 0)) || fail "verify: plain: $bad of $N_ITEMS bodies differ from the recording"
  hour=$(date -u +%Y-%m-%dT%H)
  for ((k = 0; k < N_ITEMS; k++)); do
    rid=$(printf '0b1c2d3e-4f50-4617-9999-%012x' "$k")
    { grep -q "\"request_id\":\"$rid\"" "$v/tf-$k.json" &&
      grep -q "\"updated_at\":\"$hour" "$v/tf-$k.json"; } || bad=$((bad + 1))
  done
  ((bad == 0)) || fail "verify: transforms: $bad of $N_ITEMS bodies without the live request id or updated_at in this hour (clock at the hour's turn? run again)"
  code=$(curl -sS -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$PORT_B${PREFIX}7?nonce=0123456789abcdef0123456789abcdef&ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
  [[ $code == 200 ]] || fail "verify: transforms: a fresh nonce and ts got $code"
  code=$(curl -sS -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$PORT_B${PREFIX}1000?nonce=0123456789abcdef0123456789abcdef&ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
  [[ $code == 404 ]] || fail "verify: transforms: an item that was not recorded got $code"
  log "verified: $N_ITEMS requests 200 on both; plain bodies as recorded, transformed ones shifted and echoed; a fresh nonce and ts match, another item does not"
}

# ---------------------------------------------------------------- main

ab_main "$@"
