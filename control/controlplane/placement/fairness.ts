/**
 * Dominant resource fairness (Ghodsi et al., NSDI 2011), as Mu (Mittal et
 * al., SoCC 2021) applies it to serverless placement: a tenant's dominant
 * share is the largest fraction of any one cluster resource its instances
 * take, and the tenant with the smallest dominant share is served first.
 */
import type { Resources } from './framework.js';

/** The largest of the tenant's cpu and memory shares of the cluster, 0..1+. */
export function dominantShare(use: Resources, capacity: Resources): number {
  return Math.max(use.cpuMilli / Math.max(1, capacity.cpuMilli), use.memoryMb / Math.max(1, capacity.memoryMb));
}

/**
 * How far the tenant is below the others' average dominant share,
 * relative to the largest: > 0 it has less than its fair part (it should
 * get the better nodes), < 0 more, 0 when it is alone or all are equal.
 * A tenant not in `tenants` takes nothing yet (share 0).
 */
export function fairnessAdvantage(tenant: string, tenants: ReadonlyMap<string, Resources>, capacity: Resources): number {
  const shares = new Map([...tenants].map(([t, use]) => [t, dominantShare(use, capacity)]));
  if (!shares.has(tenant)) shares.set(tenant, 0);
  const all = [...shares.values()];
  const max = Math.max(...all);
  if (max <= 0) return 0;
  const mean = all.reduce((a, b) => a + b, 0) / all.length;
  return (mean - shares.get(tenant)!) / max;
}

/** Jain's fairness index of xs: 1 when all are equal, 1/n when one has all. */
export function jainIndex(xs: readonly number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  const squares = xs.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? 1 : (sum * sum) / (xs.length * squares);
}
