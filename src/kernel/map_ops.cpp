// Reading a whole kernel map: BPF_MAP_LOOKUP_BATCH where the map type implements it (hash and array
// families), element by element otherwise. Batches go through a bounded buffer, so a map with
// millions of entries does not need one allocation of its full size.
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bpfvm/kernel.hpp"
#include "kernel_internal.hpp"

namespace bpfvm::kernel {

using detail::ptr_to_u64;
using detail::sys_bpf;

namespace {

using Entries = std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>>;

constexpr uint32_t kBatchEntries = 1024;

bool is_percpu(MapType type) {
    return type == MapType::PercpuHash || type == MapType::PercpuArray || type == MapType::LruPercpuHash ||
           type == MapType::PercpuCgroupStorage;
}

/// Batch lookup. Returns false (with `out` untouched) when the map type has no batch operation, so
/// that the caller falls back to element-wise reads.
Result<bool> read_batched(int map_fd, const MapLayout& layout, Entries& out) {
    const uint32_t chunk = std::max<uint32_t>(1, std::min(kBatchEntries, std::max<uint32_t>(layout.max_entries, 1)));
    std::vector<uint8_t> keys(size_t{chunk} * layout.key_size);
    std::vector<uint8_t> values(size_t{chunk} * layout.value_size);
    // The batch token is opaque: a bucket index for hash maps, the last key for the generic
    // (array) implementation; a key-sized buffer of at least 8 bytes holds either.
    std::vector<uint8_t> in_token(std::max<uint32_t>(8, layout.key_size)), out_token(in_token.size());
    bool first = true;
    Entries got;
    for (uint64_t guard = 0; guard <= uint64_t{layout.max_entries} + 1; ++guard) {
        union bpf_attr attr;
        std::memset(&attr, 0, sizeof(attr));
        attr.batch.map_fd = static_cast<uint32_t>(map_fd);
        attr.batch.in_batch = first ? 0 : ptr_to_u64(in_token.data());
        attr.batch.out_batch = ptr_to_u64(out_token.data());
        attr.batch.keys = ptr_to_u64(keys.data());
        attr.batch.values = ptr_to_u64(values.data());
        attr.batch.count = chunk;
        const long rc = sys_bpf(BPF_MAP_LOOKUP_BATCH, &attr, sizeof(attr));
        const int err = rc < 0 ? errno : 0;
        if (rc < 0 && err != ENOENT) {
            // No batch op for this type, or (ENOSPC) a hash bucket larger than the chunk.
            if (err == ENOSPC || (first && (err == EINVAL || err == EOPNOTSUPP || err == detail::ENOTSUPP_KERNEL)))
                return false;
            return detail::syscall_error("BPF_MAP_LOOKUP_BATCH", "", err);
        }
        for (uint32_t i = 0; i < attr.batch.count && i < chunk; ++i) {
            const uint8_t* k = keys.data() + size_t{i} * layout.key_size;
            const uint8_t* v = values.data() + size_t{i} * layout.value_size;
            got.emplace_back(std::vector<uint8_t>(k, k + layout.key_size),
                             std::vector<uint8_t>(v, v + layout.value_size));
        }
        if (err == ENOENT) break;  // the last batch
        in_token = out_token;
        first = false;
    }
    out = std::move(got);
    return true;
}

Result<Entries> read_elementwise(int map_fd, const MapLayout& layout) {
    Entries out;
    std::vector<uint8_t> key;
    for (uint64_t n = 0; n <= uint64_t{layout.max_entries} + 1; ++n) {
        auto next = next_key(map_fd, key, layout.key_size);
        if (!next) return next.error();
        if (!next->has_value()) break;
        key = std::move(**next);
        auto value = lookup_elem(map_fd, key, layout.value_size);
        if (!value) return value.error();
        if (value->has_value()) out.emplace_back(key, std::move(**value));  // deleted meanwhile: skipped
    }
    return out;
}

}  // namespace

uint32_t syscall_value_size(MapType type, uint32_t value_size) {
    if (!is_percpu(type)) return value_size;
    return ((value_size + 7) / 8 * 8) * detail::possible_cpus();
}

Result<Entries> read_map(int map_fd, const MapLayout& layout) {
    if (layout.key_size == 0)
        return make_error(ErrorCode::kUnsupported, "a map without keys cannot be read element by element");
    Entries out;
    auto batched = read_batched(map_fd, layout, out);
    if (!batched) return batched.error();
    if (*batched) return out;
    return read_elementwise(map_fd, layout);
}

}  // namespace bpfvm::kernel
