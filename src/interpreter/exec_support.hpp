// What the interpreter loop (exec_loop.hpp) uses besides its handlers: which dispatch this
// translation unit compiles, memory and register-field access, byte order, the checked-mode access
// test and the atomics. Included by exec_loop.hpp only, once per dispatch strategy.
#pragma once

#include <bit>
#include <cstddef>
#include <cstring>

#include "bpfvm/semantics.hpp"
#include "internal.hpp"

#if defined(__GNUC__) && !defined(BPFVM_INTERP_FORCE_SWITCH)
#define BPFVM_INTERP_THREADED 1
#else
#define BPFVM_INTERP_THREADED 0
#endif

// The label table is only valid for the one copy of the function that owns the labels, so the
// loop must never be inlined into, or cloned for, another caller.
#if defined(__clang__)
#define BPFVM_INTERP_NOINLINE __attribute__((noinline))
#elif defined(__GNUC__)
#define BPFVM_INTERP_NOINLINE __attribute__((noinline, noclone))
#else
#define BPFVM_INTERP_NOINLINE
#endif

namespace bpfvm::interp {
namespace {

template <class T>
inline T load_mem(uint64_t addr) {
    T v;
    std::memcpy(&v, reinterpret_cast<const void*>(addr), sizeof v);
    return v;
}

template <class T>
inline void store_mem(uint64_t addr, T v) {
    std::memcpy(reinterpret_cast<void*>(addr), &v, sizeof v);
}

// ---- register fields ----------------------------------------------------------------------------
// A slot's op, dst, src, pad and off fill its last eight bytes, one aligned word. A handler reads
// the fields it uses either with one byte load each or with one load of that word, taking each
// field out with a shift. The word saves loads but costs one to three ALU operations per field,
// between the load and the register index they feed, so each handler family of the threaded loop
// uses what measured faster (bench_engines, unchecked; medians over four code layouts x 8
// processes, since a 16-byte shift of the code alone moves crc32 by 25%). The word: ALU register
// forms (checksum 5%), the BPFVM_SUPER pairs (sieve 7%, checksum 4%), the other fused compares
// and byte loads (parse 7%), the Be16 load and the latches' fields (checksum). Byte loads:
// single-field handlers (a byte load is one instruction, the word two), register-form jumps (9%
// on a loop of them), the chains' steps (arith 7%), loads and stores (sieve 20%), the
// byte-load-then-ALU pairs (adler32 2.5%) and the latches' imm bytes (checksum 3%).
static_assert(offsetof(Slot, op) % 8 == 0 && offsetof(Slot, dst) == offsetof(Slot, op) + 1 &&
                  offsetof(Slot, src) == offsetof(Slot, op) + 2 && offsetof(Slot, pad) == offsetof(Slot, op) + 3 &&
                  offsetof(Slot, off) == offsetof(Slot, op) + 4 && sizeof(Slot::off) == 4,
              "Slot's op, dst, src, pad and off must form one aligned 8-byte word");

/// The register fields of one slot. With kWord they come from one 8-byte load (read_fields), else
/// each accessor is the field's own byte load. Exact either way.
template <bool kWord>
struct SlotFields {
    const Slot* slot;
    uint64_t word;  // bytes op..off of `slot` in host order (kWord only)

    uint8_t dst() const { return kWord ? static_cast<uint8_t>(field(offsetof(Slot, dst), 1)) : slot->dst; }
    uint8_t src() const { return kWord ? static_cast<uint8_t>(field(offsetof(Slot, src), 1)) : slot->src; }
    uint8_t pad() const { return kWord ? static_cast<uint8_t>(field(offsetof(Slot, pad), 1)) : slot->pad; }
    int32_t off() const {
        return kWord ? static_cast<int32_t>(static_cast<uint32_t>(field(offsetof(Slot, off), 4))) : slot->off;
    }

private:
    // The field of `size` bytes at `offset` in the Slot, in the word's low bits (upper bits not cleared).
    uint64_t field(size_t offset, size_t size) const {
        const size_t first = offset - offsetof(Slot, op);
        return word >> (std::endian::native == std::endian::little ? 8 * first : 64 - 8 * (first + size));
    }
};

/// The fields of the slot at `ip`, read as kWord says: the word is loaded here, once.
template <bool kWord>
inline SlotFields<kWord> read_fields(const Slot* ip) {
    uint64_t word = 0;
    if constexpr (kWord) {
        std::memcpy(&word, reinterpret_cast<const unsigned char*>(ip) + offsetof(Slot, op), sizeof word);
#if defined(__GNUC__)
        // Hides where the word came from, so that it stays one load: the compiler may otherwise
        // split it into byte loads again (g++ 12 and clang 14 happen not to, on this code).
        asm("" : "+r"(word));
#endif
    }
    return {ip, word};
}

// The word is for the threaded loop only: the switch dispatch measured 3-5% slower with it on
// five of the six programs (bench_engines, interp_switch_dispatch).
inline constexpr bool kWordFields = BPFVM_INTERP_THREADED;

/// Whether `op` reads two registers: its ALU handler then takes dst and src from one word load.
constexpr bool reads_two_registers(Op op) {
    const Form form = kOpInfoTable[static_cast<size_t>(op)].form;
    return form == Form::AluReg || form == Form::Movsx;
}

inline uint64_t lo32(uint64_t v) { return v & 0xffffffffull; }
inline uint32_t u32(uint64_t v) { return static_cast<uint32_t>(v); }
inline int32_t i32(uint64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }
inline int64_t i64(uint64_t v) { return static_cast<int64_t>(v); }

// le/be convert between host and the named byte order; both truncate to the width.
inline uint64_t to_little(uint64_t v, unsigned width) {
    if constexpr (std::endian::native == std::endian::little) return sem::to_le(v, width);
    return sem::byte_swap(v, width);
}
inline uint64_t to_big(uint64_t v, unsigned width) {
    if constexpr (std::endian::native == std::endian::big) return sem::to_le(v, width);
    return sem::byte_swap(v, width);
}

/// Big-endian packet load for ld_abs/ld_ind.
template <class T>
inline uint64_t load_be(const uint8_t* p) {
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v = (v << 8) | p[i];
    return v;
}

// Checked mode: the caller frames and the region list are consulted only when the access misses
// the current frame.
[[gnu::noinline]] bool region_ok(const RunContext& ctx, uint64_t frame_top, uint64_t addr, uint32_t size, bool write) {
    // The callers' frames: like the kernel, a subprogram or callback may use a pointer into the
    // stack of a function below it on the call chain (examples/loops_subprog passes a stack buffer
    // to a subprogram). The live stack is [r10 - 512, stack_end): frames are contiguous and
    // callbacks run below their caller. The JITs apply the same rule (bpfvm_jit_check_access).
    const uint64_t lo = frame_top - kStackSize;
    if (addr >= lo && addr + size <= ctx.stack_end && addr + size > addr) return true;
    return ctx.region_allows(addr, size, write);
}

inline bool access_ok(const RunContext& ctx, uint64_t frame_top, uint64_t addr, uint32_t size, bool write) {
    // One unsigned compare covers both ends of [r10 - 512, r10): below the frame, addr - lo wraps
    // to a huge value.
    if (addr - (frame_top - kStackSize) <= kStackSize - size) return true;
    return region_ok(ctx, frame_top, addr, size, write);
}

enum class AtomicOp { Add, Or, And, Xor, Xchg };

/// Read-modify-write at `addr`; returns the old value. Aligned accesses use __atomic builtins so
/// that concurrent runs sharing map memory see atomic updates.
template <AtomicOp kOp, class T>
inline T atomic_fetch(uint64_t addr, T v) {
    if (addr % sizeof(T) == 0) {
        T* p = reinterpret_cast<T*>(addr);
        switch (kOp) {
            case AtomicOp::Add: return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
            case AtomicOp::Or: return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
            case AtomicOp::And: return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST);
            case AtomicOp::Xor: return __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST);
            case AtomicOp::Xchg: return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
        }
    }
    // Misaligned: the kernel verifier rejects these and some hosts (arm64) fault on misaligned
    // atomics, so run a plain read-modify-write: exact for one thread, and never a crash.
    const T old = load_mem<T>(addr);
    T now = v;
    switch (kOp) {
        case AtomicOp::Add: now = static_cast<T>(old + v); break;
        case AtomicOp::Or: now = old | v; break;
        case AtomicOp::And: now = old & v; break;
        case AtomicOp::Xor: now = old ^ v; break;
        case AtomicOp::Xchg: break;
    }
    store_mem<T>(addr, now);
    return old;
}

/// Load-acquire (BPF_LOAD_ACQ): aligned loads use the acquire builtin; a misaligned one (the verifier
/// rejects it, some hosts fault on it) is a plain load followed by an acquire fence.
template <class T>
inline T load_acquire(uint64_t addr) {
    if (addr % sizeof(T) == 0) return __atomic_load_n(reinterpret_cast<const T*>(addr), __ATOMIC_ACQUIRE);
    const T v = load_mem<T>(addr);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return v;
}

/// Store-release (BPF_STORE_REL), with the same fallback for misaligned addresses.
template <class T>
inline void store_release(uint64_t addr, T v) {
    if (addr % sizeof(T) == 0) {
        __atomic_store_n(reinterpret_cast<T*>(addr), v, __ATOMIC_RELEASE);
        return;
    }
    __atomic_thread_fence(__ATOMIC_RELEASE);
    store_mem<T>(addr, v);
}

/// Compare-and-exchange: stores `desired` when memory equals `expected`; returns the old value.
template <class T>
inline T atomic_cmpxchg(uint64_t addr, T expected, T desired) {
    if (addr % sizeof(T) == 0) {
        __atomic_compare_exchange_n(reinterpret_cast<T*>(addr), &expected, desired, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
        return expected;  // on failure the builtin stored the current value here
    }
    const T old = load_mem<T>(addr);
    if (old == expected) store_mem<T>(addr, desired);
    return old;
}

}  // namespace
}  // namespace bpfvm::interp
