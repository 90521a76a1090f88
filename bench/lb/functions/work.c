// SPDX-License-Identifier: Apache-2.0
/*
 * Benchmark and test function: burns WORK_US microseconds of its own CPU
 * time per request (default 2000), then answers with the node it ran on,
 * so a caller can tell which instance served it. CPU time, not wall time:
 * an instance that gets less CPU (a cgroup quota, a busy neighbour) takes
 * longer in wall time, as real work would, and queues up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/ferry_fn.h"

static long work_us = 2000;
static char node[64] = "?";

int ferry_init(const char *stage_name)
{
	const char *w = getenv("WORK_US"), *n = getenv("FERRY_NODE");

	(void)stage_name;
	if (w && *w)
		work_us = strtol(w, NULL, 10);
	if (n && *n)
		snprintf(node, sizeof(node), "%s", n);
	return work_us < 0 || work_us > 10 * 1000 * 1000;
}

static long long cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int ferry_handle(struct ferry_call *call)
{
	long long until = cpu_us() + work_us;
	volatile unsigned long spin = 0;
	uint8_t *out;
	int n;

	while (cpu_us() < until)
		for (int i = 0; i < 1000; i++)
			spin += i;
	out = ferry_output_alloc(call, sizeof(node) + 8);
	if (!out)
		return -1;
	n = snprintf((char *)out, sizeof(node) + 8, "%s", node);
	return ferry_output_commit(call, (uint32_t)n);
}
