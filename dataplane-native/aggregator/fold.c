// SPDX-License-Identifier: Apache-2.0
/* FedAvg kernels: see fold.h. */
#include "fold.h"

#include <stdint.h>
#include <string.h>

/* Vectorized whatever -O level the includer builds with (the addon's
 * node-gyp build says -O2, where GCC's cheapest cost model leaves loops of
 * unknown length scalar). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif

/* One clone for AVX2 machines and one for any x86-64; elsewhere the
 * compiler's own choice. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FERRY_VECTOR __attribute__((target_clones("avx2", "default")))
#else
#define FERRY_VECTOR
#endif

FERRY_VECTOR
void ferry_fl_fold(float *restrict acc, const float *restrict u, float w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		acc[i] += w * u[i];
}

FERRY_VECTOR
void ferry_fl_scale(float *restrict v, float w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] *= w;
}

/* Exponent bits all ones: Inf or NaN. On the bits, not with isfinite(),
 * so the loop is integer AND/compare/OR the vectorizer takes, checked a
 * block at a time so a bad tensor is not read to the end for nothing. */
FERRY_VECTOR
int ferry_fl_all_finite(const float *restrict v, size_t n)
{
	const size_t block = 4096;

	for (size_t at = 0; at < n; at += block) {
		size_t end = n - at < block ? n : at + block;
		uint32_t bad = 0;

		for (size_t i = at; i < end; i++) {
			uint32_t bits;

			memcpy(&bits, &v[i], sizeof(bits));
			bad |= (uint32_t)((bits & 0x7f800000u) == 0x7f800000u);
		}
		if (bad)
			return 0;
	}
	return 1;
}

FERRY_VECTOR
void ferry_fl_finalize(float *restrict acc, const float *restrict base, float inv_w, size_t n)
{
	if (!base) {
		ferry_fl_scale(acc, inv_w, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		acc[i] = base[i] + acc[i] * inv_w;
}
