/**
 * FedAvg without ferry: every client trains from the round's model in this
 * process and the deltas are averaged here, weighted by examples, exactly
 * DESIGN.md's rule model(R+1) = model(R) + sum(w_i * delta_i) / sum(w_i).
 * It proves the training reaches its accuracy on its own, and is the number
 * a run over ferry (npm run fl:demo) should match.
 */
import { prepareFederation, type Federation, type FederationOptions } from './federation.js';
import { delta, evaluate, roundSeed, trainLocal } from './train/train.js';

export interface WeightedDelta {
  delta: Float32Array;
  weight: number;
}

/** model = base + sum(w * delta) / W, summed in float64; W = 0: base. */
export function fedAvg(base: Float32Array, updates: readonly WeightedDelta[]): Float32Array {
  const acc = new Float64Array(base.length);
  let total = 0;
  for (const u of updates) {
    if (u.delta.length !== base.length) throw new RangeError(`an update of ${u.delta.length} parameters for a ${base.length}-parameter model`);
    total += u.weight;
    for (let i = 0; i < acc.length; i++) acc[i]! += u.weight * u.delta[i]!;
  }
  const out = Float32Array.from(base);
  if (total > 0) for (let i = 0; i < out.length; i++) out[i] = base[i]! + acc[i]! / total;
  return out;
}

export interface SimulationOptions extends FederationOptions {
  rounds: number;
  /** Client c trains round r with seed (clientSeed(c), r), as the demo's clients do. */
  onRound?: (round: number, accuracy: number, loss: number) => void;
}

export interface SimulationResult {
  /** accuracy[r] = held-out accuracy of model r (r = 0 .. rounds). */
  accuracy: number[];
  loss: number[];
  final: Float32Array;
}

/** The seed client c trains with (the demo's client c too). */
export const clientSeed = (c: number) => 1000 + c;

export function simulate(o: SimulationOptions, fed: Federation = prepareFederation(o)): SimulationResult {
  const { net, shards, test } = fed;
  let model = fed.initial;
  const first = evaluate(net, model, test);
  const accuracy = [first.accuracy];
  const loss = [first.loss];
  for (let r = 0; r < o.rounds; r++) {
    const updates = shards.map((data, c) => {
      const trained = trainLocal(net, model, data, { ...fed.train, seed: roundSeed(clientSeed(c), r) });
      return { delta: delta(trained.params, model), weight: data.count };
    });
    model = fedAvg(model, updates);
    const ev = evaluate(net, model, test);
    accuracy.push(ev.accuracy);
    loss.push(ev.loss);
    o.onRound?.(r + 1, ev.accuracy, ev.loss);
  }
  return { accuracy, loss, final: model };
}
