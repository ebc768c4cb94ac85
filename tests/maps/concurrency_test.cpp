// Several threads on the same maps at once; every assertion is an exact total. Sized to run in a
// few seconds under ASan/UBSan on two cores.
#include <atomic>
#include <cerrno>
#include <set>
#include <thread>

#include "map_test_util.hpp"

namespace bpfvm::maps::test {
namespace {

constexpr uint32_t kThreads = 4;
constexpr uint32_t kOps = 20000;

template <class Fn>
void run_threads(Fn fn) {
    std::vector<std::thread> threads;
    for (uint32_t t = 0; t < kThreads; ++t) threads.emplace_back([&fn, t] { fn(t); });
    for (auto& th : threads) th.join();
}

TEST(Concurrency, HashInsertLookupDeleteExactCounts) {
    auto m = make(MapType::Hash, 8, 8, kThreads * kOps);
    std::atomic<uint64_t> inserted{0}, exists{0};
    run_threads([&](uint32_t t) {
        for (uint64_t i = 0; i < kOps; ++i) {
            // Every thread tries the same keys: exactly one NOEXIST insert per key wins.
            const uint64_t k = i, v = t;
            const long rc = m->update_elem(&k, &v, kNoExist);
            if (rc == 0) inserted++;
            else if (rc == -EEXIST) exists++;
            else ADD_FAILURE() << rc;
            // And each thread owns a private key range it inserts, reads back and deletes.
            const uint64_t own = kOps + uint64_t{t} * kOps + i, val = own * 3;
            ASSERT_EQ(m->update_elem(&own, &val, kAny), 0);
            auto* p = static_cast<uint64_t*>(m->lookup_elem(&own));
            ASSERT_NE(p, nullptr);
            ASSERT_EQ(*p, own * 3);
            if (i % 2 == 0) {
                ASSERT_EQ(m->delete_elem(&own), 0);
            }
        }
    });
    EXPECT_EQ(inserted.load(), kOps);
    EXPECT_EQ(exists.load(), uint64_t{kOps} * (kThreads - 1));
    EXPECT_EQ(m->keys().size(), kOps + kThreads * kOps / 2);
}

TEST(Concurrency, LruHashNeverFailsAndStaysWithinMaxEntries) {
    constexpr uint32_t kMax = 512;
    auto m = make(MapType::LruHash, 4, 8, kMax);
    std::atomic<uint64_t> failures{0};
    run_threads([&](uint32_t t) {
        for (uint32_t i = 0; i < kOps; ++i) {
            const uint32_t k = t * kOps + i;
            const uint64_t v = k;
            if (m->update_elem(&k, &v, kAny) != 0) failures++;
            // Re-read a recent key: either evicted or intact.
            const uint32_t recent = t * kOps + (i > 8 ? i - 8 : 0);
            uint64_t got = 0;
            if (m->sys_lookup(&recent, &got) == 0 && got != recent) failures++;
            (void)m->lookup_elem(&recent);
        }
    });
    EXPECT_EQ(failures.load(), 0u);
    EXPECT_EQ(m->keys().size(), kMax);
}

TEST(Concurrency, PercpuArrayPlainIncrementsSumExactly) {
    auto m = make(MapType::PercpuArray, 4, 8, 4);  // 4 CPU slots
    run_threads([&](uint32_t t) {
        set_current_cpu(t);
        for (uint32_t i = 0; i < kOps; ++i) {
            const uint32_t k = i % 4;
            auto* p = static_cast<uint64_t*>(m->lookup_elem(&k));
            *p += 1;  // per-CPU: no other thread touches this slot
        }
    });
    uint64_t total = 0;
    for (uint32_t k = 0; k < 4; ++k) {
        uint64_t all[4];
        ASSERT_TRUE(m->lookup(bytes(k), out_bytes(all)));
        for (uint32_t c = 0; c < 4; ++c) {
            EXPECT_EQ(all[c], kOps / 4);
            total += all[c];
        }
    }
    EXPECT_EQ(total, uint64_t{kThreads} * kOps);
}

TEST(Concurrency, PercpuHashSlotsPerThread) {
    auto m = make(MapType::PercpuHash, 4, 8, 64);
    run_threads([&](uint32_t t) {
        set_current_cpu(t);
        for (uint32_t i = 0; i < kOps; ++i) {
            const uint32_t k = i % 64;
            auto* p = static_cast<uint64_t*>(m->lookup_elem(&k));
            if (p == nullptr) {
                const uint64_t one = 1;
                if (m->update_elem(&k, &one, kNoExist) == 0) continue;
                p = static_cast<uint64_t*>(m->lookup_elem(&k));  // another thread created it
                ASSERT_NE(p, nullptr);
            }
            *p += 1;
        }
    });
    uint64_t total = 0;
    for (uint32_t k = 0; k < 64; ++k) {
        uint64_t all[4];
        ASSERT_TRUE(m->lookup(bytes(k), out_bytes(all)));
        for (uint64_t v : all) total += v;
    }
    EXPECT_EQ(total, uint64_t{kThreads} * kOps);
}

TEST(Concurrency, ArrayAtomicAddsAndSpinLockedUpdates) {
    auto m = make(MapType::Array, 4, 16, 1);
    const HelperTable table = standard_helpers();
    run_threads([&](uint32_t) {
        HelperEnv env;
        RunContext ctx;
        ctx.env = &env;
        const uint32_t k = 0;
        auto* v = static_cast<uint64_t*>(m->lookup_elem(&k));
        for (uint32_t i = 0; i < kOps; ++i) {
            __atomic_fetch_add(&v[0], 1, __ATOMIC_RELAXED);  // what BPF_ATOMIC add does
            // v[1]: a bpf_spin_lock word in the low half, a counter guarded by it in word 1's
            // high half; incremented through the helpers.
            auto* lock_word = reinterpret_cast<uint32_t*>(&v[1]);
            table.get(93)(reinterpret_cast<uint64_t>(lock_word), 0, 0, 0, 0, &ctx);
            lock_word[1] += 1;
            table.get(94)(reinterpret_cast<uint64_t>(lock_word), 0, 0, 0, 0, &ctx);
            ASSERT_EQ(ctx.stop, 0u) << ctx.fault_message;
        }
    });
    uint8_t got[16];
    ASSERT_TRUE(m->lookup(bytes(uint32_t{0}), std::span<uint8_t>(got)));
    uint64_t adds;
    uint32_t locked;
    std::memcpy(&adds, got, 8);
    std::memcpy(&locked, got + 12, 4);
    EXPECT_EQ(adds, uint64_t{kThreads} * kOps);
    EXPECT_EQ(locked, kThreads * kOps);
}

TEST(Concurrency, RingbufProducersAndAConsumer) {
    auto m = make(MapType::Ringbuf, 0, 0, 1 << 16);
    RingBuf* rb = m->as_ringbuf();
    constexpr uint32_t kPer = 5000;
    std::atomic<uint32_t> producers_done{0};
    std::vector<uint32_t> next_seq(kThreads, 0);
    uint64_t received = 0;
    bool in_order = true;
    std::thread consumer([&] {
        auto take = [&](std::span<const uint8_t> rec) {
            uint32_t t, seq;
            std::memcpy(&t, rec.data(), 4);
            std::memcpy(&seq, rec.data() + 4, 4);
            if (t >= kThreads || seq != next_seq[t]) in_order = false;
            else next_seq[t]++;
            received++;
        };
        while (producers_done.load() < kThreads) rb->consume(take);
        rb->consume(take);
    });
    run_threads([&](uint32_t t) {
        for (uint32_t seq = 0; seq < kPer;) {
            const uint32_t rec[2] = {t, seq};
            if (rb->output(rec, sizeof rec, 0) == 0) ++seq;
            else std::this_thread::yield();  // full: wait for the consumer
        }
        producers_done++;
    });
    consumer.join();
    EXPECT_TRUE(in_order);
    EXPECT_EQ(received, uint64_t{kThreads} * kPer);
}

TEST(Concurrency, ChurnWithStalePointersStaysMemorySafe) {
    auto m = make(MapType::Hash, 4, 64, 32);
    std::atomic<uint64_t> bad{0};
    run_threads([&](uint32_t t) {
        uint8_t value[64];
        for (uint32_t i = 0; i < kOps; ++i) {
            const uint32_t k = (i * 7 + t) % 48;  // more keys than entries: some updates hit E2BIG
            std::memset(value, static_cast<int>(k), sizeof value);
            const long rc = m->update_elem(&k, value, kAny);
            if (rc != 0 && rc != -E2BIG) bad++;
            auto* p = static_cast<volatile uint8_t*>(m->lookup_elem(&k));
            m->delete_elem(&k);
            if (p != nullptr) (void)p[63];  // possibly deleted meanwhile: still addressable memory
        }
    });
    EXPECT_EQ(bad.load(), 0u);
}

// Lookups take no lock: while writers delete and re-insert churning keys (their nodes are reused
// for other keys, in other buckets), readers must still find every key that stays in the map,
// with its value, and never find a key that was never inserted.
// Key sizes 4 and 8 take the one-load path without a sequence check, 12 the checked one.
TEST(Concurrency, LockFreeLookupsNeverMissStableKeys) {
    for (MapType type : {MapType::Hash, MapType::LruHash})
    for (uint32_t key_size : {4u, 8u, 12u}) {
        SCOPED_TRACE("key_size " + std::to_string(key_size));
        // The id in the first 4 bytes, the rest a pattern of it, so that keys differ in every word.
        struct Key {
            uint32_t w[3];
            explicit Key(uint32_t id) : w{id, id * 2654435761u, ~id} {}
        };
        constexpr uint32_t kStable = 64, kChurn = 64;
        auto m = make(type, key_size, 8, kStable + kChurn);
        for (uint32_t id = 0; id < kStable; ++id) {
            const Key k(id);
            const uint64_t v = uint64_t{id} * 1000003;
            ASSERT_EQ(m->update_elem(&k, &v, kAny), 0);
        }
        std::atomic<bool> stop{false};
        std::atomic<uint64_t> misses{0}, wrong{0}, phantoms{0};
        std::vector<std::thread> writers;
        for (uint32_t w = 0; w < 2; ++w) {
            writers.emplace_back([&, w] {
                for (uint32_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
                    const Key k(kStable + (i * 2 + w) % kChurn);
                    const uint64_t v = 7;
                    m->update_elem(&k, &v, kAny);
                    m->delete_elem(&k);
                }
            });
        }
        std::vector<std::thread> readers;
        for (uint32_t r = 0; r < 2; ++r) {
            readers.emplace_back([&] {
                for (uint32_t i = 0; i < kOps * 4; ++i) {
                    const Key k(i % kStable);
                    auto* p = static_cast<const uint64_t*>(m->lookup_elem(&k));
                    if (p == nullptr) misses++;
                    else if (*p != uint64_t{i % kStable} * 1000003) wrong++;
                    const Key never(1'000'000 + i % 100);
                    if (m->lookup_elem(&never) != nullptr) phantoms++;
                }
            });
        }
        for (auto& th : readers) th.join();
        stop = true;
        for (auto& th : writers) th.join();
        EXPECT_EQ(misses.load(), 0u) << static_cast<int>(type);
        EXPECT_EQ(wrong.load(), 0u) << static_cast<int>(type);
        EXPECT_EQ(phantoms.load(), 0u) << static_cast<int>(type);
    }
}

}  // namespace
}  // namespace bpfvm::maps::test
