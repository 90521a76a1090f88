// SPDX-License-Identifier: Apache-2.0
/*
 * Echo function of the hop benchmark (bench/hop/README.md), twin of
 * stamp-echo.ts. It hands its input back in place (zero copy) after proving,
 * at O(1) cost, that it read and wrote the pinger's very buffer for this very
 * request:
 *   - the pinger writes the low 32 bits of the request id, little-endian,
 *     into the payload's first 4 bytes before each send;
 *   - the echo fails the request unless it finds them there, then writes
 *     their complement into the payload's last 4 bytes;
 *   - the pinger checks that complement in its own buffer on the reply.
 * A copy anywhere on the way, a stale buffer or an echo that never looked
 * would fail the round trip. Touching only head and tail keeps the hop cost
 * independent of the payload size, which is what the benchmark measures.
 */
#include "ferry/ferry_fn.h"

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

int ferry_handle(struct ferry_call *call)
{
	uint32_t len, cap;
	uint32_t want = (uint32_t)ferry_request_id(call);
	uint8_t *p = ferry_input_mut(call, &cap);

	ferry_input(call, &len);
	if (len < 8)
		return ferry_fail(call, "stamp-echo: payload shorter than 8 bytes");
	if (get_le32(p) != want)
		return ferry_fail(call, "stamp-echo: the payload does not carry this request's stamp");
	put_le32(p + len - 4, ~want);
	return ferry_output_in_place(call, len);
}
