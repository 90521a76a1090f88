/**
 * The aggregation-job fixture corpus (test/fixtures/jobs), through the
 * front end `ferry validate` uses (chain/kinds.ts): every bad file
 * reports exactly its `# expect:` errors at those lines and columns, every
 * good one validates; the shipped example jobs are good files too.
 */
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectations, yamlIn } from '../../../test/helpers/fixtures.js';
import { validateSpecFiles } from '../../chain/kinds.js';
import { repoRoot } from '../../paths.js';

const dir = join(repoRoot, 'test/fixtures/jobs');

describe('bad job fixtures', () => {
  const files = yamlIn(join(dir, 'bad'));

  it('cover the rules of the document', () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
  });

  it.each(files.map((f) => [basename(f), f]))('%s reports exactly its expected errors', (_name, file) => {
    const want = expectations(file);
    expect(want.length, `${file} has no "# expect:" first line`).toBeGreaterThan(0);
    const result = validateSpecFiles([file]);
    expect(result.ok).toBe(false);
    const got = result.json.files[0]?.errors ?? [];
    expect(got.map((e) => `${e.line}:${e.column} ${e.path || '-'}`), result.text).toEqual(want.map((w) => `${w.line}:${w.column} ${w.path || '-'}`));
    want.forEach((w, i) => expect(got[i]?.message).toContain(w.text));
    expect(result.text).toMatch(/\n\s+\d+ \| .*\n\s+\| *\^/);
  });
});

describe('good job fixtures', () => {
  const files = [...yamlIn(join(dir, 'good')), join(repoRoot, 'chains/fl-digits/job.yaml'), join(repoRoot, 'chains/fl-resnet18/job.yaml')];
  it.each(files.map((f) => [basename(f), f]))('%s validates', (_name, file) => {
    const result = validateSpecFiles([file]);
    expect(result.text).toMatch(/: ok \(job /);
    expect(result.ok).toBe(true);
  });

  it('validates a file holding a chain and a job side by side', () => {
    const chain = join(repoRoot, 'test/fixtures/chains/good');
    const one = yamlIn(chain)[0]!;
    const result = validateSpecFiles([one, join(repoRoot, 'chains/fl-digits/job.yaml')], { fileExists: () => true });
    expect(result.ok, result.text).toBe(true);
    expect(result.json.files.map((f) => [f.chains.length, f.jobs.length])).toEqual([[1, 0], [0, 1]]);
  });
});
