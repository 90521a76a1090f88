// SPDX-License-Identifier: Apache-2.0
/*
 * ferry-runner: runs one `runtime: native` function instance.
 *
 *   ferry-runner FUNCTION.so      (environment set by ferryd, see instance.h)
 *
 * Blocks in poll() on its endpoint and its control channel until a
 * descriptor or a liveness ping arrives, so an idle instance costs no CPU;
 * processes what arrived, then blocks again. A handler that never returns
 * leaves pings unanswered, and ferryd restarts the instance.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/answer.h"
#include "ferry/ferry_fn.h"
#include "ferry/instance.h"

struct ferry_call {
	struct ferry_instance *in;
	struct ferry_desc *d;
	struct ferry_buf out;     /* fresh output buffer, if any */
	int has_out;
	uint32_t out_len;
	int in_place;
	int next_index;
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

	ferry_input_mut(c, &cap);
	if (len > cap)
		return ferry_fail(c, "output longer than the input buffer's capacity");
	c->in_place = 1;
	c->out_len = len;
	return 0;
}

uint8_t *ferry_output_alloc(struct ferry_call *c, uint32_t size)
{
	int rc;

	if (c->has_out) {
		ferry_pool_free(&c->in->pool, c->out.offset, c->out.generation);
		c->has_out = 0;
	}
	rc = ferry_instance_alloc_for(c->in, c->d, size, &c->out);
	if (rc < 0) {
		snprintf(c->error, sizeof(c->error), "output of %u bytes: %s", size,
			 ferry_pool_strerror(rc));
		return NULL;
	}
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

static void handle_one(struct ferry_instance *in, ferry_handle_fn handle,
		       struct ferry_desc *d)
{
	struct ferry_call call = { .in = in, .d = d, .next_index = 0, .in_place = 1 };
	int rc;

	call.out_len = d->length; /* default: pass the input on unchanged */
	rc = handle(&call);
	if (ferry_pool_check(&in->pool, d->offset, d->generation, 0) < 0) {
		/* The request outlived its deadline while the handler ran and
		 * ferryd took its buffer back: nobody waits for an answer. */
		if (call.has_out)
			ferry_pool_free(&in->pool, call.out.offset, call.out.generation);
		return;
	}
	if (rc != 0 || call.error[0]) {
		if (call.has_out)
			ferry_pool_free(&in->pool, call.out.offset, call.out.generation);
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
		/* The output is a new buffer: the input is done with. */
		ferry_pool_free(&in->pool, d->offset, d->generation);
		d->offset = call.out.offset;
		d->generation = call.out.generation;
	} else if (call.has_out) {
		ferry_pool_free(&in->pool, call.out.offset, call.out.generation);
	}
	d->length = call.out_len;
	if (call.answer.status)
		ferry_instance_respond(in, d, (uint16_t)call.answer.status, 0, call.answer.tag);
	else
		ferry_instance_forward(in, d, call.next_index);
}

int main(int argc, char **argv)
{
	struct ferry_desc batch[FERRY_RX_BATCH];
	struct ferry_instance in;
	ferry_handle_fn handle;
	ferry_init_fn init;
	char err[256];
	void *lib;
	int n, i;

	if (argc != 2) {
		fprintf(stderr, "usage: ferry-runner FUNCTION.so (started by ferryd)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "{\"level\":\"error\",\"msg\":\"cannot load function\",\"detail\":\"%s\"}\n", dlerror());
		return 3;
	}
	handle = (ferry_handle_fn)dlsym(lib, "ferry_handle");
	if (!handle) {
		fprintf(stderr, "{\"level\":\"error\",\"msg\":\"%s does not export ferry_handle (see ferry_fn.h)\"}\n", argv[1]);
		return 3;
	}
	if (ferry_instance_from_env(&in, err, sizeof(err)) < 0) {
		fprintf(stderr, "{\"level\":\"error\",\"msg\":\"%s\"}\n", err);
		return 2;
	}
	init = (ferry_init_fn)dlsym(lib, "ferry_init");
	if (init && init(in.stage_name) != 0) {
		fprintf(stderr, "{\"level\":\"error\",\"msg\":\"ferry_init failed\",\"stage\":\"%s\"}\n", in.stage_name);
		return 4;
	}
	if (ferry_instance_ready(&in) < 0) {
		fprintf(stderr, "{\"level\":\"error\",\"msg\":\"cannot tell ferryd the instance is ready\",\"errno\":%d}\n", errno);
		return 1;
	}
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = in.fd, .events = POLLIN },
			{ .fd = in.ctl_fd, .events = POLLIN }, /* ignored when -1 */
		};

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "{\"level\":\"error\",\"msg\":\"poll failed\",\"errno\":%d}\n", errno);
			return 1;
		}
		if (pfd[1].revents && ferry_control_serve(in.ctl_fd, &in.ctl_rx, &in.service) == -ECONNRESET)
			break; /* ferryd closed the channel: we are being stopped */
		if (!pfd[0].revents)
			continue;
		n = ferry_endpoint_recv(in.fd, &in.rx, batch);
		if (n == -ECONNRESET)
			break; /* ferryd closed our endpoint: we are being stopped */
		if (n < 0) {
			fprintf(stderr, "{\"level\":\"error\",\"msg\":\"recv failed\",\"errno\":%d}\n", -n);
			return 1;
		}
		for (i = 0; i < n; i++) {
			struct timespec t0, t1;

			if (ferry_instance_accept(&in, &batch[i]) != 0)
				continue;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			handle_one(&in, handle, &batch[i]);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			ferry_control_record(&in.service, (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000u +
							      (uint64_t)(t1.tv_nsec - t0.tv_nsec) / 1000u);
		}
	}
	ferry_instance_close(&in);
	return 0;
}
