#!/usr/bin/env bash
# Runs one libFuzzer target until it has used a given amount of CPU time (user + system, summed over
# restarts), which is what fuzz/README.md records: on a shared machine wall time says little.
#
#   fuzz/run_cpu.sh TARGET CPU_SECONDS WORKDIR [SEED_DIR...]
#   FUZZ_BUILD=build-fuzz NICE=10 fuzz/run_cpu.sh fuzz_elf 1800 /tmp/elf fuzz/corpus/fuzz_elf fuzz/regressions/fuzz_elf
#
# New inputs go to WORKDIR/c, findings (crash-*, timeout-*, slow-unit-*) to WORKDIR/, one log per run
# to WORKDIR/logN.txt and one line per run to WORKDIR/runs.txt. After a finding the target is started
# again on the grown corpus, at most 30 times.
set -uo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 TARGET CPU_SECONDS WORKDIR [SEED_DIR...]" >&2
    exit 2
fi
target=$1 want=$2 work=$3
shift 3
case $want in '' | *[!0-9]*) echo "$0: CPU_SECONDS must be a whole number, got '$want'" >&2; exit 2 ;; esac
bin=${FUZZ_BUILD:-build-fuzz}/fuzz/$target
if [ ! -x "$bin" ]; then
    echo "$0: $bin not found: build it first (fuzz/README.md, Build and run)" >&2
    exit 2
fi
tick=$(getconf CLK_TCK)
mkdir -p "$work/c"

used=0 n=0
while [ "$used" -lt "$want" ] && [ "$n" -lt 30 ]; do
    n=$((n + 1))
    nice -n "${NICE:-10}" "$bin" -max_total_time=1000000 -timeout=60 -malloc_limit_mb=512 -rss_limit_mb=2048 \
        -max_len=4096 -print_final_stats=1 -artifact_prefix="$work/" "$work/c" "$@" > "$work/log$n.txt" 2>&1 &
    pid=$! cpu=0 start=$(date +%s)
    while kill -0 "$pid" 2>/dev/null; do
        sleep 5
        # Fields 14 and 15 of /proc/PID/stat: user and system time of all threads, in clock ticks.
        t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null) && [ -n "$t" ] && cpu=$((t / tick))
        [ $((used + cpu)) -ge "$want" ] && kill -INT "$pid" 2>/dev/null
    done
    wait "$pid"
    rc=$?
    used=$((used + cpu))
    echo "run $n: exit $rc, ${cpu} s CPU, $(($(date +%s) - start)) s wall, ${used} s CPU in all" >> "$work/runs.txt"
done
echo "done: ${used} s CPU in $n runs" >> "$work/runs.txt"
