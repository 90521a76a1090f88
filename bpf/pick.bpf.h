/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * How a route chooses its target: the one arithmetic of ferry's selection,
 * included by the SK_MSG router and by the test program that runs it
 * through BPF_PROG_TEST_RUN (pick_test.bpf.c). The TypeScript routers (the
 * relay, the egress choosing a node) mirror it exactly in
 * control/node/router/pick.ts; the vectors in bpf/testdata/pick-vectors.txt
 * are checked against both (dataplane-native/test/test_pick.c, pick.test.ts).
 */
#ifndef FERRY_PICK_BPF_H
#define FERRY_PICK_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "ferry/abi.h"

/* Weighted pick: roll = rand % total_weight, then the first replica whose
 * running sum of weights exceeds the roll, so replica i is chosen with
 * probability weight[i] / total_weight (up to the modulo's bias, at most
 * total / 2^32). Returns 0 when the route is empty, disabled or
 * inconsistent (weights summing to less than total_weight); id 0 is never
 * a valid instance. */
static __always_inline __u32 ferry_pick(const struct ferry_route *rt, __u32 rand)
{
	__u32 count = rt->count, total = rt->total_weight;
	__u32 roll, acc = 0, i;

	if (count == 0 || total == 0)
		return 0;
	roll = rand % total;
	for (i = 0; i < FERRY_MAX_REPLICAS; i++) {
		if (i >= count)
			break;
		acc += rt->weight[i];
		if (roll < acc)
			return rt->instance[i];
	}
	return 0;
}

/* Consistent-hash pick: the owner of the first point at or after key,
 * wrapping to the first point. A binary search over at most
 * FERRY_RING_MAX points: 9 halvings reach any of 256. Returns 0 for an
 * empty or malformed ring. */
static __always_inline __u32 ferry_ring_pick(const struct ferry_ring *ring, __u32 key)
{
	__u32 count = ring->count, lo = 0, hi, mid, i;

	if (count == 0 || count > FERRY_RING_MAX)
		return 0;
	hi = count;
	for (i = 0; i < 9; i++) {
		if (lo >= hi)
			break;
		mid = (lo + hi) / 2;
		if (mid >= FERRY_RING_MAX)
			return 0;
		if (ring->point[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= count)
		lo = 0;
	if (lo >= FERRY_RING_MAX)
		return 0;
	return ring->instance[lo];
}

#endif /* FERRY_PICK_BPF_H */
