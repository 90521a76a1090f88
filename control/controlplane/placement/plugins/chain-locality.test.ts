import { describe, expect, it } from 'vitest';
import { chain, context, line, node, stage } from '../testdata/views.js';
import { chainLocality } from './chain-locality.js';

describe('ChainLocality', () => {
  const nodes = [node('n1'), node('n2'), node('n3')];

  it('has nothing to say while no neighbour runs', () => {
    expect(chainLocality.prepare(context(line(), 1, nodes, { placed: { 1: ['n1'] } }))).toBeUndefined();
  });

  it('scores a node by its share of the instances of the stages before and after', () => {
    // b's neighbours: a (on n1) and c (on n1, n2).
    const score = chainLocality.prepare(context(line(), 1, nodes, { placed: { 0: ['n1'], 2: ['n1', 'n2'] } }))!;
    expect(nodes.map(score)).toEqual([(100 * 2) / 3, 100 / 3, 0]);
  });

  it('ignores where other replicas of the same stage and unrelated stages run', () => {
    const ir = chain([stage(0, 'a', { next: [{ name: 'b', id: 1 }] }), stage(1, 'b'), stage(2, 'x')]);
    const score = chainLocality.prepare(context(ir, 1, nodes, { placed: { 1: ['n2'], 2: ['n3'], 0: ['n1'] } }))!;
    expect(nodes.map(score)).toEqual([100, 0, 0]);
  });
});
