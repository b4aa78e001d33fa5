#!/usr/bin/env bash
#
# record.sh -- records the bundled snapshot of the buggy service's normal
# traffic (examples/snapshots/buggy.jsonl), the seed of `decoy fuzz` in
# tests/integration/t-fuzz.sh and docs/fuzzing.md.
#
# Starts examples/buggy/buggy from a build tree on a free port, puts
# `decoy record --dir in` in front of it, sends a fixed mix of normal
# requests through the recorder with curl (each status checked, so a
# change in the service fails the recording instead of hiding in it),
# stops both and writes the snapshot to OUT.  None of these requests
# triggers a planted bug.
#
# usage: examples/buggy/record.sh BUILDDIR [OUT]
#        OUT defaults to examples/snapshots/buggy.jsonl in the source tree.

set -eu

usage() {
	echo "usage: $0 BUILDDIR [OUT]" >&2
	exit 2
}

[ $# -ge 1 ] && [ $# -le 2 ] || usage
builddir=$(cd "$1" && pwd)
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
out=${2:-$srcdir/examples/snapshots/buggy.jsonl}

for p in examples/buggy/buggy decoy; do
	if [ ! -x "$builddir/$p" ]; then
		echo "$0: $builddir/$p not built" >&2
		exit 2
	fi
done
command -v curl >/dev/null || { echo "$0: curl not found" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/buggy-record.XXXXXX")
pids=()
cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# wait_file NAME: waits (up to 10 s) for $work/NAME.port.
wait_file() {
	local i
	for i in $(seq 500); do
		[ -s "$work/$1.port" ] && return 0
		sleep 0.02
	done
	echo "$0: $1 did not start; its log:" >&2
	cat "$work/$1.log" >&2
	exit 1
}

"$builddir/examples/buggy/buggy" --port 0 --port-file "$work/buggy.port" \
    2>"$work/buggy.log" &
pids+=($!)
wait_file buggy
"$builddir/decoy" record --dir in \
    --upstream "http://127.0.0.1:$(cat "$work/buggy.port")" \
    --listen 127.0.0.1:0 --port-file "$work/record.port" \
    -o "$work/snap.jsonl" --fsync txn 2>"$work/record.log" &
record_pid=$!
pids+=($record_pid)
wait_file record
base="http://127.0.0.1:$(cat "$work/record.port")"

nreq=0
# req EXPECTED METHOD PATH [BODY [CONTENT-TYPE]] [-- CURL-ARGS...]
req() {
	local want=$1 method=$2 path=$3 got
	shift 3
	local args=(-s -o /dev/null -w '%{http_code}' --max-time 10
	    -X "$method" -H 'Accept: application/json')
	if [ $# -ge 1 ] && [ "$1" != -- ]; then
		args+=(-H "Content-Type: ${2:-application/json}"
		    --data-binary "$1")
		shift $(($# >= 2 ? 2 : 1))
	fi
	[ $# -ge 1 ] && [ "$1" = -- ] && shift
	got=$(curl "${args[@]}" "$@" "$base$path")
	nreq=$((nreq + 1))
	if [ "$got" != "$want" ]; then
		echo "$0: $method $path: got $got, want $want" >&2
		exit 1
	fi
}

req 200 GET /healthz
req 200 GET /items/42
req 200 GET /items/7
req 200 GET '/search?q=shoes&page=1' -- -H 'X-Request-Id: 6f1c2a9e-5b1d-4c3e-9a7f-2d8e4b6c1a30'
req 200 GET '/search?q=red+boots&page=2' -- -H 'X-Request-Id: 0b7e6d5c-4a3b-4c2d-8e1f-9a8b7c6d5e4f'
req 201 POST /cart/items '{"sku":"sku-1001","qty":2}' application/json -- -H 'Cookie: session=s-42'
req 201 POST /cart/items '{"sku":"sku-1002","qty":1}' application/json -- -H 'Cookie: session=s-42'
req 201 POST /users '{"name":"ann","email":"ann@example.com"}'
req 201 POST /users '{"name":"bob","email":"bob@example.com","plan":"pro"}'
req 201 POST /payments '{"amount":1200,"currency":"eur"}' application/json -- -H 'Authorization: Bearer tok-123'
req 201 POST /payments '{"amount":99,"currency":"usd"}' application/json -- -H 'Authorization: Bearer tok-123'
req 201 POST /upload 'hello, upload' text/plain
req 201 POST /upload '{"name":"report.txt","data":"aGVsbG8="}'
req 201 POST /documents '{"title":"notes","tags":["a","b"],"meta":{"lang":"en","rev":3}}'
req 201 POST /documents '{"title":"plan","tags":[],"meta":{"lang":"de"}}'
req 404 GET /items/0
req 404 GET /nowhere

kill -TERM "$record_pid"
wait "$record_pid" || true

nin=$(grep -c '"dir":"in"' "$work/snap.jsonl" || true)
if [ "$nin" -ne "$nreq" ]; then
	echo "$0: $nreq requests but $nin recorded" >&2
	exit 1
fi
mkdir -p "$(dirname "$out")"
cp "$work/snap.jsonl" "$out.tmp.$$"
mv "$out.tmp.$$" "$out"
echo "$0: $nreq requests; wrote $out ($nin transactions)"
