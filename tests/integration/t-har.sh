#!/bin/bash
# HAR 1.2 import and export: `decoy import har` turns a browser-like HAR
# into a snapshot that `decoy inspect` describes and `decoy respond`
# serves byte for byte (a binary body given in base64 too); `decoy export
# har` followed by `decoy import har` gives the same snapshot back; a
# broken HAR exits 2 naming the file, line and column; a missing pcap is
# named.
. "$(dirname "$0")/lib.sh"

# Bytes 00 ff 01 61 00 89 50 4e 47, as base64.
bin_b64=AP8BYQCJUE5H
cat >"$T/in.har" <<'EOF2'
{"log":{"version":"1.2","creator":{"name":"WebInspector","version":"537.36"},
 "pages":[{"startedDateTime":"2026-11-26T05:01:00.000Z","id":"page_1","title":"shop","pageTimings":{}}],
 "entries":[
  {"pageref":"page_1","startedDateTime":"2026-11-26T06:01:02.123+01:00","time":12.5,
   "request":{"method":"GET","url":"http://api.example/v1/items?page=2&sort=asc","httpVersion":"HTTP/1.1",
     "headers":[{"name":"Host","value":"api.example"},{"name":"Accept","value":"application/json"}],
     "queryString":[{"name":"page","value":"2"},{"name":"sort","value":"asc"}],"cookies":[],"headersSize":-1,"bodySize":0},
   "response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1",
     "headers":[{"name":"Content-Type","value":"application/json"},{"name":"Set-Cookie","value":"a=1"},{"name":"Set-Cookie","value":"b=2"}],
     "cookies":[],"content":{"size":30,"mimeType":"application/json","text":"{\"id\":9007199254740993,\"n\":2}"},
     "redirectURL":"","headersSize":-1,"bodySize":30,"_transferSize":200},
   "cache":{},"timings":{"blocked":0.5,"dns":-1,"ssl":-1,"connect":-1,"send":0.1,"wait":9.4,"receive":2.5}},
  {"startedDateTime":"2026-11-26T05:01:03.000Z","time":4,
   "request":{"method":"GET","url":"http://api.example/img.bin","httpVersion":"HTTP/1.1","headers":[],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},
   "response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[{"name":"Content-Type","value":"application/octet-stream"}],
     "cookies":[],"content":{"size":9,"mimeType":"application/octet-stream","text":"BIN_B64","encoding":"base64"},
     "redirectURL":"","headersSize":-1,"bodySize":9},
   "cache":{},"timings":{"send":0,"wait":3,"receive":1}},
  {"startedDateTime":"2026-11-26T05:01:04.000Z","time":2,
   "request":{"method":"POST","url":"http://api.example/v1/charges","httpVersion":"HTTP/1.1",
     "headers":[{"name":"Content-Type","value":"application/json"}],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":15,
     "postData":{"mimeType":"application/json","text":"{\"amount\":1200}"}},
   "response":{"status":204,"statusText":"No Content","httpVersion":"HTTP/1.1","headers":[],"cookies":[],
     "content":{"size":0,"mimeType":"x-unknown","text":""},"redirectURL":"","headersSize":-1,"bodySize":0},
   "cache":{},"timings":{"send":0,"wait":1.5,"receive":0.5}}
 ]}}
EOF2
sed -i "s/BIN_B64/$bin_b64/" "$T/in.har"

"$DECOY" import har "$T/in.har" -o "$T/snap.jsonl" >"$T/import.out" 2>"$T/import.err"
check "import exits 0" [ $? -eq 0 ]
check "import counts the transactions" grep -q "^3 transactions imported" "$T/import.err"
check "snapshot has 3 lines" [ "$(wc -l <"$T/snap.jsonl")" -eq 3 ]
check "the big number in the body is kept exactly" \
    grep -qF '9007199254740993' "$T/snap.jsonl"
check "the binary body is stored as body_b64" \
    grep -qF "\"body_b64\":\"$bin_b64\"" "$T/snap.jsonl"
check "ttfb and total from the timings" \
    grep -qF '"timing":{"start_us":1795669262123000,"ttfb_us":10000,"total_us":12500}' \
    "$T/snap.jsonl"

"$DECOY" inspect "$T/snap.jsonl" >"$T/inspect.txt" 2>&1
check "inspect exits 0" [ $? -eq 0 ]
check "inspect: GET /v1/items" grep -Eq 'GET +api\.example +/v1/items ' "$T/inspect.txt"
check "inspect: GET /img.bin" grep -Eq 'GET +api\.example +/img\.bin ' "$T/inspect.txt"
check "inspect: POST /v1/charges, 204" \
    grep -Eq 'POST +api\.example +/v1/charges +1 +204:1' "$T/inspect.txt"

start_respond r "$T/snap.jsonl"
P=$PORT_r
printf '%s' "$bin_b64" | base64 -d >"$T/exp-bin"
curl -s -o "$T/got-bin" -H 'Host: api.example' "http://127.0.0.1:$P/img.bin"
check "respond: binary body byte-exact" same "$T/got-bin" "$T/exp-bin"
curl -s -D "$T/hdr1" -o "$T/got1" -H 'Host: api.example' \
    "http://127.0.0.1:$P/v1/items?page=2&sort=asc"
printf '{"id":9007199254740993,"n":2}' >"$T/exp1"
check "respond: JSON body byte-exact" same "$T/got1" "$T/exp1"
check "respond: both Set-Cookie headers" \
    [ "$(grep -ci '^Set-Cookie:' "$T/hdr1")" -eq 2 ]
code=$(curl -s -o "$T/got3" -w '%{http_code}' -H 'Host: api.example' \
    -H 'Content-Type: application/json' --data-binary '{"amount":1200}' \
    "http://127.0.0.1:$P/v1/charges")
check "respond: POST matched, 204" [ "$code" = 204 ]
check "respond: empty body" [ ! -s "$T/got3" ]

# Export, then import again: the same snapshot.
"$DECOY" export har "$T/snap.jsonl" -o "$T/out.har" 2>"$T/export.err"
check "export exits 0" [ $? -eq 0 ]
check "export: HAR 1.2 by decoy" grep -qF '"version":"1.2","creator":{"name":"decoy"' "$T/out.har"
"$DECOY" import har "$T/out.har" -o "$T/snap2.jsonl" 2>/dev/null
check "export then import: identical snapshot" same "$T/snap2.jsonl" "$T/snap.jsonl"
# Through stdin and stdout too.
"$DECOY" export har - -o - <"$T/snap.jsonl" 2>/dev/null |
    "$DECOY" import har - -o - >"$T/snap3.jsonl" 2>/dev/null
check "- for stdin and stdout" same "$T/snap3.jsonl" "$T/snap.jsonl"
"$DECOY" import har "$T/in.har" --dir in -o "$T/in.jsonl" 2>/dev/null
check "--dir in" [ "$(grep -c '"dir":"in"' "$T/in.jsonl")" -eq 3 ]

# A broken HAR: exit 2, the file, line and column named, no snapshot.
head -c 300 "$T/in.har" >"$T/broken.har"
"$DECOY" import har "$T/broken.har" -o "$T/never.jsonl" 2>"$T/err.txt"
check "broken HAR: exit status 2" [ $? -eq 2 ]
check "broken HAR: file, line and column named" \
    grep -Eq "^decoy import: $T/broken\.har:5:[0-9]+: " "$T/err.txt"
check "broken HAR: no snapshot written" [ ! -e "$T/never.jsonl" ]
# A bad status on line 8 of the browser HAR: named there.
sed '8s/"status":200/"status":1000/' "$T/in.har" >"$T/status.har"
"$DECOY" import har "$T/status.har" -o "$T/never.jsonl" 2>"$T/err.txt"
check "bad status: named at its line:col" \
    grep -Eq "^decoy import: $T/status\.har:8:[0-9]+: \"status\"" "$T/err.txt"

# Lossless: every member of decoy's (dir, svc, client, server, proto, id,
# tags and members it does not know) survives export then import, byte
# for byte, for every bundled snapshot and for one that uses them all.
cat >"$T/members.jsonl" <<'EOF2'
{"v":1,"id":"t-1","ts":"2026-11-26T05:01:02.123456Z","dir":"in","svc":"orders","proto":"http/1.0","tls":true,"client":"10.0.0.7:51234","server":"10.0.0.2:8443","req":{"method":"POST","target":"/v1/orders?x=1","host":"shop","headers":[["Content-Type","application/json"]],"body":"{\"qty\":1.50}"},"res":{"status":201,"reason":"Created","headers":[["Content-Encoding","gzip"]],"body_b64":"H4sIAAAAAAAAA6uuBQBDv6ajAgAAAA=="},"timing":{"start_us":1795669262123456,"ttfb_us":1500,"total_us":2100},"tags":{"session":"s-9"},"future":{"x":[1,2]}}
{"v":1,"id":"t-2","dir":"out","svc":"payments","req":{"method":"GET","target":"/ping"},"error":"upstream refused"}
EOF2
for f in "$top_srcdir"/examples/snapshots/*.jsonl "$T/members.jsonl"; do
	b=$(basename "$f" .jsonl)
	"$DECOY" export har "$f" -o "$T/rt-$b.har" 2>/dev/null &&
	    "$DECOY" import har "$T/rt-$b.har" -o "$T/rt-$b.jsonl" 2>/dev/null
	check "round trip of $b: exit 0" [ $? -eq 0 ]
	check "round trip of $b: byte for byte" cmp -s "$f" "$T/rt-$b.jsonl"
done
check "the HAR keeps decoy's members in a custom field" \
    grep -qF '"_decoy":{"v":1,"id":"t-1"' "$T/rt-members.har"
check "... and is still a HAR a viewer reads (the URL)" \
    grep -qF '"url":"https://10.0.0.2:8443/v1/orders?x=1"' "$T/rt-members.har"
# A "_decoy" member that is not a transaction: named at its line:col.
sed 's/"_decoy":{"v":1,"id":"t-1"/"_decoy":{"v":1,"id":7/' \
    "$T/rt-members.har" >"$T/baddecoy.har"
"$DECOY" import har "$T/baddecoy.har" -o "$T/never.jsonl" 2>"$T/err.txt"
check "a bad _decoy: exit 2 at its line:col" \
    grep -Eq "^decoy import: $T/baddecoy\.har:2:[0-9]+: \"_decoy\": " "$T/err.txt"
"$DECOY" import har "$T/nope.har" -o "$T/never.jsonl" 2>"$T/err.txt"
check "missing HAR: exit status 2" [ $? -eq 2 ]
check "missing HAR: named" grep -qF "$T/nope.har: No such file" "$T/err.txt"
"$DECOY" import pcap "$T/x.pcap" -o "$T/never.jsonl" 2>"$T/err.txt"
check "pcap: exit status 2" [ $? -eq 2 ]
check "pcap: a missing capture is named" grep -qF "x.pcap: No such file or directory" "$T/err.txt"

done_testing
