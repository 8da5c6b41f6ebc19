#!/bin/sh
# Stop the model server this pipeline started (by the pid in RUN_DIR/serve.pid).
# shellcheck source=ci/deploy/common.sh
. "$(dirname "$0")/common.sh"
stop_server
