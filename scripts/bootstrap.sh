#!/bin/sh
# bootstrap.sh -- install what the build needs (Debian 12), then build.
#
#   scripts/bootstrap.sh [CONFIGURE-ARGS...]
#
# Installs the missing Debian packages with apt-get (as root, or through
# sudo when it is there), runs autogen.sh and configure when needed, and
# make.  Safe to run again: it only does what is missing.
set -eu
cd "$(dirname "$0")/.."

PACKAGES="autoconf automake pkg-config make gcc libc6-dev
libnetfilter-queue-dev libmnl-dev libssl-dev libcjson-dev libpcre2-dev
libyaml-dev libnghttp2-dev curl jq ca-certificates iptables iproute2"

missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
	    missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "bootstrap: installing$missing" >&2
	if [ "$(id -u)" -eq 0 ]; then
		SUDO=
	elif command -v sudo >/dev/null; then
		SUDO=sudo
	else
		echo "bootstrap: need root to install:$missing" >&2
		exit 2
	fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -q
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -q --no-install-recommends $missing
fi

[ -x configure ] || ./autogen.sh
if [ ! -f Makefile ] || [ $# -gt 0 ]; then
	./configure "$@"
fi
make -j"$(nproc)"
