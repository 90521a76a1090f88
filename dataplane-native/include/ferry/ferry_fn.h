/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The C ABI of a `runtime: native` ferry function.
 *
 * A function is a shared object that exports
 *
 *     int ferry_handle(struct ferry_call *call);
 *
 * and optionally `int ferry_init(const char *stage_name)` (run once at start;
 * non-zero aborts the instance). ferry-runner calls ferry_handle once per
 * request, in one thread, with the payload mapped in shared memory. Inside,
 * the function reads its input, produces an output in one of two ways, and
 * may choose the next stage:
 *
 *   - in place: write into ferry_input_mut() and call ferry_output_in_place()
 *     (zero copy: the same buffer travels on);
 *   - new buffer: ferry_output_alloc(call, n) returns n writable bytes in the
 *     pool; call ferry_output_commit(call, used) when done.
 *
 * Returning non-zero, or calling ferry_fail(), fails the request: the caller
 * gets the message (HTTP 500 functionError). The input buffer is released
 * by the runner as needed.
 *
 * A function may also answer the caller itself, from any stage (the request
 * then goes no further):
 *
 *   - ferry_respond(call, 404, "application/json") before returning 0: the
 *     output, produced either way above, is the HTTP body, with that status
 *     and content type;
 *   - return ferry_fail_status(call, 400, "badPlate", "...") for a request
 *     the caller got wrong: ferry's JSON error with that status, code and
 *     message, not a 500.
 */
#ifndef FERRY_FN_H
#define FERRY_FN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ferry_call;

/* Input payload (read-only view) and its length. */
const uint8_t *ferry_input(const struct ferry_call *call, uint32_t *len);
/* Same buffer, writable, and its capacity (for in-place transforms). */
uint8_t *ferry_input_mut(struct ferry_call *call, uint32_t *capacity);
/* Send the (possibly modified) input buffer on with len bytes. */
int ferry_output_in_place(struct ferry_call *call, uint32_t len);
/* A fresh pool buffer of at least size bytes, or NULL (pool exhausted /
 * too large; the request then fails with that reason). */
uint8_t *ferry_output_alloc(struct ferry_call *call, uint32_t size);
int ferry_output_commit(struct ferry_call *call, uint32_t len);
/* Choose the next stage by name among the stage's `next` list. */
int ferry_next(struct ferry_call *call, const char *stage_name);
/* Fail the request with a message for the caller (copied). */
int ferry_fail(struct ferry_call *call, const char *message);
/* Answer the caller instead of going on to the next stage: the output is
 * the body of an HTTP response with status (200..599) and content_type
 * (NULL or "": inferred from the body, as for a plain reply; at most 255
 * printable ASCII bytes). 0, or -EINVAL after failing the request when
 * either is out of bounds. */
int ferry_respond(struct ferry_call *call, unsigned status, const char *content_type);
/* Fail the request with an HTTP error status (400..599), an error code
 * (NULL: one named after the status, e.g. "badRequest"; else at most 64 of
 * A-Z a-z 0-9 . _ -) and a message (copied). Returns -1, like ferry_fail. */
int ferry_fail_status(struct ferry_call *call, unsigned status, const char *code, const char *message);
/* Request id, for logs. */
uint64_t ferry_request_id(const struct ferry_call *call);

/*
 * Holding buffers across calls (an aggregator keeps one accumulator per
 * round over many requests). A held buffer belongs to the instance, not to
 * a request: it has no deadline (ferryd's keeper never expires it), and it
 * is freed with everything else the instance owned if the instance dies.
 * A handle names it by (offset, generation), so a handle kept after the
 * buffer was freed or sent is refused, never aliased.
 */
struct ferry_held {
	uint64_t offset;
	uint32_t generation;
	uint32_t capacity; /* bytes writable (the buffer's size class) */
};

/* Keep the call's input buffer after ferry_handle returns: it becomes a
 * held buffer (h). The input can then no longer be this call's output (no
 * in-place output, and no default "pass the input on"): produce a fresh
 * one (ferry_output_alloc / ferry_output_held) or fail the call, whose error
 * then travels in a fresh buffer. 0, or -EINVAL when the input cannot be
 * held (already held, or no longer live). */
int ferry_input_hold(struct ferry_call *call, struct ferry_held *h);
/* A fresh held buffer of at least size bytes (zeroed), or NULL when the
 * pool has none (errno-free: the pool's reason is not kept). */
uint8_t *ferry_held_alloc(struct ferry_call *call, uint32_t size, struct ferry_held *h);
/* A writable pointer to a held buffer, or NULL if h no longer names a live
 * buffer of this instance. */
uint8_t *ferry_held_ptr(struct ferry_call *call, const struct ferry_held *h);
/* Send a held buffer, len bytes of it, as this call's output (to the next
 * stage, or back with ferry_reply). The handle is spent whatever happens
 * next: ownership moves with the descriptor as for any output, and the
 * call's own input is released as usual (unless held). 0, or -1 after
 * failing the call when h is not live or len exceeds its capacity. */
int ferry_output_held(struct ferry_call *call, const struct ferry_held *h, uint32_t len);
/* Free a held buffer. 0, or a negative error when h is not live. */
int ferry_held_free(struct ferry_call *call, const struct ferry_held *h);
/* Read another live buffer of the pool by (offset, generation), e.g. a
 * sealed model named in a message: validated first (ferry_pool_check), then
 * a read-only pointer and its capacity; NULL when it is not live. */
const uint8_t *ferry_pool_view(struct ferry_call *call, uint64_t offset, uint32_t generation,
			       uint32_t *capacity);
/* Send the output straight back to the caller as a plain reply (no HTTP
 * status or trailer: the body is the output's bytes), whatever the stage's
 * `next` list: every stage may answer its caller. */
int ferry_reply(struct ferry_call *call);

typedef int (*ferry_handle_fn)(struct ferry_call *call);
typedef int (*ferry_init_fn)(const char *stage_name);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_FN_H */
