#!/bin/bash
# t-replay-tls.sh -- `decoy replay` against an https:// target: a throwaway
# CA signs a certificate for 127.0.0.1 and localhost; `openssl s_server
# -WWW` serves two files (one of many TLS records).  With --ca the replay
# gets every recorded answer back; without it the server cannot be
# verified, so the run stops before the load with exit 2 and says why;
# --insecure works again; an unreadable --ca file is an input error.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || skip "the openssl CLI is not installed"
command -v jq >/dev/null || skip "jq is not installed"
"$DECOY" replay --help >/dev/null 2>&1 || skip "decoy replay is not built in"

jqr() {
	jq -r "$2" "$1"
}

# --- the CA, the server certificate, the files served ------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 -subj "/CN=decoy test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign" >"$T/openssl.log" 2>&1 ||
    fatal "cannot make the CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/srv.key" -out "$T/srv.csr" -subj "/CN=localhost" \
    >>"$T/openssl.log" 2>&1 || fatal "cannot make the server key"
printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    "basicConstraints=CA:FALSE" "extendedKeyUsage=serverAuth" >"$T/srv.ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" \
    -set_serial 1 -days 2 -extfile "$T/srv.ext" -out "$T/srv.pem" \
    >>"$T/openssl.log" 2>&1 || fatal "cannot sign the server certificate"

mkdir "$T/www"
printf 'hello over tls' >"$T/www/hello.txt"
# About 100 KB: several TLS records per response.
awk 'BEGIN { for (i = 0; i < 2000; i++)
	printf "line %05d of a body larger than one TLS record\n", i }' \
    >"$T/www/big.txt"

# s_server -WWW answers "HTTP/1.0 200 ok", Content-type: text/plain, the
# file's bytes, then closes (EOF framing).
for n in 1 2 3 4 5 6; do
	f=hello.txt
	[ $((n % 3)) -eq 0 ] && f=big.txt
	jq -nc --arg id "i-$n" --arg f "$f" --rawfile body "$T/www/$f" \
	    '{v: 1, id: $id, dir: "in",
	      req: {method: "GET", target: ("/" + $f), headers: []},
	      res: {status: 200, headers: [["Content-Type", "text/plain"]],
	            body: $body}}'
done >"$T/tls.jsonl"
NREQ=6

# --- the server: port 0, the bound port read from its "ACCEPT" line -----
(cd "$T/www" && exec openssl s_server -accept 127.0.0.1:0 \
    -cert "$T/srv.pem" -key "$T/srv.key" -WWW) >"$T/s_server.log" 2>&1 &
PID_tls=$!
PIDS+=("$PID_tls")
has_port() {
	kill -0 "$PID_tls" 2>/dev/null || fatal "s_server exited"
	grep -q '^ACCEPT .*:[0-9][0-9]*$' "$T/s_server.log"
}
wait_for "s_server to listen" has_port
PORT_tls=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' "$T/s_server.log" |
    head -n 1)
URL="https://127.0.0.1:$PORT_tls"

# --- 1. verified against the throwaway CA -------------------------------
"$DECOY" replay "$T/tls.jsonl" --target "$URL" --ca "$T/ca.pem" \
    --report "$T/ca.json" >"$T/ca.out" 2>"$T/ca.log"
check "--ca: exit 0" [ $? -eq 0 ]
check "--ca: every request answered 200" \
    [ "$(jqr "$T/ca.json" '"\(.totals.count) \(.totals.status |
    map(select(.[0] == 200)[1]) | add)"')" = \
    "$NREQ $NREQ" ]
check "--ca: no transport errors" \
    [ "$(jqr "$T/ca.json" '[.totals.errors[]] | add')" = 0 ]
check "--ca: all compared, 0 regressions" \
    [ "$(jqr "$T/ca.json" '"\(.totals.compared) \(.totals.regressions)"')" = \
    "$NREQ 0" ]

# --- 2. the system CAs do not know the throwaway one --------------------
# Every connection would fail the same way: the run stops before the load
# with exit 2 and the reason, and writes no report full of connect errors.
"$DECOY" replay "$T/tls.jsonl" --target "$URL" \
    --report "$T/nock.json" >"$T/nock.out" 2>"$T/nock.log"
check "no --ca: exit 2" [ $? -eq 2 ]
check "no --ca: the reason: certificate verify failed" \
    grep -q 'TLS handshake failed: certificate verify failed' "$T/nock.log"
check "no --ca: no report written" [ ! -e "$T/nock.json" ]

# --- 3. --insecure: not verified, works ---------------------------------
"$DECOY" replay "$T/tls.jsonl" --target "$URL" --insecure \
    --report "$T/insecure.json" >"$T/insecure.out" 2>"$T/insecure.log"
check "--insecure: exit 0" [ $? -eq 0 ]
check "--insecure: all compared, 0 regressions, no errors" \
    [ "$(jqr "$T/insecure.json" \
    '"\(.totals.compared) \(.totals.regressions) \([.totals.errors[]] | add)"')" = \
    "$NREQ 0 0" ]

# --- 4. the wrong CA: a verification failure too ------------------------
"$DECOY" replay "$T/tls.jsonl" --target "$URL" --ca "$T/srv.pem" \
    --report "$T/wrong.json" >/dev/null 2>"$T/wrong.log"
check "a CA that did not sign the server: exit 2" [ $? -eq 2 ]
check "a CA that did not sign the server: the reason" \
    grep -q 'certificate verify failed' "$T/wrong.log"

# --- 4b. a plain-HTTP server behind an https:// URL: exit 2 too ------------
"$DECOY" respond "$T/tls.jsonl" --listen 127.0.0.1:0 --allow-empty \
    --port-file "$T/plain.port" >"$T/plain.log" 2>&1 &
PID_plain=$!
PIDS+=("$PID_plain")
PORT_plain=$(wait_port "$T/plain.port" "$PID_plain")
"$DECOY" replay "$T/tls.jsonl" --target "https://127.0.0.1:$PORT_plain" \
    --insecure >/dev/null 2>"$T/plainrep.log"
check "an https:// URL on a plain HTTP server: exit 2" [ $? -eq 2 ]
check "an https:// URL on a plain HTTP server: a TLS handshake failure" \
    grep -q 'TLS handshake failed' "$T/plainrep.log"

# --- 4c. a scenario against the https service ----------------------------
# service.ca verifies the server (readiness probe and load); without it
# the run stops with exit 2 and the reason, before the load.
cat >"$T/tls-run.yaml" <<EOF
snapshot: $T/tls.jsonl
service:
  url: '$URL'
  ca: $T/ca.pem
load: {pattern: closed, connections: 1}
assert:
  regression: {status: exact, body: exact}
report: {json: $T/tls-run.json}
EOF
"$DECOY" run "$T/tls-run.yaml" >"$T/tls-run.out" 2>"$T/tls-run.log"
check "scenario with service.ca: exit 0" [ $? -eq 0 ]
check "scenario with service.ca: all compared, 0 regressions" \
    [ "$(jqr "$T/tls-run.json" '"\(.totals.compared) \(.totals.regressions)"')" = \
    "$NREQ 0" ]
grep -v '^  ca:' "$T/tls-run.yaml" >"$T/tls-noca.yaml"
"$DECOY" run "$T/tls-noca.yaml" >"$T/tls-noca.out" 2>"$T/tls-noca.log"
check "scenario without service.ca: exit 2" [ $? -eq 2 ]
check "scenario without service.ca: the reason" \
    grep -q 'certificate verify failed' "$T/tls-noca.log"
sed 's|^  ca: .*|  insecure: true|' "$T/tls-run.yaml" >"$T/tls-insecure.yaml"
"$DECOY" run "$T/tls-insecure.yaml" >/dev/null 2>"$T/tls-insecure.log"
check "scenario with service.insecure: exit 0" [ $? -eq 0 ]

# --- 5. input errors -----------------------------------------------------
"$DECOY" replay "$T/tls.jsonl" --target "$URL" --ca "$T/nonexistent.pem" \
    >/dev/null 2>"$T/badca.log"
check "an unreadable --ca file: exit 2" [ $? -eq 2 ]
check "an unreadable --ca file: named" grep -q 'nonexistent.pem' "$T/badca.log"
"$DECOY" replay "$T/tls.jsonl" --target "ftp://127.0.0.1:$PORT_tls" \
    >/dev/null 2>&1
check "another scheme: exit 2" [ $? -eq 2 ]

done_testing
