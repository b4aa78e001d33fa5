#!/bin/bash
# t-record-svc.sh -- dependencies told apart: `decoy record --svc NAME`
# names the dependency in every transaction (the upstream's host
# otherwise), the start-up line names the port bound for --listen
# HOST:0, and the responder treats 127.0.0.1:9001 and 127.0.0.1:9002 as
# two hosts when the recording has the ports.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"

cat >"$T/up.jsonl" <<'EOF2'
{"v":1,"id":"u-1","dir":"out","req":{"method":"GET","target":"/v1/stock"},"res":{"status":200,"body":"stock"}}
EOF2
start_respond up "$T/up.jsonl"

# --- --svc and the bound port --------------------------------------------
start_bg rec "$T/rec.port" "$DECOY" record \
    --upstream "http://127.0.0.1:$PORT_up" --listen 127.0.0.1:0 \
    --port-file "$T/rec.port" --svc inventory -o "$T/named.jsonl"
start_bg plain "$T/plain.port" "$DECOY" record \
    --upstream "http://127.0.0.1:$PORT_up" --listen 127.0.0.1:0 \
    --port-file "$T/plain.port" -o "$T/plain.jsonl"
check "record logs the port it bound for :0" \
    grep -q "recording 127.0.0.1:$PORT_rec -> " "$T/rec.log"
check "... not the :0 it was given" \
    bash -c '! grep -q "recording 127.0.0.1:0 " "$1"' _ "$T/rec.log"
curl -s "http://127.0.0.1:$PORT_rec/v1/stock" >/dev/null
curl -s "http://127.0.0.1:$PORT_rec/v1/stock" >/dev/null
curl -s "http://127.0.0.1:$PORT_plain/v1/stock" >/dev/null
stop "$PID_rec"
stop "$PID_plain"
check "--svc NAME: every transaction names the dependency" \
    [ "$(jq -r .svc "$T/named.jsonl" | sort | uniq -c | tr -s ' ')" = \
    " 2 inventory" ]
check "without --svc: svc is the upstream's host" \
    [ "$(jq -r .svc "$T/plain.jsonl")" = 127.0.0.1 ]

# --- one IP, two ports: two hosts ----------------------------------------
cat >"$T/two.jsonl" <<'EOF2'
{"v":1,"id":"p-1","dir":"out","svc":"payments","req":{"method":"GET","target":"/v1/health","host":"127.0.0.1:9001"},"res":{"status":200,"body":"payments"}}
{"v":1,"id":"i-1","dir":"out","svc":"inventory","req":{"method":"GET","target":"/v1/health","host":"127.0.0.1:9002"},"res":{"status":200,"body":"inventory"}}
EOF2
start_respond two "$T/two.jsonl"
get() {
	curl -s -H "Host: $1" "http://127.0.0.1:$PORT_two/v1/health"
}
# :9002 first, twice: a host-agnostic match would answer in recorded
# order (payments first).
ok=1
for i in 1 2 3; do
	[ "$(get 127.0.0.1:9002)" = inventory ] || ok=0
	[ "$(get 127.0.0.1:9002)" = inventory ] || ok=0
	[ "$(get 127.0.0.1:9001)" = payments ] || ok=0
done
check "Host 127.0.0.1:9001 and :9002 each get their own dependency" \
    [ "$ok" -eq 1 ]

done_testing
