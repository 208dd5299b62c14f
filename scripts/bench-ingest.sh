#!/usr/bin/env bash
# `make bench-ingest`: builds mailroom-bench in release, starts the test servers (unless already running),
# runs `mailroom-bench ingest` round by round and stops the servers again if this script started them.
#
# Each round measures this checkout (end to end, with the bare batched fetch of our IMAP client as the
# floor and libcurl's one-URL-per-message fetch for comparison) and, in the same run, the end-to-end
# rate of a baseline revision built from git into .build-baseline/ (BENCH_BASELINE_REV; default: the
# last revision whose importer fetched through libcurl; BENCH_BASELINE_REV= skips it). The two
# alternate their order from round to round so the machine's noise hits both alike.
# Last, `mailroom-bench memory`: the peak extra RSS of importing one 24 MiB message.
#
#   scripts/bench-ingest.sh [--messages 10000] [--rounds 3] [--compare-events] [--compare-reports [--report-share 0.2]]
# --compare-events: each round of this checkout also imports with the tenant's events switched off and
# reports the rate with events beside the rate without (docs/benchmarks.md, "Events").
# --compare-reports: each round also imports the same corpus with a share of delivery reports (default
# 20 %) tied to sent emails, and reports its rate beside the plain mix's (docs/benchmarks.md, "Delivery reports").
# KEEP_TESTENV=1 never stops the servers; MAILROOM_TESTENV_DIR points at a shared environment.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

messages=10000
rounds=3
current_args=()
while (($#)); do
    case $1 in
        --messages) messages=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --compare-events) current_args+=(--compare-events); shift ;;
        --compare-reports) current_args+=(--compare-reports); shift ;;
        --report-share) current_args+=(--report-share "$2"); shift 2 ;;
        *) echo "bench-ingest: unknown argument $1 (use --messages N --rounds N --compare-events --compare-reports --report-share S)" >&2; exit 2 ;;
    esac
done
baseline_rev=${BENCH_BASELINE_REV-c8daf9d}

# shellcheck source=scripts/lib/testenv-session.sh
source scripts/lib/testenv-session.sh
swift build -c release --product mailroom-bench
bench="$(swift build -c release --show-bin-path)/mailroom-bench"

baseline=""
if [[ -n $baseline_rev ]]; then
    src=.build-baseline/src
    want=$(git rev-parse --verify "$baseline_rev^{commit}")
    if [[ ! -f $src/.revision || $(cat "$src/.revision") != "$want" ]]; then
        rm -rf "$src"
        mkdir -p "$src"
        git archive "$want" | tar -x -C "$src"
        echo "$want" >"$src/.revision"
    fi
    swift build -c release --product mailroom-bench --package-path "$src" --scratch-path .build-baseline/build
    baseline="$(swift build -c release --package-path "$src" --scratch-path .build-baseline/build --show-bin-path)/mailroom-bench"
fi

# Each run's output stays for reading afterwards (the EXIT trap belongs to testenv-session.sh).
out=.build/bench-ingest
rm -rf "$out"
mkdir -p "$out"
run_current() { "$bench" ingest --messages "$messages" --rounds 1 --first-round "$1" "${current_args[@]}" | tee "$out/current-$1"; }
run_baseline() { "$baseline" ingest --messages "$messages" --rounds 1 | tee "$out/baseline-$1"; }

for ((r = 1; r <= rounds; r++)); do
    echo "== round $r"
    if [[ -z $baseline ]]; then
        run_current "$r"
    elif ((r % 2)); then
        run_current "$r"; run_baseline "$r"
    else
        run_baseline "$r"; run_current "$r"
    fi
done

python3 - "$out" "$rounds" "${baseline:+yes}" <<'PY'
import os, statistics, sys, re
out, rounds, with_baseline = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "yes"
def rates(path):
    line = next(l for l in open(path) if re.match(r"round \d+:", l))
    get = lambda name: float(re.search(name + r" +(\d+) msg/s", line).group(1))
    return {"batched": get("batched"), "url": get("per-URL"), "e2e": get("end-to-end")}
rows = []
for r in range(1, rounds + 1):
    c = rates(f"{out}/current-{r}")
    b = rates(f"{out}/baseline-{r}")["e2e"] if with_baseline else None
    rows.append((r, c, b))
print()
print("| round | batched fetch msg/s (floor) | libcurl per-URL msg/s | end-to-end msg/s | end-to-end / floor | baseline end-to-end msg/s | end-to-end / baseline |")
print("|------:|------:|------:|------:|------:|------:|------:|")
def fmt(r, c, b):
    base = f"{b:.0f} | {c['e2e'] / b:.2f}" if b else "– | –"
    return f"| {r} | {c['batched']:.0f} | {c['url']:.0f} | {c['e2e']:.0f} | {c['e2e'] / c['batched']:.2f} | {base} |"
for r, c, b in rows: print(fmt(r, c, b))
med = lambda xs: statistics.median(xs)
mc = {k: med([c[k] for _, c, _ in rows]) for k in ("batched", "url", "e2e")}
ratio_floor = med([c["e2e"] / c["batched"] for _, c, _ in rows])
line = f"| median | {mc['batched']:.0f} | {mc['url']:.0f} | {mc['e2e']:.0f} | {ratio_floor:.2f} | "
if with_baseline:
    mb = med([b for _, _, b in rows]); ratio_base = med([c["e2e"] / b for _, c, b in rows])
    line += f"{mb:.0f} | {ratio_base:.2f} |"
else:
    line += "– | – |"
print(line)
print()
if with_baseline:
    print(f"target end-to-end ≥ 2× the baseline's: {'met' if ratio_base >= 2 else 'NOT met'} (median ratio {ratio_base:.2f})")
print(f"target end-to-end ≥ 0.5 of the bare batched fetch: {'met' if ratio_floor >= 0.5 else 'NOT met'} (median ratio {ratio_floor:.2f})")
shares = []
for r in range(1, rounds + 1):
    m = re.search(r"events off +(\d+) msg/s, with/without events ([0-9.]+)", next(l for l in open(f"{out}/current-{r}") if re.match(r"round \d+:", l)))
    if m: shares.append((r, float(m.group(1)), float(m.group(2))))
if shares:
    print()
    print("| round | events off msg/s | with / without events |")
    print("|------:|------:|------:|")
    for r, off, share in shares: print(f"| {r} | {off:.0f} | {share:.2f} |")
    ms = med([s for _, _, s in shares])
    print(f"target with events ≥ 0.9 of without: {'met' if ms >= 0.9 else 'NOT met'} (median ratio {ms:.2f})")
mixes = []
for r in range(1, rounds + 1):
    m = re.search(r"with reports +(\d+) msg/s \((\d+) tied\), with/without reports ([0-9.]+)", next(l for l in open(f"{out}/current-{r}") if re.match(r"round \d+:", l)))
    if m: mixes.append((r, float(m.group(1)), int(m.group(2)), float(m.group(3))))
if mixes:
    print()
    print("| round | with reports msg/s | reports tied | with / without reports |")
    print("|------:|------:|------:|------:|")
    for r, rate, tied, share in mixes: print(f"| {r} | {rate:.0f} | {tied} | {share:.2f} |")
    mr = med([s for _, _, _, s in mixes])
    print(f"target with reports ≥ 0.9 of the plain mix: {'met' if mr >= 0.9 else 'NOT met'} (median ratio {mr:.2f})")
PY

# Memory: the extra RSS of importing one 24 MiB message, against its size (target ≤ 4×).
echo
"$bench" memory
