// Helpers called directly through the standard table with a RunContext and a HelperEnv.
#include <cerrno>
#include <functional>

#include "map_test_util.hpp"

namespace bpfvm::maps::test {
namespace {

uint64_t u(const void* p) { return reinterpret_cast<uint64_t>(p); }
int64_t s(uint64_t v) { return static_cast<int64_t>(v); }

class Helpers : public ::testing::Test {
protected:
    void SetUp() override {
        table = standard_helpers();
        ctx.env = &env;
    }
    uint64_t call(uint32_t id, uint64_t r1 = 0, uint64_t r2 = 0, uint64_t r3 = 0, uint64_t r4 = 0, uint64_t r5 = 0) {
        HelperFn fn = table.get(id);
        EXPECT_NE(fn, nullptr) << "helper " << id;
        return fn ? fn(r1, r2, r3, r4, r5, &ctx) : 0;
    }
    // Checked mode with `stack` as the program's stack.
    void checked() {
        ctx.checked = true;
        ctx.stack_begin = u(stack);
        ctx.stack_end = u(stack) + sizeof stack;
    }

    HelperTable table;
    HelperEnv env;
    RunContext ctx;
    alignas(8) uint8_t stack[512] = {};
};

TEST_F(Helpers, TableHasTheImplementedIds) {
    for (uint32_t id : {1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 12u, 14u, 15u, 16u, 25u, 45u, 87u, 88u, 89u, 93u, 94u,
                        112u, 113u, 114u, 115u, 125u, 130u, 131u, 132u, 133u, 134u, 160u, 164u, 165u, 181u, 182u})
        EXPECT_TRUE(table.has(id)) << id;
    EXPECT_FALSE(table.has(9));  // skb_store_bytes belongs to the packet layer
    HelperTable other;
    other.set(9, table.get(1));
    register_helpers(other);
    EXPECT_TRUE(other.has(9));  // entries set by others stay
}

TEST_F(Helpers, MapLookupUpdateDelete) {
    auto m = make(MapType::Hash, 4, 8, 2);
    uint32_t k = 7;
    uint64_t v = 99;
    EXPECT_EQ(s(call(2, u(m.get()), u(&k), u(&v), kNoExist)), 0);
    EXPECT_EQ(s(call(2, u(m.get()), u(&k), u(&v), kNoExist)), -EEXIST);
    auto* p = reinterpret_cast<uint64_t*>(call(1, u(m.get()), u(&k)));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, 99u);
    EXPECT_TRUE(ctx.regions.empty());  // unchecked: nothing recorded
    EXPECT_EQ(s(call(3, u(m.get()), u(&k))), 0);
    EXPECT_EQ(s(call(3, u(m.get()), u(&k))), -ENOENT);
    EXPECT_EQ(call(1, u(m.get()), u(&k)), 0u);
}

TEST_F(Helpers, CheckedModeVerifiesPointersAndAllowsValues) {
    checked();
    auto m = make(MapType::Array, 4, 16, 4);
    uint32_t idx = 2;
    std::memcpy(stack + 8, &idx, 4);
    const uint64_t p = call(1, u(m.get()), u(stack + 8));
    ASSERT_NE(p, 0u);
    EXPECT_TRUE(ctx.region_allows(p, 16, true));
    EXPECT_FALSE(ctx.region_allows(p, 17, false));
    EXPECT_EQ(ctx.stop, 0u);
    // A key outside the stack and every region faults the run.
    uint32_t heap_key = 1;
    EXPECT_EQ(call(1, u(m.get()), u(&heap_key)), 0u);
    EXPECT_EQ(ctx.stop, RunContext::kStopFault);
    EXPECT_EQ(ctx.fault_message, "map_lookup_elem: r2 (key) = " + detail_hex(u(&heap_key)) +
                                     " (4 bytes) is outside the stack and every allowed region");
}

TEST_F(Helpers, CheckedModeWithoutAStackAcceptsOnlyRegions) {
    ctx.checked = true;
    auto m = make(MapType::Array, 4, 8, 1);
    uint32_t k = 0;
    EXPECT_EQ(call(1, u(m.get()), u(&k)), 0u);
    EXPECT_EQ(ctx.stop, RunContext::kStopFault);
    ctx.stop = 0;
    ctx.regions.push_back({u(&k), u(&k) + 4, false});
    EXPECT_NE(call(1, u(m.get()), u(&k)), 0u);
    EXPECT_EQ(ctx.stop, 0u);
    // Writes need a writable region: pop_elem into a read-only one faults.
    auto q = make(MapType::Queue, 0, 4, 1);
    call(88, u(q.get()), u(&k));
    EXPECT_EQ(ctx.stop, RunContext::kStopFault);
}

TEST_F(Helpers, CheckedModeRejectsSomethingThatIsNotAMap) {
    checked();
    uint32_t k = 0;
    std::memcpy(stack, &k, 4);
    EXPECT_EQ(call(1, 0x1000, u(stack)), 0u);
    EXPECT_EQ(ctx.fault_message, "map_lookup_elem: 0x1000 is not a map");
}

TEST(LiveMaps, RegistryForgetsDestroyedMaps) {
    auto m = make(MapType::Array, 4, 8, 1);
    const void* addr = m.get();
    EXPECT_TRUE(is_live_map(addr));
    EXPECT_TRUE(is_live_map(addr));  // cached on this thread
    m.reset();
    EXPECT_FALSE(is_live_map(addr));
    EXPECT_FALSE(is_live_map(nullptr));
}

TEST_F(Helpers, ReadOnlyProgMapsAreAllowedReadOnly) {
    checked();
    auto m = make(MapType::Array, 4, 8, 1, kFRdonlyProg);
    const uint64_t p = call(1, u(m.get()), u(stack));
    ASSERT_NE(p, 0u);
    EXPECT_TRUE(ctx.region_allows(p, 8, false));
    EXPECT_FALSE(ctx.region_allows(p, 8, true));
}

TEST_F(Helpers, PushPopPeek) {
    auto q = make(MapType::Queue, 0, 4, 2);
    uint32_t a = 5, out = 0;
    EXPECT_EQ(s(call(87, u(q.get()), u(&a), kAny)), 0);
    EXPECT_EQ(s(call(89, u(q.get()), u(&out))), 0);
    EXPECT_EQ(out, 5u);
    EXPECT_EQ(s(call(88, u(q.get()), u(&out))), 0);
    EXPECT_EQ(s(call(88, u(q.get()), u(&out))), -ENOENT);
}

TEST_F(Helpers, TailCallCountsAndLimits) {
    auto pa = make(MapType::ProgArray, 4, 4, 4);
    static const int prog = 0;
    const void* h = &prog;
    uint32_t k = 1;
    ASSERT_EQ(pa->update_elem(&k, &h, kAny), 0);
    EXPECT_EQ(s(call(12, 0, u(pa.get()), 0)), -ENOENT);  // empty slot: the program continues
    EXPECT_EQ(ctx.stop, 0u);
    EXPECT_EQ(s(call(12, 0, u(pa.get()), 4)), -E2BIG);
    for (int i = 0; i < 33; ++i) {
        ctx.stop = 0;
        ASSERT_EQ(call(12, 0, u(pa.get()), 1), 0u) << i;
        EXPECT_EQ(ctx.stop, RunContext::kStopTailCall);
        EXPECT_EQ(ctx.tail_call_target, h);
    }
    ctx.stop = 0;
    EXPECT_EQ(s(call(12, 0, u(pa.get()), 1)), -ELOOP);  // the 34th fails, like MAX_TAIL_CALL_CNT
    EXPECT_EQ(env.tail_calls, 33u);
    env.reset_run();
    EXPECT_EQ(call(12, 0, u(pa.get()), 1), 0u);
}

TEST_F(Helpers, TracePrintkFormats) {
    const char f1[] = "d=%d i=%i u=%u\n";
    EXPECT_EQ(call(6, u(f1), sizeof f1, uint64_t(-5), 7, uint64_t(-1)), 22u);
    const char f2[] = "x=%x ld=%ld lu=%lu";
    call(6, u(f2), sizeof f2, 0xdeadbeefcafeULL, uint64_t(-9), 123);
    const char f3[] = "lx=%lx lld=%lld llu=%llu";
    call(6, u(f3), sizeof f3, 0xabcdef0123ULL, uint64_t(-1), uint64_t(-1));
    const char f4[] = "llx=%llx p=%p c=%c %%";
    call(6, u(f4), sizeof f4, 0xffULL, 0x1234, 'A');
    const char str[] = "hello";
    const char f5[] = "s=%s w=%5d|%-3u|";
    call(6, u(f5), sizeof f5, u(str), 42, 7);
    EXPECT_EQ(env.trace_log,
              "d=-5 i=7 u=4294967295\n"
              "x=beefcafe ld=-9 lu=123\n"
              "lx=abcdef0123 lld=-1 llu=18446744073709551615\n"
              "llx=ff p=0x1234 c=A %\n"
              "s=hello w=   42|7  |\n");
}

TEST_F(Helpers, TracePrintkRejectsBadFormats) {
    const char four[] = "%d %d %d %d";
    EXPECT_EQ(s(call(6, u(four), sizeof four, 1, 2, 3)), -EINVAL);
    const char flt[] = "%f";
    EXPECT_EQ(s(call(6, u(flt), sizeof flt, 1)), -EINVAL);
    const char unterminated[] = {'%', 'd'};
    EXPECT_EQ(s(call(6, u(unterminated), sizeof unterminated, 1)), -EINVAL);
    EXPECT_EQ(env.trace_log, "");
    auto r = format_bpf_string("ab%q", 4, nullptr, 0, &ctx);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "format offset 2: more conversions than arguments (0 available)");
    uint64_t one = 1;
    r = format_bpf_string("ab%q", 4, &one, 1, &ctx);
    EXPECT_EQ(r.error().message, "format offset 2: unsupported conversion '%q'");
}

TEST_F(Helpers, TracePrintkStringOutsideDeclaredMemoryIsEmptyInCheckedMode) {
    checked();
    const char fmt[] = "[%s]";
    std::memcpy(stack, fmt, sizeof fmt);
    const char secret[] = "secret";
    call(6, u(stack), sizeof fmt, u(secret));
    EXPECT_EQ(env.trace_log, "[]\n");
}

TEST_F(Helpers, Snprintf) {
    const char fmt[] = "%d-%s-%llx";
    const char word[] = "ab";
    const uint64_t args[3] = {uint64_t(-3), u(word), 0xabcULL};
    char out[8];
    EXPECT_EQ(call(165, u(out), sizeof out, u(fmt), u(args), sizeof args), 10u);  // "-3-ab-abc" + NUL
    EXPECT_STREQ(out, "-3-ab-a");
    EXPECT_EQ(s(call(165, u(out), sizeof out, u(fmt), u(args), 12)), -EINVAL);  // not a multiple of 8
    EXPECT_EQ(s(call(165, u(out), sizeof out, u(fmt), u(args), 8)), -EINVAL);   // 3 conversions, 1 arg
}

TEST_F(Helpers, ProbeReadOnlyFromDeclaredMemory) {
    const uint8_t src[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t dst[8];
    std::memset(dst, 0xee, sizeof dst);
    for (uint32_t id : {4u, 112u, 113u}) {
        EXPECT_EQ(s(call(id, u(dst), 8, u(src))), -EFAULT) << id;
        EXPECT_EQ(dst[0] | dst[7], 0);  // zero-filled
    }
    EXPECT_EQ(s(call(4, u(dst), 8, 0x10)), -EFAULT);  // a wild address never faults the process
    env.readable.push_back({u(src), u(src) + 8, false});
    EXPECT_EQ(call(4, u(dst), 8, u(src)), 0u);
    EXPECT_EQ(std::memcmp(dst, src, 8), 0);
    EXPECT_EQ(s(call(4, u(dst), 8, u(src) + 1)), -EFAULT);  // runs past the region
}

TEST_F(Helpers, ProbeReadStr) {
    const char text[] = "abcdef";
    env.readable.push_back({u(text), u(text) + sizeof text, false});
    char dst[16];
    EXPECT_EQ(call(45, u(dst), sizeof dst, u(text)), 7u);
    EXPECT_STREQ(dst, "abcdef");
    EXPECT_EQ(call(115, u(dst), 4, u(text)), 4u);  // truncated, still terminated
    EXPECT_STREQ(dst, "abc");
    const char unterminated[4] = {'w', 'x', 'y', 'z'};
    env.readable.push_back({u(unterminated), u(unterminated) + 4, false});
    std::memset(dst, 0x55, sizeof dst);
    EXPECT_EQ(s(call(114, u(dst), sizeof dst, u(unterminated))), -EFAULT);
    EXPECT_EQ(dst[0] | dst[15], 0);
}

TEST_F(Helpers, TaskTimeRandomCpu) {
    env.task = {.pid = 11, .tgid = 22, .uid = 1000, .gid = 100, .comm = "a-very-long-command-name"};
    EXPECT_EQ(call(14), (uint64_t{22} << 32) | 11);
    EXPECT_EQ(call(15), (uint64_t{100} << 32) | 1000);
    char comm[20];
    std::memset(comm, 0x7f, sizeof comm);
    EXPECT_EQ(call(16, u(comm), sizeof comm), 0u);
    EXPECT_STREQ(comm, "a-very-long-com");
    EXPECT_EQ(comm[19], 0);
    env.fixed_time_ns = 123456789;
    EXPECT_EQ(call(5), 123456789u);
    EXPECT_EQ(call(125), 123456789u);
    EXPECT_EQ(call(160), 123456789u);
    env.fixed_time_ns.reset();
    const uint64_t t1 = call(5), t2 = call(5);
    EXPECT_LE(t1, t2);
    env.random_seed = 42;
    std::vector<uint64_t> a, b;
    for (int i = 0; i < 5; ++i) a.push_back(call(7));
    env.rng_state = 0;
    for (int i = 0; i < 5; ++i) b.push_back(call(7));
    EXPECT_EQ(a, b);
    for (uint64_t r : a) EXPECT_LE(r, 0xffffffffu);
    set_current_cpu(3);
    EXPECT_EQ(call(8), 3u);
    set_current_cpu(0);
}

TEST_F(Helpers, RingbufHelpers) {
    auto m = make(MapType::Ringbuf, 0, 0, 4096);
    checked();
    const uint64_t rec = call(131, u(m.get()), 8, 0);
    ASSERT_NE(rec, 0u);
    EXPECT_TRUE(ctx.region_allows(rec, 8, true));
    std::memcpy(reinterpret_cast<void*>(rec), "ABCDEFGH", 8);
    call(132, rec, 0);
    EXPECT_EQ(ctx.stop, 0u);
    const uint64_t rec2 = call(131, u(m.get()), 4, 0);
    call(133, rec2, 0);
    std::memcpy(stack, "xyz", 3);
    EXPECT_EQ(call(130, u(m.get()), u(stack), 3, 0), 0u);
    EXPECT_EQ(call(134, u(m.get()), kRbAvailData), 16u + 16u + 16u);
    auto recs = m->as_ringbuf()->drain();
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(std::string(recs[0].begin(), recs[0].end()), "ABCDEFGH");
    EXPECT_EQ(std::string(recs[1].begin(), recs[1].end()), "xyz");
    call(132, rec, 0);  // already submitted
    EXPECT_EQ(ctx.fault_message, "ringbuf_submit: " + detail_hex(rec) + " is not a reserved ringbuf record");
}

TEST_F(Helpers, PerfEventOutputCurrentCpu) {
    auto m = make(MapType::PerfEventArray, 4, 4, 4);
    set_current_cpu(2);
    const uint32_t data = 0x01020304;
    EXPECT_EQ(call(25, 0, u(m.get()), kFCurrentCpu, u(&data), 4), 0u);
    auto recs = m->as_perf_event_array()->drain();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].cpu, 2u);
    set_current_cpu(0);
}

// A fake engine: call_function forwards to a std::function stored in ctx.engine.
using Callback = std::function<uint64_t(uint64_t func, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4)>;
uint64_t fake_call(RunContext* ctx, uint64_t func, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t) {
    return (*static_cast<Callback*>(ctx->engine))(func, r1, r2, r3, r4);
}

TEST_F(Helpers, LoopCallsTheCallback) {
    std::vector<uint64_t> indices;
    Callback cb = [&](uint64_t func, uint64_t i, uint64_t cbctx, uint64_t, uint64_t) -> uint64_t {
        EXPECT_EQ(func, 17u);
        EXPECT_EQ(cbctx, 0xc0ffeeu);
        indices.push_back(i);
        return i == 4 ? 1 : 0;
    };
    ctx.call_function = fake_call;
    ctx.engine = &cb;
    EXPECT_EQ(call(181, 10, 17, 0xc0ffee, 0), 5u);
    EXPECT_EQ(indices, (std::vector<uint64_t>{0, 1, 2, 3, 4}));
    indices.clear();
    EXPECT_EQ(call(181, 3, 17, 0xc0ffee, 0), 3u);
    EXPECT_EQ(s(call(181, kMaxLoops + 1, 17, 0, 0)), -E2BIG);
    EXPECT_EQ(s(call(181, 1, 17, 0, 1)), -EINVAL);
    ctx.call_function = nullptr;
    call(181, 1, 17, 0, 0);
    EXPECT_EQ(ctx.fault_message, "loop: the engine cannot call BPF functions");
}

TEST_F(Helpers, LoopCallbacksMayUseTheCallersStackInCheckedMode) {
    checked();
    bool allowed = false;
    Callback cb = [&](uint64_t, uint64_t, uint64_t cbctx, uint64_t, uint64_t) -> uint64_t {
        allowed = ctx.region_allows(cbctx, 8, true);
        return 1;
    };
    ctx.call_function = fake_call;
    ctx.engine = &cb;
    EXPECT_EQ(call(181, 4, 0, u(stack + 16), 0), 1u);
    EXPECT_TRUE(allowed);
    EXPECT_TRUE(ctx.regions.empty());
}

TEST_F(Helpers, ForEachMapElemPassesKeyValueAndAllowsThemDuringTheCallback) {
    checked();
    auto m = make(MapType::Array, 4, 8, 3);
    for (uint32_t k = 0; k < 3; ++k) {
        uint64_t v = 10 * (k + 1);
        ASSERT_EQ(m->update_elem(&k, &v, kAny), 0);
    }
    uint64_t sum = 0;
    Callback cb = [&](uint64_t, uint64_t map, uint64_t key, uint64_t value, uint64_t cbctx) -> uint64_t {
        EXPECT_EQ(map, u(m.get()));
        EXPECT_EQ(cbctx, 5u);
        EXPECT_TRUE(ctx.region_allows(key, 4, false));
        EXPECT_TRUE(ctx.region_allows(value, 8, true));
        sum += *reinterpret_cast<uint64_t*>(value);
        return 0;
    };
    ctx.call_function = fake_call;
    ctx.engine = &cb;
    EXPECT_EQ(call(164, u(m.get()), 3, 5, 0), 3u);
    EXPECT_EQ(sum, 60u);
    EXPECT_TRUE(ctx.regions.empty());  // nothing leaks past the callbacks
    EXPECT_EQ(s(call(164, u(m.get()), 3, 5, 1)), -EINVAL);
}

TEST_F(Helpers, Strncmp) {
    const char a[] = "abcd";
    const char b[] = "abcz";
    EXPECT_EQ(call(182, u(a), 3, u(b)), 0u);
    EXPECT_EQ(s(call(182, u(a), 4, u(b))), -1);
    EXPECT_EQ(s(call(182, u(b), 4, u(a))), 1);
    const char shorter[] = "ab";
    EXPECT_EQ(s(call(182, u(a), 4, u(shorter))), 1);
}

TEST_F(Helpers, SpinLockUsesTheWordInTheValue) {
    alignas(8) uint32_t value[2] = {0, 0};
    EXPECT_EQ(call(93, u(&value[0])), 0u);
    EXPECT_EQ(value[0], 1u);
    call(93, u(&value[1]));
    EXPECT_EQ(ctx.fault_message, "spin_lock: this run already holds a lock at " + detail_hex(u(&value[0])));
    ctx.stop = 0;
    EXPECT_EQ(call(94, u(&value[0])), 0u);
    EXPECT_EQ(value[0], 0u);
    call(94, u(&value[0]));
    EXPECT_EQ(ctx.fault_message, "spin_unlock: lock at " + detail_hex(u(&value[0])) + " is not held by this run");
}

}  // namespace
}  // namespace bpfvm::maps::test
