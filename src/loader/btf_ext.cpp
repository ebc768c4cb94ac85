// .BTF.ext parsing. Layout: header {magic, version, flags, hdr_len, func_info off/len,
// line_info off/len[, core_relo off/len]}, offsets relative to the end of the header; each info
// area is a record size followed by blocks {section name offset, count, records}.
#include "btf_ext.hpp"

#include "elf_file.hpp"

namespace bpfvm::loader {
namespace {

Error ext_error(std::string message) { return make_error(ErrorCode::kMalformed, ".BTF.ext: " + std::move(message)); }

/// The string table of a raw .BTF blob (already validated by Btf::parse).
std::span<const uint8_t> btf_strings(std::span<const uint8_t> btf) {
    if (btf.size() < 24) return {};
    const uint32_t hdr_len = read_u32(btf, 4);
    const uint64_t off = uint64_t{hdr_len} + read_u32(btf, 16), len = read_u32(btf, 20);
    if (off + len > btf.size()) return {};
    return btf.subspan(off, len);
}

/// Source file names and line texts longer than this are cut (with "..." at the end).
constexpr size_t kMaxLineString = 1024;

bool get_string(std::span<const uint8_t> strs, uint32_t off, std::string& out, size_t max_len = SIZE_MAX) {
    if (off >= strs.size()) return false;
    size_t end = off;
    while (end < strs.size() && strs[end] != 0) ++end;
    if (end == strs.size()) return false;
    if (end - off > max_len) {
        out.assign(reinterpret_cast<const char*>(strs.data() + off), max_len - 3);
        out += "...";
        return true;
    }
    out.assign(reinterpret_cast<const char*>(strs.data() + off), end - off);
    return true;
}

/// Walks one info area, calling `record(section, bytes)` for each record.
template <class F>
Status walk(std::span<const uint8_t> area, const char* what, uint32_t min_rec, std::span<const uint8_t> strs, F&& record) {
    if (area.empty()) return {};
    if (area.size() < 4) return ext_error(std::string(what) + ": truncated record size");
    const uint32_t rec_size = read_u32(area, 0);
    if (rec_size < min_rec || rec_size > 1024 || rec_size % 4 != 0)
        return ext_error(std::string(what) + ": bad record size " + std::to_string(rec_size));
    size_t pos = 4;
    while (pos < area.size()) {
        if (area.size() - pos < 8) return ext_error(std::string(what) + ": truncated block header at offset " + std::to_string(pos));
        std::string sec;
        if (!get_string(strs, read_u32(area, pos), sec))
            return ext_error(std::string(what) + ": bad section name offset " + std::to_string(read_u32(area, pos)));
        const uint32_t count = read_u32(area, pos + 4);
        pos += 8;
        if (uint64_t{count} * rec_size > area.size() - pos)
            return ext_error(std::string(what) + ": section " + sec + ": " + std::to_string(count) + " records exceed the data");
        for (uint32_t i = 0; i < count; ++i, pos += rec_size) BPFVM_TRY(record(sec, area.subspan(pos, rec_size)));
    }
    return {};
}

}  // namespace

Result<BtfExt> BtfExt::parse(std::span<const uint8_t> d, std::span<const uint8_t> btf) {
    if (d.size() < 24) return ext_error("truncated header");
    if (read_u16(d, 0) != 0xeb9f) return ext_error("bad magic");
    if (d[2] != 1) return ext_error("unsupported version " + std::to_string(d[2]));
    const uint32_t hdr_len = read_u32(d, 4);
    if (hdr_len < 24 || hdr_len > d.size()) return ext_error("bad header length " + std::to_string(hdr_len));
    const uint64_t body = d.size() - hdr_len;
    auto area = [&](size_t at, std::span<const uint8_t>& out, const char* what) -> Status {
        const uint64_t off = read_u32(d, at), len = read_u32(d, at + 4);
        if (off + len > body) return ext_error(std::string(what) + " [" + std::to_string(off) + ", +" + std::to_string(len) + ") exceeds the data");
        out = d.subspan(hdr_len + off, len);
        return {};
    };
    std::span<const uint8_t> func_area, line_area, core_area;
    BPFVM_TRY(area(8, func_area, "func_info"));
    BPFVM_TRY(area(16, line_area, "line_info"));
    if (hdr_len >= 32) BPFVM_TRY(area(24, core_area, "core_relo"));
    const auto strs = btf_strings(btf);

    BtfExt ext;
    auto slot_of = [](uint32_t byte_off, const std::string& sec, const char* what) -> Result<uint32_t> {
        if (byte_off % 8 != 0)
            return ext_error(std::string(what) + ": section " + sec + ": instruction offset " + std::to_string(byte_off) + " is not a multiple of 8");
        return byte_off / 8;
    };
    BPFVM_TRY(walk(func_area, "func_info", 8, strs, [&](const std::string& sec, std::span<const uint8_t> r) -> Status {
        auto slot = slot_of(read_u32(r, 0), sec, "func_info");
        if (!slot) return slot.error();
        ext.sections[sec].funcs.push_back({*slot, read_u32(r, 4)});
        return {};
    }));
    BPFVM_TRY(walk(line_area, "line_info", 16, strs, [&](const std::string& sec, std::span<const uint8_t> r) -> Status {
        auto slot = slot_of(read_u32(r, 0), sec, "line_info");
        if (!slot) return slot.error();
        LineInfoRec rec;
        rec.slot = *slot;
        // Bad string offsets in line info are not fatal: the position stays useful without them.
        // Strings are capped: every record copies its own, and a file can point thousands of
        // records into one long string (memory the file would not back).
        (void)get_string(strs, read_u32(r, 4), rec.file, kMaxLineString);
        (void)get_string(strs, read_u32(r, 8), rec.text, kMaxLineString);
        const uint32_t lc = read_u32(r, 12);
        rec.line = lc >> 10;
        rec.column = lc & 0x3ff;
        ext.sections[sec].lines.push_back(std::move(rec));
        return {};
    }));
    BPFVM_TRY(walk(core_area, "core_relo", 16, strs, [&](const std::string& sec, std::span<const uint8_t> r) -> Status {
        auto slot = slot_of(read_u32(r, 0), sec, "core_relo");
        if (!slot) return slot.error();
        CoreReloRec rec;
        rec.slot = *slot;
        rec.type_id = read_u32(r, 4);
        if (!get_string(strs, read_u32(r, 8), rec.access, kMaxLineString))
            return ext_error("core_relo: section " + sec + ": bad access string offset " + std::to_string(read_u32(r, 8)));
        rec.kind = read_u32(r, 12);
        ext.sections[sec].core.push_back(std::move(rec));
        return {};
    }));
    return ext;
}

}  // namespace bpfvm::loader
