// SPDX-License-Identifier: Apache-2.0
#include "ferry/descriptor.h"

#include <string.h>

const char *ferry_reject_name(enum ferry_reject r)
{
	static const char *const names[FERRY_REJECT_MAX] = {
		[FERRY_REJECT_MAGIC] = "bad_magic",
		[FERRY_REJECT_VERSION] = "bad_version",
		[FERRY_REJECT_CHAIN] = "wrong_chain",
		[FERRY_REJECT_STAGE] = "wrong_stage",
		[FERRY_REJECT_OFFSET] = "bad_offset",
		[FERRY_REJECT_LENGTH] = "bad_length",
		[FERRY_REJECT_STALE] = "stale_buffer",
	};
	return (unsigned)r < FERRY_REJECT_MAX ? names[r] : "unknown";
}

void ferry_desc_init(struct ferry_desc *d, uint32_t chain_id, uint16_t stage,
		     uint64_t request_id, const struct ferry_buf *buf,
		     uint32_t length, uint32_t reply_to)
{
	memset(d, 0, sizeof(*d));
	d->magic = FERRY_DESC_MAGIC;
	d->version = FERRY_DESC_VERSION;
	d->chain_id = chain_id;
	d->stage = stage;
	d->request_id = request_id;
	d->offset = buf->offset;
	d->generation = buf->generation;
	d->length = length;
	d->reply_to = reply_to;
}

static int reject(struct ferry_reject_counts *counts, enum ferry_reject r)
{
	if (counts)
		counts->by_reason[r]++;
	return (int)r;
}

int ferry_desc_validate(const struct ferry_desc *d, uint32_t chain_id,
			uint16_t stage, const struct ferry_pool *pool,
			struct ferry_reject_counts *counts)
{
	int rc;

	if (d->magic != FERRY_DESC_MAGIC)
		return reject(counts, FERRY_REJECT_MAGIC);
	if (d->version != FERRY_DESC_VERSION)
		return reject(counts, FERRY_REJECT_VERSION);
	if (d->chain_id != chain_id)
		return reject(counts, FERRY_REJECT_CHAIN);
	if (d->stage != stage)
		return reject(counts, FERRY_REJECT_STAGE);
	if (!pool)
		return -1;
	rc = ferry_pool_check(pool, d->offset, d->generation, d->length);
	switch (rc) {
	case FERRY_EBAD_OFFSET:
		return reject(counts, FERRY_REJECT_OFFSET);
	case FERRY_EBAD_LENGTH:
		return reject(counts, FERRY_REJECT_LENGTH);
	case FERRY_ESTALE:
	case FERRY_EDOUBLE_FREE:
		return reject(counts, FERRY_REJECT_STALE);
	default:
		return rc < 0 ? reject(counts, FERRY_REJECT_OFFSET) : -1;
	}
}
