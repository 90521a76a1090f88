/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shared-memory pool of one chain on one node.
 *
 * A pool is a memfd that ferryd creates and hands (by fd) only to the
 * instances of one chain. Everything that coordinates allocation lives inside
 * the mapping itself, so any process that maps it allocates and frees without
 * asking ferryd:
 *
 *   [ header | size classes | buffer metadata[] | class 0 buffers | ... ]
 *
 * Free lists are Treiber stacks with an ABA tag, one per size class. Every
 * buffer has one 64-bit state word, (generation << 32) | owner, changed only
 * by compare-and-swap: owner 0 means free. The generation is bumped on every
 * allocation, so a descriptor carrying an older generation is stale, and a
 * free of a buffer whose owner is already 0 is a double free. Ownership moves
 * with the descriptor (ferry_pool_take), and ferry_pool_reclaim() frees all
 * a dead owner held.
 *
 * Elastic: each class reserves max_count slots of address space (the memfd
 * is sparse, so a slot costs no memory until it is written) and keeps only
 * `capacity` of them in service. ferryd grows a class by putting more slots
 * on its free list and shrinks an idle one by retiring free slots (their
 * pages go back to the kernel); it alone enforces the chain's quota, so the
 * header, which every instance can write, is never trusted for it.
 *
 * Bounded life: every buffer carries the request it belongs to (a tag) and
 * a deadline; ferryd frees what is past its deadline whoever holds it
 * (ferry_pool_expire), so a hung handler cannot keep a buffer for ever. A
 * freed buffer is zeroed before it can be handed out again, so no request
 * ever sees what an earlier one left in it: in place below 1 MiB, and from
 * 1 MiB up (model-sized buffers of FL jobs) by punching its pages out of
 * the memfd, so the memory goes back to the kernel at once.
 */
#ifndef FERRY_POOL_H
#define FERRY_POOL_H

#include <stddef.h>
#include <stdint.h>

#define FERRY_POOL_MAX_CLASSES 8

/* Owner value of a slot taken out of service by ferry_pool_shrink. */
#define FERRY_OWNER_RETIRED 0xFFFFFFFFu

/* One size class as requested at creation. */
struct ferry_pool_class_spec {
	uint32_t buf_size;  /* bytes, multiple of 64, at most 2 GiB - 64 */
	uint32_t count;     /* buffers in service from the start */
	uint32_t max_count; /* slots reserved to grow into; 0: count (a fixed class) */
};

/* Layout of one class, copied out of the header when the pool is mapped:
 * the header is writable by every instance of the chain, so ferryd never
 * trusts it again after attach (a buggy tenant can only break its own pool). */
struct ferry_pool_class_layout {
	uint32_t buf_size;
	uint32_t max_count;  /* slots reserved (the class's region) */
	uint64_t region_off; /* first buffer of the class */
	uint32_t meta_base;  /* index of its first metadata slot */
};

/* A process-local handle on a mapping: the OS objects and the layout. */
struct ferry_pool {
	int fd;
	uint8_t *base;
	size_t size;
	uint32_t nclasses;
	struct ferry_pool_class_layout cls[FERRY_POOL_MAX_CLASSES];
};

/* A buffer as handed out by ferry_pool_alloc. */
struct ferry_buf {
	uint64_t offset;     /* from the start of the pool */
	uint32_t capacity;   /* class size */
	uint32_t generation;
};

struct ferry_pool_class_stats {
	uint32_t buf_size;
	uint32_t count;     /* in service (capacity) */
	uint32_t in_use;
	uint32_t max_count; /* reserved slots */
	uint64_t misses;    /* allocations that found this class empty */
};

struct ferry_pool_stats {
	uint32_t nclasses;
	struct ferry_pool_class_stats cls[FERRY_POOL_MAX_CLASSES];
	uint64_t alloc_failures; /* exhaustion, since creation */
	uint64_t bad_frees;      /* double / stale / foreign frees rejected */
	uint64_t total_size;
};

/* Error codes (negative errno-style values returned by the calls below). */
#define FERRY_EPOOL_EXHAUSTED (-1001) /* no free buffer in any fitting class */
#define FERRY_ETOO_LARGE      (-1002) /* larger than the largest class */
#define FERRY_EBAD_OFFSET     (-1003) /* not the start of a buffer in this pool */
#define FERRY_ESTALE          (-1004) /* generation differs: buffer was recycled */
#define FERRY_EDOUBLE_FREE    (-1005) /* buffer already free */
#define FERRY_EBAD_LENGTH     (-1006) /* length exceeds the buffer's capacity */
#define FERRY_EBAD_POOL       (-1007) /* mapping is not a ferry pool / wrong version */
#define FERRY_ENOT_OWNER      (-1008) /* caller does not own the buffer */
#define FERRY_ERETIRED        (-1009) /* the slot is out of service */
#define FERRY_ESEALED         (-1010) /* the buffer is sealed (ferry_pool_seal) */

const char *ferry_pool_strerror(int err);

/* Create a new memfd-backed pool named name; classes sorted ascending. */
int ferry_pool_create(struct ferry_pool *p, const char *name,
		      const struct ferry_pool_class_spec *classes,
		      uint32_t nclasses);
/* Map an existing pool from an fd received from ferryd (dup'ed inside). */
int ferry_pool_attach(struct ferry_pool *p, int fd);
void ferry_pool_detach(struct ferry_pool *p);

/* Allocate at least size bytes for owner (non-zero). */
int ferry_pool_alloc(struct ferry_pool *p, uint32_t size, uint32_t owner,
		     struct ferry_buf *out);
/* Free a buffer named by (offset, generation). */
int ferry_pool_free(struct ferry_pool *p, uint64_t offset, uint32_t generation);
/* Free the buffer only if owner still holds it (0), else FERRY_ENOT_OWNER /
 * FERRY_ESTALE / FERRY_EDOUBLE_FREE and nothing changes. For a sender that
 * gave up on a request: the buffer is freed only if no receiver took it. */
int ferry_pool_free_owned(struct ferry_pool *p, uint64_t offset,
			  uint32_t generation, uint32_t owner);
/* Check that (offset, generation, length) names a live buffer; returns its
 * capacity, or an error. What every receiver runs on a descriptor. */
int ferry_pool_check(const struct ferry_pool *p, uint64_t offset,
		     uint32_t generation, uint32_t length);
/* Move ownership of a live buffer to new_owner (on receipt of a descriptor). */
int ferry_pool_take(struct ferry_pool *p, uint64_t offset, uint32_t generation,
		    uint32_t new_owner);
/* Free every buffer owned by owner (after it died); returns how many. */
int ferry_pool_reclaim(struct ferry_pool *p, uint32_t owner);
/* The same, also reporting the distinct request tags of what it freed (up
 * to max of them in tags, their number in *ntags), so the requests those
 * buffers carried can be failed at once instead of timing out. */
int ferry_pool_reclaim_tagged(struct ferry_pool *p, uint32_t owner,
			      uint32_t *tags, int max, int *ntags);
/* Label a live buffer with the request it carries (low 32 bits of the
 * request id); 0 = none. Advisory: only reclaim reads it. */
int ferry_pool_tag(struct ferry_pool *p, uint64_t offset, uint32_t generation,
		   uint32_t tag);
/* Label a live buffer with its request tag and deadline (see
 * ferry_pool_now_ms; 0 = none). */
int ferry_pool_label(struct ferry_pool *p, uint64_t offset, uint32_t generation,
		     uint32_t tag, uint32_t deadline_ms);
/* Give buffer dst the tag and deadline of buffer src: an output inherits
 * the life of the request whose input it answers. */
int ferry_pool_inherit(struct ferry_pool *p, uint64_t dst_offset,
		       uint32_t dst_generation, uint64_t src_offset,
		       uint32_t src_generation);

/*
 * Sealing: a finished global model is shared read-only by reference, so it
 * must not be freed or handed away by mistake while readers may use it. A
 * sealed buffer refuses ferry_pool_free (counted as a bad free),
 * ferry_pool_free_owned and ferry_pool_take with FERRY_ESEALED, and ferry_pool_expire
 * passes it by, until ferry_pool_unseal. Only a reclaim (its owner died)
 * frees it regardless. A guard against mistakes, not a lock: sealing races
 * with a free of the same buffer in another thread are not ordered.
 */
int ferry_pool_seal(struct ferry_pool *p, uint64_t offset, uint32_t generation);
int ferry_pool_unseal(struct ferry_pool *p, uint64_t offset, uint32_t generation);
/* 1 sealed, 0 not, or an error when (offset, generation) is not live. */
int ferry_pool_sealed(const struct ferry_pool *p, uint64_t offset, uint32_t generation);

/* What the pool knows of one live buffer. */
struct ferry_pool_slot_info {
	uint32_t owner;
	uint32_t tag;
	uint32_t deadline;
	uint32_t capacity;
};
/* Fill info for the live buffer (offset, generation); 0 or an error. */
int ferry_pool_inspect(const struct ferry_pool *p, uint64_t offset, uint32_t generation,
		       struct ferry_pool_slot_info *info);

/* The clock deadlines are on: CLOCK_MONOTONIC in milliseconds, modulo 2^32
 * (compared with wrap-around), never 0. Shared by every process of a node. */
uint32_t ferry_pool_now_ms(void);

/* One buffer ferry_pool_expire freed: who held it and for which request. */
struct ferry_pool_expired {
	uint32_t owner;
	uint32_t tag;
};
/* Free every in-use buffer whose deadline is at or before now_ms. Reports
 * up to max of them in out (all are freed); returns how many were freed. */
int ferry_pool_expire(struct ferry_pool *p, uint32_t now_ms,
		      struct ferry_pool_expired *out, int max);

/* Put up to n more slots of class cls in service (retired ones first, then
 * never used ones); returns how many. Only the pool's creator calls it. */
int ferry_pool_grow(struct ferry_pool *p, uint32_t cls, uint32_t n);
/* Take up to n free slots of class cls out of service and give their pages
 * back to the kernel; returns how many. Only the pool's creator calls it. */
int ferry_pool_shrink(struct ferry_pool *p, uint32_t cls, uint32_t n);

int ferry_pool_stats(const struct ferry_pool *p, struct ferry_pool_stats *out);

static inline void *ferry_pool_ptr(const struct ferry_pool *p, uint64_t offset)
{
	return p->base + offset;
}

#endif /* FERRY_POOL_H */
