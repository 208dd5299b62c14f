#!/usr/bin/env bash
# Starts the test servers, runs `swift test` against them and always stops them again.
# Arguments go to `swift test` (e.g. --filter MailStoreTests). The exit status is swift test's.
# KEEP_TESTENV=1 leaves the servers running afterwards (for repeated local runs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stop_servers() {
    local status=$?
    if [[ "${KEEP_TESTENV:-0}" != 1 ]]; then
        scripts/testenv.sh down || status=$((status == 0 ? 1 : status))
    fi
    exit "$status"
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/testenv.sh up
# shellcheck source=/dev/null
source "${MAILROOM_TESTENV_DIR:-.testenv}/env"
swift test "$@"
