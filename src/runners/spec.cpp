// The test-spec runner behind `bpfvm test SPEC.json` (format: docs/test-spec.md). Every case runs
// on freshly reset maps. Malformed specs are errors naming the file and the JSON path; JSON
// parse errors (nlohmann throws) are caught here, at the boundary, and become Errors.
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "bpfvm/runners/spec.hpp"

#include "bpfvm/bpfvm.hpp"
#include "bpfvm/io.hpp"
#include "bpfvm/kernel.hpp"
#include "spec_kernel.hpp"

namespace bpfvm {
namespace {

using json = nlohmann::json;

/// A spec error: "spec.json: cases[2].expect.retval: expected an integer".
struct SpecError {
    std::string file;
    Error operator()(const std::string& path, const std::string& message) const {
        return make_error(ErrorCode::kMalformed, file + ": " + path + ": " + message);
    }
};

Result<std::string> get_string(const json& j, const std::string& path, const SpecError& err) {
    if (!j.is_string()) return err(path, "expected a string");
    return j.get<std::string>();
}

/// An integer or a hex string, as `size` little-endian bytes (size 0: hex strings only).
Result<std::vector<uint8_t>> get_bytes(const json& j, uint32_t size, const std::string& path, const SpecError& err) {
    if (j.is_string()) {
        auto bytes = parse_hex_bytes(j.get<std::string>());
        if (!bytes) return err(path, bytes.error().message);
        if (size != 0 && bytes->size() != size)
            return err(path, "expected " + std::to_string(size) + " bytes, got " + std::to_string(bytes->size()));
        return *bytes;
    }
    if (j.is_number_integer() && size != 0) {
        const bool negative = j.is_number_unsigned() ? false : j.get<int64_t>() < 0;
        const uint64_t v = j.is_number_unsigned() ? j.get<uint64_t>() : static_cast<uint64_t>(j.get<int64_t>());
        std::vector<uint8_t> out(size, negative ? 0xff : 0);
        for (uint32_t i = 0; i < size && i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
        if (size < 8) {
            const uint64_t limit = uint64_t{1} << (8 * size);
            const bool fits = negative ? static_cast<int64_t>(v) >= -static_cast<int64_t>(limit / 2) : v < limit;
            if (!fits) return err(path, j.dump() + " does not fit in " + std::to_string(size) + " bytes");
        }
        return out;
    }
    return err(path, size ? "expected an integer or a hex string" : "expected a hex string");
}

/// An integer in [min, max]: "cases[0].repeat: expected an integer in [1, 1000000000], got -1".
Result<uint64_t> get_uint(const json& j, uint64_t min, uint64_t max, const std::string& path, const SpecError& err) {
    if (!j.is_number_unsigned() || j.get<uint64_t>() < min || j.get<uint64_t>() > max)
        return err(path, "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
                             j.dump(-1, ' ', false, json::error_handler_t::replace));
    return j.get<uint64_t>();
}

Status check_keys(const json& j, const std::string& path, std::initializer_list<const char*> allowed, const SpecError& err) {
    if (!j.is_object()) return err(path, "expected an object");
    for (auto it = j.begin(); it != j.end(); ++it) {
        bool ok = false;
        for (const char* a : allowed) ok = ok || it.key() == a;
        if (!ok) {
            std::string list;
            for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
            return err(path + "." + it.key(), "unknown field (expected one of: " + list + ")");
        }
    }
    return {};
}

std::string show(std::span<const uint8_t> bytes) { return bytes.empty() ? "(empty)" : to_hex(bytes); }

/// "expected data ... / got ... / first difference at byte N".
std::string diff_bytes(const char* what, std::span<const uint8_t> want, std::span<const uint8_t> got) {
    size_t i = 0;
    while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
    std::ostringstream os;
    os << what << " differs at byte " << i << " (expected " << want.size() << " bytes, got " << got.size() << ")\n"
       << "      expected " << show(want) << "\n"
       << "      got      " << show(got);
    return os.str();
}

/// Sets the initial map entries of a case (`maps` object) and records them for the kernel run.
Status apply_maps(Object& obj, const json& jmaps, const std::string& path, const SpecError& err,
                  std::vector<spec_kernel::MapPreset>& presets) {
    if (!jmaps.is_object()) return err(path, "expected an object mapping map names to entry lists");
    for (auto it = jmaps.begin(); it != jmaps.end(); ++it) {
        const std::string mpath = path + "." + it.key();
        auto m = obj.map(it.key());
        if (!m) return err(mpath, m.error().message);
        if (!it.value().is_array()) return err(mpath, "expected an array of {\"key\", \"value\"} entries");
        for (size_t i = 0; i < it.value().size(); ++i) {
            const json& entry = it.value()[i];
            const std::string epath = mpath + "[" + std::to_string(i) + "]";
            BPFVM_TRY(check_keys(entry, epath, {"key", "value", "program"}, err));
            if (!entry.contains("key")) return err(epath, "missing \"key\"");
            auto key = get_bytes(entry["key"], m->raw().key_size(), epath + ".key", err);
            if (!key) return key.error();
            if (entry.contains("program")) {
                auto prog = get_string(entry["program"], epath + ".program", err);
                if (!prog) return prog.error();
                if (key->size() != 4) return err(epath + ".key", "prog_array keys are 4 bytes");
                uint32_t slot = 0;
                std::memcpy(&slot, key->data(), 4);
                Status s = obj.set_prog_array_slot(it.key(), slot, *prog);
                if (!s) return err(epath, s.error().message);
                presets.push_back({it.key(), *key, {}, *prog});
                continue;
            }
            if (!entry.contains("value")) return err(epath, "missing \"value\" (or \"program\" for a prog_array)");
            auto value = get_bytes(entry["value"], m->raw().sys_value_size(), epath + ".value", err);
            if (!value) return value.error();
            Status s = m->update_bytes(*key, *value);
            if (!s) return err(epath, s.error().message);
            presets.push_back({it.key(), *key, *value, {}});
        }
    }
    return {};
}

/// Compares expected map entries; appends one failure message per mismatch.
Status compare_maps(Object& obj, const json& jmaps, const std::string& path, const SpecError& err,
                    std::vector<std::string>& failures) {
    if (!jmaps.is_object()) return err(path, "expected an object mapping map names to entry lists");
    for (auto it = jmaps.begin(); it != jmaps.end(); ++it) {
        const std::string mpath = path + "." + it.key();
        auto m = obj.map(it.key());
        if (!m) return err(mpath, m.error().message);
        if (!it.value().is_array()) return err(mpath, "expected an array of {\"key\", \"value\"} entries");
        for (size_t i = 0; i < it.value().size(); ++i) {
            const json& entry = it.value()[i];
            const std::string epath = mpath + "[" + std::to_string(i) + "]";
            BPFVM_TRY(check_keys(entry, epath, {"key", "value"}, err));
            if (!entry.contains("key") || !entry.contains("value")) return err(epath, "needs \"key\" and \"value\"");
            auto key = get_bytes(entry["key"], m->raw().key_size(), epath + ".key", err);
            if (!key) return key.error();
            auto got = m->lookup_bytes(*key);
            if (entry["value"].is_null()) {
                if (got) failures.push_back("map " + it.key() + " key " + to_hex(*key) + ": expected no entry, got " + show(*got));
                continue;
            }
            auto want = get_bytes(entry["value"], m->raw().sys_value_size(), epath + ".value", err);
            if (!want) return want.error();
            if (!got)
                failures.push_back("map " + it.key() + " key " + to_hex(*key) + ": expected " + to_hex(*want) + ", got no entry");
            else if (*got != *want)
                failures.push_back("map " + it.key() + " key " + to_hex(*key) + ": expected " + to_hex(*want) + ", got " +
                                   to_hex(*got));
        }
    }
    return {};
}

bool retval_matches(const json& want, uint64_t got) {
    if (want.is_number_unsigned()) {
        const uint64_t w = want.get<uint64_t>();
        return got == w || (w <= 0xffffffffu && static_cast<uint32_t>(got) == w);
    }
    const int64_t w = want.get<int64_t>();
    return got == static_cast<uint64_t>(w) || (w >= INT32_MIN && static_cast<uint32_t>(got) == static_cast<uint32_t>(w));
}

/// Runs one case; a malformed case is an Error, a mismatch a failure in the result.
Result<SpecCaseResult> run_case(Object& obj, const json& c, size_t index, const SpecOptions& options,
                                const SpecError& err, const std::set<std::string>& kernel_ignore_maps,
                                std::map<std::string, CoverageCounters>* coverage) {
    const std::string path = "cases[" + std::to_string(index) + "]";
    BPFVM_TRY(check_keys(c, path,
                         {"name", "program", "data", "ctx", "repeat", "maps", "expect", "engine", "description", "kernel",
                          "max_insns"},
                         err));
    bool with_kernel = options.also_kernel;
    if (c.contains("kernel")) {
        if (!c["kernel"].is_boolean()) return err(path + ".kernel", "expected true or false");
        with_kernel = with_kernel && c["kernel"].get<bool>();
    }
    SpecCaseResult result;
    result.name = path;
    if (c.contains("name")) {
        auto n = get_string(c["name"], path + ".name", err);
        if (!n) return n.error();
        result.name = *n;
    }
    std::string program;
    if (c.contains("program")) {
        auto p = get_string(c["program"], path + ".program", err);
        if (!p) return p.error();
        program = *p;
    } else if (obj.file().programs.size() == 1) {
        program = obj.file().programs[0].name;
    } else {
        return err(path, "missing \"program\" (the object has " + std::to_string(obj.file().programs.size()) + " programs)");
    }
    TestRunInput input;
    input.engine = options.engine;
    input.mode = options.no_verify ? RunMode::Checked : RunMode::Auto;
    input.coverage = coverage;
    if (c.contains("engine")) {
        auto e = get_string(c["engine"], path + ".engine", err);
        if (!e) return e.error();
        auto k = parse_engine(*e);
        if (!k) return err(path + ".engine", k.error().message);
        input.engine = *k;
    }
    for (const char* field : {"data", "ctx"}) {
        if (!c.contains(field)) continue;
        auto bytes = get_bytes(c[field], 0, path + "." + field, err);
        if (!bytes) return bytes.error();
        (std::string(field) == "data" ? input.data : input.ctx) = std::move(*bytes);
    }
    if (c.contains("repeat")) {
        auto n = get_uint(c["repeat"], 1, 1'000'000'000, path + ".repeat", err);
        if (!n) return n.error();
        input.repeat = static_cast<uint32_t>(*n);
    }
    if (c.contains("max_insns")) {
        auto n = get_uint(c["max_insns"], 1, kMaxInsnBudget, path + ".max_insns", err);
        if (!n) return n.error();
        input.insn_budget = *n;
    }
    Status reset = obj.reset_maps();
    if (!reset) return reset.error();
    std::vector<spec_kernel::MapPreset> presets;
    if (c.contains("maps")) BPFVM_TRY(apply_maps(obj, c["maps"], path + ".maps", err, presets));

    const json expect = c.contains("expect") ? c["expect"] : json::object();
    const std::string xpath = path + ".expect";
    BPFVM_TRY(check_keys(expect, xpath, {"retval", "not_retval", "data", "ctx", "maps", "trace", "error", "events"}, err));
    for (const char* field : {"retval", "not_retval"})
        if (expect.contains(field) && !expect[field].is_number_integer())
            return err(xpath + "." + field, "expected an integer");

    auto run = obj.test_run(program, input);
    if (run) result.warnings = run->warnings;
    if (options.also_kernel) {
        if (!with_kernel) {
            result.kernel = "not compared: the case says \"kernel\": false";
        } else {
            const spec_kernel::KernelCase kc{program, input, presets, kernel_ignore_maps};
            spec_kernel::KernelComparison cmp = spec_kernel::compare_with_kernel(kc, obj, run);
            result.kernel = cmp.note;
            for (auto& d : cmp.differences) result.failures.push_back("differs from the kernel: " + d);
        }
    }
    if (expect.contains("error")) {
        auto want = get_string(expect["error"], xpath + ".error", err);
        if (!want) return want.error();
        if (run)
            result.failures.push_back("expected an error containing \"" + *want + "\", but the run succeeded");
        else if (run.error().to_string().find(*want) == std::string::npos)
            result.failures.push_back("expected an error containing \"" + *want + "\", got: " + run.error().to_string());
        result.passed = result.failures.empty();
        return result;
    }
    if (!run) {
        result.failures.push_back(run.error().to_string());
        result.unsupported = run.error().code == ErrorCode::kUnsupported;
        return result;
    }
    if (expect.contains("retval") && !retval_matches(expect["retval"], run->retval))
        result.failures.push_back("expected retval " + expect["retval"].dump() + ", got " + std::to_string(run->retval));
    if (expect.contains("not_retval") && retval_matches(expect["not_retval"], run->retval))
        result.failures.push_back("expected any retval but " + expect["not_retval"].dump() + ", got " +
                                  std::to_string(run->retval));
    for (const char* field : {"data", "ctx"}) {
        if (!expect.contains(field)) continue;
        auto want = get_bytes(expect[field], 0, xpath + "." + field, err);
        if (!want) return want.error();
        const auto& got = std::string(field) == "data" ? run->data_out : run->ctx_out;
        if (*want != got) result.failures.push_back(diff_bytes(field, *want, got));
    }
    if (expect.contains("trace")) {
        const json& t = expect["trace"];
        if (!t.is_array()) return err(xpath + ".trace", "expected an array of strings");
        std::vector<std::string> want;
        for (size_t i = 0; i < t.size(); ++i) {
            auto line = get_string(t[i], xpath + ".trace[" + std::to_string(i) + "]", err);
            if (!line) return line.error();
            want.push_back(*line);
        }
        if (want != run->trace) {
            std::string msg = "trace differs\n      expected:";
            for (const auto& l : want) msg += "\n        " + l;
            msg += "\n      got:";
            for (const auto& l : run->trace) msg += "\n        " + l;
            result.failures.push_back(msg);
        }
    }
    if (expect.contains("events")) {
        const json& ev = expect["events"];
        if (!ev.is_array()) return err(xpath + ".events", "expected an array of hex strings");
        std::vector<std::vector<uint8_t>> want;
        for (size_t i = 0; i < ev.size(); ++i) {
            auto b = get_bytes(ev[i], 0, xpath + ".events[" + std::to_string(i) + "]", err);
            if (!b) return b.error();
            want.push_back(*b);
        }
        if (want.size() != run->events.size()) {
            result.failures.push_back("expected " + std::to_string(want.size()) + " events, got " +
                                      std::to_string(run->events.size()));
        } else {
            for (size_t i = 0; i < want.size(); ++i)
                if (want[i] != run->events[i].data)
                    result.failures.push_back(diff_bytes(("events[" + std::to_string(i) + "]").c_str(), want[i], run->events[i].data));
        }
    }
    if (expect.contains("maps")) BPFVM_TRY(compare_maps(obj, expect["maps"], xpath + ".maps", err, result.failures));
    result.passed = result.failures.empty();
    return result;
}

/// The top-level "map_sizes" ({"NAME": N}: max_entries for maps sized at load time) and
/// "program_types" ({"PROGRAM": "xdp"}: types for sections libbpf does not name).
Status apply_object_settings(Object& obj, const json& spec, const SpecError& err) {
    if (spec.contains("map_sizes")) {
        const json& sizes = spec["map_sizes"];
        if (!sizes.is_object()) return err("map_sizes", "expected an object mapping map names to sizes");
        for (auto it = sizes.begin(); it != sizes.end(); ++it) {
            auto n = get_uint(it.value(), 1, UINT32_MAX, "map_sizes." + it.key(), err);
            if (!n) return n.error();
            Status s = obj.set_map_size(it.key(), static_cast<uint32_t>(*n));
            if (!s) return err("map_sizes." + it.key(), s.error().message);
        }
    }
    if (spec.contains("program_types")) {
        const json& types = spec["program_types"];
        if (!types.is_object()) return err("program_types", "expected an object mapping program names to types");
        for (auto it = types.begin(); it != types.end(); ++it) {
            auto name = get_string(it.value(), "program_types." + it.key(), err);
            if (!name) return name.error();
            auto type = parse_program_type(*name);
            if (!type) return err("program_types." + it.key(), type.error().message);
            Status s = obj.set_program_type(it.key(), *type);
            if (!s) return err("program_types." + it.key(), s.error().message);
        }
    }
    return {};
}

}  // namespace

size_t SpecReport::passed() const {
    size_t n = 0;
    for (const auto& c : cases) n += c.passed ? 1 : 0;
    return n;
}
size_t SpecReport::failed() const { return cases.size() - passed(); }

Result<SpecReport> run_spec_text(std::string_view text, const std::string& path, const SpecOptions& options) {
    const SpecError err{path};
    json spec;
    try {
        spec = json::parse(text.begin(), text.end(), nullptr, true, /*ignore_comments=*/true);
    } catch (const json::exception& e) {
        return make_error(ErrorCode::kMalformed, path + ": invalid JSON: " + e.what());
    }
    if (!spec.is_object()) return err("(top level)", "expected an object with \"object\" and \"cases\"");
    BPFVM_TRY(check_keys(spec, "(top level)",
                         {"object", "cases", "description", "btf", "kernel_ignore_maps", "map_sizes", "program_types"}, err));
    std::set<std::string> kernel_ignore_maps;
    if (spec.contains("kernel_ignore_maps")) {
        const json& ig = spec["kernel_ignore_maps"];
        if (!ig.is_array()) return err("kernel_ignore_maps", "expected an array of map names");
        for (size_t i = 0; i < ig.size(); ++i) {
            auto name = get_string(ig[i], "kernel_ignore_maps[" + std::to_string(i) + "]", err);
            if (!name) return name.error();
            kernel_ignore_maps.insert(*name);
        }
    }
    if (options.also_kernel) {
        const kernel::Probe probe = kernel::probe();
        if (!probe.usable)
            return make_error(ErrorCode::kPermission,
                              path + ": --also-kernel: this process cannot use bpf(): " + probe.reason);
    }
    std::string object = options.object_override;
    const std::filesystem::path base = std::filesystem::path(path).parent_path();
    if (object.empty()) {
        if (!spec.contains("object")) return err("object", "missing (the object file, relative to the spec's folder)");
        auto o = get_string(spec["object"], "object", err);
        if (!o) return o.error();
        object = (base / *o).string();
    }
    ObjectOptions oopts;
    if (spec.contains("btf")) {
        auto b = get_string(spec["btf"], "btf", err);
        if (!b) return b.error();
        oopts.load.target_btf_path = (base / *b).string();
    }
    if (!spec.contains("cases") || !spec["cases"].is_array()) return err("cases", "expected an array of cases");
    auto obj = Object::open(object, oopts);
    if (!obj) {
        Error e = obj.error();
        e.message = "object: " + (e.where.empty() ? "" : e.where + ": ") + e.message;
        e.where = path;
        return e;
    }
    BPFVM_TRY(apply_object_settings(*obj, spec, err));
    SpecReport report;
    std::map<std::string, CoverageCounters> counts;
    for (size_t i = 0; i < spec["cases"].size(); ++i) {
        auto r = run_case(*obj, spec["cases"][i], i, options, err, kernel_ignore_maps,
                          options.coverage ? &counts : nullptr);
        if (!r) return r.error();
        for (const std::string& w : r->warnings)
            if (std::find(report.warnings.begin(), report.warnings.end(), w) == report.warnings.end())
                report.warnings.push_back(w);
        report.cases.push_back(std::move(*r));
    }
    if (options.coverage) report.coverage = coverage_report(*obj, counts);
    return report;
}

Result<SpecReport> run_spec_file(const std::string& path, const SpecOptions& options) {
    auto text = read_input_file(path);
    if (!text) return text.error();
    return run_spec_text(*text, path, options);
}

}  // namespace bpfvm
