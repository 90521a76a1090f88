// SPDX-License-Identifier: Apache-2.0
/* Control channel, instance side: see include/ferry/control.h. */
#define _GNU_SOURCE
#include "ferry/control.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

int ferry_control_send(int fd, uint32_t type, uint32_t seq)
{
	struct ferry_ctl_msg m = { .type = type, .seq = seq };
	ssize_t n;

	do {
		n = send(fd, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(m) ? 0 : -EIO;
}

void ferry_control_record(struct ferry_ctl_stats *stats, uint64_t us)
{
	stats->completions++;
	stats->busy_us += us;
	stats->buckets[ferry_hist_bucket(us)]++;
}

/* The stats record and its payload in one send, so ferryd never sees half. */
static void send_stats(int fd, struct ferry_ctl_stats *stats)
{
	struct {
		struct ferry_ctl_msg m;
		struct ferry_ctl_stats s;
	} __attribute__((packed)) out = { .m = { .type = FERRY_CTL_STATS, .seq = sizeof(*stats) } };
	ssize_t n;

	out.s = *stats;
	do {
		n = send(fd, &out, sizeof(out), MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	/* Sent or not, the next report starts from zero: a report lost to a
	 * full socket is a gap in the figures, not a double count. */
	memset(stats, 0, sizeof(*stats));
}

int ferry_control_serve(int fd, struct ferry_ctl_rx *rx, struct ferry_ctl_stats *stats)
{
	int handled = 0;

	for (;;) {
		ssize_t n = recv(fd, rx->buf + rx->have, sizeof(rx->buf) - rx->have, MSG_DONTWAIT);
		size_t pos = 0;

		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return handled;
			return -errno;
		}
		rx->have += (size_t)n;
		for (; rx->have - pos >= FERRY_CTL_MSG_SIZE; pos += FERRY_CTL_MSG_SIZE) {
			struct ferry_ctl_msg m;

			memcpy(&m, rx->buf + pos, sizeof(m));
			/* Anything else is ignored: the channel may grow. */
			if (m.type == FERRY_CTL_PING)
				ferry_control_send(fd, FERRY_CTL_PONG, m.seq);
			else if (m.type == FERRY_CTL_STATS_REQ && stats)
				send_stats(fd, stats);
			handled++;
		}
		rx->have -= pos;
		memmove(rx->buf, rx->buf + pos, rx->have);
	}
}
