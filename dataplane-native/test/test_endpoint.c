// SPDX-License-Identifier: Apache-2.0
/* Frame reassembly on the endpoint stream: partial frames, garbage and
 * truncated frames cost only themselves. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "ferry/descriptor.h"
#include "ferry/endpoint.h"

static struct ferry_desc frame(uint64_t id)
{
	struct ferry_buf b = { .offset = 4096, .generation = 3 };
	struct ferry_desc d;

	ferry_desc_init(&d, 7, 1, id, &b, 10, 1);
	return d;
}

int main(void)
{
	static struct ferry_rx rx;
	struct ferry_desc out[FERRY_RX_BATCH], d1 = frame(1), d2 = frame(2);
	uint8_t garbage[10];
	int sv[2], n;

	memset(garbage, 0xab, sizeof(garbage));
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");

	/* A frame in two pieces. */
	CHECK(write(sv[1], &d1, 20) == 20, "w");
	CHECK(ferry_endpoint_recv(sv[0], &rx, out) == 0, "partial: nothing yet");
	CHECK(write(sv[1], (uint8_t *)&d1 + 20, 28) == 28, "w");
	n = ferry_endpoint_recv(sv[0], &rx, out);
	CHECK(n == 1 && out[0].request_id == 1, "reassembled (%d)", n);

	/* Garbage, then a truncated frame, then two good ones. */
	CHECK(write(sv[1], garbage, sizeof(garbage)) == 10, "w");
	CHECK(ferry_endpoint_recv(sv[0], &rx, out) == 0, "garbage alone");
	CHECK(write(sv[1], &d1, 30) == 30, "w");
	CHECK(ferry_endpoint_recv(sv[0], &rx, out) == 0, "truncated alone");
	CHECK(write(sv[1], &d2, sizeof(d2)) == 48, "w");
	n = ferry_endpoint_recv(sv[0], &rx, out);
	CHECK(n == 1 && out[0].request_id == 2, "good frame after truncated one survives (%d, id %lu)",
	      n, n > 0 ? (unsigned long)out[0].request_id : 0ul);
	CHECK(rx.garbage_bytes == 40, "40 bytes skipped, got %lu", (unsigned long)rx.garbage_bytes);
	CHECK(rx.have == 0, "nothing left over (%zu)", rx.have);

	/* Many frames in one read. */
	for (int i = 0; i < 10; i++) {
		struct ferry_desc d = frame(100 + i);
		CHECK(write(sv[1], &d, sizeof(d)) == 48, "w");
	}
	n = ferry_endpoint_recv(sv[0], &rx, out);
	CHECK(n == 10 && out[9].request_id == 109, "batch of 10 (%d)", n);

	close(sv[1]);
	CHECK(ferry_endpoint_recv(sv[0], &rx, out) == -ECONNRESET, "peer closed");
	close(sv[0]);
	return check_summary("test_endpoint");
}
