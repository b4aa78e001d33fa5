#!/bin/bash
# t-tap-metrics.sh -- decoy record --nfqueue --metrics ADDR: the passive
# tap serves Prometheus metrics while it captures (packets, flows,
# transactions, bytes, lost, responses by status, build info, start time)
# and `promtool check metrics` finds nothing to say.  Two namespaces: the
# client's traffic to the responder on port 8080 is queued to the tap.
# Skips without root, NFQUEUE or promtool.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"
command -v promtool >/dev/null || skip "promtool (Debian's prometheus) is not installed"
ns_setup

Q=$(( 1500 + NS_X ))
cat >"$T/out.jsonl" <<'EOF2'
{"v":1,"dir":"out","req":{"method":"GET","target":"/ok"},"res":{"status":200,"body":"fine"}}
EOF2
start_ns respond "$NS_S" "$T/respond.port" "$DECOY" respond \
    "$T/out.jsonl" --listen "$IP_S:8080" --workers 1 \
    --port-file "$T/respond.port"
rules() {
	inc "$NS_C" iptables "$1" OUTPUT -p tcp --dport 8080 \
	    -j NFQUEUE --queue-num "$Q" --queue-bypass
	inc "$NS_C" iptables "$1" INPUT -p tcp --sport 8080 \
	    -j NFQUEUE --queue-num "$Q" --queue-bypass
}
rules -A
start_ns tap "$NS_C" "$T/metrics.port" "$DECOY" record --nfqueue "$Q" \
    -o "$T/cap.jsonl" --port 8080 --metrics 127.0.0.1:0 \
    --metrics-port-file "$T/metrics.port"
M=http://127.0.0.1:$(cat "$T/metrics.port")/metrics

inc "$NS_C" curl -s "$M" >"$T/m0.txt"
check "metrics before any traffic: 0 transactions" \
    grep -q '^decoy_tap_transactions_total 0$' "$T/m0.txt"
check "promtool check metrics: clean (empty families)" \
    promtool check metrics <"$T/m0.txt"

for i in 1 2 3; do
	inc "$NS_C" curl -s "http://$IP_S:8080/ok" >/dev/null
done
inc "$NS_C" curl -s "http://$IP_S:8080/missing" >/dev/null
three() {
	inc "$NS_C" curl -s "$M" >"$T/m1.txt"
	grep -q '^decoy_tap_transactions_total 4$' "$T/m1.txt"
}
wait_for "4 transactions in the metrics" three
check "responses by status: 3 x 200, 1 x 404" bash -c \
    'grep -q "^decoy_tap_responses_total{status=\"200\"} 3$" "$1" &&
     grep -q "^decoy_tap_responses_total{status=\"404\"} 1$" "$1"' _ "$T/m1.txt"
check "packets counted" bash -c \
    '[ "$(grep "^decoy_tap_packets_total " "$1" | cut -d" " -f2)" -gt 8 ]' \
    _ "$T/m1.txt"
check "lost 0" grep -q '^decoy_tap_lost_total 0$' "$T/m1.txt"
check "build info" grep -q '^decoy_build_info{version="[^"]*"} 1$' "$T/m1.txt"
check "promtool check metrics: clean" promtool check metrics <"$T/m1.txt"

stop "$PID_tap"
rules -D
check "the tap recorded the 4 transactions" [ "$(wc -l <"$T/cap.jsonl")" -eq 4 ]
ns_check_rules
done_testing
