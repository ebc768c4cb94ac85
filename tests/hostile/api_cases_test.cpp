// Hostile cases through the library: truncated objects at every length, maps updated by some
// threads while another iterates them. Each asserts its exact outcome.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <map>
#include <thread>

#include "bpfvm/bpfvm.hpp"
#include "elf_builder.hpp"

namespace bpfvm::hostile {
namespace {

// Every prefix of a valid object is refused with a message naming what is missing; a few
// lengths have their exact message pinned.
TEST(HostileApi, TruncatedObjectAtEveryLength) {
    const std::vector<uint8_t> image = minimal_object(true).build();
    ASSERT_TRUE(load_object_from_memory(image, "t.o"));
    const std::map<size_t, std::string> pinned = {
        {0, "t.o: not an ELF file (bad magic)"},
        {16, "t.o: truncated ELF header"},
        {271, "t.o: section header table [272, +448) extends past the end of the file (271 bytes)"},
        {63, "t.o: truncated ELF header"},
        {64, "t.o: section header table [272, +448) extends past the end of the file (64 bytes)"},
        {image.size() / 2, "t.o: section header table [272, +448) extends past the end of the file (360 bytes)"},
        {image.size() - 1, "t.o: section header table [272, +448) extends past the end of the file (719 bytes)"},
    };
    for (size_t len = 0; len < image.size(); ++len) {
        auto obj = load_object_from_memory(std::span<const uint8_t>(image.data(), len), "t.o");
        ASSERT_FALSE(obj) << "a prefix of " << len << " bytes loaded";
        EXPECT_FALSE(obj.error().to_string().empty()) << len;
        if (auto it = pinned.find(len); it != pinned.end() && !it->second.empty()) {
            EXPECT_EQ(obj.error().to_string(), it->second) << len;
        }
        if (std::getenv("BPFVM_HOSTILE_PRINT") && pinned.count(len))
            std::printf("%zu: %s\n", len, obj.error().to_string().c_str());
    }
}

// Writers insert and delete while a reader walks the keys with get_next_key: the walk ends (the
// kernel restarts from the first key when the current one vanished, so it may see a key twice,
// but never loops forever) and nothing crashes.
void churn_while_iterating(MapType type) {
    constexpr uint32_t kMax = 512;
    maps::MapAttr attr;
    attr.type = type;
    attr.key_size = 4;
    attr.value_size = 8;
    attr.max_entries = kMax;
    attr.name = "churn";
    auto made = maps::create_map(attr);
    ASSERT_TRUE(made) << made.error().to_string();
    maps::Map& m = **made;
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (uint32_t t = 0; t < 2; ++t)
        writers.emplace_back([&, t] {
            uint32_t x = t * 7919 + 1;
            while (!stop.load(std::memory_order_relaxed)) {
                x = x * 1103515245u + 12345u;
                const uint32_t key = (x >> 8) % kMax;
                const uint64_t value = x;
                if (x & 1) (void)m.update_elem(&key, &value, maps::kAny);
                else (void)m.delete_elem(&key);
            }
        });
    uint64_t longest = 0;
    for (int walk = 0; walk < 200; ++walk) {
        uint32_t key = 0, next = 0;
        const void* cur = nullptr;
        uint64_t steps = 0;
        while (m.get_next_key(cur, &next) == 0) {
            key = next;
            cur = &key;
            ASSERT_LT(++steps, uint64_t{kMax} * 64) << "the walk does not end";
        }
        longest = std::max(longest, steps);
    }
    stop = true;
    for (auto& w : writers) w.join();
    EXPECT_LE(longest, uint64_t{kMax} * 64);
}

TEST(HostileApi, HashUpdatedWhileIterated) { churn_while_iterating(MapType::Hash); }
TEST(HostileApi, LruHashUpdatedWhileIterated) { churn_while_iterating(MapType::LruHash); }
TEST(HostileApi, ArrayUpdatedWhileIterated) { churn_while_iterating(MapType::Array); }

// Map sizes, program types and unsupported helpers through the facade.
TEST(HostileApi, ZeroSizedMapThenSized) {
    auto obj = Object::from_file(load_object_from_memory(minimal_object(true, 0).build(), "z.o").value());
    ASSERT_TRUE(obj);
    TestRunInput in;
    in.data.assign(14, 0);
    auto r = obj->test_run("prog", in);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    ASSERT_TRUE(obj->set_map_size("counts", 8));
    r = obj->test_run("prog", in);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->retval, 2u);
    EXPECT_EQ(obj->map("counts")->raw().max_entries(), 8u);
}

TEST(HostileApi, UnsupportedHelperStopsTheRunAsUnsupported) {
    ElfBuilder b;
    std::vector<uint8_t> code;
    put(code, 0x0000002000000085ull, 8);  // call 32 (skb_change_type)
    put(code, 0x95, 8);
    const uint32_t sec = b.add_section("tc", 1, 6, code);
    b.add_section("license", 1, 3, {'G', 'P', 'L', 0});
    b.add_symbol({"cls", 0, 16, 2, 1, sec});
    auto obj = Object::from_file(load_object_from_memory(b.build(), "u.o").value());
    ASSERT_TRUE(obj);
    TestRunInput in;
    in.data.assign(14, 0);
    auto r = obj->test_run("cls", in);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
    EXPECT_EQ(r.error().to_string(), "u.o: cls: insn 0: helper skb_change_type (#32) is not supported in userspace");
}

}  // namespace
}  // namespace bpfvm::hostile
