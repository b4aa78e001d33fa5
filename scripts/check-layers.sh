#!/bin/sh
# check-layers.sh -- the layer check: every #include "x.h" in src/ must
# point to a module of a layer the including module's layer may include,
# the module graph must have no cycle, and the modules that carry recorded
# bytes must not include cJSON.  The rules are the tables of
# docs/design.md (section "Layers"), read here, so the document and the
# check cannot drift apart.
#
#   scripts/check-layers.sh [--graph] [SRCDIR [DOC]]
#
# SRCDIR defaults to src/ and DOC to docs/design.md beside this
# script.  Without --graph it prints nothing and exits 0 when the tree
# keeps the rules; otherwise one line per problem, naming the file and
# line of the include ("src/json.c:12: json (base) includes respond.h
# (role); base may include: base"), and exits 1.  With --graph it prints
# the module include graph (one line per module: layer, module, the
# modules it includes) and exits 0; that is how the table in the document
# was derived.  Exit 2: usage error or a table that does not parse.
#
# A file's module is its name without .c/.h; a name not in the table
# belongs to the module of its longest hyphenated prefix that is
# (record-redact.c is module record, cmd-split.c module cmd).  A file or
# included header whose module is not in the table is an error: a new
# module gets its row before it gets its first include.
set -eu

graph=0
if [ "${1-}" = "--graph" ]; then
	graph=1
	shift
fi
case "${1-}" in
-*)
	echo "usage: check-layers.sh [--graph] [SRCDIR [DOC]]" >&2
	exit 2
	;;
esac
here=$(cd "$(dirname "$0")" && pwd)
src=${1:-$here/../src}
design=${2:-$here/../docs/design.md}
if [ ! -d "$src" ] || [ ! -r "$design" ]; then
	echo "check-layers: no $src or no $design" >&2
	exit 2
fi

# One line per include: FILE<TAB>LINE<TAB>"header" or <header>.
incs=$(mktemp "${TMPDIR:-/tmp}/check-layers.XXXXXX")
trap 'rm -f "$incs"' EXIT
for f in "$src"/*.c "$src"/*.h; do
	[ -e "$f" ] || continue
	awk -v f="$f" '
	/^[ \t]*#[ \t]*include[ \t]*["<]/ {
		s = $0
		sub(/^[ \t]*#[ \t]*include[ \t]*/, "", s)
		if (match(s, /^"[^"]*"/) || match(s, /^<[^>]*>/))
			printf "%s\t%d\t%s\n", f, NR, substr(s, RSTART, RLENGTH)
	}' "$f"
done >"$incs"

awk -v graph="$graph" -v design="$design" -F '\t' '
function die(msg) { print "check-layers: " design ": " msg > "/dev/stderr"; bad_table = 1; exit 2 }
# module_of(NAME): the module of a file or header name, "" if none.
function module_of(name,    m) {
	sub(/^.*\//, "", name)
	sub(/\.[ch]$/, "", name)
	m = name
	while (!(m in layer_of)) {
		if (m !~ /-/)
			return ""
		sub(/-[^-]*$/, "", m)
	}
	return m
}
# The tables: rows of "| layer | modules | may include |" between
# <!-- layers:begin --> and <!-- layers:end -->, and the module list of
# "| exact | modules |" rows between <!-- exact:begin --> and
# <!-- exact:end -->.
FILENAME == design && /<!-- layers:begin -->/ { in_l = 1; next }
FILENAME == design && /<!-- layers:end -->/ { in_l = 0; next }
FILENAME == design && /<!-- exact:begin -->/ { in_e = 1; next }
FILENAME == design && /<!-- exact:end -->/ { in_e = 0; next }
FILENAME == design {
	if (!(in_l || in_e) || $0 !~ /^\|/ || $0 ~ /^\|[-| :]*$/)
		next
	line = $0
	gsub(/`/, "", line)
	n = split(line, cell, "|")
	for (i = 2; i < n; i++) {
		gsub(/^[ \t]+|[ \t]+$/, "", cell[i])
		gsub(/,/, " ", cell[i])
	}
	if (cell[2] == "layer")
		next
	if (in_e) {
		k = split(cell[3], mods, /[ \t]+/)
		for (j = 1; j <= k; j++)
			if (mods[j] != "")
				exact[mods[j]] = 1
		next
	}
	if (n < 5)
		die(FNR ": a layer row needs: | layer | modules | may include |")
	L = cell[2]
	order[++nlayers] = L
	k = split(cell[3], mods, /[ \t]+/)
	for (j = 1; j <= k; j++) {
		if (mods[j] == "")
			continue
		if (mods[j] in layer_of)
			die(FNR ": module " mods[j] " is in two layers")
		layer_of[mods[j]] = L
	}
	k = split(cell[4], ups, /[ \t]+/)
	for (j = 1; j <= k; j++)
		if (ups[j] != "")
			may[L, ups[j]] = 1
	allowed[L] = cell[4]
	gsub(/[ \t]+/, " ", allowed[L])
	next
}
# The includes.
{
	if (nlayers == 0)
		die("no layer table (<!-- layers:begin --> ... <!-- layers:end -->)")
	file = $1; lineno = $2; hdr = $3
	from = module_of(file)
	if (from == "") {
		if (!(file in unplaced)) {
			unplaced[file] = 1
			m = file
			sub(/^.*\//, "", m)
			sub(/\.[ch]$/, "", m)
			printf "%s: module %s is not in the layer table of %s\n",
			    file, m, design
			fails++
		}
		next
	}
	seen[from] = 1
	if (hdr ~ /^</) {
		if (hdr ~ /^<cjson\// && (from in exact)) {
			printf "%s:%d: %s includes %s, but %s carries recorded bytes (the exact-JSON modules of %s use json.h)\n",
			    file, lineno, from, hdr, from, design
			fails++
		}
		next
	}
	h = substr(hdr, 2, length(hdr) - 2)
	to = module_of(h)
	if (to == "") {
		printf "%s:%d: includes %s, whose module is not in the layer table of %s\n",
		    file, lineno, h, design
		fails++
		next
	}
	if (to == from)
		next
	if (!((from, to) in edge)) {
		edge[from, to] = file ":" lineno
		adj[from] = adj[from] " " to
	}
	if (!((layer_of[from], layer_of[to]) in may)) {
		printf "%s:%d: %s (%s) includes %s (%s); %s may include: %s\n",
		    file, lineno, from, layer_of[from], h, layer_of[to],
		    layer_of[from], allowed[layer_of[from]]
		fails++
	}
}
# sort(A, N): A[1..N] in place, by insertion (tens of items).
function sort(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
}
# cycle(M): depth-first search; reports the first cycle through M.
function cycle(m,    k, n, next_, i) {
	state[m] = 1
	stack[++depth] = m
	n = split(adj[m], next_, " ")
	for (i = 1; i <= n; i++) {
		if (state[next_[i]] == 1) {
			path = next_[i]
			for (k = depth; k >= 1 && stack[k] != next_[i]; k--)
				path = stack[k] " -> " path
			printf "%s: include cycle: %s -> %s\n",
			    edge[m, next_[i]], next_[i], path
			fails++
		} else if (state[next_[i]] == 0)
			cycle(next_[i])
	}
	depth--
	state[m] = 2
}
END {
	if (bad_table)
		exit 2
	for (m in seen)
		if (state[m] == 0)
			cycle(m)
	if (graph) {
		for (i = 1; i <= nlayers; i++) {
			n = 0
			for (m in layer_of)
				if (layer_of[m] == order[i] && (m in seen))
					row[++n] = m
			sort(row, n)
			for (j = 1; j <= n; j++) {
				k = split(adj[row[j]], deps, " ")
				sort(deps, k)
				s = ""
				for (d = 1; d <= k; d++)
					if (deps[d] != "config")
						s = s " " deps[d]
				printf "%-8s %-14s:%s\n", order[i], row[j], s
			}
		}
		exit 0
	}
	exit fails ? 1 : 0
}' "$design" "$incs"
