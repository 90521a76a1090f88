/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writing a native stage's JSON output with minijson's struct mj_out, the
 * two ways the ferry C ABI allows:
 *
 *   - out_begin() / out_commit(): build the output straight in a fresh pool
 *     buffer (for outputs that grow with the input);
 *   - out_send(): a small reply built elsewhere (on the stack) goes back
 *     into the input buffer when that has room (no new pool buffer, zero
 *     copy on the way on), into a fresh one otherwise.
 *
 * An mj_out that overflowed fails the request instead of sending a
 * truncated body.
 */
#ifndef FERRY_CHAINS_OUTPUT_H
#define FERRY_CHAINS_OUTPUT_H

#include <string.h>

#include "ferry/ferry_fn.h"
#include "minijson.h"

/* -1 when the pool has no buffer of cap bytes (the runner says why). */
static inline int out_begin(struct ferry_call *call, struct mj_out *o, uint32_t cap)
{
	uint8_t *buf = ferry_output_alloc(call, cap);

	if (!buf)
		return -1;
	*o = (struct mj_out){ (char *)buf, 0, cap, 0 };
	return 0;
}

static inline int out_commit(struct ferry_call *call, const struct mj_out *o)
{
	if (o->overflow)
		return ferry_fail(call, "internal error: output larger than expected");
	return ferry_output_commit(call, (uint32_t)o->len);
}

static inline int out_send(struct ferry_call *call, const struct mj_out *o)
{
	uint32_t cap;
	uint8_t *io;
	struct mj_out fresh;

	if (o->overflow)
		return ferry_fail(call, "internal error: output larger than expected");
	io = ferry_input_mut(call, &cap);
	if (io && cap >= o->len) {
		memmove(io, o->p, o->len);
		return ferry_output_in_place(call, (uint32_t)o->len);
	}
	if (out_begin(call, &fresh, (uint32_t)o->len))
		return -1;
	mj_raw(&fresh, o->p, o->len);
	return out_commit(call, &fresh);
}

#endif /* FERRY_CHAINS_OUTPUT_H */
