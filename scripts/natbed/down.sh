#!/bin/sh
# Undoes up.sh: stops the daemons it started (by their saved PIDs) and
# deletes the namespaces. Safe to run when nothing is up.
# Usage: down.sh STATE_DIR
HERE=$(cd "$(dirname "$0")" && pwd)
D=${1:?usage: down.sh STATE_DIR}
"$HERE/router.sh" stop "$D" 2>/dev/null
if [ -f "$D/stund.pid" ]; then
  kill "$(cat "$D/stund.pid")" 2>/dev/null
  rm -f "$D/stund.pid"
fi
for ns in lan router wan; do
  ip netns del $ns 2>/dev/null
done
exit 0
