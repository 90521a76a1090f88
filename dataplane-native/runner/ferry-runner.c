// SPDX-License-Identifier: Apache-2.0
/*
 * ferry-runner: runs one `runtime: native` function instance.
 *
 *   ferry-runner FUNCTION.so      (environment set by ferryd, see instance.h)
 *
 * Blocks in poll() on its endpoint and its control channel until a
 * descriptor or a liveness ping arrives, so an idle instance costs no CPU;
 * processes what arrived (one ferry_call_run each, src/call.c), then
 * blocks again. A handler that never returns leaves pings unanswered, and
 * ferryd restarts the instance.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/call.h"

int main(int argc, char **argv)
{
	struct ferry_desc batch[FERRY_RX_BATCH];
	struct ferry_instance in;
	ferry_handle_fn handle;
	ferry_init_fn init;
	char err[256];
	void *lib;
	int n, i;

	if (argc != 2) {
		fprintf(stderr, "usage: ferry-runner FUNCTION.so (started by ferryd)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "{\"level\":\"error\",\"msg\":\"cannot load function\",\"detail\":\"%s\"}\n", dlerror());
		return 3;
	}
	handle = (ferry_handle_fn)dlsym(lib, "ferry_handle");
	if (!handle) {
		fprintf(stderr, "{\"level\":\"error\",\"msg\":\"%s does not export ferry_handle (see ferry_fn.h)\"}\n", argv[1]);
		return 3;
	}
	if (ferry_instance_from_env(&in, err, sizeof(err)) < 0) {
		fprintf(stderr, "{\"level\":\"error\",\"msg\":\"%s\"}\n", err);
		return 2;
	}
	init = (ferry_init_fn)dlsym(lib, "ferry_init");
	if (init && init(in.stage_name) != 0) {
		fprintf(stderr, "{\"level\":\"error\",\"msg\":\"ferry_init failed\",\"stage\":\"%s\"}\n", in.stage_name);
		return 4;
	}
	if (ferry_instance_ready(&in) < 0) {
		fprintf(stderr, "{\"level\":\"error\",\"msg\":\"cannot tell ferryd the instance is ready\",\"errno\":%d}\n", errno);
		return 1;
	}
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = in.fd, .events = POLLIN },
			{ .fd = in.ctl_fd, .events = POLLIN }, /* ignored when -1 */
		};

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "{\"level\":\"error\",\"msg\":\"poll failed\",\"errno\":%d}\n", errno);
			return 1;
		}
		if (pfd[1].revents && ferry_control_serve(in.ctl_fd, &in.ctl_rx, &in.service) == -ECONNRESET)
			break; /* ferryd closed the channel: we are being stopped */
		if (!pfd[0].revents)
			continue;
		n = ferry_endpoint_recv(in.fd, &in.rx, batch);
		if (n == -ECONNRESET)
			break; /* ferryd closed our endpoint: we are being stopped */
		if (n < 0) {
			fprintf(stderr, "{\"level\":\"error\",\"msg\":\"recv failed\",\"errno\":%d}\n", -n);
			return 1;
		}
		for (i = 0; i < n; i++) {
			struct timespec t0, t1;

			if (ferry_instance_accept(&in, &batch[i]) != 0)
				continue;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			ferry_call_run(&in, handle, &batch[i]);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			ferry_control_record(&in.service, (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000u +
							      (uint64_t)(t1.tv_nsec - t0.tv_nsec) / 1000u);
		}
	}
	ferry_instance_close(&in);
	return 0;
}
