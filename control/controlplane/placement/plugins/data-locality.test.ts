import { describe, expect, it } from 'vitest';
import { chain, context, node, stage } from '../testdata/views.js';
import { dataLocality } from './data-locality.js';

describe('DataLocality', () => {
  const nodes = [node('plain'), node('half', { labels: { bucket: 'frames' } }), node('all', { labels: { bucket: 'frames', site: 'edge' } })];

  it('scores a node by the share of wanted labels it carries', () => {
    const ir = chain([stage(0, 'a', { data: { bucket: 'frames', site: 'edge' } })]);
    expect(nodes.map(dataLocality.prepare(context(ir, 0, nodes))!)).toEqual([0, 50, 100]);
  });

  it('does not match a label with another value', () => {
    const ir = chain([stage(0, 'a', { data: { bucket: 'photos' } })]);
    expect(nodes.map(dataLocality.prepare(context(ir, 0, nodes))!)).toEqual([0, 0, 0]);
  });

  it('has nothing to say for a stage that wants no data', () => {
    expect(dataLocality.prepare(context(chain([stage(0, 'a')]), 0, nodes))).toBeUndefined();
  });
});
