#!/usr/bin/env bash
# t-pktchaos.sh -- `decoy chaos --nfqueue`: packet-level chaos between two
# network namespaces.  The server namespace runs `decoy respond` and queues
# its port-8080 traffic (INPUT --dport, OUTPUT --sport) to `decoy chaos`
# with rules that add 100 ms to /slow, drop 5% of /flaky's response
# packets and reset /reset.  From the client namespace:
#   - p50 of 50 requests to /slow is the baseline's + 100 ms (within 20 ms)
#     while /fast stays within 20 ms of its own baseline (numbers printed);
#   - 100 requests to /flaky all complete, and drops were counted;
#   - /reset is a connection reset for curl (exit 56), over IPv6 too when
#     the namespaces have it (ip6tables rules), where /slow is delayed;
#   - a connection rule (host ':8081$' only) delays a whole flow on 8081;
#   - the chaos log names each rule, in the responder's format;
#   - a probability rule faults the same requests in two runs with one seed;
#   - both namespaces' iptables rules are the same before and after.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"

command -v jq >/dev/null || skip "jq is not installed"
ns_setup
Q=$(( 700 + NS_X ))

body=$(printf 'x%.0s' $(seq 1 2000))
for p in fast slow flaky reset coin; do
	printf '{"v":1,"dir":"out","req":{"method":"GET","target":"/%s","host":"svc"},"res":{"status":200,"headers":[["Content-Type","text/plain"]],"body":"%s-%s"}}\n' \
	    "$p" "$p" "$body"
done >"$T/snap.jsonl"
cat >"$T/rules.yaml" <<'RULES'
seed: 42
rules:
  - name: slow-100ms
    match: {path: '^/slow$'}
    fault: {latency: {fixed: 100ms}}
  - name: flaky-drop
    match: {path: '^/flaky$'}
    fault: {drop: 0.05}
  - name: reset-it
    match: {path: '^/reset$'}
    fault: {connection: reset}
  - name: coin
    match: {path: '^/coin$'}
    when: {probability: 0.5}
    fault: {latency: {fixed: 1ms}}
  - name: slow-link
    match: {host: ':8081$'}
    fault: {latency: {fixed: 100ms}}
RULES

start_ns respond "$NS_S" "$T/respond.port" "$DECOY" respond "$T/snap.jsonl" \
    --listen "$IP_S:8080" --workers 1 --port-file "$T/respond.port"
start_ns respond2 "$NS_S" "$T/respond2.port" "$DECOY" respond "$T/snap.jsonl" \
    --listen "$IP_S:8081" --workers 1 --port-file "$T/respond2.port"
IPV6=0
if has_ipv6; then
	IPV6=1
	start_ns respond6 "$NS_S" "$T/respond6.port" "$DECOY" respond \
	    "$T/snap.jsonl" --listen "[$IP6_S]:8080" --workers 1 \
	    --port-file "$T/respond6.port"
fi
URL=http://$IP_S:8080

# p50 PATH: median of 50 requests' time_total, in ms.
p50() {
	local i
	for ((i = 0; i < 50; i++)); do
		inc "$NS_C" curl -s -o /dev/null -w '%{time_total}\n' \
		    --max-time 10 "$URL/$1"
	done | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f\n", v[int((NR + 1) / 2)] * 1000 }'
}
base_slow=$(p50 slow)
base_fast=$(p50 fast)

ipt_rules() {
	inc "$NS_S" iptables "$1" INPUT -p tcp --dport 8080 \
	    -j NFQUEUE --queue-num "$Q" --queue-bypass
	inc "$NS_S" iptables "$1" OUTPUT -p tcp --sport 8080 \
	    -j NFQUEUE --queue-num "$Q" --queue-bypass
	inc "$NS_S" iptables "$1" INPUT -p tcp --dport 8081 \
	    -j NFQUEUE --queue-num "$Q" --queue-bypass
	inc "$NS_S" iptables "$1" OUTPUT -p tcp --sport 8081 \
	    -j NFQUEUE --queue-num "$Q" --queue-bypass
	if [ "$IPV6" = 1 ]; then
		inc "$NS_S" ip6tables "$1" INPUT -p tcp --dport 8080 \
		    -j NFQUEUE --queue-num "$Q" --queue-bypass
		inc "$NS_S" ip6tables "$1" OUTPUT -p tcp --sport 8080 \
		    -j NFQUEUE --queue-num "$Q" --queue-bypass
	fi
}
ipt_rules -A
start_ns chaos "$NS_S" "$T/chaos.ready" "$DECOY" chaos --nfqueue "$Q" \
    --rules "$T/rules.yaml" --port 8080 --port 8081 --chaos-log "$T/chaos.jsonl" \
    --stats "$T/stats.json" --ready-file "$T/chaos.ready"

slow=$(p50 slow)
fast=$(p50 fast)
echo "# p50 /slow: baseline $base_slow ms, with the rule $slow ms"
echo "# p50 /fast: baseline $base_fast ms, with the rule $fast ms"
within() { awk -v d="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(d >= lo && d <= hi) }'; }
check "/slow is +100 ms at p50 (within 20 ms)" \
    within "$(awk -v a="$slow" -v b="$base_slow" 'BEGIN { print a - b }')" 80 120
check "/fast is unaffected (within 20 ms)" \
    within "$(awk -v a="$fast" -v b="$base_fast" 'BEGIN { print a - b }')" -20 20

urls=()
for ((i = 0; i < 100; i++)); do urls+=(-o /dev/null "$URL/flaky"); done
inc "$NS_C" curl -s -w '%{http_code}\n' --max-time 30 \
    "${urls[@]}" >"$T/flaky.codes"
check "/flaky: 100 requests, all 200" \
    [ "$(grep -c '^200$' "$T/flaky.codes")" -eq 100 ]

inc "$NS_C" curl -sS -o /dev/null --max-time 10 "$URL/reset" 2>"$T/reset.err"
check "/reset: curl sees a connection reset (exit 56)" [ $? -eq 56 ]
check "... Connection reset by peer" grep -q "reset by peer" "$T/reset.err"
inc "$NS_C" curl -s -o /dev/null --max-time 10 "$URL/fast"
check "the next connection is served" [ $? -eq 0 ]
if [ "$IPV6" = 1 ]; then
	inc "$NS_C" curl -sS -o /dev/null --max-time 10 \
	    "http://[$IP6_S]:8080/reset" 2>"$T/reset6.err"
	check "IPv6: /reset is a connection reset (exit 56)" [ $? -eq 56 ]
	inc "$NS_C" curl -s -o /dev/null -w '%{time_total}\n' --max-time 10 \
	    "http://[$IP6_S]:8080/slow" >"$T/slow6"
	check "IPv6: /slow is delayed" within "$(cat "$T/slow6")" 0.09 5
	RESETS=2
else
	echo "# no IPv6 in the namespaces: IPv6 checks skipped"
	RESETS=1
fi

# A connection rule (match: host ':8081$' only) delays every packet the
# server sends on that port: the SYN-ACK and the response, 2 x 100 ms.
for ((i = 0; i < 5; i++)); do
	inc "$NS_C" curl -s -o /dev/null -w '%{time_total}\n' --max-time 10 \
	    "http://$IP_S:8081/fast"
done | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f\n", v[3] * 1000 }' \
    >"$T/conn.p50"
echo "# p50 via the connection rule on port 8081: $(cat "$T/conn.p50") ms"
check "connection rule: SYN-ACK and response each +100 ms" \
    within "$(cat "$T/conn.p50")" 180 260

# Determinism: 40 requests to /coin (probability 0.5), twice, each time
# with a fresh decoy chaos and the same seed: the same occurrences fire.
coin() {
	local i
	for ((i = 0; i < 40; i++)); do
		inc "$NS_C" curl -s -o /dev/null --max-time 10 "$URL/coin"
	done
}
coin
stop "$PID_chaos"
check "decoy chaos exits 0" [ $? -eq 0 ]
start_ns chaos2 "$NS_S" "$T/chaos2.ready" "$DECOY" chaos --nfqueue "$Q" \
    --rules "$T/rules.yaml" --port 8080 --chaos-log "$T/chaos2.jsonl" \
    --ready-file "$T/chaos2.ready"
coin
stop "$PID_chaos2"
fired() { jq -r 'select(.rule == "coin") | .occurrence' "$1" | tr '\n' ' '; }
echo "# coin fired at occurrences: $(fired "$T/chaos.jsonl")"
check "same seed, same traffic: the same requests faulted" \
    [ "$(fired "$T/chaos.jsonl")" = "$(fired "$T/chaos2.jsonl")" ]
check "... some, not all" \
    [ "$(fired "$T/chaos.jsonl" | wc -w)" -gt 0 -a "$(fired "$T/chaos.jsonl" | wc -w)" -lt 40 ]
ipt_rules -D
echo "# stats: $(cat "$T/stats.json")"
check "drops counted (> 0)" [ "$(jq .dropped "$T/stats.json")" -gt 0 ]
check "$RESETS reset(s) injected" [ "$(jq .resets "$T/stats.json")" -eq "$RESETS" ]
check "stats: faults by rule" \
    [ "$(jq '.faults.by_rule["reset-it"].reset' "$T/stats.json")" -eq "$RESETS" ]
check "five connections faulted" \
    [ "$(jq .connections_faulted "$T/stats.json")" -eq 5 ]
check "chaos log: $((49 + RESETS)) latency faults of slow-100ms" \
    [ "$(jq -c 'select(.rule == "slow-100ms" and .fault == "latency" and .params.ms == 100)' "$T/chaos.jsonl" | wc -l)" -eq $((49 + RESETS)) ]
check "chaos log: flaky-drop and reset-it, responder format" \
    [ "$(jq -c 'select((.rule == "flaky-drop" and .fault == "drop") or (.rule == "reset-it" and .fault == "reset")) | select(.ts and .txn and .sig and (.occurrence | type) == "number")' "$T/chaos.jsonl" | wc -l)" -eq $((100 + RESETS)) ]
ns_check_rules
done_testing
