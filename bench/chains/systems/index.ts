/**
 * The systems the chain suite can run, in the order it runs them. A plain
 * list: a system joins by importing it and adding it here. Asking for a
 * system it lacks is an error naming what it has.
 */
import type { SystemName, SystemUnderTest } from '../system.js';
import { ferryEbpfSystem, ferryFallbackSystem } from './ferry.js';
import { grpcSystem } from './grpc.js';
import { httpSystem } from './http.js';
import { knativeSystem } from './knative.js';

export const SYSTEMS: readonly SystemUnderTest[] = [
  ferryEbpfSystem,
  ferryFallbackSystem,
  httpSystem,
  knativeSystem,
  grpcSystem,
];

export const ALL_SYSTEM_NAMES: readonly SystemName[] = ['ferry-ebpf', 'ferry-fallback', 'http', 'knative', 'grpc'];

export const isFerry = (name: SystemName) => name.startsWith('ferry-');

/** The systems named (all available ones when `names` is undefined). */
export function selectSystems(names: readonly string[] | undefined, available: readonly SystemUnderTest[] = SYSTEMS): SystemUnderTest[] {
  if (names === undefined) return [...available];
  return names.map((n) => {
    const found = available.find((s) => s.name === n);
    if (found) return found;
    const have = available.map((s) => s.name).join(', ');
    if ((ALL_SYSTEM_NAMES as readonly string[]).includes(n))
      throw new Error(`--systems: "${n}" is not built into this checkout (it has: ${have}); add its module to bench/chains/systems/index.ts`);
    throw new Error(`--systems: unknown system "${n}" (one of: ${have})`);
  });
}
