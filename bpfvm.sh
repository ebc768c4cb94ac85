#!/usr/bin/env bash
# bpfvm set-up and everyday commands. Run as root on Debian 12 for `deps` (apt-get).
#   ./bpfvm.sh demo    install dependencies, build, and run the bundled examples
#   ./bpfvm.sh test    install dependencies, build, and run every test (Release, ASan+UBSan, arm64 under qemu,
#                      then the fuzz targets ~20 s each, built by fuzz/oss-fuzz/build.sh)
#   ./bpfvm.sh deps | build | bench
set -euo pipefail
cd "$(dirname "$0")"

JOBS=${JOBS:-$(nproc)}
BUILD=${BUILD:-build}

# Debian packages the build needs; the test command adds the arm64 cross toolchain and qemu.
PACKAGES=(build-essential cmake ninja-build pkg-config git clang llvm
          libasmjit-dev libelf-dev zlib1g-dev libcli11-dev libgtest-dev libbenchmark-dev
          nlohmann-json3-dev libfmt-dev libcapstone-dev libyaml-cpp-dev libcpp-httplib-dev lcov zip)
# What only the tests use: a Prometheus server that scrapes `bpfvm serve-metrics`, and `ip` for a
# veth pair that XDP and tc programs attach to.
TEST_PACKAGES=(prometheus iproute2)

log() { printf '\n== %s\n' "$*"; }

deps() {
    local missing=()
    for p in "${PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        log "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

build() {
    local dir=$1; shift
    log "configuring $dir $*"
    cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
    log "building $dir"
    ninja -C "$dir" -j "$JOBS"
}

demo() {
    deps
    build "$BUILD" -DCMAKE_BUILD_TYPE=Release
    local bpfvm="$BUILD/bpfvm"
    log "assemble and run a program in the conformance-suite syntax"
    "$bpfvm" asm examples/asm/fib.s -o "$BUILD/fib.bin"
    "$bpfvm" disasm --raw "$BUILD/fib.bin"
    "$bpfvm" run --raw "$BUILD/fib.bin" --mem-hex 1e
    if [ -f "$BUILD/examples/xdp_counter.bpf.o" ]; then
        log "verify objects as the kernel would, without root: one accepted and one rejected program"
        "$bpfvm" verify "$BUILD/examples/xdp_counter.bpf.o"
        "$bpfvm" verify "$BUILD/examples/verify/packet_bounds.bpf.o" || true
        log "inspect a clang-built XDP object and run it on a packet, without root"
        "$bpfvm" inspect "$BUILD/examples/xdp_counter.bpf.o"
        log "disassemble it with its source lines, then run it on one UDP packet (retval 2 = XDP_PASS)"
        "$bpfvm" disasm "$BUILD/examples/xdp_counter.bpf.o" | head -n 24
        "$bpfvm" run "$BUILD/examples/xdp_counter.bpf.o" --program xdp_count \
            --data-hex ffffffffffff02000000000108004500001c00000000401166cf0a0000010a0000023039003500080000
        log "run the unit tests of every example program (bpfvm test)"
        for spec in "$BUILD"/examples/*.test.json; do "$bpfvm" test "$spec"; done
    fi
}

run_ctest() {
    local dir=$1; shift
    log "testing $dir"
    ctest --test-dir "$dir" --output-on-failure -j "$JOBS" "$@"
}

# The libFuzzer targets in ONE build: fuzz/oss-fuzz/build.sh with the variables OSS-Fuzz sets (so
# the script ClusterFuzz would run is exercised), then each target ~20 s on its stored corpus and
# former findings. New inputs go to a scratch folder, never into the repository.
fuzz_ci() {
    local out=$PWD/build-fuzz/out work=$PWD/build-fuzz
    mkdir -p "$out"
    log "fuzz: building the targets with fuzz/oss-fuzz/build.sh"
    CC=clang CXX=clang++ \
    CFLAGS="-O1 -g1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link" \
    CXXFLAGS="-O1 -g1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link" \
    LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT="$out" WORK="$work" JOBS="$JOBS" \
        fuzz/oss-fuzz/build.sh || return 1
    local target
    for target in fuzz_asm fuzz_elf fuzz_diff fuzz_verify fuzz_soundness; do
        if [ ! -x "$out/$target" ] || [ ! -f "$out/${target}_seed_corpus.zip" ]; then
            echo "fuzz: $target or its seed corpus is missing from \$OUT" >&2
            return 1
        fi
        log "fuzz: $target for ${FUZZ_SECONDS:-20} s"
        local scratch fixed
        scratch=$(mktemp -d)
        # Former findings, without the open ones (regressions/<target>/open/: known, not fixed yet).
        fixed=$(mktemp -d)
        find "fuzz/regressions/$target" -path "*/open" -prune -o -type f ! -name ".*" -exec cp {} "$fixed"/ \;
        "$out/$target" "$scratch" "fuzz/corpus/$target" "$fixed" -max_total_time="${FUZZ_SECONDS:-20}" \
            -timeout=10 -malloc_limit_mb=512 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/$target-" \
            2>"$work/$target.log" || { tail -n 40 "$work/$target.log" >&2; rm -rf "$scratch" "$fixed"; return 1; }
        grep -E "stat::number_of_executed_units|Done" "$work/$target.log" || true
        rm -rf "$scratch" "$fixed"
    done
}

test_all() {
    deps "${TEST_PACKAGES[@]}"
    local failed=()
    # -O1 -g1: sanitizer builds compile about twice as fast as RelWithDebInfo and still report lines.
    # Kernel-facing tests (tests/kernel) run in the Release build only; here they skip, saying so.
    build build-asan -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" -DCMAKE_C_FLAGS="-O1 -g1" \
        -DBPFVM_SANITIZE=ON -DBPFVM_BUILD_BENCH=OFF -DBPFVM_KERNEL_TESTS=OFF || failed+=(asan-build)
    # Sanitizers slow the differential batch ~10x: a smaller batch there, the full one in Release and arm64.
    # The verifier's corpus runs (selftests, ebpf-samples) verify a sample there, everything in Release.
    BPFVM_DIFF_PROGRAMS=2000 BPFVM_VERIFY_SAMPLE=${BPFVM_VERIFY_SAMPLE:-150} ASAN_OPTIONS=detect_leaks=1 \
        UBSAN_OPTIONS=print_stacktrace=1 run_ctest build-asan || failed+=(asan)
    if [ -x scripts/test-arm64.sh ]; then
        log "arm64: cross-build and run the tests under qemu-aarch64"
        BPFVM_VERIFY_SAMPLE=${BPFVM_VERIFY_SAMPLE:-150} scripts/test-arm64.sh || failed+=(arm64)
    fi
    build "$BUILD" -DCMAKE_BUILD_TYPE=Release || failed+=(release-build)
    run_ctest "$BUILD" || failed+=(release)
    fuzz_ci || failed+=(fuzz)
    if ((${#failed[@]})); then
        echo "FAILED: ${failed[*]}" >&2
        return 1
    fi
}

case "${1:-}" in
    deps) deps ;;
    build) deps; build "$BUILD" -DCMAKE_BUILD_TYPE=Release ;;
    demo) demo ;;
    test) test_all ;;
    bench) deps; build "$BUILD" -DCMAKE_BUILD_TYPE=Release; for b in "$BUILD"/bench/bench_*; do "$b"; done ;;
    *) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
