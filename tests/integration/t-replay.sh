#!/bin/bash
# t-replay.sh -- `decoy replay`: the demo system answers every recorded
# inbound request identically; a constant rate schedules exactly the
# requests asked for and holds the rate within a sanity bound of 10%
# (the precise figure is bench/replay-vs-wrk.sh's: timing belongs in
# benchmarks, and a loaded CI box stretches a run); recorded pacing is
# compressed by --multiplier (never faster than asked); a 1 s stall in the target shows in
# p99 (coordinated omission corrected, as wrk2 does) but not in p50; shard
# reports add up to a full run.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || skip "jq is not installed"
"$DECOY" replay --help >/dev/null 2>&1 || skip "decoy replay is not built in"

SNAP=$top_srcdir/examples/snapshots/shop.jsonl

# jqr FILE FILTER: one value from a report.
jqr() {
	jq -r "$2" "$1"
}

# within ACTUAL EXPECTED PERCENT: |actual - expected| <= percent of expected.
within() {
	awk -v a="$1" -v e="$2" -v p="$3" 'BEGIN {
		d = a - e; if (d < 0) d = -d
		if (d <= e * p / 100) exit 0
		printf "# %s is not within %s%% of %s\n", a, p, e > "/dev/stderr"
		exit 1 }'
}

# between VALUE LOW HIGH (numbers, inclusive).
between() {
	awk -v v="$1" -v l="$2" -v h="$3" 'BEGIN {
		if (v >= l && v <= h) exit 0
		printf "# %s is not in [%s, %s]\n", v, l, h > "/dev/stderr"
		exit 1 }'
}

# --- 1. the demo: orders against its dependencies replayed by decoy ----
start_respond deps "$SNAP"
start_bg orders "$T/orders.port" "$SHOP/orders" --port 0 \
    --port-file "$T/orders.port" \
    --payments "http://127.0.0.1:$PORT_deps" \
    --inventory "http://127.0.0.1:$PORT_deps"
# One client, in recorded order: orders numbers its orders, so answers
# are only comparable when the requests arrive in the recorded order (two
# sessions replayed at their recorded offsets may overtake each other).
"$DECOY" replay "$SNAP" --target "http://127.0.0.1:$PORT_orders" \
    --closed --connections 1 \
    --report "$T/shop.json" >"$T/shop.out" 2>"$T/shop.log"
check "replay of the demo exits 0" [ $? -eq 0 ]
check "42 inbound requests answered" \
    [ "$(jqr "$T/shop.json" .totals.count)" = 42 ]
check "no transport errors" [ "$(jqr "$T/shop.json" \
    '[.totals.errors[]] | add')" = 0 ]
check "all 42 compared, 0 regressions" \
    [ "$(jqr "$T/shop.json" '"\(.totals.compared) \(.totals.regressions)"')" = "42 0" ]
check "the table is printed" grep -q 'POST /orders' "$T/shop.out"

# --- 5. shards: 0/2 and 1/2 add up to the full run ----------------------
"$DECOY" replay "$SNAP" --target "http://127.0.0.1:$PORT_orders" \
    --shard 0/2 --report "$T/s0.json" >/dev/null 2>>"$T/shop.log"
"$DECOY" replay "$SNAP" --target "http://127.0.0.1:$PORT_orders" \
    --shard 1/2 --report "$T/s1.json" >/dev/null 2>>"$T/shop.log"
check "shard 0/2 takes half" [ "$(jqr "$T/s0.json" .totals.count)" = 21 ]
check "shard 1/2 takes the other half" \
    [ "$(jqr "$T/s1.json" .totals.count)" = 21 ]
if "$DECOY" report --help >/dev/null 2>&1; then
	"$DECOY" report merge "$T/s0.json" "$T/s1.json" -o "$T/merged.json" \
	    >>"$T/shop.log" 2>&1
	check "merged shard reports count what a full run counts" \
	    [ "$(jqr "$T/merged.json" .totals.count)" = \
	    "$(jqr "$T/shop.json" .totals.count)" ]
	check "merged report says 2 shards" \
	    [ "$(jqr "$T/merged.json" .shards)" = 2 ]
else
	echo "# decoy report is not built in: merge check skipped"
fi
stop "$PID_orders"
stop "$PID_deps"

# --- 2. rate accuracy: 2,000 req/s for 10 s against a fast target -------
cat >"$T/ping.jsonl" <<'EOF'
{"v":1,"id":"o-1","dir":"out","req":{"method":"GET","target":"/ping","headers":[["Accept","application/json"]]},"res":{"status":200,"headers":[["Content-Type","application/json"]],"body":"{\"ok\":true}"}}
{"v":1,"id":"i-1","dir":"in","req":{"method":"GET","target":"/ping","headers":[["Accept","application/json"]]},"res":{"status":200,"headers":[["Content-Type","application/json"]],"body":"{\"ok\":true}"}}
EOF
start_respond fast "$T/ping.jsonl" --workers 1
"$DECOY" replay "$T/ping.jsonl" --target "http://127.0.0.1:$PORT_fast" \
    --rate 2000/s --duration 10s --connections 32 --report "$T/rate.json" \
    >"$T/rate.out" 2>"$T/rate.log"
check "constant rate run exits 0" [ $? -eq 0 ]
n=$(jqr "$T/rate.json" .totals.count)
tput=$(jqr "$T/rate.json" .totals.summary.throughput)
echo "# rate: $n requests, $tput req/s, late $(jqr "$T/rate.json" .late)," \
    "p99 $(jqr "$T/rate.json" .totals.summary.p99_us) us"
check "20,000 requests sent (+-10%)" within "$n" 20000 10
check "scheduled exactly 20,000" [ "$(jqr "$T/rate.json" .scheduled)" = 20000 ]
check "throughput 2,000/s (+-10%)" within "$tput" 2000 10
check "all answered 200" [ "$(jqr "$T/rate.json" \
    '.totals.status | map(select(.[0] == 200)) | .[0][1]')" = "$n" ]

# --- 3. recorded pacing compressed x10 ----------------------------------
awk 'BEGIN {
	for (i = 0; i < 50; i++)
		printf "{\"v\":1,\"id\":\"i-%d\",\"dir\":\"in\",\"req\":{\"method\":\"GET\",\"target\":\"/ping\"},\"res\":{\"status\":200,\"headers\":[],\"body\":\"{\\\"ok\\\":true}\"},\"timing\":{\"start_us\":%.0f,\"ttfb_us\":100,\"total_us\":100}}\n",
		    i, 1795670000000000 + int(i * 5000000 / 49)
}' >"$T/paced.jsonl"
"$DECOY" replay "$T/paced.jsonl" --target "http://127.0.0.1:$PORT_fast" \
    --multiplier 10 --report "$T/paced.json" >/dev/null 2>"$T/paced.log"
d=$(jqr "$T/paced.json" .duration_us)
echo "# pacing: 5 s recorded, x10: $d us"
check "50 paced requests answered" \
    [ "$(jqr "$T/paced.json" .totals.count)" = 50 ]
# 0.5 s: never less than 2% under (the schedule), at most 30% over (a
# loaded box delays the last answers; bench/ measures precisely).
check "5 s recorded at x10 takes 0.5 s (-2%, +30%)" between "$d" 490000 650000
stop "$PID_fast"

# --- 4. coordinated omission: a 1 s stall must show in p99 --------------
cat >"$T/stall.yaml" <<'EOF'
rules:
  - name: stall
    when: {between: [2s, 3s]}
    fault:
      latency: 1s
EOF
start_respond stall "$T/ping.jsonl" --workers 1 --rules "$T/stall.yaml"
"$DECOY" replay "$T/ping.jsonl" --target "http://127.0.0.1:$PORT_stall" \
    --rate 500/s --duration 6s --connections 16 --report "$T/co.json" \
    >"$T/co.out" 2>"$T/co.log"
p50=$(jqr "$T/co.json" .totals.summary.p50_us)
p99=$(jqr "$T/co.json" .totals.summary.p99_us)
echo "# coordinated omission: p50 $p50 us, p99 $p99 us," \
    "late $(jqr "$T/co.json" .late)"
check "the stall shows in p99 (>= 500 ms)" between "$p99" 500000 100000000
check "p50 stays small (< 50 ms)" between "$p50" 0 50000
stop "$PID_stall"

# --- 6. output paths are checked before the load -----------------------
# A report directory that does not exist is made; a path that cannot be
# written fails with exit 2 before any request is sent (the target's
# /stats counts none), never after the run.
start_respond out "$T/ping.jsonl" --admin 127.0.0.1:0 \
    --admin-port-file "$T/out.admin"
ADMIN_out=$(wait_port "$T/out.admin" "$PID_out")
requests_out() {
	curl -s --max-time 5 "http://127.0.0.1:$ADMIN_out/stats" |
	    jq -r .requests
}
: >"$T/plainfile"
for bad in "--report $T/plainfile/r.json" "--html $T/plainfile/x/r.html" \
    "--junit $T" "--report /proc/decoy-nope/r.json"; do
	# shellcheck disable=SC2086
	"$DECOY" replay "$T/ping.jsonl" --target "http://127.0.0.1:$PORT_out" \
	    $bad >/dev/null 2>"$T/outpath.log"
	check "bad output ($bad): exit 2" [ $? -eq 2 ]
	check "bad output ($bad): the path is named" \
	    grep -q -F "${bad#* }" "$T/outpath.log"
done
check "bad outputs: not one request reached the target" \
    [ "$(requests_out)" = 0 ]
"$DECOY" replay "$T/ping.jsonl" --target "http://127.0.0.1:$PORT_out" \
    --report "$T/new/deep/r.json" --junit "$T/new/j/junit.xml" \
    >/dev/null 2>"$T/outpath.log"
check "a new report directory is made: exit 0" [ $? -eq 0 ]
check "... and the report written there" \
    [ "$(jqr "$T/new/deep/r.json" .totals.count)" = 1 ]
check "... and the JUnit file" [ -s "$T/new/j/junit.xml" ]
stop "$PID_out"

# --- 7. JSON numbers: by text by default, by value with --numbers numeric
cat >"$T/num-serve.jsonl" <<'EOF'
{"v":1,"id":"o-1","dir":"out","req":{"method":"GET","target":"/n"},"res":{"status":200,"headers":[["Content-Type","application/json"]],"body":"{\"n\":100,\"m\":1,\"big\":9007199254740993}"}}
EOF
cat >"$T/num-rec.jsonl" <<'EOF'
{"v":1,"id":"i-1","dir":"in","req":{"method":"GET","target":"/n"},"res":{"status":200,"headers":[["Content-Type","application/json"]],"body":"{\"n\":1e2,\"m\":1.0,\"big\":9007199254740993}"}}
EOF
start_respond num "$T/num-serve.jsonl"
"$DECOY" replay "$T/num-rec.jsonl" --target "http://127.0.0.1:$PORT_num" \
    --body json --report "$T/num-exact.json" >/dev/null 2>"$T/num.log"
check "numbers by text: 1e2 vs 100 and 1.0 vs 1 differ (exit 1)" [ $? -eq 1 ]
check "numbers by text: two fields named" [ "$(jqr "$T/num-exact.json" \
    '[.endpoints[].diffs[].field] | sort | join(" ")')" = '$.m $.n' ]
"$DECOY" replay "$T/num-rec.jsonl" --target "http://127.0.0.1:$PORT_num" \
    --numbers numeric --report "$T/num-value.json" >/dev/null 2>>"$T/num.log"
check "--numbers numeric: equal values pass (exit 0)" [ $? -eq 0 ]
check "--numbers numeric: compared as JSON, no regression" \
    [ "$(jqr "$T/num-value.json" '"\(.totals.compared) \(.totals.regressions)"')" = "1 0" ]
"$DECOY" replay "$T/num-rec.jsonl" --target "http://127.0.0.1:$PORT_num" \
    --numbers numeric --body exact >/dev/null 2>>"$T/num.log"
check "--numbers numeric --body exact: a usage error (exit 2)" [ $? -eq 2 ]
stop "$PID_num"

# --- usage errors exit 2 ------------------------------------------------
"$DECOY" replay "$SNAP" >/dev/null 2>&1
check "no --target: exit 2" [ $? -eq 2 ]
"$DECOY" replay "$SNAP" --target http://127.0.0.1:1 >/dev/null 2>&1
check "unreachable target: exit 2" [ $? -eq 2 ]
"$DECOY" replay "$SNAP" --target http://x --shard 2/2 >/dev/null 2>&1
check "bad shard: exit 2" [ $? -eq 2 ]

done_testing
