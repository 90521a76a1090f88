/**
 * Local training and evaluation: what one FL client does with a round's
 * model. Minibatch SGD over the client's rows for a few epochs, the
 * shuffling seeded so a run can be repeated.
 */
import { seeded, shuffle } from '../../random.js';
import type { Dataset } from '../data/dataset.js';
import { argmax, Workspace, type Network } from './network.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
}

/** The demo's and the simulation's local training for digits: 2 epochs at
 * 0.3 reach 0.96 held-out accuracy in 30 FedAvg rounds of 20 clients (the
 * MLP; 0.93 logistic regression), where 0.1 stops at 0.93 (0.90). */
export const DEFAULT_TRAIN: Readonly<Omit<TrainOptions, 'seed'>> = { epochs: 2, batchSize: 16, learningRate: 0.3 };

/** The seed a client with seed `seed` trains round `round` with: repeatable,
 * different every round (the simulation and the client loop agree on it). */
export const roundSeed = (seed: number, round: number) => (seed * 1_000_003 + round) >>> 0;

export interface TrainResult {
  params: Float32Array;
  /** Mean cross-entropy over the last epoch. */
  loss: number;
  examples: number;
}

/** SGD from `start` (not modified) on every row of `data`. */
export function trainLocal(net: Network, start: Float32Array, data: Dataset, opts: TrainOptions): TrainResult {
  if (start.length !== net.paramCount) throw new RangeError(`the model has ${start.length} parameters, the ${net.kind} network ${net.paramCount}`);
  if (data.features !== net.sizes[0]) throw new RangeError(`the data has ${data.features} features, the network takes ${net.sizes[0]}`);
  const params = Float32Array.from(start);
  const grad = new Float32Array(net.paramCount);
  const ws = new Workspace(net);
  const rand = seeded(opts.seed);
  const order = Array.from({ length: data.count }, (_, i) => i);
  let loss = 0;
  for (let e = 0; e < opts.epochs; e++) {
    shuffle(order, rand);
    loss = 0;
    for (let start = 0; start < order.length; start += opts.batchSize) {
      const end = Math.min(start + opts.batchSize, order.length);
      grad.fill(0);
      for (let k = start; k < end; k++) {
        const i = order[k]!;
        loss += ws.accumulate(params, data.x, i * data.features, data.y[i]!, grad);
      }
      const step = opts.learningRate / (end - start);
      for (let p = 0; p < params.length; p++) params[p]! -= step * grad[p]!;
    }
    loss /= Math.max(1, order.length);
  }
  return { params, loss, examples: data.count };
}

export interface Evaluation {
  accuracy: number;
  loss: number;
}

export function evaluate(net: Network, params: Float32Array, data: Dataset): Evaluation {
  const ws = new Workspace(net);
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < data.count; i++) {
    const p = ws.forward(params, data.x, i * data.features);
    if (argmax(p) === data.y[i]) correct++;
    loss -= Math.log(Math.max(p[data.y[i]!]!, 1e-12));
  }
  return { accuracy: data.count ? correct / data.count : 0, loss: data.count ? loss / data.count : 0 };
}

/** The update a client sends: its weights minus the round's model. */
export function delta(trained: Float32Array, base: Float32Array): Float32Array {
  if (trained.length !== base.length) throw new RangeError(`cannot subtract a ${base.length}-parameter model from a ${trained.length}-parameter one`);
  const out = new Float32Array(trained.length);
  for (let i = 0; i < out.length; i++) out[i] = trained[i]! - base[i]!;
  return out;
}
