// Program-type sets as the fact tables spell them (helpers.def, kfuncs.def): one constant per
// program type (`Xdp`, `SchedCls`, ...) plus the groups the kernel's registrations use.
#pragma once

#include "bpfvm/helper_protos.hpp"

namespace bpfvm::prog_masks {

#define BPFVM_PROG_TYPE(id, Enumerator, name) inline constexpr ProgramTypeMask Enumerator = ProgramTypeMask{1} << (id);
#include "bpfvm/prog_types.def"
#undef BPFVM_PROG_TYPE
inline constexpr ProgramTypeMask NoProgs = 0;
inline constexpr ProgramTypeMask All = ((ProgramTypeMask{1} << kNumProgramTypes) - 1) & ~Unspec;
constexpr ProgramTypeMask AllBut(ProgramTypeMask m) { return All & ~m; }
inline constexpr ProgramTypeMask Trace =
    Kprobe | Tracepoint | PerfEvent | RawTracepoint | RawTracepointWritable | Tracing | Lsm | Syscall;
inline constexpr ProgramTypeMask Tc = SchedCls | SchedAct;
inline constexpr ProgramTypeMask Lwt = LwtIn | LwtOut | LwtXmit | LwtSeg6local;

}  // namespace bpfvm::prog_masks
