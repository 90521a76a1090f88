/** Seeded generators for benchmarks and simulations: control/random.ts's,
 * so bench and control draw the same sequences from the same seed. */
import type { Random } from '../../control/random.js';

export { seeded, shuffle, type Random } from '../../control/random.js';

/** One of xs, uniformly. */
export function pick<T>(rand: Random, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)]!;
}
