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

typedef int (*ferry_handle_fn)(struct ferry_call *call);
typedef int (*ferry_init_fn)(const char *stage_name);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_FN_H */
