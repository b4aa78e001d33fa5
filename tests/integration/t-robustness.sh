#!/bin/bash
# Malformed and smuggling-shaped requests, sent raw: each must get a 400
# (431 for an oversized head, 501 for an unknown Transfer-Encoding) or a
# plain close, never a second response, and after each one the responder
# must still answer a good request on a new connection.  A slowloris
# client must be cut off by --header-timeout without blocking others.
. "$(dirname "$0")/lib.sh"

cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/ok","host":"a"},"res":{"status":200,"body":"ok"}}
EOF2
start_respond r "$T/snap.jsonl" --header-timeout 1s
P=$PORT_r

# rejected OUT RC: the server closed within raw's bound (not rc 124) and
# sent nothing, or exactly one 400/413/431/501 response (413: a chunk size
# past --max-body is refused on its digits, before it could overflow).
rejected() {
	local out=$1 rc=$2 code n
	[ "$rc" -ne 124 ] || { echo "# connection left open" >&2; return 1; }
	[ -s "$out" ] || return 0
	n=$(grep -c '^HTTP/1\.[01] ' "$out")
	[ "$n" -le 1 ] || { echo "# $n responses" >&2; return 1; }
	code=$(status_of "$out")
	case $code in
	400|413|431|501) return 0 ;;
	esac
	echo "# got status '$code'" >&2
	return 1
}

# bad NAME FORMAT [ARG]: sends printf FORMAT [ARG] raw, checks that it is
# rejected and that the responder still serves others.
NBAD=0
bad() {
	local name=$1 fmt=$2 rc
	shift 2
	# shellcheck disable=SC2059
	printf "$fmt" "$@" >"$T/$name.req"
	raw "$P" "$T/$name.req" >"$T/$name.out" 2>/dev/null
	rc=$?
	NBAD=$((NBAD + 1))
	check "$name: rejected" rejected "$T/$name.out" "$rc"
	check "$name: still serving" alive "$P"
}

H='Host: a\r\n'

# Request line.
bad bare-lf-lines	'GET /ok HTTP/1.1\nHost: a\n\n'
bad bare-cr		'GET /ok HTTP/1.1\r\nHost: a\rX: b\r\n\r\n'
bad double-space	'GET  /ok HTTP/1.1\r\nHost: a\r\n\r\n'
bad trailing-space	'GET /ok HTTP/1.1 \r\nHost: a\r\n\r\n'
bad no-version		'GET /ok\r\nHost: a\r\n\r\n'
bad http09		'GET /ok HTTP/0.9\r\n\r\n'
bad http20		'GET /ok HTTP/2.0\r\nHost: a\r\n\r\n'
bad lowercase-version	'GET /ok http/1.1\r\nHost: a\r\n\r\n'
bad method-char		'G<T /ok HTTP/1.1\r\nHost: a\r\n\r\n'
bad leading-space	' GET /ok HTTP/1.1\r\nHost: a\r\n\r\n'
bad target-del		'GET /o\177k HTTP/1.1\r\nHost: a\r\n\r\n'
bad target-relative	'GET ok HTTP/1.1\r\nHost: a\r\n\r\n'
bad target-userinfo	'GET http://u@a/ok HTTP/1.1\r\nHost: a\r\n\r\n'
bad asterisk-get	'GET * HTTP/1.1\r\nHost: a\r\n\r\n'
# Host.
bad no-host		'GET /ok HTTP/1.1\r\nAccept: */*\r\n\r\n'
bad two-hosts		'GET /ok HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'
bad host-list		'GET /ok HTTP/1.1\r\nHost: a, b\r\n\r\n'
# Framing: the classic smuggling shapes.
bad cl-te		"POST /ok HTTP/1.1\r\n$H"'Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG'
bad te-cl		"POST /ok HTTP/1.1\r\n$H"'Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGPOST /ok HTTP/1.1\r\n\r\n0\r\n\r\n'
bad dup-cl-equal	"POST /ok HTTP/1.1\r\n$H"'Content-Length: 2\r\nContent-Length: 2\r\n\r\nokGET /ok HTTP/1.1\r\nHost: a\r\n\r\n'
bad dup-cl-differ	"POST /ok HTTP/1.1\r\n$H"'Content-Length: 2\r\nContent-Length: 40\r\n\r\nok'
bad cl-negative		"POST /ok HTTP/1.1\r\n$H"'Content-Length: -1\r\n\r\n'
bad cl-overflow		"POST /ok HTTP/1.1\r\n$H"'Content-Length: 18446744073709551617\r\n\r\n'
bad cl-plus		"POST /ok HTTP/1.1\r\n$H"'Content-Length: +2\r\n\r\nok'
bad cl-list		"POST /ok HTTP/1.1\r\n$H"'Content-Length: 2, 2\r\n\r\nok'
bad cl-hex		"POST /ok HTTP/1.1\r\n$H"'Content-Length: 0x2\r\n\r\nok'
bad te-gzip-chunked	"POST /ok HTTP/1.1\r\n$H"'Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n'
bad te-xchunked		"POST /ok HTTP/1.1\r\n$H"'Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n'
bad te-twice		"POST /ok HTTP/1.1\r\n$H"'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
bad te-space-colon	"POST /ok HTTP/1.1\r\n$H"'Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n'
bad te-http10		'POST /ok HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
# Header syntax.
bad obs-fold		"GET /ok HTTP/1.1\r\n$H"'X-A: one\r\n two\r\n\r\n'
bad no-colon		"GET /ok HTTP/1.1\r\n$H"'Just some words\r\n\r\n'
bad nul-in-value	"GET /ok HTTP/1.1\r\n$H"'X-A: a\000b\r\n\r\n'
bad ctl-in-value	"GET /ok HTTP/1.1\r\n$H"'X-A: \033[31m\r\n\r\n'
bad space-in-name	"GET /ok HTTP/1.1\r\n$H"'X A: b\r\n\r\n'
bad empty-name		"GET /ok HTTP/1.1\r\n$H"': b\r\n\r\n'
bad too-many-headers	"GET /ok HTTP/1.1\r\n$H%s\r\n\r\n" \
    "$(for i in $(seq 1 120); do printf 'X-%d: %d\r\n' "$i" "$i"; done; printf X-Last:z)"
bad oversized-head	"GET /ok HTTP/1.1\r\n${H}X-Big: %s\r\n\r\n" \
    "$(head -c 20000 /dev/zero | tr '\0' a)"
# Chunked bodies.
bad chunk-size-hex	"POST /ok HTTP/1.1\r\n$H"'Transfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n'
bad chunk-size-empty	"POST /ok HTTP/1.1\r\n$H"'Transfer-Encoding: chunked\r\n\r\n\r\nok\r\n0\r\n\r\n'
bad chunk-size-overflow	"POST /ok HTTP/1.1\r\n$H"'Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\nok\r\n'
bad chunk-no-crlf	"POST /ok HTTP/1.1\r\n$H"'Transfer-Encoding: chunked\r\n\r\n2\r\nokXX0\r\n\r\n'
bad chunk-bare-lf	"POST /ok HTTP/1.1\r\n$H"'Transfer-Encoding: chunked\r\n\r\n2\nok\n0\n\n'
bad chunk-ext-long	"POST /ok HTTP/1.1\r\n$H"'Transfer-Encoding: chunked\r\n\r\n2;%s\r\nok\r\n0\r\n\r\n' \
    "$(head -c 6000 /dev/zero | tr '\0' e)"
# Not HTTP at all.
bad tls-hello		'\026\003\001\002\000\001\000\001\374\003\003'
bad binary		'\377\376\375\000\001\002\r\n\r\n'

check "at least 30 malformed requests" [ "$NBAD" -ge 30 ]

# The same probe trickled one byte at a time still parses.
printf 'GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' \
    >"$T/trickle.req"
trickle "$P" "$T/trickle.req" >"$T/trickle.out"
check "trickled request answered" [ "$(status_of "$T/trickle.out")" = 200 ]

# slowloris: a head that never completes is cut off by --header-timeout
# (1 s here) while other clients are served.
slowloris() {
	timeout 10 bash -c '
		trap "" PIPE
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 3
		printf "GET /ok HTTP/1.1\r\nHost: a\r\n" >&3
		for i in 1 2 3 4 5 6 7 8; do
			printf "X-%d: y\r\n" "$i" >&3 2>/dev/null || break
			sleep 0.5
		done
		cat <&3
	' slowloris "$1"
}
slowloris "$P" >"$T/slow.out" 2>/dev/null &
SLOW=$!
check "served while a slowloris client is connected" alive "$P"
wait "$SLOW"
rc=$?
check "slowloris cut off by the header timeout" [ "$rc" -ne 124 ]
check "slowloris got at most a 408 or 400" \
    bash -c '[ ! -s "$1" ] || grep -q "^HTTP/1.1 40[08] " "$1"' _ "$T/slow.out"

check "responder still running" kill -0 "$PID_r"
check "still serving at the end" alive "$P"
done_testing
