// SPDX-License-Identifier: Apache-2.0
/* Pool behaviour: allocation, every rejected free, ownership, reclaim, and
 * lock-free allocation from several processes sharing one mapping. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "ferry/pool.h"

static const struct ferry_pool_class_spec classes[] = {
	{ .buf_size = 2048, .count = 8 },
	{ .buf_size = 65536, .count = 2 },
};

static uint32_t in_use(struct ferry_pool *p)
{
	struct ferry_pool_stats st;
	uint32_t c, n = 0;

	ferry_pool_stats(p, &st);
	for (c = 0; c < st.nclasses; c++)
		n += st.cls[c].in_use;
	return n;
}

static void test_alloc_and_errors(void)
{
	struct ferry_pool p;
	struct ferry_buf b[16], big;
	int i, rc;

	CHECK(ferry_pool_create(&p, "t", classes, 2) == 0, "create");
	CHECK(ferry_pool_alloc(&p, 100, 0, &b[0]) == -EINVAL, "owner 0 refused");
	CHECK(ferry_pool_alloc(&p, 65537, 1, &big) == FERRY_ETOO_LARGE, "too large");
	for (i = 0; i < 8; i++)
		CHECK(ferry_pool_alloc(&p, 100, 1, &b[i]) == 0 && b[i].capacity == 2048, "small %d", i);
	/* Small class empty: falls through to the larger class. */
	CHECK(ferry_pool_alloc(&p, 100, 1, &b[8]) == 0 && b[8].capacity == 65536, "fallthrough");
	CHECK(ferry_pool_alloc(&p, 100, 1, &b[9]) == 0, "fallthrough 2");
	rc = ferry_pool_alloc(&p, 100, 1, &b[10]);
	CHECK(rc == FERRY_EPOOL_EXHAUSTED, "exhausted, got %d", rc);
	CHECK(strstr(ferry_pool_strerror(rc), "exhausted") != NULL, "message");
	CHECK(in_use(&p) == 10, "10 in use");

	CHECK(ferry_pool_check(&p, b[0].offset, b[0].generation, 2048) == 2048, "check ok");
	CHECK(ferry_pool_check(&p, b[0].offset, b[0].generation, 2049) == FERRY_EBAD_LENGTH, "length");
	CHECK(ferry_pool_check(&p, b[0].offset + 1, b[0].generation, 1) == FERRY_EBAD_OFFSET, "misaligned");
	CHECK(ferry_pool_check(&p, p.size + 4096, 1, 1) == FERRY_EBAD_OFFSET, "outside");
	CHECK(ferry_pool_check(&p, 0, 1, 1) == FERRY_EBAD_OFFSET, "header");
	CHECK(ferry_pool_free(&p, b[0].offset, b[0].generation + 1) == FERRY_ESTALE, "stale free");
	CHECK(ferry_pool_free(&p, b[0].offset, b[0].generation) == 0, "free");
	CHECK(ferry_pool_free(&p, b[0].offset, b[0].generation) == FERRY_EDOUBLE_FREE, "double free");
	/* Reallocated: the old generation is now stale. */
	CHECK(ferry_pool_alloc(&p, 10, 2, &b[11]) == 0 && b[11].offset == b[0].offset, "reuse");
	CHECK(b[11].generation != b[0].generation, "new generation");
	CHECK(ferry_pool_check(&p, b[0].offset, b[0].generation, 1) == FERRY_ESTALE, "stale check");

	struct ferry_pool_stats st;
	ferry_pool_stats(&p, &st);
	CHECK(st.bad_frees == 2 && st.alloc_failures == 1, "counted %lu %lu",
	      (unsigned long)st.bad_frees, (unsigned long)st.alloc_failures);

	/* Ownership moves; reclaim frees only what the dead owner holds. */
	CHECK(ferry_pool_take(&p, b[1].offset, b[1].generation, 7) == 0, "take");
	CHECK(ferry_pool_take(&p, b[1].offset, b[1].generation + 5, 7) == FERRY_ESTALE, "stale take");
	CHECK(ferry_pool_reclaim(&p, 1) == 8, "reclaim owner 1 (7 small + 2 big - 1 taken)");
	CHECK(ferry_pool_reclaim(&p, 7) == 1, "reclaim owner 7");
	CHECK(ferry_pool_reclaim(&p, 2) == 1, "reclaim owner 2");
	CHECK(in_use(&p) == 0, "empty after reclaim: %u", in_use(&p));
	ferry_pool_detach(&p);
}

static void test_attach_rejects_garbage(void)
{
	struct ferry_pool p;
	int fds[2];

	CHECK(pipe(fds) == 0, "pipe");
	CHECK(ferry_pool_attach(&p, fds[0]) == FERRY_EBAD_POOL, "pipe is not a pool");
	close(fds[0]);
	close(fds[1]);
}

/* Several processes allocate and free from one mapping at once. */
static void test_cross_process_stress(void)
{
	static const struct ferry_pool_class_spec cls[] = {
		{ .buf_size = 64, .count = 64 },
		{ .buf_size = 4096, .count = 16 },
	};
	struct ferry_pool p;
	int w, status, ok = 1;

	CHECK(ferry_pool_create(&p, "stress", cls, 2) == 0, "create");
	for (w = 0; w < 4; w++) {
		if (fork() == 0) {
			struct ferry_pool mine;
			struct ferry_buf held[8];
			int i, k, bad = 0;

			if (ferry_pool_attach(&mine, p.fd) < 0)
				_exit(10);
			srand(w + 1);
			for (i = 0; i < 100000; i++) {
				int n = 1 + rand() % 8;

				for (k = 0; k < n; k++) {
					if (ferry_pool_alloc(&mine, 1 + rand() % 4096, w + 1, &held[k]) < 0) {
						n = k;
						break;
					}
					/* Stamp the buffer; anyone else holding it would clobber it. */
					memset(ferry_pool_ptr(&mine, held[k].offset), w + 1, 64);
				}
				for (k = 0; k < n; k++) {
					uint8_t *b = ferry_pool_ptr(&mine, held[k].offset);

					if (b[0] != w + 1 || b[63] != w + 1)
						bad++;
					if (ferry_pool_free(&mine, held[k].offset, held[k].generation) < 0)
						bad++;
				}
			}
			_exit(bad ? 1 : 0);
		}
	}
	for (w = 0; w < 4; w++) {
		wait(&status);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			ok = 0;
	}
	CHECK(ok, "no process saw a buffer handed out twice or a failed free");
	CHECK(in_use(&p) == 0, "all returned, %u in use", in_use(&p));
	ferry_pool_detach(&p);
}

/* A process that dies holding buffers: reclaim returns them all. */
static void test_reclaim_after_crash(void)
{
	struct ferry_pool p;
	int status;
	pid_t pid;

	CHECK(ferry_pool_create(&p, "crash", classes, 2) == 0, "create");
	pid = fork();
	if (pid == 0) {
		struct ferry_pool mine;
		struct ferry_buf b;
		int i;

		ferry_pool_attach(&mine, p.fd);
		for (i = 0; i < 5; i++) {
			ferry_pool_alloc(&mine, 10, 42, &b);
			ferry_pool_tag(&mine, b.offset, b.generation, i < 3 ? 900 : 901 + i);
		}
		abort();
	}
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status), "child crashed");
	CHECK(in_use(&p) == 5, "5 held by the dead child");
	uint32_t tags[8];
	int ntags = 0;
	CHECK(ferry_pool_reclaim_tagged(&p, 42, tags, 8, &ntags) == 5, "reclaimed 5");
	CHECK(ntags == 3 && tags[0] == 900, "the three requests it held, each once (%d)", ntags);
	CHECK(in_use(&p) == 0, "none left");
	ferry_pool_detach(&p);
}

/* A sender giving up frees the buffer only while no receiver has taken it. */
static void test_free_owned(void)
{
	struct ferry_pool p;
	struct ferry_buf a, b;
	struct ferry_pool_stats st;

	CHECK(ferry_pool_create(&p, "owned", classes, 2) == 0, "create");
	CHECK(ferry_pool_alloc(&p, 10, 1, &a) == 0 && ferry_pool_alloc(&p, 10, 1, &b) == 0, "alloc two");
	CHECK(ferry_pool_take(&p, b.offset, b.generation, 2) == 0, "a receiver takes b");
	CHECK(ferry_pool_free_owned(&p, a.offset, a.generation, 1) == 0, "a, still ours, is freed");
	CHECK(ferry_pool_free_owned(&p, b.offset, b.generation, 1) == FERRY_ENOT_OWNER, "b is left alone");
	CHECK(ferry_pool_free_owned(&p, a.offset, a.generation, 1) == FERRY_EDOUBLE_FREE, "a is gone");
	CHECK(ferry_pool_free_owned(&p, b.offset, b.generation + 1, 2) == FERRY_ESTALE, "stale");
	CHECK(in_use(&p) == 1, "only b held");
	ferry_pool_stats(&p, &st);
	CHECK(st.bad_frees == 0, "asking is not a bad free");
	ferry_pool_detach(&p);
}


/* Elastic classes: grow into reserved slots, shrink idle ones, and a
 * descriptor naming a slot out of service is refused. */
static void test_grow_and_shrink(void)
{
	static const struct ferry_pool_class_spec cls[] = {
		{ .buf_size = 2048, .count = 2, .max_count = 6 },
		{ .buf_size = 65536, .count = 1, .max_count = 3 },
	};
	struct ferry_pool p, other;
	struct ferry_buf b[8];
	struct ferry_pool_stats st;
	int i;

	CHECK(ferry_pool_create(&p, "elastic", cls, 2) == 0, "create");
	CHECK(ferry_pool_attach(&other, p.fd) == 0, "another process's view maps it");
	for (i = 0; i < 2; i++)
		CHECK(ferry_pool_alloc(&other, 100, 5, &b[i]) == 0 && b[i].capacity == 2048, "small %d", i);
	CHECK(ferry_pool_alloc(&other, 100, 5, &b[2]) == 0 && b[2].capacity == 65536, "spills to the big class");
	CHECK(ferry_pool_alloc(&other, 100, 5, &b[3]) == FERRY_EPOOL_EXHAUSTED, "capacity reached");
	ferry_pool_stats(&p, &st);
	CHECK(st.cls[0].misses == 2 && st.cls[0].count == 2 && st.cls[0].max_count == 6,
	      "small class missed twice (%lu), 2 of 6 in service", (unsigned long)st.cls[0].misses);
	/* A never-used reserved slot is not a live buffer. */
	CHECK(ferry_pool_check(&other, b[1].offset + 2048 * 3, 1, 1) == FERRY_EDOUBLE_FREE, "reserved slot is free");

	CHECK(ferry_pool_grow(&p, 0, 10) == 4, "grows to max_count only");
	CHECK(ferry_pool_grow(&p, 0, 1) == 0, "then no more");
	for (i = 3; i < 7; i++)
		CHECK(ferry_pool_alloc(&other, 100, 5, &b[i]) == 0 && b[i].capacity == 2048, "grown slot %d", i);
	for (i = 3; i < 7; i++)
		ferry_pool_free(&other, b[i].offset, b[i].generation);

	CHECK(ferry_pool_shrink(&p, 0, 3) == 3, "3 idle slots retired");
	ferry_pool_stats(&p, &st);
	CHECK(st.cls[0].count == 3 && st.cls[0].in_use == 2, "3 in service, 2 in use (%u, %u)",
	      st.cls[0].count, st.cls[0].in_use);
	CHECK(ferry_pool_shrink(&p, 0, 10) == 1, "only free slots retire, in-use ones stay");
	CHECK(ferry_pool_alloc(&other, 100, 5, &b[3]) == FERRY_EPOOL_EXHAUSTED, "small class empty again, big one full");
	CHECK(ferry_pool_grow(&p, 0, 2) == 2, "retired slots come back first");
	ferry_pool_stats(&p, &st);
	CHECK(st.cls[0].count == 4, "4 in service");
	for (i = 0; i < 2; i++)
		CHECK(ferry_pool_free(&other, b[i].offset, b[i].generation) == 0, "free held %d", i);
	ferry_pool_stats(&p, &st);
	CHECK(st.cls[0].in_use == 0 && st.cls[1].in_use == 1, "all small back");
	CHECK(ferry_pool_free(&other, b[2].offset, b[2].generation) == 0, "free the big one");
	CHECK(ferry_pool_grow(&p, 9, 1) == -EINVAL && ferry_pool_shrink(&p, 9, 1) == -EINVAL, "bad class");
	ferry_pool_detach(&other);
	ferry_pool_detach(&p);
}

/* A retired slot named by a stale descriptor is refused with its reason. */
static void test_retired_slot_refused(void)
{
	static const struct ferry_pool_class_spec cls[] = { { .buf_size = 4096, .count = 1, .max_count = 2 } };
	struct ferry_pool p;
	struct ferry_buf b;

	CHECK(ferry_pool_create(&p, "retired", cls, 1) == 0, "create");
	CHECK(ferry_pool_alloc(&p, 10, 3, &b) == 0, "alloc");
	CHECK(ferry_pool_free(&p, b.offset, b.generation) == 0, "free");
	CHECK(ferry_pool_shrink(&p, 0, 1) == 1, "retire it");
	CHECK(ferry_pool_check(&p, b.offset, b.generation, 1) == FERRY_ERETIRED, "check: retired");
	CHECK(ferry_pool_take(&p, b.offset, b.generation, 4) == FERRY_ERETIRED, "take: retired");
	CHECK(ferry_pool_free(&p, b.offset, b.generation) == FERRY_ERETIRED, "free: retired");
	CHECK(ferry_pool_reclaim(&p, 3) == 0, "reclaim leaves it");
	CHECK(strstr(ferry_pool_strerror(FERRY_ERETIRED), "out of service") != NULL, "message");
	ferry_pool_detach(&p);
}

/* Buffers past their deadline are freed whoever holds them; outputs
 * inherit the deadline of the input they answer. */
static void test_expire(void)
{
	struct ferry_pool p;
	struct ferry_buf a, b, c, d;
	struct ferry_pool_expired out[4];
	uint32_t now = ferry_pool_now_ms();

	CHECK(ferry_pool_create(&p, "expire", classes, 2) == 0, "create");
	CHECK(ferry_pool_alloc(&p, 10, 1, &a) == 0 && ferry_pool_alloc(&p, 10, 1, &b) == 0 &&
	      ferry_pool_alloc(&p, 10, 1, &c) == 0 && ferry_pool_alloc(&p, 10, 1, &d) == 0, "alloc");
	CHECK(ferry_pool_label(&p, a.offset, a.generation, 77, now + 100) == 0, "label a");
	CHECK(ferry_pool_take(&p, a.offset, a.generation, 9) == 0, "a hung in instance 9");
	CHECK(ferry_pool_label(&p, b.offset, b.generation, 78, now + 5000) == 0, "label b");
	CHECK(ferry_pool_inherit(&p, c.offset, c.generation, a.offset, a.generation) == 0, "c inherits a");
	CHECK(ferry_pool_inherit(&p, c.offset, c.generation, a.offset, a.generation + 1) == FERRY_ESTALE,
	      "inherit from a stale source");
	/* d has no deadline: only its owner's death frees it. */
	CHECK(ferry_pool_expire(&p, now + 99, out, 4) == 0, "nothing due yet");
	CHECK(ferry_pool_expire(&p, now + 100, out, 4) == 2, "a and c due");
	CHECK(out[0].tag == 77 && out[1].tag == 77, "both for request 77");
	CHECK((out[0].owner == 9 && out[1].owner == 1) || (out[0].owner == 1 && out[1].owner == 9),
	      "reported with their holders");
	CHECK(ferry_pool_check(&p, a.offset, a.generation, 1) == FERRY_EDOUBLE_FREE, "a freed");
	CHECK(ferry_pool_free(&p, a.offset, a.generation) == FERRY_EDOUBLE_FREE,
	      "the hung holder's late free is refused");
	/* Wrap-around: a deadline just past 2^32 ms is still in the future. */
	CHECK(ferry_pool_label(&p, b.offset, b.generation, 78, 5) == 0, "b's deadline wraps");
	CHECK(ferry_pool_expire(&p, 0xFFFFFFF0u, out, 4) == 0, "not due before the wrap");
	CHECK(ferry_pool_expire(&p, 6, out, 4) == 1 && out[0].tag == 78, "due after it");
	CHECK(in_use(&p) == 1, "only d left");
	CHECK(ferry_pool_now_ms() != 0, "the clock never reads 0");
	ferry_pool_detach(&p);
}

/* Nothing a request wrote survives into the next allocation, whatever the
 * class size (and after a reclaim too). */
static void test_scrub_on_free(void)
{
	static const struct ferry_pool_class_spec cls[] = {
		{ .buf_size = 2048, .count = 1 },
		{ .buf_size = 1 << 20, .count = 1 },
	};
	struct ferry_pool p;
	struct ferry_buf b;
	int k, dirty;

	CHECK(ferry_pool_create(&p, "scrub", cls, 2) == 0, "create");
	for (k = 0; k < 2; k++) {
		uint32_t size = cls[k].buf_size;
		uint8_t *at;
		uint32_t i;

		CHECK(ferry_pool_alloc(&p, size, 1, &b) == 0 && b.capacity == size, "alloc %u", size);
		memset(ferry_pool_ptr(&p, b.offset), 0xAB, size);
		CHECK(ferry_pool_free(&p, b.offset, b.generation) == 0, "free");
		CHECK(ferry_pool_alloc(&p, size, 2, &b) == 0, "alloc again");
		at = ferry_pool_ptr(&p, b.offset);
		for (i = 0, dirty = 0; i < size; i++)
			dirty += at[i] != 0;
		CHECK(dirty == 0, "class %u: %d bytes of the last request survived", size, dirty);
		/* The mapping is still usable after its pages were dropped. */
		at[size - 1] = 1;
		CHECK(ferry_pool_reclaim(&p, 2) == 1, "reclaim");
		CHECK(ferry_pool_alloc(&p, size, 3, &b) == 0 && ((uint8_t *)ferry_pool_ptr(&p, b.offset))[size - 1] == 0,
		      "reclaimed buffers are scrubbed too");
		ferry_pool_free(&p, b.offset, b.generation);
	}
	ferry_pool_detach(&p);
}

/* A tenant scribbling a live slot onto the free list does not get it
 * handed out twice. */
static void test_scribbled_free_list(void)
{
	static const struct ferry_pool_class_spec cls[] = { { .buf_size = 64, .count = 2 } };
	struct ferry_pool p;
	struct ferry_buf a, b, c;
	uint64_t *head;

	CHECK(ferry_pool_create(&p, "scribble", cls, 1) == 0, "create");
	CHECK(ferry_pool_alloc(&p, 10, 1, &a) == 0, "alloc a");
	/* Point the free list back at a (index 0), which is in use. The free
	 * list head of class 0 sits right after the class's fixed fields;
	 * find it by the value it must hold now: (tag << 32) | 2. */
	for (head = (uint64_t *)p.base; (uint8_t *)head < p.base + 512; head++)
		if ((uint32_t)*head == 2 && (*head >> 32) != 0)
			break;
	CHECK((uint8_t *)head < p.base + 512, "found the free list head");
	*head = (*head & 0xFFFFFFFF00000000ull) | 1;
	CHECK(ferry_pool_alloc(&p, 10, 2, &b) == FERRY_EPOOL_EXHAUSTED || b.offset != a.offset,
	      "a is not handed out again");
	(void)c;
	ferry_pool_detach(&p);
}

/* Pages of [at, at + len) resident in memory (the shared memfd's pages,
 * whoever touched them). */
static size_t resident_pages(const uint8_t *at, size_t len)
{
	size_t page = 4096, skew = (uintptr_t)at % page, n = (skew + len + page - 1) / page, count = 0;
	unsigned char *vec = malloc(n);

	CHECK(vec && mincore((void *)(at - skew), skew + len, vec) == 0, "mincore");
	for (size_t i = 0; vec && i < n; i++)
		count += vec[i] & 1;
	free(vec);
	return count;
}

/* A job's model-sized class (ResNet-152: 60 M float32 + a 64-byte header,
 * 240 MB) in a pool bigger than 4 GiB: offsets past 32 bits allocate,
 * check, move and free like any other (the memfd is sparse: cheap). */
static void test_model_sized_class(void)
{
	static const uint32_t params = 60000000;
	const uint32_t size = (64 + 4 * params + 63) / 64 * 64;
	const struct ferry_pool_class_spec cls[] = {
		{ .buf_size = 64, .count = 4 },
		{ .buf_size = size, .count = 2, .max_count = 20 },
	};
	struct ferry_buf b[20];
	struct ferry_pool p, other;
	int high = -1;

	CHECK(ferry_pool_create(&p, "model", cls, 2) == 0, "a 240 MB class");
	CHECK(p.size > (5ull << 30) / 4 * 3 && p.size >= 20ull * size, "reserves %zu bytes", p.size);
	CHECK(ferry_pool_grow(&p, 1, 18) == 18, "grown to 20 slots");
	for (int i = 0; i < 20; i++) {
		CHECK(ferry_pool_alloc(&p, size, 1, &b[i]) == 0 && b[i].capacity == size, "alloc %d", i);
		if (b[i].offset > UINT32_MAX && high < 0)
			high = i;
	}
	CHECK(high >= 0, "some buffers lie past 4 GiB");
	CHECK(ferry_pool_alloc(&p, size, 1, &b[0]) == FERRY_EPOOL_EXHAUSTED, "then exhausted");
	CHECK(ferry_pool_alloc(&p, size + 64, 1, &b[0]) == FERRY_ETOO_LARGE, "larger than the class");
	if (high >= 0) {
		struct ferry_buf h = b[high];
		uint8_t *last = (uint8_t *)ferry_pool_ptr(&p, h.offset) + size - 1;

		*last = 7;
		CHECK(ferry_pool_check(&p, h.offset, h.generation, size) == (int)size, "check past 4 GiB");
		CHECK(ferry_pool_attach(&other, p.fd) == 0, "another process's view");
		CHECK(((uint8_t *)ferry_pool_ptr(&other, h.offset))[size - 1] == 7, "sees the same byte");
		CHECK(ferry_pool_take(&other, h.offset, h.generation, 2) == 0, "take past 4 GiB");
		CHECK(ferry_pool_free_owned(&other, h.offset, h.generation, 2) == 0, "free past 4 GiB");
		CHECK(*last == 0, "and it reads as zeros again");
		ferry_pool_detach(&other);
	}
	for (int i = 0; i < 20; i++)
		if (i != high)
			ferry_pool_free(&p, b[i].offset, b[i].generation);
	CHECK(in_use(&p) == 0, "all back: %u", in_use(&p));
	ferry_pool_detach(&p);
}

/* Freeing a buffer of 1 MiB or more gives its pages back: the memory a
 * folded update took is gone at once (an aggregator's RSS falls), and the
 * buffer reads as zeros, edges included (its size is not a page multiple,
 * so its first and last pages are shared with its neighbours). Smaller
 * buffers are zeroed in place, their pages kept. */
static void test_free_gives_pages_back(void)
{
	const uint32_t big = (1u << 21) + 192; /* 2 MiB + 3 cache lines */
	const struct ferry_pool_class_spec cls[] = {
		{ .buf_size = 65536, .count = 1 },
		{ .buf_size = big, .count = 3 },
	};
	struct ferry_pool p;
	struct ferry_buf a, b, c, s;
	uint8_t *at;
	size_t before, after;
	int dirty = 0;

	CHECK(ferry_pool_create(&p, "punch", cls, 2) == 0, "create");
	CHECK(ferry_pool_alloc(&p, big, 1, &a) == 0 && ferry_pool_alloc(&p, big, 1, &b) == 0 &&
	      ferry_pool_alloc(&p, big, 1, &c) == 0, "three big");
	memset(ferry_pool_ptr(&p, a.offset), 0x11, big);
	memset(ferry_pool_ptr(&p, b.offset), 0x22, big);
	memset(ferry_pool_ptr(&p, c.offset), 0x33, big);
	at = ferry_pool_ptr(&p, b.offset);
	before = resident_pages(at, big);
	CHECK(before >= big / 4096, "written pages are resident: %zu", before);
	CHECK(ferry_pool_free(&p, b.offset, b.generation) == 0, "free the middle one");
	after = resident_pages(at, big);
	CHECK(after <= 2, "its pages went back: %zu resident of %zu (at most the 2 shared ends)", after, before);
	for (uint32_t i = 0; i < big; i++)
		dirty += at[i] != 0;
	CHECK(dirty == 0, "%d bytes survived the free", dirty);
	CHECK(((uint8_t *)ferry_pool_ptr(&p, a.offset))[big - 1] == 0x11 &&
	      ((uint8_t *)ferry_pool_ptr(&p, c.offset))[0] == 0x33, "the neighbours' bytes in shared pages are intact");
	CHECK(ferry_pool_alloc(&p, 100, 1, &s) == 0, "small");
	memset(ferry_pool_ptr(&p, s.offset), 0x44, 65536);
	ferry_pool_free(&p, s.offset, s.generation);
	CHECK(resident_pages(ferry_pool_ptr(&p, s.offset), 65536) == 16, "a small buffer keeps its pages (memset)");
	ferry_pool_free(&p, a.offset, a.generation);
	ferry_pool_free(&p, c.offset, c.generation);
	CHECK(in_use(&p) == 0, "all back");
	ferry_pool_detach(&p);
}

/* A sealed model cannot be freed, taken or expired by mistake until it is
 * unsealed; its owner's death still frees it; a new allocation of the slot
 * starts unsealed. */
static void test_seal(void)
{
	static const struct ferry_pool_class_spec cls[] = { { .buf_size = 4096, .count = 2 } };
	struct ferry_pool p;
	struct ferry_buf b, again;
	struct ferry_pool_stats st;

	CHECK(ferry_pool_create(&p, "seal", cls, 1) == 0, "create");
	CHECK(ferry_pool_alloc(&p, 100, 1, &b) == 0, "alloc");
	CHECK(ferry_pool_sealed(&p, b.offset, b.generation) == 0, "not sealed when allocated");
	ferry_pool_label(&p, b.offset, b.generation, 5, ferry_pool_now_ms());
	CHECK(ferry_pool_seal(&p, b.offset, b.generation) == 0, "seal");
	CHECK(ferry_pool_sealed(&p, b.offset, b.generation) == 1, "sealed");
	CHECK(ferry_pool_seal(&p, b.offset, b.generation + 1) == FERRY_ESTALE, "seal checks the generation");
	CHECK(ferry_pool_free(&p, b.offset, b.generation) == FERRY_ESEALED, "free refused");
	CHECK(ferry_pool_free_owned(&p, b.offset, b.generation, 1) == FERRY_ESEALED, "owned free refused");
	CHECK(ferry_pool_take(&p, b.offset, b.generation, 2) == FERRY_ESEALED, "take refused");
	CHECK(ferry_pool_expire(&p, ferry_pool_now_ms() + 1000, NULL, 0) == 0, "past its deadline, not expired");
	ferry_pool_stats(&p, &st);
	CHECK(st.bad_frees == 1 && st.cls[0].in_use == 1, "the refused free counted, still in use");
	CHECK(ferry_pool_check(&p, b.offset, b.generation, 100) == 4096, "still readable");
	CHECK(ferry_pool_unseal(&p, b.offset, b.generation) == 0, "unseal");
	CHECK(ferry_pool_take(&p, b.offset, b.generation, 2) == 0, "take after unseal");
	CHECK(ferry_pool_free(&p, b.offset, b.generation) == 0, "free after unseal");
	CHECK(ferry_pool_seal(&p, b.offset, b.generation) == FERRY_EDOUBLE_FREE, "a free buffer cannot be sealed");

	CHECK(ferry_pool_alloc(&p, 100, 3, &b) == 0 && ferry_pool_seal(&p, b.offset, b.generation) == 0, "sealed again");
	CHECK(ferry_pool_reclaim(&p, 3) == 1, "its owner died: reclaimed all the same");
	CHECK(ferry_pool_alloc(&p, 100, 4, &again) == 0 && again.offset == b.offset &&
	      ferry_pool_sealed(&p, again.offset, again.generation) == 0, "the slot comes back unsealed");
	CHECK(ferry_pool_free(&p, again.offset, again.generation) == 0, "and frees normally");
	ferry_pool_detach(&p);
}

int main(void)
{
	test_alloc_and_errors();
	test_attach_rejects_garbage();
	test_cross_process_stress();
	test_reclaim_after_crash();
	test_free_owned();
	test_grow_and_shrink();
	test_retired_slot_refused();
	test_expire();
	test_scrub_on_free();
	test_scribbled_free_list();
	test_model_sized_class();
	test_free_gives_pages_back();
	test_seal();
	return check_summary("test_pool");
}
