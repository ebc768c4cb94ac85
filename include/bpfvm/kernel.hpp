// A bridge to the running kernel's eBPF subsystem over raw bpf(2) system calls (no libbpf): create
// an object's maps (with BTF), load its programs, run them with BPF_PROG_TEST_RUN, read, write and
// pin maps and programs, and list what the kernel holds. Used as an oracle (the same object and
// input go through the kernel and through bpfvm's engines) and by `bpfvm load/attach/trace/maps`.
// Attaching lives in kernel_attach.hpp, event streams in kernel_events.hpp.
//
// Every error names the command (BPF_MAP_CREATE, BPF_PROG_LOAD, ...), the map or program, and the
// errno text; a rejected BPF_PROG_LOAD carries the verifier's reason, the failing instruction with
// its source line (from the object's line info) and the tail of the verifier log.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
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
/// BPF_MAP_DELETE_ELEM; kNotFound when the key is absent.
Status delete_elem(int map_fd, std::span<const uint8_t> key);

/// Bytes one value takes through the syscall interface: `value_size`, or for per-cpu maps the
/// value rounded up to 8 bytes times the number of possible cpus.
uint32_t syscall_value_size(MapType type, uint32_t value_size);

/// Key and value sizes of a map as the bpf() commands exchange them.
struct MapLayout {
    uint32_t key_size = 0;
    uint32_t value_size = 0;  // syscall_value_size: per-cpu maps carry every cpu's slot
    uint32_t max_entries = 0;
};

/// Every (key, value) of map `map_fd`, read with BPF_MAP_LOOKUP_BATCH where the map type has it
/// and with BPF_MAP_GET_NEXT_KEY + BPF_MAP_LOOKUP_ELEM otherwise (bounded by max_entries, so a
/// map changing underneath cannot loop forever).
Result<std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>>> read_map(int map_fd,
                                                                                      const MapLayout& layout);

// ---------------------------------------------------------------------------------------------
// Kernel objects by id, pinning, statistics.

/// What BPF_OBJ_GET_INFO_BY_FD reports for a map.
struct MapInfo {
    MapType type = MapType::Unspec;
    uint32_t id = 0;
    std::string name;
    uint32_t key_size = 0, value_size = 0, max_entries = 0, map_flags = 0;
    uint32_t btf_id = 0, btf_key_type_id = 0, btf_value_type_id = 0;  // 0: created without BTF

    /// Sizes as read_map wants them.
    MapLayout layout() const { return {key_size, syscall_value_size(type, value_size), max_entries}; }
};

/// What BPF_OBJ_GET_INFO_BY_FD reports for a program.
struct ProgramInfo {
    ProgramType type = ProgramType::Unspec;
    uint32_t id = 0;
    std::string name;            // at most 15 characters
    std::string tag;             // 16 hex digits
    uint64_t run_time_ns = 0;    // counted while statistics are enabled (enable_run_stats)
    uint64_t run_count = 0;
    uint32_t xlated_bytes = 0;   // size after the verifier's rewrites
    uint32_t jited_bytes = 0;
    std::vector<uint32_t> map_ids;
};

/// Info of map `fd`.
Result<MapInfo> map_info(int fd);
/// Info of program `fd`.
Result<ProgramInfo> program_info(int fd);
/// Every program the kernel currently holds (BPF_PROG_GET_NEXT_ID), programs that vanish while
/// listing are skipped.
Result<std::vector<ProgramInfo>> list_programs();

/// The kind of object behind a bpf fd (from /proc/self/fdinfo).
enum class ObjectKind { Program, Map, Link, Btf, Other };
/// Kind of the bpf object behind `fd`.
ObjectKind object_kind(int fd);

/// BPF_OBJ_PIN: pins `fd` at `path` (a file under a bpffs mount).
Status pin_object(int fd, const std::string& path);
/// BPF_OBJ_GET: opens the object pinned at `path`.
Result<Fd> open_pinned(const std::string& path);
/// The bpffs mount point for pins, /sys/fs/bpf, mounting it first when it is not mounted.
Result<std::string> bpffs_root();
/// True when `path` lies on a bpffs mount.
bool is_on_bpffs(const std::string& path);
/// The file name a program, map or link called `name` is pinned under ('.' and '/' become '_':
/// bpffs refuses dotted names).
std::string pin_name(std::string_view name);

/// BPF_ENABLE_STATS(BPF_STATS_RUN_TIME): programs' run_time_ns and run_count are counted while the
/// returned fd is open (the per-process form of the kernel.bpf_stats_enabled sysctl).
Result<Fd> enable_run_stats();

/// Reads the BTF object `btf_id` back from the kernel (BPF_BTF_GET_FD_BY_ID + info) and parses it.
Result<Btf> load_kernel_btf(uint32_t btf_id);

/// The running kernel's BTF (/sys/kernel/btf/vmlinux), parsed once per process.
Result<std::shared_ptr<const Btf>> vmlinux_btf();

/// Writes `value` into the global variable `name` (a VAR of the object's .data, .rodata or .bss
/// DATASEC) of `object` before it is opened in the kernel: how tools pass constants such as a pid
/// filter to their programs. Errors: no BTF, no such variable, wrong size.
Status set_global_variable(ObjectFile& object, std::string_view name, std::span<const uint8_t> value);
/// Writes the integer `value` into the global variable `name` in the variable's own size (1, 2,
/// 4 or 8 bytes, little-endian). Errors as set_global_variable, and a value that does not fit.
Status set_global_integer(ObjectFile& object, std::string_view name, int64_t value);

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
    bool ctx_out = true;             // ask for ctx_out (raw tracepoint and syscall test-runs refuse it)
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
    bool map_btf = true;           // create maps with their BTF key/value types (retried without on refusal)
    /// Refuse programs containing a `neg` instruction: the kernel this project is developed on
    /// (6.18) crashes inside its verifier when a neg result feeds an `and`.
    bool refuse_neg = true;
    /// Prepended to the kernel-visible program and map names (which the kernel cuts at 15
    /// characters), so that tests can find exactly their own programs in the kernel's list.
    std::string name_prefix;
    uint32_t prog_flags = 0;       // BPF_F_* load flags for every program (BPF_F_STRICT_ALIGNMENT, ...)
};

/// "prog (insn 12)" for the first program of `object` containing a `neg` instruction, or nullopt.
std::optional<std::string> find_neg(const ObjectFile& object);

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
    /// Sizes of map `name` as the bpf() commands exchange them.
    Result<MapLayout> map_layout(std::string_view name) const;
    /// Fd of program `name` if it is loaded, else kNotFound.
    Result<int> program_fd(std::string_view name) const;
    /// Whether map `name` was created with BTF key/value types.
    bool map_has_btf(std::string_view name) const;
    /// The name the kernel shows for program or map `name` (prefixed, cut to 15 characters).
    std::string kernel_name(std::string_view name) const;

    /// Pins every loaded program at DIR/programs/NAME and every map at DIR/maps/NAME (names as
    /// pin_name gives them; DIR must lie on bpffs; folders are created). Errors name the path.
    Status pin(const std::string& dir) const;
    /// Writes one element into map `name`; key and value must have the map's sizes.
    Status update_map(std::string_view name, std::span<const uint8_t> key, std::span<const uint8_t> value);
    /// Every (key, value) of map `name`, in the kernel's iteration order. Program arrays, ring
    /// buffers and other maps without lookups yield an error (kUnsupported).
    Result<std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>>> dump_map(std::string_view name) const;

    /// Consumes the records of the ring buffer map `name` (see drain_ringbuf).
    Result<std::vector<std::vector<uint8_t>>> drain_ringbuf(std::string_view name) const;

    /// Runs program `name` (loading it first if needed). For raw tracepoint and syscall programs,
    /// whose test-run takes no repeat count and returns no ctx, `repeat` 1 is sent as 0 (the
    /// kernel refuses any other) and no ctx_out is asked for.
    Result<TestRunOutput> test_run(std::string_view name, const TestRunInput& input);
    /// Puts program `program` (loaded on demand) into slot `slot` of the program array `map`.
    Status set_prog_array_slot(std::string_view map, uint32_t slot, std::string_view program);

    const ObjectFile& object() const { return *object_; }
    /// Why the kernel refused the object's BTF ("" when it was loaded or not asked for); programs
    /// then load without func_info, so every subprogram looks static to the kernel.
    const std::string& btf_error() const { return btf_error_; }

    KernelObject(KernelObject&&) = default;
    KernelObject& operator=(KernelObject&&) = default;

private:
    KernelObject() = default;
    Status fill_program_arrays();
    Error rejection(const ProgramSpec& spec, int err, const std::string& log) const;

    const ObjectFile* object_ = nullptr;
    KernelOptions options_;
    std::vector<Fd> maps_;                  // index = ObjectFile::maps index
    std::vector<bool> map_btf_;             // index = ObjectFile::maps index: created with BTF types
    Fd btf_;                                // object BTF in the kernel (invalid when absent or not loaded)
    std::string btf_error_;                 // why the BTF could not be loaded, for messages
    std::map<std::string, Fd, std::less<>> programs_;  // by ProgramSpec::name
};

/// Encodes `btf` back into the raw .BTF format for BPF_BTF_LOAD. DATASECs whose layout the loader
/// filled in are kept (global data maps use them as value type); the others (size 0, or entries
/// that are not variables, such as .ksyms functions) become anonymous `void *` so type ids stay.
std::vector<uint8_t> encode_btf(const Btf& btf);

/// Whether encode_btf keeps DATASEC `t` (laid out, every entry a VAR inside its size).
bool datasec_is_laid_out(const Btf& btf, const BtfType& t);

/// What a rejected program's verifier log says: the instruction it stopped at (the last
/// "N: (op) ..." line) and the reason (the last line that is neither an instruction, a state dump
/// nor the statistics).
struct VerifierVerdict {
    std::optional<uint32_t> pc;
    std::string reason;
};
/// Summarizes a verifier log (see VerifierVerdict).
VerifierVerdict summarize_verifier_log(const std::string& log);

}  // namespace bpfvm::kernel
