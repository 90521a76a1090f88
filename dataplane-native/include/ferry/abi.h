/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ferry wire ABI: the one definition of every record that crosses a process
 * or kernel boundary. Included by the eBPF program (bpf/), by the native code
 * (pool, endpoints, runner, addon) and mirrored for TypeScript through the
 * addon's exported layout table, so a field moves in exactly one place.
 *
 * All records are little-endian, fixed size and contain no pointers: a
 * payload is named by its byte offset inside the chain's shared pool.
 */
#ifndef FERRY_ABI_H
#define FERRY_ABI_H

#include <linux/types.h>

/* ---------------------------------------------------------------- descriptor */

#define FERRY_DESC_MAGIC   0x44595246u /* "FRYD" read as little-endian u32 */
#define FERRY_DESC_VERSION 1

/* Stage id meaning "send the body back to whoever injected the request":
 * the router delivers to desc.reply_to, which must be a registered gateway. */
#define FERRY_STAGE_REPLY 0xFFFFu

/* desc.flags */
#define FERRY_F_ERROR    0x0001u /* payload is a UTF-8 error message, status says which */
#define FERRY_F_RESPONSE 0x0002u /* a function's own HTTP answer (below) */

/*
 * FERRY_F_RESPONSE: a function answers the caller itself, with an HTTP
 * status of its choosing, from any stage: the runtime sends it to
 * FERRY_STAGE_REPLY whatever the stage's `next` list (every stage has that
 * edge), so a middle stage can answer early. Then desc.status is the HTTP
 * status, not an enum ferry_status, and the payload ends in a trailer:
 *
 *     [ body ][ tag: n bytes ][ n: 1 byte ]      length = body + n + 1
 *
 * A trailer, not a header, so that a body already in its buffer never moves.
 *   - FERRY_F_RESPONSE alone: status 200..599, tag = the Content-Type
 *     (n = 0: the gateway infers one from the body, as for a plain reply);
 *   - with FERRY_F_ERROR: status 400..599, body = the message, tag = the
 *     error code (n = 0: one named after the status); the gateway answers
 *     ferry's JSON error {"error":{"code","message","chain"}}.
 * Only the gateway interprets it, and it validates every part: a status,
 * tag or trailer out of bounds answers 500 functionError instead.
 *
 * Whatever fails a request (runtimes, routers, the peer link) clears
 * FERRY_F_RESPONSE, so FERRY_F_ERROR alone always carries an enum
 * ferry_status; an instance clears it on what it accepts, so a stage cannot
 * make the next one answer by forging it. Descriptors without the flag mean
 * what they meant before: the version stays 1 (an older gateway answers a
 * flagged reply with 502 badReply, never with the raw bytes).
 */
#define FERRY_RESPONSE_TAG_MAX 255

/* desc.status: why a request failed (0 = ok). Shared by the SDKs and gateway. */
enum ferry_status {
	FERRY_ST_OK = 0,
	FERRY_ST_FUNCTION_ERROR = 1,   /* the function threw / returned non-zero */
	FERRY_ST_BAD_DESCRIPTOR = 2,   /* receiver rejected the descriptor */
	FERRY_ST_POOL_EXHAUSTED = 3,   /* no buffer for the output */
	FERRY_ST_TOO_LARGE = 4,        /* output larger than the largest class */
	FERRY_ST_INSTANCE_DIED = 5,    /* in-flight when its instance crashed */
	FERRY_ST_NO_ROUTE = 6,         /* next stage unknown or not allowed */
};

struct ferry_desc {
	__u32 magic;       /*  0: FERRY_DESC_MAGIC */
	__u16 version;     /*  4: FERRY_DESC_VERSION */
	__u16 flags;       /*  6: FERRY_F_* */
	__u32 chain_id;    /*  8: must equal the sender's chain (router enforces) */
	__u16 stage;       /* 12: target stage, or FERRY_STAGE_REPLY */
	__u16 from_stage;  /* 14: stamped by the router from the sender's identity */
	__u64 request_id;  /* 16 */
	__u64 offset;      /* 24: payload offset inside the chain's pool */
	__u32 length;      /* 32: payload length in bytes */
	__u32 generation;  /* 36: buffer generation at allocation (stale check) */
	__u16 hop_count;   /* 40: incremented by the router on every hop */
	__u16 status;      /* 42: enum ferry_status */
	__u32 reply_to;    /* 44: gateway endpoint id that waits for the reply */
};
#define FERRY_DESC_SIZE 48

/* Hops a request may take before the router drops it (loop guard). */
#define FERRY_MAX_HOPS 64

/* ------------------------------------------------------- control channel */

/* Every instance also has a control channel to ferryd (a unix stream
 * socket, FERRY_CONTROL_FD), apart from the data path: readiness and
 * liveness never queue behind descriptors, and a liveness probe is answered
 * only by an instance whose loop still turns. Fixed 8-byte records. */
#define FERRY_CTL_READY     1u /* instance -> ferryd: loaded and serving */
#define FERRY_CTL_PING      2u /* ferryd -> instance: still alive? */
#define FERRY_CTL_PONG      3u /* instance -> ferryd: the ping's seq, answered */
#define FERRY_CTL_STATS_REQ 4u /* ferryd -> instance: your service stats, please */
#define FERRY_CTL_STATS     5u /* instance -> ferryd: seq = bytes of a struct
				    * ferry_ctl_stats that follow the record */

struct ferry_ctl_msg {
	__u32 type; /* FERRY_CTL_* */
	__u32 seq;
};
#define FERRY_CTL_MSG_SIZE 8

/* Latency histogram buckets (see hist.h): microseconds, exact below 16,
 * then 8 per power of two up to 2^36. */
#define FERRY_HIST_BUCKETS 280

/* What an instance measured of its own requests since its last report:
 * each request from the moment it was accepted to the moment it was handed
 * on, answered or failed. Only the instance knows when its handler ran;
 * ferryd asks only instances that had traffic, so an idle one is never
 * woken. */
struct ferry_ctl_stats {
	__u64 completions; /* requests finished */
	__u64 busy_us;     /* the sum of their service times */
	__u32 buckets[FERRY_HIST_BUCKETS]; /* their service times, by bucket */
};
#define FERRY_CTL_STATS_SIZE (16 + 4 * FERRY_HIST_BUCKETS)

/* ---------------------------------------------------------------- BPF maps */

/* Instance ids index a per-CPU array, so they are bounded. Id 0 means
 * "unknown"; drops from unregistered senders are counted there. */
#define FERRY_MAX_INSTANCES 16384
/* Replicas one (chain, stage) route can spread over. */
#define FERRY_MAX_REPLICAS 16

/* Key of ferry_routes. */
struct ferry_route_key {
	__u32 chain_id;
	__u16 stage;
	__u16 pad; /* zero */
};

/* Value of ferry_routes: the instances serving (chain, stage) and their
 * weights (the control plane's, times what ferryd's balance policy makes of
 * them every tick); the router picks one per message with probability
 * weight / total_weight (bpf/pick.bpf.h). */
struct ferry_route {
	__u32 count;        /* used entries, <= FERRY_MAX_REPLICAS */
	__u32 total_weight; /* sum of weight[0..count) ; 0 = route disabled */
	__u32 instance[FERRY_MAX_REPLICAS];
	__u32 weight[FERRY_MAX_REPLICAS];
};

/*
 * Consistent hashing on a request key (a stage whose balance policy is
 * consistent-hash): the gateway hashes the key it was told to read (a header
 * or a JSON field, named in the chain YAML) into FERRY_KEY_BITS bits and
 * carries them in bits 32..52 of desc.request_id, which the gateway assigns
 * (its low 32 bits stay the request's counter and pool tag; 0 in the key bits
 * means "no key"). Bits above 52 are never used: request ids travel through
 * the addon as doubles. The router looks a keyed request up in the stage's
 * ring (ferry_rings) and falls back to the weighted pick when the stage has
 * none.
 */
#define FERRY_KEY_SHIFT 32
#define FERRY_KEY_BITS  21
#define FERRY_KEY_MASK  ((1u << FERRY_KEY_BITS) - 1)
#define FERRY_REQUEST_KEY(request_id) \
	((__u32)((request_id) >> FERRY_KEY_SHIFT) & FERRY_KEY_MASK)

/* Points one stage's ring may have: 16 replicas x 16 virtual nodes. */
#define FERRY_RING_MAX 256

/* Value of ferry_rings (key: struct ferry_route_key): the stage's virtual
 * nodes, point[] ascending in the key space, each owned by instance[]. A
 * key goes to the first point at or after it, wrapping to point[0]. */
struct ferry_ring {
	__u32 count; /* used points, 1..FERRY_RING_MAX */
	__u32 pad;   /* zero */
	__u32 point[FERRY_RING_MAX];
	__u32 instance[FERRY_RING_MAX];
};

/* Key of ferry_allow: a permitted edge of the chain graph. */
struct ferry_allow_key {
	__u32 chain_id;
	__u16 from_stage;
	__u16 to_stage; /* FERRY_STAGE_REPLY for "may answer the caller" */
};

/* Roles an endpoint can have. */
#define FERRY_ROLE_INSTANCE 1 /* a function instance */
#define FERRY_ROLE_GATEWAY  2 /* injects requests, receives replies */

/* Value of ferry_idents (socket-local storage of each endpoint socket, set
 * from userspace by fd; SK_MSG may not read socket cookies): who owns a
 * socket. The router trusts this, never the descriptor, for the sender's
 * chain and stage. It dies with the socket. */
struct ferry_ident {
	__u32 instance_id;
	__u32 chain_id;
	__u16 stage;
	__u16 role; /* FERRY_ROLE_* */
};

/* Why the router refused a message; index into ferry_counters.drops. A
 * refused request becomes an error reply (see bpf/sk_msg_router.bpf.c), so
 * "drop" names the refusal, not a lost buffer. */
enum ferry_drop_reason {
	FERRY_DROP_MALFORMED = 0,      /* short, bad magic or version */
	FERRY_DROP_UNKNOWN_SENDER = 1, /* socket not registered in ferry_idents */
	FERRY_DROP_CHAIN_MISMATCH = 2, /* descriptor names another chain */
	FERRY_DROP_NOT_ALLOWED = 3,    /* (chain, from, to) not in the allow-list */
	FERRY_DROP_NO_ROUTE = 4,       /* no route or all weights zero */
	FERRY_DROP_DEAD_PEER = 5,      /* chosen instance's socket is gone */
	FERRY_DROP_HOP_LIMIT = 6,      /* hop_count reached FERRY_MAX_HOPS */
	FERRY_DROP_MAX = 7,
};

/* Value of ferry_counters (per-CPU array indexed by instance id). tx and
 * drops are charged to the sender, rx to the receiver. */
struct ferry_counters {
	__u64 rx_msgs;
	__u64 rx_bytes; /* payload bytes described, not descriptor bytes */
	__u64 tx_msgs;
	__u64 tx_bytes;
	__u64 drops[FERRY_DROP_MAX];
};

/* Names under which the maps and program are pinned in bpffs. */
#define FERRY_PIN_DIR_DEFAULT "/sys/fs/bpf/ferry"

/* ------------------------------------------------- federated learning */

/*
 * Aggregation jobs (kind: AggregationJob; control/fl/DESIGN.md). A client's
 * update and every message between ferry's aggregators is one pool buffer:
 * a 64-byte header, then param_count float32 values, so the tensor is
 * 64-byte aligned for vector loops and never moves: the gateway rewrites the
 * client's header into a message header in place, and a leaf turns the
 * first update of a round into its accumulator in place.
 */
#define FERRY_FL_HEADER_SIZE 64
#define FERRY_FL_DTYPE_FLOAT32 1
#define FERRY_FL_CLIENT_ID_MAX 40

/* What a client sends (HTTP body, or the first bytes of a gRPC upload). */
#define FERRY_FL_UPDATE_MAGIC 0x31554c46u /* "FLU1" */
#define FERRY_FL_UPDATE_VERSION 1
struct ferry_fl_update {
	__u32 magic;        /*  0: FERRY_FL_UPDATE_MAGIC */
	__u16 version;      /*  4: FERRY_FL_UPDATE_VERSION */
	__u16 dtype;        /*  6: FERRY_FL_DTYPE_FLOAT32 */
	__u32 num_examples; /*  8: > 0; the weight under weighting: num-examples */
	__u32 param_count;  /* 12: must equal the job's */
	__u32 round;        /* 16: the round whose model the delta was trained on */
	__u32 reserved;     /* 20: zero */
	__u8 client_id[FERRY_FL_CLIENT_ID_MAX]; /* 24: [A-Za-z0-9._-], NUL padded */
};

/* Between the gateway's coordinator and the aggregators. */
#define FERRY_FL_MSG_MAGIC 0x314d4c46u /* "FLM1" */
#define FERRY_FL_MSG_VERSION 1
enum ferry_fl_op {
	FERRY_FL_OP_UPDATE = 1,  /* gateway -> leaf: fold this delta with weight */
	FERRY_FL_OP_FLUSH = 2,   /* gateway -> leaf: send your round's partial on */
	FERRY_FL_OP_PARTIAL = 3, /* leaf -> mid/top, mid -> top: a weighted sum */
	FERRY_FL_OP_MODEL = 4,   /* top -> gateway: the round's new global model */
	FERRY_FL_OP_ACK = 5,     /* aggregator -> gateway: folded, nothing to send */
};
struct ferry_fl_msg {
	__u32 magic;           /*  0: FERRY_FL_MSG_MAGIC */
	__u16 version;         /*  4: FERRY_FL_MSG_VERSION */
	__u16 op;              /*  6: enum ferry_fl_op */
	__u32 round;           /*  8: the round this message counts toward */
	__u32 param_count;     /* 12: float32 values after the header (0: none) */
	double weight;         /* 16: UPDATE: its weight; PARTIAL/MODEL: sum folded */
	__u32 count;           /* 24: PARTIAL/MODEL: updates folded */
	__u32 expect_parent;   /* 28: FLUSH: partials the leaf's parent waits for */
	__u32 expect_top;      /* 32: FLUSH: partials the top waits for */
	__u32 base_generation; /* 36: FLUSH: generation of the base model buffer */
	__u64 base_offset;     /* 40: FLUSH: round's sealed global model (0: zeros) */
	__u32 flags;           /* 48: zero, but FLUSH may carry FERRY_FL_FLUSH_DISCARD */
	__u32 reserved[3];     /* 52: zero */
};

/* FLUSH flag: the round failed (fewer than quorum at its deadline), so the
 * leaf drops its sum for the round instead of sending it on, and replies
 * ACK (weight, count: what it dropped). */
#define FERRY_FL_FLUSH_DISCARD 0x1u

#endif /* FERRY_ABI_H */
