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

# broken TWEAK...: runs the check on a fresh copy of src/ after the
# tweaks (shell commands run in the copy), output in $T/broken.out.
broken() {
	rm -rf "$T/src"
	mkdir "$T/src"
	cp "$top_srcdir"/src/*.c "$top_srcdir"/src/*.h "$T/src/"
	(cd "$T/src" && eval "$*")
	sh "$CHECK" "$T/src" "$DESIGN" >"$T/broken.out" 2>&1
}

# A base module that includes a role's header.
broken 'sed -i "s/^#include \"buf.h\"$/#include \"buf.h\"\n#include \"respond.h\"/" json.c'
check "upward include: exit 1" [ $? -eq 1 ]
line=$(grep -n '^#include "respond.h"' "$T/src/json.c" | cut -d: -f1)
check "upward include: names json.c:$line and both layers" grep -q -F \
    "json.c:$line: json (base) includes respond.h (role); base may include: base" \
    "$T/broken.out"

# An engine module that includes the event loop (io).
broken 'printf "#include \"loop.h\"\n" >>rule.h'
check "engine includes io: exit 1" [ $? -eq 1 ]
check "engine includes io: named" grep -q -F \
    "rule (engine) includes loop.h (io)" "$T/broken.out"

# A cycle between two modules of one layer (each include is allowed).
broken 'printf "#include \"match.h\"\n" >>jwt.h'
check "cycle: exit 1" [ $? -eq 1 ]
check "cycle: named" grep -q -E \
    'jwt.h:[0-9]+: include cycle: .*(match -> jwt|jwt -> match)' "$T/broken.out"

# A module without a row, and an include of an unknown header.
broken 'printf "#include \"buf.h\"\n" >newthing.c;
    printf "#include \"nosuch.h\"\n" >>snap.c'
check "unknown module: exit 1" [ $? -eq 1 ]
check "unknown module: named" grep -q -F \
    "newthing.c: module newthing is not in the layer table" "$T/broken.out"
check "unknown header: named" grep -q -E \
    'snap.c:[0-9]+: includes nosuch.h, whose module is not in the layer table' \
    "$T/broken.out"

# cJSON in a module that carries recorded bytes.
broken 'printf "#include <cjson/cJSON.h>\n" >>har.c'
check "cJSON in an exact module: exit 1" [ $? -eq 1 ]
check "cJSON in an exact module: named" grep -q -E \
    'har.c:[0-9]+: har includes <cjson/cJSON.h>' "$T/broken.out"

# A family member belongs to its family's module: record-redact.c may
# include what record may, but is held to record's row.
broken 'printf "#include \"cli.h\"\n" >>record-redact.c'
check "family member: exit 1" [ $? -eq 1 ]
check "family member: held to its module's row" grep -q -F \
    "record (role) includes cli.h (command)" "$T/broken.out"

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
