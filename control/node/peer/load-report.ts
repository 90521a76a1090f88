/**
 * What one ferryd tells its peers every balance tick (a Load frame): its
 * node's load, and for every stage it serves, how many instances are ready,
 * whether they are warm, and what they hold. A node balancing a stage
 * across other nodes (the egress) needs it: least-load and LinUCB weigh a
 * node by its CPU and memory use, most-free-slots by its instances, and
 * the bandits learn only from warm nodes. Decoding is strict: a report that
 * breaks the shape is a FrameError, as any other bad frame.
 */
import { encodeFrame, FrameError, FrameType } from './frame.js';

export interface NodeLoad {
  /** CPU in use, 0..1, against the node's limit (its cgroup's, if any). */
  cpu: number;
  /** Memory in use, 0..1, against the node's limit. */
  mem: number;
  /** 1-minute loadavg per CPU. */
  load1: number;
}

export interface StageLoad {
  chainId: number;
  stage: number;
  /** Instances ready to take requests. */
  ready: number;
  /** All of them past their warm-up (balance.ts: warm). */
  warm: boolean;
  /** Requests they hold now. */
  inFlight: number;
  /** Their CPU use against their limits, 0..1 (the mean over them): a
   * stage can be saturated on a node that is otherwise idle. */
  cpu: number;
}

export interface LoadReport extends NodeLoad {
  stages: StageLoad[];
}

/** At most this many stages per report (a node with more reports the first ones). */
export const MAX_REPORTED_STAGES = 512;

const frac = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0 && x <= 1;
const count = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
const nonNegative = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

export function loadFrame(r: LoadReport): Buffer {
  const body = {
    cpu: r.cpu,
    mem: r.mem,
    load1: r.load1,
    stages: r.stages.slice(0, MAX_REPORTED_STAGES).map((s) => [s.chainId, s.stage, s.ready, s.warm ? 1 : 0, s.inFlight, s.cpu]),
  };
  return encodeFrame(
    { type: FrameType.Load, chainId: 0, stage: 0, fromStage: 0, requestId: 0n, replyTo: 0, status: 0, flags: 0, hopCount: 0 },
    Buffer.from(JSON.stringify(body)),
  );
}

export function decodeLoad(payload: Buffer): LoadReport {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new FrameError('load report is not JSON');
  }
  const o = v as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || !frac(o.cpu) || !frac(o.mem) || !nonNegative(o.load1) || !Array.isArray(o.stages) || o.stages.length > MAX_REPORTED_STAGES)
    throw new FrameError('load report must be {"cpu": 0..1, "mem": 0..1, "load1": >= 0, "stages": [...]}');
  const stages = o.stages.map((s: unknown) => {
    if (!Array.isArray(s) || s.length !== 6 || !count(s[0]) || !count(s[1]) || s[1] > 0xffff || !count(s[2]) || (s[3] !== 0 && s[3] !== 1) || !nonNegative(s[4]) || !frac(s[5]))
      throw new FrameError('load report stage must be [chainId, stage, ready, warm 0|1, inFlight, cpu 0..1]');
    return { chainId: s[0], stage: s[1], ready: s[2], warm: s[3] === 1, inFlight: s[4], cpu: s[5] };
  });
  return { cpu: o.cpu, mem: o.mem, load1: o.load1, stages };
}
