#!/usr/bin/env bash
# Runs a command against the local AWS emulator: starts it if it is not running (and then
# stops it afterwards), points the tests' helpers at it, and makes sure nothing reaches a
# real account by accident.
#
#   scripts/with-emulator.sh cargo test -p elasticache-action-network
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
export ELASTICACHE_CA_FILE="$PWD/.moto/tls/ca.pem"
unset AWS_PROFILE AWS_ENDPOINT_URL

"$@"
