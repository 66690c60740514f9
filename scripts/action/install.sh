#!/usr/bin/env bash
# The action's install step: puts the orchestrator on disk and names it in the step
# output `orchestrator`.
#
#   1. ELASTICACHE_ACTION_ORCHESTRATOR, when set, is used as it is (a binary you built).
#   2. Otherwise the release asset for this runner, from the release matching INPUT_VERSION
#      or the action's ref (a major tag such as v1 means its newest v1.x.y release),
#      checked against its .sha256 and, where gh can, its build attestation
#      (`gh attestation verify`; without one, a notice says the checksum alone vouches).
#   3. Otherwise (a branch or commit ref, a fork without releases) it is built from the
#      action's source with cargo.
set -euo pipefail

output() { echo "orchestrator=$1" >>"$GITHUB_OUTPUT"; echo "using $1" >&2; }

if [ -n "${ELASTICACHE_ACTION_ORCHESTRATOR:-}" ]; then
  output "$ELASTICACHE_ACTION_ORCHESTRATOR"
  exit 0
fi

case "${RUNNER_OS:-$(uname -s)}-${RUNNER_ARCH:-$(uname -m)}" in
  Linux-X64 | Linux-x86_64) target=x86_64-unknown-linux-gnu ;;
  Linux-ARM64 | Linux-aarch64) target=aarch64-unknown-linux-gnu ;;
  macOS-ARM64 | Darwin-arm64) target=aarch64-apple-darwin ;;
  macOS-X64 | Darwin-x86_64) target=x86_64-apple-darwin ;;
  *) target="" ;;
esac

api="${GITHUB_API_URL:-https://api.github.com}"
server="${GITHUB_SERVER_URL:-https://github.com}"
repository="${ACTION_REPOSITORY:-${GITHUB_ACTION_REPOSITORY:-}}"
ref="${INPUT_VERSION:-${ACTION_REF:-}}"
dir="${RUNNER_TEMP:-/tmp}/elasticache-action"
mkdir -p "$dir"

# A major tag (v1) names its newest release (v1.x.y).
resolve() {
  if [[ "$ref" =~ ^v[0-9]+$ ]] && [ -n "$repository" ]; then
    curl -fsSL -H "Authorization: Bearer ${GH_TOKEN:-}" "$api/repos/$repository/releases?per_page=100" |
      jq -r --arg major "$ref." '[.[] | select(.draft | not) | select(.tag_name | startswith($major))][0].tag_name // empty'
  elif [[ "$ref" =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]]; then
    echo "$ref"
  fi
}

download() {
  local tag="$1" asset="orchestrator-$target.tar.gz"
  local base="$server/$repository/releases/download/$tag"
  curl -fsSL -o "$dir/$asset" "$base/$asset" || return 1
  curl -fsSL -o "$dir/$asset.sha256" "$base/$asset.sha256" || return 1
  # A missing asset falls back to building; a wrong one stops here.
  if ! (cd "$dir" && if command -v sha256sum >/dev/null; then sha256sum -c "$asset.sha256"; else shasum -a 256 -c "$asset.sha256"; fi) >&2; then
    echo "::error::$asset from $tag does not match its published SHA-256; not using it"
    exit 1
  fi
  verify_provenance "$dir/$asset"
  tar -xzf "$dir/$asset" -C "$dir"
  output "$dir/orchestrator"
}

# The release's build attestation, where GitHub has one and gh can check it; else the
# SHA-256 (checked above) is what vouches for the binary, and a notice says so.
verify_provenance() {
  local file="$1" said
  if ! command -v gh >/dev/null; then
    echo "::notice::gh is not installed: $(basename "$file") checked against its SHA-256 only, not its build attestation"
    return 0
  fi
  if said="$(gh attestation verify "$file" --repo "$repository" 2>&1)"; then
    echo "$(basename "$file"): build attestation verified" >&2
  else
    echo "::notice::$(basename "$file"): no build attestation verified ($(echo "$said" | head -n 1)); checked against its SHA-256 only"
  fi
}

if [ -n "$target" ] && [ -n "$repository" ]; then
  tag="$(resolve || true)"
  if [ -n "$tag" ] && download "$tag"; then
    exit 0
  fi
  echo "no release binary for '${ref:-?}' on $target; building from source" >&2
fi

cargo install --locked --quiet --path "$ACTION_PATH/crates/orchestrator" --root "$dir" >&2
output "$dir/bin/orchestrator"
