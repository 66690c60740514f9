#!/usr/bin/env bash
# Starts the local AWS emulator on 127.0.0.1: the pinned moto in server mode with Local
# ElastiCache (scripts/local_elasticache) loaded into it, which closes moto's
# ElastiCache gaps and starts a real redis-server behind every replication group.
# Installs moto into .venv on first use and makes a local CA and server certificate once
# under .moto/tls. Idempotent: if one already answers on the port, it is reused.
#
#   scripts/emulator.sh start   # install if needed, start if not running, wait until ready
#   scripts/emulator.sh stop    # stop the emulator and every server it started
#   scripts/emulator.sh env     # print the environment the orchestrator needs to use it
#   scripts/emulator.sh certs   # make the local CA and certificate (start does it too)
#   scripts/emulator.sh install # install moto and pytest into .venv (start does it too)
#
# LOCAL_ELASTICACHE_TRANSITION_SECONDS (default 1) is how long creating, modifying and
# deleting take. Without redis-server (apt-get install redis-server) groups work but
# have nothing listening at their endpoints.
set -euo pipefail

MOTO_VERSION="5.2.5"
PYTEST_VERSION="9.0.2"   # for scripts/local_elasticache/tests
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
  if [ -x "$venv/bin/moto_server" ] && "$venv/bin/python" -c "import moto, pytest, sys; sys.exit(moto.__version__ != '$MOTO_VERSION' or pytest.__version__ != '$PYTEST_VERSION')" 2>/dev/null; then
    return
  fi
  echo "emulator: installing moto[server]==$MOTO_VERSION and pytest==$PYTEST_VERSION into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION" "pytest==$PYTEST_VERSION"
}

# A CA and a certificate for 127.0.0.1/localhost, made once; servers with transit
# encryption present it, and clients trust the CA (ELASTICACHE_CA_FILE).
certificates() {
  local tls="$state/tls"
  [ -s "$tls/ca.pem" ] && [ -s "$tls/server.pem" ] && [ -s "$tls/server.key" ] && return
  mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Local ElastiCache CA" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$tls/ext.cnf"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
    -CAcreateserial -days 3650 -extfile "$tls/ext.cnf" -out "$tls/server.pem" 2>/dev/null
  chmod 600 "$tls/ca.key" "$tls/server.key"
}

start() {
  if running; then
    echo "emulator: reusing the one running at $url" >&2
    return
  fi
  install
  mkdir -p "$state"
  certificates
  if ! command -v redis-server >/dev/null; then
    echo "emulator: redis-server is not installed (apt-get install redis-server):" \
      "replication groups will have no server behind their endpoints" >&2
  fi
  echo "emulator: starting moto $MOTO_VERSION with Local ElastiCache at $url (log: $state/moto.log)" >&2
  LOCAL_ELASTICACHE_STATE="$state" PYTHONPATH="$root/scripts" \
    nohup "$venv/bin/python" -m local_elasticache -H "$host" -p "$port" >"$state/moto.log" 2>&1 &
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
    local pid
    pid="$(cat "$state/pid")"
    # The emulator stops its servers as it exits; give it time for many.
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$state/pid"
  fi
  # What a killed emulator left: signal every server, then clear their folders.
  local pid_file
  for pid_file in "$state"/servers/*/pid; do
    [ -f "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null || true
  done
  for pid_file in "$state"/servers/*/pid; do
    [ -f "$pid_file" ] || continue
    for _ in $(seq 1 50); do
      kill -0 "$(cat "$pid_file")" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$(cat "$pid_file")" 2>/dev/null || true
    rm -rf "$(dirname "$pid_file")" || true
  done
  rm -rf "$state/servers"
}

print_env() {
  cat <<ENV
export AWS_ENDPOINT_URL=$url
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export ELASTICACHE_CA_FILE=$state/tls/ca.pem
ENV
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  install) install ;;
  certs) mkdir -p "$state"; certificates ;;
  env) print_env ;;
  *) echo "usage: $0 [start|stop|env|certs|install]" >&2; exit 2 ;;
esac
