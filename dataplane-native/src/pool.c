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
#include <unistd.h>

#define POOL_MAGIC   0x4c4f4f5059525246ull /* "FRRYPOOL" */
#define POOL_VERSION 1u
#define REGION_ALIGN 4096u

/* In-memory header, shared by every process mapping the pool. */
struct pool_class_hdr {
	uint32_t buf_size;
	uint32_t count;
	uint64_t region_off;
	uint32_t meta_base;
	uint32_t pad;
	_Atomic uint64_t free_head; /* (aba_tag << 32) | (index + 1); 0 = empty */
	_Atomic uint32_t in_use;
	uint32_t pad2;
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

/* Per-buffer metadata: state = (generation << 32) | owner; owner 0 = free. */
struct buf_meta {
	_Atomic uint64_t state;
	_Atomic uint32_t next; /* free-list link: class-local index + 1 */
	_Atomic uint32_t tag;  /* request tag, see ferry_pool_tag */
};

#define STATE(gen, owner) (((uint64_t)(gen) << 32) | (uint32_t)(owner))
#define STATE_GEN(s)      ((uint32_t)((s) >> 32))
#define STATE_OWNER(s)    ((uint32_t)(s))

static struct pool_hdr *hdr(const struct ferry_pool *p)
{
	return (struct pool_hdr *)p->base;
}

static struct buf_meta *meta(const struct ferry_pool *p, uint32_t slot)
{
	return (struct buf_meta *)(p->base + sizeof(struct pool_hdr)) + slot;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
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
	default:                    return strerror(-err);
	}
}

/* Push class-local index idx onto class c's free list. */
static void push_free(struct ferry_pool *p, uint32_t c, uint32_t idx)
{
	struct pool_class_hdr *ch = &hdr(p)->cls[c];
	struct buf_meta *m = meta(p, p->cls[c].meta_base + idx);
	uint64_t head = atomic_load_explicit(&ch->free_head, memory_order_acquire);
	uint64_t next;

	do {
		atomic_store_explicit(&m->next, (uint32_t)head, memory_order_relaxed);
		next = STATE((head >> 32) + 1, idx + 1);
	} while (!atomic_compare_exchange_weak_explicit(&ch->free_head, &head, next,
							memory_order_release,
							memory_order_acquire));
}

/* Pop one index from class c; -1 when empty (or the list is corrupt). */
static int64_t pop_free(struct ferry_pool *p, uint32_t c)
{
	struct pool_class_hdr *ch = &hdr(p)->cls[c];
	uint64_t head = atomic_load_explicit(&ch->free_head, memory_order_acquire);
	uint32_t top, after;

	for (;;) {
		top = (uint32_t)head;
		if (top == 0 || top > p->cls[c].count)
			return -1;
		after = atomic_load_explicit(&meta(p, p->cls[c].meta_base + top - 1)->next,
					     memory_order_relaxed);
		if (atomic_compare_exchange_weak_explicit(
			    &ch->free_head, &head, STATE((head >> 32) + 1, after),
			    memory_order_acq_rel, memory_order_acquire))
			return top - 1;
	}
}

int ferry_pool_create(struct ferry_pool *p, const char *name,
		      const struct ferry_pool_class_spec *classes,
		      uint32_t nclasses)
{
	uint64_t off, meta_off = sizeof(struct pool_hdr);
	uint32_t total_bufs = 0, c, i;
	struct pool_hdr *h;
	int fd, err;

	if (nclasses == 0 || nclasses > FERRY_POOL_MAX_CLASSES)
		return -EINVAL;
	for (c = 0; c < nclasses; c++) {
		if (classes[c].buf_size == 0 || classes[c].buf_size % 64 ||
		    classes[c].count == 0 ||
		    (c && classes[c].buf_size <= classes[c - 1].buf_size))
			return -EINVAL;
		total_bufs += classes[c].count;
	}

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	off = align_up(meta_off + (uint64_t)total_bufs * sizeof(struct buf_meta), REGION_ALIGN);
	p->nclasses = nclasses;
	for (c = 0, i = 0; c < nclasses; i += classes[c].count, c++) {
		p->cls[c].buf_size = classes[c].buf_size;
		p->cls[c].count = classes[c].count;
		p->cls[c].meta_base = i;
		p->cls[c].region_off = off;
		off = align_up(off + (uint64_t)classes[c].buf_size * classes[c].count, REGION_ALIGN);
	}

	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)off) < 0)
		goto fail;
	/* Instances get this fd: forbid resizing, which would SIGBUS everyone. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail;
	p->base = mmap(NULL, off, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p->base == MAP_FAILED)
		goto fail;
	p->fd = fd;
	p->size = off;

	h = hdr(p);
	h->version = POOL_VERSION;
	h->nclasses = nclasses;
	h->total_size = off;
	h->meta_off = meta_off;
	h->total_bufs = total_bufs;
	for (c = 0; c < nclasses; c++) {
		h->cls[c].buf_size = p->cls[c].buf_size;
		h->cls[c].count = p->cls[c].count;
		h->cls[c].region_off = p->cls[c].region_off;
		h->cls[c].meta_base = p->cls[c].meta_base;
		/* Push in reverse so low offsets are handed out first. */
		for (i = p->cls[c].count; i-- > 0;)
			push_free(p, c, i);
		atomic_store(&h->cls[c].in_use, 0);
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
	p->base = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
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

		if (ch->buf_size == 0 || ch->count == 0 || ch->region_off < end ||
		    ch->meta_base != bufs ||
		    ch->region_off + (uint64_t)ch->buf_size * ch->count > p->size)
			goto bad;
		end = ch->region_off + (uint64_t)ch->buf_size * ch->count;
		bufs += ch->count;
		p->cls[c].buf_size = ch->buf_size;
		p->cls[c].count = ch->count;
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

int ferry_pool_alloc(struct ferry_pool *p, uint32_t size, uint32_t owner,
		     struct ferry_buf *out)
{
	uint32_t c;
	int64_t idx;

	if (owner == 0)
		return -EINVAL;
	if (size > p->cls[p->nclasses - 1].buf_size)
		return FERRY_ETOO_LARGE;
	/* Smallest fitting class first, then larger ones before giving up. */
	for (c = 0; c < p->nclasses; c++) {
		struct buf_meta *m;
		uint64_t s;
		uint32_t gen;

		if (p->cls[c].buf_size < size)
			continue;
		idx = pop_free(p, c);
		if (idx < 0)
			continue;
		m = meta(p, p->cls[c].meta_base + (uint32_t)idx);
		s = atomic_load_explicit(&m->state, memory_order_acquire);
		gen = STATE_GEN(s) + 1;
		if (gen == 0) /* generation 0 is never valid in a descriptor */
			gen = 1;
		atomic_store_explicit(&m->tag, 0, memory_order_relaxed);
		atomic_store_explicit(&m->state, STATE(gen, owner), memory_order_release);
		atomic_fetch_add_explicit(&hdr(p)->cls[c].in_use, 1, memory_order_relaxed);
		out->offset = p->cls[c].region_off + (uint64_t)idx * p->cls[c].buf_size;
		out->capacity = p->cls[c].buf_size;
		out->generation = gen;
		return 0;
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
		if (rel >= (uint64_t)l->buf_size * l->count)
			continue;
		if (rel % l->buf_size)
			return FERRY_EBAD_OFFSET;
		*cls = c;
		*idx = (uint32_t)(rel / l->buf_size);
		return 0;
	}
	return FERRY_EBAD_OFFSET;
}

static int bad_free(struct ferry_pool *p, int err)
{
	atomic_fetch_add_explicit(&hdr(p)->bad_frees, 1, memory_order_relaxed);
	return err;
}

/* Release slot (c, idx) if its state is still exactly s. */
static int release(struct ferry_pool *p, uint32_t c, uint32_t idx, uint64_t s)
{
	struct buf_meta *m = meta(p, p->cls[c].meta_base + idx);

	if (!atomic_compare_exchange_strong_explicit(&m->state, &s,
						     STATE(STATE_GEN(s), 0),
						     memory_order_acq_rel,
						     memory_order_acquire))
		return -EAGAIN;
	atomic_fetch_sub_explicit(&hdr(p)->cls[c].in_use, 1, memory_order_relaxed);
	push_free(p, c, idx);
	return 0;
}

int ferry_pool_free(struct ferry_pool *p, uint64_t offset, uint32_t generation)
{
	uint32_t c, idx;
	int err = locate(p, offset, &c, &idx);

	if (err)
		return bad_free(p, err);
	for (;;) {
		uint64_t s = atomic_load_explicit(&meta(p, p->cls[c].meta_base + idx)->state,
						  memory_order_acquire);

		if (STATE_OWNER(s) == 0)
			return bad_free(p, FERRY_EDOUBLE_FREE);
		if (STATE_GEN(s) != generation)
			return bad_free(p, FERRY_ESTALE);
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
		uint64_t s = atomic_load_explicit(&meta(p, p->cls[c].meta_base + idx)->state,
						  memory_order_acquire);

		/* Not a bad free: asking is the point. */
		if (STATE_OWNER(s) == 0)
			return FERRY_EDOUBLE_FREE;
		if (STATE_GEN(s) != generation)
			return FERRY_ESTALE;
		if (STATE_OWNER(s) != owner)
			return FERRY_ENOT_OWNER;
		if (release(p, c, idx, s) == 0)
			return 0;
	}
}

int ferry_pool_check(const struct ferry_pool *p, uint64_t offset,
		     uint32_t generation, uint32_t length)
{
	uint32_t c, idx;
	uint64_t s;
	int err = locate(p, offset, &c, &idx);

	if (err)
		return err;
	s = atomic_load_explicit(&meta(p, p->cls[c].meta_base + idx)->state,
				 memory_order_acquire);
	if (STATE_OWNER(s) == 0)
		return FERRY_EDOUBLE_FREE;
	if (STATE_GEN(s) != generation)
		return FERRY_ESTALE;
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

	if (new_owner == 0)
		return -EINVAL;
	err = locate(p, offset, &c, &idx);
	if (err)
		return err;
	m = meta(p, p->cls[c].meta_base + idx);
	s = atomic_load_explicit(&m->state, memory_order_acquire);
	do {
		if (STATE_OWNER(s) == 0)
			return FERRY_EDOUBLE_FREE;
		if (STATE_GEN(s) != generation)
			return FERRY_ESTALE;
	} while (!atomic_compare_exchange_weak_explicit(&m->state, &s,
							STATE(generation, new_owner),
							memory_order_acq_rel,
							memory_order_acquire));
	return 0;
}

int ferry_pool_tag(struct ferry_pool *p, uint64_t offset, uint32_t generation,
		   uint32_t tag)
{
	struct buf_meta *m;
	uint32_t c, idx;
	uint64_t s;
	int err = locate(p, offset, &c, &idx);

	if (err)
		return err;
	m = meta(p, p->cls[c].meta_base + idx);
	s = atomic_load_explicit(&m->state, memory_order_acquire);
	if (STATE_OWNER(s) == 0)
		return FERRY_EDOUBLE_FREE;
	if (STATE_GEN(s) != generation)
		return FERRY_ESTALE;
	atomic_store_explicit(&m->tag, tag, memory_order_relaxed);
	return 0;
}

int ferry_pool_reclaim_tagged(struct ferry_pool *p, uint32_t owner,
			      uint32_t *tags, int max, int *ntags)
{
	uint32_t c, idx;
	int n = 0, k, t = 0;

	if (owner == 0)
		return -EINVAL;
	for (c = 0; c < p->nclasses; c++) {
		for (idx = 0; idx < p->cls[c].count; idx++) {
			struct buf_meta *m = meta(p, p->cls[c].meta_base + idx);
			uint64_t s = atomic_load_explicit(&m->state, memory_order_acquire);
			uint32_t tag = atomic_load_explicit(&m->tag, memory_order_relaxed);

			/* A concurrent take() moving it away wins; that is fine. */
			if (STATE_OWNER(s) != owner || release(p, c, idx, s) != 0)
				continue;
			n++;
			if (!tags || tag == 0)
				continue;
			for (k = 0; k < t && tags[k] != tag; k++)
				;
			if (k == t && t < max)
				tags[t++] = tag;
		}
	}
	if (ntags)
		*ntags = t;
	return n;
}

int ferry_pool_reclaim(struct ferry_pool *p, uint32_t owner)
{
	return ferry_pool_reclaim_tagged(p, owner, NULL, 0, NULL);
}

int ferry_pool_stats(const struct ferry_pool *p, struct ferry_pool_stats *out)
{
	uint32_t c;

	memset(out, 0, sizeof(*out));
	out->nclasses = p->nclasses;
	out->total_size = p->size;
	for (c = 0; c < p->nclasses; c++) {
		out->cls[c].buf_size = p->cls[c].buf_size;
		out->cls[c].count = p->cls[c].count;
		out->cls[c].in_use = atomic_load_explicit(&hdr(p)->cls[c].in_use,
							  memory_order_relaxed);
	}
	out->alloc_failures = atomic_load_explicit(&hdr(p)->alloc_failures, memory_order_relaxed);
	out->bad_frees = atomic_load_explicit(&hdr(p)->bad_frees, memory_order_relaxed);
	return 0;
}
