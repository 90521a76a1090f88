// SPDX-License-Identifier: Apache-2.0
/*
 * The built-in FL aggregator (out/ferry-aggregator.so) driven as ferry-runner
 * drives it (src/call.c) over a real pool: each aggregator is an instance
 * with its own copy of the .so (its own round table), and this file plays
 * the gateway (injects UPDATE and FLUSH, frees replies) and the router
 * (hands each sent descriptor to the instance of its stage).
 *
 *   test_aggregator out/ferry-aggregator.so
 *
 * Sums are checked against a double-precision FedAvg within float32
 * rounding; bad input must change nothing; every buffer must come back.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dlfcn.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ferry/call.h"

#define CHAIN 9
#define GATEWAY 1
#define P 1003 /* not a multiple of any vector width: the loops' tails count */
#define MSG_BYTES (64 + 4 * P)
#define MODEL_CLASS ((MSG_BYTES + 63) / 64 * 64)

static const char *so_path;
static struct ferry_pool pool;

struct agg {
	struct ferry_instance in;
	int router;
	ferry_handle_fn handle;
	void *lib;
};

static struct agg aggs[8];
static int naggs;

static uint32_t models_in_use(void)
{
	struct ferry_pool_stats st;

	ferry_pool_stats(&pool, &st);
	return st.cls[1].in_use;
}

static uint32_t small_in_use(void)
{
	struct ferry_pool_stats st;

	ferry_pool_stats(&pool, &st);
	return st.cls[0].in_use;
}

/* Each aggregator loads its own copy of the .so: its own globals, as in
 * its own process. */
static void *load_copy(const char *stage, ferry_handle_fn *handle)
{
	char path[256], cmd[600];
	void *lib;
	ferry_init_fn init;

	snprintf(path, sizeof(path), "/tmp/ferry-agg-test-%d-%s.so", getpid(), stage);
	snprintf(cmd, sizeof(cmd), "cp %s %s", so_path, path);
	CHECK(system(cmd) == 0, "copy %s", so_path);
	lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	unlink(path);
	CHECK(lib != NULL, "dlopen: %s", dlerror());
	*handle = (ferry_handle_fn)dlsym(lib, "ferry_handle");
	init = (ferry_init_fn)dlsym(lib, "ferry_init");
	CHECK(*handle && init, "exports ferry_handle and ferry_init");
	CHECK(init(stage) == 0, "ferry_init(%s)", stage);
	return lib;
}

static struct agg *agg_open(const char *stage, uint16_t stage_id, const char *next)
{
	struct agg *a = &aggs[naggs++];
	int sv[2];
	char err[128];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	CHECK(ferry_instance_open(&a->in, 10 + (uint32_t)naggs, CHAIN, stage_id, stage, sv[0], pool.fd, next, err,
				  sizeof(err)) == 0,
	      "open %s: %s", stage, err);
	a->router = sv[1];
	a->lib = load_copy(stage, &a->handle);
	return a;
}

/* A job's pool: small messages, and count buffers of the model class. */
static void setup_pool(uint32_t model_class, uint32_t count)
{
	const struct ferry_pool_class_spec classes[] = {
		{ .buf_size = 512, .count = 32 },
		{ .buf_size = model_class, .count = count },
	};

	CHECK(ferry_pool_create(&pool, "agg", classes, 2) == 0, "pool");
	naggs = 0;
}

static void setup(void)
{
	setup_pool(MODEL_CLASS, 24);
}

static void teardown(void)
{
	for (int i = 0; i < naggs; i++) {
		close(aggs[i].router);
		ferry_instance_close(&aggs[i].in);
		dlclose(aggs[i].lib);
	}
	ferry_pool_detach(&pool);
}

/* The router: hand d to its stage's instance until it comes back to the
 * caller; returns the reply. */
static struct ferry_desc route(struct ferry_desc d)
{
	while (d.stage != FERRY_STAGE_REPLY) {
		struct agg *a = NULL;

		for (int i = 0; i < naggs; i++)
			if (aggs[i].in.stage == d.stage)
				a = &aggs[i];
		CHECK(a != NULL, "a stage %u exists", d.stage);
		if (!a)
			break;
		CHECK(ferry_instance_accept(&a->in, &d) == 0, "stage %u accepts", d.stage);
		ferry_call_run(&a->in, a->handle, &d);
		CHECK(recv(a->router, &d, sizeof(d), MSG_DONTWAIT) == sizeof(d), "stage %s sent on",
		      a->in.stage_name);
	}
	return d;
}

static struct ferry_fl_msg header(uint16_t op, uint32_t round)
{
	struct ferry_fl_msg m;

	memset(&m, 0, sizeof(m));
	m.magic = FERRY_FL_MSG_MAGIC;
	m.version = FERRY_FL_MSG_VERSION;
	m.op = op;
	m.round = round;
	return m;
}

static struct ferry_desc inject(const struct agg *to, const struct ferry_fl_msg *m, const float *v,
				uint32_t n, uint32_t len)
{
	static uint64_t rid = 100;
	struct ferry_buf b;
	struct ferry_desc d;

	CHECK(ferry_pool_alloc(&pool, len, GATEWAY, &b) == 0, "gateway buffer of %u", len);
	memcpy(ferry_pool_ptr(&pool, b.offset), m, sizeof(*m));
	if (v)
		memcpy((uint8_t *)ferry_pool_ptr(&pool, b.offset) + 64, v, 4ull * n);
	ferry_pool_label(&pool, b.offset, b.generation, (uint32_t)++rid, ferry_pool_now_ms() + 60000);
	ferry_desc_init(&d, CHAIN, to->in.stage, rid, &b, len, 7);
	return route(d);
}

static struct ferry_fl_msg body_of(const struct ferry_desc *d)
{
	struct ferry_fl_msg m;

	memcpy(&m, ferry_pool_ptr(&pool, d->offset), sizeof(m));
	return m;
}

static void done_with(const struct ferry_desc *d)
{
	CHECK(ferry_pool_free(&pool, d->offset, d->generation) == 0, "gateway frees the reply");
}

/* Send an update; expects an ACK and returns its count. */
static uint32_t update(const struct agg *leaf, uint32_t round, double weight, const float *v)
{
	struct ferry_fl_msg m = header(FERRY_FL_OP_UPDATE, round), a;
	struct ferry_desc r;

	m.param_count = P;
	m.weight = weight;
	r = inject(leaf, &m, v, P, MSG_BYTES);
	a = body_of(&r);
	CHECK(!(r.flags & FERRY_F_ERROR) && r.length == 64 && a.op == FERRY_FL_OP_ACK && a.round == round,
	      "ACK: flags %u length %u op %u", r.flags, r.length, a.op);
	done_with(&r);
	return a.count;
}

/* The error code of a failed reply (its trailer), or "" for none. */
static const char *error_code(const struct ferry_desc *d, uint16_t *status)
{
	static char code[256];
	const uint8_t *p = ferry_pool_ptr(&pool, d->offset);
	uint8_t n;

	code[0] = 0;
	*status = d->status;
	if (!(d->flags & FERRY_F_RESPONSE) || d->length == 0)
		return code;
	n = p[d->length - 1];
	memcpy(code, p + d->length - 1 - n, n);
	code[n] = 0;
	return code;
}

static void expect_rejected(const struct agg *leaf, const struct ferry_fl_msg *m, const float *v, uint32_t n,
			    uint32_t len, unsigned status, const char *code, const char *what)
{
	struct ferry_desc r = inject(leaf, m, v, n, len);
	uint16_t st;
	const char *got = error_code(&r, &st);

	CHECK((r.flags & FERRY_F_ERROR) && st == status && strcmp(got, code) == 0, "%s: status %u code '%s'",
	      what, st, got);
	done_with(&r);
}

static struct ferry_desc flush(const struct agg *leaf, uint32_t round, uint32_t expect_parent,
			       uint32_t expect_top, const struct ferry_buf *base)
{
	struct ferry_fl_msg m = header(FERRY_FL_OP_FLUSH, round);

	m.expect_parent = expect_parent;
	m.expect_top = expect_top;
	if (base) {
		m.base_offset = base->offset;
		m.base_generation = base->generation;
	}
	return inject(leaf, &m, NULL, 0, 64);
}

/* A sealed model as the coordinator keeps it: a MODEL message. */
static struct ferry_buf make_base(const float *v)
{
	struct ferry_fl_msg m = header(FERRY_FL_OP_MODEL, 0);
	struct ferry_buf b;

	m.param_count = P;
	CHECK(ferry_pool_alloc(&pool, MSG_BYTES, GATEWAY, &b) == 0, "base");
	memcpy(ferry_pool_ptr(&pool, b.offset), &m, 64);
	memcpy((uint8_t *)ferry_pool_ptr(&pool, b.offset) + 64, v, 4 * P);
	return b;
}

/* ------------------------------------------------------------ reference */

struct ref {
	double sum[P], scale[P], w;
	int n;
};

static void ref_add(struct ref *r, double w, const float *v)
{
	for (int i = 0; i < P; i++) {
		r->sum[i] += w * v[i];
		r->scale[i] += fabs(w * v[i]);
	}
	r->w += w;
	r->n++;
}

/* The reply is MODEL = base + sum / W within float32 rounding. */
static void check_model(const struct ferry_desc *d, const struct ref *r, const float *base, uint32_t round,
			const char *what)
{
	struct ferry_fl_msg m = body_of(d);
	const float *got = (const float *)((const uint8_t *)ferry_pool_ptr(&pool, d->offset) + 64);
	int bad = 0, worst = 0;

	CHECK(!(d->flags & FERRY_F_ERROR) && m.op == FERRY_FL_OP_MODEL && m.round == round && m.param_count == P &&
	      d->length == MSG_BYTES && (int)m.count == r->n && fabs(m.weight - r->w) < 1e-9,
	      "%s: a MODEL of round %u: flags %u op %u round %u count %u weight %g", what, round, d->flags, m.op,
	      m.round, m.count, m.weight);
	if (m.op != FERRY_FL_OP_MODEL)
		return;
	for (int i = 0; i < P; i++) {
		double b = base ? base[i] : 0;
		double want = r->w > 0 ? b + r->sum[i] / r->w : b;
		double tol = 4.0 * (r->n + 3) * FLT_EPSILON * (fabs(b) + (r->w > 0 ? r->scale[i] / r->w : 0)) + 1e-30;

		if (fabs(got[i] - want) > tol && !bad++)
			worst = i;
	}
	CHECK(bad == 0, "%s: %d values off, first at %d", what, bad, worst);
}

static uint32_t seed = 12345;

static float rnd(void)
{
	seed = seed * 1664525u + 1013904223u;
	return ((float)(seed >> 8) / (float)(1u << 24)) * 2.0f - 1.0f;
}

static void random_tensor(float *v, float scale)
{
	for (int i = 0; i < P; i++)
		v[i] = rnd() * scale;
}

/* ----------------------------------------------------------------- tests */

/* The two-level tree most tests use: leaf-0, leaf-1 -> top. */
static void two_leaves_and_top(struct agg **l0, struct agg **l1)
{
	setup();
	*l0 = agg_open("leaf-0", 1, "top=20");
	*l1 = agg_open("leaf-1", 2, "top=20");
	agg_open("top", 20, "");
}

static void test_two_levels(void)
{
	float u[6][P], basev[P];
	struct ref ref = { 0 };
	struct agg *l0, *l1;
	struct ferry_buf base;
	struct ferry_desc r;
	struct ferry_fl_msg a;
	double w[6] = { 10, 3, 7.5, 1, 120, 0.25 };

	two_leaves_and_top(&l0, &l1);
	random_tensor(basev, 0.5f);
	base = make_base(basev);
	for (int i = 0; i < 6; i++) {
		random_tensor(u[i], i == 4 ? 100.0f : 0.01f);
		ref_add(&ref, w[i], u[i]);
		CHECK(update(i % 2 ? l1 : l0, 3, w[i], u[i]) == (uint32_t)(i / 2 + 1), "count so far");
	}
	CHECK(models_in_use() == 3, "one accumulator per leaf (+ base): %u", models_in_use());
	CHECK(small_in_use() == 0, "no ACK left over: %u", small_in_use());
	r = flush(l0, 3, 2, 2, &base);
	a = body_of(&r);
	CHECK(a.op == FERRY_FL_OP_ACK && a.count == 3, "first partial: the top ACKs (op %u count %u)", a.op, a.count);
	done_with(&r);
	CHECK(models_in_use() == 3, "the top holds leaf 0's sum in place: %u", models_in_use());
	r = flush(l1, 3, 2, 2, &base);
	check_model(&r, &ref, basev, 3, "two levels");
	done_with(&r);
	CHECK(models_in_use() == 1 && small_in_use() == 0, "only the base is left: %u, %u", models_in_use(),
	      small_in_use());
	ferry_pool_free(&pool, base.offset, base.generation);
	CHECK(models_in_use() == 0, "and then nothing");
	teardown();
}

static void test_bad_input_changes_nothing(void)
{
	float good[P], badv[P];
	struct ref ref = { 0 };
	struct agg *leaf;
	struct ferry_fl_msg m;
	struct ferry_desc r;

	setup();
	leaf = agg_open("leaf-0", 1, "top=20");
	agg_open("top", 20, "");
	random_tensor(good, 1.0f);
	ref_add(&ref, 2.0, good);
	update(leaf, 1, 2.0, good);

	m = header(FERRY_FL_OP_UPDATE, 1);
	m.param_count = P;
	m.weight = 1;
	memcpy(badv, good, sizeof(badv));
	badv[P - 1] = NAN;
	expect_rejected(leaf, &m, badv, P, MSG_BYTES, 422, "nonFiniteUpdate", "NaN in the last value");
	badv[P - 1] = 0;
	badv[0] = -INFINITY;
	expect_rejected(leaf, &m, badv, P, MSG_BYTES, 422, "nonFiniteUpdate", "-Inf in the first value");
	badv[0] = INFINITY;
	m.round = 9; /* would open a round: must not */
	expect_rejected(leaf, &m, badv, P, MSG_BYTES, 422, "nonFiniteUpdate", "+Inf as a round's first update");
	m.round = 1;
	m.param_count = P - 1;
	expect_rejected(leaf, &m, good, P - 1, MSG_BYTES - 4, 400, "badTensorSize", "another param_count");
	m.param_count = P;
	expect_rejected(leaf, &m, good, P - 1, MSG_BYTES - 4, 400, "badTensorSize", "short body");
	m.param_count = 0;
	expect_rejected(leaf, &m, NULL, 0, 64, 400, "badTensorSize", "no values");
	m.param_count = P;
	m.weight = NAN;
	expect_rejected(leaf, &m, good, P, MSG_BYTES, 400, "badHeader", "NaN weight");
	m.weight = -1;
	expect_rejected(leaf, &m, good, P, MSG_BYTES, 400, "badHeader", "negative weight");
	m.weight = 1;
	m.magic = FERRY_FL_UPDATE_MAGIC;
	expect_rejected(leaf, &m, good, P, MSG_BYTES, 400, "badHeader", "a client header, not rewritten");
	m.magic = FERRY_FL_MSG_MAGIC;
	m.reserved[1] = 1;
	expect_rejected(leaf, &m, good, P, MSG_BYTES, 400, "badHeader", "reserved set");
	m.reserved[1] = 0;
	m.op = 77;
	expect_rejected(leaf, &m, good, P, MSG_BYTES, 400, "badHeader", "unknown op");
	m.op = FERRY_FL_OP_PARTIAL;
	expect_rejected(leaf, &m, good, P, MSG_BYTES, 400, "badHeader", "PARTIAL to a leaf");
	expect_rejected(leaf, &m, NULL, 0, 10, 400, "badHeader", "shorter than a header");
	m = header(FERRY_FL_OP_UPDATE, 1);
	m.param_count = P;
	m.weight = 1;
	expect_rejected(&aggs[1], &m, good, P, MSG_BYTES, 400, "badHeader", "UPDATE to the top");

	CHECK(models_in_use() == 1, "only the accumulator is held: %u", models_in_use());
	r = flush(leaf, 1, 1, 1, NULL);
	check_model(&r, &ref, NULL, 1, "after bad updates, only the good one");
	done_with(&r);
	CHECK(models_in_use() == 0 && small_in_use() == 0, "nothing left: %u %u", models_in_use(), small_in_use());
	teardown();
}

static void test_three_levels_with_an_empty_leaf(void)
{
	float u[P], basev[P];
	struct ref ref = { 0 };
	struct agg *l[4];
	struct ferry_buf base;
	struct ferry_desc r;
	struct ferry_fl_msg a;

	setup();
	/* fanIn 2: leaves 0,1 under mid-0; leaves 2,3 under mid-1. */
	l[0] = agg_open("leaf-0", 1, "mid-0=10");
	l[1] = agg_open("leaf-1", 2, "mid-0=10");
	l[2] = agg_open("leaf-2", 3, "mid-1=11");
	l[3] = agg_open("leaf-3", 4, "mid-1=11");
	agg_open("mid-0", 10, "top=20");
	agg_open("mid-1", 11, "top=20");
	agg_open("top", 20, "");
	random_tensor(basev, 1.0f);
	base = make_base(basev);
	for (int i = 0; i < 9; i++) {
		int leaf = i % 3 == 2 ? 3 : i % 2; /* leaf 2 gets nothing */

		random_tensor(u, 0.1f);
		ref_add(&ref, 1 + i, u);
		update(l[leaf], 0, 1 + i, u);
	}
	r = flush(l[0], 0, 2, 2, &base);
	a = body_of(&r);
	CHECK(a.op == FERRY_FL_OP_ACK, "mid-0 acks leaf 0's partial");
	done_with(&r);
	r = flush(l[2], 0, 2, 2, &base);
	a = body_of(&r);
	CHECK(a.op == FERRY_FL_OP_ACK && a.count == 0, "mid-1 acks the empty leaf's partial");
	done_with(&r);
	r = flush(l[1], 0, 2, 2, &base);
	a = body_of(&r);
	CHECK(a.op == FERRY_FL_OP_ACK, "mid-0's sum reached the top, which acks");
	done_with(&r);
	r = flush(l[3], 0, 2, 2, &base);
	check_model(&r, &ref, basev, 0, "three levels");
	done_with(&r);
	ferry_pool_free(&pool, base.offset, base.generation);
	CHECK(models_in_use() == 0 && small_in_use() == 0, "nothing left: %u %u", models_in_use(), small_in_use());
	teardown();
}

static void test_zero_weight_and_all_empty(void)
{
	float u[P], basev[P];
	struct ref ref = { 0 };
	struct agg *l0, *l1;
	struct ferry_buf base;
	struct ferry_desc r;

	two_leaves_and_top(&l0, &l1);
	random_tensor(basev, 1.0f);
	base = make_base(basev);
	random_tensor(u, 1.0f);
	update(l0, 5, 0.0, u);
	ref.n = 1;
	r = flush(l0, 5, 2, 2, &base);
	done_with(&r);
	r = flush(l1, 5, 2, 2, &base);
	check_model(&r, &ref, basev, 5, "W = 0: the model is the base");
	done_with(&r);

	/* Nobody sent anything: the top answers the base in a new buffer. */
	memset(&ref, 0, sizeof(ref));
	r = flush(l0, 6, 2, 2, &base);
	done_with(&r);
	r = flush(l1, 6, 2, 2, &base);
	check_model(&r, &ref, basev, 6, "every leaf empty");
	done_with(&r);

	/* A base that is gone (the coordinator freed what it named): 409, and
	 * the failed partial's buffer carries the error back, so nothing leaks. */
	update(l0, 7, 1.0, u);
	memset(&ref, 0, sizeof(ref));
	ref_add(&ref, 1.0, u);
	r = flush(l1, 7, 2, 2, &base);
	done_with(&r);
	base.generation++;
	{
		struct ferry_desc bad = flush(l0, 7, 2, 2, &base);
		uint16_t st;
		const char *code = error_code(&bad, &st);

		CHECK(st == 409 && strcmp(code, "baseGone") == 0, "stale base: %u %s", st, code);
		done_with(&bad);
	}
	base.generation--;
	CHECK(models_in_use() == 1, "only the base: %u", models_in_use());
	ferry_pool_free(&pool, base.offset, base.generation);
	teardown();
}

static void test_rounds_interleaved_and_discarded(void)
{
	float u[P];
	struct ref r1 = { 0 }, r2 = { 0 };
	struct agg *l0, *l1;
	struct ferry_desc r;
	struct ferry_fl_msg a;

	two_leaves_and_top(&l0, &l1);
	for (int i = 0; i < 8; i++) {
		struct ref *ref = i % 3 ? &r1 : &r2;
		uint32_t round = i % 3 ? 1 : 2;

		random_tensor(u, 1.0f);
		ref_add(ref, 1.0 / (1 + i), u);
		update(i % 2 ? l1 : l0, round, 1.0 / (1 + i), u);
	}
	CHECK(models_in_use() == 4, "two rounds x two leaves: %u", models_in_use());
	r = flush(l1, 2, 2, 2, NULL);
	done_with(&r);
	r = flush(l0, 1, 2, 2, NULL);
	done_with(&r);
	r = flush(l1, 1, 2, 2, NULL);
	check_model(&r, &r1, NULL, 1, "round 1, interleaved with 2");
	done_with(&r);
	r = flush(l0, 2, 2, 2, NULL);
	check_model(&r, &r2, NULL, 2, "round 2, interleaved with 1");
	done_with(&r);
	CHECK(models_in_use() == 0 && small_in_use() == 0, "nothing left: %u %u", models_in_use(), small_in_use());

	/* A failed round: DISCARD drops the sum and says what it held. */
	random_tensor(u, 1.0f);
	update(l0, 3, 4.0, u);
	update(l0, 3, 4.0, u);
	{
		struct ferry_fl_msg m = header(FERRY_FL_OP_FLUSH, 3);

		m.flags = FERRY_FL_FLUSH_DISCARD;
		r = inject(l0, &m, NULL, 0, 64);
		a = body_of(&r);
		CHECK(r.stage == FERRY_STAGE_REPLY && a.op == FERRY_FL_OP_ACK && a.count == 2 && a.weight == 8.0,
		      "discard acked: op %u count %u", a.op, a.count);
		done_with(&r);
	}
	CHECK(models_in_use() == 0, "discarded sum freed: %u", models_in_use());

	/* More open rounds than slots: the oldest is dropped, not leaked. */
	for (uint32_t round = 10; round < 20; round++)
		update(l0, round, 1.0, u);
	CHECK(models_in_use() == 8, "at most 8 open rounds: %u", models_in_use());
	memset(&r1, 0, sizeof(r1));
	ref_add(&r1, 1.0, u);
	r = flush(l0, 19, 1, 1, NULL);
	check_model(&r, &r1, NULL, 19, "newest round intact");
	done_with(&r);
	CHECK(ferry_pool_reclaim(&pool, l0->in.id) == 7, "a crashed leaf's sums are reclaimed");
	CHECK(models_in_use() == 0 && small_in_use() == 0, "nothing left: %u %u", models_in_use(), small_in_use());
	teardown();
}

/* Pages of the pool resident in memory: the shared memfd, whoever touched
 * them (gateway, leaf, top). */
static size_t pool_resident_bytes(void)
{
	size_t pages = (pool.size + 4095) / 4096, n = 0;
	unsigned char *vec = malloc(pages);

	CHECK(vec && mincore(pool.base, pool.size, vec) == 0, "mincore");
	for (size_t i = 0; vec && i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return n * 4096;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* A model-sized message from the "gateway": op's header (an UPDATE of
 * weight 1) and params copies of value, every page written as a socket
 * read would. */
static struct ferry_buf gateway_tensor(uint16_t op, uint32_t params, float value)
{
	struct ferry_fl_msg m = header(op, 0);
	const uint32_t bytes = 64 + 4u * params;
	struct ferry_buf b = { 0 };
	float *v;

	m.param_count = params;
	m.weight = op == FERRY_FL_OP_UPDATE ? 1.0 : 0;
	CHECK(ferry_pool_alloc(&pool, bytes, GATEWAY, &b) == 0, "gateway buffer of %u", bytes);
	memcpy(ferry_pool_ptr(&pool, b.offset), &m, 64);
	v = (float *)((uint8_t *)ferry_pool_ptr(&pool, b.offset) + 64);
	for (uint32_t k = 0; k < params; k++)
		v[k] = value;
	return b;
}

/* The point of eager folding: however many clients send, the aggregators
 * and the pool hold about one model per open round, because each update's
 * pages go back the moment it is folded. 40 updates of a 16 MB model, each
 * written in full by the "gateway": with one in flight the pool holds two
 * models (the accumulator and the update), once it is folded and freed
 * one, and the average is exact. Prints the leaf's time per update
 * (finiteness check + fold). */
static void test_memory_stays_one_model(void)
{
	enum { BIG = 4 << 20, UPDATES = 40 };
	const uint32_t bytes = 64 + 4u * BIG, cls = (bytes + 63) / 64 * 64;
	struct agg *leaf;
	struct ferry_desc r;
	const size_t slack = 64 << 10; /* headers, metadata, small messages */
	size_t peak_in_flight = 0, peak_folded = 0;
	double fold_ms[UPDATES], total = 0;

	setup_pool(cls, 4);
	leaf = agg_open("leaf-0", 1, "top=20");
	agg_open("top", 20, "");
	for (int i = 0; i < UPDATES; i++) {
		struct ferry_fl_msg a;
		struct ferry_buf b = gateway_tensor(FERRY_FL_OP_UPDATE, BIG, (float)(i + 1));
		struct ferry_desc d;
		struct timespec t0;
		size_t now;

		now = pool_resident_bytes();
		if (now > peak_in_flight)
			peak_in_flight = now;
		ferry_desc_init(&d, CHAIN, leaf->in.stage, 1000 + i, &b, bytes, 7);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = route(d);
		fold_ms[i] = ms_since(&t0);
		a = body_of(&r);
		CHECK(a.op == FERRY_FL_OP_ACK && a.count == (uint32_t)i + 1, "ack %d", i);
		done_with(&r);
		now = pool_resident_bytes();
		if (now > peak_folded)
			peak_folded = now;
	}
	CHECK(peak_in_flight <= 2ull * cls + slack, "with an update in flight: %zu bytes resident, more than 2 models of %u",
	      peak_in_flight, cls);
	CHECK(peak_folded <= cls + slack, "between updates: %zu bytes resident, more than the accumulator's %u",
	      peak_folded, cls);
	CHECK(models_in_use() == 1, "one accumulator: %u", models_in_use());
	r = flush(leaf, 0, 1, 1, NULL);
	{
		const float *got = (const float *)((const uint8_t *)ferry_pool_ptr(&pool, r.offset) + 64);
		int off = 0;

		for (int k = 0; k < BIG; k++)
			off += got[k] != (float)(UPDATES + 1) / 2;
		CHECK(body_of(&r).op == FERRY_FL_OP_MODEL && off == 0, "mean of 1..%d: %d values off", UPDATES, off);
	}
	done_with(&r);
	CHECK(models_in_use() == 0 && pool_resident_bytes() <= 2 * 4096 * 33, "all returned: %zu resident",
	      pool_resident_bytes());
	for (int i = 1; i < UPDATES; i++)
		total += fold_ms[i];
	fprintf(stderr,
		"aggregator: %d updates of a %.1f MB model: pool resident at most %.1f MB with one in flight, %.1f MB "
		"between updates; %.2f ms per folded update (mean)\n",
		UPDATES, cls / 1048576.0, peak_in_flight / 1048576.0, peak_folded / 1048576.0, total / (UPDATES - 1));
	teardown();
}

/* Bytes of the pool an aggregator's own mapping (its VMA, as its own
 * process would map it) has in its page tables: /proc/self/smaps's Rss of
 * the mapping at a's pool base. What counts toward its process's RSS. */
static size_t view_bytes(const struct agg *a)
{
	char line[256];
	unsigned long lo, hi;
	size_t kb = 0;
	int in_vma = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	CHECK(f != NULL, "open /proc/self/smaps");
	while (f && fgets(line, sizeof(line), f)) {
		/* A mapping's first line starts with its address (lower-case hex);
		 * its fields with a capitalized name. */
		if (!isupper((unsigned char)line[0]) && sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in_vma = lo == (unsigned long)(uintptr_t)a->in.pool.base;
		else if (in_vma && sscanf(line, "Rss: %zu kB", &kb) == 1)
			break;
	}
	if (f)
		fclose(f);
	return kb * 1024;
}

/* Each aggregator maps the whole pool, but must keep in its own page
 * tables only what it still needs (about one model: its accumulator),
 * however many updates and partials it folds, even while their buffers
 * are not freed yet (the "gateway" here keeps every ACKed update until the
 * end, as a busy ferryd would): 2 leaves fold 12 updates of an 8 MB model
 * and the top folds their partials onto a base. Checked after every call
 * on each instance's own mapping (a call's transient is one 4 MB slice
 * more). */
static void test_each_aggregator_maps_at_most_one_model(void)
{
	enum { BIG = 2 << 20, UPDATES = 12 };
	const uint32_t bytes = 64 + 4u * BIG, cls = (bytes + 63) / 64 * 64;
	const size_t slack = 1 << 20; /* an ACK header page per unfreed update, buffers' edge pages */
	struct agg *leaves[2], *top;
	struct ferry_desc r, acked[UPDATES];
	struct ferry_buf base;
	size_t peak[3] = { 0, 0, 0 };

	setup_pool(cls, UPDATES + 4);
	leaves[0] = agg_open("leaf-0", 1, "top=20");
	leaves[1] = agg_open("leaf-1", 2, "top=20");
	top = agg_open("top", 20, "");
	for (int i = 0; i < UPDATES; i++) {
		struct ferry_fl_msg a;
		struct agg *leaf = leaves[i % 2];
		struct ferry_buf b = gateway_tensor(FERRY_FL_OP_UPDATE, BIG, (float)(i + 1));
		struct ferry_desc d;

		ferry_desc_init(&d, CHAIN, leaf->in.stage, 2000 + i, &b, bytes, 7);
		r = route(d);
		a = body_of(&r);
		CHECK(a.op == FERRY_FL_OP_ACK, "ack %d", i);
		acked[i] = r;
		for (int j = 0; j < 2; j++)
			if (view_bytes(leaves[j]) > peak[j])
				peak[j] = view_bytes(leaves[j]);
	}
	CHECK(peak[0] <= cls + slack && peak[1] <= cls + slack,
	      "a leaf maps its accumulator only between updates: %zu and %zu bytes, the model %u", peak[0], peak[1], cls);
	for (int i = 0; i < UPDATES; i++)
		done_with(&acked[i]);
	base = gateway_tensor(FERRY_FL_OP_MODEL, BIG, 1.0f);
	r = flush(leaves[0], 0, 1, 2, &base);
	CHECK(body_of(&r).op == FERRY_FL_OP_ACK, "the top ACKs the first partial");
	done_with(&r);
	peak[2] = view_bytes(top);
	CHECK(view_bytes(leaves[0]) <= slack, "a leaf forgets its sum once sent on: %zu bytes", view_bytes(leaves[0]));
	r = flush(leaves[1], 0, 1, 2, &base);
	if (view_bytes(top) > peak[2])
		peak[2] = view_bytes(top);
	CHECK(body_of(&r).op == FERRY_FL_OP_MODEL, "the top answers the last partial with the MODEL");
	{
		const float *got = (const float *)((const uint8_t *)ferry_pool_ptr(&pool, r.offset) + 64);
		int off = 0;

		for (int k = 0; k < BIG; k++)
			off += got[k] != 1.0f + (float)(UPDATES + 1) / 2;
		CHECK(off == 0, "base + mean of 1..%d: %d values off", UPDATES, off);
	}
	done_with(&r);
	CHECK(view_bytes(leaves[1]) <= slack && peak[2] <= slack,
	      "after the flush nobody maps a model: leaf %zu, top %zu bytes", view_bytes(leaves[1]), peak[2]);
	CHECK(ferry_pool_free(&pool, base.offset, base.generation) == 0, "base freed");
	CHECK(models_in_use() == 0, "every model buffer came back: %u", models_in_use());
	fprintf(stderr, "aggregator: own mapping of a %.1f MB model's pool: leaves at most %.1f / %.1f MB between %d updates, top %.1f MB after the flush\n",
		cls / 1048576.0, peak[0] / 1048576.0, peak[1] / 1048576.0, UPDATES, peak[2] / 1048576.0);
	teardown();
}

static void test_unknown_role(void)
{
	void *lib = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
	ferry_init_fn init = lib ? (ferry_init_fn)dlsym(lib, "ferry_init") : NULL;

	CHECK(init && init("resize") != 0, "a stage named neither leaf, mid nor top is refused");
	if (lib)
		dlclose(lib);
}

int main(int argc, char **argv)
{
	so_path = argc > 1 ? argv[1] : "out/ferry-aggregator.so";
	test_two_levels();
	test_bad_input_changes_nothing();
	test_three_levels_with_an_empty_leaf();
	test_zero_weight_and_all_empty();
	test_rounds_interleaved_and_discarded();
	test_memory_stays_one_model();
	test_each_aggregator_maps_at_most_one_model();
	test_unknown_role();
	return check_summary("aggregator");
}
