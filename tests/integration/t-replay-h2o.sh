#!/bin/bash
# t-replay-h2o.sh -- `decoy replay --http2` against h2o serving files, a
# server nobody here wrote; its access log prints the protocol of each
# request (%H):
#   1. cleartext with prior knowledge and TLS with ALPN: every request is
#      logged "HTTP/2", every answer compares as recorded, and a missing
#      file's 404 is a regression (the comparison still works over h2);
#   2. h2o closes idle connections with GOAWAY (http2-idle-timeout 1s): a
#      recording with a 1.6 s gap replays across the GOAWAY on a new
#      connection, without errors;
#   3. --http2-upgrade: the Upgrade: h2c dance on each connection (h2o
#      logs HTTP/2 for every request, the asking one too, a POST's body
#      included); a server that does not upgrade stops the run, exit 2;
#   4. without --http2 the same run is HTTP/1.1 (the default is unchanged).
. "$(dirname "$0")/lib.sh"

command -v h2o >/dev/null || skip "h2o is not installed"
command -v jq >/dev/null || skip "jq is not installed"
command -v openssl >/dev/null || skip "the openssl CLI is not installed"

jqr() {
	jq -r "$2" "$1"
}

mkdir "$T/www"
printf 'hello from h2o' >"$T/www/hello.txt"
printf '{"items":[1,2,3]}' >"$T/www/items.json"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$T/srv.key" -out "$T/srv.pem" -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    >"$T/openssl.log" 2>&1 || fatal "cannot make a certificate"

start_h2o /hello.txt "user: $(id -un)
error-log: $T/h2o-error.log
http2-idle-timeout: 1
listen:
  host: 127.0.0.1
  port: @PORT@
listen:
  host: 127.0.0.1
  port: @PORT2@
  ssl:
    certificate-file: $T/srv.pem
    key-file: $T/srv.key
hosts:
  default:
    paths:
      /:
        file.dir: $T/www
    access-log:
      path: $T/access.log
      format: '%H %m %U %s'"
P=$HPORT
PS=$HPORT2
: >"$T/access.log"

# Three files and a missing one, recorded with the answers an HTTP/1.1
# server gave (Content-Length, Connection: keep-alive).
{
	for f in hello.txt items.json hello.txt; do
		jq -nc --arg f "$f" --rawfile body "$T/www/$f" \
		    '{v: 1, id: ("i-" + $f), dir: "in",
		      req: {method: "GET", target: ("/" + $f),
		            headers: [["Connection", "keep-alive"]]},
		      res: {status: 200, headers: [["Connection", "keep-alive"]],
		            body: $body}}'
	done
	printf '{"v":1,"id":"gone","dir":"in","req":{"method":"GET","target":"/gone.txt","headers":[]},"res":{"status":200,"headers":[],"body":"was here"}}\n'
} >"$T/files.jsonl"

# --- 1. prior knowledge, then ALPN -------------------------------------
for mode in plain tls; do
	if [ $mode = plain ]; then
		url="http://127.0.0.1:$P"
		extra=()
	else
		url="https://127.0.0.1:$PS"
		extra=(--ca "$T/srv.pem")
	fi
	: >"$T/access.log"
	"$DECOY" replay "$T/files.jsonl" --target "$url" --http2 "${extra[@]}" \
	    --compare-headers connection --report "$T/$mode.json" \
	    >"$T/$mode.out" 2>"$T/$mode-replay.log"
	check "$mode: exit 1 (the missing file is a regression)" [ $? -eq 1 ]
	check "$mode: report says h2" [ "$(jqr "$T/$mode.json" .protocol)" = h2 ]
	check "$mode: 4 answered, 1 regression, no errors" \
	    eval "[ \"\$(jqr '$T/$mode.json' '\"\(.totals.count) \(.totals.compared) \(.totals.regressions) \([.totals.errors[]] | add)\"')\" = '4 4 1 0' ]"
	check "$mode: the regression is the 404" \
	    eval "[ \"\$(jqr '$T/$mode.json' '.endpoints[] | select(.path == \"/gone.txt\") | .diffs[0] | \"\(.field) \(.expected) \(.actual)\"')\" = 'status 200 404' ]"
	# The probe connects without a request: 4 lines, all HTTP/2.
	wait_for "h2o's access log" eval "[ \$(wc -l <'$T/access.log') -ge 4 ]"
	check "$mode: h2o logged every request as HTTP/2" \
	    eval "[ \"\$(grep -c '^HTTP/2 GET ' '$T/access.log')\" -eq 4 ] &&
	    ! grep -q '^HTTP/1' '$T/access.log'"
done

# --- 2. GOAWAY on an idle connection ---------------------------------------
printf '%s\n' \
    '{"v":1,"id":"a","dir":"in","timing":{"start_us":1000000},"req":{"method":"GET","target":"/hello.txt","headers":[]},"res":{"status":200,"headers":[],"body":"hello from h2o"}}' \
    '{"v":1,"id":"b","dir":"in","timing":{"start_us":2600000},"req":{"method":"GET","target":"/hello.txt","headers":[]},"res":{"status":200,"headers":[],"body":"hello from h2o"}}' \
    >"$T/gap.jsonl"
"$DECOY" replay -v "$T/gap.jsonl" --target "http://127.0.0.1:$P" --http2 \
    -c 1 --report "$T/gap.json" >"$T/gap.out" 2>"$T/gap-replay.log"
rc=$?
check "idle GOAWAY: exit 0" [ "$rc" -eq 0 ]
check "idle GOAWAY: both answered as recorded" \
    [ "$(jqr "$T/gap.json" '"\(.totals.compared) \(.totals.regressions) \([.totals.errors[]] | add)"')" = '2 0 0' ]
check "idle GOAWAY: h2o's GOAWAY ended the first connection" \
    grep -q 'h2 connection ended: GOAWAY (NO_ERROR) received' "$T/gap-replay.log"

# --- 3. Upgrade: h2c --------------------------------------------------------
# Each connection's first request asks for h2 over HTTP/1.1, h2o answers
# 101 and that request's answer comes as stream 1; a POST's body goes
# with the asking request.
{
	cat "$T/files.jsonl"
	printf '{"v":1,"id":"post","dir":"in","req":{"method":"POST","target":"/hello.txt","headers":[["Content-Type","text/plain"]],"body":"a body"},"res":{"status":405,"headers":[],"body":""}}\n'
} | grep -v '"gone"' >"$T/up.jsonl"
: >"$T/access.log"
"$DECOY" replay "$T/up.jsonl" --target "http://127.0.0.1:$P" \
    --http2-upgrade -c 2 --streams 4 --body none --report "$T/up.json" \
    >"$T/up.out" 2>"$T/up-replay.log"
rc=$?
check "upgrade: exit 0" [ "$rc" -eq 0 ]
check "upgrade: report says h2, 4 answered, no errors, no regression" \
    [ "$(jqr "$T/up.json" '"\(.protocol) \(.totals.count) \([.totals.errors[]] | add) \(.totals.regressions)"')" = 'h2 4 0 0' ]
wait_for "h2o's access log" eval "[ \$(wc -l <'$T/access.log') -ge 4 ]"
check "upgrade: h2o logged every request as HTTP/2" \
    eval "[ \"\$(grep -c '^HTTP/2 ' '$T/access.log')\" -eq 4 ] &&
    ! grep -q '^HTTP/1' '$T/access.log'"

# A server that does not upgrade (Python's http.server answers HTTP/1.0):
# the first answer is HTTP/1.1's, the run stops with the reason, exit 2.
mkdir "$T/py"
printf 'hello from h2o' >"$T/py/hello.txt"
(cd "$T/py" && exec /usr/bin/python3 -u -m http.server --bind 127.0.0.1 0) \
    >"$T/py.log" 2>&1 &
PID_py=$!
PIDS+=("$PID_py")
wait_for "http.server" grep -q 'port [0-9]' "$T/py.log"
PPY=$(sed -n 's/.* port \([0-9][0-9]*\).*/\1/p' "$T/py.log" | head -n 1)
"$DECOY" replay "$T/gap.jsonl" --target "http://127.0.0.1:$PPY" \
    --http2-upgrade -m 100 >"$T/declined.out" 2>"$T/declined.log"
rc=$?
check "declined: exit 2" [ "$rc" -eq 2 ]
check "declined: says so" grep -q 'declined the Upgrade: h2c' "$T/declined.log"

# --- 4. the default stays HTTP/1.1 -----------------------------------------
: >"$T/access.log"
"$DECOY" replay "$T/gap.jsonl" --target "http://127.0.0.1:$P" -m 100 \
    --report "$T/h1.json" >"$T/h1.out" 2>"$T/h1-replay.log"
rc=$?
check "default: exit 0" [ "$rc" -eq 0 ]
check "default: no protocol in the report" \
    [ "$(jqr "$T/h1.json" .protocol)" = null ]
wait_for "h2o's access log" eval "[ \$(wc -l <'$T/access.log') -ge 2 ]"
check "default: h2o logged HTTP/1.1" \
    [ "$(grep -c '^HTTP/1.1 GET ' "$T/access.log")" -eq 2 ]

done_testing
