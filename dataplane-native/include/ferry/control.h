/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The instance side of the control channel (struct ferry_ctl_msg in abi.h):
 * say "ready" once the function is loaded, answer ferryd's liveness pings.
 * Non-blocking; the caller polls the fd with its endpoint.
 */
#ifndef FERRY_CONTROL_H
#define FERRY_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include "abi.h"
#include "hist.h"

/* Bytes of a record received only in part (stream socket). */
struct ferry_ctl_rx {
	uint8_t buf[FERRY_CTL_MSG_SIZE * 16];
	size_t have;
};

/* Send one record; 0 or -errno. */
int ferry_control_send(int fd, uint32_t type, uint32_t seq);
/* Read whatever ferryd sent; answer each ping, and each stats request with
 * *stats (then zeroed: reports are deltas). Returns the records handled
 * (0: nothing pending), -ECONNRESET when ferryd closed its end, or -errno. */
int ferry_control_serve(int fd, struct ferry_ctl_rx *rx, struct ferry_ctl_stats *stats);

/* Count one finished request that took us microseconds. */
void ferry_control_record(struct ferry_ctl_stats *stats, uint64_t us);

#endif /* FERRY_CONTROL_H */
