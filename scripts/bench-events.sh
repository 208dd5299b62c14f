#!/usr/bin/env bash
# `make bench-events`: builds mailroom-bench in release, starts the test servers (unless already running),
# then runs `mailroom-bench webhooks`: webhook deliveries/s of one replica's job runner to local receivers
# beside a bare libcurl loop POSTing the same bodies, and the latency from an event's commit to the
# receiver. Arguments go to `mailroom-bench webhooks` (default: --events 2000 --endpoints 2 --latency-events 200).
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
