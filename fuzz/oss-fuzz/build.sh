#!/bin/bash -eu
# OSS-Fuzz build script for bpfvm: builds the libFuzzer targets with the flags OSS-Fuzz sets
# ($CC, $CXX, $CFLAGS, $CXXFLAGS, $LIB_FUZZING_ENGINE) and installs them, their seed corpora and
# options into $OUT. Also run by bpfvm.sh test with those variables set by hand, to check that it
# works without the Docker image. $SRC/bpfvm is the checkout ($SRC defaults to two levels up).
SRC_DIR=${SRC_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD_DIR=${WORK:-/tmp}/bpfvm-oss-fuzz-build

# The sanitizer and coverage flags come from $CFLAGS/$CXXFLAGS, so bpfvm adds none of its own
# (BPFVM_FUZZ_OWN_FLAGS=OFF); the engine is linked with $LIB_FUZZING_ENGINE.
cmake -S "$SRC_DIR" -B "$BUILD_DIR" -G Ninja \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
    -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" -DCMAKE_BUILD_TYPE=None \
    -DBPFVM_BUILD_FUZZ=ON -DBPFVM_FUZZ_OWN_FLAGS=OFF -DBPFVM_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" \
    -DBPFVM_BUILD_TESTS=OFF -DBPFVM_BUILD_BENCH=OFF -DBPFVM_BUILD_TOOLS=OFF -DBPFVM_BUILD_EXAMPLES=OFF
ninja -C "$BUILD_DIR" ${JOBS:+-j "$JOBS"} fuzz

for target in "$BUILD_DIR"/fuzz/fuzz_*; do
    [ -x "$target" ] || continue
    name=$(basename "$target")
    cp "$target" "$OUT/"
    # Seed corpus: the stored corpus and every former finding.
    seeds=$(mktemp -d)
    for dir in "$SRC_DIR/fuzz/corpus/$name" "$SRC_DIR/fuzz/regressions/$name"; do
        [ -d "$dir" ] && cp "$dir"/* "$seeds"/ 2>/dev/null || true
    done
    rm -f "$OUT/${name}_seed_corpus.zip"
    if command -v zip >/dev/null; then
        (cd "$seeds" && zip -q -r "$OUT/${name}_seed_corpus.zip" .)
    else
        (cd "$seeds" && python3 -m zipfile -c "$OUT/${name}_seed_corpus.zip" .)
    fi
    rm -rf "$seeds"
    [ -f "$SRC_DIR/fuzz/$name.options" ] && cp "$SRC_DIR/fuzz/$name.options" "$OUT/"
done
