#!/bin/bash
# Every recipe in rules/ is checked as decoyd -n checks a configuration,
# and bad rule files fail with file:line:column, a message naming the
# problem, and exit status 2.
. "$(dirname "$0")/lib.sh"

printf '{"v":1,"id":"t-1","dir":"out","req":{"method":"POST","target":"/v1/charges"},"res":{"status":201,"body":"{}"}}\n' >"$T/snap.jsonl"
n=0
for f in "$top_srcdir"/rules/*.yaml; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	printf 'snapshot: %s\nlisten: 127.0.0.1:0\nrules: [%s]\n' "$T/snap.jsonl" "$f" >"$T/check.yaml"
	"$DECOYD" -n -c "$T/check.yaml" >"$T/check.out" 2>&1
	check "rules/$(basename "$f") passes decoyd -n" [ $? -eq 0 ]
done
check "rules/ holds recipes" [ "$n" -ge 6 ]

# bad NAME EXPECTED-POSITION EXPECTED-TEXT YAML: one broken rule file.
bad() {
	local name=$1 pos=$2 text=$3
	printf '%s\n' "$4" >"$T/$name.yaml"
	"$DECOY" respond "$T/snap.jsonl" --listen 127.0.0.1:0 \
	    --rules "$T/$name.yaml" >"$T/$name.out" 2>&1
	local st=$?
	check "bad rule file ($name): exit 2" [ "$st" -eq 2 ]
	check "bad rule file ($name): names $name.yaml:$pos and says '$text'" \
	    grep -q "$name.yaml:$pos.*$text" "$T/$name.out"
}
bad unknown-key 3:5 'unknown' 'rules:
  - name: a
    mtch: {path: "^/"}
    fault: {status: 500}'
bad bad-regex 3:19 'regex' 'rules:
  - name: a
    match: {path: "^/v1/(charges"}
    fault: {status: 500}'
bad probability 3:25 'probability' 'rules:
  - name: a
    when: {probability: 1.5}
    fault: {status: 500}'
bad unknown-fault 3:22 'malform' 'rules:
  - name: a
    fault: {malform: shred}'
bad bad-duration 3:30 'duration' 'rules:
  - name: a
    fault: {latency: {fixed: 10 parsecs}}'
bad wrong-type 3:12 '' 'rules:
  - name: a
    match: [path]
    fault: {status: 500}'
bad status-range 3:21 'status' 'rules:
  - name: a
    fault: {status: 999}'
bad unknown-connection 3:25 'connection' 'rules:
  - name: a
    fault: {connection: explode}'
bad no-fault 2:5 'fault' 'rules:
  - name: a'
bad duplicate-name 4:11 'a' 'rules:
  - name: a
    fault: {status: 500}
  - name: a
    fault: {status: 503}'
bad every-zero 3:19 'every' 'rules:
  - name: a
    when: {every: 0}
    fault: {status: 500}'
bad lognormal-order 3:34 'p99' 'rules:
  - name: a
    fault: {latency: {lognormal: {median: 2s, p99: 100ms}}}'
bad between-order 3:21 'between' 'rules:
  - name: a
    when: {between: [90s, 30s]}
    fault: {status: 500}'
bad unknown-distribution 3:23 'distribution\|latency' 'rules:
  - name: a
    fault: {latency: {gamma: {k: 2}}}'
bad yaml-syntax 3:1 '' 'rules:
  - name: [a'
bad negative-limit 3:19 'limit' 'rules:
  - name: a
    when: {limit: -1}
    fault: {status: 500}'

bad deep-flow 2:75 'nested too deeply' "rules:
  - name: $(printf '[%.0s' $(seq 1 100000))"
bad deep-block 3:514 'nested too deeply' "rules:
  - name: a
$(printf ' %.0s' $(seq 1 513))b: 1"

# Hostile inputs are refused at once, not read or parsed for minutes.
start=$(date +%s)
"$DECOY" respond "$T/snap.jsonl" --listen 127.0.0.1:0 --rules /dev/zero \
    >"$T/zero.out" 2>&1
st=$?
check "rules from /dev/zero: exit 2" [ "$st" -eq 2 ]
check "rules from /dev/zero: says the file is too large" \
    grep -q '/dev/zero: larger than 4 MiB' "$T/zero.out"
check "rules from /dev/zero: refused within 10 s" \
    [ $(($(date +%s) - start)) -le 10 ]

done_testing
