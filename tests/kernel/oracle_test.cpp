// The kernel oracle: every case of every example spec runs through the real kernel
// (BPF_PROG_TEST_RUN over raw bpf() syscalls) and through bpfvm (interpreter, and JIT when built).
// The test asserts that the kernel agrees with the spec's expectations and that bpfvm agrees with
// the kernel: same retval, same data_out, same contents of every map afterwards (and, for tc
// programs, the same skb->mark in ctx_out).
//
// Only the known example programs go to the kernel. Without bpf() privileges (CAP_BPF) the kernel
// part is skipped with the reason; tracepoint programs are loaded (so the verifier checks them) but
// cannot be test-run by the kernel, so they are compared with the spec only.
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bpfvm/bpfvm.hpp"
#include "bpfvm/kernel.hpp"
#include "bpfvm/object.hpp"
#include "kernel_test_util.hpp"
#include "spec.hpp"

namespace bpfvm::oracle {
namespace {

using Bytes = std::vector<uint8_t>;
// Keyed by the hex of the key (std::less on byte vectors trips a g++ 12 -Wstringop-overread false positive).
using MapContents = std::map<std::string, std::map<std::string, Bytes>>;

/// Every example with a spec in the build folder (X of X.test.json), sorted.
std::vector<std::string> example_names() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(BPFVM_EXAMPLES_BUILD_DIR, ec)) {
        const std::string file = entry.path().filename().string();
        const std::string suffix = ".test.json";
        if (file.size() > suffix.size() && file.ends_with(suffix))
            names.push_back(file.substr(0, file.size() - suffix.size()));
    }
    std::sort(names.begin(), names.end());
    if (names.empty()) names.push_back("missing_examples");  // fails visibly: the examples were not built
    return names;
}

/// What one run produced, in a form both engines and the kernel share.
struct Outcome {
    uint32_t retval = 0;
    Bytes data;
    std::optional<uint32_t> mark;  // skb->mark from ctx_out (tc programs)
    MapContents maps;
    std::map<std::string, std::vector<Bytes>> events;  // ring buffer records by map name
};


uint32_t key_size_of(const MapSpec& spec) {
    return spec.kind == MapKind::BtfMap || spec.kind == MapKind::Legacy ? spec.key_size : 4;
}

bool is_skb_program(ProgramType type) {
    return type == ProgramType::SchedCls || type == ProgramType::SchedAct;
}

/// tc programs get a zeroed struct __sk_buff as ctx when the spec has none, so that the kernel
/// copies skb->mark back and the mark the program sets can be compared.
Bytes effective_ctx(const SpecCase& c, ProgramType type) {
    if (!c.ctx.empty() || !is_skb_program(type)) return c.ctx;
    return Bytes(sizeof(struct __sk_buff), 0);
}

std::optional<uint32_t> mark_of(const Bytes& ctx_out, ProgramType type) {
    if (!is_skb_program(type) || ctx_out.size() < offsetof(struct __sk_buff, mark) + 4) return std::nullopt;
    uint32_t mark = 0;
    std::memcpy(&mark, ctx_out.data() + offsetof(struct __sk_buff, mark), 4);
    return mark;
}

Result<Outcome> run_in_kernel(const ObjectFile& file, const SpecCase& c, ProgramType type) {
    auto ko = kernel::KernelObject::open(file);
    if (!ko) return ko.error();
    if (auto st = ko->load_all(); !st) return st.error();
    for (const auto& [name, entries] : c.maps) {
        const MapSpec* spec = file.find_map(name);
        if (spec == nullptr) return make_error(ErrorCode::kNotFound, "spec names unknown map '" + name + "'");
        for (const auto& e : entries) {
            auto key = spec_bytes(e.key, key_size_of(*spec));
            if (!key) return key.error();
            auto value = spec_bytes(e.value, spec->value_size);
            if (!value) return value.error();
            if (auto st = ko->update_map(name, *key, *value); !st) return st.error();
        }
    }
    kernel::TestRunInput in;
    in.data = c.data;
    in.ctx = effective_ctx(c, type);
    in.repeat = c.repeat;
    auto run = ko->test_run(c.program, in);
    if (!run) return run.error();
    Outcome out;
    out.retval = run->retval;
    out.data = run->data;
    out.mark = mark_of(run->ctx, type);
    for (const MapSpec& spec : file.maps) {
        if (spec.type == MapType::Ringbuf) {
            auto records = ko->drain_ringbuf(spec.name);
            if (!records) return records.error();
            out.events[spec.name] = std::move(*records);
            continue;
        }
        if (!kernel::map_contents_readable(spec)) continue;
        auto dump = ko->dump_map(spec.name);
        if (!dump) return dump.error();
        auto& m = out.maps[spec.name];
        for (auto& [k, v] : *dump) m[hex(k)] = v;
    }
    return out;
}

Result<Outcome> run_in_bpfvm(const std::string& path, const SpecCase& c, ProgramType type, EngineKind engine,
                             bool checked = true) {
    auto obj = Object::open(path);
    if (!obj) return obj.error();
    for (const auto& [name, entries] : c.maps) {
        auto map = obj->map(name);
        if (!map) return map.error();
        for (const auto& e : entries) {
            auto key = spec_bytes(e.key, map->raw().key_size());
            if (!key) return key.error();
            auto value = spec_bytes(e.value, map->raw().sys_value_size());
            if (!value) return value.error();
            if (auto st = map->update_bytes(*key, *value); !st) return st.error();
        }
    }
    TestRunInput in;
    in.data = c.data;
    in.ctx = effective_ctx(c, type);
    in.repeat = c.repeat;
    in.engine = engine;
    in.mode = checked ? RunMode::Checked : RunMode::Unchecked;
    auto run = obj->test_run(c.program, in);
    if (!run) return run.error();
    Outcome out;
    out.retval = static_cast<uint32_t>(run->retval);
    out.data = run->data_out;
    out.mark = mark_of(run->ctx_out, type);
    for (const MapSpec& spec : obj->file().maps)
        if (spec.type == MapType::Ringbuf) out.events[spec.name];  // present even when empty
    for (const RunEvent& e : run->events) out.events[e.map].push_back(e.data);
    for (const MapSpec& spec : obj->file().maps) {
        if (!kernel::map_contents_readable(spec)) continue;
        auto map = obj->map(spec.name);
        if (!map) return map.error();
        auto& m = out.maps[spec.name];
        for (const auto& key : map->keys()) {
            auto value = map->lookup_bytes(key);
            if (!value) return value.error();
            m[hex(key)] = *value;
        }
    }
    return out;
}

/// Differences between two outcomes, one line each ("" when equal).
std::string compare(const Outcome& want, const Outcome& got, const std::string& want_name,
                    const std::string& got_name) {
    std::string diff;
    if (want.retval != got.retval)
        diff += "retval: " + want_name + " " + std::to_string(want.retval) + ", " + got_name + " " +
                std::to_string(got.retval) + "\n";
    if (want.data != got.data)
        diff += "data_out: " + want_name + " " + hex(want.data) + ", " + got_name + " " + hex(got.data) + "\n";
    if (want.mark && got.mark && *want.mark != *got.mark)
        diff += "skb->mark: " + want_name + " " + std::to_string(*want.mark) + ", " + got_name + " " +
                std::to_string(*got.mark) + "\n";
    for (const auto& [name, records] : want.events) {
        auto it = got.events.find(name);
        const std::vector<Bytes> none;
        const std::vector<Bytes>& other = it == got.events.end() ? none : it->second;
        if (records.size() != other.size())
            diff += "ringbuf " + name + ": " + want_name + " " + std::to_string(records.size()) + " records, " +
                    got_name + " " + std::to_string(other.size()) + "\n";
        for (size_t i = 0; i < records.size() && i < other.size(); ++i)
            if (records[i] != other[i])
                diff += "ringbuf " + name + " record " + std::to_string(i) + ": " + want_name + " " + hex(records[i]) +
                        ", " + got_name + " " + hex(other[i]) + "\n";
    }
    for (const auto& [name, entries] : want.maps) {
        auto it = got.maps.find(name);
        if (it == got.maps.end()) {
            diff += "map " + name + ": missing in " + got_name + "\n";
            continue;
        }
        for (const auto& [k, v] : entries) {
            auto e = it->second.find(k);
            if (e == it->second.end())
                diff += "map " + name + " key " + k + ": " + want_name + " " + hex(v) + ", absent in " +
                        got_name + "\n";
            else if (e->second != v)
                diff += "map " + name + " key " + k + ": " + want_name + " " + hex(v) + ", " + got_name + " " +
                        hex(e->second) + "\n";
        }
        for (const auto& [k, v] : it->second)
            if (!entries.count(k))
                diff += "map " + name + " key " + k + ": absent in " + want_name + ", " + got_name + " " +
                        hex(v) + "\n";
    }
    return diff;
}

/// Differences between an outcome and the spec's expectations.
std::string check_expectations(const SpecCase& c, const ObjectFile& file, const Outcome& got, const std::string& who) {
    std::string diff;
    if (c.expect_retval && static_cast<uint32_t>(*c.expect_retval) != got.retval)
        diff += who + " retval " + std::to_string(got.retval) + ", spec expects " + std::to_string(*c.expect_retval) +
                "\n";
    if (c.expect_data && *c.expect_data != got.data)
        diff += who + " data_out " + hex(got.data) + ", spec expects " + hex(*c.expect_data) + "\n";
    for (const auto& [name, entries] : c.expect_maps) {
        const MapSpec* spec = file.find_map(name);
        auto it = got.maps.find(name);
        if (spec == nullptr || it == got.maps.end()) {
            diff += who + ": no map '" + name + "'\n";
            continue;
        }
        for (const auto& e : entries) {
            auto key = spec_bytes(e.key, key_size_of(*spec));
            auto value = spec_bytes(e.value, spec->value_size);
            if (!key || !value) {
                diff += "spec entry of map '" + name + "' does not fit the map\n";
                continue;
            }
            auto found = it->second.find(hex(*key));
            if (found == it->second.end())
                diff += who + " map " + name + ": key " + hex(*key) + " absent, spec expects " + hex(*value) + "\n";
            else if (found->second != *value)
                diff += who + " map " + name + " key " + hex(*key) + ": " + hex(found->second) + ", spec expects " +
                        hex(*value) + "\n";
        }
    }
    return diff;
}

std::vector<EngineKind> engines() {
#ifdef BPFVM_TEST_HAVE_JIT
    return {EngineKind::Interp, EngineKind::Jit};
#else
    return {EngineKind::Interp};
#endif
}

const char* engine_label(EngineKind e) { return e == EngineKind::Interp ? "interp" : "jit"; }

class KernelOracle : public ::testing::TestWithParam<std::string> {};

TEST_P(KernelOracle, KernelAndBpfvmAgree) {
    const std::string name = GetParam();
    const std::string spec_path = std::string(BPFVM_EXAMPLES_BUILD_DIR) + "/" + name + ".test.json";
    auto spec = load_spec(spec_path);
    ASSERT_TRUE(spec.has_value()) << spec.error().to_string();
    auto file = load_object(spec->object);
    ASSERT_TRUE(file.has_value()) << file.error().to_string();

    kernel::Probe probe = kernel::probe();
    std::string skip_reason;
    if (const std::string why = ktest::kernel_unavailable(); !why.empty()) {
        probe.usable = false;
        skip_reason = why;
    }
    if (auto neg = kernel::find_neg(*file); neg && probe.usable) {
        ADD_FAILURE() << "example program " << *neg << " contains a neg: not sent to the kernel (verifier crash hazard)";
        probe.usable = false;
        skip_reason = "contains a neg instruction";
    }

    // Every program must pass the kernel verifier, whether or not it can be test-run.
    if (probe.usable) {
        auto ko = kernel::KernelObject::open(*file);
        ASSERT_TRUE(ko.has_value()) << ko.error().to_string();
        auto st = ko->load_all();
        ASSERT_TRUE(st.has_value()) << st.error().to_string();
    }

    for (const SpecCase& c : spec->cases) {
        SCOPED_TRACE(name + ": " + c.name);
        const ProgramSpec* prog = file->find_program(c.program);
        ASSERT_NE(prog, nullptr) << "no program " << c.program;
        std::string line = "[oracle] " + name + " / " + c.name + ":";

        std::optional<Outcome> reference;
        if (probe.usable && kernel::supports_test_run(prog->type)) {
            auto k = run_in_kernel(*file, c, prog->type);
            if (!k) {
                ADD_FAILURE() << "kernel: " << k.error().to_string();
                std::cout << line << " kernel ERROR\n";
                continue;
            }
            EXPECT_EQ(check_expectations(c, *file, *k, "kernel"), "");
            reference = std::move(*k);
            line += " kernel retval=" + std::to_string(reference->retval);
        } else if (probe.usable) {
            skip_reason = "the kernel cannot BPF_PROG_TEST_RUN " + program_type_name(prog->type) +
                          " programs; they were loaded (verifier accepted) and bpfvm was checked against the spec only";
            line += " kernel: no test-run for " + program_type_name(prog->type);
        }

        for (EngineKind engine : engines()) {
            const std::string who = std::string("bpfvm-") + engine_label(engine);
            auto v = run_in_bpfvm(spec->object, c, prog->type, engine);
            if (!v) {  // keep going: the other cases and engines still say something
                ADD_FAILURE() << who << ": " << v.error().to_string();
                line += " " + who + " ERROR";
                // A trap in checked mode: say whether the unchecked run would have matched the kernel,
                // which tells a bounds-checker gap from a wrong result.
                if (v.error().code == ErrorCode::kRuntime && reference) {
                    auto u = run_in_bpfvm(spec->object, c, prog->type, engine, /*checked=*/false);
                    if (u) line += compare(*reference, *u, "kernel", who).empty() ? " (unchecked: same as kernel)"
                                                                                   : " (unchecked: differs)";
                }
                continue;
            }
            EXPECT_EQ(check_expectations(c, *file, *v, who), "");
            line += " " + who + " retval=" + std::to_string(v->retval);
            if (reference) {
                const std::string diff = compare(*reference, *v, "kernel", who);
                EXPECT_EQ(diff, "");
                size_t records = 0;
                for (const auto& [map, list] : reference->events) records += list.size();
                std::string same = " (same data, maps";
                if (reference->mark) same += ", mark";
                if (!reference->events.empty()) same += ", " + std::to_string(records) + " ringbuf records";
                line += diff.empty() ? same + ")" : " (DIFFERS)";
            }
        }
        std::cout << line << "\n";
    }
    if (!skip_reason.empty()) GTEST_SKIP() << skip_reason;
}

INSTANTIATE_TEST_SUITE_P(Examples, KernelOracle, ::testing::ValuesIn(example_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace bpfvm::oracle
