/**
 * The kept encodings answer exactly what protobufjs would have: the same
 * bytes for GetChain, and for ListChains the same bytes as encoding the
 * whole list (tags, lengths of one and of several bytes, empty lists).
 */
import type { MethodDefinition } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { withEncodedStatus } from './encoded-status.js';
import { adminService, type ChainStatus } from './proto.js';

const serialize = (m: MethodDefinition<unknown, unknown> | undefined, v: unknown): Buffer => m!.responseSerialize(v);

function status(name: string, stages: number): ChainStatus {
  const s = serialize(adminService.GetChain, {
    name,
    tenant: 'default',
    chainId: 7,
    entry: 'a',
    generation: 3,
    appliedAtMs: 1764754000000,
    state: 'RUNNING',
    endpoints: [`/chains/${name}`],
    requestsPerSec: 12.5,
    stages: Array.from({ length: stages }, (_, i) => ({ name: `stage-${i}`, instances: [{ id: i + 1, node: 'solo', pid: 1000 + i, ready: true }] })),
  });
  return adminService.GetChain!.responseDeserialize(s) as ChainStatus;
}

describe('ChainStatus encoded once per status', () => {
  const cached = withEncodedStatus(adminService);

  it('encodes GetChain as protobufjs does, and keeps the bytes of a status it served', () => {
    for (const s of [status('tiny', 0), status('big', 12)]) {
      const once = serialize(cached.GetChain, s);
      expect(once.equals(serialize(adminService.GetChain, s))).toBe(true);
      expect(serialize(cached.GetChain, s)).toBe(once);
    }
  });

  it('puts ListChains together from the kept bytes exactly as encoding the list would', () => {
    const small = status('a', 1);
    const big = status('b', 40); // more than 127 bytes: a two-byte length
    expect(serialize(adminService.GetChain, big).length).toBeGreaterThan(127);
    for (const chains of [[], [small], [small, big, small], [big]]) {
      const ours = serialize(cached.ListChains, { chains });
      expect(ours.equals(serialize(adminService.ListChains, { chains }))).toBe(true);
      expect(adminService.ListChains!.responseDeserialize(ours)).toEqual({ chains });
    }
  });
});
