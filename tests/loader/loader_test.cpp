// Focused loader tests on small objects compiled from tests/loader/bpf/*.c during the build:
// programs per section, subprogram linking, maps, global data, line info, CO-RE, truncation.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>

#include "bpfvm/object.hpp"

using namespace bpfvm;

namespace {

#ifndef LOADER_HAVE_BPF_OBJECTS
#define LOADER_PROGRAMS_OBJ ""
#define LOADER_MAPS_OBJ ""
#define LOADER_CORE_OBJ ""
#define LOADER_KFUNC_OBJ ""
#endif

ObjectFile load_ok(const char* path) {
    if (std::string(path).empty()) return {};
    auto obj = load_object(path);
    EXPECT_TRUE(obj.has_value()) << obj.error().to_string();
    return obj ? std::move(*obj) : ObjectFile{};
}

#define REQUIRE_OBJECTS()                                                                  \
    do {                                                                                   \
        if (std::string(LOADER_PROGRAMS_OBJ).empty()) GTEST_SKIP() << "clang not found: no BPF test objects"; \
    } while (0)

std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Every local call and function reference of `p` targets a subprogram entry.
void expect_calls_resolved(const Program& p) {
    for (const auto& insn : p.insns) {
        const Form form = op_info(insn.op).form;
        if (form == Form::CallLocal || (insn.op == Op::Lddw && insn.src == static_cast<uint8_t>(LddwKind::Func))) {
            EXPECT_NE(std::find(p.subprog_entries.begin(), p.subprog_entries.end(), insn.target), p.subprog_entries.end())
                << "insn " << insn.pc;
        }
    }
}

TEST(Loader, SeveralProgramsPerSectionAndSubprograms) {
    REQUIRE_OBJECTS();
    const ObjectFile obj = load_ok(LOADER_PROGRAMS_OBJ);
    EXPECT_EQ(obj.license, "GPL");
    const ProgramSpec* a = obj.find_program("prog_a");
    const ProgramSpec* b = obj.find_program("prog_b");
    const ProgramSpec* t = obj.find_program("trace_write");
    ASSERT_TRUE(a && b && t);
    EXPECT_EQ(a->section, "xdp");
    EXPECT_EQ(b->section, "xdp");
    EXPECT_EQ(a->type, ProgramType::Xdp);
    EXPECT_EQ(a->expected_attach_type, AttachType::Xdp);
    EXPECT_EQ(t->type, ProgramType::Tracepoint);
    EXPECT_EQ(t->attach_target, "syscalls/sys_enter_write");
    // prog_a calls middle, which calls leaf: main + 2 subprograms, appended after main.
    EXPECT_LT(a->main_slots, a->program.num_slots);
    EXPECT_EQ(a->program.subprog_entries.size(), 3u);
    expect_calls_resolved(a->program);
    // prog_b calls global_helper (a global .text function) and leaf.
    EXPECT_EQ(b->program.subprog_entries.size(), 3u);
    expect_calls_resolved(b->program);
    // The bpf_loop callback is an lddw function reference (src 4) to an appended subprogram.
    bool has_func_ref = false;
    for (const auto& insn : t->program.insns)
        if (insn.op == Op::Lddw && insn.src == static_cast<uint8_t>(LddwKind::Func)) {
            has_func_ref = true;
            EXPECT_GE(t->program.insns[insn.target].pc, t->main_slots);
        }
    EXPECT_TRUE(has_func_ref);
    expect_calls_resolved(t->program);
    EXPECT_EQ(t->helpers, (std::vector<int32_t>{5, 181}));
    // Global .text functions are listed as programs too (PREVAIL lists them), with no type.
    const ProgramSpec* g = obj.find_program("global_helper");
    ASSERT_TRUE(g);
    EXPECT_EQ(g->section, ".text");
    EXPECT_EQ(g->type, ProgramType::Unspec);
    EXPECT_EQ(obj.find_program("no_such_program"), nullptr);
}

TEST(Loader, LineAndFuncInfoCoverLinkedSubprograms) {
    REQUIRE_OBJECTS();
    const ObjectFile obj = load_ok(LOADER_PROGRAMS_OBJ);
    const ProgramSpec* a = obj.find_program("prog_a");
    ASSERT_TRUE(a);
    for (uint32_t pc = 0; pc < a->program.num_slots; ++pc) {
        auto line = a->line_for(pc);
        ASSERT_TRUE(line) << "pc " << pc;
        EXPECT_NE(line->file.find("programs.c"), std::string::npos);
        EXPECT_GT(line->line, 0u);
    }
    EXPECT_NE(a->line_for(0)->text.find("return middle(2);"), std::string::npos) << a->line_for(0)->text;
    bool leaf_line = false;
    for (uint32_t pc = a->main_slots; pc < a->program.num_slots; ++pc)
        leaf_line = leaf_line || a->line_for(pc)->text.find("x * 3 + 1") != std::string::npos;
    EXPECT_TRUE(leaf_line);
    std::vector<std::string> names;
    for (const auto& f : a->funcs) names.push_back(f.name);
    EXPECT_EQ(names.size(), 3u);
    EXPECT_EQ(names[0], "prog_a");
    EXPECT_NE(std::find(names.begin(), names.end(), "middle"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "leaf"), names.end());
    EXPECT_EQ(a->function_at(0), "prog_a");
    EXPECT_EQ(a->line_for(0)->location().rfind(a->line_for(0)->file, 0), 0u);
}

TEST(Loader, LegacyBtfAndGlobalDataMaps) {
    REQUIRE_OBJECTS();
    const ObjectFile obj = load_ok(LOADER_MAPS_OBJ);
    const MapSpec* lh = obj.find_map("legacy_hash");
    ASSERT_TRUE(lh);
    EXPECT_EQ(lh->kind, MapKind::Legacy);
    EXPECT_EQ(lh->type, MapType::Hash);
    EXPECT_EQ(lh->key_size, 4u);
    EXPECT_EQ(lh->value_size, 8u);
    EXPECT_EQ(lh->max_entries, 64u);
    EXPECT_EQ(lh->map_flags, 1u);
    const MapSpec* bh = obj.find_map("btf_hash");
    ASSERT_TRUE(bh);
    EXPECT_EQ(bh->kind, MapKind::BtfMap);
    EXPECT_EQ(bh->type, MapType::Hash);
    EXPECT_EQ(bh->key_size, 4u);
    EXPECT_EQ(bh->value_size, 24u);
    EXPECT_EQ(bh->max_entries, 1024u);
    ASSERT_TRUE(obj.btf);
    EXPECT_EQ(obj.btf->type_name(bh->btf_value_type_id), "struct value_t");
    const MapSpec* outer = obj.find_map("outer");
    ASSERT_TRUE(outer && outer->inner_map);
    EXPECT_EQ(outer->type, MapType::ArrayOfMaps);
    const MapSpec& inner = obj.maps[*outer->inner_map];
    EXPECT_EQ(inner.type, MapType::Array);
    EXPECT_EQ(inner.value_size, 8u);
    EXPECT_EQ(inner.max_entries, 8u);
    ASSERT_EQ(outer->slot_inits.size(), 1u);
    EXPECT_EQ(outer->slot_inits[0].slot, 1u);
    EXPECT_EQ(outer->slot_inits[0].target, "inner_a");

    const MapSpec* data = obj.find_map(".data");
    const MapSpec* rodata = obj.find_map(".rodata");
    const MapSpec* bss = obj.find_map(".bss");
    ASSERT_TRUE(data && rodata && bss);
    EXPECT_EQ(data->initial_data, (std::vector<uint8_t>{7, 0, 0, 0}));
    EXPECT_TRUE(rodata->readonly);
    EXPECT_EQ(rodata->initial_data, (std::vector<uint8_t>{100, 0, 0, 0}));
    EXPECT_EQ(bss->initial_data, std::vector<uint8_t>(32, 0));
    EXPECT_EQ(bss->max_entries, 1u);

    // Every map reference is an lddw rewritten to src 5 (map) or 6 (map value + offset).
    const ProgramSpec* p = obj.find_program("use_maps");
    ASSERT_TRUE(p);
    std::set<std::string> referenced;
    for (const auto& ref : p->map_refs) {
        referenced.insert(obj.maps.at(ref.map_index).name);
        const Insn& insn = p->program.insns[p->program.index_of(ref.pc)];
        ASSERT_EQ(insn.op, Op::Lddw);
        EXPECT_EQ(insn.src, static_cast<uint8_t>(ref.value ? LddwKind::MapIdxValue : LddwKind::MapIdx));
        EXPECT_EQ(static_cast<uint32_t>(insn.imm & 0xffffffff), ref.map_index);
        if (ref.value) {
            EXPECT_EQ(static_cast<uint32_t>(static_cast<uint64_t>(insn.imm) >> 32), ref.offset);
            EXPECT_LT(ref.offset, obj.maps[ref.map_index].value_size);
        }
    }
    EXPECT_EQ(referenced, (std::set<std::string>{"legacy_hash", "legacy_array", "btf_hash", "outer", ".data", ".rodata", ".bss"}));
    EXPECT_EQ(p->helpers, std::vector<int32_t>{1});
}

TEST(Loader, CoreFieldAccessAgainstVmlinux) {
    REQUIRE_OBJECTS();
    if (!std::filesystem::exists("/sys/kernel/btf/vmlinux")) GTEST_SKIP() << "/sys/kernel/btf/vmlinux not present";
    const ObjectFile obj = load_ok(LOADER_CORE_OBJ);
    auto vmlinux = Btf::load_file("/sys/kernel/btf/vmlinux");
    ASSERT_TRUE(vmlinux) << vmlinux.error().to_string();
    auto task = vmlinux->find("task_struct", BtfKind::Struct);
    ASSERT_TRUE(task);
    uint32_t pid_off = 0, tgid_off = 0;
    for (const auto& m : vmlinux->types[*task].members) {
        if (m.name == "pid") pid_off = m.offset_bits / 8;
        if (m.name == "tgid") tgid_off = m.offset_bits / 8;
    }
    ASSERT_NE(pid_off, 0u);

    const ProgramSpec* p = obj.find_program("read_pid");
    ASSERT_TRUE(p);
    ASSERT_EQ(p->core_relocations.size(), 2u);
    std::set<int16_t> offsets;
    for (const auto& c : p->core_relocations) {
        EXPECT_TRUE(c.resolved);
        EXPECT_EQ(c.kind, "byte_off");
        EXPECT_EQ(c.type_name, "struct task_struct___local");
        const Insn& insn = p->program.insns[p->program.index_of(c.pc)];
        EXPECT_EQ(insn.off, static_cast<int16_t>(c.value));
        offsets.insert(insn.off);
    }
    EXPECT_EQ(offsets, (std::set<int16_t>{static_cast<int16_t>(pid_off), static_cast<int16_t>(tgid_off)}));

    // A field no kernel has: field_exists becomes 0, the access itself is poisoned (as libbpf does).
    const ProgramSpec* m = obj.find_program("probe_missing");
    ASSERT_TRUE(m);
    bool poisoned = false, exists_zero = false;
    for (const auto& c : m->core_relocations) {
        const Insn& insn = m->program.insns[m->program.index_of(c.pc)];
        if (c.kind == "field_exists") {
            exists_zero = c.resolved && c.value == 0 && insn.imm == 0;
        } else if (!c.resolved) {
            poisoned = insn.op == Op::CallHelper && insn.imm == kCorePoisonHelper;
        }
    }
    EXPECT_TRUE(exists_zero);
    EXPECT_TRUE(poisoned);
}

TEST(Loader, CoreWithMissingTargetBtfNamesProgramAndInsn) {
    REQUIRE_OBJECTS();
    LoadOptions options;
    options.target_btf_path = "/nonexistent/vmlinux";
    auto obj = load_object(LOADER_CORE_OBJ, options);
    ASSERT_FALSE(obj);
    EXPECT_EQ(obj.error().to_string(),
              std::string(LOADER_CORE_OBJ) + ": section kprobe/do_nanosleep: program read_pid: insn 0: CO-RE relocation "
              "needs a target BTF: /nonexistent/vmlinux: cannot open: No such file or directory");
    options.keep_going = true;
    obj = load_object(LOADER_CORE_OBJ, options);
    ASSERT_TRUE(obj);
    ASSERT_TRUE(obj->find_program("read_pid")->error);
    options.apply_core = false;
    options.keep_going = false;
    EXPECT_TRUE(load_object(LOADER_CORE_OBJ, options));
}

TEST(Loader, KfuncCallsResolveToTargetBtfIds) {
    REQUIRE_OBJECTS();
    if (!std::filesystem::exists("/sys/kernel/btf/vmlinux")) GTEST_SKIP() << "/sys/kernel/btf/vmlinux not present";
    auto vmlinux = Btf::load_file("/sys/kernel/btf/vmlinux");
    ASSERT_TRUE(vmlinux);
    auto acquire = vmlinux->find("bpf_task_acquire", BtfKind::Func);
    if (!acquire) GTEST_SKIP() << "this kernel has no bpf_task_acquire kfunc";
    const ObjectFile obj = load_ok(LOADER_KFUNC_OBJ);
    const ProgramSpec* p = obj.find_program("acquire_release");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->type, ProgramType::Tracing);
    EXPECT_EQ(p->expected_attach_type, AttachType::TraceRawTp);
    std::vector<int64_t> kfuncs;
    for (const auto& insn : p->program.insns)
        if (insn.op == Op::CallKfunc) kfuncs.push_back(insn.imm);
    ASSERT_EQ(kfuncs.size(), 2u);
    EXPECT_EQ(kfuncs[0], *acquire);
    EXPECT_EQ(kfuncs[1], *vmlinux->find("bpf_task_release", BtfKind::Func));
}

TEST(Loader, EveryTruncationFailsCleanly) {
    REQUIRE_OBJECTS();
    for (const char* path : {LOADER_PROGRAMS_OBJ, LOADER_MAPS_OBJ, LOADER_CORE_OBJ, LOADER_KFUNC_OBJ}) {
        const auto bytes = read_file(path);
        ASSERT_GT(bytes.size(), 1000u);
        for (size_t len = 0; len < bytes.size(); ++len) {
            auto obj = load_object_from_memory(std::span<const uint8_t>(bytes.data(), len), "cut.o");
            ASSERT_FALSE(obj) << path << " truncated to " << len << " bytes loaded";
            EXPECT_EQ(obj.error().where.rfind("cut.o", 0), 0u) << obj.error().to_string();
            EXPECT_FALSE(obj.error().message.empty());
        }
    }
}

TEST(Loader, CorruptedBytesNeverCrash) {
    REQUIRE_OBJECTS();
    std::mt19937 rng(12345);
    int loaded = 0, failed = 0;
    for (const char* path : {LOADER_PROGRAMS_OBJ, LOADER_MAPS_OBJ, LOADER_CORE_OBJ}) {
        const auto original = read_file(path);
        for (int round = 0; round < 1500; ++round) {
            auto bytes = original;
            const int flips = 1 + static_cast<int>(rng() % 4);
            for (int i = 0; i < flips; ++i) bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
            LoadOptions options;
            options.apply_core = false;  // keep the test independent of the host kernel
            auto obj = load_object_from_memory(bytes, "fuzz.o", options);
            (obj ? loaded : failed)++;
            if (!obj) {
                EXPECT_FALSE(obj.error().to_string().empty());
            }
        }
    }
    EXPECT_GT(loaded + failed, 0);
}

TEST(Loader, MissingFileAndNotElf) {
    auto obj = load_object("/nonexistent/prog.o");
    ASSERT_FALSE(obj);
    EXPECT_EQ(obj.error().code, ErrorCode::kNotFound);
    EXPECT_EQ(obj.error().to_string(), "/nonexistent/prog.o: cannot open: No such file or directory");
    const std::vector<uint8_t> junk = {'h', 'e', 'l', 'l', 'o', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    auto j = load_object_from_memory(junk, "junk.o");
    ASSERT_FALSE(j);
    EXPECT_EQ(j.error().to_string(), "junk.o: not an ELF file (bad magic)");
}

TEST(Loader, SectionNamesMapToProgramTypes) {
    // Checked through the public model on objects whose sections we control is costly; the
    // names used by the corpus are checked in corpus_test. Here: type names round-trip.
    EXPECT_EQ(program_type_name(ProgramType::Xdp), "xdp");
    EXPECT_EQ(program_type_name(ProgramType::Netfilter), "netfilter");
    EXPECT_EQ(program_type_name(static_cast<ProgramType>(99)), "unknown(99)");
    EXPECT_EQ(map_type_name(MapType::Ringbuf), "ringbuf");
    EXPECT_EQ(map_type_name(MapType::CgrpStorage), "cgrp_storage");
    EXPECT_EQ(attach_type_name(AttachType::Netfilter), "netfilter");
}

}  // namespace
