#!/bin/bash
# The fault kinds that take time (latency, drip, slow headers, hang) or
# are checked as a property (corrupt: exactly 3 bytes differ), observed
# by a real client (curl), and the demo orders service observing a 503,
# a reset and a hang of its payments dependency.  The request-to-reply faults (status,
# truncate, lying_length, invalid_json, empty, wrong_content_type,
# oversize, drop_field, swap_types, bad_chunk, reset, close,
# close_after_headers) and their chaos-log lines are byte-exact cases in
# tests/cases/chaos/.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"

item='{"id":1,"name":"widget","price":1200,"big":9007199254740993,"tags":["a","b"],"ok":true}'
big=$(head -c 4096 /dev/zero | tr '\0' 'x')
cat >"$T/snap.jsonl" <<EOF2
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/v1/items/1"},"res":{"status":200,"reason":"OK","headers":[["Content-Type","application/json"],["X-Recorded","yes"]],"body":$(printf '%s' "$item" | jq -Rs .)},"timing":{"total_us":1500}}
{"v":1,"id":"t-2","dir":"out","req":{"method":"GET","target":"/v1/big"},"res":{"status":200,"headers":[["Content-Type","text/plain"]],"body":"$big"}}
EOF2

rule() {	# NAME FAULT-YAML: a rule matched by the X-Fault header
	printf '  - name: %s\n    match: {headers: {x-fault: "^%s$"}}\n    fault: %s\n' "$1" "$1" "$2"
}
{
	echo "seed: 7"
	echo "rules:"
	rule latency '{latency: {fixed: 300ms}}'
	rule corrupt '{malform: {corrupt: {bytes: 3}}}'
	rule hang '{connection: hang}'
	rule drip '{connection: drip, drip: 2KiB/s}'
	rule slowhead '{connection: slow_headers, drip: 200/s}'
	rule recorded '{latency: {recorded: 200}}'
} >"$T/rules.yaml"

start_respond r "$T/snap.jsonl" --rules "$T/rules.yaml" --chaos-log "$T/chaos.jsonl"
U="http://127.0.0.1:$PORT_r"

# fetch KIND PATH [CURL-ARGS...]: body in $T/KIND.body, headers in
# $T/KIND.hdr; prints "curl-exit http-code seconds size".
fetch() {
	local kind=$1 path=$2
	shift 2
	curl -s -H "X-Fault: $kind" -D "$T/$kind.hdr" -o "$T/$kind.body" \
	    -w '%{http_code} %{time_total} %{size_download}' --max-time 20 "$@" \
	    "$U$path" >"$T/$kind.w"
	echo "$? $(cat "$T/$kind.w")"
}
printf '%s' "$item" >"$T/item"

read -r rc code secs size < <(fetch none /v1/items/1)
check "no fault: recorded body" same "$T/none.body" "$T/item"

read -r rc code secs size < <(fetch latency /v1/items/1)
check "latency: 300 ms fixed (>= 0.3 s, generous upper bound)" \
    awk -v s="$secs" 'BEGIN { exit !(s >= 0.3 && s < 5) }'
check "latency: body intact" same "$T/latency.body" "$T/item"

read -r rc code secs size < <(fetch recorded /v1/items/1)
check "recorded latency x200 of 1.5 ms (>= 0.3 s)" \
    awk -v s="$secs" 'BEGIN { exit !(s >= 0.3 && s < 5) }'

read -r rc code secs size < <(fetch corrupt /v1/items/1)
ndiff=$(cmp -l "$T/corrupt.body" "$T/item" 2>/dev/null | wc -l)
check "corrupt: same length, exactly 3 bytes differ" [ "$size" = "${#item}" ] && [ "$ndiff" = 3 ]

read -r rc code secs size < <(fetch hang /v1/items/1 --max-time 1)
check "hang: ended by the client's timeout (28)" [ "$rc" = 28 ]

read -r rc code secs size < <(fetch drip /v1/big)
check "drip: 4 KiB at 2 KiB/s takes about 2 s (1.5 .. 10)" \
    awk -v s="$secs" 'BEGIN { exit !(s >= 1.5 && s < 10) }'
check "drip: body intact" [ "$size" = 4096 ]

read -r rc code secs size < <(fetch slowhead /v1/items/1)
check "slow_headers: head at 200 B/s takes > 0.4 s" \
    awk -v s="$secs" 'BEGIN { exit !(s >= 0.4 && s < 10) }'
check "slow_headers: body intact" same "$T/slowhead.body" "$T/item"

# The daemon survived all of it.
check "still serving after every fault" alive "$PORT_r"

# The chaos log holds one line per injected fault, with its rule.
for k in latency hang drip; do
	check "chaos log names rule $k" grep -q "\"rule\":\"$k\"" "$T/chaos.jsonl"
done
check "chaos log lines parse as JSON" bash -c "jq -e . '$T/chaos.jsonl' >/dev/null"

# --- the demo orders service observes faults of its payments dependency ---
[ -x "$SHOP/orders" ] || skip "examples/shop/orders is not built"
cat >"$T/shop-rules.yaml" <<'EOF2'
rules:
  - name: pay-503
    match: {method: POST, path: '^/v1/charges$', body: '"card":"4000000000000077"'}
    fault: {status: 503, headers: {Retry-After: '1'}}
  - name: pay-reset
    match: {method: POST, path: '^/v1/charges$', body: '"card":"4000000000000099"'}
    fault: {connection: reset}
  - name: pay-hang
    match: {method: POST, path: '^/v1/charges$', body: '"card":"4000000000000088"'}
    fault: {connection: hang}
EOF2
start_respond s "$top_srcdir/examples/snapshots/shop.jsonl" --rules "$T/shop-rules.yaml" --unmatched closest
start_bg o "$T/o.port" "$SHOP/orders" --port 0 --port-file "$T/o.port" \
    --payments "http://127.0.0.1:$PORT_s" --inventory "http://127.0.0.1:$PORT_s" --timeout 500
order() {	# CARD: the orders service's status for one order
	curl -s -o "$T/order.body" -w '%{http_code}' --max-time 10 \
	    -H 'Content-Type: application/json' \
	    --data-binary "{\"sku\":\"sku-1001\",\"qty\":1,\"card\":\"$1\"}" \
	    "http://127.0.0.1:$PORT_o/orders"
}
check "orders: payments 503 becomes a 502" [ "$(order 4000000000000077)" = 502 ]
check "orders: names the failing dependency" grep -q 'payments unavailable' "$T/order.body"
check "orders: payments reset becomes a 502" [ "$(order 4000000000000099)" = 502 ]
check "orders: payments hang becomes a 504 at its timeout" [ "$(order 4000000000000088)" = 504 ]

done_testing
