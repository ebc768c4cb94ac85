// Backend-neutral JIT driver: placing code in the arena, running generated code (run(), bound
// entries for DirectCall, callbacks), traps, and the machine-code dump.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <utility>

#if BPFVM_HAVE_CAPSTONE
#include <capstone/capstone.h>
#endif

#include "backend.hpp"
#include "code_arena.hpp"
#include "bpfvm/asm.hpp"
#include "bpfvm/detail/jit.hpp"

namespace bpfvm::jit {
namespace {

/// Owns a placed block of code; returns it to the arena when the executable dies.
class ExecMemory {
public:
    explicit ExecMemory(const CodeBlock& block) : block_(block) {}
    ExecMemory(ExecMemory&& o) noexcept : block_(std::exchange(o.block_, CodeBlock{})) {}
    ExecMemory& operator=(ExecMemory&&) = delete;
    ~ExecMemory() { CodeArena::instance().release(block_); }
    uint8_t* base() const { return block_.exec; }

private:
    CodeBlock block_;
};

constexpr size_t kStackBytes = size_t{kStackSize} * kMaxCallDepth;

class JitExecutable;

/// Per-run state reachable from RunContext::engine while a run (or a callback) executes.
struct RunFrame {
    const JitExecutable* self;
    JitRuntime* rt;    // runtime of the innermost running code (the helper's caller)
    uint32_t nesting;  // callbacks currently running (each one counts as a frame)
};

/// The run state a JitExecutable keeps in RunScratch::state: set up by bind, after which a run
/// writes only the arguments, the trap kind, RunContext::stop and (checked mode) the budget and
/// the region caches.
struct JitBound {
    JitRuntime rt;
    RunFrame frame;
    JitEntry entry;
    int64_t budget;
    alignas(16) uint8_t stack[kStackBytes];
};
static_assert(sizeof(JitBound) <= sizeof(RunScratch::state), "RunScratch::state too small for the JIT");
static_assert(alignof(JitBound) <= alignof(RunScratch));

/// One call of bound code: what changes between runs, then the generated entry.
template <bool kChecked, bool kMayGoto>
uint64_t call_bound(void* state, uint64_t r1, uint64_t r2) {
    auto* b = static_cast<JitBound*>(state);
    JitRuntime& rt = b->rt;
    rt.r1 = r1;
    rt.r2 = r2;
    rt.trap.kind = TrapKind::None;
    rt.ctx->stop = 0;
    if constexpr (kChecked) {
        rt.budget = b->budget;
        // The context's regions may have changed since the last run.
        rt.read_starts = 0;
        rt.write_starts = 0;
    }
    // A run enters a fresh frame with a full may_goto budget (callees' are refilled by their calls).
    if constexpr (kMayGoto) std::fill(std::begin(rt.may_goto), std::end(rt.may_goto), kMayGotoBudget);
    return b->entry(&rt);
}

/// The call_bound variant for a program's options.
using BoundCall = uint64_t (*)(void*, uint64_t, uint64_t);
BoundCall bound_call_for(bool checked, bool may_goto) {
    if (checked) return may_goto ? &call_bound<true, true> : &call_bound<true, false>;
    return may_goto ? &call_bound<false, true> : &call_bound<false, false>;
}

// JIT code counts no instructions (RunResult::insns stays 0).
constexpr uint64_t kNoInsns = 0;

class JitExecutable final : public Executable {
public:
    JitExecutable(ExecMemory memory, EmittedCode code, const HelperTable& helpers, EngineOptions options,
                  std::vector<uint32_t> entries)
        : memory_(std::move(memory)), code_(std::move(code)), helpers_(&helpers), options_(options), entries_(std::move(entries)) {}

    const char* engine_name() const override {
#if defined(__x86_64__)
        return "jit-x86_64";
#else
        return "jit-arm64";
#endif
    }

private:
    void read_stop(const RunContext& ctx, RunResult& result) const override {
        finish(reinterpret_cast<const JitBound*>(ctx.scratch->state)->rt, ctx, result);
    }

    // Sets up this executable's state in ctx.scratch (allocated on first use) and the context's
    // engine fields, which stay valid while the scratch is bound to this executable (nested runs
    // restore them; moving the context unbinds it).
    BoundEntry bind_scratch(RunContext& ctx) const override {
        RunScratch& s = ctx.scratch.ensure();
        auto* b = reinterpret_cast<JitBound*>(s.state);
        if (s.owner != id()) {
            b->rt = JitRuntime{};
            init_runtime(b->rt, ctx, b->stack);
            b->rt.stack_end = b->rt.stack_top;
            b->frame = RunFrame{this, &b->rt, 0};
            b->entry = reinterpret_cast<JitEntry>(memory_.base() + code_.entry_offset);
            b->budget = static_cast<int64_t>(options_.insn_budget);
            s.entry = BoundEntry{bound_call_for(options_.checked, code_.may_goto), b, &b->rt.trap, &kNoInsns};
            s.owner = id();
        }
        b->rt.ctx = &ctx;
        ctx.checked = options_.checked;
        ctx.call_function = &JitExecutable::call_function;
        ctx.engine = &b->frame;
        ctx.stack_begin = reinterpret_cast<uint64_t>(b->stack);
        ctx.stack_end = ctx.stack_begin + kStackBytes;
        return s.entry;
    }

    // A run nested in a helper call of another run with the same context: its own state on the
    // C++ stack, and the context's engine fields restored afterwards.
    RunResult run_nested(RunContext& ctx, uint64_t r1, uint64_t r2) const override {
        alignas(16) uint8_t stack[kStackBytes];
        JitRuntime rt;
        init_runtime(rt, ctx, stack);
        rt.budget = static_cast<int64_t>(options_.insn_budget);
        rt.stack_end = rt.stack_top;
        rt.r1 = r1;
        rt.r2 = r2;
        const bool saved_checked = ctx.checked;
        const auto saved_call = ctx.call_function;
        void* const saved_engine = ctx.engine;
        const uint64_t saved_begin = ctx.stack_begin, saved_end = ctx.stack_end;
        RunFrame frame{this, &rt, 0};
        ctx.checked = options_.checked;
        ctx.call_function = &JitExecutable::call_function;
        ctx.engine = &frame;
        ctx.stop = 0;
        ctx.stack_begin = reinterpret_cast<uint64_t>(stack);
        ctx.stack_end = ctx.stack_begin + kStackBytes;
        auto entry = reinterpret_cast<JitEntry>(memory_.base() + code_.entry_offset);
        RunResult result;
        result.r0 = entry(&rt);
        finish(rt, ctx, result);
        ctx.checked = saved_checked;
        ctx.call_function = saved_call;
        ctx.engine = saved_engine;
        ctx.stack_begin = saved_begin;
        ctx.stack_end = saved_end;
        return result;
    }

    void init_runtime(JitRuntime& rt, RunContext& ctx, uint8_t* stack) const {
        rt.ctx = &ctx;
        rt.stack_bottom = stack;
        rt.stack_top = stack + kStackBytes;
        rt.helpers = helpers_;
        // A run or a callback enters a fresh frame: its may_goto budget is full (the interpreter's too).
        if (code_.may_goto) std::fill(std::begin(rt.may_goto), std::end(rt.may_goto), kMayGotoBudget);
    }

    static void finish(const JitRuntime& rt, const RunContext& ctx, RunResult& result) {
        result.trap = rt.trap;
        if (result.trap.kind == TrapKind::None && ctx.stop == RunContext::kStopFault) result.trap.kind = TrapKind::HelperFault;
        if (result.trap.kind == TrapKind::None && ctx.stop == RunContext::kStopTailCall) {
            result.tail_call = true;
            result.trap = Trap{};
        }
    }

    // Runs a BPF function (bpf_loop/for_each_map_elem callback) for RunContext::call_function, like
    // the interpreter: in a new frame right below the frame of the helper's caller (so it may use
    // stack pointers its caller passed), sharing the instruction budget. A callback that would exceed
    // kMaxCallDepth frames traps CallDepth at the helper call; a trap inside the callback becomes the
    // run's trap (the helper sees a fault and stops iterating).
    static uint64_t call_function(RunContext* ctx, uint64_t func, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
                                  uint64_t r5) {
        auto* frame = static_cast<RunFrame*>(ctx->engine);
        const JitExecutable* self = frame->self;
        if (!callback_entry_ok(ctx, self->entries_, func)) return 0;
        JitRuntime* outer = frame->rt;
        // A backend that does not record the caller's frame gets a fresh stack area per callback.
        alignas(16) uint8_t fresh[kStackBytes];
        const bool shared = outer->frame != 0;
        uint8_t* const entry_frame = shared ? reinterpret_cast<uint8_t*>(outer->frame) - kStackSize : fresh + kStackBytes;
        uint8_t* const bottom = shared ? outer->stack_bottom : fresh;
        const bool too_deep = shared ? entry_frame - kStackSize < bottom : frame->nesting + 1 >= kMaxCallDepth;
        if (too_deep) {
            outer->trap = Trap{TrapKind::CallDepth, kTrapPcAtCallSite, 0, 0, false};
            ctx->fault("callback would exceed " + std::to_string(kMaxCallDepth) + " frames");
            return 0;
        }
        JitRuntime rt;
        self->init_runtime(rt, *ctx, bottom);
        rt.stack_top = entry_frame;
        rt.stack_end = shared ? outer->stack_end : entry_frame;
        rt.budget = outer->budget;
        const uint64_t saved_begin = ctx->stack_begin, saved_end = ctx->stack_end;
        if (!shared) {
            ctx->stack_begin = reinterpret_cast<uint64_t>(fresh);
            ctx->stack_end = ctx->stack_begin + kStackBytes;
        }
        frame->rt = &rt;
        ++frame->nesting;
        const uint64_t args[5] = {r1, r2, r3, r4, r5};
        auto entry = reinterpret_cast<JitCallEntry>(self->memory_.base() + self->code_.call_entry_offset);
        const uint64_t r0 = entry(&rt, reinterpret_cast<uint64_t>(self->memory_.base() + self->code_.insn_offsets[func]), args);
        --frame->nesting;
        frame->rt = outer;
        ctx->stack_begin = saved_begin;
        ctx->stack_end = saved_end;
        outer->budget = rt.budget;
        if (rt.trap.kind != TrapKind::None) {
            outer->trap = rt.trap;
            if (ctx->stop == 0) ctx->fault("callback trapped at insn " + std::to_string(rt.trap.pc));
        }
        return r0;
    }

    ExecMemory memory_;
    EmittedCode code_;
    const HelperTable* helpers_;
    EngineOptions options_;
    std::vector<uint32_t> entries_;  // Program::subprog_entries: where callbacks may start
};

Result<EmittedCode> emit_host(const Program& program, const HelperTable& helpers, const EngineOptions& options,
                              CodeSink& sink) {
    // A Program may be built by hand: the backends index registers and labels without checks.
    BPFVM_TRY(validate_program(program));
#if defined(__x86_64__)
    return emit_x86_64(program, helpers, options, sink);
#elif defined(__aarch64__)
    return emit_arm64(program, helpers, options, sink);
#else
    (void)program, (void)helpers, (void)options, (void)sink;
    return make_error(ErrorCode::kUnsupported, "no JIT backend for this host architecture");
#endif
}

/// compile's sink: the code goes straight from the assembler's buffer into the arena.
class ArenaSink final : public CodeSink {
public:
    Status accept(const uint8_t* code, size_t size) override {
        auto placed = CodeArena::instance().place(code, size);
        if (!placed) return placed.error();
        block = *placed;
        return {};
    }
    CodeBlock block;
};

/// dump's sink: a copy to list.
class CopySink final : public CodeSink {
public:
    Status accept(const uint8_t* code, size_t size) override {
        bytes.assign(code, code + size);
        return {};
    }
    std::vector<uint8_t> bytes;
};

}  // namespace

int32_t run_context_stop_offset() {
    static const int32_t offset = [] {
        RunContext probe;
        return static_cast<int32_t>(reinterpret_cast<const char*>(&probe.stop) - reinterpret_cast<const char*>(&probe));
    }();
    return offset;
}

extern "C" uint64_t bpfvm_jit_check_access(JitRuntime* runtime, uint64_t addr, uint64_t size, uint64_t write) {
    if (addr + size < addr) return 0;
    // The callers' frames above the current one (the current frame itself is tested inline): a
    // subprogram or callback may use a pointer into its callers' stack, as in the kernel. The
    // interpreter applies the same rule (its region_ok); generated code stores r10 in `frame`
    // before calling here.
    if (runtime->frame != 0 && addr >= runtime->frame - kStackSize &&
        addr + size <= reinterpret_cast<uint64_t>(runtime->stack_end))
        return 1;
    for (const MemRegion& r : runtime->ctx->regions) {
        if (addr < r.begin || addr + size > r.end || addr + size < addr || (write != 0 && !r.writable)) continue;
        const uint64_t starts = r.end - r.begin >= 8 ? r.end - r.begin - 7 : 0;
        runtime->read_lo = r.begin;
        runtime->read_starts = starts;
        if (r.writable) {
            runtime->write_lo = r.begin;
            runtime->write_starts = starts;
        }
        return 1;
    }
    return 0;
}

bool host_supported() {
#if defined(__x86_64__) || defined(__aarch64__)
    return true;
#else
    return false;
#endif
}

Arch host_arch() {
#if defined(__aarch64__)
    return Arch::Arm64;
#else
    return Arch::X86_64;
#endif
}

Result<std::unique_ptr<Executable>> compile(const Program& program, const HelperTable& helpers,
                                            const EngineOptions& options) {
    ArenaSink sink;
    auto code = emit_host(program, helpers, options, sink);
    if (!code) {
        CodeArena::instance().release(sink.block);  // nothing when the code was not placed
        return code.error();
    }
    return std::unique_ptr<Executable>(
        std::make_unique<JitExecutable>(ExecMemory(sink.block), std::move(*code), helpers, options, program.subprog_entries));
}

namespace {

/// Appends a listing of code[begin, end) at its code offsets: hex bytes, and the host disassembly
/// when capstone is available (one line per host instruction), else 16 bytes per line.
class HostLister {
public:
    HostLister() {
#if BPFVM_HAVE_CAPSTONE
#if defined(__x86_64__)
        ok_ = cs_open(CS_ARCH_X86, CS_MODE_64, &handle_) == CS_ERR_OK;
#elif defined(__aarch64__)
        ok_ = cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &handle_) == CS_ERR_OK;
#endif
#endif
    }
    ~HostLister() {
#if BPFVM_HAVE_CAPSTONE
        if (ok_) cs_close(&handle_);
#endif
    }
    HostLister(const HostLister&) = delete;
    HostLister& operator=(const HostLister&) = delete;

    void list(const std::vector<uint8_t>& code, size_t begin, size_t end, std::string& out) const {
        char buf[64];
        auto bytes_line = [&](size_t at, size_t n) {
            std::snprintf(buf, sizeof buf, "    %06zx: ", at);
            out += buf;
            for (size_t b = 0; b < n; ++b) {
                std::snprintf(buf, sizeof buf, "%02x ", code[at + b]);
                out += buf;
            }
        };
#if BPFVM_HAVE_CAPSTONE
        if (ok_ && end > begin) {
            cs_insn* insns = nullptr;
            const size_t count = cs_disasm(handle_, code.data() + begin, end - begin, begin, 0, &insns);
            size_t done = begin;
            for (size_t i = 0; i < count; ++i) {
                bytes_line(insns[i].address, insns[i].size);
                out.append(insns[i].size < 12 ? 3 * (12 - insns[i].size) : 1, ' ');
                out += insns[i].mnemonic;
                if (insns[i].op_str[0] != '\0') {
                    out += ' ';
                    out += insns[i].op_str;
                }
                out += '\n';
                done = insns[i].address + insns[i].size;
            }
            if (count > 0) cs_free(insns, count);
            begin = done;  // anything capstone could not decode is listed as bytes below
        }
#endif
        for (size_t at = begin; at < end; at += 16) {
            bytes_line(at, std::min<size_t>(16, end - at));
            out += '\n';
        }
    }

private:
#if BPFVM_HAVE_CAPSTONE
    csh handle_ = 0;
#endif
    bool ok_ = false;
};

}  // namespace

Result<std::string> dump(const Program& program, const HelperTable& helpers, const EngineOptions& options) {
    CopySink sink;
    auto code = emit_host(program, helpers, options, sink);
    if (!code) return code.error();
    const std::vector<uint8_t>& bytes = sink.bytes;
    const HostLister lister;
    const size_t body_begin = code->insn_offsets.empty() ? 0 : code->insn_offsets[0];
    const size_t body_end = code->body_end_offset != 0 ? code->body_end_offset : bytes.size();
    std::string out;
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "; %s JIT, %s mode: %zu BPF instructions -> %zu bytes (entry at %06" PRIx64 ", callback entry at %06" PRIx64 ")\n",
                  host_arch() == Arch::X86_64 ? "x86-64" : "arm64", options.checked ? "checked" : "unchecked",
                  program.insns.size(), bytes.size(), code->entry_offset, code->call_entry_offset);
    out += buf;
    out += "; entry points\n";
    lister.list(bytes, 0, body_begin, out);
    for (size_t i = 0; i < program.insns.size(); ++i) {
        const size_t begin = code->insn_offsets[i];
        const size_t end = i + 1 < program.insns.size() ? code->insn_offsets[i + 1] : body_end;
        std::snprintf(buf, sizeof buf, "%5u: ", program.insns[i].pc);
        out += buf;
        out += disassemble_insn(program.insns[i]);
        std::snprintf(buf, sizeof buf, "    ; %06zx, %zu bytes\n", begin, end - begin);
        out += buf;
        lister.list(bytes, begin, end, out);
    }
    if (body_end < bytes.size()) {
        out += "; out-of-line stubs (traps, checked-mode slow paths)\n";
        lister.list(bytes, body_end, bytes.size(), out);
    }
    return out;
}

}  // namespace bpfvm::jit
