/**
 * The pipeline chain end to end on the real data plane: five node stages,
 * each counting itself in and handing every other member on unchanged,
 * so a padded body crosses all five hops intact; a body that is not a
 * JSON object is refused by the first stage (400), a bad count by any.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../control/paths.js';
import { chainUnderTest, sampleRequests } from '../test-context.js';

const CHAIN_FILE = join(repoRoot, 'chains/pipeline/chain.yaml');
const samples = sampleRequests(CHAIN_FILE);
const STAGES = ['stage1', 'stage2', 'stage3', 'stage4', 'stage5'];

describe('pipeline chain', () => {
  const t = chainUnderTest(CHAIN_FILE);
  const { ok, rejects } = t;

  it('compiles to five node stages in a line, with a 2 MiB body limit', () => {
    expect(t.chain.ir.stages.map((s) => `${s.name}:${s.runtime}`)).toEqual(STAGES.map((s) => `${s}:node`));
    expect(t.chain.ir.stages.map((s) => s.next.map((n) => n.name))).toEqual([['stage2'], ['stage3'], ['stage4'], ['stage5'], []]);
    expect(t.chain.ir.maxBodyBytes).toBe(2 * 1024 * 1024);
    expect(Object.keys(samples).sort()).toEqual(['padded-64k', 'resumed', 'small']);
  });

  it('counts five hops and stamps every stage, in order', async () => {
    expect(await ok(samples.small!)).toEqual({ ...JSON.parse(samples.small!), hops: 5, trail: STAGES });
  });

  it('carries a 64 KiB pad through every stage unchanged', async () => {
    const sent = JSON.parse(samples['padded-64k']!);
    const got = await ok(samples['padded-64k']!);
    expect(got.pad).toBe(sent.pad);
    expect(got).toEqual({ ...sent, hops: 5, trail: STAGES });
  });

  it('carries a 1 MiB body (the top of the payload sweep)', async () => {
    const pad = 'y'.repeat(1024 * 1024);
    const got = await ok({ id: 'big', pad });
    expect(got.pad.length).toBe(pad.length);
    expect(got.hops).toBe(5);
  });

  it('goes on counting from a hop count and trail the caller sent', async () => {
    expect(await ok(samples.resumed!)).toMatchObject({ hops: 7, trail: ['edge-a', 'edge-b', ...STAGES] });
  });

  it('refuses what is not a JSON object (400) and a bad count (422), saying what is wrong', async () => {
    expect(await rejects('[1, 2')).toMatchObject({ status: 400, code: 'badJson', message: expect.stringMatching(/^the request is not valid JSON/) });
    expect(await rejects('[1, 2]')).toEqual({ status: 400, code: 'badJson', message: 'the request must be a JSON object' });
    expect(await rejects({ hops: -1 })).toEqual({ status: 422, code: 'badField', message: '"hops" must be a non-negative integer' });
    expect(await rejects({ trail: 'x' })).toEqual({ status: 422, code: 'badField', message: '"trail" must be a list of stage names' });
  });
});
