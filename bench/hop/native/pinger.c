// SPDX-License-Identifier: Apache-2.0
/*
 * Native pinger of the hop benchmark (bench/hop/README.md).
 *
 *   pinger ferry --stage S --plan ... --out DIR   (spawned by the data plane
 *                                                  as a gateway endpoint)
 *   pinger tcp   --port P  --plan ... --out DIR
 *   pinger http  --port P  --plan ... --out DIR
 *   pinger unix  [--echo-cpu C] --plan ... --out DIR   (the machine's floor)
 *
 * ferry: the payload is written once into one pool buffer; every round trip
 * sends the same (offset, generation) to the echo stage, which hands the
 * buffer back in place through the router. Only 48-byte descriptors move;
 * the echo proves it saw each request's bytes (functions/stamp-echo.c).
 * tcp / http: the payload bytes cross the socket both ways every time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ferry/instance.h"
#include "hop.h"

/* ------------------------------------------------------------------ ferry */

struct ferry_ctx {
	struct ferry_instance in;
	struct ferry_desc req;
	struct ferry_buf buf;
	uint8_t *payload; /* our pool buffer: the echo reads and writes it in place */
	struct ferry_desc batch[FERRY_RX_BATCH];
	char why[160];    /* the first failure, for the case's note */
};

#define FAIL(c, ...) (snprintf((c)->why, sizeof((c)->why), __VA_ARGS__), -1)

static int ferry_rt(void *p)
{
	struct ferry_ctx *c = p;
	struct ferry_desc *r = &c->batch[0];
	uint32_t stamp;
	int n, rc;

	stamp = (uint32_t)++c->req.request_id;
	hop_put_le32(c->payload, stamp);
	rc = ferry_endpoint_send(c->in.fd, &c->req);
	if (rc < 0)
		return FAIL(c, "send: %s", strerror(-rc));
	do
		n = ferry_endpoint_recv(c->in.fd, &c->in.rx, c->batch);
	while (n == 0); /* only garbage: keep reading */
	if (n != 1)
		return FAIL(c, "recv returned %d (expected one reply)", n);
	/* Take the buffer back, as any gateway does with a reply. */
	if (ferry_instance_accept(&c->in, r) != 0 || (r->flags & FERRY_F_ERROR) ||
	    r->request_id != c->req.request_id || r->length != c->req.length)
		return FAIL(c, "bad reply to request %u (flags %#x status %u)", stamp, r->flags, r->status);
	if (r->offset != c->buf.offset || r->generation != c->buf.generation)
		return FAIL(c, "the reply named another buffer: not zero copy");
	if (hop_get_le32(c->payload + c->req.length - 4) != ~stamp)
		return FAIL(c, "request %u: the echo's stamp is not in our buffer", stamp);
	return 0;
}

static int run_ferry(const struct hop_plan *plan)
{
	struct ferry_ctx *c = calloc(1, sizeof(*c));
	char err[256];
	int i, rc;

	if (!c || ferry_instance_from_env(&c->in, err, sizeof(err)) < 0)
		hop_die("ferry endpoint: %s", c ? err : "out of memory");
	for (i = 0; i < plan->ncases; i++) {
		const struct hop_case *k = &plan->cases[i];
		struct hop_result r;

		if (k->size < HOP_STAMP_MIN)
			hop_die("ferry cases need at least %u bytes (the echo's stamps)", HOP_STAMP_MIN);
		rc = ferry_pool_alloc(&c->in.pool, k->size, c->in.id, &c->buf);
		if (rc < 0)
			hop_die("alloc %u bytes: %s", k->size, ferry_pool_strerror(rc));
		c->payload = ferry_pool_ptr(&c->in.pool, c->buf.offset);
		hop_fill(c->payload, k->size); /* the only time the payload is written */
		ferry_desc_init(&c->req, c->in.chain_id, (uint16_t)plan->stage, 0, &c->buf,
				k->size, c->in.id);
		c->why[0] = 0;
		hop_measure(plan, k, ferry_rt, c, &r);
		/* Between the stamps, the payload must be exactly what we wrote. */
		hop_report(plan, k, &r, !r.failed && hop_check_span(c->payload, 4, k->size - 4),
			   r.failed ? c->why : "same pool buffer every round trip; echo stamp checked each time");
		ferry_pool_free(&c->in.pool, c->buf.offset, c->buf.generation);
	}
	ferry_instance_close(&c->in);
	free(c);
	return 0;
}

/* ------------------------------------------------------------ unix floor */

/*
 * Not a transport of ferry: the least a ping-pong between two processes
 * costs on this machine. A 48-byte message (a descriptor's size) over an
 * AF_UNIX socketpair to a forked child that sends it straight back: one
 * send, one wake-up and one recv per hop, with no routing and no payload.
 * The child runs on --echo-cpu when given (the parent's CPU otherwise).
 */
struct unix_ctx {
	int fd;
	uint8_t msg[48];
};

static int unix_rt(void *p)
{
	struct unix_ctx *c = p;
	struct iovec iov = { c->msg, sizeof(c->msg) };

	if (hop_writev_all(c->fd, &iov, 1) < 0 || hop_read_full(c->fd, c->msg, sizeof(c->msg)) < 0)
		return -1;
	return 0;
}

static int run_unix(const struct hop_plan *plan)
{
	struct unix_ctx c = { 0 };
	int sv[2], i;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		hop_die("socketpair: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		hop_die("fork: %s", strerror(errno));
	if (pid == 0) {
		uint8_t m[48];
		struct iovec iov = { m, sizeof(m) };

		close(sv[0]);
		if (plan->echo_cpu >= 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(plan->echo_cpu, &set);
			if (sched_setaffinity(0, sizeof(set), &set) < 0)
				hop_die("echo on cpu %d: %s", plan->echo_cpu, strerror(errno));
		}
		while (hop_read_full(sv[1], m, sizeof(m)) == 0 && hop_writev_all(sv[1], &iov, 1) == 0)
			iov = (struct iovec){ m, sizeof(m) };
		_exit(0);
	}
	close(sv[1]);
	c.fd = sv[0];
	for (i = 0; i < plan->ncases; i++) {
		struct hop_case k = plan->cases[i];
		struct hop_result r;

		k.size = sizeof(c.msg); /* the floor is for a descriptor-sized message */
		hop_measure(plan, &k, unix_rt, &c, &r);
		hop_report(plan, &plan->cases[i], &r, !r.failed, "AF_UNIX socketpair, 48-byte message, no routing");
	}
	close(c.fd);
	waitpid(pid, NULL, 0);
	return 0;
}

/* -------------------------------------------------------------------- tcp */

struct stream_ctx {
	int fd;
	uint32_t size;
	uint8_t *tx, *rx;
	char head[256];
	size_t head_len;
	struct hop_http http;
};

/* A 4-byte little-endian length, then the payload; the echo answers the
 * same way once it has read the whole message. The reply is read into one
 * buffer, header and payload together, so the kernel's copy keeps the
 * stream's alignment: reading the 4-byte header apart shifts the payload by
 * 4 bytes against the socket's pages, and that misaligned copy measured 3x
 * slower at 1 MiB on this machine, which would be a cost of this program,
 * not of TCP. */
static int tcp_rt(void *p)
{
	struct stream_ctx *c = p;
	uint32_t len = c->size, back;
	struct iovec iov[2] = { { &len, 4 }, { c->tx, c->size } };

	if (hop_writev_all(c->fd, iov, 2) < 0 || hop_read_full(c->fd, c->rx, 4 + (size_t)c->size) < 0)
		return -1;
	memcpy(&back, c->rx, 4);
	return back == c->size ? 0 : -1;
}

static int http_rt(void *p)
{
	struct stream_ctx *c = p;
	struct iovec iov[2] = { { c->head, c->head_len }, { c->tx, c->size } };

	if (hop_writev_all(c->fd, iov, 2) < 0)
		return -1;
	return hop_http_read(&c->http, c->rx, c->size) == (ssize_t)c->size ? 0 : -1;
}

static int run_stream(const struct hop_plan *plan, int http)
{
	struct stream_ctx c = { .fd = hop_tcp_connect(plan->port) };
	int i;

	c.http.fd = c.fd;
	for (i = 0; i < plan->ncases; i++) {
		const struct hop_case *k = &plan->cases[i];
		struct hop_result r;

		c.size = k->size;
		c.tx = malloc(k->size);
		c.rx = malloc(k->size + 4); /* tcp: length prefix + payload */
		if (!c.tx || !c.rx)
			hop_die("out of memory");
		hop_fill(c.tx, k->size);
		c.head_len = (size_t)snprintf(c.head, sizeof(c.head),
					      "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
					      "Content-Type: application/octet-stream\r\n"
					      "Content-Length: %u\r\n\r\n", k->size);
		hop_measure(plan, k, http ? http_rt : tcp_rt, &c, &r);
		hop_report(plan, k, &r, !r.failed && hop_check(c.rx + (http ? 0 : 4), k->size),
			   r.failed ? "a socket read or write failed, or a reply had the wrong length"
				    : "payload copied through the socket both ways");
		free(c.tx);
		free(c.rx);
	}
	close(c.fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct hop_plan plan;

	if (argc < 2)
		hop_die("usage: pinger ferry|tcp|http|unix --plan SIZE:ITER:WARMUP[,...] --out DIR [--port P] [--stage S]");
	signal(SIGPIPE, SIG_IGN);
	hop_parse_plan(argc, argv, 2, &plan);
	if (!strcmp(argv[1], "ferry"))
		return run_ferry(&plan);
	if (!strcmp(argv[1], "tcp"))
		return run_stream(&plan, 0);
	if (!strcmp(argv[1], "http"))
		return run_stream(&plan, 1);
	if (!strcmp(argv[1], "unix"))
		return run_unix(&plan);
	hop_die("unknown transport %s", argv[1]);
}
