#!/bin/bash
# demo.sh -- the decoy demo: the orders service runs against its
# dependencies (payments, inventory) replayed by decoy from the bundled
# snapshot, and answers the recorded inbound requests.
#
#   examples/demo.sh [BUILDDIR] [SNAPSHOT]
#
# Every request into orders that the snapshot recorded (dir "in") is sent
# again with curl; orders calls decoy instead of the real dependencies, and
# its answers are compared with the recorded ones (status and body).  Exit
# 0 when every answer is identical, 1 otherwise.  Needs curl and jq.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/..}
snap=${2:-$here/snapshots/shop.jsonl}
decoy=$build/decoy
orders=$build/examples/shop/orders

for tool in curl jq; do
	command -v "$tool" >/dev/null || {
		echo "demo: $tool is needed (apt-get install $tool)" >&2
		exit 2
	}
done
[ -x "$decoy" ] && [ -x "$orders" ] || {
	echo "demo: build first (scripts/bootstrap.sh)" >&2
	exit 2
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/decoy-demo.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() {	# FILE PID
	local i
	for ((i = 0; i < 500; i++)); do
		[ -s "$1" ] && { cat "$1"; return 0; }
		kill -0 "$2" 2>/dev/null || break
		sleep 0.02
	done
	echo "demo: a server did not start; its log:" >&2
	cat "$tmp"/*.log >&2
	exit 1
}

"$decoy" respond "$snap" --listen 127.0.0.1:0 --port-file "$tmp/decoy.port" \
    >"$tmp/decoy.log" 2>&1 &
pids+=($!)
dport=$(wait_port "$tmp/decoy.port" $!)
"$orders" --port 0 --port-file "$tmp/orders.port" \
    --payments "http://127.0.0.1:$dport" \
    --inventory "http://127.0.0.1:$dport" >"$tmp/orders.log" 2>&1 &
pids+=($!)
oport=$(wait_port "$tmp/orders.port" $!)

nout=$(jq -c 'select(.dir == "out")' "$snap" | wc -l)
echo "decoy demo: the orders service against payments and inventory replayed by decoy"
echo "  snapshot   $snap"
echo "  decoy      127.0.0.1:$dport serving $nout recorded dependency calls"
echo "  orders     127.0.0.1:$oport (examples/shop/orders)"

# One line per recorded inbound request: method, target, content type,
# request body and recorded response body (both base64), status.  Empty
# fields are "-": read would merge adjacent tabs.
jq -r 'select(.dir == "in") | [
	.req.method, .req.target,
	([.req.headers[]? | select(.[0] | ascii_downcase == "content-type") | .[1]] | first // "-"),
	(if .req.body_b64 then .req.body_b64 else (.req.body // "" | @base64) end | if . == "" then "-" else . end),
	(.res.status | tostring),
	(if .res.body_b64 then .res.body_b64 else (.res.body // "" | @base64) end | if . == "" then "-" else . end),
	.id] | @tsv' "$snap" >"$tmp/in.tsv"

n=0 same=0 differ=0
while IFS=$'\t' read -r method target ctype reqb64 status resb64 id; do
	n=$((n + 1))
	[ "$ctype" = - ] && ctype=
	[ "$reqb64" = - ] && reqb64=
	[ "$resb64" = - ] && resb64=
	printf '%s' "$reqb64" | base64 -d >"$tmp/req.body"
	printf '%s' "$resb64" | base64 -d >"$tmp/exp.body"
	args=(-s -o "$tmp/got.body" -w '%{http_code}' -X "$method" --max-time 10)
	[ -n "$ctype" ] && args+=(-H "Content-Type: $ctype")
	[ -s "$tmp/req.body" ] && args+=(--data-binary "@$tmp/req.body")
	code=$(curl "${args[@]}" "http://127.0.0.1:$oport$target")
	if [ "$code" = "$status" ] && cmp -s "$tmp/got.body" "$tmp/exp.body"; then
		same=$((same + 1))
	else
		differ=$((differ + 1))
		echo "  DIFFERS    $id $method $target: recorded $status, got $code" >&2
		if [ "$differ" -le 3 ]; then
			echo "    recorded: $(head -c 200 "$tmp/exp.body")" >&2
			echo "    got:      $(head -c 200 "$tmp/got.body")" >&2
		fi
	fi
done <"$tmp/in.tsv"

# The responder's counters are logged when it stops.
kill -TERM "${pids[0]}" 2>/dev/null
wait "${pids[0]}"
dstatus=$?
if [ "$dstatus" -ne 0 ]; then
	echo "demo: decoy exited with status $dstatus; its log:" >&2
	cat "$tmp/decoy.log" >&2
	differ=$((differ + 1))
fi
stats=$(sed -n 's/.*info: \([0-9]* requests: .*\)/\1/p' "$tmp/decoy.log")
echo "  replayed   $n recorded requests into orders: $same identical answers, $differ different"
echo "  decoy      ${stats:-no statistics logged}"
[ "$differ" -eq 0 ] && [ "$n" -gt 0 ]
