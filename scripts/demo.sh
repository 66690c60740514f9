#!/usr/bin/env bash
# The quick start: plan, apply and plan again on the local emulator, no AWS account
# needed, then prove the stack works: `connect --check` reaches its own server over TLS
# with the AUTH token read from Secrets Manager, stage by stage, and PINGs it; then
# rotates the token and connects with the new one. The second plan shows "No changes." (Running the demo twice
# shows "No changes." from the start: the stack is already there.)
#
#   scripts/demo.sh [spec]          # default: examples/quickstart.yaml
#
# The check needs a server behind the group (Debian's redis-server package; as root
# this script installs it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
spec="${1:-examples/quickstart.yaml}"

if ! command -v redis-server >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "==> installing redis-server (Debian package): the emulator runs one per replication group" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
fi

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

if ! command -v redis-server >/dev/null; then
  echo "==> no redis-server here (apt-get install redis-server): nothing listens behind the group, so no connection check" >&2
  exit 0
fi
# Reach the stack as an application would, with its own credential (read from Secrets
# Manager, never printed): DNS, TCP, TLS against the emulator's CA, AUTH, PING.
run connect "$spec" --check
# Rotate the credential through Secrets Manager's four steps (the new one is tested by
# logging in with it), then connect again with the new one. IAM stacks have none to
# rotate: their tokens are signed fresh.
if grep -qE '^\s*mode:\s*(iam|none)\b' "$spec"; then
  exit 0
fi
run rotate "$spec"
run connect "$spec" --check
