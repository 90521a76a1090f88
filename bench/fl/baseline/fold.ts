/**
 * The FedAvg arithmetic the baseline shares with ferry's aggregator: the
 * addon's flFold / flAllFinite, the C kernels ferry-aggregator.so folds
 * with (dataplane-native/aggregator/fold.c). The bench compares
 * architectures (keep every update until round end vs fold eagerly in
 * shared memory), not arithmetic, so both systems run the same kernel.
 */
import { native } from '../../../control/dataplane/native.js';

/** acc[i] += weight * delta[i] for every i, in float32 (lengths must match, no overlap). */
export type Fold = (acc: Float32Array, delta: Float32Array, weight: number) => void;
/** Whether every value is finite (no NaN, no +-Inf). */
export type AllFinite = (values: Float32Array) => boolean;

if (typeof native.flFold !== 'function') throw new Error('the native addon has no flFold (built before the FL kernels): run `npm run build`');

export const fold: Fold = (acc, delta, weight) => native.flFold(acc, delta, weight);
export const allFinite: AllFinite = (values) => native.flAllFinite(values);
/** Which kernel runs, for the report. */
export const foldKernel = 'native (ferry_fl_fold, the aggregator\'s own)';
