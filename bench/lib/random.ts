/** A seeded pseudo-random generator for benchmarks and simulations, so a
 * run can be repeated exactly: mulberry32 (Tommy Ettinger's 32-bit
 * generator; plenty for picking sizes and shuffling, not for cryptography). */
export type Random = () => number;

/** Uniform in [0, 1). */
export function seeded(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One of xs, uniformly. */
export function pick<T>(rand: Random, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)]!;
}
