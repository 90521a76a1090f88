/**
 * FedAvg without ferry: every client trains from the round's model in this
 * process and the deltas are averaged by the offline reference
 * (reference.ts, DESIGN.md's rule model(R+1) = model(R) + sum(w_i *
 * delta_i) / sum(w_i), weighted by examples). It proves the training
 * reaches its accuracy on its own, and is the number a run over ferry
 * (npm run fl:demo) should match.
 */
import { prepareFederation, type Federation, type FederationOptions } from './federation.js';
import { fedAvg } from './reference.js';
import { delta, evaluate, roundSeed, trainLocal } from './train/train.js';

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
      return { delta: delta(trained.params, model), numExamples: data.count };
    });
    model = Float32Array.from(fedAvg(model, updates, 'num-examples'));
    const ev = evaluate(net, model, test);
    accuracy.push(ev.accuracy);
    loss.push(ev.loss);
    o.onRound?.(r + 1, ev.accuracy, ev.loss);
  }
  return { accuracy, loss, final: model };
}
