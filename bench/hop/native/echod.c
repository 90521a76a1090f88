// SPDX-License-Identifier: Apache-2.0
/*
 * Native echo server of the tcp-loopback and http baselines.
 *
 *   echod tcp|http      listens on 127.0.0.1 (ephemeral port), prints the
 *                       port on stdout, serves one connection at a time
 *                       until killed.
 *
 * Each message is read completely before it is answered, as a function
 * needs its whole input: the payload is copied in from the socket and out
 * again, which is the cost the ferry data plane avoids.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hop.h"

#define MAX_BODY (16u << 20)

/* The frame is read into one buffer, prefix and payload together, and
 * written back from it: see tcp_rt() in pinger.c on alignment. */
static void serve_tcp(int fd, uint8_t *buf)
{
	uint32_t len;

	for (;;) {
		if (hop_read_full(fd, buf, 4) < 0)
			return;
		memcpy(&len, buf, 4);
		if (len > MAX_BODY - 4 || hop_read_full(fd, buf + 4, len) < 0)
			return;
		struct iovec iov = { buf, 4 + (size_t)len };
		if (hop_writev_all(fd, &iov, 1) < 0)
			return;
	}
}

static void serve_http(int fd, uint8_t *buf)
{
	static struct hop_http h;
	char head[128];
	ssize_t len;

	memset(&h, 0, sizeof(h));
	h.fd = fd;
	for (;;) {
		struct iovec iov[2] = { { head, 0 }, { buf, 0 } };

		len = hop_http_read(&h, buf, MAX_BODY);
		if (len < 0)
			return;
		iov[0].iov_len = (size_t)snprintf(head, sizeof(head),
						  "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
						  "Content-Length: %zd\r\n\r\n", len);
		iov[1].iov_len = (size_t)len;
		if (hop_writev_all(fd, iov, 2) < 0)
			return;
	}
}

int main(int argc, char **argv)
{
	int port, lfd, fd, http;
	uint8_t *buf;

	if (argc != 2 || (strcmp(argv[1], "tcp") && strcmp(argv[1], "http")))
		hop_die("usage: echod tcp|http");
	http = !strcmp(argv[1], "http");
	signal(SIGPIPE, SIG_IGN);
	buf = malloc(MAX_BODY);
	if (!buf)
		hop_die("out of memory");
	lfd = hop_tcp_listen(&port);
	printf("%d\n", port);
	fflush(stdout);
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		hop_nodelay(fd);
		if (http)
			serve_http(fd, buf);
		else
			serve_tcp(fd, buf);
		close(fd);
	}
}
