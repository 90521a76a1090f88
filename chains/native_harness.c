// SPDX-License-Identifier: Apache-2.0
/*
 * native_harness: runs one `runtime: native` function outside ferry, for
 * tests. It implements the ferry C ABI (ferry/ferry_fn.h) over malloc'ed
 * buffers with the same semantics as ferry-runner (default output: the
 * input, unchanged; in-place output bounded by the input buffer's capacity;
 * ferry_next only to a stage of --next; any error fails the call), loads
 * the shared object and feeds it one request.
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

#include "ferry/answer.h"
#include "ferry/ferry_fn.h"
#include "lib/minijson.h"

struct ferry_call {
	uint8_t *in;
	uint32_t len, cap;
	uint8_t *out;
	uint32_t out_cap;
	int has_out;
	uint32_t out_len;
	int in_place;
	int next_index;
	uint64_t request_id;
	char error[256];
	struct ferry_answer answer; /* ferry_respond / ferry_fail_status, as in ferry-runner */
};

static const char *stage_name = "stage";
static char *next_names[16];
static int n_next;
static uint32_t max_alloc = 16u << 20;

const uint8_t *ferry_input(const struct ferry_call *c, uint32_t *len)
{
	*len = c->len;
	return c->in;
}

uint8_t *ferry_input_mut(struct ferry_call *c, uint32_t *capacity)
{
	*capacity = c->cap;
	return c->in;
}

int ferry_output_in_place(struct ferry_call *c, uint32_t len)
{
	if (len > c->cap)
		return ferry_fail(c, "output longer than the input buffer's capacity");
	c->in_place = 1;
	c->out_len = len;
	return 0;
}

uint8_t *ferry_output_alloc(struct ferry_call *c, uint32_t size)
{
	free(c->out);
	c->out = NULL;
	c->has_out = 0;
	if (size > max_alloc) {
		snprintf(c->error, sizeof(c->error), "output of %u bytes: larger than the largest buffer", size);
		return NULL;
	}
	c->out = malloc(size ? size : 1);
	if (!c->out) {
		snprintf(c->error, sizeof(c->error), "output of %u bytes: pool exhausted", size);
		return NULL;
	}
	c->out_cap = size;
	c->has_out = 1;
	return c->out;
}

int ferry_output_commit(struct ferry_call *c, uint32_t len)
{
	if (!c->has_out || len > c->out_cap)
		return ferry_fail(c, "ferry_output_commit without a large enough ferry_output_alloc");
	c->in_place = 0;
	c->out_len = len;
	return 0;
}

int ferry_next(struct ferry_call *c, const char *name)
{
	for (int i = 0; i < n_next; i++)
		if (strcmp(next_names[i], name) == 0) {
			c->next_index = i;
			return 0;
		}
	snprintf(c->error, sizeof(c->error), "ferry_next(\"%s\"): not in stage %s's next list", name, stage_name);
	return -ENOENT;
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
	return c->request_id;
}

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

/* One call: 0 ok, 1 failed. The call keeps its buffers for the caller. */
static int call_once(ferry_handle_fn handle, struct ferry_call *c, const uint8_t *req, uint32_t len,
		     uint32_t capacity, uint64_t request_id)
{
	memset(c, 0, sizeof(*c));
	c->cap = capacity > len ? capacity : len;
	c->in = malloc(c->cap ? c->cap : 1);
	if (!c->in) {
		snprintf(c->error, sizeof(c->error), "out of memory");
		return 1;
	}
	memcpy(c->in, req, len);
	c->len = len;
	c->out_len = len;
	c->in_place = 1;
	c->request_id = request_id;
	int rc = handle(c);
	if (rc != 0 || c->error[0]) {
		if (!c->error[0])
			snprintf(c->error, sizeof(c->error), "function returned an error");
		return 1;
	}
	return 0;
}

static void call_free(struct ferry_call *c)
{
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
}

static const uint8_t *call_output(const struct ferry_call *c)
{
	return c->in_place || !c->has_out ? c->in : c->out;
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
	if (!capacity) { /* a pool size class: the next power of two from 4 KiB */
		capacity = 4096;
		while (capacity < len && capacity < (1u << 31))
			capacity *= 2;
	}

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

	struct ferry_call c;
	char err[256];

	if (fuzz > 0) {
		uint8_t *m = malloc(len + 8);
		long ok = 0, failed = 0, rejected4xx = 0, failed5xx = 0;

		for (long r = 0; r < fuzz; r++) {
			uint32_t n = mutate(req, len, m);
			int rc = call_once(handle, &c, m, n, n, request_id); /* capacity == length: tight */
			if (rc != 0 && c.answer.error && c.answer.status < 500)
				rejected4xx++;
			else if (rc != 0)
				failed5xx++;
			if (rc == 0) {
				ok++;
				if (check_json && !valid_json(call_output(&c), c.out_len, err, sizeof(err))) {
					fprintf(stderr, "ferry-harness: fuzz run %ld: output is not JSON (%s):\n", r, err);
					fwrite(m, 1, n, stderr);
					fputc('\n', stderr);
					return 3;
				}
			} else
				failed++;
			call_free(&c);
		}
		fprintf(stderr, "ferry-harness: fuzz runs=%ld ok=%ld failed=%ld (4xx=%ld 5xx=%ld)\n", fuzz, ok, failed,
			rejected4xx, failed5xx);
		free(m);
		free(req);
		return 0;
	}

	int rc = call_once(handle, &c, req, len, capacity, request_id);
	if (rc) {
		if (c.answer.error)
			fprintf(stderr, "ferry-harness: error: %s (status %u, code %s)\n", c.error, c.answer.status,
				c.answer.tag[0] ? c.answer.tag : "-");
		else
			fprintf(stderr, "ferry-harness: error: %s\n", c.error);
		call_free(&c);
		free(req);
		return 1;
	}
	const uint8_t *out = call_output(&c);
	fwrite(out, 1, c.out_len, stdout);
	fflush(stdout);
	if (c.answer.status)
		fprintf(stderr, "ferry-harness: ok answer=%u type=%s output=%s length=%u\n", c.answer.status,
			c.answer.tag[0] ? c.answer.tag : "-", c.in_place || !c.has_out ? "in-place" : "alloc", c.out_len);
	else
		fprintf(stderr, "ferry-harness: ok next=%s output=%s length=%u\n",
			n_next ? next_names[c.next_index] : "(reply)", c.in_place || !c.has_out ? "in-place" : "alloc",
			c.out_len);
	int bad = check_json && !valid_json(out, c.out_len, err, sizeof(err));
	if (bad)
		fprintf(stderr, "ferry-harness: output is not valid JSON: %s\n", err);
	call_free(&c);
	free(req);
	return bad ? 3 : 0;
}
