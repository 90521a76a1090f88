import { describe, expect, it } from 'vitest';
import { chain, context, node, stage } from '../testdata/views.js';
import { spread } from './spread.js';

describe('Spread', () => {
  it('scores a node by the share of its cpu still free', () => {
    const nodes = [node('empty'), node('quarter', { usedCpuMilli: 1000 }), node('full', { usedCpuMilli: 4000 }), node('over', { usedCpuMilli: 5000 })];
    expect(nodes.map(spread.prepare(context(chain([stage(0, 'a')]), 0, nodes))!)).toEqual([100, 75, 0, 0]);
  });
});
