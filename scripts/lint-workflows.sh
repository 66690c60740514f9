#!/usr/bin/env bash
# Checks the action and every workflow (this repository's and the examples users copy):
# against GitHub's JSON Schemas with check-jsonschema, then with zizmor, the GitHub
# Actions static analyser, both pinned here and installed from PyPI into .venv on first
# use. Fails on a schema error or any zizmor finding of medium or high severity; the
# policy (which actions may be referenced by tag) is in .github/zizmor.yml.
#
#   scripts/lint-workflows.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ZIZMOR_VERSION="1.33.1"
CHECK_JSONSCHEMA_VERSION="0.39.0"
venv=.venv

if ! "$venv/bin/zizmor" --version 2>/dev/null | grep -qx "zizmor $ZIZMOR_VERSION" ||
  ! "$venv/bin/check-jsonschema" --version 2>/dev/null | grep -q "version $CHECK_JSONSCHEMA_VERSION$"; then
  echo "lint-workflows: installing zizmor==$ZIZMOR_VERSION and check-jsonschema==$CHECK_JSONSCHEMA_VERSION into $venv" >&2
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "zizmor==$ZIZMOR_VERSION" "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
fi

# The schemas GitHub's own editors use (bundled with check-jsonschema: no download).
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows \
  .github/workflows/*.yml examples/workflows/*.yml
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-actions action.yml

# --offline: no GitHub API calls (none are needed for these audits, and CI may not
# reach GitHub); --strict-collection: a file it cannot parse fails rather than being
# skipped with a warning.
"$venv/bin/zizmor" --offline --quiet --strict-collection --config .github/zizmor.yml --min-severity medium \
  action.yml .github/workflows/*.yml examples/workflows/*.yml
