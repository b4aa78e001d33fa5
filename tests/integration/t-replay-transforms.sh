#!/bin/bash
# t-replay-transforms.sh -- `decoy replay --transforms`: a recording made
# two hours ago does not survive a naive replay against a stateful
# service (logins pass, everything else is 401: the tokens are gone),
# and does with a transforms file: client timestamps shifted to now,
# nonces fresh per send, the live token, session cookie and order ids
# carried from each answer into the later requests of its session, the
# volatile answer members left out of the comparison.  Clones each carry
# their own live values; --now freezes the clock exactly; a bad file
# exits 2 with file:line:col; a JWT without a key is named once.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || skip "jq is not installed"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "$PY is not installed"
"$DECOY" replay --help 2>/dev/null | grep -q -- --transforms ||
    skip "decoy replay has no --transforms"

# --- the service: logins issue tokens and cookies, orders get random ids,
# a client clock more than 300 s off is refused, a nonce works once.
cat >"$T/server.py" <<'EOF'
import json, secrets, sys, threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, log_file = sys.argv[1], sys.argv[2]
lock = threading.Lock()
tokens, sids, nonces, orders = {}, set(), set(), {}
log = open(log_file, "a")

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def check(self, doc):
        """The user, or None after an error reply."""
        auth = self.headers.get("Authorization", "")
        user = tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        cookies = dict(c.strip().split("=", 1)
                       for c in self.headers.get("Cookie", "").split(";")
                       if "=" in c)
        if user is None or cookies.get("sid") not in sids:
            self.reply(401, {"error": "unauthorized"})
            return None
        ct = self.headers.get("X-Client-Time", "")
        try:
            t = datetime.fromisoformat(ct.replace("Z", "+00:00"))
            skew = abs((datetime.now(timezone.utc) - t).total_seconds())
        except ValueError:
            skew = 1e9
        if skew > 300:
            self.reply(400, {"error": "client clock"})
            return None
        nonce = doc.get("nonce")
        if nonce is not None:
            if nonce in nonces:
                self.reply(409, {"error": "nonce reused"})
                return None
            nonces.add(nonce)
        return user

    def handle_any(self, method):
        doc = self.body() if method == "POST" else {}
        path = self.path.split("?")[0]
        parts = path.strip("/").split("/")
        with lock:
            log.write("%s %s %s\n" % (method, path,
                                      self.headers.get("X-Client-Time", "-")))
            log.flush()
            if method == "POST" and path == "/login":
                tok, sid = secrets.token_hex(16), secrets.token_hex(8)
                tokens[tok] = doc.get("user", "?")
                sids.add(sid)
                return self.reply(200, {"token": tok},
                                  [("Set-Cookie", "sid=%s; Path=/" % sid)])
            user = self.check(doc)
            if user is None:
                return
            if method == "POST" and path == "/orders":
                oid = "ord_" + secrets.token_hex(8)
                orders[oid] = {"user": user, "sku": doc.get("sku"),
                               "state": "new"}
                now = datetime.now(timezone.utc).isoformat()
                return self.reply(201, {"id": oid, "created_at": now})
            if len(parts) >= 2 and parts[0] == "orders":
                o = orders.get(parts[1])
                if o is None or o["user"] != user:
                    return self.reply(404, {"error": "no such order"})
                if method == "GET" and len(parts) == 2:
                    return self.reply(200, {"id": parts[1],
                                            "sku": o["sku"],
                                            "state": o["state"]})
                if method == "POST" and parts[2:] == ["pay"]:
                    if doc.get("order") != parts[1]:
                        return self.reply(400, {"error": "order mismatch"})
                    o["state"] = "paid"
                    return self.reply(200, {"state": "paid"})
            self.reply(404, {"error": "not found"})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
EOF

# --- the recording: two sessions, each logs in, creates an order, reads
# it, pays it and reads it again, two hours ago.  Recorded X-Client-Time
# is each transaction's start, in milliseconds; the offsets of those
# times from the first transaction go to offsets.txt.
cat >"$T/mksnap.py" <<'EOF'
import json, secrets, sys, time
from datetime import datetime, timezone

snap, offsets = sys.argv[1], sys.argv[2]
t0 = int((time.time() - 7200) * 1000) * 1000      # µs, whole ms
lines, offs, n = [], [], 0

def iso(us):
    return datetime.fromtimestamp(us / 1e6, timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (us // 1000 % 1000)

def txn(sess, at_ms, method, target, headers, body, status, rbody,
        rheaders=()):
    global n
    n += 1
    us = t0 + at_ms * 1000
    req = {"method": method, "target": target,
           "headers": [["Host", "bank.internal"]] + headers}
    if body is not None:
        req["body"] = json.dumps(body)
        req["headers"].append(["Content-Type", "application/json"])
    res = {"status": status,
           "headers": [["Content-Type", "application/json"]] +
                      [list(h) for h in rheaders],
           "body": json.dumps(rbody)}
    lines.append({"v": 1, "id": "t-%03d" % n, "ts": iso(us), "dir": "in",
                  "client": "127.0.0.1:%d" % (40000 + n), "req": req,
                  "res": res, "timing": {"start_us": us, "ttfb_us": 900,
                                         "total_us": 1000},
                  "tags": {"session": sess}})
    if any(h[0] == "X-Client-Time" for h in headers):
        offs.append(at_ms)

def session(sess, user, base):
    tok, sid = secrets.token_hex(16), secrets.token_hex(8)
    oid = "ord_" + secrets.token_hex(8)
    txn(sess, base, "POST", "/login", [], {"user": user}, 200,
        {"token": tok}, [("Set-Cookie", "sid=%s; Path=/" % sid)])
    def auth(at):
        return [["Authorization", "Bearer " + tok],
                ["Cookie", "theme=dark; sid=" + sid],
                ["X-Client-Time", iso(t0 + at * 1000)]]
    at = base + 100
    txn(sess, at, "POST", "/orders", auth(at),
        {"sku": "a-1", "nonce": secrets.token_hex(16)}, 201,
        {"id": oid, "created_at": iso(t0 + at * 1000)})
    at = base + 200
    txn(sess, at, "GET", "/orders/" + oid, auth(at), None, 200,
        {"id": oid, "sku": "a-1", "state": "new"})
    at = base + 300
    txn(sess, at, "POST", "/orders/%s/pay" % oid, auth(at),
        {"order": oid, "nonce": secrets.token_hex(16)}, 200,
        {"state": "paid"})
    at = base + 400
    txn(sess, at, "GET", "/orders/" + oid, auth(at), None, 200,
        {"id": oid, "sku": "a-1", "state": "paid"})

session("s1", "alice", 0)
session("s2", "bob", 50)
lines.sort(key=lambda l: l["timing"]["start_us"])
with open(snap, "w") as f:
    for l in lines:
        f.write(json.dumps(l, separators=(",", ":")) + "\n")
with open(offsets, "w") as f:
    f.write("\n".join(str(o) for o in sorted(offs)) + "\n")
EOF
"$PY" "$T/mksnap.py" "$T/rec.jsonl" "$T/offsets.txt" ||
    fatal "cannot write the recording"

# --- the transforms, as decoy analyze would write them (by hand here),
# in parts so that variants can leave one out or add one.
cat >"$T/head.yaml" <<'EOF'
version: 1
snapshot: "rec.jsonl"
values:
  - kind: timestamp
    dir: in
    endpoint: "*"
    where: "req.header X-Client-Time"
    action: shift
  - kind: hex
    dir: in
    endpoint: "POST /orders"
    where: "req.body $.nonce"
    action: fresh
  - kind: hex
    dir: in
    endpoint: "POST /orders/{id}/pay"
    where: "req.body $.nonce"
    action: fresh
EOF
cat >"$T/any.yaml" <<'EOF'
  - kind: timestamp
    dir: in
    endpoint: "POST /orders"
    where: "res.body $.created_at"
    action: any
EOF
cat >"$T/nokey-entry.yaml" <<'EOF'
  - kind: jwt
    dir: in
    endpoint: "GET /admin/audit"
    where: "req.header Authorization"
    action: resign
    key: null
EOF
cat >"$T/corrs.yaml" <<'EOF'
correlations:
  - name: "token"
    kind: hex
    from:
      endpoint: "POST /login"
      where: "res.body $.token"
    to:
      - endpoint: "*"
        where: "req.header Authorization"
  - name: "session cookie"
    kind: any
    from:
      endpoint: "POST /login"
      where: "res.set-cookie sid"
    to:
      - endpoint: "*"
        where: "req.cookie sid"
  - name: "order id"
    kind: any
    from:
      endpoint: "POST /orders"
      where: "res.body $.id"
    to:
      - endpoint: "GET /orders/{id}"
        where: "req.path 1"
      - endpoint: "POST /orders/{id}/pay"
        where: "req.path 1"
      - endpoint: "POST /orders/{id}/pay"
        where: "req.body $.order"
EOF
cat "$T/head.yaml" "$T/any.yaml" "$T/corrs.yaml" >"$T/rec.transforms.yaml"
cat "$T/head.yaml" "$T/corrs.yaml" >"$T/noany.yaml"
cat "$T/head.yaml" "$T/any.yaml" "$T/nokey-entry.yaml" "$T/corrs.yaml" \
    >"$T/nokey.yaml"

start_bg svc "$T/svc.port" "$PY" "$T/server.py" "$T/svc.port" "$T/requests.txt"
URL=http://127.0.0.1:$PORT_svc

jqr() {
	jq -r "$2" "$1"
}

# statuses FILE: the status mix of a report, "code:count" sorted.
statuses() {
	jq -r '[.endpoints[].status[]] | group_by(.[0]) |
	    map("\(.[0][0]):\(map(.[1]) | add)") | join(" ")' "$1"
}

# --- 1. naive replay: only the logins get their recorded status --------
"$DECOY" replay "$T/rec.jsonl" --target "$URL" --body none \
    --report "$T/naive.json" >"$T/naive.out" 2>"$T/naive.log"
check "naive replay exits 1 (8 regressions)" [ $? -eq 1 ]
"$DECOY" report "$T/naive.json" --junit "$T/naive.xml" >/dev/null 2>&1
check "naive: decoy report exits 1" [ $? -eq 1 ]
check "naive: the JUnit file fails the regression" \
    grep -q 'type="regression"' "$T/naive.xml"
"$DECOY" replay "$T/rec.jsonl" --target "$URL" --body none \
    --allow-regressions --report "$T/allow.json" --junit "$T/allow.xml" \
    >"$T/allow.out" 2>"$T/allow.log"
check "naive --allow-regressions: exit 0" [ $? -eq 0 ]
check "naive --allow-regressions: the differences are still reported" \
    [ "$(jqr "$T/allow.json" '"\(.totals.regressions) \(.passed) \(.allow_regressions)"')" = "8 true true" ]
check "naive --allow-regressions: the table says so" \
    grep -q 'PASSED: 8 of 10 compared responses differ from the recording (tolerated' "$T/allow.out"
check "naive --allow-regressions: no JUnit failure" \
    [ "$(grep -c '<failure' "$T/allow.xml")" = 0 ]
"$DECOY" report "$T/allow.json" >/dev/null 2>&1
check "naive --allow-regressions: decoy report exits 0" [ $? -eq 0 ]
check "naive: 10 requests answered" [ "$(jqr "$T/naive.json" .totals.count)" = 10 ]
check "naive: 8 of 10 answers differ from the recording" \
    [ "$(jqr "$T/naive.json" '"\(.totals.compared) \(.totals.regressions)"')" = "10 8" ]
check "naive: the differences are 401s" [ "$(statuses "$T/naive.json")" = \
    "200:2 401:8" ]

# --- 2. with the transforms: every recorded status ----------------------
"$DECOY" replay "$T/rec.jsonl" --target "$URL" --body none \
    --transforms "$T/rec.transforms.yaml" \
    --report "$T/tx.json" >"$T/tx.out" 2>"$T/tx.log"
check "replay --transforms exits 0" [ $? -eq 0 ]
check "transforms: 10 answered, no transport error" \
    [ "$(jqr "$T/tx.json" '"\(.totals.count) \([.totals.errors[]] | add)"')" = "10 0" ]
check "transforms: every answer has its recorded status" \
    [ "$(jqr "$T/tx.json" '"\(.totals.compared) \(.totals.regressions)"')" = "10 0" ]
check "transforms: the status mix is the recording's" \
    [ "$(statuses "$T/tx.json")" = "200:8 201:2" ]
check "transforms: what was done is logged" grep -q \
    "transforms: 8 requests built at send time, 36 values replaced, 8 live values captured" \
    "$T/tx.log"

# --- 3. bodies too: the volatile answer members are left out -----------
"$DECOY" replay "$T/rec.jsonl" --target "$URL" \
    --transforms "$T/rec.transforms.yaml" \
    --report "$T/body.json" >"$T/body.out" 2>"$T/body.log"
# GET /orders/{id} answers with the live id where the recording has the
# recorded one: the same value for the session's map.
check "exact bodies: no regression (token, id, created_at left out)" \
    [ "$(jqr "$T/body.json" '"\(.totals.compared) \(.totals.regressions)"')" = "10 0" ]
# Without the `any` entry, created_at is compared, and differs.
"$DECOY" replay "$T/rec.jsonl" --target "$URL" \
    --transforms "$T/noany.yaml" \
    --report "$T/noany.json" >/dev/null 2>>"$T/body.log"
check "without the any entry, created_at differs in both orders" \
    [ "$(jqr "$T/noany.json" '[.endpoints[].diffs[] | .field] | join(" ")')" = \
    '$.created_at $.created_at' ]

# --- 4. clones: each copy of a session carries its own live values -----
"$DECOY" replay "$T/rec.jsonl" --target "$URL" --body none --clones 3 \
    --transforms "$T/rec.transforms.yaml" \
    --report "$T/clones.json" >"$T/clones.out" 2>"$T/clones.log"
check "clones: 30 answered, every recorded status" \
    [ "$(jqr "$T/clones.json" '"\(.totals.count) \(.totals.regressions)"')" = "30 0" ]
check "clones: fresh nonces per send (no 409)" \
    [ "$(statuses "$T/clones.json")" = "200:24 201:6" ]

# --- 5. --now freezes the clock: each X-Client-Time = NOW + its offset --
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
: >"$T/requests.txt"
"$DECOY" replay "$T/rec.jsonl" --target "$URL" --body none --now "$NOW" \
    --seed 7 --transforms "$T/rec.transforms.yaml" \
    --report "$T/now.json" >"$T/now.out" 2>"$T/now.log"
check "--now: every recorded status" \
    [ "$(jqr "$T/now.json" '"\(.totals.count) \(.totals.regressions)"')" = "10 0" ]
"$PY" - "$NOW" "$T/offsets.txt" >"$T/expected-times.txt" <<'EOF'
import sys
from datetime import datetime, timedelta
now = datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ")
for line in open(sys.argv[2]):
    t = now + timedelta(milliseconds=int(line))
    print(t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000))
EOF
awk '$3 != "-" { print $3 }' "$T/requests.txt" | sort >"$T/sent-times.txt"
check "--now: X-Client-Time is exactly NOW + the recorded offset" \
    cmp -s "$T/expected-times.txt" "$T/sent-times.txt"

# --- 6. errors and warnings ---------------------------------------------
printf 'version: 1\nvalues:\n  - kind: nope\n    dir: in\n' >"$T/bad.yaml"
"$DECOY" replay "$T/rec.jsonl" --target "$URL" --transforms "$T/bad.yaml" \
    >"$T/bad.out" 2>"$T/bad.log"
check "a bad transforms file exits 2" [ $? -eq 2 ]
check "... naming file:line:col" grep -q "bad.yaml:3:[0-9]*:" "$T/bad.log"
check "... before any request is sent" [ "$(wc -l <"$T/requests.txt")" = 10 ]
"$DECOY" replay "$T/rec.jsonl" --target "$URL" --now yesterday \
    --transforms "$T/rec.transforms.yaml" >/dev/null 2>"$T/badnow.log"
check "a bad --now exits 2" [ $? -eq 2 ]

"$DECOY" replay "$T/rec.jsonl" --target "$URL" --body none \
    --transforms "$T/nokey.yaml" --report "$T/nokey.json" \
    >/dev/null 2>"$T/nokey.log"
check "a JWT without a key: still runs" \
    [ "$(jqr "$T/nokey.json" .totals.regressions)" = 0 ]
check "... and says once that it cannot be re-signed" [ "$(grep -c \
    'nokey.yaml:[0-9]*: the JWT at req.header Authorization of GET /admin/audit cannot be re-signed: no key (add keys: with secret_file); sent as recorded' \
    "$T/nokey.log")" = 1 ]

done_testing
