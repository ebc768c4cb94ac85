// `bpfvm test --also-kernel`: the same case through the kernel's BPF_PROG_TEST_RUN, compared with
// bpfvm's run field by field: refused or not (and with which errno), retval (the kernel reports
// its low 32 bits), data_out, ctx_out where the kernel returns one, ring buffer records, and the
// contents of every readable map except those the spec lists in kernel_ignore_maps (state that
// depends on the calling task or the clock, such as timestamps keyed by thread id).
#include "spec_kernel.hpp"

#include <cstring>
#include <map>

#include "bpfvm/kernel.hpp"
#include "bpfvm/io.hpp"

namespace bpfvm::spec_kernel {
namespace {

using Contents = std::map<std::string, std::vector<uint8_t>>;  // key hex -> value

std::string show(std::span<const uint8_t> bytes) { return bytes.empty() ? "(empty)" : to_hex(bytes); }

bool percpu(MapType t) {
    return t == MapType::PercpuArray || t == MapType::PercpuHash || t == MapType::LruPercpuHash ||
           t == MapType::PercpuCgroupStorage;
}

Result<Contents> bpfvm_contents(Object& obj, const std::string& name) {
    auto m = obj.map(name);
    if (!m) return m.error();
    Contents out;
    for (const auto& key : m->keys()) {
        auto value = m->lookup_bytes(key);
        if (value) out[to_hex(key)] = std::move(*value);
    }
    return out;
}

void compare_contents(const std::string& name, const Contents& kernel, const Contents& vm,
                      std::vector<std::string>& diffs) {
    for (const auto& [k, v] : kernel) {
        auto it = vm.find(k);
        if (it == vm.end())
            diffs.push_back("map " + name + " key " + k + ": kernel " + show(v) + ", bpfvm has no entry");
        else if (it->second != v)
            diffs.push_back("map " + name + " key " + k + ": kernel " + show(v) + ", bpfvm " + show(it->second));
    }
    for (const auto& [k, v] : vm)
        if (!kernel.count(k)) diffs.push_back("map " + name + " key " + k + ": kernel has no entry, bpfvm " + show(v));
}

}  // namespace

std::string errno_name_in(const std::string& message) {
    for (size_t pos = message.find("(E"); pos != std::string::npos; pos = message.find("(E", pos + 1)) {
        size_t end = pos + 2;
        while (end < message.size() &&
               ((message[end] >= 'A' && message[end] <= 'Z') || (message[end] >= '0' && message[end] <= '9')))
            ++end;
        if (end < message.size() && message[end] == ')' && end > pos + 2) return message.substr(pos + 1, end - pos - 1);
    }
    return "";
}

KernelComparison compare_with_kernel(const KernelCase& c, Object& obj, const Result<TestRunResult>& run) {
    KernelComparison out;
    const ObjectFile& file = obj.file();
    const ProgramSpec* spec = file.find_program(c.program);
    if (spec == nullptr) {
        out.note = "not compared: no program '" + c.program + "'";
        return out;
    }
    if (!kernel::supports_test_run(spec->type)) {
        out.note = "not compared: the kernel has no test-run for " + program_type_name(spec->type) + " programs";
        return out;
    }
    if (auto neg = kernel::find_neg(file)) {
        out.note = "not compared: program " + *neg + " contains a neg instruction (never sent to this kernel)";
        return out;
    }
    auto ko = kernel::KernelObject::open(file);
    if (!ko) {
        out.differences.push_back("kernel: " + ko.error().to_string());
        return out;
    }
    if (auto st = ko->load_all(); !st) {
        out.differences.push_back("kernel: " + st.error().to_string());
        return out;
    }
    for (const MapPreset& p : c.presets) {
        const MapSpec* m = file.find_map(p.map);
        if (m != nullptr && percpu(m->type)) {
            auto layout = ko->map_layout(p.map);
            if (layout && layout->value_size != p.value.size()) {
                out.note = "not compared: per-cpu map " + p.map + " has " + std::to_string(layout->value_size) +
                           " value bytes in the kernel (its possible cpus), " + std::to_string(p.value.size()) +
                           " in bpfvm";
                return out;
            }
        }
        uint32_t slot = 0;
        if (!p.program.empty() && p.key.size() == 4) std::memcpy(&slot, p.key.data(), 4);
        Status st =
            p.program.empty() ? ko->update_map(p.map, p.key, p.value) : ko->set_prog_array_slot(p.map, slot, p.program);
        if (!st) {
            out.differences.push_back("kernel: initial entry of " + p.map + ": " + st.error().to_string());
            return out;
        }
    }
    kernel::TestRunInput in;
    in.data = c.input.data;
    in.ctx = c.input.ctx;
    in.repeat = c.input.repeat;
    auto k = ko->test_run(c.program, in);
    out.compared = true;

    // Refused or not, and why.
    if (!k || !run) {
        if (k && !run)
            out.differences.push_back("the kernel ran the case (retval " + std::to_string(k->retval) +
                                      "), bpfvm failed: " + run.error().to_string());
        else if (!k && run)
            out.differences.push_back("the kernel refused the case (" + k.error().message + "), bpfvm ran it (retval " +
                                      std::to_string(run->retval) + ")");
        else if (errno_name_in(k.error().message) != errno_name_in(run.error().to_string()))
            out.differences.push_back("both refused, the kernel with " + errno_name_in(k.error().message) + " (" +
                                      k.error().message + "), bpfvm with '" + errno_name_in(run.error().to_string()) +
                                      "'");
        out.note =
            out.differences.empty() ? "same as the kernel (refused: " + errno_name_in(k.error().message) + ")" : "";
        return out;
    }
    if (static_cast<uint32_t>(run->retval) != k->retval)
        out.differences.push_back("retval: kernel " + std::to_string(k->retval) + ", bpfvm " +
                                  std::to_string(static_cast<uint32_t>(run->retval)));
    if (!k->data.empty() || !in.data.empty())
        if (k->data != run->data_out)
            out.differences.push_back("data_out: kernel " + show(k->data) + ", bpfvm " + show(run->data_out));
    if (!k->ctx.empty() && k->ctx != run->ctx_out)
        out.differences.push_back("ctx_out: kernel " + show(k->ctx) + ", bpfvm " + show(run->ctx_out));

    std::string compared = "retval";
    if (!in.data.empty()) compared += ", data";
    if (!k->ctx.empty()) compared += ", ctx";
    for (const MapSpec& m : file.maps) {
        if (c.ignore_maps.count(m.name)) continue;
        if (m.type == MapType::Ringbuf) {
            auto records = ko->drain_ringbuf(m.name);
            if (!records) {
                out.differences.push_back("kernel: " + records.error().to_string());
                continue;
            }
            std::vector<std::vector<uint8_t>> vm;
            for (const RunEvent& e : run->events)
                if (e.map == m.name) vm.push_back(e.data);
            if (vm.size() != records->size())
                out.differences.push_back("ringbuf " + m.name + ": kernel " + std::to_string(records->size()) +
                                          " records, bpfvm " + std::to_string(vm.size()));
            for (size_t i = 0; i < vm.size() && i < records->size(); ++i)
                if (vm[i] != (*records)[i])
                    out.differences.push_back("ringbuf " + m.name + " record " + std::to_string(i) + ": kernel " +
                                              show((*records)[i]) + ", bpfvm " + show(vm[i]));
            compared += ", " + m.name;
            continue;
        }
        if (!kernel::map_contents_readable(m)) continue;
        auto dump = ko->dump_map(m.name);
        if (!dump) {
            out.differences.push_back("kernel: " + dump.error().to_string());
            continue;
        }
        Contents kernel_contents;
        for (auto& [key, value] : *dump) kernel_contents[to_hex(key)] = std::move(value);
        auto vm = bpfvm_contents(obj, m.name);
        if (!vm) {
            out.differences.push_back("bpfvm: " + vm.error().to_string());
            continue;
        }
        if (percpu(m.type) && !kernel_contents.empty() && !vm->empty() &&
            kernel_contents.begin()->second.size() != vm->begin()->second.size())
            continue;  // different cpu counts: per-cpu values cannot be compared byte for byte
        compare_contents(m.name, kernel_contents, *vm, out.differences);
        compared += ", " + m.name;
    }
    if (out.differences.empty()) out.note = "same as the kernel (" + compared + ")";
    return out;
}

}  // namespace bpfvm::spec_kernel
