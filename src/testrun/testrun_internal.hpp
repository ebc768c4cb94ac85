// The test-run layer (src/testrun), used by the facade: the kernel-like context structs programs
// really see, the context each program type gets and the inputs the kernel refuses (context.cpp),
// the context access conversion pass (ctx_convert.cpp), and the packet state the packet helpers
// work on (packet_helpers.cpp). Not installed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <memory>

#include "bpfvm/detail/runtime.hpp"
#include "bpfvm/isa.hpp"
#include "bpfvm/object.hpp"
#include "bpfvm/testrun.hpp"
#include "bpfvm/verifier.hpp"

namespace bpfvm::testrun {

// ---- uapi layouts (linux/bpf.h), little-endian hosts.

/// struct xdp_md.
struct XdpMd {
    uint32_t data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex;
};
static_assert(sizeof(XdpMd) == 24);

/// struct __sk_buff (Linux 6.1).
struct SkBuffMd {
    uint32_t len, pkt_type, mark, queue_mapping, protocol, vlan_present, vlan_tci, vlan_proto, priority,
        ingress_ifindex, ifindex, tc_index, cb[5], hash, tc_classid, data, data_end, napi_id, family,
        remote_ip4, local_ip4, remote_ip6[4], local_ip6[4], remote_port, local_port, data_meta;
    uint64_t flow_keys;  // __bpf_md_ptr
    uint64_t tstamp;
    uint32_t wire_len, gso_segs;
    uint64_t sk;  // __bpf_md_ptr
    uint32_t gso_size;
    uint8_t tstamp_type, pad_[3];
    uint64_t hwtstamp;
};
static_assert(sizeof(SkBuffMd) == 192);
static_assert(offsetof(SkBuffMd, data) == 76 && offsetof(SkBuffMd, data_meta) == 140);
static_assert(offsetof(SkBuffMd, tstamp) == 152 && offsetof(SkBuffMd, hwtstamp) == 184);

// ---- The structs a converted program's r1 points to: the uapi struct first (every field but
// the packet pointers is read and written in place), then the real 64-bit packet pointers, which
// the conversion pass makes the program read instead of the 32-bit uapi fields, like the
// kernel's convert_ctx_access. Helpers receive the same pointer in r1.

struct XdpKernCtx {
    XdpMd md;
    uint64_t data = 0, data_end = 0, data_meta = 0;
    uint64_t hard_start = 0;  // start of the frame buffer (headroom included)
    uint64_t frame_end = 0;   // hard_start + frame size - tailroom: xdp_adjust_tail's limit
};

struct SkbKernCtx {
    SkBuffMd md;
    uint64_t data = 0, data_end = 0, data_meta = 0;
};

/// How one context type is converted.
struct CtxLayout {
    const char* type_name = "";   // "struct xdp_md"
    uint32_t uapi_size = 0;
    struct Pointer {
        uint32_t uapi_off;        // 32-bit uapi field
        uint32_t kern_off;        // 64-bit field in the kernel-like struct
        const char* name;
    };
    std::vector<Pointer> pointers;
    /// [begin, end) byte ranges of the uapi struct the program may write; empty: no writes.
    std::vector<std::pair<uint32_t, uint32_t>> writable;
};

/// Layout for programs of `type`; nullptr for contexts that are plain memory (no conversion).
const CtxLayout* ctx_layout_for(ProgramType type);

/// Result of the conversion pass.
struct CtxConversion {
    Program program;              // same slots and pcs as the input
    uint32_t max_ctx_end = 0;     // largest offset+size of any context access found (raw_tp ctx check)
    uint32_t rewritten = 0;       // loads redirected to 64-bit pointers
};

/// Tracks which registers and stack slots hold the context pointer (r1 at entry, copies, spills,
/// constant offsets, local-call arguments) and rewrites 32-bit loads of pointer fields into 64-bit
/// loads from the kernel-like struct. Rejects (naming the instruction) accesses the kernel's
/// verifier would: pointer fields loaded with a size other than 4, writes to read-only fields,
/// accesses beyond the uapi struct. With `layout` null only max_ctx_end is computed.
Result<CtxConversion> convert_ctx_access(const Program& program, const CtxLayout* layout);

/// The same for a program the verifier accepted: its per-instruction facts say which loads and
/// stores go through the context and at which offset, so no dataflow (and no guessing) is needed.
CtxConversion convert_ctx_access(const Program& program, const CtxLayout* layout,
                                 const std::vector<verifier::InsnFacts>& facts);

// ---- Packet state for the packet helpers (HelperEnv::packet points to it during a run).

enum class PacketKind : uint8_t { None, Xdp, Skb };

struct PacketState {
    PacketKind kind = PacketKind::None;
    ProgramType type = ProgramType::Unspec;
    std::vector<uint8_t> frame;       // whole buffer: headroom, packet, tailroom
    XdpKernCtx* xdp = nullptr;        // the context r1 points to (owned by the run)
    SkbKernCtx* skb = nullptr;
    std::vector<RedirectRecord> redirects;

    uint64_t ctx_addr() const {
        return xdp ? reinterpret_cast<uint64_t>(xdp) : reinterpret_cast<uint64_t>(skb);
    }
    /// Current skb linear data [data, data + len).
    uint8_t* skb_data() const { return reinterpret_cast<uint8_t*>(skb->data); }
    uint32_t skb_len() const { return static_cast<uint32_t>(skb->data_end - skb->data); }
};

/// Installs the packet helpers (xdp_adjust_head/tail/meta, skb_load_bytes, skb_store_bytes,
/// l3/l4_csum_replace, csum_diff, redirect, redirect_map, xdp_load/store_bytes, skb_pull_data)
/// into `table`, over whatever is there.
void register_packet_helpers(HelperTable& table);

// ---- The context of one run (context.cpp): built as net/bpf/test_run.c builds it.

/// How a program type's test-run presents its input.
enum class CtxModel : uint8_t {
    Xdp,     // struct xdp_md over a packet with headroom (bpf_prog_test_run_xdp)
    Skb,     // struct __sk_buff over a packet (bpf_prog_test_run_skb)
    Args,    // u64 arguments (raw tracepoints, tracing, LSM: bpf_prog_test_run_raw_tp / _tracing)
    Bytes,   // a plain context record (tracepoints, kprobes, perf events, syscall programs)
    Memory,  // r1 = the data, r2 = its length (types without a kernel test-run)
};

/// The model of `type`.
CtxModel ctx_model(ProgramType type);

/// Everything one test run owns; lives until the results are copied out.
struct RunSetup {
    CtxModel model = CtxModel::Memory;
    PacketState packet;
    XdpKernCtx xdp{};
    SkbKernCtx skb{};
    std::vector<uint8_t> ctx_buf;   // Args/Bytes contexts (8-byte aligned storage below)
    std::vector<uint64_t> ctx_words;
    std::vector<uint8_t> user_ctx;  // skb/xdp: the caller's context (ctx_out starts from it)
    std::vector<uint8_t> memory;    // Memory model: the data buffer
    uint64_t r1 = 0, r2 = 0;
    std::vector<MemRegion> regions;  // what the program may touch besides its stack (checked mode)
    bool l2 = true;                  // skb: the program sees the Ethernet header

    /// Legacy packet loads (ld_abs/ld_ind) read this: the skb's linear data, or nothing.
    const uint8_t* legacy_packet() const;
    uint32_t legacy_packet_len() const;
};

/// Builds the context the kernel's test-run would build for a program of `type` from `input`,
/// refusing (kInvalidArgument, with the kernel's errno name and reason) what the kernel refuses.
/// `attach` is the program's expected attach type (devmap/cpumap XDP programs are refused);
/// `max_ctx_end` is the largest context offset+size the program reads (raw tracepoints need that
/// many argument bytes); `where` ("file: program") prefixes messages.
Result<std::unique_ptr<RunSetup>> setup_run(ProgramType type, std::optional<AttachType> attach,
                                            const TestRunInput& input, uint32_t max_ctx_end, const std::string& where);

/// Copies what the kernel copies back after a run: data_out and ctx_out.
void collect_outputs(const RunSetup& setup, TestRunResult& out);

// ---- Checksum arithmetic (the kernel's csum_* on little-endian hosts), exposed for tests.
uint32_t csum_partial(const uint8_t* data, size_t len, uint32_t seed);
uint32_t csum_add(uint32_t a, uint32_t b);
uint16_t csum_fold(uint32_t sum);

/// errno values the helpers return (negated).
inline constexpr int kEPERM = 1, kENOENT = 2, kEFAULT = 14, kEINVAL = 22, kENOSPC = 28, kENOTSUPP = 524,
                     kEACCES = 13, kENODEV = 19, kEMSGSIZE = 90;

}  // namespace bpfvm::testrun
