#!/usr/bin/env bash
# Audits the action and every workflow (this repository's and the examples users copy)
# with zizmor, the GitHub Actions static analyser, pinned here and installed from PyPI
# into .venv on first use. Fails on any finding of medium or high severity; the policy
# (which actions may be referenced by tag) is in .github/zizmor.yml.
#
#   scripts/lint-workflows.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ZIZMOR_VERSION="1.33.1"
venv=.venv

if ! "$venv/bin/zizmor" --version 2>/dev/null | grep -qx "zizmor $ZIZMOR_VERSION"; then
  echo "lint-workflows: installing zizmor==$ZIZMOR_VERSION into $venv" >&2
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "zizmor==$ZIZMOR_VERSION"
fi

# --offline: no GitHub API calls (none are needed for these audits, and CI may not
# reach GitHub); --strict-collection: a file it cannot parse fails rather than being
# skipped with a warning.
"$venv/bin/zizmor" --offline --quiet --strict-collection --config .github/zizmor.yml --min-severity medium \
  action.yml .github/workflows/*.yml examples/workflows/*.yml
