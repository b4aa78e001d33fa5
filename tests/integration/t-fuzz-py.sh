#!/usr/bin/env bash
#
# t-fuzz-py.sh -- decoy fuzz against a second planted-bug service in
# another language (examples/buggy-py/buggy.py: Python's http.server and
# json, so other parsers than examples/buggy's): each planted bug found,
# one finding per signature (a Python traceback's exception class and
# innermost frame), and none of http.server's correct answers to garbage
# (501 for an unknown method, HTTP/0.9 replies to broken request lines,
# 400s) reported; --replay reproduces every finding, none against
# --fixed.

. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || skip "no /usr/bin/python3"
SVC="$PY $top_srcdir/examples/buggy-py/buggy.py --port {port}"
CORPUS=$top_srcdir/corpora/buggy-py

# The service has no planted hang: a generous timeout keeps a loaded
# machine (CI runs tests in parallel) from turning a slow answer into an
# unconfirmed failure.  The schedule follows the answers, and with several
# connections a crash's timing can change it.  With the sweep first, seed 7
# found the moderate-nesting bug at mutants 389, 688 and 3,938 in three
# runs (-O2, quiet box), and missed it within 4,000 once in CI: 8,000
# leave a margin.
"$DECOY" fuzz "$CORPUS" --target http://127.0.0.1:0 --service-cmd "$SVC" \
    --requests 8000 --seed 7 --timeout 5s --findings "$T/f" --json \
    >"$T/fuzz.out" 2>"$T/fuzz.err"
rc=$?
check "fuzz exits 1 on findings (got $rc)" test "$rc" -eq 1

: >"$T/found.txt"
for d in "$T"/f/[0-9][0-9][0-9]-*/; do
	[ -d "$d" ] || continue
	j=$d/finding.json
	kind=$(grep -o '"kind":"[^"]*"' "$j" | cut -d'"' -f4)
	st=$(grep -o '"status":[0-9]*' "$j" | head -1 | cut -d: -f2)
	sig=$(grep -o '"signature":"[^"]*"' "$j" | cut -d'"' -f4)
	echo "$kind ${st:--} $sig" >>"$T/found.txt"
done
sed 's/^/# /' "$T/found.txt"
for bug in "5xx 500 KeyError in create" "5xx 500 TypeError in create" \
    "5xx 500 OverflowError in create" "5xx 500 IndexError in index_paths" \
    "5xx 500 ValueError in list_orders" "crash - signal SIGABRT"; do
	check "found: $bug" grep -q "^$bug" "$T/found.txt"
done
check "no signature twice (one finding per bug)" \
    test "$(sort "$T/found.txt" | uniq -d | wc -l)" -eq 0
check "no protocol noise among the findings (501, 505, bad-response, close)" \
    bash -c '! grep -Eq "^(5xx 50[15]|bad-response|eof|reset) " "$1"' _ \
    "$T/found.txt"
check "at most one finding beyond the six bugs ($(wc -l <"$T/found.txt"))" \
    test "$(wc -l <"$T/found.txt")" -le 7
noise=$(grep -o '"protocol_noise":[0-9]*' "$T/fuzz.out" | cut -d: -f2)
check "http.server's answers to garbage counted as noise (${noise:-0})" \
    test "${noise:-0}" -gt 100
check "noise includes 501s to broken methods and HTTP/0.9 replies" \
    grep -q '"noise_by":{"request-line":[1-9][0-9]*,"method":[1-9]' \
    "$T/fuzz.out"

n=$(wc -l <"$T/found.txt")
"$DECOY" fuzz --replay "$T/f" --target http://127.0.0.1:0 \
    --service-cmd "$SVC" --timeout 1s >"$T/replay1.out" 2>"$T/replay1.err"
rc=$?
sed 's/^/# /' "$T/replay1.out"
check "replay: exit 1 (got $rc)" test "$rc" -eq 1
check "replay: every finding still fails" \
    grep -q "^$n of $n findings still fail" "$T/replay1.out"
"$DECOY" fuzz --replay "$T/f" --target http://127.0.0.1:0 \
    --service-cmd "$PY $top_srcdir/examples/buggy-py/buggy.py --fixed --port {port}" \
    --timeout 1s >"$T/replay2.out" 2>"$T/replay2.err"
rc=$?
check "replay against --fixed: exit 0 (got $rc)" test "$rc" -eq 0

done_testing
