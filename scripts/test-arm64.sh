#!/usr/bin/env bash
# Cross-builds bpfvm for AArch64 and runs its tests under qemu-user, from a fresh checkout.
#
#   scripts/test-arm64.sh            install what is missing, configure, build, run ctest
#   BUILD_DIR=out JOBS=4 LABELS='jit|conformance' scripts/test-arm64.sh
#
# Idempotent: packages already installed are left alone and the build is incremental. Needs root
# (or sudo) only when packages are missing. The last lines are ctest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build-arm64}
JOBS=${JOBS:-$(nproc)}
# Test folders (ctest labels) to build and run. tests/kernel is left out on purpose: it issues
# bpf() syscalls, which qemu-user passes to the host kernel.
# The verifier's corpus harnesses (verifier_corpus) read BPFVM_VERIFY_SAMPLE=N to verify a sample.
LABELS=${LABELS:-isa|interpreter|jit|conformance|maps|loader|verifier_table|verifier_corpus}
# Multi-threaded stress tests take many minutes under qemu-user; EXCLUDE='' runs them too.
EXCLUDE=${EXCLUDE-Concurrency}

say() { printf '== %s\n' "$*"; }

# ---- packages --------------------------------------------------------------------------------
host_pkgs=(cmake ninja-build pkg-config g++-aarch64-linux-gnu qemu-user)
target_pkgs=(libasmjit-dev libgtest-dev libelf-dev libcapstone-dev libfmt-dev zlib1g-dev)

missing=()
for p in "${host_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
for p in "${target_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p:arm64" 2>/dev/null | grep -q 'ok installed' || missing+=("$p:arm64")
done
if ((${#missing[@]})); then
    SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO=sudo
    say "installing: ${missing[*]}"
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        $SUDO dpkg --add-architecture arm64
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- configure and build ---------------------------------------------------------------------
say "configuring $BUILD_DIR (aarch64, qemu-user)"
config=(-DCMAKE_BUILD_TYPE=Release -DBPFVM_BUILD_BENCH=OFF -DBPFVM_BUILD_EXAMPLES=OFF -DBPFVM_BUILD_TOOLS=OFF)
# The toolchain file only matters on the first configure (CMake ignores it, noisily, afterwards).
[[ -f "$BUILD_DIR/CMakeCache.txt" ]] || config+=(-DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake)
cmake -S . -B "$BUILD_DIR" -G Ninja --log-level=WARNING "${config[@]}" >/dev/null

# Only the test executables of the selected folders (and what they link).
all_targets=$(ninja -C "$BUILD_DIR" -t targets all)
targets=()
IFS='|' read -r -a labels <<<"$LABELS"
for label in "${labels[@]}"; do
    if grep -q "^test_${label}:" <<<"$all_targets"; then
        targets+=("test_${label}")
    fi
done
if ((${#targets[@]} == 0)); then
    echo "no test targets found for labels '$LABELS'" >&2
    exit 1
fi
say "building ${targets[*]}"
ninja -C "$BUILD_DIR" -j "$JOBS" --quiet "${targets[@]}"

# ---- run -------------------------------------------------------------------------------------
say "running ctest under qemu-aarch64 (labels: $LABELS)"
set +e
exclude=()
[[ -z "$EXCLUDE" ]] || exclude=(-E "$EXCLUDE")
ctest --test-dir "$BUILD_DIR" -L "^(${LABELS})\$" "${exclude[@]}" -j "$JOBS" --output-on-failure --timeout 900 |
    grep --line-buffered -v -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* +Passed +|^ +Start +[0-9]+: '
status=${PIPESTATUS[0]}
set -e
exit "$status"
