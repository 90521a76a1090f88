// SPDX-License-Identifier: Apache-2.0
/* Pool behaviour: allocation, every rejected free, ownership, reclaim, and
 * lock-free allocation from several processes sharing one mapping. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
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

int main(void)
{
	test_alloc_and_errors();
	test_attach_rejects_garbage();
	test_cross_process_stress();
	test_reclaim_after_crash();
	test_free_owned();
	return check_summary("test_pool");
}
