// SPDX-License-Identifier: Apache-2.0
/* Shared-memory pool: see include/ferry/pool.h for the design. */
#define _GNU_SOURCE
#include "ferry/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define POOL_MAGIC   0x4c4f4f5059525246ull /* "FRRYPOOL" */
#define POOL_VERSION 2u
#define REGION_ALIGN 4096u
/* How a freed buffer is zeroed: 1, memset (the default) below PUNCH_MIN and
 * by giving its pages back from there up; 2, always by giving its pages
 * back (a hole in the memfd: the next touch maps fresh zero pages); 0, not
 * at all. bench/pool builds this file all three ways: for request-sized
 * buffers giving pages back costs 50-100 times a memset per request (every
 * page faults in again), so it is kept for model-sized buffers and for
 * shrinking idle classes, where memory matters more than time. */
#ifndef FERRY_POOL_SCRUB
#define FERRY_POOL_SCRUB 1
#endif

/* In-memory header, shared by every process mapping the pool. */
struct pool_class_hdr {
	uint32_t buf_size;
	uint32_t max_count;
	uint64_t region_off;
	uint32_t meta_base;
	_Atomic uint32_t enabled;  /* slots [0, enabled) were put in service once */
	_Atomic uint64_t free_head; /* (aba_tag << 32) | (index + 1); 0 = empty */
	_Atomic uint64_t retired_head; /* the same, for slots out of service */
	_Atomic uint32_t in_use;
	_Atomic uint32_t capacity; /* in service: enabled - retired */
	_Atomic uint64_t misses;
};

struct pool_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t nclasses;
	uint64_t total_size;
	uint64_t meta_off;
	uint32_t total_bufs;
	uint32_t pad;
	_Atomic uint64_t alloc_failures;
	_Atomic uint64_t bad_frees;
	struct pool_class_hdr cls[FERRY_POOL_MAX_CLASSES];
};

/* Per-buffer metadata: state = (generation << 32) | owner; owner 0 = free,
 * FERRY_OWNER_RETIRED = out of service. */
struct buf_meta {
	_Atomic uint64_t state;
	_Atomic uint32_t next;     /* free/retired-list link: class-local index + 1 */
	_Atomic uint32_t tag;      /* request tag, see ferry_pool_tag */
	_Atomic uint32_t deadline; /* ferry_pool_now_ms() after which it expires; 0 = never */
	_Atomic uint32_t sealed;   /* ferry_pool_seal: refuses free, take and expiry */
};

#define STATE(gen, owner) (((uint64_t)(gen) << 32) | (uint32_t)(owner))
#define STATE_GEN(s)      ((uint32_t)((s) >> 32))
#define STATE_OWNER(s)    ((uint32_t)(s))
#define LIVE_OWNER(o)     ((o) != 0 && (o) != FERRY_OWNER_RETIRED)

static struct pool_hdr *hdr(const struct ferry_pool *p)
{
	return (struct pool_hdr *)p->base;
}

static struct buf_meta *meta(const struct ferry_pool *p, uint32_t slot)
{
	return (struct buf_meta *)(p->base + sizeof(struct pool_hdr)) + slot;
}

static struct buf_meta *slot_meta(const struct ferry_pool *p, uint32_t c, uint32_t idx)
{
	return meta(p, p->cls[c].meta_base + idx);
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

/* Slots of class c that were ever in service, as far as a scan must look:
 * the header's count, clamped to the private layout (a tenant may write
 * anything into the header). */
static uint32_t scan_limit(const struct ferry_pool *p, uint32_t c)
{
	uint32_t e = atomic_load_explicit(&hdr(p)->cls[c].enabled, memory_order_acquire);

	return e < p->cls[c].max_count ? e : p->cls[c].max_count;
}

const char *ferry_pool_strerror(int err)
{
	switch (err) {
	case FERRY_EPOOL_EXHAUSTED: return "pool exhausted: no free buffer large enough";
	case FERRY_ETOO_LARGE:      return "payload larger than the pool's largest buffer class";
	case FERRY_EBAD_OFFSET:     return "offset does not name a buffer in this pool";
	case FERRY_ESTALE:          return "stale descriptor: buffer generation differs (it was recycled)";
	case FERRY_EDOUBLE_FREE:    return "buffer is already free (double free or stale descriptor)";
	case FERRY_EBAD_LENGTH:     return "length exceeds the buffer's capacity";
	case FERRY_EBAD_POOL:       return "not a ferry pool, or a pool of another version";
	case FERRY_ENOT_OWNER:      return "buffer is owned by someone else";
	case FERRY_ERETIRED:        return "buffer slot is out of service (the pool shrank)";
	case FERRY_ESEALED:         return "buffer is sealed (a shared read-only model): unseal it first";
	default:                    return strerror(-err);
	}
}

/* Push class-local index idx onto one of class c's lists (free or retired). */
static void push(struct ferry_pool *p, uint32_t c, _Atomic uint64_t *head_p, uint32_t idx)
{
	struct buf_meta *m = slot_meta(p, c, idx);
	uint64_t head = atomic_load_explicit(head_p, memory_order_acquire);
	uint64_t next;

	do {
		atomic_store_explicit(&m->next, (uint32_t)head, memory_order_relaxed);
		next = STATE((head >> 32) + 1, idx + 1);
	} while (!atomic_compare_exchange_weak_explicit(head_p, &head, next,
							memory_order_release,
							memory_order_acquire));
}

/* Pop one index from one of class c's lists; -1 when empty (or corrupt). */
static int64_t pop(struct ferry_pool *p, uint32_t c, _Atomic uint64_t *head_p)
{
	uint64_t head = atomic_load_explicit(head_p, memory_order_acquire);
	uint32_t top, after;

	for (;;) {
		top = (uint32_t)head;
		if (top == 0 || top > p->cls[c].max_count)
			return -1;
		after = atomic_load_explicit(&slot_meta(p, c, top - 1)->next, memory_order_relaxed);
		if (atomic_compare_exchange_weak_explicit(
			    head_p, &head, STATE((head >> 32) + 1, after),
			    memory_order_acq_rel, memory_order_acquire))
			return top - 1;
	}
}

static void push_free(struct ferry_pool *p, uint32_t c, uint32_t idx)
{
	push(p, c, &hdr(p)->cls[c].free_head, idx);
}

static int64_t pop_free(struct ferry_pool *p, uint32_t c)
{
	return pop(p, c, &hdr(p)->cls[c].free_head);
}

static uint8_t *slot_ptr(const struct ferry_pool *p, uint32_t c, uint32_t idx)
{
	return p->base + p->cls[c].region_off + (uint64_t)idx * p->cls[c].buf_size;
}

/* From this size up, a freed buffer's pages go back to the kernel instead
 * of being zeroed in place: a model-sized buffer (an FL update, 47-240 MB)
 * then stops costing memory the moment it is freed, in every process that
 * touched it, and a hole costs less than writing megabytes of zeros. */
#define PUNCH_MIN (1u << 20)

/* Give buffer (c, idx)'s whole pages back (a hole punched in the memfd:
 * they read as zeros again) and, with zero_ends, zero the partial pages at
 * its ends, which it may share with its neighbours (a slot being retired
 * is free, so already zero: touching its ends would only fault them in). */
static void give_back(const struct ferry_pool *p, uint32_t c, uint32_t idx, int zero_ends)
{
	uint64_t start = p->cls[c].region_off + (uint64_t)idx * p->cls[c].buf_size;
	uint64_t end = start + p->cls[c].buf_size;
	uint64_t a = align_up(start, REGION_ALIGN), b = end / REGION_ALIGN * REGION_ALIGN;

	if (a >= b) {
		if (zero_ends)
			memset(p->base + start, 0, end - start);
		return;
	}
	if (zero_ends) {
		memset(p->base + start, 0, a - start);
		memset(p->base + b, 0, end - b);
	}
	/* The mapping starts at file offset 0. Without the fd (a mapping
	 * whose fd was closed), the same through the mapping. */
	if (fallocate(p->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)a, (off_t)(b - a)) == 0 ||
	    madvise(p->base + a, b - a, MADV_REMOVE) == 0)
		return;
	if (zero_ends) /* then all of it must read as zeros */
		memset(p->base + a, 0, b - a);
}

/* No request may see what an earlier one left in a buffer. */
static void scrub(const struct ferry_pool *p, uint32_t c, uint32_t idx)
{
	if (FERRY_POOL_SCRUB == 0)
		return;
	if (FERRY_POOL_SCRUB == 2 || p->cls[c].buf_size >= PUNCH_MIN)
		give_back(p, c, idx, 1);
	else
		memset(slot_ptr(p, c, idx), 0, p->cls[c].buf_size);
}

/* Slots a class reserves: max_count, or count for a fixed class. */
static uint32_t spec_max(const struct ferry_pool_class_spec *c)
{
	return c->max_count ? c->max_count : c->count;
}

int ferry_pool_create(struct ferry_pool *p, const char *name,
		      const struct ferry_pool_class_spec *classes,
		      uint32_t nclasses)
{
	uint64_t off, meta_off = sizeof(struct pool_hdr), total_bufs = 0;
	uint32_t c, i;
	struct pool_hdr *h;
	int fd, err;

	if (nclasses == 0 || nclasses > FERRY_POOL_MAX_CLASSES)
		return -EINVAL;
	for (c = 0; c < nclasses; c++) {
		/* Capacities travel as int (ferry_pool_check): up to 2 GiB. */
		if (classes[c].buf_size == 0 || classes[c].buf_size % 64 || classes[c].buf_size > INT32_MAX ||
		    spec_max(&classes[c]) == 0 || classes[c].count > spec_max(&classes[c]) ||
		    (c && classes[c].buf_size <= classes[c - 1].buf_size))
			return -EINVAL;
		total_bufs += spec_max(&classes[c]);
	}
	if (total_bufs > UINT32_MAX / 2)
		return -EINVAL;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	off = align_up(meta_off + total_bufs * sizeof(struct buf_meta), REGION_ALIGN);
	p->nclasses = nclasses;
	for (c = 0, i = 0; c < nclasses; i += spec_max(&classes[c]), c++) {
		p->cls[c].buf_size = classes[c].buf_size;
		p->cls[c].max_count = spec_max(&classes[c]);
		p->cls[c].meta_base = i;
		p->cls[c].region_off = off;
		off = align_up(off + (uint64_t)classes[c].buf_size * p->cls[c].max_count, REGION_ALIGN);
	}

	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	/* Sparse: reserved slots cost nothing until written. */
	if (ftruncate(fd, (off_t)off) < 0)
		goto fail;
	/* Instances get this fd: forbid resizing, which would SIGBUS everyone. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail;
	p->base = mmap(NULL, off, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (p->base == MAP_FAILED)
		goto fail;
	p->fd = fd;
	p->size = off;

	h = hdr(p);
	h->version = POOL_VERSION;
	h->nclasses = nclasses;
	h->total_size = off;
	h->meta_off = meta_off;
	h->total_bufs = (uint32_t)total_bufs;
	for (c = 0; c < nclasses; c++) {
		h->cls[c].buf_size = p->cls[c].buf_size;
		h->cls[c].max_count = p->cls[c].max_count;
		h->cls[c].region_off = p->cls[c].region_off;
		h->cls[c].meta_base = p->cls[c].meta_base;
		atomic_store(&h->cls[c].in_use, 0);
		/* Push in reverse so low offsets are handed out first. */
		for (i = classes[c].count; i-- > 0;)
			push_free(p, c, i);
		atomic_store(&h->cls[c].enabled, classes[c].count);
		atomic_store(&h->cls[c].capacity, classes[c].count);
	}
	/* Magic last: an attacher never sees a half-built header. */
	atomic_thread_fence(memory_order_release);
	h->magic = POOL_MAGIC;
	return 0;

fail:
	err = -errno;
	close(fd);
	p->base = NULL;
	return err;
}

int ferry_pool_attach(struct ferry_pool *p, int fd)
{
	struct pool_hdr snap;
	struct stat st;
	uint64_t end;
	uint32_t c, bufs = 0;
	int err;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < sizeof(struct pool_hdr))
		return FERRY_EBAD_POOL;
	p->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (p->fd < 0)
		return -errno;
	p->base = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, p->fd, 0);
	if (p->base == MAP_FAILED) {
		err = -errno;
		close(p->fd);
		p->base = NULL;
		return err;
	}
	p->size = st.st_size;

	/* Validate a private snapshot: the live header can change under us. */
	memcpy(&snap, p->base, sizeof(snap));
	err = FERRY_EBAD_POOL;
	if (snap.magic != POOL_MAGIC || snap.version != POOL_VERSION ||
	    snap.total_size != p->size || snap.nclasses == 0 ||
	    snap.nclasses > FERRY_POOL_MAX_CLASSES ||
	    snap.meta_off != sizeof(struct pool_hdr))
		goto bad;
	end = snap.meta_off + (uint64_t)snap.total_bufs * sizeof(struct buf_meta);
	for (c = 0; c < snap.nclasses; c++) {
		const struct pool_class_hdr *ch = &snap.cls[c];

		if (ch->buf_size == 0 || ch->max_count == 0 || ch->region_off < end ||
		    ch->meta_base != bufs ||
		    ch->region_off + (uint64_t)ch->buf_size * ch->max_count > p->size)
			goto bad;
		end = ch->region_off + (uint64_t)ch->buf_size * ch->max_count;
		bufs += ch->max_count;
		p->cls[c].buf_size = ch->buf_size;
		p->cls[c].max_count = ch->max_count;
		p->cls[c].region_off = ch->region_off;
		p->cls[c].meta_base = ch->meta_base;
	}
	if (bufs != snap.total_bufs)
		goto bad;
	p->nclasses = snap.nclasses;
	return 0;
bad:
	ferry_pool_detach(p);
	return err;
}

void ferry_pool_detach(struct ferry_pool *p)
{
	if (p->base && p->base != MAP_FAILED)
		munmap(p->base, p->size);
	if (p->fd >= 0)
		close(p->fd);
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}

/* Hand out one free slot of class c to owner; -1 when the class is empty. */
static int take_free(struct ferry_pool *p, uint32_t c, uint32_t owner, struct ferry_buf *out)
{
	int guard;

	/* A slot on the free list is free unless a tenant scribbled on the
	 * list; such a slot is skipped rather than handed out twice. */
	for (guard = 0; guard < 64; guard++) {
		int64_t idx = pop_free(p, c);
		struct buf_meta *m;
		uint64_t s;
		uint32_t gen;

		if (idx < 0)
			return -1;
		m = slot_meta(p, c, (uint32_t)idx);
		s = atomic_load_explicit(&m->state, memory_order_acquire);
		if (STATE_OWNER(s) != 0)
			continue;
		gen = STATE_GEN(s) + 1;
		if (gen == 0) /* generation 0 is never valid in a descriptor */
			gen = 1;
		atomic_store_explicit(&m->tag, 0, memory_order_relaxed);
		atomic_store_explicit(&m->deadline, 0, memory_order_relaxed);
		atomic_store_explicit(&m->sealed, 0, memory_order_relaxed);
		if (!atomic_compare_exchange_strong_explicit(&m->state, &s, STATE(gen, owner),
							     memory_order_acq_rel,
							     memory_order_acquire))
			continue;
		atomic_fetch_add_explicit(&hdr(p)->cls[c].in_use, 1, memory_order_relaxed);
		out->offset = p->cls[c].region_off + (uint64_t)idx * p->cls[c].buf_size;
		out->capacity = p->cls[c].buf_size;
		out->generation = gen;
		return 0;
	}
	return -1;
}

int ferry_pool_alloc(struct ferry_pool *p, uint32_t size, uint32_t owner,
		     struct ferry_buf *out)
{
	int first = 1;
	uint32_t c;

	if (owner == 0 || owner == FERRY_OWNER_RETIRED)
		return -EINVAL;
	if (size > p->cls[p->nclasses - 1].buf_size)
		return FERRY_ETOO_LARGE;
	/* Smallest fitting class first, then larger ones before giving up; a
	 * miss on the fitting class tells ferryd which class to grow. */
	for (c = 0; c < p->nclasses; c++) {
		if (p->cls[c].buf_size < size)
			continue;
		if (take_free(p, c, owner, out) == 0)
			return 0;
		if (first)
			atomic_fetch_add_explicit(&hdr(p)->cls[c].misses, 1, memory_order_relaxed);
		first = 0;
	}
	atomic_fetch_add_explicit(&hdr(p)->alloc_failures, 1, memory_order_relaxed);
	return FERRY_EPOOL_EXHAUSTED;
}

/* Map an offset to (class, index); only exact buffer starts are valid. */
static int locate(const struct ferry_pool *p, uint64_t offset, uint32_t *cls,
		  uint32_t *idx)
{
	uint32_t c;

	for (c = 0; c < p->nclasses; c++) {
		const struct ferry_pool_class_layout *l = &p->cls[c];
		uint64_t rel;

		if (offset < l->region_off)
			continue;
		rel = offset - l->region_off;
		if (rel >= (uint64_t)l->buf_size * l->max_count)
			continue;
		if (rel % l->buf_size)
			return FERRY_EBAD_OFFSET;
		*cls = c;
		*idx = (uint32_t)(rel / l->buf_size);
		return 0;
	}
	return FERRY_EBAD_OFFSET;
}

/* What a non-live state means to a caller naming (offset, generation). */
static int dead_state(uint64_t s, uint32_t generation)
{
	if (STATE_OWNER(s) == FERRY_OWNER_RETIRED)
		return FERRY_ERETIRED;
	if (STATE_OWNER(s) == 0)
		return FERRY_EDOUBLE_FREE;
	if (STATE_GEN(s) != generation)
		return FERRY_ESTALE;
	return 0;
}

static int bad_free(struct ferry_pool *p, int err)
{
	atomic_fetch_add_explicit(&hdr(p)->bad_frees, 1, memory_order_relaxed);
	return err;
}

/* Release slot (c, idx) if its state is still exactly s: scrub it, then
 * put it back on the free list (nobody can allocate it in between). */
static int release(struct ferry_pool *p, uint32_t c, uint32_t idx, uint64_t s)
{
	struct buf_meta *m = slot_meta(p, c, idx);

	if (!atomic_compare_exchange_strong_explicit(&m->state, &s,
						     STATE(STATE_GEN(s), 0),
						     memory_order_acq_rel,
						     memory_order_acquire))
		return -EAGAIN;
	atomic_fetch_sub_explicit(&hdr(p)->cls[c].in_use, 1, memory_order_relaxed);
	atomic_store_explicit(&m->sealed, 0, memory_order_relaxed);
	scrub(p, c, idx);
	push_free(p, c, idx);
	return 0;
}

static int is_sealed(const struct ferry_pool *p, uint32_t c, uint32_t idx)
{
	return atomic_load_explicit(&slot_meta(p, c, idx)->sealed, memory_order_acquire) != 0;
}

int ferry_pool_free(struct ferry_pool *p, uint64_t offset, uint32_t generation)
{
	uint32_t c, idx;
	int err = locate(p, offset, &c, &idx);

	if (err)
		return bad_free(p, err);
	for (;;) {
		uint64_t s = atomic_load_explicit(&slot_meta(p, c, idx)->state, memory_order_acquire);

		if ((err = dead_state(s, generation)))
			return bad_free(p, err);
		if (is_sealed(p, c, idx))
			return bad_free(p, FERRY_ESEALED);
		if (release(p, c, idx, s) == 0)
			return 0;
	}
}

int ferry_pool_free_owned(struct ferry_pool *p, uint64_t offset,
			  uint32_t generation, uint32_t owner)
{
	uint32_t c, idx;
	int err = locate(p, offset, &c, &idx);

	if (err)
		return err;
	for (;;) {
		uint64_t s = atomic_load_explicit(&slot_meta(p, c, idx)->state, memory_order_acquire);

		/* Not a bad free: asking is the point. */
		if ((err = dead_state(s, generation)))
			return err;
		if (STATE_OWNER(s) != owner)
			return FERRY_ENOT_OWNER;
		if (is_sealed(p, c, idx))
			return FERRY_ESEALED;
		if (release(p, c, idx, s) == 0)
			return 0;
	}
}

/* The live slot (offset, generation) names, or an error. */
static int live_slot(const struct ferry_pool *p, uint64_t offset, uint32_t generation,
		     uint32_t *c, uint32_t *idx)
{
	int err = locate(p, offset, c, idx);

	if (err)
		return err;
	return dead_state(atomic_load_explicit(&slot_meta(p, *c, *idx)->state,
					       memory_order_acquire),
			  generation);
}

int ferry_pool_check(const struct ferry_pool *p, uint64_t offset,
		     uint32_t generation, uint32_t length)
{
	uint32_t c, idx;
	int err = live_slot(p, offset, generation, &c, &idx);

	if (err)
		return err;
	if (length > p->cls[c].buf_size)
		return FERRY_EBAD_LENGTH;
	return (int)p->cls[c].buf_size;
}

int ferry_pool_take(struct ferry_pool *p, uint64_t offset, uint32_t generation,
		    uint32_t new_owner)
{
	struct buf_meta *m;
	uint32_t c, idx;
	uint64_t s;
	int err;

	if (new_owner == 0 || new_owner == FERRY_OWNER_RETIRED)
		return -EINVAL;
	err = locate(p, offset, &c, &idx);
	if (err)
		return err;
	m = slot_meta(p, c, idx);
	s = atomic_load_explicit(&m->state, memory_order_acquire);
	do {
		if ((err = dead_state(s, generation)))
			return err;
		if (atomic_load_explicit(&m->sealed, memory_order_acquire))
			return FERRY_ESEALED;
	} while (!atomic_compare_exchange_weak_explicit(&m->state, &s,
							STATE(generation, new_owner),
							memory_order_acq_rel,
							memory_order_acquire));
	return 0;
}

int ferry_pool_tag(struct ferry_pool *p, uint64_t offset, uint32_t generation,
		   uint32_t tag)
{
	uint32_t c, idx;
	int err = live_slot(p, offset, generation, &c, &idx);

	if (err)
		return err;
	atomic_store_explicit(&slot_meta(p, c, idx)->tag, tag, memory_order_relaxed);
	return 0;
}

int ferry_pool_label(struct ferry_pool *p, uint64_t offset, uint32_t generation,
		     uint32_t tag, uint32_t deadline_ms)
{
	uint32_t c, idx;
	int err = live_slot(p, offset, generation, &c, &idx);

	if (err)
		return err;
	atomic_store_explicit(&slot_meta(p, c, idx)->tag, tag, memory_order_relaxed);
	atomic_store_explicit(&slot_meta(p, c, idx)->deadline, deadline_ms, memory_order_relaxed);
	return 0;
}

int ferry_pool_inherit(struct ferry_pool *p, uint64_t dst_offset,
		       uint32_t dst_generation, uint64_t src_offset,
		       uint32_t src_generation)
{
	uint32_t sc, si;
	int err = live_slot(p, src_offset, src_generation, &sc, &si);
	const struct buf_meta *src;

	if (err)
		return err;
	src = slot_meta(p, sc, si);
	return ferry_pool_label(p, dst_offset, dst_generation,
				atomic_load_explicit(&src->tag, memory_order_relaxed),
				atomic_load_explicit(&src->deadline, memory_order_relaxed));
}

/* The metadata of the live buffer (offset, generation), or NULL with *err. */
static struct buf_meta *live_meta(const struct ferry_pool *p, uint64_t offset, uint32_t generation,
				  uint32_t *capacity, int *err)
{
	uint32_t c, idx;

	*err = live_slot(p, offset, generation, &c, &idx);
	if (*err)
		return NULL;
	if (capacity)
		*capacity = p->cls[c].buf_size;
	return slot_meta(p, c, idx);
}

/* Seal (1) or unseal (0) a live buffer. */
static int set_seal(struct ferry_pool *p, uint64_t offset, uint32_t generation, uint32_t sealed)
{
	int err;
	struct buf_meta *m = live_meta(p, offset, generation, NULL, &err);

	if (m)
		atomic_store_explicit(&m->sealed, sealed, memory_order_release);
	return err;
}

int ferry_pool_seal(struct ferry_pool *p, uint64_t offset, uint32_t generation)
{
	return set_seal(p, offset, generation, 1);
}

int ferry_pool_unseal(struct ferry_pool *p, uint64_t offset, uint32_t generation)
{
	return set_seal(p, offset, generation, 0);
}

int ferry_pool_sealed(const struct ferry_pool *p, uint64_t offset, uint32_t generation)
{
	int err;
	const struct buf_meta *m = live_meta(p, offset, generation, NULL, &err);

	return m ? (int)(atomic_load_explicit(&m->sealed, memory_order_acquire) != 0) : err;
}

int ferry_pool_inspect(const struct ferry_pool *p, uint64_t offset, uint32_t generation,
		       struct ferry_pool_slot_info *info)
{
	int err;
	const struct buf_meta *m = live_meta(p, offset, generation, &info->capacity, &err);

	if (!m)
		return err;
	info->owner = STATE_OWNER(atomic_load_explicit(&m->state, memory_order_acquire));
	info->tag = atomic_load_explicit(&m->tag, memory_order_relaxed);
	info->deadline = atomic_load_explicit(&m->deadline, memory_order_relaxed);
	return 0;
}

uint32_t ferry_pool_now_ms(void)
{
	struct timespec ts;
	uint32_t ms;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ms = (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
	return ms ? ms : 1;
}

typedef int (*want_fn)(uint32_t owner, uint32_t tag, uint32_t deadline, const void *arg);

static int expired_at(uint32_t owner, uint32_t tag, uint32_t deadline, const void *arg);

/* Free every live buffer for which want(owner, tag, deadline, arg) holds,
 * reporting (owner, tag) of up to max of them. A sealed buffer never
 * expires (a shared model outlives any request's deadline). */
static int sweep(struct ferry_pool *p, want_fn want, const void *arg,
		 struct ferry_pool_expired *out, int max)
{
	uint32_t c, idx, lim;
	int n = 0;

	for (c = 0; c < p->nclasses; c++) {
		lim = scan_limit(p, c);
		for (idx = 0; idx < lim; idx++) {
			struct buf_meta *m = slot_meta(p, c, idx);
			uint64_t s = atomic_load_explicit(&m->state, memory_order_acquire);
			uint32_t tag = atomic_load_explicit(&m->tag, memory_order_relaxed);

			if (!LIVE_OWNER(STATE_OWNER(s)) || (want == expired_at && is_sealed(p, c, idx)) ||
			    !want(STATE_OWNER(s), tag,
				  atomic_load_explicit(&m->deadline, memory_order_relaxed), arg))
				continue;
			/* A concurrent take() moving it away wins; that is fine. */
			if (release(p, c, idx, s) != 0)
				continue;
			if (out && n < max) {
				out[n].owner = STATE_OWNER(s);
				out[n].tag = tag;
			}
			n++;
		}
	}
	return n;
}

static int owned_by(uint32_t owner, uint32_t tag, uint32_t deadline, const void *arg)
{
	(void)tag;
	(void)deadline;
	return owner == *(const uint32_t *)arg;
}

static int expired_at(uint32_t owner, uint32_t tag, uint32_t deadline, const void *arg)
{
	(void)owner;
	(void)tag;
	/* Wrap-around compare: deadlines are at most days ahead. */
	return deadline != 0 && (int32_t)(*(const uint32_t *)arg - deadline) >= 0;
}

int ferry_pool_reclaim_tagged(struct ferry_pool *p, uint32_t owner,
			      uint32_t *tags, int max, int *ntags)
{
	struct ferry_pool_expired found[1024];
	int n, i, k, t = 0;

	if (owner == 0 || owner == FERRY_OWNER_RETIRED)
		return -EINVAL;
	n = sweep(p, owned_by, &owner, found, 1024);
	for (i = 0; i < n && i < 1024; i++) {
		if (!tags || found[i].tag == 0)
			continue;
		for (k = 0; k < t && tags[k] != found[i].tag; k++)
			;
		if (k == t && t < max)
			tags[t++] = found[i].tag;
	}
	if (ntags)
		*ntags = t;
	return n;
}

int ferry_pool_reclaim(struct ferry_pool *p, uint32_t owner)
{
	return ferry_pool_reclaim_tagged(p, owner, NULL, 0, NULL);
}

int ferry_pool_expire(struct ferry_pool *p, uint32_t now_ms,
		      struct ferry_pool_expired *out, int max)
{
	return sweep(p, expired_at, &now_ms, out, max);
}

/* Move up to n slots of class c from one list to the other, changing
 * their owner from `from` to `to` (free <-> retired); a slot whose state is
 * not `from` was scribbled onto the list by a tenant and is left alone.
 * Retired slots give their pages back. Returns how many moved. */
static uint32_t move_slots(struct ferry_pool *p, uint32_t c, _Atomic uint64_t *from_list,
			   uint32_t from, _Atomic uint64_t *to_list, uint32_t to, uint32_t n)
{
	uint32_t moved = 0;

	while (moved < n) {
		int64_t idx = pop(p, c, from_list);
		struct buf_meta *m;
		uint64_t s;

		if (idx < 0)
			break;
		m = slot_meta(p, c, (uint32_t)idx);
		s = atomic_load_explicit(&m->state, memory_order_acquire);
		if (STATE_OWNER(s) != from ||
		    !atomic_compare_exchange_strong_explicit(&m->state, &s, STATE(STATE_GEN(s), to),
							     memory_order_acq_rel,
							     memory_order_acquire))
			continue;
		if (to == FERRY_OWNER_RETIRED)
			give_back(p, c, (uint32_t)idx, 0);
		push(p, c, to_list, (uint32_t)idx);
		moved++;
	}
	return moved;
}

int ferry_pool_grow(struct ferry_pool *p, uint32_t cls, uint32_t n)
{
	struct pool_class_hdr *ch;
	uint32_t added;

	if (cls >= p->nclasses)
		return -EINVAL;
	ch = &hdr(p)->cls[cls];
	/* Retired slots first (their address space is already in use)... */
	added = move_slots(p, cls, &ch->retired_head, FERRY_OWNER_RETIRED, &ch->free_head, 0, n);
	/* ...then slots never used yet. */
	while (added < n) {
		uint32_t e = atomic_load_explicit(&ch->enabled, memory_order_acquire);

		if (e >= p->cls[cls].max_count)
			break;
		if (!atomic_compare_exchange_weak_explicit(&ch->enabled, &e, e + 1,
							   memory_order_acq_rel,
							   memory_order_acquire))
			continue;
		push_free(p, cls, e);
		added++;
	}
	atomic_fetch_add_explicit(&ch->capacity, added, memory_order_relaxed);
	return (int)added;
}

int ferry_pool_shrink(struct ferry_pool *p, uint32_t cls, uint32_t n)
{
	struct pool_class_hdr *ch;
	uint32_t removed;

	if (cls >= p->nclasses)
		return -EINVAL;
	ch = &hdr(p)->cls[cls];
	removed = move_slots(p, cls, &ch->free_head, 0, &ch->retired_head, FERRY_OWNER_RETIRED, n);
	atomic_fetch_sub_explicit(&ch->capacity, removed, memory_order_relaxed);
	return (int)removed;
}

int ferry_pool_stats(const struct ferry_pool *p, struct ferry_pool_stats *out)
{
	uint32_t c;

	memset(out, 0, sizeof(*out));
	out->nclasses = p->nclasses;
	out->total_size = p->size;
	for (c = 0; c < p->nclasses; c++) {
		const struct pool_class_hdr *ch = &hdr(p)->cls[c];

		out->cls[c].buf_size = p->cls[c].buf_size;
		out->cls[c].max_count = p->cls[c].max_count;
		out->cls[c].count = atomic_load_explicit(&ch->capacity, memory_order_relaxed);
		out->cls[c].in_use = atomic_load_explicit(&ch->in_use, memory_order_relaxed);
		out->cls[c].misses = atomic_load_explicit(&ch->misses, memory_order_relaxed);
	}
	out->alloc_failures = atomic_load_explicit(&hdr(p)->alloc_failures, memory_order_relaxed);
	out->bad_frees = atomic_load_explicit(&hdr(p)->bad_frees, memory_order_relaxed);
	return 0;
}
