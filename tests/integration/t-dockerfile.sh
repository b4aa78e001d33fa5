#!/bin/bash
# t-dockerfile: what can be checked of the Dockerfile without a container
# engine.  The stages are Debian 12 slim; the build stage installs every
# -dev package configure.ac asks for; the tree `make install-strip
# DESTDIR=...` makes (what the image copies) holds decoy and decoyd, which
# run; every shared library they link belongs to a package the runtime
# stage installs (or to libc6, in the base image); iptables is there for
# the init container; the default user is the non-root uid 1337 that
# `decoy kube inject` gives the sidecar.  hadolint lints it when installed.
. "$(dirname "$0")/lib.sh"

DF=$top_srcdir/Dockerfile
[ -f "$DF" ] || fatal "no Dockerfile"
command -v dpkg >/dev/null || skip "no dpkg to map libraries to packages"

# The RUN ... apt-get install line of stage N (1 or 2), continuation lines
# joined: the package names that follow "install".
stage_packages() {
	awk -v want="$1" '
	    /^FROM / { stage++ }
	    stage == want { line = line " " $0 }
	    END { print line }' "$DF" | sed 's/\\//g' |
	    grep -o 'apt-get install[^&]*' | tr ' ' '\n' |
	    grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -v -x -e apt-get -e install |
	    sort -u
}
stage_packages 1 >"$T/build.pkgs"
stage_packages 2 >"$T/runtime.pkgs"

check "two stages, both debian:12-slim" \
    test "$(grep -c -E '^FROM debian:12-slim( AS [a-z]+)?$' "$DF")" = 2
check "the runtime copies the install tree of the build stage" \
    grep -q -x 'COPY --from=build /out/ /' "$DF"
check "the build stage runs make install-strip DESTDIR=/out" \
    grep -q 'make install-strip DESTDIR=/out' "$DF"
user=$(awk '/^USER /{u=$2} END{print u}' "$DF")
check "the image runs as uid 1337, not root (USER $user)" \
    test "${user%%:*}" = 1337
check "iptables is installed in the runtime stage" \
    grep -q -x iptables "$T/runtime.pkgs"

# configure.ac: DECOY_NEED_PKG([VAR], [module], [debian-package]).
missing=
for p in $(sed -n 's/^DECOY_NEED_PKG(\[[A-Z0-9]*\], *\[[^]]*\], *\[\([^]]*\)\]).*/\1/p' \
    "$top_srcdir/configure.ac"); do
	grep -q -x "$p" "$T/build.pkgs" || missing="$missing $p"
done
check "the build stage installs configure.ac's packages (missing:$missing)" \
    test -z "$missing"
for p in autoconf automake libtool pkg-config make gcc; do
	check "the build stage installs $p" grep -q -x "$p" "$T/build.pkgs"
done

# The install tree, as the build stage makes it (prefix /usr).
unset MAKEFLAGS MFLAGS MAKELEVEL
make -s -C "$top_builddir" install-strip DESTDIR="$T/root" prefix=/usr \
    sysconfdir=/etc >"$T/install.log" 2>&1
check "make install-strip DESTDIR=... succeeds" test $? -eq 0
for b in decoy decoyd; do
	check "the tree holds /usr/bin/$b" test -x "$T/root/usr/bin/$b"
done
ep=$(sed -n 's/^ENTRYPOINT \["\([^"]*\)".*/\1/p' "$DF")
check "the ENTRYPOINT ($ep) is in the tree" test -x "$T/root$ep"
check "the entrypoint runs: decoy --version" \
    grep -q -x "decoy [0-9.]*" <("$T/root$ep" --version)
check "the entrypoint runs its CMD: decoy --help" \
    grep -q "kube" <("$T/root$ep" --help)
check "decoyd --version runs" grep -q -x "decoyd [0-9.]*" <("$T/root/usr/bin/decoyd" --version)

# Every library the binaries link: its package must be installed by the
# runtime stage, or be in the base image.
: >"$T/needed.pkgs"
for b in "$T/root/usr/bin/decoy" "$T/root/usr/bin/decoyd"; do
	ldd "$b" | awk '$3 ~ /^\//{print $3}' | while read -r lib; do
		real=$(readlink -f "$lib")
		{ dpkg -S "$lib" 2>/dev/null || dpkg -S "/usr$lib" 2>/dev/null ||
		    dpkg -S "$real" 2>/dev/null || echo "UNKNOWN($lib):"; } |
		    head -n 1 | cut -d: -f1
	done >>"$T/needed.pkgs"
done
sort -u -o "$T/needed.pkgs" "$T/needed.pkgs"
check "the binaries link some libraries (ldd worked)" test -s "$T/needed.pkgs"
# libc6, libgcc-s1 and libstdc++6 are in debian:12-slim (apt needs them).
# A sanitizer build (.ci/run's second pass) links its runtimes, which the
# image's plain build does not.
base=(-e libc6 -e libgcc-s1 -e libstdc++6)
if grep -q -e '^libasan' -e '^libubsan' "$T/needed.pkgs"; then
	echo "# sanitizer build: libasan and libubsan are not the image's"
	base+=(-e 'libasan[0-9]*' -e 'libubsan[0-9]*')
fi
uncovered=$(grep -v -x "${base[@]}" -f "$T/runtime.pkgs" "$T/needed.pkgs" | tr '\n' ' ')
check "every linked library is installed in the runtime (missing: $uncovered)" \
    test -z "$uncovered"

# .dockerignore keeps the sources the build stage needs and drops what a
# host build leaves behind.
DI=$top_srcdir/.dockerignore
check ".dockerignore exists" test -f "$DI"
for p in .git config.status Makefile configure /decoy; do
	check ".dockerignore drops $p" grep -q -x -- "$p" "$DI"
done
for p in configure.ac Makefile.am autogen.sh src; do
	check ".dockerignore keeps $p" bash -c "! grep -q -x -e '$p' -e '$p/' '$DI'"
done

if command -v hadolint >/dev/null; then
	check "hadolint passes" hadolint "$DF"
else
	echo "# hadolint not installed: not linted"
fi

done_testing
