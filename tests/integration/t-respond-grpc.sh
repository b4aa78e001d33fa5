#!/bin/bash
# gRPC faults in the responder, seen by a grpcio client: a grpcio server
# (grpc-chaos.py: a unary and a server-streaming method answering valid
# protobuf) is recorded through decoy record, then decoy respond answers
# from the recording with rules that fire on an x-fault header.  The
# client gets exactly the codes and messages asked for (grpc: UNAVAILABLE,
# DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED; status 503 and 403 as
# UNAVAILABLE and PERMISSION_DENIED), a truncated protobuf as INTERNAL,
# the framing malforms as missing messages, per-message latency as gaps
# between a stream's messages, unfaulted calls as the server gave them,
# and a slow call does not hold up a fast one on the same channel.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
"$PY" -c 'import grpc, google.protobuf' 2>/dev/null ||
    skip "python3-grpcio or python3-protobuf is not installed"
PEER=$top_srcdir/tests/integration/grpc-chaos.py

# --- the recording ------------------------------------------------------------
start_bg grpc "$T/grpc.port" "$PY" "$PEER" server "$T/grpc.port"
start_bg rec "$T/rec.port" "$DECOY" record --upstream "http://127.0.0.1:$PORT_grpc" \
    --listen 127.0.0.1:0 --port-file "$T/rec.port" -o "$T/rec.jsonl"
timeout 30 "$PY" "$PEER" record "$PORT_rec" >"$T/rec.txt" 2>&1
stop "$PID_rec"
call() {	# call PORT KIND FAULT
	timeout 30 "$PY" "$PEER" call "$@" 2>&1
}
direct_u=$(call "$PORT_grpc" unary none)
direct_s=$(call "$PORT_grpc" stream none)
stop "$PID_grpc"
check "recorded: two calls" [ "$(wc -l <"$T/rec.jsonl")" = 2 ]

cat >"$T/rules.yaml" <<'EOF2'
rules:
  - name: unavailable
    match: {headers: {x-fault: '^unavailable$'}}
    fault: {grpc: UNAVAILABLE, grpc_message: "try later, 100% sure"}
  - name: deadline
    match: {headers: {x-fault: '^deadline$'}}
    fault: {grpc: deadline-exceeded}
  - name: exhausted
    match: {headers: {x-fault: '^exhausted$'}}
    fault: {grpc: 8, grpc_message: quota}
  - name: s503
    match: {headers: {x-fault: '^s503$'}}
    fault: {status: 503}
  - name: s403
    match: {headers: {x-fault: '^s403$'}}
    fault: {status: 403}
  - name: badlen
    match: {headers: {x-fault: '^badlen$'}}
    fault: {malform: grpc_bad_length}
  - name: trunc
    match: {headers: {x-fault: '^trunc$'}}
    fault: {malform: grpc_truncate}
  - name: badpb
    match: {headers: {x-fault: '^badpb$'}}
    fault: {malform: grpc_bad_protobuf}
  - name: permsg
    match: {headers: {x-fault: '^permsg$'}}
    fault: {latency: 300ms, per_message: true}
  - name: slow
    match: {headers: {x-fault: '^slow$'}}
    fault: {latency: 1500ms}
  - name: permsg-reset
    match: {headers: {x-fault: '^permsg-reset$'}}
    fault: {latency: 50ms, per_message: true, connection: reset}
EOF2
start_respond resp "$T/rec.jsonl" --rules "$T/rules.yaml" \
    --chaos-log "$T/chaos.log"
R=$PORT_resp

# --- unfaulted: what the server said ----------------------------------------
u=$(call "$R" unary none)
s=$(call "$R" stream none)
check "unfaulted unary: the server's message" \
    [ "${u%|*}" = "${direct_u%|*}" -a "${u%%|*}" = "OK " ]
check "unfaulted stream: the server's 4 messages" \
    [ "${s%|*}" = "${direct_s%|*}" -a "${s%%|*}" = "OK " ]
check "the server's stream had 4 messages" \
    [ "$(echo "${direct_s}" | cut -d'|' -f2 | tr ',' '\n' | wc -l)" = 4 ]

# --- codes --------------------------------------------------------------------
for kind in unary stream; do
	for f in "unavailable|UNAVAILABLE try later, 100% sure" \
	    "deadline|DEADLINE_EXCEEDED " "exhausted|RESOURCE_EXHAUSTED quota" \
	    "s503|UNAVAILABLE " "s403|PERMISSION_DENIED "; do
		got=$(call "$R" $kind "${f%%|*}")
		check "$kind, x-fault ${f%%|*}: ${f#*|}" \
		    [ "$got" = "${f#*|}||" ]
	done
done

# --- malformed messages ------------------------------------------------------
for kind in unary stream; do
	got=$(call "$R" $kind badpb)
	check "$kind, grpc_bad_protobuf: INTERNAL at the client" \
	    [ "${got%%|*}" = "INTERNAL Exception deserializing response!" ]
done
# grpcio (1.51) ends a call whose body stops inside a message with the
# trailers' status and without that message: none of the messages the
# bad length prefix swallowed, the last one of a truncated body.
got=$(call "$R" unary badlen)
check "unary, grpc_bad_length: no message ($got)" \
    [ "$(echo "$got" | cut -d'|' -f2)" = none ]
got=$(call "$R" stream badlen)
check "stream, grpc_bad_length: none of the 4 messages" [ "$(echo "$got" | cut -d'|' -f2)" = "" ]
got=$(call "$R" stream trunc)
check "stream, grpc_truncate: the first 3 messages only" \
    [ "$(echo "$got" | cut -d'|' -f2)" = "$(echo "$direct_s" | cut -d'|' -f2 | cut -d, -f1-3)" ]

# --- per-message latency -----------------------------------------------------
got=$(call "$R" stream permsg)
gaps=$(echo "$got" | cut -d'|' -f3)
check "per_message: the stream's messages, whole" \
    [ "$(echo "$got" | cut -d'|' -f1-2)" = "$(echo "$direct_s" | cut -d'|' -f1-2)" ]
# Counted from the call's start: message k arrives >= k * 250 ms after it
# (a message the client reads late on a busy machine shortens the gap
# after it, never the time since the start).  Without per_message all four
# would come together after one 300 ms wait.
check "per_message: message k >= k x 250 ms after the call started (gaps $gaps)" \
    bash -c "echo '$gaps' | tr ',' '\n' | awk '{ t += \$1; if (t < 250 * NR) bad = 1 } END { exit !(NR == 4 && !bad) }'"

got=$(call "$R" stream permsg-reset)
check "per_message with a reset: the call fails, no message ($got)" \
    [ "${got%%|*}" != "OK " -a "$(echo "$got" | cut -d'|' -f2)" = "" ]

# --- one slow call does not hold up another on the same channel --------------
check "a fast call finishes while a slow one is held" \
    [ "$(timeout 30 "$PY" "$PEER" race "$R" 2>&1)" = fast-first ]

# --- decoy inspect: the gRPC methods and their status mix ---------------------
# The faulted answers recorded through decoy record, then inspected.
start_bg rec2 "$T/rec2.port" "$DECOY" record --upstream "http://127.0.0.1:$R" \
    --listen 127.0.0.1:0 --port-file "$T/rec2.port" -o "$T/rec2.jsonl"
for f in "unary none" "unary none" "unary unavailable" "stream s403"; do
	call "$PORT_rec2" $f >/dev/null
done
stop "$PID_rec2"
"$DECOY" inspect "$T/rec2.jsonl" >"$T/inspect.txt" 2>&1
check "inspect: Unary, 3 calls, OK:2 UNAVAILABLE:1" \
    grep -Eq '^  test\.Chaos +Unary +3  OK:2 UNAVAILABLE:1$' "$T/inspect.txt"
check "inspect: Stream, 1 call, PERMISSION_DENIED:1 (trailers-only)" \
    grep -Eq '^  test\.Chaos +Stream +1  PERMISSION_DENIED:1$' "$T/inspect.txt"
"$DECOY" inspect --json "$T/rec2.jsonl" >"$T/inspect.json" 2>&1
check "inspect --json: the grpc member" [ "$(jq -c '.directions.out.grpc' "$T/inspect.json")" = \
    '[{"service":"test.Chaos","method":"Unary","count":3,"grpc_status":{"OK":2,"UNAVAILABLE":1}},{"service":"test.Chaos","method":"Stream","count":1,"grpc_status":{"PERMISSION_DENIED":1}}]' ]
check "inspect --json: no grpc member where there are no calls" \
    [ "$(jq -c '.directions.in.grpc' "$T/inspect.json")" = null ]

# --- decoy replay --http2 of the gRPC calls, compared by grpc-status ---------
# The recording as the service's own inbound calls, replayed against a
# grpcio server (TE: trailers must get through), then against decoy
# respond answering every call UNAVAILABLE.
jq -c '.dir = "in"' "$T/rec.jsonl" >"$T/in.jsonl"
replay_to() {	# replay_to PORT NAME: $T/NAME.json (report), $T/NAME.txt; exit status
	timeout 60 "$DECOY" replay "$T/in.jsonl" --target "http://127.0.0.1:$1" \
	    --http2 --report "$T/$2.json" >"$T/$2.txt" 2>&1
}
mix() {		# mix NAME: the report's gRPC status mixes, per endpoint and in all
	jq -c '[.endpoints[] | [.path, .grpc_status]], .totals.grpc_status' \
	    "$T/$1.json" | tr '\n' ' '
}
start_bg grpc2 "$T/grpc2.port" "$PY" "$PEER" server "$T/grpc2.port"
replay_to "$PORT_grpc2" up
check "replay --http2 against grpcio: as recorded (exit 0)" [ $? -eq 0 ]
check "report: the gRPC status mix per method and in all, OK" [ "$(mix up)" = \
    '[["/test.Chaos/Stream",{"OK":1}],["/test.Chaos/Unary",{"OK":1}]] {"OK":2} ' ]
check "summary: the mix in the STATUS column" \
    grep -Eq '^  POST /test\.Chaos/Unary .* 200:1 grpc:OK:1$' "$T/up.txt"
stop "$PID_grpc2"
printf 'rules:\n  - name: down\n    fault: {grpc: UNAVAILABLE}\n' >"$T/down.yaml"
start_respond down "$T/rec.jsonl" --rules "$T/down.yaml"
replay_to "$PORT_down" down
check "replay against UNAVAILABLE answers: exit 1" [ $? -eq 1 ]
check "report: UNAVAILABLE in the mix of both methods" [ "$(mix down)" = \
    '[["/test.Chaos/Stream",{"UNAVAILABLE":1}],["/test.Chaos/Unary",{"UNAVAILABLE":1}]] {"UNAVAILABLE":2} ' ]
"$DECOY" report "$T/down.json" >"$T/down-report.txt" 2>&1
check "decoy report reads the mix back" \
    grep -Eq '^  all \(total\) .* 200:2 grpc:UNAVAILABLE:2$' "$T/down-report.txt"
check "the difference is the grpc-status, 0 expected, 14 got" \
    [ "$(jq -c '[.endpoints[].diffs[] | select(.field == "grpc-status") | [.expected, .actual]] | unique' "$T/down.json")" = '[["0","14"]]' ]
stop "$PID_down"

stop "$PID_resp"
check "chaos log: the 503 said as UNAVAILABLE" \
    grep -q '"rule":"s503","fault":"status","params":{"status":503,"grpc":"UNAVAILABLE"}' "$T/chaos.log"
check "chaos log: the grpc fault" \
    grep -q '"rule":"deadline","fault":"grpc","params":{"code":"DEADLINE_EXCEEDED"}' "$T/chaos.log"
check "chaos log: per-message latency" \
    grep -q '"rule":"permsg","fault":"latency","params":{"distribution":"fixed","ms":300.000,"per_message":true}' "$T/chaos.log"
done_testing
