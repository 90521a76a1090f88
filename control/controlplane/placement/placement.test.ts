/** The default placement pipeline: fit filters, then locality over spreading. */
import { describe, expect, it } from 'vitest';
import type { ChainIR, StageIR } from '../../chain/ir.js';
import { defaultScheduler } from './default.js';
import { PlacementError, type NodeView } from './framework.js';

function stage(id: number, name: string, over: Partial<StageIR> = {}): StageIR {
  return {
    id,
    name,
    runtime: 'node',
    handler: `/x/${name}.ts`,
    archs: ['amd64', 'arm64'],
    resources: { cpuMilli: 500, memoryMb: 128 },
    scale: { min: 1, max: 4 },
    next: [],
    data: {},
    ...over,
  };
}

function chain(stages: StageIR[]): ChainIR {
  return { name: 'c', tenant: 't', entry: 0, maxBodyBytes: 1 << 20, timeoutMs: 10_000, stages, source: { file: '/x/c.yaml' } };
}

function node(name: string, over: Partial<NodeView> = {}): NodeView {
  return { name, archs: ['amd64'], cpuMilli: 4000, memoryMb: 8192, usedCpuMilli: 0, usedMemoryMb: 0, labels: {}, peered: true, ...over };
}

const one = (ir: ChainIR) => new Map(ir.stages.map((s) => [s.id, 1]));

describe('default scheduler', () => {
  it('keeps a chain on one node when it fits (chain locality)', () => {
    const ir = chain([stage(0, 'a', { next: [{ name: 'b', id: 1 }] }), stage(1, 'b', { next: [{ name: 'c', id: 2 }] }), stage(2, 'c')]);
    const out = defaultScheduler().place(ir, [node('n1'), node('n2')], one(ir));
    expect(new Set(out.map((a) => a.node)).size).toBe(1);
  });

  it('places a stage on a node of an architecture it ships for', () => {
    const ir = chain([stage(0, 'a', { archs: ['arm64'] })]);
    const out = defaultScheduler().place(ir, [node('x86'), node('arm', { archs: ['arm64'] })], one(ir));
    expect(out).toEqual([{ stage: 0, node: 'arm' }]);
  });

  it('moves on to another node when one is full (resource fit)', () => {
    const ir = chain([stage(0, 'a', { resources: { cpuMilli: 3000, memoryMb: 128 }, next: [{ name: 'b', id: 1 }] }), stage(1, 'b', { resources: { cpuMilli: 3000, memoryMb: 128 } })]);
    const out = defaultScheduler().place(ir, [node('n1'), node('n2')], one(ir));
    expect(out.map((a) => a.node).sort()).toEqual(['n1', 'n2']);
  });

  it('prefers the node labelled with the data a stage declares', () => {
    const ir = chain([stage(0, 'a', { data: { bucket: 'frames' } })]);
    const out = defaultScheduler().place(ir, [node('plain'), node('frames', { labels: { bucket: 'frames' } })], one(ir));
    expect(out).toEqual([{ stage: 0, node: 'frames' }]);
  });

  it('follows a stage to its data even when that splits the chain (data over chain locality)', () => {
    const ir = chain([stage(0, 'a', { next: [{ name: 'b', id: 1 }] }), stage(1, 'b', { data: { site: 'edge' } })]);
    const out = defaultScheduler().place(ir, [node('core'), node('edge', { labels: { site: 'edge' } })], one(ir));
    expect(out).toEqual([
      { stage: 0, node: 'core' },
      { stage: 1, node: 'edge' },
    ]);
  });

  it('keeps a chain on one node when the nodes cannot peer, whatever the data wants', () => {
    const ir = chain([stage(0, 'a', { next: [{ name: 'b', id: 1 }] }), stage(1, 'b', { data: { site: 'edge' } })]);
    const out = defaultScheduler().place(ir, [node('core', { peered: false }), node('edge', { labels: { site: 'edge' } })], one(ir));
    expect(new Set(out.map((a) => a.node)).size).toBe(1);
  });

  it('says a node without a peer listener cannot take the rest of a chain', () => {
    const ir = chain([stage(0, 'a', { resources: { cpuMilli: 3000, memoryMb: 128 }, next: [{ name: 'b', id: 1 }] }), stage(1, 'b', { resources: { cpuMilli: 3000, memoryMb: 128 } })]);
    expect(() => defaultScheduler().place(ir, [node('n1', { peered: false }), node('n2', { peered: false })], one(ir))).toThrow(
      /no node can run stage "b": n1: ResourceFit: needs 3000m cpu, 1000m free; n2: PeerReach: no peer listener \(ferryd --peer\), and the chain already runs on n1/,
    );
  });

  it('explains per node why a stage cannot be placed', () => {
    const ir = chain([stage(0, 'big', { archs: ['amd64'], resources: { cpuMilli: 9000, memoryMb: 128 } })]);
    let err: unknown;
    try {
      defaultScheduler().place(ir, [node('n1'), node('arm', { archs: ['arm64'], cpuMilli: 16000 })], one(ir));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlacementError);
    expect((err as PlacementError).reasons).toEqual({
      n1: 'ResourceFit: needs 9000m cpu, 4000m free',
      arm: expect.stringContaining('ArchFit: node is arm64'),
    });
  });

  it('says so when there are no nodes at all', () => {
    const ir = chain([stage(0, 'a')]);
    expect(() => defaultScheduler().place(ir, [], one(ir))).toThrow('no nodes are ready');
  });
});
