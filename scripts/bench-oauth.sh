#!/usr/bin/env bash
# `make bench-oauth`: builds mailroom-bench in release, starts the test servers (unless already running),
# runs `mailroom-bench oauth-polls` (empty polls per second, OAuth accounts against password accounts in
# the same run) and stops the servers again if this script started them.
# Arguments go to `mailroom-bench oauth-polls` (default: --accounts 40 --seconds 15 --rounds 4).
# KEEP_TESTENV=1 never stops the servers; MAILROOM_TESTENV_DIR points at a shared environment.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/testenv-session.sh
source scripts/lib/testenv-session.sh
swift build -c release --product mailroom-bench
bin="$(swift build -c release --show-bin-path)"
"$bin/mailroom-bench" oauth-polls "$@"
