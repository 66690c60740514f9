#!/usr/bin/env bash
# The quick start: plan, apply and plan again on the local AWS emulator, no AWS account
# needed. The second plan shows "No changes." (Running the demo twice shows "No changes."
# from the start: the stack is already there.)
#
#   scripts/demo.sh [spec]          # default: examples/quickstart.yaml
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
spec="${1:-examples/quickstart.yaml}"

scripts/emulator.sh start
eval "$(scripts/emulator.sh env)"

echo "==> building the orchestrator (the first build takes a few minutes)" >&2
cargo build --quiet --locked -p orchestrator
run() {
  echo >&2
  echo "==> orchestrator $*" >&2
  target/debug/orchestrator "$@"
}
run plan "$spec"
run apply "$spec" --auto-approve
run plan "$spec"
