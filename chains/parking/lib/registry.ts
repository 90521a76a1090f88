/**
 * The lot operator's vehicle registry, keyed by normalized plate (what
 * `detection` produces: upper-case letters and digits only). A plate not in
 * it is a visitor.
 */
export type Permit = 'resident' | 'staff' | 'visitor' | 'blocked';

export interface Vehicle {
  owner: string | null;
  permit: Permit;
}

const REGISTRY = new Map<string, Vehicle>([
  ['BAB1234', { owner: 'Ada Lovelace', permit: 'resident' }],
  ['KAR0815', { owner: 'Charles Babbage', permit: 'staff' }],
  ['HGW4711', { owner: 'Grace Hopper', permit: 'resident' }],
  ['STOLEN1', { owner: null, permit: 'blocked' }],
]);

export function lookup(plate: string): Vehicle {
  return REGISTRY.get(plate) ?? { owner: null, permit: 'visitor' };
}
