// SPDX-License-Identifier: Apache-2.0
/* One call of ferry_handle: the ferry_fn.h ABI over an instance's pool and
 * endpoint (see include/ferry/call.h). */
#include "ferry/call.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ferry/answer.h"

struct ferry_call {
	struct ferry_instance *in;
	struct ferry_desc *d;
	struct ferry_buf out;     /* fresh (or held) output buffer, if any */
	int has_out;
	uint32_t out_len;
	int in_place;
	int next_index;
	int reply;                /* ferry_reply: straight back to the caller */
	int input_held;           /* ferry_input_hold: the input stays ours */
	uint32_t in_tag;          /* the input's label before it was held, */
	uint32_t in_deadline;     /* which the call's outputs then carry */
	char error[256];
	struct ferry_answer answer; /* ferry_respond / ferry_fail_status */
};

const uint8_t *ferry_input(const struct ferry_call *c, uint32_t *len)
{
	*len = c->d->length;
	return ferry_pool_ptr(&c->in->pool, c->d->offset);
}

uint8_t *ferry_input_mut(struct ferry_call *c, uint32_t *capacity)
{
	int cap = ferry_pool_check(&c->in->pool, c->d->offset, c->d->generation, 0);

	*capacity = cap > 0 ? (uint32_t)cap : 0;
	return ferry_pool_ptr(&c->in->pool, c->d->offset);
}

int ferry_output_in_place(struct ferry_call *c, uint32_t len)
{
	uint32_t cap;

	if (c->input_held)
		return ferry_fail(c, "ferry_output_in_place after ferry_input_hold: the input is held, send it with ferry_output_held");
	ferry_input_mut(c, &cap);
	if (len > cap)
		return ferry_fail(c, "output longer than the input buffer's capacity");
	c->in_place = 1;
	c->out_len = len;
	return 0;
}

/* An output buffer lives as long as the request it answers: the input's
 * label, or what it was before the input was held. */
static void label_output(struct ferry_call *c, const struct ferry_buf *b)
{
	if (c->input_held)
		ferry_pool_label(&c->in->pool, b->offset, b->generation, c->in_tag, c->in_deadline);
	else if (ferry_pool_inherit(&c->in->pool, b->offset, b->generation, c->d->offset,
				    c->d->generation) < 0)
		ferry_pool_tag(&c->in->pool, b->offset, b->generation, (uint32_t)c->d->request_id);
}

static void drop_output(struct ferry_call *c)
{
	if (c->has_out)
		ferry_pool_free(&c->in->pool, c->out.offset, c->out.generation);
	c->has_out = 0;
}

uint8_t *ferry_output_alloc(struct ferry_call *c, uint32_t size)
{
	int rc;

	drop_output(c);
	rc = ferry_pool_alloc(&c->in->pool, size, c->in->id, &c->out);
	if (rc < 0) {
		snprintf(c->error, sizeof(c->error), "output of %u bytes: %s", size,
			 ferry_pool_strerror(rc));
		return NULL;
	}
	label_output(c, &c->out);
	c->has_out = 1;
	return ferry_pool_ptr(&c->in->pool, c->out.offset);
}

int ferry_output_commit(struct ferry_call *c, uint32_t len)
{
	if (!c->has_out || len > c->out.capacity)
		return ferry_fail(c, "ferry_output_commit without a large enough ferry_output_alloc");
	c->in_place = 0;
	c->out_len = len;
	return 0;
}

int ferry_next(struct ferry_call *c, const char *stage_name)
{
	c->next_index = ferry_instance_next_index(c->in, stage_name);
	if (c->next_index < 0) {
		snprintf(c->error, sizeof(c->error),
			 "ferry_next(\"%s\"): not in stage %s's next list", stage_name,
			 c->in->stage_name);
		return -ENOENT;
	}
	return 0;
}

int ferry_reply(struct ferry_call *c)
{
	c->reply = 1;
	return 0;
}

int ferry_fail(struct ferry_call *c, const char *message)
{
	snprintf(c->error, sizeof(c->error), "%s", message);
	ferry_answer_set(&c->answer, 0, 0, NULL); /* a plain failure wins over an answer given before */
	return -1;
}

int ferry_respond(struct ferry_call *c, unsigned status, const char *content_type)
{
	return ferry_answer_respond(&c->answer, c->error, sizeof(c->error), status, content_type);
}

int ferry_fail_status(struct ferry_call *c, unsigned status, const char *code, const char *message)
{
	return ferry_answer_fail(&c->answer, c->error, sizeof(c->error), status, code, message);
}

uint64_t ferry_request_id(const struct ferry_call *c)
{
	return c->d->request_id;
}

/* ------------------------------------------------------------ held buffers */

static int is_input(const struct ferry_call *c, const struct ferry_held *h)
{
	return h->offset == c->d->offset && h->generation == c->d->generation;
}

int ferry_input_hold(struct ferry_call *c, struct ferry_held *h)
{
	struct ferry_pool_slot_info info;

	if (c->input_held ||
	    ferry_pool_inspect(&c->in->pool, c->d->offset, c->d->generation, &info) < 0)
		return -EINVAL;
	/* No deadline (the keeper must not expire an accumulator) and no
	 * request tag (a crash must not fail a request long answered). */
	if (ferry_pool_label(&c->in->pool, c->d->offset, c->d->generation, 0, 0) < 0)
		return -EINVAL;
	c->in_tag = info.tag;
	c->in_deadline = info.deadline;
	c->input_held = 1;
	if (c->has_out)
		label_output(c, &c->out);
	h->offset = c->d->offset;
	h->generation = c->d->generation;
	h->capacity = info.capacity;
	return 0;
}

uint8_t *ferry_held_alloc(struct ferry_call *c, uint32_t size, struct ferry_held *h)
{
	struct ferry_buf b;

	/* A fresh buffer has neither tag nor deadline: nothing to clear. */
	if (ferry_pool_alloc(&c->in->pool, size, c->in->id, &b) < 0)
		return NULL;
	h->offset = b.offset;
	h->generation = b.generation;
	h->capacity = b.capacity;
	return ferry_pool_ptr(&c->in->pool, b.offset);
}

/* h names a live buffer this instance owns: its capacity, else an error. */
static int held_live(const struct ferry_call *c, const struct ferry_held *h)
{
	struct ferry_pool_slot_info info;
	int rc = ferry_pool_inspect(&c->in->pool, h->offset, h->generation, &info);

	if (rc < 0)
		return rc;
	return info.owner == c->in->id ? (int)info.capacity : FERRY_ENOT_OWNER;
}

uint8_t *ferry_held_ptr(struct ferry_call *c, const struct ferry_held *h)
{
	return held_live(c, h) < 0 ? NULL : ferry_pool_ptr(&c->in->pool, h->offset);
}

int ferry_output_held(struct ferry_call *c, const struct ferry_held *h, uint32_t len)
{
	int cap = held_live(c, h);

	if (cap < 0)
		return ferry_fail(c, "ferry_output_held: the handle does not name a live held buffer");
	if (len > (uint32_t)cap)
		return ferry_fail(c, "ferry_output_held: length exceeds the held buffer's capacity");
	drop_output(c);
	c->out_len = len;
	if (is_input(c, h)) {
		/* The held input goes on after all: an in-place output. */
		if (c->input_held)
			ferry_pool_label(&c->in->pool, h->offset, h->generation, c->in_tag, c->in_deadline);
		c->input_held = 0;
		c->in_place = 1;
		return 0;
	}
	c->out.offset = h->offset;
	c->out.generation = h->generation;
	c->out.capacity = (uint32_t)cap;
	c->has_out = 1;
	c->in_place = 0;
	label_output(c, &c->out);
	return 0;
}

int ferry_held_free(struct ferry_call *c, const struct ferry_held *h)
{
	/* The call's input is the runner's to release until it is held, and a
	 * held input is still the buffer this call answers in. */
	if (is_input(c, h))
		return -EBUSY;
	return ferry_pool_free_owned(&c->in->pool, h->offset, h->generation, c->in->id);
}

const uint8_t *ferry_pool_view(struct ferry_call *c, uint64_t offset, uint32_t generation,
			       uint32_t *capacity)
{
	int cap = offset ? ferry_pool_check(&c->in->pool, offset, generation, 0) : FERRY_EBAD_OFFSET;

	if (cap < 0)
		return NULL;
	if (capacity)
		*capacity = (uint32_t)cap;
	return ferry_pool_ptr(&c->in->pool, offset);
}

/* ------------------------------------------------------------------ a call */

/* The input is held, so the request's answer (an error) needs a buffer of
 * its own: d is moved onto a fresh one. -1 when the pool has none: the
 * caller then times out, the held buffer stays the function's. */
static int unhook_held_input(struct ferry_call *c)
{
	struct ferry_buf b;

	if (ferry_pool_alloc(&c->in->pool, sizeof(c->error) + FERRY_RESPONSE_TAG_MAX + 1, c->in->id,
			     &b) < 0)
		return -1;
	ferry_pool_label(&c->in->pool, b.offset, b.generation, c->in_tag, c->in_deadline);
	c->d->offset = b.offset;
	c->d->generation = b.generation;
	c->d->length = 0;
	c->input_held = 0;
	return 0;
}

void ferry_call_run(struct ferry_instance *in, ferry_handle_fn handle, struct ferry_desc *d)
{
	struct ferry_call call = { .in = in, .d = d, .next_index = 0, .in_place = 1 };
	struct ferry_buf done = { 0 };
	int rc, free_input = 0;

	call.out_len = d->length; /* default: pass the input on unchanged */
	rc = handle(&call);
	if (!call.input_held && ferry_pool_check(&in->pool, d->offset, d->generation, 0) < 0) {
		/* The request outlived its deadline while the handler ran and
		 * ferryd took its buffer back: nobody waits for an answer. */
		drop_output(&call);
		return;
	}
	if (rc == 0 && !call.error[0] && call.input_held && !(call.has_out && !call.in_place))
		ferry_fail(&call, "ferry_input_hold without an output of its own (ferry_output_alloc or ferry_output_held)");
	if (rc != 0 || call.error[0]) {
		drop_output(&call);
		if (call.input_held && unhook_held_input(&call) < 0)
			return;
		if (call.answer.error) {
			ferry_instance_fail_http(in, d, (uint16_t)call.answer.status, call.answer.tag, call.error);
			return;
		}
		ferry_instance_fail(in, d,
				    call.error[0] && strstr(call.error, "pool exhausted")
					    ? FERRY_ST_POOL_EXHAUSTED
					    : FERRY_ST_FUNCTION_ERROR,
				    call.error[0] ? call.error : "function returned an error");
		return;
	}
	if (call.has_out && !call.in_place) {
		/* The output is a new buffer: the input is done with, unless
		 * the function holds it; it is freed after the output is sent,
		 * as freeing a model-sized buffer punches a hole (tens of ms)
		 * that nobody downstream should wait for. */
		if (!call.input_held) {
			done.offset = d->offset;
			done.generation = d->generation;
			free_input = 1;
		}
		d->offset = call.out.offset;
		d->generation = call.out.generation;
	} else if (call.has_out) {
		ferry_pool_free(&in->pool, call.out.offset, call.out.generation);
	}
	d->length = call.out_len;
	if (call.answer.status)
		ferry_instance_respond(in, d, (uint16_t)call.answer.status, 0, call.answer.tag);
	else if (call.reply)
		ferry_instance_reply(in, d);
	else
		ferry_instance_forward(in, d, call.next_index);
	if (free_input)
		ferry_pool_free(&in->pool, done.offset, done.generation);
}
