/* The native floor of the call-overhead rows (bench_paths return0/): a function call that returns
 * 0, compiled apart so that the call cannot be inlined away. */
typedef unsigned long long u64;
typedef unsigned char u8;

u64 bench_native_return0(u8* data, u8* end) {
    (void)data;
    (void)end;
    return 0;
}
