/**
 * The node data plane end to end, with real processes, real shared memory
 * and (as root) the real eBPF router; every test runs in both modes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { encodeDescriptor, MAX_HOPS, STAGE_REPLY } from '../dataplane/descriptor.js';
import type { NativeInstance } from '../dataplane/native.js';
import { Injector, RequestRefusedError, type Reply } from '../gateway/injector.js';
import { repoRoot } from '../paths.js';
import { cpuTicks, fixture, modes, openDataPlane, sleep } from '../../test/helpers/dataplane.js';
import type { NodeDataPlane } from './dataplane.js';

const CHAIN = 7;
const GW = 1;
const text = (r: Reply) => new TextDecoder().decode(r.body);

/** A request either comes back (possibly as an error reply) or is refused
 * at once by the eBPF router; both are fine answers to a bad request. */
async function outcome(p: Promise<Reply>): Promise<Reply | RequestRefusedError> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof RequestRefusedError) return err;
    throw err;
  }
}

describe.each(modes)('data plane (%s mode)', (mode) => {
  let dp: NodeDataPlane;
  let cleanup: () => Promise<void>;
  let gw: NativeInstance;
  let inj: Injector;

  beforeEach(async () => {
    ({ dp, cleanup } = await openDataPlane(mode));
    dp.createPool(CHAIN, 'test', { classes: [
      { size: 2048, count: 256 },
      { size: 1 << 20, count: 8 },
    ] });
    gw = dp.openGateway(CHAIN, GW);
    inj = new Injector(gw);
  });

  afterEach(async () => {
    inj.close();
    await cleanup();
  });

  /** stage ids: 0 faulty(node) -> 1 upper(native) -> reply; 2 echo (node). */
  function faultyChain() {
    dp.spawn({ instanceId: 10, chainId: CHAIN, stage: 0, stageName: 'a', runtime: 'node', handler: fixture('faulty.ts'),
      next: [{ name: 'b', id: 1 }, { name: 'c', id: 2 }] });
    dp.spawn({ instanceId: 11, chainId: CHAIN, stage: 1, stageName: 'b', runtime: 'native', handler: fixture('upper.so'), next: [] });
    dp.spawn({ instanceId: 12, chainId: CHAIN, stage: 2, stageName: 'c', runtime: 'node', handler: fixture('echo.ts'), next: [] });
    dp.setRoute(CHAIN, 0, [{ instance: 10, weight: 1 }]);
    dp.setRoute(CHAIN, 1, [{ instance: 11, weight: 1 }]);
    dp.setRoute(CHAIN, 2, [{ instance: 12, weight: 1 }]);
    dp.allow(CHAIN, STAGE_REPLY, 0);
    dp.allow(CHAIN, 0, 1); // a -> b; a -> c deliberately not allowed
    for (const s of [0, 1, 2]) dp.allow(CHAIN, s, STAGE_REPLY);
  }

  it(`reports the mode it runs in`, () => {
    expect(dp.mode).toBe(mode);
  });

  it('carries a request through node and native stages and replies with the last body', async () => {
    const fns = join(repoRoot, 'chains/wordcount/functions');
    dp.spawn({ instanceId: 20, chainId: CHAIN, stage: 0, stageName: 'normalize', runtime: 'node', handler: join(fns, 'normalize.ts'), next: [{ name: 'count', id: 1 }] });
    dp.spawn({ instanceId: 21, chainId: CHAIN, stage: 1, stageName: 'count', runtime: 'native', handler: join(fns, 'count.so'), next: [{ name: 'format', id: 2 }] });
    dp.spawn({ instanceId: 22, chainId: CHAIN, stage: 2, stageName: 'format', runtime: 'node', handler: join(fns, 'format.ts'), next: [] });
    for (const s of [0, 1, 2]) dp.setRoute(CHAIN, s, [{ instance: 20 + s, weight: 1 }]);
    dp.allow(CHAIN, STAGE_REPLY, 0);
    dp.allow(CHAIN, 0, 1);
    dp.allow(CHAIN, 1, 2);
    dp.allow(CHAIN, 2, STAGE_REPLY);

    const r = await inj.request(0, 'The cat and the Dog. THE END, the end!');
    expect(r.status).toBe('ok');
    expect(text(r)).toMatch(/^9 words, 5 distinct\n/);
    expect(text(r)).toMatch(/the\s+4\n/);
    expect(r.hopCount).toBe(4);
    expect(r.fromStage).toBe(2);
    expect(dp.counters(21).rxMsgs).toBe(1);
    expect(dp.counters(21).txMsgs).toBe(1);
  });

  it('hands an in-place stage the very buffer the gateway wrote (no copy)', async () => {
    faultyChain();
    dp.allow(CHAIN, STAGE_REPLY, 1);
    const r = await inj.request(1, 'zero copy');
    expect(text(r)).toBe('ZERO COPY');
    expect(r.offset).toBe(r.sent.offset);
    expect(r.generation).toBe(r.sent.generation);
    expect(dp.counters(11).rxBytes).toBe(9);
  });

  it('fails only the request whose function throws, with the message', async () => {
    faultyChain();
    const bad = await inj.request(0, 'throw please');
    expect(bad.error).toBe(true);
    expect(bad.status).toBe('functionError');
    expect(text(bad)).toContain('asked to throw: throw please');
    dp.allow(CHAIN, STAGE_REPLY, 1);
    const nat = await inj.request(1, 'fail natively');
    expect(nat.status).toBe('functionError');
    expect(text(nat)).toContain('native function asked to fail');
    const good = await inj.request(0, 'still alive');
    expect(text(good)).toBe('STILL ALIVE');
    expect(dp.pool(CHAIN).stats().inUse).toBe(0);
  });

  it('refuses an edge that is not on the allow-list and counts it', async () => {
    faultyChain();
    const r = await inj.request(0, 'goto:c');
    expect(r.error).toBe(true);
    expect(r.status).toBe('noRoute');
    expect(dp.counters(10).drops.notAllowed).toBe(1);
    expect(dp.counters(12).rxMsgs).toBe(0);
    expect(dp.pool(CHAIN).stats().inUse).toBe(0);
  });

  it('refuses a stage without a route with an error reply', async () => {
    faultyChain();
    dp.allow(CHAIN, STAGE_REPLY, 9);
    const r = await inj.request(9, 'nowhere');
    expect(r.status).toBe('noRoute');
    expect(dp.counters(GW).drops.noRoute).toBe(1);
    expect(dp.pool(CHAIN).stats().inUse).toBe(0);
  });

  it('rejects forged and truncated descriptors without harming the instance or leaking', async () => {
    faultyChain();
    const pool = dp.pool(CHAIN);
    const real = gw.alloc(64);
    // Offsets outside the pool / not a buffer start, a stale generation, a
    // length beyond the buffer: all reach the instance, which must reject.
    for (const forged of [
      { offset: 1 << 30, generation: real.generation, length: 10 },
      { offset: real.offset + 3, generation: real.generation, length: 10 },
      { offset: real.offset, generation: real.generation + 1000, length: 10 },
      { offset: real.offset, generation: real.generation, length: 1 << 20 },
    ]) {
      expect(gw.send({ stage: 0, requestId: 999, ...forged })).toBe(0);
    }
    // Garbage and a truncated frame on the wire.
    const garbage = new Uint8Array(10).fill(0xab);
    const truncated = encodeDescriptor({ chainId: CHAIN, stage: 0 }).subarray(0, 30);
    expect(gw.sendRaw(garbage)).toBe(10);
    expect(gw.sendRaw(truncated)).toBe(30);
    // Another chain's descriptor, and one that has looped too long.
    expect(gw.sendRaw(encodeDescriptor({ chainId: CHAIN + 1, stage: 0, offset: real.offset, generation: real.generation, length: 4 }))).toBe(48);
    const looped = gw.alloc(16);
    gw.sendRaw(encodeDescriptor({ chainId: CHAIN, stage: 0, hopCount: MAX_HOPS, offset: looped.offset, generation: looped.generation, length: 4, replyTo: GW }));
    const r = await inj.request(0, 'after forgeries');
    expect(text(r)).toBe('AFTER FORGERIES');
    const drops = dp.counters(GW).drops;
    expect(drops.malformed).toBeGreaterThanOrEqual(1);
    expect(drops.chainMismatch).toBe(1);
    expect(drops.hopLimit).toBe(1); // came back as an error reply, and its buffer was freed
    // The buffer the forgeries named is still ours: no one took or freed it.
    expect(pool.check(real.offset, real.generation, 64)).toBe(2048);
    gw.free(real.offset, real.generation);
    expect(pool.stats().inUse).toBe(0);
  });

  it('answers pool exhaustion and oversized output with a specific error, losing nothing', async () => {
    faultyChain();
    const pool = dp.pool(CHAIN);
    const held = [];
    for (;;) {
      try {
        held.push(gw.alloc(1));
      } catch (err) {
        expect((err as { code?: string }).code).toBe('EPOOL_EXHAUSTED');
        expect((err as Error).message).toMatch(/pool exhausted/);
        break;
      }
    }
    await expect(inj.request(0, 'no room')).rejects.toMatchObject({ code: 'EPOOL_EXHAUSTED' });
    for (const b of held) gw.free(b.offset, b.generation);
    const big = await inj.request(0, 'big output please');
    expect(big.status).toBe('tooLarge');
    expect(text(big)).toMatch(/larger than the pool's largest buffer class/);
    expect(pool.stats().inUse).toBe(0);
  });

  it('leaves the pool empty after 100k mixed good and bad messages', async () => {
    faultyChain();
    const pool = dp.pool(CHAIN);
    const total = 100_000;
    const window = 64;
    let sent = 0;
    let ok = 0;
    let failed = 0;
    let refused = 0;
    const worker = async () => {
      while (sent < total) {
        const i = sent++;
        const kind = i % 10;
        if (kind === 7) {
          // forged: stale generation of a live buffer of ours
          const b = gw.alloc(16);
          gw.send({ stage: 0, offset: b.offset, generation: b.generation + 1000, length: 16, requestId: 0 });
          gw.free(b.offset, b.generation);
          continue;
        }
        const body = kind === 8 ? 'throw x' : kind === 9 ? 'goto:c' : `msg ${i}`;
        const r = await outcome(inj.request(kind === 6 ? 42 : 0, body)); // 42: no such stage
        if (r instanceof RequestRefusedError) refused++;
        else if (r.error) failed++;
        else ok++;
      }
    };
    dp.allow(CHAIN, STAGE_REPLY, 42);
    await Promise.all(Array.from({ length: window }, worker));
    expect(ok).toBe(60_000);
    expect(failed + refused).toBe(30_000);
    expect(inj.inFlight).toBe(0);
    expect(pool.stats().inUse).toBe(0);
    expect(dp.counters(10).drops.notAllowed).toBe(10_000);
    expect(dp.instance(10)?.child.exitCode).toBeNull();
  });

  it('reclaims what a crashed instance held and fails requests to it fast', async () => {
    faultyChain();
    const pool = dp.pool(CHAIN);
    const hung = inj.request(0, 'hang on');
    hung.catch(() => {});
    await sleep(300);
    while (pool.stats().inUse < 2) await sleep(20); // input + the alloc it holds
    const a = dp.instance(10)!;
    a.child.kill('SIGKILL');
    const exit = await a.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(exit.reclaimed).toBe(2);
    expect(exit.interrupted).toHaveLength(1); // the one request it was holding
    expect(pool.stats().inUse).toBe(0);
    // The route still names the dead instance: answered at once.
    const r = await inj.request(0, 'anyone there?');
    expect(r.status).toBe('instanceDied');
    expect(dp.counters(GW).drops.deadPeer).toBe(1);
    expect(pool.stats().inUse).toBe(0);
  });

  it('spreads traffic over replicas by weight', async () => {
    for (const id of [30, 31])
      dp.spawn({ instanceId: id, chainId: CHAIN, stage: 0, stageName: 'e', runtime: 'native', handler: join(repoRoot, 'bench/hop/functions/echo.so'), next: [] });
    dp.allow(CHAIN, STAGE_REPLY, 0);
    dp.allow(CHAIN, 0, STAGE_REPLY);
    dp.setRoute(CHAIN, 0, [{ instance: 30, weight: 1 }, { instance: 31, weight: 0 }]);
    await Promise.all(Array.from({ length: 100 }, (_, i) => inj.request(0, `x${i}`)));
    expect(dp.counters(30).rxMsgs).toBe(100);
    expect(dp.counters(31).rxMsgs).toBe(0);
    dp.setRoute(CHAIN, 0, [{ instance: 30, weight: 3 }, { instance: 31, weight: 1 }]);
    for (let k = 0; k < 8; k++) await Promise.all(Array.from({ length: 100 }, (_, i) => inj.request(0, `y${k}.${i}`)));
    const a = dp.counters(30).rxMsgs - 100;
    const b = dp.counters(31).rxMsgs;
    expect(a + b).toBe(800);
    expect(a / b).toBeGreaterThan(2);
    expect(a / b).toBeLessThan(4.5);
  });

  it('lets an idle instance sleep instead of spinning', async () => {
    faultyChain();
    await inj.request(0, 'wake up');
    const pid = dp.instance(11)!.pid;
    const before = cpuTicks(pid);
    await sleep(1500);
    expect(cpuTicks(pid) - before).toBeLessThanOrEqual(1);
  });
});
