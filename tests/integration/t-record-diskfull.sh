#!/bin/bash
# t-record-diskfull.sh -- the recorder on a disk that fills up (a 64 KiB
# tmpfs the test mounts; root only): every transaction is either stored
# whole or counted lost (summary, --stats, exit status 1), the file never
# keeps a torn line, it takes lines again once space is freed, and the
# write errors are logged once per interval, not once per transaction.
# --append cuts a torn tail off first and says so; --on-write-error fail
# answers 503 to the clients whose transaction was not stored.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"
[ "$(id -u)" = 0 ] || skip "mounting a tmpfs needs root"
D=$T/disk
mkdir "$D"
mount -t tmpfs -o size=64k tmpfs "$D" 2>/dev/null || skip "cannot mount a tmpfs"
trap 'stop_all; umount "$D" 2>/dev/null; cleanup' EXIT

start_bg inv "$T/inv.port" "$SHOP/inventory" --port 0 --port-file "$T/inv.port"

# start_rec NAME ARGS...: a recorder in front of the inventory, logging to
# $T/NAME.log.
start_rec() {
	local name=$1
	shift
	start_bg "$name" "$T/$name.port" "$DECOY" record \
	    --upstream "http://127.0.0.1:$PORT_inv" --listen 127.0.0.1:0 \
	    --port-file "$T/$name.port" "$@"
}

# requests PORT N OUT [TAG]: N GETs (?TAG=0, ?TAG=1...) on one curl
# process, one status per line appended to OUT.
requests() {
	local port=$1 n=$2 out=$3 tag=${4:-n} i
	for ((i = 0; i < n; i++)); do
		echo "url = \"http://127.0.0.1:$port/v1/stock/sku-1001?$tag=$i\""
		echo "output = /dev/null"
	done >"$T/urls.cfg"
	curl -s --max-time 60 -w '%{http_code}\n' -K "$T/urls.cfg" >>"$out"
}

# parses FILE: every line is JSON (jq fails on a torn one) and the file
# ends with a newline.
parses() {
	jq -e -c '.v' "$1" >/dev/null && [ "$(tail -c 1 "$1" | od -An -c |
	    tr -d ' ')" = '\n' ]
}

stat_of() {	# KEY: from $T/stats.json
	jq -r ".$1" "$T/stats.json"
}

# --- 1. the disk fills, then space is freed ---------------------------------
head -c 32768 /dev/zero >"$D/filler"
start_rec full -o "$D/snap.jsonl" --stats "$T/stats.json"
: >"$T/codes1"
requests "$PORT_full" 300 "$T/codes1"
rm "$D/filler"
requests "$PORT_full" 40 "$T/codes1" after
stop "$PID_full"
st=$?
check "full disk: exit status 1" [ "$st" = 1 ]
check "full disk: all 340 clients served (default: serve)" \
    [ "$(grep -c '^200$' "$T/codes1")" = 340 ]
rec=$(stat_of recorded)
lost=$(stat_of lost)
check "full disk: stats count recorded $rec + lost $lost = 340 requests" \
    [ "$((rec + lost))" = 340 ] && [ "$(stat_of transactions)" = 340 ]
check "full disk: some were lost" [ "$lost" -gt 0 ]
check "full disk: stats name the error" \
    [ "$(stat_of write_error)" = "No space left on device" ]
check "full disk: every line parses, no torn line" parses "$D/snap.jsonl"
check "full disk: the file holds exactly the $rec recorded" \
    [ "$(grep -c '' "$D/snap.jsonl")" = "$rec" ]
check "full disk: lines stored after space was freed" \
    [ "$(jq -r 'select(.req.target | test("[?]after=")) | .id' \
    "$D/snap.jsonl" | wc -l)" = 40 ]
check "full disk: decoy inspect loads it without a warning" \
    bash -c "'$DECOY' inspect '$D/snap.jsonl' 2>&1 >/dev/null | \
    grep -c . | grep -qx 0"
check "full disk: the summary says what was lost" grep -q \
    "recorded $rec transactions (0 upstream failures), LOST $lost (No space left on device)" \
    "$T/full.log"
n=$(grep -c 'write: No space left on device' "$T/full.log")
check "full disk: write errors logged once per interval ($n lines for $lost)" \
    [ "$n" -ge 1 ] && [ "$n" -le 3 ]
check "full disk: recovery logged" grep -q "writing again" "$T/full.log"

# --- 2. --append onto a torn tail ---------------------------------------------
rm -f "$D/snap.jsonl"
for x in a b c; do
	printf '{"v":1,"id":"t-%s","dir":"out","req":{"method":"GET","target":"/%s"},"res":{"status":200,"body":"%s"}}\n' \
	    "$x" "$x" "$x"
done >"$D/torn.jsonl"
tail='{"v":1,"id":"t-d","dir":"out","req":{"meth'
printf '%s' "$tail" >>"$D/torn.jsonl"
start_rec app -o "$D/torn.jsonl" --append
: >"$T/codes2"
requests "$PORT_app" 5 "$T/codes2"
stop "$PID_app"
st=$?
check "append: exit status 0" [ "$st" = 0 ]
check "append: the torn tail is cut off and said" grep -q \
    "dropped ${#tail} bytes of a torn last line" "$T/app.log"
check "append: every line parses" parses "$D/torn.jsonl"
check "append: 3 old + 5 new lines (ids with this run's tag)" \
    grep -q -x -E 't-a t-b t-c (t-([0-9a-z]{6})-00000[1-5] ){5}' \
    <(jq -r .id "$D/torn.jsonl" | tr '\n' ' ')

# --- 3. --on-write-error fail -----------------------------------------------
rm -f "$D/torn.jsonl"
# Leave one page: a few lines fit.
head -c $((60 * 1024)) /dev/zero >"$D/filler" 2>/dev/null
start_rec strict -o "$D/strict.jsonl" --on-write-error fail \
    --stats "$T/stats.json"
: >"$T/codes3"
requests "$PORT_strict" 30 "$T/codes3"
curl -s --max-time 10 "http://127.0.0.1:$PORT_strict/v1/stock/sku-1002" \
    >"$T/refused.body"
stop "$PID_strict"
st=$?
ok=$(grep -c '^200$' "$T/codes3")
refused=$(grep -c '^503$' "$T/codes3")
check "strict: exit status 1" [ "$st" = 1 ]
check "strict: some stored ($ok), then 503 ($refused)" \
    [ "$ok" -gt 0 ] && [ "$refused" -gt 0 ] && [ $((ok + refused)) = 30 ]
check "strict: every 200 is in the file, nothing else" \
    [ "$(grep -c '' "$D/strict.jsonl")" = "$ok" ]
check "strict: stats agree" [ "$(stat_of recorded)" = "$ok" ] &&
    [ "$(stat_of lost)" = $((refused + 1)) ]
check "strict: every line parses" parses "$D/strict.jsonl"
check "strict: the 503 body says why" grep -q \
    '"error":"not recorded: the snapshot write failed: No space left on device"' \
    "$T/refused.body"

done_testing
