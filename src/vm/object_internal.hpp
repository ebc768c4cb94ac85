// Object::Impl, shared by object.cpp (maps, program resolution) and testrun.cpp (running).
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpfvm/bpfvm.hpp"
#include "bpfvm/maps.hpp"
#include "testrun_internal.hpp"

namespace bpfvm {

/// One program of an Object. Its address is what prog_array slots hold (the tail-call target).
struct ProgEntry {
    Object::Impl* owner = nullptr;
    uint32_t index = 0;                    // into ObjectFile::programs
    std::optional<Program> runnable;       // resolved and converted (lazy)
    uint32_t max_ctx_end = 0;              // largest context offset+size the program accesses
    // Prepared executables: [engine][checked].
    std::array<std::array<std::unique_ptr<Executable>, 2>, 2> exec;
};

struct Object::Impl {
    ObjectFile file;
    std::vector<std::unique_ptr<maps::Map>> maps;   // parallel to file.maps; null when creation failed
    std::vector<std::optional<Error>> map_errors;   // why a map could not be created
    std::vector<std::unique_ptr<ProgEntry>> progs;  // parallel to file.programs
    std::vector<MemRegion> value_regions;           // global data values programs address directly
    HelperTable helpers;

    /// "file: program" for messages.
    std::string where(const ProgEntry& e) const;
    /// Creates (or re-creates) every map and fills static slots; drops prepared programs.
    Status create_maps();
    /// Resolves map references and converts context accesses of `e` (once).
    Status resolve(ProgEntry& e);
    /// The executable of `e` for an engine (prepared once).
    Result<const Executable*> executable(ProgEntry& e, EngineKind engine, const EngineOptions& options);
    /// The entry of a program by function or section name; kNotFound lists the programs.
    Result<ProgEntry*> find(std::string_view name);
    /// True if `p` is one of this object's ProgEntry addresses.
    ProgEntry* entry_from_pointer(const void* p) const;
};

/// Runs `entry` as BPF_PROG_TEST_RUN would (testrun.cpp).
Result<TestRunResult> run_test(Object::Impl& impl, ProgEntry& entry, const TestRunInput& input);

}  // namespace bpfvm
