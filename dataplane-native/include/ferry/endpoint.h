/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An endpoint is one connected loopback TCP socket pair per instance. The
 * instance's end sits in the BPF sockhash; ferryd keeps the other end to
 * inject descriptors and, in fallback mode, to relay them. Descriptors are
 * fixed-size frames on the stream; the reader reassembles partial frames.
 */
#ifndef FERRY_ENDPOINT_H
#define FERRY_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>
#include "abi.h"

/* Create the pair: *inst_fd for the instance, *peer_fd for ferryd. Both are
 * close-on-exec, TCP_NODELAY; the caller clears CLOEXEC on the end it passes. */
int ferry_endpoint_pair(int *inst_fd, int *peer_fd);

/* Send one descriptor. Returns 0, or -errno. The router does not fail sends
 * of registered endpoints (a refusal comes back as an error reply); -EACCES
 * means this socket is not registered with the router at all. */
int ferry_endpoint_send(int fd, const struct ferry_desc *d);

/* Receive-side reassembly of descriptor frames (process-local). */
struct ferry_rx {
	size_t have;
	uint64_t garbage_bytes; /* skipped to resynchronise on a bad frame */
	uint8_t buf[FERRY_DESC_SIZE * 64];
};

/*
 * Read what is available (blocking or not, as the fd is set) and copy the
 * complete descriptors to out (room for FERRY_RX_BATCH). Bytes that cannot
 * start a descriptor (no magic) are skipped and counted in garbage_bytes, so a
 * forged or truncated frame costs only itself. Returns the count (0 = would
 * block, or only garbage), -ECONNRESET when the other side closed, or -errno.
 */
#define FERRY_RX_BATCH 64
int ferry_endpoint_recv(int fd, struct ferry_rx *rx, struct ferry_desc *out);
/* The same, never blocking even on a blocking socket (0: nothing queued):
 * for emptying the socket of an instance that died. */
int ferry_endpoint_recv_nowait(int fd, struct ferry_rx *rx, struct ferry_desc *out);

#endif /* FERRY_ENDPOINT_H */
