#!/bin/bash
# t-record.sh -- decoy record as a reverse proxy: the shop demo recorded
# through three recorders (inbound in front of orders, outbound in front of
# payments and of inventory) and replayed by examples/demo.sh with
# identical answers; an upstream that refuses (502 + error entry) or
# stalls (504); redaction on disk; SIGKILL during a long recording; the
# forward proxy (absolute-form, CONNECT intercepted with decoy's CA, CONNECT
# tunnelled blindly for --no-intercept).
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"

# start_record NAME UPSTREAM-URL [ARGS...]: sets PORT_<NAME>, PID_<NAME>.
start_record() {
	local name=$1 up=$2
	shift 2
	start_bg "$name" "$T/$name.port" "$DECOY" record --upstream "$up" \
	    --listen 127.0.0.1:0 --port-file "$T/$name.port" \
	    -o "$T/$name.jsonl" "$@"
}

# not_in STRING FILE: STRING does not occur in FILE.
not_in() {
	! grep -q -F -- "$1" "$2"
}

# loads SNAP: decoy inspect reads it.
loads() {
	"$DECOY" inspect "$1" >/dev/null
}

# --- 1. the shop, recorded both ways -------------------------------------
start_bg payments "$T/payments.port" "$SHOP/payments" --port 0 \
    --port-file "$T/payments.port"
start_bg inventory "$T/inventory.port" "$SHOP/inventory" --port 0 \
    --port-file "$T/inventory.port"
start_record recpay "http://127.0.0.1:$PORT_payments"
start_record recinv "http://127.0.0.1:$PORT_inventory"
start_bg orders "$T/orders.port" "$SHOP/orders" --port 0 \
    --port-file "$T/orders.port" \
    --payments "http://127.0.0.1:$PORT_recpay" \
    --inventory "http://127.0.0.1:$PORT_recinv"
start_record recin "http://127.0.0.1:$PORT_orders" --dir in

base="http://127.0.0.1:$PORT_recin"
card=4242424242424242
declined=4000000000000002
codes=""
req() {	# METHOD PATH [BODY]
	local args=(-s -o /dev/null -w '%{http_code} ' --max-time 10 -X "$1")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' \
	    --data-binary "$3")
	codes+=$(curl "${args[@]}" "$base$2")
}
req GET /products/sku-1001
req GET /products/sku-9999
req GET /products/sku-1003/image
req POST /orders "{\"sku\":\"sku-1001\",\"qty\":2,\"card\":\"$card\"}"
req GET /orders/o-1
req POST /orders "{\"sku\":\"sku-1002\",\"qty\":1,\"card\":\"$declined\"}"
req POST /orders "{\"sku\":\"sku-1004\",\"qty\":5,\"card\":\"$card\"}"
req POST /orders '{"sku":"sku-1001",'
codes+=$(curl -s -o /dev/null -w '%{http_code} ' --max-time 10 \
    -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
    --data-binary "{\"sku\":\"sku-1003\",\"qty\":1,\"card\":\"$card\"}" \
    "$base/orders")
codes+=$(curl -s -w '%{http_code} ' -o /dev/null -o /dev/null --max-time 10 \
    "$base/products/sku-1001" "$base/orders/o-2")
check "answers through the recorders" \
    [ "$codes" = "200 404 200 201 200 402 409 400 201 200 200 " ]
stop "$PID_recin"; stop "$PID_recpay"; stop "$PID_recinv"
cat "$T/recin.jsonl" "$T/recpay.jsonl" "$T/recinv.jsonl" >"$T/shop.jsonl"
check "inbound recorded" [ "$(jq -s 'map(select(.dir=="in"))|length' \
    "$T/shop.jsonl")" = 11 ]
check "dependency calls recorded" [ "$(jq -s \
    'map(select(.dir=="out"))|length' "$T/shop.jsonl")" -ge 10 ]
check "chunked request body stored decoded" grep -q \
    '"body":"{\\"sku\\":\\"sku-1003\\",\\"qty\\":1' "$T/recin.jsonl"
check "snapshot loads" loads "$T/shop.jsonl"
check "replayed: orders answers as recorded" \
    "$top_srcdir/examples/demo.sh" "$top_builddir" "$T/shop.jsonl"

# --- 2. upstream failures ---------------------------------------------------
start_record refused "http://127.0.0.1:1"
code=$(curl -s -o "$T/refused.out" -w '%{http_code}' --max-time 10 \
    "http://127.0.0.1:$PORT_refused/x")
check "refused upstream: 502" [ "$code" = 502 ]
check "refused upstream: the body names the failure" \
    grep -q '"error":"connect: Connection refused"' "$T/refused.out"
stop "$PID_refused"
check "refused upstream: error entry without res" [ "$(jq -c \
    '[.error, has("res")]' "$T/refused.jsonl")" = \
    '["connect: Connection refused",false]' ]

# A listener that accepts and never answers.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1] + ".tmp", "w").write("%d\n" % s.getsockname()[1])
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c = []
while True: c.append(s.accept())' "$T/mute.port" >"$T/mute.log" 2>&1 &
PIDS+=($!)
mport=$(wait_port "$T/mute.port" $!)
start_record stalled "http://127.0.0.1:$mport" --upstream-timeout 300ms
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
    "http://127.0.0.1:$PORT_stalled/slow")
check "stalled upstream: 504" [ "$code" = 504 ]
stop "$PID_stalled"
check "stalled upstream: error entry" grep -q '"error":"timeout' \
    "$T/stalled.jsonl"

# --- 3. redaction -------------------------------------------------------------
start_bg payments2 "$T/payments2.port" "$SHOP/payments" --port 0 \
    --port-file "$T/payments2.port"
start_record redact "http://127.0.0.1:$PORT_payments2" \
    --redact header:Authorization --redact 'json:$..card'
body="{\"amount\":1200,\"card\":\"$card\"}"
curl -s -o "$T/charge.real" --max-time 10 -H 'Authorization: Bearer s3cr3t-tok' \
    -H 'Content-Type: application/json' --data-binary "$body" \
    "http://127.0.0.1:$PORT_redact/v1/charges"
curl -s -o /dev/null --max-time 10 -H 'Authorization: Bearer s3cr3t-tok' \
    "http://127.0.0.1:$PORT_redact/healthz"
stop "$PID_redact"
check "redacted: no token on disk" not_in "s3cr3t" "$T/redact.jsonl"
check "redacted: no card on disk" not_in "$card" "$T/redact.jsonl"
check "redacted: stable placeholders" [ "$(grep -o \
    'REDACTED-[0-9a-f]\{8\}' "$T/redact.jsonl" | sort | uniq -c | wc -l)" = 2 ]
start_respond resp "$T/redact.jsonl"
check "respond: redacted-header request matches exactly" [ "$(curl -s \
    -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer other' \
    "http://127.0.0.1:$PORT_resp/healthz")" = 200 ]
curl -s -o "$T/charge.replayed" --max-time 10 -H 'Content-Type: application/json' \
    --data-binary "$body" "http://127.0.0.1:$PORT_resp/v1/charges"
check "respond: redacted-body request matches exactly" \
    same "$T/charge.real" "$T/charge.replayed"
check "respond: another amount is still a miss (404)" [ "$(curl -s \
    -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "{\"amount\":1300,\"card\":\"$card\"}" \
    "http://127.0.0.1:$PORT_resp/v1/charges")" = 404 ]

# --- 4. SIGKILL during a long recording ------------------------------------
printf '%s\n' '{"v":1,"dir":"out","req":{"method":"GET","target":"/ping"},"res":{"status":200,"body":"pong"}}' \
    >"$T/ping.jsonl"
start_respond fast "$T/ping.jsonl"
start_record killed "http://127.0.0.1:$PORT_fast" --fsync never
for ((i = 0; i < 10000; i++)); do
	echo "url = \"http://127.0.0.1:$PORT_killed/ping\""
	echo "output = /dev/null"
done >"$T/urls.cfg"
stdbuf -oL curl -s --max-time 60 -w '%{http_code}\n' -K "$T/urls.cfg" \
    >"$T/codes.txt" 2>/dev/null &
cpid=$!
lines_ge() {	# FILE N
	[ "$(grep -c '' "$1")" -ge "$2" ]
}
wait_for "2000 answers" lines_ge "$T/codes.txt" 2000
kill -KILL "$PID_killed"
wait "$cpid" 2>/dev/null
n=$(grep -c '^200$' "$T/codes.txt")
got=$(grep -c '' "$T/killed.jsonl")
check "killed: snapshot loads" loads "$T/killed.jsonl"
check "killed: $got lines hold the $n answered exchanges (at most one lost)" \
    [ "$got" -ge $((n - 1)) ]
check "killed: some exchanges were cut off" [ "$n" -lt 10000 ]

# --- 5. forward proxy ---------------------------------------------------------
"$DECOY" ca init --ca "$T/ca" 2>"$T/ca-init.log" || fatal "decoy ca init"
printf '%s\n' '{"v":1,"dir":"out","req":{"method":"GET","target":"/hello"},"res":{"status":200,"body":"hello tls"}}' \
    >"$T/hello.jsonl"
start_respond origin "$T/hello.jsonl" --tls --ca "$T/ca"
start_bg proxy "$T/proxy.port" "$DECOY" record --proxy 127.0.0.1:0 \
    --port-file "$T/proxy.port" -o "$T/proxy.jsonl" --ca "$T/ca" \
    --upstream-ca "$T/ca/ca.pem" --no-intercept 127.0.0.1
px=(-x "http://127.0.0.1:$PORT_proxy" --cacert "$T/ca/ca.pem" -s --max-time 10)
check "proxy: CONNECT intercepted (leaf from decoy's CA)" [ "$(curl "${px[@]}" \
    "https://localhost:$PORT_origin/hello")" = "hello tls" ]
check "proxy: absolute-form http" [ "$(curl "${px[@]}" \
    "http://127.0.0.1:$PORT_fast/ping")" = pong ]
check "proxy: --no-intercept host tunnelled" [ "$(curl "${px[@]}" \
    "https://127.0.0.1:$PORT_origin/hello")" = "hello tls" ]
stop "$PID_proxy"
check "proxy: plaintext of the intercepted exchange, tls true" [ "$(jq -c \
    'select(.tls == true) | [.req.method, .req.target, .req.host, .res.body]' \
    "$T/proxy.jsonl")" = "[\"GET\",\"/hello\",\"localhost:$PORT_origin\",\"hello tls\"]" ]
check "proxy: absolute-form recorded in origin-form" [ "$(jq -c \
    'select(.req.target == "/ping") | [.req.host, .res.body]' \
    "$T/proxy.jsonl")" = "[\"127.0.0.1:$PORT_fast\",\"pong\"]" ]
check "proxy: one opaque CONNECT entry" [ "$(jq -c \
    'select(.req.method == "CONNECT") | [.req.target, .opaque.bytes_up > 0,
    .opaque.bytes_down > 0]' "$T/proxy.jsonl")" = \
    "[\"127.0.0.1:$PORT_origin\",true,true]" ]
check "proxy: nothing in clear from the tunnel" not_in "hello tls\"" \
    <(jq -c 'select(.req.method == "CONNECT")' "$T/proxy.jsonl")

done_testing
