#!/bin/bash
# t-cli.sh -- the command line as a whole: every command's --help comes
# from its option table in one format; bad values, unknown options and
# missing values are refused alike (exit 2, the option's long name, the
# usage line); the old spellings still work and are listed, but
# completion does not offer them; decoyd speaks the same way.
. "$(dirname "$0")/lib.sh"

rc() {
	"$@" >/dev/null 2>&1
	echo $?
}

cmds=$("$DECOY" --help | awk '/^  [a-z]/ { print $1 }')
check "decoy --help lists the commands" [ "$(echo $cmds | wc -w)" -ge 17 ]
for c in $cmds; do
	"$DECOY" "$c" --help >"$T/help-$c.txt" 2>&1
	check "$c --help: exit 0" [ $? -eq 0 ]
	check "$c --help: usage line first" \
	    grep -q "^usage: decoy $c" <(head -n 1 "$T/help-$c.txt")
	check "$c --help: an options heading and -h" \
	    grep -q -- '^  -h, --help                this help$' "$T/help-$c.txt"
done

# Errors name the option by its long name, whatever spelling was used.
"$DECOY" replay snap.jsonl -t http://127.0.0.1:1 -r x >"$T/out" 2>"$T/err"
check "replay -r x: exit 2" [ $? -eq 2 ]
check "replay -r x: the message" grep -qx \
    'decoy replay: --rate: expected a rate like 200/s, got "x"' "$T/err"
check "replay -r x: the usage line" grep -q '^usage: decoy replay ' "$T/err"
check "respond --max-head 10: below the range" grep -q \
    -- '--max-head: expected a size like 4096, 16KiB or 8MiB (at least 256), got "10"' \
    <("$DECOY" respond s.jsonl -l 127.0.0.1:0 --max-head 10 2>&1)
check "respond -l 8080: one listen address syntax" grep -q \
    -- '--listen: expected HOST:PORT, \[V6\]:PORT or :PORT, got "8080"' \
    <("$DECOY" respond s.jsonl -l 8080 2>&1)
check "record --listen 80: the same syntax" grep -q \
    -- '--listen: expected HOST:PORT' \
    <("$DECOY" record -u http://127.0.0.1:1 --listen 80 -o x 2>&1)
check "fuzz -c 0: a range" grep -q \
    -- '--connections: expected an integer from 1 to 1024, got "0"' \
    <("$DECOY" fuzz corpus -t http://127.0.0.1:1 -c 0 2>&1)
check "replay --body xml: the choices" grep -q \
    -- '--body: expected exact, json or none, got "xml"' \
    <("$DECOY" replay s.jsonl -t http://127.0.0.1:1 --body xml 2>&1)
check "inspect --bogus: exit 2" [ "$(rc "$DECOY" inspect --bogus x)" = 2 ]
check "inspect --bogus: named" grep -q 'unknown option "--bogus"' \
    <("$DECOY" inspect --bogus x 2>&1)
check "split --in: missing value" grep -q -- '--in: missing value' \
    <("$DECOY" split x --in 2>&1)
check "inspect --json=1: takes no value" grep -q -- '--json: takes no value' \
    <("$DECOY" inspect --json=1 x 2>&1)

# Old spellings: accepted (they parse into the new option) and listed.
check "replay --ca is --ca-file" grep -q -- '--ca-file: expected a file name' \
    <("$DECOY" replay s.jsonl -t http://127.0.0.1:1 --ca= 2>&1)
check "chaos --idle is --idle-timeout" grep -q -- '--idle-timeout: expected a duration' \
    <("$DECOY" chaos -Q 1 -r x --idle 5 2>&1)
check "redirect -t is --to-port" grep -q -- '--to-port: expected an integer from 1 to 65535' \
    <("$DECOY" redirect install -t 0 2>&1)
check "replay --help lists -r as an old spelling" \
    grep -qE '^  -r +--rate$' "$T/help-replay.txt"
check "record --help lists --upstream-ca" \
    grep -qE '^  --upstream-ca +--ca-file$' "$T/help-record.txt"
check "respond --help: no -t among the options" \
    bash -c "! grep -q -- '^  -t, ' '$T/help-respond.txt'"

# One letter, one meaning: a letter shown in two commands' options names
# the same long option in both -- or one of the synonyms decoy(1) lists
# for it (-o: where the result goes; -n: change nothing).
for c in $cmds; do
	sed '/^old spellings/,$d' "$T/help-$c.txt" |
	    grep -oE '^  -[a-zA-Z6], --[a-z0-9-]+' | sed "s/^/$c /"
done | sed -e 's/ --report$/ --output/' -e 's/ --out$/ --output/' \
    -e 's/ --dry-run$/ --check/' >"$T/letters.txt"
awk '{ k = $2; if (k in m && m[k] != $3) bad = bad " " k;
    m[k] = $3 } END { if (bad != "") { print "clash:" bad; exit 1 } }' \
    "$T/letters.txt" >"$T/clash.txt"
check "a short letter means one option in every command" [ $? -eq 0 ]

# Completion offers the new spellings only.
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
	    _decoy; printf "%s\n" "${COMPREPLY[@]}"' _ \
	    "$top_srcdir/completions/decoy" "$@"
}
check "completion: --ca offers --ca-file alone" \
    [ "$(complete_words "$DECOY" replay --ca | tr '\n' ' ')" = "--ca-file " ]
check "completion: no --idle for chaos" \
    [ "$(complete_words "$DECOY" chaos --idle | tr '\n' ' ')" = "--idle-timeout " ]

# decoyd: the same messages, -v/-q, and the old -d.
check "decoyd --help: exit 0" [ "$(rc "$DECOYD" --help)" = 0 ]
check "decoyd -s x: exit 2" [ "$(rc "$DECOYD" -s x)" = 2 ]
check "decoyd -s x: the message" grep -qx \
    'decoyd: --seed: expected an unsigned integer, got "x"' \
    <("$DECOYD" -s x 2>&1)
cat >"$T/snap.jsonl" <<'EOF'
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/ping"},"res":{"status":200,"body":"pong"}}
EOF
printf 'snapshot: snap.jsonl\nlisten: 127.0.0.1:0\n' >"$T/d.yaml"
check "decoyd -d -n (old -d): configuration OK" \
    grep -q 'configuration OK' <("$DECOYD" -d -n -c "$T/d.yaml" 2>&1)
check "decoyd -q -n: configuration OK" \
    grep -q 'configuration OK' <("$DECOYD" -q -n -c "$T/d.yaml" 2>&1)

done_testing
