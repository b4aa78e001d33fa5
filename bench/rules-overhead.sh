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
. "$HERE/lib.sh"
ab_defaults
: "${DIR:=$BENCH_DIR/rules-overhead}" "${PORT_A:=18086}" "${PORT_B:=18087}" \
  "${PORT_V:=18088}" "${PERF:=0}" "${PERF_SECONDS:=5}" \
  "${BENCH_LUA:=$srcdir/../shared/bench/bench.lua}"
N_ITEMS=1000 BODY_BYTES=1024 PREFIX=/api/items/
AB_SNAP=$DIR/many.jsonl AB_LUA=$BENCH_LUA AB_A=norules AB_B=rules
AB_B_OPTS=(--rules "$DIR/rules.yaml") AB_TARGET=0.95
AB_TITLE="rules overhead: many (1000 routes), decoy respond --workers 1, 20 never-matching rules vs none"

bench_need wrk curl taskset awk flock
[[ -f $BENCH_LUA ]] || die "bench.lua not found: $BENCH_LUA (set BENCH_LUA)"
bench_find_decoy

# ---------------------------------------------------------------- data

gen_data() {
  ab_items '
    BEGIN {
      for (i = 0; i < n; i++)
        item(i, prefix i, "", "{\"id\":" i ",\"sku\":\"SKU-" sprintf("%05d", i) "\",\"name\":\"item " i "\",\"price_cents\":" (100 + i * 7) ",\"stock\":" (i * 13 % 97) ",\"tags\":[\"bench\",\"t" (i % 10) "\"],\"pad\":\"")
    }'

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

trap 'stop_all' EXIT
trap 'stop_all; exit 130' INT TERM

# ---------------------------------------------------------------- verify

verify() {  # port V: every path 200 with its body; no rule matched
  local v=$DIR/verify ap k bad=0 code
  ab_start verify "$PORT_V" --rules "$DIR/rules.yaml" --admin 127.0.0.1:0 \
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

# ---------------------------------------------------------------- main

# After the measurements: with PERF=1, a profile of the rules responder.
ab_after() {
  local perf_pid
  ((PERF)) || return 0
  if ! command -v perf >/dev/null; then
    log "perf not found; PERF=1 ignored"
    return 0
  fi
  log "perf record --call-graph dwarf of the rules responder (pid ${SRV_PID[rules]}) for ${PERF_SECONDS}s"
  perf record -F 999 --call-graph dwarf -o "$DIR/perf.data" -p "${SRV_PID[rules]}" -- sleep "$((PERF_SECONDS + 1))" >"$DIR/perf.log" 2>&1 &
  perf_pid=$!
  sleep 0.5
  ab_wrk "$PORT_B" "$PERF_SECONDS" "$DIR/raw/rules-perf.txt"
  wait "$perf_pid"
  perf report -i "$DIR/perf.data" --no-children --stdio --percent-limit 0.5 \
    --sort dso,symbol >"$DIR/perf.txt" 2>/dev/null
  perf report -i "$DIR/perf.data" --children --stdio --percent-limit 2 -g none \
    --sort symbol >"$DIR/perf-children.txt" 2>/dev/null
  log "perf: $DIR/perf.txt (self), $DIR/perf-children.txt (with children)"
}

ab_main "$@"
