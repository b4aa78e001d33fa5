#!/bin/bash
# The HTTP/2-only chaos faults, seen by real clients: rst_stream with a
# code (nghttp's RST_STREAM, curl's stream error), goaway with a code
# (nghttp's GOAWAY, last stream id), a flow-control stall (the body stops
# at the window nghttp granted), a SETTINGS timeout (nghttp gives up with
# GOAWAY SETTINGS_TIMEOUT); each on one stream while a sibling on the
# same connection is answered; on HTTP/1.1 the closest fault, said in
# the chaos log.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip "curl is not installed"
command -v nghttp >/dev/null || skip "nghttp (nghttp2-client) is not installed"
curl -V | grep -q HTTP2 || skip "curl has no HTTP/2"

H=api.payments.example
cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/ok","host":"api.payments.example"},"res":{"status":200,"reason":"OK","headers":[["Content-Type","text/plain"]],"body":"fine!"}}
{"v":1,"id":"t-2","dir":"out","req":{"method":"GET","target":"/refuse","host":"api.payments.example"},"res":{"status":200,"reason":"OK","headers":[],"body":"never"}}
{"v":1,"id":"t-3","dir":"out","req":{"method":"GET","target":"/calm","host":"api.payments.example"},"res":{"status":200,"reason":"OK","headers":[],"body":"never"}}
{"v":1,"id":"t-4","dir":"out","req":{"method":"GET","target":"/cancel","host":"api.payments.example"},"res":{"status":200,"reason":"OK","headers":[],"body":"never"}}
EOF2
head -c 200000 /dev/zero | tr '\0' 's' >"$T/big"
printf '{"v":1,"id":"t-5","dir":"out","req":{"method":"GET","target":"/stall","host":"api.payments.example"},"res":{"status":200,"reason":"OK","headers":[["Content-Type","text/plain"]],"body":"%s"}}\n' \
    "$(cat "$T/big")" >>"$T/snap.jsonl"

cat >"$T/rules.yaml" <<'EOF2'
rules:
  - name: refuse
    match: {path: '^/refuse$'}
    fault: {rst_stream: REFUSED_STREAM}
  - name: cancel
    match: {path: '^/cancel$'}
    fault: {rst_stream: cancel}
  - name: calm
    match: {path: '^/calm$'}
    fault: {goaway: ENHANCE_YOUR_CALM}
  - name: stall
    match: {path: '^/stall$'}
    fault: {connection: stall}
  - name: settings
    match: {headers: {x-fault: '^settings$'}}
    fault: {connection: settings_timeout}
EOF2
printf 'snapshot: %s\nlisten: 127.0.0.1:0\nrules: [%s]\nhttp2: true\n' \
    "$T/snap.jsonl" "$T/rules.yaml" >"$T/decoyd.yaml"
check "decoyd -n accepts the h2 faults" "$DECOYD" -n -c "$T/decoyd.yaml"
printf '  - name: bad\n    fault: {goaway: SOON}\n' >>"$T/rules.yaml"
"$DECOYD" -n -c "$T/decoyd.yaml" 2>"$T/bad.err"
check "decoyd -n: an unknown code is a file:line:col error (exit 2)" \
    [ $? -eq 2 ] && grep -q 'rules.yaml:15:21: goaway: unknown HTTP/2 error code "SOON"' "$T/bad.err"
sed -i '$d' "$T/rules.yaml"
sed -i '$d' "$T/rules.yaml"
start_respond r "$T/snap.jsonl" --rules "$T/rules.yaml" \
    --chaos-log "$T/chaos.jsonl" --idle-timeout 3s
P=$PORT_r
U=http://127.0.0.1:$P

# 1. rst_stream: the code asked for, on that stream only.
nghttp -v -H "host: $H" "$U/refuse" "$U/ok" "$U/cancel" >"$T/ng1" 2>&1
check "nghttp: RST_STREAM REFUSED_STREAM" \
    grep -q 'error_code=REFUSED_STREAM(0x07)' "$T/ng1"
check "nghttp: RST_STREAM CANCEL" grep -q 'error_code=CANCEL(0x08)' "$T/ng1"
check "the sibling stream answered (5 bytes, END_STREAM)" \
    grep -q 'recv DATA frame <length=5, flags=0x01' "$T/ng1"
curl -s --max-time 10 --http2-prior-knowledge -H "Host: $H" -o /dev/null \
    "$U/cancel" 2>/dev/null
rc=$?
check "curl: the stream fails (exit $rc = 92, HTTP/2 stream error)" [ $rc -eq 92 ]

# 2. goaway: the connection ends with the code.
nghttp -v -H "host: $H" "$U/calm" >"$T/ng2" 2>&1
check "nghttp: GOAWAY ENHANCE_YOUR_CALM" \
    grep -q 'recv GOAWAY.*' "$T/ng2" && grep -q 'error_code=ENHANCE_YOUR_CALM(0x0b)' "$T/ng2"
check "GOAWAY names the last stream begun" \
    grep -q 'last_stream_id=[1-9]' "$T/ng2"
check "no answer on that stream" bash -c "! grep -q 'recv DATA' '$T/ng2'"

# 3. stall: the body stops at the window the client granted (2^16-1
# bytes by default), the stream ends after the idle timeout.
timeout 20 nghttp -v -H "host: $H" "$U/stall" >"$T/ng3" 2>&1
got=$(awk -F'length=' '/recv DATA/ { split($2, a, ","); s += a[1] } END { print s + 0 }' "$T/ng3")
check "stall: DATA stopped at the window (${got} = 65535 bytes)" [ "$got" = 65535 ]
check "stall: the headers went out" grep -q 'recv (stream_id=[0-9]*) :status: 200' "$T/ng3"
check "stall: reset with CANCEL after the idle timeout" \
    grep -q 'error_code=CANCEL(0x08)' "$T/ng3"
check "stall: no WINDOW_UPDATE from the responder" \
    bash -c "! grep -q 'recv WINDOW_UPDATE' '$T/ng3'"

# 4. settings_timeout on a connection's first request: no frame at all
# comes back; nghttp gives up on the SETTINGS ACK (10 s) with GOAWAY.
# (Its own responder: the idle timeout of 60 s outlasts nghttp's 10 s.)
start_respond s "$T/snap.jsonl" --rules "$T/rules.yaml" --chaos-log "$T/chaos.jsonl"
timeout 30 nghttp -v -H "host: $H" -H 'x-fault: settings' \
    "http://127.0.0.1:$PORT_s/ok" >"$T/ng4" 2>&1
check "settings_timeout: nothing received from the responder" \
    bash -c "! grep -q '\] recv' '$T/ng4'"
check "settings_timeout: nghttp sends GOAWAY SETTINGS_TIMEOUT" \
    grep -q 'send GOAWAY.*' "$T/ng4" && grep -q 'error_code=SETTINGS_TIMEOUT(0x04)' "$T/ng4"

# 5. On HTTP/1.1: the closest fault, said in the chaos log.
curl -s --max-time 10 --http1.1 -H "Host: $H" -o /dev/null "$U/refuse"
rc=$?
check "HTTP/1.1 rst_stream: a reset (curl $rc)" [ $rc -eq 56 ]
curl -s --max-time 10 --http1.1 -H "Host: $H" -o /dev/null "$U/calm"
rc=$?
check "HTTP/1.1 goaway: closed without an answer (curl $rc = 52)" [ $rc -eq 52 ]
check "chaos log: rst_stream with its code" \
    grep -q '"fault":"rst_stream","params":{"code":"REFUSED_STREAM"}' "$T/chaos.jsonl"
check "chaos log: goaway with its code" \
    grep -q '"fault":"goaway","params":{"code":"ENHANCE_YOUR_CALM"}' "$T/chaos.jsonl"
check "chaos log: HTTP/1.1 fallback reset instead of rst_stream" \
    grep -q '"fault":"reset","params":{"instead_of":"rst_stream"}' "$T/chaos.jsonl"
check "chaos log: settings_timeout" \
    grep -q '"rule":"settings","fault":"settings_timeout"' "$T/chaos.jsonl"
check "chaos log: HTTP/1.1 fallback close instead of goaway" \
    grep -q '"fault":"close","params":{"instead_of":"goaway"}' "$T/chaos.jsonl"
code=$(curl -s --max-time 10 --http2-prior-knowledge -H "Host: $H" -o /dev/null \
    -w '%{http_code}' "$U/ok")
check "still serving" [ "$code" = 200 ]
stop "$PID_r"
check "clean exit on SIGTERM" [ $? -eq 0 ]
done_testing
