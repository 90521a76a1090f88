/**
 * The phases of one live run (one policy, one chain): cold starts from
 * zero, then the load (low rate, a step, low again, a burst, low again)
 * from an open-loop client, with the chain's instances polled every second.
 */
import { performance } from 'node:perf_hooks';
import type { TestControlPlane } from '../../../test/helpers/control-plane.js';
import { paced, type RateStep } from '../../lib/paced-load.js';
import { post } from '../../../test/helpers/http-load.js';
import { waitFor } from '../../../control/ferryd/testdata/harness.js';
import type { ChainStatus } from '../../../control/controlplane/admin/proto.js';
import type { LiveOptions } from '../options.js';
import { NO_WORK, workBody } from './chains.js';

const STAGE = 'work';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ColdStartSample {
  /** Request sent to full reply, at the client. */
  clientMs: number;
  /** The stage went 0 -> 1 for this request (a `scaled` event between
   * send and reply): false when the policy had already started an
   * instance (KPA keeps one until its stable window has passed, and may
   * start it again right after a ScaleStage to 0). */
  fromZero: boolean;
  status: number;
  /** The gateway's own measure right after (arrival to reply, p50/p99 of its last 10 s). */
  gatewayP50Ms: number;
  gatewayP99Ms: number;
}

const counts = (c: ChainStatus) => {
  const inst = c.stages.find((s) => s.name === STAGE)?.instances ?? [];
  return { asked: inst.length, ready: inst.filter((i) => i.ready).length };
};

/** ScaleStage to 0, then one request, timed at the client: what a user
 * waiting on an idle function sees. The gateway's figure is read once its
 * next stats sample is in (it reports arrival to reply too). */
export async function coldStarts(t: TestControlPlane, chain: string, url: string, n: number): Promise<ColdStartSample[]> {
  const out: ColdStartSample[] = [];
  for (let k = 0; k < n; k++) {
    const zero = await t.admin.call('ScaleStage', { name: chain, stage: STAGE, instances: 0 });
    if (counts(zero).asked !== 0) throw new Error(`${chain}: ScaleStage 0 left ${counts(zero).asked} instances`);
    // Let the stopped instance's process go before timing the next start
    // (its exit is CPU the start would otherwise share); not longer: a
    // policy may bring the stage back by itself meanwhile.
    await sleep(100);
    const sentAt = Date.now();
    const t0 = performance.now();
    const r = await post(url, NO_WORK).catch((err: Error) => ({ status: 0, body: Buffer.from(err.message) }));
    const clientMs = performance.now() - t0;
    // The event is emitted once the change is stored, just after the
    // routes that let the request in: it may come after the reply.
    const fromZero = await waitFor(`${chain}: its 0 -> 1 event`, () => (t.events.some((e) => e.kind === 'scaled' && e.chain === chain && e.timeMs >= sentAt && / 0 -> 1\b/.test(e.message)) ? true : undefined), 1500).catch(() => false);
    const status = await waitFor(`${chain}: the gateway's cold start figure`, async () => {
      const c = await t.admin.call('GetChain', { name: chain });
      return c.coldStartP50Ms > 0 ? c : undefined;
    }, 5000).catch(() => undefined);
    out.push({ clientMs, fromZero, status: r.status, gatewayP50Ms: status?.coldStartP50Ms ?? 0, gatewayP99Ms: status?.coldStartP99Ms ?? 0 });
  }
  return out;
}

/** The load's phases in order; `name` marks where a measure starts. */
export interface LoadPhase extends RateStep {
  name: 'low' | 'step' | 'between' | 'burst' | 'after';
}

export function loadPhases(o: LiveOptions): LoadPhase[] {
  const low = o.lowS * 1000;
  return [
    { name: 'low', rate: o.lowRate, durationMs: low },
    { name: 'step', rate: o.stepRate, durationMs: o.stepS * 1000 },
    { name: 'between', rate: o.lowRate, durationMs: low },
    { name: 'burst', rate: o.burstRate, durationMs: o.burstS * 1000 },
    { name: 'after', rate: o.lowRate, durationMs: low },
  ];
}

export interface InstanceSample {
  /** ms after the load started. */
  atMs: number;
  asked: number;
  ready: number;
  held: number;
}

export interface LoadRun {
  phases: LoadPhase[];
  startEpochMs: number;
  /** Per request, in send order: due time (ms after the start), latency from it, status. */
  dueMs: number[];
  latenciesMs: number[];
  statuses: number[];
  errors: string[];
  maxLagMs: number;
  samples: InstanceSample[];
  endEpochMs: number;
}

/** Client timeout: past the chain's own (10 s), so the gateway answers first. */
const CLIENT_TIMEOUT_MS = 15_000;

export async function driveLoad(t: TestControlPlane, chain: string, url: string, o: LiveOptions): Promise<LoadRun> {
  const phases = loadPhases(o);
  const statuses: number[] = [];
  const samples: InstanceSample[] = [];
  const body = workBody(o);
  let startEpochMs = Date.now();
  let polling = true;
  // GetChain every second: instances asked for (placed, starting or ready) and ready.
  const poller = (async () => {
    while (polling) {
      const at = Date.now();
      const c = await t.admin.call('GetChain', { name: chain }).catch(() => undefined);
      if (c) samples.push({ atMs: at - startEpochMs, ...counts(c), held: c.heldRequests });
      await sleep(Math.max(0, 1000 - (Date.now() - at)));
    }
  })();
  let r;
  try {
    startEpochMs = Date.now() + 5; // paced's first request is due 5 ms after it is called
    r = await paced({
      url,
      steps: phases,
      body: () => body,
      timeoutMs: CLIENT_TIMEOUT_MS,
      onAnswer: (status, _body, _ms, i) => (statuses[i] = status),
    });
  } finally {
    polling = false;
    await poller;
  }
  return {
    phases,
    startEpochMs: r.startEpochMs,
    dueMs: r.dueMs,
    latenciesMs: r.latenciesMs,
    statuses,
    errors: r.errors,
    maxLagMs: r.maxLagMs,
    samples: samples.map((s) => ({ ...s, atMs: s.atMs + startEpochMs - r.startEpochMs })),
    endEpochMs: Date.now(),
  };
}
