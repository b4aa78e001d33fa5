#!/bin/sh
# demo.sh -- README command one: install what is missing, build, and run
# the demo scenario: the orders service (examples/shop) answers ten times
# its recorded inbound traffic while decoy plays its dependencies from the
# bundled snapshot, with flaky payments; a report is printed and written
# to out/demo/ (report.json, junit.xml, report.html).
set -e
cd "$(dirname "$0")"
scripts/bootstrap.sh
exec ./decoy run scenarios/demo.yaml
