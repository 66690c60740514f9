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
scripts/with-emulator.sh cargo test --workspace --locked "$@"
