/**
 * The models bench:fl runs: synthetic flat tensors of a byte size (1MB,
 * 47MB: ResNet-18's 11,689,512 float32 parameters) and the digits MLP
 * (64 inputs, 32 hidden, 10 classes), named on the command line.
 */
import { network } from '../../control/fl/train/network.js';

import type { Layer } from '../../control/fl/model.js';

export interface BenchModel {
  /** As given on the command line: "1MB", "47MB", "digits". */
  name: string;
  paramCount: number;
  /** Empty: one flat tensor. */
  layers: Layer[];
}

/** ResNet-18's parameter count: the issue's "47 MB" model. */
export const RESNET18_PARAMS = 11_689_512;
/** The training library's digits MLP (control/fl/train/network.ts). */
export const DIGITS_MLP = network('mlp');

/** "1MB" (10^6 bytes: 250,000 float32s), "47MB" (ResNet-18), "NMB", "NKB", or "digits". */
export function parseModel(name: string): BenchModel {
  if (name === 'digits') return { name, paramCount: DIGITS_MLP.paramCount, layers: DIGITS_MLP.layers };
  if (name === '47MB') return { name, paramCount: RESNET18_PARAMS, layers: [] };
  const m = /^(\d+(?:\.\d+)?)(KB|MB)$/.exec(name);
  if (!m) throw new Error(`--models: "${name}" is not a model: use digits, 47MB (ResNet-18) or a size like 1MB, 200KB`);
  const bytes = Number(m[1]) * (m[2] === 'MB' ? 1e6 : 1e3);
  const count = Math.max(1, Math.floor(bytes / 4));
  return { name, paramCount: count, layers: [] };
}
