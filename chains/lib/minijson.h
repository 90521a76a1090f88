/* SPDX-License-Identifier: Apache-2.0 */
/*
 * minijson: a small, strict, allocation-free JSON reader and writer for the
 * example chains' native functions (header only; every function is
 * `static inline`, so a function that uses part of it warns about nothing).
 *
 * Reading is two steps:
 *
 *   1. mj_parse() validates the whole input once (RFC 8259 grammar, UTF-8 in
 *      strings, nesting at most MJ_MAX_DEPTH) and returns the root value as a
 *      span of the input; on failure it writes a message naming the byte
 *      offset and what was wrong.
 *   2. Accessors walk validated spans without copying: mj_get() finds an
 *      object member (the last one wins on duplicates, as with JSON.parse),
 *      mj_obj_next() / mj_arr_next() iterate, mj_str() / mj_int64() /
 *      mj_double() / mj_fixed6() convert a scalar with range checks.
 *
 * Writing: struct mj_out appends into a caller-provided buffer (typically a
 * pool buffer from ferry_output_alloc) and remembers an overflow instead of
 * writing past the end; mj_quote() escapes a string for JSON.
 *
 * Nothing here reads outside [buf, buf + len): the input is not
 * NUL-terminated in the pool.
 */
#ifndef FERRY_MINIJSON_H
#define FERRY_MINIJSON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MJ_MAX_DEPTH 32

enum mj_type { MJ_NONE, MJ_NULL, MJ_FALSE, MJ_TRUE, MJ_NUMBER, MJ_STRING, MJ_ARRAY, MJ_OBJECT };

/* A value: its type and its bytes in the input (quotes and brackets
 * included). */
struct mj_val {
	enum mj_type type;
	const char *p;
	const char *end;
};

struct mj_parser {
	const char *s, *p, *end;
	char *err;
	size_t errlen;
};

static inline int mj__fail(struct mj_parser *ps, const char *what)
{
	if (ps->err && ps->errlen && !ps->err[0])
		snprintf(ps->err, ps->errlen, "malformed JSON at byte %ld: %s", (long)(ps->p - ps->s), what);
	return -1;
}

static inline void mj__ws(struct mj_parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static inline int mj__isdigit(char c)
{
	return c >= '0' && c <= '9';
}

static inline int mj__hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static inline int mj__utf8(const char *p, const char *end)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t room = (size_t)(end - p);
	unsigned char lo = 0x80, hi = 0xbf;
	int n;

	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		n = 2;
	else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		n = 3;
		if (u[0] == 0xe0)
			lo = 0xa0; /* overlong */
		if (u[0] == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		n = 4;
		if (u[0] == 0xf0)
			lo = 0x90; /* overlong */
		if (u[0] == 0xf4)
			hi = 0x8f; /* > U+10FFFF */
	} else
		return 0;
	if (room < (size_t)n || u[1] < lo || u[1] > hi)
		return 0;
	for (int i = 2; i < n; i++)
		if (u[i] < 0x80 || u[i] > 0xbf)
			return 0;
	return n;
}

static inline int mj__string(struct mj_parser *ps)
{
	ps->p++; /* the opening quote */
	while (ps->p < ps->end) {
		unsigned char c = (unsigned char)*ps->p;

		if (c == '"') {
			ps->p++;
			return 0;
		}
		if (c < 0x20)
			return mj__fail(ps, "control character in a string");
		if (c == '\\') {
			if (ps->p + 1 >= ps->end)
				break;
			switch (ps->p[1]) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				ps->p += 2;
				continue;
			case 'u':
				for (int i = 2; i < 6; i++)
					if (ps->p + i >= ps->end || mj__hex(ps->p[i]) < 0)
						return mj__fail(ps, "bad \\u escape");
				ps->p += 6;
				continue;
			default:
				return mj__fail(ps, "bad escape in a string");
			}
		}
		if (c >= 0x80) {
			int n = mj__utf8(ps->p, ps->end);
			if (!n)
				return mj__fail(ps, "invalid UTF-8 in a string");
			ps->p += n;
			continue;
		}
		ps->p++;
	}
	return mj__fail(ps, "unterminated string");
}

static inline int mj__number(struct mj_parser *ps)
{
	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end)
		return mj__fail(ps, "truncated number");
	if (*ps->p == '0')
		ps->p++;
	else if (*ps->p >= '1' && *ps->p <= '9')
		while (ps->p < ps->end && mj__isdigit(*ps->p))
			ps->p++;
	else
		return mj__fail(ps, "bad number");
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		if (ps->p >= ps->end || !mj__isdigit(*ps->p))
			return mj__fail(ps, "digits expected after '.'");
		while (ps->p < ps->end && mj__isdigit(*ps->p))
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || !mj__isdigit(*ps->p))
			return mj__fail(ps, "digits expected in the exponent");
		while (ps->p < ps->end && mj__isdigit(*ps->p))
			ps->p++;
	}
	return 0;
}

static inline int mj__literal(struct mj_parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return mj__fail(ps, "unexpected word");
	ps->p += n;
	return 0;
}

static inline int mj__value(struct mj_parser *ps, struct mj_val *v, int depth)
{
	const char *start;
	enum mj_type t;

	mj__ws(ps);
	if (ps->p >= ps->end)
		return mj__fail(ps, "unexpected end of input");
	start = ps->p;
	switch (*ps->p) {
	case '{':
	case '[': {
		char close = *ps->p == '{' ? '}' : ']';

		t = close == '}' ? MJ_OBJECT : MJ_ARRAY;
		if (depth >= MJ_MAX_DEPTH)
			return mj__fail(ps, "nested too deeply");
		ps->p++;
		mj__ws(ps);
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			break;
		}
		for (;;) {
			if (t == MJ_OBJECT) {
				mj__ws(ps);
				if (ps->p >= ps->end || *ps->p != '"')
					return mj__fail(ps, "expected a string key");
				if (mj__string(ps))
					return -1;
				mj__ws(ps);
				if (ps->p >= ps->end || *ps->p != ':')
					return mj__fail(ps, "expected ':'");
				ps->p++;
			}
			if (mj__value(ps, NULL, depth + 1))
				return -1;
			mj__ws(ps);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == close) {
				ps->p++;
				break;
			}
			return mj__fail(ps, t == MJ_OBJECT ? "expected ',' or '}'" : "expected ',' or ']'");
		}
		break;
	}
	case '"':
		t = MJ_STRING;
		if (mj__string(ps))
			return -1;
		break;
	case 't':
	case 'f':
	case 'n':
		t = *ps->p == 't' ? MJ_TRUE : *ps->p == 'f' ? MJ_FALSE : MJ_NULL;
		if (mj__literal(ps, t == MJ_TRUE ? "true" : t == MJ_FALSE ? "false" : "null"))
			return -1;
		break;
	default:
		if (*ps->p != '-' && !mj__isdigit(*ps->p))
			return mj__fail(ps, "unexpected character");
		t = MJ_NUMBER;
		if (mj__number(ps))
			return -1;
	}
	if (v) {
		v->type = t;
		v->p = start;
		v->end = ps->p;
	}
	return 0;
}

/* Validates buf[0..len) as one JSON value (surrounding whitespace allowed).
 * 0 and *root on success; -1 and a message in err otherwise. */
static inline int mj_parse(const void *buf, size_t len, struct mj_val *root, char *err, size_t errlen)
{
	struct mj_parser ps = { (const char *)buf, (const char *)buf, (const char *)buf + len, err, errlen };

	if (err && errlen)
		err[0] = 0;
	if (len == 0) {
		if (err && errlen)
			snprintf(err, errlen, "empty body: a JSON object was expected");
		return -1;
	}
	if (mj__value(&ps, root, 0))
		return -1;
	mj__ws(&ps);
	if (ps.p != ps.end)
		return mj__fail(&ps, "trailing data after the JSON value");
	return 0;
}

/* ---- walking validated values ---------------------------------------- */

struct mj_iter {
	struct mj_parser ps;
};

static inline void mj_iter_init(struct mj_iter *it, const struct mj_val *container)
{
	it->ps.s = container->p;
	it->ps.p = container->p + 1; /* past '{' or '[' */
	it->ps.end = container->end - 1; /* before '}' or ']' */
	it->ps.err = NULL;
	it->ps.errlen = 0;
}

static inline void mj__sep(struct mj_parser *ps)
{
	mj__ws(ps);
	if (ps->p < ps->end && *ps->p == ',')
		ps->p++;
}

/* Next member of a validated object: 1 with key (a string value) and val,
 * 0 at the end. */
static inline int mj_obj_next(struct mj_iter *it, struct mj_val *key, struct mj_val *val)
{
	struct mj_parser *ps = &it->ps;

	mj__sep(ps);
	mj__ws(ps);
	if (ps->p >= ps->end)
		return 0;
	if (mj__value(ps, key, 0) || key->type != MJ_STRING)
		return 0;
	mj__ws(ps);
	if (ps->p >= ps->end || *ps->p != ':')
		return 0;
	ps->p++;
	return mj__value(ps, val, 0) == 0;
}

/* Next element of a validated array: 1 with val, 0 at the end. */
static inline int mj_arr_next(struct mj_iter *it, struct mj_val *val)
{
	struct mj_parser *ps = &it->ps;

	mj__sep(ps);
	mj__ws(ps);
	if (ps->p >= ps->end)
		return 0;
	return mj__value(ps, val, 0) == 0;
}

static inline size_t mj_arr_len(const struct mj_val *arr)
{
	struct mj_iter it;
	struct mj_val v;
	size_t n = 0;

	if (arr->type != MJ_ARRAY)
		return 0;
	mj_iter_init(&it, arr);
	while (mj_arr_next(&it, &v))
		n++;
	return n;
}

static inline void mj__utf8_put(char *out, size_t *n, uint32_t cp)
{
	if (cp < 0x80)
		out[(*n)++] = (char)cp;
	else if (cp < 0x800) {
		out[(*n)++] = (char)(0xc0 | (cp >> 6));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xe0 | (cp >> 12));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*n)++] = (char)(0xf0 | (cp >> 18));
		out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

static inline uint32_t mj__hex4(const char *p)
{
	return (uint32_t)(mj__hex(p[0]) << 12 | mj__hex(p[1]) << 8 | mj__hex(p[2]) << 4 | mj__hex(p[3]));
}

/* Decodes a validated string value into out (NUL-terminated, UTF-8).
 * Returns its length, or -1 if v is not a string, does not fit in cap - 1
 * bytes, or holds U+0000 or a lone surrogate. */
static inline int mj_str(const struct mj_val *v, char *out, size_t cap)
{
	const char *p, *end;
	size_t n = 0;

	if (!v || v->type != MJ_STRING || cap == 0)
		return -1;
	p = v->p + 1;
	end = v->end - 1;
	while (p < end) {
		uint32_t cp;

		if (*p != '\\') {
			if (n + 1 >= cap)
				return -1;
			out[n++] = *p++;
			continue;
		}
		switch (p[1]) {
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			cp = mj__hex4(p + 2);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				uint32_t lo;

				if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
					return -1;
				lo = mj__hex4(p + 8);
				if (lo < 0xdc00 || lo > 0xdfff)
					return -1;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			} else if (cp >= 0xdc00 && cp <= 0xdfff)
				return -1;
			if (cp == 0)
				return -1;
			p += 4;
			break;
		default: cp = (unsigned char)p[1]; /* " \ / */
		}
		p += 2;
		if (n + 4 >= cap)
			return -1;
		mj__utf8_put(out, &n, cp);
	}
	out[n] = 0;
	return (int)n;
}

/* Whether a string value equals key (decoded comparison). */
static inline int mj_str_eq(const struct mj_val *v, const char *key)
{
	char buf[128];
	int n = mj_str(v, buf, sizeof(buf));

	return n >= 0 && (size_t)n == strlen(key) && memcmp(buf, key, (size_t)n) == 0;
}

/* The member `key` of a validated object (the last one if repeated).
 * 1 and *out if present, 0 otherwise (or if obj is not an object). */
static inline int mj_get(const struct mj_val *obj, const char *key, struct mj_val *out)
{
	struct mj_iter it;
	struct mj_val k, v;
	int found = 0;

	if (!obj || obj->type != MJ_OBJECT)
		return 0;
	mj_iter_init(&it, obj);
	while (mj_obj_next(&it, &k, &v))
		if (mj_str_eq(&k, key)) {
			*out = v;
			found = 1;
		}
	return found;
}

/* Where a number's digits start, past its sign (NULL if v is no number). */
static inline const char *mj__digits(const struct mj_val *v, int *neg)
{
	if (!v || v->type != MJ_NUMBER)
		return NULL;
	*neg = *v->p == '-';
	return v->p + *neg;
}

/* An integral number (no fraction, no exponent) that fits in int64. */
static inline int mj_int64(const struct mj_val *v, int64_t *out)
{
	int neg;
	const char *p = mj__digits(v, &neg);
	uint64_t acc = 0, limit;

	if (!p)
		return -1;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; p < v->end; p++) {
		if (!mj__isdigit(*p))
			return -1; /* '.', 'e': not an integer */
		if (acc > (limit - (uint64_t)(*p - '0')) / 10)
			return -1;
		acc = acc * 10 + (uint64_t)(*p - '0');
	}
	*out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return 0;
}

/* Any number, as a double (finite). */
static inline int mj_double(const struct mj_val *v, double *out)
{
	char buf[64];
	size_t n;
	char *endp;

	if (!v || v->type != MJ_NUMBER)
		return -1;
	n = (size_t)(v->end - v->p);
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, v->p, n);
	buf[n] = 0;
	*out = strtod(buf, &endp);
	if (endp != buf + n || *out != *out || *out > 1.7e308 || *out < -1.7e308)
		return -1;
	return 0;
}

/* A decimal number with at most 6 fractional digits and no exponent, in
 * millionths (19.99 -> 19990000), exactly, no floating point. |value|
 * must stay below 9.2e12. */
static inline int mj_fixed6(const struct mj_val *v, int64_t *out)
{
	int neg, frac_digits = 0;
	const char *p = mj__digits(v, &neg);
	int64_t whole = 0, frac = 0;

	if (!p)
		return -1;
	for (; p < v->end && mj__isdigit(*p); p++) {
		if (whole > 9200000000000LL / 10)
			return -1;
		whole = whole * 10 + (*p - '0');
	}
	if (p < v->end && *p == '.')
		for (p++; p < v->end && mj__isdigit(*p); p++) {
			if (++frac_digits > 6)
				return -1;
			frac = frac * 10 + (*p - '0');
		}
	if (p != v->end)
		return -1; /* an exponent */
	for (int i = frac_digits; i < 6; i++)
		frac *= 10;
	*out = (whole * 1000000 + frac) * (neg ? -1 : 1);
	return 0;
}

/* ---- writing --------------------------------------------------------- */

struct mj_out {
	char *p;
	size_t len, cap;
	int overflow;
};

static inline void mj_raw(struct mj_out *o, const char *s, size_t n)
{
	if (o->overflow || n > o->cap - o->len) {
		o->overflow = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static inline void mj_puts(struct mj_out *o, const char *s)
{
	mj_raw(o, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static inline void mj_printf(struct mj_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len) {
		o->overflow = 1;
		return;
	}
	o->len += (size_t)n;
}

/* s[0..n) as a JSON string, quotes included (s is UTF-8). */
static inline void mj_quote(struct mj_out *o, const char *s, size_t n)
{
	mj_raw(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };
			mj_raw(o, esc, 2);
		} else if (c < 0x20)
			mj_printf(o, "\\u%04x", c);
		else
			mj_raw(o, (const char *)&s[i], 1);
	}
	mj_raw(o, "\"", 1);
}

static inline void mj_quotes(struct mj_out *o, const char *s)
{
	mj_quote(o, s, strlen(s));
}

/* Appends `,"key":value` for every member of a validated object whose key is
 * not in skip (a NULL-terminated list), byte for byte from the input: the
 * members a stage does not touch travel on without being re-encoded. */
static inline void mj_copy_members(struct mj_out *o, const struct mj_val *obj, const char *const *skip)
{
	struct mj_iter it;
	struct mj_val k, v;

	mj_iter_init(&it, obj);
	while (mj_obj_next(&it, &k, &v)) {
		int keep = 1;
		for (const char *const *s = skip; *s && keep; s++)
			keep = !mj_str_eq(&k, *s);
		if (keep) {
			mj_raw(o, ",", 1);
			mj_raw(o, k.p, (size_t)(v.end - k.p));
		}
	}
}

#endif /* FERRY_MINIJSON_H */
