/**
 * The clients' models: fully connected networks, ReLU between layers,
 * softmax cross-entropy at the end, over ONE flat Float32Array of
 * parameters in control/fl/model.ts's layer order (fc1.weight [in, out],
 * fc1.bias [out], fc2.weight, ...), the tensor a job's model is. Multinomial
 * logistic regression is the network with no hidden layer.
 *
 * Weights are [in, out] row-major, so a forward pass walks each weight row
 * contiguously (x[i] times row i, added into z), the loop order that
 * vectorises and stays in cache.
 */
import { paramCount, type Layer } from '../model.js';

export type ModelKind = 'mlp' | 'logreg';
export const MODEL_KINDS: readonly ModelKind[] = ['mlp', 'logreg'];

export interface Network {
  readonly kind: ModelKind;
  /** Units per layer, input first: [64, 32, 10] for the digits MLP. */
  readonly sizes: readonly number[];
  readonly layers: Layer[];
  readonly paramCount: number;
}

/** The digits MLP is 64-32-10 (chains/fl-digits/job.yaml's layers);
 * logistic regression is 64-10. */
export function network(kind: ModelKind, features = 64, classes = 10, hidden = 32): Network {
  if (!MODEL_KINDS.includes(kind)) throw new Error(`unknown model "${String(kind)}": use ${MODEL_KINDS.join(' or ')}`);
  const sizes = kind === 'mlp' ? [features, hidden, classes] : [features, classes];
  const layers: Layer[] = [];
  for (let l = 1; l < sizes.length; l++) {
    layers.push({ name: `fc${l}.weight`, shape: [sizes[l - 1]!, sizes[l]!] });
    layers.push({ name: `fc${l}.bias`, shape: [sizes[l]!] });
  }
  return { kind, sizes, layers, paramCount: paramCount(layers) };
}

/**
 * Scratch space for one network's forward and backward passes, so a
 * training loop allocates nothing per example.
 */
export class Workspace {
  /** a[0] = input, a[l] = activations of layer l (the last: probabilities). */
  private readonly a: Float32Array[];
  /** dz[l]: d loss / d pre-activation of layer l. */
  private readonly dz: Float32Array[];
  private readonly wOff: number[] = [];
  private readonly bOff: number[] = [];

  constructor(readonly net: Network) {
    this.a = net.sizes.map((n) => new Float32Array(n));
    this.dz = net.sizes.map((n) => new Float32Array(n));
    let at = 0;
    for (let l = 1; l < net.sizes.length; l++) {
      this.wOff.push(at);
      at += net.sizes[l - 1]! * net.sizes[l]!;
      this.bOff.push(at);
      at += net.sizes[l]!;
    }
  }

  /** Class probabilities of the example at x[xOff ..]; the returned array is
   * reused by the next call. */
  forward(params: Float32Array, x: Float32Array, xOff: number): Float32Array {
    const { sizes } = this.net;
    const L = sizes.length - 1;
    this.a[0]!.set(x.subarray(xOff, xOff + sizes[0]!));
    for (let l = 1; l <= L; l++) {
      const inN = sizes[l - 1]!;
      const outN = sizes[l]!;
      const prev = this.a[l - 1]!;
      const z = this.a[l]!;
      const w = this.wOff[l - 1]!;
      z.set(params.subarray(this.bOff[l - 1]!, this.bOff[l - 1]! + outN));
      for (let i = 0; i < inN; i++) {
        const xi = prev[i]!;
        if (xi === 0) continue; // digits are mostly background pixels; ReLU zeros too
        const row = w + i * outN;
        for (let j = 0; j < outN; j++) z[j]! += xi * params[row + j]!;
      }
      if (l < L) for (let j = 0; j < outN; j++) z[j] = z[j]! > 0 ? z[j]! : 0;
    }
    softmaxInPlace(this.a[L]!);
    return this.a[L]!;
  }

  /** Forward, then add this example's gradient of the cross-entropy into
   * `grad` (same layout as params); returns the example's loss. */
  accumulate(params: Float32Array, x: Float32Array, xOff: number, label: number, grad: Float32Array): number {
    const { sizes } = this.net;
    const L = sizes.length - 1;
    const p = this.forward(params, x, xOff);
    const loss = -Math.log(Math.max(p[label]!, 1e-12));
    const top = this.dz[L]!;
    top.set(p);
    top[label]! -= 1;
    for (let l = L; l >= 1; l--) {
      const inN = sizes[l - 1]!;
      const outN = sizes[l]!;
      const prev = this.a[l - 1]!;
      const d = this.dz[l]!;
      const w = this.wOff[l - 1]!;
      const b = this.bOff[l - 1]!;
      for (let j = 0; j < outN; j++) grad[b + j]! += d[j]!;
      const dPrev = this.dz[l - 1]!;
      for (let i = 0; i < inN; i++) {
        const row = w + i * outN;
        const xi = prev[i]!;
        let back = 0;
        for (let j = 0; j < outN; j++) {
          grad[row + j]! += xi * d[j]!;
          back += params[row + j]! * d[j]!;
        }
        // through the ReLU of layer l-1 (its output is 0 where it was cut)
        dPrev[i] = l > 1 && xi > 0 ? back : 0;
      }
    }
    return loss;
  }
}

export function softmaxInPlace(z: Float32Array): void {
  let max = -Infinity;
  for (const v of z) if (v > max) max = v;
  let sum = 0;
  for (let j = 0; j < z.length; j++) {
    z[j] = Math.exp(z[j]! - max);
    sum += z[j]!;
  }
  for (let j = 0; j < z.length; j++) z[j]! /= sum;
}

export function argmax(v: Float32Array): number {
  let best = 0;
  for (let j = 1; j < v.length; j++) if (v[j]! > v[best]!) best = j;
  return best;
}
