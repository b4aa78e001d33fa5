#!/bin/bash
# t-replay-h2.sh -- `decoy replay --http2` against nghttpd (nghttp2-server),
# a server nobody here wrote, which logs every frame it receives (-v):
#   1. cleartext, prior knowledge: every request arrives as an h2 stream
#      (HEADERS frames, :authority, no Host, no Connection), the answers
#      compare as recorded (the recording's Connection and Content-Length
#      headers are no difference), the report says "protocol":"h2";
#   2. many streams on one connection (-c 1 --streams 8 --closed);
#   3. uploads larger than nghttpd's tiny windows (-w 10 -W 12), echoed
#      back (--echo-upload): flow control both ways;
#   4. nghttpd limited to 2 concurrent streams (-m 2) gets 8 at once in
#      the first flight: it refuses 6 with RST_STREAM REFUSED_STREAM,
#      which are not processed (RFC 9113 8.7): sent again once, counted
#      as retried, all answered;
#   5. TLS: ALPN h2,http/1.1 offered, nghttpd picks h2;
#   6. a TLS server that picks http/1.1 (openssl s_server -alpn): the run
#      falls back to HTTP/1.1, says so, "protocol":"http/1.1".
. "$(dirname "$0")/lib.sh"

command -v nghttpd >/dev/null || skip "nghttpd (nghttp2-server) is not installed"
command -v jq >/dev/null || skip "jq is not installed"
command -v ss >/dev/null || skip "ss (iproute2) is not installed"
command -v openssl >/dev/null || skip "the openssl CLI is not installed"

jqr() {
	jq -r "$2" "$1"
}

# nghttpd binds port 0 but does not print the port: ask the kernel.
pid_port() {
	ss -ltnpH 2>/dev/null | awk -v p="pid=$1," \
	    'index($0, p) && $4 ~ /^127\.0\.0\.1:/ {
		n = split($4, a, ":"); print a[n]; exit }'
}

# start_nghttpd NAME ARGS...: sets PORT_<NAME>, PID_<NAME>; log NAME.log.
start_nghttpd() {
	local name=$1 pid port i
	shift
	nghttpd -a 127.0.0.1 "$@" >"$T/$name.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	for ((i = 0; i < 500; i++)); do
		port=$(pid_port "$pid")
		[ -n "$port" ] && break
		kill -0 "$pid" 2>/dev/null || fatal "nghttpd $name exited"
		sleep 0.02
	done
	[ -n "$port" ] || fatal "nghttpd $name does not listen"
	printf -v "PORT_$name" '%s' "$port"
	printf -v "PID_$name" '%s' "$pid"
}

mkdir "$T/www"
printf 'hello h2' >"$T/www/hello.txt"
# About 200 KB: many DATA frames, more than the default 64 KiB window.
awk 'BEGIN { for (i = 0; i < 4000; i++)
	printf "line %05d of a body larger than one h2 window\n", i }' \
    >"$T/www/big.txt"

# Six GETs, every third of the big file, recorded from an HTTP/1.1
# server (Content-Length, Connection: keep-alive).
jq -nc --rawfile small "$T/www/hello.txt" --rawfile big "$T/www/big.txt" \
    'range(1; 7) as $n | (if $n % 3 == 0 then ["big.txt", $big]
     else ["hello.txt", $small] end) as [$f, $body] |
     {v: 1, id: "i-\($n)", dir: "in",
      req: {method: "GET", target: "/\($f)",
            headers: [["Accept", "*/*"], ["Connection", "keep-alive"]]},
      res: {status: 200, headers: [["Content-Length",
            ($body | length | tostring)], ["Connection", "keep-alive"]],
            body: $body}}' >"$T/files.jsonl"
NREQ=6

# --- 1. prior knowledge -------------------------------------------------
start_nghttpd plain --no-tls -v -d "$T/www" 0
"$DECOY" replay "$T/files.jsonl" --target "http://127.0.0.1:$PORT_plain" \
    --http2 --compare-headers content-length,connection \
    --report "$T/plain.json" >"$T/plain.out" 2>"$T/plain-replay.log"
check "prior knowledge: exit 0" [ $? -eq 0 ]
check "prior knowledge: the report says h2" \
    [ "$(jqr "$T/plain.json" .protocol)" = h2 ]
check "prior knowledge: the summary says h2" grep -q ', h2;' "$T/plain.out"
check "prior knowledge: all answered 200, compared, no regression" \
    [ "$(jqr "$T/plain.json" '"\(.totals.count) \(.totals.compared) \(.totals.regressions) \([.totals.errors[]] | add)"')" = \
    "$NREQ $NREQ 0 0" ]
check "nghttpd received the requests as h2 HEADERS" \
    [ "$(grep -c 'recv HEADERS frame' "$T/plain.log")" -eq "$NREQ" ]
check "nghttpd saw :authority, not Host or Connection" \
    eval "[ \"\$(grep -c 'recv (stream_id=[0-9]*) :authority: 127.0.0.1:$PORT_plain' '$T/plain.log')\" -eq $NREQ ] &&
    ! grep -Eqi 'recv \\(stream_id=[0-9]*\\) (host|connection):' '$T/plain.log'"
check "nghttpd sent the big bodies as several DATA frames" \
    [ "$(grep -c 'send DATA frame' "$T/plain.log")" -gt "$NREQ" ]

# --- 2. many streams on one connection -----------------------------------
: >"$T/plain.log"
"$DECOY" replay "$T/files.jsonl" --target "http://127.0.0.1:$PORT_plain" \
    --http2 --closed -c 1 --streams 8 --duration 1s \
    --report "$T/closed.json" >"$T/closed.out" 2>"$T/closed-replay.log"
check "streams: exit 0" [ $? -eq 0 ]
check "streams: many answered, no errors" \
    eval "[ \"\$(jqr '$T/closed.json' '.totals.count')\" -gt 16 ] &&
    [ \"\$(jqr '$T/closed.json' '[.totals.errors[]] | add')\" = 0 ]"
# nghttpd numbers its sessions ([id=N]): the probe and one more.
check "streams: one connection carried them" \
    [ "$(grep -ao '^\[id=[0-9]*\]' "$T/plain.log" | sort -u | wc -l)" -le 2 ]
check "streams: high stream ids on it" \
    grep -aq 'recv HEADERS frame <length=[0-9]*, flags=0x[0-9a-f]*, stream_id=[1-9][0-9][0-9]*>' "$T/plain.log"
stop "$PID_plain"

# --- 3. flow control: uploads past tiny windows, echoed -------------------
awk 'BEGIN { for (i = 0; i < 3000; i++)
	printf "line %05d of an upload larger than any window\n", i }' \
    >"$T/up.txt"
for n in 1 2 3; do
	jq -nc --arg id "u-$n" --rawfile body "$T/up.txt" \
	    '{v: 1, id: $id, dir: "in",
	      req: {method: "POST", target: "/echo",
	            headers: [["Content-Type", "text/plain"]], body: $body},
	      res: {status: 200, headers: [], body: $body}}'
done >"$T/up.jsonl"
start_nghttpd echo --no-tls -v -w 10 -W 12 --echo-upload -d "$T/www" 0
"$DECOY" replay "$T/up.jsonl" --target "http://127.0.0.1:$PORT_echo" \
    --http2 -c 1 --report "$T/echo.json" >"$T/echo.out" 2>"$T/echo-replay.log"
check "upload: exit 0, 3 echoed bodies as recorded" \
    eval "[ \"\$(jqr '$T/echo.json' '\"\(.totals.count) \(.totals.regressions) \([.totals.errors[]] | add)\"')\" = '3 0 0' ]"
check "upload: nghttpd's window made us wait for WINDOW_UPDATEs" \
    [ "$(grep -c 'send WINDOW_UPDATE' "$T/echo.log")" -gt 10 ]
stop "$PID_echo"

# --- 4. RST_STREAM REFUSED_STREAM from the server: retried once ------------
for n in 1 2 3 4 5 6 7 8; do
	printf '{"v":1,"id":"r-%d","dir":"in","req":{"method":"GET","target":"/hello.txt","headers":[]},"res":{"status":200,"headers":[],"body":"hello h2"}}\n' "$n"
done >"$T/burst.jsonl"
start_nghttpd two --no-tls -v -m 2 -d "$T/www" 0
"$DECOY" replay "$T/burst.jsonl" --target "http://127.0.0.1:$PORT_two" \
    --http2 -c 1 --streams 8 --report "$T/rst.json" \
    >"$T/rst.out" 2>"$T/rst-replay.log"
sent=$(grep -c 'send RST_STREAM' "$T/two.log")
check "RST_STREAM: nghttpd refused streams" [ "$sent" -gt 0 ]
check "RST_STREAM: refused streams retried, not errors" \
    [ "$(jqr "$T/rst.json" '[.totals.errors[]] | add')" = 0 ]
check "RST_STREAM: counted as retried in the report" \
    [ "$(jqr "$T/rst.json" .h2_retried)" = "$sent" ]
check "RST_STREAM: all 8 answered" \
    [ "$(jqr "$T/rst.json" '.totals.status[] | select(.[0] == 200) | .[1]')" = 8 ]
check "RST_STREAM: the summary says so" \
    grep -q "^h2 requests retried (not processed by the server): $sent" "$T/rst.out"
stop "$PID_two"

# --- 5. TLS with ALPN ------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/srv.key" -out "$T/srv.pem" -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    >"$T/openssl.log" 2>&1 || fatal "cannot make a certificate"
start_nghttpd tls -v -d "$T/www" 0 "$T/srv.key" "$T/srv.pem"
"$DECOY" replay "$T/files.jsonl" --target "https://127.0.0.1:$PORT_tls" \
    --http2 --ca "$T/srv.pem" --report "$T/tls.json" \
    >"$T/tls.out" 2>"$T/tls-replay.log"
check "ALPN: exit 0, h2, all as recorded" \
    eval "[ \"\$(jqr '$T/tls.json' '\"\(.protocol) \(.totals.compared) \(.totals.regressions)\"')\" = 'h2 $NREQ 0' ]"
check "ALPN: nghttpd got HEADERS frames" \
    [ "$(grep -c 'recv HEADERS frame' "$T/tls.log")" -eq "$NREQ" ]
stop "$PID_tls"

# --- 6. the server picks http/1.1 -----------------------------------------
(cd "$T/www" && exec openssl s_server -accept 127.0.0.1:0 \
    -cert "$T/srv.pem" -key "$T/srv.key" -alpn http/1.1 -WWW) \
    >"$T/s_server.log" 2>&1 &
PID_s=$!
PIDS+=("$PID_s")
has_port() {
	kill -0 "$PID_s" 2>/dev/null || fatal "s_server exited"
	grep -q '^ACCEPT .*:[0-9][0-9]*$' "$T/s_server.log"
}
wait_for "s_server to listen" has_port
PORT_s=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' "$T/s_server.log" |
    head -n 1)
# s_server -WWW answers HTTP/1.0 with its own headers: compare the status.
"$DECOY" replay "$T/files.jsonl" --target "https://127.0.0.1:$PORT_s" \
    --http2 --ca "$T/srv.pem" --body none --report "$T/fallback.json" \
    >"$T/fallback.out" 2>"$T/fallback-replay.log"
check "fallback: exit 0" [ $? -eq 0 ]
check "fallback: said once" \
    [ "$(grep -c 'chose http/1.1, not h2' "$T/fallback-replay.log")" -eq 1 ]
check "fallback: the report says http/1.1, all answered 200" \
    eval "[ \"\$(jqr '$T/fallback.json' '\"\(.protocol) \(.totals.status[0][0]) \(.totals.status[0][1])\"')\" = 'http/1.1 200 $NREQ' ]"

done_testing
