#!/usr/bin/env bash
# t-import-pcap.sh -- `decoy import pcap` on captures tcpdump made of real
# curl and nginx traffic on the loopback: keep-alive, pipelined-free
# sequential requests, a POST body, a 300 KB response in several segments;
# the same capture as pcapng (editcap), over IPv6 and Linux cooked v2
# (tcpdump -i any); rewritten with retransmissions and out-of-order
# segments (same transactions), and with a segment dropped (the gap is
# flagged exactly as the tap flags it); a truncated capture is an error
# naming the byte offset, and leaves no snapshot behind.  The capture of
# traffic through `decoy record` imports to the transactions it recorded.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "tcpdump needs root"
for t in tcpdump nginx jq; do
	command -v "$t" >/dev/null || skip "$t is not installed"
done
PY=/usr/bin/python3
MANGLE=$top_srcdir/tests/integration/pcap-mangle.py

mkdir -p "$T/www"
chmod a+rx "$T" "$T/www"	# nginx's worker runs as nobody
head -c 300000 /dev/urandom | base64 -w 76 >"$T/www/big.txt"
printf 'hello from nginx\n' >"$T/www/small.txt"
start_nginx "$T/www" /small.txt "default_type text/plain;" \
    'listen [::1]:@PORT@; location = /orders { return 201 "created\n"; }'

# captured FILE: the capture holds the five exchanges, all answered.
captured() {
	"$DECOY" import pcap "$1" -o /dev/null --port "$NPORT" --json \
	    2>/dev/null | jq -e '.transactions == 5 and .unanswered == 0 and
	    .gaps == 0' >/dev/null
}

# capture NAME IFACE CMD...: runs CMD while tcpdump writes $T/NAME.pcap.
capture() {
	local name=$1 iface=$2 pid
	shift 2
	tcpdump -Z root -i "$iface" -U -s 0 -w "$T/$name.pcap" "tcp port $NPORT" \
	    >"$T/$name-tcpdump.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	wait_for "tcpdump on $iface" grep -q "listening on" \
	    "$T/$name-tcpdump.log"
	"$@"
	# tcpdump may still hold packets the kernel queued for it: wait
	# until the file has every exchange, whole.
	wait_for "the whole capture of $name" captured "$T/$name.pcap"
	kill -INT "$pid"
	wait "$pid" 2>/dev/null
	PIDS=("${PIDS[@]/$pid}")
}

# Three connections: two small GETs and a POST on one keep-alive
# connection; the big file; a 404.
traffic() {
	local base=$1
	curl -s -o "$T/small.out" "$base/small.txt" -o /dev/null \
	    "$base/small.txt" --next -o /dev/null \
	    -H 'Content-Type: application/json' \
	    --data '{"sku":"A-1","qty":2}' "$base/orders" || return 1
	curl -s -o "$T/big.out" "$base/big.txt" || return 1
	curl -s -o /dev/null "$base/missing" || return 1
}
capture v4 lo traffic "http://127.0.0.1:$NPORT"
check "curl got the big file whole" cmp -s "$T/big.out" "$T/www/big.txt"

import() {
	"$DECOY" import pcap "$1" -o "$2" --port "$NPORT" --json \
	    >"$2.json" 2>"$2.err"
}
check "the capture imports" import "$T/v4.pcap" "$T/v4.jsonl"
check "five transactions" test "$(jq -r .transactions "$T/v4.jsonl.json")" = 5
check "the summary names the format" test "$(jq -r .format "$T/v4.jsonl.json")" = pcap
check "no gap in a clean capture" test "$(jq -r .gap_transactions "$T/v4.jsonl.json")" = 0
check "five lines" test "$(wc -l <"$T/v4.jsonl")" = 5
check "the snapshot loads" "$DECOY" inspect --json "$T/v4.jsonl" >/dev/null
# Each response body, byte for byte (the snapshot's base64 or text).
body_of() {	# body_of SNAP PATH: the response body of the first txn
	jq -r --arg p "$2" 'select(.req.target == $p) | .res |
	    if .body_b64 then .body_b64 else (.body | @base64) end' "$1" |
	    head -n 1 | base64 -d
}
check "the big response is the file" cmp -s <(body_of "$T/v4.jsonl" /big.txt) "$T/www/big.txt"
check "the small response" cmp -s <(body_of "$T/v4.jsonl" /small.txt) "$T/www/small.txt"
check "the POST body is kept" test "$(jq -r 'select(.req.method == "POST") | .req.body' "$T/v4.jsonl")" = '{"sku":"A-1","qty":2}'
check "the POST answer" test "$(jq -r 'select(.req.method == "POST") | .res.status' "$T/v4.jsonl")" = 201
check "the 404" test "$(jq -r 'select(.req.target == "/missing") | .res.status' "$T/v4.jsonl")" = 404
check "the server address" test "$(jq -r .server "$T/v4.jsonl" | sort -u)" = "127.0.0.1:$NPORT"
check "timing from the capture" test "$(jq -r 'select(.timing.total_us == null or .timing.total_us < .timing.ttfb_us)' "$T/v4.jsonl" | wc -c)" = 0

# What does not depend on the address: method, target, status, body.
essence() {
	jq -c '[.req.method, .req.target, .req.body, .res.status,
	    .res.body, .res.body_b64]' "$1" | sort
}

# The transactions without timing, for comparing rewritten captures.
strip() {
	jq -c 'del(.ts, .timing, .id)' "$1" | sort
}
strip "$T/v4.jsonl" >"$T/v4.strip"

n=$($PY "$MANGLE" reorder "$T/v4.pcap" "$T/reorder.pcap" "$NPORT")
check "segments were reordered ($n)" test "$n" -ge 2
check "the reordered capture imports" import "$T/reorder.pcap" "$T/reorder.jsonl"
check "out-of-order segments counted" test "$(jq -r .out_of_order "$T/reorder.jsonl.json")" -ge 1
strip "$T/reorder.jsonl" >"$T/reorder.strip"
check "same transactions after reordering" same "$T/v4.strip" "$T/reorder.strip"

n=$($PY "$MANGLE" dup "$T/v4.pcap" "$T/dup.pcap" "$NPORT")
check "segments were duplicated ($n)" test "$n" -ge 3
check "the capture with retransmissions imports" import "$T/dup.pcap" "$T/dup.jsonl"
check "retransmissions counted" test "$(jq -r .retransmits "$T/dup.jsonl.json")" -ge "$n"
strip "$T/dup.jsonl" >"$T/dup.strip"
check "same transactions with retransmissions" same "$T/v4.strip" "$T/dup.strip"

$PY "$MANGLE" drop "$T/v4.pcap" "$T/drop.pcap" "$NPORT" >/dev/null
check "the capture with a hole imports" import "$T/drop.pcap" "$T/drop.jsonl"
check "one gap reported" test "$(jq -r .gaps "$T/drop.jsonl.json")" = 1
check "the big transaction is flagged gap" test "$(jq -r 'select(.gap == true) | .req.target' "$T/drop.jsonl")" = /big.txt
check "the others are whole" test "$(jq -r 'select(.gap != true) | .req.target' "$T/drop.jsonl" | wc -l)" = 4

if command -v editcap >/dev/null; then
	editcap -F pcapng "$T/v4.pcap" "$T/v4.pcapng"
	check "the pcapng capture imports" import "$T/v4.pcapng" "$T/ng.jsonl"
	check "pcapng named in the summary" test "$(jq -r .format "$T/ng.jsonl.json")" = pcapng
	check "pcapng gives the same snapshot" same "$T/v4.jsonl" "$T/ng.jsonl"
else
	echo "# editcap (wireshark-common) not installed: pcapng via tcpdump only"
fi

# The same traffic recorded by decoy's reverse proxy while tcpdump captures
# the proxy's upstream side: the capture imports to the same transactions.
start_bg rec "$T/rec.port" "$DECOY" record --upstream "http://127.0.0.1:$NPORT" \
    --listen 127.0.0.1:0 --port-file "$T/rec.port" -o "$T/rec.jsonl"
capture viarec lo traffic "http://127.0.0.1:$PORT_rec"
stop "$PID_rec"
check "the capture of the proxied traffic imports" import "$T/viarec.pcap" "$T/viarec.jsonl"
essence "$T/rec.jsonl" >"$T/rec.ess"
essence "$T/viarec.jsonl" >"$T/viarec.ess"
check "five transactions recorded by decoy record" test "$(wc -l <"$T/rec.ess")" = 5
check "pcap import = decoy record (bodies byte-exact)" same "$T/rec.ess" "$T/viarec.ess"

# IPv6 through Linux cooked v2 headers (tcpdump -i any).
capture v6 any traffic "http://[::1]:$NPORT"
check "the IPv6 capture imports" import "$T/v6.pcap" "$T/v6.jsonl"
check "five IPv6 transactions" test "$(jq -r .transactions "$T/v6.jsonl.json")" = 5
check "IPv6 server address" test "$(jq -r .server "$T/v6.jsonl" | sort -u)" = "[::1]:$NPORT"
essence "$T/v4.jsonl" >"$T/v4.ess"
essence "$T/v6.jsonl" >"$T/v6.ess"
check "the same transactions over IPv6" same "$T/v4.ess" "$T/v6.ess"

# A capture cut inside a record: exit 2, the byte offset, no snapshot.
size=$(stat -c %s "$T/v4.pcap")
head -c $((size - 7)) "$T/v4.pcap" >"$T/cut.pcap"
"$DECOY" import pcap "$T/cut.pcap" -o "$T/cut.jsonl" 2>"$T/cut.err"
check "a truncated capture exits 2" test $? = 2
check "the error names the byte offset" grep -q "cut.pcap: byte [0-9]*: the file ends inside a packet record" "$T/cut.err"
check "no snapshot of a broken capture" test ! -e "$T/cut.jsonl"
"$DECOY" import pcap "$T/www/small.txt" -o "$T/x.jsonl" 2>"$T/x.err"
check "not a capture: exit 2" test $? = 2
check "not a capture: said so" grep -q "byte 0: not a pcap or pcapng file" "$T/x.err"

done_testing
