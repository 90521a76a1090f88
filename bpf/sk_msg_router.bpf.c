// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * ferry's SK_MSG router.
 *
 * Every endpoint (function instance or gateway) owns one connected TCP
 * socket registered in ferry_socks. Endpoints never address each other: they
 * send a struct ferry_desc naming a (chain, stage) and this program, run by
 * the kernel inside the sender's sendmsg(), decides who gets it and moves
 * the bytes straight into that endpoint's socket receive queue
 * (BPF_F_INGRESS). The descriptor never touches the TCP stack.
 *
 * The sender's chain and stage come from ferry_idents (socket-local storage
 * of the sending socket), never from the descriptor, so a compromised
 * instance cannot impersonate another stage or reach another chain.
 *
 * Why registered senders are never dropped: after an SK_DROP verdict the
 * kernel keeps psock->eval at __SK_DROP and never runs the program again for
 * that socket (tcp_bpf_send_verdict() only resets it after PASS/REDIRECT;
 * observed on 6.18). One SK_DROP therefore makes every later send() of the
 * socket fail with EACCES until it is re-registered. So a message the router
 * refuses is handed back instead, and send() succeeds:
 *   - a routing failure (not allowed, no route, dead peer, hop limit) turns
 *     into an error reply (FERRY_F_ERROR, status, length 0) delivered to the
 *     gateway in desc.reply_to, so the caller learns at once; if that gateway
 *     cannot take it, the error goes back to the sender with reply_to = 0;
 *   - a malformed or foreign-chain message goes back to the sender unchanged
 *     (its receive path skips or rejects it).
 * Only a socket with no identity gets SK_DROP, and staying cut off is right
 * for it. Every refusal is counted in ferry_counters.drops against the sender
 * (instance 0 when unknown).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "ferry/abi.h"
#include "maps.bpf.h"
#include "pick.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * SK_MSG programs run in the sender's process context with only migration
 * disabled, so two tasks on one CPU can interleave a read-modify-write of the
 * same per-CPU slot. A locked add on a CPU-local cache line is cheap and
 * keeps the counters exact.
 */
static __always_inline struct ferry_counters *counters(__u32 id)
{
	return bpf_map_lookup_elem(&ferry_counters, &id);
}

static __always_inline void count_drop(__u32 id, __u32 reason)
{
	struct ferry_counters *c = counters(id);

	if (c && reason < FERRY_DROP_MAX)
		__sync_fetch_and_add(&c->drops[reason], 1);
}

static __always_inline void count_rx(__u32 id, __u32 len)
{
	struct ferry_counters *c = counters(id);

	if (c) {
		__sync_fetch_and_add(&c->rx_msgs, 1);
		__sync_fetch_and_add(&c->rx_bytes, len);
	}
}

/* Queue the message on instance id's own socket. SK_DROP when nothing is
 * registered under id, which is also the case once its socket closed: the
 * kernel unlinks a socket from every sockhash when it is destroyed. */
static __always_inline long deliver(struct sk_msg_md *msg, __u32 id)
{
	return bpf_msg_redirect_hash(msg, &ferry_socks, &id, BPF_F_INGRESS);
}

/* Hand a refused message back to its (registered) sender. */
static __always_inline int bounce(struct sk_msg_md *msg, __u32 sender)
{
	if (deliver(msg, sender) != SK_PASS)
		return SK_DROP; /* sender not in ferry_socks: cannot happen */
	count_rx(sender, 0);
	return SK_PASS;
}

/*
 * The descriptor is well formed and from a known sender but cannot go where
 * it asked: fail the request the way an instance would (instance.h), with an
 * error reply to the gateway waiting for it. length becomes 0 because the
 * payload is the request, not an error text; the buffer still travels with
 * the descriptor, so whoever receives it frees it.
 *
 * When no gateway can take it, the error goes back to the sender with
 * reply_to = 0, meaning "nobody is waiting": the instance runtime then frees
 * the buffer instead of answering again, which with a dead or bogus reply_to
 * would bounce straight back here and loop forever.
 */
static __always_inline int fail_request(struct sk_msg_md *msg,
					struct ferry_desc *desc,
					const struct ferry_ident *ident,
					__u32 reason, __u16 status,
					__u32 dead)
{
	__u32 sender = ident->instance_id, gw = desc->reply_to;

	count_drop(sender, reason);
	/* An error reply carries an enum ferry_status, never an HTTP one. */
	desc->flags = (desc->flags & ~FERRY_F_RESPONSE) | FERRY_F_ERROR;
	desc->status = status;
	desc->length = 0;
	desc->stage = FERRY_STAGE_REPLY;
	desc->from_stage = ident->stage;

	if (gw != dead && bpf_map_lookup_elem(&ferry_gateways, &gw) &&
	    deliver(msg, gw) == SK_PASS) {
		count_rx(gw, 0);
		return SK_PASS;
	}
	desc->reply_to = 0;
	return bounce(msg, sender);
}

/* The target of a message for (chain, stage): by the stage's ring when the
 * request carries a key and the stage hashes on it (ferry_rings), else by
 * weight (pick.bpf.h). 0: no target. */
static __always_inline __u32 pick_target(const struct ferry_route_key *rkey,
					 const struct ferry_desc *desc)
{
	const struct ferry_route *rt;
	const struct ferry_ring *ring;
	__u32 key = FERRY_REQUEST_KEY(desc->request_id), target = 0;

	if (key) {
		ring = bpf_map_lookup_elem(&ferry_rings, rkey);
		if (ring)
			target = ferry_ring_pick(ring, key);
	}
	if (!target) {
		rt = bpf_map_lookup_elem(&ferry_routes, rkey);
		if (rt)
			target = ferry_pick(rt, bpf_get_prandom_u32());
	}
	return target;
}

SEC("sk_msg")
int ferry_msg_router(struct sk_msg_md *msg)
{
	struct ferry_allow_key allow = {};
	struct ferry_route_key rkey = {};
	const struct ferry_ident *ident;
	struct ferry_counters *c;
	struct ferry_desc *desc;
	void *data, *data_end;
	__u32 sender, target, len;

	/* Not bpf_get_socket_cookie(): SK_MSG may not call it (see
	 * ferry_idents in maps.bpf.h). Flags 0: never create an identity. */
	ident = bpf_sk_storage_get(&ferry_idents, msg->sk, 0, 0);
	sender = ident ? ident->instance_id : 0;

	if (msg->size < FERRY_DESC_SIZE)
		goto malformed;

	/* Only the first scatterlist element is directly readable; a
	 * descriptor straddling two page fragments must be made linear. */
	data = (void *)(long)msg->data;
	data_end = (void *)(long)msg->data_end;
	if (data + FERRY_DESC_SIZE > data_end) {
		if (bpf_msg_pull_data(msg, 0, FERRY_DESC_SIZE, 0))
			goto malformed;
		data = (void *)(long)msg->data;
		data_end = (void *)(long)msg->data_end;
		if (data + FERRY_DESC_SIZE > data_end)
			goto malformed;
	}
	desc = data;

	/* Judge exactly one descriptor per verdict: if a sender batches
	 * several into one sendmsg(), the program runs again for the rest,
	 * each routed on its own. */
	bpf_msg_apply_bytes(msg, FERRY_DESC_SIZE);

	if (desc->magic != FERRY_DESC_MAGIC ||
	    desc->version != FERRY_DESC_VERSION)
		goto malformed;
	if (!ident) {
		count_drop(0, FERRY_DROP_UNKNOWN_SENDER);
		return SK_DROP;
	}
	/* reply_to and the payload offset mean nothing in this chain, so
	 * not even an error reply can be built from it. */
	if (desc->chain_id != ident->chain_id) {
		count_drop(sender, FERRY_DROP_CHAIN_MISMATCH);
		return bounce(msg, sender);
	}
	if (desc->hop_count >= FERRY_MAX_HOPS)
		return fail_request(msg, desc, ident, FERRY_DROP_HOP_LIMIT,
				    FERRY_ST_NO_ROUTE, 0);

	/* Gateways have stage FERRY_STAGE_REPLY, so injection is the edge
	 * (chain, REPLY, entry) and answering the caller is (chain, s, REPLY):
	 * one allow-list covers both. */
	allow.chain_id = ident->chain_id;
	allow.from_stage = ident->stage;
	allow.to_stage = desc->stage;
	if (!bpf_map_lookup_elem(&ferry_allow, &allow))
		return fail_request(msg, desc, ident, FERRY_DROP_NOT_ALLOWED,
				    FERRY_ST_NO_ROUTE, 0);

	if (desc->stage == FERRY_STAGE_REPLY) {
		/* reply_to comes from the descriptor, so it may only name an
		 * endpoint the control plane marked as a gateway. */
		target = desc->reply_to;
		if (!bpf_map_lookup_elem(&ferry_gateways, &target))
			return fail_request(msg, desc, ident, FERRY_DROP_NO_ROUTE,
					    FERRY_ST_NO_ROUTE, 0);
	} else {
		rkey.chain_id = ident->chain_id;
		rkey.stage = desc->stage;
		target = pick_target(&rkey, desc);
		if (!target)
			return fail_request(msg, desc, ident, FERRY_DROP_NO_ROUTE,
					    FERRY_ST_NO_ROUTE, 0);
	}

	if (deliver(msg, target) != SK_PASS)
		return fail_request(msg, desc, ident, FERRY_DROP_DEAD_PEER,
				    FERRY_ST_INSTANCE_DIED, target);

	/* The redirect happens after the program returns, so these writes
	 * travel with the message: the trusted origin, so the receiver need
	 * not believe the sender, and the hop for the loop guard. */
	desc->from_stage = ident->stage;
	desc->hop_count += 1;
	len = desc->length;

	c = counters(sender);
	if (c) {
		__sync_fetch_and_add(&c->tx_msgs, 1);
		__sync_fetch_and_add(&c->tx_bytes, len);
	}
	count_rx(target, len);
	return SK_PASS;

malformed:
	count_drop(sender, FERRY_DROP_MALFORMED);
	/* Back to a registered sender as is: its receive path resynchronises
	 * on the magic and counts the bytes as garbage. */
	return ident ? bounce(msg, sender) : SK_DROP;
}
