/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Latency histogram buckets, identical to control/metrics/histogram.ts so a
 * histogram recorded by the native runner merges with one recorded in Node
 * or by the gateway: microseconds, a bucket each below 16 us, then every
 * power of two cut into 8 buckets, up to 2^36 us.
 */
#ifndef FERRY_HIST_H
#define FERRY_HIST_H

#include <stdint.h>
#include "abi.h"

#define FERRY_HIST_EXACT       16u
#define FERRY_HIST_EXACT_BITS  4u
#define FERRY_HIST_SUB_BITS    3u
#define FERRY_HIST_SUB_BUCKETS (1u << FERRY_HIST_SUB_BITS)
#define FERRY_HIST_MAX_POWER   36u
#ifdef __cplusplus
#define FERRY_HIST_STATIC_ASSERT static_assert
#else
#define FERRY_HIST_STATIC_ASSERT _Static_assert
#endif
FERRY_HIST_STATIC_ASSERT(FERRY_HIST_BUCKETS ==
				 FERRY_HIST_EXACT + (FERRY_HIST_MAX_POWER - FERRY_HIST_EXACT_BITS + 1) * FERRY_HIST_SUB_BUCKETS,
			 "abi.h's FERRY_HIST_BUCKETS must match the bucket layout");

static inline uint32_t ferry_hist_bucket(uint64_t us)
{
	uint32_t power;

	if (us < FERRY_HIST_EXACT)
		return (uint32_t)us;
	power = 63u - (uint32_t)__builtin_clzll(us);
	if (power > FERRY_HIST_MAX_POWER)
		return FERRY_HIST_BUCKETS - 1;
	return FERRY_HIST_EXACT + (power - FERRY_HIST_EXACT_BITS) * FERRY_HIST_SUB_BUCKETS +
	       (uint32_t)((us >> (power - FERRY_HIST_SUB_BITS)) & (FERRY_HIST_SUB_BUCKETS - 1));
}

#endif /* FERRY_HIST_H */
