// A bridge to the running kernel's eBPF subsystem over raw bpf(2) system calls (no libbpf): create
// an object's maps, load its programs, run them with BPF_PROG_TEST_RUN and read maps back. Used as
// an oracle: the same object and input go through the kernel and through bpfvm's engines.
//
// Every error names the command (BPF_MAP_CREATE, BPF_PROG_LOAD, ...), the map or program, and the
// errno text; a rejected BPF_PROG_LOAD carries the tail of the verifier log.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bpfvm/object.hpp"
#include "bpfvm/result.hpp"

namespace bpfvm::kernel {

/// Owns one file descriptor; closes it on destruction. Move-only.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();

    /// The descriptor, or -1 when empty.
    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    /// Gives up ownership and returns the descriptor.
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_ = -1;
};

/// Whether bpf(2) can be used by this process, and if not why.
struct Probe {
    bool usable = false;
    int error_number = 0;  // errno of the failed probe (EPERM, ENOSYS, ...), 0 when usable
    std::string reason;    // e.g. "BPF_MAP_CREATE: Operation not permitted (needs CAP_BPF; unprivileged_bpf_disabled=2)"
};

/// Tries to create a one-entry array map (the cheapest privileged bpf() command). Never fails:
/// the outcome is in the returned Probe.
Probe probe();

/// True for program types whose BPF_PROG_TEST_RUN the kernel implements (XDP, tc, socket filter,
/// cgroup skb, lwt, flow dissector, sk_lookup, raw tracepoint, tracing, syscall, netfilter).
bool supports_test_run(ProgramType type);

// ---------------------------------------------------------------------------------------------
// Single commands.

/// Creates the kernel map for `spec`: BTF-defined and legacy maps as declared, global data as a
/// one-entry array whose value is written from `initial_data` (.rodata and .kconfig are then
/// frozen). Errors name the map and the errno text.
Result<Fd> create_map(const MapSpec& spec);

/// BPF_MAP_UPDATE_ELEM with `flags` (BPF_ANY, BPF_NOEXIST, BPF_EXIST).
Status update_elem(int map_fd, std::span<const uint8_t> key, std::span<const uint8_t> value, uint64_t flags = 0);
/// BPF_MAP_LOOKUP_ELEM: the value (of `value_size` bytes), or nullopt when the key is absent.
Result<std::optional<std::vector<uint8_t>>> lookup_elem(int map_fd, std::span<const uint8_t> key,
                                                        uint32_t value_size);
/// BPF_MAP_GET_NEXT_KEY: the key after `key` (the first key when `key` is empty), nullopt at the end.
Result<std::optional<std::vector<uint8_t>>> next_key(int map_fd, std::span<const uint8_t> key, uint32_t key_size);
/// BPF_MAP_FREEZE: no more writes from user space.
Status freeze_map(int map_fd);

/// Consumes every committed record of the ring buffer map `map_fd` (data size `size` bytes, its
/// max_entries) through the map's mmap interface, in production order; discarded records are
/// skipped. Errors: mmap failures (kIo) and a record still being written (kRuntime).
Result<std::vector<std::vector<uint8_t>>> drain_ringbuf(int map_fd, uint32_t size);

/// Inputs of BPF_PROG_TEST_RUN. Output buffers are sized by the caller's hints; the kernel's
/// ENOSPC is reported as an error.
struct TestRunInput {
    std::vector<uint8_t> data;  // packet (data_in)
    std::vector<uint8_t> ctx;   // context (ctx_in), e.g. struct __sk_buff or struct xdp_md; may be empty
    uint32_t repeat = 1;
    uint32_t data_out_capacity = 0;  // 0: data.size() + 512 (XDP may grow the packet at the head)
    uint32_t ctx_out_capacity = 0;   // 0: ctx.size() (no ctx_out when the input has no ctx)
    uint32_t flags = 0;
};

/// Outputs of BPF_PROG_TEST_RUN.
struct TestRunOutput {
    uint32_t retval = 0;
    uint32_t duration_ns = 0;   // average per repetition
    std::vector<uint8_t> data;  // data_out, trimmed to the size the kernel reported
    std::vector<uint8_t> ctx;   // ctx_out, trimmed likewise
};

/// Runs the loaded program `prog_fd` once (or `repeat` times) on `input`.
Result<TestRunOutput> test_run(int prog_fd, const TestRunInput& input);

// ---------------------------------------------------------------------------------------------
// A whole object in the kernel.

/// Options for KernelObject::open.
struct KernelOptions {
    uint32_t log_size = 1u << 22;  // verifier log buffer (bytes) kept for failed loads
    uint32_t log_tail_lines = 20;  // lines of the verifier log copied into the error
    bool load_btf = true;          // load the object's BTF and pass func_info (needed for bpf_loop callbacks)
    uint32_t prog_flags = 0;       // BPF_F_* load flags for every program (BPF_F_STRICT_ALIGNMENT, ...)
};

/// Whether a map's contents can be read back element by element through bpf() (false for program
/// arrays, ring buffers, perf event arrays, map-in-maps, queues, stacks and bloom filters).
bool map_contents_readable(const MapSpec& spec);

/// An object's maps created in the kernel and its programs loaded on demand. Program arrays with
/// static initializers (MapSpec::slot_inits) are filled when `load_all` runs.
class KernelObject {
public:
    /// Creates every map of `object` and writes global data (freezing read-only sections).
    /// Programs are not loaded yet. `object` must outlive the KernelObject.
    static Result<KernelObject> open(const ObjectFile& object, const KernelOptions& options = {});

    /// Loads program `name` (function or section name) if not loaded yet; returns its fd.
    /// A verifier rejection is kRejected with the log tail; EPERM/EACCES without privilege is kPermission.
    Result<int> load_program(std::string_view name);
    /// Loads every program and fills the program arrays from their static initializers.
    Status load_all();

    /// Fd of map `name`.
    Result<int> map_fd(std::string_view name) const;
    /// Writes one element into map `name`; key and value must have the map's sizes.
    Status update_map(std::string_view name, std::span<const uint8_t> key, std::span<const uint8_t> value);
    /// Every (key, value) of map `name`, in the kernel's iteration order. Program arrays, ring
    /// buffers and other maps without lookups yield an error (kUnsupported).
    Result<std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>>> dump_map(std::string_view name) const;

    /// Consumes the records of the ring buffer map `name` (see drain_ringbuf).
    Result<std::vector<std::vector<uint8_t>>> drain_ringbuf(std::string_view name) const;

    /// Runs program `name` (loading it first if needed).
    Result<TestRunOutput> test_run(std::string_view name, const TestRunInput& input);

    const ObjectFile& object() const { return *object_; }
    /// Why the kernel refused the object's BTF ("" when it was loaded or not asked for); programs
    /// then load without func_info, so every subprogram looks static to the kernel.
    const std::string& btf_error() const { return btf_error_; }

    KernelObject(KernelObject&&) = default;
    KernelObject& operator=(KernelObject&&) = default;

private:
    KernelObject() = default;
    Status fill_program_arrays();

    const ObjectFile* object_ = nullptr;
    KernelOptions options_;
    std::vector<Fd> maps_;                  // index = ObjectFile::maps index
    Fd btf_;                                // object BTF in the kernel (invalid when absent or not loaded)
    std::string btf_error_;                 // why the BTF could not be loaded, for messages
    std::map<std::string, Fd, std::less<>> programs_;  // by ProgramSpec::name
};

/// Encodes `btf` back into the raw .BTF format for BPF_BTF_LOAD. DATASEC types are emptied (clang
/// leaves their sizes and offsets to the loader, and the kernel needs them only for global data
/// maps created with BTF, which this bridge does not do).
std::vector<uint8_t> encode_btf(const Btf& btf);

}  // namespace bpfvm::kernel
