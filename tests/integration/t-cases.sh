#!/bin/bash
# The declarative responder cases of tests/cases/ (format and notation:
# tests/cases/README.md): snapshot, rules and options, the raw request
# bytes, the expected raw response bytes, how the connection ends and the
# chaos-log lines.  cases.py starts one `decoy respond` per distinct
# snapshot/rules/options set and prints a diff, in the case notation,
# under each failing case.  CASES=path/to/x.case runs only those.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || skip "no /usr/bin/python3"

# shellcheck disable=SC2086
"$PY" "$(dirname "$0")/cases.py" --decoy "$DECOY" --work "$T" \
    ${CASES:-"$top_srcdir/tests/cases"}
rc=$?
n=$(find "$top_srcdir/tests/cases/robust" -name '*.case' | wc -l)
check "at least 30 malformed-request cases (robust/: $n)" [ "$n" -ge 30 ]
check "every case passed and none is malformed (cases.py exit $rc)" \
    [ "$rc" -eq 0 ]

# The driver can fail: a wrong byte in an expectation is a failure with a
# diff naming the case file and line; a malformed case is an error naming
# file:line:col (exit 2), never a pass.  (Written here, not in tests/cases.)
if [ -z "${CASES:-}" ]; then
	mkdir -p "$T/neg"
	sed -e 's|^@../data/exact.jsonl$|@'"$top_srcdir"'/tests/cases/data/exact.jsonl|' \
	    -e 's|^{"id":1,"n":2}\\$|{"id":1,"n":3}\\|' \
	    "$top_srcdir/tests/cases/exact/recorded-bytes.case" >"$T/neg/wrong.case"
	"$PY" "$(dirname "$0")/cases.py" --decoy "$DECOY" --work "$T/neg" \
	    "$T/neg/wrong.case" >"$T/neg/wrong.out" 2>&1
	check "a wrong expectation fails (exit 1)" [ "$?" -eq 1 ]
	check "with the case file and line" \
	    grep -qF "$T/neg/wrong.case:12: response differs" "$T/neg/wrong.out"
	check "and a diff of the body line" grep -qxF \
	    '#   -{"id":1,"n":3}\' "$T/neg/wrong.out"
	printf -- '--- snapshot\n{}\n--- send\nGET / HTTP/1.1\\q\n--- end close\n' \
	    >"$T/neg/bad.case"
	"$PY" "$(dirname "$0")/cases.py" --decoy "$DECOY" --work "$T/neg" \
	    "$T/neg/bad.case" >"$T/neg/bad.out" 2>&1
	check "a malformed case is an error (exit 2)" [ "$?" -eq 2 ]
	check "naming file:line:col" \
	    grep -qF "$T/neg/bad.case:4:15: unknown escape \\q" "$T/neg/bad.out"
fi
done_testing
