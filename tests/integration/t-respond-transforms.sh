#!/bin/bash
# `decoy respond --transforms`: dependency calls recorded a day ago match
# live calls that carry fresh timestamps, nonces and ids (typed matching),
# another resource still gets a 404 that names the member that differed;
# replies come back live (a JWT re-signed with exp in the future, a date
# shifted near now, the idempotency key echoed); key fields generalise;
# /stats and /metrics count matches per endpoint; a bad transforms file is
# a file:line:col error (exit 2), and decoyd reloads the file with the
# snapshot, keeping the old configuration when the new one is bad.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || skip "no /usr/bin/python3"

# The recording: yesterday, 10:00 UTC.  Tokens are HS256 with a secret.
printf 'transforms-test-secret\n' >"$T/token.secret"
"$PY" - "$T" <<'EOF2' || fatal "cannot write the snapshot"
import base64, hashlib, hmac, json, sys, time
d = sys.argv[1]
day = int(time.time()) // 86400 * 86400 - 86400
start = day + 10 * 3600
def iso(s):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s))
def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def jwt(payload):
    h = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    p = b64(json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(b"transforms-test-secret", (h + "." + p).encode(), hashlib.sha256).digest()
    return h + "." + p + "." + b64(sig)
lines = []
def txn(i, t, method, target, host, reqbody, status, resbody, ct="application/json"):
    req = {"method": method, "target": target, "host": host}
    if reqbody is not None:
        req["headers"] = [["Content-Type", ct]]
        req["body"] = reqbody
    lines.append(json.dumps({"v": 1, "id": i, "dir": "out", "req": req,
        "res": {"status": status, "headers": [["Content-Type", "application/json"]],
                "body": resbody},
        "timing": {"start_us": t * 1000000, "ttfb_us": 900, "total_us": 1000}}))
tok = jwt({"sub": "orders", "iat": start, "exp": start + 600})
txn("tok-1", start, "POST", "/oauth/token", "auth", json.dumps({"client_id": "orders", "ts": iso(start)}),
    200, json.dumps({"access_token": tok, "expires_in": 600}))
n = 0
for acct, key, nonce, eid in (("A-1", "5b0e8a52-2f4c-4c1e-9a7d-0d1c2b3a4f50", "9f86d081884c7d659a2feaa0c55ad015", "e-1"),
                              ("A-1", "6c1f9b63-3a5d-4d2f-8b8e-1e2d3c4b5a61", "a3f1c2b4d5e6f708192a3b4c5d6e7f80", "e-2"),
                              ("B-7", "7d20ac74-4b6e-4e30-9c9f-2f3e4d5c6b72", "b4e2d3c5e6f7081923a4b5c6d7e8f901", "e-3")):
    t = start + 5 + n
    n += 1
    txn("led-" + eid, t, "POST", "/v1/entries", "ledger",
        json.dumps({"account": acct, "amount": 100, "ts": iso(t), "nonce": nonce, "idempotency_key": key}),
        201, json.dumps({"id": eid, "account": acct, "idempotency_key": key, "created_at": iso(t)}))
for mb, cnt in (("ann@example.com", 3), ("bob@example.com", 5), ("cy@example.com", 8)):
    txn("mb-" + mb[:3], start + 20, "GET", "/v1/mailboxes/" + mb, "mail", None, 200,
        json.dumps({"address": mb, "unread": cnt}))
open(d + "/snap.jsonl", "w").write("\n".join(lines) + "\n")
open(d + "/start", "w").write(str(start))
EOF2

cat >"$T/tf.yaml" <<'EOF2'
version: 1
keys:
  - name: tokens
    alg: HS256
    secret_file: token.secret
values:
  - kind: timestamp
    dir: out
    endpoint: "POST /oauth/token"
    where: "req.body $.ts"
    action: any
  - kind: jwt
    dir: out
    endpoint: "POST /oauth/token"
    where: "res.body $.access_token"
    action: resign
    key: tokens
  - kind: timestamp
    dir: out
    endpoint: "POST /v1/entries"
    where: "req.body $.ts"
    action: any
  - kind: hex
    dir: out
    endpoint: "POST /v1/entries"
    where: "req.body $.nonce"
    action: any
  - kind: uuid
    dir: out
    endpoint: "POST /v1/entries"
    where: "req.body $.idempotency_key"
    action: any
  - kind: uuid
    dir: out
    endpoint: "POST /v1/entries"
    where: "res.body $.idempotency_key"
    action: echo
    from: "req.body $.idempotency_key"
  - kind: timestamp
    dir: out
    endpoint: "POST /v1/entries"
    where: "res.body $.created_at"
    action: shift
  - kind: b64
    dir: out
    endpoint: "GET /v1/mailboxes/{addr}"
    where: "req.path 2"
    action: key
EOF2

start_respond r "$T/snap.jsonl" --transforms "$T/tf.yaml" \
    --admin 127.0.0.1:0 --admin-port-file "$T/admin.port"
P=$PORT_r
A=$(wait_port "$T/admin.port" "$PID_r")

# post PATH JSON OUT: POST a JSON body, the reply body to OUT; prints the
# status code.
post() {
	curl -s -o "$3" -w '%{http_code}' -H 'Content-Type: application/json' \
	    --data-binary "$2" "http://127.0.0.1:$P$1"
}

# entry ACCOUNT: a ledger call made now, with fresh values.
entry() {
	"$PY" -c 'import json, sys, time, uuid, secrets
print(json.dumps({"account": sys.argv[1], "amount": 100,
    "ts": time.strftime("%Y-%m-%dT%H:%M:%S.123Z", time.gmtime()),
    "nonce": secrets.token_hex(16), "idempotency_key": sys.argv[2]},
    separators=(",", ":")))' "$1" "$2"
}

KEY1=0a1b2c3d-1111-4222-8333-444455556666
KEY2=0a1b2c3d-7777-4888-9999-aaaabbbbcccc
KEY3=0a1b2c3d-dddd-4eee-8fff-000011112222
code=$(post /v1/entries "$(entry A-1 "$KEY1")" "$T/e1")
check "typed: a fresh timestamp, nonce and key match (201)" [ "$code" = 201 ]
check "typed: the first recorded answer" grep -q '"id": "e-1"' "$T/e1"
post /v1/entries "$(entry A-1 "$KEY2")" "$T/e2" >/dev/null
check "repeats cycle in recorded order" grep -q '"id": "e-2"' "$T/e2"
post /v1/entries "$(entry A-1 "$KEY3")" "$T/e3" >/dev/null
check "and cycle" grep -q '"id": "e-1"' "$T/e3"
post /v1/entries "$(entry B-7 "$KEY1")" "$T/e4" >/dev/null
check "another account gets its own answer" grep -q '"id": "e-3"' "$T/e4"

# Zero false matches: a resource that was not recorded.
code=$(post /v1/entries "$(entry C-9 "$KEY1")" "$T/miss")
check "another resource: 404" [ "$code" = 404 ]
check "the 404 names the member that differed" \
    grep -q '"fields":\["body $.account"\]' "$T/miss"
# A value of another kind where a nonce was.
code=$(post /v1/entries '{"account":"A-1","amount":100,"ts":"2026-12-07T10:00:00Z","nonce":"not-a-nonce","idempotency_key":"'"$KEY1"'"}' "$T/miss2")
check "a nonce that is no nonce does not match" [ "$code" = 404 ]
check "and the 404 names it" grep -q '"body $.nonce"' "$T/miss2"

# The echo and the shift.
check "the idempotency key is echoed" grep -q "\"idempotency_key\": \"$KEY1\"" "$T/e1"
check "created_at is shifted near now" "$PY" -c '
import calendar, json, sys, time
v = json.load(open(sys.argv[1]))["created_at"]
t = calendar.timegm(time.strptime(v, "%Y-%m-%dT%H:%M:%SZ"))
sys.exit(0 if abs(t - time.time()) < 120 else 1)' "$T/e1"
hdr=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' \
    --data-binary "$(entry A-1 "$KEY1")" "http://127.0.0.1:$P/v1/entries")
len=$(printf '%s' "$hdr" | tr -d '\r' | sed -n 's/^Content-Length: //p')
body=$(curl -s -H 'Content-Type: application/json' \
    --data-binary "$(entry A-1 "$KEY1")" "http://127.0.0.1:$P/v1/entries")
check "Content-Length is the live body's" [ "$len" = "${#body}" ]

# The token: re-signed, exp in the future, verifiable with the secret.
code=$(post /oauth/token "{\"client_id\":\"orders\",\"ts\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}" "$T/tok")
check "token: a fresh timestamp matches" [ "$code" = 200 ]
check "token: re-signed, exp in the future, iat near now, valid HMAC" "$PY" -c '
import base64, hashlib, hmac, json, sys, time
tok = json.load(open(sys.argv[1]))["access_token"]
h, p, s = tok.split(".")
pad = lambda x: x + "=" * (-len(x) % 4)
claims = json.loads(base64.urlsafe_b64decode(pad(p)))
mac = base64.urlsafe_b64encode(hmac.new(b"transforms-test-secret",
    (h + "." + p).encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
now = time.time()
ok = (mac == s and claims["exp"] > now and abs(claims["iat"] - now) < 120
      and claims["exp"] - claims["iat"] == 600 and claims["sub"] == "orders")
sys.exit(0 if ok else 1)' "$T/tok"
check "token: openssl agrees on the signature" "$PY" -c '
import base64, subprocess, json, sys
tok = json.load(open(sys.argv[1]))["access_token"]
h, p, s = tok.split(".")
out = subprocess.run(["openssl", "dgst", "-sha256", "-hmac",
    "transforms-test-secret", "-binary"], input=(h + "." + p).encode(),
    capture_output=True).stdout
sys.exit(0 if base64.urlsafe_b64encode(out).rstrip(b"=").decode() == s else 1)' "$T/tok"

# Generalisation: any address answers, the same one always the same way.
curl -s "http://127.0.0.1:$P/v1/mailboxes/bob@example.com" >"$T/m1"
check "key: a recorded value gets its own answer" \
    grep -q '"unread": 5' "$T/m1"
curl -s "http://127.0.0.1:$P/v1/mailboxes/zed@test.example" >"$T/m2"
curl -s "http://127.0.0.1:$P/v1/mailboxes/zed@test.example" >"$T/m3"
check "key: another value is answered" grep -q '"unread"' "$T/m2"
check "key: the same value, the same answer" same "$T/m2" "$T/m3"
check "key: the live address is echoed" \
    grep -q '"address": "zed@test.example"' "$T/m2"

# Match rate per endpoint (routes as transform_route() infers them: a
# segment that holds a digit is a parameter, an API version is not).
curl -s "http://127.0.0.1:$A/stats" >"$T/stats"
check "/stats counts matches per endpoint" grep -q \
    '{"method":"POST","route":"/v1/entries","matched":6,"closest":0,"unmatched":2}' "$T/stats"
check "/stats: the token endpoint" grep -q \
    '{"method":"POST","route":"/oauth/token","matched":1,"closest":0,"unmatched":0}' "$T/stats"
curl -s "http://127.0.0.1:$A/metrics" >"$T/metrics"
check "/metrics: matched per endpoint" grep -q \
    '^decoy_endpoint_matched_total{method="POST",route="/oauth/token"} 1$' "$T/metrics"
check "/metrics: unmatched per endpoint" grep -q \
    '^decoy_endpoint_unmatched_total{method="POST",route="/v1/entries"} 2$' "$T/metrics"
stop "$PID_r"
check "the shutdown summary names the endpoint" \
    grep -q 'POST /v1/entries: 6 matched, 0 closest, 2 unmatched' "$T/r.log"

# Hostile traffic cannot grow the endpoint table: one worker counts 256
# endpoints, the rest in one "*" row.
start_respond h "$T/snap.jsonl" --workers 1 \
    --admin 127.0.0.1:0 --admin-port-file "$T/hadmin.port"
HA=$(wait_port "$T/hadmin.port" "$PID_h")
"$PY" -c 'import itertools, string, sys
for i, c in zip(range(300), itertools.product(string.ascii_lowercase, repeat=2)):
    print("url = \"http://127.0.0.1:%s/junk/%s\"\noutput = \"/dev/null\"" % (sys.argv[1], "".join(c)))' \
    "$PORT_h" >"$T/many.curl"
curl -s -K "$T/many.curl"
curl -s "http://127.0.0.1:$HA/stats" >"$T/hstats"
check "at most 256 endpoints counted, the rest as *" "$PY" -c '
import json, sys
ep = json.load(open(sys.argv[1]))["endpoints"]
other = [e for e in ep if e["method"] == "*"]
ok = (len(ep) == 257 and len(other) == 1 and other[0]["unmatched"] == 44
      and sum(e["unmatched"] for e in ep) == 300)
sys.exit(0 if ok else 1)' "$T/hstats"
stop "$PID_h"

# A token to re-sign without a key: said once at start, sent as recorded.
sed -e 's/^    key: tokens$/    key: null/' "$T/tf.yaml" >"$T/nokeytf.yaml"
start_respond k "$T/snap.jsonl" --transforms "$T/nokeytf.yaml"
curl -s -H 'Content-Type: application/json' \
    --data-binary "{\"client_id\":\"orders\",\"ts\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}" \
    "http://127.0.0.1:$PORT_k/oauth/token" >"$T/tok2"
check "no key: the start says so once" \
    [ "$(grep -c 'JWT to re-sign without a key: sent as recorded' "$T/k.log")" = 1 ]
check "no key: the token is sent as recorded" "$PY" -c '
import json, sys
rec = [json.loads(l) for l in open(sys.argv[1])][0]
want = json.loads(rec["res"]["body"])["access_token"]
sys.exit(0 if json.load(open(sys.argv[2]))["access_token"] == want else 1)' \
    "$T/snap.jsonl" "$T/tok2"
stop "$PID_k"

# Without the transforms, the same live call misses.
start_respond n "$T/snap.jsonl"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "$(entry A-1 "$KEY1")" "http://127.0.0.1:$PORT_n/v1/entries")
check "without transforms the live call misses" [ "$code" = 404 ]
stop "$PID_n"

# A bad transforms file: file:line:col, exit 2.
cp "$T/tf.yaml" "$T/bad.yaml"
sed -i 's/action: any/action: anything/' "$T/bad.yaml"
"$DECOY" respond "$T/snap.jsonl" --listen 127.0.0.1:0 \
    --transforms "$T/bad.yaml" >"$T/bad.out" 2>&1
st=$?
check "a bad transforms file exits 2" [ "$st" = 2 ]
check "and names file:line:col" grep -q "bad.yaml:[0-9]*:[0-9]*: action" "$T/bad.out"
printf 'version: 1\nkeys:\n  - name: k\n    alg: HS256\n    secret_file: missing.secret\nvalues: []\n' >"$T/nokey.yaml"
"$DECOY" respond "$T/snap.jsonl" --listen 127.0.0.1:0 \
    --transforms "$T/nokey.yaml" >"$T/nokey.out" 2>&1
st=$?
check "an unreadable secret exits 2" [ "$st" = 2 ]
check "and names the key's line" grep -q "nokey.yaml:3:[0-9]*:.*missing.secret" "$T/nokey.out"

# decoyd: the transforms key, re-read with the snapshot on SIGHUP.
cp "$T/tf.yaml" "$T/live.yaml"
cat >"$T/decoyd.yaml" <<EOF2
snapshot: $T/snap.jsonl
transforms: $T/live.yaml
listen: 127.0.0.1:0
port_file: $T/d.port
EOF2
"$DECOYD" -n -c "$T/decoyd.yaml" >"$T/dcheck.log" 2>&1
check "decoyd -n accepts the transforms key" [ $? = 0 ]
start_bg d "$T/d.port" "$DECOYD" -c "$T/decoyd.yaml"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "$(entry A-1 "$KEY1")" "http://127.0.0.1:$PORT_d/v1/entries")
check "decoyd: typed matching from the configuration" [ "$code" = 201 ]
# A bad file on reload: the old configuration stays.
cp "$T/bad.yaml" "$T/live.yaml"
kill -HUP "$PID_d"
wait_for "the failed reload" grep -q "reload failed" "$T/d.log"
check "decoyd: the reload error names file:line:col" \
    grep -q "live.yaml:[0-9]*:[0-9]*: action" "$T/d.log"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "$(entry A-1 "$KEY1")" "http://127.0.0.1:$PORT_d/v1/entries")
check "decoyd: the old transforms still apply" [ "$code" = 201 ]
# A file without the ledger's values: after reload the call misses.
sed -n '1,/^values:/p' "$T/tf.yaml" >"$T/live.yaml"
printf '  - kind: timestamp\n    dir: out\n    endpoint: "POST /oauth/token"\n    where: "req.body $.ts"\n    action: any\n' >>"$T/live.yaml"
kill -HUP "$PID_d"
wait_for "the reload" grep -q "reloaded" "$T/d.log"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "$(entry A-1 "$KEY1")" "http://127.0.0.1:$PORT_d/v1/entries")
check "decoyd: the reloaded transforms apply" [ "$code" = 404 ]

done_testing
