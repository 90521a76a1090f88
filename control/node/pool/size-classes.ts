/**
 * Which buffer sizes a chain's pool has, and how many of each it may grow
 * to: derived from the chain's largest body and its pool quota, or from
 * sizes the chain asks for (spec.limits.sizeClasses).
 *
 * A payload must fit in one buffer, so the largest class bounds every
 * stage's output; the classes below it keep small requests from holding big
 * buffers. Reserved slots cost address space, not memory (the memfd is
 * sparse), so every class may reserve up to the whole quota; ferryd keeps
 * the sum of what is in service under the quota (ElasticPool).
 */
import type { SizeClass } from '../../dataplane/native.js';

/** Most classes a pool has (FERRY_POOL_MAX_CLASSES in pool.h). */
export const MAX_CLASSES = 8;
/** Smallest class and the ladder's step. */
export const SMALLEST_CLASS = 2048;
const STEP = 4;
/** The largest class is at least this, so outputs may outgrow inputs. */
const MIN_TOP_CLASS = 1 << 20;
/** At most this many slots per class: bounds the metadata a scan walks. */
const MAX_SLOTS = 65_536;
/** What each class holds in service from the start, roughly. */
const INITIAL_BYTES_PER_CLASS = 256 * 1024;
/** A pool's address space, all classes together: one ArrayBuffer in Node
 * (below 4 GiB on Node 20) and one mapping per instance. */
export const MAX_POOL_SPAN = 3 * 2 ** 30;

export interface PoolPlan {
  /** Largest body the gateway accepts. */
  maxBodyBytes: number;
  /** Most bytes of buffers in service at once. */
  quotaBytes: number;
  /** Explicit sizes (ascending, multiples of 64); otherwise derived. */
  sizes?: number[];
}

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/** The class sizes for a plan: a ladder x4 from 2 KiB, the body limit
 * itself (rounded to 64 bytes) so a largest body takes a tight buffer, and
 * one step above it (at least 1 MiB) for outputs that grow. */
export function classSizes(plan: PoolPlan): number[] {
  if (plan.sizes && plan.sizes.length > 0) return [...plan.sizes];
  const body = roundUp(Math.max(plan.maxBodyBytes, 64), 64);
  const sizes: number[] = [];
  for (let s = SMALLEST_CLASS; s < body; s *= STEP) sizes.push(s);
  sizes.push(body);
  const top = Math.max(body * STEP, MIN_TOP_CLASS);
  if (top <= plan.quotaBytes) sizes.push(top);
  // Too many: drop the smallest rungs (they matter least).
  while (sizes.length > MAX_CLASSES) sizes.shift();
  return sizes;
}

/** Sizes and slot counts: each class reserves as many slots as the quota
 * could fill (at least one), and starts with about 256 KiB in service. */
export function planClasses(plan: PoolPlan): SizeClass[] {
  const classes = classSizes(plan).map((size) => {
    const maxCount = Math.max(1, Math.min(MAX_SLOTS, Math.floor(plan.quotaBytes / size)));
    const count = Math.min(maxCount, Math.max(1, Math.floor(INITIAL_BYTES_PER_CLASS / size)));
    return { size, count, maxCount };
  });
  return classes;
}

/** Why a plan cannot make a pool, or undefined: what CreatePool and the
 * chain compiler tell the user. */
export function checkPlan(plan: PoolPlan): string | undefined {
  const sizes = classSizes(plan);
  if (sizes.length === 0 || sizes.length > MAX_CLASSES) return `a pool has 1 to ${MAX_CLASSES} size classes, not ${sizes.length}`;
  for (let i = 0; i < sizes.length; i++) {
    const s = sizes[i]!;
    if (!Number.isInteger(s) || s <= 0 || s % 64 !== 0) return `size class ${s} is not a positive multiple of 64 bytes`;
    if (i > 0 && s <= sizes[i - 1]!) return `size classes must ascend (${sizes[i - 1]} then ${s})`;
  }
  const top = sizes.at(-1)!;
  if (top < plan.maxBodyBytes) return `the largest size class (${top} bytes) is smaller than the largest body (${plan.maxBodyBytes} bytes)`;
  if (plan.quotaBytes < top) return `the pool quota (${plan.quotaBytes} bytes) cannot hold one buffer of the largest class (${top} bytes)`;
  const span = planClasses(plan).reduce((n, c) => n + c.size * (c.maxCount ?? c.count), 0);
  if (span > MAX_POOL_SPAN)
    return `the pool would reserve ${span} bytes of address space (more than ${MAX_POOL_SPAN}); lower poolBytes or use fewer size classes`;
  return undefined;
}

/** "1073741824", "512Mi", "1Gi", "64Ki" -> bytes; throws what it expected. */
export function parseByteSize(text: string, what: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(text.trim());
  const n = m ? Number(m[1]) * { '': 1, Ki: 1024, Mi: 1 << 20, Gi: 2 ** 30 }[m[2] ?? '']! : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${what}: "${text}" is not a size: bytes, or a number with Ki, Mi or Gi (e.g. 512Mi)`);
  return n;
}
