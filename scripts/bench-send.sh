#!/usr/bin/env bash
# `make bench-send`: builds mailroom, mailroom-bench and mailroom-queue-bench in release, starts the test
# servers (unless already running), then
#   1. `mailroom-queue-bench queue-email`: emails/s queued through mailroom_queue_email (one per transaction)
#      and mailroom_queue_emails (batches) beside plain INSERTs of the same rows, pgbench, no workers;
#   2. `mailroom-bench send`: queue → SMTP → Sent with workers, beside libcurl alone;
#   3. `mailroom-bench memory-send`: a worker's peak extra RSS sending one 25 MiB attachment;
# and stops the servers again if this script started them.
# Arguments go to `mailroom-bench send` (default: --emails 2000 --rounds 3 --workers 2); QUEUE_ARGS to
# `queue-email` (default: --clients 4 --emails 8000 --rounds 2 --batch 100 --attachment-kb 100);
# MEMORY_ARGS to `memory-send` (e.g. --mebibytes 7 for a Postfix started before its limit was raised to 50 MB).
# BENCH_SKIP_QUEUEING=1, BENCH_SKIP_SENDING=1 or BENCH_SKIP_MEMORY=1 skips a part.
# KEEP_TESTENV=1 never stops the servers; MAILROOM_TESTENV_DIR points at a shared environment.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/testenv-session.sh
source scripts/lib/testenv-session.sh
swift build -c release --product mailroom
swift build -c release --product mailroom-bench
swift build -c release --product mailroom-queue-bench
bin="$(swift build -c release --show-bin-path)"
if [[ "${BENCH_SKIP_QUEUEING:-0}" != 1 ]]; then
    # shellcheck disable=SC2086
    "$bin/mailroom-queue-bench" queue-email ${QUEUE_ARGS:-}
fi
if [[ "${BENCH_SKIP_SENDING:-0}" != 1 ]]; then
    args=("$@")
    ((${#args[@]})) || args=(--emails 2000 --rounds 3 --workers 2)
    "$bin/mailroom-bench" send --mailroom "$bin/mailroom" "${args[@]}"
fi
if [[ "${BENCH_SKIP_MEMORY:-0}" != 1 ]]; then
    # shellcheck disable=SC2086
    "$bin/mailroom-bench" memory-send --mailroom "$bin/mailroom" ${MEMORY_ARGS:-}
fi
