/**
 * The baselines' reference (the chain's handlers in sequence through the
 * baselines' host code) against ferry itself: each sample and bad body of
 * motion and pipeline sent through a real ferry data plane
 * (chains/test-context.ts) gets the same status and body from both, so a
 * baseline that matches the reference answers what ferry answers.
 * (online-boutique's checkout derives its order id from the request id,
 * which ferry draws itself: its other samples are compared.)
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../control/paths.js';
import { sampleRequests } from '../../../chains/samples.js';
import { startChain, type RunningChain } from '../../../chains/test-context.js';
import { planChain } from './plan.js';
import { referenceChain, type ReferenceChain } from './reference.js';

const decoder = new TextDecoder();

describe.each(['motion', 'pipeline', 'online-boutique'])('the reference for %s', (name) => {
  const file = join(repoRoot, `chains/${name}/chain.yaml`);
  const bodies = Object.entries({ ...sampleRequests(file), 'not-json': '{"broken', array: '[1, 2, 3]' }).filter(([n]) => n !== 'checkout');
  let ferry: RunningChain;
  let ref: ReferenceChain;

  beforeAll(async () => {
    ferry = await startChain(file, { chainId: 47 });
    ref = await referenceChain(planChain(file));
  });
  afterAll(async () => {
    await ferry?.close();
  });

  it.each(bodies)('answers %s as ferry does', async (_, body) => {
    const mine = await ref.run(Buffer.from(body), 1n);
    const theirs = await ferry.send(body);
    expect(mine.status).toBe(theirs.http.status);
    if (theirs.http.code === undefined) expect(decoder.decode(mine.body)).toBe(theirs.text);
    else expect(JSON.parse(decoder.decode(mine.body))).toEqual({ error: { code: theirs.http.code, message: theirs.http.message, chain: name } });
  });
});
