#!/bin/bash
# gRPC with a .proto descriptor set (--proto-set): a grpcio server and
# client of shop.Users (tests/proto/shop.proto; real protobuf messages,
# classes made from tests/proto/set.pb) recorded through decoy record
# --proto-set: the snapshot holds the messages by field name; with the
# server stopped, decoy respond --proto-set answers the unary and the
# server-streaming call with the bytes the server sent; a request edited
# by field name matches the edited message; without the set, reading the
# snapshot is an error naming the option; decoy inspect --proto-set shows
# the methods' types and messages by name; decoyd's proto_set: key.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PEER=$top_srcdir/tests/integration/grpc-names.py
SET=$top_srcdir/tests/proto/set.pb
[ -x "$PY" ] && "$PY" -c 'import grpc, google.protobuf' 2>/dev/null ||
    skip "python3-grpcio or python3-protobuf is not installed"

# --- 1. recorded with the set --------------------------------------------------
start_bg srv "$T/srv.port" "$PY" "$PEER" "$SET" server "$T/srv.port"
start_bg rec "$T/rec.port" "$DECOY" record --upstream "http://127.0.0.1:$PORT_srv" \
    --listen 127.0.0.1:0 --port-file "$T/rec.port" -o "$T/rec.jsonl" \
    --proto-set "$SET"
timeout 60 "$PY" "$PEER" "$SET" client "$PORT_srv" >"$T/direct.txt" 2>&1
timeout 60 "$PY" "$PEER" "$SET" client "$PORT_rec" >"$T/viarec.txt" 2>&1
check "the server answered both calls" \
    [ "$(grep -c ' OK ' "$T/direct.txt")" = 2 ]
check "through the recorder: the same bytes" same "$T/viarec.txt" "$T/direct.txt"
stop "$PID_rec"

"$PY" - "$T/rec.jsonl" >"$T/check.txt" 2>&1 <<'EOF2'
import json, sys
ts = {}
for l in open(sys.argv[1]):
    t = json.loads(l)
    ts[t['req']['target']] = t
ok = []
g = ts['/shop.Users/Get']
ok.append(('Get request by name', g['req']['grpc'] ==
    [{'@type': 'shop.GetUser', 'id': 7, 'session': {'token': 'abc'}}]))
u = g['res']['grpc'][0]
ok.append(('Get response by name', u.get('@type') == 'shop.User' and
    u.get('name') == 'Zoë' and u.get('kind') == 'ADMIN' and
    u.get('ids') == [1, 2, 300] and u.get('scores') == {'x': 3} and
    u.get('bigDelta') == '-5' and u.get('delta') == -2 and
    u.get('blob') == 'AP8=' and u.get('sessionId') == 19 and
    u.get('session') == {'token': 'abc', 'expires': '1700000000000'}))
w = ts['/shop.Users/Watch']
ok.append(('Watch: three Sessions by name', [m.get('token') for m in
    w['res']['grpc']] == ['t7-0', 't7-1', 't7-2'] and
    all(m['@type'] == 'shop.Session' for m in w['res']['grpc'])))
for name, v in ok:
    print('ok' if v else 'FAIL', name)
EOF2
check "the snapshot shows the messages by field name" \
    bash -c "! grep -q '^FAIL' '$T/check.txt' && [ \$(grep -c '^ok' '$T/check.txt') = 3 ]"
grep '^FAIL' "$T/check.txt" >&2

# --- 2. replayed with the server gone -------------------------------------------
stop "$PID_srv"
start_respond resp "$T/rec.jsonl" --proto-set "$SET"
timeout 60 "$PY" "$PEER" "$SET" client "$PORT_resp" >"$T/replay.txt" 2>&1
check "decoy respond --proto-set: the client gets the server's bytes" \
    same "$T/replay.txt" "$T/direct.txt"
# The request edited by field name: id 7 -> 8.
sed 's/"grpc":\[{"@type":"shop.GetUser","id":7,/"grpc":[{"@type":"shop.GetUser","id":8,/' \
    "$T/rec.jsonl" >"$T/edited.jsonl"
check "there was a named view to edit" bash -c "! cmp -s '$T/rec.jsonl' '$T/edited.jsonl'"
start_respond edit "$T/edited.jsonl" --proto-set "$SET"
timeout 30 "$PY" "$PEER" "$SET" client "$PORT_edit" 8 >"$T/edit8.txt" 2>/dev/null
timeout 30 "$PY" "$PEER" "$SET" client "$PORT_edit" 7 >"$T/edit7.txt" 2>/dev/null
check "edited by name: id 8 answered" [ "$(grep -c ' OK ' "$T/edit8.txt")" = 2 ]
check "edited by name: id 7 no more" \
    [ "$(cut -d' ' -f2 "$T/edit7.txt" | tr '\n' ' ')" = "StatusCode.UNIMPLEMENTED StatusCode.UNIMPLEMENTED " ]

# The recording replayed as inbound calls against the responder: the
# generator reads the named views (with the set) and sends the bytes.
sed 's/"dir":"out"/"dir":"in"/' "$T/rec.jsonl" >"$T/in.jsonl"
"$DECOY" replay "$T/in.jsonl" --target "http://127.0.0.1:$PORT_resp" --http2 \
    --proto-set "$SET" --json >"$T/replay.json" 2>"$T/replay.err"
check "decoy replay --proto-set: both calls answered as recorded" \
    bash -c "[ $? -eq 0 ] && grep -q '\"OK\":2' '$T/replay.json'"
"$DECOY" replay "$T/in.jsonl" --target "http://127.0.0.1:$PORT_resp" --http2 \
    >"$T/replay-noset.out" 2>&1
check "decoy replay without --proto-set: exit 2 naming the option" \
    bash -c "[ $? -eq 2 ] && grep -q 'pass --proto-set FILE' '$T/replay-noset.out'"

# --- 3. without the set: a clear error ----------------------------------------
"$DECOY" respond "$T/rec.jsonl" --listen 127.0.0.1:0 >"$T/noset.out" 2>&1
check "respond without --proto-set: exit 2" [ $? -eq 2 ]
check "... naming file:line:col and the option" grep -Eq \
    'rec.jsonl:1:[0-9]+: a named view \("@type"\) needs the descriptor set: pass --proto-set FILE' \
    "$T/noset.out"
"$DECOY" inspect "$T/rec.jsonl" >"$T/noset2.out" 2>&1
check "inspect without --proto-set: exit 2" [ $? -eq 2 ]
"$DECOY" respond "$T/rec.jsonl" --listen 127.0.0.1:0 --proto-set "$T/rec.jsonl" \
    >"$T/badset.out" 2>&1
check "a file that is no descriptor set: exit 2, its name and a byte offset" \
    bash -c "[ $? -eq 2 ] && grep -q 'rec.jsonl: byte [0-9]*: ' '$T/badset.out'"

# --- 4. inspect -------------------------------------------------------------------
"$DECOY" inspect "$T/rec.jsonl" --proto-set "$SET" >"$T/inspect.txt" 2>&1
check "inspect: the methods' types" bash -c \
    "grep -q 'types     shop.GetUser -> shop.User\$' '$T/inspect.txt' &&
     grep -q 'types     shop.GetUser -> stream shop.Session\$' '$T/inspect.txt'"
check "inspect: the first messages by field name" grep -q \
    'request   {"@type":"shop.GetUser","id":7,"session":{"token":"abc"}}' \
    "$T/inspect.txt"
"$DECOY" inspect "$T/rec.jsonl" --proto-set "$SET" --json >"$T/inspect.json"
check "inspect --json: types and messages" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
g = {m["method"]: m for m in d["directions"]["out"]["grpc"]}
assert g["Watch"]["output"] == "shop.Session" and g["Watch"]["server_streaming"]
assert g["Get"]["response"]["name"] == "Zoë"
' "$T/inspect.json"

# --- 5. decoyd: proto_set ------------------------------------------------------
printf 'snapshot: %s\nlisten: 127.0.0.1:0\nproto_set: %s\n' "$T/rec.jsonl" "$SET" \
    >"$T/d.yaml"
"$DECOYD" -n -c "$T/d.yaml" >"$T/d.out" 2>&1
check "decoyd -n with proto_set: configuration OK" grep -q 'configuration OK' "$T/d.out"
printf 'snapshot: %s\nlisten: 127.0.0.1:0\n' "$T/rec.jsonl" >"$T/d2.yaml"
"$DECOYD" -n -c "$T/d2.yaml" >"$T/d2.out" 2>&1
check "decoyd -n without proto_set: exit 2 naming the option" \
    bash -c "[ $? -eq 2 ] && grep -q 'pass --proto-set FILE' '$T/d2.out'"
done_testing
