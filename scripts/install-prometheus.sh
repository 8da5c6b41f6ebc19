#!/usr/bin/env bash
# Installs Debian's prometheus (with promtool) and prometheus-pushgateway for the monitoring tests,
# when it can. The packages' services are not started: the tests start their own servers on 127.0.0.1.
# Without them the monitoring tests are skipped with a reason; everything else still runs.
set -u
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 \
    && command -v prometheus-pushgateway >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian prometheus and prometheus-pushgateway for the monitoring tests (once)..."
  # policy-rc.d exit 101: the packages install without starting their services
  policy=/usr/sbin/policy-rc.d
  created=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created=1
  fi
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      prometheus prometheus-pushgateway >/dev/null; }; then
    echo "warning: could not install prometheus; the monitoring tests will be skipped" >&2
  fi
  if [ "$created" = 1 ]; then
    rm -f "$policy"
  fi
else
  echo "note: prometheus is not installed and this user cannot apt-get it; the monitoring tests will be skipped" >&2
fi
exit 0
