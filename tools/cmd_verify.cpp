// `bpfvm verify OBJ...`: the static verifier's verdict on every program of one or more objects
// (or on raw bytecode), one line per program, with the first error, its instruction, the source
// line, the registers involved and the branch decisions that led there; --json for machines,
// --log for the per-instruction state trace.
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bpfvm/asm.hpp"
#include "bpfvm/bpfvm.hpp"
#include "bpfvm/io.hpp"
#include "command.hpp"

namespace bpfvm::cli {
namespace {

struct VerifyCliOptions {
    std::vector<std::string> files;
    std::vector<std::string> programs;  // --program NAME (repeatable)
    std::string type;                   // --type TYPE
    std::string btf;                    // --btf FILE
    std::string license;                // --license STR
    std::string mode = "privileged";
    bool raw = false;
    bool json = false;
    bool log = false;
    bool verbose = false;
    bool strict_alignment = false;
    bool any_alignment = false;
    bool test_state_freq = false;
    bool reg_invariants = false;
    uint64_t insn_limit = 1'000'000;
};

const char* verdict_name(Verdict v) {
    switch (v) {
        case Verdict::Accept: return "accept";
        case Verdict::Reject: return "reject";
        case Verdict::NotVerified: return "not_verified";
    }
    return "?";
}

struct Row {
    std::string file, name, section, type;
    Verification v;
    std::string insn_text;  // disassembly of the failing instruction
};

void print_row(const Row& r, bool verbose) {
    if (r.v.verdict == Verdict::Accept) {
        std::printf("PASS %s\n", r.name.c_str());
        return;
    }
    const Error& e = *r.v.error;
    std::string head = r.v.verdict == Verdict::Reject ? "FAIL " : "SKIP ";
    head += r.name + ": ";
    if (e.pc) head += "insn " + std::to_string(*e.pc) + ": ";
    std::printf("%s%s\n", head.c_str(), e.message.c_str());
    if (!r.insn_text.empty()) std::printf("  %u: %s\n", *e.pc, r.insn_text.c_str());
    if (!e.source.empty()) std::printf("  at %s\n", e.source.c_str());
    const size_t limit = verbose ? r.v.detail.size() : std::min<size_t>(r.v.detail.size(), 6);
    for (size_t i = 0; i < limit; ++i) std::printf("  %s\n", r.v.detail[i].c_str());
    if (limit < r.v.detail.size()) std::printf("  ... (%zu more lines with --verbose)\n", r.v.detail.size() - limit);
}

nlohmann::json row_json(const Row& r) {
    nlohmann::json j;
    j["file"] = r.file;
    j["name"] = r.name;
    j["section"] = r.section;
    j["type"] = r.type;
    j["verdict"] = verdict_name(r.v.verdict);
    if (r.v.error) {
        nlohmann::json e;
        e["insn"] = r.v.error->pc ? nlohmann::json(*r.v.error->pc) : nlohmann::json(nullptr);
        e["source"] = r.v.error->source;
        e["message"] = r.v.error->message;
        e["detail"] = r.v.detail;
        j["error"] = e;
    } else {
        j["error"] = nullptr;
    }
    j["stats"] = {{"insns_processed", r.v.stats.insns_processed},
                  {"states", r.v.stats.states},
                  {"peak_states", r.v.stats.peak_states},
                  {"time_us", r.v.stats.time_us}};
    return j;
}

std::string failing_insn(const Program& p, const Verification& v) {
    if (!v.error || !v.error->pc || *v.error->pc >= p.slot_to_index.size()) return "";
    return disassemble_insn(p.insns[p.index_of(*v.error->pc)]);
}

int run_verify(const VerifyCliOptions& o) {
    VerifyOptions vo;
    if (!o.type.empty()) {
        auto t = program_type_by_name(o.type);
        if (!t) {
            std::fprintf(stderr, "bpfvm verify: --type: unknown program type '%s' (e.g. xdp, sched_cls, socket_filter, "
                                 "kprobe, tracepoint, raw_tracepoint, cgroup_skb)\n",
                         o.type.c_str());
            return 2;
        }
        vo.type = *t;
    }
    vo.privileged = o.mode == "privileged";
    if (!o.license.empty()) vo.license = o.license;
    vo.strict_alignment = o.strict_alignment;
    vo.any_alignment = o.any_alignment;
    vo.test_state_freq = o.test_state_freq;
    vo.reg_invariants = o.reg_invariants;
    vo.insn_limit = o.insn_limit;
    vo.log = o.log;

    std::vector<Row> rows;
    for (const std::string& file : o.files) {
        if (o.raw) {
            if (!vo.type) {
                std::fprintf(stderr, "bpfvm verify: %s: raw bytecode needs --type\n", file.c_str());
                return 2;
            }
            auto bytes = read_input_file(file);
            if (!bytes) {
                std::fprintf(stderr, "bpfvm verify: %s\n", bytes.error().to_string().c_str());
                return 2;
            }
            auto prog = decode_program(
                std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()));
            if (!prog) {
                std::fprintf(stderr, "bpfvm verify: %s: %s\n", file.c_str(), prog.error().to_string().c_str());
                return 2;
            }
            Row r{file, file, "", program_type_name(*vo.type), verify_bytecode(*prog, vo), ""};
            r.insn_text = failing_insn(*prog, r.v);
            rows.push_back(std::move(r));
            continue;
        }
        ObjectOptions oo;
        oo.load.target_btf_path = o.btf;
        auto obj = Object::open(file, oo);
        if (!obj) {
            std::fprintf(stderr, "bpfvm verify: %s\n", obj.error().to_string().c_str());
            return 2;
        }
        std::vector<const ProgramSpec*> specs;
        if (o.programs.empty()) {
            for (const ProgramSpec& p : obj->file().programs) specs.push_back(&p);
        } else {
            for (const std::string& name : o.programs) {
                auto p = obj->program(name);
                if (!p) {
                    std::fprintf(stderr, "bpfvm verify: %s\n", p.error().to_string().c_str());
                    return 2;
                }
                specs.push_back(*p);
            }
        }
        for (const ProgramSpec* spec : specs) {
            // --type names the type of programs whose section names none; with --program it forces it.
            VerifyOptions po = vo;
            if (o.programs.empty() && spec->type != ProgramType::Unspec) po.type.reset();
            auto v = obj->verify(spec->name, po);
            if (!v) {
                std::fprintf(stderr, "bpfvm verify: %s\n", v.error().to_string().c_str());
                return 2;
            }
            Row r{file, spec->name, spec->section, program_type_name(po.type.value_or(spec->type)), std::move(*v), ""};
            r.insn_text = failing_insn(spec->program, r.v);
            rows.push_back(std::move(r));
        }
    }
    bool any_fail = false;
    if (o.json) {
        nlohmann::json out;
        out["programs"] = nlohmann::json::array();
        for (const Row& r : rows) out["programs"].push_back(row_json(r));
        std::printf("%s\n", out.dump(2).c_str());
    }
    for (const Row& r : rows) {
        if (r.v.verdict != Verdict::Accept) any_fail = true;
        if (o.json) continue;
        if (o.log && !r.v.log.empty()) std::printf("%s", r.v.log.c_str());
        print_row(r, o.verbose);
    }
    return any_fail ? 1 : 0;
}

const CommandRegistrar kRegisterVerify(25, [](CLI::App& app, int& exit_code) {
    auto o = std::make_shared<VerifyCliOptions>();
    CLI::App* cmd = app.add_subcommand("verify", "Check programs with the static verifier (the kernel's rules, no root)");
    cmd->footer(
        "Every program of each object is verified as the kernel would load it: types, memory safety, bounded\n"
        "loops, references, helper prototypes. One line per program: PASS name, or FAIL name: insn N: message,\n"
        "followed by the instruction, its source line (from BTF), the registers involved and the branch\n"
        "decisions that led there. Programs in sections that name no program type need --type (SKIP otherwise).\n"
        "Exit status: 0 all accepted, 1 a program was rejected (or skipped), 2 bad usage or an unreadable file.\n\n"
        "Examples:\n"
        "  bpfvm verify prog.bpf.o\n"
        "  bpfvm verify prog.bpf.o --program xdp_main --log\n"
        "  bpfvm verify --raw prog.bin --type xdp --mode unprivileged --json\n");
    cmd->add_option("FILE", o->files, "ELF objects, or raw bytecode with --raw")->required()->check(CLI::ExistingFile);
    cmd->add_option("--program", o->programs, "Verify only this program (function or section name); repeatable");
    cmd->add_option("--type", o->type,
                    "Program type of programs whose section names none (xdp, sched_cls, socket_filter, ...); "
                    "with --program: verify that program as this type");
    cmd->add_option("--btf", o->btf, "Target BTF for CO-RE relocations (raw BTF or an ELF object; default: "
                                     "/sys/kernel/btf/vmlinux)")->check(CLI::ExistingFile);
    cmd->add_option("--license", o->license,
                    "License the loader passes for objects without a license section (e.g. GPL)");
    cmd->add_option("--mode", o->mode, "privileged (CAP_BPF + CAP_PERFMON, default) or unprivileged")
        ->check(CLI::IsMember({"privileged", "unprivileged"}));
    cmd->add_flag("--raw", o->raw, "FILE is raw bytecode (8-byte little-endian slots); needs --type");
    cmd->add_flag("--json", o->json, "Print {\"programs\": [...]} with verdict, error and stats per program");
    cmd->add_flag("--log", o->log, "Print the per-instruction state trace");
    cmd->add_flag("--verbose", o->verbose, "Print every line of error detail");
    cmd->add_flag("--strict-alignment", o->strict_alignment, "As BPF_F_STRICT_ALIGNMENT");
    cmd->add_flag("--any-alignment", o->any_alignment, "As BPF_F_ANY_ALIGNMENT");
    cmd->add_flag("--test-state-freq", o->test_state_freq, "As BPF_F_TEST_STATE_FREQ (keep a state at every jump)");
    cmd->add_flag("--reg-invariants", o->reg_invariants, "As BPF_F_TEST_REG_INVARIANTS");
    cmd->add_option("--insn-limit", o->insn_limit, "Instructions processed before giving up (default 1000000)")
        ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
    cmd->callback([o, &exit_code] { exit_code = run_verify(*o); });
});

}  // namespace
}  // namespace bpfvm::cli
