#!/bin/bash
# decoy respond over HTTP/2 (issue 16): a request with "expect:
# 100-continue" gets a 100 as an informational HEADERS frame before its
# answer (RFC 9113 8.1; curl --http2-prior-knowledge -H 'Expect:
# 100-continue'), and a request's trailers (nghttp --trailer) are part of
# the request the responder sees: a miss passed through to the dependency
# (nginx) is recorded by --record-misses with its req.trailers.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip "curl is not installed"
command -v nghttp >/dev/null || skip "nghttp (nghttp2-client) is not installed"
command -v nginx >/dev/null || skip "no nginx"
curl -V | grep -q HTTP2 || skip "curl has no HTTP/2"

mkdir -p "$T/www"
echo '{"known":true}' >"$T/www/known.json"
chmod a+rx "$T" "$T/www"	# nginx's worker runs as nobody
chmod a+r "$T"/www/*
start_nginx "$T/www" /known.json "" ""
NP=$NPORT
H=127.0.0.1:$NP
printf '{"v":1,"id":"t-1","dir":"out","req":{"method":"POST","target":"/v1/sum","host":"%s","body":"1+2"},"res":{"status":201,"reason":"Created","headers":[["Content-Type","text/plain"]],"body":"3"}}\n' \
    "$H" >"$T/snap.jsonl"
start_respond d "$T/snap.jsonl" --unmatched passthrough \
    --record-misses "$T/misses.jsonl"
P=$PORT_d
printf '1+2' >"$T/body"

# 1. Expect: 100-continue: the 100 first, then the recorded answer.
curl -s -v --max-time 10 --http2-prior-knowledge -H "Host: $H" \
    -H 'Expect: 100-continue' --data-binary @"$T/body" -o "$T/c.out" \
    "http://127.0.0.1:$P/v1/sum" 2>"$T/c.err"
check "expect: 100-continue: a 100 HEADERS frame came" \
    grep -q '^< HTTP/2 100' "$T/c.err"
check "expect: 100-continue: then the answer (201)" \
    grep -q '^< HTTP/2 201' "$T/c.err"
check "expect: 100-continue: the recorded body" [ "$(cat "$T/c.out")" = 3 ]
curl -s -v --max-time 10 --http2-prior-knowledge -H "Host: $H" \
    --data-binary @"$T/body" -o "$T/n.out" \
    "http://127.0.0.1:$P/v1/sum" 2>"$T/n.err"
check "no expect: no 100" sh -c "! grep -q '^< HTTP/2 100' '$T/n.err'"
check "no expect: the answer" [ "$(cat "$T/n.out")" = 3 ]

# 2. Trailers: a matched request with trailers is answered as without.
nghttp -n -s -d "$T/body" --trailer 'x-sum: 3' --trailer 'x-check: ok' \
    -H ":authority: $H" "http://127.0.0.1:$P/v1/sum" >"$T/t.out" 2>&1
check "trailers: a matched request is answered" \
    grep -q '^ *[0-9].*201 .*/v1/sum' "$T/t.out"
# A miss with trailers, passed through and recorded with them.
nghttp -n -s -d "$T/body" --trailer 'x-sum: 3' --trailer 'x-check: ok' \
    -H ":authority: $H" "http://127.0.0.1:$P/v1/other" >"$T/m.out" 2>&1
check "trailers: the miss was passed through (nginx's 404)" \
    grep -q '^ *[0-9].*404 .*/v1/other' "$T/m.out"
check "trailers: recorded as req.trailers" \
    grep -q '"target":"/v1/other".*"trailers":\[\["x-sum","3"\],\["x-check","ok"\]\]' \
    "$T/misses.jsonl"
curl -s --max-time 10 --http2-prior-knowledge -H "Host: $H" \
    --data-binary @"$T/body" -o "$T/z.out" "http://127.0.0.1:$P/v1/sum"
check "the responder still answers" [ "$(cat "$T/z.out")" = 3 ]
done_testing
