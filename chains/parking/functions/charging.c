// SPDX-License-Identifier: Apache-2.0
/* Stage `charging` (native), the end of an exit: computes the parking fee.
 *
 * Tariff (EUR): permit holders (resident, staff) park free. Everyone else
 * (visitor, blocked) gets 15 minutes free; beyond that each started hour
 * costs 2.50, at most 20.00 per day, and each full 24 hours costs 20.00.
 * Amounts are integer micros (millionths of a euro): no floating point.
 *
 * Input (from `search`):
 *   {"plate":"MXY789","lot":"central","vehicle":{"permit":"visitor",...},
 *    "atEpoch":1718019600,"enteredAtEpoch":1718007300,...}
 * Output (the reply):
 *   {"plate":"MXY789","lot":"central","permit":"visitor","enteredAtEpoch":1718007300,
 *    "exitedAtEpoch":1718019600,"minutes":205,"days":0,"hours":4,
 *    "amountMicros":10000000,"currency":"EUR","display":"€10.00"}
 */
#include <stdio.h>
#include <string.h>

#include "ferry/ferry_fn.h"
#include "../../lib/output.h"
#include "../../lib/reject.h"

#define GRACE_MINUTES 15
#define HOUR_MICROS 2500000LL
#define DAY_CAP_MICROS 20000000LL
#define MAX_STAY_SECONDS (366LL * 86400) /* a year: anything longer is a bad timestamp */

static int string_member(struct ferry_call *call, const struct mj_val *obj, const char *key, char *out, size_t cap)
{
	struct mj_val v;
	char msg[128];

	if (mj_get(obj, key, &v) && mj_str(&v, out, cap) > 0)
		return 0;
	snprintf(msg, sizeof(msg), "\"%s\" is required: a non-empty string of at most %zu bytes", key, cap - 1);
	return ferry_fail(call, msg);
}

static int epoch_member(struct ferry_call *call, const struct mj_val *obj, const char *key, int64_t *out)
{
	struct mj_val v;
	char msg[128];

	if (mj_get(obj, key, &v) && mj_int64(&v, out) == 0 && *out >= 0)
		return 0;
	snprintf(msg, sizeof(msg), "\"%s\" is required: seconds since 1970 (set by search)", key);
	return ferry_fail(call, msg);
}

static int permit_free(const char *permit)
{
	return strcmp(permit, "resident") == 0 || strcmp(permit, "staff") == 0;
}

int ferry_handle(struct ferry_call *call)
{
	uint32_t len;
	const uint8_t *in = ferry_input(call, &len);
	struct mj_val req, vehicle;
	char err[192], plate[16], lot[40], permit[16];
	int64_t entered, exited;

	if (mj_parse(in, len, &req, err, sizeof(err)))
		return ferry_fail(call, err);
	if (req.type != MJ_OBJECT)
		return ferry_fail(call, "the exit event must be a JSON object");
	if (string_member(call, &req, "plate", plate, sizeof(plate)) || string_member(call, &req, "lot", lot, sizeof(lot)))
		return -1;
	if (!mj_get(&req, "vehicle", &vehicle) || vehicle.type != MJ_OBJECT)
		return ferry_fail(call, "\"vehicle\" is required: {permit} (set by search)");
	if (string_member(call, &vehicle, "permit", permit, sizeof(permit)))
		return -1;
	if (epoch_member(call, &req, "enteredAtEpoch", &entered) || epoch_member(call, &req, "atEpoch", &exited))
		return -1;
	/* The times are the caller's ("at", "enteredAt"): theirs to fix. */
	if (exited < entered)
		return reject_field(call, "the exit time (\"at\") is before the entry time (\"enteredAt\")");
	if (exited - entered > MAX_STAY_SECONDS)
		return reject_field(call, "a stay of more than a year: check the entry time (\"enteredAt\")");

	int64_t minutes = (exited - entered + 59) / 60; /* started minutes */
	int64_t days = 0, hours = 0, amount = 0;
	if (!permit_free(permit) && minutes > GRACE_MINUTES) {
		days = minutes / 1440;
		hours = (minutes % 1440 + 59) / 60;
		int64_t rest = hours * HOUR_MICROS;
		amount = days * DAY_CAP_MICROS + (rest < DAY_CAP_MICROS ? rest : DAY_CAP_MICROS);
	}

	char buf[512];
	struct mj_out o = { buf, 0, sizeof(buf), 0 };
	mj_puts(&o, "{\"plate\":");
	mj_quotes(&o, plate);
	mj_puts(&o, ",\"lot\":");
	mj_quotes(&o, lot);
	mj_puts(&o, ",\"permit\":");
	mj_quotes(&o, permit);
	mj_printf(&o, ",\"enteredAtEpoch\":%lld,\"exitedAtEpoch\":%lld,\"minutes\":%lld,\"days\":%lld,\"hours\":%lld,"
		      "\"amountMicros\":%lld,\"currency\":\"EUR\",\"display\":\"\xe2\x82\xac%lld.%02lld\"}",
		  (long long)entered, (long long)exited, (long long)minutes, (long long)days, (long long)hours,
		  (long long)amount, (long long)(amount / 1000000), (long long)(amount % 1000000 / 10000));
	return out_send(call, &o);
}
