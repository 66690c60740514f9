#!/usr/bin/env bash
# Prints AWS calls and wall time for plan and apply of examples/quickstart.yaml on the
# local emulator, with 0 ms and 50 ms added to every call (BENCH_LATENCY_MS=0,50,...).
# Compare the numbers before and after a change; they are not a test.
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
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_ENDPOINT_URL
cargo bench --locked -p stack --bench calls --profile dev
