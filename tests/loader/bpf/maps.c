// Legacy and BTF-defined maps, map-in-map, and global data (.data, .rodata, .bss).
#include "mini.h"

char _license[] SEC("license") = "GPL";

struct bpf_map_def SEC("maps") legacy_hash = {
    .type = MAP_HASH, .key_size = 4, .value_size = 8, .max_entries = 64, .map_flags = 1,
};

struct bpf_map_def SEC("maps") legacy_array = {
    .type = MAP_ARRAY, .key_size = 4, .value_size = 16, .max_entries = 4,
};

struct value_t {
    __u64 packets;
    __u64 bytes;
    __u32 flags;
};

struct {
    __uint(type, MAP_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, struct value_t);
} btf_hash SEC(".maps");

struct inner_t {
    __uint(type, MAP_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u64);
};

struct inner_t inner_a SEC(".maps");

struct {
    __uint(type, MAP_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct inner_t);
} outer SEC(".maps") = {
    .values = {[1] = &inner_a},
};

int counter = 7;
const volatile int limit = 100;
__u64 zeroed[4];

SEC("socket")
int use_maps(void *ctx) {
    __u32 key = 1;
    __u64 *v = bpf_map_lookup_elem(&legacy_hash, &key);
    struct value_t *w = bpf_map_lookup_elem(&btf_hash, &key);
    void *a = bpf_map_lookup_elem(&legacy_array, &key);
    void *inner = bpf_map_lookup_elem(&outer, &key);
    counter++;
    zeroed[2] = limit;
    return (v != 0) + (w != 0) + (a != 0) + (inner != 0) + counter;
}
