#!/bin/bash
# RFC 9113 conformance of the responder's HTTP/2 (h2spec is not packaged):
# the table of cases in h2-conformance.py (invalid preface, frame size
# errors, HPACK errors, stream state errors, malformed requests), each
# answered with the GOAWAY or RST_STREAM code the RFC asks, over raw
# sockets; the daemon serves on after all of them.
. "$(dirname "$0")/lib.sh"

[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed"
command -v openssl >/dev/null || skip "openssl is not installed"

cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/ok","host":"h"},"res":{"status":200,"reason":"OK","headers":[["Content-Type","text/plain"]],"body":"fine"}}
EOF2
"$DECOY" ca init --ca "$T/ca" 2>/dev/null
start_respond p "$T/snap.jsonl" --workers 1
start_respond s "$T/snap.jsonl" --workers 1 --tls --ca "$T/ca"

/usr/bin/python3 "$top_srcdir/tests/integration/h2-conformance.py" \
    "$PORT_p" "$PORT_s" >"$T/table" 2>"$T/py.err"
check "the table ran ($(wc -l <"$T/table") cases)" [ "$(wc -l <"$T/table")" -ge 17 ]
while IFS= read -r line; do
	check "${line#* }" [ "${line%% *}" = PASS ]
done <"$T/table"
check "bad preface logged" grep -q "bad client magic" "$T/s.log"
check "responders alive" kill -0 "$PID_p" "$PID_s"
stop "$PID_p"
check "clean exit on SIGTERM" [ $? -eq 0 ]
done_testing
