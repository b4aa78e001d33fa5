#!/bin/bash
# t-kube-job: `decoy kube job` renders an Indexed Job; its pods are
# simulated with N local processes running exactly the rendered command
# (the completion index, the snapshot and reports mounts substituted)
# against the shop demo.  They wait for the common --start-at and start
# within 250 ms of each other and of it; their counts add up to a single
# run's (the recorded load, exactly); the merge Pod's command merges them
# into one report whose count is the sum, whose max is the largest shard
# max and whose percentiles lie between the shards'.  Bad options exit 2.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || skip "jq is not installed"
PY=/usr/bin/python3
"$PY" -c 'import yaml' 2>/dev/null || skip "no python3-yaml"
SNAP=$top_srcdir/examples/snapshots/shop.jsonl
N=3

start_respond deps "$SNAP"
start_bg orders "$T/orders.port" "$SHOP/orders" --port 0 \
    --port-file "$T/orders.port" \
    --payments "http://127.0.0.1:$PORT_deps" \
    --inventory "http://127.0.0.1:$PORT_deps"
URL=http://127.0.0.1:$PORT_orders

# A single run: the reference.
"$DECOY" replay "$SNAP" --target "$URL" --report "$T/single.json" \
    >/dev/null 2>>"$T/replay.log"
single=$(jq .totals.count "$T/single.json")
check "the single run sends the recorded load ($single)" test "$single" -gt 0

start=$(( $(date +%s) + 2 ))
OPTS=(--parallelism "$N" --target "$URL" --snapshot shop.jsonl
    --snapshot-claim snaps --reports-claim reports --name shop-load
    --start-at "$start")
"$DECOY" kube job "${OPTS[@]}" >"$T/job.yaml"
check "kube job exits 0" test $? -eq 0
"$DECOY" kube job --merge "${OPTS[@]}" >"$T/merge.yaml"
check "kube job --merge exits 0" test $? -eq 0

"$PY" - "$T/job.yaml" "$T/merge.yaml" "$T" <<'PYEOF'
import sys, yaml
job = yaml.safe_load(open(sys.argv[1]))
merge = yaml.safe_load(open(sys.argv[2]))
spec = job["spec"]
out = sys.argv[3]
with open(f"{out}/job.facts", "w") as f:
    f.write(f'{job["kind"]} {spec["completionMode"]} {spec["completions"]} {spec["parallelism"]}\n')
with open(f"{out}/load.cmd", "w") as f:
    f.write("\n".join(spec["template"]["spec"]["containers"][0]["command"]) + "\n")
with open(f"{out}/merge.cmd", "w") as f:
    f.write("\n".join(merge["spec"]["containers"][0]["command"]) + "\n")
PYEOF
check "an Indexed Job of $N completions, $N at once" \
    test "$(cat "$T/job.facts")" = "Job Indexed $N $N"
check "the shard is the completion index" \
    grep -q -x "\$(JOB_COMPLETION_INDEX)/$N" "$T/load.cmd"

# --- the pods: N processes, the rendered command with the mounts.
mkdir -p "$T/data" "$T/reports"
cp "$SNAP" "$T/data/shop.jsonl"
# The responder and the service stay in PIDS (lib.sh's cleanup ends
# them); the shards are added while they run.
servers=("${PIDS[@]}")
pids=()
for ((i = 0; i < N; i++)); do
	mapfile -t CMD < <(sed -e "s|\$(JOB_COMPLETION_INDEX)|$i|g" \
	    -e "s|^/var/lib/decoy/data/|$T/data/|" \
	    -e "s|^/var/lib/decoy/reports/|$T/reports/|" "$T/load.cmd")
	PATH="$top_builddir:$PATH" "${CMD[@]}" >"$T/shard$i.out" \
	    2>"$T/shard$i.log" &
	pids+=("$!")
	PIDS+=("$!")
done
fails=0
for p in "${pids[@]}"; do
	wait "$p" || fails=$((fails + 1))
done
PIDS=("${servers[@]}")
check "every shard exits 0" test "$fails" -eq 0
sum=0
starts=()
for ((i = 0; i < N; i++)); do
	r=$T/reports/shop-load-$i.json
	check "shard $i wrote its report" test -s "$r"
	sum=$((sum + $(jq .totals.count "$r")))
	starts+=("$(jq .start_us "$r")")
done
check "the shards together send the recorded load ($sum of $single)" \
    test "$sum" -eq "$single"
spread=$(printf '%s\n' "${starts[@]}" | sort -n |
    awk 'NR==1{a=$1} {b=$1} END{print b-a}')
check "the shards started within 250 ms of each other (${spread} us)" \
    test "$spread" -lt 250000
first=$(printf '%s\n' "${starts[@]}" | sort -n | head -n 1)
check "... not before --start-at" test "$first" -ge $((start * 1000000))
check "... and soon after it" test "$first" -lt $(((start + 1) * 1000000))

# --- the merge Pod's command.
mapfile -t MCMD < <(sed -e "s|^/var/lib/decoy/reports/|$T/reports/|" \
    "$T/merge.cmd")
PATH="$top_builddir:$PATH" "${MCMD[@]}" >"$T/merged.json" 2>"$T/merge.log"
check "the merge command exits 0" test $? -eq 0
check "the merged count is the sum ($sum)" \
    test "$(jq .totals.count "$T/merged.json")" -eq "$sum"
check "the merged report counts $N shards" \
    test "$(jq .shards "$T/merged.json")" -eq "$N"
maxes=$(for ((i = 0; i < N; i++)); do
	jq .totals.summary.max_us "$T/reports/shop-load-$i.json"; done |
    sort -n | tail -n 1)
check "the merged max is the largest shard max" \
    test "$(jq .totals.summary.max_us "$T/merged.json")" -eq "$maxes"
for q in p50_us p99_us; do
	lo=$(for ((i = 0; i < N; i++)); do
		jq ".totals.summary.$q" "$T/reports/shop-load-$i.json"; done |
	    sort -n | head -n 1)
	hi=$(for ((i = 0; i < N; i++)); do
		jq ".totals.summary.$q" "$T/reports/shop-load-$i.json"; done |
	    sort -n | tail -n 1)
	m=$(jq ".totals.summary.$q" "$T/merged.json")
	check "the merged $q ($m) lies between the shards' ($lo..$hi)" \
	    test "$m" -ge "$lo" -a "$m" -le "$hi"
done

# --- the scenario form: decoy kube job SCENARIO.  The pods run the
# scenario's load (its multiplier, its url as the target, its snapshot's
# file name in the volume); the scenario's assertions are evaluated on the
# merged report, by decoy report merge --assert.
cat >"$T/scen.yaml" <<SCEN
name: shop-scen
snapshot: $SNAP
service: {url: "$URL"}
load: {pattern: replay, multiplier: 4, connections: 8, timeout: 5s}
assert:
  error_rate: {max: 0%}
  latency: {max: 30s}
SCEN
start=$(( $(date +%s) + 2 ))
SOPTS=(--parallelism "$N" --snapshot-claim snaps --reports-claim reports
    --start-at "$start")
"$DECOY" kube job "$T/scen.yaml" "${SOPTS[@]}" >"$T/sjob.yaml"
check "kube job SCENARIO exits 0" test $? -eq 0
"$DECOY" kube job "$T/scen.yaml" --merge "${SOPTS[@]}" >"$T/smerge.yaml"
check "kube job SCENARIO --merge exits 0" test $? -eq 0
"$PY" - "$T/sjob.yaml" "$T/smerge.yaml" "$T" <<'PYEOF'
import sys, yaml
job = yaml.safe_load(open(sys.argv[1]))
merge = yaml.safe_load(open(sys.argv[2]))
out = sys.argv[3]
with open(f"{out}/sjob.facts", "w") as f:
    f.write(f'{job["metadata"]["name"]} {merge["metadata"]["name"]}\n')
with open(f"{out}/sload.cmd", "w") as f:
    f.write("\n".join(job["spec"]["template"]["spec"]["containers"][0]["command"]) + "\n")
with open(f"{out}/smerge.cmd", "w") as f:
    f.write("\n".join(merge["spec"]["containers"][0]["command"]) + "\n")
PYEOF
check "the Job and the merge Pod are named after the scenario" \
    test "$(cat "$T/sjob.facts")" = "shop-scen shop-scen-merge"
check "the target is the scenario's url" grep -q -x -F "$URL" "$T/sload.cmd"
check "the snapshot is the scenario's, in the volume" \
    grep -q -x /var/lib/decoy/data/shop.jsonl "$T/sload.cmd"
check "the load is the scenario's (multiplier 4)" \
    grep -q -x -A1 -- --multiplier "$T/sload.cmd"
check "... 8 connections" test "$(grep -x -A1 -- --connections \
    "$T/sload.cmd" | tail -n 1)" = 8
check "... no comparison without assert.regression" \
    grep -q -x -- --no-status "$T/sload.cmd"
check "the merge prints how to assert the scenario on it" \
    grep -q -F -- "--assert \"$T/scen.yaml\"" "$T/smerge.yaml"
pids=()
for ((i = 0; i < N; i++)); do
	mapfile -t CMD < <(sed -e "s|\$(JOB_COMPLETION_INDEX)|$i|g" \
	    -e "s|^/var/lib/decoy/data/|$T/data/|" \
	    -e "s|^/var/lib/decoy/reports/|$T/reports/|" "$T/sload.cmd")
	PATH="$top_builddir:$PATH" "${CMD[@]}" >"$T/sshard$i.out" \
	    2>"$T/sshard$i.log" &
	pids+=("$!")
	PIDS+=("$!")
done
fails=0
for p in "${pids[@]}"; do
	wait "$p" || fails=$((fails + 1))
done
PIDS=("${servers[@]}")
check "every scenario shard exits 0" test "$fails" -eq 0
sum=0
SREPORTS=()
for ((i = 0; i < N; i++)); do
	SREPORTS+=("$T/reports/shop-scen-$i.json")
	sum=$((sum + $(jq .totals.count "$T/reports/shop-scen-$i.json")))
done
check "the scenario's shards send the recorded load ($sum of $single)" \
    test "$sum" -eq "$single"
mapfile -t MCMD < <(sed -e "s|^/var/lib/decoy/reports/|$T/reports/|" \
    "$T/smerge.cmd")
PATH="$top_builddir:$PATH" "${MCMD[@]}" >"$T/smerged.json" 2>>"$T/merge.log"
check "the scenario's merge command exits 0" test $? -eq 0
"$DECOY" report "$T/smerged.json" --assert "$T/scen.yaml" >"$T/sreport.out"
check "decoy report --assert SCENARIO passes on the merged report" \
    test $? -eq 0
check "... with the scenario's assertions" \
    grep -q "error_rate.max" "$T/sreport.out"

# The assertions are evaluated on the merged report, not on a shard: a
# throughput bound between the largest shard's and the merged one passes
# on the merge and fails on every shard.
thr=$(jq .totals.summary.throughput "$T/smerged.json")
sthr=$(for r in "${SREPORTS[@]}"; do jq .totals.summary.throughput "$r"
    done | sort -g | tail -n 1)
min=$(awk -v a="$thr" -v b="$sthr" 'BEGIN{printf "%.3f", (a + b) / 2}')
check "the merged throughput ($thr/s) exceeds a shard's ($sthr/s)" \
    awk -v a="$thr" -v b="$sthr" 'BEGIN{exit !(a > b * 1.5)}'
sed -e "s|latency: {max: 30s}|throughput: {min: $min/s}|" "$T/scen.yaml" \
    >"$T/thr.yaml"
"$DECOY" report merge "${SREPORTS[@]}" --assert "$T/thr.yaml" \
    -o "$T/thr.json" 2>>"$T/merge.log"
check "merge --assert: throughput.min $min/s holds on the merge (exit 0)" \
    test $? -eq 0
check "... and the merged report records it as passed" \
    test "$(jq -c '[.assertions[] | select(.name == "throughput.min") |
	.passed]' "$T/thr.json")" = "[true]"
shardfails=0
for r in "${SREPORTS[@]}"; do
	"$DECOY" report "$r" --assert "$T/thr.yaml" >/dev/null ||
	    shardfails=$((shardfails + 1))
done
check "... and fails on each shard alone ($shardfails of $N)" \
    test "$shardfails" -eq "$N"
# A failed assertion: exit 1, the merged report written all the same.
sed -e "s|latency: {max: 30s}|latency: {p50: 1us}|" "$T/scen.yaml" \
    >"$T/fail.yaml"
"$DECOY" report merge "${SREPORTS[@]}" --assert "$T/fail.yaml" \
    -o "$T/fail.json" 2>>"$T/merge.log"
check "merge --assert: a failed latency.p50 exits 1" test $? -eq 1
check "... and the report holds it, failed" \
    test "$(jq -c '[.assertions[] | select(.name == "latency.p50") |
	.passed]' "$T/fail.json")" = "[false]"
"$DECOY" report "$T/smerged.json" --assert "$T/fail.yaml" >/dev/null
check "decoy report --assert: the same failure exits 1" test $? -eq 1
"$DECOY" report merge "${SREPORTS[@]}" --assert "$T/nope.yaml" \
    -o "$T/nope.json" 2>/dev/null
check "merge --assert with a missing scenario: exit 2" test $? -eq 2
"$DECOY" kube job "$top_srcdir/scenarios/fuzz-buggy.yaml" "${SOPTS[@]}" \
    --target "$URL" >/dev/null 2>&1
check "kube job with a fuzz scenario: exit 2" test $? -eq 2
"$DECOY" kube job "$top_srcdir/scenarios/smoke.yaml" "${SOPTS[@]}" \
    >/dev/null 2>&1
check "kube job SCENARIO whose url holds {service_port}, no --target: exit 2" \
    test $? -eq 2

# --- bad options.
"$DECOY" kube job --target "$URL" --snapshot-claim s --reports-claim r \
    >/dev/null 2>&1
check "no --parallelism: exit 2" test $? -eq 2
"$DECOY" kube job -p 2 --target "$URL" --reports-claim r >/dev/null 2>&1
check "no snapshot volume: exit 2" test $? -eq 2
"$DECOY" kube job -p 2 --target "$URL" --snapshot-claim s \
    --reports-claim r --name Bad_Name >/dev/null 2>&1
check "a name that is not a DNS label: exit 2" test $? -eq 2
"$DECOY" kube job -p 0 --target "$URL" --snapshot-claim s \
    --reports-claim r >/dev/null 2>&1
check "--parallelism 0: exit 2" test $? -eq 2
"$DECOY" kube job -p 2 --target "$URL" --snapshot-claim s \
    --reports-claim r --start-at soon >/dev/null 2>&1
check "a bad --start-at: exit 2" test $? -eq 2

done_testing
