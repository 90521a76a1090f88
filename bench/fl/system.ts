/**
 * An FL system under test: ferry (a local `ferry up` running an
 * AggregationJob) or the gRPC baseline (bench/fl/baseline), both serving
 * one job with the same rules, both answering the same synthetic clients.
 */
import type { Layer } from '../../control/fl/model.js';

export type FlSystemName = 'ferry' | 'grpc';

export interface JobSpec {
  name: string;
  paramCount: number;
  layers: Layer[];
  seed: number;
  rounds: number;
  clients: number;
  quorum: number;
  roundDeadlineMs: number;
  weighting: 'num-examples' | 'uniform';
  fanIn: number;
}

export interface SystemOptions {
  /** First port of the system's own range (it may take 100 from here). */
  portBase: number;
  /** A directory of its own (state, logs); removed by the runner. */
  workDir: string;
  log: (message: string) => void;
}

/** A refusal from either system, with ferry's error code. */
export class FlRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** One round as the system measured it itself. */
export interface SystemRound {
  aggregationMs: number;
  roundMs: number;
}

export interface SystemStatus {
  /** The open round. */
  round: number;
  accepted: number;
  /** User-space bytes copied since start; undefined when the system does not say. */
  bytesCopied: number | undefined;
  rejected: Record<string, number>;
}

export interface MemoryReading {
  /** What peakAggregatorRssBytes counts. */
  aggregatorBytes: number;
  /** Its parts, for the report. */
  parts: Record<string, number>;
}

export interface FlConnection {
  /** Upload `header` (64 bytes) then `tensor` (read only, may be shared). */
  upload(round: number, header: Uint8Array, tensor: Uint8Array): Promise<void>;
  /** Fetch round's model into `into`, or only read it off the wire. */
  download(round: number, opts: { waitMs: number; into?: Float32Array }): Promise<void>;
  close(): void;
}

export interface RunningJob {
  readonly system: FlSystemName;
  /** A client connection (each synthetic client has its own). */
  connect(): FlConnection;
  status(): Promise<SystemStatus>;
  /** Round `round` as measured inside the system (after its model is sealed). */
  roundStat(round: number): Promise<SystemRound>;
  /** The aggregators' memory now. */
  memory(): MemoryReading;
  /** Exact per-process peaks where the kernel keeps them (VmHWM), read at the end. */
  peakMemory(): MemoryReading;
  /** Stop the job (and the system when it is the job's own). */
  stop(): Promise<void>;
}

export interface FlSystem {
  readonly name: FlSystemName;
  /** Bring the system up (once per run). */
  up(opts: SystemOptions): Promise<RunningFlSystem>;
  /** The same over two nodes (--nodes 2), where the system has such a mode. */
  upTwoNodes?(opts: SystemOptions): Promise<RunningFlSystem>;
}

export interface RunningFlSystem {
  /** Start a job; resolves once its round 0 is open. */
  start(job: JobSpec): Promise<RunningJob>;
  /** How it ran, for the report. */
  describe(): string;
  down(): Promise<void>;
}
