#!/bin/bash
# decoy respond --tls: HTTPS with leaves minted by decoy's CA.  A client
# trusting ca.pem gets the recorded response byte for byte, with SNI
# (DNS SAN) and without (IP SAN for the address it connected to); one
# that does not trust it fails verification; chaos rules apply over TLS
# (a status, a reset, a drip); a peer speaking plain HTTP or garbage to
# the TLS port costs only its own connection.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || skip "openssl is not installed"

cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/v1/charges/ch_1","host":"api.payments.example","headers":[["Accept","*/*"]]},"res":{"status":200,"reason":"OK","headers":[["Content-Type","application/json"],["X-Request-Id","abc"],["Set-Cookie","a=1"],["Set-Cookie","b=2"]],"body":"{\"id\":\"ch_1\",\"amount\":1200}"}}
EOF2
# A body larger than several TLS records.
head -c 150000 /dev/zero | tr '\0' 'z' >"$T/big.exp"
printf '{"v":1,"id":"t-2","dir":"out","req":{"method":"GET","target":"/big","host":"api.payments.example"},"res":{"status":200,"reason":"OK","headers":[["Content-Type","text/plain"]],"body":"%s"}}\n' \
    "$(cat "$T/big.exp")" >>"$T/snap.jsonl"

cat >"$T/rules.yaml" <<'EOF2'
seed: 1
rules:
  - name: down
    match: {headers: {x-fault: "^down$"}}
    fault: {status: 503, headers: {Retry-After: '2'}}
  - name: reset
    match: {headers: {x-fault: "^reset$"}}
    fault: {connection: reset}
  - name: drip
    match: {headers: {x-fault: "^drip$"}}
    fault: {drip: 40KiB/s}
EOF2

"$DECOY" ca init --ca "$T/ca" 2>"$T/init.log"
check "decoy ca init" [ -s "$T/ca/ca.pem" ]
check "ca.key is mode 0600" [ "$(stat -c %a "$T/ca/ca.key")" = 600 ]
"$DECOY" ca init --ca "$T/ca" 2>/dev/null
check "decoy ca init refuses to overwrite (exit 2)" [ $? -eq 2 ]
"$DECOY" ca show --ca "$T/ca" >"$T/shown.pem" 2>"$T/show.err"
check "decoy ca show prints ca.pem" same "$T/shown.pem" "$T/ca/ca.pem"
check "decoy ca show says how to install it" \
    grep -q update-ca-certificates "$T/show.err"

start_respond r "$T/snap.jsonl" --tls --ca "$T/ca" --rules "$T/rules.yaml" \
    --workers 2
P=$PORT_r
H=api.payments.example
# HTTP/1.1: ALPN would pick h2 (t-respond-h2.sh tests that).
CURL=(curl -s --http1.1 --max-time 10 --cacert "$T/ca/ca.pem" --resolve "$H:$P:127.0.0.1")

# 1. With SNI: headers and body exactly as recorded.
"${CURL[@]}" -D "$T/hdr1" -o "$T/body1" "https://$H:$P/v1/charges/ch_1"
check "https with SNI: curl verified and succeeded" [ $? -eq 0 ]
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Request-Id: abc\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 27\r\n\r\n' >"$T/hdr1.exp"
printf '{"id":"ch_1","amount":1200}' >"$T/body1.exp"
check "recorded headers byte-exact over TLS" same "$T/hdr1" "$T/hdr1.exp"
check "recorded body byte-exact over TLS" same "$T/body1" "$T/body1.exp"

# The whole response on the wire, through openssl s_client.
printf 'GET /v1/charges/ch_1 HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$H" >"$T/req"
timeout 10 openssl s_client -quiet -verify_return_error -CAfile "$T/ca/ca.pem" \
    -servername "$H" -verify_hostname "$H" -connect "127.0.0.1:$P" \
    <"$T/req" >"$T/raw1" 2>"$T/sclient.err"
{ sed 's/Content-Length: 27\r$/Content-Length: 27\r\nConnection: close\r/' "$T/hdr1.exp"
  cat "$T/body1.exp"; } >"$T/raw1.exp"
check "raw response byte-exact (s_client, Connection: close)" same "$T/raw1" "$T/raw1.exp"

# 2. A body of many TLS records, and keep-alive over one TLS connection.
"${CURL[@]}" -o "$T/big1" -o /dev/null -w '%{http_code}%{num_connects} ' \
    "https://$H:$P/big" "https://$H:$P/v1/charges/ch_1" >"$T/ka"
check "150 kB body byte-exact over TLS" same "$T/big1" "$T/big.exp"
check "two requests, one TLS connection" [ "$(cat "$T/ka")" = "2001 2000 " ]

# 3. Without SNI (an IP literal): the leaf has an IP SAN and verifies.
code=$(curl -s --max-time 10 --cacert "$T/ca/ca.pem" -o "$T/body3" \
    -w '%{http_code}' -H "Host: $H" "https://127.0.0.1:$P/v1/charges/ch_1")
check "https://127.0.0.1 (no SNI) verifies" [ "$code" = 200 ]
check "no SNI: body byte-exact" same "$T/body3" "$T/body1.exp"
openssl s_client -connect "127.0.0.1:$P" -noservername </dev/null 2>/dev/null |
    openssl x509 -noout -ext subjectAltName >"$T/san3" 2>/dev/null
check "no SNI: leaf SAN is IP Address:127.0.0.1" grep -q "IP Address:127.0.0.1" "$T/san3"
openssl s_client -connect "127.0.0.1:$P" -servername "$H" </dev/null 2>/dev/null |
    openssl x509 -noout -ext subjectAltName,extendedKeyUsage >"$T/san1" 2>/dev/null
check "SNI: leaf SAN is DNS:$H" grep -q "DNS:$H" "$T/san1"
check "leaf is for serverAuth" grep -q "TLS Web Server Authentication" "$T/san1"

# 4. Without --cacert, verification fails (curl exit 60).
curl -s --max-time 10 --resolve "$H:$P:127.0.0.1" -o /dev/null "https://$H:$P/v1/charges/ch_1"
check "untrusted without --cacert (curl exit 60)" [ $? -eq 60 ]

# 5. Chaos over TLS.
code=$("${CURL[@]}" -o /dev/null -D "$T/hdr5" -w '%{http_code}' -H 'X-Fault: down' \
    "https://$H:$P/v1/charges/ch_1")
check "status rule over TLS: 503" [ "$code" = 503 ]
check "status rule over TLS: header set" grep -qi '^Retry-After: 2' "$T/hdr5"
"${CURL[@]}" -o /dev/null -H 'X-Fault: reset' "https://$H:$P/v1/charges/ch_1"
rc=$?
check "reset rule over TLS: the transfer fails (curl $rc)" [ $rc -ne 0 ]
start=$(date +%s%N)
"${CURL[@]}" -o "$T/drip" -H 'X-Fault: drip' "https://$H:$P/big"
secs=$(( ($(date +%s%N) - start) / 1000000 ))
check "drip over TLS: body intact" same "$T/drip" "$T/big.exp"
check "drip over TLS: slowed (${secs} ms >= 2000)" [ "$secs" -ge 2000 ]

# 6. Plain HTTP or garbage to the TLS port costs only that connection.
printf 'GET /v1/charges/ch_1 HTTP/1.1\r\nHost: x\r\n\r\n' >"$T/plain"
raw "$P" "$T/plain" >"$T/plain.out" 2>/dev/null
check "plain HTTP to the TLS port gets no HTTP answer" \
    bash -c "! grep -q 'HTTP/1.1 200' '$T/plain.out'"
head -c 3000 /dev/urandom >"$T/garbage"
raw "$P" "$T/garbage" >/dev/null 2>&1
# A client that connects and says nothing holds only its own connection.
exec 7<>"/dev/tcp/127.0.0.1/$P"
code=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "https://$H:$P/v1/charges/ch_1")
check "still serving after bad peers" [ "$code" = 200 ]
exec 7<&-
check "failed handshake logged with a reason" grep -q "TLS handshake failed" "$T/r.log"
check "responder alive" kill -0 "$PID_r"

stop "$PID_r"
check "clean exit on SIGTERM" [ $? -eq 0 ]

# 7. decoyd -n checks the CA; a missing CA is an error.
cat >"$T/decoyd.yaml" <<EOF2
snapshot: $T/snap.jsonl
listen: 127.0.0.1:0
tls: true
ca: $T/ca
EOF2
check "decoyd -n with tls: true and ca" "$DECOYD" -n -c "$T/decoyd.yaml"
sed -i "s|^ca: .*|ca: $T/nope|" "$T/decoyd.yaml"
"$DECOYD" -n -c "$T/decoyd.yaml" 2>"$T/nope.err"
check "decoyd -n: missing CA is an error" [ $? -ne 0 ]
printf 'snapshot: %s\nlisten: 127.0.0.1:0\ntls: maybe\n' "$T/snap.jsonl" >"$T/bad.yaml"
"$DECOYD" -n -c "$T/bad.yaml" 2>"$T/bad.err"
check "tls: maybe is a file:line:col error" grep -q "bad.yaml:3:6: tls: expected true or false" "$T/bad.err"

done_testing
