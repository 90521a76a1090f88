// SPDX-License-Identifier: Apache-2.0
#include "ferry/instance.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int env_u32(const char *name, uint32_t *out, char *err, size_t errlen)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (!v || !*v) {
		snprintf(err, errlen, "%s is not set: instances are started by ferryd", name);
		return -EINVAL;
	}
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n > UINT32_MAX) {
		snprintf(err, errlen, "%s=%s is not a number", name, v);
		return -EINVAL;
	}
	*out = (uint32_t)n;
	return 0;
}

int ferry_instance_parse_next(struct ferry_instance *in, const char *spec)
{
	const char *p = spec;

	in->nnext = 0;
	while (p && *p) {
		const char *eq = strchr(p, '='), *comma = strchr(p, ',');
		size_t nlen;
		char *end;
		unsigned long id;

		if (!eq || (comma && comma < eq) || in->nnext == FERRY_MAX_NEXT)
			return -EINVAL;
		nlen = (size_t)(eq - p);
		if (nlen == 0 || nlen >= FERRY_STAGE_NAME_MAX)
			return -EINVAL;
		id = strtoul(eq + 1, &end, 10);
		if (end == eq + 1 || id >= FERRY_STAGE_REPLY || (*end && *end != ','))
			return -EINVAL;
		memcpy(in->next[in->nnext].name, p, nlen);
		in->next[in->nnext].name[nlen] = 0;
		in->next[in->nnext].id = (uint16_t)id;
		in->nnext++;
		p = *end ? end + 1 : end;
	}
	return 0;
}

int ferry_instance_open(struct ferry_instance *in, uint32_t id, uint32_t chain_id,
			uint16_t stage, const char *stage_name, int endpoint_fd,
			int pool_fd, const char *next_spec, char *err, size_t errlen)
{
	int rc;

	memset(in, 0, sizeof(*in));
	in->pool.fd = -1;
	in->ctl_fd = -1;
	in->id = id;
	in->chain_id = chain_id;
	in->stage = stage;
	in->fd = endpoint_fd;
	snprintf(in->stage_name, sizeof(in->stage_name), "%s", stage_name ? stage_name : "");
	if (id == 0 || id >= FERRY_MAX_INSTANCES) {
		snprintf(err, errlen, "instance id %u out of range 1..%u", id, FERRY_MAX_INSTANCES - 1);
		return -EINVAL;
	}
	if (ferry_instance_parse_next(in, next_spec) < 0) {
		snprintf(err, errlen, "next stages \"%s\": expected name=id[,name=id...]",
			 next_spec ? next_spec : "");
		return -EINVAL;
	}
	rc = ferry_pool_attach(&in->pool, pool_fd);
	if (rc < 0) {
		snprintf(err, errlen, "cannot map pool fd %d: %s", pool_fd, ferry_pool_strerror(rc));
		return rc;
	}
	return 0;
}

int ferry_instance_from_env(struct ferry_instance *in, char *err, size_t errlen)
{
	uint32_t id, chain, stage, fd, pool_fd;
	int rc;

	const char *ctl = getenv("FERRY_CONTROL_FD");
	uint32_t ctl_fd = 0;

	memset(in, 0, sizeof(*in));
	in->fd = -1;
	in->pool.fd = -1;
	in->ctl_fd = -1;
	if (ctl && *ctl && (rc = env_u32("FERRY_CONTROL_FD", &ctl_fd, err, errlen)))
		return rc;
	if ((rc = env_u32("FERRY_INSTANCE_ID", &id, err, errlen)) ||
	    (rc = env_u32("FERRY_CHAIN_ID", &chain, err, errlen)) ||
	    (rc = env_u32("FERRY_STAGE", &stage, err, errlen)) ||
	    (rc = env_u32("FERRY_ENDPOINT_FD", &fd, err, errlen)) ||
	    (rc = env_u32("FERRY_POOL_FD", &pool_fd, err, errlen)))
		return rc;
	rc = ferry_instance_open(in, id, chain, (uint16_t)stage, getenv("FERRY_STAGE_NAME"),
				 (int)fd, (int)pool_fd, getenv("FERRY_NEXT"), err, errlen);
	if (rc == 0) {
		close((int)pool_fd); /* the mapping keeps its own dup */
		in->ctl_fd = ctl && *ctl ? (int)ctl_fd : -1;
	}
	return rc;
}

void ferry_instance_close(struct ferry_instance *in)
{
	ferry_pool_detach(&in->pool);
	if (in->fd >= 0)
		close(in->fd);
	if (in->ctl_fd >= 0)
		close(in->ctl_fd);
	in->fd = -1;
	in->ctl_fd = -1;
}

int ferry_instance_ready(struct ferry_instance *in)
{
	if (in->ctl_fd < 0)
		return 0;
	return ferry_control_send(in->ctl_fd, FERRY_CTL_READY, 0);
}

int ferry_instance_alloc_for(struct ferry_instance *in, const struct ferry_desc *d,
			     uint32_t size, struct ferry_buf *out)
{
	int rc = ferry_pool_alloc(&in->pool, size, in->id, out);

	if (rc < 0)
		return rc;
	if (ferry_pool_inherit(&in->pool, out->offset, out->generation, d->offset, d->generation) < 0)
		ferry_pool_tag(&in->pool, out->offset, out->generation, (uint32_t)d->request_id);
	return 0;
}

int ferry_instance_next_index(const struct ferry_instance *in, const char *name)
{
	uint32_t i;

	for (i = 0; i < in->nnext; i++)
		if (strcmp(in->next[i].name, name) == 0)
			return (int)i;
	return -1;
}

int ferry_instance_accept(struct ferry_instance *in, struct ferry_desc *d)
{
	int reason = ferry_desc_validate(d, in->chain_id, in->stage, &in->pool,
					 &in->stats.rejects);

	if (reason < 0) {
		if (ferry_pool_take(&in->pool, d->offset, d->generation, in->id) < 0) {
			/* Recycled between check and take: stale after all. */
			in->stats.rejects.by_reason[FERRY_REJECT_STALE]++;
			return FERRY_REJECT_STALE;
		}
		ferry_pool_tag(&in->pool, d->offset, d->generation, (uint32_t)d->request_id);
		/* Only a gateway reads FERRY_F_RESPONSE; a stage never answers
		 * because the one before it set the flag. */
		if (in->stage != FERRY_STAGE_REPLY)
			d->flags &= (uint16_t)~FERRY_F_RESPONSE;
		in->stats.accepted++;
		return 0;
	}
	/* Misaddressed but naming a live buffer of our pool: the sender has let
	 * go of it, so answer the caller rather than leak it. */
	if (reason == FERRY_REJECT_STAGE &&
	    ferry_pool_take(&in->pool, d->offset, d->generation, in->id) == 0) {
		char msg[96];

		snprintf(msg, sizeof(msg), "descriptor for stage %u reached stage %u",
			 d->stage, in->stage);
		ferry_instance_fail(in, d, FERRY_ST_BAD_DESCRIPTOR, msg);
	}
	return reason;
}

static int send_or_free(struct ferry_instance *in, struct ferry_desc *d)
{
	int rc = ferry_endpoint_send(in->fd, d);

	if (rc == 0)
		return 0;
	in->stats.send_refused++;
	ferry_pool_free(&in->pool, d->offset, d->generation);
	in->stats.freed_undeliverable++;
	return rc;
}

int ferry_instance_fail(struct ferry_instance *in, struct ferry_desc *d,
			uint16_t status, const char *message)
{
	int cap = ferry_pool_check(&in->pool, d->offset, d->generation, 0);
	size_t len = strlen(message);

	in->stats.replied_error++;
	if (cap < 0)
		return cap; /* not a buffer we can write: nothing to free either */
	if (len > (size_t)cap)
		len = (size_t)cap;
	memcpy(ferry_pool_ptr(&in->pool, d->offset), message, len);
	d->length = (uint32_t)len;
	d->flags = (uint16_t)((d->flags & ~FERRY_F_RESPONSE) | FERRY_F_ERROR);
	d->status = status;
	d->stage = FERRY_STAGE_REPLY;
	if (d->reply_to == 0) {
		ferry_pool_free(&in->pool, d->offset, d->generation);
		return -ENOENT;
	}
	return send_or_free(in, d);
}

static int send_on(struct ferry_instance *in, struct ferry_desc *d);

int ferry_instance_forward(struct ferry_instance *in, struct ferry_desc *d,
			   int next_index)
{
	if (in->nnext == 0 || (d->flags & FERRY_F_RESPONSE))
		d->stage = FERRY_STAGE_REPLY;
	else if (next_index < 0 || (uint32_t)next_index >= in->nnext)
		return ferry_instance_fail(in, d, FERRY_ST_NO_ROUTE,
					   "function chose a next stage that is not in its `next` list");
	else
		d->stage = in->next[next_index].id;
	return send_on(in, d);
}

int ferry_instance_reply(struct ferry_instance *in, struct ferry_desc *d)
{
	d->flags &= (uint16_t)~FERRY_F_RESPONSE;
	d->stage = FERRY_STAGE_REPLY;
	return send_on(in, d);
}

/* Send d to d->stage; a refusal turns the request into an error reply. */
static int send_on(struct ferry_instance *in, struct ferry_desc *d)
{
	char msg[256];
	int rc = ferry_endpoint_send(in->fd, d);

	if (rc == 0) {
		in->stats.forwarded++;
		return 0;
	}
	in->stats.send_refused++;
	snprintf(msg, sizeof(msg),
		 "stage %s could not hand the request to stage %u: %s (router refused: no live instance or edge not allowed)",
		 in->stage_name, d->stage, strerror(-rc));
	ferry_instance_fail(in, d, FERRY_ST_NO_ROUTE, msg);
	return rc;
}

int ferry_instance_respond(struct ferry_instance *in, struct ferry_desc *d,
			   uint16_t http_status, uint16_t flags, const char *tag)
{
	size_t n = tag ? strlen(tag) : 0;
	uint64_t need = (uint64_t)d->length + n + 1;
	int cap = ferry_pool_check(&in->pool, d->offset, d->generation, d->length);
	uint8_t *end;

	if (cap < 0)
		return cap; /* not a buffer we can write: nothing to free either */
	if (n > FERRY_RESPONSE_TAG_MAX)
		return ferry_instance_fail(in, d, FERRY_ST_FUNCTION_ERROR,
					   "response content type or error code longer than 255 bytes");
	if (need > (uint64_t)cap) {
		struct ferry_buf out;
		char msg[128];
		int rc = need > UINT32_MAX ? FERRY_ETOO_LARGE
					   : ferry_instance_alloc_for(in, d, (uint32_t)need, &out);

		if (rc < 0) {
			snprintf(msg, sizeof(msg), "no buffer for a response of %llu bytes: %s",
				 (unsigned long long)need, ferry_pool_strerror(rc));
			return ferry_instance_fail(in, d,
						   rc == FERRY_ETOO_LARGE ? FERRY_ST_TOO_LARGE
									  : FERRY_ST_POOL_EXHAUSTED,
						   msg);
		}
		memcpy(ferry_pool_ptr(&in->pool, out.offset),
		       ferry_pool_ptr(&in->pool, d->offset), d->length);
		ferry_pool_free(&in->pool, d->offset, d->generation);
		d->offset = out.offset;
		d->generation = out.generation;
	}
	end = (uint8_t *)ferry_pool_ptr(&in->pool, d->offset) + d->length;
	memcpy(end, tag ? tag : "", n);
	end[n] = (uint8_t)n;
	d->length = (uint32_t)need;
	d->flags = (uint16_t)((d->flags & ~FERRY_F_ERROR) | FERRY_F_RESPONSE |
			      (flags & FERRY_F_ERROR));
	d->status = http_status;
	return ferry_instance_forward(in, d, 0);
}

int ferry_instance_fail_http(struct ferry_instance *in, struct ferry_desc *d,
			     uint16_t http_status, const char *code,
			     const char *message)
{
	int cap = ferry_pool_check(&in->pool, d->offset, d->generation, 0);
	size_t room, len = strlen(message), n = code ? strlen(code) : 0;

	if (cap < 0)
		return cap;
	if (n > FERRY_RESPONSE_TAG_MAX)
		return ferry_instance_fail(in, d, FERRY_ST_FUNCTION_ERROR,
					   "error code longer than 255 bytes");
	/* Every buffer holds more than a 255-byte code; the message is cut,
	 * never the answer lost. */
	room = (size_t)cap > n + 1 ? (size_t)cap - n - 1 : 0;
	if (len > room)
		len = room;
	memcpy(ferry_pool_ptr(&in->pool, d->offset), message, len);
	d->length = (uint32_t)len;
	return ferry_instance_respond(in, d, http_status, FERRY_F_ERROR, code);
}
