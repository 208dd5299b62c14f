# Sourced by the benchmark scripts: starts the test servers unless they all run already, and stops them
# on exit only if this script started them (KEEP_TESTENV=1 never stops them). Then sources their env.
# MAILROOM_TESTENV_DIR points at a shared environment.

testenv_started=0
testenv_stop_on_exit() {
    local status=$?
    if [[ $testenv_started == 1 && "${KEEP_TESTENV:-0}" != 1 ]]; then
        scripts/testenv.sh down || status=$((status == 0 ? 1 : status))
    fi
    exit "$status"
}
trap testenv_stop_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Servers that were all running before are someone else's: leave them up afterwards. The status is read
# once into a variable (grep -q on a pipe could cut it short and read as "not running").
testenv_status=$(scripts/testenv.sh status 2>/dev/null || true)
if grep -qv ' running ' <<<"$testenv_status"; then
    testenv_started=1
    scripts/testenv.sh up
fi
# shellcheck source=/dev/null
source "${MAILROOM_TESTENV_DIR:-.testenv}/env"
