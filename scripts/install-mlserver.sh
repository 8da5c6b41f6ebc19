#!/usr/bin/env bash
# Installs Seldon MLServer (an Open Inference Protocol v2 server) with its scikit-learn runtime into
# its own virtual environment, .venv-mlserver, for the kserve target's third-party integration test.
# It has its own environment because its pins (fastapi, uvloop, grpcio) are not ours. Without it the
# test is skipped with a reason; everything else still runs.
set -u
cd "$(dirname "$0")/.." || exit 1
VENV=.venv-mlserver
PYTHON=${PYTHON:-python3}
if [ -f "$VENV/.installed" ]; then
  exit 0
fi
echo "installing MLServer into $VENV for the kserve integration test (once)..."
LOG=$(mktemp)
if "$PYTHON" -m venv "$VENV" \
  && "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
       "mlserver==1.7.1" "mlserver-sklearn==1.7.1" scikit-learn joblib >"$LOG" 2>&1; then
  touch "$VENV/.installed"
else
  tail -20 "$LOG" >&2
  echo "warning: could not install MLServer; its integration test will be skipped" >&2
  rm -rf "$VENV"
fi
rm -f "$LOG"
exit 0
