#!/usr/bin/env bash
# Checks that the library crates can be published to crates.io as they are: their docs
# build without a warning (as docs.rs builds them), and `cargo publish --dry-run`
# packages every one of them in dependency order (the binaries and test-support are
# `publish = false`). --no-verify: building each package again from its tarball would
# compile the AWS SDK once per crate; the workspace build and tests cover the code.
#
#   scripts/check-packaging.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet \
  --features elasticache-action-iam-auth/redis
cargo publish --workspace --dry-run --no-verify --allow-dirty --locked --quiet \
  --exclude orchestrator --exclude rotation-lambda --exclude test-support
echo "check-packaging: docs build without warnings; every library crate packages" >&2
