#!/bin/bash
# `decoy inspect` counts hosts and endpoints per direction with the status
# mix and nearest-rank latency percentiles, in a table or as JSON (also
# from stdin); `decoy split` cuts a snapshot into its in and out halves,
# re-encoded canonically, unknown members (big integers too) intact.
. "$(dirname "$0")/lib.sh"

cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"t-1","dir":"in","req":{"method":"GET","target":"/orders/1?x=1","host":"shop.local"},"res":{"status":200},"timing":{"total_us":1000}}

{"v":1,"id":"t-2","dir":"in","req":{"method":"GET","target":"/orders/1","headers":[["Host","shop.local"]]},"res":{"status":200},"timing":{"total_us":3000}}
{"v":1,"id":"t-3","dir":"in","req":{"method":"GET","target":"/orders/1?y=2","host":"shop.local"},"res":{"status":503},"timing":{"total_us":2000}}
{"v":1,"id":"t-4","dir":"out","req":{"method":"POST","target":"/v1/charges","host":"pay.local"},"res":{"status":201,"body_b64":"AAEC/w=="},"tags":{"n":9007199254740993}}
{"v":1,"id":"t-5","dir":"out","req":{"method":"POST","target":"http://pay.local/v1/charges?a=1"},"res":{"status":201}}
{"v":1,"id":"t-6","dir":"out","req":{"method":"GET","target":"/stock/7","host":"inv.local"}}
EOF2

# --- inspect, human table
"$DECOY" inspect "$T/snap.jsonl" >"$T/inspect.txt" 2>"$T/inspect.err"
check "inspect exits 0" [ $? -eq 0 ]
check "total counted" grep -q "snap.jsonl: 6 transactions" "$T/inspect.txt"
check "in direction counted" grep -q "^in: 3 transactions" "$T/inspect.txt"
check "out direction counted" grep -q "^out: 3 transactions" "$T/inspect.txt"
check "header row" grep -Eq "^  METHOD +PATH +COUNT +STATUS +P50 +P99 +PATHS" "$T/inspect.txt"
check "query string dropped, Host header used, status mix, p50/p99, template" \
    grep -Eq "^  GET +/orders/\{n\} +3 +200:2 503:1 +2\.0ms +3\.0ms +1$" "$T/inspect.txt"
check "out endpoints carry the host (absolute-form target too)" \
    grep -Eq "^  POST +pay\.local +/v1/charges +2 +201:2 +- +- +1$" "$T/inspect.txt"
check "a transaction without a response shows as none" \
    grep -Eq "^  GET +inv\.local +/stock/\{n\} +1 +none:1" "$T/inspect.txt"
check "no time view without recorded starts" bash -c "! grep -q 'over time' '$T/inspect.txt'"
check "hosts sorted by count" \
    bash -c "grep -A3 '^out:' '$T/inspect.txt' | sed -n '3p' | grep -q 'pay.local  *2'"
check "nothing on stderr" [ ! -s "$T/inspect.err" ]

# --- inspect --json, from stdin
"$DECOY" inspect --json - <"$T/snap.jsonl" >"$T/inspect.json"
check "inspect --json exits 0" [ $? -eq 0 ]
if command -v python3 >/dev/null; then
	check "JSON document with the expected numbers" python3 - "$T/inspect.json" <<'EOF2'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["file"] == "-" and d["transactions"] == 6, d
i, o = d["directions"]["in"], d["directions"]["out"]
assert i["count"] == 3 and o["count"] == 3
assert i["hosts"] == [{"host": "shop.local", "count": 3}], i["hosts"]
e = i["endpoints"][0]
assert e == {"method": "GET", "path": "/orders/{n}", "paths": 1, "count": 3,
    "status": {"200": 2, "503": 1}, "p50_us": 2000, "p99_us": 3000,
    "timeline": []}, e
assert d["start"] is None and d["interval_us"] is None
assert o["endpoints"][0]["host"] == "pay.local"
assert o["endpoints"][0]["p50_us"] is None
EOF2
else
	check "JSON document" grep -q '"p50_us":2000,"p99_us":3000' "$T/inspect.json"
fi

"$DECOY" inspect --help >"$T/help.txt"
check "inspect --help exits 0 and prints the usage" \
    [ $? -eq 0 -a "$(head -1 "$T/help.txt")" = "usage: decoy inspect SNAP [--json | --html FILE] [--interval D] [--raw-paths]" ]
"$DECOY" inspect >/dev/null 2>&1
check "inspect without a snapshot is a usage error" [ $? -eq 2 ]

# --- split
"$DECOY" split "$T/snap.jsonl" --in "$T/in.jsonl" --out "$T/out.jsonl" \
    2>"$T/split.err"
check "split exits 0" [ $? -eq 0 ]
check "split reports its counts" grep -qx "3 in, 3 out" "$T/split.err"
check "in half has the 3 in transactions" [ "$(grep -c '"dir":"in"' "$T/in.jsonl")" = 3 ]
check "in half has nothing else" [ "$(wc -l <"$T/in.jsonl")" = 3 ]
check "out half has the 3 out transactions" [ "$(grep -c '"dir":"out"' "$T/out.jsonl")" = 3 ]
check "out half has nothing else" [ "$(wc -l <"$T/out.jsonl")" = 3 ]
check "unknown member kept with its big integer" \
    grep -q '"tags":{"n":9007199254740993}' "$T/out.jsonl"
check "binary body kept" grep -q '"body_b64":"AAEC/w=="' "$T/out.jsonl"
check "recorded order kept" \
    bash -c "grep -o '\"id\":\"t-[0-9]\"' '$T/out.jsonl' | tr -d '\n' | grep -q 't-4.*t-5.*t-6'"

# Canonical output is a fixed point: splitting the halves changes nothing.
"$DECOY" split "$T/out.jsonl" --out "$T/out2.jsonl" 2>/dev/null
check "split output is canonical" same "$T/out.jsonl" "$T/out2.jsonl"
"$DECOY" split - --in - <"$T/snap.jsonl" >"$T/in-stdout.jsonl" 2>/dev/null
check "split from stdin to stdout" same "$T/in.jsonl" "$T/in-stdout.jsonl"

"$DECOY" split "$T/snap.jsonl" >/dev/null 2>"$T/split2.err"
check "split without --in or --out is a usage error" [ $? -eq 2 ]
"$DECOY" split "$T/snap.jsonl" --in "$T/snap.jsonl" >/dev/null 2>&1
check "split refuses to overwrite its input" [ $? -eq 2 ]
check "input left alone" [ "$(wc -l <"$T/snap.jsonl")" = 7 ]
"$DECOY" split --help >"$T/help.txt"
check "split --help exits 0" [ $? -eq 0 ]
check "split --help names --in and --out" grep -q -- "--in FILE" "$T/help.txt"

# --- repeated ids: inspect names them, split renames them
printf '%s\n' \
    '{"v":1,"id":"t-1","dir":"in","req":{"method":"GET","target":"/a"}}' \
    '{"v":1,"id":"t-1~2","dir":"out","req":{"method":"GET","target":"/b"}}' \
    '{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/c"}}' \
    '{"v":1,"id":"t-1","dir":"in","req":{"method":"GET","target":"/d"}}' >"$T/dup.jsonl"
"$DECOY" inspect "$T/dup.jsonl" >"$T/dup.txt"
check "inspect warns of repeated ids with their lines" \
    grep -q "^warning: 2 transactions repeat an id that came before: t-1 (lines 1 and 3), t-1 (lines 1 and 4)" "$T/dup.txt"
check "inspect --json counts them" \
    test "$("$DECOY" inspect --json "$T/dup.jsonl" | jq .repeated_ids)" = 2
"$DECOY" split "$T/dup.jsonl" --in "$T/dup-in.jsonl" --out "$T/dup-out.jsonl" 2>"$T/dup-split.err"
check "split says it renamed two ids" grep -q "(2 repeated ids renamed ID~N)" "$T/dup-split.err"
check "split: every id unique, the first kept, fresh ones not taken" \
    test "$(cat "$T/dup-in.jsonl" "$T/dup-out.jsonl" | jq -r .id | tr '\n' ' ')" = "t-1 t-1~4 t-1~2 t-1~3 "
check "the halves have no repeated id" \
    test "$(cat "$T/dup-in.jsonl" "$T/dup-out.jsonl" | "$DECOY" inspect --json - | jq .repeated_ids)" = 0

done_testing
