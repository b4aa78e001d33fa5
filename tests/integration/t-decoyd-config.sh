#!/bin/bash
# decoyd: -n checks a configuration; bad keys and values are reported with
# file:line:column and exit status 2; a good one serves until SIGTERM.
. "$(dirname "$0")/lib.sh"

cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/ping"},"res":{"status":200,"body":"pong"}}
EOF2
cat >"$T/good.yaml" <<EOF2
snapshot: snap.jsonl
listen: 127.0.0.1:0
unmatched: closest
workers: 2
port_file: $T/decoyd.port
log_level: info
limits:
  max_head: 8KiB
  header_timeout: 5s
EOF2
"$DECOYD" -n -c "$T/good.yaml" >"$T/n.out" 2>&1
check "decoyd -n accepts a good configuration" [ $? -eq 0 ]
check "decoyd -n says configuration OK" grep -q 'configuration OK' "$T/n.out"

cat >"$T/bad.yaml" <<'EOF2'
snapshot: snap.jsonl
listen: 127.0.0.1:0
unmached: 404
workers: many
limits:
  max_head: huge
EOF2
"$DECOYD" -n -c "$T/bad.yaml" >"$T/bad.out" 2>&1
check "bad configuration: exit 2" [ $? -eq 2 ]
check "unknown key named with line and column" grep -q 'bad.yaml:3:1: unknown key "unmached"' "$T/bad.out"
check "bad value named with line and column" grep -q 'bad.yaml:4:10: workers' "$T/bad.out"
check "nested bad value reported too" grep -q 'bad.yaml:6:13: max_head' "$T/bad.out"

printf 'snapshot: missing.jsonl\nlisten: 127.0.0.1:0\n' >"$T/nosnap.yaml"
"$DECOYD" -n -c "$T/nosnap.yaml" >"$T/nosnap.out" 2>&1
check "missing snapshot: exit 2" [ $? -eq 2 ]
check "missing snapshot named" grep -q 'missing.jsonl' "$T/nosnap.out"

printf 'snapshot: [oops\n' >"$T/syntax.yaml"
"$DECOYD" -n -c "$T/syntax.yaml" >"$T/syntax.out" 2>&1
check "YAML syntax error: exit 2 with position" \
    grep -q 'syntax.yaml:[0-9]*:[0-9]*:' "$T/syntax.out"

"$DECOYD" -n -c "$T/good.yaml" -r "$top_srcdir/rules/payments-flaky.yaml" \
    -s 9 >"$T/r.out" 2>&1
check "decoyd -n -r checks a rule file given on the command line" [ $? -eq 0 ]

# -n refuses what the start refuses: an address out of range, an admin
# API beyond loopback without a token, a file that is no snapshot.
sed 's|^listen: .*|listen: 999.1.1.1:99999|' "$T/good.yaml" >"$T/range.yaml"
"$DECOYD" -n -c "$T/range.yaml" >"$T/range.out" 2>&1
check "decoyd -n: listen 999.1.1.1:99999 is exit 2" [ $? -eq 2 ]
check "decoyd -n: ... at its line and column" \
    grep -q 'range.yaml:2:9: listen: bad port' "$T/range.out"
{ cat "$T/good.yaml"; echo 'admin: {listen: 0.0.0.0:0}'; } >"$T/open.yaml"
"$DECOYD" -n -c "$T/open.yaml" >"$T/open.out" 2>&1
check "decoyd -n: an admin API on 0.0.0.0 without a token is exit 2" \
    [ $? -eq 2 ]
check "decoyd -n: ... named at admin.listen, said once" \
    grep -q 'open.yaml:10:17: admin.listen: 0.0.0.0:0 is not a loopback' \
    "$T/open.out"
"$DECOYD" -c "$T/open.yaml" >"$T/open-start.out" 2>&1
check "decoyd: the start refuses it the same way" [ $? -eq 2 ]
{ cat "$T/good.yaml"; echo 'admin: {listen: 0.0.0.0:0, token: s3cret}'; } \
    >"$T/tok.yaml"
"$DECOYD" -n -c "$T/tok.yaml" >"$T/tok.out" 2>&1
check "decoyd -n: with a token it is fine" [ $? -eq 0 ]
sed 's|^snapshot: .*|snapshot: /etc/passwd|' "$T/good.yaml" >"$T/passwd.yaml"
"$DECOYD" -n -c "$T/passwd.yaml" >"$T/passwd.out" 2>&1
check "decoyd -n: /etc/passwd is not a snapshot (exit 2, line:col)" \
    grep -q '/etc/passwd:1:1:' "$T/passwd.out"
printf 'rules:\n  - name: x\n    fault: {status: 42}\n' >"$T/badrule.yaml"
"$DECOYD" -n -c "$T/good.yaml" -r "$T/badrule.yaml" >"$T/br.out" 2>&1
check "decoyd -n -r: a bad rule file is exit 2" [ $? -eq 2 ]
check "decoyd -n -r: the bad rule named with line and column" \
    grep -q 'badrule.yaml:3:21: status' "$T/br.out"

start_bg d "$T/decoyd.port" "$DECOYD" -c "$T/good.yaml"
b=$(curl -s "http://127.0.0.1:$PORT_d/ping")
check "decoyd serves the snapshot" [ "$b" = pong ]
stop "$PID_d"
check "decoyd exits 0 on SIGTERM" [ $? -eq 0 ]

done_testing
