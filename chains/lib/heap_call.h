/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ferry C ABI (ferry/ferry_fn.h) over malloc'ed buffers, with
 * ferry-runner's semantics, for running a `runtime: native` function
 * outside ferry: chains/native_harness.c (tests, fuzzing) and the chain
 * suites' baselines (bench/chains/host/native, an N-API addon) both use it.
 *
 *   - default output: the input, unchanged;
 *   - in-place output bounded by the input buffer's capacity (a pool size
 *     class: ferry_heap_capacity);
 *   - ferry_output_alloc up to fn->max_alloc bytes;
 *   - ferry_next only to a stage of fn->next;
 *   - any error fails the call; ferry_fail after ferry_respond wins.
 */
#ifndef FERRY_HEAP_CALL_H
#define FERRY_HEAP_CALL_H

#include <stdint.h>

#include "ferry/answer.h"
#include "ferry/ferry_fn.h"

/* The function a call runs as: its stage and where it may hand on. */
struct ferry_heap_fn {
	const char *stage_name;
	const char *const *next;
	int n_next;
	uint32_t max_alloc;
};

struct ferry_call {
	const struct ferry_heap_fn *fn;
	uint8_t *in;
	uint32_t len, cap;
	uint8_t *out;
	uint32_t out_cap;
	int has_out;
	uint32_t out_len;
	int in_place;
	int next_index;
	uint64_t request_id;
	char error[256];
	struct ferry_answer answer; /* ferry_respond / ferry_fail_status, as in ferry-runner */
};

/* The buffer a request of len bytes gets in ferry's pool: the next power
 * of two from 4 KiB (the in-place output's capacity). */
uint32_t ferry_heap_capacity(uint32_t len);

/* One call of handle on a copy of req in a buffer of capacity bytes (at
 * least len): 0 ok, 1 failed (c->error says why; c->answer.error for
 * ferry_fail_status). The call keeps its buffers until ferry_heap_free. */
int ferry_heap_call(ferry_handle_fn handle, const struct ferry_heap_fn *fn, struct ferry_call *c, const uint8_t *req,
		    uint32_t len, uint32_t capacity, uint64_t request_id);

/* The output's bytes (c->out_len of them), and whether they are the input
 * buffer's. */
const uint8_t *ferry_heap_output(const struct ferry_call *c);
int ferry_heap_in_place(const struct ferry_call *c);

void ferry_heap_free(struct ferry_call *c);

#endif /* FERRY_HEAP_CALL_H */
