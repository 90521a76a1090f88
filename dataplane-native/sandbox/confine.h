/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Confining the current process before it execs a function instance: what
 * ferry-sandbox does between ferryd's fork and the runtime's exec, which
 * Node's spawn cannot do (setgroups, prctl, unshare).
 *
 * ferry_confine() applies, in order: close every fd but 0-2 and the ones
 * to pass on; join the instance's cgroups; a private mount namespace (bpffs
 * and chosen paths hidden, /proc with hidepid=invisible, the tenant's own
 * /tmp, an empty /dev/shm); cwd /; then the identity: no capabilities
 * (bounding, ambient, inheritable, permitted, effective), no supplementary
 * groups, the uid/gid, no_new_privs and umask 077. Each step must succeed:
 * an instance never runs half-confined.
 */
#ifndef FERRY_CONFINE_H
#define FERRY_CONFINE_H

#include <stddef.h>
#include <sys/types.h>

#define FERRY_CONFINE_MAX_LIST 16

struct ferry_confine {
	uid_t uid;
	gid_t gid;
	int keep_fds[FERRY_CONFINE_MAX_LIST];
	int n_keep_fds;
	/* cgroup.procs files to write our pid into */
	const char *cgroups[FERRY_CONFINE_MAX_LIST];
	int n_cgroups;
	/* extra paths to cover with an empty read-only tmpfs (bpffs mounts are
	 * always covered) */
	const char *hide[FERRY_CONFINE_MAX_LIST];
	int n_hide;
	/* host directory bound at /tmp; NULL: an empty private tmpfs */
	const char *tmp_dir;
};

/* 0, or -1 with what failed (and why) in err. */
int ferry_confine(const struct ferry_confine *c, char *err, size_t errlen);

#endif /* FERRY_CONFINE_H */
