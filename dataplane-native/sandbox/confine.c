// SPDX-License-Identifier: Apache-2.0
#define _GNU_SOURCE
#include "confine.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Sets err to "what: strerror(errno)" and returns -1. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	int saved = errno;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (saved && n < errlen)
		snprintf(err + n, errlen - n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close every fd from 3 up except the ones to keep, which must be open:
 * an instance must not inherit ferryd's sockets, pools of other chains or
 * BPF map fds by accident. */
static int close_fds(const struct ferry_confine *c, char *err, size_t errlen)
{
	int keep[FERRY_CONFINE_MAX_LIST];
	unsigned int lo = 3;
	int i;

	memcpy(keep, c->keep_fds, sizeof(int) * (size_t)c->n_keep_fds);
	qsort(keep, (size_t)c->n_keep_fds, sizeof(int), cmp_int);
	for (i = 0; i < c->n_keep_fds; i++) {
		if (fcntl(keep[i], F_GETFD) < 0)
			return fail(err, errlen, "fd %d to pass on", keep[i]);
		if (keep[i] < 3 || (unsigned int)keep[i] < lo)
			continue;
		if ((unsigned int)keep[i] > lo && close_range(lo, (unsigned int)keep[i] - 1, 0) < 0)
			return fail(err, errlen, "close_range(%u, %d)", lo, keep[i] - 1);
		lo = (unsigned int)keep[i] + 1;
	}
	if (close_range(lo, ~0U, 0) < 0)
		return fail(err, errlen, "close_range(%u, ~0)", lo);
	return 0;
}

static int join_cgroups(const struct ferry_confine *c, char *err, size_t errlen)
{
	char pid[32];
	int i, fd, len;

	len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	for (i = 0; i < c->n_cgroups; i++) {
		fd = open(c->cgroups[i], O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return fail(err, errlen, "cgroup %s", c->cgroups[i]);
		if (write(fd, pid, (size_t)len) != len) {
			close(fd);
			return fail(err, errlen, "joining cgroup %s", c->cgroups[i]);
		}
		close(fd);
	}
	return 0;
}

/* A path covered by something that shows nothing: an empty read-only
 * tmpfs. A path that does not exist has nothing to hide. */
static int cover(const char *path, char *err, size_t errlen)
{
	if (mount("ferry-hidden", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") == 0)
		return 0;
	if (errno == ENOENT || errno == ENOTDIR)
		return 0;
	return fail(err, errlen, "hiding %s", path);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = 0;
}

/* Every bpffs mount (pinned maps and programs of any ferryd) goes out of
 * view, wherever it is mounted. */
static int hide_bpffs(char *err, size_t errlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	if (!f)
		return fail(err, errlen, "reading /proc/self/mountinfo");
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		char mountpoint[4096], fstype[64];
		const char *sep = strstr(line, " - ");

		/* id parent major:minor root mountpoint ... - fstype source options */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mountpoint) != 1 || sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		if (strcmp(fstype, "bpf") != 0)
			continue;
		unescape(mountpoint);
		rc = cover(mountpoint, err, errlen);
	}
	free(line);
	fclose(f);
	return rc;
}

static int private_mounts(const struct ferry_confine *c, char *err, size_t errlen)
{
	int i;

	if (unshare(CLONE_NEWNS) < 0)
		return fail(err, errlen, "unshare(CLONE_NEWNS)");
	/* Nothing mounted here may reach the host's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(err, errlen, "making / private");
	if (hide_bpffs(err, errlen) < 0)
		return -1;
	for (i = 0; i < c->n_hide; i++)
		if (cover(c->hide[i], err, errlen) < 0)
			return -1;
	/* Other users' processes (ferryd, other tenants) are not even listed. */
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible") < 0 &&
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2") < 0)
		return fail(err, errlen, "mounting /proc with hidepid");
	if (c->tmp_dir) {
		if (mount(c->tmp_dir, "/tmp", NULL, MS_BIND, NULL) < 0)
			return fail(err, errlen, "binding %s at /tmp", c->tmp_dir);
		if (mount(NULL, "/tmp", NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV, NULL) < 0)
			return fail(err, errlen, "remounting /tmp nosuid,nodev");
	} else if (mount("ferry-tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0) {
		return fail(err, errlen, "mounting a private /tmp");
	}
	if (access("/dev/shm", F_OK) == 0 &&
	    mount("ferry-shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777") < 0)
		return fail(err, errlen, "mounting a private /dev/shm");
	return 0;
}

static int capset_zero(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	return (int)syscall(SYS_capset, &h, d);
}

static int caps_all_zero(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	int i;

	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return 0;
	return 1;
}

static int drop_identity(const struct ferry_confine *c, char *err, size_t errlen)
{
	uid_t r, e, s;
	int cap;

	/* The bounding set can only shrink while we still hold CAP_SETPCAP. */
	for (cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return fail(err, errlen, "dropping capability %d from the bounding set", cap);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return fail(err, errlen, "clearing ambient capabilities");
	if (setgroups(0, NULL) < 0)
		return fail(err, errlen, "setgroups([])");
	if (setresgid(c->gid, c->gid, c->gid) < 0)
		return fail(err, errlen, "setresgid(%u)", (unsigned)c->gid);
	if (setresuid(c->uid, c->uid, c->uid) < 0)
		return fail(err, errlen, "setresuid(%u)", (unsigned)c->uid);
	if (capset_zero() < 0)
		return fail(err, errlen, "clearing capabilities");
	/* Check rather than trust: a kernel or securebits setting that kept
	 * anything must stop the instance here. */
	errno = 0;
	if (getresuid(&r, &e, &s) < 0 || r != c->uid || e != c->uid || s != c->uid)
		return fail(err, errlen, "uid is not %u after setresuid", (unsigned)c->uid);
	if (!caps_all_zero())
		return fail(err, errlen, "capabilities left after dropping them");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(err, errlen, "PR_SET_NO_NEW_PRIVS");
	umask(077);
	return 0;
}

int ferry_confine(const struct ferry_confine *c, char *err, size_t errlen)
{
	if (c->uid == 0 || c->gid == 0) {
		errno = 0;
		return fail(err, errlen, "refusing to run an instance as uid/gid 0");
	}
	if (close_fds(c, err, errlen) < 0 || join_cgroups(c, err, errlen) < 0 || private_mounts(c, err, errlen) < 0)
		return -1;
	if (chdir("/") < 0)
		return fail(err, errlen, "chdir /");
	return drop_identity(c, err, errlen);
}
