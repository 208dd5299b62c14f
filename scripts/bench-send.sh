#!/usr/bin/env bash
# `make bench-send`: builds mailroom and mailroom-bench in release, starts the test servers (unless already
# running), runs `mailroom-bench send` and stops the servers again if this script started them.
# Arguments go to `mailroom-bench send` (default: --emails 2000 --rounds 3 --workers 2).
# KEEP_TESTENV=1 never stops the servers; MAILROOM_TESTENV_DIR points at a shared environment.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/testenv-session.sh
source scripts/lib/testenv-session.sh
swift build -c release --product mailroom
swift build -c release --product mailroom-bench
args=("$@")
((${#args[@]})) || args=(--emails 2000 --rounds 3 --workers 2)
bin="$(swift build -c release --show-bin-path)"
"$bin/mailroom-bench" send --mailroom "$bin/mailroom" "${args[@]}"
