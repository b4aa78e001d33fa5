#!/bin/bash
# t-analyze.sh -- `decoy analyze`: the transforms file it writes beside a
# snapshot (never touching the snapshot), -o, --explain, --key, bad input
# (file:line:col, exit 2), --match-rate; on the shop example (ids from
# counters: nothing volatile), on a snapshot the test writes with known
# volatile values, and on the bank example (issue 12).
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
$PY -c 'import yaml' 2>/dev/null || skip "/usr/bin/python3 has no yaml module"

# has FILE DIR "METHOD ROUTE" WHERE ACTION [FIELD=VALUE...]: the file has
# that value entry (FIELD: kind, format, key, from, seen, or why~TEXT
# for a substring of why).
has() {
	$PY - "$@" <<'EOF2'
import sys, yaml
f, d, ep, where, action = sys.argv[1:6]
want = dict(a.split("=", 1) for a in sys.argv[6:])
doc = yaml.safe_load(open(f))
for v in doc.get("values") or []:
    if (v["dir"], v["endpoint"], v["where"], v["action"]) != (d, ep, where, action):
        continue
    ok = True
    for k, w in want.items():
        if k.endswith("~"):
            ok = ok and w in str(v.get(k[:-1], ""))
        else:
            ok = ok and str(v.get(k)) == w
    if ok:
        sys.exit(0)
    print("# entry differs:", v, file=sys.stderr)
sys.exit(1)
EOF2
}

# hasnt FILE DIR "METHOD ROUTE" WHERE: no value entry there.
hasnt() {
	$PY - "$@" <<'EOF2'
import sys, yaml
f, d, ep, where = sys.argv[1:5]
doc = yaml.safe_load(open(f))
sys.exit(any((v["dir"], v["endpoint"], v["where"]) == (d, ep, where)
             for v in doc.get("values") or []))
EOF2
}

# corr FILE "FROM-EP" FROM-WHERE "TO-EP" TO-WHERE: a correlation carries
# the value from there to there.
corr() {
	$PY - "$@" <<'EOF2'
import sys, yaml
f, fe, fw, te, tw = sys.argv[1:6]
doc = yaml.safe_load(open(f))
for c in doc.get("correlations") or []:
    if (c["from"]["endpoint"], c["from"]["where"]) != (fe, fw):
        continue
    if any((u["endpoint"], u["where"]) == (te, tw) for u in c["to"]):
        sys.exit(0)
sys.exit(1)
EOF2
}

count() {
	$PY -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); print(len(d.get(sys.argv[2]) or []))' "$1" "$2"
}

# --- the shop: counters, no volatile values -----------------------------
cp "$top_srcdir/examples/snapshots/shop.jsonl" "$T/shop.jsonl"
sum=$(md5sum <"$T/shop.jsonl")
"$DECOY" analyze "$T/shop.jsonl" >"$T/shop.out" 2>"$T/shop.err"
check "shop: exit 0" [ $? -eq 0 ]
check "shop: written beside the snapshot as .transforms.yaml" \
    [ -s "$T/shop.transforms.yaml" ]
check "shop: the snapshot is untouched" \
    [ "$(md5sum <"$T/shop.jsonl")" = "$sum" ]
check "shop: a summary on stderr, nothing on stdout" \
    grep -q "97 transactions: 1 value, 0 correlations" "$T/shop.err"
check "shop: stdout empty without --explain" [ ! -s "$T/shop.out" ]
check "shop: no correlation (order and sku ids are counters)" \
    [ "$(count "$T/shop.transforms.yaml" correlations)" = 0 ]
check "shop: the one entry is the stock sku, a key-field hint kept as is" \
    has "$T/shop.transforms.yaml" out "GET /v1/stock/{id}" "req.path 2" \
    keep kind=none "why~=set action: key"

# --- a snapshot with known volatile values ------------------------------
$PY - "$T/vol.jsonl" "$T/tokens.secret" "$T/admin.secret" <<'EOF2'
import base64, hashlib, hmac, json, sys, uuid, random, datetime
out, tsec, asec = sys.argv[1:4]
open(tsec, "w").write("t-secret-0123456789\n")
open(asec, "w").write("admin-secret-9876543210\n")
rnd = random.Random(12)
t0 = 1796667044.0
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
def jwt(sub, iat, secret):
    h = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    p = b64(json.dumps({"sub": sub, "iat": iat, "exp": iat + 900}).encode())
    s = hmac.new(secret.encode(), f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64(s)}"
def rfc(t, ms=False):
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + (".%03dZ" % (d.microsecond // 1000) if ms else "Z")
def ulid(t):
    a = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"; n = int(t * 1000); s = ""
    for _ in range(10): s = a[n % 32] + s; n //= 32
    return s + "".join(rnd.choice(a) for _ in range(16))
lines = []
def txn(d, sess, method, target, reqh, reqb, status, resh, resb, t):
    x = {"v": 1, "dir": d, "client": "127.0.0.1:%d" % rnd.randint(30000, 60000),
         "req": {"method": method, "target": target, "headers": reqh},
         "res": {"status": status, "headers": resh},
         "timing": {"start_us": int(t * 1e6), "ttfb_us": 900, "total_us": 1000}}
    if reqb is not None: x["req"]["body"] = json.dumps(reqb)
    if resb is not None: x["res"]["body"] = json.dumps(resb)
    if sess: x["tags"] = {"session": sess}
    lines.append(json.dumps(x))
J = [["Content-Type", "application/json"]]
t = t0
for i, user in enumerate(["alice", "bob", "carol"]):
    s = "s-%d" % i
    tok = jwt(user, int(t), "t-secret-0123456789")
    txn("in", s, "POST", "/login", J, {"user": user}, 200, J,
        {"token": tok, "expires_at": rfc(t + 900)}, t); t += 0.4
    auth = ["Authorization", "Bearer " + tok]
    oid = "ord_" + "".join(rnd.choice("0123456789abcdef") for _ in range(24))
    key = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
    txn("out", None, "POST", "/v1/charges", J,
        {"amount": 1200 + i, "idempotency_key": key,
         "nonce": "%032x" % rnd.getrandbits(128), "requested_at": int(t * 1000)},
        201, J, {"charge": ulid(t), "idempotency_key": key, "created_at": rfc(t)}, t)
    txn("in", s, "POST", "/orders", J + [auth,
        ["X-Request-Id", str(uuid.UUID(int=rnd.getrandbits(128), version=4))],
        ["X-Client-Time", rfc(t, True)]], {"qty": 1 + i, "ts": int(t)}, 201, J,
        {"id": oid, "created_at": rfc(t)}, t); t += 0.4
    txn("in", s, "GET", "/orders/" + oid, [auth, ["X-Client-Time", rfc(t, True)]],
        None, 200, J, {"id": oid, "qty": 1 + i}, t); t += 0.4
# an admin token that no login in the recording issued
adm = jwt("root", int(t), "admin-secret-9876543210")
txn("in", "s-9", "GET", "/admin/audit", [["Authorization", "Bearer " + adm]],
    None, 200, J, {"transfers": 3}, t)
open(out, "w").write("\n".join(lines) + "\n")
EOF2
check "test snapshot written" [ -s "$T/vol.jsonl" ]

V=$T/vol.yaml
"$DECOY" analyze "$T/vol.jsonl" -o "$V" --key admin="$T/admin.secret" \
    --key tokens="$T/tokens.secret" --explain >"$T/vol.explain" \
    2>"$T/vol.err"
check "vol: exit 0" [ $? -eq 0 ]
check "vol: -o is where it went (not beside the snapshot)" \
    [ -s "$V" -a ! -e "$T/vol.transforms.yaml" ]
check "vol: client clock shifted" \
    has "$V" in "POST /orders" "req.header X-Client-Time" shift \
    kind=timestamp format=rfc3339 seen=3 "why~=RFC 3339 timestamp in 3 of 3 requests"
check "vol: request id fresh per send" \
    has "$V" in "POST /orders" "req.header X-Request-Id" fresh kind=uuid \
    format=uuid-v4
check "vol: epoch seconds named ts shifted" \
    has "$V" in "POST /orders" "req.body \$.ts" shift format=epoch-s
check "vol: the login token is ignored when comparing answers" \
    has "$V" in "POST /login" "res.body \$.token" any kind=jwt format=HS256
check "vol: the login token is carried to POST /orders" \
    corr "$V" "POST /login" "res.body \$.token" "POST /orders" \
    "req.header Authorization"
check "vol: ... and to GET /orders/{id}" \
    corr "$V" "POST /login" "res.body \$.token" "GET /orders/{id}" \
    "req.header Authorization"
check "vol: a carried token gets no re-sign entry" \
    hasnt "$V" in "POST /orders" "req.header Authorization"
check "vol: the order id is carried to the path" \
    corr "$V" "POST /orders" "res.body \$.id" "GET /orders/{id}" "req.path 1"
check "vol: the admin token is re-signed with the key that verifies it" \
    has "$V" in "GET /admin/audit" "req.header Authorization" resign \
    key=admin "why~=re-signed with key admin"
check "vol: the keys list names the secret file" \
    grep -q 'secret_file: ".*admin.secret"' "$V"
check "vol: an unused key is said to be unused" \
    grep -q "key tokens verified no recorded token" "$T/vol.err"
check "vol: the dependency's idempotency key is matched as any" \
    has "$V" out "POST /v1/charges" "req.body \$.idempotency_key" any \
    kind=uuid
check "vol: its nonce too" \
    has "$V" out "POST /v1/charges" "req.body \$.nonce" any kind=hex
check "vol: its epoch-ms timestamp too" \
    has "$V" out "POST /v1/charges" "req.body \$.requested_at" any \
    format=epoch-ms
check "vol: the answer echoes the idempotency key" \
    has "$V" out "POST /v1/charges" "res.body \$.idempotency_key" echo \
    "from=req.body \$.idempotency_key"
check "vol: the generated charge id is kept" \
    has "$V" out "POST /v1/charges" "res.body \$.charge" keep kind=ulid
check "vol: the answer's date is shifted" \
    has "$V" out "POST /v1/charges" "res.body \$.created_at" shift
check "vol: no entry for the constant amount or qty" \
    hasnt "$V" in "POST /orders" "req.body \$.qty"
check "vol: --explain prints the table header" \
    grep -Eq "^KIND +DIR +ENDPOINT +LOCATION +COUNT +ACTION +WHY$" \
    "$T/vol.explain"
check "vol: --explain has the clock row" \
    grep -Eq "^timestamp +in +POST /orders +req.header X-Client-Time +3 +shift +RFC 3339" \
    "$T/vol.explain"
check "vol: --explain has the correlation rows" \
    grep -Eq "^jwt +in +POST /login +res.body \\\$.token -> POST /orders req.header Authorization +6 +correlate token" \
    "$T/vol.explain"
check "vol: no JWT signature in the file" \
    bash -c "! grep -q '$(tail -1 "$T/vol.jsonl" | grep -o 'Bearer [^"]*' | cut -d. -f3)' '$V'"

# without the keys: the token cannot be re-signed, and the entry says so
"$DECOY" analyze "$T/vol.jsonl" -o "$T/nokey.yaml" 2>/dev/null
check "no key: key null with a why" \
    has "$T/nokey.yaml" in "GET /admin/audit" "req.header Authorization" \
    resign key=None "why~=cannot be re-signed until a key is given"

# --- bad input ------------------------------------------------------------
printf '%s\n' "$(head -1 "$T/vol.jsonl")" '{"v":1,"dir":"in","req":[1]}' \
    >"$T/bad.jsonl"
"$DECOY" analyze "$T/bad.jsonl" -o "$T/bad.yaml" 2>"$T/bad.err"
check "bad snapshot: exit 2" [ $? -eq 2 ]
check "bad snapshot: FILE:LINE:COL" grep -q "bad.jsonl:2:[0-9]*: " "$T/bad.err"
check "bad snapshot: nothing written" [ ! -e "$T/bad.yaml" ]
"$DECOY" analyze "$T/missing.jsonl" 2>"$T/missing.err"
check "missing snapshot: exit 2" [ $? -eq 2 ]
"$DECOY" analyze "$T/vol.jsonl" -o "$T/vol.jsonl" 2>"$T/same.err"
check "-o the snapshot itself: exit 2" [ $? -eq 2 ]
check "-o the snapshot itself: the snapshot is intact" \
    $PY -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' \
    "$T/vol.jsonl"
"$DECOY" analyze "$T/vol.jsonl" -o "$T/k.yaml" --key x="$T/nope" \
    2>"$T/key.err"
check "unreadable key: exit 2" [ $? -eq 2 ]
check "unreadable key: the key and the file are named" \
    grep -q "key x: .*nope" "$T/key.err"
"$DECOY" analyze "$T/vol.jsonl" --key novalue 2>"$T/key2.err"
check "--key without =FILE: exit 2" [ $? -eq 2 ]
check "secrets never printed" \
    bash -c "! grep -rq 'secret-' '$T'/*.err"

# --- the bank example ------------------------------------------------------
BANKSNAP=$top_srcdir/examples/snapshots/bank.jsonl
if [ -s "$BANKSNAP" ]; then
	B=$T/bank.yaml
	"$DECOY" analyze "$BANKSNAP" -o "$B" \
	    --key tokens="$top_srcdir/examples/bank/tokens.secret" \
	    --key admin="$top_srcdir/examples/bank/admin.secret" \
	    2>"$T/bank.err"
	check "bank: exit 0" [ $? -eq 0 ]
	check "bank: login JWT carried to Authorization" \
	    corr "$B" "POST /login" "res.body \$.token" "POST /transfers" \
	    "req.header Authorization"
	check "bank: X-Client-Time shifted" \
	    has "$B" in "POST /transfers" "req.header X-Client-Time" shift
	check "bank: transfer ids carried from POST /transfers to GET /transfers/{id}" \
	    corr "$B" "POST /transfers" "res.body \$.id" "GET /transfers/{id}" \
	    "req.path 1"
	check "bank: the admin token re-signed with the admin key" \
	    has "$B" in "GET /admin/audit" "req.header Authorization" resign \
	    key=admin
	for f in idempotency_key nonce requested_at; do
		check "bank: ledger request $f matched as any" \
		    has "$B" out "POST /v1/entries" "req.body \$.$f" any
	done
	check "bank: ledger Idempotency-Key header matched as any" \
	    has "$B" out "POST /v1/entries" "req.header Idempotency-Key" any
	check "bank: ledger answer echoes the idempotency key" \
	    has "$B" out "POST /v1/entries" "res.body \$.idempotency_key" echo
	check "bank: ledger entry id kept" \
	    has "$B" out "POST /v1/entries" "res.body \$.entry" keep kind=ulid
	check "bank: ledger created_at shifted" \
	    has "$B" out "POST /v1/entries" "res.body \$.created_at" shift
	check "bank: account as_of shifted" \
	    has "$B" out "GET /v1/accounts/acct-alice" "res.body \$.as_of" shift
	check "bank: token service access_token re-signed with the tokens key" \
	    has "$B" out "POST /v1/tokens" "res.body \$.access_token" resign \
	    key=tokens format=HS256
	check "bank: token service issued_at shifted" \
	    has "$B" out "POST /v1/tokens" "res.body \$.issued_at" shift
	check "bank: token service requested_at matched as any" \
	    has "$B" out "POST /v1/tokens" "req.body \$.requested_at" any

	"$DECOY" analyze "$BANKSNAP" -o "$T/bank2.yaml" --match-rate \
	    --key tokens="$top_srcdir/examples/bank/tokens.secret" \
	    >"$T/rate.out" 2>"$T/rate.err"
	check "match-rate: exit 0" [ $? -eq 0 ]
	check "match-rate: a header row" \
	    grep -Eq "^ENDPOINT +REQUESTS +MISS-WITHOUT +MISS-WITH +MISSES$" \
	    "$T/rate.out"
	check "match-rate: the ledger entries miss without (timestamp, nonce)" \
	    grep -Eq "^POST /v1/entries +10 +10 +0 +without: timestamp 10, nonce 10 " \
	    "$T/rate.out"
	check "match-rate: ... fixed by the any entries of the body" \
	    grep -Eq "^POST /v1/entries .*\(fixed by any on req\.body \\\$\.idempotency_key, any on req\.body \\\$\.nonce, any on req\.body \\\$\.requested_at\)$" \
	    "$T/rate.out"
	check "match-rate: account reads never miss" \
	    grep -Eq "^GET /v1/accounts/acct-alice +3 +0 +0 +-$" \
	    "$T/rate.out"
	check "match-rate: summary, no miss with the transforms" \
	    grep -Eq "^summary: 21 outbound requests, 14 would miss without the transforms, 0 with them$" \
	    "$T/rate.out"
fi

done_testing
