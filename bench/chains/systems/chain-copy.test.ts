import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadChainFile, parseChain } from '../../../control/chain/load.js';
import { repoRoot } from '../../../control/paths.js';
import { chainCopyYaml, declaredMillicpu, sampleFiles, writePinnedChain, writeRenamedChain } from './chain-copy.js';

// Made when a test runs (a filtered run that skips them all leaves nothing).
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'chain-copy-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ob = { name: 'online-boutique', file: join(repoRoot, 'chains/online-boutique/chain.yaml') };
const motion = { name: 'motion', file: join(repoRoot, 'chains/motion/chain.yaml') };

describe('chain copies for the suite', () => {
  it('pins every stage at max(1, scale.min) under manual autoscaling, with absolute handlers, and still loads as a chain', () => {
    const copy = writePinnedChain(ob, dir);
    const [loaded] = loadChainFile(copy.file);
    const spec = loaded!.spec;
    expect(spec.metadata.name).toBe('online-boutique');
    expect(spec.spec.scale).toEqual({ policy: 'manual' });
    for (const fn of spec.spec.functions) {
      expect(fn.scale, fn.name).toEqual({ min: 1, max: 1 }); // online-boutique's stages say min 0
      expect(fn.handler.startsWith(join(repoRoot, 'chains/online-boutique/functions/')), fn.handler).toBe(true);
      expect(existsSync(fn.handler), fn.handler).toBe(true);
    }
    // motion's sensor says min 1, max 4: pinned at 1.
    const m = parseChain(chainCopyYaml(motion, { pin: true }), 'motion')[0]!.spec;
    expect(m.spec.functions.map((f) => f.scale)).toEqual([{ min: 1, max: 1 }, { min: 1, max: 1 }]);
  });

  it('renames a chain into a directory of its own that keeps the sample requests, unpinned', () => {
    const copy = writeRenamedChain(motion, dir, 'motion-idle-3');
    expect(copy).toEqual({ name: 'motion-idle-3', file: join(dir, 'motion-idle-3', 'chain.yaml') });
    const spec = loadChainFile(copy.file)[0]!.spec;
    expect(spec.metadata.name).toBe('motion-idle-3');
    expect(spec.spec.scale).toBeUndefined();
    expect(sampleFiles(copy).map((f) => readFileSync(f, 'utf8'))).toEqual(sampleFiles(motion).map((f) => readFileSync(f, 'utf8')));
    expect(sampleFiles(motion).length).toBeGreaterThan(0);
  });

  it('adds up declared CPU at the pinned counts', () => {
    expect(declaredMillicpu(motion.file)).toBe(150); // sensor 50m + actuator 100m
    expect(declaredMillicpu(ob.file)).toBe(6 * 100 + 2 * 50);
  });
});
