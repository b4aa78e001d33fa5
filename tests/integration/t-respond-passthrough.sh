#!/bin/bash
# Issue 19, item 6: `decoy respond --unmatched passthrough` forwards a miss
# to the real dependency (nginx here) and answers with its response, byte
# for byte; --record-misses appends the exchange to a snapshot, and a
# responder restarted on the snapshot plus that file matches the same
# request with the dependency gone; chaos rules apply to passed-through
# replies.  A host that is not allowed is never
# forwarded to; a dependency that is down is a 502 naming the cause.  Over
# TLS (decoy --tls), the miss goes to the dependency over https.
. "$(dirname "$0")/lib.sh"

command -v nginx >/dev/null || skip "no nginx"
command -v curl >/dev/null || skip "no curl"

mkdir -p "$T/www"
echo '{"known":true}' >"$T/www/known.json"
# Every byte value, twice, and some text: the body must come back exact.
/usr/bin/python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 2 + b"tail\n")' \
    >"$T/www/extra.bin"
echo 'second file' >"$T/www/other.txt"
chmod a+rx "$T" "$T/www"	# nginx's worker runs as nobody
chmod a+r "$T"/www/*
# An https server block too (a self-signed certificate for 127.0.0.1),
# when openssl can make one.
SP=
if command -v openssl >/dev/null &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=dep \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$T/dep.key" \
    -out "$T/dep.pem" >/dev/null 2>&1; then
	chmod a+r "$T/dep.key"
	SP=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	SSL="server { listen 127.0.0.1:$SP ssl; root $T/www; ssl_certificate $T/dep.pem; ssl_certificate_key $T/dep.key; }"
fi
start_nginx "$T/www" /known.json "${SSL:-}" ""
NP=$NPORT

# The snapshot records the dependency but lacks /extra.bin and /other.txt.
printf '{"v":1,"id":"k1","dir":"out","req":{"method":"GET","target":"/known.json","host":"127.0.0.1:%s"},"res":{"status":200,"body":"recorded\\n"}}\n' \
    "$NP" >"$T/snap.jsonl"

start_respond d "$T/snap.jsonl" --unmatched passthrough \
    --record-misses "$T/misses.jsonl"

code=$(curl -s -o "$T/extra.out" -w '%{http_code}' \
    -H "Host: 127.0.0.1:$NP" "http://127.0.0.1:$PORT_d/extra.bin")
check "a miss is forwarded and answered 200" [ "$code" = 200 ]
check "the dependency's body comes back byte-exact" \
    cmp -s "$T/www/extra.bin" "$T/extra.out"
code=$(curl -s -o "$T/known.out" -w '%{http_code}' \
    -H "Host: 127.0.0.1:$NP" "http://127.0.0.1:$PORT_d/known.json")
check "a match is still answered from the snapshot" \
    [ "$code:$(cat "$T/known.out")" = "200:recorded" ]
# Keep-alive: two misses on one connection, both forwarded.
curl -s -o "$T/ka1.out" -o "$T/ka2.out" -H "Host: 127.0.0.1:$NP" \
    "http://127.0.0.1:$PORT_d/other.txt" "http://127.0.0.1:$PORT_d/extra.bin"
check "two misses on one keep-alive connection" \
    sh -c "cmp -s '$T/www/other.txt' '$T/ka1.out' && cmp -s '$T/www/extra.bin' '$T/ka2.out'"

check "the misses file holds the three exchanges" \
    [ "$(wc -l <"$T/misses.jsonl")" = 3 ]
check "the misses file is mode 0600" \
    [ "$(stat -c %a "$T/misses.jsonl")" = 600 ]
check "the exchange is recorded as dir out with its target" \
    grep -q '"dir":"out".*"target":"/extra.bin"' "$T/misses.jsonl"

# Chaos rules apply to passed-through replies as to recorded ones: a
# header and a status on /other.txt, with a chaos-log line.
cat >"$T/pass-rules.yaml" <<'EOF2'
rules:
  - name: pass-header
    match: {path: '^/other\.txt$'}
    fault: {headers: {X-Chaos: passthrough}}
  - name: pass-teapot
    match: {path: '^/teapot$'}
    fault: {status: 418}
EOF2
start_respond c "$T/snap.jsonl" --unmatched passthrough \
    --rules "$T/pass-rules.yaml" --chaos-log "$T/pass-chaos.jsonl"
curl -s -D "$T/pc.head" -o "$T/pc.out" -H "Host: 127.0.0.1:$NP" \
    "http://127.0.0.1:$PORT_c/other.txt"
check "chaos on a passed-through reply: the rule's header" \
    grep -qi '^X-Chaos: passthrough' "$T/pc.head"
check "chaos on a passed-through reply: the dependency's body kept" \
    cmp -s "$T/www/other.txt" "$T/pc.out"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: 127.0.0.1:$NP" \
    "http://127.0.0.1:$PORT_c/teapot")
check "chaos on a passed-through reply: the rule's status (nginx said 404)" \
    [ "$code" = 418 ]
check "chaos on a passed-through reply: chaos-log lines" \
    sh -c "grep -q '\"rule\":\"pass-header\"' '$T/pass-chaos.jsonl' && grep -q '\"rule\":\"pass-teapot\"' '$T/pass-chaos.jsonl'"
code=$(curl -s -o "$T/pc2.out" -w '%{http_code}' -H "Host: 127.0.0.1:$NP" \
    "http://127.0.0.1:$PORT_c/extra.bin")
check "a miss no rule matches is passed through as is" \
    sh -c "[ $code = 200 ] && cmp -s '$T/www/extra.bin' '$T/pc2.out'"

# localhost:NP is the same nginx, but the snapshot does not record it: not
# allowed, so answered as a miss (404) and not forwarded (nginx would 200).
code=$(curl -s -o "$T/refused.out" -w '%{http_code}' \
    -H "Host: localhost:$NP" "http://127.0.0.1:$PORT_d/extra.bin")
check "a host not allowed is not forwarded (404)" [ "$code" = 404 ]
check "and nothing was recorded for it" \
    [ "$(wc -l <"$T/misses.jsonl")" = 3 ]

# --passthrough-allow replaces the recorded hosts.
start_respond a "$T/snap.jsonl" --unmatched passthrough \
    --passthrough-allow "localhost:$NP,other.example"
code=$(curl -s -o "$T/allow1.out" -w '%{http_code}' \
    -H "Host: localhost:$NP" "http://127.0.0.1:$PORT_a/other.txt")
check "--passthrough-allow: an allowed host is forwarded" \
    [ "$code:$(cat "$T/allow1.out")" = "200:second file" ]
code=$(curl -s -o /dev/null -w '%{http_code}' \
    -H "Host: 127.0.0.1:$NP" "http://127.0.0.1:$PORT_a/other.txt")
check "--passthrough-allow: the recorded host is no longer allowed" \
    [ "$code" = 404 ]
# An allowed name that does not resolve fails before any I/O: a 502, and
# the keep-alive connection goes on to the next request.
curl -s -o "$T/nx1.out" -o "$T/nx2.out" -w '%{http_code} ' \
    -H "Host: other.example" "http://127.0.0.1:$PORT_a/x" \
    "http://127.0.0.1:$PORT_a/y" >"$T/nx.codes"
check "an unresolvable allowed host is a 502, twice on one connection" \
    sh -c "[ \"\$(cat '$T/nx.codes')\" = '502 502 ' ] && grep -q 'other.example' '$T/nx2.out'"

"$DECOY" respond "$T/snap.jsonl" --listen 127.0.0.1:0 \
    --record-misses "$T/nope.jsonl" >"$T/usage.out" 2>&1
check "--record-misses without passthrough: exit 2, said why" \
    sh -c "[ $? = 2 ] && grep -q 'need --unmatched passthrough' '$T/usage.out'"

# decoyd: unmatched: passthrough, passthrough_allow, record_misses.
cat >"$T/decoyd.yaml" <<EOF2
snapshot: snap.jsonl
listen: 127.0.0.1:0
port_file: decoyd.port
unmatched: passthrough
passthrough_allow: 127.0.0.1:$NP
record_misses: decoyd-misses.jsonl
EOF2
start_bg dd "$T/decoyd.port" "$DECOYD" -c "$T/decoyd.yaml"
code=$(curl -s -o "$T/dd.out" -w '%{http_code}' \
    -H "Host: 127.0.0.1:$NP" "http://127.0.0.1:$PORT_dd/other.txt")
check "decoyd: the miss is passed through" \
    [ "$code:$(cat "$T/dd.out")" = "200:second file" ]
check "decoyd: and recorded to record_misses (relative to the file)" \
    grep -q '"target":"/other.txt"' "$T/decoyd-misses.jsonl"

# Pipelined: a miss, a match and a miss in one write come back in order.
start_respond q "$T/snap.jsonl" --unmatched passthrough \
    --passthrough-allow 127.0.0.1 --workers 1
/usr/bin/python3 - "$PORT_q" "$NP" >"$T/pipe.out" 2>&1 <<'EOF2'
import socket, sys
port, np = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
req = "GET %s HTTP/1.1\r\nHost: 127.0.0.1:" + np + "\r\n\r\n"
s.sendall(((req % "/other.txt") + (req % "/known.json") +
    (req % "/other.txt").replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n")).encode())
data = s.makefile("rb").read()
bodies = [part.split(b"\r\n\r\n", 1)[1][:20] for part in data.split(b"HTTP/1.1 ")[1:]]
print(bodies)
EOF2
check "pipelined miss, match, miss answered in order" \
    grep -qF "[b'second file\n', b'recorded\n', b'second file\n']" "$T/pipe.out"

# A dependency that never answers, and a client that gives up meanwhile:
# the exchange is dropped with the connection, the responder goes on.
/usr/bin/python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1]); time.sleep(120)' \
    "$T/silent.port" &
PIDS+=("$!")
SILENT=$(wait_port "$T/silent.port" "$!") || exit 1
curl -s -o /dev/null --max-time 0.5 -H "Host: 127.0.0.1:$SILENT" \
    "http://127.0.0.1:$PORT_q/never"
check "a client may leave while the dependency is silent" [ $? = 28 ]
code=$(curl -s -o "$T/after.out" -w '%{http_code}' \
    -H "Host: 127.0.0.1:$NP" "http://127.0.0.1:$PORT_q/other.txt")
check "and the responder goes on" [ "$code:$(cat "$T/after.out")" = "200:second file" ]

# HTTPS: a client talking TLS to decoy (--tls) has its miss forwarded over
# TLS, the dependency verified against --passthrough-ca.
if [ -n "$SP" ] && curl -s -o /dev/null --cacert "$T/dep.pem" \
    "https://127.0.0.1:$SP/known.json" &&
    "$DECOY" ca init --ca "$T/ca" 2>/dev/null; then
	printf '{"v":1,"id":"s1","dir":"out","req":{"method":"GET","target":"/known.json","host":"127.0.0.1:%s"},"res":{"status":200,"body":"recorded\\n"}}\n' \
	    "$SP" >"$T/snap-tls.jsonl"
	start_respond s "$T/snap-tls.jsonl" --tls --ca "$T/ca" \
	    --unmatched passthrough --passthrough-ca "$T/dep.pem" \
	    --record-misses "$T/misses-tls.jsonl"
	code=$(curl -s --cacert "$T/ca/ca.pem" -o "$T/tls.out" \
	    -w '%{http_code}' -H "Host: 127.0.0.1:$SP" \
	    "https://127.0.0.1:$PORT_s/extra.bin")
	check "https: the miss is forwarded over TLS, byte-exact" \
	    sh -c "[ '$code' = 200 ] && cmp -s '$T/www/extra.bin' '$T/tls.out'"
	check "https: and recorded, as tls" grep -q '"tls":true.*"target":"/extra.bin"' \
	    "$T/misses-tls.jsonl"
	start_respond u "$T/snap-tls.jsonl" --tls --ca "$T/ca" \
	    --unmatched passthrough
	code=$(curl -s --cacert "$T/ca/ca.pem" -o "$T/untrusted.out" \
	    -w '%{http_code}' -H "Host: 127.0.0.1:$SP" \
	    "https://127.0.0.1:$PORT_u/extra.bin")
	check "https: a dependency that fails verification is a 502" \
	    sh -c "[ '$code' = 502 ] && grep -q 'passthrough failed: 127.0.0.1:$SP: .*verif' '$T/untrusted.out'"
else
	echo "# no https dependency (openssl or nginx ssl unavailable): skipped"
fi

# The dependency goes away: a miss is a 502 naming the cause.
kill "$NGINX_PID"
wait "$NGINX_PID" 2>/dev/null
wait_for "nginx gone" sh -c "! curl -s -o /dev/null http://127.0.0.1:$NP/"
code=$(curl -s -o "$T/down.out" -w '%{http_code}' \
    -H "Host: 127.0.0.1:$NP" "http://127.0.0.1:$PORT_d/gone.txt")
check "a dependency that is down is a 502" [ "$code" = 502 ]
check "naming the dependency and the cause" \
    grep -q "passthrough failed: 127.0.0.1:$NP: .*refused" "$T/down.out"
check "a failed exchange is not recorded" \
    [ "$(wc -l <"$T/misses.jsonl")" = 3 ]

# The next run: snapshot + misses, the dependency still down, no
# passthrough: the former miss is now a match, byte for byte.
cat "$T/snap.jsonl" "$T/misses.jsonl" >"$T/next.jsonl"
start_respond n "$T/next.jsonl"
code=$(curl -s -o "$T/next.out" -w '%{http_code}' \
    -H "Host: 127.0.0.1:$NP" "http://127.0.0.1:$PORT_n/extra.bin")
check "the recorded miss is a match in the next run" [ "$code" = 200 ]
check "with the same bytes" cmp -s "$T/www/extra.bin" "$T/next.out"
done_testing
