/**
 * The fixture corpus: every test/fixtures/chains/bad/*.yaml states the errors
 * it must produce in its leading `# expect: LINE:COL PATH: TEXT` comments
 * (PATH `-` for errors about the document as a whole, e.g. YAML syntax);
 * the reported errors must be exactly those, at those positions, with
 * messages containing TEXT. Every good/*.yaml must validate cleanly.
 * Bad fixtures are checked against a cluster of amd64 nodes only.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../paths.js';
import { validateFiles } from './validate.js';
import { expectations, yamlIn as yamlInDir } from '../../test/helpers/fixtures.js';

const dir = join(repoRoot, 'test/fixtures/chains');
const yamlIn = (sub: string): string[] => yamlInDir(join(dir, sub)).map((f) => basename(f));

// Native handlers are built by `npm run setup`; a fixture's .so counts as
// present when its C source is there, so these tests do not need a build.
const builtOrBuildable = (p: string): boolean => existsSync(p) || (p.endsWith('.so') && existsSync(`${p.slice(0, -3)}.c`));

describe('bad chain fixtures', () => {
  const files = yamlIn('bad');

  it('cover at least 15 malformed specs', () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
  });

  it.each(files)('%s reports exactly its expected errors', (name) => {
    const file = join(dir, 'bad', name);
    const want = expectations(file);
    expect(want.length, `${name} has no "# expect:" first line`).toBeGreaterThan(0);
    const result = validateFiles([file], { nodeArchs: ['amd64'] });
    expect(result.ok).toBe(false);
    const got = result.json.files[0]?.errors ?? [];
    expect(got.map((e) => `${e.line}:${e.column} ${e.path || '-'}`), result.text).toEqual(
      want.map((w) => `${w.line}:${w.column} ${w.path || '-'}`),
    );
    want.forEach((w, i) => expect(got[i]?.message).toContain(w.text));
    // The human form shows the offending line with a caret.
    if (want[0] && want[0].line > 0) expect(result.text).toMatch(/\n\s+\d+ \| .*\n\s+\| *\t*\s*\^/);
  });
});

describe('good chain fixtures', () => {
  it.each(yamlIn('good'))('%s validates', (name) => {
    const result = validateFiles([join(dir, 'good', name)], { fileExists: builtOrBuildable, nodeArchs: ['amd64', 'arm64'] });
    expect(result.text).toMatch(/: ok \(/);
    expect(result.ok).toBe(true);
  });
});
