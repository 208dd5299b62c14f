# Mailroom: build, test against real servers, run.
#   make test                 install missing packages, build, start the test servers, swift test, stop them
#   make test TEST_ARGS='--filter MailStoreTests'
#   make demo                 the main job end to end on the embedded database (see README.md)
#   make bench-ingest         import rate in release beside the bare batched fetch and a baseline revision (docs/benchmarks.md)
#   make chaos                replicas killed, servers restarted while mail arrives; exactly-once check
#   make chaos CHAOS_ARGS='--duration 60'
#   make chaos-oauth          the same with 200 OAuth accounts (60 s tokens, strict rotation) for 10 minutes
#   make bench-queue          job queue throughput and poll lag benchmarks (docs/benchmarks.md)
#   make bench-send           emails/s queued and sent by workers through Postfix, beside libcurl alone
#   make bench-events         webhook deliveries/s beside a bare libcurl loop, commit-to-receiver latency, and
#                             the import rate with events and webhooks against without
#   make bench-oauth          empty polls/s of OAuth accounts against password accounts in the same run
#   make fuzz                 libFuzzer on the IMAP parser, the manifest reader and the MIME parser (docs/testing.md)
#   make fuzz FUZZ_SECONDS=600 FUZZ_TARGETS=mime
#   make build | testenv-up | testenv-down | clean
SHELL := /bin/bash
SWIFT ?= swift
# In CI the project's own modules build with warnings as errors (Package.swift reads this); every
# swift command of a run must see the same value, or the next one rebuilds everything.
export MAILROOM_WARNINGS_AS_ERRORS := $(if $(CI),1,0)
TEST_ARGS ?=
BENCH_ARGS ?=
CHAOS_ARGS ?=
FUZZ_TARGETS ?=

.PHONY: all deps build build-tests test testenv-up testenv-down testenv-status clean demo chaos chaos-oauth bench-ingest bench-queue bench-send bench-events bench-oauth fuzz

all: build

deps:
	scripts/install-deps.sh

build: deps
	$(SWIFT) build

build-tests: deps
	$(SWIFT) build --build-tests

# run-tests.sh stops the servers whatever happens and exits with swift test's status.
test: build-tests
	scripts/run-tests.sh $(TEST_ARGS)

testenv-up: deps
	scripts/testenv.sh up

testenv-down:
	scripts/testenv.sh down

testenv-status:
	scripts/testenv.sh status

clean:
	-scripts/testenv.sh down
	rm -rf .build .build-fuzz .testenv

# The main job on the embedded default: mail servers, sample mail, two tenants, worker table (scripts/demo.sh).
demo:
	scripts/demo.sh

# 10,000 generated messages Dovecot → Postgres with one worker, beside the IMAP-only floor and, in the same
# run, the end-to-end rate of a baseline revision (BENCH_BASELINE_REV; docs/benchmarks.md).
#   make bench-ingest BENCH_ARGS='--messages 2000 --rounds 5'
bench-ingest: deps
	scripts/bench-ingest.sh $(BENCH_ARGS)

# 3 replicas, continuous delivery, SIGKILLs, one PostgreSQL and one Dovecot restart; every delivered
# message imported exactly once (scripts/chaos.sh, Sources/MailChaos). Restarts the test servers.
chaos: deps
	$(SWIFT) build --product mailroom
	$(SWIFT) build --product mailroom-chaos
	scripts/chaos.sh $(CHAOS_ARGS)

# Job queue throughput (JobRunner vs pgbench vs PgQueuer) and poll lag at scale (docs/benchmarks.md).
bench-queue: deps
	scripts/bench-queue.sh

# Emails queued through mailroom_queue_email(s) beside plain INSERTs of the same rows (pgbench), then queued
# and sent by `mailroom worker` processes through the test Postfix, beside libcurl submitting the same
# messages alone (docs/benchmarks.md).
#   make bench-send BENCH_ARGS='--emails 500 --rounds 1' QUEUE_ARGS='--emails 2000 --rounds 1'
bench-send: deps
	scripts/bench-send.sh $(BENCH_ARGS)

# Webhook deliveries of one replica to local receivers beside a bare libcurl loop over the same bodies,
# and commit-to-receiver latency (docs/benchmarks.md).
#   make bench-events BENCH_ARGS='--events 500 --latency-events 50'
bench-events: deps
	scripts/bench-events.sh $(BENCH_ARGS)

# Each fuzz target for FUZZ_SECONDS (default 180) on seeds from the tests; non-zero on any crash, hang or
# out-of-memory input, whose reproducer lands in .fuzz/crashes/<target>/ (scripts/fuzz.sh).
fuzz: deps
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),180) scripts/fuzz.sh $(FUZZ_TARGETS)

# Empty polls per second of OAuth accounts against password accounts, same run (docs/benchmarks.md).
#   make bench-oauth BENCH_ARGS='--accounts 20 --seconds 10 --rounds 2'
bench-oauth: deps
	scripts/bench-oauth.sh $(BENCH_ARGS)

# make chaos with a third tenant of 200 accounts that log in with OAuth: 60-second tokens, strictly rotating
# refresh tokens, 10 minutes; adds the OAuth invariants to the report (docs/benchmarks.md).
chaos-oauth: deps
	$(SWIFT) build --product mailroom
	$(SWIFT) build --product mailroom-chaos
	scripts/chaos.sh --duration 600 --oauth-accounts 200 $(CHAOS_ARGS)
