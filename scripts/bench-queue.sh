#!/usr/bin/env bash
# make bench-queue: the job-queue benchmarks against the test servers, release build.
#   1. queue: JobRunner claim + complete of no-op jobs beside pgbench (same statements) and PgQueuer
#   2. polls: poll lag, CPU and memory of `mailroom worker` replicas over many accounts
# Starts the test servers if they are not running and stops them afterwards only if it started them
# (KEEP_TESTENV=1 keeps them). Results go to stdout and .build/bench-queue/.
# Knobs: BENCH_JOBS (100000), BENCH_ACCOUNTS (10000), BENCH_POLL_SECONDS (180), BENCH_SKIP_POLLS=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/testenv-session.sh
source scripts/lib/testenv-session.sh

swift build -c release --product mailroom
swift build -c release --product mailroom-queue-bench

# PgQueuer (PyPI) in a virtualenv of its own, for the peer baseline.
venv=.build/bench-venv
if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import pgqueuer, asyncpg' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet pgqueuer asyncpg
fi

out=.build/bench-queue
mkdir -p "$out"
.build/release/mailroom-queue-bench queue --jobs "${BENCH_JOBS:-100000}" --python "$venv/bin/python" \
    --json "$out/queue.json" | tee "$out/queue.txt"
if [[ "${BENCH_SKIP_POLLS:-0}" != 1 ]]; then
    .build/release/mailroom-queue-bench polls --accounts "${BENCH_ACCOUNTS:-10000}" \
        --duration "${BENCH_POLL_SECONDS:-180}" | tee "$out/polls.txt"
fi
