import { describe, expect, it } from 'vitest';
import { chain, context, node, stage } from '../testdata/views.js';
import { archFit } from './arch-fit.js';

describe('ArchFit', () => {
  const ir = chain([stage(0, 'a', { archs: ['arm64'] })]);
  const nodes = [node('x86'), node('arm', { archs: ['arm64'] }), node('both', { archs: ['amd64', 'arm64'] })];
  const check = archFit.prepare(context(ir, 0, nodes))!;

  it('lets through a node of an architecture the function ships for', () => {
    expect(check(nodes[1]!)).toBeUndefined();
    expect(check(nodes[2]!)).toBeUndefined();
  });

  it("refuses another, naming both sides' architectures", () => {
    expect(check(nodes[0]!)).toBe('node is amd64, function supports arm64');
  });

  it('has nothing to check for a function shipped for every architecture', () => {
    expect(archFit.prepare(context(chain([stage(0, 'a', { archs: ['arm64', 'amd64'] })]), 0, nodes))).toBeUndefined();
  });
});
