#!/bin/bash
# The responder answers with the recorded response byte for byte: status
# line, headers in recorded order (duplicates kept), body (binary too);
# decoy frames the message itself (Content-Length from the stored body,
# its own Connection handling).
. "$(dirname "$0")/lib.sh"

png_b64=iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGA/wAAAP8A
cat >"$T/snap.jsonl" <<EOF2
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/v1/items/1","host":"api.example","headers":[["Accept","*/*"]]},"res":{"status":200,"reason":"OK","headers":[["Content-Type","application/json"],["X-Request-Id","abc"],["Content-Length","13"],["Set-Cookie","a=1"],["Set-Cookie","b=2"]],"body":"{\"id\":1,\"n\":2}"}}
{"v":1,"id":"t-2","dir":"out","req":{"method":"GET","target":"/img.png","host":"api.example"},"res":{"status":200,"reason":"OK","headers":[["Content-Type","image/png"]],"body_b64":"$png_b64"}}
{"v":1,"id":"t-3","dir":"out","req":{"method":"POST","target":"/v1/charges?b=2&a=1","host":"api.example","headers":[["Content-Type","application/json"]],"body":"{\"amount\":1200}"},"res":{"status":201,"reason":"Created","headers":[["Content-Type","application/json"],["Transfer-Encoding","chunked"],["Connection","keep-alive"],["Location","/v1/charges/ch_1"]],"body":"{\"id\":\"ch_1\"}"}}
{"v":1,"id":"t-4","dir":"in","req":{"method":"GET","target":"/v1/items/1"},"res":{"status":500}}
{"v":1,"id":"t-5","dir":"out","req":{"method":"DELETE","target":"/v1/items/1"},"res":{"status":204,"reason":"No Content","headers":[["X-Deleted","yes"]]}}
EOF2
start_respond r "$T/snap.jsonl"
P=$PORT_r

# 1. The whole response, compared byte by byte.
printf 'GET /v1/items/1 HTTP/1.1\r\nHost: api.example\r\nConnection: close\r\n\r\n' >"$T/req1"
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Request-Id: abc\r\nContent-Length: 14\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nConnection: close\r\n\r\n{"id":1,"n":2}' >"$T/exp1"
raw "$P" "$T/req1" >"$T/got1"
check "recorded response byte-exact (headers in order, duplicates kept, Content-Length from the stored body)" same "$T/got1" "$T/exp1"

# 2. A binary body comes back exactly, through curl.
printf '%s' "$png_b64" | base64 -d >"$T/exp2"
curl -s -o "$T/got2" -D "$T/hdr2" "http://127.0.0.1:$P/img.png"
check "binary body byte-exact" same "$T/got2" "$T/exp2"
check "binary body framed with its length" \
    grep -qi "^Content-Length: $(stat -c %s "$T/exp2")" "$T/hdr2"

# 3. Recorded chunked framing and Connection are replaced by decoy's own;
#    query order does not matter; a chunked request body matches too.
curl -s -D "$T/hdr3" -o "$T/got3" -H 'Content-Type: application/json' \
    -H 'Transfer-Encoding: chunked' --data-binary '{"amount":1200}' \
    "http://127.0.0.1:$P/v1/charges?a=1&b=2"
printf '{"id":"ch_1"}' >"$T/exp3"
check "POST with chunked body matched" same "$T/got3" "$T/exp3"
tr -d '\r' <"$T/hdr3" >"$T/hdr3.txt"
printf 'HTTP/1.1 201 Created\nContent-Type: application/json\nLocation: /v1/charges/ch_1\nContent-Length: 13\n\n' >"$T/exp3h"
check "recorded Transfer-Encoding and Connection dropped, Content-Length added" \
    same "$T/hdr3.txt" "$T/exp3h"

# 4. Pretty-printed JSON request body matches the compact recording.
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary $'{\n  "amount" : 1200\n}' "http://127.0.0.1:$P/v1/charges?b=2&a=1")
check "JSON body matched whatever its whitespace" [ "$code" = 201 ]

# 5. dir:in transactions are not served.
code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://127.0.0.1:$P/v1/items/1")
check "204 served" [ "$code" = 204 ]

# 6. HEAD gets the head only; HTTP/1.0 gets Connection: close.
printf 'GET /v1/items/1 HTTP/1.0\r\n\r\n' >"$T/req6"
raw "$P" "$T/req6" >"$T/got6"
check "HTTP/1.0 request answered and closed" same "$T/got6" "$T/exp1"

# 7. Keep-alive: several requests on one connection.
curl -s -o /dev/null -o /dev/null -o /dev/null -w '%{http_code}%{num_connects}\n' \
    "http://127.0.0.1:$P/v1/items/1" "http://127.0.0.1:$P/img.png" \
    "http://127.0.0.1:$P/v1/items/1" >"$T/ka"
check "three requests, one connection" \
    [ "$(tr '\n' ' ' <"$T/ka")" = "2001 2000 2000 " ]

done_testing
