#!/bin/bash
# t-record-secrets.sh -- what a recording leaks to other users of the host:
# snapshots are created mode 0600 (a wider existing one is kept, with a
# warning); the recorder's logs show a failed request's path without its
# query values; a CA key others can read is warned about; and a header
# name with control characters from a snapshot reaches the log escaped.
. "$(dirname "$0")/lib.sh"
umask 022

not() {
	! "$@"
}

# --- 1. snapshot mode ---------------------------------------------------------
start_bg up "$T/up.port" "$SHOP/inventory" --port 0 --port-file "$T/up.port"
start_bg rec "$T/rec.port" "$DECOY" record --upstream \
    "http://127.0.0.1:$PORT_up" --listen 127.0.0.1:0 \
    --port-file "$T/rec.port" -o "$T/new.jsonl"
curl -s -o /dev/null --max-time 10 -H 'Authorization: Bearer tok' \
    "http://127.0.0.1:$PORT_rec/v1/stock/sku-1001"
stop "$PID_rec"
check "a new snapshot is mode 0600 (umask 022)" \
    [ "$(stat -c %a "$T/new.jsonl")" = 600 ]
check "and holds the transaction" grep -q 'Bearer tok' "$T/new.jsonl"

cp "$T/new.jsonl" "$T/wide.jsonl"
chmod 644 "$T/wide.jsonl"
start_bg wide "$T/wide.port" "$DECOY" record --upstream \
    "http://127.0.0.1:$PORT_up" --listen 127.0.0.1:0 \
    --port-file "$T/wide.port" -o "$T/wide.jsonl" --append
stop "$PID_wide"
check "appending to a 0644 snapshot warns" grep -q \
    "wide.jsonl: mode 0644 lets every user read the recorded headers, cookies and bodies; chmod 600" \
    "$T/wide.log"
check "and leaves its mode alone" [ "$(stat -c %a "$T/wide.jsonl")" = 644 ]
check "a 0600 snapshot draws no warning" not grep -q "chmod 600" "$T/rec.log"

# --- 2. no query value in the recorder's log ----------------------------------
start_bg refused "$T/refused.port" "$DECOY" record --upstream \
    http://127.0.0.1:1 --listen 127.0.0.1:0 --port-file "$T/refused.port" \
    -o "$T/refused.jsonl"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST \
    --data-binary '{}' \
    "http://127.0.0.1:$PORT_refused/pay?api_key=sk_live_S3CR3T&amount=12&debug&x=")
stop "$PID_refused"
check "refused upstream answered 502" [ "$code" = 502 ]
check "the log names the path and the query's names, not its values" \
    grep -q -F 'POST /pay?api_key=<redacted>&amount=<redacted>&<redacted>&x=: upstream 127.0.0.1:1: connect: Connection refused' \
    "$T/refused.log"
check "no query value anywhere in the log" not grep -q -e S3CR3T -e '=12' \
    "$T/refused.log"
check "the snapshot still records the target as sent" grep -q \
    'api_key=sk_live_S3CR3T' "$T/refused.jsonl"

# --- 3. a CA key others can read ----------------------------------------------
"$DECOY" ca init --ca "$T/ca" 2>"$T/ca-init.log" || fatal "decoy ca init"
check "decoy ca init makes the key 0600" \
    [ "$(stat -c %a "$T/ca/ca.key")" = 600 ]
start_bg proxy "$T/proxy.port" "$DECOY" record --proxy 127.0.0.1:0 \
    --port-file "$T/proxy.port" -o "$T/proxy.jsonl" --ca "$T/ca"
stop "$PID_proxy"
check "a 0600 CA key draws no warning" not grep -q "private key" \
    "$T/proxy.log"
chmod 640 "$T/ca/ca.key"
start_bg proxy2 "$T/proxy2.port" "$DECOY" record --proxy 127.0.0.1:0 \
    --port-file "$T/proxy2.port" -o "$T/proxy2.jsonl" --ca "$T/ca"
stop "$PID_proxy2"
check "a group-readable CA key is warned about" grep -q \
    "ca.key: mode 0640 lets the file's group read or change the CA's private key, and so mint certificates its clients trust; chmod 600" \
    "$T/proxy2.log"
chmod 644 "$T/ca/ca.key"
start_respond tls "$T/new.jsonl" --tls --ca "$T/ca"
check "so is a world-readable one, by the responder too" grep -q \
    "ca.key: mode 0644 lets every user read" "$T/tls.log"

# --- 4. control characters from a snapshot reach the log escaped --------------
printf '%s\n' '{"v":1,"dir":"out","req":{"method":"GET","target":"/h"},"res":{"status":200,"headers":[["X-Ok","1"],["X\u001b[31mRed\r\n2026-01-01T00:00:00.000Z decoy respond error: forged","v"]],"body":"hi"}}' \
    >"$T/evil.jsonl"
start_respond evil "$T/evil.jsonl"
check "the valid part is served" [ "$(curl -s --max-time 10 \
    "http://127.0.0.1:$PORT_evil/h")" = hi ]
stop "$PID_evil"
check "the bad header name is logged escaped" grep -q -F \
    'response header "X\x1b[31mRed\r\n2026-01-01T00:00:00.000Z decoy respond error: forged" is not valid HTTP' \
    "$T/evil.log"
check "no raw control byte in the log" not grep -q -P '[\x00-\x08\x0b-\x1f\x7f]' \
    "$T/evil.log"
check "no forged line" not grep -q '^2026-01-01' "$T/evil.log"

done_testing
