#!/bin/bash
# decoy record between h2 clients (curl --http2-prior-knowledge, nghttp)
# and an upstream that speaks HTTP/1.1 only (nginx, no h2): the upstream
# answers our preface with an HTTP/1.1 400, so the client's streams are
# translated down, each an HTTP/1.1 exchange on a connection of our own;
# the answers go back as h2 (a chunked answer's trailers as a trailing
# HEADERS), recorded with proto "h2".  A second recorder between the
# first and nginx shows what nginx was sent: request lines and Host, a
# body of unknown length chunked, one with a content-length as is (nginx
# proxies /echo to itself, so it reads the whole body before it answers).
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
command -v nginx >/dev/null || skip "nginx is not installed"
command -v nghttp >/dev/null || skip "nghttp (nghttp2-client) is not installed"
mkdir -p "$T/www"
seq 1 3000 >"$T/www/a.txt"
echo small >"$T/www/b.txt"
head -c 3000000 /dev/urandom >"$T/www/big.bin"
chmod 755 "$T" "$T/www"
chmod 644 "$T/www"/*
start_nginx "$T/www" /a.txt "" 'gzip on; gzip_types text/plain;
	gzip_min_length 1; add_trailer X-Tr "t1" always;
	location /echo { proxy_pass http://127.0.0.1:@PORT@/sink; }
	location /sink { return 200 "got it\n"; }'

# rec1 (h2 clients) -> rec2 (HTTP/1.1 only, --no-http2: it sees the
# requests as sent) -> nginx
start_bg rec2 "$T/rec2.port" "$DECOY" record --upstream "http://127.0.0.1:$NPORT" \
    --listen 127.0.0.1:0 --port-file "$T/rec2.port" -o "$T/rec2.jsonl" \
    --no-http2
start_bg rec1 "$T/rec1.port" "$DECOY" record \
    --upstream "http://127.0.0.1:$PORT_rec2" --listen 127.0.0.1:0 \
    --port-file "$T/rec1.port" -o "$T/rec1.jsonl"
U=http://127.0.0.1:$PORT_rec1

v=$(curl -s --http2-prior-knowledge -w '%{http_version} %{http_code}' \
    -o "$T/a.out" "$U/a.txt")
check "curl over h2: answered over h2, 200 ($v)" [ "$v" = "2 200" ]
check "curl over h2: nginx's file, byte-exact" same "$T/a.out" "$T/www/a.txt"
# 3 MB to a client reading at 4 MB/s: the answer waits in the upstream's
# socket (record_h2_upstream_full), not in the recorder, and comes whole.
curl -s --http2-prior-knowledge --limit-rate 4M -o "$T/big.out" "$U/big.bin"
check "a big answer to a slow h2 client, byte-exact" \
    same "$T/big.out" "$T/www/big.bin"
nghttp -v -H 'accept-encoding: gzip' "$U/a.txt" "$U/b.txt" "$U/nope" \
    >"$T/ng.out" 2>&1
check "nghttp: three streams on one connection, 200 200 404" \
    bash -c "[ \$(grep -c 'recv (stream_id=[0-9]*) :status: 200' '$T/ng.out') -eq 2 ] && grep -q 'recv (stream_id=[0-9]*) :status: 404' '$T/ng.out'"
check "nghttp: nginx's chunked trailer as a trailing HEADERS" \
    [ "$(grep -B1 'recv HEADERS frame <length=[0-9]*, flags=0x05' "$T/ng.out" | grep -c 'x-tr: t1')" -eq 3 ]
check "nghttp: no HTTP/1.1 connection field crossed" \
    bash -c "! grep -Eqi 'recv \\(stream_id=[0-9]*\\) (connection|transfer-encoding|keep-alive):' '$T/ng.out'"
echo streamed | curl -s --http2-prior-knowledge -T - "$U/echo" >"$T/up.out"
check "an upload of unknown length answered" grep -qx 'got it' "$T/up.out"
echo sized >"$T/sized.txt"
nghttp -d "$T/sized.txt" --trailer 'x-rt: v' "$U/echo" >"$T/up2.out" 2>&1
check "an upload with a content-length answered" grep -qx 'got it' "$T/up2.out"
stop "$PID_rec1"
stop "$PID_rec2"

check "the recorder said it translated down, once per target" \
    [ "$(grep -c 'answered HTTP/1.1: its streams go as HTTP/1.1 requests' "$T/rec1.log")" -eq 1 ]
check "the trailers a content-length body cannot carry: logged" \
    grep -q 'POST /echo: HTTP/1.1 upstream: the request.s trailers dropped' "$T/rec1.log"
"$PY" - "$T/rec1.jsonl" "$T/rec2.jsonl" >"$T/check.txt" 2>&1 <<'EOF2'
import json, sys
r1 = [json.loads(l) for l in open(sys.argv[1])]
r2 = [json.loads(l) for l in open(sys.argv[2])]
ok = []
ok.append(('rec1: 7 transactions, all proto h2, no error',
    len(r1) == 7 and all(t['proto'] == 'h2' and 'error' not in t for t in r1)))
gz = [t for t in r1 if ['accept-encoding', 'gzip'] in t['req']['headers']]
ok.append(('rec1: the chunked answers with their trailers', len(gz) == 3 and
    all(t['res'].get('trailers') == [['x-tr', 't1']] for t in gz)))
ok.append(('rec1: answer fields in h2 form (lower case, no transfer-encoding)',
    all(n == n.lower() and n != 'transfer-encoding'
        for t in r1 for n, v in t['res']['headers'])))
ok.append(('rec2: 7 HTTP/1.1 exchanges', len(r2) == 7 and
    all(t['proto'] == 'http/1.1' for t in r2)))
hosts = set(v for t in r2 for n, v in t['req']['headers'] if n.lower() == 'host')
ok.append(('rec2: Host from :authority', len(hosts) == 1))
ups = [t for t in r2 if t['req']['method'] == 'PUT' or t['req']['target'] == '/echo']
chunked = [t for t in ups if ['transfer-encoding', 'chunked'] in
    [[n.lower(), v] for n, v in t['req']['headers']]]
ok.append(('rec2: the upload of unknown length went chunked, body whole',
    len(chunked) == 1 and chunked[0]['req'].get('body') == 'streamed\n'))
sized = [t for t in ups if t['req'].get('body') == 'sized\n']
ok.append(('rec2: the sized upload as is (content-length, no trailers)',
    len(sized) == 1 and 'trailers' not in sized[0]['req'] and
    ['content-length', '6'] in sized[0]['req']['headers']))
for name, v in ok:
    print('ok' if v else 'FAIL', name)
EOF2
check "the snapshots hold what each side saw" \
    bash -c "! grep -q '^FAIL' '$T/check.txt' && grep -q '^ok' '$T/check.txt'"
grep -v '^ok' "$T/check.txt" >&2

done_testing
