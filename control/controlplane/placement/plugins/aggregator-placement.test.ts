/**
 * Aggregator placement, plugin by plugin and through the cluster's default
 * scheduler with compiled jobs: leaves spread evenly over the nodes where
 * updates arrive (named, or those serving a gateway), the top by best fit
 * on memory or where the job says, and chains untouched.
 */
import { describe, expect, it } from 'vitest';
import { compileSpecText } from '../../../chain/kinds.js';
import type { ChainIR } from '../../../chain/ir.js';
import { buildScheduler } from '../config.js';
import { PlacementError } from '../framework.js';
import { context, line, node } from '../testdata/views.js';
import { aggregatorNodes, aggregatorPacking } from './aggregator-placement.js';

function job(extra: string, params = 262_144, clients = 40, fanIn = 8): ChainIR {
  const text = `apiVersion: ferry.dev/v1\nkind: AggregationJob\nmetadata: { name: j }\nspec:\n  model: { parameters: ${params} }\n  rounds: 2\n  clients: ${clients}\n  hierarchy: { fanIn: ${fanIn} }\n${extra}`;
  const out = compileSpecText(text, '/x/j.yaml');
  if (out.errors.length) throw new Error(out.errors.map(String).join('\n'));
  return out.jobs[0]!;
}

const placeAll = (ir: ChainIR, nodes: ReturnType<typeof node>[]) =>
  buildScheduler().place({ chain: ir, nodes, add: new Map(ir.stages.map((s) => [s.id, 1])) });

const where = (ir: ChainIR, out: { stage: number; node: string }[]) => Object.fromEntries(out.map((a) => [ir.stages[a.stage]!.name, a.node]));

describe('AggregatorNodes', () => {
  it('has nothing to say about a chain', () => {
    expect(aggregatorNodes.prepare(context(line(), 0, [node('a')]))).toBeUndefined();
  });

  it('keeps leaves on the nodes serving a gateway, or the nodes the job names', () => {
    const nodes = [node('a'), node('b', { gateway: false }), node('c')];
    const any = aggregatorNodes.prepare(context(job(''), 0, nodes))!;
    expect(nodes.map(any)).toEqual([undefined, 'a leaf aggregator runs where updates arrive: the nodes serving a gateway', undefined]);
    const named = aggregatorNodes.prepare(context(job('  placement: { nodes: [c] }'), 0, nodes))!;
    expect(nodes.map((n) => named(n) === undefined)).toEqual([false, false, true]);
    expect(named(nodes[0]!)).toBe('a leaf aggregator runs where updates arrive: spec.placement.nodes (c)');
  });

  it('keeps the top on spec.placement.top, and leaves it free otherwise', () => {
    const ir = job('  placement: { top: b }');
    const nodes = [node('a'), node('b')];
    expect(nodes.map(aggregatorNodes.prepare(context(ir, ir.job!.top, nodes))!)).toEqual(['spec.placement.top is b', undefined]);
    expect(aggregatorNodes.prepare(context(job(''), ir.job!.top, nodes))).toBeUndefined();
  });
});

describe('AggregatorPacking', () => {
  it('prefers the node with the fewest leaves of the job', () => {
    const ir = job('');
    const nodes = [node('a'), node('b'), node('c')];
    const score = aggregatorPacking.prepare(context(ir, 3, nodes, { placed: { 0: ['a'], 1: ['b'], 2: ['a'] } }))!;
    const raw = Float64Array.from(nodes.map(score));
    aggregatorPacking.normalize!(raw);
    expect([...raw]).toEqual([0, 50, 100]);
  });

  it('scores the top by best fit: the smallest free memory left after it', () => {
    const ir = job('', 11_689_512); // 47 MB: the top takes 2 x 45 MiB + 16 MiB
    const need = ir.stages[ir.job!.top]!.resources.memoryMb;
    expect(need).toBe(106);
    const nodes = [node('roomy', { memoryMb: 8192 }), node('snug', { memoryMb: 1024, usedMemoryMb: 1024 - need - 10 }), node('mid', { memoryMb: 4096 })];
    const raw = Float64Array.from(nodes.map(aggregatorPacking.prepare(context(ir, ir.job!.top, nodes))!));
    aggregatorPacking.normalize!(raw);
    expect(raw[1]).toBe(100);
    expect(raw[0]).toBe(0);
    expect(raw[2]! > 0 && raw[2]! < 100).toBe(true);
  });
});

describe('the default scheduler with a job', () => {
  it('spreads 5 leaves over 2 gateway nodes 3:2, never on the node without one, and puts the top on the tightest fit', () => {
    const ir = job('', 11_689_512, 40, 8);
    const nodes = [node('big', { memoryMb: 16384 }), node('edge', { memoryMb: 2048 }), node('core', { gateway: false, memoryMb: 4096 })];
    const placed = where(ir, placeAll(ir, nodes));
    const leaves = ir.job!.leaves.map((l) => placed[`leaf-${l}`]);
    expect(leaves.filter((n) => n === 'big').length + leaves.filter((n) => n === 'edge').length).toBe(5);
    expect(Math.abs(leaves.filter((n) => n === 'big').length - leaves.filter((n) => n === 'edge').length)).toBe(1);
    // edge has the least memory left once its leaves are there: best fit, though big holds more leaves.
    expect(placed['top']).toBe('edge');
  });

  it('puts the top where the job says, and mids by best fit in a three-level tree', () => {
    const ir = job('  placement: { nodes: [a, b], top: a }', 262_144, 100, 4);
    expect(ir.job!.levels).toBe(3);
    const nodes = [node('a'), node('b'), node('c', { memoryMb: 1024 })];
    const placed = where(ir, placeAll(ir, nodes));
    expect(placed['top']).toBe('a');
    for (const l of ir.job!.leaves) expect(['a', 'b']).toContain(placed[`leaf-${l}`]);
    // c is the tightest fit for a mid (it holds a few before it is full).
    expect(ir.job!.mids.some((m) => placed[ir.stages[m]!.name] === 'c')).toBe(true);
  });

  it('says why when no node where updates arrive has room for a leaf', () => {
    const ir = job('  placement: { nodes: [small] }', 11_689_512, 8, 8);
    const nodes = [node('small', { memoryMb: 64 }), node('big', { memoryMb: 16384 })];
    expect(() => placeAll(ir, nodes)).toThrow(PlacementError);
    expect(() => placeAll(ir, nodes)).toThrow(/no node can run stage "leaf-0": small: ResourceFit: needs 106 MB memory, 64 MB free; big: AggregatorNodes: a leaf aggregator runs where updates arrive: spec.placement.nodes \(small\)/);
  });
});
