#!/bin/bash
# decoy replay --http2: a request the server did not process (RFC 9113
# 8.7: RST_STREAM REFUSED_STREAM, or a stream past a GOAWAY's last stream
# id) is sent again, once, on a new stream or connection, and counted as
# retried in the report, not as an error.
#   1. nghttpd --max-concurrent-streams=1: our first flight (eight streams
#      before its SETTINGS are read) is refused past the first stream;
#      every request is answered, none is an error.
#   2. decoy respond refusing /refuse every time (rst_stream:
#      REFUSED_STREAM): each request is sent exactly twice (the chaos log
#      has two refusals each), then counted as an error; /ok is unharmed.
#   3. a server that answers stream 1 of each connection and then says
#      GOAWAY, last stream id 1 (h2-goaway-server.py): of three requests
#      in one flight, two are retried on a new connection, where one is
#      answered and the other, past the GOAWAY again, is an error.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
command -v nghttpd >/dev/null || skip "nghttpd (nghttp2-server) is not installed"

snap() {	# snap PATH BODY N [DIR]: N requests for PATH, 1 ms apart
	local i
	for ((i = 1; i <= $3; i++)); do
		printf '{"v":1,"id":"%s%d","dir":"'"${4:-in}"'","timing":{"start_us":%d000},"req":{"method":"GET","target":"%s","headers":[]},"res":{"status":200,"headers":[],"body":"%s"}}\n' \
		    "${1//\//}" "$i" "$i" "$1" "$2"
	done
}

# --- 1. nghttpd's concurrency limit
mkdir -p "$T/www"
echo hi >"$T/www/a.txt"
for try in 1 2 3 4 5; do
	NP=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	nghttpd -v --no-tls -a 127.0.0.1 -d "$T/www" -m 1 "$NP" >"$T/nghttpd.log" 2>&1 &
	NGD=$!
	PIDS+=("$NGD")
	for ((i = 0; i < 250; i++)); do
		curl -s -o /dev/null --http2-prior-knowledge "http://127.0.0.1:$NP/a.txt" && break 2
		kill -0 "$NGD" 2>/dev/null || break
		sleep 0.02
	done
	stop "$NGD"
done
snap /a.txt 'hi\n' 12 >"$T/a.jsonl"
"$DECOY" replay "$T/a.jsonl" --target "http://127.0.0.1:$NP" --http2 \
    --connections 1 --streams 8 --multiplier 1000 -o "$T/r1.json" \
    >"$T/r1.out" 2>&1
check "nghttpd -m 1: the replay passes (exit 0)" [ $? -eq 0 ]
check "nghttpd refused streams (REFUSED_STREAM on the wire)" \
    grep -q 'error_code=REFUSED_STREAM' "$T/nghttpd.log"
check "all 12 answered 200, no error" \
    bash -c "jq -e '.totals.count == 12 and ([.totals.errors[]] | add) == 0 and .totals.status == [[200, 12]]' '$T/r1.json' >/dev/null"
check "the refused ones counted as retried" \
    bash -c "jq -e '.h2_retried >= 1' '$T/r1.json' >/dev/null"
check "and named in the text report" grep -q '^h2 requests retried' "$T/r1.out"

# --- 2. always refused: retried once, then an error
{ snap /refuse never 3; snap /ok fine 3; } >"$T/b.jsonl"
{ snap /refuse never 1 out; snap /ok fine 1 out; } >"$T/b-out.jsonl"
cat >"$T/rules.yaml" <<'EOF2'
rules:
  - name: refuse
    match: {path: '^/refuse$'}
    fault: {rst_stream: REFUSED_STREAM}
EOF2
start_respond r "$T/b-out.jsonl" --rules "$T/rules.yaml" --chaos-log "$T/chaos.jsonl"
"$DECOY" replay "$T/b.jsonl" --target "http://127.0.0.1:$PORT_r" --http2 \
    --connections 1 --multiplier 1000 -o "$T/r2.json" >"$T/r2.out" 2>&1
check "refused every time: 3 retried" \
    bash -c "jq -e '.h2_retried == 3' '$T/r2.json' >/dev/null"
check "then 3 errors, RST_STREAM REFUSED_STREAM" \
    bash -c "jq -e '(.h2_errors[] | select(.what == \"RST_STREAM REFUSED_STREAM\") | .count) == 3' '$T/r2.json' >/dev/null"
check "/ok answered 3 times" \
    bash -c "jq -e '(.endpoints[] | select(.path == \"/ok\") | .status) == [[200, 3]]' '$T/r2.json' >/dev/null"
check "each refused request sent exactly twice (6 refusals in the chaos log)" \
    [ "$(grep -c '"rule":"refuse"' "$T/chaos.jsonl")" -eq 6 ]

# --- 3. GOAWAY: the streams past its last id
start_bg ga "$T/ga.port" "$PY" "$top_srcdir/tests/integration/h2-goaway-server.py" \
    "$T/ga.port"
snap /g one 3 >"$T/g.jsonl"
"$DECOY" replay "$T/g.jsonl" --target "http://127.0.0.1:$PORT_ga" --http2 \
    --connections 1 --multiplier 1000 -o "$T/r3.json" >"$T/r3.out" 2>&1
check "GOAWAY: 2 retried" bash -c "jq -e '.h2_retried == 2' '$T/r3.json' >/dev/null"
check "GOAWAY: 2 answered, one as recorded each" \
    bash -c "jq -e '.totals.status == [[200, 2]] and .totals.regressions == 0' '$T/r3.json' >/dev/null"
check "GOAWAY: the one refused twice is an error, GOAWAY NO_ERROR" \
    bash -c "jq -e '([.totals.errors[]] | add) == 1 and (.h2_errors[] | select(.what == \"GOAWAY NO_ERROR\") | .count) == 1' '$T/r3.json' >/dev/null"

done_testing
