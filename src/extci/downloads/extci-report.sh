#!/bin/sh
# extci-report.sh: report a pipeline run to extci with nothing but POSIX sh and curl,
# for CI systems where Python is absent. Where Python is available, prefer `extci report`.
#
#   extci-report.sh run COMMAND [ARG...]   start, COMMAND, results if it succeeded, and
#                                          always the end event; exits with COMMAND's code
#                                          (128+N when cancelled by signal N)
#   extci-report.sh start                  open the build
#   extci-report.sh result                 send git-revision, container and helm
#   extci-report.sh end RESULT             SUCCESSFUL | FAILED | CANCELED
#
# Configuration (environment):
#   EXTCI_URL, EXTCI_CI_KEY, EXTCI_COMPONENT   server, CI key, component (required)
#   EXTCI_PIPELINE_ID     unique per run and attempt, the same in every step (required)
#   EXTCI_BUILD_VERSION   version being built (required for start)
#   EXTCI_DASHBOARD_URL, EXTCI_ACTOR           optional, for start
#   EXTCI_GIT_REPOSITORY_URL, EXTCI_GIT_BRANCH, EXTCI_GIT_COMMIT
#                         default: read from git in the working directory
#   EXTCI_CONTAINER_REPOSITORY_URL, EXTCI_CONTAINER_PATH, EXTCI_CONTAINER_VERSION
#   EXTCI_HELM_REPOSITORY_URL, EXTCI_HELM_PATH, EXTCI_HELM_VERSION
#                         container and helm items are sent when their three are set
#   EXTCI_RETRY_FOR       seconds curl keeps retrying one event (default 60)
#
# curl retries connection errors, 429 and 5xx and honours Retry-After; the server
# deduplicates, so a retried event is harmless. The key is sent from a header file
# rather than the command line, so it never shows in the process list.
set -u

die() { echo "extci-report: $*" >&2; exit 2; }
need() { eval "[ -n \"\${$1:-}\" ]" || die "set $1"; }

# A JSON string literal: escapes backslash and double quote, drops control characters.
json() { printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"; }

envelope() {  # $1 = event kind (start, result, end)
  printf '"type":"codenow.ci.%s.event","version":"application/vnd.codenow.v1+json",' "$1"
  printf '"pipelineId":%s,"createdAt":"%s"' "$(json "$EXTCI_PIPELINE_ID")" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}

post() {  # $1 = JSON body
  need EXTCI_URL; need EXTCI_CI_KEY
  headers=$(mktemp) && answer=$(mktemp) || die "mktemp failed"
  printf 'X-Codenow-Api-Key: %s\n' "$EXTCI_CI_KEY" > "$headers"
  http_status=$(curl -sS -X POST "${EXTCI_URL%/}/ci/webhook" \
    -H 'Content-Type: application/vnd.codenow.v1+json' \
    -H 'Accept: application/vnd.codenow.v1+json' -H "@$headers" \
    --retry 8 --retry-connrefused --retry-max-time "${EXTCI_RETRY_FOR:-60}" \
    --max-time 30 -o "$answer" -w '%{http_code}' --data-binary "$1")
  rc=$?
  body=$(cat "$answer"); rm -f "$headers" "$answer"
  if [ "$rc" -ne 0 ] || [ "$http_status" != 200 ]; then
    echo "extci-report: HTTP ${http_status:-000} (curl exit $rc): $body" >&2
    return 1
  fi
  echo "extci-report: $body" >&2
}

git_value() { git "$@" 2>/dev/null || true; }

cmd_start() {
  need EXTCI_COMPONENT; need EXTCI_PIPELINE_ID; need EXTCI_BUILD_VERSION
  extra=""
  [ -n "${EXTCI_DASHBOARD_URL:-}" ] && extra="$extra,\"dashboardUrl\":$(json "$EXTCI_DASHBOARD_URL")"
  [ -n "${EXTCI_ACTOR:-}" ] && extra="$extra,\"actor\":{\"username\":$(json "$EXTCI_ACTOR")}"
  post "{$(envelope start),\"componentId\":$(json "$EXTCI_COMPONENT"),\"buildVersion\":$(json "$EXTCI_BUILD_VERSION")$extra}"
}

artifact() {  # $1 = type, $2 = repository url, $3 = path, $4 = version
  printf '{"type":"%s","version":"v1","repositoryUrl":%s,"artifactPath":%s,"artifactVersion":%s}' \
    "$1" "$(json "$2")" "$(json "$3")" "$(json "$4")"
}

git_item() {  # sets $items to the git-revision item when all three fields are known
  url=${EXTCI_GIT_REPOSITORY_URL:-$(git_value config --get remote.origin.url)}
  branch=${EXTCI_GIT_BRANCH:-$(git_value branch --show-current)}
  commit=${EXTCI_GIT_COMMIT:-$(git_value rev-parse HEAD)}
  if [ -n "$url" ] && [ -n "$branch" ] && [ -n "$commit" ]; then
    url=$(printf '%s' "$url" | sed -e 's#^\(https\{0,1\}://\)[^/@]*@#\1#')  # drop credentials
    items="{\"type\":\"git-revision\",\"version\":\"v1\",\"repositoryUrl\":$(json "$url"),\"branch\":$(json "$branch"),\"commitSha\":$(json "$commit")}"
  fi
}

cmd_result() {  # $1 = "git" or "artifacts" to send only those; default both
  need EXTCI_PIPELINE_ID
  items=""
  [ "${1:-}" = artifacts ] || git_item
  if [ "${1:-}" != git ]; then
    if [ -n "${EXTCI_CONTAINER_REPOSITORY_URL:-}" ] && [ -n "${EXTCI_CONTAINER_PATH:-}" ] && [ -n "${EXTCI_CONTAINER_VERSION:-}" ]; then
      items="${items:+$items,}$(artifact container "$EXTCI_CONTAINER_REPOSITORY_URL" "$EXTCI_CONTAINER_PATH" "$EXTCI_CONTAINER_VERSION")"
    fi
    if [ -n "${EXTCI_HELM_REPOSITORY_URL:-}" ] && [ -n "${EXTCI_HELM_PATH:-}" ] && [ -n "${EXTCI_HELM_VERSION:-}" ]; then
      items="${items:+$items,}$(artifact helm "$EXTCI_HELM_REPOSITORY_URL" "$EXTCI_HELM_PATH" "$EXTCI_HELM_VERSION")"
    fi
  fi
  [ -n "$items" ] || { echo "extci-report: no result to send" >&2; return 0; }
  post "{$(envelope result),\"payload\":[$items]}"
}

cmd_end() {  # $1 = SUCCESSFUL | FAILED | CANCELED
  need EXTCI_PIPELINE_ID
  case "${1:-}" in SUCCESSFUL|FAILED|CANCELED) ;; *) die "end needs SUCCESSFUL, FAILED or CANCELED" ;; esac
  post "{$(envelope end),\"result\":\"$1\"}"
}

cmd_run() {
  [ $# -gt 0 ] || die "run needs a command"
  cmd_start || exit 75
  cmd_result git || report_failed=1
  signalled=""
  # A background job of a non-interactive shell ignores SIGINT, so both signals are
  # passed on to the command as SIGTERM.
  trap 'signalled=130; kill -TERM "$child" 2>/dev/null' INT
  trap 'signalled=143; kill -TERM "$child" 2>/dev/null' TERM
  "$@" &
  child=$!
  wait "$child"; code=$?
  while kill -0 "$child" 2>/dev/null; do wait "$child"; code=$?; done  # woken by a trap
  trap - INT TERM
  if [ -n "$signalled" ]; then
    EXTCI_RETRY_FOR=5 cmd_end CANCELED
    exit "$signalled"
  fi
  if [ "$code" -eq 0 ]; then
    cmd_result artifacts || report_failed=1
    cmd_end SUCCESSFUL || report_failed=1
    [ -z "${report_failed:-}" ] || exit 75
    exit 0
  fi
  cmd_end FAILED
  exit "$code"
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  start) cmd_start ;;
  result) cmd_result ;;
  end) cmd_end "$@" ;;
  run) cmd_run "$@" ;;
  *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
