/**
 * The job compiler's tree, routes and pool: levels and groups for a range
 * of clients and fan-ins, the allow-list the router gets, size classes and
 * quotas for 1 MB, 47 MB (ResNet-18) and 240 MB (ResNet-152) models, and
 * JobConfig per node from a placement.
 */
import { describe, expect, it } from 'vitest';
import { allowEdges, STAGE_REPLY } from '../../chain/routes.js';
import { MAX_POOL_BYTES } from '../../chain/schema.js';
import { compileSpecText } from '../../chain/kinds.js';
import type { ChainIR } from '../../chain/ir.js';
import { AGGREGATOR_HANDLER, SMALL_QUOTA_BYTES, tree } from './compile.js';
import { jobConfig } from './config.js';

function job(spec: string, opts: { nodeNames?: string[] } = {}): ChainIR {
  const text = `apiVersion: ferry.dev/v1\nkind: AggregationJob\nmetadata: { name: j }\nspec:\n${spec.replace(/^/gm, '  ')}\n`;
  const out = compileSpecText(text, '/x/job.yaml', opts);
  if (out.errors.length) throw new Error(out.errors.map(String).join('\n'));
  return out.jobs[0]!;
}

const flat = (params: number, extra = '') => job(`model: { parameters: ${params} }\nrounds: 3\nclients: 50\nhierarchy: { fanIn: 16 }\n${extra}`);

describe('aggregator tree', () => {
  it.each([
    // clients, fanIn, leaves, mids, levels
    [1, 8, 1, 0, 2],
    [8, 8, 1, 0, 2],
    [20, 8, 3, 0, 2],
    [64, 8, 8, 0, 2],
    [65, 8, 9, 2, 3],
    [100, 4, 25, 7, 3],
    [10_000, 1024, 10, 0, 2],
  ])('%i clients under fanIn %i: %i leaves, %i mids, %i levels', (clients, fanIn, L, M, levels) => {
    const t = tree(clients, fanIn);
    expect([t.leaves.length, t.mids.length, t.levels]).toEqual([L, M, levels]);
    expect(t.top).toBe(L + M);
    // Every leaf is in exactly one group, and no parent takes more than fanIn.
    expect(t.groups.flatMap((g) => g.leaves).sort((a, b) => a - b)).toEqual(t.leaves);
    for (const g of t.groups) expect(g.leaves.length).toBeLessThanOrEqual(levels === 3 ? fanIn : L);
    if (levels === 3) expect(t.groups.map((g) => g.parent)).toEqual(t.mids);
  });

  it('compiles to stages leaf-*, mid-*, top, one native built-in instance each, next = the parent', () => {
    const ir = job('model: { parameters: 100 }\nrounds: 2\nclients: 20\nhierarchy: { fanIn: 4 }');
    expect(ir.stages.map((s) => s.name)).toEqual(['leaf-0', 'leaf-1', 'leaf-2', 'leaf-3', 'leaf-4', 'mid-0', 'mid-1', 'top']);
    expect(ir.stages.every((s) => s.runtime === 'native' && s.handler === AGGREGATOR_HANDLER && s.scale.min === 1 && s.scale.max === 1)).toBe(true);
    expect(ir.stages.map((s) => s.next.map((n) => n.name).join())).toEqual(['mid-0', 'mid-0', 'mid-0', 'mid-0', 'mid-1', 'top', 'top', '']);
    const edges = allowEdges(ir).map(([a, b]) => `${a === STAGE_REPLY ? 'gw' : a}>${b === STAGE_REPLY ? 'gw' : b}`);
    // gateway -> every leaf, leaf -> its mid, mid -> top, every stage -> reply; nothing else.
    expect(edges.sort()).toEqual(
      ['gw>0', 'gw>1', 'gw>2', 'gw>3', 'gw>4', '0>5', '1>5', '2>5', '3>5', '4>6', '5>7', '6>7', ...[0, 1, 2, 3, 4, 5, 6, 7].map((s) => `${s}>gw`)].sort(),
    );
  });

  it('resolves a percentage quorum upwards and keeps round rules', () => {
    const j = job('model: { parameters: 10 }\nrounds: 30\nclients: 21\nquorum: "80%"\nstragglers: late-merge\nmaxStaleness: 2\nweighting: uniform').job!;
    expect([j.quorum, j.maxStaleness, j.weighting, j.stragglers]).toEqual([17, 2, 'uniform', 'late-merge']);
  });
});

describe('pool', () => {
  it.each([
    ['1 MB', 262_144, 1_048_640],
    ['47 MB (ResNet-18)', 11_689_512, 46_758_144],
    ['240 MB (ResNet-152)', 60_192_808, 240_771_328],
  ])('%s model: classes 64, 2048 and roundUp64(64 + 4 * params); a quota of whole model buffers under the limit', (_what, params, modelClass) => {
    const ir = flat(params);
    const j = ir.job!;
    expect(j.modelClassBytes).toBe(modelClass);
    expect(modelClass % 64).toBe(0);
    expect(modelClass).toBeGreaterThanOrEqual(64 + 4 * params);
    expect(ir.sizeClasses).toEqual([64, 2048, modelClass]);
    expect(ir.maxBodyBytes).toBe(modelClass);
    // Accumulators (4 leaves + top) and the 2 kept models at least, plus one upload.
    const buffers = Math.floor(ir.poolBytes / modelClass);
    expect(buffers).toBeGreaterThanOrEqual(4 + 1 + 2 + 1);
    expect(ir.poolBytes).toBeLessThanOrEqual(MAX_POOL_BYTES);
  });

  it('gives uploads 2 buffers per leaf when they fit, fewer when the model is large', () => {
    const buffers = (ir: ChainIR) => Math.floor((ir.poolBytes - SMALL_QUOTA_BYTES) / ir.job!.modelClassBytes);
    // 4 leaves + top + 2 kept models, and 8 uploads.
    expect(buffers(flat(262_144))).toBe(4 + 1 + 2 + 8);
    // 2 GiB holds 8 buffers of 240 MB: 7 fixed and 1 upload.
    expect(buffers(flat(60_192_808))).toBe(8);
  });

  it('counts an accumulator per open round under late-merge', () => {
    const drop = flat(262_144);
    const late = flat(262_144, 'stragglers: late-merge\nmaxStaleness: 2');
    const per = (ir: ChainIR) => Math.floor((ir.poolBytes - SMALL_QUOTA_BYTES) / ir.job!.modelClassBytes);
    expect(per(late) - per(drop)).toBe(2 * (4 + 1));
  });
});

describe('JobConfig per node', () => {
  const ir = job('model:\n  layers:\n    - { name: w, shape: [4, 3] }\n    - { name: b, shape: [3] }\nrounds: 5\nclients: 20\nquorum: 16\nhierarchy: { fanIn: 8 }');
  const placed = [
    { stage: 0, node: 'a' },
    { stage: 1, node: 'b' },
    { stage: 2, node: 'a' },
    { stage: 3, node: 'b' },
  ];

  it('names the leaves on the node, every group, and home on the top node only', () => {
    const a = jobConfig(ir.job!, placed, 'a');
    const b = jobConfig(ir.job!, placed, 'b');
    expect([a.localLeaves, b.localLeaves]).toEqual([[0, 2], [1]]);
    expect([a.home, b.home, a.homeNode, b.homeNode]).toEqual([false, true, 'b', 'b']);
    expect(a.groups).toEqual([{ parentStage: 3, leaves: [0, 1, 2] }]);
    expect([a.paramCount, a.quorum, a.topStage, a.layers]).toEqual([15, 16, 3, [{ name: 'w', shape: [4, 3] }, { name: 'b', shape: [3] }]]);
  });
});

describe('placement hints', () => {
  it('must name registered nodes, with a suggestion', () => {
    expect(() => job('model: { parameters: 10 }\nrounds: 1\nclients: 2\nplacement: { nodes: [node-a, nod-b], top: node-c }', { nodeNames: ['node-a', 'node-b'] })).toThrow(
      /8:32: spec.placement.nodes\[1\]: no node named "nod-b" \(did you mean "node-b"\?[^\n]*\n[^]*8:45: spec.placement.top: no node named "node-c"/,
    );
  });
});
