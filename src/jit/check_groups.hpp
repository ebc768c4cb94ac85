// Checked mode: accesses that share one access check. Both backends check every load and store
// against the current frame and the RunContext regions; accesses through one base register in
// straight-line code (a header's fields read one after another, the two bytes of a big-endian
// pair, a map value's counters updated in place) can pay that check once, for the span of bytes
// they cover, at the first of them.
#pragma once

#include <cstdint>
#include <vector>

#include "bpfvm/isa.hpp"
#include "bpfvm/result.hpp"
#include "marks.hpp"

namespace bpfvm::jit {

/// Loads and stores through one base register (the members), checked once at the first (the
/// lead) for [base + lo, base + lo + span), for writing when a member is a store. The code from
/// the lead to the last member is straight-line (no jump leaves or enters it, no call or exit is
/// in it) and leaves the base unchanged (the last member may load into it), so every member's
/// address is known at the lead. Backends emit that code twice: with the members unchecked, run
/// when the span passes, and out of line with every access checked on its own, run when it does
/// not; so a trap names the same access, and leaves memory as, checking each access would.
/// Accesses through other registers in between are not members and keep their own checks.
struct CheckGroup {
    uint32_t lead = 0;  // instruction index of the first member
    uint32_t last = 0;  // instruction index of the last member
    int32_t lo = 0;     // lowest offset of a member
    uint8_t span = 0;   // bytes from lo to the end of the furthest member: at most kMaxCheckSpan
    bool write = false;  // a member is a store
};

/// A constant r10-relative access inside the current frame: r10 never changes inside a function,
/// so the access is safe by construction and checked mode needs no code for it.
inline bool static_frame_access(uint8_t base, int16_t off, unsigned bytes) {
    return base == kFrameReg && off >= -static_cast<int32_t>(kStackSize) && off + static_cast<int32_t>(bytes) <= 0;
}

/// The largest span a group may cover: the backends' inline region test admits an access of at
/// most 8 bytes (JitRuntime::read_starts).
inline constexpr int32_t kMaxCheckSpan = 8;
/// How far after its lead a group's last member may be: each access scans at most this far, so
/// the scan is linear in the program's size whatever the program (accesses whose span is too wide
/// do not end a scan).
inline constexpr uint32_t kMaxCheckWindow = 32;

/// Finds the groups of a validated program for checked mode (ascending by lead) and marks them in
/// `marks`: kMarkCheckLead on each lead, kMarkCheckCovered on its other members. Accesses that
/// need no check (static_frame_access) are not members.
std::vector<CheckGroup> find_check_groups(const Program& program, ProgramMarks& marks);

/// A backend's walk over the groups in emission order: how each plain load or store is checked.
class CheckGroupCursor {
public:
    enum class Role : uint8_t {
        kAlone,    // its own check
        kLead,     // checks its group's span
        kCovered,  // no check: its group's lead checked it
    };
    /// Finds the groups of `program` (find_check_groups).
    void start(const Program& program, ProgramMarks& marks) { groups_ = find_check_groups(program, marks); }
    const std::vector<CheckGroup>& groups() const { return groups_; }
    /// The last member of the group whose lead came last: its code must be placed before the next.
    uint32_t last() const { return last_; }
    /// The role of the access at instruction `index` (marks: its ProgramMarks bits); for a lead, its
    /// group's index in groups(). An access is covered only once its lead has come, so a lead that
    /// was not emitted leaves its members checked on their own.
    Role role(uint32_t index, uint8_t marks, uint32_t* group) {
        if (each_access) return Role::kAlone;
        if ((marks & kMarkCheckCovered) && index <= last_) return Role::kCovered;
        if (!(marks & kMarkCheckLead)) return Role::kAlone;
        while (groups_[next_].lead < index) ++next_;
        BPFVM_ASSERT(groups_[next_].lead == index);
        last_ = groups_[next_].last;
        *group = next_;
        return Role::kLead;
    }
    /// Set while a group's second copy is emitted: every access is then checked on its own.
    bool each_access = false;

private:
    std::vector<CheckGroup> groups_;
    uint32_t next_ = 0;
    uint32_t last_ = 0;
};

}  // namespace bpfvm::jit
