#!/bin/bash
# Whether a rule fires is a pure function of (seed, rule, signature,
# occurrence): two runs with the same seed and the same traffic, with 4
# workers and different client concurrency, fault the identical set of
# (signature, occurrence) pairs; another seed faults a different set.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"

for i in $(seq 0 39); do
	printf '{"v":1,"id":"t-%d","dir":"out","req":{"method":"GET","target":"/v1/items/%d"},"res":{"status":200,"body":"item %d"}}\n' "$i" "$i" "$i"
done >"$T/snap.jsonl"
cat >"$T/rules.yaml" <<'EOF2'
rules:
  - name: flaky
    match: {path: '^/v1/items/'}
    when: {probability: 0.3}
    fault: {status: 503}
EOF2
# 40 signatures x 8 occurrences each.
for rep in 1 2 3 4 5 6 7 8; do
	for i in $(seq 0 39); do echo "/v1/items/$i"; done
done >"$T/paths"

# run NAME SEED CONCURRENCY: replays the paths, prints the faulted set.
run() {
	local name=$1 seed=$2 conc=$3
	start_respond "$name" "$T/snap.jsonl" --workers 4 --rules "$T/rules.yaml" \
	    --seed "$seed" --chaos-log "$T/$name.chaos"
	local port_var="PORT_$name" pid_var="PID_$name"
	xargs -P "$conc" -I{} curl -s -o /dev/null -w '%{http_code}\n' \
	    "http://127.0.0.1:${!port_var}{}" <"$T/paths" >"$T/$name.codes"
	stop "${!pid_var}"
	jq -r '"\(.sig) \(.occurrence)"' "$T/$name.chaos" | sort >"$T/$name.set"
}
run a 42 1
run b 42 8
run c 43 8

n=$(wc -l <"$T/a.set")
check "some but not all transactions faulted (about 30% of 320)" \
    [ "$n" -gt 60 ] && [ "$n" -lt 130 ]
check "503s seen by the client equal the faults logged" \
    [ "$(grep -c 503 "$T/a.codes")" = "$n" ]
check "same seed, concurrency 1 vs 8, 4 workers: identical faulted set" \
    same "$T/a.set" "$T/b.set"
check "another seed: a different set" bash -c "! cmp -s '$T/a.set' '$T/c.set'"

done_testing
