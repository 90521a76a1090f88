// SPDX-License-Identifier: Apache-2.0
/* Stage `currency` (native): converts an amount between USD, EUR, JPY and
 * GBP at fixed rates, in fixed point: amounts are integer micros (millionths
 * of a unit), the rates are integers, the product goes through 128 bits and
 * rounds half up. No floating point anywhere, so the result is exact and the
 * same on every architecture (and equal to lib/money.ts, which the node
 * stages use to show prices).
 *
 * Input (from `frontend`):
 *   {"from":"USD","to":"EUR","amountMicros":19990000}
 *   {"from":"usd","to":"JPY","amount":19.99}         (at most 6 decimals)
 * Output (the reply):
 *   {"from":"USD","to":"EUR","amountMicros":19990000,"convertedMicros":17682441,
 *    "rateMicros":884564,"display":"€17.68"}
 *
 * The output is small: it is written back into the input buffer when that
 * has room (zero copy), into a fresh pool buffer otherwise. */
#include <stdio.h>
#include <string.h>

#include "ferry/ferry_fn.h"
#include "../../lib/output.h"
#include "../../lib/reject.h"

#define MAX_AMOUNT_MICROS 1000000000000000LL /* one billion units */

/* Units of each currency per 1 EUR, times 1e5: Online Boutique's
 * currency_conversion.json. Keep in step with lib/money.ts. */
static const struct currency {
	const char *code;
	int64_t per_eur_e5;
	const char *symbol;
	int minor_digits;
} currencies[] = {
	{ "USD", 113050, "$", 2 },
	{ "EUR", 100000, "\xe2\x82\xac", 2 },
	{ "JPY", 12640000, "\xc2\xa5", 0 },
	{ "GBP", 85970, "\xc2\xa3", 2 },
};

static const struct currency *currency_field(struct ferry_call *call, const struct mj_val *req,
					     const char *field)
{
	struct mj_val v;
	char code[32], msg[160];
	int n;

	if (!mj_get(req, field, &v)) {
		snprintf(msg, sizeof(msg), "\"%s\" is required: a currency code (USD, EUR, JPY or GBP)", field);
		reject_field(call, msg);
		return NULL;
	}
	n = mj_str(&v, code, sizeof(code));
	if (n == 3) {
		for (int i = 0; i < 3; i++)
			if (code[i] >= 'a' && code[i] <= 'z')
				code[i] = (char)(code[i] - 'a' + 'A');
		for (size_t i = 0; i < sizeof(currencies) / sizeof(currencies[0]); i++)
			if (memcmp(code, currencies[i].code, 4) == 0)
				return &currencies[i];
	}
	if (v.type == MJ_STRING) {
		snprintf(msg, sizeof(msg), "\"%s\": unsupported currency \"%.16s\" (supported: USD, EUR, JPY, GBP)",
			 field, n >= 0 ? code : "(too long)");
		ferry_fail_status(call, 422, "unsupportedCurrency", msg);
	} else {
		snprintf(msg, sizeof(msg), "\"%s\" must be a currency code string (USD, EUR, JPY or GBP)", field);
		reject_field(call, msg);
	}
	return NULL;
}

/* round_half_up(a * num / den) for a >= 0, through 128 bits. */
static int64_t muldiv(int64_t a, int64_t num, int64_t den)
{
	unsigned __int128 p = (unsigned __int128)a * (unsigned __int128)num;

	return (int64_t)((p + (unsigned __int128)(den / 2)) / (unsigned __int128)den);
}

static void display(struct mj_out *o, int64_t micros, const struct currency *c)
{
	if (c->minor_digits == 0) {
		mj_printf(o, "%s%lld", c->symbol, (long long)((micros + 500000) / 1000000));
	} else {
		int64_t cents = (micros + 5000) / 10000;
		mj_printf(o, "%s%lld.%02lld", c->symbol, (long long)(cents / 100), (long long)(cents % 100));
	}
}

int ferry_handle(struct ferry_call *call)
{
	uint32_t len;
	const uint8_t *in = ferry_input(call, &len);
	struct mj_val req, v;
	const struct currency *from, *to;
	int64_t amount;
	char err[192], buf[512];
	struct mj_out o = { buf, 0, sizeof(buf), 0 };

	if (mj_parse(in, len, &req, err, sizeof(err)))
		return reject_json(call, err);
	if (req.type != MJ_OBJECT)
		return reject_json(call, "the request must be a JSON object");
	if (!(from = currency_field(call, &req, "from")) || !(to = currency_field(call, &req, "to")))
		return -1;
	if (mj_get(&req, "amountMicros", &v)) {
		if (mj_int64(&v, &amount))
			return reject_field(call, "\"amountMicros\" must be an integer number of millionths");
	} else if (mj_get(&req, "amount", &v)) {
		if (mj_fixed6(&v, &amount))
			return reject_field(call, "\"amount\" must be a decimal number with at most 6 decimal places "
						  "(no exponent)");
	} else
		return reject_field(call, "\"amount\" (e.g. 19.99) or \"amountMicros\" (e.g. 19990000) is required");
	if (amount < 0)
		return reject_field(call, "the amount must not be negative");
	if (amount > MAX_AMOUNT_MICROS)
		return reject_field(call, "the amount is too large (at most 1e9 units)");

	int64_t converted = muldiv(amount, to->per_eur_e5, from->per_eur_e5);
	int64_t rate = muldiv(1000000, to->per_eur_e5, from->per_eur_e5);

	mj_printf(&o, "{\"from\":\"%s\",\"to\":\"%s\",\"amountMicros\":%lld,\"convertedMicros\":%lld,"
		      "\"rateMicros\":%lld,\"display\":\"",
		  from->code, to->code, (long long)amount, (long long)converted, (long long)rate);
	display(&o, converted, to);
	mj_puts(&o, "\"}");
	return out_send(call, &o); /* in place: the input buffer has room */
}
