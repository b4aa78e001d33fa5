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
srcdir=${srcdir:-$(cd "$HERE/.." && pwd)}
BENCH_DIR=${BENCH_DIR:-/tmp/bench}
DIR=${DIR:-$BENCH_DIR/respond-transforms}
DURATION=${DURATION:-10}
REPEATS=${REPEATS:-3}
WARMUP=${WARMUP:-5}
CONNS=${CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
PORT_A=${PORT_A:-18089}
PORT_B=${PORT_B:-18090}
WRK_TIMEOUT=${WRK_TIMEOUT:-5s}
STRICT=${STRICT:-0}
N_ITEMS=1000
BODY_BYTES=1024
PREFIX=/api/items/

die() { printf 'respond-transforms.sh: %s\n' "$*" >&2; exit 2; }
fail() { printf 'respond-transforms.sh: %s\n' "$*" >&2; exit 1; }
log() { printf '%s\n' "$*" >&2; }

for t in wrk curl taskset awk flock; do
  command -v "$t" >/dev/null || die "$t not found"
done
if [[ -z ${DECOY:-} ]]; then
  for d in ./decoy "$srcdir/decoy"; do
    [[ -x $d ]] && { DECOY=$d; break; }
  done
fi
[[ -n ${DECOY:-} && -x $DECOY ]] || die "no decoy binary (build it with make, or set DECOY=/path/to/decoy)"
DECOY=$(cd "$(dirname "$DECOY")" && pwd)/$(basename "$DECOY")

# ---------------------------------------------------------------- data

# The values of item K, computed the same way by awk, the Lua script and
# url(): nonce "deadbeef" %08x(K) "cafe0123" %08x(K*7919), ts
# 2026-01-01T00:MM:SS.mmmZ, request id 0b1c2d3e-4f50-4617-8293-%012x(K).
gen_data() {
  rm -rf "$DIR"
  mkdir -p "$DIR/items" "$DIR/raw" "$DIR/verify" || die "cannot create $DIR"
  awk -v dir="$DIR" -v n="$N_ITEMS" -v size="$BODY_BYTES" -v prefix="$PREFIX" -v port="$PORT_A" '
    function mkbody(head, seed,   need, s, k) {
      need = size - length(head) - 2
      s = ""
      for (k = 0; k < need; k++) s = s substr(alpha, (seed + k) % 62 + 1, 1)
      return head s "\"}"
    }
    function jesc(s) { gsub(/"/, "\\\"", s); return s }
    BEGIN {
      alpha = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
      snap = dir "/items.jsonl"
      for (i = 0; i < n; i++) {
        nonce = sprintf("deadbeef%08xcafe0123%08x", i, i * 7919)
        ts = sprintf("2026-01-01T00:%02d:%02d.%03dZ", int(i / 60) % 60, i % 60, i % 1000)
        rid = sprintf("0b1c2d3e-4f50-4617-8293-%012x", i)
        p = prefix i "?nonce=" nonce "&ts=" ts
        b = mkbody("{\"id\":" i ",\"sku\":\"SKU-" sprintf("%05d", i) "\",\"updated_at\":\"" ts "\",\"request_id\":\"" rid "\",\"stock\":" (i * 13 % 97) ",\"pad\":\"", i)
        f = dir "/items/" i ".json"; printf "%s", b > f; close(f)
        printf "{\"v\":1,\"id\":\"t-%06d\",\"ts\":\"2026-01-01T00:00:00.000000Z\",\"dir\":\"out\",\"svc\":\"bench\",\"proto\":\"http/1.1\",\"tls\":false,\"client\":\"127.0.0.1:40000\",\"server\":\"127.0.0.1:%d\",", i, port > snap
        printf "\"req\":{\"method\":\"GET\",\"target\":\"%s\",\"host\":\"127.0.0.1:%d\",\"headers\":[[\"Host\",\"127.0.0.1:%d\"],[\"X-Request-Id\",\"%s\"]]},", p, port, port, rid > snap
        printf "\"res\":{\"status\":200,\"reason\":\"OK\",\"headers\":[[\"Content-Type\",\"application/json\"],[\"Content-Length\",\"%d\"]],\"body\":\"%s\"},", length(b), jesc(b) > snap
        printf "\"timing\":{\"start_us\":%.0f,\"ttfb_us\":50,\"total_us\":60}}\n", 1767225600000000 + i * 1000 > snap
      }
      close(snap)
    }' || die "data generation failed"

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

# ---------------------------------------------------------------- processes

declare -A SRV_PID=()
STARTED=()

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
alive() { local st; st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; [[ ${st##*) } != Z* ]]; }

start_srv() {  # NAME PORT [decoy options...] -> SRV_PID[NAME]
  local name=$1 port=$2 i
  shift 2
  port_open "$port" && fail "port $port already in use"
  taskset -c "$SERVER_CPU" "$DECOY" respond "$DIR/items.jsonl" --listen "127.0.0.1:$port" \
    --workers 1 -q "$@" >"$DIR/$name.log" 2>&1 &
  SRV_PID[$name]=$!
  STARTED+=("$!")
  for ((i = 0; i < 300; i++)); do
    port_open "$port" && return 0
    alive "${SRV_PID[$name]}" || break
    sleep 0.1
  done
  fail "$name: not listening on $port (log: $DIR/$name.log: $(tail -3 "$DIR/$name.log"))"
}

stop_pid() {  # PID: TERM, then KILL after 5 s; only processes we started
  local p=$1 i
  alive "$p" || { wait "$p" 2>/dev/null; return 0; }
  kill -TERM "$p" 2>/dev/null
  for ((i = 0; i < 50; i++)); do alive "$p" || break; sleep 0.1; done
  alive "$p" && kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  return 0
}
stop_all() { local p; for p in "${STARTED[@]}"; do stop_pid "$p"; done; STARTED=(); }
trap 'stop_all' EXIT
trap 'stop_all; exit 130' INT TERM

cpu_ns() {  # PID -> CPU time of all its threads, ns (schedstat), else ticks
  local t sum=0 a
  if [[ -r /proc/$1/task/$1/schedstat ]]; then
    for t in /proc/"$1"/task/*/schedstat; do
      read -r a _ <"$t" 2>/dev/null && sum=$((sum + a))
    done
    echo "$sum"
  else
    read -r -a a <<<"$(cut -d')' -f2- "/proc/$1/stat")"
    echo $(((a[11] + a[12]) * 1000000000 / $(getconf CLK_TCK)))
  fi
}

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

# ---------------------------------------------------------------- measure

# wrk_run PORT SECONDS OUT -> wrk output in OUT (its BENCH line), "real user
# sys" of wrk in OUT.time
wrk_run() {
  local TIMEFORMAT='%R %U %S'
  { time env BENCH_ITEMS=$N_ITEMS BENCH_PREFIX=$PREFIX taskset -c "$WRK_CPU" \
      timeout $(($2 + 30)) wrk -t1 -c"$CONNS" -d"$2s" --timeout "$WRK_TIMEOUT" --latency \
      -s "$DIR/tf.lua" "http://127.0.0.1:$1$PREFIX" >"$3" 2>&1; } 2>"$3.time"
}

measure() {  # NAME PORT RUN -> a line in $DIR/runs.tsv
  local name=$1 port=$2 r=$3 f c0 c1 b
  f=$DIR/raw/$name-run$r.txt
  c0=$(cpu_ns "${SRV_PID[$name]}")
  wrk_run "$port" "$DURATION" "$f"
  c1=$(cpu_ns "${SRV_PID[$name]}")
  b=$(grep '^BENCH ' "$f") || { log "  $name run $r: wrk printed no result (see $f)"; return 1; }
  awk -v name="$name" -v r="$r" -v b="$b" -v ns=$((c1 - c0)) -v tm="$(cat "$f.time")" 'BEGIN {
    n = split(b, kv, /[ =]/); for (i = 2; i < n; i += 2) v[kv[i]] = kv[i + 1]
    split(tm, w, " "); s = v["duration_us"] / 1e6
    printf "%s\t%d\t%.0f\t%.3f\t%.3f\t%.1f\t%.1f\t%.3f\t%d\t%d\t%d\n", name, r, v["requests"] / s,
      v["p50_us"] / 1000, v["p99_us"] / 1000, 100 * ns / 1e9 / s, 100 * (w[2] + w[3]) / w[1],
      (v["requests"] ? ns / 1000 / v["requests"] : 0), v["non2xx"],
      v["connect"] + v["read"] + v["write"] + v["timeout"], v["requests"] }' >>"$DIR/runs.tsv"
  tail -1 "$DIR/runs.tsv" | awk -F'\t' '{ printf "  %-10s run %d: %8d req/s  p99 %7.3f ms  srv %5.1f%%  wrk %5.1f%%  %6.3f us/req\n", $1, $2, $3, $5, $6, $7, $8 }' >&2
}

# ---------------------------------------------------------------- summary

summary() {  # from $DIR/runs.tsv and $DIR/settings.txt
echo
echo "== transforms overhead: 1000 recorded calls, decoy respond --workers 1; typed nonce and ts, a shifted date and an echoed id on every call, vs none"
echo "   ($(cat "$DIR/settings.txt" 2>/dev/null))"
awk -F'\t' -v target=0.90 -v strict="$STRICT" '
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  NR > 1 {
    c = $1; rps[c] = rps[c] " " $3; p50[c] = p50[c] " " $4; p99[c] = p99[c] " " $5
    srv[c] = srv[c] " " $6; wrk[c] = wrk[c] " " $7; cpu[c] = cpu[c] " " $8
    n2[c] += $9; se[c] += $10; runs[c] = runs[c] (runs[c] == "" ? "" : "/") $3
  }
  END {
    printf "%-10s %9s  %-24s %8s %8s %6s %6s %10s %7s %7s\n", "config", "req/s", "req/s per run", "p50 ms", "p99 ms", "srv%", "wrk%", "CPU us/req", "non2xx", "sockerr"
    split("plain transforms", C, " ")
    for (i = 1; i <= 2; i++) {
      c = C[i]
      if (!(c in rps)) { printf "%-10s no result\n", c; bad = 1; continue }
      m[c, "rps"] = median(rps[c]); m[c, "p99"] = median(p99[c]); m[c, "cpu"] = median(cpu[c])
      printf "%-10s %9.0f  %-24s %8.3f %8.3f %6.1f %6.1f %10.3f %7d %7d\n", c, m[c, "rps"], runs[c],
        median(p50[c]), m[c, "p99"], median(srv[c]), median(wrk[c]), m[c, "cpu"], n2[c], se[c]
    }
    if (bad) exit 1
    rr = m["transforms", "rps"] / m["plain", "rps"]
    cr = m["transforms", "cpu"] / m["plain", "cpu"]
    printf "ratio transforms/plain: req/s %.3fx, CPU per request %.3fx (%+.3f us; capacity per core %.3fx), p99 %.3fx\n",
      rr, cr, m["transforms", "cpu"] - m["plain", "cpu"], 1 / cr, m["transforms", "p99"] / m["plain", "p99"]
    printf "target req/s with transforms >= %.2fx without: %s (%.3fx); on CPU per request: %s (%.3fx)\n", target,
      (rr >= target) ? "MET" : "MISSED", rr, (1 / cr >= target) ? "MET" : "MISSED", 1 / cr
    if (strict && (rr < target)) exit 3
  }' "$DIR/runs.tsv"
}

# ---------------------------------------------------------------- main

if [[ ${1:-} == --summary ]]; then   # --summary [DIR]: the numbers of an earlier run again
  DIR=${2:-$DIR}
  [[ -f $DIR/runs.tsv ]] || die "no $DIR/runs.tsv"
  summary
  exit
fi

mkdir -p "$BENCH_DIR" || die "cannot create $BENCH_DIR"
exec 9>"$BENCH_DIR/.respond-vs-peers.lock"
if ! flock -n 9; then
  log "respond-transforms.sh: another benchmark holds $BENCH_DIR/.respond-vs-peers.lock; waiting (up to ${LOCK_WAIT:-1800} s)"
  flock -w "${LOCK_WAIT:-1800}" 9 || die "lock not released after ${LOCK_WAIT:-1800} s"
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

gen_data
printf 'config\trun\treq_s\tp50_ms\tp99_ms\tsrv_pct\twrk_pct\tcpu_us_per_req\tnon2xx\tsockerr\trequests\n' >"$DIR/runs.tsv"
echo "wrk -t1 -c$CONNS -d${DURATION}s x $REPEATS alternating, after ${WARMUP}s warm-up; server CPU $SERVER_CPU, wrk CPU $WRK_CPU; $("$DECOY" --version 2>&1 | head -1)" >"$DIR/settings.txt"
start_srv plain "$PORT_A"
start_srv transforms "$PORT_B" --transforms "$DIR/tf.yaml"
verify
log "decoy: $("$DECOY" --version 2>&1 | head -1) ($DECOY); plain pid ${SRV_PID[plain]} on :$PORT_A, transforms pid ${SRV_PID[transforms]} on :$PORT_B, CPU $SERVER_CPU; wrk CPU $WRK_CPU"
if ((WARMUP > 0)); then
  log "warm-up ${WARMUP}s each"
  wrk_run "$PORT_A" "$WARMUP" "$DIR/raw/plain-warmup.txt"
  wrk_run "$PORT_B" "$WARMUP" "$DIR/raw/transforms-warmup.txt"
fi
for ((r = 1; r <= REPEATS; r++)); do
  if ((r % 2)); then order="plain transforms"; else order="transforms plain"; fi
  for name in $order; do
    if [[ $name == plain ]]; then measure plain "$PORT_A" "$r"; else measure transforms "$PORT_B" "$r"; fi
  done
done
stop_all

summary | tee "$DIR/summary.txt"
st=${PIPESTATUS[0]}
echo "load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$DIR/summary.txt"
echo "data and raw wrk output: $DIR (runs.tsv, summary.txt, raw/)"
exit "$st"
