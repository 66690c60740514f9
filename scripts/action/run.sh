#!/usr/bin/env bash
# The action's run step: runs the orchestrator once per spec the `spec` input matches,
# then combines the step outputs (has-changes, summary, plan-json). Every spec is run
# even when one fails; the step fails with the worst exit code.
set -euo pipefail
shopt -s globstar nullglob

orchestrator="${ORCHESTRATOR:?the install step names the orchestrator}"
command="${INPUT_COMMAND:-plan}"
read -r -a patterns <<<"${INPUT_SPEC:?the spec input is required}"
specs=()
for pattern in "${patterns[@]}"; do
  # shellcheck disable=SC2206 # the glob is meant to expand
  matches=($pattern)
  specs+=("${matches[@]}")
done
if [ "${#specs[@]}" -eq 0 ]; then
  echo "::error::no spec file matches '${INPUT_SPEC}' in $(pwd)"
  exit 1
fi

comment="${INPUT_COMMENT:-auto}"
if [ "$comment" = auto ]; then
  case "${GITHUB_EVENT_NAME:-}" in
    pull_request | pull_request_target) comment=true ;;
    *) comment=false ;;
  esac
fi

# Reads one output the orchestrator wrote in GITHUB_OUTPUT's heredoc syntax.
value_of() {
  awk -v key="$2" '
    !inside && index($0, key "<<") == 1 { delimiter = substr($0, length(key) + 3); inside = 1; next }
    inside && $0 == delimiter { inside = 0; next }
    inside { print }
  ' "$1"
}

worst=0
has_changes=false
summaries=()
plans=()
if [ "$command" = validate ]; then
  "$orchestrator" validate "${specs[@]}" || worst=$?
  exit "$worst"
fi
if [ "$command" = list ]; then
  # The matrix of one job per stack; the orchestrator writes the `matrix` output.
  "$orchestrator" list --matrix "${specs[@]}" || worst=$?
  exit "$worst"
fi

for spec in "${specs[@]}"; do
  echo "::group::$command $spec"
  outputs="$(mktemp)"
  args=("$command" "$spec")
  case "$command" in
    plan)
      [ -n "${INPUT_FAIL_ON:-}" ] && args+=(--fail-on "$INPUT_FAIL_ON")
      [ -n "${INPUT_FAIL_ON_COST_INCREASE:-}" ] && args+=(--fail-on-cost-increase "$INPUT_FAIL_ON_COST_INCREASE")
      [ "${INPUT_COST:-true}" = false ] && args+=(--no-cost)
      [ "$comment" = true ] && args+=(--github-comment)
      ;;
    apply | destroy)
      args+=(--auto-approve)
      [ "${INPUT_COST:-true}" = false ] && args+=(--no-cost)
      [ -n "${INPUT_LOCK_TIMEOUT:-}" ] && args+=(--lock-timeout "$INPUT_LOCK_TIMEOUT")
      ;;
    rotate)
      args+=(--test "${INPUT_ROTATION_TEST:-control-plane}")
      [ -n "${INPUT_ROTATION_USER:-}" ] && args+=(--user "$INPUT_ROTATION_USER")
      [ "${INPUT_REVOKE_DUE:-false}" = true ] && args+=(--revoke-due)
      [ -n "${INPUT_LOCK_TIMEOUT:-}" ] && args+=(--lock-timeout "$INPUT_LOCK_TIMEOUT")
      ;;
    *) echo "::error::unknown command '$command' (validate, list, plan, apply, destroy or rotate)"; exit 1 ;;
  esac
  code=0
  GITHUB_OUTPUT="$outputs" "$orchestrator" "${args[@]}" || code=$?
  echo "::endgroup::"
  if [ "$code" -ne 0 ]; then
    echo "::error::orchestrator $command $spec exited with $code"
    [ "$code" -gt "$worst" ] && worst=$code
  fi
  if [ "$command" = plan ]; then
    [ "$(value_of "$outputs" has-changes)" = true ] && has_changes=true
    summaries+=("$(value_of "$outputs" summary)")
    plans+=("$(value_of "$outputs" plan-json)")
  fi
  rm -f "$outputs"
done

if [ "$command" = plan ] && [ -n "${GITHUB_OUTPUT:-}" ]; then
  if [ "${#specs[@]}" -eq 1 ]; then
    summary="${summaries[0]}"
    plan_json="${plans[0]}"
  else
    summary="$(for i in "${!specs[@]}"; do echo "${specs[$i]}: ${summaries[$i]}"; done)"
    plan_json="[$(IFS=,; echo "${plans[*]}")]"
  fi
  {
    echo "has-changes=$has_changes"
    printf 'summary<<ELASTICACHE_ACTION_EOF\n%s\nELASTICACHE_ACTION_EOF\n' "$summary"
    printf 'plan-json<<ELASTICACHE_ACTION_EOF\n%s\nELASTICACHE_ACTION_EOF\n' "$plan_json"
  } >>"$GITHUB_OUTPUT"
fi
exit "$worst"
