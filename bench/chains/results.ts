/** The shapes of what the chain suite measures (raw.json) per system. */
import type { ClosedResult } from './load/closed.js';
import type { OpenResult } from './load/open.js';
import type { SystemName } from './system.js';

export interface MaxLevel extends ClosedResult {
  /** p99 within the chain's SLO and nothing failed. */
  meetsSlo: boolean;
}

export interface ChainMax {
  chain: string;
  sloP99Ms: number;
  levels: MaxLevel[];
  /** Throughput of the best level that met the SLO; 0 when none did. */
  maxRps: number;
  atConnections: number | null;
}

export interface PerCpuRun {
  chain: string;
  nominalBytes: number;
  bytes: number;
  note?: string;
  connections: number;
  durationS: number;
  ok: number;
  failed: number;
  rps: number;
  /** CPU seconds of all the system's processes over the run. */
  cpuSeconds: number;
  processes: number;
  /** ok / cpuSeconds. */
  reqPerCpuSecond: number;
}

export interface FixedRun {
  chain: string;
  /** Half the slowest system's maxRps on this chain (equal for every system). */
  rate: number;
  result: OpenResult;
}

export interface SweepRun {
  chain: string;
  nominalBytes: number;
  bytes: number;
  note?: string;
  result: OpenResult;
}

export interface IdleRun {
  chains: string[];
  settleS: number;
  seconds: number;
  cpuSeconds: number;
  processes: number;
  /** CPU seconds / wall seconds * 100: % of one core. */
  percentOfCore: number;
}

export interface SystemRun {
  system: SystemName;
  max: ChainMax[];
  perCpu: PerCpuRun[];
  fixed: FixedRun[];
  sweep: SweepRun[];
  idle?: IdleRun;
  /** What failed for this system (a phase that threw), so the rest still runs. */
  errors: string[];
}
