/**
 * The models bench:fl runs: synthetic flat tensors of a byte size (1MB,
 * 47MB: ResNet-18's 11,689,512 float32 parameters) and the digits MLP
 * (64 inputs, 32 hidden, 10 classes), named on the command line.
 */
import type { Layer } from '../../control/fl/model.js';
import { paramCount } from '../../control/fl/model.js';

export interface BenchModel {
  /** As given on the command line: "1MB", "47MB", "digits". */
  name: string;
  paramCount: number;
  /** Empty: one flat tensor. */
  layers: Layer[];
}

/** ResNet-18's parameter count: the issue's "47 MB" model. */
export const RESNET18_PARAMS = 11_689_512;
export const DIGITS_MLP: Layer[] = [
  { name: 'fc1.weight', shape: [64, 32] },
  { name: 'fc1.bias', shape: [32] },
  { name: 'fc2.weight', shape: [32, 10] },
  { name: 'fc2.bias', shape: [10] },
];

/** "1MB" (10^6 bytes: 250,000 float32s), "47MB" (ResNet-18), "NMB", "NKB", or "digits". */
export function parseModel(name: string): BenchModel {
  if (name === 'digits') return { name, paramCount: paramCount(DIGITS_MLP), layers: DIGITS_MLP };
  if (name === '47MB') return { name, paramCount: RESNET18_PARAMS, layers: [] };
  const m = /^(\d+(?:\.\d+)?)(KB|MB)$/.exec(name);
  if (!m) throw new Error(`--models: "${name}" is not a model: use digits, 47MB (ResNet-18) or a size like 1MB, 200KB`);
  const bytes = Number(m[1]) * (m[2] === 'MB' ? 1e6 : 1e3);
  const count = Math.max(1, Math.floor(bytes / 4));
  return { name, paramCount: count, layers: [] };
}
