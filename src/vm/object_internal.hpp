// Object::Impl, shared by object.cpp (maps, the stages) and run.cpp (test runs).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpfvm/bpfvm.hpp"
#include "bpfvm/maps.hpp"

namespace bpfvm {

/// One executable of a program, for one set of engine options.
struct PreparedExec {
    EngineKind engine = EngineKind::Interp;
    EngineOptions options;
    std::unique_ptr<Executable> exec;
};

/// One program of an Object and what the stages made of it. Its address is what prog_array slots
/// hold (the tail-call target).
struct ProgEntry {
    Object::Impl* owner = nullptr;
    uint32_t index = 0;                       // into ObjectFile::programs
    std::optional<Verification> verification; // stage 2, once per options
    VerifyOptions verified_with;
    std::optional<Status> resolved;           // stage 3a: maps resolved and context converted, once
    std::optional<Program> runnable;          // the result when `resolved` is ok
    uint32_t max_ctx_end = 0;                 // largest context offset+size the program accesses
    std::vector<PreparedExec> execs;          // stage 3b: compiled per engine options
};

struct Object::Impl {
    ObjectFile file;
    bool maps_created = false;
    std::vector<std::unique_ptr<maps::Map>> maps;   // parallel to file.maps; null when creation failed
    std::vector<std::optional<Error>> map_errors;   // why a map could not be created
    std::vector<std::unique_ptr<ProgEntry>> progs;  // parallel to file.programs
    std::vector<MemRegion> value_regions;           // global data values programs address directly
    HelperTable helpers;
    uint64_t max_map_memory = kDefaultMapMemory;   // ObjectOptions::max_map_memory

    const ProgramSpec& spec(const ProgEntry& e) const { return file.programs[e.index]; }
    /// "file: program" for messages.
    std::string where(const ProgEntry& e) const;
    /// Adds `where` and the source line of its pc to an error about `e`.
    Error locate(const ProgEntry& e, Error err) const;
    /// Creates the maps once (Object::reset_maps re-creates them).
    Status ensure_maps();
    /// Creates (or re-creates) every map and fills static slots; drops prepared programs.
    Status create_maps();
    /// Resolves map references and converts context accesses of `e` (once).
    Status resolve(ProgEntry& e);
    Status resolve_once(ProgEntry& e);
    /// The executable of `e` for an engine and options (prepared once).
    Result<const Executable*> executable(ProgEntry& e, EngineKind engine, const EngineOptions& options);
    /// Index of the map called `name`: kNotFound with a suggestion, kInvalidArgument if repeated.
    Result<uint32_t> map_index(std::string_view name) const;
    /// The entry of a program by function name, or a section with one program.
    Result<ProgEntry*> find(std::string_view name) const;
    /// True if `p` is one of this object's ProgEntry addresses.
    ProgEntry* entry_from_pointer(const void* p) const;
    /// Whether `entry` runs with bounds checks under `mode` (Auto: verify it, once); a rejection
    /// adds a warning line.
    bool run_checked(ProgEntry& entry, RunMode mode, std::vector<std::string>& warnings);
    /// Runs `entry` as BPF_PROG_TEST_RUN would (run.cpp).
    Result<TestRunResult> run_test(ProgEntry& entry, const TestRunInput& input);
};

}  // namespace bpfvm
