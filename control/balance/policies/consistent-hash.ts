/**
 * consistent-hash: a request carrying the chain's request key (a header or
 * a top-level JSON field named in the YAML; the gateway hashes it into the
 * request id, abi.h FERRY_REQUEST_KEY) always goes to the same target while
 * the stage's targets stay the same, and when one comes or goes only the
 * keys of its arcs move. The kernel looks the key up per message in the
 * stage's ring (bpf maps.bpf.h ferry_rings; the relay and the egress use the
 * same lookup, node/router/pick.ts): weights alone cannot pin a key. Each
 * target gets `vnodes` virtual nodes at its base weight's share. Requests
 * without the key go by the base weights, as with random.
 */
import type { BalancePolicy } from '../policy.js';
import type { ParamSpecs, PolicyParams } from '../params.js';

export const consistentHashParams: ParamSpecs = {
  vnodes: { description: 'virtual nodes of the target with the largest weight (a ring holds 256 points)', default: 16, min: 1, max: 256, integer: true },
};

export function consistentHash(p: PolicyParams): BalancePolicy {
  return {
    name: 'consistent-hash',
    ring: { vnodes: p.vnodes! },
    decide: (tick) => ({ shares: tick.targets.map(() => 1), reason: `ring of ${p.vnodes} virtual nodes per target` }),
  };
}
