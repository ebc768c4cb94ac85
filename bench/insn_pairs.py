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
  ALU then a conditional jump on the result, compare-then-branch forms, and any two ALU
  instructions on one register (what the interpreter's register chains keep in a host register);
- longer idioms (every instruction after the first is not a jump target): clang's big-endian
  byte pair (bpfvm::match_be16_load) alone, followed by an add into its result (the checksum
  accumulate), and preceded by the copy-add that indexes it; a counter's add, a copy, then a
  compare of a register with an immediate (a rotated loop latch), and that latch after an add of
  a register into the copied one (a loop-carried sum); a copy before a 64-bit copy-then-ALU pair
  on another register (the interpreter's copy-prefixed pairs).
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
    """Yields lists of (opcode, dst, src, off, imm) per function of `path`."""
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
        imm = b[4] | (b[5] << 8) | (b[6] << 16) | (b[7] << 24)
        if imm >= 0x80000000:
            imm -= 0x100000000
        current.append((b[0], b[1] & 0xf, b[1] >> 4, off, imm))
    if current:
        yield current


LDX8, LSH64, LSH32, OR64, OR32 = 0x71, 0x67, 0x64, 0x4f, 0x4c
ADD64_REG, ADD32_REG, ADD64_IMM, MOV64_REG = 0x0f, 0x0c, 0x07, 0xbf
COPY_PAIR_OPS = (0x07, 0x0f, 0x77, 0x67, 0x57)  # the 64-bit add (imm, reg), rsh, lsh and and of the copy pairs


def byte_pair(insns, i):
    """Two byte loads through one base, a shift by 8 and an or at i: (base, dst, endian) or None.
    "be" is bpfvm::match_be16_load (src/isa/idioms.cpp, same conditions: the shifted byte is the
    lower address); "le" is the same four instructions with the shifted byte one address higher
    (a little-endian u16 read byte by byte), counted for comparison only."""
    if i + 3 >= len(insns):
        return None
    p = insns[i:i + 4]
    base = p[0][2]
    if p[0][0] != LDX8 or p[1][0] != LDX8 or p[1][2] != base or p[0][1] == base or p[0][1] == p[1][1]:
        return None
    if p[2][0] not in (LSH64, LSH32) or p[2][4] != 8 or p[3][0] not in (OR64, OR32) or p[3][1] != p[2][1]:
        return None
    dst, tmp = p[2][1], p[3][2]
    if dst == p[0][1] and tmp == p[1][1]:
        hi = 0
    elif dst == p[1][1] and tmp == p[0][1]:
        hi = 1
    else:
        return None
    if p[1 - hi][3] == p[hi][3] + 1:
        return base, dst, "be"
    if p[1 - hi][3] == p[hi][3] - 1:
        return base, dst, "le"
    return None


def idioms(insns, targets, shapes):
    """Counts the longer idioms of one function into `shapes`."""
    def clear(i, n):  # nothing enters instructions i+1 .. i+n-1
        return i + n <= len(insns) and not any(k in targets for k in range(i + 1, i + n))

    for i in range(len(insns)):
        pair = byte_pair(insns, i)
        if pair and clear(i, 4):
            base, dst, endian = pair
            shapes[f"{endian}16 byte pair: rX = u8[rA+o]; rY = u8[rA+o+1]; rD <<= 8; rD |= rT"] += 1
            if clear(i, 5) and insns[i + 4][0] in (ADD64_REG, ADD32_REG) and insns[i + 4][1] == dst:
                shapes[f"{endian}16 byte pair; rD += rS  (checksum accumulate, 32- or 64-bit add)"] += 1
            if clear(i, 5) and insns[i + 4][0] in (ADD64_REG, ADD32_REG) and insns[i + 4][2] == dst \
                    and insns[i + 4][1] != dst:
                shapes[f"{endian}16 byte pair; rS += rD  (the sum is the add's destination)"] += 1
            if i >= 2 and clear(i - 2, 6) and insns[i - 2][0] == MOV64_REG and insns[i - 1][0] == ADD64_REG \
                    and insns[i - 2][1] == base and insns[i - 1][1] == base and insns[i][1] != base:
                shapes[f"rA = rB; rA += rI; {endian}16 byte pair through rA  (indexed p[i])"] += 1
        a, b, c = insns[i:i + 3] if i + 3 <= len(insns) else (None, None, None)
        if a and clear(i, 3) and a[0] == ADD64_IMM and b[0] == MOV64_REG and c[0] & 7 in (5, 6) \
                and not c[0] & 8 and JMP.get(c[0] & 0xf0) not in ("ja", "call", "exit"):
            shapes["rI += K; rX = rY; if rJ cmp imm goto  (" + describe(c[0]) + ")"] += 1
            s = insns[i - 1] if i > 0 else None
            if s and i not in targets and s[0] == ADD64_REG and s[1] == b[2]:
                which = "I = Y" if a[1] == s[1] else "I != Y"
                shapes[f"rY += rS; rI += K; rX = rY; if rJ cmp imm goto  ({which}; " + describe(c[0]) + ")"] += 1
        if a and clear(i, 3) and a[0] == MOV64_REG and b[0] == MOV64_REG and b[1] != a[1] and c[1] == b[1] \
                and c[0] in COPY_PAIR_OPS:
            shapes["rC = rD; rX = rY; rX op= K|rZ  (a copy, then a copy-then-ALU pair on another register)"] += 1
        if a and clear(i, 2) and a[0] == MOV64_REG and insns[i + 1][0] == ADD64_REG and a[1] == insns[i + 1][1] \
                and insns[i + 2][0] in (LDX8, 0x69, 0x61, 0x79) and insns[i + 2][2] == a[1] and clear(i, 3):
            shapes["rA = rB; rA += rI; any load through rA  (indexed p[i], for comparison)"] += 1


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
    longer = collections.Counter()
    total = 0
    for path in sorted(paths):
        for insns in functions(path, tool):
            targets = set()
            for i, (op, _, _, off, _) in enumerate(insns):
                if op & 7 in (5, 6) and JMP.get(op & 0xf0) not in ("call", "exit"):
                    targets.add(i + 1 + off)
            for i in range(len(insns) - 1):
                if i + 1 in targets or insns[i][0] == 0x18:  # jump target, or the lddw second slot
                    continue
                (a, ad, as_, _, _), (b, bd, bs, _, _) = insns[i], insns[i + 1]
                total += 1
                pairs[(describe(a), describe(b))] += 1
                ca, cb = a & 7, b & 7
                if a in (0xbf, 0xbc) and cb in (4, 7) and bd == ad and (b & 0xf0) != 0xb0:
                    shapes["rX = rY; rX op= (K|rZ)  (" + describe(b) + ")"] += 1
                if ca == 1 and cb in (4, 7) and bd == ad and (b & 0xf0) != 0xb0:
                    shapes["rX = *(size *)(rY + off); rX op= ...  (" + describe(b) + ")"] += 1
                if ca in (4, 7) and cb in (4, 7) and bd == ad and (a & 0xf0) != 0xb0 and (b & 0xf0) != 0xb0:
                    shapes["rX op= ...; rX op= ...  (two ALU on one register, no copy: a register chain)"] += 1
                if ca in (4, 7) and cb in (5, 6) and bd == ad and JMP.get(b & 0xf0) not in ("ja", "call", "exit"):
                    shapes["rX op= ...; if rX cmp ... goto  (" + describe(a) + ", " + describe(b) + ")"] += 1
            idioms(insns, targets, longer)
    print(f"{len(paths)} objects, {total} straight-line pairs\n")
    print(f"top {top} opcode pairs:")
    for (a, b), n in pairs.most_common(top):
        print(f"  {n:7d}  {100.0 * n / total:5.2f}%  {a} -> {b}")
    print(f"\ntop {top} fusible shapes (same register):")
    for s, n in shapes.most_common(top):
        print(f"  {n:7d}  {100.0 * n / total:5.2f}%  {s}")
    print("\nlonger idioms (static count; % of straight-line pairs):")
    for s, n in sorted(longer.items(), key=lambda kv: -kv[1]):
        print(f"  {n:7d}  {100.0 * n / total:5.2f}%  {s}")


if __name__ == "__main__":
    main()
