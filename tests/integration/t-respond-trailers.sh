#!/bin/bash
# decoy respond replays recorded trailers (res.trailers): over h2 as a
# trailing HEADERS frame (nghttp; a grpcio client sees the recorded
# grpc-status and grpc-message, OK and not), over HTTP/1.1 as the
# trailer section of a chunked body.
. "$(dirname "$0")/lib.sh"

command -v nghttp >/dev/null || skip "nghttp (nghttp2-client) is not installed"

cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"g-1","dir":"out","proto":"h2","req":{"method":"POST","target":"/pkg.Svc/Get","headers":[["content-type","application/grpc"],["te","trailers"]],"body_b64":"AAAAAAIIAQ=="},"res":{"status":200,"headers":[["content-type","application/grpc"]],"body_b64":"AAAAAAMKAWE=","trailers":[["grpc-status","0"],["grpc-message",""]]}}
{"v":1,"id":"g-2","dir":"out","proto":"h2","req":{"method":"POST","target":"/pkg.Svc/Get","headers":[["content-type","application/grpc"],["te","trailers"]],"body_b64":"AAAAAAIIAg=="},"res":{"status":200,"headers":[["content-type","application/grpc"]],"trailers":[["grpc-status","5"],["grpc-message","no such thing"]]}}
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/t"},"res":{"status":200,"headers":[["Content-Length","5"]],"body":"hello","trailers":[["X-Checksum","abc"],["Connection","x"]]}}
EOF2
start_respond r "$T/snap.jsonl"
P=$PORT_r

# HTTP/1.1: chunked, the trailers (hop-by-hop dropped) after the last chunk.
printf 'GET /t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >"$T/req"
raw "$P" "$T/req" >"$T/res" 2>/dev/null
check "HTTP/1.1: chunked, no Content-Length" \
    bash -c "grep -qi '^Transfer-Encoding: chunked' '$T/res' && ! grep -qi '^Content-Length' '$T/res'"
printf '5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n' >"$T/body.exp"
sed '1,/^\r$/d' "$T/res" >"$T/body"
check "HTTP/1.1: body then the trailer section" same "$T/body" "$T/body.exp"

# h2: DATA without END_STREAM, then HEADERS with END_STREAM.
nghttp -v -H 'host: x' "http://127.0.0.1:$P/t" >"$T/ng" 2>&1
check "h2: body intact, no END_STREAM on DATA" \
    grep -q 'hello.*recv DATA frame <length=5, flags=0x00' "$T/ng"
check "h2: the trailers as a trailing HEADERS" \
    bash -c "grep -B1 'recv HEADERS frame <length=[0-9]*, flags=0x05' '$T/ng' | grep -q 'x-checksum: abc'"
check "h2: the hop-by-hop trailer dropped" bash -c "! grep -qi 'connection: x' '$T/ng'"

# gRPC: the recorded status, OK and not, seen by grpcio.
if /usr/bin/python3 -c 'import grpc' 2>/dev/null; then
	/usr/bin/python3 - "$P" >"$T/grpc.out" 2>&1 <<'EOF2'
import grpc, sys
ch = grpc.insecure_channel('127.0.0.1:' + sys.argv[1])
f = ch.unary_unary('/pkg.Svc/Get')
print(repr(f(b'\x08\x01', timeout=10)))
try:
    f(b'\x08\x02', timeout=10)
    print('no error')
except grpc.RpcError as e:
    print(e.code(), repr(e.details()))
EOF2
	check "grpcio: the recorded message" grep -qx "b'\\\\n\\\\x01a'" "$T/grpc.out"
	check "grpcio: the recorded NOT_FOUND and its message" \
	    grep -qx "StatusCode.NOT_FOUND 'no such thing'" "$T/grpc.out"
else
	echo "# python3-grpcio is not installed: gRPC checks skipped"
fi
check "responder alive" kill -0 "$PID_r"
done_testing
