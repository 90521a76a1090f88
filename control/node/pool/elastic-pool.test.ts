/**
 * Elastic pools on real shared memory: a class grows when it runs out and
 * the quotas allow, shrinks when it stays idle, makes room from other
 * classes' idle buffers, and never passes the chain's quota or, with the
 * tenant's other pools, the tenant's. The class plan a chain's limits give.
 */
import { describe, expect, it } from 'vitest';
import { errorCode, native, type BufferRef, type NativePool } from '../../dataplane/native.js';
import { createLogger } from '../../log.js';
import { ElasticPool, TenantQuotaError } from './elastic-pool.js';
import { checkPlan, classSizes, planClasses } from './size-classes.js';
import { TenantBudget } from './tenant-budget.js';

const KiB = 1024;
const MiB = 1 << 20;
const log = createLogger({ test: true }, 'error', () => undefined);

function pool(quotaBytes: number, budget = new TenantBudget(1 << 30), tenant = 't', idleMs = 30_000): ElasticPool {
  return new ElasticPool({
    name: 'elastic-test',
    tenant,
    quotaBytes,
    budget,
    log,
    idleMs,
    classes: [
      { size: 2 * KiB, count: 4, maxCount: quotaBytes / (2 * KiB) },
      { size: 64 * KiB, count: 2, maxCount: quotaBytes / (64 * KiB) },
    ],
  });
}

/** Allocate until the pool refuses (or n buffers). */
function fill(p: NativePool, size: number, n = 10_000): BufferRef[] {
  const got: BufferRef[] = [];
  try {
    while (got.length < n) got.push(p.alloc(size, 7));
  } catch (err) {
    expect(errorCode(err)).toBe('EPOOL_EXHAUSTED');
  }
  return got;
}

describe('ElasticPool', () => {
  it('grows a class that ran out, as long as the chain quota allows, and no further', () => {
    const p = pool(1 * MiB);
    expect(p.capacityBytes).toBe(4 * 2 * KiB + 2 * 64 * KiB);
    const held = fill(p.native, 60 * KiB);
    expect(held).toHaveLength(2);
    // The gateway's path: exhausted -> relieve -> allocate again.
    let grown = 0;
    while (p.relieve(60 * KiB)) {
      grown++;
      held.push(...fill(p.native, 60 * KiB));
    }
    expect(grown).toBeGreaterThan(1);
    // Every byte of the quota that 64 KiB buffers can fill is now in use;
    // the small class keeps what it had.
    const occ = p.occupancy();
    expect(occ.capacityBytes).toBeLessThanOrEqual(MiB);
    expect(occ.classes[1]!.inUse).toBe(held.length);
    expect(held.length * 64 * KiB).toBeGreaterThan(MiB - 4 * 2 * KiB - 64 * KiB);
    expect(p.relieve(60 * KiB)).toBe(false);
    for (const b of held) p.native.free(b.offset, b.generation);
    p.close();
  });

  it('makes room for a class from idle buffers of another when the quota is full', () => {
    const p = pool(256 * KiB);
    // Small class grows to fill most of the quota, then goes idle.
    const small = fill(p.native, 100);
    while (p.relieve(100)) small.push(...fill(p.native, 100));
    for (const b of small) p.native.free(b.offset, b.generation);
    const before = p.occupancy();
    expect(before.classes[0]!.capacity).toBeGreaterThanOrEqual(64);
    // Now the big class needs more than the quota has left.
    const big = fill(p.native, 64 * KiB);
    expect(p.relieve(64 * KiB)).toBe(true);
    big.push(...fill(p.native, 64 * KiB));
    const after = p.occupancy();
    expect(after.classes[1]!.inUse).toBe(big.length);
    expect(after.classes[0]!.capacity).toBeLessThan(before.classes[0]!.capacity);
    expect(after.capacityBytes).toBeLessThanOrEqual(256 * KiB);
    for (const b of big) p.native.free(b.offset, b.generation);
    p.close();
  });

  it('keeps a tenant under its budget across its pools, and gives the bytes back on close', () => {
    const budget = new TenantBudget(512 * KiB);
    const a = pool(1 * MiB, budget, 'acme');
    const b = pool(1 * MiB, budget, 'acme');
    const other = pool(1 * MiB, budget, 'globex');
    const held = fill(a.native, 60 * KiB);
    while (a.relieve(60 * KiB)) held.push(...fill(a.native, 60 * KiB));
    expect(budget.inUse('acme')).toBeLessThanOrEqual(512 * KiB);
    expect(a.capacityBytes + b.capacityBytes).toBe(budget.inUse('acme'));
    // Another tenant is not limited by acme's use.
    expect(other.relieve(60 * KiB)).toBe(true);
    expect(() => pool(1 * MiB, budget, 'acme')).toThrow(TenantQuotaError);
    for (const x of held) a.native.free(x.offset, x.generation);
    a.close();
    b.close();
    expect(budget.inUse('acme')).toBe(0);
    other.close();
  });

  it('grows ahead of demand on its tick, and shrinks an idle class back to its first size', async () => {
    const p = pool(1 * MiB, new TenantBudget(1 << 30), 't', 50);
    const held = fill(p.native, 100, 4); // all four small buffers: none free
    p.tick();
    const grown = p.occupancy().classes[0]!.capacity;
    expect(grown).toBeGreaterThan(4);
    for (const b of held) p.native.free(b.offset, b.generation);
    await new Promise((r) => setTimeout(r, 60));
    p.tick(); // window over: peak was 4, so back towards max(first count, 2 x peak)
    await new Promise((r) => setTimeout(r, 60));
    p.tick();
    expect(p.occupancy().classes[0]!.capacity).toBeLessThan(grown);
    expect(p.occupancy().classes[0]!.capacity).toBeGreaterThanOrEqual(4);
    p.close();
  });

  it('frees buffers past their deadline, reporting who held them', () => {
    const p = pool(1 * MiB);
    const b = p.native.alloc(100, 9);
    p.native.label(b.offset, b.generation, 1234, (native.nowMs() + 10) >>> 0);
    expect(p.expire(native.nowMs()).count).toBe(0);
    const later = p.expire((native.nowMs() + 20) >>> 0);
    expect(later).toEqual({ count: 1, expired: [{ owner: 9, tag: 1234 }] });
    expect(p.occupancy().inUseBytes).toBe(0);
    p.close();
  });
});

describe('pool plan from the chain limits', () => {
  it('derives a ladder up to the body limit and one size above it', () => {
    expect(classSizes({ maxBodyBytes: 1 * MiB, quotaBytes: 64 * MiB })).toEqual([2048, 8192, 32768, 131072, 524288, 1048576, 4194304]);
    expect(classSizes({ maxBodyBytes: 100, quotaBytes: 64 * MiB })).toEqual([128, 1048576]);
    const plan = planClasses({ maxBodyBytes: 70_000, quotaBytes: 16 * MiB });
    for (const c of plan) {
      expect(c.maxCount! * c.size).toBeLessThanOrEqual(16 * MiB);
      expect(c.count).toBeGreaterThanOrEqual(1);
    }
    expect(plan.at(-1)!.size).toBeGreaterThanOrEqual(70_000);
  });

  it('says what is wrong with a plan ferryd cannot make', () => {
    expect(checkPlan({ maxBodyBytes: 1 * MiB, quotaBytes: 64 * MiB })).toBeUndefined();
    expect(checkPlan({ maxBodyBytes: 1 * MiB, quotaBytes: 64 * MiB, sizes: [4096, 2048] })).toMatch(/ascend/);
    expect(checkPlan({ maxBodyBytes: 1 * MiB, quotaBytes: 64 * MiB, sizes: [1000] })).toMatch(/multiple of 64/);
    expect(checkPlan({ maxBodyBytes: 1 * MiB, quotaBytes: 64 * MiB, sizes: [4096] })).toMatch(/smaller than the largest body/);
    expect(checkPlan({ maxBodyBytes: 4 * MiB, quotaBytes: 2 * MiB, sizes: [4 * MiB] })).toMatch(/cannot hold one buffer/);
    expect(checkPlan({ maxBodyBytes: 1 * MiB, quotaBytes: 2 ** 31 })).toMatch(/address space/);
  });
});
