// SPDX-License-Identifier: Apache-2.0
/*
 * A hostile `runtime: native` function (test fixture): the same probes as
 * escape.ts, tried with system calls, plus "bpf" (ask the kernel for BPF
 * maps by id, which needs CAP_SYS_ADMIN). Input "PROBE ARG..." separated
 * by spaces or newlines; output JSON {"probe", "escaped", ...}.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ferry/ferry_fn.h"

#define OUT_MAX 65536
#define MAX_ARGS 256
#define MiB (1u << 20)

extern char **environ;

struct out {
	char buf[OUT_MAX];
	size_t len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len >= OUT_MAX)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, OUT_MAX - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len = o->len + (size_t)n < OUT_MAX ? o->len + (size_t)n : OUT_MAX;
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void put_str(struct out *o, const char *s)
{
	put(o, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			put(o, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			put(o, "\\u%04x", *s);
		else
			put(o, "%c", *s);
	}
	put(o, "\"");
}

static const char *errname(int e)
{
	switch (e) {
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EAGAIN: return "EAGAIN";
	case ESRCH: return "ESRCH";
	case ENOMEM: return "ENOMEM";
	default: return strerror(e);
	}
}

static int has(const char *hay, size_t n, const char *needle)
{
	return *needle && memmem(hay, n, needle, strlen(needle)) != NULL;
}

static void probe_open(struct out *o, int argc, char **argv)
{
	static char chunk[MiB];
	const char *secret = argc > 0 ? argv[0] : "";
	int escaped = 0;

	put(o, "\"results\":[");
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY | O_CLOEXEC), found = 0;
		size_t total = 0;
		ssize_t r;

		put(o, "%s{\"path\":", i > 1 ? "," : "");
		put_str(o, argv[i]);
		if (fd < 0) {
			put(o, ",\"opened\":false,\"error\":\"%s\"}", errname(errno));
			continue;
		}
		escaped = 1;
		/* Chunks may split the secret; good enough for a probe whose
		 * open alone is the escape. */
		while (total < 64 * MiB && (r = pread(fd, chunk, sizeof(chunk), (off_t)total)) > 0) {
			found |= has(chunk, (size_t)r, secret);
			total += (size_t)r;
		}
		close(fd);
		put(o, ",\"opened\":true,\"read\":%zu,\"found\":%s}", total, found ? "true" : "false");
	}
	put(o, "],\"escaped\":%s", escaped ? "true" : "false");
}

static void probe_list(struct out *o, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d) {
		put(o, "\"escaped\":false,\"error\":\"%s\"", errname(errno));
		return;
	}
	put(o, "\"entries\":[");
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		put(o, "%s", n++ ? "," : "");
		put_str(o, e->d_name);
	}
	closedir(d);
	put(o, "],\"escaped\":%s", n > 0 ? "true" : "false");
}

static void probe_env(struct out *o)
{
	put(o, "\"escaped\":false,\"names\":[");
	for (char **e = environ; *e; e++) {
		char name[256];
		size_t n = strcspn(*e, "=");

		snprintf(name, sizeof(name), "%.*s", (int)(n < 255 ? n : 255), *e);
		put(o, "%s", e != environ ? "," : "");
		put_str(o, name);
	}
	put(o, "]");
}

static void probe_status(struct out *o)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[512];
	int n = 0;

	put(o, "\"escaped\":false,\"status\":{");
	while (f && fgets(line, sizeof(line), f)) {
		char *tab = strstr(line, ":\t");

		if (!tab || !(strncmp(line, "Uid", 3) == 0 || strncmp(line, "Gid", 3) == 0 || strncmp(line, "Groups", 6) == 0 ||
			      strncmp(line, "Cap", 3) == 0 || strncmp(line, "NoNewPrivs", 10) == 0))
			continue;
		*tab = 0;
		line[strcspn(line, "\n")] = 0;
		tab[strcspn(tab + 2, "\n") + 2] = 0;
		put(o, "%s", n++ ? "," : "");
		put_str(o, line);
		put(o, ":");
		put_str(o, tab + 2);
	}
	if (f)
		fclose(f);
	put(o, "}");
}

static void probe_procs(struct out *o)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	put(o, "\"escaped\":false,\"pids\":[");
	while (d && (e = readdir(d)))
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
			put(o, "%s%s", n++ ? "," : "", e->d_name);
	if (d)
		closedir(d);
	put(o, "]");
}

static void probe_kill(struct out *o, const char *pid)
{
	if (kill((pid_t)atoi(pid), SIGKILL) == 0)
		put(o, "\"escaped\":true");
	else
		put(o, "\"escaped\":false,\"error\":\"%s\"", errname(errno));
}

static void probe_fork(struct out *o, int want)
{
	static pid_t kids[4096];
	int n = 0, err = 0;

	if (want > 4096)
		want = 4096;
	while (n < want) {
		pid_t p = fork();

		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0) {
			err = errno;
			break;
		}
		kids[n++] = p;
	}
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	put(o, "\"escaped\":%s,\"started\":%d,\"error\":\"%s\"", n >= want ? "true" : "false", n, err ? errname(err) : "");
}

static void probe_alloc(struct out *o, int mb)
{
	for (int i = 0; i < mb; i++) {
		char *p = malloc(MiB);

		if (!p) {
			put(o, "\"escaped\":false,\"allocatedMb\":%d,\"error\":\"ENOMEM\"", i);
			return;
		}
		memset(p, 1, MiB); /* touch it: only used pages count */
	}
	put(o, "\"escaped\":true,\"allocatedMb\":%d", mb);
}

static void probe_exec(struct out *o, const char *path)
{
	char cmd[4200], line[256] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "'%s' -u 2>&1", path);
	p = popen(cmd, "r");
	if (!p) {
		put(o, "\"escaped\":false,\"error\":\"%s\"", errname(errno));
		return;
	}
	if (!fgets(line, sizeof(line), p))
		line[0] = 0;
	pclose(p);
	line[strcspn(line, "\n")] = 0;
	put(o, "\"escaped\":%s,\"output\":", strcmp(line, "0") == 0 ? "true" : "false");
	put_str(o, line);
}

/* Any BPF map by id (ids are small and dense): needs CAP_SYS_ADMIN. */
static void probe_bpf(struct out *o)
{
	int got = 0, err = 0;

	for (unsigned int id = 1; id <= 4096; id++) {
		union bpf_attr a;
		int fd;

		memset(&a, 0, sizeof(a));
		a.map_id = id;
		fd = (int)syscall(SYS_bpf, BPF_MAP_GET_FD_BY_ID, &a, sizeof(a));
		if (fd >= 0) {
			got++;
			close(fd);
		} else if (errno != ENOENT) {
			err = errno;
		}
	}
	put(o, "\"escaped\":%s,\"maps\":%d,\"error\":\"%s\"", got ? "true" : "false", got, err ? errname(err) : "");
}

int ferry_handle(struct ferry_call *call)
{
	static char text[8192];
	static struct out o;
	char *argv[MAX_ARGS], *save = NULL;
	int argc = 0;
	uint32_t len;
	const uint8_t *in = ferry_input(call, &len);
	uint8_t *dst;

	if (len >= sizeof(text))
		return ferry_fail(call, "probe request too long");
	memcpy(text, in, len);
	text[len] = 0;
	for (char *w = strtok_r(text, " \n\t", &save); w && argc < MAX_ARGS; w = strtok_r(NULL, " \n\t", &save))
		argv[argc++] = w;
	if (argc == 0)
		return ferry_fail(call, "empty probe request");
	o.len = 0;
	put(&o, "{\"probe\":");
	put_str(&o, argv[0]);
	put(&o, ",");
	if (!strcmp(argv[0], "open"))
		probe_open(&o, argc - 1, argv + 1);
	else if (!strcmp(argv[0], "list"))
		probe_list(&o, argc > 1 ? argv[1] : "/");
	else if (!strcmp(argv[0], "env"))
		probe_env(&o);
	else if (!strcmp(argv[0], "status"))
		probe_status(&o);
	else if (!strcmp(argv[0], "procs"))
		probe_procs(&o);
	else if (!strcmp(argv[0], "kill") && argc > 1)
		probe_kill(&o, argv[1]);
	else if (!strcmp(argv[0], "fork") && argc > 1)
		probe_fork(&o, atoi(argv[1]));
	else if (!strcmp(argv[0], "alloc") && argc > 1)
		probe_alloc(&o, atoi(argv[1]));
	else if (!strcmp(argv[0], "exec") && argc > 1)
		probe_exec(&o, argv[1]);
	else if (!strcmp(argv[0], "bpf"))
		probe_bpf(&o);
	else
		return ferry_fail(call, "unknown probe");
	put(&o, "}");
	dst = ferry_output_alloc(call, (uint32_t)o.len);
	if (!dst)
		return -1;
	memcpy(dst, o.buf, o.len);
	return ferry_output_commit(call, (uint32_t)o.len);
}
