// SPDX-License-Identifier: Apache-2.0
/* The request protocol every instance runs (instance.c): validation of each
 * descriptor field, ownership, error replies, and no leaked buffers when a
 * send fails. Uses a UNIX socketpair as the endpoint: routing is not the
 * subject here (test_router.c covers it). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "ferry/instance.h"

static const struct ferry_pool_class_spec classes[] = { { .buf_size = 2048, .count = 4 } };

static uint32_t in_use(struct ferry_pool *p)
{
	struct ferry_pool_stats st;

	ferry_pool_stats(p, &st);
	return st.cls[0].in_use;
}

static void setup_classes(struct ferry_pool *pool, struct ferry_instance *in, int *other, const char *next,
			  const struct ferry_pool_class_spec *cls, uint32_t ncls)
{
	int sv[2];
	char err[128];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	CHECK(ferry_pool_create(pool, "inst", cls, ncls) == 0, "pool");
	CHECK(ferry_instance_open(in, 5, 9, 2, "resize", sv[0], pool->fd, next, err, sizeof(err)) == 0,
	      "open: %s", err);
	*other = sv[1];
}

static void setup(struct ferry_pool *pool, struct ferry_instance *in, int *other, const char *next)
{
	setup_classes(pool, in, other, next, classes, 1);
}

static struct ferry_desc request(struct ferry_pool *pool, uint32_t owner, uint32_t len)
{
	struct ferry_buf b;
	struct ferry_desc d;

	ferry_pool_alloc(pool, len, owner, &b);
	ferry_desc_init(&d, 9, 2, 77, &b, len, 1);
	return d;
}

static void test_parse_next(void)
{
	struct ferry_instance in;

	memset(&in, 0, sizeof(in));
	CHECK(ferry_instance_parse_next(&in, "search=3,index=4") == 0 && in.nnext == 2, "two");
	CHECK(in.next[1].id == 4 && strcmp(in.next[1].name, "index") == 0, "second");
	CHECK(ferry_instance_parse_next(&in, "") == 0 && in.nnext == 0, "none");
	CHECK(ferry_instance_parse_next(&in, "search") < 0, "no id");
	CHECK(ferry_instance_parse_next(&in, "a=65535") < 0, "reply id is not a stage");
	CHECK(ferry_instance_parse_next(&in, "a=1x") < 0, "junk");
}

static void test_accept_validates_every_field(void)
{
	struct ferry_pool pool;
	struct ferry_instance in;
	struct ferry_desc d, got;
	int other;

	setup(&pool, &in, &other, "out=3");
	d = request(&pool, 1, 100);
	CHECK(ferry_instance_accept(&in, &d) == 0, "valid accepted");
	CHECK(ferry_pool_reclaim(&pool, 5) == 1, "ownership moved to the instance");

	d = request(&pool, 1, 100);
	d.magic ^= 1;
	CHECK(ferry_instance_accept(&in, &d) == FERRY_REJECT_MAGIC, "magic");
	d.magic ^= 1;
	d.version = 9;
	CHECK(ferry_instance_accept(&in, &d) == FERRY_REJECT_VERSION, "version");
	d.version = FERRY_DESC_VERSION;
	d.chain_id = 8;
	CHECK(ferry_instance_accept(&in, &d) == FERRY_REJECT_CHAIN, "chain");
	d.chain_id = 9;
	d.offset += 7;
	CHECK(ferry_instance_accept(&in, &d) == FERRY_REJECT_OFFSET, "misaligned offset");
	d.offset = (uint64_t)1 << 40;
	CHECK(ferry_instance_accept(&in, &d) == FERRY_REJECT_OFFSET, "offset outside pool");
	d = request(&pool, 1, 100);
	d.length = 4096;
	CHECK(ferry_instance_accept(&in, &d) == FERRY_REJECT_LENGTH, "length beyond buffer");
	d.length = 100;
	d.generation++;
	CHECK(ferry_instance_accept(&in, &d) == FERRY_REJECT_STALE, "stale generation");
	CHECK(in.stats.rejects.by_reason[FERRY_REJECT_MAGIC] == 1 &&
	      in.stats.rejects.by_reason[FERRY_REJECT_OFFSET] == 2, "rejects counted by reason");

	/* Misaddressed but live: the instance answers the caller with an error. */
	d.generation--;
	d.stage = 7;
	CHECK(ferry_instance_accept(&in, &d) == FERRY_REJECT_STAGE, "stage");
	CHECK(recv(other, &got, sizeof(got), 0) == sizeof(got), "error reply sent");
	CHECK(got.stage == FERRY_STAGE_REPLY && (got.flags & FERRY_F_ERROR) &&
	      got.status == FERRY_ST_BAD_DESCRIPTOR, "error reply fields");
	ferry_pool_free(&pool, got.offset, got.generation); /* as the gateway would */
	ferry_pool_reclaim(&pool, 1);
	CHECK(in_use(&pool) == 0, "nothing leaked: %u", in_use(&pool));
	close(other);
	ferry_instance_close(&in);
	ferry_pool_detach(&pool);
}

static void test_forward_and_fail(void)
{
	struct ferry_pool pool;
	struct ferry_instance in;
	struct ferry_desc d, got;
	int other;

	setup(&pool, &in, &other, "out=3");
	d = request(&pool, 5, 10);
	CHECK(ferry_instance_forward(&in, &d, 0) == 0, "forward");
	CHECK(recv(other, &got, sizeof(got), 0) == sizeof(got) && got.stage == 3, "to next stage");
	ferry_pool_free(&pool, got.offset, got.generation);

	d = request(&pool, 5, 10);
	ferry_instance_forward(&in, &d, 4);
	CHECK(recv(other, &got, sizeof(got), 0) == sizeof(got) && got.status == FERRY_ST_NO_ROUTE &&
	      got.stage == FERRY_STAGE_REPLY, "bad next index becomes an error reply");
	CHECK(memcmp(ferry_pool_ptr(&pool, got.offset), "function chose", 14) == 0, "with a message");
	ferry_pool_free(&pool, got.offset, got.generation);

	/* The peer is gone: forwarding fails and the buffer is freed, not leaked. */
	close(other);
	d = request(&pool, 5, 10);
	CHECK(ferry_instance_forward(&in, &d, 0) < 0, "send fails");
	CHECK(in_use(&pool) == 0, "undeliverable buffer freed: %u", in_use(&pool));
	CHECK(in.stats.freed_undeliverable == 1, "counted");
	ferry_instance_close(&in);
	ferry_pool_detach(&pool);
}

/* The trailer of a FERRY_F_RESPONSE payload: its tag, and the body length. */
static uint32_t trailer(struct ferry_pool *pool, const struct ferry_desc *d, char *tag)
{
	const uint8_t *p = ferry_pool_ptr(pool, d->offset);
	uint8_t n = p[d->length - 1];

	memcpy(tag, p + d->length - 1 - n, n);
	tag[n] = 0;
	return d->length - 1 - n;
}

static void test_respond(void)
{
	struct ferry_pool pool;
	struct ferry_instance in;
	struct ferry_desc d, got;
	char tag[256], big[300];
	int other;

	setup(&pool, &in, &other, "out=3");

	/* A middle stage answers: to the caller, not to stage 3, body in place. */
	d = request(&pool, 5, 5);
	memcpy(ferry_pool_ptr(&pool, d.offset), "gone!", 5);
	CHECK(ferry_instance_respond(&in, &d, 410, 0, "text/plain") == 0, "respond");
	CHECK(recv(other, &got, sizeof(got), 0) == sizeof(got), "sent");
	CHECK(got.stage == FERRY_STAGE_REPLY && got.flags == FERRY_F_RESPONSE && got.status == 410,
	      "a response to the caller: stage %u flags %u status %u", got.stage, got.flags, got.status);
	CHECK(got.offset == d.offset && trailer(&pool, &got, tag) == 5 && strcmp(tag, "text/plain") == 0 &&
	      memcmp(ferry_pool_ptr(&pool, got.offset), "gone!", 5) == 0, "body in place, type in the trailer");
	ferry_pool_free(&pool, got.offset, got.generation);

	/* A full buffer and no bigger class: an ordinary error reply. */
	d = request(&pool, 5, 2048);
	ferry_instance_respond(&in, &d, 200, 0, "application/x");
	CHECK(recv(other, &got, sizeof(got), 0) == sizeof(got), "sent");
	CHECK(got.flags == FERRY_F_ERROR && got.status == FERRY_ST_TOO_LARGE, "too large: flags %u status %u",
	      got.flags, got.status);
	ferry_pool_free(&pool, got.offset, got.generation);

	/* An error answer: message, then the code; the message is cut to fit. */
	d = request(&pool, 5, 1);
	CHECK(ferry_instance_fail_http(&in, &d, 422, "badPlate", "plate unreadable") == 0, "fail_http");
	CHECK(recv(other, &got, sizeof(got), 0) == sizeof(got), "sent");
	CHECK(got.flags == (FERRY_F_RESPONSE | FERRY_F_ERROR) && got.status == 422, "an HTTP error");
	CHECK(trailer(&pool, &got, tag) == 16 && strcmp(tag, "badPlate") == 0, "code %s", tag);
	ferry_pool_free(&pool, got.offset, got.generation);
	char long_msg[3000];
	memset(long_msg, 'm', sizeof(long_msg) - 1);
	long_msg[sizeof(long_msg) - 1] = 0;
	d = request(&pool, 5, 1);
	ferry_instance_fail_http(&in, &d, 400, "", long_msg);
	CHECK(recv(other, &got, sizeof(got), 0) == sizeof(got) && got.length == 2048, "cut to the buffer");
	CHECK(trailer(&pool, &got, tag) == 2047 && tag[0] == 0, "empty code");
	ferry_pool_free(&pool, got.offset, got.generation);

	/* A tag over 255 bytes is the function's error, not a truncated one. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	d = request(&pool, 5, 1);
	ferry_instance_respond(&in, &d, 200, 0, big);
	CHECK(recv(other, &got, sizeof(got), 0) == sizeof(got) && got.flags == FERRY_F_ERROR &&
	      got.status == FERRY_ST_FUNCTION_ERROR, "oversized tag fails the request");
	ferry_pool_free(&pool, got.offset, got.generation);

	CHECK(in_use(&pool) == 0, "nothing leaked: %u", in_use(&pool));
	close(other);
	ferry_instance_close(&in);
	ferry_pool_detach(&pool);
}

static void test_respond_moves_a_full_body(void)
{
	static const struct ferry_pool_class_spec two[] = { { .buf_size = 2048, .count = 2 },
							    { .buf_size = 8192, .count = 2 } };
	struct ferry_pool pool;
	struct ferry_instance in;
	struct ferry_desc d, got;
	struct ferry_pool_stats st;
	char tag[256];
	int other;

	setup_classes(&pool, &in, &other, "", two, 2);
	d = request(&pool, 5, 2048);
	uint64_t full = d.offset;
	memset(ferry_pool_ptr(&pool, d.offset), 'b', 2048);
	CHECK(ferry_instance_respond(&in, &d, 201, 0, "application/x-full") == 0, "respond");
	CHECK(recv(other, &got, sizeof(got), 0) == sizeof(got) && got.flags == FERRY_F_RESPONSE, "sent");
	CHECK(got.offset != full && trailer(&pool, &got, tag) == 2048 && strcmp(tag, "application/x-full") == 0,
	      "moved to a bigger buffer with its trailer");
	CHECK(((uint8_t *)ferry_pool_ptr(&pool, got.offset))[2047] == 'b', "body copied");
	ferry_pool_stats(&pool, &st);
	CHECK(st.cls[0].in_use == 0 && st.cls[1].in_use == 1, "the full buffer freed");
	ferry_pool_free(&pool, got.offset, got.generation);

	/* The router refuses (peer gone): the response is freed, not leaked. */
	close(other);
	d = request(&pool, 5, 10);
	CHECK(ferry_instance_respond(&in, &d, 200, 0, "") < 0, "refused");
	ferry_pool_stats(&pool, &st);
	CHECK(st.cls[0].in_use == 0 && st.cls[1].in_use == 0, "nothing leaked");
	ferry_instance_close(&in);
	ferry_pool_detach(&pool);
}

static void test_accept_clears_forged_response(void)
{
	struct ferry_pool pool;
	struct ferry_instance in;
	struct ferry_desc d, got;
	int other;

	setup(&pool, &in, &other, "out=3");
	d = request(&pool, 1, 10);
	d.flags = FERRY_F_RESPONSE;
	d.status = 200;
	CHECK(ferry_instance_accept(&in, &d) == 0 && d.flags == 0, "flag cleared on accept");
	CHECK(ferry_instance_forward(&in, &d, 0) == 0, "forward");
	CHECK(recv(other, &got, sizeof(got), 0) == sizeof(got) && got.stage == 3, "goes to the next stage");
	ferry_pool_free(&pool, got.offset, got.generation);
	close(other);
	ferry_instance_close(&in);
	ferry_pool_detach(&pool);
}

int main(void)
{
	test_parse_next();
	test_accept_validates_every_field();
	test_forward_and_fail();
	test_respond();
	test_respond_moves_a_full_body();
	test_accept_clears_forged_response();
	return check_summary("test_instance");
}
