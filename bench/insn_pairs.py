#!/usr/bin/env python3
"""Counts adjacent instruction pairs in BPF object files: the data behind the interpreter's
superinstructions (which pairs clang emits most).

    bench/insn_pairs.py ../shared/corpus [more dirs or .o files] [--top 30]

Reads every executable section with `llvm-objdump -d` (llvm-objdump-14 or llvm-objdump), decodes
each slot's opcode byte and registers, and counts, over straight-line pairs (the second
instruction is not a jump target, so the pair always runs together):

- opcode pairs, by mnemonic class (`mov64 reg -> alu64 imm`);
- the shapes the interpreter can fuse, with their register conditions:
  `rX = rY; rX op= K` (copy then ALU on the copy), load then ALU on the loaded register,
  ALU then a conditional jump on the result, and compare-then-branch forms.
"""
import collections
import os
import re
import shutil
import subprocess
import sys

CLASSES = {0: "ld", 1: "ldx", 2: "st", 3: "stx", 4: "alu32", 5: "jmp", 6: "jmp32", 7: "alu64"}
ALU = {0x00: "add", 0x10: "sub", 0x20: "mul", 0x30: "div", 0x40: "or", 0x50: "and", 0x60: "lsh",
       0x70: "rsh", 0x80: "neg", 0x90: "mod", 0xa0: "xor", 0xb0: "mov", 0xc0: "arsh", 0xd0: "end"}
JMP = {0x00: "ja", 0x10: "jeq", 0x20: "jgt", 0x30: "jge", 0x40: "jset", 0x50: "jne", 0x60: "jsgt",
       0x70: "jsge", 0x80: "call", 0x90: "exit", 0xa0: "jlt", 0xb0: "jle", 0xc0: "jslt", 0xd0: "jsle"}
SIZES = {0x00: "w", 0x08: "h", 0x10: "b", 0x18: "dw"}


def objdump():
    for name in ("llvm-objdump-14", "llvm-objdump"):
        if shutil.which(name):
            return name
    sys.exit("insn_pairs: llvm-objdump not found")


def describe(op):
    cls = op & 7
    if cls in (4, 7):
        return f"{ALU.get(op & 0xf0, '?')}{'64' if cls == 7 else '32'} {'reg' if op & 8 else 'imm'}"
    if cls in (5, 6):
        name = JMP.get(op & 0xf0, "?")
        if name in ("ja", "call", "exit"):
            return name
        return f"{name}{'32' if cls == 6 else ''} {'reg' if op & 8 else 'imm'}"
    return f"{CLASSES[cls]}{SIZES.get(op & 0x18, '')}"


def functions(path, tool):
    """Yields lists of (opcode, dst, src, off) per function of `path`."""
    out = subprocess.run([tool, "-d", path], capture_output=True, text=True).stdout
    current = []
    for line in out.splitlines():
        if re.match(r"^[0-9a-f]+ <.*>:$", line):
            if current:
                yield current
            current = []
            continue
        m = re.match(r"^\s*\d+:\s+((?:[0-9a-f]{2}\s){8})", line)
        if not m:
            continue
        b = [int(x, 16) for x in m.group(1).split()]
        off = b[2] | (b[3] << 8)
        if off >= 0x8000:
            off -= 0x10000
        current.append((b[0], b[1] & 0xf, b[1] >> 4, off))
    if current:
        yield current


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    top = 30
    if "--top" in sys.argv:
        top = int(sys.argv[sys.argv.index("--top") + 1])
        args = [a for a in args if a != str(top)]
    paths = []
    for a in args or ["../shared/corpus"]:
        if os.path.isdir(a):
            for root, _, files in os.walk(a):
                paths += [os.path.join(root, f) for f in files if f.endswith(".o")]
        else:
            paths.append(a)
    tool = objdump()
    pairs = collections.Counter()
    shapes = collections.Counter()
    total = 0
    for path in sorted(paths):
        for insns in functions(path, tool):
            targets = set()
            for i, (op, _, _, off) in enumerate(insns):
                if op & 7 in (5, 6) and JMP.get(op & 0xf0) not in ("call", "exit"):
                    targets.add(i + 1 + off)
            for i in range(len(insns) - 1):
                if i + 1 in targets or insns[i][0] == 0x18:  # jump target, or the lddw second slot
                    continue
                (a, ad, as_, _), (b, bd, bs, _) = insns[i], insns[i + 1]
                total += 1
                pairs[(describe(a), describe(b))] += 1
                ca, cb = a & 7, b & 7
                if a in (0xbf, 0xbc) and cb in (4, 7) and bd == ad and (b & 0xf0) != 0xb0:
                    shapes["rX = rY; rX op= (K|rZ)  (" + describe(b) + ")"] += 1
                if ca == 1 and cb in (4, 7) and bd == ad and (b & 0xf0) != 0xb0:
                    shapes["rX = *(size *)(rY + off); rX op= ...  (" + describe(b) + ")"] += 1
                if ca in (4, 7) and cb in (5, 6) and bd == ad and JMP.get(b & 0xf0) not in ("ja", "call", "exit"):
                    shapes["rX op= ...; if rX cmp ... goto  (" + describe(a) + ", " + describe(b) + ")"] += 1
    print(f"{len(paths)} objects, {total} straight-line pairs\n")
    print(f"top {top} opcode pairs:")
    for (a, b), n in pairs.most_common(top):
        print(f"  {n:7d}  {100.0 * n / total:5.2f}%  {a} -> {b}")
    print(f"\ntop {top} fusible shapes (same register):")
    for s, n in shapes.most_common(top):
        print(f"  {n:7d}  {100.0 * n / total:5.2f}%  {s}")


if __name__ == "__main__":
    main()
