#!/bin/sh
# Roll back the last deploy: point the model link at what production served before it, restart the
# server and check it answers with that model's sha256 again. A no-op when nothing was deployed.
# shellcheck source=ci/deploy/common.sh
. "$(dirname "$0")/common.sh"
if [ ! -f "$RUN_DIR/previous-model" ]; then
  echo "rollback: nothing was deployed by this pipeline ($RUN_DIR/previous-model is missing); nothing to do"
  exit 0
fi
if [ ! -s "$RUN_DIR/previous-model" ]; then
  echo "rollback: the failed deploy was the first; stopping the server and removing $MODEL_LINK"
  stop_server
  rm -f "$MODEL_LINK" "$RUN_DIR/previous-model"
  exit 0
fi
previous=$(cat "$RUN_DIR/previous-model")
echo "rolling back $MODEL_LINK from $(readlink "$MODEL_LINK") to $previous"
ln -sfn "$previous" "$MODEL_LINK.next"
mv -fT "$MODEL_LINK.next" "$MODEL_LINK"
stop_server
start_server
rm -f "$RUN_DIR/previous-model"
