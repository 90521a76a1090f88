/**
 * How a dataset is shared out: a stratified held-out test set, and the
 * training rows over N clients either IID (shuffled, dealt evenly) or
 * non-IID by label (Dirichlet(alpha) class proportions per client, the
 * split of Hsu et al. 2019 that FL papers use with alpha = 0.5). Every split
 * is seeded with control/random.ts, so a seed names the same split everywhere.
 */
import { seeded, shuffle, type Random } from '../../random.js';
import type { Dataset } from './dataset.js';

/** Row indices of each class, in row order. */
export function rowsByClass(ds: Pick<Dataset, 'y' | 'classes'>, rows?: readonly number[]): number[][] {
  const by: number[][] = Array.from({ length: ds.classes }, () => []);
  for (const i of rows ?? ds.y.keys()) by[ds.y[i]!]!.push(i);
  return by;
}

export interface Holdout {
  train: number[];
  test: number[];
}

/** Hold out round(testFraction * n_c) rows of every class c, chosen at
 * random: the test set has the dataset's class balance whatever the seed. */
export function stratifiedHoldout(ds: Dataset, testFraction: number, seed: number): Holdout {
  if (!(testFraction > 0 && testFraction < 1)) throw new RangeError(`testFraction must be in (0, 1), not ${testFraction}`);
  const rand = seeded(seed);
  const train: number[] = [];
  const test: number[] = [];
  for (const rows of rowsByClass(ds)) {
    shuffle(rows, rand);
    const k = Math.round(testFraction * rows.length);
    test.push(...rows.slice(0, k));
    train.push(...rows.slice(k));
  }
  return { train: shuffle(train, rand), test: shuffle(test, rand) };
}

function checkClients(clients: number, rows: number, atLeast: number): void {
  if (!Number.isInteger(clients) || clients < 1) throw new RangeError(`clients must be a positive integer, not ${clients}`);
  if (clients * atLeast > rows) throw new RangeError(`${rows} rows cannot give ${clients} clients ${atLeast} each: use fewer clients`);
}

/** IID: shuffle, then deal in turn, so client sizes differ by at most one. */
export function iidSplit(rows: readonly number[], clients: number, seed: number): number[][] {
  checkClients(clients, rows.length, 1);
  const shuffled = shuffle([...rows], seeded(seed));
  const out: number[][] = Array.from({ length: clients }, () => []);
  shuffled.forEach((r, k) => out[k % clients]!.push(r));
  return out;
}

/** A standard normal (Box-Muller). */
function normal(rand: Random): number {
  const u = 1 - rand(); // (0, 1]: log(u) is finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Gamma(shape, 1): Marsaglia and Tsang (2000); shape < 1 by the boost
 * Gamma(a) = Gamma(a + 1) * U^(1/a). */
export function gamma(shape: number, rand: Random): number {
  if (shape < 1) return gamma(shape + 1, rand) * Math.pow(1 - rand(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rand);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rand();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** A draw from the symmetric Dirichlet(alpha) over k parts. */
export function dirichlet(alpha: number, k: number, rand: Random): number[] {
  const g = Array.from({ length: k }, () => gamma(alpha, rand));
  const sum = g.reduce((a, b) => a + b, 0);
  return g.map((v) => v / sum);
}

export interface DirichletOptions {
  alpha: number;
  seed: number;
  /** Every client gets at least this many rows (default 8, fewer when the
   * rows are few per client: a quarter of the mean share, at least 1): a
   * client with none has nothing to train on and no weight in FedAvg. */
  minPerClient?: number;
  /** Draws before giving up (default 1000). */
  maxDraws?: number;
}

/** Non-IID by label: for every class, its rows are cut among the clients in
 * Dirichlet(alpha) proportions; the whole draw is repeated (the usual way,
 * NIID-Bench) until every client has minPerClient rows. Small alpha: each
 * client sees few classes. */
export function dirichletSplit(ds: Pick<Dataset, 'y' | 'classes'>, rows: readonly number[], clients: number, opts: DirichletOptions): number[][] {
  const min = opts.minPerClient ?? Math.max(1, Math.min(8, Math.floor(rows.length / (4 * clients))));
  checkClients(clients, rows.length, min);
  if (!(opts.alpha > 0)) throw new RangeError(`alpha must be > 0, not ${opts.alpha}`);
  const rand = seeded(opts.seed);
  const byClass = rowsByClass(ds, rows);
  const maxDraws = opts.maxDraws ?? 1000;
  for (let draw = 0; draw < maxDraws; draw++) {
    const out: number[][] = Array.from({ length: clients }, () => []);
    for (const classRows of byClass) {
      const mine = shuffle([...classRows], rand);
      const p = dirichlet(opts.alpha, clients, rand);
      let start = 0;
      let cum = 0;
      for (let c = 0; c < clients; c++) {
        cum += p[c]!;
        const end = c === clients - 1 ? mine.length : Math.round(cum * mine.length);
        out[c]!.push(...mine.slice(start, end));
        start = end;
      }
    }
    if (out.every((o) => o.length >= min)) return out.map((o) => shuffle(o, rand));
  }
  throw new Error(`no Dirichlet(${opts.alpha}) split in ${maxDraws} draws gave all ${clients} clients ${min} rows: lower minPerClient, raise alpha or use fewer clients`);
}
