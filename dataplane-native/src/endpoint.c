// SPDX-License-Identifier: Apache-2.0
#define _GNU_SOURCE
#include "ferry/endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int nodelay(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int ferry_endpoint_pair(int *inst_fd, int *peer_fd)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	int lfd, cfd = -1, afd = -1, err;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(lfd, 1) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len) < 0)
		goto fail;
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		goto fail;
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (afd < 0 || nodelay(cfd) < 0 || nodelay(afd) < 0)
		goto fail;
	close(lfd);
	*inst_fd = cfd;
	*peer_fd = afd;
	return 0;
fail:
	err = -errno;
	close(lfd);
	if (cfd >= 0)
		close(cfd);
	if (afd >= 0)
		close(afd);
	return err;
}

int ferry_endpoint_send(int fd, const struct ferry_desc *d)
{
	ssize_t n;

	do {
		n = send(fd, d, sizeof(*d), MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* A 48-byte send on a fresh socket is never partial; if the kernel
	 * ever splits one, the stream would desynchronise, so say so. */
	return n == (ssize_t)sizeof(*d) ? 0 : -EMSGSIZE;
}

/* A frame starts with magic and version; 6 bytes that random data matches
 * with probability 2^-48. */
static int frame_header_at(const uint8_t *buf, size_t pos, size_t have)
{
	static const uint8_t hdr[6] = {
		FERRY_DESC_MAGIC & 0xff, (FERRY_DESC_MAGIC >> 8) & 0xff,
		(FERRY_DESC_MAGIC >> 16) & 0xff, FERRY_DESC_MAGIC >> 24,
		FERRY_DESC_VERSION & 0xff, FERRY_DESC_VERSION >> 8,
	};

	return pos + sizeof(hdr) <= have && memcmp(buf + pos, hdr, sizeof(hdr)) == 0;
}

/*
 * Index of the next frame start at or after from. A header followed by
 * another header less than a frame later is a truncated frame: skip to the
 * later one, so a short frame costs only itself and not the frame after it.
 * Returns have (or a tail too short to judge) when no whole frame is there.
 */
static size_t next_frame(const uint8_t *buf, size_t from, size_t have)
{
	size_t pos = from, k;

	for (;;) {
		while (pos + 6 <= have && !frame_header_at(buf, pos, have))
			pos++;
		if (pos + 6 > have)
			return pos;
		for (k = 1; k < FERRY_DESC_SIZE && pos + k + 6 <= have; k++)
			if (frame_header_at(buf, pos + k, have))
				break;
		if (k == FERRY_DESC_SIZE || pos + k + 6 > have)
			return pos;
		pos += k;
	}
}

static int recv_batch(int fd, struct ferry_rx *rx, struct ferry_desc *out, int flags)
{
	size_t pos = 0, start;
	ssize_t n;
	int count = 0;

	for (;;) {
		n = recv(fd, rx->buf + rx->have, sizeof(rx->buf) - rx->have, flags);
		if (n > 0)
			break;
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -errno;
	}
	rx->have += (size_t)n;
	while (count < FERRY_RX_BATCH) {
		start = next_frame(rx->buf, pos, rx->have);
		rx->garbage_bytes += start - pos;
		pos = start;
		if (rx->have - pos < FERRY_DESC_SIZE)
			break;
		memcpy(&out[count++], rx->buf + pos, FERRY_DESC_SIZE);
		pos += FERRY_DESC_SIZE;
	}
	rx->have -= pos;
	memmove(rx->buf, rx->buf + pos, rx->have);
	return count;
}

int ferry_endpoint_recv(int fd, struct ferry_rx *rx, struct ferry_desc *out)
{
	return recv_batch(fd, rx, out, 0);
}

int ferry_endpoint_recv_nowait(int fd, struct ferry_rx *rx, struct ferry_desc *out)
{
	return recv_batch(fd, rx, out, MSG_DONTWAIT);
}
