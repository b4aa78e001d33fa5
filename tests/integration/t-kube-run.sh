#!/bin/bash
# t-kube-run: scripts/kube-run.sh (decoy run in a cluster, kubectl only)
# against a fake kubectl that keeps the set of live objects and plays the
# cluster's part for real where it matters: waiting for the Indexed Job
# runs each shard's rendered command locally (the completion index and the
# claims mapped to directories) against the shop demo, and the merge Pod's
# log is its rendered command's output.  The run passes with the merged
# report of the recorded 42 requests, the steps come in order, and every
# object it applied is deleted at the end; when the rollout fails, the run
# stops with exit 2 and still deletes what it applied.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || skip "jq is not installed"
PY=/usr/bin/python3
"$PY" -c 'import yaml' 2>/dev/null || skip "no python3-yaml"
SNAP=$top_srcdir/examples/snapshots/shop.jsonl
RUN=$top_srcdir/scripts/kube-run.sh

start_respond deps "$SNAP"
start_bg orders "$T/orders.port" "$SHOP/orders" --port 0 \
    --port-file "$T/orders.port" \
    --payments "http://127.0.0.1:$PORT_deps" \
    --inventory "http://127.0.0.1:$PORT_deps"

mkdir -p "$T/bin" "$T/claims/snaps" "$T/claims/reports"
cp "$SNAP" "$T/claims/snaps/deps.jsonl"
cat >"$T/bin/kubectl" <<'KEOF'
#!/bin/bash
# The fake cluster: $FAKE/live holds "Kind/name" of the live objects.
echo "$*" >>"$FAKE/calls"
objects() {
	/usr/bin/python3 -c '
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d: print(d["kind"] + "/" + d["metadata"]["name"])' "$1"
}
# command FILE: the first container's command, one word a line, with the
# index and the claims mapped.
command_of() {
	/usr/bin/python3 -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
s = d["spec"]["template"]["spec"] if d["kind"] == "Job" else d["spec"]
print("\n".join(s["containers"][0]["command"]))' "$1" |
	    sed -e "s|\$(JOB_COMPLETION_INDEX)|$2|g" \
	        -e "s|^/var/lib/decoy/data/|$FAKE/claims/snaps/|" \
	        -e "s|^/var/lib/decoy/reports/|$FAKE/claims/reports/|"
}
case $1 in
apply)
	f=$3
	objects "$f" >>"$FAKE/live"
	cp "$f" "$FAKE/applied.$(objects "$f" | head -n 1 | tr / _)"
	objects "$f" | sed 's/$/ created/' ;;
delete)
	f=${@: -1}
	objects "$f" | while read -r o; do
		grep -v -x -F "$o" "$FAKE/live" >"$FAKE/live.new"
		mv "$FAKE/live.new" "$FAKE/live"
		echo "$o deleted"
	done ;;
rollout)
	[ "${FAIL_AT:-}" = rollout ] && { echo "timed out" >&2; exit 1; }
	echo "deployment \"$3\" successfully rolled out" ;;
wait)
	what=${@: -1}
	case $what in
	job/*)
		f=$FAKE/applied.Job_${what#job/}
		n=$(/usr/bin/python3 -c 'import sys, yaml
print(yaml.safe_load(open(sys.argv[1]))["spec"]["completions"])' "$f")
		pids=()
		for ((i = 0; i < n; i++)); do
			mapfile -t C < <(command_of "$f" "$i")
			"${C[@]}" >/dev/null 2>>"$FAKE/shards.log" &
			pids+=("$!")
		done
		st=0
		for p in "${pids[@]}"; do wait "$p" || st=1; done
		exit $st ;;
	pod/*) exit 0 ;;
	esac ;;
logs)
	f=$FAKE/applied.Pod_${2#pod/}
	mapfile -t C < <(command_of "$f" 0)
	exec "${C[@]}" ;;
*)
	echo "fake kubectl: unexpected: $*" >&2
	exit 1 ;;
esac
KEOF
chmod +x "$T/bin/kubectl"

# The run's --start-at (30 s away) brought to now by a decoy wrapper
# (waiting for it is t-kube-job's business).
cat >"$T/bin/decoy" <<DEOF
#!/bin/bash
args=()
now=0
for a in "\$@"; do
	if [ \$now = 1 ]; then a=\$(date +%s); now=0; fi
	[ "\$a" = --start-at ] && now=1
	args+=("\$a")
done
exec "$DECOY" "\${args[@]}"
DEOF
chmod +x "$T/bin/decoy"

run() {
	: >"$T/live"
	: >"$T/calls"
	rm -f "$T"/applied.*
	FAKE=$T PATH="$T/bin:$PATH" bash "$RUN" -f "$top_srcdir/deploy/orders.yaml" \
	    -d orders -p 3 -t "http://127.0.0.1:$PORT_orders" \
	    --snapshot-claim snaps --reports-claim reports --name shop-run \
	    -o "$T/report.json" "$@" >"$T/run.out" 2>"$T/run.log"
}

run
check "the run passes (exit 0)" test $? -eq 0
check "the merged report holds the recorded 42 requests" \
    test "$(jq .totals.count "$T/report.json")" = 42
check "... from 3 shards" test "$(jq .shards "$T/report.json")" = 3
check "the report table is printed" grep -q 'POST /orders' "$T/run.out"
steps=$(cut -d' ' -f1 "$T/calls" | tr '\n' ' ')
check "the steps in order ($steps)" test "$steps" = \
    "apply rollout apply wait apply wait logs delete delete delete "
check "the injected Deployment was applied" \
    grep -q 'name: decoy-redirect' "$T/applied.PersistentVolumeClaim_decoy-snapshots"
check "every object applied is deleted" test ! -s "$T/live"
check "the merge Pod, the Job and the application are deleted, in that order" \
    test "$(sed -n 's|^delete .*/||p' "$T/calls" | tr '\n' ' ')" = \
    "merge.yaml job.yaml app.yaml "

# A rollout that fails: stop, exit 2, delete what was applied.
FAIL_AT=rollout run
check "a failed rollout: exit 2" test $? -eq 2
check "... no Job was applied" test "$(grep -c '^apply' "$T/calls")" = 1
check "... and the application's objects are deleted" test ! -s "$T/live"

# With a scenario: its load in the Job, its assertions on the merged
# report (kept in it); a failed one exits 1, and still deletes everything.
cat >"$T/pass.yaml" <<SCEN
name: shop-kube
snapshot: $T/claims/snaps/deps.jsonl
service: {url: "http://127.0.0.1:{service_port}"}
load: {pattern: replay, multiplier: 2}
assert:
  error_rate: {max: 100%}
  latency: {max: 60s}
SCEN
run -s "$T/pass.yaml"
check "-s SCENARIO: the run passes (exit 0)" test $? -eq 0
check "... the Job runs the scenario's load (multiplier 2)" \
    grep -q -- '"--multiplier", "2"' "$T/applied.Job_shop-run"
check "... the merged report holds its assertions, passed" \
    test "$(jq -c '[.assertions[] | [.name, .passed]]' "$T/report.json")" = \
    '[["latency.max",true],["error_rate.max",true]]'
sed -e 's|latency: {max: 60s}|latency: {p50: 1us}|' "$T/pass.yaml" \
    >"$T/fail.yaml"
run -s "$T/fail.yaml"
check "-s SCENARIO with a failing assertion: exit 1" test $? -eq 1
check "... the report holds it, failed" \
    test "$(jq -c '[.assertions[] | select(.name == "latency.p50") |
	.passed]' "$T/report.json")" = "[false]"
check "... and every object applied is deleted" test ! -s "$T/live"

bash "$RUN" -f x >/dev/null 2>&1
check "missing options: exit 2" test $? -eq 2

done_testing
