#!/bin/sh
# Regenerates the build system from configure.ac and Makefile.am.
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
autoreconf -fi
# autoreconf never installs tap-driver.sh; the test harness needs it.
cp -f "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
