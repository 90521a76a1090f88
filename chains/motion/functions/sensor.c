// SPDX-License-Identifier: Apache-2.0
/* Stage `sensor` (native), the entry: finds motion in a window of sensor
 * readings (a PIR or accelerometer magnitude sampled at sampleHz).
 *
 * Robust against offset and noise: the baseline is the median of the
 * window, the noise its median absolute deviation (MAD, scaled by 1.4826 to
 * estimate a standard deviation). A sample is active when it is more than
 * 4 sigma (and at least minDelta) away from the baseline; motion is a run
 * of at least 3 consecutive active samples. The longest run is reported.
 *
 * Input:
 *   {"device":"hall-pir-1","zone":"hallway","sampleHz":10,"minDelta":5,
 *    "samples":[101,99,100,...], ...anything else for the actuator}
 * Output (to `actuator`): the finding, then every other member of the input
 * byte for byte (not "samples"):
 *   {"motion":true,"startMs":300,"durationMs":500,"peak":60.0,"baseline":100.0,
 *    "threshold":5.93,"activeSamples":5,"sampleCount":20,"device":...}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/ferry_fn.h"
#include "../../lib/output.h"
#include "../../lib/reject.h"

#define MAX_SAMPLES 4096
#define MIN_SAMPLES 5
#define MIN_RUN 3
#define SIGMAS 4.0
#define MAX_READING 1e9

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of v[0..n), sorting v. */
static double median_in_place(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), by_value);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double distance(double a, double b)
{
	return a > b ? a - b : b - a;
}

static int number_member(struct ferry_call *call, const struct mj_val *req, const char *key, double lo, double hi,
			 double fallback, double *out)
{
	struct mj_val v;
	char msg[128];

	*out = fallback;
	if (!mj_get(req, key, &v))
		return 0;
	if (mj_double(&v, out) == 0 && *out >= lo && *out <= hi)
		return 0;
	snprintf(msg, sizeof(msg), "\"%s\" must be a number from %g to %g", key, lo, hi);
	return reject_field(call, msg);
}

int ferry_handle(struct ferry_call *call)
{
	static double samples[MAX_SAMPLES], scratch[MAX_SAMPLES];
	uint32_t len;
	const uint8_t *in = ferry_input(call, &len);
	struct mj_val req, arr, v;
	struct mj_iter it;
	char err[192];
	double hz, min_delta;
	int n = 0;

	if (mj_parse(in, len, &req, err, sizeof(err)))
		return reject_json(call, err);
	if (req.type != MJ_OBJECT)
		return reject_json(call, "the readings must be a JSON object");
	if (number_member(call, &req, "sampleHz", 1, 1000, 10, &hz) ||
	    number_member(call, &req, "minDelta", 0, 1e9, 1, &min_delta))
		return -1;
	if (!mj_get(&req, "samples", &arr) || arr.type != MJ_ARRAY)
		return reject_field(call, "\"samples\" is required: an array of numbers");
	mj_iter_init(&it, &arr);
	while (mj_arr_next(&it, &v)) {
		if (n == MAX_SAMPLES)
			return reject_field(call, "\"samples\" has more than 4096 readings");
		if (mj_double(&v, &samples[n])) {
			snprintf(err, sizeof(err), "samples[%d] is not a number", n);
			return reject_field(call, err);
		}
		/* No sensor reads more; and the report's numbers keep a bounded width. */
		if (samples[n] > MAX_READING || samples[n] < -MAX_READING) {
			snprintf(err, sizeof(err), "samples[%d] is out of range: readings are at most 1e9 in magnitude", n);
			return reject_field(call, err);
		}
		n++;
	}
	if (n < MIN_SAMPLES)
		return reject_field(call, "\"samples\" needs at least 5 readings");

	memcpy(scratch, samples, sizeof(double) * (size_t)n);
	double base = median_in_place(scratch, n);
	for (int i = 0; i < n; i++)
		scratch[i] = distance(samples[i], base);
	double mad = median_in_place(scratch, n);
	double threshold = SIGMAS * 1.4826 * mad;
	if (threshold < min_delta)
		threshold = min_delta;

	int run = 0, best = 0, best_end = 0, active = 0;
	double peak = 0;
	for (int i = 0; i < n; i++) {
		double d = distance(samples[i], base);
		if (d > threshold) {
			active++;
			if (++run > best) {
				best = run;
				best_end = i;
			}
			if (d > peak)
				peak = d;
		} else
			run = 0;
	}
	int motion = best >= MIN_RUN;
	double ms_per_sample = 1000.0 / hz;

	struct mj_out o;
	if (out_begin(call, &o, len + 256))
		return -1; /* the runner says why (pool exhausted) */
	mj_printf(&o, "{\"motion\":%s,\"startMs\":%.0f,\"durationMs\":%.0f,\"peak\":%.2f,\"baseline\":%.2f,"
		      "\"threshold\":%.2f,\"activeSamples\":%d,\"sampleCount\":%d",
		  motion ? "true" : "false", motion ? (best_end - best + 1) * ms_per_sample : 0,
		  motion ? best * ms_per_sample : 0, peak, base, threshold, active, n);
	mj_copy_members(&o, &req, (const char *const[]){ "samples", "motion", "startMs", "durationMs", "peak", "baseline",
						      "threshold", "activeSamples", "sampleCount", NULL });
	mj_raw(&o, "}", 1);
	return out_commit(call, &o);
}
