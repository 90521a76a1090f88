/** The placement pipeline as configured by default: filters, normalised
 * and weighted scores, and placement that starts from what runs. */
import { describe, expect, it } from 'vitest';
import { buildScheduler, withWeights } from './config.js';
import { normalizeByMax, PlacementError, Scheduler, type NodeView, type ScorePlugin } from './framework.js';
import { chain, line, node, stage } from './testdata/views.js';

const one = (ir: { stages: { id: number }[] }) => new Map(ir.stages.map((s) => [s.id, 1]));
const place = (ir: Parameters<Scheduler['place']>[0]['chain'], nodes: NodeView[], add = one(ir)) => buildScheduler().place({ chain: ir, nodes, add });

describe('default scheduler', () => {
  it('keeps a chain on one node when it fits (chain locality)', () => {
    const out = place(line(), [node('n1'), node('n2')]);
    expect(new Set(out.map((a) => a.node)).size).toBe(1);
  });

  it('places a stage on a node of an architecture it ships for', () => {
    const ir = chain([stage(0, 'a', { archs: ['arm64'] })]);
    expect(place(ir, [node('x86'), node('arm', { archs: ['arm64'] })])).toEqual([{ stage: 0, node: 'arm' }]);
  });

  it('moves on to another node when one is full (resource fit)', () => {
    const big = { resources: { cpuMilli: 3000, memoryMb: 128 } };
    const ir = chain([stage(0, 'a', { ...big, next: [{ name: 'b', id: 1 }] }), stage(1, 'b', big)]);
    expect(place(ir, [node('n1'), node('n2')]).map((a) => a.node).sort()).toEqual(['n1', 'n2']);
  });

  it('prefers the node labelled with the data a stage declares', () => {
    const ir = chain([stage(0, 'a', { data: { bucket: 'frames' } })]);
    expect(place(ir, [node('plain'), node('frames', { labels: { bucket: 'frames' } })])).toEqual([{ stage: 0, node: 'frames' }]);
  });

  it('follows a stage to its data even when that splits the chain (data over chain locality)', () => {
    const ir = chain([stage(0, 'a', { next: [{ name: 'b', id: 1 }] }), stage(1, 'b', { data: { site: 'edge' } })]);
    expect(place(ir, [node('core'), node('edge', { labels: { site: 'edge' } })])).toEqual([
      { stage: 0, node: 'core' },
      { stage: 1, node: 'edge' },
    ]);
  });

  it('keeps a chain on one node when the nodes cannot peer, whatever the data wants', () => {
    const ir = chain([stage(0, 'a', { next: [{ name: 'b', id: 1 }] }), stage(1, 'b', { data: { site: 'edge' } })]);
    const out = place(ir, [node('core', { peered: false }), node('edge', { labels: { site: 'edge' } })]);
    expect(new Set(out.map((a) => a.node)).size).toBe(1);
  });

  it('says a node without a peer listener cannot take the rest of a chain', () => {
    const big = { resources: { cpuMilli: 3000, memoryMb: 128 } };
    const ir = chain([stage(0, 'a', { ...big, next: [{ name: 'b', id: 1 }] }), stage(1, 'b', big)]);
    expect(() => place(ir, [node('n1', { peered: false }), node('n2', { peered: false })])).toThrow(
      /no node can run stage "b": n1: ResourceFit: needs 3000m cpu, 1000m free; n2: PeerReach: no peer listener \(ferryd --peer\), and the chain already runs on n1/,
    );
  });

  it('explains per node why a stage cannot be placed', () => {
    const ir = chain([stage(0, 'big', { archs: ['amd64'], resources: { cpuMilli: 9000, memoryMb: 128 } })]);
    let err: unknown;
    try {
      place(ir, [node('n1'), node('arm', { archs: ['arm64'], cpuMilli: 16000 })]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlacementError);
    expect((err as PlacementError).reasons).toEqual({ n1: 'ResourceFit: needs 9000m cpu, 4000m free', arm: expect.stringContaining('ArchFit: node is arm64') });
  });

  it('says so when there are no nodes at all', () => {
    expect(() => place(line(['a']), [])).toThrow('no nodes are ready');
  });
});

describe('placement from what runs', () => {
  it('puts a scale-up next to the stages its instances talk to, where they run now', () => {
    // b runs on n2 (n1 is emptier): a new instance of c goes to n2, a new a too.
    const nodes = [node('n1'), node('n2', { usedCpuMilli: 1500, usedMemoryMb: 384 })];
    const running = [
      { stage: 0, node: 'n2' },
      { stage: 1, node: 'n2' },
      { stage: 2, node: 'n2' },
    ];
    const out = buildScheduler().place({ chain: line(), nodes, add: new Map([[2, 1], [0, 1]]), running });
    expect(out).toEqual([
      { stage: 0, node: 'n2' },
      { stage: 2, node: 'n2' },
    ]);
  });

  it('counts what runs once: resources of running instances are in the nodes, not added again', () => {
    const nodes = [node('n1', { cpuMilli: 1000, usedCpuMilli: 500 })];
    const out = buildScheduler().place({ chain: line(['a']), nodes, add: new Map([[0, 1]]), running: [{ stage: 0, node: 'n1' }] });
    expect(out).toEqual([{ stage: 0, node: 'n1' }]);
    expect(nodes[0]).toMatchObject({ usedCpuMilli: 1000 });
    expect(() => buildScheduler().place({ chain: line(['a']), nodes, add: new Map([[0, 1]]) })).toThrow(/ResourceFit: needs 500m cpu, 0m free/);
  });

  it("adds what it places to the tenant's usage", () => {
    const tenants = new Map([['t', { cpuMilli: 100, memoryMb: 10 }]]);
    buildScheduler().place({ chain: line(['a', 'b']), nodes: [node('n1')], add: new Map([[0, 1], [1, 2]]), tenants });
    expect(tenants.get('t')).toEqual({ cpuMilli: 1600, memoryMb: 394 });
  });
});

describe('weights and normalisation', () => {
  it('normalises by the highest score, as Kubernetes does', () => {
    const s = Float64Array.from([10, 40, 20]);
    normalizeByMax(s);
    expect([...s]).toEqual([25, 100, 50]);
    const zeros = Float64Array.from([0, 0]);
    normalizeByMax(zeros);
    expect([...zeros]).toEqual([0, 0]);
  });

  it('normalises each plugin before weighting, so a plugin scoring in thousands does not drown the others', () => {
    // "loud" ranks n1 first by 1000 raw points, "quiet" ranks n2 first by 2;
    // normalised, each gives its best node 100, and the weight decides.
    const loud: ScorePlugin = { name: 'Loud', prepare: () => (n) => (n.name === 'n1' ? 3000 : 2000) };
    const quiet: ScorePlugin = { name: 'Quiet', prepare: () => (n) => (n.name === 'n2' ? 2 : 0) };
    const ir = line(['a']);
    const pick = (wLoud: number, wQuiet: number) =>
      new Scheduler([], [
        { plugin: loud, weight: wLoud },
        { plugin: quiet, weight: wQuiet },
      ]).place({ chain: ir, nodes: [node('n1'), node('n2')], add: one(ir) })[0]!.node;
    expect(pick(1, 1)).toBe('n2'); // loud: 100 vs 66.7; quiet: 0 vs 100
    expect(pick(4, 1)).toBe('n1'); // 400 vs 266.7 + 100
  });

  it('spreads a chain over nodes when chain locality is weighted 0', () => {
    const ir = line(['a', 'b', 'c']);
    const out = buildScheduler(withWeights({ ChainLocality: 0 })).place({ chain: ir, nodes: [node('n1'), node('n2'), node('n3')], add: one(ir) });
    expect(new Set(out.map((a) => a.node)).size).toBe(3);
  });
});
