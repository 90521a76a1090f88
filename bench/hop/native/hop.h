/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared parts of the native hop-benchmark drivers (pinger.c, echod.c): the
 * measurement loop, the plan passed on the command line, blocking socket I/O
 * and the little HTTP/1.1 framing the http baseline needs.
 *
 * A driver never computes statistics: it writes every round-trip time (ns,
 * u64 little-endian) to OUT_DIR/<size>.bin and one JSON line per case on
 * stdout; bench/hop/stats.ts summarises, so both runtimes are judged by the
 * same code.
 */
#ifndef HOP_H
#define HOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#define HOP_MAX_CASES 16

/* One payload size: run warmup round trips unrecorded, then up to
 * iterations recorded ones (fewer when the time budget runs out first). */
struct hop_case {
	uint32_t size;
	uint32_t iterations;
	uint32_t warmup;
};

struct hop_plan {
	struct hop_case cases[HOP_MAX_CASES];
	int ncases;
	uint64_t budget_ns; /* per case, measured part */
	const char *out_dir;
	int port;           /* tcp/http: the echo server's port on 127.0.0.1 */
	int stage;          /* ferry: the echo stage's id */
	int echo_cpu;       /* unix: CPU of the forked echo, -1 = inherit */
};

/* Parse "--plan SIZE:ITER:WARMUP[,...] --budget-ms N --out DIR [--port P]
 * [--stage S] [--echo-cpu C]" from argv[first..]. Exits with a message on
 * bad input. */
void hop_parse_plan(int argc, char **argv, int first, struct hop_plan *plan);

static inline uint64_t hop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One round trip of the transport under test; 0 or -1 (case aborted). */
typedef int (*hop_roundtrip_fn)(void *ctx);

struct hop_result {
	uint32_t iterations; /* recorded */
	uint32_t warmup;     /* done */
	uint64_t *rtt_ns;    /* iterations entries, malloc'ed */
	int failed;
};

/* Warm up, then time round trips back to back: each one starts at the
 * instant the previous one ended, so the samples sum to the wall time. */
void hop_measure(const struct hop_plan *plan, const struct hop_case *c,
		 hop_roundtrip_fn rt, void *ctx, struct hop_result *out);

/* Write the samples and print the case's JSON line; frees out->rtt_ns. */
void hop_report(const struct hop_plan *plan, const struct hop_case *c,
		struct hop_result *r, int verified, const char *note);

/* Deterministic payload bytes, so an echo can be checked cheaply:
 * hop_check_span() checks bytes [from, to) of a hop_fill()ed payload. */
void hop_fill(uint8_t *p, size_t n);
int hop_check_span(const uint8_t *p, size_t from, size_t to);
static inline int hop_check(const uint8_t *p, size_t n)
{
	return hop_check_span(p, 0, n);
}

/* The stamp protocol of the ferry echo (bench/hop/functions/stamp-echo.c):
 * request id's low 32 bits in the first 4 bytes on the way out, their
 * complement in the last 4 bytes on the way back; little-endian. */
#define HOP_STAMP_MIN 8u
static inline uint32_t hop_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void hop_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void hop_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* ------------------------------------------------------------ socket I/O */

int hop_read_full(int fd, void *buf, size_t n); /* 0, or -1 on EOF/error */
int hop_writev_all(int fd, struct iovec *iov, int cnt);
int hop_tcp_listen(int *port);  /* 127.0.0.1, ephemeral port */
int hop_tcp_connect(int port);
void hop_nodelay(int fd);

/* ------------------------------------------------------------ HTTP/1.1 */

/* A keep-alive connection's read side: the head is read into hdr, and any
 * body bytes that arrived with it are handed out before reading more. */
struct hop_http {
	int fd;
	size_t have;
	char hdr[8192];
};

/*
 * Read one request or response: head, then Content-Length bytes into body
 * (at most cap). Returns the body length, or -1 on EOF / malformed input.
 */
ssize_t hop_http_read(struct hop_http *h, uint8_t *body, size_t cap);

#endif /* HOP_H */
