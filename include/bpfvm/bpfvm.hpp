// The embedding API: an ELF eBPF object through the stages a libbpf user knows, each explicit and
// done once per program:
//
//   open     parse the ELF, BTF, relocations and CO-RE, link subprograms into each program (data only)
//   verify   the static verifier's verdict on a program (bpfvm has no verifier yet: "not verified")
//   prepare  create the maps, resolve map references to them, convert context accesses, compile
//
// then test-run programs the way the kernel's BPF_PROG_TEST_RUN does (without root) and read the maps
// back. test_run() runs the stages a program still needs. Enough for a GoogleTest case in a few lines:
//
//   auto obj = bpfvm::Object::open("xdp.o").value();
//   auto r = obj.test_run("xdp_prog", {.data = pkt});
//   EXPECT_EQ(r->retval, XDP_PASS);
//   EXPECT_EQ(obj.map("counts")->value<uint64_t>(0u), 1u);   // or (lookup<uint32_t, uint64_t>(0))
//
// The conformance and test-spec runners live in bpfvm/runners/; raw bytecode runs through vm.hpp.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "bpfvm/limits.hpp"
#include "bpfvm/maps.hpp"
#include "bpfvm/object.hpp"
#include "bpfvm/result.hpp"
#include "bpfvm/testrun.hpp"
#include "bpfvm/verifier.hpp"
#include "bpfvm/vm.hpp"

namespace bpfvm {

/// A map of an opened Object, read and written from C++ like the bpf() syscall commands do.
/// Keys and values are raw bytes sized exactly as the map's key/value size; the typed forms
/// require sizeof(K) == key size and sizeof(V) == value size (else they return nullopt / an error).
class MapHandle {
public:
    explicit MapHandle(maps::Map* map) : map_(map) {}

    const std::string& name() const { return map_->name(); }
    maps::Map& raw() const { return *map_; }

    /// The value stored under `key` (per-CPU maps: every CPU's slot, CPU 0 first); kNotFound if absent.
    Result<std::vector<uint8_t>> lookup_bytes(std::span<const uint8_t> key) const;
    /// Inserts or replaces (flags: maps::kAny, kNoExist, kExist).
    Status update_bytes(std::span<const uint8_t> key, std::span<const uint8_t> value, uint64_t flags = maps::kAny);
    Status erase_bytes(std::span<const uint8_t> key);
    /// Every key, in iteration order.
    std::vector<std::vector<uint8_t>> keys() const { return map_->keys(); }

    template <class K, class V>
    std::optional<V> lookup(const K& key) const {
        static_assert(std::is_trivially_copyable_v<K> && std::is_trivially_copyable_v<V>);
        if (sizeof(K) != map_->key_size() || sizeof(V) != map_->sys_value_size()) return std::nullopt;
        auto bytes = lookup_bytes({reinterpret_cast<const uint8_t*>(&key), sizeof(K)});
        if (!bytes) return std::nullopt;
        V v;
        std::memcpy(&v, bytes->data(), sizeof(V));
        return v;
    }
    /// Same as lookup<K, V> with K deduced from the key: `value<uint64_t>(0)` (one template
    /// argument, so it needs no extra parentheses inside EXPECT_EQ).
    template <class V, class K>
    std::optional<V> value(const K& key) const {
        return lookup<K, V>(key);
    }
    template <class K, class V>
    Status update(const K& key, const V& value, uint64_t flags = maps::kAny) {
        static_assert(std::is_trivially_copyable_v<K> && std::is_trivially_copyable_v<V>);
        return update_bytes({reinterpret_cast<const uint8_t*>(&key), sizeof(K)},
                            {reinterpret_cast<const uint8_t*>(&value), sizeof(V)}, flags);
    }
    template <class K>
    Status erase(const K& key) {
        return erase_bytes({reinterpret_cast<const uint8_t*>(&key), sizeof(K)});
    }

private:
    maps::Map* map_;
};

/// Load options with keep_going set: a program the loader cannot link does not keep the other
/// programs of the object from running (its error is reported when it is run).
inline LoadOptions object_load_defaults() {
    LoadOptions o;
    o.keep_going = true;
    return o;
}

/// Options for Object::open.
struct ObjectOptions {
    LoadOptions load = object_load_defaults();  // target BTF for CO-RE, keep_going, program size limit, ...
    /// Bytes all maps of the object may reserve (maps::memory_estimate); a map beyond it is not
    /// created and its users report why. At most kMaxMapMemory.
    uint64_t max_map_memory = kDefaultMapMemory;
};

/// True when bpfvm performs helper `id` in userspace (object programs); a call to any other
/// named helper stops the run with "helper NAME (#ID) is not supported in userspace".
bool helper_runs_in_userspace(int32_t id);

/// The program type called `name` ("xdp", "sched_cls", "socket_filter", ...: program_type_name's
/// spelling); kInvalidArgument lists the valid names.
Result<ProgramType> parse_program_type(std::string_view name);

/// The verifier's verdict on a program (stage 2).
enum class Verdict : uint8_t {
    NotVerified,  // no verdict (no program type to verify it as): the program runs in checked mode only
    Accept,
    Reject,
};

/// Options of the verify stage: the loader's privileges and the load flags that change the
/// kernel's verdict.
struct VerifyOptions {
    std::optional<ProgramType> type{};  // verify as this type (sections that name none: ".text", "test")
    std::optional<std::string> license{};  // the license the loader passes, when the object has none
    bool privileged = true;             // CAP_BPF + CAP_PERFMON; false: an unprivileged loader
    bool strict_alignment = false;      // BPF_F_STRICT_ALIGNMENT
    bool any_alignment = false;         // BPF_F_ANY_ALIGNMENT
    bool test_state_freq = false;       // BPF_F_TEST_STATE_FREQ
    bool reg_invariants = false;        // BPF_F_TEST_REG_INVARIANTS
    uint64_t insn_limit = 1'000'000;    // instructions processed before "too complex"
    bool log = false;                   // keep the per-instruction state trace

    bool operator==(const VerifyOptions&) const = default;
};

/// Counters of one verification.
struct VerifyStats {
    uint64_t insns_processed = 0;
    uint64_t states = 0;
    uint64_t peak_states = 0;
    uint64_t time_us = 0;
};

/// The outcome of the verify stage for one program.
struct Verification {
    Verdict verdict = Verdict::NotVerified;
    /// Reject: the first violation (instruction, message, source line); NotVerified: why not.
    std::optional<Error> error;
    /// Reject: the registers involved with their abstract values and the branch decisions that led
    /// to the error, one line each.
    std::vector<std::string> detail;
    VerifyStats stats;
    std::string log;             // VerifyOptions::log
    std::vector<verifier::InsnFacts> facts;  // per instruction (Program::insns)
    /// Accepted, but some loads need run-time checks (kernel objects, arena): run it checked.
    bool needs_runtime_checks = false;
};

/// Verifies `spec` of `file` without an Object (the verify stage on its own).
Verification verify_program(const ObjectFile& file, const ProgramSpec& spec, const VerifyOptions& options = {});
/// Verifies raw bytecode (no maps, no BTF) as a program of `options.type`.
Verification verify_bytecode(const Program& program, const VerifyOptions& options);

/// What the prepare stage builds a program for.
struct PrepareOptions {
    std::optional<EngineKind> engine{};  // default: default_engine()
    bool checked = true;                 // bounds checks and instruction budget
    uint64_t insn_budget = kDefaultInsnBudget;  // checked mode only; at most kMaxInsnBudget
};

/// An opened object: the parsed ObjectFile (stage 1), then per program its verification (stage 2)
/// and its prepared executables (stage 3), each computed once and kept, failures included: a stage
/// that failed returns the same error again instead of trying again. Maps are created from the
/// MapSpecs on first use (global data initialized, map-in-map and prog_array slots filled from
/// static initializers). Movable, not copyable. Not thread-safe: one call at a time.
class Object {
public:
    /// Stage 1: loads `path` (parse, relocate, link). Errors name the file.
    static Result<Object> open(const std::string& path, const ObjectOptions& options = {});
    /// Same from an already loaded ObjectFile (options.load is not used).
    static Result<Object> from_file(ObjectFile file, const ObjectOptions& options = {});

    Object(Object&&) noexcept;
    Object& operator=(Object&&) noexcept;
    ~Object();

    const ObjectFile& file() const;
    /// Names of the programs, in object order.
    std::vector<std::string> program_names() const;
    /// The program called `name` (function name, else a section holding exactly one program);
    /// kNotFound lists the programs, kInvalidArgument lists the candidates of an ambiguous section.
    Result<const ProgramSpec*> program(std::string_view name) const;

    /// Stage 2: the verifier's verdict on `program` (computed once per options).
    Result<Verification> verify(std::string_view program, const VerifyOptions& options = {});

    /// Stage 3: prepares `program` for an engine: maps created, map references resolved, context
    /// accesses converted, code compiled. Done once per program and options.
    Status prepare(std::string_view program, const PrepareOptions& options = {});
    /// The program as prepared code runs it: map references resolved to live maps and context
    /// accesses converted (the first half of prepare).
    Result<Program> runnable_program(std::string_view program) const;

    /// The map called `name`; kNotFound (listing the maps) if none, or the creation error.
    Result<MapHandle> map(std::string_view name) const;
    /// Sets the max_entries of map `name` (libbpf's bpf_map__set_max_entries), for maps an object
    /// leaves to the loader (max_entries 0); maps already created are created again, empty.
    Status set_map_size(std::string_view name, uint32_t max_entries);
    /// Runs `program` as a program of `type` (libbpf's bpf_program__set_type), for sections libbpf
    /// does not name; it is prepared again on next use.
    Status set_program_type(std::string_view program, ProgramType type);
    /// Puts program `program` into slot `slot` of the prog_array `map` (what libbpf users do with
    /// the program's fd); kNotFound / kInvalidArgument on bad names or slots.
    Status set_prog_array_slot(std::string_view map, uint32_t slot, std::string_view program);
    /// Resets every map to its state right after creation (global data re-initialized).
    Status reset_maps();

    /// Test-runs `program` as BPF_PROG_TEST_RUN would, preparing it first if needed. Errors: bad
    /// input with the kernel's reason and errno name (kInvalidArgument), stage failures, and traps
    /// (kRuntime, naming the program, instruction index and source line).
    Result<TestRunResult> test_run(std::string_view program, const TestRunInput& input = {});

    struct Impl;

private:
    explicit Object(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace bpfvm
