#!/bin/bash
# The demo end to end: orders answers every recorded inbound request while
# decoy plays payments and inventory from the bundled snapshot; orders
# must receive byte-exact recorded responses (its answers, which embed
# them, must equal the recorded ones), binary image bodies included.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"

"$top_srcdir/examples/demo.sh" "$top_builddir" \
    "$top_srcdir/examples/snapshots/shop.jsonl" >"$T/demo.log" 2>&1
st=$?
cat "$T/demo.log"
check "demo exits 0" [ $st -eq 0 ]
check "every recorded request answered identically" \
    grep -q 'identical answers, 0 different' "$T/demo.log"
check "the responder matched every dependency call" \
    grep -q ' 0 unmatched, 0 rejected' "$T/demo.log"

done_testing
