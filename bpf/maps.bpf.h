/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Maps of ferry's SK_MSG router. Every map is pinned by name under the
 * loader's pin root (pin_root_path), so a reload or a second process reuses
 * the same maps, and with them the routing state the control plane wrote.
 * Key and value layouts come from ferry/abi.h, shared with userspace.
 */
#ifndef FERRY_MAPS_BPF_H
#define FERRY_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "ferry/abi.h"

/* Endpoint sockets by instance id; the redirect target of every message.
 * The verdict program is attached to this map, so it runs for exactly the
 * sockets registered here. The value is __u64 so a userspace lookup returns
 * the socket cookie (a __u32 value would make lookups fail with ENOSPC);
 * updates from userspace pass the socket fd in it. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, FERRY_MAX_INSTANCES);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ferry_socks SEC(".maps");

/* (chain, stage) -> replicas serving it and their weights. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ferry_route_key);
	__type(value, struct ferry_route);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ferry_routes SEC(".maps");

/* (chain, stage) -> the stage's consistent-hash ring, for stages whose
 * balance policy is consistent-hash: a request carrying a key (abi.h,
 * FERRY_REQUEST_KEY) goes to the owner of the key's point, so a key keeps
 * its instance while the stage's membership stays the same. ferryd writes
 * a ring beside the route, from the same live targets; a stage without one
 * is picked by weight. Per-message state in the kernel because weights,
 * which ferryd rewrites every tick, cannot pin a key to an instance. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ferry_route_key);
	__type(value, struct ferry_ring);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ferry_rings SEC(".maps");

/* Edges of each chain's graph a message may take; presence means allowed,
 * the __u8 value is always 1. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ferry_allow_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ferry_allow SEC(".maps");

/* Socket -> owner identity, as socket-local storage.
 *
 * The ABI describes this as "keyed by socket cookie", but SK_MSG programs may
 * not call bpf_get_socket_cookie() (the verifier rejects helper #46 for this
 * program type, checked on 6.18), while bpf_sk_storage_get() on msg->sk is
 * allowed. Socket storage is also the better fit: the identity lives and dies
 * with the socket, so a closed endpoint can never leave a stale identity that
 * a later socket could inherit. Userspace addresses an entry by the socket's
 * fd (key type int); the kernel resolves it to the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required for SK_STORAGE */
	__type(key, int);
	__type(value, struct ferry_ident);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ferry_idents SEC(".maps");

/* Instance ids allowed to receive FERRY_STAGE_REPLY messages. Kept apart from
 * ferry_idents so a descriptor's reply_to cannot aim a reply at an ordinary
 * function instance. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ferry_gateways SEC(".maps");

/* Per-instance traffic and drop counters, indexed by instance id (0 =
 * unknown sender). Per-CPU so the hot path never bounces a cache line
 * between cores; userspace sums the CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FERRY_MAX_INSTANCES);
	__type(key, __u32);
	__type(value, struct ferry_counters);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ferry_counters SEC(".maps");

#endif /* FERRY_MAPS_BPF_H */
