#!/usr/bin/env bash
#
# record.sh -- records the bundled snapshot of the bank example with
# `decoy record`, the way a user would record their own system.
#
# Starts tokens and ledger on free ports, a reverse-proxy recorder in front
# of each (dir "out"), bank pointed at those recorders, and a recorder in
# front of bank (dir "in"); drives a fixed mix of traffic through the
# inbound recorder with examples/bank/drive.py (one kept-alive connection
# per user session, every status checked); stops everything by PID and
# writes in + out to OUT atomically.
#
# usage: examples/bank/record.sh BUILDDIR [OUT]
#        OUT defaults to examples/snapshots/bank.jsonl in the source tree.

set -eu

usage() {
	echo "usage: $0 BUILDDIR [OUT]" >&2
	exit 2
}

[ $# -ge 1 ] && [ $# -le 2 ] || usage
builddir=$(cd "$1" && pwd)
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
out=${2:-$srcdir/examples/snapshots/bank.jsonl}
bin=$builddir/examples/bank
python=/usr/bin/python3

for p in "$bin/bank" "$bin/tokens" "$bin/ledger" "$builddir/decoy"; do
	if [ ! -x "$p" ]; then
		echo "$0: $p not built" >&2
		exit 2
	fi
done
[ -x "$python" ] || { echo "$0: $python not found" >&2; exit 2; }
command -v curl >/dev/null || { echo "$0: curl not found" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/bank-record.XXXXXX")
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

die() {
	local f
	echo "$0: $*" >&2
	for f in "$work"/*.log; do
		[ -s "$f" ] || continue
		echo "--- $f" >&2
		tail -n 20 "$f" >&2
	done
	exit 1
}

# start NAME CMD...: runs CMD (which takes --port-file $work/NAME.port) in
# the background and waits (up to 10 s) for its port file; sets $port.
start() {
	local name=$1 i
	shift
	"$@" 2>"$work/$name.log" &
	pids+=($!)
	for i in $(seq 500); do
		if [ -s "$work/$name.port" ]; then
			port=$(cat "$work/$name.port")
			return 0
		fi
		kill -0 "${pids[-1]}" 2>/dev/null || break
		sleep 0.02
	done
	die "$name did not start"
}

# healthy PORT NAME: waits for a service's /healthz (asked directly, not
# through a recorder, so it stays out of the snapshot).
healthy() {
	local i
	for i in $(seq 500); do
		curl -s -o /dev/null --max-time 1 \
		    "http://127.0.0.1:$1/healthz" && return 0
		sleep 0.02
	done
	die "$2 is not healthy"
}

# stop NAME PID: SIGTERM, wait, and insist on a clean exit.
stop() {
	local st=0
	kill -TERM "$2"
	wait "$2" || st=$?
	[ "$st" -eq 0 ] || die "$1 exited $st"
}

start tokens "$bin/tokens" --port 0 --port-file "$work/tokens.port" \
    --secret-file "$srcdir/examples/bank/tokens.secret"
tokens_pid=${pids[-1]} tokens_port=$port
start ledger "$bin/ledger" --port 0 --port-file "$work/ledger.port"
ledger_pid=${pids[-1]} ledger_port=$port
healthy "$tokens_port" tokens
healthy "$ledger_port" ledger

record() {	# NAME UPSTREAM-PORT [ARGS...]
	local name=$1 up=$2
	shift 2
	start "$name" "$builddir/decoy" record \
	    --upstream "http://127.0.0.1:$up" --listen 127.0.0.1:0 \
	    --port-file "$work/$name.port" -o "$work/$name.jsonl" "$@"
}
record rec-tokens "$tokens_port"
rectok_pid=${pids[-1]} rectok_port=$port
record rec-ledger "$ledger_port"
recled_pid=${pids[-1]} recled_port=$port

start bank "$bin/bank" --port 0 --port-file "$work/bank.port" \
    --tokens "http://127.0.0.1:$rectok_port" \
    --ledger "http://127.0.0.1:$recled_port" \
    --secret-file "$srcdir/examples/bank/tokens.secret" \
    --admin-secret-file "$srcdir/examples/bank/admin.secret"
bank_pid=${pids[-1]} bank_port=$port
healthy "$bank_port" bank
record rec-in "$bank_port" --dir in
recin_pid=${pids[-1]} recin_port=$port

# The operator mints the admin token just before the audit, as they would.
admin_token=$("$bin/bank" mint-admin-token --admin-secret-file \
    "$srcdir/examples/bank/admin.secret" --ttl 600)
BANK_ADMIN_TOKEN=$admin_token "$python" "$srcdir/examples/bank/drive.py" \
    127.0.0.1 "$recin_port" >"$work/drive.out" 2>"$work/drive.log" ||
    die "the traffic did not go as expected"
cat "$work/drive.out"
nreq=$(sed -n 's/^drive.py: \([0-9]*\) requests.*/\1/p' "$work/drive.out")

# Outside in: no recorder may miss the end of an exchange.
stop rec-in "$recin_pid"
stop bank "$bank_pid"
stop rec-tokens "$rectok_pid"
stop rec-ledger "$recled_pid"
stop tokens "$tokens_pid"
stop ledger "$ledger_pid"
pids=()

nin=$(grep -c '"dir":"in"' "$work/rec-in.jsonl" || true)
[ "$nin" = "$nreq" ] || die "$nreq requests sent but $nin recorded"
if grep -q '"error":' "$work/rec-tokens.jsonl" "$work/rec-ledger.jsonl"; then
	die "a dependency call failed during the recording"
fi
mkdir -p "$(dirname "$out")"
cat "$work/rec-in.jsonl" "$work/rec-tokens.jsonl" "$work/rec-ledger.jsonl" \
    >"$out.tmp.$$"
mv "$out.tmp.$$" "$out"
ntok=$(grep -c . "$work/rec-tokens.jsonl" || true)
nled=$(grep -c . "$work/rec-ledger.jsonl" || true)
echo "$0: wrote $out: $nin in; out: $ntok to tokens, $nled to ledger"
