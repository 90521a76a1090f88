/**
 * Service times and gateway latencies, measured where they happen and
 * streamed with StreamStats: a real ferryd, a node stage that takes a known
 * time and a native stage, real HTTP requests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Histogram } from '../metrics/histogram.js';
import { modes } from '../../test/helpers/dataplane.js';
import { load } from '../../test/helpers/http-load.js';
import type { HistogramMsg, NodeStats } from './proto.js';
import { SignalCollector } from './signals.js';
import { chainInstances, chainProgram, startTestFerryd, untilReady, waitFor, type TestFerryd } from './testdata/harness.js';
import { createLogger } from '../log.js';

const CHAIN = 81;
const BASE = 810;
const GW = 819;
const NAME = 'timed';

/** A histogram ferryd sent: it always fills them (unsent ones arrive null). */
function sent(h: HistogramMsg | null): Histogram {
  expect(h).not.toBeNull();
  return h ? Histogram.fromSparse(h, h.sumUs) : new Histogram();
}

describe.each(modes)('service times and gateway latency (%s mode)', (mode) => {
  let t: TestFerryd;

  beforeEach(async () => {
    t = await startTestFerryd(mode, 'signals-node', { signalIntervalMs: 100 });
    await t.client.createPool({ chainId: CHAIN, chainName: NAME });
    for (const req of chainInstances(CHAIN, BASE)) await t.client.startInstance(req);
    await t.client.programChain(chainProgram(CHAIN, BASE, GW, NAME));
    await untilReady(t.client, CHAIN);
  });

  afterEach(async () => {
    await t.cleanup();
  });

  async function sample(until: (s: NodeStats) => boolean): Promise<NodeStats> {
    const stream = t.client.streamStats({ intervalMs: 50 });
    stream.on('error', () => undefined); // cancelled below
    let last: NodeStats | undefined;
    stream.on('data', (x: NodeStats) => (last = x));
    try {
      return await waitFor('a sample showing it', () => (last && until(last) ? last : undefined));
    } catch (err) {
      const seen = last?.instances.map((i) => ({ id: i.instanceId, rx: i.rxMsgs, completions: i.completions, state: i.state }));
      throw new Error(`${(err as Error).message}; the last sample had ${JSON.stringify(seen)}`);
    } finally {
      stream.cancel();
    }
  }

  it('reports each stage\'s service time as its instances measured it, and the chain\'s latency as the gateway did', async () => {
    const url = `http://${t.ferryd.gatewayAddress}/chains/${NAME}`;
    const r = await load({ url, total: 40, concurrency: 4, body: () => 'slow:30 a b' });
    expect(r.statuses.get(200)).toBe(40);
    const s = await sample((x) => (x.instances.find((i) => i.instanceId === BASE)?.completions ?? 0) >= 40 && (x.instances.find((i) => i.instanceId === BASE + 1)?.completions ?? 0) >= 40);
    const work = s.instances.find((i) => i.instanceId === BASE)!;
    const count = s.instances.find((i) => i.instanceId === BASE + 1)!;
    const workHist = sent(work.serviceTime);
    const countHist = sent(count.serviceTime);
    // The node stage sleeps 30 ms per request; the native one only counts words.
    expect(workHist.total).toBe(work.completions);
    expect(workHist.quantile(0.5)).toBeGreaterThanOrEqual(30_000);
    expect(workHist.quantile(0.5)).toBeLessThan(300_000);
    expect(countHist.quantile(0.99)).toBeLessThan(20_000);
    expect(work.inFlight).toBe(0);
    const gw = s.gateways.find((g) => g.chainId === CHAIN)!;
    expect(gw).toMatchObject({ chain: NAME, tenant: 'default', responses: { '200': 40 } });
    const latency = sent(gw.latency);
    expect(latency.total).toBe(40);
    // Dispatch to reply covers both stages.
    expect(latency.quantile(0.5)).toBeGreaterThanOrEqual(workHist.quantile(0.5) * 0.8);
  });

  it('counts errors by status and code', async () => {
    const url = `http://${t.ferryd.gatewayAddress}/chains/${NAME}`;
    const r = await load({ url, total: 3, concurrency: 1, body: () => 'x'.repeat(6 << 20) });
    expect(r.statuses.get(413)).toBe(3);
    const s = await sample((x) => (x.gateways.find((g) => g.chainId === CHAIN)?.responses['413 bodyTooLarge'] ?? 0) >= 3);
    expect(s.gateways.find((g) => g.chainId === CHAIN)!.latency?.counts).toEqual([]);
  });
});

describe('SignalCollector', () => {
  it('never asks an instance that had no traffic since its last report (an idle instance is not woken)', async () => {
    // A stand-in for the data plane (named as such): counts what was asked.
    let rx = 0;
    const asked: number[] = [];
    const collector = new SignalCollector({
      dataPlane: {
        counters: () => ({ rxMsgs: rx, rxBytes: 0, txMsgs: 0, txBytes: 0, drops: { malformed: 0, unknownSender: 0, chainMismatch: 0, notAllowed: 0, noRoute: 0, deadPeer: 0, hopLimit: 0 } }),
        serviceStats: async (id) => {
          asked.push(id);
          const buckets = new Uint32Array(280);
          buckets[100] = 2;
          return { completions: 2, busyUs: 500, buckets };
        },
      },
      supervisor: { list: () => [{ instanceId: 7, chainId: 1, stage: 0, stageName: 's', pid: 123, state: 'RUNNING', restarts: 0, lastError: '', ready: true, restartInMs: 0 }] },
      log: createLogger({}, 'error', () => undefined),
    });
    rx = 5;
    await collector.collect();
    await collector.collect();
    expect(asked).toEqual([7]);
    rx = 6;
    await collector.collect();
    expect(asked).toEqual([7, 7]);
    expect(collector.instance(7)).toMatchObject({ completions: 4 });
    expect(collector.instance(7)!.service.total).toBe(4);
    collector.forget(7);
    expect(collector.instance(7)).toBeUndefined();
  });
});
