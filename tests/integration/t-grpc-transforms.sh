#!/bin/bash
# gRPC request messages under the transforms file (req.grpc, res.grpc):
# a grpcio server and client (grpc-ledger.py, messages from
# protoc-generated code) whose every call carries a fresh UUID request id
# and the send time in epoch ms.
#  1. Responder: calls recorded through decoy record, the server stopped,
#     decoy analyze finds the id and the time as volatile req.grpc
#     values; decoy respond with its transforms answers the client's new
#     calls (other ids, other times) with the recorded answers, another
#     name still misses, and without the transforms every call misses.
#     The same entries by field name (meta.request_id) with the
#     descriptor set (--proto-set) match the same way.
#  2. Generator: sessions that Open an account (the server issues a
#     random id) and Post to it, recorded and taken as inbound; decoy
#     analyze finds the correlation res.grpc -> req.grpc; decoy replay
#     against a fresh server (other ids) carries the live id into the
#     Post (the server takes only ids it issued) and reports no
#     difference; without the transforms the Post is NOT_FOUND.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
"$PY" -c 'import grpc, google.protobuf' 2>/dev/null ||
    skip "python3-grpcio or python3-protobuf is not installed"
command -v protoc >/dev/null || skip "protoc (protobuf-compiler) is not installed"
PEER=$top_srcdir/tests/integration/grpc-ledger.py
export LEDGER_PB=$T/pb
mkdir -p "$LEDGER_PB"
cp "$top_srcdir/tests/integration/ledger.proto" "$LEDGER_PB/" ||
    fatal "no ledger.proto"
protoc --proto_path="$LEDGER_PB" --python_out="$LEDGER_PB" \
    --include_imports --descriptor_set_out="$T/ledger.pb" \
    "$LEDGER_PB/ledger.proto" || fatal "protoc failed"
hello() {	# hello PORT NAME
	timeout 30 "$PY" "$PEER" hello "$@" 2>>"$T/client.err"
}
session() {	# session PORT OWNER
	timeout 30 "$PY" "$PEER" session "$@" 2>>"$T/client.err" | tr '\n' ';'
}
# entry FILE KIND DIR ENDPOINT WHERE ACTION: 1 such value entry in FILE
entry() {
	"$PY" - "$@" <<'EOF2'
import sys, yaml
f, kind, d, ep, where, action = sys.argv[1:]
doc = yaml.safe_load(open(f))
n = [v for v in doc.get('values') or [] if v['kind'] == kind and
     v['dir'] == d and v['endpoint'] == ep and v['where'] == where and
     v['action'] == action]
sys.exit(0 if len(n) == 1 else 1)
EOF2
}

# --- 1. the responder matches new ids and times --------------------------------
start_bg srv "$T/srv.port" "$PY" "$PEER" server "$T/srv.port"
start_bg rec "$T/rec.port" "$DECOY" record --upstream "http://127.0.0.1:$PORT_srv" \
    --listen 127.0.0.1:0 --port-file "$T/rec.port" -o "$T/out.jsonl"
for n in alice bob alice; do
	got=$(hello "$PORT_rec" $n)
	check "recorded: Hello $n answered ($got)" [ "$got" = "OK hello $n" ]
done
stop "$PID_rec"
stop "$PID_srv"
check "recorded: three calls" [ "$(wc -l <"$T/out.jsonl")" = 3 ]

"$DECOY" analyze "$T/out.jsonl" -o "$T/out.tf.yaml" >"$T/analyze1.txt" 2>&1
check "analyze: exit 0" [ $? -eq 0 ]
check "analyze: the request id, a UUID matched as any" \
    entry "$T/out.tf.yaml" uuid out "POST /bank.Ledger/Hello" "req.grpc 1.1" any
check "analyze: the send time, a timestamp matched as any" \
    entry "$T/out.tf.yaml" timestamp out "POST /bank.Ledger/Hello" "req.grpc 1.2" any
check "analyze: the name is not volatile" \
    bash -c "! grep -q 'req.grpc 2\"' '$T/out.tf.yaml'"

start_respond typed "$T/out.jsonl" --transforms "$T/out.tf.yaml"
for n in alice bob alice; do
	got=$(hello "$PORT_typed" $n)
	check "respond --transforms: a new Hello $n gets the recorded answer ($got)" \
	    [ "$got" = "OK hello $n" ]
done
got=$(hello "$PORT_typed" carol)
check "respond --transforms: an unrecorded name still misses ($got)" \
    [ "${got%% *}" != OK ]
stop "$PID_typed"

# By field name, with the descriptor set.
sed -e 's/"req.grpc 1.1"/"req.grpc meta.request_id"/' \
    -e 's/"req.grpc 1.2"/"req.grpc meta.sentMs"/' "$T/out.tf.yaml" >"$T/named.yaml"
check "named.yaml names the fields" grep -q 'req.grpc meta.sentMs' "$T/named.yaml"
start_respond named "$T/out.jsonl" --transforms "$T/named.yaml" \
    --proto-set "$T/ledger.pb"
got=$(hello "$PORT_named" bob)
check "respond --transforms by field name: a new Hello bob matched ($got)" \
    [ "$got" = "OK hello bob" ]
stop "$PID_named"
"$DECOY" respond "$T/out.jsonl" --transforms "$T/named.yaml" \
    --listen 127.0.0.1:0 >"$T/noset.txt" 2>&1
check "field names without --proto-set: exit 2" [ $? -eq 2 ]
check "... naming the entry and the option" \
    grep -q 'named.yaml:[0-9]*:[0-9]*: where: gRPC field names .* --proto-set' "$T/noset.txt"

start_respond exact "$T/out.jsonl"
got=$(hello "$PORT_exact" alice)
check "respond without transforms: the new call misses ($got)" \
    [ "${got%% *}" != OK ]
stop "$PID_exact"

# --- 2. the generator carries a server-issued id -------------------------------
start_bg srv2 "$T/srv2.port" "$PY" "$PEER" server "$T/srv2.port"
start_bg rec2 "$T/rec2.port" "$DECOY" record --upstream "http://127.0.0.1:$PORT_srv2" \
    --listen 127.0.0.1:0 --port-file "$T/rec2.port" -o "$T/rec2.jsonl"
for o in alice bob; do
	got=$(session "$PORT_rec2" $o)
	check "recorded: $o's session ($got)" \
	    [ "$got" = "open OK account issued;post OK balance 100;" ]
done
stop "$PID_rec2"
stop "$PID_srv2"
# One client connection per session: its address is the session.
jq -c '.dir = "in"' "$T/rec2.jsonl" >"$T/in.jsonl"
check "recorded: four calls" [ "$(wc -l <"$T/in.jsonl")" = 4 ]
"$DECOY" analyze "$T/in.jsonl" -o "$T/in.tf.yaml" >"$T/analyze2.txt" 2>&1
check "analyze: exit 0" [ $? -eq 0 ]
check "analyze: the issued account, from Open's res.grpc 1 to Post's req.grpc 2" \
    "$PY" -c '
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
ok = [c for c in doc.get("correlations") or []
      if c["from"] == {"endpoint": "POST /bank.Ledger/Open", "where": "res.grpc 1"}
      and {"endpoint": "POST /bank.Ledger/Post", "where": "req.grpc 2"} in c["to"]]
sys.exit(0 if len(ok) == 1 else 1)' "$T/in.tf.yaml"
check "analyze: Post's request id made fresh per send" \
    entry "$T/in.tf.yaml" uuid in "POST /bank.Ledger/Post" "req.grpc 1.1" fresh
check "analyze: Post's send time shifted" \
    entry "$T/in.tf.yaml" timestamp in "POST /bank.Ledger/Post" "req.grpc 1.2" shift

replay_to() {	# replay_to PORT NAME [ARGS]: $T/NAME.json, $T/NAME.txt; exit status
	local port=$1 name=$2
	shift 2
	timeout 60 "$DECOY" replay "$T/in.jsonl" --target "http://127.0.0.1:$port" \
	    --http2 --report "$T/$name.json" "$@" >"$T/$name.txt" 2>&1
}
mix() {		# mix NAME: the gRPC status mix per endpoint
	jq -c '[.endpoints[] | [.path, .grpc_status]]' "$T/$1.json"
}
start_bg srv3 "$T/srv3.port" "$PY" "$PEER" server "$T/srv3.port"
replay_to "$PORT_srv3" plain
check "replay without transforms: differences (exit 1)" [ $? -eq 1 ]
check "replay without transforms: the Posts are NOT_FOUND ($(mix plain))" \
    [ "$(mix plain)" = '[["/bank.Ledger/Open",{"OK":2}],["/bank.Ledger/Post",{"NOT_FOUND":2}]]' ]
replay_to "$PORT_srv3" carried --transforms "$T/in.tf.yaml"
rc=$?
check "replay --transforms: as recorded (exit $rc)" [ $rc -eq 0 ]
check "replay --transforms: every call OK ($(mix carried))" \
    [ "$(mix carried)" = '[["/bank.Ledger/Open",{"OK":2}],["/bank.Ledger/Post",{"OK":2}]]' ]
check "replay --transforms: no difference reported" \
    [ "$(jq '[.endpoints[].diffs // [] | length] | add' "$T/carried.json")" = 0 ]
stop "$PID_srv3"
done_testing
