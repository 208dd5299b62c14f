#!/usr/bin/env bash
# `make bench-events`: builds mailroom-bench in release, starts the test servers (unless already running),
# then runs
# - `mailroom-bench webhooks`: webhook deliveries/s of one replica's job runner to local receivers beside
#   a bare libcurl loop POSTing the same bodies, and the latency from an event's commit to the receiver;
#   arguments go here (default: --events 2000 --endpoints 2 --latency-events 200);
# - `mailroom-bench ingest --compare-events --with-webhooks`: the import rate into a tenant with events and
#   a webhook endpoint against one with events off, in the same run, once with an endpoint taking one
#   event per POST and once with one taking batches of 100 (EVENTS_INGEST_MESSAGES, default 2000;
#   EVENTS_INGEST_ROUNDS, default 4).
# KEEP_TESTENV=1 never stops the servers; MAILROOM_TESTENV_DIR points at a shared environment.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/testenv-session.sh
source scripts/lib/testenv-session.sh
swift build -c release --product mailroom-bench
bin="$(swift build -c release --show-bin-path)"
args=("$@")
((${#args[@]})) || args=(--events 2000 --endpoints 2 --latency-events 200)
"$bin/mailroom-bench" webhooks "${args[@]}"
for batch in 1 100; do
    echo
    echo "== ingest with events and a webhook endpoint (batch $batch) against events off"
    "$bin/mailroom-bench" ingest --messages "${EVENTS_INGEST_MESSAGES:-2000}" --rounds "${EVENTS_INGEST_ROUNDS:-4}" \
        --compare-events --with-webhooks --webhook-batch "$batch"
done
