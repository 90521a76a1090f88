/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Building and validating descriptors (struct ferry_desc in abi.h).
 *
 * The router in the kernel already checked magic, version, chain and the
 * allow-list, but a receiver validates every field again: in fallback mode
 * there is no router, and a receiver must never trust bytes another process
 * wrote. Rejects are counted by reason in the receiver's own table.
 */
#ifndef FERRY_DESCRIPTOR_H
#define FERRY_DESCRIPTOR_H

#include <stdint.h>
#include "abi.h"
#include "pool.h"

#ifdef __cplusplus
static_assert(sizeof(struct ferry_desc) == FERRY_DESC_SIZE, "descriptor size is ABI");
#else
_Static_assert(sizeof(struct ferry_desc) == FERRY_DESC_SIZE, "descriptor size is ABI");
#endif

/* Why a receiver rejected a descriptor. */
enum ferry_reject {
	FERRY_REJECT_MAGIC = 0,   /* not a ferry descriptor */
	FERRY_REJECT_VERSION,     /* a version this receiver does not speak */
	FERRY_REJECT_CHAIN,       /* addressed to another chain */
	FERRY_REJECT_STAGE,       /* addressed to another stage */
	FERRY_REJECT_OFFSET,      /* offset outside the pool / not a buffer start */
	FERRY_REJECT_LENGTH,      /* length beyond the buffer */
	FERRY_REJECT_STALE,       /* generation differs or buffer already free */
	FERRY_REJECT_MAX,
};

struct ferry_reject_counts {
	uint64_t by_reason[FERRY_REJECT_MAX];
};

const char *ferry_reject_name(enum ferry_reject r);

void ferry_desc_init(struct ferry_desc *d, uint32_t chain_id, uint16_t stage,
		     uint64_t request_id, const struct ferry_buf *buf,
		     uint32_t length, uint32_t reply_to);

/*
 * Validate d as received by (chain_id, stage); with a pool, also check the
 * buffer it names. Returns -1 when valid, or the enum ferry_reject reason
 * (also counted in counts when given).
 */
int ferry_desc_validate(const struct ferry_desc *d, uint32_t chain_id,
			uint16_t stage, const struct ferry_pool *pool,
			struct ferry_reject_counts *counts);

#endif /* FERRY_DESCRIPTOR_H */
