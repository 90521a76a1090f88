// SPDX-License-Identifier: Apache-2.0
/* Stage 2 (native): counts words in the normalized text and writes the ten
 * most frequent as JSON into a fresh pool buffer:
 *   {"words":N,"distinct":D,"top":[["the",12],...]}                        */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/ferry_fn.h"

#define TABLE 4096 /* open addressing; distinct words beyond this are merged */

struct slot {
	const uint8_t *word;
	uint32_t len;
	uint32_t count;
};

static uint32_t hash(const uint8_t *w, uint32_t len)
{
	uint32_t h = 2166136261u;

	for (uint32_t i = 0; i < len; i++)
		h = (h ^ w[i]) * 16777619u;
	return h;
}

static int by_count(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->word, y->word, x->len);
}

int ferry_handle(struct ferry_call *call)
{
	static struct slot table[TABLE], seen[TABLE];
	uint32_t len, i = 0, words = 0, distinct = 0;
	const uint8_t *in = ferry_input(call, &len);

	memset(table, 0, sizeof(table));
	while (i < len) {
		while (i < len && in[i] == ' ')
			i++;
		uint32_t start = i;
		while (i < len && in[i] != ' ')
			i++;
		if (i == start)
			break;
		uint32_t wl = i - start, h = hash(in + start, wl) % TABLE;
		for (uint32_t probe = 0; probe < TABLE; probe++, h = (h + 1) % TABLE) {
			struct slot *s = &table[h];
			if (!s->word) {
				*s = (struct slot){ in + start, wl, 1 };
				distinct++;
				break;
			}
			if (s->len == wl && memcmp(s->word, in + start, wl) == 0) {
				s->count++;
				break;
			}
		}
		words++;
	}
	/* Sort only the distinct words, not the whole table. */
	for (uint32_t k = 0, j = 0; k < TABLE; k++)
		if (table[k].word)
			seen[j++] = table[k];
	qsort(seen, distinct, sizeof(seen[0]), by_count);

	/* Output: bounded by 10 words of at most 64 shown bytes each. */
	uint8_t *out = ferry_output_alloc(call, 2048);
	if (!out)
		return -1; /* the runner reports why (pool exhausted) */
	int n = snprintf((char *)out, 2048, "{\"words\":%u,\"distinct\":%u,\"top\":[", words, distinct);
	for (uint32_t k = 0; k < 10 && k < distinct; k++) {
		uint32_t wl = seen[k].len > 64 ? 64 : seen[k].len;
		n += snprintf((char *)out + n, 2048 - n, "%s[\"", k ? "," : "");
		for (uint32_t c = 0; c < wl; c++) /* JSON-safe: no quote or backslash in a word */
			out[n++] = (seen[k].word[c] == '"' || seen[k].word[c] == '\\') ? '_' : seen[k].word[c];
		n += snprintf((char *)out + n, 2048 - n, "\",%u]", seen[k].count);
	}
	n += snprintf((char *)out + n, 2048 - n, "]}");
	return ferry_output_commit(call, (uint32_t)n);
}
