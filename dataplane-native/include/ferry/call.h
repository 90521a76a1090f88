/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One call of a native function's ferry_handle (the ferry_fn.h ABI) on a
 * descriptor an instance accepted: what ferry-runner does per request. A
 * library module, not the runner's own code, so the C tests drive real
 * handlers (the aggregator) over a real pool and endpoint exactly as the
 * runner does, without spawning it.
 */
#ifndef FERRY_CALL_H
#define FERRY_CALL_H

#include "ferry_fn.h"
#include "instance.h"

/* Run handle on d (accepted by in: its buffer is in's), then forward, reply
 * or fail the request as the handler decided; frees whatever the call
 * allocated and did not send. */
void ferry_call_run(struct ferry_instance *in, ferry_handle_fn handle, struct ferry_desc *d);

#endif /* FERRY_CALL_H */
