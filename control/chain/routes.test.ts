/**
 * Route tables and allow-lists from the IR: the prefer-local policy that
 * keeps hops on one node and cannot loop between nodes.
 */
import { describe, expect, it } from 'vitest';
import type { ChainIR, StageIR } from './ir.js';
import { allowEdges, routeTables, STAGE_REPLY, type Placed } from './routes.js';

function stage(id: number, name: string, next: number[], min = 1): StageIR {
  return {
    id,
    name,
    runtime: 'node',
    handler: `/fns/${name}.ts`,
    archs: ['amd64'],
    resources: { cpuMilli: 100, memoryMb: 64 },
    scale: { min, max: 16 },
    next: next.map((n) => ({ name: `s${n}`, id: n })),
    data: {},
  };
}

/** 0 -> 1 -> 2 -> reply */
function chain(min1 = 1): ChainIR {
  return {
    name: 'c',
    tenant: 't',
    entry: 0,
    maxBodyBytes: 1 << 20,
    timeoutMs: 1000,
    bodyTimeoutMs: 1000,
    poolBytes: 64 << 20,
    stages: [stage(0, 's0', [1]), stage(1, 's1', [2], min1), stage(2, 's2', [])],
    source: { file: 'c.yaml' },
  };
}

function placement(entries: [number, Placed[]][]): Map<number, Placed[]> {
  return new Map(entries);
}

describe('routeTables', () => {
  const placed = placement([
    [0, [{ instance: 10, node: 'a', weight: 1 }]],
    [1, [{ instance: 11, node: 'b', weight: 3 }, { instance: 12, node: 'c', weight: 1 }]],
    [2, [{ instance: 13, node: 'a', weight: 2 }, { instance: 14, node: 'b', weight: 5 }]],
  ]);

  it('routes a stage with local instances only to them, without a node', () => {
    const a = routeTables(chain(), placed, 'a');
    expect(a[0]).toEqual({ stage: 0, targets: [{ instance: 10, weight: 1 }] });
    expect(a[2]).toEqual({ stage: 2, targets: [{ instance: 13, weight: 2 }] });
  });

  it('routes a stage with no local instance to every remote one, each with its node and weight', () => {
    const a = routeTables(chain(), placed, 'a');
    expect(a[1]).toEqual({
      stage: 1,
      targets: [
        { instance: 11, weight: 3, node: 'b' },
        { instance: 12, weight: 1, node: 'c' },
      ],
    });
  });

  it('prefers local instances even when other nodes run the stage too', () => {
    const b = routeTables(chain(), placed, 'b');
    expect(b[1]?.targets).toEqual([{ instance: 11, weight: 3 }]);
    expect(b[2]?.targets).toEqual([{ instance: 14, weight: 5 }]);
    expect(b[0]?.targets).toEqual([{ instance: 10, weight: 1, node: 'a' }]);
  });

  it('serves a stage from other nodes while its local instances all have weight 0', () => {
    const p = placement([
      [0, [{ instance: 10, node: 'a', weight: 1 }]],
      [1, [{ instance: 11, node: 'a', weight: 0 }, { instance: 12, node: 'b', weight: 4 }]],
      [2, [{ instance: 13, node: 'a', weight: 1 }]],
    ]);
    expect(routeTables(chain(), p, 'a')[1]?.targets).toEqual([{ instance: 12, weight: 4, node: 'b' }]);
  });

  it('never sends a request that crossed to another node for a stage onward to a third node', () => {
    const nodes = ['a', 'b', 'c', 'd'];
    const tables = new Map(nodes.map((n) => [n, routeTables(chain(), placed, n)]));
    for (const n of nodes) {
      for (const route of tables.get(n)!) {
        for (const t of route.targets.filter((x) => x.node)) {
          const there = tables.get(t.node!)![route.stage]!;
          expect(there.targets.every((x) => x.node === undefined), `${n} -> ${t.node} for stage ${route.stage}`).toBe(true);
          expect(there.targets.map((x) => x.instance)).toContain(t.instance);
        }
      }
    }
  });

  it('gives a stage that may scale to zero and has no instance an empty route', () => {
    const p = placement([
      [0, [{ instance: 10, node: 'a', weight: 1 }]],
      [2, [{ instance: 13, node: 'a', weight: 1 }]],
    ]);
    expect(routeTables(chain(0), p, 'a')[1]).toEqual({ stage: 1, targets: [] });
  });

  it('refuses a stage with no instance anywhere when its scale.min is above 0', () => {
    const p = placement([[0, [{ instance: 10, node: 'a', weight: 1 }]]]);
    expect(() => routeTables(chain(), p, 'a')).toThrow(/stage "s1" \(1\) has no instance on any node, but scale.min is 1/);
  });

  it('refuses a placement for a stage the chain does not have', () => {
    const p = placement([...placed, [7, [{ instance: 99, node: 'a', weight: 1 }]]]);
    expect(() => routeTables(chain(), p, 'a')).toThrow(/placement names stage 7/);
  });

  it('refuses more targets than a route entry holds', () => {
    const many: Placed[] = Array.from({ length: 17 }, (_, i) => ({ instance: 100 + i, node: `n${i}`, weight: 1 }));
    const p = placement([...placed, [1, many]]);
    expect(() => routeTables(chain(), p, 'a')).toThrow(/needs 17 route targets on node a; a route holds at most 16/);
  });
});

describe('allowEdges', () => {
  it('allows injection into the entry, every next edge, and every stage to answer the caller', () => {
    expect(allowEdges(chain())).toEqual([
      [STAGE_REPLY, 0],
      [0, 1],
      [0, STAGE_REPLY],
      [1, 2],
      [1, STAGE_REPLY],
      [2, STAGE_REPLY],
    ]);
  });
});
