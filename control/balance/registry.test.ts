/** The one check of a balance policy (chain compiler and ferryd both use it). */
import { describe, expect, it } from 'vitest';
import { checkBalance, createPolicy, DEFAULT_POLICY, defaultBalance, POLICY_NAMES, sameBalance } from './registry.js';

describe('balance policy registry', () => {
  it('knows the nine policies and builds each with its defaults', () => {
    expect([...POLICY_NAMES].sort()).toEqual(
      ['consistent-hash', 'epsilon-greedy', 'least-connections', 'least-load', 'linucb', 'most-free-slots', 'random', 'round-robin', 'ucb1'].sort(),
    );
    for (const policy of POLICY_NAMES) {
      const { spec, problems } = checkBalance({ policy, ...(policy === 'consistent-hash' ? { key: { header: 'X-User' } } : {}) });
      expect(problems).toEqual([]);
      expect(createPolicy(spec!).name).toBe(policy);
    }
    expect(defaultBalance().policy).toBe(DEFAULT_POLICY);
  });

  it('fills in the issue\'s defaults: UCB1 c = 0.8, LinUCB alpha = 0.1', () => {
    expect(checkBalance({ policy: 'ucb1' }).spec!.params.c).toBe(0.8);
    expect(checkBalance({ policy: 'linucb' }).spec!.params.alpha).toBe(0.1);
    expect(checkBalance({ policy: 'ucb1', params: { c: 2 } }).spec!.params).toMatchObject({ c: 2, gamma: 0.95 });
  });

  it('refuses an unknown policy, naming the ones there are', () => {
    const { spec, problems } = checkBalance({ policy: 'ucb2' });
    expect(spec).toBeUndefined();
    expect(problems).toEqual([{ field: 'policy', message: expect.stringMatching(/unknown balance policy "ucb2"; expected one of round-robin, random, .*linucb/) }]);
    expect(checkBalance({ policy: 7 }).problems[0]!.message).toMatch(/unknown balance policy 7/);
  });

  it('refuses unknown parameters and values out of range, each by name', () => {
    const { problems } = checkBalance({ policy: 'ucb1', params: { c: -1, gamma: 1.5, cee: 1 } });
    expect(problems).toEqual([
      { field: 'c', message: 'expected a number from 0 to 100 (weight of the exploration bonus), found -1' },
      { field: 'gamma', message: expect.stringMatching(/^expected a number from 0.5 to 1 .*found 1.5$/) },
      { field: 'cee', message: expect.stringMatching(/policy ucb1 has no parameter "cee" \(it takes: c, gamma, step, lambda, memThreshold, explore\)/) },
    ]);
    expect(checkBalance({ policy: 'most-free-slots', params: { slots: 2.5 } }).problems[0]!.message).toMatch(/a whole number from 1 to 1024/);
    expect(checkBalance({ policy: 'epsilon-greedy', params: { step: 0 } }).problems[0]!.message).toMatch(/above 0 and below 1/);
    expect(checkBalance({ policy: 'random', params: { x: 1 } }).problems[0]!.message).toMatch(/it takes none/);
    expect(checkBalance({ policy: 'ucb1', params: { c: '1' } }).problems[0]!.message).toMatch(/found "1"/);
    expect(checkBalance({ policy: 'ucb1', params: { c: Number.NaN } }).problems).toHaveLength(1);
  });

  it('asks consistent-hash, and only it, for a request key', () => {
    expect(checkBalance({ policy: 'consistent-hash' }).problems[0]).toMatchObject({ field: 'key', message: expect.stringMatching(/needs the request key/) });
    expect(checkBalance({ policy: 'ucb1', key: { header: 'x' } }).problems[0]!.message).toMatch(/takes no request key/);
    expect(checkBalance({ policy: 'consistent-hash', key: { header: 'bad header' } }).problems[0]!.message).toMatch(/HTTP header name/);
    expect(checkBalance({ policy: 'consistent-hash', key: { cookie: 'x' } }).problems[0]!.message).toMatch(/\{ header: NAME \} or \{ field: NAME \}/);
    expect(checkBalance({ policy: 'consistent-hash', key: { header: 'a', field: 'b' } }).problems).toHaveLength(1);
    expect(checkBalance({ policy: 'consistent-hash', key: { header: 'X-User' } }).spec!.key).toEqual({ header: 'x-user' });
    expect(checkBalance({ policy: 'consistent-hash', key: { field: 'user' } }).spec!.key).toEqual({ field: 'user' });
  });

  it('tells specs that build the same policy from those that do not', () => {
    const a = checkBalance({ policy: 'ucb1', params: { c: 0.8, gamma: 0.95 } }).spec!;
    const b = checkBalance({ policy: 'ucb1' }).spec!;
    expect(sameBalance(a, b)).toBe(true);
    expect(sameBalance(a, checkBalance({ policy: 'ucb1', params: { c: 1 } }).spec!)).toBe(false);
    expect(sameBalance(a, checkBalance({ policy: 'linucb' }).spec!)).toBe(false);
  });
});
