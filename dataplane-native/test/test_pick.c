// SPDX-License-Identifier: Apache-2.0
/*
 * The router's pick as the kernel runs it, against the shared vectors.
 *
 *   test_pick <pick_test.bpf.o> <pick-vectors.txt>
 *
 * bpf/pick_test.bpf.c wraps bpf/pick.bpf.h (the code the SK_MSG router
 * inlines) in a syscall program; every vector's route or ring, with the
 * random number (or key) the router would have drawn, goes into the
 * program's global `args` (its .bss map), BPF_PROG_TEST_RUN runs it, and
 * the instance it returns must be the expected one. control/node/router/pick.test.ts checks the TypeScript
 * pick against the same file, so the two cannot drift apart. That the real
 * router's split follows the weights over real sockets is test_router.c's
 * "weights" case. Needs root (loads BPF).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ferry/abi.h"
#include "check.h"

/* Must match struct pick_args in bpf/pick_test.bpf.c. */
struct pick_args {
	__u32 use_ring;
	__u32 rand;
	__u32 key;
	__u32 pad;
	struct ferry_route route;
	struct ferry_ring ring;
};

static int prog_fd, bss_fd;

/* One prog run; returns the instance the pick chose, or -1 on a failed run. */
static long run(struct pick_args *a)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	__u32 zero = 0;

	if (bpf_map_update_elem(bss_fd, &zero, a, BPF_ANY)) {
		fprintf(stderr, "writing args: %s\n", strerror(errno));
		return -1;
	}
	if (bpf_prog_test_run_opts(prog_fd, &opts)) {
		fprintf(stderr, "BPF_PROG_TEST_RUN: %s\n", strerror(errno));
		return -1;
	}
	return opts.retval;
}

/* "a,b,c" (or "-" for none) into out[]; returns the count, -1 if malformed. */
static int parse_list(char *s, unsigned long long *out, int max)
{
	int n = 0;
	char *tok, *save = NULL;

	if (!strcmp(s, "-"))
		return 0;
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n >= max)
			return -1;
		out[n++] = strtoull(tok, NULL, 10);
	}
	return n;
}

static void pick_case(int line, char *weights, char *rand, char *want)
{
	unsigned long long w[FERRY_MAX_REPLICAS], total = 0;
	struct pick_args *a = calloc(1, sizeof(*a));
	long got, expect = strtol(want, NULL, 10);
	int n = parse_list(weights, w, FERRY_MAX_REPLICAS), i;

	if (!a || n < 0) {
		CHECK(0, "line %d: bad weights", line);
		free(a);
		return;
	}
	/* As ferry_router_set_route() builds a route: instance i + 1, so the
	 * returned id minus one is the index, and 0 (none) becomes -1. */
	for (i = 0; i < n; i++) {
		a->route.instance[i] = i + 1;
		a->route.weight[i] = (__u32)w[i];
		total += w[i];
	}
	a->route.count = n;
	a->route.total_weight = (__u32)total;
	a->rand = (__u32)strtoull(rand, NULL, 10);
	got = run(a);
	CHECK(got >= 0 && got - 1 == expect, "line %d: pick gave index %ld, want %ld",
	      line, got - 1, expect);
	free(a);
}

static void ring_case(int line, char *points, char *key, char *want)
{
	struct pick_args *a = calloc(1, sizeof(*a));
	char *tok, *save = NULL, *colon;
	long got, expect = strtol(want, NULL, 10);
	__u32 n = 0;

	if (!a) {
		CHECK(0, "line %d: out of memory", line);
		return;
	}
	for (tok = strtok_r(points, ",", &save); tok && n < FERRY_RING_MAX;
	     tok = strtok_r(NULL, ",", &save), n++) {
		colon = strchr(tok, ':');
		a->ring.point[n] = (__u32)strtoul(tok, NULL, 10);
		a->ring.instance[n] = colon ? (__u32)strtoul(colon + 1, NULL, 10) : 0;
	}
	a->ring.count = n;
	a->use_ring = 1;
	a->key = (__u32)strtoul(key, NULL, 10);
	got = run(a);
	CHECK(got == expect, "line %d: ring gave instance %ld, want %ld", line, got, expect);
	free(a);
}

/* Malformed contexts the router can never be given still choose nothing. */
static void guard_cases(void)
{
	struct pick_args *a = calloc(1, sizeof(*a));

	if (!a)
		return;
	/* total_weight larger than the weights: a roll past them finds none. */
	a->route.count = 1;
	a->route.instance[0] = 9;
	a->route.weight[0] = 1;
	a->route.total_weight = 10;
	a->rand = 5;
	CHECK(run(a) == 0, "inconsistent route chose an instance");
	a->rand = 10;
	CHECK(run(a) == 9, "inconsistent route: the roll within the weights");
	/* A ring claiming more points than it holds. */
	a->use_ring = 1;
	a->ring.count = FERRY_RING_MAX + 1;
	a->key = 1;
	CHECK(run(a) == 0, "oversized ring chose an instance");
	free(a);
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	char *buf = NULL, *kind, *f1, *f2, *f3, *save;
	size_t cap = 0, len;
	int line = 0, picks = 0, rings = 0;
	FILE *in;

	if (argc != 3) {
		fprintf(stderr, "usage: %s <pick_test.bpf.o> <pick-vectors.txt>\n", argv[0]);
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s: %s (root? `make -C bpf`?)\n", argv[1], strerror(errno));
		return 1;
	}
	prog = bpf_object__find_program_by_name(obj, "ferry_pick_test");
	prog_fd = prog ? bpf_program__fd(prog) : -1;
	bss_fd = -1;
	bpf_object__for_each_map(map, obj) {
		len = strlen(bpf_map__name(map));
		if (len >= 4 && !strcmp(bpf_map__name(map) + len - 4, ".bss"))
			bss_fd = bpf_map__fd(map);
	}
	in = fopen(argv[2], "r");
	if (prog_fd < 0 || bss_fd < 0 || !in) {
		fprintf(stderr, "no program ferry_pick_test or .bss map in %s, or no %s\n", argv[1], argv[2]);
		return 1;
	}
	while (getline(&buf, &cap, in) > 0) {
		line++;
		if (buf[0] == '#' || buf[0] == '\n')
			continue;
		save = NULL;
		kind = strtok_r(buf, " \n", &save);
		f1 = strtok_r(NULL, " \n", &save);
		f2 = strtok_r(NULL, " \n", &save);
		f3 = strtok_r(NULL, " \n", &save);
		if (!kind || !f1 || !f2 || !f3) {
			CHECK(0, "line %d: malformed vector", line);
		} else if (!strcmp(kind, "pick")) {
			pick_case(line, f1, f2, f3);
			picks++;
		} else if (!strcmp(kind, "ring")) {
			ring_case(line, f1, f2, f3);
			rings++;
		} else {
			CHECK(0, "line %d: unknown vector kind %s", line, kind);
		}
	}
	fclose(in);
	free(buf);
	CHECK(picks > 100 && rings > 50, "only %d pick and %d ring vectors read", picks, rings);
	printf("  %d pick and %d ring vectors run in the kernel\n", picks, rings);
	guard_cases();
	bpf_object__close(obj);
	return check_summary("test_pick");
}
