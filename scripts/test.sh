#!/usr/bin/env bash
# Installs what the tests need and runs every test: the workflows' audit (zizmor,
# scripts/lint-workflows.sh), the crates' packaging (docs and `cargo publish --dry-run`,
# scripts/check-packaging.sh), Local ElastiCache's own tests (pytest), then every test in
# the workspace (cargo test), against the local emulator.
#
#   scripts/test.sh                 # all tests
#   scripts/test.sh -p elasticache-action-network  # extra arguments go to `cargo test`
#
# Needs: a Rust toolchain (rustup), python3 with venv, openssl, and redis-server with
# redis-cli (Debian's redis-server package). Run as root, this script installs
# redis-server with apt-get; elsewhere it says what to install and skips only the
# tests that need a real server (pytest's data_plane mark, cargo tests named
# data_plane_*). The emulator (moto, pinned in scripts/emulator.sh) is installed into
# .venv on first use and started on 127.0.0.1; if this script started it, it stops it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

have_redis() { command -v redis-server >/dev/null && command -v redis-cli >/dev/null; }

if ! have_redis && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "test: installing redis-server (Debian package) for the emulator's servers" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq redis-server >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
fi

pytest_filter=()
cargo_skip=()
if ! have_redis; then
  echo "test: redis-server is not installed (as root: apt-get install redis-server);" \
    "skipping the tests that need a real server behind the emulator" >&2
  pytest_filter=(-m "not data_plane")
  cargo_skip=(--skip data_plane)
fi

scripts/lint-workflows.sh
scripts/check-packaging.sh
scripts/emulator.sh install
(cd scripts && ../.venv/bin/python -m pytest -q -p no:cacheprovider local_elasticache/tests "${pytest_filter[@]}")

if [ ${#cargo_skip[@]} -gt 0 ]; then
  case " $* " in
    *" -- "*) set -- "$@" "${cargo_skip[@]}" ;;
    *) set -- "$@" -- "${cargo_skip[@]}" ;;
  esac
fi
scripts/with-emulator.sh cargo test --workspace --locked "$@"
