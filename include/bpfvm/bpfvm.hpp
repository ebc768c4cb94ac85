// The embedding API: open an ELF eBPF object, set up its maps, test-run its programs the way the
// kernel's BPF_PROG_TEST_RUN does (without root), and read the maps back. Enough for a GoogleTest
// case in a few lines:
//
//   auto obj = bpfvm::Object::open("xdp.o").value();
//   auto r = obj.test_run("xdp_prog", {.data = pkt});
//   EXPECT_EQ(r->retval, XDP_PASS);
//   EXPECT_EQ(obj.map("counts")->value<uint64_t>(0u), 1u);   // or (lookup<uint32_t, uint64_t>(0))
//
// Also the `bpfvm test` spec runner (docs/test-spec.md), so that tests can call it directly.
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

#include "bpfvm/conformance.hpp"
#include "bpfvm/maps.hpp"
#include "bpfvm/object.hpp"
#include "bpfvm/result.hpp"
#include "bpfvm/vm.hpp"

namespace bpfvm {

/// Inputs of one test run (the fields of BPF_PROG_TEST_RUN that bpfvm honours).
struct TestRunInput {
    // Every member has a default initializer, so `{.data = pkt}` compiles cleanly under -Wextra.
    std::vector<uint8_t> data{};  // packet (xdp, skb types) or memory (r1 = pointer, r2 = length)
    std::vector<uint8_t> ctx{};   // context in: struct xdp_md, struct __sk_buff, u64 args, tracepoint record
    uint32_t repeat = 1;        // runs; 0 counts as 1 (as in the kernel)
    std::optional<EngineKind> engine{};  // default: default_engine()
    bool checked = true;        // bounds checks and instruction budget
    uint64_t insn_budget = 100'000'000;
};

/// A ring buffer record or a perf event array record produced during a run.
struct RunEvent {
    std::string map;             // name of the ringbuf / perf_event_array map
    uint32_t cpu = 0;            // perf_event_array index (0 for ring buffers)
    std::vector<uint8_t> data;
};

/// A redirect the program asked for (bpf_redirect / bpf_redirect_map): recorded, not performed.
struct RedirectRecord {
    std::string helper;          // "redirect" or "redirect_map"
    uint64_t target = 0;         // ifindex, or the map key for redirect_map
    std::string map;             // redirect_map: the map's name
    uint64_t flags = 0;
};

/// Outputs of one test run (the last run when repeat > 1).
struct TestRunResult {
    uint64_t retval = 0;                 // r0 of the last run (the kernel reports its low 32 bits)
    std::vector<uint8_t> data_out;       // the packet after the run (xdp: from data_meta to data_end)
    std::vector<uint8_t> ctx_out;        // context out, with the fields the kernel copies back
    std::vector<std::string> trace;      // bpf_trace_printk lines, without the trailing newline
    std::vector<RunEvent> events;        // ring buffer and perf event records, in map order
    std::vector<RedirectRecord> redirects;
    uint32_t repeat = 1;
    uint64_t duration_ns = 0;            // average wall time of one run: total / repeat (the kernel's duration)
    uint32_t tail_calls = 0;             // tail calls taken in the last run
    std::string engine;                  // engine that ran it ("interp", "jit-x86_64")
    std::string program;                 // the program that ran first
};

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
    LoadOptions load = object_load_defaults();  // target BTF for CO-RE, keep_going, ...
};

/// An opened object: the parsed ObjectFile, its maps (created from the MapSpecs, global data
/// initialized, map-in-map and prog_array slots filled from static initializers), and programs
/// prepared lazily per engine. Movable, not copyable. Not thread-safe: one run at a time.
class Object {
public:
    /// Loads `path` and creates its maps. Errors name the file (and map) that failed.
    static Result<Object> open(const std::string& path, const ObjectOptions& options = {});
    /// Same from an already loaded ObjectFile.
    static Result<Object> from_file(ObjectFile file);

    Object(Object&&) noexcept;
    Object& operator=(Object&&) noexcept;
    ~Object();

    const ObjectFile& file() const;
    /// Names of the programs, in object order.
    std::vector<std::string> program_names() const;
    /// The map called `name`; kNotFound (listing the maps) if none, or the creation error.
    Result<MapHandle> map(std::string_view name) const;
    /// Puts program `program` into slot `slot` of the prog_array `map` (what libbpf users do with
    /// the program's fd); kNotFound / kInvalidArgument on bad names or slots.
    Status set_prog_array_slot(std::string_view map, uint32_t slot, std::string_view program);
    /// Resets every map to its state right after open (global data re-initialized).
    Status reset_maps();

    /// Test-runs `program` (function or section name) as BPF_PROG_TEST_RUN would. Errors: bad
    /// input with the kernel's reason and errno name (kInvalidArgument), preparation failures, and
    /// traps (kRuntime, naming the program, instruction index and source line).
    Result<TestRunResult> test_run(std::string_view program, const TestRunInput& input = {});

    /// The runnable program: map references resolved to live maps and context accesses converted.
    Result<Program> runnable_program(std::string_view program) const;

    struct Impl;

private:
    explicit Object(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// The test-spec runner (`bpfvm test SPEC.json`, format in docs/test-spec.md).

/// Options of a spec run.
struct SpecOptions {
    std::optional<EngineKind> engine;  // default: default_engine()
    std::string object_override;       // --object PATH: use this object instead of the spec's
};

/// The outcome of one case.
struct SpecCaseResult {
    std::string name;
    bool passed = false;
    std::vector<std::string> failures;  // one message per mismatch ("expected retval 2, got 1", diffs)
};

/// The outcome of a spec file.
struct SpecReport {
    std::vector<SpecCaseResult> cases;
    size_t passed() const;
    size_t failed() const;
};

/// Runs every case of the spec file. A malformed spec or an unloadable object is an error naming
/// the file and the JSON path (e.g. "spec.json: cases[2].expect.retval: expected an integer").
Result<SpecReport> run_spec_file(const std::string& path, const SpecOptions& options = {});

/// Same, from JSON text; `path` names the spec in messages and anchors relative object paths.
Result<SpecReport> run_spec_text(std::string_view text, const std::string& path, const SpecOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Small utilities shared by the CLI and the spec runner.

/// Hex bytes are parsed with parse_hex_bytes (conformance.hpp).
/// Lower-case hex without separators.
std::string to_hex(std::span<const uint8_t> bytes);

}  // namespace bpfvm
