// `bpfvm run OBJ`: test-runs one program of an ELF object the way BPF_PROG_TEST_RUN would and
// prints retval, output data, context, trace output, events and the time per run (or --json).
// Flags are parsed by cmd_run.cpp into RunOptions. With --kernel the program runs through the
// running kernel's BPF_PROG_TEST_RUN instead (same inputs, same output format, engine "kernel").
#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "bpfvm/asm.hpp"
#include "bpfvm/bpfvm.hpp"
#include "bpfvm/kernel.hpp"
#include "bpfvm/runners/conformance.hpp"
#include "run_options.hpp"

namespace bpfvm::cli {
namespace {

int fail(const std::string& message, int code = 2) {
    std::fprintf(stderr, "bpfvm run: %s\n", message.c_str());
    return code;
}

/// Bytes from --X-hex or --X FILE (at most one of them).
Result<std::vector<uint8_t>> read_bytes(const std::string& hex, const std::string& file, const char* what) {
    if (!hex.empty() && !file.empty())
        return make_error(ErrorCode::kInvalidArgument, std::string("use either --") + what + "-hex or --" + what + ", not both");
    if (!hex.empty()) {
        auto bytes = parse_hex_bytes(hex);
        if (!bytes) return make_error(ErrorCode::kInvalidArgument, std::string("--") + what + "-hex: " + bytes.error().message);
        return *bytes;
    }
    if (!file.empty()) {
        auto text = read_input_file(file);
        if (!text) return text.error();
        return std::vector<uint8_t>(text->begin(), text->end());
    }
    return std::vector<uint8_t>{};
}

/// --map NAME=KEY:VALUE (hex bytes).
struct MapPreset {
    std::string map;
    std::vector<uint8_t> key, value;
};

Result<MapPreset> parse_preset(const std::string& spec) {
    const auto eq = spec.find('=');
    const auto colon = spec.find(':', eq == std::string::npos ? 0 : eq);
    if (eq == std::string::npos || colon == std::string::npos)
        return make_error(ErrorCode::kInvalidArgument, "--map " + spec + ": expected NAME=KEY:VALUE (hex)");
    auto key = parse_hex_bytes(spec.substr(eq + 1, colon - eq - 1));
    auto value = parse_hex_bytes(spec.substr(colon + 1));
    if (!key) return make_error(ErrorCode::kInvalidArgument, "--map " + spec + ": key: " + key.error().message);
    if (!value) return make_error(ErrorCode::kInvalidArgument, "--map " + spec + ": value: " + value.error().message);
    return MapPreset{spec.substr(0, eq), std::move(*key), std::move(*value)};
}

Status preset_map(Object& obj, const MapPreset& p) {
    auto m = obj.map(p.map);
    if (!m) return m.error();
    return m->update_bytes(p.key, p.value);
}

/// The same run through the kernel's BPF_PROG_TEST_RUN, reported as a TestRunResult.
Result<TestRunResult> run_in_kernel(const Object& obj, const std::string& program, const TestRunInput& input,
                                    const std::vector<MapPreset>& presets) {
    const kernel::Probe probe = kernel::probe();
    if (!probe.usable)
        return make_error(ErrorCode::kPermission, "--kernel: this process cannot use bpf(): " + probe.reason);
    auto ko = kernel::KernelObject::open(obj.file());
    if (!ko) return ko.error();
    BPFVM_TRY(ko->load_all());
    for (const auto& p : presets) BPFVM_TRY(ko->update_map(p.map, p.key, p.value));
    kernel::TestRunInput in;
    in.data = input.data;
    in.ctx = input.ctx;
    in.repeat = input.repeat;
    auto out = ko->test_run(program, in);
    if (!out) return out.error();
    TestRunResult r;
    r.retval = out->retval;
    r.data_out = out->data;
    r.ctx_out = out->ctx;
    r.repeat = input.repeat;
    r.duration_ns = out->duration_ns;
    r.engine = "kernel";
    r.program = program;
    for (const MapSpec& m : obj.file().maps) {
        if (m.type != MapType::Ringbuf) continue;
        auto records = ko->drain_ringbuf(m.name);
        if (!records) return records.error();
        for (auto& rec : *records) r.events.push_back({m.name, 0, std::move(rec)});
    }
    return r;
}

/// The trapping instruction's disassembly, when the error names one.
std::string trap_insn(const Object& obj, const std::string& program, const Error& err) {
    if (!err.pc) return "";
    // The trap may be in a tail-called program: the error's `where` ends with its name.
    const auto sep = err.where.rfind(": ");
    auto prog = obj.runnable_program(sep == std::string::npos ? program : err.where.substr(sep + 2));
    if (!prog || *err.pc >= prog->slot_to_index.size()) return "";
    return disassemble_insn(prog->insns[prog->index_of(*err.pc)]);
}

void print_text(const TestRunResult& r, const std::vector<uint8_t>& data_in) {
    std::printf("retval: %" PRIu64 " (0x%" PRIx64 ")\n", r.retval, r.retval);
    if (r.data_out != data_in) std::printf("data_out: %s\n", to_hex(r.data_out).c_str());
    if (!r.ctx_out.empty()) std::printf("ctx_out: %s\n", to_hex(r.ctx_out).c_str());
    if (!r.trace.empty()) {
        std::printf("trace:\n");
        for (const auto& line : r.trace) std::printf("  %s\n", line.c_str());
    }
    for (const auto& e : r.events) std::printf("event %s[%u]: %s\n", e.map.c_str(), e.cpu, to_hex(e.data).c_str());
    for (const auto& d : r.redirects)
        std::printf("redirect: %s %s%s%" PRIu64 " flags 0x%" PRIx64 "\n", d.helper.c_str(), d.map.c_str(),
                    d.map.empty() ? "ifindex " : " key ", d.target, d.flags);
    if (r.tail_calls) std::printf("tail calls: %u\n", r.tail_calls);
    const char* mode = r.engine == "kernel" ? "" : r.checked ? ", checked" : ", verified, unchecked";
    std::printf("duration: %" PRIu64 " ns per run (%u run%s, %s%s)\n", r.duration_ns, r.repeat, r.repeat == 1 ? "" : "s",
                r.engine.c_str(), mode);
}

void print_json(const TestRunResult& r) {
    nlohmann::json j;
    j["program"] = r.program;
    j["retval"] = r.retval;
    j["data_out"] = to_hex(r.data_out);
    j["ctx_out"] = to_hex(r.ctx_out);
    j["trace"] = r.trace;
    j["duration_ns"] = r.duration_ns;
    j["repeat"] = r.repeat;
    j["engine"] = r.engine;
    j["checked"] = r.checked;
    j["warnings"] = r.warnings;
    j["tail_calls"] = r.tail_calls;
    j["events"] = nlohmann::json::array();
    for (const auto& e : r.events) j["events"].push_back({{"map", e.map}, {"cpu", e.cpu}, {"data", to_hex(e.data)}});
    j["redirects"] = nlohmann::json::array();
    for (const auto& d : r.redirects)
        j["redirects"].push_back({{"helper", d.helper}, {"target", d.target}, {"map", d.map}, {"flags", d.flags}});
    std::printf("%s\n", j.dump().c_str());
}

}  // namespace

int run_object_command(const RunOptions& options) {
    ObjectOptions oopts;
    oopts.load.target_btf_path = options.btf;
    auto obj = Object::open(options.file, oopts);
    if (!obj) return fail(obj.error().to_string());

    std::string program = options.program;
    if (program.empty()) {
        const auto names = obj->program_names();
        if (names.size() != 1) {
            std::string list;
            for (const auto& n : names) list += "\n  " + n;
            return fail(options.file + ": the object has " + std::to_string(names.size()) +
                        " programs; choose one with --program:" + (list.empty() ? " (none)" : list));
        }
        program = names[0];
    }

    TestRunInput input;
    auto data = read_bytes(options.data_hex, options.data_file, "data");
    if (!data) return fail(data.error().to_string());
    auto ctx = read_bytes(options.ctx_hex, options.ctx_file, "ctx");
    if (!ctx) return fail(ctx.error().to_string());
    input.data = std::move(*data);
    input.ctx = std::move(*ctx);
    input.repeat = options.repeat;
    input.mode = options.unchecked ? RunMode::Unchecked : options.no_verify ? RunMode::Checked : RunMode::Auto;
    input.insn_budget = options.max_insns;
    if (!options.engine.empty()) {
        auto engine = parse_engine(options.engine);
        if (!engine) return fail("--engine: " + engine.error().message);
        input.engine = *engine;
    }
    std::vector<MapPreset> presets;
    for (const auto& m : options.map_entries) {
        auto p = parse_preset(m);
        if (!p) return fail(p.error().to_string());
        Status s = preset_map(*obj, *p);
        if (!s) return fail(s.error().to_string());
        presets.push_back(std::move(*p));
    }

    auto result = options.kernel ? run_in_kernel(*obj, program, input, presets) : obj->test_run(program, input);
    if (!result) {
        const Error& err = result.error();
        std::string message = err.to_string();
        const std::string insn = trap_insn(*obj, program, err);
        if (!insn.empty()) message += "\n  " + std::to_string(*err.pc) + ": " + insn;
        if (options.json) {
            nlohmann::json j;
            j["error"] = message;
            if (err.pc) j["pc"] = *err.pc;
            std::printf("%s\n", j.dump().c_str());
        }
        return fail(message, err.code == ErrorCode::kRuntime ? 1 : 2);
    }
    for (const std::string& w : result->warnings) std::fprintf(stderr, "bpfvm run: warning: %s\n", w.c_str());
    if (options.json)
        print_json(*result);
    else
        print_text(*result, input.data);
    return 0;
}

}  // namespace bpfvm::cli
