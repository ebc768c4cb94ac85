// The verifier's checks and transfer functions, split by concern across files (the kernel keeps
// them as static functions of one verifier.c). Every check returns false after Env::fail has
// recorded the error; the walk then stops.
#pragma once

#include <cstdint>

#include "env.hpp"

namespace bpfvm::verifier {

// ---- registers (regs.cpp)

/// Reading register `regno`: it must be initialised ("R%d !read_ok").
bool check_reg_read(Env& env, int regno);
/// Writing register `regno`: r10 is read-only ("frame pointer is read only").
bool check_reg_write(Env& env, int regno);
/// The kernel's mark_reg_unknown / mark_reg_not_init on the current frame.
void mark_unknown(Reg& reg);
void mark_not_init(Reg& reg);
/// True when unprivileged loaders may not let this value escape (a pointer, as the kernel's
/// is_pointer_value under !allow_ptr_leaks).
bool is_pointer_value(const Env& env, const Reg& reg);
/// The scalar view of a pointer when privileged code uses it as a number.
void mark_scalar_from_pointer(Reg& reg);
/// Gives `reg` a scalar id before a copy so that both copies stay linked (assign_scalar_id_before_mov).
void assign_scalar_id(Env& env, Reg& reg);

// ---- memory (memory.cpp)

enum class Access : uint8_t { Read, Write };

/// check_mem_access: `size` bytes at reg(regno) + off, loaded into (Read) or stored from (Write)
/// register `value_regno` (-1: an immediate store or an atomic's internal access).
bool check_mem_access(Env& env, int regno, int32_t off, uint32_t size, Access access, int value_regno,
                      bool sign_extend, bool strict_alignment_once = false, bool is_imm_store = false,
                      int64_t imm = 0);
/// LDX / LDSX, STX, ST, atomic instructions.
bool check_load(Env& env, const Insn& insn);
bool check_store(Env& env, const Insn& insn);
bool check_atomic(Env& env, const Insn& insn);
/// A helper's memory argument: `size` bytes (a constant) at reg(regno). `raw` marks memory the
/// helper writes without reading (uninitialised stack allowed); zero_ok allows size 0.
bool check_helper_mem_access(Env& env, int regno, int64_t size, Access access, bool zero_ok, bool raw);
/// The same with a size held in register `size_regno` (its bounds decide).
bool check_mem_size_reg(Env& env, int mem_regno, int size_regno, Access access, bool zero_ok, bool raw);
/// Stack bytes [off, off + size) of frame `frame` get written by a helper (raw memory argument).
void mark_stack_written(Env& env, uint32_t frame, int32_t off, uint32_t size);
/// A load or store of `size` bytes at reg + off in the stack frame `reg` points to (stack.cpp):
/// bounds, then the spill or fill with the value register `value_regno`.
bool check_stack_access(Env& env, int regno, const Reg& reg, int32_t off, uint32_t size, Access access,
                        int value_regno, bool is_imm_store, int64_t imm);
/// check_stack_range_initialized: the `size` bytes a helper reads (or, raw, writes) at reg + off.
bool check_stack_range(Env& env, int regno, const Reg& reg, int32_t off, int64_t size, Access access, bool zero_ok,
                       bool raw);

// ---- ALU (alu.cpp)

bool check_alu(Env& env, const Insn& insn);
/// Copies a register the way the kernel's copy_register_state does (ids kept).
void copy_reg(Reg& dst, const Reg& src);

// ---- jumps (jumps.cpp)

/// A conditional jump: decides which sides are possible, refines registers, pushes the other side.
/// `next` gets the instruction to continue with (the fall-through, or the target when only it is possible).
bool check_cond_jmp(Env& env, const Insn& insn, uint32_t& next);
/// may_goto: both sides, with the loop budget.
bool check_may_goto(Env& env, const Insn& insn, uint32_t& next);

// ---- calls (calls.cpp)

/// A helper call (`call imm`).
bool check_helper_call(Env& env, const Insn& insn, uint32_t& next);
/// A call of a BPF subprogram (`call pc+off`); `next` becomes the callee entry (or the return
/// point for a global function).
bool check_func_call(Env& env, const Insn& insn, uint32_t& next);
/// A kfunc call (`call` with src 2).
bool check_kfunc_call(Env& env, const Insn& insn, uint32_t& next, bool& done);
/// `exit`: returns to the caller (next = return point) or ends the path (`done` set).
bool check_exit(Env& env, bool& done, uint32_t& next);
/// check_resource_leak: `what` (tail_call, BPF_EXIT, LD_ABS) must not run holding a reference, or
/// with `check_lock`, inside a spin-lock, RCU or preempt-disabled region.
bool check_resource_leak(Env& env, bool check_lock, const char* what);
/// Invalidates every packet pointer of every frame (after helpers that change packet data).
void clear_packet_pointers(State& st);
/// Enters subprogram `subprog` in a new frame of `st` (setup_func_entry); `callsite` is the call.
bool enter_frame(Env& env, State& st, uint32_t subprog, uint32_t callsite);
/// The initial state of subprogram `subprog` verified on its own (entry program or global func).
State initial_state(Env& env, uint32_t subprog);
/// add_subprog + check_subprogs + check_cfg, before the walk (structure.cpp).
bool check_structure(Env& env);
/// check_max_stack_depth, after the walk: frames along every call chain fit in 512 bytes.
bool check_stack_depth(Env& env);

// ---- walk (walk.cpp)

/// Pushes a copy of the current path to be walked later from instruction `insn`.
/// Returns nullptr (after failing) when too many branches are pending.
PathState* push_branch(Env& env, uint32_t insn, uint32_t prev_insn);
/// Marks the scalar registers that an outcome depends on as precise, back along the path (the
/// kernel's mark_chain_precision; precision.cpp). `regno` in the current frame.
bool mark_precise(Env& env, int regno);
bool mark_precise_stack(Env& env, uint32_t frame, int slot);
/// propagate_precision: after the current path was pruned against the kept state `old`, the
/// scalars precise there are made precise along the current path too.
void propagate_precision(Env& env, const State& old);
/// widen_imprecise_scalars: a path starting another loop iteration (iterator next, may_goto)
/// forgets the imprecise scalars that differ from the state at the loop's previous visit, so that
/// the loop converges.
void widen_loop_state(Env& env, PathState& path);

// ---- context (ctx.cpp): the program type's context layout

/// What a context field load yields.
struct CtxResult {
    RegType type = RegType::Scalar;
    uint16_t flags = 0;
    bool known_range = false;  // scalar with a known range (e.g. a return value hint)
};
/// Checks a context access of `size` bytes at `off` (read or write); false after failing.
bool check_ctx_access(Env& env, int regno, int32_t off, uint32_t size, Access access, CtxResult& out);
/// Size of the context struct for `type` (0: unknown).
uint32_t ctx_size(ProgramType type);

// ---- sockets (ctx.cpp): struct bpf_sock / bpf_tcp_sock / bpf_xdp_sock reads

bool check_sock_access(Env& env, int regno, int32_t off, uint32_t size, Access access);
/// struct bpf_flow_keys.
bool check_flow_keys_access(Env& env, int32_t off, uint32_t size);

}  // namespace bpfvm::verifier
