/* Test fixture: a program the kernel verifier rejects, to check that the rejection names the
 * instruction, the verifier's reason and the source line. */
#include "tools_common.h"

SEC("socket")
int reads_a_number_as_pointer(struct __sk_buff *skb)
{
    int *p = (int *)(long)skb->len;
    return *p; /* the verifier refuses: R1 invalid mem access 'scalar' */
}

char LICENSE[] SEC("license") = "GPL";
