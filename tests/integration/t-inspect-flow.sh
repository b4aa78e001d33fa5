#!/usr/bin/env bash
# t-inspect-flow.sh -- `decoy inspect` shows the flow of a recording:
# endpoint templates (ids and numbers per path, user names learned from
# many paths, fixed endpoint names kept), --raw-paths, and the time view
# (counts, rates, p50/p99 and status classes per interval, for each
# direction and endpoint) in the table, the JSON and the HTML page; the
# expectations are computed from the generated recording, independently.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || skip "python3 is not installed"

# 120 order reads over 40 ids (one every 0.5 s, every 20th a 500), 30
# user reads over 15 names, nine fixed endpoints called 10 times each,
# 20 calls out to a dependency.
$PY - "$T/snap.jsonl" <<'EOF2'
import json, sys
T0 = 1796000000000000
out = open(sys.argv[1], "w")
n = 0
def txn(d, method, target, start, total, status, host=None):
    global n
    n += 1
    t = {"v": 1, "id": "t-%d" % n, "dir": d,
         "req": {"method": method, "target": target},
         "res": {"status": status},
         "timing": {"start_us": start, "total_us": total}}
    if host:
        t["req"]["host"] = host
    out.write(json.dumps(t) + "\n")
for i in range(120):
    txn("in", "GET", "/orders/%010x" % (0xabc0000000 + i % 40) + "?v=%d" % i,
        T0 + i * 500000, 1000 + i, 500 if i % 20 == 19 else 200)
names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace",
         "heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy",
         "rupert"]
for i in range(30):
    txn("in", "GET", "/users/" + names[i % 15], T0 + i * 1000000, 500, 200)
eps = ["health", "login", "logout", "search", "cart", "admin", "items",
       "prices", "stock"]
for i in range(90):
    txn("in", "GET", "/api/" + eps[i % 9], T0 + i * 600000, 300, 204)
for i in range(20):
    txn("out", "POST", "/v1/charges", T0 + i * 3000000, 2000 + i, 201,
        "pay.local")
EOF2

"$DECOY" inspect "$T/snap.jsonl" >"$T/inspect.txt" 2>"$T/inspect.err"
check "inspect exits 0" [ $? -eq 0 ]
check "ids become one template row" \
    grep -Eq "^  GET +/orders/\{id\} +120 +200:114 500:6 .* 40$" "$T/inspect.txt"
check "user names learned as a parameter" \
    grep -Eq "^  GET +/users/\{param\} +30 +200:30 .* 15$" "$T/inspect.txt"
check "fixed endpoint names stay" \
    grep -Eq "^  GET +/api/health +10 +204:10 .* 1$" "$T/inspect.txt"
check "eleven inbound rows" \
    test "$(sed -n '/^in:/,/over time/p' "$T/inspect.txt" | grep -c '^  GET ')" = 11
check "a time view per direction" test "$(grep -c 'over time' "$T/inspect.txt")" = 2

"$DECOY" inspect --raw-paths "$T/snap.jsonl" >"$T/raw.txt"
check "--raw-paths: one row per order id" \
    test "$(grep -c '^  GET  */orders/' "$T/raw.txt")" = 40

"$DECOY" inspect --json --interval 10s "$T/snap.jsonl" >"$T/inspect.json"
check "inspect --json --interval 10s exits 0" [ $? -eq 0 ]
check "the JSON matches the recording" $PY - "$T/snap.jsonl" "$T/inspect.json" <<'EOF2'
import json, sys
txns = [json.loads(l) for l in open(sys.argv[1])]
d = json.load(open(sys.argv[2]))
t0 = min(t["timing"]["start_us"] for t in txns)
iv = 10000000
assert d["interval_us"] == iv and d["start_us"] == t0, (d["interval_us"], d["start_us"])
nb = (max(t["timing"]["start_us"] for t in txns) - t0) // iv + 1
def rank(v, p):
    v = sorted(v)
    r = (len(v) * p + 99) // 100
    return v[max(r, 1) - 1]
def expect(sel):
    tl = []
    for b in range(nb):
        ts = [t for t in txns if sel(t) and (t["timing"]["start_us"] - t0) // iv == b]
        cls = {}
        for t in ts:
            k = "%dxx" % (t["res"]["status"] // 100)
            cls[k] = cls.get(k, 0) + 1
        lat = [t["timing"]["total_us"] for t in ts]
        tl.append({"t_us": b * iv, "count": len(ts), "rate": len(ts) / 10,
                   "p50_us": rank(lat, 50) if lat else None,
                   "p99_us": rank(lat, 99) if lat else None, "status": cls})
    return tl
i = d["directions"]["in"]
assert i["timeline"] == expect(lambda t: t["dir"] == "in"), i["timeline"]
o = d["directions"]["out"]
assert o["timeline"] == expect(lambda t: t["dir"] == "out")
orders = [e for e in i["endpoints"] if e["path"] == "/orders/{id}"][0]
assert orders["paths"] == 40 and orders["count"] == 120, orders
assert orders["timeline"] == expect(lambda t: t["req"]["target"].startswith("/orders/"))
users = [e for e in i["endpoints"] if e["path"] == "/users/{param}"][0]
assert users["count"] == 30 and users["paths"] == 15
assert o["endpoints"][0]["host"] == "pay.local"
EOF2

"$DECOY" inspect --html "$T/flow.html" "$T/snap.jsonl" >/dev/null
check "--html writes the page" test -s "$T/flow.html"
check "the page has the charts" grep -q "Throughput by status" "$T/flow.html"
check "the page has the template rows" grep -qF "/orders/{id}" "$T/flow.html"
check "every svg closed" test "$(grep -o '<svg' "$T/flow.html" | wc -l)" = "$(grep -o '</svg>' "$T/flow.html" | wc -l)"
check "no script in the page" bash -c "! grep -qi '<script' '$T/flow.html'"
check "the page parses as HTML" $PY \
    "$top_srcdir/tests/integration/html-balanced.py" "$T/flow.html"

"$DECOY" inspect --interval 0s "$T/snap.jsonl" >/dev/null 2>"$T/bad.err"
check "--interval 0s is a usage error" [ $? -eq 2 ]
check "the error names the option" grep -q -- "--interval" "$T/bad.err"

done_testing
