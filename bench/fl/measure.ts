/**
 * One configuration (system x clients x model x nodes): start the job, run
 * its rounds with N concurrent synthetic clients, and read per round what
 * the system measured itself (aggregationMs: last update in -> model
 * sealed; roundMs: opened -> sealed), its copies, and the aggregators'
 * peak memory. Every client uploads views of ONE shared tensor (only its
 * 64-byte header is its own), so 100 clients x 47 MB cost the load
 * generator one 47 MB tensor, not 4.7 GB.
 */
import { HEADER_SIZE, encodeUpdateHeader } from '../../control/fl/wire.js';
import { percentiles } from '../lib/paced-load.js';
import { PeakSampler } from './memory.js';
import { FlRefused, type FlSystemName, type JobSpec, type MemoryReading, type RunningFlSystem } from './system.js';

/** How long a client waits for a model (the systems' waitMs cap) before asking again. */
const MODEL_WAIT_MS = 60_000;
/** Most attempts to fetch a model still not sealed: a round stuck this long is a failed run. */
const MODEL_ATTEMPTS = 5;

export interface RoundMeasure {
  round: number;
  aggregationMs: number;
  roundMs: number;
  /** Open (first client asked for the model) -> the observer got the next model, seen from outside. */
  clientRoundMs: number;
  bytesCopied: number;
}

export interface ConfigMeasure {
  system: FlSystemName;
  clients: number;
  modelBytes: number;
  model: string;
  nodes: number;
  rounds: RoundMeasure[];
  peakAggregatorRssBytes: number;
  memoryParts: Record<string, number>;
  /** "system": its own counter; "design": ferry's one copy per upload byte, computed (the system does not count). */
  bytesCopiedSource: 'system' | 'design';
  rejected: Record<string, number>;
  /** Uploads sent again after `busy`. */
  busyRetries: number;
  errors: string[];
}

/** A finite, non-zero delta every client shares (values in +-1e-3). */
export function sharedTensor(paramCount: number): Float32Array {
  const t = new Float32Array(paramCount);
  for (let i = 0; i < paramCount; i++) t[i] = (((i * 2654435761) >>> 0) / 4294967296 - 0.5) * 2e-3;
  return t;
}

/** How long a client waits before sending again after `busy` (no pool buffer free), and how often. */
const BUSY_RETRY_MS = 100;
const BUSY_ATTEMPTS = 600;

/** An upload, sent again while the system says it is busy (as fl-train's client loop does). */
async function uploadRetrying(send: () => Promise<void>): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      await send();
      return attempt - 1;
    } catch (err) {
      if (!(err instanceof FlRefused && err.code === 'busy') || attempt >= BUSY_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, BUSY_RETRY_MS));
    }
  }
}

/** A model fetched, asking again while the round is not sealed. */
async function fetchModel(download: (round: number, waitMs: number) => Promise<void>, round: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await download(round, MODEL_WAIT_MS);
    } catch (err) {
      if (!(err instanceof FlRefused && err.code === 'roundNotReady') || attempt >= MODEL_ATTEMPTS) throw err;
    }
  }
}

/** The larger total, and each part's own peak (parts need not peak together). */
function peak(a: MemoryReading, b: MemoryReading): MemoryReading {
  const parts = { ...a.parts };
  for (const [k, v] of Object.entries(b.parts)) parts[k] = Math.max(parts[k] ?? 0, v);
  return { aggregatorBytes: Math.max(a.aggregatorBytes, b.aggregatorBytes), parts };
}

export async function measureConfig(
  system: RunningFlSystem,
  spec: JobSpec,
  opts: { model: string; nodes: number; tensor: Float32Array; log: (m: string) => void; active?: number },
): Promise<ConfigMeasure> {
  const job = await system.start(spec);
  const errors: string[] = [];
  // Clients past `active` are stragglers that never send: the round closes at its deadline.
  const conns = Array.from({ length: opts.active ?? spec.clients }, () => job.connect());
  const observer = job.connect();
  const tensor = new Uint8Array(opts.tensor.buffer, opts.tensor.byteOffset, opts.tensor.byteLength);
  let sampledPeak: MemoryReading = job.memory();
  const sampler = new PeakSampler(() => {
    const m = job.memory();
    sampledPeak = peak(sampledPeak, m);
    return m.aggregatorBytes;
  });
  const rounds: RoundMeasure[] = [];
  let busyRetries = 0;
  let copiedBefore = (await job.status()).bytesCopied;
  const header = (i: number, round: number) => {
    const h = new Uint8Array(HEADER_SIZE);
    encodeUpdateHeader(h, { numExamples: 10 + (i % 7), round, clientId: `c${i}`, paramCount: spec.paramCount });
    return h;
  };
  try {
    for (let r = 0; r < spec.rounds; r++) {
      const t0 = performance.now();
      await Promise.all(
        conns.map(async (c, i) => {
          try {
            await fetchModel((round, waitMs) => c.download(round, { waitMs }), r);
            busyRetries += await uploadRetrying(() => c.upload(r, header(i, r), tensor));
          } catch (err) {
            errors.push(`round ${r} client c${i}: ${err instanceof FlRefused ? `${err.code}: ` : ''}${(err as Error).message}`);
          }
        }),
      );
      await fetchModel((round, waitMs) => observer.download(round, { waitMs }), r + 1);
      const clientRoundMs = performance.now() - t0;
      const stat = await job.roundStat(r);
      const copied = (await job.status()).bytesCopied;
      const bytesCopied = copied !== undefined && copiedBefore !== undefined ? copied - copiedBefore : conns.length * (HEADER_SIZE + 4 * spec.paramCount);
      copiedBefore = copied;
      rounds.push({ round: r, ...stat, clientRoundMs, bytesCopied });
      opts.log(`  round ${r + 1}/${spec.rounds}: aggregation ${stat.aggregationMs.toFixed(1)} ms, round ${stat.roundMs.toFixed(0)} ms`);
      if (errors.length > 0 && errors.length >= conns.length) throw new Error(`every client failed in round ${r}: ${errors[0]}`);
    }
  } finally {
    sampler.stop();
    for (const c of [...conns, observer]) c.close();
  }
  const exact = job.peakMemory();
  const status = await job.status();
  const best = peak(exact, sampledPeak);
  await job.stop();
  return {
    system: job.system,
    clients: spec.clients,
    modelBytes: 4 * spec.paramCount,
    model: opts.model,
    nodes: opts.nodes,
    rounds,
    peakAggregatorRssBytes: best.aggregatorBytes,
    memoryParts: best.parts,
    bytesCopiedSource: status.bytesCopied === undefined ? 'design' : 'system',
    rejected: status.rejected,
    busyRetries,
    errors,
  };
}

/** p50 / p90 / max of a round measure. */
export function spread(values: number[]): { p50: number; p90: number; max: number } {
  const [p50, p90, max] = percentiles(values, [0.5, 0.9, 1]);
  return { p50: p50!, p90: p90!, max: max! };
}
