#!/bin/sh
# npm-install.sh -- installs WireMock's standalone jar, shipped in the npm
# package `wiremock` (pinned), for tests/integration/t-import-wiremock.sh,
# into a cache directory outside the tree, once: later runs find it and
# return at once.  Prints the path of the jar; exit 1 (quietly) when npm is
# missing or the registry cannot be reached, so the test skips.
#   DECOY_WIREMOCK_DIR   the cache (default ~/.cache/decoy/wiremock-npm)
set -u
dir=${DECOY_WIREMOCK_DIR:-${HOME:-/tmp}/.cache/decoy/wiremock-npm}
want=3.13.2
jar=$dir/node_modules/wiremock/build/wiremock-standalone-$want.jar

if [ -s "$jar" ]; then
	echo "$jar"
	exit 0
fi
command -v npm >/dev/null 2>&1 || exit 1
mkdir -p "$dir" || exit 1
[ -f "$dir/package.json" ] || echo '{"private": true}' >"$dir/package.json"
# --ignore-scripts: only the jar is wanted, not the package's launcher.
if ! timeout 300 npm install --prefix "$dir" --no-audit --no-fund \
    --no-save --silent --ignore-scripts "wiremock@$want" \
    >"$dir/install.log" 2>&1; then
	exit 1
fi
[ -s "$jar" ] || exit 1
echo "$jar"
