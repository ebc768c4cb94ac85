#!/usr/bin/env bash
# Compares `bpfvm jit --dump` of two bpfvm builds, checked and unchecked, for every program of the
# given BPF objects: a change to the x86-64 JIT that claims "generated code unchanged" runs this
# with the old and the new binary.
#   scripts/jit-dump-compare.sh OLD_BPFVM NEW_BPFVM OBJECT...
# Host addresses (helpers called through `movabs r10, <helper>`, maps resolved into lddw) differ
# between binaries and runs (ASLR), so 64-bit immediates that look like user-space pointers (six
# significant bytes, 0x5... to 0x7...) are masked; every other byte must match. Exit status 1 on
# the first difference (printed as a diff), 0 when all match.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 OLD_BPFVM NEW_BPFVM OBJECT..." >&2
    exit 2
fi
old=$1 new=$2
shift 2
mask() { sed -E 's/(4[89a-f] b[89a-f])( [0-9a-f]{2}){5} [5-7][0-9a-f] 00 00/\1 <address>/; s/0x[5-7][0-9a-f]{11}\b/<address>/g'; }
compared=0
for obj in "$@"; do
    # The object's program names, from the error for a program it does not have.
    names=$("$old" jit --dump "$obj" --program '<none>' 2>&1 | sed -nE 's/.*\(programs: (.*)\)$/\1/p' | tr -d ',') || true
    if [ -z "$names" ]; then
        echo "$obj: cannot list its programs" >&2
        exit 2
    fi
    for prog in $names; do
        for mode in "" "--unchecked"; do
            a=$("$old" jit --dump "$obj" --program "$prog" $mode 2>&1 | mask) || true
            b=$("$new" jit --dump "$obj" --program "$prog" $mode 2>&1 | mask) || true
            if [ "$a" != "$b" ]; then
                echo "DIFFERENT: $obj $prog ${mode:-checked}"
                diff <(echo "$a") <(echo "$b") | head -20
                exit 1
            fi
            compared=$((compared + 1))
        done
    done
done
echo "identical: $compared dumps ($# objects, checked and unchecked)"
