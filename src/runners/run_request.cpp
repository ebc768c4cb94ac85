// run_request (include/bpfvm/runners/run.hpp): `bpfvm run` without the printing. Raw bytecode
// runs on the conformance helpers with r1/r2 = a copy of the input memory; objects go through the
// facade with the settings applied in libbpf's order (map sizes and program type before the maps
// and the program are prepared, entries after the maps exist).
#include <chrono>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "bpfvm/asm.hpp"
#include "bpfvm/io.hpp"
#include "bpfvm/kernel.hpp"
#include "bpfvm/runners/conformance.hpp"
#include "bpfvm/runners/run.hpp"

namespace bpfvm {
namespace {

Error invalid(std::string message) { return make_error(ErrorCode::kInvalidArgument, std::move(message)); }

/// Appends the trapping instruction ("\n  12: r0 = *(u32 *)(r1 + 0)") to a run error.
Error with_insn(Error err, const Program& program) {
    if (err.pc && *err.pc < program.slot_to_index.size())
        err.message += "\n  " + std::to_string(*err.pc) + ": " + disassemble_insn(program.insns[program.index_of(*err.pc)]);
    return err;
}

Result<RunReport> run_raw(const RunRequest& req) {
    auto bytes = read_input_file(req.file, kMaxInputFileBytes);
    if (!bytes) return bytes.error();
    DecodeOptions decode_options;
    decode_options.max_slots = req.max_program_insns;
    auto program = decode_program(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()), decode_options);
    if (!program) {
        program.error().where = req.file;
        return program.error();
    }
    EngineOptions options;
    options.checked = req.mode != RunMode::Unchecked;
    options.insn_budget = req.insn_budget;
    auto exe = prepare(*program, req.engine.value_or(default_engine()), conformance_helpers(), options);
    if (!exe) {
        exe.error().where = req.file;
        return exe.error();
    }
    RunReport report;
    TestRunResult& out = report.result;
    out.repeat = req.repeat == 0 ? 1 : req.repeat;
    out.engine = (*exe)->engine_name();
    out.checked = options.checked;
    // One context and one buffer for all runs (the engine binds the program to the context once);
    // every run sees the original input, copied back in place.
    out.data_out = req.data;
    RunContext ctx;
    const auto base = out.data_out.empty() ? uint64_t{0} : reinterpret_cast<uint64_t>(out.data_out.data());
    const size_t base_regions = out.data_out.empty() ? 0 : 1;
    if (base_regions) ctx.regions.push_back({base, base + out.data_out.size(), true});
    const auto start = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < out.repeat; ++i) {
        if (i > 0 && !req.data.empty()) std::memcpy(out.data_out.data(), req.data.data(), req.data.size());
        if (ctx.regions.size() != base_regions) ctx.regions.resize(base_regions);
        const RunResult r = (*exe)->run(ctx, base, out.data_out.size());
        if (!r.ok()) {
            std::string text = describe_trap(r.trap, ctx);
            const std::string prefix = "insn " + std::to_string(r.trap.pc) + ": ";
            if (text.rfind(prefix, 0) == 0) text = text.substr(prefix.size());
            Error e = make_error(ErrorCode::kRuntime, text, r.trap.pc);
            e.where = req.file;
            return with_insn(e, *program);
        }
        out.retval = r.r0;
    }
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start);
    out.duration_ns = static_cast<uint64_t>(ns.count()) / out.repeat;
    return report;
}

using Entries = std::map<std::vector<uint8_t>, std::vector<uint8_t>, BytesLess>;
using Snapshot = std::map<std::string, Entries>;

/// Maps larger than this are not compared by show_maps (their contents would swamp the output).
constexpr size_t kMaxCompared = 1u << 16;

/// Every entry of every map whose values are plain bytes (not programs, maps or event queues).
Snapshot snapshot_maps(const Object& obj, std::vector<std::string>* notes) {
    Snapshot snap;
    for (const MapSpec& spec : obj.file().maps) {
        if (spec.type == MapType::ProgArray || spec.type == MapType::ArrayOfMaps || spec.type == MapType::HashOfMaps ||
            spec.type == MapType::Ringbuf || spec.type == MapType::PerfEventArray)
            continue;
        auto m = obj.map(spec.name);
        if (!m) continue;
        const auto keys = m->keys();
        if (keys.size() > kMaxCompared) {
            if (notes) notes->push_back("map " + spec.name + ": " + std::to_string(keys.size()) + " entries, not compared");
            continue;
        }
        auto& entries = snap[spec.name];
        for (const auto& k : keys)
            if (auto v = m->lookup_bytes(k)) entries.emplace(k, std::move(*v));
    }
    return snap;
}

std::vector<MapChange> diff_maps(const Snapshot& before, const Snapshot& after) {
    std::vector<MapChange> out;
    for (const auto& [name, now] : after) {
        static const Entries kEmpty;
        const auto it = before.find(name);
        const auto& was = it == before.end() ? kEmpty : it->second;
        for (const auto& [k, v] : now) {
            const auto old = was.find(k);
            if (old == was.end()) out.push_back({name, k, std::nullopt, v});
            else if (old->second != v) out.push_back({name, k, old->second, v});
        }
        for (const auto& [k, v] : was)
            if (!now.count(k)) out.push_back({name, k, v, std::nullopt});
    }
    return out;
}

/// "NAME=REST" split at the first '='.
Result<std::pair<std::string, std::string>> split_setting(const std::string& setting, const char* flag,
                                                          const char* form) {
    const auto eq = setting.find('=');
    if (eq == std::string::npos || eq == 0)
        return invalid(std::string(flag) + " " + setting + ": expected " + form);
    return std::make_pair(setting.substr(0, eq), setting.substr(eq + 1));
}

/// The same run through the running kernel's BPF_PROG_TEST_RUN, reported as a TestRunResult
/// (engine "kernel"): the object is loaded as the kernel sees it (sizes and types set before apply).
Result<TestRunResult> run_in_kernel(const Object& obj, const std::string& program, const TestRunInput& input,
                                    const std::vector<MapSetting>& settings) {
    const kernel::Probe probe = kernel::probe();
    if (!probe.usable)
        return make_error(ErrorCode::kPermission, "--kernel: this process cannot use bpf(): " + probe.reason);
    auto ko = kernel::KernelObject::open(obj.file());
    if (!ko) return ko.error();
    BPFVM_TRY(ko->load_all());
    for (const auto& s : settings) {
        if (s.slot)
            BPFVM_TRY(ko->set_prog_array_slot(s.map, *s.slot, s.program));
        else
            BPFVM_TRY(ko->update_map(s.map, s.key, s.value));
    }
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

Result<RunReport> run_object(const RunRequest& req) {
    ObjectOptions oopts;
    oopts.load.target_btf_path = req.btf;
    oopts.load.max_program_insns = req.max_program_insns;
    oopts.max_map_memory = req.max_map_memory;
    auto obj = Object::open(req.file, oopts);
    if (!obj) return obj.error();

    std::string program = req.program;
    if (program.empty()) {
        const auto names = obj->program_names();
        if (names.size() != 1) {
            return invalid(req.file + ": the object has " + std::to_string(names.size()) +
                           " programs; choose one with --program:" + (names.empty() ? " (none)" : "\n  " + join(names, "\n  ")));
        }
        program = names[0];
    }
    BPFVM_TRY(apply_load_settings(*obj, program, req.type, req.map_sizes));
    std::vector<MapSetting> settings;
    for (const auto& m : req.map_entries) {
        auto s = parse_map_setting(*obj, m);
        if (!s) return s.error();
        BPFVM_TRY(apply_map_setting(*obj, *s));
        settings.push_back(std::move(*s));
    }

    TestRunInput input;
    input.data = req.data;
    input.ctx = req.ctx;
    input.repeat = req.repeat;
    input.engine = req.engine;
    input.mode = req.mode;
    input.insn_budget = req.insn_budget;

    RunReport report;
    if (req.kernel) {
        if (req.show_maps) return invalid("--show-maps compares bpfvm's maps; it does not apply to --kernel");
        auto result = run_in_kernel(*obj, program, input, settings);
        if (!result) return result.error();
        report.result = std::move(*result);
        return report;
    }
    Snapshot before;
    if (req.show_maps) before = snapshot_maps(*obj, &report.map_notes);
    auto result = obj->test_run(program, input);
    if (!result) {
        Error err = result.error();
        // The trap may be in a tail-called program: the error's `where` ends with its name.
        const auto sep = err.where.rfind(": ");
        auto prog = obj->runnable_program(sep == std::string::npos ? program : err.where.substr(sep + 2));
        return prog ? with_insn(err, *prog) : err;
    }
    report.result = std::move(*result);
    if (req.show_maps) report.map_changes = diff_maps(before, snapshot_maps(*obj, nullptr));
    return report;
}

nlohmann::json hex_or_null(const std::optional<std::vector<uint8_t>>& bytes) {
    return bytes ? nlohmann::json(to_hex(*bytes)) : nlohmann::json(nullptr);
}

}  // namespace

Status apply_load_settings(Object& object, const std::string& program, const std::string& type,
                           const std::vector<std::string>& map_sizes) {
    for (const auto& s : map_sizes) BPFVM_TRY(apply_map_size(object, s));
    if (type.empty()) return {};
    auto parsed = parse_program_type(type);
    if (!parsed) return invalid("--type: " + parsed.error().message);
    return object.set_program_type(program, *parsed);
}

Status apply_map_size(Object& object, const std::string& setting) {
    auto parts = split_setting(setting, "--map-size", "NAME=N");
    if (!parts) return parts.error();
    auto n = parse_uint(parts->second, 1, UINT32_MAX);
    if (!n) return invalid("--map-size " + setting + ": " + n.error().message);
    return object.set_map_size(parts->first, static_cast<uint32_t>(*n));
}

Result<MapSetting> parse_map_setting(const Object& object, const std::string& setting) {
    auto parts = split_setting(setting, "--map", "NAME=KEY:VALUE (hex), or NAME=INDEX:PROGRAM for a prog_array");
    if (!parts) return parts.error();
    MapSetting out;
    out.text = setting;
    out.map = parts->first;
    const std::string& rest = parts->second;
    auto m = object.map(out.map);
    if (!m) return m.error();
    const auto colon = rest.find(':');
    if (colon == std::string::npos)
        return invalid("--map " + setting + ": expected NAME=KEY:VALUE (hex), or NAME=INDEX:PROGRAM for a prog_array");
    const std::string key_text = rest.substr(0, colon), value_text = rest.substr(colon + 1);
    if (m->raw().type() == MapType::ProgArray) {
        auto slot = parse_uint(key_text, 0, m->raw().max_entries() - 1);
        if (!slot) return invalid("--map " + setting + ": slot: " + slot.error().message);
        out.slot = static_cast<uint32_t>(*slot);
        out.program = value_text;
        return out;
    }
    auto key = parse_hex_bytes(key_text);
    if (!key) return invalid("--map " + setting + ": key: " + key.error().message);
    auto value = parse_hex_bytes(value_text);
    if (!value) return invalid("--map " + setting + ": value: " + value.error().message);
    out.key = std::move(*key);
    out.value = std::move(*value);
    return out;
}

Status apply_map_setting(Object& object, const MapSetting& s) {
    if (s.slot) return object.set_prog_array_slot(s.map, *s.slot, s.program);
    auto m = object.map(s.map);
    if (!m) return m.error();
    Status st = m->update_bytes(s.key, s.value);
    if (!st) return invalid("--map " + s.text + ": " + st.error().message);
    return {};
}

Status apply_map_setting(Object& object, const std::string& setting) {
    auto s = parse_map_setting(object, setting);
    if (!s) return s.error();
    return apply_map_setting(object, *s);
}

Result<RunReport> run_request(const RunRequest& request) {
    if (request.raw) {
        if (request.kernel) return invalid("--kernel runs object files, not raw bytecode");
        if (!request.program.empty() || !request.type.empty() || !request.ctx.empty() || !request.map_entries.empty() ||
            !request.map_sizes.empty() || !request.btf.empty() || request.show_maps || request.kernel)
            return invalid("raw bytecode takes only memory (--mem/--mem-hex), --engine, --repeat and limits; "
                           "--program, --type, --ctx, --map, --map-size, --btf, --show-maps and --kernel are for objects");
        return run_raw(request);
    }
    return run_object(request);
}

int exit_code_of(const Error& error) { return error.code == ErrorCode::kRuntime ? 1 : 2; }

const char* error_code_name(ErrorCode code) {
    switch (code) {
        case ErrorCode::kInvalidArgument: return "invalid_argument";
        case ErrorCode::kMalformed: return "malformed";
        case ErrorCode::kUnsupported: return "unsupported";
        case ErrorCode::kNotFound: return "not_found";
        case ErrorCode::kIo: return "io";
        case ErrorCode::kRejected: return "rejected";
        case ErrorCode::kRuntime: return "runtime";
        case ErrorCode::kExists: return "exists";
        case ErrorCode::kNoSpace: return "no_space";
        case ErrorCode::kPermission: return "permission";
    }
    return "unknown";
}

std::string error_json(const Error& error) {
    nlohmann::json e;
    e["message"] = error.to_string();
    e["code"] = error_code_name(error.code);
    e["where"] = error.where;
    e["pc"] = error.pc ? nlohmann::json(*error.pc) : nlohmann::json(nullptr);
    e["source"] = error.source.empty() ? nlohmann::json(nullptr) : nlohmann::json(error.source);
    nlohmann::json j;
    j["error"] = std::move(e);
    j["exit_code"] = exit_code_of(error);
    // Replace, do not throw, on bytes that are not UTF-8 (file names and source text are user data).
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string run_report_json(const RunReport& report, const RunRequest& request) {
    const TestRunResult& r = report.result;
    nlohmann::json j;
    j["program"] = request.raw ? nlohmann::json(nullptr) : nlohmann::json(r.program);
    j["type"] = request.raw ? "raw" : (request.type.empty() ? "" : request.type);
    char hex[24];
    std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(r.retval));
    j["retval"] = r.retval;
    j["retval_hex"] = hex;
    j["data_out"] = to_hex(r.data_out);
    j["ctx_out"] = to_hex(r.ctx_out);
    j["trace"] = r.trace;
    j["events"] = nlohmann::json::array();
    for (const auto& e : r.events) j["events"].push_back({{"map", e.map}, {"cpu", e.cpu}, {"data", to_hex(e.data)}});
    j["redirects"] = nlohmann::json::array();
    for (const auto& d : r.redirects)
        j["redirects"].push_back({{"helper", d.helper}, {"target", d.target}, {"map", d.map}, {"flags", d.flags}});
    j["tail_calls"] = r.tail_calls;
    j["engine"] = r.engine;
    j["repeat"] = r.repeat;
    j["duration_ns"] = r.duration_ns;
    j["checked"] = r.checked;
    j["warnings"] = r.warnings;
    j["maps"] = nlohmann::json::array();
    for (const auto& c : report.map_changes)
        j["maps"].push_back({{"map", c.map}, {"key", to_hex(c.key)}, {"before", hex_or_null(c.before)},
                             {"after", hex_or_null(c.after)}});
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace bpfvm
