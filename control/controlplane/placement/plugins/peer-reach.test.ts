import { describe, expect, it } from 'vitest';
import { context, line, node } from '../testdata/views.js';
import { peerReach } from './peer-reach.js';

describe('PeerReach', () => {
  const ir = line(['a', 'b']);

  it('has nothing to check for the first instance of a chain', () => {
    expect(peerReach.prepare(context(ir, 0, [node('lone', { peered: false })]))).toBeUndefined();
  });

  it('lets the node the chain runs on take more, peer listener or not', () => {
    const nodes = [node('lone', { peered: false })];
    expect(peerReach.prepare(context(ir, 1, nodes, { placed: { 0: ['lone'] } }))!(nodes[0]!)).toBeUndefined();
  });

  it('refuses a node without a peer listener once the chain runs elsewhere', () => {
    const nodes = [node('n1'), node('lone', { peered: false })];
    const check = peerReach.prepare(context(ir, 1, nodes, { placed: { 0: ['n1'] } }))!;
    expect(check(nodes[1]!)).toBe('no peer listener (ferryd --peer), and the chain already runs on n1');
  });

  it('refuses a peered node when the chain runs on one that cannot peer', () => {
    const nodes = [node('n1'), node('lone', { peered: false })];
    const check = peerReach.prepare(context(ir, 1, nodes, { placed: { 0: ['lone'] } }))!;
    expect(check(nodes[0]!)).toBe('the chain already runs on lone, which has no peer listener (ferryd --peer)');
  });

  it('lets peered nodes share a chain', () => {
    const nodes = [node('n1'), node('n2'), node('lone', { peered: false })];
    expect(peerReach.prepare(context(ir, 1, nodes, { placed: { 0: ['n1'] } }))!(nodes[1]!)).toBeUndefined();
  });

  it('has nothing to check when every node has a peer listener', () => {
    expect(peerReach.prepare(context(ir, 1, [node('n1'), node('n2')], { placed: { 0: ['n1'] } }))).toBeUndefined();
  });
});
