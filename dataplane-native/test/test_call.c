// SPDX-License-Identifier: Apache-2.0
/* The ferry_fn.h ABI as ferry-runner runs it (src/call.c), with handlers in
 * this file: holding buffers across calls (ferry_input_hold, held buffers
 * sent as later outputs, freed, allocated), reading a pool buffer by
 * (offset, generation), replying straight to the caller, and what stays
 * the same for a plain call. The endpoint is a UNIX socketpair whose other
 * end plays the router: what the instance sends arrives there. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "ferry/call.h"

#define ME 5
#define GATEWAY 1

static const struct ferry_pool_class_spec classes[] = {
	{ .buf_size = 512, .count = 8 },
	{ .buf_size = 4096, .count = 4 },
};

static struct ferry_pool pool;
static struct ferry_instance in;
static int router;

static uint32_t in_use(void)
{
	struct ferry_pool_stats st;

	ferry_pool_stats(&pool, &st);
	return st.cls[0].in_use + st.cls[1].in_use;
}

static void setup(const char *next)
{
	int sv[2];
	char err[128];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	CHECK(ferry_pool_create(&pool, "call", classes, 2) == 0, "pool");
	CHECK(ferry_instance_open(&in, ME, 9, 2, "leaf-0", sv[0], pool.fd, next, err, sizeof(err)) == 0,
	      "open: %s", err);
	router = sv[1];
}

static void teardown(void)
{
	close(router);
	ferry_instance_close(&in);
	ferry_pool_detach(&pool);
}

/* A request from the gateway as the instance receives it: a labelled
 * buffer holding text, accepted (so now the instance's). */
static struct ferry_desc inject(uint32_t size, const char *text, uint64_t rid, uint32_t deadline)
{
	struct ferry_buf b;
	struct ferry_desc d;

	CHECK(ferry_pool_alloc(&pool, size, GATEWAY, &b) == 0, "alloc request");
	memcpy(ferry_pool_ptr(&pool, b.offset), text, strlen(text));
	ferry_pool_label(&pool, b.offset, b.generation, (uint32_t)rid, deadline);
	ferry_desc_init(&d, 9, 2, rid, &b, (uint32_t)strlen(text), 7);
	CHECK(ferry_instance_accept(&in, &d) == 0, "accepted");
	return d;
}

static struct ferry_desc sent(void)
{
	struct ferry_desc got;

	memset(&got, 0, sizeof(got));
	CHECK(recv(router, &got, sizeof(got), MSG_DONTWAIT) == sizeof(got), "a descriptor was sent");
	return got;
}

static int nothing_sent(void)
{
	struct ferry_desc got;

	return recv(router, &got, sizeof(got), MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

static const char *text_of(const struct ferry_desc *d)
{
	static char buf[600];
	uint32_t n = d->length < sizeof(buf) - 1 ? d->length : sizeof(buf) - 1;

	memcpy(buf, ferry_pool_ptr(&pool, d->offset), n);
	buf[n] = 0;
	return buf;
}

/* ------------------------------------------------------------- handlers */

static struct ferry_held held;
static int hold_rc;

/* Hold the input, answer "ack" in a fresh buffer, straight to the caller. */
static int h_hold_and_ack(struct ferry_call *c)
{
	uint8_t *out;

	hold_rc = ferry_input_hold(c, &held);
	if (hold_rc)
		return ferry_fail(c, "hold failed");
	if (!(out = ferry_output_alloc(c, 3)))
		return -1;
	memcpy(out, "ack", 3);
	ferry_output_commit(c, 3);
	return ferry_reply(c);
}

/* Append the input to the held buffer; reply "ok" in place. */
static int h_append(struct ferry_call *c)
{
	uint32_t n;
	const uint8_t *src = ferry_input(c, &n);
	uint8_t *dst = ferry_held_ptr(c, &held);

	if (!dst)
		return ferry_fail(c, "held buffer gone");
	memcpy(dst + strlen((char *)dst), src, n);
	memcpy(ferry_input_mut(c, &n), "ok", 2);
	ferry_output_in_place(c, 2);
	return ferry_reply(c);
}

/* Send the held buffer on to the next stage (the input is released). */
static int h_send_held(struct ferry_call *c)
{
	uint8_t *p = ferry_held_ptr(c, &held);

	return ferry_output_held(c, &held, p ? (uint32_t)strlen((char *)p) : 0);
}

static int h_hold_then_fail(struct ferry_call *c)
{
	hold_rc = ferry_input_hold(c, &held);
	return ferry_fail_status(c, 422, "nope", "held, then failed");
}

static int h_hold_no_output(struct ferry_call *c)
{
	hold_rc = ferry_input_hold(c, &held);
	return 0;
}

static int h_hold_twice(struct ferry_call *c)
{
	struct ferry_held again;

	hold_rc = ferry_input_hold(c, &held);
	if (ferry_input_hold(c, &again) != -EINVAL)
		return ferry_fail(c, "second hold accepted");
	return ferry_output_held(c, &held, 2); /* goes on after all */
}

static struct ferry_held extra;
static uint8_t *extra_ptr;

static int h_alloc_held(struct ferry_call *c)
{
	extra_ptr = ferry_held_alloc(c, 1000, &extra);
	if (extra_ptr)
		memcpy(extra_ptr, "fresh", 5);
	return 0; /* the input goes on unchanged */
}

static int h_free_extra(struct ferry_call *c)
{
	return ferry_held_free(c, &extra) == 0 ? 0 : ferry_fail(c, "free refused");
}

static uint64_t view_offset;
static uint32_t view_gen, view_cap;
static const uint8_t *view_ptr;

static int h_view(struct ferry_call *c)
{
	view_ptr = ferry_pool_view(c, view_offset, view_gen, &view_cap);
	return 0;
}

static int h_passthrough(struct ferry_call *c)
{
	(void)c;
	return 0;
}

/* ----------------------------------------------------------------- tests */

static void test_hold_append_send(void)
{
	struct ferry_desc d, got;
	struct ferry_pool_slot_info info;
	uint64_t first_offset;

	setup("top=4");
	d = inject(4096, "abc", 11, ferry_pool_now_ms() + 60000);
	first_offset = d.offset;
	ferry_call_run(&in, h_hold_and_ack, &d);
	CHECK(hold_rc == 0 && held.offset == first_offset && held.capacity == 4096, "held the input");
	got = sent();
	CHECK(got.stage == FERRY_STAGE_REPLY && got.offset != first_offset && got.request_id == 11 &&
	      strcmp(text_of(&got), "ack") == 0, "ack to the caller in a fresh buffer, not to next");
	CHECK(ferry_pool_inspect(&pool, got.offset, got.generation, &info) == 0 && info.tag == 11 &&
	      info.deadline != 0, "the ack carries the request's label");
	ferry_pool_free(&pool, got.offset, got.generation); /* the gateway's part */
	CHECK(ferry_pool_inspect(&pool, held.offset, held.generation, &info) == 0 && info.owner == ME &&
	      info.tag == 0 && info.deadline == 0, "held: ours, no deadline, no tag");
	CHECK(ferry_pool_expire(&pool, ferry_pool_now_ms() + 3600000, NULL, 0) == 0,
	      "the keeper does not expire a held buffer");

	d = inject(512, "def", 12, 0);
	ferry_call_run(&in, h_append, &d);
	got = sent();
	CHECK(got.stage == FERRY_STAGE_REPLY && strcmp(text_of(&got), "ok") == 0, "second call replied");
	ferry_pool_free(&pool, got.offset, got.generation);
	CHECK(strcmp((char *)ferry_pool_ptr(&pool, held.offset), "abcdef") == 0, "held buffer kept its bytes");

	d = inject(512, "flush", 13, ferry_pool_now_ms() + 60000);
	ferry_call_run(&in, h_send_held, &d);
	got = sent();
	CHECK(got.stage == 4 && got.offset == held.offset && got.generation == held.generation &&
	      got.request_id == 13 && strcmp(text_of(&got), "abcdef") == 0,
	      "the held buffer goes to the next stage as the output");
	CHECK(ferry_pool_inspect(&pool, got.offset, got.generation, &info) == 0 && info.tag == 13 &&
	      info.deadline != 0, "with the sending request's label");
	CHECK(ferry_pool_check(&pool, d.offset, d.generation, 0) < 0 || d.offset == got.offset,
	      "the flush input was released");
	ferry_pool_take(&pool, got.offset, got.generation, 4); /* the next stage takes it */
	ferry_pool_free(&pool, got.offset, got.generation);
	CHECK(in_use() == 0, "nothing left: %u", in_use());

	/* A spent handle is refused, not aliased. */
	d = inject(512, "x", 14, 0);
	ferry_call_run(&in, h_send_held, &d);
	got = sent();
	CHECK((got.flags & FERRY_F_ERROR) && got.status == FERRY_ST_FUNCTION_ERROR, "stale handle fails the call");
	ferry_pool_free(&pool, got.offset, got.generation);
	CHECK(in_use() == 0, "nothing left: %u", in_use());
	teardown();
}

static void test_hold_failures(void)
{
	struct ferry_desc d, got;

	setup("top=4");
	/* Failing after a hold: the error travels in a fresh buffer. */
	d = inject(4096, "acc", 21, 0);
	ferry_call_run(&in, h_hold_then_fail, &d);
	got = sent();
	CHECK(hold_rc == 0 && got.offset != held.offset && (got.flags & FERRY_F_ERROR) && got.status == 422,
	      "an HTTP error, not in the held buffer");
	ferry_pool_free(&pool, got.offset, got.generation);
	CHECK(memcmp(ferry_pool_ptr(&pool, held.offset), "acc", 3) == 0 &&
	      ferry_pool_check(&pool, held.offset, held.generation, 0) > 0, "held buffer intact");
	ferry_pool_free(&pool, held.offset, held.generation);

	/* Holding without an output of its own is an error, the hold stays. */
	d = inject(512, "acc", 22, 0);
	ferry_call_run(&in, h_hold_no_output, &d);
	got = sent();
	CHECK((got.flags & FERRY_F_ERROR) && got.status == FERRY_ST_FUNCTION_ERROR &&
	      strstr(text_of(&got), "ferry_input_hold") != NULL, "error says what is missing: %s", text_of(&got));
	ferry_pool_free(&pool, got.offset, got.generation);
	CHECK(ferry_pool_check(&pool, held.offset, held.generation, 0) > 0, "still held");
	ferry_pool_free(&pool, held.offset, held.generation);

	/* Hold twice refused; the held input sent on itself. */
	d = inject(512, "go", 23, ferry_pool_now_ms() + 60000);
	ferry_call_run(&in, h_hold_twice, &d);
	got = sent();
	CHECK(got.stage == 4 && got.offset == d.offset && strcmp(text_of(&got), "go") == 0,
	      "a held input sent with ferry_output_held goes on in place");
	{
		struct ferry_pool_slot_info info;

		CHECK(ferry_pool_inspect(&pool, got.offset, got.generation, &info) == 0 && info.tag == 23 &&
		      info.deadline != 0, "with its label back");
	}
	ferry_pool_free(&pool, got.offset, got.generation);

	/* A crash frees held buffers with everything else the instance had. */
	d = inject(4096, "acc", 24, 0);
	ferry_call_run(&in, h_hold_and_ack, &d);
	got = sent();
	ferry_pool_free(&pool, got.offset, got.generation);
	d = inject(512, "more", 25, 0);
	ferry_call_run(&in, h_alloc_held, &d);
	got = sent();
	ferry_pool_free(&pool, got.offset, got.generation);
	CHECK(in_use() == 2, "two held: %u", in_use());
	CHECK(ferry_pool_reclaim(&pool, ME) == 2 && in_use() == 0, "reclaim frees them");
	CHECK(nothing_sent(), "nothing else sent");
	teardown();
}

static void test_alloc_free_view(void)
{
	struct ferry_desc d, got;
	struct ferry_buf foreign;

	setup("top=4");
	d = inject(512, "in", 31, 0);
	ferry_call_run(&in, h_alloc_held, &d);
	got = sent();
	CHECK(extra_ptr && extra.capacity == 4096 && got.stage == 4 && strcmp(text_of(&got), "in") == 0,
	      "a held buffer allocated, the input went on unchanged");
	ferry_pool_free(&pool, got.offset, got.generation);
	CHECK(in_use() == 1 && memcmp(ferry_pool_ptr(&pool, extra.offset), "fresh", 5) == 0, "held one");

	d = inject(512, "free", 32, 0);
	ferry_call_run(&in, h_free_extra, &d);
	got = sent();
	CHECK(!(got.flags & FERRY_F_ERROR), "freed");
	ferry_pool_free(&pool, got.offset, got.generation);
	CHECK(in_use() == 0, "nothing held");
	d = inject(512, "free", 33, 0);
	ferry_call_run(&in, h_free_extra, &d);
	got = sent();
	CHECK(got.flags & FERRY_F_ERROR, "a second free of the handle is refused");
	ferry_pool_free(&pool, got.offset, got.generation);

	/* Another's live buffer, read-only by (offset, generation). */
	CHECK(ferry_pool_alloc(&pool, 600, GATEWAY, &foreign) == 0, "foreign");
	memcpy(ferry_pool_ptr(&pool, foreign.offset), "model", 5);
	view_offset = foreign.offset;
	view_gen = foreign.generation;
	d = inject(512, "v", 34, 0);
	ferry_call_run(&in, h_view, &d);
	got = sent();
	ferry_pool_free(&pool, got.offset, got.generation);
	CHECK(view_ptr && view_cap == 4096 && memcmp(view_ptr, "model", 5) == 0, "viewed");
	view_gen++;
	d = inject(512, "v", 35, 0);
	ferry_call_run(&in, h_view, &d);
	got = sent();
	ferry_pool_free(&pool, got.offset, got.generation);
	CHECK(view_ptr == NULL, "a stale generation is refused");
	view_offset = foreign.offset + 64;
	view_gen--;
	d = inject(512, "v", 36, 0);
	ferry_call_run(&in, h_view, &d);
	got = sent();
	ferry_pool_free(&pool, got.offset, got.generation);
	CHECK(view_ptr == NULL, "an offset inside a buffer is refused");
	view_offset = 0;
	d = inject(512, "v", 37, 0);
	ferry_call_run(&in, h_view, &d);
	got = sent();
	ferry_pool_free(&pool, got.offset, got.generation);
	CHECK(view_ptr == NULL, "offset 0 (the pool header) is refused");
	ferry_pool_free(&pool, foreign.offset, foreign.generation);

	/* A plain call is what it was: the input goes on unchanged to next[0]. */
	d = inject(512, "same", 38, 0);
	ferry_call_run(&in, h_passthrough, &d);
	got = sent();
	CHECK(got.stage == 4 && got.offset == d.offset && strcmp(text_of(&got), "same") == 0, "unchanged");
	ferry_pool_free(&pool, got.offset, got.generation);
	CHECK(in_use() == 0, "nothing left: %u", in_use());
	teardown();
}

int main(void)
{
	test_hold_append_send();
	test_hold_failures();
	test_alloc_free_view();
	return check_summary("call");
}
