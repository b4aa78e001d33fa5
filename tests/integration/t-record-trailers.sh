#!/bin/bash
# Trailers through decoy record over HTTP/1.1: nginx (gzip makes its
# answer chunked, add_trailer gives it a trailer section) behind two
# recorders in a row, curl and a raw chunked POST with trailers in front.
# The chunked trailers are kept both ways (res.trailers, req.trailers),
# relayed (the client gets nginx's bytes, the second recorder sees the
# request's trailers), redacted like headers, and replayed by decoy
# respond.  Over h2, nghttp --trailer through the recorder to nghttpd:
# the request's trailing HEADERS recorded and relayed.
. "$(dirname "$0")/lib.sh"

command -v nginx >/dev/null || skip "nginx is not installed"
mkdir -p "$T/www"
seq 1 3000 >"$T/www/a.txt"
start_nginx "$T/www" /a.txt "" 'gzip on; gzip_types text/plain;
	gzip_min_length 1; add_trailer X-Tr "t1" always;
	add_trailer X-Secret "hush" always;
	location /echo { return 200 "got it\n"; }'

# rec1 (redacting) -> rec2 -> nginx
start_bg rec2 "$T/rec2.port" "$DECOY" record --upstream "http://127.0.0.1:$NPORT" \
    --listen 127.0.0.1:0 --port-file "$T/rec2.port" -o "$T/rec2.jsonl"
start_bg rec1 "$T/rec1.port" "$DECOY" record \
    --upstream "http://127.0.0.1:$PORT_rec2" --listen 127.0.0.1:0 \
    --port-file "$T/rec1.port" -o "$T/rec1.jsonl" --redact header:x-secret

curl -s --raw -H 'Accept-Encoding: gzip' "http://127.0.0.1:$NPORT/a.txt" \
    -o "$T/direct.bin"
curl -s --raw -H 'Accept-Encoding: gzip' "http://127.0.0.1:$PORT_rec1/a.txt" \
    -o "$T/viarec.bin"
check "nginx's answer is chunked with a trailer section" \
    bash -c "tail -c 40 '$T/direct.bin' | grep -qa 'X-Tr: t1'"
check "through the recorders: nginx's bytes, trailers included" \
    same "$T/viarec.bin" "$T/direct.bin"
printf 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nX-Req-Tr:  rv1 \r\nX-Secret: s3\r\n\r\n' >"$T/post"
raw "$PORT_rec1" "$T/post" >"$T/post.out" 2>/dev/null
check "the chunked POST answered" grep -qa 'got it' "$T/post.out"
stop "$PID_rec1"
stop "$PID_rec2"

line() { grep "\"target\":\"$2\"" "$1"; }
check "res.trailers recorded, the secret redacted" \
    bash -c "line() { grep \"\\\"target\\\":\\\"\$2\\\"\" \"\$1\"; }; line '$T/rec1.jsonl' /a.txt | grep -q '\"trailers\":\[\[\"X-Tr\",\"t1\"\],\[\"X-Secret\",\"REDACTED-'"
check "no secret in the redacted snapshot" bash -c "! grep -q 'hush\|s3' '$T/rec1.jsonl'"
check "req.trailers recorded (value trimmed)" \
    bash -c "grep '\"target\":\"/echo\"' '$T/rec1.jsonl' | grep -q '\"body\":\"hello\",\"trailers\":\[\[\"X-Req-Tr\",\"rv1\"\],\[\"X-Secret\",\"REDACTED-'"
check "the request's trailers relayed upstream (the second recorder has them)" \
    bash -c "grep '\"target\":\"/echo\"' '$T/rec2.jsonl' | grep -q '\"trailers\":\[\[\"X-Req-Tr\",\"rv1\"\],\[\"X-Secret\",\"s3\"\]\]'"
check "the second recorder has nginx's trailers unredacted" \
    bash -c "grep '\"target\":\"/a.txt\"' '$T/rec2.jsonl' | grep -q '\[\"X-Secret\",\"hush\"\]'"

# Replayed: the trailer section after the last chunk.
start_respond resp "$T/rec2.jsonl"
curl -s --raw -H 'Accept-Encoding: gzip' "http://127.0.0.1:$PORT_resp/a.txt" \
    -o "$T/replay.bin"
check "decoy respond replays the recorded trailers" \
    bash -c "tail -c 60 '$T/replay.bin' | grep -qa 'X-Tr: t1' && tail -c 60 '$T/replay.bin' | grep -qa 'X-Secret: hush'"

# --- h2: a client's trailing HEADERS ------------------------------------------
if command -v nghttpd >/dev/null && command -v nghttp >/dev/null; then
	echo hi >"$T/www/h.txt"
	for try in 1 2 3 4 5; do
		NP=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		nghttpd -v --no-tls -a 127.0.0.1 -d "$T/www" "$NP" >"$T/nghttpd.log" 2>&1 &
		NGD=$!
		PIDS+=("$NGD")
		for ((i = 0; i < 250; i++)); do
			nghttp "http://127.0.0.1:$NP/h.txt" >/dev/null 2>&1 && break 2
			kill -0 "$NGD" 2>/dev/null || break
			sleep 0.02
		done
		stop "$NGD"
	done
	start_bg rh2 "$T/rh2.port" "$DECOY" record --upstream "http://127.0.0.1:$NP" \
	    --listen 127.0.0.1:0 --port-file "$T/rh2.port" -o "$T/rh2.jsonl"
	echo body >"$T/body.txt"
	head -c 2000000 /dev/urandom >"$T/big.bin"
	nghttp -d "$T/body.txt" --trailer 'x-tr: v2' \
	    "http://127.0.0.1:$PORT_rh2/h.txt" >"$T/ng1.out" 2>&1
	nghttp -d "$T/big.bin" --trailer 'x-big: v3' \
	    "http://127.0.0.1:$PORT_rh2/h.txt" >"$T/ng2.out" 2>&1
	check "h2: answered" bash -c "grep -qx hi '$T/ng1.out' && grep -qx hi '$T/ng2.out'"
	stop "$PID_rh2"
	check "h2: the request's trailers recorded" \
	    bash -c "grep -q '\"trailers\":\[\[\"x-tr\",\"v2\"\]\]' '$T/rh2.jsonl' && grep -q '\"trailers\":\[\[\"x-big\",\"v3\"\]\]' '$T/rh2.jsonl'"
	check "h2: and relayed to nghttpd" \
	    bash -c "grep -q 'recv (stream_id=[0-9]*) x-tr: v2' '$T/nghttpd.log' && grep -qa 'recv (stream_id=[0-9]*) x-big: v3' '$T/nghttpd.log'"
fi

done_testing
