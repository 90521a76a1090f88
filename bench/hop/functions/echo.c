// SPDX-License-Identifier: Apache-2.0
/* Benchmark function: hands its input on untouched (zero copy). */
#include "ferry/ferry_fn.h"

int ferry_handle(struct ferry_call *call)
{
	uint32_t len;

	ferry_input(call, &len);
	return ferry_output_in_place(call, len);
}
