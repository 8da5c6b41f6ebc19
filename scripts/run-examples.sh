#!/usr/bin/env bash
# Start `evalharness serve` on 127.0.0.1:8765, run the example suites in examples/ against it,
# and stop the server by its process id whatever happens. Exit code: pytest's.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
LOG=$(mktemp)
"$BIN/evalharness" serve --port 8765 >"$LOG" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; rm -f "$LOG"' EXIT
for _ in $(seq 1 600); do
  grep -q "ready in" "$LOG" && break
  if ! kill -0 "$SERVER" 2>/dev/null; then cat "$LOG" >&2; exit 1; fi
  sleep 0.1
done
grep -q "ready in" "$LOG" || { echo "evalharness serve did not become ready in 60 s" >&2; cat "$LOG" >&2; exit 1; }
HF_HUB_OFFLINE=1 "$BIN/pytest" -p no:cacheprovider --evalharness examples/ "$@"
