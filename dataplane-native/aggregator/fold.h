/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The arithmetic of federated averaging over float32 tensors, in one place:
 * the native aggregator folds with it, and the Node addon exports the same
 * kernels (native.flFold, native.flAllFinite) so the gRPC baseline in
 * bench/fl does exactly the same arithmetic as ferry.
 *
 * Loops are written for the vectorizer: restrict pointers, no branch in the
 * body, and one clone per instruction set (AVX2 or the baseline, chosen at
 * load time). Every kernel runs front to back, so a sum is deterministic
 * given the order updates are folded in.
 */
#ifndef FERRY_FL_FOLD_H
#define FERRY_FL_FOLD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* acc[i] += w * u[i] */
void ferry_fl_fold(float *acc, const float *u, float w, size_t n);
/* v[i] *= w */
void ferry_fl_scale(float *v, float w, size_t n);
/* 1 when no value is NaN or +-Inf, else 0 (the whole tensor is read). */
int ferry_fl_all_finite(const float *v, size_t n);
/* acc[i] = base[i] + acc[i] * inv_w (base NULL: zeros). */
void ferry_fl_finalize(float *acc, const float *base, float inv_w, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_FL_FOLD_H */
