/**
 * A whole federation of clients against one job, in one process: every
 * client runs its own loop (runClientLoop) on its shard, and an observer
 * reads each round's sealed model as it appears and scores it on the
 * held-out set. What npm run fl:demo and the SDK tests run; the clients are
 * independent, so ferry sees N clients uploading concurrently.
 */
import type { Federation } from '../federation.js';
import { evaluate, type Evaluation } from '../train/train.js';
import { isFlError } from './errors.js';
import { runClientLoop, type ClientLoopSummary, type RoundEvent } from './loop.js';
import type { FlClient } from './types.js';

export interface FederatedRunOptions {
  fed: Federation;
  rounds: number;
  /** A client of the job for client c (each gets its own: its own connections). */
  connect: (c: number) => FlClient;
  /** Client c's training seed. */
  seed: (c: number) => number;
  clientId?: (c: number) => string;
  /** Per model request (default 30 s). */
  waitMs?: number;
  signal?: AbortSignal;
  /** A client's round is done (its update answered). */
  onUpdate?: (ev: RoundEvent) => void;
  /** Model r (1 .. rounds) was sealed and scored. */
  onModel?: (ev: ModelEvent) => void;
}

export interface ModelEvent extends Evaluation {
  round: number;
  /** When the observer got it, ms since the run started. */
  atMs: number;
}

export interface FederatedRunResult {
  /** Model 0 (the job's initial model) and every sealed model after, scored. */
  models: ModelEvent[];
  clients: ClientLoopSummary[];
  final: Float32Array;
  elapsedMs: number;
}

export async function runFederation(o: FederatedRunOptions): Promise<FederatedRunResult> {
  const t0 = performance.now();
  const clients = o.fed.shards.map((_, c) => o.connect(c));
  const observer = o.connect(-1);
  const abort = new AbortController();
  const onOuter = () => abort.abort(o.signal!.reason);
  o.signal?.addEventListener('abort', onOuter, { once: true });
  const models: ModelEvent[] = [];
  let final: Float32Array | undefined;
  const observe = async () => {
    for (let r = 0; r <= o.rounds; r++) {
      let m;
      try {
        m = await observer.model(r, { waitMs: o.waitMs ?? 30_000, signal: abort.signal });
      } catch (err) {
        if (isFlError(err, 'roundNotReady')) {
          await new Promise((resolve) => setTimeout(resolve, err.retryAfterMs ?? 100));
          r--;
          continue;
        }
        // fell behind the 2 kept models (a slow scorer): score the next one
        if (isFlError(err, 'roundGone')) continue;
        throw err;
      }
      const ev = { round: m.round, ...evaluate(o.fed.net, m.params, o.fed.test), atMs: performance.now() - t0 };
      models.push(ev);
      final = m.params;
      if (r > 0) o.onModel?.(ev);
    }
  };
  try {
    const loops = clients.map((client, c) =>
      runClientLoop({
        client,
        clientId: o.clientId?.(c) ?? `client-${c}`,
        net: o.fed.net,
        data: o.fed.shards[c]!,
        train: o.fed.train,
        seed: o.seed(c),
        rounds: o.rounds,
        waitMs: o.waitMs,
        signal: abort.signal,
        onRound: o.onUpdate,
      }),
    );
    // One failure stops everyone: the others would wait for a round that
    // cannot close.
    const all = Promise.all([Promise.all(loops), observe()]);
    all.catch((err: unknown) => abort.abort(err));
    const [summaries] = await all;
    return { models, clients: summaries, final: final!, elapsedMs: performance.now() - t0 };
  } finally {
    o.signal?.removeEventListener('abort', onOuter);
    for (const c of [...clients, observer]) c.close();
  }
}
