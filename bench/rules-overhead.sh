#!/usr/bin/env bash
# rules-overhead.sh - what 20 chaos rules that never match cost the responder.
#
# The `many` workload of the shared peer harness (1000 routes GET
# /api/items/{0..999}, each its own 1 KiB JSON body, wrk cycling through the
# paths in order with ../shared/bench/bench.lua), served side by side by two
# responders started from the same snapshot:
#   norules   decoy respond SNAP --listen 127.0.0.1:$PORT_A --workers 1
#   rules     the same plus --rules RULES: 20 realistic rules (path, host,
#             method, header, query and body regexes, mixed faults and `when`
#             conditions) none of which matches these requests, so every
#             request pays for evaluating all 20 and none is faulted.
# Both run pinned to SERVER_CPU (the idle one costs nothing), wrk -t1 -c$CONNS
# pinned to WRK_CPU.  After a WARMUP s warm-up of each, the REPEATS runs of
# DURATION s alternate between the two (A B, B A, A B, ...) so drift on the
# machine hits both alike.  Per configuration it prints the median req/s (and
# every run's), p50/p99 (median over runs), server CPU % and wrk CPU % (100 =
# one core), and the server CPU time per request in microseconds: the CPU time
# of all the responder's threads (sum of /proc/PID/task/*/schedstat, ns) over
# the run, divided by the requests wrk completed.  Then the ratios
# rules/norules for req/s and CPU per request, against the target: req/s with
# rules >= 0.95x without.  When wrk% is near 100 and srv% well below, wrk set
# the pace and the CPU-per-request ratio is the one that tells the cost.
#
# Before measuring, a third responder with the rules and the admin API checks
# the premise: all 1000 paths answer 200 with their recorded body, and every
# rule reports "matched":0 (GET /rules).
#
# The data (snapshot, bodies, rule file) is generated here with awk into
# $DIR; the snapshot has the format peers.sh writes for `many`
# (decoy-snapshot(5)).
#
# Environment (all optional): DECOY (default ./decoy, else <repo>/decoy)
#   BENCH_LUA (default <repo>/../shared/bench/bench.lua)  BENCH_DIR=/tmp/bench
#   DIR=$BENCH_DIR/rules-overhead  DURATION=10  REPEATS=3  WARMUP=5  CONNS=64
#   SERVER_CPU=0  WRK_CPU=1  PORT_A=18086  PORT_B=18087  PORT_V=18088
#   WRK_TIMEOUT=5s  LOCK_WAIT=1800  PERF=0 (1: after the measurements, `perf
#   record --call-graph dwarf -F 999` the rules responder during one extra
#   PERF_SECONDS=5 s wrk run, not counted; reports in $DIR/perf*.txt)
#   STRICT=0 (1: exit 3 when the target is missed)
# It takes the lock respond-vs-peers.sh takes ($BENCH_DIR/.respond-vs-peers
# .lock), so two benchmarks never share the cores.  A run with the defaults
# takes about 75 s.
#
# bench/rules-overhead.sh --summary [DIR]  prints the numbers of an earlier run
# again (from DIR/runs.tsv).
#
# Exit status: 0 ok; 1 a responder did not start, verify or measure; 2 a tool
# or binary is missing; 3 the target was missed (STRICT=1 only).

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=${srcdir:-$(cd "$HERE/.." && pwd)}
BENCH_DIR=${BENCH_DIR:-/tmp/bench}
DIR=${DIR:-$BENCH_DIR/rules-overhead}
BENCH_LUA=${BENCH_LUA:-$srcdir/../shared/bench/bench.lua}
DURATION=${DURATION:-10}
REPEATS=${REPEATS:-3}
WARMUP=${WARMUP:-5}
CONNS=${CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
PORT_A=${PORT_A:-18086}
PORT_B=${PORT_B:-18087}
PORT_V=${PORT_V:-18088}
WRK_TIMEOUT=${WRK_TIMEOUT:-5s}
PERF=${PERF:-0}
PERF_SECONDS=${PERF_SECONDS:-5}
STRICT=${STRICT:-0}
N_ITEMS=1000
BODY_BYTES=1024
PREFIX=/api/items/

die() { printf 'rules-overhead.sh: %s\n' "$*" >&2; exit 2; }
fail() { printf 'rules-overhead.sh: %s\n' "$*" >&2; exit 1; }
log() { printf '%s\n' "$*" >&2; }

for t in wrk curl taskset awk flock; do
  command -v "$t" >/dev/null || die "$t not found"
done
[[ -f $BENCH_LUA ]] || die "bench.lua not found: $BENCH_LUA (set BENCH_LUA)"
if [[ -z ${DECOY:-} ]]; then
  for d in ./decoy "$srcdir/decoy"; do
    [[ -x $d ]] && { DECOY=$d; break; }
  done
fi
[[ -n ${DECOY:-} && -x $DECOY ]] || die "no decoy binary (build it with make, or set DECOY=/path/to/decoy)"
DECOY=$(cd "$(dirname "$DECOY")" && pwd)/$(basename "$DECOY")

# ---------------------------------------------------------------- data

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
      snap = dir "/many.jsonl"
      for (i = 0; i < n; i++) {
        p = prefix i
        b = mkbody("{\"id\":" i ",\"sku\":\"SKU-" sprintf("%05d", i) "\",\"name\":\"item " i "\",\"price_cents\":" (100 + i * 7) ",\"stock\":" (i * 13 % 97) ",\"tags\":[\"bench\",\"t" (i % 10) "\"],\"pad\":\"", i)
        f = dir "/items/" i ".json"; printf "%s", b > f; close(f)
        printf "{\"v\":1,\"id\":\"t-%06d\",\"ts\":\"2026-01-01T00:00:00.000000Z\",\"dir\":\"out\",\"svc\":\"bench\",\"proto\":\"http/1.1\",\"tls\":false,\"client\":\"127.0.0.1:40000\",\"server\":\"127.0.0.1:%d\",", i, port > snap
        printf "\"req\":{\"method\":\"GET\",\"target\":\"%s\",\"host\":\"127.0.0.1:%d\",\"headers\":[[\"Host\",\"127.0.0.1:%d\"]]},", p, port, port > snap
        printf "\"res\":{\"status\":200,\"reason\":\"OK\",\"headers\":[[\"Content-Type\",\"application/json\"],[\"Content-Length\",\"%d\"]],\"body\":\"%s\"},", length(b), jesc(b) > snap
        printf "\"timing\":{\"start_us\":%.0f,\"ttfb_us\":50,\"total_us\":60}}\n", 1767225600000000 + i * 1000 > snap
      }
      close(snap)
    }' || die "data generation failed"

  # 20 rules of the kind a real chaos file holds.  None matches GET
  # /api/items/N with only a Host header (127.0.0.1:PORT) and no body: some
  # fail on the method, some on the host, most only after a path, header,
  # query or body regex has run.
  cat >"$DIR/rules.yaml" <<'EOF'
# rules-overhead.sh: 20 rules that never match GET /api/items/N
seed: 11
rules:
  - name: refunds-slow
    match: {method: POST, path: '^/v2/payments/[0-9]+/refunds$'}
    fault: {latency: {lognormal: {median: 200ms, p99: 2s}}}
  - name: billing-degraded
    match: {host: '^billing\.', path: '^/v1/invoices'}
    when: {probability: 0.2}
    fault: {latency: 800ms}
  - name: gold-tenant-throttle
    match: {headers: {x-tenant: '^gold$'}}
    fault: {status: 429, headers: {Retry-After: '1'}, body: '{"error":"throttled"}'}
  - name: fx-currency-outage
    match: {path: '^/api/(quotes|rates)/', query: {currency: '^(usd|eur)$'}}
    fault: {status: 502}
  - name: big-amount-declined
    match: {method: POST, body: '"amount":\s*\d{7,}'}
    fault: {status: 402, body: '{"error":"card_declined"}'}
  - name: search-long-query
    match: {path: '^/api/search$', query: {q: '^.{64,}$'}}
    fault: {latency: {uniform: [1s, 3s]}}
  - name: auth-token-outage
    match: {host: '^auth\.(internal|example)\.com$', path: '^/oauth2/token$'}
    when: {after: 10, every: 5}
    fault: {status: 503, headers: {Retry-After: '5'}}
  - name: android-truncated
    match: {headers: {user-agent: 'okhttp/[34]\.'}}
    when: {probability: 0.05}
    fault: {malform: {truncate: {at: 0.5}}}
  - name: inventory-drop-field
    match: {path: '^/api/inventory/[A-Z]{3}-\d+$'}
    fault: {malform: {drop_field: {field: stock}}}
  - name: graphql-checkout-slow
    match: {method: POST, path: '/graphql$', body: '"operationName":"(Checkout|PlaceOrder)"'}
    fault: {latency: {normal: {mean: 400ms, stddev: 100ms}}}
  - name: admin-forbidden
    match: {path: '^/admin(/|$)'}
    fault: {status: 403}
  - name: legacy-accept
    match: {path: '^/v1/', headers: {accept: 'application/vnd\.legacy\+json'}}
    fault: {headers: {Deprecation: 'true', Sunset: 'Wed, 01 Jul 2026 00:00:00 GMT'}}
  - name: reports-export-slow
    match: {path: '\.(csv|xlsx|pdf)$'}
    fault: {latency: {pareto: {scale: 300ms, shape: 1.5}, max: 10s}}
  - name: new-checkout-flag
    match: {headers: {x-feature: '(^|,)\s*new-checkout\s*(,|$)'}}
    when: {burst: 3, probability: 0.01}
    fault: {status: 500}
  - name: partner-port
    match: {host: ':(8443|9443)$'}
    fault: {latency: 150ms}
  - name: order-delete-conflict
    match: {method: DELETE, path: '^/api/orders/\d+$'}
    fault: {status: 409}
  - name: unsampled-trace-corrupt
    match: {headers: {traceparent: '^00-[0-9a-f]{32}-[0-9a-f]{16}-00$'}}
    when: {limit: 100}
    fault: {malform: {corrupt: {bytes: 4}}}
  - name: huge-page-size
    match: {query: {limit: '^[0-9]{4,}$'}}
    fault: {status: 400, body: '{"error":"limit too large"}'}
  - name: item-reviews-slow
    match: {path: '^/api/items/[0-9]+/(reviews|images)$'}
    fault: {latency: 250ms}
  - name: pii-in-body
    match: {body: '\b\d{3}-\d{2}-\d{4}\b'}
    fault: {malform: invalid_json}
EOF
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
  taskset -c "$SERVER_CPU" "$DECOY" respond "$DIR/many.jsonl" --listen "127.0.0.1:$port" \
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

verify() {  # port V: every path 200 with its body; no rule matched
  local v=$DIR/verify ap k bad=0 code
  start_srv verify "$PORT_V" --rules "$DIR/rules.yaml" --admin 127.0.0.1:0 \
    --admin-port-file "$v/admin.port"
  for ((k = 0; k < 50; k++)); do [[ -s $v/admin.port ]] && break; sleep 0.1; done
  ap=$(cat "$v/admin.port" 2>/dev/null)
  [[ -n $ap ]] || fail "verify: no admin port"
  curl -sS --max-time 60 -w '%{http_code}\n' -o "$v/#1.json" \
    "http://127.0.0.1:$PORT_V$PREFIX[0-$((N_ITEMS - 1))]" >"$v/codes" || fail "verify: curl failed"
  code=$(grep -vc '^200$' "$v/codes")
  ((code == 0)) || fail "verify: $code of $N_ITEMS paths not 200"
  for ((k = 0; k < N_ITEMS; k++)); do cmp -s "$v/$k.json" "$DIR/items/$k.json" || bad=$((bad + 1)); done
  ((bad == 0)) || fail "verify: $bad of $N_ITEMS bodies differ"
  curl -sS --max-time 10 "http://127.0.0.1:$ap/rules" >"$v/rules.json" || fail "verify: GET /rules failed"
  local nrules nzero
  nrules=$(grep -o '"matched":[0-9]*' "$v/rules.json" | wc -l)
  nzero=$(grep -o '"matched":0[,}]' "$v/rules.json" | wc -l)
  ((nrules == 20)) || fail "verify: GET /rules lists $nrules rules, expected 20 ($v/rules.json)"
  ((nzero == 20)) || fail "verify: $((nrules - nzero)) rules matched a request ($v/rules.json)"
  stop_pid "${SRV_PID[verify]}"
  log "verified: $N_ITEMS paths 200 with their bodies; 20 rules loaded, none matched"
}

# ---------------------------------------------------------------- measure

# wrk_run PORT SECONDS OUT -> wrk output in OUT (its BENCH line), "real user
# sys" of wrk in OUT.time
wrk_run() {
  local TIMEFORMAT='%R %U %S'
  { time env BENCH_ITEMS=$N_ITEMS BENCH_PREFIX=$PREFIX taskset -c "$WRK_CPU" \
      timeout $(($2 + 30)) wrk -t1 -c"$CONNS" -d"$2s" --timeout "$WRK_TIMEOUT" --latency \
      -s "$BENCH_LUA" "http://127.0.0.1:$1$PREFIX" >"$3" 2>&1; } 2>"$3.time"
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
  tail -1 "$DIR/runs.tsv" | awk -F'\t' '{ printf "  %-8s run %d: %8d req/s  p99 %7.3f ms  srv %5.1f%%  wrk %5.1f%%  %6.3f us/req\n", $1, $2, $3, $5, $6, $7, $8 }' >&2
}

# ---------------------------------------------------------------- summary

summary() {  # from $DIR/runs.tsv and $DIR/settings.txt
echo
echo "== rules overhead: many (1000 routes), decoy respond --workers 1, 20 never-matching rules vs none"
echo "   ($(cat "$DIR/settings.txt" 2>/dev/null))"
awk -F'\t' -v target=0.95 -v strict="$STRICT" '
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
    printf "%-8s %9s  %-24s %8s %8s %6s %6s %10s %7s %7s\n", "config", "req/s", "req/s per run", "p50 ms", "p99 ms", "srv%", "wrk%", "CPU us/req", "non2xx", "sockerr"
    split("norules rules", C, " ")
    for (i = 1; i <= 2; i++) {
      c = C[i]
      if (!(c in rps)) { printf "%-8s no result\n", c; bad = 1; continue }
      m[c, "rps"] = median(rps[c]); m[c, "p99"] = median(p99[c]); m[c, "cpu"] = median(cpu[c])
      printf "%-8s %9.0f  %-24s %8.3f %8.3f %6.1f %6.1f %10.3f %7d %7d\n", c, m[c, "rps"], runs[c],
        median(p50[c]), m[c, "p99"], median(srv[c]), median(wrk[c]), m[c, "cpu"], n2[c], se[c]
    }
    if (bad) exit 1
    rr = m["rules", "rps"] / m["norules", "rps"]
    cr = m["rules", "cpu"] / m["norules", "cpu"]
    printf "ratio rules/norules: req/s %.3fx, CPU per request %.3fx (%+.3f us; capacity per core %.3fx), p99 %.3fx\n",
      rr, cr, m["rules", "cpu"] - m["norules", "cpu"], 1 / cr, m["rules", "p99"] / m["norules", "p99"]
    printf "target req/s with rules >= %.2fx without: %s (%.3fx); on CPU per request: %s (%.3fx)\n", target,
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
  log "rules-overhead.sh: another benchmark holds $BENCH_DIR/.respond-vs-peers.lock; waiting (up to ${LOCK_WAIT:-1800} s)"
  flock -w "${LOCK_WAIT:-1800}" 9 || die "lock not released after ${LOCK_WAIT:-1800} s"
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

gen_data
verify
printf 'config\trun\treq_s\tp50_ms\tp99_ms\tsrv_pct\twrk_pct\tcpu_us_per_req\tnon2xx\tsockerr\trequests\n' >"$DIR/runs.tsv"
echo "wrk -t1 -c$CONNS -d${DURATION}s x $REPEATS alternating, after ${WARMUP}s warm-up; server CPU $SERVER_CPU, wrk CPU $WRK_CPU; $("$DECOY" --version 2>&1 | head -1)" >"$DIR/settings.txt"
start_srv norules "$PORT_A"
start_srv rules "$PORT_B" --rules "$DIR/rules.yaml"
log "decoy: $("$DECOY" --version 2>&1 | head -1) ($DECOY); norules pid ${SRV_PID[norules]} on :$PORT_A, rules pid ${SRV_PID[rules]} on :$PORT_B, CPU $SERVER_CPU; wrk CPU $WRK_CPU"
if ((WARMUP > 0)); then
  log "warm-up ${WARMUP}s each"
  wrk_run "$PORT_A" "$WARMUP" "$DIR/raw/norules-warmup.txt"
  wrk_run "$PORT_B" "$WARMUP" "$DIR/raw/rules-warmup.txt"
fi
for ((r = 1; r <= REPEATS; r++)); do
  if ((r % 2)); then order="norules rules"; else order="rules norules"; fi
  for name in $order; do
    if [[ $name == norules ]]; then measure norules "$PORT_A" "$r"; else measure rules "$PORT_B" "$r"; fi
  done
done

if ((PERF)); then
  if command -v perf >/dev/null; then
    log "perf record --call-graph dwarf of the rules responder (pid ${SRV_PID[rules]}) for ${PERF_SECONDS}s"
    perf record -F 999 --call-graph dwarf -o "$DIR/perf.data" -p "${SRV_PID[rules]}" -- sleep "$((PERF_SECONDS + 1))" >"$DIR/perf.log" 2>&1 &
    perf_pid=$!
    sleep 0.5
    wrk_run "$PORT_B" "$PERF_SECONDS" "$DIR/raw/rules-perf.txt"
    wait "$perf_pid"
    perf report -i "$DIR/perf.data" --no-children --stdio --percent-limit 0.5 \
      --sort dso,symbol >"$DIR/perf.txt" 2>/dev/null
    perf report -i "$DIR/perf.data" --children --stdio --percent-limit 2 -g none \
      --sort symbol >"$DIR/perf-children.txt" 2>/dev/null
    log "perf: $DIR/perf.txt (self), $DIR/perf-children.txt (with children)"
  else
    log "perf not found; PERF=1 ignored"
  fi
fi
stop_all

summary | tee "$DIR/summary.txt"
st=${PIPESTATUS[0]}
echo "load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$DIR/summary.txt"
echo "data and raw wrk output: $DIR (runs.tsv, summary.txt, raw/)"
exit "$st"
