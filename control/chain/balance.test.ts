/** A stage's balance policy, from the chain YAML to the IR ferryd is given.
 * (Bad policies: test/fixtures/chains/bad/balance-*.yaml.) */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../paths.js';
import { compileChainFile } from './validate.js';

describe('balance in the chain YAML', () => {
  it('compiles a name, a policy with parameters, and a request key, defaults filled in', () => {
    const [ir] = compileChainFile(join(repoRoot, 'test/fixtures/chains/good/parking.yaml'), { fileExists: () => true });
    const [detect, search, notify] = ir!.stages;
    expect(detect!.balance).toEqual({ policy: 'ucb1', params: { c: 0.8, explore: 0.05, gamma: 0.95, step: 0.2, lambda: 0, memThreshold: 0.8 } });
    expect(search!.balance).toEqual({ policy: 'consistent-hash', params: { vnodes: 32 }, key: { header: 'x-plate' } });
    expect(notify!.balance?.policy).toBe('least-load');
  });

  it('leaves a stage without one to the cluster default', () => {
    const [ir] = compileChainFile(join(repoRoot, 'test/fixtures/chains/good/multi.yaml'), { fileExists: () => true });
    expect(ir!.stages.every((s) => s.balance === undefined)).toBe(true);
  });
});
