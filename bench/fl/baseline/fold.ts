/**
 * The FedAvg arithmetic the baseline shares with ferry's aggregator: the
 * addon's flFold / flAllFinite (the C kernel ferry-aggregator.so folds
 * with, exported by branch fl-native) when this build has them, else the
 * same operation as a TypeScript loop. The bench compares architectures
 * (keep every update until round end vs fold eagerly in shared memory),
 * not arithmetic, so both systems must run the same kernel; `foldKernel`
 * says which one ran and the report prints it.
 */
import { native } from '../../../control/dataplane/native.js';

/** acc[i] += weight * delta[i] for every i (lengths must match). */
export type Fold = (acc: Float32Array, delta: Float32Array, weight: number) => void;
/** Whether every value is finite (no NaN, no +-Inf). */
export type AllFinite = (values: Float32Array) => boolean;

interface FlKernels {
  flFold?: Fold;
  flAllFinite?: AllFinite;
}

const tsFold: Fold = (acc, delta, weight) => {
  if (acc.length !== delta.length) throw new RangeError(`fold: accumulator has ${acc.length} values, delta ${delta.length}`);
  for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + weight * delta[i]!;
};

const tsAllFinite: AllFinite = (values) => {
  for (let i = 0; i < values.length; i++) {
    // x - x is NaN exactly for NaN and +-Inf: one test instead of two.
    if (values[i]! - values[i]! !== 0) return false;
  }
  return true;
};

const kernels = native as unknown as FlKernels;

export const fold: Fold = kernels.flFold ? kernels.flFold.bind(native) : tsFold;
export const allFinite: AllFinite = kernels.flAllFinite ? kernels.flAllFinite.bind(native) : tsAllFinite;
/** "native" when the C kernel runs, "ts" for the stand-in loop. */
export const foldKernel: 'native' | 'ts' = kernels.flFold && kernels.flAllFinite ? 'native' : 'ts';
