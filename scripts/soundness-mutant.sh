#!/usr/bin/env bash
# Tests the soundness test: builds the verifier with its map value bounds off by one byte
# (-DBPFVM_VERIFIER_MUTANT=ON) and runs tests/verifier_corpus/soundness_test.cpp, which must now
# FAIL (an accepted program reads past a map value in checked mode). Run by hand; prints the
# violations found and exits 0 when the test caught the mutant.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BUILD:-build-mutant}
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBPFVM_VERIFIER_MUTANT=ON \
    -DBPFVM_BUILD_BENCH=OFF -DBPFVM_KERNEL_TESTS=OFF >/dev/null
ninja -C "$dir" -j "${JOBS:-$(nproc)}" test_verifier_corpus
if "$dir/tests/test_verifier_corpus" --gtest_filter='Soundness.*' >"$dir/soundness-mutant.log" 2>&1; then
    echo "soundness test PASSED on the mutant verifier: it does not catch an off-by-one map value bound" >&2
    exit 1
fi
grep -E 'bounds violations|out-of-bounds' "$dir/soundness-mutant.log" | head -n 20
echo "soundness test caught the mutant (log: $dir/soundness-mutant.log)"
