#!/bin/bash
# decoy run: every scenarios/*.yaml passes --check; the demo scenario runs
# the shop (orders, its dependencies replayed under chaos) and passes; a
# stricter SLO fails with exit 1 and the JUnit file names the assertion;
# orders --plant-regression fails the strict smoke scenario and the report
# shows expected vs actual; a bad scenario exits 2 naming file:line:col; a
# service that cannot start exits 2 with its output; SIGTERM stops the
# run and everything it started.
. "$(dirname "$0")/lib.sh"

[ -x "$SHOP/orders" ] || skip "examples/shop/orders is not built"
# decoy run's temp dirs (port files, logs) go here, where they can be seen.
mkdir -p "$T/tmp"
export TMPDIR=$T/tmp

# rc CMD...: the exit status of CMD.
rc() {
	"$@" >/dev/null 2>&1
	echo $?
}

# scenario NAME OUT [SED...]: a copy of scenarios/NAME.yaml in $T with its
# relative paths pointed at the source and build trees (the test may run
# out of tree) and its reports into $T/OUT, then the extra sed edits.
scenario() {
	local name=$1 out=$2
	shift 2
	sed -e "s|\.\./examples/snapshots/|$top_srcdir/examples/snapshots/|g" \
	    -e "s|\.\./examples/shop/orders|$SHOP/orders|g" \
	    -e "s|\.\./rules/|$top_srcdir/rules/|g" \
	    -e "s|\.\./out/[a-z-]*/|$T/$out/|g" \
	    "$@" "$top_srcdir/scenarios/$name.yaml" >"$T/$out.yaml"
}

# --- --check on every recipe
for f in "$top_srcdir"/scenarios/*.yaml; do
	check "run --check $(basename "$f")" [ "$(rc "$DECOY" run --check "$f")" -eq 0 ]
done
"$DECOY" run --check --json "$top_srcdir/scenarios/demo.yaml" >"$T/check.json"
check "run --check --json: valid" grep -q '"valid":true' "$T/check.json"

# --- the demo passes
scenario demo demo
"$DECOY" run "$T/demo.yaml" >"$T/demo.out" 2>"$T/demo.log"
st=$?
check "demo: exit 0" [ "$st" -eq 0 ]
[ "$st" -eq 0 ] || cat "$T/demo.out" "$T/demo.log" >&2
check "demo: assertions printed" grep -q 'PASS  *latency.p99' "$T/demo.out"
check "demo: faults from the responder" grep -q 'payments-slow' "$T/demo.out"
check "demo: JSON report" grep -q '"payments-slow"' "$T/demo/report.json"
check "demo: JUnit report" grep -q 'failures="0"' "$T/demo/junit.xml"
check "demo: HTML report" grep -qi '<html' "$T/demo/report.html"
check "demo: temp dir removed" sh -c "! ls -d $T/tmp/decoy-run.* 2>/dev/null"

# --- a stricter SLO fails, and the JUnit file says which
scenario demo strict -e 's|latency: {p50: 250ms, p99: 4s}|latency: {p50: 1us, p99: 4s}|'
check "strict: the edit applied" grep -q 'p50: 1us' "$T/strict.yaml"
"$DECOY" run "$T/strict.yaml" >"$T/strict.out" 2>"$T/strict.log"
check "strict: exit 1" [ $? -eq 1 ]
check "strict: printed as failed" grep -q 'FAIL  *latency.p50' "$T/strict.out"
check "strict: JUnit names latency.p50" \
    grep -q 'name="latency.p50">' "$T/strict/junit.xml"
check "strict: JUnit failure for it" \
    grep -q '<failure message="latency.p50: expected &lt;= 1us' "$T/strict/junit.xml"
check "strict: p99 still passes" grep -q 'name="latency.p99"/>' "$T/strict/junit.xml"

# --- the smoke recipe passes, and catches a planted regression
scenario smoke smoke
"$DECOY" run "$T/smoke.yaml" >"$T/smoke.out" 2>"$T/smoke.log"
check "smoke: exit 0" [ $? -eq 0 ]
check "smoke: nothing differs" grep -q 'PASS  *regression' "$T/smoke.out"
scenario smoke planted -e 's|orders --port|orders --plant-regression --port|'
check "planted: the edit applied" grep -q 'plant-regression' "$T/planted.yaml"
"$DECOY" run "$T/planted.yaml" >"$T/planted.out" 2>"$T/planted.log"
check "planted: exit 1" [ $? -eq 1 ]
check "planted: regression failed" grep -q 'FAIL  *regression' "$T/planted.out"
check "planted: expected value shown" \
    grep -q 'expected: .*Espresso beans 1kg' "$T/planted.out"
check "planted: actual value shown" \
    grep -q 'actual: .*ESPRESSO BEANS 1KG' "$T/planted.out"
check "planted: JUnit regression failure" \
    grep -q 'type="regression"' "$T/planted/junit.xml"

# --- bad input: exit 2, file:line:col
cat >"$T/bad.yaml" <<EOF2
snapshot: $top_srcdir/examples/snapshots/shop.jsonl
service: {url: 'http://127.0.0.1:1'}
colour: blue
load: {pattern: sideways}
EOF2
"$DECOY" run "$T/bad.yaml" >"$T/bad.out" 2>"$T/bad.err"
check "bad: exit 2" [ $? -eq 2 ]
check "bad: unknown key at 3:1" \
    grep -q "^$T/bad.yaml:3:1: unknown key \"colour\"" "$T/bad.err"
check "bad: bad pattern at 4:17" \
    grep -q "^$T/bad.yaml:4:17: load.pattern: expected" "$T/bad.err"
check "bad: --check agrees" [ "$(rc "$DECOY" run --check "$T/bad.yaml")" -eq 2 ]
"$DECOY" run --check --json "$T/bad.yaml" >"$T/bad.json"
check "bad: --check --json lists the errors" \
    grep -q '"valid":false,"errors":\[".*3:1: unknown key' "$T/bad.json"

# a missing rule file and snapshot are caught by --check
sed -e "s|rules: \[.*\]|rules: [$T/nope.yaml]|" \
    -e "s|^snapshot: .*|snapshot: $T/nope.jsonl|" "$T/demo.yaml" >"$T/refs.yaml"
"$DECOY" run --check "$T/refs.yaml" >/dev/null 2>"$T/refs.err"
check "refs: exit 2" [ $? -eq 2 ]
check "refs: rule file named at the scenario's line" \
    grep -q "^$T/refs.yaml:[0-9]*:[0-9]*: responder.rules: $T/nope.yaml" \
    "$T/refs.err"
check "refs: snapshot named at the scenario's line" \
    grep -q "^$T/refs.yaml:[0-9]*:[0-9]*: snapshot: $T/nope.jsonl" \
    "$T/refs.err"

# --- a service that cannot start: exit 2, the reason and its output
scenario smoke dead -e "s|$SHOP/orders|sh -c 'echo orders-is-broken >\&2; exit 3'|"
"$DECOY" run "$T/dead.yaml" >"$T/dead.out" 2>"$T/dead.err"
check "dead service: exit 2" [ $? -eq 2 ]
check "dead service: reason" \
    grep -q 'service exited before it was ready.*status 3' "$T/dead.err"
check "dead service: its output" grep -q 'orders-is-broken' "$T/dead.err"

# --- SIGTERM: the run stops, and so does everything it started
scenario soak soak -e "s|command: >-|command: >-\n    echo \$\$ >$T/svc.pid; exec|"
check "soak: the edit applied" grep -q 'svc.pid; exec' "$T/soak.yaml"
"$DECOY" run "$T/soak.yaml" >"$T/soak.out" 2>"$T/soak.log" &
run_pid=$!
PIDS+=("$run_pid")
wait_for "the service of the soak run" test -s "$T/svc.pid"
svc_pid=$(cat "$T/svc.pid")
wait_for "the soak run's load" \
    sh -c "ls $T/tmp/decoy-run.*/service.log >/dev/null 2>&1 && sleep 0.5"
resp_pid=$(pgrep -f "$T/tmp/decoy-run" | head -n 1)
kill -TERM "$run_pid"
wait "$run_pid"
st=$?
PIDS=("${PIDS[@]/$run_pid}")
check "SIGTERM: exit 143" [ "$st" -eq 143 ]
check "SIGTERM: the service is gone" sh -c "! kill -0 $svc_pid 2>/dev/null"
check "SIGTERM: the responder is gone" \
    sh -c "[ -n '$resp_pid' ] && ! kill -0 $resp_pid 2>/dev/null"
check "SIGTERM: temp dir removed" sh -c "! ls -d $T/tmp/decoy-run.* 2>/dev/null"
check "SIGTERM: reported as interrupted" grep -q 'run.completed' "$T/soak.out"

done_testing
