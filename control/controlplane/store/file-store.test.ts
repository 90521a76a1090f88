/**
 * peek hands out the stored value itself: frozen, so a reader that tries to
 * change it fails loudly instead of changing what every other reader sees;
 * get still hands out a copy a caller may change.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStore } from './file-store.js';

describe('FileStore reads without a copy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-file-store-'));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('peeks the same frozen value until the next put, and get still copies', async () => {
    const store = await FileStore.open(join(dir, 'store.json'));
    await store.put('/chains/a', { n: 1, stages: [{ name: 's' }] });
    const seen = (await store.peek<{ n: number; stages: { name: string }[] }>('/chains/a'))!;
    expect(await store.peek('/chains/a')).toBe(seen);
    expect((await store.peekList('/chains/'))[0]!.value).toBe(seen);
    expect(() => {
      seen.stages[0]!.name = 'changed';
    }).toThrow(TypeError);
    const copy = (await store.get<{ n: number; stages: { name: string }[] }>('/chains/a'))!;
    copy.stages[0]!.name = 'mine';
    expect(seen.stages[0]!.name).toBe('s');
    await store.put('/chains/a', { ...copy, n: 2 });
    expect(seen.n).toBe(1);
    expect((await store.peek<{ n: number }>('/chains/a'))!.n).toBe(2);
    await store.close();
    const reopened = await FileStore.open(join(dir, 'store.json'));
    expect(Object.isFrozen((await reopened.peek<{ stages: object[] }>('/chains/a'))!.stages[0])).toBe(true);
  });
});
