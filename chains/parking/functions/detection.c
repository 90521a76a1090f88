// SPDX-License-Identifier: Apache-2.0
/* Stage `detection` (native), the entry: turns a camera's plate reads into
 * one normalized plate.
 *
 * A gate camera reads the plate in several frames; each read is OCR text
 * with a confidence in (0, 1]. Each read is normalized (ASCII letters upper-
 * cased, digits kept, spaces, dashes and dots dropped; 2 to 10 characters
 * remain or the read is discarded), then the reads vote with their
 * confidence. The winner must hold at least half of the votes.
 *
 * Input:
 *   {"camera":"gate-north","lot":"central","event":"entry","at":"2024-06-10T08:15:00Z",
 *    "reads":[{"text":"b-ab 1234","confidence":0.82},{"text":"B AB 1234","confidence":0.9}]}
 *   or a single read: {"camera":"gate-1","plate":"ab 123 cd"} (confidence 1)
 * Output (to `search`): the plate and its share of the votes first, then
 * every other member of the input byte for byte (not "reads"/"plate"):
 *   {"plate":"BAB1234","confidence":0.8113,"reads":3,"camera":"gate-north",...}
 */
#include <stdio.h>
#include <string.h>

#include "ferry/ferry_fn.h"
#include "../../lib/output.h"
#include "../../lib/reject.h"

#define MAX_READS 32
#define MIN_SHARE 0.5

struct candidate {
	char plate[11];
	double votes;
};

/* "b-ab 1234" -> "BAB1234"; 0 when nothing plate-like remains. */
static int normalize(const char *text, char *plate)
{
	int n = 0;

	for (const char *p = text; *p; p++) {
		char c = *p;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			if (n == 10)
				return 0;
			plate[n++] = c;
		} else if (c != ' ' && c != '-' && c != '.')
			return 0; /* not a plate character: a misread */
	}
	plate[n] = 0;
	return n >= 2;
}

static void vote(struct candidate *cands, int *n, const char *plate, double confidence)
{
	for (int i = 0; i < *n; i++)
		if (strcmp(cands[i].plate, plate) == 0) {
			cands[i].votes += confidence;
			return;
		}
	snprintf(cands[*n].plate, sizeof(cands[*n].plate), "%s", plate);
	cands[(*n)++].votes = confidence;
}

/* One read: its text normalized and counted; a non-plate text is skipped. */
static int read_one(struct ferry_call *call, const struct mj_val *text, double confidence,
		    struct candidate *cands, int *n, double *total)
{
	char raw[64], plate[11];

	if (mj_str(text, raw, sizeof(raw)) < 0)
		return reject_field(call, "a plate read's \"text\" must be a string of at most 63 bytes");
	if (!(confidence > 0 && confidence <= 1))
		return reject_field(call, "a plate read's \"confidence\" must be a number in (0, 1]");
	*total += confidence;
	if (normalize(raw, plate))
		vote(cands, n, plate, confidence);
	return 0;
}

static int collect(struct ferry_call *call, const struct mj_val *req, struct candidate *cands, int *n,
		   double *total, int *reads)
{
	struct mj_val v, r, text, conf;
	struct mj_iter it;

	if (mj_get(req, "reads", &v)) {
		if (v.type != MJ_ARRAY)
			return reject_field(call, "\"reads\" must be an array of {text, confidence}");
		mj_iter_init(&it, &v);
		while (mj_arr_next(&it, &r)) {
			double c;
			if (++*reads > MAX_READS)
				return reject_field(call, "\"reads\" has more than 32 reads");
			if (!mj_get(&r, "text", &text) || !mj_get(&r, "confidence", &conf) || mj_double(&conf, &c))
				return reject_field(call, "each of \"reads\" must be {\"text\": string, \"confidence\": number}");
			if (read_one(call, &text, c, cands, n, total))
				return -1;
		}
		return 0;
	}
	if (mj_get(req, "plate", &v)) {
		*reads = 1;
		return read_one(call, &v, 1.0, cands, n, total);
	}
	return reject_field(call, "\"reads\" (the camera's plate reads) or \"plate\" is required");
}

int ferry_handle(struct ferry_call *call)
{
	uint32_t len;
	const uint8_t *in = ferry_input(call, &len);
	struct candidate cands[MAX_READS];
	struct mj_val req;
	char err[192];
	int n = 0, reads = 0, best = -1;
	double total = 0;

	if (mj_parse(in, len, &req, err, sizeof(err)))
		return reject_json(call, err);
	if (req.type != MJ_OBJECT)
		return reject_json(call, "the camera event must be a JSON object");
	if (collect(call, &req, cands, &n, &total, &reads))
		return -1;
	for (int i = 0; i < n; i++)
		if (best < 0 || cands[i].votes > cands[best].votes)
			best = i;
	if (best < 0)
		return ferry_fail_status(call, 422, "noPlate", "no plate recognised: no read has 2 to 10 letters and digits");
	double share = cands[best].votes / total;
	if (share < MIN_SHARE) {
		snprintf(err, sizeof(err), "no plate recognised with enough confidence: best \"%s\" has %.2f of the votes (needs %.2f)",
			 cands[best].plate, share, MIN_SHARE);
		return ferry_fail_status(call, 422, "noPlate", err);
	}

	struct mj_out o;
	if (out_begin(call, &o, len + 128))
		return -1; /* the runner says why (pool exhausted) */

	mj_printf(&o, "{\"plate\":\"%s\",\"confidence\":%.4f,\"reads\":%d", cands[best].plate, share, reads);
	mj_copy_members(&o, &req, (const char *const[]){ "reads", "plate", "confidence", NULL });
	mj_raw(&o, "}", 1);
	return out_commit(call, &o);
}
