# shellcheck shell=sh
# Shared by deploy.sh, rollback.sh and stop.sh (POSIX sh: Jenkins' `sh` step runs /bin/sh).
# The production model is a symbolic link, MODEL_LINK, that `evalharness serve SERVE_SUITE` serves;
# a deploy points it at a new file and restarts the server, a rollback points it back.
set -eu
MODEL_LINK=${MODEL_LINK:-models/current.onnx}
SERVE_SUITE=${SERVE_SUITE:-ci/deploy/production.yaml}
SERVE_HOST=${SERVE_HOST:-127.0.0.1}
SERVE_PORT=${SERVE_PORT:-8765}
RUN_DIR=${RUN_DIR:-run}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-60}
if [ -n "${VENV:-}" ]; then
  EVALHARNESS=${EVALHARNESS:-$VENV/bin/evalharness}
  PYTHON=${PYTHON:-$VENV/bin/python}
fi
EVALHARNESS=${EVALHARNESS:-evalharness}
PYTHON=${PYTHON:-python3}
MODEL_NAME=$(basename "$MODEL_LINK" | sed 's/\.[^.]*$//')  # evalharness serve names a model after its file
mkdir -p "$RUN_DIR"

# Point MODEL_LINK at $1 (a path from the repository root) atomically: a reader never sees no link.
switch_link() {
  relative=$(realpath -m --relative-to="$(dirname "$MODEL_LINK")" "$1")
  ln -sfn "$relative" "$MODEL_LINK.next"
  mv -fT "$MODEL_LINK.next" "$MODEL_LINK"
  echo "$MODEL_LINK -> $relative"
}

# Stop the server this pipeline started (by the pid it wrote), politely first.
stop_server() {
  [ -f "$RUN_DIR/serve.pid" ] || return 0
  pid=$(cat "$RUN_DIR/serve.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    waited=0
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 100 ]; do sleep 0.1; waited=$((waited + 1)); done
    kill -9 "$pid" 2>/dev/null || true
    echo "stopped evalharness serve (pid $pid)"
  fi
  rm -f "$RUN_DIR/serve.pid"
}

# The sha256 the server reports for the model (from /ready), or nothing while it is not ready.
served_sha256() {
  "$PYTHON" - "$SERVE_HOST" "$SERVE_PORT" "$MODEL_NAME" <<'PY' 2>/dev/null || true
import json, sys, urllib.request
host, port, name = sys.argv[1:]
with urllib.request.urlopen(f"http://{host}:{port}/ready", timeout=2) as answer:
    print(json.load(answer)["sha256"][name])
PY
}

# Start the server on the model the link points at now, wait until it is ready, and check that it
# answers with that file (its sha256), not with what ran before.
start_server() {
  # Jenkins and self-hosted runners kill what a build leaves running; the server must outlive it.
  JENKINS_NODE_COOKIE=dontKillMe RUNNER_TRACKING_ID="" nohup "$EVALHARNESS" serve --host "$SERVE_HOST" \
    --port "$SERVE_PORT" "$SERVE_SUITE" >"$RUN_DIR/serve.log" 2>&1 &
  echo $! >"$RUN_DIR/serve.pid"
  expected=$(sha256sum "$MODEL_LINK" | cut -d' ' -f1)
  waited=0
  while [ "$(served_sha256)" != "$expected" ]; do
    if [ "$waited" -ge $((READY_TIMEOUT_S * 10)) ] || ! kill -0 "$(cat "$RUN_DIR/serve.pid")" 2>/dev/null; then
      echo "evalharness serve did not come up with $MODEL_LINK (sha256 $expected); its log:" >&2
      tail -n 20 "$RUN_DIR/serve.log" >&2
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  echo "serving $MODEL_NAME on http://$SERVE_HOST:$SERVE_PORT: $(readlink "$MODEL_LINK"), sha256 $expected, pid $(cat "$RUN_DIR/serve.pid")"
}
