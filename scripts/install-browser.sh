#!/usr/bin/env bash
# Installs Debian's chromium and chromium-driver for the HTML report's browser test, when it can.
# Without them the browser test is skipped with a reason; everything else still runs.
set -u
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian chromium for the browser test (once)..."
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }; then
    echo "warning: could not install chromium; the browser test will be skipped" >&2
  fi
else
  echo "note: chromium is not installed and this user cannot apt-get it; the browser test will be skipped" >&2
fi
exit 0
