// SPDX-License-Identifier: Apache-2.0
/*
 * ferry's built-in federated-learning aggregator (handler
 * `builtin:aggregator`; control/fl/DESIGN.md "Aggregator protocol").
 *
 * One native function, three roles chosen by the stage name (ferry_init):
 *   leaf-N  folds UPDATEs from the gateway into one accumulator per round;
 *           on FLUSH sends the round's sum on to its parent as PARTIAL;
 *   mid-N   sums its leaves' PARTIALs and, on the expect_parent-th, sends
 *           the sum on to the top as PARTIAL;
 *   top     sums PARTIALs and, on the expect_top-th, finalizes the model
 *           in place (base + sum / W) and replies MODEL to the gateway.
 * The parent is the one entry of the stage's `next` list, where a forwarded
 * output goes by default; ACKs and MODELs go straight back to the caller
 * (ferry_reply), so a leaf never needs to know its parent's name.
 *
 * Memory: the first message of a round with a tensor becomes the round's
 * accumulator in place (ferry_input_hold); later ones are folded into it
 * and released, so an aggregator holds one model per open round however
 * many clients send. Sums are float32, folded in arrival order.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ferry/abi.h"
#include "ferry/ferry_fn.h"
#include "fold.h"

/* Rounds one aggregator keeps open at once: the open round plus late
 * merges (maxStaleness + 1), with room to spare. When every slot is taken,
 * the oldest round's sum is dropped: a round that failed is never flushed. */
#define MAX_OPEN_ROUNDS 8

enum role { ROLE_LEAF, ROLE_MID, ROLE_TOP };

struct round_acc {
	int used;
	uint32_t round;
	int has_acc;           /* acc names a held buffer */
	struct ferry_held acc; /* header + param_count float32s */
	double weight;         /* summed weight of what was folded */
	uint32_t count;        /* updates folded (through partials, too) */
	uint32_t partials;     /* PARTIALs received (mid, top) */
};

static enum role role;
static uint32_t job_params; /* the job's parameter count, once a tensor told it */
static struct round_acc rounds[MAX_OPEN_ROUNDS];

/* The wire's "FLM1" header, read and written by copy (a pool pointer is
 * 64-byte aligned, but the compiler need not know). */
typedef struct ferry_fl_msg msg_t;

_Static_assert(sizeof(msg_t) == FERRY_FL_HEADER_SIZE, "ferry_fl_msg is the 64-byte header");

int ferry_init(const char *stage_name)
{
	if (strcmp(stage_name, "top") == 0)
		role = ROLE_TOP;
	else if (strncmp(stage_name, "mid-", 4) == 0)
		role = ROLE_MID;
	else if (strncmp(stage_name, "leaf-", 5) == 0)
		role = ROLE_LEAF;
	else {
		fprintf(stderr,
			"{\"level\":\"error\",\"msg\":\"aggregator stage \\\"%s\\\" is none of leaf-N, mid-N, top: "
			"builtin:aggregator runs only in an AggregationJob's compiled chain\"}\n",
			stage_name);
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ round table */

static struct round_acc *find_round(uint32_t round)
{
	for (int i = 0; i < MAX_OPEN_ROUNDS; i++)
		if (rounds[i].used && rounds[i].round == round)
			return &rounds[i];
	return NULL;
}

static void close_round(struct ferry_call *call, struct round_acc *r, int free_acc)
{
	if (free_acc && r->has_acc)
		ferry_held_free(call, &r->acc);
	memset(r, 0, sizeof(*r));
}

/* The slot for round, opened if need be; the oldest round is dropped when
 * every slot is taken (rounds are compared with wrap-around). */
static struct round_acc *open_round(struct ferry_call *call, uint32_t round)
{
	struct round_acc *r = find_round(round), *oldest = NULL;

	if (r)
		return r;
	for (int i = 0; i < MAX_OPEN_ROUNDS; i++) {
		if (!rounds[i].used) {
			r = &rounds[i];
			break;
		}
		if (!oldest || (int32_t)(rounds[i].round - oldest->round) < 0)
			oldest = &rounds[i];
	}
	if (!r) {
		close_round(call, oldest, 1);
		r = oldest;
	}
	r->used = 1;
	r->round = round;
	return r;
}

/* ------------------------------------------------------------- messages */

static float *values(uint8_t *buf)
{
	return (float *)(buf + FERRY_FL_HEADER_SIZE);
}

static uint64_t msg_bytes(uint32_t params)
{
	return FERRY_FL_HEADER_SIZE + 4ull * params;
}

/* This process is done reading (or writing) the pages of a pool buffer it
 * folded, sent on or read as the base: they leave our page tables
 * (MADV_DONTNEED on a shared mapping drops only our view; the memfd keeps
 * the data for the buffer's owner). Without this every model-sized buffer
 * an aggregator touched stays in its RSS until whoever frees it punches
 * the pages out (9x the model per aggregator at 47 MB x 50 clients), and
 * that punch must also unmap them from us. Only whole pages inside
 * [from, to) go: a neighbour's are left alone. */
static uintptr_t page_size(void)
{
	static uintptr_t page;

	if (!page)
		page = (uintptr_t)sysconf(_SC_PAGESIZE);
	return page;
}

static void drop_pages(uintptr_t from, uintptr_t to)
{
	uintptr_t pg = page_size(), a = (from + pg - 1) / pg * pg, b = to / pg * pg;

	if (b > a)
		(void)madvise((void *)a, b - a, MADV_DONTNEED); /* best effort: only memory is at stake */
}

static void forget(const void *p, uint64_t len)
{
	drop_pages((uintptr_t)p, (uintptr_t)p + len);
}

/* Tensors are walked a slice at a time, and a slice of the buffer being
 * read is forgotten as soon as it is done: an aggregator then maps about
 * one model (its accumulator) plus a slice, never two models, however big
 * they are. 4 MB: a madvise per slice costs nothing next to the slice. */
#define SLICE_FLOATS ((size_t)1 << 20)

/* Forgets what a walk of buffer [start, ...) has read up to `upto`, from
 * the page after what it forgot last (*done). */
static void forget_walked(uintptr_t *done, const void *upto)
{
	uintptr_t pg = page_size(), to = (uintptr_t)upto / pg * pg;

	if (to > *done) {
		drop_pages(*done, to);
		*done = to;
	}
}

/* ferry_fl_all_finite over msg's tensor, forgetting it as it goes. */
static int all_finite_forgetting(uint8_t *msg, size_t n)
{
	const float *v = values(msg);
	uintptr_t done = (uintptr_t)msg;

	for (size_t at = 0; at < n; at += SLICE_FLOATS) {
		size_t k = n - at < SLICE_FLOATS ? n - at : SLICE_FLOATS;

		if (!ferry_fl_all_finite(v + at, k))
			return forget(msg, msg_bytes((uint32_t)n)), 0;
		forget_walked(&done, v + at + k);
	}
	return 1;
}

/* ferry_fl_fold of msg's tensor into acc, forgetting msg as it goes. */
static void fold_forgetting(float *acc, uint8_t *msg, float w, size_t n)
{
	const float *v = values(msg);
	uintptr_t done = (uintptr_t)msg;

	for (size_t at = 0; at < n; at += SLICE_FLOATS) {
		size_t k = n - at < SLICE_FLOATS ? n - at : SLICE_FLOATS;

		ferry_fl_fold(acc + at, v + at, w, k);
		forget_walked(&done, v + at + k);
	}
}

/* ferry_fl_finalize, forgetting the base as it goes (base may be NULL). */
static void finalize_forgetting(float *acc, const float *base, float inv_w, size_t n)
{
	uintptr_t done = (uintptr_t)base;

	for (size_t at = 0; at < n; at += SLICE_FLOATS) {
		size_t k = n - at < SLICE_FLOATS ? n - at : SLICE_FLOATS;

		ferry_fl_finalize(acc + at, base ? base + at : NULL, inv_w, k);
		if (base)
			forget_walked(&done, base + at + k);
	}
}

static void put_header(uint8_t *buf, uint16_t op, uint32_t round, uint32_t params, double weight,
		       uint32_t count)
{
	msg_t m;

	memset(&m, 0, sizeof(m));
	m.magic = FERRY_FL_MSG_MAGIC;
	m.version = FERRY_FL_MSG_VERSION;
	m.op = op;
	m.round = round;
	m.param_count = params;
	m.weight = weight;
	m.count = count;
	memcpy(buf, &m, sizeof(m));
}

/* A PARTIAL for the parent: the routing fields of the message that
 * triggered it (FLUSH, or the last PARTIAL), expect_parent as given. */
static void put_partial(uint8_t *buf, const msg_t *from, uint32_t params, double weight,
			uint32_t count, uint32_t expect_parent)
{
	msg_t m;

	put_header(buf, FERRY_FL_OP_PARTIAL, from->round, params, weight, count);
	memcpy(&m, buf, sizeof(m));
	m.expect_parent = expect_parent;
	m.expect_top = from->expect_top;
	m.base_offset = from->base_offset;
	m.base_generation = from->base_generation;
	memcpy(buf, &m, sizeof(m));
}

__attribute__((format(printf, 3, 4)))
static int bad(struct ferry_call *call, const char *code, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ferry_fail_status(call, 400, code, msg);
}

/* Header fields every message must have right. */
static int check_header(struct ferry_call *call, const msg_t *m, uint32_t len)
{
	if (len < FERRY_FL_HEADER_SIZE)
		return bad(call, "badHeader", "message of %u bytes is shorter than its %d-byte header", len,
			   FERRY_FL_HEADER_SIZE);
	if (m->magic != FERRY_FL_MSG_MAGIC || m->version != FERRY_FL_MSG_VERSION)
		return bad(call, "badHeader", "not an aggregator message (magic %#x, version %u)", m->magic,
			   m->version);
	if ((m->flags & ~(m->op == FERRY_FL_OP_FLUSH ? FERRY_FL_FLUSH_DISCARD : 0u)) || m->reserved[0] ||
	    m->reserved[1] || m->reserved[2])
		return bad(call, "badHeader", "flags (but FLUSH's discard) and reserved fields must be zero");
	return 0;
}

/* A message carrying a tensor: its length must be what its own header
 * says, and its size the job's. */
static int check_tensor(struct ferry_call *call, const msg_t *m, uint32_t len)
{
	if (m->param_count == 0 || len != msg_bytes(m->param_count))
		return bad(call, "badTensorSize", "%u bytes do not hold a header and param_count %u float32s",
			   len, m->param_count);
	if (job_params && m->param_count != job_params)
		return bad(call, "badTensorSize", "param_count %u, but this job's tensors have %u",
			   m->param_count, job_params);
	if (!(m->weight >= 0) || isinf(m->weight))
		return bad(call, "badHeader", "weight must be finite and >= 0");
	return 0;
}

/* An ACK for the caller into buf: the round and how much it has so far. */
static int ack(struct ferry_call *call, uint8_t *buf, const struct round_acc *r, uint32_t round, int fresh)
{
	put_header(buf, FERRY_FL_OP_ACK, round, 0, r ? r->weight : 0, r ? r->count : 0);
	if (fresh)
		ferry_output_commit(call, FERRY_FL_HEADER_SIZE);
	else
		ferry_output_in_place(call, FERRY_FL_HEADER_SIZE);
	return ferry_reply(call);
}

/* The first tensor of a round becomes its accumulator: the ACK needs a
 * buffer of its own, found before anything changes. */
static uint8_t *ack_buffer(struct ferry_call *call)
{
	uint8_t *out = ferry_output_alloc(call, FERRY_FL_HEADER_SIZE);

	if (!out)
		ferry_fail_status(call, 503, "busy", "no pool buffer for the aggregator's ACK: retry later");
	return out;
}

/* Take the input as r's accumulator. */
static int adopt_input(struct ferry_call *call, struct round_acc *r, uint32_t params)
{
	if (ferry_input_hold(call, &r->acc) != 0)
		return ferry_fail(call, "aggregator: cannot hold the input buffer");
	r->has_acc = 1;
	job_params = params;
	return 0;
}

static float *acc_values(struct ferry_call *call, struct round_acc *r)
{
	uint8_t *p = ferry_held_ptr(call, &r->acc);

	return p ? values(p) : NULL;
}

static int on_update(struct ferry_call *call, const msg_t *m, uint8_t *in, uint32_t len)
{
	struct round_acc *r;
	uint8_t *out = NULL;
	float w = (float)m->weight;
	float *acc;

	if (role != ROLE_LEAF)
		return bad(call, "badHeader", "UPDATE sent to a %s aggregator: updates go to leaves",
			   role == ROLE_MID ? "mid" : "top");
	if (check_tensor(call, m, len))
		return -1;
	/* Before anything is folded: a bad value anywhere rejects it all. An
	 * update to be folded is forgotten as it is checked (the fold maps it
	 * again slice by slice); one that becomes the accumulator stays. */
	r = find_round(m->round);
	if (!(r && r->has_acc ? all_finite_forgetting(in, m->param_count)
			      : ferry_fl_all_finite(values(in), m->param_count)))
		return ferry_fail_status(call, 422, "nonFiniteUpdate",
					 "the update holds a NaN or an infinity: nothing of it was folded");
	if (!r || !r->has_acc) {
		if (!(out = ack_buffer(call)))
			return -1;
		r = open_round(call, m->round);
		if (adopt_input(call, r, m->param_count))
			return -1;
		ferry_fl_scale(values(in), w, m->param_count);
	} else {
		if (!(acc = acc_values(call, r)))
			return ferry_fail(call, "aggregator: the round's accumulator is gone");
		fold_forgetting(acc, in, w, m->param_count); /* the ACK below rewrites only its header */
	}
	r->weight += m->weight;
	r->count++;
	/* A folded update answers in its own buffer, which the gateway frees. */
	return ack(call, out ? out : in, r, m->round, out != NULL);
}

static int on_flush(struct ferry_call *call, const msg_t *m, uint8_t *in)
{
	struct round_acc *r = find_round(m->round);
	uint8_t *acc;

	if (role != ROLE_LEAF)
		return bad(call, "badHeader", "FLUSH sent to a mid or top aggregator: flushes go to leaves");
	if (m->flags & FERRY_FL_FLUSH_DISCARD) {
		/* A failed round: its sum is dropped, the ACK says what it held. */
		struct round_acc gone = r ? *r : (struct round_acc){ 0 };

		if (r)
			close_round(call, r, 1);
		return ack(call, in, &gone, m->round, 0);
	}
	if (!r || !r->has_acc) {
		/* An empty leaf still counts toward its parent's expect. */
		put_partial(in, m, 0, 0, 0, m->expect_parent);
		if (r)
			close_round(call, r, 0);
		return ferry_output_in_place(call, FERRY_FL_HEADER_SIZE);
	}
	if (!(acc = ferry_held_ptr(call, &r->acc)))
		return ferry_fail(call, "aggregator: the round's accumulator is gone");
	put_partial(acc, m, job_params, r->weight, r->count, m->expect_parent);
	if (ferry_output_held(call, &r->acc, (uint32_t)msg_bytes(job_params)))
		return -1;
	forget(acc, msg_bytes(job_params));
	close_round(call, r, 0); /* the sum went on: the parent owns it */
	return 0;
}

/* The top's last partial: model = base + sum / W, or base when W = 0. */
static int finalize(struct ferry_call *call, struct round_acc *r, const msg_t *m, const float *base)
{
	uint32_t params = r->has_acc ? job_params : 0;
	uint8_t *buf;

	if (r->has_acc) {
		buf = ferry_held_ptr(call, &r->acc);
		if (!buf)
			return ferry_fail(call, "aggregator: the round's accumulator is gone");
		if (r->weight > 0)
			finalize_forgetting(values(buf), base, (float)(1.0 / r->weight), params);
		else if (base)
			memcpy(values(buf), base, 4ull * params);
		else
			memset(values(buf), 0, 4ull * params);
		put_header(buf, FERRY_FL_OP_MODEL, m->round, params, r->weight, r->count);
		if (ferry_output_held(call, &r->acc, (uint32_t)msg_bytes(params)))
			return -1;
		forget(buf, msg_bytes(params));
		if (base)
			forget(base, 4ull * params); /* when W = 0 it was copied whole */
		close_round(call, r, 0);
		return ferry_reply(call);
	}
	/* Nothing was folded anywhere: the model is the base, in a new buffer. */
	params = job_params;
	buf = ferry_output_alloc(call, (uint32_t)msg_bytes(params));
	if (!buf)
		return ferry_fail_status(call, 503, "busy", "no pool buffer for the round's model: retry the flush");
	if (base) {
		memcpy(values(buf), base, 4ull * params);
		forget(base, 4ull * params);
	}
	put_header(buf, FERRY_FL_OP_MODEL, m->round, params, r->weight, r->count);
	ferry_output_commit(call, (uint32_t)msg_bytes(params));
	forget(buf, msg_bytes(params));
	close_round(call, r, 0);
	return ferry_reply(call);
}

/* The base model a FLUSH named (a sealed MODEL message: header, then
 * param_count float32s), or NULL for zeros; *ok = 0 when it is named but
 * not live or too small. */
static const float *base_model(struct ferry_call *call, const msg_t *m, uint32_t params, int *ok)
{
	const uint8_t *p;
	uint32_t cap;
	msg_t h;

	*ok = 1;
	if (m->base_offset == 0)
		return NULL;
	p = ferry_pool_view(call, m->base_offset, m->base_generation, &cap);
	if (p && !params && cap >= FERRY_FL_HEADER_SIZE) {
		memcpy(&h, p, sizeof(h)); /* nothing folded anywhere: the base says the size */
		if (h.magic == FERRY_FL_MSG_MAGIC && msg_bytes(h.param_count) <= cap)
			job_params = params = h.param_count;
	}
	if (!p || cap < msg_bytes(params)) {
		*ok = 0;
		return NULL;
	}
	return (const float *)(p + FERRY_FL_HEADER_SIZE);
}

static int on_partial(struct ferry_call *call, const msg_t *m, uint8_t *in, uint32_t len)
{
	uint32_t expect = role == ROLE_MID ? m->expect_parent : m->expect_top;
	int empty = m->count == 0 && m->param_count == 0;
	struct round_acc *r = find_round(m->round);
	const float *base = NULL;
	uint8_t *out = NULL;
	int last, ok;
	float *acc;

	if (role == ROLE_LEAF)
		return bad(call, "badHeader", "PARTIAL sent to a leaf: partials go to mid or top aggregators");
	if (expect == 0)
		return bad(call, "badHeader", "PARTIAL for round %u expects 0 partials: at least 1", m->round);
	if (empty && len != FERRY_FL_HEADER_SIZE)
		return bad(call, "badTensorSize", "an empty PARTIAL is %d bytes, not %u", FERRY_FL_HEADER_SIZE, len);
	if (!empty && check_tensor(call, m, len))
		return -1;
	last = (r ? r->partials : 0) + 1 >= expect;
	if (last && role == ROLE_TOP) {
		/* The base is looked at before anything changes. */
		base = base_model(call, m, job_params ? job_params : (empty ? 0 : m->param_count), &ok);
		if (!ok)
			return ferry_fail_status(call, 409, "baseGone",
						 "the base model the flush named is no longer in the pool: flush again");
	}
	if (!empty && (!r || !r->has_acc) && !last && !(out = ack_buffer(call)))
		return -1;
	r = open_round(call, m->round);
	if (!empty && !r->has_acc) {
		if (adopt_input(call, r, m->param_count))
			return -1;
	} else if (!empty) {
		if (!(acc = acc_values(call, r)))
			return ferry_fail(call, "aggregator: the round's accumulator is gone");
		fold_forgetting(acc, in, 1.0f, m->param_count);
	}
	r->weight += m->weight;
	r->count += m->count;
	r->partials++;
	if (!last)
		return ack(call, out ? out : in, r, m->round, out != NULL);
	if (role == ROLE_TOP)
		return finalize(call, r, m, base);
	/* A mid's last partial: its sum goes on to the top. */
	if (!r->has_acc) {
		put_partial(in, m, 0, r->weight, r->count, m->expect_top);
		close_round(call, r, 0);
		return ferry_output_in_place(call, FERRY_FL_HEADER_SIZE);
	}
	{
		uint8_t *buf = ferry_held_ptr(call, &r->acc);

		if (!buf)
			return ferry_fail(call, "aggregator: the round's accumulator is gone");
		put_partial(buf, m, job_params, r->weight, r->count, m->expect_top);
		if (ferry_output_held(call, &r->acc, (uint32_t)msg_bytes(job_params)))
			return -1;
		forget(buf, msg_bytes(job_params));
		close_round(call, r, 0);
	}
	return 0;
}

int ferry_handle(struct ferry_call *call)
{
	uint32_t len, cap;
	uint8_t *in = ferry_input_mut(call, &cap);
	msg_t m;

	ferry_input(call, &len);
	memset(&m, 0, sizeof(m));
	memcpy(&m, in, len < sizeof(m) ? len : sizeof(m));
	if (check_header(call, &m, len))
		return -1;
	switch (m.op) {
	case FERRY_FL_OP_UPDATE:
		return on_update(call, &m, in, len);
	case FERRY_FL_OP_FLUSH:
		return on_flush(call, &m, in);
	case FERRY_FL_OP_PARTIAL:
		return on_partial(call, &m, in, len);
	default:
		return bad(call, "badHeader", "op %u is not one an aggregator takes (UPDATE, FLUSH, PARTIAL)", m.op);
	}
}
