// Helpers that do not touch maps: time, random numbers, CPU id, task information, probe_read*,
// strncmp, and the printf family (trace_printk, snprintf) with its format checker.
#include <ctime>
#include <random>

#include "helper_util.hpp"

namespace bpfvm::maps {

// ---------------------------------------------------------------------------------------------
// Formatting (bpf_trace_printk, bpf_snprintf)

Result<std::string> format_bpf_string(const char* fmt, size_t fmt_len, const uint64_t* args, size_t nargs,
                                      RunContext* ctx) {
    using detail::string_extent;
    auto at = [&](size_t k) -> char { return k < fmt_len ? fmt[k] : '\0'; };
    auto bad = [](size_t off, const std::string& what) {
        return make_error(ErrorCode::kInvalidArgument, "format offset " + std::to_string(off) + ": " + what);
    };
    std::string out;
    size_t argi = 0;
    char buf[64];
    for (size_t i = 0; at(i) != '\0'; ++i) {
        if (at(i) != '%') {
            out += at(i);
            continue;
        }
        const size_t start = i++;
        if (at(i) == '%') {
            out += '%';
            continue;
        }
        // Optional flags and width, as the kernel accepts them: [0+- ]* then [1-9][0-9]*.
        std::string spec = "%";
        while (at(i) == '0' || at(i) == '+' || at(i) == '-' || at(i) == ' ') spec += at(i++);
        if (at(i) >= '1' && at(i) <= '9') {
            while (at(i) >= '0' && at(i) <= '9') spec += at(i++);
            if (spec.size() > 8) return bad(start, "width too large");
        }
        if (at(i) == '\0') return bad(start, "format ends inside a conversion");
        if (argi >= nargs)
            return bad(start, "more conversions than arguments (" + std::to_string(nargs) + " available)");
        const uint64_t a = args[argi++];
        const char conv = at(i);
        if (conv == 'p') {
            if (at(i + 1) == 'x' || at(i + 1) == 'K') ++i;  // %px and %pK print the raw value
            std::snprintf(buf, sizeof buf, (spec + "llx").c_str(), static_cast<unsigned long long>(a));
            out += "0x";
            out += buf;
        } else if (conv == 's') {
            // The kernel copies the string with a fault-tolerant read and prints "" when it fails.
            std::string s;
            const uint64_t ext = string_extent(ctx, a, 1024);
            const auto* p = reinterpret_cast<const char*>(a);
            for (uint64_t k = 0; k < ext && p[k] != '\0'; ++k) s += p[k];
            std::string text(s.size() + 64, '\0');
            const int n = std::snprintf(text.data(), text.size(), (spec + "s").c_str(), s.c_str());
            out.append(text.data(), n < 0 ? 0 : std::min<size_t>(n, text.size() - 1));
        } else if (conv == 'c') {
            std::snprintf(buf, sizeof buf, (spec + "c").c_str(), static_cast<int>(static_cast<unsigned char>(a)));
            out += buf;
        } else {
            int longs = 0;
            while (at(i) == 'l' && longs < 2) {
                ++longs;
                ++i;
            }
            const char c = at(i);
            if (c != 'd' && c != 'i' && c != 'u' && c != 'x' && c != 'X')
                return bad(start, std::string("unsupported conversion '%") +
                                      (c == '\0' ? std::string() : std::string(1, c)) + "'");
            const bool is_signed = c == 'd' || c == 'i';
            if (longs == 0) {
                // Without 'l' the argument is a 32-bit int, as in the kernel's argument packing.
                if (is_signed)
                    std::snprintf(buf, sizeof buf, (spec + c).c_str(), static_cast<int>(static_cast<int32_t>(a)));
                else
                    std::snprintf(buf, sizeof buf, (spec + c).c_str(), static_cast<unsigned>(static_cast<uint32_t>(a)));
            } else {
                if (is_signed)
                    std::snprintf(buf, sizeof buf, (spec + "ll" + c).c_str(), static_cast<long long>(a));
                else
                    std::snprintf(buf, sizeof buf, (spec + "ll" + c).c_str(), static_cast<unsigned long long>(a));
            }
            out += buf;
        }
    }
    return out;
}

namespace detail {
namespace {

// ---------------------------------------------------------------------------------------------
// Time, random, CPU, task

uint64_t clock_ns(RunContext* ctx, clockid_t clock) {
    if (const HelperEnv* env = env_of(ctx); env != nullptr && env->fixed_time_ns) return *env->fixed_time_ns;
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t ktime_get_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    return clock_ns(ctx, CLOCK_MONOTONIC);
}
uint64_t ktime_get_boot_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    return clock_ns(ctx, CLOCK_BOOTTIME);
}
uint64_t ktime_get_coarse_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    return clock_ns(ctx, CLOCK_MONOTONIC_COARSE);
}
uint64_t ktime_get_tai_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    return clock_ns(ctx, CLOCK_TAI);
}

uint64_t next_random(uint64_t& state, uint64_t seed) {
    if (state == 0) state = seed != 0 ? (mix64(seed) | 1) : ((uint64_t{std::random_device{}()} << 32) | 1);
    // xorshift64*
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1dULL;
}

uint64_t get_prandom_u32(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    thread_local uint64_t t_state = 0;
    HelperEnv* env = env_of(ctx);
    const uint64_t r = env != nullptr ? next_random(env->rng_state, env->random_seed) : next_random(t_state, 0);
    return r >> 32;
}

uint64_t get_smp_processor_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) {
    return current_cpu();
}

uint64_t get_numa_node_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) { return 0; }

uint64_t get_current_pid_tgid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    const HelperEnv* env = env_of(ctx);
    return env == nullptr ? 0 : (uint64_t{env->task.tgid} << 32) | env->task.pid;
}

uint64_t get_current_uid_gid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    const HelperEnv* env = env_of(ctx);
    return env == nullptr ? 0 : (uint64_t{env->task.gid} << 32) | env->task.uid;
}

// bpf_get_current_comm(buf, size): the name (at most 15 bytes, like TASK_COMM_LEN - 1), NUL, and
// zero padding to `size`.
uint64_t get_current_comm(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, RunContext* ctx) {
    const auto size = static_cast<uint32_t>(r2);
    if (!ptr_ok(ctx, r1, size, true)) return bad_pointer(ctx, "get_current_comm", "r1 (buf)", r1, size);
    if (size == 0) return 0;
    const HelperEnv* env = env_of(ctx);
    const std::string comm = env == nullptr ? std::string() : env->task.comm.substr(0, 15);
    auto* dst = reinterpret_cast<char*>(r1);
    const size_t n = std::min<size_t>(comm.size(), size - 1);
    std::memcpy(dst, comm.data(), n);
    std::memset(dst + n, 0, size - n);
    return 0;
}

// ---------------------------------------------------------------------------------------------
// probe_read family: the source must be declared memory (regions, stack, HelperEnv::readable),
// in every mode; otherwise -EFAULT with the destination zeroed, as when the kernel's read faults.

uint64_t probe_read_impl(uint64_t dst, uint64_t size64, uint64_t src, RunContext* ctx, const char* name) {
    const auto size = static_cast<uint32_t>(size64);
    if (!ptr_ok(ctx, dst, size, true)) return bad_pointer(ctx, name, "r1 (dst)", dst, size);
    if (size == 0) return 0;
    if (src != 0 && declared_extent(ctx, src) >= size) {
        std::memmove(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), size);
        return 0;
    }
    std::memset(reinterpret_cast<void*>(dst), 0, size);
    return ret(-EFAULT);
}

uint64_t probe_read_str_impl(uint64_t dst, uint64_t size64, uint64_t src, RunContext* ctx, const char* name) {
    const auto size = static_cast<uint32_t>(size64);
    if (!ptr_ok(ctx, dst, size, true)) return bad_pointer(ctx, name, "r1 (dst)", dst, size);
    if (size == 0) return 0;
    auto* d = reinterpret_cast<char*>(dst);
    const auto* s = reinterpret_cast<const char*>(src);
    const uint64_t limit = std::min<uint64_t>(declared_extent(ctx, src), size);
    for (uint64_t k = 0; k < limit; ++k) {
        const char c = s[k];
        d[k] = c;
        if (c == '\0') return k + 1;
    }
    if (limit == size) {  // no NUL within size: truncated, still terminated
        d[size - 1] = '\0';
        return size;
    }
    std::memset(d, 0, size);
    return ret(-EFAULT);
}

#define BPFVM_PROBE_READ(fn, impl)                                                                    \
    uint64_t fn(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t, uint64_t, RunContext* ctx) {       \
        return impl(r1, r2, r3, ctx, #fn);                                                          \
    }
BPFVM_PROBE_READ(probe_read, probe_read_impl)
BPFVM_PROBE_READ(probe_read_kernel, probe_read_impl)
BPFVM_PROBE_READ(probe_read_user, probe_read_impl)
BPFVM_PROBE_READ(probe_read_str, probe_read_str_impl)
BPFVM_PROBE_READ(probe_read_kernel_str, probe_read_str_impl)
BPFVM_PROBE_READ(probe_read_user_str, probe_read_str_impl)
#undef BPFVM_PROBE_READ

// bpf_strncmp(s1, s1_sz, s2): -1, 0 or 1 like the kernel's strncmp.
uint64_t strncmp_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t, uint64_t, RunContext* ctx) {
    const auto n = static_cast<uint32_t>(r2);
    if (!ptr_ok(ctx, r1, n, false)) return bad_pointer(ctx, "strncmp", "r1 (s1)", r1, n);
    const uint64_t ext2 = string_extent(ctx, r3, n);
    const auto* a = reinterpret_cast<const unsigned char*>(r1);
    const auto* b = reinterpret_cast<const unsigned char*>(r3);
    for (uint32_t k = 0; k < n; ++k) {
        if (k >= ext2) return bad_pointer(ctx, "strncmp", "r3 (s2)", r3, k + 1);
        if (a[k] != b[k]) return a[k] < b[k] ? ret(-1) : 1;
        if (a[k] == '\0') return 0;
    }
    return 0;
}

// Reads a NUL-terminated format string the program passes; nullopt if it is not readable.
std::optional<std::string_view> format_arg(RunContext* ctx, uint64_t p, uint64_t max) {
    const uint64_t ext = string_extent(ctx, p, max);
    const auto* s = reinterpret_cast<const char*>(p);
    for (uint64_t k = 0; k < ext; ++k)
        if (s[k] == '\0') return std::string_view(s, k);
    return std::nullopt;
}

// bpf_trace_printk(fmt, fmt_size, a1, a2, a3): appends one line to HelperEnv::trace_log and
// returns its length.
uint64_t trace_printk(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, RunContext* ctx) {
    if (!ptr_ok(ctx, r1, r2, false)) return bad_pointer(ctx, "trace_printk", "r1 (fmt)", r1, r2);
    const auto fmt = format_arg(ctx, r1, r2);
    if (!fmt) return ret(-EINVAL);  // no NUL within fmt_size
    const uint64_t args[3] = {r3, r4, r5};
    auto text = format_bpf_string(fmt->data(), fmt->size(), args, 3, ctx);
    if (!text) return ret(-EINVAL);
    std::string& s = text.value();
    if (s.size() > 1023) s.resize(1023);
    if (HelperEnv* env = env_of(ctx)) {
        env->trace_log += s;
        if (s.empty() || s.back() != '\n') env->trace_log += '\n';
    }
    return s.size();
}

// bpf_snprintf(str, str_size, fmt, data, data_len): data is an array of u64 arguments (at most
// 12). Returns the length of the full text plus one (the NUL), even when truncated.
uint64_t snprintf_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, RunContext* ctx) {
    const auto size = static_cast<uint32_t>(r2);
    const auto data_len = static_cast<uint32_t>(r5);
    if (data_len % 8 != 0 || data_len / 8 > 12) return ret(-EINVAL);
    if (!ptr_ok(ctx, r1, size, true)) return bad_pointer(ctx, "snprintf", "r1 (str)", r1, size);
    if (!ptr_ok(ctx, r4, data_len, false)) return bad_pointer(ctx, "snprintf", "r4 (data)", r4, data_len);
    const auto fmt = format_arg(ctx, r3, 4096);
    if (!fmt) return ret(-EINVAL);
    uint64_t args[12] = {};
    if (data_len != 0) std::memcpy(args, reinterpret_cast<const void*>(r4), data_len);
    auto text = format_bpf_string(fmt->data(), fmt->size(), args, data_len / 8, ctx);
    if (!text) return ret(-EINVAL);
    if (size != 0) {
        const size_t n = std::min<size_t>(text->size(), size - 1);
        std::memcpy(reinterpret_cast<char*>(r1), text->data(), n);
        reinterpret_cast<char*>(r1)[n] = '\0';
    }
    return text->size() + 1;
}

}  // namespace

void register_misc_helpers(HelperTable& t) {
    t.set(HelperId::probe_read, probe_read);
    t.set(HelperId::ktime_get_ns, ktime_get_ns);
    t.set(HelperId::trace_printk, trace_printk);
    t.set(HelperId::get_prandom_u32, get_prandom_u32);
    t.set(HelperId::get_smp_processor_id, get_smp_processor_id);
    t.set(HelperId::get_current_pid_tgid, get_current_pid_tgid);
    t.set(HelperId::get_current_uid_gid, get_current_uid_gid);
    t.set(HelperId::get_current_comm, get_current_comm);
    t.set(HelperId::get_numa_node_id, get_numa_node_id);
    t.set(HelperId::probe_read_str, probe_read_str);
    t.set(HelperId::probe_read_user, probe_read_user);
    t.set(HelperId::probe_read_kernel, probe_read_kernel);
    t.set(HelperId::probe_read_user_str, probe_read_user_str);
    t.set(HelperId::probe_read_kernel_str, probe_read_kernel_str);
    t.set(HelperId::ktime_get_boot_ns, ktime_get_boot_ns);
    t.set(HelperId::ktime_get_coarse_ns, ktime_get_coarse_ns);
    t.set(HelperId::snprintf, snprintf_helper);
    t.set(HelperId::strncmp, strncmp_helper);
    t.set(HelperId::ktime_get_tai_ns, ktime_get_tai_ns);
}

}  // namespace detail

void register_helpers(HelperTable& table) {
    detail::register_map_helpers(table);
    detail::register_misc_helpers(table);
}

HelperTable standard_helpers() {
    HelperTable t;
    register_helpers(t);
    return t;
}

}  // namespace bpfvm::maps
