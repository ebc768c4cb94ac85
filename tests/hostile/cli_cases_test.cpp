// The hostile-input table: named cases, each a command line with the inputs it needs (generated
// into a fresh folder), and the exact stderr and exit code bpfvm must answer with. "{dir}" in an
// expectation stands for that folder, "{bin}" for the build folder. Exit code 3 (internal error)
// and death by a signal always fail a case, whatever the table says.
//
// BPFVM_HOSTILE_PRINT=1 prints what each case actually produced (to write a new row).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>

#include "elf_builder.hpp"
#include "run_cli.hpp"

namespace bpfvm::hostile {
namespace {

using Args = std::vector<std::string>;

struct Case {
    const char* name;
    std::function<Args(const TempDir&)> setup;  // writes the inputs, returns the command line
    int exit_code;
    std::string err;                       // exact stderr
    std::optional<std::string> out = {};   // exact stdout when given (but its "duration:" lines)
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
    return s;
}

/// Raw bytecode: `count` copies of `insn` then exit (8 bytes per slot, little-endian).
std::vector<uint8_t> raw_program(uint64_t insn, size_t count) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i < count; ++i) put(out, insn, 8);
    put(out, 0x95, 8);  // exit
    return out;
}

constexpr uint64_t kMovR0One = 0x00000001000000b7ull;  // mov r0, 1

std::vector<uint8_t> object_bytes(bool with_map = false, uint32_t entries = 4) {
    return minimal_object(with_map, entries).build();
}

/// An object with one code section `xdp`, whose header `edit` changes.
std::vector<uint8_t> one_section_object(const std::function<void(ElfBuilder::Section&)>& edit) {
    ElfBuilder b;
    auto s = ElfBuilder::section("xdp", 1, 6, std::vector<uint8_t>(16, 0));
    edit(s);
    b.add_section(s);
    return b.build();
}

/// A .maps map whose key type is a pointer into a typedef loop (a -> b -> a).
std::vector<uint8_t> btf_loop_object() {
    ElfBuilder b = minimal_object();
    BtfBuilder btf;
    std::vector<uint8_t> member, var, sec;
    put(member, btf.str("key"), 4);
    put(member, 4, 4);  // type: the pointer below
    put(member, 0, 4);
    btf.add("a", 8, 0, 2);                // 1: typedef a -> 2
    btf.add("b", 8, 0, 1);                // 2: typedef b -> 1
    btf.add("", 2, 0, 1);                 // 3: unused pointer
    btf.add("", 2, 0, 1);                 // 4: pointer -> the loop
    btf.add("def", 4, 1, 8, member);      // 5: struct def { key }
    put(var, 1, 4);
    btf.add("m", 14, 0, 5, var);          // 6: var m
    put(sec, 6, 4);
    put(sec, 0, 4);
    put(sec, 8, 4);
    btf.add(".maps", 15, 1, 8, sec);      // 7: datasec .maps
    const uint32_t maps = b.add_section(".maps", 1, 3, std::vector<uint8_t>(8, 0));
    b.add_section(".BTF", 1, 0, btf.blob());
    b.add_symbol({"m", 0, 8, 1 /* STT_OBJECT */, 1 /* STB_GLOBAL */, maps});
    return b.build();
}

/// A struct that claims 65535 members and has none.
std::vector<uint8_t> btf_absurd_count_object() {
    ElfBuilder b = minimal_object();
    BtfBuilder btf;
    btf.add("huge", 4, 0xffff, 8);
    b.add_section(".BTF", 1, 0, btf.blob());
    return b.build();
}

const std::vector<Case>& cases() {
    static const std::vector<Case> table = {
        // ---- Files: missing, directory, I/O error, devices, huge, vanished.
        {"missing_object", [](const TempDir& d) { return Args{"inspect", d.path() + "/missing.o"}; }, 2,
         "bpfvm inspect: {dir}/missing.o: cannot open: No such file or directory\n"},
        {"directory_as_object", [](const TempDir& d) { return Args{"inspect", d.path()}; }, 2,
         "bpfvm inspect: {dir}: is a directory\n"},
        {"io_error_while_reading", [](const TempDir&) { return Args{"inspect", "/proc/self/mem"}; }, 2,
         "bpfvm inspect: /proc/self/mem: read error: Input/output error\n"},
        {"directory_as_btf",
         [](const TempDir& d) { return Args{"inspect", "--strict", std::string(BPFVM_BINARY_DIR) + "/tests/loader/bpf/core.o", "--btf", d.path()}; },
         2, "bpfvm inspect: {bin}/tests/loader/bpf/core.o: section kprobe/do_nanosleep: program read_pid: insn 0: CO-RE "
            "relocation needs a target BTF: {dir}: is a directory\n"},
        {"empty_object", [](const TempDir& d) { return Args{"inspect", d.write("empty.o", std::string())}; }, 2,
         "bpfvm inspect: {dir}/empty.o: not an ELF file (bad magic)\n"},
        {"dev_null_object", [](const TempDir&) { return Args{"inspect", "/dev/null"}; }, 2,
         "bpfvm inspect: /dev/null: not an ELF file (bad magic)\n"},
        {"dev_zero_raw_program", [](const TempDir&) { return Args{"run", "--raw", "/dev/zero"}; }, 2,
         "bpfvm run: /dev/zero: file too large (more than 16777216 bytes)\n"},
        {"huge_sparse_object",
         [](const TempDir& d) {
             const std::string p = d.write("huge.o", object_bytes());
             (void)truncate(p.c_str(), int64_t{2} << 30);
             return Args{"inspect", p};
         },
         2, "bpfvm inspect: {dir}/huge.o: file too large (more than 1073741824 bytes)\n"},
        {"vanished_object",
         [](const TempDir& d) {
             const std::string p = d.write("gone.o", object_bytes());
             const std::string link = d.path() + "/link.o";
             (void)symlink(p.c_str(), link.c_str());
             (void)unlink(p.c_str());
             return Args{"run", link};
         },
         2, "bpfvm run: {dir}/link.o: cannot open: No such file or directory\n"},
        {"directory_as_spec", [](const TempDir& d) { return Args{"test", d.path()}; }, 2,
         "bpfvm test: {dir}: is a directory\n"},
        {"directory_as_memory",
         [](const TempDir& d) { return Args{"run", "--raw", d.write("p.bin", raw_program(kMovR0One, 1)), "--mem", d.path()}; },
         2, "bpfvm run: {dir}: is a directory\n"},

        // ---- ELF structure.
        {"section_offset_past_end",
         [](const TempDir& d) {
             return Args{"inspect", d.write("off.o", one_section_object([](auto& s) { s.offset = uint64_t{1} << 40; }))};
         },
         2, "bpfvm inspect: {dir}/off.o: section xdp: contents [1099511627776, +16) extend past the end of the file (384 bytes)\n"},
        {"section_size_past_end",
         [](const TempDir& d) {
             return Args{"inspect", d.write("size.o", one_section_object([](auto& s) { s.size = uint64_t{1} << 62; }))};
         },
         2, "bpfvm inspect: {dir}/size.o: section xdp: contents [88, +4611686018427387904) extend past the end of the file (384 bytes)\n"},
        {"section_name_table_out_of_range",
         [](const TempDir& d) {
             ElfBuilder b = minimal_object();
             b.shstrndx = 99;
             return Args{"inspect", d.write("shstr.o", b.build())};
         },
         2, "bpfvm inspect: {dir}/shstr.o: section name table index 99 out of range\n"},
        {"symbol_section_out_of_range",
         [](const TempDir& d) {
             ElfBuilder b = minimal_object();
             b.add_symbol({"stray", 0, 16, 2 /* STT_FUNC */, 1, 999});
             return Args{"inspect", d.write("sym.o", b.build())};
         },
         0, ""},
        {"relocation_to_symbol_in_missing_section",
         [](const TempDir& d) {
             ElfBuilder b;
             std::vector<uint8_t> code;
             put(code, 0x0000000000001018ull, 8);  // lddw r1, (relocated)
             put(code, 0, 8);
             put(code, 0x00000002000000b7ull, 8);  // mov r0, 2
             put(code, 0x95, 8);
             const uint32_t xdp = b.add_section("xdp", 1, 6, code);
             b.add_symbol({"prog", 0, code.size(), 2, 1, xdp});
             const uint32_t ghost = b.add_symbol({"ghost", 0, 20, 1, 1, 999});
             b.add_rel(xdp, 0, 1, ghost);
             return Args{"inspect", "--strict", d.write("ghost.o", b.build())};
         },
         2, "bpfvm inspect: {dir}/ghost.o: section xdp: program prog: insn 0: lddw relocation against 'ghost' in section "
            "999, which is neither a map, global data nor code\n"},
        {"relocation_symbol_out_of_range",
         [](const TempDir& d) {
             ElfBuilder b = minimal_object();
             b.add_rel(2, 0, 1, 99);
             return Args{"inspect", d.write("rel.o", b.build())};
         },
         2, "bpfvm inspect: {dir}/rel.o: section .relxdp: relocation 0 names symbol 99 of 2\n"},
        {"relocation_offset_out_of_range",
         [](const TempDir& d) {
             ElfBuilder b = minimal_object(true);
             b.add_rel(2, 4096, 1, 2);
             return Args{"run", d.write("reloff.o", b.build()), "--data-hex", "000000000000 000000000000 0800"};
         },
         2, "bpfvm run: {dir}/reloff.o: section xdp: relocation at offset 4096 is outside the code\n"},
        {"not_bpf_machine",
         [](const TempDir& d) {
             ElfBuilder b = minimal_object();
             b.e_machine = 62;
             return Args{"inspect", d.write("x86.o", b.build())};
         },
         2, "bpfvm inspect: {dir}/x86.o: ELF machine 62 is not EM_BPF\n"},
        {"btf_type_loop", [](const TempDir& d) { return Args{"inspect", d.write("loop.o", btf_loop_object())}; }, 2, "bpfvm inspect: {dir}/loop.o: section .maps: map 'm': member 'key': BTF type 1 (typedef) has no size\n"},
        {"btf_absurd_member_count",
         [](const TempDir& d) { return Args{"inspect", d.write("count.o", btf_absurd_count_object())}; }, 2, "bpfvm inspect: {dir}/count.o: .BTF: type 1: truncated member list (65535 members)\n"},

        // ---- Maps: zero-sized, sized on the command line, huge.
        {"zero_sized_map",
         [](const TempDir& d) {
             return Args{"run", d.write("zero.o", object_bytes(true, 0)), "--data-hex", "000000000000 000000000000 0800"};
         },
         2, "bpfvm run: {dir}/zero.o: prog: insn 0: map counts is unavailable: map counts (array): max_entries must not be 0 (the object leaves its size to the loader: set one with --map-size counts=N)\n"},
        {"zero_sized_map_given_a_size",
         [](const TempDir& d) {
             return Args{"run",         d.write("zero.o", object_bytes(true, 0)), "--data-hex",
                         "000000000000 000000000000 0800", "--map-size", "counts=16"};
         },
         0, "", std::string("retval: 2 (0x2)\n")},
        {"huge_map",
         [](const TempDir& d) {
             return Args{"run", d.write("huge.o", object_bytes(true, 0xffffffffu)), "--data-hex",
                         "000000000000 000000000000 0800"};
         },
         2, "bpfvm run: {dir}/huge.o: prog: insn 0: map counts is unavailable: map counts needs 34359738360 bytes, beyond the map memory limit of 1073741824 bytes per object (0 already reserved; raise it with --max-map-memory)\n"},
        {"map_memory_limit_zero",
         [](const TempDir& d) {
             return Args{"run", d.write("small.o", object_bytes(true, 4)), "--data-hex", "000000000000 000000000000 0800",
                         "--max-map-memory", "0"};
         },
         2, "bpfvm run: {dir}/small.o: prog: insn 0: map counts is unavailable: map counts needs 32 bytes, beyond the map memory limit of 0 bytes per object (0 already reserved; raise it with --max-map-memory)\n"},

        // ---- Programs: a million instructions, too many, deep calls, runaway loops.
        {"million_insns_interp",
         [](const TempDir& d) { return Args{"run", "--raw", d.write("m.bin", raw_program(kMovR0One, 999'999)), "--engine", "interp"}; },
         0, "", std::string("0x1 (1)\n")},
        {"million_insns_jit",
         [](const TempDir& d) { return Args{"run", "--raw", d.write("m.bin", raw_program(kMovR0One, 999'999)), "--engine", "jit"}; },
         0, "", std::string("0x1 (1)\n")},
        {"too_many_insns",
         [](const TempDir& d) { return Args{"run", "--raw", d.write("big.bin", raw_program(kMovR0One, 1'000'000))}; }, 2,
         "bpfvm run: {dir}/big.bin: program too large: 1000001 instructions, more than the limit of 1000000\n"},
        {"deep_call_chain",
         [](const TempDir& d) {
             std::vector<uint8_t> p;
             for (int i = 0; i < 9; ++i) put(p, 0x0000000000001085ull, 8);  // call local +0: the next slot
             put(p, 0x95, 8);
             return Args{"run", "--raw", d.write("deep.bin", p)};
         },
         1, "bpfvm run: {dir}/deep.bin: insn 7: call depth exceeds 8 frames\n  7: call pc+0\n"},
        {"runaway_loop_budget",
         [](const TempDir& d) {
             std::vector<uint8_t> p;
             put(p, 0x00000000ffff0005ull, 8);  // ja -1
             put(p, 0x95, 8);
             return Args{"run", "--raw", d.write("loop.bin", p), "--max-insns", "1000"};
         },
         1, "bpfvm run: {dir}/loop.bin: insn 0: instruction budget exhausted (runaway loop?)\n  0: goto -1\n"},

        // ---- Numeric flags: the range in the message.
        {"max_insns_negative", [](const TempDir& d) { return Args{"run", "--raw", d.write("p.bin", raw_program(kMovR0One, 1)), "--max-insns=-5"}; }, 2, "bpfvm run: --max-insns: expected an integer in [1, 1000000000000000], got '-5'\nRun 'bpfvm run --help' for more information.\n"},
        {"max_insns_2_pow_64_minus_1", [](const TempDir& d) { return Args{"run", "--raw", d.write("p.bin", raw_program(kMovR0One, 1)), "--max-insns", "18446744073709551615"}; }, 2, "bpfvm run: --max-insns: expected an integer in [1, 1000000000000000], got '18446744073709551615'\nRun 'bpfvm run --help' for more information.\n"},
        {"max_insns_2_pow_63", [](const TempDir& d) { return Args{"run", "--raw", d.write("p.bin", raw_program(kMovR0One, 1)), "--max-insns", "9223372036854775808"}; }, 2, "bpfvm run: --max-insns: expected an integer in [1, 1000000000000000], got '9223372036854775808'\nRun 'bpfvm run --help' for more information.\n"},
        {"max_insns_zero", [](const TempDir& d) { return Args{"run", "--raw", d.write("p.bin", raw_program(kMovR0One, 1)), "--max-insns", "0"}; }, 2, "bpfvm run: --max-insns: expected an integer in [1, 1000000000000000], got '0'\nRun 'bpfvm run --help' for more information.\n"},
        {"max_insns_suffix", [](const TempDir& d) { return Args{"run", "--raw", d.write("p.bin", raw_program(kMovR0One, 1)), "--max-insns", "5k"}; }, 2, "bpfvm run: --max-insns: expected an integer in [1, 1000000000000000], got '5k'\nRun 'bpfvm run --help' for more information.\n"},
        {"repeat_zero", [](const TempDir& d) { return Args{"run", "--raw", d.write("p.bin", raw_program(kMovR0One, 1)), "--repeat", "0"}; }, 2, "bpfvm run: --repeat: expected an integer in [1, 1000000000], got '0'\nRun 'bpfvm run --help' for more information.\n"},
        {"map_size_negative",
         [](const TempDir& d) { return Args{"run", d.write("m.o", object_bytes(true, 0)), "--map-size", "counts=-1"}; }, 2, "bpfvm run: --map-size counts=-1: expected an integer in [1, 4294967295], got '-1'\n"},

        // ---- Names: unknown commands, programs, types, ambiguous sections.
        {"unknown_command", [](const TempDir&) { return Args{"tset", "x.json"}; }, 2, "bpfvm: unknown command 'tset' (did you mean 'test'?)\ncommands: asm disasm verify run conformance jit inspect test fuzz load unload attach trace maps serve-metrics\nRun 'bpfvm --help' for more information.\n"},
        {"unknown_command_far", [](const TempDir&) { return Args{"qqqq", "x.o"}; }, 2, "bpfvm: unknown command 'qqqq'\ncommands: asm disasm verify run conformance jit inspect test fuzz load unload attach trace maps serve-metrics\nRun 'bpfvm --help' for more information.\n"},
        {"unknown_command_typo", [](const TempDir&) { return Args{"verfy", "x.o"}; }, 2, "bpfvm: unknown command 'verfy' (did you mean 'verify'?)\ncommands: asm disasm verify run conformance jit inspect test fuzz load unload attach trace maps serve-metrics\nRun 'bpfvm --help' for more information.\n"},
        {"unknown_program",
         [](const TempDir& d) { return Args{"run", d.write("p.o", object_bytes()), "--program", "porg"}; }, 2, "bpfvm run: {dir}/p.o: no program named 'porg' (did you mean 'prog'?) (programs: prog)\n"},
        {"unknown_program_type",
         [](const TempDir& d) { return Args{"run", d.write("p.o", object_bytes()), "--type", "xpd"}; }, 2, "bpfvm run: --type: unknown program type 'xpd' (did you mean 'xdp'?); program types: socket_filter, kprobe, sched_cls, sched_act, tracepoint, xdp, perf_event, cgroup_skb, cgroup_sock, lwt_in, lwt_out, lwt_xmit, sock_ops, sk_skb, cgroup_device, sk_msg, raw_tracepoint, cgroup_sock_addr, lwt_seg6local, lirc_mode2, sk_reuseport, flow_dissector, cgroup_sysctl, raw_tracepoint_writable, cgroup_sockopt, tracing, struct_ops, ext, lsm, sk_lookup, syscall, netfilter\n"},
        {"ambiguous_section",
         [](const TempDir& d) {
             ElfBuilder b = minimal_object();
             std::vector<uint8_t> code;
             put(code, 0x00000002000000b7ull, 8);
             put(code, 0x95, 8);
             put(code, 0x00000001000000b7ull, 8);
             put(code, 0x95, 8);
             const uint32_t sec = b.add_section("xdp/two", 1, 6, code);
             b.add_symbol({"first", 0, 16, 2, 1, sec});
             b.add_symbol({"second", 16, 16, 2, 1, sec});
             return Args{"run", d.write("two.o", b.build()), "--program", "xdp/two"};
         },
         2, "bpfvm run: {dir}/two.o: section 'xdp/two' holds 2 programs; name one: first, second\n"},
        {"bad_hex_data", [](const TempDir& d) { return Args{"run", d.write("p.o", object_bytes()), "--data-hex", "zz"}; }, 2, "bpfvm run: --data-hex: invalid hex byte 'zz'\n"},
        {"bad_map_setting",
         [](const TempDir& d) { return Args{"run", d.write("m.o", object_bytes(true)), "--map", "counts"}; }, 2, "bpfvm run: --map counts: expected NAME=KEY:VALUE (hex), or NAME=INDEX:PROGRAM for a prog_array\n"},
        {"json_error_on_stdout",
         [](const TempDir& d) { return Args{"run", d.path() + "/missing.o", "--json"}; }, 2,
         "bpfvm run: {dir}/missing.o: cannot open: No such file or directory\n",
         std::string("{\"error\":{\"code\":\"not_found\",\"message\":\"{dir}/missing.o: cannot open: No such file or "
                     "directory\",\"pc\":null,\"source\":null,\"where\":\"{dir}/missing.o\"},\"exit_code\":2}\n")},
        {"json_usage_error_on_stdout",
         [](const TempDir& d) { return Args{"run", d.write("p.o", object_bytes()), "--json", "--repeat", "0"}; }, 2,
         "bpfvm run: --repeat: expected an integer in [1, 1000000000], got '0'\nRun 'bpfvm run --help' for more information.\n",
         std::string("{\"error\":{\"code\":\"invalid_argument\",\"message\":\"--repeat: expected an integer in [1, "
                     "1000000000], got '0'\",\"pc\":null,\"source\":null,\"where\":\"\"},\"exit_code\":2}\n")},

        // ---- Test specs.
        {"spec_invalid_json", [](const TempDir& d) { return Args{"test", d.write("s.json", std::string("{\"object\": "))}; }, 2, "bpfvm test: {dir}/s.json: invalid JSON: [json.exception.parse_error.101] parse error at line 1, column 12: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal\n"},
        {"spec_deep_nesting",
         [](const TempDir& d) { return Args{"test", d.write("s.json", std::string(100000, '[') + std::string(100000, ']'))}; }, 2, "bpfvm test: {dir}/s.json: (top level): expected an object with \"object\" and \"cases\"\n"},
        {"spec_repeat_negative",
         [](const TempDir& d) {
             d.write("p.o", object_bytes());
             return Args{"test", d.write("s.json", std::string("{\"object\": \"p.o\", \"cases\": [{\"repeat\": -1}]}"))};
         },
         2, "bpfvm test: {dir}/s.json: cases[0].repeat: expected an integer in [1, 1000000000], got -1\n"},
        {"spec_max_insns_huge",
         [](const TempDir& d) {
             d.write("p.o", object_bytes());
             return Args{"test", d.write("s.json", std::string("{\"object\": \"p.o\", \"cases\": [{\"max_insns\": 18446744073709551615}]}"))};
         },
         2, "bpfvm test: {dir}/s.json: cases[0].max_insns: expected an integer in [1, 1000000000000000], got 18446744073709551615\n"},
        {"spec_map_size_for_unknown_map",
         [](const TempDir& d) {
             d.write("p.o", object_bytes(true, 0));
             return Args{"test", d.write("s.json", std::string("{\"object\": \"p.o\", \"map_sizes\": {\"cuonts\": 4}, \"cases\": []}"))};
         },
         2, "bpfvm test: {dir}/s.json: map_sizes.cuonts: {dir}/p.o: no map named 'cuonts' (did you mean 'counts'?) (maps: counts)\n"},
    };
    return table;
}

class Hostile : public ::testing::TestWithParam<size_t> {};

TEST_P(Hostile, ClearErrorAndExitCode) {
    const Case& c = cases()[GetParam()];
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    const CliResult r = run_bpfvm(c.setup(dir));
    auto expand = [&](const std::string& s) {
        return replace_all(replace_all(s, "{dir}", dir.path()), "{bin}", BPFVM_BINARY_DIR);
    };
    if (std::getenv("BPFVM_HOSTILE_PRINT"))
        std::printf("--- %s: exit %d signal %d\nstderr:\n%s\nstdout:\n%s\n", c.name, r.exit_code, r.signal, r.err.c_str(),
                    r.out.c_str());
    ASSERT_FALSE(r.timed_out) << c.name << ": no answer within the time limit";
    ASSERT_EQ(r.signal, 0) << c.name << ": killed by signal " << r.signal << "\n" << r.err;
    ASSERT_NE(r.exit_code, 3) << c.name << ": internal error\n" << r.err;
    EXPECT_EQ(r.exit_code, c.exit_code) << c.name << "\n" << r.err;
    EXPECT_EQ(r.err, expand(c.err)) << c.name;
    if (c.out) {
        // Timings vary from run to run: "duration:" lines are left out of the comparison.
        std::string out;
        for (size_t pos = 0; pos < r.out.size();) {
            const size_t end = std::min(r.out.find('\n', pos), r.out.size());
            if (r.out.compare(pos, 9, "duration:") != 0) out += r.out.substr(pos, end - pos + 1);
            pos = end + 1;
        }
        EXPECT_EQ(out, expand(*c.out)) << c.name;
    }
}

INSTANTIATE_TEST_SUITE_P(Table, Hostile, ::testing::Range<size_t>(0, cases().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) { return std::string(cases()[info.param].name); });

}  // namespace
}  // namespace bpfvm::hostile
