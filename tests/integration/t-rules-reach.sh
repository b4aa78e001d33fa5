#!/bin/bash
# Rules that cannot fire say so (issue 18 item 7): at start-up and in the
# check modes a rule matching no transaction of the snapshot is warned
# about (exit 0 all the same), one only live requests can decide is "not
# checkable"; /stats, --json and the shutdown summary list the rules that
# never fired.
. "$(dirname "$0")/lib.sh"

# Recorded as the README shows: the dependency is 127.0.0.1:9001.
printf '{"v":1,"id":"t-1","dir":"out","req":{"method":"POST","target":"/v1/charges","host":"127.0.0.1:9001"},"res":{"status":200,"body":"ok"}}\n' >"$T/snap.jsonl"
cat >"$T/rules.yaml" <<'EOF2'
rules:
  - name: charges-fail
    match: {path: '^/v1/charges$'}
    fault: {status: 503}
  - name: payments-host
    match: {host: '^payments\.'}
    fault: {status: 502}
  - name: by-body
    match: {path: '^/v1/charges$', body: 'refund'}
    fault: {status: 500}
EOF2

start_respond r "$T/snap.jsonl" --rules "$T/rules.yaml" \
    --admin 127.0.0.1:0 --admin-port-file "$T/admin.port"
APORT=$(wait_port "$T/admin.port" "$PID_r") || exit 1
check "start-up warns about the rule that matches nothing" \
    grep -q 'warn: rule "payments-host" matches no transaction of .*snap.jsonl' "$T/r.log"
check "no warning for the rule that can fire" \
    bash -c "! grep -q 'rule \"charges-fail\"' '$T/r.log'"
check "the body rule is not checkable, not warned about" \
    grep -q 'info: rule "by-body": not checkable' "$T/r.log"
check "the rule that matches fires" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Host: 127.0.0.1:9001' \
    "http://127.0.0.1:$PORT_r/v1/charges")" = 503 ]
curl -s "http://127.0.0.1:$APORT/stats" >"$T/stats"
check "/stats lists the rules that never fired" \
    grep -q '"never_fired":\["payments-host","by-body"\]' "$T/stats"
kill -TERM "$PID_r"
wait "$PID_r"
check "responder exits 0 after the warning" [ $? -eq 0 ]
PIDS=()
check "the shutdown summary lists them" \
    grep -q 'rules that never fired: payments-host, by-body' "$T/r.log"

# --json: the summary object carries the list too.
"$DECOY" respond "$T/snap.jsonl" --rules "$T/rules.yaml" --listen 127.0.0.1:0 \
    --port-file "$T/j.port" --json >"$T/j.out" 2>"$T/j.log" &
pid=$!
PIDS+=("$pid")
wait_port "$T/j.port" "$pid" >/dev/null || exit 1
kill -TERM "$pid"
wait "$pid"
PIDS=()
check "--json: never_fired lists every rule" \
    grep -q '"never_fired":\["charges-fail","payments-host","by-body"\]' "$T/j.out"

# decoyd -n: the same warning, exit 0.
printf 'snapshot: %s\nlisten: [127.0.0.1:0]\n' "$T/snap.jsonl" >"$T/d.yaml"
"$DECOYD" -c "$T/d.yaml" -n -r "$T/rules.yaml" >"$T/n.log" 2>&1
check "decoyd -n exits 0" [ $? -eq 0 ]
check "decoyd -n warns" grep -q 'rule "payments-host" matches no transaction' "$T/n.log"

# A snapshot where the host rule can fire: no warning.
printf '{"v":1,"id":"t-1","dir":"out","req":{"method":"POST","target":"/v1/charges","host":"payments.shop.internal:443"},"res":{"status":200}}\n' >"$T/snap2.jsonl"
printf 'snapshot: %s\nlisten: [127.0.0.1:0]\n' "$T/snap2.jsonl" >"$T/d2.yaml"
"$DECOYD" -c "$T/d2.yaml" -n -r "$T/rules.yaml" >"$T/n2.log" 2>&1
check "decoyd -n: no warning when every rule matches" \
    bash -c "! grep -q 'matches no transaction' '$T/n2.log'"

done_testing
