// lpm_trie, queue, stack, bloom_filter, ringbuf and perf_event_array.
#include <cerrno>

#include "map_test_util.hpp"

namespace bpfvm::maps::test {
namespace {

struct Ipv4Key {
    uint32_t prefixlen;
    uint8_t addr[4];
};

Ipv4Key ip(uint32_t plen, uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return Ipv4Key{plen, {a, b, c, d}}; }

long upd(Map& m, Ipv4Key k, const void* v, uint64_t flags) { return m.update_elem(&k, v, flags); }
long del(Map& m, Ipv4Key k) { return m.delete_elem(&k); }

uint32_t lpm_get(Map& m, const Ipv4Key& k) {
    void* p = m.lookup_elem(&k);
    return p == nullptr ? 0 : *static_cast<uint32_t*>(p);
}

TEST(LpmTrie, LongestPrefixWins) {
    auto m = make(MapType::LpmTrie, 8, 4, 16, kFNoPrealloc);
    const uint32_t v8 = 8, v16 = 16, v24 = 24, v0 = 100;
    ASSERT_EQ(upd(*m, ip(8, 10, 0, 0, 0), &v8, kAny), 0);
    ASSERT_EQ(upd(*m, ip(16, 10, 1, 0, 0), &v16, kAny), 0);
    ASSERT_EQ(upd(*m, ip(24, 10, 1, 2, 0), &v24, kAny), 0);
    EXPECT_EQ(lpm_get(*m, ip(32, 10, 1, 2, 3)), 24u);
    EXPECT_EQ(lpm_get(*m, ip(32, 10, 1, 3, 3)), 16u);
    EXPECT_EQ(lpm_get(*m, ip(32, 10, 9, 9, 9)), 8u);
    EXPECT_EQ(lpm_get(*m, ip(32, 11, 1, 2, 3)), 0u);
    EXPECT_EQ(lpm_get(*m, ip(20, 10, 1, 2, 3)), 16u);  // the lookup key's prefixlen limits the match
    ASSERT_EQ(upd(*m, ip(0, 0, 0, 0, 0), &v0, kAny), 0);
    EXPECT_EQ(lpm_get(*m, ip(32, 11, 1, 2, 3)), 100u);
    // Bits past the prefix are ignored when storing: 10.1.2.77/24 is 10.1.2.0/24.
    EXPECT_EQ(upd(*m, ip(24, 10, 1, 2, 77), &v8, kNoExist), -EEXIST);
    ASSERT_EQ(del(*m, ip(24, 10, 1, 2, 0)), 0);
    EXPECT_EQ(lpm_get(*m, ip(32, 10, 1, 2, 3)), 16u);
    EXPECT_EQ(del(*m, ip(24, 10, 1, 2, 0)), -ENOENT);
}

TEST(LpmTrie, ErrorsAndIteration) {
    auto m = make(MapType::LpmTrie, 8, 4, 2, kFNoPrealloc);
    const uint32_t v = 1;
    EXPECT_EQ(upd(*m, ip(33, 1, 2, 3, 4), &v, kAny), -EINVAL);
    EXPECT_EQ(upd(*m, ip(8, 1, 0, 0, 0), &v, kExist), -ENOENT);
    EXPECT_EQ(upd(*m, ip(8, 1, 0, 0, 0), &v, 4), -EINVAL);
    ASSERT_EQ(upd(*m, ip(8, 1, 0, 0, 0), &v, kAny), 0);
    ASSERT_EQ(upd(*m, ip(16, 1, 2, 0, 0), &v, kAny), 0);
    EXPECT_EQ(upd(*m, ip(24, 1, 2, 3, 0), &v, kAny), -ENOSPC);
    EXPECT_EQ(upd(*m, ip(8, 1, 0, 0, 0), &v, kAny), 0);  // replace when full
    // More specific prefixes first.
    auto keys = m->keys();
    ASSERT_EQ(keys.size(), 2u);
    Ipv4Key k0, k1;
    std::memcpy(&k0, keys[0].data(), 8);
    std::memcpy(&k1, keys[1].data(), 8);
    EXPECT_EQ(k0.prefixlen, 16u);
    EXPECT_EQ(k1.prefixlen, 8u);
    EXPECT_EQ(create_error(attr(MapType::LpmTrie, 8, 4, 2)), "map m (lpm_trie): BPF_F_NO_PREALLOC is required");
    EXPECT_EQ(create_error(attr(MapType::LpmTrie, 4, 4, 2, kFNoPrealloc)),
              "map m (lpm_trie): key_size must be 5..260 (u32 prefixlen + 1..256 data bytes), got 4");
}

TEST(LpmTrie, Ipv6StyleKeys) {
    struct Key6 {
        uint32_t plen;
        uint8_t a[16];
    };
    auto m = make(MapType::LpmTrie, 20, 8, 8, kFNoPrealloc);
    Key6 net{64, {0x20, 0x01, 0x0d, 0xb8}};
    const uint64_t v = 64;
    ASSERT_EQ(m->update_elem(&net, &v, kAny), 0);
    Key6 host{128, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}};
    ASSERT_NE(m->lookup_elem(&host), nullptr);
    host.a[7] = 1;  // outside the /64
    EXPECT_EQ(m->lookup_elem(&host), nullptr);
}

TEST(QueueMap, FifoOrderFullAndOverwrite) {
    auto q = make(MapType::Queue, 0, 4, 3);
    for (uint32_t v = 1; v <= 3; ++v) ASSERT_EQ(q->push_elem(&v, kAny), 0);
    uint32_t v = 4, out = 0;
    EXPECT_EQ(q->push_elem(&v, kAny), -E2BIG);
    EXPECT_EQ(q->push_elem(&v, kNoExist), -EINVAL);
    EXPECT_EQ(q->push_elem(&v, kExist), 0);  // drops the oldest (1)
    EXPECT_EQ(q->peek_elem(&out), 0);
    EXPECT_EQ(out, 2u);
    for (uint32_t want : {2u, 3u, 4u}) {
        ASSERT_EQ(q->pop_elem(&out), 0);
        EXPECT_EQ(out, want);
    }
    EXPECT_EQ(q->pop_elem(&out), -ENOENT);
    EXPECT_EQ(q->peek_elem(&out), -ENOENT);
    // Caller side: update pushes, lookup peeks, lookup_and_delete pops.
    ASSERT_TRUE(q->update({}, bytes(v)));
    EXPECT_EQ(q->sys_lookup_and_delete(nullptr, &out), 0);
    EXPECT_EQ(out, 4u);
    EXPECT_EQ(q->get_next_key(nullptr, &out), -kENotSupp);
    EXPECT_EQ(create_error(attr(MapType::Queue, 4, 4, 3)), "map m (queue): key_size must be 0, got 4");
}

TEST(StackMap, LifoOrderAndOverwriteDropsOldest) {
    auto s = make(MapType::Stack, 0, 8, 2);
    uint64_t a = 1, b = 2, c = 3, out = 0;
    ASSERT_EQ(s->push_elem(&a, kAny), 0);
    ASSERT_EQ(s->push_elem(&b, kAny), 0);
    EXPECT_EQ(s->push_elem(&c, kAny), -E2BIG);
    ASSERT_EQ(s->push_elem(&c, kExist), 0);
    ASSERT_EQ(s->pop_elem(&out), 0);
    EXPECT_EQ(out, 3u);
    ASSERT_EQ(s->pop_elem(&out), 0);
    EXPECT_EQ(out, 2u);
    EXPECT_EQ(s->pop_elem(&out), -ENOENT);
}

TEST(BloomFilter, NoFalseNegatives) {
    MapAttr a = attr(MapType::BloomFilter, 0, 8, 1000);
    a.map_extra = 3;
    auto m = make(a);
    for (uint64_t v = 0; v < 1000; ++v) ASSERT_EQ(m->push_elem(&v, kAny), 0);
    for (uint64_t v = 0; v < 1000; ++v) ASSERT_EQ(m->peek_elem(&v), 0) << v;
    int false_pos = 0;
    for (uint64_t v = 1000000; v < 1010000; ++v) false_pos += m->peek_elem(&v) == 0;
    EXPECT_LT(false_pos, 2000);  // 3 hashes, ~4.3 bits per element: ~15% worst case
    uint64_t v = 5;
    EXPECT_EQ(m->push_elem(&v, kExist), -EINVAL);
    EXPECT_EQ(m->sys_lookup(nullptr, &v), 0);
    a.map_extra = 16;
    EXPECT_EQ(create_error(a), "map m (bloom_filter): map_extra may only set bits 0..3 (hash count)");
}

TEST(RingBuf, RecordsInReservationOrderDiscardSkipped) {
    auto m = make(MapType::Ringbuf, 0, 0, 4096);
    RingBuf* rb = m->as_ringbuf();
    ASSERT_NE(rb, nullptr);
    auto* r1 = static_cast<uint32_t*>(rb->reserve(4, 0));
    auto* r2 = static_cast<uint32_t*>(rb->reserve(4, 0));
    auto* r3 = static_cast<uint32_t*>(rb->reserve(4, 0));
    ASSERT_TRUE(r1 && r2 && r3);
    *r1 = 1;
    *r2 = 2;
    *r3 = 3;
    EXPECT_TRUE(rb->submit(r3, 0));
    EXPECT_TRUE(rb->discard(r2, 0));
    EXPECT_TRUE(rb->drain().empty());  // r1 still reserved blocks everything after it
    EXPECT_EQ(rb->query(kRbAvailData), 48u);
    EXPECT_TRUE(rb->submit(r1, 0));
    EXPECT_FALSE(rb->submit(r1, 0));  // not reserved any more
    auto recs = rb->drain();
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[0], (std::vector<uint8_t>{1, 0, 0, 0}));
    EXPECT_EQ(recs[1], (std::vector<uint8_t>{3, 0, 0, 0}));
    EXPECT_EQ(rb->query(kRbAvailData), 0u);
    EXPECT_EQ(rb->query(kRbRingSize), 4096u);
    EXPECT_EQ(rb->query(kRbProdPos), 48u);
    EXPECT_EQ(rb->query(kRbConsPos), 48u);
    EXPECT_EQ(rb->reserve(4, 1), nullptr);  // reserve takes no flags
}

TEST(RingBuf, FullThenWrapsAround) {
    auto m = make(MapType::Ringbuf, 0, 0, 4096);
    RingBuf* rb = m->as_ringbuf();
    std::vector<uint8_t> chunk(1000, 7);
    int ok = 0;
    while (rb->output(chunk.data(), chunk.size(), 0) == 0) ++ok;
    EXPECT_EQ(ok, 4);  // 4 x 1008 bytes fit in 4096
    EXPECT_EQ(rb->output(chunk.data(), chunk.size(), 0), -EAGAIN);
    EXPECT_EQ(rb->output(chunk.data(), 1, 4), -EINVAL);
    EXPECT_EQ(rb->drain().size(), 4u);
    // 4032 used so far: the next record does not fit before the end and wraps to offset 0.
    for (uint8_t i = 0; i < 10; ++i) {
        chunk.assign(1000, i);
        ASSERT_EQ(rb->output(chunk.data(), chunk.size(), 0), 0) << int(i);
        auto recs = rb->drain();
        ASSERT_EQ(recs.size(), 1u);
        EXPECT_EQ(recs[0], chunk);
    }
    EXPECT_EQ(create_error(attr(MapType::Ringbuf, 0, 0, 4096 * 3)),
              "map m (ringbuf): max_entries must be a power of two multiple of 4096, got 12288");
    EXPECT_EQ(create_error(attr(MapType::Ringbuf, 0, 0, 2048)),
              "map m (ringbuf): max_entries must be a power of two multiple of 4096, got 2048");
}

TEST(PerfEventArray, CollectsPerIndex) {
    auto m = make(MapType::PerfEventArray, 4, 4, 0);  // 0: one slot per CPU (4 here)
    EXPECT_EQ(m->max_entries(), 4u);
    PerfEventArray* pe = m->as_perf_event_array();
    ASSERT_NE(pe, nullptr);
    uint32_t a = 0xaa, b = 0xbb;
    set_current_cpu(3);
    EXPECT_EQ(pe->output(kFCurrentCpu, &a, 4), 0);
    EXPECT_EQ(pe->output(1, &b, 4), 0);
    EXPECT_EQ(pe->output(4, &b, 4), -E2BIG);
    EXPECT_EQ(pe->output(uint64_t{1} << 32, &b, 4), -EINVAL);
    auto recs = pe->drain();
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[0].cpu, 1u);
    EXPECT_EQ(recs[0].data, (std::vector<uint8_t>{0xbb, 0, 0, 0}));
    EXPECT_EQ(recs[1].cpu, 3u);
    EXPECT_TRUE(pe->drain().empty());
    set_current_cpu(0);
}

}  // namespace
}  // namespace bpfvm::maps::test
