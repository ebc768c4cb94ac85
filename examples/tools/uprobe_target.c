/* The function uprobe_count.bpf.c counts: `uprobe_target N` calls bpfvm_traced_call N times (default
 * 1) and prints the sum, so the calls cannot be optimized away. Built for the host with the project.
 */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline, used)) int bpfvm_traced_call(int n)
{
    /* An empty asm keeps the body (and every call) from being folded into the caller. */
    __asm__ volatile("" : "+r"(n));
    return n + 1;
}

int main(int argc, char **argv)
{
    const int count = argc > 1 ? atoi(argv[1]) : 1;
    long sum = 0;
    for (int i = 0; i < count; ++i)
        sum += bpfvm_traced_call(i);
    printf("called bpfvm_traced_call %d times (sum %ld)\n", count, sum);
    return 0;
}
