/* Test fixture for the metrics tests: maps shaped like ebpf_exporter's, filled by the tests from
 * user space (the program is loaded but never attached, so the values stay exactly as written).
 *   errors_total       hash  u64 errno -> count          (counter; labels uint, errno)
 *   by_comm_total      hash  char[16] -> count           (counter; label string)
 *   latency_seconds    array slot 0..8 -> count, 9: sum  (histogram exp2, bucket_min 0, bucket_max 8)
 *   sizes_bytes        hash  {u32 dev, u32 bucket} -> n  (histogram linear, labels dev + bucket)
 */
#include "tools_common.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u64);
    __type(value, __u64);
} errors_total SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, char[TASK_COMM_LEN]);
    __type(value, __u64);
} by_comm_total SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 10);
    __type(key, __u32);
    __type(value, __u64);
} latency_seconds SEC(".maps");

struct size_key {
    __u32 dev;
    __u32 bucket;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, struct size_key);
    __type(value, __u64);
} sizes_bytes SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int touch_maps(void *ctx)
{
    __u64 err = 0;
    map_add(&errors_total, &err, 1);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
