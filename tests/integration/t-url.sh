#!/bin/bash
# t-url.sh -- every command reads URLs with the one parser (src/url.c):
# `decoy replay --target`, `decoy record --upstream` and `decoy ctl
# --admin` take the scheme in any case and IPv6 literals in brackets, and
# refuse userinfo, bad ports and unbracketed IPv6 literals with exit 2 and
# a message that says what is wrong (the bugs of issue 14: `HTTP://`
# refused, `user:pw@host` taken for a host, IPv6 split at the first colon).
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"

SNAP=$top_srcdir/examples/snapshots/shop.jsonl

# rc CMD...: the exit status of CMD (its output to $T/rc.out, rc.err).
rc() {
	"$@" >"$T/rc.out" 2>"$T/rc.err"
	echo $?
}

# refused DESC WANT CMD...: CMD exits 2 and its stderr holds WANT.
refused() {
	local desc=$1 want=$2
	shift 2
	check "$desc: exit 2" [ "$(rc "$@")" = 2 ]
	check "$desc: says \"$want\"" grep -q -F -- "$want" "$T/rc.err"
}

start_respond deps "$SNAP" --admin 127.0.0.1:0 \
    --admin-port-file "$T/admin.port"
APORT=$(wait_port "$T/admin.port" "$PID_deps") || exit 1

# --- replay: the scheme in any case --------------------------------------
"$DECOY" replay "$SNAP" --target "HTTP://127.0.0.1:$PORT_deps/" \
    --closed --connections 1 --allow-regressions \
    --report "$T/upper.json" >/dev/null 2>"$T/upper.log"
check "replay --target HTTP://: not a usage error" [ $? -ne 2 ]
check "replay --target HTTP://: every request answered" [ "$(jq -r \
    '"\(.totals.count) \([.totals.errors[]] | add)"' "$T/upper.json")" = \
    "42 0" ]

refused "replay --target with userinfo" "userinfo" \
    "$DECOY" replay "$SNAP" --target "http://user:pw@127.0.0.1:$PORT_deps"
refused "replay --target port 65536" "bad port" \
    "$DECOY" replay "$SNAP" --target "http://127.0.0.1:65536"
refused "replay --target port 0" "bad port" \
    "$DECOY" replay "$SNAP" --target "http://127.0.0.1:0/"
refused "replay --target unbracketed IPv6" "brackets" \
    "$DECOY" replay "$SNAP" --target "http://::1:$PORT_deps/"
refused "replay --target ftp://" "unsupported scheme" \
    "$DECOY" replay "$SNAP" --target "ftp://127.0.0.1:$PORT_deps/"
refused "replay --target with a query" "query" \
    "$DECOY" replay "$SNAP" --target "http://127.0.0.1:$PORT_deps/?x=1"

# --- replay to an IPv6 literal (skipped where ::1 is not configured) -----
"$DECOY" respond "$SNAP" --listen "[::1]:0" --port-file "$T/v6.port" \
    >"$T/v6.log" 2>&1 &
v6pid=$!
PIDS+=("$v6pid")
for ((i = 0; i < 500; i++)); do
	[ -s "$T/v6.port" ] && break
	kill -0 "$v6pid" 2>/dev/null || break
	sleep 0.02
done
if [ -s "$T/v6.port" ]; then
	V6=$(cat "$T/v6.port")
	"$DECOY" replay "$SNAP" --target "http://[::1]:$V6" \
	    --closed --connections 1 --allow-regressions \
	    --report "$T/v6.json" >/dev/null 2>>"$T/v6.log"
	check "replay --target http://[::1]:PORT: answered" [ "$(jq -r \
	    '"\(.totals.count) \([.totals.errors[]] | add)"' \
	    "$T/v6.json")" = "42 0" ]
else
	echo "# ::1 is not available here: IPv6 replay not checked"
fi

# --- record: the upstream URL ---------------------------------------------
start_bg rec "$T/rec.port" "$DECOY" record \
    --upstream "Http://127.0.0.1:$PORT_deps" --listen 127.0.0.1:0 \
    --port-file "$T/rec.port" -o "$T/rec.jsonl"
check "record --upstream Http://: the request goes through" [ "$(curl -s \
    -o /dev/null -w '%{http_code}' --max-time 10 \
    "http://127.0.0.1:$PORT_rec/__decoy_probe__")" = 404 ]
refused "record --upstream with userinfo" "userinfo" \
    "$DECOY" record --upstream "http://u:p@127.0.0.1:$PORT_deps" \
    --listen 127.0.0.1:0 -o "$T/bad.jsonl"
refused "record --upstream with a path" "path prefix" \
    "$DECOY" record --upstream "http://127.0.0.1:$PORT_deps/api" \
    --listen 127.0.0.1:0 -o "$T/bad.jsonl"

# --- ctl: the admin address as a URL ---------------------------------------
check "ctl --admin HTTP://HOST:PORT/: exit 0" \
    [ "$(rc "$DECOY" ctl --admin "HTTP://127.0.0.1:$APORT/" status)" = 0 ]
check "ctl --admin HOST:PORT: exit 0" \
    [ "$(rc "$DECOY" ctl --admin "127.0.0.1:$APORT" status)" = 0 ]
refused "ctl --admin https://" "plain HTTP" \
    "$DECOY" ctl --admin "https://127.0.0.1:$APORT" status
refused "ctl --admin with userinfo" "userinfo" \
    "$DECOY" ctl --admin "http://a@127.0.0.1:$APORT" status

done_testing
