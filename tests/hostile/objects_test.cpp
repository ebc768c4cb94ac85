// Real objects without surprises (issue 10, item 5) through run_request, the library behind
// `bpfvm run`: program types for unnamed sections, prog_array slots filled by program name, the
// maps a run changed, one JSON schema for raw programs and objects, and helpers userspace cannot
// perform answered the same way (exit code 2, naming the helper) by run and test.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "bpfvm/io.hpp"
#include "bpfvm/runners/run.hpp"
#include "elf_builder.hpp"
#include "run_cli.hpp"

namespace bpfvm::hostile {
namespace {

const std::string kExamples = std::string(BPFVM_BINARY_DIR) + "/examples/";

std::vector<uint8_t> udp_packet() {
    return parse_hex_bytes("ffffffffffff 020000000001 0800 4500001c00000000401166cf0a0000010a000002 3039003500080000").value();
}

TEST(Objects, ShowMapsListsWhatTheRunChanged) {
    RunRequest req;
    req.file = kExamples + "xdp_counter.bpf.o";
    req.data = udp_packet();
    req.show_maps = true;
    auto r = run_request(req);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->result.retval, 2u);
    ASSERT_EQ(r->map_changes.size(), 1u);
    EXPECT_EQ(r->map_changes[0].map, "counts");
    EXPECT_EQ(to_hex(r->map_changes[0].key), "11000000");  // IPPROTO_UDP
    EXPECT_FALSE(r->map_changes[0].before);
    EXPECT_EQ(to_hex(*r->map_changes[0].after), "0100000000000000");
}

TEST(Objects, ProgArraySlotFilledByProgramName) {
    RunRequest req;
    req.file = kExamples + "tail_calls.bpf.o";
    req.program = "xdp_entry";
    req.data = parse_hex_bytes("ffffffffffff 020000000001 88b5 000000").value();  // selects slot 0 (empty)
    auto empty = run_request(req);
    ASSERT_TRUE(empty) << empty.error().to_string();
    EXPECT_EQ(empty->result.retval, 1u);  // XDP_DROP: the tail call fell through
    req.map_entries = {"jmp_table=0:stage_two"};
    auto filled = run_request(req);
    ASSERT_TRUE(filled) << filled.error().to_string();
    EXPECT_EQ(filled->result.retval, 3u);  // XDP_TX from stage_two
    EXPECT_EQ(filled->result.tail_calls, 1u);
    req.map_entries = {"jmp_table=4:stage_two"};
    auto out_of_range = run_request(req);
    ASSERT_FALSE(out_of_range);
    EXPECT_EQ(out_of_range.error().to_string(),
              "--map jmp_table=4:stage_two: slot: expected an integer in [0, 3], got '4'");
    req.map_entries = {"jmp_table=0:stage_tow"};
    auto misspelt = run_request(req);
    ASSERT_FALSE(misspelt);
    EXPECT_EQ(misspelt.error().to_string(), kExamples + "tail_calls.bpf.o: no program named 'stage_tow' (did you mean "
                                                        "'stage_two'?) (programs: stage_one, stage_two, xdp_entry)");
}

/// A program in a section libbpf does not name: r0 = *(u32 *)(r1 + 0), i.e. xdp_md->data as
/// converted for XDP, or the first bytes of the input for an untyped program.
std::string unnamed_section_object(const TempDir& dir) {
    ElfBuilder b;
    std::vector<uint8_t> code;
    put(code, 0x0000000000001061ull, 8);  // r0 = *(u32 *)(r1 + 0)
    put(code, 0x95, 8);
    const uint32_t sec = b.add_section("mystery", 1, 6, code);
    b.add_section("license", 1, 3, {'G', 'P', 'L', 0});
    b.add_symbol({"probe", 0, code.size(), 2, 1, sec});
    return dir.write("mystery.o", b.build());
}

TEST(Objects, TypeForAnUnnamedSection) {
    TempDir dir;
    RunRequest req;
    req.file = unnamed_section_object(dir);
    req.data = std::vector<uint8_t>(16, 0);
    req.data[0] = 0x2a;
    auto untyped = run_request(req);
    ASSERT_TRUE(untyped) << untyped.error().to_string();
    EXPECT_EQ(untyped->result.retval, 0x2au);  // r1 = the input itself
    req.type = "xdp";
    auto xdp = run_request(req);
    ASSERT_TRUE(xdp) << xdp.error().to_string();
    EXPECT_NE(xdp->result.retval, 0x2au);  // r1 = struct xdp_md: offset 0 is ctx->data, a packet pointer
    req.type = "xdpp";
    auto bad = run_request(req);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().to_string().rfind("--type: unknown program type 'xdpp' (did you mean 'xdp'?)", 0), 0u);
}

TEST(Objects, OneJsonSchemaForRawProgramsAndObjects) {
    TempDir dir;
    RunRequest raw;
    raw.raw = true;
    std::vector<uint8_t> code;
    put(code, 0x00000007000000b7ull, 8);  // mov r0, 7
    put(code, 0x95, 8);
    raw.file = dir.write("p.bin", code);
    auto r = run_request(raw);
    ASSERT_TRUE(r);
    RunRequest obj;
    obj.file = kExamples + "xdp_counter.bpf.o";
    obj.data = udp_packet();
    auto o = run_request(obj);
    ASSERT_TRUE(o);
    const auto jr = nlohmann::json::parse(run_report_json(*r, raw));
    const auto jo = nlohmann::json::parse(run_report_json(*o, obj));
    std::vector<std::string> raw_keys, obj_keys;
    for (auto it = jr.begin(); it != jr.end(); ++it) raw_keys.push_back(it.key());
    for (auto it = jo.begin(); it != jo.end(); ++it) obj_keys.push_back(it.key());
    EXPECT_EQ(raw_keys, obj_keys);
    EXPECT_EQ(jr["retval"], 7);
    EXPECT_EQ(jr["retval_hex"], "0x7");
    EXPECT_EQ(jr["type"], "raw");
    EXPECT_TRUE(jr["program"].is_null());
    EXPECT_EQ(jo["program"], "xdp_count");
    EXPECT_EQ(jo["retval"], 2);
}

/// A tc program that calls skb_change_type (#32): bpfvm cannot change an skb's type in userspace.
std::string unsupported_helper_object(const TempDir& dir) {
    ElfBuilder b;
    std::vector<uint8_t> code;
    put(code, 0x0000002000000085ull, 8);  // call 32
    put(code, 0x95, 8);
    const uint32_t sec = b.add_section("tc", 1, 6, code);
    b.add_section("license", 1, 3, {'G', 'P', 'L', 0});
    b.add_symbol({"cls", 0, code.size(), 2, 1, sec});
    return dir.write("change_type.o", b.build());
}

TEST(Objects, UnsupportedHelperIsExitCodeTwoForRunAndTest) {
    TempDir dir;
    const std::string obj = unsupported_helper_object(dir);
    const std::string packet = "ffffffffffff 020000000001 0806";
    auto run = run_bpfvm({"run", obj, "--data-hex", packet});
    EXPECT_EQ(run.exit_code, 2);
    EXPECT_EQ(run.err, "bpfvm run: " + obj + ": cls: insn 0: helper skb_change_type (#32) is not supported in userspace\n"
                       "  0: call skb_change_type#32\n");
    const std::string spec = dir.write("s.json", "{\"object\": \"change_type.o\", \"cases\": [{\"data\": \"" + packet + "\"}]}");
    auto test = run_bpfvm({"test", spec});
    EXPECT_EQ(test.exit_code, 2) << test.out << test.err;
    EXPECT_EQ(test.out, "FAIL cases[0]: " + obj + ": cls: insn 0: helper skb_change_type (#32) is not supported in "
                        "userspace\n0 passed, 1 failed\n");
    EXPECT_EQ(test.err, "bpfvm test: a case reached a helper bpfvm cannot perform in userspace\n");
}

}  // namespace
}  // namespace bpfvm::hostile
