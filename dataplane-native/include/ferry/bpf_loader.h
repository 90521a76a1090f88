/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loads, pins and programs ferry's SK_MSG router (bpf/sk_msg_router.bpf.c).
 *
 * Everything is pinned under one bpffs directory (FERRY_PIN_DIR_DEFAULT) so
 * routing survives a restart of the process that loaded it: a later
 * ferry_router_open() on the same directory reuses the pinned program, maps
 * and attachment instead of loading again.
 *
 * All functions return 0 / a non-negative value on success and a negative
 * errno on failure; ferry_router_strerror-style detail is written to the
 * caller's err buffer when one is given.
 */
#ifndef FERRY_BPF_LOADER_H
#define FERRY_BPF_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include "abi.h"

/* How the verdict program is attached to the sockhash. */
enum ferry_attach_kind {
	FERRY_ATTACH_NONE = 0,
	FERRY_ATTACH_LINK = 1,   /* bpf_link_create(BPF_SK_MSG_VERDICT), link pinned */
	FERRY_ATTACH_LEGACY = 2, /* bpf_prog_attach fallback (lives with the map) */
};

/* Open file descriptors of the pinned objects; no other state. */
struct ferry_router {
	int prog_fd;
	int socks_fd;    /* ferry_socks: SOCKHASH instance id -> socket */
	int routes_fd;   /* ferry_routes */
	int allow_fd;    /* ferry_allow */
	int idents_fd;   /* ferry_idents: SK_STORAGE, socket fd -> ferry_ident */
	int gateways_fd; /* ferry_gateways: instance id -> 1 (may receive replies) */
	int counters_fd; /* ferry_counters: PERCPU_ARRAY */
	int rings_fd;    /* ferry_rings: consistent-hash rings by (chain, stage) */
	int link_fd;     /* -1 with FERRY_ATTACH_LEGACY */
	enum ferry_attach_kind attach;
	int reused;      /* 1 when everything was found pinned and reused */
};

/*
 * Open the router pinned at pin_dir, or load obj_path, pin it there and
 * attach it. force_reload unpins and loads afresh (after an upgrade).
 */
int ferry_router_open(struct ferry_router *r, const char *obj_path,
		      const char *pin_dir, int force_reload,
		      char *err, size_t errlen);
/* Close the fds; pinned objects stay (routing keeps working). */
void ferry_router_close(struct ferry_router *r);
/* Remove every pinned object under pin_dir (detaches the router). */
int ferry_router_unpin(const char *pin_dir);

/* Register a connected TCP socket as endpoint instance_id. */
int ferry_router_add_endpoint(struct ferry_router *r, int sock_fd,
			      const struct ferry_ident *id);
/* Forget an endpoint (its socket leaves the sockhash, identity removed). */
int ferry_router_remove_endpoint(struct ferry_router *r, int sock_fd,
				 uint32_t instance_id);

int ferry_router_set_route(struct ferry_router *r, uint32_t chain_id,
			   uint16_t stage, const uint32_t *instances,
			   const uint32_t *weights, uint32_t count);
int ferry_router_delete_route(struct ferry_router *r, uint32_t chain_id,
			      uint16_t stage);
/* A stage's consistent-hash ring: count points, ascending (equal points are
 * refused: they would make the owner of a key depend on the search), each
 * owned by a valid instance id. */
int ferry_router_set_ring(struct ferry_router *r, uint32_t chain_id,
			  uint16_t stage, const uint32_t *points,
			  const uint32_t *instances, uint32_t count);
/* The stage is picked by weight again (0 also when it had no ring). */
int ferry_router_delete_ring(struct ferry_router *r, uint32_t chain_id,
			     uint16_t stage);
int ferry_router_allow(struct ferry_router *r, uint32_t chain_id,
		       uint16_t from_stage, uint16_t to_stage, int allowed);

/* Sum the per-CPU counters of one instance into *out. */
int ferry_router_read_counters(struct ferry_router *r, uint32_t instance_id,
			       struct ferry_counters *out);
/* Zero one instance's counters (when an id is reused). */
int ferry_router_reset_counters(struct ferry_router *r, uint32_t instance_id);

#endif /* FERRY_BPF_LOADER_H */
