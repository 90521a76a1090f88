/**
 * The embedded store: everything in one JSON file, rewritten atomically
 * (write to a temp file, fsync, rename) on every change, so a control plane
 * that is killed at any moment restarts with the last committed state.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Store } from './store.js';

/** value, frozen all the way down (what peek hands out must not change
 * under other readers: a write to it throws instead). */
function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}

export class FileStore implements Store {
  private data = new Map<string, unknown>();
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly file: string) {}

  static async open(file: string): Promise<FileStore> {
    const s = new FileStore(file);
    await mkdir(dirname(file), { recursive: true });
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      s.data = new Map(Object.entries(parsed).map(([k, v]) => [k, deepFreeze(v)]));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new Error(`store ${file} is unreadable (${(err as Error).message}); move it aside to start empty`);
    }
    return s;
  }

  async get<T>(key: string): Promise<T | undefined> {
    return structuredClone(this.data.get(key)) as T | undefined;
  }

  async put<T>(key: string, value: T): Promise<void> {
    this.data.set(key, deepFreeze(structuredClone(value)));
    await this.flush();
  }

  async delete(key: string): Promise<boolean> {
    const had = this.data.delete(key);
    if (had) await this.flush();
    return had;
  }

  async list<T>(prefix: string): Promise<{ key: string; value: T }[]> {
    return (await this.peekList<T>(prefix)).map(({ key, value }) => ({ key, value: structuredClone(value) as T }));
  }

  async peek<T>(key: string): Promise<Readonly<T> | undefined> {
    return this.data.get(key) as Readonly<T> | undefined;
  }

  async peekList<T>(prefix: string): Promise<{ key: string; value: Readonly<T> }[]> {
    return [...this.data.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, value]) => ({ key, value: value as Readonly<T> }));
  }

  async increment(key: string, delta = 1): Promise<number> {
    const next = ((this.data.get(key) as number | undefined) ?? 0) + delta;
    this.data.set(key, next);
    await this.flush();
    return next;
  }

  async close(): Promise<void> {
    await this.writing;
  }

  /** Serialise writes: each snapshot lands whole, in order. */
  private flush(): Promise<void> {
    const snapshot = JSON.stringify(Object.fromEntries(this.data), null, 1);
    this.writing = this.writing.then(async () => {
      const tmp = `${this.file}.tmp`;
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(snapshot);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
    });
    return this.writing;
  }
}
