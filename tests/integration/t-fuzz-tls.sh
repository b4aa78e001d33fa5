#!/usr/bin/env bash
#
# t-fuzz-tls.sh -- `decoy fuzz` against an https:// target: a throwaway CA
# (decoy ca init), `decoy respond --tls` serving a JSON POST /cart/items
# (--unmatched closest: mutants get answers) with rules that answer 500
# when the body holds a negative qty, reset the connection for qty 0 and
# close it without an answer for a ten-digit qty.  With --ca the campaign
# finds each once (a TLS-level reset or close counts as a plain one), the
# 500's request has a negative qty, --replay reproduces it over TLS;
# without --ca the first connection fails verification: exit 2 with the
# reason; --insecure runs; a plain http server behind https:// is a
# handshake failure, exit 2.

. "$(dirname "$0")/lib.sh"

"$DECOY" fuzz --help >/dev/null 2>&1 || skip "decoy fuzz is not built in"

cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"t-1","dir":"in","req":{"method":"POST","target":"/cart/items","headers":[["Host","shop.test"],["Content-Type","application/json"]],"body":"{\"sku\":\"A-100\",\"qty\":2}"},"res":{"status":201,"headers":[["Content-Type","application/json"]],"body":"{\"ok\":true,\"items\":1}"}}
EOF2
cat >"$T/rules.yaml" <<'EOF2'
rules:
  - name: negative-qty
    match: {path: '^/cart/items', body: '"qty":\s*-'}
    fault: {status: 500}
  - name: zero-qty
    match: {path: '^/cart/items', body: '"qty":\s*0[,}]'}
    fault: {connection: reset}
  - name: huge-qty
    match: {path: '^/cart/items', body: '"qty":\s*[1-9][0-9]{9}'}
    fault: {connection: close}
EOF2

"$DECOY" ca init --ca "$T/ca" 2>"$T/init.log" || fatal "decoy ca init failed"
check "corpus from the snapshot" \
    "$DECOY" corpus "$T/snap.jsonl" -o "$T/corpus"
start_respond r "$T/snap.jsonl" --allow-empty --tls --ca "$T/ca" --rules "$T/rules.yaml" \
    --unmatched closest
URL="https://127.0.0.1:$PORT_r"

# 1. Verified against the CA: the planted 500 is found once.
"$DECOY" fuzz "$T/corpus" --target "$URL" --ca "$T/ca/ca.pem" \
    --requests 3000 --seed 1 --findings "$T/f" >"$T/fuzz.out" 2>"$T/fuzz.log"
rc=$?
check "--ca: findings, exit 1 (got $rc)" [ "$rc" -eq 1 ]
n500=$(grep -l '"kind":"5xx","endpoint":"POST /cart/items","status":500,' \
    "$T"/f/*/finding.json 2>/dev/null | wc -l)
check "exactly one 5xx 500 finding on POST /cart/items (got $n500)" \
    [ "$n500" -eq 1 ]
d500=$(dirname "$(grep -l '"status":500,' "$T"/f/*/finding.json | head -1)")
check "its request.http holds a negative qty" \
    grep -q '"qty": *-' "$d500/request.http"
nreset=$(grep -l '"kind":"reset","endpoint":"POST /cart/items"' \
    "$T"/f/*/finding.json 2>/dev/null | wc -l)
check "exactly one reset finding (got $nreset)" [ "$nreset" -eq 1 ]
check "the reset's request.http holds qty 0" \
    grep -q '"qty": *0[,}]' "$T"/f/*-reset-*/request.http
neof=$(grep -l '"kind":"eof","endpoint":"POST /cart/items"' \
    "$T"/f/*/finding.json 2>/dev/null | wc -l)
check "exactly one eof finding (got $neof)" [ "$neof" -eq 1 ]
check "its repro.sh uses openssl s_client with the CA" \
    grep -q "openssl s_client .*-CAfile '$T/ca/ca.pem'" "$d500/repro.sh"
check "no handshake warning while verified" \
    bash -c '! grep -q "TLS handshake failed" "$1"' _ "$T/fuzz.log"

# 2. --replay over TLS.
"$DECOY" fuzz --replay "$T/f" --target "$URL" --ca "$T/ca/ca.pem" \
    >"$T/replay.out" 2>"$T/replay.log"
rc=$?
check "--replay --ca: still failing, exit 1 (got $rc)" [ "$rc" -eq 1 ]
check "--replay: the 500 still fails" \
    grep -q "$(basename "$d500") *STILL FAILS (5xx 500)" "$T/replay.out"

# 3. Without --ca the service cannot be verified: exit 2, the reason.
"$DECOY" fuzz "$T/corpus" --target "$URL" --requests 300 \
    --findings "$T/nov" >"$T/nov.out" 2>"$T/nov.err"
rc=$?
check "no --ca: exit 2 (got $rc)" [ "$rc" -eq 2 ]
check "no --ca: the message names certificate verification" \
    grep -q "TLS handshake failed: certificate verification failed" \
    "$T/nov.err"
check "no --ca: said once" [ "$(wc -l <"$T/nov.err")" -eq 1 ]
check "no --ca: no findings" \
    bash -c '! ls -d "$1"/0* >/dev/null 2>&1' _ "$T/nov"
"$DECOY" fuzz --replay "$T/f" --target "$URL" >/dev/null 2>"$T/nov-replay.err"
rc=$?
check "--replay without --ca: exit 2 (got $rc)" [ "$rc" -eq 2 ]
check "--replay without --ca: names certificate verification" \
    grep -q "certificate verification failed" "$T/nov-replay.err"

# 4. --insecure: no verification, the campaign runs.
"$DECOY" fuzz "$T/corpus" --target "$URL" --insecure --requests 1000 \
    --seed 1 --findings "$T/ins" >"$T/ins.out" 2>"$T/ins.log"
rc=$?
check "--insecure: the campaign runs, exit 1 (got $rc)" [ "$rc" -eq 1 ]
check "--insecure: the 500 found" \
    grep -q '"status":500,' "$T"/ins/*/finding.json

# 5. A plain-http server behind https:// is a protocol failure: exit 2.
check "responder alive" kill -0 "$PID_r"
start_respond p "$T/snap.jsonl" --allow-empty
"$DECOY" fuzz "$T/corpus" --target "https://127.0.0.1:$PORT_p" --insecure \
    --requests 100 --findings "$T/plain" >/dev/null 2>"$T/plain.err"
rc=$?
check "https:// to a plain http server: exit 2 (got $rc)" [ "$rc" -eq 2 ]
check "https:// to a plain http server: TLS handshake failed" \
    grep -q "TLS handshake failed" "$T/plain.err"

done_testing
