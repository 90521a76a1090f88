// SPDX-License-Identifier: Apache-2.0
/*
 * native_harness: runs one `runtime: native` function outside ferry, for
 * tests. It runs it over lib/heap_call.c, the ferry C ABI (ferry/ferry_fn.h)
 * over malloc'ed buffers with the same semantics as ferry-runner (default
 * output: the input, unchanged; in-place output bounded by the input
 * buffer's capacity; ferry_next only to a stage of --next; any error fails
 * the call), loads the shared object and feeds it one request.
 *
 *   make -C chains fuzz    # out/native_harness and out/fuzz/CHAIN/functions/NAME.so,
 *                          # all with AddressSanitizer and UBSan (chains/native.test.ts)
 *   harness FUNCTION.so [--stage NAME] [--next a,b,c] [--capacity BYTES]
 *           [--max-alloc BYTES] [--request-id N] [--check-json] [FILE]
 *
 * Reads the request from FILE (or stdin), writes the output bytes to stdout
 * and one status line to stderr:
 *   ferry-harness: ok next=STAGE|(reply) output=in-place|alloc length=N
 *   ferry-harness: ok answer=STATUS type=TYPE output=... length=N   (ferry_respond)
 *   ferry-harness: error: MESSAGE
 *   ferry-harness: error: MESSAGE (status STATUS, code CODE)         (ferry_fail_status)
 * Exit status: 0 ok, 1 the function failed the request, 2 usage or load
 * error, 3 --check-json found the output not to be valid JSON.
 *
 *   harness FUNCTION.so --fuzz RUNS [--seed N] [--check-json] ... FILE
 * calls the function RUNS times with random mutations of FILE (truncations,
 * flipped, inserted, deleted and JSON-significant bytes). Built with
 * -fsanitize=address,undefined (and the function too), it catches memory
 * errors on malformed input; with --check-json every successful output
 * must be valid JSON. Prints a summary line (failures split into plain
 * ones and HTTP errors by status class); exit 0 unless a check failed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/heap_call.h"
#include "lib/minijson.h"

static const char *stage_name = "stage";
static const char *next_names[16];
static int n_next;
static uint32_t max_alloc = 16u << 20;

static uint8_t *read_all(FILE *f, uint32_t *len)
{
	size_t cap = 4096, n = 0, r;
	uint8_t *b = malloc(cap);

	while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			uint8_t *nb = realloc(b, cap *= 2);
			if (!nb) {
				free(b);
				return NULL;
			}
			b = nb;
		}
	}
	*len = (uint32_t)n;
	return b;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A random mutation of base into out (room for len + 8 bytes). */
static uint32_t mutate(const uint8_t *base, uint32_t len, uint8_t *out)
{
	static const char special[] = "{}[]\":,\\-+.eE0123456789 tfnu\x80\xff";
	uint32_t n = len, at = len ? (uint32_t)(rng() % len) : 0;
	int rounds = 1 + (int)(rng() % 3);

	memcpy(out, base, len);
	while (rounds--) {
		if (n)
			at = (uint32_t)(rng() % n);
		switch (rng() % 6) {
		case 0: /* truncate */
			n = at;
			break;
		case 1: /* flip a byte */
			if (n)
				out[at] = (uint8_t)rng();
			break;
		case 2: /* a JSON-significant byte */
			if (n)
				out[at] = (uint8_t)special[rng() % (sizeof(special) - 1)];
			break;
		case 3: /* insert one */
			if (n < len + 8) {
				memmove(out + at + 1, out + at, n - at);
				out[at] = (uint8_t)special[rng() % (sizeof(special) - 1)];
				n++;
			}
			break;
		case 4: /* delete one */
			if (n) {
				memmove(out + at, out + at + 1, n - at - 1);
				n--;
			}
			break;
		default: /* a digit run becomes huge */
			if (n && n < len + 8) {
				memmove(out + at + 1, out + at, n - at);
				out[at] = '9';
				n++;
			}
		}
	}
	return n;
}

static int valid_json(const uint8_t *p, uint32_t n, char *err, size_t errlen)
{
	struct mj_val root;

	return mj_parse(p, n, &root, err, errlen) == 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: native_harness FUNCTION.so [--stage NAME] [--next a,b] [--capacity BYTES] "
			"[--max-alloc BYTES] [--request-id N] [--check-json] [--fuzz RUNS [--seed N]] [FILE]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *so = NULL, *file = NULL;
	uint32_t capacity = 0, len;
	uint64_t request_id = 1;
	long fuzz = 0;
	int check_json = 0;
	char nexts[512] = "";

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--stage") && val)
			stage_name = argv[++i];
		else if (!strcmp(a, "--next") && val)
			snprintf(nexts, sizeof(nexts), "%s", argv[++i]);
		else if (!strcmp(a, "--capacity") && val)
			capacity = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(a, "--max-alloc") && val)
			max_alloc = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(a, "--request-id") && val)
			request_id = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(a, "--fuzz") && val)
			fuzz = strtol(argv[++i], NULL, 10);
		else if (!strcmp(a, "--seed") && val)
			rng_state ^= strtoull(argv[++i], NULL, 10) * 0x2545f4914f6cdd1dULL;
		else if (!strcmp(a, "--check-json"))
			check_json = 1;
		else if (a[0] == '-' && a[1])
			return usage();
		else if (!so)
			so = a;
		else if (!file)
			file = a;
		else
			return usage();
	}
	if (!so)
		return usage();
	for (char *tok = strtok(nexts, ","); tok && n_next < 16; tok = strtok(NULL, ","))
		next_names[n_next++] = tok;

	FILE *f = file ? fopen(file, "rb") : stdin;
	if (!f) {
		fprintf(stderr, "ferry-harness: cannot open %s: %s\n", file, strerror(errno));
		return 2;
	}
	uint8_t *req = read_all(f, &len);
	if (file)
		fclose(f);
	if (!req) {
		fprintf(stderr, "ferry-harness: out of memory reading the request\n");
		return 2;
	}
	if (!capacity) /* a pool size class */
		capacity = ferry_heap_capacity(len);

	void *lib = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "ferry-harness: cannot load %s: %s\n", so, dlerror());
		return 2;
	}
	ferry_handle_fn handle = (ferry_handle_fn)dlsym(lib, "ferry_handle");
	ferry_init_fn init = (ferry_init_fn)dlsym(lib, "ferry_init");
	if (!handle) {
		fprintf(stderr, "ferry-harness: %s exports no ferry_handle\n", so);
		return 2;
	}
	if (init && init(stage_name) != 0) {
		fprintf(stderr, "ferry-harness: ferry_init failed\n");
		return 2;
	}

	const struct ferry_heap_fn fn = { .stage_name = stage_name, .next = next_names, .n_next = n_next, .max_alloc = max_alloc };
	struct ferry_call c;
	char err[256];

	if (fuzz > 0) {
		uint8_t *m = malloc(len + 8);
		long ok = 0, failed = 0, rejected4xx = 0, failed5xx = 0;

		for (long r = 0; r < fuzz; r++) {
			uint32_t n = mutate(req, len, m);
			int rc = ferry_heap_call(handle, &fn, &c, m, n, n, request_id); /* capacity == length: tight */
			if (rc != 0 && c.answer.error && c.answer.status < 500)
				rejected4xx++;
			else if (rc != 0)
				failed5xx++;
			if (rc == 0) {
				ok++;
				if (check_json && !valid_json(ferry_heap_output(&c), c.out_len, err, sizeof(err))) {
					fprintf(stderr, "ferry-harness: fuzz run %ld: output is not JSON (%s):\n", r, err);
					fwrite(m, 1, n, stderr);
					fputc('\n', stderr);
					return 3;
				}
			} else
				failed++;
			ferry_heap_free(&c);
		}
		fprintf(stderr, "ferry-harness: fuzz runs=%ld ok=%ld failed=%ld (4xx=%ld 5xx=%ld)\n", fuzz, ok, failed,
			rejected4xx, failed5xx);
		free(m);
		free(req);
		return 0;
	}

	int rc = ferry_heap_call(handle, &fn, &c, req, len, capacity, request_id);
	if (rc) {
		if (c.answer.error)
			fprintf(stderr, "ferry-harness: error: %s (status %u, code %s)\n", c.error, c.answer.status,
				c.answer.tag[0] ? c.answer.tag : "-");
		else
			fprintf(stderr, "ferry-harness: error: %s\n", c.error);
		ferry_heap_free(&c);
		free(req);
		return 1;
	}
	const uint8_t *out = ferry_heap_output(&c);
	fwrite(out, 1, c.out_len, stdout);
	fflush(stdout);
	if (c.answer.status)
		fprintf(stderr, "ferry-harness: ok answer=%u type=%s output=%s length=%u\n", c.answer.status,
			c.answer.tag[0] ? c.answer.tag : "-", ferry_heap_in_place(&c) ? "in-place" : "alloc", c.out_len);
	else
		fprintf(stderr, "ferry-harness: ok next=%s output=%s length=%u\n",
			n_next ? next_names[c.next_index] : "(reply)", ferry_heap_in_place(&c) ? "in-place" : "alloc",
			c.out_len);
	int bad = check_json && !valid_json(out, c.out_len, err, sizeof(err));
	if (bad)
		fprintf(stderr, "ferry-harness: output is not valid JSON: %s\n", err);
	ferry_heap_free(&c);
	free(req);
	return bad ? 3 : 0;
}
