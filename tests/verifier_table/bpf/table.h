/* The verifier table's annotation header: every case is a __naked BPF function written in inline
 * assembly (so clang cannot reorder or "fix" what the case is about), preceded by a CASE record
 * that says what the verifier must answer in each mode.
 *
 *   CASE(name, PRIV, UNPRIV)            PRIV, UNPRIV: ACCEPT, REJECT("fragment") or NONE (not checked)
 *   CASE_FLAGS(name, "flags", PRIV, UNPRIV)   flags: strict_alignment, any_alignment (comma-separated)
 *
 * A record is a NUL-terminated string "name|flags|priv|unpriv" in the non-allocated ELF section
 * .bpfvm.cases, which loaders (ours, libbpf's, the kernel bridge's) ignore; the harness reads it
 * with libelf. Fragments must not contain '|', '"' or '\'. The program type is the function's
 * section (SEC("socket"), SEC("xdp"), ...), as libbpf names it.
 *
 * Only the kernel's uapi headers are used. No case may contain a `neg` instruction: the kernel
 * oracle loads the privileged cases into the running kernel, whose verifier crashes on some of them
 * (DEVELOPERS.md). The harness refuses any program that has one. */
#ifndef BPFVM_VERIFIER_TABLE_H
#define BPFVM_VERIFIER_TABLE_H

#include <linux/bpf.h>
#include <linux/types.h>
#include <stddef.h>

#define SEC(name) __attribute__((section(name), used))
#define __naked __attribute__((naked))
#define __noinline __attribute__((noinline))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]

#define ACCEPT "accept"
#define REJECT(fragment) "reject:" fragment
#define NONE "none"

#define CASE_FLAGS(name, flags, priv, unpriv)                                                     \
    asm(".pushsection .bpfvm.cases,\"\",@progbits\n"                                              \
        ".asciz \"" #name "|" flags "|" priv "|" unpriv "\"\n"                                    \
        ".popsection");
#define CASE(name, priv, unpriv) CASE_FLAGS(name, "", priv, unpriv)

/* Inline-asm operands, the way the kernel's own selftests pass them:
 *   call %[map_lookup_elem]        with HELPER(map_lookup_elem)
 *   r1 = %[map_array] ll           with MAP(map_array)
 *   r2 = *(u32 *)(r1 + %[len])     with CTX(len, struct __sk_buff, len)
 *   r1 = %[k]                      with IMM(k, 42)                                             */
#define HELPER(name) [name] "i"(BPF_FUNC_##name)
#define MAP(name) [name] "i"(&name)
#define CTX(name, type, field) [name] "i"(offsetof(type, field))
#define IMM(name, value) [name] "i"(value)
#define CLOBBERS "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "memory"

/* Instructions clang 14's assembler does not know (cpu v4: sign-extending moves and loads,
 * may_goto; LD_IND): raw 8-byte slots, fields as RFC 9669 section 3 lays them out (little-endian).
 *   ".8byte %[name]"               with RAW(name, opcode, dst, src, off, imm)                  */
#define RAW_INSN(op, dst, src, off, imm)                                                          \
    ((unsigned long long)(op) | ((unsigned long long)(dst) << 8) |                                \
     ((unsigned long long)(src) << 12) | ((unsigned long long)(unsigned short)(off) << 16) |      \
     ((unsigned long long)(unsigned int)(imm) << 32))
#define RAW(name, op, dst, src, off, imm) [name] "i"(RAW_INSN(op, dst, src, off, imm))
/* clang 14's assembler knows no JSET or MOD either. JSET_EXIT(name): "if (the raw JSET `name`
 * matches) goto 9f (the exit)", for a raw JSET encoded with off = +1. */
#define JSET_EXIT(name) ".8byte %[" #name "]; goto 2f; goto 9f; 2:"

/* Recurring instruction sequences (pieces of the asm string):
 *   KEY0          a zero 8-byte key at fp-8, r2 pointing to it
 *   LOOKUP(m)     r0 = bpf_map_lookup_elem(&m, &key0) (needs MAP(m), HELPER(map_lookup_elem))
 *   VALUE_R6(m)   LOOKUP(m), exit with 0 when null (label 9), else r6 = the value
 *   RANDOM_R7     r7 = an unknown 64-bit number (needs HELPER(get_prandom_u32))
 *   PROBE_R7      load one byte at r6 + r7: accepted iff r7 is proven within [0, 47] (a 48-byte
 *                 value), then exit with 0; label 9 is that exit.                               */
#define KEY0 "r1 = 0; *(u64 *)(r10 - 8) = r1; r2 = r10; r2 += -8;"
#define LOOKUP(m) KEY0 "r1 = %[" #m "] ll; call %[map_lookup_elem];"
#define VALUE_R6(m) LOOKUP(m) "if r0 == 0 goto 9f; r6 = r0;"
#define RANDOM_R7 "call %[get_prandom_u32]; r7 = r0;"
#define PROBE_R7 "r6 += r7; r0 = *(u8 *)(r6 + 0); 9: r0 = 0; exit;"

/* Maps every file may use (only the ones a file references end up in its object). */
struct val48 {
    long long x[6];
};

#define DEFINE_HASH_48(name)                                                                      \
    struct {                                                                                      \
        __uint(type, BPF_MAP_TYPE_HASH);                                                          \
        __uint(max_entries, 16);                                                                  \
        __type(key, long long);                                                                   \
        __type(value, struct val48);                                                              \
    } name SEC(".maps")

#define DEFINE_ARRAY_48(name)                                                                     \
    struct {                                                                                      \
        __uint(type, BPF_MAP_TYPE_ARRAY);                                                         \
        __uint(max_entries, 4);                                                                   \
        __type(key, int);                                                                         \
        __type(value, struct val48);                                                              \
    } name SEC(".maps")

#endif
