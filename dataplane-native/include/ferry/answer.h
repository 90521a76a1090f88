/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bounds of a native function's own answer (ferry_respond and
 * ferry_fail_status in ferry_fn.h; FERRY_F_RESPONSE in abi.h), checked where
 * the function gives it: by ferry-runner, and by the chains' test harness,
 * which runs functions outside ferry. Only what would make a confusing
 * trailer is checked here; the gateway checks the full HTTP grammar again
 * (control/dataplane/response.ts).
 */
#ifndef FERRY_ANSWER_H
#define FERRY_ANSWER_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "abi.h"

#define FERRY_ERROR_CODE_MAX 64

/* What a function answered so far (status 0: nothing; it goes on). */
struct ferry_answer {
	unsigned status;
	int error; /* ferry_fail_status: tag is the error code */
	char tag[FERRY_RESPONSE_TAG_MAX + 1];
};

static inline void ferry_answer_set(struct ferry_answer *a, unsigned status, int error, const char *tag)
{
	a->status = status;
	a->error = error;
	snprintf(a->tag, sizeof(a->tag), "%s", tag ? tag : "");
}

/* 0, or -1 with why in msg: status 200..599, content type NULL/"" or at most
 * FERRY_RESPONSE_TAG_MAX printable ASCII bytes. */
static inline int ferry_answer_check(unsigned status, const char *content_type, char *msg, size_t n)
{
	size_t i;

	if (status < 200 || status > 599) {
		snprintf(msg, n, "ferry_respond: %u is not an HTTP status from 200 to 599", status);
		return -1;
	}
	for (i = 0; content_type && content_type[i]; i++)
		if (i == FERRY_RESPONSE_TAG_MAX || content_type[i] < 0x20 || content_type[i] > 0x7e) {
			snprintf(msg, n, "ferry_respond: the content type must be at most %d printable ASCII bytes",
				 FERRY_RESPONSE_TAG_MAX);
			return -1;
		}
	return 0;
}

static inline int ferry_code_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

/* 0, or -1 with why in msg: status 400..599, code NULL/"" or a letter then
 * at most 63 of A-Z a-z 0-9 . _ - */
static inline int ferry_error_check(unsigned status, const char *code, char *msg, size_t n)
{
	size_t i;

	if (status < 400 || status > 599) {
		snprintf(msg, n, "ferry_fail_status: %u is not an HTTP error status from 400 to 599", status);
		return -1;
	}
	if (!code || !*code)
		return 0;
	if (!((code[0] >= 'A' && code[0] <= 'Z') || (code[0] >= 'a' && code[0] <= 'z')))
		goto bad;
	for (i = 0; code[i]; i++)
		if (i == FERRY_ERROR_CODE_MAX || !ferry_code_char(code[i]))
			goto bad;
	return 0;
bad:
	snprintf(msg, n, "ferry_fail_status: the code must be a letter, then at most %d of A-Z a-z 0-9 . _ -",
		 FERRY_ERROR_CODE_MAX - 1);
	return -1;
}

/* ferry_respond over an implementation's answer and error text: a status
 * or content type out of bounds fails the request (error says why). */
static inline int ferry_answer_respond(struct ferry_answer *a, char *error, size_t n, unsigned status,
				       const char *content_type)
{
	if (ferry_answer_check(status, content_type, error, n)) {
		ferry_answer_set(a, 0, 0, NULL);
		return -EINVAL;
	}
	ferry_answer_set(a, status, 0, content_type);
	return 0;
}

/* ferry_fail_status likewise; -1 either way, as ferry_fail. */
static inline int ferry_answer_fail(struct ferry_answer *a, char *error, size_t n, unsigned status, const char *code,
				    const char *message)
{
	if (ferry_error_check(status, code, error, n)) {
		ferry_answer_set(a, 0, 0, NULL);
		return -1;
	}
	snprintf(error, n, "%s", message);
	ferry_answer_set(a, status, 1, code);
	return -1;
}

#endif /* FERRY_ANSWER_H */
