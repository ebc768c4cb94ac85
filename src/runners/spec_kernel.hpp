// The kernel side of `bpfvm test --also-kernel`: a case that ran in bpfvm runs again through the
// kernel's BPF_PROG_TEST_RUN on fresh kernel maps with the same initial entries, and every
// observable result is compared. Internal to src/runners.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "bpfvm/bpfvm.hpp"

namespace bpfvm::spec_kernel {

/// One initial map entry of a case: a value, or (prog_array) a program for the slot.
struct MapPreset {
    std::string map;
    std::vector<uint8_t> key;
    std::vector<uint8_t> value;
    std::string program;
};

/// A case as the kernel gets it.
struct KernelCase {
    std::string program;
    TestRunInput input;
    std::vector<MapPreset> presets;
    std::set<std::string> ignore_maps;  // the spec's kernel_ignore_maps
};

/// The comparison's outcome: `differences` are failures of the case; `note` says what was
/// compared or why nothing was ("same as the kernel (retval, data, maps)", "not compared: ...").
struct KernelComparison {
    bool compared = false;
    std::string note;
    std::vector<std::string> differences;
};

/// Runs `c` in the kernel and compares it with bpfvm's `run` of the same case on `obj` (whose
/// maps hold bpfvm's state after the run). Programs the kernel cannot test-run, and objects with a
/// `neg` instruction (never sent to the kernel here), are not compared.
KernelComparison compare_with_kernel(const KernelCase& c, Object& obj, const Result<TestRunResult>& run);

/// "EINVAL" from "... (EINVAL) ..." (the first parenthesized errno name), or "".
std::string errno_name_in(const std::string& message);

}  // namespace bpfvm::spec_kernel
