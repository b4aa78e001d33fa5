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
done_testing
