#!/usr/bin/env bash
#
# record.sh -- records the bundled snapshot of the shop demo.
#
# Starts payments, inventory and orders (orders with --trace) from a build
# tree on free ports, drives a fixed mix of requests through orders with
# curl, stops the services and writes the trace -- both halves, dir "in"
# (requests into orders) and dir "out" (its calls to inventory and
# payments) -- to OUT.  Every request's status is checked, so a change in
# the services' behaviour fails the recording instead of hiding in it.
#
# usage: examples/shop/record.sh BUILDDIR [OUT]
#        OUT defaults to examples/snapshots/shop.jsonl in the source tree.

set -eu

usage() {
	echo "usage: $0 BUILDDIR [OUT]" >&2
	exit 2
}

[ $# -ge 1 ] && [ $# -le 2 ] || usage
builddir=$1
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
out=${2:-$srcdir/examples/snapshots/shop.jsonl}

for p in orders payments inventory; do
	if [ ! -x "$builddir/examples/shop/$p" ]; then
		echo "$0: $builddir/examples/shop/$p not built" >&2
		exit 2
	fi
done
command -v curl >/dev/null || { echo "$0: curl not found" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/shop-record.XXXXXX")
pids=()
cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# Waits (up to 10 s) for a service's port file and for its /healthz.
wait_ready() {
	local name=$1 i
	for i in $(seq 200); do
		if [ -s "$work/$name.port" ] &&
		    curl -s -o /dev/null --max-time 1 \
		    "http://127.0.0.1:$(cat "$work/$name.port")/healthz"; then
			return 0
		fi
		sleep 0.05
	done
	echo "$0: $name did not become ready; its log:" >&2
	cat "$work/$name.log" >&2
	exit 1
}

start() {
	local name=$1
	shift
	"$builddir/examples/shop/$name" --port 0 \
	    --port-file "$work/$name.port" "$@" 2>"$work/$name.log" &
	pids+=($!)
	wait_ready "$name"
}

start payments
start inventory
# The services are called by name, as in production; --resolve points the
# names at 127.0.0.1 so no DNS is involved.  The snapshot's hosts are then
# payments.shop.internal:PORT and inventory.shop.internal:PORT, which tell
# the two dependencies apart (both would be 127.0.0.1 otherwise).
start orders --trace "$work/trace.jsonl" \
    --payments "http://payments.shop.internal:$(cat "$work/payments.port")" \
    --inventory "http://inventory.shop.internal:$(cat "$work/inventory.port")" \
    --resolve payments.shop.internal:127.0.0.1 \
    --resolve inventory.shop.internal:127.0.0.1
orders_pid=${pids[2]}
oport=$(cat "$work/orders.port")
base="http://orders.shop.internal:$oport"
resolve=(--resolve "orders.shop.internal:$oport:127.0.0.1")

nreq=0
# req EXPECTED METHOD PATH [JSON-BODY] -- one request on its own connection.
req() {
	local want=$1 method=$2 path=$3 got
	local args=(-s -o /dev/null -w '%{http_code}' --max-time 10
	    -X "$method" -H 'Accept: application/json')
	if [ $# -ge 4 ]; then
		args+=(-H 'Content-Type: application/json' --data-binary "$4")
	fi
	got=$(curl "${resolve[@]}" "${args[@]}" "$base$path")
	nreq=$((nreq + 1))
	if [ "$got" != "$want" ]; then
		echo "$0: $method $path: got $got, want $want" >&2
		exit 1
	fi
}

# keepalive PATH... -- several GETs (all 200) on one kept-alive connection,
# so orders reuses its own connections to inventory as well.
keepalive() {
	local urls=() p codes
	for p in "$@"; do
		urls+=(-o /dev/null "$base$p")
	done
	codes=$(curl "${resolve[@]}" -s -w '%{http_code} ' --max-time 10 \
	    -H 'Accept: application/json' "${urls[@]}")
	nreq=$((nreq + $#))
	if [ "$codes" != "$(printf '200 %.0s' "$@")" ]; then
		echo "$0: keep-alive GETs $*: got $codes" >&2
		exit 1
	fi
}

card=4242424242424242
declined=4000000000000002

# Browsing the catalogue, an unknown sku, repeated lookups.
req 200 GET /products/sku-1001
req 200 GET /products/sku-1002
req 200 GET /products/sku-1003
req 200 GET /products/sku-1004
req 200 GET /products/sku-1005
req 404 GET /products/sku-9999
req 200 GET /products/sku-1001
req 200 GET /products/sku-1001
req 200 GET /products/sku-1003/image
req 404 GET /products/sku-9999/image
req 404 GET /nowhere

# Orders that succeed, and looking them up.
req 201 POST /orders "{\"sku\":\"sku-1001\",\"qty\":2,\"card\":\"$card\"}"
req 200 GET /orders/o-1
req 201 POST /orders "{\"sku\":\"sku-1003\",\"qty\":1,\"card\":\"$card\"}"
req 200 GET /orders/o-2

# A declined card, then insufficient stock (sku-1004 has 3, sku-1005 none).
req 402 POST /orders "{\"sku\":\"sku-1002\",\"qty\":1,\"card\":\"$declined\"}"
req 409 POST /orders "{\"sku\":\"sku-1004\",\"qty\":5,\"card\":\"$card\"}"
req 201 POST /orders "{\"sku\":\"sku-1004\",\"qty\":2,\"card\":\"$card\"}"
req 409 POST /orders "{\"sku\":\"sku-1004\",\"qty\":2,\"card\":\"$card\"}"
req 200 GET /products/sku-1004
req 409 POST /orders "{\"sku\":\"sku-1005\",\"qty\":1,\"card\":\"$card\"}"

# Requests orders turns away itself or after one call.
req 404 POST /orders "{\"sku\":\"sku-9999\",\"qty\":1,\"card\":\"$card\"}"
req 400 POST /orders '{"sku":"sku-1001","qty":0,"card":"4242424242424242"}'
req 400 POST /orders '{"sku":"sku-1001",'
req 404 GET /orders/o-999

# The same order three times: repeated signatures on both sides.
req 201 POST /orders "{\"sku\":\"sku-1002\",\"qty\":1,\"card\":\"$card\"}"
req 201 POST /orders "{\"sku\":\"sku-1002\",\"qty\":1,\"card\":\"$card\"}"
req 201 POST /orders "{\"sku\":\"sku-1002\",\"qty\":1,\"card\":\"$card\"}"
req 402 POST /orders "{\"sku\":\"sku-1002\",\"qty\":1,\"card\":\"$declined\"}"

# A chunked request body (stored decoded in the snapshot).
nreq=$((nreq + 1))
code=$(curl "${resolve[@]}" -s -o /dev/null -w '%{http_code}' \
    --max-time 10 -H 'Accept: application/json' -H 'Content-Type: application/json' \
    -H 'Transfer-Encoding: chunked' \
    --data-binary "{\"sku\":\"sku-1003\",\"qty\":3,\"card\":\"$card\"}" \
    "$base/orders")
[ "$code" = 201 ] || { echo "$0: chunked POST /orders: got $code" >&2; exit 1; }

# A returning customer on one connection.
keepalive /products/sku-1001 /products/sku-1001/image /orders/o-1 \
    /orders/o-4 /products/sku-1002
req 201 POST /orders "{\"sku\":\"sku-1001\",\"qty\":1,\"card\":\"$card\"}"
req 200 GET /orders/o-8
req 200 GET /orders/o-8
req 200 GET /products/sku-1003
req 200 GET /products/sku-1003/image
req 200 GET /products/sku-1002
req 200 GET /products/sku-1002

# Stop orders first: it closes the trace on SIGTERM.
kill -TERM "$orders_pid"
wait "$orders_pid" || true

if [ ! -s "$work/trace.jsonl" ]; then
	echo "$0: orders wrote no trace" >&2
	exit 1
fi
mkdir -p "$(dirname "$out")"
cp "$work/trace.jsonl" "$out.tmp.$$"
mv "$out.tmp.$$" "$out"
nin=$(grep -c '"dir":"in"' "$out" || true)
nout=$(grep -c '"dir":"out"' "$out" || true)
echo "$0: $nreq requests; wrote $out: $nin in, $nout out"
