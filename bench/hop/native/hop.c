// SPDX-License-Identifier: Apache-2.0
#define _GNU_SOURCE
#include "hop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

void hop_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hop: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint32_t parse_u32(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || v > UINT32_MAX)
		hop_die("bad %s: \"%s\"", what, s);
	return (uint32_t)v;
}

static void parse_cases(struct hop_plan *plan, char *spec)
{
	char *save = NULL, *item;

	for (item = strtok_r(spec, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		struct hop_case *c;
		char *a = item, *b = strchr(a, ':'), *d;

		if (!b || !(d = strchr(b + 1, ':')))
			hop_die("--plan wants SIZE:ITERATIONS:WARMUP, got \"%s\"", item);
		if (plan->ncases == HOP_MAX_CASES)
			hop_die("at most %d cases", HOP_MAX_CASES);
		*b++ = 0;
		*d++ = 0;
		c = &plan->cases[plan->ncases++];
		c->size = parse_u32(a, "size");
		c->iterations = parse_u32(b, "iterations");
		c->warmup = parse_u32(d, "warmup");
		if (c->size == 0 || c->iterations == 0)
			hop_die("size and iterations must be positive");
	}
}

void hop_parse_plan(int argc, char **argv, int first, struct hop_plan *plan)
{
	int i;

	memset(plan, 0, sizeof(*plan));
	plan->budget_ns = 2000000000ull;
	plan->echo_cpu = -1;
	for (i = first; i < argc; i++) {
		const char *k = argv[i];

		if (i + 1 >= argc)
			hop_die("%s needs a value", k);
		if (!strcmp(k, "--plan"))
			parse_cases(plan, argv[++i]);
		else if (!strcmp(k, "--budget-ms"))
			plan->budget_ns = (uint64_t)parse_u32(argv[++i], "budget") * 1000000ull;
		else if (!strcmp(k, "--out"))
			plan->out_dir = argv[++i];
		else if (!strcmp(k, "--port"))
			plan->port = (int)parse_u32(argv[++i], "port");
		else if (!strcmp(k, "--stage"))
			plan->stage = (int)parse_u32(argv[++i], "stage");
		else if (!strcmp(k, "--echo-cpu"))
			plan->echo_cpu = (int)parse_u32(argv[++i], "echo cpu");
		else
			hop_die("unknown option %s", k);
	}
	if (!plan->ncases || !plan->out_dir)
		hop_die("--plan and --out are required");
}

void hop_measure(const struct hop_plan *plan, const struct hop_case *c,
		 hop_roundtrip_fn rt, void *ctx, struct hop_result *out)
{
	/* Warm-up gets a quarter of the budget on top: enough to fault in the
	 * pages and settle the scheduler, bounded for the slow transports. */
	uint64_t start = hop_now_ns(), t0, t1, deadline;
	uint32_t i;

	memset(out, 0, sizeof(*out));
	out->rtt_ns = malloc((size_t)c->iterations * sizeof(uint64_t));
	if (!out->rtt_ns)
		hop_die("out of memory for %u samples", c->iterations);
	deadline = start + plan->budget_ns / 4;
	for (i = 0; i < c->warmup && hop_now_ns() < deadline; i++) {
		if (rt(ctx) < 0) {
			out->failed = 1;
			return;
		}
		out->warmup++;
	}
	t0 = hop_now_ns();
	deadline = t0 + plan->budget_ns;
	for (i = 0; i < c->iterations; i++) {
		if (rt(ctx) < 0) {
			out->failed = 1;
			break;
		}
		t1 = hop_now_ns();
		out->rtt_ns[i] = t1 - t0;
		t0 = t1;
		out->iterations++;
		if (t1 >= deadline)
			break;
	}
}

void hop_report(const struct hop_plan *plan, const struct hop_case *c,
		struct hop_result *r, int verified, const char *note)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%u.bin", plan->out_dir, c->size);
	f = fopen(path, "wb");
	if (!f || fwrite(r->rtt_ns, sizeof(uint64_t), r->iterations, f) != r->iterations ||
	    fclose(f) != 0)
		hop_die("cannot write %s: %s", path, strerror(errno));
	printf("{\"size\":%u,\"iterations\":%u,\"warmup\":%u,\"failed\":%s,\"verified\":%s,\"note\":\"%s\"}\n",
	       c->size, r->iterations, r->warmup, r->failed ? "true" : "false",
	       verified ? "true" : "false", note ? note : "");
	fflush(stdout);
	free(r->rtt_ns);
	r->rtt_ns = NULL;
}

void hop_fill(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131u + 7u);
}

int hop_check_span(const uint8_t *p, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to; i++)
		if (p[i] != (uint8_t)(i * 131u + 7u))
			return 0;
	return 1;
}

int hop_read_full(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n > 0) {
		ssize_t k = recv(fd, p, n, 0);

		if (k > 0) {
			p += k;
			n -= (size_t)k;
		} else if (k == 0 || errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

int hop_writev_all(int fd, struct iovec *iov, int cnt)
{
	while (cnt > 0) {
		ssize_t k = writev(fd, iov, cnt);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (cnt > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return 0;
}

void hop_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int hop_tcp_listen(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		hop_die("listen on 127.0.0.1: %s", strerror(errno));
	*port = ntohs(a.sin_port);
	return fd;
}

int hop_tcp_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		hop_die("connect to 127.0.0.1:%d: %s", port, strerror(errno));
	hop_nodelay(fd);
	return fd;
}

/* Content-Length of a head (NUL-terminated), or -1. */
static long content_length(const char *head)
{
	const char *p = head;

	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncasecmp(p, "content-length:", 15) == 0)
			return strtol(p + 15, NULL, 10);
	}
	return -1;
}

ssize_t hop_http_read(struct hop_http *h, uint8_t *body, size_t cap)
{
	char *end;
	size_t head_len, got;
	long len;

	for (;;) {
		h->hdr[h->have] = 0;
		end = strstr(h->hdr, "\r\n\r\n");
		if (end)
			break;
		if (h->have + 1 >= sizeof(h->hdr))
			return -1; /* head larger than we are willing to parse */
		ssize_t k = recv(h->fd, h->hdr + h->have, sizeof(h->hdr) - 1 - h->have, 0);
		if (k == 0 || (k < 0 && errno != EINTR))
			return -1;
		if (k > 0)
			h->have += (size_t)k;
	}
	head_len = (size_t)(end - h->hdr) + 4;
	*end = 0;
	len = content_length(h->hdr);
	if (len < 0 || (size_t)len > cap)
		return -1;
	/* Body bytes that came in with the head, then the rest straight into
	 * body; anything after the body (pipelining) stays in hdr. */
	got = h->have - head_len;
	if (got > (size_t)len)
		got = (size_t)len;
	memcpy(body, h->hdr + head_len, got);
	memmove(h->hdr, h->hdr + head_len + got, h->have - head_len - got);
	h->have -= head_len + got;
	if (hop_read_full(h->fd, body + got, (size_t)len - got) < 0)
		return -1;
	return len;
}
