/**
 * The generated message types (control/proto/gen/) describe what grpc-js
 * hands over only if the generator ran with the run-time loader's options:
 * a change to one and not the other would leave the types compiling and
 * wrong (Long for number, numbers for enum names, undefined for defaults).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../paths.js';
import { LOADER_OPTIONS } from './proto.js';

/** The generator's flags in scripts/gen-proto-types.sh, as loader options. */
function generatorOptions(): Record<string, unknown> {
  const script = readFileSync(join(repoRoot, 'scripts/gen-proto-types.sh'), 'utf8');
  const flag = (name: string) => new RegExp(`--${name}(?:=(\\w+))?\\b`).exec(script);
  const named = (name: string) => {
    const m = flag(name);
    return m?.[1] === 'Number' ? Number : m?.[1] === 'String' ? String : m?.[1];
  };
  return { keepCase: flag('keepCase') !== null, longs: named('longs'), enums: named('enums'), defaults: flag('defaults') !== null, oneofs: flag('oneofs') !== null };
}

describe('generated contract types', () => {
  it('are generated with the options the loader runs with', () => {
    expect(generatorOptions()).toEqual(LOADER_OPTIONS);
  });
});
