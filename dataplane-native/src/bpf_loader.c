// SPDX-License-Identifier: Apache-2.0
/*
 * Loader of ferry's SK_MSG router (bpf/sk_msg_router.bpf.c), libbpf 1.1.
 *
 * Layout under pin_dir:
 *   ferry_socks ferry_routes ferry_allow ferry_idents ferry_gateways
 *   ferry_counters          maps, pinned by name by libbpf (LIBBPF_PIN_BY_NAME)
 *   ferry_msg_router        the verdict program
 *   ferry_msg_router_link   its sockhash attachment (absent with the legacy
 *                           bpf_prog_attach fallback, which lives with the map)
 *
 * Identity map: ferry_idents is BPF_MAP_TYPE_SK_STORAGE, not a hash keyed by
 * socket cookie as abi.h describes, because SK_MSG programs may not call
 * bpf_get_socket_cookie(). From userspace an entry is addressed by the
 * socket's fd; the value is struct ferry_ident as in the ABI.
 */
#define _GNU_SOURCE
#include "ferry/bpf_loader.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define PROG_NAME     "ferry_msg_router"
#define PIN_PROG      "ferry_msg_router"
#define PIN_LINK      "ferry_msg_router_link"
#define VERIFIER_LOG  (256 * 1024)

/* What each pinned map must look like for this build to reuse it; a
 * mismatch means the pins come from a build with another ABI. */
struct map_spec {
	const char *name;
	size_t fd_off;
	enum bpf_map_type type;
	__u32 key_size;
	__u32 value_size;
};

#define MAP_SPEC(n, field, t, k, v) \
	{ n, offsetof(struct ferry_router, field), t, k, v }

static const struct map_spec maps[] = {
	MAP_SPEC("ferry_socks", socks_fd, BPF_MAP_TYPE_SOCKHASH,
		 sizeof(__u32), sizeof(__u64)),
	MAP_SPEC("ferry_routes", routes_fd, BPF_MAP_TYPE_HASH,
		 sizeof(struct ferry_route_key), sizeof(struct ferry_route)),
	MAP_SPEC("ferry_allow", allow_fd, BPF_MAP_TYPE_HASH,
		 sizeof(struct ferry_allow_key), sizeof(__u8)),
	MAP_SPEC("ferry_idents", idents_fd, BPF_MAP_TYPE_SK_STORAGE,
		 sizeof(int), sizeof(struct ferry_ident)),
	MAP_SPEC("ferry_gateways", gateways_fd, BPF_MAP_TYPE_HASH,
		 sizeof(__u32), sizeof(__u8)),
	MAP_SPEC("ferry_counters", counters_fd, BPF_MAP_TYPE_PERCPU_ARRAY,
		 sizeof(__u32), sizeof(struct ferry_counters)),
	MAP_SPEC("ferry_rings", rings_fd, BPF_MAP_TYPE_HASH,
		 sizeof(struct ferry_route_key), sizeof(struct ferry_ring)),
};
#define NR_MAPS (sizeof(maps) / sizeof(maps[0]))

/* Userspace reads per-CPU values with an 8-byte stride per CPU. */
_Static_assert(sizeof(struct ferry_counters) % 8 == 0,
	       "per-CPU counters need 8-byte aligned size");

static int *map_fd(struct ferry_router *r, const struct map_spec *m)
{
	return (int *)((char *)r + m->fd_off);
}

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void router_init(struct ferry_router *r)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	r->prog_fd = -1;
	r->link_fd = -1;
	for (i = 0; i < NR_MAPS; i++)
		*map_fd(r, &maps[i]) = -1;
	r->attach = FERRY_ATTACH_NONE;
}

void ferry_router_close(struct ferry_router *r)
{
	size_t i;

	if (!r)
		return;
	if (r->prog_fd >= 0)
		close(r->prog_fd);
	if (r->link_fd >= 0)
		close(r->link_fd);
	for (i = 0; i < NR_MAPS; i++)
		if (*map_fd(r, &maps[i]) >= 0)
			close(*map_fd(r, &maps[i]));
	router_init(r);
}

static int pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int unlink_pin(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int err = pin_path(path, sizeof(path), dir, name);

	if (err)
		return err;
	return unlink(path) && errno != ENOENT ? -errno : 0;
}

/*
 * Take every socket out of the pinned ferry_socks. Unpinning alone does not
 * detach them: each registered socket holds the program, the program holds
 * its maps, so the old router would keep routing those sockets until they
 * close. Leaving the sockhash drops a socket's psock and makes it plain TCP.
 */
static int flush_socks(const char *pin_dir)
{
	char path[PATH_MAX];
	__u32 key;
	int fd, e = 0;

	if (pin_path(path, sizeof(path), pin_dir, "ferry_socks"))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* Always restart from the first key: deleting invalidates the
	 * iteration order of a hash. */
	while (bpf_map_get_next_key(fd, NULL, &key) == 0) {
		if (bpf_map_delete_elem(fd, &key) && errno != ENOENT) {
			e = -errno;
			break;
		}
	}
	close(fd);
	return e;
}

int ferry_router_unpin(const char *pin_dir)
{
	int err, first;
	size_t i;

	if (!pin_dir)
		pin_dir = FERRY_PIN_DIR_DEFAULT;
	first = flush_socks(pin_dir);
	/* Link next: dropping its last reference detaches the program
	 * before the maps it routes through go away. */
	err = unlink_pin(pin_dir, PIN_LINK);
	if (err && !first)
		first = err;
	err = unlink_pin(pin_dir, PIN_PROG);
	if (err && !first)
		first = err;
	for (i = 0; i < NR_MAPS; i++) {
		err = unlink_pin(pin_dir, maps[i].name);
		if (err && !first)
			first = err;
	}
	/* Leave the directory if someone put other things in it. */
	if (rmdir(pin_dir) && errno != ENOENT && errno != ENOTEMPTY && !first)
		first = -errno;
	return first;
}

/* ------------------------------------------------------------ pin dir */

/* The pins only outlive this process on bpffs; pinning into a plain
 * directory fails late and confusingly, so check the nearest existing
 * ancestor before creating anything. */
static int check_bpffs(const char *pin_dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct statfs st;
	char *slash;

	if (snprintf(path, sizeof(path), "%s", pin_dir) >= (int)sizeof(path)) {
		seterr(err, errlen, "pin dir too long: %s", pin_dir);
		return -ENAMETOOLONG;
	}
	for (;;) {
		if (statfs(path, &st) == 0)
			break;
		if (errno != ENOENT) {
			int e = -errno;

			seterr(err, errlen, "cannot inspect %s: %s", path,
			       strerror(-e));
			return e;
		}
		slash = strrchr(path, '/');
		if (!slash || slash == path) {
			strcpy(path, "/");
			if (statfs(path, &st))
				return -errno;
			break;
		}
		*slash = '\0';
	}
	if (st.f_type != BPF_FS_MAGIC) {
		seterr(err, errlen,
		       "bpffs not mounted at %s (pin dir %s): run `mount -t bpf bpf %s`",
		       path, pin_dir,
		       strcmp(path, "/sys/fs/bpf") == 0 ? path : "/sys/fs/bpf");
		return -ENODEV;
	}
	return 0;
}

/* Returns 1 when it created dir itself, 0 when dir existed, or -errno. */
static int mkdir_p(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	char *p = path;
	int e, created = 0;

	snprintf(path, sizeof(path), "%s", dir);
	do {
		p = strchr(p + 1, '/');
		if (p)
			*p = '\0';
		created = mkdir(path, 0700) == 0;
		if (!created && errno != EEXIST) {
			e = -errno;
			seterr(err, errlen, "cannot create pin dir %s: %s%s",
			       path, strerror(-e),
			       e == -EACCES || e == -EPERM ?
			       " (run as root or use fallback mode)" : "");
			return e;
		}
		if (p)
			*p = '/';
	} while (p);
	return created;
}

/* ------------------------------------------------------------ reuse */

static int check_map(int fd, const struct map_spec *m)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type != m->type || info.key_size != m->key_size ||
	    info.value_size != m->value_size)
		return -EPROTO;
	return 0;
}

static int prog_id(int fd, __u32 *id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.type != BPF_PROG_TYPE_SK_MSG)
		return -EPROTO;
	*id = info.id;
	return 0;
}

/* Is prog_id attached to the sockhash without a link (legacy attach)? */
static int legacy_attached(int socks_fd, __u32 id)
{
	__u32 ids[4], cnt = 4, flags = 0, i;

	if (bpf_prog_query(socks_fd, BPF_SK_MSG_VERDICT, 0, &flags, ids, &cnt))
		return 0;
	for (i = 0; i < cnt && i < 4; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

/*
 * Open everything already pinned under pin_dir. Returns 0 when the complete
 * router (maps, program and an attachment of that program) was found,
 * -ENOENT when something is missing and the caller should load, and another
 * negative errno on a real error (err filled).
 */
static int try_reuse(struct ferry_router *r, const char *pin_dir,
		     char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct bpf_link_info linfo = {};
	__u32 len = sizeof(linfo), pid = 0;
	size_t i;
	int fd, e;

	for (i = 0; i <= NR_MAPS; i++) {
		const char *name = i < NR_MAPS ? maps[i].name : PIN_PROG;

		if (pin_path(path, sizeof(path), pin_dir, name))
			return -ENAMETOOLONG;
		fd = bpf_obj_get(path);
		if (fd < 0) {
			e = -errno;
			if (e == -ENOENT)
				return -ENOENT;
			seterr(err, errlen, "cannot open pinned %s: %s%s", path,
			       strerror(-e), e == -EACCES || e == -EPERM ?
			       " (run as root or use fallback mode)" : "");
			return e;
		}
		if (i < NR_MAPS) {
			*map_fd(r, &maps[i]) = fd;
			e = check_map(fd, &maps[i]);
		} else {
			r->prog_fd = fd;
			e = prog_id(fd, &pid);
		}
		if (e == -EPROTO) {
			seterr(err, errlen,
			       "%s was pinned by an incompatible ferry build: reopen with force_reload (or remove %s)",
			       path, pin_dir);
			return e;
		}
		if (e) {
			seterr(err, errlen, "cannot inspect %s: %s", path,
			       strerror(-e));
			return e;
		}
	}

	if (pin_path(path, sizeof(path), pin_dir, PIN_LINK))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		/* A pinned link to some other program (a half-finished
		 * reload) does not count as our attachment. */
		if (bpf_obj_get_info_by_fd(fd, &linfo, &len) ||
		    linfo.prog_id != pid) {
			close(fd);
			return -ENOENT;
		}
		r->link_fd = fd;
		r->attach = FERRY_ATTACH_LINK;
		return 0;
	}
	if (legacy_attached(r->socks_fd, pid)) {
		r->attach = FERRY_ATTACH_LEGACY;
		return 0;
	}
	return -ENOENT;
}

/* ------------------------------------------------------------ load */

/* Last non-empty line of the verifier log: it names the rejected insn. */
static const char *log_tail(char *log)
{
	char *end = log + strlen(log), *line;

	while (end > log && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	/* Skip the "processed N insns" summary, it says nothing useful. */
	for (;;) {
		line = end;
		while (line > log && line[-1] != '\n')
			line--;
		if (strncmp(line, "processed ", 10) || line == log)
			return line;
		end = line - 1;
		*end = '\0';
	}
}

/*
 * bpf_object__load with every blockable signal held back. The verifier
 * gives up with EAGAIN whenever a signal is pending for the loading thread,
 * and libbpf retries only a few times: under a sampling profiler (SIGPROF
 * every millisecond, `node --cpu-prof`) or a burst of SIGCHLD from exiting
 * instances, a router that verifies fine was reported as rejected and
 * ferryd fell back to the relay. Held signals are delivered on restore.
 */
static int load_unsignalled(struct bpf_object *obj)
{
	sigset_t all, old;
	int e;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	e = bpf_object__load(obj);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return e;
}

static int load_error(int e, const char *obj_path, const char *pin_dir,
		      char *log, char *err, size_t errlen)
{
	/* The verifier also answers EACCES, so its log decides first; but an
	 * interrupted verification leaves a log that ends mid-program. */
	if (e == -EAGAIN || e == -EINTR)
		seterr(err, errlen,
		       "loading %s was interrupted by signals (%s) before the verifier finished: retry; if it persists, stop what is signalling ferryd",
		       obj_path, strerror(-e));
	else if (log && log[0])
		seterr(err, errlen, "verifier rejected %s: %s (rebuild with `make -C bpf`)",
		       obj_path, log_tail(log));
	else if (e == -EPERM || e == -EACCES)
		seterr(err, errlen,
		       "permission denied loading BPF (%s): run as root or use fallback mode",
		       obj_path);
	else
		seterr(err, errlen,
		       "loading %s failed: %s; if %s holds maps from an older build, reopen with force_reload",
		       obj_path, strerror(-e), pin_dir);
	return e;
}

static int attach(struct ferry_router *r, const char *pin_dir,
		  char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd, e;

	if (pin_path(path, sizeof(path), pin_dir, PIN_LINK))
		return -ENAMETOOLONG;
	/* A link (kernel >= 6.10 for sockmap) can be pinned and detaches
	 * cleanly when unpinned; the legacy attach stays until the map dies. */
	fd = bpf_link_create(r->prog_fd, r->socks_fd, BPF_SK_MSG_VERDICT, NULL);
	if (fd >= 0) {
		if (bpf_obj_pin(fd, path)) {
			e = -errno;
			close(fd);
			seterr(err, errlen, "cannot pin %s: %s", path,
			       strerror(-e));
			return e;
		}
		r->link_fd = fd;
		r->attach = FERRY_ATTACH_LINK;
		return 0;
	}
	if (bpf_prog_attach(r->prog_fd, r->socks_fd, BPF_SK_MSG_VERDICT, 0)) {
		e = -errno;
		seterr(err, errlen,
		       "cannot attach %s to ferry_socks: %s%s", PROG_NAME,
		       strerror(-e), e == -EPERM || e == -EACCES ?
		       " (run as root or use fallback mode)" :
		       e == -EBUSY ?
		       " (a process still holds the previous router's link: stop it or use force_reload)" :
		       "");
		return e;
	}
	r->attach = FERRY_ATTACH_LEGACY;
	return 0;
}

static int load(struct ferry_router *r, const char *obj_path,
		const char *pin_dir, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct bpf_program *prog;
	struct bpf_object *obj;
	char path[PATH_MAX];
	char *log;
	size_t i;
	int e, fd;

	if (!obj_path) {
		seterr(err, errlen,
		       "router not pinned at %s and no BPF object given: run `npm run setup`",
		       pin_dir);
		return -ENOENT;
	}
	if (access(obj_path, R_OK)) {
		e = -errno;
		seterr(err, errlen, "BPF object %s: %s: run `npm run setup`",
		       obj_path, strerror(-e));
		return e;
	}

	/* libbpf retries a failed load at log level 1 into this buffer, so
	 * the error can name the rejected instruction. */
	log = calloc(1, VERIFIER_LOG);
	if (log) {
		opts.kernel_log_buf = log;
		opts.kernel_log_size = VERIFIER_LOG;
	}
	obj = bpf_object__open_file(obj_path, &opts);
	if (!obj) {
		e = -errno;
		seterr(err, errlen, "cannot open BPF object %s: %s: run `npm run setup`",
		       obj_path, strerror(-e));
		free(log);
		return e;
	}
	/* Maps are created or, with LIBBPF_PIN_BY_NAME, reused from
	 * pin_dir: a reload keeps routes, identities and counters. */
	e = load_unsignalled(obj);
	if (e) {
		load_error(e, obj_path, pin_dir, log, err, errlen);
		goto out;
	}

	prog = bpf_object__find_program_by_name(obj, PROG_NAME);
	if (!prog) {
		e = -ENOENT;
		seterr(err, errlen, "%s has no program %s: run `npm run setup`",
		       obj_path, PROG_NAME);
		goto out;
	}
	/* The object's fds die with it; keep our own. */
	r->prog_fd = fcntl(bpf_program__fd(prog), F_DUPFD_CLOEXEC, 0);
	if (r->prog_fd < 0) {
		e = -errno;
		goto out;
	}
	for (i = 0; i < NR_MAPS; i++) {
		fd = bpf_object__find_map_fd_by_name(obj, maps[i].name);
		if (fd < 0) {
			e = -ENOENT;
			seterr(err, errlen, "%s has no map %s: run `npm run setup`",
			       obj_path, maps[i].name);
			goto out;
		}
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0) {
			e = -errno;
			goto out;
		}
		*map_fd(r, &maps[i]) = fd;
	}

	/* Replace whatever half-state a previous run left; unpinning the
	 * old link detaches it so the new one is not refused with EBUSY. */
	unlink_pin(pin_dir, PIN_LINK);
	unlink_pin(pin_dir, PIN_PROG);
	e = pin_path(path, sizeof(path), pin_dir, PIN_PROG);
	if (!e && bpf_obj_pin(r->prog_fd, path))
		e = -errno;
	if (e) {
		seterr(err, errlen, "cannot pin %s: %s", path, strerror(-e));
		goto out;
	}
	e = attach(r, pin_dir, err, errlen);
out:
	bpf_object__close(obj);
	free(log);
	return e;
}

int ferry_router_open(struct ferry_router *r, const char *obj_path,
		      const char *pin_dir, int force_reload,
		      char *err, size_t errlen)
{
	int e, created;

	if (err && errlen)
		err[0] = '\0';
	if (!r)
		return -EINVAL;
	router_init(r);
	if (!pin_dir || !pin_dir[0])
		pin_dir = FERRY_PIN_DIR_DEFAULT;
	if (pin_dir[0] != '/') {
		seterr(err, errlen, "pin dir must be absolute: %s", pin_dir);
		return -EINVAL;
	}

	e = check_bpffs(pin_dir, err, errlen);
	if (e)
		return e;
	if (force_reload) {
		e = ferry_router_unpin(pin_dir);
		if (e) {
			seterr(err, errlen, "cannot unpin the old router at %s: %s",
			       pin_dir, strerror(-e));
			return e;
		}
	}
	created = mkdir_p(pin_dir, err, errlen);
	if (created < 0)
		return created;

	if (!force_reload) {
		e = try_reuse(r, pin_dir, err, errlen);
		if (e == 0) {
			r->reused = 1;
			return 0;
		}
		ferry_router_close(r);
		if (e != -ENOENT)
			return e;
		if (err && errlen)
			err[0] = '\0';
	}

	e = load(r, obj_path, pin_dir, err, errlen);
	if (e) {
		ferry_router_close(r);
		/* libbpf already unpinned the maps it pinned; do not leave
		 * behind an empty directory this call created. */
		if (created)
			rmdir(pin_dir);
	}
	return e;
}

/* ------------------------------------------------------------ endpoints */

static int valid_id(uint32_t id)
{
	return id != 0 && id < FERRY_MAX_INSTANCES;
}

static int update(int fd, const void *key, const void *val, __u64 flags)
{
	return bpf_map_update_elem(fd, key, val, flags) ? -errno : 0;
}

static int delete(int fd, const void *key)
{
	return bpf_map_delete_elem(fd, key) && errno != ENOENT ? -errno : 0;
}

int ferry_router_add_endpoint(struct ferry_router *r, int sock_fd,
			      const struct ferry_ident *id)
{
	__u64 sock = (__u64)sock_fd;
	__u32 iid;
	__u8 one = 1;
	int e;

	if (!r || !id || sock_fd < 0 || !valid_id(id->instance_id) ||
	    (id->role != FERRY_ROLE_INSTANCE && id->role != FERRY_ROLE_GATEWAY))
		return -EINVAL;
	iid = id->instance_id;

	/* Identity before the sockhash: the program runs on a socket as soon
	 * as it is in ferry_socks, and its first message must already have
	 * an identity or it is dropped as an unknown sender. */
	e = update(r->idents_fd, &sock_fd, id, BPF_ANY);
	if (e)
		return e;
	/* Always write the gateway bit, so a reused id loses a stale one. */
	e = id->role == FERRY_ROLE_GATEWAY ?
		update(r->gateways_fd, &iid, &one, BPF_ANY) :
		delete(r->gateways_fd, &iid);
	if (!e)
		e = ferry_router_reset_counters(r, iid);
	/* Replaces (and so unlinks) any socket registered under this id. */
	if (!e)
		e = update(r->socks_fd, &iid, &sock, BPF_ANY);
	if (e) {
		delete(r->idents_fd, &sock_fd);
		if (id->role == FERRY_ROLE_GATEWAY)
			delete(r->gateways_fd, &iid);
	}
	return e;
}

int ferry_router_remove_endpoint(struct ferry_router *r, int sock_fd,
				 uint32_t instance_id)
{
	__u64 cookie = 0, cur;
	socklen_t len = sizeof(cookie);
	int e = 0, e2;

	if (!r || !valid_id(instance_id))
		return -EINVAL;

	/* The id may already belong to a newer socket (endpoint replaced
	 * before the old one was removed): only unregister our own. A
	 * userspace sockhash lookup yields the socket cookie. */
	if (sock_fd >= 0 &&
	    getsockopt(sock_fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) == 0 &&
	    bpf_map_lookup_elem(r->socks_fd, &instance_id, &cur) == 0 &&
	    cur != cookie)
		goto ident;
	/* Sockhash first: once out of it the socket neither sends through
	 * the router nor receives from it. */
	e = delete(r->socks_fd, &instance_id);
	e2 = delete(r->gateways_fd, &instance_id);
	if (!e)
		e = e2;
ident:
	/* A closed socket took its storage with it; nothing to do then. */
	if (sock_fd >= 0) {
		e2 = delete(r->idents_fd, &sock_fd);
		if (!e && e2 != -EBADF)
			e = e2;
	}
	return e;
}

/* ------------------------------------------------------------ routes */

int ferry_router_set_route(struct ferry_router *r, uint32_t chain_id,
			   uint16_t stage, const uint32_t *instances,
			   const uint32_t *weights, uint32_t count)
{
	struct ferry_route_key key = { .chain_id = chain_id, .stage = stage };
	struct ferry_route rt;
	__u64 total = 0;
	uint32_t i;

	if (!r || stage == FERRY_STAGE_REPLY || (count && !instances))
		return -EINVAL;
	if (count > FERRY_MAX_REPLICAS)
		return -E2BIG;
	memset(&rt, 0, sizeof(rt));
	for (i = 0; i < count; i++) {
		if (!valid_id(instances[i]))
			return -EINVAL;
		rt.instance[i] = instances[i];
		/* No weights: spread evenly. */
		rt.weight[i] = weights ? weights[i] : 1;
		total += rt.weight[i];
	}
	/* The program draws prandom % total_weight in 32 bits. */
	if (total > UINT32_MAX)
		return -EOVERFLOW;
	rt.count = count;
	rt.total_weight = (__u32)total;
	return update(r->routes_fd, &key, &rt, BPF_ANY);
}

int ferry_router_delete_route(struct ferry_router *r, uint32_t chain_id,
			      uint16_t stage)
{
	struct ferry_route_key key = { .chain_id = chain_id, .stage = stage };

	if (!r)
		return -EINVAL;
	return delete(r->routes_fd, &key);
}

int ferry_router_set_ring(struct ferry_router *r, uint32_t chain_id,
			  uint16_t stage, const uint32_t *points,
			  const uint32_t *instances, uint32_t count)
{
	struct ferry_route_key key = { .chain_id = chain_id, .stage = stage };
	struct ferry_ring *ring;
	uint32_t i;
	int e;

	if (!r || stage == FERRY_STAGE_REPLY || count == 0 || !points ||
	    !instances)
		return -EINVAL;
	if (count > FERRY_RING_MAX)
		return -E2BIG;
	for (i = 0; i < count; i++) {
		if (!valid_id(instances[i]) || points[i] > FERRY_KEY_MASK ||
		    (i > 0 && points[i] <= points[i - 1]))
			return -EINVAL;
	}
	/* 2 KiB: not on the stack of whoever calls us. */
	ring = calloc(1, sizeof(*ring));
	if (!ring)
		return -ENOMEM;
	ring->count = count;
	memcpy(ring->point, points, count * sizeof(*points));
	memcpy(ring->instance, instances, count * sizeof(*instances));
	e = update(r->rings_fd, &key, ring, BPF_ANY);
	free(ring);
	return e;
}

int ferry_router_delete_ring(struct ferry_router *r, uint32_t chain_id,
			     uint16_t stage)
{
	struct ferry_route_key key = { .chain_id = chain_id, .stage = stage };

	if (!r)
		return -EINVAL;
	return delete(r->rings_fd, &key);
}

int ferry_router_allow(struct ferry_router *r, uint32_t chain_id,
		       uint16_t from_stage, uint16_t to_stage, int allowed)
{
	struct ferry_allow_key key = {
		.chain_id = chain_id,
		.from_stage = from_stage,
		.to_stage = to_stage,
	};
	__u8 one = 1;

	if (!r)
		return -EINVAL;
	return allowed ? update(r->allow_fd, &key, &one, BPF_ANY) :
			 delete(r->allow_fd, &key);
}

/* ------------------------------------------------------------ counters */

int ferry_router_read_counters(struct ferry_router *r, uint32_t instance_id,
			       struct ferry_counters *out)
{
	struct ferry_counters *percpu;
	int ncpu, cpu, e = 0, d;

	if (!r || !out || instance_id >= FERRY_MAX_INSTANCES)
		return -EINVAL;
	ncpu = libbpf_num_possible_cpus();
	if (ncpu < 0)
		return ncpu;
	/* sizeof(struct ferry_counters) is a multiple of 8, which is the
	 * kernel's per-CPU value stride. */
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(r->counters_fd, &instance_id, percpu)) {
		e = -errno;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	for (cpu = 0; cpu < ncpu; cpu++) {
		out->rx_msgs += percpu[cpu].rx_msgs;
		out->rx_bytes += percpu[cpu].rx_bytes;
		out->tx_msgs += percpu[cpu].tx_msgs;
		out->tx_bytes += percpu[cpu].tx_bytes;
		for (d = 0; d < FERRY_DROP_MAX; d++)
			out->drops[d] += percpu[cpu].drops[d];
	}
out:
	free(percpu);
	return e;
}

int ferry_router_reset_counters(struct ferry_router *r, uint32_t instance_id)
{
	struct ferry_counters *zero;
	int ncpu, e;

	if (!r || instance_id >= FERRY_MAX_INSTANCES)
		return -EINVAL;
	ncpu = libbpf_num_possible_cpus();
	if (ncpu < 0)
		return ncpu;
	zero = calloc(ncpu, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	e = update(r->counters_fd, &instance_id, zero, BPF_ANY);
	free(zero);
	return e;
}
