/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The life of a request inside one function instance, shared by the native
 * runner and the Node addon so both runtimes accept, forward and fail
 * requests the same way and never leak a buffer:
 *
 *   accept:  validate every field, take ownership of the buffer;
 *   forward: send on to the chosen stage; if the router refuses, turn the
 *            request into an error reply so the caller learns at once;
 *   fail:    write the message into the request's buffer and reply with it;
 *            if even that cannot be sent, free the buffer;
 *   respond: the function's own HTTP answer (FERRY_F_RESPONSE in abi.h)
 *            straight to the caller, from any stage.
 */
#ifndef FERRY_INSTANCE_H
#define FERRY_INSTANCE_H

#include <stddef.h>
#include <stdint.h>
#include "control.h"
#include "descriptor.h"
#include "endpoint.h"
#include "pool.h"

#define FERRY_MAX_NEXT 16
#define FERRY_STAGE_NAME_MAX 64

struct ferry_next_stage {
	char name[FERRY_STAGE_NAME_MAX];
	uint16_t id;
};

struct ferry_instance_stats {
	uint64_t accepted;
	uint64_t forwarded;
	uint64_t replied_error; /* requests turned into error replies */
	uint64_t send_refused;  /* router refused a send (counted per attempt) */
	uint64_t freed_undeliverable;
	struct ferry_reject_counts rejects;
};

struct ferry_instance {
	uint32_t id;
	uint32_t chain_id;
	uint16_t stage;
	char stage_name[FERRY_STAGE_NAME_MAX];
	int fd; /* this instance's endpoint socket */
	int ctl_fd; /* control channel to ferryd, -1 when there is none */
	struct ferry_ctl_rx ctl_rx;
	struct ferry_ctl_stats service; /* since the last report to ferryd */
	struct ferry_pool pool;
	uint32_t nnext; /* 0: the stage replies to the caller */
	struct ferry_next_stage next[FERRY_MAX_NEXT];
	struct ferry_instance_stats stats;
	struct ferry_rx rx;
};

/*
 * Fill in from the environment ferryd sets when it spawns an instance:
 * FERRY_INSTANCE_ID, FERRY_CHAIN_ID, FERRY_STAGE, FERRY_STAGE_NAME,
 * FERRY_ENDPOINT_FD, FERRY_POOL_FD, FERRY_NEXT ("name=id,name=id"), and
 * FERRY_CONTROL_FD when ferryd gave the instance a control channel.
 */
int ferry_instance_from_env(struct ferry_instance *in, char *err, size_t errlen);
/* The same from explicit values (an in-process endpoint such as a gateway).
 * Takes ownership of endpoint_fd; maps pool_fd (the caller keeps pool_fd). */
int ferry_instance_open(struct ferry_instance *in, uint32_t id, uint32_t chain_id,
			uint16_t stage, const char *stage_name, int endpoint_fd,
			int pool_fd, const char *next_spec, char *err, size_t errlen);
/* Parse "name=id,name=id" into in->next. */
int ferry_instance_parse_next(struct ferry_instance *in, const char *spec);
void ferry_instance_close(struct ferry_instance *in);

/* Tell ferryd the function is loaded and may be routed to (no-op without
 * a control channel). */
int ferry_instance_ready(struct ferry_instance *in);

/* Allocate an output buffer for request d: owned by this instance, with the
 * tag and deadline of d's buffer, so it lives no longer than the request. */
int ferry_instance_alloc_for(struct ferry_instance *in, const struct ferry_desc *d,
			     uint32_t size, struct ferry_buf *out);

/* Index in in->next of stage name, or -1. */
int ferry_instance_next_index(const struct ferry_instance *in, const char *name);

/* Returns 0 when d is ours to process (buffer now owned by us); otherwise
 * the reject reason (>= 0) after disposing of whatever d named. */
int ferry_instance_accept(struct ferry_instance *in, struct ferry_desc *d);

/* Send d (whose buffer we own) to next[next_index], or reply to the caller
 * when the stage has no next stages (next_index ignored). Returns 0 when
 * delivered onward, else a negative errno after failing the request. */
int ferry_instance_forward(struct ferry_instance *in, struct ferry_desc *d,
			   int next_index);

/* Send d straight back to its caller as a plain reply (FERRY_STAGE_REPLY,
 * an edge every stage has), whatever the stage's next list. Returns as
 * ferry_instance_forward. */
int ferry_instance_reply(struct ferry_instance *in, struct ferry_desc *d);

/* Fail the request d (whose buffer we own) with status and message. */
int ferry_instance_fail(struct ferry_instance *in, struct ferry_desc *d,
			uint16_t status, const char *message);

/* Answer the caller (FERRY_F_RESPONSE): d's buffer holds the body
 * (d->length bytes); the trailer with tag (NUL-terminated, at most
 * FERRY_RESPONSE_TAG_MAX bytes) goes after it, moving the body to a fresh
 * buffer only when the trailer does not fit. flags: 0 (tag = content type)
 * or FERRY_F_ERROR (body = message, tag = error code). The status and tag
 * are the function's to choose and the gateway's to judge. Returns as
 * ferry_instance_forward. */
int ferry_instance_respond(struct ferry_instance *in, struct ferry_desc *d,
			   uint16_t http_status, uint16_t flags, const char *tag);

/* Fail the request d with an HTTP error status, code and message: the
 * message goes into d's buffer, cut to leave room for the code. */
int ferry_instance_fail_http(struct ferry_instance *in, struct ferry_desc *d,
			     uint16_t http_status, const char *code,
			     const char *message);

#endif /* FERRY_INSTANCE_H */
