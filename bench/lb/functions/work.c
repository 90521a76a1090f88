// SPDX-License-Identifier: Apache-2.0
/*
 * Benchmark and test function: burns WORK_US microseconds of its own CPU
 * time per request (default 2000), then answers with the node it ran on,
 * so a caller can tell which instance served it. CPU time, not wall time:
 * an instance that gets less CPU (a cgroup quota, a busy neighbour) takes
 * longer in wall time, as real work would, and queues up.
 *
 * A request may set its own work in its JSON body (bench:autoscale --live
 * does, chains have no per-stage environment): "cpuUs": N replaces
 * WORK_US, and "waitUs": N sleeps that long after the CPU part, holding
 * the instance as a call to a slower service would (the runner serves one
 * request at a time, so the wait is what makes more instances help
 * without needing more CPUs). Bodies without them (bench:lb's "{}") work
 * as before.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/ferry_fn.h"

/* Most either may ask for: 10 s, as WORK_US. */
#define MAX_US (10L * 1000 * 1000)

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
	return work_us < 0 || work_us > MAX_US;
}

static long long cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The whole number after "key": in the body, or fallback when there is
 * none or it is out of 0..MAX_US. The body is not NUL-terminated. */
static long body_us(const uint8_t *body, uint32_t len, const char *key, long fallback)
{
	const uint8_t *at = memmem(body, len, key, strlen(key));
	long v = 0;
	int digits = 0;

	if (!at)
		return fallback;
	at += strlen(key);
	while (at < body + len && (*at == ' ' || *at == ':'))
		at++;
	while (at < body + len && *at >= '0' && *at <= '9' && v <= MAX_US) {
		v = v * 10 + (*at++ - '0');
		digits++;
	}
	return digits > 0 && v <= MAX_US ? v : fallback;
}

int ferry_handle(struct ferry_call *call)
{
	uint32_t len = 0;
	const uint8_t *body = ferry_input(call, &len);
	long cpu = body_us(body, len, "\"cpuUs\"", work_us);
	long wait = body_us(body, len, "\"waitUs\"", 0);
	long long until = cpu_us() + cpu;
	volatile unsigned long spin = 0;
	uint8_t *out;
	int n;

	while (cpu_us() < until)
		for (int i = 0; i < 1000; i++)
			spin += i;
	if (wait > 0) {
		struct timespec ts = { .tv_sec = wait / 1000000, .tv_nsec = (wait % 1000000) * 1000 };

		while (nanosleep(&ts, &ts) != 0)
			;
	}
	out = ferry_output_alloc(call, sizeof(node) + 8);
	if (!out)
		return -1;
	n = snprintf((char *)out, sizeof(node) + 8, "%s", node);
	return ferry_output_commit(call, (uint32_t)n);
}
