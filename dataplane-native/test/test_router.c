// SPDX-License-Identifier: Apache-2.0
/*
 * End-to-end test of the SK_MSG router over real loopback TCP sockets.
 *
 *   test_router <path/to/sk_msg_router.bpf.o>
 *
 * Needs root and bpffs at /sys/fs/bpf. Everything is pinned under a private
 * /sys/fs/bpf/ferry-test-<pid>, removed at the end.
 *
 * Each endpoint is a connected TCP pair: `fd` is the instance's own end and
 * the one registered with the router, `peer` the other end. A descriptor the
 * router delivers lands in the target's `fd` receive queue (BPF_F_INGRESS),
 * never at its peer. A descriptor it refuses from a registered sender comes
 * back as an error reply (to the gateway in reply_to, else to the sender) or,
 * when malformed, unchanged to the sender; only an unregistered sender's
 * send() fails (see bpf/sk_msg_router.bpf.c for why).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <pthread.h>
#include <time.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "ferry/bpf_loader.h"

static int passed, failed;

#define CHECK(cond, ...)                                                   \
	do {                                                               \
		if (cond) {                                                \
			passed++;                                          \
		} else {                                                   \
			failed++;                                          \
			fprintf(stderr, "FAIL %s:%d: ", __func__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
		}                                                          \
	} while (0)

#define CHAIN 7

struct ep {
	int fd;   /* registered end */
	int peer; /* other TCP end */
	struct ferry_ident id;
};

static int nodelay(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int tcp_pair(int *a, int *b)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	int lfd, cfd = -1, afd = -1;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -errno;
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len))
		goto fail;
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&addr, sizeof(addr)))
		goto fail;
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (afd < 0 || nodelay(cfd) || nodelay(afd))
		goto fail;
	close(lfd);
	*a = cfd;
	*b = afd;
	return 0;
fail:
	perror("tcp_pair");
	close(lfd);
	if (cfd >= 0)
		close(cfd);
	if (afd >= 0)
		close(afd);
	return -1;
}

static int ep_add(struct ferry_router *r, struct ep *e, uint32_t id,
		  uint16_t stage, uint16_t role)
{
	int err;

	if (tcp_pair(&e->fd, &e->peer))
		return -1;
	e->id = (struct ferry_ident){ .instance_id = id, .chain_id = CHAIN,
				      .stage = stage, .role = role };
	err = ferry_router_add_endpoint(r, e->fd, &e->id);
	if (err)
		fprintf(stderr, "add_endpoint %u: %s\n", id, strerror(-err));
	return err;
}

static void ep_close(struct ep *e)
{
	if (e->fd >= 0)
		close(e->fd);
	if (e->peer >= 0)
		close(e->peer);
	e->fd = e->peer = -1;
}

static struct ferry_desc mkdesc(uint16_t stage)
{
	static uint64_t req;

	return (struct ferry_desc){
		.magic = FERRY_DESC_MAGIC,
		.version = FERRY_DESC_VERSION,
		.chain_id = CHAIN,
		.stage = stage,
		.from_stage = 0x4242, /* must be overwritten by the router */
		.request_id = ++req,
		.offset = 4096,
		.length = 100,
		.generation = 9,
	};
}

/* 0 on success, else the errno send() failed with. */
static int send_buf(int fd, const void *buf, size_t len)
{
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return errno;
	return (size_t)n == len ? 0 : EMSGSIZE;
}

static int send_desc(int fd, const struct ferry_desc *d)
{
	return send_buf(fd, d, sizeof(*d));
}

/* Bytes read from fd within timeout_ms (0 when nothing arrived). */
static ssize_t recv_buf(int fd, void *buf, size_t len, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	n = recv(fd, buf, len, MSG_DONTWAIT);
	return n < 0 ? 0 : n;
}

static int recv_desc(int fd, struct ferry_desc *d, int timeout_ms)
{
	return recv_buf(fd, d, sizeof(*d), timeout_ms) == sizeof(*d);
}

static int quiet(int fd)
{
	char buf[256];

	return recv_buf(fd, buf, sizeof(buf), 20) == 0;
}

static struct ferry_counters ctr(struct ferry_router *r, uint32_t id)
{
	struct ferry_counters c;

	memset(&c, 0, sizeof(c));
	if (ferry_router_read_counters(r, id, &c))
		fprintf(stderr, "read_counters %u failed\n", id);
	return c;
}

static uint64_t drops(struct ferry_router *r, uint32_t id, int reason)
{
	return ctr(r, id).drops[reason];
}

static int route1(struct ferry_router *r, uint16_t stage, uint32_t inst)
{
	uint32_t w = 1;

	return ferry_router_set_route(r, CHAIN, stage, &inst, &w, 1);
}

/* --------------------------------------------------------------- tests */

static struct ep A, B, C, X, G, U, D, E;

static void test_deliver(struct ferry_router *r)
{
	struct ferry_desc d = mkdesc(1), got;
	struct ferry_counters ca0 = ctr(r, A.id.instance_id);
	struct ferry_counters cb0 = ctr(r, B.id.instance_id);
	struct ferry_counters ca, cb;

	d.hop_count = 3;
	d.length = 1000;
	CHECK(send_desc(A.fd, &d) == 0, "A->stage 1 send failed");
	CHECK(recv_desc(B.fd, &got, 500), "B did not receive");
	CHECK(got.from_stage == 0, "from_stage %u, want 0", got.from_stage);
	CHECK(got.hop_count == 4, "hop_count %u, want 4", got.hop_count);
	CHECK(got.request_id == d.request_id && got.offset == d.offset &&
	      got.length == d.length && got.generation == d.generation &&
	      got.stage == 1 && got.chain_id == CHAIN,
	      "descriptor body changed in flight");
	CHECK(quiet(B.peer), "B's TCP peer got data: should go to B itself");
	CHECK(quiet(A.fd) && quiet(A.peer), "sender side got data");
	CHECK(quiet(C.fd), "unrouted replica got data");

	ca = ctr(r, A.id.instance_id);
	cb = ctr(r, B.id.instance_id);
	CHECK(ca.tx_msgs - ca0.tx_msgs == 1 && ca.tx_bytes - ca0.tx_bytes == 1000,
	      "A tx %llu/%llu", (unsigned long long)(ca.tx_msgs - ca0.tx_msgs),
	      (unsigned long long)(ca.tx_bytes - ca0.tx_bytes));
	CHECK(cb.rx_msgs - cb0.rx_msgs == 1 && cb.rx_bytes - cb0.rx_bytes == 1000,
	      "B rx %llu/%llu", (unsigned long long)(cb.rx_msgs - cb0.rx_msgs),
	      (unsigned long long)(cb.rx_bytes - cb0.rx_bytes));
	CHECK(ca.rx_msgs == ca0.rx_msgs && cb.tx_msgs == cb0.tx_msgs,
	      "counters charged to the wrong side");
}

static void spread(struct ferry_router *r, const uint32_t *w, int *nb, int *nc)
{
	uint32_t inst[2] = { B.id.instance_id, C.id.instance_id };
	struct ferry_desc d, got;
	int i, lost = 0;

	*nb = *nc = 0;
	CHECK(ferry_router_set_route(r, CHAIN, 1, inst, w, 2) == 0, "set_route");
	for (i = 0; i < 200; i++) {
		d = mkdesc(1);
		if (send_desc(A.fd, &d)) {
			lost++;
			continue;
		}
		/* Drain after every send so neither queue fills up. */
		if (recv_desc(B.fd, &got, 0))
			(*nb)++;
		else if (recv_desc(C.fd, &got, 0))
			(*nc)++;
		else if (recv_desc(B.fd, &got, 200))
			(*nb)++;
		else if (recv_desc(C.fd, &got, 200))
			(*nc)++;
		else
			lost++;
	}
	CHECK(lost == 0, "%d of 200 lost", lost);
}

static void test_weights(struct ferry_router *r)
{
	static const uint32_t w10[2] = { 1, 0 }, w11[2] = { 1, 1 };
	int nb, nc;

	spread(r, w10, &nb, &nc);
	CHECK(nb == 200 && nc == 0, "1:0 gave %d:%d", nb, nc);
	spread(r, w11, &nb, &nc);
	CHECK(nb > 0 && nc > 0 && nb + nc == 200, "1:1 gave %d:%d", nb, nc);
	printf("  weights 1:1 over 200 sends -> %d:%d\n", nb, nc);
	CHECK(route1(r, 1, B.id.instance_id) == 0, "restore route");
}

/* Which of eps received d (polled for up to 200 ms); -1 when none did. */
static int received_by(struct ep **eps, int n, const struct ferry_desc *d)
{
	struct ferry_desc got;
	int i, round;

	for (round = 0; round < 2; round++)
		for (i = 0; i < n; i++)
			if (recv_desc(eps[i]->fd, &got, round ? 200 / n : 0)) {
				CHECK(got.request_id == d->request_id, "wrong descriptor arrived");
				return i;
			}
	return -1;
}

/*
 * The split over three replicas follows their weights: 3,000 sends over
 * weights 1:3:6 must fit the expected 300:900:1800 (chi-square with 2
 * degrees of freedom below 13.8, p = 0.001, so a correct router fails this
 * once in a thousand runs), and a replica of weight 0 gets nothing.
 */
static void test_split(struct ferry_router *r)
{
	struct ep *eps[3] = { &B, &C, &E };
	uint32_t inst[3] = { B.id.instance_id, C.id.instance_id, E.id.instance_id };
	static const uint32_t w[3] = { 1, 3, 6 }, w0[3] = { 2, 0, 1 };
	int got[3] = { 0, 0, 0 }, i, k, lost = 0;
	double chi = 0, expect;
	struct ferry_desc d;

	CHECK(ferry_router_set_route(r, CHAIN, 1, inst, w, 3) == 0, "set_route 1:3:6");
	for (i = 0; i < 3000; i++) {
		d = mkdesc(1);
		k = send_desc(A.fd, &d) ? -1 : received_by(eps, 3, &d);
		if (k < 0)
			lost++;
		else
			got[k]++;
	}
	CHECK(lost == 0, "%d of 3000 lost", lost);
	for (i = 0; i < 3; i++) {
		expect = 3000.0 * w[i] / 10;
		chi += (got[i] - expect) * (got[i] - expect) / expect;
	}
	CHECK(chi < 13.8, "1:3:6 gave %d:%d:%d (chi-square %.1f)", got[0], got[1], got[2], chi);
	printf("  weights 1:3:6 over 3000 sends -> %d:%d:%d (chi-square %.2f)\n",
	       got[0], got[1], got[2], chi);

	got[0] = got[1] = got[2] = 0;
	CHECK(ferry_router_set_route(r, CHAIN, 1, inst, w0, 3) == 0, "set_route 2:0:1");
	for (i = 0; i < 300; i++) {
		d = mkdesc(1);
		k = send_desc(A.fd, &d) ? -1 : received_by(eps, 3, &d);
		if (k >= 0)
			got[k]++;
	}
	CHECK(got[1] == 0 && got[0] > got[2] && got[2] > 0 && got[0] + got[2] == 300,
	      "2:0:1 gave %d:%d:%d", got[0], got[1], got[2]);
	CHECK(route1(r, 1, B.id.instance_id) == 0, "restore route");
}

/*
 * Consistent hashing: a request whose id carries a key (FERRY_REQUEST_KEY)
 * goes to the owner of the key's point on the stage's ring, every time; a
 * request without one is still picked by weight; deleting the ring returns
 * keyed requests to the weighted pick.
 */
static void test_ring(struct ferry_router *r)
{
	struct ep *eps[3] = { &B, &C, &E };
	uint32_t inst[3] = { B.id.instance_id, C.id.instance_id, E.id.instance_id };
	static const uint32_t w[3] = { 1, 0, 0 };
	uint32_t points[3] = { 1000, 2000, 3000 };
	/* key -> index of the owner: 1..1000 -> B, ..2000 -> C, ..3000 -> E, above -> B */
	static const struct { uint32_t key; int owner; } keys[] = {
		{ 1, 0 }, { 1000, 0 }, { 1001, 1 }, { 2000, 1 }, { 2500, 2 }, { 3000, 2 },
		{ 3001, 0 }, { FERRY_KEY_MASK, 0 },
	};
	struct ferry_desc d;
	size_t i;
	int k, rep;

	CHECK(ferry_router_set_route(r, CHAIN, 1, inst, w, 3) == 0, "set_route 1:0:0");
	CHECK(ferry_router_set_ring(r, CHAIN, 1, points, inst, 3) == 0, "set_ring");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		for (rep = 0; rep < 5; rep++) {
			d = mkdesc(1);
			d.request_id |= (__u64)keys[i].key << FERRY_KEY_SHIFT;
			k = send_desc(A.fd, &d) ? -1 : received_by(eps, 3, &d);
			CHECK(k == keys[i].owner, "key %u went to replica %d, want %d",
			      keys[i].key, k, keys[i].owner);
		}
	/* No key: the weights (all on B) decide. */
	for (rep = 0; rep < 20; rep++) {
		d = mkdesc(1);
		CHECK(send_desc(A.fd, &d) == 0 && received_by(eps, 3, &d) == 0,
		      "unkeyed request left the weighted pick");
	}
	CHECK(ferry_router_delete_ring(r, CHAIN, 1) == 0, "delete_ring");
	CHECK(ferry_router_delete_ring(r, CHAIN, 1) == 0, "delete_ring twice");
	d = mkdesc(1);
	d.request_id |= (__u64)2500 << FERRY_KEY_SHIFT;
	CHECK(send_desc(A.fd, &d) == 0 && received_by(eps, 3, &d) == 0,
	      "keyed request after the ring went still followed it");

	/* Rings the loader refuses: unsorted, a point outside the key space,
	 * an invalid owner, too many points. */
	points[1] = 500;
	CHECK(ferry_router_set_ring(r, CHAIN, 1, points, inst, 3) == -EINVAL, "unsorted ring");
	points[1] = 2000;
	points[2] = FERRY_KEY_MASK + 1;
	CHECK(ferry_router_set_ring(r, CHAIN, 1, points, inst, 3) == -EINVAL, "point past the key space");
	points[2] = 3000;
	inst[2] = 0;
	CHECK(ferry_router_set_ring(r, CHAIN, 1, points, inst, 3) == -EINVAL, "owner 0");
	CHECK(ferry_router_set_ring(r, CHAIN, 1, points, inst, FERRY_RING_MAX + 1) == -E2BIG, "ring too big");
	CHECK(route1(r, 1, B.id.instance_id) == 0, "restore route");
}

/* The router's error reply for sent arrived at who. A reply that reaches
 * no gateway goes back to the sender with reply_to 0 ("nobody waits"), so
 * the runtime frees the buffer rather than answering into a loop. */
static void expect_error(struct ep *who, const struct ferry_desc *sent,
			 uint16_t status, uint16_t from_stage, const char *what)
{
	uint32_t reply_to = who->id.role == FERRY_ROLE_GATEWAY ? sent->reply_to : 0;
	struct ferry_desc got;

	if (!recv_desc(who->fd, &got, 500)) {
		CHECK(0, "%s: no error reply at instance %u", what,
		      who->id.instance_id);
		return;
	}
	CHECK(got.magic == FERRY_DESC_MAGIC && got.request_id == sent->request_id &&
	      got.offset == sent->offset && got.generation == sent->generation &&
	      got.reply_to == reply_to,
	      "%s: error reply names another request (reply_to %u)", what,
	      got.reply_to);
	CHECK((got.flags & FERRY_F_ERROR) && !(got.flags & FERRY_F_RESPONSE) && got.status == status &&
	      got.stage == FERRY_STAGE_REPLY && got.from_stage == from_stage &&
	      got.length == 0,
	      "%s: flags %#x status %u stage %#x from %u length %u", what,
	      got.flags, got.status, got.stage, got.from_stage, got.length);
}

/* buf came back to who byte for byte. */
static void expect_bounce(struct ep *who, const void *buf, size_t len,
			  const char *what)
{
	char got[256];

	CHECK(recv_buf(who->fd, got, sizeof(got), 500) == (ssize_t)len &&
	      memcmp(got, buf, len) == 0, "%s: not bounced back unchanged", what);
}

/* Sending still works from e: the router did not cut it off. */
static void expect_alive(struct ep *e, const char *what)
{
	struct ferry_desc d = mkdesc(1), got;

	CHECK(send_desc(e->fd, &d) == 0 && recv_desc(B.fd, &got, 500) &&
	      got.request_id == d.request_id, "%s: sender cut off afterwards", what);
}

/* Send buf from e: the send succeeds and reason is counted against e. */
static void refused(struct ferry_router *r, struct ep *e, const void *buf,
		    size_t len, int reason, const char *what)
{
	uint64_t before = drops(r, e->id.instance_id, reason);
	int err = send_buf(e->fd, buf, len);

	CHECK(err == 0, "%s: send gave %s", what, strerror(err));
	CHECK(drops(r, e->id.instance_id, reason) == before + 1,
	      "%s: drop %d not counted on %u", what, reason, e->id.instance_id);
}

static void test_not_allowed(struct ferry_router *r)
{
	struct ferry_counters g0 = ctr(r, G.id.instance_id);
	struct ferry_desc d = mkdesc(2);

	/* Stage 2 has a route (X) but no edge 0 -> 2: the caller (gateway
	 * in reply_to) gets an error reply, the sender carries on. */
	d.reply_to = G.id.instance_id;
	refused(r, &A, &d, sizeof(d), FERRY_DROP_NOT_ALLOWED, "not allowed");
	expect_error(&G, &d, FERRY_ST_NO_ROUTE, 0, "not allowed");
	CHECK(quiet(X.fd) && quiet(A.fd), "disallowed message went elsewhere");
	CHECK(ctr(r, G.id.instance_id).rx_msgs == g0.rx_msgs + 1,
	      "error reply not counted as gateway rx");
	expect_alive(&A, "not allowed");

	/* No gateway to tell: the error goes back to the sender. */
	d = mkdesc(2);
	d.reply_to = 0;
	refused(r, &A, &d, sizeof(d), FERRY_DROP_NOT_ALLOWED, "not allowed, no gw");
	expect_error(&A, &d, FERRY_ST_NO_ROUTE, 0, "not allowed, no gw");
	expect_alive(&A, "not allowed, no gw");
}

static void test_drops(struct ferry_router *r)
{
	struct ferry_desc d, got;
	char junk[10] = "0123456789";
	uint64_t before;
	int e;

	d = mkdesc(1);
	d.chain_id = CHAIN + 1;
	refused(r, &A, &d, sizeof(d), FERRY_DROP_CHAIN_MISMATCH, "chain mismatch");
	expect_bounce(&A, &d, sizeof(d), "chain mismatch");
	CHECK(quiet(B.fd), "chain mismatch delivered");

	d = mkdesc(1);
	d.magic ^= 1;
	refused(r, &A, &d, sizeof(d), FERRY_DROP_MALFORMED, "bad magic");
	expect_bounce(&A, &d, sizeof(d), "bad magic");

	d = mkdesc(1);
	d.version = FERRY_DESC_VERSION + 1;
	refused(r, &A, &d, sizeof(d), FERRY_DROP_MALFORMED, "bad version");
	expect_bounce(&A, &d, sizeof(d), "bad version");

	refused(r, &A, junk, sizeof(junk), FERRY_DROP_MALFORMED, "short");
	expect_bounce(&A, junk, sizeof(junk), "short");
	CHECK(quiet(B.fd), "malformed delivered");
	expect_alive(&A, "malformed");

	d = mkdesc(1);
	d.reply_to = G.id.instance_id;
	d.hop_count = FERRY_MAX_HOPS;
	refused(r, &A, &d, sizeof(d), FERRY_DROP_HOP_LIMIT, "hop limit");
	expect_error(&G, &d, FERRY_ST_NO_ROUTE, 0, "hop limit");
	d.hop_count = FERRY_MAX_HOPS - 1;
	CHECK(send_desc(A.fd, &d) == 0 && recv_desc(B.fd, &got, 500) &&
	      got.hop_count == FERRY_MAX_HOPS, "last allowed hop not delivered");

	/* Route present but disabled (no replicas), then absent. */
	CHECK(ferry_router_set_route(r, CHAIN, 1, NULL, NULL, 0) == 0, "empty route");
	d = mkdesc(1);
	d.reply_to = G.id.instance_id;
	refused(r, &A, &d, sizeof(d), FERRY_DROP_NO_ROUTE, "empty route");
	expect_error(&G, &d, FERRY_ST_NO_ROUTE, 0, "empty route");
	CHECK(ferry_router_delete_route(r, CHAIN, 1) == 0, "delete route");
	refused(r, &A, &d, sizeof(d), FERRY_DROP_NO_ROUTE, "no route");
	expect_error(&G, &d, FERRY_ST_NO_ROUTE, 0, "no route");
	CHECK(route1(r, 1, B.id.instance_id) == 0, "restore route");

	/* The target closes its socket: the kernel unlinks it from the
	 * sockhash while the route still names it. */
	ep_close(&D);
	d = mkdesc(3);
	d.reply_to = G.id.instance_id;
	refused(r, &A, &d, sizeof(d), FERRY_DROP_DEAD_PEER, "dead peer");
	expect_error(&G, &d, FERRY_ST_INSTANCE_DIED, 0, "dead peer");
	expect_alive(&A, "dead peer");

	/* Socket still in the sockhash but its identity is gone (e.g. a
	 * remove racing a send): the one case that really drops. */
	CHECK(bpf_map_delete_elem(r->idents_fd, &U.fd) == 0, "delete ident");
	before = drops(r, 0, FERRY_DROP_UNKNOWN_SENDER);
	d = mkdesc(1);
	e = send_desc(U.fd, &d);
	CHECK(e == EACCES || e == EPERM, "unknown sender: send gave %s",
	      e ? strerror(e) : "success");
	printf("  dropped send fails with errno %d (%s)\n", e, strerror(e));
	CHECK(drops(r, 0, FERRY_DROP_UNKNOWN_SENDER) == before + 1,
	      "unknown sender not counted on 0");
	/* The kernel keeps the drop verdict: later sends fail without the
	 * program running (so without being counted). */
	e = send_desc(U.fd, &d);
	CHECK(e == EACCES && drops(r, 0, FERRY_DROP_UNKNOWN_SENDER) == before + 1,
	      "expected a sticky drop: %s", e ? strerror(e) : "success");
	CHECK(quiet(B.fd), "unknown sender's message delivered");
	/* Registering the socket again gives it a fresh verdict state. */
	CHECK(ferry_router_remove_endpoint(r, U.fd, U.id.instance_id) == 0 &&
	      ferry_router_add_endpoint(r, U.fd, &U.id) == 0, "re-register U");
	expect_alive(&U, "re-registered");
}

static void test_reply(struct ferry_router *r)
{
	struct ferry_desc d, got;
	struct ferry_counters g0 = ctr(r, G.id.instance_id), g;
	struct ep G2;

	d = mkdesc(FERRY_STAGE_REPLY);
	d.reply_to = G.id.instance_id;
	d.length = 77;
	CHECK(send_desc(B.fd, &d) == 0, "reply send failed");
	CHECK(recv_desc(G.fd, &got, 500), "gateway did not get the reply");
	CHECK(got.from_stage == 1 && got.request_id == d.request_id &&
	      !(got.flags & FERRY_F_ERROR) && got.length == 77,
	      "reply from_stage %u flags %#x", got.from_stage, got.flags);
	g = ctr(r, G.id.instance_id);
	CHECK(g.rx_msgs == g0.rx_msgs + 1 && g.rx_bytes == g0.rx_bytes + 77,
	      "gateway rx not counted");

	/* reply_to naming an ordinary instance: it gets nothing, the error
	 * goes back to the replying instance. */
	d = mkdesc(FERRY_STAGE_REPLY);
	d.reply_to = A.id.instance_id;
	refused(r, &B, &d, sizeof(d), FERRY_DROP_NO_ROUTE, "reply to non-gateway");
	expect_error(&B, &d, FERRY_ST_NO_ROUTE, 1, "reply to non-gateway");
	CHECK(quiet(A.fd), "non-gateway received a reply");

	/* The gateway went away. */
	if (ep_add(r, &G2, 11, FERRY_STAGE_REPLY, FERRY_ROLE_GATEWAY) == 0) {
		ep_close(&G2);
		d = mkdesc(FERRY_STAGE_REPLY);
		d.reply_to = 11;
		refused(r, &B, &d, sizeof(d), FERRY_DROP_DEAD_PEER, "dead gateway");
		expect_error(&B, &d, FERRY_ST_INSTANCE_DIED, 1, "dead gateway");
	} else {
		CHECK(0, "second gateway");
	}

	/* A function's own answer (an HTTP status in desc.status) reaches
	 * the gateway as sent. */
	d = mkdesc(FERRY_STAGE_REPLY);
	d.reply_to = G.id.instance_id;
	d.flags = FERRY_F_RESPONSE;
	d.status = 404;
	d.length = 9;
	CHECK(send_desc(B.fd, &d) == 0 && recv_desc(G.fd, &got, 500), "answer not delivered");
	CHECK(got.flags == FERRY_F_RESPONSE && got.status == 404 && got.length == 9,
	      "answer changed on the way: flags %#x status %u", got.flags, got.status);

	/* Stage 0 may not answer the caller directly (no edge 0 -> REPLY);
	 * refused, an answer becomes an ordinary error reply (no HTTP status
	 * left in it: expect_error checks FERRY_F_RESPONSE is gone). */
	d = mkdesc(FERRY_STAGE_REPLY);
	d.reply_to = G.id.instance_id;
	d.length = 5;
	refused(r, &A, &d, sizeof(d), FERRY_DROP_NOT_ALLOWED, "reply from stage 0");
	expect_error(&G, &d, FERRY_ST_NO_ROUTE, 0, "reply from stage 0");
	d.flags = FERRY_F_RESPONSE;
	d.status = 200;
	refused(r, &A, &d, sizeof(d), FERRY_DROP_NOT_ALLOWED, "answer from stage 0");
	expect_error(&G, &d, FERRY_ST_NO_ROUTE, 0, "answer from stage 0");

	/* Injection: the gateway's stage is REPLY, edge (REPLY -> 0). */
	d = mkdesc(0);
	d.reply_to = G.id.instance_id;
	CHECK(send_desc(G.fd, &d) == 0, "gateway inject failed");
	CHECK(recv_desc(A.fd, &got, 500) && got.from_stage == FERRY_STAGE_REPLY &&
	      got.hop_count == 1, "entry stage did not get the request");

	/* Injection into a stage it may not enter fails back to itself. */
	d = mkdesc(1);
	d.reply_to = G.id.instance_id;
	refused(r, &G, &d, sizeof(d), FERRY_DROP_NOT_ALLOWED, "bad injection");
	expect_error(&G, &d, FERRY_ST_NO_ROUTE, FERRY_STAGE_REPLY, "bad injection");
	CHECK(quiet(B.fd), "bad injection delivered");
}

static void test_batch(struct ferry_router *r)
{
	struct ferry_desc two[2] = { mkdesc(1), mkdesc(1) }, got[2];
	ssize_t n = 0, m;
	int e;

	/* Two descriptors in one sendmsg are judged one at a time. */
	e = send_buf(A.fd, two, sizeof(two));
	CHECK(e == 0, "batched send: %s", strerror(e));
	while (n < (ssize_t)sizeof(got) &&
	       (m = recv_buf(B.fd, (char *)got + n, sizeof(got) - n, 500)) > 0)
		n += m;
	CHECK(n == sizeof(got) && got[0].request_id == two[0].request_id &&
	      got[1].request_id == two[1].request_id &&
	      got[0].hop_count == 1 && got[1].hop_count == 1,
	      "batch: got %zd bytes", n);

	/* Good one then a bad one: each gets its own verdict. */
	two[0] = mkdesc(1);
	two[1] = mkdesc(1);
	two[1].magic = 0;
	refused(r, &A, two, sizeof(two), FERRY_DROP_MALFORMED, "good+bad batch");
	CHECK(recv_desc(B.fd, &got[0], 500) &&
	      got[0].request_id == two[0].request_id,
	      "batch good+bad: good one not delivered");
	CHECK(quiet(B.fd), "batch good+bad: bad one delivered");
	expect_bounce(&A, &two[1], sizeof(two[1]), "batch good+bad");
}

static void test_api(struct ferry_router *r)
{
	struct ferry_ident id = { .instance_id = 0, .chain_id = CHAIN,
				  .stage = 0, .role = FERRY_ROLE_INSTANCE };
	uint32_t inst[FERRY_MAX_REPLICAS + 1], w[FERRY_MAX_REPLICAS + 1];
	int i;

	for (i = 0; i <= FERRY_MAX_REPLICAS; i++) {
		inst[i] = 1;
		w[i] = 1;
	}
	CHECK(ferry_router_add_endpoint(r, A.fd, &id) == -EINVAL, "id 0");
	id.instance_id = FERRY_MAX_INSTANCES;
	CHECK(ferry_router_add_endpoint(r, A.fd, &id) == -EINVAL, "id too big");
	CHECK(ferry_router_set_route(r, CHAIN, 5, inst, w,
				     FERRY_MAX_REPLICAS + 1) == -E2BIG,
	      "too many replicas");
	CHECK(ferry_router_read_counters(r, FERRY_MAX_INSTANCES, NULL) == -EINVAL,
	      "read_counters bounds");
}

/* A socket the router does not know is left alone (plain TCP). */
static void test_bystander(void)
{
	char buf[8];
	int a, b;

	if (tcp_pair(&a, &b)) {
		CHECK(0, "tcp_pair");
		return;
	}
	CHECK(send_buf(a, "hello", 5) == 0 && recv_buf(b, buf, sizeof(buf), 500) == 5,
	      "unregistered socket disturbed");
	close(a);
	close(b);
}

static void test_reuse(struct ferry_router *r, const char *obj,
		       const char *pin_dir)
{
	struct ferry_router r2, r3;
	struct ferry_desc d, got;
	char err[512] = "";
	int e;

	e = ferry_router_open(&r2, obj, pin_dir, 0, err, sizeof(err));
	CHECK(e == 0, "second open: %s", err);
	if (e)
		return;
	CHECK(r2.reused == 1, "second open did not reuse");
	CHECK(r2.attach == r->attach, "attach kind %d vs %d", r2.attach, r->attach);

	ferry_router_close(r);
	d = mkdesc(1);
	CHECK(send_desc(A.fd, &d) == 0 && recv_desc(B.fd, &got, 500),
	      "routing broke after closing the first handle");
	CHECK(ctr(&r2, B.id.instance_id).rx_msgs > 0, "counters via reused handle");

	/* No handle at all: the pins alone keep the router attached. */
	ferry_router_close(&r2);
	d = mkdesc(1);
	CHECK(send_desc(A.fd, &d) == 0 && recv_desc(B.fd, &got, 500),
	      "routing broke with no handle open");

	/* Without an object file, reuse is still possible. */
	e = ferry_router_open(&r3, NULL, pin_dir, 0, err, sizeof(err));
	CHECK(e == 0 && r3.reused, "reuse without object: %s", err);
	*r = r3;
}

/* The bpf_prog_attach fallback: turn a fresh router's link into a legacy
 * attachment, then check a reopen recognises and reuses it. */
static void test_legacy(const char *obj)
{
	struct ferry_router r, r2;
	struct ep L1, L2;
	struct ferry_desc d = mkdesc(1), got;
	char dir[128], path[160], err[512] = "";
	uint32_t id = 2, w = 1;

	snprintf(dir, sizeof(dir), "/sys/fs/bpf/ferry-test-%d-legacy", getpid());
	if (ferry_router_open(&r, obj, dir, 1, err, sizeof(err))) {
		CHECK(0, "legacy: open: %s", err);
		return;
	}
	snprintf(path, sizeof(path), "%s/ferry_msg_router_link", dir);
	unlink(path);
	close(r.link_fd);
	r.link_fd = -1;
	CHECK(bpf_prog_attach(r.prog_fd, r.socks_fd, BPF_SK_MSG_VERDICT, 0) == 0,
	      "legacy: prog_attach: %s", strerror(errno));
	ferry_router_close(&r);

	CHECK(ferry_router_open(&r2, NULL, dir, 0, err, sizeof(err)) == 0 &&
	      r2.reused && r2.attach == FERRY_ATTACH_LEGACY && r2.link_fd < 0,
	      "legacy: not reused as legacy: %s", err);
	if (r2.prog_fd >= 0 &&
	    ep_add(&r2, &L1, 1, 0, FERRY_ROLE_INSTANCE) == 0 &&
	    ep_add(&r2, &L2, 2, 1, FERRY_ROLE_INSTANCE) == 0 &&
	    ferry_router_set_route(&r2, CHAIN, 1, &id, &w, 1) == 0 &&
	    ferry_router_allow(&r2, CHAIN, 0, 1, 1) == 0) {
		CHECK(send_desc(L1.fd, &d) == 0 && recv_desc(L2.fd, &got, 500) &&
		      got.hop_count == 1, "legacy: not routed");
		ep_close(&L1);
		ep_close(&L2);
	} else {
		CHECK(0, "legacy: setup");
	}
	ferry_router_close(&r2);
	CHECK(ferry_router_unpin(dir) == 0, "legacy: unpin");
}

/* Unpinning detaches sockets that are still registered: they fall back to
 * plain TCP instead of staying routed by an unreachable router. */
static void test_unpin_detaches(const char *pin_dir)
{
	struct ferry_desc d = mkdesc(1), got;

	CHECK(ferry_router_unpin(pin_dir) == 0, "unpin");
	CHECK(send_desc(A.fd, &d) == 0, "send after unpin");
	CHECK(quiet(B.fd), "still routed after unpin");
	CHECK(recv_desc(A.peer, &got, 500) && got.request_id == d.request_id,
	      "after unpin the descriptor should travel as plain TCP");
}

static volatile sig_atomic_t profs;
static void on_prof(int sig) { (void)sig; profs++; }

struct sampler {
	pthread_t target;
	volatile int stop;
};

/* What V8's profiler does: another thread signals the loader every 100 us. */
static void *sample(void *arg)
{
	struct sampler *s = arg;
	struct timespec gap = { 0, 100 * 1000 };

	while (!s->stop) {
		pthread_kill(s->target, SIGPROF);
		nanosleep(&gap, NULL);
	}
	return NULL;
}

/* A loader under a sampling profiler (`node --cpu-prof`) must still load:
 * the verifier abandons a program with EAGAIN whenever a signal is pending,
 * so without holding signals back the router was reported "rejected" at a
 * random instruction and ferryd fell back to the relay. */
static void test_load_under_signals(const char *obj)
{
	struct ferry_router r;
	struct sigaction sa = { .sa_handler = on_prof }, old;
	struct sampler s = { .target = pthread_self() };
	pthread_t th;
	char dir[128], err[512] = "";
	int e;

	snprintf(dir, sizeof(dir), "/sys/fs/bpf/ferry-test-%d-sig", getpid());
	sigaction(SIGPROF, &sa, &old);
	pthread_create(&th, NULL, sample, &s);
	e = ferry_router_open(&r, obj, dir, 1, err, sizeof(err));
	s.stop = 1;
	pthread_join(th, NULL);
	sigaction(SIGPROF, &old, NULL);
	CHECK(e == 0, "load while signalled every 100 us: %s", err);
	CHECK(profs > 0, "the sampler never signalled");
	if (e == 0)
		ferry_router_close(&r);
	CHECK(ferry_router_unpin(dir) == 0, "signals: unpin");
}

static void test_errors(const char *obj)
{
	struct ferry_router r;
	char dir[128], err[512];
	int e;

	snprintf(dir, sizeof(dir), "/sys/fs/bpf/ferry-test-%d-x", getpid());
	e = ferry_router_open(&r, "/nonexistent/sk_msg_router.bpf.o", dir, 0,
			      err, sizeof(err));
	CHECK(e == -ENOENT && strstr(err, "npm run setup"), "missing obj: %d %s",
	      e, err);
	printf("  missing object -> %s\n", err);
	ferry_router_unpin(dir);

	e = ferry_router_open(&r, obj, "/tmp/ferry-not-bpffs", 0, err, sizeof(err));
	CHECK(e < 0 && strstr(err, "mount -t bpf"), "not bpffs: %d %s", e, err);
	printf("  not bpffs -> %s\n", err);
}

int main(int argc, char **argv)
{
	struct ferry_router r;
	char pin_dir[128], err[512] = "";
	struct stat st;
	int e, setup = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s <sk_msg_router.bpf.o>\n", argv[0]);
		return 2;
	}
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/ferry-test-%d", getpid());
	e = ferry_router_open(&r, argv[1], pin_dir, 1, err, sizeof(err));
	if (e) {
		fprintf(stderr, "ferry_router_open: %s (%s)\n", err, strerror(-e));
		return 1;
	}
	printf("loaded, attach=%s\n",
	       r.attach == FERRY_ATTACH_LINK ? "link" : "legacy");

	setup |= ep_add(&r, &A, 1, 0, FERRY_ROLE_INSTANCE);
	setup |= ep_add(&r, &B, 2, 1, FERRY_ROLE_INSTANCE);
	setup |= ep_add(&r, &C, 3, 1, FERRY_ROLE_INSTANCE);
	setup |= ep_add(&r, &X, 4, 2, FERRY_ROLE_INSTANCE);
	setup |= ep_add(&r, &U, 5, 0, FERRY_ROLE_INSTANCE);
	setup |= ep_add(&r, &D, 6, 3, FERRY_ROLE_INSTANCE);
	setup |= ep_add(&r, &E, 7, 1, FERRY_ROLE_INSTANCE);
	setup |= ep_add(&r, &G, 10, FERRY_STAGE_REPLY, FERRY_ROLE_GATEWAY);
	setup |= route1(&r, 0, A.id.instance_id);
	setup |= route1(&r, 1, B.id.instance_id);
	setup |= route1(&r, 2, X.id.instance_id);
	setup |= route1(&r, 3, D.id.instance_id);
	setup |= ferry_router_allow(&r, CHAIN, 0, 1, 1);
	setup |= ferry_router_allow(&r, CHAIN, 0, 3, 1);
	setup |= ferry_router_allow(&r, CHAIN, 1, FERRY_STAGE_REPLY, 1);
	setup |= ferry_router_allow(&r, CHAIN, FERRY_STAGE_REPLY, 0, 1);
	CHECK(setup == 0, "setup failed");

	if (!setup) {
		printf("(a) delivery\n");
		test_deliver(&r);
		printf("(b) weights\n");
		test_weights(&r);
		test_split(&r);
		printf("    consistent-hash rings\n");
		test_ring(&r);
		printf("(c) not allowed\n");
		test_not_allowed(&r);
		printf("(d) refusals and drops\n");
		test_drops(&r);
		printf("    replies and injection\n");
		test_reply(&r);
		printf("    batches, API checks\n");
		test_batch(&r);
		test_api(&r);
		test_bystander();
		printf("(e) reuse\n");
		test_reuse(&r, argv[1], pin_dir);
		test_legacy(argv[1]);
		test_errors(argv[1]);
		test_load_under_signals(argv[1]);
		test_unpin_detaches(pin_dir);
	}

	ep_close(&A);
	ep_close(&B);
	ep_close(&C);
	ep_close(&X);
	ep_close(&U);
	ep_close(&D);
	ep_close(&E);
	ep_close(&G);
	ferry_router_close(&r);
	CHECK(ferry_router_unpin(pin_dir) == 0, "unpin");
	CHECK(stat(pin_dir, &st) && errno == ENOENT, "pin dir left behind");

	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
