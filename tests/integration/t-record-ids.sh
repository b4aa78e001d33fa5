#!/bin/bash
# t-record-ids.sh -- transaction ids stay unique when recorders share one
# snapshot (decoy-snapshot(5), id): a first recording, two more appended
# one after the other, then two recorders appending at once, all through
# `decoy record --upstream` to nginx; `decoy inspect --json` finds no
# repeated id, and each appending run has its own tag.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"
command -v nginx >/dev/null || skip "nginx is not installed"

mkdir -p "$T/www"
printf 'alpha\n' >"$T/www/a.txt"
chmod a+rx "$T" "$T/www"	# nginx's worker runs as nobody
chmod a+r "$T/www/a.txt"
start_nginx "$T/www" /a.txt "" ""
snap=$T/shared.jsonl

# start_record NAME [ARGS...]: a reverse proxy to nginx into $snap.
start_record() {
	local name=$1
	shift
	start_bg "$name" "$T/$name.port" "$DECOY" record \
	    --upstream "http://127.0.0.1:$NPORT" --listen 127.0.0.1:0 \
	    --port-file "$T/$name.port" -o "$snap" "$@"
}
get() {	# NAME N: N requests through recorder NAME
	local port_var=PORT_$1 i
	for ((i = 1; i <= $2; i++)); do
		curl -s -o /dev/null --max-time 10 \
		    "http://127.0.0.1:${!port_var}/a.txt?r=$1-$i"
	done
}

start_record first
get first 3
check "first recorder exits 0" stop "$PID_first"
check "a snapshot of its own: t-000001..." test \
    "$(jq -r .id "$snap" | paste -sd' ')" = "t-000001 t-000002 t-000003"

for run in app1 app2; do
	start_record "$run" --append
	get "$run" 3
	pid_var=PID_$run
	check "$run (--append) exits 0" stop "${!pid_var}"
done

# Two at once, their requests interleaved.
start_record c1 --append
start_record c2 --append
for i in 1 2 3 4; do
	get c1 1
	get c2 1
done
check "concurrent c1 exits 0" stop "$PID_c1"
check "concurrent c2 exits 0" stop "$PID_c2"

check "17 transactions" test "$(wc -l <"$snap")" -eq 17
"$DECOY" inspect --json "$snap" >"$T/inspect.json"
check "decoy inspect: 17 transactions, no repeated id" test \
    "$(jq -c '[.transactions,.repeated_ids]' "$T/inspect.json")" = '[17,0]'
check "jq agrees: 17 distinct ids" test \
    "$(jq -r .id "$snap" | sort -u | wc -l)" -eq 17
check "appended ids: t-TAG-NNNNNN" test "$(jq -r .id "$snap" | tail -n 14 |
    grep -c -x -E 't-[0-9a-z]{6}-[0-9]{6}')" -eq 14
check "four appending runs, four tags" test "$(jq -r .id "$snap" |
    tail -n 14 | cut -d- -f2 | sort -u | wc -l)" -eq 4

done_testing
