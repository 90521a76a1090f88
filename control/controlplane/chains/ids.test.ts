import { describe, expect, it } from 'vitest';
import { line } from '../placement/testdata/views.js';
import { IdAllocator, MAX_WORKLOAD_ID } from './ids.js';
import type { ChainRecord } from './record.js';

const holding = (ids: number[]): ChainRecord => ({
  name: 'c',
  tenant: 't',
  chainId: 1,
  generation: 1,
  yaml: '',
  file: '/x/c.yaml',
  appliedAtMs: 0,
  ir: line(),
  instances: ids.map((id) => ({ id, stage: 0, node: 'n1', weight: 1 })),
  gateways: [],
});

describe('IdAllocator', () => {
  it('hands out the free ids after where the last change stopped, so a freed id is not reused at once', () => {
    const ids = new IdAllocator([holding([1, 2, 7])], 5);
    expect([ids.take(), ids.take(), ids.take()]).toEqual([5, 6, 8]);
    expect(ids.nextId).toBe(9);
  });

  it('wraps around past the last workload id, skipping those in use', () => {
    const ids = new IdAllocator([holding([1])], MAX_WORKLOAD_ID);
    expect([ids.take(), ids.take()]).toEqual([MAX_WORKLOAD_ID, 2]);
  });

  it('starts at 1 when nothing says where, or what it is told is out of range', () => {
    expect(new IdAllocator([]).take()).toBe(1);
    expect(new IdAllocator([], 0).take()).toBe(1);
    expect(new IdAllocator([], MAX_WORKLOAD_ID + 1).take()).toBe(1);
  });
});
