// Checked mode: loads that share one access check. Both backends check every load and store
// against the current frame and the RunContext regions; consecutive loads through one base
// register (a header's fields read one after another, the two bytes of a big-endian pair) can
// pay that check once, for the span of bytes they cover, at the first of them.
#pragma once

#include <cstdint>
#include <vector>

#include "bpfvm/isa.hpp"
#include "marks.hpp"

namespace bpfvm::jit {

/// Loads of one base register, checked once at the first (the lead) for [base + lo, base + lo +
/// span). Everything from the lead to the last member is straight-line code that cannot trap or
/// write memory a run can observe afterwards, and leaves the base unchanged (the last member may
/// load into it). So when the span is allowed every member is; when it is not, the backend's
/// slow path checks the members one by one in program order and traps at the first that fails,
/// with that member's pc and address, exactly where checking each load on its own would have
/// trapped: the instructions skipped in between leave only registers, which a trap discards.
struct CheckGroup {
    uint32_t lead = 0;          // instruction index of the first load
    uint32_t first_member = 0;  // its loads in CheckGroups::members, lead first, in program order
    uint32_t member_count = 0;
    int32_t lo = 0;             // lowest offset of a member
    uint8_t span = 0;           // bytes from lo to the end of the furthest member: at most 8
};

struct CheckGroups {
    std::vector<CheckGroup> groups;  // ascending by lead
    std::vector<uint32_t> members;   // instruction indices
};

/// The largest span a group may cover: the backends' inline region test admits an access of at
/// most 8 bytes (JitRuntime::read_starts).
inline constexpr int32_t kMaxCheckSpan = 8;

/// Finds the groups of a validated program for checked mode and marks them in `marks`:
/// kMarkCheckLead on each lead, kMarkCheckCovered on the other members (they need no check).
/// `frame_access(base, off, bytes)` says which accesses need no check at all (the backend's
/// constant r10-relative accesses inside the frame).
CheckGroups find_check_groups(const Program& program, ProgramMarks& marks,
                              bool (*frame_access)(uint8_t base, int16_t off, unsigned bytes));

}  // namespace bpfvm::jit
