// SPDX-License-Identifier: Apache-2.0
/*
 * ferry-sandbox: started by ferryd (as root) in place of an instance's
 * command; confines itself (see confine.h) and execs the command.
 *
 *   ferry-sandbox --uid N --gid N [--keep-fd N]... [--cgroup PROCS_FILE]...
 *                 [--hide PATH]... [--tmp DIR] -- COMMAND [ARG]...
 *
 * Exits 126 with "ferry-sandbox: what failed: why" on stderr when the
 * arguments are wrong or any step fails, 127 when the command cannot be
 * executed; otherwise it is the command.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confine.h"

#define USAGE "usage: ferry-sandbox --uid N --gid N [--keep-fd N]... [--cgroup FILE]... [--hide PATH]... [--tmp DIR] -- COMMAND [ARG]..."

static void die(int code, const char *fmt, const char *arg)
{
	fprintf(stderr, "ferry-sandbox: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(code);
}

static long number(const char *opt, const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max) {
		fprintf(stderr, "ferry-sandbox: %s needs a number 0..%ld (got \"%s\")\n", opt, max, s);
		exit(126);
	}
	return v;
}

static void add(const char **list, int *n, const char *opt, const char *v)
{
	if (*n >= FERRY_CONFINE_MAX_LIST)
		die(126, "too many %s options", opt);
	list[(*n)++] = v;
}

int main(int argc, char **argv)
{
	struct ferry_confine c = { .uid = (uid_t)-1, .gid = (gid_t)-1 };
	char err[512];
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
		const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			die(126, "%s needs a value\n" USAGE, opt);
		if (!strcmp(opt, "--uid")) {
			c.uid = (uid_t)number(opt, v, 0x7fffffff);
		} else if (!strcmp(opt, "--gid")) {
			c.gid = (gid_t)number(opt, v, 0x7fffffff);
		} else if (!strcmp(opt, "--keep-fd")) {
			if (c.n_keep_fds >= FERRY_CONFINE_MAX_LIST)
				die(126, "too many %s options", opt);
			c.keep_fds[c.n_keep_fds++] = (int)number(opt, v, 65535);
		} else if (!strcmp(opt, "--cgroup")) {
			add(c.cgroups, &c.n_cgroups, opt, v);
		} else if (!strcmp(opt, "--hide")) {
			add(c.hide, &c.n_hide, opt, v);
		} else if (!strcmp(opt, "--tmp")) {
			c.tmp_dir = v;
		} else {
			die(126, "unknown option %s\n" USAGE, opt);
		}
	}
	if (i >= argc - 1)
		die(126, "no command after --\n%s", USAGE);
	if (c.uid == (uid_t)-1 || c.gid == (gid_t)-1)
		die(126, "--uid and --gid are required\n%s", USAGE);
	if (ferry_confine(&c, err, sizeof(err)) < 0)
		die(126, "%s", err);
	execvp(argv[i + 1], &argv[i + 1]);
	fprintf(stderr, "ferry-sandbox: cannot execute %s as uid %u: %s\n", argv[i + 1], (unsigned)c.uid, strerror(errno));
	return 127;
}
