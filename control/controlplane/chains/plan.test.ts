/** What a re-apply changes, worked out from the stored record and the new IR. */
import { describe, expect, it } from 'vitest';
import type { ChainIR } from '../../chain/ir.js';
import { chain, line, stage } from '../placement/testdata/views.js';
import { pickToRemove, planApply } from './plan.js';
import type { ChainRecord, PlacedInstance } from './record.js';
import { stageVersions } from './versions.js';

const V1 = new Map([
  [0, 'a1'],
  [1, 'b1'],
  [2, 'c1'],
]);

function record(ir: ChainIR, instances: Omit<PlacedInstance, 'weight' | 'node'>[]): ChainRecord {
  return {
    name: ir.name,
    tenant: ir.tenant,
    chainId: 7,
    generation: 1,
    yaml: '',
    file: '/x/c.yaml',
    appliedAtMs: 0,
    ir,
    instances: instances.map((i) => ({ node: 'n1', weight: 1, ...i })),
    gateways: [{ node: 'n1', id: 99 }],
  };
}

/** Instances numbered 1, 2, ... in order: [stage, version] each. */
const numbered = (xs: [number, string | undefined][]) => xs.map(([stage, version], i) => ({ id: i + 1, stage, version }));

/** a, b, c with one instance each at version a1, b1, c1. */
const running = (ir = line()) => record(ir, numbered([[0, 'a1'], [1, 'b1'], [2, 'c1']]));

/** a line whose stage `id` scales min..max. */
const scaled = (id: number, min: number, max: number) => chain(line().stages.map((s) => (s.id === id ? { ...s, scale: { min, max } } : s)));

describe('planApply', () => {
  it('changes nothing when every stage keeps its version and count', () => {
    expect(planApply(running(), line(), V1)).toEqual({ kind: 'incremental', roll: [], add: new Map(), remove: [], changes: [] });
  });

  it('rolls only the instances whose stage version changed', () => {
    const plan = planApply(running(), line(), new Map([...V1, [1, 'b2']]));
    expect(plan).toMatchObject({ kind: 'incremental', roll: [{ id: 2 }], remove: [], changes: ['stage b rolls to version b2 (1 instance)'] });
  });

  it('adds a stage appended at the end, and removes one dropped from the end', () => {
    const four = line(['a', 'b', 'c', 'd']);
    expect(planApply(running(), four, new Map([...V1, [3, 'd1']]))).toMatchObject({ add: new Map([[3, 1]]), changes: ['stage d added (1)'] });
    const two = line(['a', 'b']);
    expect(planApply(running(), two, V1)).toMatchObject({ remove: [{ id: 3 }], changes: ['stage c removed'] });
  });

  it('removes what a roll that stopped part-way left of a stage no version has any more', () => {
    const r = { ...record(line(['a', 'b']), numbered([[0, 'a1'], [1, 'b1'], [2, 'c1']])), prior: [line()] };
    expect(planApply(r, line(['a', 'b']), V1)).toMatchObject({ remove: [{ id: 3 }], changes: ['stage c removed'] });
  });

  it('keeps a count the autoscaler set within the new scale bounds, and clamps it to them', () => {
    const r = record(line(), numbered([[0, 'a1'], [1, 'b1'], [1, 'b1'], [1, 'b1'], [2, 'c1']]));
    expect(planApply(r, line(), V1)).toMatchObject({ roll: [], remove: [], add: new Map() });
    expect(planApply(r, scaled(1, 1, 2), V1)).toMatchObject({ remove: [{ id: 4 }], changes: ['stage b scaled 3 -> 2 (scale 1..2)'] });
    expect(planApply(r, scaled(0, 3, 4), V1)).toMatchObject({ add: new Map([[0, 2]]), changes: ['stage a scaled 1 -> 3 (scale 3..4)'] });
  });

  it('removes instances of the old version first when it scales down and rolls at once', () => {
    const r = record(line(), numbered([[0, 'a0'], [0, 'a1'], [0, 'a0'], [1, 'b1'], [2, 'c1']]));
    expect(planApply(r, scaled(0, 1, 2), V1)).toMatchObject({ remove: [{ id: 3 }], roll: [{ id: 1 }] });
  });

  it('takes instances of a record without versions for the current version when their stage spec is unchanged', () => {
    const legacy = record(line(), numbered([[0, undefined], [1, undefined], [2, undefined]]));
    expect(planApply(legacy, line(), V1)).toMatchObject({ roll: [], changes: [] });
    const moreCpu = chain(line().stages.map((s) => (s.id === 2 ? { ...s, resources: { cpuMilli: 1000, memoryMb: 128 } } : s)));
    expect(planApply(legacy, moreCpu, V1)).toMatchObject({ roll: [{ id: 3 }] });
  });

  it('redeploys, saying why, when the pool or the stage ids must change', () => {
    const why = (ir: ChainIR) => {
      const p = planApply(running(), ir, V1);
      return p.kind === 'redeploy' ? p.reason : 'incremental';
    };
    expect(why(line(undefined, { maxBodyBytes: 2 << 20 }))).toMatch(/^limits.maxBodyBytes changed .*: a pool cannot change under running instances$/);
    expect(why(line(undefined, { poolBytes: 32 << 20 }))).toMatch(/^limits.poolBytes changed/);
    expect(why(line(undefined, { sizeClasses: [2048, 1 << 20] }))).toMatch(/^limits.sizeClasses changed/);
    expect(why(line(undefined, { timeoutMs: 20_000 }))).toMatch(/^limits.timeoutMs grew/);
    expect(why(line(undefined, { timeoutMs: 5_000 }))).toBe('incremental');
    expect(why(line(['a', 'c', 'b']))).toMatch(/^function c moved from position 3 to 2: stage ids follow the order of functions/);
    expect(why(line(['a', 'b', 'x']))).toMatch(/^function c at position 3 was replaced by x/);
  });
});

describe('pickToRemove', () => {
  const at = (id: number, node: string, version = 'v1'): PlacedInstance => ({ id, node, stage: 0, weight: 1, version });

  it('takes the instances to drop from the most crowded node, newest first', () => {
    expect(pickToRemove([at(1, 'n1'), at(2, 'n2'), at(3, 'n2'), at(4, 'n1'), at(5, 'n2')], 2).map((i) => i.id)).toEqual([5, 3]);
  });

  it('takes the ones not worth keeping (not ready, old version) first', () => {
    expect(pickToRemove([at(1, 'n1'), at(2, 'n1'), at(3, 'n1')], 1, (i) => i.id !== 1).map((i) => i.id)).toEqual([1]);
  });
});

describe('stageVersions', () => {
  const ir = chain([stage(0, 'a', { handler: '/h/a.ts' }), stage(1, 'b', { handler: '/h/b.ts' })]);
  const files = (a: string, b: string) => (p: string) => Buffer.from(p === '/h/a.ts' ? a : b);

  it('follows the handler file content and the stage spec, nothing else', () => {
    const v = stageVersions(ir, files('one', 'two'));
    expect(stageVersions(ir, files('one', 'two'))).toEqual(v);
    const edited = stageVersions(ir, files('one', 'two!'));
    expect(edited.get(0)).toBe(v.get(0));
    expect(edited.get(1)).not.toBe(v.get(1));
    const moreMemory = chain([ir.stages[0]!, { ...ir.stages[1]!, resources: { cpuMilli: 500, memoryMb: 256 } }]);
    expect(stageVersions(moreMemory, files('one', 'two')).get(1)).not.toBe(v.get(1));
    const scaled = chain([ir.stages[0]!, { ...ir.stages[1]!, scale: { min: 2, max: 8 } }]);
    expect(stageVersions(scaled, files('one', 'two')).get(1)).toBe(v.get(1));
  });

  it('says which handler it cannot read', () => {
    const missing = () => {
      throw Object.assign(new Error('gone'), { code: 'ENOENT' });
    };
    expect(() => stageVersions(ir, missing)).toThrow('stage a: cannot read its handler /h/a.ts (ENOENT)');
  });
});
