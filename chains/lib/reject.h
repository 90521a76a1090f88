/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Refusing a request the caller got wrong, the same way in every native
 * stage of the examples (node stages: lib/request.ts), so the caller gets a
 * 4xx that says what to fix instead of a 500:
 *
 *   reject_json():  400 badJson  - not JSON, or not the JSON object expected;
 *   reject_field(): 422 badField - a member missing, of the wrong type or
 *                                  out of range;
 *   ferry_fail_status() directly for a more specific code (noPlate, ...).
 *
 * A stage's own failures (input the previous stage should never have sent,
 * the pool) stay ferry_fail(): a 500, because the caller cannot fix them.
 */
#ifndef FERRY_CHAINS_REJECT_H
#define FERRY_CHAINS_REJECT_H

#include "ferry/ferry_fn.h"

static inline int reject_json(struct ferry_call *call, const char *why)
{
	return ferry_fail_status(call, 400, "badJson", why);
}

static inline int reject_field(struct ferry_call *call, const char *why)
{
	return ferry_fail_status(call, 422, "badField", why);
}

#endif /* FERRY_CHAINS_REJECT_H */
