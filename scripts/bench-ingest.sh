#!/usr/bin/env bash
# `make bench-ingest`: builds mailroom-bench in release, starts the test servers (unless already running),
# runs `mailroom-bench ingest` and stops the servers again if this script started them.
# Arguments go to `mailroom-bench ingest` (default: --messages 10000 --rounds 3).
# KEEP_TESTENV=1 never stops the servers; MAILROOM_TESTENV_DIR points at a shared environment.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/testenv-session.sh
source scripts/lib/testenv-session.sh
swift build -c release --product mailroom-bench
args=("$@")
((${#args[@]})) || args=(--messages 10000 --rounds 3)
"$(swift build -c release --show-bin-path)/mailroom-bench" ingest "${args[@]}"
