#!/bin/sh
# Deploy MODEL (a path from the repository root): remember what production serves now, point the
# model link at MODEL, restart the server and check it answers with MODEL's sha256.
#   usage: ci/deploy/deploy.sh models/fraud_int8.onnx
# Settings (environment): MODEL_LINK, SERVE_SUITE, SERVE_HOST, SERVE_PORT, RUN_DIR, VENV (see common.sh).
# shellcheck source=ci/deploy/common.sh
. "$(dirname "$0")/common.sh"
model=${1:?usage: ci/deploy/deploy.sh MODEL_FILE}
[ -f "$model" ] || { echo "deploy: no model file at $model" >&2; exit 2; }
if [ -L "$MODEL_LINK" ]; then
  readlink "$MODEL_LINK" >"$RUN_DIR/previous-model"
  echo "production was $(cat "$RUN_DIR/previous-model"); deploying $model"
else
  : >"$RUN_DIR/previous-model"  # empty: a rollback stops the server and removes the link
  echo "no production model yet ($MODEL_LINK is missing): first deploy of $model"
fi
switch_link "$model"
stop_server
start_server
