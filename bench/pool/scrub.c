// SPDX-License-Identifier: Apache-2.0
/*
 * What scrubbing freed buffers costs (issue #8: "free buffers are zeroed
 * before reuse or on free; measure the cost").
 *
 * One request's life in the pool, repeated: allocate a buffer, write the
 * payload into it, free it. Built four times from the same pool.c (see
 * bench/Makefile):
 *   none    FERRY_POOL_SCRUB=0  (what ferry did before: nothing)
 *   memset  FERRY_POOL_SCRUB=1  (zero every freed buffer: what ferry ships)
 *   punch   FERRY_POOL_SCRUB=2  (give every freed buffer's pages back)
 * Prints one JSON object: per class and payload, ns per alloc-write-free
 * cycle (median of rounds) for this variant. bench/pool/run.sh runs all
 * three, interleaved, and prints the table.
 *
 *   scrub-<variant> [--rounds N] [--ms M]
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/pool.h"

#ifndef VARIANT
#define VARIANT "memset"
#endif

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* A class, and a payload as big as a request filling part of it. */
struct scenario {
	uint32_t size;
	uint32_t payload;
};

static const struct scenario scenarios[] = {
	{ 2048, 1024 },       /* a small JSON request */
	{ 8192, 8192 },
	{ 65536, 8192 },      /* a small payload in a big class */
	{ 65536, 65536 },
	{ 131072, 70000 },    /* the 70 kB bodies of issue #8 */
	{ 1 << 20, 1 << 20 },
	{ 4 << 20, 1 << 20 },
};

int main(int argc, char **argv)
{
	int rounds = 5, ms = 200, r, i;
	uint8_t *src;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--rounds"))
			rounds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--ms"))
			ms = atoi(argv[i + 1]);
	}
	if (rounds < 1 || rounds > 99 || ms < 1) {
		fprintf(stderr, "usage: scrub-%s [--rounds 1..99] [--ms M]\n", VARIANT);
		return 2;
	}
	src = malloc(4 << 20);
	memset(src, 0x5a, 4 << 20);
	printf("{\"variant\":\"%s\",\"results\":[", VARIANT);
	for (i = 0; i < (int)(sizeof(scenarios) / sizeof(scenarios[0])); i++) {
		const struct scenario *sc = &scenarios[i];
		struct ferry_pool_class_spec spec = { .buf_size = sc->size, .count = 4 };
		struct ferry_pool p;
		double per[99];

		if (ferry_pool_create(&p, "scrub-bench", &spec, 1) < 0) {
			fprintf(stderr, "cannot create a pool of %u-byte buffers\n", sc->size);
			return 1;
		}
		for (r = 0; r < rounds; r++) {
			uint64_t start = now_ns(), end = start + (uint64_t)ms * 1000000u, t;
			long n = 0;

			do {
				struct ferry_buf b;

				if (ferry_pool_alloc(&p, sc->payload, 1, &b) < 0)
					return 1;
				memcpy(ferry_pool_ptr(&p, b.offset), src, sc->payload);
				ferry_pool_free(&p, b.offset, b.generation);
				n++;
			} while ((n & 63) || (t = now_ns()) < end);
			per[r] = (double)(t - start) / (double)n;
		}
		qsort(per, rounds, sizeof(per[0]), cmp);
		printf("%s{\"class\":%u,\"payload\":%u,\"nsPerCycle\":%.0f}", i ? "," : "", sc->size,
		       sc->payload, per[rounds / 2]);
		ferry_pool_detach(&p);
	}
	printf("]}\n");
	free(src);
	return 0;
}
