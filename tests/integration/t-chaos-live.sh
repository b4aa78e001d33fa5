#!/bin/bash
# SIGHUP reloads the rule files and the snapshot atomically without
# dropping connections; a reload that fails keeps the running
# configuration and logs why.
. "$(dirname "$0")/lib.sh"

printf '{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/a"},"res":{"status":200,"body":"one"}}\n' >"$T/snap.jsonl"
printf 'rules: []\n' >"$T/rules.yaml"
start_respond r "$T/snap.jsonl" --rules "$T/rules.yaml"
U="http://127.0.0.1:$PORT_r"
check "before: recorded answer" [ "$(curl -s "$U/a")" = one ]

# A keep-alive connection held open across the reload (bash /dev/tcp).
exec 5<>"/dev/tcp/127.0.0.1/$PORT_r"
printf 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n' >&5
IFS= read -r -t 5 first <&5
check "held connection answered before the reload" [ "${first%$'\r'}" = "HTTP/1.1 200 OK" ]
while IFS= read -r -t 1 line <&5; do [ "$line" = $'\r' ] && break; done
read -r -t 1 -N 3 body <&5

printf '{"v":1,"id":"t-2","dir":"out","req":{"method":"GET","target":"/a"},"res":{"status":200,"body":"two"}}\n' >"$T/snap.jsonl"
cat >"$T/rules.yaml" <<'EOF2'
rules:
  - name: teapot
    match: {path: '^/b$'}
    fault: {status: 418}
EOF2
kill -HUP "$PID_r"
wait_for "the reload" grep -q 'reloaded' "$T/r.log"
check "after SIGHUP: the new snapshot answers" [ "$(curl -s "$U/a")" = two ]
check "after SIGHUP: the new rule fires" [ "$(curl -s -o /dev/null -w '%{http_code}' "$U/b")" = 418 ]

printf 'GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&5
resp=$(timeout 5 cat <&5)
exec 5>&-
check "the held connection survived the reload" grep -q 'two$' <<<"$resp"

# A broken rule file: the reload fails, the running rules stay.
printf 'rules:\n  - name: bad\n    match: {path: "("}\n    fault: {status: 500}\n' >"$T/rules.yaml"
kill -HUP "$PID_r"
wait_for "the failed reload" grep -q 'reload failed' "$T/r.log"
check "failed reload names file and line" grep -q "rules.yaml:3:" "$T/r.log"
check "failed reload keeps the running rules" [ "$(curl -s -o /dev/null -w '%{http_code}' "$U/b")" = 418 ]

# SIGTERM drains: a reply held by injected latency is still delivered.
printf '{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/slow"},"res":{"status":200,"body":"late"}}\n' >"$T/slow.jsonl"
printf 'rules:\n  - name: slow\n    match: {path: "^/slow$"}\n    fault: {latency: 1s}\n' >"$T/slow.yaml"
start_respond d "$T/slow.jsonl" --rules "$T/slow.yaml" --chaos-log "$T/d.chaos"
curl -s -o "$T/late.out" --max-time 10 "http://127.0.0.1:$PORT_d/slow" &
cpid=$!
wait_for "the delayed request to be logged" grep -q '"rule":"slow"' "$T/d.chaos"
stop "$PID_d"
check "decoy exits 0 after draining" [ $? -eq 0 ]
wait "$cpid"
check "a delayed reply in flight at SIGTERM is delivered" [ "$(cat "$T/late.out")" = late ]

done_testing
