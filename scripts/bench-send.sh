#!/usr/bin/env bash
# `make bench-send`: builds mailroom and mailroom-bench in release, starts the test servers (unless already
# running), runs `mailroom-bench send` and stops the servers again if this script started them.
# Arguments go to `mailroom-bench send` (default: --emails 2000 --rounds 3 --workers 2).
# KEEP_TESTENV=1 never stops the servers; MAILROOM_TESTENV_DIR points at a shared environment.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

started=0
stop_servers() {
    local status=$?
    if [[ "$started" == 1 && "${KEEP_TESTENV:-0}" != 1 ]]; then
        scripts/testenv.sh down || status=$((status == 0 ? 1 : status))
    fi
    exit "$status"
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Servers that were all running before are someone else's: leave them up afterwards.
if scripts/testenv.sh status | grep -qv ' running '; then started=1; fi
scripts/testenv.sh up
# shellcheck source=/dev/null
source "${MAILROOM_TESTENV_DIR:-.testenv}/env"
swift build -c release --product mailroom
swift build -c release --product mailroom-bench
args=("$@")
((${#args[@]})) || args=(--emails 2000 --rounds 3 --workers 2)
bin="$(swift build -c release --show-bin-path)"
"$bin/mailroom-bench" send --mailroom "$bin/mailroom" "${args[@]}"
