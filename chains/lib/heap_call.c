// SPDX-License-Identifier: Apache-2.0
/* The ferry C ABI over malloc'ed buffers: see heap_call.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap_call.h"

/* Exported whatever the build's default visibility: the function's shared
 * object, loaded after us, resolves these by name. */
#define FERRY_API __attribute__((visibility("default")))

FERRY_API const uint8_t *ferry_input(const struct ferry_call *c, uint32_t *len)
{
	*len = c->len;
	return c->in;
}

FERRY_API uint8_t *ferry_input_mut(struct ferry_call *c, uint32_t *capacity)
{
	*capacity = c->cap;
	return c->in;
}

FERRY_API int ferry_output_in_place(struct ferry_call *c, uint32_t len)
{
	if (len > c->cap)
		return ferry_fail(c, "output longer than the input buffer's capacity");
	c->in_place = 1;
	c->out_len = len;
	return 0;
}

FERRY_API uint8_t *ferry_output_alloc(struct ferry_call *c, uint32_t size)
{
	free(c->out);
	c->out = NULL;
	c->has_out = 0;
	if (size > c->fn->max_alloc) {
		snprintf(c->error, sizeof(c->error), "output of %u bytes: larger than the largest buffer", size);
		return NULL;
	}
	c->out = malloc(size ? size : 1);
	if (!c->out) {
		snprintf(c->error, sizeof(c->error), "output of %u bytes: pool exhausted", size);
		return NULL;
	}
	c->out_cap = size;
	c->has_out = 1;
	return c->out;
}

FERRY_API int ferry_output_commit(struct ferry_call *c, uint32_t len)
{
	if (!c->has_out || len > c->out_cap)
		return ferry_fail(c, "ferry_output_commit without a large enough ferry_output_alloc");
	c->in_place = 0;
	c->out_len = len;
	return 0;
}

FERRY_API int ferry_next(struct ferry_call *c, const char *name)
{
	for (int i = 0; i < c->fn->n_next; i++)
		if (strcmp(c->fn->next[i], name) == 0) {
			c->next_index = i;
			return 0;
		}
	snprintf(c->error, sizeof(c->error), "ferry_next(\"%s\"): not in stage %s's next list", name, c->fn->stage_name);
	return -ENOENT;
}

FERRY_API int ferry_fail(struct ferry_call *c, const char *message)
{
	snprintf(c->error, sizeof(c->error), "%s", message);
	ferry_answer_set(&c->answer, 0, 0, NULL); /* a plain failure wins over an answer given before */
	return -1;
}

FERRY_API int ferry_respond(struct ferry_call *c, unsigned status, const char *content_type)
{
	return ferry_answer_respond(&c->answer, c->error, sizeof(c->error), status, content_type);
}

FERRY_API int ferry_fail_status(struct ferry_call *c, unsigned status, const char *code, const char *message)
{
	return ferry_answer_fail(&c->answer, c->error, sizeof(c->error), status, code, message);
}

FERRY_API uint64_t ferry_request_id(const struct ferry_call *c)
{
	return c->request_id;
}

uint32_t ferry_heap_capacity(uint32_t len)
{
	uint32_t capacity = 4096;

	while (capacity < len && capacity < (1u << 31))
		capacity *= 2;
	return capacity;
}

int ferry_heap_call(ferry_handle_fn handle, const struct ferry_heap_fn *fn, struct ferry_call *c, const uint8_t *req,
		    uint32_t len, uint32_t capacity, uint64_t request_id)
{
	memset(c, 0, sizeof(*c));
	c->fn = fn;
	c->cap = capacity > len ? capacity : len;
	c->in = malloc(c->cap ? c->cap : 1);
	if (!c->in) {
		snprintf(c->error, sizeof(c->error), "out of memory");
		return 1;
	}
	memcpy(c->in, req, len);
	c->len = len;
	c->out_len = len;
	c->in_place = 1;
	c->request_id = request_id;
	int rc = handle(c);
	if (rc != 0 || c->error[0]) {
		if (!c->error[0])
			snprintf(c->error, sizeof(c->error), "function returned an error");
		return 1;
	}
	return 0;
}

int ferry_heap_in_place(const struct ferry_call *c)
{
	return c->in_place || !c->has_out;
}

const uint8_t *ferry_heap_output(const struct ferry_call *c)
{
	return ferry_heap_in_place(c) ? c->in : c->out;
}

void ferry_heap_free(struct ferry_call *c)
{
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
}
