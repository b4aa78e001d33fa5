#!/bin/bash
# decoy respond over HTTP/2, with real clients: curl --http2 over https
# (ALPN), --http2-prior-knowledge and --http2 over http (Upgrade: h2c),
# each byte-exact against the same snapshot over HTTP/1.1; nghttp with
# several streams on one connection where a latency rule holds one path
# and the others finish first; chaos per stream (status, reset, close,
# drip) with the siblings unharmed; --no-http2.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip "curl is not installed"
command -v nghttp >/dev/null || skip "nghttp (nghttp2-client) is not installed"
command -v openssl >/dev/null || skip "openssl is not installed"
curl -V | grep -q HTTP2 || skip "curl has no HTTP/2"

H=api.payments.example
cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/v1/charges/ch_1","host":"api.payments.example","headers":[["Accept","*/*"]]},"res":{"status":200,"reason":"OK","headers":[["Content-Type","application/json"],["X-Request-Id","abc"],["Set-Cookie","a=1"],["Set-Cookie","b=2"],["Connection","keep-alive"]],"body":"{\"id\":\"ch_1\",\"amount\":1200}"}}
{"v":1,"id":"t-2","dir":"out","req":{"method":"POST","target":"/v1/charges?expand=1","host":"api.payments.example","headers":[["Content-Type","application/json"]],"body":"{\"amount\":500}"},"res":{"status":201,"reason":"Created","headers":[["Content-Type","application/json"]],"body":"{\"id\":\"ch_2\"}"}}
{"v":1,"id":"t-3","dir":"out","req":{"method":"GET","target":"/slow","host":"api.payments.example"},"res":{"status":200,"reason":"OK","headers":[["Content-Type","text/plain"]],"body":"slow"}}
{"v":1,"id":"t-4","dir":"out","req":{"method":"GET","target":"/fast1","host":"api.payments.example"},"res":{"status":200,"reason":"OK","headers":[["Content-Type","text/plain"]],"body":"fast1"}}
{"v":1,"id":"t-5","dir":"out","req":{"method":"GET","target":"/fast2","host":"api.payments.example"},"res":{"status":200,"reason":"OK","headers":[["Content-Type","text/plain"]],"body":"fast2"}}
{"v":1,"id":"t-6","dir":"out","req":{"method":"GET","target":"/reset","host":"api.payments.example"},"res":{"status":200,"reason":"OK","headers":[],"body":"never"}}
{"v":1,"id":"t-7","dir":"out","req":{"method":"GET","target":"/close","host":"api.payments.example"},"res":{"status":200,"reason":"OK","headers":[],"body":"never"}}
{"v":1,"id":"t-8","dir":"out","req":{"method":"GET","target":"/cut","host":"api.payments.example"},"res":{"status":200,"reason":"OK","headers":[],"body":"cut short"}}
EOF2
# A body of many DATA frames, past the default 64 KiB window.
head -c 300000 /dev/zero | tr '\0' 'z' >"$T/big.exp"
printf '{"v":1,"id":"t-9","dir":"out","req":{"method":"GET","target":"/big","host":"api.payments.example"},"res":{"status":200,"reason":"OK","headers":[["Content-Type","text/plain"]],"body":"%s"}}\n' \
    "$(cat "$T/big.exp")" >>"$T/snap.jsonl"

cat >"$T/rules.yaml" <<'EOF2'
seed: 1
rules:
  - name: slow
    match: {path: '^/slow$'}
    fault: {latency: 1500ms}
  - name: down
    match: {headers: {x-fault: "^down$"}}
    fault: {status: 503, headers: {Retry-After: '2'}}
  - name: reset
    match: {path: '^/reset$'}
    fault: {connection: reset}
  - name: close
    match: {path: '^/close$'}
    fault: {connection: close}
  - name: cut
    match: {path: '^/cut$'}
    fault: {connection: close_after_headers}
  - name: drip
    match: {headers: {x-fault: "^drip$"}}
    fault: {drip: 100KiB/s}
EOF2

"$DECOY" ca init --ca "$T/ca" 2>/dev/null
start_respond r "$T/snap.jsonl" --tls --ca "$T/ca" --rules "$T/rules.yaml" \
    --chaos-log "$T/chaos.jsonl" --workers 2
start_respond p "$T/snap.jsonl" --rules "$T/rules.yaml" --workers 1
P=$PORT_r
Q=$PORT_p
TLS=(curl -s --max-time 10 --cacert "$T/ca/ca.pem" --resolve "$H:$P:127.0.0.1")
PK=(curl -s --max-time 10 --http2-prior-knowledge -H "Host: $H")

# 1. The same recorded answer over HTTP/1.1 and the three ways into h2.
"${TLS[@]}" --http1.1 -o "$T/b11" -w '%{http_version}' \
    "https://$H:$P/v1/charges/ch_1" >"$T/v11"
"${TLS[@]}" --http2 -D "$T/h-alpn" -o "$T/b-alpn" -w '%{http_version}' \
    "https://$H:$P/v1/charges/ch_1" >"$T/v-alpn"
check "https: ALPN picked h2" [ "$(cat "$T/v-alpn")" = 2 ]
check "https --http1.1 still HTTP/1.1" [ "$(cat "$T/v11")" = 1.1 ]
check "h2 (ALPN) body byte-exact to HTTP/1.1's" same "$T/b-alpn" "$T/b11"
printf 'HTTP/2 200 \r\ncontent-type: application/json\r\nx-request-id: abc\r\nset-cookie: a=1\r\nset-cookie: b=2\r\ncontent-length: 27\r\n\r\n' >"$T/h-alpn.exp"
check "h2 headers as recorded, lowercased, no Connection" \
    same "$T/h-alpn" "$T/h-alpn.exp"
"${PK[@]}" -o "$T/b-pk" -w '%{http_version}' \
    "http://127.0.0.1:$Q/v1/charges/ch_1" >"$T/v-pk"
check "prior knowledge: h2" [ "$(cat "$T/v-pk")" = 2 ]
check "prior knowledge: body byte-exact" same "$T/b-pk" "$T/b11"
curl -s --max-time 10 --http2 -H "Host: $H" -D "$T/h-up" -o "$T/b-up" \
    -w '%{http_version}' "http://127.0.0.1:$Q/v1/charges/ch_1" >"$T/v-up"
check "Upgrade: h2c: 101, then h2" \
    [ "$(cat "$T/v-up")" = 2 ] && grep -q '^HTTP/1.1 101' "$T/h-up"
check "h2c: stream 1 answered byte-exact" same "$T/b-up" "$T/b11"

# 2. A request body, a query, HEAD, a miss, a large body.
"${PK[@]}" -o "$T/b-post" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d '{"amount":500}' "http://127.0.0.1:$Q/v1/charges?expand=1" >"$T/c-post"
check "POST with a body and a query matched (201)" \
    [ "$(cat "$T/c-post")" = 201 ] && [ "$(cat "$T/b-post")" = '{"id":"ch_2"}' ]
h2=$("${PK[@]}" -I -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$Q/v1/charges/ch_1")
h1=$(curl -s --max-time 10 -H "Host: $H" -I -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$Q/v1/charges/ch_1")
check "HEAD: answered as over HTTP/1.1 ($h2), no body" [ "$h2" = "$h1" ] && [ "${h2#* }" = 0 ]
code=$("${PK[@]}" -o "$T/b-miss" -w '%{http_code}' "http://127.0.0.1:$Q/nope")
check "a miss is the explained 404 over h2" \
    [ "$code" = 404 ] && grep -q '"closest"\|"reason"\|"error"' "$T/b-miss"
"${TLS[@]}" --http2 -o "$T/big-alpn" "https://$H:$P/big"
check "300 kB body byte-exact over h2 (flow control)" same "$T/big-alpn" "$T/big.exp"
"${PK[@]}" -o "$T/big-pk" "http://127.0.0.1:$Q/big"
check "300 kB body byte-exact over cleartext h2" same "$T/big-pk" "$T/big.exp"

# 3. One connection, several streams: the slow one does not hold the
# others (nghttp's stats: responseEnd per stream, from the start).
nghttp -n -s -H "host: $H" "http://127.0.0.1:$Q/slow" \
    "http://127.0.0.1:$Q/fast1" "http://127.0.0.1:$Q/fast2" \
    "http://127.0.0.1:$Q/v1/charges/ch_1" >"$T/ng" 2>&1
check "nghttp: four streams, all 200" [ "$(grep -c ' 200 ' "$T/ng")" = 4 ]
end_ms() {	# PATH -> responseEnd in ms
	awk -v p="$1" '$NF == p { v = $2; sub(/^\+/, "", v);
		if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
		else if (v ~ /ms$/) sub(/ms$/, "", v);
		else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
		printf "%d\n", v }' "$T/ng"
}
slow=$(end_ms /slow); f1=$(end_ms /fast1); f2=$(end_ms /fast2)
check "slow stream held by its latency (${slow} ms >= 1400)" [ "${slow:-0}" -ge 1400 ]
check "siblings done first (${f1}, ${f2} ms < 1000)" \
    [ -n "$f1" ] && [ -n "$f2" ] && [ "$f1" -lt 1000 ] && [ "$f2" -lt 1000 ]
check "the slow stream finished last" [ "$(awk '/^ *[0-9]+ +\+/ { p = $NF } END { print p }' "$T/ng")" = /slow ]

# 4. Chaos per stream.
code=$("${PK[@]}" -o /dev/null -D "$T/h-down" -w '%{http_code}' -H 'X-Fault: down' \
    "http://127.0.0.1:$Q/v1/charges/ch_1")
check "status rule over h2: 503 + header" \
    [ "$code" = 503 ] && grep -qi '^retry-after: 2' "$T/h-down"
"${PK[@]}" -o /dev/null "http://127.0.0.1:$Q/reset" 2>"$T/e-reset"
rc=$?
check "reset: the stream fails (curl $rc: HTTP/2 stream error)" [ $rc -eq 92 ]
nghttp -n -v -H "host: $H" "http://127.0.0.1:$Q/reset" \
    "http://127.0.0.1:$Q/close" "http://127.0.0.1:$Q/cut" \
    "http://127.0.0.1:$Q/fast1" >"$T/ng-chaos" 2>&1
check "reset is RST_STREAM INTERNAL_ERROR" \
    grep -q 'error_code=INTERNAL_ERROR' "$T/ng-chaos"
check "close is RST_STREAM CANCEL" grep -q 'error_code=CANCEL' "$T/ng-chaos"
check "close_after_headers: HEADERS, then RST_STREAM" \
    [ "$(grep -c 'recv RST_STREAM' "$T/ng-chaos")" = 3 ]
check "the sibling on the same connection is answered" \
    grep -q 'recv DATA frame <length=5, flags=0x01' "$T/ng-chaos"
check "no GOAWAY: the connection survived its streams' faults" \
    bash -c "! grep -q 'recv GOAWAY' '$T/ng-chaos'"
start=$(date +%s%N)
"${TLS[@]}" --http2 -o "$T/drip" -H 'X-Fault: drip' "https://$H:$P/big"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "drip over h2: body intact" same "$T/drip" "$T/big.exp"
check "drip over h2: slowed (${ms} ms >= 2000)" [ "$ms" -ge 2000 ]
check "chaos log names the h2 stream's faults" \
    grep -q '"rule":"drip"' "$T/chaos.jsonl"

# 5. Bad peers cost their connection only.
printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x09\x00\x00\x00\x00\x01garbage' >"$T/bad"
raw "$Q" "$T/bad" >/dev/null 2>&1
code=$("${PK[@]}" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$Q/fast1")
check "still serving h2 after a bad peer" [ "$code" = 200 ]
check "responders alive" kill -0 "$PID_r" "$PID_p"

# 6. --no-http2: HTTP/1.1 only, whatever the client offers.
start_respond n "$T/snap.jsonl" --tls --ca "$T/ca" --no-http2
v=$(curl -s --max-time 10 --http2 --cacert "$T/ca/ca.pem" \
    --resolve "$H:$PORT_n:127.0.0.1" -o /dev/null -w '%{http_version}' \
    "https://$H:$PORT_n/v1/charges/ch_1")
check "--no-http2: ALPN falls back to HTTP/1.1" [ "$v" = 1.1 ]
start_respond m "$T/snap.jsonl" --no-http2
"${PK[@]}" -o /dev/null "http://127.0.0.1:$PORT_m/v1/charges/ch_1"
check "--no-http2: prior knowledge is refused" [ $? -ne 0 ]
v=$(curl -s --max-time 10 --http2 -H "Host: $H" -o /dev/null \
    -w '%{http_version}' "http://127.0.0.1:$PORT_m/v1/charges/ch_1")
check "--no-http2: Upgrade: h2c is ignored" [ "$v" = 1.1 ]

stop "$PID_r"
check "clean exit on SIGTERM" [ $? -eq 0 ]
done_testing
