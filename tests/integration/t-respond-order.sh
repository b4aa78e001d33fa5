#!/bin/bash
# Repeated signatures are answered in recorded order, cycling; pipelined
# requests are answered in order.
. "$(dirname "$0")/lib.sh"

cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/v1/token"},"res":{"status":200,"body":"one"}}
{"v":1,"id":"t-2","dir":"out","req":{"method":"GET","target":"/a"},"res":{"status":200,"body":"A"}}
{"v":1,"id":"t-3","dir":"out","req":{"method":"GET","target":"/v1/token"},"res":{"status":200,"body":"two"}}
{"v":1,"id":"t-4","dir":"out","req":{"method":"GET","target":"/b"},"res":{"status":201,"body":"BB"}}
{"v":1,"id":"t-5","dir":"out","req":{"method":"GET","target":"/v1/token"},"res":{"status":503,"body":"three"}}
{"v":1,"id":"t-6","dir":"out","req":{"method":"POST","target":"/c","headers":[["Content-Type","text/plain"]],"body":"hello"},"res":{"status":200,"body":"C"}}
EOF2
start_respond r "$T/snap.jsonl"
P=$PORT_r

got=
for i in 1 2 3 4 5; do
	got="$got $(curl -s -w ':%{http_code}' "http://127.0.0.1:$P/v1/token")"
done
check "same signature answered in recorded order, cycling" \
    [ "$got" = " one:200 two:200 three:503 one:200 two:200" ]

# Pipelining: four requests in one write, including a chunked POST; the
# answers come back in order on the one connection.
printf 'GET /b HTTP/1.1\r\nHost: x\r\n\r\nPOST /c HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3;ext=1\r\nllo\r\n0\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >"$T/pipe"
raw "$P" "$T/pipe" >"$T/out"
bodies=$(awk 'BEGIN{RS="\r\n\r\n"} NR>1{print substr($0,1,2)}' "$T/out" | tr -d '\n' | head -c 16)
statuses=$(grep -a -o 'HTTP/1.1 [0-9]*' "$T/out" | awk '{print $2}' | tr '\n' ' ')
check "pipelined responses in order (statuses)" [ "$statuses" = "201 200 200 201 " ]
check "pipelined responses in order (bodies)" \
    grep -q -a 'BBHTTP/1.1 200 OK' "$T/out"
check "pipelined: chunked POST answered between" [ "$(grep -a -c 'Content-Length: 1$' <(tr -d '\r' <"$T/out"))" = 2 ]
check "pipelined: last response closes" grep -q -a 'Connection: close' "$T/out"
: "$bodies"

# The same, one byte per write: the parser resumes wherever a read ends.
printf 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >"$T/pipe2"
trickle "$P" "$T/pipe2" >"$T/out2"
check "byte-by-byte pipelined requests: two responses in order" \
    [ "$(grep -a -o 'HTTP/1.1 20[01]' "$T/out2" | tr '\n' ' ')" = "HTTP/1.1 200 HTTP/1.1 201 " ]

done_testing
