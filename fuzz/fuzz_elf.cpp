// fuzz_elf: arbitrary bytes through the ELF loader, BTF and BTF.ext, CO-RE (against the object's
// own BTF) and the object pipeline (maps created, each program verified under a small limit,
// prepared and run once in checked mode with a small budget). Any byte string loads or fails with an error: never a crash, a hang,
// an exception or an allocation the input does not back (run with -malloc_limit_mb).
#include <cstdint>
#include <cstdlib>
#include <span>

#include "bpfvm/bpfvm.hpp"

namespace {

// Keeps one input's run short: programs are interpreted with a small budget and a small packet.
constexpr uint64_t kBudget = 20'000;
constexpr uint64_t kVerifyLimit = 10'000;  // instructions the verifier may process per program

void run_programs(bpfvm::ObjectFile file) {
    bpfvm::ObjectOptions options;
    options.max_map_memory = uint64_t{64} << 20;  // declared sizes are the input's to choose
    auto object = bpfvm::Object::from_file(std::move(file), options);
    if (!object) return;
    for (const auto& name : object->program_names()) {
        // The verifier sees the program as the object gives it (maps, BTF, subprograms), under a
        // small limit: at the default 1,000,000 one 4 KiB input took 17 s CPU under ASan (fuzz_verify
        // explores the verifier's slow paths); the run is checked whatever the verdict.
        bpfvm::VerifyOptions verify;
        verify.insn_limit = kVerifyLimit;
        (void)object->verify(name, verify);
        bpfvm::TestRunInput input;
        input.mode = bpfvm::RunMode::Checked;
        input.engine = bpfvm::EngineKind::Interp;
        input.insn_budget = kBudget;
        input.data.assign(64, 0);
        input.data[12] = 0x08;  // an IPv4 Ethernet frame, so packet programs get past their first check
        (void)object->test_run(name, input);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> image(data, size);
    bpfvm::LoadOptions options;
    options.keep_going = true;
    options.apply_core = false;  // no dependence on the host's vmlinux BTF
    auto file = bpfvm::load_object_from_memory(image, "fuzz.o", options);
    if (!file) return 0;
    if (file->btf) {
        // CO-RE against the object's own types: every relocation has a candidate to match.
        options.apply_core = true;
        options.target_btf = file->btf;
        auto relocated = bpfvm::load_object_from_memory(image, "fuzz.o", options);
        if (relocated) file = std::move(relocated);
    }
    run_programs(std::move(*file));
    return 0;
}
