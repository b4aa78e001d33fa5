#!/usr/bin/env bash
# t-tap.sh -- `decoy record --nfqueue`: passive capture between two network
# namespaces.  The server namespace runs `decoy respond` on a generated
# snapshot (4700 transactions: small and 3000-byte bodies, GETs and POSTs);
# the client namespace queues its port-8080 traffic to the tap and, first,
# to tests/tools/nfq-reorder (mangle table, so before the tap's filter
# rules), which swaps every 7th packet with the next one.  `decoy replay`
# sends the 4700 requests on keep-alive connections and three bash
# clients pipeline 100 requests each on one connection: all 5000
# transactions must be recorded with byte-exact bodies, no gap, and the
# tap must have seen segments out of order.  Then the same 4700 requests
# through an iptables --queue-balance rule over two queues (--queue-cpu-
# fanout) and one tap bound to both (--nfqueue N:M): all recorded, in
# order across the queues (no response without its request).  The
# iptables rules of both namespaces are the same before and after.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"

REORDER=$top_builddir/tests/tools/nfq-reorder
[ -x "$REORDER" ] || skip "tests/tools/nfq-reorder is not built (make check builds it)"
command -v jq >/dev/null || skip "jq is not installed"
ns_setup

QT=$(( 100 + NS_X ))		# the tap's queue
QR=$(( 400 + NS_X ))		# the reorderer's queue

# The snapshot: out for the responder, in for the generator.
awk 'BEGIN {
	for (i = 0; i < 4700; i++) {
		if (i % 10 == 3) {
			b = ""
			while (length(b) < 3000)
				b = b "big" i "-"
			b = substr(b, 1, 3000)
		} else
			b = "item " i " \\u00e9\\t\\\"q\\\""
		if (i % 7 == 5)
			req = "\"method\":\"POST\",\"target\":\"/echo/" i "\",\"host\":\"svc\",\"headers\":[[\"Content-Type\",\"text/plain\"]],\"body\":\"payload-" i "\""
		else
			req = "\"method\":\"GET\",\"target\":\"/item/" i "\",\"host\":\"svc\""
		printf "{\"v\":1,\"dir\":\"out\",\"req\":{%s},\"res\":{\"status\":200,\"headers\":[[\"Content-Type\",\"text/plain\"]],\"body\":\"%s\"}}\n", req, b
	}
}' >"$T/out.jsonl"
sed 's/"dir":"out"/"dir":"in"/' "$T/out.jsonl" >"$T/in.jsonl"

# With two CPUs the responder runs on CPU 0 and the second replay on CPU 1,
# so that --queue-cpu-fanout gives each queue its share (below).
PIN0=() PIN1=()
if [ "$(nproc)" -ge 2 ]; then PIN0=(taskset -c 0) PIN1=(taskset -c 1); fi
start_ns respond "$NS_S" "$T/respond.port" "${PIN0[@]}" "$DECOY" respond \
    "$T/out.jsonl" --listen "$IP_S:8080" --workers 1 \
    --port-file "$T/respond.port"
# A tap on a queue no rule names: it warns after 10 s (checked at the end).
QS=$(( 1000 + NS_X ))
start_ns silent "$NS_C" "$T/silent.ready" "$DECOY" record --nfqueue "$QS" \
    -o "$T/silent.jsonl" --ready-file "$T/silent.ready"

ipt_rules() {
	local op=$1
	inc "$NS_C" iptables -t mangle "$op" OUTPUT -p tcp --dport 8080 \
	    -j NFQUEUE --queue-num "$QR" --queue-bypass
	inc "$NS_C" iptables -t mangle "$op" INPUT -p tcp --sport 8080 \
	    -j NFQUEUE --queue-num "$QR" --queue-bypass
	inc "$NS_C" iptables "$op" OUTPUT -p tcp --dport 8080 \
	    -j NFQUEUE --queue-num "$QT" --queue-bypass
	inc "$NS_C" iptables "$op" INPUT -p tcp --sport 8080 \
	    -j NFQUEUE --queue-num "$QT" --queue-bypass
}
ipt_rules -A

start_ns tap "$NS_C" "$T/tap.ready" "$DECOY" record --nfqueue "$QT" \
    -o "$T/cap.jsonl" --port 8080 --stats "$T/stats.json" \
    --ready-file "$T/tap.ready"
start_ns reorder "$NS_C" "$T/reorder.ready" "$REORDER" "$QR" 7 \
    --ready "$T/reorder.ready"

# After binding, the tap keeps CAP_NET_ADMIN (bit 12) only, in every
# thread.
check "tap keeps only CAP_NET_ADMIN" \
    grep -q -E '^CapEff:[[:space:]]+0*1000$' "/proc/$PID_tap/status"
threads_cap() {
	local n
	n=$(find "/proc/$PID_tap/task" -mindepth 1 -maxdepth 1 | wc -l)
	[ "$n" -ge 2 ] && [ "$(grep -h '^CapEff' /proc/"$PID_tap"/task/*/status |
	    grep -c -E '[[:space:]]0*1000$')" -eq "$n" ]
}
check "... in each of its threads (parser and capture)" threads_cap

# A second tap on the same queue is refused at start-up, exit 2.
inc "$NS_C" "$DECOY" record --nfqueue "$QT" -o "$T/second.jsonl" \
    >"$T/second.out" 2>&1
check "a second binding of the queue exits 2" [ $? -eq 2 ]
check "... naming the reason" grep -q "another process" "$T/second.out"

inc "$NS_C" "$DECOY" replay "$T/in.jsonl" --target "http://$IP_S:8080" \
    --connections 16 --json >"$T/replay.json" 2>"$T/replay.log"
check "replay: every response as recorded" [ $? -eq 0 ]

# Pipelining: 100 requests in one write, three connections at once.
for c in 1 2 3; do
	: >"$T/pipe$c.req"
	for ((j = 0; j < 100; j++)); do
		i=$(( (c * 100 + j) * 10 ))	# GETs (i % 7 != 5) below
		(( i % 7 == 5 )) && i=$((i + 1))
		if (( j == 99 )); then
			printf 'GET /item/%d HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n' "$i"
		else
			printf 'GET /item/%d HTTP/1.1\r\nHost: svc\r\n\r\n' "$i"
		fi >>"$T/pipe$c.req"
		echo "$i" >>"$T/pipe.targets"
	done
done
PIPES=()
for c in 1 2 3; do
	inc "$NS_C" timeout 20 bash -c '
		exec 3<>"/dev/tcp/$1/8080" || exit 3
		cat "$2" >&3
		cat <&3' pipe "$IP_S" "$T/pipe$c.req" >"$T/pipe$c.res" &
	PIPES+=($!)
done
wait "${PIPES[@]}"
for c in 1 2 3; do
	check "pipelined connection $c: 100 responses" \
	    [ "$(grep -a -o 'HTTP/1.1 200 OK' "$T/pipe$c.res" | wc -l)" -eq 100 ]
done

recorded() { [ "$(wc -l <"$T/cap.jsonl")" -ge 5000 ]; }
wait_for "5000 recorded transactions" recorded
stop "$PID_reorder"
stop "$PID_tap"
check "tap exits 0" [ $? -eq 0 ]
ipt_rules -D

# What was sent, as (method, target, request body, status, response
# body) lines, against what was recorded.
proj='[.req.method, .req.target, (.req.body // ""), .res.status, (.res.body // "")] | @json'
jq -r "$proj" "$T/in.jsonl" >"$T/expect"
jq -r 'select(.req.method == "GET") | "\(.req.target)\t\(. | '"$proj"')"' \
    "$T/out.jsonl" | sort -k1,1 >"$T/gets"
sed 's|^|/item/|' "$T/pipe.targets" | sort -k1,1 |
    join -t "$(printf '\t')" -o 2.2 - "$T/gets" >>"$T/expect"
jq -r "$proj" "$T/cap.jsonl" >"$T/got"
check "5000 transactions recorded" [ "$(wc -l <"$T/got")" -eq 5000 ]
check "recorded = sent (methods, targets, bodies byte-exact)" \
    cmp -s <(sort "$T/expect") <(sort "$T/got")
check "no transaction flagged with a gap or an error" \
    [ "$(jq -c 'select(.gap or .error)' "$T/cap.jsonl" | wc -l)" -eq 0 ]
check "timing recorded" \
    [ "$(jq -c 'select(.timing.ttfb_us >= 0 and .timing.total_us >= .timing.ttfb_us)' "$T/cap.jsonl" | wc -l)" -eq 5000 ]
check "response heads recorded (reason, headers)" \
    [ "$(jq -c 'select(.res.reason == "OK" and .res.headers[0] == ["Content-Type", "text/plain"])' "$T/cap.jsonl" | wc -l)" -eq 5000 ]
check "client and server addresses" \
    [ "$(jq -r 'select(.server == "'"$IP_S"':8080" and (.client | startswith("'"$IP_C"':")))' "$T/cap.jsonl" | grep -c '"v"')" -ge 1 ]
echo "# stats: $(cat "$T/stats.json")"
echo "# $(tail -n 1 "$T/reorder.log")"
check "the reorderer swapped packets" \
    grep -q -E 'reordered [1-9][0-9]* of' "$T/reorder.log"
check "the tap saw segments out of order" \
    [ "$(jq .out_of_order "$T/stats.json")" -gt 0 ]
check "stats: 5000 transactions, no gap" \
    [ "$(jq '.transactions == 5000 and .gap_transactions == 0' "$T/stats.json")" = true ]

# Two queues: --queue-balance QB:QB+1 with --queue-cpu-fanout, one tap.
QB=$(( 700 + NS_X ))
bal_rules() {
	inc "$NS_C" iptables "$1" OUTPUT -p tcp --dport 8080 -j NFQUEUE \
	    --queue-balance "$QB:$((QB + 1))" --queue-cpu-fanout --queue-bypass
	inc "$NS_C" iptables "$1" INPUT -p tcp --sport 8080 -j NFQUEUE \
	    --queue-balance "$QB:$((QB + 1))" --queue-cpu-fanout --queue-bypass
}
inc "$NS_C" "$DECOY" record --nfqueue "$((QB + 1)):$QB" -o "$T/bad.jsonl" \
    >"$T/bad.out" 2>&1
check "--nfqueue M:N with M > N exits 2" [ $? -eq 2 ]
check "... naming the option" grep -q -e "--nfqueue: expected" "$T/bad.out"
bal_rules -A
# (--busy-poll 0: capture threads that sleep as soon as their queue is
# empty; the first tap polled for the default 10 us.)
start_ns tap2 "$NS_C" "$T/tap2.ready" "$DECOY" record \
    --nfqueue "$QB:$((QB + 1))" -o "$T/cap2.jsonl" --port 8080 \
    --busy-poll 0 --stats "$T/stats2.json" --ready-file "$T/tap2.ready"
inc "$NS_C" "${PIN1[@]}" "$DECOY" replay "$T/in.jsonl" \
    --target "http://$IP_S:8080" --connections 16 --json \
    >"$T/replay2.json" 2>"$T/replay2.log"
check "two queues: replay answered as recorded" [ $? -eq 0 ]
recorded2() { [ "$(wc -l <"$T/cap2.jsonl")" -ge 4700 ]; }
wait_for "4700 recorded transactions" recorded2
stop "$PID_tap2"
check "two queues: tap exits 0" [ $? -eq 0 ]
bal_rules -D
echo "# stats: $(cat "$T/stats2.json")"
jq -r "$proj" "$T/in.jsonl" | sort >"$T/expect2"
check "two queues: recorded = sent (byte-exact)" \
    cmp -s "$T/expect2" <(jq -r "$proj" "$T/cap2.jsonl" | sort)
check "two queues: no gap, error or orphan response" \
    [ "$(jq '.queues == 2 and .transactions == 4700 and .gap_transactions == 0 and .unanswered == 0 and .orphan_responses == 0 and .parse_errors == 0' "$T/stats2.json")" = true ]
if [ "$(nproc)" -ge 2 ]; then
	check "two queues: both queues carried packets" \
	    [ "$(jq '.queue_packets | all(. > 0)' "$T/stats2.json")" = true ]
fi

silent_warned() { grep -q "no packet queued to NFQUEUE $QS in 10 s" "$T/silent.log"; }
wait_for "the silent tap's warning" silent_warned
check "a tap that receives nothing for 10 s says so" silent_warned
stop "$PID_silent"

ns_check_rules
done_testing
