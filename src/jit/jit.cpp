// Backend-neutral JIT driver: executable memory (W^X), running generated code, traps.
#include <sys/mman.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "backend.hpp"
#include "bpfvm/asm.hpp"
#include "bpfvm/jit.hpp"

namespace bpfvm::jit {
namespace {

/// Code memory: written through a RW mapping, then switched to RX. Never writable and
/// executable at once.
class ExecMemory {
public:
    static Result<ExecMemory> create(const std::vector<uint8_t>& code) {
        const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        const size_t size = (code.size() + page - 1) / page * page;
        void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return make_error(ErrorCode::kIo, "jit: cannot map " + std::to_string(size) + " bytes of code memory");
        std::memcpy(p, code.data(), code.size());
        __builtin___clear_cache(static_cast<char*>(p), static_cast<char*>(p) + code.size());
        if (mprotect(p, size, PROT_READ | PROT_EXEC) != 0) {
            munmap(p, size);
            return make_error(ErrorCode::kIo, "jit: cannot make code memory executable");
        }
        return ExecMemory(static_cast<uint8_t*>(p), size);
    }
    ExecMemory(ExecMemory&& o) noexcept : base_(std::exchange(o.base_, nullptr)), size_(o.size_) {}
    ExecMemory& operator=(ExecMemory&&) = delete;
    ~ExecMemory() {
        if (base_) munmap(base_, size_);
    }
    uint8_t* base() const { return base_; }

private:
    ExecMemory(uint8_t* base, size_t size) : base_(base), size_(size) {}
    uint8_t* base_;
    size_t size_;
};

constexpr size_t kStackBytes = size_t{kStackSize} * kMaxCallDepth;

class JitExecutable final : public Executable {
public:
    JitExecutable(ExecMemory memory, EmittedCode code, const HelperTable& helpers, EngineOptions options)
        : memory_(std::move(memory)), code_(std::move(code)), helpers_(&helpers), options_(options) {}

    RunResult run(RunContext& ctx, uint64_t r1, uint64_t r2) const override {
        alignas(16) uint8_t stack[kStackBytes];
        JitRuntime rt;
        init_runtime(rt, ctx, stack);
        rt.r1 = r1;
        rt.r2 = r2;
        ctx.checked = options_.checked;
        ctx.call_function = &JitExecutable::call_function;
        ctx.engine = const_cast<JitExecutable*>(this);
        auto entry = reinterpret_cast<JitEntry>(memory_.base() + code_.entry_offset);
        RunResult result;
        result.r0 = entry(&rt);
        finish(rt, ctx, result);
        return result;
    }

    const char* engine_name() const override {
#if defined(__x86_64__)
        return "jit-x86_64";
#else
        return "jit-arm64";
#endif
    }

private:
    void init_runtime(JitRuntime& rt, RunContext& ctx, uint8_t* stack) const {
        rt.ctx = &ctx;
        rt.stack_bottom = stack;
        rt.stack_top = stack + kStackBytes;
        rt.budget = static_cast<int64_t>(options_.insn_budget);
        rt.helpers = helpers_;
    }

    static void finish(const JitRuntime& rt, const RunContext& ctx, RunResult& result) {
        result.trap = rt.trap;
        if (result.trap.kind == TrapKind::None && ctx.stop == RunContext::kStopFault) result.trap.kind = TrapKind::HelperFault;
        if (result.trap.kind == TrapKind::None && ctx.stop == RunContext::kStopTailCall) result.tail_call = true;
    }

    // Runs a BPF function (bpf_loop/for_each_map_elem callback) on a fresh stack area.
    static uint64_t call_function(RunContext* ctx, uint64_t func, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
                                  uint64_t r5) {
        const auto* self = static_cast<const JitExecutable*>(ctx->engine);
        if (func >= self->code_.insn_offsets.size()) {
            ctx->fault("callback is not a function of this program (index " + std::to_string(func) + ")");
            return 0;
        }
        alignas(16) uint8_t stack[kStackBytes];
        JitRuntime rt;
        self->init_runtime(rt, *ctx, stack);
        const uint64_t args[5] = {r1, r2, r3, r4, r5};
        auto entry = reinterpret_cast<JitCallEntry>(self->memory_.base() + self->code_.call_entry_offset);
        const uint64_t r0 = entry(&rt, reinterpret_cast<uint64_t>(self->memory_.base() + self->code_.insn_offsets[func]), args);
        if (rt.trap.kind != TrapKind::None && ctx->stop == 0) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "callback trapped at insn %u", rt.trap.pc);
            ctx->fault(buf);
        }
        return r0;
    }

    ExecMemory memory_;
    EmittedCode code_;
    const HelperTable* helpers_;
    EngineOptions options_;
};

Result<EmittedCode> emit_host(const Program& program, const HelperTable& helpers, const EngineOptions& options) {
#if defined(__x86_64__)
    return emit_x86_64(program, helpers, options);
#elif defined(__aarch64__)
    return emit_arm64(program, helpers, options);
#else
    (void)program, (void)helpers, (void)options;
    return make_error(ErrorCode::kUnsupported, "no JIT backend for this host architecture");
#endif
}

}  // namespace

extern "C" uint64_t bpfvm_jit_check_access(JitRuntime* runtime, uint64_t addr, uint64_t size, uint64_t write) {
    return runtime->ctx->region_allows(addr, size, write != 0) ? 1 : 0;
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
    auto code = emit_host(program, helpers, options);
    if (!code) return code.error();
    auto memory = ExecMemory::create(code->bytes);
    if (!memory) return memory.error();
    return std::unique_ptr<Executable>(
        std::make_unique<JitExecutable>(std::move(*memory), std::move(*code), helpers, options));
}

Result<std::string> dump(const Program& program, const HelperTable& helpers, const EngineOptions& options) {
    auto code = emit_host(program, helpers, options);
    if (!code) return code.error();
    std::string out;
    char buf[32];
    for (size_t i = 0; i < program.insns.size(); ++i) {
        const size_t begin = code->insn_offsets[i];
        const size_t end = i + 1 < program.insns.size() ? code->insn_offsets[i + 1] : code->bytes.size();
        std::snprintf(buf, sizeof buf, "%5u: ", program.insns[i].pc);
        out += buf;
        out += disassemble_insn(program.insns[i]);
        out += "\n";
        std::snprintf(buf, sizeof buf, "  %06zx:", begin);
        out += buf;
        for (size_t b = begin; b < end && b < code->bytes.size(); ++b) {
            std::snprintf(buf, sizeof buf, " %02x", code->bytes[b]);
            out += buf;
        }
        out += "\n";
    }
    return out;
}

}  // namespace bpfvm::jit
