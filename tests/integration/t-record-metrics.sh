#!/bin/bash
# t-record-metrics.sh -- decoy record --metrics ADDR serves Prometheus
# metrics on /metrics while it records: transactions, recorded, lost,
# upstream errors, body bytes, open connections, responses by status, the
# build info and start time; `promtool check metrics` finds nothing to
# say (skipped without promtool); other paths 404, other methods 405.
. "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || skip "promtool (Debian's prometheus) is not installed"

cat >"$T/up.jsonl" <<'EOF2'
{"v":1,"id":"u-1","dir":"out","req":{"method":"GET","target":"/ok"},"res":{"status":200,"body":"fine"}}
EOF2
start_respond up "$T/up.jsonl"
start_bg rec "$T/rec.port" "$DECOY" record \
    --upstream "http://127.0.0.1:$PORT_up" --listen 127.0.0.1:0 \
    --port-file "$T/rec.port" --metrics 127.0.0.1:0 \
    --metrics-port-file "$T/metrics.port" -o "$T/rec.jsonl"
MPORT=$(wait_port "$T/metrics.port" "$PID_rec") || exit 1
M=http://127.0.0.1:$MPORT

# Before any exchange: zero, and clean.
curl -s "$M/metrics" >"$T/m0.txt"
check "metrics before any exchange: 0 transactions" \
    grep -q '^decoy_record_transactions_total 0$' "$T/m0.txt"
check "promtool check metrics: clean (empty families)" \
    promtool check metrics <"$T/m0.txt"

for i in 1 2 3; do curl -s "http://127.0.0.1:$PORT_rec/ok" >/dev/null; done
curl -s "http://127.0.0.1:$PORT_rec/missing" >/dev/null
# A connection held open shows in the gauge.
exec 7<>"/dev/tcp/127.0.0.1/$PORT_rec"
open_conns() {
	curl -s "$M/metrics" | grep -q '^decoy_record_open_connections 1$'
}
wait_for "the open connection counted" open_conns
exec 7>&-

curl -s "$M/metrics" >"$T/m1.txt"
val() {
	grep "^$1 " "$T/m1.txt" | awk '{print $2}'
}
check "transactions_total 4" [ "$(val decoy_record_transactions_total)" = 4 ]
check "recorded_total 4, lost_total 0" \
    [ "$(val decoy_record_recorded_total) $(val decoy_record_lost_total)" = "4 0" ]
check "responses by status: 3 x 200, 1 x 404" \
    [ "$(val 'decoy_record_responses_total{status="200"}') $(val 'decoy_record_responses_total{status="404"}')" = "3 1" ]
check "body bytes counted" [ "$(val decoy_record_body_bytes_total)" -gt 0 ]
check "build info and start time" \
    grep -q '^decoy_build_info{version="[^"]*"} 1$' "$T/m1.txt"
check "process_start_time_seconds" \
    grep -q '^process_start_time_seconds [0-9.]*$' "$T/m1.txt"
check "promtool check metrics: clean" promtool check metrics <"$T/m1.txt"

# The upstream gone: an upstream error counted.
stop "$PID_up"
curl -s "http://127.0.0.1:$PORT_rec/ok" >/dev/null
curl -s "$M/metrics" >"$T/m1.txt"
check "upstream_errors_total 1" [ "$(val decoy_record_upstream_errors_total)" = 1 ]

check "another path: 404" [ "$(curl -s -o /dev/null -w '%{http_code}' "$M/x")" = 404 ]
check "POST: 405" [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$M/metrics")" = 405 ]
check "the recorder still records" [ "$(wc -l <"$T/rec.jsonl")" -ge 4 ]

done_testing
