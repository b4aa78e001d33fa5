#!/bin/bash
# An unmatched request gets a 404 JSON naming the nearest recorded
# candidates and the fields that differ; `--unmatched closest` answers
# with the best transaction on the same route instead.
. "$(dirname "$0")/lib.sh"

cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/v1/stock/sku-1","host":"inventory"},"res":{"status":200,"body":"{\"sku\":\"sku-1\"}"}}
{"v":1,"id":"t-2","dir":"out","req":{"method":"POST","target":"/v1/charges","host":"payments","headers":[["Content-Type","application/json"]],"body":"{\"amount\":100}"},"res":{"status":201,"body":"{\"id\":\"ch_1\"}"}}
{"v":1,"id":"t-3","dir":"out","req":{"method":"GET","target":"/v1/orders?page=1","host":"orders"},"res":{"status":200,"body":"[]"}}
EOF2
start_respond r "$T/snap.jsonl"
P=$PORT_r

curl -s -o "$T/miss1" -w '%{http_code}' "http://127.0.0.1:$P/v1/stock/sku-9" >"$T/code1"
check "unmatched path: 404" [ "$(cat "$T/code1")" = 404 ]
check "404 names the nearest candidate" grep -q '"id":"t-1"' "$T/miss1"
check "404 says the path differs" grep -q '"differs":\["path"\]' "$T/miss1"
check "404 echoes the request" grep -q '"path":"/v1/stock/sku-9"' "$T/miss1"

curl -s -o "$T/miss2" -H 'Content-Type: application/json' \
    --data-binary '{"amount":999}' "http://127.0.0.1:$P/v1/charges"
check "unmatched body: 404 says the body differs" \
    grep -q '"id":"t-2".*"differs":\["body"\]' "$T/miss2"

curl -s -o "$T/miss3" "http://127.0.0.1:$P/v1/orders?page=2"
check "unmatched query: 404 says the query differs" \
    grep -q '"id":"t-3".*"differs":\["query"\]' "$T/miss3"

start_respond c "$T/snap.jsonl" --unmatched closest
body=$(curl -s "http://127.0.0.1:$PORT_c/v1/stock/sku-42")
check "closest: same route, other id answered" [ "$body" = '{"sku":"sku-1"}' ]
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT_c/v2/nothing/here/at/all")
check "closest: nothing on the route is still a 404" [ "$code" = 404 ]

done_testing
