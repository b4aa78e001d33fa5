#!/bin/sh
# demo.sh -- README command one: install what is missing, build, and run
# the demo (the orders service answering its recorded requests while decoy
# plays its dependencies).
set -e
cd "$(dirname "$0")"
scripts/bootstrap.sh
exec examples/demo.sh .
