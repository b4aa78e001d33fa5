#!/bin/bash
# t-respond-output-budget.sh -- clients that never read cannot make the
# responder hold unbounded output: 30 clients pipeline 200 requests for a
# 128 KiB body each and read nothing.  Every reply is a copy the
# responder owns (a chaos rule adds a header), so without a budget each
# connection keeps ~1 MiB of unsent replies (the per-connection cap);
# with --output-budget 1MiB the connections that hold the most stop
# being read and get no further reply, the unsent output stays near the
# budget, RSS stays flat, and an ordinary client is still answered.  The
# same load against a responder with a large budget is the control.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "no $PY"
command -v jq >/dev/null || skip "jq is not installed"

"$PY" - "$T/snap.jsonl" <<'PY'
import json, sys
body = "x" * (128 * 1024)
with open(sys.argv[1], "w") as f:
    f.write(json.dumps({"v": 1, "id": "big", "dir": "out",
        "req": {"method": "GET", "target": "/big", "host": "files"},
        "res": {"status": 200, "body": body}}) + "\n")
PY
cat >"$T/rules.yaml" <<'EOF2'
rules:
  - name: tag
    match: {path: '^/big$'}
    fault: {headers: {X-Tag: copy}}
EOF2

# hold.py PORT N K READY: N connections with a small receive buffer, each
# pipelining K requests and reading nothing; READY once all are sent.
cat >"$T/hold.py" <<'PY'
import signal, socket, sys
port, n, k = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
req = b"GET /big HTTP/1.1\r\nHost: files\r\n\r\n" * k
conns = []
for _ in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(req)
    conns.append(s)
open(sys.argv[4], "w").close()
signal.pause()
PY

# Under AddressSanitizer freed replies sit in its quarantine and RSS
# would count them: measure live memory.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
stat_of() { curl -s "http://127.0.0.1:$1/stats" | jq -r ".$2"; }
# settle APORT: waits until the unsent output stops changing.
settle() {
	local prev=-1 cur i same=0
	for ((i = 0; i < 200; i++)); do
		cur=$(stat_of "$1" output_queued)
		if [ "$cur" = "$prev" ]; then
			same=$((same + 1))
			[ "$same" -ge 5 ] && return 0
		else
			same=0
		fi
		prev=$cur
		sleep 0.1
	done
	return 1
}

# run NAME BUDGET: a responder under the load; sets Q_<NAME> (unsent
# output, bytes), G_<NAME> (RSS growth, KiB), TH_<NAME> (throttled count).
run() {
	local name=$1 budget=$2 rss0 rss1 hpid aport
	start_respond "$name" "$T/snap.jsonl" --workers 2 \
	    --rules "$T/rules.yaml" --output-budget "$budget" \
	    --admin 127.0.0.1:0 --admin-port-file "$T/$name.admin"
	wait_for "the admin port" test -s "$T/$name.admin"
	aport=$(cat "$T/$name.admin")
	local pid_var=PID_$name port_var=PORT_$name
	curl -s -o /dev/null "http://127.0.0.1:${!port_var}/big"
	rss0=$(rss_kib "${!pid_var}")
	"$PY" "$T/hold.py" "${!port_var}" 30 200 "$T/$name.ready" \
	    2>"$T/$name-hold.log" &
	hpid=$!
	PIDS+=("$hpid")
	wait_for "30 clients" test -e "$T/$name.ready"
	settle "$aport" || fatal "$name: output never settled"
	rss1=$(rss_kib "${!pid_var}")
	printf -v "Q_$name" '%s' "$(stat_of "$aport" output_queued)"
	printf -v "G_$name" '%s' "$((rss1 - rss0))"
	printf -v "TH_$name" '%s' "$(stat_of "$aport" output_throttled)"
	printf -v "B_$name" '%s' "$(stat_of "$aport" output_budget)"
	# An ordinary client, meanwhile.
	printf -v "ORD_$name" '%s' "$(curl -s --max-time 10 -o "$T/$name.body" \
	    -w '%{http_code} %{size_download}' \
	    "http://127.0.0.1:${!port_var}/big")"
	curl -s "http://127.0.0.1:$aport/metrics" >"$T/$name.metrics"
	kill "$hpid"
	wait "$hpid" 2>/dev/null
	printf -v "Q2_$name" '%s' "$(wait_for_drain "$aport")"
	stop "${!pid_var}"
}
# wait_for_drain APORT: prints the unsent output once the clients left.
wait_for_drain() {
	local i q
	for ((i = 0; i < 100; i++)); do
		q=$(stat_of "$1" output_queued)
		[ "$q" = 0 ] && break
		sleep 0.05
	done
	echo "$q"
}

run small 1MiB
run large 1GiB
echo "# budget 1MiB: unsent $Q_small bytes, RSS +$G_small KiB, throttled $TH_small"
echo "# budget 1GiB: unsent $Q_large bytes, RSS +$G_large KiB, throttled $TH_large"

check "the budget is reported" [ "$B_small" = 1048576 ]
check "past the budget, connections were throttled ($TH_small)" \
    [ "$TH_small" -gt 0 ]
check "unsent output stays near the budget ($Q_small < 8 MiB: 1 MiB plus about one reply per connection)" \
    [ "$Q_small" -lt $((8 * 1024 * 1024)) ]
check "RSS stays bounded (+$G_small KiB < 24 MiB)" \
    [ "$G_small" -lt $((24 * 1024)) ]
check "the control without a tight budget holds far more ($Q_large > 2x $Q_small)" \
    [ "$Q_large" -gt $((2 * Q_small)) ]
check "... and grows its RSS more (+$G_large KiB > +$G_small KiB)" \
    [ "$G_large" -gt "$G_small" ]
check "the control never throttled" [ "$TH_large" = 0 ]
check "an ordinary client is answered meanwhile ($ORD_small)" \
    [ "$ORD_small" = "200 131072" ]
check "/metrics counts it" grep -q '^decoy_output_throttled_total [1-9]' \
    "$T/small.metrics"
check "/metrics gives the unsent output and the budget" grep -q \
    '^decoy_output_budget_bytes 1048576' "$T/small.metrics"
check "once the clients leave, the unsent output is 0 again" \
    [ "$Q2_small" = 0 ]

done_testing
