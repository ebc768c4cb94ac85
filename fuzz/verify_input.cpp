// The verifier fuzz targets' input format (verify_input.hpp): decoding for the targets, encoding
// for seed corpora made from real objects.
#include "verify_input.hpp"

#include <algorithm>

namespace bpfvm::fuzzing {
namespace {

constexpr size_t kHeader = 4;
constexpr size_t kMapRecord = 12;
constexpr uint32_t kMaxMaps = 7;
// Keeps map memory per input small: the fuzzer chooses sizes, and creating maps is not what these
// targets test (fuzz_elf does).
constexpr uint32_t kMaxEntries = 4096;

enum Flag : uint8_t { kUnprivileged = 1, kStrictAlign = 2, kAnyAlign = 4, kNotGpl = 8 };

uint32_t le(std::span<const uint8_t> b, size_t at, size_t n) {
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= uint32_t{b[at + i]} << (8 * i);
    return v;
}

void put(std::vector<uint8_t>& out, uint32_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

constexpr MapKind kKinds[] = {MapKind::Legacy, MapKind::Data, MapKind::Rodata, MapKind::Bss};

MapSpec decode_map(std::span<const uint8_t> r, uint32_t index) {
    MapSpec m;
    m.type = static_cast<MapType>(r[0] % kNumMapTypes);
    m.kind = kKinds[r[1] % 4];
    m.key_size = le(r, 2, 2);
    m.value_size = le(r, 4, 2);
    m.max_entries = std::min(le(r, 6, 4), kMaxEntries);
    m.map_flags = le(r, 10, 2);
    if (is_global_data(m.kind)) {
        // What the loader makes of a data section: a one-element array holding the section.
        static const char* const kNames[] = {"", ".data", ".rodata", ".bss"};
        m.name = kNames[r[1] % 4];
        m.type = MapType::Array;
        m.key_size = 4;
        m.max_entries = 1;
        m.readonly = m.kind == MapKind::Rodata;
        m.initial_data.assign(m.value_size, 0);
    } else {
        m.name = "map" + std::to_string(index);
    }
    return m;
}

}  // namespace

std::optional<VerifyInput> decode_verify_input(std::span<const uint8_t> bytes) {
    if (bytes.size() < kHeader) return std::nullopt;
    VerifyInput in;
    ProgramSpec spec;
    spec.name = "prog";
    spec.section = "fuzz";
    spec.type = static_cast<ProgramType>(bytes[0] % kNumProgramTypes);
    const uint8_t flags = bytes[1];
    if (bytes[2] != 0) spec.expected_attach_type = static_cast<AttachType>((bytes[2] - 1u) % kNumAttachTypes);
    const uint32_t maps = bytes[3] & kMaxMaps;
    size_t at = kHeader;
    if (bytes.size() < at + maps * kMapRecord) return std::nullopt;
    for (uint32_t i = 0; i < maps; ++i, at += kMapRecord)
        in.file.maps.push_back(decode_map(bytes.subspan(at, kMapRecord), i));

    auto program = decode_program(bytes.subspan(at, (bytes.size() - at) / 8 * 8));
    if (!program) return std::nullopt;
    spec.program = std::move(*program);
    spec.main_slots = static_cast<uint32_t>(spec.program.slot_to_index.size());
    in.file.path = "fuzz.o";
    in.file.license = (flags & kNotGpl) ? "Proprietary" : "GPL";
    in.file.programs.push_back(std::move(spec));

    in.options.privileged = (flags & kUnprivileged) == 0;
    in.options.strict_alignment = (flags & kStrictAlign) != 0;
    in.options.any_alignment = (flags & kAnyAlign) != 0;
    in.options.insn_limit = kFuzzVerifyInsnLimit;
    return in;
}

std::optional<std::vector<uint8_t>> encode_verify_input(const ObjectFile& file, const ProgramSpec& spec,
                                                        const VerifyOptions& options) {
    if (spec.error || file.maps.size() > kMaxMaps) return std::nullopt;
    std::vector<uint8_t> out;
    out.push_back(static_cast<uint8_t>(options.type.value_or(spec.type)));
    uint8_t flags = 0;
    if (!options.privileged) flags |= kUnprivileged;
    if (options.strict_alignment) flags |= kStrictAlign;
    if (options.any_alignment) flags |= kAnyAlign;
    const std::string license = options.license.value_or(file.license);
    if (license.find("GPL") == std::string::npos) flags |= kNotGpl;
    out.push_back(flags);
    out.push_back(spec.expected_attach_type ? static_cast<uint8_t>(static_cast<uint32_t>(*spec.expected_attach_type) + 1)
                                            : uint8_t{0});
    out.push_back(static_cast<uint8_t>(file.maps.size()));
    for (const MapSpec& m : file.maps) {
        const auto kind = std::find(std::begin(kKinds), std::end(kKinds), m.kind);
        out.push_back(static_cast<uint8_t>(m.type));
        out.push_back(static_cast<uint8_t>(kind == std::end(kKinds) ? 0 : kind - std::begin(kKinds)));
        put(out, m.key_size, 2);
        put(out, m.value_size, 2);
        put(out, std::min(m.max_entries, kMaxEntries), 4);
        put(out, m.map_flags, 2);
    }
    for (const RawInsn& r : encode_program(spec.program)) {
        const auto* p = reinterpret_cast<const uint8_t*>(&r);
        out.insert(out.end(), p, p + sizeof r);
    }
    return out;
}

}  // namespace bpfvm::fuzzing
