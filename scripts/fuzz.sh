#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets (Fuzz/) with -sanitize=fuzzer into .build-fuzz and runs each for a
# bounded time on a seed corpus cut from the repository's tests and examples. Exits non-zero when any target
# crashes, times out on an input, runs out of memory or fails to build. See docs/testing.md, "Fuzzing".
#   scripts/fuzz.sh                  every target, FUZZ_SECONDS each
#   scripts/fuzz.sh mime imap        only these
# Environment: FUZZ_SECONDS (default 180) run time per target; FUZZ_TIMEOUT (default 10) seconds one input
# may take before it counts as a hang; FUZZ_RSS_MB (default 2048) memory limit; FUZZ_ARGS extra libFuzzer flags.
# Output under .fuzz/ (gitignored): corpus/<target> (grows across runs), crashes/<target>/ (crash-*, timeout-*,
# oom-* reproducers: rerun one with `.build-fuzz/release/Fuzz<Name> FILE`), logs/<target>.log, summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
FUZZ_SECONDS=${FUZZ_SECONDS:-180}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}
FUZZ_RSS_MB=${FUZZ_RSS_MB:-2048}
FUZZ_ARGS=${FUZZ_ARGS:-}
out=.fuzz
targets=("$@")
((${#targets[@]})) || targets=(imap manifest mime)

product() {
    case "$1" in
        imap) echo FuzzIMAP ;;
        manifest) echo FuzzManifest ;;
        mime) echo FuzzMIME ;;
        *) echo "fuzz.sh: unknown target '$1' (imap, manifest, mime)" >&2; exit 2 ;;
    esac
}

# Longest input each target is given; the seeds of each are below it.
max_len() {
    case "$1" in
        imap | manifest) echo 16384 ;;
        mime) echo 65536 ;;
    esac
}

# The seed corpus: what the unit tests already feed each parser.
seed() {
    local target=$1 dir=$out/seeds/$1
    rm -rf "$dir"
    mkdir -p "$dir"
    case "$target" in
        imap)
            perl scripts/fuzz/seeds.pl --crlf --only-crlf "$dir" Tests/MailProtocolTests/*.swift
            # Real servers' answers (Dovecot, Cyrus, Courier recorded; Gmail, Outlook as documented).
            find Tests/MailProtocolTests/Transcripts -type f -name '*.txt' ! -name commands.txt -size -16k \
                -exec cp -t "$dir/" --backup=numbered {} +
            ;;
        manifest)
            cp examples/*.yaml "$dir/"
            perl scripts/fuzz/seeds.pl "$dir" Tests/MailProvisioningTests/*.swift
            ;;
        mime)
            find Tests/MailMIMETests/Fixtures -type f \
                ! -name README.md ! -name LICENSE ! -name COPYING ! -name manifest.tsv -size -64k \
                -exec cp -t "$dir/" --backup=numbered {} +
            cp examples/mail/*.eml "$dir/"
            ;;
    esac
}

mkdir -p "$out/logs"
# The sanitizer flag goes to every Swift module (coverage of MailMIME, Yams, ... is what guides the fuzzer);
# FUZZING swaps each target's stub `main` for libFuzzer's entry points.
for target in "${targets[@]}"; do
    "$SWIFT" build -c release --scratch-path .build-fuzz \
        -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library -Xswiftc -DFUZZING \
        --product "$(product "$target")"
done

status=0
: >"$out/summary.txt"
for target in "${targets[@]}"; do
    binary=.build-fuzz/release/$(product "$target")
    seed "$target"
    mkdir -p "$out/corpus/$target" "$out/crashes/$target"
    log=$out/logs/$target.log
    echo "fuzz: $target for ${FUZZ_SECONDS}s (log: $log)"
    set +e
    # shellcheck disable=SC2086
    # The outer timeout is a backstop: libFuzzer's own hang report can itself hang when the input has the
    # process deep in an allocation (seen with a multi-gigabyte one); killed that way counts as a failure.
    timeout --signal=KILL "$((FUZZ_SECONDS + 5 * FUZZ_TIMEOUT + 60))" \
        "$binary" "$out/corpus/$target" "$out/seeds/$target" \
        -max_total_time="$FUZZ_SECONDS" -timeout="$FUZZ_TIMEOUT" -rss_limit_mb="$FUZZ_RSS_MB" \
        -max_len="$(max_len "$target")" -artifact_prefix="$out/crashes/$target/" -print_final_stats=1 \
        $FUZZ_ARGS >"$log" 2>&1
    code=$?
    set -e
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(sed -E -n 's/.* cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/cov \1, features \2, corpus \3/p' <<<"$last")
    findings=$(find "$out/crashes/$target" -type f | wc -l)
    line="$target: exit $code, ${FUZZ_SECONDS}s, ${runs:-?} runs, ${rate:-?} exec/s, ${cov:-no coverage line}, $findings finding(s)"
    echo "$line" | tee -a "$out/summary.txt"
    if ((code != 0 || findings > 0)); then
        status=1
        grep -E 'ERROR: libFuzzer|SUMMARY|Test unit written to|Fatal error' "$log" | head -n 20 >&2 || true
    fi
done
exit $status
