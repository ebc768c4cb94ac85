// array, percpu_array, prog_array and array_of_maps: kernel flag semantics, bounds, iteration,
// per-CPU slots, pointer values; creation checks.
#include <cerrno>

#include "map_test_util.hpp"

namespace bpfvm::maps::test {
namespace {

TEST(ArrayMap, ElementsExistZeroedAndStable) {
    auto m = make(MapType::Array, 4, 12, 3);
    uint32_t k = 2;
    auto* p = static_cast<uint8_t*>(m->lookup_elem(&k));
    ASSERT_NE(p, nullptr);
    for (int i = 0; i < 12; ++i) EXPECT_EQ(p[i], 0);
    const uint8_t v[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    EXPECT_EQ(m->update_elem(&k, v, kAny), 0);
    EXPECT_EQ(m->lookup_elem(&k), p);  // same address: programs keep pointers
    EXPECT_EQ(std::memcmp(p, v, 12), 0);
    uint32_t out_of_range = 3;
    EXPECT_EQ(m->lookup_elem(&out_of_range), nullptr);
}

TEST(ArrayMap, UpdateFlagsAndErrors) {
    auto m = make(MapType::Array, 4, 8, 4);
    uint32_t k = 1;
    uint64_t v = 7;
    EXPECT_EQ(m->update_elem(&k, &v, kExist), 0);
    EXPECT_EQ(m->update_elem(&k, &v, kNoExist), -EEXIST);
    EXPECT_EQ(m->update_elem(&k, &v, 3), -EINVAL);
    EXPECT_EQ(m->update_elem(&k, &v, 8), -EINVAL);
    EXPECT_EQ(m->update_elem(&k, &v, kLock), -EINVAL);  // no bpf_spin_lock known in the value
    uint32_t big = 4;
    EXPECT_EQ(m->update_elem(&big, &v, kAny), -E2BIG);
    EXPECT_EQ(m->delete_elem(&k), -EINVAL);
    EXPECT_EQ(value_u64(*m, k), 7u);
}

TEST(ArrayMap, GetNextKeyWalksIndices) {
    auto m = make(MapType::Array, 4, 4, 3);
    EXPECT_EQ(m->keys().size(), 3u);
    uint32_t next = 99;
    EXPECT_EQ(m->get_next_key(nullptr, &next), 0);
    EXPECT_EQ(next, 0u);
    uint32_t k = 1;
    EXPECT_EQ(m->get_next_key(&k, &next), 0);
    EXPECT_EQ(next, 2u);
    k = 2;
    EXPECT_EQ(m->get_next_key(&k, &next), -ENOENT);
    k = 77;  // out of range restarts
    EXPECT_EQ(m->get_next_key(&k, &next), 0);
    EXPECT_EQ(next, 0u);
}

TEST(ArrayMap, CallerApiChecksSizes) {
    auto m = make(MapType::Array, 4, 8, 2);
    uint32_t k = 0;
    uint64_t v = 5;
    ASSERT_TRUE(m->update(bytes(k), bytes(v)));
    uint64_t got = 0;
    ASSERT_TRUE(m->lookup(bytes(k), out_bytes(got)));
    EXPECT_EQ(got, 5u);
    uint16_t short_key = 0;
    auto st = m->lookup(bytes(short_key), out_bytes(got));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().message, "map m: key is 2 bytes, expected 4");
    uint32_t bad = 9;
    st = m->update(bytes(bad), bytes(v));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, ErrorCode::kNoSpace);
    EXPECT_EQ(st.error().message, "map m: update: map is full or index out of range (E2BIG)");
    st = m->update(bytes(k), bytes(v), kNoExist);
    EXPECT_EQ(st.error().code, ErrorCode::kExists);
}

TEST(ArrayMap, CreationChecks) {
    EXPECT_EQ(create_error(attr(MapType::Array, 8, 4, 1)), "map m (array): key_size must be 4, got 8");
    EXPECT_EQ(create_error(attr(MapType::Array, 4, 0, 1)), "map m (array): value_size must not be 0");
    EXPECT_EQ(create_error(attr(MapType::Array, 4, 4, 0)), "map m (array): max_entries must not be 0");
    EXPECT_EQ(create_error(attr(MapType::Array, 4, 4, 1, kFNoPrealloc)), "map m (array): map_flags not allowed for arrays");
    EXPECT_EQ(create_error(attr(MapType::Array, 4, 4, 1, 1u << 20)), "map m (array): unknown map_flags 0x100000");
    EXPECT_EQ(create_error(attr(MapType::PercpuArray, 4, 4, 1, kFMmapable)),
              "map m (percpu_array): BPF_F_MMAPABLE not allowed for per-CPU arrays");
    auto r = create_map(attr(MapType::StackTrace, 4, 4, 1));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kUnsupported);
    EXPECT_EQ(r.error().message, "map m (stack_trace): map type not supported by bpfvm");
}

TEST(PercpuArray, SlotPerCpuAndCallerSeesAll) {
    auto m = make(MapType::PercpuArray, 4, 4, 2);  // 4 CPUs, values padded to 8 bytes
    EXPECT_EQ(m->cpus(), 4u);
    EXPECT_EQ(m->sys_value_size(), 32u);
    uint32_t k = 1;
    for (uint32_t cpu = 0; cpu < 4; ++cpu) {
        set_current_cpu(cpu);
        uint32_t v = 100 + cpu;
        ASSERT_EQ(m->update_elem(&k, &v, kAny), 0);
    }
    set_current_cpu(2);
    EXPECT_EQ(*static_cast<uint32_t*>(m->lookup_elem(&k)), 102u);
    EXPECT_EQ(*static_cast<uint32_t*>(m->lookup_percpu_elem(&k, 3)), 103u);
    EXPECT_EQ(m->lookup_percpu_elem(&k, 4), nullptr);
    uint64_t all[4] = {};
    ASSERT_TRUE(m->lookup(bytes(k), out_bytes(all)));
    for (uint32_t cpu = 0; cpu < 4; ++cpu) EXPECT_EQ(all[cpu], 100u + cpu);
    const uint64_t set[4] = {1, 2, 3, 4};
    ASSERT_TRUE(m->update(bytes(k), bytes(set)));
    set_current_cpu(0);
    EXPECT_EQ(*static_cast<uint32_t*>(m->lookup_elem(&k)), 1u);
}

TEST(ProgArray, HoldsHandlesNotVisibleToLookup) {
    auto m = make(MapType::ProgArray, 4, 4, 2);
    static const int prog_a = 0;
    const void* h = &prog_a;
    uint32_t k = 0;
    EXPECT_EQ(m->update_elem(&k, &h, kNoExist), -EINVAL);  // fd arrays accept BPF_ANY only
    EXPECT_EQ(m->update_elem(&k, &h, kAny), 0);
    EXPECT_EQ(m->lookup_elem(&k), nullptr);
    EXPECT_FALSE(m->lookup_returns_memory());
    uint64_t got = 0;
    ASSERT_TRUE(m->lookup(bytes(k), out_bytes(got)));
    EXPECT_EQ(got, reinterpret_cast<uint64_t>(h));
    const void* null = nullptr;
    EXPECT_EQ(m->update_elem(&k, &null, kAny), -EBADF);
    uint32_t big = 2;
    EXPECT_EQ(m->update_elem(&big, &h, kAny), -E2BIG);
    EXPECT_EQ(m->delete_elem(&k), 0);
    EXPECT_EQ(m->delete_elem(&k), -ENOENT);
    EXPECT_EQ(m->delete_elem(&big), -E2BIG);
}

TEST(ArrayOfMaps, InnerMapsMustMatchTemplate) {
    auto tmpl = std::make_shared<MapAttr>(attr(MapType::Array, 4, 8, 4));
    MapAttr outer_attr = attr(MapType::ArrayOfMaps, 4, 4, 2);
    EXPECT_EQ(create_error(outer_attr), "map m (array_of_maps): an inner map template is required");
    outer_attr.inner = tmpl;
    auto outer = make(outer_attr);
    auto inner = make(MapType::Array, 4, 8, 4);
    auto other = make(MapType::Array, 4, 8, 5);
    const Map* ip = inner.get();
    const Map* op = other.get();
    uint32_t k = 1;
    EXPECT_EQ(outer->update_elem(&k, &op, kAny), -EINVAL);  // max_entries differs
    EXPECT_EQ(outer->update_elem(&k, &ip, kAny), 0);
    EXPECT_EQ(outer->lookup_elem(&k), inner.get());
    uint32_t k0 = 0;
    EXPECT_EQ(outer->lookup_elem(&k0), nullptr);
    int not_a_map = 0;
    const void* bogus = &not_a_map;
    EXPECT_EQ(outer->update_elem(&k0, &bogus, kAny), -EBADF);
    // BPF_F_INNER_MAP in the template lets max_entries differ.
    auto loose_tmpl = std::make_shared<MapAttr>(attr(MapType::Array, 4, 8, 4, kFInnerMap));
    outer_attr.inner = loose_tmpl;
    auto outer2 = make(outer_attr);
    auto inner_loose = make(MapType::Array, 4, 8, 9, kFInnerMap);
    const Map* lp = inner_loose.get();
    EXPECT_EQ(outer2->update_elem(&k, &lp, kAny), 0);
}

TEST(ArrayMap, ForEachStopsOnNonZero) {
    auto m = make(MapType::Array, 4, 4, 5);
    std::vector<uint32_t> seen;
    const long n = m->for_each_elem([&](const void* key, void*) -> uint64_t {
        seen.push_back(*static_cast<const uint32_t*>(key));
        return seen.size() == 3 ? 1 : 0;
    });
    EXPECT_EQ(n, 3);
    EXPECT_EQ(seen, (std::vector<uint32_t>{0, 1, 2}));
}

}  // namespace
}  // namespace bpfvm::maps::test
