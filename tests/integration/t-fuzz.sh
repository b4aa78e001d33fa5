#!/usr/bin/env bash
#
# t-fuzz.sh -- the fuzz campaign end to end: the recorded normal traffic
# of examples/buggy (examples/snapshots/buggy.jsonl) -> `decoy corpus` ->
# `decoy fuzz --service-cmd buggy` finds each of its planted bugs
# exactly once (three different 500s on POST /payments as three findings,
# each hit many times), minimised, and none of its correct answers to
# malformed requests (501, 505, HTTP/0.9 replies, closes) -> `decoy fuzz --replay` reproduces them all
# against the buggy service (exit 1) and none against `buggy --fixed`
# (exit 0).  Also the corpus command's errors.  In the ASan build the
# service is ASan-built too: its crashes are then sanitizer reports.

. "$(dirname "$0")/lib.sh"

BUGGY=$top_builddir/examples/buggy/buggy
SNAP=$top_srcdir/examples/snapshots/buggy.jsonl
[ -x "$BUGGY" ] || skip "examples/buggy/buggy not built"

# --- decoy corpus -----------------------------------------------------------

check "corpus from the buggy snapshot" \
    "$DECOY" corpus "$SNAP" -o "$T/corpus"
nin=$(grep -c '"dir":"in"' "$SNAP")
nfiles=$(ls "$T/corpus"/*.http | wc -l)
check "one .http per distinct request ($nfiles of $nin)" \
    test "$nfiles" -ge 10 -a "$nfiles" -le "$nin"
check "index.jsonl lists every file" \
    test "$(wc -l <"$T/corpus/index.jsonl")" -eq "$nfiles"
check "index entries carry signature, source txn and count" \
    grep -q '"signature":"[0-9a-f]\{16\}".*"txn":"t-000006".*"count":1' \
    "$T/corpus/index.jsonl"
cart=$(ls "$T/corpus"/*post-cart-items.http | head -1)
check "requests are origin-form HTTP/1.1 with Host and Content-Length" \
    bash -c 'head -1 "$1" | grep -q "^POST /cart/items HTTP/1.1"$'"'\r'"' &&
        grep -q "^Host: " "$1" && grep -q "^Content-Length: 26"$'"'\r'"' "$1" &&
        ! grep -qi "^Transfer-Encoding" "$1"' _ "$cart"

# Errors: exit 2 with file:line or a clear message.
"$DECOY" corpus "$T/nonexistent.jsonl" -o "$T/c2" 2>"$T/err1.out"
check "missing snapshot: exit 2" test $? -eq 2
printf '{"v":1,"dir":"in","req":{"method":"GET","target":"/"}}\nnot json\n' \
    >"$T/bad.jsonl"
"$DECOY" corpus "$T/bad.jsonl" -o "$T/c3" 2>"$T/err2.out"
check "bad snapshot line: exit 2" test $? -eq 2
check "bad snapshot line: file:line named" grep -q 'bad.jsonl:2:' "$T/err2.out"
grep -v '"dir":"in"' "$top_srcdir/examples/snapshots/shop.jsonl" >"$T/out.jsonl"
"$DECOY" corpus "$T/out.jsonl" -o "$T/c4" 2>"$T/err3.out"
check "no dir:in transactions: exit 2" test $? -eq 2
check "no dir:in transactions: said so" grep -q 'no dir:in' "$T/err3.out"
"$DECOY" corpus "$SNAP" -o "$T/corpus" 2>"$T/err4.out"
check "a corpus directory is not overwritten" test $? -eq 2

# --- decoy fuzz ---------------------------------------------------------------

SVC="$BUGGY --port {port}"
# About one mutant in a hundred kills the service; an ASan-built one
# takes ~120 ms a death (report, exit, start) instead of ~25: fewer
# mutants there keep the test under a minute (every bug is found within
# the first 10000 with this seed either way).
REQUESTS=50000
if ldd "$BUGGY" 2>/dev/null | grep -q libasan; then
	REQUESTS=15000
fi
"$DECOY" fuzz "$T/corpus" --target http://127.0.0.1:0 --service-cmd "$SVC" \
    --requests $REQUESTS --seed 7 --timeout 1s --findings "$T/f" --json \
    >"$T/fuzz.out" 2>"$T/fuzz.err"
rc=$?
check "fuzz exits 1 on findings (got $rc)" test "$rc" -eq 1
check "the JSON summary lists the findings" grep -q '"findings":\[{' \
    "$T/fuzz.out"
# The buggy service answers garbage as RFC 9110/9112 allow (501, 505, an
# HTTP/0.9 reply, a close): counted as protocol noise, never a finding.
noise=$(grep -o '"protocol_noise":[0-9]*' "$T/fuzz.out" | cut -d: -f2)
check "protocol noise counted in the summary (${noise:-none})" \
    test "${noise:-0}" -gt 100
for n in method request-line version framing; do
	check "protocol noise: $n counted" bash -c \
	    'grep -q "\"noise_by\":{.*\"$1\":[1-9]" "$2"' _ "$n" "$T/fuzz.out"
done

# bug_of DIR: which planted bug a finding is (kind + endpoint, and the
# exception its signature names), or "?".
bug_of() {
	local j=$1/finding.json kind ep exc
	kind=$(grep -o '"kind":"[^"]*"' "$j" | cut -d'"' -f4)
	ep=$(grep -o '"endpoint":"[^"]*"' "$j" | cut -d'"' -f4)
	exc=$(grep -o '"signature":"[^"]*exception=[A-Za-z]*' "$j" |
	    sed 's/.*exception=//')
	case "$kind $ep $exc" in
	"crash POST /cart/items "*) echo negative-qty ;;
	"5xx POST /users AttributeError") echo missing-email ;;
	"5xx POST /payments TypeError") echo string-amount ;;
	"5xx POST /payments KeyError") echo missing-currency ;;
	"5xx POST /payments OverflowError") echo amount-overflow ;;
	"timeout POST /upload ") echo upload-hang ;;
	"crash GET /search "*) echo long-header ;;
	"slow GET /search ") echo deep-pagination ;;
	"crash POST /documents "*) echo deep-nesting ;;
	"5xx POST /documents IndexError") echo moderate-nesting ;;
	*) echo "? ($kind $ep $exc)" ;;
	esac
}

: >"$T/bugs.txt"
for d in "$T"/f/[0-9][0-9][0-9]-*/; do
	[ -d "$d" ] || continue
	echo "$(bug_of "$d") $(basename "$d")" >>"$T/bugs.txt"
done
cat "$T/bugs.txt" | sed 's/^/# /'
BUGS="negative-qty missing-email string-amount missing-currency
    amount-overflow upload-hang long-header deep-nesting deep-pagination
    moderate-nesting"
NBUGS=$(echo $BUGS | wc -w)
check "$NBUGS findings" test "$(wc -l <"$T/bugs.txt")" -eq "$NBUGS"
check "every finding is a planted bug" bash -c '! grep -q "^?" "$1"' _ \
    "$T/bugs.txt"
check "each bug found exactly once" \
    test "$(cut -d' ' -f1 "$T/bugs.txt" | sort -u | wc -l)" -eq "$NBUGS"
for bug in $BUGS; do
	check "found: $bug" grep -q "^$bug " "$T/bugs.txt"
done
# Repeats of one bug are one finding: the three 500s of POST /payments
# were each hit more than once.
for bug in string-amount missing-currency amount-overflow; do
	d=$(grep "^$bug " "$T/bugs.txt" | cut -d' ' -f2)
	[ -n "$d" ] || continue
	hits=$(grep -o '"hits":[0-9]*' "$T/f/$d/finding.json" | cut -d: -f2)
	check "$bug: one finding for its $hits hits" test "${hits:-0}" -gt 1
	check "$bug: finding.json carries the response" \
	    grep -q '"response":"HTTP/1.1 500 ' "$T/f/$d/finding.json"
done

for d in "$T"/f/[0-9][0-9][0-9]-*/; do
	n=$(basename "$d")
	check "$n: request.http, original.http, repro.sh, finding.json" \
	    test -s "$d/request.http" -a -s "$d/original.http" \
	    -a -x "$d/repro.sh" -a -s "$d/finding.json"
	check "$n: minimised is no larger than the mutant" \
	    test "$(wc -c <"$d/request.http")" -le "$(wc -c <"$d/original.http")"
done
search=$(grep '^long-header ' "$T/bugs.txt" | cut -d' ' -f2)
if [ -n "$search" ]; then
	nh=$(sed -n '2,/^\r$/p' "$T/f/$search/request.http" | grep -c ':')
	check "long-header finding minimised to few headers ($nh)" \
	    test "$nh" -le 3
fi
users=$(grep '^missing-email ' "$T/bugs.txt" | cut -d' ' -f2)
if [ -n "$users" ]; then
	check "missing-email finding: no email member left" \
	    bash -c '! grep -q "\"email\":\"" "$1"' _ "$T/f/$users/request.http"
	check "missing-email finding: headers minimised" \
	    test "$(sed -n '2,/^\r$/p' "$T/f/$users/request.http" | grep -c ':')" -le 3
fi
check "repro.sh reproduces over bash /dev/tcp" \
    grep -q '/dev/tcp' "$T/f/$users/repro.sh"

# --strict-protocol: the same answers are findings again.
"$DECOY" fuzz "$T/corpus" --target http://127.0.0.1:0 --service-cmd "$SVC" \
    --requests 1500 --seed 7 --timeout 1s --findings "$T/strict" \
    --strict-protocol --json >"$T/strict.out" 2>"$T/strict.err"
check "--strict-protocol: 501 to an unknown method is a finding" \
    grep -q '"kind":"5xx","endpoint":"[^"]*","status":501' "$T/strict.out"
check "--strict-protocol: said in the summary" \
    grep -q '"strict_protocol":true' "$T/strict.out"

# --- the same seed, the same findings --------------------------------------------
# Two short campaigns with one seed send the same mutants; the findings
# that do not depend on timing (5xx answers; crashes, hangs and outliers
# are classified by when the service dies or answers, which a loaded
# machine shifts) are the same.  One connection: with several in flight,
# a crash takes down the mutants sent beside it, and which ones those are
# is timing again.
keys() {
	local d
	for d in "$1"/[0-9][0-9][0-9]-*/; do
		grep -o '"kind":"[^"]*","endpoint":"[^"]*"' "$d/finding.json"
	done | grep -E '"kind":"5xx"' | sort
}
for run in a b; do
	"$DECOY" fuzz "$T/corpus" --target http://127.0.0.1:0 \
	    --service-cmd "$SVC" --requests 3000 --seed 7 --timeout 1s \
	    --connections 1 --findings "$T/det-$run" >"$T/det-$run.out" \
	    2>"$T/det-$run.err"
done
keys "$T/det-a" >"$T/det-a.keys"
keys "$T/det-b" >"$T/det-b.keys"
check "same seed: findings found ($(wc -l <"$T/det-a.keys"))" \
    test "$(wc -l <"$T/det-a.keys")" -ge 3
check "same seed: the same 5xx findings" \
    cmp -s "$T/det-a.keys" "$T/det-b.keys"

# --- replay ---------------------------------------------------------------------

"$DECOY" fuzz --replay "$T/f" --target http://127.0.0.1:0 \
    --service-cmd "$SVC" --timeout 1s >"$T/replay1.out" 2>"$T/replay1.err"
rc=$?
sed 's/^/# /' "$T/replay1.out"
check "replay against the buggy service: exit 1 (got $rc)" test "$rc" -eq 1
check "replay: every finding still fails" \
    grep -q "^$NBUGS of $NBUGS findings still fail" "$T/replay1.out"

"$DECOY" fuzz --replay "$T/f" --target http://127.0.0.1:0 \
    --service-cmd "$BUGGY --fixed --port {port}" --timeout 1s \
    >"$T/replay2.out" 2>"$T/replay2.err"
rc=$?
sed 's/^/# /' "$T/replay2.out"
check "replay against the fixed service: exit 0 (got $rc)" test "$rc" -eq 0
check "replay: none still fails" \
    grep -q "^0 of $NBUGS findings still fail" "$T/replay2.out"

# Without --service-cmd, a crash finding kills the service and nobody
# restarts it: the findings after it are untested, not "fixed".
start_bg ext "$T/ext.port" "$BUGGY" --port-file "$T/ext.port"
"$DECOY" fuzz --replay "$T/f" --target "http://127.0.0.1:$PORT_ext" \
    --timeout 1s >"$T/replay3.out" 2>"$T/replay3.err"
rc=$?
sed 's/^/# /' "$T/replay3.out"
check "replay, service not ours, killed: exit 1 (got $rc)" test "$rc" -eq 1
check "replay, service killed: later findings untested" \
    grep -q 'UNTESTED (the service does not accept connections' \
    "$T/replay3.out"
check "replay, service killed: none 'fixed' for want of a service" \
    bash -c '! grep -q "fixed (connect" "$1"' _ "$T/replay3.out"
check "replay, service killed: the summary says why" \
    grep -q 'untested: the service stopped accepting connections (give --service-cmd' \
    "$T/replay3.out"
# The planted crash the replay set off is in the buggy service's own log
# (under ASan, its sanitizer report): expected, and not decoy's; keep it
# out of done_testing's scan of $T/*.log.
mv "$T/ext.log" "$T/ext.planted-crash"

# A service that lingers after its crash (its wrapper sleeps on) is
# restarted before the next finding: every 5xx still fails.
"$DECOY" fuzz --replay "$T/f" --target http://127.0.0.1:0 \
    --service-cmd "$BUGGY --port {port}; sleep 2" --timeout 1s \
    >"$T/replay4.out" 2>"$T/replay4.err"
sed 's/^/# /' "$T/replay4.out"
n5xx=$(ls -d "$T"/f/*-5xx-* | wc -l)
check "replay, lingering service: all $n5xx 5xx findings still fail" \
    test "$(grep -c -- '-5xx-.*STILL FAILS' "$T/replay4.out")" -eq "$n5xx"

# decoy's own stderr (the service's reports are in $T/f/service.log and
# in the findings, which name them): no sanitizer report of its own.
check "no sanitizer report from decoy itself" bash -c '! grep -E \
    "^==[0-9]+==ERROR|^[^ ]+\.c:[0-9]+:[0-9]+: runtime error" "$@"' _ \
    "$T"/*.err

# --- usage errors ---------------------------------------------------------------

"$DECOY" fuzz "$T/corpus" >/dev/null 2>&1
check "fuzz without --target: exit 2" test $? -eq 2
"$DECOY" fuzz "$T/empty" --target http://127.0.0.1:1 >/dev/null 2>&1
check "fuzz with a missing corpus: exit 2" test $? -eq 2

done_testing
