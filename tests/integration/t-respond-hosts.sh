#!/bin/bash
# The Host header, or an absolute-form target, selects among the
# dependencies recorded in one snapshot.
. "$(dirname "$0")/lib.sh"

cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"p-1","dir":"out","svc":"payments","req":{"method":"GET","target":"/v1/status","host":"payments.internal"},"res":{"status":200,"body":"payments ok"}}
{"v":1,"id":"i-1","dir":"out","svc":"inventory","req":{"method":"GET","target":"/v1/status","host":"inventory.internal:8081"},"res":{"status":200,"body":"inventory ok"}}
{"v":1,"id":"i-2","dir":"out","svc":"inventory","req":{"method":"GET","target":"http://inventory.internal:8081/v1/stock"},"res":{"status":200,"body":"stock"}}
EOF2
start_respond r "$T/snap.jsonl"
P=$PORT_r

b=$(curl -s -H 'Host: payments.internal' "http://127.0.0.1:$P/v1/status")
check "Host selects payments" [ "$b" = "payments ok" ]
b=$(curl -s -H 'Host: inventory.internal:8081' "http://127.0.0.1:$P/v1/status")
check "Host selects inventory" [ "$b" = "inventory ok" ]
b=$(curl -s -H 'Host: PAYMENTS.internal:443' "http://127.0.0.1:$P/v1/status")
check "Host matches case-insensitively and up to the port" [ "$b" = "payments ok" ]
b=$(curl -s -x "http://127.0.0.1:$P" "http://inventory.internal:8081/v1/status")
check "absolute-form target selects inventory" [ "$b" = "inventory ok" ]
b=$(curl -s -x "http://127.0.0.1:$P" "http://payments.internal/v1/status")
check "absolute-form target selects payments" [ "$b" = "payments ok" ]
b=$(curl -s "http://127.0.0.1:$P/v1/stock")
check "unknown Host (decoy's own address) matches any dependency" [ "$b" = "stock" ]

done_testing
