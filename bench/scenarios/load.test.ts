import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../control/paths.js';
import { loadScenario, parseScenario, ScenarioErrors, scenarioDir, scenarioFiles } from './load.js';
import { minPaddedBytes, paddedBody, utf8Length } from './scenario.js';

/** The messages parseScenario throws for `data`, as `file: field: message` lines. */
function problems(data: unknown, file = 'bench/scenarios/steady.json'): string[] {
  try {
    parseScenario(typeof data === 'string' ? data : JSON.stringify(data), file);
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioErrors);
    return (err as ScenarioErrors).errors.map(String);
  }
  throw new Error('expected the scenario to be refused');
}

const steady = {
  name: 'steady',
  description: 'a test',
  kind: 'steady',
  chain: 'parking',
  requests: ['entry.json', 'exit.json'],
  rate: 10,
  durationS: 5,
  thresholds: { p99Ms: 50, maxErrorRate: 0 },
};
const F = 'bench/scenarios/steady.json';

describe('shipped scenarios', () => {
  const files = scenarioFiles();

  it('has one file per kind, each named after it', () => {
    expect(files.map((f) => f.slice(scenarioDir.length + 1))).toEqual(['admin.json', 'burst.json', 'max.json', 'steady.json', 'sweep.json']);
    for (const f of files) expect(loadScenario(f).kind).toBe(loadScenario(f).name);
  });

  it.each(files.map((f) => [f.slice(repoRoot.length + 1), f]))('%s loads and names a chain and sample requests that exist', (_, file) => {
    const s = loadScenario(file);
    expect(existsSync(join(repoRoot, 'chains', s.chain, 'chain.yaml'))).toBe(true);
    if (s.kind === 'admin') return;
    expect(s.requests.length).toBeGreaterThan(0);
    for (const r of s.requests) expect(existsSync(join(repoRoot, 'chains', s.chain, 'requests', r)), r).toBe(true);
  });
});

describe('malformed scenarios', () => {
  it('accepts the well-formed base these cases start from', () => {
    expect(parseScenario(JSON.stringify(steady), F).kind).toBe('steady');
  });

  it('says a file is not JSON', () => {
    expect(problems('{"name": ')[0]).toMatch(/^bench\/scenarios\/steady\.json: not JSON: /);
  });

  it('names a missing field the kind requires', () => {
    const { rate: _, ...noRate } = steady;
    expect(problems(noRate)).toEqual([`${F}: missing required field "rate"`]);
  });

  it('names an unknown field with a suggestion', () => {
    expect(problems({ ...steady, rates: 5 })).toEqual([
      expect.stringMatching(/^bench\/scenarios\/steady\.json: rates: unknown field "rates" \(did you mean "rate"\?/),
    ]);
  });

  it('names the field of a bad value and what it expected', () => {
    expect(problems({ ...steady, thresholds: { p99Ms: 50, maxErrorRate: 2 } })).toEqual([
      `${F}: thresholds.maxErrorRate: expected a fraction of failed requests between 0 and 1, found 2`,
    ]);
    expect(problems({ ...steady, kind: 'soak' })).toEqual([`${F}: kind: expected one of: steady, max, sweep, burst, admin, found "soak"`]);
  });

  it('refuses a field the kind does not use', () => {
    expect(problems({ ...steady, stages: [{ durationS: 1, rate: 1 }] })).toEqual([
      `${F}: stages: not used by a steady scenario (it uses: name, description, kind, chain, thresholds, requests, rate, durationS)`,
    ]);
  });

  it('wants the name to be the file name', () => {
    expect(problems({ ...steady, name: 'steady-2' })).toEqual([`${F}: name: expected "steady" (the file's name), found "steady-2"`]);
  });

  it('refuses a chain that does not exist, suggesting the nearest', () => {
    expect(problems({ ...steady, chain: 'parkin' })).toEqual([
      `${F}: chain: no chain "parkin": chains/parkin/chain.yaml does not exist (did you mean "parking"? chains: motion, online-boutique, parking, pipeline)`,
    ]);
  });

  it('refuses a sample request the chain does not have', () => {
    expect(problems({ ...steady, requests: ['entry.json', 'exitt.json'] })).toEqual([
      `${F}: requests[1]: no sample request chains/parking/requests/exitt.json (did you mean "exit.json"? chain "parking" has: entry.json, exit-long-stay.json, exit.json)`,
    ]);
  });

  it('refuses a p99 threshold looser than the chain SLO', () => {
    expect(problems({ ...steady, thresholds: { p99Ms: 80, maxErrorRate: 0 } })).toEqual([
      `${F}: thresholds.p99Ms: 80 ms is looser than chain "parking"'s SLO (spec.slo.p99Ms: 50)`,
    ]);
  });

  it('refuses sweep sizes over the chain limit or under the padded request', () => {
    const sweep = {
      name: 'sweep',
      description: 'a test',
      kind: 'sweep',
      chain: 'motion',
      requests: ['still.json'],
      rate: 10,
      durationS: 5,
      payloadBytes: [64, 1024, 1048576],
      thresholds: { p99Ms: 20, maxErrorRate: 0 },
    };
    expect(problems(sweep, 'sweep.json')).toEqual([
      expect.stringMatching(/^sweep\.json: payloadBytes\[0\]: 64 bytes is smaller than still\.json padded with nothing \(\d+ bytes\)$/),
      `sweep.json: payloadBytes[2]: 1048576 bytes is over chain "motion"'s limit (maxBodyBytes: 131072)`,
    ]);
    expect(problems({ ...sweep, requests: ['still.json', 'walk.json'], payloadBytes: [1024] }, 'sweep.json')).toEqual([
      'sweep.json: requests: expected 1 item (the request every size is padded from), found 2 items',
    ]);
  });

  it('lists every problem of a file at once', () => {
    expect(problems({ ...steady, name: 'x', chain: 'nope', rate: 0 })).toHaveLength(1); // schema first: rate
    expect(problems({ ...steady, name: 'x', chain: 'nope' })).toHaveLength(2);
  });
});

describe('paddedBody', () => {
  const base = { samples: [1, 2, 3], zone: 'hall' };

  it('makes a body of exactly the size asked, with the request unchanged', () => {
    for (const n of [minPaddedBytes(base), 256, 4096, 131072]) {
      const body = paddedBody(base, n);
      expect(utf8Length(body)).toBe(n);
      expect(JSON.parse(body)).toMatchObject(base);
    }
  });

  it('counts UTF-8 bytes, not UTF-16 units', () => {
    expect(utf8Length('aé€😀')).toBe(1 + 2 + 3 + 4);
    const body = paddedBody({ zone: 'café' }, 64);
    expect(Buffer.byteLength(body)).toBe(64);
  });

  it('refuses a size below the request itself', () => {
    expect(() => paddedBody(base, 10)).toThrow(/cannot pad this request to 10 bytes/);
  });
});
