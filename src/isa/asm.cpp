// The assembler for the conformance-suite syntax (`mov %r0, 1`, `ldxw %r0, [%r1+4]`, `lock fetch add
// [%r10-8], %r1`). Mnemonics come from the opcode table: every opcodes.def row contributes its spellings
// (stem, width suffix), and the operand layout follows the row's Form. The encoder is encode_insn, so
// the assembler never writes instruction bytes by hand (RFC 9669 section 3 for the layout).
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "bpfvm/asm.hpp"
#include "asm_table.hpp"

namespace bpfvm {
namespace {

/// What an operand position holds.
enum class Slot : uint8_t { Dst, Src, MemDst, MemSrc, Imm32, Imm64, Target16, Target32, Helper };

/// The operands of a form, in source order.
struct Layout {
    Slot slots[3];
    uint8_t count;
    const char* describe;  // for operand-count errors
};

Layout layout_of(Form form) {
    switch (form) {
        case Form::AluImm: return {{Slot::Dst, Slot::Imm32}, 2, "register, immediate"};
        case Form::AluReg: return {{Slot::Dst, Slot::Src}, 2, "register, register"};
        case Form::Neg: return {{Slot::Dst}, 1, "register"};
        case Form::Movsx: return {{Slot::Dst, Slot::Src}, 2, "register, register"};
        case Form::End: return {{Slot::Dst}, 1, "register"};
        case Form::Ja: return {{Slot::Target16}, 1, "label or offset"};
        case Form::Gotol: return {{Slot::Target32}, 1, "label or offset"};
        case Form::JmpImm: return {{Slot::Dst, Slot::Imm32, Slot::Target16}, 3, "register, immediate, label"};
        case Form::JmpReg: return {{Slot::Dst, Slot::Src, Slot::Target16}, 3, "register, register, label"};
        case Form::Call: return {{Slot::Helper}, 1, "helper id"};
        case Form::CallLocal: return {{Slot::Target32}, 1, "label or offset"};
        case Form::CallKfunc: return {{Slot::Imm32}, 1, "function id"};
        case Form::Callx: return {{Slot::Dst}, 1, "register"};
        case Form::Exit: return {{}, 0, "no operands"};
        case Form::Lddw: return {{Slot::Dst, Slot::Imm64}, 2, "register, 64-bit immediate"};
        case Form::LdAbs: return {{Slot::Imm32}, 1, "immediate"};
        case Form::LdInd: return {{Slot::Src, Slot::Imm32}, 2, "register, immediate"};
        case Form::Ldx: return {{Slot::Dst, Slot::MemSrc}, 2, "register, memory"};
        case Form::Ldxs: return {{Slot::Dst, Slot::MemSrc}, 2, "register, memory"};
        case Form::St: return {{Slot::MemDst, Slot::Imm32}, 2, "memory, immediate"};
        case Form::Stx: return {{Slot::MemDst, Slot::Src}, 2, "memory, register"};
        case Form::Atomic: return {{Slot::MemDst, Slot::Src}, 2, "memory, register"};
        case Form::AddrSpaceCast: return {{Slot::Dst, Slot::Src, Slot::Imm32}, 3, "register, register, immediate"};
        case Form::MayGoto: return {{Slot::Target16}, 1, "label or offset"};
        case Form::LoadAcquire: return {{Slot::Dst, Slot::MemSrc}, 2, "register, memory"};
        case Form::StoreRelease: return {{Slot::MemDst, Slot::Src}, 2, "memory, register"};
    }
    return {{}, 0, ""};
}

using MnemonicTable = std::unordered_map<std::string, std::vector<Op>>;

}  // namespace

std::vector<std::string> op_spellings(Op op) {
    const OpInfo& info = op_info(op);
    const std::string stem = info.mnemonic;
    const std::string width = std::to_string(info.width);
    std::vector<std::string> names;
    switch (info.form) {
        case Form::AluImm:
        case Form::AluReg:
        case Form::Neg:
        case Form::Movsx:
        case Form::JmpImm:
        case Form::JmpReg:
            if (info.width == 32) {
                names = {stem + "32"};
            } else {
                names = {stem, stem + "64"};
            }
            break;
        case Form::Atomic:
            if (info.width == 32) {
                names = {"lock " + stem + "32"};
            } else {
                names = {"lock " + stem, "lock " + stem + "64"};
            }
            // xchg and cmpxchg always fetch; accept the redundant spelling too.
            if (stem == "xchg" || stem == "cmpxchg") {
                const size_t n = names.size();
                for (size_t i = 0; i < n; ++i) names.push_back("lock fetch " + names[i].substr(5));
            }
            break;
        case Form::End:
            names = {stem + width};
            if (stem == "bswap") names.push_back("swap" + width);
            break;
        case Form::Gotol: names = {stem, "ja32"}; break;
        case Form::Call: names = {"call", "call helper"}; break;
        case Form::CallLocal: names = {"call local"}; break;
        case Form::CallKfunc: names = {"call kfunc", "call runtime"}; break;
        case Form::Callx: names = {"callx", "call"}; break;
        case Form::Ja:
        case Form::MayGoto:
        case Form::AddrSpaceCast:
        case Form::LoadAcquire:
        case Form::StoreRelease:
        case Form::Exit:
        case Form::Lddw:
        case Form::LdAbs:
        case Form::LdInd:
        case Form::Ldx:
        case Form::Ldxs:
        case Form::St:
        case Form::Stx:
            names = {stem};
            break;
    }
    return names;
}

namespace {

const MnemonicTable& mnemonic_table() {
    static const MnemonicTable table = [] {
        MnemonicTable t;
        for (size_t i = 0; i < kNumOps; ++i)
            for (auto& name : op_spellings(static_cast<Op>(i))) t[name].push_back(static_cast<Op>(i));
        return t;
    }();
    return table;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

bool is_label_char(char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' || (!first && c >= '0' && c <= '9');
}

bool is_label_name(std::string_view s) {
    if (s.empty() || !is_label_char(s[0], true)) return false;
    return std::all_of(s.begin() + 1, s.end(), [](char c) { return is_label_char(c, false); });
}

/// A number as written: sign, magnitude, and whether it was hex. Rejects anything else.
struct Number {
    bool negative = false;
    bool hex = false;
    uint64_t magnitude = 0;
};

std::optional<Number> parse_number(std::string_view s) {
    Number n;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        n.negative = s[0] == '-';
        s.remove_prefix(1);
    }
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        n.hex = true;
        s.remove_prefix(2);
    }
    if (s.empty()) return std::nullopt;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n.magnitude, base);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return n;
}

/// One instruction line being assembled.
class LineAssembler {
public:
    LineAssembler(uint32_t line, std::string mnemonic) : line_(line), mnemonic_(std::move(mnemonic)) {}

    Error error(const std::string& message) const {
        return make_error(ErrorCode::kMalformed, "line " + std::to_string(line_) + ": " + message);
    }

    Result<uint8_t> reg(std::string_view text) const {
        if (text.empty() || text[0] != '%')
            return error(mnemonic_ + ": expected a register like %r1, got '" + std::string(text) + "'");
        std::string_view digits = text.substr(1);
        if (digits.size() >= 2 && digits[0] == 'r') {
            digits.remove_prefix(1);
            unsigned value = 0;
            auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
            if (ec == std::errc() && end == digits.data() + digits.size() && value < kNumRegs &&
                (digits.size() == 1 || digits[0] != '0'))
                return static_cast<uint8_t>(value);
        }
        return error("invalid register '" + std::string(text) + "' (registers are %r0 to %r10)");
    }

    /// A 32-bit immediate: decimal in [-2^31, 2^31-1], or hex up to 0xffffffff (two's complement).
    Result<int32_t> imm32(std::string_view text, const char* what = "immediate") const {
        const auto n = parse_number(text);
        if (!n) return error("invalid " + std::string(what) + " '" + std::string(text) + "'");
        const uint64_t limit = n->negative ? 0x80000000ull : (n->hex ? 0xffffffffull : 0x7fffffffull);
        if (n->magnitude > limit)
            return error(std::string(what) + " " + std::string(text) + " does not fit in 32 bits");
        const uint64_t v = n->negative ? 0 - n->magnitude : n->magnitude;
        return static_cast<int32_t>(static_cast<uint32_t>(v));
    }

    /// A 64-bit immediate (lddw): decimal in [-2^63, 2^64-1] or hex up to 64 bits.
    Result<int64_t> imm64(std::string_view text) const {
        const auto n = parse_number(text);
        if (!n) return error("invalid immediate '" + std::string(text) + "'");
        if (n->negative && n->magnitude > (1ull << 63))
            return error("immediate " + std::string(text) + " does not fit in 64 bits");
        return static_cast<int64_t>(n->negative ? 0 - n->magnitude : n->magnitude);
    }

    /// A 16-bit offset: decimal in [-32768, 32767], or hex up to 0xffff (two's complement).
    Result<int16_t> offset(std::string_view text) const {
        const auto n = parse_number(text);
        if (!n) return error("invalid offset '" + std::string(text) + "'");
        const uint64_t limit = n->negative ? 0x8000u : (n->hex ? 0xffffu : 0x7fffu);
        if (n->magnitude > limit) return error("offset " + std::string(text) + " does not fit in 16 bits");
        const uint64_t v = n->negative ? 0 - n->magnitude : n->magnitude;
        return static_cast<int16_t>(static_cast<uint16_t>(v));
    }

    /// `[%rN]`, `[%rN+OFF]` or `[%rN-OFF]`; blanks inside the brackets are ignored.
    Status mem(std::string_view text, uint8_t& reg_out, int16_t& off_out) const {
        if (text.size() < 2 || text.front() != '[' || text.back() != ']')
            return error(mnemonic_ + ": expected a memory operand like [%r1+4], got '" + std::string(text) + "'");
        std::string inner;
        for (char c : text.substr(1, text.size() - 2))
            if (c != ' ' && c != '\t') inner += c;
        const size_t sign = inner.find_first_of("+-");
        auto r = reg(std::string_view(inner).substr(0, sign));
        if (!r) return r.error();
        reg_out = *r;
        off_out = 0;
        if (sign != std::string::npos) {
            auto o = offset(std::string_view(inner).substr(sign));
            if (!o) return o.error();
            off_out = *o;
        }
        return {};
    }

    const std::string& mnemonic() const { return mnemonic_; }
    uint32_t line() const { return line_; }

private:
    uint32_t line_;
    std::string mnemonic_;
};

/// A jump or local call whose label is resolved after the last line.
struct Fixup {
    uint32_t slot;
    uint32_t line;
    std::string label;
    bool imm_field;  // gotol and local calls hold the offset in imm, jumps in off
};

/// Splits the text after the mnemonic at commas. Blanks inside an operand (outside brackets) mean a
/// missing comma.
Result<std::vector<std::string_view>> split_operands(std::string_view rest, const LineAssembler& la) {
    std::vector<std::string_view> out;
    rest = trim(rest);
    if (rest.empty()) return out;
    size_t start = 0;
    int depth = 0;
    for (size_t i = 0; i <= rest.size(); ++i) {
        const char c = i < rest.size() ? rest[i] : ',';
        if (c == '[') ++depth;
        if (c == ']') --depth;
        if (c == ',' && depth <= 0) {
            const std::string_view op = trim(rest.substr(start, i - start));
            if (op.empty()) return la.error(la.mnemonic() + ": empty operand in '" + std::string(rest) + "'");
            if (op.front() != '[' && op.find_first_of(" \t") != std::string_view::npos)
                return la.error(la.mnemonic() + ": missing ',' between operands in '" + std::string(op) + "'");
            out.push_back(op);
            start = i + 1;
        }
    }
    return out;
}

/// Does the operand's shape (register, memory, other) suit the slot?
bool shape_fits(Slot slot, std::string_view text) {
    const bool is_reg = !text.empty() && text[0] == '%';
    const bool is_mem = !text.empty() && text[0] == '[';
    switch (slot) {
        case Slot::Dst:
        case Slot::Src: return is_reg;
        case Slot::MemDst:
        case Slot::MemSrc: return is_mem;
        case Slot::Imm32:
        case Slot::Imm64:
        case Slot::Target16:
        case Slot::Target32:
        case Slot::Helper: return !is_reg && !is_mem;
    }
    return false;
}

/// Encodes one instruction with the operands of `op`; records label fixups.
Status encode_line(Op op, const std::vector<std::string_view>& operands, const LineAssembler& la, uint32_t slot,
                   std::vector<RawInsn>& out, std::vector<Fixup>& fixups) {
    const Layout layout = layout_of(op_info(op).form);
    Insn insn;
    insn.op = op;
    bool imm_target = false;
    std::optional<std::string> label;
    for (size_t i = 0; i < layout.count; ++i) {
        const std::string_view text = operands[i];
        switch (layout.slots[i]) {
            case Slot::Dst: {
                auto r = la.reg(text);
                if (!r) return r.error();
                insn.dst = *r;
                break;
            }
            case Slot::Src: {
                auto r = la.reg(text);
                if (!r) return r.error();
                insn.src = *r;
                break;
            }
            case Slot::MemDst:
                BPFVM_TRY(la.mem(text, insn.dst, insn.off));
                break;
            case Slot::MemSrc:
                BPFVM_TRY(la.mem(text, insn.src, insn.off));
                break;
            case Slot::Imm32: {
                auto v = la.imm32(text);
                if (!v) return v.error();
                insn.imm = *v;
                break;
            }
            case Slot::Imm64: {
                auto v = la.imm64(text);
                if (!v) return v.error();
                insn.imm = *v;
                break;
            }
            case Slot::Helper: {
                if (is_label_name(text)) {
                    const int id = helper_id_by_name(text);
                    if (id < 0)
                        return la.error("unknown helper '" + std::string(text) + "' (a local function is called with 'call local " +
                                        std::string(text) + "')");
                    insn.imm = id;
                } else {
                    auto v = la.imm32(text, "helper id");
                    if (!v) return v.error();
                    insn.imm = *v;
                }
                break;
            }
            case Slot::Target16:
            case Slot::Target32: {
                imm_target = layout.slots[i] == Slot::Target32;
                if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
                    if (imm_target) {
                        auto v = la.imm32(text, "jump offset");
                        if (!v) return v.error();
                        insn.imm = *v;
                    } else {
                        auto v = la.offset(text);
                        if (!v) return v.error();
                        insn.off = *v;
                    }
                } else if (is_label_name(text)) {
                    label = std::string(text);
                } else {
                    return la.error(la.mnemonic() + ": jump target '" + std::string(text) +
                                    "' is neither a label nor a signed offset like +4");
                }
                break;
            }
        }
    }
    encode_insn(insn, out);
    if (label) fixups.push_back({slot, la.line(), *label, imm_target});
    return {};
}

/// Splits a line into its mnemonic key ("add32", "lock fetch add", "call local") and the operand text.
std::pair<std::string, std::string_view> split_mnemonic(std::string_view text) {
    auto next_word = [](std::string_view& s) {
        s = trim(s);
        const size_t end = s.find_first_of(" \t");
        const std::string_view word = s.substr(0, end);
        s = end == std::string_view::npos ? std::string_view{} : s.substr(end);
        return word;
    };
    std::string_view rest = text;
    std::string key(next_word(rest));
    if (key == "lock") {
        std::string_view probe = rest;
        std::string_view word = next_word(probe);
        if (word == "fetch") {
            key += " fetch";
            rest = probe;
            probe = rest;
            word = next_word(probe);
        }
        if (!word.empty() && word[0] != '[') {
            key += " " + std::string(word);
            rest = probe;
        }
    } else if (key == "call") {
        std::string_view probe = rest;
        const std::string_view word = next_word(probe);
        if ((word == "local" || word == "helper" || word == "runtime" || word == "kfunc") && !trim(probe).empty()) {
            key += " " + std::string(word);
            rest = probe;
        }
    }
    return {key, rest};
}

Status assemble_insn(std::string_view text, uint32_t line, uint32_t slot, std::vector<RawInsn>& out,
                     std::vector<Fixup>& fixups) {
    auto [key, rest] = split_mnemonic(text);
    const LineAssembler la(line, key);
    const auto& table = mnemonic_table();
    const auto it = table.find(key);
    if (it == table.end()) {
        if (key == "lock" || key == "lock fetch")
            return la.error("lock needs an atomic operation: lock [fetch] add|or|and|xor [%rD+OFF], %rS, or lock "
                            "xchg|cmpxchg [%rD+OFF], %rS (32-bit forms end in 32)");
        if (key.rfind("lock ", 0) == 0) return la.error("unknown atomic operation '" + key + "'");
        return la.error("unknown mnemonic '" + key + "'");
    }
    auto operands = split_operands(rest, la);
    if (!operands) return operands.error();
    const Op* fallback = nullptr;
    for (const Op& op : it->second) {
        const Layout layout = layout_of(op_info(op).form);
        if (layout.count != operands->size()) continue;
        if (fallback == nullptr) fallback = &op;
        bool fits = true;
        for (size_t i = 0; i < layout.count; ++i) fits = fits && shape_fits(layout.slots[i], (*operands)[i]);
        if (fits) return encode_line(op, *operands, la, slot, out, fixups);
    }
    if (fallback != nullptr) return encode_line(*fallback, *operands, la, slot, out, fixups);
    // "2 (register, immediate | register, register)": the layouts the mnemonic accepts, by count.
    std::map<size_t, std::string> layouts;
    for (const Op& op : it->second) {
        const Layout layout = layout_of(op_info(op).form);
        std::string& text = layouts[layout.count];
        if (text.find(layout.describe) == std::string::npos) text += (text.empty() ? "" : " | ") + std::string(layout.describe);
    }
    std::string expected;
    for (const auto& [count, text] : layouts)
        expected += (expected.empty() ? "" : " or ") + std::to_string(count) + " (" + text + ")";
    return la.error("invalid number of operands for '" + key + "': expected " + expected + ", got " +
                    std::to_string(operands->size()));
}

}  // namespace

Result<std::vector<RawInsn>> assemble(std::string_view text) {
    std::vector<RawInsn> out;
    std::vector<Fixup> fixups;
    std::map<std::string, std::pair<uint32_t, uint32_t>, std::less<>> labels;  // name -> (slot, line)
    std::optional<uint32_t> first_exit;
    uint32_t line = 0;
    while (!text.empty() || line == 0) {
        ++line;
        const size_t eol = text.find('\n');
        std::string_view src = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        if (const size_t hash = src.find('#'); hash != std::string_view::npos) src = src.substr(0, hash);
        src = trim(src);
        // Labels: `name:` alone or before an instruction.
        if (const size_t colon = src.find(':'); colon != std::string_view::npos && src.find('[') > colon) {
            const std::string_view name = trim(src.substr(0, colon));
            if (!is_label_name(name))
                return make_error(ErrorCode::kMalformed, "line " + std::to_string(line) + ": invalid label name '" +
                                                             std::string(name) + "'");
            const auto [pos, inserted] = labels.emplace(std::string(name), std::make_pair(uint32_t(out.size()), line));
            if (!inserted)
                return make_error(ErrorCode::kMalformed, "line " + std::to_string(line) + ": duplicate label '" +
                                                             std::string(name) + "' (first defined on line " +
                                                             std::to_string(pos->second.second) + ")");
            src = trim(src.substr(colon + 1));
        }
        if (src.empty()) continue;
        const auto slot = static_cast<uint32_t>(out.size());
        BPFVM_TRY(assemble_insn(src, line, slot, out, fixups));
        if (!first_exit && out[slot].opcode == op_info(Op::Exit).opcode) first_exit = slot;
    }
    // As in the suite, `exit` names the first exit instruction unless a label of that name exists.
    if (first_exit && !labels.count("exit")) labels.emplace("exit", std::make_pair(*first_exit, 0u));
    for (const Fixup& f : fixups) {
        const auto it = labels.find(f.label);
        if (it == labels.end())
            return make_error(ErrorCode::kMalformed,
                              "line " + std::to_string(f.line) + ": unknown label '" + f.label + "'");
        const int64_t rel = int64_t{it->second.first} - int64_t{f.slot} - 1;
        RawInsn& raw = out[f.slot];
        if (f.imm_field) {
            raw.set_imm(static_cast<int32_t>(rel));
        } else {
            if (rel < std::numeric_limits<int16_t>::min() || rel > std::numeric_limits<int16_t>::max())
                return make_error(ErrorCode::kMalformed, "line " + std::to_string(f.line) + ": label '" + f.label +
                                                             "' is " + std::to_string(rel) +
                                                             " slots away, beyond the 16-bit jump offset (use ja32)");
            raw.set_off(static_cast<int16_t>(rel));
        }
    }
    return out;
}

}  // namespace bpfvm
