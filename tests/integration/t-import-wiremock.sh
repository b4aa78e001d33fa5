#!/usr/bin/env bash
# t-import-wiremock.sh -- `decoy import wiremock` on mappings written by
# real WireMock (3.13.2, the jar of the npm package `wiremock`, installed
# by tests/wiremock/npm-install.sh): traffic to nginx recorded through
# WireMock's recorder (a JSON body with a big integer, text, a binary body
# that WireMock stores in __files, a query, a POST body), plus stubs made
# through its admin API and saved by it (path patterns, header, query and
# JSON body matchers, jsonBody with a big integer, ANY, a low-priority
# catch-all, a fixed, a uniform and a lognormal delay, four faults) and
# one matcher decoy cannot express.  decoy respond on the snapshot and rules, and
# WireMock, get the same requests side by side: status, the headers that
# matter and the body byte for byte; the delays delay; the faults fault;
# the unsupported mapping is listed (exit 1); a broken file exits 2 with
# file:line:col.
. "$(dirname "$0")/lib.sh"

for t in java nginx jq; do
	command -v "$t" >/dev/null || skip "$t is not installed"
done
JAR=$(sh "$top_srcdir/tests/wiremock/npm-install.sh") ||
    skip "the wiremock npm package (its jar) could not be installed"

# --- nginx, the real server WireMock records ---
mkdir -p "$T/www/api"
chmod a+rx "$T" "$T/www" "$T/www/api"	# nginx's worker runs as nobody
printf '{"id":12345678901234567890,"price":1.50,"ok":true}' \
    >"$T/www/api/item.json"
printf 'plain text\nsecond line\n' >"$T/www/hello.txt"
head -c 5000 /dev/urandom >"$T/www/blob.bin"
chmod a+r "$T"/www/*.* "$T"/www/api/*
start_nginx "$T/www" /hello.txt "include /etc/nginx/mime.types;" \
    'location = /echo { add_header X-Custom yes; return 200 "echo $request_method $args"; }'

# --- WireMock on port 0: its banner names the port; polled (it takes
# seconds to start here) ---
mkdir -p "$T/wm/mappings" "$T/wm/__files"
java -jar "$JAR" --port 0 --bind-address 127.0.0.1 --root-dir "$T/wm" \
    --disable-banner >"$T/wiremock.log" 2>&1 &
WM_PID=$!
PIDS+=("$WM_PID")
WPORT=
for ((i = 0; i < 1500; i++)); do
	WPORT=$(sed -n 's/^port: *\([0-9][0-9]*\)$/\1/p' "$T/wiremock.log")
	[ -n "$WPORT" ] && curl -s -o /dev/null -f \
	    "http://127.0.0.1:$WPORT/__admin/health" && break
	WPORT=
	kill -0 "$WM_PID" 2>/dev/null || break
	sleep 0.04
done
[ -n "$WPORT" ] || fatal "WireMock did not start (see $T/wiremock.log)"
WM=http://127.0.0.1:$WPORT
admin() {
	curl -s -f -o "$T/admin.out" -X "$1" "$WM/__admin/$2" \
	    -H 'Content-Type: application/json' ${3:+--data-binary "$3"}
}

# --- 1. record real traffic through WireMock's recorder; bodies over
# 1 KiB go to __files (bodyFileName) ---
check "recorder starts" admin POST recordings/start \
    "{\"targetBaseUrl\":\"http://127.0.0.1:$NPORT\",\"extractBodyCriteria\":{\"textSizeThreshold\":\"1 KB\",\"binarySizeThreshold\":\"1 KB\"}}"
for u in /api/item.json /hello.txt /blob.bin '/echo?a=1&b=x%20y'; do
	curl -s -o /dev/null "$WM$u"
done
curl -s -o /dev/null -X POST --data-binary 'k=v&n=1' "$WM/echo"
check "recorder stops" admin POST recordings/stop
check "the recorder wrote a bodyFileName" \
    grep -q bodyFileName -r "$T/wm/mappings"

# --- 2. stubs through the admin API, saved by WireMock ---
stub() {
	admin POST mappings "$1" || fatal "WireMock refused stub $1"
}
stub '{"name":"user","request":{"method":"GET","urlPathPattern":"/users/[0-9]+","headers":{"X-Api-Key":{"equalTo":"secret"}}},"response":{"status":200,"headers":{"Content-Type":"application/json"},"jsonBody":{"id":12345678901234567890123,"price":1.50,"name":"caf\u00e9","tags":["a",{"n":-0.5e-3}]}}}'
stub '{"name":"search","request":{"method":"GET","urlPath":"/search","queryParameters":{"q":{"contains":"shoe"},"lang":{"equalTo":"en gb"}}},"response":{"status":200,"headers":{"Content-Type":"text/plain","X-Result":"many"},"body":"found shoes\n"}}'
stub '{"name":"order","request":{"method":"POST","url":"/orders","bodyPatterns":[{"equalToJson":{"sku":"a1","qty":2}}]},"response":{"status":201,"headers":{"Location":"/orders/7","Content-Type":"application/json"},"body":"{\"id\":7}"}}'
stub '{"name":"accept","request":{"method":"GET","url":"/negotiate","headers":{"Accept":{"matches":"text/.*"}}},"response":{"status":200,"headers":{"Content-Type":"text/html"},"body":"<p>hi</p>"}}'
stub '{"name":"any","request":{"method":"ANY","url":"/any"},"response":{"status":202,"headers":{"Content-Type":"text/plain"},"body":"any method"}}'
stub '{"name":"fallback","priority":10,"request":{"method":"GET","urlPattern":"/api/.*"},"response":{"status":418,"headers":{"Content-Type":"text/plain"},"body":"fallback"}}'
stub '{"name":"slow","request":{"method":"GET","url":"/slow"},"response":{"status":200,"headers":{"Content-Type":"text/plain"},"body":"slow","fixedDelayMilliseconds":700}}'
stub '{"name":"jitter","request":{"method":"GET","url":"/jitter"},"response":{"status":200,"headers":{"Content-Type":"text/plain"},"body":"jitter","delayDistribution":{"type":"uniform","lower":400,"upper":500}}}'
stub '{"name":"reset","request":{"method":"GET","url":"/reset"},"response":{"fault":"CONNECTION_RESET_BY_PEER"}}'
stub '{"name":"empty","request":{"method":"GET","url":"/empty"},"response":{"fault":"EMPTY_RESPONSE"}}'
stub '{"name":"random","request":{"method":"GET","url":"/random"},"response":{"fault":"RANDOM_DATA_THEN_CLOSE"}}'
stub '{"name":"lognormal","request":{"method":"GET","url":"/lognormal"},"response":{"status":200,"headers":{"Content-Type":"text/plain"},"body":"ln","delayDistribution":{"type":"lognormal","median":300,"sigma":0.1}}}'
stub '{"name":"chunk","request":{"method":"GET","url":"/chunk"},"response":{"fault":"MALFORMED_RESPONSE_CHUNK"}}'
stub '{"name":"jsonpath","request":{"method":"POST","url":"/jp","bodyPatterns":[{"matchesJsonPath":"$.a"}]},"response":{"status":200,"body":"jp"}}'
check "WireMock saves its stubs" admin POST mappings/save
nmap=$(ls "$T/wm/mappings" | wc -l)
check "19 mapping files written by WireMock ($nmap)" test "$nmap" -eq 19

# --- 3. import: the unsupported matcher is listed, exit 1 ---
"$DECOY" import wiremock "$T/wm" -o "$T/snap.jsonl" --rules "$T/rules.yaml" \
    --json >"$T/import.json" 2>"$T/import.err"
check "import exits 1: one mapping skipped" test $? -eq 1
check "summary: 19 mappings, 18 imported, 1 skipped" test \
    "$(jq -c '[.mappings,.imported,.skipped]' "$T/import.json")" = '[19,18,1]'
check "the skipped mapping is named with its file and matcher" test \
    "$(jq -r '.notes[] | select(.skipped) | (.file|test("jsonpath")) and (.what|test("matchesJsonPath")) and (.mapping|test("jsonpath"))' "$T/import.json")" = true
"$DECOY" import wiremock "$T/wm" -o "$T/snap2.jsonl" --rules "$T/rules2.yaml" \
    2>"$T/import2.err"
check "without --json: the note on stderr" grep -q \
    'jsonpath.*skipped: bodyPatterns: matcher matchesJsonPath' "$T/import2.err"
mkdir -p "$T/ok/mappings"
cp -r "$T/wm/__files" "$T/ok/"
for f in "$T"/wm/mappings/*.json; do
	grep -q matchesJsonPath "$f" || cp "$f" "$T/ok/mappings/"
done
"$DECOY" import wiremock "$T/ok" -o "$T/snap-ok.jsonl" \
    --rules "$T/rules-ok.yaml" 2>"$T/import-ok.err"
check "everything expressible: exit 0" test $? -eq 0
"$DECOY" import wiremock "$T/ok" -o "$T/snap-ok.jsonl" 2>"$T/norules.err"
check "rules needed without --rules: exit 2" test $? -eq 2
"$DECOY" import wiremock "$T/ok" -o "$T/in.jsonl" --rules "$T/in.yaml" \
    --dir in 2>"$T/dirin.err"
check "--dir in: exit 2, nothing written" test $? -eq 2 -a ! -e "$T/in.jsonl"

start_respond d "$T/snap.jsonl" --rules "$T/rules.yaml"
D=http://127.0.0.1:$PORT_d

# --- 4. the same requests to both ---
# fetch NAME BASE PATH ARGS...: status, selected headers and body.
fetch() {
	local name=$1 base=$2 path=$3
	shift 3
	curl -s -D "$T/$name.head" -o "$T/$name.body" -w '%{http_code}' \
	    "$@" "$base$path" >"$T/$name.status"
	tr -d '\r' <"$T/$name.head" | grep -i -E \
	    '^(content-type|x-custom|x-result|location):' |
	    tr 'A-Z' 'a-z' | sort >"$T/$name.hdrs"
}
n=0
# pair PATH ARGS...: the same request to WireMock (w$n) and decoy (d$n).
pair() {
	n=$((n + 1))
	fetch "w$n" "$WM" "$@"
	fetch "d$n" "$D" "$@"
}
# both DESC PATH ARGS...: the same status, headers and body.
both() {
	local desc=$1
	shift
	pair "$@"
	check "$desc: status $(cat "$T/w$n.status")" \
	    same "$T/w$n.status" "$T/d$n.status"
	check "$desc: headers" same "$T/w$n.hdrs" "$T/d$n.hdrs"
	check "$desc: body" same "$T/w$n.body" "$T/d$n.body"
}
# miss DESC PATH ARGS...: both answer 404 (their 404 bodies differ).
miss() {
	local desc=$1
	shift
	pair "$@"
	check "$desc: 404 from both" test "$(cat "$T/w$n.status")" = 404 \
	    -a "$(cat "$T/d$n.status")" = 404
}
both "recorded JSON (big integer)" /api/item.json
check "recorded JSON keeps its digits" grep -q 12345678901234567890, \
    "$T/d$n.body"
both "recorded text" /hello.txt
both "recorded binary from __files" /blob.bin
check "binary body is the file" same "$T/d$n.body" "$T/www/blob.bin"
both "recorded query" '/echo?a=1&b=x%20y'
both "recorded query, other spelling" '/echo?b=x+y&a=1'
both "recorded query, extra parameter" '/echo?a=1&b=x%20y&z=3'
both "recorded POST body" /echo -X POST --data-binary 'k=v&n=1'
miss "POST, other body" /echo -X POST --data-binary 'k=w'
both "path pattern + header" /users/42 -H 'X-Api-Key: secret'
check "jsonBody keeps 12345678901234567890123 and 1.50" grep -q \
    '"id":12345678901234567890123,"price":1.50' "$T/d$n.body"
miss "path pattern, wrong header" /users/42 -H 'X-Api-Key: nope'
miss "path pattern, no match" /users/abc -H 'X-Api-Key: secret'
both "query contains + equalTo" '/search?q=red+shoes&lang=en%20gb'
miss "query contains, no match" '/search?q=hats&lang=en%20gb'
both "equalToJson, other spacing" /orders -X POST \
    -H 'Content-Type: application/json' --data-binary '{ "sku" : "a1", "qty": 2 }'
miss "equalToJson, other value" /orders -X POST \
    -H 'Content-Type: application/json' --data-binary '{"sku":"a1","qty":3}'
both "header matches" /negotiate -H 'Accept: text/plain'
both "ANY method (DELETE)" /any -X DELETE
both "ANY method (GET)" /any
both "catch-all at priority 10" /api/other
miss "nothing matches" /nothing
both "exact stub outranks the catch-all" /api/item.json

# --- 5. delays and faults ---
elapsed() {
	curl -s -o /dev/null -w '%{time_total}' "$1"
}
slow_w=$(elapsed "$WM/slow")
slow_d=$(elapsed "$D/slow")
check "fixed delay 700 ms: WireMock $slow_w s, decoy $slow_d s" \
    awk -v w="$slow_w" -v d="$slow_d" 'BEGIN { exit !(w >= 0.65 && d >= 0.65 && d < 5) }'
jit_w=$(elapsed "$WM/jitter")
jit_d=$(elapsed "$D/jitter")
check "uniform delay 400-500 ms: WireMock $jit_w s, decoy $jit_d s" \
    awk -v w="$jit_w" -v d="$jit_d" 'BEGIN { exit !(w >= 0.38 && d >= 0.38 && d < 5) }'
ln_w=$(elapsed "$WM/lognormal")
ln_d=$(elapsed "$D/lognormal")
check "lognormal delay, median 300 ms: WireMock $ln_w s, decoy $ln_d s" \
    awk -v w="$ln_w" -v d="$ln_d" 'BEGIN { exit !(w >= 0.15 && d >= 0.15 && d < 5) }'
fault() {
	curl -s -o /dev/null --max-time 5 "$1"
	echo $?
}
for f in reset empty chunk random; do
	fw=$(fault "$WM/$f")
	fd=$(fault "$D/$f")
	check "fault $f: curl fails on both (WireMock $fw, decoy $fd)" \
	    test "$fw" -ne 0 -a "$fd" -ne 0 -a "$fd" -ne 28
done
check "fault reset: the same curl error (56)" test \
    "$(fault "$D/reset")" = "$(fault "$WM/reset")"
check "fault empty: the same curl error (52)" test \
    "$(fault "$D/empty")" = "$(fault "$WM/empty")"

# --- 6. a broken file: exit 2 at file:line:col; nothing written ---
mkdir -p "$T/bad/mappings"
printf '{\n  "request": {"url": "/x",\n    "method": GET}\n}\n' \
    >"$T/bad/mappings/broken.json"
"$DECOY" import wiremock "$T/bad" -o "$T/bad.jsonl" --rules "$T/bad.yaml" \
    2>"$T/bad.err"
check "broken file: exit 2" test $? -eq 2
check "broken file: file:line:col" grep -q 'broken.json:3:15:' "$T/bad.err"
check "broken file: no snapshot written" test ! -e "$T/bad.jsonl"
"$DECOY" import wiremock "$T/ok" -o "$T/half.jsonl" \
    --rules "$T/no-such-dir/r.yaml" 2>"$T/half.err"
check "unwritable rule file: exit 2, no snapshot left" \
    test $? -eq 2 -a ! -e "$T/half.jsonl"
check "the rule file is private (0600)" \
    test "$(stat -c %a "$T/rules.yaml")" = 600
"$DECOY" import wiremock "$T/none" -o "$T/none.jsonl" 2>"$T/none.err"
check "missing mappings directory: exit 2" test $? -eq 2

done_testing
