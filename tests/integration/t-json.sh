#!/bin/bash
# t-json.sh -- --json on the commands that print a result (split, import,
# export, corpus, ca, redirect): one JSON object on stdout with the numbers the
# text summary gives, nothing else there; --json with an output on stdout
# is a usage error.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || skip "jq is not installed"
SNAP=$top_srcdir/examples/snapshots/shop.jsonl
nin=$(grep -c '"dir":"in"' "$SNAP")
nall=$(wc -l <"$SNAP")

# one_object FILE: exactly one line, a JSON object.
one_object() {
	[ "$(wc -l <"$1")" = 1 ] && jq -e 'type == "object"' "$1" >/dev/null
}

"$DECOY" split "$SNAP" --in "$T/in.jsonl" --out "$T/out.jsonl" --json \
    >"$T/split.json" 2>"$T/split.log"
check "split --json: exit 0" [ $? -eq 0 ]
check "split --json: one object" one_object "$T/split.json"
check "split --json: the counts" [ "$(jq -r '"\(.in) \(.out) \(.in_file)"' \
    "$T/split.json")" = "$nin $((nall - nin)) $T/in.jsonl" ]
check "split --json: no text summary" [ ! -s "$T/split.log" ]
"$DECOY" split "$SNAP" --in - --json >/dev/null 2>&1
check "split --json --in -: usage error" [ $? -eq 2 ]

"$DECOY" export har "$SNAP" -o "$T/s.har" --json >"$T/export.json"
check "export --json" [ "$(jq -r '"\(.transactions) \(.har)"' \
    "$T/export.json")" = "$nall $T/s.har" ]
"$DECOY" import har "$T/s.har" -o "$T/s.jsonl" --json >"$T/import.json"
check "import --json" [ "$(jq -r '"\(.transactions) \(.snapshot)"' \
    "$T/import.json")" = "$nall $T/s.jsonl" ]
"$DECOY" import har "$T/s.har" -o - --json >/dev/null 2>&1
check "import --json -o -: usage error" [ $? -eq 2 ]
"$DECOY" export har "$SNAP" -o - --json >/dev/null 2>&1
check "export --json -o -: usage error" [ $? -eq 2 ]

"$DECOY" corpus "$SNAP" -o "$T/corpus" --json >"$T/corpus.json"
check "corpus --json: one object" one_object "$T/corpus.json"
check "corpus --json: requests and files" \
    [ "$(jq -r '"\(.requests) \(.files)"' "$T/corpus.json")" = \
    "$nin $(ls "$T/corpus"/*.http | wc -l)" ]

"$DECOY" ca init --ca "$T/ca" --json >"$T/ca.json"
check "ca init --json" [ "$(jq -r .key "$T/ca.json")" = "$T/ca/ca.key" ]
"$DECOY" ca show --ca "$T/ca" --json >"$T/show.json" 2>"$T/show.log"
check "ca show --json: the PEM" cmp -s <(jq -j .pem "$T/show.json") "$T/ca/ca.pem"

# redirect: the commands as arrays of words, the same as the text lists.
"$DECOY" redirect install --ports 80,443 --to-port 15001 --dry-run \
    >"$T/redirect.txt"
"$DECOY" redirect install --ports 80,443 --to-port 15001 --dry-run --json \
    >"$T/redirect.json"
check "redirect --json: one object" one_object "$T/redirect.json"
check "redirect --json: the commands the text lists, word for word" \
    [ "$(jq -r '.commands[] | join(" ")' "$T/redirect.json")" = \
    "$(cat "$T/redirect.txt")" ]
check "redirect --json: action and dry_run" \
    [ "$(jq -r '"\(.action) \(.dry_run)"' "$T/redirect.json")" = "install true" ]


# record and respond: the summary at exit, on stdout, the text line not
# logged.  Started by hand: stdout and stderr go to different files.
# bg_json NAME CMD...: sets PORT_<NAME>, PID_<NAME>; stdout in NAME.json.
bg_json() {
	local name=$1 pid port
	shift
	"$@" --port-file "$T/$name.port" >"$T/$name.json" 2>"$T/$name.log" &
	pid=$!
	PIDS+=("$pid")
	port=$(wait_port "$T/$name.port" "$pid") || exit 1
	printf -v "PORT_$name" '%s' "$port"
	printf -v "PID_$name" '%s' "$pid"
}
bg_json resp "$DECOY" respond "$SNAP" --listen 127.0.0.1:0 --json
bg_json rec "$DECOY" record --upstream "http://127.0.0.1:$PORT_resp" \
    --listen 127.0.0.1:0 -o "$T/rec.jsonl" --json
curl -s "http://127.0.0.1:$PORT_rec/nothing-recorded" >/dev/null
curl -s "http://127.0.0.1:$PORT_rec/nothing-recorded" >/dev/null
stop "$PID_rec"
check "record --json: exit 0" [ $? -eq 0 ]
check "record --json: one object" one_object "$T/rec.json"
check "record --json: the counts" [ "$(jq -r \
    '"\(.transactions) \(.recorded) \(.lost) \(.write_error)"' \
    "$T/rec.json")" = "2 2 0 null" ]
check "record --json: no summary line" \
    bash -c '! grep -q "recorded 2 transactions" "$1"' _ "$T/rec.log"
stop "$PID_resp"
check "respond --json: exit 0" [ $? -eq 0 ]
check "respond --json: one object" one_object "$T/resp.json"
check "respond --json: the counts, as /stats" [ "$(jq -r \
    '"\(.requests) \(.unmatched) \(.endpoints[0].route)"' \
    "$T/resp.json")" = "2 2 /nothing-recorded" ]
check "respond --json: no summary lines" \
    bash -c '! grep -q "requests: .* matched" "$1"' _ "$T/resp.log"
"$DECOY" record --upstream http://127.0.0.1:1 --listen 127.0.0.1:0 -o - \
    --json >/dev/null 2>&1
check "record --json -o -: usage error" [ $? -eq 2 ]

done_testing
