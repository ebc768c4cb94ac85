// Programs: find them (function symbols in code sections), copy each with every subprogram it
// calls (transitively) appended, apply map/data/function relocations and CO-RE, map BTF.ext
// line and func info onto the linked slots, then decode.
#include <elf.h>

#include <algorithm>
#include <unordered_map>

#include "context.hpp"

namespace bpfvm::loader {
namespace {

constexpr uint8_t kOpCall = 0x85;
constexpr uint8_t kOpLddw = 0x18;
// Linking copies each called subprogram into every program that calls it, so a small object can
// ask for (programs x subprogram size) slots; the sum over the object is capped as well as each
// program (LoadOptions::max_program_insns), so that memory stays proportional to the limits.
constexpr uint64_t kMaxObjectLinkedSlots = uint64_t{1} << 24;

/// A function: a slot range of one code section.
struct Func {
    uint32_t shndx = 0;
    uint32_t start = 0, end = 0;
    std::string name;
};

/// A code section: its instructions, functions (sorted by start) and relocations by slot.
struct CodeSection {
    uint32_t index = 0;
    std::string name;
    std::vector<RawInsn> insns;
    std::vector<Func> funcs;
    std::unordered_map<uint32_t, const Reloc*> relocs;
};

struct Linker {
    LoadContext& ctx;
    std::map<uint32_t, CodeSection> code;  // by section index

    Status index_code();
    std::optional<uint32_t> builtin(const std::string& name);
    bool is_ksym_func(const std::string& name) const;
    Status link(const Func& main, ProgramSpec& prog);
};

Status Linker::index_code() {
    for (const auto& sec : ctx.elf.sections) {
        if (!sec.executable() || sec.size == 0) continue;
        const std::string what = "section " + sec.name;
        if (sec.data.size() != sec.size) return ctx.error(ErrorCode::kMalformed, what, "contents could not be read");
        if (sec.data.size() % sizeof(RawInsn) != 0)
            return ctx.error(ErrorCode::kMalformed, what, "size " + std::to_string(sec.data.size()) + " is not a multiple of 8");
        if (sec.data.size() / sizeof(RawInsn) > kMaxProgramInsns)
            return ctx.error(ErrorCode::kUnsupported, what, "too many instructions");
        CodeSection cs;
        cs.index = sec.index;
        cs.name = sec.name;
        cs.insns.resize(sec.data.size() / sizeof(RawInsn));
        std::memcpy(cs.insns.data(), sec.data.data(), sec.data.size());
        const auto slots = static_cast<uint32_t>(cs.insns.size());
        for (const auto& sym : ctx.elf.symbols) {
            if (sym.shndx != sec.index || sym.type != STT_FUNC) continue;
            if (sym.value % 8 != 0 || sym.value / 8 >= slots || sym.size % 8 != 0 || sym.size / 8 > slots - sym.value / 8)
                return ctx.error(ErrorCode::kMalformed, what, "function '" + sym.name + "' [" + std::to_string(sym.value) + ", +" +
                                                                  std::to_string(sym.size) + ") is not inside the section");
            cs.funcs.push_back({sec.index, static_cast<uint32_t>(sym.value / 8),
                                static_cast<uint32_t>((sym.value + sym.size) / 8), sym.name});
        }
        std::sort(cs.funcs.begin(), cs.funcs.end(), [](const Func& a, const Func& b) { return a.start < b.start; });
        for (size_t i = 0; i < cs.funcs.size(); ++i) {
            // Size 0 (hand-written assembly): the function runs to the next one.
            if (cs.funcs[i].end == cs.funcs[i].start) cs.funcs[i].end = i + 1 < cs.funcs.size() ? cs.funcs[i + 1].start : slots;
            if (cs.funcs[i].end <= cs.funcs[i].start)
                return ctx.error(ErrorCode::kMalformed, what, "function '" + cs.funcs[i].name + "' is empty");
        }
        for (const auto& r : ctx.elf.relocs[sec.index]) {
            // Very old LLVM (e_machine 0) wrote R_BPF_NONE on lddw map references; libbpf and the
            // kernel samples of that time treated every code relocation of an lddw as 64_64.
            const bool legacy_lddw = r.type == 0 && r.offset % 8 == 0 && r.offset / 8 < slots &&
                                     sec.data[r.offset] == 0x18;
            if (r.type != kRBpf64_64 && r.type != kRBpf64_32 && !legacy_lddw) continue;  // ABS relocations do not touch code
            if (r.offset % 8 != 0 || r.offset / 8 >= slots)
                return ctx.error(ErrorCode::kMalformed, what, "relocation at offset " + std::to_string(r.offset) + " is outside the code");
            cs.relocs[static_cast<uint32_t>(r.offset / 8)] = &r;
        }
        code.emplace(sec.index, std::move(cs));
    }
    return {};
}

RawInsn make_insn(uint8_t opcode, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    return RawInsn::make(opcode, dst, src, off, imm);
}

/// Pseudo section indices for the built-in library functions below (above any real index).
constexpr uint32_t kBuiltinBase = 0xfff00000;

/// clang lowers large struct copies and zeroing to calls to memset/memcpy, which the kernel
/// toolchain never links. We supply them as BPF subprograms (byte loops), as verifiers such as
/// PREVAIL treat them as built-ins. memset(r1 dst, r2 byte, r3 n) and memcpy(r1 dst, r2 src, r3 n)
/// return 0, not dst: clang's lowering never reads the result, and a BPF function may not return a
/// pointer into its caller's stack (the verifier would reject every stack-buffer memset).
std::vector<RawInsn> builtin_code(const std::string& name) {
    if (name == "memset")
        return {make_insn(0xb7, 0, 0, 0, 0),  make_insn(0x15, 3, 0, 4, 0), make_insn(0x73, 1, 2, 0, 0),
                make_insn(0x07, 1, 0, 0, 1),  make_insn(0x17, 3, 0, 0, 1), make_insn(0x05, 0, 0, -5, 0),
                make_insn(0x95, 0, 0, 0, 0)};
    if (name == "memcpy")
        return {make_insn(0xb7, 0, 0, 0, 0), make_insn(0x15, 3, 0, 6, 0), make_insn(0x71, 4, 2, 0, 0),
                make_insn(0x73, 1, 4, 0, 0), make_insn(0x07, 1, 0, 0, 1), make_insn(0x07, 2, 0, 0, 1),
                make_insn(0x17, 3, 0, 0, 1), make_insn(0x05, 0, 0, -7, 0), make_insn(0x95, 0, 0, 0, 0)};
    return {};
}

std::optional<uint32_t> Linker::builtin(const std::string& name) {
    static const char* const kNames[] = {"memset", "memcpy"};
    for (uint32_t i = 0; i < std::size(kNames); ++i) {
        if (name != kNames[i]) continue;
        const uint32_t index = kBuiltinBase + i;
        if (!code.count(index)) {
            CodeSection cs;
            cs.index = index;
            cs.name = "<builtin " + name + ">";
            cs.insns = builtin_code(name);
            cs.funcs.push_back({index, 0, static_cast<uint32_t>(cs.insns.size()), name});
            code.emplace(index, std::move(cs));
        }
        return index;
    }
    return std::nullopt;
}

bool Linker::is_ksym_func(const std::string& name) const {
    if (!ctx.obj.btf) return false;
    const Btf& btf = *ctx.obj.btf;
    auto ds = btf.find(".ksyms", BtfKind::Datasec);
    if (!ds) return false;
    for (const auto& v : btf.types[*ds].vars) {
        const BtfType* t = btf.get(v.type);
        if (t != nullptr && t->kind == BtfKind::Func && t->name == name) return true;
    }
    return false;
}

/// The function of `cs` containing slot `slot`; a section without function symbols is one function.
std::optional<Func> func_at(const CodeSection& cs, uint32_t slot) {
    if (cs.funcs.empty()) return Func{cs.index, 0, static_cast<uint32_t>(cs.insns.size()), cs.name};
    for (const auto& f : cs.funcs)
        if (slot >= f.start && slot < f.end) return f;
    return std::nullopt;
}

Status Linker::link(const Func& main, ProgramSpec& prog) {
    const std::string where = "section " + prog.section + ": program " + prog.name;
    struct Copy {
        Func func;
        uint32_t base;
    };
    std::vector<Copy> copies;
    std::vector<RawInsn> out;
    auto add_copy = [&](const Func& f) -> Result<uint32_t> {
        for (uint32_t i = 0; i < copies.size(); ++i)
            if (copies[i].func.shndx == f.shndx && copies[i].func.start == f.start) return i;
        const uint32_t limit = ctx.options.max_program_insns;
        if (out.size() + (f.end - f.start) > limit)
            return ctx.error(ErrorCode::kInvalidArgument, where, "program too large: more than the limit of " +
                                                                  std::to_string(limit) + " instructions once linked");
        const auto& insns = code.at(f.shndx).insns;
        copies.push_back({f, static_cast<uint32_t>(out.size())});
        out.insert(out.end(), insns.begin() + f.start, insns.begin() + f.end);
        return static_cast<uint32_t>(copies.size() - 1);
    };
    BPFVM_TRY(add_copy(main));
    prog.main_slots = main.end - main.start;

    // Resolves a code target (section, slot) to a linked slot, copying its function if needed.
    auto link_target = [&](const Copy& from, uint32_t shndx, int64_t slot, uint32_t at) -> Result<uint32_t> {
        auto it = code.find(shndx);
        const std::string insn_where = where + ": insn " + std::to_string(at);
        if (it == code.end()) return ctx.error(ErrorCode::kMalformed, insn_where, "call or function reference into a non-code section");
        if (slot < 0 || slot >= static_cast<int64_t>(it->second.insns.size()))
            return ctx.error(ErrorCode::kMalformed, insn_where, "call target " + std::to_string(slot) + " outside section " + it->second.name);
        const auto s = static_cast<uint32_t>(slot);
        if (shndx == from.func.shndx && s >= from.func.start && s < from.func.end) return from.base + (s - from.func.start);
        auto f = func_at(it->second, s);
        if (!f) return ctx.error(ErrorCode::kMalformed, insn_where, "call target " + std::to_string(s) + " in " + it->second.name + " is not inside a function");
        auto idx = add_copy(*f);
        if (!idx) return idx.error();
        return copies[*idx].base + (s - f->start);
    };

    const CoreTarget* target = nullptr;
    for (size_t ci = 0; ci < copies.size(); ++ci) {
        const Copy copy = copies[ci];  // by value: add_copy may grow the vector
        const CodeSection& cs = code.at(copy.func.shndx);
        for (uint32_t s = copy.func.start; s < copy.func.end; ++s) {
            const uint32_t at = copy.base + (s - copy.func.start);
            RawInsn& insn = out[at];
            auto rit = cs.relocs.find(s);
            const Reloc* rel = rit == cs.relocs.end() ? nullptr : rit->second;
            const Symbol* sym = rel ? &ctx.elf.symbols[rel->sym] : nullptr;
            const std::string insn_where = where + ": insn " + std::to_string(at);
            if (insn.opcode == kOpCall && (insn.src() == 1 || sym != nullptr)) {
                std::optional<uint32_t> lib;
                if (sym != nullptr && sym->shndx == SHN_UNDEF) {
                    if (is_ksym_func(sym->name)) {
                        // A kernel function (extern ... __ksym): call by target BTF id (src 2).
                        auto t = core_target(ctx);
                        if (!t) return ctx.error(t.error().code, insn_where, "kfunc '" + sym->name + "' needs a target BTF: " + t.error().message);
                        std::optional<uint32_t> id;
                        auto it = (*t)->by_name.find(sym->name);
                        if (it != (*t)->by_name.end())
                            for (uint32_t cand : it->second)
                                if ((*t)->btf->types[cand].kind == BtfKind::Func && (*t)->btf->types[cand].name == sym->name) id = cand;
                        if (!id) return ctx.error(ErrorCode::kNotFound, insn_where, "kfunc '" + sym->name + "' not found in the target BTF");
                        out[at].set_src(2);
                        out[at].set_imm(static_cast<int32_t>(*id));
                        const auto kid = static_cast<int32_t>(*id);
                        if (std::none_of(prog.kfuncs.begin(), prog.kfuncs.end(), [&](const auto& k) { return k.first == kid; }))
                            prog.kfuncs.emplace_back(kid, sym->name);
                        continue;
                    }
                    lib = builtin(sym->name);
                    if (!lib) return ctx.error(ErrorCode::kUnsupported, insn_where, "call to undefined external function '" + sym->name + "'");
                }
                if (insn.src() != 1)
                    return ctx.error(ErrorCode::kMalformed, insn_where, "relocation against '" + (sym ? sym->name : "") + "' on a helper call");
                uint32_t shndx = copy.func.shndx;
                int64_t slot = int64_t{s} + insn.imm() + 1;
                if (lib) {
                    shndx = *lib;
                    slot = 0;
                } else if (sym != nullptr) {
                    shndx = sym->shndx;
                    slot = static_cast<int64_t>(sym->value / 8) + insn.imm() + 1;
                }
                auto t = link_target(copy, shndx, slot, at);
                if (!t) return t.error();
                out[at].set_imm(static_cast<int32_t>(int64_t{*t} - at - 1));
            } else if (insn.opcode == kOpLddw) {
                if (s + 1 >= copy.func.end) return ctx.error(ErrorCode::kMalformed, insn_where, "lddw is missing its second half");
                if (sym != nullptr) {
                    const int64_t addend = rel->addend ? *rel->addend : insn.imm();
                    const Section* target_sec = ctx.elf.at(sym->shndx);
                    // Old compilers relocate against the section symbol with the offset in imm.
                    const uint64_t map_off = sym->value + (sym->type == STT_SECTION ? static_cast<uint64_t>(addend) : 0);
                    auto map_it = ctx.map_at.find({sym->shndx, map_off});
                    auto data_it = ctx.data_maps.find(sym->shndx);
                    if (sym->shndx == SHN_UNDEF) {
                        auto kc = ctx.kconfig_vars.find(sym->name);
                        if (kc == ctx.kconfig_vars.end() || !ctx.kconfig_map)
                            return ctx.error(ErrorCode::kUnsupported, insn_where, "reference to unresolved extern '" + sym->name + "'");
                        insn.set_src(static_cast<uint8_t>(LddwKind::MapIdxValue));
                        insn.set_imm(static_cast<int32_t>(*ctx.kconfig_map));
                        out[at + 1].set_imm(static_cast<int32_t>(kc->second + addend));
                        prog.map_refs.push_back({at, *ctx.kconfig_map, true, static_cast<uint32_t>(kc->second + addend)});
                    } else if (target_sec != nullptr && target_sec->executable()) {
                        auto t = link_target(copy, sym->shndx, static_cast<int64_t>((sym->value + addend) / 8), at);
                        if (!t) return t.error();
                        out[at].set_src(static_cast<uint8_t>(LddwKind::Func));
                        out[at].set_imm(static_cast<int32_t>(int64_t{*t} - at - 1));
                        out[at + 1].set_imm(0);
                    } else if (map_it != ctx.map_at.end()) {
                        insn.set_src(static_cast<uint8_t>(LddwKind::MapIdx));
                        insn.set_imm(static_cast<int32_t>(map_it->second));
                        out[at + 1].set_imm(0);
                        prog.map_refs.push_back({at, map_it->second, false, 0});
                    } else if (data_it != ctx.data_maps.end()) {
                        const int64_t off = static_cast<int64_t>(sym->value) + addend;
                        const MapSpec& m = ctx.obj.maps[data_it->second];
                        if (off < 0 || off >= static_cast<int64_t>(std::max<uint32_t>(m.value_size, 1)))
                            return ctx.error(ErrorCode::kMalformed, insn_where, "offset " + std::to_string(off) + " into " + m.name + " is outside the section");
                        insn.set_src(static_cast<uint8_t>(LddwKind::MapIdxValue));
                        insn.set_imm(static_cast<int32_t>(data_it->second));
                        out[at + 1].set_imm(static_cast<int32_t>(off));
                        prog.map_refs.push_back({at, data_it->second, true, static_cast<uint32_t>(off)});
                    } else {
                        return ctx.error(ErrorCode::kMalformed, insn_where, "lddw relocation against '" + sym->name + "' in section " +
                                                                               (target_sec ? target_sec->name : std::to_string(sym->shndx)) +
                                                                               ", which is neither a map, global data nor code");
                    }
                }
                ++s;  // second half
            } else if (sym != nullptr) {
                return ctx.error(ErrorCode::kMalformed, insn_where, "relocation against '" + sym->name + "' on an instruction that is neither lddw nor call (opcode " +
                                                                       std::to_string(insn.opcode) + ")");
            }
        }
        // BTF.ext records of this function, moved to linked slots.
        auto ext_it = ctx.ext.sections.find(cs.name);
        if (ext_it == ctx.ext.sections.end()) continue;
        const BtfExtSection& ext = ext_it->second;
        auto inside = [&](uint32_t slot) { return slot >= copy.func.start && slot < copy.func.end; };
        for (const auto& f : ext.funcs) {
            if (!inside(f.slot)) continue;
            FuncEntry e{copy.base + (f.slot - copy.func.start), {}, f.type_id};
            if (ctx.obj.btf)
                if (const BtfType* t = ctx.obj.btf->get(f.type_id)) e.name = t->name;
            prog.funcs.push_back(std::move(e));
        }
        for (const auto& l : ext.lines) {
            if (!inside(l.slot)) continue;
            prog.lines.push_back({copy.base + (l.slot - copy.func.start), static_cast<uint32_t>(prog.line_table.size())});
            prog.line_table.push_back({l.file, l.line, l.column, l.text});
        }
        if (!ctx.options.apply_core) continue;
        for (const auto& c : ext.core) {
            if (!inside(c.slot)) continue;
            const uint32_t at = copy.base + (c.slot - copy.func.start);
            if (target == nullptr && c.kind != 6) {  // TYPE_ID_LOCAL needs no target
                auto t = core_target(ctx);
                if (!t) return ctx.error(t.error().code, where + ": insn " + std::to_string(at), "CO-RE relocation needs a target BTF: " + t.error().message);
                target = *t;
            }
            if (!ctx.obj.btf) return ctx.error(ErrorCode::kMalformed, where, "CO-RE relocations without .BTF");
            const CoreTarget local_only{ctx.obj.btf, {}};
            auto r = apply_core_relocation(*ctx.obj.btf, target != nullptr ? *target : local_only, c, out, at);
            if (!r) return ctx.error(r.error().code, where + ": insn " + std::to_string(at), r.error().message);
            prog.core_relocations.push_back(std::move(*r));
        }
    }
    std::stable_sort(prog.lines.begin(), prog.lines.end(), [](const LineEntry& a, const LineEntry& b) { return a.pc < b.pc; });
    std::stable_sort(prog.funcs.begin(), prog.funcs.end(), [](const FuncEntry& a, const FuncEntry& b) { return a.pc < b.pc; });

    DecodeOptions decode_options;
    decode_options.max_slots = ctx.options.max_program_insns;
    auto decoded = decode_program(std::span<const RawInsn>(out), decode_options);
    if (!decoded) {
        Error e = decoded.error();
        e.where = ctx.file + ": " + where;
        if (e.pc) {
            if (auto line = prog.line_for(*e.pc)) e.source = line->location() + ": " + line->text;
        }
        return e;
    }
    prog.program = std::move(*decoded);
    prog.program.name = prog.name;
    for (const auto& insn : prog.program.insns)
        if (op_info(insn.op).form == Form::Call) prog.helpers.push_back(static_cast<int32_t>(insn.imm));
    std::sort(prog.helpers.begin(), prog.helpers.end());
    prog.helpers.erase(std::unique(prog.helpers.begin(), prog.helpers.end()), prog.helpers.end());
    return {};
}

}  // namespace

Status collect_programs(LoadContext& ctx) {
    Linker linker{ctx, {}};
    BPFVM_TRY(linker.index_code());
    uint64_t linked = 0;
    std::vector<uint32_t> sections;
    for (const auto& [shndx, cs] : linker.code) sections.push_back(shndx);
    for (uint32_t shndx : sections) {
        const CodeSection& cs = linker.code.at(shndx);
        std::vector<Func> mains;
        const bool text = cs.name == ".text";
        if (cs.funcs.empty()) {
            // No function symbols (old objects): the section is one program, named by a global
            // symbol at offset 0 if there is one.
            Func f{shndx, 0, static_cast<uint32_t>(cs.insns.size()), cs.name};
            for (const auto& sym : ctx.elf.symbols)
                if (sym.shndx == shndx && sym.value == 0 && sym.bind == STB_GLOBAL && !sym.name.empty()) f.name = sym.name;
            mains.push_back(f);
        } else {
            // Every function of a program section is a program; in .text only global functions
            // are (static ones are subprograms only), as PREVAIL and older loaders list them.
            for (const auto& f : cs.funcs) {
                if (text) {
                    bool global = false;
                    for (const auto& sym : ctx.elf.symbols)
                        if (sym.shndx == shndx && sym.type == STT_FUNC && sym.value / 8 == f.start && sym.bind == STB_GLOBAL) global = true;
                    if (!global) continue;
                }
                mains.push_back(f);
            }
        }
        const SectionInfo kind = program_type_for_section(cs.name);
        for (const Func& f : mains) {
            ProgramSpec prog;
            prog.name = f.name;
            prog.section = cs.name;
            prog.type = kind.type;
            prog.expected_attach_type = kind.attach;
            prog.attach_target = kind.target;
            prog.sleepable = kind.sleepable();
            prog.autoload = kind.autoload;
            Status st = linker.link(f, prog);
            linked += prog.program.num_slots;
            if (linked > kMaxObjectLinkedSlots)
                return ctx.error(ErrorCode::kUnsupported, "section " + cs.name,
                                 "the object's programs link to more than " + std::to_string(kMaxObjectLinkedSlots) +
                                     " instructions in total");
            if (!st) {
                if (!ctx.options.keep_going) return st.error();
                prog.error = st.error();
                prog.program = Program{};
            }
            ctx.obj.programs.push_back(std::move(prog));
        }
    }
    return {};
}

}  // namespace bpfvm::loader
