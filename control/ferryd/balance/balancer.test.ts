/**
 * Every balance policy's choice on a controlled case, with real parts: a
 * real ferryd (its router in eBPF mode and in fallback mode), three real
 * instances of one stage (the native runner and bench/lb's work function,
 * 2 ms of CPU per request), one of them slowed by a cgroup CPU quota of
 * 100m and three times the work (so it is slower even where cgroups are
 * missing): it can serve about 17 requests a second, a seventh of the load,
 * and an open-loop HTTP client at the gateway. Round-robin and random must keep
 * giving the slow instance its third; every adaptive policy must give it
 * clearly less. Consistent hashing must send a key to one instance, every
 * time. A ProgramChain that keeps the policy (a reconcile) must keep what
 * it learnt.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../paths.js';
import { modes } from '../../../test/helpers/dataplane.js';
import { paced } from '../../../bench/lib/paced-load.js';
import type { BalancePolicy, RpcInput } from '../proto.js';
import { startTestFerryd, untilReady, waitFor, type TestFerryd } from '../testdata/harness.js';

const WORK = join(repoRoot, 'bench/lb/functions/work.so');
const STAGE_REPLY = 0xffff;
const CHAIN = 7;
const GATEWAY = 60;
const FAST = [61, 62];
const SLOW = 63;
const ALL = [...FAST, SLOW];
/** Requests per second: the fast ones carry it alone at 12% CPU each; a
 * third of it is more than the slow one can serve (6 ms of work within
 * 100 ms of CPU a second), so it queues under an even split. */
const RATE = 120;

function program(balance: Partial<BalancePolicy> | null, weight = 1): RpcInput<'ProgramChain'> {
  return {
    chainId: CHAIN,
    routes: [{ stage: 0, targets: ALL.map((instance) => ({ instance, weight })), balance }],
    allow: [
      { fromStage: STAGE_REPLY, toStage: 0 },
      { fromStage: 0, toStage: STAGE_REPLY },
    ],
    gateway: { chainName: 'lb', entryStage: 0, maxBodyBytes: 0, timeoutMs: 10_000, gatewayInstanceId: GATEWAY },
  };
}

describe.each(modes)('balance policies with real instances (%s mode)', (mode) => {
  let t: TestFerryd;
  let url: string;

  const rx = () => ALL.map((id) => t.ferryd.dataPlane.counters(id).rxMsgs);
  const inFlight = () => ALL.reduce((n, id) => {
    const c = t.ferryd.dataPlane.counters(id);
    return n + c.rxMsgs - c.txMsgs - Object.values(c.drops).reduce((a, b) => a + b, 0);
  }, 0);

  /** Load at RATE for ms; the slow instance's share of what arrived in the
   * last `measureMs`. */
  async function slowShare(ms: number, measureMs: number, headers?: (i: number) => Record<string, string>): Promise<number> {
    let before: number[] = [];
    const mark = setTimeout(() => (before = rx()), ms - measureMs);
    const r = await paced({ url, rate: RATE, durationMs: ms, headers, timeoutMs: 10_000 });
    clearTimeout(mark);
    expect(r.statuses.get(200), r.errors.join('\n')).toBe(r.sent);
    const after = rx();
    const got = after.map((n, i) => n - before[i]!);
    const total = got.reduce((a, b) => a + b, 0);
    // Queues drain before the next case.
    await waitFor('the instances to drain', () => (inFlight() === 0 ? true : undefined), 30_000);
    return got[2]! / total;
  }

  beforeAll(async () => {
    t = await startTestFerryd(mode, 'lb-node', { balanceTickMs: 100, warmUp: { ms: 300, requests: 5 } });
    await t.client.createPool({ chainId: CHAIN, chainName: 'lb' });
    for (const id of ALL)
      await t.client.startInstance({
        chainId: CHAIN,
        instanceId: id,
        stage: 0,
        stageName: 'work',
        runtime: 'native',
        handler: WORK,
        next: [],
        env: { WORK_US: id === SLOW ? '6000' : '2000' },
        resources: id === SLOW ? { cpuMilli: 100 } : {},
      });
    await t.client.programChain(program(null));
    await untilReady(t.client, CHAIN);
    url = `http://${t.ferryd.gatewayAddress}/chains/lb`;
    // The slow instance's quota applies once it is ready.
    await slowShare(1000, 500);
  }, 120_000);

  afterAll(async () => t?.cleanup(), 60_000);

  it.each(['round-robin', 'random'])('%s keeps giving the slow instance its third', async (name) => {
    await t.client.programChain(program({ name }));
    const share = await slowShare(3000, 2000);
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.42);
  });

  it.each(['least-connections', 'least-load', 'most-free-slots', 'epsilon-greedy', 'ucb1', 'linucb'])(
    '%s gives the slow instance clearly less',
    async (name) => {
      await t.client.programChain(program({ name }));
      const share = await slowShare(4000, 2000);
      expect(share, t.logs.filter((l) => l.includes('balance decision')).slice(-3).join('\n')).toBeLessThan(0.2);
      const stage = t.ferryd.daemon.balancer.stats().find((s) => s.chainId === CHAIN && s.stage === 0)!;
      expect(stage.policy).toBe(name);
      expect(stage.decisions).toBeGreaterThan(10);
      // The decisions are logged (at debug) with the weights written.
      expect(t.logs.some((l) => l.includes('"balance decision"') && l.includes(`"policy":"${name}"`))).toBe(true);
    },
    60_000,
  );

  it('consistent-hash sends a key to one instance every time, and spreads keys', async () => {
    await t.client.programChain(program({ name: 'consistent-hash', keyHeader: 'x-user' }));
    const before = rx();
    const r = await paced({ url, rate: 50, durationMs: 1000, headers: () => ({ 'x-user': 'alice' }) });
    expect(r.statuses.get(200)).toBe(r.sent);
    const got = rx().map((n, i) => n - before[i]!);
    expect(got.filter((n) => n > 0)).toEqual([r.sent]);
    // Many keys reach every instance.
    const spread = rx();
    await paced({ url, rate: 100, durationMs: 1500, headers: (i) => ({ 'x-user': `user-${i}` }) });
    expect(rx().every((n, i) => n > spread[i]!)).toBe(true);
  });

  it('refuses a bad policy, naming the field, and keeps the routes it had', async () => {
    await t.client.programChain(program({ name: 'random' }));
    const bad = async (b: Partial<BalancePolicy>) =>
      t.client.programChain(program(b)).then(
        () => '',
        (err: Error) => err.message,
      );
    expect(await bad({ name: 'fastest' })).toMatch(/routes\[0\]\.balance\.name: unknown balance policy "fastest"/);
    expect(await bad({ name: 'ucb1', params: { c: -2 } })).toMatch(/routes\[0\]\.balance\.params\.c: expected a number from 0 to 100/);
    expect(await bad({ name: 'consistent-hash' })).toMatch(/routes\[0\]\.balance\.key_header: consistent-hash needs the request key/);
    expect(await bad({ name: '', params: { c: 1 } })).toMatch(/routes\[0\]\.balance\.name: parameters or a request key were given without a policy name/);
    expect(t.ferryd.daemon.balancer.stats()[0]!.policy).toBe('random');
  });
});

/**
 * A reconcile keeps what the policy learnt. The balancer here ticks only
 * when the test says (a tick of 10 s never comes by itself), so the weights
 * read before and after a ProgramChain are the same decision's.
 */
describe.each(modes)('a reconcile and the learnt weights (%s mode)', (mode) => {
  let t: TestFerryd;

  beforeAll(async () => {
    t = await startTestFerryd(mode, 'lb-reconcile', { balanceTickMs: 10_000, warmUp: { ms: 0, requests: 1 } });
    await t.client.createPool({ chainId: CHAIN, chainName: 'lb' });
    for (const id of ALL)
      await t.client.startInstance({ chainId: CHAIN, instanceId: id, stage: 0, stageName: 'work', runtime: 'native', handler: WORK, next: [], env: { WORK_US: id === SLOW ? '6000' : '1000' } });
    await t.client.programChain(program({ name: 'ucb1' }));
    await untilReady(t.client, CHAIN);
  }, 60_000);

  afterAll(async () => t?.cleanup(), 60_000);

  const weights = () => {
    const w = t.ferryd.daemon.routes.written(CHAIN, 0);
    return ALL.map((id) => w.find((x) => x.instance === id)?.weight ?? 0);
  };

  it('keeps the factors and what the policy learnt when the policy stays, and starts over when it changes', async () => {
    const url = `http://${t.ferryd.gatewayAddress}/chains/lb`;
    // Learn under load, a tick every 100 ms.
    const ticking = setInterval(() => t.ferryd.daemon.balancer.tick(), 100);
    const r = await paced({ url, rate: 150, durationMs: 3000 });
    clearInterval(ticking);
    expect(r.statuses.get(200)).toBe(r.sent);
    const learnt = weights();
    const { decisions } = t.ferryd.daemon.balancer.stats()[0]!;
    expect(decisions).toBeGreaterThan(20);
    expect(new Set(learnt).size).toBeGreaterThan(1);

    // The reconcile doubles every base weight: each written weight doubles
    // (base x the same factor), nothing is relearnt.
    await t.client.programChain(program({ name: 'ucb1', params: { c: 0.8 } }, 2));
    const after = weights();
    after.forEach((w, i) => expect(Math.abs(w - 2 * learnt[i]!)).toBeLessThanOrEqual(1));
    expect(t.ferryd.daemon.balancer.stats()[0]!.decisions).toBe(decisions);
    // And the policy goes on from what it knew: the next tick is its next step, not a first guess.
    t.ferryd.daemon.balancer.tick();
    expect(t.ferryd.daemon.balancer.stats()[0]!.decisions).toBe(decisions + 1);

    // Another policy learns afresh: the base weights, no decisions yet.
    await t.client.programChain(program({ name: 'linucb' }, 2));
    expect(weights()).toEqual([200, 200, 200]);
    expect(t.ferryd.daemon.balancer.stats()[0]!.decisions).toBe(0);
  });
});
