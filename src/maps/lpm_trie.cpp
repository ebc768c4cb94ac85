// lpm_trie: longest-prefix-match map. Keys are a u32 prefix length (host order, as in struct
// bpf_lpm_trie_key) followed by key_size - 4 data bytes compared most significant bit first.
//
// Storage is an ordered index of (prefix length, masked data) -> element instead of the kernel's
// bit trie: a lookup probes the prefix lengths present, longest first, which is exact and cheap for
// the prefix-length counts real tables have (<= 33 for IPv4, <= 129 for IPv6). Elements live in a
// BlockPool (stable addresses, memory kept after delete). get_next_key walks the index: longer
// prefixes first, then data in ascending byte order, so more specific entries come before the
// prefixes that contain them (the property the kernel's post-order walk provides).
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "map_internal.hpp"

namespace bpfvm::maps::detail {
namespace {

class LpmTrie final : public Map {
public:
    explicit LpmTrie(const MapAttr& attr)
        : Map(attr),
          data_len_(attr.key_size - 4),
          max_bits_(data_len_ * 8),
          key_stride_(round_up8(attr.key_size)),
          pool_(key_stride_ + attr.value_size, attr.max_entries),
          plen_count_(max_bits_ + 1, 0) {}

    void* lookup_elem(const void* key) override {
        const uint32_t limit = std::min(load_u32(key), max_bits_);
        const auto* data = static_cast<const uint8_t*>(key) + 4;
        std::string ik(4 + data_len_, '\0');
        std::shared_lock lock(mu_);
        for (uint32_t p = limit + 1; p-- > 0;) {
            if (plen_count_[p] == 0) continue;
            make_index_key(p, data, ik);
            auto it = index_.find(ik);
            if (it != index_.end()) return it->second + key_stride_;
        }
        return nullptr;
    }

    long update_elem(const void* key, const void* value, uint64_t flags) override {
        if (flags > kExist) return -EINVAL;
        const uint32_t plen = load_u32(key);
        if (plen > max_bits_) return -EINVAL;
        std::string ik(4 + data_len_, '\0');
        make_index_key(plen, static_cast<const uint8_t*>(key) + 4, ik);
        std::unique_lock lock(mu_);
        auto it = index_.find(ik);
        if (it != index_.end()) {
            if (flags == kNoExist) return -EEXIST;
            std::memcpy(it->second + key_stride_, value, attr_.value_size);
            return 0;
        }
        if (flags == kExist) return -ENOENT;
        if (index_.size() >= attr_.max_entries) return -ENOSPC;
        uint8_t* block = pool_.alloc();
        if (block == nullptr) return -ENOSPC;
        // The stored key is the masked key: get_next_key returns it.
        std::memcpy(block, &plen, 4);
        std::memcpy(block + 4, ik.data() + 4, data_len_);
        std::memcpy(block + key_stride_, value, attr_.value_size);
        index_.emplace(std::move(ik), block);
        ++plen_count_[plen];
        return 0;
    }

    long delete_elem(const void* key) override {
        const uint32_t plen = load_u32(key);
        if (plen > max_bits_) return -EINVAL;
        std::string ik(4 + data_len_, '\0');
        make_index_key(plen, static_cast<const uint8_t*>(key) + 4, ik);
        uint8_t* block = nullptr;
        {
            std::unique_lock lock(mu_);
            auto it = index_.find(ik);
            if (it == index_.end()) return -ENOENT;
            block = it->second;
            index_.erase(it);
            --plen_count_[plen];
        }
        pool_.free(block);
        return 0;
    }

    long sys_lookup(const void* key, void* value) override {
        std::shared_lock lock(mu_);
        const uint32_t limit = std::min(load_u32(key), max_bits_);
        const auto* data = static_cast<const uint8_t*>(key) + 4;
        std::string ik(4 + data_len_, '\0');
        for (uint32_t p = limit + 1; p-- > 0;) {
            if (plen_count_[p] == 0) continue;
            make_index_key(p, data, ik);
            auto it = index_.find(ik);
            if (it != index_.end()) {
                std::memcpy(value, it->second + key_stride_, attr_.value_size);
                return 0;
            }
        }
        return -ENOENT;
    }

    long get_next_key(const void* key, void* next_key) override {
        std::shared_lock lock(mu_);
        auto it = index_.begin();
        if (key != nullptr && load_u32(key) <= max_bits_) {
            std::string ik(4 + data_len_, '\0');
            make_index_key(load_u32(key), static_cast<const uint8_t*>(key) + 4, ik);
            auto found = index_.find(ik);
            if (found != index_.end()) it = std::next(found);
        }
        if (it == index_.end()) return -ENOENT;
        std::memcpy(next_key, it->second, attr_.key_size);
        return 0;
    }

private:
    // Index key: big-endian (max_bits - plen), so longer prefixes sort first, then the data with
    // every bit past the prefix cleared.
    void make_index_key(uint32_t plen, const uint8_t* data, std::string& out) const {
        const uint32_t inv = max_bits_ - plen;
        out[0] = static_cast<char>(inv >> 24);
        out[1] = static_cast<char>(inv >> 16);
        out[2] = static_cast<char>(inv >> 8);
        out[3] = static_cast<char>(inv);
        for (uint32_t i = 0; i < data_len_; ++i) {
            const uint32_t bit0 = i * 8;
            uint8_t byte = 0;
            if (bit0 + 8 <= plen)
                byte = data[i];
            else if (bit0 < plen)
                byte = static_cast<uint8_t>(data[i] & (0xff << (8 - (plen - bit0))));
            out[4 + i] = static_cast<char>(byte);
        }
    }

    const uint32_t data_len_;
    const uint32_t max_bits_;
    const uint64_t key_stride_;
    BlockPool pool_;
    std::shared_mutex mu_;
    std::map<std::string, uint8_t*> index_;
    std::vector<uint32_t> plen_count_;
};

}  // namespace

Result<std::unique_ptr<Map>> create_lpm_trie(const MapAttr& attr) {
    if (attr.key_size < 5 || attr.key_size > 4 + 256)
        return map_error(attr, "key_size must be 5..260 (u32 prefixlen + 1..256 data bytes), got " +
                                   std::to_string(attr.key_size));
    if (attr.value_size == 0) return map_error(attr, "value_size must not be 0");
    if (attr.value_size > (1u << 22)) return map_error(attr, "value_size is too large");
    if (attr.max_entries == 0) return map_error(attr, "max_entries must not be 0");
    if (!(attr.flags & kFNoPrealloc)) return map_error(attr, "BPF_F_NO_PREALLOC is required");
    if (attr.flags & ~(kFNoPrealloc | kFNumaNode | kFRdonly | kFWronly | kFRdonlyProg | kFWronlyProg))
        return map_error(attr, "map_flags not allowed for lpm_trie");
    return std::unique_ptr<Map>(new LpmTrie(attr));
}

}  // namespace bpfvm::maps::detail
