#!/bin/bash
# t-funnel.sh -- the capture funnel in `decoy import har` and `decoy
# import pcap`: traffic generated so that each transaction's fate under
# the funnel's options is known (funnel-gen.py: host, method, path and
# status filters, a JWT's exp, a timestamp, a nonce masked for
# --dedup, a cap per endpoint and minute) imports to exactly the
# transactions expected kept, byte for byte the lines an import without
# the funnel writes, with every drop counted by reason in --json and in
# the summary line.  --sample keeps a reproducible subset and counts the
# rest; a bad funnel option exits 2 naming it and writes nothing.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || skip "jq is not installed"
PY=/usr/bin/python3
GEN=$top_srcdir/tests/integration/funnel-gen.py
REASONS="kept host method path status sampled duplicate capped"

# count JSON REASON: the funnel's counter of REASON in an import summary.
count() {
	jq -r --arg r "$2" '.funnel.filtered[$r] // .funnel[$r]' "$1"
}

for fmt in har pcap; do
	in=$T/in.$fmt
	$PY "$GEN" "$fmt" "$in" || fatal "funnel-gen.py $fmt failed"
	mapfile -t opts <"$in.opts"
	n=$(wc -l <"$in.expect")

	"$DECOY" import "$fmt" "$in" -o "$T/$fmt-all.jsonl" --json \
	    >"$T/$fmt-all.json" 2>"$T/$fmt-all.log"
	check "$fmt: without a funnel, all $n transactions" \
	    test "$(wc -l <"$T/$fmt-all.jsonl")" = "$n"
	check "$fmt: without a funnel, the funnel counts $n seen and kept" \
	    test "$(jq -r '"\(.funnel.seen) \(.funnel.kept)"' \
	    "$T/$fmt-all.json")" = "$n $n"

	"$DECOY" import "$fmt" "$in" -o "$T/$fmt-kept.jsonl" "${opts[@]}" \
	    --json >"$T/$fmt-kept.json" 2>"$T/$fmt-kept.log"
	check "$fmt: the import with a funnel exits 0" test $? -eq 0
	# The lines expected kept, taken from the import without a funnel.
	awk 'NR == FNR { e[FNR] = $0; next } e[FNR] == "kept"' \
	    "$in.expect" "$T/$fmt-all.jsonl" >"$T/$fmt-want.jsonl"
	check "$fmt: the kept transactions, byte for byte" \
	    cmp "$T/$fmt-want.jsonl" "$T/$fmt-kept.jsonl"
	check "$fmt: transactions counts the kept ones" \
	    test "$(jq -r .transactions "$T/$fmt-kept.json")" = \
	    "$(grep -cx kept "$in.expect")"
	check "$fmt: seen counts every transaction" \
	    test "$(jq -r .funnel.seen "$T/$fmt-kept.json")" = "$n"
	for r in $REASONS; do
		want=$(grep -cx "$r" "$in.expect")
		check "$fmt: $want counted $r" \
		    test "$(count "$T/$fmt-kept.json" "$r")" = "$want"
	done

	# The summary line says the same.
	"$DECOY" import "$fmt" "$in" -o "$T/$fmt-kept2.jsonl" "${opts[@]}" \
	    2>"$T/$fmt-summary.log"
	k=$(grep -cx kept "$in.expect")
	check "$fmt: the summary line counts what the funnel kept" \
	    grep -Eq "^$k transactions imported from .*; funnel: $n seen, \
$k kept, $((n - k)) dropped \(" "$T/$fmt-summary.log"
	for r in host path status duplicate; do
		want=$(grep -cx "$r" "$in.expect")
		[ "$want" -gt 0 ] || continue
		check "$fmt: the summary line counts $want $r" \
		    grep -Eq "(\(|, )$want $r[,)]" "$T/$fmt-summary.log"
	done
	check "$fmt: the same snapshot again" \
	    cmp "$T/$fmt-kept.jsonl" "$T/$fmt-kept2.jsonl"
done

# Sampling: the same seed keeps the same transactions; what is not kept
# is counted as sampled; what is kept is a subset of all, byte for byte.
in=$T/in.har
n=$(wc -l <"$in.expect")
sample() {	# sample NAME ARGS...
	local name=$1
	shift
	"$DECOY" import har "$in" -o "$T/$name.jsonl" --json "$@" \
	    >"$T/$name.json" 2>"$T/$name.log"
}
sample s1 --sample 0.5 --seed 3
sample s2 --sample 50% --seed 3
check "sample: the same seed, the same transactions" \
    cmp "$T/s1.jsonl" "$T/s2.jsonl"
kept=$(jq -r .funnel.kept "$T/s1.json")
sampled=$(jq -r .funnel.sampled "$T/s1.json")
check "sample: some kept, some sampled out ($kept, $sampled)" \
    test "$kept" -gt 0 -a "$sampled" -gt 0
check "sample: kept + sampled = seen" test $((kept + sampled)) = "$n"
check "sample: the lines kept are lines of the full import" \
    test "$(grep -cxFf "$T/har-all.jsonl" "$T/s1.jsonl")" = "$kept"
sample s0 --sample 0
check "sample 0: nothing kept, all counted" test "$(jq -r \
    '"\(.transactions) \(.funnel.sampled)"' "$T/s0.json")" = "0 $n"
sample s100 --sample 1
check "sample 1: everything kept" cmp "$T/s100.jsonl" "$T/har-all.jsonl"

# A bad option: exit 2, its name in the message, no snapshot.
bad() {	# bad OPTION VALUE
	"$DECOY" import har "$in" -o "$T/never.jsonl" "$1" "$2" \
	    2>"$T/bad.log" >/dev/null
	[ $? -eq 2 ] && grep -q "^decoy import: $1: " "$T/bad.log" &&
	    [ ! -e "$T/never.jsonl" ]
}
check "bad --status: exit 2, named" bad --status 6xx
check "bad --include-host: exit 2, named" bad --include-host '('
check "bad --cap: exit 2, named" bad --cap 10
check "bad --sample: exit 2, named" bad --sample 2
check "bad --dedup: exit 2, named" bad --dedup 0
check "bad --method: exit 2, named" bad --method 'G T'

done_testing
