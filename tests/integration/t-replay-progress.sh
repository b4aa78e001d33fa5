#!/bin/bash
# t-replay-progress.sh -- on a terminal (a pty from script(1)) decoy
# replay draws a status line in place with the fraction done and an ETA
# when the run's length is known, each draw clearing the line first, and
# clears it at the end; on a non-terminal it draws nothing.
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null || skip "script(1) is not installed"

cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"i-1","dir":"in","req":{"method":"GET","target":"/ping"},"res":{"status":200,"body":"pong"}}
{"v":1,"id":"o-1","dir":"out","req":{"method":"GET","target":"/ping"},"res":{"status":200,"body":"pong"}}
EOF2
start_respond svc "$T/snap.jsonl"
esc=$(printf '\033')
cr=$(printf '\r')

# 2.5 s at 20/s: the line is drawn at 1 s and 2 s.
script -q -e -c "'$DECOY' replay '$T/snap.jsonl' \
    --target http://127.0.0.1:$PORT_svc --rate 20 --duration 2500ms \
    --report '$T/r.json'" /dev/null </dev/null >"$T/tty.out" 2>&1
check "replay on a pty: exit 0" [ $? -eq 0 ]
check "the status line shows the fraction done and an ETA" \
    grep -q -E '[0-9]+%  eta [0-9]+s  sent' "$T/tty.out"
# Every draw starts with CR + erase-line (in place, never a new line).
draws=$(grep -o "eta [0-9]*s" "$T/tty.out" | wc -l)
cleared=$(grep -o "$cr$esc\[K\[ *[0-9.]*s\]" "$T/tty.out" | wc -l)
check "each draw clears the line first ($draws draws)" \
    [ "$draws" -ge 1 -a "$cleared" -eq "$draws" ]
# The last draw is cleared before the summary is printed.
check "the line is cleared at the end, before the summary" \
    grep -q "/s$cr$esc\[Kreplay: " "$T/tty.out"

# Not a terminal: no status line, no escape sequence.
"$DECOY" replay "$T/snap.jsonl" --target "http://127.0.0.1:$PORT_svc" \
    --rate 20 --duration 1500ms --report "$T/r2.json" \
    >"$T/plain.out" 2>"$T/plain.err"
check "replay to files: exit 0" [ $? -eq 0 ]
check "... no status line" \
    bash -c '! grep -q "eta " "$1" "$2"' _ "$T/plain.out" "$T/plain.err"
check "... no escape sequence" \
    bash -c '! grep -q "$3" "$1" "$2"' _ "$T/plain.out" "$T/plain.err" "$esc"

done_testing
