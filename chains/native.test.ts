/**
 * The example chains' native functions under AddressSanitizer and UBSan,
 * outside ferry: chains/native_harness implements the ferry C ABI over
 * malloc'ed buffers, calls a function once with a realistic input, then
 * thousands of times with mutations of it (truncated, flipped, inserted
 * bytes). A memory error aborts the harness; every output a mutated input
 * is accepted with must still be valid JSON, and a stage that reads the
 * caller's own request must refuse every bad one with a 4xx, never a 500.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../control/paths.js';

const chains = join(repoRoot, 'chains');
const harness = join(chains, 'out/native_harness');

/** Each native stage with an input like the one its previous stage sends;
 * caller: the input is the caller's request (as sent, or passed on as is),
 * so whatever is wrong with it is the caller's to fix. */
const cases = [
  { fn: 'online-boutique/functions/currency', seed: 'online-boutique/requests/convert.json', next: '', caller: true },
  { fn: 'online-boutique/functions/payment', seed: 'online-boutique/testdata/payment-order.json', next: 'email', caller: false },
  { fn: 'parking/functions/detection', seed: 'parking/requests/entry.json', next: 'search', caller: true },
  { fn: 'parking/functions/charging', seed: 'parking/testdata/charging-exit.json', next: '', caller: false },
  { fn: 'motion/functions/sensor', seed: 'motion/requests/walk.json', next: 'actuator', caller: true },
];

function run(fn: string, seed: string, args: string[]) {
  const r = spawnSync(harness, [join(chains, 'out/fuzz', `${fn}.so`), '--check-json', ...args, join(chains, seed)], {
    encoding: 'utf8',
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=0', UBSAN_OPTIONS: 'print_stacktrace=1' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('native functions under sanitizers', () => {
  beforeAll(() => {
    execFileSync('make', ['-s', '-C', chains, 'fuzz'], { stdio: 'pipe' });
  });

  it.each(cases)('$fn answers its realistic input with JSON', ({ fn, seed, next }) => {
    const r = run(fn, seed, next ? ['--next', next] : []);
    expect(r.err).toContain(`ferry-harness: ok next=${next || '(reply)'}`);
    expect(r.code).toBe(0);
    expect(() => JSON.parse(r.out)).not.toThrow();
  });

  it.each(cases)('$fn survives 3000 malformed inputs without a memory error', ({ fn, seed, next, caller }) => {
    const r = run(fn, seed, ['--fuzz', '3000', '--seed', '7', ...(next ? ['--next', next] : [])]);
    expect(r.err).not.toMatch(/AddressSanitizer|runtime error/);
    expect(r.code, r.err).toBe(0);
    const m = /fuzz runs=3000 ok=(\d+) failed=(\d+) \(4xx=(\d+) 5xx=(\d+)\)/.exec(r.err);
    expect(m, r.err).not.toBeNull();
    // Both kinds happened: some mutations still parse, most are refused.
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(Number(m![2])).toBeGreaterThan(0);
    // The caller's own mistakes are 4xx, each one.
    if (caller) expect(Number(m![4]), r.err).toBe(0);
  });

  it('reports the HTTP status and code a function refused a request with', () => {
    const r = spawnSync(harness, [join(chains, 'out/fuzz/parking/functions/detection.so'), '--next', 'search'], { input: '{"camera":"gate-1"}', encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('ferry-harness: error: "reads" (the camera\'s plate reads) or "plate" is required (status 422, code badField)');
  });

  it('reports a function\'s failure message and exit status 1 for a bad request', () => {
    const r = spawnSync(harness, [join(chains, 'out/fuzz/parking/functions/charging.so')], { input: '{"plate":"X1","lot":"a"}', encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('ferry-harness: error: "vehicle" is required');
  });
});
