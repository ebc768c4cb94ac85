// hash, percpu_hash, lru_hash, lru_percpu_hash, hash_of_maps: flags, full-map errors, iteration,
// stable value addresses, LRU eviction order.
#include <algorithm>
#include <cerrno>
#include <set>

#include "map_test_util.hpp"

namespace bpfvm::maps::test {
namespace {

TEST(HashMap, UpdateFlagsFollowTheKernel) {
    auto m = make(MapType::Hash, 8, 8, 4);
    uint64_t k = 42, v = 1;
    EXPECT_EQ(m->update_elem(&k, &v, kExist), -ENOENT);
    EXPECT_EQ(m->update_elem(&k, &v, kNoExist), 0);
    EXPECT_EQ(m->update_elem(&k, &v, kNoExist), -EEXIST);
    v = 2;
    EXPECT_EQ(m->update_elem(&k, &v, kExist), 0);
    EXPECT_EQ(value_u64(*m, k), 2u);
    EXPECT_EQ(m->update_elem(&k, &v, 3), -EINVAL);
    EXPECT_EQ(m->update_elem(&k, &v, kLock), -EINVAL);
    EXPECT_EQ(m->delete_elem(&k), 0);
    EXPECT_EQ(m->delete_elem(&k), -ENOENT);
    EXPECT_EQ(m->lookup_elem(&k), nullptr);
}

TEST(HashMap, FullMapReturnsE2BigUntilSomethingIsDeleted) {
    auto m = make(MapType::Hash, 4, 4, 3);
    for (uint32_t k = 0; k < 3; ++k) ASSERT_EQ(m->update_elem(&k, &k, kAny), 0);
    uint32_t k = 3;
    EXPECT_EQ(m->update_elem(&k, &k, kAny), -E2BIG);
    uint32_t old = 1;
    EXPECT_EQ(m->update_elem(&old, &k, kAny), 0);  // replacing an existing key still works when full
    ASSERT_EQ(m->delete_elem(&old), 0);
    EXPECT_EQ(m->update_elem(&k, &k, kAny), 0);
    EXPECT_EQ(m->update_elem(&old, &k, kAny), -E2BIG);
}

TEST(HashMap, LookupPointerIsStableAndSurvivesDelete) {
    auto m = make(MapType::Hash, 4, 16, 8);
    uint32_t k = 5;
    uint8_t v[16] = {9};
    ASSERT_EQ(m->update_elem(&k, v, kAny), 0);
    auto* p = static_cast<uint8_t*>(m->lookup_elem(&k));
    ASSERT_NE(p, nullptr);
    v[0] = 10;
    ASSERT_EQ(m->update_elem(&k, v, kAny), 0);
    EXPECT_EQ(m->lookup_elem(&k), p);
    EXPECT_EQ(p[0], 10);
    ASSERT_EQ(m->delete_elem(&k), 0);
    p[3] = 1;  // a stale pointer still addresses pool memory (clean under ASan)
    EXPECT_EQ(m->lookup_elem(&k), nullptr);
}

TEST(HashMap, GetNextKeyVisitsEveryKeyOnce) {
    auto m = make(MapType::Hash, 4, 4, 100);
    for (uint32_t k = 0; k < 100; ++k) ASSERT_EQ(m->update_elem(&k, &k, kAny), 0);
    std::set<uint32_t> seen;
    for (const auto& key : m->keys()) {
        uint32_t k;
        std::memcpy(&k, key.data(), 4);
        EXPECT_TRUE(seen.insert(k).second) << k;
    }
    EXPECT_EQ(seen.size(), 100u);
    uint32_t absent = 1000, next = 0, first = 0;
    ASSERT_EQ(m->get_next_key(nullptr, &first), 0);
    ASSERT_EQ(m->get_next_key(&absent, &next), 0);  // an absent key restarts at the first
    EXPECT_EQ(next, first);
    auto empty = make(MapType::Hash, 4, 4, 4);
    EXPECT_EQ(empty->get_next_key(nullptr, &next), -ENOENT);
    Status st = empty->next_key({}, out_bytes(next));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
}

TEST(HashMap, LookupAndDelete) {
    auto m = make(MapType::Hash, 4, 8, 4);
    uint32_t k = 1;
    uint64_t v = 77, got = 0;
    ASSERT_EQ(m->update_elem(&k, &v, kAny), 0);
    EXPECT_EQ(m->sys_lookup_and_delete(&k, &got), 0);
    EXPECT_EQ(got, 77u);
    EXPECT_EQ(m->sys_lookup_and_delete(&k, &got), -ENOENT);
}

TEST(HashMap, CreationChecks) {
    EXPECT_EQ(create_error(attr(MapType::Hash, 0, 4, 1)), "map m (hash): key_size must not be 0");
    EXPECT_EQ(create_error(attr(MapType::Hash, 513, 4, 1)), "map m (hash): key_size 513 exceeds 512");
    EXPECT_EQ(create_error(attr(MapType::Hash, 4, 0, 1)), "map m (hash): value_size must not be 0");
    EXPECT_EQ(create_error(attr(MapType::Hash, 4, 4, 0)), "map m (hash): max_entries must not be 0");
    EXPECT_EQ(create_error(attr(MapType::LruHash, 4, 4, 1, kFNoPrealloc)),
              "map m (lru_hash): LRU maps do not support BPF_F_NO_PREALLOC");
    EXPECT_EQ(create_error(attr(MapType::Hash, 4, 4, 1, kFNoCommonLru)),
              "map m (hash): BPF_F_NO_COMMON_LRU needs an LRU map");
    EXPECT_EQ(create_error(attr(MapType::Hash, 4, 4, 1, kFNoPrealloc)), "");
    EXPECT_EQ(create_error(attr(MapType::PercpuHash, 4, 32769, 1)),
              "map m (percpu_hash): per-CPU value_size 32769 exceeds 32768");
    EXPECT_EQ(create_error(attr(MapType::Queue, 0, 1 << 20, 4096)),
              "map m (queue): map is too large (bpfvm limit: 1 GiB of elements)");
}

TEST(PercpuHash, ProgramWritesThisCpuCallerSeesAll) {
    auto m = make(MapType::PercpuHash, 4, 8, 4);
    uint32_t k = 3;
    set_current_cpu(1);
    uint64_t v = 11;
    ASSERT_EQ(m->update_elem(&k, &v, kAny), 0);  // new element: other CPUs zero
    set_current_cpu(3);
    v = 33;
    ASSERT_EQ(m->update_elem(&k, &v, kExist), 0);
    EXPECT_EQ(value_u64(*m, k), 33u);
    uint64_t all[4];
    ASSERT_TRUE(m->lookup(bytes(k), out_bytes(all)));
    EXPECT_EQ(all[0], 0u);
    EXPECT_EQ(all[1], 11u);
    EXPECT_EQ(all[2], 0u);
    EXPECT_EQ(all[3], 33u);
    EXPECT_EQ(*static_cast<uint64_t*>(m->lookup_percpu_elem(&k, 1)), 11u);
    set_current_cpu(0);
}

TEST(LruHash, EvictsLeastRecentlyUsedWhenFull) {
    auto m = make(MapType::LruHash, 4, 4, 3);
    for (uint32_t k = 1; k <= 3; ++k) ASSERT_EQ(m->update_elem(&k, &k, kAny), 0);
    uint32_t k1 = 1;
    ASSERT_NE(m->lookup_elem(&k1), nullptr);  // 1 becomes recently used; 2 is now the coldest
    uint32_t k4 = 4;
    EXPECT_EQ(m->update_elem(&k4, &k4, kAny), 0);  // never -E2BIG
    uint32_t k2 = 2, k3 = 3;
    EXPECT_EQ(m->lookup_elem(&k2), nullptr);
    EXPECT_NE(m->lookup_elem(&k3), nullptr);
    EXPECT_NE(m->lookup_elem(&k4), nullptr);
    EXPECT_NE(m->lookup_elem(&k1), nullptr);
    // No lookups since: insertion order decides among unreferenced entries.
    auto fresh = make(MapType::LruHash, 4, 4, 2);
    for (uint32_t k = 10; k < 14; ++k) ASSERT_EQ(fresh->update_elem(&k, &k, kAny), 0);
    auto keys = fresh->keys();
    std::set<uint32_t> left;
    for (auto& key : keys) left.insert(*reinterpret_cast<uint32_t*>(key.data()));
    EXPECT_EQ(left, (std::set<uint32_t>{12, 13}));
}

TEST(LruHash, UpdateCountsAsUseAndDeleteFreesASlot) {
    auto m = make(MapType::LruHash, 4, 4, 2);
    uint32_t a = 1, b = 2, c = 3;
    ASSERT_EQ(m->update_elem(&a, &a, kAny), 0);
    ASSERT_EQ(m->update_elem(&b, &b, kAny), 0);
    ASSERT_EQ(m->update_elem(&a, &c, kExist), 0);  // touches a
    ASSERT_EQ(m->update_elem(&c, &c, kAny), 0);    // evicts b
    EXPECT_EQ(m->lookup_elem(&b), nullptr);
    EXPECT_EQ(*static_cast<uint32_t*>(m->lookup_elem(&a)), 3u);
    ASSERT_EQ(m->delete_elem(&a), 0);
    ASSERT_EQ(m->update_elem(&b, &b, kAny), 0);  // free slot: no eviction
    EXPECT_NE(m->lookup_elem(&c), nullptr);
}

TEST(LruPercpuHash, EvictsAndKeepsPerCpuValues) {
    auto m = make(MapType::LruPercpuHash, 4, 8, 2);
    set_current_cpu(2);
    for (uint32_t k = 0; k < 3; ++k) {
        uint64_t v = k + 100;
        ASSERT_EQ(m->update_elem(&k, &v, kAny), 0);
    }
    uint32_t k0 = 0, k2 = 2;
    EXPECT_EQ(m->lookup_elem(&k0), nullptr);
    uint64_t all[4];
    ASSERT_TRUE(m->lookup(bytes(k2), out_bytes(all)));
    EXPECT_EQ(all[2], 102u);
    EXPECT_EQ(all[0] + all[1] + all[3], 0u);
    set_current_cpu(0);
}

TEST(HashOfMaps, StoresInnerMaps) {
    MapAttr a = attr(MapType::HashOfMaps, 4, 4, 4);
    a.inner = std::make_shared<MapAttr>(attr(MapType::Hash, 4, 4, 8));
    auto outer = make(a);
    auto inner = make(MapType::Hash, 4, 4, 8);
    auto wrong = make(MapType::Array, 4, 4, 8);
    const Map* ip = inner.get();
    const Map* wp = wrong.get();
    uint32_t k = 9;
    EXPECT_EQ(outer->update_elem(&k, &wp, kAny), -EINVAL);
    EXPECT_EQ(outer->update_elem(&k, &ip, kNoExist), 0);
    EXPECT_EQ(outer->update_elem(&k, &ip, kNoExist), -EEXIST);
    EXPECT_EQ(outer->lookup_elem(&k), inner.get());
    EXPECT_FALSE(outer->lookup_returns_memory());
    uint64_t got = 0;
    ASSERT_TRUE(outer->lookup(bytes(k), out_bytes(got)));
    EXPECT_EQ(got, reinterpret_cast<uint64_t>(inner.get()));
    a.inner = std::make_shared<MapAttr>(a);
    EXPECT_EQ(create_error(a), "map m (hash_of_maps): the inner map cannot itself hold maps or programs");
}

// Each kind and key size is its own class (hash_map.cpp), with its own node layout: a program
// that fills the whole value a lookup returned must not touch the key, the LRU links or another
// CPU's slot, and eviction and deletion must still find every node.
TEST(HashMap, EveryKindAndKeySizeKeepsValuesApartFromKeysAndLinks) {
    for (MapType type : {MapType::Hash, MapType::PercpuHash, MapType::LruHash, MapType::LruPercpuHash}) {
        for (uint32_t key_size : {4u, 8u, 12u}) {
            SCOPED_TRACE(std::string(map_type_name(type)) + " key_size " + std::to_string(key_size));
            constexpr uint32_t kEntries = 4, kValue = 12;
            auto m = make(type, key_size, kValue, kEntries);
            ASSERT_NE(m, nullptr);
            auto key = [&](uint32_t i) {
                std::vector<uint8_t> k(key_size, 0);
                for (uint32_t b = 0; b < key_size; ++b) k[b] = static_cast<uint8_t>(i * 31 + b);
                return k;
            };
            set_current_cpu(1);
            for (uint32_t i = 0; i < kEntries; ++i) {
                const uint8_t v[kValue] = {static_cast<uint8_t>(i)};
                ASSERT_EQ(m->update_elem(key(i).data(), v, kAny), 0);
                auto* p = static_cast<uint8_t*>(m->lookup_elem(key(i).data()));
                ASSERT_NE(p, nullptr);
                std::memset(p, 0xff, kValue);
            }
            for (uint32_t i = 0; i < kEntries; ++i) {
                auto* p = static_cast<const uint8_t*>(m->lookup_elem(key(i).data()));
                ASSERT_NE(p, nullptr) << i;
                EXPECT_EQ(p[0], 0xff);
                std::vector<uint8_t> all(m->sys_value_size());
                ASSERT_EQ(m->sys_lookup(key(i).data(), all.data()), 0);
                const uint32_t slot = m->is_percpu() ? 16 : 0;  // CPU 1's slot: values padded to 8
                EXPECT_EQ(all[slot + kValue - 1], 0xff);
                if (m->is_percpu()) {
                    EXPECT_EQ(all[0], 0) << "CPU 0's slot was written";
                }
            }
            EXPECT_EQ(m->keys().size(), kEntries);
            const uint8_t v[kValue] = {};
            for (uint32_t i = kEntries; i < 3 * kEntries; ++i) {
                if (type == MapType::Hash || type == MapType::PercpuHash) {
                    EXPECT_EQ(m->update_elem(key(i).data(), v, kAny), -E2BIG);
                    ASSERT_EQ(m->delete_elem(key(i - kEntries).data()), 0);
                }
                ASSERT_EQ(m->update_elem(key(i).data(), v, kAny), 0);  // LRU: evicts
                ASSERT_NE(m->lookup_elem(key(i).data()), nullptr);
            }
            EXPECT_EQ(m->keys().size(), kEntries);
            set_current_cpu(0);
        }
    }
}

TEST(HashMap, ForEachVisitsAllAndMayDeleteDuringWalk) {
    auto m = make(MapType::Hash, 4, 8, 16);
    for (uint32_t k = 0; k < 10; ++k) {
        uint64_t v = k;
        ASSERT_EQ(m->update_elem(&k, &v, kAny), 0);
    }
    uint64_t sum = 0;
    const long n = m->for_each_elem([&](const void* key, void* value) -> uint64_t {
        sum += *static_cast<uint64_t*>(value);
        m->delete_elem(key);  // the callback may change the map (no lock held)
        return 0;
    });
    EXPECT_EQ(n, 10);
    EXPECT_EQ(sum, 45u);
    EXPECT_TRUE(m->keys().empty());
}

}  // namespace
}  // namespace bpfvm::maps::test
