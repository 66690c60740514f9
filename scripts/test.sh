#!/usr/bin/env bash
# Installs what the tests need and runs every test in the workspace.
#
#   scripts/test.sh                 # all tests
#   scripts/test.sh -p network      # extra arguments go to `cargo test`
#
# Needs: a Rust toolchain (rustup) and python3 with venv. The AWS emulator (moto, pinned
# in scripts/emulator.sh) is installed into .venv on first use and started on
# 127.0.0.1; if this script started it, it stops it when the tests end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

started_here=false
if ! curl -fsS -o /dev/null "http://127.0.0.1:${MOTO_PORT:-5000}/moto-api/" 2>/dev/null; then
  started_here=true
fi
scripts/emulator.sh start
if $started_here; then
  trap 'scripts/emulator.sh stop' EXIT
fi

export MOTO_ENDPOINT="http://127.0.0.1:${MOTO_PORT:-5000}"

# Tests must never reach a real account by accident.
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_ENDPOINT_URL

cargo test --workspace --locked "$@"
