/**
 * One FL client's life: get round R's model -> train on local data -> send
 * the delta -> round R+1, until the job's last round. The server's refusals
 * that are part of normal life are handled here (a straggler's update
 * refused after its round closed, the pool full, a round not sealed yet);
 * anything else ends the loop with the server's error.
 */
import type { Dataset } from '../data/dataset.js';
import type { Network } from '../train/network.js';
import { delta, roundSeed, trainLocal, type TrainOptions } from '../train/train.js';
import { FlError, isFlError } from './errors.js';
import type { FlClient, UploadResult } from './types.js';

export interface ClientLoopOptions {
  client: FlClient;
  clientId: string;
  net: Network;
  data: Dataset;
  train: Omit<TrainOptions, 'seed'>;
  /** Round r trains with roundSeed(seed, r): repeatable, different per round. */
  seed: number;
  /** The job's rounds: updates go to rounds 0 .. rounds-1. */
  rounds: number;
  startRound?: number;
  /** How long one model request waits for a round to be sealed (default 30 s). */
  waitMs?: number;
  /** Give up after this many refusals in a row that are worth a retry
   * (busy, roundNotReady) for one round (default 20). */
  maxRetries?: number;
  signal?: AbortSignal;
  onRound?: (ev: RoundEvent) => void;
}

export interface RoundEvent {
  clientId: string;
  /** The round the client trained from. */
  round: number;
  /** The server's answer, or the code it refused with (roundClosed, tooStale, duplicateUpdate). */
  result: UploadResult | { refused: string };
  loss: number;
  trainMs: number;
}

export interface ClientLoopSummary {
  submitted: number;
  refused: Record<string, number>;
  /** The last round trained from. */
  lastRound: number;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Refusals of an update that mean "this round is over for you": move on. */
const ROUND_OVER = new Set(['roundClosed', 'tooStale', 'duplicateUpdate']);

export async function runClientLoop(o: ClientLoopOptions): Promise<ClientLoopSummary> {
  const summary: ClientLoopSummary = { submitted: 0, refused: {}, lastRound: -1 };
  const maxRetries = o.maxRetries ?? 20;
  let round = o.startRound ?? 0;
  let retries = 0;
  /** Retry after the server's Retry-After (or 100 ms); throw when it keeps refusing. */
  const backOff = async (err: FlError) => {
    if (++retries > maxRetries) throw new FlError(err.code, `${o.clientId}: gave up on round ${round} after ${maxRetries} retries: ${err.message}`, err.status, err.job);
    await sleep(err.retryAfterMs ?? 100, o.signal);
  };
  while (round < o.rounds) {
    o.signal?.throwIfAborted();
    let model;
    try {
      model = await o.client.model(round, { waitMs: o.waitMs ?? 30_000, signal: o.signal });
    } catch (err) {
      if (isFlError(err, 'jobDone')) break;
      // fell more than the kept rounds behind: try the next one
      if (isFlError(err, 'roundGone')) { round++; continue; }
      if (isFlError(err) && err.retryable) { await backOff(err); continue; }
      throw err;
    }
    retries = 0;
    const t0 = performance.now();
    const trained = trainLocal(o.net, model.params, o.data, { ...o.train, seed: roundSeed(o.seed, model.round) });
    const trainMs = performance.now() - t0;
    const update = { clientId: o.clientId, numExamples: o.data.count, delta: delta(trained.params, model.params) };
    let result: RoundEvent['result'] | undefined;
    while (!result) {
      try {
        result = await o.client.submit(model.round, update, { signal: o.signal });
        summary.submitted++;
      } catch (err) {
        if (isFlError(err, 'jobDone')) return { ...summary, lastRound: model.round };
        if (isFlError(err) && ROUND_OVER.has(err.code)) {
          result = { refused: err.code };
          summary.refused[err.code] = (summary.refused[err.code] ?? 0) + 1;
        } else if (isFlError(err) && err.retryable) {
          await backOff(err);
        } else {
          throw err;
        }
      }
    }
    retries = 0;
    summary.lastRound = model.round;
    o.onRound?.({ clientId: o.clientId, round: model.round, result, loss: trained.loss, trainMs });
    round = model.round + 1;
  }
  return summary;
}
