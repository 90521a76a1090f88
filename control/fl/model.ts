/**
 * A job's model as a flat float32 tensor, and its round-0 values. The
 * coordinator (ferryd) and the gRPC baseline both start from
 * initialModel(), so a seed names the same model everywhere.
 */
import { seeded } from '../random.js';

export interface Layer {
  name: string;
  shape: number[];
}

export const layerSize = (l: Layer) => l.shape.reduce((n, d) => n * d, 1);
export const paramCount = (layers: Layer[]) => layers.reduce((n, l) => n + layerSize(l), 0);


/** Round 0: weights (rank >= 2) glorot-uniform in +-sqrt(6 / (fanIn +
 * fanOut)) with fanIn = shape[0], fanOut = the product of the rest; biases
 * (rank 1) and flat models given as a parameter count (no layers) zero. */
export function initialModel(layers: Layer[], count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  const rand = seeded(seed);
  let at = 0;
  for (const l of layers) {
    const n = layerSize(l);
    if (l.shape.length >= 2) {
      const fanIn = l.shape[0]!;
      const fanOut = n / fanIn;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < n; i++) out[at + i] = (rand() * 2 - 1) * limit;
    }
    at += n;
  }
  return out;
}
