#!/usr/bin/env bash
# Starts the local AWS emulator (moto in server mode) on 127.0.0.1, installing it into
# .venv on first use. Idempotent: if one already answers on the port, it is reused.
#
#   scripts/emulator.sh start   # install if needed, start if not running, wait until ready
#   scripts/emulator.sh stop    # stop the emulator this script started
#   scripts/emulator.sh env     # print the environment the orchestrator needs to use it
set -euo pipefail

MOTO_VERSION="5.2.5"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
state="$root/.moto"
host="127.0.0.1"
port="${MOTO_PORT:-5000}"
url="http://$host:$port"

running() {
  curl -fsS -o /dev/null "$url/moto-api/" 2>/dev/null
}

install() {
  if [ -x "$venv/bin/moto_server" ] && "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    return
  fi
  echo "emulator: installing moto[server]==$MOTO_VERSION into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
}

start() {
  if running; then
    echo "emulator: reusing the one running at $url" >&2
    return
  fi
  install
  mkdir -p "$state"
  echo "emulator: starting moto $MOTO_VERSION at $url (log: $state/moto.log)" >&2
  nohup "$venv/bin/moto_server" -H "$host" -p "$port" >"$state/moto.log" 2>&1 &
  echo $! >"$state/pid"
  for _ in $(seq 1 100); do
    running && return
    sleep 0.2
  done
  echo "emulator: moto did not answer at $url within 20 s; see $state/moto.log" >&2
  exit 1
}

stop() {
  if [ -f "$state/pid" ]; then
    kill "$(cat "$state/pid")" 2>/dev/null || true
    rm -f "$state/pid"
  fi
}

print_env() {
  cat <<ENV
export AWS_ENDPOINT_URL=$url
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
ENV
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  *) echo "usage: $0 [start|stop|env]" >&2; exit 2 ;;
esac
