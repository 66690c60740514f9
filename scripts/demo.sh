#!/usr/bin/env bash
# The quick start: plan, apply and plan again on the local emulator, no AWS account
# needed, then prove the stack works: PING its own server over TLS with the AUTH token
# read from Secrets Manager. The second plan shows "No changes." (Running the demo twice
# shows "No changes." from the start: the stack is already there.)
#
#   scripts/demo.sh [spec]          # default: examples/quickstart.yaml
#
# The PING needs redis-cli and a server behind the group (Debian's redis-server
# package; as root this script installs it).
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

if ! command -v redis-cli >/dev/null; then
  echo "==> no redis-cli here (apt-get install redis-server): skipping the PING" >&2
  exit 0
fi
# Where the stack is and which secret holds its credential, as `output --json` says;
# the credential itself is read from Secrets Manager (moto's own boto3) and handed to
# redis-cli in its environment, never printed.
connection="$(target/debug/orchestrator output "$spec" --json)"
read -r host port user secret_name field region < <(
  CONNECTION="$connection" .venv/bin/python - <<'PY'
import json, os
c = json.loads(os.environ["CONNECTION"])["connection"]
auth = c["auth"]
if auth["kind"] == "token":
    user, secret = "-", auth["secret"]
elif auth["kind"] == "rbac":
    user, secret = auth["users"][0]["name"], auth["users"][0]["secret"]
else:
    raise SystemExit(f"the demo logs in with a token or an RBAC password, not {auth['kind']}")
print(c["host"], c["port"], user, secret["name"], secret["field"], c["region"])
PY
)
credential="$(SECRET="$secret_name" FIELD="$field" REGION="$region" .venv/bin/python - <<'PY'
import json, os
import boto3
client = boto3.client("secretsmanager", region_name=os.environ["REGION"])
value = client.get_secret_value(SecretId=os.environ["SECRET"])["SecretString"]
print(json.loads(value)[os.environ["FIELD"]])
PY
)"
as_user=()
[ "$user" != "-" ] && as_user=(--user "$user")
echo >&2
echo "==> redis-cli --tls -h $host -p $port ${as_user[*]} PING   (credential from secret $secret_name)" >&2
REDISCLI_AUTH="$credential" redis-cli --tls --cacert "$ELASTICACHE_CA_FILE" -h "$host" -p "$port" \
  "${as_user[@]}" --no-auth-warning PING
