// Verifier state along one path: call frames (registers and stack), acquired references, locks.
// The kernel's struct bpf_func_state and struct bpf_verifier_state.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bpfvm/isa.hpp"
#include "reg.hpp"

namespace bpfvm::verifier {

inline constexpr int kMaxFrames = 8;            // MAX_CALL_FRAMES
inline constexpr int kMaxStack = 512;           // MAX_BPF_STACK
inline constexpr uint32_t kNoCallsite = ~0u;

/// One 8-byte stack slot: what each byte holds, and the register spilled there (when some byte is
/// SlotByte::Spill; only a whole 8-byte spill keeps a pointer, smaller spills keep scalars).
/// bytes[i] is the byte at the slot's lowest address plus i.
/// An open-coded iterator living in stack slots (bpf_iter_num, ...), kept in its first slot.
struct IterInfo {
    uint32_t kind = 0;   // the iterator family (hash of "num", "bits", ...)
    uint8_t state = 0;   // kIterActive or kIterDrained
    uint32_t depth = 0;  // iterations explored (not compared when pruning)
    uint32_t ref = 0;    // the reference the constructor acquired
};
inline constexpr uint8_t kIterActive = 1;
inline constexpr uint8_t kIterDrained = 2;

struct StackSlot {
    SlotByte bytes[8] = {SlotByte::Invalid, SlotByte::Invalid, SlotByte::Invalid, SlotByte::Invalid,
                         SlotByte::Invalid, SlotByte::Invalid, SlotByte::Invalid, SlotByte::Invalid};
    Reg spilled{};
    IterInfo iter{};

    bool is_spill() const { return bytes[0] == SlotByte::Spill || bytes[7] == SlotByte::Spill; }
    /// A full 8-byte spill (every byte Spill).
    bool is_full_spill() const;
    bool all(SlotByte b) const;
    bool any(SlotByte b) const;
    bool operator==(const StackSlot& o) const;
};

/// The kind of a tracked reference.
enum class RefKind : uint8_t {
    Ptr,   // an acquired object (socket, ringbuf record, kptr, dynptr): released by a helper
    Lock,  // bpf_spin_lock held
    Irq,   // saved IRQ flags
};

/// An acquired reference: released on every path, or the program is rejected at exit.
struct RefState {
    uint32_t id = 0;
    uint32_t insn = 0;  // the acquiring instruction (index into Program::insns)
    RefKind kind = RefKind::Ptr;
    uint32_t lock_map = 0;   // Lock: map index and the id of the map value register it was taken
    uint32_t lock_id = 0;    // through (identify the lock)
    bool operator==(const RefState&) const = default;
};

/// One call frame.
struct Frame {
    Reg regs[kNumRegs];
    std::vector<StackSlot> stack;  // stack[k] covers [fp - 8(k+1), fp - 8k)
    uint32_t callsite = kNoCallsite;  // index of the calling instruction; kNoCallsite for the entry
    uint32_t subprog = 0;
    uint32_t frameno = 0;
    bool in_callback = false;        // a callback of a helper (bpf_loop, for_each_map_elem, ...)
    bool in_async_callback = false;  // a timer/wq callback: runs later, on its own
    int64_t callback_ret_min = 0;    // the range a callback must return
    int64_t callback_ret_max = 0;
    uint32_t callback_depth = 0;     // iterations of a loop callback explored so far

    /// Bytes of stack this frame has touched (rounded to slots).
    uint32_t allocated() const { return static_cast<uint32_t>(stack.size()) * 8; }
    /// Grows the stack to cover `bytes` below the frame pointer.
    void grow(uint32_t bytes);
    /// The slot holding fp+off (off < 0), or nullptr when not allocated.
    StackSlot* slot_at(int32_t off);
    const StackSlot* slot_at(int32_t off) const;
};

/// The state of one path.
struct State {
    std::vector<Frame> frames;   // frames[curframe] is the running function
    uint32_t curframe = 0;
    std::vector<RefState> refs;
    uint32_t active_locks = 0;   // spin locks held (refs of kind Lock)
    bool active_rcu = false;     // inside bpf_rcu_read_lock
    uint32_t active_preempt = 0; // bpf_preempt_disable depth
    uint32_t may_goto_depth = 0;
    uint32_t callback_unroll_depth = 0;
    bool speculative = false;

    Frame& cur() { return frames[curframe]; }
    const Frame& cur() const { return frames[curframe]; }
    Reg& reg(int r) { return frames[curframe].regs[r]; }
    const Reg& reg(int r) const { return frames[curframe].regs[r]; }

    /// The reference with `id`, or nullptr.
    const RefState* find_ref(uint32_t id) const;
    /// Calls `fn(Reg&)` for every register and spilled register of every frame.
    template <class Fn>
    void for_each_reg(Fn&& fn) {
        for (Frame& f : frames) {
            for (Reg& r : f.regs) fn(r);
            for (StackSlot& s : f.stack)
                if (s.is_spill()) fn(s.spilled);
        }
    }
};

}  // namespace bpfvm::verifier
