#!/usr/bin/env bash
# Prints AWS calls and wall time for plan and apply of examples/quickstart.yaml on the
# local emulator, with 0 ms and 50 ms added to every call (BENCH_LATENCY_MS=0,50,...).
# Compare the numbers before and after a change; they are not a test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/with-emulator.sh cargo bench --locked -p stack --bench calls --profile dev
