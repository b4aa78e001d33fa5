#!/bin/bash
# HTTP/2 and gRPC through decoy record: a grpcio server (raw-bytes
# handlers: unary, server-streaming, client-streaming, bidi) behind the
# recorder, a grpcio client calling each through it (the bidi call in
# ping-pong, which only finishes if DATA moves both ways while the stream
# is open); then the server is stopped and decoy respond answers the same
# calls from the recording: the client's transcript (messages, status
# codes and messages, trailing metadata) is the one it got from the real
# server.  Also curl --http2-prior-knowledge and nghttp through the
# recorder to nghttpd (prior knowledge, Upgrade: h2c, an https upstream
# by ALPN, the forward proxy's CONNECT offering h2 where the origin took
# it): bodies byte-exact, proto h2 in the snapshot.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PEER=$top_srcdir/tests/integration/grpc-peer.py
[ -x "$PY" ] && "$PY" -c 'import grpc' 2>/dev/null ||
    skip "python3-grpcio is not installed"

# --- 1. gRPC recorded --------------------------------------------------------
start_bg grpc "$T/grpc.port" "$PY" "$PEER" server "$T/grpc.port"
G=$PORT_grpc
start_bg rec "$T/rec.port" "$DECOY" record --upstream "http://127.0.0.1:$G" \
    --listen 127.0.0.1:0 --port-file "$T/rec.port" -o "$T/rec.jsonl" \
    --stats "$T/rec.stats"
timeout 60 "$PY" "$PEER" client "$G" live >"$T/direct.txt" 2>&1
timeout 60 "$PY" "$PEER" client "$PORT_rec" live >"$T/viarec.txt" 2>&1
check "grpcio through the recorder: the transcript the server gives" \
    same "$T/viarec.txt" "$T/direct.txt"
check "bidi ping-pong went through" grep -q "^bidi OK \[b're:one'" "$T/viarec.txt"
check "the recorded non-OK status" \
    grep -qx "unary-fail StatusCode.NOT_FOUND 'no such thing'" "$T/viarec.txt"
stop "$PID_rec"
check "recorder: clean exit" [ $? -eq 0 ]

"$PY" - "$T/rec.jsonl" >"$T/check.txt" 2>&1 <<'EOF2'
import base64, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for t in lines:
    by.setdefault(t['req']['target'], []).append(t)
def msgs(m):
    # The "grpc" member: a view stays a view, bytes are decoded.
    return [base64.b64decode(x['b64']) if isinstance(x, dict) else x
            for x in m.get('grpc', [])]
ok = []
ok.append(('5 transactions', len(lines) == 5))
ok.append(('all proto h2', all(t.get('proto') == 'h2' for t in lines)))
ok.append(('no errors', all('error' not in t for t in lines)))
ok.append(('bodies as gRPC messages, no raw body', all(
    'body' not in t['req'] and 'body_b64' not in t['req'] and
    'body' not in t['res'] and 'body_b64' not in t['res'] for t in lines)))
u = by['/test.Echo/Unary']
good = [t for t in u if msgs(t['req']) == [[[1, 150]]]][0]
ok.append(('unary: request message shown as its protobuf view', True))
ok.append(('unary: response message', msgs(good['res']) == [b'\x08\x96\x01!']))
ok.append(('unary: grpc-status 0 and x-trail in res.trailers',
    ['grpc-status', '0'] in good['res'].get('trailers', []) and
    ['x-trail', 'u1'] in good['res']['trailers']))
bad = [t for t in u if msgs(t['req']) == [b'fail']][0]
ok.append(('unary-fail: trailers-only, grpc-status 5 in its headers',
    ['grpc-status', '5'] in bad['res']['headers']))
ss = by['/test.Echo/ServerStream'][0]
ok.append(('server-stream: 3 messages', msgs(ss['res']) ==
    [b'abc#' + bytes([0x30 + i]) + b'\x00\xff' for i in range(3)]))
sent = [b'one', b'two\x00', b'three' * 1000]
cs = by['/test.Echo/ClientStream'][0]
ok.append(('client-stream: 3 request messages', msgs(cs['req']) == sent))
bd = by['/test.Echo/Bidi'][0]
ok.append(('bidi: both directions whole', msgs(bd['req']) == sent and
    msgs(bd['res']) == [b're:' + x for x in sent]))
for name, v in ok:
    print('ok' if v else 'FAIL', name)
EOF2
check "the snapshot holds the calls as recorded" \
    bash -c "! grep -q '^FAIL' '$T/check.txt' && grep -q '^ok' '$T/check.txt'"
grep '^FAIL' "$T/check.txt" >&2

# --- 1b. a stalled call times out, a bad peer costs its connection ----------
start_bg rec5 "$T/rec5.port" "$DECOY" record --upstream "http://127.0.0.1:$G" \
    --listen 127.0.0.1:0 --port-file "$T/rec5.port" -o "$T/rec5.jsonl" \
    --upstream-timeout 500ms --redact header:authorization
timeout 30 "$PY" "$PEER" hang "$PORT_rec5" >"$T/hang.txt" 2>&1
check "a call past --upstream-timeout fails at the client (not OK)" \
    bash -c "grep -q '^hang StatusCode' '$T/hang.txt' && ! grep -q '^hang OK' '$T/hang.txt'"
printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x09\x00\x00\x00\x00\x01garbage' >"$T/bad"
raw "$PORT_rec5" "$T/bad" >/dev/null 2>&1
timeout 30 "$PY" "$PEER" client "$PORT_rec5" live >"$T/after-bad.txt" 2>&1
check "after a peer that broke the protocol: still relaying" \
    same "$T/after-bad.txt" "$T/direct.txt"
stop "$PID_rec5"
check "the stalled call recorded with a timeout error" \
    grep -q '"target":"/test.Echo/Hang".*"error":"timeout' "$T/rec5.jsonl"
check "redaction applies to h2 headers" \
    bash -c "grep -q '\"authorization\",\"REDACTED-' '$T/rec5.jsonl' && ! grep -q s3cret '$T/rec5.jsonl'"

# --- 2. replayed with the server gone ------------------------------------------
stop "$PID_grpc"
start_respond resp "$T/rec.jsonl"
timeout 60 "$PY" "$PEER" client "$PORT_resp" eager >"$T/replay.txt" 2>&1
check "decoy respond: the grpcio client sees what the server said" \
    same "$T/replay.txt" "$T/direct.txt"
# The request message edited in its view (field 1: 150 -> 151): the
# replay answers the edited bytes, not the old ones.
sed 's/"grpc":\[\[\[1,150\]\]\]/"grpc":[[[1,151]]]/' "$T/rec.jsonl" >"$T/edited.jsonl"
check "the view was there to edit" bash -c "! cmp -s '$T/rec.jsonl' '$T/edited.jsonl'"
start_respond edit "$T/edited.jsonl"
timeout 30 "$PY" "$PEER" call "$PORT_edit" 089701 >"$T/edit.txt" 2>/dev/null
timeout 30 "$PY" "$PEER" call "$PORT_edit" 089601 >>"$T/edit.txt" 2>/dev/null
check "edited view: the new message matches, the old one no more" \
    [ "$(cut -d' ' -f2 "$T/edit.txt" | tr '\n' ' ')" = "OK StatusCode.UNIMPLEMENTED " ]

# --- 3. curl and nghttp through the recorder to nghttpd -------------------------
if command -v nghttpd >/dev/null && command -v nghttp >/dev/null; then
	mkdir -p "$T/www"
	echo hello-h2 >"$T/www/a.txt"
	head -c 700000 /dev/urandom >"$T/www/big.bin"
	for try in 1 2 3 4 5; do
		NP=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		nghttpd --no-tls -a 127.0.0.1 -d "$T/www" "$NP" >"$T/nghttpd.log" 2>&1 &
		NPID=$!
		PIDS+=("$NPID")
		ok=0
		for ((i = 0; i < 250; i++)); do
			curl -s -o /dev/null --http2-prior-knowledge \
			    "http://127.0.0.1:$NP/a.txt" && { ok=1; break; }
			kill -0 "$NPID" 2>/dev/null || break
			sleep 0.02
		done
		[ $ok = 1 ] && break
		stop "$NPID"
	done
	[ $ok = 1 ] || fatal "nghttpd did not start"
	start_bg rec2 "$T/rec2.port" "$DECOY" record \
	    --upstream "http://127.0.0.1:$NP" --listen 127.0.0.1:0 \
	    --port-file "$T/rec2.port" -o "$T/rec2.jsonl"
	R=$PORT_rec2
	v=$(curl -s --http2-prior-knowledge -o "$T/big.out" -w '%{http_version}' \
	    "http://127.0.0.1:$R/big.bin")
	check "curl --http2-prior-knowledge: h2, 700 kB byte-exact" \
	    [ "$v" = 2 ] && same "$T/big.out" "$T/www/big.bin"
	rm -f "$T/big.out"
	v=$(curl -s --http2 -D "$T/h-up" -o "$T/big.out" -w '%{http_version}' \
	    "http://127.0.0.1:$R/big.bin")
	check "curl --http2 (Upgrade: h2c): 101, then h2, byte-exact" \
	    [ "$v" = 2 ] && grep -q '^HTTP/1.1 101' "$T/h-up" && same "$T/big.out" "$T/www/big.bin"
	nghttp -n -s "http://127.0.0.1:$R/a.txt" "http://127.0.0.1:$R/big.bin" \
	    "http://127.0.0.1:$R/nope" >"$T/ng" 2>&1
	check "nghttp: three streams on one connection answered" \
	    [ "$(grep -cE ' (200|404) ' "$T/ng")" = 3 ]
	nghttp -d "$T/www/big.bin" "http://127.0.0.1:$R/a.txt" >"$T/post.out" 2>&1
	check "nghttp: a 700 kB request body relayed" same "$T/post.out" "$T/www/a.txt"
	stop "$PID_rec2"
	"$PY" - "$T/rec2.jsonl" "$T/www/big.bin" >"$T/check2.txt" 2>&1 <<'EOF2'
import base64, json, sys
big = open(sys.argv[2], 'rb').read()
ts = [json.loads(l) for l in open(sys.argv[1])]
print('n', len(ts))
print('h2', all(t['proto'] == 'h2' for t in ts))
gets = [t for t in ts if t['req']['target'] == '/big.bin']
print('big', len(gets) == 3 and all(base64.b64decode(t['res']['body_b64']) == big for t in gets))
post = [t for t in ts if t['req']['method'] == 'POST']
print('post', len(post) == 1 and base64.b64decode(post[0]['req']['body_b64']) == big)
EOF2
	check "nghttpd recording: 6 entries, proto h2, bodies whole" \
	    [ "$(tr '\n' ' ' <"$T/check2.txt")" = "n 6 h2 True big True post True " ]

	# An https upstream: h2 chosen by ALPN.
	if command -v openssl >/dev/null; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
		    -nodes -keyout "$T/k.pem" -out "$T/c.pem" -subj /CN=127.0.0.1 \
		    -addext subjectAltName=IP:127.0.0.1 -days 2 >/dev/null 2>&1
		stop "$NPID"
		nghttpd -a 127.0.0.1 -d "$T/www" "$NP" "$T/k.pem" "$T/c.pem" \
		    >"$T/nghttpd-tls.log" 2>&1 &
		NPID=$!
		PIDS+=("$NPID")
		wait_for "nghttpd over TLS" curl -s -o /dev/null --cacert "$T/c.pem" \
		    "https://127.0.0.1:$NP/a.txt"
		start_bg rec4 "$T/rec4.port" "$DECOY" record \
		    --upstream "https://127.0.0.1:$NP" --ca-file "$T/c.pem" \
		    --listen 127.0.0.1:0 --port-file "$T/rec4.port" -o "$T/rec4.jsonl"
		v=$(curl -s --http2-prior-knowledge -o "$T/big4.out" -w '%{http_version}' \
		    "http://127.0.0.1:$PORT_rec4/big.bin")
		check "https upstream: h2 by ALPN, body byte-exact" \
		    [ "$v" = 2 ] && same "$T/big4.out" "$T/www/big.bin"
		stop "$PID_rec4"
		check "https upstream: recorded proto h2, tls true" \
		    grep -q '"proto":"h2","tls":true' "$T/rec4.jsonl"

		# The forward proxy: CONNECT intercepted offering h2 where the
		# origin took h2 (nghttpd), HTTP/1.1 where it did not.
		"$DECOY" ca init --ca "$T/ca" 2>/dev/null
		cat >"$T/h1.jsonl" <<'EOF2'
{"v":1,"dir":"out","req":{"method":"GET","target":"/h1"},"res":{"status":200,"headers":[],"body":"one"}}
EOF2
		start_respond h1 "$T/h1.jsonl" --tls --ca "$T/ca" --no-http2
		cat "$T/c.pem" "$T/ca/ca.pem" >"$T/both.pem"
		start_bg prx "$T/prx.port" "$DECOY" record --proxy 127.0.0.1:0 \
		    --port-file "$T/prx.port" -o "$T/prx.jsonl" --ca "$T/ca" \
		    --ca-file "$T/both.pem"
		v=$(curl -s --max-time 10 -x "http://127.0.0.1:$PORT_prx" \
		    --cacert "$T/ca/ca.pem" -o "$T/big5.out" -w '%{http_version}' \
		    "https://127.0.0.1:$NP/big.bin")
		check "CONNECT to an h2 origin: h2 inside the tunnel, byte-exact" \
		    [ "$v" = 2 ] && same "$T/big5.out" "$T/www/big.bin"
		v=$(curl -s --max-time 10 -x "http://127.0.0.1:$PORT_prx" \
		    --cacert "$T/ca/ca.pem" -o "$T/h1.out" -w '%{http_version}' \
		    "https://localhost:$PORT_h1/h1")
		check "CONNECT to an HTTP/1.1-only origin: HTTP/1.1 inside" \
		    [ "$v" = 1.1 ] && [ "$(cat "$T/h1.out")" = one ]
		stop "$PID_prx"
		check "proxy recording: h2 and http/1.1 entries, tls true" \
		    [ "$(jq -r '[.proto // "http/1.1", .tls, .res.status] | @tsv' "$T/prx.jsonl" | sort | tr '\t\n' ' |')" = \
		    "h2 true 200|http/1.1 true 200|" ]
	fi
else
	echo "# nghttpd/nghttp (nghttp2-server, nghttp2-client) missing: skipped"
fi

# --- 4. --no-http2: the preface is not HTTP/1.1 -------------------------------
start_bg rec3 "$T/rec3.port" "$DECOY" record --upstream "http://127.0.0.1:1" \
    --listen 127.0.0.1:0 --port-file "$T/rec3.port" -o "$T/rec3.jsonl" --no-http2
curl -s --max-time 5 --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$PORT_rec3/"
check "--no-http2: prior knowledge refused" [ $? -ne 0 ]
done_testing
