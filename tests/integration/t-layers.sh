#!/bin/bash
# t-layers.sh -- the layer check (scripts/check-layers.sh): src/ keeps the
# layer table of docs/design.md section 2 (every include points to a
# layer the including module's row names, no include cycle, no cJSON in
# the exact-JSON modules), and the check fails, naming the include, on a
# copy of src/ broken in each of those ways.
. "$(dirname "$0")/lib.sh"

CHECK=$top_srcdir/scripts/check-layers.sh
DESIGN=$top_srcdir/docs/design.md

sh "$CHECK" "$top_srcdir/src" "$DESIGN" >"$T/tree.out" 2>&1
rc=$?
check "the tree keeps the layer table (exit $rc)" [ "$rc" -eq 0 ]
if [ "$rc" -ne 0 ]; then
	cat "$T/tree.out"
fi
check "and says nothing" [ ! -s "$T/tree.out" ]

sh "$CHECK" --graph "$top_srcdir/src" "$DESIGN" >"$T/graph.out" 2>&1
check "--graph: exit 0" [ $? -eq 0 ]
for layer in base protocol engine io role command; do
	check "--graph lists layer $layer" grep -q "^$layer " "$T/graph.out"
done
check "--graph: respond includes match" \
    grep -q -E '^role +respond +:.* match( |$)' "$T/graph.out"

# fails DESC TWEAK ERE: on a fresh copy of src/ after TWEAK (shell
# commands run in the copy), the check exits 1 and its output matches ERE.
fails() {
	local rc
	rm -rf "$T/src"
	mkdir "$T/src"
	cp "$top_srcdir"/src/*.c "$top_srcdir"/src/*.h "$T/src/"
	(cd "$T/src" && eval "$2")
	sh "$CHECK" "$T/src" "$DESIGN" >"$T/broken.out" 2>&1
	rc=$?
	check "$1: exit 1 (got $rc)" [ "$rc" -eq 1 ]
	check "$1: named" grep -q -E "$3" "$T/broken.out" ||
	    cat "$T/broken.out"
}

# A base module that includes a role's header (the line is json.c's
# first include of buf.h plus one).
line=$(($(grep -n '^#include "buf.h"$' "$top_srcdir/src/json.c" |
    head -n 1 | cut -d: -f1) + 1))
fails "upward include" \
    'sed -i "s/^#include \"buf.h\"$/#include \"buf.h\"\n#include \"respond.h\"/" json.c' \
    "json\.c:$line: json \(base\) includes respond\.h \(role\); base may include: base\$"
# An engine module that includes the event loop (io).
fails "engine includes io" 'echo "#include \"loop.h\"" >>rule.h' \
    'rule\.h:[0-9]+: rule \(engine\) includes loop\.h \(io\)'
# A cycle between two modules of one layer (each include is allowed).
fails "cycle" 'echo "#include \"match.h\"" >>jwt.h' \
    '[a-z-]+\.[ch]:[0-9]+: include cycle: .*(match -> jwt|jwt -> match)'
# A module without a row, and an include of an unknown header.
fails "unknown module" 'echo "#include \"buf.h\"" >newthing.c' \
    'newthing\.c: module newthing is not in the layer table'
fails "unknown header" 'echo "#include \"nosuch.h\"" >>snap.c' \
    'snap\.c:[0-9]+: includes nosuch\.h, whose module is not in the layer table'
# cJSON in a module that carries recorded bytes.
fails "cJSON in an exact module" 'echo "#include <cjson/cJSON.h>" >>har.c' \
    'har\.c:[0-9]+: har includes <cjson/cJSON\.h>'
# A family member is held to its family's row (record-redact.c: record).
fails "family member" 'echo "#include \"cli.h\"" >>record-redact.c' \
    'record-redact\.c:[0-9]+: record \(role\) includes cli\.h \(command\)'

# A table that does not parse is a usage error, not a pass.
sed 's/^| io | `sock`/| io | `json` `sock`/' "$DESIGN" >"$T/design.md"
sh "$CHECK" "$top_srcdir/src" "$T/design.md" >"$T/table.out" 2>&1
check "a module in two layers: exit 2" [ $? -eq 2 ]
check "a module in two layers: named" grep -q "module json is in two layers" \
    "$T/table.out"
grep -v 'layers:begin' "$DESIGN" >"$T/design.md"
sh "$CHECK" "$top_srcdir/src" "$T/design.md" >"$T/table.out" 2>&1
check "no table: exit 2" [ $? -eq 2 ]

done_testing
