#!/usr/bin/env bash
# Prints AWS calls, round trips and wall time for plan and apply of the quickstart and
# production examples on the local emulator, with 0 ms and 50 ms added to every call
# (BENCH_LATENCY_MS=0,50,...), and each plan's reads replayed all at once.
# Compare the numbers before and after a change; they are not a test.
#
#   scripts/bench.sh             # debug build (quick to build; the client's own time shows)
#   scripts/bench.sh --release   # optimised, as a released binary runs (a long first build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
profile=(--profile dev)
if [[ "${1:-}" == "--release" ]]; then
  profile=()
fi
scripts/with-emulator.sh cargo bench --locked -p elasticache-action-stack --bench calls "${profile[@]}"
