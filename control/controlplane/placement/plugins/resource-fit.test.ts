import { describe, expect, it } from 'vitest';
import { chain, context, node, stage } from '../testdata/views.js';
import { resourceFit } from './resource-fit.js';

describe('ResourceFit', () => {
  const ir = chain([stage(0, 'a', { resources: { cpuMilli: 500, memoryMb: 256 } })]);
  const check = (n: ReturnType<typeof node>) => resourceFit.prepare(context(ir, 0, [n]))!(n);

  it('lets through a node with room, up to exactly full', () => {
    expect(check(node('n', { cpuMilli: 1000, usedCpuMilli: 500, memoryMb: 512, usedMemoryMb: 256 }))).toBeUndefined();
  });

  it('refuses a node short of cpu, saying how much is free', () => {
    expect(check(node('n', { cpuMilli: 1000, usedCpuMilli: 600 }))).toBe('needs 500m cpu, 400m free');
  });

  it('refuses a node short of memory, saying how much is free', () => {
    expect(check(node('n', { memoryMb: 1024, usedMemoryMb: 1000 }))).toBe('needs 256 MB memory, 24 MB free');
  });
});
