#!/bin/bash
# t-record-tls-replay.sh -- the whole HTTPS chain in one test: `decoy ca
# init`; an HTTPS origin (`decoy respond --tls`) serving a recorded JSON
# response; `decoy record --proxy` intercepting curl's CONNECT with decoy's
# CA and recording the exchange in plaintext (tls true, body readable with
# jq); then `decoy respond --tls` replaying that recording: the same status
# line, the same recorded headers in order, the same body byte for byte
# (Content-Length and Connection are decoy's own framing and are compared
# apart).
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"

# 1. A CA, and an HTTPS origin with one recorded JSON response.
"$DECOY" ca init --ca "$T/ca" 2>"$T/ca-init.log"
check "decoy ca init" [ -s "$T/ca/ca.pem" ]
[ -s "$T/ca/ca.pem" ] || done_testing
cat >"$T/origin.jsonl" <<'EOF2'
{"v":1,"id":"o-1","dir":"out","req":{"method":"GET","target":"/v1/thing","headers":[["Accept","*/*"]]},"res":{"status":200,"reason":"OK","headers":[["Content-Type","application/json; charset=utf-8"],["X-Request-Id","req-7f3a"],["Cache-Control","no-store"],["Set-Cookie","sid=abc; Path=/"]],"body":"{\"id\":\"thing_1\",\"name\":\"Widget \\u00e9\",\"tags\":[\"a\",\"b\"],\"price\":{\"amount\":1999,\"currency\":\"EUR\"},\"active\":true}"}}
EOF2
printf '%s' '{"id":"thing_1","name":"Widget \u00e9","tags":["a","b"],"price":{"amount":1999,"currency":"EUR"},"active":true}' >"$T/body.exp"
start_respond origin "$T/origin.jsonl" --tls --ca "$T/ca"
OP=$PORT_origin

# 2. Through the recording forward proxy: CONNECT intercepted.  The origin's
#    leaf comes from the same CA, which the proxy trusts with --upstream-ca.
start_bg proxy "$T/proxy.port" "$DECOY" record --proxy 127.0.0.1:0 \
    --port-file "$T/proxy.port" -o "$T/rec.jsonl" --ca "$T/ca" \
    --upstream-ca "$T/ca/ca.pem"
# (HTTP/1.1 inside the tunnel: the head is compared as such; an h2
# client gets h2 where the origin takes it, t-record-grpc.sh.)
curl -s --http1.1 --max-time 10 -x "http://127.0.0.1:$PORT_proxy" \
    --cacert "$T/ca/ca.pem" -D "$T/hdr.proxied" -o "$T/body.proxied" \
    "https://localhost:$OP/v1/thing"
check "curl through the proxy (CONNECT intercepted, leaf verified)" [ $? -eq 0 ]
# curl -D also saves the proxy's "200 Connection established" block: keep
# the last response head only.
awk 'BEGIN{RS="\r\n\r\n"; ORS="\r\n\r\n"} NF{h=$0} END{print h}' \
    "$T/hdr.proxied" >"$T/hdr.origin"
check "proxied: 200 OK from the origin" \
    [ "$(head -n1 "$T/hdr.origin" | tr -d '\r')" = "HTTP/1.1 200 OK" ]
check "proxied: body as the origin recorded it" same "$T/body.proxied" "$T/body.exp"
stop "$PID_proxy"
check "proxy exits cleanly on SIGTERM" [ $? -eq 0 ]

# 3. The recording: one plaintext transaction, tls true.
check "recording holds one transaction" [ "$(grep -c '' "$T/rec.jsonl")" = 1 ]
check "recorded: tls true, GET /v1/thing to localhost:$OP, 200" [ "$(jq -c \
    '[.tls, .req.method, .req.target, .req.host, .res.status]' \
    "$T/rec.jsonl")" = "[true,\"GET\",\"/v1/thing\",\"localhost:$OP\",200]" ]
check "recorded body is plaintext JSON readable with jq" [ "$(jq -r \
    '.res.body | fromjson | [.id, .price.amount, .tags[1], .name] | @tsv' \
    "$T/rec.jsonl")" = "$(printf 'thing_1\t1999\tb\tWidget \xc3\xa9')" ]
jq -j '.res.body' "$T/rec.jsonl" >"$T/body.recorded"
check "recorded body byte-identical to what curl got" \
    same "$T/body.recorded" "$T/body.exp"
check "recorded headers: the origin's, in order" [ "$(jq -c \
    '[.res.headers[] | select(.[0] | ascii_downcase |
      IN("content-length", "connection") | not)]' "$T/rec.jsonl")" = \
    '[["Content-Type","application/json; charset=utf-8"],["X-Request-Id","req-7f3a"],["Cache-Control","no-store"],["Set-Cookie","sid=abc; Path=/"]]' ]
check "no ciphertext and no CONNECT entry recorded" \
    [ "$(jq -c 'select(.req.method == "CONNECT" or has("opaque"))' \
    "$T/rec.jsonl")" = "" ]

# 4. Replay the recording over TLS.
start_respond replay "$T/rec.jsonl" --tls --ca "$T/ca"
RP=$PORT_replay
curl -s --http1.1 --max-time 10 --cacert "$T/ca/ca.pem" -D "$T/hdr.replayed" \
    -o "$T/body.replayed" "https://localhost:$RP/v1/thing"
check "curl to the replay (leaf verified)" [ $? -eq 0 ]
check "replayed body byte-identical to the origin's" \
    same "$T/body.replayed" "$T/body.proxied"
# Heads compared exactly, after setting aside decoy's own framing headers.
unframed() {	# HEADFILE -> the head without Content-Length/Connection
	grep -v -i -E '^(content-length|connection):' "$1"
}
unframed "$T/hdr.origin" >"$T/hdr.origin.cmp"
unframed "$T/hdr.replayed" >"$T/hdr.replayed.cmp"
check "replayed status line identical" \
    [ "$(head -n1 "$T/hdr.replayed")" = "$(head -n1 "$T/hdr.origin")" ]
check "replayed headers identical (order, values; framing aside)" \
    same "$T/hdr.replayed.cmp" "$T/hdr.origin.cmp"
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nX-Request-Id: req-7f3a\r\nCache-Control: no-store\r\nSet-Cookie: sid=abc; Path=/\r\n\r\n' >"$T/hdr.exp"
check "replayed head as recorded, byte for byte" \
    same "$T/hdr.replayed.cmp" "$T/hdr.exp"
check "replay frames the body: Content-Length $(stat -c %s "$T/body.exp")" \
    grep -q -i "^Content-Length: $(stat -c %s "$T/body.exp")"$'\r'"\$" \
    "$T/hdr.replayed"
stop "$PID_replay"
check "replay exits cleanly on SIGTERM" [ $? -eq 0 ]

done_testing
