// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * The router's pick, alone, for BPF_PROG_TEST_RUN: a syscall program that
 * picks from the route (or ring) and random number (or key) userspace put
 * in `args` (a global: a map value, as the router's routes are, so the
 * verifier treats the pick's indexing exactly as in the router), and
 * returns the instance pick.bpf.h chose. The SK_MSG router cannot be test-run (the kernel has no
 * test_run for sk_msg), and its prandom cannot be fixed, so this is how the
 * exact arithmetic the kernel executes is compared with the TypeScript pick
 * (dataplane-native/test/test_pick.c). Never loaded by ferryd.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "ferry/abi.h"
#include "pick.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Must match struct pick_args in dataplane-native/test/test_pick.c;
 * written by it through the object's .bss map before every run. */
struct pick_args {
	__u32 use_ring; /* 0: ferry_pick(route, rand); 1: ferry_ring_pick(ring, key) */
	__u32 rand;
	__u32 key;
	__u32 pad;
	struct ferry_route route;
	struct ferry_ring ring;
};

struct pick_args args;

SEC("syscall")
int ferry_pick_test(void *ctx __attribute__((unused)))
{
	if (args.use_ring)
		return ferry_ring_pick(&args.ring, args.key);
	return ferry_pick(&args.route, args.rand);
}
