#!/bin/sh
# npm-install.sh -- installs the test-only validator packages of
# tests/kube/validate.mjs (kubernetes-models, js-yaml; pinned) into a cache
# directory outside the tree, once: later runs find them and return at
# once.  Prints the directory holding node_modules; exit 1 (quietly) when
# npm is missing or the registry cannot be reached, so the tests skip.
#   DECOY_NPM_DIR   the cache (default ~/.cache/decoy/kube-npm)
set -u
dir=${DECOY_NPM_DIR:-${HOME:-/tmp}/.cache/decoy/kube-npm}
want_models=5.1.0
want_yaml=4.1.0

have() {
	grep -q "\"version\": \"$2\"" "$dir/node_modules/$1/package.json" \
	    2>/dev/null
}
if have kubernetes-models "$want_models" && have js-yaml "$want_yaml"; then
	echo "$dir"
	exit 0
fi
command -v npm >/dev/null 2>&1 || exit 1
command -v node >/dev/null 2>&1 || exit 1
mkdir -p "$dir" || exit 1
[ -f "$dir/package.json" ] || echo '{"private": true}' >"$dir/package.json"
if ! timeout 180 npm install --prefix "$dir" --no-audit --no-fund \
    --no-save --silent "kubernetes-models@$want_models" \
    "js-yaml@$want_yaml" >"$dir/install.log" 2>&1; then
	exit 1
fi
have kubernetes-models "$want_models" && have js-yaml "$want_yaml" || exit 1
echo "$dir"
