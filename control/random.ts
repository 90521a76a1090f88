/**
 * Seeded pseudo-random numbers, so a run (a benchmark, a data split, a
 * model's round-0 values, a training shuffle) can be repeated exactly:
 * mulberry32 (Tommy Ettinger's 32-bit generator: small, fast, the same in
 * every JS engine; plenty for sampling and shuffling, not for cryptography).
 */
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

/** Fisher-Yates, in place. */
export function shuffle<T>(a: T[], rand: Random): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
