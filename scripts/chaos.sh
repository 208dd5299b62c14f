#!/usr/bin/env bash
# make chaos: 3 worker replicas import continuously delivered mail for a few minutes while replicas are
# SIGKILLed and restarted, PostgreSQL restarts once and Dovecot once; then checks that every delivered
# message was imported exactly once. Prints the report; exits non-zero when the invariant fails.
#
#   scripts/chaos.sh [--duration 60] [--settle 90] [--log-directory DIR]   (arguments go to mailroom-chaos)
#
# Uses the test environment (MAILROOM_TESTENV_DIR, default ./.testenv): starts it when needed and stops
# it afterwards only if this script started it (KEEP_TESTENV=1 leaves it running). It RESTARTS the
# environment's PostgreSQL and Dovecot: other test runs sharing it see dropped connections meanwhile, so
# beside a shared environment give the run one of its own (scripts/testenv.sh):
#
#   MAILROOM_TESTENV_DIR=$PWD/.testenv-chaos MAILROOM_TESTENV_PORT_OFFSET=1000 make chaos-oauth
#
# Expects `swift build --product mailroom --product mailroom-chaos` done (make chaos does that);
# MAILROOM_CHAOS_BIN names another directory holding both (a copy, so a rebuild cannot change them mid-run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export MAILROOM_TESTENV_DIR="${MAILROOM_TESTENV_DIR:-$PWD/.testenv}"
BIN=${MAILROOM_CHAOS_BIN:-$(swift build --show-bin-path)}
for program in mailroom mailroom-chaos; do
    [[ -x "$BIN/$program" ]] || { echo "chaos: $BIN/$program is missing (run make chaos)" >&2; exit 1; }
done

# Which servers ran before: only an environment this script brought up from nothing is taken down again.
before=$(scripts/testenv.sh status 2>/dev/null || true)
started_here=0
if ! grep -q running <<<"$before"; then started_here=1; fi

stop_servers() {
    local status=$?
    if ((started_here)) && [[ "${KEEP_TESTENV:-0}" != 1 ]]; then
        scripts/testenv.sh down || status=$((status == 0 ? 1 : status))
    fi
    exit "$status"
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scripts/testenv.sh up
# shellcheck source=/dev/null
source "$MAILROOM_TESTENV_DIR/env"
"$BIN/mailroom-chaos" --mailroom "$BIN/mailroom" --testenv scripts/testenv.sh "$@"
