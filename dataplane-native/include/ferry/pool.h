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
 */
#ifndef FERRY_POOL_H
#define FERRY_POOL_H

#include <stddef.h>
#include <stdint.h>

#define FERRY_POOL_MAX_CLASSES 8

/* One size class as requested at creation. */
struct ferry_pool_class_spec {
	uint32_t buf_size; /* bytes, multiple of 64 */
	uint32_t count;
};

/* Layout of one class, copied out of the header when the pool is mapped:
 * the header is writable by every instance of the chain, so ferryd never
 * trusts it again after attach (a buggy tenant can only break its own pool). */
struct ferry_pool_class_layout {
	uint32_t buf_size;
	uint32_t count;
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
	uint32_t count;
	uint32_t in_use;
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

int ferry_pool_stats(const struct ferry_pool *p, struct ferry_pool_stats *out);

static inline void *ferry_pool_ptr(const struct ferry_pool *p, uint64_t offset)
{
	return p->base + offset;
}

#endif /* FERRY_POOL_H */
