#!/bin/bash
# A snapshot line that does not parse is an error naming FILE:LINE:COL,
# with exit status 2, for every command that reads snapshots (inspect,
# split, respond); so are an unsupported format version, a missing file
# and a truncated line that ends with a newline (a last line without one
# is a torn write: skipped with a warning).  Blank lines are skipped but counted.
. "$(dirname "$0")/lib.sh"

good='{"v":1,"dir":"out","req":{"method":"GET","target":"/a","host":"api.example"},"res":{"status":200,"body":"ok"}}'

# Line 4 (after a blank line 2) lacks the closing brace of "req".
printf '%s\n\n%s\n{"v":1,"dir":"out","req":{"method":"GET","target":"/b","res":{"status":200}}\n%s\n' \
    "$good" "$good" "$good" >"$T/broken.jsonl"

# expect_fail DESC WANT CMD...: CMD exits 2 and its stderr holds WANT.
expect_fail() {
	local desc=$1 want=$2 st
	shift 2
	timeout 20 "$@" >"$T/out.txt" 2>"$T/err.txt"
	st=$?
	check "$desc: exit status 2 (got $st)" [ "$st" -eq 2 ]
	check "$desc: message has \"$want\"" grep -qF -- "$want" "$T/err.txt"
}

expect_fail "inspect, broken line" "$T/broken.jsonl:4:" \
    "$DECOY" inspect "$T/broken.jsonl"
check "inspect: the message is prefixed and has a column and a reason" \
    grep -Eq "^decoy inspect: .*broken\.jsonl:4:[0-9]+: .+" "$T/err.txt"
check "inspect: nothing on stdout" [ ! -s "$T/out.txt" ]
expect_fail "inspect --json, broken line" "$T/broken.jsonl:4:" \
    "$DECOY" inspect --json "$T/broken.jsonl"
expect_fail "split, broken line" "$T/broken.jsonl:4:" \
    "$DECOY" split "$T/broken.jsonl" --out "$T/half.jsonl"
check "split leaves no half-written output" [ ! -e "$T/half.jsonl" ]
expect_fail "respond, broken line" "$T/broken.jsonl:4:" \
    "$DECOY" respond "$T/broken.jsonl" --listen 127.0.0.1:0 \
    --port-file "$T/never.port"
check "respond never started listening" [ ! -s "$T/never.port" ]

# A newer format version is named as such.
printf '%s\n{"v":2,"dir":"out","req":{"method":"GET","target":"/"}}\n' \
    "$good" >"$T/v2.jsonl"
expect_fail "inspect, version 2" "$T/v2.jsonl:2:6: snapshot format version 2" \
    "$DECOY" inspect "$T/v2.jsonl"
expect_fail "respond, version 2" "$T/v2.jsonl:2:" \
    "$DECOY" respond "$T/v2.jsonl" --listen 127.0.0.1:0

# A last line cut short (no newline: a torn write) is skipped with a
# warning; the same line with a newline is an error.
printf '%s\n{"v":1,"dir":"out","req":{"method":"GE' "$good" >"$T/cut.jsonl"
"$DECOY" inspect "$T/cut.jsonl" >"$T/out.txt" 2>"$T/err.txt"
check "inspect, torn last line: exit status 0" [ $? -eq 0 ]
check "inspect, torn last line: warning names file:line" grep -qF \
    "$T/cut.jsonl:2: incomplete last line skipped" "$T/err.txt"
check "inspect, torn last line: one transaction" \
    grep -q "cut.jsonl: 1 transactions\|cut.jsonl: 1 transaction" "$T/out.txt"
printf '\n' >>"$T/cut.jsonl"
expect_fail "inspect, truncated line with newline" "$T/cut.jsonl:2:" \
    "$DECOY" inspect "$T/cut.jsonl"

# Binary garbage.
printf '%s\n\x00\xff\x1b[2J{"v":1}\x80\n' "$good" >"$T/garbage.jsonl"
expect_fail "inspect, garbage line" "$T/garbage.jsonl:2:" \
    "$DECOY" inspect "$T/garbage.jsonl"

# Missing file.
expect_fail "inspect, missing file" "$T/nope.jsonl: No such file or directory" \
    "$DECOY" inspect "$T/nope.jsonl"
expect_fail "split, missing file" "$T/nope.jsonl" \
    "$DECOY" split "$T/nope.jsonl" --in "$T/in.jsonl"
expect_fail "respond, missing file" "$T/nope.jsonl" \
    "$DECOY" respond "$T/nope.jsonl" --listen 127.0.0.1:0

# Errors on stdin are named too.
timeout 20 "$DECOY" inspect - <"$T/broken.jsonl" >/dev/null 2>"$T/err.txt"
check "stdin: exit status 2" [ $? -eq 2 ]
check "stdin: message names <stdin>:4" grep -qF "<stdin>:4:" "$T/err.txt"

# And a good snapshot with blank lines and CRLF endings is fine.
printf '\n%s\r\n\n%s\n' "$good" "$good" >"$T/ok.jsonl"
"$DECOY" inspect "$T/ok.jsonl" >"$T/out.txt" 2>&1
check "blank lines and CRLF accepted" [ $? -eq 0 ]
check "both transactions counted" grep -q "ok.jsonl: 2 transactions" "$T/out.txt"

done_testing
