// SPDX-License-Identifier: Apache-2.0
/* Stage `payment` (native): charges the order `checkout` priced.
 *
 * Input: the order from `checkout`, e.g.
 *   {"orderId":"ord-…","currency":"EUR","totalMicros":46911547,…,
 *    "card":{"number":"4111 1111 1111 1111","expMonth":12,"expYear":2035,"cvv":"123"}}
 *
 * Checks, as Online Boutique's payment service does: the number has 12 to 19
 * digits (spaces and dashes allowed between them) and passes the Luhn check,
 * the network is VISA or MasterCard, the card has not expired; the amount is
 * a positive integer of micros in a supported currency. A card that fails
 * a check is the shopper's to fix: 422 invalidCard (cardExpired), with a
 * message saying what is wrong; an order checkout should never have sent
 * fails the request (500).
 *
 * Output (to `email`): the same order with the card removed (the number goes
 * no further than this stage) and a payment record in front:
 *   {"payment":{"transactionId":"txn-…","cardType":"visa","last4":"1111",
 *    "amountMicros":46911547,"currency":"EUR","status":"charged"},"orderId":…}
 * The other members are copied byte for byte from the input, not re-encoded.
 * The transaction id is a hash of order, card and amount, so a retried
 * charge of the same order gets the same id (idempotent). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ferry/ferry_fn.h"
#include "../../lib/output.h"

/* A card member is the shopper's to fix (422 invalidCard); any other is an
 * order member checkout sets, so a problem there is a bug (500). */
static int fail_field(struct ferry_call *call, const char *field, const char *what)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "\"%s\" %s", field, what);
	if (strncmp(field, "card", 4) == 0)
		return ferry_fail_status(call, 422, "invalidCard", msg);
	return ferry_fail(call, msg);
}

/* Luhn: from the rightmost digit, double every second one. */
static int luhn_ok(const char *digits, int n)
{
	int sum = 0;

	for (int i = 0; i < n; i++) {
		int d = digits[n - 1 - i] - '0';
		if (i % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

static const char *network(const char *d, int n)
{
	int two = (d[0] - '0') * 10 + (d[1] - '0');
	int four = n >= 4 ? atoi((char[5]){ d[0], d[1], d[2], d[3], 0 }) : 0;

	if (d[0] == '4')
		return "visa";
	if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720))
		return "mastercard";
	if (two == 34 || two == 37)
		return "amex";
	if (four == 6011 || two == 65)
		return "discover";
	return "unknown";
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

int ferry_handle(struct ferry_call *call)
{
	uint32_t len;
	const uint8_t *in = ferry_input(call, &len);
	struct mj_val order, card, v;
	char err[192], raw[64], digits[24], order_id[72], currency[8];
	int64_t total, exp_month, exp_year;
	int nd = 0;

	if (len > (1u << 26))
		return ferry_fail(call, "the order is too large (more than 64 MiB)");
	if (mj_parse(in, len, &order, err, sizeof(err)))
		return ferry_fail(call, err);
	if (order.type != MJ_OBJECT)
		return ferry_fail(call, "the order must be a JSON object");

	if (!mj_get(&order, "orderId", &v) || mj_str(&v, order_id, sizeof(order_id)) < 1)
		return fail_field(call, "orderId", "is required: a non-empty string of at most 64 bytes");
	if (!mj_get(&order, "currency", &v) || mj_str(&v, currency, sizeof(currency)) != 3 ||
	    (strcmp(currency, "USD") && strcmp(currency, "EUR") && strcmp(currency, "JPY") && strcmp(currency, "GBP")))
		return fail_field(call, "currency", "must be one of USD, EUR, JPY, GBP");
	if (!mj_get(&order, "totalMicros", &v) || mj_int64(&v, &total) || total <= 0)
		return fail_field(call, "totalMicros", "must be a positive integer (millionths of the currency unit)");

	if (!mj_get(&order, "card", &card) || card.type != MJ_OBJECT)
		return fail_field(call, "card", "is required: {number, expMonth, expYear, cvv}");
	if (!mj_get(&card, "number", &v) || mj_str(&v, raw, sizeof(raw)) < 0)
		return fail_field(call, "card.number", "is required: a string of 12 to 19 digits");
	for (const char *p = raw; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			if (nd >= 19)
				return fail_field(call, "card.number", "has more than 19 digits");
			digits[nd++] = *p;
		} else if (*p != ' ' && *p != '-')
			return fail_field(call, "card.number", "may hold only digits, spaces and dashes");
	}
	digits[nd] = 0;
	if (nd < 12)
		return fail_field(call, "card.number", "has fewer than 12 digits");
	if (!luhn_ok(digits, nd))
		return ferry_fail_status(call, 422, "invalidCard", "invalid card number: it fails the Luhn check");
	const char *type = network(digits, nd);
	if (strcmp(type, "visa") && strcmp(type, "mastercard")) {
		snprintf(err, sizeof(err), "%s cards are not accepted: only VISA and MasterCard", type);
		return ferry_fail_status(call, 422, "invalidCard", err);
	}

	if (!mj_get(&card, "expMonth", &v) || mj_int64(&v, &exp_month) || exp_month < 1 || exp_month > 12)
		return fail_field(call, "card.expMonth", "must be an integer from 1 to 12");
	if (!mj_get(&card, "expYear", &v) || mj_int64(&v, &exp_year) || exp_year < 0 || exp_year > 9999)
		return fail_field(call, "card.expYear", "must be a year such as 2031 (or 31)");
	if (exp_year < 100)
		exp_year += 2000;
	if (mj_get(&card, "cvv", &v)) {
		char cvv[8];
		int n = mj_str(&v, cvv, sizeof(cvv));
		if (n < 3 || n > 4 || strspn(cvv, "0123456789") != (size_t)n)
			return fail_field(call, "card.cvv", "must be a string of 3 or 4 digits");
	}
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	if (exp_year * 12 + exp_month < (int64_t)(tm.tm_year + 1900) * 12 + tm.tm_mon + 1) {
		snprintf(err, sizeof(err), "the card expired on %02lld/%04lld", (long long)exp_month,
			 (long long)exp_year);
		return ferry_fail_status(call, 422, "cardExpired", err);
	}

	/* Charge (the example's ledger is the transaction id itself). */
	uint64_t h = 14695981039346656037ULL;
	h = fnv1a(h, order_id, strlen(order_id));
	h = fnv1a(h, "|", 1);
	h = fnv1a(h, digits, (size_t)nd);
	char amount[24];
	h = fnv1a(h, amount, (size_t)snprintf(amount, sizeof(amount), "|%lld|", (long long)total));
	h = fnv1a(h, currency, 3);

	/* Output: payment record + every member but card (and any old payment). */
	struct mj_out o;
	if (out_begin(call, &o, len + 512))
		return -1; /* the runner says why (pool exhausted) */

	mj_printf(&o, "{\"payment\":{\"transactionId\":\"txn-%016llx\",\"cardType\":\"%s\",\"last4\":\"%s\","
		      "\"amountMicros\":%lld,\"currency\":\"%s\",\"status\":\"charged\"}",
		  (unsigned long long)h, type, digits + nd - 4, (long long)total, currency);
	mj_copy_members(&o, &order, (const char *const[]){ "card", "payment", NULL });
	mj_raw(&o, "}", 1);
	return out_commit(call, &o);
}
