/**
 * A chain's pool on this node as ferryd keeps it: the native pool (shared
 * memory, lock-free, used by every instance of the chain) plus the policy
 * that sizes it. A class that runs low or missed an allocation grows, a
 * class that stayed idle shrinks, and what is in service never passes the
 * chain's quota or, with the tenant's other chains, the tenant's.
 *
 * Counts in service are kept here, not read back from the shared header:
 * every instance of the chain can write that header, so it is trusted only
 * as a hint (in-use counts and misses decide *when* to grow, never how far).
 */
import { native, type ExpiredBuffer, type NativePool, type SizeClass } from '../../dataplane/native.js';
import type { Logger } from '../../log.js';
import type { TenantBudget } from './tenant-budget.js';

export interface ElasticPoolOptions {
  /** memfd name (shows in /proc/<pid>/fd). */
  name: string;
  tenant: string;
  classes: SizeClass[];
  quotaBytes: number;
  budget: TenantBudget;
  log: Logger;
  /** How long a class stays over-provisioned before it shrinks. */
  idleMs?: number;
}

export interface ClassOccupancy {
  size: number;
  /** Buffers in service. */
  capacity: number;
  inUse: number;
  /** What the class can grow to. */
  maxCount: number;
  misses: number;
}

export interface PoolOccupancy {
  tenant: string;
  quotaBytes: number;
  capacityBytes: number;
  inUseBytes: number;
  allocFailures: number;
  classes: ClassOccupancy[];
}

/** Grow when fewer than this share of a class's buffers are free. */
const LOW_WATER = 0.25;
/** Grow by this share of what the class has (at least one buffer). */
const GROW_BY = 0.5;
const DEFAULT_IDLE_MS = 30_000;

/** The tenant's pools together reached their budget on this node. */
export class TenantQuotaError extends Error {
  readonly code = 'ETENANT_QUOTA';
  constructor(tenant: string, want: number, budget: TenantBudget) {
    super(
      `tenant "${tenant}" has ${budget.inUse(tenant)} of its ${budget.limit} pool bytes on this node in service; ` +
        `${want} more do not fit: delete one of its chains or give ferryd a larger --tenant-pool-bytes`,
    );
    this.name = 'TenantQuotaError';
  }
}

export class ElasticPool {
  readonly native: NativePool;
  readonly tenant: string;
  readonly quotaBytes: number;
  private readonly sizes: number[];
  private readonly initial: number[];
  private readonly maxCount: number[];
  private readonly capacity: number[];
  private readonly lastMisses: number[];
  private readonly peak: number[];
  private readonly lastGrowMs: number[];
  private windowStartMs = Date.now();
  private readonly idleMs: number;
  private readonly budget: TenantBudget;
  private readonly log: Logger;
  private closed = false;

  constructor(opts: ElasticPoolOptions) {
    this.tenant = opts.tenant;
    this.quotaBytes = opts.quotaBytes;
    this.budget = opts.budget;
    this.log = opts.log;
    this.idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
    this.sizes = opts.classes.map((c) => c.size);
    this.maxCount = opts.classes.map((c) => c.maxCount ?? c.count);
    this.initial = opts.classes.map((c) => c.count);
    const startBytes = opts.classes.reduce((n, c) => n + c.size * c.count, 0);
    if (startBytes > opts.quotaBytes)
      throw new RangeError(`the pool's first buffers (${startBytes} bytes) do not fit its quota of ${opts.quotaBytes} bytes`);
    if (!this.budget.take(this.tenant, startBytes)) throw new TenantQuotaError(this.tenant, startBytes, this.budget);
    try {
      this.native = new native.Pool({ name: opts.name, classes: opts.classes });
    } catch (err) {
      this.budget.give(this.tenant, startBytes);
      throw err;
    }
    this.capacity = [...this.initial];
    this.lastMisses = this.sizes.map(() => 0);
    this.peak = this.sizes.map(() => 0);
    this.lastGrowMs = this.sizes.map(() => 0);
  }

  get capacityBytes(): number {
    return this.capacity.reduce((n, k, c) => n + k * this.sizes[c]!, 0);
  }

  /** The largest payload a buffer can hold. */
  get largestBuffer(): number {
    return this.sizes.at(-1)!;
  }

  /**
   * Make an allocation of `size` bytes possible now (the gateway found the
   * pool exhausted): grow the smallest class that fits, making room in the
   * quota from idle buffers of other classes if need be. False when the
   * quotas are reached: then, and only then, the pool is exhausted.
   */
  relieve(size: number): boolean {
    const c = this.sizes.findIndex((s) => s >= size);
    if (c < 0 || this.closed) return false;
    return this.grow(c, this.growStep(c), true) > 0;
  }

  /**
   * Periodic upkeep (ferryd's pool keeper calls it a few times a second):
   * grow classes that missed an allocation or run low, and shrink classes
   * that stayed over-provisioned for idleMs back towards twice their peak.
   * True when the pool is at rest: no buffer in use, no miss since the last
   * tick, every class at its first size (nothing to grow, shrink or expire).
   */
  tick(nowMs = Date.now()): boolean {
    if (this.closed) return true;
    const st = this.native.stats();
    const resting = st.classes.every((k, c) => k.inUse === 0 && k.misses === this.lastMisses[c] && this.capacity[c] === this.initial[c]);
    st.classes.forEach((k, c) => {
      const missed = k.misses > this.lastMisses[c]!;
      this.lastMisses[c] = k.misses;
      this.peak[c] = Math.max(this.peak[c]!, k.inUse);
      const free = this.capacity[c]! - k.inUse;
      if (missed || free < Math.max(1, Math.ceil(this.capacity[c]! * LOW_WATER))) {
        if (this.grow(c, this.growStep(c), false) > 0) this.lastGrowMs[c] = nowMs;
      }
    });
    if (nowMs - this.windowStartMs < this.idleMs) return resting;
    st.classes.forEach((k, c) => {
      const target = Math.max(this.initial[c]!, Math.ceil(this.peak[c]! * 2));
      if (this.capacity[c]! > target && nowMs - this.lastGrowMs[c]! >= this.idleMs) this.shrink(c, this.capacity[c]! - target);
      this.peak[c] = k.inUse;
    });
    this.windowStartMs = nowMs;
    return resting;
  }

  /** Free whatever is past its deadline (see ferry_pool_expire). */
  expire(nowMs = native.nowMs()): { count: number; expired: ExpiredBuffer[] } {
    if (this.closed) return { count: 0, expired: [] };
    return this.native.expire(nowMs);
  }

  occupancy(): PoolOccupancy {
    const st = this.native.stats();
    const classes = st.classes.map((k, c) => ({
      size: this.sizes[c]!,
      capacity: this.capacity[c]!,
      inUse: Math.min(k.inUse, this.capacity[c]!),
      maxCount: this.maxCount[c]!,
      misses: k.misses,
    }));
    return {
      tenant: this.tenant,
      quotaBytes: this.quotaBytes,
      capacityBytes: this.capacityBytes,
      inUseBytes: classes.reduce((n, k) => n + k.inUse * k.size, 0),
      allocFailures: st.allocFailures,
      classes,
    };
  }

  /** Unmap and give the tenant its bytes back. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.budget.give(this.tenant, this.capacityBytes);
    this.native.close();
  }

  private growStep(c: number): number {
    return Math.max(1, Math.ceil(this.capacity[c]! * GROW_BY));
  }

  /** Put up to n more buffers of class c in service, within the quotas;
   * with makeRoom, idle buffers of other classes are retired to fit. */
  private grow(c: number, n: number, makeRoom: boolean): number {
    const size = this.sizes[c]!;
    const fits = () =>
      Math.min(
        n,
        this.maxCount[c]! - this.capacity[c]!,
        Math.floor((this.quotaBytes - this.capacityBytes) / size),
        Math.floor(this.budget.room(this.tenant) / size),
      );
    if (fits() < 1 && makeRoom) this.makeRoom(size, c);
    const want = fits();
    if (want < 1) return 0;
    const added = this.native.grow(c, want);
    this.capacity[c] = this.capacity[c]! + added;
    this.budget.take(this.tenant, added * size);
    if (added > 0) this.log.debug('pool grew', { pool: this.tenant, size, added, capacity: this.capacity[c] });
    return added;
  }

  private shrink(c: number, n: number): number {
    const removed = this.native.shrink(c, n);
    this.capacity[c] = this.capacity[c]! - removed;
    this.budget.give(this.tenant, removed * this.sizes[c]!);
    if (removed > 0) this.log.debug('pool shrank', { pool: this.tenant, size: this.sizes[c], removed, capacity: this.capacity[c] });
    return removed;
  }

  /** Retire free buffers of other classes (most free bytes first) until
   * `bytes` fit in the chain's quota. */
  private makeRoom(bytes: number, except: number): void {
    const st = this.native.stats();
    const order = this.sizes
      .map((size, c) => ({ c, freeBytes: (this.capacity[c]! - Math.min(st.classes[c]?.inUse ?? 0, this.capacity[c]!)) * size }))
      .filter((k) => k.c !== except && k.freeBytes > 0)
      .sort((a, b) => b.freeBytes - a.freeBytes);
    for (const { c } of order) {
      const need = bytes - (this.quotaBytes - this.capacityBytes);
      if (need <= 0) return;
      this.shrink(c, Math.ceil(need / this.sizes[c]!));
    }
  }
}
