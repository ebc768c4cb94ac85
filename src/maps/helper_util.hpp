// Argument checks shared by the helper implementations.
#pragma once

#include <cinttypes>
#include <cstdio>
#include <string>

#include "bpfvm/detail/helpers.hpp"
#include "map_internal.hpp"

namespace bpfvm::maps::detail {

/// A negative errno as the u64 a helper returns in r0.
inline uint64_t ret(long rc) { return static_cast<uint64_t>(static_cast<int64_t>(rc)); }

inline bool in_stack(const RunContext* ctx, uint64_t p, uint64_t size) {
    return p >= ctx->stack_begin && p + size <= ctx->stack_end && p + size >= p;
}

/// May the program hand [p, p+size) to a helper for reading (or writing)? Unchecked runs trust
/// the program (null excepted); checked runs require a region or the stack the engine declared.
inline bool ptr_ok(const RunContext* ctx, uint64_t p, uint64_t size, bool write) {
    if (p == 0) return size == 0;
    if (!ctx->checked || size == 0) return true;
    if (p + size < p) return false;
    return ctx->region_allows(p, size, write) || in_stack(ctx, p, size);
}

/// Bytes readable from `p` onwards inside one declared area (regions, stack, HelperEnv::readable),
/// whatever the mode: probe_read and %s rely on it to never touch undeclared memory.
inline uint64_t declared_extent(const RunContext* ctx, uint64_t p) {
    if (p == 0) return 0;
    uint64_t best = 0;
    for (const auto& r : ctx->regions)
        if (p >= r.begin && p < r.end) best = std::max(best, r.end - p);
    if (ctx->stack_end != 0 && p >= ctx->stack_begin && p < ctx->stack_end)
        best = std::max(best, ctx->stack_end - p);
    if (const HelperEnv* env = static_cast<const HelperEnv*>(ctx->env))
        for (const auto& r : env->readable)
            if (p >= r.begin && p < r.end) best = std::max(best, r.end - p);
    return best;
}

/// Bytes a helper may read from `p` for a string argument: the declared extent in checked mode;
/// in unchecked mode the program is trusted, up to `limit`.
inline uint64_t string_extent(const RunContext* ctx, uint64_t p, uint64_t limit) {
    if (p == 0) return 0;
    if (!ctx->checked) return limit;
    return std::min(declared_extent(ctx, p), limit);
}

inline std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
    return buf;
}

/// Faults the run for a bad pointer argument; returns 0 for the helper to return.
inline uint64_t bad_pointer(RunContext* ctx, const char* helper, const char* reg, uint64_t p, uint64_t size) {
    ctx->fault(std::string(helper) + ": " + reg + " = " + hex(p) + " (" + std::to_string(size) +
               " bytes) is outside the stack and every allowed region");
    return 0;
}

/// The Map behind a program's map argument, or nullptr after faulting the run.
inline Map* map_arg(RunContext* ctx, uint64_t r, const char* helper) {
    if (r == 0 || (ctx->checked && !is_live_map(reinterpret_cast<const void*>(r)))) {
        ctx->fault(std::string(helper) + ": " + hex(r) + " is not a map");
        return nullptr;
    }
    return reinterpret_cast<Map*>(r);
}

void register_map_helpers(HelperTable& table);
void register_misc_helpers(HelperTable& table);

}  // namespace bpfvm::maps::detail
