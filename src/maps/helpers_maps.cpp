// Map helpers: lookup/update/delete, push/pop/peek, percpu lookup, tail_call, ring buffer, perf
// event output, for_each_map_elem, bpf_loop and spin locks.
#include <chrono>

#include "helper_util.hpp"

namespace bpfvm::maps::detail {
namespace {

uint64_t map_lookup_elem(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    Map* m = map_arg(ctx, r1, "map_lookup_elem");
    if (m == nullptr) return 0;
    if (!ptr_ok(ctx, r2, m->key_size(), false) || r2 == 0)
        return bad_pointer(ctx, "map_lookup_elem", "r2 (key)", r2, m->key_size());
    void* p = m->lookup_elem(reinterpret_cast<const void*>(r2));
    // Unchecked runs declare no regions: one virtual call per lookup, not two.
    if (p != nullptr && ctx->checked && m->lookup_returns_memory())
        ctx->allow(p, m->elem_value_size(), (m->attr().flags & kFRdonlyProg) == 0);
    return reinterpret_cast<uint64_t>(p);
}

uint64_t map_lookup_percpu_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t, uint64_t, RunContext* ctx) {
    Map* m = map_arg(ctx, r1, "map_lookup_percpu_elem");
    if (m == nullptr) return 0;
    if (!ptr_ok(ctx, r2, m->key_size(), false) || r2 == 0)
        return bad_pointer(ctx, "map_lookup_percpu_elem", "r2 (key)", r2, m->key_size());
    void* p = m->lookup_percpu_elem(reinterpret_cast<const void*>(r2), static_cast<uint32_t>(r3));
    if (p != nullptr) ctx->allow(p, m->elem_value_size(), (m->attr().flags & kFRdonlyProg) == 0);
    return reinterpret_cast<uint64_t>(p);
}

uint64_t map_update_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t, RunContext* ctx) {
    Map* m = map_arg(ctx, r1, "map_update_elem");
    if (m == nullptr) return 0;
    if (!ptr_ok(ctx, r2, m->key_size(), false) || r2 == 0)
        return bad_pointer(ctx, "map_update_elem", "r2 (key)", r2, m->key_size());
    const uint32_t vsize = has_pointer_values(m->type()) ? 8 : m->value_size();
    if (!ptr_ok(ctx, r3, vsize, false) || r3 == 0) return bad_pointer(ctx, "map_update_elem", "r3 (value)", r3, vsize);
    return ret(m->update_elem(reinterpret_cast<const void*>(r2), reinterpret_cast<const void*>(r3), r4));
}

uint64_t map_delete_elem(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    Map* m = map_arg(ctx, r1, "map_delete_elem");
    if (m == nullptr) return 0;
    if (!ptr_ok(ctx, r2, m->key_size(), false) || r2 == 0)
        return bad_pointer(ctx, "map_delete_elem", "r2 (key)", r2, m->key_size());
    return ret(m->delete_elem(reinterpret_cast<const void*>(r2)));
}

uint64_t map_push_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t, uint64_t, RunContext* ctx) {
    Map* m = map_arg(ctx, r1, "map_push_elem");
    if (m == nullptr) return 0;
    if (!ptr_ok(ctx, r2, m->value_size(), false) || r2 == 0)
        return bad_pointer(ctx, "map_push_elem", "r2 (value)", r2, m->value_size());
    return ret(m->push_elem(reinterpret_cast<const void*>(r2), r3));
}

uint64_t map_pop_elem(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    Map* m = map_arg(ctx, r1, "map_pop_elem");
    if (m == nullptr) return 0;
    if (!ptr_ok(ctx, r2, m->value_size(), true) || r2 == 0)
        return bad_pointer(ctx, "map_pop_elem", "r2 (value)", r2, m->value_size());
    return ret(m->pop_elem(reinterpret_cast<void*>(r2)));
}

uint64_t map_peek_elem(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    Map* m = map_arg(ctx, r1, "map_peek_elem");
    if (m == nullptr) return 0;
    // A bloom filter reads the value it is asked about; queue and stack write the element out.
    const bool write = m->type() != MapType::BloomFilter;
    if (!ptr_ok(ctx, r2, m->value_size(), write) || r2 == 0)
        return bad_pointer(ctx, "map_peek_elem", "r2 (value)", r2, m->value_size());
    return ret(m->peek_elem(reinterpret_cast<void*>(r2)));
}

// bpf_tail_call(ctx, prog_array, index). Failure (index out of range, empty slot, too many tail
// calls in this run) returns a negative value and the program continues, as in the kernel.
uint64_t tail_call(uint64_t, uint64_t r2, uint64_t r3, uint64_t, uint64_t, RunContext* ctx) {
    Map* m = map_arg(ctx, r2, "tail_call");
    if (m == nullptr) return 0;
    if (m->type() != MapType::ProgArray) return ret(-EINVAL);
    const auto index = static_cast<uint32_t>(r3);
    if (index >= m->max_entries()) return ret(-E2BIG);
    HelperEnv* env = env_of(ctx);
    if (env == nullptr) return ret(-EINVAL);  // no place to count tail calls
    if (env->tail_calls >= env->max_tail_calls) return ret(-ELOOP);
    const void* prog = prog_array_get(*m, &index);
    if (prog == nullptr) return ret(-ENOENT);
    ++env->tail_calls;
    ctx->tail_call_target = prog;
    ctx->stop = RunContext::kStopTailCall;
    return 0;
}

RingBuf* ringbuf_arg(RunContext* ctx, uint64_t r, const char* helper) {
    Map* m = map_arg(ctx, r, helper);
    if (m == nullptr) return nullptr;
    RingBuf* rb = m->as_ringbuf();
    if (rb == nullptr) ctx->fault(std::string(helper) + ": map " + m->name() + " is not a ringbuf");
    return rb;
}

uint64_t ringbuf_output(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t, RunContext* ctx) {
    RingBuf* rb = ringbuf_arg(ctx, r1, "ringbuf_output");
    if (rb == nullptr) return 0;
    if (!ptr_ok(ctx, r2, r3, false)) return bad_pointer(ctx, "ringbuf_output", "r2 (data)", r2, r3);
    return ret(rb->output(reinterpret_cast<const void*>(r2), r3, r4));
}

uint64_t ringbuf_reserve(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t, uint64_t, RunContext* ctx) {
    RingBuf* rb = ringbuf_arg(ctx, r1, "ringbuf_reserve");
    if (rb == nullptr) return 0;
    void* p = rb->reserve(r2, r3);
    if (p != nullptr) ctx->allow(p, r2, true);
    return reinterpret_cast<uint64_t>(p);
}

uint64_t ringbuf_commit(uint64_t r1, uint64_t r2, RunContext* ctx, bool discard) {
    const char* name = discard ? "ringbuf_discard" : "ringbuf_submit";
    void* data = reinterpret_cast<void*>(r1);
    RingBuf* rb = ringbuf_containing(data);
    const bool ok = rb != nullptr && (discard ? rb->discard(data, r2) : rb->submit(data, r2));
    // The kernel's verifier guarantees a reserved record here; without it, refuse loudly in
    // checked mode and ignore the call otherwise.
    if (!ok && ctx->checked) ctx->fault(std::string(name) + ": " + hex(r1) + " is not a reserved ringbuf record");
    return 0;
}

uint64_t ringbuf_submit(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    return ringbuf_commit(r1, r2, ctx, false);
}

uint64_t ringbuf_discard(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    return ringbuf_commit(r1, r2, ctx, true);
}

uint64_t ringbuf_query(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    RingBuf* rb = ringbuf_arg(ctx, r1, "ringbuf_query");
    return rb == nullptr ? 0 : rb->query(r2);
}

// bpf_perf_event_output(ctx, map, flags, data, size).
uint64_t perf_event_output(uint64_t, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, RunContext* ctx) {
    Map* m = map_arg(ctx, r2, "perf_event_output");
    if (m == nullptr) return 0;
    PerfEventArray* pe = m->as_perf_event_array();
    if (pe == nullptr) return ret(-EINVAL);
    if (!ptr_ok(ctx, r4, r5, false)) return bad_pointer(ctx, "perf_event_output", "r4 (data)", r4, r5);
    return ret(pe->output(r3, reinterpret_cast<const void*>(r4), r5));
}

// Callbacks run on a stack of their own, but their context pointer usually points into the
// caller's stack (the kernel allows that): in checked mode the caller's stack becomes a region for
// the duration of the callbacks. Returns the region count to restore to, stack region included.
size_t open_caller_stack(RunContext* ctx) {
    if (ctx->checked && ctx->stack_end > ctx->stack_begin)
        ctx->regions.push_back({ctx->stack_begin, ctx->stack_end, true});
    return ctx->regions.size();
}

void close_caller_stack(RunContext* ctx, size_t base) {
    // Drop everything from the caller-stack region on (it is the last one before `base`).
    const size_t keep = (ctx->checked && ctx->stack_end > ctx->stack_begin && base > 0) ? base - 1 : base;
    if (ctx->regions.size() > keep) ctx->regions.resize(keep);
}

// bpf_for_each_map_elem(map, callback, callback_ctx, flags): callback(map, key, value, ctx),
// non-zero return stops. Returns the number of elements visited.
uint64_t for_each_map_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t, RunContext* ctx) {
    Map* m = map_arg(ctx, r1, "for_each_map_elem");
    if (m == nullptr) return 0;
    if (r4 != 0) return ret(-EINVAL);
    if (ctx->call_function == nullptr) {
        ctx->fault("for_each_map_elem: the engine cannot call BPF functions");
        return 0;
    }
    const size_t base = open_caller_stack(ctx);
    const bool writable = (m->attr().flags & kFRdonlyProg) == 0;
    const long n = m->for_each_elem([&](const void* key, void* value) -> uint64_t {
        ctx->allow(key, m->key_size(), false);
        ctx->allow(value, m->elem_value_size(), writable);
        const uint64_t r = ctx->call_function(ctx, r2, r1, reinterpret_cast<uint64_t>(key),
                                              reinterpret_cast<uint64_t>(value), r3, 0);
        // Pointers handed to one callback invocation are valid only during it.
        if (ctx->regions.size() > base) ctx->regions.resize(base);
        return ctx->stop != 0 ? 1 : r;
    });
    close_caller_stack(ctx, base);
    return ret(n);
}

// bpf_loop(nr_loops, callback, callback_ctx, flags): callback(index, ctx), 1 stops. Returns the
// number of iterations run.
uint64_t loop(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t, RunContext* ctx) {
    if (r4 != 0) return ret(-EINVAL);
    if (r1 > kMaxLoops) return ret(-E2BIG);
    if (ctx->call_function == nullptr) {
        ctx->fault("loop: the engine cannot call BPF functions");
        return 0;
    }
    const size_t base = open_caller_stack(ctx);
    uint64_t result = r1;
    for (uint64_t i = 0; i < r1; ++i) {
        const uint64_t r = ctx->call_function(ctx, r2, i, r3, 0, 0, 0);
        // Regions a callback obtained (map values) do not outlive it: keeps `regions` bounded.
        if (ctx->regions.size() > base) ctx->regions.resize(base);
        if (ctx->stop != 0) {
            result = 0;
            break;
        }
        if (r != 0) {
            result = i + 1;
            break;
        }
    }
    close_caller_stack(ctx, base);
    return result;
}

// bpf_spin_lock / bpf_spin_unlock on a struct bpf_spin_lock (a u32) inside a map value. A run
// holds at most one lock (the verifier's rule). A lock nobody releases (a run that ended while
// holding it) would hang the next taker forever: give up after a second and fault instead.
uint64_t spin_lock(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    if (!ptr_ok(ctx, r1, 4, true) || r1 == 0) return bad_pointer(ctx, "spin_lock", "r1 (lock)", r1, 4);
    if (r1 % 4 != 0) {
        ctx->fault("spin_lock: lock at " + hex(r1) + " is not 4-byte aligned");
        return 0;
    }
    HelperEnv* env = env_of(ctx);
    if (env != nullptr && env->held_lock != nullptr) {
        ctx->fault("spin_lock: this run already holds a lock at " + hex(reinterpret_cast<uint64_t>(env->held_lock)));
        return 0;
    }
    std::atomic_ref<uint32_t> word(*reinterpret_cast<uint32_t*>(r1));
    const auto start = std::chrono::steady_clock::now();
    for (uint64_t spins = 0;; ++spins) {
        if (word.load(std::memory_order_relaxed) == 0 && word.exchange(1, std::memory_order_acquire) == 0) break;
        if (spins < 64) {
            cpu_relax();
            continue;
        }
        std::this_thread::yield();
        if ((spins & 1023) == 0 && std::chrono::steady_clock::now() - start > std::chrono::seconds(1)) {
            ctx->fault("spin_lock: lock at " + hex(r1) + " not released for 1 s (deadlock)");
            return 0;
        }
    }
    if (env != nullptr) env->held_lock = reinterpret_cast<void*>(r1);
    return 0;
}

uint64_t spin_unlock(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    if (!ptr_ok(ctx, r1, 4, true) || r1 == 0) return bad_pointer(ctx, "spin_unlock", "r1 (lock)", r1, 4);
    if (r1 % 4 != 0) {
        ctx->fault("spin_unlock: lock at " + hex(r1) + " is not 4-byte aligned");
        return 0;
    }
    HelperEnv* env = env_of(ctx);
    if (env != nullptr) {
        if (env->held_lock != reinterpret_cast<void*>(r1)) {
            ctx->fault("spin_unlock: lock at " + hex(r1) + " is not held by this run");
            return 0;
        }
        env->held_lock = nullptr;
    }
    std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(r1)).store(0, std::memory_order_release);
    return 0;
}

}  // namespace

void register_map_helpers(HelperTable& t) {
    t.set(HelperId::map_lookup_elem, map_lookup_elem);
    t.set(HelperId::map_update_elem, map_update_elem);
    t.set(HelperId::map_delete_elem, map_delete_elem);
    t.set(HelperId::tail_call, tail_call);
    t.set(HelperId::perf_event_output, perf_event_output);
    t.set(HelperId::map_push_elem, map_push_elem);
    t.set(HelperId::map_pop_elem, map_pop_elem);
    t.set(HelperId::map_peek_elem, map_peek_elem);
    t.set(HelperId::spin_lock, spin_lock);
    t.set(HelperId::spin_unlock, spin_unlock);
    t.set(HelperId::ringbuf_output, ringbuf_output);
    t.set(HelperId::ringbuf_reserve, ringbuf_reserve);
    t.set(HelperId::ringbuf_submit, ringbuf_submit);
    t.set(HelperId::ringbuf_discard, ringbuf_discard);
    t.set(HelperId::ringbuf_query, ringbuf_query);
    t.set(HelperId::for_each_map_elem, for_each_map_elem);
    t.set(HelperId::loop, loop);
    t.set(HelperId::map_lookup_percpu_elem, map_lookup_percpu_elem);
}

}  // namespace bpfvm::maps::detail
