/**
 * The digits federation both the offline simulation and the demo run: the
 * same held-out test set, the same per-client shards and the same round-0
 * model for the same seeds, so a demo over ferry can be compared with the
 * simulation number for number.
 */
import { subset, type Dataset } from './data/dataset.js';
import { loadDigits } from './data/digits.js';
import { dirichletSplit, iidSplit, stratifiedHoldout } from './data/split.js';
import { initialModel } from './model.js';
import { network, type ModelKind, type Network } from './train/network.js';
import { DEFAULT_TRAIN, type TrainOptions } from './train/train.js';

export interface FederationOptions {
  model: ModelKind;
  clients: number;
  /** IID shards, or Dirichlet(alpha) label skew. */
  split: { kind: 'iid' } | { kind: 'dirichlet'; alpha: number };
  /** Seeds the holdout and the split. */
  dataSeed?: number;
  /** The job's init seed (spec.model.init.seed). */
  initSeed?: number;
  testFraction?: number;
  train?: Partial<Omit<TrainOptions, 'seed'>>;
}

export interface Federation {
  net: Network;
  shards: Dataset[];
  test: Dataset;
  initial: Float32Array;
  train: Omit<TrainOptions, 'seed'>;
}

export const DEFAULT_TEST_FRACTION = 0.2;

export function prepareFederation(o: FederationOptions): Federation {
  const ds = loadDigits();
  const dataSeed = o.dataSeed ?? 1;
  const { train, test } = stratifiedHoldout(ds, o.testFraction ?? DEFAULT_TEST_FRACTION, dataSeed);
  const parts = o.split.kind === 'iid' ? iidSplit(train, o.clients, dataSeed) : dirichletSplit(ds, train, o.clients, { alpha: o.split.alpha, seed: dataSeed });
  const net = network(o.model);
  return {
    net,
    shards: parts.map((p) => subset(ds, p)),
    test: subset(ds, test),
    initial: initialModel(net.layers, net.paramCount, o.initSeed ?? 1),
    train: { ...DEFAULT_TRAIN, ...o.train },
  };
}
